//! A Go `text/template` engine, byte-exact to Go: lexer, parser, executor, Go's builtins and
//! Go's `fmt` printing. Pure: no I/O and no Consul; functions are closures given a per-execution
//! context.

pub mod exec;
pub mod funcs;
pub mod gostr;
pub mod lex;
pub mod node;
pub mod parse;
pub mod printf;
pub mod value;

use std::any::Any;
use std::collections::HashMap;

pub use exec::ExecError;
pub use funcs::FuncMap;
pub use gostr::{GoStr, GoString, Sink};
pub use parse::{ParseError, Tree};
pub use value::{Arity, Ctx, Func, FuncError, Kind, Object, Record, RecordType, Value};

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `<no value>` when printed.
    #[default]
    Default,
    /// The zero value of the map's element type.
    Zero,
    /// An execution error.
    Error,
}

impl std::str::FromStr for MissingKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" | "invalid" => Ok(MissingKey::Default),
            "zero" => Ok(MissingKey::Zero),
            "error" => Ok(MissingKey::Error),
            _ => Err(format!("unrecognized option: missingkey={s}")),
        }
    }
}

/// A set of named templates parsed from one or more texts, like Go's `*template.Template`.
#[derive(Default)]
pub struct Template {
    name: String,
    trees: HashMap<String, Tree>,
    funcs: FuncMap,
    left: String,
    right: String,
    missing_key: MissingKey,
}

impl Template {
    pub fn new(name: &str) -> Template {
        Template {
            name: name.to_string(),
            ..Template::default()
        }
    }

    /// Functions the templates may call; set before parsing.
    pub fn funcs(mut self, funcs: FuncMap) -> Template {
        self.funcs = funcs;
        self
    }

    /// Action delimiters; empty means the default `{{` and `}}`.
    pub fn delims(mut self, left: &str, right: &str) -> Template {
        self.left = left.to_string();
        self.right = right.to_string();
        self
    }

    pub fn missing_key(mut self, option: MissingKey) -> Template {
        self.missing_key = option;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as the body of this template; `define`s and `block`s add named templates.
    /// As in Go, an empty body never replaces a template that already has one. The text is
    /// bytes (a `&str` will do): Go copies bytes that are not UTF-8 to the output as they are.
    pub fn parse(&mut self, text: impl AsRef<[u8]>) -> Result<(), ParseError> {
        let text = text.as_ref();
        let trees = parse::parse(&self.name, text, &self.left, &self.right, &self.funcs)?;
        for (name, tree) in trees {
            let empty = parse::is_empty_tree(&tree.root);
            if empty && self.trees.contains_key(&name) {
                continue;
            }
            self.trees.insert(name, tree);
        }
        Ok(())
    }

    pub(crate) fn tree(&self, name: &str) -> Option<&Tree> {
        self.trees.get(name)
    }

    /// Whether a template of that name has been defined.
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes this template with `data` as dot, appending to `out`. On an error, `out` holds
    /// what was written before it, as Go's writer would.
    pub fn execute(&self, out: &mut Vec<u8>, data: &Value) -> Result<(), ExecError> {
        exec::execute(self, &self.name, out, data, &mut Ctx::new(None))
    }

    /// Executes the named template, giving every function `user` as its context.
    pub fn execute_template(
        &self,
        name: &str,
        out: &mut Vec<u8>,
        data: &Value,
        user: Option<&mut (dyn Any + Send)>,
    ) -> Result<(), ExecError> {
        exec::execute(self, name, out, data, &mut Ctx::new(user))
    }
}
