//! `ctmpl join [-http-addr=HOST:PORT] ADDR...`: Consul's `join` command, one
//! `PUT /v1/agent/join/ADDR` per address to an agent's HTTP API.

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
    name: "join",
    synopsis: "Tells an agent to join others (as `consul join`)",
    usage: "ctmpl join [options] ADDRESS...",
    about:
        "  Tells the agent at -http-addr to join the agents at each ADDRESS (HOST or HOST:PORT,\n  \
            their server port), as `consul join` does.",
    flags: FLAGS,
    notes: "",
};

/// `ctmpl join [-http-addr=HOST:PORT] ADDR...`: one `PUT /v1/agent/join/ADDR` per address.
pub fn run(args: &[String]) -> Result<(), String> {
    let flags = flags::parse(args, FLAGS).map_err(|e| e.0)?;
    if flags.args.is_empty() {
        return Err("At least one address to join must be specified.".into());
    }
    let base = http_addr(flags.get("http-addr"));
    let client = reqwest::Client::new();
    let joined = runtime()?.block_on(async {
        let mut joined = 0;
        for addr in &flags.args {
            match join_one(&client, &base, addr).await {
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

/// One `PUT /v1/agent/join/ADDR`; the error as Consul's API client words it.
async fn join_one(client: &reqwest::Client, base: &str, addr: &str) -> Result<(), String> {
    let url = format!("{base}/v1/agent/join/{addr}");
    match client.put(&url).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            Err(format!("Unexpected response code: {status} ({body})"))
        }
        Err(e) => Err(crate::consul::client::describe_http_error("PUT", &e)),
    }
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&super::COMMAND);
    }
}
