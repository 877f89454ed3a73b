//! A tampered access log is detected, and the verifier names the first bad position.

use crate::harness::TestNode;
use kronobarn_node::keys;
use kronobarn_node::store::{Op, SledStore, Store};
use kronobarn_proto::v1::{ExportFormat, ExportPlanRequest, GetPlanRequest, LogEntry, WheelArea};
use prost::Message;

use super::common::*;

fn verify(node: &TestNode, extra: &[&str]) -> (bool, String) {
    let config = node.config();
    let mut args = vec!["log", "verify", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    node.run(&args)
}

/// Edits the stopped node's store directly, as someone with access to its files could.
fn tamper(node: &TestNode, edit: impl FnOnce(&SledStore)) {
    let store = SledStore::open(&node.data_dir()).unwrap();
    edit(&store);
    store.flush().unwrap();
}

fn entry(store: &SledStore, i: u64) -> LogEntry {
    LogEntry::decode(store.get(&keys::log(i)).unwrap().unwrap().as_slice()).unwrap()
}

#[tokio::test]
async fn changed_removed_reordered_and_truncated_logs_are_caught() {
    let mut node = TestNode::start("vaxjo-kommun").await;
    let rektor = node.user("rektor", "ostra-skolan");
    let mut api = node.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    for _ in 0..4 {
        api.put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Safety))))
            .await
            .unwrap();
        api.get_plan(rektor.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap();
    }
    node.stop();
    let (ok, out) = verify(&node, &[]);
    assert!(ok, "{out}");

    let cp = node.dir.path().join("checkpoint.bin");
    let (ok, out) = node.run(&[
        "log",
        "checkpoint",
        "--config",
        node.config().to_str().unwrap(),
        "--out",
        cp.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = verify(&node, &["--checkpoint", cp.to_str().unwrap()]);
    assert!(ok && out.contains("checkpoint of"), "{out}");

    let store = SledStore::open(&node.data_dir()).unwrap();
    let size = keys::log_index(&store.last(keys::LOG).unwrap().unwrap().0).unwrap() + 1;
    let originals: Vec<LogEntry> = (0..size).map(|i| entry(&store, i)).collect();
    drop(store);
    assert!(size > 10, "enough entries to tamper with: {size}");
    let restore = |node: &TestNode| {
        tamper(node, |s| {
            s.apply(
                originals
                    .iter()
                    .map(|e| Op::Put(keys::log(e.index), e.encode_to_vec()))
                    .collect(),
            )
            .unwrap();
        })
    };

    // A changed record: a reader's user id rewritten.
    tamper(&node, |s| {
        let mut e = entry(s, 7);
        let i = e.record.len() / 2;
        e.record[i] ^= 0x20;
        s.apply(vec![Op::Put(keys::log(7), e.encode_to_vec())])
            .unwrap();
    });
    let (ok, out) = verify(&node, &[]);
    assert!(
        !ok && out.contains("position 7") && out.contains("changed"),
        "{out}"
    );
    restore(&node);

    // A removed record.
    tamper(&node, |s| s.apply(vec![Op::Delete(keys::log(5))]).unwrap());
    let (ok, out) = verify(&node, &[]);
    assert!(!ok && out.contains("position 5"), "{out}");
    restore(&node);

    // Two records swapped.
    tamper(&node, |s| {
        let (a, b) = (entry(s, 3), entry(s, 9));
        s.apply(vec![
            Op::Put(keys::log(3), b.encode_to_vec()),
            Op::Put(keys::log(9), a.encode_to_vec()),
        ])
        .unwrap();
    });
    let (ok, out) = verify(&node, &[]);
    assert!(!ok && out.contains("position 3"), "{out}");
    restore(&node);

    // A record replaced by something else.
    tamper(&node, |s| {
        let mut e = entry(s, 4);
        e.record = b"forged".to_vec();
        s.apply(vec![Op::Put(keys::log(4), e.encode_to_vec())])
            .unwrap();
    });
    let (ok, out) = verify(&node, &[]);
    assert!(!ok && out.contains("position 4"), "{out}");
    restore(&node);
    let (ok, out) = verify(&node, &["--checkpoint", cp.to_str().unwrap()]);
    assert!(ok, "restored log verifies again: {out}");

    // Cut inside a batch (a read's records share one signed checkpoint, at the batch's end):
    // what is left ends on entries no signature covers.
    let mut cut = size - 1;
    while originals[(cut - 1) as usize].checkpoint.is_some() {
        cut -= 1; // find a batch of more than one record
    }
    tamper(&node, |s| {
        s.apply((cut..size).map(|i| Op::Delete(keys::log(i))).collect())
            .unwrap()
    });
    let (ok, out) = verify(&node, &[]);
    assert!(!ok && out.contains("ends inside a batch"), "{out}");
    restore(&node);

    // Truncation at a batch's end leaves a valid chain, but contradicts the checkpoint taken
    // earlier.
    let mut cut = size - 3;
    while originals[(cut - 1) as usize].checkpoint.is_none() {
        cut -= 1;
    }
    tamper(&node, |s| {
        s.apply((cut..size).map(|i| Op::Delete(keys::log(i))).collect())
            .unwrap()
    });
    let (ok, out) = verify(&node, &[]);
    assert!(ok, "a truncated chain is still a chain: {out}");
    let (ok, out) = verify(&node, &["--checkpoint", cp.to_str().unwrap()]);
    assert!(
        !ok && out.contains("truncated") && out.contains(&format!("position {cut}")),
        "{out}"
    );

    // A node refuses to start on a log whose head was changed, rather than extend it.
    restore(&node);
    tamper(&node, |s| {
        let mut e = entry(s, size - 1);
        e.record[0] ^= 1;
        s.apply(vec![Op::Put(keys::log(size - 1), e.encode_to_vec())])
            .unwrap();
    });
    let (ok, out) = node.run(&["node", "--config", node.config().to_str().unwrap()]);
    assert!(!ok && out.contains("access log"), "{out}");
}

/// A data directory holding a log of the earlier hash-chain format: the node refuses to start
/// and says why (no deployed data exists in that format, so there is no migration).
#[tokio::test]
async fn a_log_of_the_old_format_is_refused_with_a_clear_message() {
    let node = TestNode::init("vaxjo-kommun");
    {
        let store = SledStore::open(&node.data_dir()).unwrap();
        // index 0, a previous hash, a record: the old entry's first fields.
        let mut old = Vec::new();
        prost::encoding::uint64::encode(1, &0, &mut old);
        prost::encoding::bytes::encode(2, &vec![0u8; 32], &mut old);
        prost::encoding::bytes::encode(3, &b"record".to_vec(), &mut old);
        store.apply(vec![Op::Put(keys::log(0), old)]).unwrap();
        store.flush().unwrap();
    }
    let (ok, out) = node.run(&["node", "--config", node.config().to_str().unwrap()]);
    assert!(!ok && out.contains("earlier version of Kronobarn"), "{out}");
}

/// The guardian's extract for one plan, as a municipality's e-service gets it through the
/// client API and as the operator writes it with the node stopped: verifiable offline against
/// the node's key only, showing no other plan, every change or omission caught.
#[tokio::test]
async fn the_guardians_extract_verifies_offline_against_the_nodes_key_only() {
    let mut node = TestNode::start("vaxjo-kommun").await;
    let rektor = node.user("rektor", "ostra-skolan");
    let mut api = node.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    let other =
        crate::common::create_plan_with(&mut api, &rektor, crate::common::other_child(1)).await;
    for p in [&plan_id, &other, &plan_id, &plan_id] {
        api.get_plan(rektor.req(GetPlanRequest {
            plan_id: p.to_string(),
        }))
        .await
        .unwrap();
    }
    let export = |format: ExportFormat, language: &str| ExportPlanRequest {
        plan_id: plan_id.clone(),
        format: format as i32,
        language: language.into(),
    };
    let json = api
        .export_plan(rektor.req(export(ExportFormat::AccessLogJson, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(json.media_type, "application/json");
    let html = api
        .export_plan(rektor.req(export(ExportFormat::AccessLogHtml, "sv")))
        .await
        .unwrap()
        .into_inner();
    let html = String::from_utf8(html.content).unwrap();
    assert!(
        html.contains("Loggutdrag") && html.contains("rektor") && html.contains("läste"),
        "{html}"
    );
    assert!(
        html.contains("enheten är med i planen"),
        "reasons in words: {html}"
    );
    assert!(
        !html.contains(PIN),
        "the extract lists accesses, not the child's number"
    );
    let text = String::from_utf8(json.content.clone()).unwrap();
    assert!(!text.contains(&other), "no record of another plan");
    node.stop();

    let file = node.dir.path().join(&json.file_name);
    std::fs::write(&file, &json.content).unwrap();
    let key = crate::harness::public_key(node.dir.path());
    let check = |path: &std::path::Path, key: &str| {
        node.run(&[
            "log",
            "verify-extract",
            path.to_str().unwrap(),
            "--key",
            key,
        ])
    };
    let (ok, out) = check(&file, &key);
    assert!(
        ok && out.contains("ok: all") && out.contains("complete"),
        "{out}"
    );
    // Only against a key the verifier already trusts, never one the file carries.
    let (ok, out) = node.run(&["log", "verify-extract", file.to_str().unwrap()]);
    assert!(!ok && out.contains("--roster"), "{out}");
    let stranger = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32])
            .verifying_key()
            .as_bytes(),
    );
    let (ok, out) = check(&file, &stranger);
    assert!(!ok && out.contains("not made by"), "{out}");

    // The operator's copy from the stopped node verifies too.
    let folder = node.dir.path().join("extract");
    let config = node.config();
    let (ok, out) = node.run(&[
        "log",
        "extract",
        "--config",
        config.to_str().unwrap(),
        "--plan",
        &plan_id,
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let written = folder.join(&json.file_name);
    let (ok, out) = check(&written, &key);
    assert!(ok, "{out}");

    // A record changed, or one left out of the middle: refused, with the reason.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let x: serde_json::Value = serde_json::from_slice(&json.content).unwrap();
    let tampered = node.dir.path().join("tampered.json");
    let mut changed = x.clone();
    let record = changed["entries"][1]["record"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = b64.decode(record).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    changed["entries"][1]["record"] = serde_json::Value::String(b64.encode(bytes));
    std::fs::write(&tampered, serde_json::to_vec(&changed).unwrap()).unwrap();
    let (ok, out) = check(&tampered, &key);
    assert!(!ok && out.contains("FAILED"), "{out}");
    let mut dropped = x.clone();
    dropped["entries"].as_array_mut().unwrap().remove(1);
    std::fs::write(&tampered, serde_json::to_vec(&dropped).unwrap()).unwrap();
    let (ok, out) = check(&tampered, &key);
    assert!(!ok && out.contains("left out"), "{out}");
}
