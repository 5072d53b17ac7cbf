//! A throwaway `redis-server` on a free loopback port, for the tests that need Redis (the
//! cluster and the Redis backend): append-only with `appendfsync always`, in its own temporary
//! folder, so [`LocalRedis::restart`] keeps every acknowledged change; killed when dropped.
//! [`LocalRedis::start_with`] adds settings (a memory limit, an eviction policy) for the tests
//! that need a Redis of their own. Moved here from the library (`revspec serve` never starts a
//! Redis).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set to make a missing `redis-server` a failure instead of a skip (CI sets it).
pub const REQUIRE_ENV: &str = "REVSPEC_REQUIRE_REDIS";
/// A Redis to use instead of starting one (CI starts one for the tests).
pub const URL_ENV: &str = "REVSPEC_REDIS_URL";

/// The `redis-server` binary on PATH, if any.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// `None` when Redis tests can run here, else why not (printed by the caller as a skip);
/// panics instead when `REVSPEC_REQUIRE_REDIS` is set (CI). `own`: the test must start
/// its own `redis-server` (a given `REVSPEC_REDIS_URL` is not enough).
pub fn skip_reason(own: bool) -> Option<String> {
    if binary().is_some() || (!own && std::env::var_os(URL_ENV).is_some()) {
        return None;
    }
    let why = "no redis-server on PATH (apt-get install redis-server)".to_owned();
    if std::env::var_os(REQUIRE_ENV).is_some() {
        panic!("{why}, and {REQUIRE_ENV} is set");
    }
    Some(why)
}

/// A key prefix no other test uses.
pub fn unique_prefix(name: &str) -> String {
    format!(
        "revspec-test:{name}:{:016x}:",
        rand::RngCore::next_u64(&mut rand::rng())
    )
}

/// A private temporary folder, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let name = format!(
            "revspec-redis-{}-{:016x}",
            std::process::id(),
            rand::RngCore::next_u64(&mut rand::rng())
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("a temporary folder");
        Self(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = [0u8; 5];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG"
}

/// Starts `redis-server` on `port` with its data in `dir` and `extra` settings (`--name
/// value` pairs); the child once it answers PING.
fn launch(port: u16, dir: &Dir, extra: &[String]) -> Option<Child> {
    let mut child = Command::new(binary()?)
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--protected-mode", "yes"])
        .args([
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ])
        .arg("--dir")
        .arg(&dir.0)
        .args(["--loglevel", "warning", "--daemonize", "no"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ping(port) {
            return Some(child);
        }
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A `redis-server` this process started (see the module's doc).
pub struct LocalRedis {
    port: u16,
    dir: Dir,
    extra: Vec<String>,
    child: Option<Child>,
}

impl LocalRedis {
    /// Starts one; `None` when there is no `redis-server` (see [`skip_reason`]).
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts one with these settings besides the usual ones, e.g.
    /// `["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]`.
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        binary()?;
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let dir = Dir::new();
        // A port found free may be taken before redis binds it: a few tries.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            if let Some(child) = launch(port, &dir, &extra) {
                return Some(Self {
                    port,
                    dir,
                    extra,
                    child: Some(child),
                });
            }
        }
        panic!("redis-server did not start on a free loopback port in 5 tries");
    }

    /// A Redis of the test's own (its settings change, or what the test does to it would
    /// disturb the tests beside it), or `None` with the reason the test is skipped printed.
    pub fn own(extra: &[&str]) -> Option<Self> {
        if let Some(why) = skip_reason(true) {
            eprintln!("skipped: {why}");
            return None;
        }
        Some(Self::start_with(extra).expect("redis-server starts"))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/DB`.
    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// Kills it (SIGKILL: every acknowledged change is already on disk).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.kill();
        self.child =
            Some(launch(self.port, &self.dir, &self.extra).expect("redis-server restarts"));
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Redis a test uses: the one `REVSPEC_REDIS_URL` names (CI's), or one of its own.
pub enum TestRedis {
    Given(String),
    Own(LocalRedis),
}

impl TestRedis {
    /// `None` (with the reason printed) when Redis tests cannot run here.
    pub fn get() -> Option<Self> {
        if let Some(why) = skip_reason(false) {
            eprintln!("skipped: {why}");
            return None;
        }
        match std::env::var(URL_ENV) {
            Ok(url) => Some(Self::Given(url)),
            Err(_) => LocalRedis::start().map(Self::Own),
        }
    }

    /// The URL (with the database of a given URL, or 0).
    pub fn url(&self) -> String {
        match self {
            Self::Given(url) => url.clone(),
            Self::Own(local) => local.url(0),
        }
    }
}
