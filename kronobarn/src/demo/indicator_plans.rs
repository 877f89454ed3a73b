//! The invented plans of the indicators demo: for each school, how many needs are noticed when,
//! how quickly each step of the practice model follows, and how often the child's own view is
//! written down. Drawn from a fixed seed, so every run tells the same year; pure, no I/O.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use kronobarn_proto::v1::CloseReason;

/// Days since 1970-01-01 of a date.
pub fn day(y: i32, m: u32, d: u32) -> i64 {
    kronobarn_proto::date::days_from_civil(y, m, d)
}

/// A municipality's school in the story, and how it works.
pub struct School {
    /// The municipality's organisation id.
    pub organization: &'static str,
    /// Plans opened there during the year.
    pub plans: usize,
    /// Share of the plans whose need is noticed in the autumn (the rest from February to June).
    pub autumn: f64,
    /// Days from one step to the next, as ranges: talk, consent, meeting called, meeting held,
    /// agreed after the meeting.
    pub pace: [(i64, i64); 5],
    /// How often the child's own view is written in the meeting record.
    pub child_view: f64,
    /// How often a guardian takes part in the meeting.
    pub guardians: f64,
}

/// The four schools of the story: Växjö quick and listening, Ljungby slower, Älmhult and
/// Alvesta with few plans (their figures are withheld, as they should be).
pub const SCHOOLS: [School; 4] = [
    School {
        organization: "vaxjo-kommun",
        plans: 26,
        autumn: 0.7,
        pace: [(1, 6), (4, 14), (2, 5), (6, 14), (0, 3)],
        child_view: 0.85,
        guardians: 0.9,
    },
    School {
        organization: "ljungby-kommun",
        plans: 14,
        autumn: 0.7,
        pace: [(3, 10), (10, 30), (3, 9), (12, 26), (0, 7)],
        child_view: 0.55,
        guardians: 0.75,
    },
    School {
        organization: "almhult-kommun",
        plans: 5,
        autumn: 0.6,
        pace: [(2, 8), (7, 20), (3, 8), (8, 20), (0, 5)],
        child_view: 0.7,
        guardians: 0.8,
    },
    School {
        organization: "alvesta-kommun",
        plans: 3,
        autumn: 0.6,
        pace: [(2, 8), (7, 20), (3, 8), (8, 20), (0, 5)],
        child_view: 0.7,
        guardians: 0.8,
    },
];

/// What happens to a plan on a day.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A need is noticed: the plan is created (the child is 8, or 12 to 13).
    Create {
        /// The older of the two test children.
        older: bool,
    },
    /// Talk with the child and the guardians, with the wheel.
    Talk,
    /// The guardian consents; the partner may receive what the meeting needs.
    Consent,
    /// A meeting is called for the day given.
    CallMeeting {
        /// Day of the meeting.
        on: i64,
    },
    /// The meeting is held and recorded.
    Meeting {
        /// The child's own view is written down.
        child_view: bool,
        /// A guardian takes part.
        guardians: bool,
    },
    /// The plan is agreed, followed up on the day given.
    Agree {
        /// Day of the follow-up.
        follow_up: i64,
    },
    /// The plan is handed to the guardians as a document.
    Give,
    /// The follow-up is held (the plan followed up, and revised when a next day is given).
    FollowUp {
        /// The next follow-up after a revision.
        revised_to: Option<i64>,
    },
    /// A guardian withdraws the consent for the partner.
    Revoke,
    /// The plan is closed.
    Close(CloseReason),
}

/// One step of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Day it happens.
    pub day: i64,
    /// Which plan (index into the schedule's plans).
    pub plan: usize,
    /// Which school (index into [`SCHOOLS`]).
    pub school: usize,
    /// What happens.
    pub step: Step,
}

fn between(rng: &mut StdRng, (lo, hi): (i64, i64)) -> i64 {
    rng.gen_range(lo..=hi)
}

/// The year's events, in the order they happen, all before `end`.
pub fn schedule(end: i64) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(2025);
    let mut events = Vec::new();
    let mut plan = 0;
    for (s, school) in SCHOOLS.iter().enumerate() {
        // The school's rates hold exactly over its meetings, in turn, rather than by chance.
        let mut meetings = 0u32;
        let share =
            |rate: f64, k: u32| (f64::from(k + 1) * rate).floor() > (f64::from(k) * rate).floor();
        for _ in 0..school.plans {
            let mut steps = Vec::new();
            let noticed = if rng.gen_bool(school.autumn) {
                between(&mut rng, (day(2025, 8, 18), day(2025, 11, 14)))
            } else {
                between(&mut rng, (day(2025, 2, 3), day(2025, 6, 5)))
            };
            steps.push((
                noticed,
                Step::Create {
                    older: rng.gen_bool(0.3),
                },
            ));
            let talk = noticed + between(&mut rng, school.pace[0]);
            steps.push((talk, Step::Talk));
            // One family in ten does not want to go further.
            if !rng.gen_bool(0.1) {
                let consent = talk + between(&mut rng, school.pace[1]);
                let call = consent + between(&mut rng, school.pace[2]);
                let meeting = call + between(&mut rng, school.pace[3]);
                let agreed = meeting + between(&mut rng, school.pace[4]);
                let follow_up = agreed + between(&mut rng, (40, 70));
                steps.push((consent, Step::Consent));
                steps.push((call, Step::CallMeeting { on: meeting }));
                steps.push((
                    meeting,
                    Step::Meeting {
                        child_view: share(school.child_view, meetings),
                        guardians: share(school.guardians, meetings + 3),
                    },
                ));
                meetings += 1;
                steps.push((agreed, Step::Agree { follow_up }));
                if rng.gen_bool(0.8) {
                    steps.push((agreed + between(&mut rng, (0, 10)), Step::Give));
                }
                if rng.gen_bool(0.08) {
                    steps.push((agreed + between(&mut rng, (5, 30)), Step::Revoke));
                }
                // Most follow-ups are held on time, some late, some not at all.
                let roll: f64 = rng.r#gen();
                let held = if roll < 0.6 {
                    Some(follow_up - between(&mut rng, (0, 3)))
                } else if roll < 0.85 {
                    Some(follow_up + between(&mut rng, (4, 20)))
                } else {
                    None
                };
                if let Some(held) = held {
                    let revised = rng
                        .gen_bool(0.4)
                        .then(|| held + between(&mut rng, (50, 80)));
                    steps.push((
                        held,
                        Step::FollowUp {
                            revised_to: revised,
                        },
                    ));
                    if revised.is_none() && rng.gen_bool(0.5) {
                        let reason = match rng.gen_range(0..10) {
                            0..=5 => CloseReason::GoalsMet,
                            6 | 7 => CloseReason::MovedAway,
                            8 => CloseReason::OtherSupport,
                            _ => CloseReason::ConsentWithdrawn,
                        };
                        steps.push((held + between(&mut rng, (3, 20)), Step::Close(reason)));
                    }
                }
            }
            // Steps keep their order; the first one after the end stops the plan there.
            let mut last = noticed;
            for (d, step) in steps {
                let d = d.max(last);
                if d >= end {
                    break;
                }
                last = d;
                events.push(Event {
                    day: d,
                    plan,
                    school: s,
                    step,
                });
            }
            plan += 1;
        }
    }
    events.sort_by_key(|e| e.day);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_starts_with_its_creation_and_keeps_its_order() {
        let end = day(2026, 1, 1);
        let events = schedule(end);
        assert_eq!(events, schedule(end), "the same year every run");
        let plans: usize = SCHOOLS.iter().map(|s| s.plans).sum();
        for p in 0..plans {
            let mine: Vec<&Event> = events.iter().filter(|e| e.plan == p).collect();
            assert!(matches!(mine[0].step, Step::Create { .. }), "plan {p}");
            assert!(mine.windows(2).all(|w| w[0].day <= w[1].day));
            assert!(mine.iter().all(|e| e.day < end));
        }
        let agreed = events
            .iter()
            .filter(|e| matches!(e.step, Step::Agree { .. }) && e.day >= day(2025, 10, 1))
            .count();
        assert!(
            agreed >= 10,
            "enough plans agreed in the last quarter: {agreed}"
        );
    }
}
