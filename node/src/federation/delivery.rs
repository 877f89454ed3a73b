//! Delivery: one task per peer drains that peer's outbox, most urgent first, with bounded
//! exponential backoff and jitter while the peer is unreachable. An entry leaves the outbox only
//! when the peer has answered for it; the crossing is then recorded in this node's access log
//! and the peer's signed receipt is kept.

use std::sync::Arc;
use std::time::Duration;

use kronobarn_proto::federation::federation_service_client::FederationServiceClient;
use kronobarn_proto::federation::{PushRequest, PushResult, RefusalCode};
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Decision, Fragment, PayloadKind, Revocation,
    SignedEnvelope,
};
use prost::Message;
use tokio::sync::{Notify, watch};
use tonic::transport::Channel;

use super::connect::{PeerTls, connect};
use crate::keys;
use crate::node::{Node, PurgeState};
use crate::records;
use crate::roster::Member;
use crate::store::{Op, StoreError};

/// Most envelopes sent in one push.
const BATCH: usize = 256;
/// First retry delay after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What an envelope is about, for the access record of its crossing.
fn about(env: &SignedEnvelope) -> (String, String, Option<kronobarn_proto::v1::Version>, u64) {
    match PayloadKind::try_from(env.kind) {
        Ok(PayloadKind::Fragment) => Fragment::decode(env.payload.as_slice())
            .map(|f| (f.plan_id, f.fragment_id, f.version, 0))
            .unwrap_or_default(),
        Ok(PayloadKind::Consent) => Consent::decode(env.payload.as_slice())
            .map(|c| (c.plan_id, "consent".to_string(), None, c.consent_version))
            .unwrap_or_default(),
        Ok(PayloadKind::Revocation) => Revocation::decode(env.payload.as_slice())
            .map(|r| (r.plan_id, "consent".to_string(), None, 0))
            .unwrap_or_default(),
        Ok(PayloadKind::PlanCreation) => {
            kronobarn_proto::v1::PlanCreation::decode(env.payload.as_slice())
                .map(|c| (c.plan_id, "responsibility".to_string(), None, 0))
                .unwrap_or_default()
        }
        Ok(
            PayloadKind::HandoverOffer
            | PayloadKind::HandoverAcceptance
            | PayloadKind::HandoverConfirmation
            | PayloadKind::HandoverWithdrawal,
        ) => {
            let plan_id = crate::node::handover_plan(env).unwrap_or_default();
            (plan_id, "responsibility".to_string(), None, 0)
        }
        _ => Default::default(),
    }
}

/// A fragment its author withheld from the guardians: the record of sending it goes into the
/// plan's withheld chain of the access log.
fn withheld_from_guardians(env: &SignedEnvelope) -> bool {
    env.kind == PayloadKind::Fragment as i32
        && Fragment::decode(env.payload.as_slice()).is_ok_and(|f| f.withheld_from_guardians)
}

/// True when the peer answered for the envelope for good: accepted, or refused in a way that
/// sending again will not change (the entry is dropped, and the refusal logged).
fn answered(r: &PushResult) -> bool {
    r.accepted
        || !matches!(
            r.code(),
            RefusalCode::Internal | RefusalCode::ClockAhead | RefusalCode::NotYet
        )
}

/// The refusal's code as a slug for the access log and node log (the text is for people).
fn refusal_slug(r: &PushResult) -> &'static str {
    match r.code() {
        RefusalCode::Unspecified => "refused",
        RefusalCode::UnknownSigner => "unknown-signer",
        RefusalCode::BadSignature => "bad-signature",
        RefusalCode::Invalid => "invalid",
        RefusalCode::SignerNotAuthor => "signer-not-author",
        RefusalCode::PeerNotSigner => "peer-not-signer",
        RefusalCode::UnknownPlan => "unknown-plan",
        RefusalCode::NotParticipant => "not-participant",
        RefusalCode::Replay => "replay",
        RefusalCode::NotPermitted => "not-permitted",
        RefusalCode::Internal => "internal",
        RefusalCode::ClockAhead => "clock-ahead",
        RefusalCode::NotYet => "not-yet",
        RefusalCode::OfferNotOpen => "offer-not-open",
        RefusalCode::ResponsibleKind => "responsible-kind",
    }
}

/// The access record in `peer`'s receipt, when `peer` signed it (with a key the roster gives it)
/// and it records the receipt of exactly the sent bytes (their `hash`) about `plan_id`.
fn verified_receipt(
    node: &Node,
    peer: &str,
    (plan_id, hash): (&str, &str),
    receipt: &SignedEnvelope,
    now_ms: i64,
) -> Option<(AccessRecord, SignedEnvelope)> {
    let member = node.roster()?.member(peer)?;
    node.work().verified();
    let payload = kronobarn_proto::envelope::open(receipt, PayloadKind::AccessRecord, |id| {
        member.key_for(id, now_ms)
    })
    .ok()?;
    let rec = AccessRecord::decode(payload).ok()?;
    (rec.content_hash == hash
        && rec.plan_id == plan_id
        && rec.action == AccessAction::Receive as i32
        && rec.decision == Decision::Permit as i32)
        .then(|| (rec, receipt.clone()))
}

/// Why answered deliveries could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts one delivery task per roster member other than this node. They stop when `stop`
/// turns true.
pub fn spawn(
    node: Arc<Node>,
    tls: PeerTls,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(roster) = node.roster().cloned() else {
        return Vec::new();
    };
    roster
        .members()
        .filter(|m| m.entry.organization != node.organization_id())
        .cloned()
        .map(|m| tokio::spawn(deliver(node.clone(), m, tls.clone(), stop.clone())))
        .collect()
}

async fn deliver(node: Arc<Node>, peer: Member, tls: PeerTls, mut stop: watch::Receiver<bool>) {
    let name = peer.entry.organization.clone();
    let mut client: Option<FederationServiceClient<Channel>> = None;
    let mut backoff = BACKOFF_MIN;
    let heard = node.heard_from(&name);
    // Never woken: the wait after an answer that took nothing.
    let answered_anyway = Notify::new();
    let mut counted: Option<std::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        // Registered before looking, so a write that lands after the look still wakes us.
        let notified = node.outbox_notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let batch = match node.outbox_batch(&name, BATCH) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(peer = %name, error = %e, "cannot read outbox");
                Vec::new()
            }
        };
        // A batch shorter than BATCH is the whole outbox. Counting a longer one means reading
        // all of it, which on every wake-up made delivery quadratic in the backlog: at most
        // once a second.
        if batch.len() < BATCH {
            metrics::gauge!("kronobarn_outbox_depth", "peer" => name.clone())
                .set(batch.len() as f64);
        } else if counted.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            metrics::gauge!("kronobarn_outbox_depth", "peer" => name.clone())
                .set(node.outbox_depth(&name) as f64);
            counted = Some(std::time::Instant::now());
        }
        if batch.is_empty() {
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        if client.is_none() {
            match connect(&peer, &tls).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    tracing::debug!(peer = %name, error = %e, "peer unreachable");
                    if wait(&mut backoff, &heard, &mut stop).await {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        let envelopes: Vec<SignedEnvelope> = batch.iter().map(|(_, e)| e.clone()).collect();
        node.work().pushed(envelopes.len());
        match c.push(PushRequest { envelopes }).await {
            Ok(resp) => match settle(&node, &name, &batch, resp.into_inner().results).await {
                Ok(n) if n > 0 => backoff = BACKOFF_MIN,
                // The peer answered but could not take anything (e.g. its storage failed): wait
                // rather than send the same batch again at once.
                // (The peer answered: its calling us says nothing new, so it does not cut the
                // wait short.)
                Ok(_) => {
                    if wait(&mut backoff, &answered_anyway, &mut stop).await {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(peer = %name, error = %e, "cannot record deliveries");
                    if wait(&mut backoff, &answered_anyway, &mut stop).await {
                        return;
                    }
                }
            },
            Err(status) => {
                tracing::debug!(peer = %name, code = ?status.code(), "push failed");
                client = None;
                if wait(&mut backoff, &heard, &mut stop).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps for the current backoff with jitter, then doubles it; or, when the peer calls this
/// node meanwhile (`heard`), stops waiting and starts the backoff over: a node back from an
/// outage renews its leases and pulls at once, and its deliveries should not wait up to
/// [`BACKOFF_MAX`] behind them. True when told to stop.
async fn wait(backoff: &mut Duration, heard: &Notify, stop: &mut watch::Receiver<bool>) -> bool {
    let jitter = rand::random::<f64>() * 0.5 + 0.75;
    let d = backoff.mul_f64(jitter);
    *backoff = (*backoff * 2).min(BACKOFF_MAX);
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = heard.notified() => {
            *backoff = BACKOFF_MIN;
            false
        }
        _ = stop.changed() => true,
    }
}

/// Removes answered entries from the outbox, records each crossing and keeps the receipts, in
/// one batch. Returns how many were answered.
pub(crate) async fn settle(
    node: &Node,
    peer: &str,
    batch: &[(Vec<u8>, SignedEnvelope)],
    results: Vec<PushResult>,
) -> Result<usize, SettleError> {
    let mut ops = Vec::new();
    let mut records = Vec::new();
    let mut refused_offers = Vec::new();
    let now = node.now_ms();
    for (i, (key, env)) in batch.iter().enumerate() {
        let Some(r) = results.iter().find(|r| r.position as usize == i) else {
            continue;
        };
        if !answered(r) {
            continue; // try again later
        }
        ops.push(Op::Delete(key.clone()));
        // The entry's key holds the clock reading of the write that queued it.
        if let Some(ms) = keys::outbox_entry_ms(peer, key) {
            let lag = (now - ms as i64).max(0) as f64 / 1000.0;
            metrics::histogram!("kronobarn_delivery_lag_seconds", "peer" => peer.to_string())
                .record(lag);
        }
        let (plan_id, fragment_id, version, consent_version) = about(env);
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&env.payload));
        // An answer counts only with the peer's signed receipt of exactly what was sent.
        let receipt = r
            .accepted
            .then(|| {
                r.receipt
                    .as_ref()
                    .and_then(|rc| verified_receipt(node, peer, (&plan_id, &hash), rc, now))
            })
            .flatten();
        if r.accepted && receipt.is_none() {
            tracing::warn!(
                peer,
                "peer accepted a delivery without a valid signed receipt"
            );
        }
        // An offer its addressee refused for good is closed here (after this batch), not left
        // open to block the plan until it expires.
        if env.kind == PayloadKind::HandoverOffer as i32
            && !r.accepted
            && matches!(
                r.code(),
                RefusalCode::ResponsibleKind | RefusalCode::OfferNotOpen
            )
        {
            refused_offers.push((env, refusal_slug(r)));
        }
        if env.kind == PayloadKind::Revocation as i32
            && let Ok(rev) = Revocation::decode(env.payload.as_slice())
        {
            // Only a signed receipt saying the peer holds the revocation (and purged in the
            // same batch) confirms it; a refusal or a bare "accepted" leaves it pending.
            let key = keys::purge(&rev.plan_id, &rev.revocation_id, peer);
            if let Some(old) = node.get(&key)? {
                let mut st = PurgeState::decode(old.as_slice()).unwrap_or_default();
                let applied = receipt.as_ref().is_some_and(|(rec, _)| {
                    rec.reason == "revocation" || rec.reason == "already-held"
                });
                if applied && st.confirmed_at_unix_ms == 0 {
                    st.confirmed_at_unix_ms = now;
                    st.answer.clear();
                    metrics::histogram!("kronobarn_revocation_propagation_seconds").record(
                        (st.confirmed_at_unix_ms - st.recorded_at_unix_ms).max(0) as f64 / 1000.0,
                    );
                } else if !applied {
                    st.answer = if r.accepted {
                        "receipt-invalid".to_string()
                    } else {
                        refusal_slug(r).to_string()
                    };
                }
                ops.push(Op::Put(key, st.encode_to_vec()));
            }
        }
        if let (Some((_, signed)), Some(suffix)) = (&receipt, keys::outbox_entry_suffix(peer, key))
        {
            ops.push(Op::Put(keys::receipt(peer, suffix), signed.encode_to_vec()));
        }
        if !r.accepted {
            tracing::warn!(peer, reason = refusal_slug(r), "peer refused a delivery");
        }
        let (decision, reason) = if receipt.is_some() {
            (Decision::Permit, "delivered")
        } else if r.accepted {
            (Decision::Permit, "receipt-invalid")
        } else {
            (Decision::Deny, refusal_slug(r))
        };
        records.push(AccessRecord {
            version,
            content_hash: hash,
            consent_version,
            withheld_from_guardians: withheld_from_guardians(env),
            ..records::by_peer(
                peer,
                now,
                &plan_id,
                &fragment_id,
                AccessAction::Send,
                decision,
                reason,
            )
        });
    }
    let settled = records.len();
    metrics::counter!("kronobarn_deliveries_total", "peer" => peer.to_string())
        .increment(settled as u64);
    // Not awaited to disk: after a crash the entry is back in the outbox and is sent again; the
    // peer answers "already held" with a fresh receipt, and the crossing is recorded then. The
    // store's own flush, or the next durable write, makes it durable meanwhile.
    node.write(&records, ops)?;
    for (env, why) in refused_offers {
        if let Err(e) = node.close_refused_offer(peer, env, why) {
            // Left open, as before: it expires, or a user withdraws it.
            tracing::error!(peer, error = %e, "cannot close a refused handover offer");
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_calls_ends_the_wait_and_the_backoff_starts_over() {
        let heard = Notify::new();
        let (_tx, mut stop) = watch::channel(false);
        let mut backoff = BACKOFF_MAX;
        // No call: the whole backoff is waited out (paused time moves on by itself).
        let start = tokio::time::Instant::now();
        assert!(!wait(&mut backoff, &heard, &mut stop).await);
        assert!(start.elapsed() >= BACKOFF_MAX.mul_f64(0.75));
        // The peer called while this task was busy: the next wait ends at once.
        heard.notify_one();
        let start = tokio::time::Instant::now();
        assert!(!wait(&mut backoff, &heard, &mut stop).await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(backoff, BACKOFF_MIN);
    }
}
