//! Placeholder for consul-template's pure helper functions (being written separately).

use std::collections::HashMap;
use std::sync::Arc;

use crate::gotmpl::{FuncMap, Value};

pub fn register(_funcs: &mut FuncMap) {}

pub fn register_env(_funcs: &mut FuncMap, _env: Arc<HashMap<String, String>>) {}

pub fn new_scratch() -> Value {
    Value::Nil
}
