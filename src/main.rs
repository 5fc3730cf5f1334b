//! The `ctmpl` binary: `ctmpl::cli::main` runs the command; a failure is printed to stderr and
//! becomes the exit status.

use std::process::ExitCode;

/// mimalloc: templates and catalog answers are many small, short-lived allocations, where
/// glibc's malloc and free took a sixth of a render's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
