//! The null server of `revspec bench`: the least an axum server can do for a revocation
//! request (read the whole body, answer 200 with an empty body), so that the reference
//! server's figures can be read as a ratio of what the machine, hyper and axum allow.
//!
//! `cargo run --release --example null_server -- 127.0.0.1:0` prints `listening on ADDR` and
//! serves until killed.

use axum::body::Bytes;
use axum::routing::any;
use axum::Router;

#[tokio::main]
async fn main() {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = match tokio::net::TcpListener::bind(&bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot bind {bind}: {e}");
            std::process::exit(2);
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    println!("listening on {addr}");
    // Reading the body into `Bytes` is what the reference server does first.
    let app = Router::new().fallback(any(|_body: Bytes| async {}));
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("serve: {e}");
    }
}
