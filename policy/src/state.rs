//! What a node knows about a plan, as far as decisions need it: participants, guardians, the
//! current consent and its grants, revocations, the lease, and the directory of authorities.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::authority::{Authority, Directory};
use crate::consenters::{ConsentRules, withdrawal_counts};
use crate::date::{Birth, Date};

/// A consent category, as the wire enum's number; opaque to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(pub i32);

/// An organisation's unit taking part in a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    /// Organisation id.
    pub organization: String,
    /// Unit within the organisation.
    pub unit: String,
}

/// Whom a grant names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grantee {
    /// An authority, by directory id: every unit of it that takes part.
    Authority(String),
    /// A single unit, where the consent is that narrow.
    Unit(Unit),
    /// Legacy: a grant that names only an organisation. It covers the one authority of that
    /// organisation that takes part in the plan, and nothing when none or several do.
    Organization(String),
}

/// The current consent of a plan, as far as decisions need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentState {
    /// Consent version; newer consents replace older ones.
    pub version: u64,
    /// Guardians who consented, by guardian id.
    pub consented_guardians: BTreeSet<String>,
    /// The young person gave their own consent (not only their view).
    pub young_person_consented: bool,
    /// When it was recorded (ms since the Unix epoch); 0 when unknown, read as before birth.
    pub recorded_at_ms: i64,
    /// The consent is invalid from this instant on (ms since the Unix epoch).
    pub valid_until_ms: i64,
    /// Categories each grantee may receive.
    pub grants: BTreeMap<Grantee, BTreeSet<Category>>,
    /// Revocation ids this consent lifts.
    pub supersedes: BTreeSet<String>,
}

/// Who withdrew consent.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WithdrawnBy {
    /// Not recorded; counts, since a withdrawal only takes access away.
    #[default]
    Unknown,
    /// A guardian, by guardian id.
    Guardian(String),
    /// The child or young person.
    YoungPerson,
    /// The responsible organisation closed the plan, which withdraws every grant whoever
    /// consented; it always counts.
    PlanClosed,
}

impl WithdrawnBy {
    /// From the wire's `withdrawn_by`: a guardian id, "child", "plan-closed", or empty.
    pub fn from_wire(s: &str) -> WithdrawnBy {
        match s {
            "" => WithdrawnBy::Unknown,
            "child" => WithdrawnBy::YoungPerson,
            "plan-closed" => WithdrawnBy::PlanClosed,
            g => WithdrawnBy::Guardian(g.to_string()),
        }
    }
}

/// A recorded withdrawal of consent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// Revocation id.
    pub id: String,
    /// Organisations whose grants are withdrawn: every authority and unit of each.
    pub organizations: BTreeSet<String>,
    /// Authorities whose grants are withdrawn, by directory id. With `organizations` empty too,
    /// the revocation withdraws every grant.
    pub authorities: BTreeSet<String>,
    /// Categories withdrawn; empty means all.
    pub categories: BTreeSet<Category>,
    /// Who withdrew.
    pub withdrawn_by: WithdrawnBy,
    /// When it was recorded (ms since the Unix epoch).
    pub recorded_at_ms: i64,
}

impl RevocationState {
    /// True when this revocation withdraws `category` from the whole of `organization`.
    pub fn covers(&self, organization: &str, category: Category) -> bool {
        (self.everyone() || self.organizations.contains(organization))
            && self.covers_category(category)
    }

    /// True when it withdraws `category` from `authority` of `organization`: named by
    /// organisation (which covers all its authorities) or by authority.
    pub fn covers_authority(
        &self,
        organization: &str,
        authority: &str,
        category: Category,
    ) -> bool {
        (self.everyone()
            || self.organizations.contains(organization)
            || self.authorities.contains(authority))
            && self.covers_category(category)
    }

    fn everyone(&self) -> bool {
        self.organizations.is_empty() && self.authorities.is_empty()
    }

    fn covers_category(&self, category: Category) -> bool {
        self.categories.is_empty() || self.categories.contains(&category)
    }
}

/// What a node knows about one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanState {
    /// The plan's consent home (its responsible organisation).
    pub consent_home: String,
    /// Units taking part.
    pub participants: BTreeSet<Unit>,
    /// Guardian ids of every guardian with custody, from the plan header (before birth: the
    /// expectant parents who will have custody).
    pub custodial_guardians: BTreeSet<String>,
    /// The current consent, if any.
    pub consent: Option<ConsentState>,
    /// Every revocation recorded for the plan, superseded or not.
    pub revocations: Vec<RevocationState>,
    /// The lease this node holds from the consent home, if any.
    pub lease: Option<LeaseState>,
    /// The county's authorities and units. Empty: no unit has an authority and nothing is read.
    pub directory: Arc<Directory>,
    /// The header's responsible unit, when the node holds the header.
    pub responsible: Option<Unit>,
    /// The child's birth, from the header; `None` (unknown) applies the rules of a child under 15.
    pub child_birth: Option<Birth>,
    /// Who must consent from 15, per authority kind (configuration).
    pub consent_rules: ConsentRules,
}

/// A lease from the consent home: received copies may be shown until it expires, and only while
/// this node holds every revocation the home had when it granted the lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseState {
    /// The consent version it was granted under.
    pub consent_version: u64,
    /// It expires at this instant (ms since the Unix epoch), already the earlier of the home's
    /// expiry and the holder's own receipt plus the lease's lifetime.
    pub expires_at_ms: i64,
    /// Revocations in force at the consent home when it granted the lease.
    pub revocations: Vec<String>,
}

impl PlanState {
    /// True when `organization` takes part in the plan with at least one unit.
    pub fn has_organization(&self, organization: &str) -> bool {
        organization == self.consent_home
            || self
                .participants
                .iter()
                .any(|u| u.organization == organization)
    }

    /// Revocations in force: not lifted by the current consent, and withdrawn by someone entitled
    /// to when recorded (a guardian's withdrawal recorded after the young person turned 18 does
    /// not count).
    pub fn revocations_in_force(&self) -> impl Iterator<Item = &RevocationState> {
        let lifted = self.consent.as_ref().map(|c| &c.supersedes);
        self.revocations.iter().filter(move |r| {
            lifted.is_none_or(|s| !s.contains(&r.id))
                && withdrawal_counts(
                    self.child_birth,
                    &r.withdrawn_by,
                    Date::in_sweden(r.recorded_at_ms),
                )
        })
    }

    /// The authority a user's unit belongs to, by the directory.
    pub fn authority_of(&self, who: Requester<'_>) -> Option<&Authority> {
        self.directory.authority_of(who.organization, who.unit)
    }

    /// Authorities taking part: those of the participant units the directory knows, in id order.
    pub fn participant_authorities(&self) -> Vec<&Authority> {
        let mut v: Vec<&Authority> = self
            .participants
            .iter()
            .filter_map(|u| self.directory.authority_of(&u.organization, &u.unit))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v.dedup_by(|a, b| a.id == b.id);
        v
    }

    /// The authority of the header's responsible unit.
    pub fn responsible_authority(&self) -> Option<&Authority> {
        let u = self.responsible.as_ref()?;
        self.directory.authority_of(&u.organization, &u.unit)
    }

    /// The authority a fragment is homed at: the one it names, if the directory holds it as an
    /// authority of the fragment's home organisation. A fragment naming none (written before
    /// authorities) has no known home authority, so no unit reads it as its own.
    pub fn home_authority(&self, fragment: FragmentFacts<'_>) -> Option<&Authority> {
        self.directory
            .authority(fragment.home_authority)
            .filter(|a| a.organization == fragment.home)
    }

    /// What a legacy grant naming `organization` covers: its one participating authority. The
    /// rule every decision reads such a grant by; whoever says whom the grant reaches (the
    /// family's document) asks it here rather than reading the grant again.
    pub fn legacy_grant_reading(&self, organization: &str) -> LegacyReading<'_> {
        let mut of_org = self
            .participant_authorities()
            .into_iter()
            .filter(|a| a.organization == organization);
        match (of_org.next(), of_org.next()) {
            (Some(_), Some(_)) => LegacyReading::Several,
            (Some(a), None) => LegacyReading::One(a),
            (None, _) => LegacyReading::None,
        }
    }
}

/// How a legacy grant naming only an organisation is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyReading<'a> {
    /// None of the organisation's authorities takes part: it covers nothing.
    None,
    /// Exactly one takes part: it covers that one.
    One(&'a Authority),
    /// Several take part: the guardians' consent does not say which, so it covers none.
    Several,
}

/// The fragment a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentFacts<'a> {
    /// The fragment's home organisation.
    pub home: &'a str,
    /// The authority it is homed at (its writing unit's), by directory id; empty when unknown.
    pub home_authority: &'a str,
    /// Its category.
    pub category: Category,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester<'a> {
    /// The user's organisation.
    pub organization: &'a str,
    /// The user's unit.
    pub unit: &'a str,
}
