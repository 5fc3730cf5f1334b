//! consul-template's functions against the real agent, through the real binary
//! (`ctmpl -consul-addr ADDR -template T -once -dry`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::support::{eventually, Agent};

/// Renders `template` once against `agent`, returning what `-dry` printed after `> `.
/// Runs `ctmpl -once -dry` with `template` against `agent`.
fn run_once(agent: &Agent, template: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ctmpl");
    std::fs::write(&path, template).unwrap();
    crate::ctmpl()
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            path.to_str().unwrap(),
            "-once",
            "-dry",
        ])
        .output()
        .unwrap()
}

/// What `-dry` printed after its `> ` line, for a run that must succeed.
fn render(agent: &Agent, template: &str) -> String {
    let out = run_once(agent, template);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ctmpl failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .strip_prefix("> \n")
        .unwrap_or_else(|| panic!("no dry header in {stdout:?}"))
        .to_string()
}

/// A catalog with tags, meta, several instances and health states, and a KV tree.
fn populated() -> Agent {
    let agent = Agent::dev();
    let reg = |body: serde_json::Value| {
        let r = agent.put("/v1/agent/service/register", &body.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
    };
    reg(
        json!({"Name": "web", "ID": "web-1", "Port": 8001, "Tags": ["v1", "http"], "Meta": {"version": "1"},
               "Check": {"TTL": "1h", "Status": "passing"}}),
    );
    reg(
        json!({"Name": "web", "ID": "web-2", "Port": 8002, "Address": "10.0.0.2", "Tags": ["v2", "http"],
               "Meta": {"version": "2"}, "Check": {"TTL": "1h", "Status": "warning"}}),
    );
    reg(
        json!({"Name": "web", "ID": "web-3", "Port": 8003, "Tags": ["v1"], "Check": {"TTL": "1h"}}),
    );
    reg(json!({"Name": "db", "Port": 5432, "Tags": ["primary"]}));
    let ext = json!({"Node": "ext-1", "Address": "10.9.9.9", "NodeMeta": {"rack": "r1"},
                     "Service": {"Service": "search", "ID": "search-1", "Port": 9200, "Tags": ["es"]}});
    assert_eq!(
        agent.put("/v1/catalog/register", &ext.to_string()).text(),
        "true"
    );
    for (k, v) in [
        ("app/config", "cfg"),
        ("app/db/host", "db.local"),
        ("app/db/port", "5432"),
        ("app/folder/", ""),
        ("other", "x"),
    ] {
        assert_eq!(agent.put(&format!("/v1/kv/{k}"), v).text(), "true");
    }
    agent
}

fn node_name(agent: &Agent) -> String {
    agent.get("/v1/agent/self").json()["Config"]["NodeName"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn service_filters_tags_and_fields() {
    let agent = populated();
    let node = node_name(&agent);
    let out = render(
        &agent,
        r#"{{range service "web"}}{{.ID}}:{{.Port}}:{{.Status}} {{end}}
{{range service "web|any"}}{{.ID}}={{.Status}} {{end}}
{{range service "web" "passing,warning"}}{{.ID}} {{end}}
{{range service "web|critical"}}{{.ID}} {{end}}
{{range service "v1.web|any"}}{{.ID}} {{end}}
{{range $i, $s := service "web|any"}}{{if eq $i 1}}{{.Address}} {{.NodeAddress}} {{.Tags}} {{.Tags.Contains "v2"}} {{.ServiceMeta.version}} {{.Weights.Passing}} {{len .Checks}} {{.Node}}{{end}}{{end}}
{{range service "db"}}{{.Name}} {{.Address}} {{.NodeMeta}}{{end}}"#,
    );
    let want = format!(
        "web-1:8001:passing \nweb-1=passing web-2=warning web-3=critical \nweb-1 web-2 \nweb-3 \nweb-1 web-3 \n10.0.0.2 127.0.0.1 [http v2] true 2 1 2 {node}\n"
    );
    // db has no checks of its own: only serfHealth, so it is passing.
    assert_eq!(
        out,
        format!("{want}db 127.0.0.1 map[consul-network-segment:]")
    );
}

#[test]
fn catalog_functions() {
    let agent = populated();
    let node = node_name(&agent);
    let out = render(
        &agent,
        r#"{{range services}}{{.Name}}{{.Tags}} {{end}}
{{range nodes}}{{.Node}}@{{.Address}} {{end}}
{{with node}}{{.Node.Node}}:{{range .Services}}{{.Service}}/{{.ID}} {{end}}{{end}}
{{with node "ext-1"}}{{.Node.Address}} {{.Node.Meta.rack}} {{range .Services}}{{.Service}}:{{.Port}}{{.Tags}}{{end}}{{end}}
{{with node "nobody"}}{{.Node}}{{end}}
{{datacenters}}"#,
    );
    let mut nodes = [format!("{node}@127.0.0.1"), "ext-1@10.9.9.9".to_string()];
    nodes.sort();
    assert_eq!(
        out,
        format!(
            "consul[] db[primary] search[es] web[http v1 v2] \n{} \n{node}:consul/consul db/db web/web-1 web/web-2 web/web-3 \n10.9.9.9 r1 search:9200[es]\n<nil>\n[dc1]",
            nodes.join(" ")
        )
    );
}

#[test]
fn kv_functions() {
    let agent = populated();
    let out = render(
        &agent,
        r#"{{key "app/config"}}|{{key "/app/db/host"}}|{{keyExists "app/config"}}|{{keyExists "nope"}}|{{keyOrDefault "nope" "fallback"}}|{{keyOrDefault "app/folder/" "empty-means-default"}}
{{range ls "app"}}{{.Key}}={{.Value}} {{end}}
{{range tree "app"}}{{.Key}}={{.Value}} {{end}}
{{range tree "app/db/"}}{{.Path}}:{{.Key}}:{{.Flags}} {{end}}
{{range $k, $pairs := tree "app" | byKey}}{{$k}}({{range $pairs}}{{.Key}} {{end}}){{end}}"#,
    );
    assert_eq!(
        out,
        "cfg|db.local|true|false|fallback|empty-means-default\nconfig=cfg \nconfig=cfg db/host=db.local db/port=5432 \napp/db/host:host:0 app/db/port:port:0 \ndb(host port )"
    );
}

/// Runs ctmpl in the background; its stdout lines arrive on the channel.
pub(crate) fn spawn(
    agent_addr: &str,
    template: &str,
    dir: &tempfile::TempDir,
    extra: &[&str],
) -> (Child, mpsc::Receiver<String>) {
    let path = dir.path().join("t.ctmpl");
    std::fs::write(&path, template).unwrap();
    let mut child = crate::ctmpl()
        .args([
            "-consul-addr",
            agent_addr,
            "-template",
            path.to_str().unwrap(),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

pub(crate) fn wait_line(rx: &mpsc::Receiver<String>, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line == want => return,
            Ok(_) => {}
            Err(_) => panic!("no line {want:?} within 20 s"),
        }
    }
}

#[test]
fn safe_ls_and_missing_keys_hold_the_template_back() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, rx) = spawn(
        &agent.addr,
        "{{range safeLs \"empty/\"}}{{.Key}}{{end}}+{{key \"late\"}}\n",
        &dir,
        &["-once", "-dry"],
    );
    // Nothing is printed while the prefix is empty and the key is missing.
    assert!(
        rx.recv_timeout(Duration::from_millis(1500)).is_err(),
        "rendered too early"
    );
    agent.put("/v1/kv/empty/a", "1");
    assert!(
        rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "the key is still missing"
    );
    agent.put("/v1/kv/late", "now");
    wait_line(&rx, "a+now");
    assert!(
        child.wait().unwrap().success(),
        "-once exits after rendering"
    );
}

#[test]
fn the_seed_template_renders_the_seed_config() {
    let agent = Agent::dev();
    // nginx registered as in the seed, its check failing: no healthy instance.
    let body = r#"{"name": "nginx","port": 8080,"tags": ["web"],"checks": [{"http": "http://127.0.0.1:1/","interval": "5s"}]}"#;
    assert_eq!(agent.put("/v1/agent/service/register", body).status, 200);
    let template = std::fs::read_to_string(crate::repo_path("templates/nginx.conf.ctmpl")).unwrap();
    let out = render(&agent, &template);
    let want = "  \nupstream consul {\n  zone upstream-consul 64k;\n  server 127.0.0.1:8300 max_fails=3 fail_timeout=60 weight=1;\n  \n}   \nupstream nginx {\n  zone upstream-nginx 64k;\n  server 127.0.0.1:65535; # force a 502\n} \n\nserver {\n  listen 80 default_server;\n\n  location / {\n    root /usr/share/nginx/html/;\n    index index.html;\n  }\n\n  location /stub_status {\n    stub_status;\n  }\n\n \n  location /consul {\n    proxy_pass http://consul;\n  }\n \n  location /nginx {\n    proxy_pass http://nginx;\n  }\n\n}\n";
    // The seed's output names 8300; the test agent's server port is a free one.
    assert_eq!(out, want.replace("127.0.0.1:8300", &agent.rpc));
}

#[test]
fn the_watcher_follows_changes_and_an_index_going_backwards() {
    // A fixed port, so a second agent can take the first one's place.
    let port = crate::support::free_port().to_string();
    let first = Agent::start(&["-dev", "-http-port", &port]);
    for i in 0..30 {
        first.put(&format!("/v1/kv/filler/{i}"), "x");
    }
    first.put("/v1/kv/color", "red");
    let high = first.get("/v1/kv/color").index();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, rx) = spawn(&first.addr, "color={{key \"color\"}}\n", &dir, &["-dry"]);
    wait_line(&rx, "color=red");
    first.put("/v1/kv/color", "green");
    wait_line(&rx, "color=green");
    // The agent restarts empty: indexes start again far below what the watcher holds.
    drop(first);
    let second = Agent::start(&["-dev", "-http-port", &port]);
    second.put("/v1/kv/color", "blue");
    assert!(second.get("/v1/kv/color").index() < high);
    wait_line(&rx, "color=blue");
    let _ = child.kill();
    let _ = child.wait();
    eventually(1, "cleanup", || Some(()));
}

#[test]
fn bad_arguments_and_unsupported_functions_are_errors() {
    let agent = Agent::dev();
    for (template, message) in [
        (
            r#"{{service "web|bogus"}}"#,
            "health.service: invalid filter: \"bogus\"",
        ),
        (
            r#"{{secret "kv/x"}}"#,
            "secret: Vault functions are not supported by ctmpl",
        ),
        (r#"{{nomadServices}}"#, "Nomad functions are not supported"),
        (r#"{{key "a@b@c"}}"#, "kv.get: invalid format"),
        ("{{nope}}", "function \"nope\" not defined"),
    ] {
        let out = run_once(&agent, template);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{template}");
        assert!(err.contains(message), "{template}: {err}");
    }
}

#[test]
fn the_haproxy_and_app_config_templates() {
    let agent = Agent::dev();
    let reg = |body: serde_json::Value| {
        assert_eq!(
            agent
                .put("/v1/agent/service/register", &body.to_string())
                .status,
            200
        )
    };
    reg(
        json!({"Name": "web", "ID": "web-1", "Port": 8001, "Tags": ["http"], "Check": {"TTL": "1h", "Status": "passing"}}),
    );
    reg(
        json!({"Name": "api", "ID": "api-1", "Port": 9001, "Tags": ["http"], "Check": {"TTL": "1h"}}),
    );
    reg(json!({"Name": "db", "Port": 5432}));
    let node = node_name(&agent);
    let haproxy = render(
        &agent,
        &std::fs::read_to_string(crate::repo_path("templates/haproxy.cfg.ctmpl")).unwrap(),
    );
    assert!(
        haproxy
            .contains("    acl host_web hdr(host) -i web.local\n    use_backend web if host_web"),
        "{haproxy}"
    );
    assert!(haproxy.contains(&format!("backend web\n    balance roundrobin\n    server {node}-web-1 127.0.0.1:8001 check weight 1")), "{haproxy}");
    assert!(haproxy.contains("backend api\n    balance roundrobin\n    # no healthy instance\n    http-request return status 503"), "{haproxy}");
    assert!(!haproxy.contains("backend db"), "db is not tagged http");

    for (k, v) in [
        ("app/name", "shop"),
        ("app/settings/port", "8080"),
        ("app/settings/log/level", "debug"),
        ("app/features/search", "on"),
        ("app/features/beta", "off"),
    ] {
        agent.put(&format!("/v1/kv/{k}"), v);
    }
    let app = render(
        &agent,
        &std::fs::read_to_string(crate::repo_path("templates/app.conf.ctmpl")).unwrap(),
    );
    assert_eq!(
        app,
        "# rendered by ctmpl from Consul KV; do not edit\n[app]\nname = shop\nlog/level = debug\nport = 8080\n\n[features]\nbeta = disabled\nsearch = enabled\n"
    );
}

/// `function_denylist` takes consul-template's globs: every `sprig_*` function fails at
/// execution with "function is disabled" (exit 14) while the others still render, and a name
/// denied in the config does not stop the same template from rendering without it.
#[test]
fn function_denylist_globs_disable_whole_families() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.ctmpl");
    let dest = dir.path().join("out.txt");
    let hcl = dir.path().join("ctmpl.hcl");
    let config = |denylist: &str| {
        format!(
            "consul {{\n  address = \"{}\"\n}}\ntemplate {{\n  source = \"{}\"\n  destination = \"{}\"\n  function_denylist = [{denylist}]\n}}\n",
            agent.addr,
            src.display(),
            dest.display()
        )
    };
    let run = || {
        crate::ctmpl()
            .args(["-config", hcl.to_str().unwrap(), "-once"])
            .output()
            .unwrap()
    };
    std::fs::write(
        &src,
        r#"{{ toUpper "a" }}{{ sprig_semverCompare "^1.2" "1.4.0" }}"#,
    )
    .unwrap();

    std::fs::write(&hcl, config(r#""sprig_*""#)).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(14), "{err}");
    assert!(
        err.contains("error calling sprig_semverCompare: function is disabled"),
        "{err}"
    );
    assert!(!dest.exists(), "nothing is written for a failed render");

    std::fs::write(&hcl, config(r#""to*", "sprig_semver""#)).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(14), "{err}");
    assert!(
        err.contains("error calling toUpper: function is disabled"),
        "{err}"
    );

    std::fs::write(&hcl, config(r#""sprig_semver", "nosuch*""#)).unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "Atrue");
}
