//! HTTP/2 on the agent's ports: cleartext with prior knowledge (h2c, recognised by the client
//! preface on a fresh connection, beside HTTP/1.1 on the same port) and over TLS when ALPN
//! chose `h2`. Every stream is one request answered by `dispatch::answer`, the same handler
//! HTTP/1.1 uses, so a consul-template with thousands of blocking queries needs one
//! connection instead of one per query.
//!
//! The `h2` crate does the framing (hyper's server adds a service layer and per-connection
//! buffers we do not need). A stream waiting in a blocking query must cost no more than a
//! waiting HTTP/1.1 connection: the request's body is read before the handler runs, nothing is
//! buffered while it waits, and a stream the client resets stops its handler at once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::dispatch::{answer, MAX_BODY};
use super::http::Reply;
use super::Agent;

/// What a client sends first on an HTTP/2 connection (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Streams one client may hold open at once. A waiting stream costs about what a waiting
/// HTTP/1.1 connection does (see the module doc), and a consul-template watching 50,000
/// dependencies holds one per dependency on a single connection.
const MAX_STREAMS: u32 = 1 << 17;
/// Flow-control window the client may fill per stream before we read: request bodies are
/// small (KV values are capped at 512 KiB and read whole), so the default suffices.
const STREAM_WINDOW: u32 = 64 * 1024;
/// Window for the whole connection: many streams may send bodies at once.
const CONNECTION_WINDOW: u32 = 1024 * 1024;
/// How long a fresh connection may take to show whether it speaks HTTP/2.
const PREFACE_WAIT: Duration = Duration::from_secs(10);

/// Whether a fresh connection opens with the HTTP/2 preface. Reads nothing (peeks only), so an
/// HTTP/1.1 connection goes on as if never looked at; a connection that has sent no bytes
/// holds no buffer while it waits.
pub async fn starts_with_preface(stream: &TcpStream) -> bool {
    let mut seen = [0u8; PREFACE.len()];
    let deadline = tokio::time::Instant::now() + PREFACE_WAIT;
    loop {
        if stream.readable().await.is_err() {
            return false;
        }
        let n = match stream.peek(&mut seen).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if seen[..n] != PREFACE[..n] {
            return false;
        }
        if n == PREFACE.len() {
            return true;
        }
        // A preface split across segments: the rest is on its way. Peeking again at once
        // would spin, since the bytes already there keep the socket readable.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Serves one HTTP/2 connection (its preface not yet read) until the client leaves or the
/// agent shuts down; each stream runs in its own task.
pub async fn serve<T>(io: T, agent: Arc<Agent>, shutdown: CancellationToken, rpc: bool)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = h2::server::Builder::new()
        .max_concurrent_streams(MAX_STREAMS)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_header_list_size(64 * 1024)
        .handshake::<T, Bytes>(io);
    let mut conn = match tokio::time::timeout(PREFACE_WAIT, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::debug!("h2 handshake: {e}");
            return;
        }
        Err(_) => return,
    };
    let mut draining = false;
    loop {
        let next = tokio::select! {
            next = conn.accept() => next,
            _ = shutdown.cancelled(), if !draining => {
                // Streams in flight still answer (blocking readers wake on shutdown); the
                // client is told to open no more.
                draining = true;
                conn.graceful_shutdown();
                continue;
            }
        };
        match next {
            Some(Ok((request, respond))) => {
                // Taken apart here, not in the task: a task keeps room for its arguments for
                // as long as it runs, and the headers would be that much of every waiting
                // stream; a request without a body (a blocking GET) keeps no receive half.
                let (method, target, token, body) = take_request(request);
                let exchange = Exchange {
                    method,
                    target,
                    token,
                    rpc,
                    agent: agent.clone(),
                    respond,
                };
                tokio::spawn(stream(exchange, body));
            }
            Some(Err(e)) => {
                tracing::debug!("h2 connection: {e}");
                return;
            }
            None => return,
        }
    }
}

/// One stream's request and the way back.
struct Exchange {
    method: Method,
    target: String,
    /// The ACL token from the request's headers.
    token: Option<String>,
    rpc: bool,
    agent: Arc<Agent>,
    respond: h2::server::SendResponse<Bytes>,
}

/// One stream: the request read whole, answered, written; dropped early if the client resets
/// it (a blocking query it no longer wants). The exchange's fields are used in place, not
/// rebound, so the task holds them once.
async fn stream(mut ex: Exchange, body: Option<h2::RecvStream>) {
    let head_only = ex.method == Method::HEAD;
    let method = std::mem::replace(&mut ex.method, Method::GET);
    let method = if head_only { Method::GET } else { method };
    let body = match body {
        Some(body) => read_body(body).await,
        None => Ok(Vec::new()),
    };
    let reply = match body {
        Ok(body) => {
            let answering = answer(&ex.agent, ex.rpc, method, &ex.target, body, ex.token.take());
            let reset = std::future::poll_fn(|cx| ex.respond.poll_reset(cx));
            tokio::select! {
                reply = answering => reply,
                _ = reset => return,
            }
        }
        Err(reply) => reply,
    };
    send(&mut ex.respond, reply, head_only);
}

/// The method, target and body (none when the request ended with its headers) of a request;
/// its headers are dropped here.
type Taken = (Method, String, Option<String>, Option<h2::RecvStream>);

fn take_request(request: Request<h2::RecvStream>) -> Taken {
    let (head, body) = request.into_parts();
    let target = head
        .uri
        .path_and_query()
        .map_or_else(|| head.uri.path().to_string(), |pq| pq.as_str().to_string());
    let body = (!body.is_end_stream()).then_some(body);
    let token = super::acl::token_of(&head.headers);
    (head.method, target, token, body)
}

/// Reads a request body, giving flow-control credit back as it goes.
async fn read_body(mut body: h2::RecvStream) -> Result<Vec<u8>, Reply> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| Reply::error(400, format!("400 Bad Request: {e}")))?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if out.len() + chunk.len() > MAX_BODY {
            return Err(Reply::error(413, "413 Request Entity Too Large"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Writes an answer on its stream; a stream the client has gone from is left as it is.
fn send(respond: &mut h2::server::SendResponse<Bytes>, reply: Reply, head_only: bool) {
    let (status, headers, body) = reply.into_parts();
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        response = response.header(*name, value.as_str());
    }
    response = response.header("Content-Length", body.len());
    let Ok(response) = response.body(()) else {
        respond.send_reset(h2::Reason::INTERNAL_ERROR);
        return;
    };
    let end = head_only || body.is_empty();
    let Ok(mut sending) = respond.send_response(response, end) else {
        return;
    };
    if !end {
        // h2 queues what the client's window does not take yet and sends it as it opens.
        let _ = sending.send_data(Bytes::from(body), true);
    }
}
