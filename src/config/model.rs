//! consul-template's configuration model: the blocks and keys of its config files as Rust
//! structs, the value rules shared by files and flags (signal names, `MIN[:MAX]` waits, the
//! comma quirk of commands), and merging.
//!
//! Every field is optional so that merging knows what a file set; the documented default
//! (applied by the caller, `cli::consul_template`) follows each field.

use std::time::Duration;

use super::Hcl;

/// consul-template's configuration (see the reference, §2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub consul: ConsulConfig,
    /// `template { }` blocks, in file order; files and flags append.
    pub templates: Vec<TemplateConfig>,
    /// Supervise mode.
    pub exec: Option<ExecConfig>,
    /// Global quiescence; unset = off.
    pub wait: Option<WaitConfig>,
    /// Default `WARN`.
    pub log_level: Option<String>,
    pub pid_file: Option<String>,
    /// Upper-cased name (see [`signal`]); `SIGNULL` = disabled. Default `SIGINT`.
    pub kill_signal: Option<String>,
    /// Default `SIGHUP`.
    pub reload_signal: Option<String>,
    /// Default 2s.
    pub max_stale: Option<Duration>,
    /// The `wait=` of blocking queries; default 60s.
    pub block_query_wait: Option<Duration>,
    pub once: Option<bool>,
    pub parseonly: Option<bool>,
    /// ctmpl's own: re-read a template whose source changes (default false).
    pub watch_templates: Option<bool>,
    /// Overrides every template's `error_fatal`.
    pub template_error_fatal: Option<bool>,
    /// Default false.
    pub err_on_failed_lookup: Option<bool>,
    /// `default_delimiters { left right }`; a missing side is Go's (`{{` or `}}`).
    pub default_delimiters: Option<(String, String)>,
    /// Kept as written so that the caller can refuse them clearly.
    pub vault: Option<Hcl>,
    pub nomad: Option<Hcl>,
    pub deduplicate: Option<Hcl>,
    pub syslog: Option<SyslogConfig>,
    pub log_file: Option<LogFileConfig>,
    /// ctmpl's `status { address = "HOST:PORT" }`: the renderer's `/metrics` and `/status`
    /// listener (consul-template has none). Unset = no listener.
    pub status_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsulConfig {
    /// `host:port`, possibly with an `http://`, `https://` or `unix://` scheme.
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub auth: Option<AuthConfig>,
    pub retry: Option<RetryConfig>,
    pub ssl: Option<SslConfig>,
    pub transport: Option<TransportConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthConfig {
    /// Default: true when a username or password is set.
    pub enabled: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryConfig {
    /// Default true.
    pub enabled: Option<bool>,
    /// Default 12; 0 = unlimited.
    pub attempts: Option<u32>,
    /// Default 250ms, doubled each attempt.
    pub backoff: Option<Duration>,
    /// Default 1m; 0 = no cap.
    pub max_backoff: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SslConfig {
    /// Default: true when any other field is set.
    pub enabled: Option<bool>,
    /// Default true.
    pub verify: Option<bool>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub ca_cert: Option<String>,
    pub ca_cert_bytes: Option<String>,
    pub ca_path: Option<String>,
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransportConfig {
    /// Defaults 30s, 30s, false, 5s, 0, 100, 0, 10s.
    pub dial_keep_alive: Option<Duration>,
    pub dial_timeout: Option<Duration>,
    pub disable_keep_alives: Option<bool>,
    pub idle_conn_timeout: Option<Duration>,
    pub max_idle_conns: Option<u32>,
    pub max_idle_conns_per_host: Option<u32>,
    pub max_conns_per_host: Option<u32>,
    pub tls_handshake_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateConfig {
    /// Exactly one of `source` and `contents` is set (checked when parsing).
    pub source: Option<String>,
    pub contents: Option<String>,
    pub destination: Option<String>,
    /// Default true (directories made 0755).
    pub create_dest_dirs: Option<bool>,
    /// File mode; unset keeps the existing file's mode, else 0644.
    pub perms: Option<u32>,
    /// Name or numeric id; unset keeps the existing owner.
    pub user: Option<String>,
    pub group: Option<String>,
    /// Legacy numeric forms of `user` and `group` (used when those are unset).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Default false.
    pub backup: Option<bool>,
    /// Default false.
    pub error_on_missing_key: Option<bool>,
    /// Default true.
    pub error_fatal: Option<bool>,
    pub left_delimiter: Option<String>,
    pub right_delimiter: Option<String>,
    /// Glob patterns; the legacy `function_blacklist` lands here too.
    pub function_denylist: Vec<String>,
    pub sandbox_path: Option<String>,
    /// `go` (the default) or `jinja`; unset: `jinja` for a source ending in `.j2`/`.jinja`.
    pub engine: Option<String>,
    pub wait: Option<WaitConfig>,
    /// Legacy form of `exec.command` (used when that is unset).
    pub command: Option<Command>,
    /// Legacy form of `exec.timeout`; default 30s.
    pub command_timeout: Option<Duration>,
    /// ctmpl's own: run after a changed file is in place, before `command`; if it fails the
    /// previous contents are restored (e.g. `nginx -t`).
    pub check_command: Option<Command>,
    pub exec: Option<ExecConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecConfig {
    pub command: Option<Command>,
    /// Default: true when a command is set.
    pub enabled: Option<bool>,
    pub env: Option<EnvConfig>,
    /// Default SIGINT.
    pub kill_signal: Option<String>,
    /// Default 30s.
    pub kill_timeout: Option<Duration>,
    /// Unset = restart the child instead of signalling it.
    pub reload_signal: Option<String>,
    /// Default 0.
    pub splay: Option<Duration>,
    /// Default 0 for the supervised child, 30s for template commands.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvConfig {
    /// Default false: inherit our environment (filtered).
    pub pristine: Option<bool>,
    /// `K=V` entries.
    pub custom: Vec<String>,
    /// Globs; the legacy `whitelist` lands here too.
    pub allowlist: Vec<String>,
    /// Globs, winning over the allowlist; the legacy `blacklist` lands here too.
    pub denylist: Vec<String>,
}

/// A command as written. How to run it is the caller's choice; consul-template runs a single
/// string containing whitespace with `sh -c`, execs a single word directly, and treats a
/// one-element list exactly like a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `command = "nginx -s reload"`.
    Shell(String),
    /// `command = ["nginx", "-s", "reload"]`, and also a string containing commas (see
    /// [`command_from_string`]); empty when `command = ""`.
    Argv(Vec<String>),
}

/// Quiescence: wait for `min` of calm, but no longer than `max` in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitConfig {
    pub min: Option<Duration>,
    /// Unset = 4 × min.
    pub max: Option<Duration>,
}

impl WaitConfig {
    /// `(min, max)` with consul-template's defaults: min 0, max 4 × min.
    pub fn bounds(&self) -> (Duration, Duration) {
        let min = self.min.unwrap_or_default();
        (min, self.max.unwrap_or(min.saturating_mul(4)))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyslogConfig {
    /// Default: true when facility or name is set.
    pub enabled: Option<bool>,
    /// Default LOCAL0.
    pub facility: Option<String>,
    /// Default `consul-template`.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFileConfig {
    pub path: Option<String>,
    /// 0 = unlimited.
    pub log_rotate_bytes: Option<u64>,
    /// Default 24h.
    pub log_rotate_duration: Option<Duration>,
    /// -1 = delete old files.
    pub log_rotate_max_files: Option<i64>,
}

/// The signal names a config may use. `SIGNULL` (or an empty string) means "none".
pub const SIGNALS: [&str; 12] = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGWINCH",
];

/// Validates a signal name: upper-cased, checked against [`SIGNALS`]; `""` and `SIGNULL` give
/// `SIGNULL` (disabled).
pub fn signal(name: &str) -> std::result::Result<String, String> {
    let upper = name.to_ascii_uppercase();
    if upper.is_empty() || upper == "SIGNULL" {
        return Ok("SIGNULL".into());
    }
    if SIGNALS.contains(&upper.as_str()) {
        return Ok(upper);
    }
    Err(format!(
        "unknown signal {name:?} (valid: {}, SIGNULL)",
        SIGNALS.join(", ")
    ))
}

/// The nix signal for a validated name; `None` for `SIGNULL` (disabled).
pub fn to_signal(name: &str) -> Option<nix::sys::signal::Signal> {
    use nix::sys::signal::Signal::*;
    Some(match name {
        "SIGHUP" => SIGHUP,
        "SIGINT" => SIGINT,
        "SIGQUIT" => SIGQUIT,
        "SIGKILL" => SIGKILL,
        "SIGUSR1" => SIGUSR1,
        "SIGUSR2" => SIGUSR2,
        "SIGTERM" => SIGTERM,
        "SIGCHLD" => SIGCHLD,
        "SIGCONT" => SIGCONT,
        "SIGSTOP" => SIGSTOP,
        "SIGTSTP" => SIGTSTP,
        "SIGWINCH" => SIGWINCH,
        _ => return None,
    })
}

/// `MIN[:MAX]` (the `-wait` flag and `wait = "5s:10s"`): MAX defaults to 4 × MIN, must not be
/// below MIN, and neither may be negative.
pub fn parse_wait(s: &str) -> std::result::Result<WaitConfig, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("wait: cannot be empty".into());
    }
    let nanos = |p: &str| crate::duration::parse_nanos(p.trim());
    let (min, max) = match s.split(':').collect::<Vec<_>>()[..] {
        [min] => (nanos(min)?, nanos(min)?.saturating_mul(4)),
        [min, max] => (nanos(min)?, nanos(max)?),
        _ => {
            return Err(format!(
                "wait: invalid format {s:?} (expected MIN or MIN:MAX)"
            ))
        }
    };
    if min < 0 || max < 0 {
        return Err("wait: cannot be negative".into());
    }
    if max < min {
        let (min, max) = (
            crate::duration::format_nanos(min),
            crate::duration::format_nanos(max),
        );
        return Err(format!(
            "wait: max ({max}) must not be less than min ({min})"
        ));
    }
    Ok(WaitConfig {
        min: Some(Duration::from_nanos(min as u64)),
        max: Some(Duration::from_nanos(max as u64)),
    })
}

/// A command given as a string. consul-template decodes it into a list with mapstructure's
/// comma splitting, so `"a,b"` is the two-word argv `["a", "b"]` (no trimming) and `""` is an
/// empty command; any other string is kept whole.
pub fn command_from_string(s: &str) -> Command {
    if s.is_empty() {
        Command::Argv(Vec::new())
    } else if s.contains(',') {
        Command::Argv(s.split(',').map(String::from).collect())
    } else {
        Command::Shell(s.to_string())
    }
}

// ------------------------------------------------------------------------------------------------
// Merging: what a later file sets wins, field by field (consul-template's `Merge` methods);
// templates and the env lists append.

trait Merge: Sized {
    fn merge(self, other: Self) -> Self;
}

fn merge_opt<T: Merge>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.merge(b)),
        (a, b) => b.or(a),
    }
}

/// For each listed `Option` field: the other's value when it has one.
macro_rules! take_set {
    ($r:ident, $o:ident; $($f:ident),* $(,)?) => {
        $( if $o.$f.is_some() { $r.$f = $o.$f; } )*
    };
}

impl Merge for ConsulConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; address, namespace, token, token_file);
        self.auth = merge_opt(self.auth, o.auth);
        self.retry = merge_opt(self.retry, o.retry);
        self.ssl = merge_opt(self.ssl, o.ssl);
        self.transport = merge_opt(self.transport, o.transport);
        self
    }
}

impl Merge for AuthConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, username, password);
        self
    }
}

impl Merge for RetryConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, attempts, backoff, max_backoff);
        self
    }
}

impl Merge for SslConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, verify, cert, key, ca_cert, ca_cert_bytes, ca_path, server_name);
        self
    }
}

impl Merge for TransportConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; dial_keep_alive, dial_timeout, disable_keep_alives, idle_conn_timeout,
            max_idle_conns, max_idle_conns_per_host, max_conns_per_host, tls_handshake_timeout);
        self
    }
}

impl Merge for ExecConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; command, enabled, kill_signal, kill_timeout, reload_signal, splay,
            timeout);
        self.env = merge_opt(self.env, o.env);
        self
    }
}

impl Merge for EnvConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; pristine);
        self.custom.extend(o.custom);
        self.allowlist.extend(o.allowlist);
        self.denylist.extend(o.denylist);
        self
    }
}

impl Merge for WaitConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; min, max);
        self
    }
}

impl Merge for SyslogConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, facility, name);
        self
    }
}

impl Merge for LogFileConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; path, log_rotate_bytes, log_rotate_duration, log_rotate_max_files);
        self
    }
}

impl Config {
    /// `other` on top of `self`: each value `other` sets wins (inside blocks too, field by field),
    /// templates and the exec env lists are appended.
    pub fn merge(mut self, o: Config) -> Config {
        self.consul = self.consul.merge(o.consul);
        self.templates.extend(o.templates);
        self.exec = merge_opt(self.exec, o.exec);
        self.wait = merge_opt(self.wait, o.wait);
        self.syslog = merge_opt(self.syslog, o.syslog);
        self.log_file = merge_opt(self.log_file, o.log_file);
        take_set!(self, o; log_level, pid_file, kill_signal, reload_signal, max_stale,
            block_query_wait, once, parseonly, watch_templates, template_error_fatal, err_on_failed_lookup,
            default_delimiters, vault, nomad, deduplicate, status_address);
        self
    }
}
