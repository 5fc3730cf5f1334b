//! The parser: block and flow collections, plain, quoted and block scalars, comments, anchors and
//! aliases, `<<` merges and `!!str`/`!!binary` tags; the first document only, decoded as yaml.v2
//! decodes into `interface{}` (map keys become strings), with yaml.v2's error messages.

use std::collections::HashMap;
use std::sync::Arc;

use super::emit::is_blank_or_end;
use super::{resolve, Resolved};
use crate::gotmpl::{SortedMap, Value};
use crate::template::funcs::encoding::base64::STD;

type PResult<T> = Result<T, String>;

/// Errors carry their kind in a first character, because yaml.v2 words their lines
/// differently: a scanner error gives the 1-based line, a parser error the 0-based one, and
/// neither is shown when it would be 0 (or for a composer error such as an unknown anchor).
fn scanner_error(msg: &str) -> String {
    format!("S{msg}")
}

fn parser_error(msg: &str) -> String {
    format!("P{msg}")
}

fn no_line_error(msg: &str) -> String {
    format!("N{msg}")
}

/// `yaml.Unmarshal` into `interface{}`.
pub(in crate::template::funcs::encoding) fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        src: text.strip_prefix('\u{feff}').unwrap_or(text),
        pos: 0,
        anchors: HashMap::new(),
        depth: 0,
    };
    p.document().map_err(|e| {
        // At the end of input libyaml's scanner starts a new line if the last one has text.
        let past_last_line = p.pos >= p.src.len() && !p.src.ends_with('\n');
        let zero_based = p.line() - 1 + usize::from(past_last_line && e.starts_with('P'));
        let (kind, msg) = e.split_at(1);
        let line = match kind {
            "S" if zero_based > 0 => zero_based + 1,
            "P" => zero_based,
            _ => 0,
        };
        match line {
            0 => format!("yaml: {msg}"),
            n => format!("yaml: line {n}: {msg}"),
        }
    })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    anchors: HashMap<String, Value>,
    depth: usize,
}

/// How deeply collections may nest: the parser recurses, and a thread's stack is small.
const MAX_NESTING: usize = 200;

/// A node's properties: `&anchor` and `!tag`.
#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

impl Parser<'_> {
    fn line(&self) -> usize {
        self.src[..self.pos.min(self.src.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn col(&self) -> usize {
        let start = self.src[..self.pos].rfind('\n').map_or(0, |i| i + 1);
        self.src[start..self.pos].chars().count()
    }

    fn line_start(&self) -> usize {
        self.src[..self.pos].rfind('\n').map_or(0, |i| i + 1)
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// At the end of the line: nothing but spaces and maybe a comment before it.
    fn at_line_end(&mut self) -> bool {
        self.skip_spaces();
        match self.peek() {
            None | Some('\n' | '\r') => true,
            Some('#') => {
                let before = self.src[..self.pos].chars().next_back();
                before.is_none_or(|c| c == ' ' || c == '\t' || c == '\n')
            }
            _ => false,
        }
    }

    fn skip_line(&mut self) {
        match self.rest().find('\n') {
            Some(i) => self.pos += i + 1,
            None => self.pos = self.src.len(),
        }
    }

    /// A `---` or `...` line: the document ends.
    fn at_document_marker(&self) -> bool {
        let r = self.rest();
        self.pos == self.line_start()
            && (r.starts_with("---") || r.starts_with("..."))
            && is_blank_or_end(r[3..].chars().next())
    }

    /// Moves to the first character of the next line with content and returns its column;
    /// `None` at the end of the document. Content left on the current line is an error.
    fn next_content_line(&mut self) -> PResult<Option<usize>> {
        let ls = self.line_start();
        if self.src[ls..self.pos].chars().any(|c| c != ' ') {
            if !self.at_line_end() {
                return Err(parser_error("did not find expected key"));
            }
            self.skip_line();
        }
        loop {
            if self.pos == self.line_start() && self.at_document_marker() {
                return Ok(None);
            }
            while self.peek() == Some(' ') {
                self.bump();
            }
            match self.peek() {
                None => return Ok(None),
                Some('\n' | '\r' | '#') => self.skip_line(),
                Some('\t') => {
                    if !self.at_line_end() {
                        return Err(scanner_error(
                            "found a tab character that violates indentation",
                        ));
                    }
                    self.skip_line();
                }
                Some(_) => return Ok(Some(self.col())),
            }
        }
    }

    fn document(&mut self) -> PResult<Value> {
        loop {
            match self.next_content_line()? {
                Some(0) if self.peek() == Some('%') => self.skip_line(),
                _ => break,
            }
        }
        let value = if self.at_document_marker() && self.rest().starts_with("---") {
            self.pos += 3;
            self.value_after_indicator(-1, false)?
        } else {
            match self.next_content_line()? {
                Some(col) => self.node_at(col as i64, -1)?,
                None => Value::Nil,
            }
        };
        match self.next_content_line()? {
            None => Ok(value),
            Some(_) => Err(parser_error("did not find expected <document start>")),
        }
    }

    fn is_seq_indicator(&self) -> bool {
        self.peek() == Some('-') && is_blank_or_end(self.peek_at(1))
    }

    /// The value after `key:`, `- ` or `---`: on this line, or an indented block below
    /// (`indentless` lets a sequence at the parent's column be a mapping's value).
    fn value_after_indicator(&mut self, parent: i64, indentless: bool) -> PResult<Value> {
        if !self.at_line_end() {
            let props = self.props()?;
            if props.anchor.is_some() || props.tag.is_some() {
                let v = if self.at_line_end() {
                    self.value_below(parent, indentless)?
                } else {
                    self.inline_node(parent)?
                };
                return self.apply(props, v);
            }
            return self.inline_node(parent);
        }
        self.value_below(parent, indentless)
    }

    fn value_below(&mut self, parent: i64, indentless: bool) -> PResult<Value> {
        match self.next_content_line()? {
            Some(col) if col as i64 > parent => self.node_at(col as i64, parent),
            Some(col) if col as i64 == parent && indentless && self.is_seq_indicator() => {
                self.sequence(col as i64, true)
            }
            _ => Ok(Value::Nil),
        }
    }

    /// Runs `f` one nesting level deeper.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(no_line_error(&format!(
                "exceeded max depth of {MAX_NESTING}"
            )));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// A node starting at the current position, the first content at column `col`.
    fn node_at(&mut self, col: i64, parent: i64) -> PResult<Value> {
        self.nested(|p| p.node_at_here(col, parent))
    }

    fn node_at_here(&mut self, col: i64, parent: i64) -> PResult<Value> {
        if self.is_seq_indicator() {
            return self.sequence(col, false);
        }
        if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
            return self.mapping(col, None);
        }
        let props = self.props()?;
        let has_props = props.anchor.is_some() || props.tag.is_some();
        if has_props && self.at_line_end() {
            let v = self.value_below(parent, false)?;
            return self.apply(props, v);
        }
        let start = self.pos;
        let first = match self.peek() {
            Some('|' | '>') => return self.block_scalar(parent).and_then(|v| self.apply(props, v)),
            Some('[' | '{') => self.flow_node()?,
            Some('*') => self.alias()?,
            Some('"') => Value::from(self.double_quoted(parent)?),
            Some('\'') => Value::from(self.single_quoted(parent)?),
            _ => {
                let s = self.plain_line(false);
                self.skip_spaces();
                if self.at_key_colon() {
                    let key = self.apply(props, plain_value(&s))?;
                    return self.mapping(col, Some(key));
                }
                self.pos = start;
                let s = self.plain(parent, false)?;
                return self.apply(props, plain_value(&s));
            }
        };
        let first = self.apply(props, first)?;
        self.skip_spaces();
        if self.at_key_colon() {
            return self.mapping(col, Some(first));
        }
        Ok(first)
    }

    /// A node on the line of its `key:`: no nested mapping can start here.
    fn inline_node(&mut self, parent: i64) -> PResult<Value> {
        let v = match self.peek() {
            Some('|' | '>') => self.block_scalar(parent)?,
            Some('[' | '{') => self.flow_node()?,
            Some('*') => self.alias()?,
            Some('"') => Value::from(self.double_quoted(parent)?),
            Some('\'') => Value::from(self.single_quoted(parent)?),
            Some('-') if is_blank_or_end(self.peek_at(1)) => {
                return Err(scanner_error(
                    "block sequence entries are not allowed in this context",
                ))
            }
            _ => plain_value(&self.plain(parent, false)?),
        };
        self.skip_spaces();
        if self.at_key_colon() {
            return Err(scanner_error(
                "mapping values are not allowed in this context",
            ));
        }
        Ok(v)
    }

    /// At `:` followed by a blank (a block mapping's key ends here).
    fn at_key_colon(&self) -> bool {
        self.peek() == Some(':') && is_blank_or_end(self.peek_at(1))
    }

    fn props(&mut self) -> PResult<Props> {
        let mut props = Props::default();
        loop {
            match self.peek() {
                Some('&') => {
                    self.bump();
                    props.anchor = Some(self.word());
                }
                Some('!') => props.tag = Some(self.word()),
                _ => return Ok(props),
            }
            self.skip_spaces();
        }
    }

    /// An anchor name or tag: up to a blank or a flow indicator.
    fn word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_blank_or_end(Some(c)) || matches!(c, ',' | '[' | ']' | '{' | '}') {
                break;
            }
            self.bump();
        }
        self.src[start..self.pos].to_string()
    }

    fn alias(&mut self) -> PResult<Value> {
        self.bump();
        let name = self.word();
        self.anchors
            .get(&name)
            .cloned()
            .ok_or_else(|| no_line_error(&format!("unknown anchor '{name}' referenced")))
    }

    /// Applies a tag (`!!str` keeps a plain scalar's text) and records an anchor.
    fn apply(&mut self, props: Props, v: Value) -> PResult<Value> {
        let v = match (props.tag.as_deref(), &v) {
            (Some("!!str" | "!str"), Value::Nil) => Value::str(""),
            (Some("!!str" | "!str"), Value::Str(_)) => v,
            (Some("!!str" | "!str"), other) => Value::from(other.to_go_string()),
            (Some("!!binary"), Value::Str(s)) => {
                let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                let bytes = STD
                    .decode(&clean)
                    .map_err(|_| no_line_error("!!binary value contains invalid base64 data"))?;
                Value::from_bytes(&bytes)
            }
            _ => v,
        };
        if let Some(a) = props.anchor {
            self.anchors.insert(a, v.clone());
        }
        Ok(v)
    }

    /// A block sequence at column `col`; an `indentless` one (a mapping's value at the
    /// mapping's column) ends at the next key, any other must go on with `-`.
    fn sequence(&mut self, col: i64, indentless: bool) -> PResult<Value> {
        let mut items = Vec::new();
        loop {
            self.bump();
            let item = if self.at_line_end() {
                self.value_below(col, false)?
            } else {
                let c = self.col() as i64;
                self.node_at(c, col)?
            };
            items.push(item);
            match self.next_content_line()? {
                Some(c) if c as i64 == col && self.is_seq_indicator() => continue,
                Some(c) if c as i64 > col || (c as i64 == col && !indentless) => {
                    return Err(parser_error("did not find expected '-' indicator"))
                }
                _ => return Ok(Value::list(items)),
            }
        }
    }

    /// A block mapping at column `col`, its first key maybe already read.
    fn mapping(&mut self, col: i64, mut key: Option<Value>) -> PResult<Value> {
        let mut m = Members::new();
        loop {
            let value = match key.take() {
                Some(k) => {
                    self.bump(); // the ':'
                    let v = self.value_after_indicator(col, true)?;
                    (k, v)
                }
                None => self.entry(col)?,
            };
            insert_entry(&mut m, value.0, value.1);
            match self.next_content_line()? {
                Some(c) if c as i64 == col && !self.is_seq_indicator() => continue,
                Some(c) if c as i64 > col => {
                    return Err(scanner_error(
                        "mapping values are not allowed in this context",
                    ))
                }
                _ => return Ok(mapping_value(m)),
            }
        }
    }

    /// One `key: value` (or `? key` / `: value`) entry of a block mapping.
    fn entry(&mut self, col: i64) -> PResult<(Value, Value)> {
        if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
            self.bump();
            let key = self.value_after_indicator(col, false)?;
            let value = match self.next_content_line()? {
                Some(c) if c as i64 == col && self.at_key_colon() => {
                    self.bump();
                    self.value_after_indicator(col, true)?
                }
                _ => Value::Nil,
            };
            return Ok((key, value));
        }
        let props = self.props()?;
        let key = match self.peek() {
            Some('"') => Value::from(self.double_quoted(col)?),
            Some('\'') => Value::from(self.single_quoted(col)?),
            Some('*') => self.alias()?,
            Some('[' | '{') => self.flow_node()?,
            _ => plain_value(&self.plain_line(false)),
        };
        let key = self.apply(props, key)?;
        self.skip_spaces();
        if !self.at_key_colon() {
            return Err(scanner_error("could not find expected ':'"));
        }
        self.bump();
        Ok((key, self.value_after_indicator(col, true)?))
    }

    /// One line of a plain scalar: up to `: `, ` #`, the line's end, or (in flow context)
    /// a flow indicator. Trailing blanks are dropped.
    fn plain_line(&mut self, flow: bool) -> String {
        let start = self.pos;
        let mut end = self.pos;
        while let Some(c) = self.peek() {
            let next = self.peek_at(1);
            let stop = match c {
                '\n' | '\r' => true,
                ':' => {
                    is_blank_or_end(next)
                        || (flow && matches!(next, Some(',' | '[' | ']' | '{' | '}')))
                }
                '#' => self.src[..self.pos].ends_with([' ', '\t']),
                ',' | '[' | ']' | '{' | '}' => flow,
                _ => false,
            };
            if stop {
                break;
            }
            self.bump();
            if c != ' ' && c != '\t' {
                end = self.pos;
            }
        }
        self.pos = end.max(start);
        self.src[start..self.pos].to_string()
    }

    /// A plain scalar, folded over the following lines indented more than `parent`.
    fn plain(&mut self, parent: i64, flow: bool) -> PResult<String> {
        let mut out = self.plain_line(flow);
        loop {
            let save = self.pos;
            if !self.at_line_end() || self.peek() == Some('#') || self.peek().is_none() {
                self.pos = save;
                return Ok(out);
            }
            let mut breaks = 0;
            let cont = loop {
                self.skip_line();
                breaks += 1;
                while self.peek() == Some(' ') {
                    self.bump();
                }
                if self.at_document_marker_here() {
                    break false;
                }
                match self.peek() {
                    Some('\n' | '\r') => continue,
                    None | Some('#') => break false,
                    Some(_) => break flow || self.col() as i64 > parent,
                }
            };
            let starts_entry = self.is_seq_indicator() && !flow;
            if !cont || starts_entry {
                self.pos = save;
                return Ok(out);
            }
            out.push_str(&if breaks == 1 {
                " ".to_string()
            } else {
                "\n".repeat(breaks - 1)
            });
            out.push_str(&self.plain_line(flow));
        }
    }

    fn at_document_marker_here(&self) -> bool {
        let ls = self.line_start();
        let r = &self.src[ls..];
        (r.starts_with("---") || r.starts_with("...")) && is_blank_or_end(r[3..].chars().next())
    }

    fn double_quoted(&mut self, _parent: i64) -> PResult<String> {
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(scanner_error("found unexpected end of stream"));
            };
            self.bump();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    if matches!(self.peek(), Some('\n' | '\r')) {
                        // An escaped line break joins the lines with nothing between.
                        self.fold_break();
                        continue;
                    }
                    out.push(self.escape()?);
                }
                '\n' | '\r' => {
                    trim_trailing_blanks(&mut out);
                    self.pos -= 1;
                    let breaks = self.fold_break();
                    out.push_str(&if breaks == 1 {
                        " ".to_string()
                    } else {
                        "\n".repeat(breaks - 1)
                    });
                }
                c => out.push(c),
            }
        }
    }

    /// Skips a line break and the next lines' leading blanks; returns the breaks crossed.
    fn fold_break(&mut self) -> usize {
        let mut breaks = 0;
        while let Some(c) = self.peek() {
            match c {
                '\n' => breaks += 1,
                ' ' | '\t' | '\r' => {}
                _ => break,
            }
            self.bump();
        }
        breaks
    }

    fn escape(&mut self) -> PResult<char> {
        let c = self
            .peek()
            .ok_or_else(|| scanner_error("found unexpected end of stream"))?;
        self.bump();
        let hex = |p: &mut Self, n: usize| -> PResult<char> {
            let digits: String = p.rest().chars().take(n).collect();
            if digits.len() != n || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
                return Err(scanner_error("did not find expected hexdecimal number"));
            }
            p.pos += n;
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| scanner_error("found invalid Unicode character escape code"))
        };
        Ok(match c {
            '0' => '\0',
            'a' => '\x07',
            'b' => '\x08',
            't' | '\t' => '\t',
            'n' => '\n',
            'v' => '\x0b',
            'f' => '\x0c',
            'r' => '\r',
            'e' => '\x1b',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            _ => {
                return Err(scanner_error(
                    "found unknown escape character while parsing a quoted scalar",
                ))
            }
        })
    }

    fn single_quoted(&mut self, _parent: i64) -> PResult<String> {
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(scanner_error("found unexpected end of stream"));
            };
            self.bump();
            match c {
                '\'' if self.peek() == Some('\'') => {
                    self.bump();
                    out.push('\'');
                }
                '\'' => return Ok(out),
                '\n' | '\r' => {
                    trim_trailing_blanks(&mut out);
                    self.pos -= 1;
                    let breaks = self.fold_break();
                    out.push_str(&if breaks == 1 {
                        " ".to_string()
                    } else {
                        "\n".repeat(breaks - 1)
                    });
                }
                c => out.push(c),
            }
        }
    }

    /// A `|` or `>` block scalar whose lines are indented more than `parent`.
    fn block_scalar(&mut self, parent: i64) -> PResult<Value> {
        let literal = self.peek() == Some('|');
        self.bump();
        let (mut chomp, mut explicit) = ('c', None);
        while let Some(c) = self.peek() {
            match c {
                '+' | '-' => chomp = c,
                '1'..='9' => explicit = c.to_digit(10),
                _ => break,
            }
            self.bump();
        }
        if !self.at_line_end() {
            return Err(scanner_error("did not find expected comment or line break"));
        }
        self.skip_line();
        let lines = self.block_lines(parent, explicit)?;
        let first = lines.iter().position(|l| !l.is_empty());
        let last = lines.iter().rposition(|l| !l.is_empty());
        let (body, trailing) = match (first, last) {
            (Some(_), Some(last)) => {
                let content = &lines[..=last];
                let body = if literal {
                    content.join("\n")
                } else {
                    fold_lines(content)
                };
                (body, lines.len() - last - 1)
            }
            _ => (String::new(), lines.len()),
        };
        let text = match (chomp, body.is_empty()) {
            ('-', _) => body,
            ('+', true) => "\n".repeat(trailing),
            ('+', false) => format!("{body}\n{}", "\n".repeat(trailing)),
            (_, true) => body,
            (_, false) => body + "\n",
        };
        Ok(Value::from(text))
    }

    /// The lines of a block scalar with their indentation removed (blank lines empty);
    /// leaves the position at the start of the first line after it.
    fn block_lines(&mut self, parent: i64, explicit: Option<u32>) -> PResult<Vec<String>> {
        let mut indent = explicit.map(|d| (parent + i64::from(d)).max(0) as usize);
        let mut lines = Vec::new();
        while self.pos < self.src.len() {
            let line_end = self
                .rest()
                .find('\n')
                .map_or(self.src.len(), |i| self.pos + i);
            let line = self.src[self.pos..line_end].trim_end_matches('\r');
            let spaces = line.len() - line.trim_start_matches(' ').len();
            let blank = line.trim_start_matches(' ').is_empty();
            if self.at_document_marker() {
                break;
            }
            let want = match indent {
                Some(i) => i,
                None if blank => {
                    lines.push(String::new());
                    self.pos = (line_end + 1).min(self.src.len());
                    continue;
                }
                None if spaces as i64 > parent => *indent.insert(spaces),
                None => break,
            };
            if blank && spaces <= want {
                lines.push(String::new());
            } else if spaces >= want {
                lines.push(line[want..].to_string());
            } else {
                break;
            }
            self.pos = (line_end + 1).min(self.src.len());
        }
        Ok(lines)
    }

    fn flow_node(&mut self) -> PResult<Value> {
        self.nested(Self::flow_node_here)
    }

    fn flow_node_here(&mut self) -> PResult<Value> {
        let props = self.props()?;
        let v = match self.peek() {
            Some('[') => self.flow_sequence()?,
            Some('{') => self.flow_mapping()?,
            Some('"') => Value::from(self.double_quoted(-1)?),
            Some('\'') => Value::from(self.single_quoted(-1)?),
            Some('*') => self.alias()?,
            _ => plain_value(&self.plain(-1, true)?),
        };
        self.apply(props, v)
    }

    /// Skips blanks, line breaks and comments inside a flow collection.
    fn flow_space(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r') => self.bump(),
                Some('#') => self.skip_line(),
                _ => return,
            }
        }
    }

    fn flow_sequence(&mut self) -> PResult<Value> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.flow_space();
            if self.peek() == Some(']') {
                self.bump();
                return Ok(Value::list(items));
            }
            if self.peek().is_none() {
                // libyaml's parser wants an entry here and finds the end of the stream.
                return Err(parser_error("did not find expected node content"));
            }
            let item = self.flow_node()?;
            self.flow_space();
            // `[a: b]` is a list holding a one-entry map.
            let item = if self.peek() == Some(':') {
                self.bump();
                self.flow_space();
                let mut m = Members::new();
                let value = match self.peek() {
                    Some(',' | ']') => Value::Nil,
                    _ => self.flow_node()?,
                };
                insert_entry(&mut m, item, value);
                self.flow_space();
                mapping_value(m)
            } else {
                item
            };
            items.push(item);
            match self.peek() {
                Some(',') => self.bump(),
                Some(']') => {}
                None => return Err(parser_error("did not find expected ',' or ']'")),
                Some(_) => return Err(parser_error("did not find expected ',' or ']'")),
            }
        }
    }

    fn flow_mapping(&mut self) -> PResult<Value> {
        self.bump();
        let mut m = Members::new();
        loop {
            self.flow_space();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(mapping_value(m));
            }
            if self.peek() == Some('?') && is_blank_or_end(self.peek_at(1)) {
                self.bump();
                self.flow_space();
            }
            let key = self.flow_node()?;
            self.flow_space();
            let value = if self.peek() == Some(':') {
                self.bump();
                self.flow_space();
                match self.peek() {
                    Some(',' | '}') => Value::Nil,
                    _ => self.flow_node()?,
                }
            } else {
                Value::Nil
            };
            insert_entry(&mut m, key, value);
            self.flow_space();
            match self.peek() {
                Some(',') => self.bump(),
                Some('}') => {}
                _ => return Err(parser_error("did not find expected ',' or '}'")),
            }
        }
    }
}

fn trim_trailing_blanks(s: &mut String) {
    while s.ends_with([' ', '\t']) {
        s.pop();
    }
}

/// Folds a `>` block's lines: a single break between two ordinary lines becomes a space,
/// breaks around more-indented lines stay.
fn fold_lines(lines: &[String]) -> String {
    let mut out = String::new();
    let mut empties = 0;
    let mut prev: Option<bool> = None; // whether the previous line was more indented
    for line in lines {
        if line.is_empty() {
            empties += 1;
            continue;
        }
        let more = line.starts_with([' ', '\t']);
        match prev {
            None => out.push_str(&"\n".repeat(empties)),
            Some(p) if p || more => out.push_str(&"\n".repeat(empties + 1)),
            Some(_) if empties == 0 => out.push(' '),
            Some(_) => out.push_str(&"\n".repeat(empties)),
        }
        out.push_str(line);
        empties = 0;
        prev = Some(more);
    }
    out
}

/// A plain scalar's value by yaml.v2's resolution rules.
fn plain_value(s: &str) -> Value {
    match resolve(s) {
        Resolved::Null => Value::Nil,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Int(i),
        Resolved::Uint(u) => Value::Uint(u),
        Resolved::Float(f) => Value::Float(f),
        Resolved::Str { .. } => Value::str(s),
    }
}

/// A mapping's entries as read, in order: the last of equal keys wins when they become its map
/// (sorted once, rather than each entry inserted into a sorted map).
type Members = Vec<(Arc<str>, Value)>;

fn mapping_value(m: Members) -> Value {
    Value::Map(Arc::new(SortedMap::from_entries(m)))
}

/// Adds an entry; a `<<` key merges the map (or list of maps, earlier ones winning) it
/// holds.
fn insert_entry(m: &mut Members, key: Value, value: Value) {
    if key.as_str() == Some("<<") {
        let sources = match &value {
            Value::List(items) => items.iter().rev().cloned().collect(),
            v => vec![v.clone()],
        };
        if sources.iter().all(|s| matches!(s, Value::Map(_))) {
            for src in sources {
                if let Value::Map(src) = src {
                    m.extend(src.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            return;
        }
    }
    let key: Arc<str> = match &key {
        Value::Str(s) => s.clone(),
        k => k.to_go_string().into(),
    };
    m.push((key, value));
}
