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

/// consul-template's command line (the flags this build supports so far).
pub mod consul_template {
    use super::{parse, FlagKind};
    use crate::client::ClientConfig;
    use crate::runner::{RunConfig, RunError, TemplateSpec};

    const FLAGS: &[(&str, FlagKind)] = &[
        ("consul-addr", FlagKind::Value),
        ("consul-token", FlagKind::Value),
        ("template", FlagKind::Value),
        ("once", FlagKind::Bool),
        ("dry", FlagKind::Bool),
        ("log-level", FlagKind::Value),
        ("max-stale", FlagKind::Value),
        ("consul-retry-attempts", FlagKind::Value),
        ("consul-retry-backoff", FlagKind::Value),
        ("consul-retry-max-backoff", FlagKind::Value),
    ];

    /// Flags to a run configuration; errors are flag errors (exit 13).
    pub fn config(args: &[String]) -> Result<RunConfig, String> {
        let flags = parse(args, FLAGS).map_err(|e| e.0)?;
        if let Some(extra) = flags.args.first() {
            return Err(format!("extra args: {extra:?}"));
        }
        let mut consul = ClientConfig::from_env();
        if let Some(a) = flags.get("consul-addr") {
            consul.address = a.to_string();
        }
        if let Some(t) = flags.get("consul-token") {
            consul.token = t.to_string();
        }
        let mut config = RunConfig {
            consul: Some(consul),
            templates: flags
                .all("template")
                .iter()
                .map(|t| TemplateSpec::parse(t))
                .collect::<Result<_, _>>()?,
            once: flags.flag("once"),
            dry: flags.flag("dry"),
            ..Default::default()
        };
        let duration = |name: &str| -> Result<Option<std::time::Duration>, String> {
            flags
                .get(name)
                .map(|v| crate::duration::parse(v).map_err(|e| format!("-{name}: {e}")))
                .transpose()
        };
        if let Some(d) = duration("max-stale")? {
            config.watch.max_stale = d;
        }
        if let Some(d) = duration("consul-retry-backoff")? {
            config.watch.retry.backoff = d;
        }
        if let Some(d) = duration("consul-retry-max-backoff")? {
            config.watch.retry.max_backoff = d;
        }
        if let Some(n) = flags.get("consul-retry-attempts") {
            config.watch.retry.attempts = n
                .parse()
                .map_err(|_| format!("-consul-retry-attempts: invalid value {n:?}"))?;
        }
        Ok(config)
    }

    /// Runs consul-template's command line; the error carries the exit status.
    pub fn main(args: &[String]) -> Result<(), (i32, String)> {
        let config = config(args).map_err(|e| (13, e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| (14, e.to_string()))?;
        runtime.block_on(async {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let signals = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                signals.cancel();
            });
            crate::runner::run(config, shutdown)
                .await
                .map_err(|e: RunError| (e.exit_code(), e.to_string()))
        })
    }
}
