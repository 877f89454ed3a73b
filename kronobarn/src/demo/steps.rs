//! The first half of the demo's story, one function per step of the practice model, in the order
//! [`super::run`] calls them. Each prints its heading and what happened.

use anyhow::Context;
use kronobarn_proto::v1::{
    AdvancePlanRequest, Category, Child, Consent, ConsentForm, CoordinationMeeting,
    CreatePlanRequest, Fragment, GetPlanRequest, Grant, Guardian, GuardianConsent, Intervention,
    LookupResponsibleRequest, Participant, PlanHeader, PlanStage, RecordConsentRequest,
    ResponsibleUnit, Schooling, ServiceUnit, ServiceUnitKind, SuggestResponsibleRequest, WheelArea,
    WheelAssessment, fragment::Body,
};

use super::{
    County, Desk, advance, contact, in_days, kinds, now_ms, put, put_fragment, shown, step, today,
    until,
};

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
                        name: "Maria Påhittadsson".into(),
                        has_custody: true,
                        contact: None,
                    },
                    Guardian {
                        guardian_id: "g2".into(),
                        name: "Jonas Påhittadsson".into(),
                        has_custody: true,
                        contact: None,
                    },
                ],
                responsible_organization: String::new(),
                responsible_unit: "ostra-skolan".into(),
                responsible_contact: contact("Karin Påhittad", "rektor"),
                follow_up_dates: vec![in_days(90)],
                follow_up_by: "Karin Påhittad".into(),
                ..Default::default()
            }),
            unit_contact: contact("Karin Påhittad", "rektor"),
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
                assessed_on: in_days(-7),
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
        "Both guardians consent, separately, and the consent names authorities, not organisations: BUP at Region Kronoberg may receive the health assessment and the interventions; the association Barnens vänner only the interventions; the school in Växjö may receive the others' interventions. Nothing else, and nobody else: not even Växjö's own social services.",
    );
    let base = [Category::Identity as i32, Category::Participants as i32];
    let grant = |org: &str, authority: &str, extra: &[Category]| Grant {
        organization: org.into(),
        authority: authority.into(),
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
                        "region-kronoberg-bup",
                        &[Category::WheelHealth, Category::Interventions],
                    ),
                    grant(
                        "barnens-vanner",
                        "barnens-vanner",
                        &[Category::Interventions],
                    ),
                    Grant {
                        organization: "vaxjo-kommun".into(),
                        authority: "vaxjo-kommun-skola".into(),
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
            meeting_on: today(),
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
            contact: contact("Omar Påhittad", "psykolog"),
        }),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::Participant(Participant {
            organization: "barnens-vanner".into(),
            unit: "laxhjalp".into(),
            contact: contact("Lena Påhittad", "samordnare"),
        }),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::Meeting(CoordinationMeeting {
            held_on: today(),
            attendees: vec![
                "Testbarn".into(),
                "Maria Påhittadsson".into(),
                "Jonas Påhittadsson".into(),
                "Karin Påhittad".into(),
                "Omar Påhittad".into(),
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
            responsible: contact("Omar Påhittad", "psykolog"),
            from_date: in_days(6),
            to_date: in_days(200),
            follow_up_date: in_days(60),
            follow_up_by: "Omar Påhittad".into(),
        }),
    )
    .await?;
    // A note BUP's psychologist marks as not to be shown to the guardians (OSL 12 kap. 3 §):
    // staff copies hold it, the family's does not, and nothing in it tells that it exists.
    put_fragment(
        &mut c.psychologist,
        Fragment {
            plan_id: plan_id.to_string(),
            withheld_from_guardians: true,
            body: Some(Body::Intervention(Intervention {
                what: "Enskilda samtal med Testbarn om oron hemma".into(),
                who: "BUP Växjö".into(),
                responsible: contact("Omar Påhittad", "psykolog"),
                from_date: in_days(6),
                to_date: in_days(200),
                follow_up_date: in_days(60),
                follow_up_by: "Omar Påhittad".into(),
            })),
            ..Default::default()
        },
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

/// Step 6: Växjö's own social services, another authority of the same municipality on the same
/// node, takes part but sees nothing: no consent names it.
pub(super) async fn the_authority_boundary(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        6,
        "Secrecy holds between authorities, not only organisations. Växjö's social services is asked to join the next meeting, but the guardians have not consented to share anything with it: on the same node as the school, it sees nothing.",
    );
    put(
        &mut c.principal,
        plan_id,
        Body::Participant(Participant {
            organization: "vaxjo-kommun".into(),
            unit: "ifo".into(),
            contact: contact("Sara Påhittad", "socialsekreterare"),
        }),
    )
    .await?;
    let plan = c
        .social_services
        .api
        .get_plan(c.social_services.user.req(GetPlanRequest {
            plan_id: plan_id.to_string(),
        }))
        .await?
        .into_inner()
        .plan
        .context("no plan")?;
    if !plan.fragments.is_empty() {
        anyhow::bail!("Växjö's social services could read what no consent names");
    }
    let mut reasons: Vec<&str> = plan.withheld.iter().map(|w| w.reason.as_str()).collect();
    reasons.sort();
    reasons.dedup();
    println!(
        "   Socialtjänsten, Växjö kommun: 0 parts shown, {} withheld ({}); each refusal is in the access log.",
        plan.withheld.len(),
        reasons.join(", ")
    );
    Ok(())
}

/// Step 7: who is the child's Barnens bästa-ansvarig, from the directory of units: the principal
/// asks Växjö's node for a suggestion from what the rule needs (birth month, schooling, the
/// school's public code), BUP looks the school up at Region Kronoberg's node, and the Police's
/// node answers the same, since the lookup names a school and no child.
pub(super) async fn who_is_responsible(c: &mut County) -> anyhow::Result<()> {
    step(
        7,
        "Who is Testbarn's Barnens bästa-ansvarig? The directory of units answers from the birth month, the schooling and the school's public code: no identity number is sent, nothing is kept or logged.",
    );
    let school = ServiceUnit {
        kind: ServiceUnitKind::School as i32,
        code: school_code("vaxjo-kommun", "ostra-skolan")?,
    };
    let suggested = c
        .principal
        .api
        .suggest_responsible(c.principal.user.req(SuggestResponsibleRequest {
            // The published test number's birth month; never printed.
            birth_month: "2017-01".into(),
            expected_month: String::new(),
            schooling: Schooling::Compulsory as i32,
            known_units: vec![school.clone()],
        }))
        .await
        .context("suggesting Barnens bästa-ansvarig")?
        .into_inner();
    let bba = suggested
        .responsible
        .context("no Barnens bästa-ansvarig suggested")?;
    if bba.unit != "ostra-skolan" {
        anyhow::bail!("the suggestion is not the plan's responsible unit");
    }
    println!(
        "   Suggested at Växjö kommun's node (the model expects: {}): {}, as the plan says.",
        suggested.expected_kinds.join(", "),
        responsible(&bba)
    );
    let found = lookup(&mut c.psychologist, &school).await?;
    if responsible(&found) != responsible(&bba) {
        anyhow::bail!("BUP's lookup differs from the suggestion");
    }
    println!(
        "   Looked up by BUP at Region Kronoberg's node from the school's code: {}.",
        responsible(&found)
    );
    let found = lookup(&mut c.officer, &school).await?;
    if responsible(&found) != responsible(&bba) {
        anyhow::bail!("the Police's lookup differs from the suggestion");
    }
    println!(
        "   The Police's node, which takes no part in the plan, gives the same answer: the lookup names a school, not a child, so it needs no consent."
    );
    Ok(())
}

/// Who is Barnens bästa-ansvarig at `school`, asked at `desk`'s node.
async fn lookup(desk: &mut Desk, school: &ServiceUnit) -> anyhow::Result<ResponsibleUnit> {
    desk.api
        .lookup_responsible(desk.user.req(LookupResponsibleRequest {
            service_unit: Some(school.clone()),
        }))
        .await
        .context("looking up Barnens bästa-ansvarig")?
        .into_inner()
        .responsible
        .context("no Barnens bästa-ansvarig found")
}

/// A responsible unit in words for the demo: authority, kind and unit (never a person).
fn responsible(r: &ResponsibleUnit) -> String {
    format!("{} ({}), unit {}", r.authority, r.authority_kind, r.unit)
}

/// The public school code the development directory gives `unit` of municipality `org`.
fn school_code(org: &str, unit: &str) -> anyhow::Result<String> {
    crate::county::development_directory(org, org, kronobarn_node::roster::Kind::Municipality)
        .into_iter()
        .flat_map(|a| a.units)
        .find(|u| u.id == unit)
        .and_then(|u| {
            u.serves
                .iter()
                .find_map(|s| s.strip_prefix("school:").map(str::to_string))
        })
        .with_context(|| format!("{org}'s development directory names no school code for {unit}"))
}

/// Step 8: the Police and Alvesta kommun, which no consent names, hold nothing of the plan.
pub(super) async fn without_consent_nothing(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(8, "Organisations without consent hold nothing.");
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
