//! A 3-server Raft cluster of real `ctmpl agent -server` processes on loopback (fsync on, the
//! default), against a 3-member etcd cluster on loopback, measured the same way in the same run:
//! - register latency, one client, sequential writes to the leader: p50 / p99;
//! - writes/s with 64 concurrent keep-alive clients writing to the leader.
//!
//! ctmpl writes are `PUT /v1/catalog/register`; etcd writes are single-key puts through its
//! HTTP/JSON gateway (`POST /v3/kv/put`, base64 key and value; the value is the same JSON body).
//! etcd is installed with `apt-get install -y etcd-server` when missing; when it cannot be, its
//! rows are skipped with a note.
//!
//! `cargo bench --bench cluster` (optionally `REGISTERS=N` for the latency run, `WRITES=N` for
//! the 64-client run, `CLIENTS=N`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A child process, stopped (SIGTERM, then SIGKILL after 5 s) when dropped, panics included.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `ctmpl agent -server`: its HTTP API and server RPC addresses.
struct Agent {
    _proc: Proc,
    http: String,
    rpc: String,
}

impl Agent {
    fn start(data: &Path, name: &str, join: Option<&str>) -> Agent {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctmpl"));
        cmd.arg("agent").args([
            "-server",
            "-bootstrap-expect=3",
            "-bind",
            "127.0.0.1",
            "-data-dir",
            data.to_str().expect("utf-8 path"),
            "-http-port",
            "0",
            "-server-port",
            "0",
            "-node",
            name,
        ]);
        if let Some(addr) = join {
            cmd.args(["-retry-join", addr]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ctmpl agent");
        let stderr = child.stderr.take().expect("stderr");
        let proc = Proc { child };
        let mut lines = BufReader::new(stderr).lines();
        let (http, rpc) = loop {
            let line = lines
                .next()
                .and_then(Result::ok)
                .expect("agent exited before listening");
            if let Some(rest) = line.split("HTTP API on ").nth(1) {
                let rpc = line.split("server RPC on ").nth(1).unwrap_or_default();
                break (
                    rest.split(',')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    rpc.trim().to_string(),
                );
            }
        };
        // Keep draining stderr so the agent never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        assert!(
            !rpc.is_empty(),
            "agent {name} printed no server RPC address"
        );
        Agent {
            _proc: proc,
            http,
            rpc,
        }
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The register body for service `i` of node `node`.
fn register_body(node: &str, i: usize) -> String {
    format!(
        r#"{{"Node":"{node}","Address":"10.0.0.1","Service":{{"Service":"svc-{i}","Port":{i}}}}}"#
    )
}

/// How one system takes one write: a URL and a body for write `i` of client `node`.
trait Target: Send + Sync + 'static {
    fn url(&self) -> &str;
    fn body(&self, node: &str, i: usize) -> String;
}

struct Ctmpl {
    url: String,
}

impl Target for Ctmpl {
    fn url(&self) -> &str {
        &self.url
    }
    fn body(&self, node: &str, i: usize) -> String {
        register_body(node, i)
    }
}

struct Etcd {
    url: String,
}

impl Target for Etcd {
    fn url(&self) -> &str {
        &self.url
    }
    fn body(&self, node: &str, i: usize) -> String {
        let key = format!("bench/{node}/svc-{i}");
        format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            base64(key.as_bytes()),
            base64(register_body(node, i).as_bytes())
        )
    }
}

async fn write(client: &reqwest::Client, target: &dyn Target, node: &str, i: usize) {
    // ctmpl takes PUT, etcd's gateway POST; each answers 200 on success.
    let builder = if target.url().contains("/v1/") {
        client.put(target.url())
    } else {
        client.post(target.url())
    };
    let r = builder
        .header("Content-Type", "application/json")
        .body(target.body(node, i))
        .send()
        .await
        .unwrap_or_else(|e| panic!("write to {}: {e}", target.url()));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{}: {status} {text}", target.url());
}

struct Result3 {
    p50: Duration,
    p99: Duration,
    writes_per_s: f64,
}

async fn measure(
    target: Arc<dyn Target>,
    registers: usize,
    writes: usize,
    clients: usize,
) -> Result3 {
    // One client, sequential, one keep-alive connection; a short warm-up first.
    let client = reqwest::Client::new();
    for i in 0..20 {
        write(&client, &*target, "warmup", i).await;
    }
    let mut lat = Vec::with_capacity(registers);
    for i in 0..registers {
        let t = Instant::now();
        write(&client, &*target, "bench", i).await;
        lat.push(t.elapsed());
    }
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let (p50, p99) = (pick(0.50), pick(0.99));

    // `clients` concurrent clients, each on its own keep-alive connection.
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let n = writes / clients + usize::from(c < writes % clients);
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let node = format!("bench-{c}");
            for i in 0..n {
                write(&client, &*target, &node, i).await;
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let writes_per_s = writes as f64 / start.elapsed().as_secs_f64();
    Result3 {
        p50,
        p99,
        writes_per_s,
    }
}

async fn get_text(client: &reqwest::Client, url: &str) -> Option<String> {
    let r = client.get(url).send().await.ok()?;
    r.text().await.ok()
}

/// Polls `f` every 50 ms until it returns `Some`, panicking after `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bench_ctmpl(registers: usize, writes: usize, clients: usize) -> Result3 {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Agent::start(&dir.path().join("s1"), "s1", None);
    let b = Agent::start(&dir.path().join("s2"), "s2", Some(&a.rpc));
    let c = Agent::start(&dir.path().join("s3"), "s3", Some(&a.rpc));
    let agents = [&a, &b, &c];
    let client = reqwest::Client::new();
    let started = Instant::now();
    let leader = eventually(60, "a ctmpl leader seen by all three servers", || {
        let client = client.clone();
        let agents: Vec<(String, String)> = agents
            .iter()
            .map(|a| (a.http.clone(), a.rpc.clone()))
            .collect();
        async move {
            let mut seen = Vec::new();
            for (http, _) in &agents {
                let l = get_text(&client, &format!("http://{http}/v1/status/leader")).await?;
                let l: String = serde_json::from_str(&l).ok()?;
                if l.is_empty() {
                    return None;
                }
                seen.push(l);
            }
            if seen.iter().any(|l| *l != seen[0]) {
                return None;
            }
            agents
                .iter()
                .find(|(_, rpc)| *rpc == seen[0])
                .map(|(h, _)| h.clone())
        }
    })
    .await;
    println!(
        "ctmpl: 3 servers up, leader HTTP {leader} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let target = Arc::new(Ctmpl {
        url: format!("http://{leader}/v1/catalog/register"),
    });
    let r = measure(target, registers, writes, clients).await;
    drop((a, b, c));
    drop(dir);
    r
}

fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file())
}

/// Finds `etcd`, installing Debian's `etcd-server` when it is missing.
fn find_or_install_etcd() -> Option<PathBuf> {
    if let Some(p) = etcd_binary() {
        return Some(p);
    }
    println!("etcd: not installed; running `apt-get update && apt-get install -y etcd-server`");
    let ok = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let installed = ok(Command::new("apt-get").arg("update"))
        && ok(Command::new("apt-get").args(["install", "-y", "etcd-server"]));
    if !installed {
        println!("etcd: could not be installed (apt-get failed); skipping etcd");
        return None;
    }
    let p = etcd_binary();
    if p.is_none() {
        println!("etcd: installed etcd-server but found no `etcd` binary; skipping etcd");
    }
    p
}

/// One etcd member on loopback; its client URL.
struct Member {
    _proc: Proc,
    client: String,
}

async fn bench_etcd(
    etcd: &Path,
    registers: usize,
    writes: usize,
    clients: usize,
) -> (String, Result3) {
    let version = Command::new(etcd)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("etcd Version:"))
        .unwrap_or("?")
        .trim()
        .to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let cluster: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
        .collect();
    let cluster = cluster.join(",");
    let members: Vec<Member> = ports
        .iter()
        .enumerate()
        .map(|(i, (client, peer))| {
            let client = format!("http://127.0.0.1:{client}");
            let peer = format!("http://127.0.0.1:{peer}");
            let data = dir.path().join(format!("m{i}"));
            let child = Command::new(etcd)
                .args(["--name", &format!("m{i}")])
                .args(["--data-dir", data.to_str().expect("utf-8 path")])
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .args(["--listen-peer-urls", &peer])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--initial-cluster", &cluster])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "ctmpl-bench"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start etcd");
            Member {
                _proc: Proc { child },
                client,
            }
        })
        .collect();
    let http = reqwest::Client::new();
    let started = Instant::now();
    // Each member's status names itself and the leader; measure against the leader.
    let leader = eventually(60, "an etcd leader seen by all three members", || {
        let http = http.clone();
        let urls: Vec<String> = members.iter().map(|m| m.client.clone()).collect();
        async move {
            let mut leader = None;
            let mut agreed = Vec::new();
            for url in &urls {
                let r = http
                    .post(format!("{url}/v3/maintenance/status"))
                    .body("{}")
                    .send()
                    .await
                    .ok()?;
                let v: serde_json::Value = serde_json::from_str(&r.text().await.ok()?).ok()?;
                let l = v["leader"].as_str()?.to_string();
                if l == "0" {
                    return None;
                }
                if v["header"]["member_id"].as_str() == Some(l.as_str()) {
                    leader = Some(url.clone());
                }
                agreed.push(l);
            }
            if agreed.iter().any(|l| *l != agreed[0]) {
                return None;
            }
            leader
        }
    })
    .await;
    // The gateway path: /v3/ since 3.4, /v3beta/ in 3.3, /v3alpha/ before.
    let mut put = None;
    for prefix in ["v3", "v3beta", "v3alpha"] {
        let url = format!("{leader}/{prefix}/kv/put");
        let body = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            base64(b"probe"),
            base64(b"1")
        );
        let ok = http
            .post(&url)
            .body(body)
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if ok {
            put = Some(url);
            break;
        }
    }
    let url = put.expect("no etcd gateway path answered a put (/v3/, /v3beta/, /v3alpha/)");
    println!(
        "etcd {version}: 3 members up, leader {leader}, puts via {url} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let r = measure(Arc::new(Etcd { url }), registers, writes, clients).await;
    drop(members);
    drop(dir);
    (version, r)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo test --benches` / `--list`: nothing to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    raise_open_files_limit();
    let registers = env_usize("REGISTERS", 1_000).max(1);
    let writes = env_usize("WRITES", 5_000).max(1);
    let clients = env_usize("CLIENTS", 64).clamp(1, writes);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    let r = runtime.block_on(bench_ctmpl(registers, writes, clients));
    rows.push(("ctmpl (3 servers)".to_string(), r));
    match find_or_install_etcd() {
        Some(etcd) => {
            let (version, r) = runtime.block_on(bench_etcd(&etcd, registers, writes, clients));
            rows.push((format!("etcd {version} (3 members)"), r));
        }
        None => println!("etcd: skipped (not available)"),
    }
    println!();
    println!(
        "3-node cluster on loopback, fsync on; latency: 1 client, {registers} sequential writes; \
         throughput: {clients} clients, {writes} writes"
    );
    println!(
        "{:<26} | {:>10} | {:>10} | {:>22}",
        "system",
        "p50",
        "p99",
        format!("writes/s ({clients} clients)")
    );
    println!("{:-<26}-+-{:-<10}-+-{:-<10}-+-{:-<22}", "", "", "", "");
    for (name, r) in &rows {
        println!(
            "{:<26} | {:>10} | {:>10} | {:>22.0}",
            name,
            ms(r.p50),
            ms(r.p99),
            r.writes_per_s
        );
    }
}
