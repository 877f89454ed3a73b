//! The admission path between in-process nodes: what crosses, what is refused with which code,
//! and what a receiver keeps, with every delivery in an order the test chooses.

use kronobarn_gateway::Backend;
use kronobarn_proto::federation::RefusalCode;
use kronobarn_proto::v1::{Category, PayloadKind, Revocation};

use crate::testkit::{County, actor, add_participant, consent, create_plan};

#[tokio::test]
async fn a_granted_peer_receives_the_consent_and_only_what_it_grants() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await;
    add_participant(home, "skola", &plan.plan_id, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan.plan_id,
        &[("region", &[Category::Participants])],
    )
    .await;
    let results = county.deliver("vaxjo", "region").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    let held = county
        .node("region")
        .load_plan(&plan.plan_id)
        .unwrap()
        .unwrap();
    assert_eq!(held.consent.as_ref().unwrap().consent_version, 1);
    // Two participant fragments (the school's and BUP's); no header: identity is not granted.
    assert!(held.header.is_none());
    assert_eq!(held.fragments.len(), 2);
    // The home keeps each receipt and has emptied the outbox.
    assert!(county.outbox("vaxjo", "region").is_empty());
}

#[tokio::test]
async fn an_older_version_is_refused_as_a_replay() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await;
    add_participant(home, "skola", &plan.plan_id, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan.plan_id,
        &[("region", &[Category::Participants])],
    )
    .await;
    let first = county.outbox("vaxjo", "region");
    county.settle_all(4).await;
    // The home rewrites BUP's participant fragment, which the region receives.
    let v = home.load_plan(&plan.plan_id).unwrap().unwrap();
    let mut p = v
        .fragments
        .iter()
        .find(|f| matches!(&f.fragment.body, Some(kronobarn_proto::v1::fragment::Body::Participant(p)) if p.unit == "bup"))
        .unwrap()
        .fragment
        .clone();
    let read = p.version;
    p.written_by.clear();
    home.put_fragment(&actor("vaxjo", "skola"), p, read)
        .await
        .unwrap();
    county.settle_all(4).await;
    // Sending the first version again is a replay.
    let old = first
        .iter()
        .filter(|e| e.kind == PayloadKind::Fragment as i32)
        .cloned()
        .collect::<Vec<_>>();
    let results = county.push("vaxjo", "region", &old).await;
    assert!(
        results
            .iter()
            .any(|r| !r.accepted && r.code() == RefusalCode::Replay),
        "{results:?}"
    );
}

#[tokio::test]
async fn a_fragment_sent_by_someone_else_than_its_author_is_refused() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await;
    add_participant(home, "skola", &plan.plan_id, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan.plan_id,
        &[("region", &[Category::Participants])],
    )
    .await;
    let envs = county.outbox("vaxjo", "region");
    // The police relay the home's signed envelopes: only the creation record, which says no
    // more than whose plan it is, may be relayed; the consent and fragments are refused.
    let results = county.push("polisen", "region", &envs).await;
    for (env, r) in envs.iter().zip(&results) {
        if env.kind == PayloadKind::PlanCreation as i32 {
            assert!(r.accepted, "{r:?}");
        } else {
            assert_eq!(r.code(), RefusalCode::PeerNotSigner, "{r:?}");
        }
    }
    assert!(
        county
            .node("region")
            .load_plan(&plan.plan_id)
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_revocation_at_a_holder_purges_there_and_is_confirmed_at_its_recorder() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await;
    add_participant(home, "skola", &plan.plan_id, "region", "bup").await;
    consent(
        home,
        "skola",
        &plan.plan_id,
        &[("region", &[Category::Participants])],
    )
    .await;
    county.settle_all(4).await;
    let region = county.node("region");
    assert_eq!(
        region
            .load_plan(&plan.plan_id)
            .unwrap()
            .unwrap()
            .fragments
            .len(),
        2
    );
    let rev = Revocation {
        plan_id: plan.plan_id.clone(),
        withdrawn_by: "g1".into(),
        ..Default::default()
    };
    region
        .record_revocation(&actor("region", "bup"), rev)
        .await
        .unwrap();
    // Purged at the recorder at once: only its own participant fragment... which is the home's,
    // so nothing of the plan's fragments is left there.
    assert!(
        region
            .load_plan(&plan.plan_id)
            .unwrap()
            .unwrap()
            .fragments
            .is_empty()
    );
    county.deliver("region", "vaxjo").await;
    let status = region.revocation_status(&plan.plan_id).unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(
        status[0].purged_at,
        vec!["region".to_string(), "vaxjo".to_string()]
    );
    assert!(status[0].pending.is_empty());
}
