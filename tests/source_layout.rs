//! Checks on the source tree itself, for what issue #12 promised of its shape: no source file
//! grows past about 1,500 lines before its tests, the `gotmpl` crate depends on nothing of ours
//! (nor on the async or storage stack), and no hand-written cryptographic or encoding primitive
//! creeps back in where a well-kept crate does the job.
//!
//! They read files only; they run no binary.

use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a source file may hold before its `#[cfg(test)] mod …`.
const MAX_LINES_BEFORE_TESTS: usize = 1_500;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The source files of the binary's crate and of every crate under `crates/`.
fn source_files() -> Vec<PathBuf> {
    let mut files = rust_files(&repo().join("src"));
    files.extend(rust_files(&repo().join("crates")));
    files
}

/// The module a `mod NAME` line declares, if `line` is one (`pub`, `pub(crate)` … allowed).
fn declared_module(line: &str) -> Option<&str> {
    let line = line.trim();
    let rest = match line.strip_prefix("pub") {
        Some(rest) => rest.trim_start_matches(|c| c != ' ').trim_start(),
        None => line,
    };
    let name = rest.strip_prefix("mod ")?;
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&name[..end]).filter(|n| !n.is_empty())
}

/// Where the file for module `name`, declared in `parent`, lives: `name.rs` or `name/mod.rs`
/// next to a `mod.rs`/`lib.rs`/`main.rs`, else in the folder named after `parent`.
fn module_files(parent: &Path, name: &str) -> [PathBuf; 2] {
    let dir = parent.parent().expect("a file has a folder");
    let stem = parent.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let base = match stem {
        "mod" | "lib" | "main" => dir.to_path_buf(),
        _ => dir.join(stem),
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
}

/// The line index of the first `#[cfg(test)]` directly above a `mod` declaration.
fn test_module_start(lines: &[&str]) -> Option<usize> {
    lines
        .windows(2)
        .position(|pair| pair[0].trim() == "#[cfg(test)]" && declared_module(pair[1]).is_some())
}

/// Files that are themselves test modules (`#[cfg(test)] mod tests;` in their parent).
fn test_only_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut test_only = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).expect("a source file");
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            let out_of_line = pair[1].trim_end().ends_with(';');
            if pair[0].trim() == "#[cfg(test)]" && out_of_line {
                if let Some(name) = declared_module(pair[1]) {
                    test_only.extend(module_files(file, name));
                }
            }
        }
    }
    test_only
}

/// Each non-test source file and how many lines it holds before its tests.
fn lines_before_tests() -> Vec<(PathBuf, usize)> {
    let files = source_files();
    let test_only = test_only_files(&files);
    files
        .into_iter()
        .filter(|f| !test_only.contains(f))
        .map(|file| {
            let text = fs::read_to_string(&file).expect("a source file");
            let lines: Vec<&str> = text.lines().collect();
            let count = test_module_start(&lines).unwrap_or(lines.len());
            (file, count)
        })
        .collect()
}

#[test]
fn the_counter_finds_test_modules_inline_and_out_of_line() {
    let code = ["use x;", "fn a() {}", "#[cfg(test)]", "mod tests {", "}"];
    assert_eq!(test_module_start(&code), Some(2));
    let import = ["#[cfg(test)]", "use super::x;", "fn a() {}"];
    assert_eq!(test_module_start(&import), None);
    assert_eq!(declared_module("pub(crate) mod check;"), Some("check"));
    assert_eq!(declared_module("mod tests {"), Some("tests"));
    assert_eq!(declared_module("let module = 1;"), None);
    // The tree has both kinds, so the counter must have found some of each.
    let test_only = test_only_files(&source_files());
    let funcs_tests = repo().join("src/template/funcs/tests.rs");
    assert!(test_only.contains(&funcs_tests), "{test_only:?}");
    let counts = lines_before_tests();
    let catalog = repo().join("src/agent/catalog.rs");
    let whole = fs::read_to_string(&catalog).unwrap().lines().count();
    let (_, before) = counts.iter().find(|(f, _)| *f == catalog).unwrap();
    assert!(*before < whole, "catalog.rs has inline tests");
}

#[test]
fn no_source_file_holds_more_than_1500_lines_before_its_tests() {
    let counts = lines_before_tests();
    assert!(
        counts.len() > 100,
        "only {} source files found",
        counts.len()
    );
    let too_long: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > MAX_LINES_BEFORE_TESTS)
        .map(|(f, n)| format!("{}: {n} lines", f.display()))
        .collect();
    assert!(
        too_long.is_empty(),
        "split these (at most {MAX_LINES_BEFORE_TESTS} lines before the tests):\n{}",
        too_long.join("\n")
    );
}

/// The crate names in the `[dependencies]` table of a Cargo.toml.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_table = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[dependencies]";
        } else if in_table && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

#[test]
fn gotmpl_depends_on_serde_only() {
    let manifest = fs::read_to_string(repo().join("crates/gotmpl/Cargo.toml")).unwrap();
    assert_eq!(dependencies(&manifest), ["serde", "serde_json"]);
    // And the binary crate does list dependencies, so the reader above reads something.
    let ours = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let ours = dependencies(&ours);
    assert!(ours.iter().any(|d| d == "tokio") && ours.iter().any(|d| d == "gotmpl"));
}

#[test]
fn no_hand_written_hash_checksum_or_base64_tables() {
    // Built from pieces so that this file does not match itself.
    let markers = [
        (
            concat!("0x6a09", "e667"),
            "SHA-256's initial hash (use sha2)",
        ),
        (
            concat!("0x428a", "2f98"),
            "SHA-256's round constants (use sha2)",
        ),
        (
            concat!("0x6745", "2301"),
            "MD5's/SHA-1's initial state (use md-5, sha1)",
        ),
        (
            concat!("0xd76a", "a478"),
            "MD5's round constants (use md-5)",
        ),
        (
            concat!("0xedb8", "8320"),
            "CRC-32's polynomial (use crc32fast)",
        ),
        (concat!("0x3636", "3636"), "HMAC's inner pad (use hmac)"),
        (
            concat!(
                "ABCDEFGHIJKLMNOP",
                "QRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            ),
            "a base64 alphabet (use base64)",
        ),
        (
            concat!("Random", "State"),
            "std's hasher keys as a random source (use getrandom or uuid)",
        ),
    ];
    let mut found = Vec::new();
    for file in source_files() {
        let text = fs::read_to_string(&file).unwrap().to_ascii_lowercase();
        for (marker, what) in markers {
            if text.contains(&marker.to_ascii_lowercase()) {
                found.push(format!("{}: {what}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
