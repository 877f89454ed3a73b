//! A crash between any two batches leaves no stored copy that a stored revocation withdrew.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::Category;

use crate::clock::Clock;
use crate::node::Node;
use crate::testkit::{County, add_participant, consent, create_plan, revoke, write_intervention};

#[tokio::test]
async fn a_revocation_and_its_purge_survive_any_crash_together() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    write_intervention(home, "skola", &plan, "Stöd").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Interventions, Category::Participants])],
    )
    .await;
    county.settle_all(4).await;
    revoke(home, "skola", &plan, &["region"]).await;
    let store = &county.nodes["region"].store;
    let before = store.batches();
    county.deliver("vaxjo", "region").await;
    let after = store.batches();
    for k in before..=after {
        let crashed = store.crash_after(k);
        let n = Node::open_with_clock(
            "region".into(),
            crashed,
            county.nodes["region"].key.clone(),
            Clock::manual(crate::testkit::START_MS).0,
        )
        .unwrap();
        let Some(view) = n.load_plan(&plan).unwrap() else {
            continue;
        };
        let left = n.purge_of(&view);
        assert!(
            left.fragments.is_empty() && left.withheld.is_empty(),
            "after a crash behind batch {k}, {} stored copies are withdrawn by a stored revocation",
            left.fragments.len() + left.withheld.len()
        );
    }
}
