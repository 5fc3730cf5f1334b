//! Consul's `?filter=` query parameter: the go-bexpr boolean expression language, evaluated
//! against the JSON form of each element of an API response.
//!
//! Consul evaluates filters against Go structs by reflection. We only see JSON, so two things
//! reflection knows are approximated: which objects are maps (a missing key is then simply absent
//! rather than a typo, see [`is_map_field`]), and `null`, which stands for a nil pointer, map or
//! slice and is treated like a missing map key.

use regex::Regex;
use serde_json::{Number, Value};

/// Consul prefixes every filter error (answered with HTTP 500) with this.
const ERR_PREFIX: &str = "Failed to create boolean expression evaluator: ";

/// Bounds recursion (parentheses and `not` while parsing; lists of lists while evaluating) so
/// hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 100;

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Parses an expression; the error text is what Consul answers with HTTP 500:
    /// "Failed to create boolean expression evaluator: <details>".
    pub fn parse(expr: &str) -> Result<Filter, String> {
        Parser::new(expr)
            .parse()
            .map(|expr| Filter { expr })
            .map_err(|e| format!("{ERR_PREFIX}{e}"))
    }

    /// Evaluates against one element. An error (e.g. a selector naming a field the element's
    /// object does not have) is also a 500 with the same prefix.
    pub fn matches(&self, element: &Value) -> Result<bool, String> {
        self.expr
            .eval(element)
            .map_err(|e| format!("{ERR_PREFIX}{e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree and evaluation
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Expr {
    // n-ary, so a long `a or b or c ...` chain does not recurse once per term
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Match(Box<MatchExpr>),
}

impl Expr {
    /// Short-circuits like go-bexpr, so an invalid selector after a decided `or`/`and` is not
    /// an error.
    fn eval(&self, v: &Value) -> Result<bool, String> {
        match self {
            Expr::Or(items) => {
                for item in items {
                    if item.eval(v)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Expr::And(items) => {
                for item in items {
                    if !item.eval(v)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Not(inner) => inner.eval(v).map(|b| !b),
            Expr::Match(m) => m.eval(v),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Equal,
    In,
    IsEmpty,
    IsNil,
    Matches,
}

/// A match operator: `!=`, `not in`, `is not empty`... are the negations of their positive kind.
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: OpKind,
    negate: bool,
}

impl Op {
    const fn new(kind: OpKind, negate: bool) -> Op {
        Op { kind, negate }
    }

    /// Outcome for a missing map key (go-bexpr's NotPresentDisposition): nothing equals,
    /// contains or matches an absent value, and an absent value is empty (and nil).
    fn absent(self) -> bool {
        matches!(self.kind, OpKind::IsEmpty | OpKind::IsNil) != self.negate
    }
}

#[derive(Debug, Clone)]
struct MatchExpr {
    selector: Selector,
    op: Op,
    /// The literal as go-bexpr keeps it (raw text), coerced to the field's type when compared.
    value: String,
    /// Compiled once at parse time for `matches`.
    regex: Option<Regex>,
}

#[derive(Debug, Clone)]
struct Selector {
    parts: Vec<Part>,
    /// As written, for error messages.
    text: String,
}

#[derive(Debug, Clone)]
struct Part {
    key: String,
    /// Written as `["key"]`: only maps are indexed that way, so a missing key is just absent.
    indexed: bool,
}

impl MatchExpr {
    fn eval(&self, root: &Value) -> Result<bool, String> {
        self.walk(root, 0, false, 0)
    }

    /// Follows the selector from part `depth`. `in_map` says `v` is a map, so a missing key is
    /// absent rather than an invalid selector; `nesting` counts recursion for the stack bound.
    fn walk(&self, v: &Value, depth: usize, in_map: bool, nesting: usize) -> Result<bool, String> {
        if nesting > MAX_NESTING {
            return Err(format!(
                "Value at selector {:?} is nested too deeply",
                self.selector.text
            ));
        }
        let Some(part) = self.selector.parts.get(depth) else {
            return self.leaf(v);
        };
        match v {
            Value::Object(fields) => match fields.get(&part.key) {
                Some(child) => self.walk(child, depth + 1, is_map_field(&part.key), nesting + 1),
                None if in_map || part.indexed => Ok(self.op.absent()),
                None => Err(format!("Selector {:?} is not valid", self.selector.text)),
            },
            Value::Array(items) => match list_index(&part.key) {
                Some(i) => match items.get(i) {
                    Some(item) => self.walk(item, depth + 1, false, nesting + 1),
                    // a short list is ordinary data, not a typo: treat like a missing key
                    None => Ok(self.op.absent()),
                },
                None => self.any(items, depth, nesting + 1),
            },
            Value::Null => Ok(self.op.absent()),
            other => Err(format!(
                "Value at selector {:?} with type {} does not support nested field selection",
                self.path_to(depth),
                type_name(other)
            )),
        }
    }

    /// A selector passing through a list: like go-bexpr, the whole match (operator included,
    /// so `!=` too) is applied to each element and is true if it holds for any of them.
    fn any(&self, items: &[Value], depth: usize, nesting: usize) -> Result<bool, String> {
        for item in items {
            if self.walk(item, depth, false, nesting)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Applies the operator to the selected value.
    fn leaf(&self, v: &Value) -> Result<bool, String> {
        if v.is_null() {
            return Ok(self.op.absent());
        }
        let hit = match self.op.kind {
            OpKind::Equal => self.equal(v)?,
            OpKind::In => self.contains(v)?,
            OpKind::IsEmpty => self.is_empty(v)?,
            OpKind::IsNil => false,
            OpKind::Matches => self.regex_matches(v)?,
        };
        Ok(hit != self.op.negate)
    }

    /// Strings compare exactly; numbers and bools coerce the literal to the field's type.
    fn equal(&self, v: &Value) -> Result<bool, String> {
        match v {
            Value::String(s) => Ok(*s == self.value),
            Value::Number(n) => number_eq(n, &self.value).ok_or_else(|| self.not_coercible(v)),
            Value::Bool(b) => parse_go_bool(&self.value)
                .map(|lit| lit == *b)
                .ok_or_else(|| self.not_coercible(v)),
            _ => Err(self.unsupported("equality", v)),
        }
    }

    /// List membership, map key presence or substring.
    fn contains(&self, v: &Value) -> Result<bool, String> {
        match v {
            Value::Array(items) => Ok(items.iter().any(|item| scalar_eq(item, &self.value))),
            Value::Object(fields) => Ok(fields.contains_key(&self.value)),
            Value::String(s) => Ok(s.contains(self.value.as_str())),
            _ => Err(self.unsupported("in/contains", v)),
        }
    }

    fn is_empty(&self, v: &Value) -> Result<bool, String> {
        match v {
            Value::String(s) => Ok(s.is_empty()),
            Value::Array(items) => Ok(items.is_empty()),
            Value::Object(fields) => Ok(fields.is_empty()),
            _ => Err(self.unsupported("is empty", v)),
        }
    }

    fn regex_matches(&self, v: &Value) -> Result<bool, String> {
        match (v, &self.regex) {
            (Value::String(s), Some(re)) => Ok(re.is_match(s)),
            _ => Err(self.unsupported("matches", v)),
        }
    }

    fn not_coercible(&self, v: &Value) -> String {
        format!(
            "Value {:?} cannot be compared with the {} at selector {:?}",
            self.value,
            type_name(v),
            self.selector.text
        )
    }

    fn unsupported(&self, what: &str, v: &Value) -> String {
        format!(
            "Cannot perform {what} operations on type {} for selector: {:?}",
            type_name(v),
            self.selector.text
        )
    }

    fn path_to(&self, depth: usize) -> String {
        let keys: Vec<&str> = self
            .selector
            .parts
            .iter()
            .take(depth)
            .map(|p| p.key.as_str())
            .collect();
        keys.join(".")
    }
}

/// Whether the object under `key` is a Go map in Consul's structs (meta data, tagged addresses),
/// where a missing key is ordinary. Everywhere else a missing key means a misspelled field.
fn is_map_field(key: &str) -> bool {
    key.ends_with("Meta") || key == "TaggedAddresses" || key == "ServiceTaggedAddresses"
}

/// A selector part made only of digits indexes a list; anything else fans out over it.
fn list_index(key: &str) -> Option<usize> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // too many digits for usize is simply out of range
    Some(key.parse().unwrap_or(usize::MAX))
}

/// Equality of one list element with the literal; elements the literal cannot be coerced to
/// never match (go-bexpr skips them too rather than failing the whole list).
fn scalar_eq(item: &Value, literal: &str) -> bool {
    match item {
        Value::String(s) => s == literal,
        Value::Number(n) => number_eq(n, literal).unwrap_or(false),
        Value::Bool(b) => parse_go_bool(literal) == Some(*b),
        _ => false,
    }
}

/// Compares a JSON number with a literal; `None` if the literal is not a number. Integers are
/// compared exactly; anything else as f64 (JSON does not say whether Go had an int or a float).
fn number_eq(n: &Number, literal: &str) -> Option<bool> {
    if let Ok(lit) = literal.parse::<i128>() {
        if let Some(i) = n.as_i64() {
            return Some(i128::from(i) == lit);
        }
        if let Some(u) = n.as_u64() {
            return Some(i128::from(u) == lit);
        }
    }
    let lit = literal.parse::<f64>().ok()?;
    Some(n.as_f64() == Some(lit))
}

/// The spellings Go's `strconv.ParseBool` accepts.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent mirroring go-bexpr's PEG grammar
// ---------------------------------------------------------------------------------------------

/// Something the parser would have accepted, for "expected: ..." messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Lit(&'static str),
    Class(&'static str),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Lit(s) => write!(f, "{s:?}"),
            Expect::Class(s) => f.write_str(s),
        }
    }
}

/// `NoMatch` lets the caller try another alternative (PEG backtracking); `Fatal` is an input no
/// alternative can accept, reported as is.
enum Fail {
    NoMatch,
    Fatal { pos: usize, msg: String },
}

type PResult<T> = Result<T, Fail>;

fn fatal<T>(pos: usize, msg: &str) -> PResult<T> {
    Err(Fail::Fatal {
        pos,
        msg: msg.to_string(),
    })
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset; always on a char boundary.
    pos: usize,
    nesting: usize,
    /// Farthest offset any alternative failed at, and what would have been accepted there:
    /// like a PEG parser, that is where we report a syntax error.
    far: usize,
    expected: Vec<Expect>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            nesting: 0,
            far: 0,
            expected: Vec::new(),
        }
    }

    fn parse(mut self) -> Result<Expr, String> {
        match self.input() {
            Ok(expr) => Ok(expr),
            Err(Fail::Fatal { pos, msg }) => Err(format!("{}: {msg}", self.locate(pos))),
            Err(Fail::NoMatch) => Err(format!(
                "{}: no match found, expected: {}",
                self.locate(self.far),
                self.expected_list()
            )),
        }
    }

    /// `line:col (offset)` as pigeon (go-bexpr's parser generator) prints positions.
    fn locate(&self, offset: usize) -> String {
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{line}:{col} ({offset})")
    }

    fn expected_list(&self) -> String {
        let mut names: Vec<String> = self.expected.iter().map(ToString::to_string).collect();
        names.sort();
        match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, init)) => format!("{} or {last}", init.join(", ")),
            None => "end of input".to_string(),
        }
    }

    // --- grammar rules ---

    fn input(&mut self) -> PResult<Expr> {
        self.ws();
        let expr = self.or_expr()?;
        self.ws();
        if self.pos < self.src.len() {
            return Err(self.miss(Expect::Class("end of input")));
        }
        Ok(expr)
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        self.chain("or", Self::and_expr, Expr::Or)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        self.chain("and", Self::not_expr, Expr::And)
    }

    /// `operand (_ keyword _ operand)*`, collected into one n-ary node.
    fn chain(
        &mut self,
        keyword: &'static str,
        operand: fn(&mut Self) -> PResult<Expr>,
        wrap: fn(Vec<Expr>) -> Expr,
    ) -> PResult<Expr> {
        let first = operand(self)?;
        let mut items = Vec::new();
        while let Some(next) = self.attempt(|p| {
            if p.keywords(&[keyword], true) {
                operand(p)
            } else {
                Err(Fail::NoMatch)
            }
        })? {
            items.push(next);
        }
        if items.is_empty() {
            return Ok(first);
        }
        items.insert(0, first);
        Ok(wrap(items))
    }

    /// `not` binds tighter than `and`; a failed `not ...` may still be a selector named `not`.
    fn not_expr(&mut self) -> PResult<Expr> {
        let negated = self.attempt(|p| {
            if p.lit("not") && p.ws() {
                p.nested(Self::not_expr)
            } else {
                Err(Fail::NoMatch)
            }
        })?;
        match negated {
            Some(inner) => Ok(Expr::Not(Box::new(inner))),
            None => self.paren_expr(),
        }
    }

    /// No match expression starts with `(`, so once one is seen it must be a group.
    fn paren_expr(&mut self) -> PResult<Expr> {
        if !self.lit("(") {
            return self.match_expr();
        }
        self.nested(|p| {
            p.ws();
            let inner = p.or_expr()?;
            p.ws();
            if p.lit(")") {
                Ok(inner)
            } else {
                fatal(p.pos, "Unmatched parentheses")
            }
        })
    }

    fn match_expr(&mut self) -> PResult<Expr> {
        if let Some(m) = self.attempt(Self::selector_op_value)? {
            return Ok(m);
        }
        if let Some(m) = self.attempt(Self::selector_op)? {
            return Ok(m);
        }
        self.value_op_selector()
    }

    /// `Selector (== | != | contains | not contains | matches | not matches) Value`
    fn selector_op_value(&mut self) -> PResult<Expr> {
        let selector = self.selector()?;
        let op = self.binary_op()?;
        let value_pos = self.pos;
        let value = self.value()?;
        let regex = match op.kind {
            OpKind::Matches => Some(compile_go_regex(&value).map_err(|msg| Fail::Fatal {
                pos: value_pos,
                msg,
            })?),
            _ => None,
        };
        Ok(match_node(selector, op, value, regex))
    }

    fn binary_op(&mut self) -> PResult<Op> {
        for (symbol, negate) in [("==", false), ("!=", true)] {
            let start = self.pos;
            self.ws();
            if self.lit(symbol) {
                self.ws();
                return Ok(Op::new(OpKind::Equal, negate));
            }
            self.pos = start;
        }
        const WORDS: [(&[&str], Op); 4] = [
            (&["contains"], Op::new(OpKind::In, false)),
            (&["not", "contains"], Op::new(OpKind::In, true)),
            (&["matches"], Op::new(OpKind::Matches, false)),
            (&["not", "matches"], Op::new(OpKind::Matches, true)),
        ];
        WORDS
            .iter()
            .find(|(words, _)| self.keywords(words, true))
            .map(|&(_, op)| op)
            .ok_or(Fail::NoMatch)
    }

    /// `Selector is [not] (empty | nil)`
    fn selector_op(&mut self) -> PResult<Expr> {
        let selector = self.selector()?;
        const WORDS: [(&[&str], Op); 4] = [
            (&["is", "empty"], Op::new(OpKind::IsEmpty, false)),
            (&["is", "not", "empty"], Op::new(OpKind::IsEmpty, true)),
            (&["is", "nil"], Op::new(OpKind::IsNil, false)),
            (&["is", "not", "nil"], Op::new(OpKind::IsNil, true)),
        ];
        let op = WORDS
            .iter()
            .find(|(words, _)| self.keywords(words, false))
            .map(|&(_, op)| op)
            .ok_or(Fail::NoMatch)?;
        Ok(match_node(selector, op, String::new(), None))
    }

    /// `Value [not] in Selector`
    fn value_op_selector(&mut self) -> PResult<Expr> {
        let value = self.value()?;
        let op = if self.keywords(&["in"], true) {
            Op::new(OpKind::In, false)
        } else if self.keywords(&["not", "in"], true) {
            Op::new(OpKind::In, true)
        } else {
            return Err(Fail::NoMatch);
        };
        let selector_pos = self.pos;
        let selector = match self.selector() {
            Err(Fail::NoMatch) => return fatal(selector_pos, "Invalid selector"),
            other => other?,
        };
        Ok(match_node(selector, op, value, None))
    }

    /// `Ident ("." Ident | "." Digits | "[" String "]")*` or a quoted JSON pointer.
    fn selector(&mut self) -> PResult<Selector> {
        let start = self.pos;
        let parts = match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => self.dotted_path()?,
            Some('"') => self.json_pointer()?,
            _ => return Err(self.miss(Expect::Class("selector"))),
        };
        let text = self.src[start..self.pos].trim_matches('"').to_string();
        Ok(Selector { parts, text })
    }

    fn dotted_path(&mut self) -> PResult<Vec<Part>> {
        let first = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/');
        let mut parts = vec![Part {
            key: first.to_string(),
            indexed: false,
        }];
        loop {
            let start = self.pos;
            if self.lit(".") {
                let key = match self.peek() {
                    Some(c) if c.is_ascii_alphabetic() => {
                        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/')
                    }
                    _ => self.take_while(|c| c.is_ascii_digit()),
                };
                if key.is_empty() {
                    // PEG: the `.` is not part of the selector; whatever follows will fail
                    self.miss(Expect::Class("identifier"));
                    self.pos = start;
                    break;
                }
                parts.push(Part {
                    key: key.to_string(),
                    indexed: false,
                });
            } else if self.peek() == Some('[') {
                parts.push(Part {
                    key: self.index()?,
                    indexed: true,
                });
            } else {
                self.miss(Expect::Lit("["));
                break;
            }
        }
        Ok(parts)
    }

    /// `[ "key" ]`; the caller has seen the `[`.
    fn index(&mut self) -> PResult<String> {
        self.pos += 1;
        self.ws();
        if !matches!(self.peek(), Some('"' | '`')) {
            return fatal(self.pos, "Invalid index");
        }
        let key = self.string_literal()?;
        self.ws();
        if !self.lit("]") {
            return fatal(self.pos, "Unclosed index expression");
        }
        Ok(key)
    }

    /// `"/Service/Meta/x"`: RFC 6901 segments, `~1` and `~0` unescaped.
    fn json_pointer(&mut self) -> PResult<Vec<Part>> {
        self.pos += 1;
        let mut parts = Vec::new();
        while self.lit("/") {
            let segment = self.take_while(|c| c.is_alphanumeric() || "-_.~|".contains(c));
            if segment.is_empty() {
                return Err(self.miss(Expect::Class("JSON pointer segment")));
            }
            let key = segment.replace("~1", "/").replace("~0", "~");
            parts.push(Part {
                key,
                indexed: false,
            });
        }
        if !self.lit("\"") {
            return Err(Fail::NoMatch);
        }
        Ok(parts)
    }

    /// A bare selector (kept as text), a number or a string; `true`/`false` are bare words.
    fn value(&mut self) -> PResult<String> {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => {
                let parts = self.dotted_path()?;
                let keys: Vec<&str> = parts.iter().map(|p| p.key.as_str()).collect();
                Ok(keys.join("."))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('"' | '`') => self.string_literal(),
            _ => Err(self.miss(Expect::Class("value"))),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, which must be followed by whitespace, `)` or the end,
    /// so an unquoted `10.0.0.1` is an error rather than a silent mismatch.
    fn number(&mut self) -> PResult<String> {
        let start = self.pos;
        self.eat('-');
        let int = self.take_while(|c| c.is_ascii_digit());
        if int.is_empty() {
            let fail = self.miss(Expect::Class("digit"));
            self.pos = start;
            return Err(fail);
        }
        if int.len() > 1 && int.starts_with('0') {
            return fatal(start, "Invalid number literal");
        }
        let rest = self.rest().as_bytes();
        if rest.first() == Some(&b'.') && rest.get(1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        match self.peek() {
            None | Some(' ' | '\t' | '\r' | '\n' | ')') => {
                Ok(self.src[start..self.pos].to_string())
            }
            Some(_) => fatal(start, "Invalid number literal"),
        }
    }

    /// A Go string literal: backquoted raw, or double-quoted with Go escapes.
    fn string_literal(&mut self) -> PResult<String> {
        let start = self.pos;
        let quote = match self.peek() {
            Some(q @ ('"' | '`')) => q,
            _ => return Err(self.miss(Expect::Class("string"))),
        };
        let body_start = start + 1;
        let rest = &self.src[body_start..];
        let end = if quote == '`' {
            rest.find('`')
        } else {
            closing_quote(rest)
        };
        let Some(end) = end else {
            return fatal(start, "Unterminated string literal");
        };
        let body = &rest[..end];
        self.pos = body_start + end + 1;
        if quote == '`' {
            // Go drops carriage returns from raw strings
            return Ok(body.replace('\r', ""));
        }
        unquote(body).map_err(|e| Fail::Fatal {
            pos: start,
            msg: format!("Invalid string literal: {e}"),
        })
    }

    // --- scanning helpers ---

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += c.len_utf8();
        }
        hit
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !pred(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Records a failed expectation at the current position and returns `NoMatch`.
    fn miss(&mut self, what: Expect) -> Fail {
        if self.pos > self.far {
            self.far = self.pos;
            self.expected.clear();
        }
        if self.pos == self.far && !self.expected.contains(&what) {
            self.expected.push(what);
        }
        Fail::NoMatch
    }

    fn lit(&mut self, s: &'static str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            self.miss(Expect::Lit(s));
            false
        }
    }

    /// Mandatory whitespace `[ \t\r\n]+`; optional where the result is ignored.
    fn ws(&mut self) -> bool {
        let n = self
            .take_while(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
            .len();
        if n == 0 {
            self.miss(Expect::Class("whitespace"));
        }
        n > 0
    }

    /// `_ word1 _ word2 ... [_]`: keywords are whitespace separated. Consumes nothing on failure.
    fn keywords(&mut self, words: &[&'static str], trailing_ws: bool) -> bool {
        let start = self.pos;
        let ok = words.iter().all(|w| self.ws() && self.lit(w)) && (!trailing_ws || self.ws());
        if !ok {
            self.pos = start;
        }
        ok
    }

    /// Runs an alternative; on `NoMatch` rewinds and returns `None` so the next can be tried.
    fn attempt<T>(&mut self, rule: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<Option<T>> {
        let start = self.pos;
        match rule(self) {
            Ok(v) => Ok(Some(v)),
            Err(Fail::NoMatch) => {
                self.pos = start;
                Ok(None)
            }
            Err(fail) => Err(fail),
        }
    }

    fn nested<T>(&mut self, rule: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.nesting >= MAX_NESTING {
            return fatal(self.pos, "Expression nested too deeply");
        }
        self.nesting += 1;
        let result = rule(self);
        self.nesting -= 1;
        result
    }
}

fn match_node(selector: Selector, op: Op, value: String, regex: Option<Regex>) -> Expr {
    Expr::Match(Box::new(MatchExpr {
        selector,
        op,
        value,
        regex,
    }))
}

/// Byte offset of the first `"` not escaped by a backslash.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Go's `strconv.Unquote` for the body of a double-quoted string.
fn unquote(body: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => unescape(&mut chars, &mut out)?,
            '\n' => return Err("newline in string".to_string()),
            c => push_char(&mut out, c),
        }
    }
    // `\x` and octal escapes produce bytes; they must still form UTF-8 for a Rust string
    String::from_utf8(out).map_err(|_| "escapes do not form valid UTF-8".to_string())
}

fn unescape(chars: &mut std::str::Chars<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let c = chars.next().ok_or("trailing backslash")?;
    let byte = match c {
        'a' => 0x07,
        'b' => 0x08,
        'f' => 0x0c,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 0x0b,
        '\\' => b'\\',
        '"' => b'"',
        'x' => digits(chars, 2, 16, None)? as u8,
        '0'..='7' => digits(chars, 2, 8, c.to_digit(8))?
            .try_into()
            .map_err(|_| "octal escape value > 255".to_string())?,
        'u' | 'U' => {
            let code = digits(chars, if c == 'u' { 4 } else { 8 }, 16, None)?;
            let ch = char::from_u32(code).ok_or(format!("invalid Unicode code point {code:#x}"))?;
            push_char(out, ch);
            return Ok(());
        }
        other => return Err(format!("invalid escape sequence \\{other}")),
    };
    out.push(byte);
    Ok(())
}

/// Reads exactly `n` digits in `radix`, continuing from an already read leading digit.
fn digits(
    chars: &mut std::str::Chars<'_>,
    n: usize,
    radix: u32,
    lead: Option<u32>,
) -> Result<u32, String> {
    let mut value = lead.unwrap_or(0);
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(radix))
            .ok_or("malformed escape")?;
        value = value * radix + d;
    }
    Ok(value)
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Go RE2 regular expressions on the `regex` crate
// ---------------------------------------------------------------------------------------------

fn compile_go_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&go_regex_to_rust(pattern)).map_err(|e| {
        // `regex` errors span several lines (pattern, caret, message); keep the message
        let text = e.to_string();
        let msg = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid");
        format!(
            "Failed to compile regular expression {pattern:?}: {}",
            msg.trim()
        )
    })
}

/// Go's RE2 keeps `\d \w \s \b` (and negations) ASCII-only, while `regex` makes them Unicode:
/// rewrite them to explicit ASCII forms. Inside a character class Go takes `[`, `&` and `~`
/// literally, but `regex` reads nested classes and `&&`/`~~` set operations: escape them.
fn go_regex_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let mut len = c.len_utf8();
        match c {
            '\\' => match rest[1..].chars().next() {
                Some(e) => {
                    push_escape(&mut out, e, in_class);
                    len += e.len_utf8();
                }
                None => out.push('\\'),
            },
            '[' if in_class => match posix_class(rest) {
                Some(posix) => {
                    out.push_str(posix);
                    len = posix.len();
                }
                None => out.push_str(r"\["),
            },
            '[' => {
                in_class = true;
                // `^` and a leading `]` are part of the opening, not the class end
                let negated = rest[1..].starts_with('^');
                let open = if negated { "[^" } else { "[" };
                out.push_str(open);
                len = open.len();
                if rest[len..].starts_with(']') {
                    out.push_str(r"\]");
                    len += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        rest = &rest[len..];
    }
    out
}

fn push_escape(out: &mut String, e: char, in_class: bool) {
    let ascii = match e {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => r"[\t\n\f\r\x20]",
        'S' => r"[^\t\n\f\r\x20]",
        'b' if !in_class => r"(?-u:\b)",
        'B' if !in_class => r"(?-u:\B)",
        _ => {
            out.push('\\');
            out.push(e);
            return;
        }
    };
    out.push_str(ascii);
}

/// `[:alpha:]` / `[:^alpha:]` at the start of `s` (inside a class), if it is one.
fn posix_class(s: &str) -> Option<&str> {
    let body = s.strip_prefix("[:")?;
    let end = body.find(":]")?;
    let name = body[..end].strip_prefix('^').unwrap_or(&body[..end]);
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase());
    valid.then(|| &s[..end + 4])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service_node() -> Value {
        json!({
            "ID": "a1b2", "Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc1",
            "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.18.0.1"},
            "NodeMeta": {"env": "prod"},
            "ServiceID": "web-1", "ServiceName": "web", "ServiceTags": ["v1", "prod"],
            "ServiceAddress": "", "ServiceMeta": {"version": "2", "build-id": "x"},
            "ServicePort": 8080, "ServiceEnableTagOverride": false,
            "ServiceWeights": {"Passing": 1, "Warning": 1}
        })
    }

    fn health_entry() -> Value {
        json!({
            "Node": {
                "ID": "a1b2", "Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc1",
                "TaggedAddresses": {"lan": "10.0.0.1"}, "Meta": {"env": "prod"}
            },
            "Service": {
                "ID": "web-1", "Service": "web", "Tags": ["v1", "prod"], "Address": "",
                "Meta": {"version": "2"}, "Port": 8080, "EnableTagOverride": false,
                "Weights": {"Passing": 1, "Warning": 1}, "Proxy": null,
                "TaggedAddresses": {"lan_ipv4": {"Address": "10.0.0.1", "Port": 8080}}
            },
            "Checks": [
                {"Node": "n1", "CheckID": "serfHealth", "Status": "passing", "ServiceTags": []},
                {"Node": "n1", "CheckID": "service:web", "Status": "critical",
                 "ServiceTags": ["v1", "prod"]}
            ]
        })
    }

    /// Parses and evaluates, failing the test on any error.
    fn eval(expr: &str, v: &Value) -> bool {
        let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("parse {expr:?}: {e}"));
        filter
            .matches(v)
            .unwrap_or_else(|e| panic!("eval {expr:?}: {e}"))
    }

    fn parse_err(expr: &str) -> String {
        let err = Filter::parse(expr).expect_err(expr);
        assert!(err.starts_with(ERR_PREFIX), "{err}");
        err
    }

    fn eval_err(expr: &str, v: &Value) -> String {
        let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("parse {expr:?}: {e}"));
        let err = filter.matches(v).expect_err(expr);
        assert!(err.starts_with(ERR_PREFIX), "{err}");
        err
    }

    #[test]
    fn equality_on_strings_and_quoting_forms() {
        let n = service_node();
        assert!(eval("ServiceName == web", &n));
        assert!(eval(r#"ServiceName == "web""#, &n));
        assert!(eval("ServiceName == `web`", &n));
        assert!(eval("ServiceName==web", &n));
        assert!(!eval("ServiceName != web", &n));
        assert!(eval("ServiceName != api", &n));
        assert!(eval("Address == \"10.0.0.1\"", &n));
        // Go escapes in double-quoted strings
        assert!(eval(r#"ServiceName == "w\x65\u0062""#, &n));
        assert!(!eval("ServiceName == Web", &n));
    }

    #[test]
    fn numbers_and_bools_coerce_to_field_type() {
        let n = service_node();
        assert!(eval("ServicePort == 8080", &n));
        assert!(eval(r#"ServicePort == "8080""#, &n));
        assert!(eval("ServicePort == 8080.0", &n));
        assert!(eval("ServicePort != 80", &n));
        assert!(!eval("ServicePort == -8080", &n));
        assert!(eval("ServiceEnableTagOverride == false", &n));
        assert!(!eval("ServiceEnableTagOverride == true", &n));
        assert!(eval(r#"ServiceEnableTagOverride == "false""#, &n));
        assert!(eval("ServiceWeights.Passing == 1", &n));
        let err = eval_err("ServicePort == abc", &n);
        assert!(err.contains("ServicePort"), "{err}");
        eval_err("ServiceEnableTagOverride == maybe", &n);
    }

    #[test]
    fn in_and_contains_on_lists_maps_and_strings() {
        let n = service_node();
        assert!(eval("v1 in ServiceTags", &n));
        assert!(eval(r#""prod" in ServiceTags"#, &n));
        assert!(!eval("v2 in ServiceTags", &n));
        assert!(eval("v2 not in ServiceTags", &n));
        assert!(!eval("v1 not in ServiceTags", &n));
        assert!(eval("ServiceTags contains prod", &n));
        assert!(!eval("ServiceTags not contains prod", &n));
        // map: key presence
        assert!(eval("version in ServiceMeta", &n));
        assert!(eval(r#""build-id" in ServiceMeta"#, &n));
        assert!(!eval("x in ServiceMeta", &n));
        assert!(eval("lan in TaggedAddresses", &n));
        // string: substring
        assert!(eval(r#""10.0" in Address"#, &n));
        assert!(eval(r#"Address contains ".0.1""#, &n));
        assert!(!eval(r#"Address contains "192""#, &n));
        let err = eval_err("8 in ServicePort", &n);
        assert!(err.contains("in/contains"), "{err}");
    }

    #[test]
    fn emptiness_and_nil() {
        let n = service_node();
        assert!(!eval("ServiceTags is empty", &n));
        assert!(eval("ServiceTags is not empty", &n));
        assert!(eval("ServiceAddress is empty", &n));
        assert!(eval("NodeMeta is not empty", &n));
        assert!(eval("ServiceMeta.missing is empty", &n));
        assert!(eval("ServiceMeta.missing is nil", &n));
        assert!(eval("ServiceMeta.version is not nil", &n));
        assert!(!eval("ServiceMeta.version is nil", &n));
        let h = health_entry();
        assert!(eval("Service.Proxy is nil", &h));
        assert!(eval("Service.Proxy is empty", &h));
        eval_err("ServicePort is empty", &n);
    }

    #[test]
    fn regex_matches_with_go_ascii_classes() {
        let n = service_node();
        // Go needs the backslash escaped in a double-quoted string, or a raw string
        assert!(eval(r#"ServiceMeta.version matches "^\\d+$""#, &n));
        assert!(eval(r"ServiceMeta.version matches `^\d+$`", &n));
        assert!(eval("ServiceName matches `^w[a-z]+`", &n));
        assert!(!eval("ServiceName matches `^api`", &n));
        assert!(eval("Node not matches `^db-`", &n));
        assert!(eval(r"Address matches `^\d+(\.\d+){3}$`", &n));
        // RE2's \d, \w, \s, \b are ASCII-only
        let v = json!({"Name": "٣", "Word": "é", "Space": "\u{a0}", "Text": "ébc"});
        assert!(!eval(r"Name matches `\d`", &v));
        assert!(eval(r"Name matches `\D`", &v));
        assert!(!eval(r"Word matches `\w`", &v));
        assert!(!eval(r"Space matches `\s`", &v));
        assert!(!eval(r"Name matches `[\d]`", &v));
        assert!(eval(r"Text matches `\bbc`", &v));
        // Go takes `[` and `&&` literally inside a class
        let v = json!({"S": "a[b&&c"});
        assert!(eval("S matches `[[]b[&][&]`", &v));
        assert!(eval("S matches `b[&&]`", &v));
        assert!(eval("S matches `[[:alpha:]]`", &v));
        // `\d` is not a Go string escape, and a bad pattern fails at parse time
        parse_err(r#"ServiceName matches "\d""#);
        let err = parse_err("ServiceName matches `(`");
        assert!(err.contains("regular expression"), "{err}");
        eval_err("ServicePort matches `8`", &n);
    }

    #[test]
    fn map_keys_and_missing_keys() {
        let n = service_node();
        assert!(eval(r#"ServiceMeta["build-id"] == x"#, &n));
        assert!(eval(r#"ServiceMeta[ `build-id` ] == "x""#, &n));
        assert!(eval("ServiceMeta.version == 2", &n));
        assert!(eval("NodeMeta.env == prod", &n));
        assert!(eval("TaggedAddresses.wan == `198.18.0.1`", &n));
        // a missing map key is absent, not an error
        assert!(!eval("ServiceMeta.nope == x", &n));
        assert!(eval("ServiceMeta.nope != x", &n));
        assert!(!eval("x in ServiceMeta.nope", &n));
        assert!(eval("x not in ServiceMeta.nope", &n));
        assert!(!eval("ServiceMeta.nope matches `.`", &n));
        assert!(eval(r#"ServiceWeights["Critical"] is empty"#, &n));
        let h = health_entry();
        assert!(eval("Node.Meta.env == prod", &h));
        assert!(eval("Service.TaggedAddresses.lan_ipv4.Port == 8080", &h));
        assert!(!eval("Service.TaggedAddresses.wan.Port == 8080", &h));
        let err = eval_err("Service.TaggedAddresses.lan_ipv4.Bogus == 1", &h);
        assert!(err.ends_with(r#"Selector "Service.TaggedAddresses.lan_ipv4.Bogus" is not valid"#));
    }

    #[test]
    fn json_pointer_selectors_and_list_indexes() {
        let n = service_node();
        assert!(eval(r#""/ServiceMeta/build-id" == x"#, &n));
        assert!(eval(r#""/ServiceTags/1" == prod"#, &n));
        assert!(eval(r#""/ServicePort" == 8080"#, &n));
        let h = health_entry();
        assert!(eval(r#""/Service/Meta/version" == "2""#, &h));
        assert!(!eval(r#""/Service/Meta/nope" == "2""#, &h));
        assert!(eval(r#""/Checks/0/CheckID" == serfHealth"#, &h));
        assert!(eval(r#"v1 in "/Service/Tags""#, &h));
        assert!(eval("Checks.1.Status == critical", &h));
        assert!(!eval("Checks.0.Status == critical", &h));
        assert!(!eval("Checks.5.Status == critical", &h));
        assert!(eval("Service.Tags.0 == v1", &h));
        let err = eval_err(r#""/Service/Bogus" == x"#, &h);
        assert!(
            err.contains(r#"Selector "/Service/Bogus" is not valid"#),
            "{err}"
        );
    }

    #[test]
    fn selectors_through_lists_match_any_element() {
        let h = health_entry();
        assert!(eval("Checks.Status == passing", &h));
        assert!(eval("Checks.Status == critical", &h));
        assert!(!eval("Checks.Status == warning", &h));
        assert!(eval(r#"Checks.CheckID == "service:web""#, &h));
        // the operator applies per element: some check is not passing
        assert!(eval("Checks.Status != passing", &h));
        assert!(!eval(
            "Checks.Status != passing",
            &json!({"Checks": [{"Status": "passing"}]})
        ));
        // `not` negates the whole any-match
        assert!(!eval("not Checks.Status == critical", &h));
        assert!(eval("v1 in Checks.ServiceTags", &h));
        assert!(eval("Checks.ServiceTags is empty", &h));
        assert!(!eval("Checks.Status == passing", &json!({"Checks": []})));
        let err = eval_err("Checks.Bogus == x", &h);
        assert!(
            err.contains(r#"Selector "Checks.Bogus" is not valid"#),
            "{err}"
        );
    }

    #[test]
    fn boolean_precedence_and_parentheses() {
        let n = service_node();
        // or < and < not: `a or (b and (not c))`
        assert!(eval(
            "ServiceName == web or ServiceName == api and not ServicePort == 8080",
            &n
        ));
        assert!(!eval(
            "(ServiceName == web or ServiceName == api) and not ServicePort == 8080",
            &n
        ));
        assert!(eval(
            "ServiceName == web or ServiceName == api and ServicePort == 1",
            &n
        ));
        assert!(!eval("not ServiceName == web and ServicePort == 1", &n));
        assert!(eval("not (ServiceName == web and ServicePort == 1)", &n));
        assert!(eval("not not ServiceName == web", &n));
        assert!(eval("((ServiceName == web))", &n));
        assert!(eval(" ( ServiceName == web ) ", &n));
        assert!(eval(
            "ServiceName == web\n\tand ServicePort == 8080\r\nand v1 in ServiceTags",
            &n
        ));
        assert!(eval(
            "ServiceName == api or ServiceName == db or ServiceName == web",
            &n
        ));
        // short-circuit: the invalid selector is never evaluated
        assert!(eval("ServiceName == web or Bogus == x", &n));
        assert!(!eval("ServiceName == api and Bogus == x", &n));
        eval_err("ServiceName == api or Bogus == x", &n);
    }

    #[test]
    fn syntax_errors_report_a_position() {
        let err = parse_err("ServiceName = web");
        assert!(
            err.contains("1:13 (12): no match found, expected: "),
            "{err}"
        );
        let err = parse_err("ServiceName ==");
        assert!(err.contains("1:15 (14)") && err.contains("value"), "{err}");
        let err = parse_err("Address == 10.0.0.1");
        assert!(err.contains("1:12 (11): Invalid number literal"), "{err}");
        let err = parse_err("(ServiceName == web");
        assert!(err.contains("1:20 (19): Unmatched parentheses"), "{err}");
        let err = parse_err("ServiceName == \"web");
        assert!(err.contains("Unterminated string literal"), "{err}");
        let err = parse_err("ServiceName == web\nAND ServicePort == 1");
        assert!(err.contains("2:1 (19)"), "{err}");
        let err = parse_err("ServiceMeta[version] == 2");
        assert!(err.contains("Invalid index"), "{err}");
        let err = parse_err(r#"ServiceMeta["version" == 2"#);
        assert!(err.contains("Unclosed index expression"), "{err}");
        let err = parse_err("v1 in 42");
        assert!(err.contains("Invalid selector"), "{err}");
        for bad in [
            "",
            "   ",
            "()",
            "ServiceName",
            "ServiceName is",
            "and",
            "a == b or",
            "a == 01",
        ] {
            parse_err(bad);
        }
    }

    #[test]
    fn evaluation_errors() {
        let n = service_node();
        let err = eval_err("Bogus == x", &n);
        assert_eq!(err, format!(r#"{ERR_PREFIX}Selector "Bogus" is not valid"#));
        let err = eval_err("ServiceTags == v1", &n);
        assert!(err.contains("equality"), "{err}");
        eval_err("ServiceMeta == x", &n);
        let err = eval_err("ServiceName.Foo == x", &n);
        assert!(err.contains("nested field selection"), "{err}");
    }

    #[test]
    fn hostile_input_never_panics() {
        let n = health_entry();
        let deep = "(".repeat(10_000) + "a == b" + &")".repeat(10_000);
        assert!(parse_err(&deep).contains("nested too deeply"));
        parse_err(&"not ".repeat(10_000));
        let long = vec!["Service.Service == web"; 20_000].join(" or ");
        assert!(eval(&long, &n));
        let sample = r#"not (Checks.Status == "pass\"ing" or "/Service/Meta/a~1b" != `x`) and ServiceMeta["k"] matches "^\\d{2}[\w&&~]" and 1.5 in Checks.0.Tags"#;
        for (i, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
            if let Ok(f) = Filter::parse(&sample[..i]) {
                let _ = f.matches(&n);
            }
        }
        for junk in [
            "\u{0}",
            "é == é",
            "a[\"\\u",
            "a == \"\\400\"",
            "\"/\u{10ffff}\" == 1",
            "a ==-",
        ] {
            if let Ok(f) = Filter::parse(junk) {
                let _ = f.matches(&n);
            }
        }
        let nested = (0..500).fold(json!("x"), |acc, _| json!([acc]));
        assert!(Filter::parse("L.x == 1")
            .unwrap()
            .matches(&json!({ "L": nested }))
            .is_err());
    }
}
