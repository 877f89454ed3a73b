//! Admitting what a peer sends (a push, or changes fetched by anti-entropy): the signature is
//! checked against the roster first, then the sender's right to say it, then replay, then the
//! receiver's own consent view. Refusals store nothing and carry a code the sender acts on.

mod consent;
mod fragment;
mod handover;
#[cfg(test)]
mod tests;

use kronobarn_gateway::PlanEvent;
use kronobarn_proto::envelope;
use kronobarn_proto::federation::RefusalCode;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Fragment, PayloadKind, PlanCreation, Revocation,
    SignedEnvelope,
};
use kronobarn_proto::validate::FieldError;
use prost::Message;
use sha2::{Digest, Sha256};

use kronobarn_gateway::BackendError;
use kronobarn_proto::federation::PushResult;

use crate::node::Node;
use crate::records;
use crate::roster::Roster;
use crate::store::Op;

/// Why an envelope was refused. The code goes back to the sender and into the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The key id is not any roster member's.
    #[error("unknown-signer: key {0} belongs to no roster member")]
    UnknownSigner(String),
    /// The signature does not verify, or the kind is unknown.
    #[error("bad-signature: {0}")]
    BadSignature(String),
    /// The payload does not decode or is not valid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The signer is not the organisation the message says wrote it.
    #[error("signer-not-author: signed by {signer}, but the message is {author}'s")]
    SignerNotAuthor {
        /// Who signed.
        signer: String,
        /// Whose message it claims to be.
        author: String,
    },
    /// The connection's TLS identity is not the signer (fragments and consents are sent by
    /// their author).
    #[error("peer-not-signer: sent by {peer}, signed by {signer}")]
    PeerNotSigner {
        /// TLS identity.
        peer: String,
        /// Signer.
        signer: String,
    },
    /// The receiver knows no consent for this plan naming it.
    #[error("unknown-plan: no consent naming this organisation has arrived for plan {0}")]
    UnknownPlan(String),
    /// The sender takes no part in the plan.
    #[error("not-participant: {0} takes no part in the plan")]
    NotParticipant(String),
    /// Older than what is stored.
    #[error("replay: version {got} is not newer than the stored {stored}")]
    Replay {
        /// Stored version.
        stored: String,
        /// Received version.
        got: String,
    },
    /// It depends on something the receiver has not got yet; send it again later.
    #[error("not-yet: {0}")]
    NotYet(String),
    /// A version further ahead of the receiver's clock than it allows.
    #[error("clock-ahead: version is {ahead_ms} ms ahead of this node's clock")]
    ClockAhead {
        /// How far ahead.
        ahead_ms: u64,
    },
    /// The handover offer expired, was withdrawn, or is not this organisation's to take.
    #[error(
        "offer-not-open: the handover offer has expired, was withdrawn, or is not open to this organisation"
    )]
    OfferNotOpen,
    /// The handover offer names a unit the receiver's rules do not let be the child's Barnens
    /// bästa-ansvarig.
    #[error("responsible-kind: {0}")]
    ResponsibleKind(String),
    /// The receiver's consent check denies holding it.
    #[error("{0}: the consent this node holds does not let it hold this")]
    NotPermitted(&'static str),
    /// Storage failed.
    #[error("internal: {0}")]
    Internal(String),
}

impl Refusal {
    /// Short stable slug, for the access log and metrics.
    pub fn slug(&self) -> &'static str {
        match self {
            Refusal::UnknownSigner(_) => "unknown-signer",
            Refusal::BadSignature(_) => "bad-signature",
            Refusal::Invalid(_) => "invalid",
            Refusal::SignerNotAuthor { .. } => "signer-not-author",
            Refusal::PeerNotSigner { .. } => "peer-not-signer",
            Refusal::UnknownPlan(_) => "unknown-plan",
            Refusal::NotParticipant(_) => "not-participant",
            Refusal::Replay { .. } => "replay",
            Refusal::NotPermitted(r) => r,
            Refusal::Internal(_) => "internal",
            Refusal::NotYet(_) => "not-yet",
            Refusal::ClockAhead { .. } => "clock-ahead",
            Refusal::OfferNotOpen => "offer-not-open",
            Refusal::ResponsibleKind(_) => "responsible-kind",
        }
    }

    /// The code the sender acts on.
    pub fn code(&self) -> RefusalCode {
        match self {
            Refusal::UnknownSigner(_) => RefusalCode::UnknownSigner,
            Refusal::BadSignature(_) => RefusalCode::BadSignature,
            Refusal::Invalid(_) => RefusalCode::Invalid,
            Refusal::SignerNotAuthor { .. } => RefusalCode::SignerNotAuthor,
            Refusal::PeerNotSigner { .. } => RefusalCode::PeerNotSigner,
            Refusal::UnknownPlan(_) => RefusalCode::UnknownPlan,
            Refusal::NotParticipant(_) => RefusalCode::NotParticipant,
            Refusal::Replay { .. } => RefusalCode::Replay,
            Refusal::NotPermitted(_) => RefusalCode::NotPermitted,
            Refusal::Internal(_) => RefusalCode::Internal,
            Refusal::NotYet(_) => RefusalCode::NotYet,
            Refusal::ClockAhead { .. } => RefusalCode::ClockAhead,
            Refusal::OfferNotOpen => RefusalCode::OfferNotOpen,
            Refusal::ResponsibleKind(_) => RefusalCode::ResponsibleKind,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::Internal(e.to_string())
}

fn invalid(e: FieldError) -> Refusal {
    Refusal::Invalid(e.to_string())
}

/// What was admitted.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The access record of the receipt (signed and returned to the sender).
    pub record: AccessRecord,
    /// The plan.
    pub plan_id: String,
    /// The event for local watchers.
    pub event: PlanEvent,
    /// In a deferring admission, the ops that store it, for the caller to write with the rest of
    /// the push (`None`: written already, or nothing to write).
    pub deferred: Option<Vec<Op>>,
}

/// Admission of envelopes into one node, against one roster.
pub struct Admission<'a> {
    node: &'a Node,
    roster: &'a Roster,
    /// Fragments that change no membership are not written but handed back
    /// ([`Admitted::deferred`]); the caller holds their plans' stripes and writes them.
    defer: bool,
}

impl<'a> Admission<'a> {
    /// Admission into `node` of what members of `roster` send.
    pub fn new(node: &'a Node, roster: &'a Roster) -> Self {
        Self {
            node,
            roster,
            defer: false,
        }
    }

    /// As [`Admission::new`], handing back the writes of plain fragments for the caller to
    /// write in one batch. The caller must hold the stripes of those fragments' plans
    /// ([`Node::stripes`]) from before admitting them until they are written.
    pub(crate) fn deferring(node: &'a Node, roster: &'a Roster) -> Self {
        Self {
            node,
            roster,
            defer: true,
        }
    }

    /// The receipt record of something `peer` sent about `fragment_id` of `plan_id`.
    fn receipt(&self, peer: &str, plan_id: &str, fragment_id: &str, reason: &str) -> AccessRecord {
        records::permitted_peer(
            peer,
            self.node.now_ms(),
            plan_id,
            fragment_id,
            AccessAction::Receive,
            reason,
        )
    }

    /// Verifies and admits one envelope sent by `peer` (its TLS identity). Applies the write
    /// (not yet flushed); the caller awaits durability before acknowledging.
    pub fn admit(&self, peer: &str, env: &SignedEnvelope) -> Result<Admitted, Refusal> {
        let (signer, key) = self
            .roster
            .signer(&env.key_id, self.node.now_ms())
            .ok_or_else(|| Refusal::UnknownSigner(env.key_id.clone()))?;
        let kind = PayloadKind::try_from(env.kind)
            .map_err(|_| Refusal::BadSignature(format!("unknown kind {}", env.kind)))?;
        self.node.work().verified();
        let payload = envelope::open(env, kind, |_| Some(key))
            .map_err(|e| Refusal::BadSignature(e.to_string()))?;
        let signer = signer.to_string();
        let hash = hex::encode(Sha256::digest(payload));
        match kind {
            PayloadKind::Fragment => {
                let f = Fragment::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("fragment: {e}")))?;
                self.admit_fragment(peer, &signer, f, env, hash)
            }
            PayloadKind::Consent => {
                let c = Consent::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("consent: {e}")))?;
                self.admit_consent(peer, &signer, c, env, hash)
            }
            PayloadKind::Revocation => {
                let r = Revocation::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("revocation: {e}")))?;
                self.admit_revocation(peer, &signer, r, env, hash)
            }
            PayloadKind::PlanCreation => {
                let c = PlanCreation::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("creation: {e}")))?;
                self.admit_creation(peer, &signer, c, env)
            }
            PayloadKind::HandoverOffer
            | PayloadKind::HandoverAcceptance
            | PayloadKind::HandoverConfirmation
            | PayloadKind::HandoverWithdrawal => self.admit_handover(peer, &signer, kind, env),
            other => Err(Refusal::Invalid(format!(
                "{} cannot be pushed",
                other.as_str_name()
            ))),
        }
    }
}

/// The order a push is admitted in, whatever order it was sent in: who the plan's home is first
/// (its creation, then handovers), then revocations, then consents, then fragments, so everything
/// is judged by the newest responsibility and consent.
fn priority(kind: i32) -> u8 {
    match PayloadKind::try_from(kind) {
        Ok(PayloadKind::PlanCreation) => 0,
        Ok(
            PayloadKind::HandoverOffer
            | PayloadKind::HandoverAcceptance
            | PayloadKind::HandoverConfirmation
            | PayloadKind::HandoverWithdrawal,
        ) => 1,
        Ok(PayloadKind::Revocation) => 2,
        Ok(PayloadKind::Consent) => 3,
        _ => 4,
    }
}

/// A fragment's plan id, its id, and whether it judges others ([`judges_others`]).
type Peek = (String, String, bool);

/// What a plain fragment in a push is about — its plan, its id, and whether it judges others —
/// read before any check, only to take its plan's stripe and to decide when the fragments staged
/// so far must be written first. `None` for a fragment that does not decode or names a plan this
/// node does not hold: an unchecked envelope takes no lock but its own plan's, and only of a plan
/// that is here.
fn peek_fragment(node: &Node, env: &SignedEnvelope) -> Option<Peek> {
    if env.kind != PayloadKind::Fragment as i32 {
        return None;
    }
    let f = Fragment::decode(env.payload.as_slice()).ok()?;
    node.plan_record_if_any(&f.plan_id).ok()??;
    let judges = judges_others(&f);
    Some((f.plan_id, f.fragment_id, judges))
}

/// Most fragments judged under one taking of stripes: bounds how long a push holds plans'
/// locks against local writes (each admission verifies a signature, ~50 µs).
const CHUNK: usize = 32;

/// Whether storing `f` changes how the fragments after it are judged: who takes part (the header
/// and participants) or where the plan stands (its status). Such a fragment is written at once,
/// after what is staged, never deferred.
fn judges_others(f: &Fragment) -> bool {
    crate::node::changes_membership(f)
        || matches!(f.body, Some(kronobarn_proto::v1::fragment::Body::Status(_)))
}

/// Received fragments admitted and waiting to be written in one batch with the others of the
/// push: one log batch, one checkpoint signature, one store apply for the lot.
#[derive(Default)]
struct Staged {
    indices: Vec<usize>,
    records: Vec<AccessRecord>,
    ops: Vec<Op>,
    keys: std::collections::HashSet<(String, String)>,
    /// Envelopes whose staged write failed: refused after all.
    failed: Vec<usize>,
}

impl Staged {
    fn write(&mut self, node: &Node) {
        if self.indices.is_empty() {
            return;
        }
        if let Err(e) = node.write(&self.records, std::mem::take(&mut self.ops)) {
            tracing::error!(error = %e, "cannot store received fragments");
            self.failed.append(&mut self.indices);
        }
        self.indices.clear();
        self.records.clear();
        self.keys.clear();
    }
}

/// Admits a push from `peer`: handovers, revocations and consents before fragments, one
/// flush for the whole push before any of it is acknowledged, then watchers and the delivery
/// and lease tasks are told. One result per envelope, each accepted one with a signed receipt.
///
/// Plain fragments (the bulk of a push) are written together: the stripes of the plans they
/// name, of the plans held here only, are taken for up to [`CHUNK`] of them at a time, each is
/// judged as before, and their records and ops go to the store in one batch per chunk.
/// A fragment that changes who takes part, or one already staged in this push, first writes
/// what is staged, so every judgement reads what the ones before it stored.
pub async fn receive(
    node: &Node,
    roster: &Roster,
    peer: &str,
    envelopes: &[SignedEnvelope],
) -> Result<Vec<PushResult>, BackendError> {
    let mut order: Vec<usize> = (0..envelopes.len()).collect();
    order.sort_by_key(|&i| priority(envelopes[i].kind));
    let mut results: Vec<PushResult> = (0..envelopes.len())
        .map(|i| PushResult {
            position: i as u32,
            ..Default::default()
        })
        .collect();
    let mut accepted: Vec<(usize, Admitted)> = Vec::new();
    let batches_before = node.work().read().log_batches;
    let (fragments, first): (Vec<usize>, Vec<usize>) = order
        .iter()
        .partition(|&&i| envelopes[i].kind == PayloadKind::Fragment as i32);
    let admission = Admission::new(node, roster);
    for &i in &first {
        match admission.admit(peer, &envelopes[i]) {
            Ok(a) => accepted.push((i, a)),
            Err(refusal) => refuse(&mut results[i], peer, &refusal),
        }
    }
    let mut staged = Staged::default();
    let peeked: Vec<(usize, Option<Peek>)> = fragments
        .iter()
        .map(|&i| (i, peek_fragment(node, &envelopes[i])))
        .collect();
    let (held, other): (Vec<_>, Vec<_>) = peeked.into_iter().partition(|(_, p)| p.is_some());
    let deferring = Admission::deferring(node, roster);
    for chunk in held.chunks(CHUNK) {
        let _stripes = node.stripes(
            chunk
                .iter()
                .flat_map(|(_, p)| p)
                .map(|(p, _, _)| p.as_str()),
        );
        for (i, peek) in chunk {
            let i = *i;
            if let Some((plan, fragment, membership)) = peek
                && (*membership || staged.keys.contains(&(plan.clone(), fragment.clone())))
            {
                staged.write(node);
            }
            match deferring.admit(peer, &envelopes[i]) {
                Ok(mut a) => {
                    if let Some(ops) = a.deferred.take() {
                        if let Some((plan, fragment, _)) = peek {
                            staged.keys.insert((plan.clone(), fragment.clone()));
                        }
                        staged.indices.push(i);
                        staged.records.push(a.record.clone());
                        staged.ops.extend(ops);
                    }
                    accepted.push((i, a));
                }
                Err(refusal) => refuse(&mut results[i], peer, &refusal),
            }
        }
        staged.write(node);
    }
    // The rest (fragments that do not decode, or of plans not here when the push was read) one
    // by one, each admission taking its own plan's stripe: most are refused.
    for (i, _) in other {
        match admission.admit(peer, &envelopes[i]) {
            Ok(a) => accepted.push((i, a)),
            Err(refusal) => refuse(&mut results[i], peer, &refusal),
        }
    }
    let failed: std::collections::HashSet<usize> = staged.failed.into_iter().collect();
    let mut events = Vec::new();
    for (i, a) in accepted {
        if failed.contains(&i) {
            refuse(
                &mut results[i],
                peer,
                &Refusal::Internal("storage failed".into()),
            );
            continue;
        }
        results[i].accepted = true;
        results[i].receipt = Some(node.sign(PayloadKind::AccessRecord, a.record.encode_to_vec()));
        events.push((a.plan_id, a.event));
    }
    // Nothing is acknowledged before it is durable: one flush for the whole push. That holds
    // for "already held" too, and for a write that rode in another task's batch (which this
    // push's batch count does not see): the fragment may have been stored by a pull or another
    // push that has not flushed yet. Only a push that was refused whole and stored nothing
    // skips the flush.
    if results.iter().any(|r| r.accepted) || node.work().read().log_batches != batches_before {
        node.durable().await?;
    }
    node.outbox_notify().notify_waiters();
    if events
        .iter()
        .any(|(_, e)| matches!(e, PlanEvent::Consent(_)))
    {
        node.lease_notify().notify_waiters();
    }
    for (plan_id, event) in events {
        node.publish(&plan_id, event);
    }
    Ok(results)
}

fn refuse(result: &mut PushResult, peer: &str, refusal: &Refusal) {
    tracing::warn!(peer = %peer, reason = refusal.slug(), "refused a pushed envelope");
    result.accepted = false;
    result.reason = refusal.to_string();
    result.set_code(refusal.code());
}
