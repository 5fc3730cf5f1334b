//! The cluster: this server's Raft node and what it knows of the others. Discovery is a
//! gossip of `/raft/join` exchanges every half second (`run`): each server tells the others
//! whom it knows; with `-bootstrap-expect`, the lowest id among that many live servers
//! initializes the cluster, and the leader then adds every live server it hears of as a voter.
//! Writes go through one proposer task that batches the commands waiting into one entry
//! (group commit); a server that is not the leader, or a client agent, forwards them
//! (`/raft/write`). Consistent reads wait for the leader's read index (`barrier`).
//!
//! A forwarded write carries a request id (`requests`), so when the leader it went to stops
//! answering, or another server takes over, it is sent again, to the new leader, without
//! waiting out the RPC timeout: the state machine applies each id once. Reads do the same with
//! the read index, which is safe to ask twice. Errors that reach a client are Consul's: a
//! leader that has lost its quorum answers `No cluster leader`, not openraft's account of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{ClientWriteError, Fatal, RaftError};
use openraft::raft::AppendEntriesRequest;
use openraft::{BasicNode, LogId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::catalog::{Catalog, Command, Outcome};
use super::hedge;
use super::peers::Peers;
use super::requests::{new_id, Batch, RequestId};
use super::timing::Timing;
use super::transport::{post, Network, PostError};
use super::{LogStore, NodeId, Raft, StateMachine, TypeConfig};
use crate::metrics::Timer;

/// What a server tells the others about itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PeerInfo {
    pub id: NodeId,
    /// Its server (Raft RPC) address.
    pub addr: String,
    pub name: String,
    pub datacenter: String,
    pub server: bool,
    /// Its HTTP API address (where a client agent forwards catalog reads).
    #[serde(default)]
    pub http: String,
    #[serde(default)]
    pub expect: u32,
    #[serde(default)]
    pub initialized: bool,
}

/// The answer to `/raft/join`: the server asked, and the servers it knows.
#[derive(Serialize, Deserialize)]
pub struct JoinReply {
    pub me: PeerInfo,
    pub known: Vec<PeerInfo>,
}

/// A node's services and checks.
pub type NodeState = (
    Vec<crate::consul::api::NodeService>,
    Vec<crate::consul::api::HealthCheck>,
);

/// A write forwarded to the leader (`/raft/write`): the command, and the id that makes a copy
/// sent again harmless.
#[derive(Serialize, Deserialize)]
pub struct Forwarded {
    pub id: RequestId,
    pub cmd: Command,
}

/// A write forwarded to the leader, answered with its log index.
#[derive(Serialize, Deserialize)]
pub struct Written {
    pub index: u64,
    pub outcome: Outcome,
}

struct Known {
    info: PeerInfo,
    last_seen: Option<Instant>,
    /// When it said it was leaving (`/raft/leave`); cleared once it is heard from again after
    /// `LEFT_GRACE`.
    left: Option<Instant>,
}

/// What discovery knows of one other member: who, when it was last heard from (never, for one
/// known only second-hand), and whether it left gracefully.
pub struct Heard {
    pub peer: PeerInfo,
    pub last_seen: Option<Instant>,
    pub left: bool,
}

/// A member that left is counted back only when heard from this long after its leave: a
/// discovery exchange it sent just before leaving may arrive after the leave itself.
const LEFT_GRACE: Duration = Duration::from_secs(2);
/// How long a leaving agent waits for each server to take note of its leave.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// A command waiting for the next Raft entry, and where its answer goes.
struct Proposal {
    cmd: Command,
    /// Set for a forwarded write: applied once however often it comes.
    id: Option<RequestId>,
    answer: oneshot::Sender<Proposed>,
}

enum Proposed {
    Written(Written),
    /// Leadership moved while it waited: try again through the new leader.
    NotLeader,
    Failed(String),
}

/// At most this many commands, or about this many bytes of them, go into one entry.
const MAX_BATCH: usize = 512;
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Group commit: the commands proposed while one entry is being committed all go into the next
/// entry, so a burst of writes costs one log write (one fsync) and one AppendEntries per
/// follower instead of one per write. openraft 0.9 writes each `client_write` to the log on
/// its own, waiting for the fsync before taking the next. One entry at a time is in flight.
/// It ends with the Raft node (`Cluster::shutdown`, after the agent's shutdown has let the
/// requests in flight finish).
async fn propose_batches(
    raft: Raft,
    mut queue: mpsc::UnboundedReceiver<Proposal>,
    stopped: CancellationToken,
    commit_time: Arc<Timer>,
) {
    loop {
        let first = tokio::select! {
            p = queue.recv() => match p { Some(p) => p, None => return },
            _ = stopped.cancelled() => return,
        };
        let mut bytes = first.cmd.approximate_size();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            let Ok(next) = queue.try_recv() else { break };
            bytes += next.cmd.approximate_size();
            batch.push(next);
        }
        let mut entry = Batch::default();
        let mut answers = Vec::with_capacity(batch.len());
        for (pos, p) in batch.into_iter().enumerate() {
            if let Some(id) = p.id {
                entry.ids.push((pos as u32, id));
            }
            entry.cmds.push(p.cmd);
            answers.push(p.answer);
        }
        let started = std::time::Instant::now();
        match raft.client_write(entry).await {
            Ok(resp) => {
                commit_time.record(started.elapsed());
                for (answer, applied) in answers.into_iter().zip(resp.data.0) {
                    let _ = answer.send(Proposed::Written(Written {
                        index: applied.index,
                        outcome: applied.outcome,
                    }));
                }
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                for answer in answers {
                    let _ = answer.send(Proposed::NotLeader);
                }
            }
            Err(e) => {
                let said = consul_error(&e);
                for answer in answers {
                    let _ = answer.send(Proposed::Failed(said.clone()));
                }
            }
        }
    }
}

/// What a client is told of a failed Raft call: openraft's own words stay in the log. A
/// membership change refused now (quorum lost, leadership moving) reads as Consul's `No cluster
/// leader`; a stopped node as the agent shutting down.
fn consul_error<E: std::fmt::Display>(e: &RaftError<NodeId, E>) -> String {
    tracing::debug!("raft: {e}");
    match e {
        RaftError::Fatal(Fatal::Stopped) => SHUTTING_DOWN.into(),
        RaftError::Fatal(f) => format!("raft: {f}"),
        RaftError::APIError(_) => NO_LEADER.into(),
    }
}

/// This server's Raft node and what it knows of the others.
pub struct Cluster {
    pub raft: Raft,
    pub me: PeerInfo,
    pub expect: u32,
    known: Mutex<BTreeMap<NodeId, Known>>,
    last_contact: Mutex<Option<Instant>>,
    /// How this server reaches the others (the server ports, the servers' HTTP APIs).
    pub client: Arc<Peers>,
    catalog: Arc<Catalog>,
    proposals: mpsc::UnboundedSender<Proposal>,
    stopped: CancellationToken,
    /// Cancelled when this agent leaves: discovery stops telling the others it is alive.
    leaving: CancellationToken,
    /// How long each entry took to commit (Consul's `consul.raft.commitTime`).
    pub commit_time: Arc<Timer>,
    timing: Timing,
    /// On a client agent: the server its writes go to first (`hedge`).
    preferred: hedge::Preferred,
    /// On a client agent: the server API its passed-on HTTP writes go to first (`hedge`).
    pub preferred_http: hedge::Preferred,
}

/// How long a write or consistent read waits for a leader before "No cluster leader".
const LEADER_WAIT: Duration = Duration::from_secs(7);
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// How long discovery waits for one server's `/raft/join` answer. The exchanges run one after
/// the other, and a server counts as alive for 10 s after it last answered: a paused server
/// held for the whole RPC timeout would let every other one go stale, and a client agent would
/// then know no server at all.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

pub const NO_LEADER: &str = "No cluster leader";
pub const NO_SERVERS: &str = "No known Consul servers";
const SHUTTING_DOWN: &str = "the agent is shutting down";

/// A `u64` node id from the agent's UUID.
pub fn raft_id(uuid: &str) -> NodeId {
    let hex: String = uuid
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(16)
        .collect();
    u64::from_str_radix(&hex, 16).unwrap_or(1).max(1)
}

/// How the cluster forms and compacts its log.
pub struct Policy {
    /// `-bootstrap-expect`.
    pub expect: u32,
    /// Log entries between snapshots.
    pub snapshot_threshold: u64,
    /// Entries kept behind a snapshot, so a follower a little behind needs no snapshot.
    pub trailing_logs: u64,
    /// Heartbeat, election timeout and leader lease.
    pub timing: Timing,
    /// How to reach the other agents (`-encrypt`, TLS).
    pub peers: Arc<Peers>,
}

impl Cluster {
    pub async fn start(
        me: PeerInfo,
        policy: Policy,
        log: LogStore,
        sm: StateMachine,
    ) -> Result<Arc<Cluster>, String> {
        let expect = policy.expect;
        let catalog = sm.catalog();
        let config = openraft::Config {
            cluster_name: me.datacenter.clone(),
            heartbeat_interval: policy.timing.heartbeat_interval_ms(),
            election_timeout_min: policy.timing.election_timeout_min_ms(),
            election_timeout_max: policy.timing.election_timeout_max_ms(),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(policy.snapshot_threshold),
            max_in_snapshot_log_to_keep: policy.trailing_logs,
            ..Default::default()
        }
        .validate()
        .map_err(|e| e.to_string())?;
        let client = policy.peers.clone();
        let raft = Raft::new(me.id, Arc::new(config), Network(client.clone()), log, sm)
            .await
            .map_err(|e| e.to_string())?;
        let (proposals, queue) = mpsc::unbounded_channel();
        let stopped = CancellationToken::new();
        let commit_time = Arc::new(Timer::default());
        tokio::spawn(propose_batches(
            raft.clone(),
            queue,
            stopped.clone(),
            commit_time.clone(),
        ));
        let cluster = Arc::new(Cluster {
            raft,
            me: me.clone(),
            expect,
            known: Mutex::new(BTreeMap::new()),
            last_contact: Mutex::new(None),
            client,
            catalog,
            proposals,
            stopped,
            leaving: CancellationToken::new(),
            commit_time,
            timing: policy.timing,
            preferred: hedge::Preferred::default(),
            preferred_http: hedge::Preferred::default(),
        });
        cluster.learn(me, true);
        tokio::spawn(super::events::watch(
            cluster.clone(),
            cluster.stopped.clone(),
        ));
        Ok(cluster)
    }

    /// Stops the Raft node and the proposer in front of it.
    pub async fn shutdown(&self) {
        self.stopped.cancel();
        let _ = self.raft.shutdown().await;
    }

    fn learn(&self, info: PeerInfo, seen: bool) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let entry = known.entry(info.id).or_insert(Known {
            info: info.clone(),
            last_seen: None,
            left: None,
        });
        entry.info = info;
        if seen {
            let now = Instant::now();
            entry.last_seen = Some(now);
            if entry
                .left
                .is_some_and(|at| now.saturating_duration_since(at) > LEFT_GRACE)
            {
                entry.left = None;
            }
        }
    }

    /// `peer` says it is leaving (`/raft/leave`): it is no longer counted alive, and the events
    /// watcher says it left instead of that it failed.
    fn left(&self, peer: PeerInfo) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let entry = known.entry(peer.id).or_insert(Known {
            info: peer.clone(),
            last_seen: None,
            left: None,
        });
        entry.info = peer;
        entry.left = Some(Instant::now());
    }

    /// Tells every live server this agent knows that it is leaving, as Consul's graceful leave
    /// does, so that they log a member that left rather than one that failed. Best effort: a
    /// server that does not answer within `LEAVE_TIMEOUT` will see the member fail instead.
    pub async fn announce_leave(&self) {
        self.leaving.cancel();
        let me = self.info();
        let servers: Vec<PeerInfo> = self
            .known()
            .into_iter()
            .filter(|(p, alive)| *alive && p.server && p.id != self.me.id)
            .map(|(p, _)| p)
            .collect();
        tracing::info!(
            "agent: Leaving the cluster: telling {} server(s)",
            servers.len()
        );
        let mut notices = tokio::task::JoinSet::new();
        for server in servers {
            let (client, me) = (self.client.clone(), me.clone());
            notices.spawn(async move {
                let sent: Result<Result<(), String>, _> =
                    post(&client, &server.addr, "/raft/leave", &me, LEAVE_TIMEOUT).await;
                if let Err(e) = sent.map_err(|e| e.message).and_then(|r| r) {
                    tracing::debug!("agent: telling {} of the leave: {e}", server.addr);
                }
            });
        }
        while notices.join_next().await.is_some() {}
    }

    /// Drops what this server knows of `id` (a dev-cluster server that left): it is no longer
    /// counted alive, so the leader does not add it back before it really returns.
    pub fn forget(&self, id: NodeId) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.remove(&id);
    }

    /// Every server this one knows of: itself, those it heard from, and the Raft members.
    pub fn known(&self) -> Vec<(PeerInfo, bool)> {
        let mut out: BTreeMap<NodeId, (PeerInfo, bool)> = BTreeMap::new();
        let members = self.raft.metrics().borrow().membership_config.clone();
        for (id, node) in members.nodes() {
            out.insert(
                *id,
                (
                    PeerInfo {
                        id: *id,
                        addr: node.addr.clone(),
                        name: String::new(),
                        datacenter: self.me.datacenter.clone(),
                        server: true,
                        http: String::new(),
                        expect: 0,
                        initialized: true,
                    },
                    false,
                ),
            );
        }
        let fresh = Duration::from_secs(10);
        for (id, k) in self.known.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let alive = *id == self.me.id
                || (k.left.is_none() && k.last_seen.is_some_and(|t| t.elapsed() < fresh));
            out.insert(*id, (k.info.clone(), alive));
        }
        if let Some((_, alive)) = out.get_mut(&self.me.id) {
            *alive = true;
        }
        out.into_values().collect()
    }

    /// The other members discovery knows, with when each was last heard from and whether it
    /// left.
    pub fn heard(&self) -> Vec<Heard> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .values()
            .filter(|k| k.info.id != self.me.id)
            .map(|k| Heard {
                peer: k.info.clone(),
                last_seen: k.last_seen,
                left: k.left.is_some(),
            })
            .collect()
    }

    pub fn info(&self) -> PeerInfo {
        let mut me = self.me.clone();
        me.initialized = self.initialized();
        me
    }

    pub fn initialized(&self) -> bool {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .next()
            .is_some()
    }

    /// The leader this server knows of. A leader that has heard from no quorum for longer
    /// than its leader lease is none: the others may have elected another (openraft 0.9 does
    /// not step such a leader down; Consul's does, after LeaderLeaseTimeout).
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let membership = m.membership_config.membership();
        let lone_voter = membership.voter_ids().count() <= 1;
        let lease = self.timing.leader_lease.as_millis() as u64;
        let cut_off = m.millis_since_quorum_ack.unwrap_or(0) > lease;
        if id == self.me.id && cut_off && !lone_voter {
            return None;
        }
        let addr = membership.get_node(&id)?.addr.clone();
        Some((id, addr))
    }

    pub fn voters(&self) -> Vec<NodeId> {
        let m = self.raft.metrics().borrow().membership_config.clone();
        m.membership().voter_ids().collect()
    }

    /// Voters' addresses, as `/v1/status/peers` lists them.
    pub fn peers(&self) -> Vec<String> {
        let m = self.raft.metrics().borrow().membership_config.clone();
        let mut out: Vec<String> = m
            .membership()
            .voter_ids()
            .filter_map(|id| m.membership().get_node(&id).map(|n| n.addr.clone()))
            .collect();
        out.sort();
        out
    }

    /// The `raft` part of `/v1/agent/self`'s `Stats`.
    pub fn stats(&self) -> serde_json::Value {
        let m = self.raft.metrics().borrow().clone();
        let idx = |l: Option<LogId<NodeId>>| l.map(|l| l.index).unwrap_or(0).to_string();
        serde_json::json!({
            "state": format!("{:?}", m.state),
            "term": m.current_term.to_string(),
            "last_log_index": m.last_log_index.unwrap_or(0).to_string(),
            "applied_index": idx(m.last_applied),
            "last_snapshot_index": idx(m.snapshot),
            "purged_index": idx(m.purged),
            "num_peers": self.peers().len().saturating_sub(1).to_string(),
        })
    }

    /// Milliseconds since the leader was last heard from (0 on the leader itself).
    pub fn last_contact_ms(&self) -> u64 {
        match self.leader() {
            Some((id, _)) if id == self.me.id => 0,
            _ => self
                .last_contact
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .map(|t| t.elapsed().as_millis() as u64)
                .unwrap_or(0),
        }
    }

    /// `/v1/operator/raft/configuration`.
    pub fn configuration(&self) -> serde_json::Value {
        let m = self.raft.metrics().borrow().clone();
        let names: BTreeMap<NodeId, String> = self
            .known()
            .into_iter()
            .map(|(p, _)| (p.id, p.name))
            .collect();
        let mem = m.membership_config.membership();
        let servers: Vec<serde_json::Value> = mem
            .nodes()
            .map(|(id, node)| {
                serde_json::json!({
                    "ID": format!("{id:016x}"),
                    "Node": names.get(id).cloned().unwrap_or_default(),
                    "Address": node.addr,
                    "Leader": m.current_leader == Some(*id),
                    "Voter": mem.voter_ids().any(|v| v == *id),
                    "ProtocolVersion": "3",
                    "LastIndex": m.last_log_index.unwrap_or(0),
                })
            })
            .collect();
        serde_json::json!({
            "Servers": servers,
            "Index": m.membership_config.log_id().map(|l| l.index).unwrap_or(0),
        })
    }

    /// Commits a command through the leader; on a server, answers once it is applied here too.
    pub async fn write(&self, cmd: Command) -> Result<Outcome, String> {
        let written = self.write_indexed(cmd).await?;
        if self.me.server {
            self.wait_applied(written.index).await;
        }
        Ok(written.outcome)
    }

    /// Where this agent sends what it cannot do itself: the leader from a server, a live server
    /// from a client.
    /// A client tries its servers in turn (`attempt`), so a dead one is passed over.
    fn upstream(&self, attempt: usize) -> Option<String> {
        if self.me.server {
            return self.leader().map(|(_, addr)| addr);
        }
        let servers = self.servers();
        servers
            .get(attempt % servers.len().max(1))
            .map(|p| p.addr.clone())
    }

    /// The servers this agent knows to be alive (a client's way to the cluster).
    pub fn servers(&self) -> Vec<PeerInfo> {
        self.known()
            .into_iter()
            .filter(|(p, alive)| *alive && p.server && p.id != self.me.id)
            .map(|(p, _)| p)
            .collect()
    }

    /// Commits a command: on the leader through Raft, elsewhere forwarded (`/raft/write`).
    /// An HTTP write a client agent passed on with its request id (`requests::scoped`) keeps
    /// that id, so the client's copies of it apply once.
    pub async fn write_indexed(&self, cmd: Command) -> Result<Written, String> {
        self.write_request(super::requests::take_scoped(), cmd)
            .await
    }

    /// Commits a command once, however often it is sent: `id` is set when the write was
    /// forwarded here, and given one here before this server forwards it. A forwarded write
    /// whose leader stops answering, or is replaced, is sent again (same id) to the next one;
    /// a client agent's goes to a server and, if that one is slow to answer, to another too
    /// (`hedge`). Consul's RPC hold (7 s) bounds the whole.
    async fn write_request(
        &self,
        mut id: Option<RequestId>,
        cmd: Command,
    ) -> Result<Written, String> {
        let deadline = Instant::now() + LEADER_WAIT;
        if !self.me.server {
            let forwarded = Forwarded {
                id: id.unwrap_or_else(|| new_id(self.me.id)),
                cmd,
            };
            let servers = || self.servers().into_iter().map(|p| p.addr).collect();
            return hedge::forward_write(
                &self.client,
                &self.preferred,
                servers,
                forwarded,
                deadline,
            )
            .await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let leader = self.leader().map(|(l, _)| l);
            if leader == Some(self.me.id) {
                // A leader cut off from its quorum waits forever for a commit: bound it by the
                // same hold as a missing leader (the write may still commit later, as in Consul).
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, self.propose(cmd.clone(), id)).await {
                    Err(_) => return Err(NO_LEADER.to_string()),
                    Ok(Proposed::Written(w)) => return Ok(w),
                    Ok(Proposed::NotLeader) => {}
                    Ok(Proposed::Failed(e)) if e == NO_LEADER => {}
                    Ok(Proposed::Failed(e)) => return Err(e),
                }
            } else if let Some(addr) = self.upstream(attempt) {
                let forwarded = Forwarded {
                    id: *id.get_or_insert_with(|| new_id(self.me.id)),
                    cmd: cmd.clone(),
                };
                let sent = post::<_, Result<Written, String>>(
                    &self.client,
                    &addr,
                    "/raft/write",
                    &forwarded,
                    RPC_TIMEOUT,
                );
                match self.unless_leader_moves(leader, sent).await {
                    Some(Ok(Ok(w))) => return Ok(w),
                    Some(Ok(Err(e))) if e == NO_LEADER || e == NO_SERVERS => {}
                    Some(Ok(Err(e))) => return Err(e),
                    // Lost on the way, or no answer: the id makes sending it again harmless.
                    Some(Err(e)) => tracing::debug!("forwarding a write to {addr}: {e}"),
                    None => tracing::debug!("forwarding a write to {addr}: the leader changed"),
                }
            }
            if Instant::now() >= deadline {
                return Err(NO_LEADER.into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `call` (a request to the leader `from`) unless this server sees the leadership
    /// move first: `None` then, and the request is abandoned. A leader that is paused or cut
    /// off never answers; waiting for the RPC timeout would hold the client for 10 s when a new
    /// leader serves in two. (A client agent has no view of the leader: `hedge` is its way.)
    async fn unless_leader_moves<T>(
        &self,
        from: Option<NodeId>,
        call: impl std::future::Future<Output = Result<T, PostError>>,
    ) -> Option<Result<T, PostError>> {
        let Some(from) = from.filter(|_| self.me.server) else {
            return Some(call.await);
        };
        tokio::select! {
            out = call => Some(out),
            () = self.leader_moved(from) => None,
        }
    }

    /// Returns once the leader this server knows of is no longer `from`.
    async fn leader_moved(&self, from: NodeId) {
        let mut metrics = self.raft.metrics();
        loop {
            if self.leader().map(|(id, _)| id) != Some(from) {
                return;
            }
            tokio::select! {
                changed = metrics.changed() => if changed.is_err() { return },
                // The leader's lease runs out without a metrics change.
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }

    /// Hands a command to the proposer, which commits it with the others waiting.
    async fn propose(&self, cmd: Command, id: Option<RequestId>) -> Proposed {
        let (answer, answered) = oneshot::channel();
        if self.proposals.send(Proposal { cmd, id, answer }).is_err() {
            return Proposed::Failed(SHUTTING_DOWN.into());
        }
        answered
            .await
            .unwrap_or_else(|_| Proposed::Failed(SHUTTING_DOWN.into()))
    }

    /// The leader's read index: once this server has applied it, a read here is linearizable.
    /// It is at least the leader's last log index when the read arrived: a leader that comes
    /// back from its data dir still leading its term starts from the committed index it saved,
    /// a hint that may lag what it had committed, and openraft's read index goes no higher.
    /// A leader that cannot reach a quorum answers Consul's `No cluster leader`.
    pub async fn read_index_here(&self) -> Result<u64, String> {
        let last_log = self.raft.metrics().borrow().last_log_index.unwrap_or(0);
        match self.raft.ensure_linearizable().await {
            Ok(id) => Ok(id.map_or(0, |l| l.index).max(last_log)),
            Err(e) => Err(consul_error(&e)),
        }
    }

    /// Waits until a read here sees every write acknowledged before it started.
    pub async fn barrier(&self) -> Result<(), String> {
        if !self.me.server {
            return Ok(());
        }
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            match self.leader() {
                Some((id, _)) if id == self.me.id => match self.read_index_here().await {
                    Ok(index) => return self.caught_up(index).await,
                    Err(e) if e == NO_LEADER => {}
                    Err(e) => return Err(e),
                },
                Some((id, addr)) => {
                    let asked = post::<_, Result<u64, String>>(
                        &self.client,
                        &addr,
                        "/raft/read-index",
                        &(),
                        RPC_TIMEOUT,
                    );
                    match self.unless_leader_moves(Some(id), asked).await {
                        Some(Ok(Ok(index))) => return self.caught_up(index).await,
                        Some(Ok(Err(e))) if e == NO_LEADER => {}
                        Some(Ok(Err(e))) => return Err(e),
                        Some(Err(e)) => tracing::debug!("read index from {addr}: {e}"),
                        None => tracing::debug!("read index from {addr}: the leader changed"),
                    }
                }
                None => {}
            }
            if Instant::now() >= deadline {
                return Err(NO_LEADER.into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn caught_up(&self, index: u64) -> Result<(), String> {
        if self.wait_applied(index).await {
            Ok(())
        } else {
            Err(format!(
                "this server did not catch up with the leader's index {index} in time"
            ))
        }
    }

    /// Waits until this server has applied `index`; false if it did not in time.
    async fn wait_applied(&self, index: u64) -> bool {
        self.raft
            .wait(Some(RPC_TIMEOUT))
            .applied_index_at_least(Some(index), "read index")
            .await
            .is_ok()
    }

    /// A node's services and checks as the catalog has them now: read here on a server (after
    /// the barrier), asked of a server by a client agent.
    pub async fn node_state(&self, node: &str) -> Result<NodeState, String> {
        if self.me.server {
            self.barrier().await?;
            return Ok(self
                .catalog
                .read(|s| (s.services_on(node), s.checks_on(node))));
        }
        let deadline = Instant::now() + LEADER_WAIT;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(addr) = self.upstream(attempt) {
                let name = node.to_string();
                match post::<_, Result<NodeState, String>>(
                    &self.client,
                    &addr,
                    "/raft/node",
                    &name,
                    RPC_TIMEOUT,
                )
                .await
                {
                    Ok(r) => return r,
                    Err(e) => tracing::debug!("node state from {addr}: {e}"),
                }
            }
            if Instant::now() >= deadline {
                return Err(NO_SERVERS.into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `timeout` for a leader.
    pub async fn wait_leader(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.leader().is_some() || (!self.me.server && !self.servers().is_empty()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Joins the server at `addr` (HOST[:PORT], 8300 by default): both learn of each other and
    /// of the servers the other knows.
    pub async fn join(&self, addr: &str) -> Result<(), String> {
        self.join_within(addr, RPC_TIMEOUT).await
    }

    /// `join`, waiting at most `timeout` for the answer.
    async fn join_within(&self, addr: &str, timeout: Duration) -> Result<(), String> {
        let addr = if addr.contains(':') {
            addr.to_string()
        } else {
            format!("{addr}:8300")
        };
        let reply: Result<JoinReply, String> =
            post(&self.client, &addr, "/raft/join", &self.info(), timeout).await?;
        let reply = reply?;
        if reply.me.id == self.me.id {
            return Ok(());
        }
        if reply.me.name.eq_ignore_ascii_case(&self.me.name) {
            return Err(format!(
                "Member '{}' has a name that conflicts with another node at {addr}. Names must be unique!",
                self.me.name
            ));
        }
        if reply.me.datacenter != self.me.datacenter {
            return Err(format!(
                "cannot join {addr}: it is in datacenter {:?}, this agent in {:?} (one datacenter per cluster)",
                reply.me.datacenter, self.me.datacenter
            ));
        }
        let mut peer = reply.me;
        peer.addr = addr;
        self.learn(peer, true);
        for p in reply.known {
            if p.id != self.me.id {
                self.learn(p, false);
            }
        }
        Ok(())
    }

    /// The server side of `/raft/join`.
    pub fn joined_by(&self, peer: PeerInfo) -> Result<JoinReply, String> {
        if peer.datacenter != self.me.datacenter {
            return Err(format!(
                "cannot join: this server is in datacenter {:?}, the agent joining in {:?} (one datacenter per cluster)",
                self.me.datacenter, peer.datacenter
            ));
        }
        // Joining oneself (scripts join every server, their own included) is a no-op that
        // succeeds, as in Consul; the joining side sees its own ID and stops there.
        if peer.id == self.me.id {
            return Ok(JoinReply {
                me: self.info(),
                known: Vec::new(),
            });
        }
        self.check_name_is_unique(&peer)?;
        self.learn(peer, true);
        Ok(JoinReply {
            me: self.info(),
            known: self.known().into_iter().map(|(p, _)| p).collect(),
        })
    }

    /// Refuses an agent whose node name (compared without case, as Consul does) is already
    /// this server's or another live member's: the same name would merge two machines'
    /// services into one catalog node. A member that is gone may come back under a new ID.
    /// The words are serf's for a name conflict.
    fn check_name_is_unique(&self, peer: &PeerInfo) -> Result<(), String> {
        let taken = std::iter::once((self.me.clone(), true))
            .chain(self.known())
            .find(|(p, alive)| {
                *alive && p.id != peer.id && p.name.eq_ignore_ascii_case(&peer.name)
            });
        match taken {
            Some((other, _)) => Err(format!(
                "Member '{}' has a name that conflicts with another node at {}. Names must be unique!",
                peer.name, other.addr
            )),
            None => Ok(()),
        }
    }

    /// Records that the leader spoke (for `X-Consul-LastContact`).
    pub fn contacted(&self) {
        *self.last_contact.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Runs discovery until shutdown: `-join` once, `-retry-join` until it works, then keeps
    /// exchanging what each server knows, bootstraps when `-bootstrap-expect` servers know each
    /// other, and, on the leader, adds every known server to the cluster.
    pub async fn run(
        self: Arc<Self>,
        retry_join: Vec<String>,
        single: bool,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let mut pending = retry_join;
        loop {
            if self.leaving.is_cancelled() {
                return;
            }
            if single && !self.raft.is_initialized().await.unwrap_or(true) {
                let members = BTreeMap::from([(self.me.id, BasicNode::new(self.me.addr.clone()))]);
                if let Err(e) = self.raft.initialize(members).await {
                    tracing::debug!("initialize: {e}");
                }
            }
            let mut still = Vec::new();
            for addr in pending {
                if let Err(e) = self.join(&addr).await {
                    tracing::warn!("retry-join {addr}: {e}");
                    still.push(addr);
                } else {
                    tracing::info!("joined {addr}");
                }
            }
            pending = still;
            // Exchange what we know with every known server.
            for (peer, _) in self.known() {
                if peer.id != self.me.id && peer.server {
                    if let Err(e) = self.join_within(&peer.addr, REFRESH_TIMEOUT).await {
                        tracing::debug!("refresh {}: {e}", peer.addr);
                    }
                }
            }
            self.bootstrap().await;
            self.add_known().await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.cancelled() => return,
                _ = self.leaving.cancelled() => return,
            }
        }
    }

    async fn bootstrap(&self) {
        if self.expect < 2 || self.initialized() {
            return;
        }
        let known = self.known();
        let servers: Vec<&PeerInfo> = known
            .iter()
            .filter(|(p, alive)| *alive && p.server)
            .map(|(p, _)| p)
            .collect();
        if servers.iter().any(|p| p.initialized) || servers.len() < self.expect as usize {
            return;
        }
        if servers.iter().map(|p| p.id).min() != Some(self.me.id) {
            return;
        }
        let members: BTreeMap<NodeId, BasicNode> = servers
            .iter()
            .map(|p| (p.id, BasicNode::new(p.addr.clone())))
            .collect();
        tracing::info!("bootstrapping the cluster with {} servers", members.len());
        if let Err(e) = self.raft.initialize(members).await {
            tracing::warn!("bootstrap: {e}");
        }
    }

    /// On the leader: every live server known but not yet a voter becomes one.
    async fn add_known(&self) {
        if self.leader().map(|(id, _)| id) != Some(self.me.id) {
            return;
        }
        let members = self.raft.metrics().borrow().membership_config.clone();
        let voters: std::collections::BTreeSet<NodeId> = members.membership().voter_ids().collect();
        // A member back on another address (a restart on a new port): record where it is now.
        let moved: BTreeMap<NodeId, BasicNode> = self
            .known()
            .into_iter()
            .filter(|(p, alive)| {
                *alive
                    && members
                        .membership()
                        .get_node(&p.id)
                        .is_some_and(|n| n.addr != p.addr)
            })
            .map(|(p, _)| (p.id, BasicNode::new(p.addr)))
            .collect();
        if !moved.is_empty() {
            let change = openraft::ChangeMembers::SetNodes(moved);
            if let Err(e) = self.raft.change_membership(change, false).await {
                tracing::warn!("updating addresses: {e}");
            }
            return;
        }
        for (peer, alive) in self.known() {
            if !alive || !peer.server || voters.contains(&peer.id) {
                continue;
            }
            tracing::info!("adding server {} ({})", peer.name, peer.addr);
            let add = self
                .raft
                .add_learner(peer.id, BasicNode::new(peer.addr.clone()), true);
            match tokio::time::timeout(Duration::from_secs(10), add).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!("add learner {}: {e}", peer.addr);
                    continue;
                }
                Err(_) => continue,
            }
            let mut ids = voters.clone();
            ids.insert(peer.id);
            if let Err(e) = self.raft.change_membership(ids, false).await {
                tracing::warn!("change membership: {e}");
            }
            return;
        }
    }

    /// Answers a request on the server port.
    pub async fn handle_rpc(&self, path: &str, body: &[u8]) -> Result<Vec<u8>, (u16, String)> {
        fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, (u16, String)> {
            serde_json::from_slice(body).map_err(|e| (400, e.to_string()))
        }
        fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, (u16, String)> {
            serde_json::to_vec(v).map_err(|e| (500, e.to_string()))
        }
        match path {
            "/raft/append" => {
                let req: AppendEntriesRequest<TypeConfig> = decode(body)?;
                let r = self.raft.append_entries(req).await;
                if r.is_ok() {
                    self.contacted();
                }
                encode(&r)
            }
            "/raft/vote" => encode(&self.raft.vote(decode(body)?).await),
            "/raft/snapshot" => {
                let r = self.raft.install_snapshot(decode(body)?).await;
                if r.is_ok() {
                    self.contacted();
                }
                encode(&r)
            }
            "/raft/join" => encode(&self.joined_by(decode(body)?)),
            "/raft/leave" => {
                self.left(decode(body)?);
                encode(&Ok::<(), String>(()))
            }
            "/raft/info" => encode(&self.info()),
            "/raft/write" => {
                if !self.me.server {
                    return Err((400, "not a server".into()));
                }
                let Forwarded { id, cmd } = decode(body)?;
                encode(&self.write_request(Some(id), cmd).await)
            }
            "/raft/read-index" => encode(&self.read_index_here().await),
            "/raft/node" => {
                if !self.me.server {
                    return Err((400, "not a server".into()));
                }
                let node: String = decode(body)?;
                encode(&self.node_state(&node).await)
            }
            _ => Err((404, format!("no such endpoint: {path}"))),
        }
    }
}
