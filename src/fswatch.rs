//! File-system change notification (the `notify` crate) for the things ctmpl re-reads when they
//! change: the agent's `-config-dir`s and `-config-file`s. The platform's watcher (inotify on
//! Linux) answers within milliseconds; where it cannot start (no inotify instances left, some
//! network file systems) notify's poll watcher takes over, so a change is still seen, later.
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

/// Watches paths while it lives.
pub struct FsWatch {
    _watcher: Box<dyn Watcher + Send>,
    /// Which watcher runs: `inotify` (or the platform's) or `poll`.
    pub kind: &'static str,
}

/// Watches each of `paths` (a directory: its entries; a file: the file, through its directory
/// so that a replaced file is still seen), waking `changed` on every event.
pub fn watch(paths: &[PathBuf], changed: Arc<Notify>) -> Result<FsWatch, String> {
    let targets = targets(paths);
    let wake = changed.clone();
    let handler = move |res: notify::Result<Event>| {
        if let Ok(event) = res {
            if !event.kind.is_access() {
                wake.notify_one();
            }
        }
    };
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
            let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
            let mut w = PollWatcher::new(handler, config).map_err(|e| e.to_string())?;
            add_all(&mut w, &targets)?;
            Ok(FsWatch {
                _watcher: Box::new(w),
                kind: "poll",
            })
        }
    }
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
