//! TLS for the Consul client's HTTP/2 connections (`h2client`): the rustls settings made from
//! the `-consul-ssl*` flags as consul-template reads them (a CA file replaces the built-in
//! roots, a client certificate and key, verification off, the name to verify), and TLS
//! failures worded as Go's `crypto/tls` and `crypto/x509` word them, which is what users of
//! consul-template search for.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::client::ClientConfig;

/// The protocols offered, HTTP/2 first: an agent that picks `http/1.1` is then spoken to over
/// HTTP/1.1 by the caller.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// rustls settings for `config`; errors name the file they come from.
pub fn client_config(config: &ClientConfig) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if config.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots(config.ca_cert.as_deref())?)
    };
    let mut tls = match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let (chain, key_der) = identity(cert, key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("-consul-ssl-cert and -consul-ssl-key go together".into()),
    };
    tls.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(tls)
}

/// The name the agent's certificate must carry (and the SNI sent).
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.trim_matches(['[', ']']).to_string())
        .map_err(|e| format!("invalid TLS server name {name:?}: {e}"))
}

/// The CA file's certificates, else the built-in (webpki) roots.
fn roots(ca: Option<&Path>) -> Result<rustls::RootCertStore, String> {
    let Some(path) = ca else {
        return Ok(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let pem = read(path)?;
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
        store
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if store.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(store)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A client certificate chain and its key, from PEM files.
fn identity(cert: &Path, key: &Path) -> Result<Identity, String> {
    let chain = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    Ok((chain, key_der))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `-consul-ssl-verify=false` (and the agent's `verify_outgoing = false`): any certificate is
/// taken; the handshake's signatures are still
/// checked, so the connection is at least with the holder of the certificate's key.
#[derive(Debug)]
pub(crate) struct AnyCertificate(pub(crate) Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS failure as Go's client reports it: `tls: failed to verify certificate: x509: …` for
/// the agent's certificate, `remote error: tls: …` for the agent's alert (a client
/// certificate it refused), else rustls's own words after `tls: `.
pub fn failure_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(cert) => {
            format!("tls: failed to verify certificate: {}", x509_text(cert))
        }
        rustls::Error::AlertReceived(alert) => {
            format!("remote error: tls: {}", alert_text(*alert))
        }
        other => format!("tls: {other}"),
    }
}

/// crypto/x509's words for a certificate it does not accept.
fn x509_text(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => "x509: certificate signed by unknown authority".into(),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            "x509: certificate has expired or is not yet valid".into()
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => hostname_text(&expected.to_str(), presented),
        other => format!("x509: {other}"),
    }
}

/// Go's `x509.HostnameError`: the certificate's names of the kind asked for (IP addresses for
/// an IP, DNS names otherwise), and the name asked for. rustls lists the names as
/// `DnsName("…")` and `IpAddress(…)`.
fn hostname_text(wanted: &str, presented: &[String]) -> String {
    let is_ip = wanted.parse::<std::net::IpAddr>().is_ok();
    let names: Vec<&str> = presented
        .iter()
        .filter_map(|name| match is_ip {
            true => name.strip_prefix("IpAddress(")?.strip_suffix(')'),
            false => name.strip_prefix("DnsName(\"")?.strip_suffix("\")"),
        })
        .collect();
    match (names.is_empty(), is_ip) {
        (true, true) => format!(
            "x509: cannot validate certificate for {wanted} because it doesn't contain any IP SANs"
        ),
        (true, false) => {
            format!("x509: certificate is not valid for any names, but wanted to match {wanted}")
        }
        _ => format!(
            "x509: certificate is valid for {}, not {wanted}",
            names.join(", ")
        ),
    }
}

/// crypto/tls's names of the alerts an agent sends a client it refuses.
fn alert_text(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match alert {
        A::BadCertificate => "bad certificate".into(),
        A::CertificateRequired => "certificate required".into(),
        A::UnknownCA => "unknown certificate authority".into(),
        A::HandshakeFailure => "handshake failure".into(),
        A::ProtocolVersion => "protocol version not supported".into(),
        A::CertificateExpired => "expired certificate".into(),
        A::AccessDenied => "access denied".into(),
        A::DecryptError => "error decrypting message".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_errors_read_as_gos() {
        let presented = [
            "DnsName(\"server.dc1.consul\")".to_string(),
            "DnsName(\"localhost\")".to_string(),
            "IpAddress(127.0.0.1)".to_string(),
        ];
        assert_eq!(
            hostname_text("server.dc2.consul", &presented),
            "x509: certificate is valid for server.dc1.consul, localhost, not server.dc2.consul"
        );
        assert_eq!(
            hostname_text("10.0.0.1", &presented),
            "x509: certificate is valid for 127.0.0.1, not 10.0.0.1"
        );
        assert_eq!(
            hostname_text("10.0.0.1", &presented[..2]),
            "x509: cannot validate certificate for 10.0.0.1 because it doesn't contain any IP SANs"
        );
    }
}
