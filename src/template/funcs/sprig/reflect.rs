//! sprig's reflection functions: `typeOf` (`%T`), `typeIs`, `typeIsLike` (also `*T`), `kindOf`,
//! `kindIs` (reflect's kind names, `int64` kept apart from `int`) and `fail`. Type names come from
//! [`Value::type_name`](crate::gotmpl::Value::type_name), the one place that knows Go's names.

use super::{kind_name, sdef};
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::string_arg;

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "typeOf", Exact(1), |a| {
        Ok(Value::from(type_of(&a[0])))
    });
    sdef(funcs, "typeIs", Exact(2), |a| {
        Ok(Value::Bool(*string_arg(&a[0])? == type_of(&a[1])))
    });
    sdef(funcs, "typeIsLike", Exact(2), |a| {
        let (want, got) = (string_arg(&a[0])?, type_of(&a[1]));
        Ok(Value::Bool(*want == got || format!("*{want}") == got))
    });
    sdef(funcs, "kindOf", Exact(1), |a| {
        Ok(Value::str(kind_name(&a[0])))
    });
    sdef(funcs, "kindIs", Exact(2), |a| {
        Ok(Value::Bool(*string_arg(&a[0])? == *kind_name(&a[1])))
    });
    sdef(funcs, "fail", Exact(1), |a| {
        Err(FuncError(string_arg(&a[0])?.into_owned()))
    });
    // Go's dynamic type shows here: an `int64` is not an `int`.
    for name in ["typeOf", "typeIs", "typeIsLike", "kindOf", "kindIs"] {
        funcs.keep_types(&format!("sprig_{name}"));
    }
}

/// `fmt.Sprintf("%T", v)`: a nil interface is `<nil>`.
fn type_of(v: &Value) -> String {
    v.type_name()
}
