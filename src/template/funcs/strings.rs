//! String functions: `toLower`, `toUpper`, `toTitle`, `trim*`, `replaceAll`, `indent`, and the
//! primitives the sprig string functions share (`strings.Split`, size checks).
//!
//! Go's case mapping is Unicode *simple* case mapping (one character for one) and `toTitle` is
//! x/text's `cases.Title(language.Und, cases.NoLower)`; Rust's `to_lowercase`/`to_uppercase` use
//! full case mapping, so the per-character rules here keep Go's output.

use super::{bytes_arg, def, fail, int_arg, string_arg, StrFn};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};

pub(super) fn register(funcs: &mut FuncMap) {
    let unary: [StrFn; 4] = [
        ("toLower", go_to_lower),
        ("toUpper", go_to_upper),
        ("toTitle", title_no_lower),
        ("trimSpace", |s| s.trim().to_string()),
    ];
    for (name, f) in unary {
        def(funcs, name, Arity::Exact(1), move |a| {
            Ok(Value::from(f(&string_arg(&a[0])?)))
        });
    }
    def(funcs, "trim", Arity::Exact(2), |a| {
        let cutset = string_arg(&a[0])?;
        let s = string_arg(&a[1])?;
        Ok(Value::str(s.trim_matches(|c| cutset.contains(c))))
    });
    def(funcs, "trimPrefix", Arity::Exact(2), |a| {
        let (p, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::str(s.strip_prefix(&*p).unwrap_or(&s)))
    });
    def(funcs, "trimSuffix", Arity::Exact(2), |a| {
        let (p, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::str(s.strip_suffix(&*p).unwrap_or(&s)))
    });
    def(funcs, "replaceAll", Arity::Exact(3), |a| {
        let (from, to) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::from(string_arg(&a[2])?.replace(&*from, &to)))
    });
    def(funcs, "indent", Arity::Exact(2), |a| {
        let n = int_arg(&a[0])?;
        if n < 0 {
            return fail("indent value must be a positive integer");
        }
        let s = bytes_arg(&a[1])?;
        check_size(n, s.len())?;
        Ok(Value::from_bytes(&indent_lines(n as usize, s)))
    });
}

/// Go's `strings.Split`: an empty separator splits into characters.
pub(super) fn go_split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
    }
    s.split(sep).collect()
}

/// The largest string a padding function builds (Go would run out of memory instead).
const MAX_OUTPUT: usize = 1 << 30;

/// Refuses padding `n` times over a string of `len` bytes that would pass [`MAX_OUTPUT`].
pub(super) fn check_size(n: i64, len: usize) -> Result<(), FuncError> {
    let total = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(len.max(1)));
    match total {
        Some(t) if t <= MAX_OUTPUT => Ok(()),
        _ => fail("runtime error: makeslice: len out of range"),
    }
}

/// consul-template's `indent`: every line that is not empty gets `n` spaces.
fn indent_lines(n: usize, s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + n * 4);
    let mut line_start = true;
    for &c in s {
        if line_start && c != b'\n' {
            out.resize(out.len() + n, b' ');
        }
        out.push(c);
        line_start = c == b'\n';
    }
    out
}

/// Go's `strings.ToLower`: Unicode simple case mapping, one character for one.
pub(super) fn go_to_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

pub(super) fn go_to_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

pub(super) fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        // Only U+0130 lowers to two characters; its simple mapping is the first.
        (Some(l), Some(_)) => l,
        _ => c,
    }
}

pub(super) fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        // A multi-character uppercase (ß → SS) has no simple mapping: Go keeps the character.
        _ => c,
    }
}

/// Unicode title case of one character (upper case except for the digraphs).
pub(super) fn title_char(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        c => simple_upper(c),
    }
}

/// `cases.Title(language.Und, cases.NoLower)`: the first letter of each word in title case, the
/// rest untouched. Words are runs of letters, digits, marks and `_` (a word may start with
/// digits: `3rd` → `3Rd`), joined by an apostrophe, a period, a colon or a middle dot between
/// letters (Unicode's word break rules, which x/text follows).
fn title_no_lower(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let (mut in_word, mut titled) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() || c == '_' || is_mark(c) {
            if !in_word {
                (in_word, titled) = (true, false);
            }
            if c.is_alphabetic() && !titled {
                push_full_title(&mut out, c);
                titled = true;
                continue;
            }
        } else {
            let mid = matches!(c, '\'' | '’' | '.' | ':' | '·');
            let next_letter = chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
            let prev_letter = i > 0 && chars[i - 1].is_alphabetic();
            in_word = in_word && mid && prev_letter && next_letter;
        }
        out.push(c);
    }
    out
}

/// Full title case (x/text uses Unicode's special casing): `ﬁ` → `Fi`, `ß` → `Ss`.
fn push_full_title(out: &mut String, c: char) {
    let upper: Vec<char> = c.to_uppercase().collect();
    match upper.as_slice() {
        [_] | [] => out.push(title_char(c)),
        [first, rest @ ..] => {
            out.push(*first);
            out.extend(rest.iter().flat_map(|r| r.to_lowercase()));
        }
    }
}

/// Combining marks (the common blocks): they extend a word.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}
