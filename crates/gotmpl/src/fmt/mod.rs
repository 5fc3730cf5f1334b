//! Go's `fmt` as templates use it — `Sprint`, `Sprintln`, `Sprintf` with every verb and flag —
//! and the parts of `strconv` it needs: float formatting and quoting.
//!
//! A port of Go 1.23, split along Go's own files so the two can be read side by side, with Go's
//! function names:
//!
//! - `print.rs`: `fmt/print.go`, the printer: `%v` of every kind of value and Printf's verb loop;
//! - `format.rs`: `fmt/format.go`, integers, runes, strings and floats laid out with flags,
//!   width and precision;
//! - `ftoa.rs`: `strconv/ftoa.go`, `strconv.FormatFloat`;
//! - `quote.rs`: `strconv/quote.go` and `isprint.go`, `strconv.Quote` and `IsPrint`.
//!
//! It is our own rather than a crate because none prints byte for byte as Go's `fmt` and
//! `strconv` do, and templates must.

mod format;
mod ftoa;
mod print;
mod quote;

#[cfg(test)]
mod check;

pub use ftoa::format_float;
pub use print::{fprint, sprint, sprintf, sprintln, write_indirect, write_value};
pub use quote::{is_print, quote, quote_go};
