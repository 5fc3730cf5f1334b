//! Consul's ACLs through the real binary: an agent started with an `acl { }` HCL config keeps
//! a client without a token (403 on writes, filtered lists) and a token without the rule out,
//! with Consul's status and words, while ctmpl with the right token (`-consul-token`, or
//! `-consul-token-file`) renders a key and a service, and one with the wrong token waits with
//! the 403 in its log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::support::{eventually, Agent, Process};

const ROOT: &str = "root-secret-0001";
const ANONYMOUS_DENIED: &str =
    ". The anonymous token is used implicitly when a request does not specify a token.";

/// A response: status, headers, body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One request with extra header lines (`"X-Consul-Token: s"`).
fn call(agent: &Agent, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
    let mut s = TcpStream::connect(&agent.addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn token_header(secret: &str) -> Vec<String> {
    vec![format!("X-Consul-Token: {secret}")]
}

fn as_root(agent: &Agent, method: &str, path: &str, body: &str) -> Answer {
    let a = call(agent, method, path, &token_header(ROOT), body);
    assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
    a
}

/// An agent whose config file turns ACLs on with `default_policy`, `initial_management` set.
fn acl_agent(dir: &Path, default_policy: &str) -> Agent {
    let config = dir.join("acl.hcl");
    std::fs::write(
        &config,
        format!(
            r#"acl {{
  enabled = true
  default_policy = "{default_policy}"
  tokens {{
    initial_management = "{ROOT}"
    agent = "agent-token"
  }}
}}
"#
        ),
    )
    .unwrap();
    Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        config.to_str().unwrap(),
    ])
}

/// A policy with `rules` and a token holding it: (AccessorID, SecretID).
fn token_with(agent: &Agent, name: &str, rules: &str) -> (String, String) {
    let policy = as_root(
        agent,
        "PUT",
        "/v1/acl/policy",
        &json!({"Name": name, "Rules": rules}).to_string(),
    )
    .json();
    assert_eq!(policy["Name"], name);
    assert_eq!(policy["Rules"], rules);
    let token = as_root(
        agent,
        "PUT",
        "/v1/acl/token",
        &json!({"Description": name, "Policies": [{"Name": name}]}).to_string(),
    )
    .json();
    assert_eq!(
        token["Policies"],
        json!([{"ID": policy["ID"], "Name": name}])
    );
    (
        token["AccessorID"].as_str().unwrap().to_string(),
        token["SecretID"].as_str().unwrap().to_string(),
    )
}

fn ctmpl_once(agent: &Agent, template: &Path, token_args: &[&str]) -> std::process::Output {
    crate::ctmpl()
        .args(["-consul-addr", &agent.addr])
        .args(token_args)
        .arg("-template")
        .arg(template)
        .args(["-once", "-dry"])
        .output()
        .unwrap()
}

#[test]
fn acls_refuse_strangers_and_ctmpl_renders_with_the_right_token() {
    let dir = tempfile::tempdir().unwrap();
    let agent = acl_agent(dir.path(), "deny");
    as_root(&agent, "PUT", "/v1/kv/app/greeting", "hello");
    as_root(&agent, "PUT", "/v1/kv/secret/pw", "hunter2");
    as_root(
        &agent,
        "PUT",
        "/v1/agent/service/register",
        &json!({"Name": "web", "Port": 8080}).to_string(),
    );

    // No token: the anonymous token, which the deny default leaves with nothing.
    let put = call(&agent, "PUT", "/v1/kv/app/greeting", &[], "evil");
    assert_eq!(put.status, 403);
    assert_eq!(
        put.body,
        format!("Permission denied: anonymous token lacks permission 'key:write' on \"app/greeting\"{ANONYMOUS_DENIED}")
    );
    assert_eq!(
        put.header("X-Consul-Default-ACL-Policy").as_deref(),
        Some("deny")
    );
    let get = call(&agent, "GET", "/v1/kv/app/greeting", &[], "");
    assert_eq!(get.status, 403, "{}", get.body);
    let services = call(&agent, "GET", "/v1/catalog/services", &[], "");
    assert_eq!((services.status, services.json()), (200, json!({})));
    assert_eq!(
        services
            .header("X-Consul-Results-Filtered-By-ACLs")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        call(&agent, "GET", "/v1/health/service/web", &[], "").json(),
        json!([])
    );
    assert_eq!(call(&agent, "GET", "/v1/kv/?recurse", &[], "").status, 404);
    let register = call(
        &agent,
        "PUT",
        "/v1/agent/service/register",
        &[],
        &json!({"Name": "intruder", "Port": 1}).to_string(),
    );
    assert_eq!(register.status, 403, "{}", register.body);
    assert!(register
        .body
        .contains("lacks permission 'service:write' on \"intruder\""));
    let catalog = json!({"Node": "n9", "Address": "10.0.0.9", "Service": {"Service": "db"}});
    let r = call(
        &agent,
        "PUT",
        "/v1/catalog/register",
        &[],
        &catalog.to_string(),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("lacks permission 'node:write' on \"n9\""),
        "{}",
        r.body
    );
    let r = call(&agent, "PUT", "/v1/catalog/register", &[], "{not json");
    assert_eq!(
        r.status, 400,
        "a bad body is a 400 before any ACL check: {}",
        r.body
    );
    assert_eq!(
        call(&agent, "GET", "/v1/catalog/nodes", &[], "").json(),
        json!([])
    );
    assert_eq!(call(&agent, "GET", "/v1/agent/self", &[], "").status, 403);
    let unknown = call(
        &agent,
        "GET",
        "/v1/kv/app/greeting",
        &token_header("nope"),
        "",
    );
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (403, "ACL not found")
    );
    // The written value is untouched.
    assert_eq!(
        as_root(&agent, "GET", "/v1/kv/app/greeting?raw", "").body,
        "hello"
    );

    // A token for app/ keys and every service, and one for other keys only.
    let app_rules = r#"key_prefix "app/" { policy = "read" }
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }"#;
    let (app_accessor, app) = token_with(&agent, "app-read", app_rules);
    let (_, other) = token_with(
        &agent,
        "other-read",
        r#"key_prefix "other/" { policy = "read" }"#,
    );

    let me = call(&agent, "GET", "/v1/acl/token/self", &token_header(&app), "").json();
    assert_eq!(me["AccessorID"], app_accessor.as_str());
    assert_eq!(me["SecretID"], app.as_str());
    let bearer = vec![format!("Authorization: Bearer {app}")];
    assert_eq!(
        call(&agent, "GET", "/v1/kv/app/greeting?raw", &bearer, "").body,
        "hello"
    );
    let by_query = call(
        &agent,
        "GET",
        &format!("/v1/kv/app/greeting?raw&token={app}"),
        &[],
        "",
    );
    assert_eq!(by_query.body, "hello");
    let write = call(&agent, "PUT", "/v1/kv/app/greeting", &bearer, "no");
    assert_eq!(write.status, 403);
    assert_eq!(
        write.body,
        format!("Permission denied: token with AccessorID '{app_accessor}' lacks permission 'key:write' on \"app/greeting\"")
    );
    let listed = call(&agent, "GET", "/v1/kv/?keys", &bearer, "").json();
    assert_eq!(listed, json!(["app/greeting"]));
    assert_eq!(
        call(&agent, "GET", "/v1/kv/secret/pw", &bearer, "").status,
        403
    );
    assert_eq!(
        call(&agent, "GET", "/v1/acl/tokens", &bearer, "").status,
        403
    );
    assert_eq!(call(&agent, "GET", "/v1/acl/tokens", &[], "").status, 403);
    let tokens = as_root(&agent, "GET", "/v1/acl/tokens", "").json();
    let accessors: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["AccessorID"].as_str())
        .collect();
    assert!(accessors.contains(&app_accessor.as_str()), "{tokens}");
    assert!(
        accessors.contains(&"00000000-0000-0000-0000-000000000002"),
        "{tokens}"
    );
    let names: Vec<Json> = as_root(&agent, "GET", "/v1/acl/policies", "")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!("app-read"),
            json!("global-management"),
            json!("other-read")
        ]
    );
    // initial_management counts as the bootstrap.
    let again = call(&agent, "PUT", "/v1/acl/bootstrap", &[], "");
    assert_eq!(again.status, 403);
    assert!(
        again
            .body
            .starts_with("Permission denied: ACL bootstrap no longer allowed (reset index: "),
        "{}",
        again.body
    );

    // ctmpl with the right token, by flag and by file, renders the key and the service.
    let template = dir.path().join("in.tpl");
    std::fs::write(
        &template,
        r#"{{ key "app/greeting" }}{{ range service "web" }} {{ .Name }}:{{ .Port }}{{ end }}"#,
    )
    .unwrap();
    let out = ctmpl_once(&agent, &template, &["-consul-token", &app]);
    assert!(out.status.success(), "{}", crate::stderr(&out));
    assert_eq!(crate::stdout(&out), "> \nhello web:8080");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{app}\n")).unwrap();
    let out = ctmpl_once(
        &agent,
        &template,
        &["-consul-token-file", token_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", crate::stderr(&out));
    assert_eq!(crate::stdout(&out), "> \nhello web:8080");

    // The token without the rule: ctmpl waits, saying why, and writes nothing.
    let dest = dir.path().join("out.txt");
    let log = dir.path().join("ctmpl.log");
    let mut ctmpl = Process::spawn(
        crate::ctmpl()
            .args([
                "-consul-addr",
                &agent.addr,
                "-consul-token",
                &other,
                "-template",
            ])
            .arg(format!("{}:{}", template.display(), dest.display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let line = eventually(20, "ctmpl logging the 403", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .find(|l| l.contains("403") && l.contains("Permission denied"))
            .map(str::to_string)
    });
    assert!(line.contains("app/greeting"), "{line}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        ctmpl.0.try_wait().unwrap().is_none(),
        "ctmpl should keep waiting"
    );
    assert!(!dest.exists());
}

#[test]
fn bootstrap_anonymous_policy_and_the_allow_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("acl.json");
    std::fs::write(
        &config,
        r#"{"acl": {"enabled": true, "default_policy": "allow"}}"#,
    )
    .unwrap();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        config.to_str().unwrap(),
    ]);
    let boot = call(&agent, "PUT", "/v1/acl/bootstrap", &[], "");
    assert_eq!(boot.status, 200, "{}", boot.body);
    let boot = boot.json();
    assert_eq!(boot["ID"], boot["SecretID"]);
    assert_eq!(
        boot["Policies"],
        json!([{"ID": "00000000-0000-0000-0000-000000000001", "Name": "global-management"}])
    );
    let root = token_header(boot["SecretID"].as_str().unwrap());
    assert_eq!(
        call(&agent, "PUT", "/v1/acl/bootstrap", &[], "").status,
        403
    );

    // Allow by default: the anonymous token writes.
    let put = call(&agent, "PUT", "/v1/kv/open", &[], "x");
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.header("X-Consul-Default-ACL-Policy").as_deref(),
        Some("allow")
    );
    // Until the anonymous token gets a policy whose rule speaks: exact beats prefix.
    let policy = call(
        &agent,
        "PUT",
        "/v1/acl/policy",
        &root,
        &json!({"Name": "locked", "Rules": "key_prefix \"locked/\" { policy = \"deny\" }\nkey \"locked/readable\" { policy = \"read\" }"}).to_string(),
    )
    .json();
    let anonymous = "/v1/acl/token/00000000-0000-0000-0000-000000000002";
    let set = call(
        &agent,
        "PUT",
        anonymous,
        &root,
        &json!({"Policies": [{"ID": policy["ID"]}]}).to_string(),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["SecretID"], "anonymous");
    call(&agent, "PUT", "/v1/kv/locked/readable", &root, "r");
    call(&agent, "PUT", "/v1/kv/locked/hidden", &root, "h");
    assert_eq!(
        call(&agent, "GET", "/v1/kv/locked/readable?raw", &[], "").body,
        "r"
    );
    assert_eq!(
        call(&agent, "GET", "/v1/kv/locked/hidden", &[], "").status,
        403
    );
    assert_eq!(
        call(&agent, "PUT", "/v1/kv/locked/readable", &[], "w").status,
        403
    );
    assert_eq!(call(&agent, "PUT", "/v1/kv/open", &[], "y").status, 200);
    let deleted = call(&agent, "DELETE", "/v1/kv/?recurse", &[], "");
    assert_eq!(deleted.status, 403, "{}", deleted.body);
    let listed = call(&agent, "GET", "/v1/kv/?recurse", &[], "").json();
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["Key"].as_str())
        .collect();
    assert_eq!(keys, ["locked/readable", "open"]);
    // Bad rules are refused with Consul's words, and nothing is stored.
    let bad = call(
        &agent,
        "PUT",
        "/v1/acl/policy",
        &root,
        r#"{"Name": "bad", "Rules": "key \"\" { policy = \"admin\" }"}"#,
    );
    assert_eq!(bad.status, 500);
    assert_eq!(
        bad.body,
        "Failed to parse ACL rules: Invalid key policy: \"admin\""
    );
    assert_eq!(
        call(&agent, "GET", "/v1/acl/policy/name/bad", &root, "").status,
        403
    );
}

#[test]
fn acl_endpoints_say_acls_are_disabled() {
    let agent = Agent::dev();
    let r = call(&agent, "GET", "/v1/acl/tokens", &[], "");
    assert_eq!((r.status, r.body.as_str()), (401, "ACL support disabled"));
    assert_eq!(
        r.header("X-Consul-Default-ACL-Policy").as_deref(),
        Some("allow")
    );
    // ACLs off: any token is accepted, as Consul does.
    let put = call(&agent, "PUT", "/v1/kv/k", &token_header("whatever"), "v");
    assert_eq!(put.status, 200);
}

/// The `acl { }` config (deny, with the root token) in `dir/acl.hcl`.
fn deny_config(dir: &Path) -> String {
    let config = dir.join("acl.hcl");
    std::fs::write(
        &config,
        format!("acl {{\n  enabled = true\n  default_policy = \"deny\"\n  tokens {{ initial_management = \"{ROOT}\" }}\n}}\n"),
    )
    .unwrap();
    config.to_str().unwrap().to_string()
}

#[test]
fn a_client_agent_forwards_tokens_and_asks_a_server_about_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = deny_config(dir.path());
    let data = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (server_data, client_data) = (data("server"), data("client"));
    let server = Agent::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        &server_data,
        "-http-port",
        "0",
        "-node",
        "s1",
        "-config-file",
        &config,
    ]);
    let client = Agent::start(&[
        "-bind",
        "127.0.0.1",
        "-data-dir",
        &client_data,
        "-http-port",
        "0",
        "-node",
        "c1",
        "-retry-join",
        &server.rpc,
        "-config-file",
        &config,
    ]);
    // Forwarded endpoints carry the token to the server, which decides.
    let put = eventually(20, "the client reaching the server", || {
        let r = call(&client, "PUT", "/v1/kv/k", &[], "v");
        (r.status != 500).then_some(r)
    });
    assert_eq!(put.status, 403, "{}", put.body);
    assert!(put
        .body
        .starts_with("Permission denied: anonymous token lacks permission 'key:write' on \"k\""));
    let put = call(&client, "PUT", "/v1/kv/k", &token_header(ROOT), "v");
    assert_eq!((put.status, put.body.as_str()), (200, "true"));
    // The client's own endpoints: a server resolves the token, the client applies it.
    let web = json!({"Name": "web", "Port": 8080}).to_string();
    let r = call(&client, "PUT", "/v1/agent/service/register", &[], &web);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(
        &client,
        "PUT",
        "/v1/agent/service/register",
        &token_header(ROOT),
        &web,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        call(&client, "GET", "/v1/agent/services", &[], "").json(),
        json!({})
    );
    let (_, reader) = token_with(&server, "web-read", r#"service "web" { policy = "read" }"#);
    let seen = call(
        &client,
        "GET",
        "/v1/agent/services",
        &token_header(&reader),
        "",
    )
    .json();
    assert_eq!(seen["web"]["Port"], 8080, "{seen}");
    let self_ = call(
        &client,
        "GET",
        "/v1/acl/token/self",
        &token_header(&reader),
        "",
    )
    .json();
    assert_eq!(self_["SecretID"], reader.as_str());
    let unknown = call(
        &client,
        "GET",
        "/v1/agent/services",
        &token_header("nope"),
        "",
    );
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (403, "ACL not found")
    );
    // Tokens and policies live in the Raft log and state: a restarted server still has them.
    client.stop();
    server.stop();
    let server = Agent::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        &server_data,
        "-http-port",
        "0",
        "-node",
        "s1",
        "-config-file",
        &config,
    ]);
    let again = eventually(20, "the token after a restart", || {
        let r = call(
            &server,
            "GET",
            "/v1/acl/token/self",
            &token_header(&reader),
            "",
        );
        (r.status == 200).then_some(r)
    });
    assert_eq!(again.json()["Description"], "web-read");
    assert_eq!(
        call(&server, "GET", "/v1/kv/k?raw", &token_header(&reader), "").status,
        403
    );
    assert_eq!(
        call(&server, "GET", "/v1/kv/k?raw", &token_header(ROOT), "").body,
        "v"
    );
}
