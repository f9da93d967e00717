//! `inlet-bench`: how fast is inlet on this machine, and how close to the
//! store's own limit?
//!
//! It starts the real `inlet serve` (release build) on a fresh data dir, or
//! with `--database-url` one or more nodes on a fresh PostgreSQL database,
//! drives it over loopback with batches of 1000 realistic conversation items
//! and with single items from many clients, reads the server's peak RSS, and
//! then measures the raw limit in the same run: on SQLite the same rows
//! written straight through the store (same durability, no HTTP), on
//! PostgreSQL the same rows sent with `COPY` into the same tables. Every loop
//! is bounded by count and time.

mod calls;
mod copy;
mod import;
mod item;
mod load;
mod overhead;
mod raw;
mod report;
mod server;

use std::path::PathBuf;

// The same allocator as the server, so the raw limit is measured alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use inlet_store_postgres::scratch::ScratchDatabase;
use inlet_store_postgres::{PgSettings, PgStore};
use inlet_store_sqlite::SqliteStore;

/// Options; the defaults are the scenario.
#[derive(Debug, Parser)]
#[command(name = "inlet-bench", about)]
struct Args {
    /// The inlet binary to benchmark.
    #[arg(long, default_value = "target/release/inlet")]
    inlet: PathBuf,
    /// Items per batch request.
    #[arg(long, default_value_t = 1000)]
    batch_items: usize,
    /// Concurrent clients sending batches.
    #[arg(long, default_value_t = 4)]
    batch_clients: usize,
    /// Batch requests to send in all.
    #[arg(long, default_value_t = 600)]
    batches: usize,
    /// Concurrent clients sending single items.
    #[arg(long, default_value_t = 64)]
    single_clients: usize,
    /// Single-item requests to send in all.
    #[arg(long, default_value_t = 60_000)]
    singles: usize,
    /// Stop any phase after this many seconds, whatever is left.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Run the server with its logs, metrics and limits on (production) or
    /// off, to measure what they cost.
    #[arg(long, value_enum, default_value = "on")]
    instrumentation: server::Instrumentation,
    /// Measure only the raw store limit (for tuning the store).
    #[arg(long)]
    raw_only: bool,
    /// Benchmark on PostgreSQL: the URL of any database on the server, where
    /// the benchmark makes (and afterwards drops) fresh databases.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// inlet nodes serving the same store (PostgreSQL only); clients spread
    /// over them.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// `ingest`: the ASAPP batches and single items; `calls`: call
    /// registration and out-of-band event matching.
    #[arg(long, value_enum, default_value = "ingest")]
    scenario: Scenario,
    /// Calls registered before the events (scenario `calls`).
    #[arg(long, default_value_t = 1_000_000)]
    calls: usize,
    /// Out-of-band events sent, one per request (scenario `calls`); as many
    /// again then go straight into the store, for the raw limit.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Concurrent clients sending events (scenario `calls`).
    #[arg(long, default_value_t = 64)]
    event_clients: usize,
    /// Rows in the file `inlet import` sends (scenario `import`).
    #[arg(long, default_value_t = 1_000_000)]
    import_rows: usize,
    /// Rounds of the `overhead` scenario; each sends `--batches` and
    /// `--singles` to both servers.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// What the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// ASAPP metadata: batches, single items, the raw limit.
    Ingest,
    /// Calls and out-of-band events under 20 matching rules.
    Calls,
    /// `inlet import` of an NDJSON file against the batch phase's rate.
    Import,
    /// What logs, metrics and limits cost: two servers, one with them and
    /// one without, measured in alternating rounds.
    Overhead,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.nodes > 1 && args.database_url.is_none() {
        anyhow::bail!("--nodes needs --database-url: only PostgreSQL is shared by several nodes");
    }
    let cap = Duration::from_secs(args.max_seconds);
    let dir = tempfile::tempdir().context("cannot make a temp dir")?;
    if args.raw_only {
        let raw = raw_limit(&args, &dir.path().join("raw"), cap).await?;
        println!("raw limit {:.0} items/s", raw.items_per_second());
        return Ok(());
    }

    match args.scenario {
        Scenario::Calls => return run_calls(&args, dir.path(), cap).await,
        Scenario::Import => return run_import(&args, dir.path(), cap).await,
        Scenario::Overhead => {
            let rounds = overhead::Rounds {
                rounds: args.rounds,
                batch_clients: args.batch_clients,
                batches: args.batches,
                batch_items: args.batch_items,
                single_clients: args.single_clients,
                singles: args.singles,
            };
            return overhead::run(&args.inlet, dir.path(), &rounds, cap, args.json).await;
        }
        Scenario::Ingest => {}
    }
    let (target, _database) =
        target(args.database_url.as_deref(), &dir.path().join("http")).await?;
    let server =
        server::Server::start(&args.inlet, &target, args.nodes, args.instrumentation).await?;
    let batch = load::batches(
        &server,
        args.batch_clients,
        args.batches,
        args.batch_items,
        0,
        cap,
    )
    .await?;
    let single = load::singles(&server, args.single_clients, args.singles, 0, cap).await?;
    let peak_rss_kib = server.peak_rss_kib();
    drop(server);
    let wal_bytes = std::fs::metadata(dir.path().join("http").join("inlet.db-wal"))
        .map(|meta| meta.len())
        .ok();

    let raw = raw_limit(&args, &dir.path().join("raw"), cap).await?;
    let report = report::Report {
        batch,
        single,
        raw,
        raw_method: if args.database_url.is_some() {
            "COPY"
        } else {
            "store"
        },
        nodes: args.nodes,
        peak_rss_kib,
        wal_bytes,
        batch_items: args.batch_items,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// The import scenario: the batch phase for the server's rate, then
/// `inlet import` of an NDJSON file of the same items into the same server.
async fn run_import(args: &Args, dir: &std::path::Path, cap: Duration) -> anyhow::Result<()> {
    let target = server::Target::DataDir(dir.join("import"));
    let server = server::Server::start(&args.inlet, &target, 1, args.instrumentation).await?;
    let batch = load::batches(
        &server,
        args.batch_clients,
        args.batches,
        args.batch_items,
        0,
        cap,
    )
    .await?;
    let file = dir.join("rows.ndjson");
    item::write_ndjson(&file, "i", args.import_rows).context("write the rows")?;
    let imported = import::run(&args.inlet, &server, &file).await?;
    drop(server);
    let share = imported.rows_per_second / batch.items_per_second();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "batchItemsPerSecond": batch.items_per_second(),
                "importRows": imported.rows,
                "importRowsPerSecond": imported.rows_per_second,
                "importShareOfBatch": share,
            })
        );
    } else {
        println!(
            "many-convo ×{} batches    {:>9.0} items/s",
            args.batch_items,
            batch.items_per_second()
        );
        println!(
            "inlet import (NDJSON)     {:>9.0} rows/s   ({} rows in {:.1} s)",
            imported.rows_per_second, imported.rows, imported.seconds
        );
        println!("import share of batches  {:>8.0} %", share * 100.0);
    }
    Ok(())
}

/// The call-matching scenario on the embedded store (or PostgreSQL).
async fn run_calls(args: &Args, dir: &std::path::Path, cap: Duration) -> anyhow::Result<()> {
    let (target, _database) = target(args.database_url.as_deref(), &dir.join("calls")).await?;
    let server =
        server::Server::start(&args.inlet, &target, args.nodes, args.instrumentation).await?;
    let measured = calls::run(
        &server,
        args.calls,
        args.batch_clients,
        args.events,
        args.event_clients,
        cap,
    )
    .await?;
    let peak = server.peak_rss_kib();
    let (anon, file) = (server.status_kib("RssAnon"), server.status_kib("RssFile"));
    drop(server);
    eprintln!(
        "the server stopped; sending {} events straight into its store",
        args.events
    );
    let raw = raw_events(&target, &measured, args, cap).await?;
    let events = &measured.events;
    let share = events.items_per_second() / raw.events_per_second();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "calls": measured.calls,
                "callsPerSecond": measured.calls as f64 / measured.calls_elapsed.as_secs_f64(),
                "events": events.items,
                "eventsPerSecond": events.items_per_second(),
                "p50Ms": ms(events.percentile(50.0)),
                "p99Ms": ms(events.percentile(99.0)),
                "serverCpuMicrosPerEvent": measured.event_cpu_us,
                "clientCpuMicrosPerEvent": measured.client_cpu_us,
                "peakRssKiB": peak,
                "rssAnonKiB": anon,
                "rssFileKiB": file,
                "rawEventsPerSecond": raw.events_per_second(),
                "rawCpuMicrosPerEvent": raw.cpu_us,
                "shareOfRaw": share,
            })
        );
    } else {
        println!(
            "calls registered        {:>9} in {:.1} s ({:.0} calls/s)",
            measured.calls,
            measured.calls_elapsed.as_secs_f64(),
            measured.calls as f64 / measured.calls_elapsed.as_secs_f64()
        );
        println!(
            "out-of-band events      {:>9.0} events/s   p50 {:.1} ms   p99 {:.1} ms   ({} events, {} clients)",
            events.items_per_second(),
            ms(events.percentile(50.0)),
            ms(events.percentile(99.0)),
            events.items,
            args.event_clients
        );
        if let Some(us) = measured.event_cpu_us {
            println!("server CPU per event    {us:>8.1} µs");
        }
        if let Some(us) = measured.client_cpu_us {
            println!("load client CPU per event {us:>6.1} µs");
        }
        if let Some(kib) = peak {
            println!("server peak RSS         {:>8.1} MiB", kib as f64 / 1024.0);
        }
        if let (Some(anon), Some(file)) = (anon, file) {
            println!(
                "  at the end: its own   {:>8.1} MiB, mapped files (binary, database) {:.1} MiB",
                anon as f64 / 1024.0,
                file as f64 / 1024.0
            );
        }
        println!(
            "raw limit, no HTTP      {:>9.0} events/s   ({} events, {} submitters)",
            raw.events_per_second(),
            raw.events,
            args.event_clients
        );
        if let Some(us) = raw.cpu_us {
            println!("store CPU per raw event {us:>8.1} µs");
        }
        println!("events as a share of raw {:>7.0} %", share * 100.0);
    }
    Ok(())
}

/// The calls scenario's raw limit: more events of the same mix straight
/// into the store the stopped server used.
async fn raw_events(
    target: &server::Target,
    measured: &calls::Calls,
    args: &Args,
    cap: Duration,
) -> anyhow::Result<calls::RawEvents> {
    let (calls, first) = (measured.calls, measured.events.items);
    let (events, submitters) = (args.events, args.event_clients);
    match target {
        server::Target::DataDir(dir) => {
            let store = SqliteStore::open_with(dir, &server::sqlite_settings()?)
                .context("open the server's store")?;
            calls::raw_events(store, calls, first, events, submitters, cap).await
        }
        server::Target::Postgres(url) => {
            let store = PgStore::connect(&PgSettings::new(url.as_str()))
                .await
                .context("connect to the server's database")?;
            calls::raw_events(store, calls, first, events, submitters, cap).await
        }
    }
}

/// The raw limit on the benchmarked store: SQLite's ingest in `dir`, or
/// `COPY` into a fresh PostgreSQL database.
async fn raw_limit(args: &Args, dir: &std::path::Path, cap: Duration) -> anyhow::Result<raw::Raw> {
    match &args.database_url {
        None => raw::store_limit(dir, args.batches, args.batch_items, cap).await,
        Some(url) => {
            let database = scratch(url).await?;
            PgStore::connect(&PgSettings::new(database.url()))
                .await
                .context("cannot migrate the raw database")?;
            copy::copy_limit(database.url(), args.batches, args.batch_items, cap).await
        }
    }
}

/// Where the benchmarked servers store: a fresh PostgreSQL database on the
/// server of `database_url` (dropped with the second value), else `data_dir`.
async fn target(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<(server::Target, Option<ScratchDatabase>)> {
    Ok(match database_url {
        Some(url) => {
            let database = scratch(url).await?;
            let target = server::Target::Postgres(database.url().to_owned());
            (target, Some(database))
        }
        None => (server::Target::DataDir(data_dir.to_owned()), None),
    })
}

/// A fresh database on the server of `url`, dropped with the result.
async fn scratch(url: &str) -> anyhow::Result<ScratchDatabase> {
    ScratchDatabase::create_on(url, "inlet_bench")
        .await
        .map_err(|err| anyhow::anyhow!("--database-url: {err}"))
}
