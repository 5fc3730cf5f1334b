//! sprig's duration functions: `duration` (seconds → `Duration.String`), `durationRound` (the
//! largest whole unit: `2h`, `3mo`, `1y`) and `ago` (time since a Unix time, to the second).
//! sprig switches on Go's dynamic types: only a string or an `int64` counts as a number of
//! seconds for `duration`/`durationRound`, so a plain `int` constant gives `0s` as in Go; `ago`
//! takes an `int` (or `int64`) of Unix seconds and anything else as now.
//!
//! The `time.Time` functions (`toDate`, `mustToDate`, `unixEpoch`, `mustDateModify`) are refused:
//! nothing else in the library makes a `time.Time`.

use std::time::{SystemTime, UNIX_EPOCH};

use super::sdef;
use crate::duration::{format_nanos, parse_nanos};
use crate::gotmpl::{Arity, FuncMap, Value};

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "duration", Exact(1), |a| {
        let seconds = match &a[0] {
            Value::Str(_) | Value::Bytes(_) => go_parse_int(&a[0]),
            _ => 0,
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
            _ => 0,
        };
        Ok(Value::from(round_duration(nanos)))
    });
    sdef(funcs, "ago", Exact(1), |a| {
        let now = now_nanos();
        let then = match &a[0] {
            Value::Int(secs) => i128::from(*secs) * 1_000_000_000,
            _ => now,
        };
        let since = (now - then).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        Ok(Value::from(format_nanos(round_to_second(since))))
    });
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
