//! Witnessed checkpoints: each node regularly sends its signed access-log head to every peer.
//! A witness keeps the newest one and countersigns it only if it does not contradict what it saw
//! before; `kronobarn log verify` then checks the log against the witnesses' copies, so a node
//! cannot quietly truncate or rewrite its own log.

use std::sync::Arc;
use std::time::Duration;

use kronobarn_proto::envelope;
use kronobarn_proto::federation::WitnessCheckpointRequest;
use kronobarn_proto::v1::{Checkpoint, PayloadKind, SignedEnvelope};
use prost::Message;
use tokio::sync::watch;

use super::connect::{PeerTls, connect};
use crate::keys;
use crate::node::Node;
use crate::roster::Roster;
use crate::store::Op;

/// Why a witness refused a checkpoint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WitnessError {
    /// Not a checkpoint signed by the caller for its own log.
    #[error("invalid checkpoint: {0}")]
    Invalid(String),
    /// Smaller than one witnessed before: the log was truncated.
    #[error("the log shrank from {before} to {now} entries: it was truncated")]
    Truncated {
        /// Size witnessed before.
        before: u64,
        /// Size now.
        now: u64,
    },
    /// Same size as one witnessed before, another head: the log was rewritten.
    #[error("another head at {size} entries than witnessed before: the log was rewritten")]
    Rewritten {
        /// The size.
        size: u64,
    },
}

/// Witnesses `env`, a checkpoint `peer` signed of its own log: keeps it and countersigns it.
pub fn witness(
    node: &Node,
    roster: &Roster,
    peer: &str,
    env: &SignedEnvelope,
) -> Result<SignedEnvelope, WitnessError> {
    let member = roster
        .member(peer)
        .ok_or_else(|| WitnessError::Invalid("not a roster member".into()))?;
    let payload = envelope::open(env, PayloadKind::Checkpoint, |id| {
        member.key_for(id, node.now_ms())
    })
    .map_err(|e| WitnessError::Invalid(e.to_string()))?;
    let cp = Checkpoint::decode(payload).map_err(|e| WitnessError::Invalid(e.to_string()))?;
    if cp.organization != peer || cp.head_hash.len() != 32 {
        return Err(WitnessError::Invalid("a checkpoint of another log".into()));
    }
    if let Some(prev) = witnessed(node, peer) {
        if cp.size < prev.size {
            return Err(WitnessError::Truncated {
                before: prev.size,
                now: cp.size,
            });
        }
        if cp.size == prev.size && cp.head_hash != prev.head_hash {
            return Err(WitnessError::Rewritten { size: cp.size });
        }
    }
    node.apply(vec![Op::Put(keys::witnessed(peer), env.encode_to_vec())])
        .map_err(|e| WitnessError::Invalid(format!("storage: {e}")))?;
    Ok(node.sign(PayloadKind::Checkpoint, env.payload.clone()))
}

/// The newest checkpoint of `org`'s log witnessed here.
pub fn witnessed(node: &Node, org: &str) -> Option<Checkpoint> {
    let env = SignedEnvelope::decode(node.get(&keys::witnessed(org)).ok()??.as_slice()).ok()?;
    Checkpoint::decode(env.payload.as_slice()).ok()
}

/// The newest checkpoint of `org`'s log witnessed here, as `org` signed it.
pub fn witnessed_envelope(node: &Node, org: &str) -> Option<SignedEnvelope> {
    SignedEnvelope::decode(node.get(&keys::witnessed(org)).ok()??.as_slice()).ok()
}

/// Sends a fresh checkpoint to every peer every `period`, keeping their countersignatures.
pub async fn run(node: Arc<Node>, tls: PeerTls, period: Duration, mut stop: watch::Receiver<bool>) {
    let Some(roster) = node.roster().cloned() else {
        return;
    };
    loop {
        send_round(&node, &roster, &tls).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => {
                // The last head before stopping goes to the witnesses too, bounded in time.
                let _ = tokio::time::timeout(Duration::from_secs(5), send_round(&node, &roster, &tls)).await;
                return;
            }
        }
    }
}

async fn send_round(node: &Node, roster: &Roster, tls: &PeerTls) {
    let cp = node.access_log_handle().checkpoint(node.now_ms());
    // The head may include entries applied but not yet flushed. A witness must never hold a
    // head that a crash could take back: the log restarted shorter would then look truncated,
    // and its next entries like a rewrite. So the head is made durable before it is sent.
    if let Err(e) = node.durable().await {
        tracing::error!(error = %e, "cannot make the log head durable; no checkpoint sent");
        return;
    }
    for peer in roster
        .members()
        .filter(|m| m.entry.organization != node.organization_id())
    {
        let Ok(mut client) = connect(peer, tls).await else {
            continue;
        };
        match client
            .witness_checkpoint(WitnessCheckpointRequest {
                checkpoint: Some(cp.clone()),
            })
            .await
        {
            Ok(r) => {
                if let Some(sig) = r.into_inner().countersignature {
                    let _ = node.apply(vec![Op::Put(
                        keys::witness(&peer.entry.organization),
                        sig.encode_to_vec(),
                    )]);
                }
            }
            Err(s) => {
                tracing::warn!(peer = %peer.entry.organization, code = ?s.code(), message = s.message(), "a witness refused this node's checkpoint")
            }
        }
    }
}

/// Asks every peer for the newest checkpoint of this node's log it holds (as this node signed
/// it). Used by `kronobarn log verify` with the node stopped.
pub async fn fetch_held(
    roster: &Roster,
    me: &str,
    tls: &PeerTls,
) -> Vec<(String, Result<Option<SignedEnvelope>, String>)> {
    let mut out = Vec::new();
    for peer in roster.members().filter(|m| m.entry.organization != me) {
        let r = async {
            let mut c = connect(peer, tls).await?;
            let r = c
                .witness_checkpoint(WitnessCheckpointRequest { checkpoint: None })
                .await
                .map_err(|s| s.message().to_string())?;
            Ok(r.into_inner().held)
        }
        .await;
        out.push((peer.entry.organization.clone(), r));
    }
    out
}
