//! The connection budget over HTTP/1.1 (`-consul-transport-max-conns-per-host`): the real
//! binary against a real agent, with more dependencies than the budget has connections. ctmpl
//! must hold no more TCP connections to the agent than the budget, and a change to a
//! dependency that has no blocking query of its own (parked, kept fresh by the catalog-wide
//! sentinels) must still reach the file.

use std::process::Stdio;

use serde_json::json;

use crate::support::{eventually, Agent, Process};

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

/// ESTABLISHED TCP connections of process `pid` to local port `port`, read from /proc.
fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")
                        .map(|s| s.trim_end_matches(']').to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .flat_map(|text| text.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            f[3] == "01" && remote_port == Some(port) && inodes.iter().any(|i| i == f[9])
        })
        .count()
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
    let ct = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template", &spec])
            .args(["-consul-transport-max-conns-per-host", &budget])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).unwrap_or_default();
    eventually(30, "the first render of every service", || {
        (read().lines().filter(|l| l.starts_with("svc-")).count() == SERVICES).then_some(())
    });
    let port: u16 = agent.addr.rsplit(':').next().unwrap().parse().unwrap();
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
