//! The web UI in a real browser: `tests/ui_browser.py` drives Debian's headless Chromium
//! through Selenium against a `ctmpl agent -dev` it starts itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::repo_path;

/// Selenium from PyPI; any 4.x speaks W3C WebDriver to Debian's chromium-driver.
const SELENIUM: &str = "selenium==4.51.0";

/// Where a program is on PATH, if anywhere.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Fails, naming the Debian package to install, when the browser or its driver is missing.
fn require_browser() {
    let mut missing = Vec::new();
    if on_path("chromium").is_none() && on_path("chromium-browser").is_none() {
        missing.push("chromium");
    }
    if on_path("chromedriver").is_none() {
        missing.push("chromium-driver");
    }
    assert!(
        missing.is_empty(),
        "the UI browser test needs the Debian package(s) {0}: apt-get install -y {0} \
         (.ci/run installs them)",
        missing.join(" ")
    );
}

/// A virtualenv with Selenium, made once under `target/`; a stamp file names the version, so
/// a half-made or outdated venv is made again.
fn selenium_python() -> PathBuf {
    let venv = repo_path("target/ui-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(format!(".installed-{SELENIUM}"));
    if stamp.exists() {
        return python;
    }
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        SELENIUM,
    ]));
    std::fs::write(&stamp, "").expect("write the venv stamp");
    python
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_web_ui_shows_services_nodes_and_kv_live_in_a_browser() {
    require_browser();
    let python = selenium_python();
    let script = repo_path("tests/ui_browser.py");
    let started = Instant::now();
    let out = Command::new(&python)
        .arg(&script)
        .arg(Path::new(env!("CARGO_BIN_EXE_ctmpl")))
        .output()
        .expect("run tests/ui_browser.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/ui_browser.py failed ({}) after {:.1?}:\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status,
        started.elapsed()
    );
}
