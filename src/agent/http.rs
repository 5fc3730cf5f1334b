//! Consul's HTTP API: routing by path as Consul does, plain-text errors with Consul's codes and
//! words, request bodies decoded as Go's `encoding/json` would (keys case-insensitive, unknown
//! keys refused), and blocking reads with Consul's index headers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::acl;
use super::catalog::{all_passing, Command, Deregister, Outcome, Register, Topic};
use super::checks::AgentError;
use super::decode;
use super::filter::Filter;
use super::raft::requests;
use super::raft::{first_answer, Verdict};
use super::Agent;
use crate::consul::api::{self, AgentService, CRITICAL, PASSING, WARNING};

/// Consul's `kv_max_value_size`.
pub const KV_MAX_VALUE: usize = 512 * 1024;
const DEFAULT_WAIT: Duration = Duration::from_secs(300);
const MAX_WAIT: Duration = Duration::from_secs(600);

/// An HTTP answer being built: status, body, and Consul's headers.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: message.into().into_bytes(),
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
        }
    }

    /// A JSON body already encoded (the server port's answers).
    pub fn json_bytes(body: Vec<u8>) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    fn empty() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Vec::new(),
            content_type: "",
            headers: Vec::new(),
        }
    }

    /// The bytes on the wire; without the body for HEAD.
    pub fn encode(&self, head_only: bool, keep_alive: bool) -> Vec<u8> {
        use std::fmt::Write;
        let mut head = String::with_capacity(256);
        let reason = self.status.canonical_reason().unwrap_or("");
        let _ = write!(head, "HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        if !self.content_type.is_empty() {
            let _ = write!(head, "Content-Type: {}\r\n", self.content_type);
        }
        for (k, v) in &self.headers {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// The answer as the HTTP/2 and HTTPS writers send it: status, headers (the content type
    /// among them) and body.
    pub fn into_parts(self) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        let mut headers = self.headers;
        if !self.content_type.is_empty() {
            headers.insert(0, ("Content-Type", self.content_type.to_string()));
        }
        (self.status.as_u16(), headers, self.body)
    }

    fn with_index(mut self, index: u64) -> Reply {
        self.headers
            .push(("X-Consul-Index", index.max(1).to_string()));
        self.headers.push(("X-Consul-KnownLeader", "true".into()));
        self.headers.push(("X-Consul-LastContact", "0".into()));
        self
    }
}

impl From<AgentError> for Reply {
    fn from(e: AgentError) -> Reply {
        Reply::error(e.status, e.message)
    }
}

type Result<T> = std::result::Result<T, Reply>;

/// The parsed query string (keys may repeat).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Query {
        Query(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Takes `key` out of the query (a parameter meant for this agent, not the endpoint).
    fn take(&mut self, key: &str) -> Option<String> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One request as the handlers see it.
struct Req<'a> {
    agent: &'a Arc<Agent>,
    method: Method,
    query: Query,
    body: Vec<u8>,
}

impl Req<'_> {
    fn json<T: Serialize>(&self, value: &T) -> Result<Reply> {
        let mut body = if self.query.has("pretty") {
            serde_json::to_vec_pretty(value)
        } else {
            serde_json::to_vec(value)
        }
        .map_err(|e| Reply::error(500, e.to_string()))?;
        if self.query.has("pretty") {
            body.push(b'\n');
        }
        Ok(Reply {
            status: StatusCode::OK,
            body,
            content_type: "application/json",
            headers: Vec::new(),
        })
    }

    fn filter(&self) -> Result<Option<Filter>> {
        match self.query.get("filter").filter(|f| !f.is_empty()) {
            Some(expr) => Filter::parse(expr)
                .map(Some)
                .map_err(|e| Reply::error(500, e)),
            None => Ok(None),
        }
    }

    /// `?index` and `?wait`: the index to wait past and when to give up.
    fn blocking(&self) -> Result<(u64, Instant)> {
        let index = match self.query.get("index") {
            Some(i) if !i.is_empty() => i
                .parse::<u64>()
                .map_err(|_| Reply::error(400, "Invalid index"))?,
            _ => 0,
        };
        let mut wait = match self.query.get("wait") {
            Some(w) if !w.is_empty() => {
                crate::duration::parse(w).map_err(|_| Reply::error(400, "Invalid wait time"))?
            }
            _ => Duration::ZERO,
        };
        if wait > MAX_WAIT {
            wait = MAX_WAIT;
        }
        if wait.is_zero() {
            wait = DEFAULT_WAIT;
        }
        wait += (wait / 16).mul_f64(crate::random_fraction());
        Ok((index, Instant::now() + wait))
    }

    fn consistency(&self) -> Result<&'static str> {
        match (self.query.has("stale"), self.query.has("consistent")) {
            (true, true) => Err(Reply::error(
                400,
                "Cannot specify ?stale with ?consistent, conflicting semantics.",
            )),
            (true, false) => Ok("stale"),
            (false, true) => Ok("consistent"),
            _ => Ok("leader"),
        }
    }

    fn decode(&self) -> Result<Json> {
        decode::json_body(&self.body).map_err(|e| Reply::error(400, e))
    }
}

/// The single entry point: one request (`target` is the path and query as sent, `token` the
/// ACL token its headers carried), counted in the agent's metrics under its endpoint and status.
pub async fn handle(
    agent: &Arc<Agent>,
    method: Method,
    target: &str,
    body: Vec<u8>,
    token: Option<String>,
) -> Reply {
    let started = std::time::Instant::now();
    let mut reply = answer(agent, method.clone(), target, body, token).await;
    reply.headers.push((
        "X-Consul-Default-ACL-Policy",
        agent.config.acl.default_policy_header().into(),
    ));
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    agent
        .metrics
        .request(&method, path, reply.status.as_u16(), started.elapsed());
    reply
}

async fn answer(
    agent: &Arc<Agent>,
    method: Method,
    target: &str,
    body: Vec<u8>,
    header_token: Option<String>,
) -> Reply {
    let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(path) = percent_decode(raw_path) else {
        return Reply::error(400, format!("invalid URL escape in {raw_path:?}"));
    };
    let mut query = Query::parse(query);
    // The request id a client agent gave a write it passes on (`raft::hedge`).
    let write_id = query
        .take(requests::QUERY_PARAM)
        .and_then(|id| requests::decode(&id));
    // Consul's order: `?token=`, then `X-Consul-Token`, then `Authorization: Bearer`.
    let token = query
        .get("token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or(header_token);
    // A client agent answers for itself (`/v1/agent/...`); the catalog lives on the servers.
    let forwarded = [
        "/v1/catalog/",
        "/v1/health/",
        "/v1/kv/",
        "/v1/status/",
        "/v1/operator/",
        "/v1/acl/",
    ];
    if let Some(reply) = no_path_to(agent, &path, &query) {
        return reply;
    }
    if !agent.config.server && forwarded.iter().any(|p| path.starts_with(p)) {
        if is_single_write(&method, &path) {
            return proxy_write(agent, &method, target, body, token.as_deref()).await;
        }
        return proxy(agent, method, target, body, token.as_deref()).await;
    }
    // A client agent has no ACL tables: a server resolves the token for it.
    let resolved = if agent.config.server || !agent.config.acl.enabled {
        acl::http::resolve(agent, token.as_deref())
    } else {
        let target = acl::http::AUTHORIZER_PATH;
        let answer = proxy(agent, Method::GET, target, Vec::new(), token.as_deref()).await;
        acl::http::resolve_answer(&agent.config.acl, answer.status.as_u16(), &answer.body)
    };
    let authz = match resolved {
        Ok(authz) => authz,
        Err(refused) => return refused,
    };
    if path.starts_with("/v1/acl/") {
        return acl::http::route(agent, &authz, token.as_deref(), &method, &path, &body).await;
    }
    if let Err(refused) = acl::http::authorize(agent, &authz, &method, &path, &query.0, &body) {
        return refused;
    }
    let req = Req {
        agent,
        method,
        query,
        body,
    };
    let routed = route(&req, &path);
    let routed = match write_id {
        Some(id) => requests::scoped(id, routed).await,
        None => routed.await,
    };
    let mut reply = match routed {
        Ok(r) | Err(r) => r,
    };
    if reply.status == StatusCode::OK && reply.content_type == "application/json" {
        if let Some(kept) = acl::http::filter_body(&authz, &path, &req.query.0, &reply.body) {
            reply.body = kept.body;
            reply
                .headers
                .push(("X-Consul-Results-Filtered-By-ACLs", "true".into()));
            if kept.emptied_kv {
                reply.status = StatusCode::NOT_FOUND;
                reply.body.clear();
                reply.content_type = "";
            }
        }
    }
    // The leader headers tell the truth about this server's view of the cluster.
    if reply
        .headers
        .iter()
        .any(|(k, _)| *k == "X-Consul-KnownLeader")
    {
        let cluster = &agent.store.cluster;
        let known = cluster.leader().is_some();
        let contact = cluster.last_contact_ms();
        for (k, v) in reply.headers.iter_mut() {
            match *k {
                "X-Consul-KnownLeader" => *v = known.to_string(),
                "X-Consul-LastContact" => *v = contact.to_string(),
                _ => {}
            }
        }
    }
    reply
}

/// Consul's answer to `?dc=` naming a datacenter it cannot reach (500 `No path to
/// datacenter`), on the endpoints that take one. This agent knows only its own datacenter:
/// answering another's question with its own data would render the wrong values.
fn no_path_to(agent: &Agent, path: &str, query: &Query) -> Option<Reply> {
    const TAKE_DC: [&str; 5] = [
        "/v1/catalog/",
        "/v1/health/",
        "/v1/kv/",
        "/v1/status/",
        "/v1/operator/",
    ];
    let dc = query.get("dc").filter(|dc| !dc.is_empty())?;
    if dc == agent.config.datacenter
        || path == "/v1/catalog/datacenters"
        || !TAKE_DC.iter().any(|p| path.starts_with(p))
    {
        return None;
    }
    tracing::warn!(
        "agent.server.rpc: RPC request for DC is currently failing as no path was found: datacenter={dc} path={path}"
    );
    Some(Reply::error(500, "No path to datacenter"))
}

/// A client agent's request passed on to a server's HTTP API, its answer passed back.
async fn proxy(
    agent: &Arc<Agent>,
    method: Method,
    target: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    let cluster = &agent.store.cluster;
    let Ok(method) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return Reply::error(405, "method not allowed");
    };
    let mut deadline = Instant::now() + Duration::from_secs(7);
    let mut attempt = 0;
    let mut asked_again = 0;
    // A read may be asked again of another server; a write only if it was never sent.
    let idempotent = method == reqwest::Method::GET || method == reqwest::Method::HEAD;
    let timeout = proxy_timeout(target);
    // Servers are tried in turn until one answers (a dead one refuses the connection, a
    // paused one never answers).
    let (server, resp) = loop {
        let servers: Vec<_> = cluster
            .servers()
            .into_iter()
            .filter(|p| !p.http.is_empty())
            .collect();
        if let Some(server) = servers.get(attempt % servers.len().max(1)).cloned() {
            let mut request = cluster
                .client
                // One HTTP/2 connection per server carries every forwarded query.
                .api
                .request(method.clone(), format!("http://{}{target}", server.http));
            if let Some(token) = token {
                request = request.header("X-Consul-Token", token);
            }
            let resp = request.timeout(timeout).body(body.clone()).send().await;
            match resp {
                Ok(r) => break (server, r),
                Err(e) if e.is_connect() => {}
                Err(e) if idempotent && asked_again < 2 => {
                    tracing::debug!("forwarding to {}: {e}; asking another server", server.name);
                    asked_again += 1;
                    deadline = deadline.max(Instant::now() + Duration::from_secs(2));
                }
                Err(e) => return Reply::error(500, format!("forwarding to {}: {e}", server.name)),
            }
        }
        attempt += 1;
        if Instant::now() >= deadline {
            return Reply::error(500, super::raft::NO_SERVERS);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    reply_of(resp, &server.name).await
}

/// A server's answer, as this agent passes it back: status, body, and the headers that carry
/// Consul's meaning.
async fn reply_of(resp: reqwest::Response, server: &str) -> Reply {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = match resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
    {
        "application/json" => "application/json",
        "text/plain" => "text/plain",
        "text/plain; charset=utf-8" => "text/plain; charset=utf-8",
        "" => "",
        _ => "application/octet-stream",
    };
    const PASSED: [&str; 8] = [
        "X-Consul-Results-Filtered-By-ACLs",
        "X-Consul-Index",
        "X-Consul-KnownLeader",
        "X-Consul-LastContact",
        "X-Consul-Effective-Consistency",
        "X-Consul-ContentHash",
        "X-Content-Type-Options",
        "Content-Security-Policy",
    ];
    let headers = PASSED
        .iter()
        .filter_map(|name| {
            let v = resp.headers().get(*name)?.to_str().ok()?.to_string();
            Some((*name, v))
        })
        .collect();
    match resp.bytes().await {
        Ok(bytes) => Reply {
            status,
            body: bytes.to_vec(),
            content_type,
            headers,
        },
        Err(e) => Reply::error(500, format!("forwarding to {server}: {e}")),
    }
}

/// The writes a client agent may send to more than one server: those whose handler makes
/// exactly one Raft write (a KV set or delete, a catalog registration or deregistration), so
/// the request id they carry covers the whole of them.
fn is_single_write(method: &Method, path: &str) -> bool {
    let kv_write =
        (*method == Method::PUT || *method == Method::DELETE) && path.starts_with("/v1/kv/");
    let catalog_write = *method == Method::PUT
        && (path == "/v1/catalog/register" || path == "/v1/catalog/deregister");
    kv_write || catalog_write
}

/// A client agent's write passed on to a server's API with a request id, to another server
/// too when the first is slow to answer (`raft::hedge`): a paused server holds nobody's write
/// for long, and the id keeps the copies from applying twice.
async fn proxy_write(
    agent: &Arc<Agent>,
    method: &Method,
    target: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    let cluster = &agent.store.cluster;
    let Ok(method) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return Reply::error(405, "method not allowed");
    };
    let id = requests::encode(super::raft::new_id(cluster.me.id));
    let sep = if target.contains('?') { '&' } else { '?' };
    let target = format!("{target}{sep}{}={id}", requests::QUERY_PARAM);
    let servers = || {
        cluster
            .servers()
            .into_iter()
            .filter(|p| !p.http.is_empty())
            .map(|p| p.http)
            .collect()
    };
    let body = bytes::Bytes::from(body);
    let send = |server: String| {
        let mut request = cluster
            .client
            .api
            .request(method.clone(), format!("http://{server}{target}"))
            .timeout(Duration::from_secs(10))
            .body(body.clone());
        if let Some(token) = token {
            request = request.header("X-Consul-Token", token);
        }
        async move {
            match request.send().await {
                Ok(resp) => {
                    let reply = reply_of(resp, &server).await;
                    let no_leader = reply.status == StatusCode::INTERNAL_SERVER_ERROR
                        && reply.body == super::raft::NO_LEADER.as_bytes();
                    if no_leader {
                        Verdict::TryAnother(super::raft::NO_LEADER.to_string())
                    } else {
                        Verdict::Answer(reply)
                    }
                }
                Err(e) => Verdict::TryAnother(format!("forwarding to {server}: {e}")),
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(7);
    match first_answer(&cluster.preferred_http, servers, send, deadline).await {
        Ok(reply) => reply,
        Err(why) if why == super::raft::NO_LEADER => Reply::error(500, why),
        Err(_) => Reply::error(500, super::raft::NO_SERVERS),
    }
}

/// How long a client agent waits for a server's answer: a blocking query its wait (up to 10
/// minutes, plus jitter); anything else the server's own hold for a leader (7 s) and a little,
/// so a server that stopped answering does not hold the client for minutes.
fn proxy_timeout(target: &str) -> Duration {
    let query = Query::parse(target.split_once('?').map_or("", |(_, q)| q));
    let blocking = query
        .get("index")
        .is_some_and(|i| !i.is_empty() && i != "0");
    if blocking {
        Duration::from_secs(700)
    } else {
        Duration::from_secs(10)
    }
}

/// Go's path unescaping (`%2F` is a `/`, `+` stays a `+`).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks the method against an endpoint's allowed list (Consul's 405 and OPTIONS answers).
fn allow(req: &Req<'_>, methods: &[Method]) -> Result<()> {
    allow_method(&req.method, methods)
}

/// Consul's answer to a method an endpoint does not take: 405 (an empty 200 for `OPTIONS`),
/// with the `Allow` header either way.
pub(super) fn allow_method(method: &Method, methods: &[Method]) -> Result<()> {
    if methods.contains(method) {
        return Ok(());
    }
    let list: Vec<&str> = methods.iter().map(Method::as_str).collect();
    let allow_header = format!("OPTIONS,{}", list.join(","));
    let mut reply = if *method == Method::OPTIONS {
        Reply::empty()
    } else {
        Reply::error(405, format!("method {method} not allowed"))
    };
    reply.headers.push(("Allow", allow_header));
    Err(reply)
}

const GET: &[Method] = &[Method::GET];
const PUT: &[Method] = &[Method::PUT];

async fn route(req: &Req<'_>, path: &str) -> Result<Reply> {
    if path == "/" {
        return Ok(if req.agent.config.ui {
            let mut r = Reply::empty();
            r.status = StatusCode::MOVED_PERMANENTLY;
            let ui_path = format!("/{}/", req.agent.config.ui_content_path.trim_matches('/'));
            r.headers.push(("Location", ui_path));
            r
        } else {
            Reply::error(200, "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.")
        });
    }
    let ui_path = format!("/{}/", req.agent.config.ui_content_path.trim_matches('/'));
    if path == ui_path.trim_end_matches('/') {
        // The UI's files are relative to its folder: `/ui` → `/ui/`, as Consul does.
        let mut r = Reply::empty();
        r.status = StatusCode::MOVED_PERMANENTLY;
        r.headers.push(("Location", ui_path));
        return Ok(r);
    }
    if let Some(file) = path.strip_prefix(ui_path.as_str()) {
        allow(req, GET)?;
        return ui(req, file);
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(Reply::error(404, "404 page not found"));
    };
    let segs: Vec<&str> = rest.splitn(4, '/').collect();
    match segs.as_slice() {
        ["agent", "service", "register"] => {
            allow(req, PUT)?;
            service_register(req).await
        }
        ["agent", "service", "deregister", id] => {
            allow(req, PUT)?;
            req.agent.local.remove_service(id).await?;
            Ok(Reply::empty())
        }
        ["agent", "services"] => {
            allow(req, GET)?;
            agent_services(req)
        }
        ["agent", "service", id] => {
            allow(req, GET)?;
            agent_service(req, id)
        }
        ["agent", "checks"] => {
            allow(req, GET)?;
            agent_checks(req)
        }
        ["agent", "check", "register"] => {
            allow(req, PUT)?;
            check_register(req).await
        }
        ["agent", "check", "deregister", id] => {
            allow(req, PUT)?;
            req.agent.local.remove_check(id).await?;
            Ok(Reply::empty())
        }
        ["agent", "check", verb @ ("pass" | "warn" | "fail"), id] => {
            allow(req, PUT)?;
            let status = match *verb {
                "pass" => PASSING,
                "warn" => WARNING,
                _ => CRITICAL,
            };
            let note = req.query.get("note").unwrap_or("");
            req.agent.local.update_ttl(id, status, note).await?;
            Ok(Reply::empty())
        }
        ["agent", "check", "update", id] => {
            allow(req, PUT)?;
            check_update(req, id).await
        }
        ["agent", "self"] => {
            allow(req, GET)?;
            let mut info = req.agent.self_info();
            // ctmpl's own version beside the Consul version the API imitates (Config.Version).
            info["Config"]["CtmplVersion"] = env!("CARGO_PKG_VERSION").into();
            req.json(&info)
        }
        ["agent", "members"] => {
            allow(req, GET)?;
            req.json(&req.agent.members())
        }
        ["agent", "join", addr] => {
            allow(req, PUT)?;
            // In a dev cluster, joining a server that left brings it back (devcluster.rs).
            let dev_cluster = req.agent.dev_cluster.get().and_then(|c| c.upgrade());
            if let Some(cluster) = dev_cluster {
                if let Some(rejoined) = cluster.rejoin(addr).await {
                    rejoined.map_err(|e| Reply::error(500, e))?;
                    return Ok(Reply::empty());
                }
            }
            req.agent
                .join(addr)
                .await
                .map_err(|e| Reply::error(500, e))?;
            Ok(Reply::empty())
        }
        ["agent", "leave"] => {
            allow(req, PUT)?;
            tracing::info!("agent: Requesting shutdown (/v1/agent/leave)");
            // A graceful leave: the other members hear that it left rather than see it fail.
            req.agent.store.cluster.announce_leave().await;
            req.agent.shutdown.cancel();
            Ok(Reply::empty())
        }
        ["catalog", "services"] => {
            allow(req, GET)?;
            catalog_services(req).await
        }
        ["catalog", "service", name] if !name.is_empty() => {
            allow(req, GET)?;
            catalog_service(req, name).await
        }
        ["catalog", "service"] | ["catalog", "service", ""] => {
            allow(req, GET)?;
            Err(Reply::error(400, "Missing service name"))
        }
        ["catalog", "nodes"] => {
            allow(req, GET)?;
            catalog_nodes(req).await
        }
        ["catalog", "node", name] if !name.is_empty() => {
            allow(req, GET)?;
            catalog_node(req, name).await
        }
        ["catalog", "node"] | ["catalog", "node", ""] => {
            allow(req, GET)?;
            Err(Reply::error(400, "Missing node name"))
        }
        ["catalog", "datacenters"] => {
            allow(req, GET)?;
            req.json(&vec![req.agent.config.datacenter.clone()])
        }
        ["catalog", "register"] => {
            allow(req, PUT)?;
            catalog_register(req).await
        }
        ["catalog", "deregister"] => {
            allow(req, PUT)?;
            catalog_deregister(req).await
        }
        ["health", "service", name] if !name.is_empty() => {
            allow(req, GET)?;
            health_service(req, name).await
        }
        ["health", "checks", name] if !name.is_empty() => {
            allow(req, GET)?;
            let name = name.to_string();
            let topic = Topic::Service(name.clone());
            read_list(req, topic, move |s| s.service_checks(&name)).await
        }
        ["health", "node", name] if !name.is_empty() => {
            allow(req, GET)?;
            let name = name.to_string();
            read_list(req, Topic::Checks, move |s| s.node_checks(&name)).await
        }
        ["health", "state", state] if !state.is_empty() => {
            allow(req, GET)?;
            let state = state.to_string();
            read_list(req, Topic::Checks, move |s| s.checks_in_state(&state)).await
        }
        ["health", "service" | "checks"] | ["health", "service" | "checks", ""] => {
            allow(req, GET)?;
            Err(Reply::error(400, "Missing service name"))
        }
        ["health", "node"] | ["health", "node", ""] => {
            allow(req, GET)?;
            Err(Reply::error(400, "Missing node name"))
        }
        ["health", "state"] | ["health", "state", ""] => {
            allow(req, GET)?;
            Err(Reply::error(400, "Missing check state"))
        }
        ["kv", ..] => {
            allow(req, &[Method::GET, Method::PUT, Method::DELETE])?;
            let key = rest
                .strip_prefix("kv")
                .unwrap_or("")
                .trim_start_matches('/');
            kv(req, key).await
        }
        ["status", "leader"] => {
            allow(req, GET)?;
            req.json(&req.agent.leader())
        }
        ["status", "peers"] => {
            allow(req, GET)?;
            req.json(&req.agent.peers())
        }
        ["agent", "metrics"] => {
            allow(req, GET)?;
            agent_metrics(req)
        }
        ["ctmpl", "templates"] => {
            allow(req, GET)?;
            match req.agent.templates.get() {
                Some(shared) => req.json(&crate::status::read(shared)),
                None => Err(Reply::error(
                    404,
                    "no templates: this agent is not embedded in a ctmpl run (ctmpl -dev)",
                )),
            }
        }
        ["operator", "raft", "configuration"] => {
            allow(req, GET)?;
            req.json(&req.agent.store.cluster.configuration())
        }
        _ => Err(Reply::error(
            404,
            "Invalid URL path: not a recognized HTTP API endpoint",
        )),
    }
}

// The web UI: plain HTML, CSS and JS built into the binary.

const UI_FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("ui/style.css"),
    ),
];

fn ui(req: &Req<'_>, file: &str) -> Result<Reply> {
    if !req.agent.config.ui {
        return Err(Reply::error(
            404,
            "UI disabled: start the agent with -ui (or -dev)",
        ));
    }
    let file = if file.is_empty() { "index.html" } else { file };
    let Some((_, content_type, body)) = UI_FILES.iter().find(|(name, _, _)| *name == file) else {
        return Err(Reply::error(404, format!("no UI file {file:?}")));
    };
    Ok(Reply {
        status: StatusCode::OK,
        body: body.as_bytes().to_vec(),
        content_type,
        headers: vec![("Cache-Control", "no-cache".into())],
    })
}

// Agent endpoints.

async fn service_register(req: &Req<'_>) -> Result<Reply> {
    let replace = match req.query.get("replace-existing-checks") {
        None => false,
        Some("" | "true") => true,
        Some(_) => false,
    };
    let body = req.decode()?;
    let (service, checks) = decode::service_definition(body, &req.agent.local.node)
        .map_err(|e| Reply::error(e.status, e.message))?;
    req.agent
        .local
        .add_service(service, checks, replace)
        .await?;
    Ok(Reply::empty())
}

async fn check_register(req: &Req<'_>) -> Result<Reply> {
    let body = req.decode()?;
    let check = decode::check_definition(body).map_err(|e| Reply::error(e.status, e.message))?;
    req.agent.local.add_check(check).await?;
    Ok(Reply::empty())
}

async fn check_update(req: &Req<'_>, id: &str) -> Result<Reply> {
    let body = req.decode()?;
    let (status, output) =
        decode::check_update(body).map_err(|e| Reply::error(e.status, e.message))?;
    req.agent.local.update_ttl(id, &status, &output).await?;
    Ok(Reply::empty())
}

fn agent_services(req: &Req<'_>) -> Result<Reply> {
    let dc = &req.agent.config.datacenter;
    let filter = req.filter()?;
    let mut out = BTreeMap::new();
    for s in req.agent.local.services() {
        let svc = AgentService::new(&s, dc);
        if keep(&filter, &svc)? {
            out.insert(s.id.clone(), svc);
        }
    }
    req.json(&out)
}

fn agent_service(req: &Req<'_>, id: &str) -> Result<Reply> {
    let Some(s) = req.agent.local.service(id) else {
        return Err(Reply::error(404, format!("unknown service ID: {id}")));
    };
    let mut svc = AgentService::new(&s, &req.agent.config.datacenter);
    let hash = format!(
        "{:016x}",
        crate::hash_of(&serde_json::to_string(&svc).unwrap_or_default())
    );
    svc.content_hash = hash.clone();
    let mut reply = req.json(&svc)?;
    reply.headers.push(("X-Consul-ContentHash", hash));
    Ok(reply)
}

fn agent_checks(req: &Req<'_>) -> Result<Reply> {
    let filter = req.filter()?;
    let mut out = BTreeMap::new();
    for c in req.agent.local.checks() {
        if keep(&filter, &c)? {
            out.insert(c.check_id.clone(), c);
        }
    }
    req.json(&out)
}

/// Whether a response element passes `?filter`.
fn keep<T: Serialize>(filter: &Option<Filter>, item: &T) -> Result<bool> {
    let Some(f) = filter else { return Ok(true) };
    let json = serde_json::to_value(item).map_err(|e| Reply::error(500, e.to_string()))?;
    f.matches(&json).map_err(|e| Reply::error(500, e))
}

/// `/v1/agent/metrics`: Consul's JSON, or Prometheus' text with `?format=prometheus`.
fn agent_metrics(req: &Req<'_>) -> Result<Reply> {
    match req.query.get("format") {
        None | Some("") => req.json(&super::metrics::json(req.agent)),
        Some("prometheus") => Ok(Reply {
            status: StatusCode::OK,
            body: super::metrics::prometheus(req.agent).into_bytes(),
            content_type: crate::metrics::PROMETHEUS_CONTENT_TYPE,
            headers: Vec::new(),
        }),
        Some(other) => Err(Reply::error(
            400,
            format!("unknown metrics format {other:?}: the formats are the default JSON and \"prometheus\""),
        )),
    }
}

// Catalog and health reads.

/// Runs a read as a blocking query on `topic` and answers with its data and index.
async fn blocking_read<T: Send + 'static>(
    req: &Req<'_>,
    topic: Topic,
    query: impl Fn(&super::catalog::State) -> (T, u64),
) -> Result<(T, u64, &'static str)> {
    let consistency = req.consistency()?;
    let (index, deadline) = req.blocking()?;
    if consistency != "stale" {
        req.agent
            .store
            .cluster
            .barrier()
            .await
            .map_err(|e| Reply::error(500, e))?;
    }
    // Counted as a blocking query while it waits (Consul's `consul.rpc.queries_blocking`).
    let _waiting = (index > 0).then(|| req.agent.metrics.blocking());
    let (data, idx) = req
        .agent
        .store
        .catalog
        .wait_past(topic, index, deadline, query)
        .await;
    Ok((data, idx, consistency))
}

fn indexed(mut reply: Reply, index: u64, consistency: &'static str) -> Reply {
    reply = reply.with_index(index);
    reply
        .headers
        .push(("X-Consul-Effective-Consistency", consistency.to_string()));
    reply
}

async fn read_list<T: Serialize + Send + 'static>(
    req: &Req<'_>,
    topic: Topic,
    query: impl Fn(&super::catalog::State) -> (Vec<T>, u64),
) -> Result<Reply> {
    let filter = req.filter()?;
    let (items, index, consistency) = blocking_read(req, topic, query).await?;
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if keep(&filter, &item)? {
            kept.push(item);
        }
    }
    Ok(indexed(req.json(&kept)?, index, consistency))
}

/// `?node-meta=k:v` pairs, all of which must match.
fn node_meta(req: &Req<'_>) -> Vec<(String, String)> {
    req.query
        .all("node-meta")
        .into_iter()
        .map(|kv| match kv.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect()
}

fn meta_matches(meta: &api::Map, want: &[(String, String)]) -> bool {
    want.iter().all(|(k, v)| meta.get(k) == Some(v))
}

fn has_tags(tags: &[String], want: &[&str]) -> bool {
    want.iter()
        .all(|w| tags.iter().any(|t| t.eq_ignore_ascii_case(w)))
}

async fn catalog_services(req: &Req<'_>) -> Result<Reply> {
    let filter = req.filter()?;
    let meta = node_meta(req);
    let filtering = filter.is_some() || !meta.is_empty();
    let (data, index, consistency) = if filtering {
        // Filters apply to instances: gather them, then fold into name → tags.
        let (instances, index, consistency) = blocking_read(req, Topic::Services, |s| {
            let (names, idx) = s.catalog_services();
            let all: Vec<api::CatalogService> =
                names.keys().flat_map(|n| s.catalog_service(n).0).collect();
            (all, idx)
        })
        .await?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for inst in instances {
            if !meta_matches(&inst.node_meta, &meta) || !keep(&filter, &inst)? {
                continue;
            }
            let tags = out.entry(inst.service_name.clone()).or_default();
            for t in inst.service_tags {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
        }
        (out, index, consistency)
    } else {
        blocking_read(req, Topic::Services, |s| s.catalog_services()).await?
    };
    Ok(indexed(req.json(&data)?, index, consistency))
}

async fn catalog_service(req: &Req<'_>, name: &str) -> Result<Reply> {
    let filter = req.filter()?;
    let tags = req.query.all("tag");
    let meta = node_meta(req);
    let name = name.to_string();
    let (items, index, consistency) = blocking_read(req, Topic::Service(name.clone()), move |s| {
        s.catalog_service(&name)
    })
    .await?;
    let mut kept = Vec::new();
    for item in items {
        if has_tags(&item.service_tags, &tags)
            && meta_matches(&item.node_meta, &meta)
            && keep(&filter, &item)?
        {
            kept.push(item);
        }
    }
    Ok(indexed(req.json(&kept)?, index, consistency))
}

async fn health_service(req: &Req<'_>, name: &str) -> Result<Reply> {
    let passing = match req.query.get("passing") {
        None => false,
        Some("" | "1" | "t" | "T" | "true" | "TRUE" | "True") => true,
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
        Some(_) => return Err(Reply::error(400, "Invalid value for ?passing")),
    };
    let filter = req.filter()?;
    let tags = req.query.all("tag");
    let meta = node_meta(req);
    let name = name.to_string();
    let (items, index, consistency) = blocking_read(req, Topic::Service(name.clone()), move |s| {
        s.health_service(&name)
    })
    .await?;
    let mut kept = Vec::new();
    for item in items {
        if passing && !all_passing(&item) {
            continue;
        }
        if has_tags(&item.service.tags, &tags)
            && meta_matches(&item.node.meta, &meta)
            && keep(&filter, &item)?
        {
            kept.push(item);
        }
    }
    Ok(indexed(req.json(&kept)?, index, consistency))
}

async fn catalog_nodes(req: &Req<'_>) -> Result<Reply> {
    let meta = node_meta(req);
    let filter = req.filter()?;
    let (nodes, index, consistency) = blocking_read(req, Topic::Nodes, |s| s.nodes()).await?;
    let mut kept = Vec::new();
    for n in nodes {
        if meta_matches(&n.meta, &meta) && keep(&filter, &n)? {
            kept.push(n);
        }
    }
    Ok(indexed(req.json(&kept)?, index, consistency))
}

async fn catalog_node(req: &Req<'_>, name: &str) -> Result<Reply> {
    let filter = req.filter()?;
    let name = name.to_string();
    let (node, index, consistency) =
        blocking_read(req, Topic::Node(name.clone()), move |s| s.node(&name)).await?;
    let node = match node {
        Some(mut n) if filter.is_some() => {
            let mut kept = BTreeMap::new();
            for (id, svc) in std::mem::take(&mut n.services) {
                if keep(&filter, &svc)? {
                    kept.insert(id, svc);
                }
            }
            n.services = kept;
            Some(n)
        }
        n => n,
    };
    Ok(indexed(req.json(&node)?, index, consistency))
}

// Catalog writes.

async fn write(req: &Req<'_>, cmd: Command) -> Result<bool> {
    match req.agent.store.write(cmd).await {
        Ok(Outcome::Done(b)) => Ok(b),
        Ok(Outcome::Rejected(msg)) => Err(Reply::error(500, msg)),
        Err(e) => Err(Reply::error(500, e)),
    }
}

async fn catalog_register(req: &Req<'_>) -> Result<Reply> {
    let body = req.decode()?;
    let register: Register = decode::catalog_register(body, &req.agent.config.datacenter)
        .map_err(|e| Reply::error(e.status, e.message))?;
    let said = registered(&register);
    let done = write(req, Command::Register(Box::new(register))).await?;
    tracing::info!("{said}");
    req.json(&done)
}

/// The log line for a catalog registration: the node, and the service and checks it carried.
fn registered(r: &Register) -> String {
    let mut line = format!("agent.catalog: Registered node: node={}", r.node.node);
    if let Some(s) = &r.service {
        line.push_str(&format!(" service={}", s.id));
    }
    if !r.checks.is_empty() {
        let ids: Vec<&str> = r.checks.iter().map(|c| c.check_id.as_str()).collect();
        line.push_str(&format!(" checks={}", ids.join(",")));
    }
    line
}

/// The log line for a catalog deregistration: a check, a service, or the whole node.
fn deregistered(d: &Deregister) -> String {
    match (&d.service_id, &d.check_id) {
        (_, Some(check)) => format!(
            "agent.catalog: Deregistered check: node={} check={check}",
            d.node
        ),
        (Some(service), None) => format!(
            "agent.catalog: Deregistered service: node={} service={service}",
            d.node
        ),
        (None, None) => format!("agent.catalog: Deregistered node: node={}", d.node),
    }
}

async fn catalog_deregister(req: &Req<'_>) -> Result<Reply> {
    let body = req.decode()?;
    let d: Deregister =
        decode::catalog_deregister(body).map_err(|e| Reply::error(e.status, e.message))?;
    let said = deregistered(&d);
    let done = write(req, Command::Deregister(d)).await?;
    tracing::info!("{said}");
    req.json(&done)
}

// KV.

async fn kv(req: &Req<'_>, key: &str) -> Result<Reply> {
    let recurse = req.query.has("recurse");
    let keys = req.query.has("keys");
    if key.is_empty() && !recurse && !keys && req.method != Method::PUT {
        return Err(Reply::error(400, "Missing key name"));
    }
    match req.method {
        Method::GET if keys => kv_keys(req, key).await,
        Method::GET => kv_get(req, key, recurse).await,
        Method::PUT => kv_put(req, key).await,
        _ => kv_delete(req, key, recurse).await,
    }
}

async fn kv_get(req: &Req<'_>, key: &str, recurse: bool) -> Result<Reply> {
    let k = key.to_string();
    let (entries, index, consistency) = if recurse {
        blocking_read(req, Topic::KvPrefix(k.clone()), move |s| s.kv_list(&k)).await?
    } else {
        blocking_read(req, Topic::KvKey(k.clone()), move |s| {
            let (e, i) = s.kv_get(&k);
            (e.into_iter().collect::<Vec<_>>(), i)
        })
        .await?
    };
    if entries.is_empty() {
        let mut r = Reply::empty();
        r.status = StatusCode::NOT_FOUND;
        return Ok(indexed(r, index, consistency));
    }
    if req.query.has("raw") && !recurse {
        let mut r = Reply {
            status: StatusCode::OK,
            body: entries[0].value.clone().unwrap_or_default(),
            content_type: "text/plain",
            headers: Vec::new(),
        };
        r.headers.push(("X-Content-Type-Options", "nosniff".into()));
        r.headers
            .push(("Content-Security-Policy", "sandbox".into()));
        return Ok(indexed(r, index, consistency));
    }
    Ok(indexed(req.json(&entries)?, index, consistency))
}

async fn kv_keys(req: &Req<'_>, prefix: &str) -> Result<Reply> {
    let separator = req
        .query
        .get("separator")
        .or(req.query.get("seperator"))
        .unwrap_or("")
        .to_string();
    let p = prefix.to_string();
    let (entries, index, consistency) =
        blocking_read(req, Topic::KvPrefix(p.clone()), move |s| s.kv_list(&p)).await?;
    let mut keys: Vec<String> = Vec::new();
    for e in entries {
        let key = match separator.is_empty() {
            true => e.key,
            false => match e.key[prefix.len()..].find(&separator) {
                Some(i) => e.key[..prefix.len() + i + separator.len()].to_string(),
                None => e.key,
            },
        };
        if keys.last() != Some(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() && !prefix.is_empty() {
        let mut r = Reply::empty();
        r.status = StatusCode::NOT_FOUND;
        return Ok(indexed(r, index, consistency));
    }
    Ok(indexed(req.json(&keys)?, index, consistency))
}

fn parse_u64(req: &Req<'_>, name: &str) -> Result<Option<u64>> {
    match req.query.get(name) {
        None => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            Reply::error(
                500,
                format!("strconv.ParseUint: parsing {v:?}: invalid syntax"),
            )
        }),
    }
}

async fn kv_put(req: &Req<'_>, key: &str) -> Result<Reply> {
    if key.is_empty() {
        return Err(Reply::error(400, "Missing key name"));
    }
    let modes = ["cas", "acquire", "release"]
        .iter()
        .filter(|m| req.query.has(m))
        .count();
    if modes > 1 {
        return Err(Reply::error(
            400,
            format!("Conflicting flags: {}\n", query_string(req)),
        ));
    }
    if req.query.has("acquire") || req.query.has("release") {
        return Err(Reply::error(
            500,
            "sessions are not supported by this agent",
        ));
    }
    if req.body.len() > KV_MAX_VALUE {
        return Err(kv_too_large(req.body.len()));
    }
    let flags = parse_u64(req, "flags")?.unwrap_or(0);
    let cas = parse_u64(req, "cas")?;
    let cmd = Command::KvSet {
        key: key.to_string(),
        value: req.body.to_vec(),
        flags,
        cas,
    };
    let done = write(req, cmd).await?;
    req.json(&done)
}

/// Consul's 413 for a KV value over `kv_max_value_size` (`len`: the request's body size).
pub fn kv_too_large(len: usize) -> Reply {
    Reply::error(
        413,
        format!(
            "Request body({len} bytes) too large, max size: {KV_MAX_VALUE} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size."
        ),
    )
}

async fn kv_delete(req: &Req<'_>, key: &str, recurse: bool) -> Result<Reply> {
    if recurse && req.query.has("cas") {
        return Err(Reply::error(
            400,
            format!("Conflicting flags: {}\n", query_string(req)),
        ));
    }
    let cas = parse_u64(req, "cas")?;
    let done = write(
        req,
        Command::KvDelete {
            key: key.to_string(),
            recurse,
            cas,
        },
    )
    .await?;
    req.json(&done)
}

fn query_string(req: &Req<'_>) -> String {
    req.query
        .0
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}
