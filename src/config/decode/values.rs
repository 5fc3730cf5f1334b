//! Typed values as mapstructure converts them: strings, booleans, integers (a whole float is
//! accepted), durations, signal names, string lists, commands, waits, file modes and blocks.

use std::time::Duration;

use super::{names, Body, Cx};
use crate::config::hcl::{Key, Node};
use crate::config::{command_from_string, parse_wait, signal, Command, Result, Tree, WaitConfig};

impl Cx<'_> {
    pub(super) fn string(&self, key: &Key, path: &str, v: &Node) -> Result<String> {
        match v {
            Tree::Str(s) => Ok(s.clone()),
            _ => Err(self.expected(key, path, "a string", v)),
        }
    }

    pub(super) fn boolean(&self, key: &Key, path: &str, v: &Node) -> Result<bool> {
        match v {
            Tree::Bool(b) => Ok(*b),
            _ => Err(self.expected(key, path, "true or false", v)),
        }
    }

    /// An integer; a float without fraction (JSON `5.0`) is accepted as mapstructure does.
    pub(super) fn integer(&self, key: &Key, path: &str, v: &Node) -> Result<i64> {
        match v {
            Tree::Int(i) => Ok(*i),
            Tree::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
            _ => Err(self.expected(key, path, "a number", v)),
        }
    }

    pub(super) fn unsigned<T: TryFrom<i64>>(&self, key: &Key, path: &str, v: &Node) -> Result<T> {
        let i = self.integer(key, path, v)?;
        T::try_from(i).map_err(|_| self.fail(key, path, format!("{i} is out of range")))
    }

    /// `"1m30s"`; an integer is nanoseconds (Go's `time.Duration`), which makes `0` work.
    pub(super) fn duration(&self, key: &Key, path: &str, v: &Node) -> Result<Duration> {
        match v {
            Tree::Str(s) => crate::duration::parse(s).map_err(|e| self.fail(key, path, e)),
            Tree::Int(_) | Tree::Float(_) => {
                let nanos: u64 = self.unsigned(key, path, v)?;
                Ok(Duration::from_nanos(nanos))
            }
            _ => Err(self.expected(key, path, "a duration such as \"5s\"", v)),
        }
    }

    pub(super) fn signal(&self, key: &Key, path: &str, v: &Node) -> Result<String> {
        let name = self.string(key, path, v)?;
        signal(&name).map_err(|e| self.fail(key, path, e))
    }

    /// A list of strings, or one string split on commas (`""` is the empty list).
    pub(super) fn strings(&self, key: &Key, path: &str, v: &Node) -> Result<Vec<String>> {
        match v {
            Tree::Str(s) if s.is_empty() => Ok(Vec::new()),
            Tree::Str(s) => Ok(s.split(',').map(String::from).collect()),
            Tree::List(items) => items.iter().map(|i| self.string(key, path, i)).collect(),
            _ => Err(self.expected(key, path, "a list of strings", v)),
        }
    }

    /// HCL1 concatenates a list attribute given twice; a string replaces.
    pub(super) fn extend(
        &self,
        dst: &mut Vec<String>,
        key: &Key,
        path: &str,
        v: &Node,
    ) -> Result<()> {
        let items = self.strings(key, path, v)?;
        if !matches!(v, Tree::List(_)) {
            dst.clear();
        }
        dst.extend(items);
        Ok(())
    }

    pub(super) fn command(&self, key: &Key, path: &str, v: &Node) -> Result<Command> {
        match v {
            Tree::Str(s) => Ok(command_from_string(s)),
            Tree::List(_) => Ok(Command::Argv(self.strings(key, path, v)?)),
            _ => Err(self.expected(key, path, "a command (a string or a list)", v)),
        }
    }

    /// `"MIN[:MAX]"` or `{ min max }`.
    pub(super) fn wait(&self, key: &Key, path: &str, v: &Node) -> Result<WaitConfig> {
        if let Tree::Str(s) = v {
            return parse_wait(s).map_err(|e| self.fail(key, path, e));
        }
        let what = "\"MIN:MAX\" or a block";
        let body = self.block_as(key, path, v, what)?;
        let mut w = WaitConfig::default();
        for (k, v) in body {
            let (name, p) = names(path, k);
            match name.as_str() {
                "min" => w.min = Some(self.duration(k, &p, v)?),
                "max" => w.max = Some(self.duration(k, &p, v)?),
                _ => return Err(self.unknown(k, path)),
            }
        }
        Ok(w)
    }

    /// A file mode: an integer as written (`0600` is octal in HCL1, `600` is decimal 600 =
    /// 0o1130!), or a string parsed as octal (`"0600"`, `"600"`), at most 0o7777.
    pub(super) fn perms(&self, key: &Key, path: &str, v: &Node) -> Result<u32> {
        let mode = match v {
            Tree::Str(s) if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
                u32::from_str_radix(s, 8).ok()
            }
            Tree::Int(_) | Tree::Float(_) => self
                .integer(key, path, v)
                .ok()
                .and_then(|i| u32::try_from(i).ok()),
            Tree::Str(_) => None,
            _ => return Err(self.expected(key, path, "a file mode such as 0644", v)),
        };
        match mode {
            Some(m) if m <= 0o7777 => Ok(m),
            _ => Err(self.expected(key, path, "a file mode between 0000 and 07777", v)),
        }
    }

    pub(super) fn block<'n>(&self, key: &Key, path: &str, v: &'n Node) -> Result<&'n Body> {
        self.block_as(key, path, v, "a block")
    }

    /// A block's body. A list of blocks (JSON arrays, HCL `k = [{…}, {…}]`) keeps the last one,
    /// as consul-template's `flattenKeys` does with repeated blocks.
    pub(super) fn block_as<'n>(
        &self,
        key: &Key,
        path: &str,
        v: &'n Node,
        what: &str,
    ) -> Result<&'n Body> {
        match v {
            Tree::Object(body) => Ok(body),
            Tree::List(items) => match items.last() {
                Some(last @ Tree::Object(_))
                    if items.iter().all(|i| matches!(i, Tree::Object(_))) =>
                {
                    self.block_as(key, path, last, what)
                }
                _ => Err(self.expected(key, path, what, v)),
            },
            _ => Err(self.expected(key, path, what, v)),
        }
    }

    /// Every block of a repeatable key (`template`).
    pub(super) fn blocks<'n>(&self, key: &Key, path: &str, v: &'n Node) -> Result<Vec<&'n Body>> {
        match v {
            Tree::Object(body) => Ok(vec![body]),
            Tree::List(items) => items.iter().map(|i| self.block(key, path, i)).collect(),
            _ => Err(self.expected(key, path, "a block", v)),
        }
    }
}
