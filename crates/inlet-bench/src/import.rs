//! Runs the real `inlet import` against the benchmark's server and reads
//! its summary.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::server::Server;

/// What `inlet import` reported.
pub(crate) struct Imported {
    pub(crate) rows: u64,
    pub(crate) seconds: f64,
    pub(crate) rows_per_second: f64,
}

/// Imports `file` (NDJSON conversations) into `server` with the default
/// settings, as a user would.
pub(crate) async fn run(inlet: &Path, server: &Server, file: &Path) -> anyhow::Result<Imported> {
    let output = Command::new(inlet)
        .args([
            "import",
            "--kind",
            "conversation",
            "--rejects",
            "/dev/null",
            "--url",
        ])
        .arg(&server.urls[0])
        .arg(file)
        .env("INLET_API_ID", &server.api_id)
        .env("INLET_API_SECRET", &server.secret)
        .output()
        .context("cannot run inlet import")?;
    if !output.status.success() {
        bail!(
            "inlet import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("the import summary")?;
    Ok(Imported {
        rows: summary["accepted"].as_u64().unwrap_or(0),
        seconds: summary["seconds"].as_f64().unwrap_or(0.0),
        rows_per_second: summary["rowsPerSecond"].as_f64().unwrap_or(0.0),
    })
}
