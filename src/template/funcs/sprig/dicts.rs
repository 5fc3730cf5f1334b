//! sprig's dict functions (`dict`, `get`, `set`, `unset`, `hasKey`, `keys`, `values`, `pluck`,
//! `merge`) and its defaults (`default`, `empty`, `coalesce`, `ternary`). `dict` makes a
//! [`GoMap`](crate::template::funcs::GoMap), which `set`/`unset`/`merge` change in place.

use std::sync::Arc;

use super::{sdef, sprig_empty, strval};
use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::collections::merge_into;
use crate::template::funcs::scratch::{with_map_mut, GoMap};
use crate::template::funcs::{map_arg, string_arg, wrong_type, Map};

pub(super) fn register(funcs: &mut FuncMap) {
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
