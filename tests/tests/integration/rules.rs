//! The permit and deny rules, end to end through the client API.

use crate::harness::TestNode;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Decision, GetConsentStatusRequest, GetFragmentRequest,
    GetPlanRequest, ListAccessLogRequest, ListPlansRequest, Participant, RecordConsentRequest,
    RevokeConsentRequest, WheelArea, fragment::Body,
};
use prost::Message;
use tonic::Code;

use super::common::*;

async fn log_records(node: &TestNode, plan_id: &str) -> Vec<AccessRecord> {
    let mut api = node.client().await;
    let page = api
        .list_access_log(
            node.user("rektor", "ostra-skolan")
                .req(ListAccessLogRequest {
                    plan_id: plan_id.into(),
                    page_size: 1000,
                    page_token: String::new(),
                }),
        )
        .await
        .unwrap()
        .into_inner();
    page.entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn need_to_know_consent_and_revocation_through_the_api() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let kurator = node.user("kurator", "elevhalsan");
    let fritids = node.user("pedagog", "fritids");
    let plan_id = create_plan(&mut api, &rektor).await;
    let health = api
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();

    // A unit that takes no part is denied, and the denial is logged.
    let e = api
        .get_plan(kurator.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("not-participant"), "{e:?}");
    let e = api
        .get_fragment(fritids.req(GetFragmentRequest {
            plan_id: plan_id.clone(),
            fragment_id: health.fragment_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let listed = api
        .list_plans(fritids.req(ListPlansRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.plans.is_empty());

    // Once the responsible organisation adds the unit, it sees the plan and lists it.
    let p = kronobarn_proto::v1::Fragment {
        plan_id: plan_id.clone(),
        body: Some(Body::Participant(Participant {
            organization: "vaxjo-kommun".into(),
            unit: "elevhalsan".into(),
            contact: None,
        })),
        ..Default::default()
    };
    api.put_fragment(rektor.req(put(p))).await.unwrap();
    let plan = api
        .get_plan(kurator.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(
        plan.fragments.len(),
        4,
        "header, two participants, one wheel assessment"
    );
    assert!(plan.withheld.is_empty());
    let listed = api
        .list_plans(kurator.req(ListPlansRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .plans
            .iter()
            .map(|p| p.plan_id.as_str())
            .collect::<Vec<_>>(),
        vec![plan_id.as_str()]
    );

    // Every read wrote one record per fragment, permits and denials alike.
    let records = log_records(&node, &plan_id).await;
    let reads = |user: &str, decision: Decision| {
        records
            .iter()
            .filter(|r| {
                r.user_id == user
                    && r.action == AccessAction::Read as i32
                    && r.decision == decision as i32
            })
            .count()
    };
    assert_eq!(reads("kurator", Decision::Deny), 1);
    assert_eq!(reads("kurator", Decision::Permit), 4);
    assert_eq!(reads("pedagog", Decision::Deny), 1);
    let permitted = records
        .iter()
        .find(|r| r.user_id == "kurator" && r.fragment_id == health.fragment_id)
        .unwrap();
    assert_eq!(permitted.version, health.version);
    assert_eq!(permitted.content_hash.len(), 64);
    assert_eq!(permitted.reason, "own-fragment");

    // Consent needs every guardian with custody; nothing is stored when one is missing.
    let e = api
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(consent(&plan_id, &["g1"])),
            expected_previous_version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("guardian_consents") && e.message().contains("'g2'"),
        "{e:?}"
    );
    let status = api
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(status.consent.is_none());

    let c = api
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(consent(&plan_id, &["g1", "g2"])),
            expected_previous_version: 0,
        }))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap();
    assert_eq!(c.consent_version, 1);
    assert_eq!(c.consent_home, "vaxjo-kommun");

    // A consent recorded on a stale view is refused.
    let e = api
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(consent(&plan_id, &["g1", "g2"])),
            expected_previous_version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // A revocation can be recorded by any participating unit, and stays in force until a new
    // consent names it.
    let r = api
        .revoke_consent(kurator.req(RevokeConsentRequest {
            plan_id: plan_id.clone(),
            withdrawn_by: "g2".into(),
            organizations: vec![],
            categories: vec![],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .revocation
        .unwrap();
    let status = api
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.revocations_in_force.len(), 1);
    let mut again = consent(&plan_id, &["g1", "g2"]);
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(again.clone()),
        expected_previous_version: 1,
    }))
    .await
    .unwrap();
    let status = api
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.revocations_in_force.len(),
        1,
        "a consent that does not name the revocation leaves it in force"
    );
    again.supersedes_revocations = vec![r.revocation_id.clone()];
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(again),
        expected_previous_version: 2,
    }))
    .await
    .unwrap();
    let status = api
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(status.revocations_in_force.is_empty());
    assert_eq!(status.consent.unwrap().consent_version, 3);

    // Only the consent home records consent: a unit of the plan that is in another
    // organisation cannot, and a fragment claiming another home is refused.
    let mut foreign = wheel(&plan_id, WheelArea::Learning);
    foreign.home_organization = "region-kronoberg".into();
    let e = api
        .put_fragment(rektor.req(put(foreign)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("not-home"), "{e:?}");
}

/// Secrecy runs between authorities, not organisations: social services of the same
/// municipality sees nothing of the school's parts of a plan until the guardians consent to
/// sharing with it, and then exactly what they consented to.
#[tokio::test]
async fn another_authority_of_the_same_municipality_sees_nothing_without_consent() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let social = node.user("handlaggare", "ifo");
    let plan_id = create_plan(&mut api, &rektor).await;
    let learning = api
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Learning))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let health = api
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    // The school adds social services as a participant: it takes part, but is another authority.
    let p = kronobarn_proto::v1::Fragment {
        plan_id: plan_id.clone(),
        body: Some(Body::Participant(Participant {
            organization: "vaxjo-kommun".into(),
            unit: "ifo".into(),
            contact: None,
        })),
        ..Default::default()
    };
    api.put_fragment(rektor.req(put(p))).await.unwrap();
    let plan = api
        .get_plan(social.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert!(
        plan.fragments.is_empty(),
        "social services sees none of the school's parts: {:?}",
        plan.fragments
    );
    assert!(plan.withheld.iter().all(|w| w.reason == "no-consent"));
    // The guardians consent to social services receiving the learning assessment only.
    let mut c = consent(&plan_id, &["g1", "g2"]);
    c.grants = vec![kronobarn_proto::v1::Grant {
        organization: "vaxjo-kommun".into(),
        authority: "vaxjo-kommun-social".into(),
        categories: vec![kronobarn_proto::v1::Category::WheelLearning as i32],
        ..Default::default()
    }];
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(c),
        expected_previous_version: 0,
    }))
    .await
    .unwrap();
    let plan = api
        .get_plan(social.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let shown: Vec<&str> = plan
        .fragments
        .iter()
        .map(|f| f.fragment_id.as_str())
        .collect();
    assert_eq!(shown, vec![learning.fragment_id.as_str()]);
    assert!(
        plan.withheld
            .iter()
            .any(|w| w.fragment_id == health.fragment_id && w.reason == "not-granted")
    );
    // Every denial is in the log, with its reason.
    let records = log_records(&node, &plan_id).await;
    assert!(records.iter().any(|r| r.unit == "ifo"
        && r.decision == Decision::Deny as i32
        && r.reason == "no-consent"));
    assert!(records.iter().any(|r| r.unit == "ifo"
        && r.action == AccessAction::Read as i32
        && r.decision == Decision::Permit as i32));
}
