//! The connection budget over HTTP/1.1 (`-consul-transport-max-conns-per-host`): the real
//! binary against a real agent, with more dependencies than the budget has connections. ctmpl
//! must hold no more TCP connections to the agent than the budget, and a change to a
//! dependency that has no blocking query of its own (parked, kept fresh by the catalog-wide
//! sentinels) must still reach the file.
//!
//! A change wakes only the parked views whose service or node moved: the relay counts the
//! requests ctmpl sends, and a change of one instance, check or node costs requests in
//! proportion to what it moved and to the nodes, not to the services watched.
//!
//! ctmpl's own agent speaks HTTP/2, where the budget does not apply; the test puts a stock
//! Consul's manners in front of it: a relay that answers the HTTP/2 preface as Go's HTTP/1.1
//! server does (400) and passes HTTP/1.1 through.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    requests: Arc<Requests>,
}

/// The requests that went through the relay, by the start of their path.
#[derive(Default)]
struct Requests {
    /// `GET /v1/health/service/…`: the `service` views' fetches.
    health: AtomicUsize,
    /// `GET /v1/catalog/node/…`: the node listings the sentinels read.
    listings: AtomicUsize,
}

impl Requests {
    fn now(&self) -> (usize, usize) {
        (
            self.health.load(Ordering::SeqCst),
            self.listings.load(Ordering::SeqCst),
        )
    }

    /// Counts the request lines in one chunk of a client's bytes; `carry` holds the end of
    /// the previous chunk, so that a line split between two reads is counted once.
    fn count(&self, carry: &mut Vec<u8>, chunk: &[u8]) {
        let before = carry.len();
        carry.extend_from_slice(chunk);
        for (needle, counter) in [
            (&b"GET /v1/health/service/"[..], &self.health),
            (&b"GET /v1/catalog/node/"[..], &self.listings),
        ] {
            let found = carry
                .windows(needle.len())
                .enumerate()
                .filter(|(at, w)| *w == needle && at + needle.len() > before)
                .count();
            counter.fetch_add(found, Ordering::SeqCst);
        }
        let keep = carry.len().saturating_sub(32);
        carry.drain(..keep);
    }
}

impl Http1Relay {
    fn start(target: &str) -> Http1Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Requests::default());
        let (target, stopped, counted) = (target.to_string(), stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    let (target, counted) = (target.clone(), counted.clone());
                    std::thread::spawn(move || relay(conn, &target, &counted));
                }
            }
        });
        Http1Relay {
            addr,
            stop,
            requests,
        }
    }
}

impl Drop for Http1Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn relay(mut client: TcpStream, target: &str, requests: &Requests) {
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
    let back = std::thread::spawn(move || copy(&mut s2, &mut c2, None));
    copy(&mut client, &mut { server }, Some(requests));
    let _ = back.join();
}

fn copy(from: &mut TcpStream, to: &mut TcpStream, requests: Option<&Requests>) {
    let mut buf = [0u8; 16 * 1024];
    let mut carry = Vec::new();
    while let Ok(n) = from.read(&mut buf) {
        if let Some(r) = requests {
            r.count(&mut carry, &buf[..n]);
        }
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

const NODES: [(&str, &str); 3] = [
    ("node-a", "10.0.0.1"),
    ("node-b", "10.0.1.1"),
    ("node-c", "10.0.2.1"),
];
/// Services watched, one instance each, spread over `NODES` (20 a node).
const MANY: usize = 60;

/// `svc-NN` on node `i % 3`; its line in the file is `svc-NN NODE_ADDRESS:PORT`.
fn register_on_nodes(agent: &Agent, i: usize, port: u16) {
    let (node, address) = NODES[i % NODES.len()];
    let body = json!({
        "Node": node, "Address": address,
        "Service": {"ID": format!("s{i}"), "Service": format!("svc-{i:02}"), "Port": port}
    });
    let r = agent.put("/v1/catalog/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

fn set_check(agent: &Agent, node: usize, check: serde_json::Value) {
    let (node, address) = NODES[node];
    let body = json!({"Node": node, "Address": address, "Check": check});
    let r = agent.put("/v1/catalog/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

/// One line of the file: `(service index, address, port)`.
type Line = (usize, String, u16);

/// What the file should hold, in name order.
fn expected(lines: &[Line]) -> String {
    let mut out: Vec<String> = lines
        .iter()
        .map(|(i, addr, port)| format!("svc-{i:02} {addr}:{port}"))
        .collect();
    out.sort();
    out.join("\n")
}

/// The file's `svc-` lines (the agent's own `consul` service left out).
fn services_in(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().filter(|l| l.starts_with("svc-")).collect();
    lines.sort();
    lines.join("\n")
}

/// Each change (an instance, a service check, a node check, a node) reaches the file, and costs
/// `service` fetches for what it moved, not one for every parked view; the node listings stay
/// a handful per change; ctmpl holds no more connections than its budget, under an agent that
/// refuses a client's connections past a few more than that.
#[test]
fn a_change_wakes_only_the_parked_views_it_moved() {
    let limit = (BUDGET + 3).to_string();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-http-max-conns-per-client",
        &limit,
    ]);
    let mut want: Vec<Line> = Vec::new();
    for i in 0..MANY {
        register_on_nodes(&agent, i, 20000 + i as u16);
        want.push((i, NODES[i % 3].1.to_string(), 20000 + i as u16));
    }
    let node_check = |status: &str| json!({"CheckID": "mem", "Name": "mem", "Status": status});
    let service_check = |status: &str| json!({"CheckID": "alive-1", "Name": "alive", "ServiceID": "s1", "Status": status});
    set_check(&agent, 1, node_check("passing"));
    set_check(&agent, 1, service_check("passing"));

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.ctmpl");
    std::fs::write(&src, TEMPLATE).unwrap();
    let dest = dir.path().join("out.conf");
    let config = dir.path().join("ct.hcl");
    // No parked view fetches on its own timer while the test runs: only signals wake them.
    std::fs::write(&config, "block_query_wait = \"5m\"\n").unwrap();
    let log = dir.path().join("ct.log");
    let spec = format!("{}:{}", src.display(), dest.display());
    let consul = Http1Relay::start(&agent.addr);
    let ct = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &consul.addr, "-template", &spec])
            .args(["-config", config.to_str().unwrap(), "-log-level", "debug"])
            .args(["-consul-transport-max-conns-per-host", &BUDGET.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let port: u16 = consul.addr.rsplit(':').next().unwrap().parse().unwrap();
    let pid = ct.0.id();
    let wait_for = |want: &[Line], what: &str| {
        let text = expected(want);
        eventually(30, what, || (services_in(&dest) == text).then_some(()));
    };
    wait_for(&want, "the first render");
    // The blocking views' first re-asks are spread over 1.5 s after their first answers.
    std::thread::sleep(Duration::from_secs(3));

    let step = |what: &str, want: &[Line], change: &dyn Fn(), most: usize| {
        let (health0, listings0) = consul.requests.now();
        change();
        wait_for(want, what);
        // Late fetches of the same change would show here.
        std::thread::sleep(Duration::from_millis(700));
        let (health, listings) = consul.requests.now();
        let (health, listings) = (health - health0, listings - listings0);
        assert!(
            health <= most,
            "{what}: {health} service fetches, more than the {most} it moved (of {MANY} views)"
        );
        // Four nodes (the agent's own too) per snapshot; a registration may take two rounds.
        assert!(listings <= 8, "{what}: {listings} node listings read");
        // The budget can be overshot by a connection or two (hyper's pool keeps a connection
        // dialled while an idle one was checked out; README, "Catalog scale"); the agent's
        // limit, BUDGET + 3, is the bound that must hold: no request of ours refused.
        let held = connections_to(pid, port);
        assert!(
            held < BUDGET + 3,
            "{what}: {held} connections, at the agent's limit of {}",
            BUDGET + 3
        );
    };

    let moved = Mutex::new(want.clone());
    let edit = |f: &dyn Fn(&mut Vec<Line>)| {
        let mut w = moved.lock().unwrap();
        f(&mut w);
        w.clone()
    };

    let now = edit(&|w| w[6].2 = 30006);
    step(
        "an instance's new port",
        &now,
        &|| register_on_nodes(&agent, 6, 30006),
        3,
    );

    let now = edit(&|w| w.retain(|l| l.0 != 1));
    let critical = || set_check(&agent, 1, service_check("critical"));
    step("a service check gone critical", &now, &critical, 3);

    // svc-01 is already out; the other 19 on node-b go.
    let now = edit(&|w| w.retain(|l| l.0 % 3 != 1));
    let node_down = || set_check(&agent, 1, node_check("critical"));
    step("a node check gone critical", &now, &node_down, 19 + 3);

    let now = edit(&|w| {
        w.extend((0..MANY).filter(|i| i % 3 == 1 && *i != 1).map(|i| {
            let port = 20000 + i as u16;
            (i, NODES[1].1.to_string(), port)
        }))
    });
    let node_up = || set_check(&agent, 1, node_check("passing"));
    step("a node check passing again", &now, &node_up, 19 + 3);

    let now = edit(&|w| {
        for l in w.iter_mut().filter(|l| l.0 % 3 == 2) {
            l.1 = "10.0.9.1".into();
        }
    });
    let node_moves = || {
        let body = json!({"Node": "node-c", "Address": "10.0.9.1"});
        let r = agent.put("/v1/catalog/register", &body.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
    };
    step("a node's new address", &now, &node_moves, 20 + 3);

    let now = edit(&|w| w.retain(|l| l.0 != 5));
    let gone = || {
        let body = json!({"Node": "node-c", "ServiceID": "s5"});
        let r = agent.put("/v1/catalog/deregister", &body.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
    };
    step("an instance deregistered", &now, &gone, 3);

    drop(ct);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("sentinels: woke"),
        "the sentinels' rounds are logged at debug:\n{log}"
    );
    // Consul's words for a refused connection, in the error ctmpl would log.
    assert!(
        !log.contains("too many concurrent connections"),
        "refused by the agent's limit:\n{log}"
    );
}
