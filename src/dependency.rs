//! Dependencies: what a template asks for, parsed with consul-template's query grammar and named
//! by its canonical string (`health.service(web|passing)`). Two templates asking for the same
//! thing share one dependency, because they share the string.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use crate::consul::api::{self, DirEntry, HealthCheck, Node, NodeServices, ServiceEntry};
use crate::consul::client::{path_escape, Blocking, Client};
use crate::gotmpl::{FuncError, Object, Record, RecordType, Typed, Value};

/// Aggregated health states a `service` filter may name.
pub const HEALTH_STATES: &[&str] = &["any", "critical", "maintenance", "passing", "warning"];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dep {
    /// `service "[tag.]name[?query][@dc][~near][|filters]"`
    HealthService(HealthService),
    /// `services "[?query][@dc]"`
    CatalogServices { dc: String, query: String },
    /// `node "[name][?query][@dc]"` (no name: the local agent's node)
    CatalogNode { name: String, dc: String },
    /// `nodes "[?query][@dc][~near]"`
    CatalogNodes { dc: String, near: String },
    /// `key`: a missing key keeps the template waiting.
    KvBlock { key: String, dc: String },
    /// `keyExists`, `keyOrDefault`: a missing key is an answer.
    KvGet { key: String, dc: String },
    /// `ls`, `tree`; with `safe`, an empty prefix is no answer yet (`safeLs`, `safeTree`).
    KvList {
        prefix: String,
        dc: String,
        safe: bool,
    },
    /// `datacenters`
    Datacenters,
    /// `file "path"`
    File(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HealthService {
    pub tag: String,
    pub name: String,
    pub query: String,
    pub dc: String,
    pub near: String,
    /// Sorted; `["passing"]` unless the template said otherwise.
    pub filters: Vec<String>,
}

impl HealthService {
    /// Only passing instances: asked of the server with `?passing`, no client-side filter.
    pub fn passing_only(&self) -> bool {
        self.filters == ["passing"]
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("dependency grammar"))
}

// The grammars of consul-template's dependency package ([[:word:]] is ASCII [0-9A-Za-z_]).
const QUERY: &str = r"(\?(?P<query>[[:word:]\-=&]+))?";
const DC: &str = r"(@(?P<dc>[[:word:]\.\-]+))?";
const NEAR: &str = r"(~(?P<near>[[:word:]\.\-]+))?";

fn service_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        &format!(
            r"\A((?P<tag>[[:word:]=:\.\-]+)\.)?(?P<name>[[:word:]\-]+){QUERY}{DC}{NEAR}(\|(?P<filter>[[:word:],]+))?\z"
        ),
    )
}

fn key_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, &format!(r"\A/?(?P<key>[^@\?]+){QUERY}{DC}\z"))
}

fn prefix_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, &format!(r"\A/?(?P<prefix>[^@\?]+){QUERY}{DC}\z"))
}

fn node_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, &format!(r"\A(?P<name>[[:word:]\.\-]+){QUERY}{DC}\z"))
}

fn nodes_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, &format!(r"\A{QUERY}{DC}{NEAR}\z"))
}

fn services_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, &format!(r"\A{QUERY}{DC}\z"))
}

/// Query parameters consul-template allows; `?filter=` and the rest are refused.
fn check_query(kind: &str, query: &str, input: &str) -> Result<(), String> {
    let mut peer = false;
    let mut sameness = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or("");
        match key {
            "ns" | "partition" => {}
            "peer" => peer = true,
            "sameness-group" => sameness = true,
            _ => {
                return Err(format!(
                    "{kind}: invalid query parameter: {key:?} in {input:?}"
                ))
            }
        }
    }
    if peer && sameness {
        return Err(format!(
            "{kind}: cannot specify both peer and sameness-group in {input:?}"
        ));
    }
    Ok(())
}

fn group(c: &regex::Captures<'_>, name: &str) -> String {
    c.name(name)
        .map_or(String::new(), |m| m.as_str().to_string())
}

impl Dep {
    /// `service`'s arguments; extra ones are filters (`service "web" "passing,warning"`).
    pub fn health_service(args: &[&str]) -> Result<Dep, String> {
        let s = args.join("|");
        let c = service_re()
            .captures(&s)
            .ok_or_else(|| format!("health.service: invalid format: {s:?}"))?;
        let mut filters = Vec::new();
        match c.name("filter") {
            Some(f) => {
                for f in f
                    .as_str()
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                {
                    if !HEALTH_STATES.contains(&f) {
                        return Err(format!("health.service: invalid filter: {f:?} in {s:?}"));
                    }
                    filters.push(f.to_string());
                }
                filters.sort();
            }
            None => filters.push("passing".into()),
        }
        let query = group(&c, "query");
        check_query("health.service", &query, &s)?;
        Ok(Dep::HealthService(HealthService {
            tag: group(&c, "tag"),
            name: group(&c, "name"),
            query,
            dc: group(&c, "dc"),
            near: group(&c, "near"),
            filters,
        }))
    }

    pub fn catalog_services(s: &str) -> Result<Dep, String> {
        let c = services_re()
            .captures(s)
            .ok_or_else(|| format!("catalog.services: invalid format: {s:?}"))?;
        let query = group(&c, "query");
        check_query("catalog.services", &query, s)?;
        Ok(Dep::CatalogServices {
            dc: group(&c, "dc"),
            query,
        })
    }

    /// `node`: `""` is the agent's own node; otherwise a name is required (`"@dc1"` is
    /// refused, as consul-template refuses it).
    pub fn catalog_node(s: &str) -> Result<Dep, String> {
        if s.is_empty() {
            return Ok(Dep::CatalogNode {
                name: String::new(),
                dc: String::new(),
            });
        }
        let c = node_re()
            .captures(s)
            .ok_or_else(|| format!("catalog.node: invalid format: {s:?}"))?;
        check_query("catalog.node", &group(&c, "query"), s)?;
        Ok(Dep::CatalogNode {
            name: group(&c, "name"),
            dc: group(&c, "dc"),
        })
    }

    pub fn catalog_nodes(s: &str) -> Result<Dep, String> {
        let c = nodes_re()
            .captures(s)
            .ok_or_else(|| format!("catalog.nodes: invalid format: {s:?}"))?;
        check_query("catalog.nodes", &group(&c, "query"), s)?;
        Ok(Dep::CatalogNodes {
            dc: group(&c, "dc"),
            near: group(&c, "near"),
        })
    }

    /// `key` (blocking on a missing key) or `keyExists`/`keyOrDefault` (not blocking).
    pub fn kv(s: &str, block: bool) -> Result<Dep, String> {
        // consul-template parses both as a kv.get query (`key` then enables blocking), so
        // both are worded `kv.get`.
        let c = key_re()
            .captures(s)
            .ok_or_else(|| format!("kv.get: invalid format: {s:?}"))?;
        check_query("kv.get", &group(&c, "query"), s)?;
        let (key, dc) = (group(&c, "key"), group(&c, "dc"));
        Ok(if block {
            Dep::KvBlock { key, dc }
        } else {
            Dep::KvGet { key, dc }
        })
    }

    /// `ls`/`tree` and their `safe` forms; `""` is the whole store (the functions answer an
    /// empty list for it without asking, as consul-template does).
    pub fn kv_list(s: &str, safe: bool) -> Result<Dep, String> {
        if s.is_empty() {
            return Ok(Dep::KvList {
                prefix: String::new(),
                dc: String::new(),
                safe,
            });
        }
        let c = prefix_re()
            .captures(s)
            .ok_or_else(|| format!("kv.list: invalid format: {s:?}"))?;
        check_query("kv.list", &group(&c, "query"), s)?;
        Ok(Dep::KvList {
            prefix: group(&c, "prefix"),
            dc: group(&c, "dc"),
            safe,
        })
    }

    /// The canonical string: a dependency's identity, as consul-template prints it.
    pub fn key(&self) -> String {
        let at = |dc: &str| {
            if dc.is_empty() {
                String::new()
            } else {
                format!("@{dc}")
            }
        };
        match self {
            Dep::HealthService(h) => {
                let mut name = h.name.clone();
                if !h.tag.is_empty() {
                    name = format!("{}.{name}", h.tag);
                }
                if !h.query.is_empty() {
                    name = format!("{name}?{}", h.query);
                }
                name.push_str(&at(&h.dc));
                if !h.near.is_empty() {
                    name = format!("{name}~{}", h.near);
                }
                if !h.filters.is_empty() {
                    name = format!("{name}|{}", h.filters.join(","));
                }
                format!("health.service({name})")
            }
            Dep::CatalogServices { dc, query } => {
                let mut s = String::new();
                if !query.is_empty() {
                    s = format!("?{query}");
                }
                s.push_str(&at(dc));
                if s.is_empty() {
                    "catalog.services".into()
                } else {
                    format!("catalog.services({s})")
                }
            }
            Dep::CatalogNode { name, dc } => {
                let s = format!("{name}{}", at(dc));
                if s.is_empty() {
                    "catalog.node".into()
                } else {
                    format!("catalog.node({s})")
                }
            }
            Dep::CatalogNodes { dc, near } => {
                let mut s = at(dc);
                if !near.is_empty() {
                    s = format!("{s}~{near}");
                }
                if s.is_empty() {
                    "catalog.nodes".into()
                } else {
                    format!("catalog.nodes({s})")
                }
            }
            Dep::KvBlock { key, dc } => format!("kv.block({key}{})", at(dc)),
            Dep::KvGet { key, dc } => format!("kv.get({key}{})", at(dc)),
            Dep::KvList {
                prefix,
                dc,
                safe: false,
            } => format!("kv.list({prefix}{})", at(dc)),
            Dep::KvList {
                prefix,
                dc,
                safe: true,
            } => format!("kv.list.block({prefix}{})", at(dc)),
            Dep::Datacenters => "catalog.datacenters".into(),
            Dep::File(path) => format!("file({path})"),
        }
    }

    /// Whether the dependency is answered by blocking queries (the rest are polled).
    pub fn blocking(&self) -> bool {
        !matches!(self, Dep::Datacenters | Dep::File(_))
    }
}

/// What one fetch answered: the data (`None`: nothing yet, keep waiting) and the index.
pub struct Fetched {
    pub data: Option<Value>,
    pub index: u64,
    pub last_contact_ms: u64,
    /// The raw body's digest, to tell a real change from a repeat.
    pub body: BodyDigest,
}

/// SHA-256 of an answer's body. A view keeps this instead of the body it last saw: at 10,000
/// dependencies the bodies were 12 MB held only to be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    pub fn of(body: &[u8]) -> BodyDigest {
        use sha2::Digest;
        BodyDigest(sha2::Sha256::digest(body).into())
    }
}

impl Dep {
    /// Fetches the dependency's data once (a blocking query when `blocking` has an index). An
    /// answer whose body has the digest `known` (the last one seen) is not decoded again:
    /// `data` is `None`.
    pub async fn fetch(
        &self,
        client: &Client,
        blocking: Option<Blocking>,
        stale: bool,
        known: Option<BodyDigest>,
    ) -> Result<Fetched, String> {
        let dc_param = |dc: &str| -> Vec<(&str, String)> {
            if dc.is_empty() {
                Vec::new()
            } else {
                vec![("dc", dc.to_string())]
            }
        };
        let get = |path: String, params: Vec<(&'static str, String)>| async move {
            client.get(&path, &params, blocking, stale).await
        };
        let r = match self {
            Dep::HealthService(h) => {
                let mut params = dc_param(&h.dc);
                if !h.tag.is_empty() {
                    params.push(("tag", h.tag.clone()));
                }
                if !h.near.is_empty() {
                    params.push(("near", h.near.clone()));
                }
                if h.passing_only() {
                    params.push(("passing", "1".into()));
                }
                params.extend(query_params(&h.query));
                get(
                    format!("/v1/health/service/{}", path_escape(&h.name)),
                    params,
                )
                .await?
            }
            Dep::CatalogServices { dc, query } => {
                let mut params = dc_param(dc);
                params.extend(query_params(query));
                get("/v1/catalog/services".into(), params).await?
            }
            Dep::CatalogNode { name, dc } => {
                let name = if name.is_empty() {
                    local_node_name(client).await?
                } else {
                    name.clone()
                };
                get(
                    format!("/v1/catalog/node/{}", path_escape(&name)),
                    dc_param(dc),
                )
                .await?
            }
            Dep::CatalogNodes { dc, near } => {
                let mut params = dc_param(dc);
                if !near.is_empty() {
                    params.push(("near", near.clone()));
                }
                get("/v1/catalog/nodes".into(), params).await?
            }
            Dep::KvBlock { key, dc } | Dep::KvGet { key, dc } => {
                get(format!("/v1/kv/{}", path_escape(key)), dc_param(dc)).await?
            }
            Dep::KvList { prefix, dc, .. } => {
                let mut params = dc_param(dc);
                params.push(("recurse", String::new()));
                get(format!("/v1/kv/{}", path_escape(prefix)), params).await?
            }
            Dep::Datacenters => {
                client
                    .get("/v1/catalog/datacenters", &[], None, false)
                    .await?
            }
            Dep::File(path) => return read_file(path),
        };
        let digest = BodyDigest::of(&r.body);
        let data = if known == Some(digest) {
            None
        } else {
            self.decode(r.status, &r.body)?
        };
        Ok(Fetched {
            data,
            index: r.meta.index,
            last_contact_ms: r.meta.last_contact_ms,
            body: digest,
        })
    }

    /// What a template sees before the data arrives (and for a 404 answer): an empty slice of
    /// the function's Go type, or nil.
    pub fn empty_value(&self) -> Value {
        match self {
            Dep::HealthService(_) => Typed::list("[]*dependency.HealthService", Vec::new()),
            Dep::CatalogServices { .. } => Typed::list("[]*dependency.CatalogSnippet", Vec::new()),
            Dep::CatalogNodes { .. } => Typed::list("[]*dependency.Node", Vec::new()),
            Dep::KvList { .. } => Typed::list("[]*dependency.KeyPair", Vec::new()),
            Dep::Datacenters => Typed::strings(Vec::new()),
            Dep::CatalogNode { .. } | Dep::KvBlock { .. } | Dep::KvGet { .. } => Value::Nil,
            Dep::File(_) => Value::str(""),
        }
    }

    /// Turns a response body into what templates see.
    pub fn decode(&self, status: u16, body: &[u8]) -> Result<Option<Value>, String> {
        let parse_err = |e: serde_json::Error| format!("{}: decoding response: {e}", self.key());
        if status == 404 {
            return Ok(match self {
                // A missing key keeps `key` waiting; for the others it is an answer.
                Dep::KvBlock { .. } => None,
                Dep::KvGet { .. } => Some(Value::Nil),
                Dep::KvList { safe, .. } => (!safe).then(|| Value::list(Vec::new())),
                _ => Some(self.empty_value()),
            });
        }
        Ok(Some(match self {
            Dep::HealthService(h) => {
                let entries: Vec<ServiceEntry> = serde_json::from_slice(body).map_err(parse_err)?;
                health_services(h, entries)
            }
            Dep::CatalogServices { .. } => {
                let services: BTreeMap<String, Vec<String>> =
                    serde_json::from_slice(body).map_err(parse_err)?;
                catalog_snippets(services)
            }
            Dep::CatalogNode { .. } => {
                let node: Option<NodeServices> = serde_json::from_slice(body).map_err(parse_err)?;
                catalog_node(node)
            }
            Dep::CatalogNodes { .. } => {
                let mut nodes: Vec<Node> = serde_json::from_slice(body).map_err(parse_err)?;
                nodes.sort_by(|a, b| (&a.node, &a.address).cmp(&(&b.node, &b.address)));
                Typed::list(
                    "[]*dependency.Node",
                    nodes.iter().map(node_record).collect(),
                )
            }
            Dep::KvBlock { .. } | Dep::KvGet { .. } => {
                let entries: Vec<DirEntry> = serde_json::from_slice(body).map_err(parse_err)?;
                match entries.first() {
                    Some(e) => Value::from_bytes(e.value.as_deref().unwrap_or_default()),
                    None => Value::Nil,
                }
            }
            Dep::KvList { prefix, safe, .. } => {
                let entries: Vec<DirEntry> = serde_json::from_slice(body).map_err(parse_err)?;
                if *safe && entries.is_empty() {
                    return Ok(None);
                }
                Value::list(entries.iter().map(|e| key_pair(prefix, e)).collect())
            }
            Dep::Datacenters => {
                let mut dcs: Vec<String> = serde_json::from_slice(body).map_err(parse_err)?;
                dcs.sort();
                Typed::strings(dcs.into_iter().map(Value::from).collect())
            }
            Dep::File(_) => unreachable!("files are read, not fetched"),
        }))
    }
}

/// `ns`, `partition`, `peer`, `sameness-group` from a dependency's `?query`.
fn query_params(query: &str) -> Vec<(&'static str, String)> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = match k {
                "ns" => "ns",
                "partition" => "partition",
                "peer" => "peer",
                "sameness-group" => "sameness-group",
                _ => return None,
            };
            Some((key, v.to_string()))
        })
        .collect()
}

async fn local_node_name(client: &Client) -> Result<String, String> {
    let r = client.get("/v1/agent/self", &[], None, false).await?;
    let me: serde_json::Value =
        serde_json::from_slice(&r.body).map_err(|e| format!("agent/self: {e}"))?;
    me["Config"]["NodeName"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "agent/self: no Config.NodeName".into())
}

fn read_file(path: &str) -> Result<Fetched, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("file({path}): {e}"))?;
    Ok(Fetched {
        data: Some(Value::from_bytes(&bytes)),
        index: 0,
        last_contact_ms: 0,
        body: BodyDigest::of(&bytes),
    })
}

// The record types templates see, named, ordered and tagged as consul-template v0.42.1's
// dependency package and Consul's api package (v1.34) declare them.

struct Types {
    health_service: Arc<RecordType>,
    health_check: Arc<RecordType>,
    check_definition: Arc<RecordType>,
    weights: Arc<RecordType>,
    service_address: Arc<RecordType>,
    snippet: Arc<RecordType>,
    node: Arc<RecordType>,
    catalog_node: Arc<RecordType>,
    node_service: Arc<RecordType>,
    key_pair: Arc<RecordType>,
}

fn types() -> &'static Types {
    static T: OnceLock<Types> = OnceLock::new();
    T.get_or_init(|| Types {
        health_service: RecordType::new(
            "*dependency.HealthService",
            &[
                "Node",
                "NodeID",
                "NodeAddress",
                "NodeTaggedAddresses",
                "NodeMeta",
                "ServiceMeta",
                "Address",
                "ServiceTaggedAddresses",
                "ID",
                "Name",
                "Tags",
                "Checks",
                "Status",
                "Port",
                "Weights",
            ],
        ),
        health_check: RecordType::tagged(
            "*api.HealthCheck",
            &[
                ("Node", ""),
                ("CheckID", ""),
                ("Name", ""),
                ("Status", ""),
                ("Notes", ""),
                ("Output", ""),
                ("ServiceID", ""),
                ("ServiceName", ""),
                ("ServiceTags", ""),
                ("Type", ""),
                ("Namespace", ",omitempty"),
                ("Partition", ",omitempty"),
                ("ExposedPort", ""),
                ("PeerName", ",omitempty"),
                ("Definition", ""),
                ("CreateIndex", ""),
                ("ModifyIndex", ""),
            ],
        ),
        // Its `MarshalJSON` (pointer receiver) writes the three durations as strings, first.
        check_definition: RecordType::tagged(
            "api.HealthCheckDefinition",
            &[
                ("HTTP", ""),
                ("Header", ""),
                ("Method", ""),
                ("Body", ""),
                ("TLSServerName", ""),
                ("TLSSkipVerify", ""),
                ("TCP", ""),
                ("TCPUseTLS", ""),
                ("UDP", ""),
                ("GRPC", ""),
                ("OSService", ""),
                ("GRPCUseTLS", ""),
                ("IntervalDuration", "-"),
                ("TimeoutDuration", "-"),
                ("DeregisterCriticalServiceAfterDuration", "-"),
                ("SessionName", ",omitempty"),
                ("Interval", ""),
                ("Timeout", ""),
                ("DeregisterCriticalServiceAfter", ""),
            ],
        )
        .with_json_marshal(&["Interval", "Timeout", "DeregisterCriticalServiceAfter"]),
        weights: RecordType::new("api.AgentWeights", &["Passing", "Warning"]),
        service_address: RecordType::new("api.ServiceAddress", &["Address", "Port"]),
        snippet: RecordType::new("*dependency.CatalogSnippet", &["Name", "Tags"]),
        node: RecordType::new(
            "*dependency.Node",
            &[
                "ID",
                "Node",
                "Address",
                "Datacenter",
                "TaggedAddresses",
                "Meta",
            ],
        ),
        catalog_node: RecordType::new("*dependency.CatalogNode", &["Node", "Services"]),
        node_service: RecordType::new(
            "*dependency.CatalogNodeService",
            &[
                "ID",
                "Service",
                "Tags",
                "Meta",
                "Port",
                "Address",
                "EnableTagOverride",
            ],
        ),
        key_pair: RecordType::new(
            "*dependency.KeyPair",
            &[
                "Path",
                "Key",
                "Value",
                "CreateIndex",
                "ModifyIndex",
                "LockIndex",
                "Flags",
                "Session",
            ],
        ),
    })
}

/// consul-template's `ServiceTags`: a sorted `[]string` with a `Contains` method.
#[derive(Debug)]
pub struct ServiceTags(Vec<String>);

impl ServiceTags {
    pub fn value(mut tags: Vec<String>) -> Value {
        tags.sort();
        Value::Object(Arc::new(ServiceTags(tags)))
    }
}

impl Object for ServiceTags {
    fn type_name(&self) -> &str {
        "dependency.ServiceTags"
    }

    fn underlying_type(&self) -> Option<&str> {
        Some("[]string")
    }

    fn underlying(&self) -> Value {
        Value::list(self.0.iter().map(|t| Value::str(t)).collect())
    }

    fn has_method(&self, name: &str) -> bool {
        name == "Contains"
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        if name != "Contains" {
            return None;
        }
        Some(match args {
            [v] => match v.as_str() {
                Some(s) => Ok(Value::Bool(self.0.iter().any(|t| t == s))),
                None => Err(FuncError(format!(
                    "wrong type for value; expected string; got {}",
                    v.type_name()
                ))),
            },
            _ => Err(FuncError(format!(
                "wrong number of args for Contains: want 1 got {}",
                args.len()
            ))),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// Its methods read the value only.
    fn pure_methods(&self) -> bool {
        true
    }
}

/// Consul's `api.HealthChecks` (`[]*api.HealthCheck`) with its `AggregatedStatus` method.
#[derive(Debug)]
pub struct HealthChecks {
    checks: Value,
    status: &'static str,
}

impl Object for HealthChecks {
    fn type_name(&self) -> &str {
        "api.HealthChecks"
    }

    fn underlying_type(&self) -> Option<&str> {
        Some("[]*api.HealthCheck")
    }

    fn underlying(&self) -> Value {
        self.checks.clone()
    }

    fn has_method(&self, name: &str) -> bool {
        name == "AggregatedStatus"
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        (name == "AggregatedStatus").then(|| match args {
            [] => Ok(Value::str(self.status)),
            _ => Err(FuncError(format!(
                "wrong number of args for AggregatedStatus: want 0 got {}",
                args.len()
            ))),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// Its methods read the value only.
    fn pure_methods(&self) -> bool {
        true
    }
}

/// Go's `time.Duration` (a `String` method on the value) and Consul's `api.ReadableDuration`
/// (`String` and `MarshalJSON` on the pointer: `fmt` sees them only where the template engine
/// prints an addressable field, and `encoding/json` writes `"10s"`).
#[derive(Debug)]
pub struct GoDuration {
    nanos: i64,
    readable: bool,
}

impl GoDuration {
    pub fn value(nanos: i64, readable: bool) -> Value {
        Value::Object(Arc::new(GoDuration { nanos, readable }))
    }
}

impl Object for GoDuration {
    fn type_name(&self) -> &str {
        if self.readable {
            "api.ReadableDuration"
        } else {
            "time.Duration"
        }
    }

    fn underlying(&self) -> Value {
        Value::Int(self.nanos)
    }

    fn has_method(&self, name: &str) -> bool {
        name == "String" || (self.readable && name == "Duration")
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        if !args.is_empty() {
            return Some(Err(FuncError(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))));
        }
        match name {
            "String" => Some(Ok(Value::from(crate::duration::format_nanos(self.nanos)))),
            "Duration" if self.readable => Some(Ok(GoDuration::value(self.nanos, false))),
            _ => None,
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// Its methods read the value only.
    fn pure_methods(&self) -> bool {
        true
    }

    fn pointer_methods(&self) -> bool {
        self.readable
    }

    fn marshal_json(&self) -> Option<String> {
        self.readable
            .then(|| format!("\"{}\"", crate::duration::format_nanos(self.nanos)))
    }
}

/// A `map[string]string` (meta, tagged addresses). The empty one is shared: most instances'
/// maps are, three of them each, and nothing changes a decoded map in place.
fn string_map(m: &api::Map) -> Value {
    if m.is_empty() {
        static EMPTY: OnceLock<Value> = OnceLock::new();
        return EMPTY
            .get_or_init(|| Typed::string_map(std::iter::empty::<(&str, Value)>()))
            .clone();
    }
    Typed::string_map(m.iter().map(|(k, v)| (k.as_str(), Value::str(v))))
}

/// A `[]string`.
fn strings(items: &[String]) -> Value {
    Typed::strings(items.iter().map(|s| Value::str(s)).collect())
}

fn duration_nanos(text: &str) -> i64 {
    if text.is_empty() {
        return 0;
    }
    crate::duration::parse_nanos(text).unwrap_or(0)
}

fn check_definition(d: &api::CheckDefinition) -> Value {
    let header: Vec<(&str, Value)> = d
        .header
        .iter()
        .map(|(k, v)| (k.as_str(), strings(v)))
        .collect();
    let header = if header.is_empty() {
        Typed::nil_map("map[string][]string", Typed::list("[]string", Vec::new()))
    } else {
        Typed::map(
            "map[string][]string",
            Typed::list("[]string", Vec::new()),
            Value::map(header),
        )
    };
    let (interval, timeout, deregister) = (
        duration_nanos(&d.interval),
        duration_nanos(&d.timeout),
        duration_nanos(&d.deregister_critical_service_after),
    );
    Record::new(
        &types().check_definition,
        vec![
            Value::str(&d.http),
            header,
            Value::str(&d.method),
            Value::str(&d.body),
            Value::str(""),
            Value::Bool(d.tls_skip_verify),
            Value::str(&d.tcp),
            Value::Bool(false),
            Value::str(""),
            Value::str(""),
            Value::str(""),
            Value::Bool(false),
            GoDuration::value(interval, false),
            GoDuration::value(timeout, false),
            GoDuration::value(deregister, false),
            Value::str(""),
            GoDuration::value(interval, true),
            GoDuration::value(timeout, true),
            GoDuration::value(deregister, true),
        ],
    )
}

fn health_check_record(c: &HealthCheck) -> Value {
    Record::new(
        &types().health_check,
        vec![
            Value::str(&c.node),
            Value::str(&c.check_id),
            Value::str(&c.name),
            Value::str(&c.status),
            Value::str(&c.notes),
            Value::str(&c.output),
            Value::str(&c.service_id),
            Value::str(&c.service_name),
            strings(&c.service_tags),
            Value::str(&c.check_type),
            Value::str(""),
            Value::str(""),
            Value::Int(c.exposed_port),
            Value::str(""),
            check_definition(&c.definition),
            Value::Uint(c.create_index),
            Value::Uint(c.modify_index),
        ],
    )
}

/// `service`: sorted by node then ID, filtered by aggregated status unless asked server-side.
fn health_services(h: &HealthService, entries: Vec<ServiceEntry>) -> Value {
    let t = types();
    let mut out: Vec<(String, String, Value)> = Vec::with_capacity(entries.len());
    for e in entries {
        let status = api::aggregated_status(&e.checks);
        if !h.passing_only() && !h.filters.iter().any(|f| f == "any" || f == status) {
            continue;
        }
        let address = if e.service.address.is_empty() {
            &e.node.address
        } else {
            &e.service.address
        };
        let record = Record::new(
            &t.health_service,
            vec![
                Value::str(&e.node.node),
                Value::str(&e.node.id),
                Value::str(&e.node.address),
                string_map(&e.node.tagged_addresses),
                string_map(&e.node.meta),
                string_map(&e.service.meta),
                Value::str(address),
                service_tagged_addresses(&e.service.tagged_addresses),
                Value::str(&e.service.id),
                Value::str(&e.service.service),
                ServiceTags::value(e.service.tags.clone()),
                Value::Object(Arc::new(HealthChecks {
                    checks: Value::list(e.checks.iter().map(health_check_record).collect()),
                    status,
                })),
                Value::str(status),
                Value::Int(e.service.port),
                Record::new(
                    &t.weights,
                    vec![
                        Value::Int(e.service.weights.passing),
                        Value::Int(e.service.weights.warning),
                    ],
                ),
            ],
        );
        out.push((e.node.node.clone(), e.service.id.clone(), record));
    }
    if h.near.is_empty() {
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    }
    Typed::list(
        "[]*dependency.HealthService",
        out.into_iter().map(|(_, _, v)| v).collect(),
    )
}

/// `map[string]api.ServiceAddress`: nil when the service has none (Consul omits it).
fn service_tagged_addresses(tagged: &api::TaggedAddresses) -> Value {
    let t = types();
    // One zero value and one nil map for all instances: they are only ever read.
    static ZERO: OnceLock<Value> = OnceLock::new();
    static NIL: OnceLock<Value> = OnceLock::new();
    let zero = ZERO
        .get_or_init(|| Record::new(&t.service_address, vec![Value::str(""), Value::Int(0)]))
        .clone();
    const TYPE: &str = "map[string]api.ServiceAddress";
    if tagged.is_empty() {
        return NIL.get_or_init(|| Typed::nil_map(TYPE, zero)).clone();
    }
    let entries = tagged.iter().map(|(k, a)| {
        (
            k.as_str(),
            Record::new(
                &t.service_address,
                vec![Value::str(&a.address), Value::Int(a.port)],
            ),
        )
    });
    Typed::map(TYPE, zero, Value::map(entries))
}

/// `services`: name and sorted tags, sorted by name.
fn catalog_snippets(services: BTreeMap<String, Vec<String>>) -> Value {
    let t = types();
    Typed::list(
        "[]*dependency.CatalogSnippet",
        services
            .into_iter()
            .map(|(name, tags)| {
                Record::new(
                    &t.snippet,
                    vec![Value::from(name), ServiceTags::value(tags)],
                )
            })
            .collect(),
    )
}

fn node_record(n: &Node) -> Value {
    Record::new(
        &types().node,
        vec![
            Value::str(&n.id),
            Value::str(&n.node),
            Value::str(&n.address),
            Value::str(&n.datacenter),
            string_map(&n.tagged_addresses),
            string_map(&n.meta),
        ],
    )
}

/// `node`: the node and its services sorted by name then ID; an unknown node has a nil `Node`.
fn catalog_node(node: Option<NodeServices>) -> Value {
    let t = types();
    let Some(n) = node else {
        let nil_node = Typed::nil_struct_ptr(node_record(&Node::default()));
        let no_services = Typed::nil_list("[]*dependency.CatalogNodeService");
        return Record::new(&t.catalog_node, vec![nil_node, no_services]);
    };
    let mut services: Vec<&api::NodeService> = n.services.values().collect();
    services.sort_by(|a, b| (&a.service, &a.id).cmp(&(&b.service, &b.id)));
    let services = services
        .into_iter()
        .map(|s| {
            Record::new(
                &t.node_service,
                vec![
                    Value::str(&s.id),
                    Value::str(&s.service),
                    ServiceTags::value(s.tags.clone()),
                    string_map(&s.meta),
                    Value::Int(s.port),
                    Value::str(&s.address),
                    Value::Bool(s.enable_tag_override),
                ],
            )
        })
        .collect();
    Record::new(
        &t.catalog_node,
        vec![node_record(&n.node), node_services(services)],
    )
}

fn node_services(services: Vec<Value>) -> Value {
    Typed::list("[]*dependency.CatalogNodeService", services)
}

/// A KV entry as `ls`/`tree` show it: `Key` relative to the prefix.
fn key_pair(prefix: &str, e: &DirEntry) -> Value {
    let key = e
        .key
        .strip_prefix(prefix)
        .unwrap_or(&e.key)
        .trim_start_matches('/');
    Record::new(
        &types().key_pair,
        vec![
            Value::str(&e.key),
            Value::str(key),
            Value::from_bytes(e.value.as_deref().unwrap_or_default()),
            Value::Uint(e.create_index),
            Value::Uint(e.modify_index),
            Value::Uint(e.lock_index),
            Value::Uint(e.flags),
            Value::str(&e.session),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(args: &[&str]) -> String {
        Dep::health_service(args).unwrap().key()
    }

    #[test]
    fn service_grammar() {
        assert_eq!(key(&["web"]), "health.service(web|passing)");
        assert_eq!(
            key(&["web|passing"]),
            key(&["web"]),
            "the default filter is passing"
        );
        assert_eq!(
            key(&["v1.2.web@dc2~_agent|warning,any"]),
            "health.service(v1.2.web@dc2~_agent|any,warning)"
        );
        assert_eq!(
            key(&["web", "passing,warning"]),
            "health.service(web|passing,warning)"
        );
        let Dep::HealthService(h) = Dep::health_service(&["v1.2.web"]).unwrap() else {
            panic!()
        };
        assert_eq!(
            (h.tag.as_str(), h.name.as_str()),
            ("v1.2", "web"),
            "the tag is greedy"
        );
        assert!(h.passing_only());
        assert_eq!(
            Dep::health_service(&["web|bogus"]).unwrap_err(),
            "health.service: invalid filter: \"bogus\" in \"web|bogus\""
        );
        assert!(Dep::health_service(&["web?filter=x"]).is_err());
        assert!(Dep::health_service(&["web?peer=a&sameness-group=b"]).is_err());
        assert!(Dep::health_service(&["we b"]).is_err());
    }

    #[test]
    fn kv_and_catalog_grammar() {
        assert_eq!(
            Dep::kv("/app/config@dc1", true).unwrap().key(),
            "kv.block(app/config@dc1)"
        );
        assert_eq!(
            Dep::kv("app/config", false).unwrap().key(),
            "kv.get(app/config)"
        );
        assert_eq!(Dep::kv_list("", false).unwrap().key(), "kv.list()");
        assert_eq!(
            Dep::kv_list("app/", true).unwrap().key(),
            "kv.list.block(app/)"
        );
        assert_eq!(Dep::kv_list("app/", false).unwrap().key(), "kv.list(app/)");
        assert!(Dep::kv("", true).is_err());
        // A datacenter alone is not a node, key or prefix (consul-template's wording).
        assert_eq!(
            Dep::catalog_node("@dc1").unwrap_err(),
            "catalog.node: invalid format: \"@dc1\""
        );
        assert_eq!(
            Dep::kv_list("@dc1", false).unwrap_err(),
            "kv.list: invalid format: \"@dc1\""
        );
        assert_eq!(
            Dep::kv("@dc1", true).unwrap_err(),
            "kv.get: invalid format: \"@dc1\""
        );
        assert_eq!(Dep::catalog_services("").unwrap().key(), "catalog.services");
        assert_eq!(
            Dep::catalog_services("@dc2").unwrap().key(),
            "catalog.services(@dc2)"
        );
        assert_eq!(Dep::catalog_node("").unwrap().key(), "catalog.node");
        assert_eq!(
            Dep::catalog_node("n1@dc1").unwrap().key(),
            "catalog.node(n1@dc1)"
        );
        assert_eq!(
            Dep::catalog_nodes("@dc1~n2").unwrap().key(),
            "catalog.nodes(@dc1~n2)"
        );
        assert!(Dep::catalog_nodes("x").is_err());
    }
}
