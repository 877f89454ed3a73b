//! A whole federation on one machine: node folders sharing a development CA and a roster, each
//! node started in this process on loopback. Used by `kronobarn demo` (and benchmarks).

use std::path::Path;

use anyhow::Context;

use kronobarn_node::config::Config;
use kronobarn_node::init::Initialised;
use kronobarn_node::pki::{DevCa, write_file};
use kronobarn_node::roster::Kind;
use kronobarn_node::server::Running;

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
        "Föreningen Barnens vänner",
        Kind::Voluntary,
    ),
];

/// The member that reads the development county's indicators for the steering group.
pub const REPORT_READER: &str = "region-kronoberg";

/// The units a development node's client system acts for, by kind of organisation: the units
/// the demo's story and the examples use. One system per node serves them all here; in
/// production each system lists only the units it serves.
pub fn development_units(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Municipality => &["ostra-skolan", "forskola", "elevhalsan", "fritids", "ifo"],
        Kind::Region => &["bvc", "bup", "bup-vaxjo", "mvc"],
        Kind::Police => &["ungdomsgruppen"],
        Kind::Voluntary => &["laxhjalp"],
    }
}

/// A development organisation's authorities and units: a municipality's school (with student
/// health and leisure), preschool and social services are separate authorities; the region's
/// BVC, BUP and maternity care too; the Police and an association are one authority each.
pub fn development_directory(
    organization: &str,
    name: &str,
    kind: Kind,
) -> Vec<kronobarn_node::directory::AuthorityEntry> {
    use kronobarn_node::directory::{AuthorityEntry, UnitEntry};
    let unit = |id: &str, serves: &[&str]| UnitEntry {
        id: id.into(),
        serves: serves.iter().map(|s| s.to_string()).collect(),
        contact: None,
        municipality: None,
    };
    // The region's units are counted in the county's indicators for Växjö, where they are.
    let in_municipality = |id: &str, municipality: &str| UnitEntry {
        municipality: Some(municipality.into()),
        ..unit(id, &[])
    };
    let authority = |suffix: &str, kind: &str, title: &str, units: Vec<UnitEntry>| AuthorityEntry {
        id: format!("{organization}-{suffix}"),
        kind: kind.into(),
        // The document adds the organisation: "BUP, Region Kronoberg".
        name: title.to_string(),
        whole_organization: false,
        units,
        municipality: None,
    };
    let whole = |kind: &str, units: Vec<UnitEntry>| AuthorityEntry {
        id: organization.to_string(),
        kind: kind.into(),
        name: name.to_string(),
        whole_organization: true,
        units,
        municipality: None,
    };
    // Public codes of the development county's schools, preschools and BVC: invented.
    let code = |prefix: &str| {
        let seed = format!("{prefix}:{organization}")
            .bytes()
            .fold(1_469_598_103_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
            });
        format!("{prefix}:{}", seed % 90_000_000 + 10_000_000)
    };
    match kind {
        Kind::Municipality => vec![
            authority(
                "skola",
                "school",
                "Skolan",
                vec![
                    unit("ostra-skolan", &[&code("school")]),
                    unit("elevhalsan", &[]),
                    unit("fritids", &[]),
                ],
            ),
            authority(
                "forskola",
                "preschool",
                "Förskolan",
                vec![unit("forskola", &[&code("preschool")])],
            ),
            authority(
                "socialtjanst",
                "social-services",
                "Socialtjänsten",
                vec![unit("ifo", &[])],
            ),
        ],
        Kind::Region => vec![
            authority(
                "bvc",
                "child-health-care",
                "BVC",
                vec![UnitEntry {
                    municipality: Some("vaxjo".into()),
                    ..unit("bvc", &[&code("bvc")])
                }],
            ),
            authority(
                "bup",
                "child-psychiatry",
                "BUP",
                vec![
                    in_municipality("bup", "vaxjo"),
                    in_municipality("bup-vaxjo", "vaxjo"),
                ],
            ),
            authority(
                "mvc",
                "maternity-care",
                "Mödravården",
                vec![UnitEntry {
                    municipality: Some("vaxjo".into()),
                    ..unit("mvc", &[&code("maternity")])
                }],
            ),
        ],
        Kind::Police => vec![whole("police", vec![unit("ungdomsgruppen", &[])])],
        Kind::Voluntary => vec![whole("voluntary", vec![unit("laxhjalp", &[])])],
    }
}

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

/// A port for a node of the county, chosen below the kernel's usual ephemeral range (32768 and
/// up), so no outgoing connection or port-0 bind elsewhere can take it between the choice and the
/// node's bind.
fn free_port() -> anyhow::Result<u16> {
    use rand::Rng;
    for _ in 0..1000 {
        let port = rand::thread_rng().gen_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port between 20000 and 32000 on 127.0.0.1")
}

/// Where one member listens, for [`write`].
pub struct Placement {
    /// Organisation id.
    pub organization: String,
    /// Display name.
    pub name: String,
    /// Kind of organisation.
    pub kind: Kind,
    /// Host name or address peers use to reach it.
    pub host: String,
    /// Federation port.
    pub federation_port: u16,
    /// Client API address it listens on, e.g. "127.0.0.1:0" or "0.0.0.0:7443".
    pub client_listen: String,
    /// Federation address it listens on, e.g. "127.0.0.1:7501" or "0.0.0.0:7501".
    pub federation_listen: String,
}

/// A member's folder as written by [`write`].
pub struct Written {
    /// Organisation id.
    pub organization: String,
    /// Display name.
    pub name: String,
    /// What `init` wrote.
    pub init: Initialised,
}

/// Writes one node folder per member under `dir`, a development county CA (`county-ca.crt`) and
/// the roster (`roster.toml`) they share, each config with federation switched on.
pub fn write(
    dir: &Path,
    members: &[Placement],
    lease_ttl_secs: u64,
) -> anyhow::Result<Vec<Written>> {
    let ca = DevCa::new("Kronobarn development county CA")?;
    // Region Kronoberg reads the county's indicators for the steering group, when it is a member.
    let readers = if members.iter().any(|m| m.organization == REPORT_READER) {
        format!("\n[indicators]\nreaders = [\"{REPORT_READER}\"]\n")
    } else {
        String::new()
    };
    let mut roster = "# Development roster.\nca = \"county-ca.crt\"\n\n".to_string();
    let mut written = Vec::new();
    for m in members {
        let folder = dir.join(&m.organization);
        let init = kronobarn_node::init::init(
            &folder,
            &m.organization,
            &m.name,
            &m.client_listen,
            development_units(m.kind),
        )?;
        let key = kronobarn_node::pki::read_signing_key(&folder.join("keys/signing.key"))?;
        roster.push_str(&toml::to_string(&RosterMember {
            member: vec![kronobarn_node::roster::MemberEntry {
                organization: m.organization.clone(),
                name: m.name.clone(),
                kind: m.kind,
                endpoint: format!("https://{}:{}", m.host, m.federation_port),
                signing_key: hex::encode(key.verifying_key().as_bytes()),
                previous_signing_key: None,
                previous_key_valid_until: None,
                authorities: development_directory(&m.organization, &m.name, m.kind),
            }],
        })?);
        roster.push('\n');
        let cert = ca.leaf(&m.organization, &[m.organization.as_str(), m.host.as_str()])?;
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
            "\n[federation]\nlisten = \"{}\"\nroster = \"../roster.toml\"\ntls_cert = \"tls/federation.crt\"\ntls_key = \"tls/federation.key\"\nlease_ttl_secs = {lease_ttl_secs}\n",
            m.federation_listen
        ));
        config.push_str(&readers);
        std::fs::write(&init.config_path, config)?;
        written.push(Written {
            organization: m.organization.clone(),
            name: m.name.clone(),
            init,
        });
    }
    write_file(&dir.join("county-ca.crt"), ca.cert_pem.as_bytes(), false)?;
    write_file(&dir.join("roster.toml"), roster.as_bytes(), false)?;
    Ok(written)
}

/// Writes a node folder per organisation under `dir` (one CA, one roster, federation on
/// loopback) and starts every node in this process. `lease_ttl_secs` is the lease lifetime.
pub async fn start(
    dir: &Path,
    orgs: &[(&str, &str, Kind)],
    lease_ttl_secs: u64,
) -> anyhow::Result<Vec<Member>> {
    start_with(dir, orgs, lease_ttl_secs, std::time::Duration::ZERO, None).await
}

/// As [`start`], with every federation link `delay` late in each direction (through a proxy in
/// front of each node), as a real network between organisations would be.
pub async fn start_with_delay(
    dir: &Path,
    orgs: &[(&str, &str, Kind)],
    lease_ttl_secs: u64,
    delay: std::time::Duration,
) -> anyhow::Result<Vec<Member>> {
    start_with(dir, orgs, lease_ttl_secs, delay, None).await
}

/// As [`start`], every node on the one `clock` (a demo's hand-moved county clock).
pub async fn start_on(
    dir: &Path,
    orgs: &[(&str, &str, Kind)],
    lease_ttl_secs: u64,
    clock: kronobarn_node::clock::Clock,
) -> anyhow::Result<Vec<Member>> {
    start_with(
        dir,
        orgs,
        lease_ttl_secs,
        std::time::Duration::ZERO,
        Some(clock),
    )
    .await
}

async fn start_with(
    dir: &Path,
    orgs: &[(&str, &str, Kind)],
    lease_ttl_secs: u64,
    delay: std::time::Duration,
    clock: Option<kronobarn_node::clock::Clock>,
) -> anyhow::Result<Vec<Member>> {
    let mut placements = Vec::new();
    for (org, name, kind) in orgs {
        let port = free_port()?;
        let reached_at = if delay.is_zero() {
            port
        } else {
            let proxy = free_port()?;
            crate::delay::start(
                ([127, 0, 0, 1], proxy).into(),
                ([127, 0, 0, 1], port).into(),
                delay,
            )
            .await?;
            proxy
        };
        placements.push(Placement {
            organization: org.to_string(),
            name: name.to_string(),
            kind: *kind,
            host: "127.0.0.1".into(),
            federation_port: reached_at,
            client_listen: "127.0.0.1:0".into(),
            federation_listen: format!("127.0.0.1:{port}"),
        });
    }
    let mut members = Vec::new();
    for w in write(dir, &placements, lease_ttl_secs)? {
        let loaded = Config::load(&w.init.config_path)?;
        let running = match &clock {
            Some(c) => kronobarn_node::server::start_on(&loaded, c.clone()).await,
            None => kronobarn_node::server::start(&loaded).await,
        }
        .with_context(|| format!("starting {}", w.organization))?;
        members.push(Member {
            organization: w.organization,
            name: w.name,
            init: w.init,
            running,
        });
    }
    Ok(members)
}

#[derive(serde::Serialize)]
struct RosterMember {
    member: Vec<kronobarn_node::roster::MemberEntry>,
}
