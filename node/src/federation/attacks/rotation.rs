//! Key rotation keeps the federation working: what was queued or forwarded under the old key is
//! still taken during the overlap, and nothing after it.

use kronobarn_gateway::Backend;
use kronobarn_proto::federation::RefusalCode;
use kronobarn_proto::v1::{Category, PayloadKind};

use crate::testkit::{
    County, add_participant, consent, create_plan, revoke, shown, write_intervention,
};

const GRANTS: &[Category] = &[Category::Participants, Category::Interventions];

#[tokio::test]
async fn a_rotation_with_a_full_outbox_and_a_forwarded_revocation_loses_nothing() {
    let mut county = County::new(&["vaxjo", "region", "polisen", "alvesta"]);
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
    // Alvesta joins while it and the police are cut off: the police never hear of it.
    county.cut("polisen");
    county.cut("alvesta");
    add_participant(home, "skola", &plan, "alvesta", "enhet").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", GRANTS), ("polisen", GRANTS), ("alvesta", GRANTS)],
    )
    .await;
    let written = write_intervention(home, "skola", &plan, "Läxhjälp").await;
    // A guardian withdraws at the police; it reaches Växjö, which forwards it to Alvesta, the
    // one the police did not know to tell. Nothing for Alvesta has gone out when Växjö's key is
    // rotated.
    let rev = revoke(county.node("polisen"), "enhet", &plan, &["alvesta"]).await;
    county.deliver("polisen", "vaxjo").await;
    let queued = county.outbox("vaxjo", "alvesta");
    assert!(
        queued
            .iter()
            .any(|e| e.kind == PayloadKind::Revocation as i32),
        "the home forwards the revocation to the organisation the recorder did not tell"
    );
    county.rotate_key("vaxjo", 7 * 86_400_000);
    // What was signed with the old key goes out and is taken; so is what the new key signs.
    county.heal("alvesta");
    let results = county.deliver("vaxjo", "alvesta").await;
    // Every envelope passes its signature check; the fragments the revocation withdrew from
    // Alvesta are refused for that, and only for that.
    assert!(
        results
            .iter()
            .all(|r| r.accepted || r.code() == RefusalCode::NotPermitted),
        "{results:?}"
    );
    assert!(results.iter().filter(|r| r.accepted).count() >= 3);
    let alvesta = county.node("alvesta");
    let held = alvesta.load_plan(&plan).unwrap().unwrap();
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
    county.heal("polisen");
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
