//! ACLs on the HTTP API: `/v1/acl/*` (policies, tokens, bootstrap) with Consul's JSON shapes,
//! and the checks Consul makes on the other endpoints, kept here so that `agent::http` only
//! calls three functions: [`authorize`] before routing (403 for a write or a named read the
//! token lacks), [`filter_body`] after it (list reads lose what the token may not see, as
//! Consul filters rather than refuses), and [`route`] for the ACL endpoints themselves.
//! Bodies that name what a write touches are decoded here with the same decoders the
//! handlers use, so a bad body still gets the handler's 400 first, as in Consul.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http::Method;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::rules::{self, Level};
use super::store::{AclCommand, AclState, Policy, Token, GLOBAL_MANAGEMENT_ID};
use super::{Authorizer, Denied, Resource};
use crate::agent::catalog::{Command, Outcome};
use crate::agent::decode;
use crate::agent::http::{allow_method, Reply};
use crate::agent::Agent;

impl From<Denied> for Reply {
    fn from(d: Denied) -> Reply {
        Reply::error(d.status, d.message)
    }
}

/// The authorizer for this request's token, from the replicated ACL tables.
pub fn resolve(agent: &Agent, secret: Option<&str>) -> Result<Authorizer, Reply> {
    let config = &agent.config.acl;
    if !config.enabled {
        return Ok(Authorizer::allow_all());
    }
    agent
        .store
        .catalog
        .read(|s| Authorizer::resolve(config, &s.acl, secret))
        .map_err(Reply::from)
}

/// Where a client agent asks a server what a token may do (ctmpl's own endpoint: Consul's
/// clients ask over RPC). It answers only for the caller's own token.
pub const AUTHORIZER_PATH: &str = "/v1/acl/ctmpl/authorizer";

/// A server's answer on [`AUTHORIZER_PATH`] as an authorizer; its refusal passed on.
pub fn resolve_answer(
    config: &super::AclConfig,
    status: u16,
    body: &[u8],
) -> Result<Authorizer, Reply> {
    if status != 200 {
        return Err(Reply::error(status, String::from_utf8_lossy(body)));
    }
    let v: Json = serde_json::from_slice(body).map_err(|e| Reply::error(500, e.to_string()))?;
    let rules: Vec<String> = v["Rules"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Authorizer::from_parts(
        text(&v, &["AccessorID"]),
        v["Management"].as_bool().unwrap_or(false),
        &rules,
        config.default_allow,
    ))
}

/// The server's side of [`AUTHORIZER_PATH`].
fn authorizer_answer(agent: &Agent, secret: Option<&str>) -> Result<Reply, Reply> {
    let answer = agent.store.catalog.read(|s| {
        let secret = secret.filter(|s| !s.is_empty());
        let token = s
            .acl
            .by_secret(secret.unwrap_or(super::store::ANONYMOUS_SECRET))?;
        let rules: Vec<String> = token
            .policies
            .iter()
            .filter_map(|id| s.acl.policy(id))
            .map(|p| p.rules)
            .collect();
        Some(json!({
            "AccessorID": token.accessor_id,
            "Management": token.policies.iter().any(|p| p == GLOBAL_MANAGEMENT_ID),
            "Rules": rules,
        }))
    });
    json(&answer.ok_or_else(not_found)?)
}

fn has(query: &[(String, String)], key: &str) -> bool {
    query.iter().any(|(k, _)| k == key)
}

/// The checks Consul makes before answering: `Err` is its 403. Anything the handler will
/// refuse as malformed passes here, so the handler's 400 comes first.
pub fn authorize(
    agent: &Agent,
    authz: &Authorizer,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), Reply> {
    if authz.is_management() {
        return Ok(());
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Ok(());
    };
    let node = agent.local.node.node.as_str();
    let segs: Vec<&str> = rest.splitn(4, '/').collect();
    let check = match segs.as_slice() {
        ["kv", ..] => {
            let key = rest
                .strip_prefix("kv")
                .unwrap_or("")
                .trim_start_matches('/');
            match *method {
                Method::GET if has(query, "recurse") || has(query, "keys") => Ok(()),
                Method::GET => authz.require(Resource::Key, key, Level::Read),
                Method::DELETE if has(query, "recurse") => authz.require_key_write_prefix(key),
                Method::PUT | Method::DELETE => authz.require(Resource::Key, key, Level::Write),
                _ => Ok(()),
            }
        }
        ["catalog", "register"] => catalog_register(agent, authz, body),
        ["catalog", "deregister"] => catalog_deregister(agent, authz, body),
        ["agent", "service", "register"] => {
            match decode::json_body(body)
                .ok()
                .and_then(|b| decode::service_definition(b, &agent.local.node).ok())
            {
                Some((svc, _)) => authz.require(Resource::Service, &svc.service, Level::Write),
                None => Ok(()),
            }
        }
        ["agent", "service", "deregister", id] => match agent.local.service(id) {
            Some(svc) => authz.require(Resource::Service, &svc.service, Level::Write),
            None => Ok(()),
        },
        ["agent", "service", id] if !matches!(*id, "register" | "deregister") => {
            match agent.local.service(id) {
                Some(svc) => authz.require(Resource::Service, &svc.service, Level::Read),
                None => Ok(()),
            }
        }
        ["agent", "check", "register"] => {
            match decode::json_body(body)
                .ok()
                .and_then(|b| decode::check_definition(b).ok())
            {
                Some(local) => {
                    let service = agent
                        .local
                        .service(&local.check.service_id)
                        .map(|s| s.service);
                    check_write(authz, node, service.as_deref())
                }
                None => Ok(()),
            }
        }
        ["agent", "check", "deregister" | "pass" | "warn" | "fail" | "update", id] => {
            match agent.local.check(id) {
                Some(c) => check_write(
                    authz,
                    node,
                    Some(&c.service_name)
                        .filter(|s| !s.is_empty())
                        .map(String::as_str),
                ),
                None => Ok(()),
            }
        }
        ["agent", "self" | "metrics"] | ["ctmpl", "templates"] => {
            authz.require(Resource::Agent, node, Level::Read)
        }
        ["agent", "join", ..] | ["agent", "leave"] => {
            authz.require(Resource::Agent, node, Level::Write)
        }
        ["operator", ..] => authz.require(Resource::Operator, "", Level::Read),
        _ => Ok(()),
    };
    check.map_err(Reply::from)
}

/// A check belongs to a service (service:write) or to the node (node:write).
fn check_write(authz: &Authorizer, node: &str, service: Option<&str>) -> Result<(), Denied> {
    match service {
        Some(name) => authz.require(Resource::Service, name, Level::Write),
        None => authz.require(Resource::Node, node, Level::Write),
    }
}

/// Consul's `vetRegisterWithACL`: node:write to change the node, service:write for its
/// service, and the owner's write for each check.
fn catalog_register(agent: &Agent, authz: &Authorizer, body: &[u8]) -> Result<(), Denied> {
    let Some(reg) = decode::json_body(body)
        .ok()
        .and_then(|b| decode::catalog_register(b, &agent.config.datacenter).ok())
    else {
        return Ok(());
    };
    let node = reg.node.node.as_str();
    if !reg.skip_node_update {
        authz.require(Resource::Node, node, Level::Write)?;
    }
    if let Some(svc) = &reg.service {
        authz.require(Resource::Service, &svc.service, Level::Write)?;
    }
    for check in &reg.checks {
        let service = if check.service_id.is_empty() {
            None
        } else if reg
            .service
            .as_ref()
            .is_some_and(|s| s.id == check.service_id)
        {
            reg.service.as_ref().map(|s| s.service.clone())
        } else {
            Some(service_name(agent, node, &check.service_id))
        };
        check_write(authz, node, service.as_deref())?;
    }
    Ok(())
}

/// Consul's `vetDeregisterWithACL`: service:write for a service, the owner's write for a
/// check, node:write for the node.
fn catalog_deregister(agent: &Agent, authz: &Authorizer, body: &[u8]) -> Result<(), Denied> {
    let Some(d) = decode::json_body(body)
        .ok()
        .and_then(|b| decode::catalog_deregister(b).ok())
    else {
        return Ok(());
    };
    if let Some(check_id) = &d.check_id {
        let owner = agent.store.catalog.read(|s| {
            s.node_checks(&d.node)
                .0
                .into_iter()
                .find(|c| &c.check_id == check_id)
                .map(|c| c.service_name)
                .filter(|n| !n.is_empty())
        });
        return check_write(authz, &d.node, owner.as_deref());
    }
    if let Some(id) = &d.service_id {
        let name = service_name(agent, &d.node, id);
        return authz.require(Resource::Service, &name, Level::Write);
    }
    authz.require(Resource::Node, &d.node, Level::Write)
}

/// The name of service `id` on `node` in the catalog (the ID when unknown).
fn service_name(agent: &Agent, node: &str, id: &str) -> String {
    agent
        .store
        .catalog
        .read(|s| {
            s.node(node)
                .0
                .and_then(|n| n.services.get(id).map(|svc| svc.service.clone()))
        })
        .unwrap_or_else(|| id.to_string())
}

/// A list answer with what the token may not read taken out.
pub struct Filtered {
    pub body: Vec<u8>,
    /// Nothing is left of a KV listing (Consul then answers 404).
    pub emptied_kv: bool,
}

/// Filters a successful JSON answer of a list endpoint; `None` when nothing was taken out.
pub fn filter_body(
    authz: &Authorizer,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Option<Filtered> {
    if authz.is_management() {
        return None;
    }
    let rest = path.strip_prefix("/v1/")?;
    let segs: Vec<&str> = rest.splitn(3, '/').collect();
    let kv_list = segs[0] == "kv" && (has(query, "recurse") || has(query, "keys"));
    let kind = match segs.as_slice() {
        ["catalog", "services"] => Shape::ServiceNames,
        ["catalog", "service", _] => Shape::CatalogServices,
        ["health", "service", _] => Shape::HealthServices,
        ["catalog", "nodes"] => Shape::Nodes,
        ["catalog", "node", _] => Shape::NodeServices,
        ["health", "checks" | "node" | "state", _] => Shape::Checks,
        ["agent", "services"] => Shape::AgentServices,
        ["agent", "checks"] => Shape::AgentChecks,
        ["agent", "members"] => Shape::Members,
        ["kv", ..] if kv_list && has(query, "keys") => Shape::Keys,
        ["kv", ..] if kv_list => Shape::Entries,
        _ => return None,
    };
    let mut value: Json = serde_json::from_slice(body).ok()?;
    if !kind.filter(authz, &mut value) {
        return None;
    }
    let emptied_kv = kv_list && value.as_array().is_some_and(Vec::is_empty);
    let mut body = if has(query, "pretty") {
        serde_json::to_vec_pretty(&value).ok()?
    } else {
        serde_json::to_vec(&value).ok()?
    };
    if has(query, "pretty") {
        body.push(b'\n');
    }
    Some(Filtered { body, emptied_kv })
}

/// The JSON shapes of Consul's list answers.
#[derive(Clone, Copy)]
enum Shape {
    ServiceNames,
    CatalogServices,
    HealthServices,
    Nodes,
    NodeServices,
    Checks,
    AgentServices,
    AgentChecks,
    Members,
    Keys,
    Entries,
}

fn text<'a>(v: &'a Json, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Json::as_str)
        .unwrap_or("")
}

impl Shape {
    /// Removes what the token may not read; whether anything was removed.
    fn filter(self, authz: &Authorizer, value: &mut Json) -> bool {
        let read = |r: Resource, name: &str| authz.allows(r, name, Level::Read);
        let check_ok = |c: &Json| {
            let service = text(c, &["ServiceName"]);
            read(Resource::Node, text(c, &["Node"]))
                && (service.is_empty() || read(Resource::Service, service))
        };
        match self {
            Shape::ServiceNames => retain_map(value, |name, _| read(Resource::Service, name)),
            Shape::CatalogServices => retain_list(value, |s| {
                read(Resource::Node, text(s, &["Node"]))
                    && read(Resource::Service, text(s, &["ServiceName"]))
            }),
            Shape::HealthServices => retain_list(value, |e| {
                read(Resource::Node, text(e, &["Node", "Node"]))
                    && read(Resource::Service, text(e, &["Service", "Service"]))
            }),
            Shape::Nodes => retain_list(value, |n| read(Resource::Node, text(n, &["Node"]))),
            Shape::NodeServices => {
                if value.is_null() {
                    return false;
                }
                if !read(Resource::Node, text(value, &["Node", "Node"])) {
                    *value = Json::Null;
                    return true;
                }
                match value.get_mut("Services") {
                    Some(services) => retain_map(services, |_, s| {
                        read(Resource::Service, text(s, &["Service"]))
                    }),
                    None => false,
                }
            }
            Shape::Checks => retain_list(value, check_ok),
            Shape::AgentServices => {
                retain_map(value, |_, s| read(Resource::Service, text(s, &["Service"])))
            }
            Shape::AgentChecks => retain_map(value, |_, c| check_ok(c)),
            Shape::Members => retain_list(value, |m| read(Resource::Node, text(m, &["Name"]))),
            Shape::Keys => retain_list(value, |k| read(Resource::Key, k.as_str().unwrap_or(""))),
            Shape::Entries => retain_list(value, |e| read(Resource::Key, text(e, &["Key"]))),
        }
    }
}

fn retain_list(value: &mut Json, keep: impl Fn(&Json) -> bool) -> bool {
    let Some(list) = value.as_array_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|item| keep(item));
    list.len() != before
}

fn retain_map(value: &mut Json, keep: impl Fn(&str, &Json) -> bool) -> bool {
    let Some(map) = value.as_object_mut() else {
        return false;
    };
    let before = map.len();
    map.retain(|k, v| keep(k, v));
    map.len() != before
}

// The ACL endpoints.

/// `/v1/acl/...`: `secret` is the request's token (for `token/self`).
pub async fn route(
    agent: &Arc<Agent>,
    authz: &Authorizer,
    secret: Option<&str>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Reply {
    match acl_endpoint(agent, authz, secret, method, path, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn acl_endpoint(
    agent: &Arc<Agent>,
    authz: &Authorizer,
    secret: Option<&str>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Reply, Reply> {
    if !agent.config.acl.enabled {
        return Err(Reply::error(401, "ACL support disabled"));
    }
    let rest = path.strip_prefix("/v1/acl/").unwrap_or("");
    let need = |level: Level| authz.require(Resource::Acl, "", level).map_err(Reply::from);
    let state = || agent.store.catalog.read(|s| s.acl.clone());
    let segs: Vec<&str> = rest.splitn(3, '/').collect();
    match segs.as_slice() {
        ["ctmpl", "authorizer"] => authorizer_answer(agent, secret),
        ["bootstrap"] => {
            allow_method(method, &[Method::PUT])?;
            bootstrap(agent).await
        }
        ["policies"] => {
            allow_method(method, &[Method::GET])?;
            need(Level::Read)?;
            let list: Vec<Json> = state()
                .policies()
                .iter()
                .map(|p| policy_json(p, false))
                .collect();
            json(&Json::Array(list))
        }
        ["policy"] => {
            allow_method(method, &[Method::PUT])?;
            need(Level::Write)?;
            let id = crate::uuid();
            write_policy(agent, &id, body, true).await
        }
        ["policy", "name", name] => {
            allow_method(method, &[Method::GET])?;
            need(Level::Read)?;
            let p = state().policy_by_name(name).ok_or_else(not_found)?;
            json(&policy_json(&p, true))
        }
        ["policy", id] if !id.is_empty() => {
            allow_method(method, &[Method::GET, Method::PUT, Method::DELETE])?;
            match *method {
                Method::GET => {
                    need(Level::Read)?;
                    let p = state().policy(id).ok_or_else(not_found)?;
                    json(&policy_json(&p, true))
                }
                Method::PUT => {
                    need(Level::Write)?;
                    state()
                        .policy(id)
                        .ok_or_else(|| Reply::error(400, format!("Cannot find policy {id}")))?;
                    write_policy(agent, id, body, false).await
                }
                _ => {
                    need(Level::Write)?;
                    write(agent, AclCommand::DeletePolicy(id.to_string())).await?;
                    json(&Json::Bool(true))
                }
            }
        }
        ["policy", ..] => Err(Reply::error(400, "Missing policy ID")),
        ["tokens"] => {
            allow_method(method, &[Method::GET])?;
            need(Level::Read)?;
            let s = state();
            let list: Vec<Json> = s.tokens().iter().map(|t| token_json(&s, t, true)).collect();
            json(&Json::Array(list))
        }
        ["token", "self"] => {
            allow_method(method, &[Method::GET])?;
            let s = state();
            let token = secret
                .filter(|s| !s.is_empty())
                .and_then(|secret| s.by_secret(secret))
                .ok_or_else(not_found)?;
            json(&token_json(&s, &token, false))
        }
        ["token"] => {
            allow_method(method, &[Method::PUT])?;
            need(Level::Write)?;
            write_token(agent, None, body).await
        }
        ["token", id] if !id.is_empty() => {
            allow_method(method, &[Method::GET, Method::PUT, Method::DELETE])?;
            match *method {
                Method::GET => {
                    need(Level::Read)?;
                    let s = state();
                    let token = s.token(id).ok_or_else(not_found)?;
                    json(&token_json(&s, &token, false))
                }
                Method::PUT => {
                    need(Level::Write)?;
                    write_token(agent, Some(id), body).await
                }
                _ => {
                    need(Level::Write)?;
                    write(agent, AclCommand::DeleteToken(id.to_string())).await?;
                    json(&Json::Bool(true))
                }
            }
        }
        ["token", ..] => Err(Reply::error(400, "Missing token ID")),
        _ => Err(Reply::error(
            404,
            "Invalid URL path: not a recognized HTTP API endpoint",
        )),
    }
}

fn not_found() -> Reply {
    Reply::error(403, "ACL not found")
}

fn json(value: &Json) -> Result<Reply, Reply> {
    serde_json::to_vec(value)
        .map(Reply::json_bytes)
        .map_err(|e| Reply::error(500, e.to_string()))
}

/// Commits an ACL change through Raft; refusals carry Consul's status (403 for permission).
async fn write(agent: &Agent, cmd: AclCommand) -> Result<(), Reply> {
    match agent.store.write(Command::Acl(cmd)).await {
        Ok(Outcome::Done(_)) => Ok(()),
        Ok(Outcome::Rejected(msg)) if msg.starts_with("Permission denied") => {
            Err(Reply::error(403, msg))
        }
        Ok(Outcome::Rejected(msg)) => Err(Reply::error(500, msg)),
        Err(e) => Err(Reply::error(500, e)),
    }
}

async fn bootstrap(agent: &Arc<Agent>) -> Result<Reply, Reply> {
    let token = Token {
        accessor_id: crate::uuid(),
        secret_id: crate::uuid(),
        description: "Bootstrap Token (Global Management)".into(),
        policies: vec![GLOBAL_MANAGEMENT_ID.into()],
        create_time: super::store::now_rfc3339(),
        ..Token::default()
    };
    let accessor = token.accessor_id.clone();
    write(
        agent,
        AclCommand::Bootstrap {
            token,
            initial: false,
        },
    )
    .await?;
    let s = agent.store.catalog.read(|s| s.acl.clone());
    let token = s.token(&accessor).ok_or_else(not_found)?;
    let mut out = token_json(&s, &token, false);
    // The legacy `ID` field Consul still sends: the secret.
    out["ID"] = Json::String(token.secret_id.clone());
    json(&out)
}

/// A field of a request body, its name matched case-insensitively as Go's decoder does.
fn field<'a>(body: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn str_field(body: &Map<String, Json>, name: &str, what: &str) -> Result<String, Reply> {
    match field(body, name) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(Reply::error(
            400,
            format!("{what} decoding failed: json: cannot unmarshal {} into Go struct field .{name} of type string", json_kind(other)),
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
        Json::Null => "null",
    }
}

fn body_object(body: &[u8], what: &str) -> Result<Map<String, Json>, Reply> {
    match decode::json_body(body) {
        Ok(Json::Object(o)) => Ok(o),
        Ok(other) => Err(Reply::error(
            400,
            format!(
                "{what} decoding failed: json: cannot unmarshal {} into Go value",
                json_kind(&other)
            ),
        )),
        Err(e) => Err(Reply::error(400, format!("{what} decoding failed: {e}"))),
    }
}

/// Consul's policy name rule.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn write_policy(agent: &Agent, id: &str, body: &[u8], create: bool) -> Result<Reply, Reply> {
    let b = body_object(body, "Policy")?;
    let given_id = str_field(&b, "ID", "Policy")?;
    if create && !given_id.is_empty() {
        return Err(Reply::error(
            400,
            "Cannot specify the ID when creating a new policy",
        ));
    }
    if !create && !given_id.is_empty() && given_id != id {
        return Err(Reply::error(
            400,
            "Policy ID in URL and payload do not match",
        ));
    }
    let name = str_field(&b, "Name", "Policy")?;
    if !valid_name(&name) {
        return Err(Reply::error(500, "Invalid Policy: invalid Name"));
    }
    let rules_text = str_field(&b, "Rules", "Policy")?;
    rules::parse(&rules_text).map_err(|e| Reply::error(500, e))?;
    let datacenters = match field(&b, "Datacenters") {
        Some(Json::Array(list)) => list
            .iter()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let policy = Policy {
        id: id.to_string(),
        name,
        description: str_field(&b, "Description", "Policy")?,
        rules: rules_text,
        datacenters,
        ..Policy::default()
    };
    write(agent, AclCommand::SetPolicy(policy)).await?;
    let p = agent
        .store
        .catalog
        .read(|s| s.acl.policy(id))
        .ok_or_else(not_found)?;
    json(&policy_json(&p, true))
}

async fn write_token(agent: &Agent, url_id: Option<&str>, body: &[u8]) -> Result<Reply, Reply> {
    let b = body_object(body, "Token")?;
    let mut accessor = str_field(&b, "AccessorID", "Token")?;
    if let Some(id) = url_id {
        if !accessor.is_empty() && accessor != id {
            return Err(Reply::error(
                400,
                "Token Accessor ID in URL and payload do not match",
            ));
        }
        accessor = id.to_string();
    }
    let state = agent.store.catalog.read(|s| s.acl.clone());
    let existing = (!accessor.is_empty())
        .then(|| state.token(&accessor))
        .flatten();
    if url_id.is_some() && existing.is_none() {
        return Err(Reply::error(500, format!("Cannot find token {accessor:?}")));
    }
    let mut secret = str_field(&b, "SecretID", "Token")?;
    if let Some(old) = &existing {
        if !secret.is_empty() && secret != old.secret_id {
            return Err(Reply::error(
                500,
                "Changing a tokens SecretID is not permitted",
            ));
        }
        secret = old.secret_id.clone();
    }
    let policies = token_policies(&state, field(&b, "Policies"))?;
    let token = Token {
        accessor_id: if accessor.is_empty() {
            crate::uuid()
        } else {
            accessor
        },
        secret_id: if secret.is_empty() {
            crate::uuid()
        } else {
            secret
        },
        description: str_field(&b, "Description", "Token")?,
        policies,
        local: field(&b, "Local").and_then(Json::as_bool).unwrap_or(false),
        create_time: existing
            .map(|t| t.create_time)
            .unwrap_or_else(super::store::now_rfc3339),
        ..Token::default()
    };
    let accessor = token.accessor_id.clone();
    write(agent, AclCommand::SetToken(token)).await?;
    let s = agent.store.catalog.read(|s| s.acl.clone());
    let token = s.token(&accessor).ok_or_else(not_found)?;
    json(&token_json(&s, &token, false))
}

/// A token's `Policies` links (`{ID}` or `{Name}`) as policy IDs.
fn token_policies(state: &AclState, links: Option<&Json>) -> Result<Vec<String>, Reply> {
    let Some(Json::Array(links)) = links else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for link in links {
        let Json::Object(link) = link else {
            return Err(Reply::error(
                400,
                "Token decoding failed: Policies: expected objects",
            ));
        };
        let id = str_field(link, "ID", "Token")?;
        let name = str_field(link, "Name", "Token")?;
        let policy = if !id.is_empty() {
            state
                .policy(&id)
                .ok_or_else(|| Reply::error(500, format!("No such ACL policy with ID {id:?}")))?
        } else {
            state.policy_by_name(&name).ok_or_else(|| {
                Reply::error(500, format!("No such ACL policy with name {name:?}"))
            })?
        };
        if !ids.contains(&policy.id) {
            ids.push(policy.id);
        }
    }
    Ok(ids)
}

/// Consul's `Hash` field (Consul hashes with blake2b; ours is SHA-256 of the same fields, used
/// only to tell versions apart).
fn hash_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

fn policy_json(p: &Policy, with_rules: bool) -> Json {
    let mut out = json!({
        "ID": p.id,
        "Name": p.name,
        "Description": p.description,
    });
    if with_rules {
        out["Rules"] = Json::String(p.rules.clone());
    }
    if !p.datacenters.is_empty() {
        out["Datacenters"] = json!(p.datacenters);
    }
    out["Hash"] = Json::String(hash_of(&[&p.name, &p.description, &p.rules]));
    out["CreateIndex"] = json!(p.create_index);
    out["ModifyIndex"] = json!(p.modify_index);
    out
}

fn token_json(state: &AclState, t: &Token, stub: bool) -> Json {
    let policies: Vec<Json> = t
        .policies
        .iter()
        .filter_map(|id| state.policy(id))
        .map(|p| json!({"ID": p.id, "Name": p.name}))
        .collect();
    let mut out = json!({
        "AccessorID": t.accessor_id,
        "SecretID": t.secret_id,
        "Description": t.description,
    });
    if !policies.is_empty() {
        out["Policies"] = Json::Array(policies);
    }
    out["Local"] = json!(t.local);
    out["CreateTime"] = Json::String(t.create_time.clone());
    out["Hash"] = Json::String(hash_of(&[&t.description, &t.policies.join(",")]));
    out["CreateIndex"] = json!(t.create_index);
    out["ModifyIndex"] = json!(t.modify_index);
    if stub {
        out["Legacy"] = json!(false);
    }
    out
}

/// A server's `acl.tokens.initial_management`: written once through Raft (retried until a
/// leader takes it), idempotent across servers and restarts.
pub async fn ensure_initial_management(agent: Arc<Agent>) {
    let Some(secret) = agent.config.acl.initial_management.clone() else {
        return;
    };
    loop {
        let exists = agent
            .store
            .catalog
            .read(|s| s.acl.by_secret(&secret).is_some());
        if exists || agent.shutdown.is_cancelled() {
            return;
        }
        let token = Token {
            accessor_id: crate::uuid(),
            secret_id: secret.clone(),
            description: "Initial Management Token".into(),
            policies: vec![GLOBAL_MANAGEMENT_ID.into()],
            create_time: super::store::now_rfc3339(),
            ..Token::default()
        };
        match agent
            .store
            .write(Command::Acl(AclCommand::Bootstrap {
                token,
                initial: true,
            }))
            .await
        {
            Ok(_) => {
                tracing::info!(
                    "agent.server.acl: Created ACL 'initial_management' token from configuration"
                );
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> Authorizer {
        let rules = r#"node "n1" { policy = "read" } service "web" { policy = "read" }
                       key_prefix "app/" { policy = "read" }"#;
        Authorizer::from_parts("acc", false, &[rules.to_string()], false)
    }

    fn filtered(path: &str, query: &[(&str, &str)], body: Json) -> Option<Json> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let out = filter_body(&reader(), path, &query, body.to_string().as_bytes())?;
        Some(serde_json::from_slice(&out.body).unwrap())
    }

    #[test]
    fn a_node_the_token_cannot_read_is_null_and_its_services_are_filtered() {
        let node = json!({"Node": {"Node": "n1"}, "Services": {
            "web-1": {"Service": "web"}, "db-1": {"Service": "db"}}});
        let kept = filtered("/v1/catalog/node/n1", &[], node).unwrap();
        assert_eq!(kept["Services"], json!({"web-1": {"Service": "web"}}));
        let other = json!({"Node": {"Node": "n2"}, "Services": {}});
        assert_eq!(
            filtered("/v1/catalog/node/n2", &[], other),
            Some(Json::Null)
        );
    }

    #[test]
    fn checks_need_their_node_and_their_service() {
        let checks = json!([
            {"Node": "n1", "CheckID": "serfHealth", "ServiceName": ""},
            {"Node": "n1", "CheckID": "service:web", "ServiceName": "web"},
            {"Node": "n1", "CheckID": "service:db", "ServiceName": "db"},
            {"Node": "n2", "CheckID": "serfHealth", "ServiceName": ""}]);
        let kept = filtered("/v1/health/state/any", &[], checks).unwrap();
        let ids: Vec<&str> = kept
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["CheckID"].as_str())
            .collect();
        assert_eq!(ids, ["serfHealth", "service:web"]);
    }

    #[test]
    fn kv_lists_lose_unreadable_keys_and_say_when_nothing_is_left() {
        let keys = json!(["app/a", "secret/b"]);
        let kept = filtered("/v1/kv/", &[("keys", "")], keys).unwrap();
        assert_eq!(kept, json!(["app/a"]));
        let query = vec![("recurse".to_string(), String::new())];
        let body = json!([{"Key": "secret/b"}]).to_string();
        let out = filter_body(&reader(), "/v1/kv/secret/", &query, body.as_bytes()).unwrap();
        assert!(out.emptied_kv);
        // Nothing taken out: the answer stands as it was.
        let body = json!([{"Key": "app/a"}]).to_string();
        assert!(filter_body(&reader(), "/v1/kv/app/", &query, body.as_bytes()).is_none());
        assert!(filter_body(&Authorizer::allow_all(), "/v1/kv/", &query, b"[]").is_none());
    }
}
