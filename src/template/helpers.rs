//! consul-template's functions that need no Consul, Vault or Nomad data: collections, strings,
//! parsing and encoding, math, `scratch`, the local process functions (`env`, `timestamp`,
//! `plugin`, `writeToFile`, `spew_*`, `sockaddr`) and a sprig subset.
//!
//! Every function follows consul-template's Go code: argument order (the piped value is the last
//! argument), results' Go types (`int` is `Value::Int`, `uint64` `Value::Uint`) and error text, so
//! the executor prints `error calling NAME: …` exactly as consul-template does. Output formats
//! that come from Go libraries (`encoding/json`, `yaml.v2`, BurntSushi's TOML, `time.Format`,
//! `strconv`) are re-implemented here byte for byte where it matters.
//!
//! Go maps are references: sprig's `set` or `mergeMap` change a map that other variables see.
//! `Value::Map` is immutable and shared, so `sprig_dict` makes a [`GoMap`] object (a map behind a
//! mutex) that those functions change in place; any other map is copied and the copy returned.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

use crate::gotmpl::printf;
use crate::gotmpl::{Arity, Func, FuncError, FuncMap, Object, Record, Value};

type Res = Result<Value, FuncError>;
type Map = BTreeMap<Arc<str>, Value>;
/// A string function and its name, for registering a family at once.
type StrFn = (&'static str, fn(&str) -> String);

/// Adds every helper (and `env`, `mustEnv`, `envOrDefault` reading the process environment) to
/// `funcs`. `scratch` is not added: the template layer makes one per execution.
pub fn register(funcs: &mut FuncMap) {
    register_collections(funcs);
    register_strings(funcs);
    register_parse_encode(funcs);
    register_math(funcs);
    register_local(funcs);
    register_env(funcs, Arc::new(HashMap::new()));
    register_sprig(funcs);
}

/// Adds `env`, `mustEnv` and `envOrDefault`; `overrides` (the runner's variables) take
/// precedence over the process environment.
pub fn register_env(funcs: &mut FuncMap, overrides: Arc<HashMap<String, String>>) {
    let process = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let o = overrides.clone();
    def(funcs, "env", Arity::Exact(1), move |a| {
        let name = string_arg(&a[0])?;
        let value = o.get(&*name).cloned().or_else(|| process(&name));
        Ok(Value::from(value.unwrap_or_default()))
    });
    // An empty runner value falls back to the process's, which must not be empty either.
    let o = overrides.clone();
    def(funcs, "mustEnv", Arity::Exact(1), move |a| {
        let name = string_arg(&a[0])?;
        let value = o.get(&*name).filter(|v| !v.is_empty()).cloned();
        match value.or_else(|| process(&name)) {
            Some(v) if !v.is_empty() => Ok(Value::from(v)),
            _ => fail(format!("required environment variable {name} is empty")),
        }
    });
    // The default only when the variable is unset: an empty value is returned as it is.
    def(funcs, "envOrDefault", Arity::Exact(2), move |a| {
        let name = string_arg(&a[0])?;
        let default = string_arg(&a[1])?;
        let value = overrides.get(&*name).cloned().or_else(|| process(&name));
        Ok(Value::from(value.unwrap_or_else(|| default.into_owned())))
    });
}

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

// ------------------------------------------------------------------------------------------------
// Arguments and errors

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

/// The Go type of a list whose items are all records of one type (`[]*dependency.KeyPair`).
fn list_type_name(v: &Value) -> String {
    let Some(items) = list_items(v) else {
        return v.type_name();
    };
    let first = match items.first() {
        Some(Value::Record(r)) => r.ty.name.clone(),
        _ => return v.type_name(),
    };
    let same = items
        .iter()
        .all(|i| matches!(i, Value::Record(r) if r.ty.name == first));
    if same {
        format!("[]{first}")
    } else {
        v.type_name()
    }
}

/// A record's field, or a map's key.
fn field_of(item: &Value, name: &str) -> Option<Value> {
    match item.resolved() {
        Value::Record(r) => r.field(name).cloned(),
        Value::Map(m) => m.get(name).cloned(),
        _ => None,
    }
}

/// The records of a list argument that Go types as `[]*T` (nil is an empty list).
fn records_arg(v: &Value, want: &str) -> Result<Vec<Arc<Record>>, FuncError> {
    let items = match v.resolved() {
        Value::Nil | Value::Missing => return Ok(Vec::new()),
        Value::List(items) => items,
        _ => return Err(wrong_type(want, v)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Record(r) => Ok(r.clone()),
            _ => Err(wrong_type(want, v)),
        })
        .collect()
}

/// `fmt.Sprintf` with values, for messages.
fn sprintf(format: &str, args: &[Value]) -> String {
    lossy(&printf::sprintf(format, args))
}

/// Go's `%q` of a `reflect.Value` and `%T` of the interface, as consul-template's math errors
/// print an operand.
fn q_and_t(v: &Value) -> (String, String) {
    match v {
        Value::Nil | Value::Missing => ("<invalid reflect.Value>".into(), "<nil>".into()),
        v => (sprintf("%q", std::slice::from_ref(v)), v.type_name()),
    }
}

/// Go's message for a runtime panic inside a function (text/template recovers it).
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";
const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

// ------------------------------------------------------------------------------------------------
// Collections (§3.6)

fn register_collections(funcs: &mut FuncMap) {
    def(funcs, "byKey", Arity::Exact(1), |a| by_key(&a[0]));
    def(funcs, "byTag", Arity::Exact(1), |a| by_tag(&a[0]));
    def(funcs, "byPort", Arity::Exact(1), |a| by_port(&a[0]));
    def(funcs, "byMeta", Arity::Exact(2), |a| {
        by_meta(&string_arg(&a[0])?, &a[1])
    });
    def(funcs, "contains", Arity::Exact(2), |a| {
        Ok(go_in(&a[1], &a[0])?.into())
    });
    def(funcs, "in", Arity::Exact(2), |a| {
        Ok(go_in(&a[0], &a[1])?.into())
    });
    // (returned when the loop ends, invert the membership test)
    for (name, ret_true, invert) in [
        ("containsAll", true, true),
        ("containsAny", false, false),
        ("containsNone", true, false),
        ("containsNotAll", false, true),
    ] {
        def(funcs, name, Arity::Exact(2), move |a| {
            contains_some(&a[0], &a[1], ret_true, invert)
        });
    }
    def(funcs, "explode", Arity::Exact(1), |a| explode(&a[0]));
    def(funcs, "explodeMap", Arity::Exact(1), |a| explode_map(&a[0]));
    def(funcs, "mergeMap", Arity::Exact(2), |a| {
        merge_map(&a[0], &a[1], false)
    });
    def(funcs, "mergeMapWithOverride", Arity::Exact(2), |a| {
        merge_map(&a[0], &a[1], true)
    });
    def(funcs, "loop", Arity::AtLeast(0), go_loop);
    def(funcs, "join", Arity::Exact(2), |a| {
        let sep = string_arg(&a[0])?;
        Ok(Value::from(string_list_arg(&a[1])?.join(&sep)))
    });
    def(funcs, "split", Arity::Exact(2), |a| {
        let s = string_arg(&a[1])?;
        let s = s.trim();
        if s.is_empty() {
            return Ok(Value::list(Vec::new()));
        }
        let parts = go_split(s, &string_arg(&a[0])?);
        Ok(Value::list(parts.into_iter().map(Value::str).collect()))
    });
    def(funcs, "splitToMap", Arity::Exact(3), |a| {
        let (sep1, sep2) = (string_arg(&a[0])?, string_arg(&a[1])?);
        let s = string_arg(&a[2])?;
        let mut m = Map::new();
        let s = s.trim();
        if !s.is_empty() {
            for item in go_split(s, &sep1) {
                if let Some((k, v)) = item.split_once(&*sep2) {
                    m.insert(k.into(), Value::str(v));
                }
            }
        }
        Ok(Value::Map(Arc::new(m)))
    });
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
    }
    s.split(sep).collect()
}

fn by_key(pairs: &Value) -> Res {
    let mut out: BTreeMap<Arc<str>, Map> = BTreeMap::new();
    for pair in records_arg(pairs, "[]*dependency.KeyPair")? {
        let key = pair.field("Key").map(lossy).unwrap_or_default();
        let Some((top, rest)) = key.split_once('/') else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        let mut copy = (*pair).clone();
        if let Some(i) = copy.ty.field_index("Key") {
            copy.values[i] = Value::str(rest);
        }
        out.entry(top.into())
            .or_default()
            .insert(rest.into(), Value::Record(Arc::new(copy)));
    }
    Ok(Value::map(
        out.into_iter().map(|(k, m)| (k, Value::Map(Arc::new(m)))),
    ))
}

/// Groups `items` by the keys `keys_of` gives each (in order, repeats included).
fn group_by(items: &[Value], keys_of: impl Fn(&Value) -> Vec<String>) -> Value {
    let mut groups: BTreeMap<Arc<str>, Vec<Value>> = BTreeMap::new();
    for item in items {
        for key in keys_of(item) {
            groups.entry(key.into()).or_default().push(item.clone());
        }
    }
    Value::map(groups.into_iter().map(|(k, v)| (k, Value::list(v))))
}

/// The items of a list of records that all have `field` (nil is empty); `None` otherwise.
fn records_with(v: &Value, field: &str) -> Option<Vec<Value>> {
    match v.resolved() {
        Value::Nil | Value::Missing => Some(Vec::new()),
        Value::List(items) => {
            let ok = items
                .iter()
                .all(|i| matches!(i, Value::Record(r) if r.field(field).is_some()));
            ok.then(|| items.to_vec())
        }
        _ => None,
    }
}

fn by_tag(list: &Value) -> Res {
    let Some(items) = records_with(list, "Tags") else {
        return fail(format!(
            "byTag: wrong argument type {}",
            list_type_name(list)
        ));
    };
    Ok(group_by(&items, |item| {
        let tags = field_of(item, "Tags").and_then(|t| list_items(&t));
        tags.map(|t| t.iter().map(lossy).collect())
            .unwrap_or_default()
    }))
}

/// Go's map is keyed by `int`; here keys are the decimal strings (sorted as strings).
fn by_port(list: &Value) -> Res {
    let Some(items) = records_with(list, "Port") else {
        return fail(format!(
            "byPort: wrong argument type {}",
            list_type_name(list)
        ));
    };
    Ok(group_by(&items, |item| {
        vec![field_of(item, "Port")
            .map(|p| lossy(&p))
            .unwrap_or_default()]
    }))
}

fn by_meta(meta: &str, services: &Value) -> Res {
    let keys: Vec<&str> = meta.split(',').collect();
    let mut groups: BTreeMap<Arc<str>, Vec<Value>> = BTreeMap::new();
    for svc in records_arg(services, "[]*dependency.HealthService")? {
        let sm = svc.field("ServiceMeta").cloned().unwrap_or(Value::Nil);
        let mut parts = Vec::with_capacity(keys.len());
        for key in &keys {
            parts.push(normalize_meta(&meta_value(&sm, key)?));
        }
        let svc = Value::Record(svc);
        groups.entry(parts.join("_").into()).or_default().push(svc);
    }
    Ok(Value::map(
        groups.into_iter().map(|(k, v)| (k, Value::list(v))),
    ))
}

/// One part of a `byMeta` key: the meta value, its default, or (`|int`) a zero-padded number.
fn meta_value(sm: &Value, key: &str) -> Result<String, FuncError> {
    let real = key.strip_suffix("|int");
    let name = real.unwrap_or(key);
    let value = field_of(sm, name).map(|v| lossy(&v)).unwrap_or_default();
    let value = match (value.is_empty(), real.is_some()) {
        (false, _) => value,
        (true, true) => "0".to_string(),
        (true, false) => format!("_no_{name}_"),
    };
    if real.is_none() {
        return Ok(value);
    }
    match go_parse_int(&value, "Atoi") {
        Ok(i) => Ok(format!("{i:05}")),
        Err(e) => fail(format!("cannot parse {value} as number : {e}")),
    }
}

fn normalize_meta(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// reflect's message when a nil value's type is asked for (Go panics; templates report it).
const ZERO_VALUE_TYPE: &str = "reflect: call of reflect.Value.Type on zero Value";

/// consul-template's `in`: element equality for ints, floats and strings, or a substring test.
fn go_in(list: &Value, v: &Value) -> Result<bool, FuncError> {
    let nil = matches!(v, Value::Nil | Value::Missing);
    match list.resolved() {
        Value::List(items) => {
            for item in items.iter() {
                let found = match (item, v) {
                    (Value::Int(a), Value::Int(b)) => a == b,
                    (Value::Float(a), Value::Float(b)) => a == b,
                    (Value::Str(_) | Value::Bytes(_), _) if nil => return fail(ZERO_VALUE_TYPE),
                    (Value::Str(_) | Value::Bytes(_), Value::Str(_) | Value::Bytes(_)) => {
                        item.as_bytes() == v.as_bytes()
                    }
                    _ => false,
                };
                if found {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Value::Str(_) | Value::Bytes(_) if nil => fail(ZERO_VALUE_TYPE),
        hay @ (Value::Str(_) | Value::Bytes(_)) => Ok(match v.as_bytes() {
            Some(needle) => bytes_contain(hay.as_bytes().unwrap_or_default(), needle),
            None => false,
        }),
        _ => Ok(false),
    }
}

fn bytes_contain(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn contains_some(needles: &Value, list: &Value, ret_true: bool, invert: bool) -> Res {
    let needles = match needles {
        Value::List(items) => items.clone(),
        Value::Nil => Arc::new(Vec::new()),
        v => return Err(wrong_type("[]interface {}", v)),
    };
    for needle in needles.iter() {
        if go_in(list, needle)? != invert {
            return Ok(Value::Bool(!ret_true));
        }
    }
    Ok(Value::Bool(ret_true))
}

fn explode(pairs: &Value) -> Res {
    let mut m = Map::new();
    for pair in records_arg(pairs, "[]*dependency.KeyPair")? {
        let key = pair.field("Key").map(lossy).unwrap_or_default();
        let value = pair.field("Value").cloned().unwrap_or(Value::str(""));
        explode_insert(&mut m, &key, value, &key).map_err(|e| format!("explode: {e}"))?;
    }
    Ok(Value::Map(Arc::new(m)))
}

fn explode_map(input: &Value) -> Res {
    let mut m = Map::new();
    for (k, v) in map_arg(input)? {
        explode_insert(&mut m, &k, v, &k).map_err(|e| format!("explodeMap: {e}"))?;
    }
    Ok(Value::Map(Arc::new(m)))
}

/// consul-template's `explodeHelper`: `p` is the key one level up, for the message.
fn explode_insert(m: &mut Map, k: &str, v: Value, p: &str) -> Result<(), String> {
    let Some((top, rest)) = k.split_once('/') else {
        if !k.is_empty() {
            m.insert(k.into(), v);
        }
        return Ok(());
    };
    let entry = m
        .entry(top.into())
        .or_insert_with(|| Value::Map(Arc::default()));
    match entry {
        Value::Map(nest) => explode_insert(Arc::make_mut(nest), rest, v, k),
        other => Err(sprintf(
            "not a map: %q: %q already has value %q",
            &[Value::str(p), Value::str(top), other.clone()],
        )),
    }
}

/// mergo's `Map` into `dst` (a [`GoMap`] is changed in place): keys missing or empty in `dst`
/// take `src`'s value; with `overwrite`, non-empty `src` values win. Nested maps merge deeply.
fn merge_map(dst: &Value, src: &Value, overwrite: bool) -> Res {
    let src = map_arg(src)?;
    with_map_mut(dst, |m| merge_into(m, &src, overwrite))
}

fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    merge_level(dst, src, overwrite, 0);
}

fn merge_level(dst: &mut Map, src: &Map, overwrite: bool, depth: usize) {
    for (k, sv) in src {
        let Some(dv) = dst.get_mut(k) else {
            dst.insert(k.clone(), sv.clone());
            continue;
        };
        // A map that holds itself would merge forever; Go would never return either.
        if is_map(dv) && is_map(sv) && depth < MAX_DEPTH {
            let sm = map_arg(sv).unwrap_or_default();
            map_in_place(dv, |m| merge_level(m, &sm, overwrite, depth + 1));
        } else if sprig_empty(dv) || (overwrite && !sprig_empty(sv)) {
            *dv = sv.clone();
        }
    }
}

/// How deep the recursive encoders and comparisons go, objects counting as a level: deeper is
/// most likely a cycle (a [`GoMap`] that holds itself), and would overflow a 2 MiB stack.
const MAX_DEPTH: usize = 400;

/// Changes the map `v` (a plain map or a [`GoMap`]) where it is.
fn map_in_place(v: &mut Value, f: impl FnOnce(&mut Map)) {
    match v {
        Value::Map(m) => f(Arc::make_mut(m)),
        v => {
            let _ = with_map_mut(v, f);
        }
    }
}

/// Runs `f` on the map `v`: in place for a [`GoMap`] (returned as it is), else on a copy that
/// is returned. The lock is not held while `f` runs, so a map that holds itself cannot
/// deadlock.
fn with_map_mut(v: &Value, f: impl FnOnce(&mut Map)) -> Res {
    if let Some(m) = go_map(v) {
        let mut copy = m.snapshot();
        f(&mut copy);
        *m.lock() = copy;
        return Ok(v.clone());
    }
    let mut copy = map_arg(v)?;
    f(&mut copy);
    Ok(Value::Map(Arc::new(copy)))
}

/// The most items `loop` makes: Go streams them through a channel, we build a list.
const LOOP_LIMIT: i64 = 10_000_000;

fn go_loop(args: &[Value]) -> Res {
    let (start, stop) = match args {
        [stop] => (0, loop_int(stop)?),
        [start, stop] => (loop_int(start)?, loop_int(stop)?),
        _ => {
            return fail(format!(
                "loop: wrong number of arguments, expected 1 or 2, but got {}",
                args.len()
            ))
        }
    };
    if stop.saturating_sub(start) > LOOP_LIMIT {
        return fail(format!("loop: more than {LOOP_LIMIT} iterations"));
    }
    Ok(Value::list(
        (start..stop.max(start)).map(Value::Int).collect(),
    ))
}

fn loop_int(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Uint(u) => Ok(*u as i64),
        Value::Byte(b) => Ok(i64::from(*b)),
        Value::Str(_) | Value::Bytes(_) => parse_int_empty_zero(&lossy(v)),
        v => fail(format!("loop: bad argument type: {}", v.type_name())),
    }
}

/// consul-template's `parseInt`: "" is 0, errors are wrapped.
fn parse_int_empty_zero(s: &str) -> Result<i64, FuncError> {
    if s.is_empty() {
        return Ok(0);
    }
    go_parse_int(s, "ParseInt").map_err(|e| FuncError(format!("parseInt: {e}")))
}

// ------------------------------------------------------------------------------------------------
// Strings

fn register_strings(funcs: &mut FuncMap) {
    let unary: [StrFn; 4] = [
        ("toLower", go_to_lower),
        ("toUpper", go_to_upper),
        ("toTitle", title_no_lower),
        ("trimSpace", |s| s.trim().to_string()),
    ];
    for (name, f) in unary {
        def(funcs, name, Arity::Exact(1), move |a| {
            Ok(Value::from(f(&string_arg(&a[0])?)))
        });
    }
    def(funcs, "trim", Arity::Exact(2), |a| {
        let cutset = string_arg(&a[0])?;
        let s = string_arg(&a[1])?;
        Ok(Value::str(s.trim_matches(|c| cutset.contains(c))))
    });
    def(funcs, "trimPrefix", Arity::Exact(2), |a| {
        let (p, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::str(s.strip_prefix(&*p).unwrap_or(&s)))
    });
    def(funcs, "trimSuffix", Arity::Exact(2), |a| {
        let (p, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::str(s.strip_suffix(&*p).unwrap_or(&s)))
    });
    def(funcs, "replaceAll", Arity::Exact(3), |a| {
        let (from, to) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::from(string_arg(&a[2])?.replace(&*from, &to)))
    });
    def(funcs, "regexReplaceAll", Arity::Exact(3), |a| {
        let re = go_regex(&string_arg(&a[0])?).map_err(FuncError)?;
        let repl = string_arg(&a[1])?;
        Ok(Value::from(go_replace_all(&re, &string_arg(&a[2])?, &repl)))
    });
    def(funcs, "regexMatch", Arity::Exact(2), |a| {
        let re = go_regex(&string_arg(&a[0])?).map_err(FuncError)?;
        Ok(Value::Bool(re.is_match(&string_arg(&a[1])?)))
    });
    def(funcs, "indent", Arity::Exact(2), |a| {
        let n = int_arg(&a[0])?;
        if n < 0 {
            return fail("indent value must be a positive integer");
        }
        let s = bytes_arg(&a[1])?;
        check_size(n, s.len())?;
        Ok(Value::from_bytes(&indent_lines(n as usize, s)))
    });
}

/// The largest string a padding function builds (Go would run out of memory instead).
const MAX_OUTPUT: usize = 1 << 30;

/// Refuses padding `n` times over a string of `len` bytes that would pass [`MAX_OUTPUT`].
fn check_size(n: i64, len: usize) -> Result<(), FuncError> {
    let total = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(len.max(1)));
    match total {
        Some(t) if t <= MAX_OUTPUT => Ok(()),
        _ => fail("runtime error: makeslice: len out of range"),
    }
}

/// consul-template's `indent`: every line that is not empty gets `n` spaces.
fn indent_lines(n: usize, s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + n * 4);
    let mut line_start = true;
    for &c in s {
        if line_start && c != b'\n' {
            out.resize(out.len() + n, b' ');
        }
        out.push(c);
        line_start = c == b'\n';
    }
    out
}

/// Go's `strings.ToLower`: Unicode simple case mapping, one character for one.
fn go_to_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

fn go_to_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        // Only U+0130 lowers to two characters; its simple mapping is the first.
        (Some(l), Some(_)) => l,
        _ => c,
    }
}

fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        // A multi-character uppercase (ß → SS) has no simple mapping: Go keeps the character.
        _ => c,
    }
}

/// Unicode title case of one character (upper case except for the digraphs).
fn title_char(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        c => simple_upper(c),
    }
}

/// `cases.Title(language.Und, cases.NoLower)`: the first letter of each word in title case, the
/// rest untouched. Words are runs of letters, digits, marks and `_` (a word may start with
/// digits: `3rd` → `3Rd`), joined by an apostrophe, a period, a colon or a middle dot between
/// letters (Unicode's word break rules, which x/text follows).
fn title_no_lower(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let (mut in_word, mut titled) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() || c == '_' || is_mark(c) {
            if !in_word {
                (in_word, titled) = (true, false);
            }
            if c.is_alphabetic() && !titled {
                push_full_title(&mut out, c);
                titled = true;
                continue;
            }
        } else {
            let mid = matches!(c, '\'' | '’' | '.' | ':' | '·');
            let next_letter = chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
            let prev_letter = i > 0 && chars[i - 1].is_alphabetic();
            in_word = in_word && mid && prev_letter && next_letter;
        }
        out.push(c);
    }
    out
}

/// Full title case (x/text uses Unicode's special casing): `ﬁ` → `Fi`, `ß` → `Ss`.
fn push_full_title(out: &mut String, c: char) {
    let upper: Vec<char> = c.to_uppercase().collect();
    match upper.as_slice() {
        [_] | [] => out.push(title_char(c)),
        [first, rest @ ..] => {
            out.push(*first);
            out.extend(rest.iter().flat_map(|r| r.to_lowercase()));
        }
    }
}

/// Combining marks (the common blocks): they extend a word.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

// ------------------------------------------------------------------------------------------------
// Go regular expressions on the `regex` crate

/// Compiles a Go (RE2) pattern: Perl classes and `\b` are ASCII as in Go, `\Q…\E` and octal
/// escapes are rewritten, and errors read as Go's. Compiled patterns are cached.
fn go_regex(pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let rewritten = rewrite_re2(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    let re = Regex::new(&rewritten).map_err(|e| go_regex_error(pattern, &rewritten, &e))?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 512 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// Rewrites Go's syntax into the `regex` crate's with the same meaning, refusing what Go
/// refuses and the `regex` crate would accept (other flags, nested repetition).
fn rewrite_re2(p: &str) -> Result<String, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut in_class = false;
    // Where the repetition just read starts, and whether it is already lazy.
    let mut quant: Option<(usize, bool)> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if !in_class {
            let len = repetition_len(&chars[i - 1..]);
            if len > 0 {
                quant = match quant {
                    Some((start, false)) if c == '?' => Some((start, true)),
                    Some((start, _)) => {
                        let op: String = chars[start..i - 1 + len].iter().collect();
                        return Err(format!("invalid nested repetition operator: `{op}`"));
                    }
                    None => Some((i - 1, false)),
                };
                out.extend(&chars[i - 1..i - 1 + len]);
                i += len - 1;
                continue;
            }
            quant = None;
            if c == '(' && chars.get(i) == Some(&'?') {
                check_group_flags(&chars, i - 1)?;
            }
        }
        match c {
            '\\' => i = rewrite_escape(&chars, i, in_class, &mut out),
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if chars.get(i) == Some(&':') => {
                // A POSIX class `[:alpha:]` inside a class.
                let end = chars[i..]
                    .windows(2)
                    .position(|w| w == [':', ']'])
                    .map_or(chars.len(), |e| i + e + 2);
                out.extend(&chars[i - 1..end]);
                i = end;
            }
            // Go reads these literally in a class; the `regex` crate nests classes and has set
            // operators.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            // Not a repetition (see above), so a literal in Go.
            '{' if !in_class => out.push_str("\\{"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The length of a repetition operator at the start of `s`: `*`, `+`, `?` or a valid `{n}`,
/// `{n,}`, `{n,m}` (any other `{` is a literal in Go); 0 if none.
fn repetition_len(s: &[char]) -> usize {
    match s.first() {
        Some('*' | '+' | '?') => 1,
        Some('{') => {
            let Some(end) = s.iter().position(|&c| c == '}') else {
                return 0;
            };
            let inner: String = s[1..end].iter().collect();
            let (lo, hi) = inner.split_once(',').unwrap_or((&inner, "0"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            if digits(lo) && (hi.is_empty() || digits(hi)) {
                end + 1
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Go accepts only the flags `i`, `m`, `s`, `U` (and `-`) in `(?flags)` and `(?flags:…)`, and
/// named groups `(?P<name>…)`, `(?<name>…)`.
fn check_group_flags(chars: &[char], open: usize) -> Result<(), String> {
    let mut j = open + 2;
    if matches!(chars.get(j), Some('P' | '<')) {
        return Ok(());
    }
    while let Some(&c) = chars.get(j) {
        match c {
            ':' | ')' => return Ok(()),
            'i' | 'm' | 's' | 'U' | '-' => j += 1,
            _ => break,
        }
    }
    let end = (j + 1).min(chars.len());
    let text: String = chars[open..end].iter().collect();
    Err(format!("invalid or unsupported Perl syntax: `{text}`"))
}

/// Rewrites the escape whose character is at `chars[i]`; returns the index after it.
fn rewrite_escape(chars: &[char], mut i: usize, in_class: bool, out: &mut String) -> usize {
    let Some(&e) = chars.get(i) else {
        out.push('\\');
        return i;
    };
    i += 1;
    let class = match e {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => "[\\t\\n\\f\\r ]",
        'S' => "[^\\t\\n\\f\\r ]",
        'b' if !in_class => "(?-u:\\b)",
        'B' if !in_class => "(?-u:\\B)",
        _ => "",
    };
    if !class.is_empty() {
        out.push_str(class);
        return i;
    }
    match e {
        'Q' if !in_class => {
            let rest: String = chars[i..].iter().collect();
            let (lit, consumed) = match rest.find("\\E") {
                Some(end) => (&rest[..end], rest[..end].chars().count() + 2),
                None => (&rest[..], rest.chars().count()),
            };
            out.push_str(&regex::escape(lit));
            i + consumed
        }
        '0'..='7' if e == '0' || chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) => {
            // Octal: `\0` or a digit followed by more octal digits (up to three in all).
            let mut v = e as u32 - '0' as u32;
            let mut n = 1;
            while n < 3 && chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) {
                v = v * 8 + (chars[i] as u32 - '0' as u32);
                i += 1;
                n += 1;
            }
            let _ = write!(out, "\\x{{{v:x}}}");
            i
        }
        'x' | 'p' | 'P' if chars.get(i) == Some(&'{') => {
            // `\x{41}`, `\p{Greek}`: copied whole.
            let end = chars[i..]
                .iter()
                .position(|&c| c == '}')
                .map_or(chars.len(), |e| i + e + 1);
            out.push('\\');
            out.push(e);
            out.extend(&chars[i..end]);
            end
        }
        e => {
            out.push('\\');
            out.push(e);
            i
        }
    }
}

/// Go's `regexp.Compile` error for a pattern the `regex` crate refused.
fn go_regex_error(pattern: &str, rewritten: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let desc = text
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(&text)
        .trim();
    // The span the `regex` crate marks, valid when nothing was rewritten before it.
    let span = caret_span(&text).filter(|_| pattern == rewritten);
    let spanned = |whole_tail: bool| -> String {
        let chars: Vec<char> = pattern.chars().collect();
        match span {
            Some((s, _)) if whole_tail && s <= chars.len() => chars[s..].iter().collect(),
            Some((s, e)) if e <= chars.len() => chars[s..e].iter().collect(),
            _ => pattern.to_string(),
        }
    };
    let (code, expr) = match desc {
        "unclosed group" => ("missing closing )", pattern.to_string()),
        "unopened group" => ("unexpected )", pattern.to_string()),
        "unclosed character class" => ("missing closing ]", spanned(true)),
        "repetition operator missing expression" => {
            ("missing argument to repetition operator", spanned(false))
        }
        "unrecognized escape sequence" | "backreferences are not supported" => {
            ("invalid escape sequence", spanned(false))
        }
        d if d.starts_with("invalid repetition count") => ("invalid repeat count", spanned(false)),
        d if d.starts_with("invalid character class range") => {
            ("invalid character class range", spanned(false))
        }
        d => (d, pattern.to_string()),
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

/// The character range marked by `^`s under the pattern in a `regex` crate error.
fn caret_span(text: &str) -> Option<(usize, usize)> {
    let line = text.lines().find(|l| {
        l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^' || c == ' ')
    })?;
    let line = line.strip_prefix("    ")?;
    let start = line.find('^')?;
    let len = line[start..].chars().take_while(|&c| c == '^').count();
    Some((start, start + len))
}

/// The matches Go's `FindAll` reports: an empty match right after a match is skipped.
fn go_find_all(re: &Regex, s: &str, limit: Option<usize>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut pos, mut prev_end) = (0usize, None);
    while pos <= s.len() && limit.is_none_or(|n| out.len() < n) {
        let Some(m) = re.find_at(s, pos) else { break };
        let accept = !(m.end() == m.start() && Some(m.start()) == prev_end);
        pos = if m.end() == pos {
            pos + s[pos..].chars().next().map_or(1, char::len_utf8)
        } else {
            m.end()
        };
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `ReplaceAllString`: `$1`, `${name}` and `$$` in `repl` as Go expands them.
fn go_replace_all(re: &Regex, s: &str, repl: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut last_end, mut search) = (0usize, 0usize);
    while search <= s.len() {
        let Some(caps) = re.captures_at(s, search) else {
            break;
        };
        let m = caps.get(0).expect("group 0 always matches");
        out.push_str(&s[last_end..m.start()]);
        // No replacement for an empty match right after another match.
        if m.end() > last_end || m.start() == 0 {
            caps.expand(repl, &mut out);
        }
        last_end = m.end();
        let width = s[search..].chars().next().map_or(1, char::len_utf8);
        search = if search + width > m.end() {
            search + width
        } else {
            m.end()
        };
    }
    out.push_str(&s[last_end.min(s.len())..]);
    out
}

/// Go's `Regexp.Split`.
fn go_regex_split<'a>(re: &Regex, s: &'a str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![""];
    }
    let limit = usize::try_from(n).ok();
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (start, stop) in go_find_all(re, s, limit) {
        if limit.is_some_and(|n| parts.len() == n - 1) {
            break;
        }
        end = start;
        if stop != 0 {
            parts.push(&s[beg..end]);
        }
        beg = stop;
    }
    if end != s.len() {
        parts.push(&s[beg..]);
    }
    parts
}

// ------------------------------------------------------------------------------------------------
// Go's strconv

fn num_error(func: &str, s: &str, what: &str) -> String {
    format!("strconv.{func}: parsing {}: {what}", printf::quote(s))
}

/// `strconv.ParseUint(s, base, bits)` for base 8 or 10; `func` names the caller in messages.
fn go_parse_uint(s: &str, base: u32, bits: u32, func: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err(num_error(func, s, "invalid syntax"));
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    for c in s.chars() {
        let d = c.to_digit(10).filter(|&d| d < base);
        let Some(d) = d else {
            return Err(num_error(func, s, "invalid syntax"));
        };
        match n
            .checked_mul(u64::from(base))
            .and_then(|n| n.checked_add(u64::from(d)))
        {
            Some(v) if v <= max => n = v,
            _ => return Err(num_error(func, s, "value out of range")),
        }
    }
    Ok(n)
}

/// `strconv.ParseInt(s, 10, 64)` (and `Atoi`, whose messages say `Atoi`).
fn go_parse_int(s: &str, func: &str) -> Result<i64, String> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(digits, 10, 64, func).map_err(|e| {
        // The message quotes the whole input, sign included.
        let what = if e.ends_with("value out of range") {
            "value out of range"
        } else {
            "invalid syntax"
        };
        num_error(func, s, what)
    })?;
    let limit = if neg { 1u64 << 63 } else { (1u64 << 63) - 1 };
    if u > limit {
        return Err(num_error(func, s, "value out of range"));
    }
    Ok(if neg {
        (u as i64).wrapping_neg()
    } else {
        u as i64
    })
}

fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(num_error("ParseBool", s, "invalid syntax")),
    }
}

/// `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, `_` between digits, `inf`,
/// `infinity` and `nan`; a value too large is a range error.
fn go_parse_float(s: &str) -> Result<f64, String> {
    let syntax = || num_error("ParseFloat", s, "invalid syntax");
    if let Some(special) = float_special(s) {
        return Ok(special);
    }
    let plain;
    let mut t = s;
    if s.contains('_') {
        if !underscore_ok(s) {
            return Err(syntax());
        }
        plain = s.replace('_', "");
        t = &plain;
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.starts_with("0x") || body.starts_with("0X") {
        parse_hex_float(&body[2..]).ok_or_else(syntax)?
    } else {
        let valid = body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
            && body
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'.');
        if !valid {
            return Err(syntax());
        }
        body.parse::<f64>().map_err(|_| syntax())?
    };
    if v.is_infinite() {
        return Err(num_error("ParseFloat", s, "value out of range"));
    }
    Ok(if neg { -v } else { v })
}

/// Go's `special`: `[+-]inf`, `[+-]infinity` and `nan`, any case.
fn float_special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, rest) = match lower.as_bytes().first() {
        Some(b'-') => (-1.0, &lower[1..]),
        Some(b'+') => (1.0, &lower[1..]),
        _ => (1.0, &lower[..]),
    };
    match rest {
        "inf" | "infinity" => Some(sign * f64::INFINITY),
        "nan" if rest.len() == lower.len() => Some(f64::NAN),
        _ => None,
    }
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.trim_start_matches(['+', '-']).as_bytes();
    let (mut saw, mut i) = ('^', 0);
    let hex = b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'b' | b'o');
    if hex {
        i = 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

/// A hexadecimal float after `0x`: mantissa digits, an optional point, and a `p` exponent
/// (which Go requires).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = i32::try_from(frac.len())
        .unwrap_or(i32::MAX)
        .saturating_mul(4);
    Some(v * 2f64.powi(exp.saturating_sub(shift)))
}

// ------------------------------------------------------------------------------------------------
// Parse / encode (§3.6)

fn register_parse_encode(funcs: &mut FuncMap) {
    def(funcs, "parseBool", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Bool(false));
        }
        Ok(Value::Bool(
            go_parse_bool(&s).map_err(|e| format!("parseBool: {e}"))?,
        ))
    });
    def(funcs, "parseInt", Arity::Exact(1), |a| {
        Ok(Value::Int(parse_int_empty_zero(&string_arg(&a[0])?)?))
    });
    def(funcs, "parseUint", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Uint(0));
        }
        let v = go_parse_uint(&s, 10, 64, "ParseUint").map_err(|e| format!("parseUint: {e}"))?;
        Ok(Value::Uint(v))
    });
    def(funcs, "parseFloat", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Float(0.0));
        }
        Ok(Value::Float(
            go_parse_float(&s).map_err(|e| format!("parseFloat: {e}"))?,
        ))
    });
    def(funcs, "parseJSON", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Map(Arc::default()));
        }
        parse_json(&s)
    });
    def(funcs, "parseYAML", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Map(Arc::default()));
        }
        yaml::parse(&s).map_err(FuncError)
    });
    let json: [(&str, bool, bool); 4] = [
        ("toJSON", true, false),
        ("toJSONPretty", true, true),
        ("toUnescapedJSON", false, false),
        ("toUnescapedJSONPretty", false, true),
    ];
    for (name, escape_html, pretty) in json {
        def(funcs, name, Arity::Exact(1), move |a| {
            let out = to_json(&a[0], escape_html, pretty).map_err(|e| format!("{name}: {e}"))?;
            Ok(Value::from(out.trim().to_string()))
        });
    }
    def(funcs, "toYAML", Arity::Exact(1), |a| {
        let out = yaml::emit(&a[0]).map_err(|e| format!("toYAML: {e}"))?;
        Ok(Value::from(out.trim().to_string()))
    });
    def(funcs, "toTOML", Arity::Exact(1), |a| {
        let out = toml::emit(&a[0]).map_err(|e| format!("toTOML: {e}"))?;
        Ok(Value::from(out.trim().to_string()))
    });
    def(funcs, "base64Encode", Arity::Exact(1), |a| {
        Ok(Value::from(base64_encode(bytes_arg(&a[0])?, STD_ALPHABET)))
    });
    def(funcs, "base64URLEncode", Arity::Exact(1), |a| {
        Ok(Value::from(base64_encode(bytes_arg(&a[0])?, URL_ALPHABET)))
    });
    for (name, alphabet) in [
        ("base64Decode", STD_ALPHABET),
        ("base64URLDecode", URL_ALPHABET),
    ] {
        def(funcs, name, Arity::Exact(1), move |a| {
            match base64_decode(bytes_arg(&a[0])?, alphabet) {
                Ok(bytes) => Ok(Value::from_bytes(&bytes)),
                Err(at) => fail(format!("{name}: illegal base64 data at input byte {at}")),
            }
        });
    }
    def(funcs, "sha256Hex", Arity::Exact(1), |a| {
        Ok(Value::from(hex(&sha256(bytes_arg(&a[0])?))))
    });
    def(funcs, "md5sum", Arity::Exact(1), |a| {
        Ok(Value::from(hex(&md5(bytes_arg(&a[0])?))))
    });
    def(funcs, "hmacSHA256Hex", Arity::Exact(2), |a| {
        let (msg, key) = (bytes_arg(&a[0])?, bytes_arg(&a[1])?);
        Ok(Value::from(hex(&hmac_sha256(key, msg))))
    });
}

/// `json.Unmarshal` into `interface{}`, with Go's syntax error messages.
fn parse_json(s: &str) -> Res {
    JsonCheck {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    }
    .document()?;
    Value::from_json(s).map_err(FuncError)
}

/// Go's JSON scanner, only to report syntax errors as `encoding/json` words them.
struct JsonCheck<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// Deeper JSON is refused: decoding recurses about 1 KiB of stack a level, and a thread may
/// have only 2 MiB (Go allows 10000 levels on its growable stacks).
const MAX_JSON_DEPTH: usize = 1000;

type JsonResult = Result<(), String>;

impl JsonCheck<'_> {
    fn document(&mut self) -> JsonResult {
        self.value()?;
        self.ws();
        match self.peek() {
            Some(c) => Err(json_bad(c, "after top-level value")),
            None => Ok(()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, or the end-of-input error.
    fn next_byte(&mut self) -> Result<u8, String> {
        self.ws();
        self.peek()
            .ok_or_else(|| "unexpected end of JSON input".to_string())
    }

    fn value(&mut self) -> JsonResult {
        match self.next_byte()? {
            b'{' | b'[' if self.depth >= MAX_JSON_DEPTH => Err("exceeded max depth".into()),
            b'{' => self.nested(Self::object),
            b'[' => self.nested(Self::array),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(json_bad(c, "looking for beginning of value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> JsonResult) -> JsonResult {
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn object(&mut self) -> JsonResult {
        self.i += 1;
        if self.next_byte()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            match self.next_byte()? {
                b'"' => self.string()?,
                c => return Err(json_bad(c, "looking for beginning of object key string")),
            }
            match self.next_byte()? {
                b':' => self.i += 1,
                c => return Err(json_bad(c, "after object key")),
            }
            self.value()?;
            match self.next_byte()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                c => return Err(json_bad(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> JsonResult {
        self.i += 1;
        if self.next_byte()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            match self.next_byte()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                c => return Err(json_bad(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> JsonResult {
        self.i += 1;
        loop {
            let c = self.take()?;
            match c {
                b'"' => return Ok(()),
                b'\\' => match self.take_in_token() {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'"' | b'\\' | b'/' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let h = self.take_in_token();
                            if !h.is_ascii_hexdigit() {
                                return Err(json_bad(h, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    e => return Err(json_bad(e, "in string escape code")),
                },
                c if c < 0x20 => return Err(json_bad(c, "in string literal")),
                _ => {}
            }
        }
    }

    /// The next byte, not skipping whitespace.
    fn take(&mut self) -> Result<u8, String> {
        let c = self
            .peek()
            .ok_or_else(|| "unexpected end of JSON input".to_string())?;
        self.i += 1;
        Ok(c)
    }

    /// The next byte inside a token; at the end of input Go's scanner is fed a space, which
    /// a literal, a number or an escape refuses by name.
    fn take_in_token(&mut self) -> u8 {
        let c = self.peek().unwrap_or(b' ');
        self.i += 1;
        c
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    fn number(&mut self) -> JsonResult {
        if self.peek() == Some(b'-') {
            self.i += 1;
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "in numeric literal"));
            }
            self.i -= 1;
        }
        if self.take()? != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> JsonResult {
        self.i += 1;
        for want in word.bytes().skip(1) {
            let c = self.take_in_token();
            if c != want {
                let ctx = format!("in literal {word} (expecting {})", quote_char(want));
                return Err(json_bad(c, &ctx));
            }
        }
        Ok(())
    }
}

fn json_bad(c: u8, ctx: &str) -> String {
    format!("invalid character {} {ctx}", quote_char(c))
}

/// `encoding/json`'s `quoteChar`: the byte as a rune in single quotes.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        c => {
            let q = printf::quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// `json.Marshal` (or an `Encoder` without HTML escaping) of a value; `pretty` is
/// `MarshalIndent(v, "", "  ")`.
fn to_json(v: &Value, escape_html: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut enc = JsonEnc {
        out: &mut out,
        escape_html,
        pretty,
        objects: 0,
    };
    enc.value(v, 0)?;
    Ok(out)
}

struct JsonEnc<'a> {
    out: &'a mut String,
    escape_html: bool,
    pretty: bool,
    /// Objects being encoded (a level each, for the depth limit, but not for indentation).
    objects: usize,
}

impl JsonEnc<'_> {
    fn newline(&mut self, depth: usize) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        if depth + self.objects > MAX_DEPTH {
            return Err(format!(
                "json: unsupported value: encountered a cycle via {}",
                v.type_name()
            ));
        }
        match v {
            Value::Missing | Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(self.out, "{u}");
            }
            Value::Byte(b) => {
                let _ = write!(self.out, "{b}");
            }
            Value::Float(f) => self.out.push_str(&json_float(*f)?),
            Value::Str(_) | Value::Bytes(_) => {
                json_string(self.out, v.as_bytes().unwrap_or_default(), self.escape_html)
            }
            Value::List(items) => self.list(items, depth)?,
            Value::Map(m) => {
                let entries: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (&**k, v)).collect();
                self.object(&entries, depth)?;
            }
            Value::Record(r) => {
                let entries: Vec<(&str, &Value)> =
                    r.ty.fields
                        .iter()
                        .map(String::as_str)
                        .zip(r.values.iter())
                        .collect();
                self.object(&entries, depth)?;
            }
            Value::Object(o) => match o.underlying() {
                Value::Missing | Value::Nil => self.out.push_str("{}"),
                u => {
                    self.objects += 1;
                    let r = self.value(&u, depth);
                    self.objects -= 1;
                    r?
                }
            },
            Value::Func(_) => return Err(format!("json: unsupported type: {}", v.type_name())),
        }
        Ok(())
    }

    fn list(&mut self, items: &[Value], depth: usize) -> Result<(), String> {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(depth + 1);
            self.value(item, depth + 1)?;
        }
        if !items.is_empty() {
            self.newline(depth);
        }
        self.out.push(']');
        Ok(())
    }

    fn object(&mut self, entries: &[(&str, &Value)], depth: usize) -> Result<(), String> {
        self.out.push('{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(depth + 1);
            json_string(self.out, k.as_bytes(), self.escape_html);
            self.out.push_str(if self.pretty { ": " } else { ":" });
            self.value(v, depth + 1)?;
        }
        if !entries.is_empty() {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }
}

/// Go's float encoding: shortest digits, `'e'` form (exponent `e-7`, `e+21`) outside
/// [1e-6, 1e21).
fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        let shown = printf::format_float(f, b'g', -1);
        return Err(format!("json: unsupported value: {shown}"));
    }
    let abs = f.abs();
    let exp_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let mut s = printf::format_float(f, if exp_form { b'e' } else { b'f' }, -1);
    if exp_form {
        let n = s.len();
        if n >= 4 && s.as_bytes()[n - 4] == b'e' && &s[n - 3..n - 1] == "-0" {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

/// Go's `appendString`: `\u00XX` for control bytes, `\ufffd` for bytes that are not UTF-8,
/// `\u2028`/`\u2029` always, and `<>&` when escaping HTML.
fn json_string(out: &mut String, s: &[u8], escape_html: bool) {
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' if escape_html => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

// ------------------------------------------------------------------------------------------------
// Base64 and hashes

const STD_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Padded base64, as Go's `StdEncoding` and `URLEncoding`.
fn base64_encode(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's padded base64 decoding (`\r` and `\n` ignored); the error is the offset Go reports.
fn base64_decode(src: &[u8], alphabet: &[u8; 64]) -> Result<Vec<u8>, usize> {
    let mut map = [0xffu8; 256];
    for (i, &c) in alphabet.iter().enumerate() {
        map[c as usize] = i as u8;
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let (next, dlen, quantum) = decode_quantum(src, si, &map)?;
        let n = quantum.iter().fold(0u32, |n, &d| n << 6 | u32::from(d));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..dlen.saturating_sub(1)]);
        si = next;
        if dlen < 4 {
            return Ok(out);
        }
    }
}

/// One group of four symbols: the next offset, the symbols read (4, or fewer at the padded
/// end; 0 at the end of input) and their values.
fn decode_quantum(
    src: &[u8],
    mut si: usize,
    map: &[u8; 256],
) -> Result<(usize, usize, [u8; 4]), usize> {
    let skip_newlines = |mut si: usize| {
        while si < src.len() && matches!(src[si], b'\n' | b'\r') {
            si += 1;
        }
        si
    };
    let mut d = [0u8; 4];
    let mut j = 0;
    while j < 4 {
        if si == src.len() {
            return match j {
                0 => Ok((si, 0, d)),
                _ => Err(si - j),
            };
        }
        let c = src[si];
        si += 1;
        if map[c as usize] != 0xff {
            d[j] = map[c as usize];
            j += 1;
            continue;
        }
        if c == b'\n' || c == b'\r' {
            continue;
        }
        if c != b'=' || j < 2 {
            return Err(si - 1);
        }
        if j == 2 {
            // "==" is expected; the first "=" is read.
            si = skip_newlines(si);
            if si == src.len() {
                return Err(src.len());
            }
            if src[si] != b'=' {
                return Err(si - 1);
            }
            si += 1;
        }
        si = skip_newlines(si);
        if si < src.len() {
            return Err(si);
        }
        return Ok((si, j, d));
    }
    Ok((si, 4, d))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 (FIPS 180-4).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for block in md_padded(data, true).chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Merkle–Damgård padding to 64-byte blocks, the bit length big- or little-endian.
fn md_padded(data: &[u8], big_endian: bool) -> Vec<u8> {
    let mut m = data.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    let bits = (data.len() as u64).wrapping_mul(8);
    m.extend_from_slice(&if big_endian {
        bits.to_be_bytes()
    } else {
        bits.to_le_bytes()
    });
    m
}

/// MD5 (RFC 1321).
fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in md_padded(data, false).chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(S[(i / 16) * 4 + i % 4]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(rotated);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(msg);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

// ------------------------------------------------------------------------------------------------
// Math (§3.7): `OP b a` computes `a OP b`

/// An operand as Go's reflect kinds see it.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Uint(u) => Some(Num::U(*u)),
        Value::Byte(b) => Some(Num::U(u64::from(*b))),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Min,
    Max,
}

fn register_math(funcs: &mut FuncMap) {
    for (name, op) in [
        ("add", MathOp::Add),
        ("subtract", MathOp::Sub),
        ("multiply", MathOp::Mul),
        ("divide", MathOp::Div),
        ("modulo", MathOp::Mod),
        ("minimum", MathOp::Min),
        ("maximum", MathOp::Max),
    ] {
        def(funcs, name, Arity::Exact(2), move |a| {
            math(name, op, &a[1], &a[0])
        });
    }
}

fn unknown_type(name: &str, v: &Value) -> FuncError {
    let (q, t) = q_and_t(v);
    FuncError(format!("{name}: unknown type for {q} ({t})"))
}

/// `a OP b` with consul-template's type rules: ints and uints mix as int64 (uint with uint
/// stays uint64), any float makes a float64; `modulo` takes no floats.
fn math(name: &str, op: MathOp, a: &Value, b: &Value) -> Res {
    // `modulo` has no float cases, so a float is an unknown type there.
    let operand = |v: &Value| match num(v) {
        Some(Num::F(_)) if op == MathOp::Mod => None,
        n => n,
    };
    let x = operand(a).ok_or_else(|| unknown_type(name, a))?;
    let y = operand(b).ok_or_else(|| unknown_type(name, b))?;
    if matches!(op, MathOp::Min | MathOp::Max) {
        let a_wins = match (op, compare_nums(x, y)) {
            (MathOp::Min, Some(o)) => o.is_lt(),
            (_, Some(o)) => o.is_gt(),
            _ => false,
        };
        return Ok(num_value(if a_wins { x } else { y }));
    }
    Ok(match (x, y) {
        (Num::U(p), Num::U(q)) => Value::Uint(uint_op(op, p, q)?),
        (Num::F(_), _) | (_, Num::F(_)) => Value::Float(float_op(op, as_f64(x), as_f64(y))),
        _ => Value::Int(int_op(op, as_i64(x), as_i64(y))?),
    })
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::U(u) => u as f64,
        Num::F(f) => f,
    }
}

fn as_i64(n: Num) -> i64 {
    match n {
        Num::I(i) => i,
        Num::U(u) => u as i64,
        Num::F(f) => f as i64,
    }
}

fn num_value(n: Num) -> Value {
    match n {
        Num::I(i) => Value::Int(i),
        Num::U(u) => Value::Uint(u),
        Num::F(f) => Value::Float(f),
    }
}

/// The comparison consul-template's `minimum`/`maximum` make: ints against uints as int64,
/// anything against a float as float64.
fn compare_nums(x: Num, y: Num) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Num::U(p), Num::U(q)) => Some(p.cmp(&q)),
        (Num::F(_), _) | (_, Num::F(_)) => as_f64(x).partial_cmp(&as_f64(y)),
        _ => Some(as_i64(x).cmp(&as_i64(y))),
    }
}

fn int_op(op: MathOp, a: i64, b: i64) -> Result<i64, FuncError> {
    Ok(match op {
        MathOp::Add => a.wrapping_add(b),
        MathOp::Sub => a.wrapping_sub(b),
        MathOp::Mul => a.wrapping_mul(b),
        MathOp::Div | MathOp::Mod if b == 0 => return fail(DIVIDE_BY_ZERO),
        MathOp::Div => a.wrapping_div(b),
        _ => a.wrapping_rem(b),
    })
}

fn uint_op(op: MathOp, a: u64, b: u64) -> Result<u64, FuncError> {
    Ok(match op {
        MathOp::Add => a.wrapping_add(b),
        MathOp::Sub => a.wrapping_sub(b),
        MathOp::Mul => a.wrapping_mul(b),
        MathOp::Div | MathOp::Mod if b == 0 => return fail(DIVIDE_BY_ZERO),
        MathOp::Div => a / b,
        _ => a % b,
    })
}

fn float_op(op: MathOp, a: f64, b: f64) -> f64 {
    match op {
        MathOp::Add => a + b,
        MathOp::Sub => a - b,
        MathOp::Mul => a * b,
        _ => a / b,
    }
}

// ------------------------------------------------------------------------------------------------
// Scratch (§3.8) and mutable maps

/// consul-template's `scratch`: a per-execution key/value store with Go-style methods.
#[derive(Debug, Default)]
pub struct Scratch {
    values: Mutex<Map>,
}

/// A new, empty scratch as a template value.
/// This machine's first private IPv4 address (go-sockaddr's `GetPrivateIP`), if it has one.
pub fn private_ip() -> Option<String> {
    sockaddr::eval("GetPrivateIP")
        .ok()
        .filter(|ip| !ip.is_empty())
}

pub fn new_scratch() -> Value {
    Value::Object(Arc::new(Scratch::default()))
}

impl Scratch {
    fn values(&self) -> std::sync::MutexGuard<'_, Map> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn method(&self, name: &str, args: &[Value]) -> Res {
        let want = match name {
            "Key" | "Get" | "MapValues" => 1,
            "Set" | "SetX" => 2,
            _ => 3,
        };
        if args.len() != want {
            return fail(format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            ));
        }
        let key: Arc<str> = string_arg(&args[0])?.into();
        let mut values = self.values();
        match name {
            "Key" => Ok(Value::Bool(values.contains_key(&key))),
            "Get" => Ok(values.get(&key).cloned().unwrap_or(Value::Nil)),
            "Set" => {
                values.insert(key, args[1].clone());
                Ok(Value::str(""))
            }
            "SetX" => {
                values.entry(key).or_insert_with(|| args[1].clone());
                Ok(Value::str(""))
            }
            // Sorted by map key; not a map → Go's nil slice.
            "MapValues" => Ok(Value::list(match values.get(&key) {
                Some(v) if is_map(v) => map_arg(v)?.into_values().collect(),
                _ => Vec::new(),
            })),
            _ => {
                let map_key: Arc<str> = string_arg(&args[1])?.into();
                let entry = values
                    .entry(key.clone())
                    .or_insert_with(|| Value::Map(Arc::default()));
                if !is_map(entry) {
                    return fail(format!("{} is not a map", printf::quote(&key)));
                }
                let overwrite = name == "MapSet";
                let result = with_map_mut(entry, |m| {
                    if overwrite || !m.contains_key(&map_key) {
                        m.insert(map_key, args[2].clone());
                    }
                })?;
                *entry = result;
                Ok(Value::str(""))
            }
        }
    }
}

fn is_map(v: &Value) -> bool {
    go_map(v).is_some() || matches!(v, Value::Map(_))
}

impl Object for Scratch {
    fn type_name(&self) -> &str {
        "*template.Scratch"
    }

    fn underlying(&self) -> Value {
        Value::Map(Arc::new(self.values().clone()))
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Key" | "Get" | "Set" | "SetX" | "MapSet" | "MapSetX" | "MapValues"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Res> {
        self.has_method(name).then(|| self.method(name, args))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A Go `map[string]interface{}` that functions can change in place (made by `sprig_dict`);
/// everything else sees a snapshot of it as a plain map.
#[derive(Debug, Default)]
pub struct GoMap(Mutex<Map>);

impl GoMap {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(entries: Map) -> Value {
        Value::Object(Arc::new(GoMap(Mutex::new(entries))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Map {
        self.lock().clone()
    }
}

impl Object for GoMap {
    fn type_name(&self) -> &str {
        "map[string]interface {}"
    }

    fn underlying(&self) -> Value {
        Value::Map(Arc::new(self.snapshot()))
    }

    fn has_method(&self, _name: &str) -> bool {
        false
    }

    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Res> {
        None
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn go_map(v: &Value) -> Option<&GoMap> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoMap>(),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------------
// Local functions (§3.5): timestamp, plugin, writeToFile, spew, sockaddr

fn register_local(funcs: &mut FuncMap) {
    def(funcs, "timestamp", Arity::AtLeast(0), |a| {
        let layout = match a {
            [] => None,
            [layout] => Some(string_arg(layout)?),
            _ => {
                return fail(format!(
                    "timestamp: wrong number of arguments, expected 0 or 1, but got {}",
                    a.len()
                ))
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let (secs, nanos) = (now.as_secs() as i64, now.subsec_nanos());
        Ok(Value::from(match layout.as_deref() {
            Some("unix") => secs.to_string(),
            Some(layout) => format_time(layout, secs, nanos),
            None => format_time(RFC3339, secs, nanos),
        }))
    });
    def(funcs, "plugin", Arity::AtLeast(1), |a| {
        let name = string_arg(&a[0])?;
        let args = a[1..]
            .iter()
            .map(|v| string_arg(v).map(|s| s.into_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        run_plugin(&name, &args, PLUGIN_TIMEOUT)
            .map(Value::from)
            .map_err(FuncError)
    });
    def(funcs, "writeToFile", Arity::AtLeast(4), |a| {
        let strs = a
            .iter()
            .map(|v| bytes_arg(v).map(<[u8]>::to_vec))
            .collect::<Result<Vec<_>, _>>()?;
        write_to_file(&strs)
            .map(|()| Value::str(""))
            .map_err(FuncError)
    });
    def(funcs, "spew_dump", Arity::AtLeast(0), |a| {
        print!("{}", spew_sdump(a));
        Ok(Value::str(""))
    });
    def(funcs, "spew_sdump", Arity::AtLeast(0), |a| {
        Ok(Value::from(spew_sdump(a)))
    });
    def(funcs, "spew_printf", Arity::AtLeast(1), |a| {
        let shown = printf::sprintf(
            a[0].as_go_str()
                .ok_or_else(|| wrong_type("string", &a[0]))?,
            &a[1..],
        );
        print!("{}", lossy(&shown));
        Ok(Value::str(""))
    });
    def(funcs, "spew_sprintf", Arity::AtLeast(1), |a| {
        let format = a[0]
            .as_go_str()
            .ok_or_else(|| wrong_type("string", &a[0]))?;
        Ok(printf::sprintf(format, &a[1..]))
    });
    def(funcs, "sockaddr", Arity::AtLeast(0), |a| {
        let args = a
            .iter()
            .map(|v| string_arg(v).map(|s| s.into_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        sockaddr::eval(&args.join(" "))
            .map(Value::from)
            .map_err(FuncError)
    });
}

const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

/// A UTC time broken into Go's calendar fields.
struct Civil {
    year: i64,
    month: usize,
    day: i64,
    yday: i64,
    weekday: usize,
    hour: i64,
    min: i64,
    sec: i64,
    nanos: u32,
}

impl Civil {
    fn from_unix(secs: i64, nanos: u32) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = CUM[month as usize - 1] + day + i64::from(leap && month > 2);
        Civil {
            year,
            month: month as usize,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7) as usize,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            nanos,
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's layout elements (`time.format.go`'s `std*` constants).
#[derive(Clone, Copy)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// A `Z…` zone: `Z` in UTC.
    IsoTZ,
    /// A numeric zone, printed as it reads in UTC.
    NumTZ(&'static str),
    /// Fractional seconds: separator, digits, whether trailing zeros go.
    Frac(u8, usize, bool),
}

/// Go's `nextStdChunk`: the literal prefix length, the element, and where the rest starts.
fn next_std_chunk(l: &[u8]) -> Option<(usize, Std, usize)> {
    let at = |i: usize, s: &str| l[i..].starts_with(s.as_bytes());
    let lower_next = |i: usize| l.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..l.len() {
        let found = match l[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if at(i, "Jan") && !lower_next(i + 3) => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") && !lower_next(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::TZ, 3)),
            b'0' if l.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(l[i + 1] - b'1') as usize];
                Some((std, 2))
            }
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            // `_2006` is a literal `_` and a year.
            b'_' if at(i, "_2006") => return Some((i + 1, Std::LongYear, i + 5)),
            b'_' if at(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::PM, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => zone_chunk(&l[i..]),
            b'.' | b',' if matches!(l.get(i + 1), Some(b'0' | b'9')) => {
                let ch = l[i + 1];
                let n = l[i + 1..].iter().take_while(|&&c| c == ch).count();
                let end = i + 1 + n;
                // Only digits that end here are a fraction.
                if l.get(end).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(l[i], n, ch == b'9'), n + 1))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return Some((i, std, i + len));
        }
    }
    None
}

/// The numeric (`-07…`) and ISO 8601 (`Z07…`) zone elements.
fn zone_chunk(l: &[u8]) -> Option<(Std, usize)> {
    const FORMS: [(&str, &str); 5] = [
        ("070000", "+000000"),
        ("07:00:00", "+00:00:00"),
        ("0700", "+0000"),
        ("07:00", "+00:00"),
        ("07", "+00"),
    ];
    let rest = &l[1..];
    let (form, shown) = FORMS.iter().find(|(f, _)| rest.starts_with(f.as_bytes()))?;
    let std = if l[0] == b'Z' {
        Std::IsoTZ
    } else {
        Std::NumTZ(shown)
    };
    Some((std, 1 + form.len()))
}

/// Go's `Time.Format` in UTC.
fn format_time(layout: &str, secs: i64, nanos: u32) -> String {
    let t = Civil::from_unix(secs, nanos);
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout.as_bytes();
    while let Some((prefix, std, next)) = next_std_chunk(rest) {
        out.push_str(&String::from_utf8_lossy(&rest[..prefix]));
        format_std(&mut out, std, &t);
        rest = &rest[next..];
    }
    out.push_str(&String::from_utf8_lossy(rest));
    out
}

fn format_std(out: &mut String, std: Std, t: &Civil) {
    let hour12 = if t.hour % 12 == 0 { 12 } else { t.hour % 12 };
    let _ = match std {
        Std::LongMonth => write!(out, "{}", MONTHS[t.month - 1]),
        Std::Month => write!(out, "{}", &MONTHS[t.month - 1][..3]),
        Std::NumMonth => write!(out, "{}", t.month),
        Std::ZeroMonth => write!(out, "{:02}", t.month),
        Std::LongWeekDay => write!(out, "{}", DAYS[t.weekday]),
        Std::WeekDay => write!(out, "{}", &DAYS[t.weekday][..3]),
        Std::Day => write!(out, "{}", t.day),
        Std::UnderDay => write!(out, "{:>2}", t.day),
        Std::ZeroDay => write!(out, "{:02}", t.day),
        Std::UnderYearDay => write!(out, "{:>3}", t.yday),
        Std::ZeroYearDay => write!(out, "{:03}", t.yday),
        Std::Hour => write!(out, "{:02}", t.hour),
        Std::Hour12 => write!(out, "{hour12}"),
        Std::ZeroHour12 => write!(out, "{hour12:02}"),
        Std::Minute => write!(out, "{}", t.min),
        Std::ZeroMinute => write!(out, "{:02}", t.min),
        Std::Second => write!(out, "{}", t.sec),
        Std::ZeroSecond => write!(out, "{:02}", t.sec),
        Std::LongYear => write!(out, "{:04}", t.year),
        Std::Year => write!(out, "{:02}", t.year.rem_euclid(100)),
        Std::PM => write!(out, "{}", if t.hour >= 12 { "PM" } else { "AM" }),
        Std::Pm => write!(out, "{}", if t.hour >= 12 { "pm" } else { "am" }),
        Std::TZ => write!(out, "UTC"),
        Std::IsoTZ => write!(out, "Z"),
        Std::NumTZ(shown) => write!(out, "{shown}"),
        Std::Frac(sep, n, trim) => {
            let digits = format!("{:09}", t.nanos);
            let mut digits = &digits[..n.min(9)];
            if trim {
                digits = digits.trim_end_matches('0');
            }
            if !digits.is_empty() || !trim {
                out.push(char::from(sep));
            }
            write!(out, "{digits}")
        }
    };
}

/// How long a plugin may run before it is killed.
const PLUGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// consul-template's `plugin`: runs `name` (no shell) with the trimmed, non-empty args and
/// returns its trimmed stdout.
fn run_plugin(name: &str, args: &[String], timeout: std::time::Duration) -> Result<String, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    if name.is_empty() {
        return Ok(String::new());
    }
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    let failed = |err: &str, out: &[u8], errout: &[u8]| {
        format!(
            "exec {}: {err}\n\nstdout:\n\n{}\n\nstderr:\n\n{}",
            printf::quote(name),
            String::from_utf8_lossy(out),
            String::from_utf8_lossy(errout)
        )
    };
    let spawned = Command::new(name)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Err(failed(&spawn_error(name, &e), b"", b"")),
    };
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let errout = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => return Err(failed(&go_errno(&e), b"", b"")),
        }
    };
    let Some(status) = status else {
        if child.kill().is_err() {
            return Err(format!("exec {}: failed to kill", printf::quote(name)));
        }
        let _ = child.wait();
        return Err(format!(
            "exec {}: did not finish in 30s",
            printf::quote(name)
        ));
    };
    let (out, errout) = (
        out.join().unwrap_or_default(),
        errout.join().unwrap_or_default(),
    );
    if !status.success() {
        return Err(failed(&exit_message(status), &out, &errout));
    }
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Go's `exec.Command(...).Start()` error.
fn spawn_error(name: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound && !name.contains('/') {
        return format!(
            "exec: {}: executable file not found in $PATH",
            printf::quote(name)
        );
    }
    format!("fork/exec {name}: {}", go_errno(e))
}

/// Go's `ProcessState.String()`.
fn exit_message(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let sig = status.signal().unwrap_or(0);
    let name = match sig {
        1 => "hangup".to_string(),
        2 => "interrupt".to_string(),
        3 => "quit".to_string(),
        6 => "aborted".to_string(),
        9 => "killed".to_string(),
        11 => "segmentation fault".to_string(),
        13 => "broken pipe".to_string(),
        15 => "terminated".to_string(),
        n => format!("signal {n}"),
    };
    format!("signal: {name}")
}

/// An OS error as Go's `syscall.Errno` prints it (the C message, lower-cased first letter).
fn go_errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Go's `*PathError` text.
fn path_error(op: &str, path: &std::path::Path, e: &std::io::Error) -> String {
    format!("{op} {}: {}", path.display(), go_errno(e))
}

/// consul-template's `writeToFile PATH USER GROUP PERMS [FLAGS] CONTENT`.
fn write_to_file(args: &[Vec<u8>]) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&args[0]));
    let (user, group, perms) = (text(&args[1]), text(&args[2]), text(&args[3]));
    let rest = &args[4..];
    let Some(content) = rest.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let flags = if rest.len() == 2 {
        text(&rest[0])
    } else {
        String::new()
    };
    let mode = go_parse_uint(&perms, 8, 32, "ParseUint")? as u32;
    let append = flags.contains("append");
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if !append && std::fs::metadata(dir).is_err() {
            std::fs::create_dir_all(dir).map_err(|e| path_error("mkdir", dir, &e))?;
        }
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "writeToFile: parent directory {} is a symlink",
                printf::quote(&dir.to_string_lossy())
            ));
        }
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "writeToFile: refusing to write to symlink {}",
            printf::quote(&path.to_string_lossy())
        ));
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).mode(mode);
    if append {
        open.append(true);
    } else {
        open.truncate(true);
    }
    // No-follow closes the window between the check above and the open.
    let mut file = open
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| path_error("open", path, &e))?;
    let mut data = content.clone();
    if flags.contains("newline") {
        data.push(b'\n');
    }
    std::io::Write::write_all(&mut file, &data).map_err(|e| path_error("write", path, &e))?;
    if !user.is_empty() || !group.is_empty() {
        let uid = owner_id(&user, "/etc/passwd", "user: unknown user")?;
        let gid = owner_id(&group, "/etc/group", "group: unknown group")?;
        std::os::unix::fs::fchown(&file, uid, gid).map_err(|e| path_error("chown", path, &e))?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| path_error("chmod", path, &e))
}

/// A user or group given by name (looked up in `db`, as Go's pure `os/user` does) or numeric
/// id; empty keeps the current one. `unknown` starts the message for a name not found.
fn owner_id(name: &str, db: &str, unknown: &str) -> Result<Option<u32>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    let by_name = std::fs::read_to_string(db).ok().and_then(|text| {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[0] == name)
            .and_then(|f| f[2].parse().ok())
    });
    by_name
        .or_else(|| name.parse().ok())
        .map(Some)
        .ok_or_else(|| format!("{unknown} {name}"))
}

/// go-spew's `Sdump`: each argument's type and value, nested values indented by one space.
/// Pointers show a fixed address (Go's vary per run) and map keys are sorted.
fn spew_sdump(args: &[Value]) -> String {
    let mut out = String::new();
    for arg in args {
        if matches!(arg, Value::Nil | Value::Missing) {
            out.push_str("(interface {}) <nil>\n");
            continue;
        }
        spew_value(&mut out, arg, 0, true);
        out.push('\n');
    }
    out
}

/// One value; `typed` is false where spew has already printed the type (behind a pointer).
fn spew_value(out: &mut String, v: &Value, depth: usize, typed: bool) {
    if depth > MAX_DEPTH {
        out.push_str("<max depth reached>");
        return;
    }
    let ty = v.type_name();
    if let Value::Record(r) = v {
        if r.ty.is_pointer() && typed {
            let _ = write!(out, "({ty})(0xc000010000)(");
            spew_value(out, v, depth, false);
            out.push(')');
            return;
        }
    }
    let resolved = v.resolved();
    if typed {
        let _ = write!(out, "({ty}) ");
    }
    let _ = match &resolved {
        Value::Missing | Value::Nil => write!(out, "<nil>"),
        Value::Str(_) | Value::Bytes(_) => {
            let b = resolved
                .as_go_str()
                .unwrap_or(crate::gotmpl::GoStr::Utf8(""));
            if !b.is_empty() {
                let _ = write!(out, "(len={}) ", b.len());
            }
            write!(out, "{}", printf::quote_go(b))
        }
        Value::Float(f) => write!(out, "{}", printf::format_float(*f, b'g', -1)),
        Value::List(items) => {
            if !items.is_empty() {
                let _ = write!(out, "(len={0} cap={0}) ", items.len());
            }
            let entries: Vec<(Option<String>, &Value)> = items.iter().map(|i| (None, i)).collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        Value::Map(m) => {
            if !m.is_empty() {
                let _ = write!(out, "(len={}) ", m.len());
            }
            let entries: Vec<(Option<String>, &Value)> = m
                .iter()
                .map(|(k, v)| (Some(spew_key(k, depth + 1)), v))
                .collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        Value::Record(r) => {
            let entries: Vec<(Option<String>, &Value)> =
                r.ty.fields
                    .iter()
                    .zip(r.values.iter())
                    .map(|(f, v)| (Some(format!("{}{f}: ", " ".repeat(depth + 1))), v))
                    .collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        other => write!(out, "{}", other.to_go_string()),
    };
}

fn spew_key(k: &str, depth: usize) -> String {
    let len = if k.is_empty() {
        String::new()
    } else {
        format!("(len={}) ", k.len())
    };
    format!("{}(string) {len}{}: ", " ".repeat(depth), printf::quote(k))
}

/// `{`, one entry a line (a list item indented, a map key or field name first), `}`.
fn spew_block(out: &mut String, entries: &[(Option<String>, &Value)], depth: usize) {
    out.push_str("{\n");
    for (i, (label, v)) in entries.iter().enumerate() {
        match label {
            Some(label) => out.push_str(label),
            None => out.push_str(&" ".repeat(depth + 1)),
        }
        spew_value(out, v, depth + 1, true);
        out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
    }
    out.push_str(&" ".repeat(depth));
    out.push('}');
}

/// A subset of go-sockaddr's template language: the address lookups consul-template users call.
mod sockaddr {
    use std::net::IpAddr;

    /// Evaluates `GetPrivateIP`, `GetPrivateIPs`, `GetPublicIP`, `GetPublicIPs`,
    /// `GetInterfaceIP "name"` or `GetInterfaceIPs "name"`.
    pub(super) fn eval(expr: &str) -> Result<String, String> {
        let expr = expr.trim();
        let (func, arg) = match expr.split_once(char::is_whitespace) {
            Some((f, a)) => (f, a.trim().trim_matches('"')),
            None => (expr, ""),
        };
        let addrs = interfaces()?;
        let pick = |keep: &dyn Fn(&str, &IpAddr) -> bool, all: bool| {
            let found: Vec<String> = addrs
                .iter()
                .filter(|(name, ip)| keep(name, ip))
                .map(|(_, ip)| ip.to_string())
                .collect();
            if all {
                found.join(" ")
            } else {
                found.into_iter().next().unwrap_or_default()
            }
        };
        let v4 = |ip: &IpAddr| ip.is_ipv4();
        Ok(match func {
            "GetPrivateIP" | "GetPrivateIPs" => {
                pick(&|_, ip| v4(ip) && is_private(ip), func.ends_with('s'))
            }
            "GetPublicIP" | "GetPublicIPs" => {
                pick(&|_, ip| v4(ip) && is_public(ip), func.ends_with('s'))
            }
            "GetInterfaceIP" | "GetInterfaceIPs" if !arg.is_empty() => {
                pick(&|name, ip| name == arg && v4(ip), func.ends_with('s'))
            }
            _ => {
                return Err(format!(
                    "sockaddr: unsupported template {}: only GetPrivateIP(s), GetPublicIP(s) \
                     and GetInterfaceIP(s) \"NAME\" are implemented",
                    crate::gotmpl::printf::quote(expr)
                ))
            }
        })
    }

    /// RFC 1918 and RFC 6598 (shared address space), as go-sockaddr's private blocks.
    fn is_private(ip: &IpAddr) -> bool {
        match ip {
            IpAddr::V4(v) => {
                let o = v.octets();
                v.is_private() || (o[0] == 100 && (64..128).contains(&o[1]))
            }
            IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
        }
    }

    fn is_public(ip: &IpAddr) -> bool {
        match ip {
            IpAddr::V4(v) => {
                !(is_private(ip)
                    || v.is_loopback()
                    || v.is_link_local()
                    || v.is_unspecified()
                    || v.is_broadcast()
                    || v.is_documentation()
                    || v.is_multicast())
            }
            IpAddr::V6(_) => false,
        }
    }

    /// The name of the interface with the IPv4 default route (Linux), to list first.
    fn default_interface() -> Option<String> {
        let table = std::fs::read_to_string("/proc/net/route").ok()?;
        table.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 1 && f[1] == "00000000").then(|| f[0].to_string())
        })
    }

    /// Addresses of interfaces that are up and not loopback, the default route's first.
    fn interfaces() -> Result<Vec<(String, IpAddr)>, String> {
        use nix::libc;
        let mut list = Vec::new();
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list we only read and then free.
        unsafe {
            if libc::getifaddrs(&mut head) != 0 {
                return Err(format!(
                    "sockaddr: getifaddrs: {}",
                    super::go_errno(&std::io::Error::last_os_error())
                ));
            }
            let mut cur = head;
            while let Some(ifa) = cur.as_ref() {
                cur = ifa.ifa_next;
                let flags = ifa.ifa_flags as libc::c_int;
                let up = flags & libc::IFF_UP != 0 && flags & libc::IFF_LOOPBACK == 0;
                if !up || ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                    continue;
                }
                let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                let ip = match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        IpAddr::from(u32::from_be(sa.sin_addr.s_addr).to_be_bytes())
                    }
                    libc::AF_INET6 => {
                        let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        IpAddr::from(sa.sin6_addr.s6_addr)
                    }
                    _ => continue,
                };
                list.push((name, ip));
            }
            libc::freeifaddrs(head);
        }
        if let Some(def) = default_interface() {
            list.sort_by_key(|(name, _)| *name != def);
        }
        Ok(list)
    }
}

// ------------------------------------------------------------------------------------------------
// Sprig (§3.9), prefixed `sprig_`

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

fn register_sprig(funcs: &mut FuncMap) {
    register_sprig_dicts(funcs);
    register_sprig_lists(funcs);
    register_sprig_strings(funcs);
    register_sprig_numbers(funcs);
    register_sprig_regex(funcs);
}

fn register_sprig_dicts(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    sdef(funcs, "list", AtLeast(0), |a| Ok(Value::list(a.to_vec())));
    sdef(funcs, "dict", AtLeast(0), |a| {
        let mut m = Map::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or(Value::str(""));
            m.insert(strval(&pair[0]).into(), value);
        }
        Ok(GoMap::new(m))
    });
    sdef(funcs, "get", Exact(2), |a| {
        let key = string_arg(&a[1])?;
        Ok(map_arg(&a[0])?
            .get(&*key)
            .cloned()
            .unwrap_or(Value::str("")))
    });
    sdef(funcs, "set", Exact(3), |a| {
        let key: Arc<str> = string_arg(&a[1])?.into();
        with_map_mut(&a[0], |m| {
            m.insert(key, a[2].clone());
        })
    });
    sdef(funcs, "unset", Exact(2), |a| {
        let key = string_arg(&a[1])?;
        with_map_mut(&a[0], |m| {
            m.remove(&*key);
        })
    });
    sdef(funcs, "hasKey", Exact(2), |a| {
        let key = string_arg(&a[1])?;
        Ok(Value::Bool(map_arg(&a[0])?.contains_key(&*key)))
    });
    sdef(funcs, "keys", AtLeast(0), |a| {
        let mut keys = Vec::new();
        for d in a {
            keys.extend(map_arg(d)?.into_keys().map(Value::Str));
        }
        Ok(Value::list(keys))
    });
    sdef(funcs, "values", Exact(1), |a| {
        Ok(Value::list(map_arg(&a[0])?.into_values().collect()))
    });
    sdef(funcs, "pluck", AtLeast(1), |a| {
        let name = string_arg(&a[0])?;
        let mut found = Vec::new();
        for d in &a[1..] {
            found.extend(map_arg(d)?.get(&*name).cloned());
        }
        Ok(Value::list(found))
    });
    sdef(funcs, "merge", AtLeast(1), |a| {
        let srcs = a[1..].iter().map(map_arg).collect::<Result<Vec<_>, _>>()?;
        with_map_mut(&a[0], |m| {
            for src in &srcs {
                merge_into(m, src, false);
            }
        })
    });
    sdef(funcs, "default", AtLeast(1), |a| {
        Ok(match a.get(1) {
            Some(given) if !sprig_empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    });
    sdef(funcs, "empty", Exact(1), |a| {
        Ok(Value::Bool(sprig_empty(&a[0])))
    });
    sdef(funcs, "coalesce", AtLeast(0), |a| {
        Ok(a.iter()
            .find(|v| !sprig_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    sdef(funcs, "ternary", Exact(3), |a| match &a[2] {
        Value::Bool(b) => Ok(if *b { a[0].clone() } else { a[1].clone() }),
        v => Err(wrong_type("bool", v)),
    });
}

/// sprig's `empty`: the zero value of its type (a record pointer never is).
fn sprig_empty(v: &Value) -> bool {
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

/// The items of a list argument to a sprig list function (`what` names it in the error).
fn sprig_list(v: &Value, what: &str) -> Result<Arc<Vec<Value>>, FuncError> {
    if matches!(v, Value::Nil | Value::Missing) {
        return fail(NIL_DEREF);
    }
    list_items(v).ok_or_else(|| FuncError(format!("Cannot find {what} on type {}", kind_name(v))))
}

/// Go's `reflect.DeepEqual` on template values.
fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let deep_equal = |p: &Value, q: &Value| deep_equal_at(p, q, depth + 1);
    let (a, b) = (plain_map(a), plain_map(b));
    match (&*a, &*b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Byte(x), Value::Byte(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (x @ (Value::Str(_) | Value::Bytes(_)), y @ (Value::Str(_) | Value::Bytes(_))) => {
            x.as_bytes() == y.as_bytes()
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Record(x), Value::Record(y)) => {
            x.ty.name == y.ty.name
                && x.values
                    .iter()
                    .zip(y.values.iter())
                    .all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && deep_equal(&x.underlying(), &y.underlying())
        }
        _ => false,
    }
}

/// A [`GoMap`] as the plain map it holds (both are Go's `map[string]interface{}`).
fn plain_map(v: &Value) -> Cow<'_, Value> {
    match go_map(v) {
        Some(m) => Cow::Owned(Value::Map(Arc::new(m.snapshot()))),
        None => Cow::Borrowed(v),
    }
}

fn register_sprig_lists(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    type ListFn = (&'static str, fn(&[Value]) -> Value);
    let ends: [ListFn; 4] = [
        ("first", |l| l.first().cloned().unwrap_or(Value::Nil)),
        ("last", |l| l.last().cloned().unwrap_or(Value::Nil)),
        ("rest", |l| {
            Value::list(l.get(1..).unwrap_or_default().to_vec())
        }),
        ("initial", |l| {
            Value::list(
                l.get(..l.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            )
        }),
    ];
    for (name, f) in ends {
        sdef(funcs, name, Exact(1), move |a| {
            Ok(f(&sprig_list(&a[0], name)?))
        });
    }
    sdef(funcs, "uniq", Exact(1), |a| {
        let mut out: Vec<Value> = Vec::new();
        for item in sprig_list(&a[0], "uniq")?.iter() {
            if !out.iter().any(|o| deep_equal(o, item)) {
                out.push(item.clone());
            }
        }
        Ok(Value::list(out))
    });
    sdef(funcs, "has", Exact(2), |a| {
        if matches!(a[1], Value::Nil) {
            return Ok(Value::Bool(false));
        }
        let items = sprig_list(&a[1], "has")?;
        Ok(Value::Bool(items.iter().any(|i| deep_equal(&a[0], i))))
    });
    sdef(funcs, "without", AtLeast(1), |a| {
        let items = sprig_list(&a[0], "without")?;
        let kept = items
            .iter()
            .filter(|i| !a[1..].iter().any(|o| deep_equal(o, i)))
            .cloned()
            .collect();
        Ok(Value::list(kept))
    });
    sdef(funcs, "compact", Exact(1), |a| {
        let items = sprig_list(&a[0], "compact")?;
        Ok(Value::list(
            items.iter().filter(|i| !sprig_empty(i)).cloned().collect(),
        ))
    });
    for name in ["append", "push"] {
        sdef(funcs, name, Exact(2), move |a| {
            let mut items = sprig_list(&a[0], "push")?.to_vec();
            items.push(a[1].clone());
            Ok(Value::list(items))
        });
    }
    sdef(funcs, "prepend", Exact(2), |a| {
        let mut items = vec![a[1].clone()];
        items.extend(sprig_list(&a[0], "prepend")?.iter().cloned());
        Ok(Value::list(items))
    });
    sdef(funcs, "concat", AtLeast(0), |a| {
        let mut out = Vec::new();
        for l in a {
            match list_items(l) {
                Some(items) => out.extend(items.iter().cloned()),
                None if matches!(l, Value::Nil) => return fail(NIL_DEREF),
                None => return fail(format!("Cannot concat type {} as list", kind_name(l))),
            }
        }
        Ok(Value::list(out))
    });
    sdef(funcs, "reverse", Exact(1), |a| {
        let mut items = sprig_list(&a[0], "reverse")?.to_vec();
        items.reverse();
        Ok(Value::list(items))
    });
}

fn register_sprig_strings(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    let unary: [StrFn; 5] = [
        ("upper", go_to_upper),
        ("lower", go_to_lower),
        ("title", strings_title),
        ("trim", |s| s.trim().to_string()),
        ("nospace", |s| {
            s.chars().filter(|c| !c.is_whitespace()).collect()
        }),
    ];
    for (name, f) in unary {
        sdef(funcs, name, Exact(1), move |a| {
            Ok(Value::from(f(&string_arg(&a[0])?)))
        });
    }
    // (cut, s) → result, for the two-string functions whose string comes last.
    type PairFn = (&'static str, fn(&str, &str) -> Value);
    let binary: [PairFn; 6] = [
        ("trimAll", |c, s| {
            Value::str(s.trim_matches(|x| c.contains(x)))
        }),
        ("trimPrefix", |p, s| {
            Value::str(s.strip_prefix(p).unwrap_or(s))
        }),
        ("trimSuffix", |p, s| {
            Value::str(s.strip_suffix(p).unwrap_or(s))
        }),
        ("contains", |sub, s| Value::Bool(s.contains(sub))),
        ("hasPrefix", |p, s| Value::Bool(s.starts_with(p))),
        ("hasSuffix", |p, s| Value::Bool(s.ends_with(p))),
    ];
    for (name, f) in binary {
        sdef(funcs, name, Exact(2), move |a| {
            Ok(f(&string_arg(&a[0])?, &string_arg(&a[1])?))
        });
    }
    sdef(funcs, "replace", Exact(3), |a| {
        let (old, new) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::from(string_arg(&a[2])?.replace(&*old, &new)))
    });
    sdef(funcs, "repeat", Exact(2), |a| {
        let n = int_arg(&a[0])?;
        if n < 0 {
            return fail("strings: negative Repeat count");
        }
        let s = bytes_arg(&a[1])?;
        check_size(n, s.len())?;
        Ok(Value::from_bytes(&s.repeat(n as usize)))
    });
    sdef(funcs, "substr", Exact(3), |a| {
        let (start, end) = (int_arg(&a[0])?, int_arg(&a[1])?);
        let s = bytes_arg(&a[2])?;
        let len = s.len() as i64;
        let (from, to) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        go_slice(s, from, to)
    });
    sdef(funcs, "trunc", Exact(2), |a| {
        let c = int_arg(&a[0])?;
        let s = bytes_arg(&a[1])?;
        let len = s.len() as i64;
        let (from, to) = match c {
            c if c < 0 && len.saturating_add(c) > 0 => (len + c, len),
            c if c >= 0 && len > c => (0, c),
            _ => (0, len),
        };
        go_slice(s, from, to)
    });
    sdef(funcs, "quote", AtLeast(0), |a| {
        let quoted: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| printf::quote(&strval(v)))
            .collect();
        Ok(Value::from(quoted.join(" ")))
    });
    sdef(funcs, "squote", AtLeast(0), |a| {
        let quoted: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(Value::from(quoted.join(" ")))
    });
    sdef(funcs, "cat", AtLeast(0), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(Value::to_go_string)
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    for (name, lead) in [("indent", ""), ("nindent", "\n")] {
        sdef(funcs, name, Exact(2), move |a| {
            let n = int_arg(&a[0])?;
            let s = string_arg(&a[1])?;
            check_size(n, s.len())?;
            let pad = " ".repeat(usize::try_from(n).unwrap_or(0));
            Ok(Value::from(format!(
                "{lead}{pad}{}",
                s.replace('\n', &format!("\n{pad}"))
            )))
        });
    }
    sdef(funcs, "join", Exact(2), |a| {
        Ok(Value::from(strslice(&a[1]).join(&string_arg(&a[0])?)))
    });
    sdef(funcs, "splitList", Exact(2), |a| {
        let (sep, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::list(
            go_split(&s, &sep).into_iter().map(Value::str).collect(),
        ))
    });
    sdef(funcs, "split", Exact(2), |a| {
        let (sep, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::map(
            go_split(&s, &sep)
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::str(p))),
        ))
    });
    sdef(funcs, "b64enc", Exact(1), |a| {
        Ok(Value::from(base64_encode(bytes_arg(&a[0])?, STD_ALPHABET)))
    });
    // sprig returns the error text as the result.
    sdef(funcs, "b64dec", Exact(1), |a| {
        match base64_decode(bytes_arg(&a[0])?, STD_ALPHABET) {
            Ok(bytes) => Ok(Value::from_bytes(&bytes)),
            Err(at) => Ok(Value::from(format!(
                "illegal base64 data at input byte {at}"
            ))),
        }
    });
    // sprig drops encoding errors: the result is then empty.
    sdef(funcs, "toJson", Exact(1), |a| {
        Ok(Value::from(to_json(&a[0], true, false).unwrap_or_default()))
    });
    sdef(funcs, "toPrettyJson", Exact(1), |a| {
        Ok(Value::from(to_json(&a[0], true, true).unwrap_or_default()))
    });
    sdef(funcs, "toString", Exact(1), |a| {
        Ok(Value::from(strval(&a[0])))
    });
    sdef(funcs, "toStrings", Exact(1), |a| {
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    sdef(funcs, "sha256sum", Exact(1), |a| {
        Ok(Value::from(hex(&sha256(bytes_arg(&a[0])?))))
    });
}

/// `s[from:to]` on bytes, with Go's panic text when out of range.
fn go_slice(s: &[u8], from: i64, to: i64) -> Res {
    if from < 0 || to < 0 || to > s.len() as i64 || from > to {
        let msg = if to > s.len() as i64 {
            format!(
                "runtime error: slice bounds out of range [:{to}] with length {}",
                s.len()
            )
        } else {
            format!("runtime error: slice bounds out of range [{from}:{to}]")
        };
        return fail(msg);
    }
    Ok(Value::from_bytes(&s[from as usize..to as usize]))
}

/// Go's deprecated `strings.Title`: the letter after a separator in title case.
fn strings_title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_char(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// spf13/cast's `ToInt64`: numbers truncated, bools 1/0, strings in Go syntax (base prefixes,
/// `1.0`), anything else 0.
fn cast_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Byte(b) => i64::from(*b),
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(_) | Value::Bytes(_) => {
            parse_int_base0(&trim_zero_decimal(&lossy(v))).unwrap_or(0)
        }
        _ => 0,
    }
}

fn cast_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Byte(b) => f64::from(*b),
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(_) | Value::Bytes(_) => go_parse_float(&lossy(v)).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// cast's `trimZeroDecimal`: `"12.00"` → `"12"`.
fn trim_zero_decimal(s: &str) -> String {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (0..b.len()).rev() {
        match b[i] {
            b'.' if found_zero => return s[..i].to_string(),
            b'.' => return s.to_string(),
            b'0' => found_zero = true,
            _ => return s.to_string(),
        }
    }
    s.to_string()
}

/// `strconv.ParseInt(s, 0, 64)`: `0x`, `0o`, `0b` and leading-`0` octal, `_` separators.
fn parse_int_base0(s: &str) -> Option<i64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let t = s.replace('_', "");
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, &t[..]),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = match lower.as_bytes() {
        [b'0', b'x', ..] => (16, &lower[2..]),
        [b'0', b'o', ..] => (8, &lower[2..]),
        [b'0', b'b', ..] => (2, &lower[2..]),
        [b'0', _, ..] => (8, &lower[1..]),
        _ => (10, &lower[..]),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let u = u64::from_str_radix(digits, radix).ok()?;
    let limit = if neg { 1u64 << 63 } else { (1u64 << 63) - 1 };
    (u <= limit).then(|| {
        if neg {
            (u as i64).wrapping_neg()
        } else {
            u as i64
        }
    })
}

fn register_sprig_numbers(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    for name in ["int", "int64"] {
        sdef(funcs, name, Exact(1), |a| Ok(Value::Int(cast_int(&a[0]))));
    }
    sdef(funcs, "float64", Exact(1), |a| {
        Ok(Value::Float(cast_float(&a[0])))
    });
    sdef(funcs, "atoi", Exact(1), |a| {
        Ok(Value::Int(
            go_parse_int(&string_arg(&a[0])?, "Atoi").unwrap_or(0),
        ))
    });
    sdef(funcs, "add", AtLeast(0), |a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |s, v| s.wrapping_add(cast_int(v))),
        ))
    });
    sdef(funcs, "add1", Exact(1), |a| {
        Ok(Value::Int(cast_int(&a[0]).wrapping_add(1)))
    });
    sdef(funcs, "sub", Exact(2), |a| {
        Ok(Value::Int(cast_int(&a[0]).wrapping_sub(cast_int(&a[1]))))
    });
    sdef(funcs, "mul", AtLeast(1), |a| {
        Ok(Value::Int(
            a.iter().fold(1i64, |p, v| p.wrapping_mul(cast_int(v))),
        ))
    });
    sdef(funcs, "div", Exact(2), |a| {
        Ok(Value::Int(int_op(
            MathOp::Div,
            cast_int(&a[0]),
            cast_int(&a[1]),
        )?))
    });
    sdef(funcs, "mod", Exact(2), |a| {
        Ok(Value::Int(int_op(
            MathOp::Mod,
            cast_int(&a[0]),
            cast_int(&a[1]),
        )?))
    });
    sdef(funcs, "max", AtLeast(1), |a| {
        Ok(Value::Int(a.iter().map(cast_int).max().unwrap_or(0)))
    });
    sdef(funcs, "min", AtLeast(1), |a| {
        Ok(Value::Int(a.iter().map(cast_int).min().unwrap_or(0)))
    });
    sdef(funcs, "until", Exact(1), |a| {
        let n = int_arg(&a[0])?;
        int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?)
    });
    sdef(funcs, "untilStep", Exact(3), |a| {
        int_list(until_step(
            int_arg(&a[0])?,
            int_arg(&a[1])?,
            int_arg(&a[2])?,
        )?)
    });
    sdef(funcs, "seq", AtLeast(0), |a| {
        let p = a.iter().map(int_arg).collect::<Result<Vec<_>, _>>()?;
        let range = match p[..] {
            [end] => {
                let inc = if end < 1 { -1 } else { 1 };
                until_step(1, end.saturating_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(start, end.saturating_add(step), step)?
            }
            [start, step, end] if !(end < start && step > 0) => {
                let inc = if end < start { -1 } else { 1 };
                until_step(start, end.saturating_add(inc), step)?
            }
            _ => Vec::new(),
        };
        let shown: Vec<String> = range.iter().map(i64::to_string).collect();
        Ok(Value::from(shown.join(" ")))
    });
}

/// sprig's `untilStep` (a step away from `stop` gives nothing), bounded like `loop`.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let going_up = stop >= start;
    if (going_up && step <= 0) || (!going_up && step >= 0) {
        return Ok(Vec::new());
    }
    let count = (stop.abs_diff(start)).div_ceil(step.unsigned_abs());
    if count > LOOP_LIMIT as u64 {
        return fail(format!("more than {LOOP_LIMIT} items"));
    }
    let at = |i: u64| (i128::from(start) + i128::from(i) * i128::from(step)) as i64;
    Ok((0..count).map(at).collect())
}

fn int_list(v: Vec<i64>) -> Res {
    Ok(Value::list(v.into_iter().map(Value::Int).collect()))
}

fn register_sprig_regex(funcs: &mut FuncMap) {
    use Arity::Exact;
    // sprig compiles with `MustCompile`, whose panic message the template reports.
    let must = |re: &str| -> Result<Regex, FuncError> {
        go_regex(re).map_err(|e| {
            let shown = if re.contains('`') || re.chars().any(|c| c.is_control() && c != '\t') {
                printf::quote(re)
            } else {
                format!("`{re}`")
            };
            FuncError(format!("regexp: Compile({shown}): {e}"))
        })
    };
    sdef(funcs, "regexMatch", Exact(2), |a| {
        let re = go_regex(&string_arg(&a[0])?);
        Ok(Value::Bool(re.is_ok_and(|re| {
            re.is_match(&string_arg(&a[1]).unwrap_or_default())
        })))
    });
    sdef(funcs, "regexFind", Exact(2), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        Ok(Value::str(re.find(&s).map_or("", |m| m.as_str())))
    });
    sdef(funcs, "regexFindAll", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        let n = int_arg(&a[2])?;
        let limit = if n < 0 { None } else { Some(n as usize) };
        let found = go_find_all(&re, &s, limit);
        Ok(Value::list(
            found
                .into_iter()
                .map(|(b, e)| Value::str(&s[b..e]))
                .collect(),
        ))
    });
    sdef(funcs, "regexReplaceAll", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let (s, repl) = (string_arg(&a[1])?, string_arg(&a[2])?);
        Ok(Value::from(go_replace_all(&re, &s, &repl)))
    });
    sdef(funcs, "regexSplit", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        let parts = go_regex_split(&re, &s, int_arg(&a[2])?);
        Ok(Value::list(parts.into_iter().map(Value::str).collect()))
    });
}

// ------------------------------------------------------------------------------------------------
// YAML: gopkg.in/yaml.v2's output, and a parser for the YAML templates meet

mod yaml {
    use super::*;

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
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => return Resolved::Bool(false),
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

    // --------------------------------------------------------------------------------------------
    // Emitter: the parts of libyaml's emitter that yaml.v2's `Marshal` output goes through.

    const BEST_INDENT: i64 = 2;
    const BEST_WIDTH: usize = 80;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Style {
        Plain,
        Single,
        Double,
        Literal,
    }

    /// What libyaml's `analyze_scalar` learns about a scalar.
    struct Analysis {
        multiline: bool,
        block_plain: bool,
        single: bool,
        block: bool,
    }

    fn is_break(c: char) -> bool {
        matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    }

    fn is_blank_or_end(c: Option<char>) -> bool {
        c.is_none_or(|c| c == ' ' || c == '\t' || c == '\0' || is_break(c))
    }

    /// yaml.v2's `is_printable` (characters beyond the BMP are not).
    fn is_printable(c: char) -> bool {
        matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}')
            || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
    }

    fn analyze(value: &str) -> Analysis {
        if value.is_empty() {
            return Analysis {
                multiline: false,
                block_plain: true,
                single: true,
                block: false,
            };
        }
        let chars: Vec<char> = value.chars().collect();
        // Only block context matters here: the indicators that keep a scalar from being plain.
        let mut block_ind = value.starts_with("---") || value.starts_with("...");
        let (mut line_breaks, mut special) = (false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut prev_space, mut prev_break) = (false, false);
        let mut preceded_by_ws = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_ws = is_blank_or_end(chars.get(i + 1).copied());
            let last = i + 1 == chars.len();
            block_ind |= match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`'
                    if i == 0 =>
                {
                    true
                }
                '?' | '-' if i == 0 => followed_by_ws,
                ':' => followed_by_ws,
                '#' => preceded_by_ws,
                _ => false,
            };
            if !is_printable(c) {
                special = true;
            }
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= prev_break;
                (prev_space, prev_break) = (true, false);
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= prev_space;
                (prev_space, prev_break) = (false, true);
            } else {
                (prev_space, prev_break) = (false, false);
            }
            preceded_by_ws = is_blank_or_end(Some(c));
        }
        let mut a = Analysis {
            multiline: line_breaks,
            block_plain: true,
            single: true,
            block: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain = false;
        }
        if trailing_space {
            a.block = false;
        }
        if break_space {
            a.block_plain = false;
            a.single = false;
        }
        if space_break || special {
            a.block_plain = false;
            a.single = false;
            a.block = false;
        }
        if line_breaks {
            a.block_plain = false;
        }
        if block_ind {
            a.block_plain = false;
        }
        a
    }

    #[derive(Default)]
    struct Emitter {
        out: String,
        column: usize,
        indent: i64,
        indents: Vec<i64>,
        whitespace: bool,
        indention: bool,
        mapping_context: bool,
        simple_key_context: bool,
    }

    /// `yaml.Marshal`.
    pub(super) fn emit(v: &Value) -> Result<String, String> {
        let mut e = Emitter {
            indent: -1,
            whitespace: true,
            indention: true,
            ..Emitter::default()
        };
        e.node(v, false, false)?;
        e.write_indent();
        Ok(e.out)
    }

    /// A map's keys in yaml.v2's order: digit runs compare as numbers, letters after other
    /// characters.
    fn key_less(ar: &[char], br: &[char]) -> bool {
        for i in 0..ar.len().min(br.len()) {
            if ar[i] == br[i] {
                continue;
            }
            let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
            if al && bl {
                return ar[i] < br[i];
            }
            if al || bl {
                return bl;
            }
            let (mut an, mut bn) = (0i64, 0i64);
            if ar[i] == '0' || br[i] == '0' {
                for j in (0..i).rev() {
                    if !ar[j].is_ascii_digit() {
                        break;
                    }
                    if ar[j] != '0' {
                        (an, bn) = (1, 1);
                        break;
                    }
                }
            }
            let number = |r: &[char], n: &mut i64| {
                let mut k = i;
                while k < r.len() && r[k].is_ascii_digit() {
                    *n = n
                        .wrapping_mul(10)
                        .wrapping_add(i64::from(r[k] as u8 - b'0'));
                    k += 1;
                }
                k
            };
            let (ai, bi) = (number(ar, &mut an), number(br, &mut bn));
            if an != bn {
                return an < bn;
            }
            if ai != bi {
                return ai < bi;
            }
            return ar[i] < br[i];
        }
        ar.len() < br.len()
    }

    /// Sorts as Go's `sort.Sort` does up to 12 items (insertion sort), which decides the order
    /// where yaml.v2's comparison is not transitive (`a10`, `a1b`, `a9`); longer lists are
    /// merge-sorted.
    fn go_sort<T>(items: &mut Vec<T>, less: &impl Fn(&T, &T) -> bool) {
        if items.len() <= 12 {
            for i in 1..items.len() {
                let mut j = i;
                while j > 0 && less(&items[j], &items[j - 1]) {
                    items.swap(j, j - 1);
                    j -= 1;
                }
            }
            return;
        }
        let mut right = items.split_off(items.len() / 2);
        go_sort(items, less);
        go_sort(&mut right, less);
        let left = std::mem::take(items);
        let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
        while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
            let next = if less(b, a) { r.next() } else { l.next() };
            items.extend(next);
        }
        items.extend(l.chain(r));
    }

    impl Emitter {
        fn put(&mut self, c: char) {
            self.out.push(c);
            self.column += 1;
        }

        fn put_break(&mut self) {
            self.out.push('\n');
            self.column = 0;
        }

        fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
            if need_ws && !self.whitespace {
                self.put(' ');
            }
            ind.chars().for_each(|c| self.put(c));
            self.whitespace = is_ws;
            self.indention = self.indention && is_indention;
        }

        fn write_indent(&mut self) {
            let indent = self.indent.max(0) as usize;
            if !self.indention
                || self.column > indent
                || (self.column == indent && !self.whitespace)
            {
                self.put_break();
            }
            while self.column < indent {
                self.put(' ');
            }
            self.whitespace = true;
            self.indention = true;
        }

        fn increase_indent(&mut self, flow: bool, indentless: bool) {
            self.indents.push(self.indent);
            if self.indent < 0 {
                self.indent = if flow { BEST_INDENT } else { 0 };
            } else if !indentless {
                self.indent += BEST_INDENT;
            }
        }

        fn pop_indent(&mut self) {
            self.indent = self.indents.pop().unwrap_or(-1);
        }

        fn node(&mut self, v: &Value, mapping: bool, simple_key: bool) -> Result<(), String> {
            if self.indents.len() > MAX_DEPTH {
                return Err("yaml: exceeded max depth (is a map holding itself?)".into());
            }
            self.mapping_context = mapping;
            self.simple_key_context = simple_key;
            match v {
                Value::Missing | Value::Nil => self.scalar("null", Style::Plain, None),
                Value::Bool(b) => {
                    self.scalar(if *b { "true" } else { "false" }, Style::Plain, None)
                }
                Value::Int(i) => self.scalar(&i.to_string(), Style::Plain, None),
                Value::Uint(u) => self.scalar(&u.to_string(), Style::Plain, None),
                Value::Byte(b) => self.scalar(&b.to_string(), Style::Plain, None),
                Value::Float(f) => {
                    let s = match printf::format_float(*f, b'g', -1).as_str() {
                        "+Inf" => ".inf".to_string(),
                        "-Inf" => "-.inf".to_string(),
                        "NaN" => ".nan".to_string(),
                        s => s.to_string(),
                    };
                    self.scalar(&s, Style::Plain, None)
                }
                Value::Str(s) => self.string(s),
                Value::Bytes(b) => {
                    let encoded = base64_encode(b, STD_ALPHABET);
                    self.scalar(&encoded, Style::Plain, Some("!!binary"))
                }
                Value::List(items) => return self.sequence(items),
                Value::Map(m) => {
                    let mut keys: Vec<(Vec<char>, &Arc<str>)> =
                        m.keys().map(|k| (k.chars().collect(), k)).collect();
                    go_sort(&mut keys, &|a, b| key_less(&a.0, &b.0));
                    let entries: Vec<(String, &Value)> = keys
                        .into_iter()
                        .map(|(_, k)| (k.to_string(), &m[k]))
                        .collect();
                    return self.mapping(&entries);
                }
                Value::Record(r) => {
                    // yaml.v2 names a field by its lower-cased name.
                    let entries: Vec<(String, &Value)> =
                        r.ty.fields
                            .iter()
                            .map(|f| f.to_lowercase())
                            .zip(r.values.iter())
                            .collect();
                    return self.mapping(&entries);
                }
                Value::Object(o) => return self.node(&o.underlying(), mapping, simple_key),
                Value::Func(_) => return Err(format!("cannot marshal type: {}", v.type_name())),
            }
            Ok(())
        }

        /// yaml.v2's `stringv`: plain when it reads back as the same string, a literal block
        /// when it has line breaks, else double-quoted.
        fn string(&mut self, s: &str) {
            let can_plain = resolve(s) == Resolved::Str { timestamp: false } && !is_base60_float(s);
            let style = if s.contains('\n') {
                Style::Literal
            } else if can_plain {
                Style::Plain
            } else {
                Style::Double
            };
            self.scalar(s, style, None);
        }

        fn sequence(&mut self, items: &[Value]) -> Result<(), String> {
            if items.is_empty() {
                return self.empty_flow("[", "]");
            }
            let indentless = self.mapping_context && !self.indention;
            self.increase_indent(false, indentless);
            for item in items {
                self.write_indent();
                self.write_indicator("-", true, false, true);
                self.node(item, false, false)?;
            }
            self.pop_indent();
            Ok(())
        }

        fn mapping(&mut self, entries: &[(String, &Value)]) -> Result<(), String> {
            if entries.is_empty() {
                return self.empty_flow("{", "}");
            }
            self.increase_indent(false, false);
            for (key, value) in entries {
                self.write_indent();
                let simple = key.chars().count() <= 128 && !analyze(key).multiline;
                if simple {
                    self.node(&Value::str(key), true, true)?;
                    self.write_indicator(":", false, false, false);
                } else {
                    self.write_indicator("?", true, false, true);
                    self.node(&Value::str(key), true, false)?;
                    self.write_indent();
                    self.write_indicator(":", true, false, true);
                }
                self.node(value, true, false)?;
            }
            self.pop_indent();
            Ok(())
        }

        fn empty_flow(&mut self, open: &str, close: &str) -> Result<(), String> {
            self.write_indicator(open, true, true, false);
            self.write_indicator(close, false, false, false);
            Ok(())
        }

        fn scalar(&mut self, value: &str, requested: Style, tag: Option<&str>) {
            let a = analyze(value);
            let mut style = requested;
            if self.simple_key_context && a.multiline {
                style = Style::Double;
            }
            // (Everything is in block context: only empty collections are flow, `[]` and `{}`.)
            if style == Style::Plain
                && (!a.block_plain || (value.is_empty() && self.simple_key_context))
            {
                style = Style::Single;
            }
            if style == Style::Single && !a.single {
                style = Style::Double;
            }
            if style == Style::Literal && (!a.block || self.simple_key_context) {
                style = Style::Double;
            }
            if let Some(tag) = tag {
                self.write_indicator(tag, true, false, false);
            }
            self.increase_indent(true, false);
            let allow_breaks = !self.simple_key_context;
            match style {
                Style::Plain => self.write_plain(value, allow_breaks),
                Style::Single => self.write_single(value, allow_breaks),
                Style::Double => self.write_double(value, allow_breaks),
                Style::Literal => self.write_literal(value),
            }
            self.pop_indent();
        }

        fn write_plain(&mut self, value: &str, allow_breaks: bool) {
            if !self.whitespace {
                self.put(' ');
            }
            let chars: Vec<char> = value.chars().collect();
            let mut spaces = false;
            for (i, &c) in chars.iter().enumerate() {
                if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > BEST_WIDTH
                        && chars.get(i + 1) != Some(&' ')
                    {
                        self.write_indent();
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else {
                    self.put(c);
                    self.indention = false;
                    spaces = false;
                }
            }
            self.whitespace = false;
            self.indention = false;
        }

        fn write_single(&mut self, value: &str, allow_breaks: bool) {
            self.write_indicator("'", true, false, false);
            let chars: Vec<char> = value.chars().collect();
            let mut spaces = false;
            for (i, &c) in chars.iter().enumerate() {
                if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > BEST_WIDTH
                        && i > 0
                        && i + 1 < chars.len()
                        && chars[i + 1] != ' '
                    {
                        self.write_indent();
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else {
                    if c == '\'' {
                        self.put('\'');
                    }
                    self.put(c);
                    self.indention = false;
                    spaces = false;
                }
            }
            self.write_indicator("'", false, false, false);
        }

        fn write_double(&mut self, value: &str, allow_breaks: bool) {
            self.write_indicator("\"", true, false, false);
            let chars: Vec<char> = value.chars().collect();
            let mut spaces = false;
            for (i, &c) in chars.iter().enumerate() {
                if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                    self.put('\\');
                    let short = match c {
                        '\0' => Some('0'),
                        '\x07' => Some('a'),
                        '\x08' => Some('b'),
                        '\t' => Some('t'),
                        '\n' => Some('n'),
                        '\x0b' => Some('v'),
                        '\x0c' => Some('f'),
                        '\r' => Some('r'),
                        '\x1b' => Some('e'),
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '\u{85}' => Some('N'),
                        '\u{a0}' => Some('_'),
                        '\u{2028}' => Some('L'),
                        '\u{2029}' => Some('P'),
                        _ => None,
                    };
                    match short {
                        Some(s) => self.put(s),
                        None => {
                            let v = c as u32;
                            let (mark, width) = match v {
                                0..=0xff => ('x', 2),
                                0x100..=0xffff => ('u', 4),
                                _ => ('U', 8),
                            };
                            self.put(mark);
                            format!("{v:0width$X}").chars().for_each(|d| self.put(d));
                        }
                    }
                    spaces = false;
                } else if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > BEST_WIDTH
                        && i > 0
                        && i + 1 < chars.len()
                    {
                        self.write_indent();
                        if chars[i + 1] == ' ' {
                            self.put('\\');
                        }
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else {
                    self.put(c);
                    spaces = false;
                }
            }
            self.write_indicator("\"", false, false, false);
        }

        fn write_literal(&mut self, value: &str) {
            self.write_indicator("|", true, false, false);
            let chars: Vec<char> = value.chars().collect();
            if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
                self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
            }
            let chomp = match chars.as_slice() {
                [] => Some("-"),
                [.., last] if !is_break(*last) => Some("-"),
                [_] => Some("+"),
                [.., prev, _] if is_break(*prev) => Some("+"),
                _ => None,
            };
            if let Some(chomp) = chomp {
                self.write_indicator(chomp, false, false, false);
            }
            self.put_break();
            self.indention = true;
            self.whitespace = true;
            let mut breaks = true;
            for &c in &chars {
                if is_break(c) {
                    if c == '\n' {
                        self.put_break();
                    } else {
                        self.out.push(c);
                        self.column = 0;
                    }
                    self.indention = true;
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent();
                    }
                    self.put(c);
                    self.indention = false;
                    breaks = false;
                }
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // Parser: block and flow collections, plain, quoted and block scalars, comments, anchors and
    // aliases, `<<` merges and `!!str`/`!!binary` tags; the first document only, decoded as
    // yaml.v2 decodes into `interface{}` (map keys become strings).

    type PResult<T> = Result<T, String>;

    /// Errors carry their kind in a first character, because yaml.v2 words their lines
    /// differently: a scanner error gives the 1-based line, a parser error the 0-based one, and
    /// neither is shown when it would be 0 (or for a composer error such as an unknown anchor).
    fn scanner_error(msg: &str) -> String {
        format!("S{msg}")
    }

    fn parser_error(msg: &str) -> String {
        format!("P{msg}")
    }

    fn no_line_error(msg: &str) -> String {
        format!("N{msg}")
    }

    /// `yaml.Unmarshal` into `interface{}`.
    pub(super) fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            src: text.strip_prefix('\u{feff}').unwrap_or(text),
            pos: 0,
            anchors: HashMap::new(),
            depth: 0,
        };
        p.document().map_err(|e| {
            // At the end of input libyaml's scanner starts a new line if the last one has text.
            let past_last_line = p.pos >= p.src.len() && !p.src.ends_with('\n');
            let zero_based = p.line() - 1 + usize::from(past_last_line && e.starts_with('P'));
            let (kind, msg) = e.split_at(1);
            let line = match kind {
                "S" if zero_based > 0 => zero_based + 1,
                "P" => zero_based,
                _ => 0,
            };
            match line {
                0 => format!("yaml: {msg}"),
                n => format!("yaml: line {n}: {msg}"),
            }
        })
    }

    struct Parser<'a> {
        src: &'a str,
        pos: usize,
        anchors: HashMap<String, Value>,
        depth: usize,
    }

    /// How deeply collections may nest: the parser recurses, and a thread's stack is small.
    const MAX_NESTING: usize = 200;

    /// A node's properties: `&anchor` and `!tag`.
    #[derive(Default)]
    struct Props {
        anchor: Option<String>,
        tag: Option<String>,
    }

    impl Parser<'_> {
        fn line(&self) -> usize {
            self.src[..self.pos.min(self.src.len())]
                .matches('\n')
                .count()
                + 1
        }

        fn peek(&self) -> Option<char> {
            self.src[self.pos..].chars().next()
        }

        fn peek_at(&self, n: usize) -> Option<char> {
            self.src[self.pos..].chars().nth(n)
        }

        fn bump(&mut self) {
            if let Some(c) = self.peek() {
                self.pos += c.len_utf8();
            }
        }

        fn rest(&self) -> &str {
            &self.src[self.pos..]
        }

        fn col(&self) -> usize {
            let start = self.src[..self.pos].rfind('\n').map_or(0, |i| i + 1);
            self.src[start..self.pos].chars().count()
        }

        fn line_start(&self) -> usize {
            self.src[..self.pos].rfind('\n').map_or(0, |i| i + 1)
        }

        fn skip_spaces(&mut self) {
            while matches!(self.peek(), Some(' ' | '\t')) {
                self.bump();
            }
        }

        /// At the end of the line: nothing but spaces and maybe a comment before it.
        fn at_line_end(&mut self) -> bool {
            self.skip_spaces();
            match self.peek() {
                None | Some('\n' | '\r') => true,
                Some('#') => {
                    let before = self.src[..self.pos].chars().next_back();
                    before.is_none_or(|c| c == ' ' || c == '\t' || c == '\n')
                }
                _ => false,
            }
        }

        fn skip_line(&mut self) {
            match self.rest().find('\n') {
                Some(i) => self.pos += i + 1,
                None => self.pos = self.src.len(),
            }
        }

        /// A `---` or `...` line: the document ends.
        fn at_document_marker(&self) -> bool {
            let r = self.rest();
            self.pos == self.line_start()
                && (r.starts_with("---") || r.starts_with("..."))
                && is_blank_or_end(r[3..].chars().next())
        }

        /// Moves to the first character of the next line with content and returns its column;
        /// `None` at the end of the document. Content left on the current line is an error.
        fn next_content_line(&mut self) -> PResult<Option<usize>> {
            let ls = self.line_start();
            if self.src[ls..self.pos].chars().any(|c| c != ' ') {
                if !self.at_line_end() {
                    return Err(parser_error("did not find expected key"));
                }
                self.skip_line();
            }
            loop {
                if self.pos == self.line_start() && self.at_document_marker() {
                    return Ok(None);
                }
                while self.peek() == Some(' ') {
                    self.bump();
                }
                match self.peek() {
                    None => return Ok(None),
                    Some('\n' | '\r' | '#') => self.skip_line(),
                    Some('\t') => {
                        if !self.at_line_end() {
                            return Err(scanner_error(
                                "found a tab character that violates indentation",
                            ));
                        }
                        self.skip_line();
                    }
                    Some(_) => return Ok(Some(self.col())),
                }
            }
        }

        fn document(&mut self) -> PResult<Value> {
            loop {
                match self.next_content_line()? {
                    Some(0) if self.peek() == Some('%') => self.skip_line(),
                    _ => break,
                }
            }
            let value = if self.at_document_marker() && self.rest().starts_with("---") {
                self.pos += 3;
                self.value_after_indicator(-1, false)?
            } else {
                match self.next_content_line()? {
                    Some(col) => self.node_at(col as i64, -1)?,
                    None => Value::Nil,
                }
            };
            match self.next_content_line()? {
                None => Ok(value),
                Some(_) => Err(parser_error("did not find expected <document start>")),
            }
        }

        fn is_seq_indicator(&self) -> bool {
            self.peek() == Some('-') && is_blank_or_end(self.peek_at(1))
        }

        /// The value after `key:`, `- ` or `---`: on this line, or an indented block below
        /// (`indentless` lets a sequence at the parent's column be a mapping's value).
        fn value_after_indicator(&mut self, parent: i64, indentless: bool) -> PResult<Value> {
            if !self.at_line_end() {
                let props = self.props()?;
                if props.anchor.is_some() || props.tag.is_some() {
                    let v = if self.at_line_end() {
                        self.value_below(parent, indentless)?
                    } else {
                        self.inline_node(parent)?
                    };
                    return self.apply(props, v);
                }
                return self.inline_node(parent);
            }
            self.value_below(parent, indentless)
        }

        fn value_below(&mut self, parent: i64, indentless: bool) -> PResult<Value> {
            match self.next_content_line()? {
                Some(col) if col as i64 > parent => self.node_at(col as i64, parent),
                Some(col) if col as i64 == parent && indentless && self.is_seq_indicator() => {
                    self.sequence(col as i64, true)
                }
                _ => Ok(Value::Nil),
            }
        }

        /// Runs `f` one nesting level deeper.
        fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
            if self.depth >= MAX_NESTING {
                return Err(no_line_error(&format!(
                    "exceeded max depth of {MAX_NESTING}"
                )));
            }
            self.depth += 1;
            let result = f(self);
            self.depth -= 1;
            result
        }

        /// A node starting at the current position, the first content at column `col`.
        fn node_at(&mut self, col: i64, parent: i64) -> PResult<Value> {
            self.nested(|p| p.node_at_here(col, parent))
        }

        fn node_at_here(&mut self, col: i64, parent: i64) -> PResult<Value> {
            if self.is_seq_indicator() {
                return self.sequence(col, false);
            }
            if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
                return self.mapping(col, None);
            }
            let props = self.props()?;
            let has_props = props.anchor.is_some() || props.tag.is_some();
            if has_props && self.at_line_end() {
                let v = self.value_below(parent, false)?;
                return self.apply(props, v);
            }
            let start = self.pos;
            let first = match self.peek() {
                Some('|' | '>') => {
                    return self.block_scalar(parent).and_then(|v| self.apply(props, v))
                }
                Some('[' | '{') => self.flow_node()?,
                Some('*') => self.alias()?,
                Some('"') => Value::from(self.double_quoted(parent)?),
                Some('\'') => Value::from(self.single_quoted(parent)?),
                _ => {
                    let s = self.plain_line(false);
                    self.skip_spaces();
                    if self.at_key_colon() {
                        let key = self.apply(props, plain_value(&s))?;
                        return self.mapping(col, Some(key));
                    }
                    self.pos = start;
                    let s = self.plain(parent, false)?;
                    return self.apply(props, plain_value(&s));
                }
            };
            let first = self.apply(props, first)?;
            self.skip_spaces();
            if self.at_key_colon() {
                return self.mapping(col, Some(first));
            }
            Ok(first)
        }

        /// A node on the line of its `key:`: no nested mapping can start here.
        fn inline_node(&mut self, parent: i64) -> PResult<Value> {
            let v = match self.peek() {
                Some('|' | '>') => self.block_scalar(parent)?,
                Some('[' | '{') => self.flow_node()?,
                Some('*') => self.alias()?,
                Some('"') => Value::from(self.double_quoted(parent)?),
                Some('\'') => Value::from(self.single_quoted(parent)?),
                Some('-') if is_blank_or_end(self.peek_at(1)) => {
                    return Err(scanner_error(
                        "block sequence entries are not allowed in this context",
                    ))
                }
                _ => plain_value(&self.plain(parent, false)?),
            };
            self.skip_spaces();
            if self.at_key_colon() {
                return Err(scanner_error(
                    "mapping values are not allowed in this context",
                ));
            }
            Ok(v)
        }

        /// At `:` followed by a blank (a block mapping's key ends here).
        fn at_key_colon(&self) -> bool {
            self.peek() == Some(':') && is_blank_or_end(self.peek_at(1))
        }

        fn props(&mut self) -> PResult<Props> {
            let mut props = Props::default();
            loop {
                match self.peek() {
                    Some('&') => {
                        self.bump();
                        props.anchor = Some(self.word());
                    }
                    Some('!') => props.tag = Some(self.word()),
                    _ => return Ok(props),
                }
                self.skip_spaces();
            }
        }

        /// An anchor name or tag: up to a blank or a flow indicator.
        fn word(&mut self) -> String {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if is_blank_or_end(Some(c)) || matches!(c, ',' | '[' | ']' | '{' | '}') {
                    break;
                }
                self.bump();
            }
            self.src[start..self.pos].to_string()
        }

        fn alias(&mut self) -> PResult<Value> {
            self.bump();
            let name = self.word();
            self.anchors
                .get(&name)
                .cloned()
                .ok_or_else(|| no_line_error(&format!("unknown anchor '{name}' referenced")))
        }

        /// Applies a tag (`!!str` keeps a plain scalar's text) and records an anchor.
        fn apply(&mut self, props: Props, v: Value) -> PResult<Value> {
            let v = match (props.tag.as_deref(), &v) {
                (Some("!!str" | "!str"), Value::Nil) => Value::str(""),
                (Some("!!str" | "!str"), Value::Str(_)) => v,
                (Some("!!str" | "!str"), other) => Value::from(other.to_go_string()),
                (Some("!!binary"), Value::Str(s)) => {
                    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                    let bytes = base64_decode(&clean, STD_ALPHABET).map_err(|_| {
                        no_line_error("!!binary value contains invalid base64 data")
                    })?;
                    Value::from_bytes(&bytes)
                }
                _ => v,
            };
            if let Some(a) = props.anchor {
                self.anchors.insert(a, v.clone());
            }
            Ok(v)
        }

        /// A block sequence at column `col`; an `indentless` one (a mapping's value at the
        /// mapping's column) ends at the next key, any other must go on with `-`.
        fn sequence(&mut self, col: i64, indentless: bool) -> PResult<Value> {
            let mut items = Vec::new();
            loop {
                self.bump();
                let item = if self.at_line_end() {
                    self.value_below(col, false)?
                } else {
                    let c = self.col() as i64;
                    self.node_at(c, col)?
                };
                items.push(item);
                match self.next_content_line()? {
                    Some(c) if c as i64 == col && self.is_seq_indicator() => continue,
                    Some(c) if c as i64 > col || (c as i64 == col && !indentless) => {
                        return Err(parser_error("did not find expected '-' indicator"))
                    }
                    _ => return Ok(Value::list(items)),
                }
            }
        }

        /// A block mapping at column `col`, its first key maybe already read.
        fn mapping(&mut self, col: i64, mut key: Option<Value>) -> PResult<Value> {
            let mut m = Map::new();
            loop {
                let value = match key.take() {
                    Some(k) => {
                        self.bump(); // the ':'
                        let v = self.value_after_indicator(col, true)?;
                        (k, v)
                    }
                    None => self.entry(col)?,
                };
                insert_entry(&mut m, value.0, value.1);
                match self.next_content_line()? {
                    Some(c) if c as i64 == col && !self.is_seq_indicator() => continue,
                    Some(c) if c as i64 > col => {
                        return Err(scanner_error(
                            "mapping values are not allowed in this context",
                        ))
                    }
                    _ => return Ok(Value::Map(Arc::new(m))),
                }
            }
        }

        /// One `key: value` (or `? key` / `: value`) entry of a block mapping.
        fn entry(&mut self, col: i64) -> PResult<(Value, Value)> {
            if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
                self.bump();
                let key = self.value_after_indicator(col, false)?;
                let value = match self.next_content_line()? {
                    Some(c) if c as i64 == col && self.at_key_colon() => {
                        self.bump();
                        self.value_after_indicator(col, true)?
                    }
                    _ => Value::Nil,
                };
                return Ok((key, value));
            }
            let props = self.props()?;
            let key = match self.peek() {
                Some('"') => Value::from(self.double_quoted(col)?),
                Some('\'') => Value::from(self.single_quoted(col)?),
                Some('*') => self.alias()?,
                Some('[' | '{') => self.flow_node()?,
                _ => plain_value(&self.plain_line(false)),
            };
            let key = self.apply(props, key)?;
            self.skip_spaces();
            if !self.at_key_colon() {
                return Err(scanner_error("could not find expected ':'"));
            }
            self.bump();
            Ok((key, self.value_after_indicator(col, true)?))
        }

        /// One line of a plain scalar: up to `: `, ` #`, the line's end, or (in flow context)
        /// a flow indicator. Trailing blanks are dropped.
        fn plain_line(&mut self, flow: bool) -> String {
            let start = self.pos;
            let mut end = self.pos;
            while let Some(c) = self.peek() {
                let next = self.peek_at(1);
                let stop = match c {
                    '\n' | '\r' => true,
                    ':' => {
                        is_blank_or_end(next)
                            || (flow && matches!(next, Some(',' | '[' | ']' | '{' | '}')))
                    }
                    '#' => self.src[..self.pos].ends_with([' ', '\t']),
                    ',' | '[' | ']' | '{' | '}' => flow,
                    _ => false,
                };
                if stop {
                    break;
                }
                self.bump();
                if c != ' ' && c != '\t' {
                    end = self.pos;
                }
            }
            self.pos = end.max(start);
            self.src[start..self.pos].to_string()
        }

        /// A plain scalar, folded over the following lines indented more than `parent`.
        fn plain(&mut self, parent: i64, flow: bool) -> PResult<String> {
            let mut out = self.plain_line(flow);
            loop {
                let save = self.pos;
                if !self.at_line_end() || self.peek() == Some('#') || self.peek().is_none() {
                    self.pos = save;
                    return Ok(out);
                }
                let mut breaks = 0;
                let cont = loop {
                    self.skip_line();
                    breaks += 1;
                    while self.peek() == Some(' ') {
                        self.bump();
                    }
                    if self.at_document_marker_here() {
                        break false;
                    }
                    match self.peek() {
                        Some('\n' | '\r') => continue,
                        None | Some('#') => break false,
                        Some(_) => break flow || self.col() as i64 > parent,
                    }
                };
                let starts_entry = self.is_seq_indicator() && !flow;
                if !cont || starts_entry {
                    self.pos = save;
                    return Ok(out);
                }
                out.push_str(&if breaks == 1 {
                    " ".to_string()
                } else {
                    "\n".repeat(breaks - 1)
                });
                out.push_str(&self.plain_line(flow));
            }
        }

        fn at_document_marker_here(&self) -> bool {
            let ls = self.line_start();
            let r = &self.src[ls..];
            (r.starts_with("---") || r.starts_with("...")) && is_blank_or_end(r[3..].chars().next())
        }

        fn double_quoted(&mut self, _parent: i64) -> PResult<String> {
            self.bump();
            let mut out = String::new();
            loop {
                let Some(c) = self.peek() else {
                    return Err(scanner_error("found unexpected end of stream"));
                };
                self.bump();
                match c {
                    '"' => return Ok(out),
                    '\\' => {
                        if matches!(self.peek(), Some('\n' | '\r')) {
                            // An escaped line break joins the lines with nothing between.
                            self.fold_break();
                            continue;
                        }
                        out.push(self.escape()?);
                    }
                    '\n' | '\r' => {
                        trim_trailing_blanks(&mut out);
                        self.pos -= 1;
                        let breaks = self.fold_break();
                        out.push_str(&if breaks == 1 {
                            " ".to_string()
                        } else {
                            "\n".repeat(breaks - 1)
                        });
                    }
                    c => out.push(c),
                }
            }
        }

        /// Skips a line break and the next lines' leading blanks; returns the breaks crossed.
        fn fold_break(&mut self) -> usize {
            let mut breaks = 0;
            while let Some(c) = self.peek() {
                match c {
                    '\n' => breaks += 1,
                    ' ' | '\t' | '\r' => {}
                    _ => break,
                }
                self.bump();
            }
            breaks
        }

        fn escape(&mut self) -> PResult<char> {
            let c = self
                .peek()
                .ok_or_else(|| scanner_error("found unexpected end of stream"))?;
            self.bump();
            let hex = |p: &mut Self, n: usize| -> PResult<char> {
                let digits: String = p.rest().chars().take(n).collect();
                if digits.len() != n || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
                    return Err(scanner_error("did not find expected hexdecimal number"));
                }
                p.pos += n;
                u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| scanner_error("found invalid Unicode character escape code"))
            };
            Ok(match c {
                '0' => '\0',
                'a' => '\x07',
                'b' => '\x08',
                't' | '\t' => '\t',
                'n' => '\n',
                'v' => '\x0b',
                'f' => '\x0c',
                'r' => '\r',
                'e' => '\x1b',
                ' ' => ' ',
                '"' => '"',
                '/' => '/',
                '\\' => '\\',
                'N' => '\u{85}',
                '_' => '\u{a0}',
                'L' => '\u{2028}',
                'P' => '\u{2029}',
                'x' => hex(self, 2)?,
                'u' => hex(self, 4)?,
                'U' => hex(self, 8)?,
                _ => {
                    return Err(scanner_error(
                        "found unknown escape character while parsing a quoted scalar",
                    ))
                }
            })
        }

        fn single_quoted(&mut self, _parent: i64) -> PResult<String> {
            self.bump();
            let mut out = String::new();
            loop {
                let Some(c) = self.peek() else {
                    return Err(scanner_error("found unexpected end of stream"));
                };
                self.bump();
                match c {
                    '\'' if self.peek() == Some('\'') => {
                        self.bump();
                        out.push('\'');
                    }
                    '\'' => return Ok(out),
                    '\n' | '\r' => {
                        trim_trailing_blanks(&mut out);
                        self.pos -= 1;
                        let breaks = self.fold_break();
                        out.push_str(&if breaks == 1 {
                            " ".to_string()
                        } else {
                            "\n".repeat(breaks - 1)
                        });
                    }
                    c => out.push(c),
                }
            }
        }

        /// A `|` or `>` block scalar whose lines are indented more than `parent`.
        fn block_scalar(&mut self, parent: i64) -> PResult<Value> {
            let literal = self.peek() == Some('|');
            self.bump();
            let (mut chomp, mut explicit) = ('c', None);
            while let Some(c) = self.peek() {
                match c {
                    '+' | '-' => chomp = c,
                    '1'..='9' => explicit = c.to_digit(10),
                    _ => break,
                }
                self.bump();
            }
            if !self.at_line_end() {
                return Err(scanner_error("did not find expected comment or line break"));
            }
            self.skip_line();
            let lines = self.block_lines(parent, explicit)?;
            let first = lines.iter().position(|l| !l.is_empty());
            let last = lines.iter().rposition(|l| !l.is_empty());
            let (body, trailing) = match (first, last) {
                (Some(_), Some(last)) => {
                    let content = &lines[..=last];
                    let body = if literal {
                        content.join("\n")
                    } else {
                        fold_lines(content)
                    };
                    (body, lines.len() - last - 1)
                }
                _ => (String::new(), lines.len()),
            };
            let text = match (chomp, body.is_empty()) {
                ('-', _) => body,
                ('+', true) => "\n".repeat(trailing),
                ('+', false) => format!("{body}\n{}", "\n".repeat(trailing)),
                (_, true) => body,
                (_, false) => body + "\n",
            };
            Ok(Value::from(text))
        }

        /// The lines of a block scalar with their indentation removed (blank lines empty);
        /// leaves the position at the start of the first line after it.
        fn block_lines(&mut self, parent: i64, explicit: Option<u32>) -> PResult<Vec<String>> {
            let mut indent = explicit.map(|d| (parent + i64::from(d)).max(0) as usize);
            let mut lines = Vec::new();
            while self.pos < self.src.len() {
                let line_end = self
                    .rest()
                    .find('\n')
                    .map_or(self.src.len(), |i| self.pos + i);
                let line = self.src[self.pos..line_end].trim_end_matches('\r');
                let spaces = line.len() - line.trim_start_matches(' ').len();
                let blank = line.trim_start_matches(' ').is_empty();
                if self.at_document_marker() {
                    break;
                }
                let want = match indent {
                    Some(i) => i,
                    None if blank => {
                        lines.push(String::new());
                        self.pos = (line_end + 1).min(self.src.len());
                        continue;
                    }
                    None if spaces as i64 > parent => *indent.insert(spaces),
                    None => break,
                };
                if blank && spaces <= want {
                    lines.push(String::new());
                } else if spaces >= want {
                    lines.push(line[want..].to_string());
                } else {
                    break;
                }
                self.pos = (line_end + 1).min(self.src.len());
            }
            Ok(lines)
        }

        fn flow_node(&mut self) -> PResult<Value> {
            self.nested(Self::flow_node_here)
        }

        fn flow_node_here(&mut self) -> PResult<Value> {
            let props = self.props()?;
            let v = match self.peek() {
                Some('[') => self.flow_sequence()?,
                Some('{') => self.flow_mapping()?,
                Some('"') => Value::from(self.double_quoted(-1)?),
                Some('\'') => Value::from(self.single_quoted(-1)?),
                Some('*') => self.alias()?,
                _ => plain_value(&self.plain(-1, true)?),
            };
            self.apply(props, v)
        }

        /// Skips blanks, line breaks and comments inside a flow collection.
        fn flow_space(&mut self) {
            loop {
                match self.peek() {
                    Some(' ' | '\t' | '\n' | '\r') => self.bump(),
                    Some('#') => self.skip_line(),
                    _ => return,
                }
            }
        }

        fn flow_sequence(&mut self) -> PResult<Value> {
            self.bump();
            let mut items = Vec::new();
            loop {
                self.flow_space();
                if self.peek() == Some(']') {
                    self.bump();
                    return Ok(Value::list(items));
                }
                let item = self.flow_node()?;
                self.flow_space();
                // `[a: b]` is a list holding a one-entry map.
                let item = if self.peek() == Some(':') {
                    self.bump();
                    self.flow_space();
                    let mut m = Map::new();
                    let value = match self.peek() {
                        Some(',' | ']') => Value::Nil,
                        _ => self.flow_node()?,
                    };
                    insert_entry(&mut m, item, value);
                    self.flow_space();
                    Value::Map(Arc::new(m))
                } else {
                    item
                };
                items.push(item);
                match self.peek() {
                    Some(',') => self.bump(),
                    Some(']') => {}
                    None => return Err(parser_error("did not find expected ',' or ']'")),
                    Some(_) => return Err(parser_error("did not find expected ',' or ']'")),
                }
            }
        }

        fn flow_mapping(&mut self) -> PResult<Value> {
            self.bump();
            let mut m = Map::new();
            loop {
                self.flow_space();
                if self.peek() == Some('}') {
                    self.bump();
                    return Ok(Value::Map(Arc::new(m)));
                }
                if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
                    self.bump();
                    self.flow_space();
                }
                let key = self.flow_node()?;
                self.flow_space();
                let value = if self.peek() == Some(':') {
                    self.bump();
                    self.flow_space();
                    match self.peek() {
                        Some(',' | '}') => Value::Nil,
                        _ => self.flow_node()?,
                    }
                } else {
                    Value::Nil
                };
                insert_entry(&mut m, key, value);
                self.flow_space();
                match self.peek() {
                    Some(',') => self.bump(),
                    Some('}') => {}
                    _ => return Err(parser_error("did not find expected ',' or '}'")),
                }
            }
        }
    }

    fn trim_trailing_blanks(s: &mut String) {
        while s.ends_with([' ', '\t']) {
            s.pop();
        }
    }

    /// Folds a `>` block's lines: a single break between two ordinary lines becomes a space,
    /// breaks around more-indented lines stay.
    fn fold_lines(lines: &[String]) -> String {
        let mut out = String::new();
        let mut empties = 0;
        let mut prev: Option<bool> = None; // whether the previous line was more indented
        for line in lines {
            if line.is_empty() {
                empties += 1;
                continue;
            }
            let more = line.starts_with([' ', '\t']);
            match prev {
                None => out.push_str(&"\n".repeat(empties)),
                Some(p) if p || more => out.push_str(&"\n".repeat(empties + 1)),
                Some(_) if empties == 0 => out.push(' '),
                Some(_) => out.push_str(&"\n".repeat(empties)),
            }
            out.push_str(line);
            empties = 0;
            prev = Some(more);
        }
        out
    }

    /// A plain scalar's value by yaml.v2's resolution rules.
    fn plain_value(s: &str) -> Value {
        match resolve(s) {
            Resolved::Null => Value::Nil,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::Uint(u) => Value::Uint(u),
            Resolved::Float(f) => Value::Float(f),
            Resolved::Str { .. } => Value::str(s),
        }
    }

    /// Adds an entry; a `<<` key merges the map (or list of maps, earlier ones winning) it
    /// holds.
    fn insert_entry(m: &mut Map, key: Value, value: Value) {
        if key.as_str() == Some("<<") {
            let sources = match &value {
                Value::List(items) => items.iter().rev().cloned().collect(),
                v => vec![v.clone()],
            };
            if sources.iter().all(|s| matches!(s, Value::Map(_))) {
                for src in sources {
                    if let Value::Map(src) = src {
                        m.extend(src.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                }
                return;
            }
        }
        let key: Arc<str> = match &key {
            Value::Str(s) => s.clone(),
            k => k.to_go_string().into(),
        };
        m.insert(key, value);
    }
}

// ------------------------------------------------------------------------------------------------
// TOML: BurntSushi/toml's encoder output

mod toml {
    use super::*;

    /// `toml.NewEncoder(w).Encode(v)` of a map or record.
    pub(super) fn emit(v: &Value) -> Result<String, String> {
        let mut e = Encoder {
            out: String::new(),
            written: false,
        };
        match table_entries(v) {
            Some(entries) => e.table_body(&[], &entries)?,
            None => return Err("toml: top-level values must be Go maps or structs".into()),
        }
        Ok(e.out)
    }

    struct Encoder {
        out: String,
        written: bool,
    }

    /// A table's entries: a map's in key order, a record's in field order.
    fn table_entries(v: &Value) -> Option<Vec<(String, Value)>> {
        match v.resolved() {
            Value::Map(m) => Some(m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
            Value::Record(r) => Some(
                r.ty.fields
                    .iter()
                    .cloned()
                    .zip(r.values.iter().cloned())
                    .collect(),
            ),
            _ => None,
        }
    }

    fn is_table(v: &Value) -> bool {
        table_entries(v).is_some()
    }

    /// A non-empty list whose items are all tables.
    fn is_table_array(v: &Value) -> bool {
        list_items(v).is_some_and(|items| !items.is_empty() && items.iter().all(is_table))
    }

    fn is_nil(v: &Value) -> bool {
        matches!(v, Value::Nil | Value::Missing)
    }

    impl Encoder {
        fn write(&mut self, s: &str) {
            self.out.push_str(s);
            self.written = true;
        }

        fn newline(&mut self) {
            if self.written {
                self.out.push('\n');
            }
        }

        /// Writes a table's keys: plain values first, then sub-tables (each group sorted by
        /// key for maps).
        fn table_body(
            &mut self,
            key: &[String],
            entries: &[(String, Value)],
        ) -> Result<(), String> {
            let (sub, direct): (Vec<_>, Vec<_>) = entries
                .iter()
                .filter(|(_, v)| !is_nil(v))
                .partition(|(_, v)| is_table(v) || is_table_array(v));
            for (k, v) in direct.into_iter().chain(sub) {
                let mut path = key.to_vec();
                path.push(k.clone());
                self.encode(&path, v)?;
            }
            Ok(())
        }

        fn encode(&mut self, key: &[String], v: &Value) -> Result<(), String> {
            if key.len() > MAX_DEPTH {
                return Err("toml: exceeded max depth (is a map holding itself?)".into());
            }
            let indent = "  ".repeat(key.len() - 1);
            if let Some(entries) = table_entries(v) {
                if key.len() == 1 {
                    self.newline();
                }
                self.write(&format!("{indent}[{}]", dotted(key)));
                self.newline();
                return self.table_body(key, &entries);
            }
            if is_table_array(v) {
                for item in list_items(v).unwrap_or_default().iter() {
                    self.newline();
                    self.write(&format!("{indent}[[{}]]", dotted(key)));
                    self.newline();
                    self.table_body(key, &table_entries(item).unwrap_or_default())?;
                }
                return Ok(());
            }
            let last = key.last().map(String::as_str).unwrap_or_default();
            self.write(&format!("{indent}{} = ", bare_or_quoted(last)));
            let mut value = String::new();
            element(&mut value, v, key.len())?;
            self.write(&value);
            self.newline();
            Ok(())
        }
    }

    fn dotted(key: &[String]) -> String {
        key.iter()
            .map(|k| bare_or_quoted(k))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn bare_or_quoted(k: &str) -> String {
        let bare = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare {
            k.to_string()
        } else {
            quoted(k)
        }
    }

    fn quoted(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x08' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\x0c' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// A value on the right of `=`: scalars, arrays `[a, b]`, inline tables `{k = v}`.
    fn element(out: &mut String, v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("toml: exceeded max depth (is a map holding itself?)".into());
        }
        match v {
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(out, "{u}");
            }
            Value::Byte(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Float(f) => out.push_str(&float(*f)),
            Value::Str(_) | Value::Bytes(_) => out.push_str(&quoted(&lossy(v))),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if is_nil(item) {
                        return Err("toml: cannot encode array with nil element".into());
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    element(out, item, depth + 1)?;
                }
                out.push(']');
            }
            Value::Map(_) | Value::Record(_) => {
                let entries = table_entries(v).unwrap_or_default();
                out.push('{');
                let shown: Vec<&(String, Value)> =
                    entries.iter().filter(|(_, v)| !is_nil(v)).collect();
                for (i, (k, item)) in shown.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{} = ", bare_or_quoted(k));
                    element(out, item, depth + 1)?;
                }
                out.push('}');
            }
            Value::Object(o) => element(out, &o.underlying(), depth + 1)?,
            Value::Missing | Value::Nil => return Err("toml: cannot encode a nil value".into()),
            Value::Func(_) => return Err(format!("toml: unsupported type: {}", v.type_name())),
        }
        Ok(())
    }

    fn float(f: f64) -> String {
        if f.is_nan() {
            return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
        }
        if f.is_infinite() {
            return if f < 0.0 { "-inf" } else { "inf" }.into();
        }
        let s = printf::format_float(f, b'f', -1);
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gotmpl::{RecordType, Template};

    /// consul-template's `ServiceTags`, as the Consul functions make them.
    fn service_tags(items: Vec<&'static str>) -> Value {
        crate::dependency::ServiceTags::value(items.into_iter().map(String::from).collect())
    }

    fn kv(path: &str, key: &str, value: &str) -> Value {
        let ty = RecordType::new(
            "*dependency.KeyPair",
            &[
                "Path",
                "Key",
                "Value",
                "CreateIndex",
                "ModifyIndex",
                "LockIndex",
                "Flags",
                "Session",
            ],
        );
        let u = Value::Uint;
        Record::new(
            &ty,
            vec![
                Value::str(path),
                Value::str(key),
                Value::str(value),
                u(1),
                u(2),
                u(0),
                u(0),
                Value::str(""),
            ],
        )
    }

    fn svc(node: &str, port: i64, tags: Vec<&'static str>, meta: &[(&str, &str)]) -> Value {
        let ty = RecordType::new(
            "*dependency.HealthService",
            &[
                "Node",
                "NodeID",
                "NodeAddress",
                "NodeDatacenter",
                "NodeTaggedAddresses",
                "NodeMeta",
                "ServiceMeta",
                "Address",
                "ServiceTaggedAddresses",
                "ID",
                "Name",
                "Kind",
                "Tags",
                "Checks",
                "Status",
                "Port",
                "Weights",
            ],
        );
        let meta = Value::map(meta.iter().map(|(k, v)| (*k, Value::str(v))));
        let s = Value::str;
        Record::new(
            &ty,
            vec![
                s(node),
                s("id"),
                s("10.0.0.1"),
                s("dc1"),
                Value::map::<&str>([]),
                Value::map::<&str>([]),
                meta,
                s("10.0.0.1"),
                Value::map::<&str>([]),
                s(&format!("web-{node}")),
                s("web"),
                s(""),
                service_tags(tags),
                Value::list(vec![]),
                s("passing"),
                Value::Int(port),
                Value::map::<&str>([]),
            ],
        )
    }

    fn snippet(name: &str, tags: Vec<&'static str>) -> Value {
        let ty = RecordType::new("*dependency.CatalogSnippet", &["Name", "Tags"]);
        Record::new(&ty, vec![Value::str(name), service_tags(tags)])
    }

    /// The data every test template sees (the same JSON the Go oracle was given).
    fn data() -> Value {
        let json = r#"{"m":{"a":1,"b":"x","c":[1,2]},"l":[1,"two",3.5],"s":"hello world","e":[],"n":null}"#;
        let Value::Map(base) = Value::from_json(json).unwrap() else {
            unreachable!()
        };
        let mut m = (*base).clone();
        let pairs = vec![
            kv("app/a", "a", "1"),
            kv("app/b/c", "b/c", "2"),
            kv("app/b/d", "b/d", "3"),
            kv("app/top", "top", "4"),
        ];
        m.insert("pairs".into(), Value::list(pairs));
        let conflict = vec![kv("p/a", "a", "1"), kv("p/a/b", "a/b", "2")];
        m.insert("conflict".into(), Value::list(conflict));
        let services = vec![
            svc(
                "n1",
                8080,
                vec!["http", "v1"],
                &[("env", "prod"), ("w", "3")],
            ),
            svc("n2", 8080, vec!["v1"], &[("env", "dev qa"), ("w", "12")]),
            svc("n3", 9090, vec![], &[]),
        ];
        m.insert("svcs".into(), Value::list(services));
        m.insert(
            "snips".into(),
            Value::list(vec![
                snippet("db", vec!["primary"]),
                snippet("web", vec!["http", "primary"]),
            ]),
        );
        m.insert("tags".into(), service_tags(vec!["http", "v1"]));
        Value::Map(Arc::new(m))
    }

    fn render(text: &str) -> Result<String, String> {
        let mut funcs = FuncMap::new();
        register(&mut funcs);
        let scratch = new_scratch();
        funcs.insert(
            "scratch",
            Func::pure(Arity::Exact(0), move |_| Ok(scratch.clone())),
        );
        // `timestamp` at a fixed time.
        let time_at = |a: &[Value]| {
            let layout = string_arg(&a[0])?;
            Ok(Value::from(format_time(
                &layout,
                int_arg(&a[1])?,
                int_arg(&a[2])? as u32,
            )))
        };
        funcs.insert("timeAt", Func::pure(Arity::Exact(3), time_at));
        let mut t = Template::new("t").funcs(funcs);
        t.parse(text).map_err(|e| format!("PARSE ERROR: {e:?}"))?;
        let mut out = Vec::new();
        t.execute(&mut out, &data()).map_err(|e| e.0)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The output of a template that must succeed.
    #[track_caller]
    fn ok(text: &str) -> String {
        render(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The message of a template that must fail, after `error calling NAME: `.
    #[track_caller]
    fn err(text: &str) -> String {
        let e = render(text).expect_err(text);
        match e.find("error calling ") {
            Some(i) => e[i + "error calling ".len()..].to_string(),
            None => e,
        }
    }

    #[test]
    fn grouping_records() {
        let by_key = r#"{{ range $top, $ps := byKey .pairs }}{{ $top }}:{{ range $k, $p := $ps }}{{ $k }}={{ $p.Key }}/{{ $p.Value }}/{{ $p.Path }},{{ end }};{{ end }}"#;
        assert_eq!(ok(by_key), "b:c=c/2/app/b/c,d=d/3/app/b/d,;");
        // The pairs themselves keep their keys.
        assert_eq!(
            ok(r#"{{ $_ := byKey .pairs }}{{ range .pairs }}{{ .Key }},{{ end }}"#),
            "a,b/c,b/d,top,"
        );
        assert_eq!(ok(r#"{{ byKey .e }}|{{ byKey .n }}"#), "map[]|map[]");
        assert_eq!(
            err_msg(r#"{{ byKey "x" }}"#),
            "wrong type for value; expected []*dependency.KeyPair; got string"
        );
        let by_tag = r#"{{ range $tag, $s := byTag .svcs }}{{ $tag }}={{ range $s }}{{ .Node }} {{ end }};{{ end }}"#;
        assert_eq!(ok(by_tag), "http=n1 ;v1=n1 n2 ;");
        let snips = r#"{{ range $tag, $s := .snips | byTag }}{{ $tag }}={{ range $s }}{{ .Name }} {{ end }};{{ end }}"#;
        assert_eq!(ok(snips), "http=web ;primary=db web ;");
        assert_eq!(ok(r#"{{ byTag .n }}|{{ byTag .e }}"#), "map[]|map[]");
        assert_eq!(
            err_msg(r#"{{ byTag .l }}"#),
            "byTag: wrong argument type []interface {}"
        );
        assert_eq!(
            err_msg(r#"{{ byTag .pairs }}"#),
            "byTag: wrong argument type []*dependency.KeyPair"
        );
        let by_port = r#"{{ range $p, $s := byPort .svcs }}{{ $p }}:{{ range $s }}{{ .Node }}{{ end }};{{ end }}"#;
        assert_eq!(ok(by_port), "8080:n1n2;9090:n3;");
        assert_eq!(
            err_msg(r#"{{ byPort "x" }}"#),
            "byPort: wrong argument type string"
        );
    }

    #[test]
    fn grouping_by_meta() {
        let t = |meta: &str| {
            ok(&format!(
                r#"{{{{ range $k, $s := byMeta "{meta}" .svcs }}}}{{{{ $k }}}}={{{{ range $s }}}}{{{{ .Node }}}}{{{{ end }}}};{{{{ end }}}}"#
            ))
        };
        assert_eq!(t("env"), "_no_env_=n3;dev_qa=n2;prod=n1;");
        assert_eq!(
            t("env,w|int"),
            "_no_env__00000=n3;dev_qa_00012=n2;prod_00003=n1;"
        );
        assert_eq!(t("w|int"), "00000=n3;00003=n1;00012=n2;");
        assert_eq!(
            err_msg(r#"{{ byMeta "env|int" .svcs }}"#),
            r#"cannot parse prod as number : strconv.Atoi: parsing "prod": invalid syntax"#
        );
        assert_eq!(ok(r#"{{ byMeta "env" .e }}"#), "map[]");
    }

    #[test]
    fn membership() {
        assert_eq!(
            ok(r#"{{ .tags | contains "http" }}|{{ contains "x" .tags }}|{{ in .tags "v1" }}"#),
            "true|false|true"
        );
        assert_eq!(
            ok(r#"{{ in "hello world" "lo w" }}|{{ "abc" | contains "d" }}|{{ in "abc" 1 }}"#),
            "true|false|false"
        );
        // Ints match ints and floats floats, never each other.
        assert_eq!(
            ok(
                r#"{{ in .l 1 }}|{{ in .l 3.5 }}|{{ in .l "two" }}|{{ in (sprig_list 1 2) 2 }}|{{ in (sprig_list 1 2) 2.0 }}"#
            ),
            "false|true|true|true|false"
        );
        assert_eq!(
            ok(r#"{{ in 5 5 }}|{{ in .m "a" }}|{{ in .n "a" }}"#),
            "false|false|false"
        );
        assert_eq!(err_msg(r#"{{ in .tags nil }}"#), ZERO_VALUE_TYPE);
        let all = r#"{{ containsAll (sprig_list "http" "v1") .tags }}{{ containsAll (sprig_list "http" "x") .tags }}"#;
        assert_eq!(ok(all), "truefalse");
        let any = r#"{{ .tags | containsAny (sprig_list "x" "v1") }}{{ .tags | containsAny (sprig_list "x") }}"#;
        assert_eq!(ok(any), "truefalse");
        let none = r#"{{ containsNone (sprig_list "x") .tags }}{{ containsNone (sprig_list "x" "http") .tags }}"#;
        assert_eq!(ok(none), "truefalse");
        let not_all = r#"{{ containsNotAll (sprig_list "http" "x") .tags }}{{ containsNotAll (sprig_list "http") .tags }}"#;
        assert_eq!(ok(not_all), "truefalse");
        let empty = r#"{{ containsAll (sprig_list) .tags }}{{ containsAny (sprig_list) .tags }}{{ containsNone (sprig_list) .tags }}{{ containsNotAll (sprig_list) .tags }}"#;
        assert_eq!(ok(empty), "truefalsetruefalse");
        assert_eq!(ok(r#"{{ containsAny (sprig_list "ll") "hello" }}"#), "true");
        assert_eq!(
            err_msg(r#"{{ containsAll .tags .tags }}"#),
            "wrong type for value; expected []interface {}; got dependency.ServiceTags"
        );
    }

    #[test]
    fn exploding_and_merging() {
        assert_eq!(
            ok(r#"{{ explode .pairs }}"#),
            "map[a:1 b:map[c:2 d:3] top:4]"
        );
        assert_eq!(
            ok(r#"{{ (explode .pairs).b.d }}|{{ explode .e }}"#),
            "3|map[]"
        );
        assert_eq!(
            err_msg(r#"{{ explode .conflict }}"#),
            r#"explode: not a map: "a/b": "a" already has value "1""#
        );
        let m = r#"{{ explodeMap (sprig_dict "x/y/z" 1 "x/w" 2 "v" 3 "t/" 4) }}"#;
        assert_eq!(ok(m), "map[t:map[] v:3 x:map[w:2 y:map[z:1]]]");
        assert_eq!(
            err_msg(r#"{{ explodeMap (sprig_dict "a" "1" "a/b" "2") }}"#),
            r#"explodeMap: not a map: "a/b": "a" already has value "1""#
        );
        assert_eq!(
            err_msg(r#"{{ explodeMap "x" }}"#),
            "wrong type for value; expected map[string]interface {}; got string"
        );
        // DST (the first argument) keeps its non-empty values, and changes in place.
        let merge = r#"{{ $dst := sprig_dict "a" 1 "b" "" }}{{ $src := sprig_dict "a" 2 "b" "x" "c" 3 }}{{ $src | mergeMap $dst }}|{{ $dst }}"#;
        assert_eq!(ok(merge), "map[a:1 b:x c:3]|map[a:1 b:x c:3]");
        let over = r#"{{ mergeMapWithOverride (sprig_dict "a" 1 "k" 5 "n" (sprig_dict "x" 1 "y" 2)) (sprig_dict "a" 2 "k" "" "n" (sprig_dict "y" 3 "z" 4)) }}"#;
        assert_eq!(ok(over), "map[a:2 k:5 n:map[x:1 y:3 z:4]]");
        let deep = r#"{{ mergeMap (parseJSON "{\"n\":{\"x\":1}}") (parseJSON "{\"n\":{\"x\":2,\"y\":3}}") }}"#;
        assert_eq!(ok(deep), "map[n:map[x:1 y:3]]");
        // A plain map is copied, not changed.
        let copy = r#"{{ $m := parseJSON "{\"a\":1}" }}{{ $_ := mergeMap $m (sprig_dict "b" 2) }}{{ $m }}"#;
        assert_eq!(ok(copy), "map[a:1]");
    }

    #[test]
    fn loops_joins_and_splits() {
        assert_eq!(
            ok(
                r#"{{ range loop 3 }}{{ . }}{{ end }}|{{ range $i := loop 5 8 }}{{ $i }},{{ end }}"#
            ),
            "012|5,6,7,"
        );
        assert_eq!(
            ok(
                r#"{{ range loop "2" "4" }}{{ . }}{{ end }}|{{ range loop (parseUint "2") }}{{ . }}{{ end }}|{{ range loop 3 1 }}x{{ end }}"#
            ),
            "23|01|"
        );
        assert_eq!(
            ok(r#"{{ range loop "" }}x{{ end }}|{{ len (loop 4) }}"#),
            "|4"
        );
        assert_eq!(
            err_msg(r#"{{ loop }}"#),
            "loop: wrong number of arguments, expected 1 or 2, but got 0"
        );
        assert_eq!(
            err_msg(r#"{{ loop 1 2 3 }}"#),
            "loop: wrong number of arguments, expected 1 or 2, but got 3"
        );
        assert_eq!(
            err_msg(r#"{{ loop 1.5 }}"#),
            "loop: bad argument type: float64"
        );
        assert_eq!(
            err_msg(r#"{{ loop "x" }}"#),
            r#"parseInt: strconv.ParseInt: parsing "x": invalid syntax"#
        );
        assert_eq!(
            ok(r#"{{ join "," .tags }}|{{ .tags | join "-" }}|{{ join "," .n }}"#),
            "http,v1|http-v1|"
        );
        assert_eq!(
            err_msg(r#"{{ join "," .l }}"#),
            "wrong type for value; expected []string; got []interface {}"
        );
        assert_eq!(
            ok(r#"{{ "a, b ,c" | split "," }}|{{ len ("a, b ,c" | split ",") }}"#),
            "[a  b  c]|3"
        );
        assert_eq!(
            ok(
                r#"{{ split "," "" }}|{{ split "," "  \n" }}|{{ split "" "abc" }}|{{ join "-" (split "," " x,y ") }}"#
            ),
            "[]|[]|[a b c]|x-y"
        );
        assert_eq!(
            ok(r#"{{ splitToMap "," "=" "a=1,b=2,c,d=x=y" }}|{{ splitToMap "," "=" "" }}"#),
            "map[a:1 b:2 d:x=y]|map[]"
        );
        assert_eq!(ok(r#"{{ (splitToMap ";" ":" " k:v ; j:w ").k }}"#), "v ");
    }

    #[test]
    fn string_helpers() {
        assert_eq!(
            ok(r#"{{ trimSpace "  x \n" }}|{{ "--x--" | trim "-" }}|{{ trim "ab" "abxba" }}"#),
            "x|x|x"
        );
        assert_eq!(
            ok(
                r#"{{ trimPrefix "ab" "abc" }}|{{ "abc" | trimSuffix "bc" }}|{{ trimPrefix "x" "abc" }}"#
            ),
            "c|a|abc"
        );
        assert_eq!(
            ok(
                r#"{{ replaceAll "a" "b" "banana" }}|{{ "x.y.z" | replaceAll "." "/" }}|{{ replaceAll "" "-" "ab" }}"#
            ),
            "bbnbnb|x/y/z|-a-b-"
        );
        assert_eq!(
            ok("{{ indent 2 \"a\\nb\\n\\nc\\n\" }}|{{ \"x\" | indent 0 }}"),
            "  a\n  b\n\n  c\n|x"
        );
        assert_eq!(
            err_msg(r#"{{ indent -1 "x" }}"#),
            "indent value must be a positive integer"
        );
        assert_eq!(
            err_msg(r#"{{ indent "2" "x" }}"#),
            "wrong type for value; expected int; got string"
        );
        assert_eq!(
            err_msg(r#"{{ toLower 1 }}"#),
            "wrong type for value; expected string; got int"
        );
        assert_eq!(
            err_msg(r#"{{ toUpper nil }}"#),
            "invalid value; expected string"
        );
        assert_eq!(
            ok(r#"{{ "MiXeD" | toLower }}{{ "x" | toUpper }}{{ "a b" | toTitle }}"#),
            "mixedXA B"
        );
    }

    #[test]
    fn empty_first_pass_values() {
        // Before data arrives `key` and friends return "": every parse function gives a zero.
        let zeros = r#"{{ parseInt "" }}|{{ parseUint "" }}|{{ parseFloat "" }}|{{ parseBool "" }}|{{ parseJSON "" }}|{{ parseYAML "" }}"#;
        assert_eq!(ok(zeros), "0|0|0|false|map[]|map[]");
        assert_eq!(
            ok(
                r#"{{ split "," "" }}|{{ splitToMap "," "=" "" }}|{{ base64Decode "" }}|{{ toJSON (parseJSON "") }}|{{ (parseJSON "").missing }}"#
            ),
            "[]|map[]||{}|<no value>"
        );
        assert_eq!(
            ok(r#"{{ range (parseYAML "") }}x{{ end }}{{ with parseJSON "" }}x{{ end }}"#),
            ""
        );
    }

    #[test]
    fn math_pipe_order_and_types() {
        let basic = r#"{{ add 1 2 }}|{{ subtract 2 5 }}|{{ 5 | subtract 2 }}|{{ multiply 3 4 }}|{{ divide 2 10 }}|{{ modulo 2 5 }}|{{ minimum 3 7 }}|{{ maximum 3 7 }}"#;
        assert_eq!(ok(basic), "3|3|3|12|5|1|3|7");
        assert_eq!(
            ok(
                r#"{{ printf "%T %v" (add 1.5 2) (add 1.5 2) }}|{{ divide 2 7 }}|{{ divide 2.0 7 }}|{{ 10 | divide 4 }}"#
            ),
            "float64 3.5|3|3.5|2"
        );
        let uints = r#"{{ printf "%T" (add (parseUint "1") (parseUint "2")) }}|{{ subtract (parseUint "5") (parseUint "3") }}|{{ add 1 (parseUint "2") }}"#;
        assert_eq!(ok(uints), "uint64|18446744073709551614|3");
        // minimum and maximum return the winner with its own type.
        assert_eq!(
            ok(
                r#"{{ printf "%T" (minimum 2.5 1) }}|{{ maximum 2.5 1 }}|{{ printf "%T" (maximum (parseUint "9") 1) }}|{{ minimum -1 (parseUint "0") }}"#
            ),
            "int|2.5|uint64|-1"
        );
        assert_eq!(
            ok(
                r#"{{ divide 0.0 5 }}|{{ multiply 1.5 (parseUint "2") }}|{{ modulo -3 7 }}|{{ add -9223372036854775808 -1 }}"#
            ),
            "+Inf|3|1|9223372036854775807"
        );
        assert_eq!(
            err_msg(r#"{{ add "a" 1 }}"#),
            r#"add: unknown type for "a" (string)"#
        );
        assert_eq!(
            err_msg(r#"{{ add 1 "a" }}"#),
            r#"add: unknown type for "a" (string)"#
        );
        assert_eq!(
            err_msg(r#"{{ subtract nil 1 }}"#),
            "subtract: unknown type for <invalid reflect.Value> (<nil>)"
        );
        assert_eq!(
            err_msg(r#"{{ multiply true 1 }}"#),
            "multiply: unknown type for %!q(bool=true) (bool)"
        );
        assert_eq!(
            err_msg(r#"{{ modulo 2.0 5 }}"#),
            "modulo: unknown type for %!q(float64=2) (float64)"
        );
        assert_eq!(
            err_msg(r#"{{ modulo 2 5.0 }}"#),
            "modulo: unknown type for %!q(float64=5) (float64)"
        );
        assert_eq!(err_msg(r#"{{ divide 0 5 }}"#), DIVIDE_BY_ZERO);
        assert_eq!(err_msg(r#"{{ modulo 0 5 }}"#), DIVIDE_BY_ZERO);
        assert_eq!(
            err_msg(r#"{{ maximum .l 1 }}"#),
            "maximum: unknown type for [%!q(float64=1) \"two\" %!q(float64=3.5)] ([]interface {})"
        );
    }

    #[test]
    fn scratch_methods() {
        let set_get = r#"{{ scratch.Set "a" 1 }}{{ scratch.Get "a" }}|{{ scratch.Key "a" }}{{ scratch.Key "b" }}|{{ scratch.SetX "a" 2 }}{{ scratch.Get "a" }}|{{ scratch.SetX "b" 3 }}{{ scratch.Get "b" }}"#;
        assert_eq!(ok(set_get), "1|truefalse|1|3");
        assert_eq!(
            ok(r#"{{ scratch.Get "missing" }}|{{ scratch.Set "n" nil }}{{ scratch.Key "n" }}"#),
            "<no value>|true"
        );
        let maps = r#"{{ scratch.MapSet "m" "z" 1 }}{{ scratch.MapSet "m" "a" 2 }}{{ scratch.MapSetX "m" "a" 3 }}{{ scratch.MapSetX "m" "b" 4 }}{{ scratch.MapValues "m" }}|{{ scratch.Get "m" }}|{{ scratch.MapValues "none" }}"#;
        assert_eq!(ok(maps), "[2 4 1]|map[a:2 b:4 z:1]|[]");
        // A dict stored in the scratch is changed in place, as a Go map would be.
        let dict = r#"{{ $d := sprig_dict }}{{ scratch.Set "d" $d }}{{ scratch.MapSet "d" "k" "v" }}{{ $d }}"#;
        assert_eq!(ok(dict), "map[k:v]");
        assert_eq!(
            err_msg(r#"{{ scratch.Set "s" "str" }}{{ scratch.MapSet "s" "k" 1 }}"#),
            r#""s" is not a map"#
        );
        assert_eq!(
            err_msg(r#"{{ scratch.Set "a" }}"#),
            "wrong number of args for Set: want 2 got 1"
        );
        assert_eq!(
            err_msg(r#"{{ scratch.Get 1 }}"#),
            "wrong type for value; expected string; got int"
        );
        // Each scratch is its own store.
        let (a, b) = (new_scratch(), new_scratch());
        let Value::Object(a) = a else { unreachable!() };
        let Value::Object(b) = b else { unreachable!() };
        a.call_method("Set", &[Value::str("k"), Value::Int(1)]);
        let got = b.call_method("Key", &[Value::str("k")]);
        assert!(matches!(got, Some(Ok(Value::Bool(false)))));
        assert_eq!(a.type_name(), "*template.Scratch");
    }

    #[test]
    fn records_encode() {
        let json = r#"{"Path":"app/a","Key":"a","Value":"1","CreateIndex":1,"ModifyIndex":2,"LockIndex":0,"Flags":0,"Session":""}"#;
        assert_eq!(ok(r#"{{ toJSON (index .pairs 0) }}"#), json);
        assert_eq!(
            ok(r#"{{ toJSON .tags }}|{{ toJSON (index .snips 0) }}"#),
            r#"["http","v1"]|{"Name":"db","Tags":["primary"]}"#
        );
        let yaml = "path: app/a\nkey: a\nvalue: \"1\"\ncreateindex: 1\nmodifyindex: 2\nlockindex: 0\nflags: 0\nsession: \"\"";
        assert_eq!(ok(r#"{{ toYAML (index .pairs 0) }}"#), yaml);
        assert_eq!(
            ok(r#"{{ toYAML .snips }}"#),
            "- name: db\n  tags:\n  - primary\n- name: web\n  tags:\n  - http\n  - primary"
        );
        let toml = "Path = \"app/a\"\nKey = \"a\"\nValue = \"1\"\nCreateIndex = 1\nModifyIndex = 2\nLockIndex = 0\nFlags = 0\nSession = \"\"";
        assert_eq!(ok(r#"{{ toTOML (index .pairs 0) }}"#), toml);
        assert_eq!(
            err_msg(r#"{{ toTOML "x" }}"#),
            "toTOML: toml: top-level values must be Go maps or structs"
        );
        let spew = "(*dependency.KeyPair)(0xc000010000)({\n Path: (string) (len=5) \"app/a\",\n Key: (string) (len=1) \"a\",\n Value: (string) (len=1) \"1\",\n CreateIndex: (uint64) 1,\n ModifyIndex: (uint64) 2,\n LockIndex: (uint64) 0,\n Flags: (uint64) 0,\n Session: (string) \"\"\n})\n";
        assert_eq!(ok(r#"{{ spew_sdump (index .pairs 0) }}"#), spew);
        assert_eq!(ok(r#"{{ spew_sdump .tags }}"#), "(dependency.ServiceTags) (len=2 cap=2) {\n (string) (len=4) \"http\",\n (string) (len=2) \"v1\"\n}\n");
        assert_eq!(
            ok(r#"{{ spew_sprintf "%v-%d" "a" 1 }}|{{ spew_dump }}{{ spew_printf "" }}"#),
            "a-1|"
        );
    }

    #[test]
    fn cycles_and_depth_are_errors_not_crashes() {
        let cycle = r#"{{ $d := sprig_dict }}{{ $_ := sprig_set $d "self" $d }}"#;
        assert_eq!(
            err_msg(&format!("{cycle}{{{{ toJSON $d }}}}")),
            "toJSON: json: unsupported value: encountered a cycle via map[string]interface {}"
        );
        assert!(err_msg(&format!("{cycle}{{{{ toYAML $d }}}}")).contains("exceeded max depth"));
        assert!(err_msg(&format!("{cycle}{{{{ toTOML $d }}}}")).contains("exceeded max depth"));
        assert!(ok(&format!("{cycle}{{{{ spew_sdump $d }}}}")).contains("<max depth reached>"));
        assert_eq!(
            ok(&format!("{cycle}{{{{ sprig_has $d (sprig_list $d) }}}}")),
            "false"
        );
        assert_eq!(
            ok(&format!("{cycle}{{{{ $_ := mergeMap $d $d }}}}ok")),
            "ok"
        );
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        let e = err_msg(&format!("{{{{ parseYAML \"{deep}\" }}}}"));
        assert_eq!(e, "yaml: exceeded max depth of 200");
        // Deep but legal documents decode and encode.
        let deep_json = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(
            ok(&format!("{{{{ toJSON (parseJSON \"{deep_json}\") }}}}")),
            deep_json
        );
        assert_eq!(
            ok(&format!(
                "{{{{ len (toYAML (parseJSON \"{deep_json}\")) }}}}"
            )),
            "601"
        );
        let deep_yaml = format!("{}1{}", "[".repeat(190), "]".repeat(190));
        assert_eq!(
            ok(&format!("{{{{ toJSON (parseYAML \"{deep_yaml}\") }}}}")),
            deep_yaml
        );
        let too_deep = format!("{}1{}", "[".repeat(1001), "]".repeat(1001));
        assert_eq!(
            err_msg(&format!("{{{{ parseJSON \"{too_deep}\" }}}}")),
            "exceeded max depth"
        );
        let decodes = format!("{}1{}", "[".repeat(900), "]".repeat(900));
        assert_eq!(ok(&format!("{{{{ len (parseJSON \"{decodes}\") }}}}")), "1");
        // Sizes and bounds from the template are checked, not trusted.
        assert_eq!(
            err_msg(r#"{{ indent 1000000000000 "x" }}"#),
            "runtime error: makeslice: len out of range"
        );
        assert_eq!(
            err_msg(r#"{{ sprig_nindent 9223372036854775807 "x" }}"#),
            "runtime error: makeslice: len out of range"
        );
        assert_eq!(
            err_msg(r#"{{ sprig_repeat 4611686018427387904 "ab" }}"#),
            "runtime error: makeslice: len out of range"
        );
        assert_eq!(ok(r#"{{ sprig_trunc -9223372036854775808 "hello" }}|{{ sprig_untilStep -9000000000000000000 9000000000000000000 5000000000000000000 }}"#), "hello|[-9000000000000000000 -4000000000000000000 1000000000000000000 6000000000000000000]");
        assert_eq!(ok(r#"{{ parseFloat "0x1p-2147483647" }}"#), "0");
        assert_eq!(
            err_msg(r#"{{ sprig_until 100000000 }}"#),
            "more than 10000000 items"
        );
        let block: String = (0..150)
            .map(|i| format!("{}k:\\n", " ".repeat(i)))
            .collect();
        assert_eq!(
            ok(&format!("{{{{ len (toJSON (parseYAML \"{block}\")) }}}}")),
            "904"
        );
    }

    /// Renders with `env` and friends seeing `overrides` first.
    fn render_env(text: &str, overrides: &[(&str, &str)]) -> Result<String, String> {
        let mut funcs = FuncMap::new();
        register(&mut funcs);
        let o = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        register_env(&mut funcs, Arc::new(o));
        let mut t = Template::new("t").funcs(funcs);
        t.parse(text).map_err(|e| format!("{e:?}"))?;
        let mut out = Vec::new();
        t.execute(&mut out, &Value::Missing).map_err(|e| e.0)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn environment() {
        const UNSET: &str = "CTMPL_HELPERS_TEST_SURELY_UNSET";
        assert!(std::env::var_os(UNSET).is_none());
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(ok(r#"{{ env "PATH" }}"#), path);
        assert_eq!(
            ok(&format!(
                r#"{{{{ env "{UNSET}" }}}}|{{{{ envOrDefault "{UNSET}" "def" }}}}"#
            )),
            "|def"
        );
        assert_eq!(
            err(&format!(r#"{{{{ mustEnv "{UNSET}" }}}}"#)),
            format!("mustEnv: required environment variable {UNSET} is empty")
        );
        // The runner's variables win over the process's; an empty one is still set.
        let o = [("PATH", "/over"), ("EMPTY", "")];
        let t = r#"{{ env "PATH" }}|{{ mustEnv "PATH" }}|{{ envOrDefault "EMPTY" "d" }}|{{ env "EMPTY" }}"#;
        assert_eq!(render_env(t, &o).unwrap(), "/over|/over||");
        let e = render_env(r#"{{ mustEnv "EMPTY" }}"#, &o).unwrap_err();
        assert!(
            e.ends_with("error calling mustEnv: required environment variable EMPTY is empty"),
            "{e}"
        );
        // An empty runner value falls back to the process's.
        let o = [("PATH", "")];
        assert_eq!(render_env(r#"{{ mustEnv "PATH" }}"#, &o).unwrap(), path);
    }

    #[test]
    fn timestamps() {
        let rfc = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").unwrap();
        assert!(rfc.is_match(&ok("{{ timestamp }}")));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let unix: i64 = ok(r#"{{ timestamp "unix" }}"#).parse().unwrap();
        assert!((unix - now).abs() < 5);
        assert_eq!(ok(r#"{{ timestamp "2006" }}"#), format_time("2006", now, 0));
        assert_eq!(
            err(r#"{{ timestamp "a" "b" }}"#),
            "timestamp: timestamp: wrong number of arguments, expected 0 or 1, but got 2"
        );
        assert_eq!(format_time(RFC3339, 0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(RFC3339, 951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(format_time("Mon 002", 1_709_208_000, 0), "Thu 060");
    }

    #[test]
    fn plugins() {
        assert_eq!(
            ok(
                r#"{{ plugin "echo" " a " "" "b\n" }}|{{ "piped" | plugin "echo" "x" }}|{{ plugin "" }}"#
            ),
            "a b|x piped|"
        );
        assert_eq!(
            err_msg(r#"{{ plugin "sh" "-c" "echo out; echo err >&2; exit 3" }}"#),
            "exec \"sh\": exit status 3\n\nstdout:\n\nout\n\n\nstderr:\n\nerr\n"
        );
        assert_eq!(
            err_msg(r#"{{ plugin "ctmpl-no-such-plugin" }}"#),
            "exec \"ctmpl-no-such-plugin\": exec: \"ctmpl-no-such-plugin\": executable file not found in $PATH\n\nstdout:\n\n\n\nstderr:\n\n"
        );
        let started = std::time::Instant::now();
        let slow = run_plugin(
            "sleep",
            &["5".into()],
            std::time::Duration::from_millis(200),
        );
        assert_eq!(slow.unwrap_err(), "exec \"sleep\": did not finish in 30s");
        assert!(started.elapsed() < std::time::Duration::from_secs(4));
        assert_eq!(
            err_msg(r#"{{ plugin "sh" "-c" "kill -9 $$" }}"#)
                .lines()
                .next(),
            Some("exec \"sh\": signal: killed")
        );
    }

    #[test]
    fn write_to_file() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/dir/out.txt");
        let f = file.display();
        assert_eq!(
            ok(&format!(
                r#"{{{{ "hello" | writeToFile "{f}" "" "" "0640" }}}}"#
            )),
            ""
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello");
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        let append =
            format!(r#"{{{{ "more" | writeToFile "{f}" "" "" "0600" "append,newline" }}}}"#);
        assert_eq!(ok(&append), "");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "hellomore\n");
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Ownership by numeric id (our own, so it works unprivileged).
        let (uid, gid) = (meta.uid(), meta.gid());
        assert_eq!(
            ok(&format!(
                r#"{{{{ writeToFile "{f}" "{uid}" "{gid}" "0644" "new" }}}}"#
            )),
            ""
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(
            err_msg(&format!(
                r#"{{{{ writeToFile "{f}" "ctmpl-no-such-user" "" "0644" "x" }}}}"#
            )),
            "user: unknown user ctmpl-no-such-user"
        );
        assert_eq!(
            err_msg(&format!(
                r#"{{{{ writeToFile "{f}" "" "ctmpl-no-such-group" "0644" "x" }}}}"#
            )),
            "group: unknown group ctmpl-no-such-group"
        );
        // As in Go, the content is written before the owner is looked up.
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
        assert_eq!(
            err_msg(&format!(r#"{{{{ writeToFile "{f}" "" "" "rw" "x" }}}}"#)),
            r#"strconv.ParseUint: parsing "rw": invalid syntax"#
        );
        assert_eq!(
            err_msg(r#"{{ writeToFile "a" "" "" "0644" }}"#),
            "runtime error: index out of range [-1]"
        );
        // Symlinks are refused, as the target and as the parent directory.
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let e = err_msg(&format!(
            r#"{{{{ writeToFile "{}" "" "" "0644" "x" }}}}"#,
            link.display()
        ));
        assert!(
            e.starts_with("writeToFile: refusing to write to symlink"),
            "{e}"
        );
        let linked_dir = dir.path().join("linkdir");
        std::os::unix::fs::symlink(dir.path().join("sub"), &linked_dir).unwrap();
        let through = linked_dir.join("f.txt");
        let e = err_msg(&format!(
            r#"{{{{ writeToFile "{}" "" "" "0644" "x" }}}}"#,
            through.display()
        ));
        assert!(e.starts_with("writeToFile: parent directory"), "{e}");
        assert!(!dir.path().join("sub/f.txt").exists());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    }

    #[test]
    fn sockaddr_subset() {
        let e = err_msg(r#"{{ sockaddr "GetAllInterfaces | include \"name\" \"lo\"" }}"#);
        assert!(e.starts_with("sockaddr: unsupported template"), "{e}");
        let ip = ok(r#"{{ sockaddr "GetPrivateIP" }}"#);
        assert!(
            ip.is_empty()
                || ip
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|a| a.is_private() || a.octets()[0] == 100),
            "{ip}"
        );
        let public = ok(r#"{{ sockaddr "GetPublicIPs" }}"#);
        assert!(
            public
                .split(' ')
                .all(|a| a.is_empty() || a.parse::<std::net::Ipv4Addr>().is_ok()),
            "{public}"
        );
        assert_eq!(
            ok(r#"{{ sockaddr "GetInterfaceIP" "\"ctmpl-no-such-if\"" }}"#),
            ""
        );
    }

    #[test]
    fn registered_names() {
        let mut funcs = FuncMap::new();
        register(&mut funcs);
        for name in SPRIG_FUNCTIONS {
            assert!(funcs.contains(&format!("sprig_{name}")), "sprig_{name}");
        }
        for name in [
            "byKey",
            "byTag",
            "byPort",
            "byMeta",
            "contains",
            "in",
            "containsAll",
            "containsAny",
            "containsNone",
            "containsNotAll",
            "explode",
            "explodeMap",
            "mergeMap",
            "mergeMapWithOverride",
            "loop",
            "join",
            "split",
            "splitToMap",
            "toLower",
            "toUpper",
            "toTitle",
            "trimSpace",
            "trim",
            "trimPrefix",
            "trimSuffix",
            "replaceAll",
            "regexReplaceAll",
            "regexMatch",
            "indent",
            "parseBool",
            "parseInt",
            "parseUint",
            "parseFloat",
            "parseJSON",
            "parseYAML",
            "toJSON",
            "toJSONPretty",
            "toUnescapedJSON",
            "toUnescapedJSONPretty",
            "toYAML",
            "toTOML",
            "base64Encode",
            "base64Decode",
            "base64URLEncode",
            "base64URLDecode",
            "sha256Hex",
            "md5sum",
            "hmacSHA256Hex",
            "add",
            "subtract",
            "multiply",
            "divide",
            "modulo",
            "minimum",
            "maximum",
            "env",
            "mustEnv",
            "envOrDefault",
            "timestamp",
            "plugin",
            "writeToFile",
            "spew_dump",
            "spew_printf",
            "spew_sdump",
            "spew_sprintf",
            "sockaddr",
        ] {
            assert!(funcs.contains(name), "{name}");
        }
        assert!(!funcs.contains("scratch"));
        assert!(
            !funcs.contains("sprig_now")
                && !funcs.contains("sprig_env")
                && !funcs.contains("sprig_uuidv4")
        );
    }

    #[test]
    fn go_strings_that_are_not_utf8() {
        assert_eq!(
            ok(
                r#"{{ len (base64Decode "/w==") }}|{{ base64Encode (base64Decode "/w==") }}|{{ sha256Hex (base64Decode "/w==") }}"#
            ),
            "1|/w==|a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89"
        );
        assert_eq!(
            ok(r#"{{ toJSON (base64Decode "/w==") }}|{{ toYAML (base64Decode "/w==") }}"#),
            r#""\ufffd"|!!binary /w=="#
        );
    }

    #[test]
    fn dicts_change_in_place() {
        let t = r#"{{ $d := sprig_dict "a" 1 }}{{ $e := $d }}{{ $_ := sprig_set $d "b" 2 }}{{ $e }}|{{ $_ := sprig_unset $e "a" }}{{ $d }}|{{ $d.b }}|{{ if $d }}t{{ end }}|{{ sprig_empty (sprig_dict) }}"#;
        assert_eq!(ok(t), "map[a:1 b:2]|map[b:2]|2|t|true");
        // A plain map is copied: the result has the change, the original does not.
        let plain = r#"{{ $m := parseJSON "{\"a\":1}" }}{{ sprig_set $m "b" 2 }}|{{ $m }}"#;
        assert_eq!(ok(plain), "map[a:1 b:2]|map[a:1]");
        let has =
            r#"{{ sprig_has (sprig_dict "a" "x") (sprig_list (parseJSON "{\"a\":\"x\"}")) }}"#;
        assert_eq!(ok(has), "true");
    }

    // Expected values below were produced by Go 1.23 with the libraries consul-template uses
    // (encoding/json, gopkg.in/yaml.v2 2.4.0, BurntSushi/toml, sprig v3, go-spew, x/text).

    #[test]
    fn json_encoding_matches_go() {
        assert_eq!(
            ok(r#"{{ toJSON .m }}"#),
            "{\"a\":1,\"b\":\"x\",\"c\":[1,2]}"
        );
        assert_eq!(ok(r#"{{ toJSON .l }}"#), "[1,\"two\",3.5]");
        assert_eq!(
            ok(
                r#"{{ toJSON .n }}|{{ toJSON .e }}|{{ toJSON "" }}|{{ toJSON true }}|{{ toJSON 42 }}"#
            ),
            "null|[]|\"\"|true|42"
        );
        assert_eq!(
            ok(r#"{{ toJSON "<a href='x'>&amp;</a>" }}"#),
            "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\""
        );
        assert_eq!(
            ok(r#"{{ toUnescapedJSON "<a>&\u2028" }}"#),
            "\"<a>&\\u2028\""
        );
        assert_eq!(
            ok(r#"{{ toJSON "\b\f\x01\x7f\u2029é\t\"\\" }}"#),
            "\"\\b\\f\\u0001\u{7f}\\u2029é\\t\\\"\\\\\""
        );
        assert_eq!(
            ok(r#"{{ toJSONPretty .m }}"#),
            "{\n  \"a\": 1,\n  \"b\": \"x\",\n  \"c\": [\n    1,\n    2\n  ]\n}"
        );
        assert_eq!(
            ok(
                r#"{{ toUnescapedJSONPretty (sprig_dict "h" "<b>" "l" (sprig_list 1 (sprig_list))) }}"#
            ),
            "{\n  \"h\": \"<b>\",\n  \"l\": [\n    1,\n    []\n  ]\n}"
        );
        assert_eq!(
            ok(r#"{{ toJSONPretty .e }}|{{ toJSONPretty (sprig_dict) }}"#),
            "[]|{}"
        );
        assert_eq!(
            ok(
                r#"{{ toJSON 8080.0 }}|{{ toJSON 1e21 }}|{{ toJSON 1e20 }}|{{ toJSON 1e-7 }}|{{ toJSON 0.000001 }}|{{ toJSON -1.5e-10 }}|{{ toJSON 123456789.123 }}"#
            ),
            "8080|1e+21|100000000000000000000|1e-7|0.000001|-1.5e-10|123456789.123"
        );
        assert_eq!(
            ok(
                r#"{{ toJSON 9.99e-7 }}|{{ toJSON 1.5e300 }}|{{ toJSON -0.0 }}|{{ toJSON 0.1 }}|{{ toJSON 12345678901234567890.0 }}"#
            ),
            "9.99e-7|1.5e+300|-0|0.1|12345678901234567000"
        );
        assert_eq!(
            ok(r#"{{ toJSON (parseJSON "{\"z\":1,\"a\":[true,null,\"s\"]}") }}"#),
            "{\"a\":[true,null,\"s\"],\"z\":1}"
        );
        assert_eq!(
            ok(r#"{{ toJSON (sprig_dict "a" (sprig_list 1 2.5 "x" true nil) "b" (sprig_dict)) }}"#),
            "{\"a\":[1,2.5,\"x\",true,null],\"b\":{}}"
        );
        assert_eq!(
            err(r#"{{ toJSON (parseFloat "NaN") }}"#),
            "toJSON: toJSON: json: unsupported value: NaN"
        );
        assert_eq!(
            err(r#"{{ toJSON (parseFloat "-inf") }}"#),
            "toJSON: toJSON: json: unsupported value: -Inf"
        );
        assert_eq!(
            err(r#"{{ toUnescapedJSON (parseFloat "+inf") }}"#),
            "toUnescapedJSON: toUnescapedJSON: json: unsupported value: +Inf"
        );
    }

    #[test]
    fn json_parsing_matches_go() {
        assert_eq!(
            err(r#"{{ parseJSON "[1, 2" }}"#),
            "parseJSON: unexpected end of JSON input"
        );
        assert_eq!(
            err(r#"{{ parseJSON "{\"a\" 1}" }}"#),
            "parseJSON: invalid character '1' after object key"
        );
        assert_eq!(
            err(r#"{{ parseJSON "tru" }}"#),
            "parseJSON: invalid character ' ' in literal true (expecting 'e')"
        );
        assert_eq!(
            err(r#"{{ parseJSON "trux" }}"#),
            "parseJSON: invalid character 'x' in literal true (expecting 'e')"
        );
        assert_eq!(
            err(r#"{{ parseJSON "nul" }}"#),
            "parseJSON: invalid character ' ' in literal null (expecting 'l')"
        );
        assert_eq!(
            err(r#"{{ parseJSON "[1,]" }}"#),
            "parseJSON: invalid character ']' looking for beginning of value"
        );
        assert_eq!(
            err(r#"{{ parseJSON "01" }}"#),
            "parseJSON: invalid character '1' after top-level value"
        );
        assert_eq!(
            err(r#"{{ parseJSON "\"a\\qb\"" }}"#),
            "parseJSON: invalid character 'q' in string escape code"
        );
        assert_eq!(
            err(r#"{{ parseJSON "\"\\u12x4\"" }}"#),
            "parseJSON: invalid character 'x' in \\u hexadecimal character escape"
        );
        assert_eq!(
            err(r#"{{ parseJSON "\"a\x01\"" }}"#),
            "parseJSON: invalid character '\\x01' in string literal"
        );
        assert_eq!(
            err(r#"{{ parseJSON "1.x" }}"#),
            "parseJSON: invalid character 'x' after decimal point in numeric literal"
        );
        assert_eq!(
            err(r#"{{ parseJSON "1e" }}"#),
            "parseJSON: invalid character ' ' in exponent of numeric literal"
        );
        assert_eq!(
            err(r#"{{ parseJSON "-" }}"#),
            "parseJSON: invalid character ' ' in numeric literal"
        );
        assert_eq!(
            err(r#"{{ parseJSON "{\"a\":1}}" }}"#),
            "parseJSON: invalid character '}' after top-level value"
        );
        assert_eq!(
            err(r#"{{ parseJSON "{\"a\":1 \"b\":2}" }}"#),
            "parseJSON: invalid character '\"' after object key:value pair"
        );
        assert_eq!(
            err(r#"{{ parseJSON "{1:2}" }}"#),
            "parseJSON: invalid character '1' looking for beginning of object key string"
        );
        assert_eq!(
            err(r#"{{ parseJSON "  " }}"#),
            "parseJSON: unexpected end of JSON input"
        );
        assert_eq!(
            err(r#"{{ parseJSON "'x'" }}"#),
            "parseJSON: invalid character '\\'' looking for beginning of value"
        );
        assert_eq!(
            ok(
                r#"{{ parseJSON "1e5" }}|{{ parseJSON "\"\\u00e9\"" }}|{{ (parseJSON "{\"a\":{\"b\":[1,2]}}").a.b }}"#
            ),
            "100000|é|[1 2]"
        );
        assert_eq!(
            ok(r#"{{ (parseJSON "").a }}|{{ parseJSON "" }}|{{ len (parseJSON "") }}"#),
            "<no value>|map[]|0"
        );
    }

    #[test]
    fn yaml_encoding_matches_yaml_v2() {
        assert_eq!(ok(r#"{{ toYAML .m }}"#), "a: 1\nb: x\nc:\n- 1\n- 2");
        assert_eq!(ok(r#"{{ toYAML .l }}"#), "- 1\n- two\n- 3.5");
        assert_eq!(
            ok(
                r#"{{ toYAML .n }}|{{ toYAML .e }}|{{ toYAML (sprig_dict) }}|{{ toYAML "plain" }}|{{ toYAML "" }}"#
            ),
            "null|[]|{}|plain|\"\""
        );
        assert_eq!(
            ok(
                r#"{{ toYAML (parseJSON "{\"k\":[{\"a\":1,\"b\":[1,2]},[3,[4]],{}],\"s\":\"\"}") }}"#
            ),
            "k:\n- a: 1\n  b:\n  - 1\n  - 2\n- - 3\n  - - 4\n- {}\ns: \"\""
        );
        assert_eq!(ok(r##"{{ toYAML (parseJSON "{\"a\":\"yes\",\"b\":\"null\",\"c\":\"~\",\"d\":\"123\",\"e\":\"1.5\",\"f\":\"0x1F\",\"g\":\"1:20\",\"h\":\"2020-01-02\",\"i\":\"-\",\"j\":\"- x\",\"k\":\"a: b\",\"l\":\"#x\",\"m\":\" lead\",\"n\":\"trail \",\"o\":\"it's\",\"p\":\"tab\\there\",\"q\":\"@at\",\"r\":\"a #b\",\"s\":\"on\",\"t\":\"<<\",\"u\":\"08\",\"v\":\"1e3\",\"w\":\".5\",\"x\":\"é\",\"y\":\"😀\",\"z\":\"a\\\"b\"}") }}"##), "a: \"yes\"\nb: \"null\"\nc: \"~\"\nd: \"123\"\ne: \"1.5\"\nf: \"0x1F\"\ng: \"1:20\"\nh: \"2020-01-02\"\ni: '-'\nj: '- x'\nk: 'a: b'\nl: '#x'\nm: ' lead'\n\"n\": 'trail '\no: it's\np: \"tab\\there\"\nq: '@at'\nr: 'a #b'\ns: \"on\"\nt: <<\nu: \"08\"\nv: \"1e3\"\nw: \".5\"\nx: é\n\"y\": \"\\U0001F600\"\nz: a\"b");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"lit\":\"a\\nb\\n\",\"lit2\":\"a\\nb\",\"lit3\":\"a\\n\\n\",\"lit4\":\" a\\nb\",\"sp\":\"a \\nb\",\"nested\":{\"x\":\"l1\\nl2\"}}") }}"#), "lit: |\n  a\n  b\nlit2: |-\n  a\n  b\nlit3: |+\n  a\n\nlit4: |2-\n   a\n  b\nnested:\n  x: |-\n    l1\n    l2\nsp: \"a \\nb\"");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"k\":\"line1\\nline2\\n\\n\",\"k2\":\"\\nstart\",\"k3\":\"tab\\tin\\nlines\",\"k4\":\"é\\nü\",\"k5\":\"end\\n\"}") }}"#), "k: |+\n  line1\n  line2\n\nk2: |2-\n\n  start\nk3: \"tab\\tin\\nlines\"\nk4: |-\n  é\n  ü\nk5: |\n  end");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"long\":\"word word word word word word word word word word word word word word word word word word word word word word word\"}") }}"#), "long: word word word word word word word word word word word word word word word word\n  word word word word word word word");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "[\"word word word word word word word word word word word word word word word word word word word word word word word: x\"]") }}"#), "- 'word word word word word word word word word word word word word word word word\n  word word word word word word word: x'");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"long\":\"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii jjjjjjjjjj kkkkkkkkkk\",\"longq\":\"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh: iiiiiiiiii jjjjjjjjjj kkkkkkkkkk\",\"longd\":\"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh\\tiiiiiiiiii jjjjjjjjjj kkkkkkkkkk\"}") }}"#), "long: aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg\n  hhhhhhhhhh iiiiiiiiii jjjjjjjjjj kkkkkkkkkk\nlongd: \"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg\n  hhhhhhhhhh\\tiiiiiiiiii jjjjjjjjjj kkkkkkkkkk\"\nlongq: 'aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg\n  hhhhhhhhhh: iiiiiiiiii jjjjjjjjjj kkkkkkkkkk'");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"nested\":{\"long\":\"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii jjjjjjjjjj kkkkkkkkkk\"},\"list\":[\"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii  jjjjjjjjjj kkkkkkkkkk\"]}") }}"#), "list:\n- aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh\n  iiiiiiiiii  jjjjjjjjjj kkkkkkkkkk\nnested:\n  long: aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg\n    hhhhhhhhhh iiiiiiiiii jjjjjjjjjj kkkkkkkkkk");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"a10\":1,\"a9\":2,\"B\":3,\"_\":4,\"a\":5,\"1\":6,\"10\":7,\"2\":8,\"ab\":9,\"a_b\":10,\"a1b\":11}") }}"#), "_: 4\n\"1\": 6\n\"2\": 8\n\"10\": 7\nB: 3\na: 5\na_b: 10\na10: 1\na1b: 11\na9: 2\nab: 9");
        assert_eq!(
            ok(
                r#"{{ toYAML (parseJSON "{\"a\":{\"b\":{\"c\":[1,{\"d\":[]}]}},\"e\":[[],{}]}") }}"#
            ),
            "a:\n  b:\n    c:\n    - 1\n    - d: []\ne:\n- []\n- {}"
        );
        assert_eq!(
            ok(r#"{{ toYAML (parseJSON "[[1,2],[[3]],{\"a\":[4]}]") }}"#),
            "- - 1\n  - 2\n- - - 3\n- a:\n  - 4"
        );
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"a b\":1,\"a:b\":2,\"-x\":3,\"\":4,\"x\\ny\":5,\"true\":6,\"null\":7,\"k #c\":8}") }}"#), "\"\": 4\n-x: 3\na b: 1\na:b: 2\n'k #c': 8\n\"null\": 7\n\"true\": 6\n? |-\n  x\n  y\n: 5");
        assert_eq!(ok(r#"{{ toYAML (parseJSON "{\"q\":\"'quoted'\",\"d\":\"\\\"dq\\\"\",\"p\":\"50%\",\"c\":\"a,b\",\"br\":\"[x]\",\"amp\":\"&a\",\"star\":\"*a\",\"ex\":\"!a\",\"pipe\":\"|a\",\"gt\":\">a\",\"qm\":\"?a\",\"qs\":\"? a\",\"col\":\":a\",\"cs\":\": a\",\"dots\":\"...\",\"dash3\":\"---\",\"nbsp\":\"a\\u00a0b\",\"nel\":\"a\\u0085b\",\"bs\":\"a\\\\b\"}") }}"#), "amp: '&a'\nbr: '[x]'\nbs: a\\b\nc: a,b\ncol: :a\ncs: ': a'\nd: '\"dq\"'\ndash3: '---'\ndots: '...'\nex: '!a'\ngt: '>a'\nnbsp: a b\nnel: \"a\\Nb\"\np: 50%\npipe: '|a'\nq: '''quoted'''\nqm: ?a\nqs: '? a'\nstar: '*a'");
        assert_eq!(
            ok(
                r#"{{ toYAML 1.5 }}|{{ toYAML 8080.0 }}|{{ toYAML 1e21 }}|{{ toYAML 1e6 }}|{{ toYAML true }}|{{ toYAML 42 }}|{{ toYAML 1e-7 }}|{{ toYAML (parseFloat "-inf") }}"#
            ),
            "1.5|8080|1e+21|1e+06|true|42|1e-07|-.inf"
        );
        assert_eq!(
            ok(r#"{{ toYAML (sprig_dict "b" 2 "a" (sprig_list 1 "x")) }}"#),
            "a:\n- 1\n- x\nb: 2"
        );
    }

    #[test]
    fn yaml_decoding_matches_yaml_v2() {
        assert_eq!(ok(r#"{{ range $k, $v := parseYAML "a: 1\nb: two\nc: 1.5\nd: yes\ne: ~\nf: [1, x, \"q\"]\nj: 'single ''q'''\nk: \"dq\\tx\\u00e9\"\nl: 0777\nm: 0x1F\nnum: 1_000\no: .inf\np: 2020-01-02\nq: -5\nr: 1e3\ns: off\nt: +12\nu: 18446744073709551615\nv: '08'\nw: 08\n" }}{{ $k }}={{ printf "%T:%v" $v $v }};{{ end }}"#), "a=int:1;b=string:two;c=float64:1.5;d=bool:true;e=<nil>:<nil>;f=[]interface {}:[1 x q];j=string:single 'q';k=string:dq\txé;l=int:511;m=int:31;num=int:1000;o=float64:+Inf;p=string:2020-01-02;q=int:-5;r=float64:1000;s=bool:false;t=int:12;u=uint64:18446744073709551615;v=string:08;w=float64:8;");
        assert_eq!(ok(r#"{{ range $k, $v := parseYAML "lit: |\n  line1\n   indented\n\n  line3\nfold: >\n  a\n  b\n\n  c\n   d\n  e\nstrip: |-\n  x\n\nkeep: |+\n  y\n\nlast: end\n" }}{{ $k }}={{ printf "%q" $v }};{{ end }}"#), "fold=\"a b\\nc\\n d\\ne\\n\";keep=\"y\\n\\n\";last=\"end\";lit=\"line1\\n indented\\n\\nline3\\n\";strip=\"x\";");
        assert_eq!(ok(r##"{{ range $k, $v := parseYAML "# comment\nlist:\n- a\n- b: 1\n  c: 2\n- - x\n  - y\n-\n  z: 3\nnested:\n  deep:\n    key: val # trailing\n  other: [1, 2]\nempty:\nplain multi: this is\n  continued\n  text\n" }}{{ $k }}={{ printf "%v" $v }};{{ end }}"##), "empty=<nil>;list=[a map[b:1 c:2] [x true] map[z:3]];nested=map[deep:map[key:val] other:[1 2]];plain multi=this is continued text;");
        assert_eq!(
            ok(
                r#"{{ range $k, $v := parseYAML "---\nbase: &b\n  x: 1\n  z: 2\nderived:\n  <<: *b\n  z: 3\nref: *b\nseq: &s [1, 2]\nseqref: *s\n...\n" }}{{ $k }}={{ printf "%v" $v }};{{ end }}"#
            ),
            "base=map[x:1 z:2];derived=map[x:1 z:3];ref=map[x:1 z:2];seq=[1 2];seqref=[1 2];"
        );
        assert_eq!(ok(r#"{{ range $k, $v := parseYAML "\"quoted key\": 1\n'single': 2\nk: \"multi\n  line\"\nflow: {a: [1, {b: c}], d: e}\nempty_flow: []\nstr: !!str 123\nnull_val: null\ntilde: ~\ncolon: a:b\nurl: http://x.y/z\nhash: a#b\n" }}{{ $k }}={{ printf "%v" $v }};{{ end }}"#), "colon=a:b;empty_flow=[];flow=map[a:[1 map[b:c]] d:e];hash=a#b;k=multi line;null_val=<nil>;quoted key=1;single=2;str=123;tilde=<nil>;url=http://x.y/z;");
        assert_eq!(
            ok(
                r##"{{ printf "%v" (parseYAML "- 1\n- two\n") }}|{{ printf "%v" (parseYAML "just a string") }}|{{ printf "%v" (parseYAML "42") }}|{{ printf "%v" (parseYAML "") }}|{{ printf "%v" (parseYAML "# only comment\n") }}"##
            ),
            "[1 two]|just a string|42|map[]|<nil>"
        );
        assert_eq!(
            ok(
                r#"{{ printf "%v" (parseYAML "a:\n  b:\n    c: 1\n  d: 2\ne: 3") }}|{{ printf "%v" (parseYAML "- a: 1\n  b: 2\n- c") }}|{{ printf "%v" (parseYAML "top:\n- x\n- y\nnext: z") }}"#
            ),
            "map[a:map[b:map[c:1] d:2] e:3]|[map[a:1 b:2] c]|map[next:z top:[x true]]"
        );
        assert_eq!(
            err(r#"{{ parseYAML "a: b: c" }}"#),
            "parseYAML: yaml: mapping values are not allowed in this context"
        );
        assert_eq!(
            err(r#"{{ parseYAML "a: [1, 2" }}"#),
            "parseYAML: yaml: line 1: did not find expected ',' or ']'"
        );
        assert_eq!(
            err(r#"{{ parseYAML "a:\n  - b\n  c: d" }}"#),
            "parseYAML: yaml: line 2: did not find expected '-' indicator"
        );
        assert_eq!(
            err(r#"{{ parseYAML "a: 1\n\tb: 2" }}"#),
            "parseYAML: yaml: line 2: found a tab character that violates indentation"
        );
        assert_eq!(
            err(r#"{{ parseYAML "a: *nope" }}"#),
            "parseYAML: yaml: unknown anchor 'nope' referenced"
        );
        assert_eq!(
            err(r#"{{ parseYAML "key: \"unterminated" }}"#),
            "parseYAML: yaml: found unexpected end of stream"
        );
    }

    #[test]
    fn toml_encoding_matches_burntsushi() {
        assert_eq!(
            ok(r#"{{ toTOML .m }}"#),
            "a = 1.0\nb = \"x\"\nc = [1.0, 2.0]"
        );
        assert_eq!(ok(r#"{{ toTOML (parseJSON "{\"a\":1,\"b\":{\"c\":2.5,\"d\":{\"e\":\"x\\\"y\"}},\"f\":[1,2],\"g\":[{\"h\":1},{\"h\":2}],\"i key\":true,\"j\":null,\"k\":{}}") }}"#), "a = 1.0\nf = [1.0, 2.0]\n\"i key\" = true\n\n[b]\n  c = 2.5\n  [b.d]\n    e = \"x\\\"y\"\n\n[[g]]\n  h = 1.0\n\n[[g]]\n  h = 2.0\n\n[k]");
        assert_eq!(
            ok(
                r#"{{ toTOML (parseJSON "{\"z\":{\"y\":1},\"a\":\"s\",\"m\":[[1,2],[\"a\"]],\"n\":[{\"x\":1}, 2]}") }}"#
            ),
            "a = \"s\"\nm = [[1.0, 2.0], [\"a\"]]\nn = [{x = 1.0}, 2.0]\n\n[z]\n  y = 1.0"
        );
        assert_eq!(ok(r#"{{ toTOML (parseJSON "{\"s\":\"a\\tb\\u0001\\\\\",\"f\":1.5,\"g\":3.0,\"big\":1e21,\"neg\":-2.25,\"arr\":[1.5,\"x\"],\"t\":{\"u\":{\"v\":{\"w\":1}}},\"key.dot\":1}") }}"#), "arr = [1.5, \"x\"]\nbig = 1000000000000000000000.0\nf = 1.5\ng = 3.0\n\"key.dot\" = 1.0\nneg = -2.25\ns = \"a\\tb\\u0001\\\\\"\n\n[t]\n  [t.u]\n    [t.u.v]\n      w = 1.0");
        assert_eq!(
            ok(
                r#"{{ toTOML (parseJSON "{\"a\":[{\"b\":1,\"c\":{\"d\":2}},{\"b\":3}],\"z\":1}") }}"#
            ),
            "z = 1.0\n\n[[a]]\n  b = 1.0\n  [a.c]\n    d = 2.0\n\n[[a]]\n  b = 3.0"
        );
        assert_eq!(ok(r#"{{ toTOML (sprig_dict) }}"#), "");
    }

    #[test]
    fn base64_and_hashes_match_go() {
        assert_eq!(
            ok(
                r#"{{ base64Encode "hello?>" }}|{{ base64URLEncode "hello?>" }}|{{ base64Encode "" }}|{{ base64Encode "a" }}|{{ base64Encode "ab" }}|{{ base64URLEncode "\xff\xfe" }}"#
            ),
            "aGVsbG8/Pg==|aGVsbG8_Pg==||YQ==|YWI=|__4="
        );
        assert_eq!(
            ok(
                r#"{{ base64Decode "aGVsbG8/Pg==" }}|{{ base64URLDecode "aGVsbG8_Pg==" }}|{{ base64Decode "YQ==" }}|{{ base64Decode "YWI=" }}|{{ base64Decode "YW\nJj" }}|{{ base64Decode "" }}"#
            ),
            "hello?>|hello?>|a|ab|abc|"
        );
        assert_eq!(
            err(r#"{{ base64Decode "YWJj=" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 4"
        );
        assert_eq!(
            err(r#"{{ base64Decode "YQ" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 0"
        );
        assert_eq!(
            err(r#"{{ base64Decode "Y" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 0"
        );
        assert_eq!(
            err(r#"{{ base64Decode "YQ=x" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 2"
        );
        assert_eq!(
            err(r#"{{ base64Decode "YQ==x" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 4"
        );
        assert_eq!(
            err(r#"{{ base64Decode "a$==" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 1"
        );
        assert_eq!(
            err(r#"{{ base64Decode "YQ=" }}"#),
            "base64Decode: base64Decode: illegal base64 data at input byte 3"
        );
        assert_eq!(
            err(r#"{{ base64URLDecode "aGVsbG8/Pg==" }}"#),
            "base64URLDecode: base64URLDecode: illegal base64 data at input byte 7"
        );
        assert_eq!(ok(r#"{{ sha256Hex "" }}|{{ sha256Hex "abc" }}"#), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            ok(r#"{{ md5sum "" }}|{{ md5sum "hello world" }}"#),
            "d41d8cd98f00b204e9800998ecf8427e|5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(ok(r#"{{ hmacSHA256Hex "message" "key" }}|{{ "key" | hmacSHA256Hex "message" }}"#), "6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a|6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a");
        assert_eq!(ok(r#"{{ sha256Hex "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog!" }}|{{ md5sum "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog!" }}"#), "ee9d1ee89dab1c00e42f2544b2469835cc181b31efb891dc6cbd470980402f99|16da7ba8b62f936a631d95e17cb477f1");
        assert_eq!(
            ok(
                r#"{{ hmacSHA256Hex "msg" "a very long key that is longer than the sixty-four byte block size of sha256!!" }}"#
            ),
            "932b27cfe2eec5c2873f82caf1a88e30216d13aafa684cd6a997da78029a7ed3"
        );
    }

    #[test]
    fn strconv_parsing_matches_go() {
        assert_eq!(
            ok(
                r#"{{ parseInt "42" }}|{{ parseInt "-9223372036854775808" }}|{{ parseInt "" }}|{{ parseInt "+7" }}"#
            ),
            "42|-9223372036854775808|0|7"
        );
        assert_eq!(
            err(r#"{{ parseInt "x" }}"#),
            "parseInt: parseInt: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(err(r#"{{ parseInt "9223372036854775808" }}"#), "parseInt: parseInt: strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
        assert_eq!(
            err(r#"{{ parseInt "1_000" }}"#),
            "parseInt: parseInt: strconv.ParseInt: parsing \"1_000\": invalid syntax"
        );
        assert_eq!(err(r#"{{ parseInt "99999999999999999999x" }}"#), "parseInt: parseInt: strconv.ParseInt: parsing \"99999999999999999999x\": value out of range");
        assert_eq!(
            err(r#"{{ parseInt " 1" }}"#),
            "parseInt: parseInt: strconv.ParseInt: parsing \" 1\": invalid syntax"
        );
        assert_eq!(
            ok(
                r#"{{ parseUint "18446744073709551615" }}|{{ parseUint "" }}|{{ printf "%T" (parseUint "1") }}"#
            ),
            "18446744073709551615|0|uint64"
        );
        assert_eq!(
            err(r#"{{ parseUint "-1" }}"#),
            "parseUint: parseUint: strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        assert_eq!(err(r#"{{ parseUint "18446744073709551616" }}"#), "parseUint: parseUint: strconv.ParseUint: parsing \"18446744073709551616\": value out of range");
        assert_eq!(
            ok(
                r#"{{ parseFloat "1.5" }}|{{ parseFloat "" }}|{{ parseFloat "1e3" }}|{{ parseFloat "-inf" }}|{{ parseFloat "NaN" }}|{{ parseFloat "1_000.5" }}|{{ parseFloat "0x1p-2" }}|{{ parseFloat ".5" }}|{{ parseFloat "Infinity" }}|{{ printf "%T" (parseFloat "") }}"#
            ),
            "1.5|0|1000|-Inf|NaN|1000.5|0.25|0.5|+Inf|float64"
        );
        assert_eq!(
            err(r#"{{ parseFloat "1e400" }}"#),
            "parseFloat: parseFloat: strconv.ParseFloat: parsing \"1e400\": value out of range"
        );
        assert_eq!(
            err(r#"{{ parseFloat "abc" }}"#),
            "parseFloat: parseFloat: strconv.ParseFloat: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            err(r#"{{ parseFloat "+nan" }}"#),
            "parseFloat: parseFloat: strconv.ParseFloat: parsing \"+nan\": invalid syntax"
        );
        assert_eq!(
            err(r#"{{ parseFloat "0x10" }}"#),
            "parseFloat: parseFloat: strconv.ParseFloat: parsing \"0x10\": invalid syntax"
        );
        assert_eq!(
            err(r#"{{ parseFloat "1__0" }}"#),
            "parseFloat: parseFloat: strconv.ParseFloat: parsing \"1__0\": invalid syntax"
        );
        assert_eq!(
            ok(
                r#"{{ parseBool "true" }}|{{ parseBool "1" }}|{{ parseBool "F" }}|{{ parseBool "" }}|{{ parseBool "True" }}"#
            ),
            "true|true|false|false|true"
        );
        assert_eq!(
            err(r#"{{ parseBool "yes" }}"#),
            "parseBool: parseBool: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn regex_matches_go_re2() {
        assert_eq!(
            ok(r#"{{ regexReplaceAll "(\\w+)@(\\w+)" "$2 at $1 ${1}x $1x $$" "ab@cd ef@gh" }}"#),
            "cd at ab abx  $ gh at ef efx  $"
        );
        assert_eq!(
            ok(
                r#"{{ regexReplaceAll "a*" "-" "baaac" }}|{{ regexReplaceAll "" "-" "abc" }}|{{ regexReplaceAll "x*" "-" "é" }}"#
            ),
            "-b-c-|-a-b-c-|-é-"
        );
        assert_eq!(
            ok(
                r#"{{ regexReplaceAll "\\d+" "N" "a12b٣c" }}|{{ regexReplaceAll "\\s+" "_" "a \t b\u00a0c" }}|{{ regexReplaceAll "\\bx" "Y" "x éx ax" }}"#
            ),
            "aNb٣c|a_b c|Y éY ax"
        );
        assert_eq!(
            ok(
                r#"{{ regexMatch "^web-\\d+$" "web-12" }}|{{ regexMatch "(?i)WEB" "web" }}|{{ regexMatch "[\\d_]+" "é" }}|{{ "web-1" | regexMatch "^web" }}"#
            ),
            "true|true|false|true"
        );
        assert_eq!(
            err(r#"{{ regexMatch "a(b" "x" }}"#),
            "regexMatch: error parsing regexp: missing closing ): `a(b`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "a)b" "x" }}"#),
            "regexMatch: error parsing regexp: unexpected ): `a)b`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "*a" "x" }}"#),
            "regexMatch: error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "\\q" "x" }}"#),
            "regexMatch: error parsing regexp: invalid escape sequence: `\\q`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "[a" "x" }}"#),
            "regexMatch: error parsing regexp: missing closing ]: `[a`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "a{2,1}" "x" }}"#),
            "regexMatch: error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "\\1" "x" }}"#),
            "regexMatch: error parsing regexp: invalid escape sequence: `\\1`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "[z-a]" "x" }}"#),
            "regexMatch: error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "(?x) a" "a" }}"#),
            "regexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?x`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "x**" "a" }}"#),
            "regexMatch: error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err(r#"{{ regexMatch "x{2}*" "a" }}"#),
            "regexMatch: error parsing regexp: invalid nested repetition operator: `{2}*`"
        );
        assert_eq!(
            ok(
                r##"{{ regexReplaceAll "\\Qa.b\\E" "X" "a.b axb" }}|{{ regexReplaceAll "[a[]" "X" "a[b" }}|{{ regexReplaceAll "\\101" "X" "ABA" }}|{{ regexReplaceAll "[[:digit:]]+" "#" "a1b22" }}|{{ regexReplaceAll "a{,2}" "X" "a{,2}" }}|{{ regexReplaceAll "x{" "X" "x{" }}"##
            ),
            "X axb|XXb|XBX|a#b#|X|X"
        );
        assert_eq!(
            ok(
                r#"{{ regexReplaceAll "(?P<first>\\w+) (?P<last>\\w+)" "${last}, $first" "John Smith" }}|{{ regexReplaceAll "(a)(b)?" "[$2]" "ab a" }}|{{ regexReplaceAll "a" "$" "aXa" }}|{{ regexReplaceAll "a" "$x$" "a" }}"#
            ),
            "Smith, John|[b] []|$X$|$"
        );
        assert_eq!(
            ok(
                r#"{{ regexReplaceAll "\\w" "." "aé_1" }}|{{ regexReplaceAll "\\W" "." "aé_1 " }}|{{ regexReplaceAll "\\S+" "X" "a\u00a0b c" }}|{{ regexReplaceAll "[^\\d]" "" "a1b2" }}|{{ regexReplaceAll "\\B" "-" "abc de" }}"#
            ),
            ".é..|a._1.|X X|12|a-b-c d-e"
        );
        assert_eq!(
            ok(
                r#"{{ regexReplaceAll "^" ">" "a\nb" }}|{{ regexReplaceAll "(?m)^" ">" "a\nb" }}|{{ regexReplaceAll "$" "<" "a\nb" }}|{{ regexReplaceAll "(?s)a.b" "X" "a\nb" }}|{{ regexReplaceAll "a.b" "X" "a\nb" }}|{{ regexReplaceAll "(?U)a+" "X" "aaa" }}|{{ regexReplaceAll "\\x41\\x{42}" "X" "AB" }}|{{ regexReplaceAll "\\pL+" "L" "héllo1" }}|{{ regexReplaceAll "\\p{Greek}" "G" "aβ" }}"#
            ),
            ">a\nb|>a\n>b|a\nb<|X|a\nb|XXX|X|L1|aG"
        );
    }

    #[test]
    fn case_mapping_matches_go() {
        assert_eq!(
            ok(r#"{{ toLower "HeLLo ÀÉ İ Σ" }}|{{ toUpper "hello àé ß ǅ ﬀ" }}"#),
            "hello àé i σ|HELLO ÀÉ ß Ǆ ﬀ"
        );
        assert_eq!(
            ok(r#"{{ toTitle "hello wOrld o'neil e.g foo_bar 3rd x-y" }}"#),
            "Hello WOrld O'neil E.g Foo_bar 3Rd X-Y"
        );
        assert_eq!(
            ok(r#"{{ toTitle "x3y a3b 3rd _ab a_b 'ab a'b a.b .ab a:b a-b a b" }}"#),
            "X3y A3b 3Rd _Ab A_b 'Ab A'b A.b .Ab A:b A-B A B"
        );
        assert_eq!(
            ok(r#"{{ toTitle "àb ǆx éé 1a2b 1é a1b ab1c 'a x''y x'' y" }}"#),
            "Àb ǅx Éé 1A2b 1É A1b Ab1c 'A X''Y X'' Y"
        );
        assert_eq!(
            ok(r#"{{ toTitle "a\u0301b c.d.e. f..g h:i ä·b" }}"#),
            "Áb C.d.e. F..G H:i Ä·b"
        );
        assert_eq!(
            ok(
                r#"{{ toLower "ÀÉÎÕÜ ΑΒΓ ДЖЯ" }}|{{ toUpper "àéîõü αβγ джя ſ ﬁ ŉ ǳ" }}|{{ toTitle "élan vital ǳx ﬁx" }}|{{ sprig_title "ǳx éa a.b a_b" }}"#
            ),
            "àéîõü αβγ джя|ÀÉÎÕÜ ΑΒΓ ДЖЯ S ﬁ ŉ Ǳ|Élan Vital ǲx Fix|ǲx Éa A.B A_b"
        );
        assert_eq!(
            ok(
                r#"{{ printf "%q" (toLower "İ") }}|{{ printf "%q" (toUpper "ı") }}|{{ printf "%q" (toLower "K") }}"#
            ),
            "\"i\"|\"I\"|\"k\""
        );
        assert_eq!(
            ok(r#"{{ sprig_title "hello wOrld o'neil e.g foo_bar 3rd x-y" }}"#),
            "Hello WOrld O'Neil E.G Foo_bar 3rd X-Y"
        );
    }

    #[test]
    fn sprig_dicts_match_go() {
        assert_eq!(
            ok(
                r#"{{ sprig_list 1 "a" 2.5 nil }}|{{ sprig_dict "a" 1 "b" }}|{{ $d := sprig_dict "x" 1 }}{{ $_ := sprig_set $d "y" 2 }}{{ $d }}|{{ sprig_get $d "x" }}{{ sprig_get $d "zz" }}|{{ sprig_hasKey $d "y" }}"#
            ),
            "[1 a 2.5 <nil>]|map[a:1 b:]|map[x:1 y:2]|1|true"
        );
        assert_eq!(
            ok(
                r#"{{ $d := sprig_dict "x" 1 "y" 2 }}{{ $_ := sprig_unset $d "x" }}{{ $d }}|{{ sprig_keys $d (sprig_dict "z" 1) }}|{{ sprig_values $d }}|{{ sprig_pluck "y" $d (sprig_dict "y" 3) }}"#
            ),
            "map[y:2]|[y z]|[2]|[2 3]"
        );
        assert_eq!(
            ok(
                r#"{{ $a := sprig_dict "x" 1 "z" "" }}{{ $_ := sprig_merge $a (sprig_dict "x" 2 "y" 3 "z" "v") }}{{ $a }}"#
            ),
            "map[x:1 y:3 z:v]"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_default "d" "" }}|{{ sprig_default "d" "g" }}|{{ sprig_default "d" 0 }}|{{ "" | sprig_default "p" }}|{{ sprig_empty "" }}{{ sprig_empty 0 }}{{ sprig_empty .e }}{{ sprig_empty .m }}{{ sprig_empty nil }}|{{ sprig_coalesce "" 0 "x" }}|{{ sprig_coalesce "" }}"#
            ),
            "d|g|d|p|truetruetruefalsetrue|x|<no value>"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_ternary "a" "b" true }}|{{ sprig_ternary "a" "b" false }}|{{ true | sprig_ternary 1 2 }}"#
            ),
            "a|b|1"
        );
        assert_eq!(
            ok(
                r#"{{ $d := sprig_dict "k" 1 }}{{ $d.k }}|{{ index $d "k" }}|{{ len $d }}|{{ range $k, $v := $d }}{{ $k }}{{ $v }}{{ end }}|{{ printf "%T" $d }}|{{ toJSON $d }}"#
            ),
            "1|1|1|k1|map[string]interface {}|{\"k\":1}"
        );
    }

    #[test]
    fn sprig_lists_match_go() {
        assert_eq!(
            ok(
                r#"{{ sprig_first .l }}|{{ sprig_last .l }}|{{ sprig_rest .l }}|{{ sprig_initial .l }}|{{ sprig_first .e }}|{{ sprig_rest .e }}|{{ sprig_initial .e }}"#
            ),
            "1|3.5|[two 3.5]|[1 two]|<no value>|[]|[]"
        );
        assert_eq!(
            err(r#"{{ sprig_first "abc" }}"#),
            "sprig_first: Cannot find first on type string"
        );
        assert_eq!(
            err(r#"{{ sprig_first nil }}"#),
            "sprig_first: runtime error: invalid memory address or nil pointer dereference"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_uniq (sprig_list 1 1 "a" "a" 2.0 1) }}|{{ sprig_has 1 (sprig_list 1 2) }}|{{ sprig_has 1.0 (sprig_list 1 2) }}|{{ sprig_has 1 nil }}|{{ sprig_without (sprig_list 1 2 3 2) 2 }}|{{ sprig_compact (sprig_list 0 "" 1 "a" nil false) }}"#
            ),
            "[1 a 2]|true|false|false|[1 3]|[1 a]"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_append .l 4 }}|{{ sprig_push .l "x" }}|{{ sprig_prepend .l 0 }}|{{ sprig_concat .l .e (sprig_list 9) }}|{{ sprig_reverse .l }}"#
            ),
            "[1 two 3.5 4]|[1 two 3.5 x]|[0 1 two 3.5]|[1 two 3.5 9]|[3.5 two 1]"
        );
        assert_eq!(
            err(r#"{{ sprig_concat .l "x" }}"#),
            "sprig_concat: Cannot concat type string as list"
        );
        assert_eq!(
            err(r#"{{ sprig_has 1 "x" }}"#),
            "sprig_has: Cannot find has on type string"
        );
    }

    #[test]
    fn sprig_strings_match_go() {
        assert_eq!(
            ok(
                r#"{{ sprig_upper "abc" }}|{{ sprig_lower "ABC" }}|{{ sprig_trim "  x  " }}|{{ sprig_trimAll "$" "$5.00$" }}|{{ sprig_trimPrefix "a" "aab" }}|{{ sprig_trimSuffix "b" "abb" }}|{{ sprig_replace "a" "b" "banana" }}|{{ sprig_repeat 3 "ab" }}"#
            ),
            "ABC|abc|x|5.00|ab|ab|bbnbnb|ababab"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_substr 1 3 "hello" }}|{{ sprig_substr -1 3 "hello" }}|{{ sprig_substr 2 99 "hello" }}|{{ sprig_trunc 3 "hello" }}|{{ sprig_trunc -2 "hello" }}|{{ sprig_trunc 10 "hi" }}|{{ sprig_nospace " a b\tc\n" }}"#
            ),
            "el|hel|llo|hel|lo|hi|abc"
        );
        assert_eq!(
            err(r#"{{ sprig_substr 4 2 "hello" }}"#),
            "sprig_substr: runtime error: slice bounds out of range [4:2]"
        );
        assert_eq!(
            err(r#"{{ sprig_repeat -1 "x" }}"#),
            "sprig_repeat: strings: negative Repeat count"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_contains "ell" "hello" }}|{{ sprig_hasPrefix "he" "hello" }}|{{ sprig_hasSuffix "lo" "hello" }}|{{ sprig_quote "a\"b" 1 nil }}|{{ sprig_squote "a" 2 }}|{{ sprig_cat "a" 1 nil "b" }}"#
            ),
            "true|true|true|\"a\\\"b\" \"1\"|'a' '2'|a 1 b"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_indent 2 "a\nb" }}|{{ sprig_nindent 2 "a" }}|{{ sprig_join "," .l }}|{{ sprig_join "-" "x" }}|{{ sprig_join "," nil }}|{{ sprig_splitList "," "a,b,,c" }}|{{ sprig_split "," "a,b" }}|{{ (sprig_split "," "a,b")._1 }}"#
            ),
            "  a\n  b|\n  a|1,two,3.5|x||[a b  c]|map[_0:a _1:b]|b"
        );
        assert_eq!(ok(r#"{{ sprig_b64enc "hi" }}|{{ sprig_b64dec "aGk=" }}|{{ sprig_b64dec "!!" }}|{{ sprig_toJson .m }}|{{ sprig_toPrettyJson .l }}|{{ sprig_toString 1.5 }}|{{ sprig_toString nil }}|{{ sprig_toStrings .l }}|{{ sprig_toJson (parseFloat "NaN") }}"#), "aGk=|hi|illegal base64 data at input byte 0|{\"a\":1,\"b\":\"x\",\"c\":[1,2]}|[\n  1,\n  \"two\",\n  3.5\n]|1.5|<nil>|[1 two 3.5]|");
    }

    #[test]
    fn sprig_numbers_match_go() {
        assert_eq!(
            ok(
                r#"{{ sprig_int "42" }}|{{ sprig_int "0x1F" }}|{{ sprig_int "010" }}|{{ sprig_int "12.0" }}|{{ sprig_int "12.5" }}|{{ sprig_int 3.9 }}|{{ sprig_int true }}|{{ sprig_int nil }}|{{ sprig_int64 "-5" }}|{{ sprig_float64 "1.5" }}|{{ sprig_float64 3 }}|{{ sprig_atoi "12" }}|{{ sprig_atoi "x" }}"#
            ),
            "42|31|8|12|0|3|1|0|-5|1.5|3|12|0"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_add 1 2 "3" }}|{{ sprig_add1 5 }}|{{ sprig_sub 5 2 }}|{{ sprig_mul 2 3 4 }}|{{ sprig_div 7 2 }}|{{ sprig_mod 7 3 }}|{{ sprig_max 1 5 3 }}|{{ sprig_min 4 2 8 }}"#
            ),
            "6|6|3|24|3|1|5|2"
        );
        assert_eq!(
            err(r#"{{ sprig_div 1 0 }}"#),
            "sprig_div: runtime error: integer divide by zero"
        );
        assert_eq!(
            ok(
                r#"{{ sprig_until 3 }}|{{ sprig_until -2 }}|{{ sprig_untilStep 0 10 3 }}|{{ sprig_untilStep 5 0 -2 }}|{{ sprig_untilStep 0 5 -1 }}|{{ sprig_seq 3 }}|{{ sprig_seq 2 5 }}|{{ sprig_seq 5 2 }}|{{ sprig_seq 0 2 10 }}|{{ sprig_seq 0 }}|{{ sprig_seq 10 2 0 }}"#
            ),
            "[0 1 2]|[0 -1]|[0 3 6 9]|[5 3 1]|[]|1 2 3|2 3 4 5|5 4 3 2|0 2 4 6 8 10|1 0|"
        );
    }

    #[test]
    fn sprig_regex_and_hash_match_go() {
        assert_eq!(ok(r#"{{ sprig_sha256sum "abc" }}|{{ sprig_regexMatch "^a" "abc" }}|{{ sprig_regexMatch "(" "abc" }}|{{ sprig_regexFind "b+" "abbbc" }}|{{ sprig_regexFindAll "a." "axayaz" 2 }}|{{ sprig_regexFindAll "a." "axayaz" -1 }}|{{ sprig_regexReplaceAll "a(x)" "axb" "[$1]" }}|{{ sprig_regexSplit "," "a,b,c" -1 }}|{{ sprig_regexSplit "," "a,b,c" 2 }}|{{ sprig_regexSplit "x*" "abc" -1 }}|{{ sprig_regexSplit "," "" -1 }}|{{ sprig_regexFindAll "a" "aaa" 0 }}"#), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|true|false|bbb|[ax ay]|[ax ay az]|[x]b|[a b c]|[a b,c]|[a b c]|[]|[]");
        assert_eq!(
            err(r#"{{ sprig_regexFind "(" "x" }}"#),
            "sprig_regexFind: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
        );
    }

    #[test]
    fn time_layouts_match_go() {
        assert_eq!(ok(r#"{{ timeAt "2006-01-02T15:04:05Z07:00" 1700000000 0 }}|{{ timeAt "Mon Jan _2 15:04:05 MST 2006" 1700000000 0 }}|{{ timeAt "Monday, January 2, 2006 3:04PM -0700 -07:00 -07" 1700000000 0 }}"#), "2023-11-14T22:13:20Z|Tue Nov 14 22:13:20 UTC 2023|Tuesday, November 14, 2023 10:13PM +0000 +00:00 +00");
        assert_eq!(ok(r#"{{ timeAt "2006-01-02 15:04:05.000 .999 ,000000 .9 __2 002 pm" 1700000000 120000000 }}|{{ timeAt "06 1 2 3 4 5 Jan2006 Z0700 Z07" 946684800 5 }}|{{ timeAt "Janet Mondays" 0 0 }}|{{ timeAt ".00099" 0 0 }}|{{ timeAt "_2006" 0 0 }}"#), "2023-11-14 22:13:20.120 .12 ,120000 .1 318 318 pm|00 1 1 12 0 0 Jan2000 Z Z|Janet Thursdays|.00099|_1970");
        assert_eq!(ok(r#"{{ timeAt "Jan _2 2006 __2 002" 1704067200 0 }}|{{ timeAt "3:04:05 PM" 1704067200 0 }}|{{ timeAt "03 15 pm" 1704110400 0 }}|{{ timeAt "2006-01-02T15:04:05.999999999Z07:00" 1700000000 123456789 }}|{{ timeAt "2006-01-02T15:04:05.999999999Z07:00" 1700000000 0 }}"#), "Jan  1 2024   1 001|12:00:00 AM|12 12 pm|2023-11-14T22:13:20.123456789Z|2023-11-14T22:13:20Z");
        assert_eq!(ok(r#"{{ timeAt "Z07:00:00 -07:00:00 Z070000 -070000 MST" 0 0 }}|{{ timeAt "2006 02 Mon" -86400 0 }}|{{ timeAt "2006-01-02" -62135596800 0 }}|{{ timeAt "2006-01-02" 253402300799 0 }}|{{ timeAt "Jan Janu" 0 0 }}|{{ timeAt ",999" 0 5000000 }}|{{ timeAt "1 12 123" 0 0 }}|{{ timeAt "2006-01-02" 951782400 0 }}|{{ timeAt "002" 1709164800 0 }}"#), "Z +00:00:00 Z +000000 UTC|1969 31 Wed|0001-01-01|9999-12-31|Jan Janu|,005|1 11 1112|2000-02-29|060");
    }

    #[test]
    fn spew_dump_matches_go_spew() {
        assert_eq!(ok(r#"{{ spew_sdump "hello" 1 1.5 true nil (sprig_list "a" 2) .m "" }}"#), "(string) (len=5) \"hello\"\n(int) 1\n(float64) 1.5\n(bool) true\n(interface {}) <nil>\n([]interface {}) (len=2 cap=2) {\n (string) (len=1) \"a\",\n (int) 2\n}\n(map[string]interface {}) (len=3) {\n (string) (len=1) \"a\": (float64) 1,\n (string) (len=1) \"b\": (string) (len=1) \"x\",\n (string) (len=1) \"c\": ([]interface {}) (len=2 cap=2) {\n  (float64) 1,\n  (float64) 2\n }\n}\n(string) \"\"\n");
        assert_eq!(ok(r#"{{ spew_sdump (sprig_dict "k" (sprig_list "a")) 5 }}"#), "(map[string]interface {}) (len=1) {\n (string) (len=1) \"k\": ([]interface {}) (len=1 cap=1) {\n  (string) (len=1) \"a\"\n }\n}\n(int) 5\n");
    }

    /// The message of a template that must fail, without `error calling NAME: `.
    #[track_caller]
    fn err_msg(text: &str) -> String {
        let e = err(text);
        match (
            render(text).unwrap_err().contains("error calling "),
            e.split_once(": "),
        ) {
            (true, Some((_, msg))) => msg.to_string(),
            _ => e,
        }
    }
}
