//! The long-running ctmpl against a real agent with real files: writes and commands, changes,
//! signals, the pid file, exec mode, an agent restart, and crash safety of the destination.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{eventually, Agent};

struct Ctmpl {
    child: Child,
}

impl Ctmpl {
    fn start(args: &[&str]) -> Ctmpl {
        let child = crate::ctmpl()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ctmpl");
        Ctmpl { child }
    }

    fn signal(&self, sig: &str) {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Waits for the process to exit; its status.
    fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        eventually(secs, "ctmpl to exit", || {
            self.child.try_wait().ok().flatten()
        })
    }
}

impl Drop for Ctmpl {
    /// Stops ctmpl as a user would (SIGTERM), so that it stops its `-exec` child too; SIGKILL
    /// only if it has not exited within 5 s. (A SIGKILLed ctmpl leaves its child running.)
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        self.signal("TERM");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn lines(path: &Path) -> usize {
    read(path).map_or(0, |s| s.lines().count())
}

fn register(agent: &Agent, body: serde_json::Value) {
    let r = agent.put("/v1/agent/service/register", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
}

const UPSTREAMS: &str = "{{range service \"web|any\"}}server {{.Address}}:{{.Port}};\n{{end}}";

fn setup(template: &str) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.ctmpl");
    std::fs::write(&src, template).unwrap();
    let dest = dir.path().join("out/upstreams.conf");
    let marker = dir.path().join("commands.log");
    (dir, src, dest, marker)
}

#[test]
fn writes_runs_its_command_and_follows_the_catalog() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "ID": "web-1", "Port": 8001}));
    let (_dir, src, dest, marker) = setup(UPSTREAMS);
    let spec = format!(
        "{}:{}:echo ran >> {}",
        src.display(),
        dest.display(),
        marker.display()
    );
    let _ct = Ctmpl::start(&["-consul-addr", &agent.addr, "-template", &spec]);
    eventually(20, "first render", || {
        (read(&dest)? == "server 127.0.0.1:8001;\n").then_some(())
    });
    eventually(10, "the command ran", || {
        (lines(&marker) == 1).then_some(())
    });
    register(&agent, json!({"Name": "web", "ID": "web-2", "Port": 8002}));
    eventually(20, "re-render", || {
        (read(&dest)?.contains("8002")).then_some(())
    });
    eventually(10, "the command ran again", || {
        (lines(&marker) == 2).then_some(())
    });
    // Unrelated changes: nothing written, nothing run.
    let modified = std::fs::metadata(&dest).unwrap().modified().unwrap();
    agent.put("/v1/kv/unrelated", "x");
    register(&agent, json!({"Name": "db", "Port": 5432}));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        std::fs::metadata(&dest).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(lines(&marker), 2);
}

/// Views hold their first blocking query back until the runner has nothing left to wait for
/// (the first render's fetches have the CPU to themselves). A template waiting for a key that
/// does not exist is such a state: the other template's view must block and follow a change
/// long before its hold would give out (30 s).
#[test]
fn a_template_waiting_for_absent_data_does_not_hold_back_the_others_changes() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "ID": "web-1", "Port": 8001}));
    let (dir, src, dest, _) = setup(UPSTREAMS);
    let waiting_src = dir.path().join("waiting.ctmpl");
    std::fs::write(&waiting_src, "{{key \"never/written\"}}").unwrap();
    let waiting_dest = dir.path().join("waiting.out");
    let spec = format!("{}:{}", src.display(), dest.display());
    let waiting = format!("{}:{}", waiting_src.display(), waiting_dest.display());
    let _ct = Ctmpl::start(&[
        "-consul-addr",
        &agent.addr,
        "-template",
        &waiting,
        "-template",
        &spec,
    ]);
    eventually(20, "first render", || {
        (read(&dest)? == "server 127.0.0.1:8001;\n").then_some(())
    });
    register(&agent, json!({"Name": "web", "ID": "web-2", "Port": 8002}));
    eventually(15, "the change, well before the hold gives out", || {
        (read(&dest)?.contains("8002")).then_some(())
    });
    assert!(
        read(&waiting_dest).is_none(),
        "the waiting template rendered"
    );
}

#[test]
fn once_renders_runs_and_exits() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "Port": 8001}));
    let (_dir, src, dest, marker) = setup(UPSTREAMS);
    let spec = format!(
        "{}:{}:touch {}",
        src.display(),
        dest.display(),
        marker.display()
    );
    let out = crate::ctmpl()
        .args(["-consul-addr", &agent.addr, "-template", &spec, "-once"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&dest).unwrap(), "server 127.0.0.1:8001;\n");
    assert!(marker.exists());
    // -dry prints, writes nothing, runs nothing.
    let (_dir2, src2, dest2, marker2) = setup(UPSTREAMS);
    let spec = format!(
        "{}:{}:touch {}",
        src2.display(),
        dest2.display(),
        marker2.display()
    );
    let out = crate::ctmpl()
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            &spec,
            "-once",
            "-dry",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("> {}\nserver 127.0.0.1:8001;\n", dest2.display())
    );
    assert!(!dest2.exists() && !marker2.exists());
}

#[test]
fn sighup_reloads_templates_and_sigterm_stops_cleanly() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "Port": 8001}));
    let (dir, src, dest, _) = setup(UPSTREAMS);
    let pid_file = dir.path().join("ctmpl.pid");
    let spec = format!("{}:{}", src.display(), dest.display());
    let mut ct = Ctmpl::start(&[
        "-consul-addr",
        &agent.addr,
        "-template",
        &spec,
        "-pid-file",
        pid_file.to_str().unwrap(),
    ]);
    eventually(20, "first render", || {
        read(&dest).filter(|s| s.contains("8001"))
    });
    assert_eq!(read(&pid_file).unwrap().trim(), ct.child.id().to_string());
    std::fs::write(
        &src,
        "{{range service \"web|any\"}}edited {{.Port}}\n{{end}}",
    )
    .unwrap();
    ct.signal("HUP");
    eventually(20, "the edited template", || {
        read(&dest).filter(|s| s == "edited 8001\n")
    });
    ct.signal("TERM");
    let status = ct.wait(10);
    assert_eq!(status.code(), Some(0));
    assert!(!pid_file.exists(), "the pid file is removed");
    // The kill signal (SIGINT) stops with consul-template's exit code 12.
    let mut ct = Ctmpl::start(&["-consul-addr", &agent.addr, "-template", &spec]);
    std::thread::sleep(Duration::from_millis(500));
    ct.signal("INT");
    assert_eq!(ct.wait(10).code(), Some(12));
}

#[test]
fn exec_mode_restarts_or_signals_the_child() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "ID": "web-1", "Port": 8001}));
    let (dir, src, dest, _) = setup(UPSTREAMS);
    let spec = format!("{}:{}", src.display(), dest.display());
    // Restart: each start of the child appends a line.
    let starts = dir.path().join("starts");
    let child = format!("sh -c 'echo start >> {}; exec sleep 60'", starts.display());
    let _ct = Ctmpl::start(&[
        "-consul-addr",
        &agent.addr,
        "-template",
        &spec,
        "-exec",
        &child,
        "-exec-kill-timeout",
        "2s",
    ]);
    eventually(20, "child started", || (lines(&starts) == 1).then_some(()));
    register(&agent, json!({"Name": "web", "ID": "web-2", "Port": 8002}));
    eventually(20, "child restarted", || {
        (lines(&starts) == 2).then_some(())
    });
    // Reload signal: the child traps HUP instead of being restarted.
    let hups = dir.path().join("hups");
    let child = format!(
        "trap 'echo hup >> {}' HUP; while true; do sleep 0.1; done",
        hups.display()
    );
    let (_d2, src2, dest2, _) = setup(UPSTREAMS);
    let spec2 = format!("{}:{}", src2.display(), dest2.display());
    let _ct2 = Ctmpl::start(&[
        "-consul-addr",
        &agent.addr,
        "-template",
        &spec2,
        "-exec",
        &child,
        "-exec-reload-signal",
        "SIGHUP",
    ]);
    eventually(20, "render", || read(&dest2).filter(|s| s.contains("8002")));
    std::thread::sleep(Duration::from_millis(300));
    register(&agent, json!({"Name": "web", "ID": "web-3", "Port": 8003}));
    eventually(20, "child got HUP", || (lines(&hups) >= 1).then_some(()));
}

#[test]
fn the_child_exit_code_becomes_ours() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "Port": 8001}));
    let (_dir, src, dest, _) = setup(UPSTREAMS);
    let spec = format!("{}:{}", src.display(), dest.display());
    let out = crate::ctmpl()
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            &spec,
            "-exec",
            "sh -c 'exit 7'",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn the_file_survives_an_agent_restart_and_ctmpl_recovers() {
    let port = crate::support::free_port().to_string();
    let first = Agent::start(&["-dev", "-http-port", &port]);
    register(&first, json!({"Name": "web", "Port": 8001}));
    let (_dir, src, dest, _) = setup(UPSTREAMS);
    let spec = format!("{}:{}", src.display(), dest.display());
    let _ct = Ctmpl::start(&[
        "-consul-addr",
        &first.addr,
        "-template",
        &spec,
        "-consul-retry-attempts",
        "0",
        "-consul-retry-max-backoff",
        "500ms",
    ]);
    eventually(20, "first render", || {
        read(&dest).filter(|s| s.contains("8001"))
    });
    drop(first);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        read(&dest).unwrap(),
        "server 127.0.0.1:8001;\n",
        "the last good file stays"
    );
    let second = Agent::start(&["-dev", "-http-port", &port]);
    register(&second, json!({"Name": "web", "Port": 9009}));
    eventually(30, "recovery", || {
        read(&dest).filter(|s| s.contains("9009"))
    });
}

#[test]
fn a_sigkill_mid_render_never_leaves_a_partial_file() {
    let agent = Agent::dev();
    for i in 0..200 {
        register(
            &agent,
            json!({"Name": "web", "ID": format!("web-{i}"), "Port": 10000 + i}),
        );
    }
    let (dir, src, dest, _) = setup("{{range service \"web|any\"}}server {{.Address}}:{{.Port}}; # padding padding padding padding\n{{end}}end\n");
    let spec = format!("{}:{}", src.display(), dest.display());
    for round in 0..5 {
        let mut ct = Ctmpl::start(&["-consul-addr", &agent.addr, "-template", &spec]);
        register(
            &agent,
            json!({"Name": "web", "ID": format!("web-x{round}"), "Port": 20000 + round}),
        );
        std::thread::sleep(Duration::from_millis(150 + 40 * round as u64));
        ct.signal("KILL");
        ct.wait(5);
        if let Some(text) = read(&dest) {
            assert!(
                text.ends_with("end\n"),
                "round {round}: a partial file: {} bytes",
                text.len()
            );
        }
    }
    // No temporary files left next to the destination either, except ones from killed writes,
    // which are never the destination itself.
    assert!(read(&dest).is_some_and(|t| t.ends_with("end\n")));
    drop(dir);
}

#[test]
fn hcl_and_json_configs_equal_the_same_flags() {
    let agent = Agent::dev();
    register(&agent, json!({"Name": "web", "Port": 8001}));
    let (dir, src, _, _) = setup(UPSTREAMS);
    let render = |args: Vec<String>| {
        let out = crate::ctmpl().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dest = dir.path().join("x.conf");
    let by_flags = render(vec![
        "-consul-addr".into(),
        agent.addr.clone(),
        "-template".into(),
        format!("{}:{}", src.display(), dest.display()),
        "-once".into(),
        "-dry".into(),
    ]);
    let hcl = dir.path().join("ctmpl.hcl");
    std::fs::write(
        &hcl,
        format!(
            "consul {{\n  address = \"{}\"\n  retry {{ attempts = 3 }}\n}}\n# a comment\ntemplate {{\n  source = \"{}\"\n  destination = \"{}\"\n  perms = 0640\n}}\n",
            agent.addr,
            src.display(),
            dest.display()
        ),
    )
    .unwrap();
    let by_hcl = render(vec![
        "-config".into(),
        hcl.display().to_string(),
        "-once".into(),
        "-dry".into(),
    ]);
    let json_file = dir.path().join("ctmpl.json");
    let config = json!({"consul": {"address": agent.addr}, "template": [{"source": src, "destination": dest}]});
    std::fs::write(&json_file, config.to_string()).unwrap();
    let by_json = render(vec![
        "-config".into(),
        json_file.display().to_string(),
        "-once".into(),
        "-dry".into(),
    ]);
    assert_eq!(by_hcl, by_flags);
    assert_eq!(by_json, by_flags);
    // perms = 0640 is octal in HCL.
    let out = crate::ctmpl()
        .args(["-config", hcl.to_str().unwrap(), "-once"])
        .output()
        .unwrap();
    assert!(out.status.success());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // A config error names the file and the key.
    std::fs::write(&hcl, "template {\n  source = \"x\"\n  perm = 0644\n}\n").unwrap();
    let out = crate::ctmpl()
        .args(["-config", hcl.to_str().unwrap(), "-once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(15));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ctmpl.hcl") && err.contains("perm"), "{err}");
}

#[test]
fn a_failing_check_command_keeps_the_old_file() {
    let agent = Agent::dev();
    agent.put("/v1/kv/conf", "good");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.conf");
    let marker = dir.path().join("reloaded");
    // The check refuses any file that says "bad", as `nginx -t` refuses a broken config.
    let hcl = dir.path().join("ctmpl.hcl");
    std::fs::write(
        &hcl,
        format!(
            "consul {{ address = \"{}\" }}\ntemplate {{\n  contents = \"setting={{{{key \\\"conf\\\"}}}}\\n\"\n  destination = \"{}\"\n  check_command = \"! grep -q bad {}\"\n  command = \"touch {}\"\n}}\n",
            agent.addr,
            dest.display(),
            dest.display(),
            marker.display()
        ),
    )
    .unwrap();
    let _ct = Ctmpl::start(&["-config", hcl.to_str().unwrap()]);
    eventually(20, "first render", || {
        read(&dest).filter(|s| s == "setting=good\n")
    });
    eventually(10, "the command ran", || marker.exists().then_some(()));
    std::fs::remove_file(&marker).unwrap();
    agent.put("/v1/kv/conf", "bad");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        read(&dest).unwrap(),
        "setting=good\n",
        "the bad render was rolled back"
    );
    assert!(!marker.exists(), "the command did not run");
    agent.put("/v1/kv/conf", "better");
    eventually(20, "a good render again", || {
        read(&dest).filter(|s| s == "setting=better\n")
    });
    eventually(10, "the command ran", || marker.exists().then_some(()));
}
