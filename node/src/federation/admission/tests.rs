//! The admission path between in-process nodes: what crosses, what is refused with which code,
//! and what a receiver keeps, with every delivery in an order the test chooses.

use kronobarn_gateway::Backend;
use kronobarn_proto::federation::RefusalCode;
use kronobarn_proto::v1::{Category, PayloadKind, Revocation, SignedEnvelope};
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

/// A plan of the home shared with the region (participants and interventions), settled, and an
/// intervention written at the home since: its envelope, waiting in the home's outbox.
async fn shared_with_an_intervention(county: &County) -> (String, String, SignedEnvelope) {
    use crate::testkit::write_intervention;
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
    let id = write_intervention(home, "skola", &plan, "Stöd").await;
    let env = county
        .outbox("vaxjo", "region")
        .into_iter()
        .find(|e| e.kind == PayloadKind::Fragment as i32)
        .expect("the intervention queued");
    (plan, id, env)
}

#[tokio::test]
async fn a_receipt_for_what_was_already_held_waits_until_it_is_durable() {
    // Another task (a pull, or a push riding in someone else's batch) has stored the fragment
    // but not yet flushed it when the push of the same fragment arrives: answering "already
    // held" with a signed receipt before the flush would let a crash lose what the sender was
    // told is held, and the sender drops its copy on the receipt.
    let county = County::new(&["vaxjo", "region"]);
    let (plan, id, env) = shared_with_an_intervention(&county).await;
    let region = county.node("region");
    super::Admission::new(region, &county.roster)
        .admit("vaxjo", &env)
        .expect("stored, not yet flushed");
    let results = county
        .push("vaxjo", "region", std::slice::from_ref(&env))
        .await;
    assert!(
        results[0].accepted && results[0].receipt.is_some(),
        "{results:?}"
    );
    let after_crash = county.nodes["region"].store.crash();
    assert!(
        crate::store::Store::get(after_crash.as_ref(), &crate::keys::fragment(&plan, &id))
            .unwrap()
            .is_some(),
        "a receipt went out for a fragment a crash then lost"
    );
}

#[tokio::test]
async fn a_received_fragment_cannot_change_its_kind() {
    // The home may rewrite its own fragments, but a participant fragment rewritten as an
    // intervention would leave the membership index naming a participant that is gone, and the
    // rest of a push judged against it. The local write path refuses this; so must a receiver.
    use kronobarn_proto::v1::fragment::Body;
    let county = County::new(&["vaxjo", "region"]);
    let (plan, _, _) = shared_with_an_intervention(&county).await;
    county.settle_all(4).await;
    let region = county.node("region");
    let participant = region
        .load_plan(&plan)
        .unwrap()
        .unwrap()
        .fragments
        .into_iter()
        .find(|f| matches!(&f.fragment.body, Some(Body::Participant(p)) if p.unit == "bup"))
        .expect("BUP's participant fragment held")
        .fragment;
    let mut forged = crate::testkit::intervention(&plan, "Ersätter BUP");
    forged.fragment_id = participant.fragment_id.clone();
    forged.home_organization = participant.home_organization.clone();
    forged.home_authority = participant.home_authority.clone();
    forged.category = Category::Interventions as i32;
    forged.written_at_unix_ms = participant.written_at_unix_ms + 1;
    let v = participant.version.unwrap();
    forged.version = Some(kronobarn_proto::v1::Version {
        physical_ms: v.physical_ms + 1,
        logical: 0,
    });
    let env = county
        .node("vaxjo")
        .sign(PayloadKind::Fragment, forged.encode_to_vec());
    let results = county.push("vaxjo", "region", &[env]).await;
    assert!(!results[0].accepted, "{results:?}");
    assert_eq!(results[0].code(), RefusalCode::Invalid, "{results:?}");
    let held = region
        .stored_fragment(&plan, &participant.fragment_id)
        .unwrap()
        .unwrap();
    assert!(matches!(held.fragment.body, Some(Body::Participant(_))));
}

#[test]
fn a_push_naming_plans_the_node_does_not_hold_takes_no_lock() {
    // Plan ids in a push are read before any signature is checked: a member naming plans this
    // node does not hold must not take their locks (64 such ids would take every stripe and
    // stall every local write for as long as the push is judged).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let county = rt.block_on(async { County::new(&["vaxjo", "region"]) });
    let mut f = crate::testkit::intervention("0123456789abcdef0123456789abcdef", "Stöd");
    f.fragment_id = "f-1".into();
    f.home_organization = "vaxjo".into();
    f.category = Category::Interventions as i32;
    f.written_at_unix_ms = crate::testkit::START_MS;
    f.version = Some(kronobarn_proto::v1::Version {
        physical_ms: crate::testkit::START_MS as u64,
        logical: 0,
    });
    let env = county
        .node("vaxjo")
        .sign(PayloadKind::Fragment, f.encode_to_vec());
    let holder = county.nodes["region"].node.clone();
    let _held = holder.stripe("0123456789abcdef0123456789abcdef");
    let region = county.nodes["region"].node.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let roster = county.roster.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let r = rt.block_on(super::receive(&region, &roster, "vaxjo", &[env]));
        let _ = tx.send(r.map(|r| r[0].clone()));
    });
    let answer = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the push waited for a lock of a plan the node does not hold");
    let answer = answer.unwrap();
    assert_eq!(answer.code(), RefusalCode::UnknownPlan, "{answer:?}");
}
