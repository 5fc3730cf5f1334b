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
    /// Consul's `raft_snapshot_threshold`: log entries between snapshots.
    pub raft_snapshot_threshold: u64,
    /// Consul's `raft_trailing_logs`: entries kept behind a snapshot for slow followers.
    pub raft_trailing_logs: u64,
    /// The flag that sets `http_port` on this command line, named when the port is taken
    /// (`-http-port` for `ctmpl agent`, `-dev-http-port` for `ctmpl -dev`'s embedded agent).
    pub http_port_flag: &'static str,
    /// `-dev-servers`: how many servers a `-dev` agent runs in this process (1, 3 or 5).
    pub dev_servers: usize,
    /// The node's UUID when it is given rather than read from (or made in) the data dir: a dev
    /// cluster's server keeps its own across a leave and a rejoin.
    pub node_id: Option<String>,
    /// The `acl { }` block.
    pub acl: super::acl::AclConfig,
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
            raft_snapshot_threshold: 16384,
            raft_trailing_logs: 10240,
            http_port_flag: "-http-port",
            dev_servers: 1,
            node_id: None,
            acl: super::acl::AclConfig::default(),
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
        Ok(())
    }

    /// One config file, JSON or (`.hcl`) HCL: Consul's keys for what we support, service
    /// definitions.
    pub fn apply_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let at = |e: String| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let parsed = if path.extension().is_some_and(|x| x == "hcl") {
            crate::config::hcl::parse_hcl(&path.display().to_string(), &text)
                .map(|tree| hcl_to_json(&tree))
                .map_err(|e| e.to_string())?
        } else {
            serde_json::from_str::<Json>(&text).map_err(|e| at(e.to_string()))?
        };
        let Json::Object(obj) = parsed else {
            return Err(at("a config file must hold a JSON object".into()));
        };
        for (key, value) in obj {
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
}

/// An HCL config document as the JSON Consul would read from the same settings: a repeated
/// `service` block becomes a list, any other repeated key keeps its last value.
fn hcl_to_json(tree: &crate::config::hcl::Hcl) -> Json {
    use crate::config::hcl::Tree;
    match tree {
        Tree::Str(s) => Json::String(s.clone()),
        Tree::Int(i) => json!(i),
        Tree::Float(f) => json!(f),
        Tree::Bool(b) => Json::Bool(*b),
        Tree::List(items) => Json::Array(items.iter().map(hcl_to_json).collect()),
        Tree::Object(entries) => {
            let mut out = serde_json::Map::new();
            let mut services = Vec::new();
            for (key, value) in entries {
                if key == "service" {
                    services.push(hcl_to_json(value));
                } else {
                    out.insert(key.clone(), hcl_to_json(value));
                }
            }
            if !services.is_empty() {
                out.insert("services".into(), Json::Array(services));
            }
            out.into()
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
