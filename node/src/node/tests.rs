//! The write path on an in-memory store: what one write puts in one batch, what a crash keeps,
//! and the refusals a writer gets.

use kronobarn_gateway::{Backend, BackendError, Conflict, Denial};
use kronobarn_proto::v1::{Category, Fragment, Intervention, fragment::Body};

use crate::accesslog::verify_store;
use crate::keys;
use crate::testkit::{County, actor, add_participant, consent, create_plan};

fn intervention(plan_id: &str, what: &str) -> Fragment {
    Fragment {
        plan_id: plan_id.to_string(),
        body: Some(Body::Intervention(Intervention {
            what: what.into(),
            who: "Skolans kurator".into(),
            from_date: "2026-12-01".into(),
            follow_up_date: "2027-01-15".into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_acknowledged_write_survives_a_crash_with_its_access_record() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    let plan = create_plan(n, "skola").await;
    let stored = n
        .put_fragment(
            &actor("vaxjo", "skola"),
            intervention(&plan.plan_id, "Stöd"),
            None,
        )
        .await
        .unwrap();
    let after = county.nodes["vaxjo"].store.crash();
    let f = keys::fragment(&plan.plan_id, &stored.fragment.fragment_id);
    assert!(
        crate::store::Store::get(after.as_ref(), &f)
            .unwrap()
            .is_some()
    );
    // The follow-up index entry came in the same batch.
    let due = keys::due("2027-01-15", &plan.plan_id, &stored.fragment.fragment_id);
    assert!(
        crate::store::Store::get(after.as_ref(), &due)
            .unwrap()
            .is_some()
    );
    // Header, participant and intervention: three writes, three records, and the log verifies.
    let head = verify_store(after.as_ref(), "vaxjo", Default::default(), |_| {}).unwrap();
    assert_eq!(head.size, 3);
}

#[tokio::test]
async fn a_write_not_yet_flushed_is_lost_whole_in_a_crash() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    let plan = create_plan(n, "skola").await;
    let before = verify_store(
        county.nodes["vaxjo"].store.crash().as_ref(),
        "vaxjo",
        Default::default(),
        |_| {},
    )
    .unwrap()
    .size;
    // Records applied but never flushed: neither the data nor its record survive.
    n.write(
        &[crate::records::permitted_peer(
            "x",
            0,
            &plan.plan_id,
            "f",
            kronobarn_proto::v1::AccessAction::Receive,
            "test",
        )],
        vec![crate::store::Op::Put(b"k".to_vec(), b"v".to_vec())],
    )
    .unwrap();
    let after = county.nodes["vaxjo"].store.crash();
    assert_eq!(
        crate::store::Store::get(after.as_ref(), b"k").unwrap(),
        None
    );
    assert_eq!(
        verify_store(after.as_ref(), "vaxjo", Default::default(), |_| {})
            .unwrap()
            .size,
        before
    );
}

#[tokio::test]
async fn a_stale_version_is_refused_and_changes_nothing() {
    let county = County::new(&["vaxjo"]);
    let n = county.node("vaxjo");
    let who = actor("vaxjo", "skola");
    let plan = create_plan(n, "skola").await;
    let first = n
        .put_fragment(&who, intervention(&plan.plan_id, "Ett"), None)
        .await
        .unwrap();
    let mut second = first.fragment.clone();
    second.body = intervention(&plan.plan_id, "Två").body;
    let v1 = first.fragment.version;
    n.put_fragment(&who, second.clone(), v1).await.unwrap();
    // Writing again from the version read before is refused.
    let e = n.put_fragment(&who, second, v1).await.unwrap_err();
    assert!(
        matches!(e, BackendError::Conflict(Conflict::StaleVersion, _)),
        "{e:?}"
    );
    // Creating over an existing id without a version is refused too.
    let mut again = first.fragment.clone();
    again.version = None;
    let e = n.put_fragment(&who, again, None).await.unwrap_err();
    assert!(
        matches!(e, BackendError::Conflict(Conflict::StaleVersion, _)),
        "{e:?}"
    );
}

#[tokio::test]
async fn only_the_home_writes_who_takes_part() {
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
    // The region holds the plan but may not add participants to it.
    let region = county.node("region");
    let f = Fragment {
        plan_id: plan.plan_id.clone(),
        body: Some(Body::Participant(kronobarn_proto::v1::Participant {
            organization: "region".into(),
            unit: "bvc".into(),
            contact: None,
        })),
        ..Default::default()
    };
    let e = region
        .put_fragment(&actor("region", "bup"), f, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, BackendError::Denied(Denial::NotHome, _)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_consent_queues_itself_before_the_fragments_it_lets_through() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await;
    add_participant(home, "skola", &plan.plan_id, "region", "bup").await;
    home.put_fragment(
        &actor("vaxjo", "skola"),
        intervention(&plan.plan_id, "Stöd"),
        None,
    )
    .await
    .unwrap();
    consent(
        home,
        "skola",
        &plan.plan_id,
        &[("region", &[Category::Interventions])],
    )
    .await;
    let to_region = county.outbox("vaxjo", "region");
    let kinds: Vec<i32> = to_region.iter().map(|e| e.kind).collect();
    use kronobarn_proto::v1::PayloadKind;
    // Who the plan belongs to, then the consent, then what it lets through.
    assert_eq!(kinds[0], PayloadKind::PlanCreation as i32);
    assert_eq!(kinds[1], PayloadKind::Consent as i32);
    assert!(
        kinds[2..]
            .iter()
            .all(|k| *k == PayloadKind::Fragment as i32)
    );
    // Only the intervention is granted: the header and participants stay home.
    assert_eq!(to_region.len(), 3, "{kinds:?}");
    // The police take no part and are granted nothing: nothing queued for them.
    assert!(county.outbox("vaxjo", "polisen").is_empty());
}
