//! What a waiting blocking query costs ctmpl's Consul client, against the real agent: N
//! blocking GETs on one key held at once over one h2c connection, each in its own task as a
//! view's query is, through `consul::client::Client` (its `h2client`) and, for comparison,
//! through reqwest set up as the client was before it (HTTP/2 with prior knowledge, the same
//! keep-alive and timeout). Each runs in a fresh child process (this binary again), so one
//! does not inherit the other's freed memory; the figure is the child's RSS grown per waiter.
//!
//! `cargo bench --bench client_waiters` (optionally `WAITERS=N`, default 10,000).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ctmpl::consul::client::{Blocking, Client, ClientConfig};

/// The allocator ctmpl's binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEY: &str = "/v1/kv/bench/key";

struct AgentProc {
    child: Child,
    addr: String,
}

impl AgentProc {
    fn start() -> AgentProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
            .args(["agent", "-dev", "-http-port", "0", "-server-port", "0"])
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
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Blocking queries the agent holds now (`/v1/agent/self`'s count).
async fn held(client: &Client) -> usize {
    let r = client
        .get("/v1/agent/self", &[], None, false)
        .await
        .expect("agent/self");
    let me: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    me["Stats"]["agent"]["blocking_queries"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// One of the two clients, holding `n` blocking queries.
enum Under {
    Ours(std::sync::Arc<Client>),
    Reqwest(reqwest::Client, String),
}

impl Under {
    fn spawn_waiter(&self, index: u64) {
        let wait = Duration::from_secs(120);
        match self {
            Under::Ours(client) => {
                let client = client.clone();
                tokio::spawn(async move {
                    let blocking = Some(Blocking { index, wait });
                    let _ = client.get(KEY, &[], blocking, false).await;
                });
            }
            Under::Reqwest(http, base) => {
                let request = http
                    .get(format!("{base}{KEY}?index={index}&wait=120000ms"))
                    .timeout(wait + Duration::from_secs(30));
                tokio::spawn(async move {
                    if let Ok(resp) = request.send().await {
                        let _ = resp.bytes().await;
                    }
                });
            }
        }
    }
}

/// The child: `mode` holding `n` waiters; prints the RSS grown per waiter.
fn child(mode: &str, addr: &str, n: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = ClientConfig {
            address: addr.to_string(),
            max_conns_per_host: 0,
            ..ClientConfig::from_env()
        };
        let ours = std::sync::Arc::new(Client::new(&config).expect("client"));
        let (status, _) = ours.put(KEY, b"0".to_vec()).await.expect("set the key");
        assert_eq!(status, 200);
        let index = ours
            .get(KEY, &[], None, false)
            .await
            .expect("key")
            .meta
            .index;
        let under = match mode {
            "h2client" => Under::Ours(ours.clone()),
            _ => {
                let http = reqwest::Client::builder()
                    .pool_idle_timeout(Duration::from_secs(90))
                    .http2_keep_alive_interval(Duration::from_secs(30))
                    .http2_keep_alive_timeout(Duration::from_secs(20))
                    .http2_prior_knowledge()
                    .build()
                    .expect("reqwest");
                // The connection made before the baseline, as ours is.
                let _ = http.get(format!("http://{addr}{KEY}")).send().await;
                Under::Reqwest(http, format!("http://{addr}"))
            }
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss_kib();
        for _ in 0..n {
            under.spawn_waiter(index);
        }
        while held(&ours).await < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let grown = rss_kib().saturating_sub(before);
        println!(
            "{mode:>8}: {n} waiting blocking queries, RSS +{} KiB: {} bytes per query",
            grown,
            grown * 1024 / n as u64
        );
    });
    // The waiters are not waited for.
    std::process::exit(0);
}

fn main() {
    let n: usize = std::env::var("WAITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    if let Ok(mode) = std::env::var("CLIENT_WAITERS_MODE") {
        let addr = std::env::var("CLIENT_WAITERS_ADDR").expect("address");
        return child(&mode, &addr, n);
    }
    for mode in ["h2client", "reqwest"] {
        // A fresh agent each time: its own memory is not what is measured, but a fresh one
        // answers both alike.
        let agent = AgentProc::start();
        let out = Command::new(std::env::current_exe().expect("self"))
            .env("CLIENT_WAITERS_MODE", mode)
            .env("CLIENT_WAITERS_ADDR", &agent.addr)
            .env("WAITERS", n.to_string())
            .stderr(Stdio::inherit())
            .output()
            .expect("child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
