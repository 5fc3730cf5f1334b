//! Registrator's service model: what a container's ports, environment and labels become in
//! Consul. Pure functions of the inspected container and the flags.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::docker::{Container, PortBinding};

/// The flags that shape services.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// `-ip`: the address of every published port.
    pub host_ip: String,
    /// `-internal`: the container's address and exposed ports instead of the published ones.
    pub internal: bool,
    /// `-explicit`: only containers with `SERVICE_NAME`.
    pub explicit: bool,
    /// `-useIpFromLabel`: the address from this label (`ip` or `ip/prefix`).
    pub use_ip_from_label: String,
    /// `-tags`: added to every service (comma separated, `\,` for a comma).
    pub force_tags: String,
    /// `-ttl` in seconds: a TTL check on every service, passed every `-ttl-refresh`.
    pub ttl: u64,
    /// This host's name: the first part of service IDs.
    pub hostname: String,
    /// This host's address (the hostname resolved), for ports published on 0.0.0.0.
    pub host_address: String,
}

/// A health check from `SERVICE_CHECK_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    pub http: String,
    pub tcp: String,
    pub ttl: String,
    pub interval: String,
    pub timeout: String,
    pub status: String,
    pub deregister_after: String,
}

/// One service to register.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    pub address: String,
    pub port: u16,
    pub meta: BTreeMap<String, String>,
    pub check: Option<Check>,
    /// `-ttl`: the TTL of the extra check `service:ID:ttl`.
    pub ttl: u64,
}

impl Service {
    /// The ID of the `-ttl` check.
    pub fn ttl_check_id(&self) -> String {
        format!("service:{}:ttl", self.id)
    }

    /// The body of `PUT /v1/agent/service/register`.
    pub fn registration(&self) -> Json {
        let mut body = json!({
            "ID": self.id,
            "Name": self.name,
            "Tags": self.tags,
            "Address": self.address,
            "Port": self.port,
            "Meta": self.meta,
        });
        if let Some(c) = &self.check {
            let mut check = json!({ "CheckID": format!("service:{}", self.id) });
            for (key, value) in [
                ("HTTP", &c.http),
                ("TCP", &c.tcp),
                ("TTL", &c.ttl),
                ("Interval", &c.interval),
                ("Timeout", &c.timeout),
                ("Status", &c.status),
                ("DeregisterCriticalServiceAfter", &c.deregister_after),
            ] {
                if !value.is_empty() {
                    check[key] = json!(value);
                }
            }
            body["Check"] = check;
        }
        if self.ttl > 0 {
            body["Checks"] = json!([{
                "CheckID": self.ttl_check_id(),
                "Name": "registrator TTL",
                "TTL": format!("{}s", self.ttl),
                "Status": "passing",
            }]);
        }
        body
    }

    /// Whether the agent's copy (`/v1/agent/services` value) has this service's fields.
    pub fn matches(&self, agent: &Json) -> bool {
        let strings = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let meta: BTreeMap<String, String> = agent["Meta"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        agent["Service"].as_str() == Some(self.name.as_str())
            && agent["Port"].as_u64() == Some(u64::from(self.port))
            && agent["Address"].as_str().unwrap_or("") == self.address
            && strings(&agent["Tags"]) == self.tags
            && meta == self.meta
    }
}

/// A port of the container, published or not (`bridge.ServicePort`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Port {
    host_port: String,
    host_ip: String,
    exposed_port: String,
    exposed_ip: String,
    /// `tcp` or `udp`.
    kind: String,
}

/// The services of a running container, and what was left out and why (for the log).
pub fn services(c: &Container, model: &Model) -> (Vec<Service>, Vec<String>) {
    let mut notes = Vec::new();
    let mut ports: BTreeMap<String, Port> = BTreeMap::new();
    // Exposed ports count as published on the same port (what `--net=host` means)…
    for key in c.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
        let binding = PortBinding {
            host_ip: "0.0.0.0".into(),
            host_port: key.split('/').next().unwrap_or("").to_string(),
        };
        ports.insert(key.clone(), port_of(c, key, Some(&binding)));
    }
    // …unless the engine says how they are published (bridge networks).
    for (key, bindings) in c.network_settings.ports.iter().flatten() {
        let first = bindings.as_ref().and_then(|b| b.first());
        ports.insert(key.clone(), port_of(c, key, first));
    }
    if ports.is_empty() {
        notes.push("no published ports".to_string());
        return (Vec::new(), notes);
    }
    let chosen: Vec<Port> = ports
        .into_values()
        .filter(|p| {
            let keep = model.internal || !p.host_port.is_empty();
            if !keep {
                notes.push(format!("port {} not published on host", p.exposed_port));
            }
            keep
        })
        .collect();
    let group = chosen.len() > 1;
    let mut out = Vec::new();
    for port in &chosen {
        match service(c, model, port, group) {
            Ok(s) => out.push(s),
            Err(why) => notes.push(format!("service on port {}: {why}", port.exposed_port)),
        }
    }
    (out, notes)
}

fn port_of(c: &Container, key: &str, binding: Option<&PortBinding>) -> Port {
    let (host_port, mut host_ip) = binding
        .map(|b| (b.host_port.clone(), b.host_ip.clone()))
        .unwrap_or_default();
    if host_ip.is_empty() {
        host_ip = "0.0.0.0".into();
    }
    let (exposed_port, kind) = match key.split_once('/') {
        Some((p, k)) => (p.to_string(), k.to_string()),
        None => (key.to_string(), "tcp".to_string()),
    };
    let networks = c.network_settings.networks.iter().flatten();
    let exposed_ip = if c.network_settings.ip_address.is_empty() {
        networks
            .map(|(_, n)| n.ip_address.clone())
            .find(|ip| !ip.is_empty())
            .unwrap_or_default()
    } else {
        c.network_settings.ip_address.clone()
    };
    Port {
        host_port,
        host_ip,
        exposed_port,
        exposed_ip,
        kind,
    }
}

fn service(c: &Container, model: &Model, port: &Port, group: bool) -> Result<Service, String> {
    let (mut meta, from_port) = metadata(c, &port.exposed_port);
    if !meta.get("ignore").is_none_or(String::is_empty) {
        return Err("SERVICE_IGNORE".into());
    }
    let name = match meta.get("name").filter(|n| !n.is_empty()) {
        Some(n) => n.clone(),
        None if model.explicit => return Err("no SERVICE_NAME (-explicit)".into()),
        None => default_name(&c.config.image),
    };
    let container_name = c.name.trim_start_matches('/');
    let mut s = Service {
        id: format!(
            "{}:{}:{}",
            model.hostname, container_name, port.exposed_port
        ),
        name,
        ttl: model.ttl,
        ..Service::default()
    };
    if group && !from_port.contains("name") {
        s.name = format!("{}-{}", s.name, port.exposed_port);
    }
    let (address, number) = if model.internal {
        (port.exposed_ip.clone(), &port.exposed_port)
    } else {
        let mut ip = port.host_ip.clone();
        if (ip == "0.0.0.0" || ip == "::") && !model.host_address.is_empty() {
            ip = model.host_address.clone();
        }
        if !model.host_ip.is_empty() {
            ip = model.host_ip.clone();
        }
        (ip, &port.host_port)
    };
    s.address = address;
    s.port = number
        .parse()
        .map_err(|_| format!("invalid port {number:?}"))?;
    if !model.use_ip_from_label.is_empty() {
        if let Some(ip) = c
            .config
            .labels
            .as_ref()
            .and_then(|l| l.get(&model.use_ip_from_label))
            .filter(|ip| !ip.is_empty())
        {
            s.address = ip.split('/').next().unwrap_or(ip).to_string();
        }
    }
    let own_tags = meta.get("tags").cloned().unwrap_or_default();
    s.tags = split_tags(&own_tags);
    s.tags.extend(split_tags(&model.force_tags));
    if port.kind == "udp" {
        s.tags.push("udp".into());
        s.id.push_str(":udp");
    }
    if let Some(id) = meta.get("id").filter(|id| !id.is_empty()) {
        s.id = id.clone();
    }
    s.check = check(&meta, &s);
    meta.retain(|k, _| {
        !matches!(k.as_str(), "id" | "tags" | "name" | "ignore") && !k.starts_with("check_")
    });
    s.meta = meta
        .into_iter()
        .filter(|(k, v)| valid_meta(k, v))
        .take(64)
        .collect();
    Ok(s)
}

/// The image's base name without registry, tag or digest: `registry:5000/team/web:1.2` → `web`.
pub fn default_name(image: &str) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split('@').next().unwrap_or(base);
    base.split(':').next().unwrap_or(base).to_string()
}

/// `SERVICE_*` from labels, then environment (which wins), lowercased without the prefix;
/// `SERVICE_<port>_X` applies to that port only and wins over `SERVICE_X`. Also returns the keys
/// that came from port-specific settings.
fn metadata(
    c: &Container,
    port: &str,
) -> (BTreeMap<String, String>, std::collections::BTreeSet<String>) {
    let mut source: BTreeMap<String, String> = c.config.labels.clone().unwrap_or_default();
    for e in c.config.env.iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            source.insert(k.to_string(), v.to_string());
        }
    }
    let mut meta = BTreeMap::new();
    let mut from_port = std::collections::BTreeSet::new();
    for (k, v) in &source {
        let Some(key) = k.strip_prefix("SERVICE_") else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        if key.is_empty() {
            continue;
        }
        match key.split_once('_') {
            Some((p, rest)) if p.parse::<u32>().is_ok() => {
                if p == port && !rest.is_empty() {
                    meta.insert(rest.to_string(), v.clone());
                    from_port.insert(rest.to_string());
                }
            }
            _ => {
                if !from_port.contains(&key) {
                    meta.insert(key, v.clone());
                }
            }
        }
    }
    (meta, from_port)
}

/// Splits on commas not preceded by a backslash (`\,` is a literal comma); empty tags dropped.
pub fn split_tags(s: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => tags.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    tags.push(cur);
    tags.retain(|t| !t.is_empty());
    tags
}

/// Consul's rules for service metadata.
fn valid_meta(key: &str, value: &str) -> bool {
    let ok = !key.is_empty()
        && key.len() <= 128
        && value.len() <= 512
        && !key.starts_with("consul-")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        tracing::warn!(key, "SERVICE_ setting left out of the service's Meta (not a valid Consul meta key or value)");
    }
    ok
}

/// The check from `SERVICE_CHECK_*` (registrator's Consul adapter), if any.
fn check(meta: &BTreeMap<String, String>, s: &Service) -> Option<Check> {
    let get = |k: &str| meta.get(k).cloned().unwrap_or_default();
    let mut c = Check {
        status: get("check_initial_status"),
        deregister_after: get("check_deregister_after"),
        ..Check::default()
    };
    let http = get("check_http");
    let https = get("check_https");
    if !http.is_empty() {
        c.http = format!("http://{}:{}{}", s.address, s.port, http);
        c.timeout = get("check_timeout");
    } else if !https.is_empty() {
        c.http = format!("https://{}:{}{}", s.address, s.port, https);
        c.timeout = get("check_timeout");
    } else if !get("check_ttl").is_empty() {
        c.ttl = get("check_ttl");
    } else if !get("check_tcp").is_empty() {
        c.tcp = format!("{}:{}", s.address, s.port);
        c.timeout = get("check_timeout");
    } else {
        if !get("check_cmd").is_empty() || !get("check_script").is_empty() {
            tracing::warn!(service = %s.id, "SERVICE_CHECK_CMD and SERVICE_CHECK_SCRIPT are not supported (script checks); no check registered");
        }
        return None;
    }
    if c.ttl.is_empty() {
        c.interval = meta
            .get("check_interval")
            .filter(|i| !i.is_empty())
            .cloned()
            .unwrap_or_else(|| "10s".into());
    }
    Some(c)
}

/// Registrator's service IDs: `HOST:CONTAINER:PORT` or `HOST:CONTAINER:PORT:udp`; returns
/// (host, container name).
pub fn parse_id(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_suffix(":udp").unwrap_or(id);
    let (rest, port) = rest.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (host, name) = rest.rsplit_once(':')?;
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    (!host.is_empty() && first_ok && rest_ok).then_some((host, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(v: Json) -> Container {
        serde_json::from_value(v).unwrap()
    }

    fn model() -> Model {
        Model {
            hostname: "host1".into(),
            host_address: "10.0.0.5".into(),
            ..Model::default()
        }
    }

    fn bridge(env: &[&str], ports: Json) -> Container {
        container(json!({
            "Id": "0123456789abcdef",
            "Name": "/web1",
            "Config": {"Image": "registry.example:5000/team/web:1.2", "Env": env, "Labels": null,
                       "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}}},
            "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"IPAddress": "172.17.0.3", "Ports": ports},
            "State": {"Running": true}
        }))
    }

    #[test]
    fn one_published_port() {
        let c = bridge(
            &[],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}, {"HostIp": "::", "HostPort": "32768"}],
                   "53/udp": null, "9000/tcp": null}),
        );
        let (s, notes) = services(&c, &model());
        assert_eq!(s.len(), 1, "{notes:?}");
        assert_eq!(s[0].id, "host1:web1:80");
        assert_eq!(s[0].name, "web", "no group suffix with one published port");
        assert_eq!((s[0].address.as_str(), s[0].port), ("10.0.0.5", 32768));
        assert!(s[0].tags.is_empty() && s[0].meta.is_empty() && s[0].check.is_none());
        assert_eq!(notes.len(), 2);

        let m = Model {
            host_ip: "192.0.2.9".into(),
            ..model()
        };
        assert_eq!(services(&c, &m).0[0].address, "192.0.2.9", "-ip wins");
    }

    #[test]
    fn several_ports_udp_and_overrides() {
        let env = [
            "SERVICE_NAME=api",
            "SERVICE_TAGS=a,b\\,c,,",
            "SERVICE_53_NAME=dns",
            "SERVICE_53_TAGS=x",
            "SERVICE_VERSION=2",
            "SERVICE_9000_IGNORE=yes",
            "SERVICE_CHECK_HTTP=/health",
            "SERVICE_CHECK_INTERVAL=5s",
            "SERVICE_bad.key=1",
            "PATH=/bin",
            "NOEQUALS",
        ];
        let c = bridge(
            &env,
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                   "53/udp": [{"HostIp": "127.0.0.2", "HostPort": "5353"}],
                   "9000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9000"}]}),
        );
        let m = Model {
            force_tags: "prod".into(),
            ..model()
        };
        let (s, notes) = services(&c, &m);
        assert_eq!(s.len(), 2, "{notes:?}");
        let dns = &s[0];
        assert_eq!(dns.id, "host1:web1:53:udp");
        assert_eq!(dns.name, "dns", "a port's own name has no suffix");
        assert_eq!(dns.tags, ["x", "prod", "udp"]);
        assert_eq!((dns.address.as_str(), dns.port), ("127.0.0.2", 5353));
        let api = &s[1];
        assert_eq!(api.id, "host1:web1:80");
        assert_eq!(
            api.name, "api-80",
            "NAME-PORT when several ports are published"
        );
        assert_eq!(api.tags, ["a", "b,c", "prod"]);
        assert_eq!(
            api.meta,
            BTreeMap::from([("version".to_string(), "2".to_string())])
        );
        let check = api.check.as_ref().unwrap();
        assert_eq!(check.http, "http://10.0.0.5:8080/health");
        assert_eq!(check.interval, "5s");
        assert!(notes.iter().any(|n| n.contains("9000")));
        let reg = api.registration();
        assert_eq!(reg["Check"]["CheckID"], "service:host1:web1:80");
        assert_eq!(reg["Meta"]["version"], "2");
        assert!(reg.get("Checks").is_none());
    }

    #[test]
    fn labels_env_id_and_checks() {
        let mut c = bridge(
            &[
                "SERVICE_ID=custom",
                "SERVICE_CHECK_TCP=true",
                "SERVICE_CHECK_TIMEOUT=2s",
            ],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}]}),
        );
        c.config.exposed_ports = None;
        c.config.labels = Some(BTreeMap::from([
            ("SERVICE_NAME".to_string(), "from-label".to_string()),
            ("SERVICE_ID".to_string(), "label-id".to_string()),
        ]));
        let m = Model { ttl: 30, ..model() };
        let s = &services(&c, &m).0[0];
        assert_eq!(s.name, "from-label");
        assert_eq!(s.id, "custom", "environment wins over labels");
        let check = s.check.as_ref().unwrap();
        assert_eq!(
            (
                check.tcp.as_str(),
                check.timeout.as_str(),
                check.interval.as_str()
            ),
            ("10.0.0.5:80", "2s", "10s")
        );
        let reg = s.registration();
        assert_eq!(reg["Checks"][0]["CheckID"], "service:custom:ttl");
        assert_eq!(reg["Checks"][0]["TTL"], "30s");
    }

    #[test]
    fn internal_explicit_host_network_and_names() {
        let c = bridge(
            &[],
            json!({"80/tcp": null, "53/udp": null, "9000/tcp": null}),
        );
        assert!(services(&c, &model()).0.is_empty(), "unpublished ports");
        let internal = Model {
            internal: true,
            ..model()
        };
        let s = services(&c, &internal).0;
        assert_eq!(s.len(), 3, "every exposed port with -internal");
        assert_eq!(
            (s[1].address.as_str(), s[1].port, s[1].name.as_str()),
            ("172.17.0.3", 80, "web-80")
        );

        let explicit = Model {
            explicit: true,
            ..model()
        };
        let c = bridge(
            &[],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1"}]}),
        );
        assert!(services(&c, &explicit).0.is_empty());

        // --net=host: no port map; exposed ports are the host's.
        let host = container(json!({
            "Id": "x", "Name": "/h",
            "Config": {"Image": "nginx", "ExposedPorts": {"80/tcp": {}}},
            "HostConfig": {"NetworkMode": "host"},
            "NetworkSettings": {"Ports": {}, "Networks": {"host": {"IPAddress": ""}}}
        }));
        let s = &services(&host, &model()).0[0];
        assert_eq!(
            (s.name.as_str(), s.address.as_str(), s.port),
            ("nginx", "10.0.0.5", 80)
        );

        assert_eq!(default_name("web"), "web");
        assert_eq!(default_name("localhost:5000/app:latest"), "app");
        assert_eq!(default_name("app@sha256:abcd"), "app");
    }

    #[test]
    fn agent_copy_comparison() {
        let c = bridge(
            &["SERVICE_TAGS=t"],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "81"}], "53/udp": null, "9000/tcp": null}),
        );
        let s = &services(&c, &model()).0[0];
        let agent = json!({"ID": s.id, "Service": "web", "Tags": ["t"], "Meta": {}, "Port": 81, "Address": "10.0.0.5"});
        assert!(s.matches(&agent));
        let mut moved = agent.clone();
        moved["Port"] = json!(82);
        assert!(!s.matches(&moved));
    }

    #[test]
    fn registrator_ids() {
        assert_eq!(parse_id("vm:web1:80"), Some(("vm", "web1")));
        assert_eq!(parse_id("vm:web1:53:udp"), Some(("vm", "web1")));
        assert_eq!(parse_id("a:b:web.1_x-y:80"), Some(("a:b", "web.1_x-y")));
        assert_eq!(parse_id("consul"), None);
        assert_eq!(
            parse_id("vm:w:80"),
            None,
            "names have two characters at least"
        );
        assert_eq!(parse_id("vm:web:http"), None);
        assert_eq!(parse_id(":web:80"), None);
    }
}
