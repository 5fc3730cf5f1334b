//! Loading: one document, a file, or a directory walked as consul-template walks it.

use std::fs;
use std::path::{Path, PathBuf};

use super::decode::{decode_config, Cx};
use super::hcl::entries;
use super::{Config, ConfigError, Result};

impl Config {
    /// Parses one document (HCL, or JSON when it starts with `{`); `name` labels errors.
    pub fn parse(name: &str, text: &str) -> Result<Config> {
        decode_config(&Cx { file: name }, &entries(name, text)?)
    }

    /// A file, or a directory walked recursively in lexical order (every file is parsed, hidden
    /// ones included; symbolic links are read as files, never walked as directories, so a link
    /// to a directory is an error as in consul-template), merged in order.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let io_err = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
        let meta = fs::metadata(path).map_err(io_err)?;
        if meta.is_file() {
            return Config::from_file(path);
        }
        if !meta.is_dir() {
            let msg = format!("{}: not a regular file or directory", path.display());
            return Err(ConfigError(msg));
        }
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files.iter().try_fold(Config::default(), |acc, f| {
            Ok(acc.merge(Config::from_file(f)?))
        })
    }

    fn from_file(path: &Path) -> Result<Config> {
        let name = path.display().to_string();
        let text = fs::read_to_string(path).map_err(|e| ConfigError(format!("{name}: {e}")))?;
        Config::parse(&name, &text)
    }
}

/// Files under `dir`, depth first, each directory's entries in byte order of their names (Go's
/// `filepath.Walk`). Entries are not followed when they are symbolic links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io_err = |p: &Path, e: std::io::Error| ConfigError(format!("{}: {e}", p.display()));
    let mut entries = fs::read_dir(dir)
        .and_then(|rd| rd.collect::<std::io::Result<Vec<_>>>())
        .map_err(|e| io_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io_err(&path, e))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
