//! `file` dependency latency (issue 17: "a `file` change re-renders in ≤ 50 ms"): from the atomic
//! rename of the watched file to the destination renamed in place (seen with inotify), for a Go
//! and a Jinja template, with the platform's watcher and with `CTMPL_WATCH_POLL=1` (notify's
//! poll watcher, once a second). p50, p90 and max over `EDITS` edits (default 50).
//!
//! `cargo bench --bench filewatch` (optionally `EDITS=N`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

fn start_agent() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctmpl"))
        .args(["agent", "-dev", "-http-port", "0", "-server-port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("agent");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().and_then(Result::ok).expect("agent output");
        if let Some(rest) = line.split("HTTP API on ").nth(1) {
            break rest.split(',').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Edits `data` `edits` times; the time from each rename to the new destination file.
fn measure(addr: &str, template: &str, ext: &str, poll: bool, edits: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    let src = dir.path().join(format!("in.{ext}"));
    let dest = dir.path().join("out.conf");
    std::fs::write(&data, "start").unwrap();
    std::fs::write(&src, template.replace("@DATA@", data.to_str().unwrap())).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctmpl"));
    cmd.args([
        "-consul-addr",
        addr,
        "-template",
        &format!("{}:{}", src.display(), dest.display()),
    ]);
    if poll {
        cmd.env("CTMPL_WATCH_POLL", "1");
    }
    let mut ctmpl = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&dest, "start");
    let inotify = Inotify::init(InitFlags::empty()).unwrap();
    inotify
        .add_watch(
            dir.path(),
            AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE,
        )
        .unwrap();
    let mut took = Vec::with_capacity(edits);
    for i in 0..edits {
        std::thread::sleep(Duration::from_millis(150));
        let tmp = dir.path().join("data.tmp");
        std::fs::write(&tmp, i.to_string()).unwrap();
        let start = Instant::now();
        std::fs::rename(&tmp, &data).unwrap();
        loop {
            let events = inotify.read_events().unwrap();
            let rendered = events
                .iter()
                .any(|e| e.name.as_deref() == Some(std::ffi::OsStr::new("out.conf")));
            if rendered && std::fs::read_to_string(&dest).unwrap() == i.to_string() {
                break;
            }
        }
        took.push(start.elapsed());
    }
    let _ = ctmpl.kill();
    let _ = ctmpl.wait();
    took
}

fn wait_for(dest: &Path, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(dest).ok().as_deref() != Some(want) {
        assert!(Instant::now() < deadline, "no first render of {want:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn main() {
    let edits: usize = std::env::var("EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let (mut agent, addr) = start_agent();
    for (name, template, ext, poll) in [
        ("go, inotify", "{{ file \"@DATA@\" }}", "tmpl", false),
        ("jinja, inotify", "{{ file(\"@DATA@\") }}", "j2", false),
        ("go, poll watcher", "{{ file \"@DATA@\" }}", "tmpl", true),
    ] {
        let n = if poll { edits.min(10) } else { edits };
        let mut took = measure(&addr, template, ext, poll, n);
        took.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "file change to render ({name}): {n} edits, p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            ms(took[n / 2]),
            ms(took[n * 9 / 10]),
            ms(took[n - 1])
        );
    }
    let _ = agent.kill();
    let _ = agent.wait();
}
