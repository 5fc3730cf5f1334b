//! consul-template's command line (`ctmpl [flags]`): its flags, `-dev`'s embedded agent, the
//! signals and the exit codes. What the flags and config files mean for a run is built in
//! `settings` (defaults, then files, then flags), the config files' part in `config_file`; the
//! run itself is `crate::runner`.
//!
//! Exit codes are consul-template's: 13 for usage, 15 for bad settings, 14 for a runtime that
//! cannot start, 12 on the kill signal, a child's own status, the runner's for its errors.

mod config_file;
mod settings;

use tokio::sync::mpsc;

use super::flags::{parse, FlagKind, Parsed};
use crate::runner::{Control, RunError, Stopped};

pub use settings::{settings, Settings};

use FlagKind::{Bool, Value};

const FLAGS: &[(&str, FlagKind)] = &[
    ("config", Value),
    ("dev", Bool),
    ("dev-http-port", Value),
    ("consul-addr", Value),
    ("consul-auth", Value),
    ("consul-retry", Bool),
    ("consul-retry-attempts", Value),
    ("consul-retry-backoff", Value),
    ("consul-retry-max-backoff", Value),
    ("retry", Value),
    ("consul-ssl", Bool),
    ("consul-ssl-ca-cert", Value),
    ("consul-ssl-ca-path", Value),
    ("consul-ssl-cert", Value),
    ("consul-ssl-key", Value),
    ("consul-ssl-server-name", Value),
    ("consul-ssl-verify", Bool),
    ("consul-token", Value),
    ("consul-token-file", Value),
    ("consul-transport-dial-keep-alive", Value),
    ("consul-transport-dial-timeout", Value),
    ("consul-transport-disable-keep-alives", Bool),
    ("consul-transport-max-idle-conns-per-host", Value),
    ("consul-transport-tls-handshake-timeout", Value),
    ("dedup", Bool),
    ("default-left-delimiter", Value),
    ("default-right-delimiter", Value),
    ("dry", Bool),
    ("exec", Value),
    ("exec-kill-signal", Value),
    ("exec-kill-timeout", Value),
    ("exec-reload-signal", Value),
    ("exec-splay", Value),
    ("exec-env-pristine", Bool),
    ("exec-env-custom", Value),
    ("exec-env-allowlist", Value),
    ("exec-env-denylist", Value),
    ("kill-signal", Value),
    ("reload-signal", Value),
    ("log-level", Value),
    ("log-file", Value),
    ("log-rotate-bytes", Value),
    ("log-rotate-duration", Value),
    ("log-rotate-max-files", Value),
    ("max-stale", Value),
    ("once", Bool),
    ("parse-only", Bool),
    ("pid-file", Value),
    ("syslog", Bool),
    ("syslog-facility", Value),
    ("syslog-name", Value),
    ("template", Value),
    ("template-error-fatal", Bool),
    ("wait", Value),
    // Re-read and re-render a template whose source file changes (no SIGHUP needed).
    ("watch-templates", Bool),
    ("vault-addr", Value),
    ("vault-token", Value),
    ("vault-agent-token-file", Value),
    ("vault-unwrap-token", Bool),
    ("vault-renew-token", Bool),
    ("vault-default-lease-duration", Value),
    ("vault-client-user-agent", Value),
    ("vault-retry", Bool),
    ("vault-retry-attempts", Value),
    ("vault-retry-backoff", Value),
    ("vault-retry-max-backoff", Value),
    ("vault-ssl", Bool),
    ("vault-ssl-ca-cert", Value),
    ("vault-ssl-ca-path", Value),
    ("vault-ssl-cert", Value),
    ("vault-ssl-key", Value),
    ("vault-ssl-server-name", Value),
    ("vault-ssl-verify", Bool),
    ("v", Bool),
    ("version", Bool),
    ("h", Bool),
    ("help", Bool),
];

/// Flags that exist in consul-template but not in ctmpl: refused, never ignored.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("vault-", "Vault is not supported by ctmpl"),
    ("dedup", "de-duplication mode is not supported by ctmpl"),
    ("syslog", "syslog is not supported by ctmpl; use -log-file"),
    (
        "consul-auth",
        "HTTP basic auth to Consul is not supported by ctmpl",
    ),
    (
        "consul-ssl-cert",
        "client certificates are not supported by ctmpl",
    ),
    (
        "consul-ssl-key",
        "client certificates are not supported by ctmpl",
    ),
    (
        "consul-ssl-ca-path",
        "CA folders are not supported by ctmpl; use -consul-ssl-ca-cert",
    ),
];

pub const USAGE: &str = "Usage: ctmpl [options]

  Watches Consul and renders templates, as consul-template does.

  -dev                       run an embedded agent (as `ctmpl agent -dev`, with an example
                             `nginx` service) and render against it; -dev-http-port=8500
  -consul-addr=HOST:PORT     Consul agent (env CONSUL_HTTP_ADDR, default 127.0.0.1:8500)
  -consul-token=TOKEN        ACL token (env CONSUL_HTTP_TOKEN)
  -template=SRC:DEST[:CMD]   render SRC to DEST, then run CMD (repeatable)
  -config=PATH               HCL or JSON config file or folder (repeatable)
  -once                      render every template once, run the commands, exit
  -dry                       print renders to stdout instead of writing them
  -parse-only                parse the templates and exit
  -wait=MIN[:MAX]            write only after MIN without changes, at most MAX after the first
  -exec=COMMAND              run and supervise COMMAND, reloading it after renders
  -max-stale=DURATION        allow stale reads up to DURATION (default 2s)
  -pid-file=PATH, -log-level=LEVEL, -log-file=PATH, -kill-signal=SIG, -reload-signal=SIG
  -consul-retry-attempts=N, -consul-retry-backoff=D, -consul-retry-max-backoff=D, -consul-ssl-ca-cert=PATH
  -exec-kill-signal, -exec-kill-timeout, -exec-reload-signal, -exec-splay, -exec-env-*
  -v, -version               print the version
  Subcommands: ctmpl agent [flags], ctmpl render [flags] TEMPLATE.
";

/// What the flags say, before config files are read.
pub struct Flags {
    parsed: Parsed,
}

/// Parses consul-template's flags, refusing positional arguments and the flags ctmpl does not
/// support.
pub fn flags(args: &[String]) -> Result<Flags, String> {
    let parsed = parse(args, FLAGS).map_err(|e| e.0)?;
    if let Some(extra) = parsed.args.first() {
        return Err(format!("extra args: {extra:?}"));
    }
    for (prefix, why) in UNSUPPORTED {
        let given = FLAGS
            .iter()
            .any(|(name, _)| name.starts_with(prefix) && parsed.get(name).is_some());
        if given {
            return Err(format!("-{prefix}…: {why}"));
        }
    }
    Ok(Flags { parsed })
}

/// Runs consul-template's command line; the error carries the exit status.
pub fn main(args: &[String]) -> Result<(), (i32, String)> {
    let flags = flags(args).map_err(|e| (13, format!("{e}\n\n{USAGE}")))?;
    if flags.parsed.flag("h") || flags.parsed.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    if flags.parsed.flag("v") || flags.parsed.flag("version") {
        println!("ctmpl v{}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let mut current = settings(&flags).map_err(|e| (15, e))?;
    init_logging(&current.log_level, current.log_file.as_deref()).map_err(|e| (15, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| (14, e.to_string()))?;
    let dev = match flags.parsed.flag("dev") {
        true => Some(
            runtime
                .block_on(start_dev(&flags.parsed))
                .map_err(|e| (15, e))?,
        ),
        false => None,
    };
    let dev_addr = dev.as_ref().map(|d| d.addr.to_string());
    point_at_dev(&mut current, dev_addr.as_deref());
    let result = loop {
        let destinations: Vec<String> = current
            .run
            .templates
            .iter()
            .map(|t| t.destination.clone())
            .collect();
        let report = dev.is_some() && !current.run.dry;
        let stopped = run_once(&runtime, current);
        if let Some(result) = finish(stopped, report, &destinations) {
            break result;
        }
        tracing::info!("reloading configuration and templates");
        current = settings(&flags).map_err(|e| (15, e))?;
        point_at_dev(&mut current, dev_addr.as_deref());
    };
    if let Some(d) = dev {
        runtime.block_on(d.stop());
    }
    result
}

/// One run of the templates, with the signals watched while it lasts.
fn run_once(runtime: &tokio::runtime::Runtime, current: Settings) -> Result<Stopped, RunError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let signals = runtime.spawn(watch_signals(
        tx,
        current.kill_signal,
        current.reload_signal,
    ));
    let stopped = runtime.block_on(crate::runner::run(current.run, rx));
    signals.abort();
    stopped
}

/// What ctmpl exits with after a run stopped; `None` for a reload. `report`: `-dev` names the
/// files it rendered.
fn finish(
    stopped: Result<Stopped, RunError>,
    report: bool,
    destinations: &[String],
) -> Option<Result<(), (i32, String)>> {
    Some(match stopped {
        Ok(Stopped::Done) => {
            if report {
                for d in destinations.iter().filter(|d| !d.is_empty()) {
                    eprintln!("==> rendered {d}");
                }
            }
            Ok(())
        }
        Ok(Stopped::Killed) => Err((12, "received the kill signal, stopping".into())),
        Ok(Stopped::Child(0)) => Ok(()),
        Ok(Stopped::Child(code)) => Err((code, format!("child exited with status {code}"))),
        Ok(Stopped::Reload) => return None,
        Err(e) => Err((e.exit_code(), e.to_string())),
    })
}

/// `-dev`: the embedded agent, on 127.0.0.1:8500 unless `-dev-http-port` says otherwise.
async fn start_dev(f: &Parsed) -> Result<crate::agent::Running, String> {
    let port = match f.get("dev-http-port") {
        Some(p) => p
            .parse()
            .map_err(|_| format!("-dev-http-port: invalid port {p:?}"))?,
        None => 8500,
    };
    let running = crate::agent::start(crate::agent::Config::embedded(port)).await?;
    eprintln!(
        "==> embedded agent (as `ctmpl agent -dev`) on {}",
        running.addr
    );
    Ok(running)
}

/// Points the run at the embedded agent, when there is one.
fn point_at_dev(s: &mut Settings, addr: Option<&str>) {
    if let (Some(addr), Some(consul)) = (addr, s.run.consul.as_mut()) {
        consul.address = addr.to_string();
    }
}

/// Maps the signals ctmpl receives onto the runner: reload, kill (exit 12), SIGTERM stops
/// gracefully (exit 0), the rest go to the exec child.
async fn watch_signals(
    tx: mpsc::UnboundedSender<Control>,
    kill: Option<nix::sys::signal::Signal>,
    reload: Option<nix::sys::signal::Signal>,
) {
    use nix::sys::signal::Signal::{self, *};
    use tokio::signal::unix::{signal, SignalKind};
    let stream = |sig: Signal| signal(SignalKind::from_raw(sig as i32));
    let (Ok(mut hup), Ok(mut int), Ok(mut term), Ok(mut quit), Ok(mut usr1), Ok(mut usr2)) = (
        stream(SIGHUP),
        stream(SIGINT),
        stream(SIGTERM),
        stream(SIGQUIT),
        stream(SIGUSR1),
        stream(SIGUSR2),
    ) else {
        return;
    };
    loop {
        let sig = tokio::select! {
            _ = hup.recv() => SIGHUP,
            _ = int.recv() => SIGINT,
            _ = term.recv() => SIGTERM,
            _ = quit.recv() => SIGQUIT,
            _ = usr1.recv() => SIGUSR1,
            _ = usr2.recv() => SIGUSR2,
        };
        let control = if Some(sig) == reload {
            Control::Reload
        } else if Some(sig) == kill {
            Control::Kill
        } else if sig == SIGTERM {
            Control::Stop
        } else {
            Control::Forward(sig)
        };
        if tx.send(control).is_err() {
            return;
        }
    }
}

fn init_logging(level: &str, file: Option<&std::path::Path>) -> Result<(), String> {
    let level = match level.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "err" | "error" => "error",
        "warn" | "warning" => "warn",
        other => return Err(format!("invalid log level {other:?}")),
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("ctmpl={level},warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match file {
        Some(path) => {
            let path = if path.to_string_lossy().ends_with('/') {
                path.join("ctmpl.log")
            } else {
                path.to_path_buf()
            };
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Arc::new(f))
                .try_init()
                .map_err(|e| e.to_string())
        }
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init()
            .map_err(|e| e.to_string()),
    }
}
