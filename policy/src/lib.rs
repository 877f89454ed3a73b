//! Consent and need-to-know decisions for Kronobarn, as pure functions.
//!
//! Input: what a node knows about a plan (its participants, the guardians with custody, the current
//! consent and the revocations), who asks, and which fragment. Output: [`Decision::Permit`] or
//! [`Decision::Deny`] with a reason that goes into the access log. No I/O and no clock: the caller
//! passes the time, so every rule is tested exhaustively here.
//!
//! Rules, in the order they are applied to a read:
//! 1. need to know: the user's unit must take part in the plan;
//! 2. an organisation always reads the fragments it is home of;
//! 3. deny by default: without a current consent nothing else is shared;
//! 4. expired consent denies;
//! 5. every guardian with custody must have consented;
//! 6. the consent must grant the organisation the fragment's category;
//! 7. a revocation covering the organisation and category denies until a later consent names it
//!    as superseded (revocations are sticky);
//! 8. a copy received from another organisation is shown only under an unexpired lease from the
//!    consent home for the current consent version (so a node cut off from the consent home stops
//!    showing copies when its lease runs out; the consent home itself needs no lease).

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

pub mod lifecycle;

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

/// The current consent of a plan, as far as decisions need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentState {
    /// Consent version; newer consents replace older ones.
    pub version: u64,
    /// Guardians who consented, by guardian id.
    pub consented_guardians: BTreeSet<String>,
    /// The consent is invalid from this instant on (ms since the Unix epoch).
    pub valid_until_ms: i64,
    /// Categories each organisation may receive.
    pub grants: BTreeMap<String, BTreeSet<Category>>,
    /// Revocation ids this consent lifts.
    pub supersedes: BTreeSet<String>,
}

/// A recorded withdrawal of consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationState {
    /// Revocation id.
    pub id: String,
    /// Organisations whose grants are withdrawn; empty means all.
    pub organizations: BTreeSet<String>,
    /// Categories withdrawn; empty means all.
    pub categories: BTreeSet<Category>,
}

impl RevocationState {
    /// True when this revocation withdraws `category` from `organization`.
    pub fn covers(&self, organization: &str, category: Category) -> bool {
        (self.organizations.is_empty() || self.organizations.contains(organization))
            && (self.categories.is_empty() || self.categories.contains(&category))
    }
}

/// What a node knows about one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanState {
    /// The plan's consent home (its responsible organisation).
    pub consent_home: String,
    /// Units taking part.
    pub participants: BTreeSet<Unit>,
    /// Guardian ids of every guardian with custody, from the plan header.
    pub custodial_guardians: BTreeSet<String>,
    /// The current consent, if any.
    pub consent: Option<ConsentState>,
    /// Every revocation recorded for the plan, superseded or not.
    pub revocations: Vec<RevocationState>,
    /// The lease this node holds from the consent home, if any.
    pub lease: Option<LeaseState>,
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

    /// Revocations not lifted by the current consent.
    pub fn revocations_in_force(&self) -> impl Iterator<Item = &RevocationState> {
        let lifted = self.consent.as_ref().map(|c| &c.supersedes);
        self.revocations
            .iter()
            .filter(move |r| lifted.is_none_or(|s| !s.contains(&r.id)))
    }
}

/// The fragment a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentFacts<'a> {
    /// The fragment's home organisation.
    pub home: &'a str,
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

/// Why access was permitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    /// The requester's organisation is the fragment's home.
    OwnFragment,
    /// A valid consent grants it.
    Granted {
        /// Consent version that grants it.
        consent_version: u64,
    },
}

/// Why access was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deny {
    /// The user's unit does not take part in the plan.
    NotParticipant,
    /// No consent has been recorded.
    NoConsent,
    /// The consent has expired.
    ConsentExpired {
        /// Consent version.
        consent_version: u64,
    },
    /// A guardian with custody has not consented.
    GuardianMissing {
        /// Consent version.
        consent_version: u64,
        /// The guardian id.
        guardian_id: String,
    },
    /// The consent does not grant the category to the organisation.
    NotGranted {
        /// Consent version.
        consent_version: u64,
    },
    /// A revocation in force withdraws it.
    Revoked {
        /// Consent version.
        consent_version: u64,
        /// Revocation id.
        revocation_id: String,
    },
    /// Only the fragment's home organisation may write it.
    NotHome,
    /// A received copy, and no lease from the consent home for the current consent.
    NoLease {
        /// Consent version.
        consent_version: u64,
    },
    /// A received copy, and the lease names a revocation this node does not hold yet.
    RevocationNotHeld {
        /// Consent version.
        consent_version: u64,
        /// The revocation.
        revocation_id: String,
    },
    /// A received copy, and the lease from the consent home has run out.
    LeaseExpired {
        /// Consent version.
        consent_version: u64,
    },
}

/// A policy decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Access permitted.
    Permit(Permit),
    /// Access denied.
    Deny(Deny),
}

impl Decision {
    /// True for a permit.
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit(_))
    }

    /// The reason as a short stable code for the access log and for callers.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Permit(Permit::OwnFragment) => "own-fragment",
            Decision::Permit(Permit::Granted { .. }) => "granted",
            Decision::Deny(Deny::NotParticipant) => "not-participant",
            Decision::Deny(Deny::NoConsent) => "no-consent",
            Decision::Deny(Deny::ConsentExpired { .. }) => "consent-expired",
            Decision::Deny(Deny::GuardianMissing { .. }) => "guardian-missing",
            Decision::Deny(Deny::NotGranted { .. }) => "not-granted",
            Decision::Deny(Deny::Revoked { .. }) => "revoked",
            Decision::Deny(Deny::NotHome) => "not-home",
            Decision::Deny(Deny::NoLease { .. }) => "no-lease",
            Decision::Deny(Deny::LeaseExpired { .. }) => "lease-expired",
            Decision::Deny(Deny::RevocationNotHeld { .. }) => "revocation-not-held",
        }
    }

    /// The consent version the decision was made under (0 when none applied).
    pub fn consent_version(&self) -> u64 {
        match self {
            Decision::Permit(Permit::Granted { consent_version })
            | Decision::Deny(
                Deny::ConsentExpired { consent_version }
                | Deny::GuardianMissing {
                    consent_version, ..
                }
                | Deny::NotGranted { consent_version }
                | Deny::Revoked {
                    consent_version, ..
                },
            ) => *consent_version,
            _ => 0,
        }
    }
}

/// May `organization` hold a copy of the fragment at time `now_ms`? Used for crossings between
/// organisations and, after the need-to-know check, for local reads.
pub fn decide_share(
    plan: &PlanState,
    organization: &str,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    if fragment.home == organization {
        return Decision::Permit(Permit::OwnFragment);
    }
    let Some(consent) = &plan.consent else {
        return Decision::Deny(Deny::NoConsent);
    };
    let consent_version = consent.version;
    if now_ms >= consent.valid_until_ms {
        return Decision::Deny(Deny::ConsentExpired { consent_version });
    }
    if let Some(g) = plan
        .custodial_guardians
        .iter()
        .find(|g| !consent.consented_guardians.contains(*g))
    {
        return Decision::Deny(Deny::GuardianMissing {
            consent_version,
            guardian_id: g.clone(),
        });
    }
    let granted = consent
        .grants
        .get(organization)
        .is_some_and(|cats| cats.contains(&fragment.category));
    if !granted {
        return Decision::Deny(Deny::NotGranted { consent_version });
    }
    // Smallest id first, so the reason does not depend on the order revocations arrived in.
    if let Some(r) = plan
        .revocations_in_force()
        .filter(|r| r.covers(organization, fragment.category))
        .min_by(|a, b| a.id.cmp(&b.id))
    {
        return Decision::Deny(Deny::Revoked {
            consent_version,
            revocation_id: r.id.clone(),
        });
    }
    Decision::Permit(Permit::Granted { consent_version })
}

/// May the user see the fragment? Need to know first, then [`decide_share`] for the user's
/// organisation.
pub fn decide_read(
    plan: &PlanState,
    who: Requester<'_>,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    if !takes_part(plan, who) {
        return Decision::Deny(Deny::NotParticipant);
    }
    let d = decide_share(plan, who.organization, fragment, now_ms);
    if let Decision::Permit(Permit::Granted { consent_version }) = d
        && who.organization != plan.consent_home
    {
        let Some(l) = plan
            .lease
            .as_ref()
            .filter(|l| l.consent_version == consent_version)
        else {
            return Decision::Deny(Deny::NoLease { consent_version });
        };
        if now_ms >= l.expires_at_ms {
            return Decision::Deny(Deny::LeaseExpired { consent_version });
        }
        // The home knew of these when it granted the lease: until this node holds them too, it
        // cannot tell what they withdraw, so it shows nothing received under the lease.
        if let Some(id) = l
            .revocations
            .iter()
            .find(|id| !plan.revocations.iter().any(|r| &r.id == *id))
        {
            return Decision::Deny(Deny::RevocationNotHeld {
                consent_version,
                revocation_id: id.clone(),
            });
        }
        return d;
    }
    d
}

/// May the user write the fragment? Only its home organisation writes, and only from a unit that
/// takes part in the plan.
pub fn decide_write(plan: &PlanState, who: Requester<'_>, fragment_home: &str) -> Decision {
    if !takes_part(plan, who) {
        return Decision::Deny(Deny::NotParticipant);
    }
    if fragment_home != who.organization {
        return Decision::Deny(Deny::NotHome);
    }
    Decision::Permit(Permit::OwnFragment)
}

/// Need to know: does the user's unit take part in the plan?
pub fn takes_part(plan: &PlanState, who: Requester<'_>) -> bool {
    plan.participants
        .iter()
        .any(|u| u.organization == who.organization && u.unit == who.unit)
}

#[cfg(test)]
mod tests;
