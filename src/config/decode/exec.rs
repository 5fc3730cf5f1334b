//! `exec` blocks (the top-level supervised child, and a template's command) and their `env`.

use super::{names, Body, Cx};
use crate::config::{EnvConfig, ExecConfig, Result};

pub(super) fn decode_exec(cx: &Cx, path: &str, body: &Body) -> Result<ExecConfig> {
    let mut e = ExecConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "command" => e.command = Some(cx.command(k, &p, v)?),
            "enabled" => e.enabled = Some(cx.boolean(k, &p, v)?),
            "env" => e.env = Some(decode_env(cx, &p, cx.block(k, &p, v)?)?),
            "kill_signal" => e.kill_signal = Some(cx.signal(k, &p, v)?),
            "kill_timeout" => e.kill_timeout = Some(cx.duration(k, &p, v)?),
            "reload_signal" => e.reload_signal = Some(cx.signal(k, &p, v)?),
            "splay" => e.splay = Some(cx.duration(k, &p, v)?),
            "timeout" => e.timeout = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(e)
}

fn decode_env(cx: &Cx, path: &str, body: &Body) -> Result<EnvConfig> {
    let mut e = EnvConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let list = match name.as_str() {
            "pristine" => {
                e.pristine = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "custom" => &mut e.custom,
            "allowlist" | "whitelist" => &mut e.allowlist,
            "denylist" | "blacklist" => &mut e.denylist,
            _ => return Err(cx.unknown(k, path)),
        };
        cx.extend(list, k, &p, v)?;
    }
    Ok(e)
}
