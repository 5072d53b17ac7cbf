//! The reference server (`revspec serve`): an OAuth 2.0 server that passes every rule of the
//! catalogue, built so that the harness and the load tester have a fast, configurable target,
//! and secure by default (`docs/security.md`). It depends on nothing else of the crate but the
//! fault and quirk tables (`crate::faults`), so that it stays an independent oracle.
//!
//! A request goes `lifecycle` (the socket, through `net`) → `app` (the routes, and the one
//! wrapper around them) → an endpoint (`endpoints`), which reads what the request presents
//! (`extract`), acts on the shared `state` and its token `store`, and answers, or refuses with
//! the one error type (`error`).

pub mod app;
pub mod clock;
pub mod config;
pub mod endpoints;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod lifecycle;
pub mod limits;
pub mod net;
pub mod options;
pub mod paths;
pub mod peers;
pub mod reload;
pub mod script;
pub mod secret;
pub mod state;
pub mod store;
pub mod tls;

pub use app::router;
pub use lifecycle::{spawn, RunningServer};
pub use options::{ServeOptions, SharedStore};
pub use state::AppState;
