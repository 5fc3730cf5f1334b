//! What happened to the cluster, said once, in Consul's words: a new leader, leadership gained
//! or lost, voters added or removed, members joining, failing and coming back.
//!
//! openraft's own log lines are per RPC (a peer that is down costs four every heartbeat, for
//! ever), so the agent's subscriber hides them; this watcher says the same things once, from
//! what it observes: openraft's metrics channel (leader, state, membership) and discovery's
//! record of when each member was last heard from (`Cluster::heard`). A member silent for
//! longer than an election timeout has failed: one WARN, a reminder at most every
//! `REMIND_EVERY`, and one INFO when it answers again. A member that said it was leaving
//! (`/v1/agent/leave`) has left: one INFO, and no failure.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cluster::{Cluster, Heard};
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
    /// Left gracefully; news again only when it comes back.
    Left,
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

/// Members joining, failing (silent past `FAILED_AFTER`), leaving and coming back.
fn observe_members(cluster: &Cluster, seen: &mut Seen, now: Instant) {
    for heard in cluster.heard() {
        if let Some(event) = member_event(&heard, &mut seen.members, now) {
            event.log(&heard.peer);
        }
    }
}

/// What happened to a member, as the log says it.
#[derive(Debug, PartialEq)]
enum MemberEvent {
    Joined,
    Failed,
    /// Still failed, this many seconds after it went silent.
    StillDown(u64),
    /// Answering again after this many seconds.
    Back(u64),
    Left,
}

impl MemberEvent {
    fn log(&self, peer: &PeerInfo) {
        let (name, addr) = (&peer.name, &peer.addr);
        match self {
            MemberEvent::Joined => {
                let role = if peer.server { "server" } else { "client" };
                tracing::info!(
                    "agent.server: member joined, marking health alive: member={name} addr={addr} role={role}"
                );
            }
            MemberEvent::Failed => tracing::warn!(
                "agent.server: member failed, marking health critical: member={name} addr={addr}"
            ),
            MemberEvent::StillDown(secs) => tracing::warn!(
                "agent.server: member still unreachable: member={name} addr={addr} for={secs}s"
            ),
            MemberEvent::Back(secs) => tracing::info!(
                "agent.server: member back, marking health alive: member={name} addr={addr} after={secs}s"
            ),
            MemberEvent::Left => {
                tracing::info!("agent.server: member left: member={name} addr={addr}")
            }
        }
    }
}

/// What changed for one member since `members` last recorded it, recording the change.
fn member_event(
    heard: &Heard,
    members: &mut BTreeMap<NodeId, Health>,
    now: Instant,
) -> Option<MemberEvent> {
    let id = heard.peer.id;
    let silent = heard
        .last_seen
        .is_none_or(|t| now.saturating_duration_since(t) > FAILED_AFTER);
    let (next, event) = match members.get(&id) {
        Some(Health::Left) | None if heard.left => return None,
        Some(_) if heard.left => (Health::Left, MemberEvent::Left),
        // Known only second-hand and never heard from, or gone: not news yet.
        Some(Health::Left) | None if silent => return None,
        Some(Health::Left) | None => (Health::Alive, MemberEvent::Joined),
        Some(Health::Alive) if silent => {
            let since = heard.last_seen.unwrap_or(now);
            (Health::Failed { since, said: now }, MemberEvent::Failed)
        }
        Some(Health::Alive) => return None,
        Some(Health::Failed { since, said }) if silent => {
            if now.saturating_duration_since(*said) < REMIND_EVERY {
                return None;
            }
            let down = now.saturating_duration_since(*since).as_secs();
            let since = *since;
            (
                Health::Failed { since, said: now },
                MemberEvent::StillDown(down),
            )
        }
        Some(Health::Failed { since, .. }) => {
            let down = now.saturating_duration_since(*since).as_secs();
            (Health::Alive, MemberEvent::Back(down))
        }
    };
    members.insert(id, next);
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(last_seen: Option<Instant>, left: bool) -> Heard {
        Heard {
            peer: PeerInfo {
                id: 7,
                addr: "127.0.0.1:8300".into(),
                name: "s2".into(),
                datacenter: "dc1".into(),
                server: true,
                http: String::new(),
                expect: 0,
                initialized: true,
            },
            last_seen,
            left,
        }
    }

    /// The events a member's history gives, observed every `TICK` from `start` for `secs`;
    /// `last_seen(t)` is when it was last heard from at time `t`.
    fn events_over(
        members: &mut BTreeMap<NodeId, Health>,
        start: Instant,
        secs: u64,
        last_seen: impl Fn(Instant) -> Option<Instant>,
        left: bool,
    ) -> Vec<(u64, MemberEvent)> {
        let mut out = Vec::new();
        let mut t = start;
        while t <= start + Duration::from_secs(secs) {
            if let Some(e) = member_event(&heard(last_seen(t), left), members, t) {
                out.push((t.duration_since(start).as_millis() as u64, e));
            }
            t += TICK;
        }
        out
    }

    #[test]
    fn a_member_down_is_one_warning_then_a_reminder_every_30_s_then_back() {
        let start = Instant::now();
        let mut members = BTreeMap::new();
        // Alive for 5 s, then silent for 70 s.
        let down_at = start + Duration::from_secs(5);
        let events = events_over(&mut members, start, 75, |t| Some(t.min(down_at)), false);
        let names: Vec<&MemberEvent> = events.iter().map(|(_, e)| e).collect();
        assert_eq!(
            names,
            [
                &MemberEvent::Joined,
                &MemberEvent::Failed,
                &MemberEvent::StillDown(33),
                &MemberEvent::StillDown(63),
            ],
            "{events:?}"
        );
        // Failed once silent past FAILED_AFTER; each reminder REMIND_EVERY after the last word.
        assert_eq!(events[1].0, 8_250);
        assert_eq!(events[2].0 - events[1].0, REMIND_EVERY.as_millis() as u64);
        assert_eq!(events[3].0 - events[2].0, REMIND_EVERY.as_millis() as u64);
        // Heard again: back, once.
        let later = start + Duration::from_secs(80);
        assert_eq!(
            member_event(&heard(Some(later), false), &mut members, later),
            Some(MemberEvent::Back(75))
        );
        assert_eq!(
            member_event(&heard(Some(later), false), &mut members, later),
            None
        );
    }

    #[test]
    fn a_member_that_leaves_is_said_to_leave_never_to_fail() {
        let start = Instant::now();
        let mut members = BTreeMap::new();
        assert_eq!(
            member_event(&heard(Some(start), false), &mut members, start),
            Some(MemberEvent::Joined)
        );
        let gone = start + Duration::from_secs(1);
        let events = events_over(&mut members, gone, 60, |_| Some(gone), true);
        assert_eq!(events, [(0, MemberEvent::Left)]);
        // It comes back: joined again.
        let back = gone + Duration::from_secs(61);
        assert_eq!(
            member_event(&heard(Some(back), false), &mut members, back),
            Some(MemberEvent::Joined)
        );
    }

    #[test]
    fn a_member_known_second_hand_is_news_only_once_heard() {
        let now = Instant::now();
        let mut members = BTreeMap::new();
        assert_eq!(member_event(&heard(None, false), &mut members, now), None);
        assert_eq!(member_event(&heard(None, true), &mut members, now), None);
        assert!(members.is_empty());
    }
}
