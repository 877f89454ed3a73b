//! Bad input gets a precise status, stores nothing, and never brings the node down.

use crate::harness::TestNode;
use kronobarn_proto::v1::{
    CreatePlanRequest, Fragment, GetPlanRequest, ListAccessLogRequest, ListPlansRequest,
    PutFragmentRequest, Version, WheelArea, WheelAssessment, fragment::Body,
};
use tonic::Code;

use super::common::*;

#[tokio::test]
async fn each_bad_input_gets_its_status_and_nothing_is_stored() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let plan_id = create_plan(&mut api, &rektor).await;

    // No credentials, a wrong token, a missing or malformed user field.
    let mut anon = rektor.clone();
    anon.token.clear();
    let e = api
        .get_plan(anon.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let mut wrong = rektor.clone();
    wrong.token = "not-the-token".into();
    assert_eq!(
        api.get_plan(wrong.req(GetPlanRequest {
            plan_id: plan_id.clone()
        }))
        .await
        .unwrap_err()
        .code(),
        Code::Unauthenticated
    );
    let mut no_unit = rektor.clone();
    no_unit.unit.clear();
    let e = api
        .get_plan(no_unit.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("x-kronobarn-user-unit"), "{e:?}");
    let mut bad_purpose = rektor.clone();
    bad_purpose.purpose = "Because I Want".into();
    let e = api
        .get_plan(bad_purpose.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert!(e.message().contains("x-kronobarn-purpose"), "{e:?}");

    // Malformed and unknown ids.
    let e = api
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: "19121212-1212".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("plan_id"), "{e:?}");
    let e = api
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: "0".repeat(32),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // A wrong personal identity number: the field and the part that is wrong are named, the
    // number itself is not echoed, and no plan is created.
    let before = api
        .list_plans(rektor.req(ListPlansRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .plans
        .len();
    for (pin, part) in [
        ("19121212-1213", "check digit"),
        ("19121312-1212", "date"),
        ("1912121212", "format"),
    ] {
        let mut h = header();
        h.child.as_mut().unwrap().personal_identity_number = pin.into();
        let e = api
            .create_plan(rektor.req(CreatePlanRequest {
                header: Some(h),
                unit_contact: None,
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(
            e.message()
                .contains("header.child.personal_identity_number")
                && e.message().contains(part),
            "{e:?}"
        );
        assert!(
            !e.message().contains(pin),
            "the message must not echo the number"
        );
    }
    let e = api
        .create_plan(rektor.req(CreatePlanRequest {
            header: None,
            unit_contact: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let after = api
        .list_plans(rektor.req(ListPlansRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .plans
        .len();
    assert_eq!(before, after);

    // An unknown wheel area, a missing body, a too-long note.
    let bad_area = Fragment {
        plan_id: plan_id.clone(),
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: 8,
            ..Default::default()
        })),
        ..Default::default()
    };
    let e = api
        .put_fragment(rektor.req(put(bad_area)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("fragment.wheel_assessment.area"),
        "{e:?}"
    );
    let e = api
        .put_fragment(rektor.req(put(Fragment {
            plan_id: plan_id.clone(),
            ..Default::default()
        })))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let mut long = wheel(&plan_id, WheelArea::Health);
    if let Some(Body::WheelAssessment(w)) = &mut long.body {
        w.needs = "x".repeat(10_001);
    }
    let e = api.put_fragment(rektor.req(put(long))).await.unwrap_err();
    assert!(
        e.message().contains("fragment.wheel_assessment.needs"),
        "{e:?}"
    );

    // An oversize message is refused by the transport before any of it is used.
    let mut huge = wheel(&plan_id, WheelArea::Health);
    if let Some(Body::WheelAssessment(w)) = &mut huge.body {
        w.needs = "x".repeat(2 << 20);
    }
    let e = api.put_fragment(rektor.req(put(huge))).await.unwrap_err();
    assert!(
        matches!(
            e.code(),
            Code::ResourceExhausted | Code::OutOfRange | Code::InvalidArgument
        ),
        "{e:?}"
    );

    // A stale version and a missing one.
    let f = api
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Care))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let mut update = f.clone();
    if let Some(Body::WheelAssessment(w)) = &mut update.body {
        w.strengths = "Glad".into();
    }
    let newer = api
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(update.clone()),
            expected_version: f.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    assert!(newer.version.unwrap().key() > f.version.unwrap().key());
    let e = api
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(update.clone()),
            expected_version: f.version,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("expected_version"), "{e:?}");
    let e = api
        .put_fragment(rektor.req(put(update.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let mut ghost = update.clone();
    ghost.fragment_id = "no-such-fragment".into();
    let e = api
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(ghost),
            expected_version: Some(Version {
                physical_ms: 1,
                logical: 0,
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // Page sizes out of range.
    let e = api
        .list_plans(rektor.req(ListPlansRequest {
            page_size: 501,
            page_token: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = api
        .list_access_log(rektor.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 0,
            page_token: "abc".into(),
        }))
        .await
        .unwrap_err();
    assert!(e.message().contains("page_token"), "{e:?}");

    // Only the bad requests failed: the plan holds exactly what was acknowledged.
    let plan = api
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(
        plan.fragments.len(),
        3,
        "header, participant, the care assessment"
    );
    let care = plan
        .fragments
        .iter()
        .find(|x| x.fragment_id == f.fragment_id)
        .unwrap();
    assert_eq!(care.version, newer.version);
}
