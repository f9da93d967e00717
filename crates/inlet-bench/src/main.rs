//! `inlet-bench`: how fast is inlet on this machine, and how close to the
//! store's own limit?
//!
//! It starts the real `inlet serve` (release build) on a fresh data dir,
//! drives it over loopback with batches of 1000 realistic conversation items
//! and with single items from many clients, reads the server's peak RSS, and
//! then writes the same rows straight through the store (same durability, no
//! HTTP) to measure the raw limit. Every loop is bounded by count and time.

mod item;
mod load;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cap = Duration::from_secs(args.max_seconds);
    let dir = tempfile::tempdir().context("cannot make a temp dir")?;
    if args.raw_only {
        let raw =
            raw::store_limit(&dir.path().join("raw"), args.batches, args.batch_items, cap).await?;
        println!("raw store limit {:.0} items/s", raw.items_per_second());
        return Ok(());
    }

    let server =
        server::Server::start(&args.inlet, &dir.path().join("http"), args.instrumentation).await?;
    let batch = load::batches(
        &server,
        args.batch_clients,
        args.batches,
        args.batch_items,
        cap,
    )
    .await?;
    let single = load::singles(&server, args.single_clients, args.singles, cap).await?;
    let peak_rss_kib = server.peak_rss_kib();
    drop(server);
    let wal_bytes = std::fs::metadata(dir.path().join("http").join("inlet.db-wal"))
        .map(|meta| meta.len())
        .ok();

    let raw =
        raw::store_limit(&dir.path().join("raw"), args.batches, args.batch_items, cap).await?;
    let report = report::Report {
        batch,
        single,
        raw,
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
