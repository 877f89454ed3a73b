//! The `kronobarn` command line: parsing and dispatch. Each command group lives in its own module
//! with its arguments and what it does; this is the binary's edge, so errors are `anyhow` here.

mod bench;
mod client;
mod config;
mod demo;
mod export;
mod gallring;
mod health;
pub(crate) mod indicators;
mod init;
mod log;
mod node;
mod pki;
mod plan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kronobarn: one organisation's node in the county's federation for the child's plan.
#[derive(Parser, Debug)]
#[command(name = "kronobarn", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a new node folder: config, signing key, development TLS certificates, a client token.
    Init(init::Args),
    /// Run a node.
    Node(node::Args),
    /// Ask a running node whether it serves (gRPC health over TLS), for probes and scripts.
    Health(health::Args),
    /// Development PKI: a county CA, node folders and the roster for a whole federation.
    Pki {
        #[command(subcommand)]
        command: pki::Command,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: config::Command,
    },
    /// Work with the access log.
    Log {
        #[command(subcommand)]
        command: log::Command,
    },
    /// Work with a child's plan through a running node's client API.
    Plan {
        #[command(subcommand)]
        command: plan::Command,
    },
    /// Export a plan for another system through a running node's client API.
    Export {
        #[command(subcommand)]
        command: export::Command,
    },
    /// Retention (gallring) on a stopped node: delete what the `[retention]` rules say is due
    /// today, one atomic batch per plan, or with --dry-run only list it (plan ids and dates).
    Gallring(gallring::Args),
    /// The county report: ask every roster member for its signed indicator set (as a report
    /// reader its config names), check each, and write the report, the tables and the sets.
    Indicators(indicators::Args),
    /// Walk a child's plan through the practice model across the county's eleven nodes, in
    /// plain words, writing the plan as a document for the family into a folder.
    Demo(demo::Args),
    /// Print figures of nodes on throw-away data dirs, each against a ceiling measured in the same
    /// run.
    Bench(bench::Args),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Node(args) => node::run(args).await,
        Command::Health(args) => health::run(args).await,
        Command::Pki { command } => pki::run(command),
        Command::Config { command } => config::run(command),
        Command::Log { command } => log::run(command).await,
        Command::Plan { command } => plan::run(command).await,
        Command::Export { command } => export::run(command).await,
        Command::Gallring(args) => gallring::run(args).await,
        Command::Indicators(args) => indicators::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
    }
}

/// Sends tracing output to stderr (with colours only on a terminal), filtered by `RUST_LOG` when
/// set, else by `filter`; `format` "json" gives one JSON object a line.
fn init_tracing(format: &str, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(tty)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}
