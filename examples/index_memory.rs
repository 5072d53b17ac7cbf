//! Memory per stored token of the reference server's in-memory store, measured as
//! `bench/suite.sh` does for the server (resident memory, VmRSS): tokens issued as the
//! client_credentials grant issues them (an access token, its own grant, one client, no
//! subject or scope), then (RSS at N − RSS at 10k) ÷ tokens added, and from an empty store.
//!
//! `cargo run --release --example index_memory -- [N]` (N: 1000000 by default) prints one line
//! per size and the figures.

use revspec::server::store::{new_grant_id, Store, TokenKind, TokenRecord};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let target: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let store = Store::in_memory();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let record = || TokenRecord {
        kind: TokenKind::Access,
        client_id: "client-a".into(),
        grant_id: new_grant_id(),
        subject: None,
        scopes: Vec::new(),
        issued_at: now,
        expires_at: now + 3600,
    };
    // One token first, so that what the first issue allocates is in the baseline.
    store.issue(record()).await.expect("issue");
    let empty = rss_kib();
    let mut sizes = vec![(0usize, empty)];
    for size in [10_000, 100_000, 300_000, target] {
        if size > target || size <= store.len() {
            continue;
        }
        while store.len() < size {
            store.issue(record()).await.expect("issue");
        }
        let rss = rss_kib();
        println!("{size} tokens: RSS {} KiB", rss);
        sizes.push((size, rss));
    }
    let (n, rss_n) = *sizes.last().unwrap();
    let per = |from: (usize, u64)| (rss_n - from.1) as f64 * 1024.0 / (n - from.0) as f64;
    if let Some(&at10k) = sizes.iter().find(|(s, _)| *s == 10_000) {
        if n > 10_000 {
            println!(
                "memory per stored token: {:.0} B ((RSS at {n} - RSS at 10k) / tokens added)",
                per(at10k)
            );
        }
    }
    println!(
        "memory per stored token from an empty store: {:.0} B",
        per((0, empty))
    );
}
