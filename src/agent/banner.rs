//! The start-up banner of `ctmpl agent`, laid out as Consul's (`==> Starting Consul agent...`,
//! then right-aligned `Key: value` lines, then `==> Log data will now stream in as it occurs:`),
//! so whoever knows Consul's finds the same facts in the same places.
//!
//! It is a function from the running agent's facts to text, apart from printing, so other
//! front ends (`-dev-servers`, the embedded agent) can show the same block. The line
//! `==> ctmpl agent running: HTTP API on ADDR, …, server RPC on ADDR` stays in it, verbatim:
//! tests, benchmarks and scripts read it to learn the ports an agent took.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Running, CONSUL_VERSION};

/// What the banner says about one running agent.
#[derive(Clone, Debug)]
pub struct Facts {
    pub node_name: String,
    pub node_id: String,
    pub datacenter: String,
    pub server: bool,
    pub bootstrap_expect: u32,
    /// The HTTP API's bound address (its port is the real one when 0 was asked for).
    pub http: SocketAddr,
    /// The HTTPS API's bound port, when it is on.
    pub https: Option<u16>,
    /// The address other agents reach this one at, and its server (Raft RPC) port.
    pub advertise: String,
    pub server_port: u16,
    /// The web UI's URL, when the UI is on.
    pub ui: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub dev: bool,
}

impl Facts {
    pub fn of(running: &Running) -> Facts {
        let c = &running.agent.config;
        let ui = c.ui.then(|| {
            format!(
                "http://{}/{}/",
                running.addr,
                c.ui_content_path.trim_matches('/')
            )
        });
        Facts {
            node_name: c.node.clone(),
            node_id: running.agent.node_id.clone(),
            datacenter: c.datacenter.clone(),
            server: c.server,
            bootstrap_expect: c.bootstrap_expect,
            http: running.addr,
            https: c.https_port,
            advertise: c.advertise.clone(),
            server_port: c.server_port,
            ui,
            data_dir: c.data_dir.clone(),
            dev: c.dev,
        }
    }
}

/// The banner: heading, aligned facts, the line scripts read, and the hand-over to the log.
pub fn render(f: &Facts) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        (
            "Version",
            format!(
                "'ctmpl {}' (answers as Consul {CONSUL_VERSION})",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        ("Node ID", format!("'{}'", f.node_id)),
        ("Node name", format!("'{}'", f.node_name)),
        ("Datacenter", format!("'{}'", f.datacenter)),
        ("Server", server_row(f)),
        (
            "Client Addr",
            // Consul's row, with its -1 for a port that is off.
            format!(
                "[{}] (HTTP: {}, HTTPS: {})",
                f.http.ip(),
                f.http.port(),
                f.https.map_or("-1".to_string(), |p| p.to_string())
            ),
        ),
        (
            "Cluster Addr",
            format!("{} (server port: {})", f.advertise, f.server_port),
        ),
    ];
    if let Some(url) = &f.ui {
        rows.push(("Web UI", url.clone()));
    }
    rows.push(("Data Dir", data_dir_row(f)));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 8;
    let mut out = String::from("==> Starting ctmpl agent (Consul-compatible)...\n");
    for (key, value) in rows {
        out.push_str(&format!("{key:>width$}: {value}\n"));
    }
    out.push_str(&format!(
        "==> ctmpl agent running: HTTP API on {}, node {}, datacenter {}, server RPC on {}:{}\n",
        f.http, f.node_name, f.datacenter, f.advertise, f.server_port
    ));
    out.push_str("==> Log data will now stream in as it occurs:\n");
    out
}

/// `true (Bootstrap: true)` as Consul says it, with the expected server count when it is more
/// than one.
fn server_row(f: &Facts) -> String {
    if !f.server {
        return "false (client: forwards to the servers)".into();
    }
    match f.bootstrap_expect {
        0 | 1 => format!("true (Bootstrap: {})", f.bootstrap_expect == 1),
        n => format!("true (Bootstrap: false, Expect: {n})"),
    }
}

fn data_dir_row(f: &Facts) -> String {
    match (&f.data_dir, f.dev) {
        (_, true) => "none: -dev keeps everything in memory".into(),
        (Some(dir), false) => dir.display().to_string(),
        (None, false) => "none: everything in memory, lost on exit".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            node_name: "n1".into(),
            node_id: "0f0e".into(),
            datacenter: "dc1".into(),
            server: true,
            bootstrap_expect: 3,
            http: "127.0.0.1:8500".parse().unwrap(),
            https: None,
            advertise: "10.0.0.1".into(),
            server_port: 8300,
            ui: None,
            data_dir: Some("/var/lib/ctmpl".into()),
            dev: false,
        }
    }

    #[test]
    fn keys_are_right_aligned_and_values_line_up() {
        let text = render(&facts());
        let columns: Vec<usize> = text
            .lines()
            .filter(|l| !l.starts_with("==>"))
            .map(|l| l.find(": ").unwrap())
            .collect();
        assert!(columns.len() >= 8, "{text}");
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        assert!(text.contains("Server: true (Bootstrap: false, Expect: 3)"));
        assert!(text.contains("Data Dir: /var/lib/ctmpl"));
        assert!(!text.contains("Web UI"));
        assert!(text.contains("Client Addr: [127.0.0.1] (HTTP: 8500, HTTPS: -1)"));
        let with_https = render(&Facts {
            https: Some(8501),
            ..facts()
        });
        assert!(with_https.contains("Client Addr: [127.0.0.1] (HTTP: 8500, HTTPS: 8501)"));
    }
}
