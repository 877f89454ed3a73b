//! Access records of what a peer node did (sent, received, purged because of it), built in one
//! place. Records of what a local user did come from [`kronobarn_gateway::record::by_user`].

use kronobarn_proto::v1::{AccessAction, AccessRecord, Decision};

/// The record of a crossing with, or an act caused by, the node of organisation `peer`.
pub fn by_peer(
    peer: &str,
    at_ms: i64,
    plan_id: &str,
    fragment_id: &str,
    action: AccessAction,
    decision: Decision,
    reason: &str,
) -> AccessRecord {
    AccessRecord {
        at_unix_ms: at_ms,
        organization: peer.to_string(),
        user_id: format!("node:{peer}"),
        role: "node".into(),
        system: "federation".into(),
        plan_id: plan_id.to_string(),
        fragment_id: fragment_id.to_string(),
        action: action as i32,
        decision: decision as i32,
        reason: reason.to_string(),
        ..Default::default()
    }
}

/// A permitted act of `peer`'s (the common case).
pub fn permitted_peer(
    peer: &str,
    at_ms: i64,
    plan_id: &str,
    fragment_id: &str,
    action: AccessAction,
    reason: &str,
) -> AccessRecord {
    by_peer(
        peer,
        at_ms,
        plan_id,
        fragment_id,
        action,
        Decision::Permit,
        reason,
    )
}
