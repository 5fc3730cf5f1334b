//! YAML as gopkg.in/yaml.v2 reads and writes it: `emit` is `yaml.Marshal`'s output, `parse` is
//! `yaml.Unmarshal` into `interface{}`; this module holds yaml.v2's plain-scalar resolution,
//! which both sides use (YAML 1.1: `yes`/`on` are booleans, `0777` is octal).
//!
//! Our own code because no crate is byte-exact to yaml.v2: its quoting choices, key order, line
//! folding at 80 columns and YAML 1.1 resolution are libyaml's, ported here.

mod emit;
mod parse;

use std::sync::OnceLock;

use ::regex::Regex;

use crate::template::funcs::strconv::{go_parse_float, parse_int_base0};

pub(super) use emit::emit;
pub(super) use parse::parse;

/// yaml.v2's resolution of a plain scalar (YAML 1.1: `yes`/`on` are booleans, `0777` is
/// octal, timestamps stay strings when decoded into `interface{}`).
#[derive(Debug, PartialEq)]
pub(super) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A string, or a timestamp (a string too, but one that must be quoted).
    Str {
        timestamp: bool,
    },
}

pub(super) fn resolve(s: &str) -> Resolved {
    let hint = match s.as_bytes().first() {
        None => return Resolved::Null,
        Some(b'+' | b'-') => 'S',
        Some(b'0'..=b'9') => 'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => 'M',
        Some(b'.') => '.',
        _ => return Resolved::Str { timestamp: false },
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let not_str = Resolved::Str { timestamp: false };
    match hint {
        '.' => go_parse_float(s).map_or(not_str, Resolved::Float),
        'D' | 'S' => {
            if is_timestamp(s) {
                return Resolved::Str { timestamp: true };
            }
            let plain = s.replace('_', "");
            if let Some(i) = parse_int_base0(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = parse_uint_base0(&plain) {
                return Resolved::Uint(u);
            }
            if yaml_style_float(&plain) {
                if let Ok(f) = go_parse_float(&plain) {
                    return Resolved::Float(f);
                }
            }
            not_str
        }
        _ => not_str,
    }
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = match lower.as_bytes() {
        [b'0', b'x', ..] => (16, &lower[2..]),
        [b'0', b'o', ..] => (8, &lower[2..]),
        [b'0', b'b', ..] => (2, &lower[2..]),
        [b'0', _, ..] => (8, &lower[1..]),
        _ => (10, &lower[..]),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn cached(slot: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    slot.get_or_init(|| Regex::new(pattern).expect("static pattern"))
}

fn yaml_style_float(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    cached(
        &RE,
        r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
    )
    .is_match(s)
}

/// yaml.v2 quotes base 60 floats (`1:20`) for YAML 1.1 readers.
fn is_base60_float(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let first_ok = s
        .bytes()
        .next()
        .is_some_and(|c| c == b'+' || c == b'-' || c.is_ascii_digit());
    first_ok
        && s.contains(':')
        && cached(&RE, r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").is_match(s)
}

/// yaml.v2's `parseTimestamp`: `YYYY-M-D`, optionally with a time (`T`, `t` or a space).
fn is_timestamp(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = cached(
        &RE,
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$",
    );
    let Some(c) = re.captures(s) else {
        return false;
    };
    let n = |i: usize| c.get(i).map(|m| m.as_str().parse::<u32>().unwrap_or(99));
    let in_range = |i: usize, max: u32| n(i).is_none_or(|v| v <= max);
    (1..=12).contains(&n(2).unwrap_or(0))
        && (1..=31).contains(&n(3).unwrap_or(0))
        && in_range(4, 23)
        && in_range(5, 59)
        && in_range(6, 59)
        && in_range(7, 23)
        && in_range(8, 59)
        && in_range(9, 59)
}
