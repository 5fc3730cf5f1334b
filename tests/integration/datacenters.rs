//! A datacenter the agent cannot reach: Consul's `No path to datacenter` on every endpoint that
//! takes `?dc=`, and a template that asks for one saying so in ctmpl's log while it retries.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{Agent, Process};

#[test]
fn an_unknown_datacenter_is_answered_no_path_on_every_endpoint_that_takes_dc() {
    let agent = Agent::dev();
    agent.put("/v1/kv/x", "here");
    let paths = [
        "/v1/kv/x",
        "/v1/kv/?keys",
        "/v1/catalog/services",
        "/v1/catalog/nodes",
        "/v1/catalog/service/consul",
        "/v1/catalog/node/anything",
        "/v1/health/service/consul",
        "/v1/health/state/any",
        "/v1/health/node/anything",
        "/v1/health/checks/consul",
        "/v1/status/leader",
        "/v1/status/peers",
        "/v1/operator/raft/configuration",
    ];
    for path in paths {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = agent.get(&format!("{path}{sep}dc=nowhere"));
        assert_eq!(
            (r.status, r.text().as_str()),
            (500, "No path to datacenter"),
            "{path}"
        );
        // Its own datacenter, named, is answered as usual.
        let r = agent.get(&format!("{path}{sep}dc=dc1"));
        assert_ne!(r.text(), "No path to datacenter", "{path}");
    }
    // Writes too: nothing is stored for another datacenter.
    let r = agent.put("/v1/kv/y?dc=dc2", "elsewhere");
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, "No path to datacenter")
    );
    assert_eq!(agent.get("/v1/kv/y").status, 404);
    // The list of datacenters takes no dc.
    let r = agent.get("/v1/catalog/datacenters?dc=nowhere");
    assert_eq!(r.status, 200);
}

#[test]
fn a_template_waiting_on_another_datacenter_says_why_and_keeps_retrying() {
    let agent = Agent::dev();
    agent.put("/v1/kv/x", "dc1-value");
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("t.ctmpl");
    std::fs::write(&template, "x={{ key \"x@dc2\" }}\n").unwrap();
    let out = dir.path().join("out.txt");
    let spec = format!("{}:{}", template.display(), out.display());
    let mut child = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template", &spec])
            .args(["-consul-retry-backoff", "50ms", "-log-level", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Two retries said, each naming the dependency and the reason.
    let mut said = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while said.len() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("ctmpl did not say why it waits: {said:?}"));
        if line.contains("No path to datacenter") {
            assert!(line.contains("x@dc2"), "{line}");
            said.push(line);
        }
    }
    // dc1's value is never rendered in dc2's place.
    assert!(!out.exists(), "{:?}", std::fs::read_to_string(&out));
}
