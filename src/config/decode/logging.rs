//! The `syslog` and `log_file` blocks.

use super::{names, Body, Cx};
use crate::config::{LogFileConfig, Result, SyslogConfig};

pub(super) fn decode_syslog(cx: &Cx, path: &str, body: &Body) -> Result<SyslogConfig> {
    let mut s = SyslogConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => s.enabled = Some(cx.boolean(k, &p, v)?),
            "facility" => s.facility = Some(cx.string(k, &p, v)?),
            "name" => s.name = Some(cx.string(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(s)
}

pub(super) fn decode_log_file(cx: &Cx, path: &str, body: &Body) -> Result<LogFileConfig> {
    let mut l = LogFileConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "path" => l.path = Some(cx.string(k, &p, v)?),
            "log_rotate_bytes" => l.log_rotate_bytes = Some(cx.unsigned(k, &p, v)?),
            "log_rotate_duration" => l.log_rotate_duration = Some(cx.duration(k, &p, v)?),
            "log_rotate_max_files" => l.log_rotate_max_files = Some(cx.integer(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(l)
}
