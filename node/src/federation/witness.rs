//! Witnesses: every node has its peers cosign checkpoints of its access log, and cosigns theirs.
//!
//! # As a witness
//! A witness cosigns a peer's checkpoint only when it is consistent with the last one it cosigned
//! for that peer: the same size and roots, or a larger size with an RFC 9162 consistency proof
//! from the last one (the first checkpoint of a log is taken on trust). It keeps what it cosigned
//! (`witnessed/{org}/{size}`; within one hour only the newest is kept, which loses nothing: the
//! proofs chain, so the kept checkpoints stay pairwise consistent). A checkpoint that contradicts
//! one it cosigned (smaller, forked at the same size, or without a valid proof) is a **split
//! view**: the witness refuses it, keeps it as evidence beside the one it contradicts
//! (`witnessalarm/{org}`), logs an error, counts it in `kronobarn_witness_alarms_total` and sets
//! `kronobarn_witness_alarm{organization}` to 1 (organisation ids only), shows it in the client
//! API's `GetWitnessStatus`, and cosigns nothing more of that log.
//!
//! # As the witnessed node
//! One round at a time ([`Witnesses`]): take a checkpoint, make it durable (a witness must never
//! hold a head a crash could take back), and send it to every peer with a consistency proof from
//! the size that peer last cosigned; when the peer says its newest is another, prove from that
//! one. Rounds run every `checkpoint_secs`, and on demand when a guardian's extract is made, so
//! the extract carries cosignatures of its own checkpoint. `kronobarn log verify` asks every
//! witness for the newest checkpoint it cosigned and holds the log against it: since the
//! witness's checkpoints are pairwise consistent, matching the newest means matching them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kronobarn_gateway::BackendError;
use kronobarn_proto::federation::{
    WitnessCheckpointRequest, WitnessCheckpointResponse, WitnessOutcome,
};
use kronobarn_proto::v1::{SignedEnvelope, WitnessAlarm, WitnessProblem};
use kronobarn_tlog::{Checkpoint, ProofError, consistency_proof, verify_consistency};
use prost::Message;
use tokio::sync::watch;

use super::connect::{PeerTls, connect};
use crate::accesslog::{leaf::StoredTree, signed};
use crate::keys;
use crate::node::{CosignFuture, Cosigned, Cosigner, Node};
use crate::roster::{Member, Roster};
use crate::store::Op;

/// How long a round waits for the witnesses.
const ROUND_TIMEOUT: Duration = Duration::from_secs(5);

/// Within this span of checkpoint time only the newest checkpoint of a log is kept.
const KEEP_ONE_PER_MS: i64 = 3_600_000;

/// Why a witness refused a request without looking further (nothing is kept, no alarm).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WitnessError {
    /// Not a checkpoint signed by the caller for its own log, or a malformed proof.
    #[error("invalid checkpoint: {0}")]
    Invalid(String),
}

fn invalid(e: impl std::fmt::Display) -> WitnessError {
    WitnessError::Invalid(e.to_string())
}

/// The newest checkpoint of `org`'s log this node cosigned: as `org` signed it, and its text.
pub fn newest(node: &Node, org: &str) -> Option<(SignedEnvelope, Checkpoint)> {
    let (_, bytes) = node.last(&keys::witnessed_all(org)).ok()??;
    let env = SignedEnvelope::decode(bytes.as_slice()).ok()?;
    let body = Checkpoint::decode(&env.payload).ok()?;
    Some((env, body))
}

/// The alarm this node raised about `org`'s log, if any.
pub fn alarm(node: &Node, org: &str) -> Option<WitnessAlarm> {
    let bytes = node.get(&keys::witness_alarm(org)).ok()??;
    WitnessAlarm::decode(bytes.as_slice()).ok()
}

fn answer(outcome: WitnessOutcome, held: Option<SignedEnvelope>) -> WitnessCheckpointResponse {
    WitnessCheckpointResponse {
        countersignature: None,
        held,
        outcome: outcome as i32,
    }
}

/// Answers `peer`'s WitnessCheckpoint: cosigns a consistent checkpoint, raises an alarm on one
/// that contradicts what was cosigned, or only tells what is held.
pub fn handle(
    node: &Node,
    roster: &Roster,
    peer: &str,
    req: WitnessCheckpointRequest,
) -> Result<WitnessCheckpointResponse, WitnessError> {
    let Some(env) = req.checkpoint else {
        let outcome = if alarm(node, peer).is_some() {
            WitnessOutcome::Alarmed
        } else {
            WitnessOutcome::Unspecified
        };
        return Ok(answer(outcome, newest(node, peer).map(|(e, _)| e)));
    };
    let member = roster
        .member(peer)
        .ok_or_else(|| invalid("not a roster member"))?;
    // A node mid-rotation still signs with the key the roster lists as its previous one.
    let body = signed::open(&env, |id| member.key_for(id, node.now_ms())).map_err(invalid)?;
    if body.origin.as_str() != peer {
        return Err(invalid("a checkpoint of another log"));
    }
    if !req.consistency_proof.len().is_multiple_of(32) {
        return Err(invalid("consistency_proof is not a list of 32-byte hashes"));
    }
    let proof: Vec<[u8; 32]> = req
        .consistency_proof
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    // One decision at a time per witnessed log.
    let _turn = node.stripe(&format!("witness/{peer}"));
    let held = newest(node, peer);
    if alarm(node, peer).is_some() {
        return Ok(answer(WitnessOutcome::Alarmed, held.map(|(e, _)| e)));
    }
    if let Some((held_env, h)) = &held {
        let problem = if body.size < h.size {
            Some(WitnessProblem::Truncated)
        } else if body.size == h.size {
            (body.root != h.root || body.map_root != h.map_root).then_some(WitnessProblem::Forked)
        } else if req.proof_from_size != h.size {
            return Ok(answer(
                WitnessOutcome::WrongProofStart,
                Some(held_env.clone()),
            ));
        } else {
            match verify_consistency(h.size, body.size, &h.root, &body.root, &proof) {
                Ok(()) => None,
                Err(e @ ProofError::WrongLength { .. }) => return Err(invalid(e)),
                Err(_) => Some(WitnessProblem::Inconsistent),
            }
        };
        if let Some(problem) = problem {
            raise(node, peer, problem, h.size, &env);
            return Ok(answer(WitnessOutcome::SplitView, Some(held_env.clone())));
        }
    }
    let mut ops = vec![Op::Put(
        keys::witnessed(peer, body.size),
        env.encode_to_vec(),
    )];
    if let Some((_, h)) = &held
        && h.size != body.size
        && h.at_unix_ms.div_euclid(KEEP_ONE_PER_MS) == body.at_unix_ms.div_euclid(KEEP_ONE_PER_MS)
    {
        ops.push(Op::Delete(keys::witnessed(peer, h.size)));
    }
    node.apply(ops)
        .map_err(|e| invalid(format!("storage: {e}")))?;
    Ok(WitnessCheckpointResponse {
        countersignature: Some(node.cosign(&env.payload)),
        held: Some(env),
        outcome: WitnessOutcome::Cosigned as i32,
    })
}

/// Keeps the evidence of a split view and tells the operator (organisation ids and sizes only).
fn raise(
    node: &Node,
    peer: &str,
    problem: WitnessProblem,
    cosigned: u64,
    offered: &SignedEnvelope,
) {
    let offered_size = Checkpoint::decode(&offered.payload).map_or(0, |c| c.size);
    let a = WitnessAlarm {
        organization: peer.to_string(),
        problem: problem as i32,
        raised_at_unix_ms: node.now_ms(),
        cosigned_size: cosigned,
        offered_size,
        offered: Some(offered.clone()),
    };
    if let Err(e) = node.apply(vec![Op::Put(keys::witness_alarm(peer), a.encode_to_vec())]) {
        tracing::error!(error = %e, "cannot store a witness alarm");
    }
    tracing::error!(
        peer = %peer,
        problem = problem.as_str_name(),
        cosigned_size = cosigned,
        offered_size,
        "SPLIT VIEW: a peer signed a checkpoint of its access log that contradicts one this node cosigned; refused and kept as evidence"
    );
    metrics::counter!("kronobarn_witness_alarms_total", "organization" => peer.to_string())
        .increment(1);
    metrics::gauge!("kronobarn_witness_alarm", "organization" => peer.to_string()).set(1.0);
}

/// Sets the alarm gauge for every alarm kept (after a restart).
pub fn publish_alarms(node: &Node) {
    for (k, _) in node.scan_all(keys::WITNESS_ALARMS).unwrap_or_default() {
        if let Some(org) = keys::org_after(keys::WITNESS_ALARMS, &k) {
            metrics::gauge!("kronobarn_witness_alarm", "organization" => org.to_string()).set(1.0);
        }
    }
}

/// The future a [`Transport`] returns.
pub type AskFuture<'a> =
    Pin<Box<dyn Future<Output = Result<WitnessCheckpointResponse, String>> + Send + 'a>>;

/// How a node reaches its witnesses: gRPC over mutual TLS, or in-process in unit tests.
pub trait Transport: Send + Sync + 'static {
    /// Sends `req` to `peer`'s WitnessCheckpoint.
    fn ask<'a>(&'a self, peer: &'a Member, req: WitnessCheckpointRequest) -> AskFuture<'a>;
}

/// Witnesses reached over the federation's mutual TLS.
pub struct Tls(pub PeerTls);

impl Transport for Tls {
    fn ask<'a>(&'a self, peer: &'a Member, req: WitnessCheckpointRequest) -> AskFuture<'a> {
        Box::pin(async move {
            let mut client = connect(peer, &self.0).await?;
            client
                .witness_checkpoint(req)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
        })
    }
}

/// This node's side: rounds of cosigning, one at a time.
pub struct Witnesses {
    roster: Arc<Roster>,
    transport: Arc<dyn Transport>,
    turn: tokio::sync::Mutex<()>,
}

impl Witnesses {
    /// The roster's other members as witnesses, reached through `transport`.
    pub fn new(roster: Arc<Roster>, transport: Arc<dyn Transport>) -> Self {
        Self {
            roster,
            transport,
            turn: tokio::sync::Mutex::new(()),
        }
    }

    async fn round(&self, node: &Node, plan: Option<&str>) -> Result<Cosigned, BackendError> {
        // Rounds never overlap, so each witness sees this log's checkpoints in order of size.
        let _turn = self.turn.lock().await;
        let snapshot = node.access_log_handle().snapshot(plan);
        node.durable().await?;
        let peers: Vec<&Member> = self
            .roster
            .members()
            .filter(|m| m.entry.organization != node.organization_id())
            .collect();
        let asks = peers.iter().map(|m| async {
            tokio::time::timeout(ROUND_TIMEOUT, self.ask(node, m, &snapshot.checkpoint))
                .await
                .ok()
                .flatten()
                .map(|env| signed::compact(&m.entry.organization, &env))
        });
        let cosignatures = futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        Ok(Cosigned {
            snapshot,
            cosignatures,
        })
    }

    /// Has `peer` cosign `checkpoint`, proving it consistent with what the peer cosigned last.
    async fn ask(
        &self,
        node: &Node,
        peer: &Member,
        checkpoint: &SignedEnvelope,
    ) -> Option<SignedEnvelope> {
        let org = &peer.entry.organization;
        let size = Checkpoint::decode(&checkpoint.payload).ok()?.size;
        let log = node.access_log_handle();
        let mut from = node
            .get(&keys::witness(org))
            .ok()
            .flatten()
            .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
            .and_then(|e| Checkpoint::decode(&e.payload).ok())
            .map_or(0, |c| c.size);
        for _ in 0..2 {
            if from > size {
                from = 0;
            }
            let proof = match consistency_proof(from, size, &StoredTree(log.store())) {
                Ok(p) => p.concat(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot prove this log's consistency to a witness");
                    return None;
                }
            };
            let req = WitnessCheckpointRequest {
                checkpoint: Some(checkpoint.clone()),
                proof_from_size: from,
                consistency_proof: proof,
            };
            let r = match self.transport.ask(peer, req).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(peer = %org, error = %e, "witness not reached");
                    return None;
                }
            };
            match WitnessOutcome::try_from(r.outcome) {
                Ok(WitnessOutcome::Cosigned) => {
                    let env = r.countersignature?;
                    let key = peer.key_for(&env.key_id, node.now_ms())?;
                    if signed::check_cosignature(&env, &checkpoint.payload, &key).is_err() {
                        tracing::warn!(peer = %org, "a witness's cosignature does not verify");
                        return None;
                    }
                    if let Err(e) =
                        node.apply(vec![Op::Put(keys::witness(org), env.encode_to_vec())])
                    {
                        tracing::warn!(error = %e, "cannot keep a witness's cosignature");
                    }
                    return Some(env);
                }
                Ok(WitnessOutcome::WrongProofStart) => {
                    from = r
                        .held
                        .and_then(|e| Checkpoint::decode(&e.payload).ok())
                        .map_or(0, |c| c.size);
                }
                Ok(WitnessOutcome::SplitView | WitnessOutcome::Alarmed) => {
                    tracing::error!(
                        peer = %org,
                        "a witness refuses this node's checkpoints: it holds one this log contradicts (run kronobarn log verify)"
                    );
                    metrics::counter!("kronobarn_witness_refusals_total", "witness" => org.clone())
                        .increment(1);
                    return None;
                }
                _ => return None,
            }
        }
        None
    }
}

impl Cosigner for Witnesses {
    fn cosign<'a>(&'a self, node: &'a Node, plan: Option<&'a str>) -> CosignFuture<'a> {
        Box::pin(self.round(node, plan))
    }
}

/// Has the witnesses cosign a fresh checkpoint every `period`, and once more on stopping.
pub async fn run(node: Arc<Node>, period: Duration, mut stop: watch::Receiver<bool>) {
    publish_alarms(&node);
    loop {
        if let Err(e) = node.cosigned_checkpoint(None).await {
            tracing::error!(error = %e, "cannot make the log head durable; no checkpoint sent");
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => {
                // The last head before stopping goes to the witnesses too, bounded in time.
                let _ = tokio::time::timeout(
                    Duration::from_secs(6),
                    node.cosigned_checkpoint(None),
                )
                .await;
                return;
            }
        }
    }
}

/// What one witness holds of a log: the newest checkpoint it cosigned, and whether it raised an
/// alarm about the log.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The newest checkpoint cosigned, as the log's node signed it.
    pub newest: Option<SignedEnvelope>,
    /// The witness has an alarm open about the log.
    pub alarmed: bool,
}

/// Asks every peer what it holds of `me`'s log (`kronobarn log verify`, with the node stopped).
pub async fn fetch_held(
    roster: &Roster,
    me: &str,
    tls: &PeerTls,
) -> Vec<(String, Result<Held, String>)> {
    let transport = Tls(tls.clone());
    let mut out = Vec::new();
    for peer in roster.members().filter(|m| m.entry.organization != me) {
        let r = transport
            .ask(peer, WitnessCheckpointRequest::default())
            .await
            .map(|r| Held {
                alarmed: r.outcome == WitnessOutcome::Alarmed as i32,
                newest: r.held,
            });
        out.push((peer.entry.organization.clone(), r));
    }
    out
}

#[cfg(test)]
#[path = "witness_tests.rs"]
mod tests;
