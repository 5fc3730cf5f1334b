//! TLS on the agent's ports, with Consul's keys (`tls.defaults`: `ca_file`, `cert_file`,
//! `key_file`, `verify_incoming`, `verify_outgoing`; `tls.internal_rpc.verify_server_hostname`):
//! the HTTPS API (`ports.https`) and, when a certificate is configured, the server port, which
//! then speaks TLS only and with `verify_incoming` admits only peers whose certificate chains to
//! `ca_file` (mutual TLS). Also the client side other agents' server ports are dialled with.
//!
//! rustls (ring) does TLS. ALPN offers `h2` and `http/1.1`: `h2` goes to `agent::h2`, anything
//! else to hyper's HTTP/1.1 server (the lean httparse server in `server` reads from a plain
//! `TcpStream` only; a waiting TLS connection keeps rustls' buffers anyway).

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::TlsSettings;
use super::dispatch::{answer, MAX_BODY};
use super::http::Reply;
use super::Agent;

/// How long a client may take over the TLS handshake.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);
/// How long shutdown waits for answers in flight.
const DRAIN: Duration = Duration::from_millis(800);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn roots(path: &Path) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    for cert in certs(path)? {
        store
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Arc::new(store))
}

/// The certificate and key `tls.defaults` names.
fn identity(
    s: &TlsSettings,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let (Some(cert), Some(key_file)) = (&s.cert_file, &s.key_file) else {
        return Err("TLS needs tls.defaults.cert_file and tls.defaults.key_file".into());
    };
    Ok((certs(cert)?, key(key_file)?))
}

/// What an agent's TLS listener presents and asks for: its certificate, ALPN `h2` and
/// `http/1.1`, and with `verify_incoming` a client certificate chaining to `ca_file`.
pub fn acceptor(s: &TlsSettings) -> Result<TlsAcceptor, String> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match (&s.ca_file, s.verify_incoming) {
        (Some(ca), true) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider())
                .build()
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        (None, true) => return Err("tls.defaults.verify_incoming needs ca_file".into()),
        _ => builder.with_no_client_auth(),
    };
    let (certs, key) = identity(s)?;
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// How this agent dials other agents' server ports over TLS: it presents its own certificate
/// and, with `verify_outgoing`, checks theirs against `ca_file` (and with
/// `verify_server_hostname`, that it names `server.<datacenter>.consul`, as Consul does).
pub fn peer_client(s: &TlsSettings, datacenter: &str) -> Result<rustls::ClientConfig, String> {
    let verifier: Arc<dyn ServerCertVerifier> = match (&s.ca_file, s.verify_outgoing) {
        (Some(ca), true) => {
            let inner = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider())
                .build()
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            let name = s
                .verify_server_hostname
                .then(|| ServerName::try_from(format!("server.{datacenter}.consul")))
                .transpose()
                .map_err(|e| format!("server name for {datacenter}: {e}"))?;
            Arc::new(PeerVerifier { inner, name })
        }
        (None, true) => return Err("tls.defaults.verify_outgoing needs ca_file".into()),
        // `verify_outgoing = false`: the same verifier as ctmpl's `-consul-ssl-verify=false`.
        _ => Arc::new(crate::consul::tls::AnyCertificate(provider())),
    };
    let (certs, key) = identity(s)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("TLS certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Checks a server's chain against the CA; the name checked is `server.<dc>.consul` with
/// `verify_server_hostname`, and none without it (servers are dialled by IP address, and
/// Consul then checks the chain only).
#[derive(Debug)]
struct PeerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: Option<ServerName<'static>>,
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.name.as_ref().unwrap_or(server_name);
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.name.is_none() => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts TLS connections until `shutdown`; `rpc`: the server port.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
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
            Ok((tcp, peer)) => {
                let acceptor = acceptor.clone();
                let (agent, shutdown) = (agent.clone(), shutdown.clone());
                tracker.spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let tls = match tokio::time::timeout(HANDSHAKE_WAIT, acceptor.accept(tcp)).await
                    {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake from {peer}: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    if h2 {
                        super::h2::serve(tls, agent, shutdown, rpc).await;
                    } else {
                        http1(tls, agent, shutdown, rpc).await;
                    }
                });
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

/// HTTP/1.1 over TLS through hyper, each request answered by `dispatch::answer`.
async fn http1<T>(io: T, agent: Arc<Agent>, shutdown: CancellationToken, rpc: bool)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let agent = agent.clone();
        async move { Ok::<_, Infallible>(respond(req, &agent, rpc).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

async fn respond(
    req: Request<hyper::body::Incoming>,
    agent: &Arc<Agent>,
    rpc: bool,
) -> Response<Full<Bytes>> {
    let (head, body) = req.into_parts();
    let target = head
        .uri
        .path_and_query()
        .map_or_else(|| head.uri.path().to_string(), |pq| pq.as_str().to_string());
    let token = super::acl::token_of(&head.headers);
    let head_only = head.method == Method::HEAD;
    let method = if head_only { Method::GET } else { head.method };
    let reply = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => answer(agent, rpc, method, &target, body.to_bytes().to_vec(), token).await,
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Reply::error(413, "413 Request Entity Too Large")
        }
        Err(e) => Reply::error(400, format!("400 Bad Request: {e}")),
    };
    let (status, headers, body) = reply.into_parts();
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        response = response.header(*name, value.as_str());
    }
    let body = if head_only { Vec::new() } else { body };
    response
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
