//! `inlet import`: a file of rows (a CRM export, a backfill) becomes
//! correct, idempotent, rate-aware API calls against any inlet server, and
//! no row is lost or stored twice.
//!
//! Three stages run at once: a reader thread turns rows into validated
//! items and packs them into batches (at most 1000 items and the server's
//! body cap); `--concurrency` senders deliver batches as the server asks
//! (see [`sender`]); the collector records every row's fate in the rejects
//! file, the counters and the checkpoint. Batches finish out of order; the
//! checkpoint only moves past rows whose batches, and all before them, are
//! done.

mod checkpoint;
mod item;
mod progress;
mod sender;
mod source;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use self::checkpoint::{Checkpoint, FileIdentity, Position};
use self::item::{Kind, Prepared, prepare};
use self::progress::{Counts, Progress};
use self::sender::{Credentials, Outcome, Sender};
use self::source::{Format, RowValue, open, read_rows};

/// Most items in one batch (the server's limit).
const MAX_BATCH_ITEMS: usize = 1000;

/// The server's default body cap (`limits.max_body_bytes`).
const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Options of `inlet import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Files to import, in order; `-` reads stdin. `.gz` files are
    /// decompressed.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long, env = "INLET_URL", value_name = "URL")]
    url: Option<String>,
    /// What the rows are.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The key's api id
    #[arg(long, env = "INLET_API_ID", value_name = "ID", hide_env_values = true)]
    api_id: Option<String>,
    /// The key's secret
    #[arg(
        long,
        env = "INLET_API_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    api_secret: Option<String>,
    /// The files' format, when their names do not say (.csv, .ndjson,
    /// .jsonl, .json).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Rows per batch request (the server takes at most 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch_items: u16,
    /// The server's body limit in bytes (`limits.max_body_bytes`); batches
    /// stay under it, and a 413 splits them anyway.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Write each rejected row here, one JSON object per line
    /// (`{"file","line","row","error"}`); without it they go to stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Record progress here, so that `--resume` can continue after an
    /// interruption.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue the import `--checkpoint` recorded, skipping the rows done.
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Validate every row and report, sending nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stop with an error when a batch could not be delivered for this
    /// many seconds (the server down, or always busy).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    give_up_after: u64,
}

/// How an import ended; the process exits 0 when every row was accepted,
/// 1 when some were rejected (2 is for errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    AllAccepted,
    SomeRejected,
}

/// Batches of rows in file order; the unit of sending and of progress.
struct Unit {
    /// Its place in read order.
    seq: u64,
    /// The last row it covers.
    last: Position,
    /// Rows to send: their line and content, and the item.
    rows: Vec<(u64, RowValue, Prepared)>,
    /// Rows that failed validation here, with the server's message.
    refused: Vec<(u64, RowValue, String)>,
}

/// What the senders report back.
enum Report {
    Done(Unit, Vec<Outcome>),
    Failed(anyhow::Error),
}

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<Ended> {
    let formats = formats(&args)?;
    let credentials = credentials(&args)?;
    let url = match (&args.url, args.dry_run) {
        (Some(url), _) => url.clone(),
        (None, true) => String::new(),
        (None, false) => bail!("--url (or INLET_URL) is required: the server to import into"),
    };
    let identities = identities(&args)?;
    let resume_from = resume_point(&args, &identities)?;
    let mut rejects = Rejects::open(args.rejects.as_ref(), args.resume)?;
    let read = Arc::new(AtomicU64::new(0));
    let total_bytes: Option<u64> = identities
        .iter()
        .map(|identity| identity.as_ref().map(|file| file.size))
        .sum();
    let progress = Progress::start(total_bytes, Arc::clone(&read));

    let (units, receiver) = mpsc::channel::<Unit>(usize::from(args.concurrency) * 2);
    let reader = spawn_reader(&args, formats, resume_from, units, Arc::clone(&read));
    let sender = Arc::new(Sender::new(
        &url,
        args.kind,
        credentials,
        Duration::from_secs(args.give_up_after),
    ));
    let (reports, mut collected) = mpsc::unbounded_channel::<Report>();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..args.concurrency {
        let (receiver, reports, sender) =
            (Arc::clone(&receiver), reports.clone(), Arc::clone(&sender));
        let dry_run = args.dry_run;
        tokio::spawn(async move {
            loop {
                let Some(unit) = receiver.lock().await.recv().await else {
                    return;
                };
                let prepared: Vec<&Prepared> = unit.rows.iter().map(|(_, _, item)| item).collect();
                let outcome = if dry_run || prepared.is_empty() {
                    Ok(vec![Outcome::Accepted { duplicate: false }; prepared.len()])
                } else {
                    sender.send(&prepared).await
                };
                drop(prepared);
                let report = match outcome {
                    Ok(outcomes) => Report::Done(unit, outcomes),
                    Err(err) => Report::Failed(err),
                };
                if reports.send(report).is_err() {
                    return;
                }
            }
        });
    }
    drop(reports);

    let mut counts = Counts::default();
    let mut frontier = Frontier::new(args.checkpoint.clone(), args.kind, identities, resume_from);
    while let Some(report) = collected.recv().await {
        let (unit, outcomes) = match report {
            Report::Done(unit, outcomes) => (unit, outcomes),
            Report::Failed(err) => {
                progress.finish();
                frontier.drain(&mut rejects)?;
                return Err(
                    err.context("the import stopped; run it again with --resume to continue")
                );
            }
        };
        let file = args.files[unit.last.file].as_str();
        let mut records = Vec::new();
        for (line, row, error) in &unit.refused {
            records.push(reject_record(file, *line, row, error));
            counts.rejected += 1;
        }
        counts.sent += unit.rows.len() as u64;
        for ((line, row, _), outcome) in unit.rows.iter().zip(&outcomes) {
            match outcome {
                Outcome::Accepted { duplicate } => {
                    counts.accepted += 1;
                    counts.duplicate += u64::from(*duplicate);
                }
                Outcome::Rejected(error) => {
                    records.push(reject_record(file, *line, row, error));
                    counts.rejected += 1;
                }
            }
        }
        counts.retried = sender.retried();
        frontier.done(unit.seq, unit.last, records, &mut rejects)?;
        progress.update(&counts);
    }
    let read_failure = reader.await.context("the reader stopped")?;
    progress.finish();
    read_failure?;
    counts.retried = sender.retried();
    summary(&args, &counts, progress.elapsed());
    Ok(if counts.rejected == 0 {
        Ended::AllAccepted
    } else {
        Ended::SomeRejected
    })
}

/// Each file's format: `--format`, or its name's.
fn formats(args: &ImportArgs) -> anyhow::Result<Vec<Format>> {
    args.files
        .iter()
        .map(|file| {
            args.format.or_else(|| Format::of(file)).with_context(|| {
                format!(
                    "cannot tell the format of {file} from its name; \
                     pass --format csv, ndjson or json"
                )
            })
        })
        .collect()
}

fn credentials(args: &ImportArgs) -> anyhow::Result<Credentials> {
    match (&args.api_id, &args.api_secret) {
        (Some(api_id), Some(secret)) => Ok(Credentials {
            api_id: api_id.clone(),
            secret: secret.clone(),
        }),
        _ if args.dry_run => Ok(Credentials {
            api_id: String::new(),
            secret: String::new(),
        }),
        _ => bail!("--api-id and --api-secret (or INLET_API_ID and INLET_API_SECRET) are required"),
    }
}

/// Each file's identity on disk (`None` for stdin).
fn identities(args: &ImportArgs) -> anyhow::Result<Vec<Option<FileIdentity>>> {
    args.files
        .iter()
        .map(|file| match file.as_str() {
            "-" if args.checkpoint.is_some() => {
                bail!("--checkpoint cannot record progress through stdin; import a file")
            }
            "-" => Ok(None),
            path => FileIdentity::of(path).map(Some),
        })
        .collect()
}

/// Where a resumed import starts: the checkpoint's position, after checking
/// it is this import's.
fn resume_point(
    args: &ImportArgs,
    identities: &[Option<FileIdentity>],
) -> anyhow::Result<Option<Position>> {
    let Some(path) = &args.checkpoint else {
        return Ok(None);
    };
    if !args.resume {
        if path.exists() {
            bail!(
                "{} exists: pass --resume to continue that import, or remove it to start over",
                path.display()
            );
        }
        return Ok(None);
    }
    let checkpoint = Checkpoint::read(path)?;
    let files: Vec<FileIdentity> = identities.iter().flatten().cloned().collect();
    checkpoint.matches(args.kind.name(), &files)?;
    Ok(checkpoint.done)
}

/// Reads the files on a thread of its own, sending units of rows in order.
fn spawn_reader(
    args: &ImportArgs,
    formats: Vec<Format>,
    resume_from: Option<Position>,
    units: mpsc::Sender<Unit>,
    read: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let files = args.files.clone();
    let kind = args.kind;
    let limits = (
        if kind.batched() {
            usize::from(args.batch_items).min(MAX_BATCH_ITEMS)
        } else {
            1
        },
        args.max_body_bytes,
    );
    tokio::task::spawn_blocking(move || {
        let mut packer = Packer {
            units,
            seq: 0,
            current: None,
            max_items: limits.0,
            max_bytes: limits.1,
        };
        for (index, (file, format)) in files.iter().zip(formats).enumerate() {
            let reader = open(file, Arc::clone(&read))?;
            let mut failure = None;
            read_rows(reader, format, &mut |row| {
                let position = Position {
                    file: index,
                    line: row.line,
                };
                if resume_from.is_some_and(|done| position <= done) {
                    return Ok(true);
                }
                let item = prepare(kind, &row.value);
                match packer.add(index, row.line, row.value, item) {
                    Ok(()) => Ok(true),
                    Err(err) => {
                        failure = Some(err);
                        Ok(false)
                    }
                }
            })
            .with_context(|| format!("cannot read {file}"))?;
            if let Some(err) = failure {
                return Err(err);
            }
            packer.flush()?;
        }
        Ok(())
    })
}

/// Packs rows into units under the item and byte limits.
struct Packer {
    units: mpsc::Sender<Unit>,
    seq: u64,
    current: Option<(Unit, usize)>,
    max_items: usize,
    max_bytes: usize,
}

/// Bytes of `{"items":[` and `]}` around a batch.
const BATCH_FRAME_BYTES: usize = 12;

impl Packer {
    fn add(
        &mut self,
        file: usize,
        line: u64,
        row: RowValue,
        item: Result<Prepared, String>,
    ) -> anyhow::Result<()> {
        let size = item.as_ref().map_or(0, |item| item.text.len() + 1);
        let full = self.current.as_ref().is_some_and(|(unit, bytes)| {
            unit.last.file != file
                || unit.rows.len() >= self.max_items
                || (item.is_ok()
                    && !unit.rows.is_empty()
                    && bytes + size + BATCH_FRAME_BYTES > self.max_bytes)
        });
        if full {
            self.flush()?;
        }
        let (unit, bytes) = self.current.get_or_insert_with(|| {
            self.seq += 1;
            (
                Unit {
                    seq: self.seq,
                    last: Position { file, line },
                    rows: Vec::new(),
                    refused: Vec::new(),
                },
                0,
            )
        });
        unit.last = Position { file, line };
        match item {
            Ok(item) => {
                *bytes += size;
                unit.rows.push((line, row, item));
            }
            Err(error) => unit.refused.push((line, row, error)),
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some((unit, _)) = self.current.take() {
            self.units
                .blocking_send(unit)
                .map_err(|_| anyhow::anyhow!("the import stopped"))?;
        }
        Ok(())
    }
}

/// The checkpoint's position: units finish out of order; it moves past a
/// unit only when every unit before it is done too. A unit's rejected rows
/// are written (and synced) when the position moves past it, before the
/// checkpoint: after a kill, a resumed import neither loses nor repeats a
/// rejected row.
struct Frontier {
    path: Option<PathBuf>,
    checkpoint: Checkpoint,
    next: u64,
    finished: BTreeMap<u64, (Position, Vec<String>)>,
}

impl Frontier {
    fn new(
        path: Option<PathBuf>,
        kind: Kind,
        identities: Vec<Option<FileIdentity>>,
        done: Option<Position>,
    ) -> Self {
        Self {
            path,
            checkpoint: Checkpoint {
                kind: kind.name().to_owned(),
                files: identities.into_iter().flatten().collect(),
                done,
            },
            next: 1,
            finished: BTreeMap::new(),
        }
    }

    fn done(
        &mut self,
        seq: u64,
        last: Position,
        records: Vec<String>,
        rejects: &mut Rejects,
    ) -> anyhow::Result<()> {
        self.finished.insert(seq, (last, records));
        let mut moved = false;
        while let Some((last, records)) = self.finished.remove(&self.next) {
            for record in records {
                rejects.write(&record)?;
            }
            self.checkpoint.done = Some(last);
            self.next += 1;
            moved = true;
        }
        if !moved {
            return Ok(());
        }
        match &self.path {
            Some(path) => {
                rejects.sync()?;
                self.checkpoint.write(path)
            }
            None => rejects.flush(),
        }
    }

    /// Writes the rejected rows still held when the import stopped early,
    /// unless a checkpoint will have `--resume` find them again.
    fn drain(&mut self, rejects: &mut Rejects) -> anyhow::Result<()> {
        if self.path.is_some() {
            return rejects.flush();
        }
        for (_, records) in std::mem::take(&mut self.finished).into_values() {
            for record in records {
                rejects.write(&record)?;
            }
        }
        rejects.flush()
    }
}

/// A rejects line: `{"file","line","row","error"}` (DESIGN.md §3b).
fn reject_record(file: &str, line: u64, row: &RowValue, error: &str) -> String {
    json!({"file": file, "line": line, "row": row.to_json(), "error": error}).to_string()
}

/// Where rejected rows go: `--rejects FILE`, else stderr.
enum Rejects {
    File(BufWriter<File>),
    Stderr,
}

impl Rejects {
    fn open(path: Option<&PathBuf>, append: bool) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::Stderr);
        };
        let file = if append {
            OpenOptions::new().create(true).append(true).open(path)
        } else {
            File::create(path)
        };
        Ok(Self::File(BufWriter::new(file.with_context(|| {
            format!("cannot write {}", path.display())
        })?)))
    }

    fn write(&mut self, record: &str) -> anyhow::Result<()> {
        match self {
            Self::File(file) => writeln!(file, "{record}"),
            Self::Stderr => writeln!(std::io::stderr(), "{record}"),
        }
        .context("cannot write a rejected row")
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Self::File(file) => file.flush().context("cannot write the rejected rows"),
            Self::Stderr => Ok(()),
        }
    }

    /// Flushes and syncs to disk, before a checkpoint says these rows are
    /// done.
    fn sync(&mut self) -> anyhow::Result<()> {
        self.flush()?;
        match self {
            Self::File(file) => file
                .get_ref()
                .sync_data()
                .context("cannot sync the rejected rows"),
            Self::Stderr => Ok(()),
        }
    }
}

/// The closing summary: a line for people on stderr, one JSON object on
/// stdout for scripts.
fn summary(args: &ImportArgs, counts: &Counts, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let rows = counts.accepted + counts.rejected;
    let rows_per_second = if seconds > 0.0 {
        rows as f64 / seconds
    } else {
        0.0
    };
    let verb = if args.dry_run { "checked" } else { "imported" };
    eprintln!(
        "{verb} {rows} rows in {seconds:.1} s ({rows_per_second:.0} rows/s): {} accepted ({} duplicate), \
         {} rejected, {} requests retried",
        counts.accepted, counts.duplicate, counts.rejected, counts.retried
    );
    println!(
        "{}",
        json!({
            "dryRun": args.dry_run,
            "sent": counts.sent,
            "accepted": counts.accepted,
            "duplicate": counts.duplicate,
            "rejected": counts.rejected,
            "retried": counts.retried,
            "seconds": seconds,
            "rowsPerSecond": rows_per_second,
        })
    );
}
