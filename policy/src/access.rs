//! The read, share and write decisions. Secrecy runs between authorities: a unit reads its own
//! authority's fragments, and every other fragment — of its own organisation or another — only
//! under a valid consent that grants the category to its authority or to the unit itself.

use std::collections::BTreeSet;

use crate::authority::Authority;
use crate::consenters::{Missing, consent_missing};
use crate::state::{ConsentState, FragmentFacts, Grantee, LegacyReading, PlanState, Requester};

/// Why access was permitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    /// The fragment is the requester's own: its authority's (a read) or its organisation's
    /// record (holding a copy).
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
    /// The directory does not say which authority the unit (or named authority) is.
    UnknownAuthority,
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
    /// The young person's own consent is required and missing.
    YoungPersonMissing {
        /// Consent version.
        consent_version: u64,
    },
    /// The consent does not grant the category to the authority or unit.
    NotGranted {
        /// Consent version.
        consent_version: u64,
    },
    /// Only a legacy grant to the whole organisation covers it, and several of the
    /// organisation's authorities take part: a new consent must name the authority.
    OrganizationGrantAmbiguous {
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
            Decision::Deny(Deny::UnknownAuthority) => "unknown-authority",
            Decision::Deny(Deny::NoConsent) => "no-consent",
            Decision::Deny(Deny::ConsentExpired { .. }) => "consent-expired",
            Decision::Deny(Deny::GuardianMissing { .. }) => "guardian-missing",
            Decision::Deny(Deny::YoungPersonMissing { .. }) => "young-person-missing",
            Decision::Deny(Deny::NotGranted { .. }) => "not-granted",
            Decision::Deny(Deny::OrganizationGrantAmbiguous { .. }) => {
                "organization-grant-ambiguous"
            }
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
                | Deny::YoungPersonMissing { consent_version }
                | Deny::NotGranted { consent_version }
                | Deny::OrganizationGrantAmbiguous { consent_version }
                | Deny::Revoked {
                    consent_version, ..
                }
                | Deny::NoLease { consent_version }
                | Deny::LeaseExpired { consent_version },
            ) => *consent_version,
            _ => 0,
        }
    }
}

/// Who would receive: an authority, and the unit when a read or a unit grant narrows it.
#[derive(Clone, Copy)]
struct Reader<'a> {
    authority: &'a Authority,
    unit: Option<&'a str>,
}

/// May `organization` hold a copy of the fragment at time `now_ms`? Its own records, always
/// (which of its units may read them is [`decide_read`]'s question); another's, when the consent
/// lets at least one of its authorities, or one of its units named in a grant, receive it. Used
/// for crossings between organisations and for purging received copies.
pub fn decide_share(
    plan: &PlanState,
    organization: &str,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    if fragment.home == organization {
        return Decision::Permit(Permit::OwnFragment);
    }
    let consent = match valid_consent(plan, fragment, now_ms) {
        Ok(c) => c,
        Err(d) => return Decision::Deny(d),
    };
    // A grant that names only the organisation (the guardians named "the region") lets the
    // organisation's node hold the copy: which of its authorities may read it is decided per
    // read ([`decide_read`]), once the node knows which of them takes part. Holding is not
    // reading; deciding it per authority would need the participant list the copy brings.
    let to_organization = consent.grants.iter().any(|(g, cats)| {
        matches!(g, Grantee::Organization(o) if o == organization)
            && cats.contains(&fragment.category)
    });
    if to_organization {
        match plan
            .revocations_in_force()
            .filter(|r| r.covers(organization, fragment.category))
            .min_by(|a, b| a.id.cmp(&b.id))
        {
            None => {
                return Decision::Permit(Permit::Granted {
                    consent_version: consent.version,
                });
            }
            Some(r) => {
                return Decision::Deny(Deny::Revoked {
                    consent_version: consent.version,
                    revocation_id: r.id.clone(),
                });
            }
        }
    }
    let by_authority = plan
        .directory
        .authorities_of(organization)
        .map(|authority| Reader {
            authority,
            unit: None,
        });
    let by_unit = consent.grants.keys().filter_map(|g| match g {
        Grantee::Unit(u) if u.organization == organization => plan
            .directory
            .authority_of(&u.organization, &u.unit)
            .map(|authority| Reader {
                authority,
                unit: Some(&u.unit),
            }),
        _ => None,
    });
    // A permit for any reader wins; otherwise the most telling refusal, the same in any order.
    let mut best = Deny::NotGranted {
        consent_version: consent.version,
    };
    for reader in by_authority.chain(by_unit) {
        match granted(plan, consent, reader, fragment) {
            Ok(()) => {
                return Decision::Permit(Permit::Granted {
                    consent_version: consent.version,
                });
            }
            Err(d) => best = more_telling(best, d),
        }
    }
    Decision::Deny(best)
}

/// May `authority` (a directory id) receive the fragment? Its own fragments, always; any other
/// only under the consent, as for a read.
pub fn decide_share_to_authority(
    plan: &PlanState,
    authority: &str,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    let Some(authority) = plan.directory.authority(authority) else {
        return Decision::Deny(Deny::UnknownAuthority);
    };
    decide_for(
        plan,
        Reader {
            authority,
            unit: None,
        },
        fragment,
        now_ms,
    )
}

/// May the user see the fragment? Need to know first (the unit takes part), then: its own
/// authority's fragments always; others under the consent granted to its authority or unit; and
/// a copy received from another organisation only under a current lease from the consent home.
pub fn decide_read(
    plan: &PlanState,
    who: Requester<'_>,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    if !takes_part(plan, who) {
        return Decision::Deny(Deny::NotParticipant);
    }
    let Some(authority) = plan.authority_of(who) else {
        return Decision::Deny(Deny::UnknownAuthority);
    };
    let reader = Reader {
        authority,
        unit: Some(who.unit),
    };
    let d = decide_for(plan, reader, fragment, now_ms);
    if let Decision::Permit(Permit::Granted { consent_version }) = d
        && fragment.home != who.organization
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
    }
    d
}

/// May the user write a fragment of `fragment_home`? Only its home organisation writes, only from
/// a unit that takes part and that the directory places under an authority (the fragment is homed
/// there). Which kinds of fragment the authority may write is [`crate::may_author`]'s question.
pub fn decide_write(plan: &PlanState, who: Requester<'_>, fragment_home: &str) -> Decision {
    if !takes_part(plan, who) {
        return Decision::Deny(Deny::NotParticipant);
    }
    if fragment_home != who.organization {
        return Decision::Deny(Deny::NotHome);
    }
    if plan.authority_of(who).is_none() {
        return Decision::Deny(Deny::UnknownAuthority);
    }
    Decision::Permit(Permit::OwnFragment)
}

/// Need to know: does the user's unit take part in the plan?
pub fn takes_part(plan: &PlanState, who: Requester<'_>) -> bool {
    plan.participants
        .iter()
        .any(|u| u.organization == who.organization && u.unit == who.unit)
}

/// Organisations other than the fragment's home that may hold a copy now: those whose authority
/// or unit a grant names (or a legacy grant's organisation), where [`decide_share`] permits.
pub fn recipient_organizations(
    plan: &PlanState,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> BTreeSet<String> {
    let Some(consent) = &plan.consent else {
        return BTreeSet::new();
    };
    consent
        .grants
        .keys()
        .filter_map(|g| match g {
            Grantee::Organization(o) => Some(o.as_str()),
            Grantee::Unit(u) => Some(u.organization.as_str()),
            Grantee::Authority(a) => plan.directory.authority(a).map(|a| a.organization.as_str()),
        })
        .filter(|o| *o != fragment.home)
        .filter(|o| decide_share(plan, o, fragment, now_ms).is_permit())
        .map(str::to_string)
        .collect()
}

/// The decision for one reader: own authority's fragment, or the consent.
fn decide_for(
    plan: &PlanState,
    reader: Reader<'_>,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Decision {
    let own = fragment.home == reader.authority.organization
        && plan
            .home_authority(fragment)
            .is_some_and(|h| h.id == reader.authority.id);
    if own {
        return Decision::Permit(Permit::OwnFragment);
    }
    let consent = match valid_consent(plan, fragment, now_ms) {
        Ok(c) => c,
        Err(d) => return Decision::Deny(d),
    };
    match granted(plan, consent, reader, fragment) {
        Ok(()) => Decision::Permit(Permit::Granted {
            consent_version: consent.version,
        }),
        Err(d) => Decision::Deny(d),
    }
}

/// The current consent, if it is recorded, unexpired and given by everyone who must give it for
/// information held by the fragment's home authority.
fn valid_consent<'p>(
    plan: &'p PlanState,
    fragment: FragmentFacts<'_>,
    now_ms: i64,
) -> Result<&'p ConsentState, Deny> {
    let Some(consent) = &plan.consent else {
        return Err(Deny::NoConsent);
    };
    let consent_version = consent.version;
    if now_ms >= consent.valid_until_ms {
        return Err(Deny::ConsentExpired { consent_version });
    }
    let disclosing = plan.home_authority(fragment).map(|a| a.kind);
    match consent_missing(plan, consent, disclosing, now_ms) {
        Some(Missing::Guardian(guardian_id)) => Err(Deny::GuardianMissing {
            consent_version,
            guardian_id,
        }),
        Some(Missing::YoungPerson) => Err(Deny::YoungPersonMissing { consent_version }),
        None => Ok(consent),
    }
}

/// Does a grant of the fragment's category cover the reader, with no revocation in force
/// withdrawing it?
fn granted(
    plan: &PlanState,
    consent: &ConsentState,
    reader: Reader<'_>,
    fragment: FragmentFacts<'_>,
) -> Result<(), Deny> {
    let consent_version = consent.version;
    let a = reader.authority;
    let mut ambiguous = false;
    let covered = consent
        .grants
        .iter()
        .filter(|(_, cats)| cats.contains(&fragment.category))
        .any(|(grantee, _)| match grantee {
            Grantee::Authority(id) => *id == a.id,
            Grantee::Unit(u) => {
                u.organization == a.organization && Some(u.unit.as_str()) == reader.unit
            }
            Grantee::Organization(o) if *o == a.organization => {
                match plan.legacy_grant_reading(o) {
                    LegacyReading::One(only) => only.id == a.id,
                    LegacyReading::Several => {
                        ambiguous = true;
                        false
                    }
                    LegacyReading::None => false,
                }
            }
            Grantee::Organization(_) => false,
        });
    if !covered {
        return Err(if ambiguous {
            Deny::OrganizationGrantAmbiguous { consent_version }
        } else {
            Deny::NotGranted { consent_version }
        });
    }
    // Smallest id first, so the reason does not depend on the order revocations arrived in.
    match plan
        .revocations_in_force()
        .filter(|r| r.covers_authority(&a.organization, &a.id, fragment.category))
        .min_by(|x, y| x.id.cmp(&y.id))
    {
        Some(r) => Err(Deny::Revoked {
            consent_version,
            revocation_id: r.id.clone(),
        }),
        None => Ok(()),
    }
}

/// Of two refusals for different readers of one organisation, the one to report: a revocation
/// (smallest id) over an ambiguous legacy grant over no grant.
fn more_telling(a: Deny, b: Deny) -> Deny {
    let rank = |d: &Deny| match d {
        Deny::Revoked { revocation_id, .. } => (2, Some(revocation_id.clone())),
        Deny::OrganizationGrantAmbiguous { .. } => (1, None),
        _ => (0, None),
    };
    let (ra, ia) = rank(&a);
    let (rb, ib) = rank(&b);
    // Higher rank wins; between two revocations, the smaller id.
    match ra.cmp(&rb) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal if ib < ia => b,
        std::cmp::Ordering::Equal => a,
    }
}
