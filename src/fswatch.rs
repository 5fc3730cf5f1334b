//! File-system change notification (the `notify` crate) for the things ctmpl re-reads when they
//! change: the agent's `-config-dir`s and `-config-file`s. The platform's watcher (inotify on
//! Linux) answers within milliseconds; where it cannot start (no inotify instances left, some
//! network file systems) notify's poll watcher takes over, so a change is still seen, later.
//!
//! `CTMPL_WATCH_POLL=1` in the environment asks for the poll watcher from the start: on a network
//! file system inotify starts but never hears of another machine's writes.
//!
//! Callers get a coalescing wake-up (`tokio::sync::Notify`), not the events: they re-read
//! what they watch, so a burst of events (an editor's write, rename and chmod) is one reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{Event, PollWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

/// How often the fallback poll watcher looks.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The environment variable that asks for the poll watcher (`1` or `true`).
pub const FORCE_POLL_ENV: &str = "CTMPL_WATCH_POLL";

/// Whether the environment asks for the poll watcher.
fn poll_forced() -> bool {
    std::env::var(FORCE_POLL_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Watches paths while it lives.
pub struct FsWatch {
    _watcher: Box<dyn Watcher + Send>,
    /// Which watcher runs: `inotify` (or the platform's) or `poll`.
    pub kind: &'static str,
}

/// Watches each of `paths` (a directory: its entries; a file: the file, through its directory
/// so that a replaced file is still seen), waking `changed` on every event.
pub fn watch(paths: &[PathBuf], changed: Arc<Notify>) -> Result<FsWatch, String> {
    start(paths, changed, None)
}

/// Watches the one file `path` (through its directory), waking `changed` only on events that
/// name it: the writing of a neighbour (the temporary file of an atomic replace, say) would
/// otherwise wake a reader that then finds nothing new, and its next read would have to wait
/// out the reader's spacing between reads (the `file` dependency's 100 ms).
pub fn watch_file(path: &Path, changed: Arc<Notify>) -> Result<FsWatch, String> {
    let name = path.file_name().map(|n| n.to_os_string());
    start(&[path.to_path_buf()], changed, name)
}

fn start(
    paths: &[PathBuf],
    changed: Arc<Notify>,
    only: Option<std::ffi::OsString>,
) -> Result<FsWatch, String> {
    let targets = targets(paths);
    let wake = changed.clone();
    let handler = move |res: notify::Result<Event>| {
        let Ok(event) = res else { return };
        let named = |e: &Event| match &only {
            // No paths: the watcher lost track (an overflow, say); better read again.
            Some(name) => e.paths.is_empty() || e.paths.iter().any(|p| p.file_name() == Some(name)),
            None => true,
        };
        if !event.kind.is_access() && named(&event) {
            wake.notify_one();
        }
    };
    if poll_forced() {
        tracing::info!("{FORCE_POLL_ENV} is set: polling every {POLL_INTERVAL:?}");
        return poll(&targets, handler, POLL_INTERVAL);
    }
    let native = notify::recommended_watcher(handler.clone())
        .map_err(|e| e.to_string())
        .and_then(|mut w| add_all(&mut w, &targets).map(|()| w));
    match native {
        Ok(w) => Ok(FsWatch {
            _watcher: Box::new(w),
            kind: "native",
        }),
        Err(e) => {
            tracing::warn!("file watcher unavailable ({e}); polling every {POLL_INTERVAL:?}");
            poll(&targets, handler, POLL_INTERVAL)
        }
    }
}

/// The fallback: notify's poll watcher, which compares the targets' metadata every `every`.
fn poll(
    targets: &[PathBuf],
    handler: impl notify::EventHandler,
    every: Duration,
) -> Result<FsWatch, String> {
    let config = notify::Config::default().with_poll_interval(every);
    let mut w = PollWatcher::new(handler, config).map_err(|e| e.to_string())?;
    add_all(&mut w, targets)?;
    Ok(FsWatch {
        _watcher: Box::new(w),
        kind: "poll",
    })
}

/// Directories as they are; a file's directory (editors replace files by renaming).
fn targets(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf()
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn add_all(w: &mut dyn Watcher, targets: &[PathBuf]) -> Result<(), String> {
    for t in targets {
        w.watch(t, RecursiveMode::NonRecursive)
            .map_err(|e| format!("watch {}: {e}", t.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (on a runtime of its own) for `changed` to be woken, up to `secs`.
    fn woken_within(changed: &Arc<Notify>, secs: u64) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(secs), changed.notified())
                .await
                .is_ok()
        })
    }

    fn edit(path: &Path, text: &str) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn the_poll_watcher_sees_a_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.txt");
        std::fs::write(&file, "one").unwrap();
        let changed = Arc::new(Notify::new());
        let wake = changed.clone();
        let handler = move |res: notify::Result<Event>| {
            if res.is_ok_and(|e| !e.kind.is_access()) {
                wake.notify_one();
            }
        };
        let w = poll(
            &targets(std::slice::from_ref(&file)),
            handler,
            Duration::from_millis(100),
        )
        .unwrap();
        assert_eq!(w.kind, "poll");
        // The poll watcher's first scan is its baseline, taken when its thread gets to it (late
        // on a loaded machine): an edit after it is a change, so edit until one is seen.
        let seen = (1..=10).any(|i| {
            edit(&file, &"x".repeat(i));
            woken_within(&changed, 1)
        });
        assert!(seen, "no wake-up from the poll watcher");
    }

    #[test]
    fn a_watched_file_is_not_woken_by_its_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.txt");
        std::fs::write(&file, "one").unwrap();
        let changed = Arc::new(Notify::new());
        let _w = watch_file(&file, changed.clone()).unwrap();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        assert!(!woken_within(&changed, 1), "woken by another file");
        edit(&file, "two");
        assert!(
            woken_within(&changed, 10),
            "not woken by the file's own rename"
        );
    }

    #[test]
    fn a_file_is_watched_through_its_directory_and_a_directory_as_itself() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let got = targets(&[file, dir.path().to_path_buf()]);
        assert_eq!(got, [dir.path().to_path_buf()]);
    }
}
