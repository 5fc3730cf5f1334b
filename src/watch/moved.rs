//! What moved in the catalog between two sentinel answers, so that only the parked views whose
//! service or node moved fetch again (watch.rs's module doc has the budget and the sentinels).
//!
//! A sentinel's index says *that* something of its kind changed, not what. The catalog is read
//! per node instead: `/v1/catalog/nodes` for the names, then `/v1/catalog/node/NAME` for each
//! (a stock Consul's own endpoints and wire shape: the node with its `ModifyIndex`, and its
//! service instances by ID, each with its name and `ModifyIndex`). Two such snapshots differ
//! exactly where an instance was added, removed or written, or a node was: those services and
//! nodes moved. Checks need no request: the Checks sentinel's own answer
//! (`/v1/health/state/any`) lists every check with its `ModifyIndex`; a service check moves its
//! service, a node check every service on its node.
//!
//! A snapshot costs one request per node (and one for the list), so it is taken only while
//! that is fewer than the parked views it spares; without a snapshot to compare with, or after
//! any failed read, the answer is "everything moved", which is what the views did before.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;

use crate::consul::client::{path_escape, Client};

/// Node listings fetched at once while taking a snapshot.
const NODE_READS_AT_ONCE: usize = 8;

/// What moved: service names and node names (and IDs), lower-cased as Consul compares them;
/// or everything, when it cannot be told.
#[derive(Debug, Default, PartialEq)]
pub struct Moved {
    pub everything: bool,
    pub services: HashSet<String>,
    pub nodes: HashSet<String>,
}

impl Moved {
    pub fn is_empty(&self) -> bool {
        !self.everything && self.services.is_empty() && self.nodes.is_empty()
    }

    fn service(&mut self, name: &str) {
        self.services.insert(name.to_lowercase());
    }

    fn node(&mut self, node: &NodeEntry) {
        self.nodes.insert(node.name.to_lowercase());
        if !node.id.is_empty() {
            self.nodes.insert(node.id.to_lowercase());
        }
    }
}

/// One node as a snapshot keeps it: its own `ModifyIndex` and its service instances.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry {
    /// A hash of the listing's body: a node whose listing reads the same is not parsed again
    /// (the reading before is kept, and nothing on it moved).
    body: u64,
    name: String,
    id: String,
    modify_index: u64,
    /// Instance ID → (service name, `ModifyIndex`).
    services: HashMap<String, (String, u64)>,
}

/// The catalog by node, as read by one snapshot.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Catalog {
    nodes: BTreeMap<String, Arc<NodeEntry>>,
}

/// Every check by (node, check ID): its `ModifyIndex` and service name (empty for a node
/// check).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Checks {
    checks: HashMap<(String, String), (u64, String)>,
}

/// `/v1/catalog/nodes` entries: only the name is needed.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedNode {
    node: String,
}

/// `/v1/catalog/node/NAME`: `null` for a node that is gone.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeListing {
    node: WireNode,
    #[serde(default)]
    services: Option<HashMap<String, WireService>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireNode {
    node: String,
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(default)]
    modify_index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireService {
    service: String,
    #[serde(default)]
    modify_index: u64,
}

/// `/v1/health/state/any` entries.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCheck {
    node: String,
    #[serde(rename = "CheckID")]
    check_id: String,
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    modify_index: u64,
}

impl Catalog {
    /// The names of the nodes `/v1/catalog/nodes` lists.
    pub async fn node_names(client: &Client, dc: &str) -> Result<Vec<String>, String> {
        let r = client
            .get("/v1/catalog/nodes", &dc_param(dc), None, false)
            .await?;
        let listed: Vec<ListedNode> = serde_json::from_slice(&r.body)
            .map_err(|e| format!("/v1/catalog/nodes: decoding response: {e}"))?;
        Ok(listed.into_iter().map(|n| n.node).collect())
    }

    /// Reads every node's listing, a few at once; a listing that reads as it did in `before`
    /// keeps that reading. Any failed read fails the snapshot: a node left out would look
    /// removed, and one kept from before would hide what moved on it.
    pub async fn read(
        client: &Arc<Client>,
        dc: &str,
        names: &[String],
        before: Option<&Catalog>,
    ) -> Result<Catalog, String> {
        let gate = Arc::new(tokio::sync::Semaphore::new(NODE_READS_AT_ONCE));
        let mut reads = tokio::task::JoinSet::new();
        for name in names {
            let known = before.and_then(|c| c.nodes.get(name)).cloned();
            let (client, gate, dc, name) =
                (client.clone(), gate.clone(), dc.to_string(), name.clone());
            reads.spawn(async move {
                let _turn = gate.acquire_owned().await;
                read_node(&client, &dc, &name, known).await
            });
        }
        let mut catalog = Catalog::default();
        while let Some(done) = reads.join_next().await {
            let node = done.map_err(|e| format!("reading a node listing: {e}"))??;
            if let Some(node) = node {
                catalog.nodes.insert(node.name.clone(), node);
            }
        }
        Ok(catalog)
    }

    /// The instances on `node` by service name (for its node checks).
    fn services_on(&self, node: &str) -> Option<impl Iterator<Item = &String>> {
        let entry = self.nodes.get(node)?;
        Some(entry.services.values().map(|(name, _)| name))
    }

    /// What moved from `self` (older) to `new`: a node added, removed or rewritten moves itself
    /// and every service on it (before and after); an instance added, removed or rewritten moves
    /// its service (old and new name) and its node.
    pub fn diff(&self, new: &Catalog, moved: &mut Moved) {
        let names: HashSet<&String> = self.nodes.keys().chain(new.nodes.keys()).collect();
        for name in names {
            match (self.nodes.get(name), new.nodes.get(name)) {
                (Some(a), Some(b)) if Arc::ptr_eq(a, b) => {}
                (Some(a), Some(b)) if a.modify_index == b.modify_index && a.id == b.id => {
                    diff_instances(a, b, moved)
                }
                (a, b) => {
                    for node in a.iter().chain(b.iter()) {
                        moved.node(node);
                        node.services.values().for_each(|(s, _)| moved.service(s));
                    }
                }
            }
        }
    }
}

/// The instances that differ between two readings of one node.
fn diff_instances(a: &NodeEntry, b: &NodeEntry, moved: &mut Moved) {
    let ids: HashSet<&String> = a.services.keys().chain(b.services.keys()).collect();
    let mut any = false;
    for id in ids {
        let (old, new) = (a.services.get(id), b.services.get(id));
        if old == new {
            continue;
        }
        any = true;
        for (name, _) in old.into_iter().chain(new) {
            moved.service(name);
        }
    }
    if any {
        moved.node(b);
    }
}

/// One node's listing (`None`: no such node); `known` is its last reading.
async fn read_node(
    client: &Client,
    dc: &str,
    name: &str,
    known: Option<Arc<NodeEntry>>,
) -> Result<Option<Arc<NodeEntry>>, String> {
    let path = format!("/v1/catalog/node/{}", path_escape(name));
    let r = client.get(&path, &dc_param(dc), None, false).await?;
    if r.status == 404 {
        return Ok(None);
    }
    let body = crate::hash_of(&r.body);
    if let Some(known) = known.filter(|k| k.body == body) {
        return Ok(Some(known));
    }
    let listing: Option<NodeListing> =
        serde_json::from_slice(&r.body).map_err(|e| format!("{path}: decoding response: {e}"))?;
    Ok(listing.map(|l| {
        Arc::new(NodeEntry {
            body,
            name: l.node.node,
            id: l.node.id,
            modify_index: l.node.modify_index,
            services: l
                .services
                .unwrap_or_default()
                .into_iter()
                .map(|(id, s)| (id, (s.service, s.modify_index)))
                .collect(),
        })
    }))
}

impl Checks {
    /// The checks in a `/v1/health/state/any` answer.
    pub fn parse(body: &[u8]) -> Result<Checks, String> {
        let listed: Vec<WireCheck> = serde_json::from_slice(body)
            .map_err(|e| format!("/v1/health/state/any: decoding response: {e}"))?;
        let checks = listed
            .into_iter()
            .map(|c| ((c.node, c.check_id), (c.modify_index, c.service_name)))
            .collect();
        Ok(Checks { checks })
    }

    /// What moved from `self` (older) to `new`: a service check moves its service (before and
    /// after); a node check every service on its node, as `catalog` last saw it; without a
    /// catalog, everything.
    pub fn diff(&self, new: &Checks, catalog: Option<&Catalog>, moved: &mut Moved) {
        let keys: HashSet<&(String, String)> =
            self.checks.keys().chain(new.checks.keys()).collect();
        for key in keys {
            let (old, new) = (self.checks.get(key), new.checks.get(key));
            if old == new {
                continue;
            }
            for (_, service) in old.into_iter().chain(new) {
                if !service.is_empty() {
                    moved.service(service);
                    continue;
                }
                match catalog.and_then(|c| c.services_on(&key.0)) {
                    Some(names) => names.for_each(|s| moved.service(s)),
                    // A node the catalog did not list has no services to move, unless the
                    // catalog is missing altogether.
                    None if catalog.is_some() => {}
                    None => moved.everything = true,
                }
            }
        }
    }
}

fn dc_param(dc: &str) -> Vec<(&'static str, String)> {
    if dc.is_empty() {
        Vec::new()
    } else {
        vec![("dc", dc.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, index: u64, services: &[(&str, &str, u64)]) -> NodeEntry {
        NodeEntry {
            body: 0,
            name: name.into(),
            id: format!("id-{name}"),
            modify_index: index,
            services: services
                .iter()
                .map(|(id, s, i)| (id.to_string(), (s.to_string(), *i)))
                .collect(),
        }
    }

    fn catalog(nodes: Vec<NodeEntry>) -> Catalog {
        Catalog {
            nodes: nodes
                .into_iter()
                .map(|n| (n.name.clone(), Arc::new(n)))
                .collect(),
        }
    }

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_rewritten_instance_moves_its_service_and_node_only() {
        let old = catalog(vec![
            node("a", 5, &[("web-1", "web", 7), ("db-1", "db", 8)]),
            node("b", 6, &[("web-2", "web", 9)]),
        ]);
        let new = catalog(vec![
            node("a", 5, &[("web-1", "web", 7), ("db-1", "db", 12)]),
            node("b", 6, &[("web-2", "web", 9)]),
        ]);
        let mut moved = Moved::default();
        old.diff(&new, &mut moved);
        assert_eq!(moved.services, set(&["db"]));
        assert_eq!(moved.nodes, set(&["a", "id-a"]));
        assert!(!moved.everything);
        let mut none = Moved::default();
        new.diff(&new.clone(), &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn a_renamed_added_or_removed_instance_moves_every_name_it_had() {
        let old = catalog(vec![node("a", 5, &[("x", "Old", 7), ("gone", "g", 3)])]);
        let new = catalog(vec![node("a", 5, &[("x", "new", 9), ("born", "b", 9)])]);
        let mut moved = Moved::default();
        old.diff(&new, &mut moved);
        assert_eq!(moved.services, set(&["old", "new", "g", "b"]));
    }

    #[test]
    fn a_node_added_removed_or_rewritten_moves_all_its_services() {
        let old = catalog(vec![
            node("a", 5, &[("w", "web", 7)]),
            node("b", 6, &[("d", "db", 7)]),
        ]);
        let new = catalog(vec![
            node("a", 11, &[("w", "web", 7)]),
            node("c", 12, &[("c", "cache", 12)]),
        ]);
        let mut moved = Moved::default();
        old.diff(&new, &mut moved);
        assert_eq!(moved.services, set(&["web", "db", "cache"]));
        assert_eq!(moved.nodes, set(&["a", "id-a", "b", "id-b", "c", "id-c"]));
    }

    fn checks(list: &[(&str, &str, u64, &str)]) -> Checks {
        Checks {
            checks: list
                .iter()
                .map(|(n, c, i, s)| ((n.to_string(), c.to_string()), (*i, s.to_string())))
                .collect(),
        }
    }

    #[test]
    fn a_service_check_moves_its_service_and_a_node_check_the_services_on_its_node() {
        let cat = catalog(vec![
            node("a", 5, &[("w", "web", 7), ("d", "db", 7)]),
            node("b", 5, &[("c", "cache", 7)]),
        ]);
        let old = checks(&[
            ("a", "serfHealth", 3, ""),
            ("b", "serfHealth", 3, ""),
            ("b", "service:c", 4, "cache"),
        ]);
        let service_check = checks(&[
            ("a", "serfHealth", 3, ""),
            ("b", "serfHealth", 3, ""),
            ("b", "service:c", 9, "cache"),
        ]);
        let mut moved = Moved::default();
        old.diff(&service_check, Some(&cat), &mut moved);
        assert_eq!(moved.services, set(&["cache"]));
        let node_check = checks(&[
            ("a", "serfHealth", 10, ""),
            ("b", "serfHealth", 3, ""),
            ("b", "service:c", 4, "cache"),
        ]);
        let mut moved = Moved::default();
        old.diff(&node_check, Some(&cat), &mut moved);
        assert_eq!(moved.services, set(&["web", "db"]));
        let mut moved = Moved::default();
        old.diff(&node_check, None, &mut moved);
        assert!(
            moved.everything,
            "no catalog: a node check moves everything"
        );
    }

    #[test]
    fn consuls_wire_shapes_parse() {
        // As Consul writes them (trimmed): a node listing, a missing node, state/any.
        let listing = br#"{"Node":{"ID":"4e4a-1","Node":"node-0","Address":"10.0.0.1",
            "Datacenter":"dc1","TaggedAddresses":null,"Meta":null,"CreateIndex":5,"ModifyIndex":6},
            "Services":{"s1":{"ID":"s1","Service":"svc-1","Tags":[],"Port":80,
            "CreateIndex":7,"ModifyIndex":8}}}"#;
        let parsed: Option<NodeListing> = serde_json::from_slice(listing).unwrap();
        let l = parsed.unwrap();
        assert_eq!((l.node.node.as_str(), l.node.modify_index), ("node-0", 6));
        let s = &l.services.unwrap()["s1"];
        assert_eq!((s.service.as_str(), s.modify_index), ("svc-1", 8));
        let gone: Option<NodeListing> = serde_json::from_slice(b"null").unwrap();
        assert!(gone.is_none());
        let state = br#"[{"Node":"node-0","CheckID":"serfHealth","Name":"Serf Health Status",
            "Status":"passing","ServiceID":"","ServiceName":"","ServiceTags":[],
            "CreateIndex":3,"ModifyIndex":4}]"#;
        let c = Checks::parse(state).unwrap();
        assert_eq!(
            c.checks[&("node-0".to_string(), "serfHealth".to_string())],
            (4, String::new())
        );
    }
}
