//! sprig's path functions: `base`, `dir`, `clean`, `ext`, `isAbs` (Go's `path`) and their `os`
//! twins (`path/filepath`, the same on Unix, where ctmpl runs). Go's lexical rules are small
//! and exact, so they are written here rather than approximated with `std::path`, which keeps
//! `..` and trailing slashes differently.

use super::sdef;
use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::{string_arg, StrFn};

pub(super) fn register(funcs: &mut FuncMap) {
    let text: [StrFn; 4] = [
        ("base", base),
        ("dir", dir),
        ("clean", clean),
        ("ext", |p| ext(p).to_string()),
    ];
    for (name, f) in text {
        let os_name = format!("os{}{}", name[..1].to_uppercase(), &name[1..]);
        for alias in [name, os_name.as_str()] {
            sdef(funcs, alias, Arity::Exact(1), move |a| {
                Ok(Value::from(f(&string_arg(&a[0])?)))
            });
        }
    }
    for name in ["isAbs", "osIsAbs"] {
        sdef(funcs, name, Arity::Exact(1), |a| {
            Ok(Value::Bool(string_arg(&a[0])?.starts_with('/')))
        });
    }
}

/// Go's `path.Clean`: one slash between elements, no `.`, `..` resolved lexically, no trailing
/// slash, `.` for an empty result.
pub(super) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            e => parts.push(e),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`: the last element, trailing slashes dropped; `.` for empty, `/` for slashes.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`: everything before the last slash, cleaned.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`: from the last dot of the last element on.
fn ext(p: &str) -> &str {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => return "",
            '.' => return &p[i..],
            _ => {}
        }
    }
    ""
}
