//! The `ctmpl` command line: one module per command, all over Go's `flag` rules (`flags`), and
//! [`main`], which picks the command and gives every failure its exit status in one place.
//!
//! `consul_template` is `ctmpl [flags]` (consul-template's own command line), `render` the Go
//! template checker, `agent` the Consul-compatible agent, `join` and `members` Consul's CLI
//! commands of those names, `registrator` gliderlabs/registrator's; `help` and `completion`
//! print what each command's [`help::Command`] says. Every command answers `-h`, `-help` and
//! `--help` here, before its own parser runs, with the usage generated from its flag table.

pub mod agent;
pub mod completion;
pub mod consul_template;
pub mod flags;
pub mod help;
pub mod join;
pub mod members;
pub mod registrator;
pub mod render;

use help::Command;

const HELP: Command = Command {
    name: "help",
    synopsis: "Shows the commands, or one command's usage",
    usage: "ctmpl help [COMMAND]",
    about: "  Without COMMAND, lists the commands; with one, prints its flags as `ctmpl COMMAND -h`\n  \
            does.",
    flags: &[],
    notes: "",
};

const VERSION: Command = Command {
    name: "version",
    synopsis: "Prints the ctmpl version",
    usage: "ctmpl version",
    about: "  Prints the version, as `ctmpl -v` and `ctmpl -version` do.",
    flags: &[],
    notes: "",
};

const COMPLETION: Command = Command {
    name: "completion",
    synopsis: "Prints a shell completion script (bash, zsh or fish)",
    usage: "ctmpl completion bash|zsh|fish",
    about: "  Prints a completion script for the shell: commands, then each command's flags.",
    flags: &[],
    notes: "Install:\n\n  \
            bash: ctmpl completion bash > /etc/bash_completion.d/ctmpl   (or: source <(ctmpl completion bash))\n  \
            zsh:  ctmpl completion zsh > \"${fpath[1]}/_ctmpl\"   (or, after compinit: source <(ctmpl completion zsh))\n  \
            fish: ctmpl completion fish > ~/.config/fish/completions/ctmpl.fish",
};

/// Every command, consul-template's own (no name) first; `ctmpl help` lists them in this order.
pub fn commands() -> [&'static Command; 9] {
    [
        &consul_template::COMMAND,
        &agent::COMMAND,
        &render::COMMAND,
        &join::COMMAND,
        &members::COMMAND,
        &registrator::COMMAND,
        &COMPLETION,
        &HELP,
        &VERSION,
    ]
}

fn find(name: &str) -> Option<&'static Command> {
    commands().into_iter().find(|c| c.name == name)
}

fn print_version() {
    println!("ctmpl v{}", env!("CARGO_PKG_VERSION"));
}

/// Runs the command `args` (without the program name) names. The error is the exit status and
/// the message for stderr.
pub fn main(args: &[String]) -> Result<(), (i32, String)> {
    let rest = args.get(1..).unwrap_or_default();
    let first = args.first().map(String::as_str);
    let named = first.and_then(find);
    let (cmd, cmd_args) = match named {
        Some(c) => (c, rest),
        None => (&consul_template::COMMAND, args),
    };
    if (named.is_some() || first.is_some_and(|f| f.starts_with('-')))
        && flags::wants_help(cmd_args, cmd.flags)
    {
        print!("{}", help::usage(cmd));
        return Ok(());
    }
    match first {
        Some("help") => help_command(rest),
        Some("version") => {
            no_arguments("version", rest)?;
            print_version();
            Ok(())
        }
        Some("completion") => match rest {
            [shell] => completion::script(shell, &commands())
                .map(|script| print!("{script}"))
                .map_err(|e| (1, e)),
            _ => Err((1, format!("usage: {}", COMPLETION.usage))),
        },
        Some("render") => render::run(rest).map_err(|e| (e.exit_code(), e.to_string())),
        Some("agent") => agent::run(rest).map_err(|e| (1, format!("==> {e}"))),
        // Registrator's exit codes: 2 for usage, 1 for the rest.
        Some("registrator") => registrator::run(rest),
        Some("join") => join::run(rest).map_err(|e| (1, e)),
        Some("members") => members::run(rest).map_err(|e| (1, e)),
        Some("-v" | "--v" | "-version" | "--version") => {
            print_version();
            Ok(())
        }
        Some(first) if first.starts_with('-') => consul_template::main(args),
        Some(other) => Err((
            13,
            format!(
                "ctmpl: unknown command {other:?}\n\n{}",
                help::overview(&commands())
            ),
        )),
        None => Err((13, help::overview(&commands()))),
    }
}

/// `ctmpl help [COMMAND]`.
fn help_command(args: &[String]) -> Result<(), (i32, String)> {
    match args {
        [] => print!("{}", help::overview(&commands())),
        [name] => match find(name) {
            Some(cmd) => print!("{}", help::usage(cmd)),
            None => {
                return Err((
                    1,
                    format!(
                        "ctmpl help: unknown command {name:?}\n\n{}",
                        help::overview(&commands())
                    ),
                ))
            }
        },
        _ => return Err((1, format!("usage: {}", HELP.usage))),
    }
    Ok(())
}

fn no_arguments(command: &str, args: &[String]) -> Result<(), (i32, String)> {
    match args.first() {
        Some(extra) => Err((1, format!("ctmpl {command}: unexpected argument {extra:?}"))),
        None => Ok(()),
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
