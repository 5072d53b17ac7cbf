//! A TCP proxy on a free loopback port in front of a server (a Redis), that can turn into a
//! black hole as a NAT or a load balancer that dropped a flow does: the connections it swallows
//! stay open, and every byte sent on them, either way, is silently dropped. It swallows the
//! connections that subscribed (sent `SUBSCRIBE`), from then on and including new ones, or
//! every connection open at one moment (new ones pass). Stopped (every task ended, every socket
//! closed) when dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

#[derive(Default)]
struct Switches {
    /// Swallow the connections that sent `SUBSCRIBE`.
    subscribers: AtomicBool,
    /// Swallow the connections accepted before this one (numbered from 1).
    before: AtomicU64,
    accepted: AtomicU64,
}

/// The proxy (see the module's doc).
pub struct BlackHoleProxy {
    port: u16,
    switches: Arc<Switches>,
    tasks: JoinSet<()>,
}

/// One proxied connection's state.
struct Flow {
    number: u64,
    subscribed: AtomicBool,
}

impl Flow {
    fn swallowed(&self, switches: &Switches) -> bool {
        (switches.subscribers.load(Ordering::SeqCst) && self.subscribed.load(Ordering::SeqCst))
            || self.number < switches.before.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` (bytes swallowed while the flow is), until either side closes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    flow: Arc<Flow>,
    switches: Arc<Switches>,
    from_client: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if from_client
            && buf[..n]
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"SUBSCRIBE"))
        {
            flow.subscribed.store(true, Ordering::SeqCst);
        }
        if flow.swallowed(&switches) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl BlackHoleProxy {
    /// A proxy to `127.0.0.1:target`, passing everything for now.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let switches = Arc::new(Switches::default());
        let mut tasks = JoinSet::new();
        let accept_switches = switches.clone();
        tasks.spawn(async move {
            let mut flows = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let flow = Arc::new(Flow {
                    number: accept_switches.accepted.fetch_add(1, Ordering::SeqCst) + 1,
                    subscribed: AtomicBool::new(false),
                });
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let s = accept_switches.clone();
                flows.spawn(pump(
                    client_read,
                    server_write,
                    flow.clone(),
                    s.clone(),
                    true,
                ));
                flows.spawn(pump(server_read, client_write, flow, s, false));
            }
        });
        Self {
            port,
            switches,
            tasks,
        }
    }

    /// `redis://127.0.0.1:PORT/DB` through the proxy.
    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// From now on, swallow every connection that subscribed (now or later).
    pub fn swallow_subscribers(&self) {
        self.switches.subscribers.store(true, Ordering::SeqCst);
    }

    /// Swallow every connection open now; new ones pass.
    pub fn swallow_open_connections(&self) {
        let next = self.switches.accepted.load(Ordering::SeqCst) + 1;
        self.switches.before.store(next, Ordering::SeqCst);
    }

    /// Pass everything again (on the swallowed connections too).
    pub fn pass(&self) {
        self.switches.subscribers.store(false, Ordering::SeqCst);
        self.switches.before.store(0, Ordering::SeqCst);
    }
}

impl Drop for BlackHoleProxy {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}
