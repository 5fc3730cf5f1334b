//! sprig's date and duration functions: `duration` (seconds → `Duration.String`),
//! `durationRound` (the largest whole unit: `2h`, `3mo`, `1y`), `ago` (time since a Unix time or
//! a `time.Time`, to the second), and the `time.Time` makers and readers `toDate`/`mustToDate`
//! (`time.ParseInLocation` in the local zone), `unixEpoch` and `mustDateModify` (which sprig
//! also registers as `must_date_modify`). The `time.Time` values are `local::gotime`'s.
//!
//! sprig switches on Go's dynamic types: only a string or an `int64` counts as a number of
//! seconds for `duration` (nanoseconds for `durationRound`), so a plain `int` constant gives
//! `0s` as in Go; `ago` takes an `int`, an `int64` or a `time.Time` and anything else as now.
//! These functions therefore see `int64` values as `int64` (`Func::keeping_types`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::sdef;
use crate::duration::{format_nanos, parse_nanos};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::local::gotime::{parse_in_local, GoTime, TIME_TYPE};
use crate::template::funcs::string_arg;

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "duration", Exact(1), |a| {
        let seconds = match &a[0] {
            Value::Str(_) | Value::Bytes(_) => go_parse_int(&a[0]),
            v => int64_of(v).unwrap_or(0),
        };
        Ok(Value::from(format_nanos(
            seconds.wrapping_mul(1_000_000_000),
        )))
    });
    sdef(funcs, "durationRound", Exact(1), |a| {
        let nanos = match &a[0] {
            Value::Str(_) | Value::Bytes(_) => {
                parse_nanos(&crate::template::funcs::lossy(&a[0])).unwrap_or(0)
            }
            v => match GoTime::from_value(v) {
                Some(t) => since(t.unix_nanos()),
                None => int64_of(v).unwrap_or(0),
            },
        };
        Ok(Value::from(round_duration(nanos)))
    });
    sdef(funcs, "ago", Exact(1), |a| {
        let then = match &a[0] {
            Value::Int(secs) => i128::from(*secs) * 1_000_000_000,
            v => match (GoTime::from_value(v), int64_of(v)) {
                (Some(t), _) => t.unix_nanos(),
                (_, Some(secs)) => i128::from(secs) * 1_000_000_000,
                _ => now_nanos(),
            },
        };
        Ok(Value::from(format_nanos(round_to_second(since(then)))))
    });
    sdef(funcs, "toDate", Exact(2), |a| {
        let (layout, value) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(parse_in_local(&layout, &value)
            .unwrap_or_else(|_| GoTime::zero())
            .value())
    });
    sdef(funcs, "mustToDate", Exact(2), |a| {
        let (layout, value) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(parse_in_local(&layout, &value).map_err(FuncError)?.value())
    });
    sdef(funcs, "unixEpoch", Exact(1), |a| {
        Ok(Value::from(time_arg(&a[0])?.secs.to_string()))
    });
    for name in ["mustDateModify", "must_date_modify"] {
        sdef(funcs, name, Exact(2), |a| {
            let nanos = parse_nanos(&string_arg(&a[0])?).map_err(FuncError)?;
            Ok(time_arg(&a[1])?.add_nanos(nanos).value())
        });
    }
    // Go's signatures: the executor checks these arguments as Go's `evalArg` does.
    funcs.set_params("sprig_toDate", &["string", "string"], None);
    funcs.set_params("sprig_mustToDate", &["string", "string"], None);
    funcs.set_params("sprig_unixEpoch", &[TIME_TYPE], None);
    funcs.set_params("sprig_mustDateModify", &["string", TIME_TYPE], None);
    funcs.set_params("sprig_must_date_modify", &["string", TIME_TYPE], None);
    for name in ["sprig_duration", "sprig_durationRound", "sprig_ago"] {
        funcs.keep_types(name);
    }
}

/// A `time.Time` parameter (the executor has checked the type; this keeps bad input an error).
fn time_arg(v: &Value) -> Result<&GoTime, FuncError> {
    GoTime::from_value(v).ok_or_else(|| {
        FuncError(format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        ))
    })
}

/// An `int64` as sprig's type switches see one (not a plain `int`).
fn int64_of(v: &Value) -> Option<i64> {
    match (v.static_type(), v.resolved()) {
        (Some("int64"), Value::Int(n)) => Some(n),
        _ => None,
    }
}

/// `time.Since`, in nanoseconds, clamped to a `Duration`.
fn since(then: i128) -> i64 {
    (now_nanos() - then).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `strconv.ParseInt(s, 10, 64)`, 0 on error (sprig ignores it).
fn go_parse_int(v: &Value) -> i64 {
    let s = crate::template::funcs::lossy(v);
    let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse().unwrap_or(0)
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// `Duration.Round(time.Second)`: halves away from zero.
fn round_to_second(nanos: i64) -> i64 {
    let second = 1_000_000_000i64;
    let r = nanos % second;
    let down = nanos - r;
    if r.abs() * 2 < second {
        down
    } else if nanos < 0 {
        down.saturating_sub(second)
    } else {
        down.saturating_add(second)
    }
}

/// sprig's `durationRound`: the count of the largest unit the duration exceeds.
fn round_duration(nanos: i64) -> String {
    let u = nanos.unsigned_abs();
    let hour = 3_600_000_000_000u64;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    units
        .iter()
        .find(|(size, _)| u > *size)
        .map_or("0s".to_string(), |(size, name)| {
            format!("{}{name}", u / size)
        })
}
