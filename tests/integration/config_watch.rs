//! The agent's `-config-dir` is watched: service and check definitions added, changed and
//! removed there are registered and deregistered without a signal, with inotify and with the
//! poll watcher (`CTMPL_WATCH_POLL=1`); SIGHUP reloads them too and does not stop the agent
//! (Consul reloads on SIGHUP).

use std::path::Path;

use serde_json::json;

use crate::support::{eventually, Agent};

fn write_service(dir: &Path, file: &str, name: &str, port: u16) {
    write_config(dir, file, &json!({"service": {"name": name, "port": port}}));
}

/// Written aside and renamed in, as config management tools do.
fn write_config(dir: &Path, file: &str, def: &serde_json::Value) {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, def.to_string()).unwrap();
    std::fs::rename(&tmp, dir.join(file)).unwrap();
}

/// The agent's local checks but its own, ID → (name, service ID, status).
fn checks(agent: &Agent) -> Vec<(String, String, String, String)> {
    let body = agent.get("/v1/agent/checks").json();
    let mut out: Vec<_> = body
        .as_object()
        .unwrap()
        .values()
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (
                field("CheckID"),
                field("Name"),
                field("ServiceID"),
                field("Status"),
            )
        })
        .filter(|(id, ..)| id != "serfHealth")
        .collect();
    out.sort();
    out
}

fn expect_checks(agent: &Agent, what: &str, want: &[(&str, &str, &str, &str)]) {
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    eventually(15, what, || (checks(agent) == want).then_some(()));
}

/// The agent's local services, name → port.
fn services(agent: &Agent) -> Vec<(String, u64)> {
    let body = agent.get("/v1/agent/services").json();
    let mut out: Vec<(String, u64)> = body
        .as_object()
        .unwrap()
        .values()
        .map(|s| {
            (
                s["Service"].as_str().unwrap().to_string(),
                s["Port"].as_u64().unwrap(),
            )
        })
        .filter(|(name, _)| name != "consul")
        .collect();
    out.sort();
    out
}

fn expect(agent: &Agent, what: &str, want: &[(&str, u64)]) {
    let want: Vec<(String, u64)> = want.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    eventually(15, what, || (services(agent) == want).then_some(()));
}

#[test]
fn agent_picks_up_added_changed_and_removed_service_files() {
    let dir = tempfile::tempdir().unwrap();
    write_service(dir.path(), "alpha.json", "alpha", 1001);
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-dir",
        dir.path().to_str().unwrap(),
    ]);
    expect(&agent, "alpha from the start", &[("alpha", 1001)]);
    write_service(dir.path(), "beta.json", "beta", 1002);
    expect(&agent, "beta added", &[("alpha", 1001), ("beta", 1002)]);
    write_service(dir.path(), "beta.json", "beta", 2002);
    expect(&agent, "beta changed", &[("alpha", 1001), ("beta", 2002)]);
    std::fs::remove_file(dir.path().join("alpha.json")).unwrap();
    expect(&agent, "alpha removed", &[("beta", 2002)]);
    // A file that does not parse leaves the agent as it was.
    std::fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
    write_service(dir.path(), "gamma.json", "gamma", 1003);
    std::fs::remove_file(dir.path().join("broken.json")).unwrap();
    expect(
        &agent,
        "gamma once the broken file is gone",
        &[("beta", 2002), ("gamma", 1003)],
    );
}

#[test]
fn sighup_reloads_the_agent_and_does_not_stop_it() {
    // The config file is a symlink to a file elsewhere: editing the target is not an event in
    // the watched directory, so only SIGHUP can make the agent see it.
    let real = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_service(real.path(), "alpha.json", "alpha", 1001);
    let link = dir.path().join("alpha.json");
    std::os::unix::fs::symlink(real.path().join("alpha.json"), &link).unwrap();
    let mut agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        link.to_str().unwrap(),
    ]);
    expect(&agent, "alpha from the start", &[("alpha", 1001)]);
    // Registered through the API: a reload leaves it alone.
    let r = agent.put(
        "/v1/agent/service/register",
        &json!({"Name": "api-made", "Port": 7}).to_string(),
    );
    assert_eq!(r.status, 200);
    let def = json!({"service": {"name": "alpha", "port": 3003}});
    std::fs::write(real.path().join("alpha.json"), def.to_string()).unwrap();
    agent.signal("HUP");
    expect(
        &agent,
        "alpha changed by SIGHUP",
        &[("alpha", 3003), ("api-made", 7)],
    );
    assert!(agent.is_running(), "SIGHUP stopped the agent");
    assert_eq!(agent.get("/v1/status/leader").status, 200);
}

#[test]
fn agent_picks_up_added_changed_and_removed_check_files() {
    let dir = tempfile::tempdir().unwrap();
    write_service(dir.path(), "web.json", "web", 80);
    // Consul's config-file keys: lower case, `service_id` for a service's check.
    write_config(
        dir.path(),
        "disk.json",
        &json!({"check": {"id": "disk", "name": "Disk space", "ttl": "10m"}}),
    );
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-dir",
        dir.path().to_str().unwrap(),
    ]);
    expect_checks(
        &agent,
        "the node check from the start",
        &[("disk", "Disk space", "", "critical")],
    );
    write_config(
        dir.path(),
        "web-check.json",
        &json!({"checks": [{"id": "web-alive", "name": "web alive", "service_id": "web",
                            "ttl": "10m", "status": "passing"}]}),
    );
    expect_checks(
        &agent,
        "the service check added",
        &[
            ("disk", "Disk space", "", "critical"),
            ("web-alive", "web alive", "web", "passing"),
        ],
    );
    // In the catalog too: web's health entry carries it (and the node's critical `disk`).
    eventually(10, "web-alive in web's health", || {
        let health = agent.get("/v1/health/service/web").json();
        let checks = health[0]["Checks"].as_array()?.clone();
        checks
            .iter()
            .any(|c| c["CheckID"] == "web-alive" && c["Status"] == "passing")
            .then_some(())
    });
    write_config(
        dir.path(),
        "disk.json",
        &json!({"check": {"id": "disk", "name": "Disk space (renamed)", "ttl": "10m"}}),
    );
    expect_checks(
        &agent,
        "the node check changed",
        &[
            ("disk", "Disk space (renamed)", "", "critical"),
            ("web-alive", "web alive", "web", "passing"),
        ],
    );
    std::fs::remove_file(dir.path().join("web-check.json")).unwrap();
    expect_checks(
        &agent,
        "the service check removed",
        &[("disk", "Disk space (renamed)", "", "critical")],
    );
    // A check registered through the API is not the config's to remove.
    let r = agent.put(
        "/v1/agent/check/register",
        &json!({"Name": "api-made", "TTL": "10m"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    std::fs::remove_file(dir.path().join("disk.json")).unwrap();
    expect_checks(
        &agent,
        "the node check removed, the API's kept",
        &[("api-made", "api-made", "", "critical")],
    );
}

#[test]
fn with_the_poll_watcher_the_agent_still_picks_up_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start_with_env(
        &[
            "-dev",
            "-http-port",
            "0",
            "-log-level",
            "info",
            "-config-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("CTMPL_WATCH_POLL", "1")],
    );
    agent.wait_log(10, "CTMPL_WATCH_POLL is set: polling every");
    write_service(dir.path(), "alpha.json", "alpha", 1001);
    expect(&agent, "alpha added, seen by polling", &[("alpha", 1001)]);
    write_config(
        dir.path(),
        "check.json",
        &json!({"check": {"id": "polled", "name": "polled", "ttl": "10m"}}),
    );
    expect_checks(
        &agent,
        "a check added, seen by polling",
        &[("polled", "polled", "", "critical")],
    );
    std::fs::remove_file(dir.path().join("alpha.json")).unwrap();
    expect(&agent, "alpha removed, seen by polling", &[]);
}
