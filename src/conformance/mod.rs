//! The conformance engine: runs the Gherkin catalogue with cucumber against a target into a
//! run record. A plan (`plan`) is run in phases (`run`): scenarios through cucumber
//! (`cucumber`), each scenario's state and timing in its world (`world`) with the step
//! vocabulary (`steps`) and pure checks (`checks`), one place that decides a verdict
//! (`outcome`), confirmation alone of what another scenario could have disturbed (`confirm`),
//! then the expectations ledger (`expectations`). It never prints and knows no exit code:
//! progress goes to a [`progress::Progress`] the caller gives.

pub mod checks;
mod confirm;
mod cucumber;
pub mod expectations;
pub mod outcome;
pub mod plan;
pub mod progress;
mod run;
pub mod schedule;
mod steps;
pub mod world;

pub use plan::{CheckError, RunPlan, Selection};
pub use run::run_plan;
