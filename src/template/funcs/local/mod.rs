//! Local functions: what reads or changes this machine rather than Consul data — `env` and
//! friends, `timestamp`, `plugin`, `writeToFile`, the `spew_*` dumps and `sockaddr`; one file
//! each, and Go's wording of OS errors that they share.

mod env;
mod file;
pub(super) mod gotime;
mod plugin;
mod sockaddr;
mod spew;
mod time;

use crate::gotmpl::FuncMap;

pub use env::register_env;
#[cfg(test)]
pub(super) use {plugin::run_plugin, time::format_time, time::RFC3339};

pub(super) fn register(funcs: &mut FuncMap) {
    time::register(funcs);
    plugin::register(funcs);
    file::register(funcs);
    spew::register(funcs);
    sockaddr::register(funcs);
}

/// An OS error as Go's `syscall.Errno` prints it (the C message, lower-cased first letter).
fn go_errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Go's `*PathError` text.
fn path_error(op: &str, path: &std::path::Path, e: &std::io::Error) -> String {
    format!("{op} {}: {}", path.display(), go_errno(e))
}
