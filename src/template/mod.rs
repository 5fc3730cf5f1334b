//! consul-template's template layer: a `Template` is a Go template with consul-template's
//! function library; executing it against the `Brain` (dependency → latest data) yields the
//! output and the dependencies it used and still misses. A Consul function records its
//! dependency and returns the data, or an empty value while it has not arrived.
//!
//! A template keeps a memo of its `range` iterations across executions (gotmpl's `memo`): a
//! Consul function reports the data it read ([`BrainRead`]), so an iteration whose data are the
//! same shared values as last time is written from the memo, and a change re-renders only what
//! it touched.

pub mod funcs;
pub mod jinja;
pub mod purity;
#[cfg(test)]
mod reuse_tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::dependency::Dep;
use crate::gotmpl::{
    self, Arity, Ctx, FastHash, Func, FuncError, FuncMap, Input, Memo, MissingKey, Typed, Value,
};

/// Latest data per dependency string. Cheap to clone (values are shared).
///
/// The data sit in numbered slots, found by key through `index`: a slot keeps its number while
/// its dependency is used, so the memo's reads ([`BrainRead`]) remember it and check it again
/// without hashing the key, and an execution marks what it used in a table of flags by number.
/// Those two hash lookups per reused iteration were a fifth of re-rendering ten thousand
/// services after one changed.
#[derive(Clone, Debug, Default)]
pub struct Brain {
    /// Keys are shared with the template layer's records of them (see [`KeyedDep`]), so a
    /// lookup by a key found here before compares memory it just read.
    index: HashMap<Arc<str>, usize, FastHash>,
    slots: Vec<(Arc<str>, Value)>,
    /// The dependencies templates use, once known (see [`Brain::retain`]): data of others is
    /// not remembered.
    wanted: Option<Arc<HashSet<String>>>,
}

/// No slot remembered (see [`Brain::slot_hinted`]).
const NO_SLOT: usize = usize::MAX;

impl Brain {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.slots[i].1)
    }

    /// The slot holding `key`'s data, if any.
    fn slot_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// [`Brain::slot_of`], trying `hint` (a slot found for `key` before) first, and keeping
    /// the slot found in it.
    fn slot_hinted(&self, key: &Arc<str>, hint: &AtomicUsize) -> Option<usize> {
        let at = hint.load(Ordering::Relaxed);
        if let Some((k, _)) = self.slots.get(at) {
            if Arc::ptr_eq(k, key) || **k == **key {
                return Some(at);
            }
        }
        let slot = self.slot_of(key);
        hint.store(slot.unwrap_or(NO_SLOT), Ordering::Relaxed);
        slot
    }

    fn value(&self, slot: usize) -> &Value {
        &self.slots[slot].1
    }

    /// Keeps `data` as the latest of `key`, unless no template uses `key` any more (an answer
    /// of a view stopped while it was on its way).
    pub fn remember(&mut self, key: String, data: Value) {
        if !self.wanted.as_ref().is_none_or(|w| w.contains(&key)) {
            return;
        }
        match self.index.get(key.as_str()) {
            Some(&i) => self.slots[i].1 = data,
            None => {
                let key: Arc<str> = key.into();
                self.index.insert(key.clone(), self.slots.len());
                self.slots.push((key, data));
            }
        }
    }

    /// Drops data of dependencies no template uses any more, and keeps out data that arrives
    /// for them later. Called when the set of dependencies changes.
    pub fn retain(&mut self, used: &HashSet<String>) {
        self.slots.retain(|(k, _)| used.contains(&**k));
        self.index = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        self.wanted = Some(Arc::new(used.clone()));
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// How a template is read.
#[derive(Clone, Debug, Default)]
pub struct TemplateConfig {
    /// The template's name in logs and the status (its source path, or its destination).
    pub name: String,
    /// consul-template's `Source()`, which leads every error: the source path, or
    /// `(dynamic)` for `contents` (see [`Template::new`]).
    pub source: String,
    pub text: Vec<u8>,
    pub left_delim: String,
    pub right_delim: String,
    /// `error_on_missing_key`: a missing map key is an error instead of `<no value>`.
    pub error_on_missing_key: bool,
    /// Functions refused at execution.
    pub function_denylist: Vec<String>,
    /// Where `file` may read from, if limited.
    pub sandbox_path: Option<PathBuf>,
    /// Environment variables the runner adds for `env` and friends.
    pub env: HashMap<String, String>,
}

/// A parsed template with its function library.
pub struct Template {
    inner: Arc<gotmpl::Template>,
    name: String,
    source: String,
    sandbox: Option<PathBuf>,
    /// What earlier executions leave to the next.
    reuse: Mutex<Reuse>,
}

/// Iterations recorded by earlier executions, the last one's output size (the next one is
/// likely alike: reserved at once, not grown) and its dependencies.
#[derive(Default)]
struct Reuse {
    memo: Memo,
    output_len: usize,
    /// The last execution's dependencies (see `RenderCtx::previous`).
    used: Arc<Vec<KeyedDep>>,
    /// An output buffer the runner is done with (see [`Template::recycle`]).
    spare: Vec<u8>,
}

/// One execution's result.
#[derive(Debug)]
pub struct Rendered {
    pub output: Vec<u8>,
    /// Every dependency the execution asked for, in first-use order: shared with the last
    /// execution's when they are the same.
    pub used: Arc<Vec<KeyedDep>>,
    /// Those without data yet: the output is incomplete and must not be written.
    pub missing: Vec<KeyedDep>,
}

/// A dependency with its key, worked out once and shared (cheap to clone): an execution that
/// reuses an iteration records its dependencies again without formatting their keys again.
#[derive(Clone, Debug)]
pub struct KeyedDep {
    key: Arc<str>,
    dep: Arc<Dep>,
}

impl KeyedDep {
    pub fn new(dep: Dep) -> KeyedDep {
        KeyedDep {
            key: dep.key().into(),
            dep: Arc::new(dep),
        }
    }

    /// The dependency's key (`Dep::key`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key, shared.
    pub fn shared_key(&self) -> &Arc<str> {
        &self.key
    }

    pub fn dep(&self) -> &Dep {
        &self.dep
    }
}

/// What a function sees of its execution.
struct RenderCtx {
    brain: Arc<Brain>,
    /// The last execution's dependencies: while this one uses the same in the same order, they
    /// are counted (`same`), not copied; a copy of each (two reference counts in memory not
    /// otherwise touched) was a tenth of re-rendering ten thousand services. `used` holds this
    /// execution's once it differs (`differs`).
    previous: Arc<Vec<KeyedDep>>,
    same: usize,
    differs: bool,
    used: Vec<KeyedDep>,
    /// Which of the brain's slots `used` holds already; `used_keys` the dependencies without
    /// a slot (no data yet). A dependency is always found the same way in one execution: the
    /// brain does not change during it.
    used_slots: Vec<bool>,
    used_keys: HashSet<Arc<str>, FastHash>,
    missing: Vec<KeyedDep>,
    missing_keys: HashSet<Arc<str>, FastHash>,
    scratch: Value,
    template: Arc<gotmpl::Template>,
    sandbox: Option<PathBuf>,
}

impl RenderCtx {
    fn new(brain: Arc<Brain>, template: Arc<gotmpl::Template>, sandbox: Option<PathBuf>) -> Self {
        RenderCtx {
            used_slots: vec![false; brain.len()],
            brain,
            previous: Arc::default(),
            same: 0,
            differs: false,
            used: Vec::new(),
            used_keys: HashSet::default(),
            missing: Vec::new(),
            missing_keys: HashSet::default(),
            scratch: funcs::new_scratch(),
            template,
            sandbox,
        }
    }

    /// Compares this execution's dependencies with `previous`, the last one's.
    fn after(mut self, previous: Arc<Vec<KeyedDep>>) -> Self {
        self.previous = previous;
        self
    }

    /// The dependencies this execution used, in first-use order.
    fn take_used(&mut self) -> Arc<Vec<KeyedDep>> {
        if self.differs {
            Arc::new(std::mem::take(&mut self.used))
        } else if self.same == self.previous.len() {
            self.previous.clone()
        } else {
            Arc::new(self.previous[..self.same].to_vec())
        }
    }

    /// `dep` with its key, sharing the brain's copy of the key when it has one.
    fn keyed(&self, dep: Dep) -> KeyedDep {
        let key = dep.key();
        let key = match self.brain.index.get_key_value(key.as_str()) {
            Some((shared, _)) => shared.clone(),
            None => key.into(),
        };
        KeyedDep {
            key,
            dep: Arc::new(dep),
        }
    }

    /// Records `dep` as used; its data, or `None` (and recorded missing) if none yet.
    fn lookup(&mut self, dep: &KeyedDep) -> Option<Value> {
        let slot = self.brain.slot_of(dep.key());
        self.note_used(dep, slot);
        match slot {
            Some(slot) => Some(self.brain.value(slot).clone()),
            None => {
                self.mark_missing(dep);
                None
            }
        }
    }

    /// [`RenderCtx::lookup`] for the memo: whether the data are still `seen` (the same shared
    /// value), with the same effects, and without taking a reference to the data. `hint`: the
    /// slot this read found last time.
    fn still(&mut self, dep: &KeyedDep, seen: Option<&Value>, hint: &AtomicUsize) -> bool {
        let slot = self.brain.slot_hinted(dep.shared_key(), hint);
        self.note_used(dep, slot);
        let now = slot.map(|slot| self.brain.value(slot));
        match (now, seen) {
            (Some(now), Some(seen)) => gotmpl::same_value(now, seen),
            (None, seen) => {
                self.mark_missing(dep);
                seen.is_none()
            }
            (Some(_), None) => false,
        }
    }

    /// Adds `dep`, found in `slot` of the brain (`None`: not there), to what this execution
    /// used, once.
    fn note_used(&mut self, dep: &KeyedDep, slot: Option<usize>) {
        let first = match slot {
            Some(slot) => !std::mem::replace(&mut self.used_slots[slot], true),
            None => !self.used_keys.contains(dep.key()) && self.used_keys.insert(dep.key.clone()),
        };
        if !first {
            return;
        }
        if !self.differs {
            let next = self.previous.get(self.same);
            if next.is_some_and(|p| Arc::ptr_eq(&p.key, &dep.key)) {
                self.same += 1;
                return;
            }
            self.differs = true;
            self.used = Vec::with_capacity(self.previous.len());
            self.used.extend_from_slice(&self.previous[..self.same]);
        }
        self.used.push(dep.clone());
    }

    fn mark_missing(&mut self, dep: &KeyedDep) {
        if !self.missing_keys.contains(dep.key()) {
            self.missing_keys.insert(dep.key.clone());
            self.missing.push(dep.clone());
        }
    }
}

/// A function's read of the brain, as the memo checks it again before reusing an iteration:
/// the dependency, the data it found (`None`: none yet) and whether the function also kept the
/// template waiting (`safeLs` of an empty prefix).
struct BrainRead {
    dep: KeyedDep,
    seen: Option<Value>,
    kept_waiting: bool,
    /// The brain's slot for `dep` when last read (see [`Brain::slot_hinted`]).
    slot: AtomicUsize,
}

impl Input for BrainRead {
    fn reread(&self, ctx: &mut Ctx<'_>) -> bool {
        let Some(rc) = ctx.user::<RenderCtx>() else {
            return false;
        };
        let same = rc.still(&self.dep, self.seen.as_ref(), &self.slot);
        if same && self.kept_waiting {
            rc.mark_missing(&self.dep);
        }
        same
    }
}

/// Looks a function's dependency up: its data, or `None` before it arrives. Call
/// [`report_read`] once the function knows its effects.
fn read_dep(ctx: &mut Ctx<'_>, dep: &KeyedDep) -> Result<Option<Value>, FuncError> {
    Ok(render_ctx(ctx)?.lookup(dep))
}

/// Tells the memo what a function read (only while an iteration is being recorded).
fn report_read(ctx: &mut Ctx<'_>, dep: KeyedDep, seen: Option<Value>, kept_waiting: bool) {
    if ctx.recording() {
        ctx.note_input(Arc::new(BrainRead {
            dep,
            seen,
            kept_waiting,
            slot: AtomicUsize::new(NO_SLOT),
        }));
    }
}

fn render_ctx<'a>(ctx: &'a mut Ctx<'_>) -> Result<&'a mut RenderCtx, FuncError> {
    ctx.user::<RenderCtx>()
        .ok_or_else(|| FuncError("consul functions need a render context".into()))
}

impl Template {
    /// Parses the template as consul-template does: Go's template is named `""` (so Go's
    /// own text reads `template: :LINE: …` and `executing "" at <…>`), and the error is
    /// wrapped as `SOURCE: parse: …` (and `SOURCE: execute: …` by [`Template::execute`]).
    pub fn new(config: TemplateConfig) -> Result<Template, String> {
        let funcs = function_map(&config);
        // consul-template sets `missingkey=zero`: a missing key of a typed map is its zero.
        let option = if config.error_on_missing_key {
            MissingKey::Error
        } else {
            MissingKey::Zero
        };
        let source = if config.source.is_empty() {
            "(dynamic)".to_string()
        } else {
            config.source
        };
        let mut inner = gotmpl::Template::new("")
            .funcs(funcs)
            .delims(&config.left_delim, &config.right_delim)
            .missing_key(option);
        inner
            .parse(&config.text)
            .map_err(|e| format!("{source}: parse: {}", e.0))?;
        Ok(Template {
            inner: Arc::new(inner),
            name: config.name,
            source,
            sandbox: config.sandbox_path,
            reuse: Mutex::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the memo did over this template's executions.
    pub fn memo_stats(&self) -> gotmpl::MemoStats {
        self.reuse
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .memo
            .stats()
    }

    /// Executes once against `brain`: the output with what was used and what is missing.
    /// Iterations whose data did not change since an earlier execution are reused.
    pub fn execute(&self, brain: Arc<Brain>) -> Result<Rendered, String> {
        let mut reuse = self.reuse.lock().unwrap_or_else(|e| e.into_inner());
        let mut rc = RenderCtx::new(brain, self.inner.clone(), self.sandbox.clone())
            .after(reuse.used.clone());
        let mut output = std::mem::take(&mut reuse.spare);
        output.clear();
        output.reserve(reuse.output_len);
        let result = self.inner.execute_memo(
            self.inner.name(),
            &mut output,
            &Value::Missing,
            Some(&mut rc),
            &mut reuse.memo,
        );
        reuse.output_len = output.len();
        let used = rc.take_used();
        if result.is_ok() {
            reuse.used = used.clone();
        }
        drop(reuse);
        result.map_err(|e| format!("{}: execute: {}", self.source, e.0))?;
        Ok(Rendered {
            output,
            used,
            missing: rc.missing,
        })
    }

    /// Takes back an output the caller no longer needs, for the next execution to write into:
    /// a catalog's output is megabytes, and a fresh buffer of that size is fresh pages from
    /// the kernel (faulted in and zeroed) on every change. A buffer far larger than the last
    /// output is let go, so a template that shrank does not hold its old size.
    pub fn recycle(&self, mut output: Vec<u8>) {
        let mut reuse = self.reuse.lock().unwrap_or_else(|e| e.into_inner());
        let fits = output.capacity() <= 2 * reuse.output_len.max(4096);
        if fits && output.capacity() > reuse.spare.capacity() {
            output.clear();
            reuse.spare = output;
        }
    }
}

/// String arguments, as Go's `...string` parameters take them.
fn string_args<'a>(name: &str, args: &'a [Value]) -> Result<Vec<&'a str>, FuncError> {
    args.iter()
        .map(|a| {
            a.as_str().ok_or_else(|| {
                FuncError(format!(
                    "{name}: wrong type for value; expected string; got {}",
                    a.type_name()
                ))
            })
        })
        .collect()
}

/// An empty slice of a Consul function's Go result type, as it returns before data arrives.
fn empty_list(ty: &'static str) -> Value {
    Typed::list(ty, Vec::new())
}

/// Registers a Consul function: `dep` turns the arguments into a dependency (or `None`: nothing
/// to ask), `present` turns the data into the result, `empty` is the result before data.
fn consul_func(
    funcs: &mut FuncMap,
    name: &'static str,
    arity: Arity,
    dep: fn(&[&str]) -> Result<Option<Dep>, String>,
    empty: fn(&[&str]) -> Value,
    present: fn(Value, &[&str]) -> Value,
) {
    funcs.insert(
        name,
        Func::new(arity, move |ctx, args| {
            let args = string_args(name, args)?;
            let Some(d) = dep(&args).map_err(FuncError)? else {
                return Ok(empty(&args));
            };
            let d = render_ctx(ctx)?.keyed(d);
            let data = read_dep(ctx, &d)?;
            let result = match &data {
                Some(data) => present(data.clone(), &args),
                None => empty(&args),
            };
            report_read(ctx, d, data, false);
            Ok(result)
        }),
    );
}

fn first<'a>(args: &[&'a str]) -> &'a str {
    args.first().copied().unwrap_or("")
}

fn at_most_one(name: &str, args: &[&str]) -> Result<(), String> {
    if args.len() > 1 {
        return Err(format!(
            "{name}: wrong number of arguments, expected 0 or 1, but got {}",
            args.len()
        ));
    }
    Ok(())
}

fn as_is(data: Value, _: &[&str]) -> Value {
    data
}

fn register_consul(funcs: &mut FuncMap) {
    consul_func(
        funcs,
        "service",
        Arity::AtLeast(0),
        |a| {
            if first(a).is_empty() {
                Ok(None)
            } else {
                Dep::health_service(a).map(Some)
            }
        },
        |_| empty_list("[]*dependency.HealthService"),
        as_is,
    );
    consul_func(
        funcs,
        "services",
        Arity::AtLeast(0),
        |a| {
            at_most_one("services", a)?;
            Dep::catalog_services(first(a)).map(Some)
        },
        |_| empty_list("[]*dependency.CatalogSnippet"),
        as_is,
    );
    consul_func(
        funcs,
        "node",
        Arity::AtLeast(0),
        |a| {
            at_most_one("node", a)?;
            Dep::catalog_node(first(a)).map(Some)
        },
        |_| Value::Nil,
        as_is,
    );
    consul_func(
        funcs,
        "nodes",
        Arity::AtLeast(0),
        |a| {
            at_most_one("nodes", a)?;
            Dep::catalog_nodes(first(a)).map(Some)
        },
        |_| empty_list("[]*dependency.Node"),
        as_is,
    );
    consul_func(
        funcs,
        "key",
        Arity::Exact(1),
        |a| {
            if first(a).is_empty() {
                Ok(None)
            } else {
                Dep::kv(first(a), true).map(Some)
            }
        },
        |_| Value::str(""),
        as_is,
    );
    consul_func(
        funcs,
        "keyExists",
        Arity::Exact(1),
        |a| {
            if first(a).is_empty() {
                Ok(None)
            } else {
                Dep::kv(first(a), false).map(Some)
            }
        },
        |_| Value::Bool(false),
        |data, _| Value::Bool(!matches!(data, Value::Nil)),
    );
    consul_func(
        funcs,
        "keyOrDefault",
        Arity::Exact(2),
        |a| {
            if first(a).is_empty() {
                Ok(None)
            } else {
                Dep::kv(first(a), false).map(Some)
            }
        },
        |a| Value::str(a.get(1).copied().unwrap_or("")),
        |data, a| match data {
            Value::Nil => Value::str(a[1]),
            v if v.as_bytes().is_some_and(<[u8]>::is_empty) => Value::str(a[1]),
            v => v,
        },
    );
    for (name, safe, direct_children) in [
        ("ls", false, true),
        ("safeLs", true, true),
        ("tree", false, false),
        ("safeTree", true, false),
    ] {
        funcs.insert(
            name,
            Func::new(Arity::Exact(1), move |ctx, args| {
                let args = string_args(name, args)?;
                const TYPE: &str = "[]*dependency.KeyPair";
                // consul-template answers `""` with an empty list and asks nothing.
                if first(&args).is_empty() {
                    return Ok(empty_list(TYPE));
                }
                let dep = Dep::kv_list(first(&args), safe).map_err(FuncError)?;
                let dep = render_ctx(ctx)?.keyed(dep);
                let data = read_dep(ctx, &dep)?;
                let Some(Value::List(pairs)) = data.as_ref().map(Value::resolved) else {
                    report_read(ctx, dep, data, false);
                    return Ok(empty_list(TYPE));
                };
                let kept: Vec<Value> = pairs
                    .iter()
                    .filter(|p| keep_pair(p, direct_children))
                    .cloned()
                    .collect();
                // An empty prefix keeps a `safe` template from being written.
                let waiting = safe && kept.is_empty();
                if waiting {
                    render_ctx(ctx)?.mark_missing(&dep);
                }
                report_read(ctx, dep, data, waiting);
                Ok(Typed::list(TYPE, kept))
            }),
        );
    }
    funcs.insert(
        "datacenters",
        Func::new(Arity::AtLeast(0), |ctx, args| {
            if args.len() > 1 {
                return Err(FuncError(format!(
                    "datacenters: wrong number of arguments, expected 0 or 1, but got {}",
                    args.len()
                )));
            }
            let dep = render_ctx(ctx)?.keyed(Dep::Datacenters);
            let data = read_dep(ctx, &dep)?;
            let result = data.clone().unwrap_or_else(|| empty_list("[]string"));
            report_read(ctx, dep, data, false);
            Ok(result)
        }),
    );
}

/// The Go parameter types of the Consul functions (consul-template's `funcs.go`): the
/// executor checks arguments against them as Go does (`datacenters "x"`: `expected bool`).
fn declare_consul_params(funcs: &mut FuncMap) {
    const S: &str = "string";
    for name in ["service", "services", "node", "nodes"] {
        funcs.set_params(name, &[], Some(S));
    }
    for name in [
        "key",
        "keyExists",
        "ls",
        "safeLs",
        "tree",
        "safeTree",
        "file",
    ] {
        funcs.set_params(name, &[S], None);
    }
    funcs.set_params("keyOrDefault", &[S, S], None);
    funcs.set_params("datacenters", &[], Some("bool"));
}

/// `ls` keeps direct children (no `/` in the relative key); `tree` drops folder markers.
fn keep_pair(pair: &Value, direct_children: bool) -> bool {
    let Value::Record(r) = pair else { return false };
    let key = r.field("Key").and_then(Value::as_str).unwrap_or("");
    if direct_children {
        !key.is_empty() && !key.contains('/')
    } else {
        !key.is_empty() && !key.ends_with('/')
    }
}

fn register_local(funcs: &mut FuncMap) {
    funcs.insert(
        "file",
        Func::new(Arity::Exact(1), |ctx, args| {
            let args = string_args("file", args)?;
            let path = first(&args).trim();
            if path.is_empty() {
                return Ok(Value::str(""));
            }
            check_sandbox(render_ctx(ctx)?.sandbox.as_deref(), path).map_err(FuncError)?;
            let dep = render_ctx(ctx)?.keyed(Dep::File(path.to_string()));
            let data = read_dep(ctx, &dep)?;
            let result = data.clone().unwrap_or_else(|| Value::str(""));
            report_read(ctx, dep, data, false);
            Ok(result)
        }),
    );
    funcs.insert(
        "scratch",
        Func::new(Arity::Exact(0), |ctx, _| {
            Ok(render_ctx(ctx)?.scratch.clone())
        }),
    );
    funcs.insert(
        "executeTemplate",
        Func::new(Arity::AtLeast(1), |ctx, args| {
            let name = args[0]
                .as_str()
                .ok_or_else(|| FuncError("executeTemplate: the name must be a string".into()))?;
            let data = match args.len() {
                1 => Value::Missing,
                2 => args[1].clone(),
                n => {
                    return Err(FuncError(format!(
                        "executeTemplate: wrong number of arguments, expected 1 or 2, but got {n}"
                    )))
                }
            };
            let template = render_ctx(ctx)?.template.clone();
            let mut out = Vec::new();
            template
                .execute_nested(name, &mut out, &data, ctx)
                .map_err(|e| FuncError(e.0))?;
            Ok(Value::from_bytes(&out))
        }),
    );
}

/// `sandbox_path`: `file` may only read below it (symlinks resolved).
fn check_sandbox(sandbox: Option<&Path>, path: &str) -> Result<(), String> {
    let Some(root) = sandbox else { return Ok(()) };
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    if resolved.starts_with(&root) {
        Ok(())
    } else {
        Err(format!("'{path}' is outside of allowed file sandbox"))
    }
}

/// Vault, Nomad and Connect functions: defined, so templates using them parse, but they fail
/// with a clear message instead of rendering nothing.
fn register_unsupported(funcs: &mut FuncMap) {
    let families: &[(&str, &[&str])] = &[
        ("Vault", &["secret", "secrets", "pkiCert"]),
        (
            "Nomad",
            &[
                "nomadServices",
                "nomadService",
                "nomadVar",
                "nomadVarExists",
                "nomadVarList",
                "nomadVarListSafe",
            ],
        ),
        ("Consul Connect", &["connect", "caRoots", "caLeaf"]),
        (
            "Consul Enterprise",
            &[
                "partitions",
                "peerings",
                "exportedServices",
                "importedServices",
            ],
        ),
    ];
    for (family, names) in families {
        for name in names.iter() {
            let message = format!("{name}: {family} functions are not supported by ctmpl");
            funcs.insert(
                name,
                Func::pure(Arity::AtLeast(0), move |_| Err(FuncError(message.clone()))),
            );
        }
    }
}

/// consul-template's whole function library for `config`, as [`Template::new`] registers it:
/// another engine (Jinja) calls these through a [`Scope`] so both engines share one library.
pub fn function_map(config: &TemplateConfig) -> FuncMap {
    let mut funcs = FuncMap::new();
    funcs::register(&mut funcs);
    funcs::register_env(&mut funcs, Arc::new(config.env.clone()));
    register_consul(&mut funcs);
    register_local(&mut funcs);
    declare_consul_params(&mut funcs);
    register_unsupported(&mut funcs);
    purity::declare(&mut funcs);
    deny_functions(&mut funcs, &config.function_denylist);
    funcs
}

/// consul-template's `function_denylist`: every defined function whose name matches one of the
/// patterns (ryanuber/go-glob: `*` matches any run of characters, nothing else is special) is
/// replaced by its `denied`, a `func(...string) (string, error)` that always fails. A pattern
/// matching no function defines nothing, so such a call stays a parse error as in Go.
fn deny_functions(funcs: &mut FuncMap, patterns: &[String]) {
    let denied: Vec<String> = funcs
        .iter()
        .map(|(name, _)| name)
        .filter(|name| patterns.iter().any(|p| go_glob(p, name)))
        .map(str::to_string)
        .collect();
    for name in denied {
        funcs.insert(
            &name,
            Func::pure(Arity::AtLeast(0), |args| {
                // Go checks the `...string` parameter before the call.
                if let Some(bad) = args.iter().find(|a| a.as_bytes().is_none()) {
                    let got = match bad {
                        Value::Missing | Value::Nil => "invalid value; expected string".to_string(),
                        v => format!(
                            "wrong type for value; expected string; got {}",
                            v.type_name()
                        ),
                    };
                    return Err(FuncError(got));
                }
                Err(FuncError("function is disabled".into()))
            }),
        );
    }
}

/// ryanuber/go-glob's `Glob`: `*` is the only wildcard; each middle part matches its first
/// occurrence after the previous one.
fn go_glob(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return subject == pattern;
    }
    let (leading, trailing) = (pattern.starts_with('*'), pattern.ends_with('*'));
    let end = parts.len() - 1;
    let mut rest = subject;
    for (i, part) in parts[..end].iter().enumerate() {
        let Some(idx) = rest.find(part) else {
            return false;
        };
        if i == 0 && !leading && idx != 0 {
            return false;
        }
        rest = &rest[idx + part.len()..];
    }
    trailing || rest.ends_with(parts[end])
}

/// One execution seen from outside the Go executor: calls functions of [`function_map`] with
/// the brain and records the dependencies they use, as [`Template::execute`] does.
pub struct Scope {
    rc: RenderCtx,
}

impl Scope {
    pub fn new(brain: Arc<Brain>, sandbox: Option<PathBuf>) -> Scope {
        // `executeTemplate` has no Go templates to find.
        let no_templates = Arc::new(gotmpl::Template::new(""));
        Scope {
            rc: RenderCtx::new(brain, no_templates, sandbox),
        }
    }

    pub fn call(&mut self, func: &Func, args: &[Value]) -> Result<Value, FuncError> {
        func.call(&mut Ctx::new(Some(&mut self.rc)), args)
    }

    /// The execution's result with `output`.
    pub fn finish(mut self, output: Vec<u8>) -> Rendered {
        Rendered {
            output,
            used: self.rc.take_used(),
            missing: self.rc.missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Template {
        Template::new(TemplateConfig {
            name: "t".into(),
            text: text.as_bytes().to_vec(),
            ..Default::default()
        })
        .unwrap()
    }

    /// The README's compatibility table names every function a template can call (each
    /// supported or deliberately refused there), so a function added without a row fails here.
    #[test]
    fn readme_compatibility_table_lists_every_function() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("### Compatibility")
            .expect("compatibility section");
        let end = start + readme[start..].find("\n### ").expect("section end");
        let table = &readme[start..end];
        let words: std::collections::HashSet<&str> = table
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        let funcs = function_map(&TemplateConfig::default());
        let missing: Vec<&str> = funcs
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !words.contains(name.strip_prefix("sprig_").unwrap_or(name)))
            .collect();
        assert!(missing.is_empty(), "not in the README's table: {missing:?}");
    }

    #[test]
    fn missing_data_is_recorded_and_empty_values_render() {
        let t = template(
            r#"{{range services}}{{.Name}}{{end}}[{{key "a/b"}}]{{keyOrDefault "x" "dflt"}}{{range service "web"}}x{{end}}"#,
        );
        let r = t.execute(Arc::new(Brain::default())).unwrap();
        assert_eq!(String::from_utf8(r.output).unwrap(), "[]dflt");
        let used: Vec<&str> = r.used.iter().map(KeyedDep::key).collect();
        assert_eq!(
            used,
            [
                "catalog.services",
                "kv.block(a/b)",
                "kv.get(x)",
                "health.service(web|passing)"
            ]
        );
        assert_eq!(r.missing.len(), 4);
    }

    #[test]
    fn data_in_the_brain_is_used() {
        let t = template(r#"[{{key "a/b"}}] {{keyExists "gone"}} {{keyOrDefault "empty" "d"}}"#);
        let mut brain = Brain::default();
        brain.remember("kv.block(a/b)".into(), Value::str("v"));
        brain.remember("kv.get(gone)".into(), Value::Nil);
        brain.remember("kv.get(empty)".into(), Value::str(""));
        let r = t.execute(Arc::new(brain)).unwrap();
        assert_eq!(String::from_utf8(r.output).unwrap(), "[v] false d");
        assert!(r.missing.is_empty());
    }

    #[test]
    fn empty_prefixes_ask_nothing() {
        let t = template(r#"{{ls ""}}{{tree ""}}{{safeLs ""}}{{safeTree ""}}"#);
        let r = t.execute(Arc::new(Brain::default())).unwrap();
        assert_eq!(String::from_utf8(r.output).unwrap(), "[][][][]");
        assert!(r.used.is_empty() && r.missing.is_empty(), "{:?}", r.used);
    }

    #[test]
    fn errors_lead_with_the_source_as_consul_template_words_them() {
        let parse = |source: &str, text: &str| {
            Template::new(TemplateConfig {
                name: "shown".into(),
                source: source.into(),
                text: text.as_bytes().to_vec(),
                ..Default::default()
            })
            .err()
            .unwrap()
        };
        assert_eq!(
            parse("in.tmpl", "a\n{{ nope }}"),
            "in.tmpl: parse: template: :2: function \"nope\" not defined"
        );
        assert_eq!(
            parse("", "{{ end }}"),
            "(dynamic): parse: template: :1: unexpected {{end}}"
        );
        let t = template("x\n {{ index 1 2 }}");
        assert_eq!(t.name(), "t");
        assert_eq!(
            t.execute(Arc::new(Brain::default())).unwrap_err(),
            "(dynamic): execute: template: :2:4: executing \"\" at <index 1 2>: \
             error calling index: can't index item of type int"
        );
    }

    #[test]
    fn unsupported_families_fail_loudly() {
        let t = template(r#"{{with secret "kv/x"}}{{.Data}}{{end}}"#);
        let err = t.execute(Arc::new(Brain::default())).unwrap_err();
        assert!(
            err.contains("secret: Vault functions are not supported by ctmpl"),
            "{err}"
        );
    }

    #[test]
    fn bad_queries_name_the_argument() {
        let t = template(r#"{{service "web|sometimes"}}"#);
        let err = t.execute(Arc::new(Brain::default())).unwrap_err();
        assert!(
            err.contains("health.service: invalid filter: \"sometimes\" in \"web|sometimes\""),
            "{err}"
        );
    }

    fn denied_template(text: &str, denylist: &[&str]) -> Result<String, String> {
        let t = Template::new(TemplateConfig {
            name: "t".into(),
            text: text.as_bytes().to_vec(),
            function_denylist: denylist.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })?;
        let r = t.execute(Arc::new(Brain::default()))?;
        Ok(String::from_utf8(r.output).unwrap())
    }

    #[test]
    fn denylist_globs_refuse_matching_functions_at_execution() {
        let t = r#"{{ sprig_upper "a" }}"#;
        for list in [
            &["sprig_*"][..],
            &["*"],
            &["sprig_upper"],
            &["*_up*"],
            &["*upper"],
        ] {
            let err = denied_template(t, list).unwrap_err();
            assert!(
                err.contains("error calling sprig_upper: function is disabled"),
                "{list:?}: {err}"
            );
        }
        // Patterns that match other names leave it alone.
        for list in [
            &["sprig_"][..],
            &["upper"],
            &["*_lower"],
            &["sprig_upper_*"],
        ] {
            assert_eq!(denied_template(t, list).unwrap(), "A", "{list:?}");
        }
        assert_eq!(
            denied_template(r#"{{ toUpper "a" }}"#, &["sprig_*"]).unwrap(),
            "A"
        );
        // A denied function takes strings only, as consul-template's `denied(...string)`.
        let err = denied_template("{{ $x := 1 }}{{ sprig_add $x }}", &["sprig_a*"]).unwrap_err();
        assert!(err.contains("expected string; got int"), "{err}");
    }

    #[test]
    fn denying_an_unknown_name_defines_nothing() {
        let err = denied_template("{{ nosuch }}", &["nosuch"]).unwrap_err();
        assert!(err.contains(r#"function "nosuch" not defined"#), "{err}");
    }

    #[test]
    fn go_glob_matches_as_ryanuber_go_glob() {
        let cases = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abc", true),
            ("a*b*c", "abxbyc", true),
            ("a*b*c", "acb", false),
            ("*b*", "abc", true),
            ("b*", "abc", false),
            ("abc", "abc", true),
            ("ab", "abc", false),
            ("a?c", "abc", false),
        ];
        for (pattern, subject, want) in cases {
            assert_eq!(go_glob(pattern, subject), want, "{pattern:?} {subject:?}");
        }
    }
}
