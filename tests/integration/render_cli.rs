//! `ctmpl render` as a command: flags, exit statuses, and the Go 1.24+ behaviour that the Go 1.23
//! oracle cannot produce (range over an integer, tested against Go's documentation).

use std::fs;

use crate::{ctmpl, stderr, stdout};

fn render(template: &str, data: Option<&str>, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmpl = dir.path().join("t.tmpl");
    fs::write(&tmpl, template).expect("write template");
    let mut cmd = ctmpl();
    cmd.arg("render").args(extra);
    if let Some(json) = data {
        let path = dir.path().join("d.json");
        fs::write(&path, json).expect("write data");
        cmd.arg("--data").arg(path);
    }
    cmd.arg("t.tmpl")
        .current_dir(dir.path())
        .output()
        .expect("run ctmpl")
}

#[test]
fn range_over_an_integer_counts_from_zero() {
    // Go 1.24: "{{range 3}}" iterates 0, 1, 2 with dot set to the value; "$i := N" declares it.
    let o = render(
        "{{range 3}}[{{.}}]{{end}}|{{range $i := 2}}{{$i}}{{end}}",
        None,
        &[],
    );
    assert_eq!(stdout(&o), "[0][1][2]|01", "{}", stderr(&o));
    let o = render(
        "{{range 0}}x{{else}}empty{{end}}{{range -2}}x{{else}}neg{{end}}",
        None,
        &[],
    );
    assert_eq!(stdout(&o), "emptyneg");
    let o = render("{{range $i, $e := 3}}{{end}}", None, &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("can't use 3 to iterate over more than one variable"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn range_over_a_float_from_json_is_an_error() {
    // JSON numbers are float64, which Go cannot range over.
    let o = render("{{range .n}}x{{end}}", Some(r#"{"n": 3}"#), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with("range can't iterate over 3\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn exit_statuses_tell_parse_from_exec_errors() {
    let parse = render("{{if}}", None, &[]);
    assert_eq!(parse.status.code(), Some(1));
    assert_eq!(stderr(&parse), "template: t.tmpl:1: missing value for if\n");
    let exec = render("a{{index 1 2}}", None, &[]);
    assert_eq!(exec.status.code(), Some(2));
    assert_eq!(stdout(&exec), "a", "output before the error is kept");
    let usage = render("x", None, &["--missingkey", "sometimes"]);
    assert_eq!(usage.status.code(), Some(64));
}

#[test]
fn go_style_flags_with_one_or_two_dashes() {
    let o = render(
        "[[.a]]{{.a}}",
        Some(r#"{"a": 1}"#),
        &["-left-delim", "[[", "--right-delim=]]"],
    );
    assert_eq!(stdout(&o), "1{{.a}}", "{}", stderr(&o));
    let o = render("{{.nope}}", Some("{}"), &["-missingkey=error"]);
    assert!(
        stderr(&o).contains("map has no entry for key \"nope\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_json_names_the_file() {
    let o = render("x", Some("{nope"), &[]);
    assert_eq!(o.status.code(), Some(64));
    assert!(
        stderr(&o).contains("d.json: invalid JSON"),
        "{}",
        stderr(&o)
    );
}
