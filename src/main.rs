//! The `revspec` binary: parses the command line and returns the command's exit code.

use clap::Parser;
use revspec::cli::{exit, Cli, Command};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REVSPEC_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit::USAGE);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => revspec::server::run_cli(args).await,
            Command::Check(args) => revspec::conformance::run_cli(args).await,
            Command::List(args) => revspec::conformance::list_cli(args),
            Command::Load(args) => revspec::load::run_cli(args).await,
        }
    });
    std::process::exit(code);
}
