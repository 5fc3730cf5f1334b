//! `timestamp`, with Go's `time.Format` layouts (`2006-01-02T15:04:05Z07:00`…) in UTC, and
//! the layout scanner and formatter that `gotime` (sprig's `time.Time` values, which carry a zone
//! offset) shares.
//!
//! Our own formatter because no crate reads Go's reference-time layouts; the calendar arithmetic
//! is Howard Hinnant's days-to-civil, so no date crate is needed.

use std::fmt::Write as _;

use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::{def, fail, string_arg};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "timestamp", Arity::AtLeast(0), |a| {
        let layout = match a {
            [] => None,
            [layout] => Some(string_arg(layout)?),
            _ => {
                return fail(format!(
                    "timestamp: wrong number of arguments, expected 0 or 1, but got {}",
                    a.len()
                ))
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let (secs, nanos) = (now.as_secs() as i64, now.subsec_nanos());
        Ok(Value::from(match layout.as_deref() {
            Some("unix") => secs.to_string(),
            Some(layout) => format_time(layout, secs, nanos),
            None => format_time(RFC3339, secs, nanos),
        }))
    });
}

pub(in crate::template::funcs) const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

/// A wall-clock time broken into Go's calendar fields.
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: usize,
    pub(super) day: i64,
    pub(super) yday: i64,
    pub(super) weekday: usize,
    pub(super) hour: i64,
    pub(super) min: i64,
    pub(super) sec: i64,
    pub(super) nanos: u32,
}

impl Civil {
    pub(super) fn from_unix(secs: i64, nanos: u32) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = CUM[month as usize - 1] + day + i64::from(leap && month > 2);
        Civil {
            year,
            month: month as usize,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7) as usize,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            nanos,
        }
    }
}

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(super) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's layout elements (`time.format.go`'s `std*` constants).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// A numeric zone (`-0700`, `-07:00`, `-07`, `-070000`, `-07:00:00`); `iso` for the `Z…`
    /// forms, which print `Z` at offset zero.
    Zone {
        iso: bool,
        form: ZoneForm,
    },
    /// Fractional seconds: separator, digits, whether trailing zeros go.
    Frac(u8, usize, bool),
}

/// How a numeric zone element writes the offset: hours, then minutes, then seconds, with or
/// without colons.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct ZoneForm {
    pub colons: bool,
    pub minutes: bool,
    pub seconds: bool,
}

/// Go's `nextStdChunk`: the literal prefix length, the element, and where the rest starts.
pub(super) fn next_std_chunk(l: &[u8]) -> Option<(usize, Std, usize)> {
    let at = |i: usize, s: &str| l[i..].starts_with(s.as_bytes());
    let lower_next = |i: usize| l.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..l.len() {
        let found = match l[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if at(i, "Jan") && !lower_next(i + 3) => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") && !lower_next(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::TZ, 3)),
            b'0' if l.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(l[i + 1] - b'1') as usize];
                Some((std, 2))
            }
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            // `_2006` is a literal `_` and a year.
            b'_' if at(i, "_2006") => return Some((i + 1, Std::LongYear, i + 5)),
            b'_' if at(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::PM, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => zone_chunk(&l[i..]),
            b'.' | b',' if matches!(l.get(i + 1), Some(b'0' | b'9')) => {
                let ch = l[i + 1];
                let n = l[i + 1..].iter().take_while(|&&c| c == ch).count();
                let end = i + 1 + n;
                // Only digits that end here are a fraction.
                if l.get(end).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(l[i], n, ch == b'9'), n + 1))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return Some((i, std, i + len));
        }
    }
    None
}

/// The numeric (`-07…`) and ISO 8601 (`Z07…`) zone elements.
fn zone_chunk(l: &[u8]) -> Option<(Std, usize)> {
    const FORMS: [(&str, bool, bool, bool); 5] = [
        ("070000", false, true, true),
        ("07:00:00", true, true, true),
        ("0700", false, true, false),
        ("07:00", true, true, false),
        ("07", false, false, false),
    ];
    let rest = &l[1..];
    let (form, colons, minutes, seconds) = FORMS
        .iter()
        .find(|(f, ..)| rest.starts_with(f.as_bytes()))?;
    let std = Std::Zone {
        iso: l[0] == b'Z',
        form: ZoneForm {
            colons: *colons,
            minutes: *minutes,
            seconds: *seconds,
        },
    };
    Some((std, 1 + form.len()))
}

/// Go's `Time.Format` in UTC.
pub(in crate::template::funcs) fn format_time(layout: &str, secs: i64, nanos: u32) -> String {
    format_time_in(layout, secs, nanos, 0, "UTC")
}

/// Go's `Time.Format` in a zone `offset` seconds east of UTC named `zone` (`""` for a zone
/// without a name, which `MST` writes as `-0700`).
pub(super) fn format_time_in(
    layout: &str,
    secs: i64,
    nanos: u32,
    offset: i64,
    zone: &str,
) -> String {
    let t = Civil::from_unix(secs.saturating_add(offset), nanos);
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout.as_bytes();
    while let Some((prefix, std, next)) = next_std_chunk(rest) {
        out.push_str(&String::from_utf8_lossy(&rest[..prefix]));
        format_std(&mut out, std, &t, offset, zone);
        rest = &rest[next..];
    }
    out.push_str(&String::from_utf8_lossy(rest));
    out
}

fn format_std(out: &mut String, std: Std, t: &Civil, offset: i64, zone: &str) {
    let hour12 = if t.hour % 12 == 0 { 12 } else { t.hour % 12 };
    let _ = match std {
        Std::LongMonth => write!(out, "{}", MONTHS[t.month - 1]),
        Std::Month => write!(out, "{}", &MONTHS[t.month - 1][..3]),
        Std::NumMonth => write!(out, "{}", t.month),
        Std::ZeroMonth => write!(out, "{:02}", t.month),
        Std::LongWeekDay => write!(out, "{}", DAYS[t.weekday]),
        Std::WeekDay => write!(out, "{}", &DAYS[t.weekday][..3]),
        Std::Day => write!(out, "{}", t.day),
        Std::UnderDay => write!(out, "{:>2}", t.day),
        Std::ZeroDay => write!(out, "{:02}", t.day),
        Std::UnderYearDay => write!(out, "{:>3}", t.yday),
        Std::ZeroYearDay => write!(out, "{:03}", t.yday),
        Std::Hour => write!(out, "{:02}", t.hour),
        Std::Hour12 => write!(out, "{hour12}"),
        Std::ZeroHour12 => write!(out, "{hour12:02}"),
        Std::Minute => write!(out, "{}", t.min),
        Std::ZeroMinute => write!(out, "{:02}", t.min),
        Std::Second => write!(out, "{}", t.sec),
        Std::ZeroSecond => write!(out, "{:02}", t.sec),
        Std::LongYear => write!(out, "{:04}", t.year),
        Std::Year => write!(out, "{:02}", t.year.rem_euclid(100)),
        Std::PM => write!(out, "{}", if t.hour >= 12 { "PM" } else { "AM" }),
        Std::Pm => write!(out, "{}", if t.hour >= 12 { "pm" } else { "am" }),
        Std::TZ if !zone.is_empty() => write!(out, "{zone}"),
        Std::TZ => {
            let form = ZoneForm {
                colons: false,
                minutes: true,
                seconds: false,
            };
            write!(out, "{}", zone_offset(offset, form))
        }
        Std::Zone { iso: true, .. } if offset == 0 => write!(out, "Z"),
        Std::Zone { form, .. } => write!(out, "{}", zone_offset(offset, form)),
        Std::Frac(sep, n, trim) => {
            let digits = format!("{:09}", t.nanos);
            let mut digits = &digits[..n.min(9)];
            if trim {
                digits = digits.trim_end_matches('0');
            }
            if !digits.is_empty() || !trim {
                out.push(char::from(sep));
            }
            write!(out, "{digits}")
        }
    };
}

/// A zone offset as Go writes it: `+hh`, then `mm`, then `ss`, colons as the form says.
fn zone_offset(offset: i64, form: ZoneForm) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.abs();
    let sep = if form.colons { ":" } else { "" };
    let mut out = format!("{sign}{:02}", abs / 3600);
    if form.minutes {
        let _ = write!(out, "{sep}{:02}", abs / 60 % 60);
    }
    if form.seconds {
        let _ = write!(out, "{sep}{:02}", abs % 60);
    }
    out
}
