//! A tampered access log is detected, and the verifier names the first bad position.

use crate::harness::TestNode;
use kronobarn_node::keys;
use kronobarn_node::store::{Op, SledStore, Store};
use kronobarn_proto::v1::{GetPlanRequest, LogEntry, WheelArea};
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

    // A record inserted with a fresh key and a correct-looking chain from there on: the forger
    // cannot sign as the node.
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

    // Cut inside a batch (a read's records share one signature, at the batch's end): what is
    // left ends on entries no signature covers.
    let mut cut = size - 1;
    while originals[(cut - 1) as usize].signature.len() == 64 {
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
    while originals[(cut - 1) as usize].signature.is_empty() {
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

/// The guardian's extract for one plan: readable and verifiable offline, other plans hidden, any
/// change caught.
#[tokio::test]
async fn the_guardians_extract_verifies_offline_and_shows_no_other_plan() {
    let mut node = TestNode::start("vaxjo-kommun").await;
    let rektor = node.user("rektor", "ostra-skolan");
    let mut api = node.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    let other = create_plan(&mut api, &rektor).await;
    for p in [&plan_id, &other, &plan_id] {
        api.get_plan(rektor.req(GetPlanRequest {
            plan_id: p.to_string(),
        }))
        .await
        .unwrap();
    }
    node.stop();
    let out = node.dir.path().join("extract");
    let config = node.config();
    let (ok, text) = node.run(&[
        "log",
        "extract",
        "--config",
        config.to_str().unwrap(),
        "--plan",
        &plan_id,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let json = out.join("extract.json");
    let (ok, text) = node.run(&["log", "verify-extract", json.to_str().unwrap()]);
    assert!(ok && text.contains("ok:"), "{text}");
    let extract = std::fs::read_to_string(&json).unwrap();
    assert!(!extract.contains(&other), "no record of another plan");
    let html = std::fs::read_to_string(out.join("extract.html")).unwrap();
    assert!(
        html.contains("Loggutdrag") && html.contains("rektor") && html.contains("läste / read"),
        "{html}"
    );
    assert!(
        !html.contains(PIN),
        "the extract lists accesses, not the child's identity number"
    );

    // Change one included record (a reader's user id) and the extract no longer verifies.
    let mut x: serde_json::Value = serde_json::from_str(&extract).unwrap();
    let links = x["links"].as_array_mut().unwrap();
    let i = links.iter().position(|l| l.get("entry").is_some()).unwrap();
    let b64 = links[i]["entry"].as_str().unwrap().to_string();
    use base64::Engine;
    let mut e = LogEntry::decode(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let n = e.record.len();
    e.record[n - 1] ^= 1;
    links[i]["entry"] = serde_json::Value::String(
        base64::engine::general_purpose::STANDARD.encode(e.encode_to_vec()),
    );
    std::fs::write(&json, serde_json::to_string(&x).unwrap()).unwrap();
    let (ok, text) = node.run(&["log", "verify-extract", json.to_str().unwrap()]);
    assert!(!ok && text.contains("FAILED"), "{text}");
}
