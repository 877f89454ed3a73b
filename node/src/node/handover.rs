//! Handing the plan's responsibility over, as this node's users do it: an offer signed by the
//! responsible organisation, an acceptance signed by the organisation taking over that carries
//! the offer, or the offer's withdrawal. The acceptance, once the home that made the offer has
//! confirmed it, is the single fact that moves the responsibility and the consent home, so there
//! is never none and never two; an offer counts only as the next in the plan's chain of
//! handovers, only once, and only while it is open at the home that made it (not withdrawn, not
//! expired by that home's clock).
//! Admitting the same from peers is the federation's (`federation::admission`), by the same rule
//! ([`acceptance_problem`]). The unit taking over must be one the responsibility rule (or the
//! operator's exception) lets be the child's Barnens bästa-ansvarig, and the child must have no
//! other open plan where it is taken over: checked where the offer is made, and again by the
//! receiver's own rules when it arrives and when it is accepted, whoever signed it.

use kronobarn_gateway::{Actor, BackendError, BackendResult, Conflict, Denial};
use kronobarn_policy::responsibility::Fits;
use kronobarn_proto::v1::{
    AccessRecord, Handover, HandoverAcceptance, HandoverConfirmation, HandoverWithdrawal,
    PayloadKind, SignedEnvelope,
};
use prost::Message;

use super::child::BY_EXCEPTION;
use super::{Node, PurgeState, decode_env, internal};
use crate::keys;
use crate::outbox::{URGENT, known_organizations};
use crate::store::Op;

/// How long an offer stays open: long enough for a new school to meet the family, short enough
/// that a forgotten offer does not stop the plan's consent from changing.
pub const OFFER_TTL_MS: i64 = 14 * 86_400_000;

/// Why an acceptance of an offer does not move the plan (where a node holds `chain` handovers
/// and `home` is responsible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptanceProblem {
    /// The offer's place in the chain is taken: it was used, or another came first.
    Used,
    /// An earlier handover has not reached this node yet.
    Early,
    /// The offer is not from the organisation responsible now.
    NotFromHome,
    /// Accepted after the offer expired.
    Expired,
}

/// The rule every node applies to an acceptance: exactly the next handover, offered by the
/// organisation responsible now, accepted before the offer expired.
pub fn acceptance_problem(
    chain: u64,
    home: &str,
    offer: &Handover,
    accepted_at_ms: i64,
) -> Option<AcceptanceProblem> {
    if offer.sequence <= chain {
        return Some(AcceptanceProblem::Used);
    }
    if offer.sequence > chain + 1 {
        return Some(AcceptanceProblem::Early);
    }
    if offer.from_organization != home {
        return Some(AcceptanceProblem::NotFromHome);
    }
    if accepted_at_ms > offer.expires_at_unix_ms {
        return Some(AcceptanceProblem::Expired);
    }
    None
}

/// The plan an offer, acceptance or withdrawal envelope is about.
pub(crate) fn handover_plan(env: &SignedEnvelope) -> Option<String> {
    let offer_in = |o: Option<SignedEnvelope>| o.and_then(|o| offer_of(&o)).map(|o| o.plan_id);
    match PayloadKind::try_from(env.kind).ok()? {
        PayloadKind::HandoverOffer => offer_of(env).map(|o| o.plan_id),
        PayloadKind::HandoverAcceptance => offer_in(
            HandoverAcceptance::decode(env.payload.as_slice())
                .ok()?
                .offer,
        ),
        PayloadKind::HandoverWithdrawal => offer_in(
            HandoverWithdrawal::decode(env.payload.as_slice())
                .ok()?
                .offer,
        ),
        PayloadKind::HandoverConfirmation => {
            let acceptance = HandoverConfirmation::decode(env.payload.as_slice())
                .ok()?
                .acceptance?;
            acceptance_offer(&acceptance).map(|o| o.plan_id)
        }
        _ => None,
    }
}

/// The offer an acceptance envelope answers.
pub(crate) fn acceptance_offer(env: &SignedEnvelope) -> Option<Handover> {
    HandoverAcceptance::decode(env.payload.as_slice())
        .ok()?
        .offer
        .and_then(|o| offer_of(&o))
}

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

    /// The number of handovers of the plan this node holds.
    pub(crate) fn handover_chain(&self, plan_id: &str) -> BackendResult<u64> {
        Ok(self
            .scan_all(&keys::handeds(plan_id))
            .map_err(internal)?
            .len() as u64)
    }

    /// The signed creation record and every accepted handover of the plan, in order: what a
    /// node that has never seen the plan needs to know who its home is.
    pub(crate) fn provenance(&self, plan_id: &str) -> BackendResult<Vec<SignedEnvelope>> {
        let mut out = Vec::new();
        if let Some(b) = self.get(&keys::creation(plan_id)).map_err(internal)? {
            out.push(SignedEnvelope::decode(b.as_slice()).map_err(internal)?);
        }
        // Each handover as its home's signed confirmation, which is all another node takes.
        for (seq, _) in (1..).zip(self.scan_all(&keys::handeds(plan_id)).map_err(internal)?) {
            if let Some(c) = self.get(&keys::confirmed(plan_id, seq)).map_err(internal)? {
                out.push(SignedEnvelope::decode(c.as_slice()).map_err(internal)?);
            }
        }
        Ok(out)
    }

    /// Who the plan's home is by its provenance alone (the creation record, then each accepted
    /// handover in order), for a node that does not hold the plan yet.
    pub(crate) fn provisional_home(&self, plan_id: &str) -> BackendResult<Option<String>> {
        let Some(b) = self.get(&keys::creation(plan_id)).map_err(internal)? else {
            return Ok(None);
        };
        let (creation, _) = decode_env::<kronobarn_proto::v1::PlanCreation>(&b)?;
        let mut home = creation.home_organization;
        for (_, v) in self.scan_all(&keys::handeds(plan_id)).map_err(internal)? {
            let (a, _) = decode_env::<HandoverAcceptance>(&v)?;
            if let Some(o) = a.offer.as_ref().and_then(offer_of) {
                home = o.to_organization;
            }
        }
        Ok(Some(home))
    }

    /// The open offer of the plan, if any and not yet expired.
    fn open_offer(&self, plan_id: &str) -> BackendResult<Option<(Handover, SignedEnvelope)>> {
        let Some(b) = self.get(&keys::handover(plan_id)).map_err(internal)? else {
            return Ok(None);
        };
        let (offer, env) = decode_env::<Handover>(&b)?;
        Ok((self.now_ms() <= offer.expires_at_unix_ms).then_some((offer, env)))
    }

    /// True when an unexpired offer of the plan is open (the home records no consent then).
    pub(crate) fn offer_is_open(&self, plan_id: &str) -> BackendResult<bool> {
        Ok(self.open_offer(plan_id)?.is_some())
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
            if self.offer_is_open(&plan_id)? {
                return Err(BackendError::Conflict(
                    Conflict::HandoverOpen,
                    "a handover of this plan is already open; withdraw it first".into(),
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
            let header = match self
                .stored_fragment(&plan_id, kronobarn_proto::ids::HEADER_FRAGMENT_ID)?
                .and_then(|f| f.fragment.body)
            {
                Some(kronobarn_proto::v1::fragment::Body::Header(h)) => Some(h),
                _ => None,
            };
            // The unit taking over must be one the model (or this operator) lets be the child's
            // Barnens bästa-ansvarig, as when a plan is made; the receiver checks it again.
            let fits = self.check_offered(
                &plan_id,
                header.as_ref(),
                &offer.to_organization,
                &offer.to_unit,
            )?;
            offer.from_organization = self.organization_id().to_string();
            // Which unit held the thread, so the handover is counted by kind of authority.
            offer.from_unit = header.map(|h| h.responsible_unit).unwrap_or_default();
            offer.offered_at_unix_ms = self.now_ms();
            offer.expires_at_unix_ms = offer.offered_at_unix_ms.saturating_add(OFFER_TTL_MS);
            offer.sequence = self.handover_chain(&plan_id)? + 1;
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
            let reason = match fits {
                Fits::Rule => "handover-offered",
                Fits::Exception(_) => BY_EXCEPTION,
            };
            let rec = self.access(actor, &plan_id, reason, &env.payload);
            self.write(&[rec], ops).map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    pub(crate) async fn withdraw_handover_durably(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> BackendResult<Handover> {
        let offer = {
            let _g = self.stripe(plan_id);
            let Some(b) = self.get(&keys::handover(plan_id)).map_err(internal)? else {
                return Err(BackendError::NotFound(format!(
                    "an open offer of plan {plan_id}"
                )));
            };
            let (offer, env) = decode_env::<Handover>(&b)?;
            if offer.from_organization != self.organization_id() {
                return Err(BackendError::Denied(
                    Denial::NotResponsible,
                    "only the organisation that made the offer withdraws it".into(),
                ));
            }
            let withdrawal = HandoverWithdrawal {
                offer: Some(env),
                withdrawn_at_unix_ms: self.now_ms(),
            };
            let w = self.sign(PayloadKind::HandoverWithdrawal, withdrawal.encode_to_vec());
            let (version, clock_op) = self.tick();
            let mut ops = vec![clock_op, Op::Delete(keys::handover(plan_id))];
            if let Some(outbox) = self.outbox() {
                ops.extend(outbox.ops(
                    &w,
                    URGENT,
                    [offer.to_organization.clone()],
                    version,
                    &mut 0,
                ));
            }
            let rec = self.access(actor, plan_id, "handover-withdrawn", &w.payload);
            self.write(&[rec], ops).map_err(internal)?;
            offer
        };
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    /// Closes this node's open offer `offer_env` that its addressee `peer` refused for good
    /// (`why`: its rules do not let the unit take the plan over, or the offer is not open to
    /// it), as a withdrawal would: otherwise the offer stays open until it expires, and the plan's
    /// consent and any new offer wait behind it for two weeks with nobody told. Recorded, with
    /// the signed withdrawal kept as for one a user makes; nothing is sent, since the addressee
    /// holds no offer. False when that offer is not the open one (already withdrawn, replaced,
    /// or accepted).
    pub(crate) fn close_refused_offer(
        &self,
        peer: &str,
        offer_env: &SignedEnvelope,
        why: &str,
    ) -> BackendResult<bool> {
        let Some(plan_id) = handover_plan(offer_env) else {
            return Ok(false);
        };
        let _g = self.stripe(&plan_id);
        let Some(b) = self.get(&keys::handover(&plan_id)).map_err(internal)? else {
            return Ok(false);
        };
        let (offer, env) = decode_env::<Handover>(&b)?;
        if env.payload != offer_env.payload
            || offer.from_organization != self.organization_id()
            || offer.to_organization != peer
        {
            return Ok(false);
        }
        let withdrawal = HandoverWithdrawal {
            offer: Some(env),
            withdrawn_at_unix_ms: self.now_ms(),
        };
        let w = self.sign(PayloadKind::HandoverWithdrawal, withdrawal.encode_to_vec());
        let (_, clock_op) = self.tick();
        let record = AccessRecord {
            content_hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&w.payload)),
            ..crate::records::by_peer(
                peer,
                self.now_ms(),
                &plan_id,
                "responsibility",
                kronobarn_proto::v1::AccessAction::Write,
                kronobarn_proto::v1::Decision::Deny,
                &format!("handover-refused:{why}"),
            )
        };
        self.write(
            &[record],
            vec![clock_op, Op::Delete(keys::handover(&plan_id))],
        )
        .map_err(internal)?;
        tracing::info!(plan = %plan_id, peer, reason = why, "an offer refused by its addressee is closed");
        Ok(true)
    }

    pub(crate) async fn accept_handover_durably(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> BackendResult<Handover> {
        let offer = {
            let _g = self.stripe(plan_id);
            let record = self.plan_record(plan_id)?;
            let Some((offer, env)) = self.open_offer(plan_id)? else {
                return Err(BackendError::NotFound(format!(
                    "an open offer of plan {plan_id} (none was made, it was withdrawn, or it expired)"
                )));
            };
            if offer.to_organization != self.organization_id() {
                return Err(BackendError::NotFound(format!(
                    "an open offer of plan {plan_id} to this organisation"
                )));
            }
            if offer.to_unit != actor.unit {
                return Err(BackendError::Denied(
                    Denial::NotOfferedUnit,
                    format!(
                        "the offer is made to unit '{}'; a user of that unit accepts it",
                        offer.to_unit
                    ),
                ));
            }
            let now = self.now_ms();
            let chain = self.handover_chain(plan_id)?;
            if let Some(p) = acceptance_problem(chain, &record.home_organization, &offer, now) {
                return Err(BackendError::Conflict(
                    Conflict::HandoverOpen,
                    format!("the offer cannot be accepted: {p:?}"),
                ));
            }
            let view = self
                .load(plan_id, false)?
                .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
            // By this node's own rules, whatever the offering node checked: a hostile or
            // outdated one must not make a unit responsible that may not be. Under the child
            // lock, as a header write: two plans for one child cannot both pass the one-open-plan
            // rule at once.
            let _child = self.child_lock.lock().unwrap_or_else(|p| p.into_inner());
            let fits = self.check_taking_over(actor, plan_id, view.header.as_ref())?;
            let acceptance = HandoverAcceptance {
                offer: Some(env),
                accepted_at_unix_ms: now,
            };
            let acc = self.sign(PayloadKind::HandoverAcceptance, acceptance.encode_to_vec());
            // The acceptance goes to the home that made the offer, which alone decides, by its
            // own open offer and clock, whether it still stood; it then sends it on to every
            // organisation of the plan, this one included, and only then does the plan move
            // ([`Node::handover_confirmed_ops`]). An acceptance's own date is its signer's word.
            let (version, clock_op) = self.tick();
            let mut ops = vec![clock_op];
            if let Some(outbox) = self.outbox() {
                ops.extend(outbox.ops(
                    &acc,
                    URGENT,
                    [offer.from_organization.clone()],
                    version,
                    &mut 0,
                ));
            }
            let reason = match fits {
                Fits::Rule => "handover-accepted",
                Fits::Exception(_) => BY_EXCEPTION,
            };
            let rec = self.access(actor, plan_id, reason, &acc.payload);
            self.write(&[rec], ops).map_err(internal)?;
            offer
        };
        self.durable().await?;
        self.outbox_notify().notify_waiters();
        Ok(offer)
    }

    /// What the unit taking the plan over does once the old home has confirmed its acceptance
    /// (the caller moves the plan's home and keeps the acceptance): it takes part as the plan's
    /// responsible unit, leases no longer bind it, and the old home's pending purge
    /// confirmations move here: every revocation in force is sent again to every organisation
    /// of the plan, and this node grants no lease to one until its signed receipt is back.
    pub(crate) fn handover_confirmed_ops(
        &self,
        plan_id: &str,
        offer: &Handover,
    ) -> BackendResult<Vec<Op>> {
        let view = self
            .load(plan_id, false)?
            .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
        let now = self.now_ms();
        let (version, clock_op) = self.tick();
        let mut ops = vec![
            clock_op,
            Op::Delete(keys::wanted_lease(plan_id)),
            Op::Delete(keys::lease(plan_id)),
            Op::Put(keys::own_unit(plan_id, &offer.to_unit), Vec::new()),
            Op::Put(
                keys::unit_plan(self.organization_id(), &offer.to_unit, plan_id),
                Vec::new(),
            ),
            Op::Put(
                keys::feed(version.key()),
                keys::confirmed(plan_id, offer.sequence),
            ),
        ];
        let known = known_organizations(&view);
        if let Some(outbox) = self.outbox() {
            let mut n = 0;
            let state = view.policy_state();
            let to: Vec<String> = known
                .iter()
                .filter(|o| *o != self.organization_id())
                .cloned()
                .collect();
            for r in state.revocations_in_force() {
                let Some(b) = self
                    .get(&keys::revocation(plan_id, &r.id))
                    .map_err(internal)?
                else {
                    continue;
                };
                let renv = SignedEnvelope::decode(b.as_slice()).map_err(internal)?;
                for o in &to {
                    let pending = PurgeState {
                        recorded_at_unix_ms: now,
                        confirmed_at_unix_ms: 0,
                        answer: String::new(),
                    };
                    ops.push(Op::Put(
                        keys::purge(plan_id, &r.id, o),
                        pending.encode_to_vec(),
                    ));
                }
                ops.extend(outbox.ops(&renv, URGENT, to.clone(), version, &mut n));
            }
        }
        Ok(ops)
    }

    /// The home's relay of an acceptance it confirmed: to every organisation of the plan but
    /// itself, the one taking over included.
    pub(crate) fn handover_relay_ops(
        &self,
        plan_id: &str,
        acceptance: &SignedEnvelope,
        sequence: u64,
    ) -> BackendResult<(SignedEnvelope, Vec<Op>)> {
        let view = self
            .load(plan_id, false)?
            .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
        // Every organisation of the plan, and the one taking over by name (it is one of them
        // as a grantee, but its completion must not hang on that).
        let mut to = known_organizations(&view);
        if let Some(offer) = acceptance_offer(acceptance) {
            to.insert(offer.to_organization);
        }
        let to: Vec<String> = to
            .into_iter()
            .filter(|o| o != self.organization_id())
            .collect();
        let confirmation = self.sign(
            PayloadKind::HandoverConfirmation,
            HandoverConfirmation {
                acceptance: Some(acceptance.clone()),
                confirmed_at_unix_ms: self.now_ms(),
            }
            .encode_to_vec(),
        );
        let (version, clock_op) = self.tick();
        // Kept, and in the change feed, so a node that missed the push learns it by pulling.
        let mut ops = vec![
            clock_op,
            Op::Put(
                keys::confirmed(plan_id, sequence),
                confirmation.encode_to_vec(),
            ),
            Op::Put(
                keys::feed(version.key()),
                keys::confirmed(plan_id, sequence),
            ),
        ];
        if let Some(outbox) = self.outbox() {
            ops.extend(outbox.ops(&confirmation, URGENT, to, version, &mut 0));
        }
        Ok((confirmation, ops))
    }

    pub(crate) fn pending_handover_here(&self, plan_id: &str) -> BackendResult<Option<Handover>> {
        Ok(self.open_offer(plan_id)?.map(|(o, _)| o))
    }
}
