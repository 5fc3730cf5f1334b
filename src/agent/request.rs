//! Reading HTTP/1.1 requests off a connection: one bounded, streaming parser for the request
//! head, `Content-Length` bodies and chunked bodies, with Go's `net/http` limits and words.
//!
//! Why it is built this way:
//! - **Linear in the bytes received.** [`Parser`] keeps its place between reads (how far it has
//!   looked for the end of the head, which chunk it is in, how much of it is left), so every
//!   byte is looked at a bounded number of times however the client splits its writes. The
//!   previous decoder started again from the first byte after each read: a 1 MiB body sent as
//!   1-byte chunks cost 15 s of CPU and starved every other client.
//! - **Bounded.** The head (and a chunked body's trailers, which count against it) may take Go's
//!   `DefaultMaxHeaderBytes` plus the 4 KiB slack Go's server allows (431 beyond); a chunk-size
//!   line with its extensions must be shorter than 4 KiB (Go's `maxLineLength`); bytes that are
//!   not data (chunk lines) may not exceed the data by more than 16 KiB (Go's "too much
//!   non-data" rule); each endpoint says how much body it takes ([`body_limit`]): a KV value
//!   over 512 KiB is answered 413 with Consul's words as soon as the size is known, before the
//!   value is read. Sizes use checked arithmetic: a chunk size of `ffffffffffffffff` is a 413,
//!   not an overflow.
//! - **Strict framing, Go's answers.** A chunk not followed by CRLF, a chunk line ending in a
//!   bare LF, a bad hex digit, a conflicting `Content-Length`: 400 with Go's error text, and the
//!   request never reaches the API, so nothing is stored.
//! - **Cheap when idle.** Between requests the buffer is freed, so 10,000 keep-alive clients
//!   waiting in blocking queries hold no read buffers ([`Source`] reads only once bytes are
//!   there).
//!
//! The parser is synchronous and pure (bytes in, requests or a [`Reply`] out), which is what
//! the property tests drive; [`read_request`] is the async loop around it.

use std::io;

use http::Method;

use super::http::Reply;

/// Go's `http.DefaultMaxHeaderBytes` (1 MiB) plus the 4096 bytes of slack its server reads
/// before answering 431. Consul leaves `http_config.max_header_bytes` at Go's default.
pub const MAX_HEAD: usize = (1 << 20) + 4096;
/// Go's `maxLineLength` for a chunk-size line, extensions included.
pub const MAX_CHUNK_LINE: usize = 4096;
/// The largest body any endpoint takes (registrations, Raft traffic on the server port).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Go's allowance of chunk-line bytes beyond the data they frame.
const MAX_CHUNK_OVERHEAD: u64 = 16 * 1024;
/// How much one read takes off the socket.
const READ_SIZE: usize = 16 * 1024;
/// How many bytes one request may parse before its task lets the others run.
const YIELD_EVERY: usize = 32 * 1024;

/// A request read off the connection, body and all.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub target: String,
    pub body: Vec<u8>,
    pub keep_alive: bool,
    /// The ACL token from `X-Consul-Token` or `Authorization: Bearer` (`?token=` is http's).
    pub token: Option<String>,
}

/// How much body an endpoint takes, and what it answers beyond that.
#[derive(Clone, Copy)]
pub struct BodyLimit {
    pub max: usize,
    /// The answer for a body of (at least) this many bytes.
    pub too_large: fn(usize) -> Reply,
}

/// The body limit for a request, known from its head: Consul's `kv_max_value_size` for KV
/// writes, [`MAX_BODY`] for everything else.
pub fn body_limit(method: &Method, target: &str) -> BodyLimit {
    let path = target.split('?').next().unwrap_or("");
    if *method == Method::PUT && path.starts_with("/v1/kv/") {
        BodyLimit {
            max: super::http::KV_MAX_VALUE,
            too_large: super::http::kv_too_large,
        }
    } else {
        BodyLimit {
            max: MAX_BODY,
            too_large: |_| Reply::error(413, "413 Request Entity Too Large"),
        }
    }
}

/// Where a request's bytes come from. The TCP implementation reads only once the socket has
/// bytes, so an idle connection holds no buffer; other transports implement it too.
#[allow(async_fn_in_trait)]
pub trait Source {
    /// Appends what can be read now (waiting for at least one byte); 0 at end of stream.
    async fn read_more(&mut self, buf: &mut Vec<u8>) -> io::Result<usize>;
    /// Writes an interim answer (`100 Continue`).
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl Source for tokio::net::TcpStream {
    async fn read_more(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            self.readable().await?;
            let start = buf.len();
            buf.resize(start + READ_SIZE, 0);
            match self.try_read(&mut buf[start..]) {
                Ok(n) => {
                    buf.truncate(start + n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    buf.truncate(start);
                    if buf.is_empty() {
                        *buf = Vec::new();
                    }
                }
                Err(e) => {
                    buf.truncate(start);
                    return Err(e);
                }
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(self, bytes).await
    }
}

/// Reads one request with `parser` (which keeps the bytes of a pipelined next request);
/// `None` at a clean end of stream.
pub async fn read_request<S: Source>(
    stream: &mut S,
    parser: &mut Parser,
) -> Result<Option<Request>, Reply> {
    let mut since_yield = 0usize;
    loop {
        match parser.advance()? {
            Step::Done(req) => return Ok(Some(req)),
            Step::Continue => {
                let _ = stream.send(b"HTTP/1.1 100 Continue\r\n\r\n").await;
                continue;
            }
            Step::NeedMore => {}
        }
        let n = stream
            .read_more(&mut parser.buf)
            .await
            .map_err(|e| bad_request(&e.to_string()))?;
        if n == 0 {
            return if parser.is_idle() {
                Ok(None)
            } else {
                Err(bad_request("unexpected EOF"))
            };
        }
        // A client that always has bytes ready must still let the other tasks run: tokio's
        // budget would allow 128 reads (2 MiB of 1-byte chunks) between yields; we yield after
        // every YIELD_EVERY bytes parsed.
        since_yield += n;
        if since_yield >= YIELD_EVERY {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

/// After an error answer written before the body was read: closes the sending side, then reads
/// and drops what the client still sends for a moment before the close, as Go's server does
/// (`closeWriteAndWait`, 500 ms), so the client reads the answer instead of losing it to a reset.
pub async fn close_after_error(stream: &mut tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Go's `400 Bad Request: reason` answer.
pub fn bad_request(reason: &str) -> Reply {
    Reply::error(400, format!("400 Bad Request: {reason}"))
}

fn head_too_large() -> Reply {
    Reply::error(431, "431 Request Header Fields Too Large")
}

/// What [`Parser::advance`] got to.
#[derive(Debug)]
pub enum Step {
    /// The bytes so far are not a whole request.
    NeedMore,
    /// The client asked for `100 Continue` before it sends the body.
    Continue,
    Done(Request),
}

/// What the request head says about the body and the connection.
#[derive(Debug, Clone)]
struct Head {
    method: Method,
    target: String,
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
    expect_continue: bool,
    token: Option<String>,
}

/// Where the parser is within the current request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Looking for the blank line that ends the head.
    Head,
    /// `remaining` bytes of a `Content-Length` body to go.
    Fixed { remaining: u64 },
    /// Looking for the end of a chunk-size line.
    ChunkLine,
    /// `remaining` bytes of the current chunk to go.
    ChunkData { remaining: u64 },
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// Trailer lines up to a blank one.
    Trailers,
}

/// An incremental request parser: feed it bytes (append to its buffer), call
/// [`advance`](Parser::advance), get requests. See the module doc.
pub struct Parser {
    /// Received bytes not yet consumed start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// How far past `start` has already been searched for a line end (so no byte is searched
    /// twice).
    scanned: usize,
    phase: Phase,
    head: Option<Head>,
    limit: Option<BodyLimit>,
    body: Vec<u8>,
    /// Head and trailer bytes of the current request (the trailers count against the head
    /// limit).
    head_bytes: usize,
    /// Go's chunk-overhead account.
    excess: u64,
    /// Whether `100 Continue` was handled for this request.
    continued: bool,
    limits: fn(&Method, &str) -> BodyLimit,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(body_limit)
    }
}

impl Parser {
    /// A parser for one connection; `limits` gives each request's body limit from its head.
    pub fn new(limits: fn(&Method, &str) -> BodyLimit) -> Parser {
        Parser {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            phase: Phase::Head,
            head: None,
            limit: None,
            body: Vec::new(),
            head_bytes: 0,
            excess: 0,
            continued: false,
            limits,
        }
    }

    /// Received bytes, for a caller that reads them itself.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// No request has begun: a clean place for the connection to end.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Head && self.start == self.buf.len()
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
    }

    /// Parses as far as the bytes go.
    pub fn advance(&mut self) -> Result<Step, Reply> {
        let step = self.run();
        // Drop what was consumed: what remains is at most a partial line or head, so copying
        // it down keeps the whole thing linear; an idle connection frees its buffer.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.is_empty() && self.buf.capacity() > 0 && self.phase == Phase::Head {
            self.buf = Vec::new();
        }
        step
    }

    fn run(&mut self) -> Result<Step, Reply> {
        loop {
            let progressed = match self.phase {
                Phase::Head => self.read_head()?,
                Phase::Fixed { remaining } => self.read_fixed(remaining),
                Phase::ChunkLine => self.read_chunk_line()?,
                Phase::ChunkData { remaining } => self.read_chunk_data(remaining),
                Phase::ChunkEnd => self.read_chunk_end()?,
                Phase::Trailers => self.read_trailer()?,
            };
            if self.phase == Phase::Head && self.head.is_some() {
                return Ok(Step::Done(self.finish()));
            }
            if let Some(head) = &self.head {
                let wants_body = head.chunked || head.content_length.unwrap_or(0) > 0;
                if head.expect_continue && wants_body && !self.continued {
                    self.continued = true;
                    if self.pending().is_empty() {
                        return Ok(Step::Continue);
                    }
                }
            }
            if !progressed {
                return Ok(Step::NeedMore);
            }
        }
    }

    /// The request just completed; the parser is ready for the next.
    fn finish(&mut self) -> Request {
        let head = self.head.take().expect("finish follows a head");
        self.limit = None;
        self.head_bytes = 0;
        self.excess = 0;
        self.continued = false;
        Request {
            method: head.method,
            target: head.target,
            body: std::mem::take(&mut self.body),
            keep_alive: head.keep_alive,
            token: head.token,
        }
    }

    /// Looks for the end of the head; parses it once it is all there.
    fn read_head(&mut self) -> Result<bool, Reply> {
        let pending = self.pending();
        let Some(end) = find_head_end(pending, self.scanned) else {
            if pending.len() > MAX_HEAD {
                return Err(head_too_large());
            }
            // The terminator may straddle this read and the next.
            self.scanned = pending.len().saturating_sub(3);
            return Ok(false);
        };
        if end > MAX_HEAD {
            return Err(head_too_large());
        }
        let head = parse_head(&pending[..end])?;
        let limit = (self.limits)(&head.method, &head.target);
        if let Some(len) = head.content_length {
            if len > limit.max as u64 {
                return Err((limit.too_large)(
                    usize::try_from(len).unwrap_or(usize::MAX),
                ));
            }
        }
        self.phase = if head.chunked {
            Phase::ChunkLine
        } else {
            Phase::Fixed {
                remaining: head.content_length.unwrap_or(0),
            }
        };
        self.head = Some(head);
        self.limit = Some(limit);
        self.head_bytes = end;
        self.consume(end);
        Ok(true)
    }

    fn take_body(&mut self, remaining: u64) -> u64 {
        let available = self.pending().len() as u64;
        let n = remaining.min(available) as usize;
        let start = self.start;
        self.body.extend_from_slice(&self.buf[start..start + n]);
        self.consume(n);
        remaining - n as u64
    }

    fn read_fixed(&mut self, remaining: u64) -> bool {
        if remaining > 0 && self.pending().is_empty() {
            return false;
        }
        let left = self.take_body(remaining);
        self.phase = if left == 0 {
            Phase::Head
        } else {
            Phase::Fixed { remaining: left }
        };
        true
    }

    /// A chunk-size line: `HEX[;extensions]CRLF`, shorter than [`MAX_CHUNK_LINE`].
    fn read_chunk_line(&mut self) -> Result<bool, Reply> {
        let Some(line_len) = self.find_line(MAX_CHUNK_LINE, "header line too long")? else {
            return Ok(false);
        };
        let size = {
            let line = &self.pending()[..line_len];
            chunk_size(line)?
        };
        // Go's rule: chunk lines may not outweigh their data by more than 16 KiB.
        self.excess = self
            .excess
            .saturating_add(line_len as u64)
            .saturating_sub(16u64.saturating_add(size.saturating_mul(2)));
        if self.excess > MAX_CHUNK_OVERHEAD {
            return Err(bad_request("chunked encoding contains too much non-data"));
        }
        let limit = self.limit.expect("a body follows a head");
        let total = (self.body.len() as u64).checked_add(size);
        match total {
            Some(total) if total <= limit.max as u64 => {}
            _ => {
                let seen = total.and_then(|t| usize::try_from(t).ok());
                return Err((limit.too_large)(seen.unwrap_or(usize::MAX)));
            }
        }
        self.consume(line_len);
        self.phase = if size == 0 {
            Phase::Trailers
        } else {
            Phase::ChunkData { remaining: size }
        };
        Ok(true)
    }

    fn read_chunk_data(&mut self, remaining: u64) -> bool {
        if self.pending().is_empty() {
            return false;
        }
        let left = self.take_body(remaining);
        self.phase = if left == 0 {
            Phase::ChunkEnd
        } else {
            Phase::ChunkData { remaining: left }
        };
        true
    }

    /// The CRLF that must follow a chunk's data.
    fn read_chunk_end(&mut self) -> Result<bool, Reply> {
        let pending = self.pending();
        let have = pending.len().min(2);
        if pending[..have] != b"\r\n"[..have] {
            return Err(bad_request("malformed chunked encoding"));
        }
        if have < 2 {
            return Ok(false);
        }
        self.consume(2);
        self.phase = Phase::ChunkLine;
        Ok(true)
    }

    /// One trailer line, or the blank line that ends the body. Trailers count against the head
    /// limit.
    fn read_trailer(&mut self) -> Result<bool, Reply> {
        let room = MAX_HEAD.saturating_sub(self.head_bytes);
        let Some(line_len) = self.find_line(room.saturating_add(1), "")? else {
            return Ok(false);
        };
        self.head_bytes = self.head_bytes.saturating_add(line_len);
        if self.head_bytes > MAX_HEAD {
            return Err(head_too_large());
        }
        let line = &self.pending()[..line_len];
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if content.is_empty() {
            self.consume(line_len);
            self.phase = Phase::Head;
            return Ok(true);
        }
        if !content.contains(&b':') || content[0] == b' ' || content[0] == b'\t' {
            return Err(bad_request(&format!(
                "malformed MIME header line: {}",
                String::from_utf8_lossy(content)
            )));
        }
        self.consume(line_len);
        Ok(true)
    }

    /// The length of the line at the front (its `\n` included), searching only bytes not
    /// searched before. A line that reaches `max` bytes is an error: 431 for trailers
    /// (`too_long` empty), else 400 with `too_long`.
    fn find_line(&mut self, max: usize, too_long: &str) -> Result<Option<usize>, Reply> {
        let pending = &self.buf[self.start..];
        let from = self.scanned.min(pending.len());
        match pending[from..].iter().position(|&b| b == b'\n') {
            Some(i) if from + i + 1 < max => Ok(Some(from + i + 1)),
            None if pending.len() < max => {
                self.scanned = pending.len();
                Ok(None)
            }
            _ if too_long.is_empty() => Err(head_too_large()),
            _ => Err(bad_request(too_long)),
        }
    }
}

/// Where the head ends (just past its blank line), searching from `from`: CRLF CRLF, or the
/// bare LF LF that Go's reader also takes.
fn find_head_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = b.get(i..)?.iter().position(|&c| c == b'\n') {
        let nl = i + off;
        match b.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            Some(b'\r') | Some(_) => i = nl + 1,
            // The next byte decides; search again from this newline next time.
            None => return None,
        }
    }
    None
}

/// A chunk-size line's size: CRLF required (Go rejects a bare LF and a stray CR), extensions
/// after `;` ignored, up to 16 hex digits.
fn chunk_size(line: &[u8]) -> Result<u64, Reply> {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err(bad_request("chunked line ends with bare LF"));
    };
    if body.contains(&b'\r') {
        return Err(bad_request("invalid CR in chunked line"));
    }
    let digits = match body.iter().position(|&b| b == b';') {
        Some(semi) => &body[..semi],
        None => body,
    };
    let digits = trim_trailing_space(digits);
    if digits.is_empty() {
        return Err(bad_request("empty hex number for chunk length"));
    }
    let mut n: u64 = 0;
    for (i, &b) in digits.iter().enumerate() {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(bad_request("invalid byte in chunk length")),
        };
        if i == 16 {
            return Err(bad_request("http chunk length too large"));
        }
        n = (n << 4) | u64::from(v);
    }
    Ok(n)
}

fn trim_trailing_space(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Parses a complete head (request line and headers, blank line included).
fn parse_head(bytes: &[u8]) -> Result<Head, Reply> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad_request("malformed request head")),
        Err(e) => return Err(bad_request(&e.to_string())),
    }
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| bad_request("invalid method"))?;
    let mut head = Head {
        method,
        target: req.path.unwrap_or("/").to_string(),
        content_length: None,
        chunked: false,
        keep_alive: req.version == Some(1),
        expect_continue: false,
        token: None,
    };
    let mut lengths: Vec<String> = Vec::new();
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        let value = value.trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            lengths.push(value.to_string());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") {
                return Err(Reply::error(
                    501,
                    format!("unsupported transfer encoding: {value:?}"),
                ));
            }
            head.chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                head.keep_alive = false;
            } else if v.contains("keep-alive") {
                head.keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = value.eq_ignore_ascii_case("100-continue");
        } else if let Some(token) = super::acl::header_token(h.name, value) {
            // Consul's order: `X-Consul-Token` before `Authorization: Bearer`.
            if head.token.is_none() || h.name.eq_ignore_ascii_case("x-consul-token") {
                head.token = Some(token);
            }
        }
    }
    head.content_length = content_length(&lengths)?;
    if head.chunked && head.content_length.is_some() {
        return Err(bad_request("both Content-Length and chunked"));
    }
    Ok(head)
}

/// Go's reading of the `Content-Length` headers: all the same, decimal digits only, < 2^63.
fn content_length(values: &[String]) -> Result<Option<u64>, Reply> {
    let Some(first) = values.first() else {
        return Ok(None);
    };
    if values.iter().any(|v| v != first) {
        let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        return Err(bad_request(&format!(
            "http: message cannot contain multiple Content-Length headers; got [{}]",
            quoted.join(" ")
        )));
    }
    let bad = || bad_request(&format!("bad Content-Length {first:?}"));
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match first.parse::<u64>() {
        Ok(n) if n < 1 << 63 => Ok(Some(n)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests;
