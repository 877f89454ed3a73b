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
    /// During a key rotation: the key the node signed with before, 64 hex digits. What it signed
    /// then (queued deliveries, forwarded revocations, leases) is still taken until
    /// `previous_key_valid_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_signing_key: Option<String>,
    /// The first day (YYYY-MM-DD, from midnight UTC) on which the previous key is no longer taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key_valid_until: Option<String>,
    /// Its authorities and their units, for documents and for reading grants that name them.
    #[serde(default, rename = "authority", skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<crate::directory::AuthorityEntry>,
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
    /// Its previous key during a rotation, and the instant (ms) from which it is no longer taken.
    pub previous: Option<(VerifyingKey, i64)>,
}

impl Member {
    /// The member's key with this key id, if the roster lets it sign at `now_ms`: its current
    /// key, or during a rotation its previous one until that stops being valid.
    pub fn key_for(&self, key_id: &str, now_ms: i64) -> Option<VerifyingKey> {
        if key_id == kronobarn_proto::envelope::key_id(&self.key) {
            return Some(self.key);
        }
        self.previous
            .filter(|(k, until)| now_ms < *until && key_id == kronobarn_proto::envelope::key_id(k))
            .map(|(k, _)| k)
    }
}

fn parse_key(hex_key: &str) -> Result<VerifyingKey, &'static str> {
    let bytes = hex::decode(hex_key).map_err(|_| "must be 64 hex digits")?;
    let bytes = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| "must be 64 hex digits")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "is not an ed25519 public key")
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
            let key = match parse_key(&e.signing_key) {
                Ok(k) => k,
                Err(p) => return fail(&format!("signing_key {p}")),
            };
            if by_key_id
                .insert(key_id(&key), e.organization.clone())
                .is_some()
            {
                return fail("signing_key is used by another member");
            }
            let previous = match (&e.previous_signing_key, &e.previous_key_valid_until) {
                (None, None) => None,
                (Some(k), Some(until)) => {
                    let k = match parse_key(k) {
                        Ok(k) => k,
                        Err(p) => return fail(&format!("previous_signing_key {p}")),
                    };
                    let Some((y, m, d)) = kronobarn_proto::date::parse_date(until) else {
                        return fail("previous_key_valid_until must be a date YYYY-MM-DD");
                    };
                    if by_key_id
                        .insert(key_id(&k), e.organization.clone())
                        .is_some()
                    {
                        return fail("previous_signing_key is used by another member");
                    }
                    Some((
                        k,
                        kronobarn_proto::date::days_from_civil(y, m, d) * 86_400_000,
                    ))
                }
                _ => {
                    return fail("previous_signing_key and previous_key_valid_until go together");
                }
            };
            if members.contains_key(&e.organization) {
                return fail("listed twice");
            }
            members.insert(
                e.organization.clone(),
                Member {
                    entry: e,
                    key,
                    previous,
                },
            );
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

    /// The organisation whose key has this key id, and the key, if the roster lets that key
    /// sign at `now_ms` (a previous key only until its rotation ends).
    pub fn signer(&self, key_id: &str, now_ms: i64) -> Option<(&str, VerifyingKey)> {
        let org = self.by_key_id.get(key_id)?;
        Some((
            org.as_str(),
            self.members.get(org)?.key_for(key_id, now_ms)?,
        ))
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
            previous_signing_key: None,
            previous_key_valid_until: None,
            authorities: Vec::new(),
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
        assert_eq!(r.signer(&key_id(&k), 0).unwrap().0, "region-kronoberg");
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
