//! Barnens bästa-ansvarig through the client API on real nodes: the model decides who may be
//! responsible (with the operator's exceptions, recorded), one open plan per child at a node, the
//! directory answers who is responsible at a school without any personal data, and a node that
//! holds two homes' plans for one child tells those who may read both.

use std::time::Duration;

use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use kronobarn_proto::v1::{
    AccessRecord, Category, CreatePlanRequest, Fragment, GetPlanRequest, Grant,
    ListAccessLogRequest, LookupResponsibleRequest, Participant, RecordConsentRequest, Schooling,
    ServiceUnit, ServiceUnitKind, SuggestResponsibleRequest, fragment::Body,
};
use prost::Message;
use tonic::Code;

use crate::common::{PIN, consent, create_plan, create_plan_with, header, put};
use crate::county::county;
use crate::harness::{TestNode, eventually, read};

fn school(code: &str) -> ServiceUnit {
    ServiceUnit {
        kind: ServiceUnitKind::School as i32,
        code: code.into(),
    }
}

#[tokio::test]
async fn the_model_decides_who_may_be_responsible_and_an_exception_is_recorded() {
    let node = TestNode::start_with("vaxjo-kommun", |dir| {
        let path = dir.join("kronobarn.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        // The operator lets BUP hold the thread (the model never names it).
        let with = format!("{config}\n[responsibility]\nallow_units = [\"bup\"]\n");
        std::fs::write(&path, with).unwrap();
    })
    .await;
    let mut api = node.client().await;
    let create = |unit: &str| {
        let mut h = header();
        h.responsible_unit = unit.into();
        node.user("anvandare", unit).req(CreatePlanRequest {
            header: Some(h),
            unit_contact: None,
        })
    };
    // Social services takes part in plans but is never a child's Barnens bästa-ansvarig.
    let e = api.create_plan(create("ifo")).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{}", e.message());
    assert!(
        e.message().starts_with("responsible-kind:")
            && e.message().contains("social-services")
            && e.message().contains("expected: school"),
        "{}",
        e.message()
    );
    // Nor BVC for a school child.
    let e = api.create_plan(create("bvc")).await.unwrap_err();
    assert!(e.message().contains("school-started"), "{}", e.message());

    // The exception: allowed, logged without personal data, and in the access record.
    let plan = api
        .create_plan(create("bup"))
        .await
        .expect("allowed by the operator")
        .into_inner()
        .plan
        .unwrap()
        .plan_id;
    let log = api
        .list_access_log(node.user("anvandare", "bup").req(ListAccessLogRequest {
            plan_id: plan.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let reasons: Vec<(String, String)> = log
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .map(|r| (r.fragment_id, r.reason))
        .collect();
    assert!(
        reasons.contains(&("header".into(), "responsible-by-exception".into())),
        "{reasons:?}"
    );
    let text = read(&node.log_file());
    assert!(text.contains("exception"), "the use is logged");
    assert!(!text.contains(PIN) && !text.contains(&PIN.replace('-', "")));
}

#[tokio::test]
async fn a_child_has_one_open_plan_at_a_node() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let first = create_plan(&mut api, &rektor).await;
    // The same child, the number written in its 10-digit form.
    let mut again = header();
    again.child.as_mut().unwrap().personal_identity_number = "170101-2393".into();
    let e = api
        .create_plan(rektor.req(CreatePlanRequest {
            header: Some(again.clone()),
            unit_contact: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{}", e.message());
    assert!(e.message().contains(&first), "{}", e.message());
    assert_eq!(
        e.metadata()
            .get("x-kronobarn-existing-plan-id")
            .and_then(|v| v.to_str().ok()),
        Some(first.as_str())
    );
    assert!(!e.message().contains("2393"), "never the number");
    // Another child is another plan; the plan stores the number in its normal form.
    let other = create_plan_with(&mut api, &rektor, crate::common::other_child(7)).await;
    let shown = api
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: first.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let stored = shown
        .plan
        .unwrap()
        .fragments
        .into_iter()
        .find_map(|f| match f.body {
            Some(Body::Header(h)) => h.child,
            _ => None,
        })
        .unwrap();
    assert_eq!(stored.personal_identity_number, PIN);
    assert_ne!(first, other);
    assert!(shown.same_child_plan_ids.is_empty());
}

#[tokio::test]
async fn who_is_responsible_is_found_without_personal_data() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    // A families' e-service: the system's token and nothing about a user.
    let mut eservice = PlanServiceClient::new(node.channel().await);
    let mut lookup = tonic::Request::new(LookupResponsibleRequest {
        service_unit: Some(school("12345678")),
    });
    lookup.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", node.init.token).parse().unwrap(),
    );
    let found = eservice
        .lookup_responsible(lookup)
        .await
        .expect("any authenticated system may ask")
        .into_inner()
        .responsible
        .unwrap();
    assert_eq!(
        (
            found.authority.as_str(),
            found.authority_kind.as_str(),
            found.organization.as_str(),
            found.unit.as_str()
        ),
        (
            "vaxjo-kommun-skola",
            "school",
            "vaxjo-kommun",
            "ostra-skolan"
        )
    );
    assert_eq!(found.authority_name, "Skolan, vaxjo-kommun");
    let contact = found.contact.unwrap();
    assert_eq!(
        (contact.title.as_str(), contact.phone.as_str()),
        ("Rektor", "0470-00 00 00")
    );
    // Without credentials, nothing.
    let e = eservice
        .lookup_responsible(LookupResponsibleRequest {
            service_unit: Some(school("12345678")),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let staff = node.user("handlaggare", "ifo");
    let e = api
        .lookup_responsible(staff.req(LookupResponsibleRequest {
            service_unit: Some(school("99999999")),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // The suggestion: from the birth month, schooling and the units the child attends.
    let known = vec![
        school("12345678"),
        ServiceUnit {
            kind: ServiceUnitKind::ChildHealthCentre as i32,
            code: "55555555".into(),
        },
    ];
    let suggest = |birth_month: &str, expected_month: &str, schooling: Schooling| {
        staff.req(SuggestResponsibleRequest {
            birth_month: birth_month.into(),
            expected_month: expected_month.into(),
            schooling: schooling as i32,
            known_units: known.clone(),
        })
    };
    let pupil = api
        .suggest_responsible(suggest("2017-01", "", Schooling::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pupil.expected_kinds, vec!["school"]);
    assert_eq!(pupil.responsible.unwrap().unit, "ostra-skolan");
    let small = api
        .suggest_responsible(suggest("2024-03", "", Schooling::None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(small.expected_kinds, vec!["child-health-care"]);
    assert_eq!(small.responsible.unwrap().unit, "bvc");
    let unborn = api
        .suggest_responsible(suggest("", "2027-05", Schooling::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unborn.expected_kinds, vec!["maternity-care"]);
    assert!(
        unborn.responsible.is_none(),
        "no maternity clinic was named"
    );
    let e = api
        .suggest_responsible(suggest("2017-01", "2027-05", Schooling::None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // Nothing of it went into the log.
    let text = read(&node.log_file());
    assert!(!text.contains("2017-01") && !text.contains("12345678"));
}

#[tokio::test]
async fn a_node_holding_two_homes_plans_for_a_child_tells_who_may_read_both() {
    let nodes = county().await;
    let (vaxjo, region) = (&nodes[0], &nodes[1]);
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let mut at_vaxjo = vaxjo.client().await;
    let mut at_region = region.client().await;
    // The child has a plan at the region too (its test directory has a school authority).
    let region_rektor = region.user("rektor", "ostra-skolan");
    let theirs = create_plan(&mut at_region, &region_rektor).await;
    // Växjö's plan for the same child: the region's school and BUP take part; the consent grants
    // the region's school unit the identity and participants, BUP nothing.
    let ours = create_plan(&mut at_vaxjo, &rektor).await;
    for unit in ["ostra-skolan", "bup"] {
        at_vaxjo
            .put_fragment(rektor.req(put(Fragment {
                plan_id: ours.clone(),
                body: Some(Body::Participant(Participant {
                    organization: "region-kronoberg".into(),
                    unit: unit.into(),
                    contact: None,
                })),
                ..Default::default()
            })))
            .await
            .unwrap();
    }
    let mut c = consent(&ours, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        unit: "ostra-skolan".into(),
        categories: vec![Category::Identity as i32, Category::Participants as i32],
        ..Default::default()
    }];
    at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 0,
        }))
        .await
        .unwrap();
    // The region's school reads both headers: it is told of the other plan, each way.
    let notice = eventually(Duration::from_secs(20), "the notice at the region", || {
        let (mut api, who, p) = (at_region.clone(), region_rektor.clone(), ours.clone());
        async move {
            let r = api.get_plan(who.req(GetPlanRequest { plan_id: p })).await;
            let r = r.ok()?.into_inner();
            (!r.same_child_plan_ids.is_empty()).then_some(r.same_child_plan_ids)
        }
    })
    .await;
    assert_eq!(notice, vec![theirs.clone()]);
    let back = at_region
        .get_plan(region_rektor.req(GetPlanRequest {
            plan_id: theirs.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.same_child_plan_ids, vec![ours.clone()]);
    // BUP takes part in Växjö's plan but may read nothing of it: it is told nothing.
    let psykolog = region.user("psykolog", "bup");
    let seen = at_region
        .get_plan(psykolog.req(GetPlanRequest {
            plan_id: ours.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(seen.same_child_plan_ids.is_empty());
    // The naming is an access record of the other plan.
    let log = at_region
        .list_access_log(region_rektor.req(ListAccessLogRequest {
            plan_id: theirs.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        log.entries
            .iter()
            .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
            .any(|r| r.reason == "same-child" && r.user_id == "rektor")
    );
}
