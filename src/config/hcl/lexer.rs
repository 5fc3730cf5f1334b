//! HCL1's scanner: identifiers, numbers with Go's `ParseInt(s, 0, 64)` rules (a leading zero is
//! octal), strings with Go's escapes and `${…}` kept verbatim, heredocs unindented byte for byte
//! as HCL1 does, the three comment styles. Errors carry `file:line:col`.

use std::fmt;

use crate::config::{ConfigError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) line: usize,
    pub(super) col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Heredoc(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    LBrace,
    RBrace,
    LBrack,
    RBrack,
    Comma,
    Assign,
    Eof,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {s:?}"),
            Tok::Str(_) | Tok::Heredoc(_) => "a string".into(),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Bool(b) => b.to_string(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::LBrack => "'['".into(),
            Tok::RBrack => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::Assign => "'='".into(),
            Tok::Eof => "end of file".into(),
        }
    }
}

/// Go's `unicode.IsLetter` plus `_`, as HCL1's scanner starts identifiers.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// POSIX `[[:space:]]`, which HCL1 allows before a heredoc's closing anchor.
fn is_posix_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

pub(super) struct Lexer<'a> {
    file: &'a str,
    src: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(file: &'a str, text: &str) -> Self {
        // HCL1 normalises CRLF before scanning.
        let src = text.replace("\r\n", "\n").chars().collect();
        Lexer {
            file,
            src,
            i: 0,
            line: 1,
            col: 1,
        }
    }

    pub(super) fn err(&self, pos: Pos, msg: impl fmt::Display) -> ConfigError {
        ConfigError(format!("{}:{}:{}: {msg}", self.file, pos.line, pos.col))
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.i).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.src.get(self.i + 1).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = *self.src.get(self.i)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    pub(super) fn next_token(&mut self) -> Result<(Pos, Tok)> {
        self.skip_trivia()?;
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Ok((pos, Tok::Eof));
        };
        let single = match c {
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '[' => Some(Tok::LBrack),
            ']' => Some(Tok::RBrack),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Assign),
            _ => None,
        };
        if let Some(tok) = single {
            self.bump();
            return Ok((pos, tok));
        }
        let next_is_digit = self.peek2().is_some_and(|d| d.is_ascii_digit());
        let tok = match c {
            '"' => self.string(pos)?,
            '<' => self.heredoc(pos)?,
            '-' | '.' if next_is_digit => self.number(pos)?,
            c if c.is_ascii_digit() => self.number(pos)?,
            c if is_letter(c) => self.ident(),
            c => return Err(self.err(pos, format!("unexpected character {c:?}"))),
        };
        Ok((pos, tok))
    }

    /// Whitespace and the three comment forms (`#`, `//`, `/* */`, the last not nesting).
    fn skip_trivia(&mut self) -> Result<()> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' => {
                    self.bump();
                }
                '#' => self.skip_line(),
                '/' => match self.peek2() {
                    Some('/') => self.skip_line(),
                    Some('*') => self.skip_block_comment()?,
                    _ => {
                        let msg = "unexpected '/' (comments start with // or /*)";
                        return Err(self.err(self.pos(), msg));
                    }
                },
                _ => break,
            }
        }
        Ok(())
    }

    fn skip_line(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) -> Result<()> {
        let start = self.pos();
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                None => return Err(self.err(start, "comment not terminated")),
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    return Ok(());
                }
                Some(_) => {}
            }
        }
    }

    fn ident(&mut self) -> Tok {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !(is_letter(c) || is_digit(c) || c == '-' || c == '.') {
                break;
            }
            s.push(c);
            self.bump();
        }
        match s.as_str() {
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            _ => Tok::Ident(s),
        }
    }

    fn take_digits(&mut self, radix: u32) -> usize {
        let mut n = 0;
        while self.peek().is_some_and(|c| c.is_digit(radix)) {
            self.bump();
            n += 1;
        }
        n
    }

    /// HCL1's number scanner: `-`, `0x` hex, a leading `0` making the integer octal, a `.` or an
    /// exponent making a float (`1.`, `.5`, `1.e5` and `09.5` are all floats).
    fn number(&mut self, pos: Pos) -> Result<Tok> {
        let start = self.i;
        if self.peek() == Some('-') {
            self.bump();
        }
        if self.peek() == Some('0') && matches!(self.peek2(), Some('x' | 'X')) {
            self.bump();
            self.bump();
            if self.take_digits(16) == 0 {
                return Err(self.err(pos, "invalid hexadecimal number"));
            }
            return self.int_token(pos, start);
        }
        self.take_digits(10);
        let mut float = false;
        if self.peek() == Some('.') {
            self.bump();
            self.take_digits(10);
            float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            self.take_digits(10);
            float = true;
        }
        if !float {
            return self.int_token(pos, start);
        }
        let text: String = self.src[start..self.i].iter().collect();
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
            Ok(_) => Err(self.err(pos, format!("number out of range: {text}"))),
            Err(_) => Err(self.err(pos, format!("invalid number {text:?}"))),
        }
    }

    /// Go's `strconv.ParseInt(text, 0, 64)` for what the scanner can produce.
    fn int_token(&self, pos: Pos, start: usize) -> Result<Tok> {
        let text: String = self.src[start..self.i].iter().collect();
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let (radix, body) =
            if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
                (16, hex)
            } else if digits.len() > 1 && digits.starts_with('0') {
                (8, &digits[1..])
            } else {
                (10, digits)
            };
        let magnitude = u64::from_str_radix(body, radix)
            .map_err(|e| match e.kind() {
                std::num::IntErrorKind::PosOverflow => format!("number out of range: {text}"),
                _ => format!("invalid number {text:?}"),
            })
            .map_err(|m| self.err(pos, m))?;
        let value = if neg {
            0i128 - magnitude as i128
        } else {
            magnitude as i128
        };
        i64::try_from(value)
            .map(Tok::Int)
            .map_err(|_| self.err(pos, format!("number out of range: {text}")))
    }

    /// A quoted string. Escapes are Go's (`\n \t \" \\ \a \b \f \r \v`, `\NNN` octal, `\xHH`,
    /// `\uHHHH`, `\UHHHHHHHH`); inside `${ }` everything is kept verbatim, quotes and newlines
    /// included, as HCL1 leaves interpolations to its caller.
    fn string(&mut self, pos: Pos) -> Result<Tok> {
        self.bump();
        let mut out: Vec<u8> = Vec::new();
        let mut braces = 0usize;
        loop {
            // A newline ends the line, not the string, unless inside `${ }`.
            let Some(c) = self.peek().filter(|&c| braces > 0 || c != '\n') else {
                return Err(self.err(pos, "string not terminated"));
            };
            let here = self.pos();
            self.bump();
            if braces == 0 && c == '"' {
                break;
            }
            if braces == 0 && c == '$' && self.peek() == Some('{') {
                self.bump();
                braces = 1;
                out.extend_from_slice(b"${");
                continue;
            }
            if braces > 0 {
                match c {
                    '{' => braces += 1,
                    '}' => braces -= 1,
                    _ => {}
                }
            }
            if c != '\\' {
                push_char(&mut out, c);
            } else if braces > 0 {
                let raw = self.escape_raw(here)?;
                out.push(b'\\');
                raw.chars().for_each(|c| push_char(&mut out, c));
            } else {
                self.unescape(here, &mut out)?;
            }
        }
        // Go keeps the raw bytes of `\xHH` escapes even when they are not UTF-8; we cannot.
        String::from_utf8(out)
            .map(Tok::Str)
            .map_err(|_| self.err(pos, "string is not valid UTF-8 (check its \\x escapes)"))
    }

    /// The characters of one escape after the backslash, checked as HCL1's scanner does.
    fn escape_raw(&mut self, at: Pos) -> Result<String> {
        let bad = |lx: &Self| lx.err(at, "invalid escape sequence in string");
        let Some(c) = self.bump() else {
            return Err(bad(self));
        };
        let (radix, count) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => return Ok(c.to_string()),
            '0'..='7' => (8, 2),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            _ => return Err(self.err(at, format!("invalid escape sequence \"\\{c}\" in string"))),
        };
        let mut raw = c.to_string();
        for _ in 0..count {
            match self.peek() {
                Some(d) if d.is_digit(radix) => {
                    raw.push(d);
                    self.bump();
                }
                _ => return Err(bad(self)),
            }
        }
        Ok(raw)
    }

    /// Decodes one escape into `out`: octal and `\x` give raw bytes, `\u`/`\U` give characters
    /// (a surrogate becomes U+FFFD, as Go's `utf8.EncodeRune` writes).
    fn unescape(&mut self, at: Pos, out: &mut Vec<u8>) -> Result<()> {
        let raw = self.escape_raw(at)?;
        let (first, digits) = raw.split_at(1);
        let simple = match first {
            "a" => Some(b'\x07'),
            "b" => Some(b'\x08'),
            "f" => Some(b'\x0c'),
            "n" => Some(b'\n'),
            "r" => Some(b'\r'),
            "t" => Some(b'\t'),
            "v" => Some(b'\x0b'),
            "\\" => Some(b'\\'),
            "\"" => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let out_of_range = || self.err(at, format!("escape \"\\{raw}\" out of range"));
        match first {
            "x" => out.push(u8::from_str_radix(digits, 16).map_err(|_| out_of_range())?),
            "u" | "U" => {
                let v = u32::from_str_radix(digits, 16).map_err(|_| out_of_range())?;
                if v > 0x10_ffff {
                    return Err(out_of_range());
                }
                push_char(out, char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            _ => out.push(u8::from_str_radix(&raw, 8).map_err(|_| out_of_range())?),
        }
        Ok(())
    }

    /// `<<EOF` / `<<-EOF`: the anchor must end its line, and the closing anchor must be on a line
    /// of its own (leading whitespace allowed) that is itself ended by a newline.
    fn heredoc(&mut self, pos: Pos) -> Result<Tok> {
        self.bump();
        if self.peek() != Some('<') {
            return Err(self.err(pos, "unexpected character '<'"));
        }
        self.bump();
        let indent = self.peek() == Some('-');
        if indent {
            self.bump();
        }
        let mut anchor = String::new();
        while let Some(c) = self.peek().filter(|&c| is_letter(c) || is_digit(c)) {
            anchor.push(c);
            self.bump();
        }
        match self.peek() {
            None => return Err(self.err(pos, "heredoc not terminated")),
            Some('\n') => {}
            Some(c) => {
                let msg = format!("unexpected {c:?} after heredoc anchor (it must end the line)");
                return Err(self.err(self.pos(), msg));
            }
        }
        self.bump();
        if anchor.is_empty() {
            return Err(self.err(pos, "heredoc anchor missing after '<<'"));
        }
        let marker = format!("<<{}{anchor}", if indent { "-" } else { "" });
        let body = self.heredoc_body(pos, &marker, &anchor)?;
        Ok(Tok::Heredoc(heredoc_value(&format!("{marker}\n{body}"))))
    }

    /// Reads lines up to and including the closing anchor line (with its newline).
    fn heredoc_body(&mut self, pos: Pos, marker: &str, anchor: &str) -> Result<String> {
        // HCL1 compares a line's length with the anchor *including* the `-` of `<<-` before
        // matching, so an unindented `EOF` does not close `<<-EOF`.
        let min_len = marker.len() - 2;
        let mut body = String::new();
        let mut line = String::new();
        loop {
            match self.bump() {
                None => {
                    let msg = format!(
                        "heredoc {marker} not terminated (the closing {anchor} must be on its \
                         own line, followed by a newline)"
                    );
                    return Err(self.err(pos, msg));
                }
                Some('\n') => {
                    let closing = line.len() >= min_len
                        && line
                            .trim_start_matches(is_posix_space)
                            .trim_end_matches('\r')
                            == anchor;
                    body.push_str(&line);
                    body.push('\n');
                    if closing {
                        return Ok(body);
                    }
                    line.clear();
                }
                Some(c) => line.push(c),
            }
        }
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// HCL1's `unindentHeredoc`, byte for byte: `text` is the whole token (`<<EOF\n…EOF\n`).
/// `<<EOF` keeps the body as is. `<<-EOF` removes the closing line's indentation from every line
/// when all lines carry it, and otherwise keeps the body (minus trailing blanks of the last line).
fn heredoc_value(text: &str) -> String {
    let slice = |a: usize, b: usize| text.get(a..b).unwrap_or("").to_string();
    let Some(idx) = text.find('\n') else {
        return String::new();
    };
    let len = text.len();
    if text.as_bytes().get(2) != Some(&b'-') {
        return slice(idx + 1, (len + 1).saturating_sub(idx));
    }
    let lines_src = slice(idx + 1, (len + 2).saturating_sub(idx));
    let lines: Vec<&str> = lines_src.split('\n').collect();
    let prefix = lines.last().copied().unwrap_or("");
    if !lines.iter().all(|l| l.starts_with(prefix)) {
        let kept = slice(idx + 1, (len + 1).saturating_sub(idx));
        return kept.trim_end_matches([' ', '\t']).to_string();
    }
    let mut out: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| &l[prefix.len()..])
        .collect();
    out.push("");
    out.join("\n")
}
