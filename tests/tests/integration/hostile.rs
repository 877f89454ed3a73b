//! Hostile input against every inbound method of a real node, client API and federation alike:
//! random, truncated, oversized and bit-flipped bytes, and forged envelopes. The node must
//! answer each with a status (never hang up or crash), store nothing, keep a log that verifies,
//! and — with tracing at its most verbose — never write the child's identity or notes to its log.

use std::time::Duration;

use kronobarn_node::pki::DevCa;
use kronobarn_proto::envelope::seal;
use kronobarn_proto::federation::{
    FetchChangesRequest, PushRequest, RenewLeaseRequest, WitnessCheckpointRequest,
};
use kronobarn_proto::v1::{
    AcceptResponsibilityRequest, AccessAction, AccessRecord, AdvancePlanRequest, Consent,
    CreatePlanRequest, ExportFormat, ExportPlanRequest, GetConsentStatusRequest,
    GetFragmentRequest, GetPlanRequest, Handover, ListAccessLogRequest, ListFollowUpsRequest,
    ListPlansRequest, LogEntry, PayloadKind, PutFragmentRequest, RecordConsentRequest,
    RevokeConsentRequest, TransferResponsibilityRequest, WatchFollowUpsRequest, WatchPlanRequest,
    WheelArea,
};
use prost::Message;
use rand::{Rng, SeedableRng};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use super::common::*;
use super::federation::{federate, org, peer};
use super::raw::bytes_codec::RawCodec;
use crate::harness::TestNode;

const NO_PLAN: &str = "0123456789abcdef0123456789abcdef";

/// Every client API method with a well-formed request that changes nothing (it names a plan
/// that does not exist, or one the caller may not create), to truncate and flip.
fn client_methods() -> Vec<(&'static str, bool, Vec<u8>)> {
    let mut bad_header = header();
    // Two faults, so no single flip can make it a plan: another organisation and a bad date.
    bad_header.responsible_organization = "vaxjo-kommun".into();
    if let Some(c) = &mut bad_header.child {
        c.personal_identity_number = "19121312-1212".into();
    }
    let plan = || NO_PLAN.to_string();
    let mut fragment = wheel(NO_PLAN, WheelArea::Health);
    fragment.fragment_id = "w1".into();
    vec![
        (
            "/kronobarn.v1.PlanService/CreatePlan",
            false,
            CreatePlanRequest {
                header: Some(bad_header),
                unit_contact: None,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/GetPlan",
            false,
            GetPlanRequest { plan_id: plan() }.encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/ListPlans",
            false,
            ListPlansRequest {
                page_size: 10,
                page_token: "x".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/PutFragment",
            false,
            PutFragmentRequest {
                fragment: Some(fragment),
                expected_version: None,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/GetFragment",
            false,
            GetFragmentRequest {
                plan_id: plan(),
                fragment_id: "header".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/RecordConsent",
            false,
            RecordConsentRequest {
                consent: Some(consent(NO_PLAN, &["g1", "g2"])),
                expected_previous_version: 0,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/RevokeConsent",
            false,
            RevokeConsentRequest {
                plan_id: plan(),
                withdrawn_by: "g1".into(),
                organizations: vec![],
                categories: vec![],
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/GetConsentStatus",
            false,
            GetConsentStatusRequest { plan_id: plan() }.encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/TransferResponsibility",
            false,
            TransferResponsibilityRequest {
                plan_id: plan(),
                to_organization: "vaxjo-kommun".into(),
                to_unit: "skola".into(),
                to_contact: None,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/AcceptResponsibility",
            false,
            AcceptResponsibilityRequest { plan_id: plan() }.encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/ListAccessLog",
            false,
            ListAccessLogRequest {
                plan_id: plan(),
                page_size: 5,
                page_token: String::new(),
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/AdvancePlan",
            false,
            AdvancePlanRequest {
                plan_id: plan(),
                to: 2,
                reason: "r".into(),
                invited_organizations: vec!["vaxjo-kommun".into()],
                meeting_on: "2027-01-01".into(),
                close_reason: 1,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/ListFollowUps",
            false,
            ListFollowUpsRequest {
                from_date: "2026-01-01".into(),
                to_date: "2027-01-01".into(),
                page_size: 10,
                include_done: true,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/ExportPlan",
            false,
            ExportPlanRequest {
                plan_id: plan(),
                format: ExportFormat::FhirR4Json as i32,
                language: "sv".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/WatchPlan",
            true,
            WatchPlanRequest { plan_id: plan() }.encode_to_vec(),
        ),
        (
            "/kronobarn.v1.PlanService/WatchFollowUps",
            true,
            WatchFollowUpsRequest {}.encode_to_vec(),
        ),
    ]
}

/// The byte strings to send for one method: random, truncated, bit-flipped.
fn mutations(rng: &mut rand::rngs::StdRng, good: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..12 {
        let n = rng.gen_range(0..300);
        out.push((0..n).map(|_| rng.r#gen::<u8>()).collect());
    }
    for _ in 0..6 {
        out.push(good[..rng.gen_range(0..good.len().max(1))].to_vec());
    }
    for _ in 0..16 {
        let mut b = good.to_vec();
        if !b.is_empty() {
            let i = rng.gen_range(0..b.len());
            b[i] ^= 1 << rng.gen_range(0..8);
        }
        out.push(b);
    }
    out
}

/// Statuses a refusal may carry: each tells the caller what to fix (decode failures are
/// INTERNAL in tonic, with a message naming the decode error).
fn acceptable(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::NotFound
            | Code::PermissionDenied
            | Code::FailedPrecondition
            | Code::Unauthenticated
            | Code::OutOfRange
            | Code::ResourceExhausted
            | Code::Internal
    )
}

async fn send(
    ch: &Channel,
    path: &'static str,
    stream: bool,
    body: Vec<u8>,
    req: tonic::Request<()>,
) -> Result<(), tonic::Status> {
    if !stream {
        return super::raw::call(ch, path, body, req).await.map(|_| ());
    }
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await.unwrap();
    let (md, ext, ()) = req.into_parts();
    let r = tonic::Request::from_parts(md, ext, body);
    let mut s = grpc
        .server_streaming(
            r,
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await?
        .into_inner();
    // A stream that opened must answer or stay quiet; it must not break the connection.
    match tokio::time::timeout(Duration::from_millis(200), s.message()).await {
        Ok(r) => r.map(|_| ()),
        Err(_) => Ok(()),
    }
}

#[tokio::test]
async fn every_inbound_method_refuses_hostile_bytes_stores_nothing_and_logs_no_personal_data() {
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let vaxjo = org(&ca, "vaxjo-kommun", 21);
    let stranger = org(&ca, "vaxjo-kommun", 99); // right name, key not in the roster
    let mut node = TestNode::init("region-kronoberg");
    federate(node.dir.path(), &ca, &[&vaxjo]);
    node.rust_log = "trace";
    node.spawn().await;
    let seed: u64 = std::env::var("KRONOBARN_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let ch = node.channel().await;
    let user = node.user("psykolog", "bup");
    let mut sent = 0;
    let mut refused = 0;
    for (path, stream, good) in client_methods() {
        let mut cases = mutations(&mut rng, &good);
        cases.push(good.clone());
        for body in cases {
            sent += 1;
            if let Err(s) = send(&ch, path, stream, body, user.req(())).await {
                refused += 1;
                assert!(acceptable(s.code()), "{path}: {s:?}");
            }
        }
        // Without credentials, every method refuses before reading the request.
        let e = send(&ch, path, stream, good, tonic::Request::new(()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{path}");
    }
    // Larger than the configured limit (1 MiB): refused, and the node goes on.
    let e = send(
        &ch,
        "/kronobarn.v1.PlanService/PutFragment",
        false,
        vec![0x0a; (1 << 20) + 16],
        user.req(()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{e:?}"
    );

    // Federation: garbage and flips on every method, and envelopes signed with a key the roster
    // does not hold.
    let mut fed = peer(&node, &ca, &vaxjo.cert).await;
    let mut forged_fragment = wheel(NO_PLAN, WheelArea::Health);
    forged_fragment.home_organization = "vaxjo-kommun".into();
    forged_fragment.fragment_id = "w1".into();
    let forged = seal(
        PayloadKind::Fragment,
        forged_fragment.encode_to_vec(),
        &stranger.key,
    );
    let checkpoint = seal(
        PayloadKind::Checkpoint,
        format!(
            "kronobarn/v2 vaxjo-kommun\n3\n{0}\n{0}\n1\n",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
        )
        .into_bytes(),
        &stranger.key,
    );
    let handover = seal(
        PayloadKind::HandoverOffer,
        Handover {
            plan_id: NO_PLAN.into(),
            from_organization: "vaxjo-kommun".into(),
            to_organization: "region-kronoberg".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        &vaxjo.key,
    );
    let consent_env = seal(
        PayloadKind::Consent,
        Consent {
            plan_id: NO_PLAN.into(),
            ..consent(NO_PLAN, &["g1"])
        }
        .encode_to_vec(),
        &vaxjo.key,
    );
    let fed_methods: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "/kronobarn.federation.v1.FederationService/Push",
            PushRequest {
                envelopes: vec![forged, handover, consent_env],
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.federation.v1.FederationService/FetchChanges",
            FetchChangesRequest {
                after: None,
                limit: 3,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.federation.v1.FederationService/RenewLease",
            RenewLeaseRequest {
                plan_id: NO_PLAN.into(),
                consent_version: 1,
            }
            .encode_to_vec(),
        ),
        (
            "/kronobarn.federation.v1.FederationService/WitnessCheckpoint",
            WitnessCheckpointRequest {
                checkpoint: Some(checkpoint),
                proof_from_size: 2,
                consistency_proof: vec![7; 64],
            }
            .encode_to_vec(),
        ),
    ];
    let fed_ch = {
        let addr = node.federation_addr.unwrap();
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&ca.cert_pem))
            .domain_name("region-kronoberg")
            .identity(tonic::transport::Identity::from_pem(
                &vaxjo.cert.cert_pem,
                &vaxjo.cert.key_pem,
            ));
        Channel::from_shared(format!("https://127.0.0.1:{}", addr.port()))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap()
    };
    for (path, good) in fed_methods {
        let mut cases = mutations(&mut rng, &good);
        cases.push(good);
        for body in cases {
            sent += 1;
            if let Err(s) = send(&fed_ch, path, false, body, tonic::Request::new(())).await {
                refused += 1;
                assert!(acceptable(s.code()), "{path}: {s:?}");
            }
        }
    }
    // The well-formed push is answered envelope by envelope: none admitted.
    let results = fed
        .push(PushRequest {
            envelopes: vec![seal(
                PayloadKind::Fragment,
                forged_fragment.encode_to_vec(),
                &stranger.key,
            )],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(results.iter().all(|r| !r.accepted), "{results:?}");
    eprintln!("hostile input (seed {seed}): {sent} requests, {refused} refused with a status");
    assert!(
        refused * 10 >= sent * 8,
        "most hostile requests are refused"
    );

    // Still serving.
    let mut api = node.client().await;
    api.list_plans(user.req(ListPlansRequest::default()))
        .await
        .unwrap();

    // A real plan with personal data passes through, so the log has something to leak.
    let rektor = node.user("rektor", "ostra-skolan");
    let plan_id = create_plan(&mut api, &rektor).await;
    api.put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Safety))))
        .await
        .unwrap();
    for format in [ExportFormat::Html, ExportFormat::FhirR4Json] {
        api.export_plan(rektor.req(ExportPlanRequest {
            plan_id: plan_id.clone(),
            format: format as i32,
            language: String::new(),
        }))
        .await
        .unwrap();
    }
    let mut wrong = header();
    if let Some(c) = &mut wrong.child {
        c.personal_identity_number = "19121212-1213".into(); // check digit
    }
    let e = api
        .create_plan(rektor.req(CreatePlanRequest {
            header: Some(wrong),
            unit_contact: None,
        }))
        .await
        .unwrap_err();
    assert!(!e.message().contains("1912"), "the number is never echoed");
    node.stop();

    // Nothing stored by the barrage: the only plan and the only writes are the deliberate ones,
    // and the log verifies.
    let config = node.config();
    let (ok, out) = node.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
    let store = kronobarn_node::store::SledStore::open(&node.data_dir()).unwrap();
    use kronobarn_node::store::Store;
    let plans = store
        .scan(kronobarn_node::keys::PLAN, None, usize::MAX)
        .unwrap();
    assert_eq!(plans.len(), 1, "only the deliberate plan is stored");
    let mut writes = 0;
    for (_, v) in store
        .scan(kronobarn_node::keys::LOG, None, usize::MAX)
        .unwrap()
    {
        let Ok(e) = LogEntry::decode(v.as_slice()) else {
            continue; // the per-plan index shares the prefix
        };
        let Ok(r) = AccessRecord::decode(e.record.as_slice()) else {
            continue;
        };
        let permitted = r.decision == 1;
        let writes_something =
            r.action == AccessAction::Write as i32 || r.action == AccessAction::Receive as i32;
        if permitted && writes_something {
            assert_eq!(r.plan_id, plan_id, "a hostile request was stored: {r:?}");
            writes += 1;
        }
    }
    assert!(writes >= 3, "the deliberate writes are there");

    // Every line the node wrote at trace level, none with the child's identity or the notes.
    let log = crate::harness::read(&node.log_file());
    assert!(log.lines().count() > 1000, "tracing was verbose");
    for secret in [
        PIN,
        "201701012393",
        "170101-2393",
        CHILD_NAME,
        NOTE,
        "Vårdnadshavare Ett",
    ] {
        assert!(!log.contains(secret), "the node's log contains {secret:?}");
    }
}
