//! `revspec explain RULE`: what a rule means, where it comes from, how it is observed, what
//! breaks it, and how server developers fix the usual deviations.

use super::ExplainArgs;
use crate::exit;
use crate::report::explain;

/// `revspec explain`.
pub fn run(args: ExplainArgs) -> i32 {
    match explain::explain(&args.rule) {
        Ok(e) => {
            super::print_out(&e.render_text());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}
