//! Go's `flag` package rules, which every ctmpl command follows because the programs it
//! re-implements (consul-template, Consul, registrator) are Go programs parsing with `flag`:
//! one or two dashes, `-f=v` or `-f v` (a value may start with `-`), booleans only as `-f` or
//! `-f=false`, flags end at the first non-flag or `--`, and errors worded as Go words them.
//!
//! Not clap: clap has no single-dash long flags (`-consul-addr`), its boolean flags take no
//! `=false` (`-once=false`), it keeps looking for flags after the first positional argument
//! (registrator's `consul://… -ip x` must fail) and it words errors its own way; scripts written
//! for the Go tools depend on all four. The rules fit in one small function.

use std::collections::HashMap;

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    Bool,
    Value,
}

/// One flag of a command: how it is parsed, and what its usage line says. Every command's table
/// of these is the one source of its parsing, its `-h` usage and its shell completion, so a flag
/// cannot be accepted yet undocumented.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub name: &'static str,
    pub kind: FlagKind,
    /// What the value is, as the usage shows it (`-consul-addr=<address>`); empty for booleans.
    pub arg: &'static str,
    /// The value when the flag is not given, as the usage shows it; empty when there is none.
    pub default: &'static str,
    /// One line of meaning; empty for a consul-template flag ctmpl accepts only to refuse.
    pub help: &'static str,
}

impl Flag {
    /// A boolean flag (`-f`, `-f=false`), off unless given.
    pub const fn bool(name: &'static str, help: &'static str) -> Flag {
        Flag {
            name,
            kind: FlagKind::Bool,
            arg: "",
            default: "",
            help,
        }
    }

    /// A flag with a value named `arg` and `default` when not given.
    pub const fn value(
        name: &'static str,
        arg: &'static str,
        default: &'static str,
        help: &'static str,
    ) -> Flag {
        Flag {
            name,
            kind: FlagKind::Value,
            arg,
            default,
            help,
        }
    }

    /// A flag of the program ctmpl re-implements that ctmpl parses only to refuse with a reason
    /// (never to ignore); the usage lists these apart.
    pub const fn refused(name: &'static str, kind: FlagKind) -> Flag {
        Flag {
            name,
            kind,
            arg: "",
            default: "",
            help: "",
        }
    }

    pub fn is_refused(&self) -> bool {
        self.help.is_empty()
    }
}

/// Whether `args` ask for help as Go's `flag` package sees it: `-h` or `-help` (one or two
/// dashes) among the flags, reached before any parse error. The command's own parse reports
/// errors, so here they only mean "no".
pub fn wants_help(args: &[String], spec: &[Flag]) -> bool {
    let mut with_help = spec.to_vec();
    for name in ["h", "help"] {
        if !spec.iter().any(|f| f.name == name) {
            with_help.push(Flag::bool(name, "help"));
        }
    }
    parse(args, &with_help).is_ok_and(|p| p.flag("h") || p.flag("help"))
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

/// Parses `args` against `spec` (each flag's name and kind), as Go's `FlagSet.Parse` does.
pub fn parse(args: &[String], spec: &[Flag]) -> Result<Parsed, UsageError> {
    let kinds: HashMap<&str, FlagKind> = spec.iter().map(|f| (f.name, f.kind)).collect();
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
        let value = value(*kind, name, inline, args, &mut i)?;
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

/// Flag `name`'s value: a boolean's spelled as Go's `strconv.ParseBool` accepts (`true` when not
/// given), another's after `=` or else the next argument (at `*i + 1`, which is then consumed).
fn value(
    kind: FlagKind,
    name: &str,
    inline: Option<String>,
    args: &[String],
    i: &mut usize,
) -> Result<String, UsageError> {
    Ok(match (kind, inline) {
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
            *i += 1;
            match args.get(*i) {
                Some(v) => v.clone(),
                None => return Err(UsageError(format!("flag needs an argument: -{name}"))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flag_rules() {
        let spec = [
            Flag::value("data", "file", "", "data"),
            Flag::bool("once", "once"),
        ];
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

    #[test]
    fn help_is_asked_before_the_first_argument_or_error() {
        let spec = [
            Flag::value("data", "file", "", "data"),
            Flag::bool("once", "once"),
        ];
        assert!(wants_help(&strings(&["-once", "-h"]), &spec));
        assert!(wants_help(&strings(&["--help"]), &spec));
        assert!(wants_help(&strings(&["-help=true"]), &spec));
        // `-h` as a value, after the positional arguments, or after an error is not a request.
        assert!(!wants_help(&strings(&["-data", "-h"]), &spec));
        assert!(!wants_help(&strings(&["t.tmpl", "-h"]), &spec));
        assert!(!wants_help(&strings(&["-nope", "-h"]), &spec));
    }
}
