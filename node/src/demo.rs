//! `kronobarn demo`: a child's plan walked through the practice model on a throw-away node,
//! through the real client API over TLS, told in plain words.
//!
//! Everyone in it is invented; the child has the Swedish Tax Agency's published test identity
//! number 19121212-1212.

use std::sync::Arc;

use anyhow::Context;
use kronobarn_gateway::Backend;
use kronobarn_policy::{Category as PolicyCategory, FragmentFacts, decide_share};
use kronobarn_proto::v1::{
    Category, Child, ConsentForm, Contact, CoordinationMeeting, CreatePlanRequest, Fragment,
    GetPlanRequest, Grant, Guardian, GuardianConsent, Intervention, ListAccessLogRequest,
    Participant, PlanHeader, PutFragmentRequest, RecordConsentRequest, RevokeConsentRequest,
    WheelArea, WheelAssessment, fragment::Body,
};

use crate::client::{User, connect};
use crate::config::Config;

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

/// Runs the demo.
pub async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!(
        "Kronobarn demo: one organisation's node (Växjö kommun) on embedded storage in {}",
        dir.path().display()
    );
    let init = crate::init::init(dir.path(), "vaxjo-kommun", "127.0.0.1:0")?;
    let loaded = Config::load(&init.config_path)?;
    let running = crate::server::start(&loaded).await?;
    println!(
        "   The node serves its client API over TLS on {}.",
        running.client_addr
    );
    let mut api = connect(running.client_addr, &init.ca_pem, None)
        .await
        .context("connecting to the demo node")?;

    let rektor = user(&init.token, "rektor.ostra", "principal", "ostra-skolan");
    let kurator = user(
        &init.token,
        "kurator.ostra",
        "school-counsellor",
        "elevhalsan-ostra",
    );
    let fritids = user(
        &init.token,
        "pedagog.fritids",
        "leisure-educator",
        "fritids-norr",
    );

    step(
        1,
        "A need is noticed. The principal of Östra skolan sees that Testbarn is often absent and seems worried, and opens a plan.",
    );
    let plan = api
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
                follow_up_dates: vec!["2027-02-15".into()],
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
        "   Plan {plan_id} is created. Växjö kommun is responsible (Barnens bästa-ansvarig) and is the consent home."
    );
    println!(
        "   The plan is known by this random id only; the child's identity number lives in the header, never in keys or logs."
    );

    step(
        2,
        "The principal talks with Testbarn and the guardians, using the wheel.",
    );
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
            &mut api,
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
        println!(
            "   Wheel area {:?} assessed, with the child's own words.",
            area
        );
    }

    step(
        3,
        "Both guardians consent, separately: sharing health and interventions with Region Kronoberg (BUP) for plan coordination.",
    );
    let valid_until = running.node.now_ms() + 365 * 24 * 3600 * 1000;
    let consent = api
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(kronobarn_proto::v1::Consent {
                plan_id: plan_id.clone(),
                guardian_consents: vec![
                    GuardianConsent {
                        guardian_id: "g1".into(),
                        form: ConsentForm::Written as i32,
                        given_at_unix_ms: running.node.now_ms(),
                    },
                    GuardianConsent {
                        guardian_id: "g2".into(),
                        form: ConsentForm::Oral as i32,
                        given_at_unix_ms: running.node.now_ms(),
                    },
                ],
                child_view: "Testbarn vill att skolsköterskan och BUP pratar med varandra.".into(),
                valid_until_unix_ms: valid_until,
                grants: vec![Grant {
                    organization: "region-kronoberg".into(),
                    categories: vec![
                        Category::WheelHealth as i32,
                        Category::Interventions as i32,
                        Category::Participants as i32,
                    ],
                }],
                purpose: "plan-coordination".into(),
                ..Default::default()
            }),
            expected_previous_version: 0,
        }))
        .await?
        .into_inner()
        .consent
        .context("no consent returned")?;
    println!(
        "   Consent version {} recorded by the consent home, valid for a year.",
        consent.consent_version
    );

    step(
        4,
        "A coordination meeting (samverkansmöte) is held; student health and BUP join the plan.",
    );
    put(
        &mut api,
        &rektor,
        &plan_id,
        Body::Participant(Participant {
            organization: "vaxjo-kommun".into(),
            unit: "elevhalsan-ostra".into(),
            contact: contact("Kurator Påhittad", "skolkurator"),
        }),
    )
    .await?;
    put(
        &mut api,
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
        &mut api,
        &rektor,
        &plan_id,
        Body::Meeting(CoordinationMeeting {
            held_on: "2026-11-23".into(),
            attendees: vec![
                "Testbarn".into(),
                "Vårdnadshavare Ett".into(),
                "Vårdnadshavare Två".into(),
                "Rektor Påhittad".into(),
                "Kurator Påhittad".into(),
            ],
            child_view: "Jag vill ha en vuxen att gå till på rasten.".into(),
            guardians_view: "Vi vill att skolan och BUP samarbetar.".into(),
            decisions: vec![
                "Rastvärd varje dag.".into(),
                "Samtal med kurator varannan vecka.".into(),
            ],
        }),
    )
    .await?;
    println!(
        "   Meeting recorded: who took part, the child's view, the guardians' view and the decisions."
    );

    step(
        5,
        "Interventions (insatser) are agreed, each with a responsible person and a follow-up date.",
    );
    put(
        &mut api,
        &rektor,
        &plan_id,
        Body::Intervention(Intervention {
            what: "Samtal med skolkurator varannan vecka".into(),
            who: "Elevhälsan Östra".into(),
            responsible: contact("Kurator Påhittad", "skolkurator"),
            from_date: "2026-11-30".into(),
            to_date: "2027-06-15".into(),
            follow_up_date: "2027-02-15".into(),
            follow_up_by: "Rektor Påhittad".into(),
        }),
    )
    .await?;
    println!("   Intervention added; follow-up 2027-02-15 by the principal.");

    step(
        6,
        "The school counsellor, whose unit takes part, reads the plan.",
    );
    let seen = api
        .get_plan(kurator.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await?
        .into_inner()
        .plan
        .context("no plan")?;
    println!(
        "   Permitted: {} fragments shown, {} withheld. The read is in the access log.",
        seen.fragments.len(),
        seen.withheld.len()
    );

    step(
        7,
        "A leisure-time educator whose unit does not take part tries to read it.",
    );
    match api
        .get_plan(fritids.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
    {
        Err(s) => println!(
            "   Denied ({:?}): {}. The denial is in the access log too.",
            s.code(),
            s.message()
        ),
        Ok(_) => anyhow::bail!("a unit outside the plan could read it"),
    }

    let view = running.node.load_plan(&plan_id)?.context("plan")?;
    let health = view
        .fragments
        .iter()
        .find(|f| f.fragment.category == Category::WheelHealth as i32)
        .context("health assessment")?;
    let facts = FragmentFacts {
        home: &health.fragment.home_organization,
        category: PolicyCategory(health.fragment.category),
    };
    step(
        8,
        "May Region Kronoberg hold a copy of the health assessment? (The decision the federation makes before sending.)",
    );
    let d = decide_share(
        &view.policy_state(),
        "region-kronoberg",
        facts,
        running.node.now_ms(),
    );
    println!(
        "   {} ({}, consent version {}).",
        if d.is_permit() { "Yes" } else { "No" },
        d.reason(),
        d.consent_version()
    );

    step(
        9,
        "Vårdnadshavare Två withdraws consent for Region Kronoberg. The counsellor records it: withdrawing is as easy as giving.",
    );
    let rev = api
        .revoke_consent(kurator.req(RevokeConsentRequest {
            plan_id: plan_id.clone(),
            withdrawn_by: "g2".into(),
            organizations: vec!["region-kronoberg".into()],
            categories: vec![],
        }))
        .await?
        .into_inner()
        .revocation
        .context("no revocation")?;
    println!(
        "   Revocation {} recorded. It stays in force until a new consent names it.",
        rev.revocation_id
    );

    step(
        10,
        "The same question again: may Region Kronoberg hold a copy of the health assessment?",
    );
    let view = running.node.load_plan(&plan_id)?.context("plan")?;
    let d = decide_share(
        &view.policy_state(),
        "region-kronoberg",
        facts,
        running.node.now_ms(),
    );
    println!(
        "   {} ({}).",
        if d.is_permit() { "Yes" } else { "No" },
        d.reason()
    );
    if d.is_permit() {
        anyhow::bail!("a revoked grant still permits sharing");
    }

    step(
        11,
        "The guardians' right to know who read what: the plan's access log.",
    );
    let log = api
        .list_access_log(rektor.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 0,
            page_token: String::new(),
        }))
        .await?
        .into_inner();
    println!(
        "   {} signed access records about this plan, for example:",
        log.entries.len()
    );
    for e in log.entries.iter().rev().take(4).rev() {
        let r = <kronobarn_proto::v1::AccessRecord as prost::Message>::decode(e.record.as_slice())?;
        println!(
            "     #{:<3} {:<6} {:<32} {:<17} {:<7} {}",
            e.index,
            r.action()
                .as_str_name()
                .trim_start_matches("ACCESS_ACTION_"),
            format!("{}/{}", r.unit, r.user_id),
            if r.fragment_id.len() > 16 {
                &r.fragment_id[..16]
            } else {
                &r.fragment_id
            },
            r.decision().as_str_name().trim_start_matches("DECISION_"),
            r.reason
        );
    }

    step(
        12,
        "The node is stopped and its whole access log verified: every hash link and every signature.",
    );
    drop(api);
    let node = running.node.clone();
    running.stop().await?;
    node.durable().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let log_store = node.access_log_handle();
    let size = log_store.head().size;
    drop(node);
    let store: Arc<dyn crate::store::Store> =
        Arc::new(crate::store::SledStore::open(&loaded.config.data_dir)?);
    let head = crate::accesslog::verify_store(store.as_ref(), |_| {})?;
    println!(
        "   Verified {} entries (the node wrote {size}); head {}.",
        head.size,
        &hex::encode(head.hash)[..16]
    );
    println!("\nDone. Nothing left behind: the node's folder was temporary.");
    Ok(())
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
