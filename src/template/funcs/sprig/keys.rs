//! sprig's `genPrivateKey`: a new key in PEM as Go's `pemBlockForKey` writes it: RSA 4096 as
//! PKCS#1 (`RSA PRIVATE KEY`), ECDSA P-256 as SEC 1 (`EC PRIVATE KEY`), Ed25519 as PKCS#8
//! (`PRIVATE KEY`), DSA L2048N256 as sprig's own `DSAKeyFormat` (`DSA PRIVATE KEY`, see
//! `dsa_key`): keys from the RustCrypto crates (`rsa`, `p256`, `dsa`; an Ed25519 key is its
//! random seed), the DER of the two fixed-size formats written here byte for byte as Go
//! writes it.

use super::sdef;
use crate::gotmpl::{Arity, FuncMap, Value};
use crate::template::funcs::encoding::base64::STD;
use crate::template::funcs::string_arg;

pub(super) fn register(funcs: &mut FuncMap) {
    sdef(funcs, "genPrivateKey", Arity::Exact(1), |a| {
        Ok(Value::from(generate(&string_arg(&a[0])?)))
    });
}

pub(super) fn generate(kind: &str) -> String {
    use rand_core::OsRng;
    match kind {
        "" | "rsa" => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 4096)
                .map_err(|e| e.to_string())
                .and_then(|k| k.to_pkcs1_der().map_err(|e| e.to_string()));
            match key {
                Ok(der) => pem("RSA PRIVATE KEY", der.as_bytes()),
                Err(e) => format!("failed to generate private key: {e}"),
            }
        }
        "ecdsa" => pem(
            "EC PRIVATE KEY",
            &ec_private_key_der(&p256::SecretKey::random(&mut OsRng)),
        ),
        "ed25519" => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).expect("the OS gives random bytes");
            pem("PRIVATE KEY", &ed25519_pkcs8_der(&seed))
        }
        "dsa" => pem(
            "DSA PRIVATE KEY",
            &super::dsa_key::DsaKey::generate().to_der(),
        ),
        other => format!("Unknown type {other}"),
    }
}

/// Go's `x509.MarshalECPrivateKey` for P-256 (SEC 1 with the curve's OID and the public key).
pub(super) fn ec_private_key_der(key: &p256::SecretKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let public = key.public_key().to_encoded_point(false);
    let mut der = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
    der.extend_from_slice(&key.to_bytes());
    // [0] namedCurve prime256v1 (1.2.840.10045.3.1.7)
    der.extend_from_slice(&[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ]);
    // [1] BIT STRING of the uncompressed point
    der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
    der.extend_from_slice(public.as_bytes());
    der
}

/// Go's `x509.MarshalPKCS8PrivateKey` of an Ed25519 key: version 0, the algorithm, the seed.
pub(super) fn ed25519_pkcs8_der(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// Go's `pem.EncodeToMemory`: base64 in lines of 64.
pub(super) fn pem(kind: &str, der: &[u8]) -> String {
    let body = STD.encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let ec = generate("ecdsa");
        let parsed = p256::SecretKey::from_sec1_pem(&ec).expect("SEC 1 PEM");
        assert_eq!(ec, pem("EC PRIVATE KEY", &ec_private_key_der(&parsed)));
        let ed = generate("ed25519");
        assert!(
            ed.starts_with("-----BEGIN PRIVATE KEY-----\n") && ed.len() == 119,
            "{ed}"
        );
        let body: String = ed.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STD.decode(body.as_bytes()).expect("base64");
        assert_eq!(der.len(), 48);
    }
}
