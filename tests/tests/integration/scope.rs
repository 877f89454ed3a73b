//! A client system speaks only for the units it serves: a school's system cannot read a plan as
//! the social services of the same municipality, and the attempt is in the plan's access log.

use kronobarn_proto::v1::fragment::Body;
use kronobarn_proto::v1::{
    AccessRecord, Decision, Fragment, GetPlanRequest, ListAccessLogRequest, Participant,
};
use prost::Message;
use tonic::Code;

use crate::common::{create_plan, put};
use crate::harness::TestNode;

#[tokio::test]
async fn a_school_system_cannot_read_as_social_services_and_the_attempt_is_logged() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let plan_id = create_plan(&mut api, &rektor).await;
    // Social services of the same municipality take part in the plan.
    api.put_fragment(rektor.req(put(Fragment {
        plan_id: plan_id.clone(),
        body: Some(Body::Participant(Participant {
            organization: "vaxjo-kommun".into(),
            unit: "socialtjanst".into(),
            contact: None,
        })),
        ..Default::default()
    })))
    .await
    .unwrap();

    // The test node's system serves the school's units (the harness lists them), not social
    // services: its token with the social services' unit is refused.
    let posing = node.user("rektor", "socialtjanst");
    let e = api
        .get_plan(posing.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .expect_err("a school system cannot speak for social services");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().starts_with("unit-not-served"), "{e:?}");

    // The refusal is an access record about the plan, naming the system, the unit and why.
    let log = api
        .list_access_log(rektor.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let refused: Vec<AccessRecord> = log
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.unit == "socialtjanst" && r.decision == Decision::Deny as i32)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].reason, "unit-not-served");
    assert_eq!(refused[0].system, node.init.client_id);
}
