//! `revspec serve`: the reference server from the command line, until Ctrl-C.

use super::ServeArgs;
use crate::exit;
use crate::server::config::ServerConfig;
use crate::server::faults::{self, Fault};
use crate::server::limits::Limits;
use crate::server::quirks::{self, Quirk};
use crate::server::{banner, spawn, ServeOptions};

/// Resolves the flags into server options (the configuration file is read by the caller).
fn options(args: &ServeArgs, config: Option<ServerConfig>) -> Result<ServeOptions, String> {
    let fault = args
        .fault
        .as_deref()
        .map(str::parse::<Fault>)
        .transpose()
        .map_err(|e| format!("--fault: {e}"))?;
    let quirks = args
        .quirks
        .iter()
        .map(|q| q.parse::<Quirk>().map_err(|e| format!("--quirk: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let limits = Limits {
        header_read_timeout: args.header_read_timeout,
        request_timeout: args.request_timeout,
        max_connections: args.max_connections,
        max_patch_operations: args.max_patch_operations,
        max_patch_document_bytes: args.max_patch_bytes,
        max_tokens_per_grant: args.max_tokens_per_grant,
        max_tokens_per_request: args.max_tokens_per_request,
        sweep_interval: args.sweep_interval,
        script_max_operations: args.script_max_operations,
        script_max_array: args.script_max_array,
        script_max_map: args.script_max_map,
        script_max_string: args.script_max_string,
    };
    limits.validate()?;
    Ok(ServeOptions {
        config,
        data_dir: args.data_dir.clone(),
        fault,
        quirks,
        config_reload_delay: args.config_reload_delay,
        limits,
        script_failure: args.script_failure,
        revoke_script: args.revoke_script.clone(),
        script_source: None,
        refresh_pause: None,
    })
}

/// `revspec serve`: runs until Ctrl-C; returns the exit code.
pub async fn run(args: ServeArgs) -> i32 {
    if args.list_faults {
        print!("{}", faults::listing());
        return exit::OK;
    }
    if args.list_quirks {
        print!("{}", quirks::listing());
        return exit::OK;
    }
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
    let options = match options(&args, config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;
    use std::time::Duration;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let argv = ["revspec", "serve"].iter().chain(args);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Serve(a) => a,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_documented_limits() {
        let o = options(&serve_args(&[]), None).unwrap();
        assert_eq!(o.limits, Limits::default());
        assert_eq!(o.config_reload_delay, Duration::ZERO);
        assert!(o.quirks.is_empty() && o.fault.is_none() && o.refresh_pause.is_none());
        assert_eq!(o.script_failure, crate::server::script::ScriptFailure::Veto);
    }

    #[test]
    fn every_governance_flag_reaches_the_options() {
        let o = options(
            &serve_args(&[
                "--quirk",
                "two-challenges",
                "--quirk",
                "revocation-delay",
                "--config-reload-delay",
                "2s",
                "--header-read-timeout",
                "3s",
                "--request-timeout",
                "4s",
                "--max-connections",
                "5",
                "--max-patch-operations",
                "6",
                "--max-patch-bytes",
                "7000",
                "--max-tokens-per-grant",
                "8",
                "--max-tokens-per-request",
                "9",
                "--sweep-interval",
                "10s",
                "--script-max-operations",
                "1000",
                "--script-max-array",
                "11",
                "--script-max-map",
                "12",
                "--script-max-string",
                "13",
                "--script-failure",
                "unavailable",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(o.quirks, vec![Quirk::TwoChallenges, Quirk::RevocationDelay]);
        assert_eq!(o.config_reload_delay, Duration::from_secs(2));
        assert_eq!(
            o.limits,
            Limits {
                header_read_timeout: Duration::from_secs(3),
                request_timeout: Duration::from_secs(4),
                max_connections: 5,
                max_patch_operations: 6,
                max_patch_document_bytes: 7000,
                max_tokens_per_grant: 8,
                max_tokens_per_request: 9,
                sweep_interval: Duration::from_secs(10),
                script_max_operations: 1000,
                script_max_array: 11,
                script_max_map: 12,
                script_max_string: 13,
            }
        );
        assert_eq!(
            o.script_failure,
            crate::server::script::ScriptFailure::Unavailable
        );
    }

    #[test]
    fn bad_quirks_faults_and_limits_are_usage_errors() {
        let e = options(&serve_args(&["--quirk", "nope"]), None).unwrap_err();
        assert!(e.contains("--quirk") && e.contains("nope"), "{e}");
        let e = options(&serve_args(&["--fault", "nope"]), None).unwrap_err();
        assert!(e.contains("--fault"), "{e}");
        let e = options(&serve_args(&["--max-connections", "0"]), None).unwrap_err();
        assert!(e.contains("--max-connections"), "{e}");
        assert!(Cli::try_parse_from(["revspec", "serve", "--script-failure", "open"]).is_err());
    }
}
