//! A plan belongs to its creator: knowing a plan id is not enough to become its home anywhere.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{Category, Consent, Grant, GuardianConsent, PayloadKind};
use prost::Message;

use crate::testkit::{County, add_participant, consent, create_plan};

#[tokio::test]
async fn a_member_that_knows_a_plan_id_cannot_take_the_plan_over() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Participants])],
    )
    .await;
    // Before Växjö reaches the region, the police push a consent of their own for the plan.
    let forged = Consent {
        plan_id: plan.clone(),
        consent_version: 7,
        consent_home: "polisen".into(),
        guardian_consents: vec![GuardianConsent {
            guardian_id: "g1".into(),
            form: 1,
            given_at_unix_ms: home.now_ms(),
        }],
        valid_until_unix_ms: home.now_ms() + 86_400_000,
        grants: vec![Grant {
            organization: "region".into(),
            categories: vec![Category::Participants as i32],
        }],
        purpose: "plan-coordination".into(),
        ..Default::default()
    };
    let env = county
        .node("polisen")
        .sign(PayloadKind::Consent, forged.encode_to_vec());
    let results = county.push("polisen", "region", &[env]).await;
    assert!(
        !results[0].accepted,
        "a consent for a plan homed elsewhere: {results:?}"
    );
    // The real home's deliveries still arrive and are taken.
    let results = county.deliver("vaxjo", "region").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    let held = county.node("region").load_plan(&plan).unwrap().unwrap();
    assert_eq!(held.home_organization, "vaxjo");
}
