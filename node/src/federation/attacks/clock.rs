//! A wrong clock, or a peer lying about time, cannot stretch a lease or push the clock.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{Category, Fragment, PayloadKind, Version};
use prost::Message;

use crate::testkit::{
    County, add_participant, consent, create_plan, intervention, shown, write_intervention,
};

#[tokio::test]
async fn a_holder_whose_clock_is_an_hour_behind_hides_copies_when_the_lease_runs_out() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    write_intervention(home, "skola", &plan, "Stöd").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Participants, Category::Interventions])],
    )
    .await;
    county.settle_all(4).await;
    county.nodes["region"].time.skew(-3_600_000);
    county.renew_lease("region", &plan).unwrap();
    assert!(!shown(county.node("region"), "bup", &plan).is_empty());
    // The lease lasts five minutes; five minutes and a second pass for everyone.
    county.advance(301_000);
    assert!(
        shown(county.node("region"), "bup", &plan).is_empty(),
        "the region's wall clock is an hour behind, but its lease ran out on its own clock too"
    );
}

#[tokio::test]
async fn a_peer_cannot_push_the_clock_to_the_end_of_time() {
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
    // Växjö signs an intervention versioned far in the future.
    let mut f: Fragment = intervention(&plan, "Framtid");
    if let Some(kronobarn_proto::v1::fragment::Body::Intervention(i)) = &mut f.body {
        i.responsible = Some(kronobarn_proto::v1::Contact {
            name: "Anna Påhittad".into(),
            title: "kurator".into(),
            ..Default::default()
        });
    }
    f.fragment_id = "f-future".into();
    f.home_organization = "vaxjo".into();
    f.category = Category::Interventions as i32;
    // A year ahead: every later version the region makes would be a year ahead too.
    f.version = Some(Version {
        physical_ms: home.now_ms() as u64 + 365 * 86_400_000,
        logical: 0,
    });
    let env = home.sign(PayloadKind::Fragment, f.encode_to_vec());
    let results = county.push("vaxjo", "region", &[env]).await;
    assert!(
        !results[0].accepted,
        "a version far ahead of local time is refused: {results:?}"
    );
    // The region's own writes keep sane versions.
    let region = county.node("region");
    let id = write_intervention(region, "bup", &plan, "Samtal").await;
    let v = region
        .load_plan(&plan)
        .unwrap()
        .unwrap()
        .fragments
        .into_iter()
        .find(|x| x.fragment.fragment_id == id)
        .unwrap()
        .fragment
        .version
        .unwrap();
    assert!(v.physical_ms < region.now_ms() as u64 + 86_400_000, "{v:?}");
}

#[test]
fn the_hybrid_clock_never_wraps() {
    let mut c = crate::clock::Hlc::resume((u64::MAX, u32::MAX));
    let v = c.tick(5);
    assert!(v.key() >= (u64::MAX, u32::MAX), "{v:?}");
}
