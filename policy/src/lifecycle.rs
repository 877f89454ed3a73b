//! The steps of the practice model (Kronobarnsmodellen) a plan moves through, and the rules for
//! moving between them, as a pure function so every pair of steps is tested.
//!
//! need noticed → talk (wheel) → consent → meeting called → agreed → follow-up ⇄ revised → closed.
//! From follow-up or revised a new meeting may be called; any step but closed may close.

use crate::consenters::consent_missing;
use crate::{Category, FragmentFacts, PlanState, decide_share, decide_share_to_authority};

/// A step of the practice model, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// A need has been noticed.
    NeedNoticed = 1,
    /// Talking with the child and guardians, with the wheel.
    Talk = 2,
    /// The guardians have consented.
    Consent = 3,
    /// A coordination meeting is called.
    MeetingCalled = 4,
    /// The plan is agreed.
    Agreed = 5,
    /// The plan is being followed up.
    FollowUp = 6,
    /// The plan was revised after a follow-up.
    Revised = 7,
    /// The plan is closed.
    Closed = 8,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 8] = [
        Stage::NeedNoticed,
        Stage::Talk,
        Stage::Consent,
        Stage::MeetingCalled,
        Stage::Agreed,
        Stage::FollowUp,
        Stage::Revised,
        Stage::Closed,
    ];

    /// The stage with wire number `n`.
    pub fn from_number(n: i32) -> Option<Stage> {
        Self::ALL.into_iter().find(|s| *s as i32 == n)
    }

    /// The stages that may follow this one (before the facts are checked).
    pub fn next(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            NeedNoticed => &[Talk, Closed],
            Talk => &[Consent, Closed],
            Consent => &[MeetingCalled, Closed],
            MeetingCalled => &[Agreed, Closed],
            Agreed => &[FollowUp, Closed],
            FollowUp => &[Revised, MeetingCalled, Closed],
            Revised => &[FollowUp, MeetingCalled, Closed],
            Closed => &[],
        }
    }
}

/// What the rules look at, besides the consent in [`PlanState`].
#[derive(Debug, Clone, Default)]
pub struct StageFacts<'a> {
    /// Wheel assessments recorded for the plan.
    pub wheel_assessments: usize,
    /// Invited to the coordination meeting: authorities by directory id, or (legacy) organisations.
    pub invited: &'a [String],
    /// The meeting date is set.
    pub meeting_date: bool,
    /// The header names a responsible organisation.
    pub responsible_organization: bool,
    /// The header names a responsible contact with a name and a phone number or e-mail.
    pub responsible_contact: bool,
    /// A follow-up date of the plan or an intervention lies today or later.
    pub follow_up_planned: bool,
    /// The reason given for the change.
    pub reason: &'a str,
}

/// A rule the change breaks; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageError {
    /// The plan cannot go from one stage straight to the other.
    NotNext {
        /// Current stage.
        from: Stage,
        /// Requested stage.
        to: Stage,
    },
    /// Leaving the talk needs at least one wheel assessment.
    NoWheel,
    /// Consent is missing, expired or lacks someone who must consent.
    NoConsent,
    /// A meeting needs invited organisations.
    NoneInvited,
    /// The consent does not cover an invited organisation.
    NotCovered(String),
    /// A meeting needs a date.
    NoMeetingDate,
    /// Agreeing needs a responsible organisation and contact.
    NoResponsible,
    /// Agreeing or revising needs a follow-up date to come.
    NoFollowUp,
    /// Closing needs a reason.
    NoReason,
}

// The policy crate has no dependencies, so `Display` is written out rather than derived.
impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StageError::NotNext { from, to } => write!(
                f,
                "stage: a plan at {from:?} cannot move to {to:?}; next may be {:?}",
                from.next()
            ),
            StageError::NoWheel => write!(
                f,
                "no-wheel: record at least one wheel assessment from the talk with the child and guardians first"
            ),
            StageError::NoConsent => write!(
                f,
                "no-consent: record a current consent from everyone who must consent (the guardians with custody, and the young person where required) first"
            ),
            StageError::NoneInvited => write!(
                f,
                "invited_organizations: name the organisations invited to the meeting"
            ),
            StageError::NotCovered(org) => write!(
                f,
                "not-covered: the consent does not let {org} take part (grant it the participants category, and no revocation may withdraw it)"
            ),
            StageError::NoMeetingDate => write!(f, "meeting_on: is required: the meeting date"),
            StageError::NoResponsible => write!(
                f,
                "no-responsible: the plan header must name the responsible organisation and a contact with a name and a phone number or e-mail"
            ),
            StageError::NoFollowUp => write!(
                f,
                "no-follow-up: set a follow-up date (of the plan or an intervention) today or later"
            ),
            StageError::NoReason => write!(f, "reason: is required when closing a plan"),
        }
    }
}

impl std::error::Error for StageError {}

/// True when the current consent is in force: recorded, not expired, and given by everyone who
/// must consent for the information of every authority taking part (where the young person's own
/// consent is required for some kinds, for the kinds of the participating authorities; a unit the
/// directory does not place counts as any kind).
pub fn consent_in_force(plan: &PlanState, now_ms: i64) -> bool {
    let Some(c) = &plan.consent else {
        return false;
    };
    let authorities = plan.participant_authorities();
    let all_placed = !authorities.is_empty()
        && plan.participants.iter().all(|u| {
            plan.directory
                .authority_of(&u.organization, &u.unit)
                .is_some()
        });
    let complete = if all_placed {
        authorities
            .iter()
            .all(|a| consent_missing(plan, c, Some(a.kind), now_ms).is_none())
    } else {
        consent_missing(plan, c, None, now_ms).is_none()
    };
    now_ms < c.valid_until_ms && complete
}

/// May the invited authority (or, for a legacy invitation, organisation) receive who takes part?
fn invited_covered(plan: &PlanState, invited: &str, now_ms: i64) -> bool {
    let participants = FragmentFacts {
        home: &plan.consent_home,
        home_authority: plan.responsible_authority().map_or("", |a| a.id.as_str()),
        category: Category(PARTICIPANTS),
    };
    match plan.directory.authority(invited) {
        Some(a) => {
            // A grant that names the authority's organisation (the guardians named "the
            // association") covers inviting it: its node may hold who takes part.
            let org_named = plan.consent.as_ref().is_some_and(|c| {
                c.grants.iter().any(|(g, cats)| {
                    matches!(g, crate::Grantee::Organization(o) if *o == a.organization)
                        && cats.contains(&Category(PARTICIPANTS))
                })
            });
            decide_share_to_authority(plan, invited, participants, now_ms).is_permit()
                || (org_named
                    && decide_share(plan, &a.organization, participants, now_ms).is_permit())
        }
        None => decide_share(plan, invited, participants, now_ms).is_permit(),
    }
}

/// May the plan move from `from` to `to`, given what is known now?
pub fn check(
    plan: &PlanState,
    from: Stage,
    to: Stage,
    facts: &StageFacts<'_>,
    now_ms: i64,
) -> Result<(), StageError> {
    if !from.next().contains(&to) {
        return Err(StageError::NotNext { from, to });
    }
    match to {
        Stage::NeedNoticed | Stage::Talk | Stage::FollowUp => {}
        Stage::Consent => {
            if facts.wheel_assessments == 0 {
                return Err(StageError::NoWheel);
            }
            if !consent_in_force(plan, now_ms) {
                return Err(StageError::NoConsent);
            }
        }
        Stage::MeetingCalled => {
            if !consent_in_force(plan, now_ms) {
                return Err(StageError::NoConsent);
            }
            if facts.invited.is_empty() {
                return Err(StageError::NoneInvited);
            }
            // Everyone invited must be allowed to receive who takes part in the plan.
            if let Some(who) = facts
                .invited
                .iter()
                .find(|o| !invited_covered(plan, o, now_ms))
            {
                return Err(StageError::NotCovered(who.clone()));
            }
            if !facts.meeting_date {
                return Err(StageError::NoMeetingDate);
            }
        }
        Stage::Agreed | Stage::Revised => {
            if to == Stage::Agreed && !(facts.responsible_organization && facts.responsible_contact)
            {
                return Err(StageError::NoResponsible);
            }
            if !facts.follow_up_planned {
                return Err(StageError::NoFollowUp);
            }
        }
        Stage::Closed => {
            if facts.reason.trim().is_empty() {
                return Err(StageError::NoReason);
            }
        }
    }
    Ok(())
}

/// The wire number of the participants category (`kronobarn.v1.Category`).
const PARTICIPANTS: i32 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConsentState, RevocationState};
    use std::collections::{BTreeMap, BTreeSet};

    const NOW: i64 = 1_000_000;

    /// Kommun's social services (soc) is responsible; the region's BVC takes part. The consent
    /// lets BVC receive who takes part and interventions, and the kommun's school interventions.
    fn plan(consent: bool) -> PlanState {
        use crate::{Authority, AuthorityKind, Directory, DirectoryUnit, Grantee, Unit};
        let mut dir = Directory::new();
        for (id, org, kind) in [
            ("kommun-social", "kommun", AuthorityKind::SocialServices),
            ("kommun-school", "kommun", AuthorityKind::School),
            ("region-bvc", "region", AuthorityKind::ChildHealthCare),
        ] {
            dir.add_authority(Authority {
                id: id.into(),
                organization: org.into(),
                kind,
                name: id.into(),
            })
            .unwrap();
        }
        for (org, unit, authority) in [
            ("kommun", "soc", "kommun-social"),
            ("kommun", "skola", "kommun-school"),
            ("region", "bvc", "region-bvc"),
        ] {
            dir.add_unit(DirectoryUnit {
                organization: org.into(),
                unit: unit.into(),
                authority: authority.into(),
                serves: vec![],
            })
            .unwrap();
        }
        let mut grants = BTreeMap::new();
        grants.insert(
            Grantee::Authority("region-bvc".into()),
            BTreeSet::from([Category(PARTICIPANTS), Category(10)]),
        );
        grants.insert(
            Grantee::Authority("kommun-school".into()),
            BTreeSet::from([Category(10)]),
        );
        let soc = Unit {
            organization: "kommun".into(),
            unit: "soc".into(),
        };
        PlanState {
            consent_home: "kommun".into(),
            participants: BTreeSet::from([
                soc.clone(),
                Unit {
                    organization: "region".into(),
                    unit: "bvc".into(),
                },
            ]),
            custodial_guardians: BTreeSet::from(["g1".to_string()]),
            consent: consent.then(|| ConsentState {
                version: 1,
                consented_guardians: BTreeSet::from(["g1".to_string()]),
                valid_until_ms: NOW + 1,
                grants,
                ..Default::default()
            }),
            directory: dir.into(),
            responsible: Some(soc),
            ..Default::default()
        }
    }

    fn ready<'a>(invited: &'a [String]) -> StageFacts<'a> {
        StageFacts {
            wheel_assessments: 1,
            invited,
            meeting_date: true,
            responsible_organization: true,
            responsible_contact: true,
            follow_up_planned: true,
            reason: "needs met",
        }
    }

    #[test]
    fn with_every_fact_in_place_exactly_the_listed_moves_are_allowed() {
        let invited = ["region-bvc".to_string()];
        for from in Stage::ALL {
            for to in Stage::ALL {
                let r = check(&plan(true), from, to, &ready(&invited), NOW);
                assert_eq!(r.is_ok(), from.next().contains(&to), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn closed_is_final_and_every_other_stage_can_close() {
        assert!(Stage::Closed.next().is_empty());
        for s in &Stage::ALL[..7] {
            assert!(s.next().contains(&Stage::Closed));
        }
    }

    #[test]
    fn consent_needs_the_wheel_and_a_consent_in_force() {
        let no_wheel = StageFacts {
            wheel_assessments: 0,
            ..ready(&[])
        };
        let c = |p: &PlanState, f: &StageFacts<'_>| check(p, Stage::Talk, Stage::Consent, f, NOW);
        assert_eq!(c(&plan(true), &no_wheel), Err(StageError::NoWheel));
        assert_eq!(c(&plan(false), &ready(&[])), Err(StageError::NoConsent));
        let mut expired = plan(true);
        expired.consent.as_mut().unwrap().valid_until_ms = NOW;
        assert_eq!(c(&expired, &ready(&[])), Err(StageError::NoConsent));
        let mut second_guardian = plan(true);
        second_guardian.custodial_guardians.insert("g2".into());
        assert_eq!(c(&second_guardian, &ready(&[])), Err(StageError::NoConsent));
        assert_eq!(c(&plan(true), &ready(&[])), Ok(()));
    }

    #[test]
    fn from_15_the_young_persons_consent_is_needed_where_health_care_takes_part() {
        use crate::{Birth, Date, Unit};
        let c = |p: &PlanState| check(p, Stage::Talk, Stage::Consent, &ready(&[]), NOW);
        // NOW is in January 1970: born in 1954, the young person is 16.
        let mut young = plan(true);
        young.child_birth = Some(Birth::Born(Date::new(1954, 1, 1).unwrap()));
        assert_eq!(c(&young), Err(StageError::NoConsent), "BVC is health care");
        young.consent.as_mut().unwrap().young_person_consented = true;
        assert_eq!(c(&young), Ok(()));
        let mut no_health_care = young.clone();
        no_health_care
            .consent
            .as_mut()
            .unwrap()
            .young_person_consented = false;
        no_health_care.participants.remove(&Unit {
            organization: "region".into(),
            unit: "bvc".into(),
        });
        assert_eq!(c(&no_health_care), Ok(()));
        // A unit the directory does not place could be health care.
        no_health_care.participants.insert(Unit {
            organization: "region".into(),
            unit: "unlisted".into(),
        });
        assert_eq!(c(&no_health_care), Err(StageError::NoConsent));
    }

    #[test]
    fn a_meeting_needs_consent_covering_every_invited_organisation() {
        let m = |p: &PlanState, inv: &[String]| {
            check(p, Stage::Consent, Stage::MeetingCalled, &ready(inv), NOW)
        };
        let bvc = vec!["region-bvc".to_string()];
        assert_eq!(m(&plan(true), &bvc), Ok(()));
        // The responsible authority is always covered, and so is its organisation.
        assert_eq!(m(&plan(true), &["kommun-social".to_string()]), Ok(()));
        assert_eq!(m(&plan(true), &["kommun".to_string()]), Ok(()));
        // A legacy invitation of an organisation is covered through its authority.
        assert_eq!(m(&plan(true), &["region".to_string()]), Ok(()));
        // The kommun's school may receive interventions but not who takes part: the same
        // organisation as the responsible social services, and still another authority.
        let school = vec!["region-bvc".to_string(), "kommun-school".to_string()];
        assert_eq!(
            m(&plan(true), &school),
            Err(StageError::NotCovered("kommun-school".into()))
        );
        assert_eq!(
            m(&plan(true), &["police".to_string()]),
            Err(StageError::NotCovered("police".into()))
        );
        assert_eq!(m(&plan(true), &[]), Err(StageError::NoneInvited));
        assert_eq!(m(&plan(false), &bvc), Err(StageError::NoConsent));
        let mut revoked = plan(true);
        revoked.revocations.push(RevocationState {
            id: "r1".into(),
            organizations: BTreeSet::from(["region".to_string()]),
            ..Default::default()
        });
        assert_eq!(
            m(&revoked, &bvc),
            Err(StageError::NotCovered("region-bvc".into()))
        );
        let no_date = StageFacts {
            meeting_date: false,
            ..ready(&bvc)
        };
        assert_eq!(
            check(
                &plan(true),
                Stage::Consent,
                Stage::MeetingCalled,
                &no_date,
                NOW
            ),
            Err(StageError::NoMeetingDate)
        );
    }

    #[test]
    fn agreeing_needs_a_responsible_contact_and_a_follow_up() {
        let a =
            |f: &StageFacts<'_>| check(&plan(true), Stage::MeetingCalled, Stage::Agreed, f, NOW);
        for f in [
            StageFacts {
                responsible_contact: false,
                ..ready(&[])
            },
            StageFacts {
                responsible_organization: false,
                ..ready(&[])
            },
        ] {
            assert_eq!(a(&f), Err(StageError::NoResponsible));
        }
        let no_follow_up = StageFacts {
            follow_up_planned: false,
            ..ready(&[])
        };
        assert_eq!(a(&no_follow_up), Err(StageError::NoFollowUp));
        assert_eq!(
            check(
                &plan(true),
                Stage::FollowUp,
                Stage::Revised,
                &no_follow_up,
                NOW
            ),
            Err(StageError::NoFollowUp)
        );
    }

    #[test]
    fn closing_needs_a_reason_but_no_consent() {
        let blank = StageFacts {
            reason: "  ",
            ..Default::default()
        };
        assert_eq!(
            check(&plan(false), Stage::Talk, Stage::Closed, &blank, NOW),
            Err(StageError::NoReason)
        );
        let why = StageFacts {
            reason: "moved away",
            ..Default::default()
        };
        assert_eq!(
            check(&plan(false), Stage::Talk, Stage::Closed, &why, NOW),
            Ok(())
        );
    }

    #[test]
    fn stage_numbers_match_the_wire() {
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(Stage::from_number(i as i32 + 1), Some(*s));
        }
        assert_eq!(Stage::from_number(0), None);
        assert_eq!(Stage::from_number(9), None);
    }
}
