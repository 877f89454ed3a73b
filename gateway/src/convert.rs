//! Conversions between wire types and the policy's types, in one place.

use std::collections::{BTreeMap, BTreeSet};

use kronobarn_policy::{Category, ConsentState, PlanState, RevocationState, Unit};
use kronobarn_proto::v1::{Consent, Revocation, fragment::Body};

use crate::PlanView;

/// The policy's view of a plan: participants from the header and participant fragments,
/// guardians with custody from the header, the current consent and every revocation.
pub fn plan_state(view: &PlanView) -> PlanState {
    let mut participants = BTreeSet::new();
    let mut custodial_guardians = BTreeSet::new();
    if let Some(h) = &view.header {
        // The header names its own responsible organisation; after a handover the old header still
        // names the old one until the new home rewrites it.
        let responsible = if h.responsible_organization.is_empty() {
            &view.home_organization
        } else {
            &h.responsible_organization
        };
        participants.insert(Unit {
            organization: responsible.clone(),
            unit: h.responsible_unit.clone(),
        });
        custodial_guardians.extend(
            h.guardians
                .iter()
                .filter(|g| g.has_custody)
                .map(|g| g.guardian_id.clone()),
        );
    }
    for f in &view.fragments {
        if let Some(Body::Participant(p)) = &f.fragment.body {
            participants.insert(Unit {
                organization: p.organization.clone(),
                unit: p.unit.clone(),
            });
        }
    }
    participants.extend(view.own_units.iter().map(|(organization, unit)| Unit {
        organization: organization.clone(),
        unit: unit.clone(),
    }));
    PlanState {
        consent_home: view.home_organization.clone(),
        participants,
        custodial_guardians,
        consent: view.consent.as_ref().map(consent_state),
        revocations: view.revocations.iter().map(revocation_state).collect(),
        lease: view.lease.as_ref().map(|l| kronobarn_policy::LeaseState {
            consent_version: l.consent_version,
            expires_at_ms: l.expires_at_unix_ms,
            revocations: l.revocations_in_force.clone(),
        }),
    }
}

/// The policy's view of a consent.
pub fn consent_state(c: &Consent) -> ConsentState {
    let mut grants: BTreeMap<String, BTreeSet<Category>> = BTreeMap::new();
    for g in &c.grants {
        grants
            .entry(g.organization.clone())
            .or_default()
            .extend(g.categories.iter().map(|c| Category(*c)));
    }
    ConsentState {
        version: c.consent_version,
        consented_guardians: c
            .guardian_consents
            .iter()
            .map(|g| g.guardian_id.clone())
            .collect(),
        valid_until_ms: c.valid_until_unix_ms,
        grants,
        supersedes: c.supersedes_revocations.iter().cloned().collect(),
    }
}

/// The policy's view of a revocation.
pub fn revocation_state(r: &Revocation) -> RevocationState {
    RevocationState {
        id: r.revocation_id.clone(),
        organizations: r.organizations.iter().cloned().collect(),
        categories: r.categories.iter().map(|c| Category(*c)).collect(),
    }
}
