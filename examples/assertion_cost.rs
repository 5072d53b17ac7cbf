//! The client-side cost of one client assertion (`bench/tls-ratio.sh`): signs N fresh
//! assertions (new `jti`, `iat`, `exp`) with each demo fixture key through the harness's own
//! code (`revspec::sut::client::assertion::sign`, what every request of a JWT client does) and
//! prints the mean microseconds per assertion, per algorithm.
//!
//! `cargo run --release --example assertion_cost -- 2000`

use revspec::sut::client::assertion::{sign, Defect};
use revspec::sut::client::keys::SigningKey;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/keys");
    let read = |f: &str| std::fs::read_to_string(keys.join(f)).expect("a fixture key");
    let cases = [
        (
            "RS256",
            SigningKey::from_text(&read("client-rsa.key.pem"), Some("RS256"), None),
        ),
        (
            "PS256",
            SigningKey::from_text(&read("client-rsa.key.pem"), Some("PS256"), None),
        ),
        (
            "ES256",
            SigningKey::from_text(&read("client-jwt.key.pem"), None, None),
        ),
        (
            "EdDSA",
            SigningKey::from_text(&read("client-ed.key.pem"), None, None),
        ),
        (
            "HS256",
            SigningKey::hmac("secret-secjwt-of-32-bytes-or-more"),
        ),
    ];
    println!("alg\tassertions\tus_per_assertion");
    for (name, key) in cases {
        let key = key.expect("the fixture key loads");
        let started = std::time::Instant::now();
        for _ in 0..n {
            let jws = sign(
                &key,
                None,
                "client",
                "https://as.example/token",
                &Defect::None,
            )
            .expect("signs");
            std::hint::black_box(jws);
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!("{name}\t{n}\t{us:.1}");
    }
}
