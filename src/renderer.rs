//! Putting rendered contents in place: only when the bytes (or the mode) differ, atomically (a
//! temporary file in the destination's folder, fsync, rename, fsync of the folder), with
//! consul-template's perms, `.bak` backup and parent-folder rules.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How a destination is written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderOptions {
    /// Mode for the file; `None` keeps the existing file's, else 0644.
    pub perms: Option<u32>,
    /// Hard-link the replaced file to `DEST.bak` first.
    pub backup: bool,
    /// Make missing parent folders (0755).
    pub create_dest_dirs: bool,
}

/// What happened to a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The file changed on disk.
    pub changed: bool,
    /// What it held before, when it changed (to restore it if a check fails).
    pub previous: Option<Vec<u8>>,
}

fn err(path: &Path, what: &str, e: std::io::Error) -> String {
    format!("{}: {what}: {e}", path.display())
}

/// Writes `contents` to `dest` unless it already holds exactly that with the wanted mode.
pub fn render(dest: &Path, contents: &[u8], opts: &RenderOptions) -> Result<Written, String> {
    let existing = match fs::read(dest) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err(dest, "read", e)),
    };
    let current_mode = fs::metadata(dest)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let mode = opts.perms.or(current_mode).unwrap_or(0o644);
    if existing.as_deref() == Some(contents) && current_mode == Some(mode) {
        return Ok(Written {
            changed: false,
            previous: None,
        });
    }
    let dir = parent(dest);
    if !dir.exists() {
        if !opts.create_dest_dirs {
            return Err(format!("{}: parent folder does not exist", dest.display()));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| err(&dir, "create folder", e))?;
    }
    if opts.backup && existing.is_some() {
        backup(dest)?;
    }
    replace(dest, contents, mode)?;
    Ok(Written {
        changed: true,
        previous: existing,
    })
}

/// Puts `previous` back (or removes the file if there was none), atomically.
pub fn restore(dest: &Path, previous: Option<&[u8]>) -> Result<(), String> {
    match previous {
        Some(bytes) => {
            let mode = fs::metadata(dest)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o644);
            replace(dest, bytes, mode)
        }
        None => fs::remove_file(dest).map_err(|e| err(dest, "remove", e)),
    }
}

fn parent(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Temporary file beside the destination, fsynced, renamed over it, folder fsynced: a reader
/// or a crash sees the old file or the new one, never a part.
fn replace(dest: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let dir = parent(dest);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A random part from the OS (a v4 UUID's hex), so concurrent writers never share a name.
    let tmp = dir.join(format!(
        ".{name}.ctmpl-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| err(&tmp, "create", e))?;
        f.write_all(contents).map_err(|e| err(&tmp, "write", e))?;
        // The mode given at creation is masked by the umask; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| err(&tmp, "chmod", e))?;
        f.sync_all().map_err(|e| err(&tmp, "fsync", e))?;
        fs::rename(&tmp, dest).map_err(|e| err(dest, "rename", e))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| err(&dir, "fsync folder", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// One generation of backup: `DEST.bak` is a hard link to the file being replaced.
fn backup(dest: &Path) -> Result<(), String> {
    let bak = PathBuf::from(format!("{}.bak", dest.display()));
    let old_bak = PathBuf::from(format!("{}.old.bak", dest.display()));
    if bak.exists() {
        fs::rename(&bak, &old_bak).map_err(|e| err(&bak, "rename backup", e))?;
    }
    fs::hard_link(dest, &bak).map_err(|e| err(&bak, "backup", e))?;
    let _ = fs::remove_file(&old_bak);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_changes_with_perms_and_backup() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/out.conf");
        let opts = RenderOptions {
            perms: Some(0o600),
            backup: true,
            create_dest_dirs: true,
        };
        let w = render(&dest, b"one", &opts).unwrap();
        assert_eq!(
            w,
            Written {
                changed: true,
                previous: None
            }
        );
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            !render(&dest, b"one", &opts).unwrap().changed,
            "same bytes, same mode"
        );
        let w = render(&dest, b"two", &opts).unwrap();
        assert_eq!(w.previous.as_deref(), Some(&b"one"[..]));
        assert_eq!(fs::read(format!("{}.bak", dest.display())).unwrap(), b"one");
        restore(&dest, w.previous.as_deref()).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        // Only the destination and its backup: no temporary files left behind.
        let names: Vec<String> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let missing = dir.path().join("nope/out");
        assert!(render(&missing, b"x", &RenderOptions::default()).is_err());
    }

    #[test]
    fn a_mode_change_alone_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        render(
            &dest,
            b"x",
            &RenderOptions {
                perms: Some(0o644),
                ..Default::default()
            },
        )
        .unwrap();
        let w = render(
            &dest,
            b"x",
            &RenderOptions {
                perms: Some(0o640),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(w.changed);
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
