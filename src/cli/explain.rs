//! `revspec explain RULE`: what a rule means, where it comes from, how it is observed, what
//! breaks it, and how server developers fix the usual deviations.

use super::exit::Exit;
use super::ExplainArgs;

/// `revspec explain`.
pub fn run(args: ExplainArgs) -> Exit {
    match crate::catalogue::explain::explain(&args.rule) {
        Ok(e) => {
            super::print_out(&e.render_text());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
    }
}
