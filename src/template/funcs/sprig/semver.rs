//! sprig's `semver` and `semverCompare`: Masterminds/semver v3's loose `NewVersion` (a `v`
//! prefix, missing minor/patch as 0), its `*Version` methods, and its constraint language
//! (`^`, `~`, `x` wildcards, `a - b` ranges, `,`/space for AND, `||` for OR) with its own
//! prerelease rules. Ported with the library's regular expressions rather than taken from the
//! `semver` crate, which follows Cargo's rules (`1.2` is a caret range there, an exact `1.2.0`
//! here).

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::sdef;
use crate::gotmpl::{Arity, FuncError, FuncMap, Object, Value};
use crate::template::funcs::{string_arg, Res};

pub(super) fn register(funcs: &mut FuncMap) {
    sdef(funcs, "semver", Arity::Exact(1), |a| {
        let v = Version::parse(&string_arg(&a[0])?).map_err(FuncError)?;
        Ok(Value::Object(Arc::new(v)))
    });
    sdef(funcs, "semverCompare", Arity::Exact(2), |a| {
        let constraints = parse_constraints(&string_arg(&a[0])?).map_err(FuncError)?;
        let v = Version::parse(&string_arg(&a[1])?).map_err(FuncError)?;
        Ok(Value::Bool(
            constraints
                .iter()
                .any(|and| and.iter().all(|c| c.check(&v))),
        ))
    });
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Patterns {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: String| Regex::new(&s).expect("semver's patterns compile");
        Patterns {
            version: re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".into()),
            constraint: re(format!(r"^\s*({OPS})\s*({CV})\s*$")),
            range: re(format!(r"\s*({CV})\s+-\s+({CV})\s*")),
            find: re(format!(r"({OPS})\s*({CV})")),
            valid: re(format!(
                r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
            )),
        }
    })
}

/// A parsed version, as `*semver.Version`.
#[derive(Clone, Debug)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
    /// `*semver.Version` (from `semver`) or a `semver.Version` value (from `Inc*`), which
    /// lacks the pointer-receiver methods.
    pointer: bool,
}

/// The methods `semver.Version` has on its pointer only.
const POINTER_METHODS: &[&str] = &["Original", "LessThan", "GreaterThan", "Equal", "Compare"];

impl Version {
    /// `NewVersion`, with the library's error texts.
    fn parse(v: &str) -> Result<Version, String> {
        let m = patterns()
            .version
            .captures(v)
            .ok_or("Invalid Semantic Version")?;
        let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let segment = |i: usize| -> Result<u64, String> {
            let text = group(i).trim_start_matches('.');
            if text.is_empty() {
                return Ok(0);
            }
            text.parse().map_err(|_| {
                format!(
                    "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                    crate::gotmpl::printf::quote(text)
                )
            })
        };
        let version = Version {
            major: segment(1)?,
            minor: segment(2)?,
            patch: segment(3)?,
            pre: group(5).to_string(),
            metadata: group(8).to_string(),
            original: v.to_string(),
            pointer: true,
        };
        if !version.pre.is_empty() {
            validate_prerelease(&version.pre)?;
        }
        Ok(version)
    }

    fn compare(&self, o: &Version) -> Ordering {
        let by_numbers = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if by_numbers != Ordering::Equal {
            return by_numbers;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }

    fn text(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn with(&self, major: u64, minor: u64, patch: u64) -> Version {
        let mut v = Version {
            major,
            minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
            pointer: false,
        };
        v.original = self.v_prefix().to_string() + &v.text();
        v
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    /// `IncPatch`, `IncMinor`, `IncMajor`: a prerelease is dropped first, counting as the bump.
    fn increment(&self, part: &str) -> Version {
        match part {
            "patch" if !self.pre.is_empty() => self.with(self.major, self.minor, self.patch),
            "patch" => self.with(self.major, self.minor, self.patch + 1),
            "minor" => self.with(self.major, self.minor + 1, 0),
            _ => self.with(self.major + 1, 0, 0),
        }
    }
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
    for part in p.split('.') {
        if part.chars().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("Version segment starts with 0".into());
            }
        } else if !part.chars().all(allowed) {
            return Err("Invalid Prerelease string".into());
        }
    }
    Ok(())
}

fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let (sp, op): (Vec<&str>, Vec<&str>) = (v.split('.').collect(), o.split('.').collect());
    for i in 0..sp.len().max(op.len()) {
        let d = compare_pre_part(sp.get(i).unwrap_or(&""), op.get(i).unwrap_or(&""));
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(a), Ok(b)) if a > b => Ordering::Greater,
        _ => Ordering::Less,
    }
}

impl Object for Version {
    fn type_name(&self) -> &str {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
    }

    fn underlying(&self) -> Value {
        Value::from(self.text())
    }

    fn has_method(&self, name: &str) -> bool {
        if !self.pointer && POINTER_METHODS.contains(&name) {
            return false;
        }
        matches!(
            name,
            "Major"
                | "Minor"
                | "Patch"
                | "Prerelease"
                | "Metadata"
                | "Original"
                | "String"
                | "IncPatch"
                | "IncMinor"
                | "IncMajor"
                | "LessThan"
                | "GreaterThan"
                | "Equal"
                | "Compare"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Res> {
        if !self.has_method(name) {
            return None;
        }
        let other = || -> Result<Version, FuncError> {
            match args.first() {
                Some(Value::Object(o)) => {
                    o.as_any()
                        .downcast_ref::<Version>()
                        .cloned()
                        .ok_or_else(|| {
                            FuncError(format!(
                                "wrong type for value; expected *semver.Version; got {}",
                                o.type_name()
                            ))
                        })
                }
                Some(v) => Err(FuncError(format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    v.type_name()
                ))),
                None => Err(FuncError("wrong number of args: got 0 want 1".into())),
            }
        };
        let result = match name {
            "Major" => Ok(Value::Uint(self.major)),
            "Minor" => Ok(Value::Uint(self.minor)),
            "Patch" => Ok(Value::Uint(self.patch)),
            "Prerelease" => Ok(Value::from(self.pre.clone())),
            "Metadata" => Ok(Value::from(self.metadata.clone())),
            "Original" => Ok(Value::from(self.original.clone())),
            "String" => Ok(Value::from(self.text())),
            "IncPatch" => Ok(Value::Object(Arc::new(self.increment("patch")))),
            "IncMinor" => Ok(Value::Object(Arc::new(self.increment("minor")))),
            "IncMajor" => Ok(Value::Object(Arc::new(self.increment("major")))),
            "LessThan" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Less)),
            "GreaterThan" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Greater)),
            "Equal" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Equal)),
            "Compare" => other().map(|o| Value::Int(self.compare(&o) as i64)),
            _ => return None,
        };
        Some(result)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// Its methods read the value only.
    fn pure_methods(&self) -> bool {
        true
    }
}

/// One `OP VERSION` of a constraint, with which parts were wildcards.
struct Constraint {
    con: Version,
    op: String,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

/// `NewConstraint`: OR groups of AND constraints.
fn parse_constraints(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let p = patterns();
    let mut text = c.to_string();
    for m in p.range.captures_iter(c) {
        let rewritten = format!(">= {}, <= {}", &m[1], &m[11]);
        text = text.replacen(&m[0], &rewritten, 1);
    }
    text.split("||")
        .map(|part| {
            if !p.valid.is_match(part) {
                return Err(format!("improper constraint: {part}"));
            }
            let found: Vec<&str> = p.find.find_iter(part).map(|m| m.as_str()).collect();
            let found = if found.is_empty() { vec![part] } else { found };
            found.into_iter().map(parse_constraint).collect()
        })
        .collect()
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }
    let m = patterns()
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| m.get(i).map_or("", |g| g.as_str());
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let version = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        (dirty, minor_dirty) = (true, true);
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        (dirty, patch_dirty) = (true, true);
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&version).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // Every operator refuses a prerelease unless the constraint has one.
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op.as_str() {
            "" | "=" if self.dirty => self.tilde(v),
            "" | "=" => v.compare(c) == Ordering::Equal,
            "!=" => self.not_equal(v),
            ">" => self.greater(v),
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => self.less_equal(v),
            "~" | "~>" => self.tilde(v),
            _ => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn greater(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) == Ordering::Greater;
        }
        if v.major > c.major {
            true
        } else if v.major < c.major || self.minor_dirty {
            false
        } else if self.patch_dirty {
            v.minor > c.minor
        } else {
            v.compare(c) == Ordering::Greater
        }
    }

    fn less_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) != Ordering::Greater;
        }
        !(v.major > c.major || v.major == c.major && v.minor > c.minor && !self.minor_dirty)
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}
