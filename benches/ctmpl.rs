//! ctmpl against the real agent with 1,000 services × 3 instances and the seed's template:
//! time from start to the first complete render, the HTTP connections ctmpl holds open
//! (one blocking query per dependency), and ctmpl's RSS.
//!
//! Then change-to-file latency: from the agent's answer to a write to the destination renamed
//! in place (seen with inotify), p50 and p99 over `CHANGES` changes (default 1,000), quiescence
//! off, the changes spaced past the view's 100 ms minimum spacing between fetches.
//!
//! `cargo bench --bench ctmpl` (optionally `SERVICES=N`, `CHANGES=N`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start_agent() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
        .args(["agent", "-dev", "-http-port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("agent");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().and_then(Result::ok).expect("agent output");
        if let Some(rest) = line.split("HTTP API on ").nth(1) {
            break rest.split(',').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn put(addr: &str, path: &str, body: &str) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// TCP connections of a process: its socket descriptors.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let services: usize = std::env::var("SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (mut agent, addr) = start_agent();
    let started = Instant::now();
    for node in 0..3 {
        for i in 0..services {
            let body = format!(
                r#"{{"Node": "node-{node}", "Address": "10.0.{node}.1", "Service": {{"Service": "svc-{i:04}", "ID": "svc-{i:04}-{node}", "Port": {}}}}}"#,
                20000 + i
            );
            put(&addr, "/v1/catalog/register", &body);
        }
    }
    println!(
        "registered {services} services x 3 instances in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/nginx.conf.ctmpl");
    let start = Instant::now();
    let mut ctmpl = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
        .args([
            "-consul-addr",
            &addr,
            "-template",
            &format!("{template}:default.conf"),
            "-dry",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ctmpl");
    let mut out = BufReader::new(ctmpl.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let mut lines = 0;
    // The render is complete when the server block's closing brace arrives.
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines += 1;
        if line == "}\n" && lines > services * 4 {
            break;
        }
    }
    let first_render = start.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let pid = ctmpl.id();
    println!(
        "first complete render: {:.0} ms ({lines} lines); ctmpl holds {} sockets (one blocking query per dependency); RSS {:.1} MiB",
        first_render.as_secs_f64() * 1e3,
        sockets(pid),
        proc_status(pid, "VmRSS:") as f64 / 1024.0
    );
    let once = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
        .args([
            "-consul-addr",
            &addr,
            "-template",
            &format!("{template}:default.conf"),
            "-once",
            "-dry",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    println!(
        "-once -dry from start to exit: {:.0} ms",
        once.elapsed().as_secs_f64() * 1e3
    );
    latency(&addr);
    for child in [&mut ctmpl, &mut agent] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn latency(addr: &str) {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let changes: usize = std::env::var("CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.ctmpl");
    std::fs::write(&src, "value={{key \"bench/value\"}}\n").unwrap();
    let dest = dir.path().join("out.conf");
    put(addr, "/v1/kv/bench/value", "start");
    let mut ctmpl = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
        .args([
            "-consul-addr",
            addr,
            "-template",
            &format!("{}:{}", src.display(), dest.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while std::fs::read_to_string(&dest).ok().as_deref() != Some("value=start\n") {
        std::thread::sleep(Duration::from_millis(10));
    }
    let inotify = Inotify::init(InitFlags::empty()).unwrap();
    inotify
        .add_watch(dir.path(), AddWatchFlags::IN_MOVED_TO)
        .unwrap();
    let mut took = Vec::with_capacity(changes);
    for i in 0..changes {
        std::thread::sleep(Duration::from_millis(120));
        put(addr, "/v1/kv/bench/value", &i.to_string());
        let answered = Instant::now();
        loop {
            let events = inotify.read_events().unwrap();
            if events
                .iter()
                .any(|e| e.name.as_deref() == Some(std::ffi::OsStr::new("out.conf")))
            {
                break;
            }
        }
        took.push(answered.elapsed());
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            format!("value={i}\n")
        );
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "change to file: {changes} changes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(took[changes / 2]),
        ms(took[changes * 99 / 100]),
        ms(took[changes - 1])
    );
    let _ = ctmpl.kill();
    let _ = ctmpl.wait();
}
