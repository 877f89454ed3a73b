//! The admission path between in-process nodes: what crosses, what is refused with which code,
//! and what a receiver keeps, with every delivery in an order the test chooses.

use kronobarn_gateway::Backend;
use kronobarn_proto::federation::RefusalCode;
use kronobarn_proto::v1::{Category, PayloadKind, Revocation};
use prost::Message;

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

#[tokio::test]
async fn a_push_of_plain_fragments_is_written_in_one_batch_and_each_gets_its_receipt() {
    use crate::testkit::{intervention, write_intervention};
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let mut plans = Vec::new();
    for _ in 0..2 {
        let plan = create_plan(home, "skola").await.plan_id;
        add_participant(home, "skola", &plan, "region", "bup").await;
        consent(
            home,
            "skola",
            &plan,
            &[("region", &[Category::Participants, Category::Interventions])],
        )
        .await;
        plans.push(plan);
    }
    county.settle_all(4).await;
    // Five interventions in two plans, and one of them rewritten: both of its versions travel.
    let mut ids = Vec::new();
    for (n, plan) in plans.iter().cycle().take(5).enumerate() {
        ids.push(write_intervention(home, "skola", plan, &format!("Stöd {n}")).await);
    }
    let first = home.stored_fragment(&plans[0], &ids[0]).unwrap().unwrap();
    let rewritten = kronobarn_proto::v1::Fragment {
        fragment_id: ids[0].clone(),
        ..intervention(&plans[0], "Stöd 0, ändrat")
    };
    home.put_fragment(&actor("vaxjo", "skola"), rewritten, first.fragment.version)
        .await
        .unwrap();
    let envs = county.outbox("vaxjo", "region");
    assert!(envs.len() >= 6, "{}", envs.len());
    let region = county.node("region");
    let region_key = county.nodes["region"].key.verifying_key();
    let before = region.work().read();
    let results = county.push("vaxjo", "region", &envs).await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    for (r, e) in results.iter().zip(&envs) {
        let receipt = r.receipt.as_ref().expect("a receipt for each");
        let record = kronobarn_proto::v1::AccessRecord::decode(
            kronobarn_proto::envelope::open(receipt, PayloadKind::AccessRecord, |_| {
                Some(region_key)
            })
            .expect("signed by the region"),
        )
        .unwrap();
        assert_eq!(
            record.content_hash,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&e.payload))
        );
    }
    let spent = region.work().read() - before;
    assert!(
        spent.log_batches <= 2,
        "one batch, and one more where the push holds a fragment twice: {spent:?}"
    );
    assert_eq!(spent.log_records as usize, envs.len());
    // What is held is the newest version, with its follow-up date indexed once.
    let held = region.stored_fragment(&plans[0], &ids[0]).unwrap().unwrap();
    assert!(matches!(
        held.fragment.body,
        Some(kronobarn_proto::v1::fragment::Body::Intervention(ref i)) if i.what == "Stöd 0, ändrat"
    ));
    for (n, id) in ids.iter().enumerate() {
        assert!(
            region.stored_fragment(&plans[n % 2], id).unwrap().is_some(),
            "intervention {n} held"
        );
    }
}
