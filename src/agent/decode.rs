//! Request bodies as Consul decodes them: Go's `encoding/json` with `DisallowUnknownFields`, so
//! keys match case-insensitively (`"name"` is `Name`), unknown keys are refused, durations are Go
//! strings or nanoseconds; then Consul's defaults and validation.

use serde_json::{Map as JsonMap, Value as Json};

use super::catalog::{Deregister, Register};
use super::checks::{AgentError, LocalCheck};
use crate::consul::api::{
    CheckDefinition, HealthCheck, Node, NodeService, ServiceAddress, Weights, CRITICAL, PASSING,
    WARNING,
};
use crate::duration;

/// How a field's value is decoded further.
#[derive(Clone, Copy)]
enum Shape {
    /// Taken as it is.
    Plain,
    Object(&'static [Field]),
    ListOf(&'static [Field]),
    /// Free keys, values of a known shape.
    MapOf(&'static [Field]),
}

/// A struct field: its Go name, snake_case aliases, and shape.
struct Field(&'static str, &'static [&'static str], Shape);

use Shape::{ListOf, MapOf, Object, Plain};

const ADDRESS: &[Field] = &[Field("Address", &[], Plain), Field("Port", &[], Plain)];
const WEIGHTS: &[Field] = &[Field("Passing", &[], Plain), Field("Warning", &[], Plain)];

/// `structs.CheckType`, the checks inside a service definition.
const CHECK_TYPE: &[Field] = &[
    Field("CheckID", &["id"], Plain),
    Field("Name", &[], Plain),
    Field("Status", &[], Plain),
    Field("Notes", &[], Plain),
    Field("HTTP", &[], Plain),
    Field("Method", &[], Plain),
    Field("Header", &[], Plain),
    Field("Body", &[], Plain),
    Field("DisableRedirects", &["disable_redirects"], Plain),
    Field("TLSServerName", &["tls_server_name"], Plain),
    Field("TLSSkipVerify", &["tls_skip_verify"], Plain),
    Field("TCP", &[], Plain),
    Field("TCPUseTLS", &["tcp_use_tls"], Plain),
    Field("UDP", &[], Plain),
    Field("TTL", &[], Plain),
    Field("Interval", &[], Plain),
    Field("Timeout", &[], Plain),
    Field(
        "DeregisterCriticalServiceAfter",
        &["deregister_critical_service_after"],
        Plain,
    ),
    Field("ScriptArgs", &["args", "script_args"], Plain),
    Field("DockerContainerID", &["docker_container_id"], Plain),
    Field("Shell", &[], Plain),
    Field("GRPC", &[], Plain),
    Field("GRPCUseTLS", &["grpc_use_tls"], Plain),
    Field("H2PING", &[], Plain),
    Field("H2PingUseTLS", &["h2ping_use_tls"], Plain),
    Field("OSService", &["os_service"], Plain),
    Field("AliasNode", &["alias_node"], Plain),
    Field("AliasService", &["alias_service"], Plain),
    Field("SuccessBeforePassing", &["success_before_passing"], Plain),
    Field("FailuresBeforeWarning", &["failures_before_warning"], Plain),
    Field(
        "FailuresBeforeCritical",
        &["failures_before_critical"],
        Plain,
    ),
    Field("OutputMaxSize", &["output_max_size"], Plain),
    Field("ServiceID", &["service_id"], Plain),
];

/// `/v1/agent/check/register`: a check definition with `ID` instead of `CheckID`.
const CHECK_DEFINITION: &[Field] = &[
    Field("ID", &[], Plain),
    Field("Name", &[], Plain),
    Field("Status", &[], Plain),
    Field("Notes", &[], Plain),
    Field("ServiceID", &["service_id"], Plain),
    Field("Token", &[], Plain),
    Field("HTTP", &[], Plain),
    Field("Method", &[], Plain),
    Field("Header", &[], Plain),
    Field("Body", &[], Plain),
    Field("DisableRedirects", &["disable_redirects"], Plain),
    Field("TLSServerName", &["tls_server_name"], Plain),
    Field("TLSSkipVerify", &["tls_skip_verify"], Plain),
    Field("TCP", &[], Plain),
    Field("UDP", &[], Plain),
    Field("TTL", &[], Plain),
    Field("Interval", &[], Plain),
    Field("Timeout", &[], Plain),
    Field(
        "DeregisterCriticalServiceAfter",
        &["deregister_critical_service_after"],
        Plain,
    ),
    Field("ScriptArgs", &["args", "script_args"], Plain),
    Field("DockerContainerID", &["docker_container_id"], Plain),
    Field("Shell", &[], Plain),
    Field("GRPC", &[], Plain),
    Field("H2PING", &[], Plain),
    Field("AliasNode", &["alias_node"], Plain),
    Field("AliasService", &["alias_service"], Plain),
    Field("OutputMaxSize", &["output_max_size"], Plain),
];

/// `structs.ServiceDefinition`.
const SERVICE_DEFINITION: &[Field] = &[
    Field("ID", &[], Plain),
    Field("Name", &[], Plain),
    Field("Tags", &[], Plain),
    Field("Address", &[], Plain),
    Field("TaggedAddresses", &["tagged_addresses"], MapOf(ADDRESS)),
    Field("Meta", &[], Plain),
    Field("Port", &[], Plain),
    Field("SocketPath", &["socket_path"], Plain),
    Field("Kind", &[], Plain),
    Field("Weights", &[], Object(WEIGHTS)),
    Field("EnableTagOverride", &["enable_tag_override"], Plain),
    Field("Check", &[], Object(CHECK_TYPE)),
    Field("Checks", &[], ListOf(CHECK_TYPE)),
    Field("Token", &[], Plain),
    Field("Proxy", &[], Plain),
    Field("Connect", &[], Plain),
    Field("Locality", &[], Plain),
    Field("Namespace", &[], Plain),
    Field("Partition", &[], Plain),
];

const NODE_SERVICE: &[Field] = &[
    Field("Kind", &[], Plain),
    Field("ID", &[], Plain),
    Field("Service", &[], Plain),
    Field("Tags", &[], Plain),
    Field("Address", &[], Plain),
    Field("TaggedAddresses", &[], MapOf(ADDRESS)),
    Field("Meta", &[], Plain),
    Field("Port", &[], Plain),
    Field("SocketPath", &[], Plain),
    Field("Weights", &[], Object(WEIGHTS)),
    Field("EnableTagOverride", &[], Plain),
    Field("Proxy", &[], Plain),
    Field("Connect", &[], Plain),
    Field("Locality", &[], Plain),
    Field("PeerName", &[], Plain),
    Field("Namespace", &[], Plain),
    Field("Partition", &[], Plain),
    Field("CreateIndex", &[], Plain),
    Field("ModifyIndex", &[], Plain),
];

const CHECK_DEF_FIELDS: &[Field] = &[
    Field("HTTP", &[], Plain),
    Field("Method", &[], Plain),
    Field("Header", &[], Plain),
    Field("Body", &[], Plain),
    Field("TLSServerName", &[], Plain),
    Field("TLSSkipVerify", &[], Plain),
    Field("TCP", &[], Plain),
    Field("UDP", &[], Plain),
    Field("TTL", &[], Plain),
    Field("Interval", &[], Plain),
    Field("Timeout", &[], Plain),
    Field("DeregisterCriticalServiceAfter", &[], Plain),
    Field("GRPC", &[], Plain),
];

const HEALTH_CHECK: &[Field] = &[
    Field("Node", &[], Plain),
    Field("CheckID", &[], Plain),
    Field("Name", &[], Plain),
    Field("Status", &[], Plain),
    Field("Notes", &[], Plain),
    Field("Output", &[], Plain),
    Field("ServiceID", &[], Plain),
    Field("ServiceName", &[], Plain),
    Field("ServiceTags", &[], Plain),
    Field("Type", &[], Plain),
    Field("Interval", &[], Plain),
    Field("Timeout", &[], Plain),
    Field("ExposedPort", &[], Plain),
    Field("Definition", &[], Object(CHECK_DEF_FIELDS)),
    Field("Namespace", &[], Plain),
    Field("Partition", &[], Plain),
    Field("CreateIndex", &[], Plain),
    Field("ModifyIndex", &[], Plain),
];

const REGISTER_REQUEST: &[Field] = &[
    Field("ID", &[], Plain),
    Field("Node", &[], Plain),
    Field("Address", &[], Plain),
    Field("Datacenter", &[], Plain),
    Field("TaggedAddresses", &[], Plain),
    Field("NodeMeta", &[], Plain),
    Field("Service", &[], Object(NODE_SERVICE)),
    Field("Check", &[], Object(HEALTH_CHECK)),
    Field("Checks", &[], ListOf(HEALTH_CHECK)),
    Field("SkipNodeUpdate", &[], Plain),
    Field("Token", &[], Plain),
    Field("Locality", &[], Plain),
];

const DEREGISTER_REQUEST: &[Field] = &[
    Field("Node", &[], Plain),
    // Obsolete and ignored, but accepted as Consul does: older official clients send
    // `"Address": ""` with every deregistration.
    Field("Address", &[], Plain),
    Field("ServiceID", &[], Plain),
    Field("CheckID", &[], Plain),
    Field("Datacenter", &[], Plain),
    Field("Token", &[], Plain),
];

const CHECK_UPDATE: &[Field] = &[Field("Status", &[], Plain), Field("Output", &[], Plain)];

fn decode_failed(msg: impl std::fmt::Display) -> AgentError {
    AgentError::new(400, format!("Request decode failed: {msg}"))
}

/// Parses a request body as Consul does (`lib.DecodeJSON`: one `json.Decoder.Decode`): an empty
/// one is Go's `EOF`, bytes after the first value are never read, and a `\u` escape of a lone
/// UTF-16 surrogate is U+FFFD (Go's `encoding/json`; serde_json refuses it).
pub fn json_body(body: &[u8]) -> Result<Json, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("Request decode failed: EOF".into());
    }
    let body = replace_lone_surrogates(body);
    let mut values = serde_json::Deserializer::from_slice(&body).into_iter::<Json>();
    match values.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(format!("Request decode failed: {e}")),
        None => Err("Request decode failed: EOF".into()),
    }
}

/// Rewrites `\uXXXX` escapes of lone surrogates inside JSON strings to `\ufffd` (the same
/// length, so positions in errors stay right); a high surrogate followed by an escaped low one
/// is a pair and stays. Only escapes inside strings are looked at; the text is otherwise copied.
fn replace_lone_surrogates(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !body.windows(2).any(|w| w == b"\\u") {
        return std::borrow::Cow::Borrowed(body);
    }
    let hex4 = |at: usize| -> Option<u16> {
        let digits = body.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escaped_unit = |at: usize| -> Option<u16> {
        (body.get(at..at + 2)? == b"\\u")
            .then(|| hex4(at + 2))
            .flatten()
    };
    let mut out = body.to_vec();
    let (mut i, mut in_string) = (0, false);
    while i < body.len() {
        match body[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                let Some(unit) = escaped_unit(i) else {
                    i += 2;
                    continue;
                };
                let is_high = (0xD800..0xDC00).contains(&unit);
                let is_low = (0xDC00..0xE000).contains(&unit);
                let pairs =
                    is_high && escaped_unit(i + 6).is_some_and(|u| (0xDC00..0xE000).contains(&u));
                if pairs {
                    i += 12;
                    continue;
                }
                if is_high || is_low {
                    out[i..i + 6].copy_from_slice(b"\\ufffd");
                }
                i += 6;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Renames keys to their Go field names, refusing unknown ones.
fn canonical(value: Json, fields: &[Field]) -> Result<JsonMap<String, Json>, AgentError> {
    let Json::Object(obj) = value else {
        return Err(decode_failed(format!(
            "json: cannot unmarshal {} into Go value of type struct",
            kind(&value)
        )));
    };
    let mut out = JsonMap::new();
    for (key, v) in obj {
        let Some(field) = fields.iter().find(|f| {
            f.0.eq_ignore_ascii_case(&key) || f.1.iter().any(|a| a.eq_ignore_ascii_case(&key))
        }) else {
            return Err(decode_failed(format!("json: unknown field {key:?}")));
        };
        let v = match (field.2, v) {
            (_, Json::Null) => Json::Null,
            (Plain, v) => v,
            (Object(inner), v) => Json::Object(canonical(v, inner)?),
            (ListOf(inner), Json::Array(items)) => Json::Array(
                items
                    .into_iter()
                    .map(|i| canonical(i, inner).map(Json::Object))
                    .collect::<Result<_, _>>()?,
            ),
            (MapOf(inner), Json::Object(m)) => Json::Object(
                m.into_iter()
                    .map(|(k, v)| Ok((k, Json::Object(canonical(v, inner)?))))
                    .collect::<Result<_, AgentError>>()?,
            ),
            (_, v) => return Err(mismatch(&v, field.0, "struct")),
        };
        out.insert(field.0.to_string(), v);
    }
    Ok(out)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn mismatch(v: &Json, field: &str, go_type: &str) -> AgentError {
    decode_failed(format!(
        "json: cannot unmarshal {} into Go struct field .{field} of type {go_type}",
        kind(v)
    ))
}

/// Typed access to a canonical object.
struct Obj(JsonMap<String, Json>);

impl Obj {
    fn get(&self, f: &str) -> Option<&Json> {
        self.0.get(f).filter(|v| !v.is_null())
    }

    fn str(&self, f: &str) -> Result<String, AgentError> {
        match self.get(f) {
            None => Ok(String::new()),
            Some(Json::String(s)) => Ok(s.clone()),
            Some(v) => Err(mismatch(v, f, "string")),
        }
    }

    fn int(&self, f: &str) -> Result<i64, AgentError> {
        match self.get(f) {
            None => Ok(0),
            Some(Json::Number(n)) => n
                .as_i64()
                .ok_or_else(|| mismatch(&Json::Number(n.clone()), f, "int")),
            Some(v) => Err(mismatch(v, f, "int")),
        }
    }

    fn bool(&self, f: &str) -> Result<bool, AgentError> {
        match self.get(f) {
            None => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(v) => Err(mismatch(v, f, "bool")),
        }
    }

    fn strings(&self, f: &str) -> Result<Vec<String>, AgentError> {
        match self.get(f) {
            None => Ok(Vec::new()),
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| mismatch(i, f, "string"))
                })
                .collect(),
            Some(v) => Err(mismatch(v, f, "[]string")),
        }
    }

    fn string_map(&self, f: &str) -> Result<crate::consul::api::Map, AgentError> {
        match self.get(f) {
            None => Ok(Default::default()),
            Some(Json::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .ok_or_else(|| mismatch(v, f, "string"))
                })
                .collect(),
            Some(v) => Err(mismatch(v, f, "map[string]string")),
        }
    }

    /// A Go duration string or a number of nanoseconds, normalised to Go's printed form.
    fn duration(&self, f: &str) -> Result<String, AgentError> {
        match self.get(f) {
            None => Ok(String::new()),
            Some(Json::String(s)) if s.is_empty() => Ok(String::new()),
            Some(Json::String(s)) => duration::parse(s)
                .map(format_duration)
                .map_err(decode_failed),
            Some(Json::Number(n)) => match n.as_u64() {
                Some(ns) => Ok(format_duration(std::time::Duration::from_nanos(ns))),
                None => Err(mismatch(&Json::Number(n.clone()), f, "time.Duration")),
            },
            Some(v) => Err(mismatch(v, f, "time.Duration")),
        }
    }

    fn object(&self, f: &str) -> Option<Obj> {
        match self.get(f) {
            Some(Json::Object(m)) => Some(Obj(m.clone())),
            _ => None,
        }
    }

    fn list(&self, f: &str) -> Vec<Obj> {
        match self.get(f) {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_object().map(|m| Obj(m.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn format_duration(d: std::time::Duration) -> String {
    if d.is_zero() {
        String::new()
    } else {
        duration::format(d)
    }
}

fn valid_status(s: &str) -> bool {
    matches!(s, PASSING | WARNING | CRITICAL)
}

/// The definition part shared by service checks and standalone checks.
fn check_body(o: &Obj) -> Result<(CheckDefinition, String), AgentError> {
    let unsupported = |what: &str| {
        AgentError::new(
            400,
            format!("Invalid check: {what} checks are not supported by this agent"),
        )
    };
    if o.get("ScriptArgs").is_some() {
        return Err(AgentError::new(
            500,
            "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true",
        ));
    }
    for (field, what) in [
        ("GRPC", "gRPC"),
        ("H2PING", "H2PING"),
        ("UDP", "UDP"),
        ("DockerContainerID", "Docker"),
        ("OSService", "OSService"),
        ("AliasNode", "alias"),
        ("AliasService", "alias"),
    ] {
        if o.get(field).is_some_and(|v| v.as_str() != Some("")) {
            return Err(unsupported(what));
        }
    }
    let header = match o.get("Header") {
        None => Default::default(),
        Some(h) => serde_json::from_value(h.clone())
            .map_err(|_| mismatch(h, "Header", "map[string][]string"))?,
    };
    let def = CheckDefinition {
        http: o.str("HTTP")?,
        method: o.str("Method")?,
        header,
        body: o.str("Body")?,
        disable_redirects: o.bool("DisableRedirects")?,
        tls_skip_verify: o.bool("TLSSkipVerify")?,
        tcp: o.str("TCP")?,
        ttl: o.duration("TTL")?,
        interval: o.duration("Interval")?,
        timeout: o.duration("Timeout")?,
        deregister_critical_service_after: o.duration("DeregisterCriticalServiceAfter")?,
    };
    let check_type = if !def.http.is_empty() {
        "http"
    } else if !def.tcp.is_empty() {
        "tcp"
    } else if !def.ttl.is_empty() {
        "ttl"
    } else {
        ""
    };
    Ok((def, check_type.to_string()))
}

/// Builds the running form of a check, with Consul's validation messages, in the order of
/// `CheckType.Validate`: the probe and its timing, then `OutputMaxSize`, then the failure
/// counts. `o` is the check's definition.
fn local_check(check: HealthCheck, o: &Obj) -> Result<LocalCheck, AgentError> {
    let invalid = |e: &str| AgentError::new(400, format!("Invalid check: {e}"));
    if check.check_type.is_empty() {
        return Err(invalid("TTL must be > 0 for TTL checks"));
    }
    let mut local = LocalCheck::new(check).map_err(|e| invalid(&e))?;
    let output_max_size = o.int("OutputMaxSize")?;
    local.output_max_size = usize::try_from(output_max_size)
        .map_err(|_| invalid("MaxOutputMaxSize must be positive"))?;
    if o.int("FailuresBeforeWarning")? > o.int("FailuresBeforeCritical")? {
        return Err(invalid(
            "FailuresBeforeWarning can't be higher than FailuresBeforeCritical",
        ));
    }
    Ok(local)
}

fn initial_status(o: &Obj) -> Result<String, AgentError> {
    let status = o.str("Status")?;
    if status.is_empty() {
        return Ok(CRITICAL.into());
    }
    if !valid_status(&status) {
        return Err(AgentError::new(
            400,
            "Status for checks must 'passing', 'warning', 'critical'",
        ));
    }
    Ok(status)
}

/// `PUT /v1/agent/service/register` (and service definitions in config files).
pub fn service_definition(
    body: Json,
    node: &Node,
) -> Result<(NodeService, Vec<LocalCheck>), AgentError> {
    let o = Obj(canonical(body, SERVICE_DEFINITION)?);
    let name = o.str("Name")?;
    if name.is_empty() {
        return Err(AgentError::new(400, "Missing service name"));
    }
    let mut id = o.str("ID")?;
    if id.is_empty() {
        id = name.clone();
    }
    let address = o.str("Address")?;
    if address == "0.0.0.0" || address == "::" || address == "[::]" {
        return Err(AgentError::new(400, "Invalid service address"));
    }
    let port = o.int("Port")?;
    let weights = match o.object("Weights") {
        Some(w) => {
            let weights = Weights {
                passing: w.int("Passing")?,
                warning: w.int("Warning")?,
            };
            if weights.passing < 1
                || weights.passing > 65535
                || !(0..=65535).contains(&weights.warning)
            {
                return Err(AgentError::new(400, "Invalid Weights: Passing must be between 1 and 65535, Warning between 0 and 65535"));
            }
            weights
        }
        None => Weights::default(),
    };
    let mut tagged: crate::consul::api::TaggedAddresses = Default::default();
    if let Some(Json::Object(m)) = o.get("TaggedAddresses") {
        for (k, v) in m {
            let a = Obj(v.as_object().cloned().unwrap_or_default());
            tagged.insert(
                k.clone(),
                ServiceAddress {
                    address: a.str("Address")?,
                    port: a.int("Port")?,
                },
            );
        }
    }
    if address.parse::<std::net::Ipv4Addr>().is_ok() {
        for key in ["lan_ipv4", "wan_ipv4"] {
            tagged.entry(key.into()).or_insert(ServiceAddress {
                address: address.clone(),
                port,
            });
        }
    } else if address.parse::<std::net::Ipv6Addr>().is_ok() {
        for key in ["lan_ipv6", "wan_ipv6"] {
            tagged.entry(key.into()).or_insert(ServiceAddress {
                address: address.clone(),
                port,
            });
        }
    }
    let service = NodeService {
        kind: o.str("Kind")?,
        id: id.clone(),
        service: name.clone(),
        tags: o.strings("Tags")?,
        address,
        tagged_addresses: tagged,
        meta: o.string_map("Meta")?,
        port,
        socket_path: o.str("SocketPath")?,
        weights,
        enable_tag_override: o.bool("EnableTagOverride")?,
        proxy: serde_json::json!({"MeshGateway": {}, "Expose": {}}),
        connect: serde_json::json!({}),
        ..Default::default()
    };
    super::validate::service_meta(&service.kind, &service.meta)
        .map_err(|e| AgentError::new(400, format!("Invalid Service Meta: {e}")))?;
    let mut defs: Vec<Obj> = o
        .object("Check")
        .filter(|c| !c.0.is_empty())
        .into_iter()
        .collect();
    defs.extend(o.list("Checks"));
    let several = defs.len() > 1;
    let mut checks = Vec::new();
    for (i, c) in defs.iter().enumerate() {
        let (definition, check_type) = check_body(c)?;
        let mut check_id = c.str("CheckID")?;
        if check_id.is_empty() {
            check_id = if several {
                format!("service:{id}:{}", i + 1)
            } else {
                format!("service:{id}")
            };
        }
        let mut check_name = c.str("Name")?;
        if check_name.is_empty() {
            check_name = format!("Service '{name}' check");
        }
        let check = HealthCheck {
            node: node.node.clone(),
            check_id,
            name: check_name,
            status: initial_status(c)?,
            notes: c.str("Notes")?,
            service_id: id.clone(),
            service_name: name.clone(),
            service_tags: service.tags.clone(),
            check_type,
            interval: definition.interval.clone(),
            timeout: definition.timeout.clone(),
            definition,
            ..Default::default()
        };
        checks.push(local_check(check, c)?);
    }
    Ok((service, checks))
}

/// `PUT /v1/agent/check/register`.
pub fn check_definition(body: Json) -> Result<LocalCheck, AgentError> {
    let o = Obj(canonical(body, CHECK_DEFINITION)?);
    let name = o.str("Name")?;
    if name.is_empty() {
        return Err(AgentError::new(400, "Missing check name"));
    }
    let mut id = o.str("ID")?;
    if id.is_empty() {
        id = name.clone();
    }
    let status = o.str("Status")?;
    if !status.is_empty() && !valid_status(&status) {
        return Err(AgentError::new(400, "Bad check status"));
    }
    let (definition, check_type) = check_body(&o)?;
    let check = HealthCheck {
        check_id: id,
        name,
        status: if status.is_empty() {
            CRITICAL.into()
        } else {
            status
        },
        notes: o.str("Notes")?,
        service_id: o.str("ServiceID")?,
        check_type,
        interval: definition.interval.clone(),
        timeout: definition.timeout.clone(),
        definition,
        ..Default::default()
    };
    local_check(check, &o)
}

/// `PUT /v1/agent/check/update/:id`: the new status and output.
pub fn check_update(body: Json) -> Result<(String, String), AgentError> {
    let o = Obj(canonical(body, CHECK_UPDATE)?);
    let status = o.str("Status")?;
    if !valid_status(&status) {
        return Err(AgentError::new(
            400,
            format!("Invalid check status: '{status}'"),
        ));
    }
    Ok((status, o.str("Output")?))
}

/// `PUT /v1/catalog/register`.
pub fn catalog_register(body: Json, datacenter: &str) -> Result<Register, AgentError> {
    let o = Obj(canonical(body, REGISTER_REQUEST)?);
    let node = Node {
        id: o.str("ID")?,
        node: o.str("Node")?,
        address: o.str("Address")?,
        datacenter: match o.str("Datacenter")? {
            dc if dc.is_empty() => datacenter.to_string(),
            dc => dc,
        },
        tagged_addresses: o.string_map("TaggedAddresses")?,
        meta: o.string_map("NodeMeta")?,
        ..Default::default()
    };
    let service = match o.object("Service") {
        Some(s) => {
            let mut svc: NodeService =
                serde_json::from_value(Json::Object(s.0.clone())).map_err(decode_failed)?;
            if svc.id.is_empty() {
                svc.id = svc.service.clone();
            }
            if svc.proxy.is_null() {
                svc.proxy = serde_json::json!({"MeshGateway": {}, "Expose": {}});
            }
            if svc.connect.is_null() {
                svc.connect = serde_json::json!({});
            }
            Some(svc)
        }
        None => None,
    };
    let mut checks = Vec::new();
    for c in o.object("Check").into_iter().chain(o.list("Checks")) {
        let mut check: HealthCheck =
            serde_json::from_value(Json::Object(c.0.clone())).map_err(decode_failed)?;
        if !check.status.is_empty() && !valid_status(&check.status) {
            return Err(AgentError::new(
                500,
                format!("Invalid check status: '{}'", check.status),
            ));
        }
        if check.check_id.is_empty() {
            check.check_id = check.name.clone();
        }
        checks.push(check);
    }
    Ok(Register {
        node,
        skip_node_update: o.bool("SkipNodeUpdate")?,
        service,
        checks,
    })
}

/// `PUT /v1/catalog/deregister`.
pub fn catalog_deregister(body: Json) -> Result<Deregister, AgentError> {
    let o = Obj(canonical(body, DEREGISTER_REQUEST)?);
    let node = o.str("Node")?;
    if node.is_empty() {
        return Err(AgentError::new(500, "Must provide node"));
    }
    let some = |s: String| (!s.is_empty()).then_some(s);
    Ok(Deregister {
        node,
        service_id: some(o.str("ServiceID")?),
        check_id: some(o.str("CheckID")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        Node {
            node: "n1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn bodies_decode_as_gos_json_decoder_does() {
        let v =
            json_body(br#"{"a": "x\ud800y", "b": "\ud83d\ude00", "c": "\udc00\\ud800"}"#).unwrap();
        assert_eq!(v["a"], "x\u{fffd}y", "a lone high surrogate");
        assert_eq!(v["b"], "\u{1f600}", "a pair stays a pair");
        assert_eq!(
            v["c"], "\u{fffd}\\ud800",
            "a lone low one; an escaped backslash is text"
        );
        let v = json_body(br#"{"a": "\ud800\u0041"}"#).unwrap();
        assert_eq!(v["a"], "\u{fffd}A");
        // json.Decoder reads one value and never looks at what follows.
        let v = json_body(b"{\"Name\": \"web\"} trailing } garbage {").unwrap();
        assert_eq!(v["Name"], "web");
        assert_eq!(json_body(b"  ").unwrap_err(), "Request decode failed: EOF");
        assert!(json_body(b"{\"a\": ").is_err());
    }

    #[test]
    fn service_meta_has_consuls_limits() {
        let body = serde_json::json!({"Name": "web", "Meta": {"v": "x".repeat(513)}});
        let err = service_definition(body, &node()).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message
                .starts_with("Invalid Service Meta: Couldn't load metadata pair ('v', 'xxx")
                && err
                    .message
                    .ends_with("'): Value is too long (limit: 512 characters)"),
            "{}",
            err.message
        );
        let body = serde_json::json!({"Name": "web", "Meta": {"consul-x": "1"}});
        assert_eq!(
            service_definition(body, &node()).unwrap_err().message,
            "Invalid Service Meta: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use"
        );
    }

    #[test]
    fn the_seed_registration_decodes_verbatim() {
        let body = serde_json::json!({"name": "nginx","port": 8080,"tags": ["web"],
            "checks": [{"http": "http://172.20.20.3:8080/","interval": "5s"}]});
        let (svc, checks) = service_definition(body, &node()).unwrap();
        assert_eq!(
            (svc.id.as_str(), svc.service.as_str(), svc.port),
            ("nginx", "nginx", 8080)
        );
        assert_eq!(svc.tags, vec!["web"]);
        let c = &checks[0].check;
        assert_eq!(c.check_id, "service:nginx");
        assert_eq!(c.name, "Service 'nginx' check");
        assert_eq!(
            (
                c.status.as_str(),
                c.check_type.as_str(),
                c.interval.as_str()
            ),
            ("critical", "http", "5s")
        );
    }

    #[test]
    fn bad_bodies_get_consuls_answers() {
        let err = |v: Json| service_definition(v, &node()).unwrap_err();
        assert_eq!(
            err(serde_json::json!({"name": "x", "foo": 1})).message,
            "Request decode failed: json: unknown field \"foo\""
        );
        assert_eq!(
            err(serde_json::json!({"port": 1})).message,
            "Missing service name"
        );
        assert_eq!(
            err(serde_json::json!({"name": "x", "port": "80"})).status,
            400
        );
        let bad_interval =
            serde_json::json!({"name": "x", "check": {"http": "http://a/", "interval": "10"}});
        assert_eq!(
            err(bad_interval).message,
            "Request decode failed: time: missing unit in duration \"10\""
        );
        let both = serde_json::json!({"name": "x", "check": {"ttl": "5s", "interval": "5s", "tcp": "a:1"}});
        assert!(err(both).message.starts_with("Invalid check:"));
        assert_eq!(json_body(b"").unwrap_err(), "Request decode failed: EOF");
    }

    #[test]
    fn several_checks_are_numbered() {
        let body = serde_json::json!({"Name": "web", "Check": {"TTL": "10s"}, "Checks": [{"tcp": "a:1", "interval": 1000000000u64}]});
        let (_, checks) = service_definition(body, &node()).unwrap();
        let ids: Vec<&str> = checks.iter().map(|c| c.check.check_id.as_str()).collect();
        assert_eq!(ids, ["service:web:1", "service:web:2"]);
        assert_eq!(checks[1].check.interval, "1s");
    }
}
