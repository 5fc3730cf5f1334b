//! The golden corpus, in one process: every `tests/golden/NAME.tmpl` parsed and executed here
//! must give, byte for byte, what Go's own text/template printed for it — `NAME.out`, and
//! `NAME.err` (Go's stderr) when Go failed. The expected files come from Go only (`regen.sh`).
//!
//! A case is run as `ctmpl render` runs it (`src/cli/render.rs`): the template is named by its bare
//! file name, `NAME.args` sets `missingkey` and the delimiters, `NAME.json` is dot (its bytes
//! read as Go's JSON decoder reads them) and is nil when absent; an error is its message plus a
//! newline, after whatever was written before it. Every case also runs twice with one memo
//! (reusing `range` iterations, as the runner re-renders): the second run must match Go too.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use gotmpl::{GoStr, Memo, MissingKey, Template, Value};

/// One case's inputs, from `NAME.tmpl`, `NAME.json` and `NAME.args`.
struct Case {
    name: String,
    text: Vec<u8>,
    json: Option<Vec<u8>>,
    missing_key: MissingKey,
    left: String,
    right: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read_case(dir: &Path, name: &str) -> Case {
    let file = |ext: &str| dir.join(format!("{name}.{ext}"));
    let mut case = Case {
        name: name.to_string(),
        text: fs::read(file("tmpl")).expect("NAME.tmpl"),
        json: fs::read(file("json")).ok(),
        missing_key: MissingKey::Default,
        left: String::new(),
        right: String::new(),
    };
    if let Ok(opts) = fs::read_to_string(file("args")) {
        for line in opts.lines().filter(|l| !l.is_empty()) {
            let (key, value) = line.split_once('=').expect("KEY=VALUE in .args");
            match key {
                "missingkey" => case.missing_key = value.parse().expect("a missingkey option"),
                "left" => case.left = value.to_string(),
                "right" => case.right = value.to_string(),
                other => panic!("{name}.args: unknown option {other}"),
            }
        }
    }
    case
}

/// Iterations the memo runs reused, over the corpus: proof that the second runs reuse.
static REUSED: AtomicU64 = AtomicU64::new(0);

/// How a case is executed.
#[derive(Clone, Copy, Debug)]
enum Run {
    /// Once, as `ctmpl render` does.
    Plain,
    /// Twice with one memo (see `gotmpl::memo`), the second reusing what the first recorded:
    /// the second's output. The runner re-renders this way.
    Memo,
}

/// Renders a case as `ctmpl render` does: its stdout and its stderr.
fn render(case: &Case, run: Run) -> (Vec<u8>, Vec<u8>) {
    let file = format!("{}.tmpl", case.name);
    let data = match &case.json {
        // Go's decoder reads each byte that is not UTF-8 as U+FFFD.
        Some(bytes) => {
            let text = String::from_utf8(bytes.clone())
                .unwrap_or_else(|e| GoStr::Raw(e.as_bytes()).to_lossy());
            match Value::from_json(&text) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        Vec::new(),
                        format!("{}.json: invalid JSON: {e}\n", case.name).into(),
                    )
                }
            }
        }
        None => Value::Missing,
    };
    let mut tmpl = Template::new(&file)
        .delims(&case.left, &case.right)
        .missing_key(case.missing_key);
    if let Err(e) = tmpl.parse(&case.text) {
        return (Vec::new(), format!("{e}\n").into());
    }
    let mut out = Vec::new();
    let result = match run {
        Run::Plain => tmpl.execute(&mut out, &data),
        Run::Memo => {
            let mut memo = Memo::new();
            let mut first = Vec::new();
            let _ = tmpl.execute_memo(tmpl.name(), &mut first, &data, None, &mut memo);
            let second = tmpl.execute_memo(tmpl.name(), &mut out, &data, None, &mut memo);
            REUSED.fetch_add(memo.stats().reused, Ordering::Relaxed);
            second
        }
    };
    let err = match result {
        Ok(()) => Vec::new(),
        Err(e) => format!("{e}\n").into(),
    };
    (out, err)
}

/// Runs one case; describes how it differs from Go, if it does.
fn check(dir: &Path, name: &str) -> Option<String> {
    let case = read_case(dir, name);
    let want_out = fs::read(dir.join(format!("{name}.out"))).expect("NAME.out");
    let want_err = fs::read(dir.join(format!("{name}.err"))).unwrap_or_default();
    let mut diffs = Vec::new();
    for run in [Run::Plain, Run::Memo] {
        let (out, err) = match catch_unwind(AssertUnwindSafe(|| render(&case, run))) {
            Ok(got) => got,
            Err(_) => return Some(format!("{name}: panicked ({run:?})")),
        };
        for (what, want, got) in [("stdout", &want_out, &out), ("stderr", &want_err, &err)] {
            if want != got {
                diffs.push(format!(
                    "{what} ({run:?}):\n  want {:?}\n  got  {:?}",
                    String::from_utf8_lossy(want),
                    String::from_utf8_lossy(got)
                ));
            }
        }
    }
    (!diffs.is_empty()).then(|| format!("{name}: {}", diffs.join("\n")))
}

#[test]
fn golden_corpus_matches_go() {
    let dir = dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".tmpl").map(str::to_string))
        .collect();
    names.sort();
    assert!(
        names.len() >= 1000,
        "the corpus has only {} cases",
        names.len()
    );
    // Deeply nested data and recursive templates must end in Go's errors, not a stack overflow:
    // `ctmpl render` runs on a deep stack too.
    let run = {
        let dir = dir.clone();
        let names = names.clone();
        move || -> Vec<String> { names.iter().filter_map(|n| check(&dir, n)).collect() }
    };
    let failures = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(run)
        .expect("a thread")
        .join()
        .expect("the corpus run");
    let reused = REUSED.load(Ordering::Relaxed);
    assert!(
        reused > 100,
        "the memo runs reused only {reused} iterations"
    );
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ from Go:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}
