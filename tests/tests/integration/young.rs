//! Every child can have a plan, through the client API on real nodes: before birth (maternity
//! care responsible, the number added at birth, the handover to BVC then due, in the listing and
//! the stream), and a young person of 18, whose own consent and withdrawal are the ones that
//! count.

use std::time::Duration;

use kronobarn_proto::v1::{
    Category, Child, Contact, CreatePlanRequest, Fragment, GetPlanRequest, Grant, Guardian,
    IdentityKind, ListFollowUpsRequest, Participant, PlanHeader, PutFragmentRequest,
    RecordConsentRequest, RevokeConsentRequest, WatchFollowUpsRequest, WheelArea, fragment::Body,
};
use tonic::Code;

use crate::common::{consent, create_plan_with, day, header, put, wheel};
use crate::county::county;
use crate::harness::{TestNode, eventually};

/// A plan header before birth: no number, the month the child is expected, the expectant
/// parents (who will have custody), maternity care responsible.
fn unborn() -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            identity_kind: IdentityKind::Unborn as i32,
            expected_month: day(45)[..7].to_string(),
            ..Default::default()
        }),
        guardians: vec![Guardian {
            guardian_id: "g1".into(),
            name: "Blivande Förälder Påhittad".into(),
            has_custody: true,
            contact: None,
        }],
        responsible_unit: "mvc".into(),
        responsible_contact: Some(Contact {
            name: "Barnmorska Påhittad".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unborn_childs_plan_gets_its_number_at_birth_and_the_handover_to_bvc_falls_due() {
    let node = TestNode::start("region-kronoberg").await;
    let mut api = node.client().await;
    let barnmorska = node.user("barnmorska", "mvc");
    // Before birth BVC is not yet responsible; maternity care is.
    let mut at_bvc = unborn();
    at_bvc.responsible_unit = "bvc".into();
    let e = api
        .create_plan(node.user("bvc-1", "bvc").req(CreatePlanRequest {
            header: Some(at_bvc),
            unit_contact: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("not-born-yet"), "{}", e.message());
    let plan = create_plan_with(&mut api, &barnmorska, unborn()).await;
    // The expectant parent consents before birth.
    let mut c = consent(&plan, &["g1"]);
    c.grants = vec![Grant {
        organization: "vaxjo-kommun".into(),
        categories: vec![Category::Identity as i32],
        ..Default::default()
    }];
    api.record_consent(barnmorska.req(RecordConsentRequest {
        consent: Some(c),
        expected_previous_version: 0,
    }))
    .await
    .expect("the expectant parents consent before birth");
    let handovers = |api: &mut kronobarn_proto::v1::plan_service_client::PlanServiceClient<
        tonic::transport::Channel,
    >| {
        let mut api = api.clone();
        let who = barnmorska.clone();
        async move {
            api.list_follow_ups(who.req(ListFollowUpsRequest {
                to_date: day(400),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .follow_ups
            .into_iter()
            .filter(|f| f.fragment_id == "handover")
            .collect::<Vec<_>>()
        }
    };
    assert!(
        handovers(&mut api).await.is_empty(),
        "maternity care holds it"
    );
    let mut stream = api
        .watch_follow_ups(barnmorska.req(WatchFollowUpsRequest {}))
        .await
        .unwrap()
        .into_inner();

    // Born three days ago: the delivery ward's reserve number goes into the header.
    let current = api
        .get_plan(barnmorska.req(GetPlanRequest {
            plan_id: plan.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let version = current
        .fragments
        .iter()
        .find(|f| f.fragment_id == "header")
        .and_then(|f| f.version);
    let mut born = unborn();
    born.child = Some(Child {
        identity_kind: IdentityKind::ReserveNumber as i32,
        personal_identity_number: "KRONOBERG-R-0001".into(),
        name: "Testbarn Nyfödd Påhittad".into(),
        birth_date: day(-3),
        ..Default::default()
    });
    let header_update = |h: PlanHeader, version| PutFragmentRequest {
        fragment: Some(Fragment {
            plan_id: plan.clone(),
            fragment_id: "header".into(),
            body: Some(Body::Header(h)),
            ..Default::default()
        }),
        expected_version: version,
    };
    let written = api
        .put_fragment(barnmorska.req(header_update(born.clone(), version)))
        .await
        .expect("the number is added at birth")
        .into_inner()
        .fragment
        .unwrap();
    let due = handovers(&mut api).await;
    assert_eq!(due.len(), 1, "{due:?}");
    let h = &due[0];
    assert_eq!(
        (
            h.plan_id.as_str(),
            h.handover_to_kind.as_str(),
            h.handover_reason.as_str(),
            h.due_on.clone(),
            h.follow_up_by.as_str()
        ),
        (plan.as_str(), "child-health-care", "born", day(-3), "mvc")
    );
    assert!(h.overdue);
    let streamed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = stream.message().await.unwrap().unwrap().follow_up.unwrap();
            if f.fragment_id == "handover" {
                return f;
            }
        }
    })
    .await
    .expect("the stream names the handover that fell due");
    assert_eq!(streamed.handover_to_kind, "child-health-care");

    // BVC takes over: no handover is due until school starts.
    let mut at_bvc = born.clone();
    at_bvc.responsible_unit = "bvc".into();
    api.put_fragment(barnmorska.req(header_update(at_bvc, written.version)))
        .await
        .expect("maternity care names BVC");
    assert!(handovers(&mut api).await.is_empty());
    // BVC, now responsible, takes part; what maternity care wrote it reads only under a consent
    // that grants it (secrecy runs between the region's care units too).
    let at_bvc = api
        .get_plan(node.user("bvc-1", "bvc").req(GetPlanRequest {
            plan_id: plan.clone(),
        }))
        .await
        .expect("BVC takes part")
        .into_inner()
        .plan
        .unwrap();
    assert!(at_bvc.withheld.iter().any(|w| w.fragment_id == "header"));
}

#[tokio::test]
async fn an_eighteen_year_olds_own_consent_and_withdrawal_are_the_ones_that_count() {
    let nodes = county().await;
    let (vaxjo, region) = (&nodes[0], &nodes[1]);
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let psykolog = region.user("psykolog", "bup");
    let mut at_vaxjo = vaxjo.client().await;
    let mut at_region = region.client().await;
    // A young person of 18 (the Tax Agency's test number 20080101-2386) at upper secondary school.
    let mut h = header();
    h.child = Some(Child {
        personal_identity_number: "20080101-2386".into(),
        name: "Testung Påhittad".into(),
        ..Default::default()
    });
    let plan = create_plan_with(&mut at_vaxjo, &rektor, h).await;
    at_vaxjo
        .put_fragment(rektor.req(put(Fragment {
            plan_id: plan.clone(),
            body: Some(Body::Participant(Participant {
                organization: "region-kronoberg".into(),
                unit: "bup".into(),
                contact: None,
            })),
            ..Default::default()
        })))
        .await
        .unwrap();
    let health = at_vaxjo
        .put_fragment(rektor.req(put(wheel(&plan, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap()
        .fragment_id;
    // The guardians' consent alone is not enough from 18.
    let mut c = consent(&plan, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        categories: vec![
            Category::Identity as i32,
            Category::Participants as i32,
            Category::WheelHealth as i32,
        ],
        ..Default::default()
    }];
    let e = at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c.clone()),
            expected_previous_version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().starts_with("consent.young_person_consented") && e.message().contains("18"),
        "{}",
        e.message()
    );
    // The young person's own, with no guardian's, is.
    c.guardian_consents.clear();
    c.young_person_consented = true;
    at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 0,
        }))
        .await
        .expect("the young person consents alone");
    let shown = |api: &kronobarn_proto::v1::plan_service_client::PlanServiceClient<
        tonic::transport::Channel,
    >,
                 want: bool| {
        let (mut api, who, p, f) = (api.clone(), psykolog.clone(), plan.clone(), health.clone());
        async move {
            // Once the participants are withdrawn too, BUP takes no part here: nothing is shown.
            let has = match api.get_plan(who.req(GetPlanRequest { plan_id: p })).await {
                Ok(r) => r
                    .into_inner()
                    .plan?
                    .fragments
                    .iter()
                    .any(|x| x.fragment_id == f),
                Err(e) if e.code() == Code::PermissionDenied => false,
                Err(_) => return None,
            };
            (has == want).then_some(())
        }
    };
    eventually(
        Duration::from_secs(20),
        "BUP to see the health part",
        || shown(&at_region, true),
    )
    .await;
    // A guardian's withdrawal does not count, and both nodes (each holds the header) say so.
    for (api, who) in [(&mut at_region, &psykolog), (&mut at_vaxjo, &rektor)] {
        let e = api
            .revoke_consent(who.req(RevokeConsentRequest {
                plan_id: plan.clone(),
                withdrawn_by: "g1".into(),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(
            e.message().starts_with("guardian-after-18"),
            "{}",
            e.message()
        );
    }
    assert!(shown(&at_region, true).await.is_some());
    // The young person's own withdrawal, recorded at the region, does.
    at_region
        .revoke_consent(psykolog.req(RevokeConsentRequest {
            plan_id: plan.clone(),
            withdrawn_by: "child".into(),
            ..Default::default()
        }))
        .await
        .expect("the young person withdraws");
    eventually(
        Duration::from_secs(20),
        "the health part to be withdrawn",
        || shown(&at_region, false),
    )
    .await;
}
