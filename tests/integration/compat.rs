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

#[test]
fn catalog_deregister_accepts_the_obsolete_address_field() {
    let agent = Agent::dev();
    let ext = r#"{"Node": "ext-1", "Address": "10.9.9.9", "Service": {"Service": "search", "Port": 9200}}"#;
    assert_eq!(agent.put("/v1/catalog/register", ext).text(), "true");
    // What older official Go clients send with every deregistration.
    let r = agent.put(
        "/v1/catalog/deregister",
        r#"{"Node": "ext-1", "Address": "", "Datacenter": ""}"#,
    );
    assert_eq!((r.status, r.text()), (200, "true".to_string()));
    assert_eq!(agent.get("/v1/catalog/node/ext-1").text(), "null");
    // Still only known fields: anything else is refused as before.
    let r = agent.put("/v1/catalog/deregister", r#"{"Node": "x", "Adress": ""}"#);
    assert_eq!(r.status, 400, "{}", r.text());
}

/// A server on loopback with its own data dir; `-node` only when `node` is given, so that the
/// default (the host name, as Consul's) is used otherwise.
fn lone_server(dir: &Path, data: &str, node: Option<&str>) -> Agent {
    let data = dir.join(data);
    let data = data.to_str().unwrap();
    let mut args = vec!["-server", "-bootstrap-expect=1", "-bind", "127.0.0.1"];
    args.extend(["-data-dir", data, "-http-port", "0", "-server-port", "0"]);
    if let Some(n) = node {
        args.extend(["-node", n]);
    }
    Agent::start(&args)
}

fn member_names(agent: &Agent) -> Vec<String> {
    let mut names: Vec<String> = agent
        .get("/v1/agent/members")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn joining_oneself_succeeds_and_a_duplicate_node_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Two servers on one host without -node: both are named after the host, as in Consul.
    let first = lone_server(dir.path(), "a", None);
    let twin = lone_server(dir.path(), "b", None);
    let host = member_names(&first);
    assert_eq!(host, member_names(&twin), "both default to the host name");

    // Scripts join every server, their own included: 200, and nothing changes.
    let r = first.put(&format!("/v1/agent/join/{}", first.rpc), "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(member_names(&first), host);

    // The second one with the same name is refused, and does not become part of the cluster.
    let r = twin.put(&format!("/v1/agent/join/{}", first.rpc), "");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(
        r.text().contains(&format!(
            "Member '{}' has a name that conflicts with another node at {}. Names must be unique!",
            host[0], first.rpc
        )),
        "{}",
        r.text()
    );
    assert_eq!(member_names(&first), host);

    // The same server with a name of its own joins.
    let other = lone_server(dir.path(), "c", Some("other-node"));
    let r = other.put(&format!("/v1/agent/join/{}", first.rpc), "");
    assert_eq!(r.status, 200, "{}", r.text());
    eventually(10, "two members", || {
        (member_names(&first).len() == 2).then_some(())
    });
    assert!(member_names(&first).contains(&"other-node".to_string()));
}

#[test]
fn sockaddr_runs_go_sockaddrs_template_language_on_this_host() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.tmpl"),
        r#"{{ sockaddr "GetAllInterfaces | include \"flag\" \"loopback\" | include \"type\" \"IPv4\" | sort \"address\" | limit 1 | attr \"address\"" }}"#,
    )
    .unwrap();
    let out = run_in(dir.path(), &agent, "s.tmpl", &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(crate::stdout(&out).split_once('\n').unwrap().1, "127.0.0.1");
}

/// This host's IPv4 addresses with their prefix lengths, read with getifaddrs here so the
/// expectations below do not come from ctmpl.
fn host_ipv4() -> Vec<(std::net::Ipv4Addr, u32)> {
    nix::ifaddrs::getifaddrs()
        .unwrap()
        .filter_map(|i| {
            let ip = i.address?.as_sockaddr_in()?.ip();
            let mask = i.netmask?.as_sockaddr_in()?.ip();
            Some((ip, u32::from(mask).count_ones()))
        })
        .collect()
}

fn sorted_words(s: &str) -> Vec<String> {
    let mut w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    w.sort();
    w
}

#[test]
fn sockaddr_math_rfc_and_size_on_this_hosts_interfaces() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let pipeline = |tail: &str| {
        format!(
            "{{{{ sockaddr \"GetAllInterfaces | {} \" }}}}",
            tail.replace('"', "\\\"")
        )
    };
    let template = [
        pipeline(r#"include "rfc" "1918" | math "address" "+1" | join "address" " ""#),
        pipeline(r#"include "rfc" "1918" | math "network" "-1" | join "address" " ""#),
        pipeline(r#"include "type" "IPv4" | include "size" "8" | join "address" " ""#),
        pipeline(r#"include "type" "IPv4" | math "mask" "8" | join "string" " ""#),
    ]
    .join("|");
    std::fs::write(dir.path().join("m.tmpl"), &template).unwrap();
    let out = run_in(dir.path(), &agent, "m.tmpl", &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = crate::stdout(&out);
    let rendered = stdout.split_once('\n').unwrap().1;
    let parts: Vec<&str> = rendered.split('|').collect();
    assert_eq!(parts.len(), 4, "{rendered}");

    // RFC 1918's blocks hold an address when its whole network lies inside them.
    let in_1918 = |ip: std::net::Ipv4Addr, len: u32| {
        let [a, b, ..] = ip.octets();
        (a == 10 && len >= 8)
            || (a == 172 && (16..32).contains(&b) && len >= 12)
            || (a == 192 && b == 168 && len >= 16)
    };
    let host = host_ipv4();
    let private: Vec<_> = host.iter().filter(|(ip, len)| in_1918(*ip, *len)).collect();
    let next: Vec<String> = private
        .iter()
        .map(|(ip, _)| std::net::Ipv4Addr::from(u32::from(*ip).wrapping_add(1)).to_string())
        .collect();
    let last: Vec<String> = private
        .iter()
        .map(|(ip, len)| {
            let host_bits = u32::MAX.checked_shr(*len).unwrap_or(0);
            std::net::Ipv4Addr::from(u32::from(*ip) | host_bits).to_string()
        })
        .collect();
    let slash8: Vec<String> = host
        .iter()
        .filter(|(_, len)| *len == 8)
        .map(|(ip, _)| ip.to_string())
        .collect();
    let masked: Vec<String> = host
        .iter()
        .map(|(ip, len)| format!("{}.0.0.0/{}", ip.octets()[0], (*len).min(8)))
        .collect();
    assert_eq!(sorted_words(parts[0]), sorted_words(&next.join(" ")));
    assert_eq!(sorted_words(parts[1]), sorted_words(&last.join(" ")));
    assert_eq!(sorted_words(parts[2]), sorted_words(&slash8.join(" ")));
    assert!(slash8.contains(&"127.0.0.1".to_string()), "{slash8:?}");
    assert_eq!(sorted_words(parts[3]), sorted_words(&masked.join(" ")));
}

/// `attr "flags"` is Go's `net.Flags.String()` (`up|loopback|running`), checked against the
/// loopback interface's flags as the kernel's SIOCGIFFLAGS answers them (Python's ioctl; sysfs
/// leaves out IFF_RUNNING, which Go reports).
#[test]
fn sockaddr_flags_read_as_gos_net_flags() {
    let ioctl = "import fcntl, socket, struct; s = socket.socket(); \
        print(struct.unpack('H', fcntl.ioctl(s.fileno(), 0x8913, struct.pack('256s', b'lo'))[16:18])[0])";
    let out = std::process::Command::new("python3")
        .args(["-c", ioctl])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{out:?}");
    let bits: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // linux/if.h's bits, in the order of Go's flagNames.
    let names: Vec<&str> = [
        (0x1, "up"),
        (0x2, "broadcast"),
        (0x8, "loopback"),
        (0x10, "pointtopoint"),
        (0x1000, "multicast"),
        (0x40, "running"),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| name)
    .collect();
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let template = r#"{{ sockaddr "GetAllInterfaces | include \"name\" \"^lo$\" | limit 1 | attr \"flags\"" }}"#;
    std::fs::write(dir.path().join("f.tmpl"), template).unwrap();
    let out = run_in(dir.path(), &agent, "f.tmpl", &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = crate::stdout(&out);
    let rendered = stdout.split_once('\n').unwrap().1;
    assert_eq!(rendered, names.join("|"));
}
