//! The agent's telemetry, `GET /v1/agent/metrics`: Consul's metric names, in Consul's JSON shape
//! (go-metrics' inmem sink: `Timestamp`, `Gauges`, `Points`, `Counters`, `Samples`) or, with
//! `?format=prometheus`, in Prometheus' text format with the names as Consul's Prometheus sink
//! writes them (`consul.raft.commitTime` → `consul_raft_commitTime`).
//!
//! Only what happens on a hot path is recorded as it happens: an HTTP request's duration under
//! its endpoint, method and status (one read lock on the series map and one short lock on the
//! series), a Raft commit's duration (in the proposer), becoming leader. Everything that is a
//! state (catalog sizes, checks by status, Raft indexes, blocking queries) is read when scraped.
//!
//! Unlike go-metrics' 10-second intervals, counters and samples here run from the agent's start
//! (`Rate` is per second over that time): Prometheus computes its own rates from totals.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use http::Method;
use serde_json::{json, Value as Json};

use super::Agent;
use crate::metrics::{go_utc_string, prometheus_name, Aggregate, Counter, Exposition, Timer};

/// One HTTP series: method, endpoint label (Consul's handler pattern) and status code.
type HttpKey = (Method, &'static str, u16);

/// What the agent records as it goes.
#[derive(Default)]
pub struct Metrics {
    started: Option<Instant>,
    http: RwLock<HashMap<HttpKey, Arc<Timer>>>,
    /// Blocking queries waiting now (Consul's `consul.rpc.queries_blocking`).
    blocking: AtomicI64,
    /// Times this server became the Raft leader (Consul's `consul.raft.state.leader`).
    pub became_leader: Counter,
}

/// A blocking query counted for as long as it waits.
pub struct Blocking<'a>(&'a AtomicI64);

impl Drop for Blocking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Some(Instant::now()),
            ..Default::default()
        }
    }

    /// Counts one answered request under its endpoint.
    pub fn request(&self, method: &Method, path: &str, status: u16, took: std::time::Duration) {
        let key = (method_label(method), endpoint_label(path), status);
        let known = self.lock_http().get(&key).cloned();
        let timer = match known {
            Some(t) => t,
            None => {
                let mut all = self.http.write().unwrap_or_else(|e| e.into_inner());
                all.entry(key).or_default().clone()
            }
        };
        timer.record(took);
    }

    /// Counts a blocking query until the guard is dropped.
    pub fn blocking(&self) -> Blocking<'_> {
        self.blocking.fetch_add(1, Ordering::Relaxed);
        Blocking(&self.blocking)
    }

    fn lock_http(&self) -> std::sync::RwLockReadGuard<'_, HashMap<HttpKey, Arc<Timer>>> {
        self.http.read().unwrap_or_else(|e| e.into_inner())
    }

    fn uptime_secs(&self) -> f64 {
        self.started
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0)
            .max(1.0)
    }
}

/// The endpoint a path belongs to, as Consul labels it: its handler's pattern with `/` → `_`
/// and no leading slash, so `/v1/kv/a/b` is `v1_kv_` and `/v1/catalog/services` is
/// `v1_catalog_services`. Paths no endpoint serves share `unknown`, the UI's files `ui`, so a
/// client cannot grow the series without bound.
pub fn endpoint_label(path: &str) -> &'static str {
    // (pattern, label); exact patterns first, then those taking an argument after them
    // (longest first where one prefixes another).
    const EXACT: &[(&str, &str)] = &[
        ("/v1/agent/service/register", "v1_agent_service_register"),
        ("/v1/agent/services", "v1_agent_services"),
        ("/v1/agent/checks", "v1_agent_checks"),
        ("/v1/agent/check/register", "v1_agent_check_register"),
        ("/v1/agent/self", "v1_agent_self"),
        ("/v1/agent/members", "v1_agent_members"),
        ("/v1/agent/leave", "v1_agent_leave"),
        ("/v1/agent/metrics", "v1_agent_metrics"),
        ("/v1/catalog/services", "v1_catalog_services"),
        ("/v1/catalog/nodes", "v1_catalog_nodes"),
        ("/v1/catalog/datacenters", "v1_catalog_datacenters"),
        ("/v1/catalog/register", "v1_catalog_register"),
        ("/v1/catalog/deregister", "v1_catalog_deregister"),
        ("/v1/status/leader", "v1_status_leader"),
        ("/v1/status/peers", "v1_status_peers"),
        (
            "/v1/operator/raft/configuration",
            "v1_operator_raft_configuration",
        ),
        ("/v1/ctmpl/templates", "v1_ctmpl_templates"),
    ];
    const WITH_ARGUMENT: &[(&str, &str)] = &[
        (
            "/v1/agent/service/deregister/",
            "v1_agent_service_deregister_",
        ),
        ("/v1/agent/service/", "v1_agent_service_"),
        ("/v1/agent/check/deregister/", "v1_agent_check_deregister_"),
        ("/v1/agent/check/pass/", "v1_agent_check_pass_"),
        ("/v1/agent/check/warn/", "v1_agent_check_warn_"),
        ("/v1/agent/check/fail/", "v1_agent_check_fail_"),
        ("/v1/agent/check/update/", "v1_agent_check_update_"),
        ("/v1/agent/join/", "v1_agent_join_"),
        ("/v1/catalog/service/", "v1_catalog_service_"),
        ("/v1/catalog/node/", "v1_catalog_node_"),
        ("/v1/health/service/", "v1_health_service_"),
        ("/v1/health/checks/", "v1_health_checks_"),
        ("/v1/health/node/", "v1_health_node_"),
        ("/v1/health/state/", "v1_health_state_"),
        ("/v1/kv/", "v1_kv_"),
    ];
    if let Some((_, label)) = EXACT.iter().find(|(p, _)| *p == path) {
        return label;
    }
    if let Some((_, label)) = WITH_ARGUMENT.iter().find(|(p, _)| path.starts_with(p)) {
        return label;
    }
    if path.starts_with("/v1/") {
        "unknown"
    } else {
        "ui"
    }
}

/// The method as a label: the standard ones as sent, anything else `OTHER` (bounded series).
fn method_label(method: &Method) -> Method {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::TRACE,
        Method::CONNECT,
    ];
    if KNOWN.contains(method) {
        method.clone()
    } else {
        Method::from_bytes(b"OTHER").unwrap_or(Method::GET)
    }
}

/// One metric of the snapshot, in go-metrics' terms.
enum Value {
    Gauge(f64),
    Counter(Aggregate),
    Sample(Aggregate),
}

struct Metric {
    name: &'static str,
    help: &'static str,
    labels: Vec<(&'static str, String)>,
    value: Value,
}

impl Metric {
    fn new(name: &'static str, help: &'static str, value: Value) -> Metric {
        Metric {
            name,
            help,
            labels: Vec::new(),
            value,
        }
    }

    fn label(mut self, k: &'static str, v: impl Into<String>) -> Metric {
        self.labels.push((k, v.into()));
        self
    }
}

/// A counter's aggregate: `n` events of 1 each, as go-metrics' `IncrCounter` records them.
fn count(n: u64) -> Aggregate {
    Aggregate {
        count: n,
        sum: n as f64,
        sum_sq: n as f64,
        min: if n > 0 { 1.0 } else { 0.0 },
        max: if n > 0 { 1.0 } else { 0.0 },
    }
}

/// Everything the agent reports, read now.
fn snapshot(agent: &Agent) -> Vec<Metric> {
    use Value::*;
    let m = &agent.metrics;
    let mut out = Vec::new();
    let raft = agent.store.cluster.raft.metrics().borrow().clone();
    let leader = agent.store.cluster.leader().map(|(id, _)| id) == Some(agent.store.cluster.me.id);
    out.push(Metric::new(
        "consul.server.isLeader",
        "Whether this server is the Raft leader (1) or not (0).",
        Gauge(f64::from(u8::from(leader))),
    ));
    out.push(Metric::new(
        "consul.raft.applied_index",
        "The Raft log index last applied to the catalog here.",
        Gauge(raft.last_applied.map_or(0, |l| l.index) as f64),
    ));
    out.push(Metric::new(
        "consul.raft.last_index",
        "The last Raft log index stored here.",
        Gauge(raft.last_log_index.unwrap_or(0) as f64),
    ));
    out.push(Metric::new(
        "consul.rpc.queries_blocking",
        "Blocking queries waiting now.",
        Gauge(m.blocking.load(Ordering::Relaxed).max(0) as f64),
    ));
    let sizes = agent.store.catalog.read(|s| s.sizes());
    for (name, help, n) in [
        ("consul.state.nodes", "Nodes in the catalog.", sizes.nodes),
        (
            "consul.state.services",
            "Distinct service names in the catalog.",
            sizes.services,
        ),
        (
            "consul.state.service_instances",
            "Service instances in the catalog.",
            sizes.service_instances,
        ),
        (
            "consul.state.kv_entries",
            "Keys in the KV store.",
            sizes.kv_entries,
        ),
    ] {
        out.push(Metric::new(name, help, Gauge(n as f64)));
    }
    // Every status is reported, 0 included, so a check leaving one shows as its count dropping.
    let mut checks: BTreeMap<String, usize> = ["passing", "warning", "critical"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    checks.extend(sizes.checks);
    for (status, n) in checks {
        out.push(
            Metric::new(
                "consul.state.checks",
                "Health checks in the catalog, by status (ctmpl's).",
                Gauge(n as f64),
            )
            .label("status", status),
        );
    }
    out.push(Metric::new(
        "consul.raft.state.leader",
        "Times this server became the Raft leader.",
        Counter(count(m.became_leader.get())),
    ));
    out.push(Metric::new(
        "consul.raft.commitTime",
        "Milliseconds a Raft entry took to commit (on the leader).",
        Sample(agent.store.cluster.commit_time.get()),
    ));
    http_metrics(m, &mut out);
    out
}

/// `consul.api.http` (Consul's, by method and endpoint) and `consul.api.http.requests`
/// (ctmpl's: the same requests also by status code).
fn http_metrics(m: &Metrics, out: &mut Vec<Metric>) {
    let series: Vec<(HttpKey, Aggregate)> = m
        .lock_http()
        .iter()
        .map(|(k, t)| (k.clone(), t.get()))
        .collect();
    let mut by_endpoint: BTreeMap<(String, &str), Aggregate> = BTreeMap::new();
    let mut by_status: BTreeMap<(String, &str, u16), u64> = BTreeMap::new();
    for ((method, path, code), a) in series {
        by_endpoint
            .entry((method.to_string(), path))
            .or_default()
            .merge(&a);
        *by_status
            .entry((method.to_string(), path, code))
            .or_default() += a.count;
    }
    for ((method, path), a) in by_endpoint {
        out.push(
            Metric::new(
                "consul.api.http",
                "Milliseconds HTTP requests took, by method and endpoint.",
                Value::Sample(a),
            )
            .label("method", method)
            .label("path", path),
        );
    }
    for ((method, path, code), n) in by_status {
        out.push(
            Metric::new(
                "consul.api.http.requests",
                "HTTP requests answered, by method, endpoint and status code (ctmpl's).",
                Value::Counter(count(n)),
            )
            .label("method", method)
            .label("path", path)
            .label("code", code.to_string()),
        );
    }
}

/// Consul's JSON (`/v1/agent/metrics`).
pub fn json(agent: &Agent) -> Json {
    let uptime = agent.metrics.uptime_secs();
    let (mut gauges, mut counters, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    for m in snapshot(agent) {
        let labels: serde_json::Map<String, Json> = m
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), Json::from(v.as_str())))
            .collect();
        match m.value {
            Value::Gauge(v) => gauges.push(json!({"Name": m.name, "Value": v, "Labels": labels})),
            Value::Counter(a) => counters.push(sampled(m.name, &a, uptime, labels)),
            Value::Sample(a) => samples.push(sampled(m.name, &a, uptime, labels)),
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    json!({
        "Timestamp": go_utc_string(now),
        "Gauges": gauges,
        "Points": [],
        "Counters": counters,
        "Samples": samples,
    })
}

/// go-metrics' `SampledValue`.
fn sampled(name: &str, a: &Aggregate, uptime: f64, labels: serde_json::Map<String, Json>) -> Json {
    json!({
        "Name": name,
        "Count": a.count,
        "Rate": a.sum / uptime,
        "Sum": a.sum,
        "Min": a.min,
        "Max": a.max,
        "Mean": a.mean(),
        "Stddev": a.stddev(),
        "Labels": labels,
    })
}

/// The Prometheus text format (`/v1/agent/metrics?format=prometheus`).
pub fn prometheus(agent: &Agent) -> String {
    let mut e = Exposition::default();
    let mut families: BTreeMap<&str, Vec<Metric>> = BTreeMap::new();
    for m in snapshot(agent) {
        families.entry(m.name).or_default().push(m);
    }
    for (name, metrics) in families {
        let prom = prometheus_name(name);
        let kind = match metrics[0].value {
            Value::Gauge(_) => "gauge",
            Value::Counter(_) => "counter",
            Value::Sample(_) => "summary",
        };
        e.family(&prom, kind, metrics[0].help);
        for m in &metrics {
            let labels: Vec<(&str, &str)> =
                m.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match &m.value {
                Value::Gauge(v) => e.sample(&prom, &labels, *v),
                Value::Counter(a) => e.sample(&prom, &labels, a.sum),
                Value::Sample(a) => e.summary(&prom, &labels, a),
            }
        }
    }
    e.finish()
}

/// Counts each time this server becomes the leader, for as long as its Raft node runs.
pub fn watch_leadership(agent: &Arc<Agent>) {
    let mut rx = agent.store.cluster.raft.metrics();
    let agent = Arc::downgrade(agent);
    tokio::spawn(async move {
        let mut was_leader = false;
        loop {
            let leader = rx.borrow_and_update().state == openraft::ServerState::Leader;
            if leader && !was_leader {
                match agent.upgrade() {
                    Some(a) => a.metrics.became_leader.inc(),
                    None => return,
                }
            }
            was_leader = leader;
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{endpoint_label, method_label};
    use http::Method;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::PUT), Method::PUT);
        let brew = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&brew).as_str(), "OTHER");
    }

    #[test]
    fn paths_are_labelled_by_their_endpoint_as_consul_does() {
        assert_eq!(endpoint_label("/v1/kv/a/b"), "v1_kv_");
        assert_eq!(
            endpoint_label("/v1/catalog/services"),
            "v1_catalog_services"
        );
        assert_eq!(
            endpoint_label("/v1/catalog/service/web"),
            "v1_catalog_service_"
        );
        assert_eq!(
            endpoint_label("/v1/agent/service/register"),
            "v1_agent_service_register"
        );
        assert_eq!(
            endpoint_label("/v1/agent/service/web-1"),
            "v1_agent_service_"
        );
        assert_eq!(
            endpoint_label("/v1/agent/check/fail/c1"),
            "v1_agent_check_fail_"
        );
        assert_eq!(
            endpoint_label("/v1/agent/service/deregister/w"),
            "v1_agent_service_deregister_"
        );
        assert_eq!(endpoint_label("/v1/nope"), "unknown");
        assert_eq!(endpoint_label("/ui/app.js"), "ui");
    }
}
