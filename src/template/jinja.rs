//! Jinja templates (through the `minijinja` crate) with consul-template's whole function
//! library: a template whose source ends in `.j2` or `.jinja`, or whose config block says
//! `engine = "jinja"`.
//!
//! The library is not written twice: every function of [`template::function_map`] (the Go
//! engine's closures over `gotmpl::Value`s) is registered in minijinja through one bridge that
//! converts the arguments to Go values, calls the function inside a [`Scope`] (which records the
//! dependencies it uses, as a Go execution does) and converts the result back. The semantics,
//! query grammar and error wording are therefore exactly the Go engine's. Lists, maps, records
//! and objects with methods (a tag list's `.Contains`, `scratch()`) cross as [`GoObject`]s that
//! keep the Go value, so a value handed back to a function arrives unchanged and prints as Go
//! prints it. Each function is also a filter with the piped value as the LAST argument
//! (consul-template's pipe order: `x|f(a)` = `f(a, x)`), except where minijinja has a builtin
//! filter of that name (`join`, `split`, `trim`, …), which stays. No autoescaping: the output is
//! a config file, not HTML.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Rest, Value as J, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use crate::gotmpl::{Arity, Func, Value as G};
use crate::template::{self, Brain, Rendered, Scope, TemplateConfig};

/// Whether a template source is Jinja by its name (`.j2`, `.jinja`).
pub fn is_jinja_path(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("j2" | "jinja")
    )
}

/// minijinja's builtin filters keep their names; the consul-template function of the same
/// name is still there as a function.
const BUILTIN_FILTERS: &[&str] = &[
    "safe",
    "escape",
    "e",
    "lower",
    "upper",
    "title",
    "replace",
    "length",
    "count",
    "dictsort",
    "items",
    "reverse",
    "trim",
    "join",
    "split",
    "lines",
    "default",
    "d",
    "round",
    "abs",
    "int",
    "float",
    "attr",
    "first",
    "last",
    "min",
    "max",
    "sort",
    "list",
    "string",
    "bool",
    "batch",
    "slice",
    "sum",
    "indent",
    "select",
    "reject",
    "map",
    "groupby",
    "unique",
    "chain",
    "zip",
    "pprint",
    "format",
    "tojson",
    "urlencode",
];

/// The execution in progress, shared by every bridged function of one template.
type ScopeSlot = Arc<Mutex<Option<Scope>>>;

/// A parsed Jinja template with consul-template's functions.
pub struct JinjaTemplate {
    name: String,
    env: Environment<'static>,
    scope: ScopeSlot,
    sandbox: Option<PathBuf>,
    /// One execution at a time: the functions find it in `scope`.
    running: Mutex<()>,
}

impl JinjaTemplate {
    pub fn new(config: TemplateConfig) -> Result<JinjaTemplate, String> {
        let name = config.name.clone();
        let text = String::from_utf8(config.text.clone())
            .map_err(|_| format!("{name}: a Jinja template must be UTF-8"))?;
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        // Keeps the source with errors, so an undefined value's error can quote its expression.
        env.set_debug(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_formatter(format_value);
        env.set_undefined_behavior(if config.error_on_missing_key {
            UndefinedBehavior::Strict
        } else {
            UndefinedBehavior::Lenient
        });
        let scope: ScopeSlot = Arc::new(Mutex::new(None));
        for (fname, func) in template::function_map(&config).iter() {
            register(&mut env, fname, func, &scope);
        }
        env.add_template_owned(name.clone(), text)
            .map_err(|e| describe(&name, &e))?;
        Ok(JinjaTemplate {
            name,
            env,
            scope,
            sandbox: config.sandbox_path,
            running: Mutex::new(()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes once against `brain`: the output with what was used and what is missing.
    pub fn execute(&self, brain: Arc<Brain>) -> Result<Rendered, String> {
        let _one_at_a_time = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *lock(&self.scope) = Some(Scope::new(brain, self.sandbox.clone()));
        let result = self.env.get_template(&self.name).and_then(|t| t.render(()));
        let scope = lock(&self.scope).take().expect("the scope set above");
        let output = result.map_err(|e| describe(&self.name, &e))?;
        Ok(scope.finish(output.into_bytes()))
    }
}

/// Prints values as the Go engine would where the two differ: a bool as `true`/`false` (config
/// files want those, not Python's `True`), a float as Go's `%v` (`3`, not `3.0`: JSON numbers
/// are floats), everything else as minijinja does.
fn format_value(out: &mut Output<'_>, state: &State<'_, '_>, value: &J) -> Result<(), Error> {
    let write = |out: &mut Output<'_>, s: &str| {
        out.write_str(s)
            .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
    };
    if value.kind() == ValueKind::Bool {
        return write(out, if value.is_true() { "true" } else { "false" });
    }
    if value.kind() == ValueKind::Number && !value.is_integer() {
        if let Ok(x) = f64::try_from(value.clone()) {
            return write(out, &G::Float(x).to_go_string());
        }
    }
    minijinja::escape_formatter(out, state, value)
}

fn lock(slot: &ScopeSlot) -> std::sync::MutexGuard<'_, Option<Scope>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// `NAME:LINE: what` — the file and line of a parse or render error.
fn describe(name: &str, e: &Error) -> String {
    let file = e.name().unwrap_or(name);
    let mut what = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    // minijinja does not name what was undefined (`error_on_missing_key`): quote the expression.
    if e.kind() == ErrorKind::UndefinedError {
        if let Some(expr) = e.range().and_then(|r| e.template_source()?.get(r)) {
            what.push_str(&format!(" in `{expr}`"));
        }
    }
    let mut message = match e.line() {
        Some(line) => format!("{file}:{line}: {what}"),
        None => format!("{file}: {what}"),
    };
    // A function's error inside another (a filter in a call) is the cause.
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// Registers `func` as a function and, unless minijinja has that filter, as a filter.
fn register(env: &mut Environment<'static>, name: &str, func: &Func, scope: &ScopeSlot) {
    let (f, s, n) = (func.clone(), scope.clone(), name.to_string());
    env.add_function(name.to_string(), move |args: Rest<J>| {
        call(&s, &n, &f, &args)
    });
    if BUILTIN_FILTERS.contains(&name) {
        return;
    }
    let (f, s, n) = (func.clone(), scope.clone(), name.to_string());
    env.add_filter(name.to_string(), move |piped: J, args: Rest<J>| {
        let mut all = args.0;
        all.push(piped);
        call(&s, &n, &f, &all)
    });
}

/// Calls a Go-library function with minijinja arguments, inside the current execution.
fn call(scope: &ScopeSlot, name: &str, func: &Func, args: &[J]) -> Result<J, Error> {
    check_arity(name, func.arity, args.len())?;
    let args: Vec<G> = args.iter().map(to_go).collect();
    let mut slot = lock(scope);
    let scope = slot.as_mut().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{name}: called outside a render"),
        )
    })?;
    scope.call(func, &args).map(|v| from_go(&v)).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("error calling {name}: {e}"),
        )
    })
}

/// Go's argument-count message, checked before the call as Go's executor does.
fn check_arity(name: &str, arity: Arity, got: usize) -> Result<(), Error> {
    let ok = match arity {
        Arity::Exact(n) => got == n,
        Arity::AtLeast(n) => got >= n,
    };
    if ok {
        return Ok(());
    }
    let want = match arity {
        Arity::Exact(n) => n.to_string(),
        Arity::AtLeast(n) => format!("at least {n}"),
    };
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("wrong number of args for {name}: want {want} got {got}"),
    ))
}

/// A minijinja value as the Go library sees it.
fn to_go(v: &J) -> G {
    if let Some(go) = v.downcast_object_ref::<GoObject>() {
        return go.0.clone();
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::Invalid => G::Missing,
        ValueKind::None => G::Nil,
        ValueKind::Bool => G::Bool(v.is_true()),
        ValueKind::Number => number_to_go(v),
        ValueKind::String => G::str(v.as_str().unwrap_or_default()),
        ValueKind::Bytes => G::from_bytes(v.as_bytes().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
            Ok(items) => G::list(items.map(|i| to_go(&i)).collect()),
            Err(_) => G::str(&v.to_string()),
        },
        ValueKind::Map => match v.try_iter() {
            Ok(keys) => G::map(
                keys.map(|k| {
                    let item = v.get_item(&k).unwrap_or_default();
                    let key = k.as_str().map(str::to_string).unwrap_or(k.to_string());
                    (key, to_go(&item))
                })
                .collect::<Vec<_>>(),
            ),
            Err(_) => G::str(&v.to_string()),
        },
        _ => G::str(&v.to_string()),
    }
}

fn number_to_go(v: &J) -> G {
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return G::Int(i);
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return G::Uint(u);
        }
    }
    G::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN))
}

/// A Go value as a minijinja value: scalars become minijinja's own, the rest stay Go values.
fn from_go(v: &G) -> J {
    match v {
        G::Missing => J::UNDEFINED,
        G::Nil => J::from(()),
        G::Bool(b) => J::from(*b),
        G::Int(i) => J::from(*i),
        G::Uint(u) => J::from(*u),
        G::Float(x) => J::from(*x),
        G::Byte(b) => J::from(*b),
        G::Str(s) => J::from(&**s),
        G::Bytes(b) => J::from(String::from_utf8_lossy(b).into_owned()),
        G::Complex(..) | G::List(_) | G::Map(_) | G::Record(_) | G::Object(_) | G::Func(_) => {
            J::from_object(GoObject(v.clone()))
        }
    }
}

/// A Go list, map, record (a Go struct: `inst.Address`, `svc.Tags`) or object with methods, as
/// minijinja sees it: indexable and iterable like a list or a map, printed as Go prints it.
#[derive(Debug)]
pub struct GoObject(G);

impl GoObject {
    /// What indexing and iteration see: an object's underlying value, the rest as they are.
    fn shape(&self) -> G {
        self.0.resolved()
    }
}

impl Object for GoObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.shape() {
            G::List(_) => ObjectRepr::Seq,
            G::Map(_) | G::Record(_) => ObjectRepr::Map,
            _ => ObjectRepr::Plain,
        }
    }

    fn get_value(self: &Arc<Self>, key: &J) -> Option<J> {
        match self.shape() {
            G::List(items) => items.get(key.as_usize()?).map(from_go),
            G::Map(m) => m.get(key.as_str()?).map(from_go),
            G::Record(r) => r.field(key.as_str()?).map(from_go),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.shape() {
            G::List(items) => Enumerator::Seq(items.len()),
            G::Map(m) => Enumerator::Values(m.keys().map(|k| J::from(&**k)).collect()),
            G::Record(r) => {
                Enumerator::Values(r.ty.fields.iter().map(|f| J::from(f.as_str())).collect())
            }
            _ => Enumerator::NonEnumerable,
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.0.truth()
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[J]) -> Result<J, Error> {
        let G::Func(f) = &self.0 else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{} is not callable", self.0.type_name()),
            ));
        };
        let args: Vec<G> = args.iter().map(to_go).collect();
        f.call(&mut crate::gotmpl::Ctx::new(None), &args)
            .map(|v| from_go(&v))
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.0))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[J],
    ) -> Result<J, Error> {
        let G::Object(o) = &self.0 else {
            return Err(Error::from(ErrorKind::UnknownMethod));
        };
        let args: Vec<G> = args.iter().map(to_go).collect();
        match o.call_method(method, &args) {
            Some(result) => result.map(|v| from_go(&v)).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("error calling {method}: {e}"),
                )
            }),
            None => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("{} has no method {method}", o.type_name()),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_go_string())
    }
}

/// A template in either language, chosen per template.
pub enum AnyTemplate {
    Go(Box<template::Template>),
    Jinja(Box<JinjaTemplate>),
}

impl AnyTemplate {
    pub fn new(config: TemplateConfig, jinja: bool) -> Result<AnyTemplate, String> {
        if jinja {
            JinjaTemplate::new(config).map(|t| AnyTemplate::Jinja(Box::new(t)))
        } else {
            template::Template::new(config).map(|t| AnyTemplate::Go(Box::new(t)))
        }
    }

    pub fn name(&self) -> &str {
        match self {
            AnyTemplate::Go(t) => t.name(),
            AnyTemplate::Jinja(t) => t.name(),
        }
    }

    pub fn execute(&self, brain: Arc<Brain>) -> Result<Rendered, String> {
        match self {
            AnyTemplate::Go(t) => t.execute(brain),
            AnyTemplate::Jinja(t) => t.execute(brain),
        }
    }

    /// Hands an output the caller is done with back for the next execution (Go templates).
    pub fn recycle(&self, output: Vec<u8>) {
        if let AnyTemplate::Go(t) = self {
            t.recycle(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jinja(text: &str) -> JinjaTemplate {
        JinjaTemplate::new(TemplateConfig {
            name: "t.j2".into(),
            text: text.as_bytes().to_vec(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn every_go_function_is_a_jinja_function_and_filter() {
        let config = TemplateConfig::default();
        let names: Vec<String> = template::function_map(&config)
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        // consul-template's families, ctmpl's own and sprig's are all there to compare.
        for family in [
            "service",
            "keyOrDefault",
            "safeTree",
            "caLeaf",
            "secret",
            "sprig_dict",
        ] {
            assert!(names.iter().any(|n| n == family), "{family}");
        }
        let t = jinja("");
        for name in &names {
            let defined = t
                .env
                .render_str(&format!("{{{{ {name} is defined }}}}"), ())
                .unwrap();
            assert_eq!(defined, "true", "{name} as a function");
            // As a filter: called (and refused outside a render), not unknown.
            let as_filter = t.env.render_str(&format!("{{{{ 1 | {name} }}}}"), ());
            if let Err(e) = as_filter {
                assert_ne!(e.kind(), ErrorKind::UnknownFilter, "{name} as a filter");
            }
        }
    }

    #[test]
    fn builtin_filters_keep_minijinja_meaning() {
        let t = jinja("");
        // minijinja's `join` (items first), while the consul-template `join` is a function.
        assert_eq!(
            t.env.render_str("{{ ['a','b'] | join('-') }}", ()).unwrap(),
            "a-b"
        );
    }

    #[test]
    fn no_autoescape_even_for_an_html_name() {
        let t = JinjaTemplate::new(TemplateConfig {
            name: "page.html.j2".into(),
            text: b"{{ '<&>' }}".to_vec(),
            ..Default::default()
        })
        .unwrap();
        let out = t.execute(Arc::new(Brain::default())).unwrap();
        assert_eq!(out.output, b"<&>");
    }
}
