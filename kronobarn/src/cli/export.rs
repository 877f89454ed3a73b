//! `kronobarn export`: a plan for another system, through a running node's client API.

use std::path::PathBuf;
use std::process::ExitCode;

use kronobarn_proto::v1::ExportFormat;

use super::client::{ClientArgs, export_through_client};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write the plan as a FHIR R4 Bundle (CarePlan, Consent, AuditEvent, Organization, Patient).
    Fhir {
        #[command(flatten)]
        client: ClientArgs,
        /// The plan.
        #[arg(long)]
        plan: String,
        /// File to write; defaults to the name the node suggests, in the current folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs one `export` subcommand.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Fhir { client, plan, out } => {
            export_through_client(client, plan, ExportFormat::FhirR4Json, String::new(), out).await
        }
    }
}
