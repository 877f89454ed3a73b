//! A whole federation on one machine: node folders sharing a development CA and a roster, each
//! node started in this process on loopback. Used by `kronobarn demo` (and benchmarks).

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::init::Initialised;
use crate::pki::{DevCa, write_file};
use crate::roster::Kind;
use crate::server::Running;

/// The eleven organisations of Kronoberg county's model.
pub const KRONOBERG: [(&str, &str, Kind); 11] = [
    ("alvesta-kommun", "Alvesta kommun", Kind::Municipality),
    ("lessebo-kommun", "Lessebo kommun", Kind::Municipality),
    ("ljungby-kommun", "Ljungby kommun", Kind::Municipality),
    ("markaryd-kommun", "Markaryds kommun", Kind::Municipality),
    ("tingsryd-kommun", "Tingsryds kommun", Kind::Municipality),
    ("uppvidinge-kommun", "Uppvidinge kommun", Kind::Municipality),
    ("vaxjo-kommun", "Växjö kommun", Kind::Municipality),
    ("almhult-kommun", "Älmhults kommun", Kind::Municipality),
    ("region-kronoberg", "Region Kronoberg", Kind::Region),
    ("polisen", "Polismyndigheten", Kind::Police),
    (
        "barnens-vanner",
        "Barnens vänner (idéburen)",
        Kind::Voluntary,
    ),
];

/// One running member.
pub struct Member {
    /// Organisation id.
    pub organization: String,
    /// Display name.
    pub name: String,
    /// What `init` wrote (token, CA).
    pub init: Initialised,
    /// The running node.
    pub running: Running,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Writes a node folder per organisation under `dir` (one CA, one roster, federation on
/// loopback) and starts every node. `lease_ttl_secs` is the lease lifetime.
pub async fn start(
    dir: &Path,
    orgs: &[(&str, &str, Kind)],
    lease_ttl_secs: u64,
) -> anyhow::Result<Vec<Member>> {
    let ca = DevCa::new("Kronobarn development county CA")?;
    let mut folders = Vec::new();
    let mut roster =
        "# Development roster written by the demo.\nca = \"county-ca.crt\"\n\n".to_string();
    for (org, name, kind) in orgs {
        let folder = dir.join(org);
        let init = crate::init::init(&folder, org, "127.0.0.1:0")?;
        let key = crate::pki::read_signing_key(&folder.join("keys/signing.key"))?;
        let port = free_port()?;
        roster.push_str(&toml::to_string(&RosterMember {
            member: vec![crate::roster::MemberEntry {
                organization: org.to_string(),
                name: name.to_string(),
                kind: *kind,
                endpoint: format!("https://127.0.0.1:{port}"),
                signing_key: hex::encode(key.verifying_key().as_bytes()),
            }],
        })?);
        roster.push('\n');
        folders.push((org.to_string(), name.to_string(), folder, init, port));
    }
    write_file(&dir.join("county-ca.crt"), ca.cert_pem.as_bytes(), false)?;
    write_file(&dir.join("roster.toml"), roster.as_bytes(), false)?;
    let mut members = Vec::new();
    for (org, name, folder, init, port) in folders {
        let cert = ca.leaf(&org, &[&org])?;
        write_file(
            &folder.join("tls/federation.crt"),
            cert.cert_pem.as_bytes(),
            false,
        )?;
        write_file(
            &folder.join("tls/federation.key"),
            cert.key_pem.as_bytes(),
            true,
        )?;
        let mut config = std::fs::read_to_string(&init.config_path)?;
        config.push_str(&format!(
            "\n[federation]\nlisten = \"127.0.0.1:{port}\"\nroster = \"../roster.toml\"\ntls_cert = \"tls/federation.crt\"\ntls_key = \"tls/federation.key\"\nlease_ttl_secs = {lease_ttl_secs}\n"
        ));
        std::fs::write(&init.config_path, config)?;
        let loaded = Config::load(&init.config_path)?;
        let running = crate::server::start(&loaded)
            .await
            .with_context(|| format!("starting {org}"))?;
        members.push(Member {
            organization: org,
            name,
            init,
            running,
        });
    }
    Ok(members)
}

#[derive(serde::Serialize)]
struct RosterMember {
    member: Vec<crate::roster::MemberEntry>,
}
