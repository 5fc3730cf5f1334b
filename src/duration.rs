//! Go's `time.ParseDuration` and `Duration.String`, which Consul and consul-template use for
//! every duration (`wait=60000ms`, `"interval": "5s"`, `1m30s`).
//!
//! Our own because no crate speaks Go's grammar both ways: `humantime` prints `1h` where Go
//! prints `1h0m0s`, takes units Go refuses (`days`, `min`) and words its errors its own way.

use std::time::Duration;

/// Parses a Go duration: an optional sign, then `<decimal><unit>` pairs (`ns us µs μs ms s m h`);
/// `0` alone is valid. Negative durations are rejected (we have no use for them).
pub fn parse(s: &str) -> Result<Duration, String> {
    let nanos = parse_nanos(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("time: invalid duration {}", quote(s)))
}

/// Like `parse` but keeps the sign, in nanoseconds, as Go's `time.Duration` does.
pub fn parse_nanos(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(s));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {}", quote(s))),
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(s)
                ))
            }
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = int.checked_mul(scale).ok_or_else(invalid)?;
        // The fraction, truncated to nanoseconds as Go does.
        let mut frac_scale = scale;
        for d in frac_part.bytes().take(30) {
            frac_scale /= 10;
            value += (d - b'0') as u128 * frac_scale;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + neg as u128 {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Go's `Duration.String`: `1h2m3.5s`, `300ms`, `1.5µs`, `0s`.
pub fn format(d: Duration) -> String {
    format_nanos(d.as_nanos().min(i64::MAX as u128) as i64)
}

pub fn format_nanos(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: the largest unit that keeps an integer part.
        let (unit, scale) = match u {
            0..=999 => ("ns", 1),
            1_000..=999_999 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
    } else {
        let hours = u / 3_600_000_000_000;
        let minutes = u / 60_000_000_000 % 60;
        let secs = u % 60_000_000_000;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&fraction(secs, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `value / scale` with the remainder as decimals, trailing zeros dropped.
fn fraction(value: u64, scale: u64) -> String {
    let int = value / scale;
    let rem = value % scale;
    if rem == 0 {
        return int.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let ms = |n| Ok(Duration::from_millis(n));
        assert_eq!(parse("60000ms"), ms(60_000));
        assert_eq!(parse("5m"), ms(300_000));
        assert_eq!(parse("1m30s"), ms(90_000));
        assert_eq!(parse("1.5h"), ms(5_400_000));
        assert_eq!(parse("0"), ms(0));
        assert_eq!(parse("1h0m0s"), ms(3_600_000));
        assert_eq!(parse("2.5µs"), Ok(Duration::from_nanos(2_500)));
        assert_eq!(parse(".5s"), ms(500));
        assert_eq!(
            parse("10"),
            Err("time: missing unit in duration \"10\"".into())
        );
        assert_eq!(
            parse("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert!(parse("").is_err());
        assert!(parse("s").is_err());
        assert!(parse("-1s").is_err());
        assert_eq!(parse_nanos("-1.5s"), Ok(-1_500_000_000));
    }

    #[test]
    fn formats_like_go() {
        let f = |ms| format(Duration::from_millis(ms));
        assert_eq!(f(0), "0s");
        assert_eq!(f(300), "300ms");
        assert_eq!(f(1500), "1.5s");
        assert_eq!(f(90_000), "1m30s");
        assert_eq!(f(300_000), "5m0s");
        assert_eq!(f(3_600_000), "1h0m0s");
        assert_eq!(format(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(format(Duration::from_nanos(7)), "7ns");
    }
}
