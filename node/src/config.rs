//! The node's configuration file (TOML). Paths are relative to the file's folder. Loading checks
//! every field and names the bad one and why.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A node configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This node's organisation id, e.g. "vaxjo-kommun".
    pub organization: String,
    /// Display name of the organisation.
    #[serde(default)]
    pub name: String,
    /// Folder of the embedded database.
    pub data_dir: PathBuf,
    /// File holding the node's ed25519 signing key (hex seed, owner-only permissions).
    pub signing_key: PathBuf,
    /// The client API.
    pub client_api: ClientApi,
    /// Exchange with other organisations' nodes; absent for a node that shares nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation: Option<FederationConfig>,
    /// Prometheus metrics over HTTP; absent to serve none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    /// Logging.
    #[serde(default)]
    pub logging: Logging,
    /// This organisation's authorities and their units (the county's directory for this
    /// organisation; the roster may list the other members'). A unit not listed is an authority of
    /// its own, and cannot be Barnens bästa-ansvarig.
    #[serde(default, rename = "authority", skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<crate::directory::AuthorityEntry>,
    /// Consent rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentConfig>,
    /// Retention (gallring) of this organisation's records of closed plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionConfig>,
    /// Exceptions to the model's rule of who may be a child's Barnens bästa-ansvarig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsibility: Option<ResponsibilityConfig>,
    /// The county's indicators: which members may ask for them, threshold, quarters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicators: Option<crate::federation::indicators::IndicatorsConfig>,
    /// For tests of a node whose clock is wrong only: the node's wall clock runs this many
    /// milliseconds off the machine's (negative: behind). Never set it in production.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub test_clock_offset_ms: i64,
}

/// Consent rules of this organisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    /// Authority kinds whose information needs the young person's own consent from 15 (besides
    /// the guardians'); from 18 the young person alone consents everywhere. Default: health care
    /// (child-health-care, child-psychiatry, maternity-care, primary-care, student-health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_consent_from_15: Option<Vec<String>>,
}

/// How long this organisation's authorities keep their records of a closed plan. Copies received
/// from other organisations go when the plan closes, whatever this says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days after closing for an authority not listed in `authority`. Absent: such an
    /// authority keeps its records (an authority deletes only under a retention decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_days: Option<u32>,
    /// How often the node deletes what is due, in seconds (default 3600).
    #[serde(default = "default_retention_check")]
    pub check_secs: u64,
    /// One rule per authority (`[[retention.authority]]`).
    #[serde(default, rename = "authority", skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<AuthorityRetention>,
}

/// One authority's retention rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRetention {
    /// The authority's directory id (one of this organisation's `[[authority]]` ids, or
    /// `organisation/unit` for a unit the directory does not list).
    pub id: String,
    /// Days after a plan closes that the authority keeps its records of it.
    pub days: u32,
}

fn default_retention_check() -> u64 {
    3600
}

/// Who may be Barnens bästa-ansvarig besides the model's rule (maternity care before birth, BVC
/// or a preschool, the school's principal, KAA for 16 to 20). Every plan created or handed to a
/// unit only by an exception is logged (no personal data) and says so in its access record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityConfig {
    /// This organisation's units that may hold the responsibility whatever the rule says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_units: Vec<String>,
    /// Authority kinds (slugs, as in `[[authority]]`) that may hold it whatever the rule says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_kinds: Vec<String>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Metrics settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the plain-HTTP metrics endpoint (GET /metrics), e.g. "127.0.0.1:9464". Labels
    /// never carry personal data; keep it on an internal network all the same.
    pub listen: String,
}

/// Federation settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// Address to listen on for peers, e.g. "0.0.0.0:7501".
    pub listen: String,
    /// The roster file.
    pub roster: PathBuf,
    /// This node's federation certificate (PEM), issued by the roster's CA, naming the
    /// organisation id as a DNS name.
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// How long a lease this node grants lasts, in seconds (default 300); also how often (a
    /// third of it) this node renews its own leases.
    #[serde(default = "default_lease_ttl")]
    pub lease_ttl_secs: u64,
    /// How often to ask every peer for changes this node may have missed, in seconds (default 60).
    #[serde(default = "default_anti_entropy")]
    pub anti_entropy_secs: u64,
    /// How often to send a signed log checkpoint to every peer to witness, in seconds (default 60).
    #[serde(default = "default_anti_entropy")]
    pub checkpoint_secs: u64,
    /// How far ahead of this node's clock a received version may be, in seconds (default 600).
    /// A peer's version further ahead is refused and sent again later, so a wrong clock at a
    /// peer cannot push this node's versions into the future.
    #[serde(default = "default_max_clock_ahead")]
    pub max_clock_ahead_secs: u64,
}

fn default_max_clock_ahead() -> u64 {
    600
}

fn default_anti_entropy() -> u64 {
    60
}

fn default_lease_ttl() -> u64 {
    300
}

/// Client API settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientApi {
    /// Address to listen on, e.g. "127.0.0.1:7443".
    pub listen: String,
    /// Server certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// Server private key (PEM).
    pub tls_key: PathBuf,
    /// CA (PEM) that client certificates are verified against; without it only tokens work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// Largest request accepted, in bytes.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Systems allowed to call.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Open watch streams (WatchPlan and WatchFollowUps together) one calling system may hold.
    #[serde(default = "default_max_watchers")]
    pub max_watchers_per_client: usize,
}

fn default_max_message() -> usize {
    1 << 20
}

fn default_max_watchers() -> usize {
    kronobarn_gateway::DEFAULT_MAX_WATCHERS_PER_CLIENT
}

/// One calling system.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Client id, written into access records.
    pub id: String,
    /// SHA-256 (hex) of its bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// SHA-256 (hex) of its TLS client certificate (DER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    /// The units this system acts for; a call naming any other unit is refused and logged.
    /// Required: a config without it stops the node at start, naming the client.
    #[serde(default)]
    pub units: Vec<String>,
    /// The roles its users may have; when absent, any role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// "text" or "json".
    #[serde(default = "default_format")]
    pub format: String,
    /// A tracing filter, e.g. "info" or "kronobarn_node=debug,info"; RUST_LOG overrides it.
    #[serde(default = "default_filter")]
    pub filter: String,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            format: default_format(),
            filter: default_filter(),
        }
    }
}

fn default_format() -> String {
    "text".into()
}

fn default_filter() -> String {
    "info".into()
}

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a node configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message, naming the field.
        message: String,
    },
    /// A field has a bad value.
    #[error("{path}: field `{field}`: {problem}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// Why.
        problem: String,
    },
}

/// A loaded configuration with paths resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration, paths made absolute.
    pub config: Config,
    /// The listen address.
    pub listen: SocketAddr,
    /// The federation listen address, when federation is configured.
    pub federation_listen: Option<SocketAddr>,
    /// The file it came from.
    pub path: PathBuf,
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let field = |field: &'static str, problem: String| ConfigError::Field {
            path: path.into(),
            field,
            problem,
        };
        if !kronobarn_proto::ids::is_slug(&config.organization) {
            return Err(field(
                "organization",
                "must be 1-64 of a-z, 0-9, '-', '_', '.'".into(),
            ));
        }
        let listen: SocketAddr = config.client_api.listen.parse().map_err(|e| {
            field(
                "client_api.listen",
                format!("not an address like 127.0.0.1:7443 ({e})"),
            )
        })?;
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        config.data_dir = abs(&config.data_dir);
        config.signing_key = abs(&config.signing_key);
        config.client_api.tls_cert = abs(&config.client_api.tls_cert);
        config.client_api.tls_key = abs(&config.client_api.tls_key);
        config.client_api.client_ca = config.client_api.client_ca.as_deref().map(abs);
        let mut federation_listen = None;
        if let Some(f) = &mut config.federation {
            f.roster = abs(&f.roster);
            f.tls_cert = abs(&f.tls_cert);
            f.tls_key = abs(&f.tls_key);
            federation_listen = Some(f.listen.parse().map_err(|e| {
                field(
                    "federation.listen",
                    format!("not an address like 0.0.0.0:7501 ({e})"),
                )
            })?);
            for (name, p) in [
                ("federation.roster", &f.roster),
                ("federation.tls_cert", &f.tls_cert),
                ("federation.tls_key", &f.tls_key),
            ] {
                if !p.is_file() {
                    return Err(field(
                        name,
                        format!("{} does not exist or is not a file", p.display()),
                    ));
                }
            }
        }
        for (name, p) in [
            ("signing_key", Some(&config.signing_key)),
            ("client_api.tls_cert", Some(&config.client_api.tls_cert)),
            ("client_api.tls_key", Some(&config.client_api.tls_key)),
            ("client_api.client_ca", config.client_api.client_ca.as_ref()),
        ] {
            if let Some(p) = p
                && !p.is_file()
            {
                return Err(field(
                    name,
                    format!("{} does not exist or is not a file", p.display()),
                ));
            }
        }
        if config.client_api.max_watchers_per_client == 0 {
            return Err(field(
                "client_api.max_watchers_per_client",
                "must be at least 1".into(),
            ));
        }
        if config.client_api.max_message_bytes < 1024 {
            return Err(field(
                "client_api.max_message_bytes",
                "must be at least 1024".into(),
            ));
        }
        for c in &config.client_api.clients {
            if !kronobarn_proto::ids::is_slug(&c.id) {
                return Err(field(
                    "client_api.clients.id",
                    "must be 1-64 of a-z, 0-9, '-', '_', '.'".into(),
                ));
            }
            if c.units.is_empty() {
                return Err(field(
                    "client_api.clients.units",
                    format!(
                        "client `{}` lists no units: name the units this system acts for, e.g. units = [\"ostra-skolan\"] (a system may act only for the units it serves)",
                        c.id
                    ),
                ));
            }
            if let Some(bad) = c.units.iter().find(|u| !kronobarn_proto::ids::is_slug(u)) {
                return Err(field(
                    "client_api.clients.units",
                    format!(
                        "client `{}`: unit \"{bad}\" must be 1-64 of a-z, 0-9, '-', '_', '.'",
                        c.id
                    ),
                ));
            }
            match &c.roles {
                Some(r) if r.is_empty() => {
                    return Err(field(
                        "client_api.clients.roles",
                        format!(
                            "client `{}` lists no roles: leave `roles` out to allow any role, or name them",
                            c.id
                        ),
                    ));
                }
                Some(r) => {
                    if let Some(bad) = r.iter().find(|r| !kronobarn_proto::ids::is_slug(r)) {
                        return Err(field(
                            "client_api.clients.roles",
                            format!(
                                "client `{}`: role \"{bad}\" must be 1-64 of a-z, 0-9, '-', '_', '.'",
                                c.id
                            ),
                        ));
                    }
                }
                None => {}
            }
            let is_hash = |h: &Option<String>| {
                h.as_ref()
                    .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            };
            match (&c.token_sha256, &c.cert_sha256) {
                (None, None) => {
                    return Err(field(
                        "client_api.clients",
                        format!("client `{}` needs token_sha256 or cert_sha256", c.id),
                    ));
                }
                (t @ Some(_), _) if !is_hash(t) => {
                    return Err(field(
                        "client_api.clients.token_sha256",
                        "must be 64 hex digits".into(),
                    ));
                }
                (_, t @ Some(_)) if !is_hash(t) => {
                    return Err(field(
                        "client_api.clients.cert_sha256",
                        "must be 64 hex digits".into(),
                    ));
                }
                _ => {}
            }
        }
        if let Some(m) = &config.metrics {
            m.listen.parse::<SocketAddr>().map_err(|e| {
                field(
                    "metrics.listen",
                    format!("not an address like 127.0.0.1:9464 ({e})"),
                )
            })?;
        }
        if config.retention.as_ref().is_some_and(|r| r.check_secs == 0) {
            return Err(field("retention.check_secs", "must be at least 1".into()));
        }
        if let Some(r) = &config.responsibility {
            if let Some(bad) = r
                .allow_units
                .iter()
                .find(|u| !kronobarn_proto::ids::is_slug(u))
            {
                return Err(field(
                    "responsibility.allow_units",
                    format!("unit \"{bad}\" must be 1-64 of a-z, 0-9, '-', '_', '.'"),
                ));
            }
            if let Some(bad) = r
                .allow_kinds
                .iter()
                .find(|k| kronobarn_policy::AuthorityKind::from_slug(k).is_none())
            {
                return Err(field(
                    "responsibility.allow_kinds",
                    format!(
                        "\"{bad}\" is not a kind of authority (school, preschool, child-health-care, maternity-care, activity-responsibility, ...)"
                    ),
                ));
            }
        }
        if let Some(i) = &config.indicators {
            i.check().map_err(|(name, problem)| field(name, problem))?;
        }
        if !matches!(config.logging.format.as_str(), "text" | "json") {
            return Err(field(
                "logging.format",
                "must be \"text\" or \"json\"".into(),
            ));
        }
        Ok(Loaded {
            config,
            listen,
            federation_listen,
            path: path.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deploy_example_matches_the_config_format() {
        let text = include_str!("../../deploy/node.example.toml");
        let c: Config = toml::from_str(text).expect("deploy/node.example.toml parses");
        assert_eq!(c.organization, "vaxjo-kommun");
        assert!(c.federation.is_some());
        assert!(c.client_api.clients.iter().all(|c| !c.units.is_empty()));
        assert!(c.client_api.clients.iter().any(|c| c.roles.is_some()));
        let mut dir = kronobarn_policy::Directory::new();
        crate::directory::add(&mut dir, &c.organization, &c.authorities).expect("directory");
        assert_eq!(
            crate::directory::contacts(&c.organization, &c.authorities).len(),
            1,
            "the school's public contact"
        );
        let r: crate::roster::RosterFile =
            toml::from_str(include_str!("../../deploy/roster.example.toml"))
                .expect("roster example parses");
        assert_eq!(r.members.len(), 2);
        // The members' authorities build one directory, as every node builds it from the roster.
        let mut county = kronobarn_policy::Directory::new();
        for m in &r.members {
            crate::directory::add(&mut county, &m.organization, &m.authorities)
                .expect("the roster's authorities");
        }
        assert_eq!(
            county
                .authority_of("region-kronoberg", "bup-vaxjo")
                .map(|a| a.id.as_str()),
            Some("region-bup")
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let init = crate::init::init(
            dir.path(),
            "vaxjo-kommun",
            "Växjö kommun",
            "127.0.0.1:0",
            &["skola"],
        )
        .unwrap();
        let text = std::fs::read_to_string(&init.config_path).unwrap();
        std::fs::write(&init.config_path, text.replace("127.0.0.1:0", "localhost")).unwrap();
        let e = Config::load(&init.config_path).unwrap_err().to_string();
        assert!(e.contains("client_api.listen"), "{e}");
        std::fs::write(
            &init.config_path,
            text.replace("keys/signing.key", "keys/missing.key"),
        )
        .unwrap();
        let e = Config::load(&init.config_path).unwrap_err().to_string();
        assert!(
            e.contains("signing_key") && e.contains("does not exist"),
            "{e}"
        );
        std::fs::write(&init.config_path, format!("{text}\nunknown_field = 1\n")).unwrap();
        let e = Config::load(&init.config_path).unwrap_err().to_string();
        assert!(e.contains("unknown_field"), "{e}");
    }

    #[test]
    fn a_client_without_units_stops_the_node_naming_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let init =
            crate::init::init(dir.path(), "vaxjo-kommun", "", "127.0.0.1:0", &["skola"]).unwrap();
        let text = std::fs::read_to_string(&init.config_path).unwrap();
        assert!(Config::load(&init.config_path).is_ok());
        // A config from before units were required: the client lists none.
        let old = text.replace("units = [\"skola\"]\n", "");
        assert_ne!(old, text);
        std::fs::write(&init.config_path, &old).unwrap();
        let e = Config::load(&init.config_path).unwrap_err().to_string();
        assert!(
            e.contains("client_api.clients.units") && e.contains("`local-system`"),
            "{e}"
        );
        for (from, to, field) in [
            (
                "units = [\"skola\"]",
                "units = []",
                "client_api.clients.units",
            ),
            (
                "units = [\"skola\"]",
                "units = [\"Östra skolan\"]",
                "client_api.clients.units",
            ),
            (
                "units = [\"skola\"]",
                "units = [\"skola\"]\nroles = []",
                "client_api.clients.roles",
            ),
            (
                "max_watchers_per_client = 64",
                "max_watchers_per_client = 0",
                "client_api.max_watchers_per_client",
            ),
            (
                "max_watchers_per_client = 64",
                "max_watchers_per_client = 64\n[responsibility]\nallow_kinds = [\"polis\"]",
                "responsibility.allow_kinds",
            ),
            (
                "max_watchers_per_client = 64",
                "max_watchers_per_client = 64\n[responsibility]\nallow_units = [\"Elevhälsan\"]",
                "responsibility.allow_units",
            ),
        ] {
            std::fs::write(&init.config_path, text.replacen(from, to, 1)).unwrap();
            let e = Config::load(&init.config_path).unwrap_err().to_string();
            assert!(e.contains(field), "{to}: {e}");
        }
    }

    #[tokio::test]
    async fn retention_rules_name_this_organisations_authorities() {
        let dir = tempfile::tempdir().unwrap();
        let init =
            crate::init::init(dir.path(), "vaxjo-kommun", "", "127.0.0.1:0", &["skola"]).unwrap();
        let text = std::fs::read_to_string(&init.config_path).unwrap();
        let rules = |id: &str| {
            format!(
                "{text}\n[retention]\ndefault_days = 3650\n[[retention.authority]]\nid = \"{id}\"\ndays = 30\n"
            )
        };
        std::fs::write(&init.config_path, rules("vaxjo-kommun/skola")).unwrap();
        let loaded = Config::load(&init.config_path).unwrap();
        let opened = crate::server::open(&loaded).unwrap();
        assert_eq!(opened.retention.days("vaxjo-kommun/skola"), Some(30));
        assert_eq!(opened.retention.days("vaxjo-kommun/ifo"), Some(3650));
        assert!(
            opened
                .node
                .gallring(&opened.retention, true)
                .await
                .unwrap()
                .is_empty()
        );
        drop(opened);
        std::fs::write(&init.config_path, rules("region-kronoberg/bup")).unwrap();
        let loaded = Config::load(&init.config_path).unwrap();
        let e = crate::server::open(&loaded).err().unwrap().to_string();
        assert!(
            e.contains("retention.authority") && e.contains("region-kronoberg/bup"),
            "{e}"
        );
    }
}
