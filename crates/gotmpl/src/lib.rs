//! A Go `text/template` engine, byte-exact to Go: lexer, parser, executor, Go's builtins and
//! Go's `fmt` printing. Pure: no I/O and no Consul; functions are closures given a per-execution
//! context.

pub mod exec;
pub mod fmt;
pub mod funcs;
pub mod gostr;
mod json;
pub mod lex;
pub mod memo;
pub mod node;
pub mod parse;
pub mod value;

/// The old name of [`fmt`](self::fmt), kept so that `gotmpl::printf::…` paths still work.
pub use self::fmt as printf;

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub use exec::ExecError;
pub use funcs::FuncMap;
pub use gostr::{GoStr, GoString, Sink};
pub use memo::{same_value, FastHash, FastHasher, Input, Memo, MemoStats, Purity};
pub use parse::{ParseError, Tree};
pub use value::{
    can_be_nil, Arity, Ctx, Func, FuncError, JsonField, Kind, Object, Params, Record, RecordType,
    SortedMap, Typed, Value, INTERFACE,
};

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
    /// Which parse of which set this is, for the memo's keys: every `parse` takes a new one,
    /// so recordings made with the old trees never match the new.
    id: u64,
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
        self.id = next_template_id();
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

    pub(crate) fn id(&self) -> u64 {
        self.id
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

    /// Executes the named template as `execute_template` does, reusing the output of `range`
    /// iterations recorded in `memo` by earlier executions when everything they read is the
    /// same (see `memo`), and recording this execution's. The output is the same byte for byte.
    pub fn execute_memo(
        &self,
        name: &str,
        out: &mut Vec<u8>,
        data: &Value,
        user: Option<&mut (dyn Any + Send)>,
        memo: &mut Memo,
    ) -> Result<(), ExecError> {
        memo.begin();
        exec::execute(self, name, out, data, &mut Ctx::with_memo(user, memo))
    }

    /// Executes the named template from inside a function, with that function's context: the
    /// nesting depth carries on from the caller's, so that a template executing itself (as
    /// consul-template's `executeTemplate` allows) stops at Go's limit of 100,000 with Go's
    /// `exceeded maximum template depth (100000)` instead of exhausting the stack.
    pub fn execute_nested(
        &self,
        name: &str,
        out: &mut Vec<u8>,
        data: &Value,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ExecError> {
        exec::execute_nested(self, name, out, data, ctx)
    }
}

/// A fresh id for a parsed template set (never 0, which an unparsed set has).
fn next_template_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A tag list with Go-style methods, as consul-template's `ServiceTags`.
    #[derive(Debug)]
    struct Tags(Vec<&'static str>);

    impl Object for Tags {
        fn type_name(&self) -> &str {
            "dependency.ServiceTags"
        }
        fn underlying(&self) -> Value {
            Value::list(self.0.iter().map(|t| Value::str(t)).collect())
        }
        fn has_method(&self, name: &str) -> bool {
            name == "Contains"
        }
        fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
            (name == "Contains").then(|| match args {
                [Value::Str(s)] => Ok(Value::Bool(self.0.contains(&&**s))),
                _ => Err(FuncError("Contains takes one string".into())),
            })
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn render(
        t: &Template,
        data: &Value,
        user: Option<&mut (dyn std::any::Any + Send)>,
    ) -> Result<String, String> {
        let mut out = Vec::new();
        t.execute_template(t.name(), &mut out, data, user)
            .map_err(|e| e.0)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// A function that executes a template of its own set, as consul-template's
    /// `executeTemplate`: the set travels in the execution's context.
    fn execute_func() -> FuncMap {
        let mut funcs = FuncMap::new();
        funcs.insert(
            "exec",
            Func::new(Arity::Exact(1), |ctx, args| {
                let set: &mut Arc<Template> = ctx.user().ok_or("no template set")?;
                let set = set.clone();
                let mut out = Vec::new();
                let name = args[0].as_str().ok_or("a name")?.to_string();
                set.execute_nested(&name, &mut out, &Value::Missing, ctx)
                    .map_err(|e| FuncError(e.0))?;
                Ok(Value::from_bytes(&out))
            }),
        );
        funcs
    }

    fn run_with_set(text: &str) -> Result<String, String> {
        let mut t = Template::new("t").funcs(execute_func());
        t.parse(text).unwrap();
        let mut set = Arc::new(t);
        let t = set.clone();
        render(&t, &Value::Missing, Some(&mut set))
    }

    #[test]
    fn a_function_executing_templates_shares_gos_depth_limit() {
        assert_eq!(
            run_with_set(r#"{{define "a"}}A{{exec "b"}}{{end}}{{define "b"}}B{{end}}{{exec "a"}}"#)
                .unwrap(),
            "AB"
        );
        // Unbounded recursion through the function ends in Go's depth error, worded once at
        // the innermost call (not wrapped 100,000 times), on a 2 MiB test-thread stack.
        let err = run_with_set(r#"{{define "r"}}{{exec "r"}}{{end}}{{exec "r"}}"#).unwrap_err();
        assert_eq!(
            err,
            "template: t:1:16: executing \"r\" at <exec \"r\">: error calling exec: \
             exceeded maximum template depth (100000)"
        );
        // Mixed with `template`, the count is shared.
        let err = run_with_set(
            r#"{{define "r"}}{{template "s"}}{{end}}{{define "s"}}{{exec "r"}}{{end}}{{exec "r"}}"#,
        )
        .unwrap_err();
        assert!(
            err.ends_with("exceeded maximum template depth (100000)") && err.len() < 200,
            "{err}"
        );
    }

    #[test]
    fn records_methods_and_context_functions() {
        let ty = RecordType::new("*dependency.HealthService", &["Name", "Port", "Tags"]);
        let svc = Record::new(
            &ty,
            vec![
                Value::str("web"),
                Value::Int(80),
                Value::Object(Arc::new(Tags(vec!["http", "v1"]))),
            ],
        );
        let mut funcs = FuncMap::new();
        // A function that records what it was asked for in the per-execution context.
        funcs.insert(
            "service",
            Func::new(Arity::Exact(1), move |ctx, args| {
                let asked: &mut Vec<String> = ctx.user().ok_or("no context")?;
                asked.push(args[0].to_string());
                Ok(Value::list(vec![svc.clone()]))
            }),
        );
        let text = r#"{{range service "web"}}{{.Name}}:{{.Port}} {{.Tags}} {{.Tags.Contains "http"}} {{.Tags.Contains "db"}}{{end}}"#;
        let mut t = Template::new("t").funcs(funcs.clone());
        t.parse(text).unwrap();
        let mut asked: Vec<String> = Vec::new();
        let out = render(&t, &Value::Missing, Some(&mut asked)).unwrap();
        assert_eq!(out, "web:80 [http v1] true false");
        assert_eq!(asked, ["web"]);

        // A record's missing field is an error; a map's missing key is <no value>.
        let mut t = Template::new("t").funcs(funcs);
        t.parse(r#"{{range service "web"}}{{.Nope}}{{end}}"#)
            .unwrap();
        let err = render(&t, &Value::Missing, Some(&mut asked)).unwrap_err();
        assert!(
            err.ends_with("can't evaluate field Nope in type *dependency.HealthService"),
            "{err}"
        );
        let mut t = Template::new("t");
        t.parse("{{.nope}}").unwrap();
        assert_eq!(
            render(&t, &Value::map([("a", Value::Int(1))]), None).unwrap(),
            "<no value>"
        );
    }
}
