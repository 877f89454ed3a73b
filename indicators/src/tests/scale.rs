//! A region-sized node: 24 care units in eight municipalities, 3000 plans, eight quarters. The
//! whole set is checked by the independent audit, so the rules hold where sums cross at scale.

use super::support::*;
use crate::facts::*;
use crate::{Params, Value, compute};

/// A small deterministic generator (a linear congruential one), so the test needs no seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_region_sized_set_is_safe_and_still_says_something() {
    let municipalities = [
        "alvesta",
        "lessebo",
        "ljungby",
        "markaryd",
        "tingsryd",
        "uppvidinge",
        "vaxjo",
        "almhult",
    ];
    let units = [
        (AuthorityKind::MaternityCare, "mvc"),
        (AuthorityKind::ChildHealthCare, "bvc"),
        (AuthorityKind::ChildPsychiatry, "bup"),
    ];
    let mut authorities = Vec::new();
    for m in municipalities {
        for (kind, unit) in units {
            authorities.push(AuthorityRef {
                id: format!("{unit}-{m}"),
                kind,
                municipality: m.into(),
            });
        }
    }
    let today = d(2027, 1, 15);
    let mut r = Lcg(12_345);
    let facts: Vec<_> = (0..3000)
        .map(|_| {
            let a = &authorities[r.below(authorities.len() as u64) as usize];
            let noticed = d(2025, 1, 1) + r.below(700) as i32;
            let mut p = plan_at(a, noticed);
            p.age_band = AgeBand::ALL[r.below(6) as usize];
            let span = (today - noticed).min(300) as u64;
            if r.below(2) == 0 {
                let reason = CloseReason::ALL[r.below(5) as usize];
                p.closed = Some(Closure {
                    day: noticed + r.below(span) as i32,
                    reason,
                });
            }
            let end = p.closed.map_or(span, |c| (c.day - noticed) as u64) + 1;
            p.consent = Some(noticed + r.below(end) as i32);
            p.agreed = Some(noticed + r.below(end) as i32);
            p.meetings = (0..r.below(3))
                .map(|_| Meeting {
                    day: noticed + r.below(end) as i32,
                    child_view_recorded: r.below(2) == 0,
                    guardians_present: r.below(3) != 0,
                })
                .collect();
            p.follow_ups = (0..r.below(3))
                .map(|_| FollowUp {
                    due: noticed + r.below(end) as i32,
                    done: None,
                })
                .collect();
            p.grants = (0..r.below(4))
                .map(|_| GrantGiven {
                    day: noticed + r.below(end) as i32,
                    category: Category::ALL[r.below(12) as usize],
                    to: AuthorityKind::ALL[r.below(10) as usize],
                })
                .collect();
            p
        })
        .collect();
    let params = Params::new(authorities, q(2025, 1), q(2026, 4), today);
    let set = compute(&facts, &params).unwrap();
    assert_eq!(set.check(), Ok(()));
    assert_eq!(super::properties::pinned_down(&set), vec![]);
    let published = set
        .tables
        .iter()
        .flat_map(|t| &t.cells)
        .filter(|c| c.value != Value::Suppressed)
        .count();
    assert!(published > 1000, "only {published} cells published");
}
