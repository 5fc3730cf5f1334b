//! Raft clusters of real `ctmpl agent -server` processes on loopback: formed by
//! `-bootstrap-expect` and joins, writes through any server, the leader killed, a server
//! restarted with its data dir, ctmpl watching a follower.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::support::{eventually, free_port, request, Agent};
use crate::template::{spawn, wait_line};

/// `ctmpl agent -server` on loopback with its own data dir under `dir`.
fn server(dir: &Path, name: &str, expect: usize, port: u16, join: &[(&str, &str)]) -> Agent {
    server_with(dir, name, expect, port, join, &[])
}

fn server_with(
    dir: &Path,
    name: &str,
    expect: usize,
    port: u16,
    join: &[(&str, &str)],
    extra: &[&str],
) -> Agent {
    let data = dir.join(name);
    let expect = format!("-bootstrap-expect={expect}");
    let port = port.to_string();
    let mut args = vec![
        "-server",
        expect.as_str(),
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-server-port",
        port.as_str(),
        "-node",
        name,
    ];
    for (flag, addr) in join {
        args.push(flag);
        args.push(addr);
    }
    args.extend(extra);
    Agent::start(&args)
}

/// A client agent (no `-server`) that `-retry-join`s `join`.
/// Servers s1 (on `port`, 0 for any), s2 and s3, the last two joining s1, expecting three.
fn three_joined(dir: &Path, port: u16) -> [Agent; 3] {
    let a = server(dir, "s1", 3, port, &[]);
    let b = server(dir, "s2", 3, 0, &[("-join", &a.rpc)]);
    let c = server(dir, "s3", 3, 0, &[("-join", &a.rpc)]);
    [a, b, c]
}

fn client_agent(data: &Path, name: &str, join: &str) -> Agent {
    Agent::start(&[
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        name,
        "-retry-join",
        join,
    ])
}

fn peers(agent: &Agent) -> Vec<String> {
    let r = agent.get("/v1/status/peers");
    let mut p: Vec<String> = serde_json::from_slice(&r.body).unwrap_or_default();
    p.sort();
    p
}

fn leader(agent: &Agent) -> String {
    serde_json::from_slice(&agent.get("/v1/status/leader").body).unwrap_or_default()
}

/// Waits until every agent sees the same leader and `n` voters; returns the leader's index.
fn formed(agents: &[&Agent], n: usize) -> usize {
    eventually(30, "one cluster with one leader", || {
        let l = leader(agents[0]);
        if l.is_empty() {
            return None;
        }
        for a in agents {
            if leader(a) != l || peers(a).len() != n {
                return None;
            }
        }
        agents.iter().position(|a| a.rpc == l)
    })
}

fn kv(agent: &Agent, key: &str, query: &str) -> Option<String> {
    let r = agent.get(&format!("/v1/kv/{key}?raw{query}"));
    (r.status == 200).then(|| r.text())
}

#[test]
fn three_servers_form_one_cluster_and_a_write_anywhere_shows_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let a = server(dir.path(), "s1", 3, 0, &[]);
    let b = server(dir.path(), "s2", 3, 0, &[("-join", &a.rpc)]);
    // No leader until three servers know each other.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(leader(&a), "");
    let r = a.get("/v1/kv/x?stale");
    assert_eq!(r.header("X-Consul-KnownLeader"), Some("false"));
    // A write without a leader waits a little (Consul's 7 s hold), then fails as Consul's does.
    let r = b.put("/v1/kv/x", "1");
    assert_eq!((r.status, r.text().as_str()), (500, "No cluster leader"));
    let c = server(dir.path(), "s3", 3, 0, &[("-retry-join", &b.rpc)]);
    let all = [&a, &b, &c];
    let l = formed(&all, 3);
    let mut want = vec![a.rpc.clone(), b.rpc.clone(), c.rpc.clone()];
    want.sort();
    for s in all {
        assert_eq!(peers(s), want);
    }
    // A write on a follower goes through the leader and shows on every server.
    let follower = all[(l + 1) % 3];
    assert_eq!(follower.put("/v1/kv/hello", "world").text(), "true");
    for s in all {
        assert_eq!(kv(s, "hello", "").as_deref(), Some("world"));
        let r = s.get("/v1/kv/hello");
        assert_eq!(r.header("X-Consul-KnownLeader"), Some("true"));
    }
    // The same index everywhere: the Raft log index.
    let indexes: Vec<u64> = all.iter().map(|s| s.get("/v1/kv/hello").index()).collect();
    assert!(indexes.iter().all(|i| *i == indexes[0]), "{indexes:?}");
    // Every server's node is in the catalog, with the `consul` service.
    let consul = eventually(10, "three consul instances", || {
        let v = a.get("/v1/catalog/service/consul").json();
        (v.as_array().map(Vec::len) == Some(3)).then_some(v)
    });
    assert_eq!(consul.as_array().unwrap().len(), 3);
    // The raft configuration and the member list tell the truth.
    let conf = c.get("/v1/operator/raft/configuration").json();
    let servers = conf["Servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3);
    assert_eq!(servers.iter().filter(|s| s["Leader"] == true).count(), 1);
    assert!(servers.iter().all(|s| s["Voter"] == true));
    let leader_entry = servers.iter().find(|s| s["Leader"] == true).unwrap();
    assert_eq!(leader_entry["Address"], json!(all[l].rpc));
    let members = b.get("/v1/agent/members").json();
    let mut names: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["s1", "s2", "s3"]);
}

#[test]
fn the_cluster_survives_losing_its_leader_and_a_server_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let a = server(dir.path(), "s1", 3, ports[0], &[]);
    let b = server(dir.path(), "s2", 3, ports[1], &[("-retry-join", &a.rpc)]);
    let c = server(dir.path(), "s3", 3, ports[2], &[("-retry-join", &a.rpc)]);
    let mut agents = [Some(a), Some(b), Some(c)];
    let refs: Vec<&Agent> = agents.iter().flatten().collect();
    let l = formed(&refs, 3);
    // Writes acknowledged through every server.
    for i in 0..30 {
        let s = refs[i % 3];
        assert_eq!(
            s.put(&format!("/v1/kv/k/{i}"), &i.to_string()).text(),
            "true"
        );
    }
    let name = format!("s{}", l + 1);
    let old = agents[l].take().unwrap();
    let old_rpc = old.rpc.clone();
    old.kill();
    let left: Vec<&Agent> = agents.iter().flatten().collect();
    // A write right away waits through the election (up to 7 s) and succeeds.
    assert_eq!(left[0].put("/v1/kv/during", "election").text(), "true");
    // A new leader among the two left.
    let new = eventually(30, "a new leader", || {
        let l = leader(left[0]);
        (!l.is_empty() && l != old_rpc && leader(left[1]) == l).then_some(l)
    });
    assert_ne!(new, old_rpc);
    for s in &left {
        let keys: Json = s.get("/v1/kv/k/?keys").json();
        assert_eq!(keys.as_array().unwrap().len(), 30, "{keys}");
    }
    // Still writable (a majority is up), through either server.
    for (i, s) in left.iter().enumerate() {
        assert_eq!(s.put(&format!("/v1/kv/after/{i}"), "x").text(), "true");
    }
    assert_eq!(kv(left[1], "during", "").as_deref(), Some("election"));
    // The old leader comes back with its data dir and catches up.
    let back = server(
        dir.path(),
        &name,
        3,
        ports[l],
        &[("-retry-join", &left[0].rpc)],
    );
    eventually(30, "the restarted server to catch up", || {
        (kv(&back, "after/1", "&stale").as_deref() == Some("x")).then_some(())
    });
    assert_eq!(kv(&back, "k/7", "&stale").as_deref(), Some("7"));
    let all = [&back, left[0], left[1]];
    formed(&all, 3);
    assert_eq!(back.put("/v1/kv/from-back", "1").text(), "true");
    for s in all {
        assert_eq!(kv(s, "from-back", "").as_deref(), Some("1"));
    }
}

#[test]
fn five_servers_by_join_lose_two_and_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let first = server(dir.path(), "s1", 5, 0, &[]);
    let mut agents = vec![first];
    for i in 2..=5 {
        let join = agents[0].rpc.clone();
        agents.push(server(
            dir.path(),
            &format!("s{i}"),
            5,
            0,
            &[("-join", &join)],
        ));
    }
    let refs: Vec<&Agent> = agents.iter().collect();
    let l = formed(&refs, 5);
    assert_eq!(refs[(l + 2) % 5].put("/v1/kv/five", "yes").text(), "true");
    // Lose two (the leader among them): three of five still form a majority.
    let mut agents: Vec<Option<Agent>> = agents.into_iter().map(Some).collect();
    agents[l].take().unwrap().kill();
    agents[(l + 1) % 5].take().unwrap().kill();
    let left: Vec<&Agent> = agents.iter().flatten().collect();
    assert_eq!(left[0].put("/v1/kv/still", "up").text(), "true");
    for s in &left {
        assert_eq!(kv(s, "five", "").as_deref(), Some("yes"));
        assert_eq!(kv(s, "still", "").as_deref(), Some("up"));
    }
}

#[test]
fn ctmpl_watching_a_follower_sees_changes_made_on_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_joined(dir.path(), 0);
    let all = [&a, &b, &c];
    let l = formed(&all, 3);
    let follower = all[(l + 1) % 3];
    let tdir = tempfile::tempdir().unwrap();
    let (mut child, rx) = spawn(&follower.addr, "v={{key \"watched\"}}\n", &tdir, &["-dry"]);
    all[l].put("/v1/kv/watched", "one");
    wait_line(&rx, "v=one");
    all[l].put("/v1/kv/watched", "two");
    wait_line(&rx, "v=two");
    let _ = child.kill();
    let _ = child.wait();
    // A stale read on a follower says how long ago it heard from the leader.
    let r = request(&follower.addr, "GET", "/v1/kv/watched?stale", b"");
    let contact: u64 = r.header("X-Consul-LastContact").unwrap().parse().unwrap();
    assert!(contact < 5000, "{contact}");
}

#[test]
fn three_servers_started_at_once_with_retry_join_form_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let addr = |i: usize| format!("127.0.0.1:{}", ports[i]);
    let (a0, a1, a2) = (addr(0), addr(1), addr(2));
    // Each one knows the two others, as Consul's docs deploy them; all three start together.
    let handles: Vec<_> = [
        ("s1", ports[0], a1.clone(), a2.clone()),
        ("s2", ports[1], a0.clone(), a2.clone()),
        ("s3", ports[2], a0.clone(), a1.clone()),
    ]
    .into_iter()
    .map(|(name, port, x, y)| {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            server(
                &dir,
                name,
                3,
                port,
                &[("-retry-join", &x), ("-retry-join", &y)],
            )
        })
    })
    .collect();
    let agents: Vec<Agent> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let refs: Vec<&Agent> = agents.iter().collect();
    let l = formed(&refs, 3);
    assert_eq!(refs[(l + 1) % 3].put("/v1/kv/once", "1").text(), "true");
    for s in &refs {
        assert_eq!(kv(s, "once", "").as_deref(), Some("1"));
        // One cluster: every server lists the same three voters.
        let conf = s.get("/v1/operator/raft/configuration").json();
        assert_eq!(conf["Servers"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn a_client_agent_registers_a_service_that_shows_on_all_servers() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_joined(dir.path(), 0);
    let all = [&a, &b, &c];
    formed(&all, 3);
    let data = dir.path().join("client");
    let client = client_agent(&data, "c1", &b.rpc);
    let body = json!({"Name": "web", "Port": 8080, "Check": {"TTL": "1h"}});
    let r = client.put("/v1/agent/service/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    // The client runs its own checks and pushes their results to the servers.
    assert_eq!(
        client.put("/v1/agent/check/pass/service:web", "").status,
        200
    );
    for s in all {
        let web = s.get("/v1/health/service/web").json();
        assert_eq!(web[0]["Node"]["Node"], "c1");
        assert_eq!(web[0]["Service"]["Port"], 8080);
        let check = web[0]["Checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["CheckID"] == "service:web")
            .cloned();
        assert_eq!(check.unwrap()["Status"], "passing", "{web}");
    }
    // The client answers catalog reads and KV through the servers.
    assert_eq!(
        client.get("/v1/catalog/service/web").json()[0]["Node"],
        "c1"
    );
    assert_eq!(client.put("/v1/kv/from-client", "hi").text(), "true");
    assert_eq!(kv(&a, "from-client", "").as_deref(), Some("hi"));
    assert_eq!(kv(&client, "from-client", "&stale").as_deref(), Some("hi"));
    assert_eq!(leader(&client), leader(&a));
    assert_eq!(client.get("/v1/agent/services").json()["web"]["Port"], 8080);
    // Members: the servers know the client, the client knows the servers.
    let members = eventually(10, "the client among the members", || {
        let m = a.get("/v1/agent/members").json();
        let list = m.as_array()?.clone();
        list.iter()
            .find(|m| m["Name"] == "c1")
            .map(|c| c["Tags"]["role"].clone())
    });
    assert_eq!(members, "node");
    let seen = client.get("/v1/agent/members").json();
    assert_eq!(seen.as_array().unwrap().len(), 4, "{seen}");
    // Restarted, the client takes back the services the catalog has for its node.
    let (_, status) = client.stop();
    assert!(status.success());
    let client = client_agent(&data, "c1", &c.rpc);
    eventually(10, "the client's services back", || {
        let services = client.get("/v1/agent/services").json();
        (services["web"]["Port"] == 8080).then_some(())
    });
    // Its check comes back too (restored just after the service), with the status it had.
    eventually(10, "the client's check back, passing", || {
        let checks = client.get("/v1/agent/checks").json();
        (checks["service:web"]["Status"] == "passing").then_some(())
    });
}

#[test]
fn ctmpl_join_forms_a_cluster_and_ctmpl_members_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = server(dir.path(), "s1", 3, 0, &[]);
    let b = server(dir.path(), "s2", 3, 0, &[]);
    let c = server(dir.path(), "s3", 3, 0, &[]);
    for s in [&b, &c] {
        let out = crate::ctmpl()
            .args(["join", &format!("-http-addr={}", s.addr), &a.rpc])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            crate::stdout(&out),
            "Successfully joined cluster by contacting 1 nodes.\n"
        );
    }
    formed(&[&a, &b, &c], 3);
    let out = crate::ctmpl()
        .args(["members", "-http-addr", &a.addr])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = crate::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("Node  Address"), "{text}");
    for (line, name) in lines[1..].iter().zip(["s1", "s2", "s3"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], name, "{text}");
        assert_eq!(
            &cols[2..7],
            ["alive", "server", "1.18.0", "2", "dc1"],
            "{text}"
        );
    }
    assert!(text.contains(&a.rpc), "{text}");

    // Another datacenter is refused, clearly.
    let other = Agent::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-dev",
        "-http-port",
        "0",
        "-datacenter",
        "dc2",
    ]);
    let out = crate::ctmpl()
        .args(["join", &format!("-http-addr={}", other.addr), &a.rpc])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("datacenter") && err.contains("dc1"), "{err}");
    assert!(err.contains("Failed to join any nodes."), "{err}");
}

#[test]
fn snapshots_compact_the_log_and_a_server_far_behind_catches_up_from_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("raft.json");
    std::fs::write(
        &config,
        r#"{"raft_snapshot_threshold": 20, "raft_trailing_logs": 5}"#,
    )
    .unwrap();
    let extra = ["-config-file", config.to_str().unwrap()];
    let ports = [free_port(), free_port(), free_port()];
    let a = server_with(dir.path(), "s1", 3, ports[0], &[], &extra);
    let first = a.rpc.clone();
    let join = [("-retry-join", first.as_str())];
    let b = server_with(dir.path(), "s2", 3, ports[1], &join, &extra);
    let c = server_with(dir.path(), "s3", 3, ports[2], &join, &extra);
    formed(&[&a, &b, &c], 3);
    // s3 goes away; the others write well past a few snapshots.
    c.kill();
    for i in 0..120 {
        assert_eq!(a.put(&format!("/v1/kv/many/{i}"), "v").text(), "true");
    }
    // The purge follows the snapshot once no replication is using the entries; with s3 down,
    // that is at the leader's next failed attempt to reach it (every half second).
    let raft_stat = |s: &Agent, name: &str| -> u64 {
        let stats = s.get("/v1/agent/self").json()["Stats"]["raft"].clone();
        stats[name].as_str().unwrap().parse().unwrap()
    };
    eventually(10, "a snapshot past 100 and the log purged past 50", || {
        (raft_stat(&a, "last_snapshot_index") > 100 && raft_stat(&a, "purged_index") > 50)
            .then_some(())
    });
    // Back with its old data dir: the entries it misses are gone from the log, so the leader
    // sends a snapshot.
    let c = server_with(dir.path(), "s3", 3, ports[2], &join, &extra);
    eventually(30, "s3 to catch up", || {
        let keys = c.get("/v1/kv/many/?keys&stale");
        (keys.status == 200 && keys.json().as_array()?.len() == 120).then_some(())
    });
    c.wait_log(10, "agent.server.raft: Installed remote snapshot: index=");
    let stats = c.get("/v1/agent/self").json()["Stats"]["raft"].clone();
    let snap: u64 = stats["last_snapshot_index"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(snap > 100, "{stats}");
    // And a restart of the whole cluster comes back from snapshots plus logs.
    drop((a, b, c));
    let a = server_with(dir.path(), "s1", 3, ports[0], &[], &extra);
    let b = server_with(dir.path(), "s2", 3, ports[1], &join, &extra);
    formed(&[&a, &b], 3);
    let keys: Json = b.get("/v1/kv/many/?keys").json();
    let count = keys.as_array().map_or(0, Vec::len);
    if count != 120 {
        // Enough to tell a lost write from a read served too early, should this ever fail.
        let missing: Vec<usize> = (0..120)
            .filter(|i| {
                !keys
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == &format!("many/{i}"))
            })
            .collect();
        let stats = |s: &Agent| s.get("/v1/agent/self").json()["Stats"]["raft"].clone();
        let again = b.get("/v1/kv/many/?keys").json();
        panic!(
            "{count} keys on s2, missing {missing:?}; a moment later {}; s1 {}; s2 {}",
            again.as_array().map_or(0, Vec::len),
            stats(&a),
            stats(&b)
        );
    }
}

#[test]
fn a_minority_left_alone_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_joined(dir.path(), 0);
    formed(&[&a, &b, &c], 3);
    assert_eq!(c.put("/v1/kv/before", "1").text(), "true");
    // The leader's two followers stop: the leader is left a minority of one.
    let leader = a.get("/v1/status/leader").json();
    let mut servers = vec![a, b, c];
    let at = servers
        .iter()
        .position(|s| leader == s.rpc.as_str())
        .expect("the leader is one of the three");
    let left = servers.swap_remove(at);
    drop(servers);
    let r = left.put("/v1/kv/after", "1");
    assert_eq!((r.status, r.text().as_str()), (500, "No cluster leader"));
    // Having heard from no quorum for longer than an election timeout, it no longer calls
    // itself the leader.
    assert_eq!(left.get("/v1/status/leader").json(), "");
    // It still answers stale reads from what it has, saying it knows no leader.
    let r = left.get("/v1/kv/before?stale&raw");
    assert_eq!((r.status, r.text().as_str()), (200, "1"));
    assert_eq!(r.header("X-Consul-KnownLeader"), Some("false"));
    assert_eq!(left.get("/v1/kv/after?stale").status, 404);
}

#[test]
fn a_client_agent_started_before_the_servers_joins_them_later() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let first = format!("127.0.0.1:{port}");
    let data = dir.path().join("client");
    let client = client_agent(&data, "early", &first);
    std::thread::sleep(Duration::from_millis(500));
    let [a, b, c] = three_joined(dir.path(), port);
    formed(&[&a, &b, &c], 3);
    let body = json!({"Name": "early-web", "Port": 9090});
    eventually(30, "the client reaching the servers", || {
        (client
            .put("/v1/agent/service/register", &body.to_string())
            .status
            == 200)
            .then_some(())
    });
    for s in [&a, &b, &c] {
        eventually(15, "the client's service on every server", || {
            let v = s.get("/v1/catalog/service/early-web").json();
            (v[0]["Node"] == "early").then_some(())
        });
    }
}

#[test]
fn a_leader_that_lost_its_quorum_answers_no_cluster_leader_in_consuls_words() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_joined(dir.path(), 0);
    let l = formed(&[&a, &b, &c], 3);
    let mut agents = [Some(a), Some(b), Some(c)];
    assert_eq!(
        agents[l].as_ref().unwrap().put("/v1/kv/before", "1").text(),
        "true"
    );
    // Both followers gone at once: the leader is alone with its lease running out.
    for (i, agent) in agents.iter_mut().enumerate() {
        if i != l {
            agent.take().unwrap().kill();
        }
    }
    let leader = agents[l].take().unwrap();
    let addr = leader.addr.clone();
    let read = std::thread::spawn(move || request(&addr, "GET", "/v1/kv/before", b""));
    let write = leader.put("/v1/kv/after", "2");
    let read = read.join().unwrap();
    for (what, r) in [("write", write), ("read", read)] {
        assert_eq!(
            (r.status, r.text().as_str()),
            (500, "No cluster leader"),
            "{what}"
        );
    }
    // A stale read still answers from the local store.
    assert_eq!(kv(&leader, "before", "&stale").as_deref(), Some("1"));
}

/// The Raft id a server's node ID makes (its first 16 hex digits), which orders the servers a
/// client agent tries.
fn raft_id(agent: &Agent) -> u64 {
    let me = agent.get("/v1/agent/self").json();
    let uuid = me["Config"]["NodeID"].as_str().unwrap().replace('-', "");
    u64::from_str_radix(&uuid[..16], 16).unwrap()
}

#[test]
fn a_client_agent_asks_another_server_when_its_server_stops_answering() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_joined(dir.path(), 0);
    formed(&[&a, &b, &c], 3);
    assert_eq!(a.put("/v1/kv/k", "v").text(), "true");
    let client = client_agent(&dir.path().join("client"), "c1", &a.rpc);
    eventually(30, "the client agent to know the three servers", || {
        let members = client.get("/v1/agent/members").json();
        (members.as_array().map(Vec::len) == Some(4)).then_some(())
    });
    eventually(30, "the value through the client", || {
        kv(&client, "k", "&stale").filter(|v| v == "v")
    });
    // The server the client asks first stops answering: it neither refuses nor answers.
    let first = [&a, &b, &c].into_iter().min_by_key(|s| raft_id(s)).unwrap();
    first.signal("STOP");
    let started = std::time::Instant::now();
    let r = crate::support::request_within(
        &client.addr,
        "GET",
        "/v1/kv/k?raw&stale",
        b"",
        Duration::from_secs(30),
    );
    first.signal("CONT");
    let r = r.expect("an answer while a server is paused");
    assert_eq!((r.status, r.text().as_str()), (200, "v"));
    // Asked again after the 10 s timeout of a non-blocking request, not after 700 s.
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}

/// One write through the client agent: a unique key, how long its answer took, and the answer.
struct ClientWrite {
    key: String,
    took: Duration,
    answer: Option<(u16, String)>,
}

/// Writes unique keys through `client` one after the other until `stop` is set.
fn write_until(client: &str, stop: &std::sync::atomic::AtomicBool) -> Vec<ClientWrite> {
    let mut done = Vec::new();
    for i in 0.. {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let key = format!("hedge/{i}");
        let started = std::time::Instant::now();
        let r = crate::support::request_within(
            client,
            "PUT",
            &format!("/v1/kv/{key}"),
            i.to_string().as_bytes(),
            Duration::from_secs(30),
        );
        done.push(ClientWrite {
            key,
            took: started.elapsed(),
            answer: r.map(|r| (r.status, r.text())),
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    done
}

#[test]
fn writes_through_a_client_agent_go_to_another_server_when_theirs_is_paused() {
    let dir = tempfile::tempdir().unwrap();
    let servers = three_joined(dir.path(), 0);
    formed(&[&servers[0], &servers[1], &servers[2]], 3);
    let client = client_agent(&dir.path().join("client"), "c1", &servers[0].rpc);
    eventually(30, "the client agent to know the three servers", || {
        let members = client.get("/v1/agent/members").json();
        (members.as_array().map(Vec::len) == Some(4)).then_some(())
    });
    eventually(30, "a write through the client", || {
        (client.put("/v1/kv/ready", "1").text() == "true").then_some(())
    });
    let stop = std::sync::atomic::AtomicBool::new(false);
    // The server the client sends to first (the lowest Raft id), then the leader, are paused
    // in turn while the client keeps writing.
    let first = (0..3).min_by_key(|i| raft_id(&servers[*i])).unwrap();
    let writes = std::thread::scope(|s| {
        let writer = s.spawn(|| write_until(&client.addr, &stop));
        for phase in 0..2 {
            let paused = if phase == 0 {
                first
            } else {
                formed(&[&servers[0], &servers[1], &servers[2]], 3)
            };
            std::thread::sleep(Duration::from_secs(1));
            servers[paused].signal("STOP");
            std::thread::sleep(Duration::from_secs(8));
            servers[paused].signal("CONT");
            // Settled again: every server sees one leader before the next pause.
            formed(&[&servers[0], &servers[1], &servers[2]], 3);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        writer.join().unwrap()
    });
    let slowest = writes.iter().map(|w| w.took).max().unwrap();
    eprintln!(
        "{} writes through the client, slowest answer {slowest:?}",
        writes.len()
    );
    for w in &writes {
        assert_eq!(
            w.answer.as_ref().map(|(s, t)| (*s, t.as_str())),
            Some((200, "true")),
            "{} after {:?}",
            w.key,
            w.took
        );
        // Consul's hold is 7 s; the pauses must not take a write anywhere near it.
        assert!(
            w.took < Duration::from_secs(6),
            "{} took {:?}",
            w.key,
            w.took
        );
    }
    // Each acknowledged, once: present, and never modified after its creation.
    let leader_now = &servers[formed(&[&servers[0], &servers[1], &servers[2]], 3)];
    let stored: Json = leader_now.get("/v1/kv/hedge/?recurse").json();
    let stored = stored.as_array().unwrap();
    assert_eq!(stored.len(), writes.len());
    for e in stored {
        assert_eq!(e["CreateIndex"], e["ModifyIndex"], "applied twice: {e}");
    }
}
