//! A handover offer is used once, expires, can be withdrawn, and leaves the new home fully in
//! charge (and no less careful about revocations than the old one).

use kronobarn_gateway::{Backend, PlanView};
use kronobarn_proto::ids::STATUS_FRAGMENT_ID;
use kronobarn_proto::v1::{
    Category, Contact, Fragment, Handover, HandoverAcceptance, PayloadKind, PlanStage, PlanStatus,
    SignedEnvelope, StageChange, fragment::Body,
};
use prost::Message;

use crate::federation::lease;
use crate::keys;
use crate::node::Node;
use crate::testkit::{County, actor, add_participant, consent, create_plan, revoke};

const ALL: &[Category] = &[
    Category::Identity,
    Category::Participants,
    Category::Interventions,
    Category::FollowUps,
];

/// Växjö's school holds a plan; the region takes part with the unit the test directory makes a
/// school's principal (one that may take the plan over), the police with a unit of their own.
async fn county_with_plan() -> (County, String) {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "skola").await;
    add_participant(home, "skola", &plan, "polisen", "enhet").await;
    consent(home, "skola", &plan, &[("region", ALL), ("polisen", ALL)]).await;
    county.settle_all(6).await;
    (county, plan)
}

async fn offer(from: &Node, unit: &str, plan: &str, to: &str, to_unit: &str) -> Handover {
    from.offer_handover(
        &actor(from.organization_id(), unit),
        Handover {
            plan_id: plan.to_string(),
            to_organization: to.into(),
            to_unit: to_unit.into(),
            to_contact: Some(Contact {
                name: "Berit Påhittad".into(),
                title: "kurator".into(),
                phone: "0470-00 00 00".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("offer")
}

async fn hand_over(county: &County, plan: &str, from: (&str, &str), to: (&str, &str)) {
    offer(county.node(from.0), from.1, plan, to.0, to.1).await;
    county.settle_all(6).await;
    county
        .node(to.0)
        .accept_handover(&actor(to.0, to.1), plan)
        .await
        .expect("accept");
    county.settle_all(6).await;
}

fn home_at(county: &County, org: &str, plan: &str) -> String {
    county
        .node(org)
        .load_plan_facts(plan)
        .unwrap()
        .map(|v: PlanView| v.home_organization)
        .unwrap_or_default()
}

#[tokio::test]
async fn an_old_offer_cannot_be_accepted_again() {
    let (county, plan) = county_with_plan().await;
    hand_over(&county, &plan, ("vaxjo", "skola"), ("region", "skola")).await;
    hand_over(&county, &plan, ("region", "skola"), ("vaxjo", "skola")).await;
    assert_eq!(home_at(&county, "polisen", &plan), "vaxjo");
    // A minute later the region digs out Växjö's first offer and accepts it a second time.
    county.advance(60_000);
    let first = county
        .node("region")
        .get(&keys::handed(&plan, 1))
        .unwrap()
        .expect("the first acceptance is kept");
    let first = SignedEnvelope::decode(first.as_slice()).unwrap();
    let offer1 = HandoverAcceptance::decode(first.payload.as_slice())
        .unwrap()
        .offer
        .unwrap();
    let replay = HandoverAcceptance {
        offer: Some(offer1),
        accepted_at_unix_ms: county.node("region").now_ms(),
    };
    let env = county
        .node("region")
        .sign(PayloadKind::HandoverAcceptance, replay.encode_to_vec());
    let results = county.push("region", "polisen", &[env]).await;
    assert!(!results[0].accepted, "{results:?}");
    assert_eq!(home_at(&county, "polisen", &plan), "vaxjo");
}

#[tokio::test]
async fn an_offer_nobody_accepts_expires_and_consent_can_be_recorded_again() {
    let (county, plan) = county_with_plan().await;
    offer(county.node("vaxjo"), "skola", &plan, "region", "skola").await;
    county.settle_all(6).await;
    // Thirty days pass.
    county.advance(30 * 86_400_000);
    consent(county.node("vaxjo"), "skola", &plan, &[("region", ALL)]).await;
    let e = county
        .node("region")
        .accept_handover(&actor("region", "skola"), &plan)
        .await;
    assert!(e.is_err(), "an expired offer cannot be accepted");
    assert_eq!(home_at(&county, "polisen", &plan), "vaxjo");
}

#[tokio::test]
async fn an_offer_can_be_withdrawn_by_its_sender() {
    let (county, plan) = county_with_plan().await;
    offer(county.node("vaxjo"), "skola", &plan, "region", "skola").await;
    county.settle_all(6).await;
    county
        .node("vaxjo")
        .withdraw_handover(&actor("vaxjo", "skola"), &plan)
        .await
        .expect("withdraw");
    county.settle_all(6).await;
    assert!(
        county
            .node("vaxjo")
            .pending_handover(&plan)
            .unwrap()
            .is_none()
    );
    let e = county
        .node("region")
        .accept_handover(&actor("region", "skola"), &plan)
        .await;
    assert!(e.is_err(), "a withdrawn offer cannot be accepted");
    consent(county.node("vaxjo"), "skola", &plan, &[("region", ALL)]).await;
}

#[tokio::test]
async fn the_new_home_moves_the_plan_and_closes_it() {
    let (county, plan) = county_with_plan().await;
    // Växjö moved the plan once, so a status fragment homed at Växjö exists.
    let step = |stage: PlanStage, by: &str| StageChange {
        stage: stage as i32,
        at_unix_ms: 1,
        changed_by: by.into(),
        reason: "steg".into(),
        ..Default::default()
    };
    let status = |history: Vec<StageChange>| Fragment {
        plan_id: plan.clone(),
        fragment_id: STATUS_FRAGMENT_ID.into(),
        body: Some(Body::Status(PlanStatus { history })),
        ..Default::default()
    };
    let first = county
        .node("vaxjo")
        .put_fragment(
            &actor("vaxjo", "skola"),
            status(vec![step(PlanStage::Talk, "a")]),
            None,
        )
        .await
        .unwrap();
    county.settle_all(6).await;
    hand_over(&county, &plan, ("vaxjo", "skola"), ("region", "skola")).await;
    let region = county.node("region");
    let held = region.load_plan(&plan).unwrap().unwrap();
    let current = held
        .fragments
        .iter()
        .find(|f| f.fragment.fragment_id == STATUS_FRAGMENT_ID)
        .map(|f| f.fragment.version)
        .unwrap_or(first.fragment.version);
    region
        .put_fragment(
            &actor("region", "skola"),
            status(vec![
                step(PlanStage::Talk, "a"),
                step(PlanStage::Closed, "b"),
            ]),
            current,
        )
        .await
        .expect("the new home moves the plan");
    let results = county.deliver("region", "polisen").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
}

#[tokio::test]
async fn pending_purge_confirmations_move_with_the_consent_home() {
    let (county, plan) = county_with_plan().await;
    // The police are cut off while Växjö records a withdrawal from them and hands the plan over.
    county.cut("polisen");
    revoke(county.node("vaxjo"), "skola", &plan, &["polisen"]).await;
    county.deliver("vaxjo", "region").await;
    hand_over(&county, &plan, ("vaxjo", "skola"), ("region", "skola")).await;
    // The police never confirmed; the new home must not lease to them either.
    let consent = county
        .node("polisen")
        .load_plan_facts(&plan)
        .unwrap()
        .unwrap()
        .consent
        .unwrap();
    let granted = lease::grant(
        county.node("region"),
        "polisen",
        &plan,
        consent.consent_version,
    );
    assert!(
        granted.is_err(),
        "the new home leased to an organisation that never purged"
    );
}

/// An offer signed by the home itself, as a hostile or outdated node would make it, without the
/// offering node's checks.
fn signed_offer(from: &Node, plan: &str, to: &str, to_unit: &str) -> SignedEnvelope {
    let now = from.now_ms();
    let offer = Handover {
        plan_id: plan.to_string(),
        from_organization: from.organization_id().to_string(),
        to_organization: to.into(),
        to_unit: to_unit.into(),
        to_contact: Some(Contact {
            name: "Påhittad".into(),
            ..Default::default()
        }),
        offered_at_unix_ms: now,
        expires_at_unix_ms: now + crate::node::OFFER_TTL_MS,
        sequence: 1,
        ..Default::default()
    };
    from.sign(PayloadKind::HandoverOffer, offer.encode_to_vec())
}

#[tokio::test]
async fn a_hostile_home_cannot_make_a_unit_responsible_that_may_not_be() {
    let (county, plan) = county_with_plan().await;
    let police = county.node("polisen");
    // Växjö's node signs an offer to the police's unit without its own checks: the police's node
    // refuses it by its own directory (a unit it does not describe is never responsible).
    let env = signed_offer(county.node("vaxjo"), &plan, "polisen", "enhet");
    let results = county
        .push("vaxjo", "polisen", std::slice::from_ref(&env))
        .await;
    assert!(!results[0].accepted, "{results:?}");
    assert!(
        results[0].reason.starts_with("responsible-kind"),
        "{results:?}"
    );
    assert!(police.pending_handover(&plan).unwrap().is_none());
    // An offer the police's node held already (admitted before it checked) is not accepted.
    police
        .apply(vec![crate::store::Op::Put(
            keys::handover(&plan),
            env.encode_to_vec(),
        )])
        .unwrap();
    let e = police
        .accept_handover(&actor("polisen", "enhet"), &plan)
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("responsible-kind"), "{e}");
    county.settle_all(6).await;
    assert_eq!(home_at(&county, "polisen", &plan), "vaxjo");
    assert_eq!(home_at(&county, "region", &plan), "vaxjo");
}

#[tokio::test]
async fn the_receiver_judges_the_child_by_its_own_rules_when_it_accepts() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    // A three-year-old at Växjö's BVC.
    let mut small = crate::testkit::header("bvc");
    small.child.as_mut().unwrap().birth_date = "2023-05-01".into();
    let plan = home
        .create_plan(&actor("vaxjo", "bvc"), small, None)
        .await
        .unwrap()
        .plan_id;
    add_participant(home, "bvc", &plan, "region", "skola").await;
    consent(home, "bvc", &plan, &[("region", ALL)]).await;
    county.settle_all(6).await;
    // A school may be responsible for some children, so the region holds the offer; not for
    // this one yet, so it does not accept it.
    let env = signed_offer(home, &plan, "region", "skola");
    let results = county.push("vaxjo", "region", &[env]).await;
    assert!(results[0].accepted, "{results:?}");
    let e = county
        .node("region")
        .accept_handover(&actor("region", "skola"), &plan)
        .await
        .unwrap_err();
    assert!(
        e.to_string().starts_with("responsible-kind") && e.to_string().contains("not-school-age"),
        "{e}"
    );
    assert_eq!(home_at(&county, "region", &plan), "vaxjo");
}

/// The region signs an acceptance of `offer` dated `accepted_at`, as a hostile node would,
/// and pushes it to every other member.
async fn backdated_acceptance(county: &County, offer: SignedEnvelope, accepted_at: i64) {
    let acceptance = HandoverAcceptance {
        offer: Some(offer),
        accepted_at_unix_ms: accepted_at,
    };
    let env = county
        .node("region")
        .sign(PayloadKind::HandoverAcceptance, acceptance.encode_to_vec());
    for to in ["vaxjo", "polisen"] {
        county.push("region", to, std::slice::from_ref(&env)).await;
    }
    county.settle_all(6).await;
}

#[tokio::test]
async fn a_withdrawn_offer_cannot_be_accepted_by_backdating_the_acceptance() {
    // The region keeps the offer it was sent; Växjö withdraws it; the region then signs an
    // acceptance dated before the withdrawal. Its own clock is its word only: the home that
    // made the offer decides whether it was still open.
    let (county, plan) = county_with_plan().await;
    let offered_at = county.node("vaxjo").now_ms();
    offer(county.node("vaxjo"), "skola", &plan, "region", "skola").await;
    county.settle_all(6).await;
    let kept = county
        .node("region")
        .get(&keys::handover(&plan))
        .unwrap()
        .expect("the region holds the offer");
    let kept = SignedEnvelope::decode(kept.as_slice()).unwrap();
    county.advance(60_000);
    county
        .node("vaxjo")
        .withdraw_handover(&actor("vaxjo", "skola"), &plan)
        .await
        .expect("withdraw");
    county.settle_all(6).await;
    backdated_acceptance(&county, kept, offered_at + 1_000).await;
    for org in ["vaxjo", "polisen", "region"] {
        assert_eq!(home_at(&county, org, &plan), "vaxjo", "at {org}");
    }
}

#[tokio::test]
async fn an_expired_offer_cannot_be_accepted_by_backdating_the_acceptance() {
    let (county, plan) = county_with_plan().await;
    let offered_at = county.node("vaxjo").now_ms();
    offer(county.node("vaxjo"), "skola", &plan, "region", "skola").await;
    county.settle_all(6).await;
    let kept = county
        .node("region")
        .get(&keys::handover(&plan))
        .unwrap()
        .expect("the region holds the offer");
    let kept = SignedEnvelope::decode(kept.as_slice()).unwrap();
    county.advance(30 * 86_400_000);
    backdated_acceptance(&county, kept, offered_at + 1_000).await;
    for org in ["vaxjo", "polisen", "region"] {
        assert_eq!(home_at(&county, org, &plan), "vaxjo", "at {org}");
    }
}

#[tokio::test]
async fn a_node_new_to_a_plan_takes_no_handover_its_home_did_not_confirm() {
    // Alvesta has never held the plan. The region, offered it and then withdrawn, relays the
    // plan's creation record with its own backdated acceptance: a node noting a plan's
    // provenance takes a handover only as the offering home's signed confirmation.
    let county = County::new(&["vaxjo", "region", "alvesta"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "skola").await;
    consent(home, "skola", &plan, &[("region", ALL)]).await;
    county.settle_all(6).await;
    let offered_at = home.now_ms();
    offer(home, "skola", &plan, "region", "skola").await;
    county.settle_all(6).await;
    let kept = county
        .node("region")
        .get(&keys::handover(&plan))
        .unwrap()
        .expect("the region holds the offer");
    let kept = SignedEnvelope::decode(kept.as_slice()).unwrap();
    home.withdraw_handover(&actor("vaxjo", "skola"), &plan)
        .await
        .expect("withdraw");
    county.settle_all(6).await;
    let creation = county
        .node("region")
        .get(&keys::creation(&plan))
        .unwrap()
        .expect("the region holds the creation record");
    let creation = SignedEnvelope::decode(creation.as_slice()).unwrap();
    let acceptance = HandoverAcceptance {
        offer: Some(kept),
        accepted_at_unix_ms: offered_at + 1_000,
    };
    let acc = county
        .node("region")
        .sign(PayloadKind::HandoverAcceptance, acceptance.encode_to_vec());
    let results = county.push("region", "alvesta", &[creation, acc]).await;
    assert!(
        results[0].accepted,
        "a creation record may be relayed: {results:?}"
    );
    assert!(!results[1].accepted, "{results:?}");
    assert_eq!(
        county.node("alvesta").provisional_home(&plan).unwrap(),
        Some("vaxjo".to_string())
    );
}

#[tokio::test]
async fn a_confirmed_handover_reaches_a_node_new_to_the_plan_through_its_provenance() {
    // After a handover the new home grants a node that never held the plan: the plan's
    // provenance it sends first carries the old home's confirmation, which that node takes.
    let county = County::new(&["vaxjo", "region", "alvesta"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "skola").await;
    consent(home, "skola", &plan, &[("region", ALL)]).await;
    county.settle_all(6).await;
    hand_over(&county, &plan, ("vaxjo", "skola"), ("region", "skola")).await;
    assert_eq!(home_at(&county, "region", &plan), "region");
    assert_eq!(home_at(&county, "vaxjo", &plan), "region");
    consent(
        county.node("region"),
        "skola",
        &plan,
        &[("vaxjo", ALL), ("alvesta", ALL)],
    )
    .await;
    county.settle_all(6).await;
    assert_eq!(home_at(&county, "alvesta", &plan), "region");
}
