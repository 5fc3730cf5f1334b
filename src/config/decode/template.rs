//! `template` blocks: repeatable (each block, or each object of a list, is one template), each
//! needing exactly one of `source` and `contents`.

use super::exec::decode_exec;
use super::{names, Body, Cx};
use crate::config::hcl::{Key, Node};
use crate::config::{Result, TemplateConfig, Tree};

/// Each `template` block (or each object of a `template` list) is one template. Errors name
/// the template by the position of its `template` key, or by index where there is none (JSON).
pub(super) fn decode_templates(
    cx: &Cx,
    key: &Key,
    v: &Node,
    out: &mut Vec<TemplateConfig>,
) -> Result<()> {
    let bodies = cx.blocks(key, "template", v)?;
    let single = matches!(v, Tree::Object(_)) && key.line > 0;
    for (i, body) in bodies.into_iter().enumerate() {
        let path = if single {
            "template".to_string()
        } else {
            format!("template[{i}]")
        };
        let t = decode_template(cx, &path, body)?;
        let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        let problem = match (given(&t.source), given(&t.contents)) {
            (true, true) => Some("both are"),
            (false, false) => Some("neither is"),
            _ => None,
        };
        if let Some(problem) = problem {
            let msg = format!("exactly one of \"source\" and \"contents\" must be set ({problem})");
            return Err(cx.fail(key, &path, msg));
        }
        out.push(t);
    }
    Ok(())
}

fn decode_template(cx: &Cx, path: &str, body: &Body) -> Result<TemplateConfig> {
    let mut t = TemplateConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let string_field = match name.as_str() {
            "source" => Some(&mut t.source),
            "contents" => Some(&mut t.contents),
            "destination" => Some(&mut t.destination),
            "user" => Some(&mut t.user),
            "group" => Some(&mut t.group),
            "left_delimiter" => Some(&mut t.left_delimiter),
            "right_delimiter" => Some(&mut t.right_delimiter),
            "sandbox_path" => Some(&mut t.sandbox_path),
            "engine" => Some(&mut t.engine),
            _ => None,
        };
        if let Some(field) = string_field {
            *field = Some(cx.string(k, &p, v)?);
            continue;
        }
        match name.as_str() {
            "create_dest_dirs" => t.create_dest_dirs = Some(cx.boolean(k, &p, v)?),
            "backup" => t.backup = Some(cx.boolean(k, &p, v)?),
            "error_on_missing_key" => t.error_on_missing_key = Some(cx.boolean(k, &p, v)?),
            "error_fatal" => t.error_fatal = Some(cx.boolean(k, &p, v)?),
            "perms" => t.perms = Some(cx.perms(k, &p, v)?),
            "uid" => t.uid = Some(cx.unsigned(k, &p, v)?),
            "gid" => t.gid = Some(cx.unsigned(k, &p, v)?),
            "function_denylist" | "function_blacklist" => {
                cx.extend(&mut t.function_denylist, k, &p, v)?
            }
            "wait" => t.wait = Some(cx.wait(k, &p, v)?),
            "command" => t.command = Some(cx.command(k, &p, v)?),
            "command_timeout" => t.command_timeout = Some(cx.duration(k, &p, v)?),
            "check_command" => t.check_command = Some(cx.command(k, &p, v)?),
            "exec" => t.exec = Some(decode_exec(cx, &p, cx.block(k, &p, v)?)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(t)
}
