//! The paths of the endpoints, as a Janssen server lays them out (so that a harness profile
//! written for Janssen finds them here too).
//!
//! The harness keeps its own copy of the Config API paths (`sut::settings`) on purpose: it must
//! not borrow the server's reading of Janssen, or the two could share a misreading.

pub const TOKEN: &str = "/jans-auth/restv1/token";
pub const REVOKE: &str = "/jans-auth/restv1/revoke";
pub const INTROSPECTION: &str = "/jans-auth/restv1/introspection";
pub const USERINFO: &str = "/jans-auth/restv1/userinfo";
pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
pub const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const CONFIG: &str = "/jans-config-api/api/v1/jans-auth-server/config";
pub const CLIENTS: &str = "/jans-config-api/api/v1/openid/clients";
pub const HEALTH: &str = "/health";
