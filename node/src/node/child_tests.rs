//! The child behind a plan at one node: who may be responsible, one open plan per child (and
//! what stays secret between authorities), a receiver that holds two homes' plans for a child,
//! the handover due in the follow-up index, and the index under a rotated key.

use kronobarn_gateway::{Backend, BackendError, Precondition};
use kronobarn_policy::responsibility::Exceptions;
use kronobarn_proto::ids::HANDOVER_DUE_ID;
use kronobarn_proto::v1::{
    AccessRecord, Category, Child, Fragment, IdentityKind, PayloadKind, PlanHeader, PlanStage,
    PlanStatus, StageChange, Version, WheelAssessment, fragment::Body,
};
use prost::Message;

use super::Node;
use crate::testkit::{County, actor, add_participant, consent, create_plan, header};

/// A header for the same child as `like`, naming `unit` responsible.
fn same_child(like: &PlanHeader, unit: &str) -> PlanHeader {
    PlanHeader {
        responsible_unit: unit.into(),
        ..like.clone()
    }
}

async fn create(n: &Node, unit: &str, h: PlanHeader) -> Result<String, BackendError> {
    n.create_plan(&actor(n.organization_id(), unit), h, None)
        .await
        .map(|v| v.plan_id)
}

fn header_fragment(plan_id: &str, h: PlanHeader) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        fragment_id: "header".into(),
        body: Some(Body::Header(h)),
        ..Default::default()
    }
}

async fn rewrite_header(
    n: &Node,
    unit: &str,
    plan_id: &str,
    h: PlanHeader,
) -> Result<(), BackendError> {
    let current = n.load_plan_facts(plan_id).unwrap().unwrap();
    let version = current
        .fragments
        .iter()
        .find(|f| f.fragment.fragment_id == "header")
        .and_then(|f| f.fragment.version);
    n.put_fragment(
        &actor(n.organization_id(), unit),
        header_fragment(plan_id, h),
        version,
    )
    .await
    .map(|_| ())
}

async fn close(n: &Node, unit: &str, plan_id: &str) {
    let status = Fragment {
        plan_id: plan_id.into(),
        fragment_id: "status".into(),
        body: Some(Body::Status(PlanStatus {
            history: vec![StageChange {
                stage: PlanStage::Closed as i32,
                at_unix_ms: n.now_ms(),
                changed_by: "rektor".into(),
                reason: "behoven är mötta".into(),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    n.put_fragment(&actor(n.organization_id(), unit), status, None)
        .await
        .expect("close");
}

#[tokio::test]
async fn the_responsible_unit_must_be_of_the_kind_the_model_names() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    // A unit the directory does not describe is never responsible.
    let e = create(n, "enhet", header("enhet")).await.unwrap_err();
    let BackendError::Precondition(Precondition::ResponsibleKind, why) = &e else {
        panic!("{e:?}");
    };
    assert!(why.contains("expected: school"), "{why}");
    // A three-year-old's Barnens bästa-ansvarig is BVC (or a preschool), not the school.
    let mut small = header("skola");
    small.child.as_mut().unwrap().birth_date = "2023-05-01".into();
    let e = create(n, "skola", small.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("responsible-kind:") && e.contains("child-health-care"),
        "{e}"
    );
    assert!(create(n, "bvc", same_child(&small, "bvc")).await.is_ok());
    // Naming another responsible unit is checked too; keeping it is not.
    let h = header("skola");
    let plan = create(n, "skola", h.clone()).await.unwrap();
    let e = rewrite_header(n, "skola", &plan, same_child(&h, "bvc"))
        .await
        .unwrap_err();
    assert!(matches!(e, BackendError::Precondition(..)), "{e:?}");
    let mut followed = h.clone();
    followed.follow_up_dates = vec!["2027-03-01".into()];
    rewrite_header(n, "skola", &plan, followed).await.unwrap();
}

#[tokio::test]
async fn an_operators_exception_is_used_and_recorded() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    n.set_responsibility(
        Exceptions {
            units: [("vaxjo".to_string(), "enhet".to_string())].into(),
            ..Default::default()
        },
        Vec::new(),
    );
    let plan = create(n, "enhet", header("enhet"))
        .await
        .expect("allowed by the exception");
    let page = n.access_log(&plan, None, 100).unwrap();
    let reasons: Vec<(String, String)> = page
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .map(|r| (r.fragment_id, r.reason))
        .collect();
    assert!(
        reasons.contains(&("header".into(), "responsible-by-exception".into())),
        "{reasons:?}"
    );
    // Only that unit.
    assert!(create(n, "annan", header("annan")).await.is_err());
}

#[tokio::test]
async fn a_child_has_one_open_plan_at_a_node() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    let h = header("skola");
    let first = create(n, "skola", h.clone()).await.unwrap();
    let e = create(n, "skola", h.clone()).await.unwrap_err();
    let BackendError::OpenPlanExists { plan_id, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(plan_id.as_deref(), Some(first.as_str()));
    // Another child is another plan.
    create(n, "skola", header("skola")).await.unwrap();
    // A closed plan does not count.
    close(n, "skola", &first).await;
    let second = create(n, "skola", h.clone()).await.unwrap();
    // An unborn child's plan given the number of a child with an open plan here: refused when
    // the writer takes part in that plan, named since it may know of it.
    let unborn = PlanHeader {
        child: Some(Child {
            identity_kind: IdentityKind::Unborn as i32,
            expected_month: "2027-03".into(),
            ..Default::default()
        }),
        ..header("skola")
    };
    let mut small = h.clone();
    small.child.as_mut().unwrap().birth_date = "2026-11-20".into();
    small.child.as_mut().unwrap().personal_identity_number = "KRONOBERG-R-0002".into();
    let small_plan = create(n, "bvc", same_child(&small, "bvc")).await.unwrap();
    let expected = create(n, "mvc", same_child(&unborn, "mvc")).await.unwrap();
    add_participant(n, "bvc", &small_plan, "vaxjo", "mvc").await;
    let e = rewrite_header(n, "mvc", &expected, same_child(&small, "mvc"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::OpenPlanExists { plan_id: Some(p), .. } if *p == small_plan),
        "{e:?}"
    );
    // The node still knows the closed plan was the same child's (GetPlan leaves closed ones out).
    assert_eq!(n.same_child(&second).unwrap(), vec![first]);
}

#[tokio::test]
async fn another_authoritys_plan_for_the_child_stays_secret_from_the_writer() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    // Social services (here allowed to hold the thread by the operator) has a plan for the child.
    n.set_responsibility(
        Exceptions {
            units: [("vaxjo".to_string(), "ifo".to_string())].into(),
            ..Default::default()
        },
        Vec::new(),
    );
    let h = header("ifo");
    let social = create(n, "ifo", h.clone()).await.unwrap();
    // The school, another authority taking no part in it, is not told: secrecy runs between
    // authorities as between nodes. The node knows both belong to one child.
    let school = create(n, "skola", same_child(&h, "skola")).await.unwrap();
    assert_eq!(n.same_child(&school).unwrap(), vec![social.clone()]);
    // Social services opening another is refused, naming its own plan.
    let e = create(n, "ifo", h).await.unwrap_err();
    assert!(
        matches!(&e, BackendError::OpenPlanExists { plan_id: Some(p), .. } if *p == social),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_receiver_knows_two_homes_plans_are_one_childs() {
    let county = County::new(&["vaxjo", "alvesta"]);
    let (vaxjo, alvesta) = (county.node("vaxjo"), county.node("alvesta"));
    let h = header("skola");
    let own = create(alvesta, "skola", h.clone()).await.unwrap();
    let theirs = create(vaxjo, "skola", h.clone()).await.unwrap();
    add_participant(vaxjo, "skola", &theirs, "alvesta", "skola").await;
    consent(
        vaxjo,
        "skola",
        &theirs,
        &[("alvesta", &[Category::Identity, Category::Participants])],
    )
    .await;
    county.settle_all(6).await;
    assert_eq!(alvesta.same_child(&own).unwrap(), vec![theirs.clone()]);
    assert_eq!(alvesta.same_child(&theirs).unwrap(), vec![own.clone()]);
    // Alvesta's school takes part in Växjö's plan: a third plan is refused, naming it.
    close(alvesta, "skola", &own).await;
    let e = create(alvesta, "skola", h.clone()).await.unwrap_err();
    assert!(
        matches!(&e, BackendError::OpenPlanExists { plan_id: Some(p), .. } if *p == theirs),
        "{e:?}"
    );
    // When the consent goes, the copy and its place in the index go with it.
    crate::testkit::revoke(vaxjo, "skola", &theirs, &["alvesta"]).await;
    county.settle_all(6).await;
    assert_eq!(alvesta.same_child(&own).unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_handover_falls_due_in_the_follow_up_index() {
    let county = County::new(&["region"]);
    let n = county.node("region");
    let unborn = PlanHeader {
        child: Some(Child {
            identity_kind: IdentityKind::Unborn as i32,
            expected_month: "2026-12".into(),
            ..Default::default()
        }),
        ..header("mvc")
    };
    let plan = create(n, "mvc", unborn.clone()).await.unwrap();
    let handovers = |n: &Node| -> Vec<(String, String)> {
        n.follow_ups_due("", None, "2099-12-31", 1000)
            .unwrap()
            .into_iter()
            .filter(|(_, _, f)| f == HANDOVER_DUE_ID)
            .map(|(d, p, _)| (d, p))
            .collect()
    };
    assert_eq!(handovers(n), vec![], "maternity care holds it until birth");
    // Born on 20 November: the number (a reserve number from the delivery ward) is added.
    let mut born = unborn.clone();
    born.child = Some(Child {
        identity_kind: IdentityKind::ReserveNumber as i32,
        personal_identity_number: "KRONOBERG-R-0001".into(),
        birth_date: "2026-11-20".into(),
        ..Default::default()
    });
    rewrite_header(n, "mvc", &plan, born.clone()).await.unwrap();
    // Due on the birth day; listed from the day it was written (no birthday in a key).
    assert_eq!(handovers(n), vec![("2026-11-26".to_string(), plan.clone())]);
    // BVC takes over (the region's maternity care names its BVC): the next handover is when
    // school starts, listed from that month's first.
    rewrite_header(n, "mvc", &plan, same_child(&born, "bvc"))
        .await
        .unwrap();
    assert_eq!(handovers(n), vec![("2032-07-01".to_string(), plan.clone())]);
}

#[tokio::test]
async fn a_peer_cannot_claim_another_organisations_authority() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    county.settle_all(6).await;
    let forged = Fragment {
        plan_id: plan.clone(),
        fragment_id: "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0".into(),
        home_organization: "region".into(),
        home_authority: "vaxjo-skola".into(),
        version: Some(Version {
            physical_ms: home.now_ms() as u64,
            logical: 0,
        }),
        category: Category::WheelHealth as i32,
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: 1,
            needs: "påhittat".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let env = county
        .node("region")
        .sign(PayloadKind::Fragment, forged.encode_to_vec());
    let results = county.push("region", "vaxjo", &[env]).await;
    assert!(!results[0].accepted, "{results:?}");
    assert!(
        results[0].reason.starts_with("signer-not-author"),
        "{results:?}"
    );
}

#[tokio::test]
async fn the_child_index_follows_a_key_rotation() {
    let mut county = County::new(&["vaxjo", "region"]);
    let h = header("skola");
    let first = create(county.node("vaxjo"), "skola", h.clone())
        .await
        .unwrap();
    county.rotate_key("vaxjo", 86_400_000);
    let e = create(county.node("vaxjo"), "skola", h).await.unwrap_err();
    assert!(
        matches!(&e, BackendError::OpenPlanExists { plan_id: Some(p), .. } if *p == first),
        "the index was rebuilt under the new key: {e:?}"
    );
}
