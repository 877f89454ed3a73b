//! `kronobarn demo --indicators`: a year of invented plans at four schools of the county, run
//! through the practice model on the eleven nodes via the real client API, then the county
//! report that Region Kronoberg asks every node for, as the steering group would read it.
//!
//! Real clocks cannot wait a year, so the county runs on one hand-moved clock: it starts on
//! 7 January 2025 and is moved to the day of each step before it is taken. Every day count in the
//! report is then what the nodes recorded as the clock stood (a plan created the day its need was
//! noticed, each step dated when it was taken), not a number typed in; the demo says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use kronobarn_indicators::{
    Breakdown, IndicatorSet, Interval, Level, MeetingAspect, TableId, Value,
};
use kronobarn_node::client::{User, connect};
use kronobarn_node::clock::{Clock, ManualTime};
use kronobarn_node::federation::connect::PeerTls;
use kronobarn_node::federation::indicators::IndicatorRequest;
use kronobarn_node::roster::Roster;
use kronobarn_proto::v1::{
    AdvancePlanRequest, Category, Child, Consent, ConsentForm, Contact, CoordinationMeeting,
    CreatePlanRequest, ExportFormat, ExportPlanRequest, FollowUpRecord, Fragment, Grant, Guardian,
    GuardianConsent, Participant, PlanHeader, PlanStage, PutFragmentRequest, RecordConsentRequest,
    RevokeConsentRequest, Version, WheelArea, WheelAssessment, fragment::Body,
};

use super::indicator_plans::{Event, SCHOOLS, Step, day, schedule};
use crate::county::{KRONOBERG, REPORT_READER};

type Api = kronobarn_proto::v1::plan_service_client::PlanServiceClient<tonic::transport::Channel>;

const DAY_MS: i64 = 86_400_000;
/// The partner every school invites: BUP at Region Kronoberg.
const PARTNER: &str = "region-kronoberg";

/// One plan as the demo tracks it at its school's node.
struct Plan {
    id: String,
    header: PlanHeader,
    header_version: Option<Version>,
}

/// Runs the year and writes the county report into `out_dir/county-report`.
pub async fn run(out_dir: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let start_ms = day(2025, 1, 7) * DAY_MS + 8 * 3_600_000;
    let (clock, hand) = Clock::manual(start_ms);
    println!(
        "Kronobarn indicators demo: the eleven nodes of Kronoberg county, each with its own database,"
    );
    println!(
        "on one hand-moved clock. Real clocks cannot wait a year, so the county lives through 2025"
    );
    println!(
        "in seconds: the clock is moved to the day of each step before the step is taken. Every"
    );
    println!(
        "date in the report is what the nodes recorded as the clock stood, not a number typed in."
    );
    let t = Instant::now();
    let members = crate::county::start_on(dir.path(), &KRONOBERG, 300, clock.clone()).await?;
    println!(
        "   {} nodes started in {} ms.",
        members.len(),
        t.elapsed().as_millis()
    );
    let mut desks = BTreeMap::new();
    for m in &members {
        desks.insert(
            m.organization.clone(),
            connect(m.running.client_addr, &m.init.ca_pem, None).await?,
        );
    }
    let token = |org: &str| {
        members
            .iter()
            .find(|m| m.organization == org)
            .map(|m| m.init.token.clone())
            .unwrap_or_default()
    };

    let end = day(2026, 1, 1);
    let events = schedule(end);
    let plans_total: usize = SCHOOLS.iter().map(|s| s.plans).sum();
    println!(
        "\n1. A year at four schools: {plans_total} needs noticed in Växjö, Ljungby, Älmhult and Alvesta, each taken as far through the practice model as its invented timetable reaches by New Year ({} steps through the client API).",
        events.len()
    );
    let mut plans: BTreeMap<usize, Plan> = BTreeMap::new();
    let mut progress = crate::progress::Progress::bar("steps", events.len() as u64);
    let mut minute = 0;
    let mut today = 0;
    for (i, e) in events.iter().enumerate() {
        if e.day != today {
            today = e.day;
            minute = 0;
        }
        minute += 1;
        // Office hours on the day of the step, a minute apart.
        set(
            &hand,
            &clock,
            e.day * DAY_MS + 8 * 3_600_000 + minute * 60_000,
        );
        let org = SCHOOLS[e.school].organization;
        let api = desks.get_mut(org).context("school's node")?;
        let user = User {
            token: token(org),
            user_id: "rektor".into(),
            role: "principal".into(),
            unit: "ostra-skolan".into(),
            purpose: "plan-coordination".into(),
        };
        step(api, &user, e, &mut plans)
            .await
            .with_context(|| format!("plan {} at {org}: {:?}", e.plan, e.step))?;
        progress.set(i as u64 + 1);
    }
    progress.finish();
    let count = |f: fn(&Step) -> bool| events.iter().filter(|e| f(&e.step)).count();
    println!(
        "   {} plans agreed, {} meetings held, {} plans handed to the guardians, {} followed up, {} closed.",
        count(|s| matches!(s, Step::Agree { .. })),
        count(|s| matches!(s, Step::Meeting { .. })),
        count(|s| matches!(s, Step::Give)),
        count(|s| matches!(s, Step::FollowUp { .. })),
        count(|s| matches!(s, Step::Close(_))),
    );

    // The report day: 2025's last quarter has ended at every node.
    set(&hand, &clock, day(2026, 1, 12) * DAY_MS + 9 * 3_600_000);
    println!(
        "\n2. The clock is moved to 12 January 2026. Region Kronoberg, the report reader every node's config names, asks each node over the federation's mutual TLS for its signed indicators for 2025; each node counts its own plans, withholds counts under 5, signs, and logs the request."
    );
    let reader = members
        .iter()
        .find(|m| m.organization == REPORT_READER)
        .context("the report reader is a member")?;
    let folder = reader
        .init
        .config_path
        .parent()
        .context("reader's folder")?;
    let roster = Roster::load(&folder.join("../roster.toml"))?;
    let tls = PeerTls {
        ca_pem: roster.ca_pem.clone(),
        cert_pem: std::fs::read(folder.join("tls/federation.crt"))?,
        key_pem: std::fs::read(folder.join("tls/federation.key"))?,
    };
    let req = IndicatorRequest {
        first: "2025-Q1".parse().map_err(|_| anyhow::anyhow!("quarter"))?,
        last: "2025-Q4".parse().map_err(|_| anyhow::anyhow!("quarter"))?,
        threshold: kronobarn_indicators::DEFAULT_THRESHOLD,
    };
    let out = out_dir.join("county-report");
    let answers = kronobarn_node::federation::indicators::collect(
        &roster,
        &tls,
        req,
        Duration::from_secs(60),
        || clock.now_ms(),
        |_| {},
    )
    .await;
    let written = crate::county_report::write(&out, &answers)?;
    println!(
        "   {} of {} organisations sent a set whose signature and rules for small counts checked out.",
        written.included,
        answers.len()
    );
    let sets: Vec<(String, IndicatorSet)> = answers
        .iter()
        .filter_map(|a| a.outcome.as_ref().ok().map(|s| (a.name.clone(), s.clone())))
        .collect();
    headlines(&sets, req.last);
    for m in members {
        m.running.stop().await?;
    }
    println!(
        "\nDone. The county report is {}: open it in a browser. Beside it: one CSV per table for researchers, and sets/ with each node's signed set.",
        written.index.display()
    );
    Ok(())
}

/// Moves the county's clock forward to `ms` (never back).
fn set(hand: &ManualTime, clock: &Clock, ms: i64) {
    let now = clock.now_ms();
    if ms > now {
        hand.advance(ms - now);
    }
}

/// What the page says first, in two lines.
fn headlines(sets: &[(String, IndicatorSet)], q: kronobarn_indicators::Quarter) {
    println!("   From the report, {}:", q.label_sv());
    for (name, set) in sets {
        let days = set.value(
            TableId::Days,
            q,
            &Level::All,
            Breakdown::Interval(Interval::ToAgreedPlan),
        );
        let view = set.value(
            TableId::Meetings,
            q,
            &Level::All,
            Breakdown::Aspect(MeetingAspect::ChildViewRecorded),
        );
        let Some(Value::Days { median, p90 }) = days else {
            continue;
        };
        let p90 = p90.map_or(String::new(), |p| format!(", nine in ten within {p}"));
        let view = match view {
            Some(Value::Share {
                numerator,
                denominator,
            }) => {
                format!("; the child's own view recorded at {numerator} of {denominator} meetings")
            }
            _ => String::new(),
        };
        println!(
            "   {name}: a need noticed became an agreed plan in {median} days (median{p90}){view}."
        );
    }
}

fn date(d: i64) -> String {
    let (y, m, dd) = kronobarn_proto::date::civil_date(d * DAY_MS);
    format!("{y:04}-{m:02}-{dd:02}")
}

fn header(older: bool, plan: usize, organization: &str) -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            // Each plan is another invented child (a child has one open plan at a node): a
            // made-up reserve number, born 2017 (8 years old) or 2012 (12).
            personal_identity_number: format!("DEMO-{plan:04}"),
            identity_kind: kronobarn_proto::v1::IdentityKind::ReserveNumber as i32,
            birth_date: if older { "2012-12-12" } else { "2017-01-01" }.into(),
            name: "Påhittat Barn".into(),
            ..Default::default()
        }),
        guardians: vec![Guardian {
            guardian_id: "g1".into(),
            name: "Påhittad Vårdnadshavare".into(),
            has_custody: true,
            contact: None,
        }],
        responsible_organization: organization.into(),
        responsible_unit: "ostra-skolan".into(),
        responsible_contact: Some(Contact {
            name: "Rektor Påhittad".into(),
            title: "rektor".into(),
            phone: "0470-00 00 00".into(),
            email: String::new(),
        }),
        ..Default::default()
    }
}

async fn advance(
    api: &mut Api,
    user: &User,
    plan: &str,
    req: AdvancePlanRequest,
) -> anyhow::Result<()> {
    api.advance_plan(user.req(AdvancePlanRequest {
        plan_id: plan.into(),
        ..req
    }))
    .await?;
    Ok(())
}

async fn put(api: &mut Api, user: &User, plan: &str, body: Body) -> anyhow::Result<Fragment> {
    let r = api
        .put_fragment(user.req(PutFragmentRequest {
            fragment: Some(Fragment {
                plan_id: plan.into(),
                body: Some(body),
                ..Default::default()
            }),
            expected_version: None,
        }))
        .await?;
    r.into_inner().fragment.context("no fragment returned")
}

/// Sets the plan's follow-up day in its header.
async fn follow_up_on(api: &mut Api, user: &User, p: &mut Plan, d: i64) -> anyhow::Result<()> {
    p.header.follow_up_dates = vec![date(d)];
    let r = api
        .put_fragment(user.req(PutFragmentRequest {
            fragment: Some(Fragment {
                plan_id: p.id.clone(),
                fragment_id: "header".into(),
                body: Some(Body::Header(p.header.clone())),
                ..Default::default()
            }),
            expected_version: p.header_version,
        }))
        .await?;
    p.header_version = r.into_inner().fragment.and_then(|f| f.version);
    Ok(())
}

/// Takes one step of one plan through the client API of its school's node.
async fn step(
    api: &mut Api,
    user: &User,
    e: &Event,
    plans: &mut BTreeMap<usize, Plan>,
) -> anyhow::Result<()> {
    if let Step::Create { older } = e.step {
        let header = header(older, e.plan, SCHOOLS[e.school].organization);
        let plan = api
            .create_plan(user.req(CreatePlanRequest {
                header: Some(header.clone()),
                unit_contact: None,
            }))
            .await?
            .into_inner()
            .plan
            .context("no plan returned")?;
        let header_version = plan
            .fragments
            .iter()
            .find(|f| f.fragment_id == "header")
            .and_then(|f| f.version);
        plans.insert(
            e.plan,
            Plan {
                id: plan.plan_id,
                header,
                header_version,
            },
        );
        return Ok(());
    }
    let p = plans.get_mut(&e.plan).context("the plan was created")?;
    let id = p.id.clone();
    let to = |stage: PlanStage| AdvancePlanRequest {
        to: stage as i32,
        ..Default::default()
    };
    match &e.step {
        Step::Create { .. } => {}
        Step::Talk => {
            advance(api, user, &id, to(PlanStage::Talk)).await?;
            put(
                api,
                user,
                &id,
                Body::WheelAssessment(WheelAssessment {
                    area: WheelArea::Learning as i32,
                    needs: "Behöver stöd i klassrummet.".into(),
                    assessed_on: date(e.day),
                    ..Default::default()
                }),
            )
            .await?;
        }
        Step::Consent => {
            put(
                api,
                user,
                &id,
                Body::Participant(Participant {
                    organization: PARTNER.into(),
                    unit: "bup-vaxjo".into(),
                    contact: None,
                }),
            )
            .await?;
            let now = e.day * DAY_MS + 9 * 3_600_000;
            api.record_consent(user.req(RecordConsentRequest {
                consent: Some(Consent {
                    plan_id: id.clone(),
                    guardian_consents: vec![GuardianConsent {
                        guardian_id: "g1".into(),
                        form: ConsentForm::Written as i32,
                        given_at_unix_ms: now,
                    }],
                    valid_until_unix_ms: now + 2 * 365 * DAY_MS,
                    grants: vec![Grant {
                        organization: PARTNER.into(),
                        categories: vec![
                            Category::Identity as i32,
                            Category::Participants as i32,
                            Category::Meetings as i32,
                        ],
                        ..Default::default()
                    }],
                    purpose: "plan-coordination".into(),
                    ..Default::default()
                }),
                expected_previous_version: 0,
            }))
            .await?;
            advance(api, user, &id, to(PlanStage::Consent)).await?;
        }
        Step::CallMeeting { on } => {
            let req = AdvancePlanRequest {
                invited_organizations: vec![PARTNER.into()],
                meeting_on: date(*on),
                ..to(PlanStage::MeetingCalled)
            };
            advance(api, user, &id, req).await?;
        }
        Step::Meeting {
            child_view,
            guardians,
        } => {
            put(
                api,
                user,
                &id,
                Body::Meeting(CoordinationMeeting {
                    held_on: date(e.day),
                    attendees: vec!["Rektor Påhittad".into(), "Psykolog Påhittad".into()],
                    child_view: if *child_view {
                        "Barnet berättade själv vad som hjälper.".into()
                    } else {
                        String::new()
                    },
                    guardians_present: *guardians,
                    decisions: vec!["Stöd i klassrummet.".into()],
                    ..Default::default()
                }),
            )
            .await?;
        }
        Step::Agree { follow_up } => {
            follow_up_on(api, user, p, *follow_up).await?;
            advance(api, user, &id, to(PlanStage::Agreed)).await?;
        }
        Step::Give => {
            // The plan as a document for the guardians: a family purpose, in the access log.
            let family = User {
                purpose: "guardian-copy".into(),
                ..user.clone()
            };
            api.export_plan(family.req(ExportPlanRequest {
                plan_id: id.clone(),
                format: ExportFormat::Html as i32,
                language: "sv".into(),
            }))
            .await?;
        }
        Step::FollowUp { revised_to } => {
            put(
                api,
                user,
                &id,
                Body::FollowUp(FollowUpRecord {
                    held_on: date(e.day),
                    outcome: "Stödet hjälper.".into(),
                    ..Default::default()
                }),
            )
            .await?;
            advance(api, user, &id, to(PlanStage::FollowUp)).await?;
            if let Some(next) = revised_to {
                follow_up_on(api, user, p, *next).await?;
                advance(api, user, &id, to(PlanStage::Revised)).await?;
            }
        }
        Step::Revoke => {
            api.revoke_consent(user.req(RevokeConsentRequest {
                plan_id: id.clone(),
                withdrawn_by: "g1".into(),
                organizations: vec![PARTNER.into()],
                ..Default::default()
            }))
            .await?;
        }
        Step::Close(reason) => {
            let req = AdvancePlanRequest {
                close_reason: *reason as i32,
                ..to(PlanStage::Closed)
            };
            advance(api, user, &id, req).await?;
        }
    }
    Ok(())
}
