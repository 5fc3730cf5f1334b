//! The sprig subset consul-template exposes, each prefixed `sprig_`: one file per family (dicts,
//! lists, strings, numbers, regex), and the conversions sprig applies everywhere (`strval`,
//! `strslice`, `empty`, reflect kind names).

mod dicts;
mod lists;
mod numbers;
mod regex;
mod strings;

use super::{def, list_items, lossy, Res};
use crate::gotmpl::{Arity, FuncMap, Value};

/// The sprig functions registered, without their `sprig_` prefix.
pub const SPRIG_FUNCTIONS: &[&str] = &[
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "keys",
    "values",
    "pluck",
    "merge",
    "default",
    "empty",
    "coalesce",
    "ternary",
    "first",
    "last",
    "rest",
    "initial",
    "uniq",
    "has",
    "without",
    "compact",
    "append",
    "push",
    "prepend",
    "concat",
    "reverse",
    "upper",
    "lower",
    "title",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "replace",
    "repeat",
    "substr",
    "trunc",
    "nospace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "join",
    "splitList",
    "split",
    "b64enc",
    "b64dec",
    "toJson",
    "toPrettyJson",
    "toString",
    "toStrings",
    "int",
    "int64",
    "float64",
    "atoi",
    "add",
    "add1",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "until",
    "untilStep",
    "seq",
    "sha256sum",
    "regexMatch",
    "regexFind",
    "regexFindAll",
    "regexReplaceAll",
    "regexSplit",
];

fn sdef<F>(funcs: &mut FuncMap, name: &str, arity: Arity, f: F)
where
    F: Fn(&[Value]) -> Res + Send + Sync + 'static,
{
    debug_assert!(
        SPRIG_FUNCTIONS.contains(&name),
        "{name} missing from SPRIG_FUNCTIONS"
    );
    def(funcs, &format!("sprig_{name}"), arity, f);
}

pub(super) fn register(funcs: &mut FuncMap) {
    dicts::register(funcs);
    lists::register(funcs);
    strings::register(funcs);
    numbers::register(funcs);
    regex::register(funcs);
}

/// Go's message for a runtime panic inside a function (text/template recovers it).
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// sprig's `empty`: the zero value of its type (a record pointer never is).
pub(super) fn sprig_empty(v: &Value) -> bool {
    match v {
        Value::Missing | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Byte(b) => *b == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(_) | Value::Bytes(_) => v.as_bytes().is_none_or(<[u8]>::is_empty),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Record(_) | Value::Func(_) => false,
        Value::Object(o) => match o.underlying() {
            Value::Missing | Value::Nil => false,
            u => sprig_empty(&u),
        },
    }
}

/// sprig's `strval`: a string as it is, anything else as `%v`.
fn strval(v: &Value) -> String {
    match v {
        Value::Missing => "<nil>".into(),
        v => lossy(v),
    }
}

/// sprig's `strslice`: a list's non-nil items as strings, nil as none, else the one value.
fn strslice(v: &Value) -> Vec<String> {
    match list_items(v) {
        Some(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil | Value::Missing))
            .map(strval)
            .collect(),
        None if matches!(v, Value::Nil | Value::Missing) => Vec::new(),
        None => vec![strval(v)],
    }
}

/// reflect's `Kind` name, for sprig's messages.
fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Missing | Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint64",
        Value::Byte(_) => "uint8",
        Value::Float(_) => "float64",
        Value::Str(_) | Value::Bytes(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Record(r) if r.ty.is_pointer() => "ptr",
        Value::Record(_) => "struct",
        Value::Func(_) => "func",
        Value::Object(o) => match o.underlying() {
            Value::Missing | Value::Nil => "ptr",
            u => kind_name(&u),
        },
    }
}
