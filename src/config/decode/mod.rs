//! Tree → [`Config`], with mapstructure's rules as consul-template configures them: unknown
//! keys are errors; keys match case-insensitively; strings become lists by splitting on commas;
//! durations are Go durations (a bare integer is nanoseconds); no other type conversion.
//!
//! [`Cx`] carries the file name into every error (`file:line:col: key.path: message`) and reads
//! typed values (`values`); each block with keys of its own has its decoder in a file
//! (`consul`, `template`, `exec`, `logging`); the top level is here.

mod consul;
mod exec;
mod logging;
mod template;
mod values;

use std::fmt;

use super::hcl::{Key, Node};
use super::{Config, ConfigError, Result, Tree};

/// The decoding context: which file errors name.
pub(super) struct Cx<'a> {
    pub(super) file: &'a str,
}

type Body = [(Key, Node)];

/// The lower-cased key and its dotted path under `parent`.
fn names(parent: &str, key: &Key) -> (String, String) {
    let name = key.name.to_ascii_lowercase();
    let path = if parent.is_empty() {
        name.clone()
    } else {
        format!("{parent}.{name}")
    };
    (name, path)
}

impl Cx<'_> {
    fn fail(&self, key: &Key, path: &str, msg: impl fmt::Display) -> ConfigError {
        let at = if key.line > 0 {
            format!("{}:{}:{}", self.file, key.line, key.col)
        } else {
            self.file.to_string()
        };
        match path {
            "" => ConfigError(format!("{at}: {msg}")),
            _ => ConfigError(format!("{at}: {path}: {msg}")),
        }
    }

    fn unknown(&self, key: &Key, parent: &str) -> ConfigError {
        self.fail(key, parent, format!("unknown key {:?}", key.name))
    }

    fn expected(&self, key: &Key, path: &str, what: &str, v: &Node) -> ConfigError {
        self.fail(key, path, format!("expected {what}, got {}", v.describe()))
    }
}

/// The top level. Each entry is decoded in order, so a repeated block or scalar ends with the
/// last one; unlike consul-template we also report mistakes in the blocks that lose.
pub(super) fn decode_config(cx: &Cx, body: &Body) -> Result<Config> {
    let mut c = Config::default();
    for (k, v) in body {
        let (name, p) = names("", k);
        match name.as_str() {
            "consul" => c.consul = consul::decode_consul(cx, k, v)?,
            "template" => template::decode_templates(cx, k, v, &mut c.templates)?,
            "exec" => c.exec = Some(exec::decode_exec(cx, &p, cx.block(k, &p, v)?)?),
            "wait" => c.wait = Some(cx.wait(k, &p, v)?),
            "log_level" => c.log_level = Some(cx.string(k, &p, v)?),
            "pid_file" => c.pid_file = Some(cx.string(k, &p, v)?),
            "kill_signal" => c.kill_signal = Some(cx.signal(k, &p, v)?),
            "reload_signal" => c.reload_signal = Some(cx.signal(k, &p, v)?),
            "max_stale" => c.max_stale = Some(cx.duration(k, &p, v)?),
            "block_query_wait" => c.block_query_wait = Some(cx.duration(k, &p, v)?),
            "once" => c.once = Some(cx.boolean(k, &p, v)?),
            "parseonly" => c.parseonly = Some(cx.boolean(k, &p, v)?),
            "watch_templates" => c.watch_templates = Some(cx.boolean(k, &p, v)?),
            "template_error_fatal" => c.template_error_fatal = Some(cx.boolean(k, &p, v)?),
            "err_on_failed_lookup" => c.err_on_failed_lookup = Some(cx.boolean(k, &p, v)?),
            "default_delimiters" => c.default_delimiters = Some(decode_delims(cx, &p, k, v)?),
            "vault" => c.vault = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip()),
            "nomad" => c.nomad = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip()),
            "deduplicate" => {
                c.deduplicate = Some(Tree::Object(cx.block(k, &p, v)?.to_vec()).strip())
            }
            "syslog" => c.syslog = Some(logging::decode_syslog(cx, &p, cx.block(k, &p, v)?)?),
            "log_file" => c.log_file = Some(logging::decode_log_file(cx, &p, cx.block(k, &p, v)?)?),
            "status" => c.status_address = decode_status(cx, &p, k, v)?,
            _ => return Err(cx.unknown(k, "")),
        }
    }
    Ok(c)
}

/// ctmpl's `status { address = "127.0.0.1:9110" }`.
fn decode_status(cx: &Cx, path: &str, key: &Key, v: &Node) -> Result<Option<String>> {
    let mut address = None;
    for (k, v) in cx.block(key, path, v)? {
        let (name, p) = names(path, k);
        match name.as_str() {
            "address" => address = Some(cx.string(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(address)
}

fn decode_delims(cx: &Cx, path: &str, key: &Key, v: &Node) -> Result<(String, String)> {
    let (mut left, mut right) = ("{{".to_string(), "}}".to_string());
    for (k, v) in cx.block(key, path, v)? {
        let (name, p) = names(path, k);
        match name.as_str() {
            "left" => left = cx.string(k, &p, v)?,
            "right" => right = cx.string(k, &p, v)?,
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok((left, right))
}
