//! `writeToFile PATH USER GROUP PERMS [FLAGS] CONTENT`: writes (or appends to) a file, creating
//! its directory, refusing symlinks, then sets owner and mode as consul-template does.

use super::path_error;
use crate::gotmpl::{printf, Arity, FuncError, FuncMap, Value};
use crate::template::funcs::strconv::go_parse_uint;
use crate::template::funcs::{bytes_arg, def};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "writeToFile", Arity::AtLeast(4), |a| {
        let strs = a
            .iter()
            .map(|v| bytes_arg(v).map(<[u8]>::to_vec))
            .collect::<Result<Vec<_>, _>>()?;
        write_to_file(&strs)
            .map(|()| Value::str(""))
            .map_err(FuncError)
    });
}

/// consul-template's `writeToFile PATH USER GROUP PERMS [FLAGS] CONTENT`.
pub(super) fn write_to_file(args: &[Vec<u8>]) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&args[0]));
    let (user, group, perms) = (text(&args[1]), text(&args[2]), text(&args[3]));
    let rest = &args[4..];
    let Some(content) = rest.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let flags = if rest.len() == 2 {
        text(&rest[0])
    } else {
        String::new()
    };
    let mode = go_parse_uint(&perms, 8, 32, "ParseUint")? as u32;
    let append = flags.contains("append");
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if !append && std::fs::metadata(dir).is_err() {
            std::fs::create_dir_all(dir).map_err(|e| path_error("mkdir", dir, &e))?;
        }
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "writeToFile: parent directory {} is a symlink",
                printf::quote(&dir.to_string_lossy())
            ));
        }
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "writeToFile: refusing to write to symlink {}",
            printf::quote(&path.to_string_lossy())
        ));
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).mode(mode);
    if append {
        open.append(true);
    } else {
        open.truncate(true);
    }
    // No-follow closes the window between the check above and the open.
    let mut file = open
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| path_error("open", path, &e))?;
    let mut data = content.clone();
    if flags.contains("newline") {
        data.push(b'\n');
    }
    std::io::Write::write_all(&mut file, &data).map_err(|e| path_error("write", path, &e))?;
    if !user.is_empty() || !group.is_empty() {
        let uid = owner_id(&user, "/etc/passwd", "user: unknown user")?;
        let gid = owner_id(&group, "/etc/group", "group: unknown group")?;
        std::os::unix::fs::fchown(&file, uid, gid).map_err(|e| path_error("chown", path, &e))?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| path_error("chmod", path, &e))
}

/// A user or group given by name (looked up in `db`, as Go's pure `os/user` does) or numeric
/// id; empty keeps the current one. `unknown` starts the message for a name not found.
fn owner_id(name: &str, db: &str, unknown: &str) -> Result<Option<u32>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    let by_name = std::fs::read_to_string(db).ok().and_then(|text| {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[0] == name)
            .and_then(|f| f[2].parse().ok())
    });
    by_name
        .or_else(|| name.parse().ok())
        .map(Some)
        .ok_or_else(|| format!("{unknown} {name}"))
}
