//! `kronobarn pki`: development PKI for a whole federation (a county CA, the roster and one node
//! folder per member), for trying a federation on real hosts before the county's PKI exists.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::county::{KRONOBERG, Placement};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write a county CA, one node folder per member and their shared roster.
    County {
        /// Folder to write into (must not hold a node folder of the same name).
        #[arg(long)]
        dir: PathBuf,
        /// A member as ORGANISATION=HOST: its id and the host name peers reach it by; repeat.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        /// Federation port on every host.
        #[arg(long, default_value_t = 7501)]
        federation_port: u16,
        /// Client API address every node listens on.
        #[arg(long, default_value = "0.0.0.0:7443")]
        client_listen: String,
    },
}

/// Runs one `pki` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::County {
            dir,
            members,
            federation_port,
            client_listen,
        } => county(&dir, &members, federation_port, &client_listen),
    }
}

/// Writes the county's folders; members known from Kronoberg get their kind, others count as
/// municipalities.
fn county(
    dir: &Path,
    members: &[String],
    federation_port: u16,
    client_listen: &str,
) -> anyhow::Result<ExitCode> {
    let mut placements = Vec::new();
    for m in members {
        let (org, host) = m
            .split_once('=')
            .with_context(|| format!("--member {m}: expected ORGANISATION=HOST"))?;
        let kind = KRONOBERG
            .iter()
            .find(|(o, _, _)| *o == org)
            .map_or(kronobarn_node::roster::Kind::Municipality, |(_, _, k)| *k);
        placements.push(Placement {
            organization: org.to_string(),
            name: org.to_string(),
            kind,
            host: host.to_string(),
            federation_port,
            client_listen: client_listen.to_string(),
            federation_listen: format!("0.0.0.0:{federation_port}"),
        });
    }
    let written = crate::county::write(dir, &placements, 300)?;
    println!("Wrote a development county in {}:", dir.display());
    println!("  county-ca.crt, roster.toml ({} members)", written.len());
    for w in &written {
        println!(
            "  {}/  config {}",
            w.organization,
            w.init.config_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
