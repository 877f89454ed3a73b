//! Authorities, not organisations: secrecy (OSL) runs between authorities, so a municipality's
//! school and its social services are as far apart as two municipalities, and the region's BVC,
//! BUP and maternity care are separate care units. The [`Directory`] says which authority every
//! unit belongs to; the node builds it from its configuration and the roster. It holds no
//! personal data.

use std::collections::BTreeMap;

/// What an authority does; decides who may be Barnens bästa-ansvarig and whose consent counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum AuthorityKind {
    /// School, led by a principal (compulsory and upper secondary school).
    School = 0,
    /// Preschool.
    Preschool = 1,
    /// Student health.
    StudentHealth = 2,
    /// Social services.
    SocialServices = 3,
    /// Child health care (BVC).
    ChildHealthCare = 4,
    /// Child and youth psychiatry (BUP).
    ChildPsychiatry = 5,
    /// Maternity care.
    MaternityCare = 6,
    /// Primary care.
    PrimaryCare = 7,
    /// The municipality's activity responsibility for young people of 16–20 (KAA).
    ActivityResponsibility = 8,
    /// Leisure.
    Leisure = 9,
    /// The Police.
    Police = 10,
    /// A voluntary organisation.
    Voluntary = 11,
    /// Anything else.
    Other = 12,
}

impl AuthorityKind {
    /// Every kind, in slug order of the enum.
    pub const ALL: [AuthorityKind; 13] = [
        AuthorityKind::School,
        AuthorityKind::Preschool,
        AuthorityKind::StudentHealth,
        AuthorityKind::SocialServices,
        AuthorityKind::ChildHealthCare,
        AuthorityKind::ChildPsychiatry,
        AuthorityKind::MaternityCare,
        AuthorityKind::PrimaryCare,
        AuthorityKind::ActivityResponsibility,
        AuthorityKind::Leisure,
        AuthorityKind::Police,
        AuthorityKind::Voluntary,
        AuthorityKind::Other,
    ];

    /// The stable slug used in configuration and on the wire.
    pub fn slug(self) -> &'static str {
        match self {
            AuthorityKind::School => "school",
            AuthorityKind::Preschool => "preschool",
            AuthorityKind::StudentHealth => "student-health",
            AuthorityKind::SocialServices => "social-services",
            AuthorityKind::ChildHealthCare => "child-health-care",
            AuthorityKind::ChildPsychiatry => "child-psychiatry",
            AuthorityKind::MaternityCare => "maternity-care",
            AuthorityKind::PrimaryCare => "primary-care",
            AuthorityKind::ActivityResponsibility => "activity-responsibility",
            AuthorityKind::Leisure => "leisure",
            AuthorityKind::Police => "police",
            AuthorityKind::Voluntary => "voluntary",
            AuthorityKind::Other => "other",
        }
    }

    /// The kind with this slug.
    pub fn from_slug(slug: &str) -> Option<AuthorityKind> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }

    /// Health care, where a young person's maturity weighs in who decides.
    pub fn is_health_care(self) -> bool {
        matches!(
            self,
            AuthorityKind::StudentHealth
                | AuthorityKind::ChildHealthCare
                | AuthorityKind::ChildPsychiatry
                | AuthorityKind::MaternityCare
                | AuthorityKind::PrimaryCare
        )
    }
}

/// A set of authority kinds (a per-kind flag of the configuration), cheap to copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KindSet(u16);

impl KindSet {
    /// No kind.
    pub const EMPTY: KindSet = KindSet(0);
    /// Every kind.
    pub const ALL: KindSet = KindSet((1 << AuthorityKind::ALL.len()) - 1);

    /// The health-care kinds ([`AuthorityKind::is_health_care`]).
    pub fn health_care() -> KindSet {
        AuthorityKind::ALL
            .into_iter()
            .filter(|k| k.is_health_care())
            .collect()
    }

    /// True when `kind` is in the set.
    pub fn contains(self, kind: AuthorityKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    /// The set with `kind` added.
    pub fn with(self, kind: AuthorityKind) -> KindSet {
        KindSet(self.0 | (1 << kind as u8))
    }

    /// True for the empty set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<AuthorityKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = AuthorityKind>>(iter: I) -> Self {
        iter.into_iter().fold(KindSet::EMPTY, KindSet::with)
    }
}

/// An authority: a municipal board (nämnd), a care unit of the region, the Police, an
/// association. Secrecy applies between any two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Stable id slug, e.g. "vaxjo-utbildning" or "region-kronoberg-bup".
    pub id: String,
    /// The organisation (roster member) it belongs to.
    pub organization: String,
    /// What it does.
    pub kind: AuthorityKind,
    /// Display name for documents, e.g. "BUP Växjö".
    pub name: String,
}

/// What a child attends or is listed at, by its public code (a school unit code, a care unit's
/// id, a municipality code). Used to find the responsible authority without personal data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceUnit {
    /// What it is.
    pub kind: ServiceKind,
    /// Its public code.
    pub code: String,
}

/// Kinds of [`ServiceUnit`], each with the authority kind responsible for its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKind {
    /// A maternity clinic (before birth).
    MaternityClinic,
    /// A child health centre (BVC).
    ChildHealthCentre,
    /// A preschool.
    Preschool,
    /// A school, compulsory or upper secondary.
    School,
    /// The child's home municipality (its activity responsibility, KAA).
    HomeMunicipality,
}

impl ServiceKind {
    /// The authority kind that holds responsibility for children at such a unit.
    pub fn responsible_kind(self) -> AuthorityKind {
        match self {
            ServiceKind::MaternityClinic => AuthorityKind::MaternityCare,
            ServiceKind::ChildHealthCentre => AuthorityKind::ChildHealthCare,
            ServiceKind::Preschool => AuthorityKind::Preschool,
            ServiceKind::School => AuthorityKind::School,
            ServiceKind::HomeMunicipality => AuthorityKind::ActivityResponsibility,
        }
    }

    /// The service kind whose children an authority of `kind` is responsible for.
    pub fn for_responsible(kind: AuthorityKind) -> Option<ServiceKind> {
        [
            ServiceKind::MaternityClinic,
            ServiceKind::ChildHealthCentre,
            ServiceKind::Preschool,
            ServiceKind::School,
            ServiceKind::HomeMunicipality,
        ]
        .into_iter()
        .find(|s| s.responsible_kind() == kind)
    }
}

/// A unit of an organisation, the authority it belongs to, and the service units it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUnit {
    /// Organisation id.
    pub organization: String,
    /// Unit id within the organisation (as in participants).
    pub unit: String,
    /// The authority it belongs to.
    pub authority: String,
    /// The schools, preschools, BVC etc. it is, e.g. the principal's unit for its school units.
    pub serves: Vec<ServiceUnit>,
}

/// Why the directory refused an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// An id or organisation is empty.
    Empty,
    /// The authority id is already taken.
    DuplicateAuthority(String),
    /// The unit is already listed.
    DuplicateUnit {
        /// Organisation id.
        organization: String,
        /// Unit id.
        unit: String,
    },
    /// The unit names an authority the directory does not hold.
    UnknownAuthority(String),
    /// The unit names an authority of another organisation.
    OtherOrganization {
        /// The unit's organisation.
        organization: String,
        /// The authority named.
        authority: String,
    },
    /// An organisation registered as one authority cannot also be divided, and the other way round.
    WholeOrganization(String),
    /// Two responsible units serve the same service unit: a child would have two owners.
    ServedTwice {
        /// The service unit's code.
        code: String,
    },
}

impl std::fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectoryError::Empty => {
                write!(f, "directory: ids and organisations must not be empty")
            }
            DirectoryError::DuplicateAuthority(a) => {
                write!(f, "directory: authority {a} is listed twice")
            }
            DirectoryError::DuplicateUnit { organization, unit } => {
                write!(
                    f,
                    "directory: unit {unit} of {organization} is listed twice"
                )
            }
            DirectoryError::UnknownAuthority(a) => {
                write!(
                    f,
                    "directory: authority {a} is not listed; list it before its units"
                )
            }
            DirectoryError::OtherOrganization {
                organization,
                authority,
            } => write!(
                f,
                "directory: a unit of {organization} cannot belong to {authority}, an authority of another organisation"
            ),
            DirectoryError::WholeOrganization(o) => write!(
                f,
                "directory: {o} is either one authority for all its units or divided into authorities, not both"
            ),
            DirectoryError::ServedTwice { code } => write!(
                f,
                "directory: two responsible units serve {code}; a child there would have two Barnens bästa-ansvariga"
            ),
        }
    }
}

impl std::error::Error for DirectoryError {}

/// Authorities and units of the county. Built once by the node; pure data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    authorities: BTreeMap<String, Authority>,
    /// Units by organisation, then unit id: a lookup borrows its keys (it runs on every write).
    units: BTreeMap<String, BTreeMap<String, DirectoryUnit>>,
    /// Organisations that are one authority for every unit (the Police, an association).
    whole: BTreeMap<String, String>,
}

impl Directory {
    /// The id of the authority a unit the directory does not list is: an authority of its own
    /// (`organization/unit`; a listed authority's id never holds a '/').
    pub fn implicit_id(organization: &str, unit: &str) -> String {
        format!("{organization}/{unit}")
    }

    /// The id of the authority `unit` of `organization` belongs to: as this directory lists it,
    /// or an authority of its own ([`Directory::implicit_id`]).
    pub fn authority_id(&self, organization: &str, unit: &str) -> String {
        self.authority_of(organization, unit)
            .map(|a| a.id.clone())
            .unwrap_or_else(|| Self::implicit_id(organization, unit))
    }

    /// The `(organisation, unit)` an implicit authority id names.
    pub fn implicit_unit(id: &str) -> Option<(&str, &str)> {
        id.split_once('/')
    }

    /// This directory, with each of `units` that it neither lists nor covers by a whole
    /// organisation made an authority of its own, of kind [`AuthorityKind::Other`]: the narrowest
    /// reading of secrecy for a unit nobody has described (it shares nothing with its
    /// organisation's other units without consent, and can never be Barnens bästa-ansvarig).
    /// The same directory, not a copy, when nothing is missing.
    pub fn covering<'a>(
        self: &std::sync::Arc<Self>,
        units: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> std::sync::Arc<Directory> {
        let missing: Vec<(&str, &str)> = units
            .into_iter()
            .filter(|(o, u)| !o.is_empty() && !u.is_empty() && self.authority_of(o, u).is_none())
            .collect();
        if missing.is_empty() {
            return self.clone();
        }
        let mut d = (**self).clone();
        for (o, u) in missing {
            let id = Self::implicit_id(o, u);
            if d.authorities.contains_key(&id) {
                continue;
            }
            d.authorities.insert(
                id.clone(),
                Authority {
                    id: id.clone(),
                    organization: o.to_string(),
                    kind: AuthorityKind::Other,
                    name: u.to_string(),
                },
            );
            d.units.entry(o.to_string()).or_default().insert(
                u.to_string(),
                DirectoryUnit {
                    organization: o.to_string(),
                    unit: u.to_string(),
                    authority: id,
                    serves: Vec::new(),
                },
            );
        }
        std::sync::Arc::new(d)
    }

    /// An empty directory: no unit has an authority, so nobody reads anything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists an authority of a divided organisation (a municipality's boards, the region's units).
    pub fn add_authority(&mut self, authority: Authority) -> Result<(), DirectoryError> {
        if authority.id.is_empty() || authority.organization.is_empty() {
            return Err(DirectoryError::Empty);
        }
        if self.whole.contains_key(&authority.organization) {
            return Err(DirectoryError::WholeOrganization(authority.organization));
        }
        if self.authorities.contains_key(&authority.id) {
            return Err(DirectoryError::DuplicateAuthority(authority.id));
        }
        self.authorities.insert(authority.id.clone(), authority);
        Ok(())
    }

    /// Lists an organisation that is one authority, whichever unit acts (the Police, an
    /// association). Every unit of it belongs to `authority`.
    pub fn add_whole_organization(&mut self, authority: Authority) -> Result<(), DirectoryError> {
        let org = authority.organization.clone();
        if self.authorities_of(&org).next().is_some() {
            return Err(DirectoryError::WholeOrganization(org));
        }
        let id = authority.id.clone();
        self.add_authority(authority)?;
        self.whole.insert(org, id);
        Ok(())
    }

    /// Lists a unit under its authority.
    pub fn add_unit(&mut self, unit: DirectoryUnit) -> Result<(), DirectoryError> {
        if unit.organization.is_empty() || unit.unit.is_empty() {
            return Err(DirectoryError::Empty);
        }
        let Some(authority) = self.authorities.get(&unit.authority) else {
            return Err(DirectoryError::UnknownAuthority(unit.authority));
        };
        if authority.organization != unit.organization {
            return Err(DirectoryError::OtherOrganization {
                organization: unit.organization,
                authority: unit.authority,
            });
        }
        if self
            .units
            .get(&unit.organization)
            .is_some_and(|us| us.contains_key(&unit.unit))
        {
            return Err(DirectoryError::DuplicateUnit {
                organization: unit.organization,
                unit: unit.unit,
            });
        }
        let kind = authority.kind;
        if let Some(s) = unit
            .serves
            .iter()
            .find(|s| s.kind.responsible_kind() == kind && !self.responsible_for(s).is_empty())
        {
            return Err(DirectoryError::ServedTwice {
                code: s.code.clone(),
            });
        }
        self.units
            .entry(unit.organization.clone())
            .or_default()
            .insert(unit.unit.clone(), unit);
        Ok(())
    }

    /// The authority with this id.
    pub fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.get(id)
    }

    /// The authority a unit belongs to; `None` for a unit the directory does not know.
    pub fn authority_of(&self, organization: &str, unit: &str) -> Option<&Authority> {
        let id = match self.units.get(organization).and_then(|us| us.get(unit)) {
            Some(u) => &u.authority,
            None => self.whole.get(organization)?,
        };
        self.authorities.get(id)
    }

    /// The authorities of an organisation, in id order.
    pub fn authorities_of<'a>(
        &'a self,
        organization: &'a str,
    ) -> impl Iterator<Item = &'a Authority> + 'a {
        self.authorities
            .values()
            .filter(move |a| a.organization == organization)
    }

    /// Every listed unit, in (organisation, unit) order.
    pub fn units(&self) -> impl Iterator<Item = &DirectoryUnit> {
        self.units.values().flat_map(|us| us.values())
    }

    /// Listed units whose authority is of the kind responsible for children at `service`.
    pub(crate) fn responsible_for(&self, service: &ServiceUnit) -> Vec<&DirectoryUnit> {
        let kind = service.kind.responsible_kind();
        self.units()
            .filter(|u| u.serves.contains(service))
            .filter(|u| {
                self.authorities
                    .get(&u.authority)
                    .is_some_and(|a| a.kind == kind)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(id: &str, org: &str, kind: AuthorityKind) -> Authority {
        Authority {
            id: id.into(),
            organization: org.into(),
            kind,
            name: id.into(),
        }
    }

    fn unit(
        org: &str,
        unit: &str,
        authority: &str,
        serves: &[(ServiceKind, &str)],
    ) -> DirectoryUnit {
        DirectoryUnit {
            organization: org.into(),
            unit: unit.into(),
            authority: authority.into(),
            serves: serves
                .iter()
                .map(|(kind, code)| ServiceUnit {
                    kind: *kind,
                    code: code.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn slugs_are_stable_and_unique() {
        for k in AuthorityKind::ALL {
            assert_eq!(AuthorityKind::from_slug(k.slug()), Some(k));
            assert_eq!(AuthorityKind::ALL[k as usize], k);
        }
        assert_eq!(AuthorityKind::ChildPsychiatry.slug(), "child-psychiatry");
        assert_eq!(AuthorityKind::from_slug("bup"), None);
        let set: KindSet = AuthorityKind::ALL.into_iter().collect();
        assert_eq!(set, KindSet::ALL);
        assert!(KindSet::health_care().contains(AuthorityKind::ChildPsychiatry));
        assert!(!KindSet::health_care().contains(AuthorityKind::School));
    }

    #[test]
    fn units_belong_to_authorities_of_their_own_organisation() {
        let mut d = Directory::new();
        d.add_authority(authority("vaxjo-school", "vaxjo", AuthorityKind::School))
            .unwrap();
        d.add_authority(authority(
            "vaxjo-social",
            "vaxjo",
            AuthorityKind::SocialServices,
        ))
        .unwrap();
        d.add_whole_organization(authority("polisen", "polisen", AuthorityKind::Police))
            .unwrap();
        d.add_unit(unit("vaxjo", "rektor-ost", "vaxjo-school", &[]))
            .unwrap();
        assert_eq!(
            d.add_unit(unit("alvesta", "x", "vaxjo-school", &[])),
            Err(DirectoryError::OtherOrganization {
                organization: "alvesta".into(),
                authority: "vaxjo-school".into()
            })
        );
        assert_eq!(
            d.add_unit(unit("vaxjo", "y", "vaxjo-bup", &[])),
            Err(DirectoryError::UnknownAuthority("vaxjo-bup".into()))
        );
        assert!(matches!(
            d.add_unit(unit("vaxjo", "rektor-ost", "vaxjo-social", &[])),
            Err(DirectoryError::DuplicateUnit { .. })
        ));
        assert_eq!(
            d.add_authority(authority("polisen-2", "polisen", AuthorityKind::Police)),
            Err(DirectoryError::WholeOrganization("polisen".into()))
        );
        assert_eq!(
            d.add_whole_organization(authority("vaxjo-all", "vaxjo", AuthorityKind::Other)),
            Err(DirectoryError::WholeOrganization("vaxjo".into()))
        );
        assert_eq!(
            d.authority_of("vaxjo", "rektor-ost").unwrap().id,
            "vaxjo-school"
        );
        assert_eq!(d.authority_of("vaxjo", "unlisted"), None);
        assert_eq!(d.authority_of("polisen", "any-unit").unwrap().id, "polisen");
        assert_eq!(d.authorities_of("vaxjo").count(), 2);
    }

    #[test]
    fn a_service_unit_has_at_most_one_responsible_unit() {
        let mut d = Directory::new();
        d.add_authority(authority("s", "vaxjo", AuthorityKind::School))
            .unwrap();
        d.add_authority(authority("h", "vaxjo", AuthorityKind::StudentHealth))
            .unwrap();
        d.add_unit(unit(
            "vaxjo",
            "rektor",
            "s",
            &[(ServiceKind::School, "123")],
        ))
        .unwrap();
        // Student health serves the same school but is not responsible: allowed.
        d.add_unit(unit(
            "vaxjo",
            "elevhalsa",
            "h",
            &[(ServiceKind::School, "123")],
        ))
        .unwrap();
        assert_eq!(
            d.add_unit(unit(
                "vaxjo",
                "rektor-2",
                "s",
                &[(ServiceKind::School, "123")]
            )),
            Err(DirectoryError::ServedTwice { code: "123".into() })
        );
    }
}
