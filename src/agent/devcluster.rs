//! `-dev -dev-servers N`: a cluster of N Raft servers in this one process, on loopback. Each
//! server is a whole agent (`agent::start_on`) with its own node name (`dev-1`…), HTTP port and
//! server port, and talks to the others over TCP exactly as separate processes do; so every
//! server answers the whole HTTP API as a separate agent would, and nothing of the cluster is
//! re-implemented here. What this module owns is the slots around those agents:
//!
//! - every port is bound before any server starts, so each server is started knowing the
//!   others' server addresses (`-retry-join`) and `-bootstrap-expect=N` forms the cluster;
//! - an HTTP port that is taken is replaced by a free one, and the banner says which was asked
//!   and which is used; server ports are always free ones;
//! - `PUT /v1/agent/leave` on a server stops that server only and takes it out of the Raft
//!   configuration (as Consul's graceful leave does), so the others keep a majority and serve;
//!   the process runs while at least one server does;
//! - the rejoin rule: `PUT /v1/agent/join/ADDR` on any running server, where ADDR is the server
//!   address, the HTTP address or the node name of a server that left, starts a fresh server
//!   in that slot: the same node name, node ID and ports, an empty store (with `-data-dir`, its
//!   sub-folder is emptied first), which joins the running servers and catches up from the
//!   leader. Any other ADDR is an ordinary join.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Agent, Config, Running};

/// The cluster sizes `-dev-servers` accepts.
pub const SIZES: [usize; 3] = [1, 3, 5];

/// `-dev-servers`' value: 1, 3 or 5.
pub fn parse_size(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if SIZES.contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid value {v:?} for flag -dev-servers: a dev cluster has 1, 3 or 5 servers \
             (an odd number, so that a majority survives one leaving)"
        )),
    }
}

/// What `rejoin` answers, later.
pub type Rejoin<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<Result<(), String>>> + Send + 'a>>;

/// How long a dev cluster may take to elect a leader and register its nodes.
const READY_WAIT: Duration = Duration::from_secs(30);

/// One server's place in the cluster: what stays the same across a leave and a rejoin.
struct Slot {
    node: String,
    node_id: String,
    /// The HTTP port asked for (0: any free one).
    asked_port: u16,
    http: SocketAddr,
    server: SocketAddr,
    data_dir: Option<PathBuf>,
    /// `None` once the server left.
    running: Option<Running>,
}

/// N servers in this process.
pub struct DevCluster {
    base: Config,
    slots: Mutex<Vec<Slot>>,
    /// Cancelled when the last server has left or the cluster was stopped.
    pub done: CancellationToken,
    stopping: CancellationToken,
    me: Weak<DevCluster>,
}

impl DevCluster {
    /// Binds every server's ports, then starts the servers: `base.dev_servers` of them.
    pub async fn start(base: Config) -> Result<Arc<DevCluster>, String> {
        let n = base.dev_servers;
        let mut bound = Vec::new();
        for i in 0..n {
            let asked = match base.http_port {
                0 => 0,
                p => p
                    .checked_add(i as u16)
                    .ok_or_else(|| format!("-http-port {p}: no room for {n} consecutive ports"))?,
            };
            let http = bind_or_free(&base.client, asked).await?;
            let rpc = bind(&base.bind, 0).await?;
            bound.push((asked, http, rpc));
        }
        let cluster = Arc::new_cyclic(|me| DevCluster {
            base: base.clone(),
            slots: Mutex::new(Vec::new()),
            done: CancellationToken::new(),
            stopping: CancellationToken::new(),
            me: me.clone(),
        });
        let servers: Vec<String> = bound
            .iter()
            .map(|(_, _, rpc)| local(rpc).map(|a| a.to_string()))
            .collect::<Result<_, _>>()?;
        let mut slots = cluster.slots.lock().await;
        for (i, (asked, http, rpc)) in bound.into_iter().enumerate() {
            let node = format!("dev-{}", i + 1);
            let data_dir = base.data_dir.as_ref().map(|d| d.join(&node));
            let node_id = match &data_dir {
                Some(dir) => super::node_id(Some(dir))?,
                None => crate::uuid(),
            };
            let mut slot = Slot {
                node,
                node_id,
                asked_port: asked,
                http: local(&http)?,
                server: local(&rpc)?,
                data_dir,
                running: None,
            };
            let others: Vec<String> = servers
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, s)| s.clone())
                .collect();
            let config = cluster.server_config(&slot, others, i == 0);
            slot.running = Some(cluster.launch(i, config, rpc, http).await?);
            slots.push(slot);
        }
        drop(slots);
        cluster.wait_ready(READY_WAIT).await?;
        let leader = cluster.leader().await.map(|(_, s)| s).unwrap_or_default();
        tokio::spawn(announce_leaders(Arc::downgrade(&cluster), leader));
        Ok(cluster)
    }

    /// Waits until every server sees every node in its catalog, and the first server's
    /// configured services: what a renderer started next expects to find.
    async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let n = self.base.dev_servers;
        let services = 1 + self.base.services.len();
        loop {
            let agents = self.running_agents().await;
            let ready = agents.iter().all(|a| {
                a.store
                    .catalog
                    .read(|s| s.nodes().0.len() >= n && s.services_on("dev-1").len() >= services)
            });
            if ready && self.leader().await.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the dev cluster of {n} servers did not form within {}s",
                    timeout.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The leader's node name and slot (HTTP address, server address), once elected.
    async fn leader(&self) -> Option<(String, String)> {
        let addr = self
            .running_agents()
            .await
            .iter()
            .find_map(|a| a.store.cluster.leader().map(|(_, addr)| addr))?;
        let slots = self.slots.lock().await;
        let s = slots.iter().find(|s| s.server.to_string() == addr)?;
        Some((
            format!(
                "==> {} leads (HTTP API on {}, server RPC on {})",
                s.node, s.http, s.server
            ),
            addr,
        ))
    }

    /// One server's agent settings: the base `-dev` ones, its own name, ID, ports and store,
    /// the others to join. The base's services (`ctmpl -dev`'s example) go to the first only.
    fn server_config(&self, slot: &Slot, others: Vec<String>, first: bool) -> Config {
        let mut c = self.base.clone();
        c.node = slot.node.clone();
        c.node_id = Some(slot.node_id.clone());
        c.http_port = slot.http.port();
        c.server_port = slot.server.port();
        c.data_dir = slot.data_dir.clone();
        c.bootstrap_expect = self.base.dev_servers as u32;
        c.join = Vec::new();
        c.retry_join = others;
        if !first {
            c.services = Vec::new();
            c.checks = Vec::new();
        }
        c
    }

    /// Starts slot `i`'s agent and watches for its leave.
    async fn launch(
        &self,
        i: usize,
        config: Config,
        rpc: TcpListener,
        http: TcpListener,
    ) -> Result<Running, String> {
        let running = super::start_on(config, rpc, http).await?;
        let _ = running.agent.dev_cluster.set(self.me.clone());
        let me = self.me.clone();
        let leave = running.shutdown.clone();
        tokio::spawn(async move {
            leave.cancelled().await;
            if let Some(cluster) = me.upgrade() {
                cluster.left(i).await;
            }
        });
        Ok(running)
    }

    /// The lines the banner prints: each server's node name, HTTP and server address.
    pub async fn describe(&self) -> Vec<String> {
        let slots = self.slots.lock().await;
        let store = match &self.base.data_dir {
            Some(d) => format!("data in {}/dev-N", d.display()),
            None => "in memory".to_string(),
        };
        let mut out = vec![format!(
            "==> ctmpl dev cluster: {} servers in this process, datacenter {}, {store}",
            slots.len(),
            self.base.datacenter
        )];
        for s in slots.iter() {
            let taken = if s.asked_port != 0 && s.asked_port != s.http.port() {
                format!(
                    " (port {} was taken; using {})",
                    s.asked_port,
                    s.http.port()
                )
            } else {
                String::new()
            };
            out.push(format!(
                "    {}: HTTP API on {}{taken}, server RPC on {}",
                s.node, s.http, s.server
            ));
        }
        drop(slots);
        if let Some((line, _)) = self.leader().await {
            out.push(line);
        }
        out
    }

    /// The running servers' HTTP addresses, in slot order.
    pub async fn http_addrs(&self) -> Vec<(String, SocketAddr)> {
        let slots = self.slots.lock().await;
        slots
            .iter()
            .filter(|s| s.running.is_some())
            .map(|s| (s.node.clone(), s.http))
            .collect()
    }

    /// Waits until server `node` stops (its leave, or the cluster's stop); at once when it is
    /// not running. `ctmpl -dev -dev-servers N` then moves its templates to another server.
    pub async fn until_stopped(&self, node: &str) {
        let stopped = {
            let slots = self.slots.lock().await;
            slots
                .iter()
                .find(|s| s.node == node)
                .and_then(|s| s.running.as_ref())
                .map(|r| r.shutdown.clone())
        };
        if let Some(token) = stopped {
            token.cancelled().await;
        }
    }

    /// `ctmpl -dev -dev-servers N`: every running server's UI shows the runner's templates.
    pub async fn attach_templates(&self, status: &crate::status::Shared) {
        for agent in self.running_agents().await {
            let _ = agent.templates.set(status.clone());
        }
    }

    async fn running_agents(&self) -> Vec<Arc<Agent>> {
        let slots = self.slots.lock().await;
        slots
            .iter()
            .filter_map(|s| s.running.as_ref().map(|r| r.agent.clone()))
            .collect()
    }

    /// Slot `i`'s server was asked to leave: out of the Raft configuration, then stopped. A
    /// follower is taken out while it still runs (as Consul's leave); a leader cannot take
    /// itself out here, so it stops first and the new leader takes it out.
    async fn left(&self, i: usize) {
        if self.stopping.is_cancelled() {
            return;
        }
        let Some(running) = self.slots.lock().await[i].running.take() else {
            return;
        };
        let node = running.agent.config.node.clone();
        let id = running.agent.store.cluster.me.id;
        let others = self.running_agents().await;
        let leads = running.agent.store.cluster.leader().map(|(l, _)| l) == Some(id);
        if !leads {
            remove_voter(&others, id).await;
        }
        running.stop().await;
        if others.is_empty() {
            eprintln!("==> {node} left; it was the last server running");
            self.done.cancel();
            return;
        }
        eprintln!(
            "==> {node} left the cluster; {} servers keep serving",
            others.len()
        );
        if leads {
            remove_voter(&others, id).await;
        }
    }

    /// `join ADDR` on one of the servers: when ADDR names a server of this cluster that left,
    /// a fresh server starts in its slot (`None`: ADDR is not one of them, join as usual).
    /// Boxed: it starts an agent whose HTTP server may itself call it (the future's type would
    /// otherwise contain itself).
    pub fn rejoin<'a>(&'a self, addr: &'a str) -> Rejoin<'a> {
        Box::pin(async move {
            let mut slots = self.slots.lock().await;
            let i = slots.iter().position(|s| {
                s.server.to_string() == addr || s.http.to_string() == addr || s.node == addr
            })?;
            if slots[i].running.is_some() {
                return None;
            }
            Some(self.restart(&mut slots, i).await)
        })
    }

    async fn restart(&self, slots: &mut [Slot], i: usize) -> Result<(), String> {
        let slot = &slots[i];
        if let Some(dir) = &slot.data_dir {
            fresh_dir(dir, &slot.node_id)?;
        }
        let http = bind_retrying(slot.http).await?;
        let rpc = bind_retrying(slot.server).await?;
        let others: Vec<String> = slots
            .iter()
            .filter(|s| s.running.is_some())
            .map(|s| s.server.to_string())
            .collect();
        let config = self.server_config(slot, others, false);
        let running = self.launch(i, config, rpc, http).await?;
        let slot = &mut slots[i];
        eprintln!(
            "==> {} rejoined: a fresh server on HTTP {} and server {}, catching up from the leader",
            slot.node, slot.http, slot.server
        );
        slot.running = Some(running);
        Ok(())
    }

    /// Stops every server still running (SIGINT, SIGTERM).
    pub async fn stop(&self) {
        self.stopping.cancel();
        let running: Vec<Running> = {
            let mut slots = self.slots.lock().await;
            slots.iter_mut().filter_map(|s| s.running.take()).collect()
        };
        for r in running {
            r.stop().await;
        }
        self.done.cancel();
    }
}

/// Takes `id` out of the Raft configuration through whichever of `servers` leads (waiting for
/// an election if need be), and out of what each of them knows, so it is not added back.
async fn remove_voter(servers: &[Arc<Agent>], id: super::raft::NodeId) {
    for a in servers {
        a.store.cluster.forget(id);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let leader = servers.iter().find(|a| {
            let c = &a.store.cluster;
            c.leader().map(|(l, _)| l) == Some(c.me.id)
        });
        if let Some(leader) = leader {
            let voters = leader.store.cluster.voters();
            if !voters.contains(&id) {
                break;
            }
            let rest: BTreeSet<_> = voters.into_iter().filter(|v| *v != id).collect();
            match leader
                .store
                .cluster
                .raft
                .change_membership(rest, false)
                .await
            {
                Ok(_) => break,
                Err(e) => tracing::debug!("removing a server that left: {e}"),
            }
        }
        if Instant::now() >= deadline {
            tracing::warn!("a server left but could not be taken out of the Raft configuration");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for a in servers {
        a.store.cluster.forget(id);
    }
}

/// Prints the leader whenever it changes, until the cluster is done. `last`: the server
/// address of the leader the banner named.
async fn announce_leaders(cluster: Weak<DevCluster>, mut last: String) {
    loop {
        let Some(c) = cluster.upgrade() else { return };
        if c.done.is_cancelled() {
            return;
        }
        if let Some((line, addr)) = c.leader().await.filter(|(_, a)| *a != last) {
            eprintln!("{line}");
            last = addr;
        }
        drop(c);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn local(l: &TcpListener) -> Result<SocketAddr, String> {
    l.local_addr().map_err(|e| e.to_string())
}

async fn bind(host: &str, port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(format!("{host}:{port}"))
        .await
        .map_err(|e| format!("listen on {host}:{port}: {e}"))
}

/// `host:port`, or a free port on `host` when that one is taken.
async fn bind_or_free(host: &str, port: u16) -> Result<TcpListener, String> {
    match TcpListener::bind(format!("{host}:{port}")).await {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bind(host, 0).await,
        Err(e) => Err(format!("listen on {host}:{port}: {e}")),
    }
}

/// A port a server that just left held: its listener closes once its last requests finished.
async fn bind_retrying(addr: SocketAddr) -> Result<TcpListener, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if Instant::now() >= deadline => return Err(format!("listen on {addr}: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Empties a rejoining server's data folder, keeping its node ID.
fn fresh_dir(dir: &std::path::Path, node_id: &str) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(at)?;
    }
    std::fs::create_dir_all(dir).map_err(at)?;
    std::fs::write(dir.join("node-id"), node_id).map_err(at)
}
