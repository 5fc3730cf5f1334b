//! A Jepsen-style run on loopback, bounded to about a minute: three `ctmpl agent -server`
//! processes with data dirs, six clients doing CAS increments on shared counters and writes of
//! unique keys through all three servers, while servers are paused (SIGSTOP), killed
//! (SIGKILL) and restarted from their data dirs, one at a time and two at once.
//!
//! What it checks, once every server is back: no acknowledged write is lost, no write is
//! applied twice (a unique key written once has CreateIndex == ModifyIndex; a counter never
//! ends above the increments acknowledged plus those left without an answer), no CAS
//! increment is acknowledged twice for one value, and the three stores are identical. It
//! prints the longest time without any acknowledged write around each fault, and holds the
//! single faults to a generous bound (the target is about 3 s; before re-sending
//! forwarded writes it was 7.7–8.8 s under a paused leader). It found a real bug once: Raft
//! RPCs abandoned by openraft's timeout left their answer on a kept-alive connection, for the
//! next call to take as its own, and a leader counted entries as replicated that were not
//! (`transport::Conn`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::support::{eventually, free_port, request_within, Agent};

const CLIENTS: usize = 6;
const COUNTERS: usize = 2;
/// How long a client waits for an answer before it counts the write as unknown and moves on
/// to another server (one paused accepts and never answers). Longer than the bound below, so
/// that a cluster that only recovers when clients give up fails the bound.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(8);
/// The longest write gap allowed around a single fault. The target is about 3 s (1.7–2.1 s
/// measured, up to 4.2 s with builds running beside); the bound leaves room for a loaded CI
/// machine and still fails the old behaviour: before forwarded writes were re-sent, a paused
/// leader left 7.7–8.8 s without an acknowledged write. The figures are printed either way.
const SINGLE_FAULT_BOUND: Duration = Duration::from_millis(6000);

/// The three servers: fixed server ports and data dirs, so a killed one comes back as itself.
struct Servers {
    dir: PathBuf,
    ports: [u16; 3],
    agents: Vec<Option<Agent>>,
    paused: [bool; 3],
    /// Each server's HTTP address as the clients see it (it changes on a restart).
    http: Arc<RwLock<Vec<String>>>,
}

impl Servers {
    fn start(dir: &Path) -> Servers {
        let ports = [free_port(), free_port(), free_port()];
        let mut s = Servers {
            dir: dir.to_path_buf(),
            ports,
            agents: vec![None, None, None],
            paused: [false; 3],
            http: Arc::new(RwLock::new(vec![String::new(); 3])),
        };
        for i in 0..3 {
            s.boot(i);
        }
        s
    }

    fn boot(&mut self, i: usize) {
        let data = self.dir.join(format!("s{i}"));
        let port = self.ports[i].to_string();
        let name = format!("s{i}");
        let joins: Vec<String> = (0..3)
            .filter(|j| *j != i)
            .map(|j| format!("127.0.0.1:{}", self.ports[j]))
            .collect();
        let mut args = vec![
            "-server",
            "-bootstrap-expect=3",
            "-bind",
            "127.0.0.1",
            "-data-dir",
            data.to_str().unwrap(),
            "-http-port",
            "0",
            "-server-port",
            port.as_str(),
            "-node",
            name.as_str(),
        ];
        for j in &joins {
            args.push("-retry-join");
            args.push(j);
        }
        let agent = Agent::start(&args);
        self.http.write().unwrap()[i] = agent.addr.clone();
        self.agents[i] = Some(agent);
        self.paused[i] = false;
    }

    fn kill(&mut self, i: usize) {
        if let Some(a) = self.agents[i].take() {
            a.kill();
        }
    }

    fn pause(&mut self, i: usize) {
        if let Some(a) = &self.agents[i] {
            a.signal("STOP");
            self.paused[i] = true;
        }
    }

    fn resume(&mut self, i: usize) {
        if let Some(a) = &self.agents[i] {
            a.signal("CONT");
            self.paused[i] = false;
        }
    }

    /// The index of the server every running, unpaused server names as leader.
    fn leader(&self) -> usize {
        eventually(30, "one leader", || {
            let mut seen = BTreeSet::new();
            for (i, a) in self.agents.iter().enumerate() {
                let Some(a) = a.as_ref().filter(|_| !self.paused[i]) else {
                    continue;
                };
                let r = request_within(&a.addr, "GET", "/v1/status/leader", b"", CLIENT_TIMEOUT)?;
                let l: String = serde_json::from_slice(&r.body).ok()?;
                seen.insert(l);
            }
            let l = seen.into_iter().next().filter(|l| !l.is_empty())?;
            let port: u16 = l.rsplit(':').next()?.parse().ok()?;
            self.ports.iter().position(|p| *p == port)
        })
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // A stopped process takes its SIGTERM only once continued.
        for i in 0..3 {
            self.resume(i);
        }
    }
}

/// What the clients saw.
#[derive(Default)]
struct History {
    /// When each acknowledged write was answered, since the start.
    acks: Vec<Duration>,
    /// Unique keys acknowledged.
    unique_acked: BTreeSet<String>,
    /// Unique keys whose write got no definite answer.
    unique_unknown: usize,
    /// Per counter: the values CAS increments were acknowledged as writing.
    cas_acked: BTreeMap<String, Vec<u64>>,
    /// Per counter: increments sent that got no definite answer (they may have applied).
    cas_unknown: BTreeMap<String, u64>,
}

/// One client: unique writes and CAS increments in turn, through one server until it fails
/// to answer, then the next.
fn client(
    c: usize,
    http: Arc<RwLock<Vec<String>>>,
    history: Arc<Mutex<History>>,
    started: Instant,
    stop: Arc<AtomicBool>,
) {
    let mut server = c % 3;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let addr = http.read().unwrap()[server].clone();
        let ok = if seq.is_multiple_of(2) {
            unique_write(&addr, c, seq, &history, started)
        } else {
            cas_increment(&addr, (c + seq as usize) % COUNTERS, &history, started)
        };
        if !ok {
            server = (server + 1) % 3;
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Writes a key no one else writes; true when the server answered at all.
fn unique_write(
    addr: &str,
    c: usize,
    seq: u64,
    history: &Mutex<History>,
    started: Instant,
) -> bool {
    let key = format!("chaos/u/{c}-{seq}");
    let r = request_within(
        addr,
        "PUT",
        &format!("/v1/kv/{key}"),
        key.as_bytes(),
        CLIENT_TIMEOUT,
    );
    let mut h = history.lock().unwrap();
    match r {
        Some(r) if r.status == 200 && r.text() == "true" => {
            h.acks.push(started.elapsed());
            h.unique_acked.insert(key);
            true
        }
        // A 500 ("No cluster leader") may still be applied later, as in Consul.
        _ => {
            h.unique_unknown += 1;
            false
        }
    }
}

/// Reads a counter and writes it plus one with `?cas=`; true when the server answered.
fn cas_increment(addr: &str, n: usize, history: &Mutex<History>, started: Instant) -> bool {
    let counter = format!("chaos/c/{n}");
    let Some(r) = request_within(
        addr,
        "GET",
        &format!("/v1/kv/{counter}?raw"),
        b"",
        CLIENT_TIMEOUT,
    ) else {
        return false;
    };
    let (value, index) = match r.status {
        200 => (r.text().parse::<u64>().expect("a counter"), r.index()),
        404 => (0, 0),
        _ => return false,
    };
    let next = value + 1;
    let path = format!("/v1/kv/{counter}?cas={index}");
    let r = request_within(
        addr,
        "PUT",
        &path,
        next.to_string().as_bytes(),
        CLIENT_TIMEOUT,
    );
    let mut h = history.lock().unwrap();
    match r {
        Some(r) if r.status == 200 && r.text() == "true" => {
            h.acks.push(started.elapsed());
            h.cas_acked.entry(counter).or_default().push(next);
            true
        }
        // Someone else got there first: not applied.
        Some(r) if r.status == 200 && r.text() == "false" => true,
        _ => {
            *h.cas_unknown.entry(counter).or_default() += 1;
            false
        }
    }
}

/// One fault and the time it covered, for the gap report.
struct Window {
    what: &'static str,
    from: Duration,
    to: Duration,
    bounded: bool,
}

/// The longest time in `[from, to]` without an acknowledged write.
fn longest_gap(acks: &[Duration], from: Duration, to: Duration) -> Duration {
    let mut last = from;
    let mut longest = Duration::ZERO;
    for t in acks.iter().filter(|t| **t > from && **t <= to) {
        longest = longest.max(*t - last);
        last = *t;
    }
    longest.max(to.saturating_sub(last))
}

/// Every server's view of `chaos/` (stale reads, so each answers from its own store).
fn stores(servers: &Servers) -> Vec<Option<Json>> {
    servers
        .agents
        .iter()
        .flatten()
        .map(|a| {
            let path = "/v1/kv/chaos/?recurse&stale";
            let r = request_within(&a.addr, "GET", path, b"", CLIENT_TIMEOUT)?;
            serde_json::from_slice(&r.body).ok()
        })
        .collect()
}

/// The store every server holds, once they all hold the same; what differs if they never do.
fn converged(servers: &Servers, within: Duration) -> Result<Json, String> {
    let deadline = Instant::now() + within;
    loop {
        let all = stores(servers);
        if all.len() == 3 && all.iter().all(|s| s.is_some() && *s == all[0]) {
            return Ok(all[0].clone().unwrap());
        }
        if Instant::now() >= deadline {
            return Err(differences(&all));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first keys on which the servers' stores differ.
fn differences(all: &[Option<Json>]) -> String {
    let maps: Vec<BTreeMap<String, Json>> = all
        .iter()
        .map(|s| {
            s.iter()
                .flat_map(|s| s.as_array().cloned().unwrap_or_default())
                .map(|e| (e["Key"].as_str().unwrap_or_default().to_string(), e))
                .collect()
        })
        .collect();
    let keys: BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    let mut out = format!(
        "sizes {:?}; ",
        maps.iter().map(BTreeMap::len).collect::<Vec<_>>()
    );
    for k in keys
        .into_iter()
        .filter(|k| maps.iter().any(|m| m.get(*k) != maps[0].get(*k)))
        .take(5)
    {
        let views: Vec<String> = maps
            .iter()
            .map(|m| {
                m.get(k).map_or("-".into(), |e| {
                    format!("{}/{}", e["CreateIndex"], e["ModifyIndex"])
                })
            })
            .collect();
        out.push_str(&format!("{k}: {views:?}; "));
    }
    out
}

#[test]
fn chaos_loses_no_acknowledged_write_applies_none_twice_and_fails_over_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut servers = Servers::start(dir.path());
    servers.leader();
    let started = Instant::now();
    let history = Arc::new(Mutex::new(History::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, history, stop) = (servers.http.clone(), history.clone(), stop.clone());
            std::thread::spawn(move || client(c, http, history, started, stop))
        })
        .collect();
    let sleep = |secs: f64| std::thread::sleep(Duration::from_secs_f64(secs));
    let mut windows = Vec::new();
    let mut fault = |servers: &mut Servers,
                     what: &'static str,
                     bounded: bool,
                     act: &mut dyn FnMut(&mut Servers)| {
        let from = started.elapsed();
        act(servers);
        windows.push(Window {
            what,
            from,
            to: started.elapsed(),
            bounded,
        });
    };
    sleep(2.0);

    fault(&mut servers, "leader paused 5 s", true, &mut |s| {
        let l = s.leader();
        s.pause(l);
        sleep(5.0);
        s.resume(l);
        sleep(2.0);
    });
    fault(
        &mut servers,
        "leader killed, back after 4 s",
        true,
        &mut |s| {
            let l = s.leader();
            s.kill(l);
            sleep(4.0);
            s.boot(l);
            sleep(2.0);
        },
    );
    fault(&mut servers, "follower paused 4 s", true, &mut |s| {
        let f = (s.leader() + 1) % 3;
        s.pause(f);
        sleep(4.0);
        s.resume(f);
        sleep(2.0);
    });
    fault(
        &mut servers,
        "follower killed, back after 3 s",
        true,
        &mut |s| {
            let f = (s.leader() + 2) % 3;
            s.kill(f);
            sleep(3.0);
            s.boot(f);
            sleep(2.0);
        },
    );
    fault(
        &mut servers,
        "double fault: leader killed and a follower paused for 4 s",
        false,
        &mut |s| {
            let l = s.leader();
            let f = (l + 1) % 3;
            s.kill(l);
            s.pause(f);
            sleep(4.0);
            s.resume(f);
            s.boot(l);
            sleep(4.0);
        },
    );
    fault(&mut servers, "leader paused 4 s, again", true, &mut |s| {
        let l = s.leader();
        s.pause(l);
        sleep(4.0);
        s.resume(l);
        sleep(2.0);
    });
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let elapsed = started.elapsed();

    // Every server back and caught up: the stores are the same everywhere.
    servers.leader();
    let store = converged(&servers, Duration::from_secs(30)).unwrap_or_else(|d| {
        for a in servers.agents.iter().flatten() {
            let log = a.log_text();
            // The log's own lines (a panic's or an error's backtrace is indented).
            let said: Vec<&str> = log.lines().filter(|l| !l.starts_with(' ')).collect();
            let tail = &said[said.len().saturating_sub(30)..];
            eprintln!("--- {} ---\n{}", a.addr, tail.join("\n"));
        }
        panic!("the stores did not converge: {d}")
    });
    let mut h = history.lock().unwrap();
    h.acks.sort();
    let entries: BTreeMap<String, &Json> = store
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["Key"].as_str().unwrap().to_string(), e))
        .collect();
    let value = |e: &Json| -> String {
        use base64::Engine;
        let raw = e["Value"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };

    let lost: Vec<&String> = h
        .unique_acked
        .iter()
        .filter(|k| entries.get(*k).map(|e| value(e)).as_deref() != Some(k.as_str()))
        .collect();
    let twice: Vec<&String> = entries
        .iter()
        .filter(|(k, e)| k.starts_with("chaos/u/") && e["CreateIndex"] != e["ModifyIndex"])
        .map(|(k, _)| k)
        .collect();
    let mut counter_problems = Vec::new();
    let mut increments = 0;
    for n in 0..COUNTERS {
        let key = format!("chaos/c/{n}");
        let acked = h.cas_acked.get(&key).cloned().unwrap_or_default();
        let unknown = h.cas_unknown.get(&key).copied().unwrap_or(0);
        let fin: u64 = entries.get(&key).map_or(0, |e| value(e).parse().unwrap());
        let distinct: BTreeSet<u64> = acked.iter().copied().collect();
        increments += acked.len();
        if distinct.len() != acked.len() {
            counter_problems.push(format!("{key}: one value acknowledged twice"));
        }
        if fin < acked.len() as u64 || distinct.last().is_some_and(|m| *m > fin) {
            counter_problems.push(format!("{key}: ends at {fin}, below what was acknowledged"));
        }
        if fin > acked.len() as u64 + unknown {
            counter_problems.push(format!(
                "{key}: ends at {fin}, above {} acknowledged + {unknown} unanswered",
                acked.len()
            ));
        }
    }

    eprintln!(
        "chaos: {:.1} s, {} acknowledged writes ({} unique keys, {increments} CAS increments), {} unique and {} CAS writes unanswered",
        elapsed.as_secs_f64(),
        h.acks.len(),
        h.unique_acked.len(),
        h.unique_unknown,
        h.cas_unknown.values().sum::<u64>(),
    );
    let mut too_long = Vec::new();
    for w in &windows {
        let gap = longest_gap(&h.acks, w.from, w.to);
        eprintln!(
            "chaos: {}: longest write gap {:.2} s",
            w.what,
            gap.as_secs_f64()
        );
        if w.bounded && gap > SINGLE_FAULT_BOUND {
            too_long.push(format!("{}: {:.2} s", w.what, gap.as_secs_f64()));
        }
    }
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(twice.is_empty(), "keys written twice: {twice:?}");
    assert!(counter_problems.is_empty(), "{counter_problems:?}");
    assert!(
        h.unique_acked.len() > 100 && increments > 50,
        "too few writes to judge: {} unique, {increments} CAS",
        h.unique_acked.len()
    );
    assert!(too_long.is_empty(), "failover too slow: {too_long:?}");
}
