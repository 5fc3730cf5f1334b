//! TOML: BurntSushi/toml's encoder output (`toml.NewEncoder(w).Encode(v)`), for `toTOML`.
//!
//! Our own encoder because no TOML crate writes BurntSushi's layout (indented sub-tables, `1.0`
//! for every JSON number, its key quoting and table order).

use std::fmt::Write as _;

use crate::gotmpl::{printf, Value};
use crate::template::funcs::{list_items, lossy, MAX_DEPTH};

/// `toml.NewEncoder(w).Encode(v)` of a map or record.
pub(super) fn emit(v: &Value) -> Result<String, String> {
    let mut e = Encoder {
        out: String::new(),
        written: false,
    };
    match table_entries(v) {
        Some(entries) => e.table_body(&[], &entries)?,
        // BurntSushi/toml v1 writes any other top-level value as a bare element (`"a"`, `1`,
        // `[1, 2]`), as its `writeKeyValue` does for an empty key; nil writes nothing.
        None if is_nil(v) => {}
        None => element(&mut e.out, v, 0)?,
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
    fn table_body(&mut self, key: &[String], entries: &[(String, Value)]) -> Result<(), String> {
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
            let shown: Vec<&(String, Value)> = entries.iter().filter(|(_, v)| !is_nil(v)).collect();
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
        Value::Func(_) | Value::Complex(..) => {
            return Err(format!("toml: unsupported type: {}", v.type_name()))
        }
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
