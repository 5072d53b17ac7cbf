//! The reference server as a three-node cluster on one Redis store (as `tests/cluster.rs`
//! starts it), with `targets/reference-cluster.toml` pointed at its nodes, for tests that drive
//! it from another process (a target profile file) or in-process (a [`TargetProfile`]).

use revspec::reference::options as reference_options;
use revspec::server::{RunningServer, ServeOptions, SharedStore};
use revspec::sut::TargetProfile;
use std::path::Path;

/// The shipped cluster profile.
pub const PROFILE: &str = "targets/reference-cluster.toml";
/// Its nodes' base URLs, in order (node 1 is the issuer).
const PROFILE_NODES: [&str; 3] = [
    "http://127.0.0.1:8081",
    "http://127.0.0.1:8082",
    "http://127.0.0.1:8083",
];

/// Three nodes on free loopback ports sharing the store at `url` under a prefix of their own.
pub struct Cluster {
    pub nodes: Vec<RunningServer>,
}

impl Cluster {
    pub async fn start(url: &str, name: &str) -> Self {
        let store = SharedStore {
            prefix: super::redis::unique_prefix(name),
            ..SharedStore::redis(url)
        };
        let mut nodes = Vec::new();
        for _ in PROFILE_NODES {
            let options = ServeOptions {
                store: Some(store.clone()),
                ..reference_options(None)
            };
            nodes.push(
                revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
                    .await
                    .expect("a node starts"),
            );
        }
        Self { nodes }
    }

    /// The cluster profile's text with its nodes (and issuer) replaced by these.
    pub fn profile_text(&self) -> String {
        let mut text = std::fs::read_to_string(PROFILE).expect("the cluster profile");
        for (shipped, node) in PROFILE_NODES.iter().zip(&self.nodes) {
            text = text.replace(shipped, &node.base_url);
        }
        text
    }

    /// Writes [`Cluster::profile_text`] to `path` and checks that it names these nodes.
    pub fn write_profile(&self, path: &Path) {
        std::fs::write(path, self.profile_text()).expect("the profile is written");
        let profile = TargetProfile::from_file(path).expect("the profile parses");
        let bases: Vec<String> = self.nodes.iter().map(|n| n.base_url.clone()).collect();
        assert_eq!(profile.nodes, bases, "{PROFILE} no longer lists 8081-8083");
        assert_eq!(profile.issuer, bases[0]);
    }

    pub async fn stop(self) {
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}
