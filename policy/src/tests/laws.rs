//! The laws of the access decisions, as properties.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::fixtures::*;
use crate::*;

/// The authority the test's directory gives a unit, computed without the crate's lookup.
fn authority_of(org: &str, u: &str) -> Option<&'static str> {
    Some(match (org, u) {
        ("vaxjo", "u1") => "vaxjo-school",
        ("vaxjo", "u2") => "vaxjo-social",
        ("region", "u1") => "region-bvc",
        ("region", "u2") => "region-bup",
        ("alvesta", "u1") => "alvesta-school",
        ("polisen", _) => "polisen",
        _ => return None,
    })
}

/// Does a grant of `cat` name the reader: its authority, its unit, or (legacy) its organisation
/// when that organisation takes part through exactly this one authority?
fn grant_names_reader(plan: &PlanState, org: &str, u: &str, cat: Category) -> bool {
    let Some(a) = authority_of(org, u) else {
        return false;
    };
    let of_org: BTreeSet<&str> = plan
        .participants
        .iter()
        .filter(|p| p.organization == org)
        .filter_map(|p| authority_of(&p.organization, &p.unit))
        .collect();
    plan.consent.as_ref().is_some_and(|c| {
        c.grants.iter().any(|(g, cats)| {
            cats.contains(&cat)
                && match g {
                    Grantee::Authority(id) => id == a,
                    Grantee::Unit(x) => x.organization == org && x.unit == u,
                    Grantee::Organization(o) => o == org && of_org == BTreeSet::from([a]),
                }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Deny by default: a read permit is the unit's own authority's fragment, or needs a grant
    /// naming the reader, a consent in force from everyone required, and no revocation in force.
    /// Need to know always holds.
    #[test]
    fn no_permit_without_a_grant(plan in arb_plan(), u in arb_unit(), (home, ha) in arb_home(), cat in arb_category(), dt in -20i64..20) {
        let now = NOW + dt * DAY / 10;
        let w = who(&u.organization, &u.unit);
        let d = decide_read(&plan, w, frag(&home, &ha, cat.0), now);
        if d.is_permit() {
            prop_assert!(takes_part(&plan, w));
            let a = authority_of(&u.organization, &u.unit).expect("permit without an authority");
            if d == Decision::Permit(Permit::OwnFragment) {
                prop_assert!(home == u.organization && ha == a);
            } else {
                let c = plan.consent.as_ref().expect("permit without consent");
                prop_assert!(now < c.valid_until_ms);
                prop_assert!(grant_names_reader(&plan, &u.organization, &u.unit, cat));
                let c_now = required_consenters(plan.child_birth, Date::in_sweden(now), &plan.consent_rules);
                prop_assert!(!c_now.guardians || plan.custodial_guardians.is_subset(&c.consented_guardians));
                prop_assert!(!plan.revocations_in_force().any(|r| r.covers_authority(&u.organization, a, cat)));
            }
        }
    }

    /// A unit of authority A never reads authority B's fragment without a grant to A (or to the
    /// unit), and the same organisation gives no privilege: strip every grant naming the reader
    /// and only its own authority's fragments remain.
    #[test]
    fn same_organisation_gives_no_privilege(plan in arb_plan(), u in arb_unit(), ha in arb_authority(), cat in arb_category()) {
        let mut p = plan;
        p.participants.insert(u.clone());
        if let Some(c) = p.consent.as_mut() {
            c.grants.retain(|g, _| match g {
                Grantee::Authority(id) => Some(id.as_str()) != authority_of(&u.organization, &u.unit),
                Grantee::Unit(x) => *x != u,
                Grantee::Organization(o) => *o != u.organization,
            });
        }
        // A fragment of the reader's own organisation, at any authority.
        let d = decide_read(&p, who(&u.organization, &u.unit), frag(&u.organization, &ha, cat.0), NOW);
        prop_assert_eq!(d.is_permit(), Some(ha.as_str()) == authority_of(&u.organization, &u.unit));
    }

    /// A legacy organisation grant never covers an authority that does not take part, nor one
    /// of several that take part.
    #[test]
    fn a_legacy_grant_never_covers_a_non_participant(plan in arb_plan(), a in arb_authority(), (home, ha) in arb_home(), cat in arb_category()) {
        let mut p = plan;
        if let Some(c) = p.consent.as_mut() {
            c.grants.retain(|g, _| matches!(g, Grantee::Organization(_)));
        }
        let d = decide_share_to_authority(&p, &a, frag(&home, &ha, cat.0), NOW);
        if let Decision::Permit(Permit::Granted { .. }) = d {
            let org = &p.directory.authority(&a).unwrap().organization;
            let of_org: BTreeSet<&str> = p.participants.iter()
                .filter(|x| &x.organization == org)
                .filter_map(|x| authority_of(&x.organization, &x.unit))
                .collect();
            prop_assert_eq!(of_org, BTreeSet::from([a.as_str()]));
        }
    }

    /// Adding a revocation never turns a deny into a permit, for holding, sharing or reading.
    #[test]
    fn a_revocation_never_widens_access(plan in arb_plan(), extra in arb_revocation(), u in arb_unit(), a in arb_authority(), (home, ha) in arb_home(), cat in arb_category()) {
        let f = frag(&home, &ha, cat.0);
        let mut after = plan.clone();
        after.revocations.push(extra);
        let w = who(&u.organization, &u.unit);
        prop_assert!(decide_share(&plan, &u.organization, f, NOW).is_permit() || !decide_share(&after, &u.organization, f, NOW).is_permit());
        prop_assert!(decide_share_to_authority(&plan, &a, f, NOW).is_permit() || !decide_share_to_authority(&after, &a, f, NOW).is_permit());
        prop_assert!(decide_read(&plan, w, f, NOW).is_permit() || !decide_read(&after, w, f, NOW).is_permit());
    }

    /// An organisation-wide revocation covers every authority of the organisation.
    #[test]
    fn an_organisation_wide_revocation_covers_all_its_authorities(plan in arb_plan(), u in arb_unit(), (home, ha) in arb_home(), cat in arb_category()) {
        let mut p = plan;
        p.revocations.push(RevocationState {
            id: "r-all".into(),
            organizations: BTreeSet::from([u.organization.clone()]),
            withdrawn_by: WithdrawnBy::YoungPerson,
            ..Default::default()
        });
        if let Some(c) = p.consent.as_mut() {
            c.supersedes.remove("r-all");
        }
        let d = decide_read(&p, who(&u.organization, &u.unit), frag(&home, &ha, cat.0), NOW);
        let granted = matches!(d, Decision::Permit(Permit::Granted { .. }));
        prop_assert!(!granted);
    }

    /// Own fragments are never denied by consent changes, only by need to know or the directory.
    #[test]
    fn own_fragments_survive_any_consent_state(plan in arb_plan(), consent in prop::option::of(arb_consent()), revs in prop::collection::vec(arb_revocation(), 0..5), birth in arb_birth(), u in arb_unit(), cat in arb_category(), now in any::<i64>()) {
        let Some(a) = authority_of(&u.organization, &u.unit) else { return Ok(()); };
        let mut p = plan;
        p.consent = consent;
        p.revocations = revs;
        p.child_birth = birth;
        p.participants.insert(u.clone());
        let d = decide_read(&p, who(&u.organization, &u.unit), frag(&u.organization, a, cat.0), now);
        prop_assert_eq!(d, Decision::Permit(Permit::OwnFragment));
    }

    /// Two independent revocations give the same decision whichever arrives first.
    #[test]
    fn revocation_order_does_not_matter(plan in arb_plan(), a in arb_revocation(), b in arb_revocation(), u in arb_unit(), (home, ha) in arb_home(), cat in arb_category()) {
        let mut ab = plan.clone();
        ab.revocations.extend([a.clone(), b.clone()]);
        let mut ba = plan;
        ba.revocations.extend([b, a]);
        let f = frag(&home, &ha, cat.0);
        prop_assert_eq!(decide_share(&ab, &u.organization, f, NOW), decide_share(&ba, &u.organization, f, NOW));
        let w = who(&u.organization, &u.unit);
        prop_assert_eq!(decide_read(&ab, w, f, NOW), decide_read(&ba, w, f, NOW));
    }

    /// A lease only ever narrows what a read may show, never widens it.
    #[test]
    fn a_lease_never_widens_access(plan in arb_plan(), u in arb_unit(), (home, ha) in arb_home(), cat in arb_category()) {
        let w = who(&u.organization, &u.unit);
        let f = frag(&home, &ha, cat.0);
        let mut without = plan.clone();
        without.lease = None;
        let mut forever = plan.clone();
        forever.lease = plan.consent.as_ref().map(|c| LeaseState { consent_version: c.version, expires_at_ms: i64::MAX, revocations: vec![] });
        let with = decide_read(&plan, w, f, NOW);
        prop_assert!(!decide_read(&without, w, f, NOW).is_permit() || with.is_permit());
        prop_assert!(!with.is_permit() || decide_read(&forever, w, f, NOW).is_permit());
        prop_assert!(!with.is_permit() || decide_share(&plan, &u.organization, f, NOW).is_permit());
    }

    /// Time only takes access away: what is denied now stays denied later under the same state,
    /// across expiry, leases and the child's birthdays (15, 18) alike.
    #[test]
    fn time_only_takes_access_away(plan in arb_plan(), u in arb_unit(), a in arb_authority(), (home, ha) in arb_home(), cat in arb_category(), t in -400i64..400, dt in 0i64..800) {
        let f = frag(&home, &ha, cat.0);
        let (t0, t1) = (NOW + t * DAY, NOW + (t + dt) * DAY + dt);
        let w = who(&u.organization, &u.unit);
        prop_assert!(decide_share(&plan, &u.organization, f, t0).is_permit() || !decide_share(&plan, &u.organization, f, t1).is_permit());
        prop_assert!(decide_share_to_authority(&plan, &a, f, t0).is_permit() || !decide_share_to_authority(&plan, &a, f, t1).is_permit());
        prop_assert!(decide_read(&plan, w, f, t0).is_permit() || !decide_read(&plan, w, f, t1).is_permit());
    }

    /// An organisation holds a copy exactly when one of its authorities, or a unit of it named in
    /// a grant, may receive it, or a grant names the organisation itself (or it is the
    /// organisation's own record); and the recipients are
    /// exactly the other organisations that may hold it.
    #[test]
    fn holding_is_the_union_of_its_authorities(plan in arb_plan(), org in arb_org(), (home, ha) in arb_home(), cat in arb_category()) {
        let f = frag(&home, &ha, cat.0);
        let by_authority = plan.directory.authorities_of(&org).any(|a| decide_share_to_authority(&plan, &a.id, f, NOW).is_permit());
        // A unit named in a grant of the category, read as if it took part (without changing
        // how a legacy grant is read, which depends on who takes part).
        let by_unit = plan.consent.as_ref().is_some_and(|c| c.grants.iter().any(|(g, cats)| match g {
            Grantee::Unit(x) if x.organization == org && cats.contains(&cat) => {
                let mut p = plan.clone();
                p.participants.insert(x.clone());
                p.lease = None;
                p.consent_home = org.clone();
                decide_read(&p, who(&x.organization, &x.unit), f, NOW).is_permit()
            }
            _ => false,
        }));
        // A grant naming the organisation itself lets it hold the copy (reads are decided per
        // authority), unless a revocation in force withdraws it from the whole organisation.
        let by_org = plan.consent.as_ref().is_some_and(|c| c.grants.iter().any(|(g, cats)| matches!(g, Grantee::Organization(o) if *o == org) && cats.contains(&cat)))
            && !plan.revocations_in_force().any(|r| r.covers(&org, cat))
            && {
                let mut p = plan.clone();
                let c = p.consent.as_mut().expect("checked above");
                c.grants = [(Grantee::Organization(org.clone()), [cat].into())].into();
                p.revocations.clear();
                decide_share(&p, &org, f, NOW).is_permit()
            };
        prop_assert_eq!(decide_share(&plan, &org, f, NOW).is_permit(), home == org || by_authority || by_unit || by_org);
        let recipients = recipient_organizations(&plan, f, NOW);
        prop_assert!(!recipients.contains(&home));
        if home != org {
            prop_assert_eq!(recipients.contains(&org), decide_share(&plan, &org, f, NOW).is_permit());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Who must consent changes with age, yet a consent complete at some time after it was
    /// recorded was complete at every earlier time since: a birthday never completes a consent
    /// (a 17-year-old's lone consent does not come into force at 18).
    #[test]
    fn a_birthday_never_completes_a_consent(plan in arb_plan(), consent in arb_consent(), born in -(19 * 366i64)..-(14 * 366), kind in prop::option::of(prop::sample::select(AuthorityKind::ALL.to_vec())), t in 0i64..1500, dt in 0i64..1500) {
        use crate::consenters::consent_missing;
        let mut p = plan;
        p.child_birth = Some(Birth::Born(Date::in_sweden(NOW).add_days(born)));
        let recorded = consent.recorded_at_ms.max(NOW - 800 * DAY);
        let c = ConsentState { recorded_at_ms: recorded, ..consent };
        let (t0, t1) = (recorded + t * DAY, recorded + (t + dt) * DAY);
        let later = consent_missing(&p, &c, kind, t1);
        prop_assert!(later.is_some() || consent_missing(&p, &c, kind, t0).is_none());
    }
}
