//! Consul's ACL rules language: a policy's `Rules` text (HCL, or its JSON form) parsed into
//! per-resource rule tables, several policies merged as Consul merges them, and the lookup
//! Consul's policy authorizer makes: an exact rule for the name wins, otherwise the longest
//! `_prefix` rule that the name starts with; nothing matching is "no opinion" (the default
//! policy decides). Parsing reuses the config module's HCL v1 parser, as Consul's rules are
//! HCL v1.

use std::collections::BTreeMap;

use crate::config::hcl::{self, Hcl};

/// An access level a rule grants, ordered as Consul merges them (`deny` always wins, then the
/// higher of `write` > `read` > `list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    List,
    Read,
    Write,
    Deny,
}

impl Level {
    fn parse(text: &str, allow_list: bool) -> Option<Level> {
        match text {
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            "deny" => Some(Level::Deny),
            "list" if allow_list => Some(Level::List),
            _ => None,
        }
    }

    /// Two policies' rules for the same name: deny wins, otherwise the stronger grant.
    fn merge(self, other: Level) -> Level {
        if self == Level::Deny || other == Level::Deny {
            Level::Deny
        } else {
            self.max(other)
        }
    }

    /// Whether this grant allows `want` (`write` implies `read` implies `list`).
    pub fn allows(self, want: Level) -> bool {
        match self {
            Level::Deny => false,
            granted => granted >= want,
        }
    }
}

/// The rules of one named resource kind (`key`/`key_prefix`, `service`/`service_prefix`...).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    exact: BTreeMap<String, Level>,
    prefix: BTreeMap<String, Level>,
}

impl Table {
    /// The rule that applies to `name`: its exact rule, else the longest matching prefix.
    pub fn lookup(&self, name: &str) -> Option<Level> {
        if let Some(level) = self.exact.get(name) {
            return Some(*level);
        }
        self.longest_prefix(name)
    }

    fn longest_prefix(&self, name: &str) -> Option<Level> {
        self.prefix
            .iter()
            .filter(|(p, _)| name.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, level)| *level)
    }

    /// Consul's `KeyWritePrefix`: `Some(true)` when the covering prefix rule grants write and
    /// no rule under `prefix` withholds it, `Some(false)` when either denies, `None` when no rule
    /// speaks (the default policy decides).
    pub fn write_prefix(&self, prefix: &str) -> Option<bool> {
        let under = self
            .exact
            .iter()
            .chain(self.prefix.iter())
            .filter(|(name, _)| name.starts_with(prefix));
        for (_, level) in under {
            if !level.allows(Level::Write) {
                return Some(false);
            }
        }
        self.longest_prefix(prefix)
            .map(|level| level.allows(Level::Write))
    }

    fn merge(&mut self, other: &Table) {
        for (into, from) in [
            (&mut self.exact, &other.exact),
            (&mut self.prefix, &other.prefix),
        ] {
            for (name, level) in from {
                into.entry(name.clone())
                    .and_modify(|l| *l = l.merge(*level))
                    .or_insert(*level);
            }
        }
    }
}

/// Everything one or more policies grant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    pub key: Table,
    pub service: Table,
    pub node: Table,
    pub agent: Table,
    /// `acl = "read|write|deny"`: the ACL system itself.
    pub acl: Option<Level>,
    /// `operator = "..."`: Raft and cluster operations.
    pub operator: Option<Level>,
}

impl Rules {
    /// Adds another policy's rules (a token's policies are merged into one set).
    pub fn merge(&mut self, other: &Rules) {
        self.key.merge(&other.key);
        self.service.merge(&other.service);
        self.node.merge(&other.node);
        self.agent.merge(&other.agent);
        for (into, from) in [
            (&mut self.acl, other.acl),
            (&mut self.operator, other.operator),
        ] {
            *into = match (*into, from) {
                (Some(a), Some(b)) => Some(a.merge(b)),
                (a, b) => a.or(b),
            };
        }
    }
}

/// Parses a policy's rules text (HCL v1 or JSON), in Consul's words when it is wrong:
/// `Failed to parse ACL rules: ...`.
pub fn parse(text: &str) -> Result<Rules, String> {
    let fail = |e: String| format!("Failed to parse ACL rules: {e}");
    if text.trim().is_empty() {
        return Ok(Rules::default());
    }
    let tree = hcl::parse_any("rules", text).map_err(|e| fail(e.to_string()))?;
    let Hcl::Object(entries) = tree else {
        return Err(fail("rules must be an object".into()));
    };
    let mut rules = Rules::default();
    for (name, value) in &entries {
        apply_entry(&mut rules, name, value).map_err(fail)?;
    }
    Ok(rules)
}

fn apply_entry(rules: &mut Rules, name: &str, value: &Hcl) -> Result<(), String> {
    let (table, exact, allow_list) = match name {
        "key" => (&mut rules.key, true, true),
        "key_prefix" => (&mut rules.key, false, true),
        "service" => (&mut rules.service, true, false),
        "service_prefix" => (&mut rules.service, false, false),
        "node" => (&mut rules.node, true, false),
        "node_prefix" => (&mut rules.node, false, false),
        "agent" => (&mut rules.agent, true, false),
        "agent_prefix" => (&mut rules.agent, false, false),
        "acl" | "operator" => {
            let level = match value {
                Hcl::Str(s) => Level::parse(s, false),
                _ => None,
            }
            .ok_or_else(|| format!("Invalid {name} policy: {}", describe(value)))?;
            let slot = if name == "acl" {
                &mut rules.acl
            } else {
                &mut rules.operator
            };
            *slot = Some(slot.map_or(level, |l| l.merge(level)));
            return Ok(());
        }
        // Resources Consul knows that this agent has no endpoints for: accepted, unused.
        "event" | "event_prefix" | "query" | "query_prefix" | "session" | "session_prefix"
        | "keyring" | "mesh" | "peering" | "identity" | "identity_prefix" => return Ok(()),
        other => return Err(format!("Unexpected rule {other:?}")),
    };
    let Hcl::Object(named) = value else {
        return Err(format!("{name}: expected a block, got {}", describe(value)));
    };
    for (resource, body) in named {
        let level = rule_policy(name, body, allow_list)?;
        let map = if exact {
            &mut table.exact
        } else {
            &mut table.prefix
        };
        map.entry(resource.clone())
            .and_modify(|l| *l = l.merge(level))
            .or_insert(level);
    }
    Ok(())
}

/// The `policy = "..."` of one rule block (other keys such as `intentions` are accepted).
fn rule_policy(kind: &str, body: &Hcl, allow_list: bool) -> Result<Level, String> {
    let Hcl::Object(fields) = body else {
        return Err(format!("{kind}: expected a block, got {}", describe(body)));
    };
    let policy = fields
        .iter()
        .rev()
        .find(|(k, _)| k == "policy")
        .map(|(_, v)| v);
    match policy {
        Some(Hcl::Str(s)) => {
            Level::parse(s, allow_list).ok_or_else(|| format!("Invalid {kind} policy: {s:?}"))
        }
        Some(other) => Err(format!("Invalid {kind} policy: {}", describe(other))),
        // Consul's `service "x" { intentions = "read" }` grants nothing on the service itself.
        None => Err(format!("Invalid {kind} policy: \"\"")),
    }
}

fn describe(v: &Hcl) -> String {
    match v {
        Hcl::Str(s) => format!("{s:?}"),
        Hcl::Int(i) => i.to_string(),
        Hcl::Float(f) => f.to_string(),
        Hcl::Bool(b) => b.to_string(),
        Hcl::List(_) => "a list".into(),
        Hcl::Object(_) => "a block".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Rules {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn exact_beats_prefix_and_longest_prefix_wins() {
        let r = rules(
            r#"
            key_prefix "" { policy = "read" }
            key_prefix "app/" { policy = "write" }
            key_prefix "app/secret/" { policy = "deny" }
            key "app/secret/shared" { policy = "read" }
            "#,
        );
        assert_eq!(r.key.lookup("other"), Some(Level::Read));
        assert_eq!(r.key.lookup("app/x"), Some(Level::Write));
        assert_eq!(r.key.lookup("app/secret/pw"), Some(Level::Deny));
        assert_eq!(r.key.lookup("app/secret/shared"), Some(Level::Read));
        assert_eq!(r.service.lookup("web"), None);
    }

    #[test]
    fn json_rules_read_like_hcl() {
        let hcl =
            rules(r#"service_prefix "web" { policy = "write" } node "n1" { policy = "read" }"#);
        let json = rules(
            r#"{"service_prefix": {"web": {"policy": "write"}}, "node": {"n1": {"policy": "read"}}}"#,
        );
        assert_eq!(hcl, json);
        assert_eq!(json.service.lookup("web-1"), Some(Level::Write));
        assert_eq!(json.node.lookup("n1"), Some(Level::Read));
        assert_eq!(json.node.lookup("n10"), None);
    }

    #[test]
    fn merging_policies_deny_wins_then_the_stronger_grant() {
        let mut a =
            rules(r#"key "k" { policy = "read" } key "d" { policy = "write" } acl = "read""#);
        let b = rules(r#"key "k" { policy = "write" } key "d" { policy = "deny" } acl = "write""#);
        a.merge(&b);
        assert_eq!(a.key.lookup("k"), Some(Level::Write));
        assert_eq!(a.key.lookup("d"), Some(Level::Deny));
        assert_eq!(a.acl, Some(Level::Write));
    }

    #[test]
    fn write_prefix_needs_every_rule_under_it_to_grant_write() {
        let r = rules(
            r#"key_prefix "a/" { policy = "write" } key "a/locked" { policy = "read" }
               key_prefix "b/" { policy = "write" }"#,
        );
        assert_eq!(r.key.write_prefix("a/"), Some(false));
        assert_eq!(r.key.write_prefix("b/"), Some(true));
        assert_eq!(r.key.write_prefix("b/sub/"), Some(true));
        assert_eq!(r.key.write_prefix("c/"), None);
        assert_eq!(r.key.write_prefix(""), Some(false));
    }

    #[test]
    fn levels_imply_weaker_ones() {
        assert!(Level::Write.allows(Level::Read));
        assert!(!Level::Read.allows(Level::Write));
        assert!(!Level::List.allows(Level::Read));
        assert!(!Level::Deny.allows(Level::List));
    }

    #[test]
    fn bad_rules_are_refused_in_consuls_words() {
        let e = parse(r#"key_prefix "" { policy = "admin" }"#).unwrap_err();
        assert_eq!(
            e,
            r#"Failed to parse ACL rules: Invalid key_prefix policy: "admin""#
        );
        let e = parse(r#"service "" { policy = "list" }"#).unwrap_err();
        assert!(e.contains("Invalid service policy"), "{e}");
        let e = parse(r#"bogus "" { policy = "read" }"#).unwrap_err();
        assert!(e.contains("Unexpected rule \"bogus\""), "{e}");
        assert!(parse("key_prefix {").is_err());
        assert_eq!(parse("").unwrap(), Rules::default());
    }
}
