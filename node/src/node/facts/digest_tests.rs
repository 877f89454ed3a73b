//! Reading the plans at home for the indicators: every plan once with its own records however
//! the plan ids are sharded, digests that hold nothing personal, and a plan changed since the
//! last computation (written, or only read) read again.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{CoordinationMeeting, Fragment, fragment::Body};

use super::tests::{counting, county, date, export_record, put};
use crate::testkit::{START_MS, actor, create_plan};

#[tokio::test]
async fn every_plan_is_read_once_with_its_own_records_however_the_ids_are_sharded() {
    // More records than one page of a pass, in plans that differ by how many meetings they had.
    let county = county(&["vaxjo"]);
    let home = county.node("vaxjo");
    let meeting = |plan: &str| Fragment {
        plan_id: plan.to_string(),
        body: Some(Body::Meeting(CoordinationMeeting {
            held_on: date(START_MS),
            attendees: vec!["Rektor".into()],
            child_view: "Jag vill ha lugnare raster.".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut plans = Vec::new();
    for i in 0..400 {
        let plan = create_plan(home, "skola").await.plan_id;
        for _ in 0..(i % 4) {
            put(home, "skola", meeting(&plan)).await;
        }
        plans.push(plan);
    }
    let meetings = |shards: usize| {
        let f = home.home_facts_in(&counting("vaxjo"), shards).unwrap();
        let mut n: Vec<usize> = f.plans.iter().map(|p| p.meetings.len()).collect();
        n.sort();
        n
    };
    let one = meetings(1);
    assert_eq!(one.len(), 400);
    assert_eq!(one.iter().filter(|n| **n == 3).count(), 100);
    for shards in [2, 3, 7, 16] {
        assert_eq!(meetings(shards), one, "{shards} shards");
    }
    // The digests kept hold nothing personal.
    let digests = home.scan_all(crate::keys::DIGESTS).unwrap();
    assert_eq!(digests.len(), 400);
    for (_, v) in &digests {
        let text = String::from_utf8_lossy(v);
        for personal in [
            "20170101",
            "2393",
            "Testbarn",
            "Påhittad",
            "Rektor",
            "raster",
        ] {
            assert!(!text.contains(personal), "{personal} in a digest");
        }
    }
    // A plan changed since is read again; the others come from their digests.
    for p in &plans[..3] {
        put(home, "skola", meeting(p)).await;
    }
    let changed = meetings(2);
    assert_eq!(changed.len(), 400);
    assert_eq!(changed.iter().sum::<usize>(), one.iter().sum::<usize>() + 3);
    // A read is a change of the log head too: read again, same facts.
    home.log_access(vec![export_record(
        &actor("vaxjo", "skola"),
        &plans[5],
        START_MS,
        "document",
    )])
    .await
    .unwrap();
    assert_eq!(meetings(3), changed);
}
