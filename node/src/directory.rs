//! The county's directory of authorities and units, as operators write it: each node's config
//! lists its own organisation's authorities (`[[authority]]`), and the roster may list every
//! member's (`[[member.authority]]`). Built once at start into the policy's [`Directory`].
//!
//! Secrecy runs between authorities (a municipality's school and social services, the region's
//! BVC, BUP and maternity care), so the directory says which units belong together. A unit it
//! does not list is an authority of its own, and cannot be Barnens bästa-ansvarig.

use kronobarn_policy::{
    Authority, AuthorityKind, ConsentRules, Directory, DirectoryError, DirectoryUnit, KindSet,
    ServiceKind, ServiceUnit,
};
use serde::{Deserialize, Serialize};

/// One authority as written in a config or roster file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityEntry {
    /// Id slug, unique in the county, e.g. "vaxjo-utbildning".
    pub id: String,
    /// Kind: school, preschool, student-health, social-services, child-health-care (BVC),
    /// child-psychiatry (BUP), maternity-care, primary-care, activity-responsibility (KAA),
    /// leisure, police, voluntary, other.
    pub kind: String,
    /// Name in words for documents, e.g. "BUP Växjö".
    pub name: String,
    /// True for an organisation that is one authority whatever unit acts (the Police, an
    /// association): every unit of the organisation belongs to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_organization: bool,
    /// Its units.
    #[serde(default, rename = "unit", skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitEntry>,
    /// The municipality (slug, e.g. "vaxjo") whose children its plans are counted for in the
    /// county's indicators, unless a unit names its own; by default the node's
    /// (`[indicators] municipality`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

/// One unit of an authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    /// Unit slug, as users' `x-kronobarn-user-unit` and participants name it.
    pub id: String,
    /// The schools, preschools, child health centres or maternity clinics it is, by public code:
    /// "school:21345678", "preschool:…", "bvc:…", "maternity:…", "municipality:0780".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
    /// The unit's public contact (a reception, a function: never a child's), which
    /// LookupResponsible and SuggestResponsible give to staff and families who ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<UnitContact>,
    /// The municipality (slug) whose children this unit's plans are counted for, where it differs
    /// from its authority's (a care unit of the region in one municipality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

/// A unit's public contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitContact {
    /// A name or function, e.g. "Expeditionen".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A title, e.g. "Rektor".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Telephone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    /// E-mail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
}

/// The public contacts of `organization`'s units in `entries`, by (organisation, unit).
pub fn contacts(
    organization: &str,
    entries: &[AuthorityEntry],
) -> Vec<((String, String), kronobarn_proto::v1::Contact)> {
    entries
        .iter()
        .flat_map(|e| &e.units)
        .filter_map(|u| {
            let c = u.contact.as_ref()?;
            Some((
                (organization.to_string(), u.id.clone()),
                kronobarn_proto::v1::Contact {
                    name: c.name.clone(),
                    title: c.title.clone(),
                    phone: c.phone.clone(),
                    email: c.email.clone(),
                },
            ))
        })
        .collect()
}

/// The operator's exceptions to who may be Barnens bästa-ansvarig, for `organization`'s units
/// (kinds were checked when the config was loaded).
pub fn exceptions(
    organization: &str,
    config: Option<&crate::config::ResponsibilityConfig>,
) -> kronobarn_policy::responsibility::Exceptions {
    let Some(c) = config else {
        return Default::default();
    };
    kronobarn_policy::responsibility::Exceptions {
        units: c
            .allow_units
            .iter()
            .map(|u| (organization.to_string(), u.clone()))
            .collect(),
        kinds: c
            .allow_kinds
            .iter()
            .filter_map(|k| AuthorityKind::from_slug(k))
            .collect(),
    }
}

/// Why a directory entry was refused (names the entry, never personal data).
#[derive(Debug, thiserror::Error)]
pub enum DirectoryConfigError {
    /// An unknown kind.
    #[error(
        "authority `{id}`: kind `{kind}` is not one of school, preschool, student-health, social-services, child-health-care, child-psychiatry, maternity-care, primary-care, activity-responsibility, leisure, police, voluntary, other"
    )]
    Kind {
        /// The authority.
        id: String,
        /// What was written.
        kind: String,
    },
    /// A `serves` entry that is not `kind:code`.
    #[error(
        "authority `{id}`, unit `{unit}`: serves `{serves}` must be kind:code with kind school, preschool, bvc, maternity or municipality"
    )]
    Serves {
        /// The authority.
        id: String,
        /// The unit.
        unit: String,
        /// What was written.
        serves: String,
    },
    /// The directory refused it.
    #[error("authority `{id}`: {problem}")]
    Directory {
        /// The authority.
        id: String,
        /// Why.
        problem: DirectoryError,
    },
}

fn service(s: &str) -> Option<ServiceUnit> {
    let (kind, code) = s.split_once(':')?;
    let kind = match kind {
        "school" => ServiceKind::School,
        "preschool" => ServiceKind::Preschool,
        "bvc" => ServiceKind::ChildHealthCentre,
        "maternity" => ServiceKind::MaternityClinic,
        "municipality" => ServiceKind::HomeMunicipality,
        _ => return None,
    };
    (!code.is_empty()).then(|| ServiceUnit {
        kind,
        code: code.to_string(),
    })
}

/// Adds `organization`'s `entries` to `dir`.
pub fn add(
    dir: &mut Directory,
    organization: &str,
    entries: &[AuthorityEntry],
) -> Result<(), DirectoryConfigError> {
    for e in entries {
        let kind = AuthorityKind::from_slug(&e.kind).ok_or_else(|| DirectoryConfigError::Kind {
            id: e.id.clone(),
            kind: e.kind.clone(),
        })?;
        let authority = Authority {
            id: e.id.clone(),
            organization: organization.to_string(),
            kind,
            name: e.name.clone(),
        };
        let refused = |problem| DirectoryConfigError::Directory {
            id: e.id.clone(),
            problem,
        };
        if e.whole_organization {
            dir.add_whole_organization(authority).map_err(refused)?;
        } else {
            dir.add_authority(authority).map_err(refused)?;
        }
        for u in &e.units {
            let serves = u
                .serves
                .iter()
                .map(|s| {
                    service(s).ok_or_else(|| DirectoryConfigError::Serves {
                        id: e.id.clone(),
                        unit: u.id.clone(),
                        serves: s.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            dir.add_unit(DirectoryUnit {
                organization: organization.to_string(),
                unit: u.id.clone(),
                authority: e.id.clone(),
                serves,
            })
            .map_err(refused)?;
        }
    }
    Ok(())
}

/// Authority kinds whose information needs the young person's own consent from 15, from slugs
/// (the config's `consent.own_consent_from_15`); health care when absent.
pub fn consent_rules(kinds: Option<&[String]>) -> Result<ConsentRules, DirectoryConfigError> {
    let Some(kinds) = kinds else {
        return Ok(ConsentRules::default());
    };
    let mut set = KindSet::EMPTY;
    for k in kinds {
        let kind = AuthorityKind::from_slug(k).ok_or_else(|| DirectoryConfigError::Kind {
            id: "consent.own_consent_from_15".into(),
            kind: k.clone(),
        })?;
        set = set.with(kind);
    }
    Ok(ConsentRules {
        own_consent_from_15: set,
    })
}
