//! A Go `text/template` engine, byte-exact to Go: lexer, parser, executor, Go's builtins and
//! Go's `fmt` printing. Pure: no I/O and no Consul; functions are closures given a per-execution
//! context.

pub mod printf;
pub mod value;

pub use value::{Arity, Ctx, Func, FuncError, Kind, Object, Record, RecordType, Value};
