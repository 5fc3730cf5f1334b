//! Parse and encode functions: `parseJSON`, `parseYAML`, `toJSON` and its variants, `toYAML`,
//! `toTOML`, and the base64 functions; one file per format (the codecs are used elsewhere too).
//!
//! An empty string parses to an empty map: before Consul data arrives, `key` and friends return
//! "", and consul-template's parse functions turn that into a zero value instead of an error.

pub(super) mod base64;
pub(super) mod json;
mod toml;
mod yaml;

use std::sync::Arc;

use super::{def, string_arg};
use crate::gotmpl::{Arity, FuncError, FuncMap, Typed, Value};
use json::{parse_json, to_json};

pub(super) fn register(funcs: &mut FuncMap) {
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
        yaml::parse(&s).map(yaml_maps).map_err(FuncError)
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
        // yaml.v2 panics on a type it cannot write (text/template reports the panic as it is);
        // its other failures come back as errors that consul-template wraps with "toYAML".
        let out = yaml::emit(&a[0]).map_err(|e| {
            if e.starts_with("cannot marshal type") {
                e
            } else {
                format!("toYAML: {e}")
            }
        })?;
        Ok(Value::from(out.trim().to_string()))
    });
    def(funcs, "toTOML", Arity::Exact(1), |a| {
        let out = toml::emit(&a[0]).map_err(|e| format!("toTOML: {e}"))?;
        Ok(Value::from(out.trim().to_string()))
    });
    base64::register(funcs);
}

/// yaml.v2 decodes a mapping into `interface{}` as a `map[interface {}]interface {}` (at every
/// level), which `%T` shows and `encoding/json` refuses.
fn yaml_maps(v: Value) -> Value {
    match v {
        Value::Map(m) => {
            let inner = m.iter().map(|(k, v)| (k.clone(), yaml_maps(v.clone())));
            Value::Object(Arc::new(Typed {
                ty: YAML_MAP.into(),
                inner: Value::map(inner),
                zero: None,
                nil: false,
                int_keys: false,
            }))
        }
        Value::List(items) => Value::list(items.iter().cloned().map(yaml_maps).collect()),
        v => v,
    }
}

/// The Go type yaml.v2 gives a mapping decoded into `interface{}`.
pub(super) const YAML_MAP: &str = "map[interface {}]interface {}";
