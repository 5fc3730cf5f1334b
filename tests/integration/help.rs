//! Help, completion and the sharp edges a new user meets first: every command's `-h`, `ctmpl
//! help`, the completion scripts in real shells, a taken port naming its flag, `-server` on a
//! host with several private addresses, and connection errors worded as Go's.

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::Agent;
use crate::{ctmpl, stderr, stdout};

/// Every command by name; "" is consul-template's own command line.
const COMMANDS: &[&str] = &[
    "",
    "agent",
    "render",
    "join",
    "members",
    "registrator",
    "completion",
    "help",
    "version",
];

/// A child process killed when dropped, so a test that fails never leaves one running.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `cmd` to its end, failing the test if it takes longer than `secs`.
fn run_bounded(mut cmd: Command, secs: u64) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start command");
    let mut guard = Guard(Some(child));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let running = |g: &mut Guard| {
        g.0.as_mut()
            .is_some_and(|c| c.try_wait().expect("wait").is_none())
    };
    while running(&mut guard) {
        assert!(
            Instant::now() < deadline,
            "{cmd:?} still running after {secs}s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let child = guard.0.take().expect("child");
    child.wait_with_output().expect("output")
}

fn ctmpl_with(args: &[&str]) -> Output {
    let mut cmd = ctmpl();
    cmd.args(args.iter().filter(|a| !a.is_empty()));
    run_bounded(cmd, 30)
}

#[test]
fn every_command_answers_each_help_spelling_with_its_usage() {
    for name in COMMANDS {
        // `ctmpl help` alone is the overview; consul-template's usage is `ctmpl -h`'s.
        let reference = match *name {
            "" => ctmpl_with(&["-h"]),
            _ => ctmpl_with(&["help", name]),
        };
        assert!(
            reference.status.success(),
            "ctmpl help {name}: {reference:?}"
        );
        let usage = stdout(&reference);
        assert!(
            usage.starts_with("Usage: ctmpl"),
            "ctmpl help {name}: {usage}"
        );
        for spelling in ["-h", "-help", "--help"] {
            let out = ctmpl_with(&[name, spelling]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "ctmpl {name} {spelling}: {out:?}"
            );
            assert_eq!(stdout(&out), usage, "ctmpl {name} {spelling}");
        }
    }
}

#[test]
fn usage_lists_flags_with_defaults_and_meanings() {
    let agent = stdout(&ctmpl_with(&["agent", "-h"]));
    assert!(
        agent.contains("\n  -datacenter=<name>\n      datacenter of this agent (default: dc1)\n")
    );
    assert!(agent.contains("\n  -http-port=<port>\n"));
    let top = stdout(&ctmpl_with(&["-h"]));
    for flag in [
        "-consul-token-file=<path>",
        "-consul-ssl\n",
        "-consul-ssl-ca-cert=<path>",
        "-retry=<duration>",
        "-default-left-delimiter=<delim>",
        "-template-error-fatal\n",
    ] {
        assert!(
            top.contains(&format!("\n  {flag}")),
            "ctmpl -h lacks {flag}:\n{top}"
        );
    }
    // Flags after the first argument are arguments, as Go's flag package reads them.
    let out = ctmpl_with(&["render", "/nonexistent.tmpl", "-h"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
}

#[test]
fn help_lists_every_command_and_version_succeeds() {
    let out = ctmpl_with(&["help"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    for name in COMMANDS.iter().filter(|n| !n.is_empty()) {
        assert!(
            text.contains(&format!("\n    {name} ")),
            "{name} missing:\n{text}"
        );
    }
    for spelling in ["version", "-v", "-version", "--version"] {
        let out = ctmpl_with(&[spelling]);
        assert!(out.status.success(), "{spelling}: {out:?}");
        assert!(stdout(&out).starts_with("ctmpl v"), "{spelling}: {out:?}");
    }
    let out = ctmpl_with(&["help", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown command \"nope\""), "{out:?}");
}

/// The script saved to a temporary file, and the shell's answer to `code` run after it.
fn in_shell(shell: &str, script: &str, code: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctmpl-completion");
    std::fs::write(&path, script).unwrap();
    let mut cmd = Command::new(shell);
    match shell {
        "bash" => cmd.args([
            "--norc",
            "-c",
            &format!("source {}\n{code}", path.display()),
        ]),
        _ => cmd.args(["-n", &path.display().to_string()]),
    };
    run_bounded(cmd, 30)
}

/// What bash's completion offers for `words` (the last one being completed).
fn bash_offers(script: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let code = format!(
        "COMP_WORDS=({}); COMP_CWORD={}; _ctmpl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1
    );
    let out = in_shell("bash", script, &code);
    assert!(out.status.success(), "bash: {out:?}");
    stdout(&out).lines().map(String::from).collect()
}

#[test]
fn bash_completion_offers_commands_then_each_commands_flags() {
    let out = ctmpl_with(&["completion", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = stdout(&out);
    assert_eq!(
        bash_offers(&script, &["ctmpl", "agent", "-da"]),
        ["-datacenter", "-data-dir"]
    );
    let commands = bash_offers(&script, &["ctmpl", ""]);
    for name in COMMANDS.iter().filter(|n| !n.is_empty()) {
        assert!(
            commands.iter().any(|c| c == name),
            "{name} not in {commands:?}"
        );
    }
    assert_eq!(
        bash_offers(&script, &["ctmpl", "-consul-token-"]),
        ["-consul-token-file"]
    );
    assert_eq!(bash_offers(&script, &["ctmpl", "completion", "z"]), ["zsh"]);
}

#[test]
fn zsh_and_fish_completion_scripts_parse() {
    for shell in ["zsh", "fish"] {
        let out = ctmpl_with(&["completion", shell]);
        assert!(out.status.success(), "{out:?}");
        let script = stdout(&out);
        assert!(script.contains("datacenter"), "{shell}: {script}");
        let check = in_shell(shell, &script, "");
        assert!(check.status.success(), "{shell} -n: {check:?}");
    }
    let out = ctmpl_with(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown shell \"tcsh\""), "{out:?}");
}

/// A port held by this test for as long as the value lives.
fn held_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn dev_with_its_port_taken_names_dev_http_port() {
    let (_held, port) = held_port();
    let out = ctmpl_with(&["-dev", "-dev-http-port", &port.to_string(), "-once"]);
    assert!(!out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the HTTP port {port} is taken; choose another with -dev-http-port"
        )),
        "{err}"
    );
}

#[test]
fn agent_with_a_port_taken_names_its_flag() {
    let (_held, port) = held_port();
    let out = ctmpl_with(&["agent", "-dev", "-http-port", &port.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains(&format!(
            "the HTTP port {port} is taken; choose another with -http-port"
        )),
        "{out:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = ctmpl_with(&[
        "agent",
        "-server",
        "-bind",
        "127.0.0.1",
        "-data-dir",
        &dir.path().display().to_string(),
        "-http-port",
        "0",
        "-server-port",
        &port.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains(&format!(
            "the server port {port} is taken; choose another with -server-port"
        )),
        "{out:?}"
    );
}

/// `-server` without `-bind` advertises the host's one private IPv4 address, or refuses with
/// Consul's words: which one this host gets follows from its own interface addresses.
#[test]
fn server_without_bind_follows_the_hosts_private_addresses() {
    use ctmpl::agent::interfaces::{advertise_for_any, host_addresses};
    let expected = advertise_for_any(&host_addresses().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let args = ["-server", "-data-dir", &data_dir, "-http-port", "0"];
    match expected {
        Ok(ip) => {
            let agent = Agent::start(&args);
            assert!(agent.rpc.starts_with(&format!("{ip}:")), "{}", agent.rpc);
        }
        Err(message) => {
            let mut full = vec!["agent"];
            full.extend(args);
            full.extend(["-server-port", "0"]);
            let out = ctmpl_with(&full);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            assert!(stderr(&out).contains(&message), "{out:?}");
        }
    }
}

#[test]
fn dev_binds_loopback_whatever_the_hosts_addresses() {
    let agent = Agent::dev();
    assert!(agent.rpc.starts_with("127.0.0.1:"), "{}", agent.rpc);
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    held_port().1
}

#[test]
fn members_and_join_against_a_dead_address_print_gos_cause() {
    let addr = format!("127.0.0.1:{}", closed_port());
    let out = ctmpl_with(&["members", "-http-addr", &addr]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "Error retrieving members: Get \"http://{addr}/v1/agent/members\": dial tcp {addr}: \
             connect: connection refused"
        )
    );
    let out = ctmpl_with(&["join", "-http-addr", &addr, "10.0.0.9"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains(&format!(
            "Error joining address '10.0.0.9': Put \"http://{addr}/v1/agent/join/10.0.0.9\": \
             dial tcp {addr}: connect: connection refused"
        )),
        "{out:?}"
    );
}

#[test]
fn once_against_a_dead_address_logs_gos_cause() {
    let addr = format!("127.0.0.1:{}", closed_port());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.tmpl");
    std::fs::write(&src, "{{ key \"app/x\" }}").unwrap();
    let template = format!("{}:{}", src.display(), dir.path().join("out").display());
    let out = ctmpl_with(&[
        "-once",
        "-consul-addr",
        &addr,
        "-consul-retry-attempts",
        "1",
        "-template",
        &template,
    ]);
    assert!(!out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "Get \"http://{addr}/v1/kv/app/x?stale=\": dial tcp {addr}: connect: connection refused"
        )),
        "{err}"
    );
    assert!(!err.contains("client error (Connect)"), "{err}");
}

/// One flag as a usage text documents it.
#[derive(Debug)]
struct Documented {
    name: String,
    /// `-name=<arg>`: it takes a value.
    takes_value: bool,
    /// Listed among the refused consul-template flags (no meaning line: each says why when
    /// given).
    refused: bool,
    /// The indented line of meaning under the entry (empty for refused flags).
    meaning: String,
}

/// The flags `usage` documents: each `  -name` / `  -name=<arg>` entry of its "Options:"
/// section with the line of meaning under it, and each name of its "Refused" list.
fn documented_flags(usage: &str) -> Vec<Documented> {
    let lines: Vec<&str> = usage.lines().collect();
    let mut out = Vec::new();
    let mut section = "";
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with(' ') && !line.is_empty() {
            section = line;
            continue;
        }
        if section == "Options:" {
            let Some(entry) = line.strip_prefix("  -") else {
                continue;
            };
            let (name, takes_value) = match entry.split_once("=<") {
                Some((name, _)) => (name, true),
                None => (entry, false),
            };
            let meaning = lines
                .get(i + 1)
                .and_then(|l| l.strip_prefix("      "))
                .unwrap_or_default();
            out.push(Documented {
                name: name.to_string(),
                takes_value,
                refused: false,
                meaning: meaning.trim().to_string(),
            });
        } else if section.starts_with("Refused") {
            for name in line.split(',').filter_map(|w| w.trim().strip_prefix('-')) {
                out.push(Documented {
                    name: name.to_string(),
                    takes_value: false,
                    refused: true,
                    meaning: String::new(),
                });
            }
        }
    }
    out
}

/// `-name` for a boolean, `-name=1` for a flag with a value (or a refused one, of either kind:
/// Go's flag package reads `1` as true).
fn spelled(flag: &Documented) -> String {
    if flag.takes_value || flag.refused {
        format!("-{}=1", flag.name)
    } else {
        format!("-{}", flag.name)
    }
}

/// The usage each command prints is checked against the parser that reads its command line:
/// every flag the usage lists, given before `-h`, is accepted by the parser (the usage comes
/// back, exit 0, as Go's flag package parses up to `-h`), and a name the usage does not list is
/// refused as undefined. So the usage cannot list a flag the command does not take.
#[test]
fn every_flag_a_usage_lists_is_one_its_command_parses() {
    for name in COMMANDS {
        let usage = if name.is_empty() {
            stdout(&ctmpl_with(&["-h"]))
        } else {
            stdout(&ctmpl_with(&["help", name]))
        };
        let flags = documented_flags(&usage);
        let expect_flags = !matches!(*name, "completion" | "help" | "version");
        assert_eq!(
            !flags.is_empty(),
            expect_flags,
            "ctmpl {name}'s usage and its flags:\n{usage}"
        );
        for flag in &flags {
            assert!(
                flag.refused || !flag.meaning.is_empty(),
                "ctmpl {name}: -{} has no line of meaning:\n{usage}",
                flag.name
            );
            let given = spelled(flag);
            let out = ctmpl_with(&[name, &given, "-h"]);
            assert_eq!(
                (out.status.code(), stdout(&out)),
                (Some(0), usage.clone()),
                "ctmpl {name} {given} -h: the parser refused a documented flag: {}",
                stderr(&out)
            );
            let undocumented = format!("-{}-undocumented", flag.name);
            let out = ctmpl_with(&[name, &undocumented, "-h"]);
            assert_ne!(out.status.code(), Some(0), "ctmpl {name} {undocumented}");
            assert!(
                stderr(&out).contains(&format!("flag provided but not defined: {undocumented}")),
                "ctmpl {name} {undocumented}: {out:?}"
            );
        }
    }
    // What the parser offers for completion is the same set, command by command.
    let script = stdout(&ctmpl_with(&["completion", "bash"]));
    let agent_usage = stdout(&ctmpl_with(&["help", "agent"]));
    let mut documented: Vec<String> = documented_flags(&agent_usage)
        .into_iter()
        .map(|f| format!("-{}", f.name))
        .collect();
    let mut offered = bash_offers(&script, &["ctmpl", "agent", "-"]);
    documented.sort();
    offered.sort();
    assert_eq!(offered, documented);
}
