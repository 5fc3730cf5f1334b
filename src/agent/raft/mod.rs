//! The Raft glue: openraft's type config and what its parts share. The parts:
//! - `log_store`: the Raft log, the vote and the committed index in redb
//!   (`data-dir/raft/raft.redb`, or redb's in-memory backend under `-dev`), with the `journal`
//!   in front of it that makes a log write durable with one small `fdatasync`;
//! - `state_machine`: the `Catalog`, applied at the Raft log index, and its snapshots in redb;
//! - `transport`: the HTTP/JSON RPCs between servers (`/raft/append`, `/raft/vote`,
//!   `/raft/snapshot` on the server port) over a kept-alive connection per peer;
//! - `cluster`: the Raft node, discovery (`/raft/join`), bootstrap with `-bootstrap-expect`,
//!   the leader adding the servers it hears about, and the write path (group commit,
//!   forwarding to the leader, read indexes);
//! - `events`: what happened to the cluster (leader, members, voters), logged once each;
//! - `hedge`: a client agent's writes, sent to another server too when the first is slow to
//!   answer (the request id keeps the copies from applying twice);
//! - `requests`: forwarded writes applied at most once (request ids remembered by the state
//!   machine), so a write can be re-sent to a new leader when the old one stops answering;
//! - `timing`: heartbeat, election timeout and leader lease, from Consul's `raft_multiplier`.
//!
//! The log store and the state machine share one redb database (`open_db`): its `logs` table
//! holds the log, its `meta` table the vote, the committed index and the last snapshot. The
//! parts' public types are re-exported here, so the agent names them `raft::X`.

// openraft's storage traits fix the error type (`StorageError`, 224 bytes); the helpers here
// return it too.
#![allow(clippy::result_large_err)]

mod cluster;
mod events;
mod hedge;
mod journal;
mod log_store;
mod peers;
pub mod requests;
mod state_machine;
mod timing;
mod transport;

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use openraft::{AnyError, StorageError, StorageIOError};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use cluster::{
    raft_id, Cluster, JoinReply, NodeState, PeerInfo, Policy, Written, NO_LEADER, NO_SERVERS,
};
pub use hedge::{first_answer, Preferred, Verdict};
pub use log_store::LogStore;
pub use peers::Peers;
pub use requests::{new_id, Applied, Batch, RequestId};
pub use state_machine::{Builder, StateMachine};
pub use timing::Timing;
pub use transport::{post, Conn, Network, PostError};

/// What an entry's commands answer once applied, in their order (none for Raft's own entries).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Response(pub Vec<Applied>);

// An entry carries the commands proposed together (group commit): they share its log index.
openraft::declare_raft_types!(
    pub TypeConfig:
        D = Batch,
        R = Response,
);

pub type NodeId = u64;
pub type Raft = openraft::Raft<TypeConfig>;
type StoreError = StorageError<NodeId>;

const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

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

#[cfg(test)]
mod tests {
    //! The log store and the state machine together, as openraft drives them.
    use openraft::storage::{RaftLogStorage, RaftStateMachine};
    use openraft::{Entry, EntryPayload, LogId, RaftSnapshotBuilder, Vote};

    use super::journal::Journal;
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
            let cmd = super::super::catalog::Command::KvSet {
                key: "k".into(),
                value: b"v".to_vec(),
                flags: 0,
                cas: None,
            };
            let entry = Entry::<TypeConfig> {
                log_id: LogId::new(openraft::CommittedLeaderId::new(3, 7), 5),
                payload: EntryPayload::Normal(Batch::from(vec![cmd])),
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
