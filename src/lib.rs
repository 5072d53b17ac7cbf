//! revspec: checks an OAuth 2.0 server's token revocation endpoint against RFC 7009 and the
//! Janssen Server's rules (`conformance`), benchmarks it (`load`), and ships a reference server
//! that passes every rule (`server`). `target` describes and talks to any server; `report`
//! turns a run record into its views; `cli` resolves arguments into run plans.

pub mod cli;
pub mod conformance;
pub mod load;
pub mod report;
pub mod server;
pub mod target;
