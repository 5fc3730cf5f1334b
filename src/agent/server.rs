//! The agent's HTTP/1.1 listener: reads requests (httparse), hands them to `http::handle`, writes
//! the answers, keeps connections alive. A blocking query may wait for minutes, so a connection
//! holds no buffer while its request runs: 10,000 waiting clients stay cheap (hyper keeps about
//! 16 KiB per connection, which measured 235 MiB for 10,000 waiters).

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::http::{handle, Reply};
use super::Agent;

/// Largest request head we read.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body we read; the API answers 413 for KV values above its own, smaller, limit.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long an idle keep-alive connection, or a slow request, may take.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long shutdown waits for answers in flight.
const DRAIN: Duration = Duration::from_millis(800);

/// Accepts connections until `shutdown`, then lets the ones in flight answer.
/// `rpc`: the server port, which answers the Raft and forwarding endpoints only.
pub async fn serve(
    listener: TcpListener,
    agent: Arc<Agent>,
    shutdown: CancellationToken,
    rpc: bool,
) {
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                tracker.spawn(connection(stream, agent.clone(), shutdown.clone(), rpc));
            }
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracker.close();
    let _ = tokio::time::timeout(DRAIN, tracker.wait()).await;
}

struct Request {
    method: Method,
    target: String,
    body: Vec<u8>,
    keep_alive: bool,
    /// The ACL token from `X-Consul-Token` or `Authorization: Bearer` (`?token=` is http's).
    token: Option<String>,
}

async fn connection(
    mut stream: TcpStream,
    agent: Arc<Agent>,
    shutdown: CancellationToken,
    rpc: bool,
) {
    let _ = stream.set_nodelay(true);
    // Bytes of a pipelined next request, read along with the previous one.
    let mut pending = Vec::new();
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut stream, &mut pending)) => r,
            _ = shutdown.cancelled() => return,
        };
        let req = match read {
            Ok(Ok(Some(req))) => req,
            Ok(Ok(None)) | Err(_) => return,
            Ok(Err(bad)) => {
                let _ = stream.write_all(&bad.encode(false, false)).await;
                return;
            }
        };
        let head_only = req.method == Method::HEAD;
        let method = if head_only { Method::GET } else { req.method };
        let reply = if rpc {
            match agent.store.cluster.handle_rpc(&req.target, &req.body).await {
                Ok(body) => Reply::json_bytes(body),
                Err((status, message)) => Reply::error(status, message),
            }
        } else {
            handle(&agent, method, &req.target, req.body, req.token).await
        };
        let keep_alive = req.keep_alive && !shutdown.is_cancelled();
        if stream
            .write_all(&reply.encode(head_only, keep_alive))
            .await
            .is_err()
            || !keep_alive
        {
            // Dropping the stream closes it.
            return;
        }
    }
}

/// Reads one request; `None` at a clean end of stream.
async fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
) -> Result<Option<Request>, Reply> {
    let mut buf = std::mem::take(pending);
    loop {
        if let Some((head, head_len)) = parse_head(&buf)? {
            if head.expect_continue && buf.len() == head_len && head.body_len() != Some(0) {
                let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
            }
            let (body, used) = read_body(stream, &mut buf, head_len, &head).await?;
            *pending = buf.split_off(used);
            return Ok(Some(Request {
                method: head.method,
                target: head.target,
                body,
                keep_alive: head.keep_alive,
                token: head.token,
            }));
        }
        if !fill(stream, &mut buf).await? {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(bad_request("unexpected EOF"))
            };
        }
    }
}

/// Reads more bytes into `buf`; false at end of stream. The buffer grows only once bytes are
/// there to read: an idle keep-alive connection holds none.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<bool, Reply> {
    loop {
        stream
            .readable()
            .await
            .map_err(|e| bad_request(&e.to_string()))?;
        let start = buf.len();
        buf.resize(start + 4096, 0);
        match stream.try_read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                return Ok(n > 0);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                buf.truncate(start);
                if buf.is_empty() {
                    *buf = Vec::new();
                }
            }
            Err(e) => return Err(bad_request(&e.to_string())),
        }
    }
}

fn bad_request(msg: &str) -> Reply {
    Reply::error(400, format!("400 Bad Request: {msg}"))
}

struct Head {
    method: Method,
    target: String,
    content_length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
    expect_continue: bool,
    token: Option<String>,
}

impl Head {
    fn body_len(&self) -> Option<usize> {
        if self.chunked {
            None
        } else {
            Some(self.content_length.unwrap_or(0))
        }
    }
}

/// Parses the request head if it is complete: the head and its length in bytes.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Reply> {
    if buf.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(Reply::error(431, "431 Request Header Fields Too Large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(bad_request(&e.to_string())),
    };
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| bad_request("bad method"))?;
    let http11 = req.version == Some(1);
    let mut head = Head {
        method,
        target: req.path.unwrap_or("/").to_string(),
        content_length: None,
        chunked: false,
        keep_alive: http11,
        expect_continue: false,
        token: None,
    };
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        let value = value.trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| bad_request("bad Content-Length"))?;
            if head.content_length.is_some_and(|old| old != n) {
                return Err(bad_request("conflicting Content-Length"));
            }
            head.content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().ends_with("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                head.keep_alive = false;
            } else if v.contains("keep-alive") {
                head.keep_alive = true;
            }
        } else if let Some(token) = super::acl::header_token(h.name, value) {
            // Consul's order: `X-Consul-Token` before `Authorization: Bearer`.
            if head.token.is_none() || h.name.eq_ignore_ascii_case("x-consul-token") {
                head.token = Some(token);
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    if head.chunked && head.content_length.is_some() {
        return Err(bad_request("both Content-Length and chunked"));
    }
    if head.content_length.is_some_and(|n| n > MAX_BODY) {
        return Err(Reply::error(413, "413 Request Entity Too Large"));
    }
    Ok(Some((head, len)))
}

/// Reads the body after the head at `buf[start..]`: the body and where the next request starts.
async fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    start: usize,
    head: &Head,
) -> Result<(Vec<u8>, usize), Reply> {
    if let Some(len) = head.body_len() {
        while buf.len() < start + len {
            if !fill(stream, buf).await? {
                return Err(bad_request("body ends early"));
            }
        }
        return Ok((buf[start..start + len].to_vec(), start + len));
    }
    loop {
        match dechunk(&buf[start..])? {
            Some((body, used)) => return Ok((body, start + used)),
            None if !fill(stream, buf).await? => {
                return Err(bad_request("chunked body ends early"))
            }
            None => {}
        }
    }
}

/// Decodes a complete chunked body: the body and the bytes it took, or `None` if incomplete.
fn dechunk(mut b: &[u8]) -> Result<Option<(Vec<u8>, usize)>, Reply> {
    let total = b.len();
    let mut body = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&b[..eol]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| bad_request("bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(Reply::error(413, "413 Request Entity Too Large"));
        }
        b = &b[eol + 2..];
        if size == 0 {
            // No trailers: an empty line; else trailers end with an empty line.
            let end = if b.starts_with(b"\r\n") {
                Some(2)
            } else {
                b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
            };
            let Some(end) = end else {
                return Ok(None);
            };
            return Ok(Some((body, total - (b.len() - end))));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_chunks() {
        let (head, len) =
            parse_head(b"PUT /v1/kv/a?cas=0 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
                .unwrap()
                .unwrap();
        assert_eq!(
            (
                head.method.clone(),
                head.target.as_str(),
                head.body_len(),
                len
            ),
            (Method::PUT, "/v1/kv/a?cas=0", Some(3), 50)
        );
        assert!(head.keep_alive);
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .unwrap()
            .is_none());
        let (head, _) = parse_head(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!head.keep_alive);
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT").unwrap(),
            Some((b"abcde".to_vec(), 20))
        );
        assert_eq!(dechunk(b"3\r\nab").unwrap(), None);
        assert!(dechunk(b"zz\r\n").is_err());
        assert!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
    }
}
