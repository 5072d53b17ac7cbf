//! The conformance harness: runs the Gherkin catalogue (`catalogue`) with cucumber against a
//! target, one scenario per rule case, turning each scenario's world (`world`, `steps`,
//! `checks`) into a case of the run record, then applies the expectations ledger
//! (`expectations`) and writes the reports.

pub mod catalogue;
pub mod checks;
pub mod expectations;
pub mod outcome;
pub mod run;
pub mod steps;
pub mod world;

pub use run::{run_plan, RunPlan, Selection};
