//! WAL checkpoints on their own thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so the single writer would stall for tens of milliseconds
//! every few commits while the WAL is copied into the database file. Here a
//! separate connection runs `PASSIVE` checkpoints, which never block the
//! writer; the writer nudges it after each commit, and it checkpoints at
//! most every [`MIN_INTERVAL`].
//!
//! The WAL starts over at its head only when a write begins on a fully
//! copied WAL. Under sustained load the background copy always trails the
//! newest commit, so when the WAL passes [`CATCH_UP_FRAMES`] this thread
//! raises [`CatchUp`] and the writer, between two groups, runs one `PASSIVE`
//! checkpoint itself: it finishes the little that is left, and the next
//! write starts the WAL over. The file stays bounded.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

/// How often to checkpoint when no commit says so (an idle WAL is still
/// copied and truncated soon after the last write).
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// Least time between two checkpoints. Each one syncs the WAL and the
/// database file, and copies every page written since the last: run after
/// every commit (a hundred a second under single events), the syncs queued
/// on the disk ahead of the commits' own, and a page the index writes touch
/// again and again was copied each time. 25 ms measured 10-15 % more
/// out-of-band events/s than none; 50 and 100 ms, no more than 25.
const MIN_INTERVAL: Duration = Duration::from_millis(25);

/// WAL frames (16 KiB pages) past which the writer is asked to catch up:
/// 16384 frames = 256 MiB. Each catch-up stalls the writer for a few
/// milliseconds (it syncs the WAL and the database file, and the next write
/// syncs the new WAL header), and under single out-of-band events the WAL
/// grows by ~300 MB/s: at 64 MiB that was five stalls a second.
pub(crate) const CATCH_UP_FRAMES: i64 = 16384;

/// Tells the checkpoint thread that commits happened. Dropping it stops the
/// thread after a final checkpoint.
#[derive(Clone)]
pub(crate) struct Nudge(SyncSender<()>);

impl Nudge {
    /// Asks for a checkpoint soon; never blocks.
    pub(crate) fn send(&self) {
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

/// Set when the WAL has grown past [`CATCH_UP_FRAMES`]; the writer then runs
/// a checkpoint itself between groups.
#[derive(Clone, Default)]
pub(crate) struct CatchUp(Arc<AtomicBool>);

impl CatchUp {
    /// Whether the writer should checkpoint now; clears the request.
    pub(crate) fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }

    fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs a `PASSIVE` checkpoint on `conn`; returns the WAL's size in frames.
pub(crate) fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

/// Starts the checkpoint thread on a new connection to `path`. The
/// connection reads once here, so it holds the WAL open before the store
/// takes writes: a connection opens the WAL at its first read, and would
/// create a new, empty one if the file were gone by then.
pub(crate) fn spawn(
    path: &Path,
    alive: std::sync::mpsc::Sender<()>,
) -> std::io::Result<(Nudge, CatchUp)> {
    let conn = Connection::open(path)
        .and_then(|conn| {
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
            Ok(conn)
        })
        .map_err(|err| {
            std::io::Error::other(format!("cannot open the checkpoint connection: {err}"))
        })?;
    let (sender, receiver) = sync_channel(1);
    let catch_up = CatchUp::default();
    let raised = catch_up.clone();
    thread::Builder::new()
        .name("inlet-sqlite-checkpoint".into())
        .spawn(move || {
            run(&conn, &receiver, &raised);
            drop(alive);
        })?;
    Ok((Nudge(sender), catch_up))
}

fn run(conn: &Connection, nudges: &Receiver<()>, catch_up: &CatchUp) {
    loop {
        match nudges.recv_timeout(IDLE_INTERVAL) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                match passive(conn) {
                    Ok(frames) if frames > CATCH_UP_FRAMES => catch_up.request(),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "wal checkpoint failed"),
                }
                // Nudges meanwhile wait in the channel's one slot.
                thread::sleep(MIN_INTERVAL);
            }
            Err(RecvTimeoutError::Disconnected) => {
                // The writer has stopped: copy everything and empty the WAL.
                if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                {
                    tracing::warn!(error = %err, "final wal checkpoint failed");
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_holds_the_wal_it_found_at_spawn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let wal = dir.path().join("test.db-wal");
        // Stays open, so that the WAL outlives each statement.
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
            )
            .expect("write");
        assert!(wal.exists(), "the write made a WAL");

        let (alive, ended) = std::sync::mpsc::channel();
        let (nudge, _) = spawn(&path, alive).expect("spawn");
        std::fs::remove_file(&wal).expect("remove the WAL");
        // Dropping the nudge makes the thread run its final checkpoint and end.
        drop(nudge);
        assert!(ended.recv().is_err(), "the thread ended");
        assert!(
            !wal.exists(),
            "the checkpoint connection opened the WAL by name after it was gone, making a new one"
        );
    }
}
