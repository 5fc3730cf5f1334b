//! sprig's text function map as consul-template exposes it, each name prefixed `sprig_`: one
//! file per family (dicts, lists, strings and the goutils/xstrings word functions in `text`,
//! numbers with shopspring's `decimal`, regex, reflect, paths, `base32`), and the conversions
//! sprig applies everywhere (`strval`, `strslice`, `empty`, reflect kind names).

mod base32;
mod certs;
mod crypto;
mod dates;
mod decimal;
mod dicts;
mod dsa_key;
mod keys;
mod lists;
mod numbers;
mod params;
mod paths;
mod reflect;
mod regex;
mod semver;
mod strings;
mod text;
mod urls;

use super::{def, list_items, lossy, Res};
use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::local::gotime::TIME_TYPE;

/// The sprig functions registered, without their `sprig_` prefix: sprig's
/// `HermeticTxtFuncMap` plus `sha512sum` (sprig 3.3.0), as consul-template v0.42.1 registers
/// them. The non-hermetic ones (`env`, `expandenv`, `now`, `date*`, `htmlDate*`, `rand*` but
/// `randInt`, `uuidv4`, `getHostByName`) are left undefined on purpose, as there.
pub const SPRIG_FUNCTIONS: &[&str] = &[
    "genPrivateKey",
    "urlJoin",
    "urlParse",
    "ago",
    "durationRound",
    "duration",
    "decryptAES",
    "encryptAES",
    "derivePassword",
    "htpasswd",
    "bcrypt",
    "semverCompare",
    "semver",
    "abbrev",
    "abbrevboth",
    "add",
    "add1",
    "add1f",
    "addf",
    "adler32sum",
    "all",
    "any",
    "append",
    "atoi",
    "b32dec",
    "b32enc",
    "b64dec",
    "b64enc",
    "base",
    "biggest",
    "camelcase",
    "cat",
    "ceil",
    "chunk",
    "clean",
    "coalesce",
    "compact",
    "concat",
    "contains",
    "deepCopy",
    "deepEqual",
    "default",
    "dict",
    "dig",
    "dir",
    "div",
    "divf",
    "empty",
    "ext",
    "fail",
    "first",
    "float64",
    "floor",
    "fromJson",
    "get",
    "has",
    "hasKey",
    "hasPrefix",
    "hasSuffix",
    "hello",
    "indent",
    "initial",
    "initials",
    "int",
    "int64",
    "isAbs",
    "join",
    "kebabcase",
    "keys",
    "kindIs",
    "kindOf",
    "last",
    "list",
    "lower",
    "max",
    "maxf",
    "merge",
    "mergeOverwrite",
    "min",
    "minf",
    "mod",
    "mul",
    "mulf",
    "mustAppend",
    "mustChunk",
    "mustCompact",
    "mustDeepCopy",
    "mustFirst",
    "mustFromJson",
    "mustHas",
    "mustInitial",
    "mustLast",
    "mustMerge",
    "mustMergeOverwrite",
    "mustPrepend",
    "mustPush",
    "mustRegexFind",
    "mustRegexFindAll",
    "mustRegexMatch",
    "mustRegexReplaceAll",
    "mustRegexReplaceAllLiteral",
    "mustRegexSplit",
    "mustRest",
    "mustReverse",
    "mustSlice",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "mustUniq",
    "mustWithout",
    "nindent",
    "nospace",
    "omit",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "pick",
    "pluck",
    "plural",
    "prepend",
    "push",
    "quote",
    "randInt",
    "regexFind",
    "regexFindAll",
    "regexMatch",
    "regexQuoteMeta",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "regexSplit",
    "repeat",
    "replace",
    "rest",
    "reverse",
    "round",
    "seq",
    "set",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shuffle",
    "slice",
    "snakecase",
    "sortAlpha",
    "split",
    "splitList",
    "splitn",
    "squote",
    "sub",
    "subf",
    "substr",
    "swapcase",
    "ternary",
    "title",
    "toDecimal",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "toString",
    "toStrings",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "trimall",
    "trunc",
    "tuple",
    "typeIs",
    "typeIsLike",
    "typeOf",
    "uniq",
    "unset",
    "until",
    "untilStep",
    "untitle",
    "upper",
    "values",
    "without",
    "wrap",
    "wrapWith",
    "toDate",
    "mustToDate",
    "unixEpoch",
    "mustDateModify",
    "must_date_modify",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "buildCustomCert",
];

fn sdef<F>(funcs: &mut FuncMap, name: &str, arity: Arity, f: F)
where
    F: Fn(&[Value]) -> Res + Send + Sync + 'static,
{
    debug_assert!(
        SPRIG_FUNCTIONS.contains(&name),
        "{name} missing from SPRIG_FUNCTIONS"
    );
    def(funcs, &format!("sprig_{name}"), arity, f);
}

pub(super) fn register(funcs: &mut FuncMap) {
    dicts::register(funcs);
    lists::register(funcs);
    strings::register(funcs);
    numbers::register(funcs);
    numbers::register_floats(funcs);
    lists::register_more(funcs);
    regex::register(funcs);
    reflect::register(funcs);
    paths::register(funcs);
    semver::register(funcs);
    crypto::register(funcs);
    dates::register(funcs);
    urls::register(funcs);
    keys::register(funcs);
    certs::register(funcs);
    params::declare(funcs);
}

/// Go's message for a runtime panic inside a function (text/template recovers it).
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// sprig's `empty`: the zero value of its type (a record pointer never is).
pub(super) fn sprig_empty(v: &Value) -> bool {
    match v {
        Value::Missing | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Byte(b) => *b == 0,
        Value::Float(f) => *f == 0.0,
        Value::Complex(re, im) => *re == 0.0 && *im == 0.0,
        Value::Str(_) | Value::Bytes(_) => v.as_bytes().is_none_or(<[u8]>::is_empty),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Record(_) | Value::Func(_) => false,
        Value::Object(o) => match o.underlying() {
            Value::Missing | Value::Nil => false,
            u => sprig_empty(&u),
        },
    }
}

/// sprig's `strval`: a string as it is, anything else as `%v`.
fn strval(v: &Value) -> String {
    match v {
        Value::Missing => "<nil>".into(),
        v => lossy(v),
    }
}

/// sprig's `strslice`: a list's non-nil items as strings, nil as none, else the one value.
fn strslice(v: &Value) -> Vec<String> {
    match list_items(v) {
        Some(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil | Value::Missing))
            .map(strval)
            .collect(),
        None if matches!(v, Value::Nil | Value::Missing) => Vec::new(),
        None => vec![strval(v)],
    }
}

/// reflect's `Kind` name, for sprig's messages.
fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Missing | Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint64",
        Value::Byte(_) => "uint8",
        Value::Float(_) => "float64",
        Value::Complex(..) => "complex128",
        Value::Str(_) | Value::Bytes(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Record(r) if r.ty.is_pointer() => "ptr",
        Value::Record(_) => "struct",
        Value::Func(_) => "func",
        Value::Object(o) if o.type_name().starts_with('*') => "ptr",
        Value::Object(o) if o.type_name() == "int64" => "int64",
        Value::Object(o) if o.type_name() == TIME_TYPE => "struct",
        Value::Object(o) if o.type_name().starts_with("<-chan ") => "chan",
        Value::Object(o) => match o.underlying() {
            Value::Missing | Value::Nil => "ptr",
            u => kind_name(&u),
        },
    }
}
