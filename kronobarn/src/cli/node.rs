//! `kronobarn node`: run one organisation's node until SIGTERM or Ctrl-C, then stop it cleanly.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kronobarn_node::config::{Config, Loaded};

/// Which node to run.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node's config file.
    #[arg(long)]
    config: PathBuf,
    /// Write `client_api=<addr>` (and `federation=<addr>`) to this file once serving.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

/// Serves until a signal, then lets the workers finish their round and flushes everything.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(&args.config)?;
    super::init_tracing(&loaded.config.logging.format, &loaded.config.logging.filter);
    serve_metrics(&loaded)?;
    let mut running = kronobarn_node::server::start(&loaded).await?;
    if let Some(f) = args.ready_file {
        // The last line is written last, so a reader that sees it sees the whole file.
        let mut text = String::new();
        if let Some(a) = running.federation_addr {
            text.push_str(&format!("federation={a}\n"));
        }
        text.push_str(&format!("client_api={}\n", running.client_addr));
        // Written whole and then renamed, so a reader never sees half of it.
        let tmp = f.with_extension("tmp");
        kronobarn_node::pki::write_file(&tmp, text.as_bytes(), false)?;
        std::fs::rename(&tmp, &f)?;
    }
    let node = running.node.clone();
    tokio::select! {
        r = shutdown_signal() => r?,
        r = running.wait() => return r.map(|_| ExitCode::FAILURE),
    }
    tracing::info!("shutting down");
    // Workers finish their round (a last checkpoint goes to the witnesses), then the servers stop
    // and everything is flushed.
    running.stop().await?;
    node.durable()
        .await
        .map_err(|e| anyhow::anyhow!("final flush: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Serves Prometheus metrics at `/metrics` when the config has a `[metrics]` section.
fn serve_metrics(loaded: &Loaded) -> anyhow::Result<()> {
    let Some(m) = &loaded.config.metrics else {
        return Ok(());
    };
    let addr: std::net::SocketAddr = m.listen.parse()?;
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0,
        ])?
        .install()
        .context("metrics.listen")?;
    tracing::info!(addr = %addr, "metrics serving at /metrics");
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
