//! The facts a node builds from its own records, on in-process nodes with hand-moved clocks: a
//! plan through the practice model, only plans at home counted (and a handed-over plan at its new
//! home), the plan given to the family, and nothing personal in any of it.

use kronobarn_gateway::{Actor, Backend};
use kronobarn_indicators::{
    AgeBand, AuthorityKind, CloseReason, Closure, FollowUp, Handover, Meeting, Stage,
};
use kronobarn_proto::v1::{
    self, AccessAction, Category, CoordinationMeeting, Decision, FollowUpRecord, Fragment,
    PlanStatus, StageChange, fragment::Body,
};

use super::{Counting, day_of_ms};
use crate::directory::{AuthorityEntry, UnitEntry};
use crate::node::Node;
use crate::testkit::{
    County, START_MS, actor, add_participant, consent, create_plan, revoke, write_intervention,
};

const DAY: i64 = 86_400_000;

fn entries(org: &str) -> Vec<AuthorityEntry> {
    let authority =
        |suffix: &str, kind: &str, units: &[&str], municipality: Option<&str>| AuthorityEntry {
            id: format!("{org}-{suffix}"),
            kind: kind.into(),
            name: suffix.into(),
            whole_organization: false,
            units: units
                .iter()
                .map(|u| UnitEntry {
                    id: u.to_string(),
                    serves: Vec::new(),
                    municipality: None,
                    contact: None,
                })
                .collect(),
            municipality: municipality.map(str::to_string),
        };
    if org == "region" {
        vec![authority(
            "bup",
            "child-psychiatry",
            &["bup"],
            Some("ljungby"),
        )]
    } else {
        vec![
            authority("skola", "school", &["skola", "elevhalsan"], None),
            authority("social", "social-services", &["ifo"], None),
        ]
    }
}

/// A county of `orgs` whose nodes share one directory of the test authorities.
pub(super) fn county(orgs: &[&str]) -> County {
    let mut dir = kronobarn_policy::Directory::new();
    for o in orgs {
        crate::directory::add(&mut dir, o, &entries(o)).unwrap();
    }
    County::with(orgs, |node, _| {
        node.set_rules(dir.clone(), kronobarn_policy::ConsentRules::default());
        // These tests follow plans through every kind of responsible unit.
        node.set_responsibility(
            kronobarn_policy::responsibility::Exceptions {
                kinds: kronobarn_policy::KindSet::ALL,
                ..Default::default()
            },
            Vec::new(),
        );
        node.prepare_indexes().expect("indexes");
    })
}

pub(super) fn counting(org: &str) -> Counting {
    Counting::new(org, (org == "vaxjo").then_some("vaxjo"), &entries(org))
}

fn status(plan_id: &str, steps: &[(i64, v1::PlanStage, v1::CloseReason)]) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        fragment_id: kronobarn_proto::ids::STATUS_FRAGMENT_ID.into(),
        body: Some(Body::Status(PlanStatus {
            history: steps
                .iter()
                .map(|(at, stage, reason)| StageChange {
                    stage: *stage as i32,
                    at_unix_ms: *at,
                    changed_by: "rektor".into(),
                    reason: "Barnet har flyttat till Malmö".into(),
                    close_reason: *reason as i32,
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    }
}

/// Writes `f` at `node` as `unit`, replacing what is there.
pub(super) async fn put(node: &Node, unit: &str, f: Fragment) -> String {
    let current = node
        .load_plan(&f.plan_id)
        .unwrap()
        .and_then(|v| {
            v.fragments
                .into_iter()
                .find(|x| !f.fragment_id.is_empty() && x.fragment.fragment_id == f.fragment_id)
        })
        .and_then(|x| x.fragment.version);
    node.put_fragment(&actor(node.organization_id(), unit), f, current)
        .await
        .unwrap()
        .fragment
        .fragment_id
}

/// Closes the plan at vaxjo through the client API, as the responsible school.
async fn close(county: &County, plan: &str, words: &str, reason: v1::CloseReason) {
    use kronobarn_proto::v1::plan_service_server::PlanService;
    let api = crate::testkit::client_api(&county.nodes["vaxjo"].node);
    api.advance_plan(crate::testkit::request(
        v1::AdvancePlanRequest {
            plan_id: plan.into(),
            to: v1::PlanStage::Closed as i32,
            reason: words.into(),
            close_reason: reason as i32,
            ..Default::default()
        },
        "rektor",
        "skola",
    ))
    .await
    .unwrap();
}

pub(super) fn date(day_ms: i64) -> String {
    let (y, m, d) = kronobarn_proto::date::swedish_date(day_ms);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(super) fn export_record(actor: &Actor, plan_id: &str, at: i64, what: &str) -> v1::AccessRecord {
    kronobarn_gateway::record::by_user(
        actor,
        at,
        plan_id,
        what,
        AccessAction::Read,
        Decision::Permit,
        "participant",
    )
}

#[tokio::test]
async fn a_plan_through_the_model_becomes_its_facts_with_nothing_personal() {
    let county = county(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let day0 = START_MS;
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    let at = |d: i64| day0 + d * DAY;
    let steps = |n: usize| {
        let all = [
            (at(3), v1::PlanStage::Talk, v1::CloseReason::Unspecified),
            (at(10), v1::PlanStage::Consent, v1::CloseReason::Unspecified),
            (
                at(12),
                v1::PlanStage::MeetingCalled,
                v1::CloseReason::Unspecified,
            ),
            (at(21), v1::PlanStage::Agreed, v1::CloseReason::Unspecified),
        ];
        all[..n].to_vec()
    };
    put(home, "skola", status(&plan, &steps(1))).await;
    county.advance(10 * DAY);
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Meetings, Category::Interventions])],
    )
    .await;
    put(home, "skola", status(&plan, &steps(3))).await;
    county.advance(10 * DAY);
    let meeting = Fragment {
        plan_id: plan.clone(),
        body: Some(Body::Meeting(CoordinationMeeting {
            held_on: date(at(20)),
            attendees: vec!["Rektor Påhittad".into()],
            child_view: "Jag vill ha lugnare raster.".into(),
            guardians_view: "Vi är oroliga.".into(),
            guardians_present: true,
            ..Default::default()
        })),
        ..Default::default()
    };
    put(home, "skola", meeting).await;
    county.advance(DAY);
    put(home, "skola", status(&plan, &steps(4))).await;
    // The plan handed to the guardians the next day; a coordination copy does not count.
    county.advance(DAY);
    let rektor = actor("vaxjo", "skola");
    let mut for_family = rektor.clone();
    for_family.purpose = "guardian-copy".into();
    home.log_access(vec![export_record(&rektor, &plan, at(22), "document")])
        .await
        .unwrap();
    assert!(home.get(&crate::keys::given(&plan)).unwrap().is_none());
    home.log_access(vec![export_record(&for_family, &plan, at(22), "document")])
        .await
        .unwrap();
    // An intervention followed up on day 50, held on day 52; the plan's own on day 60, never.
    let mut iv = crate::testkit::intervention(&plan, "Stöd på raster");
    if let Some(Body::Intervention(i)) = &mut iv.body {
        i.follow_up_date = date(at(50));
    }
    let iv = put(home, "skola", iv).await;
    let mut header = crate::testkit::header("skola");
    header.follow_up_dates = vec![date(at(60))];
    put(
        home,
        "skola",
        Fragment {
            plan_id: plan.clone(),
            fragment_id: "header".into(),
            body: Some(Body::Header(header)),
            ..Default::default()
        },
    )
    .await;
    county.advance(30 * DAY);
    put(
        home,
        "skola",
        Fragment {
            plan_id: plan.clone(),
            body: Some(Body::FollowUp(FollowUpRecord {
                held_on: date(at(52)),
                intervention_fragment_id: iv,
                outcome: "Det går bättre.".into(),
                ..Default::default()
            })),
            ..Default::default()
        },
    )
    .await;
    county.advance(18 * DAY);
    revoke(home, "skola", &plan, &["region"]).await;
    county.advance(10 * DAY);
    // Closed through the client API, which also withdraws every grant.
    close(
        &county,
        &plan,
        "Familjen har flyttat till Malmö",
        v1::CloseReason::MovedAway,
    )
    .await;
    county.advance(5 * DAY);

    let facts = home.home_facts(&counting("vaxjo")).unwrap();
    assert_eq!(facts.plans.len(), 1);
    let f = &facts.plans[0];
    let d = |n: i64| day_of_ms(at(n));
    assert_eq!(
        (
            f.authority.as_str(),
            f.authority_kind,
            f.municipality.as_str()
        ),
        ("vaxjo-skola", AuthorityKind::School, "vaxjo")
    );
    // 20170101-2393, noticed in November 2026: nine years old.
    assert_eq!(f.age_band, AgeBand::Age6To12);
    assert_eq!(f.need_noticed, d(0));
    assert_eq!(f.consent, Some(d(10)));
    assert_eq!(f.agreed, Some(d(21)));
    let stages: Vec<Stage> = f.stage_changes.iter().map(|c| c.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Talk,
            Stage::Consent,
            Stage::MeetingCalled,
            Stage::Agreed,
            Stage::Closed
        ]
    );
    assert_eq!(
        f.closed,
        Some(Closure {
            day: d(80),
            reason: CloseReason::MovedAway
        })
    );
    assert_eq!(
        f.meetings,
        [Meeting {
            day: d(20),
            child_view_recorded: true,
            guardians_present: true
        }]
    );
    assert_eq!(f.plan_given, Some(d(22)));
    let mut ups = f.follow_ups.clone();
    ups.sort_by_key(|u| u.due);
    assert_eq!(
        ups,
        [
            FollowUp {
                due: d(50),
                done: Some(d(52))
            },
            FollowUp {
                due: d(60),
                done: None
            }
        ]
    );
    assert_eq!(
        f.revocations,
        [d(70)],
        "the closing's withdrawal is not a guardian's"
    );
    assert!(f.grants.iter().any(|g| g.day == d(10)
        && g.category == kronobarn_indicators::Category::Meetings
        && g.to == AuthorityKind::ChildPsychiatry));
    assert!(facts.authorities.iter().any(|a| a.id == "vaxjo-social"));
    // Nothing personal, no id, no free text, no date: only slugs, enums and day numbers.
    let text = format!("{facts:?}");
    for personal in [
        "20170101",
        "2393",
        "Testbarn",
        "Påhittad",
        "raster",
        "oroliga",
        "Malmö",
        "2026-",
        plan.as_str(),
    ] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
}

#[tokio::test]
async fn a_plan_is_counted_at_its_home_only_and_moves_with_a_handover() {
    let county = county(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Identity, Category::Participants])],
    )
    .await;
    county.settle_all(4).await;
    let region = county.node("region");
    assert!(
        region.load_plan(&plan).unwrap().is_some(),
        "region holds a copy"
    );
    assert_eq!(home.home_facts(&counting("vaxjo")).unwrap().plans.len(), 1);
    assert_eq!(
        region.home_facts(&counting("region")).unwrap().plans.len(),
        0
    );

    county.advance(5 * DAY);
    home.offer_handover(
        &actor("vaxjo", "skola"),
        v1::Handover {
            plan_id: plan.clone(),
            to_organization: "region".into(),
            to_unit: "bup".into(),
            to_contact: Some(v1::Contact {
                name: "Psykolog Påhittad".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    county.settle_all(4).await;
    region
        .accept_handover(&actor("region", "bup"), &plan)
        .await
        .unwrap();
    county.settle_all(4).await;
    assert_eq!(home.home_facts(&counting("vaxjo")).unwrap().plans.len(), 0);
    // The new home rewrites the header naming its own unit.
    let mut header = crate::testkit::header("bup");
    header.responsible_organization = "region".into();
    put(
        region,
        "bup",
        Fragment {
            plan_id: plan.clone(),
            fragment_id: "header".into(),
            body: Some(Body::Header(header)),
            ..Default::default()
        },
    )
    .await;
    let facts = region.home_facts(&counting("region")).unwrap();
    assert_eq!(facts.plans.len(), 1);
    let f = &facts.plans[0];
    assert_eq!(
        (f.authority.as_str(), f.municipality.as_str()),
        ("region-bup", "ljungby")
    );
    // Counted from the day the need was noticed at the first home, history included.
    assert_eq!(f.need_noticed, day_of_ms(START_MS));
    assert_eq!(
        f.handovers,
        [Handover {
            day: day_of_ms(START_MS + 5 * DAY),
            from: AuthorityKind::School,
            to: AuthorityKind::ChildPsychiatry
        }]
    );
}

#[tokio::test]
async fn an_indicator_set_counts_the_plans_of_an_ended_quarter() {
    let county = county(&["vaxjo"]);
    let home = county.node("vaxjo");
    for _ in 0..6 {
        create_plan(home, "skola").await;
    }
    create_plan(home, "ifo").await;
    let q = kronobarn_indicators::Quarter::of(day_of_ms(START_MS));
    // The quarter has not ended yet: refused.
    assert!(matches!(
        home.indicator_set(&counting("vaxjo"), q, q, 1),
        Err(super::IndicatorError::Compute(
            kronobarn_indicators::Error::QuarterNotEnded(_)
        ))
    ));
    county.advance(60 * DAY);
    let set = home.indicator_set(&counting("vaxjo"), q, q, 1).unwrap();
    set.check().unwrap();
    // The node's set is the crate's over the node's own facts, for every declared authority.
    let facts = home.home_facts(&counting("vaxjo")).unwrap();
    assert_eq!(facts.plans.len(), 7);
    let params = kronobarn_indicators::Params {
        authorities: facts.authorities.clone(),
        first: q,
        last: q,
        today: facts.today,
        threshold: 1,
    };
    assert_eq!(
        kronobarn_indicators::compute(&facts.plans, &params).unwrap(),
        set
    );
    use kronobarn_indicators::{Level, Value};
    assert!(set.levels().contains(&Level::Authority {
        municipality: "vaxjo".into(),
        id: "vaxjo-social".into(),
        kind: AuthorityKind::SocialServices
    }));
    let opened = |set: &kronobarn_indicators::IndicatorSet, id: &str, kind| {
        set.value(
            kronobarn_indicators::TableId::Opened,
            q,
            &Level::Authority {
                municipality: "vaxjo".into(),
                id: id.into(),
                kind,
            },
            kronobarn_indicators::Breakdown::AgeBand(AgeBand::Age6To12),
        )
    };
    assert_eq!(
        opened(&set, "vaxjo-skola", AuthorityKind::School),
        Some(Value::Count(6))
    );
    // With the default threshold the one plan of social services is withheld.
    let set = home.indicator_set(&counting("vaxjo"), q, q, 5).unwrap();
    assert_eq!(
        opened(&set, "vaxjo-social", AuthorityKind::SocialServices),
        Some(Value::Suppressed)
    );
}

#[tokio::test]
async fn a_closing_in_words_alone_counts_as_other() {
    let county = county(&["vaxjo"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    close(
        &county,
        &plan,
        "Barnet har fått stöd på annat sätt",
        v1::CloseReason::Unspecified,
    )
    .await;
    let plan2 = create_plan(home, "skola").await.plan_id;
    close(&county, &plan2, "", v1::CloseReason::GoalsMet).await;
    let facts = home.home_facts(&counting("vaxjo")).unwrap();
    let mut reasons: Vec<CloseReason> = facts
        .plans
        .iter()
        .filter_map(|f| f.closed.map(|c| c.reason))
        .collect();
    reasons.sort();
    assert_eq!(reasons, [CloseReason::GoalsMet, CloseReason::Other]);
    // The category is stored with the step, for every reader of the status.
    let stored = home.load_plan(&plan2).unwrap().unwrap();
    let last = stored
        .fragments
        .iter()
        .find_map(|f| match &f.fragment.body {
            Some(Body::Status(s)) => s.history.last().cloned(),
            _ => None,
        });
    assert_eq!(
        last.map(|c| c.close_reason),
        Some(v1::CloseReason::GoalsMet as i32)
    );
}

#[test]
fn unknown_units_and_odd_ids_still_make_slugs() {
    assert_eq!(super::build::slug("vaxjo-kommun"), "vaxjo-kommun");
    assert_eq!(super::build::slug("Org_1.x"), "org-1-x");
    assert_eq!(super::build::slug("2024kommun"), "x-2024kommun");
    let s = super::build::slug("unit-20170101");
    assert!(kronobarn_indicators::is_slug(&s), "{s}");
}

#[tokio::test]
async fn an_intervention_written_elsewhere_is_followed_up_at_home() {
    // Written at the region under consent, received at home: its follow-up counts at home.
    let county = county(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan,
        &[
            (
                "region",
                &[
                    Category::Identity,
                    Category::Participants,
                    Category::Interventions,
                ],
            ),
            ("vaxjo", &[Category::Interventions]),
        ],
    )
    .await;
    county.settle_all(4).await;
    county.renew_lease("region", &plan).unwrap();
    write_intervention(county.node("region"), "bup", &plan, "Samtal på BUP").await;
    county.settle_all(4).await;
    let f = home.home_facts(&counting("vaxjo")).unwrap();
    let due = kronobarn_proto::date::parse_date("2027-01-15").unwrap();
    let due = kronobarn_proto::date::days_from_civil(due.0, due.1, due.2) as i32;
    assert_eq!(f.plans[0].follow_ups, [FollowUp { due, done: None }]);
}
