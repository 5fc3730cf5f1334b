//! The function library's tests. Table-like cases are golden files in `testdata/` (see its
//! README), rendered by [`golden_cases_match_go`]; what needs real files, processes, the
//! environment, the clock or Rust-side checks stays here as code.

use std::path::Path;

use regex::Regex;

use super::local::{format_time, run_plugin, RFC3339};
use super::*;
use crate::gotmpl::{Record, RecordType, Template, Typed};

/// consul-template's `ServiceTags`, as the Consul functions make them.
fn service_tags(items: Vec<&'static str>) -> Value {
    crate::dependency::ServiceTags::value(items.into_iter().map(String::from).collect())
}

fn kv(path: &str, key: &str, value: &str) -> Value {
    let ty = RecordType::new(
        "*dependency.KeyPair",
        &[
            "Path",
            "Key",
            "Value",
            "CreateIndex",
            "ModifyIndex",
            "LockIndex",
            "Flags",
            "Session",
        ],
    );
    let u = Value::Uint;
    Record::new(
        &ty,
        vec![
            Value::str(path),
            Value::str(key),
            Value::str(value),
            u(1),
            u(2),
            u(0),
            u(0),
            Value::str(""),
        ],
    )
}

fn svc(node: &str, port: i64, tags: Vec<&'static str>, meta: &[(&str, &str)]) -> Value {
    let ty = RecordType::new(
        "*dependency.HealthService",
        &[
            "Node",
            "NodeID",
            "NodeAddress",
            "NodeDatacenter",
            "NodeTaggedAddresses",
            "NodeMeta",
            "ServiceMeta",
            "Address",
            "ServiceTaggedAddresses",
            "ID",
            "Name",
            "Kind",
            "Tags",
            "Checks",
            "Status",
            "Port",
            "Weights",
        ],
    );
    let meta = Value::map(meta.iter().map(|(k, v)| (*k, Value::str(v))));
    let s = Value::str;
    Record::new(
        &ty,
        vec![
            s(node),
            s("id"),
            s("10.0.0.1"),
            s("dc1"),
            Value::map::<&str>([]),
            Value::map::<&str>([]),
            meta,
            s("10.0.0.1"),
            Value::map::<&str>([]),
            s(&format!("web-{node}")),
            s("web"),
            s(""),
            service_tags(tags),
            Value::list(vec![]),
            s("passing"),
            Value::Int(port),
            Value::map::<&str>([]),
        ],
    )
}

fn snippet(name: &str, tags: Vec<&'static str>) -> Value {
    let ty = RecordType::new("*dependency.CatalogSnippet", &["Name", "Tags"]);
    Record::new(&ty, vec![Value::str(name), service_tags(tags)])
}

/// The data every test template sees (the same JSON the Go oracle was given).
fn data() -> Value {
    let json =
        r#"{"m":{"a":1,"b":"x","c":[1,2]},"l":[1,"two",3.5],"s":"hello world","e":[],"n":null}"#;
    let Value::Map(base) = Value::from_json(json).unwrap() else {
        unreachable!()
    };
    let mut m = (*base).clone();
    let pairs = vec![
        kv("app/a", "a", "1"),
        kv("app/b/c", "b/c", "2"),
        kv("app/b/d", "b/d", "3"),
        kv("app/top", "top", "4"),
    ];
    // Typed as the Consul functions return them (`ls`, `tree`, `service`, `services`).
    let pairs_of = |items| Typed::list("[]*dependency.KeyPair", items);
    m.insert("pairs".into(), pairs_of(pairs));
    let conflict = vec![kv("p/a", "a", "1"), kv("p/a/b", "a/b", "2")];
    m.insert("conflict".into(), pairs_of(conflict));
    let services = vec![
        svc(
            "n1",
            8080,
            vec!["http", "v1"],
            &[("env", "prod"), ("w", "3")],
        ),
        svc("n2", 8080, vec!["v1"], &[("env", "dev qa"), ("w", "12")]),
        svc("n3", 9090, vec![], &[]),
    ];
    m.insert(
        "svcs".into(),
        Typed::list("[]*dependency.HealthService", services),
    );
    m.insert(
        "snips".into(),
        Typed::list(
            "[]*dependency.CatalogSnippet",
            vec![
                snippet("db", vec!["primary"]),
                snippet("web", vec!["http", "primary"]),
            ],
        ),
    );
    m.insert("tags".into(), service_tags(vec!["http", "v1"]));
    Value::Map(Arc::new(m))
}

/// Renders `text` against `data` with the whole library, a fresh `scratch`, and `timeAt LAYOUT
/// SECS NANOS` (Go's `time.Unix(SECS, NANOS).UTC().Format(LAYOUT)`).
fn render_with(text: &str, data: &Value) -> Result<String, String> {
    render_as(text, data, false)
}

/// [`render_with`], or (`memo`) as the runner re-renders: the functions declared pure as the
/// template layer declares them, executed twice with one memo and a fresh scratch each time,
/// the second reusing what the first recorded; the second's result.
fn render_as(text: &str, data: &Value, memo: bool) -> Result<String, String> {
    let mut funcs = FuncMap::new();
    register(&mut funcs);
    let scratch = Arc::new(std::sync::Mutex::new(new_scratch()));
    let current = scratch.clone();
    funcs.insert(
        "scratch",
        Func::pure(Arity::Exact(0), move |_| {
            Ok(current.lock().unwrap().clone())
        }),
    );
    // `timestamp` at a fixed time.
    let time_at = |a: &[Value]| {
        let layout = string_arg(&a[0])?;
        Ok(Value::from(format_time(
            &layout,
            int_arg(&a[1])?,
            int_arg(&a[2])? as u32,
        )))
    };
    funcs.insert("timeAt", Func::pure(Arity::Exact(3), time_at));
    if memo {
        crate::template::purity::declare(&mut funcs);
        funcs.set_purity("timeAt", crate::gotmpl::Purity::Pure);
    }
    let mut t = Template::new("t").funcs(funcs);
    t.parse(text).map_err(|e| format!("PARSE ERROR: {e:?}"))?;
    let mut out = Vec::new();
    if memo {
        let mut memo = crate::gotmpl::Memo::new();
        let _ = t.execute_memo("t", &mut Vec::new(), data, None, &mut memo);
        *scratch.lock().unwrap() = new_scratch();
        t.execute_memo("t", &mut out, data, None, &mut memo)
            .map_err(|e| e.0)?;
    } else {
        t.execute(&mut out, data).map_err(|e| e.0)?;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn render(text: &str) -> Result<String, String> {
    render_with(text, &data())
}

/// The output of a template that must succeed.
#[track_caller]
fn ok(text: &str) -> String {
    render(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The message of a template that must fail, after `error calling `.
#[track_caller]
fn err(text: &str) -> String {
    error_calling(&render(text).expect_err(text)).to_string()
}

/// An execution error from `error calling ` on (`NAME: message`), or all of it.
fn error_calling(e: &str) -> &str {
    match e.find("error calling ") {
        Some(i) => &e[i + "error calling ".len()..],
        None => e,
    }
}

/// Every `testdata/NAME.tmpl`, rendered against `NAME.json` (or the shared [`data`]), must give
/// `NAME.out`, or fail with `NAME.err` (the message after `error calling `); all differences
/// are reported at once.
#[test]
fn golden_cases_match_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/template/funcs/testdata");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".tmpl").map(str::to_string))
        .collect();
    names.sort();
    let read =
        |name: &str, ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).ok();
    let shared = data();
    let mut failures = Vec::new();
    for name in &names {
        let text = read(name, "tmpl").expect("template");
        let data = match read(name, "json") {
            Some(json) => Value::from_json(&json).unwrap_or_else(|e| panic!("{name}.json: {e}")),
            None => shared.clone(),
        };
        let (want_out, want_err) = (read(name, "out"), read(name, "err"));
        // Once, and re-rendered with the memo as the runner does: both as Go.
        for memo in [false, true] {
            // RSA keys take seconds to make and are never reused: once is enough.
            if memo && text.contains("genPrivateKey") {
                continue;
            }
            let got = render_as(&text, &data, memo);
            let matches = match (&got, &want_out, &want_err) {
                (_, Some(_), Some(_)) | (_, None, None) => {
                    failures.push(format!("{name}: needs exactly one of .out and .err"));
                    break;
                }
                (Ok(out), Some(want), None) => out == want,
                (Err(e), None, Some(want)) => error_calling(e) == want,
                _ => false,
            };
            if !matches {
                let want = match &want_out {
                    Some(out) => format!("{out:?}"),
                    None => format!("error {want_err:?}"),
                };
                failures.push(format!(
                    "{name} (memo: {memo}):\n  want {want}\n  got  {got:?}"
                ));
            }
        }
    }
    assert!(names.len() >= 278, "only {} golden cases", names.len());
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn scratch_methods() {
    // Each scratch is its own store.
    let (a, b) = (new_scratch(), new_scratch());
    let Value::Object(a) = a else { unreachable!() };
    let Value::Object(b) = b else { unreachable!() };
    a.call_method("Set", &[Value::str("k"), Value::Int(1)]);
    let got = b.call_method("Key", &[Value::str("k")]);
    assert!(matches!(got, Some(Ok(Value::Bool(false)))));
    assert_eq!(a.type_name(), "*template.Scratch");
}

#[test]
fn cycles_and_depth_are_errors_not_crashes() {
    let cycle = r#"{{ $d := sprig_dict }}{{ $_ := sprig_set $d "self" $d }}"#;
    assert!(err_msg(&format!("{cycle}{{{{ toYAML $d }}}}")).contains("exceeded max depth"));
    assert!(err_msg(&format!("{cycle}{{{{ toTOML $d }}}}")).contains("exceeded max depth"));
    assert!(ok(&format!("{cycle}{{{{ spew_sdump $d }}}}")).contains("<max depth reached>"));
}

/// Renders with `env` and friends seeing `overrides` first.
fn render_env(text: &str, overrides: &[(&str, &str)]) -> Result<String, String> {
    let mut funcs = FuncMap::new();
    register(&mut funcs);
    let o = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    register_env(&mut funcs, Arc::new(o));
    let mut t = Template::new("t").funcs(funcs);
    t.parse(text).map_err(|e| format!("{e:?}"))?;
    let mut out = Vec::new();
    t.execute(&mut out, &Value::Missing).map_err(|e| e.0)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn environment() {
    const UNSET: &str = "CTMPL_HELPERS_TEST_SURELY_UNSET";
    assert!(std::env::var_os(UNSET).is_none());
    let path = std::env::var("PATH").unwrap_or_default();
    assert_eq!(ok(r#"{{ env "PATH" }}"#), path);
    assert_eq!(
        ok(&format!(
            r#"{{{{ env "{UNSET}" }}}}|{{{{ envOrDefault "{UNSET}" "def" }}}}"#
        )),
        "|def"
    );
    assert_eq!(
        err(&format!(r#"{{{{ mustEnv "{UNSET}" }}}}"#)),
        format!("mustEnv: required environment variable {UNSET} is empty")
    );
    // The runner's variables win over the process's; an empty one is still set.
    let o = [("PATH", "/over"), ("EMPTY", "")];
    let t =
        r#"{{ env "PATH" }}|{{ mustEnv "PATH" }}|{{ envOrDefault "EMPTY" "d" }}|{{ env "EMPTY" }}"#;
    assert_eq!(render_env(t, &o).unwrap(), "/over|/over||");
    let e = render_env(r#"{{ mustEnv "EMPTY" }}"#, &o).unwrap_err();
    assert!(
        e.ends_with("error calling mustEnv: required environment variable EMPTY is empty"),
        "{e}"
    );
    // An empty runner value falls back to the process's.
    let o = [("PATH", "")];
    assert_eq!(render_env(r#"{{ mustEnv "PATH" }}"#, &o).unwrap(), path);
}

#[test]
fn timestamps() {
    let rfc = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").unwrap();
    assert!(rfc.is_match(&ok("{{ timestamp }}")));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let unix: i64 = ok(r#"{{ timestamp "unix" }}"#).parse().unwrap();
    assert!((unix - now).abs() < 5);
    assert_eq!(ok(r#"{{ timestamp "2006" }}"#), format_time("2006", now, 0));
    assert_eq!(
        err(r#"{{ timestamp "a" "b" }}"#),
        "timestamp: timestamp: wrong number of arguments, expected 0 or 1, but got 2"
    );
    assert_eq!(format_time(RFC3339, 0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(format_time(RFC3339, 951_782_400, 0), "2000-02-29T00:00:00Z");
    assert_eq!(format_time("Mon 002", 1_709_208_000, 0), "Thu 060");
}

#[test]
fn plugins() {
    assert_eq!(
        ok(
            r#"{{ plugin "echo" " a " "" "b\n" }}|{{ "piped" | plugin "echo" "x" }}|{{ plugin "" }}"#
        ),
        "a b|x piped|"
    );
    assert_eq!(
        err_msg(r#"{{ plugin "sh" "-c" "echo out; echo err >&2; exit 3" }}"#),
        "exec \"sh\": exit status 3\n\nstdout:\n\nout\n\n\nstderr:\n\nerr\n"
    );
    assert_eq!(
        err_msg(r#"{{ plugin "ctmpl-no-such-plugin" }}"#),
        "exec \"ctmpl-no-such-plugin\": exec: \"ctmpl-no-such-plugin\": executable file not found in $PATH\n\nstdout:\n\n\n\nstderr:\n\n"
    );
    let started = std::time::Instant::now();
    let slow = run_plugin(
        "sleep",
        &["5".into()],
        std::time::Duration::from_millis(200),
    );
    assert_eq!(slow.unwrap_err(), "exec \"sleep\": did not finish in 30s");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(
        err_msg(r#"{{ plugin "sh" "-c" "kill -9 $$" }}"#)
            .lines()
            .next(),
        Some("exec \"sh\": signal: killed")
    );
}

#[test]
fn write_to_file() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/dir/out.txt");
    let f = file.display();
    assert_eq!(
        ok(&format!(
            r#"{{{{ "hello" | writeToFile "{f}" "" "" "0640" }}}}"#
        )),
        ""
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let append = format!(r#"{{{{ "more" | writeToFile "{f}" "" "" "0600" "append,newline" }}}}"#);
    assert_eq!(ok(&append), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hellomore\n");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Ownership by numeric id (our own, so it works unprivileged).
    let (uid, gid) = (meta.uid(), meta.gid());
    assert_eq!(
        ok(&format!(
            r#"{{{{ writeToFile "{f}" "{uid}" "{gid}" "0644" "new" }}}}"#
        )),
        ""
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    assert_eq!(
        err_msg(&format!(
            r#"{{{{ writeToFile "{f}" "ctmpl-no-such-user" "" "0644" "x" }}}}"#
        )),
        "user: unknown user ctmpl-no-such-user"
    );
    assert_eq!(
        err_msg(&format!(
            r#"{{{{ writeToFile "{f}" "" "ctmpl-no-such-group" "0644" "x" }}}}"#
        )),
        "group: unknown group ctmpl-no-such-group"
    );
    // As in Go, the content is written before the owner is looked up.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    assert_eq!(
        err_msg(&format!(r#"{{{{ writeToFile "{f}" "" "" "rw" "x" }}}}"#)),
        r#"strconv.ParseUint: parsing "rw": invalid syntax"#
    );
    assert_eq!(
        err_msg(r#"{{ writeToFile "a" "" "" "0644" }}"#),
        "runtime error: index out of range [-1]"
    );
    // Symlinks are refused, as the target and as the parent directory.
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let e = err_msg(&format!(
        r#"{{{{ writeToFile "{}" "" "" "0644" "x" }}}}"#,
        link.display()
    ));
    assert!(
        e.starts_with("writeToFile: refusing to write to symlink"),
        "{e}"
    );
    let linked_dir = dir.path().join("linkdir");
    std::os::unix::fs::symlink(dir.path().join("sub"), &linked_dir).unwrap();
    let through = linked_dir.join("f.txt");
    let e = err_msg(&format!(
        r#"{{{{ writeToFile "{}" "" "" "0644" "x" }}}}"#,
        through.display()
    ));
    assert!(e.starts_with("writeToFile: parent directory"), "{e}");
    assert!(!dir.path().join("sub/f.txt").exists());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn sockaddr_language() {
    let lo = ok(
        r#"{{ sockaddr "GetAllInterfaces | include \"flag\" \"loopback\" | include \"type\" \"IPv4\" | sort \"address\" | limit 1 | attr \"address\"" }}"#,
    );
    assert_eq!(lo, "127.0.0.1");
    let next = ok(
        r#"{{ sockaddr "GetAllInterfaces | include \"flag\" \"loopback\" | include \"type\" \"IPv4\" | limit 1 | math \"address\" \"+1\" | attr \"address\"" }}"#,
    );
    assert_eq!(next, "127.0.0.2");
    let e = err_msg(r#"{{ sockaddr "GetAllInterfaces | math \"address\" \"1\"" }}"#);
    assert!(
        e.contains(r#"sign (+/-) is required for operation "address""#),
        "{e}"
    );
    // go-sockaddr: the first private interface's address, of either family.
    let ip = ok(r#"{{ sockaddr "GetPrivateIP" }}"#);
    let first_private = ok(r#"{{ sockaddr "GetPrivateInterfaces | attr \"address\"" }}"#);
    assert_eq!(ip, first_private);
    assert!(
        ip.is_empty() || ip.parse::<std::net::IpAddr>().is_ok(),
        "{ip}"
    );
    let public = ok(r#"{{ sockaddr "GetPublicIPs" }}"#);
    assert!(
        public
            .split(' ')
            .all(|a| a.is_empty() || a.parse::<std::net::IpAddr>().is_ok()),
        "{public}"
    );
    assert_eq!(
        ok(r#"{{ sockaddr "GetInterfaceIP" "\"ctmpl-no-such-if\"" }}"#),
        ""
    );
}

#[test]
fn registered_names() {
    let mut funcs = FuncMap::new();
    register(&mut funcs);
    for name in SPRIG_FUNCTIONS {
        assert!(funcs.contains(&format!("sprig_{name}")), "sprig_{name}");
    }
    // consul-template registers sprig's HermeticTxtFuncMap (193 names in sprig 3.2/3.3) plus
    // 3.3.0's sha512sum: the same names, none more.
    let sprig_names = funcs
        .iter()
        .filter(|(n, _)| n.starts_with("sprig_"))
        .count();
    assert_eq!(sprig_names, 194);
    assert_eq!(SPRIG_FUNCTIONS.len(), 194);
    for left_out in [
        "env",
        "expandenv",
        "now",
        "date",
        "date_in_zone",
        "date_modify",
        "dateInZone",
        "dateModify",
        "htmlDate",
        "htmlDateInZone",
        "randAlphaNum",
        "randAlpha",
        "randAscii",
        "randNumeric",
        "randBytes",
        "uuidv4",
        "getHostByName",
    ] {
        assert!(!funcs.contains(&format!("sprig_{left_out}")), "{left_out}");
    }
    for name in [
        "byKey",
        "byTag",
        "byPort",
        "byMeta",
        "contains",
        "in",
        "containsAll",
        "containsAny",
        "containsNone",
        "containsNotAll",
        "explode",
        "explodeMap",
        "mergeMap",
        "mergeMapWithOverride",
        "loop",
        "join",
        "split",
        "splitToMap",
        "toLower",
        "toUpper",
        "toTitle",
        "trimSpace",
        "trim",
        "trimPrefix",
        "trimSuffix",
        "replaceAll",
        "regexReplaceAll",
        "regexMatch",
        "indent",
        "parseBool",
        "parseInt",
        "parseUint",
        "parseFloat",
        "parseJSON",
        "parseYAML",
        "toJSON",
        "toJSONPretty",
        "toUnescapedJSON",
        "toUnescapedJSONPretty",
        "toYAML",
        "toTOML",
        "base64Encode",
        "base64Decode",
        "base64URLEncode",
        "base64URLDecode",
        "sha256Hex",
        "md5sum",
        "hmacSHA256Hex",
        "add",
        "subtract",
        "multiply",
        "divide",
        "modulo",
        "minimum",
        "maximum",
        "env",
        "mustEnv",
        "envOrDefault",
        "timestamp",
        "plugin",
        "writeToFile",
        "spew_dump",
        "spew_printf",
        "spew_sdump",
        "spew_sprintf",
        "sockaddr",
    ] {
        assert!(funcs.contains(name), "{name}");
    }
    assert!(!funcs.contains("scratch"));
    assert!(
        !funcs.contains("sprig_now")
            && !funcs.contains("sprig_env")
            && !funcs.contains("sprig_uuidv4")
    );
}

/// The message of a template that must fail, without `error calling NAME: `.
#[track_caller]
fn err_msg(text: &str) -> String {
    let e = err(text);
    match (
        render(text).unwrap_err().contains("error calling "),
        e.split_once(": "),
    ) {
        (true, Some((_, msg))) => msg.to_string(),
        _ => e,
    }
}
