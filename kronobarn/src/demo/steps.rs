//! The demo's story, one function per step of the practice model, in the order [`super::run`]
//! calls them. Each prints its heading and what happened.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use kronobarn_proto::v1::{
    AccessRecord, AdvancePlanRequest, Category, Child, Consent, ConsentForm, CoordinationMeeting,
    CreatePlanRequest, ExportFormat, ExportPlanRequest, FollowUpRecord, GetConsentStatusRequest,
    GetPlanRequest, Grant, Guardian, GuardianConsent, Intervention, ListAccessLogRequest,
    ListFollowUpsRequest, Participant, PlanHeader, PlanStage, RecordConsentRequest,
    RevokeConsentRequest, WheelArea, WheelAssessment, fragment::Body,
};
use prost::Message;

use super::{County, advance, contact, in_days, kinds, now_ms, put, shown, step, today, until};

/// Step 1: the principal notices a need and opens a plan at Växjö kommun's node; returns its
/// id.
pub(super) async fn a_need_is_noticed(c: &mut County) -> anyhow::Result<String> {
    step(
        1,
        "A need is noticed. The principal of Östra skolan in Växjö sees that Testbarn is often absent and seems worried, and opens a plan at Växjö kommun's node.",
    );
    let plan = c
        .principal
        .api
        .create_plan(c.principal.user.req(CreatePlanRequest {
            header: Some(PlanHeader {
                child: Some(Child {
                    personal_identity_number: "20170101-2393".into(),
                    name: "Testbarn Påhittadsson".into(),
                    birth_date: String::new(),
                    ..Default::default()
                }),
                guardians: vec![
                    Guardian {
                        guardian_id: "g1".into(),
                        name: "Vårdnadshavare Ett".into(),
                        has_custody: true,
                        contact: None,
                    },
                    Guardian {
                        guardian_id: "g2".into(),
                        name: "Vårdnadshavare Två".into(),
                        has_custody: true,
                        contact: None,
                    },
                ],
                responsible_organization: String::new(),
                responsible_unit: "ostra-skolan".into(),
                responsible_contact: contact("Rektor Påhittad", "rektor"),
                follow_up_dates: vec![in_days(90)],
                follow_up_by: "Rektor Påhittad".into(),
                ..Default::default()
            }),
            unit_contact: contact("Rektor Påhittad", "rektor"),
        }))
        .await?
        .into_inner()
        .plan
        .context("no plan returned")?;
    let plan_id = plan.plan_id;
    println!(
        "   Plan {plan_id}: Växjö kommun is responsible (Barnens bästa-ansvarig) and the consent home."
    );
    Ok(plan_id)
}

/// Step 2: the principal talks with the child and the guardians and assesses three wheel
/// areas.
pub(super) async fn talk_with_the_wheel(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        2,
        "The principal talks with Testbarn and the guardians, using the wheel.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Talk,
        Default::default(),
    )
    .await?;
    for (area, needs, view) in [
        (
            WheelArea::Learning,
            "Frånvaro ca 30 % senaste månaden; svårt att komma igång med läsning.",
            "Jag vill kunna läsa som de andra.",
        ),
        (
            WheelArea::Safety,
            "Oro inför rasterna.",
            "Det är jobbigt på rasten.",
        ),
        (
            WheelArea::Health,
            "Sover dåligt, ont i magen på morgonen.",
            "Jag är trött.",
        ),
    ] {
        put(
            &mut c.principal,
            plan_id,
            Body::WheelAssessment(WheelAssessment {
                area: area as i32,
                needs: needs.into(),
                strengths: "Nyfiken, tycker om att rita.".into(),
                child_view: view.into(),
                assessed_on: "2026-11-20".into(),
            }),
        )
        .await?;
    }
    println!(
        "   Learning, safety and health assessed, each with the child's own words. So far nothing has left Växjö."
    );
    Ok(())
}

/// Step 3: both guardians consent, each on their own, to exactly what each organisation may
/// receive.
pub(super) async fn both_guardians_consent(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        3,
        "Both guardians consent, separately. BUP may receive the health assessment and the interventions; Barnens vänner only the interventions; Växjö may receive the others' interventions. Nothing else, and nobody else.",
    );
    let base = [Category::Identity as i32, Category::Participants as i32];
    let grant = |org: &str, extra: &[Category]| Grant {
        organization: org.into(),
        categories: base
            .iter()
            .copied()
            .chain(extra.iter().map(|c| *c as i32))
            .collect(),
        ..Default::default()
    };
    let now = now_ms();
    c.principal
        .api
        .record_consent(c.principal.user.req(RecordConsentRequest {
            consent: Some(Consent {
                plan_id: plan_id.to_string(),
                guardian_consents: vec![
                    GuardianConsent {
                        guardian_id: "g1".into(),
                        form: ConsentForm::Written as i32,
                        given_at_unix_ms: now,
                    },
                    GuardianConsent {
                        guardian_id: "g2".into(),
                        form: ConsentForm::Oral as i32,
                        given_at_unix_ms: now,
                    },
                ],
                child_view: "Testbarn vill att skolan och BUP pratar med varandra.".into(),
                valid_until_unix_ms: now + 365 * 24 * 3600 * 1000,
                grants: vec![
                    grant(
                        "region-kronoberg",
                        &[Category::WheelHealth, Category::Interventions],
                    ),
                    grant("barnens-vanner", &[Category::Interventions]),
                    Grant {
                        organization: "vaxjo-kommun".into(),
                        categories: vec![Category::Interventions as i32],
                        ..Default::default()
                    },
                ],
                purpose: "plan-coordination".into(),
                ..Default::default()
            }),
            expected_previous_version: 0,
        }))
        .await?;
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Consent,
        Default::default(),
    )
    .await
}

/// Step 4: a coordination meeting brings in BUP and the homework club; what the consent grants
/// them reaches their nodes, nothing more, and the plan is agreed.
pub(super) async fn a_coordination_meeting(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        4,
        "A coordination meeting is called: BUP at Region Kronoberg and the homework club of Barnens vänner are invited. The consent covers both, or the node would refuse.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::MeetingCalled,
        AdvancePlanRequest {
            invited_organizations: vec!["region-kronoberg".into(), "barnens-vanner".into()],
            meeting_on: in_days(-1),
            ..Default::default()
        },
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bup-vaxjo".into(),
            contact: contact("Psykolog Påhittad", "psykolog"),
        }),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::Participant(Participant {
            organization: "barnens-vanner".into(),
            unit: "laxhjalp".into(),
            contact: contact("Ledare Påhittad", "samordnare"),
        }),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::Meeting(CoordinationMeeting {
            held_on: in_days(-1),
            attendees: vec![
                "Testbarn".into(),
                "Vårdnadshavare Ett".into(),
                "Vårdnadshavare Två".into(),
                "Rektor Påhittad".into(),
                "Psykolog Påhittad".into(),
            ],
            child_view: "Jag vill ha en vuxen att gå till på rasten.".into(),
            guardians_view: "Vi vill att skolan och BUP samarbetar.".into(),
            decisions: vec![
                "Rastvärd varje dag.".into(),
                "Samtal på BUP varannan vecka.".into(),
                "Läxhjälp två gånger i veckan.".into(),
            ],
            guardians_present: true,
        }),
    )
    .await?;

    let (seen, took) = until("the plan to reach BUP", || {
        let (mut d, p) = (c.psychologist.clone(), plan_id.to_string());
        async move {
            shown(&mut d, &p)
                .await
                .filter(|f| f.iter().any(|f| f.category == Category::WheelHealth as i32))
        }
    })
    .await?;
    println!(
        "   BUP's node shows, {} ms after the consent: {}.",
        took.as_millis(),
        kinds(&seen)
    );
    println!("   The learning and safety assessments and the meeting record never left Växjö.");
    let (seen, _) = until("the plan to reach Barnens vänner", || {
        let (mut d, p) = (c.club_leader.clone(), plan_id.to_string());
        async move { shown(&mut d, &p).await.filter(|f| !f.is_empty()) }
    })
    .await?;
    println!("   Barnens vänner's node shows: {}.", kinds(&seen));
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Agreed,
        Default::default(),
    )
    .await
}

/// Step 5: BUP writes its own intervention at its own node; it reaches Växjö and the homework
/// club.
pub(super) async fn each_writes_its_own_part(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        5,
        "Each organisation writes its own part: BUP adds its intervention at Region Kronoberg's node.",
    );
    put(
        &mut c.psychologist,
        plan_id,
        Body::Intervention(Intervention {
            what: "Samtal på BUP varannan vecka".into(),
            who: "BUP Växjö".into(),
            responsible: contact("Psykolog Påhittad", "psykolog"),
            from_date: in_days(6),
            to_date: in_days(200),
            follow_up_date: in_days(60),
            follow_up_by: "Psykolog Påhittad".into(),
        }),
    )
    .await?;
    let from_bup = |f: &[kronobarn_proto::v1::Fragment]| {
        f.iter().any(|f| f.home_organization == "region-kronoberg")
    };
    let (_, took) = until("BUP's intervention to reach Växjö", || {
        let (mut d, p) = (c.principal.clone(), plan_id.to_string());
        async move { shown(&mut d, &p).await.filter(|f| from_bup(f)) }
    })
    .await?;
    let (seen, _) = until("BUP's intervention to reach Barnens vänner", || {
        let (mut d, p) = (c.club_leader.clone(), plan_id.to_string());
        async move { shown(&mut d, &p).await.filter(|f| from_bup(f)) }
    })
    .await?;
    println!(
        "   It reached Växjö in {} ms, signed by Region Kronoberg and logged on both sides. Barnens vänner now shows: {}.",
        took.as_millis(),
        kinds(&seen)
    );
    Ok(())
}

/// Step 6: the Police and Alvesta kommun, which no consent names, hold nothing of the plan.
pub(super) async fn without_consent_nothing(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(6, "Organisations without consent hold nothing.");
    for (desk, name) in [
        (&mut c.officer, "Polismyndigheten"),
        (&mut c.social_worker, "Alvesta kommun"),
    ] {
        match desk
            .api
            .get_plan(desk.user.req(GetPlanRequest {
                plan_id: plan_id.to_string(),
            }))
            .await
        {
            Err(s) if s.code() == tonic::Code::NotFound => {
                println!("   {name}: the plan is unknown there ({:?}).", s.code())
            }
            Err(s) => println!("   {name}: refused ({:?}).", s.code()),
            Ok(_) => anyhow::bail!("{name} could read a plan it has no consent for"),
        }
    }
    Ok(())
}

/// Step 7: the plan is followed up and revised; BUP lists its own follow-ups due soon.
pub(super) async fn follow_up(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        7,
        "The plan is followed up: the principal records how it went and sets the next date. BUP sees its own follow-ups coming up, from an index, without searching every plan.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::FollowUp,
        Default::default(),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::FollowUp(FollowUpRecord {
            held_on: today(),
            intervention_fragment_id: String::new(),
            outcome:
                "Testbarn är i skolan nästan varje dag och har en vuxen att gå till på rasten."
                    .into(),
            next_follow_up_date: in_days(120),
        }),
    )
    .await?;
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Revised,
        Default::default(),
    )
    .await?;
    let due = c
        .psychologist
        .api
        .list_follow_ups(c.psychologist.user.req(ListFollowUpsRequest {
            from_date: today(),
            to_date: in_days(90),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .follow_ups;
    for f in &due {
        println!(
            "   BUP's follow-ups due in the next 90 days: {} — {}.",
            f.due_on, f.subject
        );
    }
    Ok(())
}

/// Step 8: the plan as the family's documents (HTML in Swedish and English, PDF, FHIR) into
/// `out_dir`, and BUP's own rendering of what it may hold.
pub(super) async fn a_document_for_the_family(
    c: &mut County,
    plan_id: &str,
    out_dir: &Path,
) -> anyhow::Result<()> {
    step(
        8,
        "The plan as a document for the guardians and Testbarn, in plain words: who is responsible, what happens next, and what Testbarn said. Rendering is logged like any read.",
    );
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (format, lang, file) in [
        (ExportFormat::Html, "sv", "barnets-plan.html"),
        (ExportFormat::Html, "en", "childs-plan.en.html"),
        (ExportFormat::Pdf, "sv", "barnets-plan.pdf"),
        (ExportFormat::FhirR4Json, "", "plan.fhir.json"),
    ] {
        let doc = c
            .principal
            .api
            .export_plan(c.principal.user.req(ExportPlanRequest {
                plan_id: plan_id.to_string(),
                format: format as i32,
                language: lang.into(),
            }))
            .await?
            .into_inner();
        let path = out_dir.join(file);
        std::fs::write(&path, &doc.content)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("   wrote {} ({} bytes)", path.display(), doc.content.len());
    }
    let bup_copy = c
        .psychologist
        .api
        .export_plan(c.psychologist.user.req(ExportPlanRequest {
            plan_id: plan_id.to_string(),
            format: ExportFormat::Html as i32,
            language: "sv".into(),
        }))
        .await?
        .into_inner();
    let path = out_dir.join("barnets-plan.bup.html");
    std::fs::write(&path, &bup_copy.content)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "   BUP's node renders only what BUP may hold (no learning or safety assessment, no meeting notes): {}",
        path.display()
    );
    Ok(())
}

/// Step 9: one guardian withdraws consent at the homework club's node; the purge is confirmed
/// by every participant and each node shows only its own records.
pub(super) async fn a_guardian_withdraws(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        9,
        "Vårdnadshavare Ett withdraws consent, telling the homework club. Withdrawing is as easy as giving: it is recorded at Barnens vänner's node.",
    );
    let t = Instant::now();
    let rev = c
        .club_leader
        .api
        .revoke_consent(c.club_leader.user.req(RevokeConsentRequest {
            plan_id: plan_id.to_string(),
            withdrawn_by: "g1".into(),
            organizations: vec![],
            categories: vec![],
            ..Default::default()
        }))
        .await?
        .into_inner()
        .revocation
        .context("no revocation")?;
    let (status, _) = until("every participant to confirm the purge", || {
        let (mut d, p) = (c.club_leader.clone(), plan_id.to_string());
        async move {
            let s = d
                .api
                .get_consent_status(d.user.req(GetConsentStatusRequest { plan_id: p }))
                .await
                .ok()?
                .into_inner();
            s.revocation_status
                .into_iter()
                .find(|r| r.pending.is_empty())
        }
    })
    .await?;
    let purged_in = t.elapsed();
    let n = status.purged_at.len();
    println!(
        "   Revocation {} reached {}.",
        rev.revocation_id,
        status.purged_at.join(", ")
    );
    println!(
        "   purged at {n} of {n} participants in {} ms",
        purged_in.as_millis()
    );
    for (desk, name) in [
        (&mut c.psychologist, "Region Kronoberg"),
        (&mut c.principal, "Växjö kommun"),
        (&mut c.club_leader, "Barnens vänner"),
    ] {
        let seen = shown(desk, plan_id).await.unwrap_or_default();
        println!(
            "   {name} now shows only its own records: {}.",
            if seen.is_empty() {
                "nothing".to_string()
            } else {
                kinds(&seen)
            }
        );
    }
    Ok(())
}

/// Step 10: the responsible organisation closes the plan, with the reason.
pub(super) async fn the_plan_is_closed(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        10,
        "The plan is closed, with the reason. Closing ends every share and lease.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Closed,
        AdvancePlanRequest {
            reason: "Vårdnadshavarna återkallade samtycket; skolan fortsätter stödet på egen hand."
                .into(),
            ..Default::default()
        },
    )
    .await
}

/// Step 11: Region Kronoberg's records about the plan, counted by action; then every node is
/// stopped and its whole log verified.
pub(super) async fn every_log_verified(mut c: County, plan_id: &str) -> anyhow::Result<()> {
    step(
        11,
        "Every crossing is in the access logs on both sides. The nodes are stopped and all eleven logs verified.",
    );
    let log = c
        .psychologist
        .api
        .list_access_log(c.psychologist.user.req(ListAccessLogRequest {
            plan_id: plan_id.to_string(),
            page_size: 0,
            page_token: String::new(),
        }))
        .await?
        .into_inner();
    let mut counts = BTreeMap::new();
    for e in &log.entries {
        let r = AccessRecord::decode(e.record.as_slice())?;
        *counts
            .entry(
                r.action()
                    .as_str_name()
                    .trim_start_matches("ACCESS_ACTION_")
                    .to_lowercase(),
            )
            .or_insert(0) += 1;
    }
    println!(
        "   Region Kronoberg's records about this plan: {}.",
        counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut verified = 0u64;
    for m in c.into_members() {
        let data = m.init.config_path.parent().context("folder")?.join("data");
        let node = m.running.node.clone();
        m.running.stop().await?;
        node.durable().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(node);
        let store = kronobarn_node::store::SledStore::open(&data)?;
        verified += kronobarn_node::accesslog::verify_store(
            &store,
            &m.organization,
            Default::default(),
            |_| {},
        )?
        .size;
    }
    println!(
        "   11 logs, {verified} entries, every record, tree hash and batch signature verified."
    );
    Ok(())
}
