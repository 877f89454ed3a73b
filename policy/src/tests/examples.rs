//! Each rule by example.

use super::fixtures::*;
use crate::*;

const BVC: Requester<'static> = Requester {
    organization: "region",
    unit: "u1",
};
const SCHOOL: Requester<'static> = Requester {
    organization: "vaxjo",
    unit: "u1",
};
const SOCIAL: Requester<'static> = Requester {
    organization: "vaxjo",
    unit: "u2",
};
/// Health (3) written by Växjö's school.
const HEALTH_AT_SCHOOL: FragmentFacts<'static> = FragmentFacts {
    home: "vaxjo",
    home_authority: "vaxjo-school",
    category: Category(3),
};

#[test]
fn each_rule_has_its_reason() {
    let p = base_plan();
    let read = |p: &PlanState, w, f| decide_read(p, w, f, NOW).reason();
    assert_eq!(read(&p, BVC, HEALTH_AT_SCHOOL), "granted");
    assert_eq!(
        read(&p, who("region", "u3"), HEALTH_AT_SCHOOL),
        "not-participant"
    );
    assert_eq!(
        read(&p, BVC, frag("vaxjo", "vaxjo-school", 4)),
        "not-granted"
    );
    assert_eq!(
        read(&p, BVC, frag("region", "region-bvc", 4)),
        "own-fragment"
    );
    assert_eq!(
        read(&p, BVC, frag("region", "region-bup", 4)),
        "not-granted"
    );
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW + 1000).reason(),
        "consent-expired"
    );

    let mut q = p.clone();
    q.participants.insert(unit("alvesta", "u2"));
    assert_eq!(
        read(&q, who("alvesta", "u2"), HEALTH_AT_SCHOOL),
        "unknown-authority"
    );

    let mut q = p.clone();
    q.consent = None;
    assert_eq!(read(&q, BVC, HEALTH_AT_SCHOOL), "no-consent");

    let mut q = p.clone();
    q.consent.as_mut().unwrap().consented_guardians.remove("g2");
    assert_eq!(
        decide_read(&q, BVC, HEALTH_AT_SCHOOL, NOW),
        Decision::Deny(Deny::GuardianMissing {
            consent_version: 1,
            guardian_id: "g2".into()
        })
    );

    let mut q = p.clone();
    q.revocations.push(RevocationState {
        id: "r1".into(),
        ..Default::default()
    });
    assert_eq!(read(&q, BVC, HEALTH_AT_SCHOOL), "revoked");
    // Sticky: a newer consent that does not name the revocation leaves it in force...
    q.consent.as_mut().unwrap().version = 2;
    q.lease = Some(LeaseState {
        consent_version: 2,
        expires_at_ms: NOW + 500,
        ..Default::default()
    });
    assert_eq!(read(&q, BVC, HEALTH_AT_SCHOOL), "revoked");
    // ...and one that names it lifts it.
    q.consent.as_mut().unwrap().supersedes.insert("r1".into());
    assert_eq!(
        decide_read(&q, BVC, HEALTH_AT_SCHOOL, NOW),
        Decision::Permit(Permit::Granted { consent_version: 2 })
    );
}

#[test]
fn the_school_and_social_services_of_one_municipality_need_consent_like_anyone() {
    let p = base_plan();
    // Social services may receive interventions (10) from the school, nothing else.
    let intervention = frag("vaxjo", "vaxjo-school", 10);
    assert_eq!(
        decide_read(&p, SOCIAL, intervention, NOW).reason(),
        "granted"
    );
    assert_eq!(
        decide_read(&p, SOCIAL, HEALTH_AT_SCHOOL, NOW).reason(),
        "not-granted"
    );
    // The school reads nothing of social services without a grant to the school.
    let social = frag("vaxjo", "vaxjo-social", 10);
    assert_eq!(decide_read(&p, SCHOOL, social, NOW).reason(), "not-granted");
    assert_eq!(
        decide_read(&p, SOCIAL, social, NOW).reason(),
        "own-fragment"
    );
    // BVC and BUP of the region are no closer.
    let bvc = frag("region", "region-bvc", 3);
    assert_eq!(
        decide_read(&p, who("region", "u2"), bvc, NOW).reason(),
        "not-granted"
    );
    // Same organisation: no lease needed, the copy is the node's own record.
    let mut q = p.clone();
    q.lease = None;
    assert_eq!(
        decide_read(&q, SOCIAL, intervention, NOW).reason(),
        "granted"
    );
    // The organisation holds all its records, whichever authority's.
    assert!(decide_share(&p, "vaxjo", social, NOW).is_permit());
    // Authority-level sharing.
    assert_eq!(
        decide_share_to_authority(&p, "vaxjo-social", intervention, NOW).reason(),
        "granted"
    );
    assert_eq!(
        decide_share_to_authority(&p, "region-bup", HEALTH_AT_SCHOOL, NOW).reason(),
        "not-granted"
    );
    assert_eq!(
        decide_share_to_authority(&p, "ghost", HEALTH_AT_SCHOOL, NOW).reason(),
        "unknown-authority"
    );
    // A fragment naming no home authority is no unit's own.
    assert_eq!(
        decide_read(&p, SCHOOL, frag("vaxjo", "", 3), NOW).reason(),
        "not-granted"
    );
    // Nor is one claiming an authority of another organisation.
    assert_eq!(
        decide_read(&p, BVC, frag("vaxjo", "region-bvc", 4), NOW).reason(),
        "not-granted"
    );
}

#[test]
fn a_unit_grant_covers_that_unit_only() {
    let mut p = base_plan();
    p.participants.insert(unit("vaxjo", "u3"));
    let mut d = directory();
    d.add_unit(DirectoryUnit {
        organization: "vaxjo".into(),
        unit: "u3".into(),
        authority: "vaxjo-social".into(),
        serves: vec![],
    })
    .unwrap();
    p.directory = d.into();
    let c = p.consent.as_mut().unwrap();
    c.grants.clear();
    c.grants
        .insert(Grantee::Unit(unit("vaxjo", "u3")), set(&[Category(3)]));
    let region_health = frag("region", "region-bvc", 3);
    assert_eq!(
        decide_read(&p, who("vaxjo", "u3"), region_health, NOW).reason(),
        "granted"
    );
    assert_eq!(
        decide_read(&p, SOCIAL, region_health, NOW).reason(),
        "not-granted"
    );
    assert!(decide_share(&p, "vaxjo", region_health, NOW).is_permit());
    assert_eq!(
        recipient_organizations(&p, region_health, NOW),
        set(&["vaxjo".to_string()])
    );
}

#[test]
fn a_legacy_organisation_grant_covers_only_a_single_participating_authority() {
    let mut p = base_plan();
    let c = p.consent.as_mut().unwrap();
    c.grants.clear();
    c.grants
        .insert(Grantee::Organization("region".into()), set(&[Category(3)]));
    // BVC and BUP both take part: the grant does not say which, so it covers neither.
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "organization-grant-ambiguous"
    );
    // The region's node may hold the copy (the guardians named the region); no one there reads it.
    assert!(decide_share(&p, "region", HEALTH_AT_SCHOOL, NOW).is_permit());
    // Only BVC takes part: it is covered, and BUP (not a participant) is not.
    p.participants.remove(&unit("region", "u2"));
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "granted"
    );
    assert_eq!(
        decide_share_to_authority(&p, "region-bup", HEALTH_AT_SCHOOL, NOW).reason(),
        "not-granted"
    );
    assert_eq!(
        recipient_organizations(&p, HEALTH_AT_SCHOOL, NOW),
        set(&["region".to_string()])
    );
    // Nobody of the region takes part: no one there reads it (the node may still hold it, as
    // the guardians named the region, until it learns who takes part).
    p.participants.remove(&unit("region", "u1"));
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "not-participant"
    );
    assert_eq!(
        decide_share_to_authority(&p, "region-bvc", HEALTH_AT_SCHOOL, NOW).reason(),
        "not-granted"
    );
}

#[test]
fn revocations_name_organisations_or_authorities() {
    let mut p = base_plan();
    p.consent
        .as_mut()
        .unwrap()
        .grants
        .insert(Grantee::Authority("region-bup".into()), set(&[Category(3)]));
    let bup = who("region", "u2");
    p.revocations.push(RevocationState {
        id: "r1".into(),
        authorities: set(&["region-bup".to_string()]),
        ..Default::default()
    });
    assert_eq!(
        decide_read(&p, bup, HEALTH_AT_SCHOOL, NOW).reason(),
        "revoked"
    );
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "granted"
    );
    // The organisation still holds a copy for BVC.
    assert!(decide_share(&p, "region", HEALTH_AT_SCHOOL, NOW).is_permit());
    // An organisation-wide revocation covers every authority of it.
    p.revocations.push(RevocationState {
        id: "r2".into(),
        organizations: set(&["region".to_string()]),
        categories: set(&[Category(3)]),
        ..Default::default()
    });
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "revoked"
    );
    assert_eq!(
        decide_share(&p, "region", HEALTH_AT_SCHOOL, NOW),
        Decision::Deny(Deny::Revoked {
            consent_version: 1,
            revocation_id: "r1".into()
        })
    );
    // Scope is respected: the police and another category are someone else's.
    let mut q = base_plan();
    q.revocations.push(RevocationState {
        id: "r1".into(),
        organizations: set(&["polisen".to_string()]),
        ..Default::default()
    });
    q.revocations.push(RevocationState {
        id: "r2".into(),
        categories: set(&[Category(4)]),
        ..Default::default()
    });
    assert!(decide_read(&q, BVC, HEALTH_AT_SCHOOL, NOW).is_permit());
}

#[test]
fn consent_follows_the_childs_age() {
    // Born 2007-06-01 (turns 18 on 2025-06-01, NOW's Swedish date); the guardians consented.
    let mut p = base_plan();
    p.child_birth = Some(Birth::Born(Date::new(2007, 6, 1).unwrap()));
    p.consent.as_mut().unwrap().recorded_at_ms = NOW - 400 * DAY;
    let day_before = NOW - DAY;
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, day_before).reason(),
        "granted"
    );
    // From 18 the guardians' consent is not the young person's.
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "young-person-missing"
    );
    // At 17, BUP's information needs the young person's own consent too (health care).
    let mut q = p.clone();
    q.consent.as_mut().unwrap().grants.insert(
        Grantee::Authority("vaxjo-school".into()),
        set(&[Category(3)]),
    );
    let bup = frag("region", "region-bup", 3);
    assert_eq!(
        decide_read(&q, SCHOOL, bup, day_before).reason(),
        "young-person-missing"
    );
    q.consent.as_mut().unwrap().young_person_consented = true;
    assert_eq!(decide_read(&q, SCHOOL, bup, day_before).reason(), "granted");
    // Given by guardians and young person at 17, it stands at 18.
    assert_eq!(decide_read(&q, SCHOOL, bup, NOW).reason(), "granted");
    // Given by the young person alone at 17, it does not come into force at 18.
    q.consent.as_mut().unwrap().consented_guardians.clear();
    assert_eq!(
        decide_read(&q, SCHOOL, bup, NOW).reason(),
        "guardian-missing"
    );
    // Given by the young person alone at 18, it is valid without the guardians.
    q.consent.as_mut().unwrap().recorded_at_ms = NOW;
    assert_eq!(decide_read(&q, SCHOOL, bup, NOW + 1).reason(), "granted");
    // A guardian's withdrawal after 18 does not count; the young person's does.
    q.revocations.push(RevocationState {
        id: "r1".into(),
        withdrawn_by: WithdrawnBy::Guardian("g1".into()),
        recorded_at_ms: NOW + 1,
        ..Default::default()
    });
    assert_eq!(decide_read(&q, SCHOOL, bup, NOW + 2).reason(), "granted");
    q.revocations.push(RevocationState {
        id: "r2".into(),
        withdrawn_by: WithdrawnBy::YoungPerson,
        recorded_at_ms: NOW + 1,
        ..Default::default()
    });
    assert_eq!(decide_read(&q, SCHOOL, bup, NOW + 2).reason(), "revoked");
}

#[test]
fn received_copies_need_a_current_lease_but_the_consent_home_does_not() {
    let mut p = base_plan();
    let school_reads_bvc =
        |p: &PlanState, t| decide_read(p, SCHOOL, frag("region", "region-bvc", 3), t);
    assert!(decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).is_permit());
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW + 500).reason(),
        "lease-expired"
    );
    p.lease = Some(LeaseState {
        consent_version: 0,
        expires_at_ms: NOW + 500,
        ..Default::default()
    });
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "no-lease",
        "a lease for an older consent is void"
    );
    p.lease = None;
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "no-lease"
    );
    // Own fragments need no lease; holding decisions do not either.
    assert!(decide_read(&p, BVC, frag("region", "region-bvc", 3), NOW).is_permit());
    assert!(decide_share(&p, "region", HEALTH_AT_SCHOOL, NOW).is_permit());
    // At the consent home, a copy received from the region is shown without a lease.
    assert_eq!(school_reads_bvc(&p, NOW).reason(), "not-granted");
    p.consent.as_mut().unwrap().grants.insert(
        Grantee::Authority("vaxjo-school".into()),
        set(&[Category(3)]),
    );
    assert!(school_reads_bvc(&p, NOW).is_permit());
}

#[test]
fn writes_only_at_home_with_need_to_know_and_an_authority() {
    let mut p = base_plan();
    assert!(decide_write(&p, BVC, "region").is_permit());
    assert_eq!(decide_write(&p, BVC, "vaxjo").reason(), "not-home");
    assert_eq!(
        decide_write(&p, who("region", "u3"), "region").reason(),
        "not-participant"
    );
    p.participants.insert(unit("alvesta", "u2"));
    assert_eq!(
        decide_write(&p, who("alvesta", "u2"), "alvesta").reason(),
        "unknown-authority"
    );
}

#[test]
fn an_empty_directory_shows_nothing() {
    let mut p = base_plan();
    p.directory = Default::default();
    for f in [HEALTH_AT_SCHOOL, frag("region", "region-bvc", 3)] {
        assert_eq!(decide_read(&p, BVC, f, NOW).reason(), "unknown-authority");
    }
    assert!(!decide_share(&p, "region", HEALTH_AT_SCHOOL, NOW).is_permit());
}

#[test]
fn a_lease_naming_a_revocation_not_held_shows_nothing_received() {
    let mut p = base_plan();
    assert!(decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).is_permit());
    p.lease.as_mut().unwrap().revocations = vec!["r-elsewhere".into()];
    assert_eq!(
        decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).reason(),
        "revocation-not-held"
    );
    // Once it is held, the lease counts again and the revocation itself decides.
    p.revocations.push(RevocationState {
        id: "r-elsewhere".into(),
        organizations: ["polisen".to_string()].into(),
        ..Default::default()
    });
    assert!(decide_read(&p, BVC, HEALTH_AT_SCHOOL, NOW).is_permit());
}
