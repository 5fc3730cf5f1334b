//! What the agent and ctmpl log: the agent's banner, registrations, check state changes,
//! signals, snapshots, leaders and members of a real 3-server cluster (one WARN for a member
//! that is down and a reminder 30 s later, not a flood; one that leaves gracefully), and the
//! runner saying what a template is still waiting for.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{eventually, free_port, Agent};

/// A `ctmpl` run logging to a file; SIGTERMed (then killed) when dropped.
struct Ctmpl(Child);

impl Drop for Ctmpl {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        term(self.0.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn term(pid: u32) {
    kill(pid, "-TERM");
}

fn hangup(pid: u32) {
    kill(pid, "-HUP");
}

fn kill(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status();
}

fn file_lines(path: &Path, text: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(text))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_agent_banner_names_its_facts_and_a_sigterm_is_logged() {
    let agent = Agent::dev();
    let node_id = agent.get("/v1/agent/self").json()["Config"]["NodeID"]
        .as_str()
        .unwrap()
        .to_string();
    let port = agent.addr.rsplit(':').next().unwrap().to_string();
    // The banner's last line comes through stderr after the `running` line the start waits for.
    agent.wait_log(10, "==> Log data will now stream in as it occurs:");
    for want in [
        "==> Starting ctmpl agent".to_string(),
        "Version: 'ctmpl ".into(),
        "(answers as Consul 1.18.0)".into(),
        format!("Node ID: '{node_id}'"),
        "Node name: '".into(),
        "Datacenter: 'dc1'".into(),
        "Server: true (Bootstrap: true)".into(),
        format!("Client Addr: [127.0.0.1] (HTTP: {port}, HTTPS: -1)"),
        "Cluster Addr: 127.0.0.1 (server port: ".into(),
        format!("Web UI: http://{}/ui/", agent.addr),
        "Data Dir: none: -dev keeps everything in memory".into(),
        "==> Log data will now stream in as it occurs:".into(),
    ] {
        assert_eq!(
            agent.log_lines(&want).len(),
            1,
            "{want:?} in\n{}",
            agent.log_text()
        );
    }
    // The start's own events come after the banner, not before it.
    let log = agent.log_text();
    let stream = log.find("Log data will now stream").unwrap();
    let leader = agent.wait_log(10, "New leader elected");
    assert!(log.find(&leader).is_none_or(|at| at > stream), "{log}");

    agent.send_signal("HUP");
    agent.wait_log(
        10,
        "agent: Caught signal: hangup; Reloading configuration...",
    );
    let (status, log) = agent.stop_with_log();
    assert!(status.success());
    assert!(log.contains("agent: Caught signal: terminated"), "{log}");
    assert!(
        log.contains("agent: Gracefully shutting down agent..."),
        "{log}"
    );
}

#[test]
fn registrations_deregistrations_and_a_critical_check_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("svc.json");
    std::fs::write(&config, r#"{"service": {"name": "from-file", "port": 1}}"#).unwrap();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        config.to_str().unwrap(),
    ]);
    agent.wait_log(10, "agent: Synced service: service=from-file");

    let service = json!({"ID": "web", "Name": "web", "Port": 80,
        "Check": {"CheckID": "web-ttl", "TTL": "30s"}});
    assert_eq!(
        agent
            .put("/v1/agent/service/register", &service.to_string())
            .status,
        200
    );
    agent.wait_log(5, "agent: Synced service: service=web");
    agent.wait_log(5, "agent: Synced check: check=web-ttl");
    agent.put("/v1/agent/check/pass/web-ttl", "");
    agent.put("/v1/agent/check/fail/web-ttl?note=disk+full", "");
    let critical = agent.wait_log(5, "agent: Check is now critical: check=web-ttl");
    assert!(critical.contains("WARN"), "{critical}");
    assert!(critical.contains(r#"output="disk full""#), "{critical}");
    assert_eq!(
        agent.put("/v1/agent/check/deregister/web-ttl", "").status,
        200
    );
    agent.wait_log(5, "agent: Deregistered check: check=web-ttl");
    assert_eq!(
        agent.put("/v1/agent/service/deregister/web", "").status,
        200
    );
    agent.wait_log(5, "agent: Deregistered service: service=web");

    let external = json!({"Node": "ext", "Address": "10.0.0.9",
        "Service": {"ID": "db", "Service": "db", "Port": 5432}});
    assert_eq!(
        agent
            .put("/v1/catalog/register", &external.to_string())
            .status,
        200
    );
    agent.wait_log(5, "agent.catalog: Registered node: node=ext service=db");
    let gone = json!({"Node": "ext", "ServiceID": "db"});
    agent.put("/v1/catalog/deregister", &gone.to_string());
    agent.wait_log(
        5,
        "agent.catalog: Deregistered service: node=ext service=db",
    );
}

#[test]
fn a_snapshot_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("raft.json");
    std::fs::write(
        &config,
        r#"{"raft_snapshot_threshold": 10, "raft_trailing_logs": 2}"#,
    )
    .unwrap();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        config.to_str().unwrap(),
    ]);
    for i in 0..30 {
        assert_eq!(agent.put(&format!("/v1/kv/k{i}"), "v").text(), "true");
    }
    agent.wait_log(10, "agent.server.raft: snapshot complete up to: index=");
}

/// Starts server `name` of a three-server cluster on `port`, joining `join` when given.
fn server(dir: &Path, name: &str, port: u16, join: Option<&str>) -> Agent {
    let data = dir.join(name);
    let port = port.to_string();
    let mut args = vec![
        "-server",
        "-bootstrap-expect=3",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-server-port",
        &port,
        "-node",
        name,
    ];
    if let Some(join) = join {
        args.extend(["-retry-join", join]);
    }
    Agent::start(&args)
}

/// The leader's node name, once all of `agents` agree on it and say so in their logs.
fn logged_leader(agents: &[&Agent]) -> String {
    eventually(30, "every server to log the same new leader", || {
        let names: Vec<String> = agents
            .iter()
            .map(|a| {
                let line = a
                    .log_lines("agent.server: New leader elected: payload=")
                    .pop()?;
                line.rsplit("payload=").next().map(str::to_string)
            })
            .collect::<Option<_>>()?;
        names
            .iter()
            .all(|n| n == &names[0])
            .then(|| names[0].clone())
    })
}

fn warnings(agent: &Agent) -> Vec<String> {
    let mut out = agent.log_lines(" WARN ");
    out.extend(agent.log_lines(" ERROR "));
    out
}

#[test]
fn a_cluster_logs_its_leaders_and_a_member_failing_once_and_coming_back() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let first = format!("127.0.0.1:{}", ports[0]);
    let mut servers: Vec<Option<Agent>> = vec![
        Some(server(dir.path(), "s1", ports[0], None)),
        Some(server(dir.path(), "s2", ports[1], Some(&first))),
        Some(server(dir.path(), "s3", ports[2], Some(&first))),
    ];
    let all: Vec<&Agent> = servers.iter().flatten().collect();
    let leader = logged_leader(&all);
    let li = ["s1", "s2", "s3"]
        .iter()
        .position(|n| *n == leader)
        .unwrap();
    let lead = servers[li].as_ref().unwrap();
    lead.wait_log(5, "agent.server: cluster leadership acquired");
    for name in ["s1", "s2", "s3"].iter().filter(|n| **n != leader) {
        lead.wait_log(
            10,
            &format!("member joined, marking health alive: member={name}"),
        );
    }

    // A follower dies: the leader says so once, and not again while it stays down.
    let fi = (li + 1) % 3;
    let fname = ["s1", "s2", "s3"][fi];
    let before = warnings(servers[li].as_ref().unwrap()).len();
    servers[fi].take().unwrap().kill();
    let lead = servers[li].as_ref().unwrap();
    let failed = lead.wait_log(
        10,
        &format!("member failed, marking health critical: member={fname}"),
    );
    assert!(failed.contains("WARN"), "{failed}");
    std::thread::sleep(Duration::from_secs(3));
    let new = warnings(lead)[before..].to_vec();
    assert_eq!(new.len(), 1, "one WARN for a peer down, got {new:#?}");
    // Then a reminder, 30 s after the first word, and nothing else in between.
    let reminder = lead.wait_log(
        45,
        &format!("agent.server: member still unreachable: member={fname}"),
    );
    let down_for: u64 = reminder
        .rsplit("for=")
        .next()
        .and_then(|s| s.trim_end_matches('s').parse().ok())
        .unwrap_or_else(|| panic!("no for=Ns in {reminder}"));
    assert!(down_for >= 30, "{reminder}");
    let new = warnings(lead)[before..].to_vec();
    assert_eq!(new.len(), 2, "the failure and one reminder, got {new:#?}");

    // It comes back on its port with its data: the leader says so.
    servers[fi] = Some(server(dir.path(), fname, ports[fi], Some(&first)));
    let lead = servers[li].as_ref().unwrap();
    let back = lead.wait_log(
        15,
        &format!("member back, marking health alive: member={fname}"),
    );
    assert!(back.contains("INFO"), "{back}");

    // The leader dies: the two left log a new one.
    servers[li].take().unwrap().kill();
    let left: Vec<&Agent> = servers.iter().flatten().collect();
    let next = eventually(30, "a new leader in the logs", || {
        let l = logged_leader(&left);
        (l != leader).then_some(l)
    });
    assert_ne!(next, leader);

    // The other survivor leaves gracefully: the new leader says it left (not that it failed),
    // then, a single voter of three, that it lost the leadership.
    let ni = ["s1", "s2", "s3"].iter().position(|n| *n == next).unwrap();
    let oi = (0..3).find(|i| *i != ni && servers[*i].is_some()).unwrap();
    let oname = ["s1", "s2", "s3"][oi];
    let leaving = servers[oi].take().unwrap();
    let lead = servers[ni].as_ref().unwrap();
    let failed_before = lead
        .log_lines(&format!(
            "member failed, marking health critical: member={oname}"
        ))
        .len();
    assert_eq!(leaving.put("/v1/agent/leave", "").status, 200);
    let (status, log) = leaving.stop_with_log();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("agent: Leaving the cluster: telling "),
        "{log}"
    );
    let left_line = lead.wait_log(10, &format!("agent.server: member left: member={oname}"));
    assert!(left_line.contains("INFO"), "{left_line}");
    lead.wait_log(15, "agent.server: cluster leadership lost");
    // Past the time a silent member counts as failed: still no failure for the one that left.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        lead.log_lines(&format!(
            "member failed, marking health critical: member={oname}"
        ))
        .len(),
        failed_before,
        "{}",
        lead.log_text()
    );
}

#[test]
fn a_once_run_says_what_it_is_still_waiting_for() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("app.tmpl");
    std::fs::write(&src, "{{ key \"app/missing\" }}{{ key \"app/other\" }}\n").unwrap();
    let log = dir.path().join("ctmpl.log");
    let template = format!("{}:{}", src.display(), dir.path().join("out").display());
    let run = Ctmpl(
        crate::ctmpl()
            .args(["-once", "-log-level", "info", "-consul-addr", &agent.addr])
            .args(["-template", &template, "-log-file", log.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let line = eventually(15, "the runner's waiting-for line", || {
        file_lines(&log, "waiting for:").pop()
    });
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("(runner) "), "{line}");
    assert!(line.contains("app.tmpl: waiting for: "), "{line}");
    assert!(
        line.ends_with("waiting for: kv.block(app/missing), kv.block(app/other)"),
        "{line}"
    );
    // Said once, not every pass.
    assert_eq!(file_lines(&log, "waiting for:").len(), 1);

    hangup(run.0.id());
    eventually(10, "the reload signal in the log", || {
        file_lines(&log, r#"(cli) receiving signal "hangup": reloading"#).pop()
    });
    term(run.0.id());
    eventually(10, "the signal in the log", || {
        file_lines(&log, r#"(cli) receiving signal "terminated": stopping"#).pop()
    });
}

#[test]
fn a_leave_request_is_logged() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/agent/leave", "").status, 200);
    let (status, log) = agent.stop_with_log();
    assert!(status.success());
    assert!(
        log.contains("agent: Requesting shutdown (/v1/agent/leave)"),
        "{log}"
    );
    assert!(log.contains("agent: Graceful exit completed"), "{log}");
}
