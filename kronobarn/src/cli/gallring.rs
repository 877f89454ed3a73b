//! `kronobarn gallring`: retention on a stopped node — list what is due, or delete it once.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kronobarn_node::config::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node's config file (its `[retention]` rules apply).
    #[arg(long)]
    config: PathBuf,
    /// Only list what would be deleted: plan ids and dates, nothing else.
    #[arg(long)]
    dry_run: bool,
}

/// Lists (or deletes, one atomic batch per plan) what the retention rules say is due today.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(&args.config)?;
    let opened = kronobarn_node::server::open(&loaded).with_context(|| {
        format!(
            "opening {} (stop the node first)",
            loaded.config.data_dir.display()
        )
    })?;
    let due = opened
        .node
        .gallring(&opened.retention, args.dry_run)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let verb = if args.dry_run { "would go" } else { "deleted" };
    for d in &due {
        let rules: Vec<String> = d
            .rules
            .iter()
            .map(|r| {
                if r.authority.is_empty() {
                    "received from others".to_string()
                } else {
                    format!("{} after {} days", r.authority, r.days)
                }
            })
            .collect();
        println!(
            "plan {} closed {}: {} fragment(s) {verb}{} ({})",
            d.plan_id,
            d.closed_on,
            d.fragments,
            if d.complete {
                ", nothing of the plan left but its tombstone and the access log"
            } else {
                ""
            },
            rules.join("; ")
        );
    }
    if due.is_empty() {
        println!("nothing is due");
    }
    Ok(ExitCode::SUCCESS)
}
