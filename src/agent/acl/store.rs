//! The ACL tables as the catalog's state machine keeps them: tokens and policies, changed only
//! by [`AclCommand`]s that travel through Raft like every catalog write (so every server agrees
//! on who may do what, and a snapshot carries them). The built-in `global-management` policy
//! and the anonymous token exist without being written, as in Consul after its leader's first
//! ACL initialisation; writing them (giving the anonymous token a policy) overrides the default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rules;

/// Consul's fixed IDs for its built-in objects.
pub const GLOBAL_MANAGEMENT_ID: &str = "00000000-0000-0000-0000-000000000001";
pub const GLOBAL_MANAGEMENT_NAME: &str = "global-management";
pub const ANONYMOUS_ACCESSOR: &str = "00000000-0000-0000-0000-000000000002";
pub const ANONYMOUS_SECRET: &str = "anonymous";

/// A policy: named rules.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub rules: String,
    pub datacenters: Vec<String>,
    pub create_index: u64,
    pub modify_index: u64,
}

/// A token: a secret, the accessor that names it, and the policies it carries (by ID).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Token {
    pub accessor_id: String,
    pub secret_id: String,
    pub description: String,
    pub policies: Vec<String>,
    pub local: bool,
    /// RFC 3339, as Consul's `CreateTime`.
    pub create_time: String,
    pub create_index: u64,
    pub modify_index: u64,
}

/// A change to the ACL tables.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AclCommand {
    /// Creates or replaces a policy (by ID); names stay unique.
    SetPolicy(Policy),
    DeletePolicy(String),
    /// Creates or replaces a token (by AccessorID); secrets stay unique.
    SetToken(Token),
    DeleteToken(String),
    /// `PUT /v1/acl/bootstrap` (`initial: false`, refused once done) or the configured
    /// `initial_management` token (`initial: true`, a no-op when its secret already exists).
    Bootstrap {
        token: Token,
        initial: bool,
    },
}

/// The tables. Serialized inside the catalog's snapshot; absent in older snapshots.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AclState {
    policies: BTreeMap<String, Policy>,
    tokens: BTreeMap<String, Token>,
    /// The index of the bootstrap, once done (Consul's "reset index").
    bootstrapped: Option<u64>,
}

/// What an ACL command answers: done, or refused with Consul's words (a refusal that starts
/// with `Permission denied` is Consul's 403, any other its 500 for a failed RPC).
pub type Applied = Result<(), String>;

impl AclState {
    pub fn apply(&mut self, index: u64, cmd: &AclCommand) -> Applied {
        match cmd {
            AclCommand::SetPolicy(p) => self.set_policy(index, p),
            AclCommand::DeletePolicy(id) => {
                if id == GLOBAL_MANAGEMENT_ID {
                    return Err(
                        "Delete of builtin global-management policy is not permitted".into(),
                    );
                }
                self.policies.remove(id);
                Ok(())
            }
            AclCommand::SetToken(t) => self.set_token(index, t),
            AclCommand::DeleteToken(id) => {
                if id == ANONYMOUS_ACCESSOR {
                    return Err("Delete operation not permitted on the anonymous token".into());
                }
                self.tokens.remove(id);
                Ok(())
            }
            AclCommand::Bootstrap { token, initial } => self.bootstrap(index, token, *initial),
        }
    }

    fn set_policy(&mut self, index: u64, p: &Policy) -> Applied {
        rules::parse(&p.rules)?;
        if let Some(other) = self
            .policies()
            .into_iter()
            .find(|o| o.name == p.name && o.id != p.id)
        {
            return Err(format!(
                "Invalid Policy: A Policy with Name {:?} already exists",
                other.name
            ));
        }
        let mut new = p.clone();
        new.create_index = self.policy(&p.id).map_or(index, |old| old.create_index);
        new.modify_index = index;
        self.policies.insert(new.id.clone(), new);
        Ok(())
    }

    fn set_token(&mut self, index: u64, t: &Token) -> Applied {
        if self
            .tokens()
            .iter()
            .any(|o| o.secret_id == t.secret_id && o.accessor_id != t.accessor_id)
        {
            return Err("Invalid Token: SecretID is already in use".into());
        }
        for id in &t.policies {
            if self.policy(id).is_none() {
                return Err(format!("cannot find policy {id}"));
            }
        }
        let mut new = t.clone();
        new.create_index = self
            .token(&t.accessor_id)
            .map_or(index, |old| old.create_index);
        new.modify_index = index;
        self.tokens.insert(new.accessor_id.clone(), new);
        Ok(())
    }

    fn bootstrap(&mut self, index: u64, token: &Token, initial: bool) -> Applied {
        if initial && self.by_secret(&token.secret_id).is_some() {
            return Ok(());
        }
        if let (Some(reset), false) = (self.bootstrapped, initial) {
            return Err(format!(
                "Permission denied: ACL bootstrap no longer allowed (reset index: {reset})"
            ));
        }
        self.set_token(index, token)?;
        self.bootstrapped = Some(index);
        Ok(())
    }

    /// Every policy, the built-in one included, by name.
    pub fn policies(&self) -> Vec<Policy> {
        let mut all: Vec<Policy> = self.policies.values().cloned().collect();
        if !self.policies.contains_key(GLOBAL_MANAGEMENT_ID) {
            all.push(global_management());
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    pub fn policy(&self, id: &str) -> Option<Policy> {
        match self.policies.get(id) {
            Some(p) => Some(p.clone()),
            None if id == GLOBAL_MANAGEMENT_ID => Some(global_management()),
            None => None,
        }
    }

    pub fn policy_by_name(&self, name: &str) -> Option<Policy> {
        self.policies().into_iter().find(|p| p.name == name)
    }

    /// Every token, the anonymous one included.
    pub fn tokens(&self) -> Vec<Token> {
        let mut all: Vec<Token> = self.tokens.values().cloned().collect();
        if !self.tokens.contains_key(ANONYMOUS_ACCESSOR) {
            all.push(anonymous());
        }
        all
    }

    pub fn token(&self, accessor: &str) -> Option<Token> {
        match self.tokens.get(accessor) {
            Some(t) => Some(t.clone()),
            None if accessor == ANONYMOUS_ACCESSOR => Some(anonymous()),
            None => None,
        }
    }

    pub fn by_secret(&self, secret: &str) -> Option<Token> {
        if secret == ANONYMOUS_SECRET {
            return self.token(ANONYMOUS_ACCESSOR);
        }
        self.tokens
            .values()
            .find(|t| t.secret_id == secret)
            .cloned()
    }
}

fn global_management() -> Policy {
    Policy {
        id: GLOBAL_MANAGEMENT_ID.into(),
        name: GLOBAL_MANAGEMENT_NAME.into(),
        description: "Builtin Policy that grants unlimited access".into(),
        rules: String::new(),
        ..Policy::default()
    }
}

fn anonymous() -> Token {
    Token {
        accessor_id: ANONYMOUS_ACCESSOR.into(),
        secret_id: ANONYMOUS_SECRET.into(),
        description: "Anonymous Token".into(),
        create_time: now_rfc3339(),
        ..Token::default()
    }
}

/// The current time as Go's `time.RFC3339Nano` in UTC (Consul's `CreateTime`).
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = crate::metrics::civil_from_days(days);
    let nanos = format!("{:09}", now.subsec_nanos());
    let nanos = nanos.trim_end_matches('0');
    let frac = if nanos.is_empty() {
        String::new()
    } else {
        format!(".{nanos}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(accessor: &str, secret: &str, policies: &[&str]) -> Token {
        Token {
            accessor_id: accessor.into(),
            secret_id: secret.into(),
            policies: policies.iter().map(|p| p.to_string()).collect(),
            ..Token::default()
        }
    }

    fn policy(id: &str, name: &str, rules: &str) -> Policy {
        Policy {
            id: id.into(),
            name: name.into(),
            rules: rules.into(),
            ..Policy::default()
        }
    }

    #[test]
    fn builtins_exist_until_overridden() {
        let mut s = AclState::default();
        assert_eq!(
            s.by_secret("anonymous").unwrap().accessor_id,
            ANONYMOUS_ACCESSOR
        );
        assert_eq!(
            s.policy_by_name("global-management").unwrap().id,
            GLOBAL_MANAGEMENT_ID
        );
        s.apply(
            3,
            &AclCommand::SetPolicy(policy(
                "p1",
                "read-all",
                r#"key_prefix "" { policy = "read" }"#,
            )),
        )
        .unwrap();
        let mut anon = s.token(ANONYMOUS_ACCESSOR).unwrap();
        anon.policies = vec!["p1".into()];
        s.apply(4, &AclCommand::SetToken(anon)).unwrap();
        assert_eq!(s.by_secret("anonymous").unwrap().policies, vec!["p1"]);
        assert_eq!(s.tokens().len(), 1);
        assert!(s
            .apply(5, &AclCommand::DeleteToken(ANONYMOUS_ACCESSOR.into()))
            .is_err());
    }

    #[test]
    fn names_and_secrets_stay_unique_and_policies_must_exist() {
        let mut s = AclState::default();
        s.apply(1, &AclCommand::SetPolicy(policy("p1", "a", "")))
            .unwrap();
        let dup = s
            .apply(2, &AclCommand::SetPolicy(policy("p2", "a", "")))
            .unwrap_err();
        assert_eq!(
            dup,
            "Invalid Policy: A Policy with Name \"a\" already exists"
        );
        let bad = s
            .apply(2, &AclCommand::SetPolicy(policy("p2", "b", "key {")))
            .unwrap_err();
        assert!(bad.starts_with("Failed to parse ACL rules"), "{bad}");
        s.apply(3, &AclCommand::SetToken(token("t1", "s1", &["p1"])))
            .unwrap();
        assert!(s
            .apply(4, &AclCommand::SetToken(token("t2", "s1", &[])))
            .is_err());
        assert!(s
            .apply(4, &AclCommand::SetToken(token("t2", "s2", &["nope"])))
            .is_err());
        // Updating keeps the create index.
        s.apply(5, &AclCommand::SetToken(token("t1", "s1", &[])))
            .unwrap();
        let t = s.token("t1").unwrap();
        assert_eq!((t.create_index, t.modify_index), (3, 5));
    }

    #[test]
    fn bootstrap_happens_once_and_initial_management_is_idempotent() {
        let mut s = AclState::default();
        let mgmt = token("a1", "secret", &[GLOBAL_MANAGEMENT_ID]);
        s.apply(
            7,
            &AclCommand::Bootstrap {
                token: mgmt.clone(),
                initial: true,
            },
        )
        .unwrap();
        s.apply(
            8,
            &AclCommand::Bootstrap {
                token: token("a2", "secret", &[]),
                initial: true,
            },
        )
        .unwrap();
        assert_eq!(s.by_secret("secret").unwrap().accessor_id, "a1");
        let again = s
            .apply(
                9,
                &AclCommand::Bootstrap {
                    token: token("a3", "other", &[]),
                    initial: false,
                },
            )
            .unwrap_err();
        assert_eq!(
            again,
            "Permission denied: ACL bootstrap no longer allowed (reset index: 7)"
        );
    }

    #[test]
    fn create_time_is_rfc3339() {
        assert_eq!(crate::metrics::civil_from_days(0), (1970, 1, 1));
        assert_eq!(crate::metrics::civil_from_days(11_016), (2000, 2, 29));
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.len() >= 20 && &t[4..5] == "-", "{t}");
    }
}
