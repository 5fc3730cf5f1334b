//! The values a template sees: Go's `interface{}` world without reflection.
//!
//! A `Map` is a Go map (a missing key is `<no value>`), kept as a [`SortedMap`]: one vector of
//! its entries sorted by key, because Go ranges over and prints maps in sorted key order, and
//! template maps are built once and then read. It replaced a `BTreeMap`, whose 11-slot nodes
//! (about 450 bytes even for a map of one or two entries) made `ctmpl render` of the 15 MB
//! catalog of `benches/render_compare.py` (10,000 services × 3 instances) 231 MB resident; as
//! sorted vectors it was 133 MB and the render 0.21 s instead of 0.31 s (that change alone,
//! same session). A `Record` is a Go struct (a missing field is an error).
//! An `Object` is a value with methods (consul-template's tag lists, `scratch`). A `Typed` object
//! is a map or list with a Go static type (`map[string]string`, `[]*dependency.HealthService`):
//! its type name shows in `%T`, `%#v` and argument errors, and a missing key of a typed map is
//! the element type's zero value (`""`), as Go's `missingkey=zero` and `index` give it.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::gostr::GoStr;
use super::memo::{Input, Memo, Purity, Recording};

mod map;

pub use map::SortedMap;

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's invalid `reflect.Value`: what a missing map key, a nil dot or a nil result
    /// evaluates to. An action prints it as `<no value>`; a function receives it as `Nil`.
    #[default]
    Missing,
    /// Go's nil interface, as a JSON `null` inside a list or map; printed `<nil>`.
    Nil,
    Bool(bool),
    /// Go's `int`.
    Int(i64),
    /// Go's `uint64` (Consul indexes).
    Uint(u64),
    Float(f64),
    /// Go's `complex128` (real, imaginary): made only by a complex constant (`{{1+2i}}`).
    Complex(f64, f64),
    /// Go's `uint8` (`byte`): what `index` yields on a string.
    Byte(u8),
    /// A Go string that is valid UTF-8: nearly all of them.
    Str(Arc<str>),
    /// A Go string that is not valid UTF-8 (`"\xff"`, a `slice` through a character). Made only
    /// by `Value::from_bytes`, so that equal strings always share a variant.
    Bytes(Arc<[u8]>),
    List(Arc<Vec<Value>>),
    Map(Arc<SortedMap>),
    Record(Arc<Record>),
    Object(Arc<dyn Object>),
    /// Behind an `Arc`, so that a `Value` is 24 bytes rather than a `Func`'s 48: every list
    /// element and map entry is one.
    Func(Arc<Func>),
}

// Every list element and map entry holds one: keep it at three words.
const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// A Go struct value: a shared type (name and field names) plus the field values in order.
#[derive(Clone, Debug)]
pub struct Record {
    pub ty: Arc<RecordType>,
    pub values: Vec<Value>,
}

/// The Go type of a record. A name starting with `*` is a pointer to a struct, printed `&{…}`.
#[derive(Debug)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<String>,
    /// What `encoding/json` writes, in order: the key, the field's index and whether an empty
    /// value is left out (`json:",omitempty"`). Fields tagged `json:"-"` are absent.
    pub json: Vec<JsonField>,
    /// The members a pointer-receiver `MarshalJSON` writes instead, when `encoding/json` can
    /// take the struct's address (it sits behind a pointer or in a slice).
    pub json_marshal: Option<Vec<JsonField>>,
}

/// One member of a record's JSON object.
#[derive(Debug, Clone)]
pub struct JsonField {
    pub key: String,
    pub index: usize,
    pub omit_empty: bool,
}

impl RecordType {
    pub fn new(name: &str, fields: &[&str]) -> Arc<RecordType> {
        let tagged: Vec<(&str, &str)> = fields.iter().map(|f| (*f, "")).collect();
        RecordType::tagged(name, &tagged)
    }

    /// A record type whose fields carry Go `json` tags (`",omitempty"`, `"-"`, `"name"`).
    pub fn tagged(name: &str, fields: &[(&str, &str)]) -> Arc<RecordType> {
        let json = fields
            .iter()
            .enumerate()
            .filter(|(_, (_, tag))| *tag != "-")
            .map(|(index, (field, tag))| {
                let (key, opts) = tag.split_once(',').unwrap_or((tag, ""));
                JsonField {
                    key: if key.is_empty() { field } else { key }.to_string(),
                    index,
                    omit_empty: opts.split(',').any(|o| o == "omitempty"),
                }
            })
            .collect();
        Arc::new(RecordType {
            name: name.to_string(),
            fields: fields.iter().map(|(f, _)| f.to_string()).collect(),
            json,
            json_marshal: None,
        })
    }

    /// The same type with a pointer-receiver `MarshalJSON` that writes its members with `keys`
    /// first.
    pub fn with_json_marshal(self: Arc<Self>, keys: &[&str]) -> Arc<RecordType> {
        let mut json = Vec::with_capacity(self.json.len());
        for k in keys {
            if let Some(f) = self.json.iter().find(|f| f.key == *k) {
                json.push(f.clone());
            }
        }
        for f in &self.json {
            if !keys.contains(&f.key.as_str()) {
                json.push(f.clone());
            }
        }
        Arc::new(RecordType {
            name: self.name.clone(),
            fields: self.fields.clone(),
            json: self.json.clone(),
            json_marshal: Some(json),
        })
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }

    pub fn is_pointer(&self) -> bool {
        self.name.starts_with('*')
    }
}

impl Record {
    /// A record value of type `ty`: `values` in the order of `ty.fields`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(ty: &Arc<RecordType>, values: Vec<Value>) -> Value {
        debug_assert_eq!(ty.fields.len(), values.len(), "record {} arity", ty.name);
        Value::Record(Arc::new(Record {
            ty: ty.clone(),
            values,
        }))
    }

    pub fn field(&self, name: &str) -> Option<&Value> {
        self.ty.field_index(name).map(|i| &self.values[i])
    }
}

/// A value with methods. Printing, `len`, `index`, `range` and truth see `underlying()`.
pub trait Object: Send + Sync + fmt::Debug {
    /// The Go type name, used by `%T` and error messages (e.g. `dependency.ServiceTags`).
    fn type_name(&self) -> &str;
    /// The plain value this object behaves as when it is not asked for a method.
    fn underlying(&self) -> Value;
    /// Whether the object has a method of that name (Go looks for methods before fields).
    fn has_method(&self, name: &str) -> bool;
    /// Calls a method; `None` when the object has no method of that name.
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>>;
    /// Lets a function downcast an object it made (e.g. `scratch`).
    fn as_any(&self) -> &dyn Any;
    /// For a map with a static element type: what a missing key yields (the element's zero
    /// value). `None` for a map of `interface {}` values, whose missing keys are no value.
    fn zero_elem(&self) -> Option<Value> {
        None
    }
    /// A nil map or slice of a static type: `%#v` prints `T(nil)`, JSON `null`.
    fn is_nil(&self) -> bool {
        false
    }
    /// For a map whose keys are not strings (`map[int][]interface {}`): its entries with their
    /// Go keys, in Go's order (numeric), for `range`, printing and `index`. `None` for maps
    /// keyed by strings, which `underlying` already shows in order.
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// Its methods have pointer receivers: `fmt` (which gets a copy) does not call `String`,
    /// but a template action printing an addressable field does.
    fn pointer_methods(&self) -> bool {
        false
    }
    /// The unnamed type a named type is declared as (`dependency.ServiceTags` is `[]string`):
    /// Go assigns a value of the one to a parameter of the other.
    fn underlying_type(&self) -> Option<&str> {
        None
    }
    /// What its own `MarshalJSON` writes, if it has one.
    fn marshal_json(&self) -> Option<String> {
        None
    }
    /// Its methods depend on the object and their arguments only, and change nothing: a body
    /// calling one may be reused (see `memo`). Not so unless declared.
    fn pure_methods(&self) -> bool {
        false
    }
    /// Its `GoString` method (Go's `fmt.GoStringer`), which `%#v` prints instead of the
    /// value's Go syntax (`time.Time` has one: `time.Date(2024, time.January, …)`).
    fn go_string(&self) -> Option<String> {
        None
    }
}

/// A Go map or slice of a static type: `map[string]string`, `[]string`,
/// `[]*dependency.HealthService`, `map[int][]interface {}`. It behaves as its `inner`
/// `Map`/`List` everywhere except where Go's static type shows.
#[derive(Debug)]
pub struct Typed {
    /// Nearly always a literal: borrowed, so the millions of typed values a catalog decodes
    /// into do not each carry a copy of their type's name.
    pub ty: Cow<'static, str>,
    pub inner: Value,
    /// The element zero value for a map (see `Object::zero_elem`).
    pub zero: Option<Value>,
    pub nil: bool,
    /// A `map[int]T`: `inner` holds the keys in decimal (which is also how JSON writes them).
    pub int_keys: bool,
}

impl Typed {
    /// A `map[string]T` whose missing keys are `zero`.
    pub fn map(ty: impl Into<Cow<'static, str>>, zero: Value, inner: Value) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner,
            zero: Some(zero),
            nil: false,
            int_keys: false,
        }))
    }

    /// A `map[int]T` from its entries.
    pub fn int_map(
        ty: impl Into<Cow<'static, str>>,
        zero: Value,
        entries: impl IntoIterator<Item = (i64, Value)>,
    ) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::map(entries.into_iter().map(|(k, v)| (k.to_string(), v))),
            zero: Some(zero),
            nil: false,
            int_keys: true,
        }))
    }

    /// A nil pointer to a struct whose zero value is `zero` (a `Record` of type `*T`): its
    /// fields are known, so `.Field` on it fails as Go's does (`nil pointer evaluating
    /// *T.Field`) and a field it lacks is `can't evaluate field`.
    pub fn nil_struct_ptr(zero: Value) -> Value {
        let ty = match &zero {
            Value::Record(r) => r.ty.name.clone(),
            v => v.type_name(),
        };
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::Nil,
            zero: Some(zero),
            nil: true,
            int_keys: false,
        }))
    }

    /// A nil slice of a static type: printed `[]`, `%#v` `T(nil)`, JSON `null`.
    pub fn nil_list(ty: impl Into<Cow<'static, str>>) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::list(Vec::new()),
            zero: None,
            nil: true,
            int_keys: false,
        }))
    }

    /// A nil pointer of a static type (`(*dependency.KeyPair)(nil)`), printed `<nil>`.
    pub fn nil_ptr(ty: impl Into<Cow<'static, str>>) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::Nil,
            zero: None,
            nil: true,
            int_keys: false,
        }))
    }

    /// A nil `map[string]T` (`null` in JSON, `map[]` printed).
    pub fn nil_map(ty: impl Into<Cow<'static, str>>, zero: Value) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::Map(Arc::default()),
            zero: Some(zero),
            nil: true,
            int_keys: false,
        }))
    }

    /// A slice of a static element type (`[]string`).
    pub fn list(ty: impl Into<Cow<'static, str>>, items: Vec<Value>) -> Value {
        Value::Object(Arc::new(Typed {
            ty: ty.into(),
            inner: Value::list(items),
            zero: None,
            nil: false,
            int_keys: false,
        }))
    }

    /// An `int64` (what `parseInt` and integer math return): `%T` and argument checks tell it
    /// from `int`; functions taking `interface {}` get the plain `Int` (see `Value::unboxed`).
    pub fn int64(n: i64) -> Value {
        Value::Object(Arc::new(Typed {
            ty: "int64".into(),
            inner: Value::Int(n),
            zero: None,
            nil: false,
            int_keys: false,
        }))
    }

    /// A receive-only channel (`loop`'s `<-chan int64`) holding what it will deliver: ranged
    /// over like a list, printed as an address as Go prints a channel.
    pub fn chan(ty: impl Into<Cow<'static, str>>, items: Vec<Value>) -> Value {
        Typed::list(ty, items)
    }

    /// A `map[string]string`: what consul-template's meta fields and `splitToMap` hold.
    pub fn string_map<K: Into<Arc<str>>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Typed::map("map[string]string", Value::str(""), Value::map(entries))
    }

    /// A `[]string`: what `split` and `datacenters` return.
    pub fn strings(items: Vec<Value>) -> Value {
        Typed::list("[]string", items)
    }
}

impl Object for Typed {
    fn type_name(&self) -> &str {
        &self.ty
    }

    fn underlying(&self) -> Value {
        self.inner.clone()
    }

    fn has_method(&self, _name: &str) -> bool {
        false
    }

    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, FuncError>> {
        None
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn zero_elem(&self) -> Option<Value> {
        self.zero.clone()
    }

    fn is_nil(&self) -> bool {
        self.nil
    }

    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        if !self.int_keys {
            return None;
        }
        let Value::Map(m) = &self.inner else {
            return None;
        };
        let mut entries: Vec<(i64, Value)> = m
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.clone())))
            .collect();
        entries.sort_by_key(|(k, _)| *k);
        Some(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Int(k), v))
                .collect(),
        )
    }
}

/// An error returned by a function or method; the executor wraps it as Go does
/// (`error calling NAME: …`).
#[derive(Clone, Debug, PartialEq)]
pub struct FuncError(pub String);

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FuncError {}

impl From<String> for FuncError {
    fn from(s: String) -> Self {
        FuncError(s)
    }
}

impl From<&str> for FuncError {
    fn from(s: &str) -> Self {
        FuncError(s.to_string())
    }
}

/// The per-execution context handed to every function: whatever the caller of `execute` passed
/// (consul-template's layer passes its brain and dependency sets here).
pub struct Ctx<'a> {
    user: Option<&'a mut (dyn Any + Send)>,
    /// The calling template's depth, so that a function executing a template (consul-template's
    /// `executeTemplate`) continues Go's count of nested templates instead of restarting it.
    pub(crate) depth: usize,
    /// Set when a nested execution ran past the depth limit: the error is then passed out
    /// unchanged rather than wrapped once per level (100,000 wrappings).
    pub(crate) unwind: Unwind,
    /// Where the current stack segment began (the address of a local; 0 before execution)
    /// and how much of it nested templates may use before moving to a fresh thread stack.
    pub(crate) stack_top: usize,
    pub(crate) stack_budget: usize,
    /// Recorded iterations to reuse and record into (see `memo`), when the caller keeps them.
    pub(crate) memo: Option<&'a mut Memo>,
    /// The iterations being recorded, innermost last.
    pub(crate) recording: Vec<Recording>,
    /// The last executor frame handed out (each template invocation is one).
    pub(crate) frames: usize,
}

/// How far a depth error has travelled out of nested executions.
#[derive(Clone, Debug, Default)]
pub(crate) enum Unwind {
    #[default]
    None,
    /// Raised by the innermost execution; its caller words it once.
    Raised,
    /// Worded at the innermost call: every outer call returns this text as it is.
    Worded(String),
}

impl<'a> Ctx<'a> {
    pub fn new(user: Option<&'a mut (dyn Any + Send)>) -> Self {
        Ctx {
            user,
            depth: 0,
            unwind: Unwind::None,
            stack_top: 0,
            stack_budget: 0,
            memo: None,
            recording: Vec::new(),
            frames: 0,
        }
    }

    /// A context whose executions reuse and record `range` iterations in `memo`.
    pub fn with_memo(user: Option<&'a mut (dyn Any + Send)>, memo: &'a mut Memo) -> Self {
        let mut ctx = Ctx::new(user);
        ctx.memo = Some(memo);
        ctx
    }

    pub fn user<T: 'static>(&mut self) -> Option<&mut T> {
        self.user.as_deref_mut().and_then(|u| u.downcast_mut::<T>())
    }

    /// Whether an iteration is being recorded: a function reading hidden inputs then reports
    /// them with [`Ctx::note_input`] (and need not build them otherwise).
    pub fn recording(&self) -> bool {
        !self.recording.is_empty()
    }

    /// Reports an input a function read besides its arguments: the iteration being recorded
    /// is reused later only if the input still reads the same.
    pub fn note_input(&mut self, input: Arc<dyn Input>) {
        if let Some(r) = self.recording.last_mut() {
            r.inputs.push(input);
        }
    }

    /// Marks the iteration being recorded as not reusable (see `memo`).
    pub(crate) fn taint(&mut self) {
        if let Some(r) = self.recording.last_mut() {
            r.tainted = true;
        }
    }

    /// A new executor frame's number.
    pub(crate) fn new_frame(&mut self) -> usize {
        self.frames += 1;
        self.frames
    }
}

type FuncImpl = dyn Fn(&mut Ctx<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync;

/// How many arguments a function takes, checked before it is called (Go's messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exact(usize),
    /// Variadic: at least this many.
    AtLeast(usize),
}

/// A function a template can call, with a per-execution context.
#[derive(Clone)]
pub struct Func {
    pub arity: Arity,
    /// The Go parameter types, when the function declares them: the executor then checks
    /// each argument as Go's `evalArg`/`validateType` do. Without them every parameter is
    /// `interface {}`.
    pub params: Option<Arc<Params>>,
    /// Its `interface {}` parameters receive typed numbers (`int64`) as they are, for
    /// functions that switch on Go's dynamic type (sprig's `typeOf`, `duration`…); others
    /// get the plain number (see `Value::unboxed`).
    pub keeps_types: bool,
    /// Whether a body calling it may be reused (see `memo`): volatile unless declared pure.
    pub purity: Purity,
    f: Arc<FuncImpl>,
}

/// A Go function's parameter types (`"string"`, `"[]interface {}"`, `"[]*dependency.KeyPair"`),
/// the last one repeated when it is variadic.
#[derive(Debug)]
pub struct Params {
    pub fixed: Vec<&'static str>,
    pub variadic: Option<&'static str>,
}

impl Params {
    /// The type of the `i`th argument.
    pub fn get(&self, i: usize) -> &'static str {
        self.fixed
            .get(i)
            .copied()
            .or(self.variadic)
            .unwrap_or(INTERFACE)
    }
}

/// Go's empty interface type, as `reflect` names it.
pub const INTERFACE: &str = "interface {}";

/// Whether a Go type's zero value is nil (slices, maps, pointers, channels, functions,
/// interfaces).
pub fn can_be_nil(ty: &str) -> bool {
    ty == INTERFACE
        || ["[]", "map[", "*", "chan ", "<-chan ", "func("]
            .iter()
            .any(|p| ty.starts_with(p))
}

impl Func {
    pub fn new<F>(arity: Arity, f: F) -> Func
    where
        F: Fn(&mut Ctx<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Func {
            arity,
            params: None,
            keeps_types: false,
            purity: Purity::Volatile,
            f: Arc::new(f),
        }
    }

    /// The same function, seeing `int64` arguments as `int64` (see `Func::keeps_types`).
    pub fn keeping_types(mut self) -> Func {
        self.keeps_types = true;
        self
    }

    /// The same function, declared as depending on its arguments only (or reporting what else
    /// it reads through [`Ctx::note_input`]).
    pub fn with_purity(mut self, purity: Purity) -> Func {
        self.purity = purity;
        self
    }

    /// Whether both are the same function (not merely equal code).
    pub fn same_as(&self, other: &Func) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.f), Arc::as_ptr(&other.f))
    }

    /// The same function with Go parameter types (see `Func::params`).
    pub fn with_params(mut self, fixed: &[&'static str], variadic: Option<&'static str>) -> Func {
        self.params = Some(Arc::new(Params {
            fixed: fixed.to_vec(),
            variadic,
        }));
        self
    }

    /// A function that needs no context.
    pub fn pure<F>(arity: Arity, f: F) -> Func
    where
        F: Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Func::new(arity, move |_ctx, args| f(args))
    }

    pub fn call(&self, ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, FuncError> {
        (self.f)(ctx, args)
    }
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "func({:?})", self.arity)
    }
}

/// Go's basic kinds, as the comparison functions see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Complex,
    String,
    List,
    Map,
    Struct,
    Object,
    Func,
}

impl Value {
    pub fn str(s: &str) -> Value {
        if s.is_empty() {
            return Value::Str(empty_str());
        }
        Value::Str(Arc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    pub fn map<K: Into<Arc<str>>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(entries.into_iter().collect()))
    }

    /// Go's static type of a typed container (`Typed`, `ServiceTags`…), `None` for the
    /// `interface {}` world of JSON-like values.
    pub fn static_type(&self) -> Option<&str> {
        match self {
            Value::Object(o) => Some(o.type_name()),
            _ => None,
        }
    }

    /// What a function with `interface {}` parameters works on: a typed number (`int64`) as
    /// its plain value, anything else as it is. Go's helpers switch on `reflect.Kind`, for
    /// which `int64` and `int` are alike.
    pub fn unboxed(self) -> Value {
        match &self {
            Value::Object(o) => match o.as_any().downcast_ref::<Typed>() {
                Some(t) if matches!(t.inner, Value::Int(_) | Value::Uint(_) | Value::Float(_)) => {
                    t.inner.clone()
                }
                _ => self,
            },
            _ => self,
        }
    }

    /// The value an object stands for; every other value is itself.
    pub fn resolved(&self) -> Value {
        match self {
            Value::Object(o) => o.underlying(),
            v => v.clone(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Value::Missing | Value::Nil => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Uint(_) | Value::Byte(_) => Kind::Uint,
            Value::Float(_) => Kind::Float,
            Value::Complex(..) => Kind::Complex,
            Value::Str(_) | Value::Bytes(_) => Kind::String,
            Value::List(_) => Kind::List,
            Value::Map(_) => Kind::Map,
            Value::Record(_) => Kind::Struct,
            Value::Object(_) => Kind::Object,
            Value::Func(_) => Kind::Func,
        }
    }

    /// Go's type name for `%T` and error messages.
    pub fn type_name(&self) -> String {
        match self {
            Value::Missing | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Byte(_) => "uint8".into(),
            Value::Float(_) => "float64".into(),
            Value::Complex(..) => "complex128".into(),
            Value::Str(_) | Value::Bytes(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Record(r) => r.ty.name.clone(),
            Value::Object(o) => o.type_name().into(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
        }
    }

    /// Go's `AssignableTo` for a parameter of type `ty`: the same type, the same underlying
    /// type when one of them is unnamed, or any value for `interface {}`.
    pub fn assignable_to(&self, ty: &str) -> bool {
        if ty == INTERFACE {
            return true;
        }
        match self {
            // An invalid value becomes the zero value; a nil `interface {}` (a JSON null in a
            // map or list) is assignable only to `interface {}`.
            Value::Missing => can_be_nil(ty),
            Value::Nil => false,
            Value::Object(o) => o.type_name() == ty || o.underlying_type() == Some(ty),
            v => v.type_name() == ty,
        }
    }

    /// Go's `truth`: is this the zero value of its type?
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Byte(b) => *b != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(re, im) => *re != 0.0 || *im != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Record(_) | Value::Func(_) => true,
            Value::Object(o) => match o.underlying() {
                // A nil pointer is false; an object with no plain value (scratch) is true.
                Value::Missing | Value::Nil => !o.is_nil(),
                v => v.truth(),
            },
        }
    }

    /// A Go string from its bytes: `Str` when they are UTF-8, `Bytes` otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Value {
        match std::str::from_utf8(bytes) {
            Ok(s) => Value::str(s),
            Err(_) => Value::Bytes(Arc::from(bytes)),
        }
    }

    /// A string that is valid UTF-8 (a Go string that is not has no `str`: see `as_bytes`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Any Go string's bytes.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        self.as_go_str().map(GoStr::as_bytes)
    }

    /// Any Go string, telling UTF-8 text from raw bytes.
    pub fn as_go_str(&self) -> Option<GoStr<'_>> {
        match self {
            Value::Str(s) => Some(GoStr::Utf8(s)),
            Value::Bytes(b) => Some(GoStr::Raw(b)),
            _ => None,
        }
    }

    /// Go's `fmt.Sprint` of one value (`%v`), for messages: bytes that are not UTF-8 show as
    /// U+FFFD.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        crate::fmt::write_value(&mut out, self);
        out
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("Missing"),
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Uint(u) => write!(f, "Uint({u})"),
            Value::Byte(b) => write!(f, "Byte({b})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::Complex(re, im) => write!(f, "Complex({re:?}, {im:?})"),
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes(b\"{}\")", b.escape_ascii()),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Record(r) => write!(f, "{}{:?}", r.ty.name, r.values),
            Value::Object(o) => write!(f, "{o:?}"),
            Value::Func(func) => write!(f, "{func:?}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_go_string())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Uint(u)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Arc::from(s))
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::list(items)
    }
}

/// Decodes JSON as Go's `encoding/json` decodes into `interface{}` (see `json`): objects are
/// maps, arrays lists, every number a float64, `null` nil.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        use serde::de::DeserializeSeed;
        crate::json::ValueSeed::root(&crate::json::Keys::default()).deserialize(d)
    }
}

impl Value {
    /// Parses JSON text into a value in one pass (see `json.rs`), nested at most as deep as
    /// Go's decoder allows. Deep documents need a deep stack: about 1 KiB per level.
    pub fn from_json(text: &str) -> Result<Value, String> {
        crate::json::parse(text)
    }

    /// The same for text the caller is done with: a large document is taken apart in place for
    /// its two threads instead of copied.
    pub fn from_json_owned(text: String) -> Result<Value, String> {
        crate::json::parse_owned(text)
    }
}

/// The one empty string: a decoded catalog holds hundreds of thousands of empty fields, and an
/// `Arc<str>` of its own would cost each of them an allocation.
fn empty_str() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}
