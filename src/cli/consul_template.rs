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

use super::flags::{parse, Flag, FlagKind, Parsed};
use super::help::Command;
use crate::runner::{Control, RunError, Stopped};

pub use settings::{settings, Settings};

use FlagKind::{Bool, Value};

const NO_EFFECT: &str = "accepted as consul-template's; no effect in ctmpl";

const FLAGS: &[Flag] = &[
    Flag::value("config", "path", "", "HCL or JSON config file, or a folder of them; repeatable, merged left to right, flags on top"),
    Flag::bool("dev", "run an embedded agent (as `ctmpl agent -dev`, with an example `nginx` service) and render against it"),
    Flag::value("dev-http-port", "port", "8500", "HTTP port of -dev's embedded agent"),
    Flag::value("dev-servers", "n", "1", "with -dev: embed a cluster of 1, 3 or 5 servers, HTTP ports counting up from -dev-http-port"),
    Flag::value("consul-addr", "address", "127.0.0.1:8500, or CONSUL_HTTP_ADDR", "address of the Consul agent's HTTP API (http:// or https://)"),
    Flag::value("consul-token", "token", "CONSUL_HTTP_TOKEN", "ACL token sent to Consul"),
    Flag::value("consul-token-file", "path", "", "file holding the ACL token (read at start and on reload)"),
    Flag::bool("consul-retry", "retry failed Consul requests (-consul-retry=false: give up after the first failure)"),
    Flag::value("consul-retry-attempts", "n", "12", "attempts before giving up on Consul (0: forever)"),
    Flag::value("consul-retry-backoff", "duration", "250ms", "wait after the first failure, doubled after each next one"),
    Flag::value("consul-retry-max-backoff", "duration", "1m", "longest wait between retries"),
    Flag::value("retry", "duration", "250ms", "the same as -consul-retry-backoff (consul-template's older name)"),
    Flag::bool("consul-ssl", "talk to Consul over HTTPS"),
    Flag::refused("consul-auth", Value),
    Flag::value("consul-ssl-ca-cert", "path", "", "CA certificate that Consul's HTTPS certificate must chain to"),
    Flag::refused("consul-ssl-ca-path", Value),
    Flag::value("consul-ssl-cert", "path", "", "client certificate (PEM) for an agent that verifies incoming connections"),
    Flag::value("consul-ssl-key", "path", "", "key (PEM) of -consul-ssl-cert"),
    Flag::value("consul-ssl-server-name", "name", "", "name Consul's HTTPS certificate must carry (and the SNI sent)"),
    Flag::bool("consul-ssl-verify", "verify Consul's HTTPS certificate (on; -consul-ssl-verify=false skips it)"),
    Flag::value("consul-transport-dial-keep-alive", "duration", "", NO_EFFECT),
    Flag::value("consul-transport-dial-timeout", "duration", "", NO_EFFECT),
    Flag::bool("consul-transport-disable-keep-alives", NO_EFFECT),
    Flag::value("consul-transport-max-conns-per-host", "n", "64", "connections to Consul at most (0: no limit); dependencies past the budget are woken by catalog-wide queries"),
    Flag::value("consul-transport-max-idle-conns-per-host", "n", "", NO_EFFECT),
    Flag::value("consul-transport-tls-handshake-timeout", "duration", "", NO_EFFECT),
    Flag::refused("dedup", Bool),
    Flag::value("default-left-delimiter", "delim", "{{", "left delimiter of templates that set none"),
    Flag::value("default-right-delimiter", "delim", "}}", "right delimiter of templates that set none"),
    Flag::bool("dry", "print renders to stdout instead of writing them"),
    Flag::value("exec", "command", "", "run and supervise COMMAND, reloading it after renders; ctmpl exits with it"),
    Flag::value("exec-kill-signal", "signal", "SIGINT", "signal that stops the -exec child"),
    Flag::value("exec-kill-timeout", "duration", "30s", "wait after -exec-kill-signal before SIGKILL"),
    Flag::value("exec-reload-signal", "signal", "", "signal sent to the -exec child after a render (none: restart it)"),
    Flag::value("exec-splay", "duration", "0s", "longest random wait before signalling the -exec child"),
    Flag::bool("exec-env-pristine", "give the -exec child only -exec-env-custom's variables"),
    Flag::value("exec-env-custom", "KEY=VALUE", "", "variable for the -exec child (repeatable)"),
    Flag::value("exec-env-allowlist", "pattern", "", "pass only variables matching this glob to the -exec child (repeatable)"),
    Flag::value("exec-env-denylist", "pattern", "", "keep variables matching this glob from the -exec child (repeatable)"),
    Flag::value("kill-signal", "signal", "SIGINT", "signal that stops ctmpl at once (exit 12)"),
    Flag::value("reload-signal", "signal", "SIGHUP", "signal that reloads the configuration and templates"),
    Flag::value("log-level", "level", "info", "trace, debug, info, warn or err"),
    Flag::value("log-file", "path", "", "write the log to this file (a path ending in / gets ctmpl.log)"),
    Flag::value("log-rotate-bytes", "n", "", NO_EFFECT),
    Flag::value("log-rotate-duration", "duration", "", NO_EFFECT),
    Flag::value("log-rotate-max-files", "n", "", NO_EFFECT),
    Flag::value("max-stale", "duration", "2s", "allow reads from any server this stale (0: the leader only)"),
    Flag::bool("once", "render every template once, run the commands, exit"),
    Flag::bool("parse-only", "parse the templates and exit"),
    Flag::value("pid-file", "path", "", "write ctmpl's process id to this file"),
    Flag::value("status-addr", "address", "", "serve the templates' /metrics (Prometheus) and /status (JSON) on HOST:PORT; config: status { address } (ctmpl's own)"),
    Flag::refused("syslog", Bool),
    Flag::refused("syslog-facility", Value),
    Flag::refused("syslog-name", Value),
    Flag::value("template", "src:dest[:command]", "", "render SRC to DEST, then run COMMAND (repeatable)"),
    Flag::bool("template-error-fatal", "stop on a template's execution error (on; =false logs it and goes on)"),
    Flag::value("wait", "min[:max]", "", "write only after MIN without changes, at most MAX after the first (MAX: 4×MIN)"),
    Flag::bool("watch-templates", "re-read and re-render a template whose source file changes, without SIGHUP (ctmpl's own)"),
    Flag::refused("vault-addr", Value),
    Flag::refused("vault-token", Value),
    Flag::refused("vault-agent-token-file", Value),
    Flag::refused("vault-unwrap-token", Bool),
    Flag::refused("vault-renew-token", Bool),
    Flag::refused("vault-default-lease-duration", Value),
    Flag::refused("vault-client-user-agent", Value),
    Flag::refused("vault-retry", Bool),
    Flag::refused("vault-retry-attempts", Value),
    Flag::refused("vault-retry-backoff", Value),
    Flag::refused("vault-retry-max-backoff", Value),
    Flag::refused("vault-ssl", Bool),
    Flag::refused("vault-ssl-ca-cert", Value),
    Flag::refused("vault-ssl-ca-path", Value),
    Flag::refused("vault-ssl-cert", Value),
    Flag::refused("vault-ssl-key", Value),
    Flag::refused("vault-ssl-server-name", Value),
    Flag::refused("vault-ssl-verify", Bool),
    Flag::bool("v", "print the version and exit"),
    Flag::bool("version", "print the version and exit"),
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
        "consul-ssl-ca-path",
        "CA folders are not supported by ctmpl; use -consul-ssl-ca-cert",
    ),
];

pub const COMMAND: Command = Command {
    name: "",
    synopsis: "Watches Consul and renders templates, as consul-template does",
    usage: "ctmpl [options]",
    about: "  Watches Consul and renders templates on the file system, writing them when the data\n  \
            they use changes, as consul-template does. Runs until an interrupt unless -once is given.\n  \
            Other commands: `ctmpl help`.",
    flags: FLAGS,
    notes: "",
};

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
            .any(|f| f.name.starts_with(prefix) && parsed.get(f.name).is_some());
        if given {
            return Err(format!("-{prefix}…: {why}"));
        }
    }
    Ok(Flags { parsed })
}

/// Runs consul-template's command line; the error carries the exit status.
pub fn main(args: &[String]) -> Result<(), (i32, String)> {
    let flags =
        flags(args).map_err(|e| (13, format!("{e}\n\n{}", super::help::usage(&COMMAND))))?;
    if flags.parsed.flag("v") || flags.parsed.flag("version") {
        println!("ctmpl v{}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if flags.parsed.get("dev-servers").is_some() && !flags.parsed.flag("dev") {
        return Err((
            13,
            "-dev-servers needs -dev (it sizes the embedded agent)".into(),
        ));
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
    let mut watched = match &dev {
        Some(d) => Some(runtime.block_on(d.watched(None)).map_err(|e| (15, e))?),
        None => None,
    };
    point_at_dev(&mut current, watched.as_ref());
    // One status for the whole process (reloads included): the listener and the embedded
    // agent's UI read what each run publishes.
    let status = crate::status::Shared::default();
    if let Some(d) = &dev {
        runtime.block_on(d.attach_templates(&status));
    }
    let stop_status = tokio_util::sync::CancellationToken::new();
    let _stop_status = stop_status.clone().drop_guard();
    if let Some(addr) = &current.status_addr {
        runtime
            .block_on(start_status(addr, status.clone(), stop_status.clone()))
            .map_err(|e| (15, e))?;
    }
    let result = loop {
        let destinations: Vec<String> = current
            .run
            .templates
            .iter()
            .map(|t| t.destination.clone())
            .collect();
        let report = dev.is_some() && !current.run.dry;
        current.run.status = Some(status.clone());
        let following = dev.as_ref().zip(watched.as_ref());
        let stopped = run_once(&runtime, current, following);
        if let Some(result) = finish(stopped, report, &destinations) {
            break result;
        }
        tracing::info!("reloading configuration and templates");
        current = settings(&flags).map_err(|e| (15, e))?;
        if let Some(d) = &dev {
            watched = Some(
                runtime
                    .block_on(d.watched(watched.as_ref()))
                    .map_err(|e| (15, e))?,
            );
        }
        point_at_dev(&mut current, watched.as_ref());
    };
    if let Some(d) = dev {
        runtime.block_on(d.stop());
    }
    result
}

/// One run of the templates, with the signals watched while it lasts, and with a dev cluster,
/// the watched server: its leave reloads the run onto another server.
fn run_once(
    runtime: &tokio::runtime::Runtime,
    current: Settings,
    dev: Option<(&Dev, &Watched)>,
) -> Result<Stopped, RunError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let follow = dev.and_then(|(d, w)| {
        let _in_runtime = runtime.enter();
        d.follow(w, tx.clone())
    });
    let signals = runtime.spawn(watch_signals(
        tx,
        current.kill_signal,
        current.reload_signal,
    ));
    let stopped = runtime.block_on(crate::runner::run(current.run, rx));
    signals.abort();
    if let Some(f) = follow {
        f.abort();
    }
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

/// `-status-addr`: the renderer's `/metrics` and `/status`, served until `stop`.
async fn start_status(
    addr: &str,
    status: crate::status::Shared,
    stop: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("-status-addr {addr}: cannot listen: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("status listener on http://{bound} (/metrics, /status)");
    tokio::spawn(crate::status::serve(listener, status, stop));
    Ok(())
}

/// `-dev`'s embedded agent: one, or a dev cluster of several (`-dev-servers`).
enum Dev {
    One(crate::agent::Running),
    Cluster(std::sync::Arc<crate::agent::devcluster::DevCluster>),
}

/// The server the templates watch: its node name and HTTP address.
#[derive(Clone)]
struct Watched {
    node: String,
    addr: String,
}

impl Dev {
    /// The server the templates watch: the embedded agent, or in a cluster `current` while it
    /// runs, else the first server still running (said on stderr when it changes). A leader's
    /// leave (or any server's) thus never leaves the renderer without an agent, as long as
    /// one server runs.
    async fn watched(&self, current: Option<&Watched>) -> Result<Watched, String> {
        let cluster = match self {
            Dev::One(r) => {
                return Ok(Watched {
                    node: r.agent.config.node.clone(),
                    addr: r.addr.to_string(),
                })
            }
            Dev::Cluster(c) => c,
        };
        let running = cluster.http_addrs().await;
        if let Some(cur) = current.filter(|w| running.iter().any(|(n, _)| *n == w.node)) {
            return Ok(cur.clone());
        }
        let (node, addr) = running
            .into_iter()
            .find(|(n, _)| current.is_none_or(|w| w.node != *n))
            .ok_or("no server of the dev cluster is running")?;
        match current {
            None => eprintln!("==> templates watch {node} ({addr})"),
            Some(gone) => eprintln!(
                "==> {} stopped; templates now watch {node} ({addr})",
                gone.node
            ),
        }
        Ok(Watched {
            node,
            addr: addr.to_string(),
        })
    }

    /// Asks the run to reload once the server it watches stops, so that it moves to another
    /// (a cluster's; one embedded agent stops only with ctmpl).
    fn follow(
        &self,
        watched: &Watched,
        tx: mpsc::UnboundedSender<Control>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let Dev::Cluster(cluster) = self else {
            return None;
        };
        let (cluster, node) = (cluster.clone(), watched.node.clone());
        Some(tokio::spawn(async move {
            cluster.until_stopped(&node).await;
            if !cluster.done.is_cancelled() {
                let _ = tx.send(Control::Reload);
            }
        }))
    }

    /// The embedded agent's UI shows the runner's templates (every server's, in a cluster).
    async fn attach_templates(&self, status: &crate::status::Shared) {
        match self {
            Dev::One(r) => {
                let _ = r.agent.templates.set(status.clone());
            }
            Dev::Cluster(c) => c.attach_templates(status).await,
        }
    }

    async fn stop(self) {
        match self {
            Dev::One(r) => r.stop().await,
            Dev::Cluster(c) => c.stop().await,
        }
    }
}

/// `-dev`: the embedded agent, on 127.0.0.1:8500 unless `-dev-http-port` says otherwise; with
/// `-dev-servers N`, N servers from that port on, the templates watching the first.
async fn start_dev(f: &Parsed) -> Result<Dev, String> {
    let port = match f.get("dev-http-port") {
        Some(p) => p
            .parse()
            .map_err(|_| format!("-dev-http-port: invalid port {p:?}"))?,
        None => 8500,
    };
    let servers = match f.get("dev-servers") {
        Some(n) => crate::agent::devcluster::parse_size(n)?,
        None => 1,
    };
    let mut config = crate::agent::Config::embedded(port);
    if servers == 1 {
        let running = crate::agent::start(config).await?;
        eprintln!(
            "==> embedded agent (as `ctmpl agent -dev`) on {}",
            running.addr
        );
        return Ok(Dev::One(running));
    }
    config.dev_servers = servers;
    let cluster = crate::agent::devcluster::DevCluster::start(config).await?;
    for line in cluster.describe().await {
        eprintln!("{line}");
    }
    Ok(Dev::Cluster(cluster))
}

/// Points the run at the embedded agent's watched server, when there is one.
fn point_at_dev(s: &mut Settings, watched: Option<&Watched>) {
    if let (Some(w), Some(consul)) = (watched, s.run.consul.as_mut()) {
        consul.address = w.addr.clone();
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
        log_signal(sig, control);
        if tx.send(control).is_err() {
            return;
        }
    }
}

/// Says which signal arrived and what it does, in Go's names for signals (as consul-template's
/// `(cli) receiving signal "terminated"`).
fn log_signal(sig: nix::sys::signal::Signal, control: Control) {
    let name = crate::child::signal_name(sig);
    match control {
        Control::Reload => tracing::info!("(cli) receiving signal {name:?}: reloading"),
        Control::Stop | Control::Kill => {
            tracing::info!("(cli) receiving signal {name:?}: stopping")
        }
        Control::Forward(_) => {
            tracing::info!("(cli) receiving signal {name:?}: forwarding it to the child")
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
    // The embedded agent's Raft: openraft's own lines only at trace (see `cli::agent`).
    let openraft = if level == "trace" { "warn" } else { "off" };
    let filter =
        tracing_subscriber::EnvFilter::new(format!("ctmpl={level},openraft={openraft},warn"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&COMMAND);
    }

    /// A flag listed as refused is refused with a reason when given, never ignored.
    #[test]
    fn refused_flags_say_why() {
        for f in FLAGS.iter().filter(|f| f.is_refused()) {
            let arg = match f.kind {
                Bool => format!("-{}", f.name),
                Value => format!("-{}=x", f.name),
            };
            let err = flags(&[arg]).err().unwrap_or_default();
            assert!(err.contains("not supported"), "-{}: {err:?}", f.name);
        }
    }
}
