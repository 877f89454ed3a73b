//! The durable outbox: who must receive what, written in the same atomic batch as the write
//! that caused it, so nothing is lost across a crash or an outage.

use std::collections::BTreeSet;

use kronobarn_gateway::{Backend, PlanView};
use kronobarn_policy::{FragmentFacts, PlanState, decide_share};
use kronobarn_proto::v1::{Consent, Fragment, SignedEnvelope, Version};
use prost::Message;

use crate::keys;
use crate::node::{Node, now_ms};
use crate::store::Op;

/// Priority of consents and revocations: delivered before any fragment.
pub const URGENT: u8 = 0;
/// Priority of fragments.
pub const NORMAL: u8 = 1;

/// Every organisation a plan names: consent home, participants, grantees.
pub fn known_organizations(view: &PlanView, state: &PlanState) -> BTreeSet<String> {
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

impl Node {
    /// Outbox ops sending `env` to each of `to` (roster members other than this node).
    /// Entries of one batch share `version` (a fresh clock reading) and are told apart by `n`.
    pub(crate) fn outbox_ops(
        &self,
        env: &SignedEnvelope,
        priority: u8,
        to: impl IntoIterator<Item = String>,
        version: Version,
        n: &mut u16,
    ) -> Vec<Op> {
        let Some(roster) = self.roster() else {
            return Vec::new();
        };
        let bytes = env.encode_to_vec();
        let mut ops = Vec::new();
        for o in to
            .into_iter()
            .filter(|o| o != self.organization() && roster.member(o).is_some())
        {
            ops.push(Op::Put(
                keys::outbox_entry(&o, priority, version.key(), *n),
                bytes.clone(),
            ));
            *n = n.wrapping_add(1);
        }
        ops
    }

    /// Organisations the consent lets hold `fragment`.
    pub(crate) fn fragment_recipients(
        &self,
        state: &PlanState,
        fragment: &Fragment,
    ) -> Vec<String> {
        let facts = FragmentFacts {
            home: &fragment.home_organization,
            category: kronobarn_policy::Category(fragment.category),
        };
        let now = now_ms();
        state
            .consent
            .iter()
            .flat_map(|c| c.grants.keys())
            .filter(|o| decide_share(state, o, facts, now).is_permit())
            .cloned()
            .collect()
    }

    /// Outbox ops for a new consent: the consent to everyone the plan names (so those who lost a
    /// grant purge), then every own fragment to each organisation the new consent permits.
    pub(crate) fn consent_outbox_ops(
        &self,
        view: &PlanView,
        consent: &Consent,
        env: &SignedEnvelope,
        version: Version,
    ) -> Result<Vec<Op>, kronobarn_gateway::BackendError> {
        if self.roster().is_none() {
            return Ok(Vec::new());
        }
        let mut after = view.clone();
        after.consent = Some(consent.clone());
        let state = after.policy_state();
        let mut to = known_organizations(view, &view.policy_state());
        to.extend(known_organizations(&after, &state));
        let mut n = 0;
        let mut ops = self.outbox_ops(env, URGENT, to, version, &mut n);
        let full = self
            .load_plan(&view.plan_id)?
            .unwrap_or_else(|| view.clone());
        for f in full
            .fragments
            .iter()
            .filter(|f| f.fragment.home_organization == self.organization())
        {
            let Some(bytes) = self
                .store
                .get(&keys::fragment(&view.plan_id, &f.fragment.fragment_id))
                .map_err(crate::node::internal)?
            else {
                continue;
            };
            let fenv = SignedEnvelope::decode(bytes.as_slice()).map_err(crate::node::internal)?;
            let to = self.fragment_recipients(&state, &f.fragment);
            ops.extend(self.outbox_ops(&fenv, NORMAL, to, version, &mut n));
        }
        Ok(ops)
    }

    /// Pending deliveries to `peer`, most urgent first.
    pub fn outbox_batch(
        &self,
        peer: &str,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, SignedEnvelope)>, crate::store::StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&keys::outbox(peer), None, limit)? {
            match SignedEnvelope::decode(v.as_slice()) {
                Ok(env) => out.push((k, env)),
                Err(_) => tracing::error!(peer, "undecodable outbox entry skipped"),
            }
        }
        Ok(out)
    }

    /// Number of deliveries waiting for `peer`.
    pub fn outbox_depth(&self, peer: &str) -> usize {
        self.store
            .scan(&keys::outbox(peer), None, usize::MAX)
            .map_or(0, |v| v.len())
    }
}
