//! Go strings are byte sequences, most of them UTF-8. A valid one lives as a `str` (the fast,
//! common case); one that is not (`"\xff"`, a `slice` through a character) as raw bytes. This
//! module has what both share: a borrowed view, Go's rune decoding (a byte that does not start a
//! valid character is one U+FFFD of width 1), and the sinks Go's `fmt` writes into.

use std::fmt;
use std::io::Write as _;

use super::value::Value;

/// A Go string borrowed from a value: UTF-8 text, or bytes that are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoStr<'a> {
    Utf8(&'a str),
    Raw(&'a [u8]),
}

impl<'a> From<&'a str> for GoStr<'a> {
    fn from(s: &'a str) -> Self {
        GoStr::Utf8(s)
    }
}

impl<'a> GoStr<'a> {
    pub fn as_bytes(self) -> &'a [u8] {
        match self {
            GoStr::Utf8(s) => s.as_bytes(),
            GoStr::Raw(b) => b,
        }
    }

    pub fn len(self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// `s[from..to]` in bytes; for UTF-8 text both ends must be character boundaries (callers
    /// cut at ASCII bytes or at decoded runes).
    pub fn slice(self, from: usize, to: usize) -> GoStr<'a> {
        match self {
            GoStr::Utf8(s) => GoStr::Utf8(&s[from..to]),
            GoStr::Raw(b) => GoStr::Raw(&b[from..to]),
        }
    }

    /// Go's `range` over the string; UTF-8 text is not validated again.
    pub fn runes(self) -> impl Iterator<Item = Rune> + 'a {
        let (text, raw) = match self {
            GoStr::Utf8(s) => (s, &[][..]),
            GoStr::Raw(b) => ("", b),
        };
        text.chars().map(Rune::Char).chain(runes(raw))
    }

    /// Go's `utf8.RuneCountInString`.
    pub fn rune_count(self) -> usize {
        match self {
            GoStr::Utf8(s) => s.chars().count(),
            GoStr::Raw(b) => runes(b).count(),
        }
    }

    /// The first `n` runes, or the whole string if it has no more (Go's `truncateString`).
    pub fn prefix_runes(self, n: usize) -> GoStr<'a> {
        let end = match self {
            GoStr::Utf8(s) => s.char_indices().nth(n).map(|(i, _)| i),
            GoStr::Raw(b) => rune_offsets(b).nth(n),
        };
        end.map_or(self, |end| self.slice(0, end))
    }

    /// The string for a message: each byte that is not UTF-8 shows as U+FFFD, as Go's
    /// `range` over the string sees it.
    pub fn to_lossy(self) -> String {
        let mut out = String::with_capacity(self.len());
        out.push_go(self);
        out
    }
}

/// One step of Go's `range` over a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rune {
    Char(char),
    /// A byte that does not start a valid UTF-8 sequence: Go decodes it as U+FFFD of width 1.
    Invalid(u8),
}

impl Rune {
    /// What Go's decoder yields for it.
    pub fn char(self) -> char {
        match self {
            Rune::Char(c) => c,
            Rune::Invalid(_) => char::REPLACEMENT_CHARACTER,
        }
    }

    /// Its width in bytes.
    pub fn width(self) -> usize {
        match self {
            Rune::Char(c) => c.len_utf8(),
            Rune::Invalid(_) => 1,
        }
    }
}

/// Go's rune decoding of `b`, one invalid byte at a time.
pub fn runes(b: &[u8]) -> impl Iterator<Item = Rune> + '_ {
    b.utf8_chunks().flat_map(|chunk| {
        let valid = chunk.valid().chars().map(Rune::Char);
        valid.chain(chunk.invalid().iter().map(|&b| Rune::Invalid(b)))
    })
}

/// The byte offset of each rune of `b`.
fn rune_offsets(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    runes(b).scan(0, |at, r| {
        let start = *at;
        *at += r.width();
        Some(start)
    })
}

/// Go's `utf8.DecodeRune`: the first rune of non-empty `b` (surrogates, overlong forms and
/// truncated sequences are one invalid byte).
pub fn decode_rune(b: &[u8]) -> Rune {
    let width = match b[0] {
        0..=0x7F => return Rune::Char(b[0] as char),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    };
    let text = b.get(..width).and_then(|p| std::str::from_utf8(p).ok());
    match text.and_then(|s| s.chars().next()) {
        Some(c) => Rune::Char(c),
        None => Rune::Invalid(b[0]),
    }
}

/// Where Go's `fmt` and the executor write: the output bytes, a message, or a Go string being
/// built.
pub trait Sink {
    fn push_str(&mut self, s: &str);

    /// Appends a Go string, which may not be UTF-8.
    fn push_go(&mut self, s: GoStr<'_>);

    fn push_fmt(&mut self, args: fmt::Arguments<'_>);

    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    fn push_repeat(&mut self, c: char, n: usize) {
        for _ in 0..n {
            self.push(c);
        }
    }
}

/// Rendered output: Go writes every string's bytes as they are.
impl Sink for Vec<u8> {
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    fn push_go(&mut self, s: GoStr<'_>) {
        self.extend_from_slice(s.as_bytes());
    }

    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.write_fmt(args);
    }

    fn push(&mut self, c: char) {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() => Vec::push(self, b),
            _ => self.push_str(c.encode_utf8(&mut [0; 4])),
        }
    }
}

/// Messages and `Display`: bytes that are not UTF-8 show as U+FFFD each.
impl Sink for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    fn push_go(&mut self, s: GoStr<'_>) {
        match s {
            GoStr::Utf8(s) => String::push_str(self, s),
            GoStr::Raw(b) => {
                for chunk in b.utf8_chunks() {
                    String::push_str(self, chunk.valid());
                    self.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
                }
            }
        }
    }

    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        let _ = fmt::Write::write_fmt(self, args);
    }

    fn push(&mut self, c: char) {
        String::push(self, c);
    }
}

/// A Go string being built (by `print`, `printf`, the escapers): a `String` while everything
/// appended is UTF-8, so the common case never validates again, and bytes once raw bytes arrive.
#[derive(Debug)]
pub enum GoString {
    Utf8(String),
    Raw(Vec<u8>),
}

impl Default for GoString {
    fn default() -> Self {
        GoString::Utf8(String::new())
    }
}

impl GoString {
    pub fn with_capacity(n: usize) -> Self {
        GoString::Utf8(String::with_capacity(n))
    }

    pub fn as_go_str(&self) -> GoStr<'_> {
        match self {
            GoString::Utf8(s) => GoStr::Utf8(s),
            GoString::Raw(b) => GoStr::Raw(b),
        }
    }

    /// The string as a value; raw bytes that came out valid (two halves of a character
    /// joined) become an ordinary string.
    pub fn into_value(self) -> Value {
        match self {
            GoString::Utf8(s) => Value::from(s),
            GoString::Raw(b) => Value::from_bytes(&b),
        }
    }

    fn raw(&mut self) -> &mut Vec<u8> {
        if let GoString::Utf8(s) = self {
            *self = GoString::Raw(std::mem::take(s).into_bytes());
        }
        match self {
            GoString::Raw(b) => b,
            GoString::Utf8(_) => unreachable!("made raw above"),
        }
    }
}

impl Sink for GoString {
    fn push_str(&mut self, s: &str) {
        match self {
            GoString::Utf8(out) => out.push_str(s),
            GoString::Raw(out) => out.extend_from_slice(s.as_bytes()),
        }
    }

    fn push_go(&mut self, s: GoStr<'_>) {
        match s {
            GoStr::Utf8(s) => self.push_str(s),
            GoStr::Raw(b) => self.raw().extend_from_slice(b),
        }
    }

    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        match self {
            GoString::Utf8(out) => out.push_fmt(args),
            GoString::Raw(out) => out.push_fmt(args),
        }
    }

    fn push(&mut self, c: char) {
        match self {
            GoString::Utf8(out) => out.push(c),
            GoString::Raw(out) => Sink::push(out, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runes_decode_like_go() {
        let b = b"a\xff\xc3\xa9\xe2\x80z\xed\xa0\x80";
        let got: Vec<Rune> = runes(b).collect();
        use Rune::*;
        let want = [
            Char('a'),
            Invalid(0xff),
            Char('é'),
            Invalid(0xe2),
            Invalid(0x80),
            Char('z'),
            Invalid(0xed),
            Invalid(0xa0),
            Invalid(0x80),
        ];
        assert_eq!(got, want);
        assert_eq!(GoStr::Raw(b).rune_count(), 9);
        assert_eq!(GoStr::Raw(b).prefix_runes(3).as_bytes(), b"a\xff\xc3\xa9");
        assert_eq!(GoStr::Raw(b).prefix_runes(20).as_bytes(), b);
        assert_eq!(decode_rune(b"\xe2\x80z"), Invalid(0xe2));
        assert_eq!(decode_rune(b"\xe2\x80\xa8"), Char('\u{2028}'));
        assert_eq!(decode_rune(b"\xc0\x80"), Invalid(0xc0));
        assert_eq!(decode_rune(b"\xed\xa0\x80"), Invalid(0xed));
    }

    #[test]
    fn go_string_stays_text_until_raw_bytes() {
        let mut s = GoString::default();
        s.push_str("h");
        s.push_go(GoStr::Raw(b"\xc3"));
        assert!(matches!(s, GoString::Raw(_)));
        s.push_go(GoStr::Raw(b"\xa9"));
        assert_eq!(s.into_value().as_str(), Some("hé"));
        let mut s = GoString::default();
        s.push('é');
        s.push_go(GoStr::Raw(b"\xff"));
        assert_eq!(s.into_value().as_bytes(), Some(&b"\xc3\xa9\xff"[..]));
        assert_eq!(GoStr::Raw(b"a\xffb").to_lossy(), "a\u{fffd}b");
    }
}
