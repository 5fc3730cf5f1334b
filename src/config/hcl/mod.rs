//! HCL v1 (github.com/hashicorp/hcl 1.x) and JSON config text → a [`Tree`].
//!
//! The parser is our own because consul-template reads HCL **v1**, and the hcl-rs crate reads
//! HCL2: there `perms = 0600` is the decimal 600 (HCL1: the octal 0o600 = 384), and HCL1's
//! other rules (repeatable blocks, `key = value` pairs without separators, heredoc
//! unindentation, block labels nesting as objects) differ too. Every syntax rule was checked
//! against the Go library (Debian's `golang-github-hashicorp-hcl-dev`) decoding into
//! `interface{}`; the tests carry its answers. Where we deliberately differ, the item says so.
//!
//! `lexer` turns text into tokens, `parser` tokens into the tree, `json` reads JSON documents
//! into the same tree. Keys carry their position inside the config module so that decoding
//! errors can point at a line; the public [`Hcl`] drops them.

mod json;
mod lexer;
mod parser;

use super::Result;

/// A parsed HCL/JSON document. `K` is the object key: `String` for the public [`Hcl`]; inside
/// the config module keys also carry their position, so that errors can point at a line.
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
pub(super) struct Key {
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) col: usize,
}

/// A tree whose keys know where they were written.
pub(super) type Node = Tree<Key>;

impl Node {
    /// Drops the positions.
    pub(super) fn strip(&self) -> Hcl {
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
    pub(super) fn describe(&self) -> String {
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
    Ok(Tree::Object(parser::hcl_entries(name, text)?).strip())
}

/// Parses a JSON document (an object at the top) into the same tree.
pub fn parse_json(name: &str, text: &str) -> Result<Hcl> {
    Ok(Tree::Object(json::json_entries(name, text)?).strip())
}

/// Parses either syntax, chosen as HCL1 chooses: JSON when the first non-space character is `{`.
pub fn parse_any(name: &str, text: &str) -> Result<Hcl> {
    Ok(Tree::Object(entries(name, text)?).strip())
}

/// The top-level entries of either syntax (see [`parse_any`]), keys with their positions.
pub(super) fn entries(name: &str, text: &str) -> Result<Vec<(Key, Node)>> {
    // A UTF-8 byte-order mark is not whitespace to Go's HCL (it fails); we just skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        json::json_entries(name, text)
    } else {
        parser::hcl_entries(name, text)
    }
}
