//! What an import shows while it runs: a progress bar with rows/s,
//! accepted, rejected and the time left on a terminal; a plain line every
//! few seconds otherwise (a log, a CI job).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain progress line is written.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Rows by fate, so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Rows sent to the server.
    pub(crate) sent: u64,
    /// Rows the server stored (or had stored: duplicates).
    pub(crate) accepted: u64,
    /// Of those, rows it had stored before.
    pub(crate) duplicate: u64,
    /// Rows refused, here or by the server.
    pub(crate) rejected: u64,
    /// Requests sent again after a retryable answer.
    pub(crate) retried: u64,
}

/// The progress display.
pub(crate) struct Progress {
    started: Instant,
    bar: Option<ProgressBar>,
    read: Arc<AtomicU64>,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    /// Starts showing progress through `total_bytes` of input (unknown for
    /// stdin), of which `read` counts the bytes read so far.
    pub(crate) fn start(total_bytes: Option<u64>, read: Arc<AtomicU64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total_bytes {
                Some(total) => {
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                }
                None => ProgressBar::new_spinner(),
            };
            let template = if total_bytes.is_some() {
                "{bar:30} {percent:>3}% {msg} eta {eta}"
            } else {
                "{spinner} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            started: Instant::now(),
            bar,
            read,
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Shows `counts`.
    pub(crate) fn update(&self, counts: &Counts) {
        let rows = counts.accepted + counts.rejected;
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let text = format!(
            "{rows} rows ({rate:.0} rows/s): {} accepted, {} rejected, {} retried",
            counts.accepted, counts.rejected, counts.retried
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(self.read.load(Ordering::Relaxed));
                bar.set_message(text);
            }
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    eprintln!("inlet import: {text}");
                }
            }
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
