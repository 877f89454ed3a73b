//! The durable outbox: who must receive what, written in the same atomic batch as the write
//! that caused it, so nothing is lost across a crash or an outage. The node's writes fill it;
//! the federation's delivery tasks drain it. It knows the roster, never the node.

use std::collections::BTreeSet;
use std::sync::Arc;

use kronobarn_gateway::PlanView;
use kronobarn_policy::{FragmentFacts, PlanState, recipient_organizations};
use kronobarn_proto::v1::{Fragment, SignedEnvelope, Version};
use prost::Message;

use crate::keys;
use crate::roster::Roster;
use crate::store::{Op, Store, StoreError};

/// Priority of consents, revocations and handovers: delivered before any fragment.
pub const URGENT: u8 = 0;
/// Priority of fragments.
pub const NORMAL: u8 = 1;

/// Every organisation a plan names: consent home, participants, grantees.
pub fn known_organizations(view: &PlanView) -> BTreeSet<String> {
    let state = view.policy_state();
    let mut orgs: BTreeSet<String> = state
        .participants
        .iter()
        .map(|u| u.organization.clone())
        .collect();
    orgs.insert(view.home_organization.clone());
    if let Some(c) = &view.consent {
        orgs.extend(c.grants.iter().map(|g| g.organization.clone()));
    }
    orgs
}

/// What the policy needs to know of a fragment.
pub fn fragment_facts(f: &Fragment) -> FragmentFacts<'_> {
    FragmentFacts {
        home: &f.home_organization,
        home_authority: &f.home_authority,
        category: kronobarn_policy::Category(f.category),
    }
}

/// Organisations the consent lets hold `fragment` at `now_ms` (one of whose authorities or
/// units a grant covers).
pub fn fragment_recipients(state: &PlanState, fragment: &Fragment, now_ms: i64) -> Vec<String> {
    recipient_organizations(state, fragment_facts(fragment), now_ms)
        .into_iter()
        .collect()
}

/// The outbox of one node.
pub struct Outbox {
    organization: String,
    roster: Arc<Roster>,
}

impl Outbox {
    /// The outbox of `organization`, delivering to the members of `roster`.
    pub fn new(organization: String, roster: Arc<Roster>) -> Self {
        Self {
            organization,
            roster,
        }
    }

    /// Ops queueing `env` for each of `to` that is a roster member other than this node.
    /// Entries of one batch share `version` (a fresh clock reading) and are told apart by `n`.
    pub fn ops(
        &self,
        env: &SignedEnvelope,
        priority: u8,
        to: impl IntoIterator<Item = String>,
        version: Version,
        n: &mut u16,
    ) -> Vec<Op> {
        let bytes = env.encode_to_vec();
        let mut ops = Vec::new();
        for o in to
            .into_iter()
            .filter(|o| *o != self.organization && self.roster.member(o).is_some())
        {
            ops.push(Op::Put(
                keys::outbox_entry(&o, priority, version.key(), *n),
                bytes.clone(),
            ));
            *n = n.wrapping_add(1);
        }
        ops
    }

    /// Pending deliveries to `peer`, most urgent first.
    pub fn batch(
        store: &dyn Store,
        peer: &str,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, SignedEnvelope)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in store.scan(&keys::outbox(peer), None, limit)? {
            match SignedEnvelope::decode(v.as_slice()) {
                Ok(env) => out.push((k, env)),
                Err(_) => tracing::error!(peer, "undecodable outbox entry skipped"),
            }
        }
        Ok(out)
    }

    /// Number of deliveries waiting for `peer`.
    pub fn depth(store: &dyn Store, peer: &str) -> usize {
        store
            .scan(&keys::outbox(peer), None, usize::MAX)
            .map_or(0, |v| v.len())
    }
}
