//! sprig's dict functions (`dict`, `get`, `set`, `unset`, `hasKey`, `keys`, `values`, `pluck`,
//! `merge`, `mergeOverwrite`, `pick`, `omit`, `dig`, `deepCopy`), its defaults (`default`, `empty`,
//! `coalesce`, `all`, `any`, `ternary`) and the JSON decoders and `must` encoders. `dict` makes a
//! [`GoMap`](crate::template::funcs::GoMap), which `set`/`unset`/`merge` change in place.

use std::sync::Arc;

use super::{sdef, sprig_empty, strval};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::collections::merge_into;
use crate::template::funcs::encoding::json::{parse_json, to_json};
use crate::template::funcs::scratch::{go_map, is_map, with_map_mut, GoMap};
use crate::template::funcs::{lossy, map_arg, string_arg, wrong_type, Map};

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    for name in ["list", "tuple"] {
        sdef(funcs, name, AtLeast(0), |a| Ok(Value::list(a.to_vec())));
    }
    sdef(funcs, "dict", AtLeast(0), |a| {
        // Of repeated keys the last wins, as in Go's map assignments.
        let m = a.chunks(2).map(|pair| {
            let value = pair.get(1).cloned().unwrap_or(Value::str(""));
            (strval(&pair[0]), value)
        });
        Ok(GoMap::new(m.collect()))
    });
    sdef(funcs, "get", Exact(2), |a| {
        let key = string_arg(&a[1])?;
        Ok(map_arg(&a[0])?.get(&key).cloned().unwrap_or(Value::str("")))
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
            m.remove(&key);
        })
    });
    sdef(funcs, "hasKey", Exact(2), |a| {
        let key = string_arg(&a[1])?;
        Ok(Value::Bool(map_arg(&a[0])?.contains_key(&key)))
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
            found.extend(map_arg(d)?.get(&name).cloned());
        }
        Ok(Value::list(found))
    });
    // mergo reports no error for maps of this type, so the `must` twins never fail.
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        sdef(funcs, name, AtLeast(1), move |a| {
            let srcs = a[1..].iter().map(map_arg).collect::<Result<Vec<_>, _>>()?;
            with_map_mut(&a[0], |m| {
                for src in &srcs {
                    merge_into(m, src, overwrite);
                }
            })
        });
    }
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
    sdef(funcs, "all", AtLeast(0), |a| {
        Ok(Value::Bool(a.iter().all(|v| !sprig_empty(v))))
    });
    sdef(funcs, "any", AtLeast(0), |a| {
        Ok(Value::Bool(a.iter().any(|v| !sprig_empty(v))))
    });
    sdef(funcs, "ternary", Exact(3), |a| match &a[2] {
        Value::Bool(b) => Ok(if *b { a[0].clone() } else { a[1].clone() }),
        v => Err(wrong_type("bool", v)),
    });
    register_selection(funcs);
    register_json(funcs);
}

/// `pick`, `omit`, `dig` and `deepCopy`.
fn register_selection(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    sdef(funcs, "pick", AtLeast(1), |a| {
        let dict = map_arg(&a[0])?;
        let mut picked = Map::new();
        for key in &a[1..] {
            let key = string_arg(key)?;
            if let Some(v) = dict.get(&key) {
                picked.insert(Arc::from(&*key), v.clone());
            }
        }
        Ok(Value::Map(Arc::new(picked)))
    });
    sdef(funcs, "omit", AtLeast(1), |a| {
        let mut dict = map_arg(&a[0])?;
        for key in &a[1..] {
            dict.remove(&string_arg(key)?);
        }
        Ok(Value::Map(Arc::new(dict)))
    });
    sdef(funcs, "dig", AtLeast(0), |a| {
        if a.len() < 3 {
            return Err(FuncError("dig needs at least three arguments".into()));
        }
        let (keys, rest) = a.split_at(a.len() - 2);
        let default = &rest[0];
        let mut dict = dig_map(&rest[1])?;
        for (i, key) in keys.iter().enumerate() {
            let key = match key {
                Value::Str(_) | Value::Bytes(_) => lossy(key),
                v => return Err(interface_conversion(v, "string")),
            };
            let Some(step) = dict.get(&key).cloned() else {
                return Ok(default.clone());
            };
            if i + 1 == keys.len() {
                return Ok(step);
            }
            dict = dig_map(&step)?;
        }
        Ok(default.clone())
    });
    for name in ["deepCopy", "mustDeepCopy"] {
        sdef(funcs, name, Exact(1), |a| Ok(deep_copy(&a[0])));
    }
}

/// A `map[string]interface{}` for `dig`'s type assertion.
fn dig_map(v: &Value) -> Result<Map, FuncError> {
    if is_map(v) {
        return map_arg(v);
    }
    Err(interface_conversion(v, "map[string]interface {}"))
}

/// Go's panic for a failed type assertion on an `interface{}`.
fn interface_conversion(v: &Value, want: &str) -> FuncError {
    let got = match v {
        Value::Missing | Value::Nil => "nil".to_string(),
        v => v.type_name(),
    };
    FuncError(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

/// copystructure's `Copy`: maps (a `dict` too) and lists copied all the way down, so changing
/// the copy leaves the original alone.
fn deep_copy(v: &Value) -> Value {
    if let Some(m) = go_map(v) {
        let copied = m
            .snapshot()
            .iter()
            .map(|(k, v)| (k.clone(), deep_copy(v)))
            .collect();
        return GoMap::new(copied);
    }
    match v {
        Value::List(items) => Value::list(items.iter().map(deep_copy).collect()),
        Value::Map(m) => Value::Map(Arc::new(
            m.iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect(),
        )),
        v => v.clone(),
    }
}

/// `fromJson`, `toRawJson` and the `must` forms of the JSON functions (`toJson` and
/// `toPrettyJson` are with the strings).
fn register_json(funcs: &mut FuncMap) {
    use Arity::Exact;
    // sprig drops the error: the result is then nil.
    sdef(funcs, "fromJson", Exact(1), |a| {
        Ok(parse_json(&string_arg(&a[0])?).unwrap_or(Value::Nil))
    });
    sdef(funcs, "mustFromJson", Exact(1), |a| {
        parse_json(&string_arg(&a[0])?)
    });
    type JsonFn = (&'static str, bool, bool);
    let encoders: [JsonFn; 3] = [
        ("mustToJson", true, false),
        ("mustToPrettyJson", true, true),
        ("mustToRawJson", false, false),
    ];
    for (name, escape_html, pretty) in encoders {
        sdef(funcs, name, Exact(1), move |a| {
            to_json(&a[0], escape_html, pretty)
                .map(Value::from)
                .map_err(FuncError)
        });
    }
    // `toRawJson` panics with the error, which reads the same.
    sdef(funcs, "toRawJson", Exact(1), |a| {
        to_json(&a[0], false, false)
            .map(Value::from)
            .map_err(FuncError)
    });
}
