//! Log lines gathered in memory and written to stderr by one thread, a few
//! times a second.
//!
//! `tracing-appender`'s non-blocking writer hands every line to its thread
//! through a channel, and that thread writes it at once: under load, a
//! wake-up, two context switches and a `write` call per request, which cost
//! more than the rest of the request's instrumentation. Here a request only
//! appends its line to a shared buffer; the thread takes the whole buffer
//! every [`FLUSH_INTERVAL`], or as soon as it holds [`FLUSH_BYTES`], and
//! writes it in one call.
//!
//! Nothing is dropped: past [`MAX_BUFFERED_BYTES`] (stderr not keeping up),
//! a logging thread waits for the writer. [`LogGuard`] writes the rest when
//! dropped. What a SIGKILL loses is at most the last [`FLUSH_INTERVAL`].

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// A buffer this full is written without waiting for the interval.
const FLUSH_BYTES: usize = 64 * 1024;

/// A buffer this full makes logging threads wait for the writer.
const MAX_BUFFERED_BYTES: usize = 4 * 1024 * 1024;

/// What the logging threads and the writer thread share.
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: a full buffer, or the end.
    filled: Condvar,
    /// Wakes logging threads waiting for room.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` for `tracing_subscriber::fmt`: cheap to clone, every
/// clone appending to the same buffer.
#[derive(Clone)]
pub(crate) struct BufferedStderr(Arc<Shared>);

/// Writes what is left when dropped, and stops the writer thread.
pub(crate) struct LogGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

/// A buffered writer to `out` and the guard that flushes it at the end.
pub(crate) fn buffered(out: impl Write + Send + 'static) -> (BufferedStderr, LogGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        filled: Condvar::new(),
        drained: Condvar::new(),
    });
    let writer = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("inlet-log".into())
            .spawn(move || write_until_closed(&shared, out))
            // Only when the OS refuses a thread; logging to nowhere would
            // hide every later problem.
            .expect("cannot start the log writer thread")
    };
    (
        BufferedStderr(Arc::clone(&shared)),
        LogGuard {
            shared,
            writer: Some(writer),
        },
    )
}

/// The writer thread: takes the buffer when it is full, when the interval
/// passes or at the end, and writes it in one call.
fn write_until_closed(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    loop {
        let closed = {
            let mut state = shared.state();
            if state.lines.len() < FLUSH_BYTES && !state.closed {
                state = shared
                    .filled
                    .wait_timeout(state, FLUSH_INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.lines, &mut spare);
            state.closed
        };
        shared.drained.notify_all();
        if !spare.is_empty() {
            // A failed write to stderr has nowhere to be reported.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if closed && shared.state().lines.is_empty() {
            return;
        }
    }
}

impl Write for &BufferedStderr {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.state();
        while state.lines.len() >= MAX_BUFFERED_BYTES && !state.closed {
            state = self
                .0
                .drained
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_below = state.lines.len() < FLUSH_BYTES;
        state.lines.extend_from_slice(line);
        if was_below && state.lines.len() >= FLUSH_BYTES {
            self.0.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lends the writer rather than cloning it: a clone per line would be two
/// atomic updates of a count every logging thread shares.
impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = &'a BufferedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.state().closed = true;
        self.shared.filled.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A `Write` whose bytes the test can read, counting write calls.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut sink = self.0.lock().expect("sink");
            sink.0.extend_from_slice(bytes);
            sink.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_is_written_once_in_few_calls() {
        let sink = Sink::default();
        let (writer, guard) = buffered(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for n in 0..10_000 {
                        (&writer)
                            .write_all(format!("thread {thread} line {n}\n").as_bytes())
                            .expect("write");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        drop(guard);
        let (bytes, calls) = sink.0.lock().expect("sink").clone();
        let text = String::from_utf8(bytes).expect("utf-8");
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 40_000);
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), 40_000, "no line twice, none torn");
        assert!(calls < 4_000, "{calls} writes for 40,000 lines");
    }

    #[test]
    fn a_writer_far_ahead_of_its_output_waits_instead_of_growing() {
        /// Output that blocks every write until the test opens it.
        struct Gate(Sink, Arc<(Mutex<bool>, std::sync::Condvar)>);
        impl Write for Gate {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let (open, opened) = &*self.1;
                let mut open = open.lock().expect("gate");
                while !*open {
                    open = opened.wait(open).expect("gate");
                }
                self.0.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let (writer, guard) = buffered(Gate(sink.clone(), Arc::clone(&gate)));
        let lines = 3 * MAX_BUFFERED_BYTES / 1024;
        let producer = {
            let writer = writer.clone();
            std::thread::spawn(move || {
                let mut line = [b'x'; 1024];
                line[1023] = b'\n';
                for _ in 0..lines {
                    (&writer).write_all(&line).expect("write");
                }
            })
        };
        let buffered = || writer.0.state().lines.len();
        while buffered() < MAX_BUFFERED_BYTES - 1024 && !producer.is_finished() {
            std::thread::yield_now();
        }
        for _ in 0..1000 {
            std::thread::yield_now();
        }
        assert!(buffered() <= MAX_BUFFERED_BYTES + 1024, "{}", buffered());
        assert!(!producer.is_finished(), "the producer waits for room");
        *gate.0.lock().expect("gate") = true;
        gate.1.notify_all();
        producer.join().expect("producer");
        drop(guard);
        assert_eq!(sink.0.lock().expect("sink").0.len(), lines * 1024);
    }
}
