//! HCL1's grammar over the lexer's tokens: object lists whose items need no separator,
//! `key = value`, `key { … }`, labelled blocks (`a "b" { }` nests as `a { b { } }`), lists with
//! optional trailing commas. Nesting is bounded so that hostile input cannot exhaust the stack.

use std::fmt;

use super::lexer::{Lexer, Pos, Tok};
use super::{Key, Node, Tree};
use crate::config::{ConfigError, Result};

/// Blocks and lists nested deeper than this are refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    lx: Lexer<'a>,
    peeked: Option<(Pos, Tok)>,
    depth: usize,
}

pub(super) fn hcl_entries(file: &str, text: &str) -> Result<Vec<(Key, Node)>> {
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

pub(super) fn key_at(name: String, pos: Pos) -> Key {
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
