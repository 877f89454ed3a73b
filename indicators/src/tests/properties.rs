//! Laws of disclosure control over random plans: nothing published below the threshold; no
//! withheld cell pinned down by the published sums (checked here from the output alone, by
//! elimination modulo a prime, independently of the crate's own audit); only slugs, enum slugs and
//! quarters as text; no input day in the output; suppression idempotent.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::Value as Json;

use super::support::*;
use crate::facts::*;
use crate::quarter::Day;
use crate::set::{Breakdown, FollowUpStatus, Interval, Level, MeetingAspect};
use crate::{IndicatorSet, Params, Quarter, SCHEMA, TableId, Value, ValueKind, compute, suppress};

/// Raw numbers a plan is built from; offsets are reduced into the plan's own span of days.
#[derive(Debug, Clone)]
struct Seed {
    authority: usize,
    age: usize,
    noticed: i32,
    closed: Option<(u16, usize)>,
    consent: Option<u16>,
    agreed: Option<u16>,
    given: Option<u16>,
    stages: Vec<(u16, usize)>,
    meetings: Vec<(u16, bool, bool)>,
    follow_ups: Vec<(u16, Option<u16>)>,
    handovers: Vec<(u16, usize, usize)>,
    revocations: Vec<u16>,
    grants: Vec<(u16, usize, usize)>,
}

fn seed() -> impl Strategy<Value = Seed> {
    let off = any::<u16>;
    (
        (
            0usize..4,
            0usize..6,
            0i32..300,
            proptest::option::of((off(), 0usize..5)),
        ),
        (
            proptest::option::of(off()),
            proptest::option::of(off()),
            proptest::option::of(off()),
        ),
        prop::collection::vec((off(), 0usize..7), 0..3),
        prop::collection::vec((off(), any::<bool>(), any::<bool>()), 0..3),
        prop::collection::vec((off(), proptest::option::of(off())), 0..3),
        prop::collection::vec((off(), 0usize..8, 0usize..8), 0..2),
        prop::collection::vec(off(), 0..2),
        prop::collection::vec((off(), 0usize..12, 0usize..10), 0..3),
    )
        .prop_map(
            |(
                (authority, age, noticed, closed),
                (consent, agreed, given),
                stages,
                meetings,
                follow_ups,
                handovers,
                revocations,
                grants,
            )| Seed {
                authority,
                age,
                noticed,
                closed,
                consent,
                agreed,
                given,
                stages,
                meetings,
                follow_ups,
                handovers,
                revocations,
                grants,
            },
        )
}

/// 2026 Q1–Q3 as of 15 October 2026.
fn period() -> Params {
    Params::new(authorities(), q(2026, 1), q(2026, 3), d(2026, 10, 15))
}

fn build(s: &Seed, today: Day) -> PlanFacts {
    let auth = &authorities()[s.authority];
    let noticed = d(2025, 12, 1) + s.noticed;
    let horizon = (today - noticed).min(200);
    let at = |o: u16, span: i32| noticed + i32::from(o) % (span + 1);
    let closed = s.closed.map(|(o, r)| Closure {
        day: at(o, horizon),
        reason: CloseReason::ALL[r],
    });
    let span = closed.map_or(horizon, |c| c.day - noticed);
    let responsible: Vec<_> = AuthorityKind::ALL
        .iter()
        .copied()
        .filter(|k| k.can_be_responsible())
        .collect();
    let mut stage_changes: Vec<_> = s
        .stages
        .iter()
        .map(|&(o, st)| StageChange {
            day: at(o, span),
            stage: Stage::ALL[st],
        })
        .collect();
    stage_changes.sort_by_key(|c| c.day);
    let mut p = plan_at(auth, noticed);
    p.age_band = AgeBand::ALL[s.age];
    p.closed = closed;
    p.consent = s.consent.map(|o| at(o, span));
    p.agreed = s.agreed.map(|o| at(o, span));
    p.plan_given = s.given.map(|o| at(o, span));
    p.stage_changes = stage_changes;
    p.meetings = s
        .meetings
        .iter()
        .map(|&(o, c, g)| Meeting {
            day: at(o, span),
            child_view_recorded: c,
            guardians_present: g,
        })
        .collect();
    p.follow_ups = s
        .follow_ups
        .iter()
        .map(|&(due, done)| FollowUp {
            due: at(due, 150),
            done: done.map(|o| at(o, span)),
        })
        .collect();
    p.handovers = s
        .handovers
        .iter()
        .map(|&(o, f, t)| Handover {
            day: at(o, span),
            from: responsible[f],
            to: responsible[t],
        })
        .collect();
    p.revocations = s.revocations.iter().map(|&o| at(o, span)).collect();
    p.grants = s
        .grants
        .iter()
        .map(|&(o, c, k)| GrantGiven {
            day: at(o, span),
            category: Category::ALL[c],
            to: AuthorityKind::ALL[k],
        })
        .collect();
    p
}

fn facts_and_threshold() -> impl Strategy<Value = (Vec<PlanFacts>, u32)> {
    (prop::collection::vec(seed(), 0..70), 1u32..6).prop_map(|(seeds, t)| {
        let today = period().today;
        (seeds.iter().map(|s| build(s, today)).collect(), t)
    })
}

const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn inverse(a: u64) -> u64 {
    let (mut base, mut e, mut r) = (a, P - 2, 1);
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    r
}

type Key = (TableId, Quarter, Level, Breakdown, u8);

/// The withheld numbers of a set that its published sums pin down, worked out from the set alone.
pub(super) fn pinned_down(set: &IndicatorSet) -> Vec<Key> {
    // Every published number is known; withheld ones are unknown.
    let mut known: BTreeMap<Key, bool> = BTreeMap::new();
    for table in &set.tables {
        let t = table.id;
        for c in &table.cells {
            let published = c.value != Value::Suppressed;
            let mut put = |b, pos| {
                let e = known
                    .entry((t, c.quarter, c.level.clone(), b, pos))
                    .or_insert(true);
                *e &= published;
            };
            match t.value_kind() {
                ValueKind::Days => {}
                ValueKind::Count => put(c.breakdown, 0),
                ValueKind::Share => {
                    put(c.breakdown, 0);
                    put(
                        if t == TableId::Meetings {
                            Breakdown::Total
                        } else {
                            c.breakdown
                        },
                        1,
                    );
                }
            }
        }
    }
    let levels = set.levels();
    for l in &levels {
        // Open plans before the first quarter: assume an outsider knows them.
        known.insert(
            (
                TableId::OpenAtQuarterEnd,
                set.first.prev(),
                l.clone(),
                Breakdown::Total,
                0,
            ),
            true,
        );
    }
    let mut equations: Vec<Vec<(Key, i64)>> = Vec::new();
    for (t, qq, l, b, pos) in known.keys() {
        let key = |t, qq, l: &Level, b, pos| (t, qq, l.clone(), b, pos);
        let children: Vec<&Level> = levels
            .iter()
            .filter(|c| c.parent().as_ref() == Some(l))
            .collect();
        if !children.is_empty() {
            let mut eq = vec![(key(*t, *qq, l, *b, *pos), 1)];
            eq.extend(children.iter().map(|c| (key(*t, *qq, c, *b, *pos), -1)));
            equations.push(eq);
        }
        if *b == Breakdown::Total && *pos == 0 && t.has_total() && *qq >= set.first {
            let mut eq = vec![(key(*t, *qq, l, *b, 0), 1)];
            eq.extend(
                t.breakdowns()[1..]
                    .iter()
                    .map(|&p| (key(*t, *qq, l, p, 0), -1)),
            );
            equations.push(eq);
        }
        if *t == TableId::OpenAtQuarterEnd && *b == Breakdown::Total && *qq >= set.first {
            let total = |t| key(t, *qq, l, Breakdown::Total, 0);
            equations.push(vec![
                (total(TableId::OpenAtQuarterEnd), 1),
                (total(TableId::Closed), 1),
                (total(TableId::Opened), -1),
                (
                    key(TableId::OpenAtQuarterEnd, qq.prev(), l, Breakdown::Total, 0),
                    -1,
                ),
            ]);
        }
    }
    // Keep only the unknowns; split into independent groups.
    let unknown: Vec<Key> = known
        .iter()
        .filter(|(_, k)| !**k)
        .map(|(k, _)| k.clone())
        .collect();
    let index: BTreeMap<&Key, usize> = unknown.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let rows: Vec<Vec<(usize, i64)>> = equations
        .iter()
        .map(|eq| {
            assert!(
                eq.iter().all(|(k, _)| known.contains_key(k)),
                "every sum is complete"
            );
            eq.iter()
                .filter_map(|(k, c)| index.get(k).map(|&i| (i, *c)))
                .collect()
        })
        .filter(|r: &Vec<_>| !r.is_empty())
        .collect();
    let mut group: Vec<usize> = (0..unknown.len()).collect();
    fn root(g: &mut [usize], mut x: usize) -> usize {
        while g[x] != x {
            x = g[x];
        }
        x
    }
    for r in &rows {
        for w in r.windows(2) {
            let (a, b) = (root(&mut group, w[0].0), root(&mut group, w[1].0));
            group[a.max(b)] = a.min(b);
        }
    }
    let mut by_group: BTreeMap<usize, Vec<&Vec<(usize, i64)>>> = BTreeMap::new();
    for r in &rows {
        by_group
            .entry(root(&mut group, r[0].0))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for rs in by_group.values() {
        let cols: BTreeSet<usize> = rs.iter().flat_map(|r| r.iter().map(|e| e.0)).collect();
        let cols: Vec<usize> = cols.into_iter().collect();
        let pos: BTreeMap<usize, usize> = cols.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let mut m: Vec<Vec<u64>> = rs
            .iter()
            .map(|r| {
                let mut row = vec![0u64; cols.len()];
                for &(c, x) in r.iter() {
                    let v = if x < 0 {
                        P - x.unsigned_abs()
                    } else {
                        x as u64
                    };
                    row[pos[&c]] = (row[pos[&c]] + v) % P;
                }
                row
            })
            .collect();
        // Reduced row echelon form modulo P.
        let mut pivot_row = 0;
        let mut pivots = Vec::new();
        for col in 0..cols.len() {
            let Some(r) = (pivot_row..m.len()).find(|&r| m[r][col] != 0) else {
                continue;
            };
            m.swap(pivot_row, r);
            let inv = inverse(m[pivot_row][col]);
            for x in &mut m[pivot_row] {
                *x = mul(*x, inv);
            }
            let pivot = m[pivot_row].clone();
            for (r, row) in m.iter_mut().enumerate() {
                if r != pivot_row && row[col] != 0 {
                    let f = row[col];
                    for (x, &p) in row.iter_mut().zip(&pivot) {
                        *x = (*x + P - mul(f, p)) % P;
                    }
                }
            }
            pivots.push((pivot_row, col));
            pivot_row += 1;
        }
        for (r, col) in pivots {
            if m[r].iter().filter(|&&x| x != 0).count() == 1 {
                out.push(unknown[cols[col]].clone());
            }
        }
    }
    out
}

/// Every string value in the set's JSON.
fn strings(v: &Json, out: &mut BTreeSet<String>) {
    match v {
        Json::String(s) => {
            out.insert(s.clone());
        }
        Json::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Json::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn numbers(v: &Json, out: &mut BTreeSet<i64>) {
    match v {
        Json::Number(n) => {
            out.insert(n.as_i64().unwrap());
        }
        Json::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        Json::Object(o) => o.values().for_each(|x| numbers(x, out)),
        _ => {}
    }
}

fn allowed_strings(set: &IndicatorSet) -> BTreeSet<String> {
    let mut ok: BTreeSet<String> = BTreeSet::new();
    for a in authorities() {
        ok.insert(a.id);
        ok.insert(a.municipality);
    }
    let slugs = AuthorityKind::ALL
        .iter()
        .map(|x| x.slug())
        .chain(AgeBand::ALL.iter().map(|x| x.slug()))
        .chain(Stage::ALL.iter().map(|x| x.slug()))
        .chain(CloseReason::ALL.iter().map(|x| x.slug()))
        .chain(Category::ALL.iter().map(|x| x.slug()))
        .chain(TableId::ALL.iter().map(|x| x.slug()))
        .chain(Interval::ALL.iter().map(|x| x.slug()))
        .chain(MeetingAspect::ALL.iter().map(|x| x.slug()))
        .chain(FollowUpStatus::ALL.iter().map(|x| x.slug()))
        .chain(["all", "total", "suppressed", SCHEMA]);
    ok.extend(slugs.map(String::from));
    ok.extend(
        set.quarters()
            .iter()
            .chain([&set.computed_in])
            .map(|q| q.to_string()),
    );
    ok
}

fn input_days(facts: &[PlanFacts]) -> BTreeSet<i64> {
    let mut days = BTreeSet::new();
    for p in facts {
        let mut put = |d: Day| {
            days.insert(i64::from(d));
        };
        put(p.need_noticed);
        p.consent
            .into_iter()
            .chain(p.agreed)
            .chain(p.plan_given)
            .for_each(&mut put);
        p.closed.iter().for_each(|c| put(c.day));
        p.meetings.iter().for_each(|m| put(m.day));
        p.follow_ups.iter().for_each(|f| {
            put(f.due);
            f.done.into_iter().for_each(&mut put);
        });
        p.handovers.iter().for_each(|h| put(h.day));
        p.revocations.iter().for_each(|&d| put(d));
        p.grants.iter().for_each(|g| put(g.day));
        p.stage_changes.iter().for_each(|s| put(s.day));
    }
    days
}

fn assert_safe(set: &IndicatorSet) -> Result<(), TestCaseError> {
    let t = u64::from(set.threshold);
    for table in &set.tables {
        for c in &table.cells {
            match c.value {
                Value::Count(n) => prop_assert!(n >= t, "{:?} {:?} published {n}", table.id, c),
                Value::Share { denominator, .. } => prop_assert!(denominator >= t),
                _ => {}
            }
        }
    }
    prop_assert_eq!(set.check(), Ok(()));
    let pinned = pinned_down(set);
    prop_assert!(pinned.is_empty(), "withheld but recoverable: {:?}", pinned);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn published_cells_meet_the_threshold_and_withheld_ones_cannot_be_worked_out(
        (facts, threshold) in facts_and_threshold()
    ) {
        let mut params = period();
        params.threshold = threshold;
        let set = compute(&facts, &params).unwrap();
        assert_safe(&set)?;
    }

    #[test]
    fn the_output_holds_no_input_text_and_no_input_day(
        (facts, threshold) in facts_and_threshold()
    ) {
        let mut params = period();
        params.threshold = threshold;
        let set = compute(&facts, &params).unwrap();
        let json: Json = serde_json::from_slice(&set.to_signed_form()).unwrap();
        let mut found = BTreeSet::new();
        strings(&json, &mut found);
        let allowed = allowed_strings(&set);
        let foreign: Vec<_> = found.difference(&allowed).collect();
        prop_assert!(foreign.is_empty(), "{:?}", foreign);
        let mut nums = BTreeSet::new();
        numbers(&json, &mut nums);
        let days = input_days(&facts);
        prop_assert!(nums.is_disjoint(&days), "an input day number in the output");
    }

    #[test]
    fn suppression_is_idempotent_and_raising_the_threshold_stays_safe(
        (facts, threshold) in facts_and_threshold(), raise in 0u32..6
    ) {
        let mut params = period();
        params.threshold = threshold;
        let set = compute(&facts, &params).unwrap();
        prop_assert_eq!(&suppress(&set, threshold), &set);
        let stricter = suppress(&set, threshold + raise);
        prop_assert_eq!(&suppress(&stricter, threshold + raise), &stricter);
        for (a, b) in set.tables.iter().zip(&stricter.tables) {
            for (x, y) in a.cells.iter().zip(&b.cells) {
                prop_assert!(y.value == x.value || y.value == Value::Suppressed);
            }
        }
        assert_safe(&stricter)?;
    }
}
