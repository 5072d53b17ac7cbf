//! revspec: checks an OAuth 2.0 server's token revocation endpoint against RFC 7009 and the
//! Janssen Server's rules (`conformance`), benchmarks it (`load`), and ships a reference server
//! that passes every rule (`server`). `sut` (the system under test) describes and talks to any
//! server; `report` turns a run record into its views; `cli` resolves arguments into run plans
//! and is the only module that knows about the command line; `exit` is the exit-code table.

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
