//! The Raft glue: openraft's type config, the log store and the snapshots kept in redb
//! (`data-dir/raft/raft.redb`, or redb's in-memory backend under `-dev`), the state machine
//! (the `Catalog`, applied at the Raft log index), the HTTP/JSON network between servers
//! (`/raft/append`, `/raft/vote`, `/raft/snapshot` on the server port), and the cluster's
//! discovery: who knows whom (`/raft/join`), bootstrap with `-bootstrap-expect`, and the leader
//! adding the servers it hears about.

// openraft's storage traits fix the error type (`StorageError`, 224 bytes); the helpers here
// return it too.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{
    CheckIsLeaderError, ClientWriteError, InstallSnapshotError, NetworkError, RPCError, RaftError,
    RemoteError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, LogId, LogState, RaftLogReader, RaftNetwork,
    RaftNetworkFactory, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership, Vote,
};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::catalog::{Catalog, Command, Outcome, State};
use super::journal::{Journal, Op};

/// What an entry's commands answer once applied, in their order (none for Raft's own entries).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Response(pub Vec<Outcome>);

// An entry carries the commands proposed together (group commit): they share its log index.
openraft::declare_raft_types!(
    pub TypeConfig:
        D = Vec<Command>,
        R = Response,
);

pub type NodeId = u64;
pub type Raft = openraft::Raft<TypeConfig>;
type StoreError = StorageError<NodeId>;

pub(super) const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

fn io_err(e: impl std::error::Error + 'static) -> StoreError {
    StorageIOError::write(AnyError::new(&e)).into()
}

fn json_err(e: serde_json::Error) -> StoreError {
    io_err(e)
}

/// Opens the redb database: a file in `dir`, or memory only.
pub fn open_db(dir: Option<&Path>) -> Result<Arc<Database>, String> {
    let db = match dir {
        Some(dir) => {
            let dir = dir.join("raft");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = dir.join("raft.redb");
            Database::create(&path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| e.to_string())?,
    };
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        txn.open_table(LOGS).map_err(|e| e.to_string())?;
        txn.open_table(META).map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())?;
    Ok(Arc::new(db))
}

fn meta_get<T: DeserializeOwned>(db: &Database, key: &str) -> Result<Option<T>, StoreError> {
    let txn = db.begin_read().map_err(io_err)?;
    let table = txn.open_table(META).map_err(io_err)?;
    match table.get(key).map_err(io_err)? {
        Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(json_err)?)),
        None => Ok(None),
    }
}

fn meta_put<T: Serialize>(db: &Database, key: &str, value: &T) -> Result<(), StoreError> {
    meta_put_with(db, key, value, Durability::Immediate)
}

fn meta_put_with<T: Serialize>(
    db: &Database,
    key: &str,
    value: &T,
    durability: Durability,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(json_err)?;
    let mut txn = db.begin_write().map_err(io_err)?;
    txn.set_durability(durability).map_err(io_err)?;
    {
        let mut table = txn.open_table(META).map_err(io_err)?;
        table.insert(key, bytes.as_slice()).map_err(io_err)?;
    }
    txn.commit().map_err(io_err)
}

/// The Raft log, the vote and the committed index, in redb. A log write is made durable by
/// the journal and kept in `tail` until the next checkpoint writes the tail to redb.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    journal: Arc<Mutex<Journal>>,
    tail: Arc<std::sync::RwLock<Tail>>,
    committed_saved: Arc<Mutex<Option<Instant>>>,
}

/// The log's changes since the last checkpoint, which redb has yet to see. The log is
/// contiguous and the tail's entries are its newest ones: redb answers only for indexes below
/// them, above the purged ones and below a truncation.
#[derive(Default)]
struct Tail {
    /// Entries written since the checkpoint, with their encoding (for redb).
    entries: BTreeMap<u64, (Entry<TypeConfig>, Vec<u8>)>,
    /// Entries from this index on are gone from what redb holds.
    truncated_from: Option<u64>,
    /// Entries up to this one are gone.
    purged: Option<LogId<NodeId>>,
}

impl Tail {
    /// Whether redb's entry at `index` is no longer part of the log (or is replaced here).
    fn hides(&self, index: u64) -> bool {
        self.truncated_from.is_some_and(|t| index >= t)
            || self.purged.is_some_and(|p| index <= p.index)
            || self
                .entries
                .first_key_value()
                .is_some_and(|(&t0, _)| index >= t0)
    }

    fn apply(&mut self, op: &TailOp) {
        match op {
            TailOp::Put(entries) => {
                for (entry, bytes) in entries {
                    let index = entry.log_id.index;
                    self.entries.insert(index, (entry.clone(), bytes.clone()));
                }
            }
            TailOp::Truncate(since) => {
                self.entries.split_off(since);
                self.truncated_from = Some(self.truncated_from.map_or(*since, |t| t.min(*since)));
            }
            TailOp::Purge(log_id) => {
                self.entries = self.entries.split_off(&(log_id.index + 1));
                self.purged = Some(*log_id);
            }
        }
    }

    /// The journal's operations that bring redb up to date, in an order that gives the log.
    fn ops(&self) -> Result<Vec<Op>, StoreError> {
        let mut ops = Vec::new();
        if let Some(since) = self.truncated_from {
            ops.push(Op::Truncate(since));
        }
        if let Some(log_id) = self.purged {
            ops.push(purge_op(log_id)?);
        }
        let put = self.entries.iter().map(|(i, (_, b))| (*i, b.clone()));
        ops.push(Op::Put(put.collect()));
        Ok(ops)
    }
}

/// A log change as the tail takes it: entries decoded, as reads want them.
enum TailOp {
    Put(Vec<(Entry<TypeConfig>, Vec<u8>)>),
    Truncate(u64),
    Purge(LogId<NodeId>),
}

impl TailOp {
    /// The change as the journal records it.
    fn journaled(&self) -> Result<Op, StoreError> {
        Ok(match self {
            TailOp::Put(entries) => Op::Put(
                entries
                    .iter()
                    .map(|(e, b)| (e.log_id.index, b.clone()))
                    .collect(),
            ),
            TailOp::Truncate(since) => Op::Truncate(*since),
            TailOp::Purge(log_id) => purge_op(*log_id)?,
        })
    }
}

fn purge_op(log_id: LogId<NodeId>) -> Result<Op, StoreError> {
    Ok(Op::Purge {
        upto: log_id.index,
        last_purged: serde_json::to_vec(&Some(log_id)).map_err(json_err)?,
    })
}

/// How often the committed index is written down (a hint: Raft can do without it).
const SAVE_COMMITTED_EVERY: Duration = Duration::from_secs(1);

impl LogStore {
    /// The log in `db`, after replaying the journal kept in `data_dir` (none: memory only).
    pub fn open(db: Arc<Database>, data_dir: Option<&Path>) -> Result<LogStore, String> {
        let dir = data_dir.map(|d| d.join("raft"));
        let journal = Journal::open(dir.as_deref(), &db)?;
        Ok(LogStore::with_journal(db, journal))
    }

    fn with_journal(db: Arc<Database>, journal: Journal) -> LogStore {
        LogStore {
            db,
            journal: Arc::new(Mutex::new(journal)),
            tail: Arc::default(),
            committed_saved: Arc::new(Mutex::new(None)),
        }
    }

    /// Journals a change, then makes it part of the log here; checkpoints when due.
    fn write(&self, change: TailOp) -> Result<(), StoreError> {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let due = journal.append(&change.journaled()?).map_err(other_err)?;
        let mut tail = self.tail.write().unwrap_or_else(|e| e.into_inner());
        tail.apply(&change);
        if due {
            let txn = self.db.begin_write().map_err(io_err)?;
            for op in tail.ops()? {
                op.apply(&txn).map_err(io_err)?;
            }
            txn.commit().map_err(io_err)?;
            *tail = Tail::default();
            journal.restart().map_err(io_err)?;
        }
        Ok(())
    }

    /// Appends entries to the log, durably.
    fn put(&self, entries: impl IntoIterator<Item = Entry<TypeConfig>>) -> Result<(), StoreError> {
        let mut encoded = Vec::new();
        for e in entries {
            let bytes = serde_json::to_vec(&e).map_err(json_err)?;
            encoded.push((e, bytes));
        }
        self.write(TailOp::Put(encoded))
    }

    /// The log's last entry below index `below` that redb holds and the tail does not hide.
    fn last_in_redb(&self, tail: &Tail) -> Result<Option<Entry<TypeConfig>>, StoreError> {
        let below = [tail.truncated_from, tail.entries.keys().next().copied()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(u64::MAX);
        let txn = self.db.begin_read().map_err(io_err)?;
        let table = txn.open_table(LOGS).map_err(io_err)?;
        let last = table.range(..below).map_err(io_err)?.next_back();
        match last {
            Some(item) => {
                let (k, v) = item.map_err(io_err)?;
                if tail.hides(k.value()) {
                    return Ok(None);
                }
                Ok(Some(serde_json::from_slice(v.value()).map_err(json_err)?))
            }
            None => Ok(None),
        }
    }
}

fn other_err(e: String) -> StoreError {
    io_err(std::io::Error::other(e))
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StoreError> {
        let tail = self.tail.read().unwrap_or_else(|e| e.into_inner());
        let mut out = BTreeMap::new();
        // The tail holds the newest entries: a range that starts within it needs no redb.
        let tail_start = tail.entries.keys().next().copied();
        let from = match range.start_bound() {
            std::ops::Bound::Included(&i) => i,
            std::ops::Bound::Excluded(&i) => i + 1,
            std::ops::Bound::Unbounded => 0,
        };
        if tail_start.is_none_or(|t0| from < t0) {
            let txn = self.db.begin_read().map_err(io_err)?;
            let table = txn.open_table(LOGS).map_err(io_err)?;
            for item in table.range(range.clone()).map_err(io_err)? {
                let (k, v) = item.map_err(io_err)?;
                if !tail.hides(k.value()) {
                    let entry = serde_json::from_slice(v.value()).map_err(json_err)?;
                    out.insert(k.value(), entry);
                }
            }
        }
        for (index, (entry, _)) in tail.entries.range(range) {
            out.insert(*index, entry.clone());
        }
        Ok(out.into_values().collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StoreError> {
        let tail = self.tail.read().unwrap_or_else(|e| e.into_inner());
        let last_purged = match tail.purged {
            Some(p) => Some(p),
            None => meta_get::<Option<LogId<NodeId>>>(&self.db, "last_purged")?.flatten(),
        };
        let last = match tail.entries.last_key_value() {
            Some((_, (entry, _))) => Some(entry.log_id),
            None => self.last_in_redb(&tail)?.map(|e| e.log_id),
        };
        let last = last.or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StoreError> {
        meta_put(&self.db, "vote", vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StoreError> {
        meta_get(&self.db, "vote")
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StoreError> {
        // A hint that lets a restarted server apply its log before it hears from a leader;
        // any committed index will do, so it is written at most once a second, without an
        // fsync of its own (it becomes durable with the next durable commit).
        let mut saved = self
            .committed_saved
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if saved.is_some_and(|at| at.elapsed() < SAVE_COMMITTED_EVERY) {
            return Ok(());
        }
        *saved = Some(Instant::now());
        meta_put_with(&self.db, "committed", &committed, Durability::None)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StoreError> {
        Ok(meta_get::<Option<LogId<NodeId>>>(&self.db, "committed")?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        self.put(entries)?;
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StoreError> {
        self.write(TailOp::Truncate(log_id.index))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StoreError> {
        self.write(TailOp::Purge(log_id))
    }
}

/// A snapshot's contents: the whole catalog.
#[derive(Serialize, Deserialize)]
struct SnapshotData {
    state: State,
}

/// The state machine: the catalog in memory, plus what Raft needs to know about it. The last
/// snapshot is kept in redb; on start the catalog is loaded from it and Raft replays the log.
pub struct StateMachine {
    catalog: Arc<Catalog>,
    db: Arc<Database>,
    applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl StateMachine {
    /// The state machine over `catalog`, restored from the last snapshot in `db`.
    pub fn open(db: Arc<Database>) -> Result<StateMachine, String> {
        let mut sm = StateMachine {
            catalog: Arc::new(Catalog::new(State::default())),
            db,
            applied: None,
            membership: StoredMembership::default(),
        };
        if let Some(snap) = sm.stored_snapshot().map_err(|e| e.to_string())? {
            sm.restore(&snap.meta, snap.snapshot.get_ref())
                .map_err(|e| e.to_string())?;
        }
        Ok(sm)
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    fn stored_snapshot(&self) -> Result<Option<Snapshot<TypeConfig>>, StoreError> {
        let meta: Option<SnapshotMeta<NodeId, BasicNode>> = meta_get(&self.db, "snapshot_meta")?;
        let Some(meta) = meta else { return Ok(None) };
        let txn = self.db.begin_read().map_err(io_err)?;
        let table = txn.open_table(META).map_err(io_err)?;
        let data = match table.get("snapshot_data").map_err(io_err)? {
            Some(v) => v.value().to_vec(),
            None => return Ok(None),
        };
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }

    fn restore(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let snap: SnapshotData = serde_json::from_slice(data).map_err(json_err)?;
        self.catalog.restore(snap.state);
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        Ok(())
    }
}

fn save_snapshot(
    db: &Database,
    meta: &SnapshotMeta<NodeId, BasicNode>,
    data: &[u8],
) -> Result<(), StoreError> {
    let meta_bytes = serde_json::to_vec(meta).map_err(json_err)?;
    let txn = db.begin_write().map_err(io_err)?;
    {
        let mut table = txn.open_table(META).map_err(io_err)?;
        table.insert("snapshot_data", data).map_err(io_err)?;
        table
            .insert("snapshot_meta", meta_bytes.as_slice())
            .map_err(io_err)?;
    }
    txn.commit().map_err(io_err)
}

/// A copy of the state machine taken when Raft asked for a snapshot.
pub struct Builder {
    db: Arc<Database>,
    state: State,
    applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StoreError> {
        let data = serde_json::to_vec(&SnapshotData {
            state: std::mem::take(&mut self.state),
        })
        .map_err(json_err)?;
        let id = match self.applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "0".into(),
        };
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: id,
        };
        let db = self.db.clone();
        let (m, d) = (meta.clone(), data.clone());
        tokio::task::spawn_blocking(move || save_snapshot(&db, &m, &d))
            .await
            .map_err(io_err)??;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StoreError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StoreError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for entry in entries {
            self.applied = Some(entry.log_id);
            out.push(match entry.payload {
                EntryPayload::Blank => Response::default(),
                EntryPayload::Normal(cmds) => {
                    Response(self.catalog.apply(entry.log_id.index, &cmds))
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    Response::default()
                }
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        Builder {
            db: self.db.clone(),
            state: self.catalog.snapshot(),
            applied: self.applied,
            membership: self.membership.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StoreError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StoreError> {
        let data = snapshot.into_inner();
        self.restore(meta, &data)?;
        save_snapshot(&self.db, meta, &data)
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StoreError> {
        self.stored_snapshot()
    }
}

// The network: JSON over HTTP/1.1 POSTs to the other servers' server port.

/// Makes connections to other servers.
#[derive(Clone, Default)]
pub struct Network;

/// One server's connection to another for Raft's RPCs: a kept-alive HTTP/1.1 connection,
/// written and read directly by the caller. openraft calls it one RPC at a time; hyper's pool
/// and connection task added two task switches and about a third of a follower's CPU per write.
pub struct Conn {
    target: NodeId,
    addr: String,
    stream: Option<tokio::io::BufStream<tokio::net::TcpStream>>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Conn;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Conn {
        Conn {
            target,
            addr: node.addr.clone(),
            stream: None,
        }
    }
}

/// POSTs `body` as JSON to `http://addr/path` and decodes the JSON answer.
pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
    client: &reqwest::Client,
    addr: &str,
    path: &str,
    body: &Req,
    timeout: Duration,
) -> Result<Resp, PostError> {
    let err = |sent: bool, message: String| PostError { sent, message };
    let bytes = serde_json::to_vec(body).map_err(|e| err(false, e.to_string()))?;
    let resp = client
        .post(format!("http://{addr}{path}"))
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .body(bytes)
        .send()
        .await
        .map_err(|e| err(!e.is_connect(), format!("{addr}: {e}")))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| err(true, format!("{addr}: {e}")))?;
    if !status.is_success() {
        return Err(err(true, String::from_utf8_lossy(&body).into_owned()));
    }
    serde_json::from_slice(&body).map_err(|e| err(true, format!("{addr}: bad answer: {e}")))
}

/// A failed `post`: `sent` when the request may have reached the other side.
#[derive(Debug)]
pub struct PostError {
    pub sent: bool,
    pub message: String,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<PostError> for String {
    fn from(e: PostError) -> String {
        e.message
    }
}

/// Why an RPC got no answer: the peer could not be reached, or the exchange broke.
enum Failure {
    Unreachable(std::io::Error),
    Broken(std::io::Error),
}

impl Conn {
    async fn call<Req, Resp, E>(
        &mut self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let exchanged = tokio::time::timeout(option.hard_ttl(), self.exchange(path, &body)).await;
        let answer = match exchanged {
            Ok(Ok(answer)) => answer,
            failed => {
                // Whatever state the connection is in, the next call starts on a fresh one.
                self.stream = None;
                return Err(match failed {
                    Ok(Err(Failure::Unreachable(e))) => RPCError::Unreachable(Unreachable::new(&e)),
                    Ok(Err(Failure::Broken(e))) => RPCError::Network(NetworkError::new(&e)),
                    _ => RPCError::Network(NetworkError::new(&std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("{}{path}: no answer in {:?}", self.addr, option.hard_ttl()),
                    ))),
                });
            }
        };
        let answer: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&answer)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// Sends one POST and reads its answer's body, connecting first if need be.
    async fn exchange(&mut self, path: &str, body: &[u8]) -> Result<Vec<u8>, Failure> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let tcp = tokio::net::TcpStream::connect(&self.addr)
                .await
                .map_err(Failure::Unreachable)?;
            let _ = tcp.set_nodelay(true);
            self.stream = Some(tokio::io::BufStream::new(tcp));
        }
        let Some(stream) = self.stream.as_mut() else {
            unreachable!("connected above")
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let broken = Failure::Broken;
        stream.write_all(head.as_bytes()).await.map_err(broken)?;
        stream.write_all(body).await.map_err(broken)?;
        stream.flush().await.map_err(broken)?;
        // The head: a status line, then headers up to an empty line; only the length matters.
        let mut status = None;
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await.map_err(broken)? == 0 {
                return Err(broken(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let text = line.trim_end();
            if text.is_empty() {
                break;
            }
            if status.is_none() {
                status = text.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
            } else if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let bad = |what: &str| broken(std::io::Error::new(std::io::ErrorKind::InvalidData, what));
        let length = length.ok_or_else(|| bad("answer without Content-Length"))?;
        let mut answer = vec![0; length];
        stream.read_exact(&mut answer).await.map_err(broken)?;
        match status {
            Some(200) => Ok(answer),
            _ => Err(bad(&format!(
                "{path}: {}",
                String::from_utf8_lossy(&answer).trim_end()
            ))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Conn {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call("/raft/snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call("/raft/vote", &rpc, &option).await
    }
}

// The cluster: membership discovery, bootstrap, forwarding.

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
pub type NodeState = (Vec<crate::api::NodeService>, Vec<crate::api::HealthCheck>);

/// A write forwarded to the leader, answered with its log index.
#[derive(Serialize, Deserialize)]
pub struct Written {
    pub index: u64,
    pub outcome: Outcome,
}

struct Known {
    info: PeerInfo,
    last_seen: Option<Instant>,
}

/// A command waiting for the next Raft entry, and where its answer goes.
struct Proposal {
    cmd: Command,
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
        let (cmds, answers): (Vec<Command>, Vec<_>) =
            batch.into_iter().map(|p| (p.cmd, p.answer)).unzip();
        match raft.client_write(cmds).await {
            Ok(resp) => {
                let index = resp.log_id.index;
                for (answer, outcome) in answers.into_iter().zip(resp.data.0) {
                    let _ = answer.send(Proposed::Written(Written { index, outcome }));
                }
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                for answer in answers {
                    let _ = answer.send(Proposed::NotLeader);
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Proposed::Failed(e.to_string()));
                }
            }
        }
    }
}

/// This server's Raft node and what it knows of the others.
pub struct Cluster {
    pub raft: Raft,
    pub me: PeerInfo,
    pub expect: u32,
    known: Mutex<BTreeMap<NodeId, Known>>,
    last_contact: Mutex<Option<Instant>>,
    pub client: reqwest::Client,
    catalog: Arc<Catalog>,
    proposals: mpsc::UnboundedSender<Proposal>,
    stopped: CancellationToken,
}

/// How long a write or consistent read waits for a leader before "No cluster leader".
const LEADER_WAIT: Duration = Duration::from_secs(7);
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
const ELECTION_TIMEOUT_MAX_MS: u64 = 2000;

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
            heartbeat_interval: 250,
            election_timeout_min: 1000,
            election_timeout_max: ELECTION_TIMEOUT_MAX_MS,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(policy.snapshot_threshold),
            max_in_snapshot_log_to_keep: policy.trailing_logs,
            ..Default::default()
        }
        .validate()
        .map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| e.to_string())?;
        let raft = Raft::new(me.id, Arc::new(config), Network, log, sm)
            .await
            .map_err(|e| e.to_string())?;
        let (proposals, queue) = mpsc::unbounded_channel();
        let stopped = CancellationToken::new();
        tokio::spawn(propose_batches(raft.clone(), queue, stopped.clone()));
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
        });
        cluster.learn(me, true);
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
        });
        entry.info = info;
        if seen {
            entry.last_seen = Some(Instant::now());
        }
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
            let alive = *id == self.me.id || k.last_seen.is_some_and(|t| t.elapsed() < fresh);
            out.insert(*id, (k.info.clone(), alive));
        }
        if let Some((_, alive)) = out.get_mut(&self.me.id) {
            *alive = true;
        }
        out.into_values().collect()
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
    /// than an election timeout is none: the others may have elected another (openraft 0.9
    /// does not step such a leader down; Consul's does).
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let membership = m.membership_config.membership();
        let lone_voter = membership.voter_ids().count() <= 1;
        let cut_off = m.millis_since_quorum_ack.unwrap_or(0) > ELECTION_TIMEOUT_MAX_MS;
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
    pub async fn write_indexed(&self, cmd: Command) -> Result<Written, String> {
        let deadline = Instant::now() + LEADER_WAIT;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let leader_here = self.me.server && self.leader().map(|(id, _)| id) == Some(self.me.id);
            if leader_here {
                // A leader cut off from its quorum waits forever for a commit: bound it by the
                // same hold as a missing leader (the write may still commit later, as in Consul).
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, self.propose(cmd.clone())).await {
                    Err(_) => return Err(NO_LEADER.to_string()),
                    Ok(Proposed::Written(w)) => return Ok(w),
                    Ok(Proposed::NotLeader) => {}
                    Ok(Proposed::Failed(e)) => return Err(e),
                }
            } else if let Some(addr) = self.upstream(attempt) {
                match post::<_, Result<Written, String>>(
                    &self.client,
                    &addr,
                    "/raft/write",
                    &cmd,
                    RPC_TIMEOUT,
                )
                .await
                {
                    Ok(Ok(w)) => return Ok(w),
                    Ok(Err(e)) if e == NO_LEADER || e == NO_SERVERS => {}
                    Ok(Err(e)) => return Err(e),
                    // Never sent: safe to try again (elsewhere).
                    Err(e) if !e.sent => tracing::debug!("forwarding a write to {addr}: {e}"),
                    // Sent, answer lost: it may have been applied; retrying could apply it twice.
                    Err(e) => return Err(format!("forwarding the write to {addr}: {e}")),
                }
            }
            if Instant::now() >= deadline {
                return Err(if self.me.server {
                    NO_LEADER
                } else {
                    NO_SERVERS
                }
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Hands a command to the proposer, which commits it with the others waiting.
    async fn propose(&self, cmd: Command) -> Proposed {
        let (answer, answered) = oneshot::channel();
        if self.proposals.send(Proposal { cmd, answer }).is_err() {
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
    pub async fn read_index_here(&self) -> Result<u64, String> {
        let last_log = self.raft.metrics().borrow().last_log_index.unwrap_or(0);
        match self.raft.ensure_linearizable().await {
            Ok(id) => Ok(id.map_or(0, |l| l.index).max(last_log)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => {
                Err(NO_LEADER.into())
            }
            Err(e) => Err(e.to_string()),
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
                Some((_, addr)) => {
                    match post::<_, Result<u64, String>>(
                        &self.client,
                        &addr,
                        "/raft/read-index",
                        &(),
                        RPC_TIMEOUT,
                    )
                    .await
                    {
                        Ok(Ok(index)) => return self.caught_up(index).await,
                        Ok(Err(e)) if e == NO_LEADER => {}
                        Ok(Err(e)) => return Err(e),
                        Err(e) => tracing::debug!("read index from {addr}: {e}"),
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
        let addr = if addr.contains(':') {
            addr.to_string()
        } else {
            format!("{addr}:8300")
        };
        let reply: Result<JoinReply, String> =
            post(&self.client, &addr, "/raft/join", &self.info(), RPC_TIMEOUT).await?;
        let reply = reply?;
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
        if peer.id == self.me.id {
            return Err("cannot join: that is this server".into());
        }
        self.learn(peer, true);
        Ok(JoinReply {
            me: self.info(),
            known: self.known().into_iter().map(|(p, _)| p).collect(),
        })
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
                    if let Err(e) = self.join(&peer.addr).await {
                        tracing::debug!("refresh {}: {e}", peer.addr);
                    }
                }
            }
            self.bootstrap().await;
            self.add_known().await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.cancelled() => return,
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
            "/raft/info" => encode(&self.info()),
            "/raft/write" => {
                if !self.me.server {
                    return Err((400, "not a server".into()));
                }
                encode(&self.write_indexed(decode(body)?).await)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh in-memory store for each of openraft's storage tests.
    struct Fresh;

    impl openraft::testing::StoreBuilder<TypeConfig, LogStore, StateMachine, ()> for Fresh {
        async fn build(&self) -> Result<((), LogStore, StateMachine), StoreError> {
            let db = open_db(None).map_err(|e| io_err(std::io::Error::other(e)))?;
            let sm =
                StateMachine::open(db.clone()).map_err(|e| io_err(std::io::Error::other(e)))?;
            let log = LogStore::open(db, None).map_err(|e| io_err(std::io::Error::other(e)))?;
            Ok(((), log, sm))
        }
    }

    /// A fresh store in a data dir (kept as long as the test's guard), whose journal
    /// checkpoints every other record: appends, truncations and purges straddle checkpoints.
    struct OnDisk;

    impl openraft::testing::StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir>
        for OnDisk
    {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StoreError> {
            let fail = |e: String| io_err(std::io::Error::other(e));
            let dir = tempfile::tempdir().map_err(io_err)?;
            let db = open_db(Some(dir.path())).map_err(fail)?;
            let sm = StateMachine::open(db.clone()).map_err(fail)?;
            let journal = Journal::open(Some(&dir.path().join("raft")), &db)
                .map_err(fail)?
                .checkpoint_every(2);
            let log = LogStore::with_journal(db, journal);
            Ok((dir, log, sm))
        }
    }

    #[test]
    fn the_storage_passes_openraft_conformance_suite() {
        openraft::testing::Suite::test_all(Fresh).unwrap();
        openraft::testing::Suite::test_all(OnDisk).unwrap();
    }

    #[test]
    fn the_log_and_snapshots_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = open_db(Some(dir.path())).unwrap();
            let mut log = LogStore::open(db.clone(), Some(dir.path())).unwrap();
            let vote = Vote::new(3, 7);
            log.save_vote(&vote).await.unwrap();
            let mut sm = StateMachine::open(db.clone()).unwrap();
            let cmd = Command::KvSet {
                key: "k".into(),
                value: b"v".to_vec(),
                flags: 0,
                cas: None,
            };
            let entry = Entry::<TypeConfig> {
                log_id: LogId::new(openraft::CommittedLeaderId::new(3, 7), 5),
                payload: EntryPayload::Normal(vec![cmd]),
            };
            sm.apply(vec![entry]).await.unwrap();
            let mut builder = sm.get_snapshot_builder().await;
            builder.build_snapshot().await.unwrap();
            drop((log, sm, db, builder));

            let db = open_db(Some(dir.path())).unwrap();
            let mut log = LogStore::open(db.clone(), Some(dir.path())).unwrap();
            assert_eq!(log.read_vote().await.unwrap(), Some(vote));
            let mut sm = StateMachine::open(db).unwrap();
            let (applied, _) = sm.applied_state().await.unwrap();
            assert_eq!(applied.map(|l| l.index), Some(5));
            let (value, index) = sm.catalog().read(|s| {
                let (e, i) = s.kv_get("k");
                (e.map(|e| e.value), i)
            });
            assert!(value.is_some());
            assert_eq!(index, 5);
        });
    }
}

#[cfg(test)]
mod log_model_tests {
    use super::*;

    /// A small deterministic generator (xorshift), so a failure can be replayed by its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
    }

    fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(openraft::CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn open(dir: &Path, every: usize) -> LogStore {
        let db = open_db(Some(dir)).unwrap();
        let journal = Journal::open(Some(&dir.join("raft")), &db)
            .unwrap()
            .checkpoint_every(every);
        LogStore::with_journal(db, journal)
    }

    /// Appends, truncations, purges, checkpoints and reopenings (as after a crash: only the
    /// checkpoints and the journal remain) in random order; the store always reads as a plain
    /// in-memory log given the same changes.
    #[test]
    fn the_log_reads_as_a_model_log_through_checkpoints_and_crashes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for seed in 1..=12u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let dir = tempfile::tempdir().unwrap();
            let every = 1 + rng.below(5) as usize;
            let mut log = open(dir.path(), every);
            let mut model: BTreeMap<u64, Entry<TypeConfig>> = BTreeMap::new();
            let mut purged: Option<LogId<NodeId>> = None;
            let mut term = 1;
            rt.block_on(async {
                for step in 0..300 {
                    let last = model
                        .keys()
                        .next_back()
                        .copied()
                        .or(purged.map(|p| p.index))
                        .unwrap_or(0);
                    let first = purged.map_or(1, |p| p.index + 1);
                    match rng.below(10) {
                        0..=4 => {
                            let new: Vec<_> = (1..=1 + rng.below(3))
                                .map(|k| entry(term, last + k))
                                .collect();
                            for e in &new {
                                model.insert(e.log_id.index, e.clone());
                            }
                            log.put(new).unwrap();
                        }
                        5 | 6 if last >= first => {
                            let since = first + rng.below(last - first + 1);
                            model.split_off(&since);
                            term += 1;
                            log.truncate(entry(term, since).log_id).await.unwrap();
                        }
                        7 if last >= first => {
                            let upto = first + rng.below(last - first + 1);
                            let id = model[&upto].log_id;
                            model = model.split_off(&(upto + 1));
                            purged = Some(id);
                            log.purge(id).await.unwrap();
                        }
                        8 => {
                            drop(log);
                            log = open(dir.path(), every);
                        }
                        9 if rng.below(2) == 0 => {
                            // A snapshot installed past the end of the log: purged past it.
                            let id = entry(term, last + 1 + rng.below(3)).log_id;
                            model.clear();
                            purged = Some(id);
                            log.purge(id).await.unwrap();
                        }
                        _ => {}
                    }
                    let all = log.try_get_log_entries(..).await.unwrap();
                    let want: Vec<_> = model.values().cloned().collect();
                    assert_eq!(all, want, "seed {seed}, step {step}");
                    let from = first + rng.below(last.saturating_sub(first) + 2);
                    let some = log.try_get_log_entries(from..from + 3).await.unwrap();
                    let want: Vec<_> = model
                        .range(from..from + 3)
                        .map(|(_, e)| e.clone())
                        .collect();
                    assert_eq!(some, want, "seed {seed}, step {step}");
                    let state = log.get_log_state().await.unwrap();
                    let last_id = model.values().next_back().map(|e| e.log_id).or(purged);
                    assert_eq!(
                        (state.last_purged_log_id, state.last_log_id),
                        (purged, last_id),
                        "seed {seed}, step {step}"
                    );
                }
            });
        }
    }
}
