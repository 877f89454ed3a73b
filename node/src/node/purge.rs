//! Purging: deleting the received copies of a plan that the consent this node holds no longer
//! covers. Never the organisation's own fragments; every deletion is an access record. The purge
//! is computed from the plan as it will be once a consent or revocation is stored, and written in
//! the same atomic batch as that consent or revocation, so no crash can leave a revocation stored
//! and the copies it withdrew still on disk.

use kronobarn_gateway::{BackendResult, PlanView};
use kronobarn_policy::decide_share;
use kronobarn_proto::v1::{AccessAction, AccessRecord};

use super::Node;
use super::index::{due_removal_ops, membership_ops, without_fragments};
use crate::keys;
use crate::records;
use crate::store::Op;

/// The deletions, and their access records, that a change of consent state causes.
#[derive(Default)]
pub(crate) struct Purge {
    /// One record per fragment deleted.
    pub records: Vec<AccessRecord>,
    /// The deletions and index updates.
    pub ops: Vec<Op>,
}

impl Node {
    /// What must go from `after` (the whole plan as it is once the change is stored) because the
    /// consent state it holds no longer lets this node keep it.
    pub(crate) fn purge_of(&self, after: &PlanView) -> Purge {
        let state = after.policy_state();
        let now = self.now_ms();
        let plan_id = after.plan_id.as_str();
        let mut purge = Purge::default();
        for f in &after.fragments {
            let facts = crate::outbox::fragment_facts(&f.fragment);
            let d = decide_share(&state, &self.organization, facts, now);
            if !d.is_permit() {
                purge
                    .ops
                    .push(Op::Delete(keys::fragment(plan_id, &f.fragment.fragment_id)));
                purge.ops.extend(due_removal_ops(plan_id, &f.fragment));
                purge.ops.extend(self.header_index_ops(
                    plan_id,
                    &after.home_organization,
                    Some(&f.fragment),
                    None,
                ));
                purge.records.push(AccessRecord {
                    version: f.fragment.version,
                    content_hash: f.content_hash.clone(),
                    consent_version: d.consent_version(),
                    ..records::permitted_peer(
                        &f.fragment.home_organization,
                        now,
                        plan_id,
                        &f.fragment.fragment_id,
                        AccessAction::Purge,
                        d.reason(),
                    )
                });
            }
        }
        if !purge.records.is_empty() {
            // A purged header or participant fragment also leaves the unit listing.
            let gone = purge
                .records
                .iter()
                .map(|r| r.fragment_id.as_str())
                .collect();
            purge.ops.extend(membership_ops(
                plan_id,
                after,
                &without_fragments(after, &gone),
            ));
        }
        purge
    }

    /// The whole plan as stored, to compute a purge from (`None` when this node holds nothing
    /// of it yet).
    pub(crate) fn whole(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, true)
    }
}
