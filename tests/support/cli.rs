//! The `revspec` binary as a test runs it: no log filter or CI summary inherited from the
//! environment, stdout and stderr read together.

use std::process::Output;

/// `revspec ARGS` with no log filter or CI summary inherited, and these variables set.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revspec"));
    cmd.args(args)
        .env_remove("REVSPEC_LOG")
        .env_remove("GITHUB_STEP_SUMMARY")
        .envs(env.iter().copied());
    cmd
}

/// [`command`], waited for.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().expect("the binary runs")
}

/// [`command`], awaited on tokio (for tests that serve a target on the same runtime).
pub async fn run_async(args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::process::Command::from(command(args, env))
        .output()
        .await
        .expect("the binary runs")
}

/// stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
