//! Go's template builtins (`len`, `index`, `slice`, the comparisons, the escapers) and the
//! function map that resolves a name to a builtin or a registered closure.

use std::collections::HashMap;
use std::sync::Arc;

use super::gostr::{self, GoStr, GoString, Rune, Sink};
use super::value::{Func, Value};
use crate::fmt;

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

    /// Declares the Go parameter types of a registered function (see `Func::params`).
    pub fn set_params(
        &mut self,
        name: &str,
        fixed: &[&'static str],
        variadic: Option<&'static str>,
    ) {
        if let Some(f) = self.funcs.remove(name) {
            self.funcs
                .insert(name.to_string(), f.with_params(fixed, variadic));
        }
    }

    /// Marks a registered function as seeing `int64` arguments as `int64` (`Func::keeping_types`).
    pub fn keep_types(&mut self, name: &str) {
        if let Some(f) = self.funcs.remove(name) {
            self.funcs.insert(name.to_string(), f.keeping_types());
        }
    }

    /// Declares whether a registered function's calls may be reused (see `memo`).
    pub fn set_purity(&mut self, name: &str, purity: super::memo::Purity) {
        if let Some(f) = self.funcs.get_mut(name) {
            f.purity = purity;
        }
    }

    /// The registered functions (not Go's builtins), for bridging them to another engine.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Func)> {
        self.funcs.iter().map(|(name, f)| (name.as_str(), f))
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
            Print => fmt::sprint(args),
            Println => fmt::sprintln(args),
            Printf => {
                let format = args[0].as_go_str().unwrap_or(GoStr::Utf8(""));
                fmt::sprintf(format, &args[1..])
            }
            Html => escape(args, html_escape),
            Js => escape(args, js_escape),
            Urlquery => escape(args, query_escape),
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

/// A Go channel type (`<-chan int64`, `chan T`).
fn is_channel(ty: &str) -> bool {
    ty.starts_with("<-chan ") || ty.starts_with("chan ")
}

fn length(item: &Value) -> Result<i64, String> {
    let n = match item {
        Value::Nil => return Err("len of nil pointer".into()),
        Value::Missing => return Err(ZERO_VALUE_TYPE.into()),
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        // A channel's `len` counts what is buffered; the only channels templates see are
        // consul-template's unbuffered `loop` channels.
        Value::Object(o) if is_channel(o.type_name()) => 0,
        Value::Object(o) => return length(&o.underlying()),
        // Go's len looks through a pointer: `len of type dependency.HealthService`.
        Value::Record(r) => {
            return Err(format!("len of type {}", r.ty.name.trim_start_matches('*')))
        }
        v => return Err(format!("len of type {}", v.type_name())),
    };
    Ok(n as i64)
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match index {
        Value::Int(i) => *i as i128,
        Value::Uint(u) => *u as i128,
        Value::Byte(b) => *b as i128,
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

/// `index` of a `map[int]T`: the key must be an int.
fn int_key_index(
    entries: &[(Value, Value)],
    key: &Value,
    zero: Option<Value>,
) -> Result<Value, String> {
    match key {
        Value::Int(_) => Ok(entries
            .iter()
            .find(|(k, _)| matches!((k, key), (Value::Int(a), Value::Int(b)) if a == b))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| zero.unwrap_or(Value::Nil))),
        Value::Missing => Err("value is nil; should be of type int".into()),
        v => Err(format!("value has type {}; should be int", v.type_name())),
    }
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if let Value::Missing = concrete(&item) {
        return Err("index of untyped nil".into());
    }
    for index in indexes {
        let index = concrete(index);
        // A map of a static element type yields that type's zero value for a missing key.
        let mut zero = None;
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::Object(o) if is_channel(o.type_name()) => {
                return Err(format!("can't index item of type {}", o.type_name()))
            }
            Value::Object(o) if o.entries().is_some() => {
                let entries = o.entries().unwrap_or_default();
                item = int_key_index(&entries, &index, o.zero_elem())?;
                continue;
            }
            Value::Object(o) => {
                zero = o.zero_elem();
                o.underlying()
            }
            _ => item,
        };
        item = match &item {
            Value::List(l) => {
                let x = index_arg(&index, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::Str(_) | Value::Bytes(_) => {
                let s = item.as_bytes().unwrap_or_default();
                let x = index_arg(&index, s.len())?;
                // Go's string element is a byte: `uint8`.
                Value::Byte(*s.get(x).ok_or("reflect: string index out of range")?)
            }
            Value::Map(m) => match &index {
                Value::Str(k) => m
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| zero.unwrap_or(Value::Nil)),
                // Map keys are UTF-8 (JSON's decoder makes them so): none holds these bytes.
                Value::Bytes(_) => zero.unwrap_or(Value::Nil),
                Value::Missing => return Err("value is nil; should be of type string".into()),
                v => {
                    return Err(format!(
                        "value has type {}; should be string",
                        v.type_name()
                    ))
                }
            },
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
        Value::Str(_) | Value::Bytes(_) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            item.as_bytes().unwrap_or_default().len()
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
        _ if idx[0] == 0 && idx[1] == len => item.clone(),
        Value::Str(s) => substring(s, idx[0], idx[1]),
        Value::Bytes(b) => Value::from_bytes(&b[idx[0]..idx[1]]),
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        _ => unreachable!(),
    })
}

/// `s[from..to]` in bytes: cutting through a character leaves raw bytes, as in Go.
fn substring(s: &str, from: usize, to: usize) -> Value {
    match s.get(from..to) {
        Some(sub) => Value::str(sub),
        None => Value::from_bytes(&s.as_bytes()[from..to]),
    }
}

/// Go's basic kinds for comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Complex,
    Str,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_) => BasicKind::Int,
        Value::Uint(_) | Value::Byte(_) => BasicKind::Uint,
        Value::Float(_) => BasicKind::Float,
        Value::Complex(..) => BasicKind::Complex,
        Value::Str(_) | Value::Bytes(_) => BasicKind::Str,
        _ => BasicKind::Invalid,
    }
}

/// An operand of a comparison: Go compares every unsigned integer as a `uint64`.
fn operand(v: &Value) -> Value {
    match concrete(v) {
        Value::Byte(b) => Value::Uint(u64::from(b)),
        v => v,
    }
}

const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";
const BAD_COMPARISON: &str = "incompatible types for comparison";

fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, String> {
    let a = operand(arg1);
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a);
    for arg in rest {
        let b = operand(arg);
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
            (Value::Complex(xr, xi), Value::Complex(yr, yi)) => xr == yr && xi == yi,
            _ if k1 == BasicKind::Str => a.as_bytes() == b.as_bytes(),
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
        let msg = fmt::sprintf("non-comparable types %s: %v, %s: %v", &args);
        return Err(msg.to_string());
    }
    if ka == invalid || kb == invalid {
        return Ok(ka == kb);
    }
    match (a, b) {
        (Value::Record(x), Value::Record(y)) if x.ty.is_pointer() => Ok(Arc::ptr_eq(x, y)),
        (Value::Func(_), _) | (Value::List(_), _) | (Value::Map(_), _) | (Value::Record(_), _) => {
            let args = [b.clone(), Value::from(b.type_name())];
            Err(fmt::sprintf("non-comparable type %s: %v", &args).to_string())
        }
        _ => Ok(false),
    }
}

fn lt(arg1: &Value, arg2: &Value) -> Result<bool, String> {
    let a = operand(arg1);
    let b = operand(arg2);
    let (k1, k2) = (basic_kind(&a), basic_kind(&b));
    if k1 == BasicKind::Invalid || k2 == BasicKind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    Ok(match (&a, &b) {
        (Value::Int(x), Value::Uint(y)) => *x < 0 || (*x as u64) < *y,
        (Value::Uint(x), Value::Int(y)) => *y >= 0 && *x < *y as u64,
        _ if k1 != k2 => return Err(BAD_COMPARISON.into()),
        // Go orders no booleans and no complex numbers.
        (Value::Bool(_) | Value::Complex(..), _) => return Err(BAD_COMPARISON_TYPE.into()),
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Uint(x), Value::Uint(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        _ if k1 == BasicKind::Str => a.as_bytes() < b.as_bytes(),
        _ => unreachable!("basic kinds match"),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Runs an escaper on Go's `evalArgs`: one string as it is, otherwise the arguments printed
/// with nil shown as `<no value>`.
fn escape(args: &[Value], escaper: impl Fn(GoStr<'_>, &mut GoString)) -> Value {
    if let [single] = args {
        if let Some(s) = single.as_go_str() {
            let mut out = GoString::with_capacity(s.len());
            escaper(s, &mut out);
            return out.into_value();
        }
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil | Value::Missing => Value::str("<no value>"),
            a => a.clone(),
        })
        .collect();
    let mut printed = GoString::default();
    fmt::fprint(&mut printed, &printable);
    let s = printed.as_go_str();
    let mut out = GoString::with_capacity(s.len());
    escaper(s, &mut out);
    out.into_value()
}

/// Go's `template.HTMLEscapeString`: byte by byte, so bytes that are not UTF-8 pass through.
pub fn html_escape(s: GoStr<'_>, out: &mut impl Sink) {
    let mut last = 0;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        let escaped = match c {
            b'\0' => "\u{FFFD}",
            b'"' => "&#34;",
            b'\'' => "&#39;",
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        // Cut at ASCII bytes, so UTF-8 text stays whole.
        out.push_go(s.slice(last, i));
        out.push_str(escaped);
        last = i + 1;
    }
    out.push_go(s.slice(last, s.len()));
}

/// Go's `template.JSEscapeString`. A byte that is not UTF-8 decodes as U+FFFD, which is
/// printable, so Go writes the byte as it is.
pub fn js_escape(s: GoStr<'_>, out: &mut impl Sink) {
    let b = s.as_bytes();
    let (mut last, mut i) = (0, 0);
    while i < b.len() {
        let c = b[i];
        let special = matches!(c, b'\\' | b'\'' | b'"' | b'<' | b'>' | b'&' | b'=');
        if !special && (b' '..0x80).contains(&c) {
            i += 1;
            continue;
        }
        out.push_go(s.slice(last, i));
        let width = if c.is_ascii() {
            js_escape_ascii(c, out);
            1
        } else {
            let rune = gostr::decode_rune(&b[i..]);
            match rune {
                Rune::Char(r) if !fmt::is_print(r) => {
                    out.push_fmt(format_args!("\\u{:04X}", r as u32))
                }
                _ => out.push_go(s.slice(i, i + rune.width())),
            }
            rune.width()
        };
        i += width;
        last = i;
    }
    out.push_go(s.slice(last, b.len()));
}

fn js_escape_ascii(c: u8, out: &mut impl Sink) {
    match c {
        b'\\' => out.push_str("\\\\"),
        b'\'' => out.push_str("\\'"),
        b'"' => out.push_str("\\\""),
        b'<' => out.push_str("\\u003C"),
        b'>' => out.push_str("\\u003E"),
        b'&' => out.push_str("\\u0026"),
        b'=' => out.push_str("\\u003D"),
        c => out.push_fmt(format_args!("\\u00{c:02X}")),
    }
}

/// Go's `url.QueryEscape`, byte by byte.
pub fn query_escape(s: GoStr<'_>, out: &mut impl Sink) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_fmt(format_args!("%{b:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An escaper's output for `input`, which may not be UTF-8.
    fn escaped(escaper: impl Fn(GoStr<'_>, &mut Vec<u8>), input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        escaper(Value::from_bytes(input).as_go_str().unwrap(), &mut out);
        out
    }

    #[test]
    fn escapers() {
        let html = |s: &[u8]| escaped(html_escape, s);
        let js = |s: &[u8]| escaped(js_escape, s);
        let query = |s: &[u8]| escaped(query_escape, s);
        assert_eq!(
            html(b"<a href=\"x\">'&'</a>"),
            b"&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            js(b"a'b\"c<>&=\\\n"),
            b"a\\'b\\\"c\\u003C\\u003E\\u0026\\u003D\\\\\\u000A"
        );
        assert_eq!(query("a b&c=d/é~".as_bytes()), b"a+b%26c%3Dd%2F%C3%A9~");
        // Bytes that are not UTF-8, as Go 1.23 escapes them.
        assert_eq!(html(b"<\xff\x00>"), b"&lt;\xff\xef\xbf\xbd&gt;");
        assert_eq!(
            js(b"<\xff\xfe \xc3\xa9\xe2\x80\xa8\xe2\x80>"),
            b"\\u003C\xff\xfe \xc3\xa9\\u2028\xe2\x80\\u003E"
        );
        assert_eq!(query(b"\xff a"), b"%FF+a");
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
        let (ff, fe) = (Value::from_bytes(b"\xff"), Value::from_bytes(b"\xfe"));
        assert_eq!(lt(&fe, &ff), Ok(true));
        assert_eq!(lt(&Value::str("é"), &ff), Ok(true));
        assert_eq!(eq(&ff, &[fe, Value::from_bytes(b"\xff")]), Ok(true));
        assert_eq!(eq(&Value::Byte(97), &[Value::Int(97)]), Ok(true));
        assert_eq!(lt(&Value::Byte(97), &Value::Uint(98)), Ok(true));
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
        let cut = slice(&Value::str("héllo"), &[Value::Int(0), Value::Int(2)], &[]).unwrap();
        assert_eq!(cut.as_bytes(), Some(&b"h\xc3"[..]));
        assert_eq!(cut.type_name(), "string");
        let joined = slice(&cut, &[Value::Int(1)], &[]).unwrap();
        assert_eq!(joined.as_bytes(), Some(&b"\xc3"[..]));
        assert_eq!(index(&cut, &[Value::Int(1)]).unwrap().type_name(), "uint8");
        assert_eq!(length(&Value::Missing).unwrap_err(), ZERO_VALUE_TYPE);
    }
}
