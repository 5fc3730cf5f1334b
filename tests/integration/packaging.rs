//! Packaging: the systemd units (`systemd-analyze verify`), the configuration files they point
//! at, and the container image (`packaging/image.sh` + `packaging/Dockerfile`) built with the
//! real Docker engine and run in every mode. Included from `registrator.rs`, whose Docker
//! helpers the image test shares.

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use super::{docker, engine_up, remove_image, socket, Ctr};
use crate::support::{eventually, request, run, try_request, Agent};

/// Copies `packaging/etc/ctmpl` to `dir`, every `/etc/ctmpl/` in it now `dir`.
fn stage_config(dir: &Path) {
    let src = crate::repo_path("packaging/etc/ctmpl");
    let prefix = format!("{}/", dir.display());
    for rel in [
        "nginx.hcl",
        "agent.d/agent.json",
        "templates/nginx-upstreams.ctmpl",
    ] {
        let text = std::fs::read_to_string(src.join(rel)).unwrap();
        let dest = dir.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, text.replace("/etc/ctmpl/", &prefix)).unwrap();
    }
}

#[test]
fn systemd_units_verify() {
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("systemd-analyze is missing: apt-get install -y systemd (.ci/run does this)");
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_ctmpl");
    let mut units = Vec::new();
    for name in ["ctmpl-agent.service", "ctmpl-nginx.service"] {
        let text = std::fs::read_to_string(crate::repo_path(&format!("packaging/systemd/{name}")))
            .unwrap();
        assert!(
            text.contains("ExecStart=/usr/bin/ctmpl "),
            "{name} runs /usr/bin/ctmpl"
        );
        // verify checks that ExecStart's program exists: the one just built stands in for the
        // installed /usr/bin/ctmpl.
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace("/usr/bin/ctmpl", binary)).unwrap();
        units.push(path);
    }
    let sidecar = std::fs::read_to_string(&units[1]).unwrap();
    assert!(
        sidecar.contains(" -config /etc/ctmpl/nginx.hcl\n"),
        "{sidecar}"
    );
    assert!(sidecar.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"));

    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on unknown keys and bad values (it only warns), so any word about our
    // units fails the test too.
    let about_ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("ctmpl-agent.service") || l.contains("ctmpl-nginx.service"))
        .collect();
    assert!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify ({}):\n{stderr}",
        out.status
    );
}

/// The agent's packaged configuration starts a server with its UI, and the sidecar's renders
/// nginx upstreams from it with the packaged template.
#[test]
fn packaged_configuration_runs() {
    let dir = tempfile::tempdir().unwrap();
    stage_config(dir.path());
    let data = dir.path().join("data");
    // The packaged config leaves the bind address to the host (as Consul's does); this host has
    // several private addresses, which an agent bound to 0.0.0.0 refuses to choose among.
    let agent = Agent::start(&[
        "-bind",
        "127.0.0.1",
        "-config-dir",
        &dir.path().join("agent.d").display().to_string(),
        "-data-dir",
        &data.display().to_string(),
        "-http-port",
        "0",
    ]);
    let config = &agent.get("/v1/agent/self").json()["Config"];
    assert_eq!(config["Server"], true, "{config}");
    assert_eq!(agent.get("/ui/").status, 200, "the UI is enabled");
    eventually(20, "a leader", || {
        (agent.get("/v1/status/leader").text().len() > 2).then_some(())
    });
    let body = r#"{"Name": "web", "Address": "127.0.0.1", "Port": 8080}"#;
    assert_eq!(agent.put("/v1/agent/service/register", body).status, 200);

    let hcl = dir.path().join("nginx.hcl");
    let text = std::fs::read_to_string(&hcl)
        .unwrap()
        .replace("127.0.0.1:8500", &agent.addr);
    std::fs::write(&hcl, text).unwrap();
    // -dry: the render goes to stdout, no file is written and no nginx is run.
    let out = crate::ctmpl()
        .args(["-config", &hcl.display().to_string(), "-once", "-dry"])
        .output()
        .unwrap();
    let stdout = crate::stdout(&out);
    assert!(out.status.success(), "{stdout}{}", crate::stderr(&out));
    assert!(
        stdout.contains("upstream web {\n  server 127.0.0.1:8080;\n}"),
        "{stdout}"
    );
}

/// The packaged image, removed when dropped (also when the test fails).
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        remove_image(&self.0);
    }
}

/// `docker run -d --name NAME ARGS… IMAGE CMD…`, removed when dropped.
fn run_detached(image: &Image, prefix: &str, args: &[&str], cmd: &[&str]) -> Ctr {
    let name = super::unique(prefix);
    let mut all = vec!["run", "-d", "--name", &name];
    all.extend_from_slice(args);
    all.push(&image.0);
    all.extend_from_slice(cmd);
    docker(&all);
    Ctr { name }
}

#[test]
fn the_container_image_runs_the_agent_registrator_and_the_sidecar() {
    if !engine_up("the_container_image_runs_the_agent_registrator_and_the_sidecar") {
        return;
    }
    let tag = format!("ctmpl-pkg-test:{}", std::process::id());
    let built = run(Command::new(crate::repo_path("packaging/image.sh")).args([
        "-b",
        env!("CARGO_BIN_EXE_ctmpl"),
        "-t",
        &tag,
    ]));
    // Declared before the containers: dropped after them.
    let image = Image(tag.clone());
    assert_eq!(crate::stdout(&built).trim(), tag);

    // The entrypoint is ctmpl.
    let version = docker(&["run", "--rm", &tag, "-v"]);
    assert_eq!(version, format!("ctmpl v{}", env!("CARGO_PKG_VERSION")));

    // The agent, its HTTP API published on the host's loopback.
    let agent = run_detached(
        &image,
        "pkg-agent",
        &["-p", "127.0.0.1::8500"],
        &["agent", "-dev", "-client", "0.0.0.0"],
    );
    let host_port = agent.host_port("8500/tcp");
    let addr = format!("127.0.0.1:{host_port}");
    eventually(30, "the agent in the container answering", || {
        let r = try_request(&addr, "GET", "/v1/status/leader", b"")?;
        (r.status == 200 && r.text().len() > 2).then_some(())
    });
    let self_info: Json =
        serde_json::from_slice(&request(&addr, "GET", "/v1/agent/self", b"").body).unwrap();
    assert_eq!(self_info["Config"]["Version"], "1.18.0", "{self_info}");
    assert_eq!(request(&addr, "GET", "/ui/", b"").status, 200);

    // Registrator in the image, on the engine's socket, registers the agent's container (it
    // publishes 8500, on the host port) with the agent, reached in the agent container's
    // network.
    let sock = format!("{}:/var/run/docker.sock", socket().display());
    let _registrator = run_detached(
        &image,
        "pkg-registrator",
        &[
            "-v",
            &sock,
            "--network",
            &format!("container:{}", agent.name),
        ],
        &["registrator", "-ip", "127.0.0.1", "consul://127.0.0.1:8500"],
    );
    eventually(30, "registrator registering the agent's container", || {
        let r = request(&addr, "GET", "/v1/agent/services", b"");
        let services: Json = serde_json::from_slice(&r.body).ok()?;
        services
            .as_object()?
            .values()
            .any(|s| {
                s["ID"].as_str().is_some_and(|id| id.contains(&agent.name))
                    && s["Port"] == host_port
            })
            .then_some(())
    });

    // The sidecar mode: ctmpl renders from the agent into a shared volume and runs the
    // template's command with the image's shell.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.ctmpl"),
        "greeting {{key \"pkg/greeting\"}};\n",
    )
    .unwrap();
    assert_eq!(
        request(&addr, "PUT", "/v1/kv/pkg/greeting", b"hello").status,
        200
    );
    let volume = format!("{}:/out", dir.path().display());
    docker(&[
        "run",
        "--rm",
        "--network",
        &format!("container:{}", agent.name),
        "-v",
        &volume,
        &tag,
        "-once",
        "-consul-addr",
        "127.0.0.1:8500",
        "-template",
        "/out/in.ctmpl:/out/out.conf:cat /out/out.conf > /out/reloaded",
    ]);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert_eq!(read("out.conf"), "greeting hello;\n");
    assert_eq!(read("reloaded"), "greeting hello;\n", "the command ran");
}

/// The LICENSE file is the licence Cargo.toml names, and the CHANGELOG has the section that
/// collects what is not released yet.
#[test]
fn license_and_changelog_are_there() {
    let manifest = std::fs::read_to_string(crate::repo_path("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("\nlicense = \"MPL-2.0\"\n"),
        "Cargo.toml's license"
    );
    let license = std::fs::read_to_string(crate::repo_path("LICENSE")).unwrap();
    assert!(
        license.starts_with("Mozilla Public License Version 2.0\n"),
        "LICENSE is not the MPL 2.0"
    );
    // The whole text, through its last section (Exhibit B).
    assert!(
        license.contains("Exhibit B - \"Incompatible With Secondary Licenses\" Notice"),
        "LICENSE is cut short"
    );
    let changelog = std::fs::read_to_string(crate::repo_path("CHANGELOG.md")).unwrap();
    assert!(changelog.contains("\n## [Unreleased]\n"), "CHANGELOG.md");
}
