//! What the family may and may not be shown: fragments withheld from the guardians (OSL ch. 12
//! §3) stay out of their copy and their access log extract, which still verifies as complete;
//! the contact details of a plan with protected personal data stay at the home and out of every
//! document and export.

use std::sync::Arc;

use kronobarn_gateway::Backend;
use kronobarn_gateway::auth::PURPOSE;
use kronobarn_proto::ids::withheld_chain;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    Category, Contact, ExportFormat, ExportPlanRequest, Fragment, GetPlanRequest, PayloadKind,
    PlanHeader, SignedEnvelope, WheelArea, WheelAssessment, fragment::Body,
};
use prost::Message;

use crate::accesslog::extract;
use crate::node::Node;
use crate::testkit::{
    County, actor, add_participant, client_api, consent, header, intervention, request,
};

const SECRET: &str = "Barnet har berättat om oro hemma";
const PHONE: &str = "070-000 00 00";

fn as_purpose<T>(msg: T, user: &str, unit: &str, purpose: &str) -> tonic::Request<T> {
    let mut r = request(msg, user, unit);
    r.metadata_mut().insert(PURPOSE, purpose.parse().unwrap());
    r
}

async fn export(
    node: &Arc<Node>,
    plan: &str,
    unit: &str,
    purpose: &str,
    f: ExportFormat,
) -> String {
    let r = client_api(node)
        .export_plan(as_purpose(
            ExportPlanRequest {
                plan_id: plan.into(),
                format: f as i32,
                language: "sv".into(),
            },
            &format!("user.{unit}"),
            unit,
            purpose,
        ))
        .await
        .expect("export")
        .into_inner();
    String::from_utf8_lossy(&r.content).into_owned()
}

#[tokio::test]
async fn what_is_withheld_from_the_guardians_stays_out_of_their_copy_and_extract() {
    let county = County::new(&["vaxjo"]);
    let node = county.nodes["vaxjo"].node.clone();
    let plan = node
        .create_plan(&actor("vaxjo", "skola"), header("skola"), None)
        .await
        .unwrap()
        .plan_id;
    let mut secret = Fragment {
        plan_id: plan.clone(),
        withheld_from_guardians: true,
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: WheelArea::Home as i32,
            needs: SECRET.into(),
            assessed_on: "2026-11-20".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    secret = node
        .put_fragment(&actor("vaxjo", "skola"), secret, None)
        .await
        .unwrap()
        .fragment;
    node.put_fragment(
        &actor("vaxjo", "skola"),
        intervention(&plan, "Rastvärd varje dag"),
        None,
    )
    .await
    .unwrap();
    // Staff read the whole plan, the withheld part included.
    client_api(&node)
        .get_plan(request(
            GetPlanRequest {
                plan_id: plan.clone(),
            },
            "user.skola",
            "skola",
        ))
        .await
        .unwrap();

    let family = export(&node, &plan, "skola", "guardian-copy", ExportFormat::Html).await;
    assert!(!family.contains(SECRET), "{family}");
    assert!(family.contains("Rastvärd varje dag"), "{family}");
    assert!(
        !family.contains("vårdnadshavarna (12 kap"),
        "no hint of it: {family}"
    );
    let fhir = export(
        &node,
        &plan,
        "skola",
        "guardian-copy",
        ExportFormat::FhirR4Json,
    )
    .await;
    assert!(!fhir.contains(SECRET) && !fhir.contains(&secret.fragment_id));
    let staff = export(
        &node,
        &plan,
        "skola",
        "plan-coordination",
        ExportFormat::Html,
    )
    .await;
    assert!(staff.contains(SECRET), "{staff}");
    assert!(
        staff.contains("Får inte lämnas till vårdnadshavarna"),
        "a staff copy says it is not for the guardians: {staff}"
    );

    // The guardians' extract verifies as complete and has no record of the withheld fragment.
    let json = export(
        &node,
        &plan,
        "skola",
        "guardian-copy",
        ExportFormat::AccessLogJson,
    )
    .await;
    let x = extract::json::from_json(json.as_bytes()).unwrap();
    let v = extract::verify(&x, &node.trust()).expect("complete and in the log");
    assert!(v.records.len() > 5, "{}", v.records.len());
    assert!(
        v.records
            .iter()
            .all(|(_, r)| r.fragment_id != secret.fragment_id),
        "no record reveals the withheld fragment"
    );
    assert!(!json.contains(&secret.fragment_id));
    // Its records are kept, complete, in the plan's withheld chain, for a supervisor.
    let log = node.access_log_handle();
    let snap = log.snapshot(Some(&withheld_chain(&plan)));
    let w = extract::build(log.store(), &snap, Vec::new()).unwrap();
    let w = extract::verify(&w, &node.trust()).expect("the withheld chain verifies");
    assert!(
        w.records.len() >= 2,
        "written and read: {}",
        w.records.len()
    );
    assert!(
        w.records
            .iter()
            .all(|(_, r)| r.fragment_id == secret.fragment_id && r.plan_id == plan)
    );
    // `log verify` holds both chains against the signed checkpoints.
    crate::accesslog::verify_store(log.store(), "vaxjo", Default::default(), |_| {})
        .expect("log verifies");
}

#[tokio::test]
async fn a_protected_plans_contact_details_stay_at_the_home() {
    let county = County::new(&["vaxjo", "region"]);
    let home = county.nodes["vaxjo"].node.clone();
    let mut h: PlanHeader = header("skola");
    h.protected_identity = true;
    h.guardians[0].contact = Some(Contact {
        phone: PHONE.into(),
        ..Default::default()
    });
    let plan = home
        .create_plan(&actor("vaxjo", "skola"), h, None)
        .await
        .unwrap()
        .plan_id;
    add_participant(&home, "skola", &plan, "region", "bup").await;
    consent(
        &home,
        "skola",
        &plan,
        &[("region", &[Category::Identity, Category::Participants])],
    )
    .await;
    county.settle_all(5).await;
    county.renew_lease("region", &plan).unwrap();

    // The signed header holds no contact detail, at the home or at the receiver.
    for org in ["vaxjo", "region"] {
        let view = county.node(org).load_plan(&plan).unwrap().unwrap();
        let h = view.header.expect("header held");
        assert!(h.protected_identity);
        assert!(h.guardians.iter().all(|g| g.contact.is_none()), "{org}");
        let bytes = county
            .node(org)
            .fragment_envelope(&plan, "header")
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(PHONE), "{org}");
    }
    assert!(
        county
            .node("region")
            .load_plan_facts(&plan)
            .unwrap()
            .unwrap()
            .consent
            .unwrap()
            .protected_identity,
        "the consent tells every node"
    );
    // The header's own authority at the home gets them back, in the answer only.
    let got = client_api(&home)
        .get_plan(request(
            GetPlanRequest {
                plan_id: plan.clone(),
            },
            "user.skola",
            "skola",
        ))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert!(got.protected_identity);
    assert!(format!("{got:?}").contains(PHONE));
    let region = county.nodes["region"].node.clone();
    let there = client_api(&region)
        .get_plan(request(
            GetPlanRequest {
                plan_id: plan.clone(),
            },
            "user.bup",
            "bup",
        ))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert!(there.protected_identity, "every reader is warned");
    assert!(!format!("{there:?}").contains(PHONE));

    // No document or export holds them; every document warns.
    for (node, unit) in [(&home, "skola"), (&region, "bup")] {
        for purpose in ["guardian-copy", "plan-coordination"] {
            for f in [ExportFormat::Html, ExportFormat::FhirR4Json] {
                let out = export(node, &plan, unit, purpose, f).await;
                assert!(!out.contains(PHONE), "{unit} {purpose} {f:?}");
                if f == ExportFormat::Html {
                    assert!(out.contains("Skyddade personuppgifter"), "{out}");
                }
            }
        }
    }

    // A header that would carry them is refused by a receiver, whoever signed it.
    let mut leaky = home
        .stored_fragment(&plan, "header")
        .unwrap()
        .unwrap()
        .fragment;
    if let Some(Body::Header(h)) = &mut leaky.body {
        h.guardians[0].contact = Some(Contact {
            phone: PHONE.into(),
            ..Default::default()
        });
    }
    let mut v = leaky.version.unwrap();
    v.logical += 1;
    leaky.version = Some(v);
    let env: SignedEnvelope = home.sign(PayloadKind::Fragment, leaky.encode_to_vec());
    let answer = county.push("vaxjo", "region", &[env]).await;
    assert!(!answer[0].accepted, "{answer:?}");
    let held = county.node("region").load_plan(&plan).unwrap().unwrap();
    assert!(held.header.unwrap().guardians[0].contact.is_none());
}

#[tokio::test]
async fn a_purge_names_a_withheld_fragment_only_in_the_withheld_chain() {
    use kronobarn_proto::v1::Category;
    let county = crate::testkit::County::new(&["vaxjo", "region"]);
    let home = county.node("vaxjo");
    let plan = home
        .create_plan(&actor("vaxjo", "skola"), header("skola"), None)
        .await
        .unwrap()
        .plan_id;
    add_participant(home, "skola", &plan, "region", "bup").await;
    let open = crate::testkit::write_intervention(home, "skola", &plan, "Rastvärd").await;
    let withheld = home
        .put_fragment(
            &actor("vaxjo", "skola"),
            Fragment {
                withheld_from_guardians: true,
                ..intervention(&plan, SECRET)
            },
            None,
        )
        .await
        .unwrap()
        .fragment
        .fragment_id;
    consent(
        home,
        "skola",
        &plan,
        &[("region", &[Category::Participants, Category::Interventions])],
    )
    .await;
    county.settle_all(3).await;
    let region = county.node("region");
    let held = |n: &Node| -> Vec<String> {
        n.load_plan(&plan)
            .unwrap()
            .map(|v| {
                v.fragments
                    .into_iter()
                    .map(|f| f.fragment.fragment_id)
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = held(region);
    assert!(
        before.contains(&open) && before.contains(&withheld),
        "both interventions reached the region: {before:?}"
    );

    crate::testkit::revoke(region, "bup", &plan, &[]).await;
    let log = region.access_log_handle();
    let chain = |c: &str| {
        let snap = log.snapshot(Some(c));
        let x = extract::build(log.store(), &snap, Vec::new()).unwrap();
        extract::verify(&x, &region.trust()).expect("chain verifies")
    };
    let own = chain(&plan);
    let purged: Vec<&String> = own
        .records
        .iter()
        .flat_map(|(_, r)| &r.purged_fragments)
        .collect();
    assert!(purged.contains(&&open), "{purged:?}");
    assert!(
        own.records
            .iter()
            .all(|(_, r)| r.fragment_id != withheld && !r.purged_fragments.contains(&withheld)),
        "the plan's own chain never names the withheld fragment"
    );
    let w = chain(&withheld_chain(&plan));
    assert!(
        w.records
            .iter()
            .any(|(_, r)| r.purged_fragments == vec![withheld.clone()]),
        "the withheld chain records its purge"
    );
    let after = held(region);
    assert!(
        !after.contains(&open) && !after.contains(&withheld),
        "{after:?}"
    );
}

/// The family's copy says whom a grant naming only an organisation reaches exactly as the
/// policy decides it: the one authority of the organisation taking part, or none of them when
/// several take part (the consent does not say which).
#[tokio::test]
async fn the_familys_copy_names_whom_an_organisation_grant_reaches_as_the_policy_decides() {
    let county = County::new(&["vaxjo", "region"]);
    let node = county.nodes["vaxjo"].node.clone();
    let cats: &[Category] = &[Category::Identity, Category::Participants];
    let copy = async |units: &[&str]| {
        let plan = node
            .create_plan(&actor("vaxjo", "skola"), header("skola"), None)
            .await
            .unwrap()
            .plan_id;
        for u in units {
            add_participant(&node, "skola", &plan, "region", u).await;
        }
        consent(&node, "skola", &plan, &[("region", cats)]).await;
        let view = node.load_plan_facts(&plan).unwrap().unwrap();
        let state = view.policy_state();
        let read = |unit: &str| {
            let header = view
                .fragments
                .iter()
                .find(|f| f.fragment.fragment_id == "header")
                .unwrap();
            kronobarn_policy::decide_share_to_authority(
                &state,
                &format!("region-{unit}"),
                crate::outbox::fragment_facts(&header.fragment),
                node.now_ms(),
            )
            .reason()
        };
        let reasons: Vec<&str> = units.iter().map(|u| read(u)).collect();
        let doc = export(&node, &plan, "skola", "guardian-copy", ExportFormat::Html).await;
        (reasons, doc)
    };
    // One authority of the region takes part: the grant reaches it, and the copy names it.
    let (reasons, doc) = copy(&["skola"]).await;
    assert_eq!(reasons, ["granted"]);
    assert!(
        doc.contains("<li>skola, region, region (test) får veta vem barnet är"),
        "{doc}"
    );
    // Two take part: the policy gives neither, and the copy must not say that both may know.
    let (reasons, doc) = copy(&["skola", "bvc"]).await;
    assert_eq!(
        reasons,
        [
            "organization-grant-ambiguous",
            "organization-grant-ambiguous"
        ]
    );
    // (They are named where the copy says who takes part, which both do.)
    assert!(
        !doc.contains("<li>skola, region") && !doc.contains("region (test) får veta"),
        "{doc}"
    );
    assert!(
        doc.contains(
            "<li>Samtycket nämner bara region (test), inte vilken av dess myndigheter, så ingen där får veta vem barnet är"
        ),
        "{doc}"
    );
}
