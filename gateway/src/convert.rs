//! Conversions between wire types and the policy's types, in one place.

use std::collections::{BTreeMap, BTreeSet};

use kronobarn_policy::{
    Birth, Category, ConsentState, Date, Directory, Grantee, PlanState, RevocationState, Unit,
    WithdrawnBy,
};
use kronobarn_proto::v1::{Child, Consent, IdentityKind, Revocation, fragment::Body};

use crate::PlanView;

/// The policy's view of a plan: participants from the header and participant fragments,
/// guardians with custody and the child's birth from the header, the current consent, every
/// revocation and the lease; and the directory, with every unit the plan names that the
/// directory does not list made an authority of its own (the narrowest reading of secrecy).
pub fn plan_state(view: &PlanView) -> PlanState {
    let mut participants = BTreeSet::new();
    let mut custodial_guardians = BTreeSet::new();
    let mut responsible = None;
    let mut child_birth = None;
    if let Some(h) = &view.header {
        // The header names its own responsible organisation; after a handover the old header still
        // names the old one until the new home rewrites it. A header naming none is its writer's.
        let writer = view
            .fragments
            .iter()
            .find(|f| f.fragment.fragment_id == kronobarn_proto::ids::HEADER_FRAGMENT_ID)
            .map(|f| &f.fragment.home_organization)
            .filter(|o| !o.is_empty());
        let org = if !h.responsible_organization.is_empty() {
            &h.responsible_organization
        } else {
            writer.unwrap_or(&view.home_organization)
        };
        let unit = Unit {
            organization: org.clone(),
            unit: h.responsible_unit.clone(),
        };
        participants.insert(unit.clone());
        responsible = Some(unit);
        custodial_guardians.extend(
            h.guardians
                .iter()
                .filter(|g| g.has_custody)
                .map(|g| g.guardian_id.clone()),
        );
        child_birth = h.child.as_ref().and_then(birth);
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
    let implicit_homes = view
        .fragments
        .iter()
        .filter_map(|f| Directory::implicit_unit(&f.fragment.home_authority));
    let directory = view.directory.covering(
        participants
            .iter()
            .map(|u| (u.organization.as_str(), u.unit.as_str()))
            .chain(implicit_homes),
    );
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
        directory,
        responsible,
        child_birth,
        consent_rules: view.consent_rules,
    }
}

/// The child's birth as the header says it: expected (before birth), the birth date, or the date
/// the identity number encodes.
pub fn birth(child: &Child) -> Option<Birth> {
    if child.identity_kind == IdentityKind::Unborn as i32 || !child.expected_month.is_empty() {
        let (y, m) = child.expected_month.split_once('-')?;
        return Some(Birth::Expected {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        });
    }
    if let Some(d) = Date::parse(&child.birth_date) {
        return Some(Birth::Born(d));
    }
    if child.identity_kind == IdentityKind::ReserveNumber as i32 {
        return None;
    }
    // The number was validated when the header was written; its century was fixed then.
    let p = kronobarn_proto::personnummer::parse(&child.personal_identity_number, (9999, 12, 31))
        .ok()?;
    let (y, m, d) = p.birth_date();
    Date::new(y, m as u8, d as u8).map(Birth::Born)
}

/// The policy's view of a consent.
pub fn consent_state(c: &Consent) -> ConsentState {
    let mut grants: BTreeMap<Grantee, BTreeSet<Category>> = BTreeMap::new();
    for g in &c.grants {
        let grantee = if !g.unit.is_empty() {
            Grantee::Unit(Unit {
                organization: g.organization.clone(),
                unit: g.unit.clone(),
            })
        } else if !g.authority.is_empty() {
            Grantee::Authority(g.authority.clone())
        } else {
            Grantee::Organization(g.organization.clone())
        };
        grants
            .entry(grantee)
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
        young_person_consented: c.young_person_consented,
        recorded_at_ms: c.recorded_at_unix_ms,
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
        authorities: r.authorities.iter().cloned().collect(),
        categories: r.categories.iter().map(|c| Category(*c)).collect(),
        withdrawn_by: WithdrawnBy::from_wire(&r.withdrawn_by),
        recorded_at_ms: r.recorded_at_unix_ms,
    }
}
