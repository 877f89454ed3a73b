//! Retention on in-process nodes with hand-moved clocks: each authority's records of a closed plan
//! go when its rule says, copies go at closing, nothing personal is left behind, and a crash
//! between two plans' batches loses nothing a second run does not finish.

use std::sync::Arc;

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{AccessRecord, AdvancePlanRequest, Category, PlanStage};
use prost::Message;

use crate::node::{Node, Retention};
use crate::testkit::{
    County, actor, add_participant, client_api, consent, create_plan, request, write_intervention,
};

const DAY: i64 = 86_400_000;

fn rules(days: &[(&str, u32)], default_days: Option<u32>) -> Retention {
    Retention {
        by_authority: days.iter().map(|(a, d)| (a.to_string(), *d)).collect(),
        default_days,
    }
}

async fn close(node: &Arc<Node>, plan: &str) {
    client_api(node)
        .advance_plan(request(
            AdvancePlanRequest {
                plan_id: plan.into(),
                to: PlanStage::Closed as i32,
                reason: "the child's needs are met".into(),
                ..Default::default()
            },
            "user.skola",
            "skola",
        ))
        .await
        .expect("closed");
}

/// Every key and value of the node's store that names the plan or holds personal data, outside
/// the access log and the tombstone.
fn left_of(node: &Node, plan: &str) -> Vec<String> {
    node.scan(b"", None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| {
            !(k.starts_with(b"log/")
                || k.starts_with(b"loghead/")
                || k.starts_with(b"tomb/")
                || k.starts_with(b"feed/")
                || k.starts_with(b"receipt/"))
        })
        .filter(|(k, v)| {
            let (k, v) = (String::from_utf8_lossy(k), String::from_utf8_lossy(v));
            k.contains(plan) || v.contains("Testbarn") || v.contains("TESTKIT-")
        })
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

fn retention_records(node: &Node, plan: &str) -> usize {
    node.access_log(plan, None, 10_000)
        .unwrap()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.reason == "retention")
        .count()
}

#[tokio::test]
async fn each_authority_keeps_its_records_as_long_as_its_rule_says() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&home, "skola").await.plan_id;
    add_participant(&home, "skola", &plan, "vaxjo", "elevhalsan").await;
    add_participant(&home, "skola", &plan, "region", "bup").await;
    consent(
        &home,
        "skola",
        &plan,
        &[(
            "region",
            &[
                Category::Identity,
                Category::Participants,
                Category::Interventions,
            ],
        )],
    )
    .await;
    county.settle_all(5).await;
    write_intervention(&home, "elevhalsan", &plan, "Samtal med kurator").await;
    let region = county.nodes["region"].node.clone();
    write_intervention(&region, "bup", &plan, "Samtal på BUP").await;
    county.settle_all(5).await;
    close(&home, &plan).await;
    county.settle_all(5).await;

    let vaxjo_rules = rules(&[("vaxjo-skola", 30), ("vaxjo/elevhalsan", 60)], None);
    let region_rules = rules(&[], Some(10));
    // At closing the region's copies went; its own record stays ten days.
    assert!(
        region
            .gallring(&region_rules, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(home.gallring(&vaxjo_rules, false).await.unwrap().is_empty());

    county.advance(11 * DAY);
    let dry = region.gallring(&region_rules, true).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert!(dry[0].complete && dry[0].fragments == 1, "{dry:?}");
    assert!(
        region.load_plan(&plan).unwrap().is_some(),
        "a dry run deletes nothing"
    );
    let done = region.gallring(&region_rules, false).await.unwrap();
    assert_eq!(done, dry);
    assert!(region.load_plan(&plan).unwrap().is_none());
    assert_eq!(left_of(&region, &plan), Vec::<String>::new());
    let tomb = region.tombstone(&plan).unwrap().expect("tombstone");
    assert!(tomb.complete);
    assert_eq!(tomb.rules[0].authority, "region/bup");
    assert_eq!(tomb.rules[0].days, 10);
    assert_eq!(
        retention_records(&region, &plan),
        2,
        "the record and the plan"
    );
    assert!(
        home.gallring(&vaxjo_rules, true).await.unwrap().is_empty(),
        "Växjö's rules have not run out"
    );

    // Day 31: the school's records go, student health's stay.
    county.advance(20 * DAY);
    let partial = home.gallring(&vaxjo_rules, false).await.unwrap();
    assert_eq!(partial.len(), 1);
    assert!(!partial[0].complete, "{partial:?}");
    let held = home
        .load_plan(&plan)
        .unwrap()
        .expect("the plan is still held");
    assert!(held.header.is_none(), "the school's header went");
    assert_eq!(
        held.fragments.len(),
        1,
        "student health's intervention stays"
    );
    assert!(!home.tombstone(&plan).unwrap().unwrap().complete);

    // Day 61: nothing is left but the tombstone and the log.
    county.advance(30 * DAY);
    let last = home.gallring(&vaxjo_rules, false).await.unwrap();
    assert!(last[0].complete, "{last:?}");
    assert_eq!(left_of(&home, &plan), Vec::<String>::new());
    let tomb = home.tombstone(&plan).unwrap().unwrap();
    let authorities: Vec<_> = tomb.rules.iter().map(|r| r.authority.as_str()).collect();
    assert_eq!(authorities, ["vaxjo-skola", "vaxjo/elevhalsan"]);
    assert_eq!(tomb.closed_on, "2026-11-26");
    // The log is evidence and stays whole.
    crate::accesslog::verify_store(
        home.access_log_handle().store(),
        "vaxjo",
        Default::default(),
        |_| {},
    )
    .expect("the log verifies after retention");
    assert!(home.gallring(&vaxjo_rules, false).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_rule_an_authority_keeps_its_records() {
    let county = County::new(&["vaxjo"]);
    let home = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&home, "skola").await.plan_id;
    close(&home, &plan).await;
    county.advance(10_000 * DAY);
    assert!(
        home.gallring(&Retention::default(), false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(home.load_plan(&plan).unwrap().is_some());
}

#[tokio::test]
async fn a_crash_between_two_plans_loses_nothing_a_second_run_does_not_finish() {
    let county = County::new(&["vaxjo"]);
    let t = &county.nodes["vaxjo"];
    let home = t.node.clone();
    let mut plans = Vec::new();
    for _ in 0..2 {
        let p = create_plan(&home, "skola").await.plan_id;
        home.put_fragment(
            &actor("vaxjo", "skola"),
            crate::testkit::intervention(&p, "Rastvärd"),
            None,
        )
        .await
        .unwrap();
        close(&home, &p).await;
        plans.push(p);
    }
    county.advance(2 * DAY);
    let r = rules(&[], Some(1));
    let before = t.store.batches();
    assert_eq!(home.gallring(&r, false).await.unwrap().len(), 2);
    // The process dies right after the first plan's batch.
    let store = t.store.crash_after(before + 1);
    let node = Node::open_with_clock("vaxjo".into(), store, t.key.clone(), t.clock.clone())
        .expect("the log opens intact");
    crate::testkit::configure(&node, &["vaxjo"]);
    let gone: Vec<bool> = plans
        .iter()
        .map(|p| node.load_plan(p).unwrap().is_none())
        .collect();
    assert_eq!(gone.iter().filter(|g| **g).count(), 1, "{gone:?}");
    let again = node.gallring(&r, false).await.unwrap();
    assert_eq!(again.len(), 1);
    for p in &plans {
        assert!(node.load_plan(p).unwrap().is_none());
        assert_eq!(left_of(&node, p), Vec::<String>::new());
        assert!(node.tombstone(p).unwrap().unwrap().complete);
    }
}
