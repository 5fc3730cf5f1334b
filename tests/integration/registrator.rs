//! `ctmpl registrator` against the real Docker engine: containers of a tiny image built from our
//! own binary (`FROM scratch`, ctmpl and the libraries `ldd` lists; the process is `ctmpl agent
//! -dev` answering HTTP on 8080), a real agent, and the catalog checked as containers start,
//! pause, stop and go away, as registrator restarts, and as Docker and Consul connections drop.
//!
//! Published ports are reached on 127.0.0.1 (the engine publishes them on the host); nothing
//! here sends traffic to a container's own address.
//!
//! Without an engine these tests say why on stderr and pass; every test appends `ran NAME` or
//! `skipped NAME: WHY` to `target/tmp/registrator-engine-tests.log`, which `.ci/run` reads to
//! fail a run that skipped them while the engine was up.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::support::{eventually, free_port, request, stop_child, Agent, Process};

// The packaging tests (systemd units, the container image) share the Docker helpers here.
#[path = "packaging.rs"]
mod packaging;

/// Where the tests tell `.ci/run` whether they ran against the engine.
fn marker(line: &str) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("registrator-engine-tests.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write per line: tests run in parallel.
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

fn socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

/// Why the engine cannot be used, if it cannot.
fn engine_missing() -> Option<String> {
    let sock = socket();
    if !sock.exists() {
        return Some(format!("no Docker engine socket at {}", sock.display()));
    }
    match Command::new("docker").arg("info").output() {
        Err(e) => Some(format!("the docker CLI cannot run ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "`docker info` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// True when the engine is there; otherwise says why the test is skipped (straight to stderr,
/// past the test harness's capture) and records it.
fn engine_up(test: &str) -> bool {
    static STATE: OnceLock<Option<String>> = OnceLock::new();
    match STATE.get_or_init(engine_missing) {
        None => {
            marker(&format!("ran {test}"));
            true
        }
        Some(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: needs a running Docker engine: {why}"
            );
            marker(&format!("skipped {test}: {why}"));
            false
        }
    }
}

/// The test image while a test uses it, when the engine is there (else `None`, the skip
/// recorded). Keep it as the test's first local, so that it goes after the test's containers.
fn engine(test: &str) -> Option<ImageUse> {
    engine_up(test).then(ImageUse::acquire)
}

/// How many running tests use the test image. The first builds it, the last one out removes
/// it, also when its test fails (on unwinding): no test run leaves an image behind.
static IMAGE_USERS: Mutex<usize> = Mutex::new(0);

struct ImageUse;

impl ImageUse {
    fn acquire() -> ImageUse {
        let mut users = IMAGE_USERS.lock().unwrap_or_else(|e| e.into_inner());
        if *users == 0 {
            build_image();
        }
        *users += 1;
        ImageUse
    }
}

impl Drop for ImageUse {
    fn drop(&mut self) {
        let mut users = IMAGE_USERS.lock().unwrap_or_else(|e| e.into_inner());
        *users -= 1;
        if *users == 0 {
            remove_image(&image());
        }
    }
}

/// Removes an image; says so on stderr when the engine refuses (a container still uses it).
fn remove_image(tag: &str) {
    match Command::new("docker").args(["image", "rm", tag]).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let _ = writeln!(
                std::io::stderr(),
                "could not remove the image {tag}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "docker image rm {tag}: {e}");
        }
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The test image: `ctmpl-test`, tagged with this test process's id, so that test runs in
/// other checkouts at the same time neither use nor remove it. (Registrator names services
/// after the image without its tag: `ctmpl-test`.)
fn image() -> String {
    format!("ctmpl-test:{}", std::process::id())
}

/// Builds the test image from our binary: `FROM scratch`, ctmpl and the libraries `ldd` lists.
fn build_image() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ctmpl"));
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, ctx.path().join("ctmpl")).unwrap();
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    for lib in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        let dest = ctx.path().join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dest).unwrap_or_else(|e| panic!("copy {lib}: {e}"));
    }
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY . /\nEXPOSE 8080\nENTRYPOINT [\"/ctmpl\"]\nCMD [\"agent\", \"-dev\", \"-http-port\", \"8080\", \"-client\", \"0.0.0.0\"]\n",
    )
    .unwrap();
    let started = Instant::now();
    let tag = image();
    docker(&["build", "-q", "-t", &tag, &ctx.path().display().to_string()]);
    let _ = writeln!(std::io::stderr(), "built {tag} in {:?}", started.elapsed());
}

/// A container removed (with `docker rm -f`) when dropped.
struct Ctr {
    name: String,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "ctmpl-{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

impl Ctr {
    /// `docker run -d --name NAME ARGS… IMAGE [CMD…]`.
    fn run(prefix: &str, args: &[&str], cmd: &[&str]) -> Ctr {
        let name = unique(prefix);
        let mut all = vec!["run", "-d", "--name", &name];
        all.extend_from_slice(args);
        let image = image();
        all.push(&image);
        all.extend_from_slice(cmd);
        docker(&all);
        Ctr { name }
    }

    /// The host port that `port` (`8080/tcp`) is published on.
    fn host_port(&self, port: &str) -> u16 {
        docker(&["port", &self.name, port])
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{} publishes {port}", self.name))
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// A running `ctmpl registrator`; its log is kept for assertions and failures.
struct Registrator {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Registrator {
    fn start(args: &[&str]) -> Registrator {
        let mut child = crate::ctmpl()
            .env("RUST_LOG", "ctmpl=debug")
            .arg("registrator")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ctmpl registrator");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let r = Registrator { child, log };
        eventually(30, "registrator listening", || {
            r.log()
                .contains("Listening for Docker events")
                .then_some(())
        });
        r
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The slowest handling (engine's event time → Consul updated) of these actions, in ms.
    fn slowest(&self, actions: &[&str]) -> f64 {
        self.log()
            .lines()
            .filter_map(|l| {
                let rest = l.split("event ").nth(1)?;
                let action = rest.split(' ').next()?;
                let ms = rest.split("handled ").nth(1)?.split(' ').next()?;
                actions.contains(&action).then(|| ms.parse::<f64>().ok())?
            })
            .fold(0.0, f64::max)
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Registrator {
    fn drop(&mut self) {
        stop_child(&mut self.child, "TERM", 5);
    }
}

fn uri(agent: &Agent) -> String {
    format!("consul://{}", agent.addr)
}

/// The agent's services, by ID.
fn services(agent: &Agent) -> serde_json::Map<String, Json> {
    agent
        .get("/v1/agent/services")
        .json()
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn has(agent: &Agent, id: &str) -> bool {
    services(agent).contains_key(id)
}

/// Waits for the service to appear (`true`) or go (`false`); returns how long it took.
fn until(agent: &Agent, id: &str, present: bool, secs: u64) -> Duration {
    let start = Instant::now();
    let what = format!(
        "{id} {}",
        if present {
            "registered"
        } else {
            "deregistered"
        }
    );
    eventually(secs, &what, || (has(agent, id) == present).then_some(()));
    start.elapsed()
}

fn report(what: &str, d: Duration) {
    let _ = writeln!(std::io::stderr(), "registrator latency: {what}: {d:?}");
}

#[test]
fn registrator_registers_ports_with_overrides_and_follows_events() {
    let Some(_image) = engine("registrator_registers_ports_with_overrides_and_follows_events")
    else {
        return;
    };
    let host = hostname();
    let agent = Agent::dev();
    let reg = Registrator::start(&["-ip", "127.0.0.1", "-tags", "dc-a", &uri(&agent)]);
    let web_name = unique("web");
    // Not registered: SERVICE_IGNORE, and a port exposed but not published.
    let ignored = Ctr::run("ignored", &["-p", "8080", "-e", "SERVICE_IGNORE=1"], &[]);
    let unpublished = Ctr::run("unpublished", &["--expose", "9999"], &[]);
    // Refused by the agent (a bad check interval): logged once, not retried in a loop.
    let refused = Ctr::run(
        "refused",
        &[
            "-p",
            "8080",
            "-e",
            "SERVICE_CHECK_HTTP=/",
            "-e",
            "SERVICE_CHECK_INTERVAL=bogus",
        ],
        &[],
    );
    let started = Instant::now();
    let web = Ctr::run(
        "web",
        &[
            "-p",
            "8080",
            "-e",
            &format!("SERVICE_NAME={web_name}"),
            "-e",
            "SERVICE_TAGS=a,b",
            "-e",
            "SERVICE_VERSION=2",
            "-e",
            "SERVICE_CHECK_HTTP=/v1/status/leader",
            "-e",
            "SERVICE_CHECK_INTERVAL=1s",
        ],
        &[],
    );
    let web_id = format!("{host}:{}:8080", web.name);
    until(&agent, &web_id, true, 10);
    report("docker run → registered", started.elapsed());
    let dns_name = unique("dns");
    let multi = Ctr::run(
        "multi",
        &[
            "-p",
            "8080",
            "-p",
            "5353/udp",
            "--label",
            &format!("SERVICE_5353_NAME={dns_name}"),
        ],
        &[],
    );
    let multi_tcp = format!("{host}:{}:8080", multi.name);
    let multi_udp = format!("{host}:{}:5353:udp", multi.name);
    until(&agent, &multi_tcp, true, 10);
    until(&agent, &multi_udp, true, 10);

    let all = services(&agent);
    let s = &all[&web_id];
    let port = web.host_port("8080/tcp");
    assert_eq!(s["Service"], web_name.as_str());
    assert_eq!(s["Tags"], serde_json::json!(["a", "b", "dc-a"]));
    assert_eq!(s["Meta"], serde_json::json!({"version": "2"}));
    assert_eq!(s["Address"], "127.0.0.1");
    assert_eq!(s["Port"], port);
    assert_eq!(
        all[&multi_tcp]["Service"], "ctmpl-test-8080",
        "image name, NAME-PORT"
    );
    assert_eq!(all[&multi_tcp]["Port"], multi.host_port("8080/tcp"));
    assert_eq!(all[&multi_udp]["Service"], dns_name.as_str());
    assert_eq!(all[&multi_udp]["Tags"], serde_json::json!(["dc-a", "udp"]));
    for other in [&ignored.name, &unpublished.name, &refused.name] {
        assert!(
            !all.keys().any(|id| id.contains(other.as_str())),
            "{other} is not registered: {all:?}"
        );
    }
    // The service answers at its registered address, and its check passes.
    let r = request(
        &format!("127.0.0.1:{port}"),
        "GET",
        "/v1/status/leader",
        b"",
    );
    assert_eq!(r.status, 200);
    eventually(20, "the HTTP check passing", || {
        let checks = agent.get(&format!("/v1/health/checks/{web_name}")).json();
        (checks[0]["Status"] == "passing").then_some(())
    });

    // Pause and unpause.
    docker(&["pause", &multi.name]);
    report("pause → deregistered", until(&agent, &multi_tcp, false, 10));
    assert!(!has(&agent, &multi_udp));
    docker(&["unpause", &multi.name]);
    report("unpause → registered", until(&agent, &multi_tcp, true, 10));
    until(&agent, &multi_udp, true, 10);

    // Stop (SIGTERM, exit 0) and kill (SIGKILL, 137).
    docker(&["stop", &web.name]);
    let d = until(&agent, &web_id, false, 10);
    report("docker stop → deregistered", d);
    docker(&["kill", &multi.name]);
    let d2 = until(&agent, &multi_tcp, false, 10);
    report("docker kill → deregistered", d2);
    until(&agent, &multi_udp, false, 10);
    // Started again: registered again.
    docker(&["start", &web.name]);
    report(
        "docker start → registered",
        until(&agent, &web_id, true, 10),
    );
    // Renamed: the ID follows the name.
    let renamed = Ctr {
        name: unique("renamed"),
    };
    docker(&["rename", &web.name, &renamed.name]);
    let renamed_id = format!("{host}:{}:8080", renamed.name);
    until(&agent, &renamed_id, true, 10);
    until(&agent, &web_id, false, 10);
    drop(renamed);
    until(&agent, &renamed_id, false, 10);
    drop(web);
    assert!(
        d < Duration::from_secs(3) && d2 < Duration::from_secs(3),
        "slow deregistration: {d:?} {d2:?}"
    );
    let slowest = reg.slowest(&["start", "die", "pause", "unpause"]);
    let _ = writeln!(
        std::io::stderr(),
        "registrator latency: slowest event → Consul updated: {slowest:.1} ms"
    );
    if std::env::var_os("REGISTRATOR_LOG").is_some() {
        let _ = writeln!(std::io::stderr(), "{}", reg.log());
    }
    assert!(
        slowest < 1000.0,
        "within a second of the event: {slowest} ms"
    );
    let log = reg.log();
    assert!(log.contains("added: "), "{log}");
    let refused_id = format!("{host}:{}:8080", refused.name);
    assert_eq!(
        log.matches(&format!("register failed: {refused_id} (400"))
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("(paused)") && log.contains("(stopped)"),
        "{log}"
    );
}

#[test]
fn registrator_restart_resyncs_with_cleanup_and_on_success() {
    let Some(_image) = engine("registrator_restart_resyncs_with_cleanup_and_on_success") else {
        return;
    };
    let host = hostname();
    let agent = Agent::dev();
    let flags = [
        "-ip",
        "127.0.0.1",
        "-cleanup",
        "-deregister",
        "on-success",
        "-retry-interval",
        "500",
    ];
    let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    args.push(uri(&agent));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reg = Registrator::start(&args);
    let keep = Ctr::run("keep", &["-p", "8080"], &[]);
    let gone = Ctr::run("gone", &["-p", "8080"], &[]);
    // consul-template mode with a template that needs no data: runs until SIGINT, then exits 12
    // (a failure, not a signal): `on-success` keeps its service.
    let failing = Ctr::run(
        "failing",
        &["-p", "8080"],
        &["-template", "/etc/hostname:/out"],
    );
    let id = |b: &Ctr| format!("{host}:{}:8080", b.name);
    for b in [&keep, &gone, &failing] {
        until(&agent, &id(b), true, 10);
    }
    // As PID 1 it ignores SIGINT until its handler is installed: send until it exits.
    eventually(20, "the failing container exited with 12", || {
        let state = docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &failing.name,
        ]);
        if state == "running 0" {
            let _ = Command::new("docker")
                .args(["kill", "-s", "INT", &failing.name])
                .output();
            std::thread::sleep(Duration::from_millis(200));
        }
        (state == "exited 12").then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        has(&agent, &id(&failing)),
        "on-success keeps a failed container's service"
    );
    assert!(reg.log().contains("kept: "), "{}", reg.log());

    // Registrator away: one container removed, one started; nothing follows.
    assert!(reg.stop().success(), "SIGTERM stops registrator with 0");
    drop(gone);
    let late = Ctr::run("late", &["-p", "8080"], &[]);
    std::thread::sleep(Duration::from_millis(500));
    let gone_id = services(&agent)
        .keys()
        .find(|k| k.contains("-gone-"))
        .cloned()
        .expect("the removed container's service is still there while registrator is away");
    assert!(!has(&agent, &id(&late)));

    // Back: the new container is registered, the dangling service removed (-cleanup), the failed
    // container's service kept (on-success) and the running one untouched.
    let started = Instant::now();
    let reg = Registrator::start(&args);
    until(&agent, &id(&late), true, 10);
    until(&agent, &gone_id, false, 10);
    report("restart → resynced", started.elapsed());
    assert!(has(&agent, &id(&keep)));
    assert!(has(&agent, &id(&failing)), "still kept after the restart");
    // Removing the failed container removes its service.
    let failing_id = id(&failing);
    drop(failing);
    report(
        "docker rm → deregistered",
        until(&agent, &failing_id, false, 10),
    );
    drop(reg);
}

#[test]
fn registrator_internal_addresses_and_ttl() {
    let Some(_image) = engine("registrator_internal_addresses_and_ttl") else {
        return;
    };
    let host = hostname();
    let agent = Agent::dev();
    // The Consul watch slowed right down, so that only the resync puts a service back.
    let reg = Registrator::start(&[
        "-internal",
        "-ttl",
        "3",
        "-ttl-refresh",
        "1",
        "-resync",
        "1",
        "-retry-interval",
        "60000",
        &uri(&agent),
    ]);
    let name = unique("int");
    let c = Ctr::run("internal", &["-e", &format!("SERVICE_NAME={name}")], &[]);
    let id = format!("{host}:{}:8080", c.name);
    until(&agent, &id, true, 10);
    let ip = docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &c.name]);
    let s = &services(&agent)[&id];
    assert_eq!(
        (s["Address"].as_str(), s["Port"].as_u64()),
        (Some(ip.as_str()), Some(8080))
    );
    // The TTL check is passed every second: still passing well past its 3 s TTL.
    std::thread::sleep(Duration::from_secs(5));
    let checks = agent.get(&format!("/v1/health/checks/{name}")).json();
    assert_eq!(checks[0]["CheckID"], format!("service:{id}:ttl"));
    assert_eq!(checks[0]["Status"], "passing", "{checks}");
    // Removed behind registrator's back: the next resync registers it again.
    let gone = agent.put(&format!("/v1/agent/service/deregister/{id}"), "");
    assert_eq!(gone.status, 200);
    assert!(!has(&agent, &id));
    report("resync → re-registered", until(&agent, &id, true, 5));
    assert!(reg.log().matches("Syncing services").count() >= 2);
}

/// A unix-socket proxy in front of the engine that the test can cut.
struct Proxy {
    path: PathBuf,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<std::os::unix::net::UnixStream>>>,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start() -> Proxy {
        use std::os::unix::net::{UnixListener, UnixStream};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (d, c) = (down.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let Ok(engine) = UnixStream::connect(socket()) else {
                    continue;
                };
                let mut list = c.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(engine.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), engine.try_clone().unwrap()),
                    (engine, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy {
            path,
            down,
            conns,
            _dir: dir,
        }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[test]
fn registrator_recovers_lost_docker_and_consul_connections() {
    let Some(_image) = engine("registrator_recovers_lost_docker_and_consul_connections") else {
        return;
    };
    let host = hostname();
    let port = free_port().to_string();
    let agent = Agent::start(&["-dev", "-http-port", &port]);
    let proxy = Proxy::start();
    let reg = Registrator::start(&[
        "-ip",
        "127.0.0.1",
        "-retry-interval",
        "500",
        "-docker-socket",
        &proxy.path.display().to_string(),
        &uri(&agent),
    ]);
    let first = Ctr::run("first", &["-p", "8080"], &[]);
    let first_id = format!("{host}:{}:8080", first.name);
    until(&agent, &first_id, true, 10);

    // Docker unreachable: what happens meanwhile is caught up when it is back.
    proxy.cut();
    eventually(10, "registrator noticing", || {
        reg.log()
            .contains("lost the Docker event stream")
            .then_some(())
    });
    docker(&["stop", "-t", "1", &first.name]);
    let second = Ctr::run("second", &["-p", "8080"], &[]);
    let second_id = format!("{host}:{}:8080", second.name);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        has(&agent, &first_id) && !has(&agent, &second_id),
        "nothing seen while cut"
    );
    let back = Instant::now();
    proxy.restore();
    until(&agent, &first_id, false, 10);
    until(&agent, &second_id, true, 10);
    report("Docker back → resynced", back.elapsed());

    // The agent restarts empty on the same address: services registered again.
    drop(agent);
    let agent = Agent::start(&["-dev", "-http-port", &port]);
    let back = Instant::now();
    until(&agent, &second_id, true, 15);
    report("Consul back → re-registered", back.elapsed());
    assert!(!has(&agent, &first_id));
    // And events keep flowing over the new Docker connection.
    docker(&["stop", "-t", "1", &second.name]);
    until(&agent, &second_id, false, 10);
}

/// The seed's nginx template, rendered by ctmpl from what registrator registers.
#[test]
fn registrator_feeds_the_nginx_template() {
    let Some(_image) = engine("registrator_feeds_the_nginx_template") else {
        return;
    };
    let agent = Agent::dev();
    let _reg = Registrator::start(&["-ip", "127.0.0.1", &uri(&agent)]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("default.conf");
    let _ctmpl = Process::spawn(
        crate::ctmpl()
            .args([
                "-consul-addr",
                &agent.addr,
                "-template",
                &format!(
                    "{}:{}",
                    crate::repo_path("templates/nginx.conf.ctmpl").display(),
                    out.display()
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let app = unique("app");
    let env = format!("SERVICE_NAME={app}");
    let a = Ctr::run("upstream", &["-p", "8080", "-e", &env], &[]);
    let b = Ctr::run("upstream", &["-p", "8080", "-e", &env], &[]);
    let servers = |want: usize| {
        eventually(20, &format!("{want} servers for {app}"), || {
            let text = std::fs::read_to_string(&out).ok()?;
            let block = upstream(&text, &app)?;
            let servers: Vec<String> = block
                .lines()
                .filter_map(|l| l.trim().strip_prefix("server "))
                .map(|l| l.split(' ').next().unwrap_or("").to_string())
                .collect();
            (servers.len() == want).then_some(servers)
        })
    };
    let both = servers(2);
    let mut want = vec![
        format!("127.0.0.1:{}", a.host_port("8080/tcp")),
        format!("127.0.0.1:{}", b.host_port("8080/tcp")),
    ];
    want.sort();
    let mut got = both.clone();
    got.sort();
    assert_eq!(got, want);
    for s in &both {
        assert_eq!(
            request(s, "GET", "/v1/status/leader", b"").status,
            200,
            "{s} answers"
        );
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains(&format!("location /{app} {{")), "{text}");
    docker(&["stop", "-t", "1", &a.name]);
    assert_eq!(
        servers(1),
        [format!("127.0.0.1:{}", b.host_port("8080/tcp"))]
    );
    docker(&["stop", "-t", "1", &b.name]);
    eventually(20, "no upstream left for the service", || {
        let text = std::fs::read_to_string(&out).ok()?;
        upstream(&text, &app).is_none().then_some(())
    });
}

/// The `upstream NAME { … }` block of the rendered configuration.
fn upstream<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("upstream {name} {{"))?;
    let end = text[start..].find('}')?;
    Some(&text[start..start + end])
}

/// Usage and flag errors need no engine.
#[test]
fn registrator_flag_errors() {
    let out = crate::ctmpl().arg("registrator").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::stderr(&out).contains("Missing required argument for registry URI"));
    for (args, code, text) in [
        (
            &["-deregister", "never", "consul://127.0.0.1:1"][..],
            1,
            "-deregister must be",
        ),
        (
            &["-ttl", "5", "consul://127.0.0.1:1"],
            1,
            "-ttl and -ttl-refresh",
        ),
        (
            &["-nope", "consul://127.0.0.1:1"],
            2,
            "flag provided but not defined: -nope",
        ),
        (&["etcd://127.0.0.1:1"], 1, "unrecognized adapter"),
        (&["consul://127.0.0.1:1"], 1, "Consul"),
    ] {
        let out = crate::ctmpl()
            .arg("registrator")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            crate::stderr(&out)
        );
        assert!(
            crate::stderr(&out).contains(text),
            "{args:?}: {}",
            crate::stderr(&out)
        );
    }
    let help = crate::ctmpl().args(["registrator", "-h"]).output().unwrap();
    assert!(help.status.success() && crate::stdout(&help).contains("-deregister"));
}
