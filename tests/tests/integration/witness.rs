//! Witnesses between real nodes: a node that rewrites its access log and grows it past what its
//! witness cosigned is refused; the witness raises an alarm (a log line, a metric and its client
//! API status); `kronobarn log verify` fails naming the witness. And a guardian's extract made
//! through the client API carries the witness's cosignature, checked against the roster.

use std::time::Duration;

use kronobarn_node::accesslog::{AccessLog, stored};
use kronobarn_node::clock::Clock;
use kronobarn_node::keys;
use kronobarn_node::pki::DevCa;
use kronobarn_node::store::{Op, SledStore, Store};
use kronobarn_proto::v1::{
    AccessRecord, ExportFormat, ExportPlanRequest, GetPlanRequest, GetWitnessStatusRequest,
    WitnessProblem,
};
use prost::Message;

use super::common::*;
use crate::harness::{TestNode, eventually, join_county, public_key, roster_member, scrape};

use crate::harness::free_port;

/// Växjö and its witness, the Police (which serves metrics on `metrics_port`), started.
async fn pair(metrics_port: u16) -> (TestNode, TestNode) {
    let orgs = ["vaxjo-kommun", "polisen"];
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let nodes: Vec<TestNode> = orgs.iter().map(|o| TestNode::init(o)).collect();
    let ports: Vec<u16> = orgs.iter().map(|_| free_port()).collect();
    let mut roster = "ca = \"tls/county-ca.crt\"\n\n".to_string();
    for (i, n) in nodes.iter().enumerate() {
        roster += &roster_member(
            orgs[i],
            &format!("https://127.0.0.1:{}", ports[i]),
            &public_key(n.dir.path()),
        );
    }
    let mut started = Vec::new();
    for (i, mut n) in nodes.into_iter().enumerate() {
        join_county(
            n.dir.path(),
            &ca,
            orgs[i],
            &roster,
            &format!("127.0.0.1:{}", ports[i]),
            "checkpoint_secs = 1\n",
        );
        if i == 1 {
            let config = n.dir.path().join("kronobarn.toml");
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(
                &config,
                format!("{text}\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"),
            )
            .unwrap();
        }
        n.spawn().await;
        started.push(n);
    }
    let polisen = started.pop().unwrap();
    (started.pop().unwrap(), polisen)
}

#[tokio::test]
async fn a_rewritten_log_regrown_past_its_witnessed_size_is_refused_alarmed_and_failed() {
    let metrics = free_port();
    let (mut vaxjo, polisen) = pair(metrics).await;
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let mut api = vaxjo.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    for _ in 0..3 {
        api.get_plan(rektor.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap();
    }
    // A graceful stop has the witness cosign the last head.
    vaxjo.stop();
    let config = vaxjo.config();
    let (ok, out) = vaxjo.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(
        ok && out.contains("witness polisen: its checkpoint of"),
        "{out}"
    );

    // Someone with the node's files and key rewrites who read the plan, rebuilds the whole log
    // around the change (so it is consistent on its own) and grows it past the witnessed size.
    let key =
        kronobarn_node::pki::read_signing_key(&vaxjo.dir.path().join("keys/signing.key")).unwrap();
    {
        let store = std::sync::Arc::new(SledStore::open(&vaxjo.data_dir()).unwrap());
        let entries = stored::entries(store.as_ref(), 0, usize::MAX).unwrap();
        let mut wipe: Vec<Op> = entries
            .iter()
            .map(|e| Op::Delete(keys::log(e.index)))
            .collect();
        wipe.extend(
            store
                .scan(keys::LOG_HEADS, None, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|(k, _)| Op::Delete(k)),
        );
        store.apply(wipe).unwrap();
        let log =
            AccessLog::open(store.clone(), key, "vaxjo-kommun".into(), Clock::system()).unwrap();
        for e in &entries {
            let mut r = AccessRecord::decode(e.record.as_slice()).unwrap();
            if e.index == 3 {
                r.user_id = "someone-else".into();
            }
            log.append_with(&[r], Vec::new()).unwrap();
        }
        for _ in 0..5 {
            log.append_with(
                &[AccessRecord {
                    plan_id: plan_id.clone(),
                    user_id: "filler".into(),
                    ..Default::default()
                }],
                Vec::new(),
            )
            .unwrap();
        }
        store.flush().unwrap();
    }
    // On its own the rewritten log verifies; against the witness it does not.
    let (ok, out) = vaxjo.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAILED against witness polisen") && out.contains("rewritten"),
        "{out}"
    );

    // Restarted, the node asks the witness to cosign the rewritten log: refused, alarm raised.
    vaxjo.spawn().await;
    let at_polisen = polisen.client().await;
    let someone = polisen.user("handlaggare", "ostra-skolan");
    let status = eventually(Duration::from_secs(20), "the witness's alarm", || {
        let mut c = at_polisen.clone();
        let req = someone.req(GetWitnessStatusRequest {});
        async move {
            let s = c.get_witness_status(req).await.ok()?.into_inner();
            s.witnessed
                .into_iter()
                .find(|w| w.organization == "vaxjo-kommun" && w.alarm.is_some())
        }
    })
    .await;
    let alarm = status.alarm.unwrap();
    assert_eq!(alarm.problem, WitnessProblem::Inconsistent as i32);
    assert!(alarm.offered_size > alarm.cosigned_size, "{alarm:?}");
    assert_eq!(
        status.size, alarm.cosigned_size,
        "the cosigned head is kept"
    );
    // The log line and the metric, with organisation ids only.
    let log = crate::harness::read(&polisen.log_file());
    assert!(
        log.contains("SPLIT VIEW") && log.contains("vaxjo-kommun"),
        "{log}"
    );
    let text = eventually(Duration::from_secs(10), "the alarm metric", || async move {
        scrape(metrics)
            .await
            .filter(|t| t.contains("kronobarn_witness_alarm{"))
    })
    .await;
    assert!(
        text.contains("kronobarn_witness_alarm{organization=\"vaxjo-kommun\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kronobarn_witness_alarms_total{organization=\"vaxjo-kommun\"}"),
        "{text}"
    );

    vaxjo.stop();
    let (ok, out) = vaxjo.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("witness polisen raised an alarm about this log")
            && out.contains("FAILED against witness polisen"),
        "{out}"
    );
    drop(polisen);
}

#[tokio::test]
async fn the_extract_through_the_client_api_is_cosigned_and_checked_against_the_roster() {
    let (mut vaxjo, polisen) = pair(free_port()).await;
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let mut api = vaxjo.client().await;
    let plan_id = create_plan(&mut api, &rektor).await;
    api.get_plan(rektor.req(GetPlanRequest {
        plan_id: plan_id.clone(),
    }))
    .await
    .unwrap();
    let json = api
        .export_plan(rektor.req(ExportPlanRequest {
            plan_id: plan_id.clone(),
            format: ExportFormat::AccessLogJson as i32,
            language: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let html = api
        .export_plan(rektor.req(ExportPlanRequest {
            plan_id: plan_id.clone(),
            format: ExportFormat::AccessLogHtml as i32,
            language: "sv".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let html = String::from_utf8(html.content).unwrap();
    assert!(html.contains("bestyrkt av polisen"), "{html}");
    assert!(
        html.contains(&json.file_name),
        "the page names the file to check"
    );
    let file = vaxjo.dir.path().join(&json.file_name);
    std::fs::write(&file, &json.content).unwrap();
    let roster = vaxjo.dir.path().join("roster.toml");
    let (ok, out) = vaxjo.run(&[
        "log",
        "verify-extract",
        file.to_str().unwrap(),
        "--roster",
        roster.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("cosigned by the witnesses polisen"), "{out}");
    // The same file checked against a roster where the Police's key is another: refused.
    let text = std::fs::read_to_string(&roster).unwrap();
    let theirs = public_key(polisen.dir.path());
    let other = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[5; 32])
            .verifying_key()
            .as_bytes(),
    );
    let forged_roster = vaxjo.dir.path().join("other-roster.toml");
    std::fs::write(&forged_roster, text.replace(&theirs, &other)).unwrap();
    let (ok, out) = vaxjo.run(&[
        "log",
        "verify-extract",
        file.to_str().unwrap(),
        "--roster",
        forged_roster.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("witness polisen"), "{out}");
    vaxjo.stop();
}
