//! Purging: deleting the received copies of a plan that the consent this node holds no longer
//! covers. Never the organisation's own fragments; every deletion is an access record. The purge
//! is computed from the plan as it will be once a consent or revocation is stored, and written in
//! the same atomic batch as that consent or revocation, so no crash can leave a revocation stored
//! and the copies it withdrew still on disk.

use kronobarn_gateway::{BackendResult, PlanView};
use kronobarn_policy::decide_share;
use kronobarn_proto::v1::AccessRecord;

use super::Node;
use super::index::{due_removal_ops, membership_ops, without_fragments};
use crate::keys;
use crate::store::Op;

/// The deletions that a change of consent state causes. They are recorded in the one access
/// record of that change (`purged_fragments`), not one record each: a revocation costs each
/// holder one record, however much it withdraws. Fragments withheld from the guardians are named
/// in a second record of the plan's withheld chain, so the guardians' extract never names them.
#[derive(Default)]
pub(crate) struct Purge {
    /// The fragments deleted that the guardians may know of.
    pub fragments: Vec<String>,
    /// The fragments deleted that were withheld from the guardians.
    pub withheld: Vec<String>,
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
            if !decide_share(&state, &self.organization, facts, now).is_permit() {
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
                if f.fragment.withheld_from_guardians {
                    purge.withheld.push(f.fragment.fragment_id.clone());
                } else {
                    purge.fragments.push(f.fragment.fragment_id.clone());
                }
            }
        }
        if !purge.fragments.is_empty() || !purge.withheld.is_empty() {
            // A purged header or participant fragment also leaves the unit listing.
            let gone = purge
                .fragments
                .iter()
                .chain(&purge.withheld)
                .map(String::as_str)
                .collect();
            purge.ops.extend(membership_ops(
                plan_id,
                after,
                &without_fragments(after, &gone),
            ));
        }
        purge
    }

    /// The records of a change that caused `purge`: `record` itself, naming what the guardians
    /// may know went, and when withheld fragments went too, a copy of it in the withheld chain
    /// naming those.
    pub(crate) fn purge_records(
        &self,
        mut record: AccessRecord,
        purge: Purge,
    ) -> Vec<AccessRecord> {
        record.purged_fragments = purge.fragments;
        let mut out = Vec::with_capacity(2);
        if !purge.withheld.is_empty() {
            out.push(AccessRecord {
                purged_fragments: purge.withheld,
                withheld_from_guardians: true,
                content_hash: String::new(),
                ..record.clone()
            });
        }
        out.insert(0, record);
        out
    }

    /// The whole plan as stored, to compute a purge from (`None` when this node holds nothing
    /// of it yet).
    pub(crate) fn whole(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, true)
    }
}
