//! Go's `fmt` printer (`fmt/print.go`): `Sprint`, `Sprintln`, `Sprintf` and `%v` of every kind
//! of value — lists, maps, structs, pointers and objects with a `String` method — plus Printf's
//! verb loop (`doPrintf`: flags, `*` widths, `[n]` argument indexes, `%!verb(…)` error forms).
//!
//! It follows Go 1.23's `fmt/print.go` function by function (`printArg`, `printValue`,
//! `badVerb`, `doPrintf`, `argNumber`, …) so the two can be read side by side; the number and
//! string formatters it calls are in `format.rs`. It is our own because no crate prints values
//! byte for byte as Go's `fmt` does (Go's `%v` of maps, structs and nil, its error forms for bad
//! verbs and arguments, its flag handling).

use std::sync::Arc;

use super::format::{Flags, LDIGITS, UDIGITS};
use super::ftoa::append_float;
use crate::gostr::{self, GoStr, GoString, Sink};
use crate::value::{Object, Record, SortedMap, Value};

/// Printed for a pointer nested in a value; Go prints a real heap address, which varies per run.
const DATA_ADDR: u64 = 0xc000010000;
/// Printed for a function value; Go prints its code address.
const FUNC_ADDR: u64 = 0x4a5b60;

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

/// Appends what a template action prints for a value: Go's `printableValue` follows a pointer
/// to a struct once, so `&{a b}` prints `{a b}` (pointers inside it stay addresses).
pub fn write_indirect(out: &mut impl Sink, v: &Value) {
    match v {
        Value::Record(r) if r.ty.is_pointer() => {
            Printer::new(out).print_struct(r, r.ty.name.trim_start_matches('*'), 'v', 0)
        }
        // A field whose `String` has a pointer receiver is addressable here: Go calls it.
        Value::Object(o) if o.pointer_methods() => match o.call_method("String", &[]) {
            Some(Ok(shown)) => write_value(out, &shown),
            _ => write_value(out, v),
        },
        _ => write_value(out, v),
    }
}

/// Go's `reflect.Kind() == reflect.String`, which decides `Sprint`'s spacing.
fn is_string_kind(v: &Value) -> bool {
    match v {
        Value::Str(_) | Value::Bytes(_) => true,
        Value::Object(o) => matches!(o.underlying(), Value::Str(_) | Value::Bytes(_)),
        _ => false,
    }
}

/// Go's `pp` and `fmt` in one: the output and the state of the verb being printed. The
/// formatting half (Go's `fmt` type) is implemented in `format.rs`.
pub(super) struct Printer<'a, S: Sink> {
    pub(super) buf: &'a mut S,
    pub(super) f: Flags,
    /// Printing inside a bad-verb report: `String` methods are not called.
    erroring: bool,
    reordered: bool,
    good_arg_num: bool,
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

    // ---- printArg / printValue (print.go) ----

    /// `printArg`: the top level of an operand.
    fn print_arg(&mut self, arg: &Value, verb: char) {
        match (arg, verb) {
            (Value::Nil | Value::Missing, 'T' | 'v') => self.pad("<nil>"),
            (Value::Nil | Value::Missing, _) => self.bad_verb(verb, arg, None),
            (_, 'T') => self.fmt_s(arg.type_name().as_str().into()),
            (Value::Object(o), 'p') if o.is_nil() && o.type_name().starts_with('*') => {
                self.fmt_nil_pointer(o.type_name(), 'p')
            }
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
            Value::Complex(re, im) => self.fmt_complex(*re, *im, verb),
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
        // Go's `handleMethods`: `%#v` asks a `GoStringer` first, at any depth.
        if self.f.sharp_v && verb == 'v' && !self.erroring {
            if let Some(shown) = o.go_string() {
                return self.fmt_s(GoStr::Utf8(&shown));
            }
        }
        let stringer = !o.pointer_methods();
        if stringer
            && !self.erroring
            && !self.f.sharp_v
            && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
        {
            if let Some(Ok(shown)) = o.call_method("String", &[]) {
                if let Some(s) = shown.as_go_str() {
                    if !self.fmt_string(s, verb) {
                        self.bad_verb(verb, &shown, None);
                    }
                    return;
                }
            }
        }
        if o.is_nil() && self.f.sharp_v {
            // A nil pointer's type is parenthesized: `(*dependency.Node)(nil)`.
            let ty = o.type_name();
            if ty.starts_with('*') {
                self.buf.push('(');
                self.buf.push_str(ty);
                self.buf.push(')');
            } else {
                self.buf.push_str(ty);
            }
            self.buf.push_str("(nil)");
            return;
        }
        if o.is_nil() && o.type_name().starts_with('*') && matches!(o.underlying(), Value::Nil) {
            return self.fmt_nil_pointer(o.type_name(), verb);
        }
        if o.type_name().starts_with("<-chan ") || o.type_name().starts_with("chan ") {
            // Go prints a channel as its address.
            return self.fmt_pointer(&Value::List(Arc::default()), verb, Some(o.type_name()));
        }
        if let Some(entries) = o.entries() {
            return self.print_entries(&entries, verb, depth, o.type_name());
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

    fn print_map(&mut self, m: &SortedMap, verb: char, depth: usize, ty: Option<&str>) {
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

    /// A map whose keys are not strings (`map[int]T`), its entries in Go's order.
    fn print_entries(&mut self, entries: &[(Value, Value)], verb: char, depth: usize, ty: &str) {
        let sharp_v = self.f.sharp_v;
        if sharp_v {
            self.buf.push_str(ty);
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if sharp_v { ", " } else { " " });
            }
            self.print_value(k, verb, depth + 1, None);
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

    /// Go's `fmtPointer` of a nil pointer of type `ty`: `<nil>` padded to the width (unlike a
    /// nil interface), `0x0` for `%p`, zero for the integer verbs.
    fn fmt_nil_pointer(&mut self, ty: &str, verb: char) {
        match verb {
            'v' => self.pad("<nil>"),
            'p' => self.fmt_0x64(0, !self.f.sharp),
            'b' | 'o' | 'd' | 'x' | 'X' => {
                self.fmt_int(0, false, verb);
            }
            _ => {
                self.erroring = true;
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push('(');
                self.buf.push_str(ty);
                self.buf.push_str("=<nil>)");
                self.erroring = false;
            }
        }
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

    /// Go's `fmtComplex`: `(re+imi)`, each part printed as a float with the verb, width and
    /// flags, the imaginary part always signed. Bad verbs are found before anything is written.
    fn fmt_complex(&mut self, re: f64, im: f64, verb: char) -> bool {
        if !matches!(
            verb,
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E'
        ) {
            return false;
        }
        let old_plus = self.f.plus;
        self.buf.push('(');
        self.fmt_float_verb(re, verb);
        self.f.plus = true;
        self.fmt_float_verb(im, verb);
        self.buf.push_str("i)");
        self.f.plus = old_plus;
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

#[cfg(test)]
mod tests;
