//! What a client system may do for its users: accepting a plan's responsibility is for the unit
//! the offer names.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    AcceptResponsibilityRequest, AccessRecord, Category, Contact, Decision, Handover,
};
use prost::Message;

use crate::testkit::{County, actor, add_participant, client_api, consent, create_plan, request};

#[tokio::test]
async fn responsibility_is_accepted_only_by_the_unit_it_is_offered_to() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = create_plan(home, "skola").await.plan_id;
    add_participant(home, "skola", &plan, "region", "skola").await;
    consent(
        home,
        "skola",
        &plan,
        // Identity too: the unit taking over judges by the child's facts (child-facts-not-held).
        &[("region", &[Category::Identity, Category::Participants])],
    )
    .await;
    county.settle_all(4).await;
    home.offer_handover(
        &actor("vaxjo", "skola"),
        Handover {
            plan_id: plan.clone(),
            to_organization: "region".into(),
            to_unit: "skola".into(),
            to_contact: Some(Contact {
                name: "Rektor Påhittad".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    county.settle_all(4).await;
    let region = county.nodes["region"].node.clone();
    let api = client_api(&region);
    let accept = |user: &str, unit: &str| {
        request(
            AcceptResponsibilityRequest {
                plan_id: plan.clone(),
            },
            user,
            unit,
        )
    };
    // Another unit of the same organisation cannot take the thread.
    let e = api
        .accept_responsibility(accept("bvc.nurse", "bvc"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    assert!(
        e.message().contains("'skola'"),
        "names the unit offered to: {e:?}"
    );
    assert!(
        region.pending_handover(&plan).unwrap().is_some(),
        "still open"
    );
    let denied = region
        .access_log(&plan, None, 1000)
        .unwrap()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.user_id == "bvc.nurse" && r.decision == Decision::Deny as i32)
        .count();
    assert_eq!(denied, 1, "the refused attempt is an access record");
    // The unit offered to can.
    let ok = api
        .accept_responsibility(accept("skola.rektor", "skola"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.handover.unwrap().to_unit, "skola");
}
