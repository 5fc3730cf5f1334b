//! `scratch` (a per-execution key/value store with Go-style methods) and [`GoMap`], the map that
//! functions may change in place.
//!
//! Template values are immutable and shared; these two are objects behind a mutex so that a
//! change made through one variable is seen through every other, as with Go's maps.

use std::sync::{Arc, Mutex};

use super::{fail, map_arg, string_arg, Map, Res};
use crate::gotmpl::{printf, Object, Value};

/// consul-template's `scratch`: a per-execution key/value store with Go-style methods.
#[derive(Debug, Default)]
pub struct Scratch {
    values: Mutex<Map>,
}

/// A new, empty scratch as a template value.
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
                values.get_or_insert_with(key, || args[1].clone());
                Ok(Value::str(""))
            }
            // Sorted by map key; not a map → Go's nil slice.
            "MapValues" => Ok(Value::list(match values.get(&key) {
                Some(v) if is_map(v) => map_arg(v)?.into_values().collect(),
                _ => Vec::new(),
            })),
            _ => {
                let map_key: Arc<str> = string_arg(&args[1])?.into();
                let entry = values.get_or_insert_with(key.clone(), || Value::Map(Arc::default()));
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

    pub(super) fn snapshot(&self) -> Map {
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

pub(super) fn go_map(v: &Value) -> Option<&GoMap> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoMap>(),
        _ => None,
    }
}

pub(super) fn is_map(v: &Value) -> bool {
    go_map(v).is_some() || matches!(v, Value::Map(_))
}

/// Changes the map `v` (a plain map or a [`GoMap`]) where it is.
pub(super) fn map_in_place(v: &mut Value, f: impl FnOnce(&mut Map)) {
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
pub(super) fn with_map_mut(v: &Value, f: impl FnOnce(&mut Map)) -> Res {
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
