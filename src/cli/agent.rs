//! `ctmpl agent [flags]`: Consul's agent flags (over `-config-file`/`-config-dir` JSON files,
//! over defaults) into an [`agent::Config`], then the process around the agent: logging, the pid
//! file, the start-up banner scripts read, SIGINT/SIGTERM, and reloads (SIGHUP, or a changed
//! config file or directory, watched through `fswatch`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::flags::{self, Flag, Parsed};
use super::help::Command;
use crate::agent::{self, banner, Config};

const FLAGS: &[Flag] = &[
    Flag::bool(
        "dev",
        "development mode: a server of one on 127.0.0.1, in memory, with the UI",
    ),
    Flag::value(
        "dev-servers",
        "n",
        "1",
        "with -dev: run 1, 3 or 5 servers in this process, HTTP ports counting up from -http-port",
    ),
    Flag::bool(
        "server",
        "run as a server (a Raft voter holding the catalog)",
    ),
    Flag::bool(
        "bootstrap",
        "elect this server leader on its own (as -bootstrap-expect=1)",
    ),
    Flag::value(
        "bootstrap-expect",
        "n",
        "0",
        "servers to wait for before the first election",
    ),
    Flag::value(
        "bind",
        "address",
        "0.0.0.0",
        "address the server port listens on, for the other agents",
    ),
    Flag::value(
        "client",
        "address",
        "127.0.0.1",
        "address the HTTP API and UI listen on",
    ),
    Flag::value(
        "advertise",
        "address",
        "-bind; with 0.0.0.0 the host's one private IPv4 address",
        "address given to the other agents",
    ),
    Flag::value("node", "name", "the host name", "this agent's node name"),
    Flag::value(
        "node-meta",
        "key:value",
        "",
        "a metadata pair for this node (repeatable; Consul's limits: 64 pairs, keys of letters, digits, - and _)",
    ),
    Flag::value("datacenter", "name", "dc1", "datacenter of this agent"),
    Flag::value(
        "data-dir",
        "path",
        "",
        "folder for the Raft log and state (required unless -dev)",
    ),
    Flag::value(
        "http-port",
        "port",
        "8500",
        "port of the HTTP API (0: any free one)",
    ),
    Flag::value(
        "https-port",
        "port",
        "-1",
        "port of the HTTP API over TLS (needs tls.defaults cert_file and key_file; -1: off)",
    ),
    Flag::value(
        "encrypt",
        "key",
        "",
        "shared key (base64, 32 bytes) that authenticates the server port's traffic",
    ),
    Flag::value(
        "server-port",
        "port",
        "8300",
        "port of the server RPC (Raft) the other agents use (0: any free one)",
    ),
    Flag::value(
        "log-file",
        "path",
        "",
        "write the log to this file (a folder gets ctmpl.log)",
    ),
    Flag::value(
        "log-level",
        "level",
        "info",
        "trace, debug, info, warn or err",
    ),
    Flag::value(
        "pid-file",
        "path",
        "",
        "write the agent's process id to this file",
    ),
    Flag::bool("ui", "serve the web UI"),
    Flag::value(
        "ui-content-path",
        "path",
        "/ui/",
        "URL path the web UI is served under",
    ),
    Flag::value(
        "config-file",
        "path",
        "",
        "JSON or HCL config file (repeatable; flags override it)",
    ),
    Flag::value(
        "config-dir",
        "path",
        "",
        "folder of JSON and HCL config files, read in name order (repeatable)",
    ),
    Flag::value(
        "http-max-conns-per-client",
        "n",
        "200",
        "connections one client address may hold open on the HTTP port (0: no limit; Consul's limits.http_max_conns_per_client)",
    ),
    Flag::value("join", "address", "", "agent to join at start (repeatable)"),
    Flag::value(
        "retry-join",
        "address",
        "",
        "agent to join at start, retried until it answers (repeatable)",
    ),
];

pub const COMMAND: Command = Command {
    name: "agent",
    synopsis: "Runs a Consul-compatible agent (catalog, health checks, Raft, web UI)",
    usage: "ctmpl agent [options]",
    about: "  Starts a Consul-compatible agent and runs until an interrupt is received. Its HTTP API\n  \
            answers consul-template, the consul CLI and the Consul API clients.",
    flags: FLAGS,
    notes: "",
};

/// Consul's flags, over config files, over defaults.
pub fn parse(args: &[String]) -> Result<Config, String> {
    let flags = flags::parse(args, FLAGS).map_err(|e| e.0)?;
    if let Some(extra) = flags.args.first() {
        return Err(format!("unexpected argument: {extra}"));
    }
    let mut c = Config::default();
    for file in config_files(flags.all("config-file"), flags.all("config-dir"))? {
        c.apply_file(&file)?;
    }
    apply_flags(&mut c, &flags)?;
    c.validate()?;
    Ok(c)
}

/// The flags over what the defaults and files said.
fn apply_flags(c: &mut Config, flags: &Parsed) -> Result<(), String> {
    let port = |name: &str, v: &str| {
        v.parse::<u16>()
            .map_err(|_| format!("invalid value {v:?} for flag -{name}"))
    };
    if flags.flag("dev") {
        c.dev = true;
        c.server = true;
        c.bootstrap_expect = 1;
        c.bind = "127.0.0.1".into();
        c.ui = true;
    }
    if let Some(v) = flags.get("dev-servers") {
        c.dev_servers = agent::devcluster::parse_size(v)?;
    }
    if flags.flag("server") {
        c.server = true;
    }
    if flags.flag("bootstrap") {
        c.bootstrap_expect = 1;
    }
    if let Some(v) = flags.get("bootstrap-expect") {
        c.bootstrap_expect = v
            .parse()
            .map_err(|_| format!("invalid value {v:?} for flag -bootstrap-expect"))?;
    }
    for (name, field) in [
        ("bind", &mut c.bind),
        ("client", &mut c.client),
        ("advertise", &mut c.advertise),
        ("node", &mut c.node),
        ("datacenter", &mut c.datacenter),
        ("log-level", &mut c.log_level),
        ("ui-content-path", &mut c.ui_content_path),
    ] {
        if let Some(v) = flags.get(name) {
            *field = v.to_string();
        }
    }
    if let Some(v) = flags.get("http-port") {
        c.http_port = port("http-port", v)?;
    }
    if let Some(v) = flags.get("server-port") {
        c.server_port = port("server-port", v)?;
    }
    if let Some(v) = flags.get("http-max-conns-per-client") {
        c.http_max_conns_per_client = v
            .parse()
            .map_err(|_| format!("invalid value {v:?} for flag -http-max-conns-per-client"))?;
    }
    if let Some(v) = flags.get("https-port") {
        c.https_port = match v.trim() {
            "-1" => None,
            v => Some(port("https-port", v)?),
        };
    }
    if let Some(v) = flags.get("encrypt").filter(|v| !v.is_empty()) {
        c.encrypt = Some(v.to_string());
    }
    if let Some(v) = flags.get("data-dir") {
        c.data_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = flags.get("log-file") {
        c.log_file = Some(PathBuf::from(v));
    }
    if let Some(v) = flags.get("pid-file") {
        c.pid_file = Some(PathBuf::from(v));
    }
    if flags.flag("ui") {
        c.ui = true;
    }
    for pair in flags.all("node-meta") {
        // Consul's flag: `key:value`, split at the first colon; no colon is an empty value.
        let (key, value) = pair.split_once(':').unwrap_or((pair, ""));
        c.node_meta.insert(key.to_string(), value.to_string());
    }
    c.join.extend(flags.all("join").iter().cloned());
    c.retry_join.extend(flags.all("retry-join").iter().cloned());
    Ok(())
}

/// `-config-file`s in order, then each `-config-dir`'s `*.json` and `*.hcl` files
/// alphabetically.
fn config_files(files: &[String], dirs: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    for dir in dirs {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{dir}: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "hcl"))
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Runs `ctmpl agent ARGS` until SIGINT, SIGTERM or `/v1/agent/leave`.
pub fn run(args: &[String]) -> Result<(), String> {
    let config = parse(args)?;
    let gate = init_logging(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(serve(config, &gate, args.to_vec()));
    gate.open();
    result
}

/// Holds log lines back until the banner is out, as Consul's gated writer does: what the agent
/// logs while starting (its first election, say) follows the banner instead of preceding it.
#[derive(Clone)]
struct Gate(Arc<std::sync::Mutex<GateState>>);

struct GateState {
    open: bool,
    held: Vec<u8>,
    out: Box<dyn std::io::Write + Send>,
}

impl Gate {
    fn new(out: Box<dyn std::io::Write + Send>) -> Gate {
        Gate(Arc::new(std::sync::Mutex::new(GateState {
            open: false,
            held: Vec::new(),
            out,
        })))
    }

    /// Lets the held lines out, and every line after them straight through.
    fn open(&self) {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !st.open {
            st.open = true;
            let held = std::mem::take(&mut st.held);
            let _ = st.out.write_all(&held);
            let _ = st.out.flush();
        }
    }
}

impl std::io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if st.open {
            st.out.write_all(buf)?;
        } else {
            st.held.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        st.out.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Gate {
    type Writer = Gate;
    fn make_writer(&'a self) -> Gate {
        self.clone()
    }
}

fn init_logging(config: &Config) -> Result<Gate, String> {
    let level = match config.log_level.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "warn" => "warn",
        "err" | "error" => "error",
        _ => "info",
    };
    // openraft's own lines repeat for as long as a peer is down (four every heartbeat): the
    // agent says what happened itself (`agent::events`), so they show only at trace.
    let openraft = if level == "trace" { "warn" } else { "off" };
    let filter =
        tracing_subscriber::EnvFilter::new(format!("ctmpl={level},openraft={openraft},warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match &config.log_file {
        Some(path) => {
            let path = if path.is_dir() || path.to_string_lossy().ends_with('/') {
                std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
                path.join("ctmpl.log")
            } else {
                path.clone()
            };
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let gate = Gate::new(Box::new(file));
            builder.with_ansi(false).with_writer(gate.clone()).init();
            Ok(gate)
        }
        None => {
            let gate = Gate::new(Box::new(std::io::stderr()));
            builder
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_writer(gate.clone())
                .init();
            Ok(gate)
        }
    }
}

async fn serve(config: Config, gate: &Gate, args: Vec<String>) -> Result<(), String> {
    let pid_file = config.pid_file.clone();
    if let Some(p) = &pid_file {
        std::fs::write(p, std::process::id().to_string())
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    // Consul reloads on SIGHUP; installed before the "running" line so that it never kills us.
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("SIGHUP handler: {e}"))?;
    if config.dev_servers > 1 {
        return serve_cluster(config, pid_file).await;
    }
    // Watched before the agent starts, so that no change after the banner goes unseen.
    let (config_watch, changed) = watch_config_files(&args);
    let running = agent::start(config).await?;
    // Tests and scripts read the banner's `==> ctmpl agent running: HTTP API on ADDR` line to
    // learn the port when it was 0.
    eprint!("{}", banner::render(&banner::Facts::of(&running)));
    gate.open();
    tokio::spawn(watch_signals(running.shutdown.clone()));
    let running_agent = running.agent.clone();
    tokio::spawn(async move {
        let _watching = config_watch;
        reload_on_change(running_agent, args, hangup, changed).await
    });
    running.shutdown.cancelled().await;
    running.stop().await;
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("agent: Graceful exit completed");
    eprintln!("==> ctmpl agent stopped");
    Ok(())
}

/// Re-reads the config files and reconciles the service and check definitions on SIGHUP and whenever a
/// `-config-dir` or `-config-file` changes. A file that does not parse is logged; the agent
/// keeps what it has.
async fn reload_on_change(
    agent: Arc<agent::Agent>,
    args: Vec<String>,
    mut hangup: tokio::signal::unix::Signal,
    changed: Arc<tokio::sync::Notify>,
) {
    let mut services = agent.configured_services();
    let mut checks = agent.configured_checks();
    let shutdown = agent.shutdown.clone();
    loop {
        tokio::select! {
            _ = hangup.recv() => tracing::info!("agent: Caught signal: hangup; Reloading configuration..."),
            _ = changed.notified() => {
                // Let a burst of events (write, rename, chmod) settle into one reload.
                tokio::time::sleep(Duration::from_millis(50)).await;
                tracing::info!("configuration files changed, reloading");
            }
            _ = shutdown.cancelled() => return,
        }
        let config = match parse(&args) {
            Ok(config) => config,
            Err(e) => {
                tracing::error!("reload: {e}; keeping the current configuration");
                continue;
            }
        };
        match agent.reload_services(&config.services, &services).await {
            Ok(now) => services = now,
            Err(e) => tracing::error!("reload: {e}"),
        }
        match agent.reload_checks(&config.checks, &checks).await {
            Ok(now) => checks = now,
            Err(e) => tracing::error!("reload: {e}"),
        }
    }
}

/// Watches the `-config-dir`s and `-config-file`s; `changed` is notified on every change.
fn watch_config_files(
    args: &[String],
) -> (Option<crate::fswatch::FsWatch>, Arc<tokio::sync::Notify>) {
    let watched: Vec<PathBuf> = flags::parse(args, FLAGS)
        .map(|f| {
            let mut paths = f.all("config-dir").to_vec();
            paths.extend(f.all("config-file").iter().cloned());
            paths.into_iter().map(PathBuf::from).collect()
        })
        .unwrap_or_default();
    let changed = Arc::new(tokio::sync::Notify::new());
    let watch = if watched.is_empty() {
        None
    } else {
        match crate::fswatch::watch(&watched, changed.clone()) {
            Ok(w) => {
                tracing::debug!(watcher = w.kind, "watching the agent's config files");
                Some(w)
            }
            Err(e) => {
                tracing::warn!("not watching the config files: {e}");
                None
            }
        }
    };
    (watch, changed)
}

/// `-dev -dev-servers N`: the servers run until SIGINT/SIGTERM or until each has left.
async fn serve_cluster(config: Config, pid_file: Option<PathBuf>) -> Result<(), String> {
    let cluster = agent::devcluster::DevCluster::start(config).await?;
    for line in cluster.describe().await {
        eprintln!("{line}");
    }
    tokio::spawn(watch_signals(cluster.done.clone()));
    cluster.done.cancelled().await;
    cluster.stop().await;
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("==> ctmpl agent stopped");
    Ok(())
}

async fn watch_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let sig = tokio::select! {
        _ = int.recv() => nix::sys::signal::Signal::SIGINT,
        _ = term.recv() => nix::sys::signal::Signal::SIGTERM,
        _ = shutdown.cancelled() => return,
    };
    tracing::info!("agent: Caught signal: {}", crate::child::signal_name(sig));
    tracing::info!("agent: Gracefully shutting down agent...");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&super::COMMAND);
    }
}
