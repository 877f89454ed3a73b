//! A small county for the tests, and generators of plans in it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;

use crate::*;

/// 2025-06-01T00:00Z.
pub const NOW: i64 = 1_748_736_000_000;
pub const DAY: i64 = 86_400_000;

pub const ORGS: [&str; 4] = ["vaxjo", "region", "polisen", "alvesta"];
pub const UNITS: [&str; 2] = ["u1", "u2"];
/// Authority ids, plus one the directory does not hold.
pub const AUTHORITIES: [&str; 7] = [
    "vaxjo-school",
    "vaxjo-social",
    "region-bvc",
    "region-bup",
    "polisen",
    "alvesta-school",
    "ghost",
];

pub fn set<T: Ord + Clone>(v: &[T]) -> BTreeSet<T> {
    v.iter().cloned().collect()
}

pub fn unit(org: &str, u: &str) -> Unit {
    Unit {
        organization: org.into(),
        unit: u.into(),
    }
}

pub fn authority(id: &str, org: &str, kind: AuthorityKind) -> Authority {
    Authority {
        id: id.into(),
        organization: org.into(),
        kind,
        name: id.into(),
    }
}

/// Växjö: school (u1) and social services (u2); the region: BVC (u1) and BUP (u2); the Police, one
/// authority; Alvesta: school (u1), and a unit u2 the directory does not list.
pub fn directory() -> Directory {
    use AuthorityKind as K;
    let mut d = Directory::new();
    for (id, org, kind) in [
        ("vaxjo-school", "vaxjo", K::School),
        ("vaxjo-social", "vaxjo", K::SocialServices),
        ("region-bvc", "region", K::ChildHealthCare),
        ("region-bup", "region", K::ChildPsychiatry),
        ("alvesta-school", "alvesta", K::School),
    ] {
        d.add_authority(authority(id, org, kind)).unwrap();
    }
    d.add_whole_organization(authority("polisen", "polisen", K::Police))
        .unwrap();
    for (org, u, a) in [
        ("vaxjo", "u1", "vaxjo-school"),
        ("vaxjo", "u2", "vaxjo-social"),
        ("region", "u1", "region-bvc"),
        ("region", "u2", "region-bup"),
        ("alvesta", "u1", "alvesta-school"),
    ] {
        d.add_unit(DirectoryUnit {
            organization: org.into(),
            unit: u.into(),
            authority: a.into(),
            serves: vec![],
        })
        .unwrap();
    }
    d
}

pub fn arb_org() -> impl Strategy<Value = String> {
    prop::sample::select(&ORGS[..]).prop_map(str::to_string)
}

pub fn arb_unit() -> impl Strategy<Value = Unit> {
    (arb_org(), prop::sample::select(&UNITS[..])).prop_map(|(o, u)| unit(&o, u))
}

pub fn arb_authority() -> impl Strategy<Value = String> {
    prop::sample::select(&AUTHORITIES[..]).prop_map(str::to_string)
}

pub fn arb_category() -> impl Strategy<Value = Category> {
    (1i32..=12).prop_map(Category)
}

pub fn arb_grantee() -> impl Strategy<Value = Grantee> {
    prop_oneof![
        arb_authority().prop_map(Grantee::Authority),
        arb_unit().prop_map(Grantee::Unit),
        arb_org().prop_map(Grantee::Organization),
    ]
}

pub fn arb_guardian() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["g1".to_string(), "g2".to_string()])
}

pub fn arb_withdrawn_by() -> impl Strategy<Value = WithdrawnBy> {
    prop_oneof![
        Just(WithdrawnBy::Unknown),
        Just(WithdrawnBy::YoungPerson),
        Just(WithdrawnBy::PlanClosed),
        arb_guardian().prop_map(WithdrawnBy::Guardian),
    ]
}

pub fn arb_revocation() -> impl Strategy<Value = RevocationState> {
    (
        "r[0-9]{1,2}",
        prop::collection::btree_set(arb_org(), 0..3),
        prop::collection::btree_set(arb_authority(), 0..3),
        prop::collection::btree_set(arb_category(), 0..3),
        arb_withdrawn_by(),
        (NOW - 800 * DAY)..NOW,
    )
        .prop_map(
            |(id, organizations, authorities, categories, withdrawn_by, recorded_at_ms)| {
                RevocationState {
                    id,
                    organizations,
                    authorities,
                    categories,
                    withdrawn_by,
                    recorded_at_ms,
                }
            },
        )
}

pub fn arb_consent() -> impl Strategy<Value = ConsentState> {
    (
        1u64..5,
        prop::collection::btree_set(arb_guardian(), 0..3),
        any::<bool>(),
        prop_oneof![Just(0i64), (NOW - 800 * DAY)..NOW],
        (NOW - 10 * DAY)..(NOW + 400 * DAY),
        prop::collection::btree_map(
            arb_grantee(),
            prop::collection::btree_set(arb_category(), 0..6),
            0..6,
        ),
        prop::collection::btree_set("r[0-9]{1,2}", 0..3),
    )
        .prop_map(
            |(
                version,
                consented_guardians,
                young_person_consented,
                recorded_at_ms,
                valid_until_ms,
                grants,
                supersedes,
            )| ConsentState {
                version,
                consented_guardians,
                young_person_consented,
                recorded_at_ms,
                valid_until_ms,
                grants,
                supersedes,
            },
        )
}

/// Births around NOW: unknown, expected, or born up to 21 years before (some birthdays fall in
/// the windows the laws move through).
pub fn arb_birth() -> impl Strategy<Value = Option<Birth>> {
    prop_oneof![
        Just(None),
        Just(Some(Birth::Expected {
            year: 2025,
            month: 9
        })),
        (-21 * 366i64..30).prop_map(|d| Some(Birth::Born(Date::in_sweden(NOW).add_days(d)))),
    ]
}

pub fn arb_rules() -> impl Strategy<Value = ConsentRules> {
    prop_oneof![
        Just(ConsentRules::default()),
        Just(ConsentRules {
            own_consent_from_15: KindSet::EMPTY
        }),
        Just(ConsentRules {
            own_consent_from_15: KindSet::ALL
        }),
    ]
}

pub fn arb_plan() -> impl Strategy<Value = PlanState> {
    let dir = Arc::new(directory());
    (
        (
            arb_org(),
            prop::collection::btree_set(arb_unit(), 0..7),
            prop::collection::btree_set(arb_guardian(), 0..3),
            prop::option::of(arb_consent()),
            prop::collection::vec(arb_revocation(), 0..4),
        ),
        (
            prop::option::of((1u64..5, (NOW - 10 * DAY)..(NOW + 400 * DAY)).prop_map(
                |(consent_version, expires_at_ms)| LeaseState {
                    consent_version,
                    expires_at_ms,
                    revocations: vec![],
                },
            )),
            prop::option::of(arb_unit()),
            arb_birth(),
            arb_rules(),
        ),
    )
        .prop_map(
            move |(
                (consent_home, participants, custodial_guardians, consent, revocations),
                (lease, responsible, child_birth, consent_rules),
            )| PlanState {
                consent_home,
                participants,
                custodial_guardians,
                consent,
                revocations,
                lease,
                directory: dir.clone(),
                responsible,
                child_birth,
                consent_rules,
            },
        )
}

/// A fragment's home: an organisation and an authority id, matching or not (or empty).
pub fn arb_home() -> impl Strategy<Value = (String, String)> {
    (arb_org(), prop_oneof![arb_authority(), Just(String::new())])
}

/// The plan of the examples: Växjö's school (u1) is the consent home's responsible unit; Växjö's
/// social services (u2) and the region's BVC (u1) and BUP (u2) take part. Two guardians with
/// custody consented; the consent grants BVC health (3) and interventions (10), and social
/// services interventions.
pub fn base_plan() -> PlanState {
    let grants: BTreeMap<Grantee, BTreeSet<Category>> = [
        (
            Grantee::Authority("region-bvc".into()),
            set(&[Category(3), Category(10)]),
        ),
        (
            Grantee::Authority("vaxjo-social".into()),
            set(&[Category(10)]),
        ),
    ]
    .into_iter()
    .collect();
    PlanState {
        consent_home: "vaxjo".into(),
        participants: set(&[
            unit("vaxjo", "u1"),
            unit("vaxjo", "u2"),
            unit("region", "u1"),
            unit("region", "u2"),
        ]),
        custodial_guardians: set(&["g1".to_string(), "g2".to_string()]),
        consent: Some(ConsentState {
            version: 1,
            consented_guardians: set(&["g1".to_string(), "g2".to_string()]),
            young_person_consented: false,
            recorded_at_ms: NOW - 10 * DAY,
            valid_until_ms: NOW + 1000,
            grants,
            supersedes: BTreeSet::new(),
        }),
        revocations: vec![],
        lease: Some(LeaseState {
            consent_version: 1,
            expires_at_ms: NOW + 500,
            ..Default::default()
        }),
        directory: Arc::new(directory()),
        responsible: Some(unit("vaxjo", "u1")),
        child_birth: Some(Birth::Born(Date::new(2015, 3, 10).unwrap())),
        consent_rules: ConsentRules::default(),
    }
}

pub fn who<'a>(org: &'a str, u: &'a str) -> Requester<'a> {
    Requester {
        organization: org,
        unit: u,
    }
}

pub fn frag<'a>(home: &'a str, home_authority: &'a str, category: i32) -> FragmentFacts<'a> {
    FragmentFacts {
        home,
        home_authority,
        category: Category(category),
    }
}
