//! The values a template sees: Go's `interface{}` world without reflection.
//!
//! Maps are `BTreeMap`s because Go ranges over and prints maps in sorted key order. A `Record` is a
//! Go struct (a missing field is an error); a `Map` is a Go map (a missing key is `<no value>`).
//! An `Object` is a value with methods (consul-template's tag lists, `scratch`).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::gostr::GoStr;

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
    /// Go's `uint8` (`byte`): what `index` yields on a string.
    Byte(u8),
    /// A Go string that is valid UTF-8: nearly all of them.
    Str(Arc<str>),
    /// A Go string that is not valid UTF-8 (`"\xff"`, a `slice` through a character). Made only
    /// by `Value::from_bytes`, so that equal strings always share a variant.
    Bytes(Arc<[u8]>),
    List(Arc<Vec<Value>>),
    Map(Arc<BTreeMap<Arc<str>, Value>>),
    Record(Arc<Record>),
    Object(Arc<dyn Object>),
    Func(Func),
}

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
}

impl RecordType {
    pub fn new(name: &str, fields: &[&str]) -> Arc<RecordType> {
        Arc::new(RecordType {
            name: name.to_string(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
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
        }
    }

    pub fn user<T: 'static>(&mut self) -> Option<&mut T> {
        self.user.as_deref_mut().and_then(|u| u.downcast_mut::<T>())
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
    f: Arc<FuncImpl>,
}

impl Func {
    pub fn new<F>(arity: Arity, f: F) -> Func
    where
        F: Fn(&mut Ctx<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Func {
            arity,
            f: Arc::new(f),
        }
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
    String,
    List,
    Map,
    Struct,
    Object,
    Func,
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    pub fn map<K: Into<Arc<str>>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
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
            Value::Str(_) | Value::Bytes(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Record(r) => r.ty.name.clone(),
            Value::Object(o) => o.type_name().into(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
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
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Record(_) | Value::Func(_) => true,
            Value::Object(o) => match o.underlying() {
                Value::Missing | Value::Nil => true,
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

/// Decodes JSON as Go's `encoding/json` decodes into `interface{}`: objects are maps, arrays
/// lists, every number a float64, `null` nil.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Float(i as f64))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Float(u as f64))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(Arc::from(k), v);
        }
        Ok(Value::Map(Arc::new(m)))
    }
}

impl Value {
    /// Parses JSON text into a value in one pass (see `json.rs`), nested at most as deep as
    /// Go's decoder allows. Deep documents need a deep stack: about 1 KiB per level.
    pub fn from_json(text: &str) -> Result<Value, String> {
        crate::json::parse(text)
    }
}
