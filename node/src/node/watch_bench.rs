//! What watchers cost a writer: process CPU time per write with 100 follow-up watchers open over
//! a node with a history of follow-ups, against none. Ignored by default; run with
//! `cargo test -p kronobarn-node --lib watch_bench -- --ignored --nocapture`.

use std::time::Duration;

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    FollowUpRecord, Fragment, Intervention, WatchFollowUpsRequest, fragment::Body,
};

use crate::testkit::{County, actor, client_api, create_plan, request};

/// User plus system CPU time of this process, in ms.
fn cpu_ms() -> f64 {
    crate::work::process_cpu().as_secs_f64() * 1e3
}

fn fragment(plan_id: &str, body: Body) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        body: Some(body),
        ..Default::default()
    }
}

/// CPU ms per write over `writes` writes a quarter second apart, with `watchers` open.
async fn per_write(watchers: usize, writes: usize) -> f64 {
    let county = County::new(&["vaxjo"]);
    let node = county.nodes["vaxjo"].node.clone();
    let who = actor("vaxjo", "skola");
    // History: 60 plans, each with 10 follow-ups due before today, all of them held.
    let mut plans = Vec::new();
    for p in 0..60 {
        let plan = create_plan(&node, "skola").await.plan_id;
        for i in 0..10 {
            let date = format!("2026-{:02}-{:02}", 1 + (p + i) % 10, 1 + i);
            let iv = node
                .put_fragment(
                    &who,
                    fragment(
                        &plan,
                        Body::Intervention(Intervention {
                            what: format!("Stöd {i}"),
                            who: "Kurator".into(),
                            from_date: "2026-01-01".into(),
                            follow_up_date: date.clone(),
                            ..Default::default()
                        }),
                    ),
                    None,
                )
                .await
                .unwrap();
            let held = FollowUpRecord {
                held_on: date,
                intervention_fragment_id: iv.fragment.fragment_id,
                outcome: "Genomförd".into(),
                next_follow_up_date: String::new(),
            };
            node.put_fragment(&who, fragment(&plan, Body::FollowUp(held)), None)
                .await
                .unwrap();
        }
        plans.push(plan);
    }
    // One system holding every watcher: above the default cap of 64 on purpose.
    let api = client_api(&node).with_max_watchers_per_client(watchers.max(1));
    let mut open = Vec::new();
    for _ in 0..watchers {
        open.push(
            api.watch_follow_ups(request(WatchFollowUpsRequest {}, "mentor", "skola"))
                .await
                .ok()
                .unwrap(),
        );
    }
    // Let every watcher's first look settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = cpu_ms();
    for w in 0..writes {
        let f = fragment(
            &plans[w % plans.len()],
            Body::Intervention(Intervention {
                what: format!("Nytt stöd {w}"),
                who: "Kurator".into(),
                from_date: "2026-11-01".into(),
                follow_up_date: "2027-03-01".into(),
                ..Default::default()
            }),
        );
        node.put_fragment(&who, f, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ms() - start;
    drop(open);
    used / writes as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
async fn watch_bench_cpu_per_write_with_100_follow_up_watchers() {
    let writes = 40;
    let none = per_write(0, writes).await;
    let hundred = per_write(100, writes).await;
    println!(
        "watch bench: 600 held follow-ups in 60 plans, {writes} writes 250 ms apart: \
         CPU per write {none:.1} ms with no watchers, {hundred:.1} ms with 100 WatchFollowUps \
         watchers ({:.2} ms per watcher per write)",
        (hundred - none) / 100.0
    );
}
