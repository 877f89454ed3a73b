//! `kronobarn init`: a new node folder, and where everything in it went.

use std::path::PathBuf;
use std::process::ExitCode;

/// Where to write the node and for whom.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder to create.
    #[arg(long)]
    dir: PathBuf,
    /// Organisation id, e.g. vaxjo-kommun.
    #[arg(long)]
    organization: String,
    /// Display name, e.g. "Växjö kommun": shown in documents for guardians.
    #[arg(long, default_value = "")]
    name: String,
    /// Client API address.
    #[arg(long, default_value = "127.0.0.1:7443")]
    listen: String,
    /// A unit the node's client system acts for, e.g. ostra-skolan; repeat for more (or give
    /// them comma-separated). A call naming any other unit is refused and logged.
    #[arg(long = "unit", required = true, value_delimiter = ',')]
    units: Vec<String>,
}

/// Writes the folder and says what is in it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        dir,
        organization,
        name,
        listen,
        units,
    } = args;
    let units: Vec<&str> = units.iter().map(String::as_str).collect();
    let i = kronobarn_node::init::init(&dir, &organization, &name, &listen, &units)?;
    println!("Wrote a node for {organization} in {}:", dir.display());
    println!("  config        {}", i.config_path.display());
    println!("  signing key   {}", dir.join("keys/signing.key").display());
    println!(
        "  TLS           {} (development CA: tls/ca.crt)",
        dir.join("tls").display()
    );
    println!(
        "  client token  {} (system id {}, acting for {})",
        dir.join(format!("clients/{}.token", i.client_id)).display(),
        i.client_id,
        units.join(", ")
    );
    println!(
        "Start it with: kronobarn node --config {}",
        i.config_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
