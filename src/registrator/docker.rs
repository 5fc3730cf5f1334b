//! A small Docker Engine API client: HTTP/1.1 over the engine's unix socket (or plain TCP for
//! `DOCKER_HOST=tcp://…`), one connection per request, and the `/events` stream (chunked,
//! one JSON object per event).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where the engine listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl Endpoint {
    /// `DOCKER_HOST` as Docker reads it: `unix:///path`, `tcp://host:port`, or a bare path.
    pub fn parse(host: &str) -> Result<Endpoint, String> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = host.strip_prefix("tcp://") {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() {
                return Err(format!("invalid DOCKER_HOST {host:?}"));
            }
            return Ok(Endpoint::Tcp(addr.to_string()));
        }
        if host.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(host)));
        }
        Err(format!(
            "unsupported DOCKER_HOST {host:?} (unix:///path or tcp://host:port; TLS is not supported)"
        ))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How long a plain request may take (the event stream has no limit).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Docker {
    endpoint: Endpoint,
}

/// A container as `GET /containers/{id}/json` describes it (the fields registrator reads).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Container {
    pub id: String,
    /// With Docker's leading slash: `/web`.
    pub name: String,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub network_settings: NetworkSettings,
    pub state: State,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub image: String,
    pub hostname: String,
    pub env: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub network_mode: String,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `"8080/tcp"` → the host bindings, `null` when the port is exposed but not published.
    pub ports: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub networks: Option<BTreeMap<String, Network>>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct Network {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct State {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub exit_code: i64,
}

/// One line of `GET /containers/json`.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Listing {
    pub id: String,
    /// `running`, `paused`, `exited`, `created`, `restarting`, `dead`, `removing`.
    pub state: String,
}

/// One event of `GET /events`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Event {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// When the engine saw it (ns since the epoch).
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    /// `name`, `image`, and `exitCode` for `die`.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// Why a request failed: the engine could not be reached, or it answered an error status.
#[derive(Debug)]
pub enum Error {
    Connection(String),
    Status(u16, String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Connection(m) => f.write_str(m),
            Error::Status(code, m) => write!(f, "Docker answered {code}: {m}"),
        }
    }
}

impl Docker {
    pub fn new(endpoint: Endpoint) -> Docker {
        Docker { endpoint }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, Error> {
        let err =
            |e: std::io::Error| Error::Connection(format!("connect to {}: {e}", self.endpoint));
        Ok(match &self.endpoint {
            Endpoint::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await.map_err(err)?),
            Endpoint::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a).await.map_err(err)?),
        })
    }

    /// Sends `GET path` and returns the status, the headers' transfer mode and the stream
    /// positioned at the body (with what was read past the head).
    async fn send(&self, path: &str) -> Result<(u16, Body), Error> {
        let mut stream = self.connect().await?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: ctmpl-registrator\r\nConnection: close\r\n\r\n"
        );
        let io = |e: std::io::Error| Error::Connection(format!("GET {path}: {e}"));
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        let mut buf = Vec::with_capacity(4096);
        loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.map_err(io)?;
            if n == 0 {
                return Err(Error::Connection(format!(
                    "GET {path}: connection closed before the response"
                )));
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = resp.code.unwrap_or(0);
                    let mut chunked = false;
                    let mut length = None;
                    for h in resp.headers.iter() {
                        let value = String::from_utf8_lossy(h.value);
                        if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value.to_ascii_lowercase().contains("chunked");
                        } else if h.name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse::<usize>().ok();
                        }
                    }
                    let rest = buf[len..].to_vec();
                    let mode = if chunked {
                        Mode::Chunked(Dechunker::default())
                    } else if let Some(n) = length {
                        Mode::Length(n)
                    } else {
                        Mode::Eof
                    };
                    let mut body = Body {
                        stream,
                        mode,
                        raw: Vec::new(),
                        out: Vec::new(),
                        done: false,
                    };
                    body.feed(&rest)?;
                    return Ok((status, body));
                }
                Ok(httparse::Status::Partial) => {
                    if buf.len() > 64 * 1024 {
                        return Err(Error::Connection(format!(
                            "GET {path}: response head too large"
                        )));
                    }
                }
                Err(e) => {
                    return Err(Error::Connection(format!("GET {path}: bad response: {e}")));
                }
            }
        }
    }

    /// `GET path`: the whole body of a 2xx answer.
    async fn get(&self, path: &str) -> Result<Vec<u8>, Error> {
        let fetch = async {
            let (status, mut body) = self.send(path).await?;
            let bytes = body.read_all().await?;
            if !(200..300).contains(&status) {
                let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
                return Err(Error::Status(status, message));
            }
            Ok(bytes)
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, fetch).await {
            Ok(r) => r,
            Err(_) => Err(Error::Connection(format!("GET {path}: timed out"))),
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, Error> {
        let bytes = self.get(path).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Connection(format!("GET {path}: undecodable answer: {e}")))
    }

    /// `GET /_ping`.
    pub async fn ping(&self) -> Result<(), Error> {
        self.get("/_ping").await.map(|_| ())
    }

    /// Every container (`all`) or the running ones (paused included, as Docker lists them).
    pub async fn list(&self, all: bool) -> Result<Vec<Listing>, Error> {
        self.get_json(&format!("/containers/json?all={}", if all { 1 } else { 0 }))
            .await
    }

    /// `GET /containers/{id}/json`; `Ok(None)` when there is no such container.
    pub async fn inspect(&self, id: &str) -> Result<Option<Container>, Error> {
        match self
            .get_json(&format!(
                "/containers/{}/json",
                crate::client::path_escape(id)
            ))
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(Error::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the container event stream.
    pub async fn events(&self) -> Result<Events, Error> {
        let filters =
            form_urlencoded::byte_serialize(br#"{"type":["container"]}"#).collect::<String>();
        let path = format!("/events?filters={filters}");
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, self.send(&path))
            .await
            .map_err(|_| Error::Connection(format!("GET {path}: timed out")))??;
        if !(200..300).contains(&status) {
            return Err(Error::Status(status, "event stream refused".into()));
        }
        Ok(Events {
            body,
            buf: Vec::new(),
        })
    }
}

enum Mode {
    Length(usize),
    Chunked(Dechunker),
    Eof,
}

/// A response body being read.
struct Body {
    stream: Box<dyn Stream>,
    mode: Mode,
    /// Decoded body bytes not yet handed out.
    out: Vec<u8>,
    raw: Vec<u8>,
    done: bool,
}

impl Body {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match &mut self.mode {
            Mode::Length(left) => {
                let take = bytes.len().min(*left);
                self.out.extend_from_slice(&bytes[..take]);
                *left -= take;
                self.done = *left == 0;
            }
            Mode::Chunked(d) => {
                self.raw.extend_from_slice(bytes);
                self.done = d.decode(&mut self.raw, &mut self.out)?;
            }
            Mode::Eof => self.out.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// Reads more of the body; false at its end.
    async fn fill(&mut self) -> Result<bool, Error> {
        if self.done {
            return Ok(false);
        }
        let mut chunk = [0u8; 8192];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|e| Error::Connection(format!("reading from Docker: {e}")))?;
        if n == 0 {
            self.done = true;
            return match self.mode {
                Mode::Eof => Ok(false),
                _ => Err(Error::Connection("Docker closed the connection".into())),
            };
        }
        self.feed(&chunk[..n])?;
        Ok(true)
    }

    async fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        while self.fill().await? {}
        Ok(std::mem::take(&mut self.out))
    }
}

/// Incremental `Transfer-Encoding: chunked` decoding.
#[derive(Default)]
struct Dechunker {
    /// Bytes left in the current chunk's data.
    left: usize,
    /// Expecting the CRLF after a chunk's data.
    crlf: bool,
    /// The last chunk was read.
    finished: bool,
}

impl Dechunker {
    /// Moves the decodable part of `raw` to `out`; true once the last chunk was read.
    fn decode(&mut self, raw: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<bool, Error> {
        if self.finished {
            return Ok(true);
        }
        let mut pos = 0;
        let result = loop {
            if self.left > 0 {
                let take = self.left.min(raw.len() - pos);
                out.extend_from_slice(&raw[pos..pos + take]);
                pos += take;
                self.left -= take;
                if self.left > 0 {
                    break Ok(false);
                }
                self.crlf = true;
            }
            if self.crlf {
                if raw.len() - pos < 2 {
                    break Ok(false);
                }
                pos += 2;
                self.crlf = false;
            }
            let Some(end) = raw[pos..].windows(2).position(|w| w == b"\r\n") else {
                break Ok(false);
            };
            let line = String::from_utf8_lossy(&raw[pos..pos + end]).into_owned();
            let size = line.split(';').next().unwrap_or("").trim();
            let size = match usize::from_str_radix(size, 16) {
                Ok(s) => s,
                Err(_) => break Err(Error::Connection(format!("bad chunk size {line:?}"))),
            };
            pos += end + 2;
            if size == 0 {
                self.finished = true;
                break Ok(true);
            }
            self.left = size;
        };
        raw.drain(..pos);
        result
    }
}

/// The event stream: `next` yields each container event as it comes.
pub struct Events {
    body: Body,
    buf: Vec<u8>,
}

impl Events {
    /// The next event; an error when the stream ends or breaks.
    pub async fn next(&mut self) -> Result<Event, Error> {
        loop {
            self.buf.append(&mut self.body.out);
            let mut iter = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Event>();
            match iter.next() {
                Some(Ok(event)) => {
                    let used = iter.byte_offset();
                    self.buf.drain(..used);
                    return Ok(event);
                }
                Some(Err(e)) if !e.is_eof() => {
                    return Err(Error::Connection(format!("undecodable Docker event: {e}")));
                }
                _ => {}
            }
            if !self.body.fill().await? {
                return Err(Error::Connection("Docker closed the event stream".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host() {
        assert_eq!(
            Endpoint::parse("unix:///var/run/docker.sock").unwrap(),
            Endpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:2375").unwrap(),
            Endpoint::Tcp("127.0.0.1:2375".into())
        );
        assert!(Endpoint::parse("npipe:////./pipe/docker_engine").is_err());
    }

    #[test]
    fn dechunks_in_pieces() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            let mut d = Dechunker::default();
            let (mut raw, mut out) = (Vec::new(), Vec::new());
            raw.extend_from_slice(&wire[..split]);
            let first = d.decode(&mut raw, &mut out).unwrap();
            raw.extend_from_slice(&wire[split..]);
            let done = d.decode(&mut raw, &mut out).unwrap();
            assert!(done, "split {split} (first pass: {first})");
            assert_eq!(out, b"hello, world", "split {split}");
        }
    }

    #[tokio::test]
    async fn events_from_a_fake_engine() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await.unwrap();
            let e1 =
                r#"{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{}}}"#;
            let e2 = r#"{"Type":"container","Action":"die","Actor":{"ID":"abc"}}"#;
            let wire = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{e1}\n\r\n",
                e1.len() + 1
            );
            s.write_all(wire.as_bytes()).await.unwrap();
            // The second event split across chunks and writes.
            let (a, b) = e2.split_at(10);
            s.write_all(format!("{:x}\r\n{a}\r\n", a.len()).as_bytes())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(format!("{:x}\r\n{b}\n\r\n0\r\n\r\n", b.len() + 1).as_bytes())
                .await
                .unwrap();
        });
        let docker = Docker::new(Endpoint::Unix(sock));
        let mut events = docker.events().await.unwrap();
        let first = events.next().await.unwrap();
        assert_eq!(
            (first.action.as_str(), first.actor.id.as_str()),
            ("start", "abc")
        );
        assert_eq!(events.next().await.unwrap().action, "die");
        assert!(
            events.next().await.is_err(),
            "the end of the stream is an error"
        );
    }
}
