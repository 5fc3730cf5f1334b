//! The executor: walks a parsed template with data, as Go's `text/template/exec.go` does, with
//! Go's scoping, its value conversions at function boundaries and its error messages.

use std::sync::Arc;

use super::funcs::{Builtin, FuncRef, Param};
use super::memo::{Ending, Entry, Inputs, Key, Purity, Recording, VarRead};
use super::node::{Arg, Branch, Command, List, Node, Number, Pipe};
use super::parse::Tree;
use super::value::{can_be_nil, Arity, Ctx, Func, FuncError, Params, Unwind, Value, INTERFACE};
use super::{MissingKey, Template};
use crate::fmt;

/// Go's limit on nested template invocations.
pub const MAX_EXEC_DEPTH: usize = 100_000;

/// How much stack nested templates may use on the caller's thread, and on each fresh thread
/// (of `SEGMENT_STACK`, less the same margin) before moving on to another: a level is a few KiB
/// (tens in a debug build), so the margin leaves room for the deepest single level.
const CALLER_STACK_BUDGET: usize = 256 << 10;
const SEGMENT_STACK: usize = 64 << 20;

/// The address of a local: how deep this thread's stack is (stacks grow down).
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// An execution error, formatted as Go formats it:
/// `template: NAME:LINE:COL: executing "NAME" at <NODE>: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError(pub String);

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExecError {}

type Result<T> = std::result::Result<T, ExecError>;

/// The node an error is reported at (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    List(&'t List),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Arg(&'t Arg),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::None => 0,
            At::Node(n) => n.pos(),
            At::List(l) => l.pos,
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Arg(a) => a.pos(),
        }
    }

    fn context(&self) -> String {
        match self {
            At::None => String::new(),
            At::Node(n) => n.to_string(),
            At::List(l) => l.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Arg(a) => a.to_string(),
        }
    }
}

/// A value together with whether Go would hold it in an `interface{}` (it came out of a
/// generic list or map). Only error messages and nil checks on field access tell the difference.
#[derive(Clone)]
struct Dot {
    value: Value,
    boxed: bool,
}

impl Dot {
    fn plain(value: Value) -> Dot {
        Dot {
            value,
            boxed: false,
        }
    }

    /// An element of a list or map. Generic (JSON) containers hold `interface{}`s; records and
    /// objects only come from Go-typed data, whose containers hold them concretely.
    fn element(value: &Value) -> Dot {
        let boxed = !matches!(value, Value::Record(_) | Value::Object(_));
        Dot {
            value: value.clone(),
            boxed,
        }
    }
}

impl Dot {
    /// An element of `container`: boxed only when Go's container holds `interface {}`s (a
    /// `map[string]string` holds strings).
    fn element_of(container: &Value, value: &Value) -> Dot {
        match container {
            Value::Object(o) if !o.type_name().ends_with("]interface {}") => {
                Dot::plain(value.clone())
            }
            _ => Dot::element(value),
        }
    }
}

struct Var<'t> {
    name: &'t str,
    value: Dot,
}

/// What a walk tells its enclosing `range`.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The previous command's value in a pipeline, passed as the last argument (Go's `final`).
type Final = Option<Value>;

struct State<'t, 'o, 'c, 'u> {
    tmpl: &'t Template,
    tree: &'t Tree,
    out: &'o mut Vec<u8>,
    vars: Vec<Var<'t>>,
    depth: usize,
    /// This invocation's number: the memo tells its variables from its callers'.
    frame: usize,
    ctx: &'c mut Ctx<'u>,
    at: At<'t>,
}

/// Executes the template named `name` of `tmpl` with `data` as dot, appending to `out`.
pub fn execute(
    tmpl: &Template,
    name: &str,
    out: &mut Vec<u8>,
    data: &Value,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    execute_at(tmpl, name, out, data, ctx, 0)
}

/// Executes the template named `name` from a function called at `ctx.depth`, one level deeper,
/// so that Go's depth limit holds for a template that executes itself through a function.
pub fn execute_nested(
    tmpl: &Template,
    name: &str,
    out: &mut Vec<u8>,
    data: &Value,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    let depth = ctx.depth + 1;
    if depth > MAX_EXEC_DEPTH {
        ctx.unwind = Unwind::Raised;
        return Err(ExecError(format!(
            "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
        )));
    }
    execute_at(tmpl, name, out, data, ctx, depth)
}

fn execute_at(
    tmpl: &Template,
    name: &str,
    out: &mut Vec<u8>,
    data: &Value,
    ctx: &mut Ctx<'_>,
    depth: usize,
) -> Result<()> {
    let Some(tree) = tmpl.tree(name) else {
        return Err(ExecError(format!(
            "template: {name}: {} is an incomplete or empty template",
            fmt::quote(name)
        )));
    };
    let data = normalize(data.clone());
    let frame = ctx.new_frame();
    let mut state = State {
        tmpl,
        tree,
        out,
        vars: vec![Var {
            name: "$",
            value: Dot::plain(data.clone()),
        }],
        depth,
        frame,
        ctx,
        at: At::None,
    };
    state.walk_nested(&Dot::plain(data), &tree.root)
}

/// Go unwraps an `interface{}` at the end of each pipeline: a nil inside becomes invalid.
fn normalize(v: Value) -> Value {
    match v {
        Value::Nil => Value::Missing,
        v => v,
    }
}

impl<'t> State<'t, '_, '_, '_> {
    fn errorf(&self, msg: impl std::fmt::Display) -> ExecError {
        let name = fmt::quote(&self.tree.name);
        if let At::None = self.at {
            return ExecError(format!("template: {}: {msg}", self.tree.name));
        }
        let pos = self.at.pos();
        let text = &self.tree.text[..pos.min(self.tree.text.len())];
        let col = match text.iter().rposition(|&b| b == b'\n') {
            None => pos,
            Some(nl) => pos - (nl + 1),
        };
        let line = 1 + text.iter().filter(|&&b| b == b'\n').count();
        ExecError(format!(
            "template: {}:{line}:{col}: executing {name} at <{}>: {msg}",
            self.tree.parse_name,
            self.at.context()
        ))
    }

    fn call_error(&self, name: &str, err: impl std::fmt::Display) -> ExecError {
        self.errorf(format!("error calling {name}: {err}"))
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn pop(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    fn set_var(&mut self, name: &str, value: Dot) -> Result<()> {
        match self.vars.iter().rposition(|v| v.name == name) {
            Some(slot) => {
                self.vars[slot].value = value;
                if self.outside_recorded_body(slot) {
                    // An effect on what follows the body, which reusing it would skip.
                    self.ctx.taint();
                }
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    /// Whether variable `slot` of this frame was declared outside the body being recorded.
    fn outside_recorded_body(&self, slot: usize) -> bool {
        self.ctx
            .recording
            .last()
            .is_some_and(|r| r.frame == self.frame && slot < r.mark)
    }

    fn set_top_var(&mut self, n: usize, value: Dot) {
        let i = self.vars.len() - n;
        self.vars[i].value = value;
    }

    fn var_value(&mut self, name: &str) -> Result<Dot> {
        let Some(slot) = self.vars.iter().rposition(|v| v.name == name) else {
            return Err(self.errorf(format!("undefined variable: {name}")));
        };
        let var = &self.vars[slot];
        if self.outside_recorded_body(slot) {
            let read = VarRead {
                slot,
                name: var.name.as_ptr() as usize,
                value: var.value.value.clone(),
                boxed: var.value.boxed,
            };
            if let Some(r) = self.ctx.recording.last_mut() {
                r.note_var(read);
            }
        }
        Ok(self.vars[slot].value.clone())
    }

    // Walking.

    fn walk_list(&mut self, dot: &Dot, list: &'t List) -> Result<Flow> {
        self.at = At::List(list);
        for node in &list.nodes {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Dot, node: &'t Node) -> Result<Flow> {
        self.at = At::Node(node);
        match node {
            Node::Text { text, .. } => self.out.extend_from_slice(text),
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &val)?;
                }
            }
            Node::Comment { .. } => {}
            Node::If(b) => return self.walk_if_or_with(false, dot, b),
            Node::With(b) => return self.walk_if_or_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref())?
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, node: &'t Node, v: &Value) -> Result<()> {
        self.at = At::Node(node);
        match v {
            Value::Missing => self.out.extend_from_slice(b"<no value>"),
            Value::Func(_) => {
                return Err(self.errorf(format!("can't print {node} of type {}", v.type_name())))
            }
            // Go's `printableValue` prints what a pointer points to.
            v => fmt::write_indirect(self.out, v),
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Dot, b: &'t Branch) -> Result<Flow> {
        let mark = self.mark();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.truth() {
            if with {
                self.walk_list(&Dot::plain(val), &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(Flow::Normal)
        };
        self.pop(mark);
        flow
    }

    fn walk_range(&mut self, dot: &Dot, r: &'t Branch) -> Result<Flow> {
        self.at = At::Pipe(&r.pipe);
        let outer = self.mark();
        let piped = self.eval_pipeline(dot, &r.pipe)?;
        let mark = self.mark();
        if let Some(entries) = typed_entries(&piped) {
            // A map keyed by ints ranges in numeric order with int keys.
            for (k, elem) in &entries {
                if self.range_iteration(r, mark, Dot::plain(k.clone()), Dot::element(elem))? {
                    break;
                }
            }
            if entries.is_empty() {
                if let Some(else_list) = &r.else_list {
                    self.walk_list(dot, else_list)?;
                }
            }
            self.pop(outer);
            return Ok(Flow::Normal);
        }
        let val = piped.resolved();
        let ran = match &val {
            Value::List(items) => {
                for (i, elem) in items.iter().enumerate() {
                    let elem = Dot::element_of(&piped, elem);
                    if self.range_iteration(r, mark, Dot::plain(Value::Int(i as i64)), elem)? {
                        break;
                    }
                }
                !items.is_empty()
            }
            Value::Map(m) => {
                for (k, elem) in m.iter() {
                    let key = Dot::plain(Value::Str(k.clone()));
                    let elem = Dot::element_of(&piped, elem);
                    if self.range_iteration(r, mark, key, elem)? {
                        break;
                    }
                }
                !m.is_empty()
            }
            Value::Int(_) | Value::Uint(_) | Value::Byte(_) => self.range_integer(r, mark, &val)?,
            Value::Missing | Value::Nil => false,
            v => {
                let shown = fmt::sprint(std::slice::from_ref(v));
                return Err(self.errorf(format!("range can't iterate over {shown}")));
            }
        };
        if !ran {
            if let Some(else_list) = &r.else_list {
                self.walk_list(dot, else_list)?;
            }
        }
        self.pop(outer);
        Ok(Flow::Normal)
    }

    /// Go 1.24's range over an integer: 0..n, the value is both index and element.
    fn range_integer(&mut self, r: &'t Branch, mark: usize, val: &Value) -> Result<bool> {
        if r.pipe.decl.len() > 1 {
            let shown = fmt::sprint(std::slice::from_ref(val));
            return Err(self.errorf(format!(
                "can't use {shown} to iterate over more than one variable"
            )));
        }
        let n: i128 = match val {
            Value::Int(i) => *i as i128,
            Value::Uint(u) => *u as i128,
            Value::Byte(b) => *b as i128,
            _ => 0,
        };
        for i in 0..n.max(0) {
            let v = match val {
                Value::Uint(_) => Value::Uint(i as u64),
                Value::Byte(_) => Value::Byte(i as u8),
                _ => Value::Int(i as i64),
            };
            if self.range_iteration(r, mark, Dot::plain(v.clone()), Dot::plain(v))? {
                break;
            }
        }
        Ok(n > 0)
    }

    /// One pass of a range body; true when the body said `{{break}}`.
    fn range_iteration(
        &mut self,
        r: &'t Branch,
        mark: usize,
        index: Dot,
        elem: Dot,
    ) -> Result<bool> {
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                // With two variables the index comes first; with one, the element.
                let first = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0].idents[0], first)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1].idents[0], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = if self.ctx.memo.is_some() {
            self.walk_body_memo(r, &elem)
        } else {
            self.walk_list(&elem, &r.list)
        };
        self.pop(mark);
        Ok(matches!(flow?, Flow::Break))
    }

    /// A `range` body with the memo: the recorded output when everything the body read last
    /// time reads the same, else the body walked and recorded.
    fn walk_body_memo(&mut self, r: &'t Branch, elem: &Dot) -> Result<Flow> {
        let (template, node) = (self.tmpl.id(), r as *const Branch as usize);
        let key = Key::new(template, node, &elem.value, elem.boxed);
        let run = self
            .ctx
            .memo
            .as_deref_mut()
            .map(|m| m.run_of(template, node));
        if let Some(flow) = run.and_then(|run| self.reuse(run, &key, elem)) {
            return Ok(flow);
        }
        self.ctx.recording.push(Recording {
            frame: self.frame,
            mark: self.vars.len(),
            start: self.out.len(),
            vars: Vec::new(),
            inputs: Vec::new(),
            tainted: false,
        });
        let flow = self.walk_list(elem, &r.list);
        let Some(rec) = self.ctx.recording.pop() else {
            return flow;
        };
        if let (Ok(flow), Some(run)) = (&flow, run) {
            self.keep(run, key, elem, rec, flow);
        }
        flow
    }

    /// Stores a finished recording and hands what it read to the enclosing one; a tainted
    /// recording taints that one instead.
    fn keep(&mut self, run: usize, key: Key, elem: &Dot, rec: Recording, flow: &Flow) {
        let Some(memo) = self.ctx.memo.as_deref_mut() else {
            return;
        };
        if rec.tainted {
            memo.count_taint();
            self.ctx.taint();
            return;
        }
        let entry = Entry {
            key,
            pos: Default::default(),
            dot: elem.value.clone(),
            boxed: elem.boxed,
            output: self.out[rec.start..].into(),
            ending: match flow {
                Flow::Normal => Ending::Normal,
                Flow::Break => Ending::Break,
                Flow::Continue => Ending::Continue,
            },
            vars: rec.vars,
            inputs: Inputs::new(rec.inputs),
            recorded_in: memo.execution(),
            used_in: Default::default(),
        };
        if let Some(parent) = self.ctx.recording.last_mut() {
            parent.absorb(self.frame, &entry.vars, entry.inputs.as_slice());
        }
        if let Some(memo) = self.ctx.memo.as_deref_mut() {
            memo.store(run, entry);
        }
    }

    /// The recorded iteration for `key`, written out, if everything it read still reads the
    /// same: its dot, the outer variables, and the inputs its functions reported (re-read in
    /// the order the body read them, so their effects come in the order walking would give).
    fn reuse(&mut self, run: usize, key: &Key, elem: &Dot) -> Option<Flow> {
        let entry: Arc<Entry> = self.ctx.memo.as_deref_mut()?.reusable(run, key)?;
        if entry.boxed != elem.boxed || !super::memo::same_value(&entry.dot, &elem.value) {
            return None;
        }
        let vars_hold = entry.vars.iter().all(|read| {
            self.vars.get(read.slot).is_some_and(|v| {
                v.name.as_ptr() as usize == read.name
                    && v.value.boxed == read.boxed
                    && super::memo::same_value(&v.value.value, &read.value)
            })
        });
        if !vars_hold || !entry.inputs.as_slice().iter().all(|i| i.reread(self.ctx)) {
            return None;
        }
        self.out.extend_from_slice(&entry.output);
        if let Some(parent) = self.ctx.recording.last_mut() {
            parent.absorb(self.frame, &entry.vars, entry.inputs.as_slice());
        }
        if let Some(memo) = self.ctx.memo.as_deref_mut() {
            memo.reused(run, &entry);
        }
        Some(match entry.ending {
            Ending::Normal => Flow::Normal,
            Ending::Break => Flow::Break,
            Ending::Continue => Flow::Continue,
        })
    }

    fn walk_template(
        &mut self,
        dot: &Dot,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> Result<()> {
        self.at = At::Node(node);
        let Some(tree) = self.tmpl.tree(name) else {
            return Err(self.errorf(format!("template {} not defined", fmt::quote(name))));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        // Variables declared by the pipeline persist in the caller.
        let new_dot = match pipe {
            Some(p) => Dot::plain(self.eval_pipeline(dot, p)?),
            None => Dot::plain(Value::Missing),
        };
        let mut callee = State {
            tmpl: self.tmpl,
            tree,
            out: &mut *self.out,
            vars: vec![Var {
                name: "$",
                value: new_dot.clone(),
            }],
            depth: self.depth + 1,
            frame: self.ctx.new_frame(),
            ctx: &mut *self.ctx,
            at: At::None,
        };
        callee.walk_nested(&new_dot, &tree.root)
    }

    /// Walks a template's body; when nested templates have used up this stack segment's
    /// budget, on a fresh thread stack, so that deep recursion (through `template` or a
    /// function such as `executeTemplate`) ends in Go's depth error rather than a stack
    /// overflow, whatever stack the caller runs on. Ordinary templates never leave the
    /// caller's thread.
    fn walk_nested(&mut self, dot: &Dot, root: &'t List) -> Result<()> {
        let here = stack_address();
        if self.ctx.stack_top == 0 {
            // The outermost execution: the caller's stack (a runtime worker's may be 2 MiB).
            self.ctx.stack_top = here;
            self.ctx.stack_budget = CALLER_STACK_BUDGET;
        }
        if self.ctx.stack_top.saturating_sub(here) < self.ctx.stack_budget {
            return self.walk_list(dot, root).map(|_| ());
        }
        let saved = (self.ctx.stack_top, self.ctx.stack_budget);
        let result = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(SEGMENT_STACK)
                .spawn_scoped(scope, || {
                    self.ctx.stack_top = stack_address();
                    self.ctx.stack_budget = SEGMENT_STACK - CALLER_STACK_BUDGET;
                    self.walk_list(dot, root).map(|_| ())
                })
                .map_err(|e| ExecError(format!("template: cannot start executor stack: {e}")))?
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (self.ctx.stack_top, self.ctx.stack_budget) = saved;
        result
    }

    // Evaluation.

    fn eval_pipeline(&mut self, dot: &Dot, pipe: &'t Pipe) -> Result<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Final = None;
        for cmd in &pipe.cmds {
            // Go unwraps an `interface{}` result: a nil inside becomes the invalid value. A
            // typed nil (a struct's nil pointer, a function's nil result) stays and prints <nil>.
            let d = self.eval_command(dot, cmd, value)?;
            value = Some(if d.boxed { normalize(d.value) } else { d.value });
        }
        let value = value.unwrap_or(Value::Missing);
        for v in &pipe.decl {
            let dot = Dot::plain(value.clone());
            if pipe.is_assign {
                self.set_var(&v.idents[0], dot)?;
            } else {
                self.vars.push(Var {
                    name: &v.idents[0],
                    value: dot,
                });
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Final) -> Result<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Dot, cmd: &'t Command, fin: Final) -> Result<Dot> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { .. } => {
                return self.eval_function(dot, first, At::Cmd(cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return Ok(Dot::plain(self.eval_pipeline(dot, p)?));
            }
            Arg::Variable(_) => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        let value = match first {
            Arg::Bool { value, .. } => Value::Bool(*value),
            Arg::Dot { .. } => return Ok(dot.clone()),
            Arg::Nil { .. } => return Err(self.errorf("nil is not a command")),
            Arg::Number(n) => self.ideal_constant(first, n)?,
            Arg::Str { value, .. } => value.clone(),
            _ => unreachable!("handled above"),
        };
        Ok(Dot::plain(value))
    }

    /// A number literal with no type context: its syntax decides (Go's `idealConstant`).
    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> Result<Value> {
        self.at = At::Arg(node);
        let t = n.text.as_str();
        let is_hex_int = t.len() > 2
            && t.as_bytes()[0] == b'0'
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if n.is_complex {
            // Even `1+0i`, which is also an int, stays a `complex128`.
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float && !is_hex_int && !is_rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Missing)
    }

    fn eval_chain(
        &mut self,
        dot: &Dot,
        chain: &'t Arg,
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Dot> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            unreachable!()
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, Param::Any, node)?;
        let receiver = Dot::plain(normalize(receiver));
        self.eval_field_chain(dot, receiver, chain, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Dot,
        var: &'t Arg,
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Dot> {
        self.at = At::Arg(var);
        let Arg::Variable(v) = var else {
            unreachable!()
        };
        let value = self.var_value(&v.idents[0])?;
        if v.idents.len() == 1 {
            if !args.is_empty() {
                self.not_a_function(args, &fin)?;
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &v.idents[1..], args, fin)
    }

    /// `.X.Y.Z` from `receiver`, the last of which may be a method given `args`.
    fn eval_field_chain(
        &mut self,
        dot: &Dot,
        mut receiver: Dot,
        node: &'t Arg,
        idents: &'t [String],
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Dot> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Dot,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Final,
        receiver: Dot,
    ) -> Result<Dot> {
        let boxed = receiver.boxed;
        let type_name = |v: &Value| {
            if boxed {
                "interface {}".to_string()
            } else {
                v.type_name()
            }
        };
        let value = receiver.value;
        match &value {
            Value::Missing => {
                if self.tmpl.missing_key == MissingKey::Error {
                    return Err(
                        self.errorf(format!("nil data; no entry for key {}", fmt::quote(name)))
                    );
                }
                return Ok(Dot::plain(Value::Missing));
            }
            Value::Nil => {
                return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            // A nil pointer to a struct that has the field (Go checks the field first).
            Value::Object(o)
                if matches!(o.underlying(), Value::Nil)
                    && matches!(o.zero_elem(), Some(Value::Record(r)) if r.field(name).is_some()) =>
            {
                return Err(self.errorf(format!("nil pointer evaluating {}.{name}", o.type_name())));
            }
            Value::Object(o) if o.has_method(name) => {
                let argv = self.eval_call_args(dot, args, fin, false)?;
                if !o.pure_methods() {
                    self.ctx.taint();
                }
                return match o.call_method(name, &argv) {
                    Some(Ok(v)) => Ok(Dot {
                        value: v,
                        boxed: true,
                    }),
                    Some(Err(e)) => {
                        self.at = At::Arg(node);
                        Err(self.call_error(name, e))
                    }
                    None => Err(self.errorf(format!(
                        "can't evaluate field {name} in type {}",
                        type_name(&value)
                    ))),
                };
            }
            _ => {}
        }
        let has_args = args.len() > 1 || fin.is_some();
        // Only an object stands for another value: everything else is looked into in place.
        let underlying;
        let target = match &value {
            Value::Object(o) => {
                underlying = o.underlying();
                &underlying
            }
            v => v,
        };
        match target {
            Value::Record(r) => {
                if let Some(field) = r.field(name) {
                    if has_args {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(Dot::plain(field.clone()));
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                return Ok(match m.get(name) {
                    Some(v) => Dot::element_of(&value, v),
                    None => match self.tmpl.missing_key {
                        MissingKey::Default => Dot::plain(Value::Missing),
                        // A map of a static element type yields that type's zero value.
                        MissingKey::Zero => match typed_zero(&value) {
                            Some(zero) => Dot::plain(zero),
                            None => Dot {
                                value: Value::Nil,
                                boxed: true,
                            },
                        },
                        MissingKey::Error => {
                            return Err(self
                                .errorf(format!("map has no entry for key {}", fmt::quote(name))))
                        }
                    },
                });
            }
            _ => {}
        }
        Err(self.errorf(format!(
            "can't evaluate field {name} in type {}",
            type_name(&value)
        )))
    }

    fn eval_function(
        &mut self,
        dot: &Dot,
        ident: &'t Arg,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Dot> {
        self.at = At::Arg(ident);
        let Arg::Identifier { name, func, .. } = ident else {
            unreachable!()
        };
        match func {
            FuncRef::Builtin(b) => self.eval_builtin(dot, *b, name, cmd, args, fin),
            // Registered functions return `interface{}` (as Go's generic helpers do): a nil
            // result is no value.
            FuncRef::User(f) => Ok(Dot {
                value: self.eval_user_call(dot, f, name, cmd, args, fin)?,
                boxed: true,
            }),
        }
    }

    /// Go's arity check, with its two phrasings.
    fn check_arity(&self, name: &str, arity: Arity, nargs: usize, fin: &Final) -> Result<()> {
        let num_in = nargs + fin.is_some() as usize;
        match arity {
            Arity::Exact(n) if num_in != n => Err(self.errorf(format!(
                "wrong number of args for {name}: want {n} got {num_in}"
            ))),
            Arity::AtLeast(n) if num_in < n => Err(self.errorf(format!(
                "wrong number of args for {name}: want at least {n} got {nargs}"
            ))),
            _ => Ok(()),
        }
    }

    fn eval_user_call(
        &mut self,
        dot: &Dot,
        f: &Func,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Value> {
        let given = args.len().saturating_sub(1);
        self.check_arity(name, f.arity, given, &fin)?;
        let argv = match &f.params {
            Some(params) => self.eval_typed_args(dot, params, args, fin, f.keeps_types)?,
            None => self.eval_call_args(dot, args, fin, f.keeps_types)?,
        };
        self.ctx.depth = self.depth;
        if f.purity == Purity::Volatile {
            self.ctx.taint();
        }
        match f.call(self.ctx, &argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = node;
                match &self.ctx.unwind {
                    Unwind::None => Err(self.call_error(name, e)),
                    Unwind::Worded(text) => Err(ExecError(text.clone())),
                    Unwind::Raised => {
                        let err = self.call_error(name, e);
                        self.ctx.unwind = Unwind::Worded(err.0.clone());
                        Err(err)
                    }
                }
            }
        }
    }

    /// Arguments for a function or method taking `interface{}` parameters.
    fn eval_call_args(
        &mut self,
        dot: &Dot,
        args: &'t [Arg],
        fin: Final,
        keeps_types: bool,
    ) -> Result<Vec<Value>> {
        let unbox = |v: Value| if keeps_types { v } else { v.unboxed() };
        let mut argv = Vec::with_capacity(args.len());
        for arg in args.iter().skip(1) {
            argv.push(unbox(self.eval_arg(dot, Param::Any, arg)?));
        }
        if let Some(f) = fin {
            argv.push(unbox(nil_for_any(f)));
        }
        Ok(argv)
    }

    /// Arguments for a function with Go parameter types: Go's `evalArg` for each (literals by
    /// the parameter's kind, other values through `validateType`), and the piped value.
    fn eval_typed_args(
        &mut self,
        dot: &Dot,
        params: &Params,
        args: &'t [Arg],
        fin: Final,
        keeps_types: bool,
    ) -> Result<Vec<Value>> {
        let mut argv = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().skip(1).enumerate() {
            let ty = params.get(i);
            let v = self.eval_typed_arg(dot, ty, arg)?;
            argv.push(if ty == INTERFACE && !keeps_types {
                v.unboxed()
            } else {
                v
            });
        }
        if let Some(f) = fin {
            let ty = params.get(argv.len());
            let v = self.validate_type(f, ty)?;
            argv.push(if ty == INTERFACE && !keeps_types {
                v.unboxed()
            } else {
                v
            });
        }
        Ok(argv)
    }

    fn eval_typed_arg(&mut self, dot: &Dot, ty: &'static str, n: &'t Arg) -> Result<Value> {
        self.at = At::Arg(n);
        let literal_ok = match (n, ty) {
            (_, INTERFACE) => return self.eval_arg(dot, Param::Any, n),
            (Arg::Nil { .. }, _) if can_be_nil(ty) => return Ok(Value::Nil),
            (Arg::Nil { .. }, _) => return Err(self.errorf(format!("cannot assign nil to {ty}"))),
            (Arg::Str { .. } | Arg::Bool { .. } | Arg::Number(_), "string") => {
                matches!(n, Arg::Str { .. })
            }
            (Arg::Str { .. } | Arg::Bool { .. } | Arg::Number(_), "bool") => {
                matches!(n, Arg::Bool { .. })
            }
            (Arg::Str { .. } | Arg::Bool { .. } | Arg::Number(_), "int" | "int64") => {
                matches!(n, Arg::Number(num) if num.is_int)
            }
            (Arg::Str { .. } | Arg::Bool { .. } | Arg::Number(_), _) => {
                return Err(self.errorf(format!("can't handle {n} for arg of type {ty}")))
            }
            _ => {
                let v = self.eval_arg(dot, Param::Reflect, n)?;
                return self.validate_type(v, ty);
            }
        };
        if !literal_ok {
            let kind = match ty {
                "int" | "int64" => "integer",
                other => other,
            };
            return Err(self.errorf(format!("expected {kind}; found {n}")));
        }
        self.eval_arg(dot, Param::Any, n)
    }

    /// Go's `validateType`: a value for a parameter of type `ty`.
    fn validate_type(&self, v: Value, ty: &str) -> Result<Value> {
        if v.assignable_to(ty) {
            return Ok(nil_for_any(v));
        }
        Err(self.errorf(match v {
            Value::Missing => format!("invalid value; expected {ty}"),
            Value::Nil => format!("wrong type for value; expected {ty}; got interface {{}}"),
            v => format!("wrong type for value; expected {ty}; got {}", v.type_name()),
        }))
    }

    fn eval_builtin(
        &mut self,
        dot: &Dot,
        b: Builtin,
        name: &str,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Final,
    ) -> Result<Dot> {
        let given = args.len().saturating_sub(1);
        let (fixed, variadic) = b.signature();
        let arity = if variadic.is_some() {
            Arity::AtLeast(fixed.len())
        } else {
            Arity::Exact(fixed.len())
        };
        self.check_arity(name, arity, given, &fin)?;
        let rest = args.get(1..).unwrap_or(&[]);
        if b == Builtin::And || b == Builtin::Or {
            return self.eval_and_or(dot, b == Builtin::Or, rest, fin);
        }
        let mut argv = Vec::with_capacity(given + 1);
        let mut boxed = Vec::with_capacity(given + 1);
        for (i, arg) in rest.iter().enumerate() {
            let param = fixed.get(i).copied().or(variadic).unwrap_or(Param::Any);
            let d = self.eval_arg_dot(dot, param, arg)?;
            argv.push(d.value);
            boxed.push(d.boxed);
        }
        if let Some(f) = fin {
            let param = fixed
                .get(argv.len())
                .copied()
                .or(variadic)
                .unwrap_or(Param::Any);
            argv.push(self.validate(f, param)?);
        }
        let result = if b == Builtin::Call {
            let callee = rest.first().map(|a| a.to_string()).unwrap_or_default();
            self.call_builtin(&callee, &argv)
        } else {
            b.call(&argv, &boxed).map_err(FuncError)
        };
        let value = result.map_err(|e| {
            self.at = cmd;
            self.call_error(name, e)
        })?;
        // `index` hands out an element: inside an `interface{}` when the container is generic.
        let generic = matches!(argv.first(), Some(Value::List(_) | Value::Map(_)));
        Ok(if b == Builtin::Index && generic {
            Dot::element(&value)
        } else {
            Dot::plain(value)
        })
    }

    /// `and`/`or` evaluate their arguments lazily and return the deciding one.
    fn eval_and_or(&mut self, dot: &Dot, or: bool, args: &'t [Arg], fin: Final) -> Result<Dot> {
        let mut v = Dot::plain(Value::Missing);
        for arg in args {
            v = self.eval_arg_dot(dot, Param::Reflect, arg)?;
            if v.value.truth() == or {
                return Ok(v);
            }
        }
        if let Some(f) = fin {
            v = Dot::plain(f);
        }
        Ok(v)
    }

    /// The `call` builtin: `call FN ARGS…` with Go's checks on FN.
    fn call_builtin(
        &mut self,
        callee: &str,
        argv: &[Value],
    ) -> std::result::Result<Value, FuncError> {
        let f = match &argv[0] {
            Value::Func(f) => f.clone(),
            Value::Missing | Value::Nil => return Err("call of nil".into()),
            v => return Err(format!("non-function {callee} of type {}", v.type_name()).into()),
        };
        let args: Vec<Value> = argv[1..].iter().cloned().map(nil_for_any).collect();
        if f.purity == Purity::Volatile {
            self.ctx.taint();
        }
        match f.arity {
            Arity::Exact(n) if args.len() != n => {
                return Err(format!(
                    "wrong number of args for {callee}: got {} want {n}",
                    args.len()
                )
                .into())
            }
            Arity::AtLeast(n) if args.len() < n => {
                return Err(format!(
                    "wrong number of args for {callee}: got {} want at least {n}",
                    args.len()
                )
                .into())
            }
            _ => {}
        }
        f.call(self.ctx, &args)
    }

    /// Go's `evalArg`: evaluates an argument for a parameter of the given kind.
    fn eval_arg(&mut self, dot: &Dot, param: Param, n: &'t Arg) -> Result<Value> {
        Ok(self.eval_arg_dot(dot, param, n)?.value)
    }

    /// `eval_arg`, also telling whether Go would see the value inside an `interface{}`.
    fn eval_arg_dot(&mut self, dot: &Dot, param: Param, n: &'t Arg) -> Result<Dot> {
        self.at = At::Arg(n);
        let plain = |v| Ok(Dot::plain(v));
        let value = match n {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match param {
                    Param::Reflect => plain(Value::Missing),
                    Param::Any => plain(Value::Nil),
                    Param::Str => Err(self.errorf("cannot assign nil to string")),
                }
            }
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), n, idents, std::slice::from_ref(n), None)?
            }
            Arg::Variable(_) => self.eval_variable(dot, n, &[], None)?,
            Arg::Pipe(p) => Dot::plain(self.eval_pipeline(dot, p)?),
            Arg::Identifier { .. } => self.eval_function(dot, n, At::Arg(n), &[], None)?,
            Arg::Chain { .. } => self.eval_chain(dot, n, &[], None)?,
            Arg::Str { value, .. } => return plain(value.clone()),
            Arg::Bool { value, .. } if param != Param::Str => return plain(Value::Bool(*value)),
            Arg::Number(num) if param != Param::Str => return plain(self.ideal_constant(n, num)?),
            _ => return Err(self.errorf(format!("expected string; found {n}"))),
        };
        Ok(Dot {
            value: self.validate(value.value, param)?,
            boxed: value.boxed,
        })
    }

    /// Go's `validateType` for our three parameter kinds.
    fn validate(&self, value: Value, param: Param) -> Result<Value> {
        match param {
            Param::Reflect => Ok(value),
            Param::Any => Ok(nil_for_any(value)),
            Param::Str => match value {
                Value::Str(_) | Value::Bytes(_) => Ok(value),
                Value::Missing => Err(self.errorf("invalid value; expected string")),
                Value::Nil => {
                    Err(self.errorf("wrong type for value; expected string; got interface {}"))
                }
                v => Err(self.errorf(format!(
                    "wrong type for value; expected string; got {}",
                    v.type_name()
                ))),
            },
        }
    }
}

/// The entries of a map keyed by non-strings (see `Object::entries`).
fn typed_entries(map: &Value) -> Option<Vec<(Value, Value)>> {
    match map {
        Value::Object(o) => o.entries(),
        _ => None,
    }
}

/// The element zero value of a map with a static type (`""` for `map[string]string`).
fn typed_zero(map: &Value) -> Option<Value> {
    match map {
        Value::Object(o) => o.zero_elem(),
        _ => None,
    }
}

/// An invalid value passed as `interface{}` becomes nil.
fn nil_for_any(v: Value) -> Value {
    match v {
        Value::Missing => Value::Nil,
        v => v,
    }
}
