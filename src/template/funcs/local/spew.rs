//! `spew_dump`, `spew_sdump`, `spew_printf`, `spew_sprintf`: go-spew's `Sdump` layout (types,
//! lengths, one space of indent a level) and its printf.
//!
//! Our own code because the layout is go-spew's; pointers show a fixed address (Go's vary per run)
//! and map keys are sorted.

use std::fmt::Write as _;

use crate::gotmpl::{printf, Arity, FuncMap, Value};
use crate::template::funcs::{def, lossy, wrong_type, MAX_DEPTH};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "spew_dump", Arity::AtLeast(0), |a| {
        print!("{}", spew_sdump(a));
        Ok(Value::str(""))
    });
    def(funcs, "spew_sdump", Arity::AtLeast(0), |a| {
        Ok(Value::from(spew_sdump(a)))
    });
    def(funcs, "spew_printf", Arity::AtLeast(1), |a| {
        let shown = printf::sprintf(
            a[0].as_go_str()
                .ok_or_else(|| wrong_type("string", &a[0]))?,
            &a[1..],
        );
        print!("{}", lossy(&shown));
        Ok(Value::str(""))
    });
    def(funcs, "spew_sprintf", Arity::AtLeast(1), |a| {
        let format = a[0]
            .as_go_str()
            .ok_or_else(|| wrong_type("string", &a[0]))?;
        Ok(printf::sprintf(format, &a[1..]))
    });
}

/// go-spew's `Sdump`: each argument's type and value, nested values indented by one space.
/// Pointers show a fixed address (Go's vary per run) and map keys are sorted.
pub(super) fn spew_sdump(args: &[Value]) -> String {
    let mut out = String::new();
    for arg in args {
        if matches!(arg, Value::Nil | Value::Missing) {
            out.push_str("(interface {}) <nil>\n");
            continue;
        }
        spew_value(&mut out, arg, 0, true);
        out.push('\n');
    }
    out
}

/// One value; `typed` is false where spew has already printed the type (behind a pointer).
fn spew_value(out: &mut String, v: &Value, depth: usize, typed: bool) {
    if depth > MAX_DEPTH {
        out.push_str("<max depth reached>");
        return;
    }
    let ty = v.type_name();
    if let Value::Record(r) = v {
        if r.ty.is_pointer() && typed {
            let _ = write!(out, "({ty})(0xc000010000)(");
            spew_value(out, v, depth, false);
            out.push(')');
            return;
        }
    }
    let resolved = v.resolved();
    if typed {
        let _ = write!(out, "({ty}) ");
    }
    let _ = match &resolved {
        Value::Missing | Value::Nil => write!(out, "<nil>"),
        Value::Str(_) | Value::Bytes(_) => {
            let b = resolved
                .as_go_str()
                .unwrap_or(crate::gotmpl::GoStr::Utf8(""));
            if !b.is_empty() {
                let _ = write!(out, "(len={}) ", b.len());
            }
            write!(out, "{}", printf::quote_go(b))
        }
        Value::Float(f) => write!(out, "{}", printf::format_float(*f, b'g', -1)),
        Value::List(items) => {
            if !items.is_empty() {
                let _ = write!(out, "(len={0} cap={0}) ", items.len());
            }
            let entries: Vec<(Option<String>, &Value)> = items.iter().map(|i| (None, i)).collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        Value::Map(m) => {
            if !m.is_empty() {
                let _ = write!(out, "(len={}) ", m.len());
            }
            let entries: Vec<(Option<String>, &Value)> = m
                .iter()
                .map(|(k, v)| (Some(spew_key(k, depth + 1)), v))
                .collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        Value::Record(r) => {
            let entries: Vec<(Option<String>, &Value)> =
                r.ty.fields
                    .iter()
                    .zip(r.values.iter())
                    .map(|(f, v)| (Some(format!("{}{f}: ", " ".repeat(depth + 1))), v))
                    .collect();
            spew_block(out, &entries, depth);
            Ok(())
        }
        other => write!(out, "{}", other.to_go_string()),
    };
}

fn spew_key(k: &str, depth: usize) -> String {
    let len = if k.is_empty() {
        String::new()
    } else {
        format!("(len={}) ", k.len())
    };
    format!("{}(string) {len}{}: ", " ".repeat(depth), printf::quote(k))
}

/// `{`, one entry a line (a list item indented, a map key or field name first), `}`.
fn spew_block(out: &mut String, entries: &[(Option<String>, &Value)], depth: usize) {
    out.push_str("{\n");
    for (i, (label, v)) in entries.iter().enumerate() {
        match label {
            Some(label) => out.push_str(label),
            None => out.push_str(&" ".repeat(depth + 1)),
        }
        spew_value(out, v, depth + 1, true);
        out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
    }
    out.push_str(&" ".repeat(depth));
    out.push('}');
}
