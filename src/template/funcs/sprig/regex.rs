//! sprig's regex functions: `regexMatch` (false on a bad pattern) and the others, which compile
//! with `MustCompile` and so report its panic text; the `must` twins return `Compile`'s error
//! instead. `regexQuoteMeta` is Go's `regexp.QuoteMeta`.

use ::regex::Regex;

use super::sdef;
use crate::gotmpl::{printf, Arity, FuncError, FuncMap, Value};
use crate::template::funcs::regexp::{go_find_all, go_regex, go_regex_split, go_replace_all};
use crate::template::funcs::{int_arg, string_arg, Res};

/// `MustCompile`'s panic, which the template reports.
fn must_compile(re: &str) -> Result<Regex, FuncError> {
    go_regex(re).map_err(|e| {
        let shown = if re.contains('`') || re.chars().any(|c| c.is_control() && c != '\t') {
            printf::quote(re)
        } else {
            format!("`{re}`")
        };
        FuncError(format!("regexp: Compile({shown}): {e}"))
    })
}

/// `Compile`'s error, which the `must` functions return.
fn compile(re: &str) -> Result<Regex, FuncError> {
    go_regex(re).map_err(FuncError)
}

type Compiler = fn(&str) -> Result<Regex, FuncError>;

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "regexMatch", Exact(2), |a| {
        let re = go_regex(&string_arg(&a[0])?);
        Ok(Value::Bool(re.is_ok_and(|re| {
            re.is_match(&string_arg(&a[1]).unwrap_or_default())
        })))
    });
    sdef(funcs, "mustRegexMatch", Exact(2), |a| {
        let re = compile(&string_arg(&a[0])?)?;
        Ok(Value::Bool(re.is_match(&string_arg(&a[1])?)))
    });
    let forms: [(&str, Compiler); 2] = [("", must_compile), ("must", compile)];
    for (prefix, compile) in forms {
        let named = |base: &str| {
            if prefix.is_empty() {
                base.to_string()
            } else {
                format!("must{}{}", base[..1].to_uppercase(), &base[1..])
            }
        };
        sdef(funcs, &named("regexFind"), Exact(2), move |a| {
            let re = compile(&string_arg(&a[0])?)?;
            let s = string_arg(&a[1])?;
            Ok(Value::str(re.find(&s).map_or("", |m| m.as_str())))
        });
        sdef(funcs, &named("regexFindAll"), Exact(3), move |a| {
            find_all(compile(&string_arg(&a[0])?)?, a)
        });
        sdef(funcs, &named("regexReplaceAll"), Exact(3), move |a| {
            let re = compile(&string_arg(&a[0])?)?;
            let (s, repl) = (string_arg(&a[1])?, string_arg(&a[2])?);
            Ok(Value::from(go_replace_all(&re, &s, &repl)))
        });
        sdef(
            funcs,
            &named("regexReplaceAllLiteral"),
            Exact(3),
            move |a| {
                let re = compile(&string_arg(&a[0])?)?;
                let (s, repl) = (string_arg(&a[1])?, string_arg(&a[2])?);
                Ok(Value::from(
                    re.replace_all(&s, ::regex::NoExpand(&repl)).into_owned(),
                ))
            },
        );
        sdef(funcs, &named("regexSplit"), Exact(3), move |a| {
            let re = compile(&string_arg(&a[0])?)?;
            let s = string_arg(&a[1])?;
            let parts = go_regex_split(&re, &s, int_arg(&a[2])?);
            Ok(Value::list(parts.into_iter().map(Value::str).collect()))
        });
    }
    sdef(funcs, "regexQuoteMeta", Exact(1), |a| {
        Ok(Value::from(quote_meta(&string_arg(&a[0])?)))
    });
}

fn find_all(re: Regex, a: &[Value]) -> Res {
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
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
