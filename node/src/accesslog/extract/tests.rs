//! A real extract, then every way of presenting less than the whole truth: each must fail with a
//! reason, and the honest one must verify.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kronobarn_proto::v1::{AccessLogExtract, AccessRecord};
use kronobarn_tlog::{inclusion_multiproof, verify_inclusion_multi};

use super::*;
use crate::accesslog::AccessLog;
use crate::clock::Clock;
use crate::store::MemoryStore;

const ORG: &str = "vaxjo-kommun";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn record(plan: &str, n: usize) -> AccessRecord {
    AccessRecord {
        at_unix_ms: 1_795_690_800_000 + n as i64,
        organization: ORG.into(),
        user_id: format!("user.{n}"),
        plan_id: plan.into(),
        reason: "participant".into(),
        ..Default::default()
    }
}

/// A log of interleaved plans in batches of several records, and its store.
fn log_with(signer: SigningKey) -> (Arc<MemoryStore>, AccessLog) {
    let store = Arc::new(MemoryStore::new());
    let (clock, _) = Clock::manual(1_795_690_800_000);
    let log = AccessLog::open(store.clone(), signer, ORG.into(), clock).unwrap();
    let mut n = 0;
    for batch in [
        &["p1", "p2", "p1"][..],
        &["p3"],
        &["p2", "p2"],
        &["p1"],
        &["p3", "p1", "p2"],
        &["p2"],
        &["p1"],
    ] {
        let records: Vec<AccessRecord> = batch
            .iter()
            .map(|p| {
                n += 1;
                record(p, n)
            })
            .collect();
        log.append_with(&records, Vec::new()).unwrap();
    }
    (store, log)
}

fn extract_of(log: &AccessLog, store: &MemoryStore, plan: &str) -> AccessLogExtract {
    let snap = log.snapshot(Some(plan));
    build(store, &snap, Vec::new()).unwrap()
}

fn trust() -> Trust {
    Trust::pinned(ORG, key(1).verifying_key())
}

#[test]
fn an_honest_extract_verifies_and_shows_only_its_plan() {
    let (store, log) = log_with(key(1));
    let x = extract_of(&log, &store, "p1");
    let v = verify(&x, &trust()).unwrap();
    let users: Vec<&str> = v.records.iter().map(|(_, r)| r.user_id.as_str()).collect();
    assert_eq!(users, ["user.1", "user.3", "user.7", "user.9", "user.12"]);
    assert_eq!(v.checkpoint.size, 12);
    let json = String::from_utf8(json::to_json(&x)).unwrap();
    assert!(!json.contains("p2") && !json.contains("p3"));
    // Through the JSON file and back, unchanged.
    assert_eq!(
        verify(&json::from_json(json.as_bytes()).unwrap(), &trust()),
        Ok(v)
    );
    // A plan without records: the map proves its absence.
    let none = extract_of(&log, &store, "p9");
    assert!(verify(&none, &trust()).unwrap().records.is_empty());
}

#[test]
fn a_record_dropped_from_the_middle_is_caught() {
    let (store, log) = log_with(key(1));
    let mut x = extract_of(&log, &store, "p1");
    let gone = x.entries.remove(2);
    assert_eq!(
        verify(&x, &trust()),
        Err(ExtractError::RecordLeftOut {
            index: x.entries[2].index,
            previous: gone.index
        })
    );
}

#[test]
fn the_newest_record_dropped_is_caught() {
    let (store, log) = log_with(key(1));
    let mut x = extract_of(&log, &store, "p1");
    let newest = x.entries.pop().unwrap();
    assert_eq!(
        verify(&x, &trust()),
        Err(ExtractError::NewestMissing {
            newest: newest.index
        })
    );
}

#[test]
fn a_record_shown_only_as_a_hash_in_the_proof_is_caught() {
    // The strongest form of leaving a record out: its leaf becomes a bare hash inside a proof
    // that is valid for the records still shown, so every record shown is provably in the log.
    let (store, log) = log_with(key(1));
    let mut x = extract_of(&log, &store, "p1");
    let size = log.size();
    let gone = x.entries.remove(1);
    let indices: Vec<u64> = x.entries.iter().map(|e| e.index).collect();
    let proof = inclusion_multiproof(
        &indices,
        size,
        &crate::accesslog::leaf::StoredTree(store.as_ref()),
    )
    .unwrap();
    x.inclusion_proof = proof.concat();
    let body = log.snapshot(None).body;
    let leaves: Vec<_> = x.entries.iter().map(|e| (e.index, leaf::of(e))).collect();
    assert_eq!(
        verify_inclusion_multi(&leaves, size, &proof, &body.root),
        Ok(())
    );
    // Only completeness can catch it: the next record links to the one not shown.
    assert_eq!(
        verify(&x, &trust()),
        Err(ExtractError::RecordLeftOut {
            index: x.entries[1].index,
            previous: gone.index
        })
    );
    // With the link of the next record rewritten to skip it, the chain looks whole but is one
    // short of what the signed plan map counts (and that record is no longer the one in the log).
    x.entries[1].plan_previous = x.entries[0].index + 1;
    assert_eq!(
        verify(&x, &trust()),
        Err(ExtractError::WrongCount {
            expected: 5,
            shown: 4
        })
    );
}

#[test]
fn a_changed_byte_is_caught() {
    let (store, log) = log_with(key(1));
    let x = extract_of(&log, &store, "p1");
    let mut y = x.clone();
    let n = y.entries[3].record.len();
    y.entries[3].record[n - 1] ^= 1;
    assert!(matches!(
        verify(&y, &trust()),
        Err(ExtractError::NotInLog(_))
    ));
    let mut y = x.clone();
    y.inclusion_proof[7] ^= 1;
    assert!(matches!(
        verify(&y, &trust()),
        Err(ExtractError::NotInLog(_))
    ));
    let mut y = x.clone();
    y.checkpoint.as_mut().unwrap().payload[20] ^= 1;
    assert!(matches!(
        verify(&y, &trust()),
        Err(ExtractError::Checkpoint(_))
    ));
    let mut y = x.clone();
    if let Some(plan_map_proof::End::Head(h)) = &mut y.plan_map_proof.as_mut().unwrap().end {
        h[47] ^= 1;
    }
    assert!(matches!(
        verify(&y, &trust()),
        Err(ExtractError::MapProof(_))
    ));
    // Every single byte of the file, flipped in turn, is caught (or makes it unreadable).
    let text = json::to_json(&x);
    for i in (0..text.len()).step_by(7) {
        let mut t = text.clone();
        t[i] ^= 0x01;
        if let Ok(y) = json::from_json(&t)
            && y != x
        {
            assert!(verify(&y, &trust()).is_err(), "byte {i} flipped verifies");
        }
    }
}

#[test]
fn an_extract_resigned_with_a_fresh_key_is_refused() {
    // A forger rebuilds the whole log with its own key: everything inside is consistent.
    let (store, log) = log_with(key(66));
    let forged = extract_of(&log, &store, "p1");
    assert!(verify(&forged, &Trust::pinned(ORG, key(66).verifying_key())).is_ok());
    let refused = verify(&forged, &trust()).unwrap_err();
    assert!(
        matches!(refused, ExtractError::WrongKey { .. }),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("not made by that organisation's node")
    );
    // A roster that does not know the organisation at all.
    assert_eq!(
        verify(
            &forged,
            &Trust::roster([("polisen".to_string(), key(2).verifying_key())])
        ),
        Err(ExtractError::UnknownOrganization(ORG.into()))
    );
}

#[test]
fn cosignatures_are_checked_against_the_roster() {
    let (store, log) = log_with(key(1));
    let snap = log.snapshot(Some("p1"));
    let witness = key(2);
    let co = signed::cosign(&snap.checkpoint.payload, &witness);
    let x = build(store.as_ref(), &snap, vec![signed::compact("polisen", &co)]).unwrap();
    let roster = Trust::roster([
        (ORG.to_string(), key(1).verifying_key()),
        ("polisen".to_string(), witness.verifying_key()),
    ]);
    assert_eq!(verify(&x, &roster).unwrap().witnesses, ["polisen"]);
    // Pinned: the node's key only, the witness cannot be checked and is said to be unchecked.
    assert_eq!(
        verify(&x, &trust()).unwrap().unchecked_cosignatures,
        ["polisen"]
    );
    let mut y = x.clone();
    y.cosignatures[0].signature[0] ^= 1;
    assert_eq!(
        verify(&y, &roster),
        Err(ExtractError::Cosignature("polisen".into()))
    );
}

#[test]
fn a_previous_key_is_trusted_only_for_checkpoints_made_before_its_rotation_ended() {
    // Made with key 66 at 1 795 690 800 000 (the log's clock); the roster now lists key 1 and
    // keeps key 66 as the previous one until some instant.
    let (store, log) = log_with(key(66));
    let x = extract_of(&log, &store, "p1");
    let made_at = 1_795_690_800_000;
    let during = Trust::pinned(ORG, key(1).verifying_key()).with_previous(
        ORG,
        key(66).verifying_key(),
        made_at + 1,
    );
    assert!(verify(&x, &during).is_ok());
    let after = Trust::pinned(ORG, key(1).verifying_key()).with_previous(
        ORG,
        key(66).verifying_key(),
        made_at,
    );
    assert!(matches!(
        verify(&x, &after),
        Err(ExtractError::WrongKey { .. })
    ));
}
