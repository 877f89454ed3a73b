//! Answering and checking indicator sets between in-process nodes: only readers get one, every
//! request is in the log, and a reader refuses a set re-signed by another key or one that shows a
//! withheld count.

use std::sync::Arc;

use kronobarn_indicators::{Missing, Quarter};
use kronobarn_proto::v1::{AccessAction, AccessRecord, Decision, LogEntry};
use prost::Message;

use super::*;
use crate::testkit::{County, create_plan};

const DAY: i64 = 86_400_000;

fn settings(readers: &[&str], tamper: Option<Tamper>) -> IndicatorSettings {
    IndicatorsConfig {
        readers: readers.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    }
    .settings("vaxjo", &[])
    .with_tamper(tamper)
}

impl IndicatorSettings {
    fn with_tamper(mut self, tamper: Option<Tamper>) -> Self {
        self.tamper = tamper;
        self
    }
}

/// The last access record in `node`'s log.
fn last_record(node: &Node) -> AccessRecord {
    let log = node.access_log_handle();
    let bytes = log
        .store()
        .get(&crate::keys::log(log.size() - 1))
        .unwrap()
        .unwrap();
    AccessRecord::decode(
        LogEntry::decode(bytes.as_slice())
            .unwrap()
            .record
            .as_slice(),
    )
    .unwrap()
}

/// A county where vaxjo has plans in a quarter that has ended.
async fn county() -> (County, IndicatorRequest) {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    for _ in 0..7 {
        create_plan(county.node("vaxjo"), "skola").await;
    }
    let q = Quarter::of(crate::node::swedish_day(county.node("vaxjo").now_ms()));
    county.advance(60 * DAY);
    (
        county,
        IndicatorRequest {
            first: q,
            last: q,
            threshold: 5,
        },
    )
}

#[tokio::test]
async fn a_reader_gets_a_signed_set_it_can_check_and_the_request_is_logged() {
    let (county, req) = county().await;
    let node = county.nodes["vaxjo"].node.clone();
    let sent = answer(&node, &settings(&["region"], None), "region", req.wire())
        .await
        .unwrap();
    let env = sent.indicator_set.unwrap();
    let member = county.roster.member("vaxjo").unwrap();
    let set = verify(member, &env, &req, node.now_ms()).unwrap();
    assert_eq!(
        (set.first, set.last, set.threshold),
        (req.first, req.last, 5)
    );
    let r = last_record(&node);
    assert_eq!(
        (
            r.organization.as_str(),
            r.plan_id.as_str(),
            r.purpose.as_str()
        ),
        ("region", "", PURPOSE)
    );
    assert_eq!(
        (r.action, r.decision),
        (AccessAction::Send as i32, Decision::Permit as i32)
    );
    assert_eq!(
        r.content_hash,
        hex::encode(Sha256::digest(&env.payload)),
        "the log commits to exactly what was sent"
    );
    // Signed by vaxjo, it is not region's set.
    let region = county.roster.member("region").unwrap();
    assert_eq!(
        verify(region, &env, &req, node.now_ms()).unwrap_err().0,
        Missing::BadSignature
    );
    // A reader asking for a lower threshold gets the node's.
    let low = IndicatorRequest {
        threshold: 2,
        ..req
    };
    let env = answer(&node, &settings(&["region"], None), "region", low.wire())
        .await
        .unwrap()
        .indicator_set
        .unwrap();
    assert_eq!(
        verify(member, &env, &low, node.now_ms()).unwrap().threshold,
        5
    );
}

#[tokio::test]
async fn anyone_else_is_refused_and_the_refusal_is_logged() {
    let (county, req) = county().await;
    let node = county.nodes["vaxjo"].node.clone();
    let before = node.access_log_handle().size();
    let e = answer(&node, &settings(&["region"], None), "polisen", req.wire())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert_eq!(node.access_log_handle().size(), before + 1);
    let r = last_record(&node);
    assert_eq!(
        (r.organization.as_str(), r.decision, r.reason.as_str()),
        ("polisen", Decision::Deny as i32, "not-indicator-reader")
    );
    // A quarter not yet ended is refused too, and so is one too long a period.
    let now = Quarter::of(crate::node::swedish_day(node.now_ms()));
    let running = IndicatorRequest {
        first: now,
        last: now,
        threshold: 5,
    };
    let e = answer(
        &node,
        &settings(&["region"], None),
        "region",
        running.wire(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    let mut long = req;
    for _ in 0..8 {
        long.first = long.first.prev();
    }
    let e = answer(&node, &settings(&["region"], None), "region", long.wire())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
}

#[tokio::test]
async fn a_reader_refuses_a_set_resigned_or_showing_a_withheld_count() {
    let (county, req) = county().await;
    let node: Arc<Node> = county.nodes["vaxjo"].node.clone();
    let member = county.roster.member("vaxjo").unwrap();
    for (tamper, why) in [
        (Tamper::Resign, Missing::BadSignature),
        (Tamper::Reveal, Missing::BrokeTheRules),
    ] {
        let env = answer(
            &node,
            &settings(&["region"], Some(tamper)),
            "region",
            req.wire(),
        )
        .await
        .unwrap()
        .indicator_set
        .unwrap();
        assert_eq!(
            verify(member, &env, &req, node.now_ms()).unwrap_err().0,
            why,
            "{tamper:?}"
        );
    }
    // Bytes that are not a set at all, properly signed.
    let env = node.sign(PayloadKind::IndicatorSet, b"{\"schema\":1}".to_vec());
    assert_eq!(
        verify(member, &env, &req, node.now_ms()).unwrap_err().0,
        Missing::Unreadable
    );
    // Another kind of envelope, signed by the member, is not a set either.
    let env = node.sign(PayloadKind::Checkpoint, b"x".to_vec());
    assert_eq!(
        verify(member, &env, &req, node.now_ms()).unwrap_err().0,
        Missing::BadSignature
    );
}

#[test]
fn home_figures_count_open_plans_by_stage_and_overdue_follow_ups() {
    use kronobarn_indicators::{
        AgeBand, AuthorityKind, CloseReason, Closure, FollowUp, PlanFacts, Stage, StageChange,
    };
    let plan =
        |changes: &[(i32, Stage)], closed: Option<i32>, ups: &[(i32, Option<i32>)]| PlanFacts {
            authority: "a".into(),
            authority_kind: AuthorityKind::School,
            municipality: "m".into(),
            age_band: AgeBand::Age6To12,
            need_noticed: 0,
            consent: None,
            agreed: None,
            stage_changes: changes
                .iter()
                .map(|(day, stage)| StageChange {
                    day: *day,
                    stage: *stage,
                })
                .collect(),
            closed: closed.map(|day| Closure {
                day,
                reason: CloseReason::GoalsMet,
            }),
            meetings: vec![],
            plan_given: None,
            follow_ups: ups
                .iter()
                .map(|(due, done)| FollowUp {
                    due: *due,
                    done: *done,
                })
                .collect(),
            handovers: vec![],
            revocations: vec![],
            grants: vec![],
        };
    let home = crate::node::HomeFacts {
        plans: vec![
            plan(&[], None, &[(5, None), (50, None)]),
            plan(&[(2, Stage::Talk)], None, &[(5, Some(6))]),
            plan(&[(2, Stage::Talk)], None, &[]),
            plan(&[(2, Stage::Closed)], Some(2), &[(5, None)]),
        ],
        today: 10,
        ..Default::default()
    };
    let f = home_figures(&home);
    assert_eq!(f.open[&Stage::NeedNoticed], 1);
    assert_eq!(f.open[&Stage::Talk], 2);
    assert_eq!(f.open[&Stage::Agreed], 0);
    assert_eq!(f.closed[&CloseReason::GoalsMet], 1);
    assert_eq!(
        f.overdue, 1,
        "only the open plans' passed, undone follow-ups"
    );
}

#[test]
fn home_figures_of_the_last_year_count_only_its_days() {
    use kronobarn_indicators::{AgeBand, AuthorityKind, Handover, Meeting, PlanFacts};
    let plan = |noticed: i32, agreed: Option<i32>, given: Option<i32>| PlanFacts {
        authority: "a".into(),
        authority_kind: AuthorityKind::School,
        municipality: "m".into(),
        age_band: AgeBand::Age6To12,
        need_noticed: noticed,
        consent: None,
        agreed,
        stage_changes: vec![],
        closed: None,
        meetings: vec![],
        plan_given: given,
        follow_ups: vec![],
        handovers: vec![],
        revocations: vec![],
        grants: vec![],
    };
    let today = 1000;
    let mut plans: Vec<PlanFacts> = (0..10)
        .map(|n| plan(800, Some(800 + 10 * (n + 1)), (n % 2 == 0).then_some(900)))
        .collect();
    // Agreed 400 days ago: not in the last year.
    plans.push(plan(500, Some(600), Some(600)));
    plans[0].meetings = vec![
        Meeting {
            day: 950,
            child_view_recorded: true,
            guardians_present: false,
        },
        Meeting {
            day: 960,
            child_view_recorded: false,
            guardians_present: true,
        },
        Meeting {
            day: 100,
            child_view_recorded: true,
            guardians_present: true,
        },
    ];
    plans[1].handovers = vec![Handover {
        day: 990,
        from: AuthorityKind::Preschool,
        to: AuthorityKind::School,
    }];
    plans[1].revocations = vec![999, 10];
    let home = crate::node::HomeFacts {
        plans,
        today,
        ..Default::default()
    };
    let y = home_figures(&home).last_year;
    assert_eq!((y.agreed, y.given), (10, 5));
    // Days to agreed: 10, 20, ..., 100.
    assert_eq!(y.days_to_agreed_median, Some(50));
    assert_eq!(y.days_to_agreed_p90, Some(90));
    assert_eq!((y.meetings, y.child_view, y.guardians_present), (2, 1, 1));
    assert_eq!((y.handovers, y.revocations), (1, 1));
    let none = home_figures(&crate::node::HomeFacts {
        today,
        ..Default::default()
    });
    assert_eq!(none.last_year.days_to_agreed_median, None);
}
