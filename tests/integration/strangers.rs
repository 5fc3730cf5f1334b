//! Issue #15's "done when", end to end: one agent with mutual TLS (server port and HTTPS API,
//! `verify_incoming`) and ACLs (`default_policy = "deny"`) refuses a stranger on the server
//! port, an HTTPS client without a token, and a token without the rule, each with Consul's
//! status and words and nothing stored, while ctmpl with the right token, over HTTPS with
//! `-consul-ssl*` and `-consul-token`, keeps rendering as the value changes.

use std::path::Path;

use serde_json::json;

use crate::ctmpl;
use crate::support::{eventually, free_port, try_request, Agent, Process};
use crate::transport::{make_pki, raft_write_over_tls, Pki, RAFT_WRITE};

const ROOT: &str = "root-secret-strangers";
const ANONYMOUS: &str =
    ". The anonymous token is used implicitly when a request does not specify a token.";

/// A server of one whose config turns on TLS everywhere (client certificates required) and
/// ACLs that deny by default.
fn guarded_agent(dir: &Path, pki: &Pki, https: u16) -> Agent {
    let config = dir.join("guarded.json");
    let body = json!({
        "ports": {"https": https},
        "tls": {
            "defaults": {
                "ca_file": pki.ca, "cert_file": pki.cert, "key_file": pki.key,
                "verify_incoming": true, "verify_outgoing": true
            },
            "internal_rpc": {"verify_server_hostname": true}
        },
        "acl": {
            "enabled": true,
            "default_policy": "deny",
            "tokens": {"initial_management": ROOT, "agent": ROOT}
        }
    });
    std::fs::write(&config, body.to_string()).unwrap();
    let data = dir.join("data");
    Agent::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        "guarded",
        "-config-file",
        config.to_str().unwrap(),
    ])
}

/// One request to the HTTPS API with the CA's client certificate, and `token` if given.
fn https(
    pki: &Pki,
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).unwrap()).unwrap();
        let mut id = std::fs::read(&pki.cert).unwrap();
        id.extend(std::fs::read(&pki.key).unwrap());
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .identity(reqwest::Identity::from_pem(&id).unwrap())
            .build()
            .unwrap();
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client
            .request(method, format!("https://localhost:{port}{path}"))
            .body(body.to_string());
        if let Some(token) = token {
            request = request.header("X-Consul-Token", token);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    })
}

#[test]
fn tls_and_acls_keep_strangers_out_while_ctmpl_with_the_right_token_renders() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "dc1");
    let other = make_pki(dir.path(), "other");
    let port = free_port();
    let agent = guarded_agent(dir.path(), &pki, port);
    let root = Some(ROOT);
    // The banner names the HTTPS port, as Consul's does.
    let http_port = agent.addr.rsplit(':').next().unwrap();
    let banner = format!("Client Addr: [127.0.0.1] (HTTP: {http_port}, HTTPS: {port})");
    assert_eq!(agent.log_lines(&banner).len(), 1, "{}", agent.log_text());
    eventually(30, "the agent to take a write", || {
        let (status, _) = https(&pki, port, "PUT", "/v1/kv/app/greeting", root, "hello");
        (status == 200).then_some(())
    });
    let rules = r#"key_prefix "app/" { policy = "read" }"#;
    let policy = json!({"Name": "app-read", "Rules": rules}).to_string();
    assert_eq!(
        https(&pki, port, "PUT", "/v1/acl/policy", root, &policy).0,
        200
    );
    let token = json!({"Description": "app", "Policies": [{"Name": "app-read"}]}).to_string();
    let (status, token) = https(&pki, port, "PUT", "/v1/acl/token", root, &token);
    assert_eq!(status, 200, "{token}");
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let (accessor, secret) = (
        token["AccessorID"].as_str().unwrap().to_string(),
        token["SecretID"].as_str().unwrap().to_string(),
    );

    // A stranger on the server port: plain HTTP gets no answer; TLS without a certificate, or
    // with another CA's, is refused in the handshake. Nothing is written.
    assert!(try_request(&agent.rpc, "POST", "/raft/write", RAFT_WRITE.as_bytes()).is_none());
    for id in [None, Some(&other)] {
        let refused = raft_write_over_tls(&agent.rpc, &pki, id);
        assert!(refused.is_err(), "{refused:?}");
    }

    // An HTTPS client without a token: the anonymous token, which the deny default leaves
    // with nothing.
    assert_eq!(
        https(&pki, port, "PUT", "/v1/kv/app/greeting", None, "evil"),
        (
            403,
            format!("Permission denied: anonymous token lacks permission 'key:write' on \"app/greeting\"{ANONYMOUS}")
        )
    );
    assert_eq!(
        https(&pki, port, "GET", "/v1/kv/app/greeting", None, "").0,
        403
    );
    // A token without the rule: it reads app/, and may write nothing.
    assert_eq!(
        https(&pki, port, "PUT", "/v1/kv/app/greeting", Some(&secret), "evil"),
        (
            403,
            format!("Permission denied: token with AccessorID '{accessor}' lacks permission 'key:write' on \"app/greeting\"")
        )
    );
    assert_eq!(
        https(&pki, port, "GET", "/v1/kv/secret/pw", Some(&secret), "").0,
        403
    );
    // Nothing of theirs was stored.
    assert_eq!(
        https(&pki, port, "GET", "/v1/kv/app/greeting?raw", root, ""),
        (200, "hello".to_string())
    );
    assert_eq!(https(&pki, port, "GET", "/v1/kv/evil", root, "").0, 404);
    // While a member (the CA's certificate) is let in on the server port: the refusals were
    // about who asked.
    assert_eq!(raft_write_over_tls(&agent.rpc, &pki, Some(&pki)), Ok(200));
    eventually(10, "the member's write", || {
        let (status, body) = https(&pki, port, "GET", "/v1/kv/evil?raw", root, "");
        (status == 200 && body == "hi").then_some(())
    });

    // ctmpl over HTTPS with the CA, a client certificate and the read token keeps rendering.
    let template = dir.path().join("greeting.tpl");
    let out = dir.path().join("greeting.out");
    std::fs::write(&template, r#"{{key "app/greeting"}}"#).unwrap();
    let address = format!("127.0.0.1:{port}");
    let _ctmpl = Process::spawn(
        ctmpl()
            .args(["-consul-addr", &address, "-consul-ssl"])
            .arg("-consul-ssl-ca-cert")
            .arg(&pki.ca)
            .arg("-consul-ssl-cert")
            .arg(&pki.cert)
            .arg("-consul-ssl-key")
            .arg(&pki.key)
            .args(["-consul-token", &secret, "-log-level", "err"])
            .arg("-template")
            .arg(format!("{}:{}", template.display(), out.display())),
    );
    let read = || std::fs::read_to_string(&out).ok();
    eventually(30, "ctmpl to render hello", || {
        (read().as_deref() == Some("hello")).then_some(())
    });
    for value in ["hi", "hey"] {
        let (status, _) = https(&pki, port, "PUT", "/v1/kv/app/greeting", root, value);
        assert_eq!(status, 200);
        eventually(30, "ctmpl to render the new value", || {
            (read().as_deref() == Some(value)).then_some(())
        });
    }
}
