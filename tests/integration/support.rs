//! Test support: a real `ctmpl agent` process on port 0, a minimal HTTP/1.1 client, and small
//! local backends whose answers a test can change.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::ctmpl;

/// A running agent; stopped (SIGTERM, then kill) when dropped.
pub struct Agent {
    child: Child,
    pub addr: String,
    /// The server (Raft RPC) address.
    pub rpc: String,
    /// Everything it wrote to stderr so far (banner and log), line by line.
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Agent {
    pub fn dev() -> Agent {
        Agent::start(&["-dev", "-http-port", "0"])
    }

    /// Starts `ctmpl agent ARGS`, on a free server port unless ARGS name one.
    pub fn start(args: &[&str]) -> Agent {
        Agent::start_with_env(args, &[])
    }

    /// `start`, with these environment variables set for the agent.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut cmd = ctmpl();
        cmd.arg("agent").args(args);
        cmd.envs(env.iter().copied());
        if !args.iter().any(|a| a.contains("server-port")) {
            cmd.args(["-server-port", "0"]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ctmpl agent");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let (addr, rpc) = loop {
            let line = lines.next().and_then(Result::ok).unwrap_or_else(|| {
                let status = child.wait();
                panic!(
                    "agent {args:?} exited before listening: {status:?}\n{}",
                    seen.join("\n")
                )
            });
            seen.push(line.clone());
            if let Some(rest) = line.split("HTTP API on ").nth(1) {
                let rpc = line.split("server RPC on ").nth(1).unwrap_or_default();
                break (
                    rest.split(',').next().unwrap_or_default().to_string(),
                    rpc.trim().to_string(),
                );
            }
        };
        // Keep draining stderr (so the agent never blocks on a full pipe), keeping the lines.
        let log = Arc::new(std::sync::Mutex::new(seen));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        Agent {
            child,
            addr,
            rpc,
            log,
        }
    }

    /// The agent's stderr lines so far that contain `text`.
    pub fn log_lines(&self, text: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| l.contains(text)).cloned().collect()
    }

    /// Waits up to `secs` for a stderr line containing `text`; returns it.
    pub fn wait_log(&self, secs: u64, text: &str) -> String {
        eventually(secs, &format!("a log line with {text:?}"), || {
            self.log_lines(text).pop()
        })
    }

    /// Sends it a signal (`HUP`, `TERM`…), as `kill -SIG PID` does.
    pub fn send_signal(&self, sig: &str) {
        signal(&self.child, sig);
    }

    /// Its whole stderr so far, for a failure message.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn get(&self, path: &str) -> Response {
        request(&self.addr, "GET", path, b"")
    }

    pub fn put(&self, path: &str, body: &str) -> Response {
        request(&self.addr, "PUT", path, body.as_bytes())
    }

    pub fn delete(&self, path: &str) -> Response {
        request(&self.addr, "DELETE", path, b"")
    }

    /// Sends SIGTERM and waits for the process; returns how long it took to exit.
    pub fn stop(mut self) -> (Duration, std::process::ExitStatus) {
        let start = Instant::now();
        terminate(&self.child);
        let status = self.child.wait().expect("wait for agent");
        (start.elapsed(), status)
    }

    /// Like `stop`, returning its stderr up to its exit instead of the time it took.
    pub fn stop_with_log(mut self) -> (std::process::ExitStatus, String) {
        terminate(&self.child);
        let status = self.child.wait().expect("wait for agent");
        // The reader thread takes the last lines a moment after the exit (end of the pipe).
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.log) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status, self.log_text())
    }
}

impl Agent {
    /// Sends a signal (`HUP`…) to the agent process.
    pub fn signal(&self, sig: &str) {
        signal(&self.child, sig);
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process outright (SIGKILL): no goodbye to the cluster.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free right now, for an agent that must come back on the same one. It is taken below
/// Linux's ephemeral range (32768 and up), where the `:0` binds of tests running in parallel
/// never land, so nobody else takes it between a stop and a restart.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = 20_000 + (std::process::id() % 5_000) as u16;
    loop {
        let port = start + NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn terminate(child: &Child) {
    signal(child, "TERM");
}

/// Sends a signal (`TERM`, `QUIT`, `HUP`…) through the kill command, as a user would.
pub fn signal(child: &Child, sig: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status();
}

/// Sends `sig` and waits up to `secs` for the process to exit; SIGKILL after that. The exit
/// status, and whether the process went by itself (false: it had to be killed).
pub fn stop_child(child: &mut Child, sig: &str, secs: u64) -> (std::process::ExitStatus, bool) {
    if let Ok(Some(status)) = child.try_wait() {
        return (status, true);
    }
    signal(child, sig);
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return (status, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    (child.wait().expect("wait for a killed child"), false)
}

/// A child process stopped as a user would when dropped, also when a test fails: SIGTERM (so
/// that ctmpl stops the commands it started), SIGKILL only after 5 s.
pub struct Process(pub Child);

impl Process {
    pub fn spawn(cmd: &mut std::process::Command) -> Process {
        Process(cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}")))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        stop_child(&mut self.0, "TERM", 5);
    }
}

/// A directory for the tests' own tools (virtualenvs), under the cargo target directory that
/// built them (`CARGO_TARGET_DIR`, or the workspace's `target/`), never the source tree.
pub fn target_tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// A Python virtualenv with `packages` (pinned `name==version`), made once under the target
/// directory; a stamp file names the packages, so a half-made or outdated venv is made again.
/// Returns its python.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    // Tests run in parallel: the first to need a venv makes it while the others wait, instead
    // of each clearing and filling the same folder under the others' feet.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = target_tmp(name);
    let python = venv.join("bin/python");
    let stamp = venv.join(format!(".installed-{}", packages.join("+")));
    if stamp.exists() {
        return python;
    }
    run(std::process::Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    run(std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check"])
        .args(packages));
    std::fs::write(&stamp, "").expect("write the venv stamp");
    python
}

/// Runs a command to completion; fails the test with its output unless it succeeds.
pub fn run(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Drop for Agent {
    fn drop(&mut self) {
        stop_child(&mut self.child, "TERM", 5);
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn index(&self) -> u64 {
        self.header("X-Consul-Index")
            .and_then(|v| v.parse().ok())
            .expect("X-Consul-Index")
    }

    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> Response {
    exchange(addr, method, path, body).unwrap_or_else(|e| panic!("{method} {addr}{path}: {e}"))
}

/// `request` for a server that may not be up yet: `None` when the connection fails or is reset
/// (Docker's port proxy accepts, then resets while the container's server is still starting).
pub fn try_request(addr: &str, method: &str, path: &str, body: &[u8]) -> Option<Response> {
    exchange(addr, method, path, body).ok()
}

/// `try_request` that gives up after `timeout` (a paused server accepts, then never answers).
pub fn request_within(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Option<Response> {
    let sock: std::net::SocketAddr = addr.parse().ok()?;
    let s = TcpStream::connect_timeout(&sock, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    exchange_on(s, addr, method, path, body).ok()
}

fn exchange(addr: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<Response> {
    exchange_on(TcpStream::connect(addr)?, addr, method, path, body)
}

fn exchange_on(
    mut s: TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<Response> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(std::io::Error::other("closed before a whole response head"));
    }
    Ok(parse_response(&raw))
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + size]);
        b = &b[end + 2 + size + 2..];
    }
}

/// Polls `f` until it returns `Some`, failing the test after `secs` seconds.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A local HTTP backend answering every request with a status the test can change.
pub struct Backend {
    pub addr: String,
    status: Arc<AtomicU16>,
}

impl Backend {
    pub fn start(status: u16) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let addr = listener.local_addr().expect("addr").to_string();
        let status = Arc::new(AtomicU16::new(status));
        let shared = status.clone();
        let me = addr.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let code = shared.load(Ordering::SeqCst);
                if code == 0 {
                    // 0 means "down": drop connections without answering.
                    continue;
                }
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let body = format!("backend says {code} from {me}");
                let reply = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Backend { addr, status }
    }

    pub fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }
}

/// TCP connections `pid` has open to `port` on loopback (ESTABLISHED), read from /proc: the
/// process's socket inodes matched against the kernel's TCP tables.
pub fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|link| {
                    let text = link.to_string_lossy().into_owned();
                    let inode = text.strip_prefix("socket:[")?.strip_suffix(']')?;
                    Some(inode.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut count = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(state), Some(inode)) =
                (fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let remote_port = remote
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if *state == "01" && remote_port == Some(port) && inodes.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}
