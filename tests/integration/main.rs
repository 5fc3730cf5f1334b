//! Integration tests: they run the real `ctmpl` binary.

mod acl;
mod agent;
mod agent_limits;
mod bench_template;
mod budget;
mod chaos;
mod cluster;
mod compat;
mod config_watch;
mod ct_golden;
mod datacenters;
mod devcluster;
mod golden;
mod h2client;
mod help;
mod jinja;
mod logs;
mod metrics;
mod nginx;
mod registrator;
mod render_cli;
mod robustness;
mod runner;
mod sprig_certs;
mod strangers;
mod support;
mod template;
mod transport;
mod ui;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The built `ctmpl` executable.
pub fn ctmpl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctmpl"))
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
