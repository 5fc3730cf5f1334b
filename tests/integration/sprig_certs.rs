//! sprig's certificate functions through the real binary: what they write is random, so the
//! test reads it back with the openssl CLI (an implementation independent of ctmpl's) and
//! checks the structure sprig promises: subject CN, SANs, validity days, CA flag, key type per
//! `genPrivateKey`'s argument, the key matching the certificate, and signed-by-CA verifying.

use std::path::Path;
use std::process::Command;

use crate::support::Agent;

const TEMPLATE: &str = r#"{{- $ca := sprig_genCA "test-ca" 30 -}}
{{- $leaf := sprig_genSignedCert "leaf.example" (sprig_list "10.1.2.3" "::1") (sprig_list "a.example" "b.example") 7 $ca -}}
{{- $eckey := sprig_genPrivateKey "ecdsa" -}}
{{- $self := sprig_genSelfSignedCertWithKey "self" nil (sprig_list "self.example") 3 $eckey -}}
{{- $edca := sprig_genCAWithKey "ed-ca" 10 (sprig_genPrivateKey "ed25519") -}}
{{- $edleaf := sprig_genSignedCertWithKey "ed-leaf" nil nil 2 $edca (sprig_genPrivateKey "ecdsa") -}}
{{- $built := sprig_buildCustomCert (sprig_b64enc $leaf.Cert) (sprig_b64enc $leaf.Key) -}}
{{ $ca.Cert }}@@{{ $ca.Key }}@@{{ $leaf.Cert }}@@{{ $leaf.Key }}@@{{ $eckey }}@@{{ $self.Cert }}@@{{ $self.Key }}@@{{ $edca.Cert }}@@{{ $edca.Key }}@@{{ $edleaf.Cert }}@@{{ $edleaf.Key }}@@{{ eq $built.Cert $leaf.Cert }} {{ eq $built.Key $leaf.Key }} {{ printf "%T" $built }}"#;

/// Runs openssl with `args` in `dir`: its stdout (spaces removed, so `CN = x` and `CN=x`
/// compare alike across versions) and whether it succeeded.
fn openssl(dir: &Path, args: &[&str]) -> (String, bool) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout).replace(' ', "");
    (text, out.status.success())
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (text, success) = openssl(dir, args);
    assert!(success, "openssl {args:?} failed: {text}");
    text
}

/// The public key of a certificate and of a private key, as openssl writes them.
fn keys_match(dir: &Path, cert: &str, key: &str) -> bool {
    ok(dir, &["x509", "-in", cert, "-noout", "-pubkey"])
        == ok(dir, &["pkey", "-in", key, "-pubout"])
}

/// Valid for at least `days - 1` days and at most `days + 1` from now.
fn valid_days(dir: &Path, cert: &str, days: u64) -> bool {
    let within = |d: u64| {
        openssl(
            dir,
            &[
                "x509",
                "-in",
                cert,
                "-noout",
                "-checkend",
                &(d * 86_400).to_string(),
            ],
        )
        .1
    };
    within(days - 1) && !within(days + 1)
}

#[test]
fn certificate_functions_write_what_openssl_reads_back() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let tmpl = dir.path().join("certs.ctmpl");
    std::fs::write(&tmpl, TEMPLATE).unwrap();
    let out = crate::ctmpl()
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            tmpl.to_str().unwrap(),
            "-once",
            "-dry",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = stdout.strip_prefix("> \n").expect("dry header");
    let parts: Vec<&str> = body.split("@@").collect();
    assert_eq!(parts.len(), 12, "{body}");
    let names = [
        "ca.pem",
        "ca.key",
        "leaf.pem",
        "leaf.key",
        "ec.key",
        "self.pem",
        "self.key",
        "edca.pem",
        "edca.key",
        "edleaf.pem",
        "edleaf.key",
    ];
    for (name, text) in names.iter().zip(&parts) {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    assert_eq!(parts[11], "true true sprig.certificate");
    let d = dir.path();

    // genCA: an RSA 2048 CA for 30 days.
    assert!(ok(d, &["x509", "-in", "ca.pem", "-noout", "-subject"]).contains("CN=test-ca"));
    assert!(ok(
        d,
        &[
            "x509",
            "-in",
            "ca.pem",
            "-noout",
            "-ext",
            "basicConstraints"
        ]
    )
    .contains("CA:TRUE"));
    assert!(
        ok(d, &["x509", "-in", "ca.pem", "-noout", "-ext", "keyUsage"]).contains("CertificateSign")
    );
    assert!(valid_days(d, "ca.pem", 30));
    assert!(parts[1].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(ok(d, &["pkey", "-in", "ca.key", "-noout", "-text"]).contains("Private-Key:(2048bit"));
    assert!(keys_match(d, "ca.pem", "ca.key"));

    // genSignedCert: CN, DNS and IP SANs, 7 days, not a CA, signed by the CA.
    let leaf_subject = ok(
        d,
        &["x509", "-in", "leaf.pem", "-noout", "-subject", "-issuer"],
    );
    assert!(
        leaf_subject.contains("subject=CN=leaf.example"),
        "{leaf_subject}"
    );
    assert!(leaf_subject.contains("issuer=CN=test-ca"), "{leaf_subject}");
    let sans = ok(
        d,
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    for want in [
        "DNS:a.example",
        "DNS:b.example",
        "IPAddress:10.1.2.3",
        "IPAddress:0:0:0:0:0:0:0:1",
    ] {
        assert!(sans.contains(want), "{want} in {sans}");
    }
    assert!(ok(
        d,
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "basicConstraints"
        ]
    )
    .contains("CA:FALSE"));
    let eku = ok(
        d,
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "extendedKeyUsage",
        ],
    );
    assert!(
        eku.contains("TLSWebServerAuthentication") && eku.contains("TLSWebClientAuthentication"),
        "{eku}"
    );
    assert!(valid_days(d, "leaf.pem", 7));
    assert!(keys_match(d, "leaf.pem", "leaf.key"));
    assert!(ok(d, &["verify", "-CAfile", "ca.pem", "leaf.pem"]).contains("leaf.pem:OK"));
    // A certificate the other CA did not sign does not verify against it.
    assert!(!openssl(d, &["verify", "-CAfile", "edca.pem", "leaf.pem"]).1);

    // genSelfSignedCertWithKey: the given EC key, written back as given, signs its own cert.
    assert_eq!(parts[6], parts[4], "the key comes back as Go writes it");
    assert!(parts[4].starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    let self_text = ok(d, &["x509", "-in", "self.pem", "-noout", "-text"]);
    assert!(self_text.contains("ecdsa-with-SHA256"), "{self_text}");
    assert!(
        self_text.contains("Subject:CN=self") && self_text.contains("Issuer:CN=self"),
        "{self_text}"
    );
    assert!(self_text.contains("DNS:self.example"), "{self_text}");
    assert!(valid_days(d, "self.pem", 3));
    assert!(keys_match(d, "self.pem", "self.key"));

    // An Ed25519 CA (genCAWithKey) signing an EC leaf (genSignedCertWithKey).
    assert!(parts[8].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(ok(d, &["x509", "-in", "edca.pem", "-noout", "-text"]).contains("ED25519"));
    assert!(keys_match(d, "edca.pem", "edca.key"));
    assert!(parts[10].starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert!(keys_match(d, "edleaf.pem", "edleaf.key"));
    assert!(valid_days(d, "edleaf.pem", 2));
    assert!(ok(d, &["verify", "-CAfile", "edca.pem", "edleaf.pem"]).contains("edleaf.pem:OK"));
}

/// The hex blocks of `openssl dsa -text -noout` (`priv:`, `pub:`, `P:`, `Q:`, `G:`), by label.
fn openssl_numbers(text: &str) -> std::collections::HashMap<String, num_bigint::BigUint> {
    let mut numbers = std::collections::HashMap::new();
    let mut label: Option<String> = None;
    let mut hex = String::new();
    let mut flush = |label: &mut Option<String>, hex: &mut String| {
        if let Some(l) = label.take() {
            let n = num_bigint::BigUint::parse_bytes(hex.as_bytes(), 16)
                .unwrap_or_else(|| panic!("{l}: {hex}"));
            numbers.insert(l, n);
        }
        hex.clear();
    };
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) {
            hex.extend(line.chars().filter(char::is_ascii_hexdigit));
        } else {
            flush(&mut label, &mut hex);
            label = line.trim_end().strip_suffix(':').map(str::to_string);
        }
    }
    flush(&mut label, &mut hex);
    numbers
}

/// `genPrivateKey "dsa"` through the real binary: a `DSA PRIVATE KEY` block that openssl reads
/// as the traditional DSA key layout (the SEQUENCE of version, P, Q, G, Y, X sprig's
/// `DSAKeyFormat` marshals), with Go's `L2048N256` sizes and a public key that is `g^x mod p`.
#[test]
fn dsa_private_keys_are_what_openssl_reads_back() {
    let agent = Agent::dev();
    let dir = tempfile::tempdir().unwrap();
    let tmpl = dir.path().join("dsa.ctmpl");
    std::fs::write(&tmpl, r#"{{ sprig_genPrivateKey "dsa" }}"#).unwrap();
    let out = crate::ctmpl()
        .args([
            "-consul-addr",
            &agent.addr,
            "-template",
            tmpl.to_str().unwrap(),
            "-once",
            "-dry",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = stdout.strip_prefix("> \n").expect("dry header");
    assert!(
        key.starts_with("-----BEGIN DSA PRIVATE KEY-----\n"),
        "{key}"
    );
    assert!(key.ends_with("-----END DSA PRIVATE KEY-----\n"), "{key}");
    std::fs::write(dir.path().join("dsa.key"), key).unwrap();

    let parsed = Command::new("openssl")
        .args(["asn1parse", "-in", "dsa.key"])
        .current_dir(dir.path())
        .output()
        .expect("openssl runs");
    let layout = String::from_utf8_lossy(&parsed.stdout);
    assert!(parsed.status.success(), "{layout}");
    let elements: Vec<&str> = layout
        .lines()
        .map(|l| l.split(':').nth(2).unwrap_or("").trim())
        .collect();
    assert_eq!(
        elements,
        ["SEQUENCE", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "INTEGER"],
        "{layout}"
    );
    assert!(
        layout.lines().nth(1).is_some_and(|l| l.ends_with(":00")),
        "version 0: {layout}"
    );

    let text = Command::new("openssl")
        .args(["dsa", "-in", "dsa.key", "-text", "-noout"])
        .current_dir(dir.path())
        .output()
        .expect("openssl runs");
    assert!(text.status.success(), "{text:?}");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Private-Key: (2048 bit)"), "{text}");
    let n = openssl_numbers(&text);
    let (p, q, g, x, y) = (&n["P"], &n["Q"], &n["G"], &n["priv"], &n["pub"]);
    assert_eq!(p.bits(), 2048);
    assert_eq!(q.bits(), 256);
    let one = num_bigint::BigUint::from(1u8);
    assert_eq!(
        (p - &one) % q,
        num_bigint::BigUint::from(0u8),
        "q divides p-1"
    );
    assert!(g > &one && g < p);
    assert_eq!(g.modpow(q, p), one, "g has order q");
    assert!(x > &num_bigint::BigUint::from(0u8) && x < q);
    assert_eq!(&g.modpow(x, p), y, "y = g^x mod p");
}
