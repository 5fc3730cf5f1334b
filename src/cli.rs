//! Command-line parsing with Go's `flag` rules: one or two dashes, `-f=v` or `-f v` (a value may
//! start with `-`), booleans only as `-f` or `-f=false`, flags end at the first non-flag or `--`.

use std::collections::HashMap;

/// How a flag takes its value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    Bool,
    Value,
}

/// Parsed flags: the last value of each (repeatable flags keep all), and the positional rest.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<String, Vec<String>>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "true")
    }
}

/// A usage error, worded as Go's `flag` package words them.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn parse(args: &[String], spec: &[(&str, FlagKind)]) -> Result<Parsed, UsageError> {
    let kinds: HashMap<&str, FlagKind> = spec.iter().copied().collect();
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        if arg == "--" {
            i += 1;
            break;
        }
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(UsageError(format!("bad flag syntax: {arg}")));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(kind) = kinds.get(name) else {
            return Err(UsageError(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let value = match (kind, inline) {
            (FlagKind::Bool, Some(v)) => match v.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => "true".to_string(),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => "false".to_string(),
                _ => {
                    return Err(UsageError(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    )))
                }
            },
            (FlagKind::Bool, None) => "true".to_string(),
            (FlagKind::Value, Some(v)) => v,
            (FlagKind::Value, None) => {
                i += 1;
                match args.get(i) {
                    Some(v) => v.clone(),
                    None => return Err(UsageError(format!("flag needs an argument: -{name}"))),
                }
            }
        };
        parsed
            .values
            .entry(name.to_string())
            .or_default()
            .push(value);
        i += 1;
    }
    parsed.args = args[i..].to_vec();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flag_rules() {
        let spec = [("data", FlagKind::Value), ("once", FlagKind::Bool)];
        let p = parse(
            &strings(&["--data", "-x.json", "-once", "t.tmpl", "-z"]),
            &spec,
        )
        .unwrap();
        assert_eq!(p.get("data"), Some("-x.json"));
        assert!(p.flag("once"));
        assert_eq!(p.args, strings(&["t.tmpl", "-z"]));
        let p = parse(&strings(&["-once=false", "--", "-data"]), &spec).unwrap();
        assert!(!p.flag("once"));
        assert_eq!(p.args, strings(&["-data"]));
        assert!(parse(&strings(&["-nope"]), &spec).is_err());
        assert!(parse(&strings(&["-data"]), &spec).is_err());
        assert!(parse(&strings(&["-once=maybe"]), &spec).is_err());
    }
}

/// consul-template's command line: its flags, signals and exit codes.
pub mod consul_template {
    use std::path::PathBuf;
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::{parse, FlagKind, Parsed};
    use crate::child::{parse_signal, CommandSpec, Env, ExecOptions};
    use crate::client::ClientConfig;
    use crate::runner::{Control, RunConfig, Stopped, TemplateSettings, TemplateSpec, Wait};

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

    fn duration(f: &Parsed, name: &str) -> Result<Option<Duration>, String> {
        f.get(name)
            .map(|v| crate::duration::parse(v).map_err(|e| format!("-{name}: {e}")))
            .transpose()
    }

    fn signal(f: &Parsed, name: &str) -> Result<Option<Option<nix::sys::signal::Signal>>, String> {
        f.get(name)
            .map(|v| parse_signal(v).map_err(|e| format!("-{name}: {e}")))
            .transpose()
    }

    /// Where ctmpl runs: the run configuration and its process settings.
    pub struct Settings {
        pub run: RunConfig,
        pub kill_signal: Option<nix::sys::signal::Signal>,
        pub reload_signal: Option<nix::sys::signal::Signal>,
        pub log_level: String,
        pub log_file: Option<PathBuf>,
    }

    /// Defaults, then config files, then flags.
    pub fn settings(flags: &Flags) -> Result<Settings, String> {
        let f = &flags.parsed;
        let mut consul = ClientConfig::from_env();
        let mut run = RunConfig::default();
        let mut s = Settings {
            run: RunConfig::default(),
            kill_signal: Some(nix::sys::signal::Signal::SIGINT),
            reload_signal: Some(nix::sys::signal::Signal::SIGHUP),
            log_level: std::env::var("CT_LOG")
                .or_else(|_| std::env::var("CONSUL_TEMPLATE_LOG"))
                .or_else(|_| std::env::var("CONSUL_TEMPLATE_LOG_LEVEL"))
                .unwrap_or_else(|_| "warn".into()),
            log_file: None,
        };
        let mut default_delims = (String::new(), String::new());
        apply_config_files(
            f.all("config"),
            &mut consul,
            &mut run,
            &mut s,
            &mut default_delims,
        )?;
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
        run.once |= f.flag("once");
        run.dry |= f.flag("dry");
        run.parse_only |= f.flag("parse-only");
        if let Some(p) = f.get("pid-file") {
            run.pid_file = Some(PathBuf::from(p));
        }
        if let Some(cmd) = f.get("exec") {
            run.exec = Some(ExecOptions {
                command: CommandSpec::from_string(cmd),
                env: Env::default(),
                kill_signal: nix::sys::signal::Signal::SIGINT,
                kill_timeout: Duration::from_secs(30),
                reload_signal: None,
                splay: Duration::ZERO,
            });
        }
        if let Some(exec) = run.exec.as_mut() {
            if let Some(sig) = signal(f, "exec-kill-signal")? {
                exec.kill_signal = sig.unwrap_or(nix::sys::signal::Signal::SIGINT);
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
        }
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
        run.consul = Some(consul);
        s.run = run;
        Ok(s)
    }

    /// `-config` files and folders, in order, under the flags.
    fn apply_config_files(
        paths: &[String],
        consul: &mut ClientConfig,
        run: &mut RunConfig,
        s: &mut Settings,
        delims: &mut (String, String),
    ) -> Result<(), String> {
        use crate::config::Config;
        let mut c = Config::default();
        for p in paths {
            c = c.merge(Config::from_path(p).map_err(|e| e.0)?);
        }
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
            s.kill_signal = crate::config::to_signal(sig);
        }
        if let Some(sig) = &c.reload_signal {
            s.reload_signal = crate::config::to_signal(sig);
        }
        if let Some(l) = &c.log_level {
            s.log_level = l.clone();
        }
        if let Some(p) = c.log_file.as_ref().and_then(|l| l.path.as_ref()) {
            s.log_file = Some(PathBuf::from(p));
        }
        Ok(())
    }

    fn apply_consul(
        c: &crate::config::ConsulConfig,
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
            if ssl.cert.is_some() || ssl.key.is_some() || ssl.ca_path.is_some() {
                return Err(
                    "consul.ssl: client certificates and CA folders are not supported by ctmpl"
                        .into(),
                );
            }
            if ssl.enabled != Some(false) && !consul.address.starts_with("https://") {
                consul.address =
                    format!("https://{}", consul.address.trim_start_matches("http://"));
            }
            if let Some(ca) = &ssl.ca_cert {
                consul.ca_cert = Some(PathBuf::from(ca));
            }
            consul.insecure = ssl.verify == Some(false);
        }
        Ok(())
    }

    fn command_spec(c: &crate::config::Command) -> CommandSpec {
        match c {
            crate::config::Command::Shell(s) => CommandSpec::from_string(s),
            crate::config::Command::Argv(v) => CommandSpec::from_list(v.clone()),
        }
    }

    fn template_settings(
        t: &crate::config::TemplateConfig,
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

    fn exec_options(e: &crate::config::ExecConfig) -> Result<ExecOptions, String> {
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
                .and_then(crate::config::to_signal)
                .unwrap_or(nix::sys::signal::Signal::SIGINT),
            kill_timeout: e.kill_timeout.unwrap_or(Duration::from_secs(30)),
            reload_signal: e
                .reload_signal
                .as_deref()
                .and_then(crate::config::to_signal),
            splay: e.splay.unwrap_or_default(),
        })
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
            let (tx, rx) = mpsc::unbounded_channel();
            let signals = runtime.spawn(watch_signals(
                tx,
                current.kill_signal,
                current.reload_signal,
            ));
            let destinations: Vec<String> = current
                .run
                .templates
                .iter()
                .map(|t| t.destination.clone())
                .collect();
            let dry = current.run.dry;
            let stopped = runtime.block_on(crate::runner::run(current.run, rx));
            signals.abort();
            match stopped {
                Ok(Stopped::Done) => {
                    if dev.is_some() && !dry {
                        for d in destinations.iter().filter(|d| !d.is_empty()) {
                            eprintln!("==> rendered {d}");
                        }
                    }
                    break Ok(());
                }
                Ok(Stopped::Killed) => {
                    break Err((12, "received the kill signal, stopping".into()))
                }
                Ok(Stopped::Child(0)) => break Ok(()),
                Ok(Stopped::Child(code)) => {
                    break Err((code, format!("child exited with status {code}")))
                }
                Ok(Stopped::Reload) => {
                    tracing::info!("reloading configuration and templates");
                    current = settings(&flags).map_err(|e| (15, e))?;
                    point_at_dev(&mut current, dev_addr.as_deref());
                }
                Err(e) => break Err((e.exit_code(), e.to_string())),
            }
        };
        if let Some(d) = dev {
            runtime.block_on(d.stop());
        }
        result
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
}
