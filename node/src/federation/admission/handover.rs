//! Admitting a handover of the plan's responsibility: an offer (kept only by its addressee) or
//! an acceptance carrying the offer (applied by everyone). The offer must be signed by the
//! organisation handing over, whoever relays it.

use kronobarn_proto::envelope;
use kronobarn_proto::v1::{HandoverAcceptance, PayloadKind, SignedEnvelope};
use prost::Message;

use super::{Admission, Admitted, Refusal, internal};
use crate::keys;
use crate::node::offer_of;
use crate::store::Op;

impl Admission<'_> {
    /// Admits an offer (only its addressee keeps it) or an acceptance (everyone applies it).
    pub(super) fn admit_handover(
        &self,
        peer: &str,
        signer: &str,
        kind: PayloadKind,
        env: &SignedEnvelope,
    ) -> Result<Admitted, Refusal> {
        let (offer_env, acceptance) = match kind {
            PayloadKind::HandoverOffer => (env.clone(), None),
            _ => {
                let a = HandoverAcceptance::decode(env.payload.as_slice())
                    .map_err(|e| Refusal::Invalid(format!("acceptance: {e}")))?;
                (
                    a.offer
                        .clone()
                        .ok_or_else(|| Refusal::Invalid("acceptance without its offer".into()))?,
                    Some(a),
                )
            }
        };
        let offer =
            offer_of(&offer_env).ok_or_else(|| Refusal::Invalid("offer does not decode".into()))?;
        // The offer must be signed by the organisation handing over, whoever relays it.
        let n = self.node;
        let from = self
            .roster
            .member(&offer.from_organization)
            .ok_or_else(|| Refusal::UnknownSigner(offer.from_organization.clone()))?;
        envelope::open(&offer_env, PayloadKind::HandoverOffer, |id| {
            (id == envelope::key_id(&from.key)).then_some(from.key)
        })
        .map_err(|e| Refusal::BadSignature(format!("offer: {e}")))?;
        let author = if acceptance.is_some() {
            &offer.to_organization
        } else {
            &offer.from_organization
        };
        if signer != author {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: author.clone(),
            });
        }
        if peer != signer {
            return Err(Refusal::PeerNotSigner {
                peer: peer.into(),
                signer: signer.into(),
            });
        }
        let plan_id = offer.plan_id.clone();
        let _g = n.stripe(&plan_id);
        let Some(mut record) = n.plan_record_if_any(&plan_id).map_err(internal)? else {
            return Err(Refusal::UnknownPlan(plan_id));
        };
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&env.payload));
        let receipt = |reason: &str| kronobarn_proto::v1::AccessRecord {
            content_hash: hash.clone(),
            ..self.receipt(peer, &plan_id, "responsibility", reason)
        };
        let event = kronobarn_gateway::PlanEvent::Fragment {
            fragment_id: "header".into(),
        };
        if acceptance.is_none() {
            if offer.to_organization != n.organization_id()
                || record.home_organization != offer.from_organization
            {
                return Err(Refusal::NotParticipant(format!(
                    "{} (the offer is not to this organisation from its responsible one)",
                    peer
                )));
            }
            let rec = receipt("handover-offered");
            n.write(
                std::slice::from_ref(&rec),
                vec![Op::Put(keys::handover(&plan_id), offer_env.encode_to_vec())],
            )
            .map_err(internal)?;
            return Ok(Admitted {
                record: rec,
                plan_id,
                event,
            });
        }
        if record.home_organization == offer.to_organization {
            let rec = receipt("already-held");
            return Ok(Admitted {
                record: rec,
                plan_id,
                event,
            });
        }
        if record.home_organization != offer.from_organization {
            return Err(Refusal::SignerNotAuthor {
                signer: offer.from_organization.clone(),
                author: record.home_organization,
            });
        }
        record.home_organization = offer.to_organization.clone();
        record.updated_at_unix_ms = n.now_ms();
        let mut ops = vec![
            Op::Delete(keys::handover(&plan_id)),
            Op::Put(keys::handed(&plan_id, offer.sequence), env.encode_to_vec()),
            Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
        ];
        // Copies received here are now shown under leases from the new home.
        if n.organization_id() != offer.to_organization {
            ops.push(Op::Put(
                keys::wanted_lease(&plan_id),
                offer.to_organization.as_bytes().to_vec(),
            ));
            ops.push(Op::Delete(keys::lease(&plan_id)));
        }
        let rec = receipt("handover-accepted");
        n.write(std::slice::from_ref(&rec), ops).map_err(internal)?;
        Ok(Admitted {
            record: rec,
            plan_id,
            event,
        })
    }
}
