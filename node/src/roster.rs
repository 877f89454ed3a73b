//! The roster: the organisations of the federation, their endpoints, signing keys and TLS
//! identities. A node talks only to members, and only trusts a signature made by the key the
//! roster gives the organisation that claims it.
//!
//! The TLS identity of a member is the DNS name in its certificate's subject alternative names,
//! which must equal its organisation id; the certificate must chain to the roster's CA.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use kronobarn_proto::envelope::key_id;
use serde::{Deserialize, Serialize};

/// What kind of organisation a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A municipality (kommun).
    Municipality,
    /// A region (health care).
    Region,
    /// The Police.
    Police,
    /// The voluntary sector.
    Voluntary,
}

/// One member as written in the roster file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    /// Organisation id, e.g. "vaxjo-kommun"; also the DNS name in its TLS certificate.
    pub organization: String,
    /// Display name.
    pub name: String,
    /// Kind of organisation.
    pub kind: Kind,
    /// Federation endpoint, e.g. "https://vaxjo.kronobarn.example:7501".
    pub endpoint: String,
    /// The node's ed25519 public key, 64 hex digits.
    pub signing_key: String,
}

/// The roster file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterFile {
    /// CA (PEM) that every member's federation certificate chains to; relative to the file.
    pub ca: PathBuf,
    /// The members.
    #[serde(rename = "member")]
    pub members: Vec<MemberEntry>,
}

/// A loaded member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The entry.
    pub entry: MemberEntry,
    /// Its signing key.
    pub key: VerifyingKey,
}

/// A loaded, checked roster.
#[derive(Debug, Clone)]
pub struct Roster {
    members: BTreeMap<String, Member>,
    by_key_id: BTreeMap<String, String>,
    /// The CA certificate (PEM).
    pub ca_pem: Vec<u8>,
}

/// A roster that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file could not be read.
    #[error("cannot read roster {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not a roster.
    #[error("roster {0}: {1}")]
    Parse(PathBuf, String),
    /// A member entry is wrong.
    #[error("roster {path}: member `{organization}`: {problem}")]
    Member {
        /// The file.
        path: PathBuf,
        /// The member.
        organization: String,
        /// Why.
        problem: String,
    },
}

impl Roster {
    /// Reads and checks a roster file.
    pub fn load(path: &Path) -> Result<Self, RosterError> {
        let text = std::fs::read_to_string(path).map_err(|e| RosterError::Read(path.into(), e))?;
        let file: RosterFile =
            toml::from_str(&text).map_err(|e| RosterError::Parse(path.into(), e.to_string()))?;
        let ca = path.parent().unwrap_or(Path::new(".")).join(&file.ca);
        let ca_pem = std::fs::read(&ca).map_err(|e| RosterError::Read(ca.clone(), e))?;
        Self::from_entries(file.members, ca_pem).map_err(|(organization, problem)| {
            RosterError::Member {
                path: path.into(),
                organization,
                problem,
            }
        })
    }

    /// Reads a roster file for its members' keys only, without the CA it names: what someone
    /// checking a signature needs (a guardian verifying an extract has no use for TLS).
    pub fn load_keys(path: &Path) -> Result<Self, RosterError> {
        let text = std::fs::read_to_string(path).map_err(|e| RosterError::Read(path.into(), e))?;
        let file: RosterFile =
            toml::from_str(&text).map_err(|e| RosterError::Parse(path.into(), e.to_string()))?;
        Self::from_entries(file.members, Vec::new()).map_err(|(organization, problem)| {
            RosterError::Member {
                path: path.into(),
                organization,
                problem,
            }
        })
    }

    /// Builds a roster from entries; an error names the member and the problem.
    pub fn from_entries(
        entries: Vec<MemberEntry>,
        ca_pem: Vec<u8>,
    ) -> Result<Self, (String, String)> {
        let mut members = BTreeMap::new();
        let mut by_key_id = BTreeMap::new();
        for e in entries {
            let fail = |p: &str| Err((e.organization.clone(), p.to_string()));
            if !kronobarn_proto::ids::is_slug(&e.organization) {
                return fail("organization must be 1-64 of a-z, 0-9, '-', '_', '.'");
            }
            if !e.endpoint.starts_with("https://") {
                return fail("endpoint must start with https://");
            }
            let Ok(bytes) = hex::decode(&e.signing_key) else {
                return fail("signing_key must be 64 hex digits");
            };
            let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                return fail("signing_key must be 64 hex digits");
            };
            let Ok(key) = VerifyingKey::from_bytes(&bytes) else {
                return fail("signing_key is not an ed25519 public key");
            };
            if by_key_id
                .insert(key_id(&key), e.organization.clone())
                .is_some()
            {
                return fail("signing_key is used by another member");
            }
            if members.contains_key(&e.organization) {
                return fail("listed twice");
            }
            members.insert(e.organization.clone(), Member { entry: e, key });
        }
        Ok(Self {
            members,
            by_key_id,
            ca_pem,
        })
    }

    /// The member with this organisation id.
    pub fn member(&self, organization: &str) -> Option<&Member> {
        self.members.get(organization)
    }

    /// The organisation whose key has this key id, and the key.
    pub fn signer(&self, key_id: &str) -> Option<(&str, VerifyingKey)> {
        let org = self.by_key_id.get(key_id)?;
        Some((org.as_str(), self.members.get(org)?.key))
    }

    /// Every member.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }
}

/// The organisation id a peer's TLS certificate names: its DNS subject alternative names.
/// Returns every DNS name, so the caller can check the claimed one is among them.
pub fn tls_names(cert_der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// The roster member a peer certificate identifies: exactly one DNS name that is a member.
pub fn peer_organization<'a>(roster: &'a Roster, cert_der: &[u8]) -> Option<&'a Member> {
    let names = tls_names(cert_der);
    let mut found = names.iter().filter_map(|n| roster.member(n));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(org: &str, seed: u8) -> MemberEntry {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
        MemberEntry {
            organization: org.into(),
            name: org.into(),
            kind: Kind::Municipality,
            endpoint: "https://127.0.0.1:1".into(),
            signing_key: hex::encode(key.as_bytes()),
        }
    }

    #[test]
    fn members_keys_and_mistakes() {
        let r = Roster::from_entries(
            vec![entry("alvesta-kommun", 1), entry("region-kronoberg", 2)],
            vec![],
        )
        .unwrap();
        let k = ed25519_dalek::SigningKey::from_bytes(&[2; 32]).verifying_key();
        assert_eq!(r.signer(&key_id(&k)).unwrap().0, "region-kronoberg");
        assert!(r.member("polisen").is_none());
        let dup = Roster::from_entries(vec![entry("a", 1), entry("b", 1)], vec![]).unwrap_err();
        assert!(dup.1.contains("another member"));
        let mut bad = entry("c", 3);
        bad.signing_key = "zz".into();
        assert!(Roster::from_entries(vec![bad], vec![]).is_err());
    }

    #[test]
    fn a_certificate_names_its_organisation() {
        let ca = crate::pki::DevCa::new("test").unwrap();
        let leaf = ca.leaf("region-kronoberg", &["region-kronoberg"]).unwrap();
        let r = Roster::from_entries(
            vec![entry("region-kronoberg", 2), entry("alvesta-kommun", 1)],
            vec![],
        )
        .unwrap();
        assert_eq!(
            peer_organization(&r, &leaf.cert_der)
                .unwrap()
                .entry
                .organization,
            "region-kronoberg"
        );
        let two = ca
            .leaf("x", &["region-kronoberg", "alvesta-kommun"])
            .unwrap();
        assert!(
            peer_organization(&r, &two.cert_der).is_none(),
            "a certificate naming two members identifies neither"
        );
        let stranger = ca.leaf("x", &["polisen"]).unwrap();
        assert!(peer_organization(&r, &stranger.cert_der).is_none());
    }
}
