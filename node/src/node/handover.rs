//! Handing the plan's responsibility over, as this node's users do it: an offer signed by the
//! responsible organisation, and an acceptance signed by the organisation taking over that
//! carries the offer. The acceptance is the single fact that moves the responsibility and the
//! consent home, so there is never none and never two. Admitting the same from peers is the
//! federation's (`federation::admission`).

use kronobarn_gateway::{Actor, BackendError, BackendResult, Conflict, Denial};
use kronobarn_proto::v1::{
    AccessRecord, Handover, HandoverAcceptance, PayloadKind, SignedEnvelope,
};
use prost::Message;

use super::{Node, internal};
use crate::keys;
use crate::outbox::{URGENT, known_organizations};
use crate::store::Op;

/// The offer inside a signed offer envelope.
pub(crate) fn offer_of(env: &SignedEnvelope) -> Option<Handover> {
    Handover::decode(env.payload.as_slice()).ok()
}

impl Node {
    fn access(&self, actor: &Actor, plan_id: &str, reason: &str, hash: &[u8]) -> AccessRecord {
        AccessRecord {
            content_hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(hash)),
            ..self.write_record(actor, plan_id, "responsibility", reason)
        }
    }

    pub(crate) async fn offer_handover_durably(
        &self,
        actor: &Actor,
        mut offer: Handover,
    ) -> BackendResult<Handover> {
        let plan_id = offer.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let record = self.plan_record(&plan_id)?;
            if record.home_organization != self.organization_id() {
                return Err(BackendError::Denied(
                    Denial::NotResponsible,
                    format!(
                        "only the responsible organisation, {}, can hand the plan over",
                        record.home_organization
                    ),
                ));
            }
            if self
                .get(&keys::handover(&plan_id))
                .map_err(internal)?
                .is_some()
            {
                return Err(BackendError::Conflict(
                    Conflict::HandoverOpen,
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
            offer.offered_at_unix_ms = self.now_ms();
            offer.sequence = self
                .scan_all(&keys::handeds(&plan_id))
                .map_err(internal)?
                .len() as u64
                + 1;
            let env = self.sign(PayloadKind::HandoverOffer, offer.encode_to_vec());
            let (version, clock_op) = self.tick();
            let mut ops = vec![
                clock_op,
                Op::Put(keys::handover(&plan_id), env.encode_to_vec()),
            ];
            if let Some(outbox) = self.outbox() {
                ops.extend(outbox.ops(
                    &env,
                    URGENT,
                    [offer.to_organization.clone()],
                    version,
                    &mut 0,
                ));
            }
            let rec = self.access(actor, &plan_id, "handover-offered", &env.payload);
            self.write(&[rec], ops).map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    pub(crate) async fn accept_handover_durably(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> BackendResult<Handover> {
        let offer = {
            let _g = self.stripe(plan_id);
            let mut record = self.plan_record(plan_id)?;
            let env = self
                .get(&keys::handover(plan_id))
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
                accepted_at_unix_ms: self.now_ms(),
            };
            let acc = self.sign(PayloadKind::HandoverAcceptance, acceptance.encode_to_vec());
            let view = self
                .load(plan_id, false)?
                .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
            record.home_organization = self.organization_id().to_string();
            record.updated_at_unix_ms = self.now_ms();
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
            if let Some(outbox) = self.outbox() {
                ops.extend(outbox.ops(&acc, URGENT, known_organizations(&view), version, &mut 0));
            }
            let rec = self.access(actor, plan_id, "handover-accepted", &acc.payload);
            self.write(&[rec], ops).map_err(internal)?;
            offer
        };
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    pub(crate) fn pending_handover_here(&self, plan_id: &str) -> BackendResult<Option<Handover>> {
        Ok(self
            .get(&keys::handover(plan_id))
            .map_err(internal)?
            .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
            .and_then(|e| offer_of(&e)))
    }
}
