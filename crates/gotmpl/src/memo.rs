//! Reusing a `range` iteration's output from one execution in the next, so that re-rendering a
//! catalog after one service changed costs that service, not the catalog.
//!
//! An iteration's output follows from what its body reads: its dot, the variables declared
//! outside it, the results of its functions and whatever those read besides their arguments
//! (consul-template's brain). Data are shared (`Arc`s), so "the same as last time" is pointer
//! identity, checked in constant time. An iteration is recorded with all of that; the next
//! execution that reaches the same `range` with the same dot re-checks each read and, when all
//! still hold, writes the recorded bytes instead of walking the body.
//!
//! What makes a recording unusable ("tainted"): a call of a [`Purity::Volatile`] function (the
//! clock, the environment, randomness, files, a scratch pad, a file written), a method of an
//! object that does not declare its methods pure, and an assignment to a variable declared
//! outside the body (an effect the next execution would miss). Two more rules keep mutable
//! objects out: an entry is never reused in the execution that recorded it (a `sprig_dict`
//! changed in between would not show), and objects made during an execution are new `Arc`s in
//! the next, so a read that saw one never matches again. Errors are never recorded.
//!
//! Finding an iteration's entry: each `range` node keeps the entries its iterations used last
//! time, in order, and the next execution first tries the one after the last match. A catalog
//! of ten thousand services re-rendered after one changed then walks that list in order instead
//! of probing a hash table per iteration: the probes' cache misses were a third of the change's
//! execution time (profile at 10,000 services). The hash table stays for everything else
//! (items inserted, removed or reordered), and re-synchronises the walk.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::value::{Ctx, Value};

/// Whether a call's result and effects follow from its arguments alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Purity {
    /// Hidden inputs (clock, environment, randomness, files, network) or effects beyond the
    /// result (a scratch pad, a file written): a body calling it is never reused. The default:
    /// a function is only trusted once declared pure.
    #[default]
    Volatile,
    /// Depends on its arguments only, or reports whatever else it reads with
    /// [`Ctx::note_input`] so that the memo can check it again.
    Pure,
}

/// Something a function read besides its arguments (consul-template: a dependency's data).
pub trait Input: Send + Sync {
    /// Reads it again as the function did, with the same effects on the caller's context
    /// (recording the dependency as used): whether it still reads the same.
    fn reread(&self, ctx: &mut Ctx<'_>) -> bool;
}

/// Whether two values are the same for reuse: the same shared data (pointer identity) or
/// equal scalars and strings. Cheap: it never walks into lists, maps or records.
pub fn same_value(a: &Value, b: &Value) -> bool {
    fn same_ptr<T: ?Sized, U: ?Sized>(a: &Arc<T>, b: &Arc<U>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }
    match (a, b) {
        (Value::Missing, Value::Missing) | (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Byte(x), Value::Byte(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Complex(a, b), Value::Complex(c, d)) => {
            (a.to_bits(), b.to_bits()) == (c.to_bits(), d.to_bits())
        }
        (Value::Str(x), Value::Str(y)) => same_ptr(x, y) || x == y,
        (Value::Bytes(x), Value::Bytes(y)) => same_ptr(x, y) || x == y,
        (Value::List(x), Value::List(y)) => same_ptr(x, y),
        (Value::Map(x), Value::Map(y)) => same_ptr(x, y),
        (Value::Record(x), Value::Record(y)) => same_ptr(x, y),
        (Value::Object(x), Value::Object(y)) => same_ptr(x, y),
        (Value::Func(x), Value::Func(y)) => x.same_as(y),
        _ => false,
    }
}

/// Where an iteration is: the template set (see `Template::id`), the `range` node, its dot's
/// identity and whether Go holds the dot in an `interface{}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    template: u64,
    node: usize,
    dot: u64,
    kind: u8,
}

impl Key {
    pub(crate) fn new(template: u64, node: usize, dot: &Value, boxed: bool) -> Key {
        let addr = |p: *const ()| p as usize as u64;
        let (kind, id) = match dot {
            Value::Missing => (0, 0),
            Value::Nil => (1, 0),
            Value::Bool(b) => (2, *b as u64),
            Value::Int(i) => (3, *i as u64),
            Value::Uint(u) => (4, *u),
            Value::Byte(b) => (5, *b as u64),
            Value::Float(f) => (6, f.to_bits()),
            Value::Str(s) => (7, addr(Arc::as_ptr(s) as *const ())),
            Value::Bytes(b) => (8, addr(Arc::as_ptr(b) as *const ())),
            Value::List(l) => (9, addr(Arc::as_ptr(l) as *const ())),
            Value::Map(m) => (10, addr(Arc::as_ptr(m) as *const ())),
            Value::Record(r) => (11, addr(Arc::as_ptr(r) as *const ())),
            Value::Object(o) => (12, addr(Arc::as_ptr(o) as *const ())),
            Value::Func(_) => (13, 0),
            // The key only narrows the search: `same_value` decides.
            Value::Complex(re, im) => (14, re.to_bits() ^ im.to_bits().rotate_left(32)),
        };
        Key {
            template,
            node,
            dot: id,
            kind: kind | (boxed as u8) << 7,
        }
    }
}

/// A variable declared outside a body that the body read: its slot in the variable stack, its
/// name (the parse tree's text, by address) and what it held.
#[derive(Clone)]
pub(crate) struct VarRead {
    pub(crate) slot: usize,
    pub(crate) name: usize,
    pub(crate) value: Value,
    pub(crate) boxed: bool,
}

/// How a recorded body ended: normally, or by `{{break}}` or `{{continue}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Normal,
    Break,
    Continue,
}

/// One recorded iteration.
pub(crate) struct Entry {
    pub(crate) key: Key,
    /// Where it was last used in its node's run of iterations (see [`Sequence`]).
    pub(crate) pos: AtomicUsize,
    /// The dot it ran with: kept so that its address (in the key) is not reused meanwhile.
    pub(crate) dot: Value,
    pub(crate) boxed: bool,
    pub(crate) output: Box<[u8]>,
    pub(crate) ending: Ending,
    pub(crate) vars: Vec<VarRead>,
    pub(crate) inputs: Inputs,
    /// The execution that recorded it: not reused in that same execution.
    pub(crate) recorded_in: u64,
    /// The last execution that recorded or reused it (see `Memo::begin`).
    pub(crate) used_in: AtomicU64,
}

/// What an entry's functions read. One read, the common case (`service .Name`), is held in
/// the entry itself: checking it then costs no trip to a separate allocation.
pub(crate) enum Inputs {
    One(Arc<dyn Input>),
    Many(Vec<Arc<dyn Input>>),
}

impl Inputs {
    pub(crate) fn new(inputs: Vec<Arc<dyn Input>>) -> Inputs {
        match <[_; 1]>::try_from(inputs) {
            Ok([one]) => Inputs::One(one),
            Err(many) => Inputs::Many(many),
        }
    }

    pub(crate) fn as_slice(&self) -> &[Arc<dyn Input>] {
        match self {
            Inputs::One(one) => std::slice::from_ref(one),
            Inputs::Many(many) => many,
        }
    }
}

/// An iteration being recorded: the executor's frame it runs in (a `template` call starts a
/// new one), the variable stack's height and the output's length where the body began, and
/// what it has read so far.
pub(crate) struct Recording {
    pub(crate) frame: usize,
    pub(crate) mark: usize,
    pub(crate) start: usize,
    pub(crate) vars: Vec<VarRead>,
    pub(crate) inputs: Vec<Arc<dyn Input>>,
    pub(crate) tainted: bool,
}

impl Recording {
    /// Takes in what a nested iteration read: every input, and the variables that are outside
    /// this body too (the same frame, below this body's mark).
    pub(crate) fn absorb(&mut self, frame: usize, vars: &[VarRead], inputs: &[Arc<dyn Input>]) {
        self.inputs.extend(inputs.iter().cloned());
        if frame == self.frame {
            let mark = self.mark;
            for v in vars.iter().filter(|v| v.slot < mark) {
                self.note_var(v.clone());
            }
        }
    }

    /// Notes a variable read once: a body cannot change an outer variable without being
    /// tainted, so its first value is its only one.
    pub(crate) fn note_var(&mut self, read: VarRead) {
        if !self.vars.iter().any(|v| v.slot == read.slot) {
            self.vars.push(read);
        }
    }
}

/// Counts of what the memo did, for tests and tuning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// Iterations whose recorded output was reused.
    pub reused: u64,
    /// Iterations walked and recorded.
    pub recorded: u64,
    /// Iterations walked whose recording was tainted (not kept).
    pub tainted: u64,
}

/// FxHash (rustc's hasher): a multiply per word. For keys the program makes itself (addresses,
/// ids, dependency keys), where SipHash's resistance to chosen keys buys nothing and its cost
/// shows when ten thousand iterations each look a few keys up.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

/// A `HashMap`/`HashSet` hasher builder for [`FastHasher`].
pub type FastHash = BuildHasherDefault<FastHasher>;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type Entries = HashMap<Key, Arc<Entry>, FastHash>;

/// The entries one `range` node's iterations used, in order. While an execution goes through
/// them as the last one did, it keeps them in place (`kept` so far; a walked iteration's new
/// recording replaces the old one at its place): an unchanged catalog costs no reference
/// counting here. Once it leaves that order (items inserted, removed, moved), what it kept
/// becomes `now`, the rest of the last order stays in `last` for lookups, and `now` grows.
#[derive(Default)]
struct Sequence {
    last: Vec<Arc<Entry>>,
    kept: usize,
    /// This execution's entries, once it left the last order; `None` before.
    now: Option<Vec<Arc<Entry>>>,
    /// Where in `last` the next lookup tries, once `now` exists; `offset`: how many entries
    /// `now` took from the front of `last` then (positions are this execution's).
    cursor: usize,
    offset: usize,
}

impl Sequence {
    /// The entry after the last one matched, if it is `key`'s.
    fn next_is(&self, key: &Key) -> Option<&Arc<Entry>> {
        let at = if self.now.is_some() {
            self.cursor
        } else {
            self.kept
        };
        self.last.get(at).filter(|e| e.key == *key)
    }

    /// Notes `entry` as this execution's next.
    fn follow(&mut self, entry: &Arc<Entry>) {
        if self.now.is_none() && self.keep_in_place(entry) {
            return;
        }
        let now = match &mut self.now {
            Some(now) => now,
            none => {
                let rest = self.last.split_off(self.kept);
                self.offset = self.kept;
                none.insert(std::mem::replace(&mut self.last, rest))
            }
        };
        // Resume the last order after `entry`, when it came from there.
        let was = entry.pos.swap(now.len(), Ordering::Relaxed);
        if let Some(at) = was.checked_sub(self.offset) {
            if self.last.get(at).is_some_and(|e| Arc::ptr_eq(e, entry)) {
                self.cursor = at + 1;
            }
        }
        now.push(entry.clone());
    }

    /// Takes `entry` as the next of the last order, in its place, when it stands for the same
    /// iteration (the same key): the same entry, or a new recording of it.
    fn keep_in_place(&mut self, entry: &Arc<Entry>) -> bool {
        let Some(place) = self.last.get_mut(self.kept).filter(|e| e.key == entry.key) else {
            return false;
        };
        if !Arc::ptr_eq(place, entry) {
            *place = entry.clone();
        }
        entry.pos.store(self.kept, Ordering::Relaxed);
        self.kept += 1;
        true
    }

    /// Makes this execution's order the last one.
    fn finish(&mut self) {
        match self.now.take() {
            Some(now) => self.last = now,
            None => self.last.truncate(self.kept),
        }
        self.kept = 0;
        self.cursor = 0;
        self.offset = 0;
    }
}

/// Recorded iterations of one template set, kept from one execution to the next. An entry
/// neither recorded nor reused by the last execution is dropped once such entries are half as
/// many as the live ones (the inner iterations of a reused outer one, replaced data): one map,
/// one lookup per iteration, and a sweep now and then.
#[derive(Default)]
pub struct Memo {
    entries: Entries,
    /// Each `range` node's entries in the order they were used (its place in `runs`).
    sequences: HashMap<(u64, usize), usize, FastHash>,
    runs: Vec<Sequence>,
    execution: u64,
    /// Entries recorded or reused by the current execution.
    touched: usize,
    stats: MemoStats,
}

impl Memo {
    pub fn new() -> Memo {
        Memo::default()
    }

    /// Starts an execution; sweeps out what the last one left untouched if that has grown to
    /// half of what it used.
    pub(crate) fn begin(&mut self) {
        if self.entries.len() > self.touched + self.touched / 2 + 1024 {
            let last = self.execution;
            self.entries
                .retain(|_, e| e.used_in.load(Ordering::Relaxed) >= last);
        }
        self.execution += 1;
        self.touched = 0;
        for run in &mut self.runs {
            run.finish();
        }
    }

    /// The run of `range` node `node` of template set `template` (for [`Memo::reusable`] and
    /// [`Memo::store`]): a lookup in a table of a few entries, one per `range` node.
    pub(crate) fn run_of(&mut self, template: u64, node: usize) -> usize {
        let runs = &mut self.runs;
        *self.sequences.entry((template, node)).or_insert_with(|| {
            runs.push(Sequence::default());
            runs.len() - 1
        })
    }

    pub(crate) fn execution(&self) -> u64 {
        self.execution
    }

    /// A recorded entry for `key` that this execution may reuse, if there is one: tried first
    /// where node `run`'s iterations went last time, then by key. The caller checks what it
    /// read, then calls [`Memo::reused`].
    pub(crate) fn reusable(&self, run: usize, key: &Key) -> Option<Arc<Entry>> {
        let e = match self.runs[run].next_is(key) {
            Some(e) => e,
            None => self.entries.get(key)?,
        };
        (e.recorded_in != self.execution).then(|| e.clone())
    }

    /// Notes that `entry`, from [`Memo::reusable`], was reused as node `run`'s next iteration.
    pub(crate) fn reused(&mut self, run: usize, entry: &Arc<Entry>) {
        if entry.used_in.swap(self.execution, Ordering::Relaxed) != self.execution {
            self.touched += 1;
        }
        self.runs[run].follow(entry);
        self.stats.reused += 1;
    }

    pub(crate) fn store(&mut self, run: usize, entry: Entry) {
        self.stats.recorded += 1;
        self.touched += 1;
        entry.used_in.store(self.execution, Ordering::Relaxed);
        let entry = Arc::new(entry);
        self.runs[run].follow(&entry);
        self.entries.insert(entry.key, entry);
    }

    pub(crate) fn count_taint(&mut self) {
        self.stats.tainted += 1;
    }

    /// What the memo has done since it was made.
    pub fn stats(&self) -> MemoStats {
        self.stats
    }

    /// Recorded iterations held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every recording.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.sequences.clear();
        self.runs.clear();
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("entries", &self.len())
            .field("stats", &self.stats)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::{Arity, Func, FuncMap, Object, Template};

    /// A counter object: `Get` reads it, and the pure-declared function `bump` adds one (as
    /// sprig's `set` changes a `dict` in place).
    #[derive(Debug, Default)]
    struct Counter(AtomicI64);

    impl Object for Counter {
        fn type_name(&self) -> &str {
            "counter"
        }
        fn underlying(&self) -> Value {
            Value::Int(self.0.load(Ordering::SeqCst))
        }
        fn has_method(&self, name: &str) -> bool {
            name == "Get"
        }
        fn call_method(&self, _: &str, _: &[Value]) -> Option<Result<Value, crate::FuncError>> {
            Some(Ok(self.underlying()))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn pure_methods(&self) -> bool {
            true
        }
    }

    fn funcs(calls: Arc<AtomicI64>) -> FuncMap {
        let mut funcs = FuncMap::new();
        let n = calls.clone();
        // Volatile: a hidden input (how often it was called).
        funcs.insert(
            "tick",
            Func::pure(Arity::Exact(0), move |_| {
                Ok(Value::Int(n.fetch_add(1, Ordering::SeqCst)))
            }),
        );
        funcs.insert(
            "double",
            Func::pure(Arity::Exact(1), move |a| match a[0] {
                Value::Int(i) => {
                    calls.fetch_add(1000, Ordering::SeqCst);
                    Ok(Value::Int(i * 2))
                }
                _ => Err("an int".into()),
            })
            .with_purity(Purity::Pure),
        );
        funcs.insert(
            "bump",
            Func::pure(Arity::Exact(1), |a| {
                if let Value::Object(o) = &a[0] {
                    if let Some(c) = o.as_any().downcast_ref::<Counter>() {
                        c.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Ok(Value::str(""))
            })
            .with_purity(Purity::Pure),
        );
        funcs
    }

    fn run(t: &Template, data: &Value, memo: &mut Memo) -> String {
        let mut out = Vec::new();
        t.execute_memo(t.name(), &mut out, data, None, memo)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn parsed(text: &str, calls: &Arc<AtomicI64>) -> Template {
        let mut t = Template::new("t").funcs(funcs(calls.clone()));
        t.parse(text).unwrap();
        t
    }

    #[test]
    fn pure_bodies_are_reused_and_volatile_ones_walked() {
        let calls = Arc::new(AtomicI64::new(0));
        let data = Value::list(vec![Value::Int(1), Value::Int(2)]);
        let mut memo = Memo::new();
        let pure = parsed("{{range .}}{{double .}},{{end}}", &calls);
        assert_eq!(run(&pure, &data, &mut memo), "2,4,");
        assert_eq!(run(&pure, &data, &mut memo), "2,4,");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2000,
            "the second run called nothing"
        );
        assert_eq!(memo.stats().reused, 2);

        let volatile = parsed("{{range .}}{{tick}},{{end}}", &calls);
        calls.store(0, Ordering::SeqCst);
        let mut memo = Memo::new();
        assert_eq!(run(&volatile, &data, &mut memo), "0,1,");
        assert_eq!(run(&volatile, &data, &mut memo), "2,3,");
        assert_eq!(memo.stats().reused, 0);
        assert_eq!(memo.stats().tainted, 4);
    }

    #[test]
    fn a_volatile_call_in_a_nested_body_taints_the_outer_one() {
        let calls = Arc::new(AtomicI64::new(0));
        let data = Value::list(vec![Value::list(vec![Value::Int(1)])]);
        let t = parsed("{{range .}}[{{range .}}{{tick}}{{end}}]{{end}}", &calls);
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "[0]");
        assert_eq!(run(&t, &data, &mut memo), "[1]");
    }

    #[test]
    fn an_entry_is_not_reused_in_the_execution_that_recorded_it() {
        // The same counter twice: between the two iterations `bump` changed it.
        let calls = Arc::new(AtomicI64::new(0));
        let counter = Value::Object(Arc::new(Counter::default()));
        let data = Value::list(vec![counter.clone(), counter.clone()]);
        let t = parsed("{{range .}}{{.Get}}{{bump .}},{{end}}", &calls);
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "0,1,");
    }

    #[test]
    fn outer_variables_read_are_checked_and_assignments_taint() {
        let calls = Arc::new(AtomicI64::new(0));
        let t = parsed(
            "{{$x := index $ 0}}{{range index $ 1}}{{$x}}{{.}};{{end}}|{{$n := 0}}{{range index $ 1}}{{$n = .}}{{end}}{{$n}}",
            &calls,
        );
        let items = Value::list(vec![Value::Int(1), Value::Int(2)]);
        let with = |x: &str| Value::list(vec![Value::str(x), items.clone()]);
        let mut memo = Memo::new();
        assert_eq!(run(&t, &with("a"), &mut memo), "a1;a2;|2");
        assert_eq!(run(&t, &with("b"), &mut memo), "b1;b2;|2");
        assert_eq!(run(&t, &with("b"), &mut memo), "b1;b2;|2");
        // The first range's two bodies were reused once; the assigning ones never.
        assert_eq!(memo.stats().reused, 2);
        assert_eq!(memo.stats().tainted, 6);
    }

    #[test]
    fn break_and_continue_are_replayed() {
        let calls = Arc::new(AtomicI64::new(0));
        let t = parsed(
            "{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}",
            &calls,
        );
        let data = Value::list((1..=5).map(Value::Int).collect());
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "13");
        assert_eq!(run(&t, &data, &mut memo), "13");
        assert_eq!(memo.stats().reused, 4);
    }

    /// An input that reads a shared cell, as a brain lookup reads the brain.
    struct Cell(Arc<Mutex<Value>>, Value);

    impl Input for Cell {
        fn reread(&self, _: &mut Ctx<'_>) -> bool {
            same_value(&self.0.lock().unwrap(), &self.1)
        }
    }

    /// `cell`: the cell's value, reported as an input.
    fn cell_funcs(cell: &Arc<Mutex<Value>>) -> FuncMap {
        let mut funcs = FuncMap::new();
        let shared = cell.clone();
        funcs.insert(
            "cell",
            Func::new(Arity::Exact(0), move |ctx, _| {
                let v = shared.lock().unwrap().clone();
                ctx.note_input(Arc::new(Cell(shared.clone(), v.clone())));
                Ok(v)
            })
            .with_purity(Purity::Pure),
        );
        funcs
    }

    #[test]
    fn reported_inputs_are_read_again() {
        let cell = Arc::new(Mutex::new(Value::str("one")));
        let mut t = Template::new("t").funcs(cell_funcs(&cell));
        t.parse("{{range .}}{{.}}={{cell}} {{end}}").unwrap();
        let data = Value::list(vec![Value::Int(1)]);
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "1=one ");
        assert_eq!(run(&t, &data, &mut memo), "1=one ");
        *cell.lock().unwrap() = Value::str("two");
        assert_eq!(run(&t, &data, &mut memo), "1=two ");
        assert_eq!(memo.stats().reused, 1);
    }

    #[test]
    fn iterations_are_found_in_order_after_an_insertion_and_out_of_order() {
        let calls = Arc::new(AtomicI64::new(0));
        let t = parsed("{{range .}}{{.}}{{end}}", &calls);
        let (a, b, c, x) = (
            Value::str("a"),
            Value::str("b"),
            Value::str("c"),
            Value::str("x"),
        );
        let list = |items: &[&Value]| Value::list(items.iter().map(|v| (*v).clone()).collect());
        let mut memo = Memo::new();
        assert_eq!(run(&t, &list(&[&a, &b, &c]), &mut memo), "abc");
        assert_eq!(run(&t, &list(&[&a, &x, &b, &c]), &mut memo), "axbc");
        assert_eq!(memo.stats().reused, 3);
        assert_eq!(run(&t, &list(&[&c, &b, &x, &a]), &mut memo), "cbxa");
        assert_eq!(memo.stats().reused, 7);
    }

    #[test]
    fn an_iteration_walked_again_is_reused_from_its_new_recording() {
        let cell = Arc::new(Mutex::new(Value::str("one")));
        let mut t = Template::new("t").funcs(cell_funcs(&cell));
        t.parse("{{range .}}{{if eq . 2}}{{cell}}{{else}}{{.}}{{end}} {{end}}")
            .unwrap();
        let data = Value::list((1..=3).map(Value::Int).collect());
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "1 one 3 ");
        *cell.lock().unwrap() = Value::str("two");
        assert_eq!(run(&t, &data, &mut memo), "1 two 3 ");
        assert_eq!(memo.stats().reused, 2);
        // The second iteration's new recording, not the outdated one, is found next time.
        assert_eq!(run(&t, &data, &mut memo), "1 two 3 ");
        assert_eq!(memo.stats().reused, 5);
        assert_eq!(memo.stats().recorded, 4);
    }

    #[test]
    fn recordings_nobody_reuses_are_dropped() {
        let calls = Arc::new(AtomicI64::new(0));
        let t = parsed("{{range .}}{{.}}{{end}}", &calls);
        let mut memo = Memo::new();
        // New strings every time: nothing is reused, everything recorded.
        for round in 0..10 {
            let items = (0..3000)
                .map(|i| Value::from(format!("{round}.{i}")))
                .collect();
            run(&t, &Value::list(items), &mut memo);
            assert!(memo.len() <= 3000 + 1500 + 1024 + 3000, "{}", memo.len());
        }
        assert_eq!(memo.stats().recorded, 30_000);
        assert_eq!(memo.stats().reused, 0);
    }

    #[test]
    fn a_new_parse_never_matches_old_recordings() {
        let calls = Arc::new(AtomicI64::new(0));
        let mut t = parsed("{{range .}}a{{end}}", &calls);
        let data = Value::list(vec![Value::Int(1)]);
        let mut memo = Memo::new();
        assert_eq!(run(&t, &data, &mut memo), "a");
        t.parse("{{range .}}b{{end}}").unwrap();
        assert_eq!(run(&t, &data, &mut memo), "b");
    }
}
