//! Go's `time.Time` as a template value, for sprig's `toDate`, `mustToDate`, `unixEpoch`,
//! `mustDateModify`, `ago` and `durationRound`: `time.ParseInLocation` over Go's reference
//! layouts (with `time`'s error texts), `String` (`2006-01-02 15:04:05.999999999 -0700 MST`),
//! `MarshalJSON` (RFC 3339 with nanoseconds), and the methods a template calls on it
//! (`.Unix`, `.Year`, `.Format`, `.UTC`…).
//!
//! ctmpl's `time.Local` is UTC (as in consul-template's container images and on this project's
//! machines): a time parsed without a zone, or with offset zero, prints `+0000 UTC`. A parsed
//! offset other than zero makes a zone without a name (`+0200 +0200`), a parsed abbreviation
//! other than `UTC` a zone of that name at offset zero, exactly as Go does when the local zone
//! does not know them.
//!
//! `%#v` prints Go's `Time.GoString` (`time.Date(2024, time.January, 2, 0, 0, 0, 0, time.Local)`),
//! which names the `*time.Location` the value carries, not its offset: so each time remembers
//! whether it is in `time.UTC` (`.UTC`, a `Z` in the input, the zero time), `time.Local` (what
//! `ParseInLocation` gives when the local zone matches) or a zone Go made up while parsing.

use std::any::Any;
use std::sync::Arc;

use super::time::{format_time_in, next_std_chunk, Civil, Std, DAYS, MONTHS};
use crate::gotmpl::{FuncError, Object, Value};

/// Go's type name for the value.
pub const TIME_TYPE: &str = "time.Time";

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero time's Unix seconds, negated).
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A `time.Time`: an instant (Unix seconds and nanoseconds) and the zone it is shown in.
#[derive(Clone, Debug, PartialEq)]
pub struct GoTime {
    pub secs: i64,
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: i64,
    /// The zone's abbreviation; `""` for a zone known only by its offset.
    pub zone: String,
    pub loc: Location,
}

/// Which `*time.Location` a `time.Time` holds (what `GoString` names).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Location {
    /// `time.UTC` (or a nil location, as in the zero `time.Time{}`).
    Utc,
    /// `time.Local`, which is UTC in ctmpl.
    Local,
    /// A `time.FixedZone` made by parsing, named by `GoTime::zone`.
    Fixed,
}

impl GoTime {
    /// Go's zero `time.Time{}`: `0001-01-01 00:00:00 +0000 UTC`.
    pub fn zero() -> GoTime {
        GoTime::utc(ZERO_TIME_UNIX, 0)
    }

    pub fn utc(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            secs,
            nanos,
            offset: 0,
            zone: "UTC".into(),
            loc: Location::Utc,
        }
    }

    /// The instant in `time.Local` (UTC, named `UTC`).
    pub fn local(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            loc: Location::Local,
            ..GoTime::utc(secs, nanos)
        }
    }

    /// Go's `Time.GoString` (time/format.go): the wall clock in its zone as a `time.Date`
    /// call, the location by name.
    pub fn go_string(&self) -> String {
        let c = self.civil();
        let loc = match self.loc {
            Location::Utc => "time.UTC".to_string(),
            Location::Local => "time.Local".to_string(),
            Location::Fixed => format!("time.Location({})", go_quote(&self.zone)),
        };
        format!(
            "time.Date({}, time.{}, {}, {}, {}, {}, {}, {loc})",
            c.year,
            MONTHS[c.month - 1],
            c.day,
            c.hour,
            c.min,
            c.sec,
            c.nanos
        )
    }

    pub fn value(self) -> Value {
        Value::Object(Arc::new(self))
    }

    /// The `time.Time` inside a template value, if it is one.
    pub fn from_value(v: &Value) -> Option<&GoTime> {
        match v {
            Value::Object(o) => o.as_any().downcast_ref::<GoTime>(),
            _ => None,
        }
    }

    pub fn format(&self, layout: &str) -> String {
        format_time_in(layout, self.secs, self.nanos, self.offset, &self.zone)
    }

    /// `Time.Add`: the same zone, `nanos` later (saturating, as Go's does at the extremes).
    pub fn add_nanos(&self, nanos: i64) -> GoTime {
        let total =
            i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos) + i128::from(nanos);
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: self.offset,
            zone: self.zone.clone(),
            loc: self.loc,
        }
    }

    /// Nanoseconds since the Unix epoch, as `i128` (Go's `UnixNano` overflows beyond 2262).
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    fn civil(&self) -> Civil {
        Civil::from_unix(self.secs.saturating_add(self.offset), self.nanos)
    }
}

/// The methods of `time.Time` a template can call (all have value receivers).
const METHODS: &[&str] = &[
    "After",
    "Before",
    "Day",
    "Equal",
    "Format",
    "Hour",
    "IsZero",
    "Local",
    "Minute",
    "Month",
    "Nanosecond",
    "Second",
    "String",
    "UTC",
    "Unix",
    "UnixMicro",
    "UnixMilli",
    "UnixNano",
    "Weekday",
    "Year",
    "YearDay",
];

impl Object for GoTime {
    fn type_name(&self) -> &str {
        TIME_TYPE
    }

    /// A struct: what shows through when no method is asked for is its `String`.
    fn underlying(&self) -> Value {
        Value::from(self.format(STRING_LAYOUT))
    }

    fn has_method(&self, name: &str) -> bool {
        METHODS.contains(&name)
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        if !self.has_method(name) {
            return None;
        }
        Some(self.method(name, args))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn marshal_json(&self) -> Option<String> {
        Some(format!("\"{}\"", self.format(RFC3339_NANO)))
    }

    fn go_string(&self) -> Option<String> {
        Some(GoTime::go_string(self))
    }
}

/// `Time.String`'s layout.
pub const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

impl GoTime {
    fn method(&self, name: &str, args: &[Value]) -> Result<Value, FuncError> {
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(FuncError(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                )))
            }
        };
        let other = || -> Result<&GoTime, FuncError> {
            want(1)?;
            GoTime::from_value(&args[0]).ok_or_else(|| {
                FuncError(format!(
                    "wrong type for value; expected time.Time; got {}",
                    args[0].type_name()
                ))
            })
        };
        let c = self.civil();
        let int = |n: i64| Ok(Value::Int(n));
        match name {
            "Format" => {
                want(1)?;
                match args[0].as_str() {
                    Some(layout) => Ok(Value::from(self.format(layout))),
                    None => Err(FuncError(format!(
                        "wrong type for value; expected string; got {}",
                        args[0].type_name()
                    ))),
                }
            }
            "String" => want(0).map(|_| Value::from(self.format(STRING_LAYOUT))),
            "Unix" => want(0).map(|_| crate::gotmpl::Typed::int64(self.secs)),
            "UnixMilli" => want(0).map(|_| int64(self.unix_nanos() / 1_000_000)),
            "UnixMicro" => want(0).map(|_| int64(self.unix_nanos() / 1_000)),
            "UnixNano" => want(0).map(|_| int64(self.unix_nanos())),
            "Year" => want(0).and_then(|_| int(c.year)),
            "Month" => {
                want(0).map(|_| named_int("time.Month", c.month as i64, MONTHS[c.month - 1]))
            }
            "Weekday" => {
                want(0).map(|_| named_int("time.Weekday", c.weekday as i64, DAYS[c.weekday]))
            }
            "Day" => want(0).and_then(|_| int(c.day)),
            "YearDay" => want(0).and_then(|_| int(c.yday)),
            "Hour" => want(0).and_then(|_| int(c.hour)),
            "Minute" => want(0).and_then(|_| int(c.min)),
            "Second" => want(0).and_then(|_| int(c.sec)),
            "Nanosecond" => want(0).and_then(|_| int(i64::from(c.nanos))),
            "IsZero" => {
                want(0).map(|_| Value::Bool(self.secs == ZERO_TIME_UNIX && self.nanos == 0))
            }
            "UTC" => want(0).map(|_| GoTime::utc(self.secs, self.nanos).value()),
            "Local" => want(0).map(|_| GoTime::local(self.secs, self.nanos).value()),
            "Before" => Ok(Value::Bool(self.unix_nanos() < other()?.unix_nanos())),
            "After" => Ok(Value::Bool(self.unix_nanos() > other()?.unix_nanos())),
            "Equal" => Ok(Value::Bool(self.unix_nanos() == other()?.unix_nanos())),
            _ => Err(FuncError(format!("can't call method {name} on time.Time"))),
        }
    }
}

fn int64(n: i128) -> Value {
    crate::gotmpl::Typed::int64(n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// A named integer type with a `String` method (`time.Month`, `time.Weekday`).
#[derive(Debug)]
struct NamedInt {
    ty: &'static str,
    n: i64,
    name: &'static str,
}

fn named_int(ty: &'static str, n: i64, name: &'static str) -> Value {
    Value::Object(Arc::new(NamedInt { ty, n, name }))
}

impl Object for NamedInt {
    fn type_name(&self) -> &str {
        self.ty
    }
    fn underlying(&self) -> Value {
        Value::Int(self.n)
    }
    fn has_method(&self, name: &str) -> bool {
        name == "String"
    }
    fn call_method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, FuncError>> {
        (name == "String").then(|| Ok(Value::from(self.name)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- time.ParseInLocation(layout, value, time.Local) with Local = UTC ----

/// Go's `time.ParseInLocation(layout, value, time.Local)`, with `time.ParseError`'s texts.
pub fn parse_in_local(layout: &str, value: &str) -> Result<GoTime, String> {
    let mut p = Parsed::default();
    let mut lay = layout.as_bytes();
    let mut val = value.as_bytes();
    let error = |elem_layout: &[u8], elem_value: &[u8], message: &str| {
        parse_error(layout, value, elem_layout, elem_value, message)
    };
    loop {
        let Some((prefix, std, next)) = next_std_chunk(lay) else {
            val = skip(val, lay).map_err(|rest| error(lay, rest, ""))?;
            break;
        };
        let literal = &lay[..prefix];
        val = skip(val, literal).map_err(|rest| error(literal, rest, ""))?;
        let elem = &lay[prefix..next];
        lay = &lay[next..];
        let hold = val;
        match p.element(std, val, lay) {
            Ok(rest) => val = rest,
            Err(Bad::Syntax) => return Err(error(elem, hold, "")),
            Err(Bad::Range(what, rest)) => {
                return Err(error(elem, rest, &format!(": {what} out of range")))
            }
        }
    }
    if !val.is_empty() {
        let extra = String::from_utf8_lossy(val);
        return Err(error(
            b"",
            val,
            &format!(": extra text: {}", go_quote(&extra)),
        ));
    }
    p.finish().map_err(|message| error(b"", val, message))
}

/// The fields a layout has set so far (`-1`: not given).
struct Parsed {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    pm: Option<bool>,
    utc: bool,
    zone_offset: Option<i64>,
    zone_name: String,
}

impl Default for Parsed {
    fn default() -> Self {
        Parsed {
            year: 0,
            month: -1,
            day: -1,
            yday: -1,
            hour: 0,
            min: 0,
            sec: 0,
            nsec: 0,
            pm: None,
            utc: false,
            zone_offset: None,
            zone_name: String::new(),
        }
    }
}

/// Why an element did not parse: Go's `errBad`, or a value out of range (with what follows).
enum Bad<'v> {
    Syntax,
    Range(&'static str, &'v [u8]),
}

impl Parsed {
    /// One layout element read from the front of `v`; `layout_rest` is what follows it in the
    /// layout (a second may take a fraction the layout does not spell).
    fn element<'v>(
        &mut self,
        std: Std,
        v: &'v [u8],
        layout_rest: &[u8],
    ) -> Result<&'v [u8], Bad<'v>> {
        let range = |ok: bool, what: &'static str, rest: &'v [u8]| {
            if ok {
                Ok(rest)
            } else {
                Err(Bad::Range(what, rest))
            }
        };
        match std {
            Std::Year => {
                let digits = v.get(..2).ok_or(Bad::Syntax)?;
                let y = atoi(digits).ok_or(Bad::Syntax)?;
                self.year = if y >= 69 { y + 1900 } else { y + 2000 };
                Ok(&v[2..])
            }
            Std::LongYear => {
                if v.len() < 4 || !v[0].is_ascii_digit() {
                    return Err(Bad::Syntax);
                }
                self.year = atoi(&v[..4]).ok_or(Bad::Syntax)?;
                Ok(&v[4..])
            }
            Std::Month | Std::LongMonth => {
                let names: Vec<&str> = match std {
                    Std::Month => MONTHS.iter().map(|m| &m[..3]).collect(),
                    _ => MONTHS.to_vec(),
                };
                let (i, rest) = lookup(&names, v).ok_or(Bad::Syntax)?;
                self.month = i as i64 + 1;
                Ok(rest)
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = getnum(v, std == Std::ZeroMonth).ok_or(Bad::Syntax)?;
                self.month = m;
                range((1..=12).contains(&m), "month", rest)
            }
            Std::WeekDay | Std::LongWeekDay => {
                let names: Vec<&str> = match std {
                    Std::WeekDay => DAYS.iter().map(|d| &d[..3]).collect(),
                    _ => DAYS.to_vec(),
                };
                Ok(lookup(&names, v).ok_or(Bad::Syntax)?.1)
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                let v = match v {
                    [b' ', rest @ ..] if std == Std::UnderDay => rest,
                    _ => v,
                };
                let (d, rest) = getnum(v, std == Std::ZeroDay).ok_or(Bad::Syntax)?;
                self.day = d;
                Ok(rest)
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut v = v;
                for _ in 0..2 {
                    if std == Std::UnderYearDay && v.first() == Some(&b' ') {
                        v = &v[1..];
                    }
                }
                let (d, rest) = getnum3(v, std == Std::ZeroYearDay).ok_or(Bad::Syntax)?;
                self.yday = d;
                Ok(rest)
            }
            Std::Hour => {
                let (h, rest) = getnum(v, false).ok_or(Bad::Syntax)?;
                self.hour = h;
                range(h < 24, "hour", rest)
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = getnum(v, std == Std::ZeroHour12).ok_or(Bad::Syntax)?;
                self.hour = h;
                range(h <= 12, "hour", rest)
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = getnum(v, std == Std::ZeroMinute).ok_or(Bad::Syntax)?;
                self.min = m;
                range(m < 60, "minute", rest)
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = getnum(v, std == Std::ZeroSecond).ok_or(Bad::Syntax)?;
                self.sec = s;
                if s >= 60 {
                    return Err(Bad::Range("second", rest));
                }
                self.unspelled_fraction(rest, layout_rest)
            }
            Std::PM | Std::Pm => {
                let (am, pm) = if std == Std::PM {
                    (b"AM", b"PM")
                } else {
                    (b"am", b"pm")
                };
                let two = v.get(..2).ok_or(Bad::Syntax)?;
                self.pm = match two {
                    t if t == pm => Some(true),
                    t if t == am => Some(false),
                    _ => return Err(Bad::Syntax),
                };
                Ok(&v[2..])
            }
            Std::Zone { iso: true, .. } if v.first() == Some(&b'Z') => {
                self.utc = true;
                Ok(&v[1..])
            }
            Std::Zone { form, .. } => {
                let (offset, rest) = zone_offset(v, form)?;
                self.zone_offset = Some(offset);
                Ok(rest)
            }
            Std::TZ => {
                if v.starts_with(b"UTC") {
                    self.utc = true;
                    return Ok(&v[3..]);
                }
                let n = time_zone_len(v).ok_or(Bad::Syntax)?;
                self.zone_name = String::from_utf8_lossy(&v[..n]).into_owned();
                Ok(&v[n..])
            }
            Std::Frac(_, digits, false) => {
                let n = 1 + digits;
                if v.len() < n {
                    return Err(Bad::Syntax);
                }
                self.nsec = nanoseconds(v, n)?;
                Ok(&v[n..])
            }
            Std::Frac(_, _, true) => {
                if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
                    return Ok(v);
                }
                let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                self.nsec = nanoseconds(v, n)?;
                Ok(&v[n..])
            }
        }
    }

    /// Go takes a fraction after the seconds even when the layout does not spell one.
    fn unspelled_fraction<'v>(
        &mut self,
        v: &'v [u8],
        layout_rest: &[u8],
    ) -> Result<&'v [u8], Bad<'v>> {
        if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
            return Ok(v);
        }
        if let Some((0, Std::Frac(..), _)) = next_std_chunk(layout_rest) {
            return Ok(v);
        }
        let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        self.nsec = nanoseconds(v, n)?;
        Ok(&v[n..])
    }

    /// Go's checks after the elements, and the instant in the zone they named.
    fn finish(mut self) -> Result<GoTime, &'static str> {
        match self.pm {
            Some(true) if self.hour < 12 => self.hour += 12,
            Some(false) if self.hour == 12 => self.hour = 0,
            _ => {}
        }
        if self.yday >= 0 {
            let (m, d) = month_day_of_year(self.year, self.yday)?;
            if self.month >= 0 && self.month != m {
                return Err(": day-of-year does not match month");
            }
            if self.day >= 0 && self.day != d {
                return Err(": day-of-year does not match day");
            }
            (self.month, self.day) = (m, d);
        } else {
            self.month = self.month.max(1);
            if self.day < 0 {
                self.day = 1;
            }
        }
        if self.day < 1 || self.day > days_in(self.month, self.year) {
            return Err(": day out of range");
        }
        let wall = days_from_civil(self.year, self.month, self.day) * 86_400
            + self.hour * 3600
            + self.min * 60
            + self.sec;
        let nanos = self.nsec as u32;
        if self.utc {
            return Ok(GoTime::utc(wall, nanos));
        }
        if let Some(offset) = self.zone_offset {
            // The local zone (UTC) is used when its offset matches and no other name was
            // given (`UTC` itself set `self.utc`); else `FixedZone(name, offset)`.
            if offset == 0 && self.zone_name.is_empty() {
                return Ok(GoTime::local(wall, nanos));
            }
            return Ok(GoTime {
                secs: wall - offset,
                nanos,
                offset,
                zone: self.zone_name,
                loc: Location::Fixed,
            });
        }
        if !self.zone_name.is_empty() {
            // Go sets the made-up zone without moving the instant: `GMT+3` reads three hours
            // later on the clock than the digits said.
            let offset = gmt_offset(&self.zone_name);
            return Ok(GoTime {
                secs: wall,
                nanos,
                offset,
                zone: self.zone_name,
                loc: Location::Fixed,
            });
        }
        Ok(GoTime::local(wall, nanos))
    }
}

/// Go's `skip`: the layout's literal text at the front of the value (a space in the layout
/// matches any run of spaces). `Err` carries the value where it stopped matching.
fn skip<'v>(mut v: &'v [u8], mut prefix: &[u8]) -> Result<&'v [u8], &'v [u8]> {
    while let Some(&c) = prefix.first() {
        if c == b' ' {
            if v.first().is_some_and(|&b| b != b' ') {
                return Err(v);
            }
            prefix = trim_spaces(prefix);
            v = trim_spaces(v);
            continue;
        }
        if v.first() != Some(&c) {
            return Err(v);
        }
        prefix = &prefix[1..];
        v = &v[1..];
    }
    Ok(v)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

fn atoi(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(v: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let digit = |i: usize| {
        v.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &v[2..])),
        None if fixed => None,
        None => Some((first, &v[1..])),
    }
}

/// Go's `getnum3`: one to three digits (exactly three when `fixed`).
fn getnum3(v: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let n = v.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((atoi(&v[..n])?, &v[n..]))
}

/// Go's `lookup`: a name at the front of `v`, ASCII letters compared without case.
fn lookup<'v>(names: &[&str], v: &'v [u8]) -> Option<(usize, &'v [u8])> {
    names.iter().enumerate().find_map(|(i, name)| {
        let n = name.len();
        (v.len() >= n && v[..n].eq_ignore_ascii_case(name.as_bytes())).then(|| (i, &v[n..]))
    })
}

/// Go's `parseNanoseconds`: a separator and up to nine digits, scaled to nanoseconds.
fn nanoseconds(v: &[u8], n: usize) -> Result<i64, Bad<'static>> {
    if !matches!(v.first(), Some(b'.' | b',')) {
        return Err(Bad::Syntax);
    }
    let n = n.min(10);
    let ns = atoi(&v[1..n]).ok_or(Bad::Syntax)?;
    Ok(ns * 10i64.pow((10 - n) as u32))
}

/// A numeric zone offset in seconds, read in the layout's form.
fn zone_offset(v: &[u8], form: super::time::ZoneForm) -> Result<(i64, &[u8]), Bad<'_>> {
    let colon_at = |i: usize| v.get(i) == Some(&b':');
    let (hh, mm, ss, len) = match (form.colons, form.minutes, form.seconds) {
        (true, _, false) if v.len() >= 6 && colon_at(3) => (&v[1..3], &v[4..6], &b"00"[..], 6),
        (_, false, _) if v.len() >= 3 => (&v[1..3], &b"00"[..], &b"00"[..], 3),
        (true, _, true) if v.len() >= 9 && colon_at(3) && colon_at(6) => {
            (&v[1..3], &v[4..6], &v[7..9], 9)
        }
        (false, true, true) if v.len() >= 7 => (&v[1..3], &v[3..5], &v[5..7], 7),
        (false, true, false) if v.len() >= 5 => (&v[1..3], &v[3..5], &b"00"[..], 5),
        _ => return Err(Bad::Syntax),
    };
    let num = |d: &[u8]| getnum(d, true).map(|(n, _)| n).ok_or(Bad::Syntax);
    let (h, m, s) = (num(hh)?, num(mm)?, num(ss)?);
    let rest = &v[len..];
    if h > 24 {
        return Err(Bad::Range("time zone offset hour", rest));
    }
    if m > 60 {
        return Err(Bad::Range("time zone offset minute", rest));
    }
    if s > 60 {
        return Err(Bad::Range("time zone offset second", rest));
    }
    let offset = (h * 60 + m) * 60 + s;
    match v[0] {
        b'+' => Ok((offset, rest)),
        b'-' => Ok((-offset, rest)),
        _ => Err(Bad::Syntax),
    }
}

/// Go's `parseTimeZone`: how long the zone abbreviation at the front of `v` is.
fn time_zone_len(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        return Some(gmt_len(v));
    }
    if matches!(v[0], b'+' | b'-') {
        let n = signed_offset_len(v);
        return (n > 0).then_some(n);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        5 if v[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseGMT`: `GMT` and an optional signed hour offset.
fn gmt_len(v: &[u8]) -> usize {
    let rest = &v[3..];
    if rest.is_empty() {
        return 3;
    }
    3 + signed_offset_len(rest)
}

/// Go's `parseSignedOffset`: a sign and an hour offset within ±23 (0 when not one).
fn signed_offset_len(v: &[u8]) -> usize {
    if !matches!(v.first(), Some(b'+' | b'-')) {
        return 0;
    }
    let n = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return 0;
    }
    match atoi(&v[1..1 + n]) {
        Some(h) if h <= 23 => 1 + n,
        _ => 0,
    }
}

/// The offset of a `GMT±h` abbreviation (0 for any other name).
fn gmt_offset(name: &str) -> i64 {
    match name.strip_prefix("GMT") {
        Some(rest) if !rest.is_empty() => rest.parse::<i64>().map_or(0, |h| h * 3600),
        _ => 0,
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The month and day of a day of the year, as Go's parser converts them.
fn month_day_of_year(year: i64, mut yday: i64) -> Result<(i64, i64), &'static str> {
    const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    if is_leap(year) {
        if yday == 31 + 29 {
            return Ok((2, 29));
        }
        if yday > 31 + 29 {
            yday -= 1;
        }
    }
    if !(1..=365).contains(&yday) {
        return Err(": day-of-year out of range");
    }
    let mut m = (yday - 1) / 31 + 1;
    if BEFORE[m as usize] < yday {
        m += 1;
    }
    Ok((m, yday - BEFORE[m as usize - 1]))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `time.ParseError`'s text.
fn parse_error(
    layout: &str,
    value: &str,
    elem_layout: &[u8],
    elem_value: &[u8],
    message: &str,
) -> String {
    if !message.is_empty() {
        return format!("parsing time {}{message}", go_quote(value));
    }
    format!(
        "parsing time {} as {}: cannot parse {} as {}",
        go_quote(value),
        go_quote(layout),
        go_quote(&String::from_utf8_lossy(elem_value)),
        go_quote(&String::from_utf8_lossy(elem_layout)),
    )
}

/// `time`'s own `quote`: double quotes, `\"` and `\\` escaped, control and non-ASCII
/// characters as `\x` escapes of their bytes.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c < ' ' || !c.is_ascii() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
            continue;
        }
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        for days in [-719_162i64, -1, 0, 1, 10_957, 17_531, 2_932_896] {
            let c = Civil::from_unix(days * 86_400, 0);
            assert_eq!(days_from_civil(c.year, c.month as i64, c.day), days);
        }
    }
}
