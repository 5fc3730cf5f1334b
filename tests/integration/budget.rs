//! The connection budget over HTTP/1.1 (`-consul-transport-max-conns-per-host`): the real
//! binary against a real agent, with more dependencies than the budget has connections. ctmpl
//! must hold no more TCP connections to the agent than the budget, and a change to a
//! dependency that has no blocking query of its own (parked, kept fresh by the catalog-wide
//! sentinels) must still reach the file.
//!
//! ctmpl's own agent speaks HTTP/2, where the budget does not apply; the test puts a stock
//! Consul's manners in front of it: a relay that answers the HTTP/2 preface as Go's HTTP/1.1
//! server does (400) and passes HTTP/1.1 through.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::support::{connections_to, eventually, Agent, Process};

const SERVICES: usize = 40;
const BUDGET: usize = 12;

const TEMPLATE: &str = "{{range services}}{{$name := .Name}}{{range service .Name}}{{$name}} {{.Address}}:{{.Port}}\n{{end}}{{end}}";

fn register(agent: &Agent, i: usize, port: u16) {
    let body = json!({
        "Node": "node-a", "Address": "10.0.0.1",
        "Service": {"ID": format!("s{i}"), "Service": format!("svc-{i:02}"), "Port": port}
    });
    let r = agent.put("/v1/catalog/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A relay to `target` that speaks only HTTP/1.1, as a stock Consul agent does.
struct Http1Relay {
    addr: String,
    stop: Arc<AtomicBool>,
}

impl Http1Relay {
    fn start(target: &str) -> Http1Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (target, stopped) = (target.to_string(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    let target = target.clone();
                    std::thread::spawn(move || relay(conn, &target));
                }
            }
        });
        Http1Relay { addr, stop }
    }
}

impl Drop for Http1Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn relay(mut client: TcpStream, target: &str) {
    let mut first = [0u8; 24];
    if client.peek(&mut first).is_ok_and(|n| n == 24) && first == H2_PREFACE {
        let _ = client.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Connection: close\r\n\r\n400 Bad Request",
        );
        return;
    }
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let back = std::thread::spawn(move || copy(&mut s2, &mut c2));
    copy(&mut client, &mut { server });
    let _ = back.join();
}

fn copy(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[test]
fn more_dependencies_than_connections_stay_fresh_within_the_budget() {
    let agent = Agent::dev();
    for i in 0..SERVICES {
        register(&agent, i, 20000 + i as u16);
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.ctmpl");
    std::fs::write(&src, TEMPLATE).unwrap();
    let dest = dir.path().join("out.conf");
    let spec = format!("{}:{}", src.display(), dest.display());
    let budget = BUDGET.to_string();
    let consul = Http1Relay::start(&agent.addr);
    let ct = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &consul.addr, "-template", &spec])
            .args(["-consul-transport-max-conns-per-host", &budget])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).unwrap_or_default();
    eventually(30, "the first render of every service", || {
        (read().lines().filter(|l| l.starts_with("svc-")).count() == SERVICES).then_some(())
    });
    let port: u16 = consul.addr.rsplit(':').next().unwrap().parse().unwrap();
    let pid = ct.0.id();
    // Every service changes once; most of them have no blocking query of their own.
    for i in 0..SERVICES {
        register(&agent, i, 30000 + i as u16);
        eventually(20, &format!("the change of svc-{i:02} in the file"), || {
            read()
                .lines()
                .any(|l| {
                    l.starts_with(&format!("svc-{i:02} "))
                        && l.ends_with(&format!(":{}", 30000 + i))
                })
                .then_some(())
        });
        let held = connections_to(pid, port);
        assert!(
            held <= BUDGET,
            "ctmpl holds {held} connections to the agent, over its budget of {BUDGET}"
        );
    }
    let held = connections_to(pid, port);
    assert!(held > 0 && held <= BUDGET, "{held} connections");
}
