//! Processes ctmpl starts: template commands (`sh -c` when the string has spaces, a timeout, the
//! exit status and output reported) and exec mode, one supervised child that is signalled to
//! reload or restarted after renders, stopped with the kill signal then SIGKILL, and whose exit
//! code becomes ctmpl's.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// A command: a string with whitespace runs through `sh -c`, a single word or a list is run
/// directly (consul-template's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandSpec {
    Shell(String),
    Argv(Vec<String>),
}

impl CommandSpec {
    pub fn from_string(s: &str) -> CommandSpec {
        if s.trim().contains(char::is_whitespace) {
            CommandSpec::Shell(s.trim().to_string())
        } else {
            CommandSpec::Argv(vec![s.trim().to_string()])
        }
    }

    pub fn from_list(items: Vec<String>) -> CommandSpec {
        match items.as_slice() {
            [one] => CommandSpec::from_string(one),
            _ => CommandSpec::Argv(items),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            CommandSpec::Shell(s) => s.is_empty(),
            CommandSpec::Argv(a) => a.first().is_none_or(|s| s.is_empty()),
        }
    }

    /// The process to start, in its own process group so signals reach all of it.
    fn command(&self, env: &Env) -> Command {
        let mut cmd = match self {
            CommandSpec::Shell(s) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(s);
                c
            }
            CommandSpec::Argv(argv) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        env.apply(&mut cmd);
        cmd.process_group(0).kill_on_drop(true);
        cmd
    }
}

impl std::fmt::Display for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandSpec::Shell(s) => f.write_str(s),
            CommandSpec::Argv(a) => f.write_str(&a.join(" ")),
        }
    }
}

/// The environment a child gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// Only `custom` (and `extra`), nothing inherited.
    pub pristine: bool,
    /// `KEY=VALUE` entries, which win over inherited ones.
    pub custom: Vec<String>,
    /// Globs of inherited names to keep (empty: all); `denylist` wins.
    pub allowlist: Vec<String>,
    pub denylist: Vec<String>,
    /// What ctmpl adds itself (`CONSUL_HTTP_ADDR`, …).
    pub extra: Vec<(String, String)>,
}

impl Env {
    fn apply(&self, cmd: &mut Command) {
        cmd.env_clear();
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
    }

    /// The final variables, in order of precedence: inherited (filtered), ctmpl's, custom.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        if !self.pristine {
            for (k, v) in std::env::vars() {
                let allowed =
                    self.allowlist.is_empty() || self.allowlist.iter().any(|g| glob(g, &k));
                if allowed && !self.denylist.iter().any(|g| glob(g, &k)) {
                    vars.push((k, v));
                }
            }
        }
        let custom = self
            .custom
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()));
        for (k, v) in self.extra.iter().cloned().chain(custom) {
            vars.retain(|(name, _)| *name != k);
            vars.push((k, v));
        }
        vars
    }
}

/// Shell-style `*` and `?` matching, for environment allow/deny lists.
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Runs a template command to completion (or its timeout). `Ok` carries its output; the error
/// says how it failed, with the output. A zero timeout starts it and does not wait.
pub async fn run(spec: &CommandSpec, timeout: Duration, env: &Env) -> Result<String, String> {
    let mut cmd = spec.command(env);
    if timeout.is_zero() {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(false);
        cmd.spawn()
            .map_err(|e| format!("command {:?}: {e}", spec.to_string()))?;
        return Ok(String::new());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("command {:?}: {e}", spec.to_string()))?;
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let collect = async {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut a).await;
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut b).await;
        }
        a.extend_from_slice(&b);
        String::from_utf8_lossy(&a).into_owned()
    };
    let waited = tokio::time::timeout(timeout, async {
        let output = collect.await;
        (child.wait().await, output)
    })
    .await;
    match waited {
        Ok((Ok(status), output)) if status.success() => Ok(output),
        Ok((Ok(status), output)) => Err(format!(
            "command {:?} failed with {}: {}",
            spec.to_string(),
            describe(status),
            output.trim_end()
        )),
        Ok((Err(e), _)) => Err(format!("command {:?}: {e}", spec.to_string())),
        Err(_) => {
            kill_group(&child, Signal::SIGKILL);
            let _ = child.kill().await;
            Err(format!(
                "command {:?} timed out after {}",
                spec.to_string(),
                crate::duration::format(timeout)
            ))
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "an unknown status".into(),
    }
}

fn kill_group(child: &Child, signal: Signal) {
    if let Some(pid) = child.id() {
        let _ = killpg(Pid::from_raw(pid as i32), signal);
    }
}

/// Exec mode: how the supervised child is run.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    pub command: CommandSpec,
    pub env: Env,
    pub kill_signal: Signal,
    pub kill_timeout: Duration,
    /// Signal to send after a render; `None` restarts the child instead.
    pub reload_signal: Option<Signal>,
    pub splay: Duration,
}

/// The one supervised child.
pub struct Supervisor {
    opts: ExecOptions,
    child: Child,
}

impl Supervisor {
    pub fn start(opts: ExecOptions) -> Result<Supervisor, String> {
        let mut cmd = opts.command.command(&opts.env);
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("exec {:?}: {e}", opts.command.to_string()))?;
        Ok(Supervisor { opts, child })
    }

    /// After a render: the reload signal (after a random splay), or a restart.
    pub async fn reload(&mut self) -> Result<(), String> {
        tokio::time::sleep(self.opts.splay.mul_f64(crate::random_fraction())).await;
        match self.opts.reload_signal {
            Some(sig) => {
                kill_group(&self.child, sig);
                Ok(())
            }
            None => {
                self.stop().await;
                *self = Supervisor::start(self.opts.clone())?;
                Ok(())
            }
        }
    }

    /// Sends a signal ctmpl received on to the child.
    pub fn forward(&self, signal: Signal) {
        kill_group(&self.child, signal);
    }

    /// The kill signal, then SIGKILL after the kill timeout.
    pub async fn stop(&mut self) {
        kill_group(&self.child, self.opts.kill_signal);
        if tokio::time::timeout(self.opts.kill_timeout, self.child.wait())
            .await
            .is_err()
        {
            kill_group(&self.child, Signal::SIGKILL);
            let _ = self.child.kill().await;
        }
    }

    /// Waits for the child to exit; its exit code (127 when it has none).
    pub async fn wait(&mut self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        match self.child.wait().await {
            Ok(s) => s
                .code()
                .or_else(|| s.signal().map(|sig| 128 + sig))
                .unwrap_or(127),
            Err(_) => 127,
        }
    }
}

/// A signal by consul-template's name (`SIGHUP`, `hup`).
pub fn parse_signal(name: &str) -> Result<Option<Signal>, String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper.is_empty() || upper == "SIGNULL" {
        return Ok(None);
    }
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>()
        .map(Some)
        .map_err(|_| format!("unknown signal {name:?}"))
}

/// A signal as Go prints it (`terminated`, `hangup`): the word consul-template's and
/// Consul's logs use.
pub fn signal_name(sig: Signal) -> String {
    match sig {
        Signal::SIGHUP => "hangup".into(),
        Signal::SIGINT => "interrupt".into(),
        Signal::SIGTERM => "terminated".into(),
        Signal::SIGQUIT => "quit".into(),
        Signal::SIGUSR1 => "user defined signal 1".into(),
        Signal::SIGUSR2 => "user defined signal 2".into(),
        other => other.as_str().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_as_consul_template_does() {
        assert_eq!(
            CommandSpec::from_string("nginx -s reload"),
            CommandSpec::Shell("nginx -s reload".into())
        );
        assert_eq!(
            CommandSpec::from_string("true"),
            CommandSpec::Argv(vec!["true".into()])
        );
        assert!(
            glob("CONSUL_*", "CONSUL_HTTP_ADDR")
                && !glob("CONSUL_*", "PATH")
                && glob("?ATH", "PATH")
        );
        assert_eq!(parse_signal("hup").unwrap(), Some(Signal::SIGHUP));
        assert_eq!(parse_signal("SIGNULL").unwrap(), None);
        assert!(parse_signal("SIGNOPE").is_err());
    }

    #[test]
    fn env_filters_then_adds() {
        let env = Env {
            pristine: true,
            custom: vec!["A=1".into(), "B=2".into()],
            extra: vec![("A".into(), "0".into()), ("C".into(), "3".into())],
            ..Default::default()
        };
        assert_eq!(
            env.vars(),
            [
                ("C".to_string(), "3".to_string()),
                ("A".into(), "1".into()),
                ("B".into(), "2".into())
            ]
        );
    }

    #[tokio::test]
    async fn runs_report_status_output_and_timeouts() {
        let env = Env::default();
        assert_eq!(
            run(
                &CommandSpec::from_string("echo hi"),
                Duration::from_secs(5),
                &env
            )
            .await
            .unwrap(),
            "hi\n"
        );
        let err = run(
            &CommandSpec::from_string("echo oops >&2; exit 3"),
            Duration::from_secs(5),
            &env,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            "command \"echo oops >&2; exit 3\" failed with exit status 3: oops"
        );
        let err = run(
            &CommandSpec::from_string("sleep 5"),
            Duration::from_millis(200),
            &env,
        )
        .await
        .unwrap_err();
        assert!(err.contains("timed out after 200ms"), "{err}");
    }
}
