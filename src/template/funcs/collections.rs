//! Collections: `byKey`, `byTag`, `byPort`, `byMeta`, `contains`/`in` and the `contains*`
//! family, `explode`/`explodeMap`, `mergeMap*`, `loop`, and `join`/`split`/`splitToMap`.
//!
//! The grouping functions take the records the Consul functions return (`[]*dependency.KeyPair`,
//! `[]*dependency.HealthService`) and refuse anything else with Go's `validateType` wording.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::scratch::{is_map, map_in_place, with_map_mut};
use super::sprig::sprig_empty;
use super::strconv::{go_parse_int, parse_int_empty_zero};
use super::strings::go_split;
use super::{
    def, fail, list_items, lossy, map_arg, sprintf, string_arg, string_list_arg, wrong_type, Map,
    Res, MAX_DEPTH,
};
use crate::gotmpl::{Arity, FuncError, FuncMap, Record, Typed, Value};

pub(super) fn register(funcs: &mut FuncMap) {
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
            return Ok(Typed::strings(Vec::new()));
        }
        let parts = go_split(s, &string_arg(&a[0])?);
        Ok(Typed::strings(parts.into_iter().map(Value::str).collect()))
    });
    def(funcs, "splitToMap", Arity::Exact(3), |a| {
        let (sep1, sep2) = (string_arg(&a[0])?, string_arg(&a[1])?);
        let s = string_arg(&a[2])?;
        let s = s.trim();
        let items = if s.is_empty() {
            Vec::new()
        } else {
            go_split(s, &sep1)
        };
        // Of repeated keys the last wins, as in Go's map assignments.
        let m: Map = items
            .iter()
            .filter_map(|item| item.split_once(&*sep2))
            .map(|(k, v)| (k, Value::str(v)))
            .collect();
        Ok(Typed::map(
            "map[string]string",
            Value::str(""),
            Value::Map(Arc::new(m)),
        ))
    });
}

fn by_key(pairs: &Value) -> Res {
    // Each group's entries in order, made a map once (the last of equal keys wins).
    let mut out: BTreeMap<Arc<str>, Vec<(Arc<str>, Value)>> = BTreeMap::new();
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
            .push((rest.into(), Value::Record(Arc::new(copy))));
    }
    const INNER: &str = "map[string]*dependency.KeyPair";
    let nil_pair = Typed::nil_ptr("*dependency.KeyPair");
    let inner = |m| {
        let m = Map::from_entries(m);
        Typed::map(INNER, nil_pair.clone(), Value::Map(Arc::new(m)))
    };
    Ok(Typed::map(
        "map[string]map[string]*dependency.KeyPair",
        Typed::nil_map(INNER, nil_pair.clone()),
        Value::map(out.into_iter().map(|(k, m)| (k, inner(m)))),
    ))
}

/// Groups `items` by the keys `keys_of` gives each (in order, repeats included): a
/// `map[string][]interface {}`.
fn group_by(items: &[Value], keys_of: impl Fn(&Value) -> Vec<String>) -> Value {
    let mut groups: BTreeMap<Arc<str>, Vec<Value>> = BTreeMap::new();
    for item in items {
        for key in keys_of(item) {
            groups.entry(key.into()).or_default().push(item.clone());
        }
    }
    Typed::map(
        "map[string][]interface {}",
        Typed::list("[]interface {}", Vec::new()),
        Value::map(groups.into_iter().map(|(k, v)| (k, Value::list(v)))),
    )
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

/// Go's type switch in byTag/byPort: a typed slice passes only when its Go type is one of
/// `accepted`, so an empty `[]*dependency.CatalogSnippet` (a first pass without data) is
/// refused by byPort as consul-template refuses it; other values go by their records' fields.
fn typed_records(v: &Value, field: &str, accepted: &[&str]) -> Option<Vec<Value>> {
    if let Value::Object(o) = v {
        let ty = o.type_name();
        if ty.starts_with("[]") && !accepted.contains(&ty) {
            return None;
        }
    }
    records_with(v, field)
}

const HEALTH_SERVICES: &str = "[]*dependency.HealthService";
const CATALOG_SERVICES: &str = "[]*dependency.CatalogService";

fn by_tag(list: &Value) -> Res {
    const SNIPPETS: &str = "[]*dependency.CatalogSnippet";
    let accepted = [SNIPPETS, CATALOG_SERVICES, HEALTH_SERVICES];
    let Some(items) = typed_records(list, "Tags", &accepted) else {
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

/// A `map[int][]interface {}`: ranged and printed in numeric port order.
fn by_port(list: &Value) -> Res {
    let accepted = [CATALOG_SERVICES, HEALTH_SERVICES];
    let Some(items) = typed_records(list, "Port", &accepted) else {
        return fail(format!(
            "byPort: wrong argument type {}",
            list_type_name(list)
        ));
    };
    let mut groups: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for item in &items {
        let port = match field_of(item, "Port") {
            Some(Value::Int(p)) => p,
            _ => 0,
        };
        groups.entry(port).or_default().push(item.clone());
    }
    Ok(Typed::int_map(
        "map[int][]interface {}",
        Typed::list("[]interface {}", Vec::new()),
        groups.into_iter().map(|(k, v)| (k, Value::list(v))),
    ))
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
    const GROUP: &str = "[]*dependency.HealthService";
    Ok(Typed::map(
        "map[string][]*dependency.HealthService",
        Typed::list(GROUP, Vec::new()),
        Value::map(groups.into_iter().map(|(k, v)| (k, Typed::list(GROUP, v)))),
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
    let needles = match needles.resolved() {
        Value::List(items) => items,
        Value::Nil => Arc::new(Vec::new()),
        _ => return Err(wrong_type("[]interface {}", needles)),
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
    let entry = m.get_or_insert_with(top.into(), || Value::Map(Arc::default()));
    match entry {
        Value::Map(nest) => explode_insert(Arc::make_mut(nest), rest, v, k),
        other => Err(sprintf(
            "not a map: %q: %q already has value %q",
            &[Value::str(p), Value::str(top), other.clone()],
        )),
    }
}

/// mergo's `Map` into `dst` (a [`GoMap`] is changed in place): keys missing or empty in `dst`
/// take `src`'s value; with `overwrite`, every `src` value wins, empty and nil ones too. Nested
/// maps merge deeply.
fn merge_map(dst: &Value, src: &Value, overwrite: bool) -> Res {
    let src = map_arg(src)?;
    with_map_mut(dst, |m| merge_into(m, &src, overwrite))
}

pub(super) fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    merge_level(dst, src, overwrite, 0);
}

/// One level of mergo v1.0.x's `deepMerge` over `map[string]interface{}` (merge.go, the
/// `case reflect.Map` loop): a nil source entry is set only when overwriting; maps on both
/// sides merge; otherwise the source entry is set when overwriting or when the destination's is
/// missing or empty — mergo never asks whether the source entry is empty.
fn merge_level(dst: &mut Map, src: &Map, overwrite: bool, depth: usize) {
    // Keys `dst` lacks are added at the end, in one go: one by one, each would move the
    // entries after it.
    let mut added = Vec::new();
    for (k, sv) in src {
        let nil = matches!(sv, Value::Nil | Value::Missing);
        if nil && !overwrite {
            continue;
        }
        let Some(dv) = dst.get_mut(k) else {
            added.push((k.clone(), sv.clone()));
            continue;
        };
        if nil {
            *dv = sv.clone();
            continue;
        }
        // A map that holds itself would merge forever; Go would never return either.
        if is_map(dv) && is_map(sv) && depth < MAX_DEPTH && !sprig_empty(dv) {
            let sm = map_arg(sv).unwrap_or_default();
            map_in_place(dv, |m| merge_level(m, &sm, overwrite, depth + 1));
        } else if overwrite || sprig_empty(dv) {
            *dv = sv.clone();
        }
    }
    dst.extend(added);
}

/// The most items `loop` makes: Go streams them through a channel, we build a list.
pub(super) const LOOP_LIMIT: i64 = 10_000_000;

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
    Ok(Typed::chan(
        "<-chan int64",
        (start..stop.max(start)).map(Typed::int64).collect(),
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
