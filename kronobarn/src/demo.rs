//! `kronobarn demo`: a child's plan walked through the practice model across the eleven nodes of
//! Kronoberg county on loopback, through the real client API and federation, in plain words.
//!
//! Everyone in it is invented; the child has the Swedish Tax Agency's published test identity
//! number 19121212-1212.

use std::sync::Arc;

use anyhow::Context;
use kronobarn_proto::v1::{
    AdvancePlanRequest, ExportFormat, ExportPlanRequest, FollowUpRecord, ListFollowUpsRequest,
    PlanStage,
};
use kronobarn_proto::v1::{
    Category, Child, ConsentForm, Contact, CoordinationMeeting, CreatePlanRequest, Fragment,
    GetConsentStatusRequest, GetPlanRequest, Grant, Guardian, GuardianConsent, Intervention,
    ListAccessLogRequest, Participant, PlanHeader, PutFragmentRequest, RecordConsentRequest,
    RevokeConsentRequest, WheelArea, WheelAssessment, fragment::Body,
};
use std::time::{Duration, Instant};

use kronobarn_node::client::{User, connect};

fn user(token: &str, id: &str, role: &str, unit: &str) -> User {
    User {
        token: token.into(),
        user_id: id.into(),
        role: role.into(),
        unit: unit.into(),
        purpose: "plan-coordination".into(),
    }
}

fn contact(name: &str, title: &str) -> Option<Contact> {
    Some(Contact {
        name: name.into(),
        title: title.into(),
        phone: "0470-00 00 00".into(),
        email: String::new(),
    })
}

fn step(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

/// Names of fragment kinds, for telling what a node shows.
fn kinds(fragments: &[Fragment]) -> String {
    let mut v: Vec<String> = fragments
        .iter()
        .map(|f| match &f.body {
            Some(Body::Header(_)) => "plan header".to_string(),
            Some(Body::Participant(_)) => "participant".to_string(),
            Some(Body::WheelAssessment(w)) => {
                format!(
                    "wheel: {}",
                    WheelArea::try_from(w.area)
                        .map_or("?", |a| a.as_str_name())
                        .trim_start_matches("WHEEL_AREA_")
                        .to_lowercase()
                )
            }
            Some(Body::Intervention(_)) => format!("intervention by {}", f.home_organization),
            Some(Body::Meeting(_)) => "meeting record".to_string(),
            Some(Body::FollowUp(_)) => "follow-up".to_string(),
            Some(Body::Status(_)) => "plan status".to_string(),
            None => "?".to_string(),
        })
        .collect();
    v.sort();
    let mut out: Vec<String> = Vec::new();
    for k in v {
        match out.last_mut() {
            Some(last) if last.starts_with(&k) => {
                let n = last
                    .rsplit_once(" x")
                    .and_then(|(_, n)| n.parse::<u32>().ok())
                    .unwrap_or(1);
                *last = format!("{k} x{}", n + 1);
            }
            _ => out.push(k),
        }
    }
    out.join(", ")
}

type Api = kronobarn_proto::v1::plan_service_client::PlanServiceClient<tonic::transport::Channel>;

async fn shown(api: &mut Api, who: &User, plan_id: &str) -> Option<Vec<Fragment>> {
    let r = api
        .get_plan(who.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .ok()?;
    Some(r.into_inner().plan?.fragments)
}

/// Polls `check` every 5 ms for up to 30 s; returns the value and the time it took.
async fn until<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok((v, start.elapsed()));
        }
        if start.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("gave up waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the demo.
pub async fn run(out_dir: &std::path::Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!(
        "Kronobarn demo: the eleven organisations of Kronoberg county, each with its own node and its own"
    );
    println!(
        "embedded database, exchanging over mutual TLS on this machine (folders in {}).",
        dir.path().display()
    );
    let t = Instant::now();
    let county = crate::county::start(dir.path(), &crate::county::KRONOBERG, 300).await?;
    println!(
        "   {} nodes started in {} ms: {}.",
        county.len(),
        t.elapsed().as_millis(),
        county
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let node = |org: &str| {
        county
            .iter()
            .find(|m| m.organization == org)
            .expect("a county member")
    };
    let (vaxjo, region, frivillig, polisen, alvesta) = (
        node("vaxjo-kommun"),
        node("region-kronoberg"),
        node("barnens-vanner"),
        node("polisen"),
        node("alvesta-kommun"),
    );
    let mut at_vaxjo = connect(vaxjo.running.client_addr, &vaxjo.init.ca_pem, None).await?;
    let mut at_region = connect(region.running.client_addr, &region.init.ca_pem, None).await?;
    let mut at_frivillig =
        connect(frivillig.running.client_addr, &frivillig.init.ca_pem, None).await?;
    let mut at_polisen = connect(polisen.running.client_addr, &polisen.init.ca_pem, None).await?;
    let mut at_alvesta = connect(alvesta.running.client_addr, &alvesta.init.ca_pem, None).await?;
    let rektor = user(
        &vaxjo.init.token,
        "rektor.ostra",
        "principal",
        "ostra-skolan",
    );
    let psykolog = user(
        &region.init.token,
        "psykolog.bup",
        "psychologist",
        "bup-vaxjo",
    );
    let ledare = user(
        &frivillig.init.token,
        "ledare.laxhjalp",
        "volunteer-coordinator",
        "laxhjalp",
    );
    let polis = user(
        &polisen.init.token,
        "handlaggare",
        "officer",
        "ungdomsgruppen",
    );
    let socialsekreterare = user(
        &alvesta.init.token,
        "socialsekreterare",
        "social-worker",
        "ifo",
    );

    step(
        1,
        "A need is noticed. The principal of Östra skolan in Växjö sees that Testbarn is often absent and seems worried, and opens a plan at Växjö kommun's node.",
    );
    let plan = at_vaxjo
        .create_plan(rektor.req(CreatePlanRequest {
            header: Some(PlanHeader {
                child: Some(Child {
                    personal_identity_number: "19121212-1212".into(),
                    name: "Testbarn Påhittadsson".into(),
                    birth_date: String::new(),
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
            }),
            unit_contact: contact("Rektor Påhittad", "rektor"),
        }))
        .await?
        .into_inner()
        .plan
        .context("no plan returned")?;
    let plan_id = plan.plan_id.clone();
    println!(
        "   Plan {plan_id}: Växjö kommun is responsible (Barnens bästa-ansvarig) and the consent home."
    );

    step(
        2,
        "The principal talks with Testbarn and the guardians, using the wheel.",
    );
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
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
            &mut at_vaxjo,
            &rektor,
            &plan_id,
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
    };
    let now = running_now();
    let t = Instant::now();
    at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(kronobarn_proto::v1::Consent {
                plan_id: plan_id.clone(),
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
                    },
                ],
                purpose: "plan-coordination".into(),
                ..Default::default()
            }),
            expected_previous_version: 0,
        }))
        .await?;
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::Consent,
        Default::default(),
    )
    .await?;

    step(
        4,
        "A coordination meeting is called: BUP at Region Kronoberg and the homework club of Barnens vänner are invited. The consent covers both, or the node would refuse.",
    );
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::MeetingCalled,
        AdvancePlanRequest {
            invited_organizations: vec!["region-kronoberg".into(), "barnens-vanner".into()],
            meeting_on: in_days(-1),
            ..Default::default()
        },
    )
    .await?;
    put(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bup-vaxjo".into(),
            contact: contact("Psykolog Påhittad", "psykolog"),
        }),
    )
    .await?;
    put(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        Body::Participant(Participant {
            organization: "barnens-vanner".into(),
            unit: "laxhjalp".into(),
            contact: contact("Ledare Påhittad", "samordnare"),
        }),
    )
    .await?;
    put(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
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
        }),
    )
    .await?;

    let (seen, took) = until("the plan to reach BUP", || {
        let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
        async move {
            shown(&mut api, &who, &p)
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
        let (mut api, who, p) = (at_frivillig.clone(), ledare.clone(), plan_id.clone());
        async move { shown(&mut api, &who, &p).await.filter(|f| !f.is_empty()) }
    })
    .await?;
    println!("   Barnens vänner's node shows: {}.", kinds(&seen));
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::Agreed,
        Default::default(),
    )
    .await?;

    step(
        5,
        "Each organisation writes its own part: BUP adds its intervention at Region Kronoberg's node.",
    );
    let t5 = Instant::now();
    put(
        &mut at_region,
        &psykolog,
        &plan_id,
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
    let (_, took) = until("BUP's intervention to reach Växjö", || {
        let (mut api, who, p) = (at_vaxjo.clone(), rektor.clone(), plan_id.clone());
        async move {
            shown(&mut api, &who, &p)
                .await
                .filter(|f| f.iter().any(|f| f.home_organization == "region-kronoberg"))
        }
    })
    .await?;
    let (seen, _) = until("BUP's intervention to reach Barnens vänner", || {
        let (mut api, who, p) = (at_frivillig.clone(), ledare.clone(), plan_id.clone());
        async move {
            shown(&mut api, &who, &p)
                .await
                .filter(|f| f.iter().any(|f| f.home_organization == "region-kronoberg"))
        }
    })
    .await?;
    println!(
        "   It reached Växjö in {} ms, signed by Region Kronoberg and logged on both sides. Barnens vänner now shows: {}.",
        took.as_millis(),
        kinds(&seen)
    );
    let _ = t5;

    step(6, "Organisations without consent hold nothing.");
    for (api, who, name) in [
        (&mut at_polisen, &polis, "Polismyndigheten"),
        (&mut at_alvesta, &socialsekreterare, "Alvesta kommun"),
    ] {
        match api
            .get_plan(who.req(GetPlanRequest {
                plan_id: plan_id.clone(),
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

    step(
        7,
        "The plan is followed up: the principal records how it went and sets the next date. BUP sees its own follow-ups coming up, from an index, without searching every plan.",
    );
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::FollowUp,
        Default::default(),
    )
    .await?;
    put(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        Body::FollowUp(FollowUpRecord {
            held_on: running_today(),
            intervention_fragment_id: String::new(),
            outcome:
                "Testbarn är i skolan nästan varje dag och har en vuxen att gå till på rasten."
                    .into(),
            next_follow_up_date: in_days(120),
        }),
    )
    .await?;
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::Revised,
        Default::default(),
    )
    .await?;
    let due = at_region
        .list_follow_ups(psykolog.req(ListFollowUpsRequest {
            from_date: running_today(),
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
        let doc = at_vaxjo
            .export_plan(rektor.req(ExportPlanRequest {
                plan_id: plan_id.clone(),
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
    let bup_copy = at_region
        .export_plan(psykolog.req(ExportPlanRequest {
            plan_id: plan_id.clone(),
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

    step(
        9,
        "Vårdnadshavare Ett withdraws consent, telling the homework club. Withdrawing is as easy as giving: it is recorded at Barnens vänner's node.",
    );
    let t7 = Instant::now();
    let rev = at_frivillig
        .revoke_consent(ledare.req(RevokeConsentRequest {
            plan_id: plan_id.clone(),
            withdrawn_by: "g1".into(),
            organizations: vec![],
            categories: vec![],
        }))
        .await?
        .into_inner()
        .revocation
        .context("no revocation")?;
    let (status, _) = until("every participant to confirm the purge", || {
        let (mut api, who, p) = (at_frivillig.clone(), ledare.clone(), plan_id.clone());
        async move {
            let s = api
                .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                .await
                .ok()?
                .into_inner();
            s.revocation_status
                .into_iter()
                .find(|r| r.pending.is_empty())
        }
    })
    .await?;
    let purged_in = t7.elapsed();
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
    for (api, who, name) in [
        (&mut at_region, &psykolog, "Region Kronoberg"),
        (&mut at_vaxjo, &rektor, "Växjö kommun"),
        (&mut at_frivillig, &ledare, "Barnens vänner"),
    ] {
        let seen = shown(api, who, &plan_id).await.unwrap_or_default();
        println!(
            "   {name} now shows only its own records: {}.",
            if seen.is_empty() {
                "nothing".to_string()
            } else {
                kinds(&seen)
            }
        );
    }

    step(
        10,
        "The plan is closed, with the reason. Closing ends every share and lease.",
    );
    advance(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        PlanStage::Closed,
        AdvancePlanRequest {
            reason: "Vårdnadshavarna återkallade samtycket; skolan fortsätter stödet på egen hand."
                .into(),
            ..Default::default()
        },
    )
    .await?;

    step(
        11,
        "Every crossing is in the access logs on both sides. The nodes are stopped and all eleven logs verified.",
    );
    let log = at_region
        .list_access_log(psykolog.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 0,
            page_token: String::new(),
        }))
        .await?
        .into_inner();
    let mut counts = std::collections::BTreeMap::new();
    for e in &log.entries {
        let r = <kronobarn_proto::v1::AccessRecord as prost::Message>::decode(e.record.as_slice())?;
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
    drop((at_vaxjo, at_region, at_frivillig, at_polisen, at_alvesta));
    let mut verified = 0u64;
    for m in county {
        let data = m.init.config_path.parent().context("folder")?.join("data");
        let node = m.running.node.clone();
        m.running.stop().await?;
        node.durable().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(node);
        let store: Arc<dyn kronobarn_node::store::Store> =
            Arc::new(kronobarn_node::store::SledStore::open(&data)?);
        verified += kronobarn_node::accesslog::verify_store(store.as_ref(), |_| {})?.size;
    }
    println!("   11 logs, {verified} signed entries, every hash link and signature verified.");
    let _ = t;
    println!(
        "\nDone. The nodes' folders were temporary; the plan as a document is in {}: open barnets-plan.html (or childs-plan.en.html) in a browser.",
        out_dir.display()
    );
    Ok(())
}

/// The date `days` from today, YYYY-MM-DD, so the story's follow-ups always lie ahead.
fn in_days(days: i64) -> String {
    let (y, m, d) = kronobarn_proto::validate::swedish_date(running_now() + days * 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Moves the plan to the next stage of the practice model and says so.
async fn advance(
    api: &mut Api,
    who: &User,
    plan_id: &str,
    to: PlanStage,
    change: AdvancePlanRequest,
) -> anyhow::Result<()> {
    api.advance_plan(who.req(AdvancePlanRequest {
        plan_id: plan_id.into(),
        to: to as i32,
        ..change
    }))
    .await
    .with_context(|| format!("moving the plan to {to:?}"))?;
    println!(
        "   The plan's stage is now: {}.",
        to.as_str_name()
            .trim_start_matches("PLAN_STAGE_")
            .replace('_', " ")
            .to_lowercase()
    );
    Ok(())
}

fn running_today() -> String {
    in_days(0)
}

fn running_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn put(
    api: &mut kronobarn_proto::v1::plan_service_client::PlanServiceClient<
        tonic::transport::Channel,
    >,
    who: &User,
    plan_id: &str,
    body: Body,
) -> anyhow::Result<Fragment> {
    let f = Fragment {
        plan_id: plan_id.into(),
        body: Some(body),
        ..Default::default()
    };
    let r = api
        .put_fragment(who.req(PutFragmentRequest {
            fragment: Some(f),
            expected_version: None,
        }))
        .await?;
    r.into_inner().fragment.context("no fragment returned")
}

/// A plan header for the benchmark: the same invented child.
pub(crate) fn bench_header() -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            personal_identity_number: "19121212-1212".into(),
            name: "Testbarn Påhittadsson".into(),
            birth_date: String::new(),
        }),
        guardians: vec![Guardian {
            guardian_id: "g1".into(),
            name: "Vårdnadshavare Ett".into(),
            has_custody: true,
            contact: None,
        }],
        responsible_organization: String::new(),
        responsible_unit: "unit".into(),
        responsible_contact: contact("Rektor Påhittad", "rektor"),
        follow_up_dates: vec![],
        follow_up_by: String::new(),
    }
}
