//! `ctmpl registrator`: gliderlabs/registrator's job against Consul (or `ctmpl agent`). Every
//! running container's published ports become services; the Docker event stream keeps them in
//! step; resyncs, `-cleanup`, and reconnections with a resync make sure nothing is missed or
//! left behind.
//!
//! One task owns the state and does everything in order: Docker events, resync ticks, TTL
//! refreshes and the Consul watch. Each event re-inspects its container and moves Consul to
//! what the container's state asks for, so a burst of events (kill, die, stop, destroy) or one
//! seen late cannot leave a wrong registration behind.
//!
//! The command line (flags, the registry URI, exit codes) is `cli::registrator`'s; this module
//! starts at [`serve`] with its [`Options`].

pub mod docker;
pub mod service;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::mpsc;

use crate::consul::client::{path_escape, Client, ClientConfig};
use docker::{Container, Docker, Endpoint};
use service::{Model, Service};

/// What `-deregister` says about a container that stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deregister {
    Always,
    OnSuccess,
}

/// What registrator was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub consul: ClientConfig,
    pub docker: Endpoint,
    pub model: Model,
    pub resync: u64,
    pub deregister: Deregister,
    pub cleanup: bool,
    pub retry_attempts: i64,
    pub retry_interval: Duration,
    pub ttl_refresh: u64,
}

/// This host's address: its name resolved, IPv4 first (Go's `net.ResolveIPAddr("ip", …)`).
async fn resolve_host(hostname: String) -> String {
    tokio::task::spawn_blocking(move || {
        use std::net::ToSocketAddrs;
        let addrs: Vec<std::net::IpAddr> = (hostname.as_str(), 0)
            .to_socket_addrs()
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .map(|a| a.to_string())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// What the event follower tells the bridge.
enum Msg {
    Connected,
    Event(docker::Event),
    Lost(String),
}

/// The events that can change what a container should have registered.
fn interesting(action: &str) -> bool {
    matches!(
        action,
        "start" | "restart" | "unpause" | "pause" | "die" | "stop" | "kill" | "destroy" | "rename"
    )
}

/// Follows the event stream for ever: `Connected` each time it is (re)opened, each container
/// event, `Lost` when it breaks; reconnects every `interval`.
async fn follow_events(docker: Docker, tx: mpsc::UnboundedSender<Msg>, interval: Duration) {
    loop {
        match docker.events().await {
            Ok(mut events) => {
                if tx.send(Msg::Connected).is_err() {
                    return;
                }
                loop {
                    match events.next().await {
                        Ok(e) => {
                            if e.kind == "container"
                                && interesting(&e.action)
                                && tx.send(Msg::Event(e)).is_err()
                            {
                                return;
                            }
                        }
                        Err(e) => {
                            if tx.send(Msg::Lost(e.to_string())).is_err() {
                                return;
                            }
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                if tx.send(Msg::Lost(e.to_string())).is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// Registrator's start-up retries: attempts 0..=N (-1: for ever), `interval` apart.
async fn with_retries<F, Fut>(opts: &Options, what: &str, mut f: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut attempt: i64 = 0;
    loop {
        tracing::info!("Connecting to {what} ({attempt}/{})", opts.retry_attempts);
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) if opts.retry_attempts != -1 && attempt >= opts.retry_attempts => {
                return Err(format!("{what}: {e}"))
            }
            Err(e) => tracing::warn!("{what}: {e}"),
        }
        tokio::time::sleep(opts.retry_interval).await;
        attempt += 1;
    }
}

/// Keeps Consul in step with the containers until SIGINT or SIGTERM (or a fatal error).
pub async fn serve(mut opts: Options) -> Result<(), String> {
    let consul = Client::new(&opts.consul)?;
    if !opts.model.host_ip.is_empty() {
        tracing::info!("Forcing host IP to {}", opts.model.host_ip);
    }
    with_retries(&opts, "Consul", || async {
        let r = consul.get("/v1/status/leader", &[], None, false).await?;
        let leader = String::from_utf8_lossy(&r.body).trim().to_string();
        tracing::info!("consul: current leader {leader}");
        Ok(())
    })
    .await?;
    let docker = Docker::new(opts.docker.clone());
    with_retries(&opts, &format!("Docker at {}", opts.docker), || async {
        docker.ping().await.map_err(|e| e.to_string())
    })
    .await?;
    opts.model.host_address = resolve_host(opts.model.hostname.clone()).await;

    // Listen before listing, so that nothing is missed (as registrator).
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(follow_events(docker.clone(), tx, opts.retry_interval));
    match rx.recv().await {
        Some(Msg::Connected) => {}
        Some(Msg::Lost(e)) => return Err(format!("Docker events: {e}")),
        _ => return Err("Docker events: no stream".into()),
    }
    tracing::info!("Listening for Docker events ...");

    let mut bridge = Bridge {
        docker,
        consul,
        opts: opts.clone(),
        tracked: HashMap::new(),
        pending: BTreeSet::new(),
        noted: BTreeSet::new(),
        consul_ok: true,
        docker_lost: false,
        dirty: false,
    };
    bridge.sync().await;

    let tick = |secs: u64| {
        let period = Duration::from_secs(secs.max(1));
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    };
    let mut resync = tick(opts.resync);
    let mut refresh = tick(opts.ttl_refresh);
    let mut watch = tokio::time::interval_at(
        tokio::time::Instant::now() + opts.retry_interval,
        opts.retry_interval,
    );
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Event(e)) => bridge.on_event(&e).await,
                Some(Msg::Connected) => {
                    tracing::info!("Docker event stream back: resyncing");
                    bridge.docker_lost = false;
                    bridge.sync().await;
                }
                Some(Msg::Lost(e)) => {
                    if !bridge.docker_lost {
                        tracing::warn!("lost the Docker event stream ({e}); reconnecting every {:?}", opts.retry_interval);
                    }
                    bridge.docker_lost = true;
                }
                None => return Err("Docker event loop closed".into()),
            },
            _ = resync.tick(), if opts.resync > 0 => bridge.sync().await,
            _ = refresh.tick(), if opts.ttl_refresh > 0 => bridge.refresh().await,
            _ = watch.tick() => bridge.watch_consul().await,
            _ = int.recv() => break,
            _ = term.recv() => break,
        }
    }
    tracing::info!("stopping; services stay registered");
    Ok(())
}

/// The services registered for one container.
struct Tracked {
    services: Vec<Service>,
    /// False for a container that failed under `-deregister on-success`: its services stay,
    /// without TTL refreshes, until it is removed.
    live: bool,
}

/// What a container's state asks for.
enum Target {
    /// The services, and what was left out (logged once per container).
    Live(Vec<Service>, Vec<String>),
    /// Keep what is registered (a failed container under `on-success`).
    Keep(i64),
    Gone(&'static str),
}

struct Bridge {
    docker: Docker,
    consul: Client,
    opts: Options,
    tracked: HashMap<String, Tracked>,
    /// Service IDs whose deregistration failed, retried at the next sync.
    pending: BTreeSet<String>,
    /// Containers whose left-out ports were logged.
    noted: BTreeSet<String>,
    consul_ok: bool,
    /// The event stream is down: its reconnection resyncs.
    docker_lost: bool,
    /// Something failed: resync when Consul answers (and the event stream is up).
    dirty: bool,
}

impl Bridge {
    /// One container event. `die`, `destroy` and `pause` say all there is to know (and
    /// inspecting a dying container waits for the engine's clean-up, a few hundred ms); `kill`
    /// and `stop` change nothing by themselves (a `die` follows when the container stops); the
    /// others are inspected.
    async fn on_event(&mut self, e: &docker::Event) {
        let id = e.actor.id.as_str();
        let action = e.action.as_str();
        let result = match action {
            "kill" | "stop" => Ok(()),
            "die" => {
                let code = e
                    .actor
                    .attributes
                    .get("exitCode")
                    .and_then(|c| c.parse().ok());
                match code {
                    Some(code) => {
                        let target = self.exited(code);
                        self.apply(id, target).await;
                        Ok(())
                    }
                    None => self.reconcile(id).await,
                }
            }
            "destroy" => {
                self.apply(id, Target::Gone("removed")).await;
                Ok(())
            }
            "pause" => {
                self.apply(id, Target::Gone("paused")).await;
                Ok(())
            }
            _ => self.reconcile(id).await,
        };
        if let Err(err) = result {
            tracing::warn!("{action} {}: {err}; will resync", short(id));
            self.dirty = true;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let lag = Duration::from_nanos(now.saturating_sub(e.time_nano).max(0) as u64);
        tracing::debug!(
            "event {action} {}: handled {:.1} ms after the engine saw it",
            short(id),
            lag.as_secs_f64() * 1000.0
        );
    }

    /// Inspects the container and moves Consul to what its state asks for.
    async fn reconcile(&mut self, id: &str) -> Result<(), String> {
        let container = self.docker.inspect(id).await.map_err(|e| e.to_string())?;
        let target = self.target(container.as_ref());
        self.apply(id, target).await;
        Ok(())
    }

    fn target(&self, c: Option<&Container>) -> Target {
        let Some(c) = c else {
            return Target::Gone("removed");
        };
        let state = &c.state;
        if state.running && !state.paused && !state.restarting {
            let (services, notes) = service::services(c, &self.opts.model);
            return Target::Live(services, notes);
        }
        if state.paused {
            return Target::Gone("paused");
        }
        self.exited(state.exit_code)
    }

    /// A container that stopped with `code`: `on-success` keeps the services of a failure (not
    /// zero, and not a signal's 128+N).
    fn exited(&self, code: i64) -> Target {
        let failed = code != 0 && code & 128 == 0;
        if self.opts.deregister == Deregister::OnSuccess && failed {
            return Target::Keep(code);
        }
        Target::Gone("stopped")
    }

    async fn apply(&mut self, id: &str, target: Target) {
        match target {
            Target::Live(services, notes) => {
                if self.noted.insert(id.to_string()) {
                    for n in notes {
                        tracing::info!("ignored: {} {n}", short(id));
                    }
                }
                let old = self.tracked.remove(id);
                let old = old.map(|t| t.services).unwrap_or_default();
                for s in &old {
                    if !services.iter().any(|n| n.id == s.id) {
                        self.deregister(id, &s.id, "removed").await;
                    }
                }
                let mut accepted = Vec::new();
                for s in services {
                    if old.contains(&s) || self.register(id, &s).await {
                        accepted.push(s);
                    }
                }
                let services = accepted;
                if !services.is_empty() {
                    self.tracked.insert(
                        id.to_string(),
                        Tracked {
                            services,
                            live: true,
                        },
                    );
                }
            }
            Target::Keep(code) => {
                if let Some(t) = self.tracked.get_mut(id) {
                    if t.live {
                        tracing::info!(
                            "kept: {} exited with {code} (-deregister on-success)",
                            short(id)
                        );
                    }
                    t.live = false;
                }
            }
            Target::Gone(why) => {
                self.noted.remove(id);
                if let Some(t) = self.tracked.remove(id) {
                    for s in &t.services {
                        self.deregister(id, &s.id, why).await;
                    }
                }
            }
        }
    }

    /// Registers `s`; false when Consul refused it (a 4xx: the definition is wrong, so it is
    /// not tracked nor retried until the next sync), true otherwise (a failed exchange is
    /// retried by the resync that follows).
    async fn register(&mut self, container: &str, s: &Service) -> bool {
        let body = s.registration().to_string().into_bytes();
        match self.consul.put("/v1/agent/service/register", body).await {
            Ok((200, _)) => {
                self.pending.remove(&s.id);
                tracing::info!("added: {} {}", short(container), s.id);
                true
            }
            Ok((status, body)) => {
                tracing::warn!(
                    "register failed: {} ({status}: {})",
                    s.id,
                    String::from_utf8_lossy(&body).trim()
                );
                if status >= 500 {
                    self.dirty = true;
                }
                status >= 500
            }
            Err(e) => {
                tracing::warn!("register failed: {} ({e})", s.id);
                self.consul_ok = false;
                self.dirty = true;
                true
            }
        }
    }

    async fn deregister(&mut self, container: &str, service_id: &str, why: &str) {
        let path = format!("/v1/agent/service/deregister/{}", path_escape(service_id));
        match self.consul.put(&path, Vec::new()).await {
            // 404: already gone (the agent restarted, or someone else removed it).
            Ok((200 | 404, _)) => {
                self.pending.remove(service_id);
                tracing::info!("removed: {} {service_id} ({why})", short(container));
            }
            Ok((status, body)) => {
                tracing::warn!(
                    "deregister failed: {service_id} ({status}: {})",
                    String::from_utf8_lossy(&body).trim()
                );
                self.pending.insert(service_id.to_string());
            }
            Err(e) => {
                tracing::warn!("deregister failed: {service_id} ({e})");
                self.pending.insert(service_id.to_string());
                self.consul_ok = false;
                self.dirty = true;
            }
        }
    }

    /// The agent's services, by ID.
    async fn agent_services(&mut self) -> Result<BTreeMap<String, Json>, String> {
        let r = self
            .consul
            .get("/v1/agent/services", &[], None, false)
            .await?;
        serde_json::from_slice(&r.body).map_err(|e| format!("/v1/agent/services: {e}"))
    }

    /// Everything again: every container's services from its state, then Consul made to match
    /// (missing or changed services registered, failed removals retried, and with `-cleanup`
    /// this host's services of containers that no longer run removed).
    async fn sync(&mut self) {
        self.dirty = false;
        self.opts.model.host_address = resolve_host(self.opts.model.hostname.clone()).await;
        let containers = match self.docker.list(true).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("error listing containers, skipping sync: {e}");
                self.dirty = true;
                return;
            }
        };
        let running: Vec<String> = containers
            .iter()
            .filter(|c| c.state == "running")
            .map(|c| c.id.clone())
            .collect();
        tracing::info!("Syncing services on {} containers", running.len());
        let mut complete = true;
        let mut ids: Vec<String> = running;
        ids.extend(
            self.tracked
                .keys()
                .filter(|k| !ids.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
        for id in &ids {
            if let Err(e) = self.reconcile(id).await {
                tracing::warn!("sync {}: {e}", short(id));
                complete = false;
            }
        }
        // Failed containers' services, still registered from before a restart, are kept as
        // `on-success` asks rather than cleaned up.
        if self.opts.cleanup && self.opts.deregister == Deregister::OnSuccess {
            for c in &containers {
                if matches!(c.state.as_str(), "exited" | "restarting")
                    && !self.tracked.contains_key(&c.id)
                {
                    if let Ok(Some(full)) = self.docker.inspect(&c.id).await {
                        if let Target::Keep(_) = self.target(Some(&full)) {
                            let (services, _) = service::services(&full, &self.opts.model);
                            if !services.is_empty() {
                                self.tracked.insert(
                                    c.id.clone(),
                                    Tracked {
                                        services,
                                        live: false,
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
        match self.agent_services().await {
            Ok(agent) => {
                self.consul_ok = true;
                self.match_consul(&agent).await;
                if self.opts.cleanup {
                    self.cleanup(&agent).await;
                }
            }
            Err(e) => {
                tracing::warn!("Consul: {e}; will resync");
                self.consul_ok = false;
                complete = false;
            }
        }
        if !complete || !self.pending.is_empty() {
            self.dirty = true;
        }
    }

    /// Registers what the agent lacks or has differently, forgets failed containers' services
    /// the agent no longer has, and retries failed removals.
    async fn match_consul(&mut self, agent: &BTreeMap<String, Json>) {
        let mut todo = Vec::new();
        for (cid, t) in self.tracked.iter_mut() {
            if t.live {
                for s in &t.services {
                    if !agent.get(&s.id).is_some_and(|a| s.matches(a)) {
                        todo.push((cid.clone(), s.clone()));
                    }
                }
            } else {
                t.services.retain(|s| agent.contains_key(&s.id));
            }
        }
        self.tracked.retain(|_, t| !t.services.is_empty());
        for (cid, s) in todo {
            if !self.register(&cid, &s).await {
                if let Some(t) = self.tracked.get_mut(&cid) {
                    t.services.retain(|x| x.id != s.id);
                }
            }
        }
        self.tracked.retain(|_, t| !t.services.is_empty());
        for id in std::mem::take(&mut self.pending) {
            if agent.contains_key(&id) {
                self.deregister("", &id, "retried").await;
            }
        }
    }

    /// `-cleanup`: this host's registrator services (`HOST:NAME:PORT`) that no tracked
    /// container has.
    async fn cleanup(&mut self, agent: &BTreeMap<String, Json>) {
        let ours: BTreeSet<&str> = self
            .tracked
            .values()
            .flat_map(|t| t.services.iter().map(|s| s.id.as_str()))
            .collect();
        let dangling: Vec<String> = agent
            .keys()
            .filter(|id| {
                service::parse_id(id).is_some_and(|(host, _)| host == self.opts.model.hostname)
                    && !ours.contains(id.as_str())
            })
            .cloned()
            .collect();
        for id in dangling {
            self.deregister("", &id, "dangling").await;
        }
    }

    /// Every `-retry-interval`: is the agent there, and does it still have our services (an
    /// agent that restarted lost them)?
    async fn watch_consul(&mut self) {
        match self.agent_services().await {
            Err(e) => {
                if self.consul_ok {
                    tracing::warn!(
                        "lost Consul ({e}); retrying every {:?}",
                        self.opts.retry_interval
                    );
                }
                self.consul_ok = false;
            }
            Ok(agent) => {
                if !self.consul_ok {
                    tracing::info!("Consul answers again: resyncing");
                    self.dirty = true;
                }
                self.consul_ok = true;
                if self.dirty && !self.docker_lost {
                    self.sync().await;
                    return;
                }
                let drift = self.tracked.values().any(|t| {
                    t.live
                        && t.services
                            .iter()
                            .any(|s| !agent.get(&s.id).is_some_and(|a| s.matches(a)))
                });
                if drift || !self.pending.is_empty() {
                    tracing::info!("Consul lacks some services: re-registering");
                    self.match_consul(&agent).await;
                }
            }
        }
    }

    /// `-ttl-refresh`: passes the TTL check of every live service.
    async fn refresh(&mut self) {
        let services: Vec<(String, String)> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.live)
            .flat_map(|(cid, t)| t.services.iter().map(|s| (cid.clone(), s.ttl_check_id())))
            .collect();
        for (cid, check) in services {
            let path = format!("/v1/agent/check/pass/{}", path_escape(&check));
            match self.consul.put(&path, Vec::new()).await {
                Ok((200, _)) => tracing::debug!("refreshed: {} {check}", short(&cid)),
                Ok((status, _)) => {
                    tracing::warn!("refresh failed: {check} ({status}); will resync");
                    self.dirty = true;
                }
                Err(e) => {
                    tracing::warn!("refresh failed: {check} ({e})");
                    self.consul_ok = false;
                }
            }
        }
    }
}
