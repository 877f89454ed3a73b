//! The disclosure rules on small hand-made cases, and the signed form refusing sets that break them.

use super::support::*;
use crate::facts::*;
use crate::set::{Breakdown as B, Level, TableId as T};
use crate::{IndicatorSet, SetError, Value, compute, suppress};

fn value(set: &IndicatorSet, t: T, quarter: crate::Quarter, level: &Level, b: B) -> Value {
    set.value(t, quarter, level, b).unwrap()
}

fn closed(reason: CloseReason, day: crate::Day) -> PlanFacts {
    let mut p = plan(d(2026, 1, 2));
    p.closed = Some(Closure { day, reason });
    p
}

#[test]
fn one_small_cell_in_a_row_takes_the_smallest_other_with_it() {
    use CloseReason::*;
    // Closed in Q1 at the school: goals met 6, moved away 5, consent withdrawn 5, other support
    // 5, other 2; total 23.
    let mut facts = Vec::new();
    for (reason, n) in [
        (GoalsMet, 6),
        (MovedAway, 5),
        (ConsentWithdrawn, 5),
        (OtherSupport, 5),
        (Other, 2),
    ] {
        facts.extend((0..n).map(|_| closed(reason, d(2026, 3, 1))));
    }
    let set = compute(&facts, &params()).unwrap();
    let q1 = q(2026, 1);
    let v = |b| value(&set, T::Closed, q1, &school(), b);
    assert_eq!(v(B::CloseReason(Other)), Value::Suppressed, "2 is below 5");
    // 23 − 6 − 5 − 5 − 5 would give the 2 away: the smallest other (the first 5) goes too.
    assert_eq!(v(B::CloseReason(MovedAway)), Value::Suppressed);
    assert_eq!(v(B::CloseReason(GoalsMet)), Value::Count(6));
    assert_eq!(v(B::CloseReason(ConsentWithdrawn)), Value::Count(5));
    assert_eq!(v(B::Total), Value::Count(23));
}

#[test]
fn a_received_set_missing_its_complementary_cells_is_refused() {
    use CloseReason::*;
    let mut facts = Vec::new();
    for (reason, n) in [
        (GoalsMet, 6),
        (MovedAway, 5),
        (ConsentWithdrawn, 5),
        (OtherSupport, 5),
        (Other, 2),
    ] {
        facts.extend((0..n).map(|_| closed(reason, d(2026, 3, 1))));
    }
    let set = compute(&facts, &params()).unwrap();
    assert_eq!(set.check(), Ok(()));
    // Publish the 5s that were withheld only to protect the 2: the 2 is then 23 − 6 − 5 − 5 − 5.
    let mut bare = set.clone();
    for c in &mut bare.tables[2].cells {
        let ours = [Level::All, vaxjo(), school()].contains(&c.level);
        if ours && c.quarter == q(2026, 1) && c.breakdown == B::CloseReason(MovedAway) {
            assert_eq!(c.value, Value::Suppressed);
            c.value = Value::Count(5);
        }
    }
    assert_eq!(bare.check(), Err(crate::SetError::Recoverable));
    assert_eq!(
        IndicatorSet::from_signed_form(&bare.to_signed_form()),
        Err(crate::SetError::Recoverable)
    );
}

#[test]
fn an_authority_cannot_be_read_off_its_municipality() {
    let auth = authorities();
    // Revocations in Q1 (each in its own plan) in Växjö: school 7, social services 6, child
    // psychiatry 3; in Ljungby 8. (Were Ljungby 0, withheld as "fewer than 5", Växjö would have
    // to be withheld to hide it.)
    let mut facts = Vec::new();
    for (a, n) in [(&auth[0], 7), (&auth[1], 6), (&auth[2], 3), (&auth[3], 8)] {
        facts.extend((0..n).map(|_| {
            let mut p = plan_at(a, d(2026, 2, 1));
            p.revocations = vec![d(2026, 2, 2)];
            p
        }));
    }
    let set = compute(&facts, &params()).unwrap();
    let q1 = q(2026, 1);
    let revoked = |l: &Level| value(&set, T::Revocations, q1, l, B::Total);
    assert_eq!(revoked(&Level::All), Value::Count(24));
    assert_eq!(revoked(&vaxjo()), Value::Count(16));
    assert_eq!(revoked(&level(&auth[2])), Value::Suppressed, "3 is below 5");
    // 16 − 7 − 6 would give the 3 away: social services, the smaller, is withheld too.
    assert_eq!(revoked(&level(&auth[1])), Value::Suppressed);
    assert_eq!(revoked(&school()), Value::Count(7));
    assert_eq!(revoked(&level(&auth[3])), Value::Count(8));
}

#[test]
fn a_zero_is_withheld_like_any_small_count_and_protected_the_same_way() {
    // Ten plans opened at the school in Q1, none closed: "closed" is 0, withheld; open at the end
    // (10) − opened (10) would give it away, so one of them is withheld too.
    let facts: Vec<_> = (0..10).map(|_| plan(d(2026, 2, 1))).collect();
    let set = compute(&facts, &params()).unwrap();
    let q1 = q(2026, 1);
    let v = |t| value(&set, t, q1, &school(), B::Total);
    assert_eq!(v(T::Closed), Value::Suppressed);
    assert!([v(T::Opened), v(T::OpenAtQuarterEnd)].contains(&Value::Suppressed));
    assert!([v(T::Opened), v(T::OpenAtQuarterEnd)].contains(&Value::Count(10)));
}

#[test]
fn open_plans_from_quarter_to_quarter_do_not_give_away_the_closed() {
    // Q1: 10 opened, all open at the end. Q2: 7 more opened, 3 closed, so 14 open at the end.
    let mut facts: Vec<_> = (0..10).map(|_| plan(d(2026, 2, 1))).collect();
    facts.extend((0..7).map(|_| plan(d(2026, 5, 1))));
    for p in &mut facts[..3] {
        p.closed = Some(Closure {
            day: d(2026, 5, 2),
            reason: CloseReason::GoalsMet,
        });
    }
    let set = compute(&facts, &params()).unwrap();
    let (q1, q2) = (q(2026, 1), q(2026, 2));
    let v = |t, qq| value(&set, t, qq, &school(), B::Total);
    assert_eq!(v(T::Closed, q2), Value::Suppressed, "3 is below 5");
    // 10 + 7 − 14 = 3 unless one of the three others is withheld too.
    let others = [
        v(T::OpenAtQuarterEnd, q1),
        v(T::Opened, q2),
        v(T::OpenAtQuarterEnd, q2),
    ];
    assert!(others.contains(&Value::Suppressed), "{others:?}");
}

#[test]
fn cells_behind_too_few_children_are_withheld_however_large() {
    // Six follow-ups done on time, all of one child.
    let mut p = plan(d(2026, 1, 1));
    p.follow_ups = (1..=6)
        .map(|k| FollowUp {
            due: d(2026, 2, k),
            done: Some(d(2026, 2, k)),
        })
        .collect();
    let set = compute(&[p], &params()).unwrap();
    let v = value(
        &set,
        T::FollowUps,
        q(2026, 1),
        &school(),
        B::FollowUp(crate::FollowUpStatus::OnTime),
    );
    assert_eq!(v, Value::Suppressed);
}

#[test]
fn a_share_with_a_small_denominator_is_withheld_and_a_large_one_is_not() {
    let m = |day, child| Meeting {
        day,
        child_view_recorded: child,
        guardians_present: true,
    };
    let mut facts = Vec::new();
    for k in 0..6u32 {
        let mut p = plan(d(2026, 1, 1));
        p.meetings = vec![m(d(2026, 2, 1 + k), k < 5), m(d(2026, 5, 1 + k), true)];
        if k >= 3 {
            p.meetings.pop(); // only three meetings in Q2
        }
        facts.push(p);
    }
    let set = compute(&facts, &params()).unwrap();
    let aspect = B::Aspect(crate::MeetingAspect::ChildViewRecorded);
    assert_eq!(
        value(&set, T::Meetings, q(2026, 1), &school(), aspect),
        Value::Share {
            numerator: 5,
            denominator: 6
        }
    );
    assert_eq!(
        value(&set, T::Meetings, q(2026, 2), &school(), aspect),
        Value::Suppressed
    );
}

#[test]
fn suppression_is_idempotent_and_a_higher_threshold_only_withholds_more() {
    let facts: Vec<_> = (0..40)
        .map(|k| {
            let mut p = plan(d(2026, 1, 1) + k * 4);
            p.age_band = AgeBand::ALL[k as usize % 3];
            p.agreed = Some(p.need_noticed + 20 + k % 7);
            p
        })
        .collect();
    let set = compute(&facts, &params()).unwrap();
    assert_eq!(suppress(&set, set.threshold), set);
    assert_eq!(suppress(&set, 1), set, "a threshold is never lowered");
    let strict = suppress(&set, 12);
    assert_eq!(strict.threshold, 12);
    assert_eq!(suppress(&strict, 12), strict);
    for (a, b) in set.tables.iter().zip(&strict.tables) {
        for (x, y) in a.cells.iter().zip(&b.cells) {
            assert!(x.value == y.value || y.value == Value::Suppressed);
            if let Value::Count(n) = y.value {
                assert!(n >= 12);
            }
        }
    }
    assert_eq!(strict.check(), Ok(()));
}

#[test]
fn the_signed_form_round_trips_and_refuses_sets_that_break_the_rules() {
    let facts: Vec<_> = (0..12).map(|k| plan(d(2026, 1, 3) + k)).collect();
    let set = compute(&facts, &params()).unwrap();
    let bytes = set.to_signed_form();
    assert_eq!(IndicatorSet::from_signed_form(&bytes), Ok(set.clone()));
    assert_eq!(
        set.to_signed_form(),
        bytes,
        "the same set gives the same bytes"
    );

    let mut small = set.clone();
    small.tables[0].cells[0].value = Value::Count(3);
    assert_eq!(
        IndicatorSet::from_signed_form(&small.to_signed_form()),
        Err(SetError::Disclosure("opened"))
    );
    let mut schema = set.clone();
    schema.schema = "kronobarn-indicators/0".into();
    assert_eq!(
        IndicatorSet::from_signed_form(&schema.to_signed_form()),
        Err(SetError::Schema)
    );
    let mut named = set.clone();
    for t in &mut named.tables {
        for c in &mut t.cells {
            if c.level == vaxjo() {
                c.level = Level::Municipality("Anna Andersson".into());
            }
        }
    }
    assert_eq!(
        IndicatorSet::from_signed_form(&named.to_signed_form()),
        Err(SetError::NotASlug)
    );
    let mut short = set.clone();
    short.tables[3].cells.pop();
    assert_eq!(
        IndicatorSet::from_signed_form(&short.to_signed_form()),
        Err(SetError::Shape("days-from-need-noticed"))
    );
    let err = IndicatorSet::from_signed_form(b"{\"schema\": \"19121212-1212\"").unwrap_err();
    assert!(matches!(err, SetError::Unreadable { .. }));
    assert!(!err.to_string().contains("1212"));
}

#[test]
fn the_audit_finds_what_the_one_withheld_rule_misses() {
    use crate::set::{Cell, Table};
    // Opened by age band at four authorities of one municipality. Withheld (value 1): a 2×2 block
    // of authorities 1–2 × bands 1–2, one of authorities 3–4 × bands 3–4, and the bridge
    // (authority 2, band 3); every other cell is 10. Every row and column then holds zero or at
    // least two withheld cells, yet rows 1 + 2 − columns 1 − 2 leaves the bridge alone.
    let kinds = [
        AuthorityKind::School,
        AuthorityKind::Preschool,
        AuthorityKind::SocialServices,
        AuthorityKind::ActivityResponsibility,
    ];
    let small = [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 2),
        (2, 3),
        (3, 2),
        (3, 3),
        (1, 2),
    ];
    let grid: Vec<[u64; 6]> = (0..4)
        .map(|a| std::array::from_fn(|b| if small.contains(&(a, b)) { 1 } else { 10 }))
        .collect();
    let bands = T::Opened.breakdowns();
    let q1 = q(2026, 1);
    let mut cells = Vec::new();
    let mut row = |level: Level, values: [u64; 6]| {
        let total = values.iter().sum();
        for (b, v) in bands.iter().zip(std::iter::once(total).chain(values)) {
            cells.push(Cell {
                quarter: q1,
                level: level.clone(),
                breakdown: *b,
                value: Value::Count(v),
            });
        }
    };
    let municipality: [u64; 6] = std::array::from_fn(|b| grid.iter().map(|r| r[b]).sum());
    row(Level::All, municipality);
    row(vaxjo(), municipality);
    for (a, kind) in kinds.iter().enumerate() {
        let level = Level::Authority {
            municipality: "vaxjo".into(),
            id: format!("a{a}"),
            kind: *kind,
        };
        row(level, grid[a]);
    }
    let mut tables = vec![Table {
        id: T::Opened,
        cells,
    }];
    crate::suppress::apply(&mut tables, None, 5, q1);
    let withheld = tables[0]
        .cells
        .iter()
        .filter(|c| c.value == Value::Suppressed)
        .count();
    assert!(
        withheld > small.len(),
        "the bridge needs one more cell withheld"
    );
    let set = IndicatorSet {
        schema: crate::SCHEMA.into(),
        threshold: 5,
        computed_in: q(2026, 2),
        first: q1,
        last: q1,
        tables,
    };
    assert_eq!(super::properties::pinned_down(&set), vec![]);
}
