//! sprig's list functions (`list` is with the dicts): `first`, `last`, `rest`, `initial`, `uniq`,
//! `has`, `without`, `compact`, `append`/`push`, `prepend`, `concat`, `reverse`, `chunk`,
//! `slice`, `sortAlpha`, `deepEqual` and the `must` twins of those that can fail, with Go's
//! `reflect.DeepEqual` for the comparisons.

use std::borrow::Cow;
use std::sync::Arc;

use super::numbers::cast_int;
use super::{kind_name, sdef, sprig_empty, strslice, strval, NIL_DEREF};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::scratch::go_map;
use crate::template::funcs::{fail, int_arg, list_items, Res, MAX_DEPTH};

pub(super) fn register(funcs: &mut FuncMap) {
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
        let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
        for alias in [name, must.as_str()] {
            sdef(funcs, alias, Exact(1), move |a| {
                Ok(f(&sprig_list(
                    &a[0],
                    &format!("Cannot find {name} on type"),
                )?))
            });
        }
    }
    for name in ["uniq", "mustUniq"] {
        sdef(funcs, name, Exact(1), |a| {
            let mut out: Vec<Value> = Vec::new();
            for item in sprig_list(&a[0], "Cannot find uniq on type")?.iter() {
                if !out.iter().any(|o| deep_equal(o, item)) {
                    out.push(item.clone());
                }
            }
            Ok(Value::list(out))
        });
    }
    for name in ["has", "mustHas"] {
        sdef(funcs, name, Exact(2), |a| {
            if matches!(a[1], Value::Nil) {
                return Ok(Value::Bool(false));
            }
            let items = sprig_list(&a[1], "Cannot find has on type")?;
            Ok(Value::Bool(items.iter().any(|i| deep_equal(&a[0], i))))
        });
    }
    for name in ["without", "mustWithout"] {
        sdef(funcs, name, AtLeast(1), |a| {
            let items = sprig_list(&a[0], "Cannot find without on type")?;
            let kept = items
                .iter()
                .filter(|i| !a[1..].iter().any(|o| deep_equal(o, i)))
                .cloned()
                .collect();
            Ok(Value::list(kept))
        });
    }
    for name in ["compact", "mustCompact"] {
        sdef(funcs, name, Exact(1), |a| {
            let items = sprig_list(&a[0], "Cannot compact on type")?;
            Ok(Value::list(
                items.iter().filter(|i| !sprig_empty(i)).cloned().collect(),
            ))
        });
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        sdef(funcs, name, Exact(2), move |a| {
            let mut items = sprig_list(&a[0], "Cannot push on type")?.to_vec();
            items.push(a[1].clone());
            Ok(Value::list(items))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        sdef(funcs, name, Exact(2), |a| {
            let mut items = vec![a[1].clone()];
            items.extend(sprig_list(&a[0], "Cannot prepend on type")?.iter().cloned());
            Ok(Value::list(items))
        });
    }
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
    for name in ["reverse", "mustReverse"] {
        sdef(funcs, name, Exact(1), |a| {
            let mut items = sprig_list(&a[0], "Cannot find reverse on type")?.to_vec();
            items.reverse();
            Ok(Value::list(items))
        });
    }
}

/// `chunk`, `slice` (each with its `must` twin, whose errors are the same text as the panics),
/// `sortAlpha` and `deepEqual`.
pub(super) fn register_more(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    for name in ["chunk", "mustChunk"] {
        sdef(funcs, name, Exact(2), |a| {
            let size = int_arg(&a[0])?;
            let items = sprig_list(&a[1], "Cannot chunk type")?;
            chunk(size, &items)
        });
    }
    for name in ["slice", "mustSlice"] {
        sdef(funcs, name, AtLeast(1), |a| {
            let items = sprig_list(&a[0], "list should be type of slice or array but")?;
            if items.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map_or(0, cast_int);
            let end = a.get(2).map_or(items.len() as i64, cast_int);
            if start < 0 || end < start || end > items.len() as i64 {
                return fail("reflect.Value.Slice: slice index out of bounds");
            }
            Ok(Value::list(items[start as usize..end as usize].to_vec()))
        });
    }
    sdef(funcs, "sortAlpha", Exact(1), |a| {
        let mut items = match list_items(&a[0]) {
            Some(_) => strslice(&a[0]),
            None => vec![strval(&a[0])],
        };
        items.sort_unstable();
        Ok(Value::list(items.into_iter().map(Value::from).collect()))
    });
    sdef(funcs, "deepEqual", Exact(2), |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}

/// sprig's `chunk`: a size below 1 makes Go's float arithmetic ask `make` for a negative
/// length (a one-item list aside, which this leaves out).
fn chunk(size: i64, items: &[Value]) -> Res {
    if size <= 0 {
        return fail("runtime error: makeslice: len out of range");
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::list(
        items
            .chunks(size)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}

/// The items of a list argument to a sprig list function; `refusal` starts sprig's message for
/// anything else (`Cannot find first on type`), which the kind ends.
pub(super) fn sprig_list(v: &Value, refusal: &str) -> Result<Arc<Vec<Value>>, FuncError> {
    if matches!(v, Value::Nil | Value::Missing) {
        return fail(NIL_DEREF);
    }
    list_items(v).ok_or_else(|| FuncError(format!("{refusal} {}", kind_name(v))))
}

/// Go's `reflect.DeepEqual` on template values.
pub(super) fn deep_equal(a: &Value, b: &Value) -> bool {
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
