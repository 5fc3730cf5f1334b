//! Go's `fmt` as templates use it: `Sprint`, `Sprintln`, `Sprintf` with every verb and flag, and
//! `strconv`'s float formatting and quoting.
//!
//! This is a port of Go 1.23's `fmt/print.go`, `fmt/format.go`, `strconv/ftoa.go` and
//! `strconv/quote.go`; the function names follow Go's so the two can be read side by side. Float
//! digits come from Rust's formatter (shortest round-trip, or exactly rounded for a fixed
//! precision), which yields the same digits as Go's Ryu and big-decimal paths.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::gostr::{self, GoStr, GoString, Rune, Sink};
use super::value::{Object, Record, Value};

/// Printed for a pointer nested in a value; Go prints a real heap address, which varies per run.
const DATA_ADDR: u64 = 0xc000010000;
/// Printed for a function value; Go prints its code address.
const FUNC_ADDR: u64 = 0x4a5b60;

const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

/// `fmt.Sprint(args...)` as a Go string.
pub fn sprint(args: &[Value]) -> Value {
    let mut out = GoString::default();
    fprint(&mut out, args);
    out.into_value()
}

/// `fmt.Fprint(out, args...)`: spaces between operands when neither is a string.
pub fn fprint(out: &mut impl Sink, args: &[Value]) {
    let mut p = Printer::new(out);
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = is_string_kind(arg);
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
}

/// `fmt.Sprintln(args...)`: spaces between all operands and a trailing newline.
pub fn sprintln(args: &[Value]) -> Value {
    let mut out = GoString::default();
    let mut p = Printer::new(&mut out);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    out.push('\n');
    out.into_value()
}

/// `fmt.Sprintf(format, args...)`; the format may be any Go string.
pub fn sprintf<'f>(format: impl Into<GoStr<'f>>, args: &[Value]) -> Value {
    let format = format.into();
    let mut out = GoString::with_capacity(format.len() + 8 * args.len());
    Printer::new(&mut out).do_printf(format, args);
    out.into_value()
}

/// Appends `%v` of one value, as `fmt.Fprint` prints it.
pub fn write_value(out: &mut impl Sink, v: &Value) {
    match v {
        Value::Str(s) => out.push_str(s),
        Value::Bytes(b) => out.push_go(GoStr::Raw(b)),
        // Without flags `fmtFloat` adds nothing to strconv's shortest `%g`.
        Value::Float(f) => append_float(out, *f, b'g', -1),
        _ => Printer::new(out).print_arg(v, 'v'),
    }
}

/// `strconv.FormatFloat(f, fmt, prec, 64)`; `prec` -1 is the shortest exact form.
pub fn format_float(f: f64, fmt: u8, prec: i32) -> String {
    let mut out = String::new();
    append_float(&mut out, f, fmt, prec);
    out
}

/// `strconv.Quote(s)`.
pub fn quote(s: &str) -> String {
    quote_go(s.into())
}

/// `strconv.Quote` of any Go string: a byte that is not UTF-8 is `\xNN`.
pub fn quote_go(s: GoStr<'_>) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    append_quoted(&mut out, s, '"', false);
    out
}

/// Go's `reflect.Kind() == reflect.String`, which decides `Sprint`'s spacing.
fn is_string_kind(v: &Value) -> bool {
    match v {
        Value::Str(_) | Value::Bytes(_) => true,
        Value::Object(o) => matches!(o.underlying(), Value::Str(_) | Value::Bytes(_)),
        _ => false,
    }
}

/// The flags, width and precision of one verb (Go's `fmtFlags` plus `wid` and `prec`).
#[derive(Clone, Copy, Default)]
struct Flags {
    wid: usize,
    prec: usize,
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    /// `%+v`: `plus` moves here so that numbers print no sign.
    plus_v: bool,
    /// `%#v`: `sharp` moves here so that numbers print no `0x`.
    sharp_v: bool,
}

/// Go's `pp` and `fmt` in one: the output and the state of the verb being printed.
struct Printer<'a, S: Sink> {
    buf: &'a mut S,
    f: Flags,
    /// Printing inside a bad-verb report: `String` methods are not called.
    erroring: bool,
    reordered: bool,
    good_arg_num: bool,
}

/// An ASCII byte slice as a `str` (everything the number formatters build is ASCII).
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

impl<'a, S: Sink> Printer<'a, S> {
    fn new(buf: &'a mut S) -> Self {
        Printer {
            buf,
            f: Flags::default(),
            erroring: false,
            reordered: false,
            good_arg_num: true,
        }
    }

    // ---- padding (format.go) ----

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.push_repeat(c, n);
    }

    /// Appends `s` padded to the width (counted in runes, as Go does).
    fn pad<'s>(&mut self, s: impl Into<GoStr<'s>>) {
        let s = s.into();
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_go(s);
            return;
        }
        let width = self.f.wid.saturating_sub(s.rune_count());
        if self.f.minus {
            self.buf.push_go(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_go(s);
        }
    }

    /// `pad` with zero padding turned off (numbers insert their own zeros after the sign).
    fn pad_spaces(&mut self, s: &str) {
        let zero = std::mem::replace(&mut self.f.zero, false);
        self.pad(s);
        self.f.zero = zero;
    }

    // ---- printArg / printValue (print.go) ----

    /// `printArg`: the top level of an operand.
    fn print_arg(&mut self, arg: &Value, verb: char) {
        match (arg, verb) {
            (Value::Nil | Value::Missing, 'T' | 'v') => self.pad("<nil>"),
            (Value::Nil | Value::Missing, _) => self.bad_verb(verb, arg, None),
            (_, 'T') => self.fmt_s(arg.type_name().as_str().into()),
            (Value::Object(o), 'p') => self.fmt_pointer(&o.underlying(), 'p', Some(o.type_name())),
            (_, 'p') => self.fmt_pointer(arg, 'p', None),
            // `handleMethods` turns down `%w` for anything that is not an error.
            (_, 'w') => self.bad_verb(verb, arg, None),
            _ => self.print_value(arg, verb, 0, None),
        }
    }

    /// `printValue`; `ty` is the Go type name when `v` is the underlying value of an object.
    fn print_value(&mut self, v: &Value, verb: char, depth: usize, ty: Option<&str>) {
        let ok = match v {
            Value::Nil | Value::Missing => {
                // A nil interface inside a list, map or struct (`print_arg` handles top-level nil).
                self.buf.push_str(if self.f.sharp_v {
                    "interface {}(nil)"
                } else {
                    "<nil>"
                });
                true
            }
            Value::Bool(b) => self.fmt_bool(*b, verb),
            Value::Int(i) => self.fmt_int(*i as u64, true, verb),
            Value::Uint(u) => self.fmt_int(*u, false, verb),
            Value::Byte(b) => self.fmt_int(u64::from(*b), false, verb),
            Value::Float(x) => self.fmt_float_verb(*x, verb),
            Value::Str(s) => self.fmt_string(GoStr::Utf8(s), verb),
            Value::Bytes(b) => self.fmt_string(GoStr::Raw(b), verb),
            Value::List(items) => {
                self.print_list(items, verb, depth, ty);
                true
            }
            Value::Map(m) => {
                self.print_map(m, verb, depth, ty);
                true
            }
            Value::Record(r) if !r.ty.is_pointer() => {
                self.print_struct(r, &r.ty.name, verb, depth);
                true
            }
            Value::Record(r) if depth == 0 => {
                // A pointer to a struct prints `&{…}` at the top level only.
                self.buf.push('&');
                self.print_struct(r, r.ty.name.trim_start_matches('*'), verb, depth + 1);
                true
            }
            Value::Record(_) | Value::Func(_) => {
                self.fmt_pointer(v, verb, ty);
                true
            }
            Value::Object(o) => {
                self.print_object(o.as_ref(), verb, depth);
                true
            }
        };
        if !ok {
            self.bad_verb(verb, v, ty);
        }
    }

    /// An object prints as its underlying value unless it has a `String` method (Go's Stringer).
    fn print_object(&mut self, o: &dyn Object, verb: char, depth: usize) {
        if !self.erroring && !self.f.sharp_v && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            if let Some(Ok(shown)) = o.call_method("String", &[]) {
                if let Some(s) = shown.as_go_str() {
                    if !self.fmt_string(s, verb) {
                        self.bad_verb(verb, &shown, None);
                    }
                    return;
                }
            }
        }
        self.print_value(&o.underlying(), verb, depth, Some(o.type_name()));
    }

    /// An element of a list or map, or a struct field: an `interface {}` that may be nil.
    fn print_elem(&mut self, v: &Value, verb: char, depth: usize) {
        self.print_value(v, verb, depth + 1, None);
    }

    fn print_list(&mut self, items: &[Value], verb: char, depth: usize, ty: Option<&str>) {
        let sharp_v = self.f.sharp_v;
        if sharp_v {
            self.buf.push_str(ty.unwrap_or("[]interface {}"));
            self.buf.push('{');
        } else {
            self.buf.push('[');
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if sharp_v { ", " } else { " " });
            }
            self.print_elem(item, verb, depth);
        }
        self.buf.push(if sharp_v { '}' } else { ']' });
    }

    fn print_map(
        &mut self,
        m: &BTreeMap<Arc<str>, Value>,
        verb: char,
        depth: usize,
        ty: Option<&str>,
    ) {
        let sharp_v = self.f.sharp_v;
        if sharp_v {
            self.buf.push_str(ty.unwrap_or("map[string]interface {}"));
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if sharp_v { ", " } else { " " });
            }
            // Keys are plain strings, not interfaces.
            if !self.fmt_string(GoStr::Utf8(k), verb) {
                self.bad_verb(verb, &Value::Str(k.clone()), None);
            }
            self.buf.push(':');
            self.print_elem(v, verb, depth);
        }
        self.buf.push(if sharp_v { '}' } else { ']' });
    }

    fn print_struct(&mut self, r: &Record, name: &str, verb: char, depth: usize) {
        let (sharp_v, names) = (self.f.sharp_v, self.f.sharp_v || self.f.plus_v);
        if sharp_v {
            self.buf.push_str(name);
        }
        self.buf.push('{');
        for (i, (field, v)) in r.ty.fields.iter().zip(&r.values).enumerate() {
            if i > 0 {
                self.buf.push_str(if sharp_v { ", " } else { " " });
            }
            if names {
                self.buf.push_str(field);
                self.buf.push(':');
            }
            self.print_elem(v, verb, depth);
        }
        self.buf.push('}');
    }

    /// `badVerb`: `%!d(string=a)`, the value printed with `%v` and the current width.
    fn bad_verb(&mut self, verb: char, v: &Value, ty: Option<&str>) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if let Value::Nil | Value::Missing = v {
            self.buf.push_str("<nil>");
        } else {
            match ty {
                Some(t) => self.buf.push_str(t),
                None => self.buf.push_str(&v.type_name()),
            }
            self.buf.push('=');
            self.print_value(v, 'v', 0, ty);
        }
        self.buf.push(')');
        self.erroring = false;
    }

    fn fmt_bool(&mut self, b: bool, verb: char) -> bool {
        match verb {
            't' | 'v' => self.pad(if b { "true" } else { "false" }),
            _ => return false,
        }
        true
    }

    /// `pp.fmtInteger`; false for a verb integers do not take.
    fn fmt_int(&mut self, v: u64, signed: bool, verb: char) -> bool {
        match verb {
            'v' if self.f.sharp_v && !signed => self.fmt_0x64(v, true),
            'v' | 'd' => self.fmt_integer(v, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(v, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(v, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(v, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(v, 16, signed, verb, UDIGITS),
            'c' => self.fmt_c(v),
            'q' => self.fmt_qc(v),
            'U' => self.fmt_unicode(v),
            _ => return false,
        }
        true
    }

    /// `pp.fmtFloat`: the default precision of each verb.
    fn fmt_float_verb(&mut self, v: f64, verb: char) -> bool {
        match verb {
            'v' => self.fmt_float(v, b'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(v, verb as u8, -1),
            'f' | 'e' | 'E' => self.fmt_float(v, verb as u8, 6),
            'F' => self.fmt_float(v, b'f', 6),
            _ => return false,
        }
        true
    }

    fn fmt_string(&mut self, s: GoStr<'_>, verb: char) -> bool {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, LDIGITS),
            'X' => self.fmt_sx(s, UDIGITS),
            'q' => self.fmt_q(s),
            _ => return false,
        }
        true
    }

    /// `fmtPointer`: lists, maps, pointers and funcs print as (fixed) addresses.
    fn fmt_pointer(&mut self, v: &Value, verb: char, ty: Option<&str>) {
        let u = match v {
            Value::List(_) | Value::Map(_) => DATA_ADDR,
            Value::Record(r) if r.ty.is_pointer() => DATA_ADDR,
            Value::Func(_) => FUNC_ADDR,
            _ => return self.bad_verb(verb, v, ty),
        };
        match verb {
            'v' if self.f.sharp_v => {
                self.buf.push('(');
                match ty {
                    Some(t) => self.buf.push_str(t),
                    None => self.buf.push_str(&v.type_name()),
                }
                self.buf.push_str(")(");
                self.fmt_0x64(u, true);
                self.buf.push(')');
            }
            'v' | 'p' => self.fmt_0x64(u, !self.f.sharp),
            'b' | 'o' | 'd' | 'x' | 'X' => {
                self.fmt_int(u, false, verb);
            }
            _ => self.bad_verb(verb, v, ty),
        }
    }

    // ---- the formatters (format.go) ----

    fn fmt_0x64(&mut self, v: u64, leading_0x: bool) {
        let sharp = std::mem::replace(&mut self.f.sharp, leading_0x);
        self.fmt_integer(v, 16, false, 'v', LDIGITS);
        self.f.sharp = sharp;
    }

    /// `fmt.fmtInteger`: digits right to left into a buffer, then zeros, prefix and sign.
    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8; 17]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative { u.wrapping_neg() } else { u };
        let f = self.f;
        let mut stack = [0u8; 68];
        let mut heap = Vec::new();
        let need = 3 + f.wid + f.prec;
        let buf: &mut [u8] = if (f.wid_present || f.prec_present) && need > stack.len() {
            heap.resize(need, 0);
            &mut heap
        } else {
            &mut stack
        };
        let mut prec = 0;
        if f.prec_present {
            prec = f.prec;
            // `%.0d` of zero prints nothing but the padding.
            if prec == 0 && u == 0 {
                let zero = std::mem::replace(&mut self.f.zero, false);
                self.write_padding(f.wid);
                self.f.zero = zero;
                return;
            }
        } else if f.zero && !f.minus && f.wid_present {
            prec = f.wid;
            if negative || f.plus || f.space {
                prec = prec.saturating_sub(1); // leave room for the sign
            }
        }
        let mut i = buf.len();
        if base == 10 {
            // A constant divisor lets the compiler avoid a division instruction.
            while u >= 10 {
                i -= 1;
                buf[i] = b'0' + (u % 10) as u8;
                u /= 10;
            }
        } else {
            let shift = base.trailing_zeros();
            while u >= base {
                i -= 1;
                buf[i] = digits[(u & (base - 1)) as usize];
                u >>= shift;
            }
        }
        i -= 1;
        buf[i] = digits[u as usize];
        while i > 0 && prec > buf.len() - i {
            i -= 1;
            buf[i] = b'0';
        }
        if f.sharp {
            match base {
                2 => prepend(buf, &mut i, b"0b"),
                8 if buf[i] != b'0' => prepend(buf, &mut i, b"0"),
                16 => prepend(buf, &mut i, &[b'0', digits[16]]),
                _ => {}
            }
        }
        if verb == 'O' {
            prepend(buf, &mut i, b"0o");
        }
        if negative {
            prepend(buf, &mut i, b"-");
        } else if f.plus {
            prepend(buf, &mut i, b"+");
        } else if f.space {
            prepend(buf, &mut i, b" ");
        }
        let zero = std::mem::replace(&mut self.f.zero, false);
        self.pad(ascii(&buf[i..]));
        self.f.zero = zero;
    }

    /// `%U`: `U+0041`, with `%#U` adding the quoted rune when printable.
    fn fmt_unicode(&mut self, u: u64) {
        let prec = if self.f.prec_present && self.f.prec > 4 {
            self.f.prec
        } else {
            4
        };
        let mut s = String::with_capacity(prec + 12);
        s.push_str("U+");
        let hex_len = (64 - u.leading_zeros()).div_ceil(4).max(1) as usize;
        s.extend(std::iter::repeat_n('0', prec.saturating_sub(hex_len)));
        let _ = write!(s, "{u:X}");
        if self.f.sharp {
            if let Some(c) = char::from_u32(u as u32).filter(|&c| u <= 0x10FFFF && is_print(c)) {
                s.push_str(" '");
                s.push(c);
                s.push('\'');
            }
        }
        self.pad_spaces(&s);
    }

    fn fmt_c(&mut self, c: u64) {
        let mut b = [0u8; 4];
        let s: &str = to_rune(c).encode_utf8(&mut b);
        self.pad(s);
    }

    fn fmt_qc(&mut self, c: u64) {
        let mut s = String::with_capacity(8);
        s.push('\'');
        append_escaped_rune(&mut s, to_rune(c), '\'', self.f.plus);
        s.push('\'');
        self.pad(s.as_str());
    }

    /// Truncates to the precision, counted in runes.
    fn truncate<'s>(&self, s: GoStr<'s>) -> GoStr<'s> {
        if !self.f.prec_present {
            return s;
        }
        s.prefix_runes(self.f.prec)
    }

    fn fmt_s(&mut self, s: GoStr<'_>) {
        let s = self.truncate(s);
        self.pad(s);
    }

    /// `%x` of a string: hex of its bytes, `% x` spaced, `%#x` with `0x` prefixes.
    fn fmt_sx(&mut self, s: GoStr<'_>, digits: &[u8; 17]) {
        let f = self.f;
        let b = s.as_bytes();
        let length = if f.prec_present {
            b.len().min(f.prec)
        } else {
            b.len()
        };
        if length == 0 {
            if f.wid_present {
                self.write_padding(f.wid);
            }
            return;
        }
        let mut width = 2 * length;
        if f.space {
            if f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if f.sharp {
            width += 2;
        }
        if f.wid_present && f.wid > width && !f.minus {
            self.write_padding(f.wid - width);
        }
        if f.sharp {
            self.buf.push('0');
            self.buf.push(digits[16] as char);
        }
        for (i, &c) in b[..length].iter().enumerate() {
            if f.space && i > 0 {
                self.buf.push(' ');
                if f.sharp {
                    self.buf.push('0');
                    self.buf.push(digits[16] as char);
                }
            }
            self.buf.push(digits[(c >> 4) as usize] as char);
            self.buf.push(digits[(c & 0xF) as usize] as char);
        }
        if f.wid_present && f.wid > width && f.minus {
            self.write_padding(f.wid - width);
        }
    }

    /// `%q`: a Go string literal; `%+q` ASCII only; `%#q` backquoted when possible.
    fn fmt_q(&mut self, s: GoStr<'_>) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            // Backquoted text is `s` itself, which may be raw bytes that happen to be UTF-8.
            let mut q = GoString::with_capacity(s.len() + 2);
            q.push('`');
            q.push_go(s);
            q.push('`');
            self.pad(q.as_go_str());
        } else {
            let mut q = String::with_capacity(s.len() + 2);
            append_quoted(&mut q, s, '"', self.f.plus);
            self.pad(q.as_str());
        }
    }

    /// `fmt.fmtFloat`: strconv's digits plus sign, `#` and zero-padding handling.
    fn fmt_float(&mut self, v: f64, verb: u8, prec: i32) {
        let f = self.f;
        let prec = if f.prec_present {
            f.prec.min(i32::MAX as usize) as i32
        } else {
            prec
        };
        if !f.plus && !f.space && !f.sharp && (!f.wid_present || f.wid == 0) {
            // Without these flags Go prints strconv's text unchanged.
            append_float(self.buf, v, verb, prec);
            return;
        }
        // num[0] is a sign slot, as in Go.
        let mut num = String::with_capacity(32);
        num.push('+');
        append_float(&mut num, v, verb, prec);
        let mut start = 0;
        if matches!(num.as_bytes()[1], b'-' | b'+') {
            start = 1;
        }
        if f.space && num.as_bytes()[start] == b'+' && !f.plus {
            num.replace_range(start..start + 1, " ");
        }
        if matches!(num.as_bytes()[start + 1], b'I' | b'N') {
            if num.as_bytes()[start + 1] == b'N' && !f.space && !f.plus {
                start += 1;
            }
            self.pad_spaces(&num[start..]);
            return;
        }
        if f.sharp && verb != b'b' {
            sharp_float(&mut num, start, verb, prec);
        }
        let num = &num[start..];
        if f.plus || !num.starts_with('+') {
            if f.zero && !f.minus && f.wid_present && f.wid > num.len() {
                self.buf.push_str(&num[..1]);
                self.write_padding(f.wid - num.len());
                self.buf.push_str(&num[1..]);
            } else {
                self.pad(num);
            }
            return;
        }
        self.pad(&num[1..]);
    }

    // ---- Printf (print.go doPrintf) ----

    fn do_printf(&mut self, format: GoStr<'_>, a: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0;
        let mut i = 0;
        self.reordered = false;
        'format: while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            // Literal text ends at a `%` or the end, so a UTF-8 format is cut at a boundary.
            self.buf.push_go(format.slice(lasti, i));
            if i >= end {
                break;
            }
            i += 1; // skip %
            self.f = Flags::default();
            while i < end {
                match fb[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = true,
                    b'+' => self.f.plus = true,
                    b'-' => self.f.minus = true,
                    b' ' => self.f.space = true,
                    c => {
                        // Fast path for the common case of an ASCII lower-case verb.
                        if c.is_ascii_lowercase() && arg_num < a.len() {
                            if c == b'v' || c == b'w' {
                                self.move_flags_to_v();
                            }
                            self.print_arg(&a[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }

            let mut after_index;
            (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, a.len());

            if i < end && fb[i] == b'*' {
                i += 1;
                let (n, ok);
                (n, ok, arg_num) = int_from_arg(a, arg_num);
                self.f.wid_present = ok;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if n < 0 {
                    // A negative width from an argument means left-justify.
                    self.f.minus = true;
                    self.f.zero = false;
                }
                self.f.wid = n.unsigned_abs() as usize;
                after_index = false;
            } else {
                let (n, ok, ni) = parsenum(fb, i, end);
                (self.f.wid, self.f.wid_present, i) = (n, ok, ni);
                if after_index && ok {
                    self.good_arg_num = false; // "%[3]2d"
                }
            }

            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false; // "%[3].2d"
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, a.len());
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (n, ok);
                    (n, ok, arg_num) = int_from_arg(a, arg_num);
                    // A negative precision from an argument means no precision.
                    self.f.prec = n.max(0) as usize;
                    self.f.prec_present = ok && n >= 0;
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (n, ok, ni) = parsenum(fb, i, end);
                    // "%.d" is precision 0.
                    (self.f.prec, self.f.prec_present, i) = (if ok { n } else { 0 }, true, ni);
                }
            }

            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, fb, i, a.len());
            }

            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            // A byte that is not UTF-8 is the verb U+FFFD, as Go decodes it.
            let rune = gostr::decode_rune(&fb[i..]);
            let verb = rune.char();
            i += rune.width();

            if verb == '%' {
                // Percent takes no operand and ignores width and precision.
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.bad_arg(verb, "(BADINDEX)");
            } else if arg_num >= a.len() {
                self.bad_arg(verb, "(MISSING)");
            } else {
                if verb == 'v' || verb == 'w' {
                    self.move_flags_to_v();
                }
                self.print_arg(&a[arg_num], verb);
                arg_num += 1;
            }
        }

        if !self.reordered && arg_num < a.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (i, arg) in a[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                if let Value::Nil | Value::Missing = arg {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    /// `%+v` and `%#v` keep their flags apart from the numeric `+` and `#`.
    fn move_flags_to_v(&mut self) {
        self.f.sharp_v = std::mem::take(&mut self.f.sharp);
        self.f.plus_v = std::mem::take(&mut self.f.plus);
    }

    fn bad_arg(&mut self, verb: char, what: &str) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push_str(what);
    }

    /// `argNumber`: an explicit `[n]` index at `i`, if any.
    fn arg_number(
        &mut self,
        arg_num: usize,
        fb: &[u8],
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        if i >= fb.len() || fb[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let (index, wid, ok) = parse_arg_number(&fb[i..]);
        if ok && index >= 1 && index <= num_args {
            return (index - 1, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }
}

/// `parseArgNumber`: the one-based index in `[n]` (not yet made zero-based), the length of the
/// bracketed text, and whether it parsed.
fn parse_arg_number(f: &[u8]) -> (usize, usize, bool) {
    if f.len() < 3 {
        return (0, 1, false);
    }
    match f.iter().skip(1).position(|&c| c == b']') {
        Some(p) => {
            let close = p + 1;
            let (n, ok, newi) = parsenum(f, 1, close);
            if !ok || newi != close {
                return (0, close + 1, false);
            }
            (n, close + 1, true)
        }
        None => (0, 1, false),
    }
}

/// Go rejects widths and precisions beyond a million (crazy long numbers).
fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

/// `parsenum`: a decimal at `start`; an overflow consumes the rest of the format.
fn parsenum(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let (mut num, mut isnum, mut i) = (0i64, false, start);
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + i64::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (num as usize, isnum, i)
}

/// `intFromArg`: a `*` width or precision; only integers count.
fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = a.get(arg_num) else {
        return (0, false, arg_num);
    };
    let resolved;
    let arg = match arg {
        Value::Object(o) => {
            resolved = o.underlying();
            &resolved
        }
        v => v,
    };
    let (num, is_int) = match *arg {
        Value::Int(n) => (n, true),
        Value::Uint(u) => i64::try_from(u).map_or((0, false), |n| (n, true)),
        Value::Byte(b) => (i64::from(b), true),
        _ => (0, false),
    };
    if too_large(num) {
        return (0, false, arg_num + 1);
    }
    (num, is_int, arg_num + 1)
}

/// Writes `s` just before `buf[*i..]`.
fn prepend(buf: &mut [u8], i: &mut usize, s: &[u8]) {
    *i -= s.len();
    buf[*i..*i + s.len()].copy_from_slice(s);
}

/// Go's `rune(c)` for `%c` and `%q`: out of range or surrogate becomes U+FFFD.
fn to_rune(c: u64) -> char {
    u32::try_from(c)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The `#` flag on a float: keep the decimal point and, for `%g`, trailing zeros up to the
/// precision. `num[start]` is the sign slot.
fn sharp_float(num: &mut String, start: usize, verb: u8, prec: i32) {
    let mut digits = match verb {
        b'v' | b'g' | b'G' | b'x' => {
            if prec == -1 {
                6
            } else {
                prec
            }
        }
        _ => 0,
    };
    let mut tail = String::new();
    let (mut has_point, mut saw_nonzero) = (false, false);
    let mut i = start + 1;
    while i < num.len() {
        match num.as_bytes()[i] {
            b'.' => has_point = true,
            b'p' | b'P' => {
                tail = num.split_off(i);
                break;
            }
            b'e' | b'E' if verb != b'x' && verb != b'X' => {
                tail = num.split_off(i);
                break;
            }
            c => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        i += 1;
    }
    if !has_point {
        // The leading 0 of "0" counts as a digit when it is the only one.
        if num.len() - start == 2 && num.as_bytes()[start + 1] == b'0' {
            digits -= 1;
        }
        num.push('.');
    }
    while digits > 0 {
        num.push('0');
        digits -= 1;
    }
    num.push_str(&tail);
}

// ---- strconv.FormatFloat (ftoa.go) ----

/// A small stack buffer for Rust's shortest float formatting.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// More digits than any f64 has, before or after the point (at most 767 significant, 1074 after
/// the point): asking Rust for more only adds zeros (and Rust caps precision at 65535).
const EXACT_DIGITS: usize = 1100;

/// `genericFtoa` for 64-bit floats.
fn append_float(dst: &mut impl Sink, v: f64, fmt: u8, prec: i32) {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let biased = ((bits >> 52) & 0x7FF) as i32;
    let mut mant = bits & ((1 << 52) - 1);
    if biased == 0x7FF {
        dst.push_str(match (mant != 0, neg) {
            (true, _) => "NaN",
            (false, true) => "-Inf",
            (false, false) => "+Inf",
        });
        return;
    }
    let exp = if biased == 0 {
        1 - 1023
    } else {
        mant |= 1 << 52;
        biased - 1023
    };
    match fmt {
        b'b' => return fmt_b(dst, neg, mant, exp),
        b'x' | b'X' => return fmt_x(dst, prec, fmt, neg, mant, exp),
        b'e' | b'E' | b'f' | b'g' | b'G' => {}
        _ => {
            dst.push('%');
            dst.push(fmt as char);
            return;
        }
    }
    let abs = v.abs();
    if prec < 0 {
        // Shortest: Rust's `{:e}` gives the shortest digits that round-trip, as Go's Ryu does.
        let mut sb = StackBuf {
            buf: [0; 40],
            len: 0,
        };
        let _ = write!(sb, "{abs:e}");
        let mut d = [0u8; 40];
        let (nd, dp) = exp_digits(&sb.buf[..sb.len], &mut d);
        let prec = match fmt {
            b'e' | b'E' => nd.saturating_sub(1) as i32,
            b'f' => (nd as i32 - dp).max(0),
            _ => nd as i32,
        };
        format_digits(dst, true, neg, &d[..nd], dp, prec, fmt);
    } else if fmt == b'f' {
        let s = format!("{abs:.p$}", p = (prec as usize).min(EXACT_DIGITS));
        let mut d = vec![0u8; s.len()];
        let (from, to, dp) = fixed_digits(s.as_bytes(), &mut d);
        format_digits(dst, false, neg, &d[from..to], dp, prec, fmt);
    } else {
        // Rust rounds a fixed number of significant digits exactly (half to even), as Go does.
        let mut prec = prec;
        let digits = match fmt {
            b'e' | b'E' => prec + 1,
            _ => {
                prec = prec.max(1);
                prec
            }
        };
        let s = format!("{abs:.p$e}", p = (digits as usize - 1).min(EXACT_DIGITS));
        let mut d = vec![0u8; s.len()];
        let (nd, dp) = exp_digits(s.as_bytes(), &mut d);
        format_digits(dst, false, neg, &d[..nd], dp, prec, fmt);
    }
}

/// Parses Rust's `d.ddde±x` into significant digits (no trailing zeros) and Go's decimal point
/// position (`0.d1d2… × 10^dp`); zero has no digits and dp 0.
fn exp_digits(s: &[u8], d: &mut [u8]) -> (usize, i32) {
    let e = s.iter().position(|&c| c == b'e').unwrap_or(s.len());
    let mut nd = 0;
    for &c in s[..e].iter().filter(|c| c.is_ascii_digit()) {
        d[nd] = c;
        nd += 1;
    }
    while nd > 0 && d[nd - 1] == b'0' {
        nd -= 1;
    }
    if nd == 0 {
        return (0, 0);
    }
    let exp: i32 = s
        .get(e + 1..)
        .and_then(|x| ascii(x).parse().ok())
        .unwrap_or(0);
    (nd, exp + 1)
}

/// Parses Rust's `ddd.ddd` into the range of significant digits in `d` and the decimal point.
fn fixed_digits(s: &[u8], d: &mut [u8]) -> (usize, usize, i32) {
    let point = s.iter().position(|&c| c == b'.').unwrap_or(s.len());
    let mut nd = 0;
    for &c in s.iter().filter(|c| c.is_ascii_digit()) {
        d[nd] = c;
        nd += 1;
    }
    let from = d[..nd].iter().position(|&c| c != b'0').unwrap_or(nd);
    let mut to = nd;
    while to > from && d[to - 1] == b'0' {
        to -= 1;
    }
    if from == to {
        return (0, 0, 0);
    }
    (from, to, point as i32 - from as i32)
}

/// `formatDigits`: `%e`, `%f` or `%g` layout of decimal digits `d` with point position `dp`.
fn format_digits(
    dst: &mut impl Sink,
    shortest: bool,
    neg: bool,
    d: &[u8],
    dp: i32,
    prec: i32,
    fmt: u8,
) {
    let nd = d.len() as i32;
    match fmt {
        b'e' | b'E' => fmt_e(dst, neg, d, dp, prec, fmt),
        b'f' => fmt_f(dst, neg, d, dp, prec),
        _ => {
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            // %e is used if the exponent is < -4 or >= the precision; shortest uses 6.
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                fmt_e(dst, neg, d, dp, prec.min(nd) - 1, fmt + b'e' - b'g');
            } else {
                let prec = if prec > dp { nd } else { prec };
                fmt_f(dst, neg, d, dp, (prec - dp).max(0));
            }
        }
    }
}

/// `%e`: `-d.ddddde±dd`.
fn fmt_e(dst: &mut impl Sink, neg: bool, d: &[u8], dp: i32, prec: i32, fmt: u8) {
    if neg {
        dst.push('-');
    }
    dst.push(d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        dst.push('.');
        let m = d.len().min(prec as usize + 1);
        if m > 1 {
            dst.push_str(ascii(&d[1..m]));
        }
        dst.push_repeat('0', (prec as usize + 1).saturating_sub(m.max(1)));
    }
    dst.push(fmt as char);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    dst.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        dst.push('0');
    }
    dst.push_fmt(format_args!("{exp}"));
}

/// `%f`: `-ddd.ddd`.
fn fmt_f(dst: &mut impl Sink, neg: bool, d: &[u8], dp: i32, prec: i32) {
    if neg {
        dst.push('-');
    }
    if dp > 0 {
        let m = d.len().min(dp as usize);
        dst.push_str(ascii(&d[..m]));
        dst.push_repeat('0', dp as usize - m);
    } else {
        dst.push('0');
    }
    if prec > 0 {
        dst.push('.');
        for i in 0..prec {
            let j = dp + i;
            let c = if j >= 0 && (j as usize) < d.len() {
                d[j as usize]
            } else {
                b'0'
            };
            dst.push(c as char);
        }
    }
}

/// `%b`: `mantissa p±exponent`, both decimal.
fn fmt_b(dst: &mut impl Sink, neg: bool, mant: u64, exp: i32) {
    if neg {
        dst.push('-');
    }
    dst.push_fmt(format_args!("{mant}p{:+}", exp - 52));
}

/// `%x`: `-0x1.hhhhp±dd`, rounded to `prec` hex digits when `prec` is at least 0.
fn fmt_x(dst: &mut impl Sink, prec: i32, fmt: u8, neg: bool, mut mant: u64, mut exp: i32) {
    if mant == 0 {
        exp = 0;
    }
    // Shift the leading 1 to bit 60.
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        // Round to even at the precision.
        let shift = prec as u32 * 4;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex = if fmt == b'X' { UDIGITS } else { LDIGITS };
    if neg {
        dst.push('-');
    }
    dst.push('0');
    dst.push(fmt as char);
    dst.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4; // drop the leading digit
    if prec < 0 && mant != 0 {
        dst.push('.');
        while mant != 0 {
            dst.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        dst.push('.');
        for _ in 0..prec {
            dst.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    dst.push(if fmt == b'X' { 'P' } else { 'p' });
    dst.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        dst.push('0');
    }
    dst.push_fmt(format_args!("{exp}"));
}

// ---- strconv.Quote (quote.go) ----

fn append_quoted(dst: &mut String, s: GoStr<'_>, quote: char, ascii_only: bool) {
    dst.push(quote);
    for r in s.runes() {
        match r {
            Rune::Char(c) => append_escaped_rune(dst, c, quote, ascii_only),
            Rune::Invalid(b) => {
                let _ = write!(dst, "\\x{b:02x}");
            }
        }
    }
    dst.push(quote);
}

fn append_escaped_rune(dst: &mut String, r: char, quote: char, ascii_only: bool) {
    if r == quote || r == '\\' {
        dst.push('\\');
        dst.push(r);
        return;
    }
    let printable = if ascii_only {
        r.is_ascii() && is_print(r)
    } else {
        is_print(r)
    };
    if printable {
        dst.push(r);
        return;
    }
    let esc = match r {
        '\x07' => "\\a",
        '\x08' => "\\b",
        '\x0c' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\x0b' => "\\v",
        _ => {
            let r = r as u32;
            let _ = match r {
                0..0x20 | 0x7f => write!(dst, "\\x{r:02x}"),
                0..0x10000 => write!(dst, "\\u{r:04x}"),
                _ => write!(dst, "\\U{r:08x}"),
            };
            return;
        }
    };
    dst.push_str(esc);
}

/// `strconv.CanBackquote`: no control characters but tab, no backquote, no BOM, only UTF-8.
fn can_backquote(s: GoStr<'_>) -> bool {
    s.runes().all(|r| match r {
        Rune::Invalid(_) | Rune::Char('\u{feff}') => false,
        Rune::Char('\t') => true,
        Rune::Char(c) if c.is_ascii() => c >= ' ' && c != '`' && c != '\x7f',
        Rune::Char(_) => true,
    })
}

/// Go's `unicode.IsPrint` (letters, marks, numbers, punctuation, symbols and ASCII space), from
/// strconv's compact tables of Go 1.23 (Unicode 15.0).
pub fn is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xFF {
        return (0x20..=0x7E).contains(&r) || ((0xA1..=0xFF).contains(&r) && r != 0xAD);
    }
    if let Ok(rr) = u16::try_from(r) {
        return in_ranges(&IS_PRINT16, rr) && IS_NOT_PRINT16.binary_search(&rr).is_err();
    }
    if !in_ranges(&IS_PRINT32, r) {
        return false;
    }
    r >= 0x20000
        || IS_NOT_PRINT32
            .binary_search(&((r - 0x10000) as u16))
            .is_err()
}

/// Whether `x` lies in one of the inclusive ranges listed as start, end pairs.
fn in_ranges<T: Ord + Copy>(ranges: &[T], x: T) -> bool {
    let i = ranges.partition_point(|&v| v < x);
    i < ranges.len() && ranges[i & !1] <= x && x <= ranges[i | 1]
}

// Generated from Go 1.23's strconv/isprint.go.
static IS_PRINT16: [u16; 424] = [
    0x0020, 0x007e, 0x00a1, 0x0377, 0x037a, 0x037f, 0x0384, 0x0556, 0x0559, 0x058a, 0x058d, 0x05c7,
    0x05d0, 0x05ea, 0x05ef, 0x05f4, 0x0606, 0x070d, 0x0710, 0x074a, 0x074d, 0x07b1, 0x07c0, 0x07fa,
    0x07fd, 0x082d, 0x0830, 0x085b, 0x085e, 0x086a, 0x0870, 0x088e, 0x0898, 0x098c, 0x098f, 0x0990,
    0x0993, 0x09b2, 0x09b6, 0x09b9, 0x09bc, 0x09c4, 0x09c7, 0x09c8, 0x09cb, 0x09ce, 0x09d7, 0x09d7,
    0x09dc, 0x09e3, 0x09e6, 0x09fe, 0x0a01, 0x0a0a, 0x0a0f, 0x0a10, 0x0a13, 0x0a39, 0x0a3c, 0x0a42,
    0x0a47, 0x0a48, 0x0a4b, 0x0a4d, 0x0a51, 0x0a51, 0x0a59, 0x0a5e, 0x0a66, 0x0a76, 0x0a81, 0x0ab9,
    0x0abc, 0x0acd, 0x0ad0, 0x0ad0, 0x0ae0, 0x0ae3, 0x0ae6, 0x0af1, 0x0af9, 0x0b0c, 0x0b0f, 0x0b10,
    0x0b13, 0x0b39, 0x0b3c, 0x0b44, 0x0b47, 0x0b48, 0x0b4b, 0x0b4d, 0x0b55, 0x0b57, 0x0b5c, 0x0b63,
    0x0b66, 0x0b77, 0x0b82, 0x0b8a, 0x0b8e, 0x0b95, 0x0b99, 0x0b9f, 0x0ba3, 0x0ba4, 0x0ba8, 0x0baa,
    0x0bae, 0x0bb9, 0x0bbe, 0x0bc2, 0x0bc6, 0x0bcd, 0x0bd0, 0x0bd0, 0x0bd7, 0x0bd7, 0x0be6, 0x0bfa,
    0x0c00, 0x0c39, 0x0c3c, 0x0c4d, 0x0c55, 0x0c5a, 0x0c5d, 0x0c5d, 0x0c60, 0x0c63, 0x0c66, 0x0c6f,
    0x0c77, 0x0cb9, 0x0cbc, 0x0ccd, 0x0cd5, 0x0cd6, 0x0cdd, 0x0ce3, 0x0ce6, 0x0cf3, 0x0d00, 0x0d4f,
    0x0d54, 0x0d63, 0x0d66, 0x0d96, 0x0d9a, 0x0dbd, 0x0dc0, 0x0dc6, 0x0dca, 0x0dca, 0x0dcf, 0x0ddf,
    0x0de6, 0x0def, 0x0df2, 0x0df4, 0x0e01, 0x0e3a, 0x0e3f, 0x0e5b, 0x0e81, 0x0ebd, 0x0ec0, 0x0ed9,
    0x0edc, 0x0edf, 0x0f00, 0x0f6c, 0x0f71, 0x0fda, 0x1000, 0x10c7, 0x10cd, 0x10cd, 0x10d0, 0x124d,
    0x1250, 0x125d, 0x1260, 0x128d, 0x1290, 0x12b5, 0x12b8, 0x12c5, 0x12c8, 0x1315, 0x1318, 0x135a,
    0x135d, 0x137c, 0x1380, 0x1399, 0x13a0, 0x13f5, 0x13f8, 0x13fd, 0x1400, 0x169c, 0x16a0, 0x16f8,
    0x1700, 0x1715, 0x171f, 0x1736, 0x1740, 0x1753, 0x1760, 0x1773, 0x1780, 0x17dd, 0x17e0, 0x17e9,
    0x17f0, 0x17f9, 0x1800, 0x1819, 0x1820, 0x1878, 0x1880, 0x18aa, 0x18b0, 0x18f5, 0x1900, 0x192b,
    0x1930, 0x193b, 0x1940, 0x1940, 0x1944, 0x196d, 0x1970, 0x1974, 0x1980, 0x19ab, 0x19b0, 0x19c9,
    0x19d0, 0x19da, 0x19de, 0x1a1b, 0x1a1e, 0x1a7c, 0x1a7f, 0x1a89, 0x1a90, 0x1a99, 0x1aa0, 0x1aad,
    0x1ab0, 0x1ace, 0x1b00, 0x1b4c, 0x1b50, 0x1bf3, 0x1bfc, 0x1c37, 0x1c3b, 0x1c49, 0x1c4d, 0x1c88,
    0x1c90, 0x1cba, 0x1cbd, 0x1cc7, 0x1cd0, 0x1cfa, 0x1d00, 0x1f15, 0x1f18, 0x1f1d, 0x1f20, 0x1f45,
    0x1f48, 0x1f4d, 0x1f50, 0x1f7d, 0x1f80, 0x1fd3, 0x1fd6, 0x1fef, 0x1ff2, 0x1ffe, 0x2010, 0x2027,
    0x2030, 0x205e, 0x2070, 0x2071, 0x2074, 0x209c, 0x20a0, 0x20c0, 0x20d0, 0x20f0, 0x2100, 0x218b,
    0x2190, 0x2426, 0x2440, 0x244a, 0x2460, 0x2b73, 0x2b76, 0x2cf3, 0x2cf9, 0x2d27, 0x2d2d, 0x2d2d,
    0x2d30, 0x2d67, 0x2d6f, 0x2d70, 0x2d7f, 0x2d96, 0x2da0, 0x2e5d, 0x2e80, 0x2ef3, 0x2f00, 0x2fd5,
    0x2ff0, 0x2ffb, 0x3001, 0x3096, 0x3099, 0x30ff, 0x3105, 0x31e3, 0x31f0, 0xa48c, 0xa490, 0xa4c6,
    0xa4d0, 0xa62b, 0xa640, 0xa6f7, 0xa700, 0xa7ca, 0xa7d0, 0xa7d9, 0xa7f2, 0xa82c, 0xa830, 0xa839,
    0xa840, 0xa877, 0xa880, 0xa8c5, 0xa8ce, 0xa8d9, 0xa8e0, 0xa953, 0xa95f, 0xa97c, 0xa980, 0xa9d9,
    0xa9de, 0xaa36, 0xaa40, 0xaa4d, 0xaa50, 0xaa59, 0xaa5c, 0xaac2, 0xaadb, 0xaaf6, 0xab01, 0xab06,
    0xab09, 0xab0e, 0xab11, 0xab16, 0xab20, 0xab6b, 0xab70, 0xabed, 0xabf0, 0xabf9, 0xac00, 0xd7a3,
    0xd7b0, 0xd7c6, 0xd7cb, 0xd7fb, 0xf900, 0xfa6d, 0xfa70, 0xfad9, 0xfb00, 0xfb06, 0xfb13, 0xfb17,
    0xfb1d, 0xfbc2, 0xfbd3, 0xfd8f, 0xfd92, 0xfdc7, 0xfdcf, 0xfdcf, 0xfdf0, 0xfe19, 0xfe20, 0xfe6b,
    0xfe70, 0xfefc, 0xff01, 0xffbe, 0xffc2, 0xffc7, 0xffca, 0xffcf, 0xffd2, 0xffd7, 0xffda, 0xffdc,
    0xffe0, 0xffee, 0xfffc, 0xfffd,
];

static IS_NOT_PRINT16: [u16; 133] = [
    0x00ad, 0x038b, 0x038d, 0x03a2, 0x0530, 0x0590, 0x061c, 0x06dd, 0x083f, 0x085f, 0x08e2, 0x0984,
    0x09a9, 0x09b1, 0x09de, 0x0a04, 0x0a29, 0x0a31, 0x0a34, 0x0a37, 0x0a3d, 0x0a5d, 0x0a84, 0x0a8e,
    0x0a92, 0x0aa9, 0x0ab1, 0x0ab4, 0x0ac6, 0x0aca, 0x0b00, 0x0b04, 0x0b29, 0x0b31, 0x0b34, 0x0b5e,
    0x0b84, 0x0b91, 0x0b9b, 0x0b9d, 0x0bc9, 0x0c0d, 0x0c11, 0x0c29, 0x0c45, 0x0c49, 0x0c57, 0x0c8d,
    0x0c91, 0x0ca9, 0x0cb4, 0x0cc5, 0x0cc9, 0x0cdf, 0x0cf0, 0x0d0d, 0x0d11, 0x0d45, 0x0d49, 0x0d80,
    0x0d84, 0x0db2, 0x0dbc, 0x0dd5, 0x0dd7, 0x0e83, 0x0e85, 0x0e8b, 0x0ea4, 0x0ea6, 0x0ec5, 0x0ec7,
    0x0ecf, 0x0f48, 0x0f98, 0x0fbd, 0x0fcd, 0x10c6, 0x1249, 0x1257, 0x1259, 0x1289, 0x12b1, 0x12bf,
    0x12c1, 0x12d7, 0x1311, 0x1680, 0x176d, 0x1771, 0x180e, 0x191f, 0x1a5f, 0x1b7f, 0x1f58, 0x1f5a,
    0x1f5c, 0x1f5e, 0x1fb5, 0x1fc5, 0x1fdc, 0x1ff5, 0x208f, 0x2b96, 0x2d26, 0x2da7, 0x2daf, 0x2db7,
    0x2dbf, 0x2dc7, 0x2dcf, 0x2dd7, 0x2ddf, 0x2e9a, 0x3040, 0x3130, 0x318f, 0x321f, 0xa7d2, 0xa7d4,
    0xa9ce, 0xa9ff, 0xab27, 0xab2f, 0xfb37, 0xfb3d, 0xfb3f, 0xfb42, 0xfb45, 0xfe53, 0xfe67, 0xfe75,
    0xffe7,
];

static IS_PRINT32: [u32; 508] = [
    0x010000, 0x01004d, 0x010050, 0x01005d, 0x010080, 0x0100fa, 0x010100, 0x010102, 0x010107,
    0x010133, 0x010137, 0x01019c, 0x0101a0, 0x0101a0, 0x0101d0, 0x0101fd, 0x010280, 0x01029c,
    0x0102a0, 0x0102d0, 0x0102e0, 0x0102fb, 0x010300, 0x010323, 0x01032d, 0x01034a, 0x010350,
    0x01037a, 0x010380, 0x0103c3, 0x0103c8, 0x0103d5, 0x010400, 0x01049d, 0x0104a0, 0x0104a9,
    0x0104b0, 0x0104d3, 0x0104d8, 0x0104fb, 0x010500, 0x010527, 0x010530, 0x010563, 0x01056f,
    0x0105bc, 0x010600, 0x010736, 0x010740, 0x010755, 0x010760, 0x010767, 0x010780, 0x0107ba,
    0x010800, 0x010805, 0x010808, 0x010838, 0x01083c, 0x01083c, 0x01083f, 0x01089e, 0x0108a7,
    0x0108af, 0x0108e0, 0x0108f5, 0x0108fb, 0x01091b, 0x01091f, 0x010939, 0x01093f, 0x01093f,
    0x010980, 0x0109b7, 0x0109bc, 0x0109cf, 0x0109d2, 0x010a06, 0x010a0c, 0x010a35, 0x010a38,
    0x010a3a, 0x010a3f, 0x010a48, 0x010a50, 0x010a58, 0x010a60, 0x010a9f, 0x010ac0, 0x010ae6,
    0x010aeb, 0x010af6, 0x010b00, 0x010b35, 0x010b39, 0x010b55, 0x010b58, 0x010b72, 0x010b78,
    0x010b91, 0x010b99, 0x010b9c, 0x010ba9, 0x010baf, 0x010c00, 0x010c48, 0x010c80, 0x010cb2,
    0x010cc0, 0x010cf2, 0x010cfa, 0x010d27, 0x010d30, 0x010d39, 0x010e60, 0x010ead, 0x010eb0,
    0x010eb1, 0x010efd, 0x010f27, 0x010f30, 0x010f59, 0x010f70, 0x010f89, 0x010fb0, 0x010fcb,
    0x010fe0, 0x010ff6, 0x011000, 0x01104d, 0x011052, 0x011075, 0x01107f, 0x0110c2, 0x0110d0,
    0x0110e8, 0x0110f0, 0x0110f9, 0x011100, 0x011147, 0x011150, 0x011176, 0x011180, 0x0111f4,
    0x011200, 0x011241, 0x011280, 0x0112a9, 0x0112b0, 0x0112ea, 0x0112f0, 0x0112f9, 0x011300,
    0x01130c, 0x01130f, 0x011310, 0x011313, 0x011344, 0x011347, 0x011348, 0x01134b, 0x01134d,
    0x011350, 0x011350, 0x011357, 0x011357, 0x01135d, 0x011363, 0x011366, 0x01136c, 0x011370,
    0x011374, 0x011400, 0x011461, 0x011480, 0x0114c7, 0x0114d0, 0x0114d9, 0x011580, 0x0115b5,
    0x0115b8, 0x0115dd, 0x011600, 0x011644, 0x011650, 0x011659, 0x011660, 0x01166c, 0x011680,
    0x0116b9, 0x0116c0, 0x0116c9, 0x011700, 0x01171a, 0x01171d, 0x01172b, 0x011730, 0x011746,
    0x011800, 0x01183b, 0x0118a0, 0x0118f2, 0x0118ff, 0x011906, 0x011909, 0x011909, 0x01190c,
    0x011938, 0x01193b, 0x011946, 0x011950, 0x011959, 0x0119a0, 0x0119a7, 0x0119aa, 0x0119d7,
    0x0119da, 0x0119e4, 0x011a00, 0x011a47, 0x011a50, 0x011aa2, 0x011ab0, 0x011af8, 0x011b00,
    0x011b09, 0x011c00, 0x011c45, 0x011c50, 0x011c6c, 0x011c70, 0x011c8f, 0x011c92, 0x011cb6,
    0x011d00, 0x011d36, 0x011d3a, 0x011d47, 0x011d50, 0x011d59, 0x011d60, 0x011d98, 0x011da0,
    0x011da9, 0x011ee0, 0x011ef8, 0x011f00, 0x011f3a, 0x011f3e, 0x011f59, 0x011fb0, 0x011fb0,
    0x011fc0, 0x011ff1, 0x011fff, 0x012399, 0x012400, 0x012474, 0x012480, 0x012543, 0x012f90,
    0x012ff2, 0x013000, 0x01342f, 0x013440, 0x013455, 0x014400, 0x014646, 0x016800, 0x016a38,
    0x016a40, 0x016a69, 0x016a6e, 0x016ac9, 0x016ad0, 0x016aed, 0x016af0, 0x016af5, 0x016b00,
    0x016b45, 0x016b50, 0x016b77, 0x016b7d, 0x016b8f, 0x016e40, 0x016e9a, 0x016f00, 0x016f4a,
    0x016f4f, 0x016f87, 0x016f8f, 0x016f9f, 0x016fe0, 0x016fe4, 0x016ff0, 0x016ff1, 0x017000,
    0x0187f7, 0x018800, 0x018cd5, 0x018d00, 0x018d08, 0x01aff0, 0x01b122, 0x01b132, 0x01b132,
    0x01b150, 0x01b152, 0x01b155, 0x01b155, 0x01b164, 0x01b167, 0x01b170, 0x01b2fb, 0x01bc00,
    0x01bc6a, 0x01bc70, 0x01bc7c, 0x01bc80, 0x01bc88, 0x01bc90, 0x01bc99, 0x01bc9c, 0x01bc9f,
    0x01cf00, 0x01cf2d, 0x01cf30, 0x01cf46, 0x01cf50, 0x01cfc3, 0x01d000, 0x01d0f5, 0x01d100,
    0x01d126, 0x01d129, 0x01d172, 0x01d17b, 0x01d1ea, 0x01d200, 0x01d245, 0x01d2c0, 0x01d2d3,
    0x01d2e0, 0x01d2f3, 0x01d300, 0x01d356, 0x01d360, 0x01d378, 0x01d400, 0x01d49f, 0x01d4a2,
    0x01d4a2, 0x01d4a5, 0x01d4a6, 0x01d4a9, 0x01d50a, 0x01d50d, 0x01d546, 0x01d54a, 0x01d6a5,
    0x01d6a8, 0x01d7cb, 0x01d7ce, 0x01da8b, 0x01da9b, 0x01daaf, 0x01df00, 0x01df1e, 0x01df25,
    0x01df2a, 0x01e000, 0x01e018, 0x01e01b, 0x01e02a, 0x01e030, 0x01e06d, 0x01e08f, 0x01e08f,
    0x01e100, 0x01e12c, 0x01e130, 0x01e13d, 0x01e140, 0x01e149, 0x01e14e, 0x01e14f, 0x01e290,
    0x01e2ae, 0x01e2c0, 0x01e2f9, 0x01e2ff, 0x01e2ff, 0x01e4d0, 0x01e4f9, 0x01e7e0, 0x01e8c4,
    0x01e8c7, 0x01e8d6, 0x01e900, 0x01e94b, 0x01e950, 0x01e959, 0x01e95e, 0x01e95f, 0x01ec71,
    0x01ecb4, 0x01ed01, 0x01ed3d, 0x01ee00, 0x01ee24, 0x01ee27, 0x01ee3b, 0x01ee42, 0x01ee42,
    0x01ee47, 0x01ee54, 0x01ee57, 0x01ee64, 0x01ee67, 0x01ee9b, 0x01eea1, 0x01eebb, 0x01eef0,
    0x01eef1, 0x01f000, 0x01f02b, 0x01f030, 0x01f093, 0x01f0a0, 0x01f0ae, 0x01f0b1, 0x01f0f5,
    0x01f100, 0x01f1ad, 0x01f1e6, 0x01f202, 0x01f210, 0x01f23b, 0x01f240, 0x01f248, 0x01f250,
    0x01f251, 0x01f260, 0x01f265, 0x01f300, 0x01f6d7, 0x01f6dc, 0x01f6ec, 0x01f6f0, 0x01f6fc,
    0x01f700, 0x01f776, 0x01f77b, 0x01f7d9, 0x01f7e0, 0x01f7eb, 0x01f7f0, 0x01f7f0, 0x01f800,
    0x01f80b, 0x01f810, 0x01f847, 0x01f850, 0x01f859, 0x01f860, 0x01f887, 0x01f890, 0x01f8ad,
    0x01f8b0, 0x01f8b1, 0x01f900, 0x01fa53, 0x01fa60, 0x01fa6d, 0x01fa70, 0x01fa7c, 0x01fa80,
    0x01fa88, 0x01fa90, 0x01fac5, 0x01face, 0x01fadb, 0x01fae0, 0x01fae8, 0x01faf0, 0x01faf8,
    0x01fb00, 0x01fbca, 0x01fbf0, 0x01fbf9, 0x020000, 0x02a6df, 0x02a700, 0x02b739, 0x02b740,
    0x02b81d, 0x02b820, 0x02cea1, 0x02ceb0, 0x02ebe0, 0x02f800, 0x02fa1d, 0x030000, 0x03134a,
    0x031350, 0x0323af, 0x0e0100, 0x0e01ef,
];

static IS_NOT_PRINT32: [u16; 112] = [
    0x000c, 0x0027, 0x003b, 0x003e, 0x018f, 0x039e, 0x057b, 0x058b, 0x0593, 0x0596, 0x05a2, 0x05b2,
    0x05ba, 0x0786, 0x07b1, 0x0809, 0x0836, 0x0856, 0x08f3, 0x0a04, 0x0a14, 0x0a18, 0x0e7f, 0x0eaa,
    0x10bd, 0x1135, 0x11e0, 0x1212, 0x1287, 0x1289, 0x128e, 0x129e, 0x1304, 0x1329, 0x1331, 0x1334,
    0x133a, 0x145c, 0x1914, 0x1917, 0x1936, 0x1c09, 0x1c37, 0x1ca8, 0x1d07, 0x1d0a, 0x1d3b, 0x1d3e,
    0x1d66, 0x1d69, 0x1d8f, 0x1d92, 0x1f11, 0x246f, 0x6a5f, 0x6abf, 0x6b5a, 0x6b62, 0xaff4, 0xaffc,
    0xafff, 0xd455, 0xd49d, 0xd4ad, 0xd4ba, 0xd4bc, 0xd4c4, 0xd506, 0xd515, 0xd51d, 0xd53a, 0xd53f,
    0xd545, 0xd551, 0xdaa0, 0xe007, 0xe022, 0xe025, 0xe7e7, 0xe7ec, 0xe7ef, 0xe7ff, 0xee04, 0xee20,
    0xee23, 0xee28, 0xee33, 0xee38, 0xee3a, 0xee48, 0xee4a, 0xee4c, 0xee50, 0xee53, 0xee58, 0xee5a,
    0xee5c, 0xee5e, 0xee60, 0xee63, 0xee6b, 0xee73, 0xee78, 0xee7d, 0xee7f, 0xee8a, 0xeea4, 0xeeaa,
    0xf0c0, 0xf0d0, 0xfabe, 0xfb93,
];

#[cfg(test)]
#[allow(clippy::approx_constant)] // Go's examples print 3.14159
mod tests {
    use super::*;
    use crate::value::{Arity, Func, FuncError, RecordType};
    use std::any::Any;

    // Expected strings below come from Go 1.23 (fmt.Sprintf, fmt.Sprint, strconv), with Go's
    // heap addresses replaced by ctmpl's fixed 0xc000010000.

    const N: Value = Value::Nil;

    fn b(x: bool) -> Value {
        Value::Bool(x)
    }
    fn i(x: i64) -> Value {
        Value::Int(x)
    }
    fn u(x: u64) -> Value {
        Value::Uint(x)
    }
    fn f(x: f64) -> Value {
        Value::Float(x)
    }
    fn s(x: &str) -> Value {
        Value::str(x)
    }
    fn l(items: Vec<Value>) -> Value {
        Value::list(items)
    }
    fn m(entries: Vec<(&str, Value)>) -> Value {
        Value::map(entries)
    }
    fn rec(name: &str, fields: &[&str], values: Vec<Value>) -> Value {
        Record::new(&RecordType::new(name, fields), values)
    }
    fn rep(v: Value, n: usize) -> Vec<Value> {
        vec![v; n]
    }
    fn hs() -> Value {
        let tags = l(vec![s("a"), s("b")]);
        rec(
            "dependency.HealthService",
            &["Name", "Port", "Tags"],
            vec![s("web"), i(80), tags],
        )
    }
    fn phs() -> Value {
        rec(
            "*dependency.HealthService",
            &["Name", "Port", "Tags"],
            vec![s("db"), i(5432), N],
        )
    }
    fn kv() -> Value {
        let fields = ["Key", "Value", "Index", "Svc"];
        rec("dependency.KV", &fields, vec![s("k"), f(1.5), u(7), phs()])
    }
    fn list() -> Value {
        let inner = l(vec![f(1.0), s("b")]);
        l(vec![
            s("a"),
            i(1),
            f(2.5),
            b(true),
            N,
            inner,
            m(vec![("k", s("v"))]),
        ])
    }
    fn mp() -> Value {
        let e = m(vec![("z", b(false))]);
        m(vec![
            ("a", s("x")),
            ("b", f(2.0)),
            ("c", l(vec![f(1.0)])),
            ("d", N),
            ("e", e),
        ])
    }

    /// Go's `dependency.ServiceTags`, a `[]string` with a type name of its own.
    #[derive(Debug)]
    struct Tags(Vec<Value>);

    impl Object for Tags {
        fn type_name(&self) -> &str {
            "dependency.ServiceTags"
        }
        fn underlying(&self) -> Value {
            Value::list(self.0.clone())
        }
        fn has_method(&self, _: &str) -> bool {
            false
        }
        fn call_method(&self, _: &str, _: &[Value]) -> Option<Result<Value, FuncError>> {
            None
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn tags() -> Value {
        Value::Object(Arc::new(Tags(vec![s("x"), s("y z")])))
    }

    /// A Go struct `dependency.Named{N}` whose `String` method returns `named:N`.
    #[derive(Debug)]
    struct Named(Value);

    impl Object for Named {
        fn type_name(&self) -> &str {
            "dependency.Named"
        }
        fn underlying(&self) -> Value {
            rec("dependency.Named", &["N"], vec![self.0.clone()])
        }
        fn has_method(&self, name: &str) -> bool {
            name == "String"
        }
        fn call_method(&self, name: &str, _: &[Value]) -> Option<Result<Value, FuncError>> {
            let n = self.0.as_str()?;
            (name == "String").then(|| Ok(Value::from(format!("named:{n}"))))
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn named(n: &str) -> Value {
        Value::Object(Arc::new(Named(s(n))))
    }

    fn func() -> Value {
        Value::Func(Func::pure(Arity::AtLeast(0), |_| Ok(Value::Nil)))
    }

    /// The text of a result that must be UTF-8.
    fn text(v: Value) -> String {
        v.as_str().expect("a UTF-8 result").to_string()
    }

    /// Collects every mismatch so that one run shows them all.
    #[derive(Default)]
    struct Check {
        fails: Vec<String>,
        count: usize,
    }

    impl Check {
        fn eq(&mut self, what: String, got: String, want: &str) {
            self.count += 1;
            if got != want {
                self.fails
                    .push(format!("{what}\n     got {got:?}\n    want {want:?}"));
            }
        }
        fn t(&mut self, format: &str, args: &[Value], want: &str) {
            self.eq(
                format!("sprintf({format:?}, {args:?})"),
                text(sprintf(format, args)),
                want,
            );
        }
        /// `sprintf` whose format or result may not be UTF-8.
        fn tb(&mut self, format: &[u8], args: &[Value], want: &[u8]) {
            let format = Value::from_bytes(format);
            let got = sprintf(format.as_go_str().unwrap(), args);
            self.eq(
                format!("sprintf({format:?}, {args:?})"),
                got.as_bytes().unwrap().escape_ascii().to_string(),
                &want.escape_ascii().to_string(),
            );
        }
        fn w(&mut self, v: Value, want: &str) {
            let mut out = String::from(">");
            write_value(&mut out, &v);
            self.eq(format!("write_value({v:?})"), out, &format!(">{want}"));
            self.eq(format!("to_go_string({v:?})"), v.to_go_string(), want);
        }
        fn tp(&mut self, args: &[Value], want: &str) {
            self.eq(format!("sprint({args:?})"), text(sprint(args)), want);
        }
        fn tpln(&mut self, args: &[Value], want: &str) {
            self.eq(format!("sprintln({args:?})"), text(sprintln(args)), want);
        }
        fn tff(&mut self, x: f64, fmt: u8, prec: i32, want: &str) {
            let what = format!("format_float({x:?}, {:?}, {prec})", fmt as char);
            self.eq(what, format_float(x, fmt, prec), want);
        }
        fn tq(&mut self, x: &str, want: &str) {
            self.eq(format!("quote({x:?})"), quote(x), want);
        }
        fn done(self) {
            assert!(
                self.fails.is_empty(),
                "{} of {} failed:\n{}",
                self.fails.len(),
                self.count,
                self.fails.join("\n")
            );
        }
    }

    /// Every verb on every kind, flags, widths, precisions, indexes and error forms.
    #[test]
    fn sprintf_matches_go() {
        let mut c = Check::default();
        c.t("%v", &[N], "<nil>");
        c.t("%+v", &[N], "<nil>");
        c.t("%#v", &[N], "<nil>");
        c.t("%T", &[N], "<nil>");
        c.t("%s", &[N], "%!s(<nil>)");
        c.t("%d", &[N], "%!d(<nil>)");
        c.t("%q", &[N], "%!q(<nil>)");
        c.t("%x", &[N], "%!x(<nil>)");
        c.t("%X", &[N], "%!X(<nil>)");
        c.t("%t", &[N], "%!t(<nil>)");
        c.t("%8v|%-8v|", &rep(N, 2), "   <nil>|<nil>   |");
        c.t("%v", &[b(true)], "true");
        c.t("%+v", &[b(true)], "true");
        c.t("%#v", &[b(true)], "true");
        c.t("%T", &[b(true)], "bool");
        c.t("%s", &[b(true)], "%!s(bool=true)");
        c.t("%d", &[b(true)], "%!d(bool=true)");
        c.t("%q", &[b(true)], "%!q(bool=true)");
        c.t("%x", &[b(true)], "%!x(bool=true)");
        c.t("%X", &[b(true)], "%!X(bool=true)");
        c.t("%t", &[b(true)], "true");
        c.t("%8v|%-8v|", &rep(b(true), 2), "    true|true    |");
        c.t("%v", &[b(false)], "false");
        c.t("%+v", &[b(false)], "false");
        c.t("%#v", &[b(false)], "false");
        c.t("%T", &[b(false)], "bool");
        c.t("%s", &[b(false)], "%!s(bool=false)");
        c.t("%d", &[b(false)], "%!d(bool=false)");
        c.t("%q", &[b(false)], "%!q(bool=false)");
        c.t("%x", &[b(false)], "%!x(bool=false)");
        c.t("%X", &[b(false)], "%!X(bool=false)");
        c.t("%t", &[b(false)], "false");
        c.t("%8v|%-8v|", &rep(b(false), 2), "   false|false   |");
        c.t("%v", &[i(0)], "0");
        c.t("%+v", &[i(0)], "0");
        c.t("%#v", &[i(0)], "0");
        c.t("%T", &[i(0)], "int");
        c.t("%s", &[i(0)], "%!s(int=0)");
        c.t("%d", &[i(0)], "0");
        c.t("%q", &[i(0)], "'\\x00'");
        c.t("%x", &[i(0)], "0");
        c.t("%X", &[i(0)], "0");
        c.t("%t", &[i(0)], "%!t(int=0)");
        c.t("%8v|%-8v|", &rep(i(0), 2), "       0|0       |");
        c.t("%v", &[i(42)], "42");
        c.t("%+v", &[i(42)], "42");
        c.t("%#v", &[i(42)], "42");
        c.t("%T", &[i(42)], "int");
        c.t("%s", &[i(42)], "%!s(int=42)");
        c.t("%d", &[i(42)], "42");
        c.t("%q", &[i(42)], "'*'");
        c.t("%x", &[i(42)], "2a");
        c.t("%X", &[i(42)], "2A");
        c.t("%t", &[i(42)], "%!t(int=42)");
        c.t("%8v|%-8v|", &rep(i(42), 2), "      42|42      |");
        c.t("%v", &[i(-7)], "-7");
        c.t("%+v", &[i(-7)], "-7");
        c.t("%#v", &[i(-7)], "-7");
        c.t("%T", &[i(-7)], "int");
        c.t("%s", &[i(-7)], "%!s(int=-7)");
        c.t("%d", &[i(-7)], "-7");
        c.t("%q", &[i(-7)], "'\u{fffd}'");
        c.t("%x", &[i(-7)], "-7");
        c.t("%X", &[i(-7)], "-7");
        c.t("%t", &[i(-7)], "%!t(int=-7)");
        c.t("%8v|%-8v|", &rep(i(-7), 2), "      -7|-7      |");
        c.t("%v", &[u(18446744073709551615)], "18446744073709551615");
        c.t("%+v", &[u(18446744073709551615)], "18446744073709551615");
        c.t("%#v", &[u(18446744073709551615)], "0xffffffffffffffff");
        c.t("%T", &[u(18446744073709551615)], "uint64");
        c.t(
            "%s",
            &[u(18446744073709551615)],
            "%!s(uint64=18446744073709551615)",
        );
        c.t("%d", &[u(18446744073709551615)], "18446744073709551615");
        c.t("%q", &[u(18446744073709551615)], "'\u{fffd}'");
        c.t("%x", &[u(18446744073709551615)], "ffffffffffffffff");
        c.t("%X", &[u(18446744073709551615)], "FFFFFFFFFFFFFFFF");
        c.t(
            "%t",
            &[u(18446744073709551615)],
            "%!t(uint64=18446744073709551615)",
        );
        c.t(
            "%8v|%-8v|",
            &rep(u(18446744073709551615), 2),
            "18446744073709551615|18446744073709551615|",
        );
        c.t("%v", &[u(42)], "42");
        c.t("%+v", &[u(42)], "42");
        c.t("%#v", &[u(42)], "0x2a");
        c.t("%T", &[u(42)], "uint64");
        c.t("%s", &[u(42)], "%!s(uint64=42)");
        c.t("%d", &[u(42)], "42");
        c.t("%q", &[u(42)], "'*'");
        c.t("%x", &[u(42)], "2a");
        c.t("%X", &[u(42)], "2A");
        c.t("%t", &[u(42)], "%!t(uint64=42)");
        c.t("%8v|%-8v|", &rep(u(42), 2), "      42|42      |");
        c.t("%v", &[f(0.0)], "0");
        c.t("%+v", &[f(0.0)], "0");
        c.t("%#v", &[f(0.0)], "0");
        c.t("%T", &[f(0.0)], "float64");
        c.t("%s", &[f(0.0)], "%!s(float64=0)");
        c.t("%d", &[f(0.0)], "%!d(float64=0)");
        c.t("%q", &[f(0.0)], "%!q(float64=0)");
        c.t("%x", &[f(0.0)], "0x0p+00");
        c.t("%X", &[f(0.0)], "0X0P+00");
        c.t("%t", &[f(0.0)], "%!t(float64=0)");
        c.t("%8v|%-8v|", &rep(f(0.0), 2), "       0|0       |");
        c.t("%v", &[f(1.0)], "1");
        c.t("%+v", &[f(1.0)], "1");
        c.t("%#v", &[f(1.0)], "1");
        c.t("%T", &[f(1.0)], "float64");
        c.t("%s", &[f(1.0)], "%!s(float64=1)");
        c.t("%d", &[f(1.0)], "%!d(float64=1)");
        c.t("%q", &[f(1.0)], "%!q(float64=1)");
        c.t("%x", &[f(1.0)], "0x1p+00");
        c.t("%X", &[f(1.0)], "0X1P+00");
        c.t("%t", &[f(1.0)], "%!t(float64=1)");
        c.t("%8v|%-8v|", &rep(f(1.0), 2), "       1|1       |");
        c.t("%v", &[f(0.0)], "0");
        c.t("%+v", &[f(0.0)], "0");
        c.t("%#v", &[f(0.0)], "0");
        c.t("%T", &[f(0.0)], "float64");
        c.t("%s", &[f(0.0)], "%!s(float64=0)");
        c.t("%d", &[f(0.0)], "%!d(float64=0)");
        c.t("%q", &[f(0.0)], "%!q(float64=0)");
        c.t("%x", &[f(0.0)], "0x0p+00");
        c.t("%X", &[f(0.0)], "0X0P+00");
        c.t("%t", &[f(0.0)], "%!t(float64=0)");
        c.t("%8v|%-8v|", &rep(f(0.0), 2), "       0|0       |");
        c.t("%v", &[f(3.25)], "3.25");
        c.t("%+v", &[f(3.25)], "3.25");
        c.t("%#v", &[f(3.25)], "3.25");
        c.t("%T", &[f(3.25)], "float64");
        c.t("%s", &[f(3.25)], "%!s(float64=3.25)");
        c.t("%d", &[f(3.25)], "%!d(float64=3.25)");
        c.t("%q", &[f(3.25)], "%!q(float64=3.25)");
        c.t("%x", &[f(3.25)], "0x1.ap+01");
        c.t("%X", &[f(3.25)], "0X1.AP+01");
        c.t("%t", &[f(3.25)], "%!t(float64=3.25)");
        c.t("%8v|%-8v|", &rep(f(3.25), 2), "    3.25|3.25    |");
        c.t("%v", &[s("")], "");
        c.t("%+v", &[s("")], "");
        c.t("%#v", &[s("")], "\"\"");
        c.t("%T", &[s("")], "string");
        c.t("%s", &[s("")], "");
        c.t("%d", &[s("")], "%!d(string=)");
        c.t("%q", &[s("")], "\"\"");
        c.t("%x", &[s("")], "");
        c.t("%X", &[s("")], "");
        c.t("%t", &[s("")], "%!t(string=)");
        c.t("%8v|%-8v|", &rep(s(""), 2), "        |        |");
        c.t("%v", &[s("hi")], "hi");
        c.t("%+v", &[s("hi")], "hi");
        c.t("%#v", &[s("hi")], "\"hi\"");
        c.t("%T", &[s("hi")], "string");
        c.t("%s", &[s("hi")], "hi");
        c.t("%d", &[s("hi")], "%!d(string=hi)");
        c.t("%q", &[s("hi")], "\"hi\"");
        c.t("%x", &[s("hi")], "6869");
        c.t("%X", &[s("hi")], "6869");
        c.t("%t", &[s("hi")], "%!t(string=hi)");
        c.t("%8v|%-8v|", &rep(s("hi"), 2), "      hi|hi      |");
        c.t("%v", &[s("a\u{9}b")], "a\u{9}b");
        c.t("%+v", &[s("a\u{9}b")], "a\u{9}b");
        c.t("%#v", &[s("a\u{9}b")], "\"a\\tb\"");
        c.t("%T", &[s("a\u{9}b")], "string");
        c.t("%s", &[s("a\u{9}b")], "a\u{9}b");
        c.t("%d", &[s("a\u{9}b")], "%!d(string=a\u{9}b)");
        c.t("%q", &[s("a\u{9}b")], "\"a\\tb\"");
        c.t("%x", &[s("a\u{9}b")], "610962");
        c.t("%X", &[s("a\u{9}b")], "610962");
        c.t("%t", &[s("a\u{9}b")], "%!t(string=a\u{9}b)");
        c.t(
            "%8v|%-8v|",
            &rep(s("a\u{9}b"), 2),
            "     a\u{9}b|a\u{9}b     |",
        );
        c.t("%v", &[list()], "[a 1 2.5 true <nil> [1 b] map[k:v]]");
        c.t("%+v", &[list()], "[a 1 2.5 true <nil> [1 b] map[k:v]]");
        c.t("%#v", &[list()], "[]interface {}{\"a\", 1, 2.5, true, interface {}(nil), []interface {}{1, \"b\"}, map[string]interface {}{\"k\":\"v\"}}");
        c.t("%T", &[list()], "[]interface {}");
        c.t(
            "%s",
            &[list()],
            "[a %!s(int=1) %!s(float64=2.5) %!s(bool=true) <nil> [%!s(float64=1) b] map[k:v]]",
        );
        c.t("%d", &[list()], "[%!d(string=a) 1 %!d(float64=2.5) %!d(bool=true) <nil> [%!d(float64=1) %!d(string=b)] map[%!d(string=k):%!d(string=v)]]");
        c.t("%q", &[list()], "[\"a\" '\\x01' %!q(float64=2.5) %!q(bool=true) <nil> [%!q(float64=1) \"b\"] map[\"k\":\"v\"]]");
        c.t(
            "%x",
            &[list()],
            "[61 1 0x1.4p+01 %!x(bool=true) <nil> [0x1p+00 62] map[6b:76]]",
        );
        c.t(
            "%X",
            &[list()],
            "[61 1 0X1.4P+01 %!X(bool=true) <nil> [0X1P+00 62] map[6B:76]]",
        );
        c.t("%t", &[list()], "[%!t(string=a) %!t(int=1) %!t(float64=2.5) true <nil> [%!t(float64=1) %!t(string=b)] map[%!t(string=k):%!t(string=v)]]");
        c.t("%8v|%-8v|", &rep(list(), 2), "[       a        1      2.5     true <nil> [       1        b] map[       k:       v]]|[a        1        2.5      true     <nil> [1        b       ] map[k       :v       ]]|");
        c.t("%v", &[mp()], "map[a:x b:2 c:[1] d:<nil> e:map[z:false]]");
        c.t("%+v", &[mp()], "map[a:x b:2 c:[1] d:<nil> e:map[z:false]]");
        c.t("%#v", &[mp()], "map[string]interface {}{\"a\":\"x\", \"b\":2, \"c\":[]interface {}{1}, \"d\":interface {}(nil), \"e\":map[string]interface {}{\"z\":false}}");
        c.t("%T", &[mp()], "map[string]interface {}");
        c.t(
            "%s",
            &[mp()],
            "map[a:x b:%!s(float64=2) c:[%!s(float64=1)] d:<nil> e:map[z:%!s(bool=false)]]",
        );
        c.t("%d", &[mp()], "map[%!d(string=a):%!d(string=x) %!d(string=b):%!d(float64=2) %!d(string=c):[%!d(float64=1)] %!d(string=d):<nil> %!d(string=e):map[%!d(string=z):%!d(bool=false)]]");
        c.t("%q", &[mp()], "map[\"a\":\"x\" \"b\":%!q(float64=2) \"c\":[%!q(float64=1)] \"d\":<nil> \"e\":map[\"z\":%!q(bool=false)]]");
        c.t(
            "%x",
            &[mp()],
            "map[61:78 62:0x1p+01 63:[0x1p+00] 64:<nil> 65:map[7a:%!x(bool=false)]]",
        );
        c.t(
            "%X",
            &[mp()],
            "map[61:78 62:0X1P+01 63:[0X1P+00] 64:<nil> 65:map[7A:%!X(bool=false)]]",
        );
        c.t("%t", &[mp()], "map[%!t(string=a):%!t(string=x) %!t(string=b):%!t(float64=2) %!t(string=c):[%!t(float64=1)] %!t(string=d):<nil> %!t(string=e):map[%!t(string=z):false]]");
        c.t("%8v|%-8v|", &rep(mp(), 2), "map[       a:       x        b:       2        c:[       1]        d:<nil>        e:map[       z:   false]]|map[a       :x        b       :2        c       :[1       ] d       :<nil> e       :map[z       :false   ]]|");
        c.t("%v", &[l(vec![])], "[]");
        c.t("%+v", &[l(vec![])], "[]");
        c.t("%#v", &[l(vec![])], "[]interface {}{}");
        c.t("%T", &[l(vec![])], "[]interface {}");
        c.t("%s", &[l(vec![])], "[]");
        c.t("%d", &[l(vec![])], "[]");
        c.t("%q", &[l(vec![])], "[]");
        c.t("%x", &[l(vec![])], "[]");
        c.t("%X", &[l(vec![])], "[]");
        c.t("%t", &[l(vec![])], "[]");
        c.t("%8v|%-8v|", &rep(l(vec![]), 2), "[]|[]|");
        c.t("%v", &[m(vec![])], "map[]");
        c.t("%+v", &[m(vec![])], "map[]");
        c.t("%#v", &[m(vec![])], "map[string]interface {}{}");
        c.t("%T", &[m(vec![])], "map[string]interface {}");
        c.t("%s", &[m(vec![])], "map[]");
        c.t("%d", &[m(vec![])], "map[]");
        c.t("%q", &[m(vec![])], "map[]");
        c.t("%x", &[m(vec![])], "map[]");
        c.t("%X", &[m(vec![])], "map[]");
        c.t("%t", &[m(vec![])], "map[]");
        c.t("%8v|%-8v|", &rep(m(vec![]), 2), "map[]|map[]|");
        c.t("%v", &[hs()], "{web 80 [a b]}");
        c.t("%+v", &[hs()], "{Name:web Port:80 Tags:[a b]}");
        c.t(
            "%#v",
            &[hs()],
            "dependency.HealthService{Name:\"web\", Port:80, Tags:[]interface {}{\"a\", \"b\"}}",
        );
        c.t("%T", &[hs()], "dependency.HealthService");
        c.t("%s", &[hs()], "{web %!s(int=80) [a b]}");
        c.t(
            "%d",
            &[hs()],
            "{%!d(string=web) 80 [%!d(string=a) %!d(string=b)]}",
        );
        c.t("%q", &[hs()], "{\"web\" 'P' [\"a\" \"b\"]}");
        c.t("%x", &[hs()], "{776562 50 [61 62]}");
        c.t("%X", &[hs()], "{776562 50 [61 62]}");
        c.t(
            "%t",
            &[hs()],
            "{%!t(string=web) %!t(int=80) [%!t(string=a) %!t(string=b)]}",
        );
        c.t(
            "%8v|%-8v|",
            &rep(hs(), 2),
            "{     web       80 [       a        b]}|{web      80       [a        b       ]}|",
        );
        c.t("%v", &[phs()], "&{db 5432 <nil>}");
        c.t("%+v", &[phs()], "&{Name:db Port:5432 Tags:<nil>}");
        c.t(
            "%#v",
            &[phs()],
            "&dependency.HealthService{Name:\"db\", Port:5432, Tags:interface {}(nil)}",
        );
        c.t("%T", &[phs()], "*dependency.HealthService");
        c.t("%s", &[phs()], "&{db %!s(int=5432) <nil>}");
        c.t("%d", &[phs()], "&{%!d(string=db) 5432 <nil>}");
        c.t("%q", &[phs()], "&{\"db\" '\u{1538}' <nil>}");
        c.t("%x", &[phs()], "&{6462 1538 <nil>}");
        c.t("%X", &[phs()], "&{6462 1538 <nil>}");
        c.t("%t", &[phs()], "&{%!t(string=db) %!t(int=5432) <nil>}");
        c.t(
            "%8v|%-8v|",
            &rep(phs(), 2),
            "&{      db     5432 <nil>}|&{db       5432     <nil>}|",
        );
        c.t("%v", &[kv()], "{k 1.5 7 0xc000010000}");
        c.t("%+v", &[kv()], "{Key:k Value:1.5 Index:7 Svc:0xc000010000}");
        c.t("%#v", &[kv()], "dependency.KV{Key:\"k\", Value:1.5, Index:0x7, Svc:(*dependency.HealthService)(0xc000010000)}");
        c.t("%T", &[kv()], "dependency.KV");
        c.t(
            "%s",
            &[kv()],
            "{k %!s(float64=1.5) %!s(uint64=7) %!s(*dependency.HealthService=&{db 5432 <nil>})}",
        );
        c.t(
            "%d",
            &[kv()],
            "{%!d(string=k) %!d(float64=1.5) 7 824633786368}",
        );
        c.t(
            "%q",
            &[kv()],
            "{\"k\" %!q(float64=1.5) '\\a' %!q(*dependency.HealthService=&{db 5432 <nil>})}",
        );
        c.t("%x", &[kv()], "{6b 0x1.8p+00 7 c000010000}");
        c.t("%X", &[kv()], "{6B 0X1.8P+00 7 C000010000}");
        c.t("%t", &[kv()], "{%!t(string=k) %!t(float64=1.5) %!t(uint64=7) %!t(*dependency.HealthService=&{db 5432 <nil>})}");
        c.t(
            "%8v|%-8v|",
            &rep(kv(), 2),
            "{       k      1.5        7 0xc000010000}|{k        1.5      7        0xc000010000}|",
        );
        c.t("%v", &[tags()], "[x y z]");
        c.t("%+v", &[tags()], "[x y z]");
        c.t("%#v", &[tags()], "dependency.ServiceTags{\"x\", \"y z\"}");
        c.t("%T", &[tags()], "dependency.ServiceTags");
        c.t("%s", &[tags()], "[x y z]");
        c.t("%d", &[tags()], "[%!d(string=x) %!d(string=y z)]");
        c.t("%q", &[tags()], "[\"x\" \"y z\"]");
        c.t("%x", &[tags()], "[78 79207a]");
        c.t("%X", &[tags()], "[78 79207A]");
        c.t("%t", &[tags()], "[%!t(string=x) %!t(string=y z)]");
        c.t(
            "%8v|%-8v|",
            &rep(tags(), 2),
            "[       x      y z]|[x        y z     ]|",
        );
        c.t("%v", &[f(f64::INFINITY)], "+Inf");
        c.t("%+v", &[f(f64::INFINITY)], "+Inf");
        c.t("%#v", &[f(f64::INFINITY)], "+Inf");
        c.t("%T", &[f(f64::INFINITY)], "float64");
        c.t("%s", &[f(f64::INFINITY)], "%!s(float64=+Inf)");
        c.t("%d", &[f(f64::INFINITY)], "%!d(float64=+Inf)");
        c.t("%q", &[f(f64::INFINITY)], "%!q(float64=+Inf)");
        c.t("%x", &[f(f64::INFINITY)], "+Inf");
        c.t("%X", &[f(f64::INFINITY)], "+Inf");
        c.t("%t", &[f(f64::INFINITY)], "%!t(float64=+Inf)");
        c.t("%8v|%-8v|", &rep(f(f64::INFINITY), 2), "    +Inf|+Inf    |");
        c.t("%v", &[f(f64::NAN)], "NaN");
        c.t("%+v", &[f(f64::NAN)], "NaN");
        c.t("%#v", &[f(f64::NAN)], "NaN");
        c.t("%T", &[f(f64::NAN)], "float64");
        c.t("%s", &[f(f64::NAN)], "%!s(float64=NaN)");
        c.t("%d", &[f(f64::NAN)], "%!d(float64=NaN)");
        c.t("%q", &[f(f64::NAN)], "%!q(float64=NaN)");
        c.t("%x", &[f(f64::NAN)], "NaN");
        c.t("%X", &[f(f64::NAN)], "NaN");
        c.t("%t", &[f(f64::NAN)], "%!t(float64=NaN)");
        c.t("%8v|%-8v|", &rep(f(f64::NAN), 2), "     NaN|NaN     |");
        c.t("%v|%s|%q|%x|%X|%d|%#v|%+v|%T|%10v|%-10s|", &rep(named("n"), 11), "named:n|named:n|\"named:n\"|6e616d65643a6e|6E616D65643A6E|{%!d(string=n)}|dependency.Named{N:\"n\"}|named:n|dependency.Named|   named:n|named:n   |");
        c.t(
            "%v %d %#v",
            &[
                l(vec![named("n"), i(1)]),
                l(vec![named("n")]),
                l(vec![named("n")]),
            ],
            "[named:n 1] [{%!d(string=n)}] []interface {}{dependency.Named{N:\"n\"}}",
        );
        c.t(
            "%v %s",
            &[
                m(vec![("k", named("n"))]),
                rec(
                    "dependency.HealthService",
                    &["Name", "Port", "Tags"],
                    vec![s("x"), i(0), named("n")],
                ),
            ],
            "map[k:named:n] {x %!s(int=0) named:n}",
        );
        c.t("%v|%#v|%T|%s|%d|%x|%p|%#p|%12v|%-12p|", &rep(func(), 10), "0x4a5b60|(func(...interface {}) (interface {}, error))(0x4a5b60)|func(...interface {}) (interface {}, error)|%!s(func(...interface {}) (interface {}, error)=0x4a5b60)|4873056|4a5b60|0x4a5b60|4a5b60|    0x4a5b60|0x4a5b60    |");
        c.t("%v|%#v|%+v", &[l(vec![func()]), l(vec![func()]), m(vec![("f", func())])], "[0x4a5b60]|[]interface {}{(func(...interface {}) (interface {}, error))(0x4a5b60)}|map[f:0x4a5b60]");
        c.t("%w|%w|%#w|%w|%w", &[N, i(1), s("a"), l(vec![i(1), N]), m(vec![("a", i(1))])], "%!w(<nil>)|%!w(int=1)|%!w(string=\"a\")|%!w([]interface {}=[1 <nil>])|%!w(map[string]interface {}=map[a:1])");
        c.t(
            "%v",
            &[l(vec![l(vec![s("x")]), m(vec![("y", l(vec![]))])])],
            "[[x] map[y:[]]]",
        );
        c.t(
            "%t %v %5t|%-6t|",
            &[b(true), b(false), b(true), b(false)],
            "true false  true|false |",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(0), 11),
            "0|+0| 0|    0|0    |00000|000|     000|0       |+0000| 0000",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(0), 11),
            "0|0|0o0|0|0|0b0|0|0x0|0X0|0x00000000|00000000",
        );
        c.t(
            "%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|",
            &rep(i(0), 9),
            "\u{0}|'\\x00'|'\\x00'|'\\x00'|U+0000|U+0000|U+000000|  U+0000|\u{0}       |",
        );
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(0), 5),
            "%!e(int=0)|%!f(int=0)|%!g(int=0)|%!s(int=0)|%!p(int=0)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(1), 11),
            "1|+1| 1|    1|1    |00001|001|     001|1       |+0001| 0001",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(1), 11),
            "1|1|0o1|1|1|0b1|01|0x1|0X1|0x00000001|00000001",
        );
        c.t(
            "%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|",
            &rep(i(1), 9),
            "\u{1}|'\\x01'|'\\x01'|'\\x01'|U+0001|U+0001|U+000001|  U+0001|\u{1}       |",
        );
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(1), 5),
            "%!e(int=1)|%!f(int=1)|%!g(int=1)|%!s(int=1)|%!p(int=1)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(-1), 11),
            "-1|-1|-1|   -1|-1   |-0001|-001|    -001|-1      |-0001|-0001",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(-1), 11),
            "-1|-1|-0o1|-1|-1|-0b1|-01|-0x1|-0X1|-0x0000001|-0000001",
        );
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(-1), 9), "\u{fffd}|'\u{fffd}'|'\\ufffd'|'\u{fffd}'|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|\u{fffd}       |");
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(-1), 5),
            "%!e(int=-1)|%!f(int=-1)|%!g(int=-1)|%!s(int=-1)|%!p(int=-1)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(42), 11),
            "42|+42| 42|   42|42   |00042|042|     042|42      |+0042| 0042",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(42), 11),
            "101010|52|0o52|2a|2A|0b101010|052|0x2a|0X2A|0x0000002a|0000002a",
        );
        c.t(
            "%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|",
            &rep(i(42), 9),
            "*|'*'|'*'|'*'|U+002A|U+002A '*'|U+00002A|  U+002A|*       |",
        );
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(42), 5),
            "%!e(int=42)|%!f(int=42)|%!g(int=42)|%!s(int=42)|%!p(int=42)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(-42), 11),
            "-42|-42|-42|  -42|-42  |-0042|-042|    -042|-42     |-0042|-0042",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(-42), 11),
            "-101010|-52|-0o52|-2a|-2A|-0b101010|-052|-0x2a|-0X2A|-0x000002a|-000002a",
        );
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(-42), 9), "\u{fffd}|'\u{fffd}'|'\\ufffd'|'\u{fffd}'|U+FFFFFFFFFFFFFFD6|U+FFFFFFFFFFFFFFD6|U+FFFFFFFFFFFFFFD6|U+FFFFFFFFFFFFFFD6|\u{fffd}       |");
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(-42), 5),
            "%!e(int=-42)|%!f(int=-42)|%!g(int=-42)|%!s(int=-42)|%!p(int=-42)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(255), 11),
            "255|+255| 255|  255|255  |00255|255|     255|255     |+0255| 0255",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(255), 11),
            "11111111|377|0o377|ff|FF|0b11111111|0377|0xff|0XFF|0x000000ff|000000ff",
        );
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(255), 9), "\u{ff}|'\u{ff}'|'\\u00ff'|'\u{ff}'|U+00FF|U+00FF '\u{ff}'|U+0000FF|  U+00FF|\u{ff}       |");
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(255), 5),
            "%!e(int=255)|%!f(int=255)|%!g(int=255)|%!s(int=255)|%!p(int=255)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(65), 11),
            "65|+65| 65|   65|65   |00065|065|     065|65      |+0065| 0065",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(i(65), 11),
            "1000001|101|0o101|41|41|0b1000001|0101|0x41|0X41|0x00000041|00000041",
        );
        c.t(
            "%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|",
            &rep(i(65), 9),
            "A|'A'|'A'|'A'|U+0041|U+0041 'A'|U+000041|  U+0041|A       |",
        );
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(65), 5),
            "%!e(int=65)|%!f(int=65)|%!g(int=65)|%!s(int=65)|%!p(int=65)",
        );
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(i(128512), 11),
            "128512|+128512| 128512|128512|128512|128512|128512|  128512|128512  |+128512| 128512",
        );
        c.t("%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x", &rep(i(128512), 11), "11111011000000000|373000|0o373000|1f600|1F600|0b11111011000000000|0373000|0x1f600|0X1F600|0x0001f600|0001f600");
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(128512), 9), "\u{1f600}|'\u{1f600}'|'\\U0001f600'|'\u{1f600}'|U+1F600|U+1F600 '\u{1f600}'|U+01F600| U+1F600|\u{1f600}       |");
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(i(128512), 5),
            "%!e(int=128512)|%!f(int=128512)|%!g(int=128512)|%!s(int=128512)|%!p(int=128512)",
        );
        c.t("%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d", &rep(i(9223372036854775807), 11), "9223372036854775807|+9223372036854775807| 9223372036854775807|9223372036854775807|9223372036854775807|9223372036854775807|9223372036854775807|9223372036854775807|9223372036854775807|+9223372036854775807| 9223372036854775807");
        c.t("%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x", &rep(i(9223372036854775807), 11), "111111111111111111111111111111111111111111111111111111111111111|777777777777777777777|0o777777777777777777777|7fffffffffffffff|7FFFFFFFFFFFFFFF|0b111111111111111111111111111111111111111111111111111111111111111|0777777777777777777777|0x7fffffffffffffff|0X7FFFFFFFFFFFFFFF|0x7fffffffffffffff|7fffffffffffffff");
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(9223372036854775807), 9), "\u{fffd}|'\u{fffd}'|'\\ufffd'|'\u{fffd}'|U+7FFFFFFFFFFFFFFF|U+7FFFFFFFFFFFFFFF|U+7FFFFFFFFFFFFFFF|U+7FFFFFFFFFFFFFFF|\u{fffd}       |");
        c.t("%e|%f|%g|%s|%p", &rep(i(9223372036854775807), 5), "%!e(int=9223372036854775807)|%!f(int=9223372036854775807)|%!g(int=9223372036854775807)|%!s(int=9223372036854775807)|%!p(int=9223372036854775807)");
        c.t("%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d", &rep(i(-9223372036854775808), 11), "-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808|-9223372036854775808");
        c.t("%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x", &rep(i(-9223372036854775808), 11), "-1000000000000000000000000000000000000000000000000000000000000000|-1000000000000000000000|-0o1000000000000000000000|-8000000000000000|-8000000000000000|-0b1000000000000000000000000000000000000000000000000000000000000000|-01000000000000000000000|-0x8000000000000000|-0X8000000000000000|-0x8000000000000000|-8000000000000000");
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(i(-9223372036854775808), 9), "\u{fffd}|'\u{fffd}'|'\\ufffd'|'\u{fffd}'|U+8000000000000000|U+8000000000000000|U+8000000000000000|U+8000000000000000|\u{fffd}       |");
        c.t("%e|%f|%g|%s|%p", &rep(i(-9223372036854775808), 5), "%!e(int=-9223372036854775808)|%!f(int=-9223372036854775808)|%!g(int=-9223372036854775808)|%!s(int=-9223372036854775808)|%!p(int=-9223372036854775808)");
        c.t(
            "%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d",
            &rep(u(255), 11),
            "255|+255| 255|  255|255  |00255|255|     255|255     |+0255| 0255",
        );
        c.t(
            "%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x",
            &rep(u(255), 11),
            "11111111|377|0o377|ff|FF|0b11111111|0377|0xff|0XFF|0x000000ff|000000ff",
        );
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(u(255), 9), "\u{ff}|'\u{ff}'|'\\u00ff'|'\u{ff}'|U+00FF|U+00FF '\u{ff}'|U+0000FF|  U+00FF|\u{ff}       |");
        c.t(
            "%e|%f|%g|%s|%p",
            &rep(u(255), 5),
            "%!e(uint64=255)|%!f(uint64=255)|%!g(uint64=255)|%!s(uint64=255)|%!p(uint64=255)",
        );
        c.t("%d|%+d|% d|%5d|%-5d|%05d|%.3d|%8.3d|%-08d|%+05d|% 05d", &rep(u(18446744073709551615), 11), "18446744073709551615|+18446744073709551615| 18446744073709551615|18446744073709551615|18446744073709551615|18446744073709551615|18446744073709551615|18446744073709551615|18446744073709551615|+18446744073709551615| 18446744073709551615");
        c.t("%b|%o|%O|%x|%X|%#b|%#o|%#x|%#X|%#08x|%08x", &rep(u(18446744073709551615), 11), "1111111111111111111111111111111111111111111111111111111111111111|1777777777777777777777|0o1777777777777777777777|ffffffffffffffff|FFFFFFFFFFFFFFFF|0b1111111111111111111111111111111111111111111111111111111111111111|01777777777777777777777|0xffffffffffffffff|0XFFFFFFFFFFFFFFFF|0xffffffffffffffff|ffffffffffffffff");
        c.t("%c|%q|%+q|%#q|%U|%#U|%.6U|%8U|%-8c|", &rep(u(18446744073709551615), 9), "\u{fffd}|'\u{fffd}'|'\\ufffd'|'\u{fffd}'|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|U+FFFFFFFFFFFFFFFF|\u{fffd}       |");
        c.t("%e|%f|%g|%s|%p", &rep(u(18446744073709551615), 5), "%!e(uint64=18446744073709551615)|%!f(uint64=18446744073709551615)|%!g(uint64=18446744073709551615)|%!s(uint64=18446744073709551615)|%!p(uint64=18446744073709551615)");
        c.t("%.0d|%5.0d|%-5.0d|%.0x", &rep(i(0), 4), "|     |     |");
        c.t(
            "%c %c %c %c",
            &[i(55296), i(1114112), i(-1), i(233)],
            "\u{fffd} \u{fffd} \u{fffd} \u{e9}",
        );
        c.t(
            "%q %q %q %q %q %q",
            &[i(7), i(39), i(34), i(127), i(55296), i(1114111)],
            "'\\a' '\\'' '\"' '\\x7f' '\u{fffd}' '\\U0010ffff'",
        );
        c.t(
            "%+q %#q %#+q %q %#U",
            &[i(233), i(233), i(9786), i(57344), i(173)],
            "'\\u00e9' '\u{e9}' '\\u263a' '\\ue000' U+00AD",
        );
        c.t("%x % x %#x", &rep(i(-255), 3), "-ff -ff -0xff");
        c.t(
            "%v|%e|%E|%f|%F|%g|%G|%b|%x|%X",
            &rep(f(0.0), 10),
            "0|0.000000e+00|0.000000E+00|0.000000|0.000000|0|0|0p-1074|0x0p+00|0X0P+00",
        );
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.0), 9),
            "0.00|0|0.000e+00|0|0|0e+00|0|0x0.0p+00|0.00000000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.0), 13), "0| 0|    0.00|0.000e+00 |0000000.00|+000000.00| 000000.00|0.00000|0|0.00|0.000000e+00|0.|0x0.0000p+00");
        c.t(
            "%v|%e|%E|%f|%F|%g|%G|%b|%x|%X",
            &rep(f(0.0), 10),
            "0|0.000000e+00|0.000000E+00|0.000000|0.000000|0|0|0p-1074|0x0p+00|0X0P+00",
        );
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.0), 9),
            "0.00|0|0.000e+00|0|0|0e+00|0|0x0.0p+00|0.00000000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.0), 13), "0| 0|    0.00|0.000e+00 |0000000.00|+000000.00| 000000.00|0.00000|0|0.00|0.000000e+00|0.|0x0.0000p+00");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1.0), 10), "1|1.000000e+00|1.000000E+00|1.000000|1.000000|1|1|4503599627370496p-52|0x1p+00|0X1P+00");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(1.0), 9),
            "1.00|1|1.000e+00|1|1|1e+00|1|0x1.0p+00|1.00000000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1.0), 13), "1| 1|    1.00|1.000e+00 |0000001.00|+000001.00| 000001.00|1.00000|1|1.00|1.000000e+00|1.|0x1.0000p+00");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(-1.0), 10), "-1|-1.000000e+00|-1.000000E+00|-1.000000|-1.000000|-1|-1|-4503599627370496p-52|-0x1p+00|-0X1P+00");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(-1.0), 9),
            "-1.00|-1|-1.000e+00|-1|-1|-1e+00|-1|-0x1.0p+00|-1.00000000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(-1.0), 13), "-1|-1|   -1.00|-1.000e+00|-000001.00|-000001.00|-000001.00|-1.00000|-1|-1.00|-1.000000e+00|-1.|-0x1.0000p+00");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(3.14159), 10), "3.14159|3.141590e+00|3.141590E+00|3.141590|3.141590|3.14159|3.14159|7074231776675438p-51|0x1.921f9f01b866ep+01|0X1.921F9F01B866EP+01");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(3.14159), 9),
            "3.14|3|3.142e+00|3.14|3.14159|3e+00|3|0x1.9p+01|3.14158999999999988262",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(3.14159), 13), "3.14159| 3.14159|    3.14|3.142e+00 |0000003.14|+000003.14| 000003.14|3.14159|3.14159|3.14|3.141590e+00|3.|0x1.921f9f01b866ep+01");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(123456.0), 10), "123456|1.234560e+05|1.234560E+05|123456.000000|123456.000000|123456|123456|8483831719919616p-36|0x1.e24p+16|0X1.E24P+16");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(123456.0), 9), "123456.00|123456|1.235e+05|1.23e+05|123456|1e+05|1e+05|0x1.ep+16|123456.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(123456.0), 13), "123456| 123456|123456.00|1.235e+05 |0123456.00|+123456.00| 123456.00|123456.|123456|1.23e+05|1.234560e+05|123456.|0x1.e240p+16");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1.234567e+06), 10), "1.234567e+06|1.234567e+06|1.234567E+06|1234567.000000|1234567.000000|1.234567e+06|1.234567E+06|5302424889720832p-32|0x1.2d687p+20|0X1.2D687P+20");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1.234567e+06), 9), "1234567.00|1234567|1.235e+06|1.23e+06|1234567|1e+06|1e+06|0x1.3p+20|1234567.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1.234567e+06), 13), "1.234567e+06| 1.234567e+06|1234567.00|1.235e+06 |1234567.00|+1234567.00| 1234567.00|1.234567e+06|1.234567e+06|1.23e+06|1.234567e+06|1234567.|0x1.2d687p+20");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e+08), 10), "1e+08|1.000000e+08|1.000000E+08|100000000.000000|100000000.000000|1e+08|1E+08|6710886400000000p-26|0x1.7d784p+26|0X1.7D784P+26");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1e+08), 9), "100000000.00|100000000|1.000e+08|1e+08|100000000|1e+08|1e+08|0x1.8p+26|100000000.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e+08), 13), "1e+08| 1e+08|100000000.00|1.000e+08 |100000000.00|+100000000.00| 100000000.00|1.00000e+08|1e+08|1.00e+08|1.000000e+08|100000000.|0x1.7d784p+26");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1.23456789e+08), 10), "1.23456789e+08|1.234568e+08|1.234568E+08|123456789.000000|123456789.000000|1.23456789e+08|1.23456789E+08|8285044862877696p-26|0x1.d6f3454p+26|0X1.D6F3454P+26");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1.23456789e+08), 9), "123456789.00|123456789|1.235e+08|1.23e+08|123456789|1e+08|1e+08|0x1.dp+26|123456789.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1.23456789e+08), 13), "1.23456789e+08| 1.23456789e+08|123456789.00|1.235e+08 |123456789.00|+123456789.00| 123456789.00|1.23456789e+08|1.23456789e+08|1.23e+08|1.234568e+08|123456789.|0x1.d6f3454p+26");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e+20), 10), "1e+20|1.000000e+20|1.000000E+20|100000000000000000000.000000|100000000000000000000.000000|1e+20|1E+20|6103515625000000p+14|0x1.5af1d78b58c4p+66|0X1.5AF1D78B58C4P+66");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1e+20), 9), "100000000000000000000.00|100000000000000000000|1.000e+20|1e+20|1e+20|1e+20|1e+20|0x1.6p+66|100000000000000000000.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e+20), 13), "1e+20| 1e+20|100000000000000000000.00|1.000e+20 |100000000000000000000.00|+100000000000000000000.00| 100000000000000000000.00|1.00000e+20|1e+20|1.00e+20|1.000000e+20|100000000000000000000.|0x1.5af1d78b58c4p+66");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e+21), 10), "1e+21|1.000000e+21|1.000000E+21|1000000000000000000000.000000|1000000000000000000000.000000|1e+21|1E+21|7629394531250000p+17|0x1.b1ae4d6e2ef5p+69|0X1.B1AE4D6E2EF5P+69");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1e+21), 9), "1000000000000000000000.00|1000000000000000000000|1.000e+21|1e+21|1e+21|1e+21|1e+21|0x1.bp+69|1000000000000000000000.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e+21), 13), "1e+21| 1e+21|1000000000000000000000.00|1.000e+21 |1000000000000000000000.00|+1000000000000000000000.00| 1000000000000000000000.00|1.00000e+21|1e+21|1.00e+21|1.000000e+21|1000000000000000000000.|0x1.b1ae4d6e2ef5p+69");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(0.0001), 10), "0.0001|1.000000e-04|1.000000E-04|0.000100|0.000100|0.0001|0.0001|7378697629483821p-66|0x1.a36e2eb1c432dp-14|0X1.A36E2EB1C432DP-14");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.0001), 9),
            "0.00|0|1.000e-04|0.0001|0.0001|1e-04|0.0001|0x1.ap-14|0.00010000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.0001), 13), "0.0001| 0.0001|    0.00|1.000e-04 |0000000.00|+000000.00| 000000.00|0.000100000|0.0001|0.000100|1.000000e-04|0.|0x1.a36e2eb1c432dp-14");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e-05), 10), "1e-05|1.000000e-05|1.000000E-05|0.000010|0.000010|1e-05|1E-05|5902958103587057p-69|0x1.4f8b588e368f1p-17|0X1.4F8B588E368F1P-17");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(1e-05), 9),
            "0.00|0|1.000e-05|1e-05|1e-05|1e-05|1e-05|0x1.5p-17|0.00001000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e-05), 13), "1e-05| 1e-05|    0.00|1.000e-05 |0000000.00|+000000.00| 000000.00|1.00000e-05|1e-05|1.00e-05|1.000000e-05|0.|0x1.4f8b588e368f1p-17");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e-07), 10), "1e-07|1.000000e-07|1.000000E-07|0.000000|0.000000|1e-07|1E-07|7555786372591432p-76|0x1.ad7f29abcaf48p-24|0X1.AD7F29ABCAF48P-24");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(1e-07), 9),
            "0.00|0|1.000e-07|1e-07|1e-07|1e-07|1e-07|0x1.bp-24|0.00000010000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e-07), 13), "1e-07| 1e-07|    0.00|1.000e-07 |0000000.00|+000000.00| 000000.00|1.00000e-07|1e-07|1.00e-07|1.000000e-07|0.|0x1.ad7f29abcaf48p-24");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(5e-324), 10), "5e-324|4.940656e-324|4.940656E-324|0.000000|0.000000|5e-324|5E-324|1p-1074|0x1p-1074|0X1P-1074");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(5e-324), 9), "0.00|0|4.941e-324|4.94e-324|4.940656458e-324|5e-324|5e-324|0x1.0p-1074|0.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(5e-324), 13), "5e-324| 5e-324|    0.00|4.941e-324|0000000.00|+000000.00| 000000.00|5.00000e-324|5e-324|4.94e-324|4.940656e-324|0.|0x1.0000p-1074");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1.7976931348623157e+308), 10), "1.7976931348623157e+308|1.797693e+308|1.797693E+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000|1.7976931348623157e+308|1.7976931348623157E+308|9007199254740991p+971|0x1.fffffffffffffp+1023|0X1.FFFFFFFFFFFFFP+1023");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1.7976931348623157e+308), 9), "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368|1.798e+308|1.8e+308|1.797693135e+308|2e+308|2e+308|0x1.0p+1024|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1.7976931348623157e+308), 13), "1.7976931348623157e+308| 1.7976931348623157e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|1.798e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|+179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00| 179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|1.7976931348623157e+308|1.7976931348623157e+308|1.80e+308|1.797693e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.|0x1.fffffffffffffp+1023");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(0.1), 10), "0.1|1.000000e-01|1.000000E-01|0.100000|0.100000|0.1|0.1|7205759403792794p-56|0x1.999999999999ap-04|0X1.999999999999AP-04");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.1), 9),
            "0.10|0|1.000e-01|0.1|0.1|1e-01|0.1|0x1.ap-04|0.10000000000000000555",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.1), 13), "0.1| 0.1|    0.10|1.000e-01 |0000000.10|+000000.10| 000000.10|0.100000|0.1|0.100|1.000000e-01|0.|0x1.999999999999ap-04");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(2.5), 10), "2.5|2.500000e+00|2.500000E+00|2.500000|2.500000|2.5|2.5|5629499534213120p-51|0x1.4p+01|0X1.4P+01");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(2.5), 9),
            "2.50|2|2.500e+00|2.5|2.5|2e+00|2|0x1.4p+01|2.50000000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(2.5), 13), "2.5| 2.5|    2.50|2.500e+00 |0000002.50|+000002.50| 000002.50|2.50000|2.5|2.50|2.500000e+00|2.|0x1.4000p+01");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(0.125), 10), "0.125|1.250000e-01|1.250000E-01|0.125000|0.125000|0.125|0.125|4503599627370496p-55|0x1p-03|0X1P-03");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.125), 9),
            "0.12|0|1.250e-01|0.125|0.125|1e-01|0.1|0x1.0p-03|0.12500000000000000000",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.125), 13), "0.125| 0.125|    0.12|1.250e-01 |0000000.12|+000000.12| 000000.12|0.125000|0.125|0.125|1.250000e-01|0.|0x1.0000p-03");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1.5e+300), 10), "1.5e+300|1.500000e+300|1.500000E+300|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.000000|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.000000|1.5e+300|1.5E+300|5043654821435445p+945|0x1.1eb2d66005835p+997|0X1.1EB2D66005835P+997");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1.5e+300), 9), "1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240|1.500e+300|1.5e+300|1.5e+300|2e+300|2e+300|0x1.2p+997|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1.5e+300), 13), "1.5e+300| 1.5e+300|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00|1.500e+300|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00|+1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00| 1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.00|1.50000e+300|1.5e+300|1.50e+300|1.500000e+300|1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.|0x1.1eb2d66005835p+997");
        c.t(
            "%v|%e|%E|%f|%F|%g|%G|%b|%x|%X",
            &rep(f(f64::INFINITY), 10),
            "+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf",
        );
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(f64::INFINITY), 9),
            "+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(f64::INFINITY), 13), "+Inf| Inf|    +Inf|+Inf      |      +Inf|      +Inf|       Inf|+Inf|+Inf|+Inf|+Inf|+Inf|+Inf");
        c.t(
            "%v|%e|%E|%f|%F|%g|%G|%b|%x|%X",
            &rep(f(f64::NEG_INFINITY), 10),
            "-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf",
        );
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(f64::NEG_INFINITY), 9),
            "-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(f64::NEG_INFINITY), 13), "-Inf|-Inf|    -Inf|-Inf      |      -Inf|      -Inf|      -Inf|-Inf|-Inf|-Inf|-Inf|-Inf|-Inf");
        c.t(
            "%v|%e|%E|%f|%F|%g|%G|%b|%x|%X",
            &rep(f(f64::NAN), 10),
            "NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN",
        );
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(f64::NAN), 9),
            "NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN",
        );
        c.t(
            "%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x",
            &rep(f(f64::NAN), 13),
            "NaN| NaN|     NaN|NaN       |       NaN|      +NaN|       NaN|NaN|NaN|NaN|NaN|NaN|NaN",
        );
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(0.6666666666666666), 10), "0.6666666666666666|6.666667e-01|6.666667E-01|0.666667|0.666667|0.6666666666666666|0.6666666666666666|6004799503160661p-53|0x1.5555555555555p-01|0X1.5555555555555P-01");
        c.t(
            "%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f",
            &rep(f(0.6666666666666666), 9),
            "0.67|1|6.667e-01|0.667|0.6666666667|7e-01|0.7|0x1.5p-01|0.66666666666666662966",
        );
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(0.6666666666666666), 13), "0.6666666666666666| 0.6666666666666666|    0.67|6.667e-01 |0000000.67|+000000.67| 000000.67|0.6666666666666666|0.6666666666666666|0.667|6.666667e-01|1.|0x1.5555555555555p-01");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e+06), 10), "1e+06|1.000000e+06|1.000000E+06|1000000.000000|1000000.000000|1e+06|1E+06|8589934592000000p-33|0x1.e848p+19|0X1.E848P+19");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1e+06), 9), "1000000.00|1000000|1.000e+06|1e+06|1000000|1e+06|1e+06|0x1.fp+19|1000000.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e+06), 13), "1e+06| 1e+06|1000000.00|1.000e+06 |1000000.00|+1000000.00| 1000000.00|1.00000e+06|1e+06|1.00e+06|1.000000e+06|1000000.|0x1.e848p+19");
        c.t("%v|%e|%E|%f|%F|%g|%G|%b|%x|%X", &rep(f(1e+23), 10), "1e+23|1.000000e+23|1.000000E+23|99999999999999991611392.000000|99999999999999991611392.000000|1e+23|1E+23|5960464477539062p+24|0x1.52d02c7e14af6p+76|0X1.52D02C7E14AF6P+76");
        c.t("%.2f|%.0f|%.3e|%.3g|%.10g|%.0e|%.0g|%.1x|%.20f", &rep(f(1e+23), 9), "99999999999999991611392.00|99999999999999991611392|1.000e+23|1e+23|1e+23|1e+23|1e+23|0x1.5p+76|99999999999999991611392.00000000000000000000");
        c.t("%+v|% v|%8.2f|%-10.3e|%010.2f|%+010.2f|% 010.2f|%#g|%#v|%#.3g|%#e|%#.0f|%#x", &rep(f(1e+23), 13), "1e+23| 1e+23|99999999999999991611392.00|1.000e+23 |99999999999999991611392.00|+99999999999999991611392.00| 99999999999999991611392.00|1.00000e+23|1e+23|1.00e+23|1.000000e+23|99999999999999991611392.|0x1.52d02c7e14af6p+76");
        c.t(
            "%.0f %.0f %.0f %.0f %.1f %.2f %.2f",
            &[f(0.5), f(1.5), f(2.5), f(-0.5), f(0.25), f(0.125), f(1.005)],
            "0 2 2 -0 0.2 0.12 1.00",
        );
        c.t("%.30e|%.25f|%.17g|%.18g|%.19g|%.40g", &[f(0.1), f(0.1), f(0.1), f(0.1), f(0.1), f(1e-300)], "1.000000000000000055511151231258e-01|0.1000000000000000055511151|0.10000000000000001|0.100000000000000006|0.1000000000000000056|1.000000000000000025059091835208759685696e-300");
        c.t(
            "%6.2f|%6.2f|%06.2f|%-6.2f|",
            &[f(3.14159), f(-3.14159), f(-3.14159), f(2.0)],
            "  3.14| -3.14|-03.14|2.00  |",
        );
        c.t(
            "%#.0e|%#.4g|%#g|%#g|%#.2x",
            &[f(1.0), f(123.0), f(1e-07), f(100000.0), f(1.0)],
            "1.e+00|123.0|1.00000e-07|100000.|0x1.00p+00",
        );
        c.t(
            "%.3v|%10.4v|%-10v|",
            &[f(3.14159), f(3.14159), f(1e+21)],
            "3.14|     3.142|1e+21     |",
        );
        c.t(
            "%x|%X|%.3x|%#.3X|%.0x",
            &[f(1.0), f(-2.5e-08), f(3.0), f(255.5), f(1.5)],
            "0x1p+00|-0X1.AD7F29ABCAF48P-26|0x1.800p+01|0X1.FF0P+07|0x1p+01",
        );
        c.t(
            "%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v",
            &rep(s(""), 11),
            "|\"\"|\"\"|``|||||||\"\"",
        );
        c.t(
            "%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|",
            &rep(s(""), 8),
            "        |        |00000000||      \"\"||          |          |",
        );
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("hello"), 11), "hello|\"hello\"|\"hello\"|`hello`|68656c6c6f|68656C6C6F|68 65 6c 6c 6f|0x68656c6c6f|0x68 0x65 0x6c 0x6c 0x6f|hello|\"hello\"");
        c.t(
            "%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|",
            &rep(s("hello"), 8),
            "   hello|hello   |000hello|he|    \"he\"|68656c|68656c6c6f|68656c6c6f|",
        );
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("h\u{e9}llo"), 11), "h\u{e9}llo|\"h\u{e9}llo\"|\"h\\u00e9llo\"|`h\u{e9}llo`|68c3a96c6c6f|68C3A96C6C6F|68 c3 a9 6c 6c 6f|0x68c3a96c6c6f|0x68 0xc3 0xa9 0x6c 0x6c 0x6f|h\u{e9}llo|\"h\u{e9}llo\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("h\u{e9}llo"), 8), "   h\u{e9}llo|h\u{e9}llo   |000h\u{e9}llo|h\u{e9}|    \"h\u{e9}\"|68c3a9|68c3a96c6c6f|68c3a96c6c6f|");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("a\"b\\c"), 11), "a\"b\\c|\"a\\\"b\\\\c\"|\"a\\\"b\\\\c\"|`a\"b\\c`|6122625c63|6122625C63|61 22 62 5c 63|0x6122625c63|0x61 0x22 0x62 0x5c 0x63|a\"b\\c|\"a\\\"b\\\\c\"");
        c.t(
            "%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|",
            &rep(s("a\"b\\c"), 8),
            "   a\"b\\c|a\"b\\c   |000a\"b\\c|a\"|   \"a\\\"\"|612262|6122625c63|6122625c63|",
        );
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("tab\u{9}here"), 11), "tab\u{9}here|\"tab\\there\"|\"tab\\there\"|`tab\u{9}here`|7461620968657265|7461620968657265|74 61 62 09 68 65 72 65|0x7461620968657265|0x74 0x61 0x62 0x09 0x68 0x65 0x72 0x65|tab\u{9}here|\"tab\\there\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("tab\u{9}here"), 8), "tab\u{9}here|tab\u{9}here|tab\u{9}here|ta|    \"ta\"|746162|7461620968657265|7461620968657265|");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("\u{0}\u{7}\u{7f}"), 11), "\u{0}\u{7}\u{7f}|\"\\x00\\a\\x7f\"|\"\\x00\\a\\x7f\"|\"\\x00\\a\\x7f\"|00077f|00077F|00 07 7f|0x00077f|0x00 0x07 0x7f|\u{0}\u{7}\u{7f}|\"\\x00\\a\\x7f\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("\u{0}\u{7}\u{7f}"), 8), "     \u{0}\u{7}\u{7f}|\u{0}\u{7}\u{7f}     |00000\u{0}\u{7}\u{7f}|\u{0}\u{7}|\"\\x00\\a\"|00077f|    00077f|00077f    |");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("\u{65e5}\u{672c}\u{8a9e}"), 11), "\u{65e5}\u{672c}\u{8a9e}|\"\u{65e5}\u{672c}\u{8a9e}\"|\"\\u65e5\\u672c\\u8a9e\"|`\u{65e5}\u{672c}\u{8a9e}`|e697a5e69cace8aa9e|E697A5E69CACE8AA9E|e6 97 a5 e6 9c ac e8 aa 9e|0xe697a5e69cace8aa9e|0xe6 0x97 0xa5 0xe6 0x9c 0xac 0xe8 0xaa 0x9e|\u{65e5}\u{672c}\u{8a9e}|\"\u{65e5}\u{672c}\u{8a9e}\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("\u{65e5}\u{672c}\u{8a9e}"), 8), "     \u{65e5}\u{672c}\u{8a9e}|\u{65e5}\u{672c}\u{8a9e}     |00000\u{65e5}\u{672c}\u{8a9e}|\u{65e5}\u{672c}|    \"\u{65e5}\u{672c}\"|e697a5|e697a5e69cace8aa9e|e697a5e69cace8aa9e|");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("\u{ad}\u{200b}\u{feff}"), 11), "\u{ad}\u{200b}\u{feff}|\"\\u00ad\\u200b\\ufeff\"|\"\\u00ad\\u200b\\ufeff\"|\"\\u00ad\\u200b\\ufeff\"|c2ade2808befbbbf|C2ADE2808BEFBBBF|c2 ad e2 80 8b ef bb bf|0xc2ade2808befbbbf|0xc2 0xad 0xe2 0x80 0x8b 0xef 0xbb 0xbf|\u{ad}\u{200b}\u{feff}|\"\\u00ad\\u200b\\ufeff\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("\u{ad}\u{200b}\u{feff}"), 8), "     \u{ad}\u{200b}\u{feff}|\u{ad}\u{200b}\u{feff}     |00000\u{ad}\u{200b}\u{feff}|\u{ad}\u{200b}|\"\\u00ad\\u200b\"|c2ade2|c2ade2808befbbbf|c2ade2808befbbbf|");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("a`b"), 11), "a`b|\"a`b\"|\"a`b\"|\"a`b\"|616062|616062|61 60 62|0x616062|0x61 0x60 0x62|a`b|\"a`b\"");
        c.t(
            "%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|",
            &rep(s("a`b"), 8),
            "     a`b|a`b     |00000a`b|a`|    \"a`\"|616062|    616062|616062    |",
        );
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("\u{1f600}"), 11), "\u{1f600}|\"\u{1f600}\"|\"\\U0001f600\"|`\u{1f600}`|f09f9880|F09F9880|f0 9f 98 80|0xf09f9880|0xf0 0x9f 0x98 0x80|\u{1f600}|\"\u{1f600}\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("\u{1f600}"), 8), "       \u{1f600}|\u{1f600}       |0000000\u{1f600}|\u{1f600}|     \"\u{1f600}\"|f09f98|  f09f9880|f09f9880  |");
        c.t("%s|%q|%+q|%#q|%x|%X|% x|%#x|% #x|%v|%#v", &rep(s("\u{378}"), 11), "\u{378}|\"\\u0378\"|\"\\u0378\"|`\u{378}`|cdb8|CDB8|cd b8|0xcdb8|0xcd 0xb8|\u{378}|\"\\u0378\"");
        c.t("%8s|%-8s|%08s|%.2s|%8.2q|%.3x|%10x|%-10x|", &rep(s("\u{378}"), 8), "       \u{378}|\u{378}       |0000000\u{378}|\u{378}|\"\\u0378\"|cdb8|      cdb8|cdb8      |");
        c.t(
            "%*d|%-*d|%*d|%.*f|%*.*f|",
            &[
                i(5),
                i(1),
                i(5),
                i(2),
                i(-5),
                i(3),
                i(2),
                f(3.14159),
                i(8),
                i(3),
                f(2.5),
            ],
            "    1|2    |3    |3.14|   2.500|",
        );
        c.t("%*d", &[s("x"), i(1)], "%!(BADWIDTH)1");
        c.t("%.*d", &[s("x"), i(1)], "%!(BADPREC)1");
        c.t("%*d", &[f(1.5), i(1)], "%!(BADWIDTH)1");
        c.t("%.*f", &[i(-1), f(3.14159)], "%!(BADPREC)3.141590");
        c.t("%*d", &[u(4), i(1)], "   1");
        c.t("%*d", &[i(10000000), i(1)], "%!(BADWIDTH)1");
        c.t("%*d|%.*d", &[i(3)], "%!d(MISSING)|%!(BADPREC)%!d(MISSING)");
        c.t("%0*d|%-0*d", &[i(-6), i(12), i(6), i(12)], "12    |12    ");
        c.t("%[2]d %[1]d", &[i(1), i(2)], "2 1");
        c.t("%[3]*.[2]*[1]f", &[f(12.0), i(2), i(6)], " 12.00");
        c.t("%[1]d %d %d", &[i(1), i(2), i(3)], "1 2 3");
        c.t("%[5]d", &[i(1), i(2)], "%!d(BADINDEX)");
        c.t("%[0]d", &[i(1)], "%!d(BADINDEX)");
        c.t("%[x]d", &[i(1)], "%!d(BADINDEX)");
        c.t("%[2]*d", &[i(1), i(5)], "%!d(MISSING)");
        c.t("%[1]2d", &[i(1)], "%!d(BADINDEX)");
        c.t("%[1].2d", &[i(1)], "%!d(BADINDEX)");
        c.t("%d %d %#[1]x %#x", &[i(16), i(17)], "16 17 0x10 0x11");
        c.t("%[2]d %[2]d", &[i(1), i(2)], "2 2");
        c.t("%[3]d", &[i(1), i(2)], "%!d(BADINDEX)");
        c.t("%[1", &[i(1)], "%!(NOVERB)");
        c.t("%.[2]d", &[i(1), i(2)], "2");
        c.t("%[2]s%[1]s", &[s("a"), s("b"), s("c")], "ba");
        c.t("%d", &[s("a")], "%!d(string=a)");
        c.t("%d %d", &[i(1)], "1 %!d(MISSING)");
        c.t(
            "%d",
            &[i(1), s("x"), i(2), N],
            "1%!(EXTRA string=x, int=2, <nil>)",
        );
        c.t("%!", &[], "%!!(MISSING)");
        c.t("%", &[], "%!(NOVERB)");
        c.t("abc%", &[], "abc%!(NOVERB)");
        c.t("%-", &[], "%!(NOVERB)");
        c.t("%5.2", &[], "%!(NOVERB)");
        c.t("%z", &[i(1)], "%!z(int=1)");
        c.t(
            "%z %Z %\u{263a}",
            &[i(1), s("a"), f(2.5)],
            "%!z(int=1) %!Z(string=a) %!\u{263a}(float64=2.5)",
        );
        c.t("%d", &[N], "%!d(<nil>)");
        c.t(
            "%s %v %q %5v|%-5v|",
            &rep(N, 5),
            "%!s(<nil>) <nil> %!q(<nil>) <nil>|<nil>|",
        );
        c.t(
            "%T %T %T %T",
            &[N, i(1), s("s"), f(1.5)],
            "<nil> int string float64",
        );
        c.t("%5d", &[s("ab")], "%!d(string=   ab)");
        c.t("%-8d|", &[b(true)], "%!d(bool=true    )|");
        c.t("%s", &[i(12)], "%!s(int=12)");
        c.t("%d", &[f(1.5)], "%!d(float64=1.5)");
        c.t("%f", &[s("x")], "%!f(string=x)");
        c.t("100%%", &[], "100%");
        c.t("%5%|%-5%|%05%", &[], "%|%|%");
        c.t("%", &[i(1)], "%!(NOVERB)%!(EXTRA int=1)");
        c.t("%!d(string=a)", &[], "%!!(MISSING)d(string=a)");
        c.t(
            "no verbs",
            &[i(1), s("two")],
            "no verbs%!(EXTRA int=1, string=two)",
        );
        c.t("%v", &[l(vec![N, l(vec![N])])], "[<nil> [<nil>]]");
        c.t(
            "%d",
            &[l(vec![N, s("a"), i(1), f(1.5), b(true)])],
            "[<nil> %!d(string=a) 1 %!d(float64=1.5) %!d(bool=true)]",
        );
        c.t(
            "%s",
            &[m(vec![("a", N), ("b", f(1.0))])],
            "map[a:<nil> b:%!s(float64=1)]",
        );
        c.t(
            "%x",
            &[l(vec![s("hi"), i(255), f(1.5)])],
            "[6869 ff 0x1.8p+00]",
        );
        c.t(
            "%q",
            &[l(vec![s("a"), i(65), f(1.0)])],
            "[\"a\" 'A' %!q(float64=1)]",
        );
        c.t(
            "%05d|%-5d|",
            &[l(vec![i(1), i(2)]), l(vec![i(3)])],
            "[00001 00002]|[3    ]|",
        );
        c.t("%6.2f", &[l(vec![f(1.0), f(2.5)])], "[  1.00   2.50]");
        c.t(
            "%+v",
            &[l(vec![hs(), phs()])],
            "[{Name:web Port:80 Tags:[a b]} 0xc000010000]",
        );
        c.t("%#v", &[l(vec![hs(), phs(), N, f(1.0), u(3)])], "[]interface {}{dependency.HealthService{Name:\"web\", Port:80, Tags:[]interface {}{\"a\", \"b\"}}, (*dependency.HealthService)(0xc000010000), interface {}(nil), 1, 0x3}");
        c.t(
            "%v %+v",
            &[m(vec![("h", hs()), ("p", phs())]), m(vec![("h", hs())])],
            "map[h:{web 80 [a b]} p:0xc000010000] map[h:{Name:web Port:80 Tags:[a b]}]",
        );
        c.t("%#v", &[m(vec![("l", l(vec![])), ("m", m(vec![])), ("n", N)])], "map[string]interface {}{\"l\":[]interface {}{}, \"m\":map[string]interface {}{}, \"n\":interface {}(nil)}");
        c.t("%s", &[phs()], "&{db %!s(int=5432) <nil>}");
        c.t("%d", &[phs()], "&{%!d(string=db) 5432 <nil>}");
        c.t(
            "%s",
            &[l(vec![phs()])],
            "[%!s(*dependency.HealthService=&{db 5432 <nil>})]",
        );
        c.t("%d", &[l(vec![phs()])], "[824633786368]");
        c.t("%x", &[hs()], "{776562 50 [61 62]}");
        c.t(
            "%p",
            &[hs()],
            "%!p(dependency.HealthService={web 80 [a b]})",
        );
        c.t(
            "%p %p %p",
            &[i(1), s("a"), b(true)],
            "%!p(int=1) %!p(string=a) %!p(bool=true)",
        );
        c.t("%#p %#v %v", &rep(N, 3), "%!p(<nil>) <nil> <nil>");
        c.t(
            "%v %d",
            &rep(tags(), 2),
            "[x y z] [%!d(string=x) %!d(string=y z)]",
        );
        c.t(
            "%#v %T %q",
            &rep(tags(), 3),
            "dependency.ServiceTags{\"x\", \"y z\"} dependency.ServiceTags [\"x\" \"y z\"]",
        );
        c.t("%v", &[l(vec![tags()])], "[[x y z]]");
        c.t(
            "%#v",
            &[l(vec![tags()])],
            "[]interface {}{dependency.ServiceTags{\"x\", \"y z\"}}",
        );
        c.t(
            "%!d(BADINDEX)%d",
            &[i(1)],
            "%!!(int=1)d(BADINDEX)%!d(MISSING)",
        );
        c.t(
            "%.d|%.f|%.s|%.q|%.x|",
            &[i(7), f(1.5), s("abc"), s("abc"), s("abc")],
            "7|2||\"\"||",
        );
        c.t(
            "%+.3d|% .3d|%+.3x|% x|%+x",
            &[i(-5), i(5), i(255), i(255), i(255)],
            "-005| 005|+0ff| ff|+ff",
        );
        c.t(
            "%10.3q|%-10q|%010q|",
            &[s("abc"), s("a"), s("b")],
            "     \"abc\"|\"a\"       |0000000\"b\"|",
        );
        c.t("%x", &[s("")], "");
        c.t(
            "%8x|%-8x|% 8x|",
            &rep(s(""), 3),
            "        |        |        |",
        );
        c.t("%#+v", &[l(vec![i(1), s("a")])], "[]interface {}{1, \"a\"}");
        c.t("%-#8v|", &[f(1.0)], "1       |");
        c.t(
            "%08v|%-08v|%08s|",
            &[f(3.5), f(-3.5), s("x")],
            "000003.5|-3.5    |0000000x|",
        );
        c.t(
            "%08v|%8v|",
            &[f(f64::INFINITY), f(f64::NAN)],
            "    +Inf|     NaN|",
        );
        c.t(
            "%+08.2f|% 08.2f|%+v|% v|%+.1e",
            &[
                f(f64::NEG_INFINITY),
                f(f64::NAN),
                f(f64::NAN),
                f(f64::NAN),
                f(f64::INFINITY),
            ],
            "    -Inf|     NaN|NaN| NaN|+Inf",
        );
        c.t(
            "%v %v %v",
            &[f(1e+21), f(1e+20), f(1.23456789e+08)],
            "1e+21 1e+20 1.23456789e+08",
        );
        c.t("%03d|%03d|%+03d", &[i(-1), i(1), i(1)], "-01|001|+01");
        c.t(
            "%010.4d|%-010.4d|",
            &rep(i(42), 2),
            "      0042|0042      |",
        );
        c.t(
            "%10000000000000000000d",
            &[i(1)],
            "%!(NOVERB)%!(EXTRA int=1)",
        );
        c.done();
    }

    /// Random format strings (a sample of a 6000-case run against Go).
    #[test]
    fn sprintf_random_formats_match_go() {
        let mut c = Check::default();
        c.t(
            "%+ *.6U]% #.[1]*v%#0.[2]*[3]\u{e9}",
            &[m(vec![("d", f(-9.2284e-03))]), i(19), s("tab\u{9}nl\u{a}")],
            "%!(BADWIDTH)U+000013]%!(BADPREC) 19%!\u{e9}(string=tab\u{9}nl\u{a})",
        );
        c.t(
            "x%.[2]*O% -[1]x%0 %",
            &[f(6.96683e-05), f(-3.3369e+01)],
            "x%!(BADPREC)%!O(MISSING) 0x1.2435c47bfe24dp-14%",
        );
        c.t(
            "%# [.[1]*x%-0.*s",
            &[i(3)],
            "%!x(BADINDEX)%!(BADPREC)%!s(MISSING)",
        );
        c.t("%*.X", &[i(11), i(-7)], "         -7");
        c.t(
            "%#*.*x% +5.*v",
            &[i(2)],
            "%!(BADPREC)%!x(MISSING)%!(BADPREC)%!v(MISSING)",
        );
        c.t(
            "% #[1]X%# [2]*o",
            &[f(1.7304963223363978e-03)],
            " 0X1.C5A3A470EE0DCP-10%!(BADWIDTH)%!o(BADINDEX)",
        );
        c.t(
            "\u{e9}%0.0q %+5.*v %*b",
            &[i(-7), tags()],
            "\u{e9}'\u{fffd}' %!(BADPREC)%!v(MISSING) %!(BADWIDTH)%!b(MISSING)",
        );
        c.t("%#[0].6s", &[i(-1)], "%!s(BADINDEX)");
        c.t(
            "%00v",
            &[i(18), i(7), tags()],
            "18%!(EXTRA int=7, dependency.ServiceTags=[x y z])",
        );
        c.t(
            "%-[0]5.30o.%0 [x]*.[2]*G",
            &[],
            "%!o(BADINDEX).%!(BADWIDTH)%!(BADPREC)%!G(BADINDEX)",
        );
        c.t(
            "]%-*.[1]*s%-1s",
            &[],
            "]%!(BADWIDTH)%!(BADPREC)%!s(BADINDEX)%!s(MISSING)",
        );
        c.t(
            "%03.17O% *%%1.0",
            &[],
            "%!O(MISSING)%!(BADWIDTH)%%!(NOVERB)",
        );
        c.t(
            "%[1]z%T]%0q",
            &[i(19)],
            "%!z(int=19)%!T(MISSING)]%!q(MISSING)",
        );
        c.t(
            "x% 03.*w",
            &[
                m(vec![("b", i(55296)), ("c", s("\u{65e5}\u{672c}\u{8a9e}"))]),
                m(vec![]),
                N,
            ],
            "x%!(BADPREC)%!w(map[string]interface {}=map[])%!(EXTRA <nil>)",
        );
        c.t(
            "%00\u{e9}%.x%#*\u{e9}",
            &[],
            "%!\u{e9}(MISSING)%!x(MISSING)%!(BADWIDTH)%!\u{e9}(MISSING)",
        );
        c.t("[%+0[3]g%[9]X", &[i(15)], "[%!g(BADINDEX)%!X(BADINDEX)");
        c.t("%-*.*z", &[u(0)], "%!(BADPREC)%!z(MISSING)");
        c.t("\u{e9}%+%%.*", &[i(8)], "\u{e9}%%!(NOVERB)");
        c.t(
            "%+[x]12.30%%X %-+[3]8d",
            &[f(-3.66501e-05), named("n")],
            "%-0X1.33717D8DF8BB4P-15 %!d(BADINDEX)",
        );
        c.t(
            "% f",
            &[b(false), b(false)],
            "%!f(bool=false)%!(EXTRA bool=false)",
        );
        c.t(
            "% 03c%+*.17U",
            &[i(28), u(18446744073709551615)],
            "00\u{1c}%!(BADWIDTH)%!U(MISSING)",
        );
        c.t(
            "%#+*.*%",
            &[f(3.788933577997188e+23)],
            "%!(BADWIDTH)%!(BADPREC)%",
        );
        c.t(
            "% #*g%0-*.b%-*e",
            &[i(-69)],
            "%!g(MISSING)%!(BADWIDTH)%!b(MISSING)%!(BADWIDTH)%!e(MISSING)",
        );
        c.t(
            "[%1.3F.% *%",
            &[
                l(vec![u(9223372036854775808)]),
                s("\u{65e5}\u{672c}\u{8a9e}"),
                i(7),
            ],
            "[[%!F(uint64=9223372036854775808)].%!(BADWIDTH)%%!(EXTRA int=7)",
        );
        c.t(
            "%o\u{e9}%-g%#0.q",
            &[i(3), tags()],
            "3\u{e9}[%!g(string=x) %!g(string=y z)]%!q(MISSING)",
        );
        c.t(
            ".%0-b %- 8.[2]*[3]%%0*.*E",
            &[named("n")],
            ".{%!b(string=n)} %!(BADPREC)%%!(BADWIDTH)%!(BADPREC)%!E(MISSING)",
        );
        c.t(
            "%*c%#+[0]T%+#5.O",
            &[s("hello")],
            "%!(BADWIDTH)%!c(MISSING)%!T(BADINDEX)%!O(MISSING)",
        );
        c.t(
            "%-#.s%-#*.*T",
            &[N, i(22), s("\u{0}\u{7f}")],
            "%!s(<nil>)%!(BADPREC)%!T(MISSING)",
        );
        c.t("%+d%v", &[], "%!d(MISSING)%!v(MISSING)");
        c.t("[%+*[3]%", &[i(13), f(-8.62218e-03), tags()], "[%");
        c.t(
            " %+8.[2]*b%0e[%0.x",
            &[],
            " %!(BADPREC)%!b(BADINDEX)%!e(MISSING)[%!x(MISSING)",
        );
        c.t(
            "%5.[1]*[3]e.%-0*.T%+c",
            &[],
            "%!(BADPREC)%!e(BADINDEX).%!(BADWIDTH)%!T(MISSING)%!c(MISSING)",
        );
        c.t(
            "%#.*[3]d",
            &[m(vec![]), s("\u{ad}\u{200b}"), s("a`b")],
            "%!(BADPREC)%!d(string=a`b)",
        );
        c.t("%0[3]dx%##12.", &[], "%!d(BADINDEX)x%!.(MISSING)");
        c.t(".%0+03.1T %-+.10[3]G", &[], ".%!T(MISSING) %!G(BADINDEX)");
        c.t(
            "%.*O",
            &[
                l(vec![b(true), s("\u{65e5}\u{672c}\u{8a9e}")]),
                f(6.290139511608972e+02),
            ],
            "%!(BADPREC)%!O(float64=629.0139511608972)",
        );
        c.t(
            "% 01.*d%-0[1]G\u{e9}%-05.[2]*X",
            &[],
            "%!(BADPREC)%!d(MISSING)%!G(BADINDEX)\u{e9}%!(BADPREC)%!X(BADINDEX)",
        );
        c.t(
            "%.[1]*[3]vx%-*w",
            &[i(19)],
            "%!v(BADINDEX)x%!(BADWIDTH)%!w(MISSING)",
        );
        c.t(
            "%.*b%  8.G.%-G",
            &[named("n")],
            "%!(BADPREC)%!b(MISSING)%!G(MISSING).%!G(MISSING)",
        );
        c.t(
            "%##.*t%03[1]sx%0+5s",
            &[i(8)],
            "%!t(MISSING)%!s(int=008)x%!s(MISSING)",
        );
        c.t(
            "%-#.17g%+8[1]\u{e9}x%[1]s",
            &[N, s("a`b")],
            "%!g(<nil>)%!\u{e9}(<nil>)x%!s(<nil>)",
        );
        c.t("[%+.*E", &[i(10000000)], "[%!(BADPREC)%!E(MISSING)");
        c.t(
            "%#-*.10d",
            &[
                f(7.660689347441097e+01),
                m(vec![("a", s("h\u{e9}llo w\u{f6}rld"))]),
            ],
            "%!(BADWIDTH)map[%!d(string=a):%!d(string=h\u{e9}llo w\u{f6}rl)]",
        );
        c.t(
            "%[1]12F%1z%.[1]*d",
            &[l(vec![])],
            "%!F(BADINDEX)[]%!(BADPREC)%!d(MISSING)",
        );
        c.t("%-#.*X", &[u(7), i(7)], "0X0000007");
        c.t("%#-*.17z", &[], "%!(BADWIDTH)%!z(MISSING)");
        c.t("% 0g", &[], "%!g(MISSING)");
        c.t(
            "]%[3].*X]%0*w",
            &[N],
            "]%!(BADPREC)%!X(BADINDEX)]%!(BADWIDTH)%!w(MISSING)",
        );
        c.t(
            "%#*.b%*o%003.[2]*X",
            &[],
            "%!(BADWIDTH)%!b(MISSING)%!(BADWIDTH)%!o(MISSING)%!(BADPREC)%!X(BADINDEX)",
        );
        c.t(
            " %12G%*g%-0[1].[2]*d",
            &[N, b(true), i(18)],
            " %!G(<nil>)%!(BADWIDTH)%!g(int=18)%!(BADPREC)%!d(BADINDEX)",
        );
        c.t("x%0*b", &[f(-1.36589e-05)], "x%!(BADWIDTH)%!b(MISSING)");
        c.t(
            "%*.[1]*[3]f% 1.6e",
            &[],
            "%!(BADWIDTH)%!(BADPREC)%!f(BADINDEX)%!e(MISSING)",
        );
        c.t(
            "%+w% *X",
            &[b(false), f(4.6915e-01), s("a`b")],
            "%!w(bool=false)%!(BADWIDTH)61 60 62",
        );
        c.t(
            ".% -.0O% #e",
            &[i(1114112), s("q\"uote\\")],
            ". 0o4200000%!e(string=q\"uote\\)",
        );
        c.t(
            "%+d%#1.30T%0[2].[1]*e",
            &[i(15)],
            "+15%!T(MISSING)%!e(BADINDEX)",
        );
        c.t(
            "%*.[2]*",
            &[named("n")],
            "%!(BADWIDTH)%!(BADPREC)%!(NOVERB)",
        );
        c.t("% .1e%.6o", &[], "%!e(MISSING)%!o(MISSING)");
        c.t(
            "%*.1F%.*v",
            &[i(-9223372036854775808), b(true), i(9)],
            "%!(BADWIDTH)%!F(bool=true)%!v(MISSING)",
        );
        c.t(".%*\u{e9}%-#*.*U[%+ .[2]*b", &[], ".%!(BADWIDTH)%!\u{e9}(MISSING)%!(BADWIDTH)%!(BADPREC)%!U(MISSING)[%!(BADPREC)%!b(BADINDEX)");
        c.t("%0O", &[s("hello")], "%!O(string=hello)");
        c.done();
    }

    /// Strings that are not UTF-8 (bytes from `"\xff"` or a `slice`), and `uint8`, as Go 1.23
    /// prints them: width and precision count each invalid byte as one rune.
    #[test]
    fn sprintf_of_raw_bytes_matches_go() {
        let mut c = Check::default();
        let r = |b: &[u8]| Value::from_bytes(b);
        c.tb(
            b"%q|%x|% x|%5s|%.2s|%-4q|%v|%X|%#v",
            &[
                r(b"\xff"),
                r(b"\xffa"),
                r(b"\xffa"),
                r(b"\xff"),
                r(b"\xfe\xffa"),
                r(b"\xff"),
                r(b"a\xff"),
                r(b"\xff"),
                r(b"\xff"),
            ],
            b"\"\\xff\"|ff61|ff 61|    \xff|\xfe\xff|\"\\xff\"|a\xff|FF|\"\\xff\"",
        );
        c.tb(
            b"[%5s][%-5s][%.1s][%5.1s][%05s]",
            &[
                r(b"\xff"),
                r(b"a\xff\xc3\xa9"),
                r(b"\xffa"),
                r(b"\xfea"),
                r(b"\xff"),
            ],
            b"[    \xff][a\xff\xc3\xa9  ][\xff][    \xfe][0000\xff]",
        );
        c.tb(
            b"%#q|%+q|%#x|% #x|%10x",
            &[
                r(b"\xff"),
                r(b"\xff\xc3\xa9"),
                r(b"\xffa"),
                r(b"\xffa"),
                r(b"\xff"),
            ],
            b"\"\\xff\"|\"\\xff\\u00e9\"|0xff61|0xff 0x61|        ff",
        );
        c.tb(
            b"%#.1q|%#q|%#q|%.3x|%q|%+q",
            &[
                r(b"a\xff"),
                r(b"a\x7f"),
                r(b"\xe2\x80"),
                r(b"\xff\xfe\xfd\xfc"),
                r(b"\xc3\xa9\xc3"),
                r(b"\xf0\x9f\x98\x80\xff"),
            ],
            b"`a`|\"a\\x7f\"|\"\\xe2\\x80\"|fffefd|\"\xc3\xa9\\xc3\"|\"\\U0001f600\\xff\"",
        );
        c.tb(b"\xff%s\xfe%d", &[s("a"), i(1)], b"\xffa\xfe1");
        c.tb(b"%\xff", &[i(1)], b"%!\xef\xbf\xbd(int=1)");
        c.tb(b"%5\xfe", &[s("x")], b"%!\xef\xbf\xbd(string=    x)");
        c.tb(b"%s", &[r(b"\xc3")], b"\xc3");
        let byte = Value::Byte(255);
        c.t(
            "%d|%x|%c|%q|%U|%#v|%v|%T|%08b|%o|%s",
            &rep(byte, 11),
            "255|ff|\u{ff}|'\u{ff}'|U+00FF|0xff|255|uint8|11111111|377|%!s(uint8=255)",
        );
        c.tp(&[r(b"\xc3"), r(b"\xa9")], "\u{e9}");
        c.done();
    }

    /// `Sprint`, `Sprintln` and `%v` of single values.
    #[test]
    fn sprint_and_write_value_match_go() {
        let mut c = Check::default();
        c.tp(&[s("a"), func(), i(1)], "a0x4a5b60 1");
        c.tp(&[], "");
        c.tp(
            &[
                s("a"),
                s("b"),
                i(1),
                i(2),
                s("c"),
                f(3.5),
                b(true),
                N,
                N,
                s("d"),
            ],
            "ab1 2c3.5 true <nil> <nil>d",
        );
        c.tp(&[i(1), i(2), i(3)], "1 2 3");
        c.tp(&[s("a"), i(1), s("b")], "a1b");
        c.tp(&[list(), mp(), hs(), phs(), tags()], "[a 1 2.5 true <nil> [1 b] map[k:v]] map[a:x b:2 c:[1] d:<nil> e:map[z:false]] {web 80 [a b]} &{db 5432 <nil>} [x y z]");
        c.tp(&[N], "<nil>");
        c.tpln(&[], "\u{a}");
        c.tpln(&[s("a"), s("b"), i(1), i(2), N], "a b 1 2 <nil>\u{a}");
        c.tpln(&[list()], "[a 1 2.5 true <nil> [1 b] map[k:v]]\u{a}");
        c.w(N, "<nil>");
        c.w(b(true), "true");
        c.w(i(-7), "-7");
        c.w(u(18446744073709551615), "18446744073709551615");
        c.w(f(1e+21), "1e+21");
        c.w(f(1e+20), "1e+20");
        c.w(f(1.23456789e+08), "1.23456789e+08");
        c.w(f(1e-07), "1e-07");
        c.w(f(0.0), "0");
        c.w(s("hi"), "hi");
        c.w(list(), "[a 1 2.5 true <nil> [1 b] map[k:v]]");
        c.w(mp(), "map[a:x b:2 c:[1] d:<nil> e:map[z:false]]");
        c.w(hs(), "{web 80 [a b]}");
        c.w(phs(), "&{db 5432 <nil>}");
        c.w(kv(), "{k 1.5 7 0xc000010000}");
        c.w(tags(), "[x y z]");
        c.w(named("n"), "named:n");
        c.w(f(f64::NAN), "NaN");
        c.done();
    }

    /// `strconv.FormatFloat` in every format, shortest and fixed precision.
    #[test]
    fn format_float_matches_go() {
        let mut c = Check::default();
        c.tff(0.0, b'b', -1, "0p-1074");
        c.tff(0.0, b'e', -1, "0e+00");
        c.tff(0.0, b'f', -1, "0");
        c.tff(0.0, b'g', -1, "0");
        c.tff(0.0, b'x', -1, "0x0p+00");
        c.tff(0.0, b'b', -1, "0p-1074");
        c.tff(0.0, b'e', -1, "0e+00");
        c.tff(0.0, b'f', -1, "0");
        c.tff(0.0, b'g', -1, "0");
        c.tff(0.0, b'x', -1, "0x0p+00");
        c.tff(1.0, b'b', -1, "4503599627370496p-52");
        c.tff(1.0, b'e', -1, "1e+00");
        c.tff(1.0, b'f', -1, "1");
        c.tff(1.0, b'g', -1, "1");
        c.tff(1.0, b'x', -1, "0x1p+00");
        c.tff(-1.0, b'b', -1, "-4503599627370496p-52");
        c.tff(-1.0, b'e', -1, "-1e+00");
        c.tff(-1.0, b'f', -1, "-1");
        c.tff(-1.0, b'g', -1, "-1");
        c.tff(-1.0, b'x', -1, "-0x1p+00");
        c.tff(0.1, b'b', -1, "7205759403792794p-56");
        c.tff(0.1, b'e', -1, "1e-01");
        c.tff(0.1, b'f', -1, "0.1");
        c.tff(0.1, b'g', -1, "0.1");
        c.tff(0.1, b'x', -1, "0x1.999999999999ap-04");
        c.tff(0.3333333333333333, b'b', -1, "6004799503160661p-54");
        c.tff(0.3333333333333333, b'e', -1, "3.333333333333333e-01");
        c.tff(0.3333333333333333, b'f', -1, "0.3333333333333333");
        c.tff(0.3333333333333333, b'g', -1, "0.3333333333333333");
        c.tff(0.3333333333333333, b'x', -1, "0x1.5555555555555p-02");
        c.tff(100.0, b'b', -1, "7036874417766400p-46");
        c.tff(100.0, b'e', -1, "1e+02");
        c.tff(100.0, b'f', -1, "100");
        c.tff(100.0, b'g', -1, "100");
        c.tff(100.0, b'x', -1, "0x1.9p+06");
        c.tff(1e+21, b'b', -1, "7629394531250000p+17");
        c.tff(1e+21, b'e', -1, "1e+21");
        c.tff(1e+21, b'f', -1, "1000000000000000000000");
        c.tff(1e+21, b'g', -1, "1e+21");
        c.tff(1e+21, b'x', -1, "0x1.b1ae4d6e2ef5p+69");
        c.tff(1e+20, b'b', -1, "6103515625000000p+14");
        c.tff(1e+20, b'e', -1, "1e+20");
        c.tff(1e+20, b'f', -1, "100000000000000000000");
        c.tff(1e+20, b'g', -1, "1e+20");
        c.tff(1e+20, b'x', -1, "0x1.5af1d78b58c4p+66");
        c.tff(1e-05, b'b', -1, "5902958103587057p-69");
        c.tff(1e-05, b'e', -1, "1e-05");
        c.tff(1e-05, b'f', -1, "0.00001");
        c.tff(1e-05, b'g', -1, "1e-05");
        c.tff(1e-05, b'x', -1, "0x1.4f8b588e368f1p-17");
        c.tff(0.0001, b'b', -1, "7378697629483821p-66");
        c.tff(0.0001, b'e', -1, "1e-04");
        c.tff(0.0001, b'f', -1, "0.0001");
        c.tff(0.0001, b'g', -1, "0.0001");
        c.tff(0.0001, b'x', -1, "0x1.a36e2eb1c432dp-14");
        c.tff(1.23456789e+08, b'b', -1, "8285044862877696p-26");
        c.tff(1.23456789e+08, b'e', -1, "1.23456789e+08");
        c.tff(1.23456789e+08, b'f', -1, "123456789");
        c.tff(1.23456789e+08, b'g', -1, "1.23456789e+08");
        c.tff(1.23456789e+08, b'x', -1, "0x1.d6f3454p+26");
        c.tff(5e-324, b'b', -1, "1p-1074");
        c.tff(5e-324, b'e', -1, "5e-324");
        c.tff(5e-324, b'f', -1, "0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005");
        c.tff(5e-324, b'g', -1, "5e-324");
        c.tff(5e-324, b'x', -1, "0x1p-1074");
        c.tff(1.7976931348623157e+308, b'b', -1, "9007199254740991p+971");
        c.tff(1.7976931348623157e+308, b'e', -1, "1.7976931348623157e+308");
        c.tff(1.7976931348623157e+308, b'f', -1, "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
        c.tff(1.7976931348623157e+308, b'g', -1, "1.7976931348623157e+308");
        c.tff(1.7976931348623157e+308, b'x', -1, "0x1.fffffffffffffp+1023");
        c.tff(2.5, b'b', -1, "5629499534213120p-51");
        c.tff(2.5, b'e', -1, "2.5e+00");
        c.tff(2.5, b'f', -1, "2.5");
        c.tff(2.5, b'g', -1, "2.5");
        c.tff(2.5, b'x', -1, "0x1.4p+01");
        c.tff(0.000123456, b'b', -1, "4554722472727773p-65");
        c.tff(0.000123456, b'e', -1, "1.23456e-04");
        c.tff(0.000123456, b'f', -1, "0.000123456");
        c.tff(0.000123456, b'g', -1, "0.000123456");
        c.tff(0.000123456, b'x', -1, "0x1.02e7ef70994ddp-13");
        c.tff(123456.7, b'b', -1, "8483879823553331p-36");
        c.tff(123456.7, b'e', -1, "1.234567e+05");
        c.tff(123456.7, b'f', -1, "123456.7");
        c.tff(123456.7, b'g', -1, "123456.7");
        c.tff(123456.7, b'x', -1, "0x1.e240b33333333p+16");
        c.tff(1e+100, b'b', -1, "5147557589468029p+280");
        c.tff(1e+100, b'e', -1, "1e+100");
        c.tff(1e+100, b'f', -1, "10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
        c.tff(1e+100, b'g', -1, "1e+100");
        c.tff(1e+100, b'x', -1, "0x1.249ad2594c37dp+332");
        c.tff(f64::INFINITY, b'b', -1, "+Inf");
        c.tff(f64::INFINITY, b'e', -1, "+Inf");
        c.tff(f64::INFINITY, b'f', -1, "+Inf");
        c.tff(f64::INFINITY, b'g', -1, "+Inf");
        c.tff(f64::INFINITY, b'x', -1, "+Inf");
        c.tff(f64::NEG_INFINITY, b'b', -1, "-Inf");
        c.tff(f64::NEG_INFINITY, b'e', -1, "-Inf");
        c.tff(f64::NEG_INFINITY, b'f', -1, "-Inf");
        c.tff(f64::NEG_INFINITY, b'g', -1, "-Inf");
        c.tff(f64::NEG_INFINITY, b'x', -1, "-Inf");
        c.tff(f64::NAN, b'b', -1, "NaN");
        c.tff(f64::NAN, b'e', -1, "NaN");
        c.tff(f64::NAN, b'f', -1, "NaN");
        c.tff(f64::NAN, b'g', -1, "NaN");
        c.tff(f64::NAN, b'x', -1, "NaN");
        c.tff(9.007199254740992e+15, b'b', -1, "4503599627370496p+1");
        c.tff(9.007199254740992e+15, b'e', -1, "9.007199254740992e+15");
        c.tff(9.007199254740992e+15, b'f', -1, "9007199254740992");
        c.tff(9.007199254740992e+15, b'g', -1, "9.007199254740992e+15");
        c.tff(9.007199254740992e+15, b'x', -1, "0x1p+53");
        c.tff(2.2250738585072014e-308, b'b', -1, "4503599627370496p-1074");
        c.tff(2.2250738585072014e-308, b'e', -1, "2.2250738585072014e-308");
        c.tff(2.2250738585072014e-308, b'f', -1, "0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000022250738585072014");
        c.tff(2.2250738585072014e-308, b'g', -1, "2.2250738585072014e-308");
        c.tff(2.2250738585072014e-308, b'x', -1, "0x1p-1022");
        c.tff(5e-324, b'b', -1, "1p-1074");
        c.tff(5e-324, b'e', -1, "5e-324");
        c.tff(5e-324, b'f', -1, "0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005");
        c.tff(5e-324, b'g', -1, "5e-324");
        c.tff(5e-324, b'x', -1, "0x1p-1074");
        c.tff(0.0, b'e', 0, "0e+00");
        c.tff(0.0, b'e', 3, "0.000e+00");
        c.tff(0.0, b'e', 17, "0.00000000000000000e+00");
        c.tff(0.0, b'f', 0, "0");
        c.tff(0.0, b'f', 3, "0.000");
        c.tff(0.0, b'f', 17, "0.00000000000000000");
        c.tff(0.0, b'g', 0, "0");
        c.tff(0.0, b'g', 3, "0");
        c.tff(0.0, b'g', 17, "0");
        c.tff(0.0, b'x', 0, "0x0p+00");
        c.tff(0.0, b'x', 3, "0x0.000p+00");
        c.tff(0.0, b'x', 17, "0x0.00000000000000000p+00");
        c.tff(0.3333333333333333, b'e', 0, "3e-01");
        c.tff(0.3333333333333333, b'e', 3, "3.333e-01");
        c.tff(0.3333333333333333, b'e', 17, "3.33333333333333315e-01");
        c.tff(0.3333333333333333, b'f', 0, "0");
        c.tff(0.3333333333333333, b'f', 3, "0.333");
        c.tff(0.3333333333333333, b'f', 17, "0.33333333333333331");
        c.tff(0.3333333333333333, b'g', 0, "0.3");
        c.tff(0.3333333333333333, b'g', 3, "0.333");
        c.tff(0.3333333333333333, b'g', 17, "0.33333333333333331");
        c.tff(0.3333333333333333, b'x', 0, "0x1p-02");
        c.tff(0.3333333333333333, b'x', 3, "0x1.555p-02");
        c.tff(0.3333333333333333, b'x', 17, "0x1.55555555555550000p-02");
        c.tff(2.5, b'e', 0, "2e+00");
        c.tff(2.5, b'e', 3, "2.500e+00");
        c.tff(2.5, b'e', 17, "2.50000000000000000e+00");
        c.tff(2.5, b'f', 0, "2");
        c.tff(2.5, b'f', 3, "2.500");
        c.tff(2.5, b'f', 17, "2.50000000000000000");
        c.tff(2.5, b'g', 0, "2");
        c.tff(2.5, b'g', 3, "2.5");
        c.tff(2.5, b'g', 17, "2.5");
        c.tff(2.5, b'x', 0, "0x1p+01");
        c.tff(2.5, b'x', 3, "0x1.400p+01");
        c.tff(2.5, b'x', 17, "0x1.40000000000000000p+01");
        c.tff(1.23456789e+08, b'e', 0, "1e+08");
        c.tff(1.23456789e+08, b'e', 3, "1.235e+08");
        c.tff(1.23456789e+08, b'e', 17, "1.23456789000000000e+08");
        c.tff(1.23456789e+08, b'f', 0, "123456789");
        c.tff(1.23456789e+08, b'f', 3, "123456789.000");
        c.tff(1.23456789e+08, b'f', 17, "123456789.00000000000000000");
        c.tff(1.23456789e+08, b'g', 0, "1e+08");
        c.tff(1.23456789e+08, b'g', 3, "1.23e+08");
        c.tff(1.23456789e+08, b'g', 17, "123456789");
        c.tff(1.23456789e+08, b'x', 0, "0x1p+27");
        c.tff(1.23456789e+08, b'x', 3, "0x1.d6fp+26");
        c.tff(1.23456789e+08, b'x', 17, "0x1.d6f34540000000000p+26");
        c.tff(5e-324, b'e', 0, "5e-324");
        c.tff(5e-324, b'e', 3, "4.941e-324");
        c.tff(5e-324, b'e', 17, "4.94065645841246544e-324");
        c.tff(5e-324, b'f', 0, "0");
        c.tff(5e-324, b'f', 3, "0.000");
        c.tff(5e-324, b'f', 17, "0.00000000000000000");
        c.tff(5e-324, b'g', 0, "5e-324");
        c.tff(5e-324, b'g', 3, "4.94e-324");
        c.tff(5e-324, b'g', 17, "4.9406564584124654e-324");
        c.tff(5e-324, b'x', 0, "0x1p-1074");
        c.tff(5e-324, b'x', 3, "0x1.000p-1074");
        c.tff(5e-324, b'x', 17, "0x1.00000000000000000p-1074");
        c.tff(1e+21, b'e', 0, "1e+21");
        c.tff(1e+21, b'e', 3, "1.000e+21");
        c.tff(1e+21, b'e', 17, "1.00000000000000000e+21");
        c.tff(1e+21, b'f', 0, "1000000000000000000000");
        c.tff(1e+21, b'f', 3, "1000000000000000000000.000");
        c.tff(1e+21, b'f', 17, "1000000000000000000000.00000000000000000");
        c.tff(1e+21, b'g', 0, "1e+21");
        c.tff(1e+21, b'g', 3, "1e+21");
        c.tff(1e+21, b'g', 17, "1e+21");
        c.tff(1e+21, b'x', 0, "0x1p+70");
        c.tff(1e+21, b'x', 3, "0x1.b1bp+69");
        c.tff(1e+21, b'x', 17, "0x1.b1ae4d6e2ef500000p+69");
        c.tff(9.007199254740992e+15, b'e', 0, "9e+15");
        c.tff(9.007199254740992e+15, b'e', 3, "9.007e+15");
        c.tff(9.007199254740992e+15, b'e', 17, "9.00719925474099200e+15");
        c.tff(9.007199254740992e+15, b'f', 0, "9007199254740992");
        c.tff(9.007199254740992e+15, b'f', 3, "9007199254740992.000");
        c.tff(
            9.007199254740992e+15,
            b'f',
            17,
            "9007199254740992.00000000000000000",
        );
        c.tff(9.007199254740992e+15, b'g', 0, "9e+15");
        c.tff(9.007199254740992e+15, b'g', 3, "9.01e+15");
        c.tff(9.007199254740992e+15, b'g', 17, "9007199254740992");
        c.tff(9.007199254740992e+15, b'x', 0, "0x1p+53");
        c.tff(9.007199254740992e+15, b'x', 3, "0x1.000p+53");
        c.tff(9.007199254740992e+15, b'x', 17, "0x1.00000000000000000p+53");
        c.tff(0.000123456, b'e', 0, "1e-04");
        c.tff(0.000123456, b'e', 3, "1.235e-04");
        c.tff(0.000123456, b'e', 17, "1.23456000000000005e-04");
        c.tff(0.000123456, b'f', 0, "0");
        c.tff(0.000123456, b'f', 3, "0.000");
        c.tff(0.000123456, b'f', 17, "0.00012345600000000");
        c.tff(0.000123456, b'g', 0, "0.0001");
        c.tff(0.000123456, b'g', 3, "0.000123");
        c.tff(0.000123456, b'g', 17, "0.00012345600000000001");
        c.tff(0.000123456, b'x', 0, "0x1p-13");
        c.tff(0.000123456, b'x', 3, "0x1.02ep-13");
        c.tff(0.000123456, b'x', 17, "0x1.02e7ef70994dd0000p-13");
        c.tff(-2.5, b'E', 3, "-2.500E+00");
        c.tff(1e-10, b'G', -1, "1E-10");
        c.tff(-1.5, b'X', 1, "-0X1.8P+00");
        c.tff(1.0, b'z', -1, "%z");
        c.tff(1.5, b'f', 400, "1.5000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
        c.tff(
            1e-320,
            b'e',
            50,
            "9.99988867182683005413375236765280057666881040491393e-321",
        );
        c.tff(1e+300, b'f', -1, "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
        c.tff(1e+300, b'g', 300, "1.00000000000000005250476025520442024870446858110815915491585411551180245798890819578637137508044786404370444383288387817694252323536043057564479218478670698284838720092657580373783023379478809005936895323497079994508111903896764088007465274278014249457925878882005684283811566947219638686545940054016e+300");
        c.done();
    }

    /// `strconv.Quote`, including non-printable and non-ASCII runes.
    #[test]
    fn quote_matches_go() {
        let mut c = Check::default();
        c.tq("", "\"\"");
        c.tq("abc", "\"abc\"");
        c.tq("a\"b", "\"a\\\"b\"");
        c.tq("\\", "\"\\\\\"");
        c.tq(
            "\u{7}\u{8}\u{c}\u{a}\u{d}\u{9}\u{b}",
            "\"\\a\\b\\f\\n\\r\\t\\v\"",
        );
        c.tq("\u{0}\u{1}\u{1f}\u{7f}", "\"\\x00\\x01\\x1f\\x7f\"");
        c.tq(
            "\u{e9}\u{65e5}\u{672c}\u{1f600}",
            "\"\u{e9}\u{65e5}\u{672c}\u{1f600}\"",
        );
        c.tq(
            "\u{80}\u{9f}\u{a0}\u{ad}",
            "\"\\u0080\\u009f\\u00a0\\u00ad\"",
        );
        c.tq(
            "\u{200b}\u{200e}\u{2028}\u{2029}\u{feff}\u{fffd}",
            "\"\\u200b\\u200e\\u2028\\u2029\\ufeff\u{fffd}\"",
        );
        c.tq(
            "\u{378}\u{379}\u{e0001}\u{f0000}\u{10ffff}",
            "\"\\u0378\\u0379\\U000e0001\\U000f0000\\U0010ffff\"",
        );
        c.tq("\u{300}a\u{301}", "\"\u{300}a\u{301}\"");
        c.tq("`", "\"`\"");
        c.tq("'", "\"'\"");
        c.tq("\u{3000}\u{a0}\u{1680}", "\"\\u3000\\u00a0\\u1680\"");
        c.tq(
            "\u{1f600}\u{1fadb}\u{1fadc}",
            "\"\u{1f600}\u{1fadb}\\U0001fadc\"",
        );
        c.tq("\u{e000}\u{f8ff}", "\"\\ue000\\uf8ff\"");
        c.tq("\u{61c}\u{180e}", "\"\\u061c\\u180e\"");
        c.done();
    }

    /// Rendered by the go-template-oracle (Go 1.23 text/template) with the data
    /// `{"l":["a",1,2.5,{"k":[true,null]}],"m":{"b":1,"a":"x"},"n":3}`: JSON numbers are float64.
    #[test]
    fn template_oracle() {
        let mut c = Check::default();
        let kl = l(vec![b(true), N]);
        let dl = l(vec![s("a"), f(1.0), f(2.5), m(vec![("k", kl)])]);
        let dm = m(vec![("a", s("x")), ("b", f(1.0))]);
        let floats = [1e21, 1e20, 0.0001, 0.00001, -0.0, 100000000.0, 123456.0].map(f);
        c.tp(&floats, "1e+21 1e+20 0.0001 1e-05 -0 1e+08 123456");
        c.t(
            "%v|%d|%#v|%q|%x",
            &[dl.clone(), dl.clone(), dl.clone(), dl, dm.clone()],
            "[a 1 2.5 map[k:[true <nil>]]]|[%!d(string=a) %!d(float64=1) %!d(float64=2.5) \
             map[%!d(string=k):[%!d(bool=true) <nil>]]]|[]interface {}{\"a\", 1, 2.5, \
             map[string]interface {}{\"k\":[]interface {}{true, interface {}(nil)}}}|[\"a\" \
             %!q(float64=1) %!q(float64=2.5) map[\"k\":[%!q(bool=true) <nil>]]]|map[61:78 62:0x1p+00]",
        );
        c.t(
            "%v %+v %T",
            &[dm.clone(), dm, f(3.0)],
            "map[a:x b:1] map[a:x b:1] float64",
        );
        let args = [
            f(3.14159),
            i(42),
            s("hi"),
            s("a\tb"),
            i('A' as i64),
            i('\u{e9}' as i64),
        ];
        c.t(
            "%08.3f|%-6d|%x|%q|%c|%U",
            &args,
            "0003.142|42    |6869|\"a\\tb\"|A|U+00E9",
        );
        c.tpln(&[i(1), s("a"), f(2.5), N], "1 a 2.5 <nil>\n");
        c.done();
    }
}
