//! sprig's number functions: `int`, `int64`, `float64`, `atoi`, integer arithmetic, `max`/`min`,
//! `until`, `untilStep`, `seq`, the float functions (`maxf`, `round`, `addf`… on shopspring's
//! decimals, see `decimal`); conversions follow spf13/cast (bad input is 0, not an error).

use super::decimal::Decimal;
use super::sdef;
use super::text::random_below;
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::collections::LOOP_LIMIT;
use crate::template::funcs::math::{int_op, MathOp};
use crate::template::funcs::strconv::{go_parse_float, go_parse_int, parse_int_base0};
use crate::template::funcs::{fail, int_arg, lossy, string_arg, wrong_type, Res};

/// spf13/cast's `ToInt64`: numbers truncated, bools 1/0, strings in Go syntax (base prefixes,
/// `1.0`), anything else 0.
pub(super) fn cast_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Byte(b) => i64::from(*b),
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(_) | Value::Bytes(_) => {
            parse_int_base0(&trim_zero_decimal(&lossy(v))).unwrap_or(0)
        }
        _ => 0,
    }
}

pub(super) fn cast_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Byte(b) => f64::from(*b),
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(_) | Value::Bytes(_) => go_parse_float(&lossy(v)).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// cast's `trimZeroDecimal`: `"12.00"` → `"12"`.
fn trim_zero_decimal(s: &str) -> String {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (0..b.len()).rev() {
        match b[i] {
            b'.' if found_zero => return s[..i].to_string(),
            b'.' => return s.to_string(),
            b'0' => found_zero = true,
            _ => return s.to_string(),
        }
    }
    s.to_string()
}

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    for name in ["int", "int64"] {
        sdef(funcs, name, Exact(1), |a| Ok(Value::Int(cast_int(&a[0]))));
    }
    sdef(funcs, "float64", Exact(1), |a| {
        Ok(Value::Float(cast_float(&a[0])))
    });
    sdef(funcs, "atoi", Exact(1), |a| {
        Ok(Value::Int(
            go_parse_int(&string_arg(&a[0])?, "Atoi").unwrap_or(0),
        ))
    });
    sdef(funcs, "add", AtLeast(0), |a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |s, v| s.wrapping_add(cast_int(v))),
        ))
    });
    sdef(funcs, "add1", Exact(1), |a| {
        Ok(Value::Int(cast_int(&a[0]).wrapping_add(1)))
    });
    sdef(funcs, "sub", Exact(2), |a| {
        Ok(Value::Int(cast_int(&a[0]).wrapping_sub(cast_int(&a[1]))))
    });
    sdef(funcs, "mul", AtLeast(1), |a| {
        Ok(Value::Int(
            a.iter().fold(1i64, |p, v| p.wrapping_mul(cast_int(v))),
        ))
    });
    sdef(funcs, "div", Exact(2), |a| {
        Ok(Value::Int(int_op(
            MathOp::Div,
            cast_int(&a[0]),
            cast_int(&a[1]),
        )?))
    });
    sdef(funcs, "mod", Exact(2), |a| {
        Ok(Value::Int(int_op(
            MathOp::Mod,
            cast_int(&a[0]),
            cast_int(&a[1]),
        )?))
    });
    for name in ["max", "biggest"] {
        sdef(funcs, name, AtLeast(1), |a| {
            Ok(Value::Int(a.iter().map(cast_int).max().unwrap_or(0)))
        });
    }
    sdef(funcs, "min", AtLeast(1), |a| {
        Ok(Value::Int(a.iter().map(cast_int).min().unwrap_or(0)))
    });
    sdef(funcs, "until", Exact(1), |a| {
        let n = int_arg(&a[0])?;
        int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?)
    });
    sdef(funcs, "untilStep", Exact(3), |a| {
        int_list(until_step(
            int_arg(&a[0])?,
            int_arg(&a[1])?,
            int_arg(&a[2])?,
        )?)
    });
    sdef(funcs, "seq", AtLeast(0), |a| {
        let p = a.iter().map(int_arg).collect::<Result<Vec<_>, _>>()?;
        let range = match p[..] {
            [end] => {
                let inc = if end < 1 { -1 } else { 1 };
                until_step(1, end.saturating_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(start, end.saturating_add(step), step)?
            }
            [start, step, end] if !(end < start && step > 0) => {
                let inc = if end < start { -1 } else { 1 };
                until_step(start, end.saturating_add(inc), step)?
            }
            _ => Vec::new(),
        };
        let shown: Vec<String> = range.iter().map(i64::to_string).collect();
        Ok(Value::from(shown.join(" ")))
    });
}

/// The float functions: `maxf`, `minf`, `ceil`, `floor`, `round`, `toDecimal`, `randInt` and
/// the decimal arithmetic of `add1f`, `addf`, `subf`, `mulf`, `divf`.
pub(super) fn register_floats(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    sdef(funcs, "maxf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(cast_float)
                .fold(cast_float(&a[0]), go_max),
        ))
    });
    sdef(funcs, "minf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(cast_float)
                .fold(cast_float(&a[0]), go_min),
        ))
    });
    sdef(funcs, "ceil", Exact(1), |a| {
        Ok(Value::Float(cast_float(&a[0]).ceil()))
    });
    sdef(funcs, "floor", Exact(1), |a| {
        Ok(Value::Float(cast_float(&a[0]).floor()))
    });
    sdef(funcs, "round", AtLeast(2), |a| {
        let places = int_arg(&a[1])?;
        let round_on = match a.get(2) {
            Some(v) => float_arg(v)?,
            None => 0.5,
        };
        Ok(Value::Float(round(cast_float(&a[0]), places, round_on)))
    });
    sdef(funcs, "toDecimal", Exact(1), |a| {
        let text = lossy(&a[0]);
        Ok(Value::Int(go_parse_octal(&text).unwrap_or(0)))
    });
    sdef(funcs, "randInt", Exact(2), |a| {
        let (min, max) = (int_arg(&a[0])?, int_arg(&a[1])?);
        if max <= min {
            return fail("invalid argument to Intn");
        }
        let span = max.abs_diff(min);
        Ok(Value::Int(min.wrapping_add(random_below(span) as i64)))
    });
    type DecFn = (
        &'static str,
        fn(&Decimal, &Decimal) -> Result<Decimal, FuncError>,
    );
    let ops: [DecFn; 4] = [
        ("subf", |x, y| Ok(x.add(&y.neg()))),
        ("mulf", |x, y| Ok(x.mul(y))),
        ("divf", |x, y| x.div_round(y, 16)),
        ("addf", |x, y| Ok(x.add(y))),
    ];
    for (name, op) in ops {
        // `addf` starts from 0 and may have no arguments; the others start from the first.
        let at_least = usize::from(name != "addf");
        sdef(funcs, name, AtLeast(at_least), move |a| {
            let (start, rest) = if name == "addf" {
                (Decimal::from_f64(0.0), a)
            } else {
                (Decimal::from_f64(cast_float(&a[0])), &a[1..])
            };
            let mut acc = start;
            for v in rest {
                acc = op(&acc, &Decimal::from_f64(cast_float(v)))?;
            }
            Ok(Value::Float(acc.to_f64()))
        });
    }
    sdef(funcs, "add1f", Exact(1), |a| {
        let sum = Decimal::from_f64(cast_float(&a[0])).add(&Decimal::from_f64(1.0));
        Ok(Value::Float(sum.to_f64()))
    });
}

/// A `float64` parameter: a float, or an integer constant Go converts.
fn float_arg(v: &Value) -> Result<f64, FuncError> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        v => Err(wrong_type("float64", v)),
    }
}

/// Go's `math.Max`: NaN wins, and +0 beats -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: NaN wins, and -0 beats +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y {
        x
    } else {
        y
    }
}

/// sprig's `round`: scale by 10^places, compare the fraction with `round_on`, unscale.
fn round(value: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * value;
    let fraction = digit - digit.trunc();
    let rounded = if fraction >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

/// Go's `strconv.ParseInt(s, 8, 64)`: an optional sign, octal digits, no prefix or `_`.
fn go_parse_octal(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, 8).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// sprig's `untilStep` (a step away from `stop` gives nothing), bounded like `loop`.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let going_up = stop >= start;
    if (going_up && step <= 0) || (!going_up && step >= 0) {
        return Ok(Vec::new());
    }
    let count = (stop.abs_diff(start)).div_ceil(step.unsigned_abs());
    if count > LOOP_LIMIT as u64 {
        return fail(format!("more than {LOOP_LIMIT} items"));
    }
    let at = |i: u64| (i128::from(start) + i128::from(i) * i128::from(step)) as i64;
    Ok((0..count).map(at).collect())
}

fn int_list(v: Vec<i64>) -> Res {
    Ok(Value::list(v.into_iter().map(Value::Int).collect()))
}
