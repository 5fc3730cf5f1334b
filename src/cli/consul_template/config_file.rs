//! consul-template's config files (`-config`, files or folders, merged in order) mapped onto the
//! runner's settings, under the flags. Keys ctmpl cannot honour are refused, not ignored.

use std::path::PathBuf;
use std::time::Duration;

use super::Settings;
use crate::child::{CommandSpec, Env, ExecOptions};
use crate::config::{self, Config};
use crate::consul::client::ClientConfig;
use crate::runner::{RunConfig, TemplateSettings, Wait};

/// `-config` files and folders, in order, under the flags.
pub(super) fn apply_config_files(
    paths: &[String],
    consul: &mut ClientConfig,
    run: &mut RunConfig,
    s: &mut Settings,
    delims: &mut (String, String),
) -> Result<(), String> {
    let mut c = Config::default();
    for p in paths {
        c = c.merge(Config::from_path(p).map_err(|e| e.0)?);
    }
    refuse_unsupported(&c)?;
    apply_consul(&c.consul, consul, run)?;
    if let Some(d) = c.max_stale {
        run.watch.max_stale = d;
    }
    if let Some(d) = c.block_query_wait {
        run.watch.wait = d;
    }
    if let Some(w) = &c.wait {
        let (min, max) = w.bounds();
        run.wait = Some(Wait { min, max });
    }
    run.once |= c.once.unwrap_or(false);
    run.parse_only |= c.parseonly.unwrap_or(false);
    run.watch_templates |= c.watch_templates.unwrap_or(false);
    if let Some(p) = &c.pid_file {
        run.pid_file = Some(PathBuf::from(p));
    }
    if let Some((l, r)) = &c.default_delimiters {
        *delims = (l.clone(), r.clone());
    }
    for t in &c.templates {
        run.templates
            .push(template_settings(t, c.template_error_fatal)?);
    }
    if let Some(e) = &c.exec {
        if e.enabled != Some(false) {
            run.exec = Some(exec_options(e)?);
        }
    }
    if let Some(sig) = &c.kill_signal {
        s.kill_signal = config::to_signal(sig);
    }
    if let Some(sig) = &c.reload_signal {
        s.reload_signal = config::to_signal(sig);
    }
    if let Some(l) = &c.log_level {
        s.log_level = l.clone();
    }
    if let Some(a) = &c.status_address {
        s.status_addr = Some(a.clone());
    }
    if let Some(p) = c.log_file.as_ref().and_then(|l| l.path.as_ref()) {
        s.log_file = Some(PathBuf::from(p));
    }
    Ok(())
}

/// What consul-template's files may say but ctmpl cannot do: refused, never ignored.
fn refuse_unsupported(c: &Config) -> Result<(), String> {
    for (given, what) in [
        (c.vault.is_some(), "vault: Vault is not supported by ctmpl"),
        (c.nomad.is_some(), "nomad: Nomad is not supported by ctmpl"),
        (
            c.deduplicate.is_some(),
            "deduplicate: de-duplication mode is not supported by ctmpl",
        ),
        (
            c.syslog.as_ref().is_some_and(|l| l.enabled != Some(false)),
            "syslog: not supported by ctmpl; use log_file",
        ),
        (
            c.consul
                .auth
                .as_ref()
                .is_some_and(|a| a.enabled != Some(false)),
            "consul.auth: not supported by ctmpl",
        ),
    ] {
        if given {
            return Err(what.to_string());
        }
    }
    Ok(())
}

fn apply_consul(
    c: &config::ConsulConfig,
    consul: &mut ClientConfig,
    run: &mut RunConfig,
) -> Result<(), String> {
    if let Some(a) = &c.address {
        consul.address = a.clone();
    }
    if let Some(t) = &c.token {
        consul.token = t.clone();
    }
    if let Some(path) = &c.token_file {
        consul.token = std::fs::read_to_string(path)
            .map_err(|e| format!("consul.token_file {path}: {e}"))?
            .trim()
            .to_string();
    }
    if let Some(r) = &c.retry {
        if r.enabled == Some(false) {
            run.watch.retry.attempts = 1;
        }
        if let Some(n) = r.attempts {
            run.watch.retry.attempts = n;
        }
        if let Some(d) = r.backoff {
            run.watch.retry.backoff = d;
        }
        if let Some(d) = r.max_backoff {
            run.watch.retry.max_backoff = d;
        }
    }
    if let Some(ssl) = &c.ssl {
        if ssl.ca_path.is_some() {
            return Err(
                "consul.ssl: CA folders (ca_path) are not supported by ctmpl; use ca_cert".into(),
            );
        }
        if let Some(cert) = &ssl.cert {
            consul.client_cert = Some(PathBuf::from(cert));
        }
        if let Some(key) = &ssl.key {
            consul.client_key = Some(PathBuf::from(key));
        }
        if let Some(name) = ssl.server_name.as_ref().filter(|n| !n.is_empty()) {
            consul.server_name = Some(name.clone());
        }
        if ssl.enabled != Some(false) && !consul.address.starts_with("https://") {
            consul.address = format!("https://{}", consul.address.trim_start_matches("http://"));
        }
        if let Some(ca) = &ssl.ca_cert {
            consul.ca_cert = Some(PathBuf::from(ca));
        }
        consul.insecure = ssl.verify == Some(false);
    }
    if let Some(n) = c.transport.as_ref().and_then(|t| t.max_conns_per_host) {
        consul.max_conns_per_host = n as usize;
    }
    Ok(())
}

fn command_spec(c: &config::Command) -> CommandSpec {
    match c {
        config::Command::Shell(s) => CommandSpec::from_string(s),
        config::Command::Argv(v) => CommandSpec::from_list(v.clone()),
    }
}

fn template_settings(
    t: &config::TemplateConfig,
    error_fatal: Option<bool>,
) -> Result<TemplateSettings, String> {
    if t.user.is_some() || t.group.is_some() || t.uid.is_some() || t.gid.is_some() {
        return Err("template: user/group ownership is not supported by ctmpl yet".into());
    }
    let mut out = TemplateSettings {
        source: t.source.as_ref().map(PathBuf::from),
        contents: t.contents.clone(),
        destination: t.destination.clone().unwrap_or_default(),
        error_on_missing_key: t.error_on_missing_key.unwrap_or(false),
        error_fatal: t.error_fatal.or(error_fatal).unwrap_or(true),
        left_delimiter: t.left_delimiter.clone().unwrap_or_default(),
        right_delimiter: t.right_delimiter.clone().unwrap_or_default(),
        function_denylist: t.function_denylist.clone(),
        sandbox_path: t.sandbox_path.as_ref().map(PathBuf::from),
        jinja: match t.engine.as_deref() {
            None => None,
            Some("go") => Some(false),
            Some("jinja") => Some(true),
            Some(other) => {
                return Err(format!(
                    "template: unknown engine {other:?} (want \"go\" or \"jinja\")"
                ))
            }
        },
        wait: t.wait.as_ref().map(|w| {
            let (min, max) = w.bounds();
            Wait { min, max }
        }),
        check_command: t.check_command.as_ref().map(command_spec),
        ..Default::default()
    };
    out.render.perms = t.perms;
    out.render.backup = t.backup.unwrap_or(false);
    out.render.create_dest_dirs = t.create_dest_dirs.unwrap_or(true);
    out.command = t
        .exec
        .as_ref()
        .and_then(|e| e.command.as_ref())
        .or(t.command.as_ref())
        .map(command_spec);
    if let Some(d) = t
        .exec
        .as_ref()
        .and_then(|e| e.timeout)
        .or(t.command_timeout)
    {
        out.command_timeout = d;
    }
    Ok(out)
}

fn exec_options(e: &config::ExecConfig) -> Result<ExecOptions, String> {
    let command = e
        .command
        .as_ref()
        .map(command_spec)
        .ok_or("exec: no command")?;
    let env = e.env.clone().unwrap_or_default();
    Ok(ExecOptions {
        command,
        env: Env {
            pristine: env.pristine.unwrap_or(false),
            custom: env.custom,
            allowlist: env.allowlist,
            denylist: env.denylist,
            extra: Vec::new(),
        },
        kill_signal: e
            .kill_signal
            .as_deref()
            .and_then(config::to_signal)
            .unwrap_or(nix::sys::signal::Signal::SIGINT),
        kill_timeout: e.kill_timeout.unwrap_or(Duration::from_secs(30)),
        reload_signal: e.reload_signal.as_deref().and_then(config::to_signal),
        splay: e.splay.unwrap_or_default(),
    })
}
