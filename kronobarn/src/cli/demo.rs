//! `kronobarn demo`: the county demo's arguments.

use std::path::PathBuf;
use std::process::ExitCode;

/// Where the demo writes the family's document.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder for the rendered plan (HTML, PDF) and its FHIR export.
    #[arg(long, default_value = "kronobarn-demo")]
    out: PathBuf,
    /// Instead: a year of invented plans at four schools on a hand-moved county clock, then the
    /// county report Region Kronoberg asks every node for (written to OUT/county-report).
    #[arg(long)]
    indicators: bool,
}

/// Runs the demo with warnings only in the tracing output, so the story stays readable.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing("text", "warn");
    if args.indicators {
        crate::demo::indicators::run(&args.out).await?;
    } else {
        crate::demo::run(&args.out).await?;
    }
    Ok(ExitCode::SUCCESS)
}
