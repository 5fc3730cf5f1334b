//! The Consul HTTP client: address and token from flags or `CONSUL_HTTP_ADDR` and
//! `CONSUL_HTTP_TOKEN`, blocking reads (`index`, `wait`), `stale`, and the `X-Consul-*` headers
//! read into `QueryMeta`.
//!
//! Every blocking query is one request held open for minutes, so the transport decides how
//! many connections a run holds. Over `http://` the client first speaks HTTP/2 with prior
//! knowledge (h2c), which ctmpl's own agent accepts: every query is then a stream on one
//! connection (`h2client`, on the `h2` crate: a waiting query costs about 9 KB less than it
//! did in reqwest). A stock Consul speaks only HTTP/1.1 there and answers the h2 preface with an
//! HTTP/1.1 error; the first such failure switches this client to HTTP/1.1 (reqwest) for good
//! (the request that found out is sent again over HTTP/1.1, and no request reached the agent's
//! API before). Over `https://`, ALPN chooses `h2` or `http/1.1`. Over HTTP/1.1 (a stock Consul) every
//! request in flight holds a connection, so the client keeps a budget (`max_conns_per_host`): at
//! most that many requests at once, and so at most that many connections, under a Consul
//! agent's `http_max_conns_per_client` (200). Over HTTP/2 the budget does not apply.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use http::Method;

use super::h2client::{Answer, Failure, H2Client, Target};
use crate::consul::api::QueryMeta;

/// How to reach Consul.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port`, or a URL with `http://` or `https://`.
    pub address: String,
    pub token: String,
    /// CA certificate (PEM) for HTTPS (`-consul-ssl-ca-cert`).
    pub ca_cert: Option<std::path::PathBuf>,
    /// Skip certificate verification (`-consul-ssl-verify=false`).
    pub insecure: bool,
    /// Client certificate and key (PEM) presented to an agent that verifies incoming
    /// connections (`-consul-ssl-cert`, `-consul-ssl-key`).
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
    /// The name Consul's certificate must carry, and the SNI sent, when it is not the
    /// address's host (`-consul-ssl-server-name`).
    pub server_name: Option<String>,
    /// Requests (so connections) at once; 0: no limit (`transport { max_conns_per_host }`).
    pub max_conns_per_host: usize,
}

/// The connection budget unless configured: well under Consul's 200 connections per client
/// address, leaving room for other clients on the same host.
pub const DEFAULT_MAX_CONNS_PER_HOST: usize = 64;

impl ClientConfig {
    /// consul-template's environment defaults: `CONSUL_HTTP_ADDR` (else 127.0.0.1:8500),
    /// `CONSUL_TOKEN` then `CONSUL_HTTP_TOKEN`, `CONSUL_CACERT`, `CONSUL_HTTP_SSL_VERIFY`.
    pub fn from_env() -> ClientConfig {
        ClientConfig {
            address: std::env::var("CONSUL_HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:8500".into()),
            token: std::env::var("CONSUL_TOKEN")
                .or_else(|_| std::env::var("CONSUL_HTTP_TOKEN"))
                .unwrap_or_default(),
            ca_cert: std::env::var("CONSUL_CACERT").ok().map(Into::into),
            insecure: std::env::var("CONSUL_HTTP_SSL_VERIFY").is_ok_and(|v| v == "false"),
            client_cert: std::env::var("CONSUL_CLIENT_CERT").ok().map(Into::into),
            client_key: std::env::var("CONSUL_CLIENT_KEY").ok().map(Into::into),
            server_name: std::env::var("CONSUL_TLS_SERVER_NAME")
                .ok()
                .filter(|n| !n.is_empty()),
            max_conns_per_host: DEFAULT_MAX_CONNS_PER_HOST,
        }
    }
}

pub struct Client {
    /// HTTP/2: h2c with prior knowledge for `http://`, ALPN `h2` for `https://`.
    h2: H2Client,
    /// Whether `h2` speaks in cleartext (h2c), where a broken first exchange means the agent
    /// answered the preface in HTTP/1.1.
    cleartext: bool,
    /// HTTP/1.1 only, for an agent found not to speak HTTP/2.
    http1: reqwest::Client,
    /// What the agent was found to speak (`UNKNOWN`, `H2`, `H1`).
    mode: AtomicU8,
    base: String,
    token: String,
    /// One permit per request in flight (`max_conns_per_host`); `None`: no limit.
    budget: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    max_conns: usize,
    /// Set once `probe_h2` has asked the agent.
    probed: tokio::sync::OnceCell<()>,
}

/// A request's place in the budget; given back once its connection is idle again.
struct Held(Option<tokio::sync::OwnedSemaphorePermit>);

impl Drop for Held {
    fn drop(&mut self) {
        let (Some(permit), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        rt.spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            drop(permit);
        });
    }
}

const UNKNOWN: u8 = 0;
const H2: u8 = 1;
const H1: u8 = 2;

/// A blocking read: wait past `index` for up to `wait`.
#[derive(Clone, Copy, Debug)]
pub struct Blocking {
    pub index: u64,
    pub wait: Duration,
}

/// What a read answered: the status (200 or 404), the body and Consul's metadata.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub meta: QueryMeta,
}

impl Client {
    pub fn new(config: &ClientConfig) -> Result<Client, String> {
        let mut base = base_url(&config.address)?;
        let limit = config.max_conns_per_host;
        let url = reqwest::Url::parse(&base).map_err(|e| format!("{base}: {e}"))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut http1 = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .http1_only();
        if limit > 0 {
            http1 = http1.pool_max_idle_per_host(limit);
        }
        let cleartext = !base.starts_with("https://");
        let mut secure = None;
        if !cleartext {
            let (b, named) = tls(http1, config, &base)?;
            (http1, base) = (b, named);
            let name = config.server_name.as_deref().filter(|n| !n.is_empty());
            let settings = super::tls::client_config(config)?;
            let name = super::tls::server_name(name.unwrap_or(&host))?;
            secure = Some((std::sync::Arc::new(settings), name));
        }
        let target = Target {
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            tls: secure,
        };
        Ok(Client {
            h2: H2Client::new(target),
            cleartext,
            http1: http1.build().map_err(|e| format!("HTTP client: {e}"))?,
            mode: AtomicU8::new(UNKNOWN),
            base,
            token: config.token.clone(),
            budget: (limit > 0).then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(limit))),
            max_conns: limit,
            probed: tokio::sync::OnceCell::new(),
        })
    }

    /// One exchange with the agent, over HTTP/2 until the agent shows it speaks only HTTP/1.1
    /// (see the module doc). Errors are worded as Go's `net/http` words them.
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        if self.mode.load(Ordering::Relaxed) == H1 {
            return Box::pin(self.over_http1(method, url, body, timeout)).await;
        }
        let sent = self
            .h2
            .request(method.clone(), url, &self.token, body.clone());
        let failure = match tokio::time::timeout(timeout, sent).await {
            Ok(Ok(answer)) => {
                let _ =
                    self.mode
                        .compare_exchange(UNKNOWN, H2, Ordering::Relaxed, Ordering::Relaxed);
                return Ok(answer);
            }
            Ok(Err(failure)) => failure,
            Err(_) => Failure::Timeout,
        };
        if !self.speaks_no_h2(&failure) {
            return Err(format!(
                "{} \"{url}\": {}",
                go_method(method.as_str()),
                failure.describe()
            ));
        }
        tracing::debug!(
            "{}: no HTTP/2 ({}); using HTTP/1.1",
            self.base,
            failure.describe()
        );
        self.mode.store(H1, Ordering::Relaxed);
        Box::pin(self.over_http1(method, url, body, timeout)).await
    }

    /// Whether a failed exchange over HTTP/2 shows that the agent speaks only HTTP/1.1: ALPN
    /// chose it, or, over h2c and before any answer, the connection was made and broke on
    /// the HTTP/2 framing (a stock Consul answers the preface with an HTTP/1.1 400).
    fn speaks_no_h2(&self, failure: &Failure) -> bool {
        match failure {
            Failure::NotH2 => true,
            // Another request may have found out first (the mode is then `H1` already).
            f => self.cleartext && self.speaks_h2() != Some(true) && f.connected(),
        }
    }

    /// One exchange over HTTP/1.1 (reqwest, pooled connections).
    async fn over_http1(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let mut request = self.http1.request(method.clone(), url).timeout(timeout);
        if !self.token.is_empty() {
            request = request.header("X-Consul-Token", &self.token);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let failed = |e: reqwest::Error| describe_http_error(method.as_str(), &e);
        let resp = request.send().await.map_err(failed)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(failed)?.to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Which protocol the agent was found to speak: `Some(true)` for HTTP/2, `Some(false)`
    /// for HTTP/1.1, `None` before the first answer over `http://`.
    pub fn speaks_h2(&self) -> Option<bool> {
        match self.mode.load(Ordering::Relaxed) {
            H2 => Some(true),
            H1 => Some(false),
            _ => None,
        }
    }

    /// Whether the agent speaks HTTP/2, asking it once (a cheap status read) if no request has
    /// told yet; `false` when it cannot be reached, so the budget applies.
    pub async fn probe_h2(&self) -> bool {
        if self.speaks_h2().is_none() {
            self.probed
                .get_or_init(|| async {
                    let _ = self.get("/v1/status/leader", &[], None, false).await;
                })
                .await;
        }
        self.speaks_h2() == Some(true)
    }

    /// The connection budget, if any: how many requests may be in flight at once over
    /// HTTP/1.1.
    pub fn max_conns(&self) -> Option<usize> {
        self.budget.as_ref().map(|_| self.max_conns)
    }

    /// A place in the budget, held until the answer is read and a little after: the HTTP
    /// library puts a connection back in its pool from another task, and a request let in
    /// before that would open one more connection. Streams of one HTTP/2 connection need none.
    async fn connection(&self) -> Option<Held> {
        if self.speaks_h2() == Some(true) {
            return None;
        }
        match &self.budget {
            Some(b) => b.clone().acquire_owned().await.ok().map(|p| Held(Some(p))),
            None => None,
        }
    }

    /// GETs `path` with `params`; 200 and 404 are answers, other statuses are errors that
    /// carry Consul's text.
    pub async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        blocking: Option<Blocking>,
        stale: bool,
    ) -> Result<Response, String> {
        let mut query: Vec<(&str, String)> = params.to_vec();
        let mut timeout = Duration::from_secs(30);
        if let Some(b) = blocking.filter(|b| b.index > 0) {
            query.push(("index", b.index.to_string()));
            query.push(("wait", format!("{}ms", b.wait.as_millis())));
            // The server may hold the request for wait + wait/16.
            timeout = b.wait + b.wait / 16 + Duration::from_secs(15);
        }
        if stale {
            query.push(("stale", String::new()));
        }
        let url = format!("{}{}{}", self.base, path, encode_query(&query));
        let _connection = self.connection().await;
        let answer = self.exchange(Method::GET, &url, None, timeout).await?;
        let status = answer.status;
        if status != 200 && status != 404 {
            let text = String::from_utf8_lossy(&answer.body);
            return Err(format!(
                "GET {url}: Unexpected response code: {status} ({})",
                text.trim()
            ));
        }
        Ok(Response {
            status,
            meta: meta_from(&answer.headers),
            body: answer.body,
        })
    }

    /// PUTs `body` to `path` (the agent's write endpoints); any status is an answer, only a
    /// failed exchange is an error.
    pub async fn put(&self, path: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{}", self.base, path);
        let _connection = self.connection().await;
        let answer = self
            .exchange(Method::PUT, &url, Some(body), Duration::from_secs(15))
            .await?;
        Ok((answer.status, answer.body))
    }
}

/// HTTPS settings: the CA (which then replaces the built-in roots, as Go's Consul client
/// does), a client certificate, verification off, and the server name. The name is set by
/// addressing the agent by it and resolving it to the address given: the returned base URL.
fn tls(
    mut b: reqwest::ClientBuilder,
    config: &ClientConfig,
    base: &str,
) -> Result<(reqwest::ClientBuilder, String), String> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    if let Some(path) = &config.ca_cert {
        let pem = read(path)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no certificate found", path.display()));
        }
        b = b.tls_built_in_root_certs(false);
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert)?;
            pem.push(b'\n');
            pem.extend(read(key)?);
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => return Err("-consul-ssl-cert and -consul-ssl-key go together".into()),
    }
    let mut base = base.to_string();
    if let Some(name) = config.server_name.as_deref().filter(|n| !n.is_empty()) {
        let url = reqwest::Url::parse(&base).map_err(|e| format!("{base}: {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        b = b.resolve(name, addr);
        base = format!("https://{name}:{port}{}", url.path().trim_end_matches('/'));
    }
    Ok((b.danger_accept_invalid_certs(config.insecure), base))
}

fn base_url(address: &str) -> Result<String, String> {
    let address = address.trim_end_matches('/');
    if address.starts_with("http://") || address.starts_with("https://") {
        return Ok(address.to_string());
    }
    if address.is_empty() || address.contains("://") {
        return Err(format!("invalid Consul address {address:?}"));
    }
    Ok(format!("http://{address}"))
}

fn encode_query(params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    // Consul treats `stale=` and `stale` alike.
    format!("?{}", s.finish())
}

fn meta_from(headers: &reqwest::header::HeaderMap) -> QueryMeta {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    QueryMeta {
        index: get("X-Consul-Index")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        known_leader: get("X-Consul-KnownLeader") == Some("true"),
        last_contact_ms: get("X-Consul-LastContact")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// A failed HTTP exchange worded as Go's `net/http` words it, which is what consul-template's
/// and Consul's users read and search for: `Get "URL": dial tcp HOST:PORT: connect: connection
/// refused`, not the HTTP library's chain (`error sending request … client error (Connect) …`).
/// `method` is the request's (`GET`); every command and the runner render errors through here.
pub fn describe_http_error(method: &str, e: &reqwest::Error) -> String {
    let method = go_method(method);
    let url = e.url().map(|u| u.as_str()).unwrap_or_default();
    format!("{method} \"{url}\": {}", go_cause(e))
}

/// `GET` as Go's `url.Error` names it: `Get`.
fn go_method(method: &str) -> String {
    let lower = method.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// What went wrong below the URL: the dial's system error, a timeout, or the library's own
/// innermost words.
fn go_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into();
    }
    let dial = e.url().map(dial_address).unwrap_or_default();
    if e.is_connect() && error_chain(e).contains("dns error") {
        let host = e.url().and_then(|u| u.host_str()).unwrap_or_default();
        return format!("dial tcp: lookup {host}: no such host");
    }
    if let Some(io) = io_source(e) {
        if e.is_connect() {
            return format!("dial tcp {dial}: connect: {}", io_text(io));
        }
        return io_text(io);
    }
    innermost(e)
}

/// `HOST:PORT` as Go's dialer prints it (IPv6 in brackets, the scheme's port when none given).
fn dial_address(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    format!("{host}:{}", url.port_or_known_default().unwrap_or(80))
}

/// The first `std::io::Error` in `e`'s chain of causes.
fn io_source<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// An I/O error's text for an error message: Go's words for a TLS failure carried in it (see
/// `tls::failure_text`), else the system error's (`errno_text`).
pub(super) fn io_text(io: &std::io::Error) -> String {
    match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        Some(tls) => super::tls::failure_text(tls),
        None => errno_text(io),
    }
}

/// A system error as Go's `syscall.Errno` words it: strerror, lower-cased first letter, no
/// `(os error N)`.
fn errno_text(io: &std::io::Error) -> String {
    let text = match io.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => io.to_string(),
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The innermost cause's text (the outer ones repeat the URL and the library's wording).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Percent-encodes a KV key or service name for a URL path, keeping `/`.
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(base_url("127.0.0.1:8500").unwrap(), "http://127.0.0.1:8500");
        assert_eq!(
            base_url("http://consul:8500/").unwrap(),
            "http://consul:8500"
        );
        assert!(base_url("ftp://x").is_err());
        assert_eq!(path_escape("app/my key"), "app/my%20key");
    }
}
