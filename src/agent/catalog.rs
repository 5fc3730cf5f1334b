//! The catalog state machine: nodes, services, checks and KV, changed only by `Command`s applied
//! in order, each at its log index (the Raft log index once the catalog is replicated). Reads
//! return data with the index Consul would report; `Topic`s say which blocking readers a change
//! concerns.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::consul::api::{
    CatalogService, DirEntry, HealthCheck, Node, NodeService, NodeServices, ServiceEntry, PASSING,
};

/// A write to the catalog. Serialized into the log, so its shape is part of the data format.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Command {
    Register(Box<Register>),
    Deregister(Deregister),
    KvSet {
        key: String,
        value: Vec<u8>,
        flags: u64,
        cas: Option<u64>,
    },
    KvDelete {
        key: String,
        recurse: bool,
        cas: Option<u64>,
    },
    /// A change to the ACL tokens and policies (`agent::acl`).
    Acl(super::acl::store::AclCommand),
}

impl Command {
    /// About how many bytes the command takes in the log (a batch's size limit).
    pub fn approximate_size(&self) -> usize {
        match self {
            Command::KvSet { key, value, .. } => 64 + key.len() + value.len(),
            _ => 512,
        }
    }
}

/// A catalog registration: a node, optionally one of its services and some checks.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Register {
    pub node: Node,
    pub skip_node_update: bool,
    pub service: Option<NodeService>,
    pub checks: Vec<HealthCheck>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Deregister {
    pub node: String,
    pub service_id: Option<String>,
    pub check_id: Option<String>,
}

/// What a command answers: most writes say `true`; a KV cas says whether it happened.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done(bool),
    Rejected(String),
}

/// What a blocking reader waits on; a change names the topics it touched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Nodes,
    Services,
    Checks,
    Service(String),
    Node(String),
    KvKey(String),
    KvPrefix(String),
}

impl Topic {
    /// Whether a change of `changed` concerns a reader waiting on `self`.
    pub fn woken_by(&self, changed: &Topic) -> bool {
        match (self, changed) {
            (Topic::KvPrefix(p), Topic::KvKey(k)) => k.starts_with(p.as_str()),
            (Topic::KvKey(k), Topic::KvKey(c)) => k == c,
            (Topic::KvKey(k), Topic::KvPrefix(p)) | (Topic::KvPrefix(k), Topic::KvPrefix(p)) => {
                k.starts_with(p.as_str()) || p.starts_with(k.as_str())
            }
            (a, b) => a == b,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct Indexes {
    nodes: u64,
    services: u64,
    checks: u64,
    kv: u64,
    /// Last time any service name lost its last instance.
    service_extinction: u64,
    node_extinction: u64,
    per_service: HashMap<String, u64>,
    per_node: HashMap<String, u64>,
}

/// Counts of what the catalog holds; `checks` by status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sizes {
    pub nodes: usize,
    pub services: usize,
    pub service_instances: usize,
    pub kv_entries: usize,
    pub checks: BTreeMap<String, usize>,
}

/// The whole catalog. Serializable as a snapshot.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct State {
    /// Index of the last applied command.
    pub index: u64,
    nodes: BTreeMap<String, Node>,
    /// node → service ID → service
    services: BTreeMap<String, BTreeMap<String, NodeService>>,
    /// node → check ID → check
    checks: BTreeMap<String, BTreeMap<String, HealthCheck>>,
    kv: BTreeMap<String, DirEntry>,
    /// Deleted keys and the index of their deletion, so prefix indexes still move forward.
    tombstones: BTreeMap<String, u64>,
    indexes: Indexes,
    /// ACL tokens and policies, replicated with the catalog (absent from older snapshots).
    #[serde(default)]
    pub acl: super::acl::store::AclState,
    /// Where each service's instances and each instance's checks are: derived from `services`
    /// and `checks`, never serialized.
    #[serde(skip)]
    lookup: Lookup,
}

/// Instances by service name and checks by instance, so that a health or catalog read of one
/// service costs what that service holds, not a scan of the whole catalog: at 10,000 services
/// the scan made answering every service's first query quadratic. Built on first use (a
/// restored snapshot starts without it) and kept up to date by every write after that.
#[derive(Clone, Debug, Default)]
struct Lookup(OnceLock<Places>);

#[derive(Clone, Debug, Default)]
struct Places {
    /// service name → (node, service ID), in node then ID order as Consul answers.
    instances: HashMap<String, std::collections::BTreeSet<(String, String)>>,
    /// (node, service ID) → check IDs; `(node, "")` holds the node's own checks.
    checks: HashMap<(String, String), std::collections::BTreeSet<String>>,
}

impl Places {
    fn build(
        services: &BTreeMap<String, BTreeMap<String, NodeService>>,
        checks: &BTreeMap<String, BTreeMap<String, HealthCheck>>,
    ) -> Places {
        let mut places = Places::default();
        for (node, on_node) in services {
            for svc in on_node.values() {
                places.add_instance(&svc.service, node, &svc.id);
            }
        }
        for (node, on_node) in checks {
            for c in on_node.values() {
                places.add_check(node, &c.service_id, &c.check_id);
            }
        }
        places
    }

    fn add_instance(&mut self, name: &str, node: &str, id: &str) {
        self.instances
            .entry(name.to_string())
            .or_default()
            .insert((node.to_string(), id.to_string()));
    }

    fn remove_instance(&mut self, name: &str, node: &str, id: &str) {
        if let Some(set) = self.instances.get_mut(name) {
            set.remove(&(node.to_string(), id.to_string()));
            if set.is_empty() {
                self.instances.remove(name);
            }
        }
    }

    fn add_check(&mut self, node: &str, service_id: &str, check_id: &str) {
        self.checks
            .entry((node.to_string(), service_id.to_string()))
            .or_default()
            .insert(check_id.to_string());
    }

    fn remove_check(&mut self, node: &str, service_id: &str, check_id: &str) {
        let key = (node.to_string(), service_id.to_string());
        if let Some(set) = self.checks.get_mut(&key) {
            set.remove(check_id);
            if set.is_empty() {
                self.checks.remove(&key);
            }
        }
    }
}

impl Lookup {
    /// The places, built from `state` if no read needed them yet.
    fn get<'a>(&'a self, state: &State) -> &'a Places {
        self.0
            .get_or_init(|| Places::build(&state.services, &state.checks))
    }

    /// Applies a write to the places if they are built (else the first read builds them).
    fn update(&mut self, change: impl FnOnce(&mut Places)) {
        if let Some(places) = self.0.get_mut() {
            change(places);
        }
    }
}

/// Applying a command: its outcome and the topics it changed.
pub struct Applied {
    pub outcome: Outcome,
    pub changed: Vec<Topic>,
}

impl State {
    /// Applies one command at `index`. The commands of one Raft entry share its index, so
    /// `index` may equal the last one applied, never go below it.
    pub fn apply(&mut self, index: u64, cmd: &Command) -> Applied {
        debug_assert!(index >= self.index, "commands apply in index order");
        self.index = index;
        let mut changes = Changes::default();
        let outcome = match cmd {
            Command::Register(r) => self.register(index, r, &mut changes),
            Command::Deregister(d) => self.deregister(index, d, &mut changes),
            Command::KvSet {
                key,
                value,
                flags,
                cas,
            } => self.kv_set(index, key, value, *flags, *cas, &mut changes),
            Command::KvDelete { key, recurse, cas } => {
                self.kv_delete(index, key, *recurse, *cas, &mut changes)
            }
            Command::Acl(acl) => match self.acl.apply(index, acl) {
                Ok(()) => Outcome::Done(true),
                Err(refused) => Outcome::Rejected(refused),
            },
        };
        Applied {
            outcome,
            changed: changes.topics,
        }
    }

    fn register(&mut self, index: u64, r: &Register, ch: &mut Changes) -> Outcome {
        let name = r.node.node.clone();
        if name.is_empty() {
            return Outcome::Rejected("Must provide node".into());
        }
        let exists = self.nodes.contains_key(&name);
        if !r.skip_node_update || !exists {
            if r.node.address.is_empty() && !r.skip_node_update {
                return Outcome::Rejected(
                    "Must provide address if SkipNodeUpdate is not set".into(),
                );
            }
            self.ensure_node(index, &r.node, ch);
        }
        if let Some(svc) = &r.service {
            if svc.service.is_empty() {
                return Outcome::Rejected(
                    "Must provide service name (Service.Service) when service ID is provided"
                        .into(),
                );
            }
            self.ensure_service(index, &name, svc, ch);
        }
        for check in &r.checks {
            if !check.node.is_empty() && check.node != name {
                return Outcome::Rejected(format!(
                    "Node '{}' for check '{}' doesn't match register request node '{}'",
                    check.node, check.check_id, name
                ));
            }
            self.ensure_check(index, &name, check, ch);
        }
        Outcome::Done(true)
    }

    fn ensure_node(&mut self, index: u64, node: &Node, ch: &mut Changes) {
        let mut new = node.clone();
        match self.nodes.get(&node.node) {
            Some(old) => {
                new.create_index = old.create_index;
                new.modify_index = old.modify_index;
                if *old == new {
                    return;
                }
            }
            None => new.create_index = index,
        }
        new.modify_index = index;
        self.nodes.insert(node.node.clone(), new);
        self.indexes.nodes = index;
        self.touch_node(index, &node.node, ch);
        ch.add(Topic::Nodes);
        // Node details are part of every service entry on it.
        for svc in self.service_names_on(&node.node) {
            self.touch_service(index, &svc, ch);
        }
    }

    fn ensure_service(&mut self, index: u64, node: &str, svc: &NodeService, ch: &mut Changes) {
        let mut new = svc.clone();
        if new.id.is_empty() {
            new.id = new.service.clone();
        }
        let on_node = self.services.entry(node.to_string()).or_default();
        let old_name = on_node.get(&new.id).map(|old| old.service.clone());
        match on_node.get(&new.id) {
            Some(old) if old.same_as(&new) => return,
            Some(old) => new.create_index = old.create_index,
            None => new.create_index = index,
        }
        new.modify_index = index;
        let service_name = new.service.clone();
        on_node.insert(new.id.clone(), new.clone());
        self.lookup.update(|p| {
            if let Some(old) = &old_name {
                p.remove_instance(old, node, &new.id);
            }
            p.add_instance(&service_name, node, &new.id);
        });
        self.indexes.services = index;
        ch.add(Topic::Services);
        self.touch_node(index, node, ch);
        self.touch_service(index, &service_name, ch);
        if let Some(old) = old_name.filter(|o| *o != service_name) {
            self.touch_service(index, &old, ch);
            self.note_extinction(index, &old);
        }
        // Service checks carry the service's name and tags.
        let checks = self.checks.entry(node.to_string()).or_default();
        let mut checks_changed = false;
        for c in checks.values_mut().filter(|c| c.service_id == new.id) {
            if c.service_name != new.service || c.service_tags != new.tags {
                c.service_name = new.service.clone();
                c.service_tags = new.tags.clone();
                c.modify_index = index;
                checks_changed = true;
            }
        }
        if checks_changed {
            self.indexes.checks = index;
            ch.add(Topic::Checks);
        }
    }

    fn ensure_check(&mut self, index: u64, node: &str, check: &HealthCheck, ch: &mut Changes) {
        let mut new = check.clone();
        new.node = node.to_string();
        if new.check_id.is_empty() {
            new.check_id = new.name.clone();
        }
        if new.status.is_empty() {
            new.status = crate::consul::api::CRITICAL.into();
        }
        if !new.service_id.is_empty() {
            match self.services.get(node).and_then(|s| s.get(&new.service_id)) {
                Some(svc) => {
                    new.service_name = svc.service.clone();
                    new.service_tags = svc.tags.clone();
                }
                None => new.service_id.clear(),
            }
        }
        let on_node = self.checks.entry(node.to_string()).or_default();
        match on_node.get(&new.check_id) {
            Some(old) if old.same_as(&new) => return,
            Some(old) => new.create_index = old.create_index,
            None => new.create_index = index,
        }
        new.modify_index = index;
        let service_id = new.service_id.clone();
        let check_id = new.check_id.clone();
        let old = on_node.insert(new.check_id.clone(), new);
        self.lookup.update(|p| {
            if let Some(old) = &old {
                p.remove_check(node, &old.service_id, &check_id);
            }
            p.add_check(node, &service_id, &check_id);
        });
        self.indexes.checks = index;
        ch.add(Topic::Checks);
        self.touch_check_services(index, node, &service_id, ch);
    }

    /// A check change concerns its service, or every service on the node for a node check.
    fn touch_check_services(&mut self, index: u64, node: &str, service_id: &str, ch: &mut Changes) {
        let names: Vec<String> = if service_id.is_empty() {
            self.service_names_on(node)
        } else {
            self.services
                .get(node)
                .and_then(|s| s.get(service_id))
                .map(|s| vec![s.service.clone()])
                .unwrap_or_default()
        };
        for name in names {
            self.touch_service(index, &name, ch);
        }
    }

    fn deregister(&mut self, index: u64, d: &Deregister, ch: &mut Changes) -> Outcome {
        if d.node.is_empty() {
            return Outcome::Rejected("Must provide node".into());
        }
        if let Some(id) = &d.service_id {
            self.remove_service(index, &d.node, id, ch);
        } else if let Some(id) = &d.check_id {
            self.remove_check(index, &d.node, id, ch);
        } else {
            self.remove_node(index, &d.node, ch);
        }
        Outcome::Done(true)
    }

    fn remove_service(&mut self, index: u64, node: &str, id: &str, ch: &mut Changes) {
        let Some(svc) = self.services.get_mut(node).and_then(|s| s.remove(id)) else {
            return;
        };
        self.lookup
            .update(|p| p.remove_instance(&svc.service, node, id));
        self.indexes.services = index;
        ch.add(Topic::Services);
        self.touch_node(index, node, ch);
        self.touch_service(index, &svc.service, ch);
        let check_ids: Vec<String> = self
            .checks
            .get(node)
            .map(|c| {
                c.values()
                    .filter(|c| c.service_id == id)
                    .map(|c| c.check_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !check_ids.is_empty() {
            let on_node = self.checks.entry(node.to_string()).or_default();
            for c in &check_ids {
                on_node.remove(c);
            }
            self.lookup.update(|p| {
                for c in &check_ids {
                    p.remove_check(node, id, c);
                }
            });
            self.indexes.checks = index;
            ch.add(Topic::Checks);
        }
        self.note_extinction(index, &svc.service);
    }

    fn remove_check(&mut self, index: u64, node: &str, id: &str, ch: &mut Changes) {
        let Some(check) = self.checks.get_mut(node).and_then(|c| c.remove(id)) else {
            return;
        };
        self.lookup
            .update(|p| p.remove_check(node, &check.service_id, id));
        self.indexes.checks = index;
        ch.add(Topic::Checks);
        self.touch_check_services(index, node, &check.service_id, ch);
    }

    fn remove_node(&mut self, index: u64, node: &str, ch: &mut Changes) {
        if self.nodes.remove(node).is_none() {
            return;
        }
        let ids: Vec<String> = self
            .services
            .get(node)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.remove_service(index, node, &id, ch);
        }
        let removed = self.checks.remove(node).unwrap_or_default();
        self.lookup.update(|p| {
            for c in removed.values() {
                p.remove_check(node, &c.service_id, &c.check_id);
            }
        });
        if !removed.is_empty() {
            self.indexes.checks = index;
            ch.add(Topic::Checks);
        }
        self.services.remove(node);
        self.indexes.nodes = index;
        self.indexes.node_extinction = index;
        self.indexes.per_node.remove(node);
        ch.add(Topic::Nodes);
        ch.add(Topic::Node(node.to_string()));
    }

    fn note_extinction(&mut self, index: u64, service: &str) {
        if !self.has_instances(service) {
            self.indexes.service_extinction = index;
            self.indexes.per_service.remove(service);
        }
    }

    fn touch_service(&mut self, index: u64, name: &str, ch: &mut Changes) {
        self.indexes.per_service.insert(name.to_string(), index);
        ch.add(Topic::Service(name.to_string()));
    }

    fn touch_node(&mut self, index: u64, node: &str, ch: &mut Changes) {
        self.indexes.per_node.insert(node.to_string(), index);
        ch.add(Topic::Node(node.to_string()));
    }

    fn service_names_on(&self, node: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .services
            .get(node)
            .map(|s| s.values().map(|s| s.service.clone()).collect())
            .unwrap_or_default();
        names.sort();
        names.dedup();
        names
    }

    fn has_instances(&self, service: &str) -> bool {
        self.lookup.get(self).instances.contains_key(service)
    }

    fn kv_set(
        &mut self,
        index: u64,
        key: &str,
        value: &[u8],
        flags: u64,
        cas: Option<u64>,
        ch: &mut Changes,
    ) -> Outcome {
        let existing = self.kv.get(key);
        if let Some(cas) = cas {
            let current = existing.map_or(0, |e| e.modify_index);
            if current != cas {
                return Outcome::Done(false);
            }
        }
        let entry = DirEntry {
            lock_index: existing.map_or(0, |e| e.lock_index),
            key: key.to_string(),
            flags,
            value: Some(value.to_vec()),
            session: existing.map(|e| e.session.clone()).unwrap_or_default(),
            create_index: existing.map_or(index, |e| e.create_index),
            modify_index: index,
        };
        self.kv.insert(key.to_string(), entry);
        self.tombstones.remove(key);
        self.indexes.kv = index;
        ch.add(Topic::KvKey(key.to_string()));
        Outcome::Done(true)
    }

    fn kv_delete(
        &mut self,
        index: u64,
        key: &str,
        recurse: bool,
        cas: Option<u64>,
        ch: &mut Changes,
    ) -> Outcome {
        if let Some(cas) = cas {
            match self.kv.get(key) {
                Some(e) if cas != 0 && e.modify_index == cas => {}
                Some(_) => return Outcome::Done(false),
                None => return Outcome::Done(false),
            }
        }
        let keys: Vec<String> = if recurse {
            self.kv
                .range(key.to_string()..)
                .take_while(|(k, _)| k.starts_with(key))
                .map(|(k, _)| k.clone())
                .collect()
        } else {
            self.kv
                .contains_key(key)
                .then(|| key.to_string())
                .into_iter()
                .collect()
        };
        for k in keys {
            self.kv.remove(&k);
            self.tombstones.insert(k.clone(), index);
            ch.add(Topic::KvKey(k));
        }
        self.indexes.kv = index;
        Outcome::Done(true)
    }

    // Reads: each returns its data and the index Consul reports for it (never 0).

    pub fn catalog_services(&self) -> (BTreeMap<String, Vec<String>>, u64) {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for svc in self.services.values().flat_map(|s| s.values()) {
            let tags = out.entry(svc.service.clone()).or_default();
            for t in &svc.tags {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
        }
        (out, at_least_one(self.indexes.services))
    }

    /// Every instance of a service with its node, in node then service-ID order.
    pub fn service_instances(&self, name: &str) -> (Vec<(&Node, &NodeService)>, u64) {
        let places = self.lookup.get(self);
        let out = places
            .instances
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|(node_name, id)| {
                let node = self.nodes.get(node_name)?;
                let svc = self.services.get(node_name)?.get(id)?;
                Some((node, svc))
            })
            .collect();
        (out, self.service_index(name))
    }

    /// A node's own checks and the checks of one of its instances, in check-ID order.
    fn instance_checks(&self, node: &str, service_id: &str) -> Vec<HealthCheck> {
        let Some(on_node) = self.checks.get(node) else {
            return Vec::new();
        };
        let places = self.lookup.get(self);
        let ids = |sid: &str| places.checks.get(&(node.to_string(), sid.to_string()));
        let mut ids: Vec<&String> = ids("").into_iter().flatten().collect();
        if !service_id.is_empty() {
            ids.extend(
                places
                    .checks
                    .get(&(node.to_string(), service_id.to_string()))
                    .into_iter()
                    .flatten(),
            );
            ids.sort();
        }
        ids.into_iter()
            .filter_map(|id| on_node.get(id).cloned())
            .collect()
    }

    fn service_index(&self, name: &str) -> u64 {
        let idx = self
            .indexes
            .per_service
            .get(name)
            .copied()
            .unwrap_or_else(|| {
                if self.indexes.service_extinction > 0 {
                    self.indexes.service_extinction
                } else {
                    self.indexes.services.max(self.indexes.nodes)
                }
            });
        at_least_one(idx)
    }

    pub fn catalog_service(&self, name: &str) -> (Vec<CatalogService>, u64) {
        let (instances, idx) = self.service_instances(name);
        (
            instances
                .into_iter()
                .map(|(n, s)| CatalogService::new(n, s))
                .collect(),
            idx,
        )
    }

    /// Health entries of a service: the node, the instance, its node checks and its own checks.
    pub fn health_service(&self, name: &str) -> (Vec<ServiceEntry>, u64) {
        let (instances, idx) = self.service_instances(name);
        let entries = instances
            .into_iter()
            .map(|(node, svc)| {
                let checks = self.instance_checks(&node.node, &svc.id);
                ServiceEntry {
                    node: node.clone(),
                    service: svc.clone(),
                    checks,
                }
            })
            .collect();
        (entries, idx)
    }

    pub fn nodes(&self) -> (Vec<Node>, u64) {
        (
            self.nodes.values().cloned().collect(),
            at_least_one(self.indexes.nodes),
        )
    }

    pub fn node(&self, name: &str) -> (Option<NodeServices>, u64) {
        let node = self
            .nodes
            .get(name)
            .or_else(|| self.nodes.values().find(|n| n.id == name));
        let Some(node) = node else {
            let idx = self.indexes.node_extinction.max(self.indexes.nodes);
            return (None, at_least_one(idx));
        };
        let services = self.services.get(&node.node).cloned().unwrap_or_default();
        let idx = self
            .indexes
            .per_node
            .get(&node.node)
            .copied()
            .unwrap_or(self.indexes.nodes);
        (
            Some(NodeServices {
                node: node.clone(),
                services,
            }),
            at_least_one(idx),
        )
    }

    pub fn node_checks(&self, node: &str) -> (Vec<HealthCheck>, u64) {
        let checks = self
            .checks
            .get(node)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        (checks, at_least_one(self.indexes.checks))
    }

    pub fn service_checks(&self, name: &str) -> (Vec<HealthCheck>, u64) {
        let checks = self
            .checks
            .values()
            .flat_map(|c| c.values())
            .filter(|c| c.service_name == name && !c.service_id.is_empty())
            .cloned()
            .collect();
        (checks, self.service_index(name))
    }

    /// Checks in a state (`any` for all).
    pub fn checks_in_state(&self, state: &str) -> (Vec<HealthCheck>, u64) {
        let checks = self
            .checks
            .values()
            .flat_map(|c| c.values())
            .filter(|c| state == "any" || c.status == state)
            .cloned()
            .collect();
        (checks, at_least_one(self.indexes.checks))
    }

    pub fn check(&self, node: &str, id: &str) -> Option<&HealthCheck> {
        self.checks.get(node)?.get(id)
    }

    pub fn services_on(&self, node: &str) -> Vec<NodeService> {
        self.services
            .get(node)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn checks_on(&self, node: &str) -> Vec<HealthCheck> {
        self.checks
            .get(node)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How big the catalog is (the agent's `consul.state.*` gauges).
    pub fn sizes(&self) -> Sizes {
        let mut services = std::collections::BTreeSet::new();
        let mut instances = 0;
        for on_node in self.services.values() {
            instances += on_node.len();
            services.extend(on_node.values().map(|s| s.service.as_str()));
        }
        let mut checks: BTreeMap<String, usize> = BTreeMap::new();
        for c in self.checks.values().flat_map(|on_node| on_node.values()) {
            *checks.entry(c.status.clone()).or_default() += 1;
        }
        Sizes {
            nodes: self.nodes.len(),
            services: services.len(),
            service_instances: instances,
            kv_entries: self.kv.len(),
            checks,
        }
    }

    pub fn kv_get(&self, key: &str) -> (Option<DirEntry>, u64) {
        match self.kv.get(key) {
            Some(e) => (Some(e.clone()), at_least_one(e.modify_index)),
            None => (None, at_least_one(self.indexes.kv)),
        }
    }

    /// Entries under a prefix, and the prefix's index (entries and tombstones under it).
    pub fn kv_list(&self, prefix: &str) -> (Vec<DirEntry>, u64) {
        let entries: Vec<DirEntry> = self
            .kv
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, e)| e.clone())
            .collect();
        (entries, self.kv_prefix_index(prefix))
    }

    fn kv_prefix_index(&self, prefix: &str) -> u64 {
        if prefix.is_empty() {
            return at_least_one(self.indexes.kv);
        }
        let live = self
            .kv
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, e)| e.modify_index);
        let dead = self
            .tombstones
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, i)| *i);
        at_least_one(live.chain(dead).max().unwrap_or(0))
    }
}

fn at_least_one(i: u64) -> u64 {
    i.max(1)
}

/// Topics touched while applying one command, without repeats.
#[derive(Default)]
struct Changes {
    topics: Vec<Topic>,
}

impl Changes {
    fn add(&mut self, t: Topic) {
        if !self.topics.contains(&t) {
            self.topics.push(t);
        }
    }
}

/// The shared catalog: the state behind a lock, and the blocking readers waiting on it.
pub struct Catalog {
    state: RwLock<State>,
    waiters: Mutex<Waiters>,
    closed: AtomicBool,
}

#[derive(Default)]
struct Waiters {
    list: Vec<(Topic, oneshot::Sender<()>)>,
    /// Size after the last sweep of readers that gave up; sweep again when it doubles.
    swept_at: usize,
}

impl Catalog {
    pub fn new(state: State) -> Catalog {
        Catalog {
            state: RwLock::new(state),
            waiters: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn last_index(&self) -> u64 {
        self.read(|s| s.index)
    }

    /// Applies the commands of one Raft entry, in order, at its index, and wakes exactly the
    /// readers whose topics they changed, once.
    pub fn apply(&self, index: u64, cmds: &[Command]) -> Vec<Outcome> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut changed = std::collections::HashSet::new();
        let mut outcomes = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            let applied = state.apply(index, cmd);
            changed.extend(applied.changed);
            outcomes.push(applied.outcome);
        }
        // Readers are woken after the write lock is released, so that the first ones woken
        // can read while the rest (thousands at catalog scale) are still being woken. No
        // reader is missed: one registers under the read lock after a query of the old state,
        // so it is in the list before this write began.
        drop(state);
        if !changed.is_empty() {
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let list = std::mem::take(&mut waiters.list);
            for (topic, tx) in list {
                if changed.iter().any(|c| topic.woken_by(c)) {
                    let _ = tx.send(());
                } else {
                    waiters.list.push((topic, tx));
                }
            }
        }
        outcomes
    }

    /// Replaces the whole state (a Raft snapshot installed) and wakes every reader.
    pub fn restore(&self, state: State) {
        let mut current = self.state.write().unwrap_or_else(|e| e.into_inner());
        *current = state;
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        for (_, tx) in std::mem::take(&mut waiters.list) {
            let _ = tx.send(());
        }
    }

    /// A copy of the whole state, for snapshots.
    pub fn snapshot(&self) -> State {
        self.read(State::clone)
    }

    /// Wakes every reader and makes later reads answer at once (shutdown).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .list
            .clear();
    }

    /// Consul's blocking read: runs `query` until its index passes `min_index`, a change of
    /// `topic` arrives, or `deadline`; then answers with the latest result.
    pub async fn wait_past<T>(
        &self,
        topic: Topic,
        min_index: u64,
        deadline: Instant,
        query: impl Fn(&State) -> (T, u64),
    ) -> (T, u64) {
        loop {
            let (result, rx) = {
                let state = self.state.read().unwrap_or_else(|e| e.into_inner());
                let result = query(&state);
                // A reader ahead of our whole log holds an index from another history (a
                // restart, a rebuilt cluster): nothing we could write will satisfy it, so it
                // gets the answer now and can start over from it.
                let from_elsewhere = min_index > state.index;
                if min_index == 0
                    || result.1 > min_index
                    || from_elsewhere
                    || self.closed.load(Ordering::SeqCst)
                {
                    return result;
                }
                // Registered under the read lock: no write can slip between query and wait.
                (result, self.register(topic.clone()))
            };
            tokio::select! {
                woke = rx => if woke.is_err() { return result },
                _ = tokio::time::sleep_until(deadline) => return result,
            }
        }
    }

    fn register(&self, topic: Topic) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if waiters.list.len() > 1024 && waiters.list.len() > 2 * waiters.swept_at {
            waiters.list.retain(|(_, tx)| !tx.is_closed());
            waiters.swept_at = waiters.list.len();
        }
        waiters.list.push((topic, tx));
        rx
    }

    /// How many readers are waiting (for tests and stats).
    pub fn waiting(&self) -> usize {
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .list
            .len()
    }
}

/// Whether a health entry passes `?passing`: every check passing.
pub fn all_passing(entry: &ServiceEntry) -> bool {
    entry.checks.iter().all(|c| c.status == PASSING)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Node {
        Node {
            node: name.into(),
            address: "10.0.0.1".into(),
            ..Default::default()
        }
    }

    fn register(node_name: &str, id: &str, service: &str) -> Command {
        Command::Register(Box::new(Register {
            node: node(node_name),
            service: Some(NodeService {
                id: id.into(),
                service: service.into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    fn check(node_name: &str, id: &str, service_id: &str) -> Command {
        Command::Register(Box::new(Register {
            node: node(node_name),
            checks: vec![HealthCheck {
                check_id: id.into(),
                service_id: service_id.into(),
                status: PASSING.into(),
                ..Default::default()
            }],
            ..Default::default()
        }))
    }

    /// The places kept up to date write by write equal the places built from scratch, and
    /// a read answers the instances and checks a whole-catalog scan finds.
    #[test]
    fn lookup_follows_every_write() {
        let mut s = State::default();
        let _ = s.service_instances("web"); // built now, then updated by each write
        let writes = [
            register("n1", "web1", "web"),
            register("n2", "web2", "web"),
            register("n1", "db1", "db"),
            check("n1", "serfHealth", ""),
            check("n1", "web1-alive", "web1"),
            check("n2", "web2-alive", "web2"),
            check("n1", "moved", "db1"),
            check("n1", "moved", "web1"),
            // web1 renamed: it is an instance of "api" now.
            register("n1", "web1", "api"),
            Command::Deregister(Deregister {
                node: "n2".into(),
                service_id: Some("web2".into()),
                check_id: None,
            }),
            Command::Deregister(Deregister {
                node: "n1".into(),
                service_id: None,
                check_id: Some("serfHealth".into()),
            }),
            register("n3", "db3", "db"),
            check("n3", "db3-alive", "db3"),
            Command::Deregister(Deregister {
                node: "n3".into(),
                service_id: None,
                check_id: None,
            }),
        ];
        for (i, w) in writes.iter().enumerate() {
            s.apply(i as u64 + 1, w);
            let kept = s.lookup.get(&s).clone();
            let built = Places::build(&s.services, &s.checks);
            assert_eq!(kept.instances, built.instances, "after write {i}");
            assert_eq!(kept.checks, built.checks, "after write {i}");
        }
        let names = |name: &str| -> Vec<String> {
            s.health_service(name)
                .0
                .iter()
                .map(|e| {
                    let checks: Vec<&str> = e.checks.iter().map(|c| c.check_id.as_str()).collect();
                    format!("{}/{} {}", e.node.node, e.service.id, checks.join(","))
                })
                .collect()
        };
        assert_eq!(names("api"), ["n1/web1 moved,web1-alive"]);
        assert!(names("web").is_empty());
        assert_eq!(names("db"), ["n1/db1 "]);
        assert!(!s.has_instances("web"));
        // A restored snapshot has no places yet: the first read builds them.
        let restored: State = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(restored.health_service("api").0.len(), 1);
    }

    #[test]
    fn indexes_follow_consul() {
        let mut s = State::default();
        s.apply(1, &register("n1", "web1", "web"));
        s.apply(2, &register("n1", "db1", "db"));
        assert_eq!(s.catalog_service("web").1, 1);
        assert_eq!(s.catalog_service("db").1, 2);
        assert_eq!(s.catalog_services().1, 2);
        // Re-registering the same thing changes nothing.
        let again = s.apply(3, &register("n1", "web1", "web"));
        assert!(again.changed.is_empty());
        assert_eq!(s.catalog_service("web").1, 1);
        // A node check concerns every service on the node.
        let check = HealthCheck {
            check_id: "serfHealth".into(),
            status: PASSING.into(),
            ..Default::default()
        };
        let r = Register {
            node: node("n1"),
            skip_node_update: true,
            checks: vec![check],
            ..Default::default()
        };
        let applied = s.apply(4, &Command::Register(Box::new(r)));
        assert!(applied.changed.contains(&Topic::Service("web".into())));
        assert_eq!(s.health_service("db").1, 4);
        // The last instance leaving sets the extinction index.
        let d = Deregister {
            node: "n1".into(),
            service_id: Some("web1".into()),
            check_id: None,
        };
        s.apply(5, &Command::Deregister(d));
        assert_eq!(s.catalog_service("web"), (vec![], 5));
    }

    #[test]
    fn the_commands_of_one_entry_apply_in_order_at_its_index_and_wake_their_readers() {
        let catalog = Catalog::new(State::default());
        let set = |key: &str, cas| Command::KvSet {
            key: key.into(),
            value: b"v".to_vec(),
            flags: 0,
            cas,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            catalog.apply(1, &[set("a", None)]);
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            let waiter = catalog.wait_past(Topic::KvKey("a".into()), 1, deadline, |s| {
                let (entry, index) = s.kv_get("a");
                (entry.map(|e| e.modify_index), index)
            });
            let batch = [
                set("a", Some(0)),
                set("a", Some(1)),
                set("b", None),
                set("a", Some(1)),
            ];
            let outcomes = catalog.apply(7, &batch);
            // Each command sees the ones before it: the second cas matches the first write's
            // index, the last no longer does, since the second moved it to 7.
            let (yes, no) = (Outcome::Done(true), Outcome::Done(false));
            assert_eq!(outcomes, [no.clone(), yes.clone(), yes, no]);
            assert_eq!(waiter.await, (Some(7), 7));
            assert_eq!(catalog.read(|s| s.kv_get("b").1), 7);
        });
    }

    #[test]
    fn kv_cas_and_prefix_indexes() {
        let mut s = State::default();
        let set = |key: &str, cas| Command::KvSet {
            key: key.into(),
            value: b"v".to_vec(),
            flags: 0,
            cas,
        };
        assert_eq!(
            s.apply(1, &set("a/x", Some(0))).outcome,
            Outcome::Done(true)
        );
        assert_eq!(
            s.apply(2, &set("a/x", Some(0))).outcome,
            Outcome::Done(false)
        );
        assert_eq!(
            s.apply(3, &set("a/x", Some(1))).outcome,
            Outcome::Done(true)
        );
        s.apply(4, &set("b/y", None));
        assert_eq!(s.kv_list("a/").1, 3);
        s.apply(
            5,
            &Command::KvDelete {
                key: "a/".into(),
                recurse: true,
                cas: None,
            },
        );
        assert_eq!(s.kv_list("a/"), (vec![], 5));
        assert_eq!(s.kv_get("b/y").1, 4);
        assert!(Topic::KvPrefix("a/".into()).woken_by(&Topic::KvKey("a/x".into())));
        assert!(!Topic::KvPrefix("a/".into()).woken_by(&Topic::KvKey("b/y".into())));
    }
}
