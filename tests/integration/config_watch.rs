//! The agent's `-config-dir` is watched: service definitions added, changed and removed there
//! are registered and deregistered without a signal; SIGHUP reloads them too and does not stop
//! the agent (Consul reloads on SIGHUP).

use std::path::Path;

use serde_json::json;

use crate::support::{eventually, Agent};

fn write_service(dir: &Path, file: &str, name: &str, port: u16) {
    let def = json!({"service": {"name": name, "port": port}});
    // Written aside and renamed in, as config management tools do.
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, def.to_string()).unwrap();
    std::fs::rename(&tmp, dir.join(file)).unwrap();
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
