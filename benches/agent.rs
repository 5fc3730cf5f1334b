//! The agent under load, against the real binary:
//! - 10,000 concurrent blocking queries on one key: the agent's RSS while it holds them, and the
//!   time from one change until every waiter has its answer;
//! - register throughput (catalog writes/s, fsync on, `-data-dir`) with 1 and 64 clients.
//!
//! `cargo bench --bench agent` (optionally `WAITERS=N`, `WRITES=N`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::{BufRead, BufReader};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct AgentProc {
    child: Child,
    addr: String,
}

impl AgentProc {
    fn start(args: &[&str]) -> AgentProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
            .arg("agent")
            .args(args)
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

    /// CPU time (user + system) the agent has used so far.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let ticks: u64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0);
        // /proc counts in USER_HZ, 100 a second on Linux.
        Duration::from_millis(ticks * 10)
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Reads one HTTP response: the head, then exactly Content-Length bytes.
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

async fn waiters(count: usize) {
    // Every waiter comes from 127.0.0.1: lift Consul's per-client connection limit (200), which
    // would refuse all but the first 200 and leave the bench waiting for the rest.
    let agent = AgentProc::start(&["-dev", "-http-port", "0", "-http-max-conns-per-client", "0"]);
    let base = format!("http://{}", agent.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(count)
        .build()
        .expect("client");
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
    let index: u64 = resp.headers()["X-Consul-Index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let rss_idle = agent.rss_kib();

    // Raw keep-alive sockets, as real clients hold them: the client should cost as little as
    // possible, it shares the machine with the agent.
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
            let at = Instant::now();
            assert!(response.starts_with(b"HTTP/1.1 200"));
            (at, s)
        }));
    }
    // Wait until the agent holds them all.
    let self_url = format!("{base}/v1/agent/self");
    loop {
        let body = client
            .get(&self_url)
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
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_held = agent.rss_kib();
    let cpu_before = agent.cpu();
    let changed = Instant::now();
    client
        .put(format!("{base}/v1/kv/bench/key"))
        .body("1")
        .send()
        .await
        .expect("change");
    let mut answered = Vec::with_capacity(count);
    // Connections stay open until every waiter has its answer: closing them would add the
    // agent's teardown work to what is measured (real clients keep them for the next query).
    let mut streams = Vec::with_capacity(count);
    for t in tasks {
        let (at, stream) = t.await.expect("waiter");
        answered.push(at - changed);
        streams.push(stream);
    }
    let cpu_used = agent.cpu() - cpu_before;
    drop(streams);
    answered.sort();
    let fanout = answered[count - 1];
    println!(
        "  first answer {:.1} ms, median {:.1} ms, 99th percentile {:.1} ms",
        answered[0].as_secs_f64() * 1e3,
        answered[count / 2].as_secs_f64() * 1e3,
        answered[count * 99 / 100].as_secs_f64() * 1e3
    );
    println!(
        "  agent CPU while answering: {:.0} ms ({:.1} us per answer)",
        cpu_used.as_secs_f64() * 1e3,
        cpu_used.as_secs_f64() * 1e6 / count as f64
    );
    println!(
        "blocking queries: {count} held; agent RSS {:.1} MiB idle, {:.1} MiB holding them; \
         all answered {:.1} ms after one change",
        rss_idle as f64 / 1024.0,
        rss_held as f64 / 1024.0,
        fanout.as_secs_f64() * 1e3
    );
}

async fn register_throughput(clients: usize, writes: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // `-bind`: a host with several private addresses (a Docker bridge) makes the agent refuse
    // to guess which to advertise, as Consul does; `-server-port 0` keeps clear of 8300.
    let agent = AgentProc::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-server-port",
        "0",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
    ]);
    let base = Arc::new(format!("http://{}", agent.addr));
    let client = reqwest::Client::new();
    let start = Instant::now();
    let per_client = writes / clients;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let body = format!(
                    r#"{{"Node": "bench-{c}", "Address": "10.0.0.{}", "Service": {{"Service": "svc-{i}", "Port": {i}}}}}"#,
                    c % 250 + 1
                );
                let r = client.put(format!("{base}/v1/catalog/register")).body(body).send().await.expect("register");
                assert!(r.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let elapsed = start.elapsed();
    let total = per_client * clients;
    println!(
        "register throughput (fsync on): {clients:>2} client(s): {total} writes in {:.2} s = {:.0} writes/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes filter arguments; `cargo test --benches` passes `--bench`-less runs.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        waiters(env_usize("WAITERS", 10_000)).await;
        let writes = env_usize("WRITES", 20_000);
        register_throughput(1, writes / 4).await;
        register_throughput(64, writes).await;
    });
}
