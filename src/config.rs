//! consul-template's configuration files: an HCL v1 parser of our own, JSON input, the config
//! model with consul-template's keys, merging, and loading files or directories.
//!
//! HCL here is **v1** (github.com/hashicorp/hcl 1.x), not HCL2: `perms = 0600` is the octal
//! number 384, blocks may repeat, `key = value` pairs need no separator. Every syntax rule below
//! was checked against the Go library (Debian's `golang-github-hashicorp-hcl-dev`) decoding into
//! `interface{}`; the tests carry its answers. Where we deliberately differ, the item says so.
//!
//! Layers: text → [`Tree`] (objects keep repeated keys in order, each key with its position) →
//! [`Config`] (consul-template's keys with mapstructure's rules: unknown keys are errors, a
//! repeated block keeps the last one, `template` blocks accumulate).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration error, already formatted as `file[:line:col]: [key.path: ]message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

type Result<T> = std::result::Result<T, ConfigError>;

// ------------------------------------------------------------------------------------------------
// The tree

/// A parsed HCL/JSON document. `K` is the object key: `String` for the public [`Hcl`]; inside
/// this module keys also carry their position, so that errors can point at a line.
///
/// Blocks and `key = { }` objects are both `Object`; a repeated key stays repeated, in order
/// (HCL1's decoder would append repeated blocks and lists, keep the last scalar, and refuse a key
/// repeated with another type: the config layer applies the first three rules and lets the last
/// value win in the fourth case); block labels nest (`template "x" { }` is `template { x { } }`,
/// as HCL1 decodes it).
#[derive(Debug, Clone, PartialEq)]
pub enum Tree<K> {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Tree<K>>),
    Object(Vec<(K, Tree<K>)>),
}

/// The public tree: plain string keys.
pub type Hcl = Tree<String>;

/// An object key and where it was written (`line` 0 when unknown, as for JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    name: String,
    line: usize,
    col: usize,
}

type Node = Tree<Key>;

impl Node {
    /// Drops the positions.
    fn strip(&self) -> Hcl {
        match self {
            Tree::Str(s) => Tree::Str(s.clone()),
            Tree::Int(i) => Tree::Int(*i),
            Tree::Float(f) => Tree::Float(*f),
            Tree::Bool(b) => Tree::Bool(*b),
            Tree::List(l) => Tree::List(l.iter().map(Node::strip).collect()),
            Tree::Object(o) => {
                Tree::Object(o.iter().map(|(k, v)| (k.name.clone(), v.strip())).collect())
            }
        }
    }

    /// How a value is named in "expected X, got Y" messages.
    fn describe(&self) -> String {
        match self {
            Tree::Str(s) => format!("{s:?}"),
            Tree::Int(i) => i.to_string(),
            Tree::Float(f) => f.to_string(),
            Tree::Bool(b) => b.to_string(),
            Tree::List(_) => "a list".into(),
            Tree::Object(_) => "a block".into(),
        }
    }
}

/// Parses HCL v1 text. `name` only labels errors (`name:line:col: message`).
pub fn parse_hcl(name: &str, text: &str) -> Result<Hcl> {
    Ok(Tree::Object(hcl_entries(name, text)?).strip())
}

/// Parses a JSON document (an object at the top) into the same tree.
pub fn parse_json(name: &str, text: &str) -> Result<Hcl> {
    Ok(Tree::Object(json_entries(name, text)?).strip())
}

/// Parses either syntax, chosen as HCL1 chooses: JSON when the first non-space character is `{`.
pub fn parse_any(name: &str, text: &str) -> Result<Hcl> {
    Ok(Tree::Object(entries(name, text)?).strip())
}

fn entries(name: &str, text: &str) -> Result<Vec<(Key, Node)>> {
    // A UTF-8 byte-order mark is not whitespace to Go's HCL (it fails); we just skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        json_entries(name, text)
    } else {
        hcl_entries(name, text)
    }
}

// ------------------------------------------------------------------------------------------------
// HCL1 lexer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    col: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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
    fn describe(&self) -> String {
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

struct Lexer<'a> {
    file: &'a str,
    src: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl<'a> Lexer<'a> {
    fn new(file: &'a str, text: &str) -> Self {
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

    fn err(&self, pos: Pos, msg: impl fmt::Display) -> ConfigError {
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

    fn next_token(&mut self) -> Result<(Pos, Tok)> {
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

// ------------------------------------------------------------------------------------------------
// HCL1 parser

/// Blocks and lists nested deeper than this are refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    lx: Lexer<'a>,
    peeked: Option<(Pos, Tok)>,
    depth: usize,
}

fn hcl_entries(file: &str, text: &str) -> Result<Vec<(Key, Node)>> {
    // Go's scanner refuses NUL wherever it meets one, comments and strings included.
    if let Some(at) = text.find('\0') {
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        return Err(ConfigError(format!(
            "{file}:{line}:{col}: unexpected NUL character"
        )));
    }
    let mut p = Parser {
        lx: Lexer::new(file, text),
        peeked: None,
        depth: 0,
    };
    p.object_list(None)
}

impl Parser<'_> {
    fn next(&mut self) -> Result<(Pos, Tok)> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lx.next_token(),
        }
    }

    fn peek(&mut self) -> Result<(Pos, Tok)> {
        let t = self.next()?;
        self.peeked = Some(t.clone());
        Ok(t)
    }

    fn err(&self, pos: Pos, msg: impl fmt::Display) -> ConfigError {
        self.lx.err(pos, msg)
    }

    fn enter(&mut self, pos: Pos) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(pos, "blocks or lists nested too deeply"));
        }
        Ok(())
    }

    /// Items up to end of file (`open` = None) or up to the `}` closing the block opened at
    /// `open`. Items may be separated by commas, newlines, or nothing at all.
    fn object_list(&mut self, open: Option<(Pos, &str)>) -> Result<Vec<(Key, Node)>> {
        let mut items = Vec::new();
        loop {
            let (pos, tok) = self.peek()?;
            match (&tok, open) {
                (Tok::Eof, None) => return Ok(items),
                (Tok::RBrace, Some(_)) => {
                    self.next()?;
                    return Ok(items);
                }
                (Tok::Eof, Some((at, name))) => {
                    let msg = format!(
                        "expected '}}' to close block {name:?} opened at {}:{}, got end of file",
                        at.line, at.col
                    );
                    return Err(self.err(pos, msg));
                }
                _ => items.push(self.object_item()?),
            }
            if self.peek()?.1 == Tok::Comma {
                self.next()?;
            }
        }
    }

    /// `key = value`, `key { … }`, `key = { … }` or `key "label" … { … }`.
    fn object_item(&mut self) -> Result<(Key, Node)> {
        let (first, labels) = self.keys()?;
        let (pos, tok) = self.next()?;
        let names: Vec<String> = std::iter::once(&first)
            .chain(&labels)
            .map(|k| format!("{:?}", k.name))
            .collect();
        let value = match tok {
            Tok::Assign if !labels.is_empty() => {
                let msg = format!("expected '{{' after block labels {}", names.join(" "));
                return Err(self.err(pos, msg));
            }
            Tok::Assign => self.value(&first.name)?,
            Tok::LBrace => {
                let name = labels.last().unwrap_or(&first).name.clone();
                self.block(pos, &name)?
            }
            other => {
                let key = if labels.is_empty() { "key" } else { "keys" };
                let msg = format!(
                    "expected '=' or '{{' after {key} {}, got {}",
                    names.join(" "),
                    other.describe()
                );
                return Err(self.err(pos, msg));
            }
        };
        // `a "b" "c" { }` is `a { b { c { } } }`.
        let value = labels
            .into_iter()
            .rev()
            .fold(value, |v, k| Tree::Object(vec![(k, v)]));
        Ok((first, value))
    }

    /// A key (identifier or quoted string) and any labels after it.
    fn keys(&mut self) -> Result<(Key, Vec<Key>)> {
        let (pos, tok) = self.next()?;
        let first = match tok {
            Tok::Ident(name) | Tok::Str(name) => key_at(name, pos),
            Tok::Assign => return Err(self.err(pos, "expected a key before '='")),
            other => return Err(self.err(pos, format!("expected a key, got {}", other.describe()))),
        };
        let mut labels = Vec::new();
        while let (pos, Tok::Ident(name) | Tok::Str(name)) = self.peek()? {
            self.next()?;
            labels.push(key_at(name, pos));
        }
        Ok((first, labels))
    }

    fn value(&mut self, key: &str) -> Result<Node> {
        let (pos, tok) = self.next()?;
        match tok {
            Tok::LBrace => self.block(pos, key),
            Tok::LBrack => self.list(pos),
            // HCL1 silently drops a `key =` at the very end of the file; we refuse it.
            other => {
                let what = other.describe();
                literal(other).ok_or_else(|| {
                    self.err(pos, format!("expected a value for key {key:?}, got {what}"))
                })
            }
        }
    }

    fn block(&mut self, open: Pos, name: &str) -> Result<Node> {
        self.enter(open)?;
        let items = self.object_list(Some((open, name)))?;
        self.depth -= 1;
        Ok(Tree::Object(items))
    }

    /// `[a, b,]`: commas between items, extra commas ignored; HCL1 needs no comma after a nested
    /// list (`[[1] [2]]` parses), which we keep.
    fn list(&mut self, open: Pos) -> Result<Node> {
        self.enter(open)?;
        let mut items = Vec::new();
        let mut need_comma = false;
        loop {
            let (pos, tok) = self.next()?;
            let fail = |p: &Self, what: String| {
                let msg = format!("{what} in the list opened at {}:{}", open.line, open.col);
                Err(p.err(pos, msg))
            };
            match tok {
                Tok::RBrack => break,
                Tok::Comma => need_comma = false,
                Tok::Eof => return fail(self, "expected ']', got end of file".into()),
                _ if need_comma => {
                    return fail(self, format!("expected ',' or ']', got {}", tok.describe()))
                }
                Tok::LBrace => {
                    items.push(self.block(pos, "")?);
                    need_comma = true;
                }
                Tok::LBrack => items.push(self.list(pos)?),
                other => {
                    let what = other.describe();
                    match literal(other) {
                        Some(v) => items.push(v),
                        None => return fail(self, format!("unexpected {what}")),
                    }
                    need_comma = true;
                }
            }
        }
        self.depth -= 1;
        Ok(Tree::List(items))
    }
}

fn key_at(name: String, pos: Pos) -> Key {
    Key {
        name,
        line: pos.line,
        col: pos.col,
    }
}

fn literal(tok: Tok) -> Option<Node> {
    Some(match tok {
        Tok::Str(s) | Tok::Heredoc(s) => Tree::Str(s),
        Tok::Int(i) => Tree::Int(i),
        Tok::Float(f) => Tree::Float(f),
        Tok::Bool(b) => Tree::Bool(b),
        _ => return None,
    })
}

// ------------------------------------------------------------------------------------------------
// JSON

/// serde_json into the tree, keeping object keys in order (and repeated keys, which serde_json
/// hands over one by one). JSON has no positions here; errors name the key path instead.
///
/// HCL1 reads JSON with its own parser, which we do not copy where it misbehaves: it turns an
/// object whose values are all objects into one block per value, so consul-template reads
/// `{"consul": {"retry": {…}, "ssl": {…}}}` as two `consul` blocks and keeps only `ssl`, and
/// `"template": [{"wait": {…}, "exec": {…}}]` as two templates; it drops booleans from mixed
/// arrays, panics on surrogate-pair escapes and ignores text after the document. Here a JSON
/// object is one block, always.
struct JsonNode(Node);

impl<'de> serde::Deserialize<'de> for JsonNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = JsonNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Int(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<JsonNode, E> {
        i64::try_from(v)
            .map(|i| JsonNode(Tree::Int(i)))
            .map_err(|_| E::custom(format!("number out of range: {v}")))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Str(v.to_string())))
    }

    /// HCL1's JSON reader turns `null` into an empty string.
    fn visit_unit<E>(self) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Str(String::new())))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<JsonNode, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonNode(n)) = seq.next_element()? {
            items.push(n);
        }
        Ok(JsonNode(Tree::List(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<JsonNode, A::Error> {
        let mut entries = Vec::new();
        while let Some((name, JsonNode(v))) = map.next_entry::<String, JsonNode>()? {
            entries.push((key_at(name, Pos { line: 0, col: 0 }), v));
        }
        Ok(JsonNode(Tree::Object(entries)))
    }
}

fn json_entries(file: &str, text: &str) -> Result<Vec<(Key, Node)>> {
    match serde_json::from_str::<JsonNode>(text) {
        Ok(JsonNode(Tree::Object(entries))) => Ok(entries),
        Ok(_) => Err(ConfigError(format!(
            "{file}: a JSON config must be an object"
        ))),
        Err(e) => {
            let msg = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
            Err(ConfigError(format!(
                "{file}:{}:{}: {msg}",
                e.line(),
                e.column()
            )))
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The model. Every field is optional so that merging knows what a file set; the documented
// default (applied by the caller) follows each field.

/// consul-template's configuration (see the reference, §2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub consul: ConsulConfig,
    /// `template { }` blocks, in file order; files and flags append.
    pub templates: Vec<TemplateConfig>,
    /// Supervise mode.
    pub exec: Option<ExecConfig>,
    /// Global quiescence; unset = off.
    pub wait: Option<WaitConfig>,
    /// Default `WARN`.
    pub log_level: Option<String>,
    pub pid_file: Option<String>,
    /// Upper-cased name (see [`signal`]); `SIGNULL` = disabled. Default `SIGINT`.
    pub kill_signal: Option<String>,
    /// Default `SIGHUP`.
    pub reload_signal: Option<String>,
    /// Default 2s.
    pub max_stale: Option<Duration>,
    /// The `wait=` of blocking queries; default 60s.
    pub block_query_wait: Option<Duration>,
    pub once: Option<bool>,
    pub parseonly: Option<bool>,
    /// Overrides every template's `error_fatal`.
    pub template_error_fatal: Option<bool>,
    /// Default false.
    pub err_on_failed_lookup: Option<bool>,
    /// `default_delimiters { left right }`; a missing side is Go's (`{{` or `}}`).
    pub default_delimiters: Option<(String, String)>,
    /// Kept as written so that the caller can refuse them clearly.
    pub vault: Option<Hcl>,
    pub nomad: Option<Hcl>,
    pub deduplicate: Option<Hcl>,
    pub syslog: Option<SyslogConfig>,
    pub log_file: Option<LogFileConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsulConfig {
    /// `host:port`, possibly with an `http://`, `https://` or `unix://` scheme.
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub auth: Option<AuthConfig>,
    pub retry: Option<RetryConfig>,
    pub ssl: Option<SslConfig>,
    pub transport: Option<TransportConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthConfig {
    /// Default: true when a username or password is set.
    pub enabled: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryConfig {
    /// Default true.
    pub enabled: Option<bool>,
    /// Default 12; 0 = unlimited.
    pub attempts: Option<u32>,
    /// Default 250ms, doubled each attempt.
    pub backoff: Option<Duration>,
    /// Default 1m; 0 = no cap.
    pub max_backoff: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SslConfig {
    /// Default: true when any other field is set.
    pub enabled: Option<bool>,
    /// Default true.
    pub verify: Option<bool>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub ca_cert: Option<String>,
    pub ca_cert_bytes: Option<String>,
    pub ca_path: Option<String>,
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransportConfig {
    /// Defaults 30s, 30s, false, 5s, 0, 100, 0, 10s.
    pub dial_keep_alive: Option<Duration>,
    pub dial_timeout: Option<Duration>,
    pub disable_keep_alives: Option<bool>,
    pub idle_conn_timeout: Option<Duration>,
    pub max_idle_conns: Option<u32>,
    pub max_idle_conns_per_host: Option<u32>,
    pub max_conns_per_host: Option<u32>,
    pub tls_handshake_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateConfig {
    /// Exactly one of `source` and `contents` is set (checked when parsing).
    pub source: Option<String>,
    pub contents: Option<String>,
    pub destination: Option<String>,
    /// Default true (directories made 0755).
    pub create_dest_dirs: Option<bool>,
    /// File mode; unset keeps the existing file's mode, else 0644.
    pub perms: Option<u32>,
    /// Name or numeric id; unset keeps the existing owner.
    pub user: Option<String>,
    pub group: Option<String>,
    /// Legacy numeric forms of `user` and `group` (used when those are unset).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Default false.
    pub backup: Option<bool>,
    /// Default false.
    pub error_on_missing_key: Option<bool>,
    /// Default true.
    pub error_fatal: Option<bool>,
    pub left_delimiter: Option<String>,
    pub right_delimiter: Option<String>,
    /// Glob patterns; the legacy `function_blacklist` lands here too.
    pub function_denylist: Vec<String>,
    pub sandbox_path: Option<String>,
    pub wait: Option<WaitConfig>,
    /// Legacy form of `exec.command` (used when that is unset).
    pub command: Option<Command>,
    /// Legacy form of `exec.timeout`; default 30s.
    pub command_timeout: Option<Duration>,
    /// ctmpl's own: run after a changed file is in place, before `command`; if it fails the
    /// previous contents are restored (e.g. `nginx -t`).
    pub check_command: Option<Command>,
    pub exec: Option<ExecConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecConfig {
    pub command: Option<Command>,
    /// Default: true when a command is set.
    pub enabled: Option<bool>,
    pub env: Option<EnvConfig>,
    /// Default SIGINT.
    pub kill_signal: Option<String>,
    /// Default 30s.
    pub kill_timeout: Option<Duration>,
    /// Unset = restart the child instead of signalling it.
    pub reload_signal: Option<String>,
    /// Default 0.
    pub splay: Option<Duration>,
    /// Default 0 for the supervised child, 30s for template commands.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvConfig {
    /// Default false: inherit our environment (filtered).
    pub pristine: Option<bool>,
    /// `K=V` entries.
    pub custom: Vec<String>,
    /// Globs; the legacy `whitelist` lands here too.
    pub allowlist: Vec<String>,
    /// Globs, winning over the allowlist; the legacy `blacklist` lands here too.
    pub denylist: Vec<String>,
}

/// A command as written. How to run it is the caller's choice; consul-template runs a single
/// string containing whitespace with `sh -c`, execs a single word directly, and treats a
/// one-element list exactly like a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `command = "nginx -s reload"`.
    Shell(String),
    /// `command = ["nginx", "-s", "reload"]`, and also a string containing commas (see
    /// [`command_from_string`]); empty when `command = ""`.
    Argv(Vec<String>),
}

/// Quiescence: wait for `min` of calm, but no longer than `max` in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitConfig {
    pub min: Option<Duration>,
    /// Unset = 4 × min.
    pub max: Option<Duration>,
}

impl WaitConfig {
    /// `(min, max)` with consul-template's defaults: min 0, max 4 × min.
    pub fn bounds(&self) -> (Duration, Duration) {
        let min = self.min.unwrap_or_default();
        (min, self.max.unwrap_or(min.saturating_mul(4)))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyslogConfig {
    /// Default: true when facility or name is set.
    pub enabled: Option<bool>,
    /// Default LOCAL0.
    pub facility: Option<String>,
    /// Default `consul-template`.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFileConfig {
    pub path: Option<String>,
    /// 0 = unlimited.
    pub log_rotate_bytes: Option<u64>,
    /// Default 24h.
    pub log_rotate_duration: Option<Duration>,
    /// -1 = delete old files.
    pub log_rotate_max_files: Option<i64>,
}

/// The signal names a config may use. `SIGNULL` (or an empty string) means "none".
pub const SIGNALS: [&str; 12] = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGWINCH",
];

/// Validates a signal name: upper-cased, checked against [`SIGNALS`]; `""` and `SIGNULL` give
/// `SIGNULL` (disabled).
pub fn signal(name: &str) -> std::result::Result<String, String> {
    let upper = name.to_ascii_uppercase();
    if upper.is_empty() || upper == "SIGNULL" {
        return Ok("SIGNULL".into());
    }
    if SIGNALS.contains(&upper.as_str()) {
        return Ok(upper);
    }
    Err(format!(
        "unknown signal {name:?} (valid: {}, SIGNULL)",
        SIGNALS.join(", ")
    ))
}

/// The nix signal for a validated name; `None` for `SIGNULL` (disabled).
pub fn to_signal(name: &str) -> Option<nix::sys::signal::Signal> {
    use nix::sys::signal::Signal::*;
    Some(match name {
        "SIGHUP" => SIGHUP,
        "SIGINT" => SIGINT,
        "SIGQUIT" => SIGQUIT,
        "SIGKILL" => SIGKILL,
        "SIGUSR1" => SIGUSR1,
        "SIGUSR2" => SIGUSR2,
        "SIGTERM" => SIGTERM,
        "SIGCHLD" => SIGCHLD,
        "SIGCONT" => SIGCONT,
        "SIGSTOP" => SIGSTOP,
        "SIGTSTP" => SIGTSTP,
        "SIGWINCH" => SIGWINCH,
        _ => return None,
    })
}

/// `MIN[:MAX]` (the `-wait` flag and `wait = "5s:10s"`): MAX defaults to 4 × MIN, must not be
/// below MIN, and neither may be negative.
pub fn parse_wait(s: &str) -> std::result::Result<WaitConfig, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("wait: cannot be empty".into());
    }
    let nanos = |p: &str| crate::duration::parse_nanos(p.trim());
    let (min, max) = match s.split(':').collect::<Vec<_>>()[..] {
        [min] => (nanos(min)?, nanos(min)?.saturating_mul(4)),
        [min, max] => (nanos(min)?, nanos(max)?),
        _ => {
            return Err(format!(
                "wait: invalid format {s:?} (expected MIN or MIN:MAX)"
            ))
        }
    };
    if min < 0 || max < 0 {
        return Err("wait: cannot be negative".into());
    }
    if max < min {
        let (min, max) = (
            crate::duration::format_nanos(min),
            crate::duration::format_nanos(max),
        );
        return Err(format!(
            "wait: max ({max}) must not be less than min ({min})"
        ));
    }
    Ok(WaitConfig {
        min: Some(Duration::from_nanos(min as u64)),
        max: Some(Duration::from_nanos(max as u64)),
    })
}

/// A command given as a string. consul-template decodes it into a list with mapstructure's
/// comma splitting, so `"a,b"` is the two-word argv `["a", "b"]` (no trimming) and `""` is an
/// empty command; any other string is kept whole.
pub fn command_from_string(s: &str) -> Command {
    if s.is_empty() {
        Command::Argv(Vec::new())
    } else if s.contains(',') {
        Command::Argv(s.split(',').map(String::from).collect())
    } else {
        Command::Shell(s.to_string())
    }
}

// ------------------------------------------------------------------------------------------------
// Tree → model, with mapstructure's rules as consul-template configures them: unknown keys are
// errors; keys match case-insensitively; strings become lists by splitting on commas; durations
// are Go durations (a bare integer is nanoseconds); no other type conversion.

struct Cx<'a> {
    file: &'a str,
}

type Body = [(Key, Node)];

/// The lower-cased key and its dotted path under `parent`.
fn names(parent: &str, key: &Key) -> (String, String) {
    let name = key.name.to_ascii_lowercase();
    let path = if parent.is_empty() {
        name.clone()
    } else {
        format!("{parent}.{name}")
    };
    (name, path)
}

impl Cx<'_> {
    fn fail(&self, key: &Key, path: &str, msg: impl fmt::Display) -> ConfigError {
        let at = if key.line > 0 {
            format!("{}:{}:{}", self.file, key.line, key.col)
        } else {
            self.file.to_string()
        };
        match path {
            "" => ConfigError(format!("{at}: {msg}")),
            _ => ConfigError(format!("{at}: {path}: {msg}")),
        }
    }

    fn unknown(&self, key: &Key, parent: &str) -> ConfigError {
        self.fail(key, parent, format!("unknown key {:?}", key.name))
    }

    fn expected(&self, key: &Key, path: &str, what: &str, v: &Node) -> ConfigError {
        self.fail(key, path, format!("expected {what}, got {}", v.describe()))
    }

    fn string(&self, key: &Key, path: &str, v: &Node) -> Result<String> {
        match v {
            Tree::Str(s) => Ok(s.clone()),
            _ => Err(self.expected(key, path, "a string", v)),
        }
    }

    fn boolean(&self, key: &Key, path: &str, v: &Node) -> Result<bool> {
        match v {
            Tree::Bool(b) => Ok(*b),
            _ => Err(self.expected(key, path, "true or false", v)),
        }
    }

    /// An integer; a float without fraction (JSON `5.0`) is accepted as mapstructure does.
    fn integer(&self, key: &Key, path: &str, v: &Node) -> Result<i64> {
        match v {
            Tree::Int(i) => Ok(*i),
            Tree::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
            _ => Err(self.expected(key, path, "a number", v)),
        }
    }

    fn unsigned<T: TryFrom<i64>>(&self, key: &Key, path: &str, v: &Node) -> Result<T> {
        let i = self.integer(key, path, v)?;
        T::try_from(i).map_err(|_| self.fail(key, path, format!("{i} is out of range")))
    }

    /// `"1m30s"`; an integer is nanoseconds (Go's `time.Duration`), which makes `0` work.
    fn duration(&self, key: &Key, path: &str, v: &Node) -> Result<Duration> {
        match v {
            Tree::Str(s) => crate::duration::parse(s).map_err(|e| self.fail(key, path, e)),
            Tree::Int(_) | Tree::Float(_) => {
                let nanos: u64 = self.unsigned(key, path, v)?;
                Ok(Duration::from_nanos(nanos))
            }
            _ => Err(self.expected(key, path, "a duration such as \"5s\"", v)),
        }
    }

    fn signal(&self, key: &Key, path: &str, v: &Node) -> Result<String> {
        let name = self.string(key, path, v)?;
        signal(&name).map_err(|e| self.fail(key, path, e))
    }

    /// A list of strings, or one string split on commas (`""` is the empty list).
    fn strings(&self, key: &Key, path: &str, v: &Node) -> Result<Vec<String>> {
        match v {
            Tree::Str(s) if s.is_empty() => Ok(Vec::new()),
            Tree::Str(s) => Ok(s.split(',').map(String::from).collect()),
            Tree::List(items) => items.iter().map(|i| self.string(key, path, i)).collect(),
            _ => Err(self.expected(key, path, "a list of strings", v)),
        }
    }

    /// HCL1 concatenates a list attribute given twice; a string replaces.
    fn extend(&self, dst: &mut Vec<String>, key: &Key, path: &str, v: &Node) -> Result<()> {
        let items = self.strings(key, path, v)?;
        if !matches!(v, Tree::List(_)) {
            dst.clear();
        }
        dst.extend(items);
        Ok(())
    }

    fn command(&self, key: &Key, path: &str, v: &Node) -> Result<Command> {
        match v {
            Tree::Str(s) => Ok(command_from_string(s)),
            Tree::List(_) => Ok(Command::Argv(self.strings(key, path, v)?)),
            _ => Err(self.expected(key, path, "a command (a string or a list)", v)),
        }
    }

    /// `"MIN[:MAX]"` or `{ min max }`.
    fn wait(&self, key: &Key, path: &str, v: &Node) -> Result<WaitConfig> {
        if let Tree::Str(s) = v {
            return parse_wait(s).map_err(|e| self.fail(key, path, e));
        }
        let what = "\"MIN:MAX\" or a block";
        let body = self.block_as(key, path, v, what)?;
        let mut w = WaitConfig::default();
        for (k, v) in body {
            let (name, p) = names(path, k);
            match name.as_str() {
                "min" => w.min = Some(self.duration(k, &p, v)?),
                "max" => w.max = Some(self.duration(k, &p, v)?),
                _ => return Err(self.unknown(k, path)),
            }
        }
        Ok(w)
    }

    /// A file mode: an integer as written (`0600` is octal in HCL1, `600` is decimal 600 =
    /// 0o1130!), or a string parsed as octal (`"0600"`, `"600"`), at most 0o7777.
    fn perms(&self, key: &Key, path: &str, v: &Node) -> Result<u32> {
        let mode = match v {
            Tree::Str(s) if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
                u32::from_str_radix(s, 8).ok()
            }
            Tree::Int(_) | Tree::Float(_) => self
                .integer(key, path, v)
                .ok()
                .and_then(|i| u32::try_from(i).ok()),
            Tree::Str(_) => None,
            _ => return Err(self.expected(key, path, "a file mode such as 0644", v)),
        };
        match mode {
            Some(m) if m <= 0o7777 => Ok(m),
            _ => Err(self.expected(key, path, "a file mode between 0000 and 07777", v)),
        }
    }

    fn block<'n>(&self, key: &Key, path: &str, v: &'n Node) -> Result<&'n Body> {
        self.block_as(key, path, v, "a block")
    }

    /// A block's body. A list of blocks (JSON arrays, HCL `k = [{…}, {…}]`) keeps the last one,
    /// as consul-template's `flattenKeys` does with repeated blocks.
    fn block_as<'n>(&self, key: &Key, path: &str, v: &'n Node, what: &str) -> Result<&'n Body> {
        match v {
            Tree::Object(body) => Ok(body),
            Tree::List(items) => match items.last() {
                Some(last @ Tree::Object(_))
                    if items.iter().all(|i| matches!(i, Tree::Object(_))) =>
                {
                    self.block_as(key, path, last, what)
                }
                _ => Err(self.expected(key, path, what, v)),
            },
            _ => Err(self.expected(key, path, what, v)),
        }
    }

    /// Every block of a repeatable key (`template`).
    fn blocks<'n>(&self, key: &Key, path: &str, v: &'n Node) -> Result<Vec<&'n Body>> {
        match v {
            Tree::Object(body) => Ok(vec![body]),
            Tree::List(items) => items.iter().map(|i| self.block(key, path, i)).collect(),
            _ => Err(self.expected(key, path, "a block", v)),
        }
    }
}

/// The top level. Each entry is decoded in order, so a repeated block or scalar ends with the
/// last one; unlike consul-template we also report mistakes in the blocks that lose.
fn decode_config(cx: &Cx, body: &Body) -> Result<Config> {
    let mut c = Config::default();
    for (k, v) in body {
        let (name, p) = names("", k);
        match name.as_str() {
            "consul" => c.consul = decode_consul(cx, k, v)?,
            "template" => decode_templates(cx, k, v, &mut c.templates)?,
            "exec" => c.exec = Some(decode_exec(cx, &p, cx.block(k, &p, v)?)?),
            "wait" => c.wait = Some(cx.wait(k, &p, v)?),
            "log_level" => c.log_level = Some(cx.string(k, &p, v)?),
            "pid_file" => c.pid_file = Some(cx.string(k, &p, v)?),
            "kill_signal" => c.kill_signal = Some(cx.signal(k, &p, v)?),
            "reload_signal" => c.reload_signal = Some(cx.signal(k, &p, v)?),
            "max_stale" => c.max_stale = Some(cx.duration(k, &p, v)?),
            "block_query_wait" => c.block_query_wait = Some(cx.duration(k, &p, v)?),
            "once" => c.once = Some(cx.boolean(k, &p, v)?),
            "parseonly" => c.parseonly = Some(cx.boolean(k, &p, v)?),
            "template_error_fatal" => c.template_error_fatal = Some(cx.boolean(k, &p, v)?),
            "err_on_failed_lookup" => c.err_on_failed_lookup = Some(cx.boolean(k, &p, v)?),
            "default_delimiters" => c.default_delimiters = Some(decode_delims(cx, &p, k, v)?),
            "vault" => c.vault = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip()),
            "nomad" => c.nomad = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip()),
            "deduplicate" => {
                c.deduplicate = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip())
            }
            "syslog" => c.syslog = Some(decode_syslog(cx, &p, cx.block(k, &p, v)?)?),
            "log_file" => c.log_file = Some(decode_log_file(cx, &p, cx.block(k, &p, v)?)?),
            _ => return Err(cx.unknown(k, "")),
        }
    }
    Ok(c)
}

/// `consul { }`, or the deprecated `consul = "address"`.
fn decode_consul(cx: &Cx, key: &Key, v: &Node) -> Result<ConsulConfig> {
    if let Tree::Str(address) = v {
        tracing::warn!(
            "{}: consul = \"…\" is deprecated; use consul {{ address = \"…\" }}",
            cx.file
        );
        return Ok(ConsulConfig {
            address: Some(address.clone()),
            ..ConsulConfig::default()
        });
    }
    let mut c = ConsulConfig::default();
    for (k, v) in cx.block(key, "consul", v)? {
        let (name, p) = names("consul", k);
        match name.as_str() {
            "address" => c.address = Some(cx.string(k, &p, v)?),
            "namespace" => c.namespace = Some(cx.string(k, &p, v)?),
            "token" => c.token = Some(cx.string(k, &p, v)?),
            "token_file" => c.token_file = Some(cx.string(k, &p, v)?),
            "auth" => c.auth = Some(decode_auth(cx, &p, cx.block(k, &p, v)?)?),
            "retry" => c.retry = Some(decode_retry(cx, &p, cx.block(k, &p, v)?)?),
            "ssl" => c.ssl = Some(decode_ssl(cx, &p, cx.block(k, &p, v)?)?),
            "transport" => c.transport = Some(decode_transport(cx, &p, cx.block(k, &p, v)?)?),
            _ => return Err(cx.unknown(k, "consul")),
        }
    }
    Ok(c)
}

fn decode_auth(cx: &Cx, path: &str, body: &Body) -> Result<AuthConfig> {
    let mut a = AuthConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => a.enabled = Some(cx.boolean(k, &p, v)?),
            "username" => a.username = Some(cx.string(k, &p, v)?),
            "password" => a.password = Some(cx.string(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(a)
}

fn decode_retry(cx: &Cx, path: &str, body: &Body) -> Result<RetryConfig> {
    let mut r = RetryConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => r.enabled = Some(cx.boolean(k, &p, v)?),
            "attempts" => r.attempts = Some(cx.unsigned(k, &p, v)?),
            "backoff" => r.backoff = Some(cx.duration(k, &p, v)?),
            "max_backoff" => r.max_backoff = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(r)
}

fn decode_ssl(cx: &Cx, path: &str, body: &Body) -> Result<SslConfig> {
    let mut s = SslConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let field = match name.as_str() {
            "enabled" => {
                s.enabled = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "verify" => {
                s.verify = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "cert" => &mut s.cert,
            "key" => &mut s.key,
            "ca_cert" => &mut s.ca_cert,
            "ca_cert_bytes" => &mut s.ca_cert_bytes,
            "ca_path" => &mut s.ca_path,
            "server_name" => &mut s.server_name,
            _ => return Err(cx.unknown(k, path)),
        };
        *field = Some(cx.string(k, &p, v)?);
    }
    Ok(s)
}

fn decode_transport(cx: &Cx, path: &str, body: &Body) -> Result<TransportConfig> {
    let mut t = TransportConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "dial_keep_alive" => t.dial_keep_alive = Some(cx.duration(k, &p, v)?),
            "dial_timeout" => t.dial_timeout = Some(cx.duration(k, &p, v)?),
            "disable_keep_alives" => t.disable_keep_alives = Some(cx.boolean(k, &p, v)?),
            "idle_conn_timeout" => t.idle_conn_timeout = Some(cx.duration(k, &p, v)?),
            "max_idle_conns" => t.max_idle_conns = Some(cx.unsigned(k, &p, v)?),
            "max_idle_conns_per_host" => t.max_idle_conns_per_host = Some(cx.unsigned(k, &p, v)?),
            "max_conns_per_host" => t.max_conns_per_host = Some(cx.unsigned(k, &p, v)?),
            "tls_handshake_timeout" => t.tls_handshake_timeout = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(t)
}

/// Each `template` block (or each object of a `template` list) is one template. Errors name
/// the template by the position of its `template` key, or by index where there is none (JSON).
fn decode_templates(cx: &Cx, key: &Key, v: &Node, out: &mut Vec<TemplateConfig>) -> Result<()> {
    let bodies = cx.blocks(key, "template", v)?;
    let single = matches!(v, Tree::Object(_)) && key.line > 0;
    for (i, body) in bodies.into_iter().enumerate() {
        let path = if single {
            "template".to_string()
        } else {
            format!("template[{i}]")
        };
        let t = decode_template(cx, &path, body)?;
        let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        let problem = match (given(&t.source), given(&t.contents)) {
            (true, true) => Some("both are"),
            (false, false) => Some("neither is"),
            _ => None,
        };
        if let Some(problem) = problem {
            let msg = format!("exactly one of \"source\" and \"contents\" must be set ({problem})");
            return Err(cx.fail(key, &path, msg));
        }
        out.push(t);
    }
    Ok(())
}

fn decode_template(cx: &Cx, path: &str, body: &Body) -> Result<TemplateConfig> {
    let mut t = TemplateConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let string_field = match name.as_str() {
            "source" => Some(&mut t.source),
            "contents" => Some(&mut t.contents),
            "destination" => Some(&mut t.destination),
            "user" => Some(&mut t.user),
            "group" => Some(&mut t.group),
            "left_delimiter" => Some(&mut t.left_delimiter),
            "right_delimiter" => Some(&mut t.right_delimiter),
            "sandbox_path" => Some(&mut t.sandbox_path),
            _ => None,
        };
        if let Some(field) = string_field {
            *field = Some(cx.string(k, &p, v)?);
            continue;
        }
        match name.as_str() {
            "create_dest_dirs" => t.create_dest_dirs = Some(cx.boolean(k, &p, v)?),
            "backup" => t.backup = Some(cx.boolean(k, &p, v)?),
            "error_on_missing_key" => t.error_on_missing_key = Some(cx.boolean(k, &p, v)?),
            "error_fatal" => t.error_fatal = Some(cx.boolean(k, &p, v)?),
            "perms" => t.perms = Some(cx.perms(k, &p, v)?),
            "uid" => t.uid = Some(cx.unsigned(k, &p, v)?),
            "gid" => t.gid = Some(cx.unsigned(k, &p, v)?),
            "function_denylist" | "function_blacklist" => {
                cx.extend(&mut t.function_denylist, k, &p, v)?
            }
            "wait" => t.wait = Some(cx.wait(k, &p, v)?),
            "command" => t.command = Some(cx.command(k, &p, v)?),
            "command_timeout" => t.command_timeout = Some(cx.duration(k, &p, v)?),
            "check_command" => t.check_command = Some(cx.command(k, &p, v)?),
            "exec" => t.exec = Some(decode_exec(cx, &p, cx.block(k, &p, v)?)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(t)
}

fn decode_exec(cx: &Cx, path: &str, body: &Body) -> Result<ExecConfig> {
    let mut e = ExecConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "command" => e.command = Some(cx.command(k, &p, v)?),
            "enabled" => e.enabled = Some(cx.boolean(k, &p, v)?),
            "env" => e.env = Some(decode_env(cx, &p, cx.block(k, &p, v)?)?),
            "kill_signal" => e.kill_signal = Some(cx.signal(k, &p, v)?),
            "kill_timeout" => e.kill_timeout = Some(cx.duration(k, &p, v)?),
            "reload_signal" => e.reload_signal = Some(cx.signal(k, &p, v)?),
            "splay" => e.splay = Some(cx.duration(k, &p, v)?),
            "timeout" => e.timeout = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(e)
}

fn decode_env(cx: &Cx, path: &str, body: &Body) -> Result<EnvConfig> {
    let mut e = EnvConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let list = match name.as_str() {
            "pristine" => {
                e.pristine = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "custom" => &mut e.custom,
            "allowlist" | "whitelist" => &mut e.allowlist,
            "denylist" | "blacklist" => &mut e.denylist,
            _ => return Err(cx.unknown(k, path)),
        };
        cx.extend(list, k, &p, v)?;
    }
    Ok(e)
}

fn decode_delims(cx: &Cx, path: &str, key: &Key, v: &Node) -> Result<(String, String)> {
    let (mut left, mut right) = ("{{".to_string(), "}}".to_string());
    for (k, v) in cx.block(key, path, v)? {
        let (name, p) = names(path, k);
        match name.as_str() {
            "left" => left = cx.string(k, &p, v)?,
            "right" => right = cx.string(k, &p, v)?,
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok((left, right))
}

fn decode_syslog(cx: &Cx, path: &str, body: &Body) -> Result<SyslogConfig> {
    let mut s = SyslogConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => s.enabled = Some(cx.boolean(k, &p, v)?),
            "facility" => s.facility = Some(cx.string(k, &p, v)?),
            "name" => s.name = Some(cx.string(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(s)
}

fn decode_log_file(cx: &Cx, path: &str, body: &Body) -> Result<LogFileConfig> {
    let mut l = LogFileConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "path" => l.path = Some(cx.string(k, &p, v)?),
            "log_rotate_bytes" => l.log_rotate_bytes = Some(cx.unsigned(k, &p, v)?),
            "log_rotate_duration" => l.log_rotate_duration = Some(cx.duration(k, &p, v)?),
            "log_rotate_max_files" => l.log_rotate_max_files = Some(cx.integer(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(l)
}

// ------------------------------------------------------------------------------------------------
// Merging: what a later file sets wins, field by field (consul-template's `Merge` methods);
// templates and the env lists append.

trait Merge: Sized {
    fn merge(self, other: Self) -> Self;
}

fn merge_opt<T: Merge>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.merge(b)),
        (a, b) => b.or(a),
    }
}

/// For each listed `Option` field: the other's value when it has one.
macro_rules! take_set {
    ($r:ident, $o:ident; $($f:ident),* $(,)?) => {
        $( if $o.$f.is_some() { $r.$f = $o.$f; } )*
    };
}

impl Merge for ConsulConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; address, namespace, token, token_file);
        self.auth = merge_opt(self.auth, o.auth);
        self.retry = merge_opt(self.retry, o.retry);
        self.ssl = merge_opt(self.ssl, o.ssl);
        self.transport = merge_opt(self.transport, o.transport);
        self
    }
}

impl Merge for AuthConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, username, password);
        self
    }
}

impl Merge for RetryConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, attempts, backoff, max_backoff);
        self
    }
}

impl Merge for SslConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, verify, cert, key, ca_cert, ca_cert_bytes, ca_path, server_name);
        self
    }
}

impl Merge for TransportConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; dial_keep_alive, dial_timeout, disable_keep_alives, idle_conn_timeout,
            max_idle_conns, max_idle_conns_per_host, max_conns_per_host, tls_handshake_timeout);
        self
    }
}

impl Merge for ExecConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; command, enabled, kill_signal, kill_timeout, reload_signal, splay,
            timeout);
        self.env = merge_opt(self.env, o.env);
        self
    }
}

impl Merge for EnvConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; pristine);
        self.custom.extend(o.custom);
        self.allowlist.extend(o.allowlist);
        self.denylist.extend(o.denylist);
        self
    }
}

impl Merge for WaitConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; min, max);
        self
    }
}

impl Merge for SyslogConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; enabled, facility, name);
        self
    }
}

impl Merge for LogFileConfig {
    fn merge(mut self, o: Self) -> Self {
        take_set!(self, o; path, log_rotate_bytes, log_rotate_duration, log_rotate_max_files);
        self
    }
}

impl Config {
    /// Parses one document (HCL, or JSON when it starts with `{`); `name` labels errors.
    pub fn parse(name: &str, text: &str) -> Result<Config> {
        decode_config(&Cx { file: name }, &entries(name, text)?)
    }

    /// A file, or a directory walked recursively in lexical order (every file is parsed, hidden
    /// ones included; symbolic links are read as files, never walked as directories, so a link
    /// to a directory is an error as in consul-template), merged in order.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let io_err = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
        let meta = fs::metadata(path).map_err(io_err)?;
        if meta.is_file() {
            return Config::from_file(path);
        }
        if !meta.is_dir() {
            let msg = format!("{}: not a regular file or directory", path.display());
            return Err(ConfigError(msg));
        }
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files.iter().try_fold(Config::default(), |acc, f| {
            Ok(acc.merge(Config::from_file(f)?))
        })
    }

    fn from_file(path: &Path) -> Result<Config> {
        let name = path.display().to_string();
        let text = fs::read_to_string(path).map_err(|e| ConfigError(format!("{name}: {e}")))?;
        Config::parse(&name, &text)
    }

    /// `other` on top of `self`: each value `other` sets wins (inside blocks too, field by field),
    /// templates and the exec env lists are appended.
    pub fn merge(mut self, o: Config) -> Config {
        self.consul = self.consul.merge(o.consul);
        self.templates.extend(o.templates);
        self.exec = merge_opt(self.exec, o.exec);
        self.wait = merge_opt(self.wait, o.wait);
        self.syslog = merge_opt(self.syslog, o.syslog);
        self.log_file = merge_opt(self.log_file, o.log_file);
        take_set!(self, o; log_level, pid_file, kill_signal, reload_signal, max_stale,
            block_query_wait, once, parseonly, template_error_fatal, err_on_failed_lookup,
            default_delimiters, vault, nomad, deduplicate);
        self
    }
}

/// Files under `dir`, depth first, each directory's entries in byte order of their names (Go's
/// `filepath.Walk`). Entries are not followed when they are symbolic links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io_err = |p: &Path, e: std::io::Error| ConfigError(format!("{}: {e}", p.display()));
    let mut entries = fs::read_dir(dir)
        .and_then(|rd| rd.collect::<std::io::Result<Vec<_>>>())
        .map_err(|e| io_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io_err(&path, e))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    // --- The oracle's view of a tree -----------------------------------------------------------
    //
    // The expected strings below are what Go's HCL1 (`hcl.Decode` into `interface{}`) printed for
    // the same input, with types shown: `int(…)`, `float(…)`, `LM[…]` for the list of maps HCL1
    // makes of blocks, keys sorted. `typed` renders our tree the way that decoder shapes it:
    // blocks become lists of maps, repeated blocks append, repeated lists concatenate, repeated
    // scalars keep the last. With `json`, an array of objects counts as repeated blocks, as in
    // HCL1's JSON reader.

    enum Acc<'a> {
        Blocks(Vec<&'a [(String, Hcl)]>),
        List(Vec<&'a Hcl>),
        Scalar(&'a Hcl),
    }

    fn typed(h: &Hcl, json: bool) -> String {
        match h {
            Tree::Object(e) => map(e, json),
            other => elem(other, json),
        }
    }

    fn start(v: &Hcl, json: bool) -> Acc<'_> {
        match v {
            Tree::Object(e) => Acc::Blocks(vec![e]),
            Tree::List(items) if json && !items.is_empty() && items.iter().all(is_object) => {
                Acc::Blocks(items.iter().filter_map(body).collect())
            }
            Tree::List(items) => Acc::List(items.iter().collect()),
            scalar => Acc::Scalar(scalar),
        }
    }

    fn is_object(h: &Hcl) -> bool {
        matches!(h, Tree::Object(_))
    }

    fn body(h: &Hcl) -> Option<&[(String, Hcl)]> {
        match h {
            Tree::Object(e) => Some(e),
            _ => None,
        }
    }

    fn map(entries: &[(String, Hcl)], json: bool) -> String {
        let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
        for (k, v) in entries {
            match (acc.get_mut(k.as_str()), v) {
                (Some(Acc::Blocks(b)), Tree::Object(e)) => b.push(e),
                (Some(Acc::List(l)), Tree::List(items)) => l.extend(items),
                (Some(Acc::List(l)), Tree::Object(_)) => l.push(v),
                _ => {
                    acc.insert(k, start(v, json));
                }
            }
        }
        let fields: Vec<String> = acc
            .iter()
            .map(|(k, a)| {
                let v = match a {
                    Acc::Blocks(b) => {
                        let maps: Vec<String> = b.iter().map(|e| map(e, json)).collect();
                        format!("LM[{}]", maps.join(","))
                    }
                    Acc::List(l) => list(l, json),
                    Acc::Scalar(s) => elem(s, json),
                };
                format!("{}:{v}", go_quote(k))
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    fn list(items: &[&Hcl], json: bool) -> String {
        let parts: Vec<String> = items.iter().map(|i| elem(i, json)).collect();
        format!("[{}]", parts.join(","))
    }

    fn elem(h: &Hcl, json: bool) -> String {
        match h {
            Tree::Str(s) => go_quote(s),
            Tree::Int(i) => format!("int({i})"),
            Tree::Float(f) => format!("float({f})"),
            Tree::Bool(b) => b.to_string(),
            Tree::List(items) => list(&items.iter().collect::<Vec<_>>(), json),
            Tree::Object(e) => map(e, json),
        }
    }

    /// Go's `%q` for the strings the tests use.
    fn go_quote(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0b' => out.push_str("\\v"),
                '\x0c' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn oracle(src: &str) -> String {
        typed(&parse_any("t.hcl", src).expect("parses"), false)
    }

    fn err(src: &str) -> String {
        match Config::parse("config.hcl", src) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.0,
        }
    }

    fn cfg(src: &str) -> Config {
        Config::parse("config.hcl", src).unwrap_or_else(|e| panic!("{e}"))
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    // --- HCL1 syntax, checked against the Go library -------------------------------------------

    #[test]
    fn comments_of_all_three_kinds() {
        let src = "# hash\n// slashes\n/* block\n   comment */ a = \"x\" // trailing\n\
                   b = /* inline */ 2 # end\n";
        assert_eq!(oracle(src), r#"{"a":"x","b":int(2)}"#);
    }

    #[test]
    fn numbers_follow_go_parse_int_base_zero() {
        let src = "perms = 0600\nzero = 0\nseven = 007\nhex = 0x1F\nneg = -5\nnegoct = -0600\n\
                   fl = 1.5\nexp = 1e3\nlead = .5\ntrail = 5.\nsmall = 0.5e-3\n\
                   big = 9223372036854775807\nnine = 09.5\n";
        let want = r#"{"big":int(9223372036854775807),"exp":float(1000),"fl":float(1.5),"hex":int(31),"lead":float(0.5),"neg":int(-5),"negoct":int(-384),"nine":float(9.5),"perms":int(384),"seven":int(7),"small":float(0.0005),"trail":float(5),"zero":int(0)}"#;
        assert_eq!(oracle(src), want);
        // The point of the whole parser: a leading zero is octal.
        assert_eq!(
            parse_hcl("t", "perms = 0600").unwrap(),
            Tree::Object(vec![("perms".into(), Tree::Int(384))])
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(
            oracle("a = true\nb = false\nc = [true, false]\n"),
            r#"{"a":true,"b":false,"c":[true,false]}"#
        );
        // Only lower case: `True` is an identifier, which is not a value.
        assert!(parse_hcl("t", "a = True").is_err());
    }

    #[test]
    fn strings_with_escapes_and_interpolations() {
        let src = r#"a = "tab\there \"q\" back\\slash"
b = "\x41\101\u00e9\U0001F600"
c = "${HOME}/x"
d = "a${b("c")}d"
e = "$x {y}"
f = ""
"#;
        let want = r#"{"a":"tab\there \"q\" back\\slash","b":"AAé😀","c":"${HOME}/x","d":"a${b(\"c\")}d","e":"$x {y}","f":""}"#;
        assert_eq!(oracle(src), want);
        // Inside ${ } a newline does not end the string (HCL1 leaves it to the interpolator).
        assert_eq!(oracle("x = \"${a\nb}\""), r#"{"x":"${a\nb}"}"#);
    }

    #[test]
    fn heredocs() {
        let src = "a = <<EOF\nhello\n  world\nEOF\nb = <<-EOT\n    indented\n      more\n    EOT\n\
                   c = <<-EOT\n    mixed\n  less\n    EOT\nd = <<EOF\nx\n  EOF\ne = <<EOF\nEOF\n\
                   f = [<<A\nin list\nA\n, \"y\"]\n";
        // `c`: a line less indented than the closing anchor keeps all indentation; `d`: a plain
        // heredoc may indent its closing anchor, and HCL1 then keeps that indentation (!).
        let want = r#"{"a":"hello\n  world\n","b":"indented\n  more\n","c":"    mixed\n  less\n","d":"x\n  ","e":"","f":["in list\n","y"]}"#;
        assert_eq!(oracle(src), want);
        // Quotes and escapes are literal in a heredoc.
        assert_eq!(
            oracle("a = <<EOF\nx ${y} \\n \"q\"\nEOF\n"),
            r#"{"a":"x ${y} \\n \"q\"\n"}"#
        );
        // `<<-EOF` closed by an unindented EOF: HCL1 does not see the anchor (its length check
        // counts the `-`), so the heredoc runs on.
        assert!(parse_hcl("t", "a = <<-EOF\n  x\nEOF\n").is_err());
        assert_eq!(oracle("a = <<-EOF\n  x\n EOF\n"), r#"{"a":" x\n"}"#);
    }

    #[test]
    fn lists() {
        let src = "a = [1, 2,]\nb = []\nc = [\"x\", \"y\"]\nd = [[1], [2]]\ne = [1,,2]\n\
                   f = [{x = 1}, {y = \"z\"}]\ng = [\n  \"multi\", # comment\n  \"line\",\n]\n";
        let want = r#"{"a":[int(1),int(2)],"b":[],"c":["x","y"],"d":[[int(1)],[int(2)]],"e":[int(1),int(2)],"f":[{"x":int(1)},{"y":"z"}],"g":["multi","line"]}"#;
        assert_eq!(oracle(src), want);
        // No comma is needed after a nested list, as in HCL1.
        assert_eq!(oracle("x = [[1] [2]]"), r#"{"x":[[int(1)],[int(2)]]}"#);
        assert!(parse_hcl("t", "a = [1 2]").is_err());
    }

    #[test]
    fn objects_blocks_and_assigned_objects() {
        let src = "a { b = 1 }\nc = { d = 2 }\ne {}\nf = {}\ng { h = 1, i = 2 }\n";
        let want = r#"{"a":LM[{"b":int(1)}],"c":LM[{"d":int(2)}],"e":LM[{}],"f":LM[{}],"g":LM[{"h":int(1),"i":int(2)}]}"#;
        assert_eq!(oracle(src), want);
    }

    #[test]
    fn repeated_blocks_become_a_list() {
        let src = "template { source = \"a\" }\ntemplate { source = \"b\" }\ntemplate = { source = \"c\" }\n";
        let want = r#"{"template":LM[{"source":"a"},{"source":"b"},{"source":"c"}]}"#;
        assert_eq!(oracle(src), want);
        // The tree itself keeps the three entries in order.
        let Tree::Object(entries) = parse_hcl("t", src).unwrap() else {
            panic!()
        };
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(|(k, _)| k == "template"));
    }

    #[test]
    fn nested_blocks() {
        let src = "consul {\n  retry { attempts = 5 }\n  ssl { enabled = true }\n}\n";
        assert_eq!(
            oracle(src),
            r#"{"consul":LM[{"retry":LM[{"attempts":int(5)}],"ssl":LM[{"enabled":true}]}]}"#
        );
    }

    #[test]
    fn block_labels_nest() {
        let src = "template \"x\" { source = \"a\" }\ntemplate \"y\" \"z\" { source = \"b\" }\n";
        let want =
            r#"{"template":LM[{"x":LM[{"source":"a"}]},{"y":LM[{"z":LM[{"source":"b"}]}]}]}"#;
        assert_eq!(oracle(src), want);
        // Labels only go with blocks.
        let e = parse_hcl("t.hcl", "a \"b\" = 1").unwrap_err();
        assert_eq!(
            e.0,
            "t.hcl:1:7: expected '{' after block labels \"a\" \"b\""
        );
    }

    #[test]
    fn repeated_attributes() {
        // Scalars: the last wins; lists: concatenated (HCL1's decoder appends).
        let src = "a = 1\na = 2\nl = [1]\nl = [2]\nb { c = 1, c = 2 }\n";
        assert_eq!(
            oracle(src),
            r#"{"a":int(2),"b":LM[{"c":int(2)}],"l":[int(1),int(2)]}"#
        );
    }

    #[test]
    fn keys_quoted_dotted_and_unseparated() {
        let src = "\"log_level\" = \"x\"\na.b-c_d = 1\n\"with space\" = 2\nx = 1, y = 2\n\
                   p = \"a\" q = \"b\"\nwait { min = \"5s\" max = \"10s\" }\n";
        let want = r#"{"a.b-c_d":int(1),"log_level":"x","p":"a","q":"b","wait":LM[{"max":"10s","min":"5s"}],"with space":int(2),"x":int(1),"y":int(2)}"#;
        assert_eq!(oracle(src), want);
    }

    #[test]
    fn json_into_the_same_tree() {
        let src = r#"{"consul": {"address": "x", "retry": {"attempts": 5}}, "template": [{"source": "a"}, {"source": "b", "wait": {"min": "1s"}}], "perms": 384, "f": 1.5, "n": null, "b": true, "l": ["x", "y"]}"#;
        let want = r#"{"b":true,"consul":LM[{"address":"x","retry":LM[{"attempts":int(5)}]}],"f":float(1.5),"l":["x","y"],"n":"","perms":int(384),"template":LM[{"source":"a"},{"source":"b","wait":LM[{"min":"1s"}]}]}"#;
        assert_eq!(typed(&parse_any("t.json", src).unwrap(), true), want);
        assert_eq!(
            parse_json("t", r#"{"a": [1, 2.5]}"#).unwrap(),
            Tree::Object(vec![(
                "a".into(),
                Tree::List(vec![Tree::Int(1), Tree::Float(2.5)])
            )])
        );
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(
            oracle("a = <<EOF\r\nx\r\nEOF\r\nb = 1\r\n"),
            r#"{"a":"x\n","b":int(1)}"#
        );
    }

    // --- Syntax errors: file, line and column -------------------------------------------------

    #[test]
    fn syntax_errors_point_at_the_spot() {
        let cases = [
            ("template {\n  perms 0600\n}\n", "config.hcl:2:9: expected '=' or '{' after key \"perms\", got number 384"),
            ("a = \"abc\nb = 1\n", "config.hcl:1:5: string not terminated"),
            ("a = \"abc", "config.hcl:1:5: string not terminated"),
            ("a = <<EOF\nx\nEOF", "config.hcl:1:5: heredoc <<EOF not terminated (the closing EOF must be on its own line, followed by a newline)"),
            ("a = <<EOF x\ny\nEOF\n", "config.hcl:1:10: unexpected ' ' after heredoc anchor (it must end the line)"),
            ("a = <<\nx\n", "config.hcl:1:5: heredoc anchor missing after '<<'"),
            ("consul {\n  address = \"x\"\n", "config.hcl:3:1: expected '}' to close block \"consul\" opened at 1:8, got end of file"),
            ("a = [1, 2\n", "config.hcl:2:1: expected ']', got end of file in the list opened at 1:5"),
            ("a = 1 /* open", "config.hcl:1:7: comment not terminated"),
            ("a = 1 / 2", "config.hcl:1:7: unexpected '/' (comments start with // or /*)"),
            ("a = 08", "config.hcl:1:5: invalid number \"08\""),
            ("a = 99999999999999999999", "config.hcl:1:5: number out of range: 99999999999999999999"),
            ("a = 0x", "config.hcl:1:5: invalid hexadecimal number"),
            ("a = \"\\q\"", "config.hcl:1:6: invalid escape sequence \"\\q\" in string"),
            ("a = 1;", "config.hcl:1:6: unexpected character ';'"),
            ("a = 1\n# x\0y", "config.hcl:2:4: unexpected NUL character"),
            ("a = foo", "config.hcl:1:5: expected a value for key \"a\", got identifier \"foo\""),
            ("a =", "config.hcl:1:4: expected a value for key \"a\", got end of file"),
            ("= 1", "config.hcl:1:1: expected a key before '='"),
            ("}", "config.hcl:1:1: expected a key, got '}'"),
        ];
        for (src, want) in cases {
            assert_eq!(err(src), want, "for {src:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("a = {}", "[".repeat(5000));
        assert!(err(&src).contains("nested too deeply"));
        let src = "a { ".repeat(5000);
        assert!(err(&src).contains("nested too deeply"));
    }

    // --- The model --------------------------------------------------------------------------

    const NGINX_HCL: &str = r#"# consul-template for the nginx sidecar
consul {
  address = "127.0.0.1:8500"
  token   = "s3cr3t"

  retry {
    enabled     = true
    attempts    = 12
    backoff     = "250ms"
    max_backoff = "1m"
  }

  ssl {
    enabled     = true
    verify      = false
    ca_cert     = "/etc/consul/ca.pem"
    server_name = "consul.service.consul"
  }
}

log_level   = "info"
kill_signal = "sigterm"   // upper-cased on the way in
max_stale   = "10s"
wait        = "2s:10s"

template {
  source      = "/etc/nginx/templates/upstreams.ctmpl"
  destination = "/etc/nginx/conf.d/upstreams.conf"
  perms       = 0644
  command     = "nginx -s reload"

  wait {
    min = "1s"
    max = "5s"
  }
}

template {
  contents = <<-EOT
    {{ key "nginx/htpasswd" }}
    EOT
  destination          = "/etc/nginx/htpasswd"
  perms                = 0600
  backup               = true
  error_on_missing_key = true
  command              = ["/usr/sbin/nginx", "-s", "reload"]
  command_timeout      = "45s"
  function_denylist    = ["plugin", "sprig_*"]
}

exec {
  command       = ["nginx", "-g", "daemon off;"]
  reload_signal = "SIGHUP"
  kill_signal   = "SIGQUIT"
  kill_timeout  = "15s"
  splay         = "1s"

  env {
    custom   = ["NGINX_ENTRYPOINT_QUIET_LOGS=1"]
    denylist = ["CONSUL_*", "VAULT_*"]
  }
}
"#;

    const NGINX_JSON: &str = r#"{
  "consul": {
    "address": "127.0.0.1:8500",
    "token": "s3cr3t",
    "retry": {"enabled": true, "attempts": 12, "backoff": "250ms", "max_backoff": "1m"},
    "ssl": {"enabled": true, "verify": false, "ca_cert": "/etc/consul/ca.pem",
            "server_name": "consul.service.consul"}
  },
  "log_level": "info",
  "kill_signal": "sigterm",
  "max_stale": "10s",
  "wait": "2s:10s",
  "template": [
    {"source": "/etc/nginx/templates/upstreams.ctmpl",
     "destination": "/etc/nginx/conf.d/upstreams.conf",
     "perms": 420, "command": "nginx -s reload", "wait": {"min": "1s", "max": "5s"}},
    {"contents": "{{ key \"nginx/htpasswd\" }}\n", "destination": "/etc/nginx/htpasswd",
     "perms": "0600", "backup": true, "error_on_missing_key": true,
     "command": ["/usr/sbin/nginx", "-s", "reload"], "command_timeout": "45s",
     "function_denylist": ["plugin", "sprig_*"]}
  ],
  "exec": {
    "command": ["nginx", "-g", "daemon off;"],
    "reload_signal": "SIGHUP", "kill_signal": "SIGQUIT", "kill_timeout": "15s", "splay": "1s",
    "env": {"custom": ["NGINX_ENTRYPOINT_QUIET_LOGS=1"], "denylist": ["CONSUL_*", "VAULT_*"]}
  }
}"#;

    const NGINX_JSON_ORACLE: &str = r#"{"consul":LM[{"address":"127.0.0.1:8500","retry":LM[{"attempts":int(12),"backoff":"250ms","enabled":true,"max_backoff":"1m"}],"ssl":LM[{"ca_cert":"/etc/consul/ca.pem","enabled":true,"server_name":"consul.service.consul","verify":false}],"token":"s3cr3t"}],"exec":LM[{"command":["nginx","-g","daemon off;"],"env":LM[{"custom":["NGINX_ENTRYPOINT_QUIET_LOGS=1"],"denylist":["CONSUL_*","VAULT_*"]}],"kill_signal":"SIGQUIT","kill_timeout":"15s","reload_signal":"SIGHUP","splay":"1s"}],"kill_signal":"sigterm","log_level":"info","max_stale":"10s","template":LM[{"command":"nginx -s reload","destination":"/etc/nginx/conf.d/upstreams.conf","perms":int(420),"source":"/etc/nginx/templates/upstreams.ctmpl","wait":LM[{"max":"5s","min":"1s"}]},{"backup":true,"command":["/usr/sbin/nginx","-s","reload"],"command_timeout":"45s","contents":"{{ key \"nginx/htpasswd\" }}\n","destination":"/etc/nginx/htpasswd","error_on_missing_key":true,"function_denylist":["plugin","sprig_*"],"perms":"0600"}],"wait":"2s:10s"}"#;

    fn nginx_expected() -> Config {
        let argv = |v: &[&str]| Some(Command::Argv(v.iter().map(|s| s.to_string()).collect()));
        Config {
            consul: ConsulConfig {
                address: s("127.0.0.1:8500"),
                token: s("s3cr3t"),
                retry: Some(RetryConfig {
                    enabled: Some(true),
                    attempts: Some(12),
                    backoff: ms(250),
                    max_backoff: secs(60),
                }),
                ssl: Some(SslConfig {
                    enabled: Some(true),
                    verify: Some(false),
                    ca_cert: s("/etc/consul/ca.pem"),
                    server_name: s("consul.service.consul"),
                    ..SslConfig::default()
                }),
                ..ConsulConfig::default()
            },
            log_level: s("info"),
            kill_signal: s("SIGTERM"),
            max_stale: secs(10),
            wait: Some(WaitConfig {
                min: secs(2),
                max: secs(10),
            }),
            templates: vec![
                TemplateConfig {
                    source: s("/etc/nginx/templates/upstreams.ctmpl"),
                    destination: s("/etc/nginx/conf.d/upstreams.conf"),
                    perms: Some(0o644),
                    command: Some(Command::Shell("nginx -s reload".into())),
                    wait: Some(WaitConfig {
                        min: secs(1),
                        max: secs(5),
                    }),
                    ..TemplateConfig::default()
                },
                TemplateConfig {
                    contents: s("{{ key \"nginx/htpasswd\" }}\n"),
                    destination: s("/etc/nginx/htpasswd"),
                    perms: Some(0o600),
                    backup: Some(true),
                    error_on_missing_key: Some(true),
                    command: argv(&["/usr/sbin/nginx", "-s", "reload"]),
                    command_timeout: secs(45),
                    function_denylist: vec!["plugin".into(), "sprig_*".into()],
                    ..TemplateConfig::default()
                },
            ],
            exec: Some(ExecConfig {
                command: argv(&["nginx", "-g", "daemon off;"]),
                reload_signal: s("SIGHUP"),
                kill_signal: s("SIGQUIT"),
                kill_timeout: secs(15),
                splay: secs(1),
                env: Some(EnvConfig {
                    custom: vec!["NGINX_ENTRYPOINT_QUIET_LOGS=1".into()],
                    denylist: vec!["CONSUL_*".into(), "VAULT_*".into()],
                    ..EnvConfig::default()
                }),
                ..ExecConfig::default()
            }),
            ..Config::default()
        }
    }

    #[test]
    fn nginx_sidecar_config() {
        // What Go's HCL1 makes of the same text.
        let want = r#"{"consul":LM[{"address":"127.0.0.1:8500","retry":LM[{"attempts":int(12),"backoff":"250ms","enabled":true,"max_backoff":"1m"}],"ssl":LM[{"ca_cert":"/etc/consul/ca.pem","enabled":true,"server_name":"consul.service.consul","verify":false}],"token":"s3cr3t"}],"exec":LM[{"command":["nginx","-g","daemon off;"],"env":LM[{"custom":["NGINX_ENTRYPOINT_QUIET_LOGS=1"],"denylist":["CONSUL_*","VAULT_*"]}],"kill_signal":"SIGQUIT","kill_timeout":"15s","reload_signal":"SIGHUP","splay":"1s"}],"kill_signal":"sigterm","log_level":"info","max_stale":"10s","template":LM[{"command":"nginx -s reload","destination":"/etc/nginx/conf.d/upstreams.conf","perms":int(420),"source":"/etc/nginx/templates/upstreams.ctmpl","wait":LM[{"max":"5s","min":"1s"}]},{"backup":true,"command":["/usr/sbin/nginx","-s","reload"],"command_timeout":"45s","contents":"{{ key \"nginx/htpasswd\" }}\n","destination":"/etc/nginx/htpasswd","error_on_missing_key":true,"function_denylist":["plugin","sprig_*"],"perms":int(384)}],"wait":"2s:10s"}"#;
        assert_eq!(oracle(NGINX_HCL), want);
        let c = cfg(NGINX_HCL);
        assert_eq!(c.templates[0].perms, Some(0o644));
        assert_eq!(c.templates[1].perms, Some(384));
        assert_eq!(c, nginx_expected());
    }

    #[test]
    fn nginx_sidecar_config_as_json() {
        let tree = parse_any("nginx.json", NGINX_JSON).unwrap();
        assert_eq!(typed(&tree, true), NGINX_JSON_ORACLE);
        assert_eq!(
            Config::parse("nginx.json", NGINX_JSON).unwrap(),
            nginx_expected()
        );
    }

    #[test]
    fn truncated_configs_never_panic() {
        for src in [NGINX_HCL, NGINX_JSON] {
            for (i, _) in src.char_indices() {
                let _ = Config::parse("t", &src[..i]);
            }
        }
    }

    #[test]
    fn wait_forms() {
        assert_eq!(
            cfg("wait = \"5s\"").wait,
            Some(WaitConfig {
                min: secs(5),
                max: secs(20)
            })
        );
        assert_eq!(
            cfg("wait = \" 5s : 10s \"").wait.unwrap().bounds(),
            (Duration::from_secs(5), Duration::from_secs(10))
        );
        assert_eq!(
            cfg("wait { min = \"3s\" }").wait.unwrap().bounds(),
            (Duration::from_secs(3), Duration::from_secs(12))
        );
        assert_eq!(
            err("wait = \"10s:5s\""),
            "config.hcl:1:1: wait: wait: max (5s) must not be less than min (10s)"
        );
        assert_eq!(
            err("wait = \"\""),
            "config.hcl:1:1: wait: wait: cannot be empty"
        );
        assert!(err("wait = \"1s:2s:3s\"").contains("invalid format"));
        assert!(err("wait = \"-1s\"").contains("cannot be negative"));
        assert_eq!(
            err("wait = 5"),
            "config.hcl:1:1: wait: expected \"MIN:MAX\" or a block, got 5"
        );
    }

    #[test]
    fn commands_and_the_comma_quirk() {
        let t = |src: &str| {
            cfg(&format!(
                "template {{\n source = \"s\"\n command = {src}\n}}"
            ))
            .templates[0]
                .command
                .clone()
        };
        assert_eq!(
            t("\"nginx -s reload\""),
            Some(Command::Shell("nginx -s reload".into()))
        );
        assert_eq!(
            t("[\"a\", \"b c\"]"),
            Some(Command::Argv(vec!["a".into(), "b c".into()]))
        );
        // mapstructure splits a string on commas when it fills a list.
        assert_eq!(
            t("\"echo a,b\""),
            Some(Command::Argv(vec!["echo a".into(), "b".into()]))
        );
        assert_eq!(t("\"\""), Some(Command::Argv(vec![])));
        assert!(err("exec { command = 5 }").contains("exec.command: expected a command"));
    }

    #[test]
    fn perms_forms() {
        let p = |v: &str| {
            cfg(&format!("template {{\n source = \"s\"\n perms = {v}\n}}")).templates[0].perms
        };
        assert_eq!(p("0600"), Some(0o600));
        assert_eq!(p("\"0600\""), Some(0o600));
        assert_eq!(p("\"644\""), Some(0o644));
        // A decimal 644 is 644, i.e. 0o1204, exactly as in consul-template.
        assert_eq!(p("644"), Some(644));
        let e = err("template {\n source = \"s\"\n perms = \"0999\"\n}");
        assert_eq!(e, "config.hcl:3:2: template.perms: expected a file mode between 0000 and 07777, got \"0999\"");
        assert!(err("template {\n source = \"s\"\n perms = 070000\n}")
            .contains("between 0000 and 07777"));
    }

    #[test]
    fn signals() {
        let c = cfg(
            "kill_signal = \"sigterm\"\nreload_signal = \"\"\nexec { kill_signal = \"SIGNULL\" }",
        );
        assert_eq!(c.kill_signal, s("SIGTERM"));
        assert_eq!(c.reload_signal, s("SIGNULL"));
        assert_eq!(to_signal("SIGNULL"), None);
        assert_eq!(
            to_signal("SIGTERM"),
            Some(nix::sys::signal::Signal::SIGTERM)
        );
        let e = err("kill_signal = \"SIGFOO\"");
        assert!(
            e.starts_with("config.hcl:1:1: kill_signal: unknown signal \"SIGFOO\" (valid: SIGHUP,"),
            "{e}"
        );
        assert!(err("exec {\n  reload_signal = \"HUP\"\n}")
            .starts_with("config.hcl:2:3: exec.reload_signal: unknown signal"));
    }

    #[test]
    fn template_needs_exactly_one_of_source_and_contents() {
        let both = "template {\n  source = \"a\"\n  contents = \"b\"\n}\n";
        assert_eq!(err(both), "config.hcl:1:1: template: exactly one of \"source\" and \"contents\" must be set (both are)");
        let neither = "template { source = \"a\" }\n\ntemplate { destination = \"b\" }\n";
        assert_eq!(err(neither), "config.hcl:3:1: template: exactly one of \"source\" and \"contents\" must be set (neither is)");
        let e = Config::parse("b.json", r#"{"template": [{"source": "a"}, {}]}"#).unwrap_err();
        assert_eq!(e.0, "b.json: template[1]: exactly one of \"source\" and \"contents\" must be set (neither is)");
    }

    #[test]
    fn unknown_keys_name_file_line_and_path() {
        assert_eq!(
            err("template {\n  source = \"a\"\n  perm = 0600\n}"),
            "config.hcl:3:3: template: unknown key \"perm\""
        );
        assert_eq!(
            err("log_level = \"x\"\nfoo = 1"),
            "config.hcl:2:1: unknown key \"foo\""
        );
        assert_eq!(
            err("consul {\n  retry {\n    attempt = 5\n  }\n}"),
            "config.hcl:3:5: consul.retry: unknown key \"attempt\""
        );
        assert_eq!(
            err("exec {\n  env {\n    allow = []\n  }\n}"),
            "config.hcl:3:5: exec.env: unknown key \"allow\""
        );
        // Labels are legal HCL1, but consul-template has no labelled blocks.
        assert_eq!(
            err("template \"x\" {\n  source = \"a\"\n}"),
            "config.hcl:1:10: template: unknown key \"x\""
        );
        let e = Config::parse("b.json", r#"{"consul": {"ssl": {"verfy": true}}}"#).unwrap_err();
        assert_eq!(e.0, "b.json: consul.ssl: unknown key \"verfy\"");
    }

    #[test]
    fn value_type_errors() {
        let e =
            Config::parse("dir/b.json", r#"{"consul": {"retry": {"attempts": "x"}}}"#).unwrap_err();
        assert_eq!(
            e.0,
            "dir/b.json: consul.retry.attempts: expected a number, got \"x\""
        );
        let bad_duration = "consul {\n  retry {\n    backoff = \"5x\"\n  }\n}";
        assert_eq!(
            err(bad_duration),
            "config.hcl:3:5: consul.retry.backoff: time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            err("once = \"yes\""),
            "config.hcl:1:1: once: expected true or false, got \"yes\""
        );
        assert_eq!(
            err("log_level = 3"),
            "config.hcl:1:1: log_level: expected a string, got 3"
        );
        assert_eq!(
            err("consul { retry { attempts = -1 } }"),
            "config.hcl:1:18: consul.retry.attempts: -1 is out of range"
        );
        assert_eq!(
            err("exec = \"x\""),
            "config.hcl:1:1: exec: expected a block, got \"x\""
        );
        let e = Config::parse("b.json", "{\"a\": }").unwrap_err();
        assert_eq!(e.0, "b.json:1:7: expected value");
    }

    #[test]
    fn durations_strings_or_nanoseconds() {
        let c = cfg("max_stale = 0\nblock_query_wait = \"1m30s\"\nconsul { transport { dial_timeout = 1000000 } }");
        assert_eq!(c.max_stale, Some(Duration::ZERO));
        assert_eq!(c.block_query_wait, secs(90));
        assert_eq!(c.consul.transport.unwrap().dial_timeout, ms(1));
    }

    #[test]
    fn keys_match_case_insensitively_like_mapstructure() {
        let c = cfg("Log_Level = \"debug\"\nCONSUL { Address = \"x\" }");
        assert_eq!(c.log_level, s("debug"));
        assert_eq!(c.consul.address, s("x"));
    }

    #[test]
    fn repeated_blocks_keep_the_last_templates_accumulate() {
        let c = cfg("consul { address = \"a\" }\nconsul { token = \"t\" }\n\
                     template { source = \"1\" }\ntemplate { source = \"2\" }\n\
                     exec { command = \"a\" }\nexec { splay = \"1s\" }");
        assert_eq!(
            c.consul,
            ConsulConfig {
                token: s("t"),
                ..ConsulConfig::default()
            }
        );
        assert_eq!(c.templates.len(), 2);
        assert_eq!(
            c.exec,
            Some(ExecConfig {
                splay: secs(1),
                ..ExecConfig::default()
            })
        );
    }

    #[test]
    fn legacy_and_extra_keys() {
        let c = cfg("consul = \"10.0.0.1:8500\"\n\
                     template {\n  source = \"s\"\n  function_blacklist = \"a,b\"\n  uid = 1000\n}\n\
                     exec { env { whitelist = [\"A*\"], blacklist = [\"B*\"], pristine = true } }\n\
                     default_delimiters { left = \"[[\" }\n\
                     vault { address = \"https://v\" }\n\
                     syslog { facility = \"LOCAL5\" }\n\
                     log_file { path = \"/var/log/ct/\" log_rotate_max_files = -1 }\n\
                     template_error_fatal = false\nerr_on_failed_lookup = true\nonce = true\nparseonly = false");
        assert_eq!(c.consul.address, s("10.0.0.1:8500"));
        assert_eq!(c.templates[0].function_denylist, vec!["a", "b"]);
        assert_eq!(c.templates[0].uid, Some(1000));
        let env = c.exec.unwrap().env.unwrap();
        assert_eq!(
            (env.allowlist, env.denylist, env.pristine),
            (vec!["A*".into()], vec!["B*".into()], Some(true))
        );
        assert_eq!(c.default_delimiters, Some(("[[".into(), "}}".into())));
        assert_eq!(
            c.vault,
            Some(Tree::Object(vec![(
                "address".into(),
                Tree::Str("https://v".into())
            )]))
        );
        assert_eq!(c.syslog.unwrap().facility, s("LOCAL5"));
        assert_eq!(c.log_file.unwrap().log_rotate_max_files, Some(-1));
        assert_eq!(
            (
                c.template_error_fatal,
                c.err_on_failed_lookup,
                c.once,
                c.parseonly
            ),
            (Some(false), Some(true), Some(true), Some(false))
        );
    }

    // --- Merging and directories ------------------------------------------------------------

    #[test]
    fn merge_two_configs() {
        let a = cfg(
            "consul {\n address = \"a:8500\"\n retry { attempts = 3 }\n}\nlog_level = \"info\"\n\
                     template { source = \"one\" }\nexec { env { custom = [\"A=1\"] } }",
        );
        let b = cfg(
            "consul { retry { backoff = \"1s\" } }\nmax_stale = \"5s\"\n\
                     template { source = \"two\" }\nexec { env { custom = [\"B=2\"] } }",
        );
        let m = a.merge(b);
        assert_eq!(m.consul.address, s("a:8500"));
        assert_eq!(
            m.consul.retry,
            Some(RetryConfig {
                attempts: Some(3),
                backoff: secs(1),
                ..RetryConfig::default()
            })
        );
        assert_eq!(m.log_level, s("info"));
        assert_eq!(m.max_stale, secs(5));
        let sources: Vec<_> = m
            .templates
            .iter()
            .map(|t| t.source.clone().unwrap())
            .collect();
        assert_eq!(sources, ["one", "two"]);
        assert_eq!(m.exec.unwrap().env.unwrap().custom, ["A=1", "B=2"]);
    }

    #[test]
    fn directory_walked_in_lexical_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("05-dir")).unwrap();
        fs::write(
            d.join("05-dir/b.hcl"),
            "template { source = \"zero\" }\nlog_level = \"trace\"",
        )
        .unwrap();
        fs::write(d.join("10-consul.hcl"), "consul {\n address = \"a:8500\"\n retry { attempts = 3 }\n}\ntemplate { source = \"one\" }\nlog_level = \"info\"").unwrap();
        fs::write(d.join("20-more.json"), r#"{"consul": {"token": "t", "retry": {"backoff": "1s"}}, "template": [{"source": "two"}], "log_level": "debug"}"#).unwrap();
        let c = Config::from_path(d).unwrap();
        let sources: Vec<_> = c
            .templates
            .iter()
            .map(|t| t.source.clone().unwrap())
            .collect();
        assert_eq!(sources, ["zero", "one", "two"]);
        assert_eq!(c.log_level, s("debug"));
        assert_eq!(c.consul.address, s("a:8500"));
        assert_eq!(c.consul.token, s("t"));
        assert_eq!(c.consul.retry.unwrap().attempts, Some(3));
        // A single file works too, and errors name the file.
        assert_eq!(
            Config::from_path(d.join("10-consul.hcl"))
                .unwrap()
                .templates
                .len(),
            1
        );
        fs::write(
            d.join("30-bad.hcl"),
            "template {\n  source = \"x\"\n  perm = 1\n}",
        )
        .unwrap();
        let e = Config::from_path(d).unwrap_err();
        assert_eq!(
            e.0,
            format!(
                "{}: template: unknown key \"perm\"",
                d.join("30-bad.hcl:3:3").display()
            )
        );
        assert!(Config::from_path(d.join("missing")).is_err());
    }

    #[test]
    fn symlinks_are_read_as_files_never_walked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("conf")).unwrap();
        fs::create_dir_all(d.join("elsewhere")).unwrap();
        fs::write(
            d.join("elsewhere/t.hcl"),
            "template { source = \"linked\" }",
        )
        .unwrap();
        fs::write(d.join("conf/a.hcl"), "template { source = \"a\" }").unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere/t.hcl"), d.join("conf/b.hcl")).unwrap();
        assert_eq!(
            Config::from_path(d.join("conf")).unwrap().templates.len(),
            2
        );
        // A link to a directory is read as a file, which fails (as consul-template's Walk does).
        std::os::unix::fs::symlink(d.join("elsewhere"), d.join("conf/c")).unwrap();
        let e = Config::from_path(d.join("conf")).unwrap_err();
        assert!(
            e.0.starts_with(&d.join("conf/c").display().to_string()),
            "{e}"
        );
    }
}
