//! consul-template's configuration files: an HCL v1 parser of our own (`hcl`), JSON input, the
//! config model with consul-template's keys and merging (`model`), decoding per block
//! (`decode`), and loading files or directories (`load`).
//!
//! Layers: text → [`Tree`] (objects keep repeated keys in order, each key with its position) →
//! [`Config`] (consul-template's keys with mapstructure's rules: unknown keys are errors, a
//! repeated block keeps the last one, `template` blocks accumulate). Callers use the re-exports
//! below: `crate::config::{Config, parse_hcl, to_signal, …}`.

mod decode;
pub mod hcl;
mod load;
mod model;

use std::fmt;

pub use hcl::{parse_any, parse_hcl, parse_json, Hcl, Tree};
pub use model::{
    command_from_string, parse_wait, signal, to_signal, AuthConfig, Command, Config, ConsulConfig,
    EnvConfig, ExecConfig, LogFileConfig, RetryConfig, SslConfig, SyslogConfig, TemplateConfig,
    TransportConfig, WaitConfig, SIGNALS,
};

/// A configuration error, already formatted as `file[:line:col]: [key.path: ]message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

type Result<T> = std::result::Result<T, ConfigError>;

#[cfg(test)]
mod tests;
