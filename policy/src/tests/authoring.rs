//! Who may author what: examples, and the law that nobody writes a fragment homed elsewhere.

use proptest::prelude::*;

use super::fixtures::*;
use crate::*;

fn write(
    plan: &PlanState,
    org: &str,
    authority: &str,
    kind: FragmentKind,
) -> Result<(), AuthoringDenied> {
    may_author(
        plan,
        Writer {
            organization: org,
            authority,
        },
        AuthoredFragment {
            home: org,
            home_authority: authority,
            kind,
        },
    )
}

#[test]
fn the_home_writes_the_plan_and_each_participant_its_own_work() {
    // Växjö's school (u1) is responsible; social services, BVC and BUP take part.
    let p = base_plan();
    for kind in [
        FragmentKind::Header,
        FragmentKind::Participant,
        FragmentKind::Status,
    ] {
        assert_eq!(write(&p, "vaxjo", "vaxjo-school", kind), Ok(()));
        assert_eq!(
            write(&p, "vaxjo", "vaxjo-social", kind),
            Err(AuthoringDenied::NotResponsibleAuthority)
        );
        assert_eq!(
            write(&p, "region", "region-bvc", kind),
            Err(AuthoringDenied::NotPlanHome)
        );
    }
    for kind in [
        FragmentKind::WheelAssessment,
        FragmentKind::Intervention,
        FragmentKind::Meeting,
        FragmentKind::FollowUp,
    ] {
        for (org, a) in [
            ("vaxjo", "vaxjo-school"),
            ("vaxjo", "vaxjo-social"),
            ("region", "region-bup"),
        ] {
            assert_eq!(write(&p, org, a, kind), Ok(()), "{a} {kind:?}");
        }
        assert_eq!(
            write(&p, "alvesta", "alvesta-school", kind),
            Err(AuthoringDenied::NotParticipant)
        );
        assert_eq!(
            write(&p, "vaxjo", "region-bvc", kind),
            Err(AuthoringDenied::UnknownAuthority)
        );
        assert_eq!(
            write(&p, "vaxjo", "ghost", kind),
            Err(AuthoringDenied::UnknownAuthority)
        );
    }
    // Nobody writes a fragment homed at another authority, even of its own organisation.
    let social_writes_schools = may_author(
        &p,
        Writer {
            organization: "vaxjo",
            authority: "vaxjo-social",
        },
        AuthoredFragment {
            home: "vaxjo",
            home_authority: "vaxjo-school",
            kind: FragmentKind::Intervention,
        },
    );
    assert_eq!(social_writes_schools, Err(AuthoringDenied::NotHome));
    // Before there is a header (a new plan), the home organisation's check is all there is.
    let mut new = p.clone();
    new.responsible = None;
    assert_eq!(
        write(&new, "vaxjo", "vaxjo-social", FragmentKind::Header),
        Ok(())
    );
    // After a handover the old header names the old home; the new home may rewrite it.
    let mut handed = p.clone();
    handed.consent_home = "region".into();
    assert_eq!(
        write(&handed, "region", "region-bvc", FragmentKind::Header),
        Ok(())
    );
    // A responsible unit the directory does not know blocks the plan-level fragments.
    let mut unknown = p.clone();
    unknown.responsible = Some(unit("vaxjo", "u9"));
    assert_eq!(
        write(&unknown, "vaxjo", "vaxjo-school", FragmentKind::Status),
        Err(AuthoringDenied::NotResponsibleAuthority)
    );
    assert_eq!(
        AuthoringDenied::NotHome.to_string().split(':').next(),
        Some("not-home")
    );
}

#[test]
fn legacy_fragments_are_judged_by_their_organisation() {
    let p = base_plan();
    let legacy = |org, authority, kind| {
        may_author(
            &p,
            Writer {
                organization: org,
                authority,
            },
            AuthoredFragment {
                home: org,
                home_authority: "",
                kind,
            },
        )
    };
    // Any authority of the home organisation updates a fragment written before authorities...
    assert_eq!(
        legacy("vaxjo", "vaxjo-social", FragmentKind::Intervention),
        Ok(())
    );
    assert_eq!(
        legacy("vaxjo", "vaxjo-social", FragmentKind::Header),
        Ok(())
    );
    // ...but only the plan's home writes the plan, and nobody another organisation's fragment.
    assert_eq!(
        legacy("region", "region-bvc", FragmentKind::Header),
        Err(AuthoringDenied::NotPlanHome)
    );
    let other = may_author(
        &p,
        Writer {
            organization: "region",
            authority: "region-bvc",
        },
        AuthoredFragment {
            home: "vaxjo",
            home_authority: "",
            kind: FragmentKind::Intervention,
        },
    );
    assert_eq!(other, Err(AuthoringDenied::NotHome));
}

fn received(
    plan: &PlanState,
    org: &str,
    claim: &str,
    kind: FragmentKind,
) -> Result<(), AuthoringDenied> {
    may_author_received(
        plan,
        Writer {
            organization: org,
            authority: claim,
        },
        AuthoredFragment {
            home: org,
            home_authority: claim,
            kind,
        },
    )
}

#[test]
fn a_receiver_checks_what_its_directory_lets_it() {
    let p = base_plan();
    // It knows Växjö's authorities: the same rule as at the home.
    assert_eq!(
        received(&p, "vaxjo", "vaxjo-social", FragmentKind::Header),
        Err(AuthoringDenied::NotResponsibleAuthority)
    );
    assert_eq!(
        received(&p, "vaxjo", "vaxjo-school", FragmentKind::Header),
        Ok(())
    );
    assert_eq!(
        received(&p, "region", "region-bvc", FragmentKind::Status),
        Err(AuthoringDenied::NotPlanHome)
    );
    // A claim of another organisation's authority is refused.
    assert_eq!(
        received(&p, "region", "vaxjo-school", FragmentKind::Intervention),
        Err(AuthoringDenied::UnknownAuthority)
    );
    // An authority it does not list is the signer's word: judged by the organisation.
    assert_eq!(
        received(&p, "alvesta", "alvesta-ifo", FragmentKind::Intervention),
        Ok(())
    );
    assert_eq!(
        received(&p, "alvesta", "alvesta-ifo", FragmentKind::Participant),
        Err(AuthoringDenied::NotPlanHome)
    );
    // Whether the sender takes part is its organisation's part in the plan, which the caller
    // checks: a listed authority without participant fragments here is not refused for it.
    let mut bare = p.clone();
    bare.participants.clear();
    assert_eq!(
        received(&bare, "region", "region-bup", FragmentKind::Intervention),
        Ok(())
    );
    // A responsible unit the receiver does not list leaves the header to the organisation check.
    let mut unlisted = p.clone();
    unlisted.responsible = Some(unit("vaxjo", "u9"));
    assert_eq!(
        received(&unlisted, "vaxjo", "vaxjo-social", FragmentKind::Header),
        Ok(())
    );
    assert_eq!(
        received(&unlisted, "region", "region-bvc", FragmentKind::Header),
        Err(AuthoringDenied::NotPlanHome)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Nobody writes a fragment homed elsewhere; plan-level fragments come only from the plan's
    /// home; other fragments only from an authority that takes part; and only authorities the
    /// directory places in the writer's organisation write at all. A fragment naming no
    /// authority (legacy) is judged by its organisation.
    #[test]
    fn authoring_laws(plan in arb_plan(), org in arb_org(), a in arb_authority(), (home, ha) in arb_home(), kind in prop::sample::select(FragmentKind::ALL.to_vec())) {
        let r = may_author(&plan, Writer { organization: &org, authority: &a }, AuthoredFragment { home: &home, home_authority: &ha, kind });
        if r.is_ok() {
            prop_assert!(home == org);
            if kind.is_plan_level() {
                prop_assert_eq!(&org, &plan.consent_home);
            }
            if !ha.is_empty() {
                prop_assert!(ha == a);
                prop_assert_eq!(plan.directory.authority(&a).map(|x| x.organization.as_str()), Some(org.as_str()));
                if !kind.is_plan_level() {
                    prop_assert!(plan.participants.iter().any(|u| plan.directory.authority_of(&u.organization, &u.unit).is_some_and(|x| x.id == a)));
                }
            }
        }
        // Writing from the fragment's own home is decided by the kind alone, not the claim.
        if home != org || (!ha.is_empty() && ha != a) {
            prop_assert_eq!(r, Err(AuthoringDenied::NotHome));
        }
    }

    /// A receiver never admits what the home would refuse for the organisation or the plan's
    /// home, never refuses what the home admits, and never takes a claim of an authority it
    /// lists under another organisation.
    #[test]
    fn a_receiver_is_no_stricter_and_no_looser_on_what_it_knows(plan in arb_plan(), org in arb_org(), (home, claim) in arb_home(), kind in prop::sample::select(FragmentKind::ALL.to_vec())) {
        let w = Writer { organization: &org, authority: &claim };
        let f = AuthoredFragment { home: &home, home_authority: &claim, kind };
        let at_home = may_author(&plan, w, f);
        let here = may_author_received(&plan, w, f);
        if at_home.is_ok() {
            prop_assert_eq!(here, Ok(()));
        }
        if here.is_ok() {
            prop_assert!(home == org);
            if kind.is_plan_level() {
                prop_assert_eq!(&org, &plan.consent_home);
            }
            prop_assert!(plan.directory.authority(&claim).is_none_or(|a| a.organization == org));
        }
    }
}
