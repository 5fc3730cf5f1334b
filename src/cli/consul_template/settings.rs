//! What one run of consul-template's command line is asked to do: defaults (and the
//! environment), then `-config` files (see `config_file`), then the flags, each later layer
//! winning. Re-read on the reload signal.

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::config_file::apply_config_files;
use super::Flags;
use crate::child::{parse_signal, CommandSpec, Env, ExecOptions};
use crate::cli::flags::Parsed;
use crate::consul::client::ClientConfig;
use crate::runner::{RunConfig, TemplateSettings, TemplateSpec, Wait};

/// Where ctmpl runs: the run configuration and its process settings.
pub struct Settings {
    pub run: RunConfig,
    pub kill_signal: Option<Signal>,
    pub reload_signal: Option<Signal>,
    pub log_level: String,
    pub log_file: Option<PathBuf>,
    /// `-status-addr` / `status { address }`: the status listener's address.
    pub status_addr: Option<String>,
}

/// Defaults, then config files, then flags.
pub fn settings(flags: &Flags) -> Result<Settings, String> {
    let f = &flags.parsed;
    let mut consul = ClientConfig::from_env();
    let mut run = RunConfig::default();
    let mut s = Settings {
        run: RunConfig::default(),
        kill_signal: Some(Signal::SIGINT),
        reload_signal: Some(Signal::SIGHUP),
        log_level: std::env::var("CT_LOG")
            .or_else(|_| std::env::var("CONSUL_TEMPLATE_LOG"))
            .or_else(|_| std::env::var("CONSUL_TEMPLATE_LOG_LEVEL"))
            .unwrap_or_else(|_| "warn".into()),
        log_file: None,
        status_addr: None,
    };
    let mut default_delims = (String::new(), String::new());
    apply_config_files(
        f.all("config"),
        &mut consul,
        &mut run,
        &mut s,
        &mut default_delims,
    )?;
    consul_flags(f, &mut consul)?;
    watch_flags(f, &mut run)?;
    template_flags(f, &mut run, default_delims)?;
    run.once |= f.flag("once");
    run.dry |= f.flag("dry");
    run.parse_only |= f.flag("parse-only");
    run.watch_templates |= f.flag("watch-templates");
    if let Some(p) = f.get("pid-file") {
        run.pid_file = Some(PathBuf::from(p));
    }
    if let Some(a) = f.get("status-addr") {
        s.status_addr = Some(a.to_string());
    }
    exec_flags(f, &mut run)?;
    process_flags(f, &mut s)?;
    run.consul = Some(consul);
    s.run = run;
    Ok(s)
}

fn duration(f: &Parsed, name: &str) -> Result<Option<Duration>, String> {
    f.get(name)
        .map(|v| crate::duration::parse(v).map_err(|e| format!("-{name}: {e}")))
        .transpose()
}

fn signal(f: &Parsed, name: &str) -> Result<Option<Option<Signal>>, String> {
    f.get(name)
        .map(|v| parse_signal(v).map_err(|e| format!("-{name}: {e}")))
        .transpose()
}

/// `-consul-addr`, `-consul-token[-file]`, `-consul-ssl*`.
fn consul_flags(f: &Parsed, consul: &mut ClientConfig) -> Result<(), String> {
    if let Some(a) = f.get("consul-addr") {
        consul.address = a.to_string();
    }
    if let Some(t) = f.get("consul-token") {
        consul.token = t.to_string();
    }
    if let Some(path) = f.get("consul-token-file") {
        consul.token = std::fs::read_to_string(path)
            .map_err(|e| format!("-consul-token-file {path}: {e}"))?
            .trim()
            .to_string();
    }
    if f.flag("consul-ssl") && !consul.address.starts_with("https://") {
        consul.address = format!("https://{}", consul.address.trim_start_matches("http://"));
    }
    if let Some(ca) = f.get("consul-ssl-ca-cert") {
        consul.ca_cert = Some(PathBuf::from(ca));
    }
    if f.get("consul-ssl-verify") == Some("false") {
        consul.insecure = true;
    }
    if let Some(cert) = f.get("consul-ssl-cert").filter(|c| !c.is_empty()) {
        consul.client_cert = Some(PathBuf::from(cert));
    }
    if let Some(key) = f.get("consul-ssl-key").filter(|k| !k.is_empty()) {
        consul.client_key = Some(PathBuf::from(key));
    }
    if let Some(name) = f.get("consul-ssl-server-name").filter(|n| !n.is_empty()) {
        consul.server_name = Some(name.to_string());
    }
    if let Some(n) = f.get("consul-transport-max-conns-per-host") {
        consul.max_conns_per_host = n
            .parse()
            .map_err(|_| format!("-consul-transport-max-conns-per-host: invalid value {n:?}"))?;
    }
    Ok(())
}

/// The watch's retries and `-max-stale`.
fn watch_flags(f: &Parsed, run: &mut RunConfig) -> Result<(), String> {
    if let Some(d) = duration(f, "retry")?.or(duration(f, "consul-retry-backoff")?) {
        run.watch.retry.backoff = d;
    }
    if let Some(d) = duration(f, "consul-retry-max-backoff")? {
        run.watch.retry.max_backoff = d;
    }
    if let Some(n) = f.get("consul-retry-attempts") {
        run.watch.retry.attempts = n
            .parse()
            .map_err(|_| format!("-consul-retry-attempts: invalid value {n:?}"))?;
    }
    if f.get("consul-retry") == Some("false") {
        run.watch.retry.attempts = 1;
    }
    if let Some(d) = duration(f, "max-stale")? {
        run.watch.max_stale = d;
    }
    Ok(())
}

/// `-wait`, `-template`s (after the config files' ones), and the defaults every template takes:
/// `-default-*-delimiter` (over the config's `default_delimiters`), `-template-error-fatal`.
fn template_flags(
    f: &Parsed,
    run: &mut RunConfig,
    mut default_delims: (String, String),
) -> Result<(), String> {
    if let Some(w) = f.get("wait") {
        run.wait = Some(Wait::parse(w).map_err(|e| format!("-wait: {e}"))?);
    }
    for (name, field) in [
        ("default-left-delimiter", &mut default_delims.0),
        ("default-right-delimiter", &mut default_delims.1),
    ] {
        if let Some(v) = f.get(name) {
            *field = v.to_string();
        }
    }
    for t in f.all("template") {
        run.templates
            .push(TemplateSettings::from(&TemplateSpec::parse(t)?));
    }
    for t in run.templates.iter_mut() {
        if t.left_delimiter.is_empty() {
            t.left_delimiter = default_delims.0.clone();
        }
        if t.right_delimiter.is_empty() {
            t.right_delimiter = default_delims.1.clone();
        }
        if let Some(v) = f.get("template-error-fatal") {
            t.error_fatal = v == "true";
        }
    }
    Ok(())
}

/// `-exec` (replacing a config file's `exec`), then the `-exec-*` flags over whichever is set.
fn exec_flags(f: &Parsed, run: &mut RunConfig) -> Result<(), String> {
    if let Some(cmd) = f.get("exec") {
        run.exec = Some(ExecOptions {
            command: CommandSpec::from_string(cmd),
            env: Env::default(),
            kill_signal: Signal::SIGINT,
            kill_timeout: Duration::from_secs(30),
            reload_signal: None,
            splay: Duration::ZERO,
        });
    }
    let Some(exec) = run.exec.as_mut() else {
        return Ok(());
    };
    if let Some(sig) = signal(f, "exec-kill-signal")? {
        exec.kill_signal = sig.unwrap_or(Signal::SIGINT);
    }
    if let Some(sig) = signal(f, "exec-reload-signal")? {
        exec.reload_signal = sig;
    }
    if let Some(d) = duration(f, "exec-kill-timeout")? {
        exec.kill_timeout = d;
    }
    if let Some(d) = duration(f, "exec-splay")? {
        exec.splay = d;
    }
    exec.env.pristine |= f.flag("exec-env-pristine");
    exec.env
        .custom
        .extend(f.all("exec-env-custom").iter().cloned());
    exec.env
        .allowlist
        .extend(f.all("exec-env-allowlist").iter().cloned());
    exec.env
        .denylist
        .extend(f.all("exec-env-denylist").iter().cloned());
    Ok(())
}

/// ctmpl's own signals and logging.
fn process_flags(f: &Parsed, s: &mut Settings) -> Result<(), String> {
    if let Some(sig) = signal(f, "kill-signal")? {
        s.kill_signal = sig;
    }
    if let Some(sig) = signal(f, "reload-signal")? {
        s.reload_signal = sig;
    }
    if let Some(l) = f.get("log-level") {
        s.log_level = l.to_string();
    }
    if let Some(p) = f.get("log-file") {
        s.log_file = Some(PathBuf::from(p));
    }
    Ok(())
}
