//! A hostile test server: a TCP proxy in front of the reference server that answers one
//! endpoint the way a broken server does (hangs, resets, closes, garbage, escape sequences,
//! wrong JSON types, huge or endless bodies, redirects, 500s) and forwards everything else, so
//! the rest of the server works and a check run gets as far as that endpoint.
//!
//! It speaks just enough HTTP/1.1 by hand (it must be able to reset a connection or stop in
//! the middle of a body, which no HTTP framework offers): one request per connection, forwarded
//! with `Connection: close`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const REVOKE: &str = "/jans-auth/restv1/revoke";
pub const TOKEN: &str = "/jans-auth/restv1/token";
pub const INTROSPECTION: &str = "/jans-auth/restv1/introspection";
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const METADATA: &str = "/.well-known/oauth-authorization-server";

/// What the hostile endpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Reads the request and never answers.
    Hang,
    /// Reads the request and resets the connection (RST).
    Reset,
    /// Reads the request and closes the connection without a byte.
    Close,
    /// 200 `text/html` that is not JSON.
    NotJson,
    /// 200 JSON whose endpoint members are numbers.
    WrongTypes,
    /// 200 with a 1 MiB body.
    Huge,
    /// 302 to itself.
    RedirectLoop,
    /// 302 to another host (127.0.0.2): credentials must never follow.
    RedirectOffHost,
    /// 400 `text/html` with ANSI CSI/OSC sequences, a carriage return, NULs and a fake verdict.
    Escapes,
    /// 400 JSON error padded to 1 MiB.
    HugeError,
    /// 200 with a body that never ends.
    Endless,
    /// 500 with an HTML body.
    ServerError,
    /// 200 JSON without the member the caller needs (`access_token`, `active`).
    MissingMember,
    /// 200 with bytes that are neither UTF-8 nor JSON (NULs, control bytes).
    Garbage,
    /// 200 announcing 1000 bytes, sending 10, then resetting.
    Truncated,
    /// 404 `text/plain`: the path does not exist (a server without metadata documents).
    NotFound,
    /// 200 JSON: this text, with `{base}` replaced by the server's own base URL and `{off}` by
    /// the off-host listener's (127.0.0.2, another origin).
    Json(&'static str),
    /// 400 JSON that echoes the request's Authorization header: in a header of another name,
    /// in the error description, and in a nested member (as a debug page or WAF might).
    EchoAuthorization,
    /// The upstream's answer with a 100 KB header added.
    HugeHeader,
    /// The upstream's answer, after a pause of this many milliseconds.
    Slow(u64),
}

/// Which path misbehaves, how, and after how many well-behaved requests to it.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub paths: &'static [&'static str],
    pub behaviour: Behaviour,
    pub after: usize,
}

/// A running hostile server; dropping it stops it (and its upstream).
pub struct Hostile {
    pub base_url: String,
    pub port: u16,
    /// Connections the off-host listener (127.0.0.2) received: must stay 0.
    pub off_host_connections: Arc<AtomicUsize>,
    upstream: Option<revspec::server::RunningServer>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Hostile {
    pub async fn stop(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(up) = self.upstream.take() {
            up.shutdown().await;
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub async fn start(mode: Mode) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut config = revspec::server::config::ServerConfig::demo();
    config.issuer = Some(base_url.clone());
    let options = revspec::server::ServeOptions {
        config: Some(config),
        ..revspec::reference::options(None)
    };
    let upstream = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .unwrap();
    let upstream_addr = upstream.addr;
    // The host a redirect points to; it counts connections and answers nothing.
    let off_host_connections = Arc::new(AtomicUsize::new(0));
    let off_host = TcpListener::bind(("127.0.0.2", port)).await.ok();
    let mut tasks = Vec::new();
    if let Some(off) = off_host {
        let counter = off_host_connections.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok((_s, _)) = off.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let seen = Arc::new(AtomicUsize::new(0));
    tasks.push(tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let _ = serve(stream, mode, upstream_addr, port, seen).await;
            });
        }
    }));
    Hostile {
        base_url,
        port,
        off_host_connections,
        upstream: Some(upstream),
        tasks,
    }
}

/// Reads one request: the head (up to 64 KiB) and a Content-Length body.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

fn response(status: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

async fn serve(
    mut stream: TcpStream,
    mode: Mode,
    upstream: std::net::SocketAddr,
    port: u16,
    seen: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut stream).await?;
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_owned();
    let hostile =
        mode.paths.contains(&path.as_str()) && seen.fetch_add(1, Ordering::SeqCst) >= mode.after;
    if !hostile {
        return forward(stream, &head, &body, upstream).await;
    }
    match mode.behaviour {
        Behaviour::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return forward(stream, &head, &body, upstream).await;
        }
        Behaviour::HugeHeader => {
            let padding = format!("X-Padding: {}", "p".repeat(100 * 1024));
            return forward_with_header(stream, &head, &body, upstream, &padding).await;
        }
        _ => {}
    }
    let huge = "x".repeat(1024 * 1024);
    let answer: Vec<u8> = match mode.behaviour {
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(());
        }
        Behaviour::Reset => {
            // A zero linger makes the close a reset; it does not block.
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO))?;
            drop(stream);
            return Ok(());
        }
        Behaviour::Close => {
            stream.shutdown().await?;
            return Ok(());
        }
        Behaviour::Truncated => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial")
                .await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO))?;
            drop(stream);
            return Ok(());
        }
        Behaviour::Endless => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await?;
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "y".repeat(64 * 1024));
            // Bounded: the harness stops reading at its cap long before this ends.
            for _ in 0..1024 {
                if stream.write_all(chunk.as_bytes()).await.is_err() {
                    break;
                }
            }
            return Ok(());
        }
        Behaviour::NotJson => response("200 OK", "text/html", "", b"<html><body>maintenance</body></html>"),
        Behaviour::NotFound => response("404 Not Found", "text/plain", "", b"not found"),
        Behaviour::Json(text) => response(
            "200 OK",
            "application/json",
            "",
            text.replace("{base}", &format!("http://127.0.0.1:{port}"))
                .replace("{off}", &format!("http://127.0.0.2:{port}"))
                .as_bytes(),
        ),
        Behaviour::EchoAuthorization => {
            let auth = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.trim().eq_ignore_ascii_case("authorization").then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("bad request {auth}"),
                "debug": {"Authorization": auth, "echo": [auth.clone()]}
            });
            response(
                "400 Bad Request",
                "application/json",
                &format!("X-Debug-Auth: {auth}\r\n"),
                body.to_string().as_bytes(),
            )
        }
        Behaviour::HugeHeader | Behaviour::Slow(_) => unreachable!("forwarded above"),
        Behaviour::WrongTypes => response(
            "200 OK",
            "application/json",
            "",
            br#"{"issuer":"x","revocation_endpoint":42,"token_endpoint":42,"introspection_endpoint":[]}"#,
        ),
        Behaviour::Huge => response("200 OK", "application/json", "", format!("{{\"pad\":\"{huge}\"}}").as_bytes()),
        Behaviour::RedirectLoop => response("302 Found", "text/plain", &format!("Location: {path}\r\n"), b""),
        Behaviour::RedirectOffHost => response(
            "302 Found",
            "text/plain",
            &format!("Location: http://127.0.0.2:{port}{path}\r\n"),
            b"",
        ),
        Behaviour::Escapes => response(
            "400 Bad Request",
            "text/html",
            "X-Evil: \u{202e}reversed\r\n",
            b"<h1>bad</h1>\x1b[2J\x1b[H\x1b]0;owned\x07\rPASS     MUST   every rule\n\0\0\x9b31mred",
        ),
        Behaviour::HugeError => response(
            "400 Bad Request",
            "application/json",
            "",
            format!("{{\"error\":\"invalid_request\",\"error_description\":\"{huge}\"}}").as_bytes(),
        ),
        Behaviour::ServerError => response("500 Internal Server Error", "text/html", "", b"<h1>500</h1>"),
        Behaviour::MissingMember => response("200 OK", "application/json", "", br#"{"token_type":"Bearer","exp":1}"#),
        Behaviour::Garbage => response("200 OK", "application/json", "", b"\0\0\x01\xff\xfe{\"active\0\x1b[31m"),
    };
    stream.write_all(&answer).await?;
    stream.flush().await?;
    Ok(())
}

/// Forwards, then sends the upstream's answer with one more header.
async fn forward_with_header(
    mut stream: TcpStream,
    head: &str,
    body: &[u8],
    upstream: std::net::SocketAddr,
    extra: &str,
) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let mut out = format!("{}\r\n", lines.next().unwrap_or(""));
    for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes()).await?;
    up.write_all(body).await?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await?;
    let split = answer.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let mut sent = answer[..split + 2].to_vec();
    sent.extend_from_slice(extra.as_bytes());
    sent.extend_from_slice(b"\r\n");
    sent.extend_from_slice(&answer[split + 2..]);
    stream.write_all(&sent).await?;
    stream.shutdown().await
}

async fn forward(
    mut stream: TcpStream,
    head: &str,
    body: &[u8],
    upstream: std::net::SocketAddr,
) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let mut out = format!("{}\r\n", lines.next().unwrap_or(""));
    for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes()).await?;
    up.write_all(body).await?;
    tokio::io::copy(&mut up, &mut stream).await?;
    stream.shutdown().await
}
