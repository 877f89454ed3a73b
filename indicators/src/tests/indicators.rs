//! Each indicator on a few plans made by hand, before suppression; the expected figures are worked
//! out in the comments.

use super::support::*;
use crate::compute::nearest_rank;
use crate::facts::*;
use crate::set::{Breakdown as B, FollowUpStatus, Interval, Level, MeetingAspect, TableId as T};
use crate::{Error, Value, compute};

#[test]
fn opened_counts_by_age_band_in_the_quarter_of_the_noticed_need() {
    let auth = authorities();
    let mut a = plan(d(2026, 1, 10));
    a.age_band = AgeBand::Age13To15;
    let b = plan(d(2026, 3, 31));
    let c = plan(d(2026, 4, 1)); // Q2
    let e = plan_at(&auth[1], d(2026, 2, 1)); // social services, Växjö
    let f = plan_at(&auth[3], d(2026, 2, 1)); // child psychiatry, Ljungby
    let r = raw(&[a, b, c, e, f]);
    let q1 = q(2026, 1);
    // School Q1: a (13–15) and b (6–12).
    assert_eq!(count(&r, T::Opened, q1, &school(), B::Total), 2);
    assert_eq!(
        count(&r, T::Opened, q1, &school(), B::AgeBand(AgeBand::Age13To15)),
        1
    );
    assert_eq!(
        count(&r, T::Opened, q1, &school(), B::AgeBand(AgeBand::Age6To12)),
        1
    );
    assert_eq!(
        count(&r, T::Opened, q1, &school(), B::AgeBand(AgeBand::Unborn)),
        0
    );
    // Växjö adds social services; the set adds Ljungby.
    assert_eq!(count(&r, T::Opened, q1, &vaxjo(), B::Total), 3);
    assert_eq!(count(&r, T::Opened, q1, &Level::All, B::Total), 4);
    assert_eq!(count(&r, T::Opened, q(2026, 2), &school(), B::Total), 1);
}

#[test]
fn open_plans_are_counted_at_the_quarter_end_in_the_stage_they_were_in_then() {
    let mut a = plan(d(2026, 1, 5));
    a.stage_changes = vec![
        StageChange {
            day: d(2026, 1, 20),
            stage: Stage::Talk,
        },
        StageChange {
            day: d(2026, 4, 2),
            stage: Stage::Consent,
        },
    ];
    let mut b = plan(d(2026, 1, 5));
    b.closed = Some(Closure {
        day: d(2026, 3, 1),
        reason: CloseReason::GoalsMet,
    });
    let mut c = plan(d(2026, 2, 5));
    c.closed = Some(Closure {
        day: d(2026, 5, 1),
        reason: CloseReason::MovedAway,
    });
    let c_q1 = plan(d(2025, 12, 31)); // opened before the period, still open
    let r = raw(&[a, b, c, c_q1]);
    let (q1, q2) = (q(2026, 1), q(2026, 2));
    let open = |qq, s| count(&r, T::OpenAtQuarterEnd, qq, &school(), B::Stage(s));
    // End of Q1: a in talk; c and the older plan still at "need noticed"; b closed.
    assert_eq!(count(&r, T::OpenAtQuarterEnd, q1, &school(), B::Total), 3);
    assert_eq!(open(q1, Stage::Talk), 1);
    assert_eq!(open(q1, Stage::NeedNoticed), 2);
    // End of Q2: a in consent; c closed.
    assert_eq!(count(&r, T::OpenAtQuarterEnd, q2, &school(), B::Total), 2);
    assert_eq!(open(q2, Stage::Consent), 1);
    assert_eq!(open(q2, Stage::NeedNoticed), 1);
    // Closed by reason, in the quarter of closing.
    assert_eq!(
        count(
            &r,
            T::Closed,
            q1,
            &school(),
            B::CloseReason(CloseReason::GoalsMet)
        ),
        1
    );
    assert_eq!(
        count(
            &r,
            T::Closed,
            q2,
            &school(),
            B::CloseReason(CloseReason::MovedAway)
        ),
        1
    );
    assert_eq!(count(&r, T::Closed, q2, &school(), B::Total), 1);
    // Stock and flow: open before + opened − closed = open after (Q2: 3 + 0 − 1 = 2).
    assert_eq!(count(&r, T::Opened, q2, &school(), B::Total), 0);
}

#[test]
fn days_are_nearest_rank_median_and_p90_over_plans_reaching_the_step_in_the_quarter() {
    let noticed = d(2026, 1, 1);
    // Eleven plans agreed after 1..=11 days, all in Q1.
    let facts: Vec<_> = (1..=11)
        .map(|k| {
            let mut p = plan(noticed);
            p.agreed = Some(noticed + k);
            p
        })
        .collect();
    let r = raw(&facts);
    let (v, info) = cell(
        &r,
        T::Days,
        q(2026, 1),
        &school(),
        B::Interval(Interval::ToAgreedPlan),
    );
    // Median: rank ⌈0.5·11⌉ = 6 → 6 days; p90: rank ⌈0.9·11⌉ = 10 → 10 days.
    assert_eq!(
        v,
        Value::Days {
            median: 6,
            p90: Some(10)
        }
    );
    assert_eq!((info.base, info.contributors), (11, 11));
    // No plan got consent: nothing to report.
    let (v, _) = cell(
        &r,
        T::Days,
        q(2026, 1),
        &school(),
        B::Interval(Interval::ToConsent),
    );
    assert_eq!(v, Value::Suppressed);
}

#[test]
fn fewer_than_ten_values_give_a_median_but_no_p90() {
    let mut facts = Vec::new();
    for (noticed, meeting) in [(1, 21), (2, 42), (3, 63), (4, 84)] {
        let mut p = plan(d(2026, 1, noticed));
        p.consent = Some(p.need_noticed + 10 * noticed as i32);
        p.meetings = vec![
            Meeting {
                day: d(2026, 3, 31) + meeting,
                child_view_recorded: true,
                guardians_present: true,
            },
            // A later meeting does not move the first.
            Meeting {
                day: d(2026, 6, 30),
                child_view_recorded: true,
                guardians_present: true,
            },
        ];
        facts.push(p);
    }
    let r = raw(&facts);
    // Consent after 10, 20, 30, 40 days: median rank ⌈0.5·4⌉ = 2 → 20.
    let (v, _) = cell(
        &r,
        T::Days,
        q(2026, 1),
        &school(),
        B::Interval(Interval::ToConsent),
    );
    assert_eq!(
        v,
        Value::Days {
            median: 20,
            p90: None
        }
    );
    // First meetings on 31 March + k: (31 March − 1..4 January) + k = 89 + 21, 88 + 42, 87 + 63,
    // 86 + 84 = 110, 130, 150, 170 days; median rank 2 → 130.
    let (v, _) = cell(
        &r,
        T::Days,
        q(2026, 2),
        &school(),
        B::Interval(Interval::ToFirstMeeting),
    );
    assert_eq!(
        v,
        Value::Days {
            median: 130,
            p90: None
        }
    );
}

#[test]
fn nearest_rank_by_hand() {
    assert_eq!(nearest_rank(&[7], 50), 7);
    assert_eq!(nearest_rank(&[7], 90), 7);
    assert_eq!(nearest_rank(&[1, 2], 50), 1);
    assert_eq!(nearest_rank(&[1, 2, 3], 50), 2);
    let ten: Vec<u32> = (1..=10).collect();
    assert_eq!(nearest_rank(&ten, 90), 9);
    assert_eq!(nearest_rank(&ten, 50), 5);
}

#[test]
fn meeting_shares_count_meetings_in_the_quarter() {
    let m = |day, child, guardians| Meeting {
        day,
        child_view_recorded: child,
        guardians_present: guardians,
    };
    let mut a = plan(d(2026, 1, 1));
    a.meetings = vec![
        m(d(2026, 2, 1), true, true),
        m(d(2026, 3, 1), false, true),
        m(d(2026, 4, 1), true, false), // Q2
    ];
    let mut b = plan(d(2026, 1, 1));
    b.meetings = vec![m(d(2026, 2, 10), true, false)];
    let r = raw(&[a, b]);
    let q1 = q(2026, 1);
    // Q1: three meetings of two plans; child's view in 2, guardians in 2.
    let (v, info) = cell(
        &r,
        T::Meetings,
        q1,
        &school(),
        B::Aspect(MeetingAspect::ChildViewRecorded),
    );
    assert_eq!(
        v,
        Value::Share {
            numerator: 2,
            denominator: 3
        }
    );
    assert_eq!((info.base, info.contributors), (3, 2));
    let (v, _) = cell(
        &r,
        T::Meetings,
        q1,
        &school(),
        B::Aspect(MeetingAspect::GuardiansPresent),
    );
    assert_eq!(
        v,
        Value::Share {
            numerator: 2,
            denominator: 3
        }
    );
    let (v, _) = cell(
        &r,
        T::Meetings,
        q(2026, 2),
        &school(),
        B::Aspect(MeetingAspect::GuardiansPresent),
    );
    assert_eq!(
        v,
        Value::Share {
            numerator: 0,
            denominator: 1
        }
    );
}

#[test]
fn plan_given_counts_plans_agreed_in_the_quarter_given_by_its_end() {
    let agreed = |agreed, given| {
        let mut p = plan(d(2026, 1, 2));
        p.agreed = Some(agreed);
        p.plan_given = given;
        p
    };
    let r = raw(&[
        agreed(d(2026, 2, 1), Some(d(2026, 2, 3))),
        agreed(d(2026, 3, 30), Some(d(2026, 4, 2))), // given after the quarter
        agreed(d(2026, 3, 1), None),
        agreed(d(2026, 5, 1), Some(d(2026, 5, 1))), // Q2
    ]);
    let (v, _) = cell(&r, T::PlanGiven, q(2026, 1), &school(), B::Total);
    assert_eq!(
        v,
        Value::Share {
            numerator: 1,
            denominator: 3
        }
    );
    let (v, _) = cell(&r, T::PlanGiven, q(2026, 2), &school(), B::Total);
    assert_eq!(
        v,
        Value::Share {
            numerator: 1,
            denominator: 1
        }
    );
}

#[test]
fn follow_ups_on_time_late_and_overdue() {
    let f = |due, done| FollowUp { due, done };
    let mut a = plan(d(2026, 1, 1));
    a.follow_ups = vec![
        f(d(2026, 2, 1), Some(d(2026, 2, 1))),  // on time (on the day)
        f(d(2026, 2, 15), Some(d(2026, 2, 1))), // on time (early)
        f(d(2026, 3, 1), Some(d(2026, 3, 20))), // late
        f(d(2026, 3, 15), None),                // overdue
        f(d(2026, 8, 1), None),                 // due after the period
    ];
    let mut b = plan(d(2026, 1, 1));
    b.closed = Some(Closure {
        day: d(2026, 2, 1),
        reason: CloseReason::OtherSupport,
    });
    b.follow_ups = vec![f(d(2026, 1, 20), None), f(d(2026, 3, 1), None)]; // second after closing
    let r = raw(&[a, b]);
    let q1 = q(2026, 1);
    let n = |s| count(&r, T::FollowUps, q1, &school(), B::FollowUp(s));
    assert_eq!(n(FollowUpStatus::OnTime), 2);
    assert_eq!(n(FollowUpStatus::Late), 1);
    assert_eq!(n(FollowUpStatus::Overdue), 2); // a's and b's first
    assert_eq!(count(&r, T::FollowUps, q1, &school(), B::Total), 5);
    let (_, info) = cell(
        &r,
        T::FollowUps,
        q1,
        &school(),
        B::FollowUp(FollowUpStatus::Overdue),
    );
    assert_eq!(info.contributors, 2);
    let (_, info) = cell(
        &r,
        T::FollowUps,
        q1,
        &school(),
        B::FollowUp(FollowUpStatus::OnTime),
    );
    assert_eq!(info.contributors, 1);
}

#[test]
fn handovers_revocations_and_grants() {
    use AuthorityKind::*;
    let mut a = plan(d(2026, 1, 1));
    a.handovers = vec![
        Handover {
            day: d(2026, 2, 1),
            from: Preschool,
            to: School,
        },
        Handover {
            day: d(2026, 3, 1),
            from: Preschool,
            to: School,
        },
    ];
    a.revocations = vec![d(2026, 2, 2), d(2026, 2, 3)];
    a.grants = vec![
        GrantGiven {
            day: d(2026, 1, 5),
            category: Category::WheelHealth,
            to: ChildPsychiatry,
        },
        GrantGiven {
            day: d(2026, 1, 5),
            category: Category::WheelHealth,
            to: ChildPsychiatry,
        },
        GrantGiven {
            day: d(2026, 1, 5),
            category: Category::Identity,
            to: ChildPsychiatry,
        },
    ];
    let mut b = plan(d(2026, 1, 1));
    b.handovers = vec![Handover {
        day: d(2026, 2, 1),
        from: Preschool,
        to: School,
    }];
    b.grants = vec![GrantGiven {
        day: d(2026, 1, 9),
        category: Category::WheelHealth,
        to: ChildPsychiatry,
    }];
    let r = raw(&[a, b]);
    let q1 = q(2026, 1);
    let transition = B::Handover {
        from: Preschool,
        to: School,
    };
    assert_eq!(count(&r, T::Handovers, q1, &school(), transition), 3);
    assert_eq!(
        cell(&r, T::Handovers, q1, &school(), transition)
            .1
            .contributors,
        2
    );
    assert_eq!(
        count(
            &r,
            T::Handovers,
            q1,
            &school(),
            B::Handover {
                from: School,
                to: Preschool
            }
        ),
        0
    );
    assert_eq!(count(&r, T::Revocations, q1, &school(), B::Total), 2);
    assert_eq!(
        cell(&r, T::Revocations, q1, &school(), B::Total)
            .1
            .contributors,
        1
    );
    // Plans, not grants: a counts once for health although it gave it twice.
    let grant = |category| B::Grant {
        category,
        to: ChildPsychiatry,
    };
    assert_eq!(
        count(
            &r,
            T::ConsentGrants,
            q1,
            &school(),
            grant(Category::WheelHealth)
        ),
        2
    );
    assert_eq!(
        count(
            &r,
            T::ConsentGrants,
            q1,
            &school(),
            grant(Category::Identity)
        ),
        1
    );
    assert_eq!(
        count(
            &r,
            T::ConsentGrants,
            q(2026, 2),
            &school(),
            grant(Category::Identity)
        ),
        0
    );
}

#[test]
fn inconsistent_facts_are_refused_naming_the_field() {
    let p = params();
    let mut bad = plan(d(2026, 2, 1));
    bad.consent = Some(d(2026, 1, 1));
    let err = compute(&[plan(d(2026, 1, 1)), bad], &p).unwrap_err();
    assert_eq!(
        err,
        Error::Facts(FactsError {
            index: 1,
            field: "consent",
            problem: Problem::BeforeNeedNoticed
        })
    );
    let mut bad = plan(d(2026, 2, 1));
    bad.authority = "19121212-1212".into();
    let err = compute(&[bad], &p).unwrap_err();
    assert!(matches!(
        err,
        Error::Facts(FactsError {
            field: "authority",
            problem: Problem::NotASlug,
            ..
        })
    ));
    assert!(!err.to_string().contains("1212"));
    let mut bad = plan(d(2026, 2, 1));
    bad.municipality = "ljungby".into(); // the school is declared in Växjö only
    assert!(matches!(
        compute(&[bad], &p),
        Err(Error::Facts(FactsError {
            problem: Problem::UnknownAuthority,
            ..
        }))
    ));
    let mut bad = plan(d(2026, 2, 1));
    bad.handovers = vec![Handover {
        day: d(2026, 2, 2),
        from: AuthorityKind::School,
        to: AuthorityKind::Police,
    }];
    assert!(matches!(
        compute(&[bad], &p),
        Err(Error::Facts(FactsError {
            problem: Problem::NeverResponsible,
            ..
        }))
    ));
    let mut bad = plan(d(2026, 2, 1));
    bad.stage_changes = vec![StageChange {
        day: d(2026, 2, 2),
        stage: Stage::Closed,
    }];
    assert!(matches!(
        compute(&[bad], &p),
        Err(Error::Facts(FactsError {
            problem: Problem::ClosedStageMismatch,
            ..
        }))
    ));
    let mut bad = plan(d(2026, 2, 1));
    bad.meetings = vec![Meeting {
        day: d(2026, 7, 16),
        child_view_recorded: true,
        guardians_present: true,
    }];
    assert!(matches!(
        compute(&[bad], &p),
        Err(Error::Facts(FactsError {
            problem: Problem::AfterToday,
            ..
        }))
    ));
}

#[test]
fn a_running_quarter_and_bad_parameters_are_refused() {
    let mut p = params();
    p.today = d(2026, 6, 30);
    assert_eq!(compute(&[], &p), Err(Error::QuarterNotEnded(q(2026, 2))));
    let mut p = params();
    p.threshold = 0;
    assert_eq!(compute(&[], &p), Err(Error::Threshold));
    let mut p = params();
    p.first = q(2026, 3);
    assert_eq!(compute(&[], &p), Err(Error::Period));
    let mut p = params();
    p.authorities.push(p.authorities[0].clone());
    assert_eq!(compute(&[], &p), Err(Error::AuthorityRepeated(4)));
    let mut p = params();
    p.authorities.clear();
    assert_eq!(compute(&[], &p), Err(Error::NoAuthorities));
}

#[test]
fn authorities_without_plans_still_appear_and_everything_is_withheld() {
    let set = compute(&[], &params()).unwrap();
    assert_eq!(set.levels().len(), 1 + 2 + 4);
    assert!(
        set.tables
            .iter()
            .all(|t| t.cells.iter().all(|c| c.value == Value::Suppressed))
    );
    assert_eq!(set.check(), Ok(()));
}
