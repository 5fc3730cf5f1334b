//! Math: `add`, `subtract`, `multiply`, `divide`, `modulo`, `minimum`, `maximum`. The piped value
//! is the last argument, so `OP b a` computes `a OP b`.
//!
//! consul-template switches on reflect kinds: ints and uints mix as int64 (uint with uint stays
//! uint64), a float makes float64, and an unknown type is reported with Go's `%q` of the value.

use super::{def, fail, sprintf, Res};
use crate::gotmpl::{Arity, FuncError, FuncMap, Typed, Value};

/// An operand as Go's reflect kinds see it.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    match &v.clone().unboxed() {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Uint(u) => Some(Num::U(*u)),
        Value::Byte(b) => Some(Num::U(u64::from(*b))),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Min,
    Max,
}

pub(super) fn register(funcs: &mut FuncMap) {
    for (name, op) in [
        ("add", MathOp::Add),
        ("subtract", MathOp::Sub),
        ("multiply", MathOp::Mul),
        ("divide", MathOp::Div),
        ("modulo", MathOp::Mod),
        ("minimum", MathOp::Min),
        ("maximum", MathOp::Max),
    ] {
        def(funcs, name, Arity::Exact(2), move |a| {
            math(name, op, &a[1], &a[0])
        });
    }
}

fn unknown_type(name: &str, v: &Value) -> FuncError {
    let (q, t) = q_and_t(v);
    FuncError(format!("{name}: unknown type for {q} ({t})"))
}

/// `a OP b` with consul-template's type rules: ints and uints mix as int64 (uint with uint
/// stays uint64), any float makes a float64; `modulo` takes no floats.
fn math(name: &str, op: MathOp, a: &Value, b: &Value) -> Res {
    // `modulo` has no float cases, so a float is an unknown type there.
    let operand = |v: &Value| match num(v) {
        Some(Num::F(_)) if op == MathOp::Mod => None,
        n => n,
    };
    let x = operand(a).ok_or_else(|| unknown_type(name, a))?;
    let y = operand(b).ok_or_else(|| unknown_type(name, b))?;
    if matches!(op, MathOp::Min | MathOp::Max) {
        let a_wins = match (op, compare_nums(x, y)) {
            (MathOp::Min, Some(o)) => o.is_lt(),
            (_, Some(o)) => o.is_gt(),
            _ => false,
        };
        return Ok(num_value(if a_wins { x } else { y }));
    }
    Ok(match (x, y) {
        (Num::U(p), Num::U(q)) => Value::Uint(uint_op(op, p, q)?),
        (Num::F(_), _) | (_, Num::F(_)) => Value::Float(float_op(op, as_f64(x), as_f64(y))),
        _ => Typed::int64(int_op(op, as_i64(x), as_i64(y))?),
    })
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::U(u) => u as f64,
        Num::F(f) => f,
    }
}

fn as_i64(n: Num) -> i64 {
    match n {
        Num::I(i) => i,
        Num::U(u) => u as i64,
        Num::F(f) => f as i64,
    }
}

fn num_value(n: Num) -> Value {
    match n {
        // consul-template computes with `reflect.Value.Int()`: an `int64`.
        Num::I(i) => Typed::int64(i),
        Num::U(u) => Value::Uint(u),
        Num::F(f) => Value::Float(f),
    }
}

/// The comparison consul-template's `minimum`/`maximum` make: ints against uints as int64,
/// anything against a float as float64.
fn compare_nums(x: Num, y: Num) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Num::U(p), Num::U(q)) => Some(p.cmp(&q)),
        (Num::F(_), _) | (_, Num::F(_)) => as_f64(x).partial_cmp(&as_f64(y)),
        _ => Some(as_i64(x).cmp(&as_i64(y))),
    }
}

pub(super) fn int_op(op: MathOp, a: i64, b: i64) -> Result<i64, FuncError> {
    Ok(match op {
        MathOp::Add => a.wrapping_add(b),
        MathOp::Sub => a.wrapping_sub(b),
        MathOp::Mul => a.wrapping_mul(b),
        MathOp::Div | MathOp::Mod if b == 0 => return fail(DIVIDE_BY_ZERO),
        MathOp::Div => a.wrapping_div(b),
        _ => a.wrapping_rem(b),
    })
}

fn uint_op(op: MathOp, a: u64, b: u64) -> Result<u64, FuncError> {
    Ok(match op {
        MathOp::Add => a.wrapping_add(b),
        MathOp::Sub => a.wrapping_sub(b),
        MathOp::Mul => a.wrapping_mul(b),
        MathOp::Div | MathOp::Mod if b == 0 => return fail(DIVIDE_BY_ZERO),
        MathOp::Div => a / b,
        _ => a % b,
    })
}

fn float_op(op: MathOp, a: f64, b: f64) -> f64 {
    match op {
        MathOp::Add => a + b,
        MathOp::Sub => a - b,
        MathOp::Mul => a * b,
        _ => a / b,
    }
}

/// Go's `%q` of a `reflect.Value` and `%T` of the interface, as consul-template's math errors
/// print an operand.
fn q_and_t(v: &Value) -> (String, String) {
    match v {
        Value::Nil | Value::Missing => ("<invalid reflect.Value>".into(), "<nil>".into()),
        v => (sprintf("%q", std::slice::from_ref(v)), v.type_name()),
    }
}

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";
