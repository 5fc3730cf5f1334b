//! `ctmpl registrator [flags] consul://HOST:PORT`: registrator's command line as its Go `flag`
//! set reads it, into [`Options`]; then `crate::registrator::serve` runs until SIGINT or SIGTERM.
//! Exit codes are registrator's: 2 for usage, 1 for the rest.

use std::time::Duration;

use super::flags::{self, Flag, Parsed};
use super::help::Command;
use crate::consul::client::ClientConfig;
use crate::registrator::docker::Endpoint;
use crate::registrator::service::Model;
use crate::registrator::{serve, Deregister, Options};

pub const COMMAND: Command = Command {
    name: "registrator",
    synopsis: "Registers Docker containers' services in Consul (as gliderlabs/registrator)",
    usage: "ctmpl registrator [options] <registry URI>",
    about:
        "  Watches the Docker engine and registers each published port of its containers as a\n  \
            Consul service, as gliderlabs/registrator does; runs until SIGINT or SIGTERM.",
    flags: FLAGS,
    notes: "Registry URI:\n\n  \
            consul://HOST:PORT (consul-tls://HOST:PORT for HTTPS)",
};

/// Runs `ctmpl registrator ARGS` until SIGINT or SIGTERM. Errors carry registrator's exit codes:
/// 2 for usage, 1 for the rest (`-h` is answered by `cli::main`).
pub fn run(args: &[String]) -> Result<(), (i32, String)> {
    let opts = parse(args).map_err(|e| (2, format!("{e}\n\n{}", super::help::usage(&COMMAND))))?;
    let opts = opts.map_err(|e| (1, e))?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (1, e.to_string()))?;
    runtime.block_on(serve(opts)).map_err(|e| (1, e))
}

fn init_logging() {
    // RUST_LOG=ctmpl=debug adds each event's handling time.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ctmpl=info,warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Flags as registrator's Go `flag` set reads them. The outer error is a usage error (exit 2),
/// the inner one a bad combination (exit 1, as registrator's `assert`).
pub fn parse(args: &[String]) -> Result<Result<Options, String>, String> {
    let p = flags::parse(args, FLAGS).map_err(|e| e.to_string())?;
    let n = Numbers::read(&p)?;
    let uri = registry_uri(&p)?;
    Ok(options(&p, &n, &uri))
}

const FLAGS: &[Flag] = &[
    Flag::value(
        "ip",
        "ip",
        "this host's name, resolved",
        "address of the ports published on this host",
    ),
    Flag::bool(
        "internal",
        "register exposed ports and the container's address, not the published ones",
    ),
    Flag::bool("explicit", "only containers with SERVICE_NAME set"),
    Flag::value(
        "useIpFromLabel",
        "label",
        "",
        "take the address from this container label",
    ),
    Flag::value(
        "ttl-refresh",
        "seconds",
        "0",
        "pass the -ttl checks this often (both or neither; -ttl greater)",
    ),
    Flag::value(
        "ttl",
        "seconds",
        "0",
        "give every service a TTL check of this length",
    ),
    Flag::value(
        "tags",
        "tags",
        "",
        "tags added to every service (comma separated)",
    ),
    Flag::value(
        "resync",
        "seconds",
        "0",
        "resynchronize everything this often (0: never)",
    ),
    Flag::value(
        "deregister",
        "mode",
        "always",
        "\"always\", or \"on-success\": keep a failed container's services until it is removed",
    ),
    Flag::value(
        "retry-attempts",
        "n",
        "0",
        "attempts to reach Consul and Docker at start (-1: forever)",
    ),
    Flag::value(
        "retry-interval",
        "ms",
        "2000",
        "between attempts, and how often Consul is watched",
    ),
    Flag::bool(
        "cleanup",
        "remove services of this host's containers that no longer run",
    ),
    Flag::value(
        "docker-socket",
        "path",
        "DOCKER_HOST, else /var/run/docker.sock",
        "the Docker engine's socket",
    ),
];

/// The integer flags, as Go's `flag.Int` reads them (a bad one is a usage error).
struct Numbers {
    resync: i64,
    ttl: i64,
    ttl_refresh: i64,
    retry_attempts: i64,
    retry_interval: i64,
}

impl Numbers {
    fn read(p: &Parsed) -> Result<Numbers, String> {
        let int = |name: &str, default: i64| -> Result<i64, String> {
            match p.get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .map_err(|_| format!("invalid value {v:?} for flag -{name}: parse error")),
            }
        };
        Ok(Numbers {
            resync: int("resync", 0)?,
            ttl: int("ttl", 0)?,
            ttl_refresh: int("ttl-refresh", 0)?,
            retry_attempts: int("retry-attempts", 0)?,
            retry_interval: int("retry-interval", 2000)?,
        })
    }

    /// registrator's `assert`s on them.
    fn check(&self) -> Result<(), String> {
        let Numbers {
            resync,
            ttl,
            ttl_refresh,
            retry_interval,
            ..
        } = *self;
        if (ttl == 0) != (ttl_refresh == 0) {
            return Err("-ttl and -ttl-refresh must be specified together or not at all".into());
        }
        if ttl > 0 && ttl <= ttl_refresh {
            return Err("-ttl must be greater than -ttl-refresh".into());
        }
        if ttl < 0 || ttl_refresh < 0 || resync < 0 {
            return Err("-ttl, -ttl-refresh and -resync cannot be negative".into());
        }
        if retry_interval <= 0 {
            return Err("-retry-interval must be greater than 0".into());
        }
        Ok(())
    }
}

/// The one positional argument, after every flag.
fn registry_uri(p: &Parsed) -> Result<String, String> {
    match p.args.as_slice() {
        [uri] => Ok(uri.clone()),
        [] => Err("Missing required argument for registry URI.".into()),
        [_, extra @ ..] => Err(format!(
            "Extra unparsed arguments:\n  {}\nOptions should come before the registry URI argument.",
            extra.join(" ")
        )),
    }
}

/// The options the flags ask for, or the combination registrator refuses.
fn options(p: &Parsed, n: &Numbers, uri: &str) -> Result<Options, String> {
    n.check()?;
    let deregister = match p.get("deregister").unwrap_or("always") {
        "always" => Deregister::Always,
        "on-success" => Deregister::OnSuccess,
        _ => return Err("-deregister must be \"always\" or \"on-success\"".into()),
    };
    let docker = match p.get("docker-socket") {
        Some(path) => Endpoint::Unix(path.into()),
        None => match std::env::var("DOCKER_HOST") {
            Ok(h) if !h.is_empty() => Endpoint::parse(&h)?,
            _ => Endpoint::Unix("/var/run/docker.sock".into()),
        },
    };
    Ok(Options {
        consul: consul_config(uri)?,
        docker,
        model: Model {
            host_ip: p.get("ip").unwrap_or("").to_string(),
            internal: p.flag("internal"),
            explicit: p.flag("explicit"),
            use_ip_from_label: p.get("useIpFromLabel").unwrap_or("").to_string(),
            force_tags: p.get("tags").unwrap_or("").to_string(),
            ttl: n.ttl as u64,
            hostname: hostname(),
            host_address: String::new(),
        },
        resync: n.resync as u64,
        deregister,
        cleanup: p.flag("cleanup"),
        retry_attempts: n.retry_attempts,
        retry_interval: Duration::from_millis(n.retry_interval as u64),
        ttl_refresh: n.ttl_refresh as u64,
    })
}

/// `consul://HOST:PORT` → the Consul client's settings (`CONSUL_HTTP_ADDR` when HOST is empty,
/// `CONSUL_HTTP_TOKEN` for the token).
fn consul_config(uri: &str) -> Result<ClientConfig, String> {
    let mut config = ClientConfig::from_env();
    let (scheme, rest) = uri
        .split_once("://")
        .or_else(|| uri.split_once(':'))
        .ok_or_else(|| format!("bad adapter uri: {uri}"))?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if rest.contains('?') {
        return Err(format!(
            "{uri}: URI options (such as ?prefix=) are not supported"
        ));
    }
    match scheme {
        "consul" if !host.is_empty() => config.address = host.to_string(),
        "consul" => {}
        "consul-tls" if !host.is_empty() => config.address = format!("https://{host}"),
        "consul-unix" => return Err(format!("{uri}: consul-unix is not supported")),
        _ => return Err(format!("unrecognized adapter: {uri}")),
    }
    Ok(config)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&COMMAND);
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags() {
        let o = parse(&args(&[
            "-ip",
            "10.1.1.1",
            "-internal",
            "-tags",
            "a,b",
            "-resync=30",
            "-deregister",
            "on-success",
            "-cleanup",
            "-retry-attempts",
            "-1",
            "-ttl",
            "30",
            "-ttl-refresh",
            "10",
            "-docker-socket",
            "/tmp/docker.sock",
            "consul://127.0.0.1:8501",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.consul.address, "127.0.0.1:8501");
        assert_eq!(o.docker, Endpoint::Unix("/tmp/docker.sock".into()));
        assert_eq!(
            (o.model.host_ip.as_str(), o.model.internal),
            ("10.1.1.1", true)
        );
        assert_eq!((o.resync, o.cleanup, o.retry_attempts), (30, true, -1));
        assert_eq!((o.model.ttl, o.ttl_refresh), (30, 10));
        assert_eq!(o.deregister, Deregister::OnSuccess);
        assert_eq!(o.retry_interval, Duration::from_millis(2000));

        assert!(parse(&args(&[])).is_err(), "the URI is required");
        assert!(
            parse(&args(&["consul://a:1", "-ip", "x"])).is_err(),
            "flags first"
        );
        assert!(parse(&args(&["-resync", "x", "consul://a:1"])).is_err());
        for bad in [
            &["-ttl", "10", "consul://a:1"][..],
            &["-ttl", "10", "-ttl-refresh", "10", "consul://a:1"],
            &["-deregister", "never", "consul://a:1"],
            &["-retry-interval", "0", "consul://a:1"],
            &["etcd://a:1"],
            &["consul://a:1?prefix=x"],
        ] {
            assert!(parse(&args(bad)).unwrap().is_err(), "{bad:?}");
        }
        let tls = parse(&args(&["consul-tls://c:8501"])).unwrap().unwrap();
        assert_eq!(tls.consul.address, "https://c:8501");
    }
}
