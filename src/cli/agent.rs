//! `ctmpl agent [flags]`: Consul's agent flags (over `-config-file`/`-config-dir` JSON files,
//! over defaults) into an [`agent::Config`], then the process around the agent: logging, the pid
//! file, the start-up banner scripts read, SIGINT/SIGTERM, and reloads (SIGHUP, or a changed
//! config file or directory, watched through `fswatch`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::flags::{self, FlagKind, Parsed};
use crate::agent::{self, Config};

const FLAGS: &[(&str, FlagKind)] = &[
    ("dev", FlagKind::Bool),
    ("server", FlagKind::Bool),
    ("bootstrap", FlagKind::Bool),
    ("bootstrap-expect", FlagKind::Value),
    ("bind", FlagKind::Value),
    ("client", FlagKind::Value),
    ("advertise", FlagKind::Value),
    ("node", FlagKind::Value),
    ("datacenter", FlagKind::Value),
    ("data-dir", FlagKind::Value),
    ("http-port", FlagKind::Value),
    ("server-port", FlagKind::Value),
    ("log-file", FlagKind::Value),
    ("log-level", FlagKind::Value),
    ("pid-file", FlagKind::Value),
    ("ui", FlagKind::Bool),
    ("ui-content-path", FlagKind::Value),
    ("config-file", FlagKind::Value),
    ("config-dir", FlagKind::Value),
    ("join", FlagKind::Value),
    ("retry-join", FlagKind::Value),
];

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
    c.join.extend(flags.all("join").iter().cloned());
    c.retry_join.extend(flags.all("retry-join").iter().cloned());
    Ok(())
}

/// `-config-file`s in order, then each `-config-dir`'s `*.json` files alphabetically.
fn config_files(files: &[String], dirs: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    for dir in dirs {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{dir}: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Runs `ctmpl agent ARGS` until SIGINT, SIGTERM or `/v1/agent/leave`.
pub fn run(args: &[String]) -> Result<(), String> {
    let config = parse(args)?;
    init_logging(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(config, args.to_vec()))
}

fn init_logging(config: &Config) -> Result<(), String> {
    let level = match config.log_level.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "warn" => "warn",
        "err" | "error" => "error",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("ctmpl={level},warn"));
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
            builder.with_ansi(false).with_writer(Arc::new(file)).init();
        }
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

async fn serve(config: Config, args: Vec<String>) -> Result<(), String> {
    let pid_file = config.pid_file.clone();
    if let Some(p) = &pid_file {
        std::fs::write(p, std::process::id().to_string())
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    // Consul reloads on SIGHUP; installed before the "running" line so that it never kills us.
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("SIGHUP handler: {e}"))?;
    let running = agent::start(config).await?;
    // Tests and scripts read this line to learn the port when it was 0.
    eprintln!(
        "==> ctmpl agent running: HTTP API on {}, node {}, datacenter {}, server RPC on {}",
        running.addr,
        running.agent.config.node,
        running.agent.config.datacenter,
        running.agent.server_addr()
    );
    tracing::info!(bound = %running.addr, "agent started");
    tokio::spawn(watch_signals(running.shutdown.clone()));
    tokio::spawn(reload_on_change(running.agent.clone(), args, hangup));
    running.shutdown.cancelled().await;
    running.stop().await;
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("==> ctmpl agent stopped");
    Ok(())
}

/// Re-reads the config files and reconciles the service definitions on SIGHUP and whenever a
/// `-config-dir` or `-config-file` changes. A file that does not parse is logged; the agent
/// keeps what it has.
async fn reload_on_change(
    agent: Arc<agent::Agent>,
    args: Vec<String>,
    mut hangup: tokio::signal::unix::Signal,
) {
    let watched: Vec<PathBuf> = flags::parse(&args, FLAGS)
        .map(|f| {
            let mut paths = f.all("config-dir").to_vec();
            paths.extend(f.all("config-file").iter().cloned());
            paths.into_iter().map(PathBuf::from).collect()
        })
        .unwrap_or_default();
    let changed = Arc::new(tokio::sync::Notify::new());
    let _watch = if watched.is_empty() {
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
    let mut state = agent.configured_services();
    let shutdown = agent.shutdown.clone();
    loop {
        tokio::select! {
            _ = hangup.recv() => tracing::info!("caught SIGHUP, reloading the configuration"),
            _ = changed.notified() => {
                // Let a burst of events (write, rename, chmod) settle into one reload.
                tokio::time::sleep(Duration::from_millis(50)).await;
                tracing::info!("configuration files changed, reloading");
            }
            _ = shutdown.cancelled() => return,
        }
        let services = match parse(&args) {
            Ok(config) => config.services,
            Err(e) => {
                tracing::error!("reload: {e}; keeping the current configuration");
                continue;
            }
        };
        match agent.reload_services(&services, &state).await {
            Ok(now) => state = now,
            Err(e) => tracing::error!("reload: {e}"),
        }
    }
}

async fn watch_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = shutdown.cancelled() => return,
    }
    shutdown.cancel();
}
