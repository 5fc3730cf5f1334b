//! `ctmpl agent`: a Consul-compatible agent. It owns its node in the catalog, the HTTP and
//! server-port listeners and shutdown; `config` is what it was asked to run as (filled from the
//! command line by `cli::agent`, which also runs the process around it). The catalog lives in
//! `catalog` (state machine), replicated by `raft` (openraft, redb, the server port's RPCs,
//! discovery and bootstrap) behind `store` (the write path); `checks` runs local health checks;
//! `banner` is the start-up banner.

pub mod acl;
pub mod banner;
pub mod catalog;
pub mod checks;
pub mod config;
pub mod connlimit;
pub mod decode;
pub mod devcluster;
pub mod dispatch;
pub mod filter;
pub mod h2;
pub mod http;
pub mod interfaces;
pub mod metrics;
pub mod raft;
pub mod request;
pub mod rpc_auth;
pub mod server;
pub mod store;
pub mod tls;
pub mod validate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};
use tokio_util::sync::CancellationToken;

use crate::consul::api::{HealthCheck, Member, Node, NodeService, PASSING};
use catalog::{Command, Register};
use checks::{Local, LocalCheck};
pub use config::Config;
use store::Store;

/// The Consul version we answer as.
pub const CONSUL_VERSION: &str = "1.18.0";

/// A running agent: what the HTTP handlers reach.
pub struct Agent {
    pub config: Config,
    pub store: Store,
    pub local: Arc<Local>,
    pub shutdown: CancellationToken,
    pub node_id: String,
    /// The dev cluster this server is part of (`-dev -dev-servers N`): `join` restarts a
    /// server of it that left.
    pub dev_cluster: std::sync::OnceLock<std::sync::Weak<devcluster::DevCluster>>,
    pub metrics: metrics::Metrics,
    /// `ctmpl -dev`: the runner's published status, served on `/v1/ctmpl/templates`.
    pub templates: std::sync::OnceLock<crate::status::Shared>,
}

impl Agent {
    /// Opens the store, puts this node in the catalog and restores the services it owns.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Arc<Agent>, String> {
        let node_id = match &config.node_id {
            Some(id) => id.clone(),
            None => node_id(config.data_dir.as_deref())?,
        };
        let me = raft::PeerInfo {
            id: raft::raft_id(&node_id),
            addr: format!("{}:{}", config.advertise, config.server_port),
            name: config.node.clone(),
            datacenter: config.datacenter.clone(),
            server: config.server,
            http: format!(
                "{}:{}",
                if config.client == "0.0.0.0" {
                    &config.advertise
                } else {
                    &config.client
                },
                config.http_port
            ),
            expect: config.bootstrap_expect,
            initialized: false,
        };
        if let Some(dir) = &config.data_dir {
            if dir.join("catalog.snapshot").exists() {
                tracing::warn!(
                    "{}: catalog.snapshot and catalog.log come from a ctmpl before Raft and are not imported",
                    dir.display()
                );
            }
        }
        // A client agent keeps no catalog of its own: it forwards to the servers.
        let data_dir = config.data_dir.as_deref().filter(|_| config.server);
        let policy = raft::Policy {
            expect: config.bootstrap_expect,
            snapshot_threshold: config.raft_snapshot_threshold,
            trailing_logs: config.raft_trailing_logs,
            timing: if config.dev {
                raft::Timing::dev()
            } else {
                raft::Timing::consul(config.raft_multiplier)
            },
            peers: Arc::new(raft::Peers::new(&config)?),
        };
        let store = Store::open(data_dir, me, policy).await?;
        let cluster = store.cluster.clone();
        // A single server bootstraps itself: `-bootstrap-expect=1`, `-dev`, or a server given
        // nobody to join.
        let single = config.server
            && (config.bootstrap_expect == 1
                || (config.bootstrap_expect == 0
                    && config.join.is_empty()
                    && config.retry_join.is_empty()));
        let mut joined = config.join.is_empty();
        let mut errors = Vec::new();
        for addr in &config.join {
            match cluster.join(addr).await {
                Ok(()) => joined = true,
                Err(e) => errors.push(e),
            }
        }
        if !joined {
            return Err(format!("-join failed: {}", errors.join("; ")));
        }
        let node = Node {
            id: node_id.clone(),
            node: config.node.clone(),
            address: config.advertise.clone(),
            datacenter: config.datacenter.clone(),
            tagged_addresses: ["lan", "lan_ipv4", "wan", "wan_ipv4"]
                .iter()
                .map(|k| (k.to_string(), config.advertise.clone()))
                .collect(),
            meta: node_meta(&config.node_meta),
            ..Default::default()
        };
        let min_deregister = if config.dev {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(60)
        };
        let local = Local::new(
            node.clone(),
            store.clone(),
            shutdown.clone(),
            min_deregister,
            config.check_output_max_size,
        );
        let agent = Arc::new(Agent {
            config,
            store,
            local,
            shutdown,
            node_id,
            dev_cluster: std::sync::OnceLock::new(),
            metrics: metrics::Metrics::new(),
            templates: std::sync::OnceLock::new(),
        });
        metrics::watch_leadership(&agent);
        tokio::spawn(cluster.clone().run(
            agent.config.retry_join.clone(),
            single,
            agent.shutdown.clone(),
        ));
        let alone = single || cluster.voters() == [cluster.me.id];
        if alone && cluster.wait_leader(Duration::from_secs(10)).await {
            agent.sync_local(node).await?;
        } else {
            // The cluster is not there yet: put this node in the catalog once it is.
            let agent = agent.clone();
            tokio::spawn(async move {
                loop {
                    if agent.shutdown.is_cancelled() {
                        return;
                    }
                    if agent
                        .store
                        .cluster
                        .wait_leader(Duration::from_secs(1))
                        .await
                    {
                        match agent.sync_local(node.clone()).await {
                            Ok(()) => return,
                            Err(e) => tracing::warn!("registering this node: {e}"),
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
        }
        if agent.config.server && agent.config.acl.enabled {
            // A lone server has its management token before it answers anyone; in a cluster
            // it is written once a leader is there.
            let made = alone
                && tokio::time::timeout(
                    Duration::from_secs(10),
                    acl::http::ensure_initial_management(agent.clone()),
                )
                .await
                .is_ok();
            if !made {
                tokio::spawn(acl::http::ensure_initial_management(agent.clone()));
            }
        }
        Ok(agent)
    }

    /// Puts this node in the catalog, restores the services it owns, registers the configured
    /// ones: once there is a leader.
    async fn sync_local(&self, node: Node) -> Result<(), String> {
        self.store.cluster.barrier().await?;
        self.register_self(node).await?;
        self.restore_local().await?;
        for def in self.config.services.clone() {
            let (svc, checks) = decode::service_definition(def, &self.local.node)
                .map_err(|e| format!("service definition: {}", e.message))?;
            self.local
                .add_service(svc, checks, false)
                .await
                .map_err(|e| e.message)?;
        }
        for def in self.config.checks.clone() {
            let check = decode::check_definition(def)
                .map_err(|e| format!("check definition: {}", e.message))?;
            self.local.add_check(check).await.map_err(|e| e.message)?;
        }
        Ok(())
    }

    /// Service definitions from config files again (SIGHUP, a changed `-config-dir`): those new
    /// or changed since `before` (service ID → definition) are registered, those gone are
    /// removed. Returns the new state. Services registered through the API are left alone.
    pub async fn reload_services(
        &self,
        defs: &[Json],
        before: &HashMap<String, Json>,
    ) -> Result<HashMap<String, Json>, String> {
        let mut now = HashMap::new();
        for def in defs {
            let (svc, checks) = decode::service_definition(def.clone(), &self.local.node)
                .map_err(|e| format!("service definition: {}", e.message))?;
            let id = svc.id.clone();
            if before.get(&id) != Some(def) {
                tracing::info!(service = %id, "service definition loaded");
                self.local
                    .add_service(svc, checks, true)
                    .await
                    .map_err(|e| e.message)?;
            }
            now.insert(id, def.clone());
        }
        for id in before.keys().filter(|id| !now.contains_key(*id)) {
            tracing::info!(service = %id, "service definition removed");
            if let Err(e) = self.local.remove_service(id).await {
                tracing::warn!(service = %id, "removing: {}", e.message);
            }
        }
        Ok(now)
    }

    /// Check definitions from config files again, as `reload_services` does for services:
    /// new or changed ones (check ID → definition) are registered, those gone removed; checks
    /// registered through the API are left alone. Runs after `reload_services`, so a check
    /// may name a service defined in the same reload.
    pub async fn reload_checks(
        &self,
        defs: &[Json],
        before: &HashMap<String, Json>,
    ) -> Result<HashMap<String, Json>, String> {
        let mut now = HashMap::new();
        for def in defs {
            let check = decode::check_definition(def.clone())
                .map_err(|e| format!("check definition: {}", e.message))?;
            let id = check.check.check_id.clone();
            if before.get(&id) != Some(def) {
                tracing::info!(check = %id, "check definition loaded");
                self.local.add_check(check).await.map_err(|e| e.message)?;
            }
            now.insert(id, def.clone());
        }
        for id in before.keys().filter(|id| !now.contains_key(*id)) {
            tracing::info!(check = %id, "check definition removed");
            if let Err(e) = self.local.remove_check(id).await {
                tracing::warn!(check = %id, "removing: {}", e.message);
            }
        }
        Ok(now)
    }

    /// The check IDs of the check definitions the agent started with, for the first reload.
    pub fn configured_checks(&self) -> HashMap<String, Json> {
        self.config
            .checks
            .iter()
            .filter_map(|def| {
                let check = decode::check_definition(def.clone()).ok()?;
                Some((check.check.check_id, def.clone()))
            })
            .collect()
    }

    /// The service IDs of the definitions the agent started with, for the first reload.
    pub fn configured_services(&self) -> HashMap<String, Json> {
        self.config
            .services
            .iter()
            .filter_map(|def| {
                let (svc, _) = decode::service_definition(def.clone(), &self.local.node).ok()?;
                Some((svc.id, def.clone()))
            })
            .collect()
    }

    /// This node with its `serfHealth` check, and the `consul` service on a server.
    async fn register_self(&self, node: Node) -> Result<(), String> {
        let serf = HealthCheck {
            node: node.node.clone(),
            check_id: "serfHealth".into(),
            name: "Serf Health Status".into(),
            status: PASSING.into(),
            output: "Agent alive and reachable".into(),
            ..Default::default()
        };
        let service = self.config.server.then(|| NodeService {
            id: "consul".into(),
            service: "consul".into(),
            port: self.config.server_port as i64,
            meta: [
                ("raft_version", "3"),
                ("serf_protocol_current", "2"),
                ("serf_protocol_max", "5"),
                ("serf_protocol_min", "1"),
                ("version", CONSUL_VERSION),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            proxy: json!({"MeshGateway": {}, "Expose": {}}),
            connect: json!({}),
            ..Default::default()
        });
        let register = Register {
            node,
            skip_node_update: false,
            service,
            checks: vec![serf],
        };
        match self
            .store
            .write(Command::Register(Box::new(register)))
            .await?
        {
            catalog::Outcome::Rejected(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// After a restart, the services and checks this node had become local again (anti-entropy
    /// in reverse: the persisted catalog is the record of what was registered here).
    async fn restore_local(&self) -> Result<(), String> {
        let name = self.config.node.clone();
        let (services, checks) = self.store.cluster.node_state(&name).await?;
        for svc in services.into_iter().filter(|s| s.id != "consul") {
            let own: Vec<LocalCheck> = checks
                .iter()
                .filter(|c| c.service_id == svc.id)
                .filter_map(|c| LocalCheck::new(c.clone()).ok())
                .collect();
            self.local
                .add_service(svc, own, false)
                .await
                .map_err(|e| e.message)?;
        }
        for c in checks
            .into_iter()
            .filter(|c| c.service_id.is_empty() && c.check_id != "serfHealth")
        {
            if let Ok(local) = LocalCheck::new(c) {
                self.local.add_check(local).await.map_err(|e| e.message)?;
            }
        }
        Ok(())
    }

    pub fn server_addr(&self) -> String {
        format!("{}:{}", self.config.advertise, self.config.server_port)
    }

    pub fn leader(&self) -> String {
        self.store
            .cluster
            .leader()
            .map(|(_, addr)| addr)
            .unwrap_or_default()
    }

    pub fn peers(&self) -> Vec<String> {
        self.store.cluster.peers()
    }

    pub async fn join(&self, addr: &str) -> Result<(), String> {
        self.store.cluster.join(addr).await
    }

    /// This agent and every server it knows of, as `/v1/agent/members` lists them.
    pub fn members(&self) -> Vec<Member> {
        let mut out = vec![self.member()];
        for (peer, alive) in self.store.cluster.known() {
            if peer.id == self.store.cluster.me.id {
                continue;
            }
            let (host, port) = peer.addr.rsplit_once(':').unwrap_or((&peer.addr, "8300"));
            let mut m = self.member();
            m.name = peer.name.clone();
            m.addr = host.to_string();
            m.port = port.parse().unwrap_or(8300);
            m.status = if alive { 1 } else { 4 };
            m.tags.insert("id".into(), format!("{:016x}", peer.id));
            if peer.server {
                m.tags.insert("role".into(), "consul".into());
                m.tags.insert("port".into(), port.to_string());
                m.tags.insert("expect".into(), peer.expect.to_string());
            } else {
                m.tags.insert("role".into(), "node".into());
                m.tags.remove("port");
                m.tags.remove("expect");
            }
            out.push(m);
        }
        out
    }

    pub fn member(&self) -> Member {
        let c = &self.config;
        let raft_id = format!("{:016x}", self.store.cluster.me.id);
        let mut tags: crate::consul::api::Map = [
            ("role", if c.server { "consul" } else { "node" }),
            ("dc", c.datacenter.as_str()),
            ("id", raft_id.as_str()),
            ("vsn", "2"),
            ("vsn_min", "2"),
            ("vsn_max", "3"),
            ("raft_vsn", "3"),
            ("segment", ""),
            ("build", "1.18.0:ctmpl"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if c.server {
            tags.insert("port".into(), c.server_port.to_string());
            tags.insert("expect".into(), c.bootstrap_expect.to_string());
        }
        Member {
            name: c.node.clone(),
            addr: c.advertise.clone(),
            // No gossip port here: the address to join is the server port.
            port: c.server_port,
            tags,
            status: 1,
            protocol_min: 1,
            protocol_max: 5,
            protocol_cur: 2,
            delegate_min: 2,
            delegate_max: 5,
            delegate_cur: 4,
        }
    }

    pub fn self_info(&self) -> Json {
        let c = &self.config;
        json!({
            "Config": {
                "Datacenter": c.datacenter, "PrimaryDatacenter": c.datacenter, "NodeName": c.node,
                "NodeID": self.node_id, "Revision": "ctmpl", "Server": c.server,
                "Version": CONSUL_VERSION, "BuildDate": "2026-01-01T00:00:00Z"
            },
            "DebugConfig": {},
            "Coord": null,
            "Member": self.member(),
            "Stats": {
                "agent": {"blocking_queries": self.store.catalog.waiting().to_string()},
                "raft": self.store.cluster.stats()
            },
            "Meta": {}
        })
    }
}

/// The node's UUID, kept in the data dir so it survives restarts.
pub fn node_id(data_dir: Option<&std::path::Path>) -> Result<String, String> {
    let Some(dir) = data_dir else {
        return Ok(crate::uuid());
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("node-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_string());
    }
    let id = crate::uuid();
    let opts = crate::renderer::RenderOptions {
        perms: Some(0o644),
        ..Default::default()
    };
    crate::renderer::render(&path, id.as_bytes(), &opts)?;
    Ok(id)
}

/// Lifts the open-files limit to its hard maximum (Go's runtime does this for Consul): every
/// blocking query holds a connection.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// An agent serving its HTTP API in this process (ctmpl's `-dev`, tests, `ctmpl agent`).
pub struct Running {
    pub agent: Arc<Agent>,
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the agent: open blocking queries answer, connections finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.agent.store.cluster.shutdown().await;
    }
}

/// A failed listen on `addr`; when the port is taken, which port it is and the `flag` that
/// moves it, since that is what the user has to change.
fn listen_error(addr: &str, which: &str, flag: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        let port = addr.rsplit(':').next().unwrap_or(addr);
        format!(
            "listen tcp {addr}: bind: address already in use: the {which} port {port} is taken; \
             choose another with {flag}"
        )
    } else {
        format!("listen on {addr} ({which} port): {e}")
    }
}

/// Binds the HTTP listener, starts the agent and serves it in the background.
pub async fn start(config: Config) -> Result<Running, String> {
    raise_open_files_limit();
    let rpc_addr = format!("{}:{}", config.bind, config.server_port);
    let rpc = match tokio::net::TcpListener::bind(&rpc_addr).await {
        Ok(l) => l,
        // A `-dev` agent is a cluster of one: any free port will do when 8300 is taken.
        Err(e) if config.dev && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!("server port {rpc_addr} in use; -dev takes a free one");
            tokio::net::TcpListener::bind(format!("{}:0", config.bind))
                .await
                .map_err(|e| format!("listen on {rpc_addr} (server port): {e}"))?
        }
        Err(e) => return Err(listen_error(&rpc_addr, "server", "-server-port", &e)),
    };
    let addr: SocketAddr = format!("{}:{}", config.client, config.http_port)
        .parse()
        .map_err(|e| format!("invalid client address {}: {e}", config.client))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| listen_error(&addr.to_string(), "HTTP", config.http_port_flag, &e))?;
    start_on(config, rpc, listener).await
}

/// Starts the agent on listeners already bound (the server port's, the HTTP API's): a dev
/// cluster binds all its servers' ports before it starts any of them.
pub async fn start_on(
    mut config: Config,
    rpc: tokio::net::TcpListener,
    listener: tokio::net::TcpListener,
) -> Result<Running, String> {
    config.server_port = rpc.local_addr().map_err(|e| e.to_string())?.port();
    let shutdown = CancellationToken::new();
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    config.http_port = bound.port();
    let https = match config.https_port {
        Some(port) => {
            let addr = format!("{}:{port}", config.client);
            let l = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| listen_error(&addr, "HTTPS", "-https-port", &e))?;
            config.https_port = Some(l.local_addr().map_err(|e| e.to_string())?.port());
            Some(l)
        }
        None => None,
    };
    let agent = Agent::start(config, shutdown.clone()).await?;
    let catalog = agent.store.catalog.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        // Blocking readers answer now, so connections can finish.
        catalog.close();
    });
    if agent.config.tls.enabled() {
        // With a certificate the server port speaks TLS only (mutual with verify_incoming).
        let acceptor = tls::acceptor(&agent.config.tls)?;
        tokio::spawn(tls::serve(
            rpc,
            acceptor,
            agent.clone(),
            shutdown.clone(),
            true,
        ));
    } else {
        tokio::spawn(server::serve(rpc, agent.clone(), shutdown.clone(), true));
    }
    if let Some(https) = https {
        let acceptor = tls::acceptor(&agent.config.tls)?;
        tokio::spawn(tls::serve(
            https,
            acceptor,
            agent.clone(),
            shutdown.clone(),
            false,
        ));
    }
    let server = tokio::spawn(server::serve(
        listener,
        agent.clone(),
        shutdown.clone(),
        false,
    ));
    Ok(Running {
        agent,
        addr: bound,
        shutdown,
        server,
    })
}

/// This node's metadata: the configured pairs and the key every Consul agent adds,
/// `consul-network-segment` (empty: the default segment).
fn node_meta(configured: &crate::consul::api::Map) -> crate::consul::api::Map {
    let mut meta = configured.clone();
    meta.insert("consul-network-segment".into(), String::new());
    meta
}
