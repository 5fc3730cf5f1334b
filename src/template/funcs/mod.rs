//! consul-template's function library (its `template/funcs.go`), one file per family: the
//! functions that need no Consul, Vault or Nomad data. This module registers them all and holds
//! the argument helpers every family shares (`string_arg`, `int_arg`, `wrong_type`…).
//!
//! Every function follows consul-template's Go code: argument order (the piped value is the last
//! argument), results' Go types (`int` is `Value::Int`, `uint64` `Value::Uint`) and error text, so
//! the executor prints `error calling NAME: …` exactly as consul-template does. Output formats
//! that come from Go libraries (`encoding/json`, `yaml.v2`, BurntSushi's TOML, `time.Format`,
//! `strconv`, RE2's syntax) are our own code: no crate writes them byte for byte as Go does.
//! Where a crate is byte-exact (hashes, base64), it does the work.
//!
//! Go maps are references: sprig's `set` or `mergeMap` change a map that other variables see.
//! `Value::Map` is immutable and shared, so `sprig_dict` makes a [`GoMap`] object (a map behind a
//! mutex) that those functions change in place; any other map is copied and the copy returned.

mod collections;
mod encoding;
mod hashes;
mod local;
mod math;
mod regexp;
mod scratch;
mod sprig;
mod strconv;
mod strings;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::gotmpl::{printf, Arity, Func, FuncError, FuncMap, SortedMap, Value};
use scratch::go_map;

pub use local::register_env;
pub use scratch::{new_scratch, GoMap, Scratch};
pub use sprig::SPRIG_FUNCTIONS;

type Res = Result<Value, FuncError>;

type Map = SortedMap;

/// A string function and its name, for registering a family at once.
type StrFn = (&'static str, fn(&str) -> String);

/// Adds every helper (and `env`, `mustEnv`, `envOrDefault` reading the process environment) to
/// `funcs`. `scratch` is not added: the template layer makes one per execution.
pub fn register(funcs: &mut FuncMap) {
    collections::register(funcs);
    strings::register(funcs);
    regexp::register(funcs);
    strconv::register(funcs);
    encoding::register(funcs);
    hashes::register(funcs);
    math::register(funcs);
    local::register(funcs);
    register_env(funcs, Arc::new(HashMap::new()));
    sprig::register(funcs);
    declare_go_params(funcs);
}

/// The Go parameter types of consul-template's helpers (its `template/funcs.go`), so that the
/// executor checks arguments as Go does: `expected string; found 1` for a literal,
/// `wrong type for value; expected []interface {}; got []string` for a value. A function not
/// listed takes `interface {}` parameters and checks what it needs itself.
pub fn declare_go_params(funcs: &mut FuncMap) {
    const S: &str = "string";
    const ANY: &str = "interface {}";
    const PAIRS: &str = "[]*dependency.KeyPair";
    let table: &[(&str, &[&'static str], Option<&'static str>)] = &[
        ("base64Decode", &[S], None),
        ("base64Encode", &[S], None),
        ("base64URLDecode", &[S], None),
        ("base64URLEncode", &[S], None),
        ("byKey", &[PAIRS], None),
        ("byMeta", &[S, "[]*dependency.HealthService"], None),
        ("containsAll", &["[]interface {}", ANY], None),
        ("containsAny", &["[]interface {}", ANY], None),
        ("containsNone", &["[]interface {}", ANY], None),
        ("containsNotAll", &["[]interface {}", ANY], None),
        ("explode", &[PAIRS], None),
        ("explodeMap", &["map[string]interface {}"], None),
        (
            "mergeMap",
            &["map[string]interface {}", "map[string]interface {}"],
            None,
        ),
        (
            "mergeMapWithOverride",
            &["map[string]interface {}", "map[string]interface {}"],
            None,
        ),
        ("indent", &["int", S], None),
        ("join", &[S, "[]string"], None),
        ("split", &[S, S], None),
        ("splitToMap", &[S, S, S], None),
        ("trim", &[S, S], None),
        ("trimPrefix", &[S, S], None),
        ("trimSuffix", &[S, S], None),
        ("trimSpace", &[S], None),
        ("parseBool", &[S], None),
        ("parseFloat", &[S], None),
        ("parseInt", &[S], None),
        ("parseJSON", &[S], None),
        ("parseUint", &[S], None),
        ("parseYAML", &[S], None),
        ("regexMatch", &[S, S], None),
        ("regexReplaceAll", &[S, S, S], None),
        ("replaceAll", &[S, S, S], None),
        ("toLower", &[S], None),
        ("toUpper", &[S], None),
        ("toTitle", &[S], None),
        ("sha256Hex", &[S], None),
        ("md5sum", &[S], None),
        ("timestamp", &[], Some(S)),
        ("sockaddr", &[], Some(S)),
        ("plugin", &[S], Some(S)),
        ("env", &[S], None),
        ("mustEnv", &[S], None),
        ("envOrDefault", &[S, S], None),
    ];
    for (name, fixed, variadic) in table {
        funcs.set_params(name, fixed, *variadic);
    }
}

fn def<F>(funcs: &mut FuncMap, name: &str, arity: Arity, f: F)
where
    F: Fn(&[Value]) -> Res + Send + Sync + 'static,
{
    funcs.insert(name, Func::pure(arity, f));
}

fn fail<T>(msg: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError(msg.into()))
}

/// Go's `validateType` message for a parameter of type `want`.
fn wrong_type(want: &str, got: &Value) -> FuncError {
    match got {
        Value::Missing | Value::Nil => FuncError(format!("invalid value; expected {want}")),
        v => FuncError(format!(
            "wrong type for value; expected {want}; got {}",
            v.type_name()
        )),
    }
}

/// A `string` parameter. Bytes that are not UTF-8 become U+FFFD (the string functions work on
/// text).
fn string_arg(v: &Value) -> Result<Cow<'_, str>, FuncError> {
    match v {
        Value::Str(s) => Ok(Cow::Borrowed(s)),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b)),
        v => Err(wrong_type("string", v)),
    }
}

/// A `string` parameter as Go's bytes.
fn bytes_arg(v: &Value) -> Result<&[u8], FuncError> {
    v.as_bytes().ok_or_else(|| wrong_type("string", v))
}

/// An `int` parameter.
fn int_arg(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        v => Err(wrong_type("int", v)),
    }
}

/// A `[]string` parameter: a nil, a list of strings, or an object standing for one.
fn string_list_arg(v: &Value) -> Result<Vec<String>, FuncError> {
    let items = match v.resolved() {
        Value::Nil | Value::Missing => return Ok(Vec::new()),
        Value::List(items) => items,
        _ => return Err(wrong_type("[]string", v)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(_) | Value::Bytes(_) => Ok(lossy(item)),
            _ => Err(wrong_type("[]string", v)),
        })
        .collect()
}

/// A `map[string]interface{}` parameter, copied.
fn map_arg(v: &Value) -> Result<Map, FuncError> {
    if let Some(m) = go_map(v) {
        return Ok(m.snapshot());
    }
    match v.resolved() {
        Value::Map(m) => Ok((*m).clone()),
        Value::Nil | Value::Missing => Ok(Map::new()),
        _ => Err(wrong_type("map[string]interface {}", v)),
    }
}

/// The items of a list (or of an object standing for one), or `None`.
fn list_items(v: &Value) -> Option<Arc<Vec<Value>>> {
    match v.resolved() {
        Value::List(items) => Some(items),
        _ => None,
    }
}

/// A Go string's text, lossy.
fn lossy(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        v => v.to_go_string(),
    }
}

/// `fmt.Sprintf` with values, for messages.
fn sprintf(format: &str, args: &[Value]) -> String {
    lossy(&printf::sprintf(format, args))
}

/// How deep the recursive encoders and comparisons go, objects counting as a level: deeper is
/// most likely a cycle (a [`GoMap`] that holds itself), and would overflow a 2 MiB stack.
const MAX_DEPTH: usize = 400;
