//! How an agent reaches the others: their server ports (Raft, join, forwarded writes), signed
//! with the `-encrypt` key and over TLS when this agent has a certificate, and the servers'
//! HTTP APIs, where a client agent forwards catalog reads over one HTTP/2 (h2c) connection per
//! server, so its blocking queries are streams rather than a connection each.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::agent::config::Config;
use crate::agent::rpc_auth::RpcKey;

/// A connection to another server's port, plain or TLS.
pub trait PeerIo: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> PeerIo for T {}

pub struct Peers {
    /// Server-port requests other than Raft's own (join, forwarded writes, read indexes).
    http: reqwest::Client,
    /// The servers' HTTP APIs (a client agent's forwarded reads): HTTP/2 with prior knowledge.
    pub api: reqwest::Client,
    key: Option<RpcKey>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Peers {
    /// From the agent's `encrypt` and `tls` settings.
    pub fn new(config: &Config) -> Result<Peers, String> {
        let key = config.encrypt.as_deref().map(RpcKey::parse).transpose()?;
        let mut http = reqwest::Client::builder().pool_max_idle_per_host(16);
        let tls = if config.tls.enabled() {
            let client = super::super::tls::peer_client(&config.tls, &config.datacenter)?;
            http = http.use_preconfigured_tls(client.clone());
            Some(tokio_rustls::TlsConnector::from(Arc::new(client)))
        } else {
            None
        };
        let http = http.build().map_err(|e| e.to_string())?;
        let api = reqwest::Client::builder()
            .http2_prior_knowledge()
            .http2_keep_alive_interval(Duration::from_secs(30))
            .http2_keep_alive_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Peers {
            http,
            api,
            key,
            tls,
        })
    }

    /// Peers with no key and no TLS (tests).
    pub fn plain() -> Peers {
        Peers::new(&Config::default()).expect("a plain client always builds")
    }

    /// The `-encrypt` key, when set.
    pub fn key(&self) -> Option<&RpcKey> {
        self.key.as_ref()
    }

    /// The reqwest client for server-port requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL of `path` on the server port at `addr`, signed for `body` when a key is set.
    pub fn url(&self, addr: &str, path: &str, body: &[u8]) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{addr}{}", self.target(path, body))
    }

    /// The request target for `path`: signed for `body` when a key is set.
    pub fn target(&self, path: &str, body: &[u8]) -> String {
        match &self.key {
            Some(key) => key.sign(path, body),
            None => path.to_string(),
        }
    }

    /// Opens a connection to the server port at `addr`, over TLS when configured.
    pub async fn connect(&self, addr: &str) -> std::io::Result<Box<dyn PeerIo>> {
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        // Servers are dialled by address; the verifier decides which name counts.
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(Box::new(tls.connect(name, tcp).await?))
    }
}
