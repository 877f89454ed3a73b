//! The transport: mutual TLS for systems, health checking and reflection for generic tools,
//! watching a plan, and no personal data in the node's log.

use std::time::Duration;

use crate::harness::{TestNode, eventually, read};
use kronobarn_proto::v1::{
    GetPlanRequest, WatchPlanRequest, WheelArea, watch_plan_response::Event,
};
use tonic::Code;

use super::common::*;

#[tokio::test]
async fn health_reflection_mtls_watch_and_no_personal_data_in_logs() {
    let mut node = TestNode::start("vaxjo-kommun").await;

    // Standard health checking.
    let mut health = tonic_health::pb::health_client::HealthClient::new(node.channel().await);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "kronobarn.v1.PlanService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // Reflection, in both protocol versions generic tools speak.
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::{v1, v1alpha};
    let mut refl = v1::server_reflection_client::ServerReflectionClient::new(node.channel().await);
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        resp.message_response
    else {
        panic!("{resp:?}")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"kronobarn.v1.PlanService") && names.contains(&"grpc.health.v1.Health"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("federation")),
        "the client API lists only what it serves: {names:?}"
    );
    let mut refl =
        v1alpha::server_reflection_client::ServerReflectionClient::new(node.channel().await);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "kronobarn.v1.PlanService".into(),
            ),
        ),
    };
    let mut stream = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.unwrap().is_ok());

    // A system authenticates with its registered client certificate instead of a token.
    let mut mtls = node.mtls_client().await;
    let mut cert_user = node.user("rektor", "ostra-skolan");
    cert_user.token.clear();
    let plan_id = create_plan(&mut mtls, &cert_user).await;
    // Without either, the call is refused.
    let mut plain = node.client().await;
    let e = plain
        .get_plan(cert_user.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // Watching a plan streams new fragments to a participant.
    let rektor = node.user("rektor", "ostra-skolan");
    let mut watch = plain
        .watch_plan(rektor.req(WatchPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let mut writer = node.client().await;
    let written = writer
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Relationships))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match got.event {
        Some(Event::Fragment(f)) => assert_eq!(f.fragment_id, written.fragment_id),
        other => panic!("expected the new fragment, got {other:?}"),
    }
    plain
        .get_plan(rektor.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap();

    // The node logged at debug level throughout; no identity number, name or note text in it.
    node.stop();
    let log = eventually(Duration::from_secs(5), "the node log", || {
        let t = read(&node.log_file());
        async move { (!t.is_empty()).then_some(t) }
    })
    .await;
    assert!(log.contains("plan created"), "the log was captured: {log}");
    for secret in [
        PIN,
        "201701012393",
        "0101-2393",
        CHILD_NAME,
        "Påhittadsson",
        "Vårdnadshavare",
        NOTE,
        "Rektor Påhittad",
    ] {
        assert!(
            !log.contains(secret),
            "personal data {secret:?} in the node log"
        );
    }
}

/// Prometheus metrics over HTTP: decisions by reason and request latency, no personal data.
#[tokio::test]
async fn metrics_are_served_without_personal_data() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = crate::harness::free_port();
    let node = TestNode::start_with("vaxjo-kommun", |dir| {
        let config = dir.join("kronobarn.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            format!("{text}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"),
        )
        .unwrap();
    })
    .await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let plan_id = create_plan(&mut api, &rektor).await;
    api.get_plan(rektor.req(GetPlanRequest {
        plan_id: plan_id.clone(),
    }))
    .await
    .unwrap();
    let _ = api
        .get_plan(node.user("pedagog", "fritids").req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await;

    let text = eventually(
        Duration::from_secs(10),
        "the metrics endpoint",
        || async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let mut body = String::new();
            s.read_to_string(&mut body).await.ok()?;
            body.contains("kronobarn_client_access_total")
                .then_some(body)
        },
    )
    .await;
    assert!(text.contains("reason=\"not-participant\""), "{text}");
    assert!(
        text.contains("kronobarn_request_duration_seconds_bucket{method=\"GetPlan\""),
        "{text}"
    );
    for secret in [PIN, CHILD_NAME, "rektor", plan_id.as_str()] {
        assert!(!text.contains(secret), "{secret:?} in metrics");
    }
}
