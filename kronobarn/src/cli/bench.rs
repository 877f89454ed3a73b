//! `kronobarn bench`: the benchmarks' arguments.

use std::process::ExitCode;

/// How much to measure.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Operations per figure.
    #[arg(long, default_value_t = 5000)]
    ops: usize,
    /// Revocations to time across the eleven-node county (0 skips the federation figures).
    #[arg(long, default_value_t = 100)]
    revocations: usize,
    /// Plans for the scale figures: restart to serving, memory, catch-up with that many plans
    /// stored (e.g. 100000; takes minutes). 0 skips them.
    #[arg(long, default_value_t = 0)]
    plans: usize,
    /// Plans for the county's indicators at one node: the time to build every plan's facts and
    /// the suppressed set of a year, then again with the access log twice as long (e.g. 100000;
    /// takes minutes). 0 skips them.
    #[arg(long, default_value_t = 0)]
    indicator_plans: usize,
    /// Largest access log for the evidence figures: proof sizes and times, and a guardian's
    /// extract, at 10^3, 10^5 and 10^6 entries up to this size (0 skips them).
    #[arg(long, default_value_t = 1_000_000)]
    log_entries: u64,
}

/// Runs every figure with warnings only in the tracing output.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing("text", "warn");
    crate::bench::run_all(crate::bench::Options {
        ops: args.ops,
        revocations: args.revocations,
        plans: args.plans,
        indicator_plans: args.indicator_plans,
        log_entries: args.log_entries,
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
