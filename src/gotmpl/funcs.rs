//! Go's template builtins (`len`, `index`, `slice`, the comparisons, the escapers) and the
//! function map that resolves a name to a builtin or a registered closure.

use std::collections::HashMap;
use std::sync::Arc;

use super::printf;
use super::value::{Func, Value};

/// The functions a template may call, besides Go's builtins (which they may override).
#[derive(Clone, Default)]
pub struct FuncMap {
    funcs: HashMap<String, Func>,
}

impl FuncMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, func: Func) {
        self.funcs.insert(name.to_string(), func);
    }

    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name) || Builtin::from_name(name).is_some()
    }

    /// Resolves a name as Go's `findFunction` does: registered functions first.
    pub fn lookup(&self, name: &str) -> Option<FuncRef> {
        if let Some(f) = self.funcs.get(name) {
            return Some(FuncRef::User(f.clone()));
        }
        Builtin::from_name(name).map(FuncRef::Builtin)
    }
}

#[derive(Clone, Debug)]
pub enum FuncRef {
    Builtin(Builtin),
    User(Func),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
}

/// How a builtin's parameters receive values (Go's parameter types, which decide conversions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `reflect.Value`: the value as it is, an invalid value stays invalid.
    Reflect,
    /// `interface{}`: an invalid value becomes nil.
    Any,
    /// `string`: only strings, a literal must be a string literal.
    Str,
}

impl Builtin {
    pub fn from_name(name: &str) -> Option<Builtin> {
        use Builtin::*;
        Some(match name {
            "and" => And,
            "or" => Or,
            "not" => Not,
            "len" => Len,
            "index" => Index,
            "slice" => Slice,
            "eq" => Eq,
            "ne" => Ne,
            "lt" => Lt,
            "le" => Le,
            "gt" => Gt,
            "ge" => Ge,
            "print" => Print,
            "printf" => Printf,
            "println" => Println,
            "html" => Html,
            "js" => Js,
            "urlquery" => Urlquery,
            "call" => Call,
            _ => return None,
        })
    }

    /// Go's signature: the fixed parameters, and the variadic one if any.
    pub fn signature(self) -> (&'static [Param], Option<Param>) {
        use Builtin::*;
        use Param::*;
        match self {
            And | Or | Index | Slice | Eq | Call => (&[Reflect], Some(Reflect)),
            Not | Len => (&[Reflect], None),
            Ne | Lt | Le | Gt | Ge => (&[Reflect, Reflect], None),
            Print | Println | Html | Js | Urlquery => (&[], Some(Any)),
            Printf => (&[Str], Some(Any)),
        }
    }

    /// Calls a builtin other than `and`, `or` and `call`, which the executor handles.
    /// `boxed` says which arguments Go holds in an `interface{}` (only `slice` can tell).
    pub fn call(self, args: &[Value], boxed: &[bool]) -> Result<Value, String> {
        use Builtin::*;
        Ok(match self {
            Not => Value::Bool(!args[0].truth()),
            Len => Value::Int(length(&args[0])?),
            Index => index(&args[0], &args[1..])?,
            Slice => slice(&args[0], &args[1..], boxed.get(1..).unwrap_or(&[]))?,
            Eq => Value::Bool(eq(&args[0], &args[1..])?),
            Ne => Value::Bool(!eq(&args[0], &args[1..2])?),
            Lt => Value::Bool(lt(&args[0], &args[1])?),
            Le => Value::Bool(le(&args[0], &args[1])?),
            Gt => Value::Bool(!le(&args[0], &args[1])?),
            Ge => Value::Bool(!lt(&args[0], &args[1])?),
            Print => Value::from(printf::sprint(args)),
            Println => Value::from(printf::sprintln(args)),
            Printf => {
                let format = args[0].as_str().unwrap_or_default();
                Value::from(printf::sprintf(format, &args[1..]))
            }
            Html => Value::from(html_escape(&eval_args(args))),
            Js => Value::from(js_escape(&eval_args(args))),
            Urlquery => Value::from(query_escape(&eval_args(args))),
            And | Or | Call => unreachable!("handled by the executor"),
        })
    }
}

const ZERO_VALUE_TYPE: &str = "reflect: call of reflect.Value.Type on zero Value";

/// Go's `indirectInterface`: a nil interface becomes the invalid value; objects act as what
/// they stand for.
fn concrete(v: &Value) -> Value {
    match v {
        Value::Nil => Value::Missing,
        Value::Object(o) => o.underlying(),
        v => v.clone(),
    }
}

fn length(item: &Value) -> Result<i64, String> {
    let n = match item {
        Value::Nil => return Err("len of nil pointer".into()),
        Value::Missing => return Err(ZERO_VALUE_TYPE.into()),
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Object(o) => return length(&o.underlying()),
        v => return Err(format!("len of type {}", v.type_name())),
    };
    Ok(n as i64)
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match index {
        Value::Int(i) => *i as i128,
        Value::Uint(u) => *u as i128,
        Value::Missing => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = concrete(item);
    if let Value::Missing = item {
        return Err("index of untyped nil".into());
    }
    for index in indexes {
        let index = concrete(index);
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::Object(o) => o.underlying(),
            _ => item,
        };
        item = match &item {
            Value::List(l) => {
                let x = index_arg(&index, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::Str(s) => {
                let x = index_arg(&index, s.len())?;
                Value::Int(
                    *s.as_bytes()
                        .get(x)
                        .ok_or("reflect: string index out of range")? as i64,
                )
            }
            Value::Map(m) => {
                let key = match &index {
                    Value::Str(k) => k.clone(),
                    Value::Missing => return Err("value is nil; should be of type string".into()),
                    v => {
                        return Err(format!(
                            "value has type {}; should be string",
                            v.type_name()
                        ))
                    }
                };
                m.get(&key).cloned().unwrap_or(Value::Nil)
            }
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice`; unlike `index` it does not look inside an `interface{}` index, so a boxed index
/// is refused by its type.
fn slice(item: &Value, indexes: &[Value], boxed: &[bool]) -> Result<Value, String> {
    let item = concrete(item);
    if let Value::Missing = item {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        if boxed.get(i) == Some(&true) && !matches!(index, Value::Missing) {
            return Err("cannot index slice/array with type interface {}".into());
        }
        idx[i] = index_arg(&concrete(index), len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match &item {
        Value::Str(s) => {
            let bytes = &s.as_bytes()[idx[0]..idx[1]];
            Value::from(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        _ => unreachable!(),
    })
}

/// Go's basic kinds for comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Str,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_) => BasicKind::Int,
        Value::Uint(_) => BasicKind::Uint,
        Value::Float(_) => BasicKind::Float,
        Value::Str(_) => BasicKind::Str,
        _ => BasicKind::Invalid,
    }
}

const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";
const BAD_COMPARISON: &str = "incompatible types for comparison";

fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, String> {
    let a = concrete(arg1);
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a);
    for arg in rest {
        let b = concrete(arg);
        let k2 = basic_kind(&b);
        let truth = match (&a, &b) {
            (Value::Int(x), Value::Uint(y)) | (Value::Uint(y), Value::Int(x)) => {
                *x >= 0 && *x as u64 == *y
            }
            _ if k1 != k2 => {
                if a.kind() != super::Kind::Invalid && b.kind() != super::Kind::Invalid {
                    return Err(BAD_COMPARISON.into());
                }
                false
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Uint(x), Value::Uint(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            _ => eq_composite(&a, &b)?,
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `eq` on values that are not basic kinds: nil compares with nil, pointers by identity,
/// slices and maps are not comparable.
fn eq_composite(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (a.kind(), b.kind());
    let invalid = super::Kind::Invalid;
    if ka != kb && ka != invalid && kb != invalid {
        let args = [
            a.clone(),
            Value::from(a.type_name()),
            Value::from(b.type_name()),
            b.clone(),
        ];
        return Err(printf::sprintf(
            "non-comparable types %s: %v, %s: %v",
            &args,
        ));
    }
    if ka == invalid || kb == invalid {
        return Ok(ka == kb);
    }
    match (a, b) {
        (Value::Record(x), Value::Record(y)) if x.ty.is_pointer() => Ok(Arc::ptr_eq(x, y)),
        (Value::Func(_), _) | (Value::List(_), _) | (Value::Map(_), _) | (Value::Record(_), _) => {
            Err(printf::sprintf(
                "non-comparable type %s: %v",
                &[b.clone(), Value::from(b.type_name())],
            ))
        }
        _ => Ok(false),
    }
}

fn lt(arg1: &Value, arg2: &Value) -> Result<bool, String> {
    let a = concrete(arg1);
    let b = concrete(arg2);
    let (k1, k2) = (basic_kind(&a), basic_kind(&b));
    if k1 == BasicKind::Invalid || k2 == BasicKind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    Ok(match (&a, &b) {
        (Value::Int(x), Value::Uint(y)) => *x < 0 || (*x as u64) < *y,
        (Value::Uint(x), Value::Int(y)) => *y >= 0 && *x < *y as u64,
        _ if k1 != k2 => return Err(BAD_COMPARISON.into()),
        (Value::Bool(_), _) => return Err(BAD_COMPARISON_TYPE.into()),
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Uint(x), Value::Uint(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => unreachable!("basic kinds match"),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `evalArgs` for the escapers: one string is used as is; otherwise the arguments are
/// printed, with nil shown as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil | Value::Missing => Value::str("<no value>"),
            a => a.clone(),
        })
        .collect();
    printf::sprint(&printable)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() || printf::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape("a'b\"c<>&=\\\n"),
            "a\\'b\\\"c\\u003C\\u003E\\u0026\\u003D\\\\\\u000A"
        );
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            eq(&Value::Int(1), &[Value::Float(1.0)]),
            Err(BAD_COMPARISON.into())
        );
        assert_eq!(
            eq(&Value::str("a"), &[Value::str("b"), Value::str("a")]),
            Ok(true)
        );
        assert_eq!(eq(&Value::Missing, &[Value::Nil]), Ok(true));
        assert_eq!(
            lt(&Value::Int(1), &Value::Float(2.5)),
            Err(BAD_COMPARISON.into())
        );
        assert_eq!(
            lt(&Value::Missing, &Value::Int(1)),
            Err(BAD_COMPARISON_TYPE.into())
        );
        assert_eq!(lt(&Value::Int(-1), &Value::Uint(0)), Ok(true));
    }

    #[test]
    fn index_and_slice() {
        let l = Value::list(vec![Value::Int(1), Value::Nil, Value::str("x")]);
        assert_eq!(
            index(&l, &[Value::Int(3)]).unwrap_err(),
            "reflect: slice index out of range"
        );
        assert_eq!(
            index(&l, &[Value::Int(4)]).unwrap_err(),
            "index out of range: 4"
        );
        assert_eq!(
            slice(&Value::str("abc"), &[Value::Int(1)], &[])
                .unwrap()
                .as_str(),
            Some("bc")
        );
        assert_eq!(length(&Value::Missing).unwrap_err(), ZERO_VALUE_TYPE);
    }
}
