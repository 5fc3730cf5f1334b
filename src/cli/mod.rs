//! The `ctmpl` command line: one module per command, all over Go's `flag` rules (`flags`), and
//! [`main`], which picks the command and gives every failure its exit status in one place.
//!
//! `consul_template` is `ctmpl [flags]` (consul-template's own command line), `render` the Go
//! template checker, `agent` the Consul-compatible agent, `join` and `members` Consul's CLI
//! commands of those names, `registrator` gliderlabs/registrator's.

pub mod agent;
pub mod consul_template;
pub mod flags;
pub mod join;
pub mod members;
pub mod registrator;
pub mod render;

/// Usage for a command line that names no command.
const USAGE: &str = "usage: ctmpl [consul-template flags] | ctmpl render [flags] TEMPLATE | ctmpl agent [flags] | ctmpl join ADDR... | ctmpl members | ctmpl registrator [flags] consul://HOST:PORT";

/// Runs the command `args` (without the program name) names. The error is the exit status and
/// the message for stderr.
pub fn main(args: &[String]) -> Result<(), (i32, String)> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("render") => render::run(rest).map_err(|e| (e.exit_code(), e.to_string())),
        Some("agent") => agent::run(rest).map_err(|e| (1, format!("==> {e}"))),
        // Registrator's exit codes: 2 for usage, 1 for the rest.
        Some("registrator") => registrator::run(rest),
        Some("join") => join::run(rest).map_err(|e| (1, e)),
        Some("members") => members::run(rest).map_err(|e| (1, e)),
        Some("-v" | "--v" | "-version" | "--version") => {
            println!("ctmpl v{}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(first) if first.starts_with('-') => consul_template::main(args),
        _ => Err((13, USAGE.to_string())),
    }
}

/// The agent's HTTP address as Consul's CLI finds it: `-http-addr`, else `CONSUL_HTTP_ADDR`,
/// else 127.0.0.1:8500; `http://` unless a scheme is given.
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

/// A single-threaded runtime for a command's few HTTP requests.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}
