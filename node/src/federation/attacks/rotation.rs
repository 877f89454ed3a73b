//! Key rotation keeps the federation working: what was queued or forwarded under the old key is
//! still taken during the overlap, and nothing after it.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{Category, PayloadKind};

use crate::testkit::{
    County, add_participant, consent, create_plan, revoke, shown, write_intervention,
};

const GRANTS: &[Category] = &[Category::Participants, Category::Interventions];

#[tokio::test]
async fn a_rotation_with_a_full_outbox_and_a_forwarded_revocation_loses_nothing() {
    let mut county = County::new(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    add_participant(home, "skola", &plan, "polisen", "enhet").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", GRANTS), ("polisen", GRANTS)],
    )
    .await;
    county.settle_all(6).await;
    // The police withdraw; Växjö, the home, receives it and forwards it to the region; and Växjö
    // writes more. Nothing of it has gone out when Växjö's key is rotated.
    let rev = revoke(county.node("polisen"), "enhet", &plan, &["region"]).await;
    county.deliver("polisen", "vaxjo").await;
    let written = write_intervention(county.node("vaxjo"), "skola", &plan, "Läxhjälp").await;
    let queued = county.outbox("vaxjo", "region");
    assert!(
        queued
            .iter()
            .any(|e| e.kind == PayloadKind::Revocation as i32)
    );
    county.rotate_key("vaxjo", 7 * 86_400_000);
    // What was signed with the old key goes out and is taken; so is what the new key signs.
    let results = county.deliver("vaxjo", "region").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    let region = county.node("region");
    let held = region.load_plan(&plan).unwrap().unwrap();
    assert!(
        held.revocations
            .iter()
            .any(|r| r.revocation_id == rev.revocation_id)
    );
    assert!(
        !held
            .fragments
            .iter()
            .any(|f| f.fragment.fragment_id == written)
    );
    write_intervention(county.node("vaxjo"), "skola", &plan, "Samtal").await;
    let results = county.deliver("vaxjo", "polisen").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    county.renew_lease("polisen", &plan).unwrap();
    assert!(!shown(county.node("polisen"), "enhet", &plan).is_empty());
}

#[tokio::test]
async fn the_old_key_is_refused_once_the_overlap_ends() {
    let mut county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(home, "skola", &plan, &[("region", GRANTS)]).await;
    let old = county.outbox("vaxjo", "region");
    county.rotate_key("vaxjo", 86_400_000);
    county.advance(3 * 86_400_000);
    let results = county.push("vaxjo", "region", &old).await;
    assert!(results.iter().all(|r| !r.accepted), "{results:?}");
}
