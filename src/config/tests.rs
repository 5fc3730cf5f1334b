//! The config module's tests: HCL1 syntax against the Go library's answers, the model, merging
//! and directories.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use super::*;

// --- The oracle's view of a tree -----------------------------------------------------------
//
// The expected strings below are what Go's HCL1 (`hcl.Decode` into `interface{}`) printed for
// the same input, with types shown: `int(…)`, `float(…)`, `LM[…]` for the list of maps HCL1
// makes of blocks, keys sorted. `typed` renders our tree the way that decoder shapes it:
// blocks become lists of maps, repeated blocks append, repeated lists concatenate, repeated
// scalars keep the last. With `json`, an array of objects counts as repeated blocks, as in
// HCL1's JSON reader.

enum Acc<'a> {
    Blocks(Vec<&'a [(String, Hcl)]>),
    List(Vec<&'a Hcl>),
    Scalar(&'a Hcl),
}

fn typed(h: &Hcl, json: bool) -> String {
    match h {
        Tree::Object(e) => map(e, json),
        other => elem(other, json),
    }
}

fn start(v: &Hcl, json: bool) -> Acc<'_> {
    match v {
        Tree::Object(e) => Acc::Blocks(vec![e]),
        Tree::List(items) if json && !items.is_empty() && items.iter().all(is_object) => {
            Acc::Blocks(items.iter().filter_map(body).collect())
        }
        Tree::List(items) => Acc::List(items.iter().collect()),
        scalar => Acc::Scalar(scalar),
    }
}

fn is_object(h: &Hcl) -> bool {
    matches!(h, Tree::Object(_))
}

fn body(h: &Hcl) -> Option<&[(String, Hcl)]> {
    match h {
        Tree::Object(e) => Some(e),
        _ => None,
    }
}

fn map(entries: &[(String, Hcl)], json: bool) -> String {
    let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
    for (k, v) in entries {
        match (acc.get_mut(k.as_str()), v) {
            (Some(Acc::Blocks(b)), Tree::Object(e)) => b.push(e),
            (Some(Acc::List(l)), Tree::List(items)) => l.extend(items),
            (Some(Acc::List(l)), Tree::Object(_)) => l.push(v),
            _ => {
                acc.insert(k, start(v, json));
            }
        }
    }
    let fields: Vec<String> = acc
        .iter()
        .map(|(k, a)| {
            let v = match a {
                Acc::Blocks(b) => {
                    let maps: Vec<String> = b.iter().map(|e| map(e, json)).collect();
                    format!("LM[{}]", maps.join(","))
                }
                Acc::List(l) => list(l, json),
                Acc::Scalar(s) => elem(s, json),
            };
            format!("{}:{v}", go_quote(k))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn list(items: &[&Hcl], json: bool) -> String {
    let parts: Vec<String> = items.iter().map(|i| elem(i, json)).collect();
    format!("[{}]", parts.join(","))
}

fn elem(h: &Hcl, json: bool) -> String {
    match h {
        Tree::Str(s) => go_quote(s),
        Tree::Int(i) => format!("int({i})"),
        Tree::Float(f) => format!("float({f})"),
        Tree::Bool(b) => b.to_string(),
        Tree::List(items) => list(&items.iter().collect::<Vec<_>>(), json),
        Tree::Object(e) => map(e, json),
    }
}

/// Go's `%q` for the strings the tests use.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn oracle(src: &str) -> String {
    typed(&parse_any("t.hcl", src).expect("parses"), false)
}

fn err(src: &str) -> String {
    match Config::parse("config.hcl", src) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.0,
    }
}

fn cfg(src: &str) -> Config {
    Config::parse("config.hcl", src).unwrap_or_else(|e| panic!("{e}"))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

// --- HCL1 syntax, checked against the Go library -------------------------------------------

#[test]
fn comments_of_all_three_kinds() {
    let src = "# hash\n// slashes\n/* block\n   comment */ a = \"x\" // trailing\n\
                   b = /* inline */ 2 # end\n";
    assert_eq!(oracle(src), r#"{"a":"x","b":int(2)}"#);
}

#[test]
fn numbers_follow_go_parse_int_base_zero() {
    let src = "perms = 0600\nzero = 0\nseven = 007\nhex = 0x1F\nneg = -5\nnegoct = -0600\n\
                   fl = 1.5\nexp = 1e3\nlead = .5\ntrail = 5.\nsmall = 0.5e-3\n\
                   big = 9223372036854775807\nnine = 09.5\n";
    let want = r#"{"big":int(9223372036854775807),"exp":float(1000),"fl":float(1.5),"hex":int(31),"lead":float(0.5),"neg":int(-5),"negoct":int(-384),"nine":float(9.5),"perms":int(384),"seven":int(7),"small":float(0.0005),"trail":float(5),"zero":int(0)}"#;
    assert_eq!(oracle(src), want);
    // The point of the whole parser: a leading zero is octal.
    assert_eq!(
        parse_hcl("t", "perms = 0600").unwrap(),
        Tree::Object(vec![("perms".into(), Tree::Int(384))])
    );
}

#[test]
fn booleans() {
    assert_eq!(
        oracle("a = true\nb = false\nc = [true, false]\n"),
        r#"{"a":true,"b":false,"c":[true,false]}"#
    );
    // Only lower case: `True` is an identifier, which is not a value.
    assert!(parse_hcl("t", "a = True").is_err());
}

#[test]
fn strings_with_escapes_and_interpolations() {
    let src = r#"a = "tab\there \"q\" back\\slash"
b = "\x41\101\u00e9\U0001F600"
c = "${HOME}/x"
d = "a${b("c")}d"
e = "$x {y}"
f = ""
"#;
    let want = r#"{"a":"tab\there \"q\" back\\slash","b":"AAé😀","c":"${HOME}/x","d":"a${b(\"c\")}d","e":"$x {y}","f":""}"#;
    assert_eq!(oracle(src), want);
    // Inside ${ } a newline does not end the string (HCL1 leaves it to the interpolator).
    assert_eq!(oracle("x = \"${a\nb}\""), r#"{"x":"${a\nb}"}"#);
}

#[test]
fn heredocs() {
    let src = "a = <<EOF\nhello\n  world\nEOF\nb = <<-EOT\n    indented\n      more\n    EOT\n\
                   c = <<-EOT\n    mixed\n  less\n    EOT\nd = <<EOF\nx\n  EOF\ne = <<EOF\nEOF\n\
                   f = [<<A\nin list\nA\n, \"y\"]\n";
    // `c`: a line less indented than the closing anchor keeps all indentation; `d`: a plain
    // heredoc may indent its closing anchor, and HCL1 then keeps that indentation (!).
    let want = r#"{"a":"hello\n  world\n","b":"indented\n  more\n","c":"    mixed\n  less\n","d":"x\n  ","e":"","f":["in list\n","y"]}"#;
    assert_eq!(oracle(src), want);
    // Quotes and escapes are literal in a heredoc.
    assert_eq!(
        oracle("a = <<EOF\nx ${y} \\n \"q\"\nEOF\n"),
        r#"{"a":"x ${y} \\n \"q\"\n"}"#
    );
    // `<<-EOF` closed by an unindented EOF: HCL1 does not see the anchor (its length check
    // counts the `-`), so the heredoc runs on.
    assert!(parse_hcl("t", "a = <<-EOF\n  x\nEOF\n").is_err());
    assert_eq!(oracle("a = <<-EOF\n  x\n EOF\n"), r#"{"a":" x\n"}"#);
}

#[test]
fn lists() {
    let src = "a = [1, 2,]\nb = []\nc = [\"x\", \"y\"]\nd = [[1], [2]]\ne = [1,,2]\n\
                   f = [{x = 1}, {y = \"z\"}]\ng = [\n  \"multi\", # comment\n  \"line\",\n]\n";
    let want = r#"{"a":[int(1),int(2)],"b":[],"c":["x","y"],"d":[[int(1)],[int(2)]],"e":[int(1),int(2)],"f":[{"x":int(1)},{"y":"z"}],"g":["multi","line"]}"#;
    assert_eq!(oracle(src), want);
    // No comma is needed after a nested list, as in HCL1.
    assert_eq!(oracle("x = [[1] [2]]"), r#"{"x":[[int(1)],[int(2)]]}"#);
    assert!(parse_hcl("t", "a = [1 2]").is_err());
}

#[test]
fn objects_blocks_and_assigned_objects() {
    let src = "a { b = 1 }\nc = { d = 2 }\ne {}\nf = {}\ng { h = 1, i = 2 }\n";
    let want = r#"{"a":LM[{"b":int(1)}],"c":LM[{"d":int(2)}],"e":LM[{}],"f":LM[{}],"g":LM[{"h":int(1),"i":int(2)}]}"#;
    assert_eq!(oracle(src), want);
}

#[test]
fn repeated_blocks_become_a_list() {
    let src =
        "template { source = \"a\" }\ntemplate { source = \"b\" }\ntemplate = { source = \"c\" }\n";
    let want = r#"{"template":LM[{"source":"a"},{"source":"b"},{"source":"c"}]}"#;
    assert_eq!(oracle(src), want);
    // The tree itself keeps the three entries in order.
    let Tree::Object(entries) = parse_hcl("t", src).unwrap() else {
        panic!()
    };
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|(k, _)| k == "template"));
}

#[test]
fn nested_blocks() {
    let src = "consul {\n  retry { attempts = 5 }\n  ssl { enabled = true }\n}\n";
    assert_eq!(
        oracle(src),
        r#"{"consul":LM[{"retry":LM[{"attempts":int(5)}],"ssl":LM[{"enabled":true}]}]}"#
    );
}

#[test]
fn block_labels_nest() {
    let src = "template \"x\" { source = \"a\" }\ntemplate \"y\" \"z\" { source = \"b\" }\n";
    let want = r#"{"template":LM[{"x":LM[{"source":"a"}]},{"y":LM[{"z":LM[{"source":"b"}]}]}]}"#;
    assert_eq!(oracle(src), want);
    // Labels only go with blocks.
    let e = parse_hcl("t.hcl", "a \"b\" = 1").unwrap_err();
    assert_eq!(
        e.0,
        "t.hcl:1:7: expected '{' after block labels \"a\" \"b\""
    );
}

#[test]
fn repeated_attributes() {
    // Scalars: the last wins; lists: concatenated (HCL1's decoder appends).
    let src = "a = 1\na = 2\nl = [1]\nl = [2]\nb { c = 1, c = 2 }\n";
    assert_eq!(
        oracle(src),
        r#"{"a":int(2),"b":LM[{"c":int(2)}],"l":[int(1),int(2)]}"#
    );
}

#[test]
fn keys_quoted_dotted_and_unseparated() {
    let src = "\"log_level\" = \"x\"\na.b-c_d = 1\n\"with space\" = 2\nx = 1, y = 2\n\
                   p = \"a\" q = \"b\"\nwait { min = \"5s\" max = \"10s\" }\n";
    let want = r#"{"a.b-c_d":int(1),"log_level":"x","p":"a","q":"b","wait":LM[{"max":"10s","min":"5s"}],"with space":int(2),"x":int(1),"y":int(2)}"#;
    assert_eq!(oracle(src), want);
}

#[test]
fn json_into_the_same_tree() {
    let src = r#"{"consul": {"address": "x", "retry": {"attempts": 5}}, "template": [{"source": "a"}, {"source": "b", "wait": {"min": "1s"}}], "perms": 384, "f": 1.5, "n": null, "b": true, "l": ["x", "y"]}"#;
    let want = r#"{"b":true,"consul":LM[{"address":"x","retry":LM[{"attempts":int(5)}]}],"f":float(1.5),"l":["x","y"],"n":"","perms":int(384),"template":LM[{"source":"a"},{"source":"b","wait":LM[{"min":"1s"}]}]}"#;
    assert_eq!(typed(&parse_any("t.json", src).unwrap(), true), want);
    assert_eq!(
        parse_json("t", r#"{"a": [1, 2.5]}"#).unwrap(),
        Tree::Object(vec![(
            "a".into(),
            Tree::List(vec![Tree::Int(1), Tree::Float(2.5)])
        )])
    );
}

#[test]
fn crlf_line_endings() {
    assert_eq!(
        oracle("a = <<EOF\r\nx\r\nEOF\r\nb = 1\r\n"),
        r#"{"a":"x\n","b":int(1)}"#
    );
}

// --- Syntax errors: file, line and column -------------------------------------------------

#[test]
fn syntax_errors_point_at_the_spot() {
    let cases = [
            ("template {\n  perms 0600\n}\n", "config.hcl:2:9: expected '=' or '{' after key \"perms\", got number 384"),
            ("a = \"abc\nb = 1\n", "config.hcl:1:5: string not terminated"),
            ("a = \"abc", "config.hcl:1:5: string not terminated"),
            ("a = <<EOF\nx\nEOF", "config.hcl:1:5: heredoc <<EOF not terminated (the closing EOF must be on its own line, followed by a newline)"),
            ("a = <<EOF x\ny\nEOF\n", "config.hcl:1:10: unexpected ' ' after heredoc anchor (it must end the line)"),
            ("a = <<\nx\n", "config.hcl:1:5: heredoc anchor missing after '<<'"),
            ("consul {\n  address = \"x\"\n", "config.hcl:3:1: expected '}' to close block \"consul\" opened at 1:8, got end of file"),
            ("a = [1, 2\n", "config.hcl:2:1: expected ']', got end of file in the list opened at 1:5"),
            ("a = 1 /* open", "config.hcl:1:7: comment not terminated"),
            ("a = 1 / 2", "config.hcl:1:7: unexpected '/' (comments start with // or /*)"),
            ("a = 08", "config.hcl:1:5: invalid number \"08\""),
            ("a = 99999999999999999999", "config.hcl:1:5: number out of range: 99999999999999999999"),
            ("a = 0x", "config.hcl:1:5: invalid hexadecimal number"),
            ("a = \"\\q\"", "config.hcl:1:6: invalid escape sequence \"\\q\" in string"),
            ("a = 1;", "config.hcl:1:6: unexpected character ';'"),
            ("a = 1\n# x\0y", "config.hcl:2:4: unexpected NUL character"),
            ("a = foo", "config.hcl:1:5: expected a value for key \"a\", got identifier \"foo\""),
            ("a =", "config.hcl:1:4: expected a value for key \"a\", got end of file"),
            ("= 1", "config.hcl:1:1: expected a key before '='"),
            ("}", "config.hcl:1:1: expected a key, got '}'"),
        ];
    for (src, want) in cases {
        assert_eq!(err(src), want, "for {src:?}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!("a = {}", "[".repeat(5000));
    assert!(err(&src).contains("nested too deeply"));
    let src = "a { ".repeat(5000);
    assert!(err(&src).contains("nested too deeply"));
}

// --- The model --------------------------------------------------------------------------

const NGINX_HCL: &str = r#"# consul-template for the nginx sidecar
consul {
  address = "127.0.0.1:8500"
  token   = "s3cr3t"

  retry {
    enabled     = true
    attempts    = 12
    backoff     = "250ms"
    max_backoff = "1m"
  }

  ssl {
    enabled     = true
    verify      = false
    ca_cert     = "/etc/consul/ca.pem"
    server_name = "consul.service.consul"
  }
}

log_level   = "info"
kill_signal = "sigterm"   // upper-cased on the way in
max_stale   = "10s"
wait        = "2s:10s"

template {
  source      = "/etc/nginx/templates/upstreams.ctmpl"
  destination = "/etc/nginx/conf.d/upstreams.conf"
  perms       = 0644
  command     = "nginx -s reload"

  wait {
    min = "1s"
    max = "5s"
  }
}

template {
  contents = <<-EOT
    {{ key "nginx/htpasswd" }}
    EOT
  destination          = "/etc/nginx/htpasswd"
  perms                = 0600
  backup               = true
  error_on_missing_key = true
  command              = ["/usr/sbin/nginx", "-s", "reload"]
  command_timeout      = "45s"
  function_denylist    = ["plugin", "sprig_*"]
}

exec {
  command       = ["nginx", "-g", "daemon off;"]
  reload_signal = "SIGHUP"
  kill_signal   = "SIGQUIT"
  kill_timeout  = "15s"
  splay         = "1s"

  env {
    custom   = ["NGINX_ENTRYPOINT_QUIET_LOGS=1"]
    denylist = ["CONSUL_*", "VAULT_*"]
  }
}
"#;

const NGINX_JSON: &str = r#"{
  "consul": {
    "address": "127.0.0.1:8500",
    "token": "s3cr3t",
    "retry": {"enabled": true, "attempts": 12, "backoff": "250ms", "max_backoff": "1m"},
    "ssl": {"enabled": true, "verify": false, "ca_cert": "/etc/consul/ca.pem",
            "server_name": "consul.service.consul"}
  },
  "log_level": "info",
  "kill_signal": "sigterm",
  "max_stale": "10s",
  "wait": "2s:10s",
  "template": [
    {"source": "/etc/nginx/templates/upstreams.ctmpl",
     "destination": "/etc/nginx/conf.d/upstreams.conf",
     "perms": 420, "command": "nginx -s reload", "wait": {"min": "1s", "max": "5s"}},
    {"contents": "{{ key \"nginx/htpasswd\" }}\n", "destination": "/etc/nginx/htpasswd",
     "perms": "0600", "backup": true, "error_on_missing_key": true,
     "command": ["/usr/sbin/nginx", "-s", "reload"], "command_timeout": "45s",
     "function_denylist": ["plugin", "sprig_*"]}
  ],
  "exec": {
    "command": ["nginx", "-g", "daemon off;"],
    "reload_signal": "SIGHUP", "kill_signal": "SIGQUIT", "kill_timeout": "15s", "splay": "1s",
    "env": {"custom": ["NGINX_ENTRYPOINT_QUIET_LOGS=1"], "denylist": ["CONSUL_*", "VAULT_*"]}
  }
}"#;

const NGINX_JSON_ORACLE: &str = r#"{"consul":LM[{"address":"127.0.0.1:8500","retry":LM[{"attempts":int(12),"backoff":"250ms","enabled":true,"max_backoff":"1m"}],"ssl":LM[{"ca_cert":"/etc/consul/ca.pem","enabled":true,"server_name":"consul.service.consul","verify":false}],"token":"s3cr3t"}],"exec":LM[{"command":["nginx","-g","daemon off;"],"env":LM[{"custom":["NGINX_ENTRYPOINT_QUIET_LOGS=1"],"denylist":["CONSUL_*","VAULT_*"]}],"kill_signal":"SIGQUIT","kill_timeout":"15s","reload_signal":"SIGHUP","splay":"1s"}],"kill_signal":"sigterm","log_level":"info","max_stale":"10s","template":LM[{"command":"nginx -s reload","destination":"/etc/nginx/conf.d/upstreams.conf","perms":int(420),"source":"/etc/nginx/templates/upstreams.ctmpl","wait":LM[{"max":"5s","min":"1s"}]},{"backup":true,"command":["/usr/sbin/nginx","-s","reload"],"command_timeout":"45s","contents":"{{ key \"nginx/htpasswd\" }}\n","destination":"/etc/nginx/htpasswd","error_on_missing_key":true,"function_denylist":["plugin","sprig_*"],"perms":"0600"}],"wait":"2s:10s"}"#;

fn nginx_expected() -> Config {
    let argv = |v: &[&str]| Some(Command::Argv(v.iter().map(|s| s.to_string()).collect()));
    Config {
        consul: ConsulConfig {
            address: s("127.0.0.1:8500"),
            token: s("s3cr3t"),
            retry: Some(RetryConfig {
                enabled: Some(true),
                attempts: Some(12),
                backoff: ms(250),
                max_backoff: secs(60),
            }),
            ssl: Some(SslConfig {
                enabled: Some(true),
                verify: Some(false),
                ca_cert: s("/etc/consul/ca.pem"),
                server_name: s("consul.service.consul"),
                ..SslConfig::default()
            }),
            ..ConsulConfig::default()
        },
        log_level: s("info"),
        kill_signal: s("SIGTERM"),
        max_stale: secs(10),
        wait: Some(WaitConfig {
            min: secs(2),
            max: secs(10),
        }),
        templates: vec![
            TemplateConfig {
                source: s("/etc/nginx/templates/upstreams.ctmpl"),
                destination: s("/etc/nginx/conf.d/upstreams.conf"),
                perms: Some(0o644),
                command: Some(Command::Shell("nginx -s reload".into())),
                wait: Some(WaitConfig {
                    min: secs(1),
                    max: secs(5),
                }),
                ..TemplateConfig::default()
            },
            TemplateConfig {
                contents: s("{{ key \"nginx/htpasswd\" }}\n"),
                destination: s("/etc/nginx/htpasswd"),
                perms: Some(0o600),
                backup: Some(true),
                error_on_missing_key: Some(true),
                command: argv(&["/usr/sbin/nginx", "-s", "reload"]),
                command_timeout: secs(45),
                function_denylist: vec!["plugin".into(), "sprig_*".into()],
                ..TemplateConfig::default()
            },
        ],
        exec: Some(ExecConfig {
            command: argv(&["nginx", "-g", "daemon off;"]),
            reload_signal: s("SIGHUP"),
            kill_signal: s("SIGQUIT"),
            kill_timeout: secs(15),
            splay: secs(1),
            env: Some(EnvConfig {
                custom: vec!["NGINX_ENTRYPOINT_QUIET_LOGS=1".into()],
                denylist: vec!["CONSUL_*".into(), "VAULT_*".into()],
                ..EnvConfig::default()
            }),
            ..ExecConfig::default()
        }),
        ..Config::default()
    }
}

#[test]
fn nginx_sidecar_config() {
    // What Go's HCL1 makes of the same text.
    let want = r#"{"consul":LM[{"address":"127.0.0.1:8500","retry":LM[{"attempts":int(12),"backoff":"250ms","enabled":true,"max_backoff":"1m"}],"ssl":LM[{"ca_cert":"/etc/consul/ca.pem","enabled":true,"server_name":"consul.service.consul","verify":false}],"token":"s3cr3t"}],"exec":LM[{"command":["nginx","-g","daemon off;"],"env":LM[{"custom":["NGINX_ENTRYPOINT_QUIET_LOGS=1"],"denylist":["CONSUL_*","VAULT_*"]}],"kill_signal":"SIGQUIT","kill_timeout":"15s","reload_signal":"SIGHUP","splay":"1s"}],"kill_signal":"sigterm","log_level":"info","max_stale":"10s","template":LM[{"command":"nginx -s reload","destination":"/etc/nginx/conf.d/upstreams.conf","perms":int(420),"source":"/etc/nginx/templates/upstreams.ctmpl","wait":LM[{"max":"5s","min":"1s"}]},{"backup":true,"command":["/usr/sbin/nginx","-s","reload"],"command_timeout":"45s","contents":"{{ key \"nginx/htpasswd\" }}\n","destination":"/etc/nginx/htpasswd","error_on_missing_key":true,"function_denylist":["plugin","sprig_*"],"perms":int(384)}],"wait":"2s:10s"}"#;
    assert_eq!(oracle(NGINX_HCL), want);
    let c = cfg(NGINX_HCL);
    assert_eq!(c.templates[0].perms, Some(0o644));
    assert_eq!(c.templates[1].perms, Some(384));
    assert_eq!(c, nginx_expected());
}

#[test]
fn nginx_sidecar_config_as_json() {
    let tree = parse_any("nginx.json", NGINX_JSON).unwrap();
    assert_eq!(typed(&tree, true), NGINX_JSON_ORACLE);
    assert_eq!(
        Config::parse("nginx.json", NGINX_JSON).unwrap(),
        nginx_expected()
    );
}

#[test]
fn truncated_configs_never_panic() {
    for src in [NGINX_HCL, NGINX_JSON] {
        for (i, _) in src.char_indices() {
            let _ = Config::parse("t", &src[..i]);
        }
    }
}

#[test]
fn wait_forms() {
    assert_eq!(
        cfg("wait = \"5s\"").wait,
        Some(WaitConfig {
            min: secs(5),
            max: secs(20)
        })
    );
    assert_eq!(
        cfg("wait = \" 5s : 10s \"").wait.unwrap().bounds(),
        (Duration::from_secs(5), Duration::from_secs(10))
    );
    assert_eq!(
        cfg("wait { min = \"3s\" }").wait.unwrap().bounds(),
        (Duration::from_secs(3), Duration::from_secs(12))
    );
    assert_eq!(
        err("wait = \"10s:5s\""),
        "config.hcl:1:1: wait: wait: max (5s) must not be less than min (10s)"
    );
    assert_eq!(
        err("wait = \"\""),
        "config.hcl:1:1: wait: wait: cannot be empty"
    );
    assert!(err("wait = \"1s:2s:3s\"").contains("invalid format"));
    assert!(err("wait = \"-1s\"").contains("cannot be negative"));
    assert_eq!(
        err("wait = 5"),
        "config.hcl:1:1: wait: expected \"MIN:MAX\" or a block, got 5"
    );
}

#[test]
fn commands_and_the_comma_quirk() {
    let t = |src: &str| {
        cfg(&format!(
            "template {{\n source = \"s\"\n command = {src}\n}}"
        ))
        .templates[0]
            .command
            .clone()
    };
    assert_eq!(
        t("\"nginx -s reload\""),
        Some(Command::Shell("nginx -s reload".into()))
    );
    assert_eq!(
        t("[\"a\", \"b c\"]"),
        Some(Command::Argv(vec!["a".into(), "b c".into()]))
    );
    // mapstructure splits a string on commas when it fills a list.
    assert_eq!(
        t("\"echo a,b\""),
        Some(Command::Argv(vec!["echo a".into(), "b".into()]))
    );
    assert_eq!(t("\"\""), Some(Command::Argv(vec![])));
    assert!(err("exec { command = 5 }").contains("exec.command: expected a command"));
}

#[test]
fn perms_forms() {
    let p = |v: &str| {
        cfg(&format!("template {{\n source = \"s\"\n perms = {v}\n}}")).templates[0].perms
    };
    assert_eq!(p("0600"), Some(0o600));
    assert_eq!(p("\"0600\""), Some(0o600));
    assert_eq!(p("\"644\""), Some(0o644));
    // A decimal 644 is 644, i.e. 0o1204, exactly as in consul-template.
    assert_eq!(p("644"), Some(644));
    let e = err("template {\n source = \"s\"\n perms = \"0999\"\n}");
    assert_eq!(
        e,
        "config.hcl:3:2: template.perms: expected a file mode between 0000 and 07777, got \"0999\""
    );
    assert!(
        err("template {\n source = \"s\"\n perms = 070000\n}").contains("between 0000 and 07777")
    );
}

#[test]
fn signals() {
    let c =
        cfg("kill_signal = \"sigterm\"\nreload_signal = \"\"\nexec { kill_signal = \"SIGNULL\" }");
    assert_eq!(c.kill_signal, s("SIGTERM"));
    assert_eq!(c.reload_signal, s("SIGNULL"));
    assert_eq!(to_signal("SIGNULL"), None);
    assert_eq!(
        to_signal("SIGTERM"),
        Some(nix::sys::signal::Signal::SIGTERM)
    );
    let e = err("kill_signal = \"SIGFOO\"");
    assert!(
        e.starts_with("config.hcl:1:1: kill_signal: unknown signal \"SIGFOO\" (valid: SIGHUP,"),
        "{e}"
    );
    assert!(err("exec {\n  reload_signal = \"HUP\"\n}")
        .starts_with("config.hcl:2:3: exec.reload_signal: unknown signal"));
}

#[test]
fn template_needs_exactly_one_of_source_and_contents() {
    let both = "template {\n  source = \"a\"\n  contents = \"b\"\n}\n";
    assert_eq!(err(both), "config.hcl:1:1: template: exactly one of \"source\" and \"contents\" must be set (both are)");
    let neither = "template { source = \"a\" }\n\ntemplate { destination = \"b\" }\n";
    assert_eq!(err(neither), "config.hcl:3:1: template: exactly one of \"source\" and \"contents\" must be set (neither is)");
    let e = Config::parse("b.json", r#"{"template": [{"source": "a"}, {}]}"#).unwrap_err();
    assert_eq!(
        e.0,
        "b.json: template[1]: exactly one of \"source\" and \"contents\" must be set (neither is)"
    );
}

#[test]
fn unknown_keys_name_file_line_and_path() {
    assert_eq!(
        err("template {\n  source = \"a\"\n  perm = 0600\n}"),
        "config.hcl:3:3: template: unknown key \"perm\""
    );
    assert_eq!(
        err("log_level = \"x\"\nfoo = 1"),
        "config.hcl:2:1: unknown key \"foo\""
    );
    assert_eq!(
        err("consul {\n  retry {\n    attempt = 5\n  }\n}"),
        "config.hcl:3:5: consul.retry: unknown key \"attempt\""
    );
    assert_eq!(
        err("exec {\n  env {\n    allow = []\n  }\n}"),
        "config.hcl:3:5: exec.env: unknown key \"allow\""
    );
    // Labels are legal HCL1, but consul-template has no labelled blocks.
    assert_eq!(
        err("template \"x\" {\n  source = \"a\"\n}"),
        "config.hcl:1:10: template: unknown key \"x\""
    );
    let e = Config::parse("b.json", r#"{"consul": {"ssl": {"verfy": true}}}"#).unwrap_err();
    assert_eq!(e.0, "b.json: consul.ssl: unknown key \"verfy\"");
}

#[test]
fn value_type_errors() {
    let e = Config::parse("dir/b.json", r#"{"consul": {"retry": {"attempts": "x"}}}"#).unwrap_err();
    assert_eq!(
        e.0,
        "dir/b.json: consul.retry.attempts: expected a number, got \"x\""
    );
    let bad_duration = "consul {\n  retry {\n    backoff = \"5x\"\n  }\n}";
    assert_eq!(
        err(bad_duration),
        "config.hcl:3:5: consul.retry.backoff: time: unknown unit \"x\" in duration \"5x\""
    );
    assert_eq!(
        err("once = \"yes\""),
        "config.hcl:1:1: once: expected true or false, got \"yes\""
    );
    assert_eq!(
        err("log_level = 3"),
        "config.hcl:1:1: log_level: expected a string, got 3"
    );
    assert_eq!(
        err("consul { retry { attempts = -1 } }"),
        "config.hcl:1:18: consul.retry.attempts: -1 is out of range"
    );
    assert_eq!(
        err("exec = \"x\""),
        "config.hcl:1:1: exec: expected a block, got \"x\""
    );
    let e = Config::parse("b.json", "{\"a\": }").unwrap_err();
    assert_eq!(e.0, "b.json:1:7: expected value");
}

#[test]
fn durations_strings_or_nanoseconds() {
    let c = cfg("max_stale = 0\nblock_query_wait = \"1m30s\"\nconsul { transport { dial_timeout = 1000000 } }");
    assert_eq!(c.max_stale, Some(Duration::ZERO));
    assert_eq!(c.block_query_wait, secs(90));
    assert_eq!(c.consul.transport.unwrap().dial_timeout, ms(1));
}

#[test]
fn keys_match_case_insensitively_like_mapstructure() {
    let c = cfg("Log_Level = \"debug\"\nCONSUL { Address = \"x\" }");
    assert_eq!(c.log_level, s("debug"));
    assert_eq!(c.consul.address, s("x"));
}

#[test]
fn repeated_blocks_keep_the_last_templates_accumulate() {
    let c = cfg("consul { address = \"a\" }\nconsul { token = \"t\" }\n\
                     template { source = \"1\" }\ntemplate { source = \"2\" }\n\
                     exec { command = \"a\" }\nexec { splay = \"1s\" }");
    assert_eq!(
        c.consul,
        ConsulConfig {
            token: s("t"),
            ..ConsulConfig::default()
        }
    );
    assert_eq!(c.templates.len(), 2);
    assert_eq!(
        c.exec,
        Some(ExecConfig {
            splay: secs(1),
            ..ExecConfig::default()
        })
    );
}

#[test]
fn legacy_and_extra_keys() {
    let c = cfg("consul = \"10.0.0.1:8500\"\n\
                     template {\n  source = \"s\"\n  function_blacklist = \"a,b\"\n  uid = 1000\n}\n\
                     exec { env { whitelist = [\"A*\"], blacklist = [\"B*\"], pristine = true } }\n\
                     default_delimiters { left = \"[[\" }\n\
                     vault { address = \"https://v\" }\n\
                     syslog { facility = \"LOCAL5\" }\n\
                     log_file { path = \"/var/log/ct/\" log_rotate_max_files = -1 }\n\
                     template_error_fatal = false\nerr_on_failed_lookup = true\nonce = true\nparseonly = false");
    assert_eq!(c.consul.address, s("10.0.0.1:8500"));
    assert_eq!(c.templates[0].function_denylist, vec!["a", "b"]);
    assert_eq!(c.templates[0].uid, Some(1000));
    let env = c.exec.unwrap().env.unwrap();
    assert_eq!(
        (env.allowlist, env.denylist, env.pristine),
        (vec!["A*".into()], vec!["B*".into()], Some(true))
    );
    assert_eq!(c.default_delimiters, Some(("[[".into(), "}}".into())));
    assert_eq!(
        c.vault,
        Some(Tree::Object(vec![(
            "address".into(),
            Tree::Str("https://v".into())
        )]))
    );
    assert_eq!(c.syslog.unwrap().facility, s("LOCAL5"));
    assert_eq!(c.log_file.unwrap().log_rotate_max_files, Some(-1));
    assert_eq!(
        (
            c.template_error_fatal,
            c.err_on_failed_lookup,
            c.once,
            c.parseonly
        ),
        (Some(false), Some(true), Some(true), Some(false))
    );
}

// --- Merging and directories ------------------------------------------------------------

#[test]
fn merge_two_configs() {
    let a = cfg(
        "consul {\n address = \"a:8500\"\n retry { attempts = 3 }\n}\nlog_level = \"info\"\n\
                     template { source = \"one\" }\nexec { env { custom = [\"A=1\"] } }",
    );
    let b = cfg(
        "consul { retry { backoff = \"1s\" } }\nmax_stale = \"5s\"\n\
                     template { source = \"two\" }\nexec { env { custom = [\"B=2\"] } }",
    );
    let m = a.merge(b);
    assert_eq!(m.consul.address, s("a:8500"));
    assert_eq!(
        m.consul.retry,
        Some(RetryConfig {
            attempts: Some(3),
            backoff: secs(1),
            ..RetryConfig::default()
        })
    );
    assert_eq!(m.log_level, s("info"));
    assert_eq!(m.max_stale, secs(5));
    let sources: Vec<_> = m
        .templates
        .iter()
        .map(|t| t.source.clone().unwrap())
        .collect();
    assert_eq!(sources, ["one", "two"]);
    assert_eq!(m.exec.unwrap().env.unwrap().custom, ["A=1", "B=2"]);
}

#[test]
fn directory_walked_in_lexical_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("05-dir")).unwrap();
    fs::write(
        d.join("05-dir/b.hcl"),
        "template { source = \"zero\" }\nlog_level = \"trace\"",
    )
    .unwrap();
    fs::write(d.join("10-consul.hcl"), "consul {\n address = \"a:8500\"\n retry { attempts = 3 }\n}\ntemplate { source = \"one\" }\nlog_level = \"info\"").unwrap();
    fs::write(d.join("20-more.json"), r#"{"consul": {"token": "t", "retry": {"backoff": "1s"}}, "template": [{"source": "two"}], "log_level": "debug"}"#).unwrap();
    let c = Config::from_path(d).unwrap();
    let sources: Vec<_> = c
        .templates
        .iter()
        .map(|t| t.source.clone().unwrap())
        .collect();
    assert_eq!(sources, ["zero", "one", "two"]);
    assert_eq!(c.log_level, s("debug"));
    assert_eq!(c.consul.address, s("a:8500"));
    assert_eq!(c.consul.token, s("t"));
    assert_eq!(c.consul.retry.unwrap().attempts, Some(3));
    // A single file works too, and errors name the file.
    assert_eq!(
        Config::from_path(d.join("10-consul.hcl"))
            .unwrap()
            .templates
            .len(),
        1
    );
    fs::write(
        d.join("30-bad.hcl"),
        "template {\n  source = \"x\"\n  perm = 1\n}",
    )
    .unwrap();
    let e = Config::from_path(d).unwrap_err();
    assert_eq!(
        e.0,
        format!(
            "{}: template: unknown key \"perm\"",
            d.join("30-bad.hcl:3:3").display()
        )
    );
    assert!(Config::from_path(d.join("missing")).is_err());
}

#[test]
fn symlinks_are_read_as_files_never_walked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("conf")).unwrap();
    fs::create_dir_all(d.join("elsewhere")).unwrap();
    fs::write(
        d.join("elsewhere/t.hcl"),
        "template { source = \"linked\" }",
    )
    .unwrap();
    fs::write(d.join("conf/a.hcl"), "template { source = \"a\" }").unwrap();
    std::os::unix::fs::symlink(d.join("elsewhere/t.hcl"), d.join("conf/b.hcl")).unwrap();
    assert_eq!(
        Config::from_path(d.join("conf")).unwrap().templates.len(),
        2
    );
    // A link to a directory is read as a file, which fails (as consul-template's Walk does).
    std::os::unix::fs::symlink(d.join("elsewhere"), d.join("conf/c")).unwrap();
    let e = Config::from_path(d.join("conf")).unwrap_err();
    assert!(
        e.0.starts_with(&d.join("conf/c").display().to_string()),
        "{e}"
    );
}

#[test]
fn the_status_block_names_the_renderer_listener() {
    let c = cfg("status { address = \"127.0.0.1:9110\" }");
    assert_eq!(c.status_address, s("127.0.0.1:9110"));
    let later = cfg("status { address = \"0.0.0.0:9111\" }");
    assert_eq!(c.merge(later).status_address, s("0.0.0.0:9111"));
    let e = Config::parse("config.hcl", "status { port = 9110 }").unwrap_err();
    assert!(e.0.contains("port"), "{e}");
}
