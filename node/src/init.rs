//! `kronobarn init`: a working node folder with a config, a signing key, development TLS
//! certificates and one client token.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{Client, ClientApi, Config, Logging};
use crate::pki::{DevCa, new_signing_key, write_file};

/// What `init` wrote.
pub struct Initialised {
    /// The config file.
    pub config_path: PathBuf,
    /// The client token (also written to `clients/<id>.token`).
    pub token: String,
    /// The client id the token belongs to.
    pub client_id: String,
    /// CA certificate the node's TLS certificate chains to (PEM).
    pub ca_pem: String,
    /// A client certificate and key signed by the CA (PEM), registered for mutual TLS.
    pub client_cert_pem: String,
    /// The client certificate's key (PEM).
    pub client_key_pem: String,
}

/// Why a node folder could not be written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The organisation id is not a slug.
    #[error("--organization: must be 1-64 of a-z, 0-9, '-', '_', '.' (e.g. vaxjo-kommun)")]
    Organization,
    /// No unit, or a unit that is not a slug.
    #[error(
        "--unit: name at least one unit the node's client system acts for, each 1-64 of a-z, 0-9, '-', '_', '.' (e.g. --unit ostra-skolan)"
    )]
    Units,
    /// A node's config is there already.
    #[error("{} exists already; init never overwrites a node", .0.display())]
    Exists(PathBuf),
    /// The folder could not be created.
    #[error("creating {}", .path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] std::io::Error),
    /// A development certificate could not be made.
    #[error(transparent)]
    Certificate(#[from] rcgen::Error),
    /// The config could not be written as TOML.
    #[error(transparent)]
    Config(#[from] toml::ser::Error),
}

/// Writes a node folder at `dir` for `organization` (display `name`, may be empty), listening on
/// `listen`, whose client system acts for `units` (at least one).
pub fn init(
    dir: &Path,
    organization: &str,
    name: &str,
    listen: &str,
    units: &[&str],
) -> Result<Initialised, InitError> {
    if !kronobarn_proto::ids::is_slug(organization) {
        return Err(InitError::Organization);
    }
    if units.is_empty() || !units.iter().all(|u| kronobarn_proto::ids::is_slug(u)) {
        return Err(InitError::Units);
    }
    let units: Vec<String> = units.iter().map(|u| u.to_string()).collect();
    let config_path = dir.join("kronobarn.toml");
    if config_path.exists() {
        return Err(InitError::Exists(config_path));
    }
    std::fs::create_dir_all(dir).map_err(|source| InitError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;

    let (_, key_hex) = new_signing_key();
    write_file(&dir.join("keys/signing.key"), key_hex.as_bytes(), true)?;

    let ca = DevCa::new(&format!("Kronobarn development CA ({organization})"))?;
    let server = ca.leaf(organization, &["localhost", organization])?;
    let client_id = "local-system".to_string();
    let client = ca.leaf(&client_id, &[&client_id])?;
    write_file(&dir.join("tls/ca.crt"), ca.cert_pem.as_bytes(), false)?;
    write_file(&dir.join("tls/node.crt"), server.cert_pem.as_bytes(), false)?;
    write_file(&dir.join("tls/node.key"), server.key_pem.as_bytes(), true)?;
    write_file(
        &dir.join("tls/client.crt"),
        client.cert_pem.as_bytes(),
        false,
    )?;
    write_file(&dir.join("tls/client.key"), client.key_pem.as_bytes(), true)?;

    let token = hex::encode(rand::random::<[u8; 24]>());
    write_file(
        &dir.join(format!("clients/{client_id}.token")),
        format!("{token}\n").as_bytes(),
        true,
    )?;

    let config = Config {
        organization: organization.to_string(),
        name: name.to_string(),
        data_dir: "data".into(),
        signing_key: "keys/signing.key".into(),
        client_api: ClientApi {
            listen: listen.to_string(),
            tls_cert: "tls/node.crt".into(),
            tls_key: "tls/node.key".into(),
            client_ca: Some("tls/ca.crt".into()),
            max_message_bytes: 1 << 20,
            clients: vec![
                Client {
                    id: client_id.clone(),
                    token_sha256: Some(hex::encode(Sha256::digest(token.as_bytes()))),
                    cert_sha256: None,
                    units: units.clone(),
                    roles: None,
                },
                Client {
                    id: format!("{client_id}-mtls"),
                    token_sha256: None,
                    cert_sha256: Some(hex::encode(Sha256::digest(&client.cert_der))),
                    units,
                    roles: None,
                },
            ],
            max_watchers_per_client: kronobarn_gateway::DEFAULT_MAX_WATCHERS_PER_CLIENT,
        },
        federation: None,
        metrics: None,
        logging: Logging::default(),
        test_clock_offset_ms: 0,
        authorities: Vec::new(),
        consent: None,
        retention: None,
        responsibility: None,
        indicators: None,
    };
    let text = format!(
        "# Kronobarn node configuration, written by `kronobarn init`.\n# Paths are relative to this file. See README.md, \"Configuration\".\n{}",
        toml::to_string_pretty(&config)?
    );
    write_file(&config_path, text.as_bytes(), false)?;
    Ok(Initialised {
        config_path,
        token,
        client_id,
        ca_pem: ca.cert_pem,
        client_cert_pem: client.cert_pem,
        client_key_pem: client.key_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_bad_organisation_id_and_never_overwrites_a_node() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            init(dir.path(), "Växjö kommun", "", "127.0.0.1:0", &["skola"]),
            Err(InitError::Organization)
        ));
        assert!(!dir.path().join("kronobarn.toml").exists());
        assert!(matches!(
            init(dir.path(), "vaxjo-kommun", "", "127.0.0.1:0", &[]),
            Err(InitError::Units)
        ));
        assert!(!dir.path().join("kronobarn.toml").exists());
        let first = init(dir.path(), "vaxjo-kommun", "", "127.0.0.1:0", &["skola"]).unwrap();
        let loaded = crate::config::Config::load(&first.config_path).unwrap();
        assert!(
            loaded
                .config
                .client_api
                .clients
                .iter()
                .all(|c| c.units == ["skola"]),
            "every client init writes lists the units"
        );
        let written = std::fs::read(&first.config_path).unwrap();
        assert!(matches!(
            init(dir.path(), "vaxjo-kommun", "", "127.0.0.1:0", &["skola"]),
            Err(InitError::Exists(p)) if p == first.config_path
        ));
        assert_eq!(std::fs::read(&first.config_path).unwrap(), written);
    }
}
