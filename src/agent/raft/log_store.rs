//! The Raft log, the vote and the committed index. The log lives in redb's `logs` table, but a
//! write is made durable by the `journal` (one checksummed record, one `fdatasync`) and kept in
//! memory (`Tail`) until a checkpoint writes the changes since the last one to redb in one
//! durable commit: a durable redb commit per write costs about twice the time and four times
//! the CPU. Reads merge redb's entries with the tail's. The vote is written to redb durably at
//! once; the committed index, a hint, at most once a second and without an fsync of its own.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{Entry, LogId, LogState, RaftLogReader, Vote};
use redb::{Database, Durability, ReadableDatabase};
use tokio::time::Instant;

use super::journal::{Journal, Op};
use super::{
    io_err, json_err, meta_get, meta_put, meta_put_with, NodeId, StoreError, TypeConfig, LOGS,
};

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

    pub(super) fn with_journal(db: Arc<Database>, journal: Journal) -> LogStore {
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

#[cfg(test)]
mod tests {
    use openraft::EntryPayload;

    use super::super::open_db;
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
