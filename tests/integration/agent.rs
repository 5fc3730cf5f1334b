//! `ctmpl agent` through its HTTP API, as Consul's clients use it: the seed's curl flow,
//! blocking queries, health checks against real local servers, KV, bad input, persistence.

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::support::{eventually, request, Agent, Backend};

fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .arg("-sS")
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_seed_flow_with_curl() {
    let agent = Agent::dev();
    let backend = Backend::start(200);
    let base = format!("http://{}", agent.addr);
    // Registration exactly as in the seed, with lower-case keys.
    let body = format!(
        r#"{{"name": "nginx","port": 8080,"tags": ["web"],"checks": [{{"http": "http://{}/","interval": "5s"}}]}}"#,
        backend.addr
    );
    curl(&[
        "-X",
        "PUT",
        "-d",
        &body,
        &format!("{base}/v1/agent/service/register"),
    ]);
    let nginx: Json =
        serde_json::from_str(&curl(&[&format!("{base}/v1/catalog/service/nginx")])).unwrap();
    let entry = &nginx[0];
    assert_eq!(entry["ServiceName"], "nginx");
    assert_eq!(entry["ServiceID"], "nginx");
    assert_eq!(entry["ServicePort"], 8080);
    assert_eq!(entry["ServiceTags"], json!(["web"]));
    assert_eq!(entry["ServiceWeights"], json!({"Passing": 1, "Warning": 1}));
    assert_eq!(entry["NodeMeta"], json!({"consul-network-segment": ""}));
    assert!(entry["CreateIndex"].as_u64().unwrap() > 0);
    // A server registers `consul` on its server port (8300 unless taken, as in the seed's output).
    let consul: Json =
        serde_json::from_str(&curl(&[&format!("{base}/v1/catalog/service/consul")])).unwrap();
    let rpc_port: u64 = agent.rpc.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(consul[0]["ServicePort"], rpc_port);
    assert_eq!(consul[0]["ServiceMeta"]["raft_version"], "3");
    // The seed's cleanup: every ID from agent/services, deregistered one by one.
    curl(&[
        "-X",
        "PUT",
        "-d",
        r#"{"name": "redis", "id": "redis-1", "port": 6379}"#,
        &format!("{base}/v1/agent/service/register"),
    ]);
    let services: Json =
        serde_json::from_str(&curl(&[&format!("{base}/v1/agent/services")])).unwrap();
    let ids: Vec<String> = services
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["ID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["nginx", "redis-1"]);
    for id in ids {
        curl(&[
            "--request",
            "PUT",
            &format!("{base}/v1/agent/service/deregister/{id}"),
        ]);
    }
    assert_eq!(curl(&[&format!("{base}/v1/agent/services")]), "{}");
    assert_eq!(curl(&[&format!("{base}/v1/catalog/service/nginx")]), "[]");
}

fn register(agent: &Agent, body: Json) {
    let r = agent.put("/v1/agent/service/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_change_wakes_a_blocking_query() {
    let agent = Agent::dev();
    let first = agent.get("/v1/catalog/service/web");
    assert_eq!(first.json(), json!([]));
    let index = first.index();
    let addr = agent.addr.clone();
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let r = request(
            &addr,
            "GET",
            &format!("/v1/catalog/service/web?index={index}&wait=60s"),
            b"",
        );
        (r, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    register(&agent, json!({"Name": "web", "Port": 80}));
    let (r, elapsed) = waiter.join().unwrap();
    assert!(r.index() > index);
    assert_eq!(r.json()[0]["ServiceName"], "web");
    // Woken by the change, not by the 60 s wait running out.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn an_unrelated_change_leaves_the_index_alone() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "Port": 80}));
    let web = agent.get("/v1/health/service/web");
    let services = agent.get("/v1/catalog/services").index();
    // Writes elsewhere: another service and a KV key.
    register(&agent, json!({"Name": "db", "Port": 5432}));
    assert_eq!(agent.put("/v1/kv/some/key", "v").status, 200);
    let again = agent.get(&format!(
        "/v1/health/service/web?index={}&wait=300ms",
        web.index()
    ));
    assert_eq!(
        again.index(),
        web.index(),
        "web's index moves only with web"
    );
    assert_eq!(again.json(), web.json());
    assert!(
        agent.get("/v1/catalog/services").index() > services,
        "the services table moved"
    );
    let kv = agent.get("/v1/kv/some/key");
    assert!(kv.index() > web.index());
    // No change at all: the same index after the wait.
    let same = agent.get(&format!("/v1/kv/some/key?index={}&wait=200ms", kv.index()));
    assert_eq!(same.index(), kv.index());
}

fn passing_count(agent: &Agent, service: &str) -> usize {
    agent
        .get(&format!("/v1/health/service/{service}?passing"))
        .json()
        .as_array()
        .unwrap()
        .len()
}

fn check_status(agent: &Agent, id: &str) -> (String, String) {
    let checks = agent.get("/v1/agent/checks").json();
    let c = &checks[id];
    (
        c["Status"].as_str().unwrap_or("").to_string(),
        c["Output"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn http_checks_follow_a_real_server() {
    let agent = Agent::dev();
    let backend = Backend::start(200);
    let check = json!({"HTTP": format!("http://{}/health", backend.addr), "Interval": "1s", "Timeout": "1s"});
    register(&agent, json!({"Name": "api", "Port": 1, "Check": check}));
    // New checks start critical; the first probe makes it passing.
    eventually(10, "api passing", || {
        (passing_count(&agent, "api") == 1).then_some(())
    });
    let (_, output) = check_status(&agent, "service:api");
    assert!(
        output.starts_with(&format!("HTTP GET http://{}/health: 200", backend.addr)),
        "{output}"
    );
    assert!(
        output.ends_with(&format!("Output: backend says 200 from {}", backend.addr)),
        "{output}"
    );
    backend.set_status(429);
    eventually(10, "api warning", || {
        (check_status(&agent, "service:api").0 == "warning").then_some(())
    });
    assert_eq!(passing_count(&agent, "api"), 0, "?passing excludes warning");
    backend.set_status(500);
    eventually(10, "api critical", || {
        (check_status(&agent, "service:api").0 == "critical").then_some(())
    });
    backend.set_status(200);
    eventually(10, "api passing again", || {
        (passing_count(&agent, "api") == 1).then_some(())
    });
}

#[test]
fn tcp_checks_see_a_closed_port() {
    let agent = Agent::dev();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    register(
        &agent,
        json!({"Name": "db", "Check": {"TCP": addr, "Interval": "1s"}}),
    );
    eventually(10, "db passing", || {
        (check_status(&agent, "service:db").0 == "passing").then_some(())
    });
    drop(listener);
    eventually(10, "db critical", || {
        (check_status(&agent, "service:db").0 == "critical").then_some(())
    });
}

#[test]
fn ttl_checks_expire_and_take_updates() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "worker", "Check": {"TTL": "1s"}}));
    assert_eq!(check_status(&agent, "service:worker").0, "critical");
    assert_eq!(
        agent
            .put("/v1/agent/check/pass/service:worker?note=alive", "")
            .status,
        200
    );
    assert_eq!(
        check_status(&agent, "service:worker"),
        ("passing".into(), "alive".into())
    );
    let (status, output) = eventually(10, "TTL expiry", || {
        let s = check_status(&agent, "service:worker");
        (s.0 == "critical").then_some(s)
    });
    assert_eq!(status, "critical");
    assert_eq!(
        output,
        "TTL expired (last output before timeout follows): alive"
    );
    let update = agent.put(
        "/v1/agent/check/update/service:worker",
        r#"{"Status": "warning", "Output": "slow"}"#,
    );
    assert_eq!(update.status, 200, "{}", update.text());
    assert_eq!(
        check_status(&agent, "service:worker"),
        ("warning".into(), "slow".into())
    );
    // Not a TTL check, and not a check at all.
    register(
        &agent,
        json!({"Name": "web", "Check": {"TCP": "127.0.0.1:1", "Interval": "10s"}}),
    );
    let r = agent.put("/v1/agent/check/pass/service:web", "");
    assert_eq!(
        (r.status, r.text()),
        (
            500,
            "CheckID \"service:web\" does not have associated TTL".into()
        )
    );
    let r = agent.put("/v1/agent/check/fail/nope", "");
    assert_eq!(r.status, 404);
}

#[test]
fn services_critical_too_long_are_deregistered() {
    // -dev honours DeregisterCriticalServiceAfter down to one second (Consul: one minute).
    let agent = Agent::dev();
    register(
        &agent,
        json!({"Name": "flaky", "Check": {"TTL": "30s", "DeregisterCriticalServiceAfter": "1s"}}),
    );
    assert_eq!(
        agent
            .get("/v1/catalog/service/flaky")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    eventually(15, "flaky deregistered", || {
        (agent.get("/v1/catalog/service/flaky").json() == json!([])).then_some(())
    });
    assert_eq!(agent.get("/v1/agent/services").json(), json!({}));
}

#[test]
fn kv_reads_writes_and_blocks() {
    let agent = Agent::dev();
    let missing = agent.get("/v1/kv/app/config");
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());
    let index = missing.index();
    let addr = agent.addr.clone();
    let waiter = std::thread::spawn(move || {
        request(
            &addr,
            "GET",
            &format!("/v1/kv/app/config?index={index}&wait=60s"),
            b"",
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        agent.put("/v1/kv/app/config?flags=42", "hello").text(),
        "true"
    );
    let found = waiter.join().unwrap();
    assert_eq!(found.status, 200);
    let entry = &found.json()[0];
    assert_eq!(entry["Key"], "app/config");
    assert_eq!(entry["Value"], "aGVsbG8=");
    assert_eq!(entry["Flags"], 42);
    assert_eq!(agent.get("/v1/kv/app/config?raw").text(), "hello");
    // cas: 0 only creates; the current ModifyIndex updates.
    let modify = entry["ModifyIndex"].as_u64().unwrap();
    assert_eq!(agent.put("/v1/kv/app/config?cas=0", "x").text(), "false");
    assert_eq!(
        agent
            .put(&format!("/v1/kv/app/config?cas={modify}"), "v2")
            .text(),
        "true"
    );
    assert_eq!(
        agent
            .put(&format!("/v1/kv/app/config?cas={modify}"), "v3")
            .text(),
        "false"
    );
    for key in ["app/db/host", "app/db/port", "app/name", "other"] {
        agent.put(&format!("/v1/kv/{key}"), key);
    }
    let keys = agent.get("/v1/kv/app/?keys&separator=/").json();
    assert_eq!(keys, json!(["app/config", "app/db/", "app/name"]));
    let tree = agent.get("/v1/kv/app/?recurse").json();
    let listed: Vec<&str> = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Key"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["app/config", "app/db/host", "app/db/port", "app/name"]
    );
    let before = agent.get("/v1/kv/app/db/?recurse").index();
    assert_eq!(agent.delete("/v1/kv/app/db/?recurse").text(), "true");
    let after = agent.get("/v1/kv/app/db/?recurse");
    assert_eq!(after.status, 404);
    assert!(
        after.index() > before,
        "a delete moves the prefix index forward"
    );
    assert_eq!(
        agent.get("/v1/kv/?keys").json(),
        json!(["app/config", "app/name", "other"])
    );
    let empty_value = agent.put("/v1/kv/empty", "");
    assert_eq!(empty_value.status, 200);
    assert_eq!(agent.get("/v1/kv/empty").json()[0]["Value"], Json::Null);
}

#[test]
fn bad_input_gets_consuls_answers_and_changes_nothing() {
    let agent = Agent::dev();
    let before = agent.get("/v1/catalog/services");
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        (
            "PUT",
            "/v1/agent/service/register",
            "{not json",
            400,
            "Request decode failed: ",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            r#"{"Name": "x", "Bogus": 1}"#,
            400,
            "Request decode failed: json: unknown field \"Bogus\"",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            r#"{"Name": "x", "Port": "80"}"#,
            400,
            "Request decode failed: json: cannot unmarshal string",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            r#"{"Port": 80}"#,
            400,
            "Missing service name",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            "",
            400,
            "Request decode failed: EOF",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            r#"{"Name": "x", "Check": {"HTTP": "http://a/", "Interval": "5 s"}}"#,
            400,
            "Request decode failed: time: ",
        ),
        (
            "PUT",
            "/v1/agent/service/register",
            r#"{"Name": "x", "Check": {"HTTP": "http://a/"}}"#,
            400,
            "Invalid check: Interval must be > 0",
        ),
        (
            "GET",
            "/v1/agent/service/register",
            "",
            405,
            "method GET not allowed",
        ),
        (
            "PUT",
            "/v1/catalog/services",
            "",
            405,
            "method PUT not allowed",
        ),
        (
            "GET",
            "/v1/nope",
            "",
            404,
            "Invalid URL path: not a recognized HTTP API endpoint",
        ),
        (
            "GET",
            "/v1/catalog/services?filter=ServiceName%20%3D%3D",
            "",
            500,
            "Failed to create boolean expression evaluator: ",
        ),
        (
            "GET",
            "/v1/catalog/services?index=x",
            "",
            400,
            "Invalid index",
        ),
        (
            "GET",
            "/v1/catalog/services?index=1&wait=forever",
            "",
            400,
            "Invalid wait time",
        ),
        (
            "GET",
            "/v1/catalog/services?stale&consistent",
            "",
            400,
            "Cannot specify ?stale with ?consistent",
        ),
        (
            "GET",
            "/v1/health/service/x?passing=maybe",
            "",
            400,
            "Invalid value for ?passing",
        ),
        ("GET", "/v1/kv/", "", 400, "Missing key name"),
        ("PUT", "/v1/kv/k?cas=abc", "v", 500, "strconv.ParseUint"),
        (
            "PUT",
            "/v1/agent/service/deregister/ghost",
            "",
            404,
            "Unknown service ID \"ghost\"",
        ),
        (
            "PUT",
            "/v1/catalog/deregister",
            "{}",
            500,
            "Must provide node",
        ),
    ];
    for (method, path, body, status, text) in cases {
        let r = request(&agent.addr, method, path, body.as_bytes());
        assert_eq!(r.status, *status, "{method} {path}: {}", r.text());
        assert!(
            r.text().starts_with(text),
            "{method} {path}: got {:?}, want {text:?}…",
            r.text()
        );
        if r.status >= 400 && r.status != 405 {
            assert!(
                r.header("Content-Type")
                    .unwrap_or("")
                    .starts_with("text/plain"),
                "{path}"
            );
        }
    }
    let big = vec![b'x'; 512 * 1024 + 1];
    let r = request(&agent.addr, "PUT", "/v1/kv/big", &big);
    assert_eq!(r.status, 413, "{}", r.text());
    let options = request(&agent.addr, "OPTIONS", "/v1/agent/service/register", b"");
    assert_eq!(
        (options.status, options.header("Allow")),
        (200, Some("OPTIONS,PUT"))
    );
    let after = agent.get("/v1/catalog/services");
    assert_eq!(
        (after.index(), after.json()),
        (before.index(), before.json()),
        "nothing changed"
    );
    assert_eq!(agent.get("/v1/kv/big").status, 404);
}

#[test]
fn filters_tags_and_node_meta_select_instances() {
    let agent = Agent::dev();
    register(
        &agent,
        json!({"Name": "web", "ID": "web-1", "Tags": ["v1", "prod"], "Meta": {"build": "7"}}),
    );
    register(
        &agent,
        json!({"Name": "web", "ID": "web-2", "Tags": ["v2"]}),
    );
    let ids = |path: &str| -> Vec<String> {
        let r = agent.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.get("ServiceID")
                    .or(e.get("Service").and_then(|s| s.get("ID")))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids("/v1/catalog/service/web?tag=prod"), ["web-1"]);
    assert_eq!(
        ids("/v1/catalog/service/web?filter=ServiceMeta.build%20%3D%3D%20%227%22"),
        ["web-1"]
    );
    assert_eq!(
        ids("/v1/health/service/web?filter=%22v2%22%20in%20Service.Tags"),
        ["web-2"]
    );
    assert_eq!(
        ids("/v1/catalog/service/web?node-meta=consul-network-segment:"),
        ["web-1", "web-2"]
    );
    assert_eq!(
        ids("/v1/catalog/service/web?node-meta=rack:r9"),
        Vec::<String>::new()
    );
    let services = agent
        .get("/v1/catalog/services?filter=ServiceID%20%3D%3D%20%22web-2%22")
        .json();
    assert_eq!(services, json!({"web": ["v2"]}));
}

#[test]
fn agent_self_members_and_status_answer_like_consul() {
    let agent = Agent::dev();
    let me = agent.get("/v1/agent/self").json();
    assert!(me["Config"]["NodeName"].is_string());
    assert_eq!(me["Config"]["Datacenter"], "dc1");
    assert_eq!(me["Config"]["Server"], true);
    // Consul's version, which the API imitates, and ctmpl's own beside it.
    assert_eq!(me["Config"]["Version"], "1.18.0");
    assert_eq!(me["Config"]["CtmplVersion"], env!("CARGO_PKG_VERSION"));
    let members = agent.get("/v1/agent/members").json();
    assert_eq!(members[0]["Tags"]["role"], "consul");
    assert_eq!(members[0]["Status"], 1);
    assert_eq!(agent.get("/v1/status/leader").json(), json!(agent.rpc));
    assert_eq!(agent.get("/v1/status/peers").json(), json!([agent.rpc]));
    assert_eq!(agent.get("/v1/catalog/datacenters").json(), json!(["dc1"]));
    let node = me["Config"]["NodeName"].as_str().unwrap();
    let health = agent.get(&format!("/v1/health/node/{node}")).json();
    assert_eq!(health[0]["CheckID"], "serfHealth");
    assert_eq!(health[0]["Output"], "Agent alive and reachable");
}

/// A single persistent server keeping its data in `data`, on loopback (without `-bind`, a host
/// with several private addresses is refused, as Consul refuses it).
fn single_server(data: &str) -> [&str; 10] {
    [
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data,
        "-http-port",
        "0",
        "-node",
        "n1",
    ]
}

#[test]
fn a_persistent_server_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = single_server(data.to_str().unwrap());
    let agent = Agent::start(&args);
    register(
        &agent,
        json!({"Name": "web", "Port": 80, "Check": {"TTL": "1h"}}),
    );
    agent.put("/v1/agent/check/pass/service:web", "");
    agent.put("/v1/kv/app/config", "persisted");
    let index = agent.get("/v1/catalog/services").index();
    let node_id = agent.get("/v1/agent/self").json()["Config"]["NodeID"].clone();
    let (_, status) = agent.stop();
    assert!(status.success(), "{status:?}");

    let agent = Agent::start(&args);
    assert_eq!(agent.get("/v1/kv/app/config?raw").text(), "persisted");
    assert_eq!(
        agent.get("/v1/catalog/service/web").json()[0]["ServicePort"],
        80
    );
    assert_eq!(agent.get("/v1/agent/services").json()["web"]["Port"], 80);
    assert_eq!(check_status(&agent, "service:web").0, "passing");
    assert_eq!(
        agent.get("/v1/agent/self").json()["Config"]["NodeID"],
        node_id
    );
    assert!(agent.get("/v1/catalog/services").index() >= index);
    // It still takes writes after the restart.
    assert_eq!(agent.put("/v1/kv/after", "1").text(), "true");
}

#[test]
fn a_server_killed_outright_keeps_every_acknowledged_write() {
    // SIGKILL leaves the newest writes only in the log's journal (redb makes them durable at
    // its next checkpoint): the restarted server replays them. 1,500 writes cross a checkpoint.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = single_server(data.to_str().unwrap());
    let agent = Agent::start(&args);
    for i in 0..1500 {
        assert_eq!(
            agent.put(&format!("/v1/kv/k/{i}"), &i.to_string()).text(),
            "true"
        );
    }
    assert_eq!(agent.put("/v1/kv/k/7", "changed").text(), "true");
    assert_eq!(agent.delete("/v1/kv/k/8").text(), "true");
    agent.kill();

    let agent = Agent::start(&args);
    let keys: Vec<String> = serde_json::from_value(agent.get("/v1/kv/k/?keys").json()).unwrap();
    assert_eq!(keys.len(), 1499);
    assert_eq!(agent.get("/v1/kv/k/1499?raw").text(), "1499");
    assert_eq!(agent.get("/v1/kv/k/7?raw").text(), "changed");
    assert_eq!(agent.get("/v1/kv/k/8").status, 404);
    assert_eq!(agent.put("/v1/kv/after", "1").text(), "true");
}

#[test]
fn shutdown_answers_open_blocking_queries() {
    let agent = Agent::dev();
    let index = agent.get("/v1/catalog/services").index();
    let addr = agent.addr.clone();
    let waiter = std::thread::spawn(move || {
        request(
            &addr,
            "GET",
            &format!("/v1/catalog/services?index={index}&wait=5m"),
            b"",
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let (took, status) = agent.stop();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let r = waiter.join().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.index(), index);
}

#[test]
fn config_files_register_services_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.json");
    std::fs::write(
        &file,
        r#"{"service": {"name": "web", "port": 8080, "tags": ["from-file"]}}"#,
    )
    .unwrap();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-dir",
        dir.path().to_str().unwrap(),
    ]);
    let web = agent.get("/v1/catalog/service/web").json();
    assert_eq!(web[0]["ServiceTags"], json!(["from-file"]));
    std::fs::write(dir.path().join("bad.json"), r#"{"nonsense": 1}"#).unwrap();
    let out = crate::ctmpl()
        .args([
            "agent",
            "-dev",
            "-http-port",
            "0",
            "-config-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("nonsense"),
        "{err}"
    );
}

/// A virtualenv with py-consul, made once under the cargo target directory.
fn py_consul() -> std::path::PathBuf {
    crate::support::python_venv("pyconsul-venv", &["py-consul==1.8.0"])
}

#[test]
fn a_third_party_client_library_works() {
    let agent = Agent::dev();
    let out = std::process::Command::new(py_consul())
        .arg(crate::repo_path("tests/pyconsul_client.py"))
        .arg(&agent.addr)
        .output()
        .expect("run py-consul client");
    assert!(
        out.status.success(),
        "py-consul client failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn catalog_writes_and_health_views() {
    let agent = Agent::dev();
    let register = json!({
        "Datacenter": "dc1", "Node": "ext-1", "Address": "10.1.2.3", "NodeMeta": {"rack": "r1"},
        "Service": {"Service": "search", "ID": "search-1", "Port": 9200, "Tags": ["es"]},
        "Check": {"CheckID": "search-alive", "Name": "search alive", "Status": "warning", "ServiceID": "search-1"}
    });
    let r = agent.put("/v1/catalog/register", &register.to_string());
    assert_eq!((r.status, r.text()), (200, "true".into()));
    let node = agent.get("/v1/catalog/node/ext-1").json();
    assert_eq!(node["Node"]["Address"], "10.1.2.3");
    assert_eq!(node["Services"]["search-1"]["Port"], 9200);
    assert_eq!(agent.get("/v1/catalog/node/nobody").json(), Json::Null);
    let nodes = agent.get("/v1/catalog/nodes?node-meta=rack:r1").json();
    assert_eq!(nodes.as_array().unwrap().len(), 1);
    let warning = agent.get("/v1/health/state/warning").json();
    assert_eq!(warning[0]["CheckID"], "search-alive");
    assert_eq!(warning[0]["ServiceName"], "search");
    let checks = agent.get("/v1/health/checks/search").json();
    assert_eq!(checks[0]["Status"], "warning");
    assert_eq!(
        agent.get("/v1/health/service/search?passing").json(),
        json!([])
    );
    let all = agent.get("/v1/health/state/any").json();
    assert!(
        all.as_array().unwrap().len() >= 2,
        "serfHealth and search-alive"
    );
    let r = agent.put(
        "/v1/catalog/deregister",
        r#"{"Node": "ext-1", "ServiceID": "search-1"}"#,
    );
    assert_eq!(r.text(), "true");
    assert_eq!(agent.get("/v1/catalog/service/search").json(), json!([]));
    assert_eq!(
        agent.get("/v1/health/state/warning").json(),
        json!([]),
        "its check went with it"
    );
    agent.put("/v1/catalog/deregister", r#"{"Node": "ext-1"}"#);
    assert_eq!(agent.get("/v1/catalog/node/ext-1").json(), Json::Null);
    let r = agent.put("/v1/catalog/register", r#"{"Node": "x"}"#);
    assert_eq!(
        (r.status, r.text()),
        (
            500,
            "Must provide address if SkipNodeUpdate is not set".into()
        )
    );
}
