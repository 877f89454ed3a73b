//! `kronobarn config`: check a node's configuration without starting it.

use std::path::PathBuf;
use std::process::ExitCode;

use kronobarn_node::config::Config;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check a node configuration (and its roster, keys and certificates) without starting.
    Check {
        /// The config file.
        file: PathBuf,
    },
}

/// Runs one `config` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file } => check(file),
    }
}

/// Loads the config, its signing key and roster as the node would, and says what it found.
fn check(file: PathBuf) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(&file)?;
    let c = &loaded.config;
    kronobarn_node::pki::read_signing_key(&c.signing_key)?;
    let mut lines = vec![format!(
        "organisation {}, client API on {}",
        c.organization, loaded.listen
    )];
    if let Some(f) = &c.federation {
        let roster = kronobarn_node::roster::Roster::load(&f.roster)?;
        if roster.member(&c.organization).is_none() {
            anyhow::bail!(
                "federation.roster: {} is not a member of {}",
                c.organization,
                f.roster.display()
            );
        }
        lines.push(format!(
            "federation on {} with {} roster members, leases {} s",
            loaded
                .federation_listen
                .map(|a| a.to_string())
                .unwrap_or_default(),
            roster.members().count(),
            f.lease_ttl_secs
        ));
    }
    println!("ok: {}", lines.join("; "));
    Ok(ExitCode::SUCCESS)
}
