//! Property tests: any bytes, decoded as any inbound message and validated, give a value or an
//! error — never a panic — and a flipped bit in a signed envelope never opens.

use ed25519_dalek::SigningKey;
use kronobarn_proto::envelope::{open, seal};
use kronobarn_proto::federation::{
    FetchChangesRequest, PushRequest, RenewLeaseRequest, WitnessCheckpointRequest,
};
use kronobarn_proto::v1::{
    AdvancePlanRequest, CreatePlanRequest, ExportPlanRequest, Fragment, ListFollowUpsRequest,
    PayloadKind, PlanHeader, PutFragmentRequest, RecordConsentRequest, RevokeConsentRequest,
    SignedEnvelope,
};
use kronobarn_proto::validate;
use proptest::prelude::*;
use prost::Message;

const TODAY: (i32, u32, u32) = (2026, 11, 25);

/// Decodes `bytes` as every inbound type and validates what decodes.
fn decode_everything(bytes: &[u8]) {
    if let Ok(r) = CreatePlanRequest::decode(bytes)
        && let Some(h) = &r.header
    {
        let _ = validate::header("header", h, TODAY);
    }
    if let Ok(r) = PutFragmentRequest::decode(bytes)
        && let Some(f) = &r.fragment
    {
        let _ = validate::fragment("fragment", f, TODAY);
    }
    if let Ok(f) = Fragment::decode(bytes) {
        let _ = validate::fragment("fragment", &f, TODAY);
        let _ = kronobarn_proto::follow_up_dates(f.body.as_ref());
    }
    if let Ok(r) = RecordConsentRequest::decode(bytes)
        && let Some(c) = &r.consent
    {
        let _ = validate::consent(
            "consent",
            c,
            Some(&PlanHeader::default()),
            validate::Consenters::Guardians,
        );
        let _ = validate::consent("consent", c, None, validate::Consenters::YoungPerson);
    }
    if let Ok(r) = RevokeConsentRequest::decode(bytes) {
        let _ = validate::plan_id("plan_id", &r.plan_id);
    }
    let _ = AdvancePlanRequest::decode(bytes);
    let _ = ListFollowUpsRequest::decode(bytes);
    let _ = ExportPlanRequest::decode(bytes);
    let _ = FetchChangesRequest::decode(bytes);
    let _ = RenewLeaseRequest::decode(bytes);
    let _ = WitnessCheckpointRequest::decode(bytes);
    if let Ok(p) = PushRequest::decode(bytes) {
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        for env in &p.envelopes {
            let _ = open(env, PayloadKind::Fragment, |_| Some(key));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_decode_and_validate_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn a_flipped_bit_in_an_envelope_never_opens(byte in 0usize..400, bit in 0u8..8) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let fragment = Fragment {
            plan_id: "0123456789abcdef0123456789abcdef".into(),
            fragment_id: "w1".into(),
            home_organization: "vaxjo-kommun".into(),
            ..Default::default()
        };
        let env = seal(PayloadKind::Fragment, fragment.encode_to_vec(), &key);
        let mut bytes = env.encode_to_vec();
        let i = byte % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(changed) = SignedEnvelope::decode(bytes.as_slice())
            && changed != env
        {
            let vk = key.verifying_key();
            // Only a change to the key id (a lookup hint, not signed) may still open: the
            // payload and kind never open altered.
            let opened = open(&changed, PayloadKind::Fragment, |_| Some(vk));
            if opened.is_ok() {
                prop_assert_eq!(&changed.payload, &env.payload);
                prop_assert_eq!(changed.kind, env.kind);
                prop_assert_eq!(&changed.signature, &env.signature);
            }
        }
    }
}
