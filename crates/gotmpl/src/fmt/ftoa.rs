//! `strconv.FormatFloat` for float64 (Go's `strconv/ftoa.go`): the shortest form that reads
//! back exactly, and `%e`, `%f`, `%g`, `%b` and `%x` at any precision.
//!
//! It follows Go 1.23's `strconv/ftoa.go` (`genericFtoa`, `formatDigits`, `fmtE`, `fmtF`, `fmtB`,
//! `fmtX`). The decimal digits come from Rust's formatter (shortest round-trip, or exactly rounded
//! for a fixed precision), which yields the same digits as Go's Ryu and big-decimal paths; the
//! layout around them is Go's. It is our own because no crate lays floats out byte for byte as
//! Go does (`1e+21`, `1e-05`, `%g`'s switch to exponents, `%x`'s rounding, `+Inf`).

use std::fmt::Write as _;

use super::format::{ascii, LDIGITS, UDIGITS};
use crate::gostr::Sink;

/// `strconv.FormatFloat(f, fmt, prec, 64)`; `prec` -1 is the shortest exact form.
pub fn format_float(f: f64, fmt: u8, prec: i32) -> String {
    let mut out = String::new();
    append_float(&mut out, f, fmt, prec);
    out
}

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
pub(super) fn append_float(dst: &mut impl Sink, v: f64, fmt: u8, prec: i32) {
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

#[cfg(test)]
mod tests {
    use super::super::check::Check;

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
}
