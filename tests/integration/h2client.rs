//! ctmpl's HTTP/2 client (`src/consul/h2client.rs`) against a real agent: every waiting
//! blocking query is a stream of one connection, which is dialled again when the agent comes
//! back after a restart; over HTTPS, failures read as Go's and `-consul-ssl-verify=false`
//! skips the certificate check.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::ctmpl;
use crate::support::{connections_to, eventually, free_port, Agent, Process};
use crate::transport::{make_pki, render_once, tls_config};

fn register(agent: &Agent, name: &str, port: u16) {
    let body = json!({
        "Node": "web-node", "Address": "10.1.0.1",
        "Service": {"Service": name, "Port": port}
    });
    let r = agent.put("/v1/catalog/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

fn rendered(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn svc_lines(path: &Path) -> usize {
    rendered(path)
        .lines()
        .filter(|l| l.starts_with("svc-"))
        .count()
}

/// ctmpl's connections to the agent once they have settled (a restart's retries may still
/// be closing one).
fn settled_connections(pid: u32, port: u16) -> usize {
    std::thread::sleep(Duration::from_millis(500));
    eventually(10, "ctmpl's connections to settle", || {
        let n = connections_to(pid, port);
        (n <= 1).then_some(n)
    })
}

#[test]
fn waiting_blocking_queries_share_one_connection_dialled_again_after_a_restart() {
    let port = free_port();
    let http_port = port.to_string();
    let args = ["-dev", "-http-port", http_port.as_str()];
    let agent = Agent::start(&args);
    for i in 0..200 {
        register(&agent, &format!("svc-{i:03}"), 1000 + i);
    }
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("in.tpl");
    let out = dir.path().join("out.txt");
    std::fs::write(
        &tpl,
        "{{range services}}{{range service .Name}}{{.Name}} {{.Port}}\n{{end}}{{end}}",
    )
    .unwrap();
    let run = Process::spawn(
        ctmpl()
            .args(["-consul-addr", &agent.addr, "-template"])
            .arg(format!("{}:{}", tpl.display(), out.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    eventually(60, "200 services rendered", || {
        (svc_lines(&out) == 200).then_some(())
    });
    // 201 blocking queries wait now (200 services and the list), all on one connection.
    assert_eq!(settled_connections(run.0.id(), port), 1);
    // A blocking query still wakes on a change.
    register(&agent, "svc-150", 2150);
    eventually(20, "the moved service rendered", || {
        rendered(&out).contains("svc-150 2150\n").then_some(())
    });
    assert_eq!(connections_to(run.0.id(), port), 1);

    // The agent goes away and comes back on the same port, empty: the connection is dialled
    // again and the views catch up with the new catalog.
    drop(agent);
    let agent = Agent::start(&args);
    register(&agent, "svc-new", 3000);
    eventually(60, "the restarted agent's catalog rendered", || {
        (svc_lines(&out) == 1 && rendered(&out).contains("svc-new 3000\n")).then_some(())
    });
    assert_eq!(settled_connections(run.0.id(), port), 1);
    register(&agent, "svc-next", 3001);
    eventually(20, "a change after the restart rendered", || {
        rendered(&out).contains("svc-next 3001\n").then_some(())
    });
    assert_eq!(connections_to(run.0.id(), port), 1);
}

#[test]
fn https_failures_read_as_gos_and_verify_false_skips_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "dc1");
    let https = free_port();
    let config = tls_config(dir.path(), &pki, Some(https), true);
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        config.to_str().unwrap(),
    ]);
    assert_eq!(agent.put("/v1/kv/greeting", "hello").status, 200);
    let addr = format!("127.0.0.1:{https}");
    let (ca, cert, key) = (
        pki.ca.to_str().unwrap(),
        pki.cert.to_str().unwrap(),
        pki.key.to_str().unwrap(),
    );
    let with_cert = [
        "-consul-ssl",
        "-consul-ssl-cert",
        cert,
        "-consul-ssl-key",
        key,
    ];
    let unknown = render_once(dir.path(), &addr, &with_cert).unwrap_err();
    assert!(
        unknown.contains(&format!(
            "Get \"https://{addr}/v1/kv/greeting?stale=\": tls: failed to verify certificate: \
             x509: certificate signed by unknown authority"
        )),
        "{unknown}"
    );
    let misnamed = [
        &with_cert[..],
        &[
            "-consul-ssl-ca-cert",
            ca,
            "-consul-ssl-server-name",
            "server.dc2.consul",
        ],
    ]
    .concat();
    let e = render_once(dir.path(), &addr, &misnamed).unwrap_err();
    assert!(
        e.contains(
            "tls: failed to verify certificate: x509: certificate is valid for \
             server.dc1.consul, localhost, not server.dc2.consul"
        ),
        "{e}"
    );
    // Unverified, the same agent is read without its CA.
    let unverified = [&with_cert[..], &["-consul-ssl-verify=false"]].concat();
    assert_eq!(
        render_once(dir.path(), &addr, &unverified).as_deref(),
        Ok("hello")
    );
}
