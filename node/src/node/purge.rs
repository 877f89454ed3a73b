//! Purging: deleting the received copies of a plan that the consent this node holds no longer
//! covers. Never the organisation's own fragments; every deletion is an access record.

use kronobarn_gateway::BackendResult;
use kronobarn_policy::{FragmentFacts, decide_share};
use kronobarn_proto::v1::{AccessAction, AccessRecord};

use super::index::{due_removal_ops, membership_ops, without_fragments};
use super::{Node, internal};
use crate::keys;
use crate::records;
use crate::store::Op;

impl Node {
    /// Deletes the copies of `plan_id` the consent no longer covers, in one batch with their
    /// access records. Runs under the plan's stripe lock. Returns how many went.
    pub(crate) fn purge_locked(&self, plan_id: &str) -> BackendResult<usize> {
        let Some(view) = self.load(plan_id, true)? else {
            return Ok(0);
        };
        let state = view.policy_state();
        let now = self.now_ms();
        let mut ops = Vec::new();
        let mut records = Vec::new();
        for f in &view.fragments {
            let facts = FragmentFacts {
                home: &f.fragment.home_organization,
                category: kronobarn_policy::Category(f.fragment.category),
            };
            let d = decide_share(&state, &self.organization, facts, now);
            if !d.is_permit() {
                ops.push(Op::Delete(keys::fragment(plan_id, &f.fragment.fragment_id)));
                ops.extend(due_removal_ops(plan_id, &f.fragment));
                records.push(AccessRecord {
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
        if records.is_empty() {
            return Ok(0);
        }
        // A purged header or participant fragment also leaves the unit listing.
        let gone = records.iter().map(|r| r.fragment_id.as_str()).collect();
        ops.extend(membership_ops(
            plan_id,
            &view,
            &without_fragments(&view, &gone),
        ));
        let n = records.len();
        self.write(&records, ops).map_err(internal)?;
        Ok(n)
    }
}
