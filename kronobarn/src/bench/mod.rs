//! `kronobarn bench`: local figures for one node on embedded storage in a temp dir.
//!
//! Measures, through the node's own backend (no network): durable fragment writes per second
//! (each signed, written with its access record in one batch, acknowledged after a group-commit
//! flush) and durable access-log appends per second, at several concurrencies; then the same
//! writes through the client API over TLS, client reads, and checkpoints ([`single`]). Then
//! federation figures on loopback ([`federation`]), when asked at a nation's size ([`scale`]), the
//! county's indicators at one node ([`indicators`]), and
//! the access log's proofs and extracts as it grows to 10^6 entries ([`proofs`]).
//! Every figure is also given as a ratio to a ceiling measured in the same run ([`ceilings`]), with
//! its target, in a summary table at the end. Prints figures; asserts nothing.

mod ceilings;
mod federation;
mod fixture;
mod indicators;
mod proofs;
mod report;
mod scale;
mod single;

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `kronobarn bench` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Operations per throughput figure.
    pub ops: usize,
    /// Revocations to time across the county; 0 skips the federation figures.
    pub revocations: usize,
    /// Plans for the scale figures (restart, memory, catch-up with that many plans stored); 0
    /// skips them.
    pub plans: usize,
    /// Plans for the county's indicators at one node (facts and set, then with the log doubled);
    /// 0 skips them.
    pub indicator_plans: usize,
    /// Largest log for the evidence figures (proofs and extracts at 10^3, 10^5, 10^6 entries up
    /// to this size); 0 skips them.
    pub log_entries: u64,
}

/// Measures the ceilings, then every figure, and prints the summary against the ceilings.
pub async fn run_all(opts: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let c = ceilings::measure(dir.path(), opts.ops.clamp(200, 2000)).await?;
    let mut rows = Vec::new();
    single::run(opts.ops, &c, &mut rows).await?;
    if opts.revocations > 0 {
        federation::run(opts.ops, opts.revocations, &c, &mut rows).await?;
    }
    if opts.plans > 0 {
        scale::run(opts.plans, &mut rows).await?;
    }
    if opts.indicator_plans > 0 {
        indicators::run(opts.indicator_plans, &mut rows).await?;
    }
    if opts.log_entries > 0 {
        proofs::run(opts.log_entries, &mut rows).await?;
    }
    report::print(&rows);
    Ok(())
}

pub(crate) use kronobarn_node::work::process_cpu;

/// A throughput and what each operation cost in CPU (every thread of this process, so on the
/// federation figures every node in it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    pub per_s: f64,
    /// Process CPU time per operation, in microseconds.
    pub cpu_us: f64,
}

impl Rate {
    /// `n` operations in `wall`, having used `cpu` of process CPU time.
    pub(crate) fn of(n: usize, wall: Duration, cpu: Duration) -> Self {
        Self {
            per_s: n as f64 / wall.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / n.max(1) as f64,
        }
    }
}

/// The header of the figure lines: what was measured, its rate, its CPU per operation.
pub(crate) fn print_header() {
    println!(
        "{:<52} {:>12} {:>14}",
        "figure", "per second", "CPU µs / op"
    );
}

/// One figure line.
pub(crate) fn print_rate(figure: &str, r: Rate) {
    println!("{figure:<52} {:>12.0} {:>14.0}", r.per_s, r.cpu_us);
}

/// Runs `op` `total` times spread over `concurrency` tasks (task `w` passes `w`); returns
/// operations per second and the process CPU each cost.
async fn rate<F, Fut>(total: usize, concurrency: usize, op: F) -> anyhow::Result<Rate>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let cpu = process_cpu();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        let n = total / concurrency;
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                op(w).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let wall = start.elapsed();
    Ok(Rate::of(
        total / concurrency * concurrency,
        wall,
        process_cpu().saturating_sub(cpu),
    ))
}

/// The `p` quantile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
