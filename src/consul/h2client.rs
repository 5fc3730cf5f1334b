//! The HTTP/2 side of the Consul client, written directly on the `h2` crate: h2c with prior
//! knowledge over `http://` (ctmpl's own agent) and ALPN `h2` over `https://`. One connection
//! carries every request as a stream; it is dialled on first use, by one request while the
//! others wait for it, and again after it fails.
//!
//! Why not reqwest (hyper) here: a blocking query waits for up to `wait` (60 s), and at
//! catalog scale 10,000 of them wait at once. In reqwest/hyper each waiting query cost about
//! 10 KB of ctmpl's memory (a boxed request future, the pool's checkout and dispatch channel,
//! per-stream state and buffers). Here a waiting query is an `h2` stream (the crate's slab
//! entry) and the view's own future, which holds the response future and little else.
//! Measured with `benches/scale.py` (the seed's nginx template, h2c to ctmpl's agent, one run
//! each, release builds, RSS with every query waiting): ctmpl's RSS at 3,000 / 10,000 services
//! went from 111 / 297 MiB to 82 / 205 MiB; the slope between them, the cost of one more
//! dependency, from 26.6 KB to 17.6 KB: 9 KB less per waiting query. `cargo bench --bench
//! client_waiters` measures the waiting query alone, this client beside reqwest.
//!
//! Nothing is buffered while a query waits; an answer's body is read into one `Vec` sized from
//! its `content-length`, and the flow-control window is given back as it is read. A PING every
//! 30 s (dropped after 20 s without a PONG) notices a dead agent without waiting out a blocking
//! query, as reqwest's keep-alive did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What the agent may send on one stream before we read: answers are read as they come, so the
/// window only bounds how fast a large answer (a catalog listing at 50,000 services is several
/// MB) flows, not memory held.
const STREAM_WINDOW: u32 = 1 << 20;
/// What the agent may send on the connection before we read: many answers arrive together
/// when thousands of first fetches are in flight.
const CONNECTION_WINDOW: u32 = 8 << 20;
/// How often an idle connection is asked whether the agent is still there.
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a PONG may take before the connection counts as dead.
const PONG_WITHIN: Duration = Duration::from_secs(20);
/// The most of an answer's body allocated up front from its `content-length`.
const PREALLOCATE_AT_MOST: usize = 16 << 20;

/// Where the agent is and how to speak to it.
pub struct Target {
    /// Host to dial (no brackets around an IPv6 address) and port. Requests name their own
    /// URL (scheme and `:authority`), which may name the host otherwise (a TLS server name).
    pub host: String,
    pub port: u16,
    /// TLS settings and the name the agent's certificate must carry; `None`: h2c.
    pub tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls_pki_types::ServerName<'static>,
    )>,
}

/// One connection's way to open streams, and whether its connection still runs.
#[derive(Clone)]
struct Conn {
    send: h2::client::SendRequest<Bytes>,
    alive: Arc<AtomicBool>,
}

/// The HTTP/2 client: one connection at a time.
pub struct H2Client {
    target: Target,
    current: tokio::sync::Mutex<Option<Conn>>,
}

/// An answer: status, headers and the whole body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why an exchange failed. `describe` words each as Go's `net/http` would.
#[derive(Debug)]
pub enum Failure {
    /// The host name did not resolve.
    Lookup { host: String },
    /// No TCP connection to any of the host's addresses: the last dial's error.
    Dial { addr: String, error: std::io::Error },
    /// The TLS handshake failed.
    Tls(std::io::Error),
    /// The agent does not speak HTTP/2 over TLS (ALPN chose otherwise); never shown, the
    /// caller goes on over HTTP/1.1.
    NotH2,
    /// The request could not be opened as a stream (the connection had closed, or the agent
    /// refused the stream before working on it): safe to send again on a new connection.
    Unsent(h2::Error),
    /// The exchange broke after the request went out.
    Broken(h2::Error),
    /// The caller's timeout passed.
    Timeout,
    /// The request's URI could not be built from the address and path.
    Invalid(String),
}

impl Failure {
    /// Whether the connection was made: a failure after that, on a first exchange over h2c,
    /// means the agent answered the HTTP/2 preface in some other protocol.
    pub fn connected(&self) -> bool {
        matches!(
            self,
            Failure::Unsent(_) | Failure::Broken(_) | Failure::NotH2
        )
    }

    /// The cause as Go's `net/http` words it (after `Get "URL": `).
    pub fn describe(&self) -> String {
        match self {
            Failure::Lookup { host } => format!("dial tcp: lookup {host}: no such host"),
            Failure::Dial { addr, error } => {
                format!(
                    "dial tcp {addr}: connect: {}",
                    super::client::io_text(error)
                )
            }
            Failure::Tls(error) => super::client::io_text(error),
            Failure::NotH2 => "the agent does not speak HTTP/2".into(),
            Failure::Unsent(e) | Failure::Broken(e) => h2_text(e),
            Failure::Timeout => {
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into()
            }
            Failure::Invalid(text) => text.clone(),
        }
    }
}

/// An `h2` error's text: the system's or TLS's words when the connection broke, else h2's.
fn h2_text(e: &h2::Error) -> String {
    match e.get_io() {
        Some(io) => super::client::io_text(io),
        None => e.to_string(),
    }
}

impl H2Client {
    pub fn new(target: Target) -> H2Client {
        H2Client {
            target,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// Sends one request (to `url`, on the agent) and reads its whole answer. A GET
    /// that found the connection closed, or a request that never became a stream, is sent
    /// once more on a new connection.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Failure> {
        let body = body.map(Bytes::from);
        let (conn, fresh) = self.connection().await?;
        // The sending and the retry are boxed: a future is as large as its largest state, and
        // the one that lasts, the wait for the answer, is small (see `exchange`).
        let sent = exchange(
            conn.send.clone(),
            head(&method, url, token, &body)?,
            body.clone(),
        );
        let first = match Box::pin(sent).await {
            Ok(response) => receive(response).await,
            Err(e) => Err(e),
        };
        let again = match &first {
            Err(Failure::Unsent(_)) => !fresh,
            Err(Failure::Broken(_)) => !fresh && method == Method::GET,
            _ => false,
        };
        if !again {
            return first;
        }
        conn.alive.store(false, Ordering::Relaxed);
        Box::pin(self.again(method, url, token, body)).await
    }

    /// [`H2Client::request`]'s second try, on a new connection.
    async fn again(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, Failure> {
        let (conn, _) = self.connection().await?;
        let response = exchange(conn.send, head(&method, url, token, &body)?, body).await?;
        receive(response).await
    }

    /// The connection, dialled now if there is none or it closed; `true` with a new one.
    /// Requests that find none wait here for the one dial.
    async fn connection(&self) -> Result<(Conn, bool), Failure> {
        let mut current = self.current.lock().await;
        if let Some(conn) = current.as_ref().filter(|c| c.alive.load(Ordering::Relaxed)) {
            return Ok((conn.clone(), false));
        }
        *current = None;
        // Boxed: a TLS handshake's state is large, and every waiting request's future would
        // otherwise keep room for it.
        let conn = Box::pin(self.dial()).await?;
        *current = Some(conn.clone());
        Ok((conn, true))
    }

    /// A new connection: TCP, then TLS if configured (ALPN must choose `h2`), then HTTP/2.
    async fn dial(&self) -> Result<Conn, Failure> {
        let tcp = connect(&self.target.host, self.target.port).await?;
        let _ = tcp.set_nodelay(true);
        let Some((config, name)) = &self.target.tls else {
            return start(tcp).await;
        };
        let tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name.clone(), tcp)
            .await
            .map_err(Failure::Tls)?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(Failure::NotH2);
        }
        start(tls).await
    }
}

/// A request's head: method, URL, token, and the body's length.
fn head(
    method: &Method,
    url: &str,
    token: &str,
    body: &Option<Bytes>,
) -> Result<Request<()>, Failure> {
    let mut request = Request::builder().method(method.clone()).uri(url);
    if !token.is_empty() {
        request = request.header("X-Consul-Token", token);
    }
    if let Some(body) = body {
        request = request.header(http::header::CONTENT_LENGTH, body.len());
    }
    request
        .body(())
        .map_err(|e| Failure::Invalid(format!("{url}: {e}")))
}

/// A TCP connection to the first of `host`'s addresses that answers, as Go's dialer tries them.
async fn connect(host: &str, port: u16) -> Result<TcpStream, Failure> {
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(Failure::Lookup {
            host: host.to_string(),
        });
    }
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, error) = last.expect("at least one address was tried");
    Err(Failure::Dial {
        addr: addr.to_string(),
        error,
    })
}

/// The HTTP/2 handshake on `io`, and the task that drives the connection from then on.
async fn start<T>(io: T) -> Result<Conn, Failure>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<T, Bytes>(io)
        .await
        .map_err(Failure::Unsent)?;
    let alive = Arc::new(AtomicBool::new(true));
    let pings = connection.ping_pong();
    let closed = Closed(alive.clone());
    tokio::spawn(async move {
        // Marks the connection dead however the task ends, even when its runtime drops it.
        let _closed = closed;
        tokio::select! {
            ended = &mut connection => {
                if let Err(e) = ended {
                    tracing::debug!("HTTP/2 connection to the agent: {e}");
                }
            }
            _ = keep_alive(pings) => {
                tracing::debug!("HTTP/2 connection to the agent: no PONG within {PONG_WITHIN:?}");
            }
        }
    });
    Ok(Conn { send, alive })
}

/// Sets a connection's `alive` to false when its task ends.
struct Closed(Arc<AtomicBool>);

impl Drop for Closed {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// PINGs every `PING_EVERY`; returns when a PONG does not come back within `PONG_WITHIN`.
async fn keep_alive(pings: Option<h2::PingPong>) {
    let Some(mut pings) = pings else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(PING_EVERY).await;
        match tokio::time::timeout(PONG_WITHIN, pings.ping(h2::Ping::opaque())).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
    }
}

/// Sends one request on a new stream; the answer is [`receive`]d apart, so that what this
/// future holds (the request's head, the stream handles) is gone while the answer is awaited:
/// an async fn keeps its arguments to the end, and 10,000 blocking queries wait at once.
async fn exchange(
    send: h2::client::SendRequest<Bytes>,
    head: Request<()>,
    body: Option<Bytes>,
) -> Result<h2::client::ResponseFuture, Failure> {
    let mut send = send.ready().await.map_err(Failure::Unsent)?;
    let (response, mut stream) = send
        .send_request(head, body.is_none())
        .map_err(Failure::Unsent)?;
    if let Some(body) = body {
        stream.send_data(body, true).map_err(Failure::Broken)?;
    }
    Ok(response)
}

/// Waits for the answer to a request [`exchange`] sent, and reads it whole.
async fn receive(response: h2::client::ResponseFuture) -> Result<Answer, Failure> {
    let response = response.await.map_err(|e| {
        if e.reason() == Some(h2::Reason::REFUSED_STREAM) {
            Failure::Unsent(e)
        } else {
            Failure::Broken(e)
        }
    })?;
    let (head, body) = response.into_parts();
    let length = head
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = read_body(body, length).await?;
    Ok(Answer {
        status: head.status.as_u16(),
        headers: head.headers,
        body,
    })
}

/// Reads a body whole, giving its flow-control credit back as each piece arrives.
async fn read_body(mut body: h2::RecvStream, length: Option<usize>) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(length.unwrap_or(0).min(PREALLOCATE_AT_MOST));
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(Failure::Broken)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
