//! A few cases of the golden corpus (`crates/gotmpl/tests/golden/`) run through `ctmpl render`, so
//! the CLI path — template name, `--data`, `--missingkey`, the delimiters, error text and exit
//! status — stays checked against Go. The whole corpus runs in-process in gotmpl's own test
//! (`crates/gotmpl/tests/golden.rs`).

use std::fs;

use crate::{ctmpl, repo_path};

/// Case names, and the exit status Go's oracle gave: 0, 1 for a parse error, 2 for an exec error.
const CASES: &[(&str, i32)] = &[
    // Data, a full nginx configuration.
    ("nginx_full_config", 0),
    // `.args`: missingkey=error; an exec error after partial output.
    ("nginx_missing_service_error", 2),
    // `.args`: custom delimiters.
    ("delim_brackets", 0),
    // A parse error.
    ("err_parse_unterminated_raw", 1),
    // JSON data that is not UTF-8, and a template that is not.
    ("bytes_json_replaced", 0),
    ("bytes_source_text", 0),
    // Go's exec depth limit, reached without overflowing the stack.
    ("recur_infinite", 2),
    // No data: dot is nil.
    ("recur_depth_counter", 0),
];

#[test]
fn golden_cases_through_the_cli_match_go() {
    let dir = repo_path("crates/gotmpl/tests/golden");
    let mut failures = Vec::new();
    for &(name, want_code) in CASES {
        let mut args = vec!["render".to_string()];
        if let Ok(opts) = fs::read_to_string(dir.join(format!("{name}.args"))) {
            for line in opts.lines().filter(|l| !l.is_empty()) {
                let (key, value) = line.split_once('=').expect("KEY=VALUE in .args");
                let flag = match key {
                    "missingkey" => "--missingkey",
                    "left" => "--left-delim",
                    "right" => "--right-delim",
                    other => panic!("{name}.args: unknown option {other}"),
                };
                args.extend([flag.to_string(), value.to_string()]);
            }
        }
        if dir.join(format!("{name}.json")).exists() {
            args.extend(["--data".to_string(), format!("{name}.json")]);
        }
        args.push(format!("{name}.tmpl"));
        let want_out = fs::read(dir.join(format!("{name}.out"))).expect("NAME.out");
        let want_err = fs::read(dir.join(format!("{name}.err"))).unwrap_or_default();
        assert_eq!(
            want_err.is_empty(),
            want_code == 0,
            "{name}: CASES is wrong"
        );
        let got = ctmpl()
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("run ctmpl");
        if got.stdout != want_out {
            failures.push(format!(
                "{name}: stdout:\n  want {:?}\n  got  {:?}",
                String::from_utf8_lossy(&want_out),
                String::from_utf8_lossy(&got.stdout)
            ));
        }
        if got.stderr != want_err {
            failures.push(format!(
                "{name}: stderr:\n  want {:?}\n  got  {:?}",
                String::from_utf8_lossy(&want_err),
                String::from_utf8_lossy(&got.stderr)
            ));
        }
        if got.status.code() != Some(want_code) {
            failures.push(format!(
                "{name}: exit status {:?}, want {want_code}",
                got.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
