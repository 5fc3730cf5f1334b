//! The Go parameter types of sprig's functions that take more than `interface {}` (sprig v3's
//! `functions.go`), so that the executor checks their arguments as Go's text/template does
//! before the call: `at <"many">: wrong type for value; expected int; got string` for
//! `sprig_plural "one" "many"`, `at <2>: expected string; found 2`, a `map[string]string`
//! refused where sprig wants `map[string]interface {}`. Functions not listed take
//! `interface {}` and check what they need themselves.

use crate::gotmpl::FuncMap;

const S: &str = "string";
const I: &str = "int";
const B: &str = "bool";
const M: &str = "map[string]interface {}";
const ANY: &str = "interface {}";

type Params = (&'static str, &'static [&'static str], Option<&'static str>);

const PARAMS: &[Params] = &[
    ("abbrev", &[I, S], None),
    ("abbrevboth", &[I, I, S], None),
    ("adler32sum", &[S], None),
    ("atoi", &[S], None),
    ("b32dec", &[S], None),
    ("b32enc", &[S], None),
    ("b64dec", &[S], None),
    ("b64enc", &[S], None),
    ("base", &[S], None),
    ("camelcase", &[S], None),
    ("clean", &[S], None),
    ("contains", &[S, S], None),
    ("dir", &[S], None),
    ("ext", &[S], None),
    ("fail", &[S], None),
    ("get", &[M, S], None),
    ("hasKey", &[M, S], None),
    ("hasPrefix", &[S, S], None),
    ("hasSuffix", &[S, S], None),
    ("indent", &[I, S], None),
    ("initials", &[S], None),
    ("isAbs", &[S], None),
    ("kebabcase", &[S], None),
    ("keys", &[], Some(M)),
    ("lower", &[S], None),
    ("mustRegexFind", &[S, S], None),
    ("mustRegexFindAll", &[S, S, I], None),
    ("mustRegexMatch", &[S, S], None),
    ("mustRegexReplaceAll", &[S, S, S], None),
    ("mustRegexReplaceAllLiteral", &[S, S, S], None),
    ("mustRegexSplit", &[S, S, I], None),
    ("nindent", &[I, S], None),
    ("nospace", &[S], None),
    ("omit", &[M], Some(S)),
    ("pick", &[M], Some(S)),
    ("pluck", &[S], Some(M)),
    ("plural", &[S, S, I], None),
    ("regexFind", &[S, S], None),
    ("regexFindAll", &[S, S, I], None),
    ("regexMatch", &[S, S], None),
    ("regexQuoteMeta", &[S], None),
    ("regexReplaceAll", &[S, S, S], None),
    ("regexReplaceAllLiteral", &[S, S, S], None),
    ("regexSplit", &[S, S, I], None),
    ("repeat", &[I, S], None),
    ("replace", &[S, S, S], None),
    ("required", &[S, ANY], None),
    ("set", &[M, S, ANY], None),
    ("sha1sum", &[S], None),
    ("sha256sum", &[S], None),
    ("sha512sum", &[S], None),
    ("snakecase", &[S], None),
    ("split", &[S, S], None),
    ("splitList", &[S, S], None),
    ("splitn", &[S, I, S], None),
    ("substr", &[I, I, S], None),
    ("swapcase", &[S], None),
    ("ternary", &[ANY, ANY, B], None),
    ("title", &[S], None),
    ("trim", &[S], None),
    ("trimAll", &[S, S], None),
    ("trimall", &[S, S], None),
    ("trimPrefix", &[S, S], None),
    ("trimSuffix", &[S, S], None),
    ("trunc", &[I, S], None),
    ("untitle", &[S], None),
    ("unset", &[M, S], None),
    ("until", &[I], None),
    ("untilStep", &[I, I, I], None),
    ("upper", &[S], None),
    ("values", &[M], None),
    ("wrap", &[I, S], None),
    ("wrapWith", &[I, S, S], None),
];

pub(super) fn declare(funcs: &mut FuncMap) {
    for (name, fixed, variadic) in PARAMS {
        funcs.set_params(&format!("sprig_{name}"), fixed, *variadic);
    }
}
