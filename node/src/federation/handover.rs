//! Responsibility handover (BVC → preschool → school principal → KAA). The responsible
//! organisation signs an offer; the organisation taking over signs an acceptance that carries the
//! offer. The acceptance is the single fact that moves the responsibility and the consent home,
//! so there is never none and never two: before it the old organisation is responsible (and
//! cannot record consent while its offer is open), after it the new one.

use kronobarn_gateway::{Actor, Backend, BackendError, BackendResult};
use kronobarn_proto::envelope;
use kronobarn_proto::v1::{
    AccessRecord, Handover, HandoverAcceptance, PayloadKind, SignedEnvelope,
};
use prost::Message;

use super::outbox::{URGENT, known_organizations};
use super::receive::{Admitted, Refusal};
use crate::keys;
use crate::node::{Node, PlanRecord, internal, now_ms};
use crate::roster::Roster;
use crate::store::Op;

fn offer_of(env: &SignedEnvelope) -> Option<Handover> {
    Handover::decode(env.payload.as_slice()).ok()
}

impl Node {
    fn access(&self, actor: &Actor, plan_id: &str, reason: &str, hash: &[u8]) -> AccessRecord {
        AccessRecord {
            at_unix_ms: now_ms(),
            organization: actor.organization.clone(),
            user_id: actor.user_id.clone(),
            role: actor.role.clone(),
            unit: actor.unit.clone(),
            purpose: actor.purpose.clone(),
            system: actor.system.clone(),
            plan_id: plan_id.to_string(),
            fragment_id: "responsibility".into(),
            content_hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(hash)),
            action: kronobarn_proto::v1::AccessAction::Write as i32,
            decision: kronobarn_proto::v1::Decision::Permit as i32,
            reason: reason.into(),
            ..Default::default()
        }
    }

    pub(crate) async fn offer_handover_impl(
        &self,
        actor: &Actor,
        mut offer: Handover,
    ) -> BackendResult<Handover> {
        let plan_id = offer.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let record = self.plan_record(&plan_id)?;
            if record.home_organization != self.organization_id() {
                return Err(BackendError::PermissionDenied(format!(
                    "only the responsible organisation, {}, can hand the plan over",
                    record.home_organization
                )));
            }
            if self
                .store_get(&keys::handover(&plan_id))
                .map_err(internal)?
                .is_some()
            {
                return Err(BackendError::Stale(
                    "a handover of this plan is already open".into(),
                ));
            }
            let roster = self.roster().ok_or_else(|| {
                BackendError::Invalid(kronobarn_proto::validate::FieldError::new(
                    "to_organization",
                    "this node has no federation roster",
                ))
            })?;
            if offer.to_organization == self.organization_id()
                || roster.member(&offer.to_organization).is_none()
            {
                return Err(BackendError::Invalid(
                    kronobarn_proto::validate::FieldError::new(
                        "to_organization",
                        "must be another member of the roster",
                    ),
                ));
            }
            offer.from_organization = self.organization_id().to_string();
            offer.offered_at_unix_ms = now_ms();
            offer.sequence =
                self.scan(&keys::handeds(&plan_id)).map_err(internal)?.len() as u64 + 1;
            let env = self.sign(PayloadKind::HandoverOffer, offer.encode_to_vec());
            let (version, clock_op) = self.tick();
            let mut ops = vec![
                clock_op,
                Op::Put(keys::handover(&plan_id), env.encode_to_vec()),
            ];
            ops.extend(self.outbox_ops(
                &env,
                URGENT,
                [offer.to_organization.clone()],
                version,
                &mut 0,
            ));
            let rec = self.access(actor, &plan_id, "handover-offered", &env.payload);
            self.access_log_handle()
                .append_with(&[rec], ops)
                .map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    pub(crate) async fn accept_handover_impl(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> BackendResult<Handover> {
        let offer = {
            let _g = self.stripe(plan_id);
            let mut record = self.plan_record(plan_id)?;
            let env = self
                .store_get(&keys::handover(plan_id))
                .map_err(internal)?
                .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
                .ok_or_else(|| {
                    BackendError::NotFound(format!("an open offer of plan {plan_id}"))
                })?;
            let offer = offer_of(&env).ok_or_else(|| internal("stored offer does not decode"))?;
            if offer.to_organization != self.organization_id()
                || offer.from_organization != record.home_organization
            {
                return Err(BackendError::NotFound(format!(
                    "an open offer of plan {plan_id} to this organisation"
                )));
            }
            let acceptance = HandoverAcceptance {
                offer: Some(env),
                accepted_at_unix_ms: now_ms(),
            };
            let acc = self.sign(PayloadKind::HandoverAcceptance, acceptance.encode_to_vec());
            let view = self
                .load_plan_facts(plan_id)?
                .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
            record.home_organization = self.organization_id().to_string();
            record.updated_at_unix_ms = now_ms();
            let (version, clock_op) = self.tick();
            let mut ops = vec![
                clock_op,
                Op::Delete(keys::handover(plan_id)),
                Op::Delete(keys::wanted_lease(plan_id)),
                Op::Put(keys::handed(plan_id, offer.sequence), acc.encode_to_vec()),
                Op::Put(keys::plan(plan_id), record.encode_to_vec()),
                Op::Put(keys::own_unit(plan_id, &offer.to_unit), Vec::new()),
                Op::Put(keys::own_unit(plan_id, &actor.unit), Vec::new()),
                Op::Put(
                    keys::unit_plan(self.organization_id(), &offer.to_unit, plan_id),
                    Vec::new(),
                ),
                Op::Put(
                    keys::feed(version.key()),
                    keys::handed(plan_id, offer.sequence),
                ),
            ];
            let to = known_organizations(&view, &view.policy_state());
            ops.extend(self.outbox_ops(&acc, URGENT, to, version, &mut 0));
            let rec = self.access(actor, plan_id, "handover-accepted", &acc.payload);
            self.access_log_handle()
                .append_with(&[rec], ops)
                .map_err(internal)?;
            offer
        };
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    pub(crate) fn pending_handover_impl(&self, plan_id: &str) -> BackendResult<Option<Handover>> {
        Ok(self
            .store_get(&keys::handover(plan_id))
            .map_err(internal)?
            .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
            .and_then(|e| offer_of(&e)))
    }

    /// Admits an offer (only its addressee keeps it) or an acceptance (everyone applies it).
    pub(crate) fn admit_handover(
        &self,
        roster: &Roster,
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
        let from = roster
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
        let _g = self.stripe(&plan_id);
        let mut record = match self
            .store_get(&keys::plan(&plan_id))
            .map_err(|e| Refusal::Internal(e.to_string()))?
        {
            Some(b) => {
                PlanRecord::decode(b.as_slice()).map_err(|e| Refusal::Internal(e.to_string()))?
            }
            None => return Err(Refusal::UnknownPlan(plan_id)),
        };
        let receipt = |reason: &str| AccessRecord {
            at_unix_ms: now_ms(),
            organization: peer.to_string(),
            user_id: format!("node:{peer}"),
            role: "node".into(),
            system: "federation".into(),
            plan_id: plan_id.clone(),
            fragment_id: "responsibility".into(),
            action: kronobarn_proto::v1::AccessAction::Receive as i32,
            decision: kronobarn_proto::v1::Decision::Permit as i32,
            reason: reason.into(),
            ..Default::default()
        };
        let event = kronobarn_gateway::PlanEvent::Fragment {
            fragment_id: "header".into(),
        };
        if acceptance.is_none() {
            if offer.to_organization != self.organization_id()
                || record.home_organization != offer.from_organization
            {
                return Err(Refusal::NotParticipant(format!(
                    "{} (the offer is not to this organisation from its responsible one)",
                    peer
                )));
            }
            let rec = receipt("handover-offered");
            self.access_log_handle()
                .append_with(
                    std::slice::from_ref(&rec),
                    vec![Op::Put(keys::handover(&plan_id), offer_env.encode_to_vec())],
                )
                .map_err(|e| Refusal::Internal(e.to_string()))?;
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
        record.updated_at_unix_ms = now_ms();
        let mut ops = vec![
            Op::Delete(keys::handover(&plan_id)),
            Op::Put(keys::handed(&plan_id, offer.sequence), env.encode_to_vec()),
            Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
        ];
        // Copies received here are now shown under leases from the new home.
        if self.organization_id() != offer.to_organization {
            ops.push(Op::Put(
                keys::wanted_lease(&plan_id),
                offer.to_organization.as_bytes().to_vec(),
            ));
            ops.push(Op::Delete(keys::lease(&plan_id)));
        }
        let rec = receipt("handover-accepted");
        self.access_log_handle()
            .append_with(std::slice::from_ref(&rec), ops)
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok(Admitted {
            record: rec,
            plan_id,
            event,
        })
    }
}
