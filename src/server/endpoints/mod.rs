//! The endpoints, one file each: token, introspection, userinfo, discovery, health, the
//! revocation endpoint (RFC 7009 with every Janssen rule) and the slice of Janssen's Config API
//! that governs revocation. What they share is in `common`; what a request presents is read
//! in `crate::server::extract`.

pub mod common;
pub mod config_api;
pub mod discovery;
pub mod health;
pub mod introspect;
pub mod revoke;
pub mod token;
pub mod userinfo;
