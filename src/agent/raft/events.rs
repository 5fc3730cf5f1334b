//! What happened to the cluster, said once, in Consul's words: a new leader, leadership gained
//! or lost, voters added or removed, members joining, failing and coming back.
//!
//! openraft's own log lines are per RPC (a peer that is down costs four every heartbeat, for
//! ever), so the agent's subscriber hides them; this watcher says the same things once, from
//! what it observes: openraft's metrics channel (leader, state, membership) and discovery's
//! record of when each member was last heard from (`Cluster::heard`). A member silent for
//! longer than an election timeout has failed: one WARN, a reminder at most every
//! `REMIND_EVERY`, and one INFO when it answers again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cluster::Cluster;
use super::{NodeId, PeerInfo};

/// A member not heard from for this long has failed: longer than a follower waits before it
/// stands (1.5–2 s with the default timing), with discovery rounds (500 ms) of slack so a busy
/// machine does not make members flap.
const FAILED_AFTER: Duration = Duration::from_millis(3000);
/// While a member stays failed, a reminder at most this often.
const REMIND_EVERY: Duration = Duration::from_secs(30);
/// How often members' liveness is looked at (metrics changes are seen at once).
const TICK: Duration = Duration::from_millis(250);

/// A member's health as last logged.
enum Health {
    Alive,
    /// Failed since, and the last time that was said.
    Failed {
        since: Instant,
        said: Instant,
    },
}

/// What has been logged so far: the next observation is compared with it.
struct Seen {
    leader: Option<NodeId>,
    state: openraft::ServerState,
    voters: BTreeSet<NodeId>,
    members: BTreeMap<NodeId, Health>,
}

/// Watches the cluster until `stop`, logging each change once.
pub async fn watch(cluster: Arc<Cluster>, stop: CancellationToken) {
    let mut metrics = cluster.raft.metrics();
    // One borrow, dropped at once: a second `borrow()` while the first guard lives (as in one
    // struct literal) takes the read lock twice, and deadlocks once openraft waits to write.
    let first = metrics.borrow().clone();
    let mut seen = Seen {
        leader: None,
        state: first.state,
        // The membership a restarted server recovers is not news.
        voters: first.membership_config.membership().voter_ids().collect(),
        members: BTreeMap::new(),
    };
    loop {
        observe_raft(&cluster, &mut seen);
        observe_members(&cluster, &mut seen, Instant::now());
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// A member's name for the log: its node name when discovery told us, else its address.
fn name_of(cluster: &Cluster, id: NodeId) -> String {
    if id == cluster.me.id {
        return cluster.me.name.clone();
    }
    let known = cluster.known();
    if let Some((p, _)) = known.iter().find(|(p, _)| p.id == id && !p.name.is_empty()) {
        return p.name.clone();
    }
    let m = cluster.raft.metrics().borrow().membership_config.clone();
    m.membership()
        .get_node(&id)
        .map(|n| n.addr.clone())
        .unwrap_or_else(|| format!("{id:016x}"))
}

/// This server's Raft state, the voters and the leader, against what was said last.
fn observe_raft(cluster: &Cluster, seen: &mut Seen) {
    let m = cluster.raft.metrics().borrow().clone();
    if m.state != seen.state {
        tracing::debug!(
            "agent.server.raft: entering {:?} state: term={}",
            m.state,
            m.current_term
        );
        seen.state = m.state;
    }
    observe_voters(&m, seen);
    observe_leader(cluster, seen, m.current_term);
}

/// Voters added to or removed from the Raft configuration.
fn observe_voters(m: &openraft::RaftMetrics<NodeId, openraft::BasicNode>, seen: &mut Seen) {
    let voters: BTreeSet<NodeId> = m.membership_config.membership().voter_ids().collect();
    for id in voters.difference(&seen.voters) {
        let addr = m
            .membership_config
            .membership()
            .get_node(id)
            .map(|n| n.addr.clone())
            .unwrap_or_default();
        tracing::info!(
            "agent.server.raft: updating configuration: command=AddVoter server-id={id:016x} server-addr={addr} servers={}",
            voters.len()
        );
    }
    for id in seen.voters.difference(&voters) {
        tracing::info!(
            "agent.server.raft: updating configuration: command=RemoveServer server-id={id:016x} servers={}",
            voters.len()
        );
    }
    seen.voters = voters;
}

/// A new leader (on every server, by name), and this server gaining or losing leadership.
fn observe_leader(cluster: &Cluster, seen: &mut Seen, term: u64) {
    let leader = cluster.leader().map(|(id, _)| id);
    if leader != seen.leader {
        let me = cluster.me.id;
        if seen.leader == Some(me) {
            tracing::info!("agent.server: cluster leadership lost");
        }
        match leader {
            Some(id) => {
                if id == me {
                    tracing::info!("agent.server: cluster leadership acquired");
                }
                tracing::info!(
                    "agent.server: New leader elected: payload={}",
                    name_of(cluster, id)
                );
            }
            None => tracing::warn!("agent.server: No cluster leader: term={term}"),
        }
        seen.leader = leader;
    }
}

/// Members joining, failing (silent past `FAILED_AFTER`) and coming back.
fn observe_members(cluster: &Cluster, seen: &mut Seen, now: Instant) {
    for (peer, heard) in cluster.heard() {
        let silent = heard.is_none_or(|t| now.saturating_duration_since(t) > FAILED_AFTER);
        match seen.members.get_mut(&peer.id) {
            None if !silent => {
                joined(&peer);
                seen.members.insert(peer.id, Health::Alive);
            }
            // Known only second-hand and never heard from: not news yet.
            None => {}
            Some(health @ Health::Alive) if silent => {
                let since = heard.unwrap_or(now);
                tracing::warn!(
                    "agent.server: member failed, marking health critical: member={} addr={}",
                    peer.name,
                    peer.addr
                );
                *health = Health::Failed { since, said: now };
            }
            Some(Health::Failed { since, said })
                if silent && now.saturating_duration_since(*said) >= REMIND_EVERY =>
            {
                tracing::warn!(
                    "agent.server: member still unreachable: member={} addr={} for={}s",
                    peer.name,
                    peer.addr,
                    now.saturating_duration_since(*since).as_secs()
                );
                *said = now;
            }
            Some(Health::Failed { .. }) if silent => {}
            Some(Health::Failed { since, .. }) => {
                let down = now.saturating_duration_since(*since).as_secs();
                tracing::info!(
                    "agent.server: member back, marking health alive: member={} addr={} after={down}s",
                    peer.name,
                    peer.addr
                );
                seen.members.insert(peer.id, Health::Alive);
            }
            Some(Health::Alive) => {}
        }
    }
}

fn joined(peer: &PeerInfo) {
    let role = if peer.server { "server" } else { "client" };
    tracing::info!(
        "agent.server: member joined, marking health alive: member={} addr={} role={role}",
        peer.name,
        peer.addr
    );
}
