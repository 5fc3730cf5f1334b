//! The `ctmpl` binary: `ctmpl::cli::main` runs the command; a failure is printed to stderr and
//! becomes the exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match ctmpl::cli::main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code as u8)
        }
    }
}
