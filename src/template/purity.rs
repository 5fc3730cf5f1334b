//! Which functions of the library a reused `range` body may call (gotmpl's memo: a re-render
//! after one service changed reuses the other services' output). A function is pure when its
//! result and effects follow from its arguments alone, or when it reports what else it read
//! (the Consul functions report the brain's data, see `BrainRead`); anything with a hidden
//! input (the clock, the environment, randomness, the network, a program run) or an effect
//! beyond its result (the scratch pad, a file written, stdout) is volatile, and a body calling
//! it is walked again every time. Functions are volatile unless listed pure here: a new function
//! is never reused by mistake, and the test below makes sure each one is classified.

use crate::gotmpl::{FuncMap, Purity};

use super::funcs::SPRIG_FUNCTIONS;

/// The library's functions that are not pure, and why.
pub const VOLATILE: &[(&str, &str)] = &[
    ("env", "the environment"),
    ("mustEnv", "the environment"),
    ("envOrDefault", "the environment"),
    ("timestamp", "the clock"),
    ("plugin", "runs a program"),
    ("writeToFile", "writes a file"),
    ("sockaddr", "the network interfaces"),
    ("spew_dump", "writes to stdout"),
    ("spew_printf", "writes to stdout"),
    ("scratch", "the execution's scratch pad"),
    ("sprig_ago", "the clock"),
    ("sprig_randInt", "randomness"),
    ("sprig_shuffle", "randomness"),
    ("sprig_genPrivateKey", "randomness"),
    ("sprig_genCA", "a random key and serial"),
    ("sprig_genCAWithKey", "a random serial"),
    ("sprig_genSelfSignedCert", "a random key and serial"),
    ("sprig_genSelfSignedCertWithKey", "a random serial"),
    ("sprig_genSignedCert", "a random key and serial"),
    ("sprig_genSignedCertWithKey", "a random serial"),
    (
        "sprig_buildCustomCert",
        "sprig's certificate record, rebuilt each call",
    ),
    ("sprig_encryptAES", "a random IV"),
    ("sprig_bcrypt", "a random salt"),
    ("sprig_htpasswd", "a random salt"),
];

/// consul-template's own functions (not sprig's) that are pure. The Consul functions and
/// `file` report their data; `executeTemplate`'s nested execution reports (and taints) for
/// itself; the unsupported families only fail.
pub const PURE: &[&str] = &[
    "add",
    "base64Decode",
    "base64Encode",
    "base64URLDecode",
    "base64URLEncode",
    "byKey",
    "byMeta",
    "byPort",
    "byTag",
    "caLeaf",
    "caRoots",
    "connect",
    "contains",
    "containsAll",
    "containsAny",
    "containsNone",
    "containsNotAll",
    "datacenters",
    "divide",
    "executeTemplate",
    "explode",
    "explodeMap",
    "exportedServices",
    "file",
    "hmacSHA256Hex",
    "importedServices",
    "in",
    "indent",
    "join",
    "key",
    "keyExists",
    "keyOrDefault",
    "loop",
    "ls",
    "maximum",
    "md5sum",
    "mergeMap",
    "mergeMapWithOverride",
    "minimum",
    "modulo",
    "multiply",
    "node",
    "nodes",
    "nomadService",
    "nomadServices",
    "nomadVar",
    "nomadVarExists",
    "nomadVarList",
    "nomadVarListSafe",
    "parseBool",
    "parseFloat",
    "parseInt",
    "parseJSON",
    "parseUint",
    "parseYAML",
    "partitions",
    "peerings",
    "pkiCert",
    "regexMatch",
    "regexReplaceAll",
    "replaceAll",
    "safeLs",
    "safeTree",
    "secret",
    "secrets",
    "service",
    "services",
    "sha256Hex",
    "spew_sdump",
    "spew_sprintf",
    "split",
    "splitToMap",
    "subtract",
    "toJSON",
    "toJSONPretty",
    "toLower",
    "toTOML",
    "toTitle",
    "toUnescapedJSON",
    "toUnescapedJSONPretty",
    "toUpper",
    "toYAML",
    "tree",
    "trim",
    "trimPrefix",
    "trimSpace",
    "trimSuffix",
];

/// Whether `name` (as registered) is pure.
pub fn is_pure(name: &str) -> bool {
    if VOLATILE.iter().any(|(v, _)| *v == name) {
        return false;
    }
    if let Some(sprig) = name.strip_prefix("sprig_") {
        return SPRIG_FUNCTIONS.contains(&sprig);
    }
    PURE.contains(&name)
}

/// Declares the pure functions of `funcs` as such; the others stay volatile.
pub fn declare(funcs: &mut FuncMap) {
    let pure: Vec<String> = funcs
        .iter()
        .map(|(name, _)| name)
        .filter(|name| is_pure(name))
        .map(str::to_string)
        .collect();
    for name in pure {
        funcs.set_purity(&name, Purity::Pure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{function_map, TemplateConfig};

    /// Every function is listed once, as pure or volatile, and the lists name only functions
    /// that exist: adding a function means deciding which it is.
    #[test]
    fn every_function_is_classified() {
        let funcs = function_map(&TemplateConfig::default());
        let names: Vec<&str> = funcs.iter().map(|(n, _)| n).collect();
        let listed = |n: &str| {
            let sprig = n
                .strip_prefix("sprig_")
                .is_some_and(|s| SPRIG_FUNCTIONS.contains(&s));
            PURE.contains(&n) as usize
                + sprig as usize
                + VOLATILE.iter().any(|(v, _)| *v == n) as usize
        };
        let unlisted: Vec<&&str> = names.iter().filter(|n| listed(n) == 0).collect();
        assert!(unlisted.is_empty(), "not classified: {unlisted:?}");
        let twice: Vec<&&str> = names
            .iter()
            .filter(|n| PURE.contains(n) && VOLATILE.iter().any(|(v, _)| v == *n))
            .collect();
        assert!(twice.is_empty(), "both pure and volatile: {twice:?}");
        for n in PURE.iter().chain(VOLATILE.iter().map(|(n, _)| n)) {
            assert!(names.contains(n), "{n} is listed but not registered");
        }
        for (name, f) in funcs.iter() {
            let want = if is_pure(name) {
                Purity::Pure
            } else {
                Purity::Volatile
            };
            assert_eq!(f.purity, want, "{name}");
        }
        assert_eq!(
            funcs
                .iter()
                .filter(|(_, f)| f.purity == Purity::Volatile)
                .count(),
            VOLATILE.len()
        );
    }
}
