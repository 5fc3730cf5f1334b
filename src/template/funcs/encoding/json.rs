//! JSON: `json.Unmarshal` into `interface{}` with Go's syntax-error messages, and Go's
//! `encoding/json` encoder (`Marshal`, `MarshalIndent`, with or without HTML escaping).
//!
//! Our own encoder because no crate writes Go's output byte for byte (float formatting, `\u003c`
//! HTML escapes, `\ufffd` for invalid UTF-8, `\u2028`); decoding itself is `serde_json`'s, after
//! a scan that only words errors as Go's scanner does.

use std::fmt::Write as _;

use crate::gotmpl::{printf, FuncError, Value};
use crate::template::funcs::{Res, MAX_DEPTH};

/// `json.Unmarshal` into `interface{}`, with Go's syntax error messages.
pub(in crate::template::funcs) fn parse_json(s: &str) -> Res {
    JsonCheck {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    }
    .document()?;
    Value::from_json(s).map_err(FuncError)
}

/// Go's JSON scanner, only to report syntax errors as `encoding/json` words them.
struct JsonCheck<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// Deeper JSON is refused: decoding recurses about 1 KiB of stack a level, and a thread may
/// have only 2 MiB (Go allows 10000 levels on its growable stacks).
const MAX_JSON_DEPTH: usize = 1000;

type JsonResult = Result<(), String>;

impl JsonCheck<'_> {
    fn document(&mut self) -> JsonResult {
        self.value()?;
        self.ws();
        match self.peek() {
            Some(c) => Err(json_bad(c, "after top-level value")),
            None => Ok(()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, or the end-of-input error.
    fn next_byte(&mut self) -> Result<u8, String> {
        self.ws();
        self.peek()
            .ok_or_else(|| "unexpected end of JSON input".to_string())
    }

    fn value(&mut self) -> JsonResult {
        match self.next_byte()? {
            b'{' | b'[' if self.depth >= MAX_JSON_DEPTH => Err("exceeded max depth".into()),
            b'{' => self.nested(Self::object),
            b'[' => self.nested(Self::array),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(json_bad(c, "looking for beginning of value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> JsonResult) -> JsonResult {
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn object(&mut self) -> JsonResult {
        self.i += 1;
        if self.next_byte()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            match self.next_byte()? {
                b'"' => self.string()?,
                c => return Err(json_bad(c, "looking for beginning of object key string")),
            }
            match self.next_byte()? {
                b':' => self.i += 1,
                c => return Err(json_bad(c, "after object key")),
            }
            self.value()?;
            match self.next_byte()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                c => return Err(json_bad(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> JsonResult {
        self.i += 1;
        if self.next_byte()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            match self.next_byte()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                c => return Err(json_bad(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> JsonResult {
        self.i += 1;
        loop {
            let c = self.take()?;
            match c {
                b'"' => return Ok(()),
                b'\\' => match self.take_in_token() {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'"' | b'\\' | b'/' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let h = self.take_in_token();
                            if !h.is_ascii_hexdigit() {
                                return Err(json_bad(h, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    e => return Err(json_bad(e, "in string escape code")),
                },
                c if c < 0x20 => return Err(json_bad(c, "in string literal")),
                _ => {}
            }
        }
    }

    /// The next byte, not skipping whitespace.
    fn take(&mut self) -> Result<u8, String> {
        let c = self
            .peek()
            .ok_or_else(|| "unexpected end of JSON input".to_string())?;
        self.i += 1;
        Ok(c)
    }

    /// The next byte inside a token; at the end of input Go's scanner is fed a space, which
    /// a literal, a number or an escape refuses by name.
    fn take_in_token(&mut self) -> u8 {
        let c = self.peek().unwrap_or(b' ');
        self.i += 1;
        c
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    fn number(&mut self) -> JsonResult {
        if self.peek() == Some(b'-') {
            self.i += 1;
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "in numeric literal"));
            }
            self.i -= 1;
        }
        if self.take()? != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let c = self.take_in_token();
            if !c.is_ascii_digit() {
                return Err(json_bad(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> JsonResult {
        self.i += 1;
        for want in word.bytes().skip(1) {
            let c = self.take_in_token();
            if c != want {
                let ctx = format!("in literal {word} (expecting {})", quote_char(want));
                return Err(json_bad(c, &ctx));
            }
        }
        Ok(())
    }
}

fn json_bad(c: u8, ctx: &str) -> String {
    format!("invalid character {} {ctx}", quote_char(c))
}

/// `encoding/json`'s `quoteChar`: the byte as a rune in single quotes.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        c => {
            let q = printf::quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// `json.Marshal` (or an `Encoder` without HTML escaping) of a value; `pretty` is
/// `MarshalIndent(v, "", "  ")`.
pub(in crate::template::funcs) fn to_json(
    v: &Value,
    escape_html: bool,
    pretty: bool,
) -> Result<String, String> {
    let mut out = String::new();
    let mut enc = JsonEnc {
        out: &mut out,
        escape_html,
        pretty,
        objects: 0,
    };
    enc.value(v, 0, false)?;
    Ok(out)
}

struct JsonEnc<'a> {
    out: &'a mut String,
    escape_html: bool,
    pretty: bool,
    /// Objects being encoded (a level each, for the depth limit, but not for indentation).
    objects: usize,
}

impl JsonEnc<'_> {
    fn newline(&mut self, depth: usize) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    /// `addressable`: whether Go's encoder could take the value's address (it is reached
    /// through a pointer or a slice), which decides if pointer-receiver `MarshalJSON` runs.
    fn value(&mut self, v: &Value, depth: usize, addressable: bool) -> Result<(), String> {
        if depth + self.objects > MAX_DEPTH {
            return Err(format!(
                "json: unsupported value: encountered a cycle via {}",
                v.type_name()
            ));
        }
        match v {
            Value::Missing | Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(self.out, "{u}");
            }
            Value::Byte(b) => {
                let _ = write!(self.out, "{b}");
            }
            Value::Float(f) => self.out.push_str(&json_float(*f)?),
            Value::Complex(..) => return Err(format!("json: unsupported type: {}", v.type_name())),
            Value::Str(_) | Value::Bytes(_) => {
                json_string(self.out, v.as_bytes().unwrap_or_default(), self.escape_html)
            }
            Value::List(items) => self.list(items, depth)?,
            Value::Map(m) => {
                let entries: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (&**k, v)).collect();
                self.object(&entries, depth, false)?;
            }
            Value::Record(r) => {
                // The fields' `json` tags: their keys and order, `omitempty`, `-`.
                let layout = match &r.ty.json_marshal {
                    Some(custom) if addressable => custom,
                    _ => &r.ty.json,
                };
                let entries: Vec<(&str, &Value)> = layout
                    .iter()
                    .filter(|f| !(f.omit_empty && is_empty_value(&r.values[f.index])))
                    .map(|f| (f.key.as_str(), &r.values[f.index]))
                    .collect();
                self.object(&entries, depth, addressable || r.ty.is_pointer())?;
            }
            Value::Object(o) if o.type_name().starts_with("map[interface {}]") => {
                return Err(format!("json: unsupported type: {}", o.type_name()))
            }
            Value::Object(o) if o.is_nil() => self.out.push_str("null"),
            // A value-receiver `MarshalJSON` (`time.Time`'s) applies everywhere; a pointer
            // receiver's only where encoding/json can take the address.
            Value::Object(o)
                if (addressable || !o.pointer_methods()) && o.marshal_json().is_some() =>
            {
                self.out.push_str(&o.marshal_json().unwrap_or_default())
            }
            Value::Object(o) => match o.underlying() {
                Value::Missing | Value::Nil => self.out.push_str("{}"),
                u => {
                    self.objects += 1;
                    let r = self.value(&u, depth, addressable);
                    self.objects -= 1;
                    r?
                }
            },
            Value::Func(_) => return Err(format!("json: unsupported type: {}", v.type_name())),
        }
        Ok(())
    }

    fn list(&mut self, items: &[Value], depth: usize) -> Result<(), String> {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(depth + 1);
            // Slice elements are addressable.
            self.value(item, depth + 1, true)?;
        }
        if !items.is_empty() {
            self.newline(depth);
        }
        self.out.push(']');
        Ok(())
    }

    /// `addressable`: the members are fields of an addressable struct (not map values).
    fn object(
        &mut self,
        entries: &[(&str, &Value)],
        depth: usize,
        addressable: bool,
    ) -> Result<(), String> {
        self.out.push('{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(depth + 1);
            json_string(self.out, k.as_bytes(), self.escape_html);
            self.out.push_str(if self.pretty { ": " } else { ":" });
            self.value(v, depth + 1, addressable)?;
        }
        if !entries.is_empty() {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }
}

/// Go's float encoding: shortest digits, `'e'` form (exponent `e-7`, `e+21`) outside
/// [1e-6, 1e21).
fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        let shown = printf::format_float(f, b'g', -1);
        return Err(format!("json: unsupported value: {shown}"));
    }
    let abs = f.abs();
    let exp_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let mut s = printf::format_float(f, if exp_form { b'e' } else { b'f' }, -1);
    if exp_form {
        let n = s.len();
        if n >= 4 && s.as_bytes()[n - 4] == b'e' && &s[n - 3..n - 1] == "-0" {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

/// Go's `appendString`: `\u00XX` for control bytes, `\ufffd` for bytes that are not UTF-8,
/// `\u2028`/`\u2029` always, and `<>&` when escaping HTML.
fn json_string(out: &mut String, s: &[u8], escape_html: bool) {
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' if escape_html => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

/// Go's `isEmptyValue`: what `omitempty` leaves out.
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Record(_) => false,
        Value::Object(o) => o.is_nil() || is_empty_value(&o.underlying()),
        Value::Missing | Value::Nil => true,
        Value::Func(_) => false,
        v => !v.truth(),
    }
}
