//! The command line: parsing (clap), resolving each subcommand's raw arguments (with the
//! profile file and the environment) into a validated plan (`resolve`), running it, printing
//! (progress included: `progress`), the CI environment (`ci`), and the one exit-code table
//! (`exit`). The only module that prints, reads the environment or knows exit codes; nothing
//! else in the crate depends on it.

mod check;
mod ci;
mod doctor;
pub mod exit;
mod explain;
mod init;
mod list;
mod load;
mod progress;
mod report;
mod resolve;
mod serve;

use crate::catalogue::RuleSet;
use exit::Exit;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "revspec",
    version,
    about = "Checks and load-tests OAuth 2.0 token revocation endpoints (RFC 7009 + Janssen)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference server.
    Serve(Box<ServeArgs>),
    /// Check a target's revocation endpoint against the rule catalogue.
    Check(CheckArgs),
    /// List the rules and the scenarios that cover them.
    List(ListArgs),
    /// Run a goose load profile against a target.
    Load(LoadArgs),
    /// Explain a rule: its source, scenarios, how it is observed, what breaks it, how to fix it.
    Explain(ExplainArgs),
    /// Write a commented target profile from a server's discovery document.
    Init(InitArgs),
    /// Check a target profile against the live target before a real run.
    Doctor(DoctorArgs),
    /// Views rebuilt from run.json files: the cross-run matrix, a run's HTML report.
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `revspec man > revspec.1`.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The rule ID (see `revspec list`).
    pub rule: String,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The issuer URL; discovery is read from it (OpenID, then RFC 8414).
    #[arg(long)]
    pub issuer: String,
    /// Where to write the profile (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The profile's name (default: the issuer's host).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Trust the target's certificate through this CA bundle (PEM; a private CA), and write it
    /// into the profile's [tls] ca_file.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The target profile to check.
    #[arg(long)]
    pub target: PathBuf,
    /// Rule set whose rules are listed as skipped or not (default as for `check`).
    #[arg(long = "rules", alias = "profile", value_name = "RULE_SET", value_parser = rule_set)]
    pub rules: Option<RuleSet>,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Rules × runs: matrix.html and matrix.md from several run.json files (or run directories).
    Matrix {
        /// run.json files, or the run directories holding them; one column each.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Where matrix.html and matrix.md go.
        #[arg(long, default_value = "reports/matrix")]
        out: PathBuf,
        /// Keep only the rules where the runs differ.
        #[arg(long)]
        only_differences: bool,
        /// matrix.md cells without links to the runs' reports (for pasting elsewhere).
        #[arg(long)]
        no_links: bool,
    },
    /// Writes a run's report.html again from its run.json.
    Html {
        /// A run.json, or the run directory holding it.
        run: PathBuf,
        /// Where to write (default: report.html beside run.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// TOML file with clients, users and settings (default: the built-in demo).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep tokens, settings and client scopes in an embedded database in this directory
    /// (created 0700, the database 0600; default: in memory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep tokens, grants, settings and client scopes in Redis (redis://HOST:PORT[/DB]):
    /// every `revspec serve` started with the same store is a node of one server (see
    /// docs/cluster.md).
    #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
    pub store: Option<String>,
    /// Accept a Redis whose maxmemory-policy is volatile-* (it may evict tokens and their
    /// indexes, which then read as revoked); without it only noeviction is accepted, and
    /// allkeys-* never is (docs/security.md).
    #[arg(long, requires = "store")]
    pub accept_redis_eviction: bool,
    /// Start N nodes sharing --store, on consecutive ports from --bind's; the issuer is the
    /// first node. A cluster fault (see --list-faults) takes effect on the last node only.
    #[arg(long, value_name = "N", requires = "store",
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub cluster: Option<u16>,
    /// Break exactly the rules of this fault (see --list-faults).
    #[arg(long)]
    pub fault: Option<String>,
    /// Behave in this conformant but unusual way (repeatable; see --list-quirks).
    #[arg(long = "quirk")]
    pub quirks: Vec<String>,
    /// Rhai revoke interception script (see scripts/revoke.rhai).
    #[arg(long)]
    pub revoke_script: Option<PathBuf>,
    /// What a failing revoke script means: veto (Janssen: 200, nothing revoked) or
    /// unavailable (fail closed: 503 temporarily_unavailable).
    #[arg(long, default_value = "veto")]
    pub script_failure: crate::server::script::ScriptFailure,
    /// Apply settings stored through the Config API on a periodic reload every DURATION, like
    /// Janssen (0: at once).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub config_reload_delay: std::time::Duration,
    /// How long a client may take to send a request's headers (also the keep-alive idle time).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: std::time::Duration,
    /// How long one request may take, body upload included (then 408).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: std::time::Duration,
    /// How many connections are served at once (more are closed at once).
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// How many of them one peer address may hold (more from it are closed at once).
    #[arg(long, default_value_t = 64)]
    pub max_connections_per_peer: usize,
    /// How long a new connection may take to send its first byte before it is closed.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub first_byte_timeout: std::time::Duration,
    /// The most operations in one Config API JSON Patch.
    #[arg(long, default_value_t = 32)]
    pub max_patch_operations: usize,
    /// The largest document (bytes) a Config API JSON Patch may produce.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_patch_bytes: usize,
    /// The most tokens one grant holds (beyond it a refresh drops the oldest access tokens).
    #[arg(long, default_value_t = 100)]
    pub max_tokens_per_grant: usize,
    /// The most live grants one client may hold (beyond it a new grant is refused with 503 until
    /// some expire or are revoked; existing grants are never touched).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_grants_per_client: usize,
    /// The most space-separated tokens in one revocation request.
    #[arg(long, default_value_t = 20)]
    pub max_tokens_per_request: usize,
    /// How often expired tokens are removed from the store.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub sweep_interval: std::time::Duration,
    /// The most operations one revoke script call may take.
    #[arg(long, default_value_t = 20_000)]
    pub script_max_operations: u64,
    /// The largest array a revoke script may build.
    #[arg(long, default_value_t = 1024)]
    pub script_max_array: usize,
    /// The largest map a revoke script may build.
    #[arg(long, default_value_t = 1024)]
    pub script_max_map: usize,
    /// The longest string (bytes) a revoke script may build.
    #[arg(long, default_value_t = 8 * 1024)]
    pub script_max_string: usize,
    /// Serve HTTPS: `self-signed` makes a throw-away CA and a certificate for localhost and
    /// 127.0.0.1 (written into DATA_DIR/tls with --data-dir, so restarts keep them, else into a
    /// printed temporary folder); or give --tls-cert and --tls-key. A second listener asks
    /// for client certificates and is published as mtls_endpoint_aliases.
    #[arg(long, value_name = "self-signed", value_parser = ["self-signed"], conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: Option<String>,
    /// The server's certificate chain (PEM, leaf first): serve HTTPS with it.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Where the mTLS listener binds (default: --bind's IP, a free port).
    #[arg(long, value_name = "ADDR")]
    pub mtls_bind: Option<std::net::SocketAddr>,
    /// The longest one revoke script call may run, wall clock (then it has failed).
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    pub script_timeout: std::time::Duration,
    /// Print every fault with the rule IDs it breaks, and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Print every quirk with what a target profile must say to check it, and exit.
    #[arg(long)]
    pub list_quirks: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Target profile (TOML). Without it, the built-in reference server is started and checked.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Rule set: rfc7009, or janssen (rfc7009 plus the Janssen rules). Default: janssen for
    /// the built-in server and Janssen Config API profiles, rfc7009 otherwise.
    #[arg(long = "rules", alias = "profile", value_name = "RULE_SET", value_parser = rule_set)]
    pub rule_set: Option<RuleSet>,
    /// Only these rule IDs (repeatable).
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    /// Cucumber tag expression selecting scenarios, e.g. '@MUST and not @serial'.
    #[arg(long)]
    pub tags: Option<String>,
    /// SHOULD-level failures fail the run too.
    #[arg(long)]
    pub strict: bool,
    /// Ledger of known deviations of this target (TOML).
    #[arg(long)]
    pub expectations: Option<PathBuf>,
    /// Where run.json and junit.xml go.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// Read the scenarios from this folder instead of the catalogue built into the binary.
    #[arg(long)]
    pub features: Option<PathBuf>,
    /// With no --target: start the reference server with this fault.
    #[arg(long)]
    pub fault: Option<String>,
    /// How many scenarios run at once (@serial scenarios always run alone).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print every HTTP exchange of failing scenarios (redacted).
    #[arg(long, short)]
    pub verbose: bool,
    /// Progress on stderr: `auto` (when stderr is a terminal), `always` or `never`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub progress: String,
    /// The whole run's deadline (e.g. 10m; default the profile's timeouts.run, 15m): past it
    /// the remaining scenarios are not attempted and the run exits 3.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_run_time: Option<std::time::Duration>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only the rules of this rule set (rfc7009 or janssen; default janssen, which includes
    /// rfc7009).
    #[arg(long = "rules", alias = "profile", value_name = "RULE_SET", value_parser = rule_set)]
    pub rules: Option<RuleSet>,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub command: Option<LoadCommand>,
    /// Target profile (TOML). Without it, the reference server is started in-process.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Load profile (loadtests/NAME.toml).
    #[arg(long, required = true)]
    pub profile: Option<PathBuf>,
    /// Run only shard I of N (1-based) of the profile: its slice of the users and its share of
    /// every rate; writes shard.json and raw latency histograms for `revspec load merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<crate::record::shard::ShardId>,
    /// With --shard: start the users at this shared time (RFC 3339, e.g. 2026-05-01T12:00:00Z,
    /// or a Unix time in seconds); without it, start now.
    #[arg(long, value_name = "TIME", requires = "shard", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    /// Override the profile's number of users.
    #[arg(long)]
    pub users: Option<usize>,
    /// Override the profile's run time (e.g. 30s, 2m).
    #[arg(long)]
    pub run_time: Option<String>,
    /// Where the reports go (default reports/load/<profile>/<timestamp>/).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// An earlier summary.json (of a single run or a merge) to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// With no --target: start the reference server with this fault.
    #[arg(long)]
    pub fault: Option<String>,
    /// Write every acknowledged operation (issued tokens, revocations answered 200, and each
    /// revocation just before it is sent) to FILE as JSON lines, as they happen. The file holds
    /// live tokens: for crash tests on loopback.
    #[arg(long, value_name = "FILE")]
    pub record_acks: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Merge the report folders of the shards of one run (`revspec load --shard I/N`) into the
    /// summary a single run would have written, judging thresholds and correctness once.
    Merge(LoadMergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct LoadMergeArgs {
    /// The report folders of the shards (each holding shard.json), all N of them.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged reports go (default reports/load/<profile>/<timestamp>/).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// An earlier summary.json (of a single run or a merge) to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

fn parse_shard(text: &str) -> Result<crate::record::shard::ShardId, String> {
    text.parse()
}

fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    crate::load::shard::parse_start_at(text)
}

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Check(args) => check::run(args).await,
        Command::List(args) => list::run(args),
        Command::Load(args) => load::run(args).await,
        Command::Explain(args) => explain::run(args),
        Command::Init(args) => init::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Report(args) => report::run(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "revspec",
                &mut out,
            );
            print_out(&String::from_utf8_lossy(&out));
            Exit::Ok
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out) {
                Ok(()) => {
                    print_out(&String::from_utf8_lossy(&out));
                    Exit::Ok
                }
                Err(e) => {
                    eprintln!("error: cannot render the man page: {e}");
                    Exit::Usage
                }
            }
        }
    }
}

/// clap's parser for a rule set; the error names the accepted values.
fn rule_set(s: &str) -> Result<RuleSet, String> {
    s.parse()
}

/// Writes to stdout, ignoring a closed pipe (`revspec check | head` must not panic).
pub fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
