//! The client API's streams over in-memory nodes: follow-ups stream whatever the history, a
//! plan's watcher ends when its client or its need to know goes, every consent and revocation
//! shown to a watcher is decided and logged, and a client system's watchers are capped.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kronobarn_gateway::Backend;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Category, Contact, Decision, Fragment, Intervention, Revocation,
    WatchFollowUpsRequest, WatchPlanRequest, fragment::Body, watch_plan_response::Event,
};
use prost::Message;
use tokio::time::timeout;

use super::Node;
use crate::keys;
use crate::store::Store;
use crate::testkit::{County, actor, add_participant, client_api, consent, create_plan, request};

fn intervention(plan_id: &str, what: &str, follow_up: &str) -> Fragment {
    Fragment {
        plan_id: plan_id.to_string(),
        body: Some(Body::Intervention(Intervention {
            what: what.into(),
            who: "Skolans kurator".into(),
            from_date: "2026-01-01".into(),
            follow_up_date: follow_up.into(),
            responsible: Some(Contact {
                name: "Kurator Påhittad".into(),
                ..Default::default()
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Receivers of a plan's change events at `node`: one per running WatchPlan task.
fn plan_receivers(node: &Node, plan_id: &str) -> usize {
    node.watchers
        .lock()
        .unwrap()
        .get(plan_id)
        .map_or(0, |tx| tx.receiver_count())
}

/// The dates of `plan_id`'s entries in the follow-up index of `store`.
fn due_dates(store: &dyn Store, plan_id: &str) -> Vec<String> {
    store
        .scan(keys::DUE, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|(k, _)| keys::due_parts(&k))
        .filter(|(_, p, _)| p == plan_id)
        .map(|(d, _, _)| d)
        .collect()
}

/// Every access record about `plan_id` at `node`.
fn records(node: &Node, plan_id: &str) -> Vec<AccessRecord> {
    node.access_log(plan_id, None, 100_000)
        .unwrap()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .collect()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_streams_every_overdue_follow_up_and_then_new_ones_whatever_the_history() {
    let county = County::new(&["vaxjo"]);
    let node = county.nodes["vaxjo"].node.clone();
    let who = actor("vaxjo", "skola");
    // 600 follow-ups fell due before today (2026-11-26) and were never held.
    let mut plans = Vec::new();
    for _ in 0..6 {
        plans.push(create_plan(&node, "skola").await.plan_id);
    }
    for i in 0..600 {
        let date = format!("2026-{:02}-{:02}", 1 + i % 10, 1 + i % 28);
        let f = intervention(&plans[i % 6], &format!("Stöd {i}"), &date);
        node.put_fragment(&who, f, None).await.unwrap();
    }
    let api = client_api(&node);
    let mut stream = api
        .watch_follow_ups(request(WatchFollowUpsRequest {}, "mentor", "skola"))
        .await
        .unwrap()
        .into_inner();
    let mut seen = HashSet::new();
    timeout(Duration::from_secs(10), async {
        while seen.len() < 600 {
            let f = stream.next().await.unwrap().unwrap().follow_up.unwrap();
            assert!(f.overdue && !f.done, "{f:?}");
            assert!(seen.insert((f.plan_id, f.fragment_id)), "sent twice");
        }
    })
    .await
    .expect("every overdue follow-up is streamed at once, not only the first page");
    // A follow-up written now, due today, still reaches the watcher.
    let new = node
        .put_fragment(&who, intervention(&plans[0], "Ny", "2026-11-26"), None)
        .await
        .unwrap();
    let got = timeout(Duration::from_secs(10), async {
        stream.next().await.unwrap().unwrap().follow_up.unwrap()
    })
    .await
    .expect("a new follow-up is streamed after a long history");
    assert_eq!(got.fragment_id, new.fragment.fragment_id);
    assert!(!got.overdue);
}

#[tokio::test]
async fn a_plan_watcher_whose_client_left_ends_without_waiting_for_an_event() {
    let county = County::new(&["vaxjo"]);
    let node = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&node, "skola").await.plan_id;
    let api = client_api(&node);
    let stream = api
        .watch_plan(request(
            WatchPlanRequest {
                plan_id: plan.clone(),
            },
            "mentor",
            "skola",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan_receivers(&node, &plan), 1);
    drop(stream);
    eventually("the watch task to end", || {
        plan_receivers(&node, &plan) == 0
    })
    .await;
}

#[tokio::test]
async fn a_plan_watcher_ends_when_its_unit_loses_the_plan() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Participants, Category::Interventions])],
    )
    .await;
    county.settle_all(4).await;
    let region = county.nodes["region"].node.clone();
    let api = client_api(&region);
    let mut stream = api
        .watch_plan(request(
            WatchPlanRequest {
                plan_id: plan.clone(),
            },
            "psykolog",
            "bup",
        ))
        .await
        .unwrap()
        .into_inner();
    // The guardian withdraws the region's part: the region purges its copies.
    home.record_revocation(
        &actor("vaxjo", "skola"),
        Revocation {
            plan_id: plan.clone(),
            withdrawn_by: "g1".into(),
            organizations: vec!["region".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    county.settle_all(4).await;
    let items = timeout(Duration::from_secs(5), stream.by_ref().collect::<Vec<_>>())
        .await
        .expect("the stream ends once the unit takes no part in the plan");
    assert_eq!(items.len(), 1, "nothing more is shown: {items:?}");
    let end = items[0].as_ref().unwrap_err();
    assert_eq!(end.code(), tonic::Code::PermissionDenied, "{end:?}");
    assert!(end.message().starts_with("not-participant"), "{end:?}");
    eventually("the watch task to end", || {
        plan_receivers(&region, &plan) == 0
    })
    .await;
}

#[tokio::test]
async fn each_consent_and_revocation_shown_to_a_watcher_is_an_access_record() {
    let county = County::new(&["vaxjo", "region"]);
    let node = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&node, "skola").await.plan_id;
    let api = client_api(&node);
    let mut stream = api
        .watch_plan(request(
            WatchPlanRequest {
                plan_id: plan.clone(),
            },
            "mentor",
            "skola",
        ))
        .await
        .unwrap()
        .into_inner();
    let shown_to_mentor = |kind: &str| {
        records(&node, &plan)
            .into_iter()
            .filter(|r| {
                r.user_id == "mentor"
                    && r.fragment_id == kind
                    && r.action == AccessAction::Read as i32
                    && r.decision == Decision::Permit as i32
            })
            .collect::<Vec<_>>()
    };
    let recorded = consent(
        &node,
        "skola",
        &plan,
        &[("region", &[Category::Participants])],
    )
    .await;
    let next = timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(next.event, Some(Event::Consent(_))), "{next:?}");
    let logged = shown_to_mentor("consent");
    assert_eq!(logged.len(), 1, "one record for the consent shown");
    assert_eq!(logged[0].consent_version, recorded.consent_version);
    assert_eq!(logged[0].unit, "skola");

    node.record_revocation(
        &actor("vaxjo", "skola"),
        Revocation {
            plan_id: plan.clone(),
            withdrawn_by: "g1".into(),
            organizations: vec!["region".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let next = timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(next.event, Some(Event::Revocation(_))), "{next:?}");
    assert_eq!(
        shown_to_mentor("consent").len(),
        2,
        "and one for the revocation shown"
    );
}

#[tokio::test]
async fn a_client_system_may_hold_64_watch_streams_and_no_more() {
    let county = County::new(&["vaxjo"]);
    let node = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&node, "skola").await.plan_id;
    let api = client_api(&node);
    let watch_plan = || {
        request(
            WatchPlanRequest {
                plan_id: plan.clone(),
            },
            "mentor",
            "skola",
        )
    };
    let mut plan_streams = Vec::new();
    let mut follow_up_streams = Vec::new();
    for i in 0..64 {
        if i % 2 == 0 {
            plan_streams.push(api.watch_plan(watch_plan()).await.ok().unwrap());
        } else {
            let s = api
                .watch_follow_ups(request(WatchFollowUpsRequest {}, "mentor", "skola"))
                .await
                .ok()
                .unwrap();
            follow_up_streams.push(s);
        }
    }
    let e = api.watch_plan(watch_plan()).await.err().expect("refused");
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("64"), "the cap is named: {e:?}");
    // A stream that ends frees its place.
    drop(follow_up_streams.pop());
    let mut again = None;
    for _ in 0..500 {
        if let Ok(s) = api.watch_plan(watch_plan()).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "a closed stream frees its place");
}

#[tokio::test]
async fn a_received_copy_leaves_no_stale_follow_ups_behind_after_a_change_a_purge_or_a_restart() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let who = actor("vaxjo", "skola");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Participants, Category::Interventions])],
    )
    .await;
    let first = home
        .put_fragment(&who, intervention(&plan, "Stöd", "2026-12-10"), None)
        .await
        .unwrap();
    county.settle_all(4).await;
    let region = &county.nodes["region"];
    assert_eq!(due_dates(region.store.as_ref(), &plan), ["2026-12-10"]);
    // The home moves the follow-up: the region's index moves with its copy.
    let mut moved = first.fragment.clone();
    if let Some(Body::Intervention(iv)) = &mut moved.body {
        iv.follow_up_date = "2026-12-20".into();
    }
    let read = moved.version;
    home.put_fragment(&who, moved, read).await.unwrap();
    county.settle_all(4).await;
    assert_eq!(
        due_dates(region.store.as_ref(), &plan),
        ["2026-12-20"],
        "the old date left the receiver's index"
    );
    // The guardian withdraws the region's part: the purge takes the copy's entries too.
    home.record_revocation(
        &who,
        Revocation {
            plan_id: plan.clone(),
            withdrawn_by: "g1".into(),
            organizations: vec!["region".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    county.settle_all(4).await;
    assert!(due_dates(region.store.as_ref(), &plan).is_empty());
    // What was acknowledged is what a restart finds.
    let after = region.store.crash();
    assert!(due_dates(after.as_ref(), &plan).is_empty());
    let reopened = Arc::new(
        Node::open_with_clock(
            "region".into(),
            after,
            region.key.clone(),
            crate::clock::Clock::manual(crate::testkit::START_MS).0,
        )
        .unwrap(),
    );
    assert!(
        reopened
            .follow_ups_due("", None, "2027-12-31", 100)
            .unwrap()
            .is_empty()
    );
}
