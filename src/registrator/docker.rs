//! A small Docker Engine API client on reqwest: HTTP/1.1 over the engine's unix socket
//! (`ClientBuilder::unix_socket`), or plain TCP for `DOCKER_HOST=tcp://…`, and the `/events`
//! stream read chunk by chunk as it comes (one JSON object per event). reqwest is already the
//! Consul client, and the 0.12.28 locked here connects over a unix socket: no HTTP of our own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

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

/// How long a plain request may take (the event stream has no limit).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Docker {
    endpoint: Endpoint,
    /// The client for the endpoint (or why none could be built, told by every request).
    client: Result<reqwest::Client, String>,
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
        let builder = reqwest::Client::builder()
            .user_agent("ctmpl-registrator")
            .no_proxy();
        let builder = match &endpoint {
            Endpoint::Unix(path) => builder.unix_socket(path.as_path()),
            Endpoint::Tcp(_) => builder,
        };
        let client = builder
            .build()
            .map_err(|e| format!("a client for {endpoint}: {}", describe(&e)));
        Docker { endpoint, client }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `GET path`; the response's body is left to read.
    async fn send(
        &self,
        path: &str,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, Error> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| Error::Connection(e.clone()))?;
        // Over the unix socket the host is only the `Host` header's.
        let url = match &self.endpoint {
            Endpoint::Unix(_) => format!("http://docker{path}"),
            Endpoint::Tcp(addr) => format!("http://{addr}{path}"),
        };
        let mut request = client.get(url);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        request.send().await.map_err(|e| self.failed(path, &e))
    }

    fn failed(&self, path: &str, e: &reqwest::Error) -> Error {
        Error::Connection(if e.is_connect() {
            format!("connect to {}: {}", self.endpoint, describe(e))
        } else if e.is_timeout() {
            format!("GET {path}: timed out")
        } else {
            format!("GET {path}: {}", describe(e))
        })
    }

    /// `GET path`: the whole body of a 2xx answer.
    async fn get(&self, path: &str) -> Result<Vec<u8>, Error> {
        let resp = self.send(path, Some(REQUEST_TIMEOUT)).await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.failed(path, &e))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
            return Err(Error::Status(status, message));
        }
        Ok(bytes.to_vec())
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
                crate::consul::client::path_escape(id)
            ))
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(Error::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the container event stream (only its opening is bounded in time).
    pub async fn events(&self) -> Result<Events, Error> {
        let filters =
            form_urlencoded::byte_serialize(br#"{"type":["container"]}"#).collect::<String>();
        let path = format!("/events?filters={filters}");
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, self.send(&path, None))
            .await
            .map_err(|_| Error::Connection(format!("GET {path}: timed out")))??;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(Error::Status(status, "event stream refused".into()));
        }
        Ok(Events {
            resp,
            buf: Vec::new(),
        })
    }
}

/// An error with its causes: reqwest's own message names the URL, its causes say what broke.
fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The event stream: `next` yields each container event as it comes.
pub struct Events {
    resp: reqwest::Response,
    /// Body bytes not yet decoded into events.
    buf: Vec<u8>,
}

impl Events {
    /// The next event; an error when the stream ends or breaks.
    pub async fn next(&mut self) -> Result<Event, Error> {
        loop {
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
            match self.resp.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) => return Err(Error::Connection("Docker closed the event stream".into())),
                Err(e) => {
                    return Err(Error::Connection(format!(
                        "reading from Docker: {}",
                        describe(&e)
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

    /// A fake engine answering each request by its path, one connection per request.
    async fn fake_engine(sock: &std::path::Path) {
        let listener = tokio::net::UnixListener::bind(sock).unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut req = Vec::new();
                while !req.ends_with(b"\r\n\r\n") {
                    let mut b = [0u8; 1];
                    if s.read(&mut b).await.unwrap() == 0 {
                        break;
                    }
                    req.push(b[0]);
                }
                let req = String::from_utf8_lossy(&req).into_owned();
                assert!(
                    req.to_ascii_lowercase()
                        .contains("user-agent: ctmpl-registrator"),
                    "{req}"
                );
                let path = req.split(' ').nth(1).unwrap_or_default().to_string();
                let (status, body) = match path.as_str() {
                    "/containers/abc/json" => ("200 OK", r#"{"Id":"abc","Name":"/web"}"#),
                    "/containers/nope/json" => {
                        ("404 Not Found", r#"{"message":"No such container: nope"}"#)
                    }
                    _ => ("500 Internal Server Error", r#"{"message":"boom"}"#),
                };
                let wire = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(wire.as_bytes()).await.unwrap();
            }
        });
    }

    #[tokio::test]
    async fn requests_to_a_fake_engine() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        fake_engine(&sock).await;
        let docker = Docker::new(Endpoint::Unix(sock));
        let web = docker.inspect("abc").await.unwrap().unwrap();
        assert_eq!((web.id.as_str(), web.name.as_str()), ("abc", "/web"));
        assert!(docker.inspect("nope").await.unwrap().is_none());
        match docker.ping().await {
            Err(Error::Status(500, m)) => assert_eq!(m, "boom"),
            other => panic!("{other:?}"),
        }
        let gone = Docker::new(Endpoint::Unix(dir.path().join("none.sock")));
        match gone.ping().await {
            Err(Error::Connection(m)) => assert!(m.starts_with("connect to unix://"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
