//! Go's `fmt` as templates use it: `Sprint`, `Sprintln`, `Sprintf` with every verb and flag, and
//! `strconv`'s float formatting and quoting.

use super::value::Value;

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let _ = args;
    todo!()
}

/// `fmt.Sprintln(args...)`: spaces between all operands and a trailing newline.
pub fn sprintln(args: &[Value]) -> String {
    let _ = args;
    todo!()
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let _ = (format, args);
    todo!()
}

/// Appends `%v` of one value, as `fmt.Fprint` prints it.
pub fn write_value(out: &mut String, v: &Value) {
    let _ = (out, v);
    todo!()
}

/// `strconv.FormatFloat(f, fmt, prec, 64)`; `prec` -1 is the shortest exact form.
pub fn format_float(f: f64, fmt: u8, prec: i32) -> String {
    let _ = (f, fmt, prec);
    todo!()
}

/// `strconv.Quote(s)`.
pub fn quote(s: &str) -> String {
    let _ = s;
    todo!()
}
