//! sprig's regex functions: `regexMatch` (false on a bad pattern) and the others, which compile
//! with `MustCompile` and so report its panic text.

use ::regex::Regex;

use super::sdef;
use crate::gotmpl::{printf, Arity, FuncError, FuncMap, Value};
use crate::template::funcs::regexp::{go_find_all, go_regex, go_regex_split, go_replace_all};
use crate::template::funcs::{int_arg, string_arg};

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    // sprig compiles with `MustCompile`, whose panic message the template reports.
    let must = |re: &str| -> Result<Regex, FuncError> {
        go_regex(re).map_err(|e| {
            let shown = if re.contains('`') || re.chars().any(|c| c.is_control() && c != '\t') {
                printf::quote(re)
            } else {
                format!("`{re}`")
            };
            FuncError(format!("regexp: Compile({shown}): {e}"))
        })
    };
    sdef(funcs, "regexMatch", Exact(2), |a| {
        let re = go_regex(&string_arg(&a[0])?);
        Ok(Value::Bool(re.is_ok_and(|re| {
            re.is_match(&string_arg(&a[1]).unwrap_or_default())
        })))
    });
    sdef(funcs, "regexFind", Exact(2), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        Ok(Value::str(re.find(&s).map_or("", |m| m.as_str())))
    });
    sdef(funcs, "regexFindAll", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        let n = int_arg(&a[2])?;
        let limit = if n < 0 { None } else { Some(n as usize) };
        let found = go_find_all(&re, &s, limit);
        Ok(Value::list(
            found
                .into_iter()
                .map(|(b, e)| Value::str(&s[b..e]))
                .collect(),
        ))
    });
    sdef(funcs, "regexReplaceAll", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let (s, repl) = (string_arg(&a[1])?, string_arg(&a[2])?);
        Ok(Value::from(go_replace_all(&re, &s, &repl)))
    });
    sdef(funcs, "regexSplit", Exact(3), move |a| {
        let re = must(&string_arg(&a[0])?)?;
        let s = string_arg(&a[1])?;
        let parts = go_regex_split(&re, &s, int_arg(&a[2])?);
        Ok(Value::list(parts.into_iter().map(Value::str).collect()))
    });
}
