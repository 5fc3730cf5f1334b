//! The test harness shared by the `fmt` tests: every mismatch with Go is collected, so one run
//! shows them all.

use super::{format_float, quote, sprint, sprintf, sprintln, write_value};
use crate::value::Value;

/// The text of a result that must be UTF-8.
fn text(v: Value) -> String {
    v.as_str().expect("a UTF-8 result").to_string()
}

/// Collects every mismatch so that one run shows them all.
#[derive(Default)]
pub(super) struct Check {
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
    pub(super) fn t(&mut self, format: &str, args: &[Value], want: &str) {
        self.eq(
            format!("sprintf({format:?}, {args:?})"),
            text(sprintf(format, args)),
            want,
        );
    }
    /// `sprintf` whose format or result may not be UTF-8.
    pub(super) fn tb(&mut self, format: &[u8], args: &[Value], want: &[u8]) {
        let format = Value::from_bytes(format);
        let got = sprintf(format.as_go_str().unwrap(), args);
        self.eq(
            format!("sprintf({format:?}, {args:?})"),
            got.as_bytes().unwrap().escape_ascii().to_string(),
            &want.escape_ascii().to_string(),
        );
    }
    pub(super) fn w(&mut self, v: Value, want: &str) {
        let mut out = String::from(">");
        write_value(&mut out, &v);
        self.eq(format!("write_value({v:?})"), out, &format!(">{want}"));
        self.eq(format!("to_go_string({v:?})"), v.to_go_string(), want);
    }
    pub(super) fn tp(&mut self, args: &[Value], want: &str) {
        self.eq(format!("sprint({args:?})"), text(sprint(args)), want);
    }
    pub(super) fn tpln(&mut self, args: &[Value], want: &str) {
        self.eq(format!("sprintln({args:?})"), text(sprintln(args)), want);
    }
    pub(super) fn tff(&mut self, x: f64, fmt: u8, prec: i32, want: &str) {
        let what = format!("format_float({x:?}, {:?}, {prec})", fmt as char);
        self.eq(what, format_float(x, fmt, prec), want);
    }
    pub(super) fn tq(&mut self, x: &str, want: &str) {
        self.eq(format!("quote({x:?})"), quote(x), want);
    }
    pub(super) fn done(self) {
        assert!(
            self.fails.is_empty(),
            "{} of {} failed:\n{}",
            self.fails.len(),
            self.count,
            self.fails.join("\n")
        );
    }
}
