//! `revspec serve`: the reference server from the command line, until Ctrl-C.

use super::ServeArgs;
use crate::exit;
use crate::server::config::ServerConfig;
use crate::server::faults::{self, Fault};
use crate::server::{banner, spawn, ServeOptions};

/// `revspec serve`: runs until Ctrl-C; returns the exit code.
pub async fn run(args: ServeArgs) -> i32 {
    if args.list_faults {
        print!("{}", faults::listing());
        return exit::OK;
    }
    let fault = match args.fault.as_deref().map(str::parse::<Fault>).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --fault: {e}");
            return exit::USAGE;
        }
    };
    let config = match args
        .config
        .as_deref()
        .map(ServerConfig::from_file)
        .transpose()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: --config {e}");
            return exit::USAGE;
        }
    };
    let demo = config.is_none();
    let options = ServeOptions {
        config,
        data_dir: args.data_dir,
        fault,
        revoke_script: args.revoke_script,
        script_source: None,
    };
    let server = match spawn(args.bind, &options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    print!("{}", banner(&server.state, demo));
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    exit::OK
}
