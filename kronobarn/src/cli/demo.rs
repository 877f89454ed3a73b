//! `kronobarn demo`: the county demo's arguments.

use std::path::PathBuf;
use std::process::ExitCode;

/// Where the demo writes the family's document.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder for the rendered plan (HTML, PDF) and its FHIR export.
    #[arg(long, default_value = "kronobarn-demo")]
    out: PathBuf,
}

/// Runs the demo with warnings only in the tracing output, so the story stays readable.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing("text", "warn");
    crate::demo::run(&args.out).await?;
    Ok(ExitCode::SUCCESS)
}
