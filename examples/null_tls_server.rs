//! The null TLS server of the HTTPS benchmark (`bench/tls-ratio.sh`): the least an axum server
//! can do for a revocation request (read the whole body, answer 200 with an empty body), served
//! over TLS through the reference server's own accept loop (`revspec::server::net::serve`) and
//! TLS configuration (`revspec::server::tls`), with a throw-away certificate of the same kind
//! (`--tls self-signed`), so that the reference server's HTTPS figures read as a ratio of what
//! the machine, rustls, hyper and axum allow.
//!
//! `cargo run --release --example null_tls_server -- 127.0.0.1:0 DIR` prints
//! `listening on ADDR ca DIR/ca.pem` and serves until killed.

use axum::body::Bytes;
use axum::routing::any;
use axum::Router;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let dir = args.next().map(std::path::PathBuf::from);
    let identity = match revspec::server::tls::self_signed(dir.as_deref()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let config = revspec::server::tls::server_config(&identity, false).expect("a TLS config");
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
    println!(
        "listening on {addr} ca {}",
        identity
            .ca_file
            .as_ref()
            .map_or("-".to_owned(), |p| p.display().to_string())
    );
    let app = Router::new().fallback(any(|_body: Bytes| async {}));
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    revspec::server::net::serve(
        listener,
        app,
        &revspec::server::limits::Limits::default(),
        Some(revspec::server::net::Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
            mtls: false,
        }),
        stopped,
        std::time::Duration::from_secs(1),
    )
    .await;
}
