use super::*;
use proptest::prelude::*;

const ORGS: [&str; 4] = ["alvesta", "vaxjo", "region", "polisen"];
const UNITS: [&str; 2] = ["u1", "u2"];
const NOW: i64 = 1_000_000;

fn set<T: Ord + Clone>(v: &[T]) -> BTreeSet<T> {
    v.iter().cloned().collect()
}

fn arb_org() -> impl Strategy<Value = String> {
    prop::sample::select(&ORGS[..]).prop_map(str::to_string)
}

fn arb_category() -> impl Strategy<Value = Category> {
    (1i32..=12).prop_map(Category)
}

fn arb_revocation() -> impl Strategy<Value = RevocationState> {
    (
        "r[0-9]{1,2}",
        prop::collection::btree_set(arb_org(), 0..3),
        prop::collection::btree_set(arb_category(), 0..3),
    )
        .prop_map(|(id, organizations, categories)| RevocationState {
            id,
            organizations,
            categories,
        })
}

fn arb_consent() -> impl Strategy<Value = ConsentState> {
    (
        1u64..5,
        prop::collection::btree_set(
            prop::sample::select(vec!["g1".to_string(), "g2".to_string()]),
            0..3,
        ),
        (NOW - 10)..(NOW + 10),
        prop::collection::btree_map(
            arb_org(),
            prop::collection::btree_set(arb_category(), 0..6),
            0..4,
        ),
        prop::collection::btree_set("r[0-9]{1,2}", 0..3),
    )
        .prop_map(
            |(version, consented_guardians, valid_until_ms, grants, supersedes)| ConsentState {
                version,
                consented_guardians,
                valid_until_ms,
                grants,
                supersedes,
            },
        )
}

fn arb_plan() -> impl Strategy<Value = PlanState> {
    (
        arb_org(),
        prop::collection::btree_set(
            (arb_org(), prop::sample::select(&UNITS[..])).prop_map(|(organization, u)| Unit {
                organization,
                unit: u.to_string(),
            }),
            0..6,
        ),
        prop::collection::btree_set(
            prop::sample::select(vec!["g1".to_string(), "g2".to_string()]),
            0..3,
        ),
        prop::option::of(arb_consent()),
        prop::collection::vec(arb_revocation(), 0..4),
        prop::option::of((1u64..5, (NOW - 10)..(NOW + 10)).prop_map(
            |(consent_version, expires_at_ms)| LeaseState {
                consent_version,
                expires_at_ms,
                revocations: vec![],
            },
        )),
    )
        .prop_map(
            |(consent_home, participants, custodial_guardians, consent, revocations, lease)| {
                PlanState {
                    consent_home,
                    participants,
                    custodial_guardians,
                    consent,
                    revocations,
                    lease,
                }
            },
        )
}

fn base_plan() -> PlanState {
    PlanState {
        consent_home: "vaxjo".into(),
        participants: set(&[
            Unit {
                organization: "vaxjo".into(),
                unit: "u1".into(),
            },
            Unit {
                organization: "region".into(),
                unit: "u1".into(),
            },
        ]),
        custodial_guardians: set(&["g1".to_string(), "g2".to_string()]),
        consent: Some(ConsentState {
            version: 1,
            consented_guardians: set(&["g1".to_string(), "g2".to_string()]),
            valid_until_ms: NOW + 1000,
            grants: [("region".to_string(), set(&[Category(3)]))]
                .into_iter()
                .collect(),
            supersedes: BTreeSet::new(),
        }),
        revocations: vec![],
        lease: Some(LeaseState {
            consent_version: 1,
            expires_at_ms: NOW + 500,
            ..Default::default()
        }),
    }
}

const REGION_U1: Requester<'static> = Requester {
    organization: "region",
    unit: "u1",
};
const HEALTH_AT_VAXJO: FragmentFacts<'static> = FragmentFacts {
    home: "vaxjo",
    category: Category(3),
};

#[test]
fn each_rule_has_its_reason() {
    let p = base_plan();
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "granted"
    );
    assert_eq!(
        decide_read(
            &p,
            Requester {
                organization: "region",
                unit: "u2"
            },
            HEALTH_AT_VAXJO,
            NOW
        )
        .reason(),
        "not-participant"
    );
    assert_eq!(
        decide_read(
            &p,
            REGION_U1,
            FragmentFacts {
                home: "vaxjo",
                category: Category(4)
            },
            NOW
        )
        .reason(),
        "not-granted"
    );
    assert_eq!(
        decide_read(
            &p,
            REGION_U1,
            FragmentFacts {
                home: "region",
                category: Category(4)
            },
            NOW
        )
        .reason(),
        "own-fragment"
    );
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW + 1000).reason(),
        "consent-expired"
    );

    let mut q = p.clone();
    q.consent = None;
    assert_eq!(
        decide_read(&q, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "no-consent"
    );

    let mut q = p.clone();
    q.consent.as_mut().unwrap().consented_guardians.remove("g2");
    let d = decide_read(&q, REGION_U1, HEALTH_AT_VAXJO, NOW);
    assert_eq!(
        d,
        Decision::Deny(Deny::GuardianMissing {
            consent_version: 1,
            guardian_id: "g2".into()
        })
    );

    let mut q = p.clone();
    q.revocations.push(RevocationState {
        id: "r1".into(),
        organizations: BTreeSet::new(),
        categories: BTreeSet::new(),
    });
    assert_eq!(
        decide_read(&q, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "revoked"
    );
    // Sticky: a newer consent that does not name the revocation leaves it in force...
    q.consent.as_mut().unwrap().version = 2;
    q.lease = Some(LeaseState {
        consent_version: 2,
        expires_at_ms: NOW + 500,
        ..Default::default()
    });
    assert_eq!(
        decide_read(&q, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "revoked"
    );
    // ...and one that names it lifts it.
    q.consent.as_mut().unwrap().supersedes.insert("r1".into());
    assert_eq!(
        decide_read(&q, REGION_U1, HEALTH_AT_VAXJO, NOW),
        Decision::Permit(Permit::Granted { consent_version: 2 })
    );
}

#[test]
fn received_copies_need_a_current_lease_but_the_consent_home_does_not() {
    let mut p = base_plan();
    assert!(decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).is_permit());
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW + 500).reason(),
        "lease-expired"
    );
    p.lease = Some(LeaseState {
        consent_version: 0,
        expires_at_ms: NOW + 500,
        ..Default::default()
    });
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "no-lease",
        "a lease for an older consent is void"
    );
    p.lease = None;
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "no-lease"
    );
    // The region's own fragments need no lease; sharing decisions (what may be held) do not either.
    assert!(
        decide_read(
            &p,
            REGION_U1,
            FragmentFacts {
                home: "region",
                category: Category(3)
            },
            NOW
        )
        .is_permit()
    );
    assert!(decide_share(&p, "region", HEALTH_AT_VAXJO, NOW).is_permit());
    // At the consent home, a copy received from the region is shown without a lease.
    p.consent
        .as_mut()
        .unwrap()
        .grants
        .insert("vaxjo".into(), set(&[Category(3)]));
    let vaxjo = Requester {
        organization: "vaxjo",
        unit: "u1",
    };
    assert!(
        decide_read(
            &p,
            vaxjo,
            FragmentFacts {
                home: "region",
                category: Category(3)
            },
            NOW
        )
        .is_permit()
    );
}

#[test]
fn revocation_scope_is_respected() {
    let mut p = base_plan();
    p.revocations.push(RevocationState {
        id: "r1".into(),
        organizations: set(&["polisen".to_string()]),
        categories: BTreeSet::new(),
    });
    p.revocations.push(RevocationState {
        id: "r2".into(),
        organizations: BTreeSet::new(),
        categories: set(&[Category(4)]),
    });
    assert!(decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).is_permit());
}

#[test]
fn writes_only_at_home_and_with_need_to_know() {
    let p = base_plan();
    assert!(decide_write(&p, REGION_U1, "region").is_permit());
    assert_eq!(decide_write(&p, REGION_U1, "vaxjo").reason(), "not-home");
    assert_eq!(
        decide_write(
            &p,
            Requester {
                organization: "region",
                unit: "u2"
            },
            "region"
        )
        .reason(),
        "not-participant"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Deny by default: a permit for another organisation's fragment needs a grant of exactly
    /// that organisation and category, consent from every guardian with custody, and no expiry.
    #[test]
    fn no_permit_without_a_grant(plan in arb_plan(), org in arb_org(), unit in prop::sample::select(&UNITS[..]), home in arb_org(), cat in arb_category(), now in (NOW - 20)..(NOW + 20)) {
        let d = decide_read(&plan, Requester { organization: &org, unit }, FragmentFacts { home: &home, category: cat }, now);
        if d.is_permit() && home != org {
            let c = plan.consent.as_ref().expect("permit without consent");
            prop_assert!(c.grants.get(&org).is_some_and(|g| g.contains(&cat)));
            prop_assert!(now < c.valid_until_ms);
            prop_assert!(plan.custodial_guardians.is_subset(&c.consented_guardians));
            prop_assert!(!plan.revocations_in_force().any(|r| r.covers(&org, cat)));
        }
        if d.is_permit() {
            let who = Requester { organization: &org, unit };
            prop_assert!(takes_part(&plan, who));
        }
    }

    /// Adding a revocation never turns a deny into a permit.
    #[test]
    fn a_revocation_never_widens_access(plan in arb_plan(), extra in arb_revocation(), org in arb_org(), home in arb_org(), cat in arb_category()) {
        let before = decide_share(&plan, &org, FragmentFacts { home: &home, category: cat }, NOW);
        let mut after_plan = plan.clone();
        after_plan.revocations.push(extra);
        let after = decide_share(&after_plan, &org, FragmentFacts { home: &home, category: cat }, NOW);
        prop_assert!(before.is_permit() || !after.is_permit(), "{:?} -> {:?}", before, after);
    }

    /// Own fragments are never denied by consent changes, only by need to know.
    #[test]
    fn own_fragments_survive_any_consent_state(plan in arb_plan(), consent in prop::option::of(arb_consent()), revs in prop::collection::vec(arb_revocation(), 0..5), org in arb_org(), cat in arb_category(), now in any::<i64>()) {
        let mut p = plan;
        p.consent = consent;
        p.revocations = revs;
        p.participants.insert(Unit { organization: org.clone(), unit: "u1".into() });
        let d = decide_read(&p, Requester { organization: &org, unit: "u1" }, FragmentFacts { home: &org, category: cat }, now);
        prop_assert_eq!(d, Decision::Permit(Permit::OwnFragment));
    }

    /// Two independent revocations give the same decision whichever arrives first.
    #[test]
    fn revocation_order_does_not_matter(plan in arb_plan(), a in arb_revocation(), b in arb_revocation(), org in arb_org(), home in arb_org(), cat in arb_category()) {
        let mut ab = plan.clone();
        ab.revocations.extend([a.clone(), b.clone()]);
        let mut ba = plan;
        ba.revocations.extend([b, a]);
        let f = FragmentFacts { home: &home, category: cat };
        prop_assert_eq!(decide_share(&ab, &org, f, NOW), decide_share(&ba, &org, f, NOW));
    }

    /// A lease only ever narrows what a read may show, never widens it.
    #[test]
    fn a_lease_never_widens_access(plan in arb_plan(), org in arb_org(), unit in prop::sample::select(&UNITS[..]), home in arb_org(), cat in arb_category()) {
        let who = Requester { organization: &org, unit };
        let f = FragmentFacts { home: &home, category: cat };
        let mut without = plan.clone();
        without.lease = None;
        let mut forever = plan.clone();
        forever.lease = plan.consent.as_ref().map(|c| LeaseState { consent_version: c.version, expires_at_ms: i64::MAX, revocations: vec![] });
        let with = decide_read(&plan, who, f, NOW);
        prop_assert!(!decide_read(&without, who, f, NOW).is_permit() || with.is_permit() || home == org || org == plan.consent_home);
        prop_assert!(!with.is_permit() || decide_read(&forever, who, f, NOW).is_permit());
        prop_assert!(!with.is_permit() || decide_share(&plan, &org, f, NOW).is_permit());
    }

    /// Time only takes access away: what is denied now stays denied later under the same state.
    #[test]
    fn expiry_is_monotonic(plan in arb_plan(), org in arb_org(), home in arb_org(), cat in arb_category(), t in (NOW - 20)..(NOW + 20), dt in 0i64..40) {
        let f = FragmentFacts { home: &home, category: cat };
        let now = decide_share(&plan, &org, f, t);
        let later = decide_share(&plan, &org, f, t + dt);
        prop_assert!(now.is_permit() || !later.is_permit());
    }
}

#[test]
fn a_lease_naming_a_revocation_not_held_shows_nothing_received() {
    let mut p = base_plan();
    p.lease.as_mut().unwrap().revocations = vec!["r-elsewhere".into()];
    assert_eq!(
        decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).reason(),
        "revocation-not-held"
    );
    // Once the revocation is held, the lease counts again (and the revocation decides).
    p.revocations.push(RevocationState {
        id: "r-elsewhere".into(),
        organizations: ["polisen".to_string()].into(),
        categories: Default::default(),
    });
    assert!(decide_read(&p, REGION_U1, HEALTH_AT_VAXJO, NOW).is_permit());
}
