//! The write path of a single server: commands get the next log index, are appended to a
//! durable log (one fsync per batch of concurrent writes), then applied to the catalog. The data
//! dir holds `catalog.snapshot` (the state at some index) and `catalog.log` (commands after it).
//! In `-dev` mode nothing is written.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::catalog::{Catalog, Command, Outcome, State};

/// Entries in the log before it is folded into a new snapshot.
const SNAPSHOT_EVERY: usize = 8192;
/// Most commands one fsync covers.
const MAX_BATCH: usize = 512;

#[derive(Serialize, Deserialize)]
struct Entry {
    index: u64,
    command: Command,
}

/// Appends commands to `catalog.log` and folds them into `catalog.snapshot`.
struct Log {
    dir: PathBuf,
    file: File,
    since_snapshot: usize,
}

impl Log {
    /// Opens the log in `dir`, returning it with the state it holds.
    fn open(dir: &Path) -> Result<(Log, State), String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let snap_path = dir.join("catalog.snapshot");
        let mut state = match fs::read(&snap_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: corrupt snapshot: {e}", snap_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(format!("{}: {e}", snap_path.display())),
        };
        let log_path = dir.join("catalog.log");
        let mut since_snapshot = 0;
        if let Ok(file) = File::open(&log_path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                // A torn last line (crash mid-write) was never acknowledged: stop there.
                let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                    break;
                };
                if entry.index > state.index {
                    state.apply(entry.index, &entry.command);
                    since_snapshot += 1;
                }
            }
        }
        let mut log = Log {
            dir: dir.to_path_buf(),
            file: open_append(&log_path)?,
            since_snapshot,
        };
        // Start from a clean log: what it held is now in the snapshot.
        log.snapshot(&state)?;
        Ok((log, state))
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        let mut buf = Vec::new();
        for e in entries {
            serde_json::to_writer(&mut buf, e).map_err(|e| e.to_string())?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| e.to_string())?;
        self.since_snapshot += entries.len();
        Ok(())
    }

    /// Writes the state atomically as the new snapshot, then empties the log.
    fn snapshot(&mut self, state: &State) -> Result<(), String> {
        let bytes = serde_json::to_vec(state).map_err(|e| e.to_string())?;
        write_atomically(&self.dir.join("catalog.snapshot"), &bytes)?;
        let log_path = self.dir.join("catalog.log");
        self.file = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        self.file.sync_all().map_err(|e| e.to_string())?;
        self.file = open_append(&log_path)?;
        self.since_snapshot = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a file so that a reader or a crash sees the old or the new contents, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = File::create(&tmp).map_err(err)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)?;
    fs::rename(&tmp, path).map_err(err)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(err)
}

type Pending = (Command, oneshot::Sender<Result<Outcome, String>>);

/// The catalog and the way to change it.
#[derive(Clone)]
pub struct Store {
    pub catalog: Arc<Catalog>,
    writes: mpsc::Sender<Pending>,
}

impl Store {
    /// A store kept in `data_dir`, or in memory only when there is none.
    pub fn open(data_dir: Option<&Path>) -> Result<Store, String> {
        let (log, state) = match data_dir {
            Some(dir) => {
                let (log, state) = Log::open(dir)?;
                (Some(log), state)
            }
            None => (None, State::default()),
        };
        let catalog = Arc::new(Catalog::new(state));
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(write_loop(catalog.clone(), log, rx));
        Ok(Store {
            catalog,
            writes: tx,
        })
    }

    /// Commits a command and applies it; the answer comes once it is durable and visible.
    pub async fn write(&self, cmd: Command) -> Result<Outcome, String> {
        let (tx, rx) = oneshot::channel();
        self.writes
            .send((cmd, tx))
            .await
            .map_err(|_| "store is shut down".to_string())?;
        rx.await.map_err(|_| "store is shut down".to_string())?
    }
}

/// One task owns the log: it takes whatever writes are waiting, makes them durable with one
/// fsync, then applies them in index order.
async fn write_loop(catalog: Arc<Catalog>, mut log: Option<Log>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let base = catalog.last_index();
        let entries: Vec<Entry> = batch
            .iter()
            .enumerate()
            .map(|(i, (cmd, _))| Entry {
                index: base + 1 + i as u64,
                command: cmd.clone(),
            })
            .collect();
        if let Some(l) = log.take() {
            let (l, result) = tokio::task::spawn_blocking(move || {
                let mut l = l;
                let r = l.append(&entries);
                (l, r.map(|_| entries))
            })
            .await
            .expect("log writer");
            log = Some(l);
            match result {
                Ok(entries) => apply_batch(&catalog, batch, entries),
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err(format!("log write failed: {e}")));
                    }
                }
            }
        } else {
            apply_batch(&catalog, batch, entries);
        }
        if let Some(l) = log.as_mut().filter(|l| l.since_snapshot >= SNAPSHOT_EVERY) {
            let state = catalog.snapshot();
            if let Err(e) = l.snapshot(&state) {
                tracing::error!("snapshot failed: {e}");
            }
        }
    }
}

fn apply_batch(catalog: &Catalog, batch: Vec<Pending>, entries: Vec<Entry>) {
    for ((_, reply), entry) in batch.into_iter().zip(entries) {
        let outcome = catalog.apply(entry.index, &entry.command);
        let _ = reply.send(Ok(outcome));
    }
}
