//! The receiving side of federation: a real node admits only what the roster, the signatures,
//! the sender's part in the plan, the versions and the consent allow, and purges copies when a
//! revocation arrives.

use std::path::Path;

use ed25519_dalek::SigningKey;
use kronobarn_node::pki::{CertPair, DevCa};
use kronobarn_proto::envelope::seal;
use kronobarn_proto::federation::PushRequest;
use kronobarn_proto::federation::federation_service_client::FederationServiceClient;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Category, Consent, ConsentForm, Fragment, GetPlanRequest, Grant,
    GuardianConsent, ListAccessLogRequest, Participant, PayloadKind, Revocation, SignedEnvelope,
    Version, WheelArea, WheelAssessment, fragment::Body,
};
use prost::Message;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::common::header;
use crate::harness::TestNode;

pub(crate) struct Org {
    pub(crate) name: &'static str,
    pub(crate) key: SigningKey,
    pub(crate) cert: CertPair,
}

pub(crate) fn org(ca: &DevCa, name: &'static str, seed: u8) -> Org {
    Org {
        name,
        key: SigningKey::from_bytes(&[seed; 32]),
        cert: ca.leaf(name, &[name]).unwrap(),
    }
}

fn roster_entry(name: &str, key: &[u8]) -> String {
    crate::harness::roster_member(name, "https://127.0.0.1:1", &hex::encode(key))
}

/// Gives the node at `dir` (region-kronoberg) a federation listener, a roster and a
/// certificate from the county CA.
pub(crate) fn federate(dir: &Path, ca: &DevCa, members: &[&Org]) {
    let mut roster = "ca = \"tls/county-ca.crt\"\n\n".to_string();
    roster += &crate::harness::roster_member(
        "region-kronoberg",
        "https://127.0.0.1:1",
        &crate::harness::public_key(dir),
    );
    for m in members {
        roster += &roster_entry(m.name, m.key.verifying_key().as_bytes());
    }
    crate::harness::join_county(dir, ca, "region-kronoberg", &roster, "127.0.0.1:0", "");
}

pub(crate) async fn peer(
    node: &TestNode,
    ca: &DevCa,
    as_cert: &CertPair,
) -> FederationServiceClient<Channel> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.cert_pem))
        .domain_name("region-kronoberg")
        .identity(Identity::from_pem(&as_cert.cert_pem, &as_cert.key_pem));
    let addr = node.federation_addr.expect("federation listener");
    let ch = Channel::from_shared(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    FederationServiceClient::new(ch)
}

fn fragment(plan_id: &str, id: &str, home: &str, version: u64, body: Body) -> Fragment {
    let category = kronobarn_proto::category_of(&body).unwrap();
    Fragment {
        plan_id: plan_id.into(),
        fragment_id: id.into(),
        home_organization: home.into(),
        version: Some(Version {
            physical_ms: version,
            logical: 0,
        }),
        category: category as i32,
        written_at_unix_ms: 1,
        written_by: "someone".into(),
        body: Some(body),
        ..Default::default()
    }
}

fn wheel(area: WheelArea) -> Body {
    Body::WheelAssessment(WheelAssessment {
        area: area as i32,
        needs: "behov".into(),
        ..Default::default()
    })
}

fn sealed<M: Message>(kind: PayloadKind, m: &M, by: &Org) -> SignedEnvelope {
    seal(kind, m.encode_to_vec(), &by.key)
}

/// Every fragment the node holds for the plan, shown or withheld, with the reason when withheld.
async fn held(
    api: &mut kronobarn_proto::v1::plan_service_client::PlanServiceClient<Channel>,
    who: &kronobarn_node::client::User,
    plan_id: &str,
) -> Vec<(String, String)> {
    let plan = api
        .get_plan(who.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let mut out: Vec<(String, String)> = plan
        .fragments
        .into_iter()
        .map(|f| (f.fragment_id, String::new()))
        .collect();
    out.extend(plan.withheld.into_iter().map(|w| (w.fragment_id, w.reason)));
    out.sort();
    out
}

async fn push(
    client: &mut FederationServiceClient<Channel>,
    envs: Vec<SignedEnvelope>,
) -> Vec<(bool, String)> {
    let r = client
        .push(PushRequest { envelopes: envs })
        .await
        .unwrap()
        .into_inner();
    r.results
        .into_iter()
        .map(|r| (r.accepted, r.reason))
        .collect()
}

#[tokio::test]
async fn a_node_admits_only_what_roster_signatures_versions_and_consent_allow() {
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let vaxjo = org(&ca, "vaxjo-kommun", 11);
    let polisen = org(&ca, "polisen", 12);
    let node = TestNode::start_with("region-kronoberg", |dir| {
        federate(dir, &ca, &[&vaxjo, &polisen])
    })
    .await;
    let mut from_vaxjo = peer(&node, &ca, &vaxjo.cert).await;
    let plan_id = "0123456789abcdef0123456789abcdef".to_string();

    let mut h = header();
    h.responsible_organization = "vaxjo-kommun".into();
    let head = fragment(&plan_id, "header", "vaxjo-kommun", 100, Body::Header(h));
    let bup = fragment(
        &plan_id,
        "p-bup",
        "vaxjo-kommun",
        101,
        Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bup".into(),
            contact: None,
        }),
    );
    let health = fragment(
        &plan_id,
        "w-health",
        "vaxjo-kommun",
        102,
        wheel(WheelArea::Health),
    );
    let learning = fragment(
        &plan_id,
        "w-learning",
        "vaxjo-kommun",
        103,
        wheel(WheelArea::Learning),
    );

    // Nothing about a plan is admitted before a consent naming this organisation.
    let r = push(
        &mut from_vaxjo,
        vec![sealed(PayloadKind::Fragment, &health, &vaxjo)],
    )
    .await;
    assert!(!r[0].0 && r[0].1.starts_with("unknown-plan"), "{r:?}");

    let consent = Consent {
        plan_id: plan_id.clone(),
        consent_version: 1,
        consent_home: "vaxjo-kommun".into(),
        guardian_consents: ["g1", "g2"]
            .iter()
            .map(|g| GuardianConsent {
                guardian_id: (*g).into(),
                form: ConsentForm::Written as i32,
                given_at_unix_ms: 1,
            })
            .collect(),
        valid_until_unix_ms: i64::MAX,
        grants: vec![Grant {
            organization: "region-kronoberg".into(),
            categories: vec![
                Category::Identity as i32,
                Category::Participants as i32,
                Category::WheelHealth as i32,
            ],
            ..Default::default()
        }],
        purpose: "plan-coordination".into(),
        recorded_by: "rektor".into(),
        recorded_at_unix_ms: 1,
        ..Default::default()
    };
    // A consent alone does not make the plan known: whose plan it is travels ahead of it.
    let r = push(
        &mut from_vaxjo,
        vec![sealed(PayloadKind::Consent, &consent, &vaxjo)],
    )
    .await;
    assert!(!r[0].0 && r[0].1.starts_with("not-yet"), "{r:?}");
    let creation = kronobarn_proto::v1::PlanCreation {
        plan_id: plan_id.clone(),
        home_organization: "vaxjo-kommun".into(),
        created_at_unix_ms: 1,
    };
    // Sent in one push with the fragments after it: the creation, then the consent, are
    // applied first.
    let r = push(
        &mut from_vaxjo,
        vec![
            sealed(PayloadKind::Fragment, &head, &vaxjo),
            sealed(PayloadKind::Fragment, &bup, &vaxjo),
            sealed(PayloadKind::Fragment, &health, &vaxjo),
            sealed(PayloadKind::Fragment, &learning, &vaxjo),
            sealed(PayloadKind::Consent, &consent, &vaxjo),
            sealed(PayloadKind::PlanCreation, &creation, &vaxjo),
        ],
    )
    .await;
    assert_eq!(
        r.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![true, true, true, false, true, true],
        "{r:?}"
    );
    assert!(r[3].1.starts_with("not-granted"), "{r:?}");

    // The region holds what was granted, and nothing else. Its users do not see the copies yet:
    // this test's "vaxjo" is not a real node, so no lease from the consent home can be had.
    let mut api = node.client().await;
    let bup_user = node.user("psykolog", "bup");
    let h = held(&mut api, &bup_user, &plan_id).await;
    let no_lease = |id: &str| (id.to_string(), "no-lease".to_string());
    assert_eq!(
        h,
        vec![no_lease("header"), no_lease("p-bup"), no_lease("w-health")]
    );

    // Replays: an older version is refused; the same bytes again are acknowledged, not rewritten.
    let mut old = health.clone();
    old.version = Some(Version {
        physical_ms: 50,
        logical: 0,
    });
    let mut same_version_other_bytes = health.clone();
    if let Some(Body::WheelAssessment(w)) = &mut same_version_other_bytes.body {
        w.needs = "ändrat".into();
    }
    let r = push(
        &mut from_vaxjo,
        vec![
            sealed(PayloadKind::Fragment, &old, &vaxjo),
            sealed(PayloadKind::Fragment, &same_version_other_bytes, &vaxjo),
            sealed(PayloadKind::Fragment, &health, &vaxjo),
            sealed(
                PayloadKind::Consent,
                &Consent {
                    consent_version: 0,
                    ..consent.clone()
                },
                &vaxjo,
            ),
        ],
    )
    .await;
    assert!(
        r[0].1.starts_with("replay") && r[1].1.starts_with("replay") && r[2].0,
        "{r:?}"
    );
    assert!(!r[3].0, "{r:?}");

    // Forgeries: unknown key, changed bytes, a member signing another's fragment, a fragment
    // relayed over another member's connection, a member that takes no part.
    let stranger_key = Org {
        name: "x",
        key: SigningKey::from_bytes(&[99; 32]),
        cert: ca.leaf("x", &["x"]).unwrap(),
    };
    let mut newer = health.clone();
    newer.version = Some(Version {
        physical_ms: 200,
        logical: 0,
    });
    let mut flipped = sealed(PayloadKind::Fragment, &newer, &vaxjo);
    let n = flipped.payload.len();
    flipped.payload[n - 2] ^= 1;
    let r = push(
        &mut from_vaxjo,
        vec![
            sealed(PayloadKind::Fragment, &newer, &stranger_key),
            flipped,
            sealed(PayloadKind::Fragment, &newer, &polisen),
        ],
    )
    .await;
    assert!(r[0].1.starts_with("unknown-signer"), "{r:?}");
    assert!(r[1].1.starts_with("bad-signature"), "{r:?}");
    assert!(r[2].1.starts_with("signer-not-author"), "{r:?}");
    let mut from_polisen = peer(&node, &ca, &polisen.cert).await;
    let own_polisen = fragment(
        &plan_id,
        "w-police",
        "polisen",
        300,
        wheel(WheelArea::Safety),
    );
    let r = push(
        &mut from_polisen,
        vec![
            sealed(PayloadKind::Fragment, &newer, &vaxjo),
            sealed(PayloadKind::Fragment, &own_polisen, &polisen),
        ],
    )
    .await;
    assert!(r[0].1.starts_with("peer-not-signer"), "{r:?}");
    assert!(r[1].1.starts_with("not-participant"), "{r:?}");

    // A certificate from the county CA that names no member is refused outright.
    let outsider = ca.leaf("outsider", &["outsider-org"]).unwrap();
    let mut from_outsider = peer(&node, &ca, &outsider).await;
    let e = from_outsider
        .push(PushRequest { envelopes: vec![] })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Nothing refused was stored: the plan still holds exactly the admitted fragments, and the
    // only receipt of the health assessment is of the version admitted first.
    assert_eq!(
        held(&mut api, &bup_user, &plan_id).await,
        vec![no_lease("header"), no_lease("p-bup"), no_lease("w-health")]
    );
    let received_health: Vec<AccessRecord> = api
        .list_access_log(bup_user.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 1000,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.action == AccessAction::Receive as i32 && r.fragment_id == "w-health")
        .collect();
    assert_eq!(received_health.len(), 1);
    assert_eq!(received_health[0].version, health.version);

    // A revocation recorded at the consent home withdraws the region's grant: the copies are
    // purged and the purge is in the access log. Its own records stay.
    let revocation = Revocation {
        plan_id: plan_id.clone(),
        revocation_id: "r1".into(),
        recorded_at_organization: "vaxjo-kommun".into(),
        recorded_by: "kurator".into(),
        recorded_at_unix_ms: 2,
        withdrawn_by: "g2".into(),
        organizations: vec!["region-kronoberg".into()],
        categories: vec![Category::WheelHealth as i32],
        ..Default::default()
    };
    let r = push(
        &mut from_vaxjo,
        vec![sealed(PayloadKind::Revocation, &revocation, &vaxjo)],
    )
    .await;
    assert!(r[0].0, "{r:?}");
    let h = held(&mut api, &bup_user, &plan_id).await;
    assert_eq!(
        h,
        vec![no_lease("header"), no_lease("p-bup")],
        "the health copy was purged; the rest is still granted"
    );
    let log = api
        .list_access_log(bup_user.req(ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 1000,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let records: Vec<AccessRecord> = log
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .collect();
    // The revocation's one receipt record names what went with it.
    let purged: Vec<_> = records
        .iter()
        .filter(|r| !r.purged_fragments.is_empty())
        .map(|r| (r.reason.as_str(), r.purged_fragments.clone()))
        .collect();
    assert_eq!(purged, vec![("revocation", vec!["w-health".to_string()])]);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.action == AccessAction::Receive as i32)
            .count(),
        6,
        "the creation record, consent, three fragments, the revocation"
    );
    // A re-sent copy is refused now.
    let r = push(
        &mut from_vaxjo,
        vec![sealed(PayloadKind::Fragment, &newer, &vaxjo)],
    )
    .await;
    assert!(r[0].1.starts_with("revoked"), "{r:?}");

    // Once the police take part, they still may not say who takes part or where the plan
    // stands: those are the responsible organisation's to write.
    let police_unit = fragment(
        &plan_id,
        "p-police",
        "vaxjo-kommun",
        400,
        Body::Participant(Participant {
            organization: "polisen".into(),
            unit: "ungdom".into(),
            contact: None,
        }),
    );
    let r = push(
        &mut from_vaxjo,
        vec![sealed(PayloadKind::Fragment, &police_unit, &vaxjo)],
    )
    .await;
    assert!(r[0].0, "{r:?}");
    let fake_status = fragment(
        &plan_id,
        "status",
        "polisen",
        401,
        Body::Status(kronobarn_proto::v1::PlanStatus {
            history: vec![kronobarn_proto::v1::StageChange {
                stage: kronobarn_proto::v1::PlanStage::Closed as i32,
                changed_by: "someone".into(),
                reason: "not theirs".into(),
                ..Default::default()
            }],
        }),
    );
    let fake_member = fragment(
        &plan_id,
        "p-fake",
        "polisen",
        402,
        Body::Participant(Participant {
            organization: "polisen".into(),
            unit: "another-unit".into(),
            contact: None,
        }),
    );
    let r = push(
        &mut from_polisen,
        vec![
            sealed(PayloadKind::Fragment, &fake_status, &polisen),
            sealed(PayloadKind::Fragment, &fake_member, &polisen),
        ],
    )
    .await;
    assert!(
        r.iter()
            .all(|(ok, why)| !ok && why.starts_with("signer-not-author")),
        "{r:?}"
    );
}
