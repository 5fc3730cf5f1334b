//! The nginx sidecar, proven with real nginx: the agent, two backends, nginx including ctmpl's
//! destination, long-running ctmpl reloading nginx. Traffic follows health; with no healthy
//! backend nginx answers 502; a render nginx refuses is rolled back by `check_command`.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{eventually, free_port, request, stop_child, Agent, Backend, Process};

fn nginx() -> &'static str {
    for path in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(path).exists() {
            return path;
        }
    }
    panic!("nginx is not installed (apt-get install -y nginx-light; .ci/run does this)");
}

/// nginx in the foreground (`daemon off`): this child is its master process.
struct Nginx {
    child: Child,
}

impl Nginx {
    /// Graceful shutdown, as `nginx -s quit` does: SIGQUIT to the master, which lets its
    /// workers finish and exits after them. (A SIGKILLed master leaves its workers listening.)
    /// True when nginx went by itself within 15 s.
    fn quit(&mut self) -> bool {
        stop_child(&mut self.child, "QUIT", 15).1
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // On a test failure too; SIGTERM (fast shutdown, the master still waits for its
        // workers) if a graceful quit hangs.
        if !self.quit() {
            eprintln!("nginx did not quit within 15 s and was killed");
        }
    }
}

/// Where each request through nginx landed (the backend's body), or the status for errors.
fn hits(addr: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let r = request(addr, "GET", "/", b"");
            if r.status == 200 {
                r.text()
            } else {
                format!("status {}", r.status)
            }
        })
        .collect()
}

#[test]
fn nginx_follows_health_and_refuses_broken_renders() {
    let agent = Agent::dev();
    let a = Backend::start(200);
    let b = Backend::start(200);
    for (id, backend) in [("app-a", &a), ("app-b", &b)] {
        let (host, port) = backend.addr.split_once(':').unwrap();
        let body = json!({"Name": "app", "ID": id, "Address": host, "Port": port.parse::<u16>().unwrap(),
                          "Check": {"HTTP": format!("http://{}/health", backend.addr), "Interval": "1s"}});
        assert_eq!(
            agent
                .put("/v1/agent/service/register", &body.to_string())
                .status,
            200
        );
    }
    let passing = |n: usize| (agent_passing(&agent) == n).then_some(());
    eventually(15, "both backends passing", || passing(2));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/upstreams.conf;\n  server {{\n    listen {listen};\n    location / {{ proxy_pass http://app; }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("upstreams.ctmpl"),
        "upstream app {\n{{- range service \"app\"}}\n  server {{.Address}}:{{.Port}};\n{{- else}}\n  server 127.0.0.1:65535; # force a 502\n{{- end}}\n}\n{{key \"nginx/extra\"}}\n",
    )
    .unwrap();
    agent.put("/v1/kv/nginx/extra", "# nothing extra");
    let nginx_cmd = format!("{} -p {d} -c {d}/nginx.conf", nginx());
    std::fs::write(
        dir.path().join("ctmpl.hcl"),
        format!(
            "consul {{ address = \"{}\" }}\ntemplate {{\n  source = \"{d}/upstreams.ctmpl\"\n  destination = \"{d}/upstreams.conf\"\n  check_command = \"{nginx_cmd} -t -q\"\n  command = \"{nginx_cmd} -s reload\"\n}}\n",
            agent.addr
        ),
    )
    .unwrap();
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args(["-config", &format!("{d}/ctmpl.hcl")])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let upstreams = dir.path().join("upstreams.conf");
    eventually(20, "first render", || {
        std::fs::read_to_string(&upstreams)
            .ok()
            .filter(|s| s.matches("server ").count() == 2)
    });
    // nginx starts after the first render (it must include the file); ctmpl's first write found
    // no nginx to reload, which it reports and survives.
    let mut nginx_proc = Nginx {
        child: Command::new(nginx())
            .args([
                "-p",
                &d,
                "-c",
                &format!("{d}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    eventually(10, "nginx listening", || {
        std::net::TcpStream::connect(&listen).ok()
    });
    let seen: HashSet<String> = hits(&listen, 20).into_iter().collect();
    assert_eq!(
        seen,
        HashSet::from([
            format!("backend says 200 from {}", a.addr),
            format!("backend says 200 from {}", b.addr)
        ]),
        "traffic reaches both"
    );

    // B's health check fails: re-render, reload, traffic only to A.
    b.set_status(500);
    eventually(15, "only A passing", || passing(1));
    eventually(20, "traffic only to A", || {
        hits(&listen, 10)
            .iter()
            .all(|h| *h == format!("backend says 200 from {}", a.addr))
            .then_some(())
    });
    // A fails too: nothing healthy, nginx answers 502.
    a.set_status(500);
    eventually(20, "502 with no healthy backend", || {
        hits(&listen, 3)
            .iter()
            .all(|h| h == "status 502")
            .then_some(())
    });
    a.set_status(200);
    eventually(20, "A back", || {
        hits(&listen, 5)
            .iter()
            .all(|h| h.contains(&a.addr))
            .then_some(())
    });

    // A render nginx would refuse: check_command (nginx -t) rolls it back; nginx keeps serving.
    let good = std::fs::read_to_string(&upstreams).unwrap();
    agent.put("/v1/kv/nginx/extra", "this is not nginx syntax");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        std::fs::read_to_string(&upstreams).unwrap(),
        good,
        "the broken render was rolled back"
    );
    assert!(
        hits(&listen, 5).iter().all(|h| h.contains(&a.addr)),
        "nginx keeps serving"
    );

    // Stopped gracefully, nginx leaves nothing behind: its master exited by itself, and no
    // worker still listens on its port.
    assert!(nginx_proc.quit(), "nginx quits on SIGQUIT");
    assert!(
        std::net::TcpStream::connect(&listen).is_err(),
        "nothing listens on {listen} after nginx quit"
    );
}

fn agent_passing(agent: &Agent) -> usize {
    agent
        .get("/v1/health/service/app?passing")
        .json()
        .as_array()
        .map_or(0, Vec::len)
}
