//! Raw bytes sent to the client API, as a hostile or broken client would.

use bytes_codec::RawCodec;
use kronobarn_proto::v1::{GetPlanRequest, ListPlansRequest};
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use super::common::*;
use crate::harness::TestNode;

pub(crate) mod bytes_codec {
    use tonic::Status;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    /// Sends and receives bytes as they are.
    #[derive(Default)]
    pub struct RawCodec;
    pub struct Raw;

    impl Encoder for Raw {
        type Item = Vec<u8>;
        type Error = Status;
        fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
            bytes::BufMut::put_slice(buf, &item);
            Ok(())
        }
    }

    impl Decoder for Raw {
        type Item = Vec<u8>;
        type Error = Status;
        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
            let n = bytes::Buf::remaining(buf);
            Ok(Some(bytes::Buf::copy_to_bytes(buf, n).to_vec()))
        }
    }

    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = Raw;
        type Decoder = Raw;
        fn encoder(&mut self) -> Raw {
            Raw
        }
        fn decoder(&mut self) -> Raw {
            Raw
        }
    }
}

pub(crate) async fn call(
    ch: &Channel,
    path: &'static str,
    body: Vec<u8>,
    req: tonic::Request<()>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await.unwrap();
    let (md, ext, ()) = req.into_parts();
    let r = tonic::Request::from_parts(md, ext, body);
    grpc.unary(
        r,
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(|r| r.into_inner())
}

#[tokio::test]
async fn truncated_garbage_and_bit_flipped_requests_are_refused_and_store_nothing() {
    let node = TestNode::start("vaxjo-kommun").await;
    let mut api = node.client().await;
    let rektor = node.user("rektor", "ostra-skolan");
    let plan_id = create_plan(&mut api, &rektor).await;
    let ch = node.channel().await;

    let good = put(wheel(&plan_id, kronobarn_proto::v1::WheelArea::Health)).encode_to_vec();
    let mut cases: Vec<Vec<u8>> = vec![
        vec![0xff; 64],                           // not protobuf at all
        good[..good.len() / 2].to_vec(),          // truncated
        vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // a length far beyond the message
    ];
    for i in (0..good.len()).step_by(7) {
        let mut b = good.clone();
        b[i] ^= 0x80;
        cases.push(b);
    }
    let mut refused = 0;
    for body in cases {
        // A flip inside free text may still be a valid request; everything else is refused.
        if let Err(s) = call(
            &ch,
            "/kronobarn.v1.PlanService/PutFragment",
            body,
            rektor.req(()),
        )
        .await
        {
            refused += 1;
            assert!(
                matches!(
                    s.code(),
                    Code::Internal
                        | Code::InvalidArgument
                        | Code::PermissionDenied
                        | Code::NotFound
                ),
                "unexpected status {s:?}"
            );
        }
    }
    assert!(refused >= 3, "the malformed requests were refused");

    // Unknown method, and the node still answers.
    let e = call(
        &ch,
        "/kronobarn.v1.PlanService/DropAllTables",
        vec![],
        rektor.req(()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    let listed = api
        .list_plans(rektor.req(ListPlansRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.plans.len(), 1);
    let plan = api
        .get_plan(rektor.req(GetPlanRequest { plan_id }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    // Whatever was accepted was a valid wheel assessment; nothing malformed was stored.
    for f in &plan.fragments {
        assert!(f.version.is_some() && !f.home_organization.is_empty());
    }
}
