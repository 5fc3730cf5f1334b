//! Watching dependencies: one view (task) per dependency runs consul-template's blocking-query
//! loop (same index: wait again; lower index: start over from 0; data equal to the last: no
//! update), spaced at least 100 ms apart, retried with exponential backoff, cancelled promptly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::consul::client::{Blocking, Client};
use crate::dependency::{Dep, Fetched};
use crate::gotmpl::Value;

/// How views query.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// `wait` of blocking queries (consul-template's `block_query_wait`, 60 s).
    pub wait: Duration,
    /// Reads are `?stale` while this is non-zero; a reply staler than this is asked again of the
    /// leader (consul-template's `max_stale`, 2 s).
    pub max_stale: Duration,
    pub retry: Retry,
    /// Stop each view after its first data (`-once`).
    pub once: bool,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            wait: Duration::from_secs(60),
            max_stale: Duration::from_secs(2),
            retry: Retry::default(),
            once: false,
        }
    }
}

/// consul-template's retry: `backoff × 2^attempt`, capped at `max_backoff`; give up after
/// `attempts` (0: never).
#[derive(Clone, Debug)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 12,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl Retry {
    /// The sleep before retry `attempt` (1-based), or `None` when retries are exhausted.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if self.attempts > 0 && attempt > self.attempts {
            return None;
        }
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        Some(self.backoff.saturating_mul(factor).min(self.max_backoff))
    }
}

/// What views report.
#[derive(Debug)]
pub enum Event {
    Data {
        key: String,
        data: Value,
    },
    /// The view gave up (retries exhausted, or a local file that cannot be read).
    Failed {
        key: String,
        error: String,
    },
}

/// The running views, by dependency string.
pub struct Watcher {
    client: Arc<Client>,
    config: WatchConfig,
    views: HashMap<String, CancellationToken>,
    events: mpsc::UnboundedSender<Event>,
    shutdown: CancellationToken,
}

/// Least spacing between two fetches of one view.
const MIN_SPACING: Duration = Duration::from_millis(100);

impl Watcher {
    pub fn new(
        client: Arc<Client>,
        config: WatchConfig,
        shutdown: CancellationToken,
    ) -> (Watcher, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Watcher {
                client,
                config,
                views: HashMap::new(),
                events: tx,
                shutdown,
            },
            rx,
        )
    }

    /// Starts a view for `dep` unless one runs already.
    pub fn watch(&mut self, dep: &Dep) {
        let key = dep.key();
        if self.views.contains_key(&key) {
            return;
        }
        let cancel = self.shutdown.child_token();
        self.views.insert(key, cancel.clone());
        let (client, config, events) = (
            self.client.clone(),
            self.config.clone(),
            self.events.clone(),
        );
        let dep = dep.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = view(&dep, &client, &config, &events) => {}
                _ = cancel.cancelled() => {}
            }
        });
    }

    /// Stops the views of dependencies no template uses any more.
    pub fn retain(&mut self, used: &HashSet<String>) {
        self.views.retain(|key, cancel| {
            let keep = used.contains(key);
            if !keep {
                cancel.cancel();
            }
            keep
        });
    }

    pub fn stop_all(&mut self) {
        for (_, cancel) in self.views.drain() {
            cancel.cancel();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// One dependency's loop.
async fn view(
    dep: &Dep,
    client: &Client,
    config: &WatchConfig,
    events: &mpsc::UnboundedSender<Event>,
) {
    let key = dep.key();
    let mut index = 0u64;
    let mut last_body: Option<Vec<u8>> = None;
    let mut attempt = 0u32;
    let mut last_fetch: Option<Instant> = None;
    let file_changed = Arc::new(tokio::sync::Notify::new());
    let _file_watch = watch_file(dep, &file_changed);
    loop {
        if let Some(at) = last_fetch {
            let jitter = MIN_SPACING.mul_f64(0.2 * crate::random_fraction());
            tokio::time::sleep_until(at + MIN_SPACING + jitter).await;
        }
        last_fetch = Some(Instant::now());
        let fetched = match fetch(dep, client, config, index).await {
            Ok(f) => {
                attempt = 0;
                f
            }
            Err(error) => {
                // The server may come back as a different one (restarted, rebuilt): ask
                // without an index next time, so the answer is immediate.
                index = 0;
                attempt += 1;
                let delay = if matches!(dep, Dep::File(_)) {
                    None
                } else {
                    config.retry.delay(attempt)
                };
                match delay {
                    Some(d) => {
                        tracing::warn!(dependency = %key, "{error} (retry {attempt} in {d:?})");
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    None => {
                        let _ = events.send(Event::Failed { key, error });
                        return;
                    }
                }
            }
        };
        if dep.blocking() {
            if fetched.index < index {
                // The index went backwards (a restarted or different cluster): start over.
                index = 0;
                last_fetch = None;
                continue;
            }
            if fetched.index == index && last_body.as_ref() == Some(&fetched.body) {
                continue;
            }
            index = fetched.index.max(1);
        } else if last_body.is_some()
            && (fetched.data.is_none() || last_body.as_ref() == Some(&fetched.body))
        {
            // Polled dependencies, unchanged: files every 2 s, datacenters every 15 s. A file
            // is also read again as soon as the file system reports a change.
            let every = if matches!(dep, Dep::File(_)) { 2 } else { 15 };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(every)) => {}
                _ = file_changed.notified(), if _file_watch.is_some() => {}
            }
            continue;
        }
        let Some(data) = fetched.data else { continue };
        if last_body.as_ref() == Some(&fetched.body) {
            continue;
        }
        last_body = Some(fetched.body);
        if events
            .send(Event::Data {
                key: key.clone(),
                data,
            })
            .is_err()
            || config.once
        {
            return;
        }
    }
}

/// File events for a `file` dependency (notify; its poll watcher where the platform's cannot
/// start), so an edit re-renders at once instead of at the next 2 s poll.
fn watch_file(dep: &Dep, changed: &Arc<tokio::sync::Notify>) -> Option<crate::fswatch::FsWatch> {
    let Dep::File(path) = dep else { return None };
    match crate::fswatch::watch(&[std::path::PathBuf::from(path)], changed.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(dependency = %dep.key(), "not watching for changes ({e}); polling every 2s");
            None
        }
    }
}

/// One fetch with consul-template's max-stale rule: a stale answer older than `max_stale` is
/// asked again of the leader.
async fn fetch(
    dep: &Dep,
    client: &Client,
    config: &WatchConfig,
    index: u64,
) -> Result<Fetched, String> {
    let blocking = Some(Blocking {
        index,
        wait: config.wait,
    });
    let stale = !config.max_stale.is_zero();
    let fetched = dep.fetch(client, blocking, stale).await?;
    if stale && fetched.last_contact_ms > config.max_stale.as_millis() as u64 {
        return dep.fetch(client, blocking, false).await;
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backs_off_then_gives_up() {
        let r = Retry {
            attempts: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(r.delay(1), Some(Duration::from_millis(500)));
        assert_eq!(r.delay(2), Some(Duration::from_secs(1)));
        assert_eq!(r.delay(3), Some(Duration::from_secs(1)));
        assert_eq!(r.delay(4), None);
        let forever = Retry { attempts: 0, ..r };
        assert!(forever.delay(1000).is_some());
    }
}
