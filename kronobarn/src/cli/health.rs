//! `kronobarn health`: ask a running node whether it serves (gRPC health over TLS), for probes
//! and scripts; the exit code says it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use kronobarn_node::config::Config;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Which node to ask.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node's config file (its listen address and CA are used).
    #[arg(long)]
    config: PathBuf,
    /// CA (PEM) to trust for the node's certificate; defaults to client_api.client_ca.
    #[arg(long)]
    ca: Option<PathBuf>,
}

/// Prints the node's serving status; succeeds only when it serves.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(&args.config)?;
    let ca = args
        .ca
        .or(loaded.config.client_api.client_ca.clone())
        .context("--ca: no CA given and the config names no client_api.client_ca")?;
    let ca = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
    let mut addr = loaded.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| format!("cannot reach the node at {addr}"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner()
        .status();
    println!("{}", status.as_str_name());
    Ok(if status == ServingStatus::Serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
