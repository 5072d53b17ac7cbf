//! The built-in target: the reference server started in-process on a free loopback port, with
//! its profile (`targets/reference.toml`) and example revoke script built into the binary, so
//! `revspec check` and `revspec load` with no `--target` need nothing beside the binary. This
//! is the one place that joins the server and the harness.

use crate::faults::Fault;
use crate::server::{RunningServer, ServeOptions};
use crate::sut::TargetProfile;
use std::path::PathBuf;

/// The reference server's profile, built in.
pub const REFERENCE_PROFILE: &str = include_str!("../targets/reference.toml");
/// The example revoke script, built in (the in-process reference server loads it).
pub const EXAMPLE_SCRIPT: &str = include_str!("../scripts/revoke.rhai");

/// The reference server's options for an in-process run.
pub fn options(fault: Option<Fault>) -> ServeOptions {
    ServeOptions {
        fault,
        script_source: Some(EXAMPLE_SCRIPT.to_owned()),
        ..Default::default()
    }
}

/// The built-in reference profile, pointed at `base_url`.
pub fn profile(base_url: &str) -> TargetProfile {
    let mut profile = TargetProfile::from_toml(REFERENCE_PROFILE, "targets/reference.toml")
        .expect("the built-in profile parses");
    profile.issuer = base_url.to_owned();
    profile.source = PathBuf::from("targets/reference.toml (built in)");
    profile
}

/// Starts the reference server (with a fault, if any) and returns its profile; the caller
/// keeps the server alive and shuts it down.
pub async fn start(fault: Option<Fault>) -> Result<(TargetProfile, RunningServer), String> {
    let server = crate::server::spawn(
        "127.0.0.1:0".parse().expect("a valid address"),
        &options(fault),
    )
    .await?;
    Ok((profile(&server.base_url), server))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_profile_parses() {
        let p = super::profile("http://127.0.0.1:1");
        assert_eq!(p.issuer, "http://127.0.0.1:1");
        assert!(p.capabilities.public_client);
    }
}
