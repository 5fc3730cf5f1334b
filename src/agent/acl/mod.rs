//! Consul's ACLs for the agent's HTTP API: the `acl { }` config block, tokens and policies kept
//! through Raft (`store`), the rules language (`rules`), and here the authorizer a request's
//! token resolves to and Consul's 403 texts. `http` serves `/v1/acl/*` and applies the
//! authorizer to the other endpoints the way Consul does: reads of one named thing and all
//! writes are refused with 403 `Permission denied: ...`, list reads are filtered.
//!
//! Resolution follows Consul: no token is the anonymous token; an unknown secret is
//! `403 ACL not found`; a token holding `global-management` may do anything; otherwise the
//! merged rules of its policies decide, and where no rule speaks, `default_policy` does.

pub mod http;
pub mod rules;
pub mod store;

use rules::{Level, Rules};
use store::{AclState, ANONYMOUS_ACCESSOR, GLOBAL_MANAGEMENT_ID};

/// The agent's `acl { }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct AclConfig {
    pub enabled: bool,
    /// `default_policy = "allow"` (Consul's default) or `"deny"`.
    pub default_allow: bool,
    /// `tokens { initial_management = "..." }`: a management token's secret, created once.
    pub initial_management: Option<String>,
    /// `tokens { agent = "..." }`: the agent's own token (kept; this agent's internal writes do
    /// not go through the HTTP API, so nothing needs it yet).
    pub agent_token: Option<String>,
}

impl Default for AclConfig {
    fn default() -> Self {
        AclConfig {
            enabled: false,
            default_allow: true,
            initial_management: None,
            agent_token: None,
        }
    }
}

impl AclConfig {
    /// The `acl` block of a JSON config file (or HCL read into JSON).
    pub fn apply_json(&mut self, value: &serde_json::Value) -> Result<(), String> {
        let serde_json::Value::Object(obj) = value else {
            return Err("acl: expected a block".into());
        };
        for (key, v) in obj {
            match key.as_str() {
                "enabled" => {
                    self.enabled = v.as_bool().ok_or("acl.enabled: expected a bool")?;
                }
                "default_policy" => {
                    self.default_allow = match v.as_str() {
                        Some("allow") => true,
                        Some("deny") => false,
                        _ => {
                            return Err(format!(
                                "Invalid ACL default policy: {v}: expected \"allow\" or \"deny\""
                            ))
                        }
                    }
                }
                "tokens" => self.apply_tokens(v)?,
                // Consul's other ACL settings: accepted, with Consul's behaviour as the default.
                "down_policy"
                | "token_ttl"
                | "policy_ttl"
                | "role_ttl"
                | "enable_token_persistence"
                | "enable_key_list_policy" => {}
                other => return Err(format!("acl: unknown key {other:?}")),
            }
        }
        Ok(())
    }

    fn apply_tokens(&mut self, value: &serde_json::Value) -> Result<(), String> {
        let serde_json::Value::Object(obj) = value else {
            return Err("acl.tokens: expected a block".into());
        };
        for (key, v) in obj {
            let text = v
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("acl.tokens.{key}: expected a string"))?;
            match key.as_str() {
                // `master` is the name before Consul 1.11.
                "initial_management" | "master" => self.initial_management = Some(text),
                "agent" => self.agent_token = Some(text),
                "default"
                | "agent_recovery"
                | "agent_master"
                | "replication"
                | "config_file_service_registration" => {}
                other => return Err(format!("acl.tokens: unknown key {other:?}")),
            }
        }
        Ok(())
    }

    /// `X-Consul-Default-ACL-Policy`: on every answer, `allow` when ACLs are off.
    pub fn default_policy_header(&self) -> &'static str {
        if !self.enabled || self.default_allow {
            "allow"
        } else {
            "deny"
        }
    }
}

/// A token from a request header: `X-Consul-Token: S`, or `Authorization: Bearer S` (Consul takes
/// the first word after the scheme). Empty values are no token.
pub fn header_token(name: &str, value: &str) -> Option<String> {
    let token = if name.eq_ignore_ascii_case("x-consul-token") {
        value.trim().to_string()
    } else if name.eq_ignore_ascii_case("authorization") {
        let (scheme, rest) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        rest.split_whitespace().next()?.to_string()
    } else {
        return None;
    };
    (!token.is_empty()).then_some(token)
}

/// The token a request's headers carry (HTTP/2 and HTTPS requests), in Consul's order:
/// `X-Consul-Token` before `Authorization: Bearer`.
pub fn token_of(headers: &::http::HeaderMap) -> Option<String> {
    let header = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| header_token(name, v))
    };
    header("x-consul-token").or_else(|| header("authorization"))
}

/// The kinds of things a rule can name, as Consul spells them in its 403s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Key,
    Service,
    Node,
    Agent,
    Acl,
    Operator,
}

impl Resource {
    fn as_str(self) -> &'static str {
        match self {
            Resource::Key => "key",
            Resource::Service => "service",
            Resource::Node => "node",
            Resource::Agent => "agent",
            Resource::Acl => "acl",
            Resource::Operator => "operator",
        }
    }
}

/// What a request's token may do.
#[derive(Clone, Debug)]
pub struct Authorizer {
    /// The token's AccessorID (named in 403s); empty when ACLs are off.
    accessor: String,
    /// ACLs off, or a `global-management` token.
    everything: bool,
    rules: Rules,
    default_allow: bool,
}

/// A refusal: Consul's status and text.
#[derive(Clone, Debug, PartialEq)]
pub struct Denied {
    pub status: u16,
    pub message: String,
}

impl Authorizer {
    /// ACLs are off: everything is allowed.
    pub fn allow_all() -> Authorizer {
        Authorizer {
            accessor: String::new(),
            everything: true,
            rules: Rules::default(),
            default_allow: true,
        }
    }

    /// The authorizer for a request's token secret (`None`: the anonymous token).
    pub fn resolve(
        config: &AclConfig,
        state: &AclState,
        secret: Option<&str>,
    ) -> Result<Authorizer, Denied> {
        if !config.enabled {
            return Ok(Authorizer::allow_all());
        }
        let secret = secret.filter(|s| !s.is_empty());
        let token = match secret {
            None => state.by_secret(store::ANONYMOUS_SECRET),
            Some(s) => state.by_secret(s),
        }
        .ok_or_else(|| Denied {
            status: 403,
            message: "ACL not found".into(),
        })?;
        let mut rules = Rules::default();
        let mut everything = false;
        for id in &token.policies {
            if id == GLOBAL_MANAGEMENT_ID {
                everything = true;
            } else if let Some(policy) = state.policy(id) {
                // Stored policies were parsed when written; a failure here cannot grant more.
                if let Ok(parsed) = rules::parse(&policy.rules) {
                    rules.merge(&parsed);
                }
            }
        }
        Ok(Authorizer {
            accessor: token.accessor_id,
            everything,
            rules,
            default_allow: config.default_allow,
        })
    }

    /// An authorizer from what a server said of a token (a client agent's resolution).
    pub fn from_parts(
        accessor: &str,
        management: bool,
        rule_texts: &[String],
        default_allow: bool,
    ) -> Authorizer {
        let mut rules = Rules::default();
        for text in rule_texts {
            if let Ok(parsed) = rules::parse(text) {
                rules.merge(&parsed);
            }
        }
        Authorizer {
            accessor: accessor.to_string(),
            everything: management,
            rules,
            default_allow,
        }
    }

    /// Whether this is a management token (or ACLs are off).
    pub fn is_management(&self) -> bool {
        self.everything
    }

    /// Whether the token may do `want` on the named thing.
    pub fn allows(&self, resource: Resource, name: &str, want: Level) -> bool {
        if self.everything {
            return true;
        }
        let rule = match resource {
            Resource::Key => self.rules.key.lookup(name),
            Resource::Service => self.rules.service.lookup(name),
            Resource::Node => self.rules.node.lookup(name),
            Resource::Agent => self.rules.agent.lookup(name),
            Resource::Acl => self.rules.acl,
            Resource::Operator => self.rules.operator,
        };
        rule.map_or(self.default_allow, |level| level.allows(want))
    }

    /// Like [`Authorizer::allows`], refused with Consul's 403 text.
    pub fn require(&self, resource: Resource, name: &str, want: Level) -> Result<(), Denied> {
        if self.allows(resource, name, want) {
            Ok(())
        } else {
            Err(self.denied(resource, name, want))
        }
    }

    /// Consul's `KeyWritePrefix` (a recursive delete): write on the prefix and on every rule
    /// under it.
    pub fn require_key_write_prefix(&self, prefix: &str) -> Result<(), Denied> {
        if self.everything {
            return Ok(());
        }
        match self.rules.key.write_prefix(prefix) {
            Some(true) => Ok(()),
            None if self.default_allow => Ok(()),
            _ => Err(self.denied(Resource::Key, prefix, Level::Write)),
        }
    }

    /// acl/errors.go's `PermissionDeniedError` text.
    fn denied(&self, resource: Resource, name: &str, want: Level) -> Denied {
        let level = match want {
            Level::List => "list",
            Level::Read => "read",
            Level::Write => "write",
            Level::Deny => "deny",
        };
        let anonymous = self.accessor == ANONYMOUS_ACCESSOR;
        let mut message = String::from("Permission denied");
        if anonymous {
            message.push_str(": anonymous token");
        } else {
            message.push_str(&format!(": token with AccessorID '{}'", self.accessor));
        }
        message.push_str(&format!(
            " lacks permission '{}:{level}'",
            resource.as_str()
        ));
        if !name.is_empty() {
            message.push_str(&format!(" on \"{name}\""));
        }
        if anonymous {
            message.push_str(
                ". The anonymous token is used implicitly when a request does not specify a token.",
            );
        }
        Denied {
            status: 403,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::store::{AclCommand, Policy, Token};
    use super::*;

    fn state() -> AclState {
        let mut s = AclState::default();
        let policy = Policy {
            id: "p1".into(),
            name: "web".into(),
            rules: r#"key_prefix "app/" { policy = "write" } service "web" { policy = "read" }"#
                .into(),
            ..Policy::default()
        };
        s.apply(1, &AclCommand::SetPolicy(policy)).unwrap();
        for (accessor, secret, policies) in [
            ("acc-web", "web-secret", vec!["p1".to_string()]),
            ("acc-root", "root", vec![GLOBAL_MANAGEMENT_ID.to_string()]),
        ] {
            let token = Token {
                accessor_id: accessor.into(),
                secret_id: secret.into(),
                policies,
                ..Token::default()
            };
            s.apply(2, &AclCommand::SetToken(token)).unwrap();
        }
        s
    }

    fn config(default_allow: bool) -> AclConfig {
        AclConfig {
            enabled: true,
            default_allow,
            ..AclConfig::default()
        }
    }

    #[test]
    fn tokens_resolve_to_their_rules_then_the_default_policy() {
        let s = state();
        let web = Authorizer::resolve(&config(false), &s, Some("web-secret")).unwrap();
        assert!(web.allows(Resource::Key, "app/x", Level::Write));
        assert!(!web.allows(Resource::Key, "other", Level::Read));
        assert!(web.allows(Resource::Service, "web", Level::Read));
        assert!(!web.allows(Resource::Service, "web", Level::Write));
        let allow = Authorizer::resolve(&config(true), &s, Some("web-secret")).unwrap();
        assert!(allow.allows(Resource::Key, "other", Level::Write));
        assert!(!allow.allows(Resource::Service, "web", Level::Write));
        let root = Authorizer::resolve(&config(false), &s, Some("root")).unwrap();
        assert!(root.is_management() && root.allows(Resource::Acl, "", Level::Write));
    }

    #[test]
    fn unknown_tokens_and_denials_read_as_consuls() {
        let s = state();
        let err = Authorizer::resolve(&config(false), &s, Some("nope")).unwrap_err();
        assert_eq!(
            err,
            Denied {
                status: 403,
                message: "ACL not found".into()
            }
        );
        let web = Authorizer::resolve(&config(false), &s, Some("web-secret")).unwrap();
        assert_eq!(
            web.require(Resource::Key, "foo", Level::Write).unwrap_err().message,
            "Permission denied: token with AccessorID 'acc-web' lacks permission 'key:write' on \"foo\""
        );
        let anon = Authorizer::resolve(&config(false), &s, None).unwrap();
        assert_eq!(
            anon.require(Resource::Key, "foo", Level::Read).unwrap_err().message,
            "Permission denied: anonymous token lacks permission 'key:read' on \"foo\". The anonymous token is used implicitly when a request does not specify a token."
        );
        assert!(web.require_key_write_prefix("app/").is_ok());
        assert!(web.require_key_write_prefix("").is_err());
    }

    #[test]
    fn acls_off_allow_everything() {
        let off = Authorizer::resolve(&AclConfig::default(), &AclState::default(), Some("x"));
        assert!(off.unwrap().allows(Resource::Key, "k", Level::Write));
        assert_eq!(AclConfig::default().default_policy_header(), "allow");
        assert_eq!(config(false).default_policy_header(), "deny");
    }

    #[test]
    fn header_tokens_as_consul_reads_them() {
        assert_eq!(
            header_token("X-Consul-Token", "abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            header_token("authorization", "Bearer  abc def").as_deref(),
            Some("abc")
        );
        assert_eq!(
            header_token("Authorization", "bearer abc").as_deref(),
            Some("abc")
        );
        assert_eq!(header_token("Authorization", "Basic abc"), None);
        assert_eq!(header_token("X-Consul-Token", ""), None);
        assert_eq!(header_token("Host", "abc"), None);
    }

    #[test]
    fn config_block_reads_consuls_keys() {
        let mut c = AclConfig::default();
        let v = serde_json::json!({"enabled": true, "default_policy": "deny",
            "tokens": {"initial_management": "root", "agent": "agent-secret"}});
        c.apply_json(&v).unwrap();
        assert!(c.enabled && !c.default_allow);
        assert_eq!(c.initial_management.as_deref(), Some("root"));
        assert_eq!(c.agent_token.as_deref(), Some("agent-secret"));
        let bad = c.apply_json(&serde_json::json!({"default_policy": "maybe"}));
        assert!(bad.unwrap_err().contains("Invalid ACL default policy"));
    }
}
