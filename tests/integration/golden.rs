//! The golden corpus: every `tests/golden/NAME.tmpl` rendered by `ctmpl render` must match, byte
//! for byte, what Go's text/template printed for it (`NAME.out`, and `NAME.err` for errors).

use std::fs;
use std::path::Path;

use crate::{ctmpl, repo_path};

struct Case {
    name: String,
    args: Vec<String>,
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".tmpl").map(str::to_string))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
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
            Case { name, args }
        })
        .collect()
}

/// Runs one case; returns a description of the difference, if any.
fn check(dir: &Path, case: &Case) -> Option<String> {
    let want_out = fs::read(dir.join(format!("{}.out", case.name))).ok()?;
    let want_err = fs::read(dir.join(format!("{}.err", case.name))).ok();
    let got = ctmpl()
        .args(&case.args)
        .current_dir(dir)
        .output()
        .expect("run ctmpl");
    let mut diffs = Vec::new();
    if got.stdout != want_out {
        diffs.push(format!(
            "stdout:\n  want {:?}\n  got  {:?}",
            String::from_utf8_lossy(&want_out),
            String::from_utf8_lossy(&got.stdout)
        ));
    }
    let want_err = want_err.unwrap_or_default();
    if got.stderr != want_err {
        diffs.push(format!(
            "stderr:\n  want {:?}\n  got  {:?}",
            String::from_utf8_lossy(&want_err),
            String::from_utf8_lossy(&got.stderr)
        ));
    }
    if got.status.success() != want_err.is_empty() {
        diffs.push(format!(
            "exit status {:?}, want {}",
            got.status.code(),
            if want_err.is_empty() { "0" } else { "non-zero" }
        ));
    }
    (!diffs.is_empty()).then(|| format!("{}: {}", case.name, diffs.join("\n")))
}

#[test]
fn golden_corpus_matches_go() {
    let dir = repo_path("tests/golden");
    let cases = cases(&dir);
    assert!(
        cases.len() >= 300,
        "the corpus has only {} cases",
        cases.len()
    );
    let failures: Vec<String> = cases.iter().filter_map(|c| check(&dir, c)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
