//! The instrumentation scenario (issue 5): what info logs, metrics and
//! per-key limits cost.
//!
//! Each round starts two fresh servers, one with them and one without, and
//! sends each the same batches and single items, alternating which goes
//! first; the single items go in short alternating turns. This machine's
//! speed drifts by more than the effect measured (single items by a third
//! within seconds), so the figures reported are medians over rounds of
//! each round's own ratio: both halves of a round, and both servers' turns
//! side by side, meet nearly the same machine. Run with both servers
//! instrumented (A/A), the method read 1.011 for single items.

use std::path::Path;

use anyhow::Context;
use std::time::Duration;

use crate::load;
use crate::server::{Instrumentation, Server, Target};

/// What each round sends to each server.
pub(crate) struct Rounds {
    pub(crate) rounds: usize,
    pub(crate) batch_clients: usize,
    pub(crate) batches: usize,
    pub(crate) batch_items: usize,
    pub(crate) single_clients: usize,
    pub(crate) singles: usize,
}

/// What one round measured on one server.
#[derive(Debug, Clone, Copy)]
struct Round {
    /// Batch items per second.
    batch_rate: f64,
    /// Single-item requests per second.
    single_rate: f64,
    /// Server CPU microseconds per batch item.
    batch_cpu_us: f64,
    /// Server CPU microseconds per single-item request.
    single_cpu_us: f64,
}

pub(crate) async fn run(
    inlet: &Path,
    dir: &Path,
    plan: &Rounds,
    cap: Duration,
    json: bool,
) -> anyhow::Result<()> {
    let mut rounds: Vec<(Round, Round)> = Vec::with_capacity(plan.rounds);
    for round in 0..plan.rounds {
        // Fresh servers on fresh data dirs every round, which one starts
        // (and stores) first and which one is measured first alternating:
        // an A/A run of this loop showed a server keeping its data dir over
        // rounds running ~6 % slower than its twin for no other reason.
        let (first, second) = (
            dir.join(format!("{round}-a")),
            dir.join(format!("{round}-b")),
        );
        let on_first = round % 2 == 0;
        let (on_dir, off_dir) = if on_first {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let (on_target, off_target) = (
            Target::DataDir(on_dir.clone()),
            Target::DataDir(off_dir.clone()),
        );
        let start = |target, mode| Server::start(inlet, target, 1, mode);
        let (on, off) = if on_first {
            let on = start(&on_target, Instrumentation::On).await?;
            (on, start(&off_target, Instrumentation::Off).await?)
        } else {
            let off = start(&off_target, Instrumentation::Off).await?;
            (start(&on_target, Instrumentation::On).await?, off)
        };
        let (with, without) = paired_round(&on, &off, on_first, plan, cap).await?;
        drop((on, off));
        for dir in [&first, &second] {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        if !json {
            println!(
                "round {:>2}: batches {:>6.0} / {:>6.0} items/s, {:>5.1} / {:>5.1} µs CPU each   \
                 singles {:>6.0} / {:>6.0} requests/s, {:>5.1} / {:>5.1} µs CPU each   (on / off)",
                round + 1,
                with.batch_rate,
                without.batch_rate,
                with.batch_cpu_us,
                without.batch_cpu_us,
                with.single_rate,
                without.single_rate,
                with.single_cpu_us,
                without.single_cpu_us,
            );
        }
        rounds.push((with, without));
    }
    let summary = |field: fn(&Round) -> f64| Summary {
        on: median(rounds.iter().map(|(on, _)| field(on))),
        off: median(rounds.iter().map(|(_, off)| field(off))),
        ratio: median(rounds.iter().map(|(on, off)| field(on) / field(off))),
    };
    let figures = [
        ("batch items/s", summary(|r| r.batch_rate)),
        ("batch server CPU µs/item", summary(|r| r.batch_cpu_us)),
        ("single requests/s", summary(|r| r.single_rate)),
        ("single server CPU µs/request", summary(|r| r.single_cpu_us)),
    ];
    if json {
        let object: serde_json::Map<String, serde_json::Value> = figures
            .iter()
            .map(|(name, s)| {
                let value = serde_json::json!({"on": s.on, "off": s.off, "medianRatio": s.ratio});
                ((*name).to_owned(), value)
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"rounds": plan.rounds, "medians": object})
        );
    } else {
        println!("medians over {} rounds:", plan.rounds);
        for (name, s) in figures {
            println!(
                "  {name:<30} on {:>9.1}   off {:>9.1}   on/off {:>6.3}",
                s.on, s.off, s.ratio
            );
        }
    }
    Ok(())
}

/// Medians of one figure: of each server's values, and of the per-round
/// ratio on / off.
struct Summary {
    on: f64,
    off: f64,
    ratio: f64,
}

/// Single items go to the two servers in this many turns each, alternating:
/// this machine's speed swings by a third within seconds, and short turns
/// side by side meet nearly the same machine.
const SINGLE_TURNS: usize = 10;

/// One round against two fresh servers: each one's batch phase, then the
/// single items in [`SINGLE_TURNS`] alternating turns. `on_first` says which
/// server goes first in the batch phase and in the first turn.
async fn paired_round(
    on: &Server,
    off: &Server,
    on_first: bool,
    plan: &Rounds,
    cap: Duration,
) -> anyhow::Result<(Round, Round)> {
    let (on_batches, off_batches) = if on_first {
        let on_batches = batch_phase(on, plan, cap).await?;
        (on_batches, batch_phase(off, plan, cap).await?)
    } else {
        let off_batches = batch_phase(off, plan, cap).await?;
        (batch_phase(on, plan, cap).await?, off_batches)
    };
    let per_turn = plan.singles.div_ceil(SINGLE_TURNS);
    let (mut on_singles, mut off_singles) = (Turns::default(), Turns::default());
    for turn in 0..SINGLE_TURNS {
        let numbered_from = turn * per_turn;
        let count = per_turn.min(plan.singles.saturating_sub(numbered_from));
        if count == 0 {
            break;
        }
        let on_leads = on_first == (turn % 2 == 0);
        for on_turn in [on_leads, !on_leads] {
            let (server, turns) = if on_turn {
                (on, &mut on_singles)
            } else {
                (off, &mut off_singles)
            };
            turns.add(server, plan, count, numbered_from, cap).await?;
        }
    }
    Ok((
        on_batches.with_singles(&on_singles),
        off_batches.with_singles(&off_singles),
    ))
}

/// A server's batch phase: its rate and server CPU per item; the single
/// items are filled in by [`Round::with_singles`].
async fn batch_phase(server: &Server, plan: &Rounds, cap: Duration) -> anyhow::Result<Round> {
    let before = server.cpu_seconds().unwrap_or(f64::NAN);
    let batch = load::batches(
        server,
        plan.batch_clients,
        plan.batches,
        plan.batch_items,
        0,
        cap,
    )
    .await?;
    let after = server.cpu_seconds().unwrap_or(f64::NAN);
    Ok(Round {
        batch_rate: batch.items_per_second(),
        single_rate: f64::NAN,
        batch_cpu_us: (after - before) * 1e6 / batch.items as f64,
        single_cpu_us: f64::NAN,
    })
}

/// One server's single-item turns, summed.
#[derive(Default)]
struct Turns {
    requests: usize,
    elapsed: Duration,
    cpu_seconds: f64,
}

impl Turns {
    /// Sends `count` single items numbered from `numbered_from` to `server`.
    async fn add(
        &mut self,
        server: &Server,
        plan: &Rounds,
        count: usize,
        numbered_from: usize,
        cap: Duration,
    ) -> anyhow::Result<()> {
        let before = server.cpu_seconds().unwrap_or(f64::NAN);
        let phase = load::singles(server, plan.single_clients, count, numbered_from, cap).await?;
        self.cpu_seconds += server.cpu_seconds().unwrap_or(f64::NAN) - before;
        self.requests += phase.requests;
        self.elapsed += phase.elapsed;
        Ok(())
    }
}

impl Round {
    fn with_singles(self, turns: &Turns) -> Self {
        Self {
            single_rate: turns.requests as f64 / turns.elapsed.as_secs_f64(),
            single_cpu_us: turns.cpu_seconds * 1e6 / turns.requests as f64,
            ..self
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_takes_the_middle_value() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert!(median(std::iter::empty()).is_nan());
    }
}
