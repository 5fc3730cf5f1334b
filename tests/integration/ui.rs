//! The web UI in a real browser: `tests/ui_browser.py` drives Debian's headless Chromium
//! through Selenium against a `ctmpl agent -dev` it starts itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::repo_path;
use crate::support::python_venv;

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

#[test]
fn the_web_ui_shows_services_nodes_and_kv_live_in_a_browser() {
    require_browser();
    let python = python_venv("ui-venv", &[SELENIUM]);
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

/// `ctmpl -dev`'s UI: the Templates view shows each template, its dependencies and what it
/// waits for, and follows a render live (`tests/ui_templates_browser.py`).
#[test]
fn the_templates_view_under_ctmpl_dev_shows_what_each_template_waits_for() {
    require_browser();
    let python = python_venv("ui-venv", &[SELENIUM]);
    let script = repo_path("tests/ui_templates_browser.py");
    let started = Instant::now();
    let out = Command::new(&python)
        .arg(&script)
        .arg(Path::new(env!("CARGO_BIN_EXE_ctmpl")))
        .output()
        .expect("run tests/ui_templates_browser.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/ui_templates_browser.py failed ({}) after {:.1?}:\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status,
        started.elapsed()
    );
}
