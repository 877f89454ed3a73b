//! Acknowledged writes survive a SIGKILL; the log verifies after it; restarts need no repair.

use std::time::Duration;

use crate::harness::TestNode;
use kronobarn_proto::v1::{GetPlanRequest, WheelArea};

use super::common::*;

#[tokio::test]
async fn every_acknowledged_write_survives_a_kill() {
    let mut node = TestNode::start("vaxjo-kommun").await;
    let rektor = node.user("rektor", "ostra-skolan");
    let mut api = node.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;

    // Concurrent writers: each write is acknowledged only once flushed (group commit).
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut api = node.client().await;
        let who = rektor.clone();
        let plan_id = plan_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for j in 0..10 {
                let area = [WheelArea::Health, WheelArea::Learning, WheelArea::Safety][(i + j) % 3];
                let f = api
                    .put_fragment(who.req(put(wheel(&plan_id, area))))
                    .await
                    .unwrap()
                    .into_inner()
                    .fragment
                    .unwrap();
                ids.push((f.fragment_id, f.version));
            }
            ids
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    // Keep writing in the background while the process is killed: those need not survive,
    // but must not damage anything.
    let mut bg = node.client().await;
    let (who, pid) = (rektor.clone(), plan_id.clone());
    let background = tokio::spawn(async move {
        for _ in 0..1000 {
            if bg
                .put_fragment(who.req(put(wheel(&pid, WheelArea::Home))))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    node.kill();
    let _ = background.await;

    node.spawn().await;
    let mut api = node.client().await;
    let plan = api
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    for (id, version) in &acknowledged {
        let f = plan
            .fragments
            .iter()
            .find(|f| &f.fragment_id == id)
            .unwrap_or_else(|| panic!("acknowledged fragment {id} lost"));
        assert_eq!(&f.version, version);
    }
    // The clock resumed after its last stored reading: new versions order after the old ones.
    let newest = acknowledged
        .iter()
        .filter_map(|(_, v)| v.map(|v| v.key()))
        .max()
        .unwrap();
    let f = api
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Care))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    assert!(f.version.unwrap().key() > newest);

    node.stop();
    let config = node.config();
    let (ok, out) = node.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("ok:"), "{out}");
}

/// Rotating the node's signing key keeps old access records verifiable: every key that signed
/// is remembered by key id, and `log verify` checks each entry with the key that signed it.
#[tokio::test]
async fn records_signed_before_a_key_rotation_still_verify() {
    let mut node = TestNode::start("vaxjo-kommun").await;
    let rektor = node.user("rektor", "ostra-skolan");
    let mut api = node.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    node.stop();
    let (_, new_key) = kronobarn_node::pki::new_signing_key();
    kronobarn_node::pki::write_file(
        &node.dir.path().join("keys/signing.key"),
        new_key.as_bytes(),
        true,
    )
    .unwrap();
    node.spawn().await;
    let mut api = node.client().await;
    api.get_plan(rektor.req(GetPlanRequest { plan_id }))
        .await
        .unwrap();
    node.stop();
    let config = node.config();
    let (ok, out) = node.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
}
