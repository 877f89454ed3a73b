//! A refusal is never a purge confirmation; a revocation reaches every holder by push, by
//! anti-entropy and by the lease.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{Category, PayloadKind, Revocation};
use prost::Message;

use crate::federation::sync::changes_for;
use crate::testkit::{
    County, add_participant, consent, create_plan, revoke, shown, write_intervention,
};

const GRANTS: &[Category] = &[Category::Participants, Category::Interventions];

/// Vaxjo's plan with an intervention, the region (BUP) and the police taking part, both granted
/// participants and interventions.
async fn plan_shared_with(county: &County, orgs: &[&str]) -> String {
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    for o in orgs {
        add_participant(home, "skola", &plan, o, "enhet").await;
    }
    write_intervention(home, "skola", &plan, "Stöd på rasten").await;
    let grants: Vec<(&str, &[Category])> = orgs.iter().map(|o| (*o, GRANTS)).collect();
    consent(home, "skola", &plan, &grants).await;
    plan
}

fn holds_revocation(county: &County, org: &str, plan: &str, id: &str) -> bool {
    county
        .node(org)
        .load_plan_facts(plan)
        .unwrap()
        .is_some_and(|v| v.revocations.iter().any(|r| r.revocation_id == id))
        || county
            .node(org)
            .get(&crate::keys::revocation(plan, id))
            .unwrap()
            .is_some()
}

#[tokio::test]
async fn an_offline_holder_given_consent_and_revocation_in_one_push_applies_the_revocation() {
    let county = County::new(&["vaxjo", "region"]);
    let plan = plan_shared_with(&county, &["region"]).await;
    // The region was offline while both the consent and the withdrawal were recorded.
    let rev = revoke(county.node("vaxjo"), "skola", &plan, &["region"]).await;
    county.deliver("vaxjo", "region").await;
    assert!(
        holds_revocation(&county, "region", &plan, &rev.revocation_id),
        "the region must keep the revocation even though it arrived before the consent"
    );
    let _ = county.renew_lease("region", &plan);
    assert!(
        shown(county.node("region"), "enhet", &plan).is_empty(),
        "nothing the revocation withdrew may be shown at the region"
    );
    let status = county.node("vaxjo").revocation_status(&plan).unwrap();
    assert!(status[0].purged_at.iter().any(|o| o == "region"));
}

#[tokio::test]
async fn a_refusal_is_not_counted_as_a_confirmation() {
    let county = County::new(&["vaxjo", "region"]);
    let plan = plan_shared_with(&county, &["region"]).await;
    let rev = revoke(county.node("vaxjo"), "skola", &plan, &["region"]).await;
    // Only the revocation goes, and the region knows nothing of the plan yet.
    let envs: Vec<_> = county
        .outbox("vaxjo", "region")
        .into_iter()
        .filter(|e| e.kind == PayloadKind::Revocation as i32)
        .collect();
    let batch: Vec<_> = county
        .node("vaxjo")
        .outbox_batch("region", usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.kind == PayloadKind::Revocation as i32)
        .collect();
    let mut results = county.push("vaxjo", "region", &envs).await;
    // Whatever the receiver answered, a refusal (or an answer without a signed receipt) must not
    // make the recorder count the region as purged.
    for r in &mut results {
        if !r.accepted {
            r.receipt = None;
        }
    }
    crate::federation::delivery::settle(county.node("vaxjo"), "region", &batch, results.clone())
        .await
        .unwrap();
    let status = county.node("vaxjo").revocation_status(&plan).unwrap();
    let confirmed = status[0].purged_at.iter().any(|o| o == "region");
    assert_eq!(
        confirmed,
        holds_revocation(&county, "region", &plan, &rev.revocation_id),
        "counted as purged at the region: {confirmed}; {results:?}"
    );
}

#[tokio::test]
async fn a_receipt_for_something_else_is_not_a_confirmation() {
    let county = County::new(&["vaxjo", "region"]);
    let plan = plan_shared_with(&county, &["region"]).await;
    county.settle_all(4).await;
    revoke(county.node("vaxjo"), "skola", &plan, &["region"]).await;
    let batch = county
        .node("vaxjo")
        .outbox_batch("region", usize::MAX)
        .unwrap();
    let envs: Vec<_> = batch.iter().map(|(_, e)| e.clone()).collect();
    let mut results = county.push("vaxjo", "region", &envs).await;
    // A hostile region answers "accepted" with a receipt it signed for another record.
    for r in &mut results {
        r.receipt = Some(county.node("region").sign(
            PayloadKind::AccessRecord,
            kronobarn_proto::v1::AccessRecord::default().encode_to_vec(),
        ));
    }
    crate::federation::delivery::settle(county.node("vaxjo"), "region", &batch, results)
        .await
        .unwrap();
    let status = county.node("vaxjo").revocation_status(&plan).unwrap();
    assert!(
        !status[0].purged_at.iter().any(|o| o == "region"),
        "a receipt that does not name the revocation confirms nothing"
    );
}

#[tokio::test]
async fn a_revocation_by_a_member_the_receiver_cannot_see_is_kept() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let plan = plan_shared_with(&county, &["region", "polisen"]).await;
    county.settle_all(6).await;
    // The guardians narrow the consent: the police are no longer granted anything, and the
    // region, which is not granted the participant list either, no longer sees them at all.
    consent(
        county.node("vaxjo"),
        "skola",
        &plan,
        &[("region", &[Category::Interventions])],
    )
    .await;
    county.deliver("vaxjo", "region").await;
    // Meanwhile a guardian withdrew everything at the police, who still hold the plan.
    let rev = revoke(county.node("polisen"), "enhet", &plan, &[]).await;
    county.deliver("polisen", "region").await;
    assert!(
        holds_revocation(&county, "region", &plan, &rev.revocation_id),
        "a roster-signed revocation only removes access: the region keeps it"
    );
    let status = county.node("polisen").revocation_status(&plan).unwrap();
    assert!(status[0].purged_at.iter().any(|o| o == "region"));
    let _ = county.renew_lease("region", &plan);
    assert!(shown(county.node("region"), "enhet", &plan).is_empty());
}

#[tokio::test]
async fn anti_entropy_carries_the_revocations_the_home_forwards() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let plan = plan_shared_with(&county, &["region", "polisen"]).await;
    county.settle_all(6).await;
    let rev = revoke(county.node("region"), "enhet", &plan, &[]).await;
    // The region's push to the police is lost; the home gets it and forwards it.
    county.deliver("region", "vaxjo").await;
    let feed = changes_for(county.node("vaxjo"), "polisen", None, 1000).unwrap();
    let carried = feed.envelopes.iter().any(|e| {
        e.kind == PayloadKind::Revocation as i32
            && Revocation::decode(e.payload.as_slice())
                .is_ok_and(|r| r.revocation_id == rev.revocation_id)
    });
    assert!(
        carried,
        "the home's change feed must carry the revocation it forwards"
    );
}

#[tokio::test]
async fn a_lease_names_the_revocations_in_force_so_a_holder_without_one_shows_nothing() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let plan = plan_shared_with(&county, &["region", "polisen"]).await;
    county.settle_all(6).await;
    assert!(county.renew_lease("polisen", &plan).is_ok());
    assert!(!shown(county.node("polisen"), "enhet", &plan).is_empty());
    // Withdrawn at the region; the home hears of it, the police do not (their links are cut).
    revoke(county.node("region"), "enhet", &plan, &[]).await;
    county.deliver("region", "vaxjo").await;
    // The police can still reach the home for a lease, but not receive pushes.
    let _ = county.renew_lease("polisen", &plan);
    assert!(
        shown(county.node("polisen"), "enhet", &plan).is_empty(),
        "a holder that lacks a revocation the home knows must stop showing copies"
    );
}
