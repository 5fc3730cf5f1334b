//! sprig's certificate functions: `genCA`, `genCAWithKey`, `genSelfSignedCert`,
//! `genSelfSignedCertWithKey`, `genSignedCert`, `genSignedCertWithKey` and `buildCustomCert`,
//! each answering sprig's `certificate` struct (`.Cert` and `.Key` in PEM, `%T`
//! `sprig.certificate`), with sprig's `getBaseCertTemplate`: a random 128-bit serial, the
//! subject's common name only, DNS then IP SANs, valid from now for `daysValid` days, key usage
//! digital signature + key encipherment (+ cert sign for a CA), extended key usage server and
//! client auth, basic constraints always present.
//!
//! New keys are RSA 2048 (the `rsa` crate) as sprig makes them; the `WithKey` variants take
//! any key `genPrivateKey` writes (RSA PKCS#1, EC P-256 SEC 1, PKCS#8 RSA/P-256/Ed25519, DSA
//! in sprig's `DSAKeyFormat`) and write it back as Go's `pemBlockForKey` does. A DSA key reads
//! as Go reads it, but Go's `x509.CreateCertificate` refuses it: as the signer (it is no
//! `crypto.Signer`) and as the subject (its public key type is unsupported); so only
//! `buildCustomCert` accepts one, and the others fail with Go's words. rcgen builds and signs the certificates;
//! x509-parser checks `buildCustomCert`'s input. Error texts are sprig's; where the message
//! comes from Go's ASN.1 or x509 parsers, ctmpl words the cause its own way after sprig's prefix.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber, SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use super::dsa_key::DsaKey;
use super::keys::{ec_private_key_der, ed25519_pkcs8_der, pem};
use super::sdef;
use crate::gotmpl::{Arity, FuncError, FuncMap, Record, RecordType, Value};
use crate::template::funcs::encoding::base64::STD;
use crate::template::funcs::{list_items, string_arg};

/// Go's name of sprig's result type.
pub const CERT_TYPE: &str = "sprig.certificate";

fn cert_type() -> &'static Arc<RecordType> {
    static T: OnceLock<Arc<RecordType>> = OnceLock::new();
    T.get_or_init(|| RecordType::new(CERT_TYPE, &["Cert", "Key"]))
}

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "genCA", Exact(2), |a| {
        let key = PrivateKey::new_rsa()?;
        generate_ca(&string_arg(&a[0])?, day_count(&a[1])?, key)
    });
    sdef(funcs, "genCAWithKey", Exact(3), |a| {
        let key = PrivateKey::from_pem(&string_arg(&a[2])?).map_err(parsing_key)?;
        generate_ca(&string_arg(&a[0])?, day_count(&a[1])?, key)
    });
    sdef(funcs, "genSelfSignedCert", Exact(4), |a| {
        let key = PrivateKey::new_rsa()?;
        self_signed(a, key)
    });
    sdef(funcs, "genSelfSignedCertWithKey", Exact(5), |a| {
        let key = PrivateKey::from_pem(&string_arg(&a[4])?).map_err(parsing_key)?;
        self_signed(a, key)
    });
    sdef(funcs, "genSignedCert", Exact(5), |a| {
        let key = PrivateKey::new_rsa()?;
        signed(a, key)
    });
    sdef(funcs, "genSignedCertWithKey", Exact(6), |a| {
        let key = PrivateKey::from_pem(&string_arg(&a[5])?).map_err(parsing_key)?;
        signed(a, key)
    });
    sdef(funcs, "buildCustomCert", Exact(2), |a| {
        build_custom(&string_arg(&a[0])?, &string_arg(&a[1])?)
    });
    const S: &str = "string";
    const LIST: &str = "[]interface {}";
    let signatures: &[(&str, &[&'static str])] = &[
        ("genCA", &[S, "int"]),
        ("genCAWithKey", &[S, "int", S]),
        ("genSelfSignedCert", &[S, LIST, LIST, "int"]),
        ("genSelfSignedCertWithKey", &[S, LIST, LIST, "int", S]),
        ("genSignedCert", &[S, LIST, LIST, "int", CERT_TYPE]),
        (
            "genSignedCertWithKey",
            &[S, LIST, LIST, "int", CERT_TYPE, S],
        ),
        ("buildCustomCert", &[S, S]),
    ];
    for (name, params) in signatures {
        funcs.set_params(&format!("sprig_{name}"), params, None);
    }
}

fn parsing_key(e: String) -> FuncError {
    FuncError(format!("parsing private key: {e}"))
}

fn day_count(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(n) => Ok(*n),
        v => Err(FuncError(format!(
            "wrong type for value; expected int; got {}",
            v.type_name()
        ))),
    }
}

fn certificate(cert: String, key: String) -> Value {
    Record::new(cert_type(), vec![Value::from(cert), Value::from(key)])
}

/// sprig's `generateCertificateAuthorityWithKeyInternal`.
fn generate_ca(cn: &str, days: i64, key: PrivateKey) -> Result<Value, FuncError> {
    let mut params = base_template(cn, &[], &[], days)?;
    params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let signer = key.key_pair()?;
    let cert = params.self_signed(&signer).map_err(creating)?;
    Ok(certificate(cert.pem(), key.to_go_pem()))
}

/// `genSelfSignedCert[WithKey] cn ips dns days [key]`.
fn self_signed(a: &[Value], key: PrivateKey) -> Result<Value, FuncError> {
    let params = base_template(
        &string_arg(&a[0])?,
        &ip_list(&a[1])?,
        &dns_list(&a[2])?,
        day_count(&a[3])?,
    )?;
    let signer = key.key_pair()?;
    let cert = params.self_signed(&signer).map_err(creating)?;
    Ok(certificate(cert.pem(), key.to_go_pem()))
}

/// `genSignedCert[WithKey] cn ips dns days ca [key]`: the CA's certificate and key are read
/// first, as sprig does.
fn signed(a: &[Value], key: PrivateKey) -> Result<Value, FuncError> {
    let (ca_cert, ca_key) = certificate_fields(&a[4])?;
    let ca_der = pem_decode(&ca_cert)
        .filter(|(_, der)| !der.is_empty())
        .ok_or("unable to decode certificate")?
        .1;
    x509_parser::parse_x509_certificate(&ca_der).map_err(|e| {
        FuncError(format!(
            "error parsing certificate: decodedSignerCert.Bytes: {}",
            x509_message(&e)
        ))
    })?;
    let ca_key = PrivateKey::from_pem(&ca_key)
        .map_err(|e| FuncError(format!("error parsing private key: {e}")))?;
    let params = base_template(
        &string_arg(&a[0])?,
        &ip_list(&a[1])?,
        &dns_list(&a[2])?,
        day_count(&a[3])?,
    )?;
    let ca_signer = ca_key.key_pair()?;
    let issuer = CertificateParams::from_ca_cert_der(&CertificateDer::from(ca_der))
        .and_then(|p| p.self_signed(&ca_signer))
        .map_err(creating)?;
    let signee = key.subject_key_pair()?;
    let mut params = params;
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&signee, &issuer, &ca_signer)
        .map_err(creating)?;
    Ok(certificate(cert.pem(), key.to_go_pem()))
}

fn certificate_fields(v: &Value) -> Result<(String, String), FuncError> {
    match v {
        Value::Record(r) if r.ty.name == CERT_TYPE => {
            let field = |name| {
                r.field(name)
                    .map(crate::template::funcs::lossy)
                    .unwrap_or_default()
            };
            Ok((field("Cert"), field("Key")))
        }
        v => Err(FuncError(format!(
            "wrong type for value; expected {CERT_TYPE}; got {}",
            v.type_name()
        ))),
    }
}

/// sprig's `buildCustomCertificate`: base64 PEM certificate and key, checked and returned.
fn build_custom(b64cert: &str, b64key: &str) -> Result<Value, FuncError> {
    let cert = STD
        .decode(b64cert.as_bytes())
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = STD
        .decode(b64key.as_bytes())
        .map_err(|_| "unable to decode base64 private key")?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let der = pem_decode(&cert).ok_or("unable to decode certificate")?.1;
    x509_parser::parse_x509_certificate(&der).map_err(|e| {
        FuncError(format!(
            "error parsing certificate: decodedCert.Bytes: {}",
            x509_message(&e)
        ))
    })?;
    PrivateKey::from_pem(&key).map_err(|e| FuncError(format!("error parsing private key: {e}")))?;
    Ok(certificate(cert, key))
}

/// Go's wording for a certificate that does not parse (`x509: malformed certificate` for
/// anything that is not DER; ctmpl does not reproduce the finer texts).
fn x509_message<E>(_e: &E) -> &'static str {
    "x509: malformed certificate"
}

fn creating(e: rcgen::Error) -> FuncError {
    FuncError(format!("error creating certificate: {e}"))
}

/// sprig's `getBaseCertTemplate`.
fn base_template(
    cn: &str,
    ips: &[IpAddr],
    dns: &[String],
    days: i64,
) -> Result<CertificateParams, FuncError> {
    let mut params = CertificateParams::default();
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| FuncError(e.to_string()))?;
    // `rand.Int(2^128)`: an unsigned number, written without leading zero bytes.
    let start = serial.iter().position(|&b| b != 0).unwrap_or(15);
    let mut bytes = serial[start..].to_vec();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    params.serial_number = Some(SerialNumber::from_slice(&bytes));
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    params.distinguished_name = name;
    let mut sans = Vec::new();
    for d in dns {
        sans.push(SanType::DnsName(d.as_str().try_into().map_err(|e| {
            FuncError(format!("error creating certificate: {e}"))
        })?));
    }
    sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    params.subject_alt_names = sans;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now.saturating_add(time::Duration::hours(24).saturating_mul(days as i32));
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = IsCa::ExplicitNoCa;
    Ok(params)
}

/// sprig's `getNetIPs`: every item a string that `net.ParseIP` reads.
fn ip_list(v: &Value) -> Result<Vec<IpAddr>, FuncError> {
    strings_of(v, |item| {
        format!("error parsing ip: {item} is not a string")
    })?
    .into_iter()
    .map(|s| {
        s.parse::<IpAddr>()
            .map_err(|_| FuncError(format!("error parsing ip: {s}")))
    })
    .collect()
}

/// sprig's `getAlternateDNSStrs`.
fn dns_list(v: &Value) -> Result<Vec<String>, FuncError> {
    strings_of(v, |item| {
        format!("error processing alternate dns name: {item} is not a string")
    })
}

fn strings_of(v: &Value, not_string: impl Fn(String) -> String) -> Result<Vec<String>, FuncError> {
    let Some(items) = list_items(v) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(FuncError(not_string(other.to_go_string()))),
        })
        .collect()
}

/// A private key as sprig holds one (`crypto.PrivateKey`).
enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
    /// The 32-byte seed.
    Ed25519([u8; 32]),
    Dsa(DsaKey),
}

impl PrivateKey {
    fn new_rsa() -> Result<PrivateKey, FuncError> {
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| FuncError(format!("error generating rsa key: {e}")))
    }

    /// sprig's `parsePrivateKeyPEM`.
    fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let (kind, der) = pem_decode(text).ok_or("no PEM data in input")?;
        if kind == "PRIVATE KEY" {
            return PrivateKey::from_pkcs8(&der)
                .map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(algorithm) = kind.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {kind}"));
        };
        match algorithm {
            "RSA" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map(|k| PrivateKey::Rsa(Box::new(k)))
                    .map_err(|e| format!("parsing RSA private key from PEM: {e}"))
            }
            "EC" => p256::SecretKey::from_sec1_der(&der)
                .map(PrivateKey::Ec)
                .map_err(|e| format!("parsing EC private key from PEM: x509: failed to parse EC private key: {e}")),
            "DSA" => DsaKey::from_der(&der)
                .map(PrivateKey::Dsa)
                .map_err(|e| format!("parsing DSA private key from PEM: {e}")),
            _ => Err(format!("invalid private key type {kind}")),
        }
    }

    fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
        use p256::pkcs8::DecodePrivateKey;
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::Ec(k));
        }
        // Ed25519's PKCS#8 v1: the fixed 16-byte prefix Go writes, then the seed.
        if der.len() == 48 && der[..16] == ed25519_pkcs8_der(&[0; 32])[..16] {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&der[16..]);
            return Ok(PrivateKey::Ed25519(seed));
        }
        Err("x509: failed to parse private key (ctmpl reads RSA, P-256 and Ed25519 keys)".into())
    }

    /// The key whose public half a certificate carries: Go's `marshalPublicKey` knows no DSA.
    fn subject_key_pair(&self) -> Result<KeyPair, FuncError> {
        match self {
            PrivateKey::Dsa(_) => Err(FuncError(
                "error creating certificate: x509: unsupported public key type: *dsa.PublicKey"
                    .into(),
            )),
            _ => self.key_pair(),
        }
    }

    /// The key as rcgen signs with it (`x509.CreateCertificate`'s first check: a
    /// `crypto.Signer`, which Go's DSA key is not).
    fn key_pair(&self) -> Result<KeyPair, FuncError> {
        let (der, alg): (Vec<u8>, &'static SignatureAlgorithm) = match self {
            PrivateKey::Rsa(k) => {
                use rsa::pkcs8::EncodePrivateKey;
                let der = k
                    .to_pkcs8_der()
                    .map_err(|e| FuncError(format!("error creating certificate: {e}")))?;
                (der.as_bytes().to_vec(), &rcgen::PKCS_RSA_SHA256)
            }
            PrivateKey::Ec(k) => {
                use p256::pkcs8::EncodePrivateKey;
                let der = k
                    .to_pkcs8_der()
                    .map_err(|e| FuncError(format!("error creating certificate: {e}")))?;
                (der.as_bytes().to_vec(), &rcgen::PKCS_ECDSA_P256_SHA256)
            }
            PrivateKey::Ed25519(seed) => (ed25519_pkcs8_der(seed), &rcgen::PKCS_ED25519),
            PrivateKey::Dsa(_) => {
                return Err(FuncError(
                    "error creating certificate: x509: certificate private key does not \
                     implement crypto.Signer"
                        .into(),
                ))
            }
        };
        KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(der), alg)
            .map_err(|e| FuncError(format!("error creating certificate: {e}")))
    }

    /// Go's `pemBlockForKey`.
    fn to_go_pem(&self) -> String {
        match self {
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                match k.to_pkcs1_der() {
                    Ok(der) => pem("RSA PRIVATE KEY", der.as_bytes()),
                    Err(_) => String::new(),
                }
            }
            PrivateKey::Ec(k) => pem("EC PRIVATE KEY", &ec_private_key_der(k)),
            PrivateKey::Ed25519(seed) => pem("PRIVATE KEY", &ed25519_pkcs8_der(seed)),
            PrivateKey::Dsa(k) => pem("DSA PRIVATE KEY", &k.to_der()),
        }
    }
}

/// Go's `pem.Decode` (the first block): its type and bytes. `None` without a block whose
/// body is base64.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + 11..];
        let type_end = after.find("-----")?;
        let kind = &after[..type_end];
        let body_start = &after[type_end + 5..];
        let end_marker = format!("-----END {kind}-----");
        let (Some(body_end), true) = (
            body_start.find(&end_marker),
            body_start.starts_with('\n') || body_start.starts_with("\r\n"),
        ) else {
            rest = after;
            continue;
        };
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if body.contains(':') {
            // Headers (`Proc-Type: …`) are not something sprig's keys carry.
            rest = after;
            continue;
        }
        match STD.decode(body.as_bytes()) {
            Ok(der) => return Some((kind.to_string(), der)),
            Err(_) => rest = after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_decode_as_go_finds_them() {
        assert_eq!(
            pem_decode("junk\n-----BEGIN X-----\nAAEC\n-----END X-----\n"),
            Some(("X".to_string(), vec![0, 1, 2]))
        );
        assert_eq!(pem_decode("no block"), None);
        assert_eq!(pem_decode("-----BEGIN X-----\n!!\n-----END X-----\n"), None);
    }

    #[test]
    fn keys_written_by_gen_private_key_read_back() {
        for kind in ["ecdsa", "ed25519"] {
            let text = super::super::keys::generate(kind);
            let key = PrivateKey::from_pem(&text).expect(kind);
            assert_eq!(key.to_go_pem(), text, "{kind}");
            key.key_pair().expect("signing key");
        }
    }
}
