//! Retention (gallring): each authority keeps its records of a closed plan as long as its rules
//! say, then the node deletes them; what the node holds of other organisations (received copies,
//! their consents and revocations, the plan's bookkeeping) goes once the plan has closed.
//!
//! **One atomic batch per plan.** A plan's deletions, their access records (action purge, reason
//! `retention`) and its signed tombstone land together, so a crash leaves a plan either as it was
//! or with exactly that batch applied; the next run recomputes from what is stored and goes on.
//!
//! **What stays.** The tombstone (`tomb/{plan}`: plan id, the day it closed, when and by which
//! rules its records went; nothing personal), the access log with its records about the plan and
//! the plan's head in the log's plan map (evidence of who did what: organisation, unit, role and
//! user ids, purpose slugs, fragment ids, versions and hashes of signed bytes, never content),
//! the change feed's pointers to keys that no longer exist (ids only), and signed receipts.
//!
//! **Without a rule nothing of the authority's own goes**: a public authority deletes its records
//! only under a decision on retention, so an authority without `days` (and no `default_days`)
//! keeps them, and only what came from others goes.

use std::collections::{BTreeMap, BTreeSet};

use kronobarn_gateway::{BackendResult, PlanView};
use kronobarn_policy::Date;
use kronobarn_policy::lifecycle::Stage;
use kronobarn_policy::retention::{Holding, delete_due};
use kronobarn_proto::ids::{PLAN_CLOSED, STATUS_FRAGMENT_ID};
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Decision, Fragment, PayloadKind, PlanCreation,
    RetentionApplied, Revocation, SignedEnvelope, Tombstone, fragment::Body,
};
use prost::Message;
use sha2::{Digest, Sha256};

use super::index::{due_removal_ops, membership_ops, units, without_fragments};
use super::{Node, decode_env, internal};
use crate::keys;
use crate::store::Op;

/// How long each of this node's authorities keeps its records of a closed plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Days after closing, by authority (directory id, or `org/unit` for a unit the directory
    /// does not list).
    pub by_authority: BTreeMap<String, u32>,
    /// Days for an authority not listed; `None` keeps its records (no retention decision).
    pub default_days: Option<u32>,
}

impl Retention {
    /// Days `authority` keeps its records, if it has a rule.
    pub fn days(&self, authority: &str) -> Option<u32> {
        self.by_authority
            .get(authority)
            .copied()
            .or(self.default_days)
    }
}

/// What retention deletes (or, in a dry run, would delete) of one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDue {
    /// The plan.
    pub plan_id: String,
    /// The day it closed (Swedish time).
    pub closed_on: Date,
    /// Fragments that go.
    pub fragments: usize,
    /// True when nothing of the plan is left but its tombstone and the access log.
    pub complete: bool,
    /// The rules applied, per authority ("" for what came from others).
    pub rules: Vec<RetentionApplied>,
}

/// The day a plan closed: its status says so (at its home), or a withdrawal for closing does
/// (at a node that received no status); `None` while it is open.
fn closed_on(view: &PlanView) -> Option<Date> {
    let by_status = view
        .fragments
        .iter()
        .find(|f| f.fragment.fragment_id == STATUS_FRAGMENT_ID)
        .and_then(|f| match &f.fragment.body {
            Some(Body::Status(s)) => s.history.last(),
            _ => None,
        })
        .filter(|c| Stage::from_number(c.stage) == Some(Stage::Closed))
        .map(|c| c.at_unix_ms);
    let by_revocation = view
        .revocations
        .iter()
        .filter(|r| r.withdrawn_by == PLAN_CLOSED)
        .map(|r| r.recorded_at_unix_ms)
        .min();
    by_status.or(by_revocation).map(Date::in_sweden)
}

/// The plan an outbox entry is about.
fn plan_of(env: &SignedEnvelope) -> Option<String> {
    let p = env.payload.as_slice();
    match PayloadKind::try_from(env.kind).ok()? {
        PayloadKind::Fragment => Fragment::decode(p).ok().map(|f| f.plan_id),
        PayloadKind::Consent => Consent::decode(p).ok().map(|c| c.plan_id),
        PayloadKind::Revocation => Revocation::decode(p).ok().map(|r| r.plan_id),
        PayloadKind::PlanCreation => PlanCreation::decode(p).ok().map(|c| c.plan_id),
        _ => super::handover_plan(env),
    }
}

impl Node {
    /// The tombstone of a plan whose records retention deleted here, if any.
    pub fn tombstone(&self, plan_id: &str) -> BackendResult<Option<Tombstone>> {
        match self.get(&keys::tombstone(plan_id)).map_err(internal)? {
            Some(b) => Ok(Some(decode_env::<Tombstone>(&b)?.0)),
            None => Ok(None),
        }
    }

    /// Deletes what `rules` say is due today, one atomic batch per plan, and returns what went
    /// (or, with `dry_run`, what would go, deleting nothing).
    pub async fn gallring(&self, rules: &Retention, dry_run: bool) -> BackendResult<Vec<PlanDue>> {
        let today = Date::in_sweden(self.now_ms());
        let mut out = Vec::new();
        // Outbox entries of a plan that goes entirely go with it (a peer long away).
        let mut outbox: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        if let Some(roster) = self.roster() {
            for m in roster.members() {
                let peer = &m.entry.organization;
                for (k, env) in self.outbox_batch(peer, usize::MAX).map_err(internal)? {
                    if let Some(p) = plan_of(&env) {
                        outbox.entry(p).or_default().push(k);
                    }
                }
            }
        }
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .scan(keys::PLAN, after.as_deref(), 500)
                .map_err(internal)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (k, _) in &page {
                let Some(plan_id) = keys::plan_of(k) else {
                    continue;
                };
                let _g = self.stripe(plan_id);
                let Some(view) = self.load(plan_id, true)? else {
                    continue;
                };
                let Some(closed) = closed_on(&view) else {
                    continue;
                };
                let Some((due, batch)) = self.due(&view, closed, today, rules)? else {
                    continue;
                };
                if !dry_run {
                    let (records, mut ops) = batch;
                    if due.complete {
                        ops.extend(
                            outbox
                                .remove(plan_id)
                                .unwrap_or_default()
                                .into_iter()
                                .map(Op::Delete),
                        );
                    }
                    self.write(&records, ops).map_err(internal)?;
                    tracing::info!(
                        plan = %plan_id,
                        closed_on = %closed,
                        fragments = due.fragments,
                        complete = due.complete,
                        "gallring: records deleted under the retention rules"
                    );
                }
                out.push(due);
            }
        }
        if !dry_run && !out.is_empty() {
            self.durable().await?;
        }
        Ok(out)
    }

    /// What of `view` is due today, with the batch that deletes it; `None` when nothing is.
    #[allow(clippy::type_complexity)]
    fn due(
        &self,
        view: &PlanView,
        closed: Date,
        today: Date,
        rules: &Retention,
    ) -> BackendResult<Option<(PlanDue, (Vec<AccessRecord>, Vec<Op>))>> {
        let plan_id = view.plan_id.as_str();
        let now = self.now_ms();
        let mut applied: BTreeMap<String, RetentionApplied> = BTreeMap::new();
        let mut gone = Vec::new();
        let mut kept = 0;
        for f in &view.fragments {
            let own = f.fragment.home_organization == self.organization;
            let (holding, authority, days) = if own {
                let a = f.fragment.home_authority.clone();
                match rules.days(&a) {
                    Some(d) => (Holding::OwnRecord, a, d),
                    None => {
                        kept += 1; // no rule: the authority keeps its record
                        continue;
                    }
                }
            } else {
                (Holding::ReceivedCopy, String::new(), 0)
            };
            if !delete_due(holding, Some(closed), days, today) {
                kept += 1;
                continue;
            }
            let rule = applied
                .entry(authority.clone())
                .or_insert_with(|| RetentionApplied {
                    authority,
                    days,
                    fragments: 0,
                    deleted_on: today.to_string(),
                });
            rule.fragments += 1;
            gone.push(f);
        }
        let complete = kept == 0;
        if gone.is_empty() && !complete {
            return Ok(None);
        }
        let mut tomb = self.tombstone(plan_id)?.unwrap_or_else(|| Tombstone {
            plan_id: plan_id.to_string(),
            organization: self.organization.clone(),
            closed_on: closed.to_string(),
            ..Default::default()
        });
        tomb.deleted_at_unix_ms = now;
        tomb.complete = complete;
        if complete && applied.is_empty() {
            // Only what came from others was left (consents, revocations, the plan record).
            applied.insert(
                String::new(),
                RetentionApplied {
                    deleted_on: today.to_string(),
                    ..Default::default()
                },
            );
        }
        tomb.rules.extend(applied.values().cloned());
        let env = self.sign(PayloadKind::Tombstone, tomb.encode_to_vec());
        let record = |fragment_id: &str| AccessRecord {
            at_unix_ms: now,
            organization: self.organization.clone(),
            user_id: "retention".into(),
            role: "node".into(),
            system: "retention".into(),
            plan_id: plan_id.to_string(),
            fragment_id: fragment_id.to_string(),
            action: AccessAction::Purge as i32,
            decision: Decision::Permit as i32,
            reason: "retention".into(),
            ..Default::default()
        };
        let mut records: Vec<AccessRecord> = gone
            .iter()
            .map(|f| AccessRecord {
                version: f.fragment.version,
                content_hash: f.content_hash.clone(),
                withheld_from_guardians: f.fragment.withheld_from_guardians,
                ..record(&f.fragment.fragment_id)
            })
            .collect();
        let mut ops = vec![Op::Put(keys::tombstone(plan_id), env.encode_to_vec())];
        for f in &gone {
            ops.push(Op::Delete(keys::fragment(plan_id, &f.fragment.fragment_id)));
            ops.extend(due_removal_ops(plan_id, &f.fragment));
            // The child index and the handover entry go with the header: no pseudonymous tag
            // of the child outlives the plan.
            ops.extend(self.header_index_ops(
                plan_id,
                &view.home_organization,
                Some(&f.fragment),
                None,
            ));
        }
        if complete {
            for prefix in keys::plan_prefixes(plan_id) {
                for (k, _) in self.scan_all(&prefix).map_err(internal)? {
                    ops.push(Op::Delete(k));
                }
            }
            let mut listed: BTreeSet<(String, String)> = units(view);
            listed.extend(view.own_units.iter().cloned());
            for (o, u) in listed {
                ops.push(Op::Delete(keys::unit_plan(&o, &u, plan_id)));
            }
            for key in [
                keys::plan(plan_id),
                keys::lease(plan_id),
                keys::wanted_lease(plan_id),
                keys::handover(plan_id),
                keys::creation(plan_id),
                keys::home_only(plan_id),
                keys::given(plan_id),
                keys::digest(plan_id),
            ] {
                ops.push(Op::Delete(key));
            }
            records.push(AccessRecord {
                content_hash: hex::encode(Sha256::digest(&env.payload)),
                ..record("plan")
            });
        } else {
            let ids = gone
                .iter()
                .map(|f| f.fragment.fragment_id.as_str())
                .collect();
            ops.extend(membership_ops(
                plan_id,
                view,
                &without_fragments(view, &ids),
            ));
        }
        let due = PlanDue {
            plan_id: plan_id.to_string(),
            closed_on: closed,
            fragments: gone.len(),
            complete,
            rules: applied.into_values().collect(),
        };
        Ok(Some((due, (records, ops))))
    }
}
