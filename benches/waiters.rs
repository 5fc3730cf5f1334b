//! What a waiting blocking query costs the agent, by transport, against the real binary: N
//! queries held on one key as N HTTP/1.1 connections, then (on a fresh agent) as N HTTP/2
//! streams on one h2c connection; the agent's RSS grown per waiter, and the time from one
//! change until every waiter has its answer.
//!
//! `cargo bench --bench waiters` (optionally `WAITERS=N`, default 10,000).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct AgentProc {
    child: Child,
    addr: String,
}

impl AgentProc {
    fn start() -> AgentProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
            .args(["agent", "-dev", "-http-port", "0", "-server-port", "0"])
            // Every waiter comes from 127.0.0.1: without lifting Consul's per-client connection
            // limit (200) the agent would refuse all HTTP/1.1 waiters past the first 200.
            .args(["-http-max-conns-per-client", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start agent");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = loop {
            let line = lines.next().and_then(Result::ok).expect("agent output");
            if let Some(rest) = line.split("HTTP API on ").nth(1) {
                break rest.split(',').next().unwrap_or_default().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        AgentProc { child, addr }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// A plain HTTP/1.1 client for setup and the agent's counters.
fn http1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client")
}

/// Sets the key and returns its index.
async fn prepare(agent: &AgentProc) -> u64 {
    let base = format!("http://{}", agent.addr);
    let client = http1();
    client
        .put(format!("{base}/v1/kv/bench/key"))
        .body("0")
        .send()
        .await
        .expect("put");
    let resp = client
        .get(format!("{base}/v1/kv/bench/key"))
        .send()
        .await
        .expect("get");
    resp.headers()["X-Consul-Index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits until the agent holds `count` blocking queries.
async fn until_held(agent: &AgentProc, count: usize) {
    let client = http1();
    let url = format!("http://{}/v1/agent/self", agent.addr);
    loop {
        let body = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let me: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let held: usize = me["Stats"]["agent"]["blocking_queries"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        if held >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn change(agent: &AgentProc) -> Instant {
    let at = Instant::now();
    http1()
        .put(format!("http://{}/v1/kv/bench/key", agent.addr))
        .body("1")
        .send()
        .await
        .expect("change");
    at
}

/// Reads one HTTP/1.1 response: the head, then exactly Content-Length bytes.
async fn read_response(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed early");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return buf;
        }
    }
}

struct Figures {
    idle_kib: u64,
    held_kib: u64,
    /// The kernel's slab memory grown while the waiters were held (sockets live there), for
    /// both ends: the HTTP/1.1 client's sockets are on this machine too.
    kernel_kib: u64,
    all_answered: Duration,
}

/// The kernel's slab memory (`Slab:` in /proc/meminfo), where sockets are kept.
fn kernel_slab_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Slab:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn over_http1(count: usize) -> Figures {
    let agent = AgentProc::start();
    let index = prepare(&agent).await;
    let idle_kib = agent.rss_kib();
    let kernel_idle = kernel_slab_kib();
    let request = format!(
        "GET /v1/kv/bench/key?index={index}&wait=5m HTTP/1.1\r\nHost: {}\r\n\r\n",
        agent.addr
    );
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (addr, request) = (agent.addr.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            s.write_all(request.as_bytes()).await.expect("send");
            let response = read_response(&mut s).await;
            assert!(response.starts_with(b"HTTP/1.1 200"));
            (Instant::now(), s)
        }));
    }
    until_held(&agent, count).await;
    let held_kib = agent.rss_kib();
    let kernel_kib = kernel_slab_kib().saturating_sub(kernel_idle);
    let changed = change(&agent).await;
    let mut last = changed;
    let mut streams = Vec::with_capacity(count);
    for t in tasks {
        let (at, s) = t.await.expect("waiter");
        last = last.max(at);
        streams.push(s);
    }
    Figures {
        idle_kib,
        held_kib,
        kernel_kib,
        all_answered: last - changed,
    }
}

async fn over_h2(count: usize) -> Figures {
    let agent = AgentProc::start();
    let index = prepare(&agent).await;
    let idle_kib = agent.rss_kib();
    let kernel_idle = kernel_slab_kib();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let url = format!(
        "http://{}/v1/kv/bench/key?index={index}&wait=5m",
        agent.addr
    );
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let resp = client.get(&url).send().await.expect("h2 request");
            assert_eq!(resp.version(), reqwest::Version::HTTP_2);
            assert_eq!(resp.status(), 200);
            let _ = resp.bytes().await.expect("body");
            Instant::now()
        }));
    }
    until_held(&agent, count).await;
    let held_kib = agent.rss_kib();
    let kernel_kib = kernel_slab_kib().saturating_sub(kernel_idle);
    let changed = change(&agent).await;
    let mut last = changed;
    for t in tasks {
        last = last.max(t.await.expect("waiter"));
    }
    Figures {
        idle_kib,
        held_kib,
        kernel_kib,
        all_answered: last - changed,
    }
}

fn print(name: &str, count: usize, f: &Figures) {
    let grown = f.held_kib.saturating_sub(f.idle_kib);
    println!(
        "{name:<28} idle {:>6.1} MiB  holding {count} {:>6.1} MiB  \
         {:>5.0} bytes/waiter (+ kernel slab, both ends: {:>5.0} bytes/waiter)  \
         all answered {:>4} ms after the change",
        f.idle_kib as f64 / 1024.0,
        f.held_kib as f64 / 1024.0,
        grown as f64 * 1024.0 / count as f64,
        f.kernel_kib as f64 * 1024.0 / count as f64,
        f.all_answered.as_millis()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, as a smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let count = std::env::var("WAITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 200 } else { 10_000 });
    raise_open_files_limit();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let h1 = runtime.block_on(over_http1(count));
    print("HTTP/1.1 (a connection each)", count, &h1);
    let h2 = runtime.block_on(over_h2(count));
    print("h2c (one connection)", count, &h2);
}
