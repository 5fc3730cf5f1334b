//! The emitter: the parts of libyaml's emitter that yaml.v2's `Marshal` output goes through
//! (block style, scalar analysis and quoting, line folding, yaml.v2's map key order).

use std::sync::Arc;

use super::{is_base60_float, resolve, Resolved};
use crate::gotmpl::{printf, Value};
use crate::template::funcs::encoding::base64::STD;
use crate::template::funcs::MAX_DEPTH;

const BEST_INDENT: i64 = 2;

const BEST_WIDTH: usize = 80;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What libyaml's `analyze_scalar` learns about a scalar.
struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

pub(super) fn is_blank_or_end(c: Option<char>) -> bool {
    c.is_none_or(|c| c == ' ' || c == '\t' || c == '\0' || is_break(c))
}

/// yaml.v2's `is_printable` (characters beyond the BMP are not).
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    // Only block context matters here: the indicators that keep a scalar from being plain.
    let mut block_ind = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = is_blank_or_end(chars.get(i + 1).copied());
        let last = i + 1 == chars.len();
        block_ind |= match c {
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
            | '@' | '`'
                if i == 0 =>
            {
                true
            }
            '?' | '-' if i == 0 => followed_by_ws,
            ':' => followed_by_ws,
            '#' => preceded_by_ws,
            _ => false,
        };
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= prev_break;
            (prev_space, prev_break) = (true, false);
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= prev_space;
            (prev_space, prev_break) = (false, true);
        } else {
            (prev_space, prev_break) = (false, false);
        }
        preceded_by_ws = is_blank_or_end(Some(c));
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

#[derive(Default)]
struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

/// `yaml.Marshal`.
pub(in crate::template::funcs::encoding) fn emit(v: &Value) -> Result<String, String> {
    let mut e = Emitter {
        indent: -1,
        whitespace: true,
        indention: true,
        ..Emitter::default()
    };
    e.node(v, false, false)?;
    e.write_indent();
    Ok(e.out)
}

/// A map's keys in yaml.v2's order: digit runs compare as numbers, letters after other
/// characters.
fn key_less(ar: &[char], br: &[char]) -> bool {
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    (an, bn) = (1, 1);
                    break;
                }
            }
        }
        let number = |r: &[char], n: &mut i64| {
            let mut k = i;
            while k < r.len() && r[k].is_ascii_digit() {
                *n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(r[k] as u8 - b'0'));
                k += 1;
            }
            k
        };
        let (ai, bi) = (number(ar, &mut an), number(br, &mut bn));
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Sorts as Go's `sort.Sort` does up to 12 items (insertion sort), which decides the order
/// where yaml.v2's comparison is not transitive (`a10`, `a1b`, `a9`); longer lists are
/// merge-sorted.
fn go_sort<T>(items: &mut Vec<T>, less: &impl Fn(&T, &T) -> bool) {
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && less(&items[j], &items[j - 1]) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mut right = items.split_off(items.len() / 2);
    go_sort(items, less);
    go_sort(&mut right, less);
    let left = std::mem::take(items);
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let next = if less(b, a) { r.next() } else { l.next() };
        items.extend(next);
    }
    items.extend(l.chain(r));
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        ind.chars().for_each(|c| self.put(c));
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, v: &Value, mapping: bool, simple_key: bool) -> Result<(), String> {
        if self.indents.len() > MAX_DEPTH {
            return Err("yaml: exceeded max depth (is a map holding itself?)".into());
        }
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match v {
            Value::Missing | Value::Nil => self.scalar("null", Style::Plain, None),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, None),
            Value::Int(i) => self.scalar(&i.to_string(), Style::Plain, None),
            Value::Uint(u) => self.scalar(&u.to_string(), Style::Plain, None),
            Value::Byte(b) => self.scalar(&b.to_string(), Style::Plain, None),
            Value::Float(f) => {
                let s = match printf::format_float(*f, b'g', -1).as_str() {
                    "+Inf" => ".inf".to_string(),
                    "-Inf" => "-.inf".to_string(),
                    "NaN" => ".nan".to_string(),
                    s => s.to_string(),
                };
                self.scalar(&s, Style::Plain, None)
            }
            Value::Str(s) => self.string(s),
            Value::Bytes(b) => {
                let encoded = STD.encode(b);
                self.scalar(&encoded, Style::Plain, Some("!!binary"))
            }
            Value::List(items) => return self.sequence(items),
            Value::Map(m) => {
                let mut keys: Vec<(Vec<char>, &Arc<str>)> =
                    m.keys().map(|k| (k.chars().collect(), k)).collect();
                go_sort(&mut keys, &|a, b| key_less(&a.0, &b.0));
                let entries: Vec<(String, &Value)> = keys
                    .into_iter()
                    .map(|(_, k)| (k.to_string(), &m[k]))
                    .collect();
                return self.mapping(&entries);
            }
            Value::Record(r) => {
                // yaml.v2 names a field by its lower-cased name.
                let entries: Vec<(String, &Value)> =
                    r.ty.fields
                        .iter()
                        .map(|f| f.to_lowercase())
                        .zip(r.values.iter())
                        .collect();
                return self.mapping(&entries);
            }
            // yaml.v2 writes a time.Duration (only that type) as its String().
            Value::Object(o) if o.type_name() == "time.Duration" => {
                let shown = match o.call_method("String", &[]) {
                    Some(Ok(s)) => s,
                    _ => o.underlying(),
                };
                return self.node(&shown, mapping, simple_key);
            }
            Value::Object(o) => return self.node(&o.underlying(), mapping, simple_key),
            Value::Func(_) | Value::Complex(..) => {
                return Err(format!("cannot marshal type: {}", v.type_name()))
            }
        }
        Ok(())
    }

    /// yaml.v2's `stringv`: plain when it reads back as the same string, a literal block
    /// when it has line breaks, else double-quoted.
    fn string(&mut self, s: &str) {
        let can_plain = resolve(s) == Resolved::Str { timestamp: false } && !is_base60_float(s);
        let style = if s.contains('\n') {
            Style::Literal
        } else if can_plain {
            Style::Plain
        } else {
            Style::Double
        };
        self.scalar(s, style, None);
    }

    fn sequence(&mut self, items: &[Value]) -> Result<(), String> {
        if items.is_empty() {
            return self.empty_flow("[", "]");
        }
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, false, false)?;
        }
        self.pop_indent();
        Ok(())
    }

    fn mapping(&mut self, entries: &[(String, &Value)]) -> Result<(), String> {
        if entries.is_empty() {
            return self.empty_flow("{", "}");
        }
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            let simple = key.chars().count() <= 128 && !analyze(key).multiline;
            if simple {
                self.node(&Value::str(key), true, true)?;
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(&Value::str(key), true, false)?;
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, true, false)?;
        }
        self.pop_indent();
        Ok(())
    }

    fn empty_flow(&mut self, open: &str, close: &str) -> Result<(), String> {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
        Ok(())
    }

    fn scalar(&mut self, value: &str, requested: Style, tag: Option<&str>) {
        let a = analyze(value);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        // (Everything is in block context: only empty collections are flow, `[]` and `{}`.)
        if style == Style::Plain
            && (!a.block_plain || (value.is_empty() && self.simple_key_context))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || self.simple_key_context) {
            style = Style::Double;
        }
        if let Some(tag) = tag {
            self.write_indicator(tag, true, false, false);
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match c {
                    '\0' => Some('0'),
                    '\x07' => Some('a'),
                    '\x08' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\x0b' => Some('v'),
                    '\x0c' => Some('f'),
                    '\r' => Some('r'),
                    '\x1b' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match short {
                    Some(s) => self.put(s),
                    None => {
                        let v = c as u32;
                        let (mark, width) = match v {
                            0..=0xff => ('x', 2),
                            0x100..=0xffff => ('u', 4),
                            _ => ('U', 8),
                        };
                        self.put(mark);
                        format!("{v:0width$X}").chars().for_each(|d| self.put(d));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent();
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., prev, _] if is_break(*prev) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}
