//! A client agent's writes to the servers. A client has no view of the leader, so it cannot
//! tell a server that is slow (waiting for an election) from one that will never answer
//! (paused, cut off): waiting out the RPC timeout would hold every write for 10 s, as the
//! server-to-leader path did before it learnt to re-send. So a client sends a write to the
//! server that answered it last and, when no answer has come within `HEDGE_AFTER`, sends the
//! same write, with the same request id, to the next server as well, keeping the first in
//! flight. Whichever answers first is the answer; the state machine applies an id once
//! (`requests`), so the copies cost work, never a second application. The next write goes
//! first to the server that answered, so one slow write is paid for once, not every time.
//!
//! Two kinds of write go this way: the agent's own (registrations, on the server port's
//! `/raft/write`, `forward_write`) and the HTTP writes a client passes on to a server's API
//! (KV, catalog), which carry their id in the query (`requests::QUERY_PARAM`).

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::cluster::{Forwarded, Written, NO_LEADER, NO_SERVERS};
use super::peers::Peers;
use super::transport::post;

/// How long a client waits for one server before sending the write to another too. A healthy
/// cluster answers in milliseconds; an election takes 2–3 s, during which a second copy waits
/// at another server as the first does, harmlessly.
pub const HEDGE_AFTER: Duration = Duration::from_millis(1500);
/// After a server refused or could not be reached, the pause before the next send (so a
/// cluster with no leader is not asked in a tight loop).
const AFTER_REFUSAL: Duration = Duration::from_millis(100);
/// Each copy's own bound; the caller's deadline usually ends the wait first.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// The server a client agent goes to first: the last one that answered.
#[derive(Default)]
pub struct Preferred(Mutex<Option<String>>);

impl Preferred {
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, addr: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(addr.to_string());
    }

    /// The next server to send to: the preferred one first, then the others in order,
    /// skipping those a copy is already waiting on. `sent` rotates the order, so retries after
    /// refusals go round the servers rather than back to the same one.
    fn next(&self, servers: &[String], busy: &HashSet<String>, sent: usize) -> Option<String> {
        let start = self
            .get()
            .and_then(|p| servers.iter().position(|s| *s == p))
            .unwrap_or(0);
        let n = servers.len();
        (0..n)
            .map(|i| &servers[(start + sent + i) % n])
            .find(|addr| !busy.contains(*addr))
            .cloned()
    }
}

/// What one copy's answer means.
pub enum Verdict<T> {
    /// The answer (a refusal of the write itself included).
    Answer(T),
    /// This server cannot do it now (unreachable, no leader): ask another; the text says why.
    TryAnother(String),
}

/// Sends one write to the servers `servers()` lists (addresses `send` takes) until one
/// answers or `deadline` passes, one more copy every `HEDGE_AFTER` while none has. Every copy
/// must carry the same request id, which is what makes them harmless. Gives the last reason a
/// server gave for not doing it (or `No known Consul servers`) at the deadline.
pub async fn first_answer<T, S, F>(
    preferred: &Preferred,
    servers: impl Fn() -> Vec<String>,
    send: S,
    deadline: Instant,
) -> Result<T, String>
where
    T: Send + 'static,
    S: Fn(String) -> F,
    F: Future<Output = Verdict<T>> + Send + 'static,
{
    let mut inflight: JoinSet<(String, Verdict<T>)> = JoinSet::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut sent = 0;
    let mut next_send = Instant::now();
    let mut last_reason = NO_SERVERS.to_string();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(last_reason);
        }
        if now >= next_send {
            if let Some(addr) = preferred.next(&servers(), &busy, sent) {
                let copy = send(addr.clone());
                let to = addr.clone();
                inflight.spawn(async move { (to, copy.await) });
                busy.insert(addr);
                sent += 1;
            }
            next_send = now + HEDGE_AFTER;
        }
        tokio::select! {
            Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                let Ok((addr, verdict)) = done else { continue };
                busy.remove(&addr);
                match verdict {
                    Verdict::Answer(answer) => {
                        preferred.set(&addr);
                        return Ok(answer);
                    }
                    Verdict::TryAnother(why) => {
                        tracing::debug!("a write sent to {addr}: {why}");
                        last_reason = why;
                        next_send = next_send.min(Instant::now() + AFTER_REFUSAL);
                    }
                }
            }
            () = tokio::time::sleep_until(next_send.min(deadline)) => {}
        }
    }
}

/// An agent write (`/raft/write` on a server's port), sent as `first_answer` does. "No
/// cluster leader" from every server ends as that; other refusals are the answer.
pub async fn forward_write(
    peers: &Arc<Peers>,
    preferred: &Preferred,
    servers: impl Fn() -> Vec<String>,
    write: Forwarded,
    deadline: Instant,
) -> Result<Written, String> {
    let write = Arc::new(write);
    let send = |addr: String| {
        let (peers, write) = (peers.clone(), write.clone());
        async move {
            let out = post::<_, Result<Written, String>>(
                &peers,
                &addr,
                "/raft/write",
                &*write,
                RPC_TIMEOUT,
            )
            .await;
            match out {
                Ok(Err(e)) if e == NO_LEADER || e == NO_SERVERS => Verdict::TryAnother(e),
                Ok(answer) => Verdict::Answer(answer),
                Err(e) => Verdict::TryAnother(e.message),
            }
        }
    };
    match first_answer(preferred, servers, send, deadline).await {
        Ok(answer) => answer,
        Err(why) if why == NO_LEADER => Err(NO_LEADER.into()),
        Err(_) => Err(NO_SERVERS.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_server_that_answered_last_goes_first_and_busy_ones_are_skipped() {
        let servers = addrs(&["a", "b", "c"]);
        let p = Preferred::default();
        let none = HashSet::new();
        assert_eq!(p.next(&servers, &none, 0).as_deref(), Some("a"));
        p.set("b");
        assert_eq!(p.next(&servers, &none, 0).as_deref(), Some("b"));
        let busy: HashSet<String> = ["b".to_string()].into();
        assert_eq!(p.next(&servers, &busy, 0).as_deref(), Some("c"));
        assert_eq!(p.next(&servers, &busy, 1).as_deref(), Some("c"));
        assert_eq!(p.next(&servers, &busy, 2).as_deref(), Some("a"));
        let all: HashSet<String> = ["a", "b", "c"].map(String::from).into();
        assert_eq!(p.next(&servers, &all, 0), None);
        assert_eq!(p.next(&[], &none, 0), None);
        // A preferred server that is no longer known: the list's own order.
        p.set("gone");
        assert_eq!(p.next(&servers, &none, 0).as_deref(), Some("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_gets_company_and_the_first_answer_wins() {
        // "a" never answers; "b" answers at once; "c" would refuse.
        let send = |addr: String| async move {
            match addr.as_str() {
                "a" => std::future::pending().await,
                "b" => Verdict::Answer(addr),
                _ => Verdict::TryAnother("no leader".into()),
            }
        };
        let p = Preferred::default();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(7);
        let servers = || addrs(&["a", "b", "c"]);
        let got = first_answer(&p, servers, send, deadline).await;
        assert_eq!(got.as_deref(), Ok("b"));
        assert_eq!(
            started.elapsed(),
            HEDGE_AFTER,
            "b was asked after a was silent"
        );
        // The next write goes to b first: no wait.
        let started = Instant::now();
        assert_eq!(
            first_answer(&p, servers, send, deadline + HEDGE_AFTER)
                .await
                .as_deref(),
            Ok("b")
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        // Nobody able: the last reason, at the deadline.
        let refuse = |_: String| async { Verdict::<()>::TryAnother("No cluster leader".into()) };
        let p = Preferred::default();
        let started = Instant::now();
        let got = first_answer(&p, servers, refuse, started + Duration::from_secs(2)).await;
        assert_eq!(got, Err("No cluster leader".into()));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
