//! sprig's number functions: `int`, `int64`, `float64`, `atoi`, integer arithmetic, `max`/`min`,
//! `until`, `untilStep`, `seq`; conversions follow spf13/cast (bad input is 0, not an error).

use super::sdef;
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::collections::LOOP_LIMIT;
use crate::template::funcs::math::{int_op, MathOp};
use crate::template::funcs::strconv::{go_parse_float, go_parse_int, parse_int_base0};
use crate::template::funcs::{fail, int_arg, lossy, string_arg, Res};

/// spf13/cast's `ToInt64`: numbers truncated, bools 1/0, strings in Go syntax (base prefixes,
/// `1.0`), anything else 0.
fn cast_int(v: &Value) -> i64 {
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

fn cast_float(v: &Value) -> f64 {
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
    sdef(funcs, "max", AtLeast(1), |a| {
        Ok(Value::Int(a.iter().map(cast_int).max().unwrap_or(0)))
    });
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
