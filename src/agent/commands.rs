//! `ctmpl join` and `ctmpl members`: Consul's CLI commands of the same names, talking to an
//! agent's HTTP API (`-http-addr`, `CONSUL_HTTP_ADDR`, 127.0.0.1:8500 by default).

use serde_json::Value as Json;

use crate::cli::{self, FlagKind};

fn http_addr(flag: Option<&str>) -> String {
    let addr = flag
        .map(str::to_string)
        .or_else(|| std::env::var("CONSUL_HTTP_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8500".into());
    if addr.contains("://") {
        addr.trim_end_matches('/').to_string()
    } else {
        format!("http://{addr}")
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// `ctmpl join [-http-addr=HOST:PORT] ADDR...`: one `PUT /v1/agent/join/ADDR` per address.
pub fn join(args: &[String]) -> Result<(), String> {
    let flags = cli::parse(args, &[("http-addr", FlagKind::Value)]).map_err(|e| e.0)?;
    if flags.args.is_empty() {
        return Err("At least one address to join must be specified.".into());
    }
    let base = http_addr(flags.get("http-addr"));
    let client = reqwest::Client::new();
    let joined = runtime()?.block_on(async {
        let mut joined = 0;
        for addr in &flags.args {
            let url = format!("{base}/v1/agent/join/{addr}");
            let result = match client.put(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    Err(format!("Unexpected response code: {status} ({body})"))
                }
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => joined += 1,
                Err(e) => eprintln!("Error joining address '{addr}': {e}"),
            }
        }
        joined
    });
    if joined == 0 {
        return Err("Failed to join any nodes.".into());
    }
    println!("Successfully joined cluster by contacting {joined} nodes.");
    Ok(())
}

/// `ctmpl members [-http-addr=HOST:PORT]`: `GET /v1/agent/members` as `consul members` prints it.
pub fn members(args: &[String]) -> Result<(), String> {
    let flags = cli::parse(args, &[("http-addr", FlagKind::Value)]).map_err(|e| e.0)?;
    let base = http_addr(flags.get("http-addr"));
    let members: Json = runtime()?.block_on(async {
        let r = reqwest::get(format!("{base}/v1/agent/members"))
            .await
            .map_err(|e| format!("Error retrieving members: {e}"))?;
        let status = r.status().as_u16();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
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
