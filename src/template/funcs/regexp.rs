//! Go regular expressions (RE2 syntax) on the `regex` crate, and `regexReplaceAll`/`regexMatch`.
//!
//! Our own layer because the `regex` crate differs from Go in syntax (Unicode `\d`/`\w`/`\b`,
//! `\Q…\E`, octal escapes, nested classes), in `FindAll`/`ReplaceAll` empty-match rules and in
//! error wording: patterns are rewritten into the crate's syntax and errors reworded as Go's.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use ::regex::Regex;

use super::{def, string_arg};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "regexReplaceAll", Arity::Exact(3), |a| {
        let re = go_regex(&string_arg(&a[0])?).map_err(FuncError)?;
        let repl = string_arg(&a[1])?;
        Ok(Value::from(go_replace_all(&re, &string_arg(&a[2])?, &repl)))
    });
    def(funcs, "regexMatch", Arity::Exact(2), |a| {
        let re = go_regex(&string_arg(&a[0])?).map_err(FuncError)?;
        Ok(Value::Bool(re.is_match(&string_arg(&a[1])?)))
    });
}

/// Compiles a Go (RE2) pattern: Perl classes and `\b` are ASCII as in Go, `\Q…\E` and octal
/// escapes are rewritten, and errors read as Go's. Compiled patterns are cached.
pub(super) fn go_regex(pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let rewritten = rewrite_re2(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    let re = Regex::new(&rewritten).map_err(|e| go_regex_error(pattern, &rewritten, &e))?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 512 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// Rewrites Go's syntax into the `regex` crate's with the same meaning, refusing what Go
/// refuses and the `regex` crate would accept (other flags, nested repetition).
fn rewrite_re2(p: &str) -> Result<String, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut in_class = false;
    // Where the repetition just read starts, and whether it is already lazy.
    let mut quant: Option<(usize, bool)> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if !in_class {
            let len = repetition_len(&chars[i - 1..]);
            if len > 0 {
                quant = match quant {
                    Some((start, false)) if c == '?' => Some((start, true)),
                    Some((start, _)) => {
                        let op: String = chars[start..i - 1 + len].iter().collect();
                        return Err(format!("invalid nested repetition operator: `{op}`"));
                    }
                    None => Some((i - 1, false)),
                };
                out.extend(&chars[i - 1..i - 1 + len]);
                i += len - 1;
                continue;
            }
            quant = None;
            if c == '(' && chars.get(i) == Some(&'?') {
                check_group_flags(&chars, i - 1)?;
            }
        }
        match c {
            '\\' => i = rewrite_escape(&chars, i, in_class, &mut out),
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if chars.get(i) == Some(&':') => {
                // A POSIX class `[:alpha:]` inside a class.
                let end = chars[i..]
                    .windows(2)
                    .position(|w| w == [':', ']'])
                    .map_or(chars.len(), |e| i + e + 2);
                out.extend(&chars[i - 1..end]);
                i = end;
            }
            // Go reads these literally in a class; the `regex` crate nests classes and has set
            // operators.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            // Not a repetition (see above), so a literal in Go.
            '{' if !in_class => out.push_str("\\{"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The length of a repetition operator at the start of `s`: `*`, `+`, `?` or a valid `{n}`,
/// `{n,}`, `{n,m}` (any other `{` is a literal in Go); 0 if none.
fn repetition_len(s: &[char]) -> usize {
    match s.first() {
        Some('*' | '+' | '?') => 1,
        Some('{') => {
            let Some(end) = s.iter().position(|&c| c == '}') else {
                return 0;
            };
            let inner: String = s[1..end].iter().collect();
            let (lo, hi) = inner.split_once(',').unwrap_or((&inner, "0"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            if digits(lo) && (hi.is_empty() || digits(hi)) {
                end + 1
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Go accepts only the flags `i`, `m`, `s`, `U` (and `-`) in `(?flags)` and `(?flags:…)`, and
/// named groups `(?P<name>…)`, `(?<name>…)`.
fn check_group_flags(chars: &[char], open: usize) -> Result<(), String> {
    let mut j = open + 2;
    if matches!(chars.get(j), Some('P' | '<')) {
        return Ok(());
    }
    while let Some(&c) = chars.get(j) {
        match c {
            ':' | ')' => return Ok(()),
            'i' | 'm' | 's' | 'U' | '-' => j += 1,
            _ => break,
        }
    }
    let end = (j + 1).min(chars.len());
    let text: String = chars[open..end].iter().collect();
    Err(format!("invalid or unsupported Perl syntax: `{text}`"))
}

/// Rewrites the escape whose character is at `chars[i]`; returns the index after it.
fn rewrite_escape(chars: &[char], mut i: usize, in_class: bool, out: &mut String) -> usize {
    let Some(&e) = chars.get(i) else {
        out.push('\\');
        return i;
    };
    i += 1;
    let class = match e {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => "[\\t\\n\\f\\r ]",
        'S' => "[^\\t\\n\\f\\r ]",
        'b' if !in_class => "(?-u:\\b)",
        'B' if !in_class => "(?-u:\\B)",
        _ => "",
    };
    if !class.is_empty() {
        out.push_str(class);
        return i;
    }
    match e {
        'Q' if !in_class => {
            let rest: String = chars[i..].iter().collect();
            let (lit, consumed) = match rest.find("\\E") {
                Some(end) => (&rest[..end], rest[..end].chars().count() + 2),
                None => (&rest[..], rest.chars().count()),
            };
            out.push_str(&regex::escape(lit));
            i + consumed
        }
        '0'..='7' if e == '0' || chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) => {
            // Octal: `\0` or a digit followed by more octal digits (up to three in all).
            let mut v = e as u32 - '0' as u32;
            let mut n = 1;
            while n < 3 && chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) {
                v = v * 8 + (chars[i] as u32 - '0' as u32);
                i += 1;
                n += 1;
            }
            let _ = write!(out, "\\x{{{v:x}}}");
            i
        }
        'x' | 'p' | 'P' if chars.get(i) == Some(&'{') => {
            // `\x{41}`, `\p{Greek}`: copied whole.
            let end = chars[i..]
                .iter()
                .position(|&c| c == '}')
                .map_or(chars.len(), |e| i + e + 1);
            out.push('\\');
            out.push(e);
            out.extend(&chars[i..end]);
            end
        }
        e => {
            out.push('\\');
            out.push(e);
            i
        }
    }
}

/// Go's `regexp.Compile` error for a pattern the `regex` crate refused.
fn go_regex_error(pattern: &str, rewritten: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let desc = text
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(&text)
        .trim();
    // The span the `regex` crate marks, valid when nothing was rewritten before it.
    let span = caret_span(&text).filter(|_| pattern == rewritten);
    let spanned = |whole_tail: bool| -> String {
        let chars: Vec<char> = pattern.chars().collect();
        match span {
            Some((s, _)) if whole_tail && s <= chars.len() => chars[s..].iter().collect(),
            Some((s, e)) if e <= chars.len() => chars[s..e].iter().collect(),
            _ => pattern.to_string(),
        }
    };
    let (code, expr) = match desc {
        "unclosed group" => ("missing closing )", pattern.to_string()),
        "unopened group" => ("unexpected )", pattern.to_string()),
        "unclosed character class" => ("missing closing ]", spanned(true)),
        "repetition operator missing expression" => {
            ("missing argument to repetition operator", spanned(false))
        }
        "unrecognized escape sequence" | "backreferences are not supported" => {
            ("invalid escape sequence", spanned(false))
        }
        d if d.starts_with("invalid repetition count") => ("invalid repeat count", spanned(false)),
        d if d.starts_with("invalid character class range") => {
            ("invalid character class range", spanned(false))
        }
        d => (d, pattern.to_string()),
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

/// The character range marked by `^`s under the pattern in a `regex` crate error.
fn caret_span(text: &str) -> Option<(usize, usize)> {
    let line = text.lines().find(|l| {
        l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^' || c == ' ')
    })?;
    let line = line.strip_prefix("    ")?;
    let start = line.find('^')?;
    let len = line[start..].chars().take_while(|&c| c == '^').count();
    Some((start, start + len))
}

/// The matches Go's `FindAll` reports: an empty match right after a match is skipped.
pub(super) fn go_find_all(re: &Regex, s: &str, limit: Option<usize>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut pos, mut prev_end) = (0usize, None);
    while pos <= s.len() && limit.is_none_or(|n| out.len() < n) {
        let Some(m) = re.find_at(s, pos) else { break };
        let accept = !(m.end() == m.start() && Some(m.start()) == prev_end);
        pos = if m.end() == pos {
            pos + s[pos..].chars().next().map_or(1, char::len_utf8)
        } else {
            m.end()
        };
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `ReplaceAllString`: `$1`, `${name}` and `$$` in `repl` as Go expands them.
pub(super) fn go_replace_all(re: &Regex, s: &str, repl: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut last_end, mut search) = (0usize, 0usize);
    while search <= s.len() {
        let Some(caps) = re.captures_at(s, search) else {
            break;
        };
        let m = caps.get(0).expect("group 0 always matches");
        out.push_str(&s[last_end..m.start()]);
        // No replacement for an empty match right after another match.
        if m.end() > last_end || m.start() == 0 {
            caps.expand(repl, &mut out);
        }
        last_end = m.end();
        let width = s[search..].chars().next().map_or(1, char::len_utf8);
        search = if search + width > m.end() {
            search + width
        } else {
            m.end()
        };
    }
    out.push_str(&s[last_end.min(s.len())..]);
    out
}

/// Go's `Regexp.Split`.
pub(super) fn go_regex_split<'a>(re: &Regex, s: &'a str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![""];
    }
    let limit = usize::try_from(n).ok();
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (start, stop) in go_find_all(re, s, limit) {
        if limit.is_some_and(|n| parts.len() == n - 1) {
            break;
        }
        end = start;
        if stop != 0 {
            parts.push(&s[beg..end]);
        }
        beg = stop;
    }
    if end != s.len() {
        parts.push(&s[beg..]);
    }
    parts
}
