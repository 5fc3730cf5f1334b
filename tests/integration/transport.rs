//! How ctmpl and agents talk: HTTP/2 (h2c with prior knowledge, ALPN over TLS) so that
//! hundreds of blocking queries share a connection; HTTP/1.1 against an agent that speaks only
//! that; the HTTPS API with Consul's TLS keys and ctmpl's `-consul-ssl*` flags; and the server
//! port closed to strangers, by the `-encrypt` key or by mutual TLS.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::support::{connections_to, eventually, free_port, request, try_request, Agent, Process};
use crate::{ctmpl, stderr};

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn register(agent: &Agent, name: &str, port: u16) {
    let body = json!({
        "Node": "web-node", "Address": "10.1.0.1",
        "Service": {"Service": name, "Port": port}
    });
    let r = agent.put("/v1/catalog/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

fn svc_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().filter(|l| l.starts_with("svc-")).count())
}

#[test]
fn three_hundred_blocking_queries_share_a_few_connections_over_h2() {
    let agent = Agent::dev();
    for i in 0..300 {
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
    eventually(60, "300 services rendered", || {
        (svc_lines(&out) == 300).then_some(())
    });
    let text = std::fs::read_to_string(&out).unwrap();
    // The dev server's own `consul` service comes first.
    assert!(text.contains("\nsvc-000 1000\nsvc-001 1001\n"), "{text}");
    assert!(text.ends_with("svc-299 1299\n"), "{text}");
    // Every dependency is waiting in a blocking query now.
    std::thread::sleep(Duration::from_millis(500));
    let held = connections_to(run.0.id(), port_of(&agent.addr));
    assert!(
        (1..=8).contains(&held),
        "ctmpl holds {held} connections to its agent for 301 blocking queries"
    );
    // And they are live: a new service and a moved one show up.
    register(&agent, "svc-300", 1300);
    register(&agent, "svc-150", 2150);
    eventually(20, "the changes rendered", || {
        let text = std::fs::read_to_string(&out).ok()?;
        (text.contains("svc-300 1300\n") && text.contains("svc-150 2150\n")).then_some(())
    });
    assert!(connections_to(run.0.id(), port_of(&agent.addr)) <= 8);
}

/// A stand-in for a stock Consul agent over plain HTTP: HTTP/1.1 only, answering the HTTP/2
/// preface with Go's 400; it serves one key. Counts prefaces and HTTP/1.1 requests.
struct Http1Only {
    addr: String,
    prefaces: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Http1Only {
    fn start() -> Http1Only {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let prefaces = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (p, r) = (prefaces.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (p, r) = (p.clone(), r.clone());
                std::thread::spawn(move || serve_http1(conn, &p, &r));
            }
        });
        Http1Only {
            addr,
            prefaces,
            requests,
        }
    }
}

fn serve_http1(conn: std::net::TcpStream, prefaces: &AtomicUsize, requests: &AtomicUsize) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        // The rest of the head.
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        if line.starts_with("PRI * HTTP/2.0") {
            prefaces.fetch_add(1, Ordering::SeqCst);
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                  Connection: close\r\n\r\n400 Bad Request",
            );
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let blocking = line.contains("index=");
        if blocking {
            // Nothing changes here: hold the query a while, as Consul would.
            std::thread::sleep(Duration::from_secs(2));
        }
        let body = r#"[{"LockIndex":0,"Key":"greeting","Flags":0,"Value":"aGVsbG8=","CreateIndex":5,"ModifyIndex":5}]"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 5\r\n\
             X-Consul-Knownleader: true\r\nX-Consul-Lastcontact: 0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn an_agent_that_speaks_only_http1_is_answered_in_http1() {
    let consul = Http1Only::start();
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("in.tpl");
    let out = dir.path().join("out.txt");
    std::fs::write(&tpl, "{{key \"greeting\"}}").unwrap();
    let o = ctmpl()
        .args(["-once", "-consul-addr", &consul.addr, "-template"])
        .arg(format!("{}:{}", tpl.display(), out.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello");
    assert!(
        consul.prefaces.load(Ordering::SeqCst) >= 1,
        "h2c was never tried"
    );
    assert!(consul.requests.load(Ordering::SeqCst) >= 1);
}

#[test]
fn a_client_agent_forwards_blocking_queries_over_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Agent::start(&[
        "-server",
        "-bootstrap-expect=1",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        dir.path().join("s1").to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        "s1",
    ]);
    let client = Agent::start(&[
        "-bind",
        "127.0.0.1",
        "-data-dir",
        dir.path().join("c1").to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        "c1",
        "-retry-join",
        &server.rpc,
    ]);
    let index = eventually(20, "the client agent to reach the server", || {
        let r = try_request(&client.addr, "GET", "/v1/kv/watched", b"")?;
        (r.status == 404).then(|| r.index())
    });
    // Forty blocking queries through the client agent, each its own HTTP/1.1 connection.
    let waiters: Vec<_> = (0..40)
        .map(|_| {
            let addr = client.addr.clone();
            std::thread::spawn(move || {
                request(
                    &addr,
                    "GET",
                    &format!("/v1/kv/watched?index={index}&wait=30s"),
                    b"",
                )
            })
        })
        .collect();
    let client_pid = client.pid();
    let server_http = port_of(&server.addr);
    let held = eventually(10, "the queries forwarded", || {
        std::thread::sleep(Duration::from_millis(300));
        let n = connections_to(client_pid, server_http);
        (n > 0).then_some(n)
    });
    assert_eq!(
        held, 1,
        "the client agent holds {held} connections to the server's HTTP port"
    );
    let put = server.put("/v1/kv/watched", "now");
    assert_eq!(put.status, 200);
    for w in waiters {
        let r = w.join().unwrap();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("\"Key\":\"watched\""), "{}", r.text());
    }
}

const KEY: &str = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
/// A forwarded write as one agent sends it to another's server port.
pub(crate) const RAFT_WRITE: &str =
    r#"{"id":[1,2],"cmd":{"KvSet":{"key":"evil","value":[104,105],"flags":0,"cas":null}}}"#;

fn encrypted_server(dir: &Path, name: &str, key: &str, join: Option<&str>) -> Agent {
    let data = dir.join(name);
    let mut args = vec![
        "-server",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        name,
        "-encrypt",
        key,
    ];
    match join {
        Some(addr) => args.extend(["-bootstrap-expect=2", "-join", addr]),
        None => args.push("-bootstrap-expect=2"),
    }
    Agent::start(&args)
}

#[test]
fn with_encrypt_the_server_port_refuses_unsigned_raft_and_join_traffic() {
    // Control: without -encrypt, the same plain POST writes (what the key must prevent).
    let open = Agent::dev();
    let r = request(&open.rpc, "POST", "/raft/write", RAFT_WRITE.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(open.get("/v1/kv/evil?raw").text(), "hi");

    let dir = tempfile::tempdir().unwrap();
    let s1 = encrypted_server(dir.path(), "s1", KEY, None);
    let s2 = encrypted_server(dir.path(), "s2", KEY, Some(&s1.rpc));
    // Signed traffic works: the two form a cluster and a write on either shows on both.
    eventually(30, "a leader", || {
        let r = try_request(&s2.addr, "PUT", "/v1/kv/good", b"yes")?;
        (r.status == 200).then_some(())
    });
    for s in [&s1, &s2] {
        eventually(10, "the write replicated", || {
            (s.get("/v1/kv/good?raw").text() == "yes").then_some(())
        });
    }
    for s in [&s1, &s2] {
        let r = request(&s.rpc, "POST", "/raft/write", RAFT_WRITE.as_bytes());
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.text().contains("Permission denied"), "{}", r.text());
    }
    let stranger = json!({
        "id": 77, "addr": "127.0.0.1:1", "name": "stranger", "datacenter": "dc1",
        "server": true, "http": "127.0.0.1:2", "expect": 0, "initialized": false
    });
    let r = request(
        &s1.rpc,
        "POST",
        "/raft/join",
        stranger.to_string().as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Forged with another key: refused too.
    let r = request(
        &s1.rpc,
        "POST",
        "/raft/write?ts=1&nonce=00000000000000000000000000000000&mac=0000000000000000000000000000000000000000000000000000000000000000",
        RAFT_WRITE.as_bytes(),
    );
    assert_eq!(r.status, 403);
    std::thread::sleep(Duration::from_millis(300));
    for s in [&s1, &s2] {
        assert_eq!(
            s.get("/v1/kv/evil").status,
            404,
            "a stranger's write landed"
        );
        let members = s.get("/v1/agent/members").text();
        assert!(!members.contains("stranger"), "{members}");
    }
    // A server with another key cannot join.
    let o = ctmpl()
        .args(["agent", "-server", "-bind", "127.0.0.1", "-http-port", "0"])
        .args(["-server-port", "0", "-node", "s3", "-data-dir"])
        .arg(dir.path().join("s3"))
        .args([
            "-encrypt",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "-join",
            &s1.rpc,
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
}

/// A CA and a certificate it signs for `server.dc1.consul`, `localhost` and 127.0.0.1 (used
/// by agents as server and client certificate alike, as Consul's are), written as PEM files.
pub(crate) struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub(crate) fn make_pki(dir: &Path, name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} CA"));
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params =
        CertificateParams::new(vec!["server.dc1.consul".into(), "localhost".into()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let pki = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

pub(crate) fn tls_config(
    dir: &Path,
    pki: &Pki,
    https: Option<u16>,
    verify_incoming: bool,
) -> PathBuf {
    let mut config = json!({
        "tls": {
            "defaults": {
                "ca_file": pki.ca, "cert_file": pki.cert, "key_file": pki.key,
                "verify_incoming": verify_incoming, "verify_outgoing": true
            },
            "internal_rpc": {"verify_server_hostname": true}
        }
    });
    if let Some(port) = https {
        config["ports"] = json!({ "https": port });
    }
    let path = dir.join(format!("tls-{}.json", https.unwrap_or(0)));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `ctmpl -once` rendering `{{key "greeting"}}` from `addr` with `flags`.
pub(crate) fn render_once(dir: &Path, addr: &str, flags: &[&str]) -> Result<String, String> {
    let tpl = dir.join("greeting.tpl");
    let out = dir.join("greeting.out");
    let _ = std::fs::remove_file(&out);
    std::fs::write(&tpl, "{{key \"greeting\"}}").unwrap();
    let o = ctmpl()
        .args(["-once", "-consul-retry=false", "-consul-addr", addr])
        .args(flags)
        .arg("-template")
        .arg(format!("{}:{}", tpl.display(), out.display()))
        .output()
        .unwrap();
    if o.status.success() {
        Ok(std::fs::read_to_string(&out).unwrap())
    } else {
        Err(stderr(&o))
    }
}

#[test]
fn the_https_api_serves_ctmpl_with_the_ca_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "dc1");
    let other = make_pki(dir.path(), "other");
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
    let with_cert = ["-consul-ssl-cert", cert, "-consul-ssl-key", key];
    // Without the CA, Consul's certificate is not trusted.
    let e = render_once(
        dir.path(),
        &addr,
        &[&["-consul-ssl"][..], &with_cert].concat(),
    );
    assert!(
        e.as_ref().is_err_and(|e| e.contains("certificate")),
        "{e:?}"
    );
    // With it but without a client certificate, the agent (verify_incoming) refuses.
    let e = render_once(
        dir.path(),
        &addr,
        &["-consul-ssl", "-consul-ssl-ca-cert", ca],
    );
    assert!(e.is_err(), "{e:?}");
    // With a client certificate from another CA, too.
    let e = render_once(
        dir.path(),
        &addr,
        &[
            "-consul-ssl",
            "-consul-ssl-ca-cert",
            ca,
            "-consul-ssl-cert",
            other.cert.to_str().unwrap(),
            "-consul-ssl-key",
            other.key.to_str().unwrap(),
        ],
    );
    assert!(e.is_err(), "{e:?}");
    // With both, it renders; also with an https:// address and the server's name.
    let ok = [&["-consul-ssl", "-consul-ssl-ca-cert", ca][..], &with_cert].concat();
    assert_eq!(render_once(dir.path(), &addr, &ok).as_deref(), Ok("hello"));
    let named = [&ok[..], &["-consul-ssl-server-name", "server.dc1.consul"]].concat();
    assert_eq!(
        render_once(dir.path(), &format!("https://{addr}"), &named).as_deref(),
        Ok("hello")
    );
    let misnamed = [&ok[..], &["-consul-ssl-server-name", "server.dc2.consul"]].concat();
    assert!(render_once(dir.path(), &addr, &misnamed).is_err());
    // ALPN chose HTTP/2.
    assert_eq!(https_version(&addr, &pki), "HTTP/2.0");
}

/// The HTTP version a client offering h2 and http/1.1 gets from the HTTPS API.
fn https_version(addr: &str, pki: &Pki) -> String {
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
        let port = port_of(addr);
        let resp = client
            .get(format!("https://localhost:{port}/v1/kv/greeting?raw"))
            .send()
            .await
            .unwrap();
        let version = format!("{:?}", resp.version());
        assert_eq!(resp.text().await.unwrap(), "hello");
        version
    })
}

fn tls_server(dir: &Path, name: &str, config: &Path, join: Option<&str>) -> Agent {
    let data = dir.join(name);
    let mut args = vec![
        "-server",
        "-bootstrap-expect=2",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        data.to_str().unwrap(),
        "-http-port",
        "0",
        "-node",
        name,
        "-config-file",
        config.to_str().unwrap(),
    ];
    if let Some(addr) = join {
        args.extend(["-join", addr]);
    }
    Agent::start(&args)
}

#[test]
fn with_tls_and_verify_incoming_the_server_port_admits_only_the_cas_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "dc1");
    let other = make_pki(dir.path(), "other");
    let config = tls_config(dir.path(), &pki, None, true);
    let s1 = tls_server(dir.path(), "s1", &config, None);
    let s2 = tls_server(dir.path(), "s2", &config, Some(&s1.rpc));
    // Raft, join and forwarding run over mutual TLS.
    eventually(30, "a leader", || {
        let r = try_request(&s2.addr, "PUT", "/v1/kv/good", b"yes")?;
        (r.status == 200).then_some(())
    });
    for s in [&s1, &s2] {
        eventually(10, "the write replicated", || {
            (s.get("/v1/kv/good?raw").text() == "yes").then_some(())
        });
    }
    // Plain HTTP gets no answer.
    assert!(try_request(&s1.rpc, "POST", "/raft/write", RAFT_WRITE.as_bytes()).is_none());
    // TLS without a certificate, or with one from another CA: refused in the handshake.
    for id in [None, Some(&other)] {
        let refused = raft_write_over_tls(&s1.rpc, &pki, id);
        assert!(refused.is_err(), "{refused:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s1.get("/v1/kv/evil").status,
        404,
        "a stranger's write landed"
    );
    // A holder of the CA's certificate is let in (the same request a server sends).
    assert_eq!(raft_write_over_tls(&s1.rpc, &pki, Some(&pki)), Ok(200));
    eventually(10, "the admitted write", || {
        (s2.get("/v1/kv/evil?raw").text() == "hi").then_some(())
    });
}

/// POSTs a forwarded write to a server port over TLS, presenting `id`'s certificate.
pub(crate) fn raft_write_over_tls(addr: &str, pki: &Pki, id: Option<&Pki>) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).unwrap()).unwrap();
        let mut builder = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .http1_only();
        if let Some(id) = id {
            let mut pem = std::fs::read(&id.cert).unwrap();
            pem.extend(std::fs::read(&id.key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        let port = port_of(addr);
        let resp = builder
            .build()
            .unwrap()
            .post(format!("https://localhost:{port}/raft/write"))
            .body(RAFT_WRITE)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(resp.status().as_u16())
    })
}
