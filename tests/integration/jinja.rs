//! Jinja templates (`.j2`, `engine = "jinja"`) through the real binary against a real agent:
//! the nginx template byte-identical to the Go one, every function family, missing data,
//! errors, and a long-running re-render on a catalog change.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{eventually, Agent, Process};

/// Runs `ctmpl -once -dry` on the template file `path` against `agent`.
fn run_once(agent: &Agent, path: &Path) -> std::process::Output {
    crate::ctmpl()
        .args(["-consul-addr", &agent.addr, "-template"])
        .arg(path)
        .args(["-once", "-dry"])
        .output()
        .unwrap()
}

fn dry_output(out: std::process::Output) -> String {
    let stdout = crate::stdout(&out);
    assert!(
        out.status.success(),
        "ctmpl failed: {stdout}{}",
        crate::stderr(&out)
    );
    stdout
        .strip_prefix("> \n")
        .unwrap_or_else(|| panic!("no dry header in {stdout:?}"))
        .to_string()
}

fn register(agent: &Agent, body: serde_json::Value) {
    let r = agent.put("/v1/agent/service/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Two healthy `web` instances and an `api` whose only instance fails its check.
fn catalog() -> Agent {
    let agent = Agent::dev();
    register(
        &agent,
        json!({"Name": "web", "ID": "web-1", "Port": 8001, "Address": "10.0.0.1",
               "Tags": ["v1", "http"], "Meta": {"version": "1"},
               "Check": {"TTL": "1h", "Status": "passing"}}),
    );
    register(
        &agent,
        json!({"Name": "web", "ID": "web-2", "Port": 8002, "Address": "10.0.0.2",
               "Tags": ["v2"], "Check": {"TTL": "1h", "Status": "passing"}}),
    );
    register(
        &agent,
        json!({"Name": "api", "ID": "api-1", "Port": 9000,
               "Check": {"TTL": "1h", "Status": "critical"}}),
    );
    agent
}

#[test]
fn jinja_nginx_template_renders_the_same_bytes_as_the_go_one() {
    let agent = catalog();
    let go = dry_output(run_once(
        &agent,
        &crate::repo_path("templates/nginx.conf.ctmpl"),
    ));
    let jinja = dry_output(run_once(
        &agent,
        &crate::repo_path("templates/nginx.conf.j2"),
    ));
    assert!(
        go.contains("server 10.0.0.2:8002 max_fails=3") && go.contains("force a 502"),
        "{go}"
    );
    assert_eq!(jinja, go);
}

#[test]
fn jinja_long_running_rerenders_on_a_catalog_change() {
    let agent = catalog();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("nginx.conf");
    let template = crate::repo_path("templates/nginx.conf.j2");
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template"])
            .arg(format!("{}:{}", template.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).ok();
    eventually(15, "the first render", || {
        read().filter(|t| t.contains("10.0.0.2:8002"))
    });
    register(
        &agent,
        json!({"Name": "db", "ID": "db-1", "Port": 5432, "Address": "10.0.0.9"}),
    );
    let text = eventually(15, "a render with db", || {
        read().filter(|t| t.contains("10.0.0.9:5432"))
    });
    assert!(text.contains("upstream db {"), "{text}");
}

#[test]
fn jinja_calls_every_function_family() {
    let agent = catalog();
    for (k, v) in [
        ("app/port", "8080"),
        ("app/sub/x", "y"),
        ("app/name", "demo"),
    ] {
        assert_eq!(agent.put(&format!("/v1/kv/{k}"), v).status, 200);
    }
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.txt");
    std::fs::write(&local, "from a file").unwrap();
    let template = r#"consul: {{ key("app/port") }} {{ keyOrDefault("app/nope", "dflt") }} {{ keyExists("app/name") }} {{ keyExists("app/nope") }}
ls: {% for p in ls("app") %}{{ p.Key }}={{ p.Value }} {% endfor %}
tree: {% for p in tree("app") %}{{ p.Key }} {% endfor %}
safeLs: {{ safeLs("app") | length }}
services: {% for s in services() %}{{ s.Name }}{{ s.Tags }} {% endfor %}
service: {% for i in service("web") %}{{ i.ID }}@{{ i.Address }}:{{ i.Port }} v={{ i.ServiceMeta.version }} http={{ i.Tags.Contains("http") }} checks={{ i.Checks | length }} {% endfor %}
critical: {% for i in service("api|critical") %}{{ i.ID }}{% endfor %}
byTag: {% for tag, list in service("web") | byTag | items %}{{ tag }}:{{ list | length }} {% endfor %}
nodes: {{ nodes() | length }} node: {% set n = node() %}{{ n and n.Node.Node == nodes()[0].Node }} dc: {{ datacenters() }}
strings: {{ "a-b" | toUpper }} {{ replaceAll("-", "+", "a-b-c") }} {{ "x,y" | split(",") | join(";") }} {{ "  pad " | trimSpace }}
encoding: {{ "hi" | base64Encode }} {{ "aGk=" | base64Decode }} {{ {"a": [1, 2]} | toJSON }} {{ ('{"b": 3}' | parseJSON).b }} {{ {"k": "v"} | toYAML }}
hashes: {{ "abc" | sha256Hex }} {{ "abc" | md5sum }}
math: {{ add(2, 3) }} {{ 3 | multiply(4) }} {{ 10 | subtract(3) }} {{ maximum(3, 7) }}
collections: {{ ["b", "a"] | contains("a") }} {{ ["b", "a"] | containsAll(["a", "c"]) }}
scratch: {% set s = scratch() %}{{ s.Set("k", "v") }}{{ s.Get("k") }}
local: {{ env("JINJA_TEST_VAR") }} {{ file("@FILE@") }} {{ timestamp("2006") | length }}
"#
        .replace("@FILE@", &local.display().to_string());
    let out = crate::ctmpl()
        .env("JINJA_TEST_VAR", "from-env")
        .args(["-consul-addr", &agent.addr, "-template"])
        .arg({
            let p = dir.path().join("all.j2");
            std::fs::write(&p, &template).unwrap();
            p
        })
        .args(["-once", "-dry"])
        .output()
        .unwrap();
    let text = dry_output(out);
    let lines: Vec<&str> = text.lines().collect();
    let expect = [
        "consul: 8080 dflt true false",
        "ls: name=demo port=8080 ",
        "tree: name port sub/x ",
        "safeLs: 2",
        "services: api[] consul[] web[http v1 v2] ",
        "service: web-1@10.0.0.1:8001 v=1 http=true checks=2 web-2@10.0.0.2:8002 v= http=false checks=2 ",
        "critical: api-1",
        "byTag: http:1 v1:1 v2:1 ",
        "nodes: 1 node: true dc: [dc1]",
        "strings: A-B a+b+c x;y pad",
        "encoding: aGk= hi {\"a\":[1,2]} 3 k: v",
        "hashes: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 900150983cd24fb0d6963f7d28e17f72",
        "math: 5 12 7 7",
        "collections: true false",
        "scratch: v",
        "local: from-env from a file 4",
    ];
    for (want, got) in expect.iter().zip(&lines) {
        assert_eq!(got, want, "in\n{text}");
    }
    assert_eq!(lines.len(), expect.len(), "{text}");
}

#[test]
fn jinja_missing_key_blocks_and_once_waits_for_it() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jinja");
    let dest = dir.path().join("out");
    std::fs::write(&path, r#"value={{ key("late/key") }}"#).unwrap();
    let mut ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-once", "-template"])
            .arg(format!("{}:{}", path.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // Blocked on the key: still running, nothing written (checked for a while, not timed).
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        assert!(ctmpl.0.try_wait().unwrap().is_none(), "-once exited early");
        assert!(!dest.exists(), "rendered without the key");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(agent.put("/v1/kv/late/key", "here").status, 200);
    let status = eventually(15, "ctmpl -once to finish", || ctmpl.0.try_wait().unwrap());
    assert!(status.success(), "{status}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "value=here");
}

#[test]
fn jinja_errors_name_the_file_and_line() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let syntax = dir.path().join("bad.j2");
    std::fs::write(
        &syntax,
        "line one\nline two\n{% for x in %}\n{% endfor %}\n",
    )
    .unwrap();
    let out = run_once(&agent, &syntax);
    let err = crate::stderr(&out);
    assert!(err.contains("bad.j2:3: syntax error"), "{err}");
    assert_ne!(out.status.code(), Some(0), "{err}");

    let unknown = dir.path().join("unknown.j2");
    std::fs::write(&unknown, "ok\n{{ nope(1) }}\n").unwrap();
    let out = run_once(&agent, &unknown);
    let err = crate::stderr(&out);
    assert!(err.contains("unknown.j2:2: unknown function"), "{err}");
    assert_eq!(out.status.code(), Some(14), "{err}");

    let bad_query = dir.path().join("query.j2");
    std::fs::write(&bad_query, "{{ service(\"web|sometimes\") }}").unwrap();
    let out = run_once(&agent, &bad_query);
    let err = crate::stderr(&out);
    assert!(
        err.contains("query.j2:1:") && err.contains("invalid filter: \"sometimes\""),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(14), "{err}");
}

#[test]
fn engine_jinja_in_a_config_block_and_go_stays_the_default() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/kv/greeting", "hello").status, 200);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.hcl");
    let go_dest = dir.path().join("go.out");
    let jinja_dest = dir.path().join("jinja.out");
    std::fs::write(
        &config,
        format!(
            r#"consul {{ address = "{addr}" }}
template {{
  contents = "{{{{ key(\"greeting\") | toUpper }}}}"
  engine = "jinja"
  destination = "{jinja}"
}}
template {{
  contents = "{{{{ key \"greeting\" | toUpper }}}}"
  destination = "{go}"
}}
"#,
            addr = agent.addr,
            jinja = jinja_dest.display(),
            go = go_dest.display()
        ),
    )
    .unwrap();
    let out = crate::ctmpl()
        .arg("-config")
        .arg(&config)
        .arg("-once")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::stderr(&out));
    assert_eq!(std::fs::read_to_string(&jinja_dest).unwrap(), "HELLO");
    assert_eq!(std::fs::read_to_string(&go_dest).unwrap(), "HELLO");

    std::fs::write(
        &config,
        "template {\n  contents = \"x\"\n  engine = \"mustache\"\n  destination = \"/dev/null\"\n}\n",
    )
    .unwrap();
    let out = crate::ctmpl()
        .arg("-config")
        .arg(&config)
        .arg("-once")
        .output()
        .unwrap();
    let err = crate::stderr(&out);
    assert!(err.contains("unknown engine \"mustache\""), "{err}");
}

#[test]
fn a_changed_file_dependency_rerenders() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    let template = dir.path().join("t.j2");
    let dest = dir.path().join("out");
    std::fs::write(&data, "one").unwrap();
    std::fs::write(
        &template,
        r#"[{{ file("@DATA@") | trimSpace }}]"#.replace("@DATA@", data.to_str().unwrap()),
    )
    .unwrap();
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template"])
            .arg(format!("{}:{}", template.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).ok();
    eventually(15, "the first render", || read().filter(|t| t == "[one]"));
    std::fs::write(&data, "two\n").unwrap();
    eventually(15, "the render of the edit", || {
        read().filter(|t| t == "[two]")
    });
}

#[test]
fn watch_templates_rerenders_an_edited_template_and_keeps_the_last_good_output() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/kv/name", "world").status, 200);
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("t.j2");
    let dest = dir.path().join("out");
    std::fs::write(&template, r#"hello {{ key("name") }}"#).unwrap();
    let mut ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-watch-templates", "-template"])
            .arg(format!("{}:{}", template.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).ok();
    eventually(15, "the first render", || {
        read().filter(|t| t == "hello world")
    });
    std::fs::write(&template, r#"bye {{ key("name") | toUpper }}"#).unwrap();
    eventually(15, "the edited template's render", || {
        read().filter(|t| t == "bye WORLD")
    });
    // A broken edit: logged, the last good template stays and keeps following the data.
    std::fs::write(&template, "bye {% for %}").unwrap();
    assert_eq!(agent.put("/v1/kv/name", "again").status, 200);
    eventually(15, "the last good template's render of new data", || {
        read().filter(|t| t == "bye AGAIN")
    });
    assert!(
        ctmpl.0.try_wait().unwrap().is_none(),
        "a broken edit stopped ctmpl"
    );
}

/// Runs `ctmpl -once -dry` with the config file `config` (HCL); the process's output.
fn run_config(config: &Path) -> std::process::Output {
    crate::ctmpl()
        .arg("-config")
        .arg(config)
        .args(["-once", "-dry"])
        .output()
        .unwrap()
}

#[test]
fn jinja_error_on_missing_key_fails_as_go_does_and_is_lenient_without_it() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.hcl");
    // The same missing field, in each language: a map from parseJSON without key "nope".
    let cases = [
        ("jinja", r#"a={{ parseJSON(\"{}\").nope }}"#),
        ("go", r#"a={{ (parseJSON \"{}\").nope }}"#),
    ];
    let mut codes = Vec::new();
    for (engine, contents) in cases {
        for strict in [true, false] {
            std::fs::write(
                &config,
                format!(
                    "consul {{ address = \"{addr}\" }}\ntemplate {{\n  contents = \"{contents}\"\n  engine = \"{engine}\"\n  error_on_missing_key = {strict}\n  destination = \"{dest}\"\n}}\n",
                    addr = agent.addr,
                    dest = dir.path().join("out").display()
                ),
            )
            .unwrap();
            let out = run_config(&config);
            let err = crate::stderr(&out);
            if strict {
                assert!(!out.status.success(), "{engine}: {err}");
                assert!(
                    err.contains("nope"),
                    "{engine}: the error names the key: {err}"
                );
                codes.push(out.status.code());
            } else {
                assert!(out.status.success(), "{engine}: {err}");
                let text = crate::stdout(&out);
                // Go prints a missing map entry as `<no value>`, Jinja as nothing (README).
                let want = if engine == "go" { "a=<no value>" } else { "a=" };
                assert!(text.ends_with(want), "{engine}: {text:?}");
            }
        }
    }
    assert_eq!(codes[0], codes[1], "exit codes, Jinja then Go");
    assert!(codes[0].is_some_and(|c| c != 0));
}

#[test]
fn jinja_does_not_autoescape() {
    let agent = Agent::dev();
    let raw = r#"<a href="x?y=1&z='2'">"#;
    assert_eq!(agent.put("/v1/kv/html", raw).status, 200);
    let dir = tempfile::tempdir().unwrap();
    // A `.html.j2` name: minijinja's default would escape by the inner extension.
    let path = dir.path().join("page.html.j2");
    std::fs::write(&path, r#"{{ key("html") }}|{{ "<&>" }}"#).unwrap();
    assert_eq!(dry_output(run_once(&agent, &path)), format!("{raw}|<&>"));
}

#[test]
fn jinja_resolves_a_query_built_from_another_in_passes() {
    // n-pass: `service(key("target"))` knows its query only once the key has arrived.
    let agent = catalog();
    assert_eq!(agent.put("/v1/kv/target", "web").status, 200);
    let dir = tempfile::tempdir().unwrap();
    let jinja = dir.path().join("npass.j2");
    std::fs::write(
        &jinja,
        r#"{% set t = key("target") %}{% if t %}{% for i in service(t ~ "|passing") %}{{ i.Port }} {% endfor %}{% endif %}"#,
    )
    .unwrap();
    let go = dir.path().join("npass.tmpl");
    std::fs::write(
        &go,
        r#"{{ with key "target" }}{{ range service (printf "%s|passing" .) }}{{ .Port }} {{ end }}{{ end }}"#,
    )
    .unwrap();
    assert_eq!(dry_output(run_once(&agent, &jinja)), "8001 8002 ");
    assert_eq!(dry_output(run_once(&agent, &go)), "8001 8002 ");
}

#[test]
fn jinja_has_every_function_the_go_engine_has() {
    // Each name the Go engine defines (consul-template's, ctmpl's, sprig_*), from the help
    // text's list of functions in the README table: asked of a Jinja template one by one.
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.j2");
    let names = [
        "services",
        "service",
        "connect",
        "caRoots",
        "caLeaf",
        "key",
        "keyExists",
        "keyOrDefault",
        "ls",
        "safeLs",
        "tree",
        "safeTree",
        "node",
        "nodes",
        "datacenters",
        "secret",
        "secrets",
        "pkiCert",
        "nomadServices",
        "partitions",
        "peerings",
        "exportedServices",
        "importedServices",
        "file",
        "env",
        "mustEnv",
        "envOrDefault",
        "executeTemplate",
        "timestamp",
        "scratch",
        "writeToFile",
        "sockaddr",
        "byKey",
        "byTag",
        "byMeta",
        "byPort",
        "contains",
        "containsAll",
        "containsAny",
        "containsNone",
        "containsNotAll",
        "explode",
        "explodeMap",
        "in",
        "indent",
        "loop",
        "join",
        "trimSpace",
        "parseBool",
        "parseFloat",
        "parseInt",
        "parseJSON",
        "parseUint",
        "parseYAML",
        "plugin",
        "regexMatch",
        "regexReplaceAll",
        "replaceAll",
        "split",
        "splitToMap",
        "toLower",
        "toJSON",
        "toJSONPretty",
        "toUnescapedJSON",
        "toUnescapedJSONPretty",
        "toTitle",
        "toTOML",
        "toUpper",
        "toYAML",
        "trim",
        "trimPrefix",
        "trimSuffix",
        "base64Decode",
        "base64Encode",
        "base64URLDecode",
        "base64URLEncode",
        "sha256Hex",
        "md5sum",
        "hmacSHA256Hex",
        "spew_dump",
        "spew_sdump",
        "spew_printf",
        "add",
        "subtract",
        "multiply",
        "divide",
        "modulo",
        "minimum",
        "maximum",
        "sprig_quote",
        "sprig_dict",
    ];
    let template: String = names
        .iter()
        .map(|n| format!("{{% if {n} is not defined %}}missing {n}\n{{% endif %}}"))
        .collect();
    std::fs::write(&path, template).unwrap();
    assert_eq!(dry_output(run_once(&agent, &path)), "");
    // Those consul-template has for Vault, Nomad, Connect and Enterprise fail in Jinja with the
    // Go engine's words.
    for (jinja, go) in [
        ("{{ caRoots() }}", "{{ caRoots }}"),
        ("{{ secret(\"kv/x\") }}", "{{ secret \"kv/x\" }}"),
    ] {
        let j = dir.path().join("u.j2");
        let g = dir.path().join("u.tmpl");
        std::fs::write(&j, jinja).unwrap();
        std::fs::write(&g, go).unwrap();
        let (jo, go_out) = (run_once(&agent, &j), run_once(&agent, &g));
        let go_err = crate::stderr(&go_out);
        let jinja_err = crate::stderr(&jo);
        let reason = go_err.lines().last().unwrap().rsplit(": ").next().unwrap();
        assert!(reason.contains("not supported by ctmpl"), "{go_err}");
        assert!(jinja_err.contains(reason), "{jinja_err} vs {go_err}");
        assert_eq!(jo.status.code(), go_out.status.code(), "{jinja_err}");
    }
}

#[test]
fn jinja_exit_codes_are_the_go_ones() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    // A template that does not parse, and one whose function fails as it runs.
    for (what, jinja, go) in [
        ("parse", "{% if %}", "{{ if }}"),
        ("execute", "{{ parseInt(\"x\") }}", "{{ parseInt \"x\" }}"),
    ] {
        let j = dir.path().join("e.j2");
        let g = dir.path().join("e.tmpl");
        std::fs::write(&j, jinja).unwrap();
        std::fs::write(&g, go).unwrap();
        let (jo, go_out) = (run_once(&agent, &j), run_once(&agent, &g));
        assert!(!go_out.status.success(), "{what}");
        assert_eq!(
            jo.status.code(),
            go_out.status.code(),
            "{what}: {} / {}",
            crate::stderr(&jo),
            crate::stderr(&go_out)
        );
        assert!(crate::stderr(&jo).contains("e.j2:1:"), "{what}");
    }
}

#[test]
fn jinja_and_go_nginx_templates_stay_identical_while_the_catalog_changes() {
    let agent = catalog();
    let dir = tempfile::tempdir().unwrap();
    let go_dest = dir.path().join("go.conf");
    let jinja_dest = dir.path().join("jinja.conf");
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template"])
            .arg(format!(
                "{}:{}",
                crate::repo_path("templates/nginx.conf.ctmpl").display(),
                go_dest.display()
            ))
            .arg("-template")
            .arg(format!(
                "{}:{}",
                crate::repo_path("templates/nginx.conf.j2").display(),
                jinja_dest.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let both = |needle: &str| {
        let go = std::fs::read_to_string(&go_dest).ok()?;
        let jinja = std::fs::read_to_string(&jinja_dest).ok()?;
        (go.contains(needle) && jinja.contains(needle)).then_some((go, jinja))
    };
    let (go, jinja) = eventually(15, "the first renders", || both("10.0.0.2:8002"));
    assert_eq!(jinja, go);
    // A new service, an instance gone critical, a new instance: each re-renders both alike.
    register(
        &agent,
        json!({"Name": "db", "ID": "db-1", "Port": 5432, "Address": "10.0.0.9"}),
    );
    let (go, jinja) = eventually(15, "renders with db", || both("10.0.0.9:5432"));
    assert_eq!(jinja, go);
    assert_eq!(
        agent.put("/v1/agent/check/fail/service:web-2", "").status,
        200
    );
    let (go, jinja) = eventually(15, "renders without web-2", || {
        both("upstream web")
            .filter(|(g, j)| !g.contains("10.0.0.2:8002") && !j.contains("10.0.0.2:8002"))
    });
    assert_eq!(jinja, go);
}

#[test]
fn watch_templates_in_the_config_file_rerenders_an_edited_template() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("t.jinja");
    let dest = dir.path().join("out");
    let config = dir.path().join("config.hcl");
    std::fs::write(&template, "first").unwrap();
    std::fs::write(
        &config,
        format!(
            "consul {{ address = \"{}\" }}\nwatch_templates = true\ntemplate {{\n  source = \"{}\"\n  destination = \"{}\"\n}}\n",
            agent.addr,
            template.display(),
            dest.display()
        ),
    )
    .unwrap();
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .arg("-config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).ok();
    eventually(15, "the first render", || read().filter(|t| t == "first"));
    std::fs::write(&template, "{{ \"second\" | toUpper }}").unwrap();
    eventually(15, "the edited template's render", || {
        read().filter(|t| t == "SECOND")
    });
}

/// Milliseconds from an atomic rename of a `file` dependency to the new destination content.
fn file_change_latencies(edits: usize) -> Vec<u128> {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    let template = dir.path().join("t.j2");
    let dest = dir.path().join("out");
    std::fs::write(&data, "0").unwrap();
    std::fs::write(
        &template,
        r#"{{ file("@DATA@") }}"#.replace("@DATA@", data.to_str().unwrap()),
    )
    .unwrap();
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-consul-addr", &agent.addr, "-template"])
            .arg(format!("{}:{}", template.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let read = || std::fs::read_to_string(&dest).ok();
    eventually(15, "the first render", || read().filter(|t| t == "0"));
    let mut out = Vec::new();
    for i in 1..=edits {
        // Away from the 2 s poll's rhythm would not matter: events are what is measured.
        std::thread::sleep(Duration::from_millis(150));
        let want = i.to_string();
        let tmp = dir.path().join("data.tmp");
        std::fs::write(&tmp, &want).unwrap();
        let start = Instant::now();
        std::fs::rename(&tmp, &data).unwrap();
        // Looked at every 2 ms (not `eventually`'s 50 ms), so the figure is the render's.
        while read().as_deref() != Some(want.as_str()) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "edit {i} not rendered"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        out.push(start.elapsed().as_millis());
    }
    out
}

#[test]
fn a_file_change_rerenders_from_its_event_not_the_two_second_poll() {
    let mut ms = file_change_latencies(7);
    ms.sort();
    let median = ms[ms.len() / 2];
    eprintln!("file change to render (ms, sorted): {ms:?}");
    // The issue's figure is ≤ 50 ms (see the `filewatch` bench); on a loaded CI machine the
    // bound only separates events from consul-template's 2 s poll.
    assert!(median < 500, "median {median} ms: {ms:?}");
}
