//! The embedded dev cluster (`ctmpl agent -dev -dev-servers N`, `ctmpl -dev -dev-servers N`):
//! it forms, every server serves the whole API, a leader's leave keeps a watcher on a follower
//! rendering, a left server rejoins fresh, taken ports are replaced and said, N=2 is refused.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{eventually, request, Response};

/// One server as the banner lists it.
#[derive(Clone, Debug)]
struct Server {
    node: String,
    http: String,
    rpc: String,
}

impl Server {
    fn get(&self, path: &str) -> Response {
        request(&self.http, "GET", path, b"")
    }

    fn put(&self, path: &str, body: &str) -> Response {
        request(&self.http, "PUT", path, body.as_bytes())
    }

    fn leader(&self) -> String {
        self.get("/v1/status/leader")
            .json()
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Names of the members this server sees alive.
    fn alive_members(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .get("/v1/agent/members")
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["Status"] == 1)
            .map(|m| m["Name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    fn kv(&self, key: &str) -> Option<String> {
        let r = self.get(&format!("/v1/kv/{key}?raw"));
        (r.status == 200).then(|| r.text())
    }
}

/// A `ctmpl` process running a dev cluster (or a renderer with one); SIGTERM on drop.
struct Cluster {
    child: Child,
    servers: Vec<Server>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Cluster {
    fn agent(args: &[&str]) -> Cluster {
        let mut cmd = crate::ctmpl();
        cmd.args(["agent", "-dev"]).args(args);
        Cluster::spawn(cmd)
    }

    /// Starts the command and reads the banner up to its leader line.
    fn spawn(mut cmd: std::process::Command) -> Cluster {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ctmpl");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut servers = Vec::new();
        loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ctmpl exited before its dev cluster formed:\n{}",
                    log.lock().unwrap().join("\n")
                );
            };
            log.lock().unwrap().push(line.clone());
            if let Some(server) = banner_server(&line) {
                servers.push(server);
            }
            if line.starts_with("==> dev-") && line.contains(" leads ") {
                break;
            }
        }
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        Cluster {
            child,
            servers,
            log,
        }
    }

    fn saw(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    fn by_rpc(&self, rpc: &str) -> &Server {
        self.servers
            .iter()
            .find(|s| s.rpc == rpc)
            .expect("a server at that address")
    }

    /// The leader, once every server agrees on one.
    fn agreed_leader(&self) -> &Server {
        let rpc = eventually(10, "every server to name the same leader", || {
            let leaders: Vec<String> = self.servers.iter().map(Server::leader).collect();
            (!leaders[0].is_empty() && leaders.iter().all(|l| *l == leaders[0]))
                .then(|| leaders[0].clone())
        });
        self.by_rpc(&rpc)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `    dev-2: HTTP API on 127.0.0.1:8501, server RPC on 127.0.0.1:40001`.
fn banner_server(line: &str) -> Option<Server> {
    let (node, rest) = line.trim().split_once(": HTTP API on ")?;
    let http = rest.split([',', ' ']).next()?.to_string();
    let rpc = rest.split("server RPC on ").nth(1)?.trim().to_string();
    Some(Server {
        node: node.to_string(),
        http,
        rpc,
    })
}

#[test]
fn three_servers_form_one_cluster_that_every_server_describes_alike() {
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", "0"]);
    let names: Vec<&str> = c.servers.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(names, ["dev-1", "dev-2", "dev-3"]);
    let mut https: Vec<&str> = c.servers.iter().map(|s| s.http.as_str()).collect();
    https.dedup();
    assert_eq!(https.len(), 3, "distinct HTTP ports: {https:?}");
    let leader = c.agreed_leader();
    let leads = format!("==> {} leads", leader.node);
    eventually(5, "the leader's banner line", || {
        c.saw(&leads).then_some(())
    });
    let mut rpcs: Vec<String> = c.servers.iter().map(|s| s.rpc.clone()).collect();
    rpcs.sort();
    for s in &c.servers {
        assert_eq!(
            s.alive_members(),
            ["dev-1", "dev-2", "dev-3"],
            "members on {}",
            s.node
        );
        let peers: Vec<String> = serde_json::from_value(s.get("/v1/status/peers").json()).unwrap();
        assert_eq!(peers, rpcs, "peers on {}", s.node);
        // The UI (on every server, as -dev enables it) lists nodes from /v1/catalog/nodes.
        assert_eq!(s.get("/ui/").status, 200, "the UI on {}", s.node);
        let nodes = s.get("/v1/catalog/nodes").json();
        assert_eq!(
            nodes.as_array().unwrap().len(),
            3,
            "catalog nodes on {}",
            s.node
        );
        assert_eq!(
            s.get("/v1/agent/self").json()["Config"]["NodeName"],
            s.node.as_str()
        );
    }
}

#[test]
fn five_servers_form_one_cluster_too() {
    let c = Cluster::agent(&["-dev-servers", "5", "-http-port", "0"]);
    assert_eq!(c.servers.len(), 5);
    c.agreed_leader();
    let last = &c.servers[4];
    assert_eq!(last.node, "dev-5");
    assert_eq!(last.alive_members().len(), 5);
    assert_eq!(
        last.get("/v1/status/peers")
            .json()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn writes_through_each_server_are_seen_on_all_of_them() {
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", "0"]);
    for s in &c.servers {
        let r = s.put(&format!("/v1/kv/written-on/{}", s.node), &s.node);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // The seed's registration, lower-case keys, through a follower.
    let leader = c.agreed_leader().node.clone();
    let follower = c.servers.iter().find(|s| s.node != leader).unwrap();
    let seed = r#"{"name": "nginx","port": 8080,"tags": ["web"],"checks": [{"http": "http://127.0.0.1:1/","interval": "5s"}]}"#;
    let r = follower.put("/v1/agent/service/register", seed);
    assert_eq!(r.status, 200, "{}", r.text());
    for reader in &c.servers {
        for writer in &c.servers {
            let key = format!("written-on/{}", writer.node);
            eventually(5, &format!("{key} on {}", reader.node), || {
                (reader.kv(&key).as_deref() == Some(writer.node.as_str())).then_some(())
            });
        }
        let found = eventually(5, "nginx in the catalog", || {
            let list = reader.get("/v1/catalog/service/nginx").json();
            (list.as_array()?.len() == 1).then_some(list)
        });
        assert_eq!(found[0]["Node"], follower.node.as_str());
        assert_eq!(found[0]["ServicePort"], 8080);
        assert_eq!(found[0]["ServiceTags"], serde_json::json!(["web"]));
        let checks = reader.get("/v1/health/checks/nginx").json();
        assert_eq!(
            checks[0]["Type"], "http",
            "the check on {}: {checks}",
            reader.node
        );
    }
}

#[test]
fn a_watcher_on_a_follower_keeps_rendering_after_the_leader_leaves() {
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", "0"]);
    let leader = c.agreed_leader().clone();
    let follower = c.servers.iter().find(|s| s.node != leader.node).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tmpl = dir.path().join("color.tmpl");
    let out = dir.path().join("color.out");
    std::fs::write(&tmpl, r#"color={{ key "color" }}"#).unwrap();
    assert_eq!(follower.put("/v1/kv/color", "red").status, 200);
    let mut cmd = crate::ctmpl();
    cmd.args(["-consul-addr", &follower.http, "-template"])
        .arg(format!("{}:{}", tmpl.display(), out.display()));
    let watcher = Watcher::start(cmd);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    eventually(10, "the first render", || {
        (read() == "color=red").then_some(())
    });

    assert_eq!(leader.put("/v1/agent/leave", "").status, 200);
    eventually(10, "the leave to be said", || {
        c.saw(&format!("==> {} left the cluster", leader.node))
            .then_some(())
    });
    let new_leader = eventually(10, "a new leader", || {
        let l = follower.leader();
        (!l.is_empty() && l != leader.rpc).then_some(l)
    });
    assert_ne!(new_leader, leader.rpc);
    assert!(
        request_fails(&leader.http),
        "the server that left stopped serving"
    );
    assert_eq!(follower.put("/v1/kv/color", "blue").status, 200);
    eventually(10, "a render after the leave", || {
        (read() == "color=blue").then_some(())
    });
    // The new leader takes the one that left out of the Raft configuration.
    eventually(10, "two peers after the leave", || {
        let peers = follower.get("/v1/status/peers").json();
        (peers.as_array()?.len() == 2).then_some(())
    });
    drop(watcher);
}

#[test]
fn a_server_that_left_rejoins_fresh_and_serves_the_data() {
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", "0"]);
    let gone = c.servers[2].clone();
    let first = &c.servers[0];
    assert_eq!(gone.put("/v1/agent/leave", "").status, 200);
    eventually(10, "two servers alive", || {
        (first.alive_members() == ["dev-1", "dev-2"]).then_some(())
    });
    assert_eq!(first.put("/v1/kv/while-away", "written").status, 200);

    let r = first.put(&format!("/v1/agent/join/{}", gone.rpc), "");
    assert_eq!(r.status, 200, "{}", r.text());
    // The banner line comes through the agent's stdout, read by another thread.
    eventually(5, "the rejoin banner", || {
        c.saw("==> dev-3 rejoined").then_some(())
    });
    eventually(15, "dev-3 back with the data", || {
        (gone.kv("while-away").as_deref() == Some("written")).then_some(())
    });
    for s in &c.servers {
        eventually(10, "three members again", || {
            (s.alive_members() == ["dev-1", "dev-2", "dev-3"]).then_some(())
        });
    }
    // The leader adds the rejoined server to the Raft configuration after it has caught up.
    eventually(10, "three peers after the rejoin", || {
        let peers = gone.get("/v1/status/peers").json();
        (peers.as_array()?.len() == 3).then_some(())
    });
    // And it takes writes, forwarded to the leader, like the others.
    assert_eq!(gone.put("/v1/kv/after", "back").status, 200);
    eventually(5, "the write through dev-3 on dev-1", || {
        (first.kv("after").as_deref() == Some("back")).then_some(())
    });
}

#[test]
fn a_taken_http_port_is_replaced_by_a_free_one_and_the_banner_says_so() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", &port.to_string()]);
    let first = &c.servers[0];
    assert_ne!(first.http, format!("127.0.0.1:{port}"));
    let used = first.http.rsplit(':').next().unwrap().to_string();
    assert!(
        c.saw(&format!("(port {port} was taken; using {used})")),
        "banner: {:?}",
        c.log.lock().unwrap()
    );
    assert_eq!(
        first.get("/v1/agent/self").json()["Config"]["NodeName"],
        "dev-1"
    );
    drop(held);
}

#[test]
fn two_servers_are_refused_with_the_sizes_allowed() {
    for args in [
        vec!["agent", "-dev", "-dev-servers", "2"],
        vec!["-dev", "-dev-servers", "2", "-once"],
    ] {
        let out = crate::ctmpl().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = crate::stderr(&out);
        assert!(
            err.contains(r#"invalid value "2" for flag -dev-servers"#) && err.contains("1, 3 or 5"),
            "{args:?}: {err}"
        );
    }
    let out = crate::ctmpl()
        .args(["agent", "-dev-servers", "3", "-data-dir", "/nonexistent"])
        .output()
        .unwrap();
    assert!(crate::stderr(&out).contains("-dev-servers needs -dev"));
    let out = crate::ctmpl()
        .args(["-dev-servers", "3", "-once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(13));
    assert!(crate::stderr(&out).contains("-dev-servers needs -dev"));
}

#[test]
fn ctmpl_dev_renders_nginx_from_an_embedded_three_server_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nginx.conf");
    let template = crate::repo_path("templates/nginx.conf.ctmpl");
    let run = crate::ctmpl()
        .args([
            "-dev",
            "-dev-servers",
            "3",
            "-dev-http-port",
            "0",
            "-once",
            "-template",
        ])
        .arg(format!("{}:{}", template.display(), out.display()))
        .output()
        .unwrap();
    let err = crate::stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("==> templates watch dev-1 ("), "{err}");
    let servers: Vec<Server> = err.lines().filter_map(banner_server).collect();
    assert_eq!(servers.len(), 3, "{err}");
    let conf = std::fs::read_to_string(&out).unwrap();
    // The `consul` service has one instance per server, at its server address.
    for s in &servers {
        assert!(
            conf.contains(&format!("server {} max_fails", s.rpc)),
            "{conf}"
        );
    }
    assert!(conf.contains("upstream nginx"), "{conf}");
}

fn request_fails(addr: &str) -> bool {
    std::net::TcpStream::connect(addr).is_err()
}

/// A `ctmpl` renderer; SIGTERM on drop.
struct Watcher(Child);

impl Watcher {
    fn start(mut cmd: std::process::Command) -> Watcher {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ctmpl");
        Watcher(child)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn with_a_data_dir_each_server_keeps_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let c = Cluster::agent(&["-dev-servers", "3", "-http-port", "0", "-data-dir", data]);
    assert!(c.saw(&format!("data in {data}/dev-N")));
    for s in &c.servers {
        let id = std::fs::read_to_string(dir.path().join(&s.node).join("node-id")).unwrap();
        let self_info = s.get("/v1/agent/self").json();
        assert_eq!(self_info["Config"]["NodeID"], id.trim(), "{}", s.node);
    }
    drop(c);
}

#[test]
fn ctmpl_dev_cluster_keeps_rendering_through_a_leader_leave_and_the_watched_server_leave() {
    let dir = tempfile::tempdir().unwrap();
    let tmpl = dir.path().join("color.tmpl");
    let out = dir.path().join("color.out");
    std::fs::write(&tmpl, r#"color={{ keyOrDefault "color" "none" }}"#).unwrap();
    let mut cmd = crate::ctmpl();
    cmd.args([
        "-dev",
        "-dev-servers",
        "3",
        "-dev-http-port",
        "0",
        "-template",
    ])
    .arg(format!("{}:{}", tmpl.display(), out.display()));
    let c = Cluster::spawn(cmd);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    eventually(15, "the first render", || {
        (read() == "color=none").then_some(())
    });
    let watched = c.servers[0].clone();
    assert!(c.saw(&format!("==> templates watch {} (", watched.node)));
    // The leader leaves (the watched server or another): rendering goes on.
    let leader = c.agreed_leader().clone();
    let left_at = Instant::now();
    assert_eq!(leader.put("/v1/agent/leave", "").status, 200);
    let rest: Vec<Server> = c
        .servers
        .iter()
        .filter(|s| s.node != leader.node)
        .cloned()
        .collect();
    eventually(15, "a new leader", || {
        let l = rest[0].leader();
        (!l.is_empty() && l != leader.rpc).then_some(())
    });
    eprintln!(
        "new leader after the leader's leave: {:?}",
        left_at.elapsed()
    );
    assert_eq!(rest[0].put("/v1/kv/color", "blue").status, 200);
    eventually(20, "a render after the leader's leave", || {
        (read() == "color=blue").then_some(())
    });
    if leader.node != watched.node {
        // The watched server is still there: the leader rejoins, then the watched one leaves.
        let r = watched.put(&format!("/v1/agent/join/{}", leader.rpc), "");
        assert_eq!(r.status, 200, "{}", r.text());
        eventually(15, "three peers again", || {
            let peers = watched.get("/v1/status/peers").json();
            (peers.as_array()?.len() == 3).then_some(())
        });
        assert_eq!(watched.put("/v1/agent/leave", "").status, 200);
    }
    eventually(15, "the renderer moving to another server", || {
        c.saw(&format!(
            "==> {} stopped; templates now watch",
            watched.node
        ))
        .then_some(())
    });
    // Every server but the watched one runs now (a leader that left has rejoined).
    let other = c.servers.iter().find(|s| s.node != watched.node).unwrap();
    // When the watched server was the leader again, the others elect a new one first; a write
    // meanwhile is answered 500 "No cluster leader", as Consul answers it.
    eventually(15, "a write accepted after the watched server left", || {
        (other.put("/v1/kv/color", "green").status == 200).then_some(())
    });
    eventually(20, "a render after the watched server left", || {
        (read() == "color=green").then_some(())
    });
}
