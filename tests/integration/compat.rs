//! consul-template's error texts, exit codes, argument checks and template environment, through
//! the real binary against a real agent. The expected texts in `testdata/ct_errors/` come from
//! consul-template v0.42.1's behaviour (the ct-typed-oracle, real Go; `regen.sh` there).

use std::path::Path;

use crate::support::{eventually, Agent, Process};

fn golden_dir() -> std::path::PathBuf {
    crate::repo_path("tests/integration/testdata/ct_errors")
}

/// `ctmpl -once -dry -template NAME.tmpl` run from `dir` (so the source reads `NAME.tmpl`).
fn run_in(dir: &Path, agent: &Agent, source: &str, extra: &[&str]) -> std::process::Output {
    crate::ctmpl()
        .current_dir(dir)
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            source,
            "-once",
            "-dry",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// An agent whose KV store is not empty, so that `ls ""` would list something if it asked.
fn agent_with_keys() -> Agent {
    let agent = Agent::dev();
    for (k, v) in [("app/a", "1"), ("app/b/c", "2"), ("top", "3")] {
        assert_eq!(agent.put(&format!("/v1/kv/{k}"), v).text(), "true");
    }
    agent
}

#[test]
fn errors_exit_codes_and_empty_prefixes_match_consul_template() {
    let agent = agent_with_keys();
    let dir = golden_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tmpl").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the corpus is there: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let out = run_in(&dir, &agent, &format!("{name}.tmpl"), &[]);
        let (stdout, stderr) = (crate::stdout(&out), crate::stderr(&out));
        let got = if let Ok(want) = std::fs::read_to_string(dir.join(format!("{name}.err"))) {
            let last = stderr.lines().last().unwrap_or("");
            (out.status.code() == Some(14) && last == want.trim_end())
                .then_some(())
                .ok_or(format!(
                    "exit {:?}, stderr {stderr:?}; want 14 and {want:?}",
                    out.status.code()
                ))
        } else {
            let want = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
            let body = stdout.split_once('\n').map_or("", |(_, b)| b);
            (out.status.success() && body == want)
                .then_some(())
                .ok_or(format!(
                    "exit {:?}, stdout {stdout:?}, stderr {stderr:?}; want {want:?}",
                    out.status.code()
                ))
        };
        if let Err(e) = got {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_template_environment_has_consuls_variables() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.tmpl"),
        r#"{{ env "CONSUL_HTTP_ADDR" }} {{ env "CONSUL_HTTP_SSL" }} {{ env "CONSUL_HTTP_SSL_VERIFY" }} {{ env "CONSUL_HTTP_TOKEN" }}"#,
    )
    .unwrap();
    // The runner's values win over the process's own, as consul-template's `env` reads them.
    let out = crate::ctmpl()
        .current_dir(dir.path())
        .env("CONSUL_HTTP_SSL", "bogus")
        .env_remove("CONSUL_HTTP_TOKEN")
        .env_remove("CONSUL_TOKEN")
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            "env.tmpl:env.out",
            "-once",
        ])
        .args([
            "-exec",
            "sh -c 'echo \"$CONSUL_HTTP_ADDR $CONSUL_HTTP_SSL_VERIFY\" > child.txt'",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rendered = std::fs::read_to_string(dir.path().join("env.out")).unwrap();
    assert_eq!(rendered, format!("{} false true ", agent.addr));
    let child = std::fs::read_to_string(dir.path().join("child.txt")).unwrap();
    assert_eq!(child, format!("{} true\n", agent.addr));

    // A token and -consul-ssl-verify=false show as consul-template sets them.
    let out = crate::ctmpl()
        .current_dir(dir.path())
        .args(["-consul-addr", &agent.addr, "-consul-token", "s3cret"])
        .args([
            "-consul-ssl-verify=false",
            "-template",
            "env.tmpl:env.out",
            "-once",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rendered = std::fs::read_to_string(dir.path().join("env.out")).unwrap();
    assert_eq!(rendered, format!("{} false false s3cret", agent.addr));
}

const SELF_EXECUTING: &str =
    r#"{{define "r"}}{{executeTemplate "r"}}{{end}}{{executeTemplate "r"}}"#;

#[test]
fn execute_template_without_end_fails_with_gos_depth_error() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loop.tmpl"), SELF_EXECUTING).unwrap();
    let out = run_in(dir.path(), &agent, "loop.tmpl", &[]);
    assert_eq!(out.status.code(), Some(14), "{out:?}");
    assert_eq!(
        crate::stderr(&out).lines().last().unwrap(),
        "loop.tmpl: execute: template: :1:16: executing \"r\" at <executeTemplate \"r\">: \
         error calling executeTemplate: exceeded maximum template depth (100000)"
    );

    // Long-running, with `error_fatal = false`: the looping template is logged and the
    // other one keeps rendering as its data changes.
    std::fs::write(dir.path().join("ok.tmpl"), r#"v={{ key "color" }}"#).unwrap();
    let config = dir.path().join("ct.hcl");
    std::fs::write(
        &config,
        "template {\n  source = \"loop.tmpl\"\n  destination = \"loop.out\"\n  error_fatal = false\n}\n\
         template {\n  source = \"ok.tmpl\"\n  destination = \"ok.out\"\n}\n",
    )
    .unwrap();
    agent.put("/v1/kv/color", "red");
    let mut ct = Process::spawn(
        crate::ctmpl()
            .current_dir(dir.path())
            .args([
                "-consul-addr",
                &agent.addr,
                "-config",
                config.to_str().unwrap(),
            ])
            .stderr(std::process::Stdio::piped()),
    );
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).ok();
    eventually(20, "ok.out = red", || {
        (read("ok.out")? == "v=red").then_some(())
    });
    agent.put("/v1/kv/color", "blue");
    eventually(20, "ok.out = blue", || {
        (read("ok.out")? == "v=blue").then_some(())
    });
    assert!(
        matches!(ct.0.try_wait(), Ok(None)),
        "ctmpl is still running"
    );
    assert!(read("loop.out").is_none(), "nothing half-written");
    crate::support::stop_child(&mut ct.0, "TERM", 5);
    let mut log = String::new();
    std::io::Read::read_to_string(ct.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("(runner) loop.tmpl: execute: template: :1:16: executing \"r\" at <executeTemplate \"r\">: error calling executeTemplate: exceeded maximum template depth (100000)"),
        "{log}"
    );
}
