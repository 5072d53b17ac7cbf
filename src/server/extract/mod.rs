//! What a request presents, read strictly and checked: its form body (`form`), its client's
//! credentials (`client_auth`), JWT client assertions (`assertion`), client certificates
//! (`certificate`), the client they authenticate against the registry (`authenticated`), and
//! a protected resource's bearer token (`bearer`). Every failure is an
//! `OAuthError`, never a framework's own 4xx.

pub mod assertion;
pub mod authenticated;
pub mod bearer;
pub mod certificate;
pub mod client_auth;
pub mod form;
