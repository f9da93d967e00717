//! Starting the real `inlet serve` for the benchmark, with a key.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
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

/// Where the benchmarked servers store.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The embedded store in this directory.
    DataDir(PathBuf),
    /// PostgreSQL at this URL (a fresh database the benchmark made).
    Postgres(String),
}

impl Target {
    /// The flags that select this store.
    fn args(&self) -> Vec<OsString> {
        match self {
            Self::DataDir(dir) => vec!["--data-dir".into(), dir.into()],
            Self::Postgres(url) => vec!["--database-url".into(), url.into()],
        }
    }
}

/// The tenant of the benchmark's key; the raw phases write as it too, so
/// they find what the server stored (the calls scenario's calls and rules).
pub(crate) const TENANT: &str = "bench";

/// The settings the raw phases open the embedded store with: those the
/// server ran with. The server inherits this process's environment, so
/// `INLET_SQLITE__MMAP_MIB` (say, to measure without the mapping) reaches
/// both.
pub(crate) fn sqlite_settings() -> anyhow::Result<inlet_store_sqlite::SqliteSettings> {
    sqlite_settings_with(std::env::var("INLET_SQLITE__MMAP_MIB").ok().as_deref())
}

fn sqlite_settings_with(
    mmap_mib: Option<&str>,
) -> anyhow::Result<inlet_store_sqlite::SqliteSettings> {
    let mut settings = inlet_store_sqlite::SqliteSettings::default();
    if let Some(text) = mmap_mib {
        let mib: u64 = text.trim().parse().with_context(|| {
            format!("INLET_SQLITE__MMAP_MIB must be a whole number of MiB; got {text:?}")
        })?;
        settings.mmap_bytes = mib << 20;
    }
    Ok(settings)
}

/// Running `inlet serve` nodes on one store, with an ingest key.
pub(crate) struct Server {
    children: Vec<Child>,
    pub(crate) urls: Vec<String>,
    pub(crate) api_id: String,
    pub(crate) secret: String,
}

impl Server {
    pub(crate) async fn start(
        inlet: &Path,
        target: &Target,
        nodes: usize,
        instrumentation: Instrumentation,
    ) -> anyhow::Result<Self> {
        let output = Command::new(inlet)
            .args([
                "keys",
                "create",
                "--tenant",
                TENANT,
                "--role",
                "ingest",
                "--role",
                "read",
                "--role",
                "AsyncMetaData",
                "--role",
                "admin",
            ])
            .args(target.args())
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
        let mut server = Self {
            children: Vec::new(),
            urls: Vec::new(),
            api_id: key["apiId"].as_str().context("apiId")?.to_owned(),
            secret: key["apiSecret"].as_str().context("apiSecret")?.to_owned(),
        };
        for _ in 0..nodes.max(1) {
            let mut child = Command::new(inlet)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .args(target.args())
                .envs(instrumentation.environment())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start inlet serve")?;
            let stdout = child.stdout.take().context("stdout")?;
            server.children.push(child);
            let mut first = String::new();
            BufReader::new(stdout)
                .read_line(&mut first)
                .context("cannot read the announced address")?;
            let url = first
                .trim()
                .strip_prefix("listening on ")
                .with_context(|| format!("unexpected first line {first:?}"))?
                .to_owned();
            server.urls.push(url);
        }
        Ok(server)
    }

    /// The largest peak resident set size of the nodes so far (Linux
    /// `VmHWM`), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM")
    }

    /// The largest value among the nodes of `field` (a size in kB) in
    /// Linux's `/proc/<pid>/status`: `RssAnon` is a node's own memory,
    /// `RssFile` the file pages it maps (the binary, the database file).
    pub(crate) fn status_kib(&self, field: &str) -> Option<u64> {
        self.children
            .iter()
            .filter_map(|child| {
                let status =
                    std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .max()
    }
}

impl Server {
    /// CPU time (user and system) the server's processes have used so far:
    /// what instrumentation costs, unlike throughput, does not drift with
    /// the disk.
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        self.children
            .iter()
            .map(|child| process_cpu_seconds(&child.id().to_string()))
            .sum()
    }
}

/// CPU time (user and system) process `pid` (or `self`) has used so far,
/// from `/proc/<pid>/stat`.
pub(crate) fn process_cpu_seconds(pid: &str) -> Option<f64> {
    // utime and stime, fields 14 and 15, in clock ticks; the kernel's
    // USER_HZ is 100 on every Linux ABI.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_store_maps_what_the_servers_environment_says() {
        let default = sqlite_settings_with(None).expect("default");
        assert_eq!(default, inlet_store_sqlite::SqliteSettings::default());
        let off = sqlite_settings_with(Some("0")).expect("off");
        assert_eq!(off.mmap_bytes, 0);
        assert_eq!(
            sqlite_settings_with(Some("64")).expect("64").mmap_bytes,
            64 << 20
        );
        let bad = sqlite_settings_with(Some("lots")).expect_err("refused");
        assert!(bad.to_string().contains("INLET_SQLITE__MMAP_MIB"), "{bad}");
    }
}
