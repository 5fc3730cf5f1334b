//! The lexer: template text to items, as Go's `text/template/parse` lexes it (trim markers,
//! comments, custom delimiters, every literal form). A lexing error is the last item.

use super::gostr::{self, GoStr, Rune};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub typ: ItemType,
    /// Byte offset of the item in the input.
    pub pos: usize,
    /// Byte offset just past the item: `input[pos..end]` is its source (empty for an error).
    pub end: usize,
    /// The source text, or an error's message; a byte that is not UTF-8 shows as U+FFFD, as
    /// Go's lexer decodes it (text and raw strings keep their bytes: see `end`).
    pub val: String,
    /// Line number at the start of the item (1-based).
    pub line: usize,
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric() && is_unicode_digit(c)
}

/// Go's `unicode.IsDigit` is the Nd category; Rust's `is_numeric` is wider (No, Nl).
fn is_unicode_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.to_digit(10).is_none() && is_nd(c))
}

/// A small check for the Nd category outside ASCII: Unicode's decimal digit blocks all come in
/// runs of ten starting at a code point ending in 0 or 6; we accept the well-known blocks.
fn is_nd(c: char) -> bool {
    const ZEROS: &[u32] = &[
        0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
        0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
        0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
        0xFF10,
    ];
    let u = c as u32;
    ZEROS.iter().any(|&z| u >= z && u < z + 10)
}

fn keyword(word: &[u8]) -> Option<ItemType> {
    Some(match word {
        b"." => ItemType::Dot,
        b"block" => ItemType::Block,
        b"break" => ItemType::Break,
        b"continue" => ItemType::Continue,
        b"define" => ItemType::Define,
        b"else" => ItemType::Else,
        b"end" => ItemType::End,
        b"if" => ItemType::If,
        b"range" => ItemType::Range,
        b"nil" => ItemType::Nil,
        b"template" => ItemType::Template,
        b"with" => ItemType::With,
        _ => return None,
    })
}

/// Lexes the whole input, which need not be UTF-8 (Go's templates are bytes). The last item is
/// `Eof` or `Error`.
pub fn lex(input: &[u8], left: &str, right: &str) -> Vec<Item> {
    let left = if left.is_empty() { "{{" } else { left };
    let right = if right.is_empty() { "}}" } else { right };
    let mut l = Lexer {
        input,
        left: left.as_bytes(),
        right: right.as_bytes(),
        start: 0,
        pos: 0,
        last_width: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

struct Lexer<'a> {
    input: &'a [u8],
    left: &'a [u8],
    right: &'a [u8],
    start: usize,
    pos: usize,
    /// The width of the rune `next` read last, for `backup`.
    last_width: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

fn has_left_trim_marker(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(b: &[u8]) -> bool {
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn right_trim_length(b: &[u8]) -> usize {
    b.iter().rev().take_while(|&&c| is_space(c as char)).count()
}

fn left_trim_length(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| is_space(c as char)).count()
}

/// Where `needle` (not empty) first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = haystack[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

impl<'a> Lexer<'a> {
    fn run(&mut self) {
        let mut state = State::Text;
        loop {
            state = match state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Done => return,
            }
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    /// The next rune as Go decodes it: a byte that is not UTF-8 is U+FFFD.
    fn peek_rune(&self) -> Option<Rune> {
        let rest = self.rest();
        (!rest.is_empty()).then(|| gostr::decode_rune(rest))
    }

    fn peek(&self) -> Option<char> {
        self.peek_rune().map(Rune::char)
    }

    fn next(&mut self) -> Option<char> {
        let r = self.peek_rune()?;
        self.last_width = r.width();
        self.pos += self.last_width;
        let c = r.char();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Steps back over the char just read by `next` (`c`).
    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= self.last_width;
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    /// The source from `from` to `to`, with U+FFFD for bytes that are not UTF-8.
    fn text(&self, from: usize, to: usize) -> String {
        GoStr::Raw(&self.input[from..to]).to_lossy()
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn count_lines(&self, from: usize, to: usize) -> usize {
        self.input[from..to].iter().filter(|&&b| b == b'\n').count()
    }

    fn emit(&mut self, typ: ItemType) {
        self.items.push(Item {
            typ,
            pos: self.start,
            end: self.pos,
            val: self.text(self.start, self.pos),
            line: self.start_line,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.count_lines(self.start, self.pos);
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn errorf(&mut self, msg: String) -> State {
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            end: self.start,
            val: msg,
            line: self.start_line,
        });
        State::Done
    }

    fn lex_text(&mut self) -> State {
        let Some(x) = find(self.rest(), self.left) else {
            self.pos = self.input.len();
            if self.pos > self.start {
                self.line += self.count_lines(self.start, self.pos);
                self.emit(ItemType::Text);
            }
            self.emit(ItemType::Eof);
            return State::Done;
        };
        if x > 0 {
            self.pos += x;
            let delim_end = self.pos + self.left.len();
            let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                right_trim_length(&self.input[self.start..self.pos])
            } else {
                0
            };
            self.pos -= trim;
            self.line += self.count_lines(self.start, self.pos);
            let emit_text = self.pos > self.start;
            if emit_text {
                self.emit(ItemType::Text);
            }
            self.pos += trim;
            self.ignore();
        }
        State::LeftDelim
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT.as_bytes()) {
            self.pos += after_marker;
            self.ignore();
            return State::Comment;
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = find(self.rest(), RIGHT_COMMENT.as_bytes()) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        // Go does not count the comment's own newlines in its line numbers; neither do we.
        self.start = self.pos;
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        if trim {
            self.pos += left_trim_length(self.rest());
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let trim = has_right_trim_marker(self.rest());
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right.len();
        self.emit(ItemType::RightDelim);
        if trim {
            self.pos += left_trim_length(self.rest());
            self.ignore();
        }
        State::Text
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[2..].starts_with(self.right) {
            return (true, true);
        }
        (rest.starts_with(self.right), false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_inside_action(&mut self) -> State {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    return State::RightDelim;
                }
                return self.errorf("unclosed left paren".into());
            }
            let c = self.next();
            match c {
                None => return self.errorf("unclosed action".into()),
                Some(c) if is_space(c) => {
                    self.backup(Some(c));
                    self.lex_space();
                }
                Some('=') => self.emit(ItemType::Assign),
                Some(':') => {
                    if self.next() != Some('=') {
                        return self.errorf("expected :=".into());
                    }
                    self.emit(ItemType::Declare);
                }
                Some('|') => self.emit(ItemType::Pipe),
                Some('"') => {
                    if let Some(s) = self.lex_quote() {
                        return s;
                    }
                }
                Some('`') => {
                    if let Some(s) = self.lex_raw_quote() {
                        return s;
                    }
                }
                Some('$') => {
                    if let Some(s) = self.lex_variable() {
                        return s;
                    }
                }
                Some('\'') => {
                    if let Some(s) = self.lex_char() {
                        return s;
                    }
                }
                Some('.') if self.peek().is_some_and(|n| !n.is_ascii_digit()) => {
                    if let Some(s) = self.lex_field_or_variable(ItemType::Field) {
                        return s;
                    }
                }
                Some(c) if c == '.' || c == '+' || c == '-' || c.is_ascii_digit() => {
                    self.backup(Some(c));
                    if let Some(s) = self.lex_number() {
                        return s;
                    }
                }
                Some(c) if is_alphanumeric(c) => {
                    self.backup(Some(c));
                    if let Some(s) = self.lex_identifier() {
                        return s;
                    }
                }
                Some('(') => {
                    self.emit(ItemType::LeftParen);
                    self.paren_depth += 1;
                }
                Some(')') => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return self.errorf("unexpected right paren".into());
                    }
                    self.emit(ItemType::RightParen);
                }
                Some(c) if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
                Some(c) => {
                    return self.errorf(format!(
                        "unrecognized character in action: {}",
                        format_unicode(c)
                    ))
                }
            }
        }
    }

    fn lex_space(&mut self) {
        let mut num_spaces = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            num_spaces += 1;
        }
        // A trim-marked closing delimiter has a minus after a space: leave that space to it.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[2..].starts_with(self.right) {
            self.backup(Some(char::from(before[0])));
            if num_spaces == 1 {
                return;
            }
        }
        self.emit(ItemType::Space);
    }

    fn lex_identifier(&mut self) -> Option<State> {
        loop {
            let c = self.next();
            if c.is_some_and(is_alphanumeric) {
                continue;
            }
            self.backup(c);
            if !self.at_terminator() {
                return Some(self.errorf(format!("bad character {}", format_unicode_opt(c))));
            }
            let word = &self.input[self.start..self.pos];
            let typ = match keyword(word) {
                Some(k) => k,
                None if word.starts_with(b".") => ItemType::Field,
                None if word == b"true" || word == b"false" => ItemType::Bool,
                None => ItemType::Identifier,
            };
            self.emit(typ);
            return None;
        }
    }

    fn lex_variable(&mut self) -> Option<State> {
        if self.at_terminator() {
            self.emit(ItemType::Variable);
            return None;
        }
        self.lex_field_or_variable(ItemType::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> Option<State> {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return None;
        }
        let mut c;
        loop {
            c = self.next();
            if !c.is_some_and(is_alphanumeric) {
                self.backup(c);
                break;
            }
        }
        if !self.at_terminator() {
            return Some(self.errorf(format!("bad character {}", format_unicode_opt(c))));
        }
        self.emit(typ);
        None
    }

    fn lex_char(&mut self) -> Option<State> {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return Some(self.errorf("unterminated character constant".into()));
                    }
                }
                None | Some('\n') => {
                    return Some(self.errorf("unterminated character constant".into()))
                }
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(ItemType::CharConstant);
        None
    }

    fn lex_quote(&mut self) -> Option<State> {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return Some(self.errorf("unterminated quoted string".into()));
                    }
                }
                None | Some('\n') => return Some(self.errorf("unterminated quoted string".into())),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(ItemType::String);
        None
    }

    fn lex_raw_quote(&mut self) -> Option<State> {
        loop {
            match self.next() {
                None => return Some(self.errorf("unterminated raw quoted string".into())),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString);
        None
    }

    fn lex_number(&mut self) -> Option<State> {
        if !self.scan_number() {
            let bad = format!(
                "bad number syntax: {}",
                go_quote(&self.text(self.start, self.pos))
            );
            return Some(self.errorf(bad));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // A complex constant such as 1+2i: no spaces, must end in 'i'.
            if !self.scan_number() || !self.input[..self.pos].ends_with(b"i") {
                let bad = format!(
                    "bad number syntax: {}",
                    go_quote(&self.text(self.start, self.pos))
                );
                return Some(self.errorf(bad));
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        None
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }
}

/// Go's `%#U`: `U+0041 'A'`.
pub fn format_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

fn format_unicode_opt(c: Option<char>) -> String {
    match c {
        Some(c) => format_unicode(c),
        None => "U+FFFFFFFF".to_string(),
    }
}

/// Go's `%q` of a string, for lexer and parser messages.
pub fn go_quote(s: &str) -> String {
    crate::fmt::quote(s)
}

/// One unit of an interpreted literal: a character, or the byte of a `\x` or octal escape,
/// which a string holds as it is (perhaps not UTF-8) and a char constant reads as a rune.
#[derive(Clone, Copy)]
enum Unit {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.Unquote` for interpreted, raw and char literals as the lexer delimited them:
/// the bytes of the Go string they stand for (`"\xff"` is the one byte 0xFF).
pub fn unquote(s: &str) -> Option<Vec<u8>> {
    let (quote, body) = split_quotes(s)?;
    if quote == '`' {
        if body.contains('`') {
            return None;
        }
        return Some(body.replace('\r', "").into_bytes());
    }
    let mut out = Vec::with_capacity(body.len());
    let count = unquote_units(body, quote, |unit| match unit {
        Unit::Char(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        Unit::Byte(b) => out.push(b),
    })?;
    (quote != '\'' || count == 1).then_some(out)
}

/// A raw string literal (`` `…` ``) from its source, which need not be UTF-8: its bytes without
/// carriage returns, as Go's `Unquote` gives them.
pub fn unquote_raw(src: &[u8]) -> Option<Vec<u8>> {
    let body = src.strip_prefix(b"`")?.strip_suffix(b"`")?;
    Some(body.iter().copied().filter(|&b| b != b'\r').collect())
}

/// The rune of a char literal `'…'` (Go's `UnquoteChar`): `'\xff'` is U+00FF.
pub fn unquote_char(s: &str) -> Option<char> {
    let (quote, body) = split_quotes(s)?;
    if quote != '\'' {
        return None;
    }
    let mut first = None;
    let count = unquote_units(body, quote, |unit| {
        first.get_or_insert(match unit {
            Unit::Char(c) => c,
            Unit::Byte(b) => char::from(b),
        });
    })?;
    first.filter(|_| count == 1)
}

/// The quote character and the text between the quotes.
fn split_quotes(s: &str) -> Option<(char, &str)> {
    let quote = s.chars().next().filter(|q| matches!(q, '`' | '"' | '\''))?;
    let body = s.get(1..s.len().checked_sub(1)?)?;
    (s.len() >= 2 && s.ends_with(quote)).then_some((quote, body))
}

/// Hands each unit of an interpreted literal's body to `unit`; how many there were, or `None`
/// for bad syntax.
fn unquote_units(body: &str, quote: char, mut unit: impl FnMut(Unit)) -> Option<usize> {
    let mut count = 0;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return None;
        }
        unit(if c == '\\' {
            unescape(&mut chars, quote)?
        } else {
            Unit::Char(c)
        });
        count += 1;
    }
    Some(count)
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Option<Unit> {
    let c = chars.next()?;
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = chars.next().and_then(|c| c.to_digit(16))?;
            v = v * 16 + d;
        }
        Some(v)
    };
    let c = match c {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        '\'' | '"' if c == quote => c,
        'x' => return u8::try_from(hex(chars, 2)?).ok().map(Unit::Byte),
        'u' => char::from_u32(hex(chars, 4)?)?,
        'U' => char::from_u32(hex(chars, 8)?)?,
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next().and_then(|c| c.to_digit(8))?;
            }
            return u8::try_from(v).ok().map(Unit::Byte);
        }
        _ => return None,
    };
    Some(Unit::Char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<(ItemType, String)> {
        lex(s.as_bytes(), "", "")
            .into_iter()
            .map(|i| (i.typ, i.val))
            .collect()
    }

    #[test]
    fn text_and_action() {
        use ItemType::*;
        assert_eq!(
            types("a{{.b}}c"),
            vec![
                (Text, "a".into()),
                (LeftDelim, "{{".into()),
                (Field, ".b".into()),
                (RightDelim, "}}".into()),
                (Text, "c".into()),
                (Eof, "".into())
            ]
        );
    }

    #[test]
    fn trim_markers() {
        use ItemType::*;
        let items = types("a  \n{{- 3 -}}\n b");
        assert_eq!(items[0], (Text, "a".into()));
        assert_eq!(items[2], (Number, "3".into()));
        assert_eq!(items[4], (Text, "b".into()));
        // `{{-3}}` is a negative number, not a trim marker.
        assert_eq!(types("{{-3}}")[1], (Number, "-3".into()));
    }

    #[test]
    fn numbers_and_literals() {
        use ItemType::*;
        for n in [
            "0x1F", "0o17", "0b101", "1_000", "1e3", ".5", "0x1p4", "-1.5", "+2",
        ] {
            assert_eq!(
                types(&format!("{{{{{n}}}}}"))[1],
                (Number, n.to_string()),
                "{n}"
            );
        }
        assert_eq!(types("{{'a'}}")[1].0, CharConstant);
        assert_eq!(types("{{`a\\b`}}")[1].0, RawString);
        assert_eq!(types("{{1+2i}}")[1].0, Complex);
    }

    #[test]
    fn errors() {
        let last = |s: &str| lex(s.as_bytes(), "", "").pop().unwrap();
        assert_eq!(last("{{\"abc}}").val, "unterminated quoted string");
        assert_eq!(last("{{`abc}}").val, "unterminated raw quoted string");
        assert_eq!(last("{{/* x").val, "unclosed comment");
        assert_eq!(last("{{.a").val, "unclosed action");
        assert_eq!(last("{{3x}}").val, "bad number syntax: \"3x\"");
        assert_eq!(last("{{(3}}").val, "unclosed left paren");
        assert_eq!(last("\n{{/* a */ 3}}").line, 2);
    }

    #[test]
    fn custom_delimiters() {
        use ItemType::*;
        let items: Vec<_> = lex(b"[[.a]]{{x}}", "[[", "]]")
            .into_iter()
            .map(|i| i.typ)
            .collect();
        assert_eq!(items, vec![LeftDelim, Field, RightDelim, Text, Eof]);
    }

    /// Go's lexer decodes a byte that is not UTF-8 as U+FFFD of width 1; text keeps the bytes.
    #[test]
    fn bytes_that_are_not_utf8() {
        use ItemType::*;
        let items = lex(b"a\xff{{`\xfe` \"\xfd\"}}", "", "");
        let got: Vec<_> = items.iter().map(|i| (i.typ, i.pos, i.end)).collect();
        assert_eq!(
            got,
            [
                (Text, 0, 2),
                (LeftDelim, 2, 4),
                (RawString, 4, 7),
                (Space, 7, 8),
                (String, 8, 11),
                (RightDelim, 11, 13),
                (Eof, 13, 13)
            ]
        );
        assert_eq!(items[4].val, "\"\u{fffd}\"");
        let last = lex(b"{{\xff}}", "", "").pop().unwrap();
        assert_eq!(
            last.val,
            "unrecognized character in action: U+FFFD '\u{fffd}'"
        );
    }

    #[test]
    fn unquote_forms() {
        assert_eq!(
            unquote(r#""a\tb\x41\101\u00e9""#).unwrap(),
            "a\tbAAé".as_bytes()
        );
        assert_eq!(unquote("`a\\n`").unwrap(), b"a\\n");
        assert_eq!(unquote("'\\n'").unwrap(), b"\n");
        assert_eq!(
            unquote(r#""\xff\377\xc3\xa9""#).unwrap(),
            b"\xff\xff\xc3\xa9"
        );
        assert_eq!(unquote(r"'\xff'").unwrap(), b"\xff");
        assert_eq!(unquote_char(r"'\xff'"), Some('\u{ff}'));
        assert_eq!(unquote_char(r"'\377'"), Some('\u{ff}'));
        assert_eq!(unquote_char("'é'"), Some('é'));
        assert_eq!(unquote_char("'ab'"), None);
        assert!(unquote("'ab'").is_none());
        assert!(unquote(r#""\q""#).is_none());
        assert_eq!(unquote_raw(b"`a\r\xff`").unwrap(), b"a\xff");
    }
}
