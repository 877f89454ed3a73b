//! The county report across real nodes: Region Kronoberg, the report reader the configs name,
//! asks every roster member over the federation's mutual TLS with `kronobarn indicators`. A set
//! re-signed by another key and a set that shows a withheld count are refused and named, so is a
//! member that cannot be reached; the good sets are written beside the report and check out
//! against the roster, with nothing personal in them. The node also publishes its own aggregates
//! as Prometheus metrics.

use std::time::Duration;

use kronobarn_indicators::IndicatorSet;
use kronobarn_node::pki::DevCa;
use kronobarn_proto::v1::{CreatePlanRequest, PayloadKind, SignedEnvelope};
use prost::Message;

use super::common::*;
use crate::harness::{
    TestNode, eventually, free_port, join_county, public_key, read, roster_member, scrape,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_report_refuses_tampered_sets_and_names_who_is_missing() {
    // Four running nodes; Alvesta is in the roster but never started.
    let orgs = [
        "region-kronoberg",
        "vaxjo-kommun",
        "ljungby-kommun",
        "almhult-kommun",
        "alvesta-kommun",
    ];
    let tamper = [None, None, Some("resign"), Some("reveal"), None];
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let nodes: Vec<TestNode> = orgs.iter().map(|o| TestNode::init(o)).collect();
    let ports: Vec<u16> = orgs.iter().map(|_| free_port()).collect();
    let metrics_port = free_port();
    let mut roster = "ca = \"tls/county-ca.crt\"\n\n".to_string();
    for (i, n) in nodes.iter().enumerate() {
        roster += &roster_member(
            orgs[i],
            &format!("https://127.0.0.1:{}", ports[i]),
            &public_key(n.dir.path()),
        );
    }
    let mut running = Vec::new();
    for (i, mut n) in nodes.into_iter().enumerate() {
        join_county(
            n.dir.path(),
            &ca,
            orgs[i],
            &roster,
            &format!("127.0.0.1:{}", ports[i]),
            "",
        );
        let config = n.dir.path().join("kronobarn.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text += "\n[indicators]\nreaders = [\"region-kronoberg\"]\nmetrics_secs = 1\n";
        if let Some(t) = tamper[i] {
            text += &format!("test_tamper = \"{t}\"\n");
        }
        if orgs[i] == "vaxjo-kommun" {
            text += &format!("\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n");
        }
        std::fs::write(&config, text).unwrap();
        if orgs[i] != "alvesta-kommun" {
            n.spawn().await;
        }
        running.push(n);
    }
    let (region, vaxjo) = (&running[0], &running[1]);

    // A plan at Växjö: counted there, and in its metrics as open at "need noticed".
    let mut api = vaxjo.client().await;
    let rektor = vaxjo.user("rektor.ostra", "ostra-skolan");
    let plan = api
        .create_plan(rektor.req(CreatePlanRequest {
            header: Some(header()),
            unit_contact: None,
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
        .plan_id;
    let metrics = eventually(
        Duration::from_secs(20),
        "Växjö's own indicators as metrics",
        || async move {
            scrape(metrics_port)
                .await
                .filter(|m| m.contains("kronobarn_plans_open{stage=\"need-noticed\"} 1"))
        },
    )
    .await;
    assert!(
        metrics.contains("kronobarn_follow_ups_overdue 0"),
        "{metrics}"
    );
    assert!(!metrics.contains(&plan), "no plan id in a label");

    // The report for the last two quarters that have ended.
    let now = kronobarn_node::node::swedish_day(kronobarn_node::clock::system_now_ms());
    let last = kronobarn_indicators::Quarter::of(now).prev();
    let (first, last) = (last.prev().to_string(), last.to_string());
    let out = tempfile::tempdir().unwrap();
    let cfg = region.config();
    let (ok, output) = region.run(&[
        "indicators",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--from",
        &first,
        "--to",
        &last,
        "--timeout-secs",
        "20",
    ]);
    assert!(!ok, "missing members make a non-zero exit: {output}");
    let index = read(&out.path().join("index.html"));
    assert!(index.contains("Alla har inte svarat"), "{index}");
    for (who, why) in [
        ("alvesta-kommun", "gick inte att nå"),
        ("ljungby-kommun", "underskriften kunde inte bekräftas"),
        (
            "almhult-kommun",
            "underlaget följde inte reglerna för små tal",
        ),
    ] {
        assert!(
            index.contains(&format!("{who} ({why})")),
            "{who} named as missing because {why}: {output}"
        );
    }
    assert!(
        output.contains("vaxjo-kommun: signed set checked"),
        "{output}"
    );
    assert!(
        output.contains("region-kronoberg: signed set checked"),
        "{output}"
    );

    // The good sets are beside the report, and check out against the roster's key.
    let bytes = std::fs::read(out.path().join("sets/vaxjo-kommun.signed.bin")).unwrap();
    let env = SignedEnvelope::decode(bytes.as_slice()).unwrap();
    let key: [u8; 32] = hex::decode(public_key(vaxjo.dir.path()))
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    let payload =
        kronobarn_proto::envelope::open(&env, PayloadKind::IndicatorSet, |_| Some(key)).unwrap();
    let set = IndicatorSet::from_signed_form(payload).unwrap();
    assert_eq!(
        (set.first.to_string(), set.last.to_string(), set.threshold),
        (first.clone(), last.clone(), 5)
    );
    let json = read(&out.path().join("sets/vaxjo-kommun.json"));
    for personal in [PIN, CHILD_NAME, plan.as_str(), "ostra-skolan"] {
        assert!(!json.contains(personal), "{personal} in the signed set");
    }
    // The refused sets are kept apart, the tables written for all that checked out.
    assert!(
        out.path()
            .join("refused/ljungby-kommun.signed.bin")
            .is_file()
    );
    assert!(!out.path().join("sets/ljungby-kommun.signed.bin").exists());
    let csv = read(&out.path().join("opened.csv"));
    assert!(csv.starts_with("node,quarter,level,"), "{csv}");
    assert!(csv.contains(&format!("vaxjo-kommun,{last},all,")), "{csv}");
    assert!(
        !csv.contains("ljungby-kommun,"),
        "a refused set is not in the tables"
    );
}

#[test]
fn the_indicators_demo_writes_a_report_a_person_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::harness::binary())
        .args(["demo", "--indicators", "--out"])
        .arg(dir.path())
        .output()
        .expect("run the demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It says how the day counts were made, and names the file.
    assert!(text.contains("hand-moved clock"), "{text}");
    let page = dir.path().join("county-report/index.html");
    assert!(text.contains(&page.display().to_string()), "{text}");
    let html = read(&page);
    assert!(
        html.contains("Alla tillfrågade organisationer har svarat"),
        "{html}"
    );
    // From the page alone: days from a noticed need to an agreed plan, and how often the child's
    // own view was written down.
    assert!(
        html.contains("från att ett behov uppmärksammades till att barnets plan var överenskommen"),
        "{html}"
    );
    assert!(
        html.contains("samverkansmöten (") && html.contains("antecknades barnets egen syn"),
        "{html}"
    );
    assert!(
        !html.contains("DEMO-") && !html.contains("Påhittat"),
        "nothing personal"
    );
}
