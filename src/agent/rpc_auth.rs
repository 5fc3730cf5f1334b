//! The `-encrypt` key on the server port: Consul's gossip key (base64 of 16, 24 or 32 bytes)
//! as the simple way to keep strangers out of Raft, join and forwarding without TLS.
//!
//! Every request between agents carries, in its query string, a timestamp, a random nonce and
//! an HMAC-SHA256 over the path, both of those and the body (`?ts=…&nonce=…&mac=…`). The
//! server refuses a request whose MAC does not verify, whose timestamp is more than
//! `WINDOW` away from its clock, or whose nonce it has already seen within that window (a
//! replay). The query string carries it rather than a header so every transport (HTTP/1.1,
//! h2, HTTPS) passes it through unchanged. Answers are not authenticated: the point is that
//! nobody without the key can write, join or read through the server port; TLS with
//! `verify_incoming` is the option that also protects what goes back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's clock may be from ours; nonces are remembered this long.
const WINDOW_SECS: u64 = 30;
/// Nonces kept before old ones are swept out.
const SWEEP_AT: usize = 4096;

/// The shared key, and the nonces seen lately.
pub struct RpcKey {
    key: Vec<u8>,
    seen: Mutex<HashMap<[u8; 16], u64>>,
}

impl std::fmt::Debug for RpcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RpcKey(…)")
    }
}

impl RpcKey {
    /// Reads `-encrypt`'s value as Consul does: standard base64 of 16, 24 or 32 bytes.
    pub fn parse(text: &str) -> Result<RpcKey, String> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("Failed to decode encryption key: {e}"))?;
        if ![16, 24, 32].contains(&key.len()) {
            return Err(format!(
                "Invalid encryption key: {} bytes; the key must be 16, 24 or 32 bytes (`consul keygen` makes 32)",
                key.len()
            ));
        }
        Ok(RpcKey {
            key,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// `path` with the authenticator for `body` appended.
    pub fn sign(&self, path: &str, body: &[u8]) -> String {
        let mut nonce = [0u8; 16];
        // A failed getrandom leaves zeros; the server then refuses the second such request
        // as a replay rather than accepting a guessable nonce twice.
        let _ = getrandom::fill(&mut nonce);
        let ts = now();
        let mac = hex(&self.mac(path, ts, &nonce, body));
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}ts={ts}&nonce={}&mac={mac}", hex(&nonce))
    }

    /// Checks `target`'s authenticator for `body`: the path without it, or why it is refused.
    pub fn verify<'a>(&self, target: &'a str, body: &[u8]) -> Result<&'a str, String> {
        let (path, query) = target
            .rsplit_once("?ts=")
            .ok_or("request carries no authenticator (is -encrypt set on both agents?)")?;
        let mut parts = query.split('&');
        let ts: u64 = parts
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or("bad timestamp")?;
        let nonce = parts
            .next()
            .and_then(|n| n.strip_prefix("nonce="))
            .and_then(unhex::<16>)
            .ok_or("bad nonce")?;
        let mac = parts
            .next()
            .and_then(|m| m.strip_prefix("mac="))
            .and_then(unhex::<32>)
            .ok_or("bad MAC")?;
        if parts.next().is_some() {
            return Err("unexpected parameters after the MAC".into());
        }
        let mut check = self.keyed();
        feed(&mut check, path, ts, &nonce, body);
        check
            .verify_slice(&mac)
            .map_err(|_| "MAC does not match (a different -encrypt key?)")?;
        let now = now();
        if ts.abs_diff(now) > WINDOW_SECS {
            return Err(format!(
                "timestamp {ts} is more than {WINDOW_SECS}s from this server's clock ({now})"
            ));
        }
        self.remember(nonce, now)?;
        Ok(path)
    }

    fn remember(&self, nonce: [u8; 16], now: u64) -> Result<(), String> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SWEEP_AT {
            seen.retain(|_, at| now.saturating_sub(*at) <= 2 * WINDOW_SECS);
        }
        if seen.insert(nonce, now).is_some() {
            return Err("replayed request".into());
        }
        Ok(())
    }

    fn keyed(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    fn mac(&self, path: &str, ts: u64, nonce: &[u8; 16], body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed();
        feed(&mut mac, path, ts, nonce, body);
        mac.finalize().into_bytes().into()
    }
}

/// What the MAC covers, each part framed so no two requests feed the same bytes.
fn feed(mac: &mut Hmac<Sha256>, path: &str, ts: u64, nonce: &[u8; 16], body: &[u8]) {
    mac.update(b"ctmpl-rpc-v1\0");
    mac.update(&(path.len() as u64).to_be_bytes());
    mac.update(path.as_bytes());
    mac.update(&ts.to_be_bytes());
    mac.update(nonce);
    mac.update(body);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";

    #[test]
    fn signed_requests_verify_once() {
        let key = RpcKey::parse(KEY).unwrap();
        let target = key.sign("/raft/write", b"{}");
        assert_eq!(key.verify(&target, b"{}").unwrap(), "/raft/write");
        assert_eq!(key.verify(&target, b"{}").unwrap_err(), "replayed request");
    }

    #[test]
    fn tampering_and_strangers_are_refused() {
        let key = RpcKey::parse(KEY).unwrap();
        let target = key.sign("/raft/write", b"{\"a\":1}");
        assert!(key.verify(&target, b"{\"a\":2}").is_err());
        let moved = target.replacen("/raft/write", "/raft/join", 1);
        assert!(key.verify(&moved, b"{\"a\":1}").is_err());
        assert!(key.verify("/raft/write", b"{}").is_err());
        let other = RpcKey::parse("AAAAAAAAAAAAAAAAAAAAAA==").unwrap();
        let forged = other.sign("/raft/write", b"{}");
        assert!(key.verify(&forged, b"{}").unwrap_err().contains("MAC"));
    }

    #[test]
    fn keys_are_checked_as_consul_does() {
        assert!(RpcKey::parse("not base64!").is_err());
        assert!(RpcKey::parse("AAAA").unwrap_err().contains("3 bytes"));
        assert!(RpcKey::parse(KEY).is_ok());
    }
}
