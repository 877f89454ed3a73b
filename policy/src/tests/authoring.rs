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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Nobody writes a fragment homed elsewhere; plan-level fragments come only from the plan's
    /// home; other fragments only from an authority that takes part; and only authorities the
    /// directory places in the writer's organisation write at all.
    #[test]
    fn authoring_laws(plan in arb_plan(), org in arb_org(), a in arb_authority(), (home, ha) in arb_home(), kind in prop::sample::select(FragmentKind::ALL.to_vec())) {
        let r = may_author(&plan, Writer { organization: &org, authority: &a }, AuthoredFragment { home: &home, home_authority: &ha, kind });
        if r.is_ok() {
            prop_assert!(home == org && ha == a);
            prop_assert_eq!(plan.directory.authority(&a).map(|x| x.organization.as_str()), Some(org.as_str()));
            if kind.is_plan_level() {
                prop_assert_eq!(&org, &plan.consent_home);
            } else {
                prop_assert!(plan.participants.iter().any(|u| plan.directory.authority_of(&u.organization, &u.unit).is_some_and(|x| x.id == a)));
            }
        }
        // Writing from the fragment's own home is decided by the kind alone, not the claim.
        if home != org || ha != a {
            prop_assert_eq!(r, Err(AuthoringDenied::NotHome));
        }
    }
}
