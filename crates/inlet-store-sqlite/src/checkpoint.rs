//! WAL checkpoints on their own thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so the single writer would stall for tens of milliseconds
//! every few commits while the WAL is copied into the database file. Here a
//! separate connection runs `PASSIVE` checkpoints, which never block the
//! writer; the writer nudges it after each commit. When the WAL has been
//! fully copied and no reader needs it, the writer starts over at its head,
//! so the file stays bounded.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

/// How often to checkpoint when no commit says so (an idle WAL is still
/// copied and truncated soon after the last write).
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// The WAL file is cut back to this size after a reset.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

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

/// Starts the checkpoint thread on a new connection to `path`.
pub(crate) fn spawn(path: PathBuf) -> std::io::Result<Nudge> {
    let (sender, receiver) = sync_channel(1);
    thread::Builder::new()
        .name("inlet-sqlite-checkpoint".into())
        .spawn(move || run(&path, &receiver))?;
    Ok(Nudge(sender))
}

fn run(path: &PathBuf, nudges: &Receiver<()>) {
    let conn = match open(path) {
        Ok(conn) => conn,
        Err(err) => {
            tracing::error!(error = %err, "cannot open the checkpoint connection; the WAL will grow");
            return;
        }
    };
    loop {
        let last = match nudges.recv_timeout(IDLE_INTERVAL) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let mode = if last { "TRUNCATE" } else { "PASSIVE" };
        if let Err(err) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
        {
            tracing::warn!(error = %err, "wal checkpoint failed");
        }
        if last {
            return;
        }
    }
}

fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
    Ok(conn)
}
