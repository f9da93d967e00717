//! The benchmark's output: a table for people, JSON for scripts.

use std::fmt::Write;

use serde_json::json;

use crate::load::Phase;
use crate::raw::Raw;

pub(crate) struct Report {
    pub(crate) batch: Phase,
    pub(crate) single: Phase,
    pub(crate) raw: Raw,
    /// How the raw limit was measured: "store" (SQLite ingest) or "COPY".
    pub(crate) raw_method: &'static str,
    /// inlet nodes that served the HTTP phases.
    pub(crate) nodes: usize,
    pub(crate) peak_rss_kib: Option<u64>,
    /// The server's WAL file after the run: bounded if checkpoints keep up.
    pub(crate) wal_bytes: Option<u64>,
    pub(crate) batch_items: usize,
}

impl Report {
    fn share_of_raw(&self) -> f64 {
        self.batch.items_per_second() / self.raw.items_per_second()
    }

    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        if self.nodes > 1 {
            let _ = writeln!(out, "{} nodes", self.nodes);
        }
        let _ = writeln!(
            out,
            "phase                      items/s    requests/s   p50 ms   p99 ms"
        );
        for (name, phase) in [
            (format!("many-convo ×{}", self.batch_items), &self.batch),
            ("single-convo".to_owned(), &self.single),
        ] {
            let _ = writeln!(
                out,
                "{name:<24} {:>9.0}    {:>10.1}   {:>6.1}   {:>6.1}",
                phase.items_per_second(),
                phase.requests_per_second(),
                ms(phase.percentile(50.0)),
                ms(phase.percentile(99.0)),
            );
        }
        let _ = writeln!(
            out,
            "raw limit ({:<5})        {:>9.0}",
            self.raw_method,
            self.raw.items_per_second()
        );
        let _ = writeln!(
            out,
            "batch share of raw       {:>8.0} %",
            self.share_of_raw() * 100.0
        );
        if let Some(kib) = self.peak_rss_kib {
            let _ = writeln!(
                out,
                "peak RSS of a node       {:>8.1} MiB",
                kib as f64 / 1024.0
            );
        }
        out
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        let phase = |p: &Phase| {
            json!({
                "items": p.items,
                "requests": p.requests,
                "seconds": p.elapsed.as_secs_f64(),
                "itemsPerSecond": p.items_per_second(),
                "requestsPerSecond": p.requests_per_second(),
                "p50Ms": p.percentile(50.0).as_secs_f64() * 1e3,
                "p99Ms": p.percentile(99.0).as_secs_f64() * 1e3,
            })
        };
        json!({
            "batch": phase(&self.batch),
            "single": phase(&self.single),
            "rawItemsPerSecond": self.raw.items_per_second(),
            "rawMethod": self.raw_method,
            "nodes": self.nodes,
            "batchShareOfRaw": self.share_of_raw(),
            "peakRssKiB": self.peak_rss_kib,
            "walBytes": self.wal_bytes,
        })
    }
}
