//! Go's `strconv` parsers (`ParseInt`, `ParseUint`, `ParseFloat`, `ParseBool`, base-0 `ParseInt`)
//! and consul-template's `parseBool`/`parseInt`/`parseUint`/`parseFloat` on top of them.
//!
//! Our own code because Rust's `str::parse` accepts and refuses different inputs (`_`
//! separators, hex floats, `inf`/`infinity`) and its errors are not Go's `strconv.X: parsing "s":
//! invalid syntax` / `value out of range`.

use super::{def, string_arg};
use crate::gotmpl::{printf, Arity, FuncError, FuncMap, Typed, Value};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "parseBool", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Bool(false));
        }
        Ok(Value::Bool(
            go_parse_bool(&s).map_err(|e| format!("parseBool: {e}"))?,
        ))
    });
    def(funcs, "parseInt", Arity::Exact(1), |a| {
        Ok(Typed::int64(parse_int_empty_zero(&string_arg(&a[0])?)?))
    });
    def(funcs, "parseUint", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Uint(0));
        }
        let v = go_parse_uint(&s, 10, 64, "ParseUint").map_err(|e| format!("parseUint: {e}"))?;
        Ok(Value::Uint(v))
    });
    def(funcs, "parseFloat", Arity::Exact(1), |a| {
        let s = string_arg(&a[0])?;
        if s.is_empty() {
            return Ok(Value::Float(0.0));
        }
        Ok(Value::Float(
            go_parse_float(&s).map_err(|e| format!("parseFloat: {e}"))?,
        ))
    });
}

fn num_error(func: &str, s: &str, what: &str) -> String {
    format!("strconv.{func}: parsing {}: {what}", printf::quote(s))
}

/// `strconv.ParseUint(s, base, bits)` for base 8 or 10; `func` names the caller in messages.
pub(super) fn go_parse_uint(s: &str, base: u32, bits: u32, func: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err(num_error(func, s, "invalid syntax"));
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    for c in s.chars() {
        let d = c.to_digit(10).filter(|&d| d < base);
        let Some(d) = d else {
            return Err(num_error(func, s, "invalid syntax"));
        };
        match n
            .checked_mul(u64::from(base))
            .and_then(|n| n.checked_add(u64::from(d)))
        {
            Some(v) if v <= max => n = v,
            _ => return Err(num_error(func, s, "value out of range")),
        }
    }
    Ok(n)
}

/// `strconv.ParseInt(s, 10, 64)` (and `Atoi`, whose messages say `Atoi`).
pub(super) fn go_parse_int(s: &str, func: &str) -> Result<i64, String> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(digits, 10, 64, func).map_err(|e| {
        // The message quotes the whole input, sign included.
        let what = if e.ends_with("value out of range") {
            "value out of range"
        } else {
            "invalid syntax"
        };
        num_error(func, s, what)
    })?;
    let limit = if neg { 1u64 << 63 } else { (1u64 << 63) - 1 };
    if u > limit {
        return Err(num_error(func, s, "value out of range"));
    }
    Ok(if neg {
        (u as i64).wrapping_neg()
    } else {
        u as i64
    })
}

pub(super) fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(num_error("ParseBool", s, "invalid syntax")),
    }
}

/// `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, `_` between digits, `inf`,
/// `infinity` and `nan`; a value too large is a range error.
pub(super) fn go_parse_float(s: &str) -> Result<f64, String> {
    let syntax = || num_error("ParseFloat", s, "invalid syntax");
    if let Some(special) = float_special(s) {
        return Ok(special);
    }
    let plain;
    let mut t = s;
    if s.contains('_') {
        if !underscore_ok(s) {
            return Err(syntax());
        }
        plain = s.replace('_', "");
        t = &plain;
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.starts_with("0x") || body.starts_with("0X") {
        parse_hex_float(&body[2..]).ok_or_else(syntax)?
    } else {
        let valid = body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
            && body
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'.');
        if !valid {
            return Err(syntax());
        }
        body.parse::<f64>().map_err(|_| syntax())?
    };
    if v.is_infinite() {
        return Err(num_error("ParseFloat", s, "value out of range"));
    }
    Ok(if neg { -v } else { v })
}

/// Go's `special`: `[+-]inf`, `[+-]infinity` and `nan`, any case.
fn float_special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, rest) = match lower.as_bytes().first() {
        Some(b'-') => (-1.0, &lower[1..]),
        Some(b'+') => (1.0, &lower[1..]),
        _ => (1.0, &lower[..]),
    };
    match rest {
        "inf" | "infinity" => Some(sign * f64::INFINITY),
        "nan" if rest.len() == lower.len() => Some(f64::NAN),
        _ => None,
    }
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.trim_start_matches(['+', '-']).as_bytes();
    let (mut saw, mut i) = ('^', 0);
    let hex = b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'b' | b'o');
    if hex {
        i = 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

/// A hexadecimal float after `0x`: mantissa digits, an optional point, and a `p` exponent
/// (which Go requires).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = i32::try_from(frac.len())
        .unwrap_or(i32::MAX)
        .saturating_mul(4);
    Some(v * 2f64.powi(exp.saturating_sub(shift)))
}

/// `strconv.ParseInt(s, 0, 64)`: `0x`, `0o`, `0b` and leading-`0` octal, `_` separators.
pub(super) fn parse_int_base0(s: &str) -> Option<i64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let t = s.replace('_', "");
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, &t[..]),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = match lower.as_bytes() {
        [b'0', b'x', ..] => (16, &lower[2..]),
        [b'0', b'o', ..] => (8, &lower[2..]),
        [b'0', b'b', ..] => (2, &lower[2..]),
        [b'0', _, ..] => (8, &lower[1..]),
        _ => (10, &lower[..]),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let u = u64::from_str_radix(digits, radix).ok()?;
    let limit = if neg { 1u64 << 63 } else { (1u64 << 63) - 1 };
    (u <= limit).then(|| {
        if neg {
            (u as i64).wrapping_neg()
        } else {
            u as i64
        }
    })
}

/// consul-template's `parseInt`: "" is 0, errors are wrapped.
pub(super) fn parse_int_empty_zero(s: &str) -> Result<i64, FuncError> {
    if s.is_empty() {
        return Ok(0);
    }
    go_parse_int(s, "ParseInt").map_err(|e| FuncError(format!("parseInt: {e}")))
}
