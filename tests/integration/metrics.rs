//! Telemetry: the agent's `/v1/agent/metrics` (Consul's JSON and Prometheus text), the
//! renderer's `-status-addr` listener (`/metrics`, `/status`) and `ctmpl -dev`'s UI and
//! `/v1/ctmpl/templates`. Prometheus text is read by a real parser, Python's
//! `prometheus_client`, so what Prometheus would refuse fails here.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value as Json};

use crate::ctmpl;
use crate::support::{eventually, free_port, python_venv, request, Agent, Process};

const PROMETHEUS_CLIENT: &str = "prometheus_client==0.26.0";

/// Prints the families `text_string_to_metric_families` reads from stdin, as JSON.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
"#;

/// Prometheus text as the parser read it.
struct Scrape(Vec<Json>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let python = python_venv("prometheus-venv", &[PROMETHEUS_CLIENT]);
        let mut child = Command::new(python)
            .args(["-c", PARSE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the Prometheus parser");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("feed the parser");
        let out = child.wait_with_output().expect("parser output");
        assert!(
            out.status.success(),
            "prometheus_client refused the text: {}\n--- text\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let families: Json = serde_json::from_slice(&out.stdout).expect("parser JSON");
        Scrape(families.as_array().expect("families").clone())
    }

    /// The family's type (`counter`, `gauge`, `summary`…).
    fn kind(&self, family: &str) -> Option<String> {
        self.0
            .iter()
            .find(|f| f["name"] == family)
            .map(|f| f["type"].as_str().unwrap_or_default().to_string())
    }

    /// The value of the sample named `sample` whose labels include `labels`.
    fn value(&self, sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .iter()
            .flat_map(|f| f["samples"].as_array().cloned().unwrap_or_default())
            .find(|s| s["name"] == sample && labels.iter().all(|(k, v)| s["labels"][k] == *v))
            .and_then(|s| s["value"].as_f64())
    }

    fn get(&self, sample: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(sample, labels)
            .unwrap_or_else(|| panic!("no sample {sample} {labels:?} in {:#?}", self.0))
    }
}

fn scrape_agent(agent: &Agent) -> Scrape {
    let r = agent.get("/v1/agent/metrics?format=prometheus");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.header("Content-Type")
    );
    Scrape::parse(&r.text())
}

const CHECKS: &str = "consul_state_checks";

#[test]
fn agent_prometheus_metrics_follow_requests_writes_and_checks() {
    let agent = Agent::dev();
    eventually(10, "the agent leading", || {
        (scrape_agent(&agent).get("consul_server_isLeader", &[]) == 1.0).then_some(())
    });
    let before = scrape_agent(&agent);
    assert_eq!(
        before.kind("consul_raft_commitTime").as_deref(),
        Some("summary")
    );
    assert_eq!(
        before.kind("consul_api_http_requests").as_deref(),
        Some("counter")
    );
    assert_eq!(before.kind("consul_state_nodes").as_deref(), Some("gauge"));
    assert_eq!(before.get("consul_raft_state_leader_total", &[]), 1.0);
    assert_eq!(before.get("consul_state_nodes", &[]), 1.0);
    let put_kv = [("method", "PUT"), ("path", "v1_kv_"), ("code", "200")];
    let missing = [
        ("method", "GET"),
        ("path", "v1_catalog_service_"),
        ("code", "400"),
    ];
    assert_eq!(
        before.value("consul_api_http_requests_total", &put_kv),
        None
    );

    assert_eq!(agent.put("/v1/kv/app/a", "1").status, 200);
    assert_eq!(agent.get("/v1/catalog/service/").status, 400);
    let after = scrape_agent(&agent);
    assert_eq!(after.get("consul_api_http_requests_total", &put_kv), 1.0);
    assert_eq!(after.get("consul_api_http_requests_total", &missing), 1.0);
    assert_eq!(
        after.get(
            "consul_api_http_count",
            &[("method", "PUT"), ("path", "v1_kv_")]
        ),
        1.0
    );
    assert_eq!(
        after.get("consul_state_kv_entries", &[]),
        before.get("consul_state_kv_entries", &[]) + 1.0
    );
    assert!(
        after.get("consul_raft_commitTime_count", &[])
            > before.get("consul_raft_commitTime_count", &[])
    );
    assert!(
        after.get("consul_raft_applied_index", &[]) > before.get("consul_raft_applied_index", &[])
    );

    // A service with a TTL check: one more instance and name; the check starts critical.
    let service = json!({"Name": "web", "ID": "web-1", "Port": 80, "Check": {"TTL": "60s"}});
    let r = agent.put("/v1/agent/service/register", &service.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    let registered = eventually(10, "the service in the catalog sizes", || {
        let s = scrape_agent(&agent);
        (s.get("consul_state_service_instances", &[])
            == before.get("consul_state_service_instances", &[]) + 1.0)
            .then_some(s)
    });
    assert_eq!(
        registered.get("consul_state_services", &[]),
        before.get("consul_state_services", &[]) + 1.0
    );
    let critical = registered.get(CHECKS, &[("status", "critical")]);
    let passing = registered.get(CHECKS, &[("status", "passing")]);
    assert!(critical >= 1.0, "a new TTL check is critical");
    assert_eq!(
        agent.put("/v1/agent/check/pass/service:web-1", "").status,
        200
    );
    eventually(10, "the check counted as passing", || {
        let s = scrape_agent(&agent);
        (s.get(CHECKS, &[("status", "passing")]) == passing + 1.0
            && s.get(CHECKS, &[("status", "critical")]) == critical - 1.0)
            .then_some(())
    });
    assert_eq!(
        agent.put("/v1/agent/check/fail/service:web-1", "").status,
        200
    );
    eventually(10, "the check counted as critical again", || {
        let s = scrape_agent(&agent);
        (s.get(CHECKS, &[("status", "critical")]) == critical).then_some(())
    });
}

#[test]
fn agent_metrics_count_blocking_queries_while_they_wait() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/kv/wait/k", "1").status, 200);
    let index = agent.get("/v1/kv/wait/k").index();
    let addr = agent.addr.clone();
    let blocked = std::thread::spawn(move || {
        request(
            &addr,
            "GET",
            &format!("/v1/kv/wait/k?index={index}&wait=30s"),
            b"",
        )
    });
    eventually(10, "one blocking query counted", || {
        (scrape_agent(&agent).get("consul_rpc_queries_blocking", &[]) == 1.0).then_some(())
    });
    assert_eq!(agent.put("/v1/kv/wait/k", "2").status, 200);
    assert_eq!(blocked.join().expect("blocking reader").status, 200);
    eventually(10, "no blocking query left", || {
        (scrape_agent(&agent).get("consul_rpc_queries_blocking", &[]) == 0.0).then_some(())
    });
}

#[test]
fn agent_metrics_json_has_consuls_shape() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/kv/shape", "1").status, 200);
    let r = agent.get("/v1/agent/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    let m = r.json();
    let stamp = m["Timestamp"].as_str().expect("Timestamp");
    assert!(
        stamp.len() == 29 && stamp.ends_with(" +0000 UTC"),
        "Go's time.String() in UTC: {stamp}"
    );
    assert_eq!(m["Points"], json!([]));
    let named = |list: &str, name: &str| -> Vec<Json> {
        m[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} is a list"))
            .iter()
            .filter(|v| v["Name"] == name)
            .cloned()
            .collect()
    };
    let leader = named("Gauges", "consul.server.isLeader");
    assert_eq!(leader.len(), 1);
    assert_eq!(leader[0]["Value"], 1.0);
    assert_eq!(leader[0]["Labels"], json!({}));
    let http = named("Samples", "consul.api.http");
    let put = http
        .iter()
        .find(|s| s["Labels"] == json!({"method": "PUT", "path": "v1_kv_"}))
        .unwrap_or_else(|| panic!("consul.api.http for the PUT in {http:?}"));
    for field in ["Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev"] {
        assert!(put[field].is_number(), "{field} in {put}");
    }
    assert_eq!(put["Count"], 1);
    let leaderships = named("Counters", "consul.raft.state.leader");
    assert_eq!(leaderships[0]["Count"], 1);
    assert!(!named("Samples", "consul.raft.commitTime").is_empty());

    let bad = agent.get("/v1/agent/metrics?format=xml");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("\"xml\""), "{}", bad.text());
}

/// A ctmpl run with its status listener; stopped (SIGTERM) when dropped.
struct Renderer {
    _process: Process,
    status: String,
    dir: tempfile::TempDir,
}

impl Renderer {
    /// Renders `a.tmpl` (key `app/a`, command `true`) and `b.tmpl` (key `app/b`, command
    /// `false`) against `agent`.
    fn start(agent_addr: &str) -> Renderer {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.tmpl"), "a={{ key \"app/a\" }}\n").unwrap();
        std::fs::write(dir.path().join("b.tmpl"), "b={{ key \"app/b\" }}\n").unwrap();
        let status = format!("127.0.0.1:{}", free_port());
        let process = Process::spawn(
            ctmpl()
                .current_dir(dir.path())
                .args(["-consul-addr", agent_addr, "-status-addr", &status])
                .args(["-template", "a.tmpl:a.out:true"])
                .args(["-template", "b.tmpl:b.out:false"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let r = Renderer {
            _process: process,
            status,
            dir,
        };
        eventually(10, "the status listener", || {
            std::net::TcpStream::connect(&r.status).ok()
        });
        r
    }

    fn status(&self) -> Json {
        let r = request(&self.status, "GET", "/status", b"");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    fn scrape(&self) -> Scrape {
        let r = request(&self.status, "GET", "/metrics", b"");
        assert_eq!(r.status, 200, "{}", r.text());
        Scrape::parse(&r.text())
    }
}

#[test]
fn renderer_status_shows_missing_keys_then_renders_and_commands() {
    let agent = Agent::dev();
    let ct = Renderer::start(&agent.addr);
    let status = eventually(10, "both templates waiting for their keys", || {
        let s = ct.status();
        (s["templates"].as_array().map(Vec::len) == Some(2)).then_some(s)
    });
    let a = &status["templates"][0];
    assert_eq!(a["name"], "a.tmpl");
    assert_eq!(a["source"], "a.tmpl");
    assert_eq!(a["destination"], "a.out");
    assert_eq!(a["dependencies"], json!(["kv.block(app/a)"]));
    assert_eq!(a["missing"], json!(["kv.block(app/a)"]));
    assert_eq!(a["rendered"], false);
    assert_eq!(a["last_render"], Json::Null);
    let a_labels = [("template", "a.tmpl"), ("destination", "a.out")];
    let b_labels = [("template", "b.tmpl"), ("destination", "b.out")];
    let waiting = ct.scrape();
    assert_eq!(
        waiting.kind("ctmpl_template_renders").as_deref(),
        Some("counter")
    );
    assert_eq!(
        waiting.get("ctmpl_template_dependencies_missing", &a_labels),
        1.0
    );
    assert_eq!(waiting.get("ctmpl_template_dependencies", &a_labels), 1.0);
    assert_eq!(waiting.get("ctmpl_template_renders_total", &a_labels), 0.0);
    assert_eq!(waiting.get("ctmpl_template_rendered", &a_labels), 0.0);

    assert_eq!(agent.put("/v1/kv/app/a", "1").status, 200);
    let rendered = eventually(10, "a.tmpl rendered", || {
        let s = ct.scrape();
        (s.get("ctmpl_template_command_runs_total", &a_labels) == 1.0).then_some(s)
    });
    assert_eq!(
        rendered.get("ctmpl_template_dependencies_missing", &a_labels),
        0.0
    );
    assert_eq!(rendered.get("ctmpl_template_renders_total", &a_labels), 1.0);
    assert_eq!(rendered.get("ctmpl_template_rendered", &a_labels), 1.0);
    assert_eq!(
        rendered.get("ctmpl_template_command_failures_total", &a_labels),
        0.0
    );
    assert!(rendered.get("ctmpl_template_last_render_timestamp_seconds", &a_labels) > 1.7e9);
    assert!(rendered.get("ctmpl_template_last_render_duration_seconds", &a_labels) > 0.0);
    assert_eq!(
        rendered.get("ctmpl_template_dependencies_missing", &b_labels),
        1.0
    );
    assert_eq!(
        std::fs::read_to_string(ct.dir.path().join("a.out")).unwrap(),
        "a=1\n"
    );
    let a = &ct.status()["templates"][0];
    assert_eq!((&a["rendered"], &a["missing"]), (&json!(true), &json!([])));
    assert!(a["last_render"].as_f64().is_some_and(|t| t > 1.7e9), "{a}");

    assert_eq!(agent.put("/v1/kv/app/b", "2").status, 200);
    let failed = eventually(10, "b.tmpl's command failing", || {
        let s = ct.scrape();
        (s.get("ctmpl_template_command_failures_total", &b_labels) == 1.0).then_some(s)
    });
    assert_eq!(
        failed.get("ctmpl_template_command_runs_total", &b_labels),
        1.0
    );
    assert_eq!(failed.get("ctmpl_template_renders_total", &a_labels), 1.0);

    let other = request(&ct.status, "GET", "/nope", b"");
    assert_eq!(other.status, 404);
    assert!(other.text().contains("/metrics"), "{}", other.text());
    let post = request(&ct.status, "POST", "/status", b"");
    assert_eq!(post.status, 405);
}

#[test]
fn a_status_address_that_cannot_be_bound_is_a_config_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.tmpl"), "x").unwrap();
    let out = ctmpl()
        .current_dir(dir.path())
        .args(["-consul-addr", "127.0.0.1:1", "-status-addr", &addr])
        .args(["-template", "t.tmpl:t.out", "-once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(15), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("-status-addr {addr}")), "{err}");
}

#[test]
fn the_status_block_of_a_config_file_starts_the_listener() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let status = format!("127.0.0.1:{}", free_port());
    std::fs::write(dir.path().join("t.tmpl"), "{{ key \"cfg/k\" }}").unwrap();
    std::fs::write(
        dir.path().join("ct.hcl"),
        format!(
            "status {{\n  address = \"{status}\"\n}}\ntemplate {{\n  source = \"t.tmpl\"\n  destination = \"t.out\"\n}}\n"
        ),
    )
    .unwrap();
    let _ct = Process::spawn(
        ctmpl()
            .current_dir(dir.path())
            .args(["-consul-addr", &agent.addr, "-config", "ct.hcl"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let s = eventually(10, "the listener from the config file", || {
        std::net::TcpStream::connect(&status).ok()?;
        let s = request(&status, "GET", "/status", b"").json();
        (s["templates"][0]["missing"] == json!(["kv.block(cfg/k)"])).then_some(s)
    });
    assert_eq!(s["templates"][0]["destination"], "t.out");
}

#[test]
fn ctmpl_dev_serves_the_ui_and_the_templates_status() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.tmpl"), "{{ key \"dev/k\" }}").unwrap();
    let _ct = Process::spawn(
        ctmpl()
            .current_dir(dir.path())
            .args(["-dev", "-dev-http-port", &port.to_string()])
            .args(["-template", "t.tmpl:t.out"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let templates = eventually(15, "the templates' status on the embedded agent", || {
        std::net::TcpStream::connect(&addr).ok()?;
        let r = request(&addr, "GET", "/v1/ctmpl/templates", b"");
        // The agent answers before the run has attached its status (a 404 until then).
        (r.status == 200).then_some(())?;
        let t = r.json();
        (t["templates"][0]["missing"] == json!(["kv.block(dev/k)"])).then_some(t)
    });
    assert_eq!(templates["templates"][0]["name"], "t.tmpl");
    let ui = request(&addr, "GET", "/ui/", b"");
    assert_eq!(ui.status, 200, "{}", ui.text());
    assert!(ui.text().contains("<html"), "{}", ui.text());
    assert_eq!(request(&addr, "PUT", "/v1/kv/dev/k", b"v").status, 200);
    eventually(10, "the render seen by the agent", || {
        let t = request(&addr, "GET", "/v1/ctmpl/templates", b"").json();
        (t["templates"][0]["rendered"] == true).then_some(())
    });

    // A plain agent runs no templates.
    let plain = Agent::dev();
    let r = plain.get("/v1/ctmpl/templates");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("ctmpl -dev"), "{}", r.text());
}
