//! Consul's JSON wire types, with Consul's field names, order and omission rules. The agent
//! serves them and the watcher reads them; `#[serde(default)]` keeps reading lenient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub type Map = BTreeMap<String, String>;

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// A catalog node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    pub node: String,
    pub address: String,
    pub datacenter: String,
    pub tagged_addresses: Map,
    pub meta: Map,
    pub create_index: u64,
    pub modify_index: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Weights {
    pub passing: i64,
    pub warning: i64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            passing: 1,
            warning: 1,
        }
    }
}

/// A service's tagged address: `{"Address": "10.0.0.1", "Port": 8080}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceAddress {
    pub address: String,
    pub port: i64,
}

pub type TaggedAddresses = BTreeMap<String, ServiceAddress>;

/// A service instance as stored on a node (`structs.NodeService`): the `Service` of a health
/// entry and the values of `/v1/catalog/node/:node`'s `Services`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeService {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub service: String,
    pub tags: Vec<String>,
    pub address: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tagged_addresses: TaggedAddresses,
    pub meta: Map,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub socket_path: String,
    pub weights: Weights,
    pub enable_tag_override: bool,
    pub proxy: serde_json::Value,
    pub connect: serde_json::Value,
    pub peer_name: String,
    pub create_index: u64,
    pub modify_index: u64,
}

impl NodeService {
    /// The same service, ignoring the raft indexes (what decides whether a write changes it).
    pub fn same_as(&self, other: &NodeService) -> bool {
        let mut a = self.clone();
        a.create_index = other.create_index;
        a.modify_index = other.modify_index;
        &a == other
    }
}

/// `/v1/catalog/service/:name` entries (`structs.ServiceNode`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct CatalogService {
    #[serde(rename = "ID")]
    pub id: String,
    pub node: String,
    pub address: String,
    pub datacenter: String,
    pub tagged_addresses: Map,
    pub node_meta: Map,
    pub service_kind: String,
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    pub service_name: String,
    pub service_tags: Vec<String>,
    pub service_address: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub service_tagged_addresses: TaggedAddresses,
    pub service_weights: Weights,
    pub service_meta: Map,
    pub service_port: i64,
    pub service_socket_path: String,
    pub service_enable_tag_override: bool,
    pub service_proxy: serde_json::Value,
    pub service_connect: serde_json::Value,
    pub create_index: u64,
    pub modify_index: u64,
}

impl CatalogService {
    pub fn new(node: &Node, s: &NodeService) -> CatalogService {
        CatalogService {
            id: node.id.clone(),
            node: node.node.clone(),
            address: node.address.clone(),
            datacenter: node.datacenter.clone(),
            tagged_addresses: node.tagged_addresses.clone(),
            node_meta: node.meta.clone(),
            service_kind: s.kind.clone(),
            service_id: s.id.clone(),
            service_name: s.service.clone(),
            service_tags: s.tags.clone(),
            service_address: s.address.clone(),
            service_tagged_addresses: s.tagged_addresses.clone(),
            service_weights: s.weights.clone(),
            service_meta: s.meta.clone(),
            service_port: s.port,
            service_socket_path: s.socket_path.clone(),
            service_enable_tag_override: s.enable_tag_override,
            service_proxy: s.proxy.clone(),
            service_connect: s.connect.clone(),
            create_index: s.create_index,
            modify_index: s.modify_index,
        }
    }
}

/// `/v1/agent/services` values (`api.AgentService`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct AgentService {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub service: String,
    pub tags: Vec<String>,
    pub meta: Map,
    pub port: i64,
    pub address: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub socket_path: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tagged_addresses: TaggedAddresses,
    pub weights: Weights,
    pub enable_tag_override: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_hash: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub datacenter: String,
}

impl AgentService {
    pub fn new(s: &NodeService, datacenter: &str) -> AgentService {
        AgentService {
            kind: s.kind.clone(),
            id: s.id.clone(),
            service: s.service.clone(),
            tags: s.tags.clone(),
            meta: s.meta.clone(),
            port: s.port,
            address: s.address.clone(),
            socket_path: s.socket_path.clone(),
            tagged_addresses: s.tagged_addresses.clone(),
            weights: s.weights.clone(),
            enable_tag_override: s.enable_tag_override,
            content_hash: String::new(),
            datacenter: datacenter.to_string(),
        }
    }
}

/// What a check runs (`structs.HealthCheckDefinition`); every field omitted when empty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct CheckDefinition {
    #[serde(rename = "HTTP", skip_serializing_if = "String::is_empty")]
    pub http: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub method: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_redirects: bool,
    #[serde(rename = "TLSSkipVerify", skip_serializing_if = "std::ops::Not::not")]
    pub tls_skip_verify: bool,
    #[serde(rename = "TCP", skip_serializing_if = "String::is_empty")]
    pub tcp: String,
    #[serde(rename = "TTL", skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interval: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timeout: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deregister_critical_service_after: String,
}

/// A health check (`structs.HealthCheck`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthCheck {
    pub node: String,
    #[serde(rename = "CheckID")]
    pub check_id: String,
    pub name: String,
    pub status: String,
    pub notes: String,
    pub output: String,
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    pub service_name: String,
    pub service_tags: Vec<String>,
    #[serde(rename = "Type")]
    pub check_type: String,
    pub interval: String,
    pub timeout: String,
    pub exposed_port: i64,
    pub definition: CheckDefinition,
    pub create_index: u64,
    pub modify_index: u64,
}

impl HealthCheck {
    pub fn same_as(&self, other: &HealthCheck) -> bool {
        let mut a = self.clone();
        a.create_index = other.create_index;
        a.modify_index = other.modify_index;
        &a == other
    }
}

pub const PASSING: &str = "passing";
pub const WARNING: &str = "warning";
pub const CRITICAL: &str = "critical";
pub const MAINTENANCE: &str = "maintenance";

/// `/v1/health/service/:name` entries.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceEntry {
    pub node: Node,
    pub service: NodeService,
    pub checks: Vec<HealthCheck>,
}

/// Go's `api.HealthChecks.AggregatedStatus`: maintenance > critical > warning > passing.
pub fn aggregated_status(checks: &[HealthCheck]) -> &'static str {
    let maintenance = checks.iter().any(|c| {
        c.check_id == "_node_maintenance" || c.check_id.starts_with("_service_maintenance:")
    });
    if maintenance {
        return MAINTENANCE;
    }
    let has = |s: &str| checks.iter().any(|c| c.status == s);
    if has(CRITICAL) {
        CRITICAL
    } else if has(WARNING) {
        WARNING
    } else {
        PASSING
    }
}

/// A KV entry. `Value` is base64 on the wire, `null` when empty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DirEntry {
    pub lock_index: u64,
    pub key: String,
    pub flags: u64,
    #[serde(with = "base64_value")]
    pub value: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub session: String,
    pub create_index: u64,
    pub modify_index: u64,
}

/// `/v1/catalog/node/:node`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeServices {
    pub node: Node,
    pub services: BTreeMap<String, NodeService>,
}

/// `/v1/agent/members` entries.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Member {
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub tags: Map,
    pub status: i64,
    pub protocol_min: u8,
    pub protocol_max: u8,
    pub protocol_cur: u8,
    pub delegate_min: u8,
    pub delegate_max: u8,
    pub delegate_cur: u8,
}

/// Response metadata from the `X-Consul-*` headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryMeta {
    pub index: u64,
    pub known_leader: bool,
    pub last_contact_ms: u64,
}

/// Base64 as Go's `encoding/json` has `[]byte` (`encoding/base64.StdEncoding`), `null` for an
/// empty value: the standard alphabet, padding required, line breaks skipped, and nonzero bits
/// left over in the last character accepted (StdEncoding is not `Strict()`).
pub mod base64_value {
    use base64::alphabet::STANDARD;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new()
            .with_encode_padding(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    );

    pub fn encode(bytes: &[u8]) -> String {
        GO_STD_ENCODING.encode(bytes)
    }

    pub fn decode(s: &str) -> Result<Vec<u8>, String> {
        // Go's decoder drops '\r' and '\n' wherever they are.
        let decoded = if s.contains(['\r', '\n']) {
            GO_STD_ENCODING.decode(s.replace(['\r', '\n'], ""))
        } else {
            GO_STD_ENCODING.decode(s)
        };
        decoded.map_err(|e| format!("illegal base64 data: {e}"))
    }

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) if !bytes.is_empty() => s.serialize_str(&encode(bytes)),
            _ => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| decode(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "hello world", "\u{0}\u{ff}"] {
            let e = base64_value::encode(s.as_bytes());
            assert_eq!(base64_value::decode(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_value::encode(b"hello"), "aGVsbG8=");
    }

    /// What Go's `base64.StdEncoding` (and so Consul's JSON decoding of a KV value) refuses.
    #[test]
    fn base64_refuses_what_go_refuses() {
        for bad in [
            "A",
            "QQ",
            "QQ=",
            "QQ===",
            "aGVsbG8",
            "aGV sbG8=",
            "aGVsbG8=QQ==",
            "a-_b",
        ] {
            assert!(base64_value::decode(bad).is_err(), "{bad:?}");
            let json = format!(r#"{{"Key":"k","Value":"{bad}"}}"#);
            assert!(serde_json::from_str::<DirEntry>(&json).is_err(), "{bad:?}");
        }
        // Go skips line breaks, and takes leftover bits in the last character as zeros.
        assert_eq!(base64_value::decode("aGVs\r\nbG8=").unwrap(), b"hello");
        assert_eq!(base64_value::decode("QR==").unwrap(), b"A");
        let pair: DirEntry = serde_json::from_str(r#"{"Key":"k","Value":"aGVsbG8="}"#).unwrap();
        assert_eq!(pair.value.as_deref(), Some(&b"hello"[..]));
        let back = serde_json::to_value(&pair).unwrap();
        assert_eq!(back["Value"], "aGVsbG8=");
        let empty: DirEntry = serde_json::from_str(r#"{"Key":"k","Value":null}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&empty).unwrap()["Value"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn aggregated_status_orders_severity() {
        let check = |id: &str, status: &str| HealthCheck {
            check_id: id.into(),
            status: status.into(),
            ..Default::default()
        };
        assert_eq!(aggregated_status(&[]), PASSING);
        assert_eq!(
            aggregated_status(&[check("a", PASSING), check("b", WARNING)]),
            WARNING
        );
        assert_eq!(
            aggregated_status(&[check("a", CRITICAL), check("b", WARNING)]),
            CRITICAL
        );
        assert_eq!(
            aggregated_status(&[check("_service_maintenance:x", PASSING)]),
            MAINTENANCE
        );
    }

    #[test]
    fn omits_what_consul_omits() {
        let s = NodeService {
            id: "web".into(),
            service: "web".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("Kind").is_none());
        assert!(json.get("Port").is_none());
        assert!(json.get("TaggedAddresses").is_none());
        assert_eq!(json["Tags"], serde_json::json!([]));
        let e = DirEntry {
            key: "k".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap()["Value"],
            serde_json::Value::Null
        );
    }
}
