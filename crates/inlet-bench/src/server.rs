//! Starting the real `inlet serve` for the benchmark, with a key.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

/// Whether the server runs with its instrumentation and limits, for the
/// overhead comparison of issue 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Instrumentation {
    /// Info logs, metrics recorded, per-key limits checked (set high enough
    /// never to trigger): how inlet runs in production.
    On,
    /// No logs, no metrics, no rate limit.
    Off,
}

impl Instrumentation {
    /// The server's environment for this mode.
    fn environment(self) -> [(&'static str, &'static str); 4] {
        match self {
            Self::On => [
                ("INLET_LOG", "info"),
                ("INLET_METRICS_ENABLED", "true"),
                ("INLET_LIMITS__RATE_PER_SECOND", "10000000"),
                ("INLET_LIMITS__BURST", "10000000"),
            ],
            Self::Off => [
                ("INLET_LOG", "off"),
                ("INLET_METRICS_ENABLED", "false"),
                ("INLET_LIMITS__RATE_PER_SECOND", "0"),
                ("INLET_LIMITS__BURST", "1"),
            ],
        }
    }
}

/// A running `inlet serve` with an ingest key.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    pub(crate) api_id: String,
    pub(crate) secret: String,
}

impl Server {
    pub(crate) async fn start(
        inlet: &Path,
        data_dir: &Path,
        instrumentation: Instrumentation,
    ) -> anyhow::Result<Self> {
        let output = Command::new(inlet)
            .args([
                "keys", "create", "--tenant", "bench", "--role", "ingest", "--role", "read",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .with_context(|| {
                format!(
                    "cannot run {}; build it with cargo build --release",
                    inlet.display()
                )
            })?;
        if !output.status.success() {
            bail!(
                "keys create failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let key: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("keys create output")?;
        let mut child = Command::new(inlet)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .envs(instrumentation.environment())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start inlet serve")?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().context("stdout")?)
            .read_line(&mut first)
            .context("cannot read the announced address")?;
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line {first:?}"))?
            .to_owned();
        Ok(Self {
            child,
            url,
            api_id: key["apiId"].as_str().context("apiId")?.to_owned(),
            secret: key["apiSecret"].as_str().context("apiSecret")?.to_owned(),
        })
    }

    /// The server's peak resident set size so far (Linux `VmHWM`), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
