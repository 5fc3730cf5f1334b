//! The agent's configuration: what `ctmpl agent` was asked to run as (Consul's settings that
//! ctmpl supports), its defaults, the JSON config files' keys and the checks made before start.
//! The command-line flags that fill it are `cli::agent`'s.

use std::path::PathBuf;

use serde_json::{json, Value as Json};

/// How the agent was asked to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub dev: bool,
    pub server: bool,
    pub bootstrap_expect: u32,
    pub bind: String,
    pub client: String,
    pub advertise: String,
    pub node: String,
    pub datacenter: String,
    pub data_dir: Option<PathBuf>,
    pub http_port: u16,
    pub server_port: u16,
    pub log_file: Option<PathBuf>,
    pub log_level: String,
    pub pid_file: Option<PathBuf>,
    pub ui: bool,
    pub ui_content_path: String,
    pub join: Vec<String>,
    pub retry_join: Vec<String>,
    /// Service definitions from config files, registered at start.
    pub services: Vec<Json>,
    /// Check definitions from config files (`check`, `checks`): the node's or, with
    /// `service_id`, a service's; registered at start, after the services.
    pub checks: Vec<Json>,
    /// Consul's `raft_snapshot_threshold`: log entries between snapshots.
    pub raft_snapshot_threshold: u64,
    /// Consul's `raft_trailing_logs`: entries kept behind a snapshot for slow followers.
    pub raft_trailing_logs: u64,
    /// Consul's `performance { raft_multiplier }` (1 to 10): scales the Raft timeouts.
    /// Consul ships 5 and recommends 1 in production; ctmpl's default is 1 (`raft::Timing`).
    pub raft_multiplier: u32,
    /// The flag that sets `http_port` on this command line, named when the port is taken
    /// (`-http-port` for `ctmpl agent`, `-dev-http-port` for `ctmpl -dev`'s embedded agent).
    pub http_port_flag: &'static str,
    /// `-dev-servers`: how many servers a `-dev` agent runs in this process (1, 3 or 5).
    pub dev_servers: usize,
    /// The node's UUID when it is given rather than read from (or made in) the data dir: a dev
    /// cluster's server keeps its own across a leave and a rejoin.
    pub node_id: Option<String>,
    /// Consul's `limits { http_max_conns_per_client }`: connections one client address may hold
    /// open on the HTTP port (0: no limit).
    pub http_max_conns_per_client: usize,
    /// `ports { https }`: the HTTP API over TLS; `None` (Consul's -1) when off.
    pub https_port: Option<u16>,
    /// Consul's `tls { defaults { … } internal_rpc { … } }`.
    pub tls: TlsSettings,
    /// `-encrypt` / `encrypt`: the shared key that authenticates the server port's traffic.
    pub encrypt: Option<String>,
    /// The `acl { }` block.
    pub acl: super::acl::AclConfig,
    /// `node_meta` / `-node-meta key:value`: this node's metadata, held to Consul's limits.
    pub node_meta: crate::consul::api::Map,
    /// `check_output_max_size`: the most output a check keeps (Consul's default 4096).
    pub check_output_max_size: usize,
}

/// Consul's TLS keys: `tls.defaults` (files and verification) and
/// `tls.internal_rpc.verify_server_hostname`.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub verify_incoming: bool,
    pub verify_outgoing: bool,
    pub verify_server_hostname: bool,
}

impl TlsSettings {
    /// Whether this agent has a certificate to serve TLS with.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// Reads Consul's `tls` block.
    fn apply(&mut self, block: &Json) -> Result<(), String> {
        let Json::Object(sections) = block else {
            return Err("tls: expected an object".into());
        };
        for (section, keys) in sections {
            let Json::Object(keys) = keys else {
                return Err(format!("tls.{section}: expected an object"));
            };
            for (key, value) in keys {
                let at = || format!("tls.{section}.{key}");
                let path = || {
                    value
                        .as_str()
                        .map(PathBuf::from)
                        .ok_or_else(|| format!("{}: expected a string", at()))
                };
                let flag = || {
                    value
                        .as_bool()
                        .ok_or_else(|| format!("{}: expected a bool", at()))
                };
                match (section.as_str(), key.as_str()) {
                    ("defaults", "ca_file") => self.ca_file = Some(path()?),
                    ("defaults", "cert_file") => self.cert_file = Some(path()?),
                    ("defaults", "key_file") => self.key_file = Some(path()?),
                    ("defaults", "verify_incoming") => self.verify_incoming = flag()?,
                    ("defaults", "verify_outgoing") => self.verify_outgoing = flag()?,
                    ("internal_rpc", "verify_server_hostname") => {
                        self.verify_server_hostname = flag()?
                    }
                    _ => return Err(format!("unknown configuration key {:?}", at())),
                }
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dev: false,
            server: false,
            bootstrap_expect: 0,
            bind: "0.0.0.0".into(),
            client: "127.0.0.1".into(),
            advertise: String::new(),
            node: hostname(),
            datacenter: "dc1".into(),
            data_dir: None,
            http_port: 8500,
            server_port: 8300,
            log_file: None,
            log_level: "info".into(),
            pid_file: None,
            ui: false,
            ui_content_path: "/ui/".into(),
            join: Vec::new(),
            retry_join: Vec::new(),
            services: Vec::new(),
            checks: Vec::new(),
            raft_snapshot_threshold: 16384,
            raft_trailing_logs: 10240,
            raft_multiplier: 1,
            http_port_flag: "-http-port",
            dev_servers: 1,
            node_id: None,
            http_max_conns_per_client: super::connlimit::DEFAULT_MAX_CONNS_PER_CLIENT,
            https_port: None,
            tls: TlsSettings::default(),
            encrypt: None,
            acl: super::acl::AclConfig::default(),
            node_meta: Default::default(),
            check_output_max_size: super::checks::DEFAULT_OUTPUT_MAX,
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Config {
    /// `ctmpl -dev`'s embedded agent: `agent -dev` on `port`, with the seed's example service.
    pub fn embedded(port: u16) -> Config {
        let mut c = Config {
            dev: true,
            server: true,
            // The README's promise: `ctmpl -dev` serves the UI, with its Templates view.
            ui: true,
            bootstrap_expect: 1,
            bind: "127.0.0.1".into(),
            http_port: port,
            server_port: 0,
            http_port_flag: "-dev-http-port",
            ..Config::default()
        };
        c.services.push(json!({
            "name": "nginx", "port": 8080, "tags": ["web"],
            "checks": [{"http": "http://127.0.0.1:8080/", "interval": "5s"}]
        }));
        let _ = c.validate();
        c
    }

    /// Checks the settings and fills in what follows from the others (`-client`'s first
    /// address, the advertised address).
    pub fn validate(&mut self) -> Result<(), String> {
        if self.dev_servers != 1 && !self.dev {
            return Err(
                "-dev-servers needs -dev (a dev cluster runs in memory in this process)".into(),
            );
        }
        if self.dev && self.dev_servers == 1 {
            self.data_dir = None;
        } else if self.dev {
            // A dev cluster keeps its servers in memory, or in `-data-dir`'s sub-folders.
        } else if self.data_dir.is_none() {
            return Err(
                "data_dir cannot be empty (use -data-dir, or -dev for an in-memory agent)".into(),
            );
        }
        if self.bootstrap_expect > 0 && !self.server {
            return Err("'bootstrap_expect > 0' requires 'server = true'".into());
        }
        // `-client` may list several addresses; we listen on the first.
        self.client = self
            .client
            .split_whitespace()
            .next()
            .unwrap_or("127.0.0.1")
            .to_string();
        if self.advertise.is_empty() {
            // As Consul: bound to every address, advertise the one private IPv4 address, and
            // refuse to guess among several (or none).
            self.advertise = if self.bind == "0.0.0.0" {
                let addrs = super::interfaces::host_addresses()?;
                super::interfaces::advertise_for_any(&addrs)?.to_string()
            } else {
                self.bind.clone()
            };
        }
        if self.node.is_empty() {
            return Err("node name cannot be empty".into());
        }
        // Consul's builder, word for word.
        super::validate::node_meta(&self.node_meta)
            .map_err(|e| format!("node_meta invalid: {e}"))?;
        if self.check_output_max_size == 0 {
            return Err("check_output_max_size must be positive, to discard check output use the discard_check_output flag".into());
        }
        if self.https_port.is_some() && !self.tls.enabled() {
            return Err(
                "ports.https needs tls.defaults.cert_file and tls.defaults.key_file".into(),
            );
        }
        if self.tls.verify_incoming && self.tls.ca_file.is_none() {
            return Err("tls.defaults.verify_incoming needs tls.defaults.ca_file".into());
        }
        Ok(())
    }

    /// One config file, JSON or (named `*.hcl`) HCL: Consul's keys for what we support,
    /// service definitions.
    pub fn apply_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let at = |e: String| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let entries: Vec<(String, Json)> = if path.extension().is_some_and(|x| x == "hcl") {
            let tree = crate::config::parse_hcl(&path.display().to_string(), &text)
                .map_err(|e| e.to_string())?;
            hcl_entries(tree)
        } else {
            let Json::Object(obj) =
                serde_json::from_str::<Json>(&text).map_err(|e| at(e.to_string()))?
            else {
                return Err(at("a config file must hold a JSON object".into()));
            };
            obj.into_iter().collect()
        };
        for (key, value) in entries {
            let str_value = || {
                value
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| at(format!("{key}: expected a string")))
            };
            match key.as_str() {
                "service" => self.services.push(value),
                "services" => match value {
                    Json::Array(items) => self.services.extend(items),
                    _ => return Err(at("services: expected a list".into())),
                },
                "check" => self.checks.push(value),
                "checks" => match value {
                    Json::Array(items) => self.checks.extend(items),
                    _ => return Err(at("checks: expected a list".into())),
                },
                "datacenter" => self.datacenter = str_value()?,
                "node_name" => self.node = str_value()?,
                "data_dir" => self.data_dir = Some(PathBuf::from(str_value()?)),
                "bind_addr" => self.bind = str_value()?,
                "client_addr" => self.client = str_value()?,
                "advertise_addr" => self.advertise = str_value()?,
                "log_level" => self.log_level = str_value()?,
                "log_file" => self.log_file = Some(PathBuf::from(str_value()?)),
                "pid_file" => self.pid_file = Some(PathBuf::from(str_value()?)),
                "server" => {
                    self.server = value
                        .as_bool()
                        .ok_or_else(|| at("server: expected a bool".into()))?
                }
                "bootstrap_expect" => {
                    self.bootstrap_expect = value
                        .as_u64()
                        .ok_or_else(|| at("bootstrap_expect: expected a number".into()))?
                        as u32
                }
                "ui" => self.ui = value.as_bool().unwrap_or(false),
                "raft_snapshot_threshold" => {
                    self.raft_snapshot_threshold = value
                        .as_u64()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| at("raft_snapshot_threshold: expected a number".into()))?
                }
                "raft_trailing_logs" => {
                    self.raft_trailing_logs = value
                        .as_u64()
                        .ok_or_else(|| at("raft_trailing_logs: expected a number".into()))?
                }
                "performance" => {
                    if let Some(m) = value.get("raft_multiplier") {
                        self.raft_multiplier = m
                            .as_u64()
                            .filter(|m| (1..=10).contains(m))
                            .map(|m| m as u32)
                            .ok_or_else(|| {
                                at(format!(
                                    "performance.raft_multiplier cannot be {m}. Must be between 1 and 10"
                                ))
                            })?;
                    }
                }
                "ui_config" => {
                    self.ui = value
                        .get("enabled")
                        .and_then(Json::as_bool)
                        .unwrap_or(self.ui)
                }
                "ports" => {
                    if let Some(p) = value.get("http").and_then(Json::as_u64) {
                        self.http_port = p as u16;
                    }
                    if let Some(p) = value.get("server").and_then(Json::as_u64) {
                        self.server_port = p as u16;
                    }
                    if let Some(p) = value.get("https").and_then(Json::as_i64) {
                        // Consul's -1 turns the port off.
                        self.https_port = u16::try_from(p).ok();
                    }
                }
                "limits" => self.apply_limits(&value).map_err(at)?,
                "tls" => self.tls.apply(&value).map_err(at)?,
                "encrypt" => self.encrypt = Some(str_value()?),
                "node_meta" => {
                    self.node_meta = serde_json::from_value(value)
                        .map_err(|e| at(format!("node_meta: expected an object of strings: {e}")))?
                }
                "check_output_max_size" => {
                    self.check_output_max_size = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| at("check_output_max_size: expected a number".into()))?
                }
                "acl" => self.acl.apply_json(&value).map_err(at)?,
                "retry_join" | "start_join" => {
                    let list: Vec<String> =
                        serde_json::from_value(value).map_err(|e| at(format!("{key}: {e}")))?;
                    self.retry_join.extend(list);
                }
                _ => return Err(at(format!("unknown configuration key {key:?}"))),
            }
        }
        Ok(())
    }

    /// Consul's `limits` block: the keys ctmpl enforces.
    fn apply_limits(&mut self, limits: &Json) -> Result<(), String> {
        let Json::Object(obj) = limits else {
            return Err("limits: expected an object".into());
        };
        for (key, value) in obj {
            match key.as_str() {
                "http_max_conns_per_client" => {
                    self.http_max_conns_per_client = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| format!("limits.{key}: expected a number"))?
                }
                _ => return Err(format!("unknown configuration key limits.{key}")),
            }
        }
        Ok(())
    }
}

/// An HCL file's top-level entries as JSON, in order: a repeated block (`service { }` twice)
/// stays two entries, each applied as the JSON key would be.
fn hcl_entries(tree: crate::config::Hcl) -> Vec<(String, Json)> {
    match tree {
        crate::config::Tree::Object(entries) => entries
            .into_iter()
            .map(|(k, v)| (k, hcl_to_json(v)))
            .collect(),
        other => vec![(String::new(), hcl_to_json(other))],
    }
}

/// An HCL value as JSON; inside a block, a repeated key keeps its last value (HCL1's rule for
/// scalars) and repeated blocks merge.
fn hcl_to_json(tree: crate::config::Hcl) -> Json {
    use crate::config::Tree;
    match tree {
        Tree::Str(s) => Json::String(s),
        Tree::Int(i) => Json::from(i),
        Tree::Float(f) => Json::from(f),
        Tree::Bool(b) => Json::Bool(b),
        Tree::List(items) => Json::Array(items.into_iter().map(hcl_to_json).collect()),
        Tree::Object(entries) => {
            let mut obj = serde_json::Map::new();
            for (k, v) in entries {
                match (obj.get_mut(&k), hcl_to_json(v)) {
                    (Some(Json::Object(old)), Json::Object(new)) => old.extend(new),
                    (_, value) => {
                        obj.insert(k, value);
                    }
                }
            }
            Json::Object(obj)
        }
    }
}

#[cfg(test)]
mod acl_config_tests {
    use super::*;

    #[test]
    fn acl_block_reads_from_hcl_and_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let hcl = dir.path().join("acl.hcl");
        std::fs::write(
            &hcl,
            r#"
            datacenter = "dc7"
            acl {
              enabled = true
              default_policy = "deny"
              tokens { initial_management = "root-secret" agent = "agent-secret" }
            }
            service { name = "web" port = 80 }
            "#,
        )
        .unwrap();
        let mut c = Config::default();
        c.apply_file(&hcl).unwrap();
        assert_eq!(c.datacenter, "dc7");
        assert!(c.acl.enabled && !c.acl.default_allow);
        assert_eq!(c.acl.initial_management.as_deref(), Some("root-secret"));
        assert_eq!(c.acl.agent_token.as_deref(), Some("agent-secret"));
        assert_eq!(c.services.len(), 1);
        let json = dir.path().join("acl.json");
        std::fs::write(
            &json,
            r#"{"acl": {"enabled": true, "default_policy": "nope"}}"#,
        )
        .unwrap();
        let err = Config::default().apply_file(&json).unwrap_err();
        assert!(
            err.contains("acl.json") && err.contains("Invalid ACL default policy"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, text).unwrap();
        let mut c = Config::default();
        c.apply_file(&path).map(|()| c)
    }

    #[test]
    fn consuls_tls_keys_and_https_port() {
        let c = from_json(
            r#"{"encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",
                "ports": {"https": 8501},
                "tls": {"defaults": {"ca_file": "ca.pem", "cert_file": "c.pem",
                                     "key_file": "k.pem", "verify_incoming": true,
                                     "verify_outgoing": true},
                        "internal_rpc": {"verify_server_hostname": true}}}"#,
        )
        .unwrap();
        assert_eq!(c.https_port, Some(8501));
        assert!(c.tls.enabled() && c.tls.verify_incoming && c.tls.verify_outgoing);
        assert!(c.tls.verify_server_hostname);
        assert_eq!(c.tls.ca_file, Some(PathBuf::from("ca.pem")));
        assert!(c.encrypt.is_some());
        assert_eq!(
            from_json(r#"{"ports": {"https": -1}}"#).unwrap().https_port,
            None
        );
        let e = from_json(r#"{"tls": {"defaults": {"verify_incomin": true}}}"#).unwrap_err();
        assert!(e.contains("tls.defaults.verify_incomin"), "{e}");
        let e = from_json(r#"{"tls": {"defaults": {"verify_incoming": "yes"}}}"#).unwrap_err();
        assert!(e.contains("expected a bool"), "{e}");
    }

    #[test]
    fn https_needs_a_certificate() {
        let mut c = Config {
            dev: true,
            bind: "127.0.0.1".into(),
            https_port: Some(0),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().contains("cert_file"));
    }
}
