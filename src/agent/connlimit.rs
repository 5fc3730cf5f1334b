//! Consul's `limits.http_max_conns_per_client` (default 200): how many connections one client
//! address may hold open on the HTTP port at a time. The one over the limit gets the answer
//! Consul's limiter (hashicorp/go-connlimit's `HTTPConnStateFuncWithDefault429Handler`) writes
//! straight onto the new connection, before any request is read: a 429 with its fixed text,
//! then the connection is closed. Closing a connection frees its slot at once.
//!
//! Counting is a mutex over a small map keyed by IP: taken once per accept and once per close,
//! never while a request runs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Consul's default `limits.http_max_conns_per_client`.
pub const DEFAULT_MAX_CONNS_PER_CLIENT: usize = 200;

/// go-connlimit's answer, byte for byte.
pub const TOO_MANY_CONNS: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
Content-Type: text/plain\r\n\
Content-Length: 81\r\n\
Connection: close\r\n\r\n\
Your IP is issuing too many concurrent connections, please rate limit your calls\n";

/// How long the refusal may take to write (go-connlimit's deadline in Consul: 10 ms).
const REFUSAL_WRITE: Duration = Duration::from_millis(10);
/// How long a refused client's request bytes are read and dropped before the close, so that
/// the close is a FIN the client reads the 429 before, not a reset that loses it.
const REFUSAL_LINGER: Duration = Duration::from_millis(200);

/// Open connections per client address.
#[derive(Clone)]
pub struct ConnLimiter {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One accepted connection's place in the count, given back when dropped.
pub struct Slot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnLimiter {
    /// `max` 0: no limit (as in Consul).
    pub fn new(max: usize) -> ConnLimiter {
        ConnLimiter {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip`, or `None` when `ip` already holds `max`.
    pub fn accept(&self, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if self.max > 0 && *count >= self.max {
            if *count == 0 {
                open.remove(&ip);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            ip,
            open: self.open.clone(),
        })
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Answers a connection over the limit with Consul's 429 and closes it.
pub async fn refuse(mut stream: TcpStream) {
    let written = tokio::time::timeout(REFUSAL_WRITE, stream.write_all(TOO_MANY_CONNS)).await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_go_connlimits_bytes() {
        let text = std::str::from_utf8(TOO_MANY_CONNS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(
            body,
            "Your IP is issuing too many concurrent connections, please rate limit your calls\n"
        );
    }

    #[test]
    fn counts_per_address_and_frees_on_drop() {
        let limiter = ConnLimiter::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = limiter.accept(a).unwrap();
        let _second = limiter.accept(a).unwrap();
        assert!(limiter.accept(a).is_none(), "the third from one address");
        let _other = limiter
            .accept(b)
            .expect("another address has its own count");
        drop(first);
        assert_eq!(limiter.open_from(a), 1);
        assert!(
            limiter.accept(a).is_some(),
            "a closed connection frees its slot"
        );
        let unlimited = ConnLimiter::new(0);
        let held: Vec<Slot> = (0..500).filter_map(|_| unlimited.accept(a)).collect();
        assert_eq!(held.len(), 500);
    }
}
