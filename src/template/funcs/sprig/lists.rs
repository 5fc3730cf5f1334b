//! sprig's list functions (`list` is with the dicts): `first`, `last`, `rest`, `initial`, `uniq`,
//! `has`, `without`, `compact`, `append`/`push`, `prepend`, `concat`, `reverse`, with Go's
//! `reflect.DeepEqual` for the comparisons.

use std::borrow::Cow;
use std::sync::Arc;

use super::{kind_name, sdef, sprig_empty, NIL_DEREF};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::scratch::go_map;
use crate::template::funcs::{fail, list_items, MAX_DEPTH};

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
