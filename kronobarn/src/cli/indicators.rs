//! `kronobarn indicators`: the county report, asked of every roster member by a report reader
//! (over the federation's mutual TLS, as the reader's node), checked, and written to a folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use kronobarn_indicators::Quarter;
use kronobarn_node::config::Config;
use kronobarn_node::federation::connect::PeerTls;
use kronobarn_node::federation::indicators::{IndicatorRequest, collect};
use kronobarn_node::roster::Roster;

/// Which report to make.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The reader's node config (its roster, federation certificate and `[indicators]`
    /// threshold are used; the node may be running).
    #[arg(long)]
    config: PathBuf,
    /// Folder to write index.html, one CSV per table and the signed sets into.
    #[arg(long)]
    out: PathBuf,
    /// First quarter, e.g. 2026-Q1; by default three quarters before `--to`.
    #[arg(long)]
    from: Option<String>,
    /// Last quarter, e.g. 2026-Q4; by default the last quarter that has ended.
    #[arg(long)]
    to: Option<String>,
    /// Seconds to wait for each node.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

fn quarter(flag: &str, s: &str) -> anyhow::Result<Quarter> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: must be a quarter like 2026-Q4"))
}

/// Asks, checks, writes, and says who is missing and why.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing("text", "warn");
    let loaded = Config::load(&args.config)?;
    let cfg = &loaded.config;
    let f = cfg
        .federation
        .as_ref()
        .context("the config has no [federation]: the report is asked over the federation")?;
    let roster = Roster::load(&f.roster)?;
    let tls = PeerTls {
        ca_pem: roster.ca_pem.clone(),
        cert_pem: std::fs::read(&f.tls_cert).context("federation.tls_cert")?,
        key_pem: std::fs::read(&f.tls_key).context("federation.tls_key")?,
    };
    let now = kronobarn_node::clock::system_now_ms;
    let today = Quarter::of(kronobarn_node::node::swedish_day(now()));
    let last = match &args.to {
        Some(s) => quarter("--to", s)?,
        None => today.prev(),
    };
    let first = match &args.from {
        Some(s) => quarter("--from", s)?,
        None => last.prev().prev().prev(),
    };
    if first > last {
        anyhow::bail!("--from: {first} is after --to {last}");
    }
    let req = IndicatorRequest {
        first,
        last,
        threshold: cfg
            .indicators
            .as_ref()
            .map_or(kronobarn_indicators::DEFAULT_THRESHOLD, |i| i.threshold),
    };
    let written = report(
        &roster,
        &tls,
        req,
        &args.out,
        Duration::from_secs(args.timeout_secs),
    )
    .await?;
    Ok(if written.missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        // The report is written, naming who is missing; a script can tell from the code.
        ExitCode::from(2)
    })
}

/// Asks every member of `roster` for `req` as the holder of `tls`, writes the report into `out`
/// and tells a person at the terminal how it went.
pub(crate) async fn report(
    roster: &Roster,
    tls: &PeerTls,
    req: IndicatorRequest,
    out: &std::path::Path,
    timeout: Duration,
) -> anyhow::Result<crate::county_report::Written> {
    let members = roster.members().count();
    println!(
        "Asking {members} organisations for their indicators {}..{} (counts under {} withheld).",
        req.first, req.last, req.threshold
    );
    let mut progress = crate::progress::Progress::bar("answers", members as u64);
    let answers = collect(
        roster,
        tls,
        req,
        timeout,
        kronobarn_node::clock::system_now_ms,
        |n| progress.set(n as u64),
    )
    .await;
    progress.finish();
    let written = crate::county_report::write(out, &answers)?;
    for a in &answers {
        match &a.outcome {
            Ok(_) => println!("   {}: signed set checked", a.name),
            Err((why, detail)) => println!("   {}: MISSING, {} ({detail})", a.name, why.label_sv()),
        }
    }
    println!(
        "Wrote {} with {} of {members} organisations' sets{}; tables as CSV and the signed sets beside it.",
        written.index.display(),
        written.included,
        if written.missing.is_empty() {
            String::new()
        } else {
            format!(", naming the {} missing at the top", written.missing.len())
        }
    );
    Ok(written)
}
