//! `revspec serve`: the reference server from the command line, until Ctrl-C: one server, or
//! with `--cluster N` the N nodes of one server sharing a `--store redis://...`.

use super::exit::Exit;
use super::ServeArgs;
use crate::faults::quirks::{self, ClusterQuirk, Quirk};
use crate::faults::{self, Fault};
use crate::server::config::ServerConfig;
use crate::server::limits::Limits;
use crate::server::state::AppState;
use crate::server::{paths, spawn, RunningServer, ServeOptions, SharedStore};

/// Resolves the flags into server options (the configuration file is read by the caller).
fn options(args: &ServeArgs, config: Option<ServerConfig>) -> Result<ServeOptions, String> {
    let fault = args
        .fault
        .as_deref()
        .map(str::parse::<Fault>)
        .transpose()
        .map_err(|e| format!("--fault: {e}"))?;
    let mut quirks = Vec::new();
    let mut cluster_quirks = Vec::new();
    for name in &args.quirks {
        match (name.parse::<Quirk>(), name.parse::<ClusterQuirk>()) {
            (Ok(q), _) => quirks.push(q),
            (_, Ok(q)) => cluster_quirks.push(q),
            (Err(e), _) => return Err(format!("--quirk: {e}")),
        }
    }
    let store = args
        .store
        .as_deref()
        .map(|url| {
            if url.starts_with("redis://") {
                let mut store = SharedStore::redis(url);
                store.options.accept_eviction = args.accept_redis_eviction;
                Ok(store)
            } else {
                Err(format!(
                    "--store: '{}' is not a redis://HOST:PORT[/DB] URL",
                    crate::server::store::redis::shown_url(url)
                ))
            }
        })
        .transpose()?;
    if store.is_none() {
        if let Some(f) = fault.filter(|f| f.is_cluster()) {
            return Err(format!(
                "--fault {f}: a fault of one node of a cluster, it needs --store"
            ));
        }
        if let Some(q) = cluster_quirks.first() {
            return Err(format!(
                "--quirk {q}: a quirk between the nodes of a cluster, it needs --store"
            ));
        }
    }
    let limits = Limits {
        header_read_timeout: args.header_read_timeout,
        request_timeout: args.request_timeout,
        max_connections: args.max_connections,
        max_connections_per_peer: args.max_connections_per_peer,
        first_byte_timeout: args.first_byte_timeout,
        max_patch_operations: args.max_patch_operations,
        max_patch_document_bytes: args.max_patch_bytes,
        max_tokens_per_grant: args.max_tokens_per_grant,
        max_grants_per_client: args.max_grants_per_client,
        max_tokens_per_request: args.max_tokens_per_request,
        sweep_interval: args.sweep_interval,
        script_max_operations: args.script_max_operations,
        script_max_array: args.script_max_array,
        script_max_map: args.script_max_map,
        script_max_string: args.script_max_string,
        script_timeout: args.script_timeout,
    };
    limits.validate()?;
    let tls = match (&args.tls, &args.tls_cert, &args.tls_key) {
        (Some(_), _, _) => Some(crate::server::tls::TlsSource::SelfSigned {
            dir: args.data_dir.as_ref().map(|d| d.join("tls")),
        }),
        (None, Some(cert), Some(key)) => Some(crate::server::tls::TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    if tls.is_some() && args.cluster.is_some_and(|n| n > 1) {
        return Err("--tls with --cluster: give each node its own `revspec serve`".into());
    }
    if args.mtls_bind.is_some() && tls.is_none() {
        return Err("--mtls-bind: the mTLS listener needs --tls or --tls-cert/--tls-key".into());
    }
    Ok(ServeOptions {
        tls,
        mtls_bind: args.mtls_bind,
        config,
        data_dir: args.data_dir.clone(),
        store,
        fault,
        quirks,
        cluster_quirks,
        config_reload_delay: args.config_reload_delay,
        limits,
        script_failure: args.script_failure,
        revoke_script: args.revoke_script.clone(),
        script_source: None,
        refresh_pause: None,
        follow_pause: None,
        follow_delay: None,
    })
}

/// `revspec serve`: runs until Ctrl-C; returns the exit code.
pub async fn run(args: ServeArgs) -> Exit {
    if args.list_faults {
        print!("{}", faults::listing());
        return Exit::Ok;
    }
    if args.list_quirks {
        print!("{}", quirks::listing());
        return Exit::Ok;
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
            return Exit::Usage;
        }
    };
    let demo = config.is_none();
    let options = match options(&args, config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let stop = stop_requested();
    let nodes = match start_nodes(&args, options).await {
        Ok(nodes) => nodes,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    print!("{}", banner(&nodes[0].state, demo));
    if let Some(mtls) = &nodes[0].mtls_base_url {
        println!("  mtls listener  {mtls} (published as mtls_endpoint_aliases)");
    }
    if let Some(ca) = &nodes[0].ca_file {
        println!(
            "  TLS: throw-away CA {} (trust it: [tls] ca_file, or REVSPEC_CA_FILE for targets/reference-tls.toml)",
            ca.display()
        );
    }
    if let Some(store) = &args.store {
        println!(
            "  store: {} (shared: every node started with this store is one server)",
            crate::server::store::redis::shown_url(store)
        );
    }
    if nodes.len() > 1 {
        println!("cluster of {} nodes:", nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            println!("  node {} {}", i + 1, node.base_url);
        }
        let last = &nodes[nodes.len() - 1];
        if let Some(fault) = last.state.fault.filter(|f| f.is_cluster()) {
            println!(
                "FAULT INJECTED on node {} ({}) only: {} ({}) breaks {}",
                nodes.len(),
                last.base_url,
                fault.name(),
                fault.description(),
                fault.rules().join(", ")
            );
        }
    }
    println!("Press Ctrl-C to stop (SIGTERM stops it the same way).");
    stop.await;
    for node in nodes {
        node.shutdown().await;
    }
    Exit::Ok
}

/// Ctrl-C or, on Unix, SIGTERM (what systemd, Docker and Kubernetes send): either ends with a
/// clean shutdown, so open requests finish and the data directory is closed. SIGTERM is
/// caught from the call on, so one that comes while the nodes start is not lost.
fn stop_requested() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What each of `n` nodes is started with: the same options, but a cluster fault only on the
/// last node, and the first node's URL as every node's issuer (one server, one issuer).
fn node_options(options: &ServeOptions, n: usize, first_url: &str) -> Vec<ServeOptions> {
    (0..n)
        .map(|i| {
            let mut node = options.clone();
            if n > 1 {
                if node.fault.is_some_and(|f| f.is_cluster()) && i + 1 < n {
                    node.fault = None;
                }
                let mut config = node.config.clone().unwrap_or_else(ServerConfig::demo);
                config.issuer.get_or_insert_with(|| first_url.to_owned());
                node.config = Some(config);
            }
            node
        })
        .collect()
}

/// Starts the server, or with `--cluster N` its N nodes on consecutive ports.
async fn start_nodes(
    args: &ServeArgs,
    options: ServeOptions,
) -> Result<Vec<RunningServer>, String> {
    let n = usize::from(args.cluster.unwrap_or(1));
    if n == 1 {
        return Ok(vec![spawn(args.bind, &options).await?]);
    }
    if args.bind.port() == 0 {
        return Err(format!(
            "--cluster {n}: give --bind a port (the nodes take consecutive ports from it)"
        ));
    }
    let mut addrs = Vec::with_capacity(n);
    for i in 0..n {
        let mut addr = args.bind;
        let port = u16::try_from(usize::from(addr.port()) + i).map_err(|_| {
            format!(
                "--cluster {n}: ports beyond 65535 from --bind {}",
                args.bind
            )
        })?;
        addr.set_port(port);
        addrs.push(addr);
    }
    let first_url = format!("http://{}", addrs[0]);
    let mut nodes = Vec::with_capacity(n);
    for (i, (addr, node)) in addrs
        .into_iter()
        .zip(node_options(&options, n, &first_url))
        .enumerate()
    {
        match spawn(addr, &node).await {
            Ok(server) => nodes.push(server),
            Err(e) => {
                for started in nodes {
                    started.shutdown().await;
                }
                return Err(format!("node {}: {e}", i + 1));
            }
        }
    }
    Ok(nodes)
}

/// What `revspec serve` prints at start: endpoints, clients and users.
fn banner(state: &AppState, demo: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "revspec reference server listening at {}\n",
        state.issuer
    ));
    for (name, path) in [
        ("discovery", paths::OIDC_DISCOVERY),
        ("metadata", paths::AS_METADATA),
        ("token", paths::TOKEN),
        ("revocation", paths::REVOKE),
        ("introspection", paths::INTROSPECTION),
        ("userinfo", paths::USERINFO),
        ("config api", paths::CONFIG),
    ] {
        out.push_str(&format!("  {name:<14} {}\n", state.url(path)));
    }
    if demo {
        out.push_str(
            "WARNING: demo credentials (public fixtures, never use them for anything real):\n",
        );
        for c in ServerConfig::demo().clients {
            out.push_str(&format!(
                "  client {:<14} secret {:<14} {:<20} scopes {}\n",
                c.id,
                c.secret.as_deref().unwrap_or("-"),
                c.auth_method.as_str(),
                c.scopes.join(" ")
            ));
        }
        for u in ServerConfig::demo().users {
            out.push_str(&format!(
                "  user   {:<14} password {}\n",
                u.username, u.password
            ));
        }
    } else {
        let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<_> = clients
            .values()
            .map(|c| format!("{} ({})", c.id, c.auth_method.as_str()))
            .collect();
        ids.sort();
        out.push_str(&format!("  clients: {}\n", ids.join(", ")));
    }
    if let Some(fault) = state.fault {
        out.push_str(&format!(
            "FAULT INJECTED: {} ({}) breaks {}\n",
            fault.name(),
            fault.description(),
            fault.rules().join(", ")
        ));
    }
    for quirk in &state.quirks {
        out.push_str(&format!(
            "QUIRK: {} ({})\n",
            quirk.name(),
            quirk.description()
        ));
    }
    for quirk in &state.cluster_quirks {
        out.push_str(&format!(
            "QUIRK: {} ({})\n",
            quirk.name(),
            quirk.description()
        ));
    }
    let l = &state.limits;
    out.push_str(&format!(
        "  limits: header read {:?}, request {:?}, {} connections, {} tokens per grant, {} per revocation, sweep every {:?}\n",
        l.header_read_timeout,
        l.request_timeout,
        l.max_connections,
        l.max_tokens_per_grant,
        l.max_tokens_per_request,
        l.sweep_interval
    ));
    if let Some(script) = &state.script {
        out.push_str(&format!("  revoke script: {script:?}\n"));
    }
    out
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
            Command::Serve(a) => *a,
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
                "--max-connections-per-peer",
                "3",
                "--first-byte-timeout",
                "1500ms",
                "--max-patch-operations",
                "6",
                "--max-patch-bytes",
                "7000",
                "--max-tokens-per-grant",
                "8",
                "--max-grants-per-client",
                "15",
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
                "--script-timeout",
                "14ms",
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
                max_connections_per_peer: 3,
                first_byte_timeout: Duration::from_millis(1500),
                max_patch_operations: 6,
                max_patch_document_bytes: 7000,
                max_tokens_per_grant: 8,
                max_grants_per_client: 15,
                max_tokens_per_request: 9,
                sweep_interval: Duration::from_secs(10),
                script_max_operations: 1000,
                script_max_array: 11,
                script_max_map: 12,
                script_max_string: 13,
                script_timeout: Duration::from_millis(14),
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

    #[test]
    fn store_cluster_and_cluster_faults_and_quirks_reach_the_options() {
        let o = options(
            &serve_args(&[
                "--store",
                "redis://127.0.0.1:6379/2",
                "--quirk",
                "cross-node-delay",
                "--quirk",
                "two-challenges",
                "--fault",
                "stale-node",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            o.store,
            Some(SharedStore::redis("redis://127.0.0.1:6379/2"))
        );
        assert_eq!(o.store.as_ref().unwrap().prefix, "revspec:");
        assert!(!o.store.as_ref().unwrap().options.accept_eviction);
        let accepting = options(
            &serve_args(&["--store", "redis://h", "--accept-redis-eviction"]),
            None,
        )
        .unwrap();
        assert!(accepting.store.unwrap().options.accept_eviction);
        // Only with a store.
        assert!(Cli::try_parse_from(["revspec", "serve", "--accept-redis-eviction"]).is_err());
        assert_eq!(o.cluster_quirks, vec![ClusterQuirk::CrossNodeDelay]);
        assert_eq!(o.quirks, vec![Quirk::TwoChallenges]);
        assert_eq!(o.fault, Some(Fault::StaleNode));
        // Without a shared store a cluster fault or quirk has nothing to act between.
        let e = options(&serve_args(&["--fault", "stale-node"]), None).unwrap_err();
        assert!(e.contains("needs --store"), "{e}");
        let e = options(&serve_args(&["--quirk", "cross-node-delay"]), None).unwrap_err();
        assert!(e.contains("needs --store"), "{e}");
        let e = options(&serve_args(&["--store", "http://x"]), None).unwrap_err();
        assert!(e.contains("redis://"), "{e}");
        // --cluster needs --store, excludes --data-dir, and is 1..=16.
        for bad in [
            &["revspec", "serve", "--cluster", "3"][..],
            &[
                "revspec",
                "serve",
                "--store",
                "redis://h",
                "--data-dir",
                "d",
            ],
            &["revspec", "serve", "--store", "redis://h", "--cluster", "0"],
            &[
                "revspec",
                "serve",
                "--store",
                "redis://h",
                "--cluster",
                "17",
            ],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            serve_args(&["--store", "redis://h", "--cluster", "3"]).cluster,
            Some(3)
        );
    }

    #[test]
    fn a_cluster_fault_goes_to_the_last_node_and_every_node_shares_the_first_as_issuer() {
        let base = ServeOptions {
            fault: Some(Fault::StaleNode),
            ..Default::default()
        };
        let nodes = node_options(&base, 3, "http://127.0.0.1:8081");
        let faults: Vec<_> = nodes.iter().map(|n| n.fault).collect();
        assert_eq!(faults, vec![None, None, Some(Fault::StaleNode)]);
        for n in &nodes {
            let issuer = n.config.as_ref().unwrap().issuer.as_deref();
            assert_eq!(issuer, Some("http://127.0.0.1:8081"));
        }
        // A fault of the whole server goes to every node.
        let whole = ServeOptions {
            fault: Some(Fault::UnknownToken400),
            ..Default::default()
        };
        assert!(node_options(&whole, 3, "http://x")
            .iter()
            .all(|n| n.fault == Some(Fault::UnknownToken400)));
        // One server keeps its options as they are.
        let one = node_options(&base, 1, "http://x");
        assert_eq!(one[0].fault, Some(Fault::StaleNode));
        assert!(one[0].config.is_none());
    }

    #[test]
    fn banner_names_endpoints_demo_clients_faults_quirks_and_limits() {
        let options = ServeOptions {
            fault: Some(Fault::RevocationNoop),
            quirks: vec![Quirk::TwoChallenges],
            ..ServeOptions::default()
        };
        let state = AppState::new(&options, "http://127.0.0.1:9".into()).unwrap();
        let demo = banner(&state, true);
        for expected in [
            "revspec reference server listening at http://127.0.0.1:9\n",
            "http://127.0.0.1:9/jans-auth/restv1/revoke",
            "WARNING: demo credentials",
            "resource-server",
            "resource-secret",
            "client_secret_basic",
            "introspect_any",
            "user   alice",
            "FAULT INJECTED: revocation-noop",
            "QUIRK: two-challenges",
            "limits: header read 10s, request 30s, 512 connections, 100 tokens per grant",
        ] {
            assert!(
                demo.contains(expected),
                "{expected:?} missing from:\n{demo}"
            );
        }
        let configured = banner(&state, false);
        assert!(!configured.contains("resource-secret"), "{configured}");
        assert!(configured.contains("public-client (none)"), "{configured}");
    }
}
