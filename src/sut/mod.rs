//! The system under test: any OAuth server, described by its profile (`profile`) and driven
//! only through HTTP. Secrets and how a request authenticates as a client (`client`), the
//! bounded redacting HTTP client (`http`), discovery (`discovery`), the nodes of a cluster
//! (`cluster`), the connection and minting (`conn`), the resolved target (`target`), probes and
//! their calibration (`probe`), settings adapters (`settings`), the one backoff loop (`poll`),
//! whether each client's authentication works and what to change when not (`auth_check`),
//! the pre-run checks shared by `check`, `load` and `doctor` (`preflight`), and why a scenario
//! cannot run on a profile (`unmet`).
//!
//! Every request has a connect and a total timeout, reads at most [`http::BODY_CAP`] bytes,
//! follows no redirect, and is recorded as a redacted [`http::Exchange`]. This module reads
//! the catalogue's vocabulary and writes record types; it imports no engine or view.

pub mod auth_check;
pub mod client;
pub mod cluster;
pub mod conn;
pub mod discovery;
pub mod error;
pub mod http;
pub mod learned;
pub mod poll;
pub mod preflight;
pub mod probe;
pub mod profile;
pub mod settings;
pub mod target;
pub mod trust;
pub mod unmet;

pub use crate::catalogue::{Role, TokenType};
pub use client::Credentials;
pub use conn::Minted;
pub use discovery::Endpoints;
pub use error::TargetError;
pub use probe::TokenState;
pub use profile::{ClientAuth, ProbeKind, TargetProfile, TokenSourceKind};
pub use target::Target;
