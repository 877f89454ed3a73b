//! `kronobarn plan`: work with a child's plan through a running node's client API.

use std::path::PathBuf;
use std::process::ExitCode;

use kronobarn_proto::v1::ExportFormat;

use super::client::{ClientArgs, export_through_client};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write the plan as a plain-language document for the guardians and the child: only what
    /// the user may see, and the rendering is logged.
    Render {
        #[command(flatten)]
        client: ClientArgs,
        /// The plan.
        #[arg(long)]
        plan: String,
        /// html or pdf.
        #[arg(long, default_value = "html")]
        format: String,
        /// sv (Swedish) or en (English).
        #[arg(long, default_value = "sv")]
        lang: String,
        /// File to write; defaults to the name the node suggests, in the current folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs one `plan` subcommand.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Render {
            client,
            plan,
            format,
            lang,
            out,
        } => {
            let format = match format.as_str() {
                "html" => ExportFormat::Html,
                "pdf" => ExportFormat::Pdf,
                _ => anyhow::bail!("--format: must be html or pdf"),
            };
            if kronobarn_document::Lang::parse(&lang).is_none() {
                anyhow::bail!("--lang: must be sv or en");
            }
            export_through_client(client, plan, format, lang, out).await
        }
    }
}
