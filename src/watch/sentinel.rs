//! Sentinels and what a parked view listens to (watch.rs's module doc says why views park).
//!
//! Per datacenter, one blocking query per kind on a catalog-wide index (`Kind`) announces every
//! new index. Views that no single service or node names (`services`, `nodes`, keys, the local
//! node) wake on every announcement of their kinds. Views of one service (`service "web"`) or
//! one node (`node "a"`) wake only when it moved: the datacenter's *differ* follows the
//! Services, Nodes and Checks sentinels, works out what moved (moved.rs) and signals those
//! subjects, or all of them when it cannot tell. Every change moves a sentinel, every sentinel
//! answer runs the differ after it, and each view fetches after the signal that named it: no
//! view is left stale.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::moved::{Catalog, Checks, Moved};
use super::{WatchConfig, MIN_SPACING};
use crate::consul::client::{Blocking, Client};
use crate::dependency::Dep;

/// What a sentinel watches: every change of that kind moves its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Services,
    Checks,
    Nodes,
    Kv,
}

/// What sentinels there can be per datacenter (the kinds above).
pub(super) const SENTINEL_KINDS: usize = 4;

/// How long the differ lets the sentinels of one change (a registration moves Services and
/// Checks) answer before it looks: one round, not two.
const SENTINEL_SETTLE: Duration = Duration::from_millis(5);

impl Kind {
    fn path(self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            Kind::Services => ("/v1/catalog/services", Vec::new()),
            Kind::Checks => ("/v1/health/state/any", Vec::new()),
            Kind::Nodes => ("/v1/catalog/nodes", Vec::new()),
            // Keys of the top level only: small, and its index moves with any key.
            Kind::Kv => (
                "/v1/kv/",
                vec![("keys", String::new()), ("separator", "/".into())],
            ),
        }
    }

    /// The kinds of change that can move a dependency's answer, and its datacenter.
    fn of(dep: &Dep) -> (Vec<Kind>, &str) {
        match dep {
            Dep::HealthService(h) => (vec![Kind::Services, Kind::Checks, Kind::Nodes], &h.dc),
            Dep::CatalogServices { dc, .. } => (vec![Kind::Services], dc),
            Dep::CatalogNode { dc, .. } => (vec![Kind::Nodes, Kind::Services], dc),
            Dep::CatalogNodes { dc, .. } => (vec![Kind::Nodes], dc),
            Dep::KvBlock { dc, .. } | Dep::KvGet { dc, .. } | Dep::KvList { dc, .. } => {
                (vec![Kind::Kv], dc)
            }
            Dep::Datacenters | Dep::File(_) => (Vec::new(), ""),
        }
    }
}

/// The one service or node a dependency's answer is about, lower-cased as Consul compares
/// names; `None` when that is not all it depends on (a namespace, partition or peer other
/// than the sentinels' own, or the local node, whose name is not known here).
fn subject(dep: &Dep) -> Option<String> {
    match dep {
        Dep::HealthService(h) if h.query.is_empty() => Some(format!("s:{}", h.name.to_lowercase())),
        Dep::CatalogNode { name, .. } if !name.is_empty() => {
            Some(format!("n:{}", name.to_lowercase()))
        }
        _ => None,
    }
}

/// A sentinel's latest answer.
#[derive(Clone, Debug, Default)]
struct Answer {
    /// Answers announced (0: none yet).
    seq: u64,
    /// Starts over (the first answer, the first after an error, an index that went back):
    /// what changed since the previous answer is not known when this moved.
    epoch: u64,
    /// The body, kept for `Checks`: the differ compares it with the last.
    body: Option<Arc<Vec<u8>>>,
}

/// One datacenter's sentinels, differ and the subjects parked views listen to.
struct Hub {
    dc: String,
    client: Arc<Client>,
    config: WatchConfig,
    shutdown: CancellationToken,
    sentinels: Mutex<HashMap<Kind, watch::Receiver<Answer>>>,
    /// Counts per sentinel, for the views that wake on every answer of a kind.
    counts: Mutex<HashMap<Kind, watch::Receiver<u64>>>,
    /// Subject → its signal (`s:` services, `n:` nodes).
    subjects: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Signalled when the differ cannot tell what moved; its first signal is the first round.
    everything: watch::Sender<u64>,
    differ: OnceLock<()>,
    /// Parked views listening to a subject: what a snapshot must cost less than.
    parked: AtomicUsize,
}

/// The sentinels of every datacenter, started on first use.
pub(super) struct Sentinels {
    hubs: Mutex<HashMap<String, Arc<Hub>>>,
}

/// What a parked view listens to.
pub(super) struct Wake {
    /// Each must have signalled once before the view's first fetch: from then on every change
    /// signals again.
    ready: Vec<watch::Receiver<u64>>,
    signals: Vec<watch::Receiver<u64>>,
    /// Whether to let the other sentinels of the same change answer before fetching (the
    /// differ has already done so for a subject's signal).
    settle: bool,
    _parked: Option<ParkedView>,
}

/// Counts a parked subject view while it lives.
struct ParkedView(Arc<Hub>);

impl Drop for ParkedView {
    fn drop(&mut self) {
        self.0.parked.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where a view's `Wake` comes from.
pub(super) struct Ctx<'a> {
    pub client: &'a Arc<Client>,
    pub config: &'a WatchConfig,
    pub shutdown: &'a CancellationToken,
}

impl Sentinels {
    pub fn new() -> Sentinels {
        Sentinels {
            hubs: Mutex::new(HashMap::new()),
        }
    }

    /// What a parked view of `dep` listens to, starting the sentinels (and differ) it needs.
    pub fn wake_for(&self, dep: &Dep, ctx: &Ctx) -> Wake {
        let (kinds, dc) = Kind::of(dep);
        let hub = self.hub(dc, ctx);
        match subject(dep) {
            Some(subject) => hub.subscribe(&subject),
            None => {
                let counts: Vec<_> = kinds.into_iter().map(|k| hub.count(k)).collect();
                Wake {
                    ready: counts.clone(),
                    signals: counts,
                    settle: true,
                    _parked: None,
                }
            }
        }
    }

    fn hub(&self, dc: &str, ctx: &Ctx) -> Arc<Hub> {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        hubs.entry(dc.to_string())
            .or_insert_with(|| {
                Arc::new(Hub {
                    dc: dc.to_string(),
                    client: ctx.client.clone(),
                    config: ctx.config.clone(),
                    shutdown: ctx.shutdown.clone(),
                    sentinels: Mutex::new(HashMap::new()),
                    counts: Mutex::new(HashMap::new()),
                    subjects: Mutex::new(HashMap::new()),
                    everything: watch::channel(0).0,
                    differ: OnceLock::new(),
                    parked: AtomicUsize::new(0),
                })
            })
            .clone()
    }
}

impl Hub {
    /// The kind's sentinel, started on first use.
    fn sentinel(&self, kind: Kind) -> watch::Receiver<Answer> {
        let mut running = self.sentinels.lock().unwrap_or_else(|e| e.into_inner());
        running
            .entry(kind)
            .or_insert_with(|| self.start_sentinel(kind))
            .clone()
    }

    /// A count of the kind's sentinel answers.
    fn count(&self, kind: Kind) -> watch::Receiver<u64> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = counts.get(&kind) {
            return rx.clone();
        }
        let mut answers = self.sentinel(kind);
        let (tx, rx) = watch::channel(0u64);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let relay = async {
                while answers.changed().await.is_ok() {
                    let seq = answers.borrow_and_update().seq;
                    tx.send_replace(seq);
                }
            };
            tokio::select! {
                _ = relay => {}
                _ = shutdown.cancelled() => {}
            }
        });
        counts.insert(kind, rx.clone());
        rx
    }

    /// A parked view of one subject: its signal and the differ's "everything".
    fn subscribe(self: &Arc<Self>, subject: &str) -> Wake {
        self.differ.get_or_init(|| self.start_differ());
        self.parked.fetch_add(1, Ordering::Relaxed);
        let signal = {
            let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
            subjects
                .entry(subject.to_string())
                .or_insert_with(|| watch::channel(0).0)
                .subscribe()
        };
        let everything = self.everything.subscribe();
        Wake {
            ready: vec![everything.clone()],
            signals: vec![everything, signal],
            settle: false,
            _parked: Some(ParkedView(self.clone())),
        }
    }

    /// One sentinel: a blocking query on a catalog-wide index; every new index (and the first
    /// answer, and every recovery from an error) is announced.
    fn start_sentinel(&self, kind: Kind) -> watch::Receiver<Answer> {
        let (tx, rx) = watch::channel(Answer::default());
        let (client, config) = (self.client.clone(), self.config.clone());
        let (path, mut params) = kind.path();
        if !self.dc.is_empty() {
            params.push(("dc", self.dc.clone()));
        }
        let run = async move {
            let mut index = 0u64;
            let mut attempt = 0u32;
            loop {
                let blocking = Some(Blocking {
                    index,
                    wait: config.wait,
                });
                match client.get(path, &params, blocking, false).await {
                    Ok(r) => {
                        attempt = 0;
                        let starts_over = index == 0 || r.meta.index < index;
                        if r.meta.index != index || starts_over {
                            index = r.meta.index.max(1);
                            let body = (kind == Kind::Checks).then(|| Arc::new(r.body));
                            tx.send_modify(|a| {
                                a.seq += 1;
                                a.epoch += u64::from(starts_over);
                                a.body = body;
                            });
                        }
                    }
                    Err(e) => {
                        index = 0;
                        attempt += 1;
                        let d = config
                            .retry
                            .delay(attempt.min(8))
                            .unwrap_or(config.retry.max_backoff);
                        tracing::warn!(sentinel = %path, "{e} (retry in {d:?})");
                        tokio::time::sleep(d).await;
                    }
                }
                tokio::time::sleep(MIN_SPACING).await;
            }
        };
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = run => {}
                _ = shutdown.cancelled() => {}
            }
        });
        rx
    }

    fn start_differ(self: &Arc<Self>) {
        let hub = self.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = differ(&hub) => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }

    /// Signals the subjects that moved (or everything), and drops the signals no view holds.
    fn publish(&self, moved: &Moved) -> usize {
        if moved.everything {
            self.everything.send_modify(|n| *n += 1);
            return self.parked.load(Ordering::Relaxed);
        }
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        subjects.retain(|_, tx| tx.receiver_count() > 0);
        let names = moved.services.iter().map(|s| format!("s:{s}"));
        let nodes = moved.nodes.iter().map(|n| format!("n:{n}"));
        let mut woken = 0;
        for subject in names.chain(nodes) {
            if let Some(tx) = subjects.get(&subject) {
                woken += tx.receiver_count();
                tx.send_modify(|n| *n += 1);
            }
        }
        woken
    }
}

/// What the differ last saw.
#[derive(Default)]
struct Seen {
    services: (u64, u64),
    nodes: (u64, u64),
    checks: (u64, u64),
    catalog: Option<Catalog>,
    check_list: Option<Checks>,
}

/// A sentinel answer's (seq, epoch).
fn mark(a: &Answer) -> (u64, u64) {
    (a.seq, a.epoch)
}

/// The differ: after each round of sentinel answers, what moved since the last round.
async fn differ(hub: &Arc<Hub>) {
    let mut services = hub.sentinel(Kind::Services);
    let mut nodes = hub.sentinel(Kind::Nodes);
    let mut checks = hub.sentinel(Kind::Checks);
    for s in [&mut services, &mut nodes, &mut checks] {
        if s.wait_for(|a| a.seq > 0).await.is_err() {
            return;
        }
    }
    let mut seen = Seen::default();
    loop {
        let (s, n, c) = (
            services.borrow_and_update().clone(),
            nodes.borrow_and_update().clone(),
            checks.borrow_and_update().clone(),
        );
        let mut moved = Moved::default();
        let mut reads = 0;
        if mark(&s) != seen.services || mark(&n) != seen.nodes {
            if s.epoch != seen.services.1 || n.epoch != seen.nodes.1 {
                seen.catalog = None;
            }
            reads = catalog_round(hub, &mut seen, &mut moved).await;
            (seen.services, seen.nodes) = (mark(&s), mark(&n));
        }
        if mark(&c) != seen.checks {
            if c.epoch != seen.checks.1 {
                seen.check_list = None;
            }
            checks_round(&c, &mut seen, &mut moved);
            seen.checks = mark(&c);
        }
        if !moved.is_empty() {
            let woken = hub.publish(&moved);
            tracing::debug!(
                dc = %hub.dc,
                requests = reads,
                everything = moved.everything,
                services = moved.services.len(),
                nodes = moved.nodes.len(),
                "sentinels: woke {woken} parked views"
            );
        }
        let changed = async {
            tokio::select! {
                r = services.changed() => r,
                r = nodes.changed() => r,
                r = checks.changed() => r,
            }
        };
        if changed.await.is_err() {
            return;
        }
        tokio::time::sleep(SENTINEL_SETTLE).await;
    }
}

/// Takes a catalog snapshot and compares it with the last, if that costs fewer requests than
/// waking every parked view would; returns the requests made.
async fn catalog_round(hub: &Hub, seen: &mut Seen, moved: &mut Moved) -> usize {
    let old = seen.catalog.take();
    let names = match Catalog::node_names(&hub.client, &hub.dc).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(dc = %hub.dc, "sentinels: {e}; waking every parked view");
            moved.everything = true;
            return 1;
        }
    };
    if names.len() + 1 >= hub.parked.load(Ordering::Relaxed) {
        moved.everything = true;
        return 1;
    }
    match Catalog::read(&hub.client, &hub.dc, &names, old.as_ref()).await {
        Ok(new) => {
            match &old {
                Some(old) => old.diff(&new, moved),
                None => moved.everything = true,
            }
            seen.catalog = Some(new);
        }
        Err(e) => {
            tracing::warn!(dc = %hub.dc, "sentinels: {e}; waking every parked view");
            moved.everything = true;
        }
    }
    1 + names.len()
}

/// Compares the Checks sentinel's answer with the last.
fn checks_round(answer: &Answer, seen: &mut Seen, moved: &mut Moved) {
    let parsed = answer.body.as_deref().map(|b| Checks::parse(b));
    let new = match parsed {
        Some(Ok(new)) => new,
        Some(Err(e)) => {
            tracing::warn!("sentinels: {e}; waking every parked view");
            seen.check_list = None;
            moved.everything = true;
            return;
        }
        None => {
            seen.check_list = None;
            moved.everything = true;
            return;
        }
    };
    match &seen.check_list {
        Some(old) => old.diff(&new, seen.catalog.as_ref(), moved),
        None => moved.everything = true,
    }
    seen.check_list = Some(new);
}

impl Wake {
    /// Waits for each signal's first (at most `wait`: a sentinel that never answers leaves the
    /// view to fetch on its own timer rather than never).
    pub async fn ready(&mut self, wait: Duration) {
        let all = async {
            for r in self.ready.iter_mut() {
                let _ = r.wait_for(|n| *n > 0).await;
            }
        };
        let _ = tokio::time::timeout(wait, all).await;
    }

    /// Notes every signal as seen: a fetch that starts now sees at least what they announced.
    pub fn mark_seen(&mut self) {
        for r in self.signals.iter_mut() {
            r.borrow_and_update();
        }
    }

    /// Until one of the signals moves (and, for sentinels' own counts, the other sentinels of
    /// the same change had their moment).
    pub async fn signalled(&mut self) {
        let changes = self.signals.iter_mut().map(|w| Box::pin(w.changed()));
        futures_select_any(changes).await;
        if self.settle {
            tokio::time::sleep(SENTINEL_SETTLE).await;
        }
    }
}

/// The first of several futures to finish.
async fn futures_select_any<F: std::future::Future + Unpin>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<F> = futures.collect();
    if futures.is_empty() {
        return std::future::pending().await;
    }
    std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            if std::future::Future::poll(std::pin::Pin::new(f), cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}
