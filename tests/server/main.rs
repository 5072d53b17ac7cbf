//! Integration tests of the reference server (`revspec serve`), one module per section.
//!
//! Most tests drive the axum app in process (`router(..).oneshot(request)`); one test uses a
//! real loopback socket and one restarts a server on the same `--data-dir`. There is one test
//! per rule of `features/RULES.md` that the server implements (named after the rule ID), a few
//! for the server's own surfaces (Config API, userinfo, limits, malformed input), and one
//! table-driven test that runs every fault of `Fault::ALL` and checks that it misbehaves
//! exactly as described (and that the same check passes on a server without the fault).
//!
//! "Inactive" is always observed through RFC 7662 introspection (by `resource-server`, which
//! holds `introspect_any`), as the catalogue does, and sometimes additionally through userinfo
//! or a refresh grant.

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod faults;
mod limits;
mod quirks;
mod rules;
mod security;
mod socket;
mod socket_security;
mod surfaces;
mod tls;
