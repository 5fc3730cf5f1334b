//! The catalog and the way to change it: every write is a Raft command (`raft::Cluster::write`,
//! forwarded to the leader when this server is not it), applied to the catalog at its log index
//! on every server.

use std::path::Path;
use std::sync::Arc;

use super::catalog::{Catalog, Command, Outcome};
use super::raft::{self, Cluster, LogStore, PeerInfo, Policy, StateMachine};

/// The catalog and the way to change it.
#[derive(Clone)]
pub struct Store {
    pub catalog: Arc<Catalog>,
    pub cluster: Arc<Cluster>,
}

impl Store {
    /// A store kept in `data_dir` (redb), or in memory only when there is none.
    pub async fn open(
        data_dir: Option<&Path>,
        me: PeerInfo,
        policy: Policy,
    ) -> Result<Store, String> {
        let db = raft::open_db(data_dir)?;
        let log = LogStore::open(db.clone(), data_dir)?;
        let sm = StateMachine::open(db)?;
        let catalog = sm.catalog();
        let cluster = Cluster::start(me, policy, log, sm).await?;
        Ok(Store { catalog, cluster })
    }

    /// Commits a command through Raft; the answer comes once it is durable on a quorum and
    /// applied here.
    pub async fn write(&self, cmd: Command) -> Result<Outcome, String> {
        self.cluster.write(cmd).await
    }
}
