//! The lexer: template text to items, as Go's `text/template/parse` lexes it (trim markers,
//! comments, custom delimiters, every literal form). A lexing error is the last item.

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

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

/// Lexes the whole input. The last item is `Eof` or `Error`.
pub fn lex(input: &str, left: &str, right: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        left: if left.is_empty() { "{{" } else { left },
        right: if right.is_empty() { "}}" } else { right },
        start: 0,
        pos: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    start: usize,
    pos: usize,
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

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn right_trim_length(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_length(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
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

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Steps back over the char just read by `next` (`c`).
    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
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
        self.input[from..to].bytes().filter(|&b| b == b'\n').count()
    }

    fn emit(&mut self, typ: ItemType) {
        self.items.push(Item {
            typ,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
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
            val: msg,
            line: self.start_line,
        });
        State::Done
    }

    fn lex_text(&mut self) -> State {
        let Some(x) = self.rest().find(self.left) else {
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
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
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
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
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
            self.backup(Some(before.chars().next().unwrap_or(' ')));
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
                None if word.starts_with('.') => ItemType::Field,
                None if word == "true" || word == "false" => ItemType::Bool,
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
                go_quote(&self.input[self.start..self.pos])
            );
            return Some(self.errorf(bad));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // A complex constant such as 1+2i: no spaces, must end in 'i'.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let bad = format!(
                    "bad number syntax: {}",
                    go_quote(&self.input[self.start..self.pos])
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
    super::printf::quote(s)
}

/// Go's `strconv.Unquote` for interpreted, raw and char literals as the lexer delimited them.
pub fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let quote = b[0];
    if b[b.len() - 1] != quote {
        return None;
    }
    let body = &s[1..s.len() - 1];
    match quote {
        b'`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        b'"' | b'\'' => {
            let mut out = String::with_capacity(body.len());
            let mut chars = body.chars().peekable();
            let mut count = 0;
            while let Some(c) = chars.next() {
                count += 1;
                if c == quote as char || c == '\n' {
                    return None;
                }
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                out.push(unescape(&mut chars, quote as char)?);
            }
            if quote == b'\'' && count != 1 {
                return None;
            }
            Some(out)
        }
        _ => None,
    }
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Option<char> {
    let c = chars.next()?;
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = chars.next().and_then(|c| c.to_digit(16))?;
            v = v * 16 + d;
        }
        Some(v)
    };
    Some(match c {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        '\'' | '"' if c == quote => c,
        'x' => {
            let v = hex(chars, 2)?;
            // Bytes of 0x80 and above are not valid UTF-8 on their own; we keep strings UTF-8.
            char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{FFFD}')
        }
        'u' => char::from_u32(hex(chars, 4)?)?,
        'U' => char::from_u32(hex(chars, 8)?)?,
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next().and_then(|c| c.to_digit(8))?;
            }
            if v > 255 {
                return None;
            }
            char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{FFFD}')
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<(ItemType, String)> {
        lex(s, "", "").into_iter().map(|i| (i.typ, i.val)).collect()
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
        let last = |s: &str| lex(s, "", "").pop().unwrap();
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
        let items: Vec<_> = lex("[[.a]]{{x}}", "[[", "]]")
            .into_iter()
            .map(|i| i.typ)
            .collect();
        assert_eq!(items, vec![LeftDelim, Field, RightDelim, Text, Eof]);
    }

    #[test]
    fn unquote_forms() {
        assert_eq!(unquote(r#""a\tb\x41\101\u00e9""#).unwrap(), "a\tbAAé");
        assert_eq!(unquote("`a\\n`").unwrap(), "a\\n");
        assert_eq!(unquote("'\\n'").unwrap(), "\n");
        assert!(unquote("'ab'").is_none());
        assert!(unquote(r#""\q""#).is_none());
    }
}
