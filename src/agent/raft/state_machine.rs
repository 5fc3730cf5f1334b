//! The state machine: the `Catalog` in memory, applied at each entry's log index, plus the
//! membership and last applied log id that Raft asks for. A snapshot is the whole catalog as
//! JSON; the last one is kept in redb's `meta` table (`snapshot_meta`, `snapshot_data`), so a
//! restart loads the catalog from it and Raft replays only the log after it. The catalog is
//! shared (`Arc`) with the HTTP API, which reads it without going through Raft. The ids of the
//! forwarded writes applied lately (`Requests`) are part of the state, and of its snapshots.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StoredMembership,
};
use redb::{Database, ReadableDatabase};
use serde::{Deserialize, Serialize};

use super::super::catalog::{Catalog, State};
use super::requests::Requests;
use super::{io_err, json_err, meta_get, NodeId, Response, StoreError, TypeConfig, META};

/// A snapshot's contents: the whole catalog.
#[derive(Serialize, Deserialize)]
struct SnapshotData {
    state: State,
    /// Absent from snapshots taken before requests had ids.
    #[serde(default)]
    requests: Requests,
}

/// The state machine: the catalog in memory, plus what Raft needs to know about it. The last
/// snapshot is kept in redb; on start the catalog is loaded from it and Raft replays the log.
pub struct StateMachine {
    catalog: Arc<Catalog>,
    requests: Requests,
    db: Arc<Database>,
    applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl StateMachine {
    /// The state machine over `catalog`, restored from the last snapshot in `db`.
    pub fn open(db: Arc<Database>) -> Result<StateMachine, String> {
        let mut sm = StateMachine {
            catalog: Arc::new(Catalog::new(State::default())),
            requests: Requests::default(),
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
        self.requests = snap.requests;
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
    requests: Requests,
    applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StoreError> {
        let data = serde_json::to_vec(&SnapshotData {
            state: std::mem::take(&mut self.state),
            requests: std::mem::take(&mut self.requests),
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
        tracing::info!(
            "agent.server.raft: snapshot complete up to: index={}",
            meta.last_log_id.map_or(0, |l| l.index)
        );
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
                EntryPayload::Normal(batch) => Response(self.requests.apply(
                    &self.catalog,
                    entry.log_id.index,
                    &batch,
                )),
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
            requests: self.requests.clone(),
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
        save_snapshot(&self.db, meta, &data)?;
        tracing::info!(
            "agent.server.raft: Installed remote snapshot: index={}",
            meta.last_log_id.map_or(0, |l| l.index)
        );
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StoreError> {
        self.stored_snapshot()
    }
}
