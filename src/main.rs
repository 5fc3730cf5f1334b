//! The `ctmpl` binary: dispatches subcommands and maps every error to an exit status in one place.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("render") => {
            ctmpl::render::run(&args[1..]).map_err(|e| (e.exit_code(), e.to_string()))
        }
        Some("agent") => ctmpl::agent::run(&args[1..]).map_err(|e| (1, format!("==> {e}"))),
        // Registrator's exit codes: 2 for usage, 1 for the rest.
        Some("registrator") => ctmpl::registrator::run(&args[1..]),
        Some("join") => ctmpl::agent::commands::join(&args[1..]).map_err(|e| (1, e)),
        Some("members") => ctmpl::agent::commands::members(&args[1..]).map_err(|e| (1, e)),
        Some("-v" | "--v" | "-version" | "--version") => {
            println!("ctmpl v{}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(first) if first.starts_with('-') => ctmpl::cli::consul_template::main(&args),
        _ => Err((
            13,
            "usage: ctmpl [consul-template flags] | ctmpl render [flags] TEMPLATE | ctmpl agent [flags] | ctmpl join ADDR... | ctmpl members | ctmpl registrator [flags] consul://HOST:PORT"
                .to_string(),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code as u8)
        }
    }
}
