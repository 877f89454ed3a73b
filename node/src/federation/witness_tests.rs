//! Witnesses on in-process nodes: honest logs are cosigned round after round, and a node that
//! rewrites its log, however consistently, is refused and reported.

use std::sync::Arc;

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::{AccessAction, AccessRecord, WitnessProblem};
use prost::Message;

use super::*;
use crate::accesslog::{Problem, check_against, stored, verify_store};
use crate::clock::Clock;
use crate::store::MemoryStore;
use crate::testkit::{County, create_plan};

fn read(plan: &str, n: usize) -> AccessRecord {
    crate::records::permitted_peer("x", n as i64, plan, "f", AccessAction::Read, "participant")
}

async fn grow(node: &Node, plan: &str, n: usize) {
    for i in 0..n {
        node.write(&[read(plan, i), read(plan, i + 1)], Vec::new())
            .unwrap();
    }
    node.durable().await.unwrap();
}

#[tokio::test]
async fn honest_rounds_are_cosigned_with_proofs_from_the_last_one() {
    let county = County::new(&["vaxjo", "polisen", "region"]);
    let v = county.node("vaxjo");
    let plan = create_plan(v, "skola").await.plan_id;
    let mut sizes = Vec::new();
    for round in 0..4 {
        grow(v, &plan, round).await;
        let c = v.cosigned_checkpoint(None).await.unwrap();
        assert_eq!(c.cosignatures.len(), 2, "round {round}");
        sizes.push(c.snapshot.body.size);
    }
    // The same size again is cosigned without a proof.
    assert_eq!(
        v.cosigned_checkpoint(None)
            .await
            .unwrap()
            .cosignatures
            .len(),
        2
    );
    // A node that lost what its witnesses cosigned proves from what they tell it they hold.
    v.apply(vec![Op::Delete(keys::witness("polisen"))]).unwrap();
    grow(v, &plan, 2).await;
    let c = v.cosigned_checkpoint(None).await.unwrap();
    assert_eq!(c.cosignatures.len(), 2);
    let p = county.node("polisen");
    let (_, held) = newest(p, "vaxjo").unwrap();
    assert_eq!(held.size, c.snapshot.body.size);
    assert!(alarm(p, "vaxjo").is_none());
    let status = p.witness_status().unwrap();
    let w = status
        .witnessed
        .iter()
        .find(|w| w.organization == "vaxjo")
        .unwrap();
    assert_eq!((w.size, w.alarm.is_none()), (held.size, true));
    // Checkpoints within the same hour: only the newest is kept.
    assert_eq!(w.cosigned, 1);
    let mine = v.witness_status().unwrap();
    assert!(mine.witnesses.iter().all(|w| w.size == held.size));
}

#[tokio::test]
async fn a_rewritten_log_grown_past_the_witnessed_size_is_refused_and_raises_an_alarm() {
    let county = County::new(&["vaxjo", "polisen"]);
    let v = county.node("vaxjo");
    let plan = create_plan(v, "skola").await.plan_id;
    grow(v, &plan, 3).await;
    let witnessed = v.cosigned_checkpoint(None).await.unwrap();
    assert_eq!(witnessed.cosignatures.len(), 1);
    let witnessed_size = witnessed.snapshot.body.size;

    // The node rewrites one record (who read) and rebuilds the whole log around it with its own
    // key, so the log is consistent on its own; then it grows past the witnessed size.
    let original = stored::entries(county.nodes["vaxjo"].store.as_ref(), 0, usize::MAX).unwrap();
    let store = Arc::new(MemoryStore::new());
    let (clock, _) = Clock::manual(crate::testkit::START_MS);
    let forged = Node::open_with_clock(
        "vaxjo".into(),
        store.clone(),
        county.nodes["vaxjo"].key.clone(),
        clock,
    )
    .unwrap();
    for e in &original {
        let mut r = AccessRecord::decode(e.record.as_slice()).unwrap();
        if e.index == 2 {
            r.user_id = "someone-else".into();
        }
        forged.write(&[r], Vec::new()).unwrap();
    }
    grow(&forged, &plan, 3).await;
    let on_its_own = verify_store(store.as_ref(), "vaxjo", Default::default(), |_| {});
    assert!(on_its_own.is_ok(), "{on_its_own:?}");

    forged.enable_cosigning(county.witnesses_for("vaxjo"));
    let refused = forged.cosigned_checkpoint(None).await.unwrap();
    assert!(refused.cosignatures.is_empty(), "the witness refused");
    assert!(refused.snapshot.body.size > witnessed_size);

    // The witness raised an alarm, kept the refused checkpoint, and says so in its status.
    let p = county.node("polisen");
    let a = alarm(p, "vaxjo").unwrap();
    assert_eq!(a.problem, WitnessProblem::Inconsistent as i32);
    assert_eq!(
        (a.cosigned_size, a.offered_size),
        (witnessed_size, refused.snapshot.body.size)
    );
    assert_eq!(a.offered, Some(refused.snapshot.checkpoint.clone()));
    let status = p.witness_status().unwrap();
    assert!(status.witnessed.iter().any(|w| w.alarm.is_some()));
    // It cosigns nothing more of that log, even the honest node's next checkpoint.
    assert!(
        v.cosigned_checkpoint(None)
            .await
            .unwrap()
            .cosignatures
            .is_empty()
    );

    // `log verify` of the rewritten log against what the witness holds: rewritten.
    let (_, held) = newest(p, "vaxjo").unwrap();
    assert_eq!(held.size, witnessed_size);
    let verified = verify_store(store.as_ref(), "vaxjo", [held.size].into(), |_| {}).unwrap();
    let e = check_against(&verified, &held).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::Rewritten {
            checkpoint_size: witnessed_size
        }
    );
    // The honest log matches it.
    let honest = verify_store(
        county.nodes["vaxjo"].store.as_ref(),
        "vaxjo",
        [held.size].into(),
        |_| {},
    )
    .unwrap();
    assert_eq!(check_against(&honest, &held), Ok(()));
}

#[tokio::test]
async fn a_smaller_or_forked_checkpoint_is_a_split_view() {
    for shorter in [true, false] {
        let county = County::new(&["vaxjo", "polisen"]);
        let v = county.node("vaxjo");
        let plan = create_plan(v, "skola").await.plan_id;
        grow(v, &plan, 2).await;
        let first = v.cosigned_checkpoint(None).await.unwrap();
        assert_eq!(first.cosignatures.len(), 1);
        // Another log under the same key: shorter, or as long with other records.
        let store = Arc::new(MemoryStore::new());
        let (clock, _) = Clock::manual(crate::testkit::START_MS);
        let other = Node::open_with_clock(
            "vaxjo".into(),
            store,
            county.nodes["vaxjo"].key.clone(),
            clock,
        )
        .unwrap();
        let n = if shorter {
            first.snapshot.body.size - 1
        } else {
            first.snapshot.body.size
        };
        for i in 0..n {
            other
                .write(&[read("another", i as usize)], Vec::new())
                .unwrap();
        }
        other.enable_cosigning(county.witnesses_for("vaxjo"));
        assert!(
            other
                .cosigned_checkpoint(None)
                .await
                .unwrap()
                .cosignatures
                .is_empty()
        );
        let expected = if shorter {
            WitnessProblem::Truncated
        } else {
            WitnessProblem::Forked
        };
        assert_eq!(
            alarm(county.node("polisen"), "vaxjo").unwrap().problem,
            expected as i32
        );
    }
}

#[tokio::test]
async fn a_checkpoint_not_signed_by_the_roster_key_is_refused_without_an_alarm() {
    let county = County::new(&["vaxjo", "polisen"]);
    let p = county.node("polisen");
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let body = kronobarn_tlog::Checkpoint {
        origin: kronobarn_tlog::Origin::new("vaxjo").unwrap(),
        size: 1,
        root: [1; 32],
        map_root: [2; 32],
        at_unix_ms: 1,
    };
    let req = WitnessCheckpointRequest {
        checkpoint: Some(signed::sign(&body, &stranger)),
        ..Default::default()
    };
    assert!(matches!(
        handle(p, &county.roster, "vaxjo", req.clone()),
        Err(WitnessError::Invalid(_))
    ));
    // Signed by polisen's own key but about vaxjo's log: not polisen's to send.
    let own = signed::sign(&body, &county.nodes["polisen"].key);
    let req = WitnessCheckpointRequest {
        checkpoint: Some(own),
        ..Default::default()
    };
    assert!(handle(county.node("vaxjo"), &county.roster, "polisen", req).is_err());
    assert!(alarm(p, "vaxjo").is_none());
}
