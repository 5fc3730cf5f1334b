//! What this agent owns: the services and checks registered through it, the runners that probe
//! them (HTTP, TCP, TTL), and the reaper of services critical for too long. Every change is
//! pushed into the catalog as a registration of this node.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::catalog::{Command, Deregister, Register};
use super::store::Store;
use crate::consul::api::{HealthCheck, Node, NodeService, CRITICAL, PASSING, WARNING};
use crate::duration;

/// Consul's default cap on captured check output (`check_output_max_size`, `checks.DefaultBufSize`).
pub const DEFAULT_OUTPUT_MAX: usize = 4096;
/// Consul's default timeout for HTTP and TCP checks.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A check as this agent runs it.
#[derive(Clone, Debug)]
pub struct LocalCheck {
    pub check: HealthCheck,
    pub kind: Probe,
    pub deregister_after: Option<Duration>,
    /// The definition's `OutputMaxSize` (0: the agent's); it can only lower the agent's cap.
    pub output_max_size: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    Http {
        interval: Duration,
        timeout: Duration,
    },
    Tcp {
        interval: Duration,
        timeout: Duration,
    },
    Ttl(Duration),
    /// Data only: a status set by whoever registered it.
    None,
}

impl LocalCheck {
    /// Reads what the check runs from its definition.
    pub fn new(check: HealthCheck) -> Result<LocalCheck, String> {
        let def = &check.definition;
        let parse = |what: &str, s: &str| -> Result<Option<Duration>, String> {
            if s.is_empty() {
                return Ok(None);
            }
            duration::parse(s)
                .map(Some)
                .map_err(|e| format!("{what}: {e}"))
        };
        let interval = parse("Interval", &def.interval)?;
        let timeout = parse("Timeout", &def.timeout)?
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT);
        let ttl = parse("TTL", &def.ttl)?;
        if interval.is_some() && ttl.is_some() {
            return Err("Interval and TTL cannot both be specified".into());
        }
        let probing = !def.http.is_empty() || !def.tcp.is_empty();
        let kind =
            match (probing, interval, ttl) {
                (true, Some(i), _) if !i.is_zero() => {
                    let interval = i.max(Duration::from_secs(1));
                    if def.http.is_empty() {
                        Probe::Tcp { interval, timeout }
                    } else {
                        Probe::Http { interval, timeout }
                    }
                }
                (true, _, _) => return Err(
                    "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"
                        .into(),
                ),
                (false, _, Some(ttl)) if !ttl.is_zero() => Probe::Ttl(ttl),
                _ => return Err("TTL must be > 0 for TTL checks".into()),
            };
        let deregister_after = parse(
            "DeregisterCriticalServiceAfter",
            &def.deregister_critical_service_after,
        )?;
        Ok(LocalCheck {
            check,
            kind,
            deregister_after,
            output_max_size: 0,
        })
    }
}

/// Agent-local services and checks, and the tasks running the checks.
pub struct Local {
    pub node: Node,
    store: Store,
    state: Mutex<LocalState>,
    shutdown: CancellationToken,
    /// The shortest DeregisterCriticalServiceAfter honoured (Consul: one minute).
    pub min_deregister_after: Duration,
    /// `check_output_max_size`: the most output a check keeps.
    pub output_max_size: usize,
}

#[derive(Default)]
struct LocalState {
    services: BTreeMap<String, NodeService>,
    checks: BTreeMap<String, RunningCheck>,
}

struct RunningCheck {
    local: LocalCheck,
    cancel: CancellationToken,
    /// When the check turned critical, for the reaper.
    critical_since: Option<Instant>,
    /// Pushed on every TTL update to restart the TTL timer.
    ttl_reset: Option<tokio::sync::watch::Sender<()>>,
}

/// An error with Consul's HTTP status for it.
#[derive(Debug, PartialEq)]
pub struct AgentError {
    pub status: u16,
    pub message: String,
}

impl AgentError {
    pub fn new(status: u16, message: impl Into<String>) -> AgentError {
        AgentError {
            status,
            message: message.into(),
        }
    }
}

impl Local {
    pub fn new(
        node: Node,
        store: Store,
        shutdown: CancellationToken,
        min_deregister_after: Duration,
        output_max_size: usize,
    ) -> Arc<Local> {
        let local = Arc::new(Local {
            node,
            store,
            state: Mutex::default(),
            shutdown,
            min_deregister_after,
            output_max_size,
        });
        tokio::spawn(reap(Arc::downgrade(&local), local.shutdown.clone()));
        local
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn services(&self) -> Vec<NodeService> {
        self.lock().services.values().cloned().collect()
    }

    pub fn service(&self, id: &str) -> Option<NodeService> {
        self.lock().services.get(id).cloned()
    }

    pub fn checks(&self) -> Vec<HealthCheck> {
        self.lock()
            .checks
            .values()
            .map(|c| c.local.check.clone())
            .collect()
    }

    pub fn check(&self, id: &str) -> Option<HealthCheck> {
        self.lock().checks.get(id).map(|c| c.local.check.clone())
    }

    /// Registers (or replaces) a service and its checks. Checks of the service that are not in
    /// `checks` stay unless `replace_existing_checks`.
    pub async fn add_service(
        self: &Arc<Self>,
        service: NodeService,
        checks: Vec<LocalCheck>,
        replace_existing_checks: bool,
    ) -> Result<(), AgentError> {
        let stale: Vec<String> = {
            let mut st = self.lock();
            st.services.insert(service.id.clone(), service.clone());
            if replace_existing_checks {
                let keep: Vec<&str> = checks.iter().map(|c| c.check.check_id.as_str()).collect();
                st.checks
                    .iter()
                    .filter(|(id, c)| {
                        c.local.check.service_id == service.id && !keep.contains(&id.as_str())
                    })
                    .map(|(id, _)| id.clone())
                    .collect()
            } else {
                Vec::new()
            }
        };
        for id in stale {
            self.remove_check(&id).await?;
        }
        let id = service.id.clone();
        let register = Register {
            node: self.node.clone(),
            skip_node_update: true,
            service: Some(service),
            checks: Vec::new(),
        };
        self.write(Command::Register(Box::new(register))).await?;
        tracing::info!("agent: Synced service: service={id}");
        for check in checks {
            self.add_check(check).await?;
        }
        Ok(())
    }

    pub async fn remove_service(self: &Arc<Self>, id: &str) -> Result<(), AgentError> {
        let checks: Vec<String> = {
            let mut st = self.lock();
            if st.services.remove(id).is_none() {
                return Err(AgentError::new(
                    404,
                    format!("Unknown service ID {id:?}. Ensure that the service ID is passed, not the service name."),
                ));
            }
            st.checks
                .iter()
                .filter(|(_, c)| c.local.check.service_id == id)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for c in checks {
            if let Some(running) = self.lock().checks.remove(&c) {
                running.cancel.cancel();
            }
        }
        let d = Deregister {
            node: self.node.node.clone(),
            service_id: Some(id.to_string()),
            check_id: None,
        };
        self.write(Command::Deregister(d)).await?;
        tracing::info!("agent: Deregistered service: service={id}");
        Ok(())
    }

    /// Registers a check (keeping the status and output of one with the same ID) and starts it.
    pub async fn add_check(self: &Arc<Self>, mut local: LocalCheck) -> Result<(), AgentError> {
        let check = &mut local.check;
        check.node = self.node.node.clone();
        if !check.service_id.is_empty() {
            let st = self.lock();
            let Some(svc) = st.services.get(&check.service_id) else {
                return Err(AgentError::new(
                    404,
                    format!("ServiceID {:?} does not exist", check.service_id),
                ));
            };
            check.service_name = svc.service.clone();
            check.service_tags = svc.tags.clone();
        }
        let check = {
            let mut st = self.lock();
            if let Some(old) = st.checks.remove(&local.check.check_id) {
                old.cancel.cancel();
                local.check.status = old.local.check.status.clone();
                local.check.output = old.local.check.output.clone();
            }
            let cancel = self.shutdown.child_token();
            let (ttl_reset, ttl_rx) = match local.kind {
                Probe::Ttl(_) => {
                    let (tx, rx) = tokio::sync::watch::channel(());
                    (Some(tx), Some(rx))
                }
                _ => (None, None),
            };
            let critical_since = (local.check.status == CRITICAL).then(Instant::now);
            let check = local.check.clone();
            spawn_runner(Arc::downgrade(self), local.clone(), cancel.clone(), ttl_rx);
            st.checks.insert(
                check.check_id.clone(),
                RunningCheck {
                    local,
                    cancel,
                    critical_since,
                    ttl_reset,
                },
            );
            check
        };
        let id = check.check_id.clone();
        self.sync_check(check).await?;
        tracing::info!("agent: Synced check: check={id}");
        Ok(())
    }

    pub async fn remove_check(self: &Arc<Self>, id: &str) -> Result<(), AgentError> {
        let Some(running) = self.lock().checks.remove(id) else {
            return Err(AgentError::new(
                404,
                format!("Unknown check ID {id:?}. Ensure that the check ID is passed, not the check name."),
            ));
        };
        running.cancel.cancel();
        let d = Deregister {
            node: self.node.node.clone(),
            service_id: None,
            check_id: Some(id.to_string()),
        };
        self.write(Command::Deregister(d)).await?;
        tracing::info!("agent: Deregistered check: check={id}");
        Ok(())
    }

    /// `check/pass|warn|fail|update`: only for TTL checks; restarts the TTL timer.
    pub async fn update_ttl(
        self: &Arc<Self>,
        id: &str,
        status: &str,
        output: &str,
    ) -> Result<(), AgentError> {
        {
            let st = self.lock();
            let Some(running) = st.checks.get(id) else {
                return Err(AgentError::new(
                    404,
                    format!("Unknown check ID {id:?}. Ensure that the check ID is passed, not the check name."),
                ));
            };
            let Some(reset) = &running.ttl_reset else {
                return Err(AgentError::new(
                    500,
                    format!("CheckID {id:?} does not have associated TTL"),
                ));
            };
            let _ = reset.send(());
        }
        self.set_status(id, status, output).await
    }

    /// Records a check result; writes to the catalog only when something changed.
    pub async fn set_status(&self, id: &str, status: &str, output: &str) -> Result<(), AgentError> {
        let check = {
            let mut st = self.lock();
            let Some(running) = st.checks.get_mut(id) else {
                return Ok(());
            };
            let output = truncate_output(
                output,
                output_cap(self.output_max_size, running.local.output_max_size),
            );
            let c = &mut running.local.check;
            if c.status == status && c.output == output {
                return Ok(());
            }
            if status == CRITICAL && c.status != CRITICAL {
                running.critical_since = Some(Instant::now());
            } else if status != CRITICAL {
                running.critical_since = None;
            }
            let changed = c.status != status;
            if changed {
                log_status_change(id, status, &output);
            }
            c.status = status.to_string();
            c.output = output;
            (c.clone(), changed)
        };
        let (check, changed) = check;
        self.sync_check(check).await?;
        if changed {
            // Consul's anti-entropy says this after every status change it syncs.
            tracing::info!("agent: Synced check: check={id}");
        }
        Ok(())
    }

    async fn sync_check(&self, check: HealthCheck) -> Result<(), AgentError> {
        let register = Register {
            node: self.node.clone(),
            skip_node_update: true,
            service: None,
            checks: vec![check],
        };
        self.write(Command::Register(Box::new(register))).await
    }

    async fn write(&self, cmd: Command) -> Result<(), AgentError> {
        match self.store.write(cmd).await {
            Ok(super::catalog::Outcome::Rejected(msg)) => Err(AgentError::new(500, msg)),
            Ok(_) => Ok(()),
            Err(e) => Err(AgentError::new(500, e)),
        }
    }

    /// Services critical for longer than their DeregisterCriticalServiceAfter.
    fn expired_services(&self) -> Vec<String> {
        let st = self.lock();
        let mut out: Vec<String> = st
            .checks
            .values()
            .filter(|c| !c.local.check.service_id.is_empty())
            .filter_map(|c| {
                let after = c.local.deregister_after?.max(self.min_deregister_after);
                let since = c.critical_since?;
                (since.elapsed() >= after).then(|| c.local.check.service_id.clone())
            })
            .collect();
        out.dedup();
        out
    }
}

/// Periodically deregisters services whose checks have been critical for too long.
/// A check's new status, at Consul's levels: critical and warning are WARN with the check's
/// output (what the operator needs to see why), passing is DEBUG.
fn log_status_change(id: &str, status: &str, output: &str) {
    match status {
        CRITICAL => tracing::warn!("agent: Check is now critical: check={id} output={output:?}"),
        WARNING => tracing::warn!("agent: Check is now warning: check={id} output={output:?}"),
        _ => tracing::debug!("agent: Check status updated: check={id} status={status}"),
    }
}

async fn reap(local: std::sync::Weak<Local>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(local) = local.upgrade() else { return };
        for id in local.expired_services() {
            tracing::info!(service = %id, "deregistering service critical for too long");
            let _ = local.remove_service(&id).await;
        }
    }
}

fn spawn_runner(
    local: std::sync::Weak<Local>,
    check: LocalCheck,
    cancel: CancellationToken,
    ttl_reset: Option<tokio::sync::watch::Receiver<()>>,
) {
    let id = check.check.check_id.clone();
    let work = async move {
        match check.kind {
            Probe::Http { interval, timeout } => {
                probe_loop(local, &id, interval, || http_probe(&check.check, timeout)).await
            }
            Probe::Tcp { interval, timeout } => {
                probe_loop(local, &id, interval, || {
                    tcp_probe(&check.check.definition.tcp, timeout)
                })
                .await
            }
            Probe::Ttl(ttl) => {
                if let Some(rx) = ttl_reset {
                    ttl_loop(local, &id, ttl, rx).await
                }
            }
            Probe::None => {}
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = work => {}
        }
    });
}

/// Runs a probe after a random delay within one interval, then every interval.
async fn probe_loop<F, Fut>(local: std::sync::Weak<Local>, id: &str, interval: Duration, probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (&'static str, String)>,
{
    let first = interval.mul_f64(crate::random_fraction());
    tokio::time::sleep(first).await;
    loop {
        let (status, output) = probe().await;
        let Some(l) = local.upgrade() else { return };
        if let Err(e) = l.set_status(id, status, &output).await {
            tracing::warn!(check = %id, "cannot record check status: {}", e.message);
        }
        drop(l);
        tokio::time::sleep(interval).await;
    }
}

/// Marks the check critical when no update came within the TTL.
async fn ttl_loop(
    local: std::sync::Weak<Local>,
    id: &str,
    ttl: Duration,
    mut reset: tokio::sync::watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            changed = reset.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(ttl) => {
                let Some(l) = local.upgrade() else { return };
                let last = l.check(id).map(|c| c.output).unwrap_or_default();
                let output = if last.is_empty() {
                    "TTL expired".to_string()
                } else {
                    format!("TTL expired (last output before timeout follows): {last}")
                };
                let _ = l.set_status(id, CRITICAL, &output).await;
                // Wait for the next update before timing out again.
                if reset.changed().await.is_err() { return }
            }
        }
    }
}

async fn http_probe(check: &HealthCheck, timeout: Duration) -> (&'static str, String) {
    let def = &check.definition;
    let method = if def.method.is_empty() {
        "GET"
    } else {
        def.method.as_str()
    };
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .redirect(if def.disable_redirects {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::default()
        })
        .build()
    {
        Ok(c) => c,
        Err(e) => return (CRITICAL, e.to_string()),
    };
    let Ok(m) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return (CRITICAL, format!("invalid method {method:?}"));
    };
    let mut req = client
        .request(m, &def.http)
        .header("User-Agent", "Consul Health Check")
        .header("Accept", "text/plain, text/*, */*");
    for (name, values) in &def.header {
        for v in values {
            req = req.header(name.as_str(), v.as_str());
        }
    }
    if !def.body.is_empty() {
        req = req.body(def.body.clone());
    }
    match req.send().await {
        Ok(resp) => {
            let code = resp.status();
            let status_line = format!(
                "{} {}",
                code.as_u16(),
                code.canonical_reason().unwrap_or("")
            );
            let body = resp.text().await.unwrap_or_default();
            let output = format!(
                "HTTP {method} {}: {} Output: {}",
                def.http,
                status_line.trim_end(),
                body
            );
            let status = match code.as_u16() {
                200..=299 => PASSING,
                429 => WARNING,
                _ => CRITICAL,
            };
            (status, output)
        }
        Err(e) => (
            CRITICAL,
            format!("{method} {:?}: {}", def.http, error_chain(&e)),
        ),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

async fn tcp_probe(addr: &str, timeout: Duration) -> (&'static str, String) {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => (PASSING, format!("TCP connect {addr}: Success")),
        Ok(Err(e)) => (CRITICAL, format!("dial tcp {addr}: {e}")),
        Err(_) => (CRITICAL, format!("dial tcp {addr}: i/o timeout")),
    }
}

/// A check's output cap, as Consul's `addCheck` works it out: the agent's
/// `check_output_max_size` (4096 when 0), lowered by the check's own `OutputMaxSize`.
fn output_cap(agent: usize, check: usize) -> usize {
    let agent = if agent == 0 {
        DEFAULT_OUTPUT_MAX
    } else {
        agent
    };
    if check > 0 && check < agent {
        check
    } else {
        agent
    }
}

/// Consul's output cap (`CheckTTL.SetStatus`): the first `max` bytes and a note of how much
/// was captured. Go cuts at the byte; we cut at the character boundary before it, so the
/// output stays text.
fn truncate_output(output: &str, max: usize) -> String {
    if output.len() <= max {
        return output.to_string();
    }
    let mut cut = max;
    while !output.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{} ... (captured {cut} of {} bytes)",
        &output[..cut],
        output.len()
    )
}
