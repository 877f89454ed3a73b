//! What `plan render` and `export fhir` share: who asks, and one ExportPlan call to a running
//! node, so the node's policy and access log apply as for any other caller.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use kronobarn_node::client::{User, connect};
use kronobarn_node::config::Config;
use kronobarn_proto::v1::{ExportFormat, ExportPlanRequest};

/// Who asks, when the CLI calls a running node's client API; every call is an access record.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// The node's config file: its client API address and CA.
    #[arg(long)]
    config: PathBuf,
    /// The node's client API address, when not the one in the config (e.g. a port chosen at
    /// start, as in the node's ready file).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// File holding the calling system's bearer token (default: clients/local-system.token
    /// next to the config, as `kronobarn init` writes it).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The end user's id, as in the organisation's own systems.
    #[arg(long)]
    user_id: String,
    /// The end user's role.
    #[arg(long, default_value = "staff")]
    role: String,
    /// The end user's unit; it must take part in the plan.
    #[arg(long)]
    unit: String,
    /// Why the plan is read, for the access log.
    #[arg(long)]
    purpose: String,
}

/// Calls ExportPlan on a running node and writes the result, with progress on a terminal.
pub async fn export_through_client(
    client: ClientArgs,
    plan: String,
    format: ExportFormat,
    lang: String,
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    kronobarn_proto::validate::plan_id("--plan", &plan).map_err(|e| anyhow::anyhow!("{e}"))?;
    let loaded = Config::load(&client.config)?;
    let ca = loaded
        .config
        .client_api
        .client_ca
        .clone()
        .context("the config names no client_api.client_ca to trust the node with")?;
    let ca = std::fs::read_to_string(&ca).with_context(|| format!("reading {}", ca.display()))?;
    let token_file = client.token_file.unwrap_or_else(|| {
        client
            .config
            .parent()
            .unwrap_or(Path::new("."))
            .join("clients/local-system.token")
    });
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("--token-file: reading {}", token_file.display()))?
        .trim()
        .to_string();
    let mut addr = client.addr.unwrap_or(loaded.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let user = User {
        token,
        user_id: client.user_id,
        role: client.role,
        unit: client.unit,
        purpose: client.purpose,
    };
    let progress =
        crate::progress::Progress::spinner(&format!("asking the node at {addr} for plan {plan}"));
    let mut api = connect(addr, &ca, None)
        .await
        .with_context(|| format!("cannot reach the node at {addr}"))?
        .max_decoding_message_size(256 << 20);
    let reply = api
        .export_plan(user.req(ExportPlanRequest {
            plan_id: plan.clone(),
            format: format as i32,
            language: lang,
        }))
        .await
        .map_err(|s| anyhow::anyhow!("the node refused: {:?}: {}", s.code(), s.message()))?
        .into_inner();
    progress.finish();
    let out = out.unwrap_or_else(|| PathBuf::from(&reply.file_name));
    kronobarn_node::pki::write_file(&out, &reply.content, false)?;
    println!(
        "wrote {} ({} bytes, {}){}",
        out.display(),
        reply.content.len(),
        reply.media_type,
        if reply.withheld > 0 {
            format!(
                "; {} parts of the plan were left out: this user may not see them",
                reply.withheld
            )
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
