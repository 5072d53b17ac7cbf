//! revspec checks an OAuth 2.0 server's token revocation endpoint against RFC 7009 and the
//! Janssen Server's rules, load-tests it, and ships a reference server that passes every rule.
//!
//! # Layers
//!
//! A module imports only from a lower layer (or from inside its own subtree); `tests/layering.rs`
//! reads the sources and fails on any other import, and on any two files that import each
//! other.
//!
//! | layer | modules | owns | may import |
//! |---|---|---|---|
//! | 6 | `cli` | arguments, resolving them into plans, printing, progress, the CI environment, the exit-code table | anything |
//! | 5 | `reference` | the built-in target: the reference server in-process with its profile | `server`, `sut`, `faults`, `catalogue` |
//! | 4 | `conformance`, `load` | the engines: a plan in, a record out; no printing, no exit codes | `sut`, `record`, `catalogue`, `text` |
//! | 4 | `report` | views of records: console, JUnit, Markdown, HTML, matrix, load summary, explain | `record`, `catalogue`, `text` |
//! | 3 | `sut` | driving any server: profile, HTTP, discovery, clients, minting, probes, settings, preflight, skip policy | `record`, `catalogue`, `text` |
//! | 2 | `record` | run.json and summary.json: types, schema version, pure aggregation | `catalogue`, `text` |
//! | 1 | `catalogue` | the rules as data: rules, scenarios, requirements, explanations | `faults`, `text` |
//! | 1 | `server` | the reference server, an independent oracle | `faults` only |
//! | 1 | `faults` | the server's deliberate deviations (faults and quirks) as tables | nothing |
//! | 0 | `text` | server text made safe to show | nothing |

pub mod catalogue;
pub mod cli;
pub mod conformance;
pub mod faults;
pub mod load;
pub mod record;
pub mod reference;
pub mod report;
pub mod server;
pub mod sut;
pub mod text;
