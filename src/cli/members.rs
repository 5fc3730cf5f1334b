//! `ctmpl members [-http-addr=HOST:PORT]`: Consul's `members` command, `GET /v1/agent/members`
//! printed as the table `consul members` prints.

use serde_json::Value as Json;

use super::flags::{self, Flag};
use super::help::Command;
use super::{http_addr, runtime};

const FLAGS: &[Flag] = &[Flag::value(
    "http-addr",
    "address",
    "CONSUL_HTTP_ADDR, else 127.0.0.1:8500",
    "address of the agent's HTTP API (http:// unless a scheme is given)",
)];

pub const COMMAND: Command = Command {
    name: "members",
    synopsis: "Lists the members of the cluster (as `consul members`)",
    usage: "ctmpl members [options]",
    about: "  Lists the members of the agent's cluster as the table `consul members` prints.",
    flags: FLAGS,
    notes: "",
};

/// `ctmpl members [-http-addr=HOST:PORT]`: `GET /v1/agent/members` as `consul members` prints it.
pub fn run(args: &[String]) -> Result<(), String> {
    let flags = flags::parse(args, FLAGS).map_err(|e| e.0)?;
    let base = http_addr(flags.get("http-addr"));
    let members: Json = runtime()?.block_on(async {
        let failed = |e: reqwest::Error| {
            format!(
                "Error retrieving members: {}",
                crate::consul::client::describe_http_error("GET", &e)
            )
        };
        let r = reqwest::get(format!("{base}/v1/agent/members"))
            .await
            .map_err(failed)?;
        let status = r.status().as_u16();
        let body = r.bytes().await.map_err(failed)?;
        if status != 200 {
            return Err(format!(
                "Error retrieving members: Unexpected response code: {status} ({})",
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("Error retrieving members: {e}"))
    })?;
    print!("{}", members_table(&members));
    Ok(())
}

/// The table `consul members` prints, columns aligned two spaces apart.
pub fn members_table(members: &Json) -> String {
    let mut list: Vec<&Json> = members
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    list.sort_by_key(|m| m["Name"].as_str().unwrap_or_default().to_string());
    let mut rows = vec![[
        "Node",
        "Address",
        "Status",
        "Type",
        "Build",
        "Protocol",
        "DC",
        "Partition",
        "Segment",
    ]
    .map(String::from)];
    for m in list {
        let tag = |k: &str| m["Tags"][k].as_str().unwrap_or_default().to_string();
        let role = tag("role");
        let status = match m["Status"].as_i64() {
            Some(1) => "alive",
            Some(2) => "leaving",
            Some(3) => "left",
            Some(4) => "failed",
            _ => "none",
        };
        let build = tag("build");
        rows.push([
            m["Name"].as_str().unwrap_or_default().to_string(),
            format!("{}:{}", m["Addr"].as_str().unwrap_or_default(), m["Port"]),
            status.to_string(),
            match role.as_str() {
                "consul" => "server",
                "node" => "client",
                _ => "unknown",
            }
            .to_string(),
            build.split(':').next().unwrap_or_default().to_string(),
            tag("vsn"),
            tag("dc"),
            "default".to_string(),
            if role == "consul" {
                "<all>"
            } else {
                "<default>"
            }
            .to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&super::COMMAND);
    }
}
