//! `env`, `mustEnv` and `envOrDefault`: the runner's variables first, then the process's.

use std::collections::HashMap;
use std::sync::Arc;

use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::{def, fail, string_arg};

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
