//! Go's `fmt/format.go`: how one operand is laid out once its verb is known — integers in any
//! base with sign, `#` prefixes and zero padding, `%c`/`%q`/`%U` of runes, `%s`/`%x`/`%q` of
//! strings, the flags around a float's digits, and padding to a width counted in runes.
//!
//! It follows Go 1.23's `fmt/format.go` (`fmtInteger`, `fmtUnicode`, `fmtSx`, `fmtQ`,
//! `fmtFloat`, `pad`, …) as methods on the printer of `print.rs`. It is our own because no crate
//! formats byte for byte as Go's `fmt` does (Go's flag combinations, `%x` of strings, its
//! zero padding of signed numbers and infinities).

use std::fmt::Write as _;

use super::ftoa::append_float;
use super::print::Printer;
use super::quote::{append_escaped_rune, append_quoted, can_backquote, is_print};
use crate::gostr::{GoStr, GoString, Sink};

/// Digits of every base up to 16, lower and upper case; index 16 is the `x` of a `0x` prefix.
pub(super) const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
pub(super) const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

/// The flags, width and precision of one verb (Go's `fmtFlags` plus `wid` and `prec`).
#[derive(Clone, Copy, Default)]
pub(super) struct Flags {
    pub(super) wid: usize,
    pub(super) prec: usize,
    pub(super) wid_present: bool,
    pub(super) prec_present: bool,
    pub(super) minus: bool,
    pub(super) plus: bool,
    pub(super) sharp: bool,
    pub(super) space: bool,
    pub(super) zero: bool,
    /// `%+v`: `plus` moves here so that numbers print no sign.
    pub(super) plus_v: bool,
    /// `%#v`: `sharp` moves here so that numbers print no `0x`.
    pub(super) sharp_v: bool,
}

/// An ASCII byte slice as a `str` (everything the number formatters build is ASCII).
pub(super) fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

impl<S: Sink> Printer<'_, S> {
    // ---- padding (format.go) ----

    pub(super) fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.push_repeat(c, n);
    }

    /// Appends `s` padded to the width (counted in runes, as Go does).
    pub(super) fn pad<'s>(&mut self, s: impl Into<GoStr<'s>>) {
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

    // ---- the formatters (format.go) ----

    pub(super) fn fmt_0x64(&mut self, v: u64, leading_0x: bool) {
        let sharp = std::mem::replace(&mut self.f.sharp, leading_0x);
        self.fmt_integer(v, 16, false, 'v', LDIGITS);
        self.f.sharp = sharp;
    }

    /// `fmt.fmtInteger`: digits right to left into a buffer, then zeros, prefix and sign.
    pub(super) fn fmt_integer(
        &mut self,
        u: u64,
        base: u64,
        signed: bool,
        verb: char,
        digits: &[u8; 17],
    ) {
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
    pub(super) fn fmt_unicode(&mut self, u: u64) {
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

    pub(super) fn fmt_c(&mut self, c: u64) {
        let mut b = [0u8; 4];
        let s: &str = to_rune(c).encode_utf8(&mut b);
        self.pad(s);
    }

    pub(super) fn fmt_qc(&mut self, c: u64) {
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

    pub(super) fn fmt_s(&mut self, s: GoStr<'_>) {
        let s = self.truncate(s);
        self.pad(s);
    }

    /// `%x` of a string: hex of its bytes, `% x` spaced, `%#x` with `0x` prefixes.
    pub(super) fn fmt_sx(&mut self, s: GoStr<'_>, digits: &[u8; 17]) {
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
    pub(super) fn fmt_q(&mut self, s: GoStr<'_>) {
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
    pub(super) fn fmt_float(&mut self, v: f64, verb: u8, prec: i32) {
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
