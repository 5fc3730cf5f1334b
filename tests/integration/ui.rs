//! The web UI in a real browser: `tests/ui_browser.py` drives Debian's headless Chromium
//! through Selenium against a `ctmpl agent -dev` it starts itself, and
//! `tests/ui_templates_browser.py` the Templates view under `ctmpl -dev`. Each run takes the
//! screenshot docs/ shows and compares it with docs/'s copy, so a UI change that leaves the
//! README's pictures stale fails here; `CTMPL_UPDATE_SCREENSHOTS=1` writes them to docs/
//! instead (how they are made).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::repo_path;
use crate::support::python_venv;

/// Selenium from PyPI; any 4.x speaks W3C WebDriver to Debian's chromium-driver.
const SELENIUM: &str = "selenium==4.51.0";

/// The size the scripts make their screenshots (the window's inner size).
const SCREENSHOT_SIZE: (u32, u32) = (1280, 900);

/// Share of pixels a fresh screenshot of the Services view must have alike with docs/ui.png.
/// Its agent has a fixed node name, so two runs of the same UI on this kind of machine differ
/// only in the `consul` service's server port (up to 0.03% of the pixels). The bound leaves room
/// for font and timing noise (a flaky CI is worse than a slightly stale picture): a change of
/// layout, colour or wording of a whole row moves well over 0.2%.
const SERVICES_ALIKE: f64 = 0.998;
/// The same for the Templates view, whose page says when the template rendered and the host's
/// node name (about 0.2% of the pixels between two runs).
const TEMPLATES_ALIKE: f64 = 0.99;

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

/// Whether this run writes docs/'s screenshots rather than checking them.
fn updating_docs() -> bool {
    std::env::var_os("CTMPL_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1")
}

/// Runs `script` with the built ctmpl, its screenshot going to `screenshot`.
fn run_browser_script(script: &str, screenshot: &Path) {
    require_browser();
    let python = python_venv("ui-venv", &[SELENIUM]);
    let started = Instant::now();
    let out = Command::new(&python)
        .arg(repo_path(script))
        .arg(Path::new(env!("CARGO_BIN_EXE_ctmpl")))
        .arg("--screenshot")
        .arg(screenshot)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}) after {:.1?}:\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status,
        started.elapsed()
    );
}

/// A PNG's size and its pixels as 8-bit RGBA.
fn read_png(path: &Path) -> ((u32, u32), Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    buf.truncate(frame.buffer_size());
    let rgba = match frame.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    ((frame.width, frame.height), rgba)
}

/// The share of pixels two images of the same size have alike.
fn alike(a: &[u8], b: &[u8]) -> f64 {
    let pixels = a.len() / 4;
    let same = a.chunks(4).zip(b.chunks(4)).filter(|(x, y)| x == y).count();
    same as f64 / pixels.max(1) as f64
}

/// Takes docs/`name` anew with `script`: into docs/ when updating, else into a temporary
/// folder, and then the fresh one and docs/'s must look alike.
fn take_and_check_screenshot(script: &str, name: &str, alike_at_least: f64) {
    let docs = repo_path(&format!("docs/{name}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = if updating_docs() {
        docs.clone()
    } else {
        dir.path().join(name)
    };
    run_browser_script(script, &taken);
    let (size, fresh) = read_png(&taken);
    assert_eq!(size, SCREENSHOT_SIZE, "{script}'s screenshot");
    if updating_docs() {
        return;
    }
    let (docs_size, shown) = read_png(&docs);
    assert_eq!(docs_size, SCREENSHOT_SIZE, "docs/{name}");
    let share = alike(&fresh, &shown);
    eprintln!("docs/{name}: {:.3}% of pixels alike", share * 100.0);
    assert!(
        share >= alike_at_least,
        "docs/{name} no longer shows the UI as it is ({:.3}% of pixels alike, {:.3}% needed): \
         make it anew with CTMPL_UPDATE_SCREENSHOTS=1 cargo test --test integration ui::",
        share * 100.0,
        alike_at_least * 100.0
    );
}

#[test]
fn the_web_ui_shows_services_nodes_and_kv_live_in_a_browser() {
    take_and_check_screenshot("tests/ui_browser.py", "ui.png", SERVICES_ALIKE);
}

/// `ctmpl -dev`'s UI: the Templates view shows each template, its dependencies and what it
/// waits for, and follows a render live (`tests/ui_templates_browser.py`).
#[test]
fn the_templates_view_under_ctmpl_dev_shows_what_each_template_waits_for() {
    take_and_check_screenshot(
        "tests/ui_templates_browser.py",
        "ui-templates.png",
        TEMPLATES_ALIKE,
    );
}

#[test]
fn pixel_likeness_counts_whole_pixels() {
    let a = [1, 2, 3, 255, 9, 9, 9, 255];
    assert_eq!(alike(&a, &a), 1.0);
    assert_eq!(alike(&a, &[1, 2, 3, 255, 9, 9, 8, 255]), 0.5);
}
