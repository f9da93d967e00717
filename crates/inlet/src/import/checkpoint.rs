//! The checkpoint of an import: how far through its files every row is
//! done (accepted or rejected and recorded), written atomically after each
//! batch, so that `--resume` after a kill — even `SIGKILL` — sends again at
//! most the batches that were in flight.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What a checkpoint file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Checkpoint {
    /// The `--kind` of the import.
    pub(crate) kind: String,
    /// The files, in order, as they were when the import started.
    pub(crate) files: Vec<FileIdentity>,
    /// Every row up to here is done: the file's index and the row's line.
    pub(crate) done: Option<Position>,
}

/// A file as found on disk: a resumed import must read the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileIdentity {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) modified_ms: u128,
}

/// A row's place: its file's index among the import's files, and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    pub(crate) file: usize,
    pub(crate) line: u64,
}

impl FileIdentity {
    /// `path` as it is now.
    pub(crate) fn of(path: &str) -> anyhow::Result<Self> {
        let meta = fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_millis());
        Ok(Self {
            path: path.to_owned(),
            size: meta.len(),
            modified_ms,
        })
    }
}

impl Checkpoint {
    /// Reads the checkpoint at `path`.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not an inlet import checkpoint", path.display()))
    }

    /// Checks that a resumed import is the one this checkpoint belongs to.
    pub(crate) fn matches(&self, kind: &str, files: &[FileIdentity]) -> anyhow::Result<()> {
        if self.kind != kind {
            bail!(
                "the checkpoint is of a --kind {} import, not {kind}",
                self.kind
            );
        }
        if self.files != files {
            bail!(
                "the files differ from the checkpoint's (names, sizes or modification times); \
                 resume only the same files, unchanged, or start over without --resume"
            );
        }
        Ok(())
    }

    /// Writes the checkpoint to `path` atomically: a crash leaves the old
    /// one or the new one, never half of either.
    pub(crate) fn write(&self, path: &Path) -> anyhow::Result<()> {
        let temporary = temporary(path);
        let mut file = File::create(&temporary)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        file.write_all(&serde_json::to_vec(self).context("checkpoint as JSON")?)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))
    }
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_refuses_other_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("rows.ndjson");
        fs::write(&data, "{}\n").expect("write");
        let files = vec![FileIdentity::of(data.to_str().expect("utf-8")).expect("identity")];
        let checkpoint = Checkpoint {
            kind: "agent".into(),
            files: files.clone(),
            done: Some(Position { file: 0, line: 7 }),
        };
        let path = dir.path().join("import.checkpoint");
        checkpoint.write(&path).expect("write");
        let read = Checkpoint::read(&path).expect("read");
        assert_eq!(read, checkpoint);
        read.matches("agent", &files).expect("same import");
        assert!(read.matches("customer", &files).is_err());
        fs::write(&data, "{}\n{}\n").expect("change the file");
        let changed = vec![FileIdentity::of(data.to_str().expect("utf-8")).expect("identity")];
        assert!(read.matches("agent", &changed).is_err());
    }
}
