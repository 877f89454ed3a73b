//! Retention on a real node process: `kronobarn gallring` on the stopped node lists and then
//! deletes a closed plan's records once the node's clock (moved with `test_clock_offset_ms`) is
//! past the retention rule; the log still verifies and the plan is gone.

use kronobarn_proto::v1::{AdvancePlanRequest, GetPlanRequest, PlanStage};
use tonic::Code;

use crate::common::{PIN, create_plan};
use crate::harness::TestNode;

#[tokio::test]
async fn a_closed_plan_goes_when_its_authoritys_rule_runs_out() {
    let mut node = TestNode::start_with("vaxjo-kommun", |dir| {
        let config = dir.join("kronobarn.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}\n[retention]\ndefault_days = 30\n")).unwrap();
    })
    .await;
    let who = node.user("rektor.ostra", "ostra-skolan");
    let mut api = node.client().await;
    let plan = create_plan(&mut api, &who).await;
    api.advance_plan(who.req(AdvancePlanRequest {
        plan_id: plan.clone(),
        to: PlanStage::Closed as i32,
        reason: "the child's needs are met".into(),
        ..Default::default()
    }))
    .await
    .expect("closed");
    node.stop();
    let config = node.config();
    let cfg = config.to_str().unwrap();

    let (ok, out) = node.run(&["gallring", "--config", cfg, "--dry-run"]);
    assert!(ok && out.contains("nothing is due"), "{out}");

    // Thirty-one days on, by the node's clock.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("test_clock_offset_ms = {}\n{text}", 31 * 86_400_000i64),
    )
    .unwrap();
    let (ok, out) = node.run(&["gallring", "--config", cfg, "--dry-run"]);
    assert!(
        ok && out.contains(&plan) && out.contains("would go"),
        "{out}"
    );
    assert!(
        !out.contains(PIN) && !out.contains("Testbarn"),
        "ids and dates only: {out}"
    );
    let (ok, out) = node.run(&["gallring", "--config", cfg]);
    assert!(
        ok && out.contains(&plan) && out.contains("deleted"),
        "{out}"
    );
    let (ok, out) = node.run(&["gallring", "--config", cfg, "--dry-run"]);
    assert!(ok && out.contains("nothing is due"), "done once: {out}");
    let (ok, out) = node.run(&["log", "verify", "--config", cfg]);
    assert!(ok, "the log is evidence and still verifies: {out}");

    node.spawn().await;
    let e = node
        .client()
        .await
        .get_plan(who.req(GetPlanRequest { plan_id: plan }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
}
