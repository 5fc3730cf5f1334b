//! Watching dependencies: one view (task) per dependency runs consul-template's blocking-query
//! loop (same index: wait again; lower index: start over from 0; data equal to the last: no
//! update), spaced at least 100 ms apart, retried with exponential backoff, cancelled promptly.
//!
//! Over HTTP/1.1 each waiting blocking query holds a connection, and the client has a budget of
//! them (`max_conns_per_host`). So views take a blocking *slot* while the budget has room for
//! one; the others park. A parked view is kept fresh by *sentinels* (sentinel.rs): one blocking
//! query per datacenter and kind on a catalog-wide index (`/v1/catalog/services`,
//! `/v1/health/state/any`, `/v1/catalog/nodes`, the KV root) that answers on any change of its
//! kind. Parked views of one service or node wake only when it moved: after each sentinel answer
//! the catalog is read per node and compared with the last reading, and the checks with the
//! last `/v1/health/state/any` (moved.rs), so a change costs a request per node plus one per
//! view it moved, not one per parked view. When that comparison would cost more than it saves,
//! or cannot be trusted (the first answer, a failed read, an index gone back), every parked
//! view wakes, as do the views of other kinds (`services`, `nodes`, keys) on any answer of
//! theirs; a woken view fetches again (without blocking) and reports only what moved. Nothing
//! is left stale: a parked view also fetches again after the blocking wait (`wait`, 60 s) if
//! nothing woke it, and takes a slot as soon as one is free. Over HTTP/2 (ctmpl's own agent)
//! every view blocks on its own: all are streams of one connection.

mod moved;
mod sentinel;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::consul::client::{Blocking, Client};
use crate::dependency::{BodyDigest, Dep, Fetched};
use crate::gotmpl::Value;
use sentinel::{Sentinels, Wake, SENTINEL_KINDS};

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
    /// The view's first answer has no data (a `key` not written yet, an empty `safe` list) or
    /// was an error it retries: a render need not wait for it. Sent once, and only before
    /// any data; what comes later arrives as `Data`.
    Waiting {
        key: String,
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
    budget: Arc<Budget>,
    quick: Arc<Semaphore>,
    settled: watch::Sender<bool>,
}

/// Fetches that answer at once (first fetches, parked views' fetches) in flight together.
/// Thousands of dependencies found by one pass are asked for together, but each request in
/// flight holds the HTTP stack's buffers and futures: all 10,000 at once cost ~60 MiB that the
/// allocator kept, for no speed, since a few hundred already keep the agent busy.
const QUICK_AT_ONCE: usize = 256;

/// Least spacing between two fetches of one view.
const MIN_SPACING: Duration = Duration::from_millis(100);

/// How widely the views' first blocking queries spread once the runner has settled (see
/// [`Watcher::settled`]). Thousands of views answer within moments of each other; were they
/// all to ask again at once, that burst (ctmpl's requests and the agent's waiters) would take
/// the CPU from the render and the changes that follow. A change in the meantime is not
/// missed: the blocking query asks past the index of the first answer and returns at once.
const FIRST_BLOCK_SPREAD: Duration = Duration::from_millis(1500);
/// How long a view's first blocking query waits for the runner to settle at most: a runner
/// busy with pass after pass of new dependencies still gets its changes this late at worst.
const FIRST_BLOCK_HOLD: Duration = Duration::from_secs(30);
/// How long a `file` dependency woken by a file event lets a burst of events (write, rename,
/// chmod) settle before it reads the file.
const FILE_EVENT_SETTLE: Duration = Duration::from_millis(5);

/// Requests kept free of blocking queries for the parked views' fetches and first fetches.
fn short_requests(max_conns: usize) -> usize {
    (max_conns / 8).max(2)
}

/// How the client's connection budget is shared: blocking slots for views, and the sentinels
/// that keep the parked views fresh.
struct Budget {
    /// `None`: no budget, every view blocks on its own.
    slots: Option<Arc<Semaphore>>,
    sentinels: Sentinels,
}

impl Watcher {
    pub fn new(
        client: Arc<Client>,
        config: WatchConfig,
        shutdown: CancellationToken,
    ) -> (Watcher, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (settled, _) = watch::channel(false);
        let slots = client.max_conns().map(|n| {
            let reserved = short_requests(n) + SENTINEL_KINDS;
            Arc::new(Semaphore::new(n.saturating_sub(reserved)))
        });
        let budget = Arc::new(Budget {
            slots,
            sentinels: Sentinels::new(),
        });
        (
            Watcher {
                client,
                config,
                views: HashMap::new(),
                events: tx,
                shutdown,
                budget,
                quick: Arc::new(Semaphore::new(QUICK_AT_ONCE)),
                settled,
            },
            rx,
        )
    }

    /// Lets the views send their first blocking queries: the runner has nothing left to wait
    /// for (every template rendered, or waits only for data that does not exist yet). Until
    /// then they hold back, so the first render's fetches and passes have the CPU and the
    /// connection to themselves instead of sharing them with thousands of blocking queries
    /// being sent and parked (in ctmpl and in the agent). Idempotent.
    pub fn settled(&self) {
        self.settled
            .send_if_modified(|s| !std::mem::replace(s, true));
    }

    /// Starts a view for `dep` unless one runs already.
    pub fn watch(&mut self, dep: &Dep) {
        let key = dep.key();
        if self.views.contains_key(&key) {
            return;
        }
        let cancel = self.shutdown.child_token();
        self.views.insert(key, cancel.clone());
        let ctx = ViewCtx {
            client: self.client.clone(),
            config: self.config.clone(),
            events: self.events.clone(),
            budget: self.budget.clone(),
            shutdown: self.shutdown.clone(),
            quick: self.quick.clone(),
            settled: self.settled.subscribe(),
        };
        let dep = dep.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = view(&dep, &ctx) => {}
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

/// What a view needs besides its dependency.
struct ViewCtx {
    client: Arc<Client>,
    config: WatchConfig,
    events: mpsc::UnboundedSender<Event>,
    budget: Arc<Budget>,
    shutdown: CancellationToken,
    quick: Arc<Semaphore>,
    /// Whether the runner has settled (see [`Watcher::settled`]).
    settled: watch::Receiver<bool>,
}

impl ViewCtx {
    /// Waits until the runner has settled, or `FIRST_BLOCK_HOLD` at most.
    async fn runner_settled(&self) {
        let mut settled = self.settled.clone();
        let _ = tokio::time::timeout(FIRST_BLOCK_HOLD, settled.wait_for(|s| *s)).await;
    }
}

/// Whether a view blocks on its own query or waits for its sentinels.
enum Mode {
    /// No budget, or not a Consul query.
    Free,
    Slot(#[allow(dead_code)] OwnedSemaphorePermit),
    Parked {
        slots: Arc<Semaphore>,
        wake: Wake,
    },
}

impl Mode {
    async fn new(dep: &Dep, ctx: &ViewCtx) -> Mode {
        let blocks = dep.blocking() && !ctx.config.once;
        let Some(slots) = ctx.budget.slots.clone().filter(|_| blocks) else {
            return Mode::Free;
        };
        // Over HTTP/2 every blocking query is a stream of one connection: no budget to share.
        if ctx.client.probe_h2().await {
            return Mode::Free;
        }
        match slots.clone().try_acquire_owned() {
            Ok(permit) => Mode::Slot(permit),
            Err(_) => {
                let from = sentinel::Ctx {
                    client: &ctx.client,
                    config: &ctx.config,
                    shutdown: &ctx.shutdown,
                };
                Mode::Parked {
                    slots,
                    wake: ctx.budget.sentinels.wake_for(dep, &from),
                }
            }
        }
    }

    /// A parked view's first fetch waits for its sentinels' first answers, so that every
    /// change after that fetch moves a sentinel.
    async fn sentinels_ready(&mut self, wait: Duration) {
        if let Mode::Parked { wake, .. } = self {
            wake.ready(wait).await;
        }
    }

    fn parked(&self) -> bool {
        matches!(self, Mode::Parked { .. })
    }

    /// Notes the sentinels' answers as seen: a fetch that starts now sees at least them.
    fn mark_seen(&mut self) {
        if let Mode::Parked { wake, .. } = self {
            wake.mark_seen();
        }
    }

    /// A parked view's wait between fetches: until its sentinels signal, a slot frees up (the
    /// view then blocks on its own), or the blocking wait passes.
    async fn wait_parked(&mut self, wait: Duration) {
        let Mode::Parked { slots, wake } = self else {
            return;
        };
        let slot = tokio::select! {
            _ = wake.signalled() => None,
            permit = slots.clone().acquire_owned() => permit.ok(),
            _ = tokio::time::sleep(wait) => None,
        };
        if let Some(p) = slot {
            *self = Mode::Slot(p);
        }
    }
}

/// One dependency's loop.
async fn view(dep: &Dep, ctx: &ViewCtx) {
    let (client, config, events) = (&*ctx.client, &ctx.config, &ctx.events);
    let key = dep.key();
    let mut index = 0u64;
    let mut last_body: Option<BodyDigest> = None;
    let mut attempt = 0u32;
    let mut last_fetch: Option<Instant> = None;
    let file_changed = Arc::new(tokio::sync::Notify::new());
    let _file_watch = watch_file(dep, &file_changed);
    // Boxed: probing the agent's protocol is a large future, needed once; the view's own
    // future, kept while its query waits, is as large as its largest state.
    let mut mode = Box::pin(Mode::new(dep, ctx)).await;
    mode.sentinels_ready(config.wait).await;
    let mut retrying = false;
    // Whether the runner knows this view answered (with data, or that it has none yet).
    let mut announced = false;
    let mut fetches = 0u64;
    // A file event woke this view: read at once (after a short settle), not after the
    // spacing meant for Consul's queries, which would delay the render by up to 100 ms.
    let mut file_event = false;
    loop {
        if mode.parked() && last_fetch.is_some() && !retrying {
            mode.wait_parked(config.wait).await;
        } else if file_event {
            tokio::time::sleep(FILE_EVENT_SETTLE).await;
        } else if let Some(at) = last_fetch {
            if fetches == 1 && !retrying && dep.blocking() {
                ctx.runner_settled().await;
                let jitter = FIRST_BLOCK_SPREAD.mul_f64(crate::random_fraction());
                tokio::time::sleep_until(Instant::now().max(at + MIN_SPACING) + jitter).await;
            } else {
                let jitter = (MIN_SPACING / 5).mul_f64(crate::random_fraction());
                tokio::time::sleep_until(at + MIN_SPACING + jitter).await;
            }
        }
        fetches += 1;
        retrying = false;
        file_event = false;
        last_fetch = Some(Instant::now());
        mode.mark_seen();
        // A parked view does not block: its sentinels do.
        let asked = if mode.parked() { 0 } else { index };
        let quick = match asked {
            0 => ctx.quick.acquire().await.ok(),
            _ => None,
        };
        let fetched = fetch(dep, client, config, asked, last_body).await;
        drop(quick);
        let fetched = match fetched {
            Ok(f) => {
                attempt = 0;
                f
            }
            Err(error) => {
                // The server may come back as a different one (restarted, rebuilt): ask
                // without an index next time, so the answer is immediate.
                index = 0;
                retrying = true;
                attempt += 1;
                let delay = if matches!(dep, Dep::File(_)) {
                    None
                } else {
                    config.retry.delay(attempt)
                };
                match delay {
                    Some(d) => {
                        tracing::warn!(dependency = %key, "{error} (retry {attempt} in {d:?})");
                        announce_waiting(&mut announced, &key, events);
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
                retrying = true;
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
                _ = file_changed.notified(), if _file_watch.is_some() => file_event = true,
            }
            continue;
        }
        let Some(data) = fetched.data else {
            announce_waiting(&mut announced, &key, events);
            continue;
        };
        if last_body.as_ref() == Some(&fetched.body) {
            continue;
        }
        last_body = Some(fetched.body);
        announced = true;
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

/// Tells the runner, once, that this view answered without data.
fn announce_waiting(announced: &mut bool, key: &str, events: &mpsc::UnboundedSender<Event>) {
    if !*announced {
        *announced = true;
        let _ = events.send(Event::Waiting {
            key: key.to_string(),
        });
    }
}

/// File events for a `file` dependency (notify; its poll watcher where the platform's cannot
/// start), so an edit re-renders at once instead of at the next 2 s poll.
fn watch_file(dep: &Dep, changed: &Arc<tokio::sync::Notify>) -> Option<crate::fswatch::FsWatch> {
    let Dep::File(path) = dep else { return None };
    match crate::fswatch::watch_file(std::path::Path::new(path), changed.clone()) {
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
    known: Option<BodyDigest>,
) -> Result<Fetched, String> {
    let blocking = Some(Blocking {
        index,
        wait: config.wait,
    });
    let stale = !config.max_stale.is_zero();
    let fetched = dep.fetch(client, blocking, stale, known).await?;
    if stale && fetched.last_contact_ms > config.max_stale.as_millis() as u64 {
        return dep.fetch(client, blocking, false, known).await;
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
