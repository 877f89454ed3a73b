//! Access records of what a local user did, built in one place. Every read the gateway answers
//! and every write the node makes for a user starts here; records of what a peer node did are
//! built by the node's federation side.

use kronobarn_proto::v1::{AccessAction, AccessRecord, Decision};

use crate::Actor;

/// The record of `actor` doing `action` on `fragment_id` of `plan_id` at `at_ms`, with the
/// decision and its reason code. Version, content hash and consent version are the caller's to
/// fill in where they apply.
pub fn by_user(
    actor: &Actor,
    at_ms: i64,
    plan_id: &str,
    fragment_id: &str,
    action: AccessAction,
    decision: Decision,
    reason: &str,
) -> AccessRecord {
    AccessRecord {
        at_unix_ms: at_ms,
        organization: actor.organization.clone(),
        user_id: actor.user_id.clone(),
        role: actor.role.clone(),
        unit: actor.unit.clone(),
        purpose: actor.purpose.clone(),
        system: actor.system.clone(),
        plan_id: plan_id.to_string(),
        fragment_id: fragment_id.to_string(),
        action: action as i32,
        decision: decision as i32,
        reason: reason.to_string(),
        ..Default::default()
    }
}
