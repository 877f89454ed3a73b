//! Reading plans back: the plan record, fragments, consent, revocations and lease as one view, the
//! unit listing, the follow-up index, the access log and how far revocations have reached.

use kronobarn_gateway::{
    AccessLogPage, BackendError, BackendResult, DueEntry, PlanView, StoredFragment,
};
use kronobarn_proto::ids::{HEADER_FRAGMENT_ID, STATUS_FRAGMENT_ID};
use kronobarn_proto::v1::{
    Consent, Fragment, Lease, PlanSummary, Revocation, RevocationStatus, SignedEnvelope,
    fragment::Body,
};
use prost::Message;
use sha2::{Digest, Sha256};

use super::{Node, decode_env, internal};
use crate::keys;

/// What the node keeps about a plan besides its fragments.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PlanRecord {
    /// The plan's responsible organisation and consent home.
    #[prost(string, tag = "1")]
    pub home_organization: String,
    /// When the plan was created here.
    #[prost(int64, tag = "2")]
    pub created_at_unix_ms: i64,
    /// When anything of the plan last changed here.
    #[prost(int64, tag = "3")]
    pub updated_at_unix_ms: i64,
}

/// A lease as this node holds it: the home's signed lease and when this node received it on its
/// own monotonic clock. Monotonic readings mean nothing after a restart, so a lease kept by an
/// earlier run of the node (another `boot`) counts as expired until it is renewed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeldLease {
    /// The signed lease, as the home sent it.
    #[prost(bytes = "vec", tag = "1")]
    pub envelope: Vec<u8>,
    /// Receipt on this node's monotonic clock, ms.
    #[prost(int64, tag = "2")]
    pub received_monotonic_ms: i64,
    /// The run of the node that received it.
    #[prost(uint64, tag = "3")]
    pub boot: u64,
}

/// Whether one organisation has confirmed a revocation recorded here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PurgeState {
    /// When the revocation was recorded.
    #[prost(int64, tag = "1")]
    pub recorded_at_unix_ms: i64,
    /// When the organisation confirmed it; 0 while pending.
    #[prost(int64, tag = "2")]
    pub confirmed_at_unix_ms: i64,
    /// The organisation's answer when it refused (e.g. it never held the plan); empty otherwise.
    #[prost(string, tag = "3")]
    pub answer: String,
}

fn stored(env_bytes: &[u8]) -> BackendResult<StoredFragment> {
    let (fragment, env): (Fragment, _) = decode_env(env_bytes)?;
    Ok(StoredFragment {
        fragment,
        content_hash: hex::encode(Sha256::digest(&env.payload)),
    })
}

impl Node {
    /// The plan record, or NOT_FOUND.
    pub(crate) fn plan_record(&self, plan_id: &str) -> BackendResult<PlanRecord> {
        self.plan_record_if_any(plan_id)?
            .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))
    }

    /// The plan record, if this node knows the plan.
    pub(crate) fn plan_record_if_any(&self, plan_id: &str) -> BackendResult<Option<PlanRecord>> {
        match self.store.get(&keys::plan(plan_id)).map_err(internal)? {
            Some(b) => Ok(Some(PlanRecord::decode(b.as_slice()).map_err(internal)?)),
            None => Ok(None),
        }
    }

    /// One stored fragment, if present.
    pub(crate) fn stored_fragment(
        &self,
        plan_id: &str,
        fragment_id: &str,
    ) -> BackendResult<Option<StoredFragment>> {
        if fragment_id.is_empty() {
            return Ok(None);
        }
        match self.fragment_envelope(plan_id, fragment_id)? {
            Some(v) => Ok(Some(stored(&v)?)),
            None => Ok(None),
        }
    }

    /// A stored fragment's signed bytes, exactly as signed (for forwarding).
    pub(crate) fn fragment_envelope(
        &self,
        plan_id: &str,
        fragment_id: &str,
    ) -> BackendResult<Option<Vec<u8>>> {
        self.store
            .get(&keys::fragment(plan_id, fragment_id))
            .map_err(internal)
    }

    /// The current consent, decoded, with its envelope.
    pub(crate) fn current_consent(
        &self,
        plan_id: &str,
    ) -> BackendResult<Option<(Consent, SignedEnvelope)>> {
        match self
            .store
            .last(&keys::consents(plan_id))
            .map_err(internal)?
        {
            Some((_, v)) => Ok(Some(decode_env::<Consent>(&v)?)),
            None => Ok(None),
        }
    }

    /// Loads a plan: every fragment when `all`, else only the header, status and participant
    /// fragments (enough to decide, and the same cost however large the plan grows).
    pub(crate) fn load(&self, plan_id: &str, all: bool) -> BackendResult<Option<PlanView>> {
        let Some(record) = self.plan_record_if_any(plan_id)? else {
            return Ok(None);
        };
        let mut fragments = Vec::new();
        if all {
            for (_, v) in self.scan_all(&keys::fragments(plan_id)).map_err(internal)? {
                fragments.push(stored(&v)?);
            }
        } else {
            let members = self.scan_all(&keys::members(plan_id)).map_err(internal)?;
            let ids = [HEADER_FRAGMENT_ID, STATUS_FRAGMENT_ID]
                .map(String::from)
                .into_iter()
                .chain(
                    members
                        .iter()
                        .filter_map(|(k, _)| keys::member_id(plan_id, k).map(str::to_string)),
                );
            for id in ids {
                fragments.extend(self.stored_fragment(plan_id, &id)?);
            }
        }
        let header = fragments.iter().find_map(|f| match &f.fragment.body {
            Some(Body::Header(h)) => Some(h.clone()),
            _ => None,
        });
        let consent = self.current_consent(plan_id)?.map(|(c, _)| c);
        let mut revocations = Vec::new();
        for (_, v) in self
            .scan_all(&keys::revocations(plan_id))
            .map_err(internal)?
        {
            revocations.push(decode_env::<Revocation>(&v)?.0);
        }
        let own_units = self
            .scan_all(&keys::own_units(plan_id))
            .map_err(internal)?
            .iter()
            .filter_map(|(k, _)| keys::own_unit_of(plan_id, k))
            .map(|u| (self.organization.clone(), u.to_string()))
            .collect();
        let lease = match self.store.get(&keys::lease(plan_id)).map_err(internal)? {
            Some(v) => Some(self.lease_in_force(&v)?),
            None => None,
        };
        Ok(Some(PlanView {
            plan_id: plan_id.to_string(),
            home_organization: record.home_organization,
            header,
            fragments,
            consent,
            revocations,
            lease,
            own_units,
            directory: self.directory(),
            consent_rules: self.consent_rules(),
        }))
    }

    /// What the lease task judges a plan by: the lease held for it as it binds now, and the
    /// version of the consent held. Reads those two values only (the task asks this of every
    /// plan it leases, on every wake-up, so loading whole plans made it grow with them).
    /// `(None, None)` for a plan not held.
    pub(crate) fn lease_and_consent(
        &self,
        plan_id: &str,
    ) -> BackendResult<(Option<Lease>, Option<u64>)> {
        if self.plan_record_if_any(plan_id)?.is_none() {
            return Ok((None, None));
        }
        let lease = match self.store.get(&keys::lease(plan_id)).map_err(internal)? {
            Some(v) => Some(self.lease_in_force(&v)?),
            None => None,
        };
        let consent = self
            .current_consent(plan_id)?
            .map(|(c, _)| c.consent_version);
        Ok((lease, consent))
    }

    /// The lease as it binds this node now: it expires at the earlier of the home's expiry and
    /// this node's own receipt plus the lease's lifetime, whatever either wall clock says.
    fn lease_in_force(&self, stored: &[u8]) -> BackendResult<Lease> {
        let held = HeldLease::decode(stored).map_err(internal)?;
        let (mut lease, _) = decode_env::<Lease>(&held.envelope)?;
        let left_ms = if held.boot == self.boot {
            held.received_monotonic_ms
                .saturating_add(lease.ttl_ms.max(0))
                .saturating_sub(self.clock.monotonic_ms())
        } else {
            0
        };
        lease.expires_at_unix_ms = lease
            .expires_at_unix_ms
            .min(self.now_ms().saturating_add(left_ms));
        Ok(lease)
    }

    /// Keeps a lease the consent home signed (the caller checked it).
    pub(crate) fn keep_lease(
        &self,
        plan_id: &str,
        env: &SignedEnvelope,
    ) -> Result<(), crate::store::StoreError> {
        let held = HeldLease {
            envelope: env.encode_to_vec(),
            received_monotonic_ms: self.clock.monotonic_ms(),
            boot: self.boot,
        };
        self.apply(vec![crate::store::Op::Put(
            keys::lease(plan_id),
            held.encode_to_vec(),
        )])
    }

    /// Plans that `organization`/`unit` takes part in, after `after`, with their records.
    pub(crate) fn plans_of_unit(
        &self,
        organization: &str,
        unit: &str,
        after: &str,
        limit: usize,
    ) -> BackendResult<Vec<PlanSummary>> {
        let prefix = keys::unit_plans(organization, unit);
        let after_key = (!after.is_empty()).then(|| keys::unit_plan(organization, unit, after));
        let mut out = Vec::new();
        for (k, _) in self
            .scan(&prefix, after_key.as_deref(), limit)
            .map_err(internal)?
        {
            let Some(plan_id) = keys::unit_plan_id(organization, unit, &k) else {
                continue;
            };
            let rec = self.plan_record(plan_id)?;
            out.push(PlanSummary {
                plan_id: plan_id.to_string(),
                home_organization: rec.home_organization,
                updated_at_unix_ms: rec.updated_at_unix_ms,
            });
        }
        Ok(out)
    }

    /// Entries of the follow-up index dated `from..=to`, after `after` when given.
    pub(crate) fn due_between(
        &self,
        from: &str,
        after: Option<&DueEntry>,
        to: &str,
        limit: usize,
    ) -> BackendResult<Vec<DueEntry>> {
        // Scan keys are exclusive: `due/{from}` sorts before every entry dated `from`.
        let mut start = (!from.is_empty()).then(|| keys::due_date(from));
        if let Some((d, p, f)) = after {
            let key = keys::due(d, p, f);
            if start.as_ref().is_none_or(|s| key > *s) {
                start = Some(key);
            }
        }
        let mut out = Vec::new();
        for (k, _) in self
            .scan(keys::DUE, start.as_deref(), limit)
            .map_err(internal)?
        {
            match keys::due_parts(&k) {
                Some(e) if e.0.as_str() <= to => out.push(e),
                Some(_) => break,
                None => {}
            }
        }
        Ok(out)
    }

    /// Access-log entries about a plan after `after`, with a fresh signed checkpoint.
    pub(crate) fn log_page(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BackendResult<AccessLogPage> {
        let (entries, more) = self.log.by_plan(plan_id, after, limit).map_err(internal)?;
        let next_after = if more {
            entries.last().map(|e| e.index)
        } else {
            None
        };
        Ok(AccessLogPage {
            entries,
            checkpoint: self.log.checkpoint(),
            public_key: self.log.public_key().as_bytes().to_vec(),
            next_after,
        })
    }

    /// Every `(revocation_id, organisation, state)` of the revocations recorded here for a plan.
    pub(crate) fn purge_states(
        &self,
        plan_id: &str,
    ) -> BackendResult<Vec<(String, String, PurgeState)>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_all(&keys::purges(plan_id)).map_err(internal)? {
            let Some((rev, org)) = keys::purge_parts(plan_id, &k) else {
                continue;
            };
            let st = PurgeState::decode(v.as_slice()).map_err(internal)?;
            out.push((rev.to_string(), org.to_string(), st));
        }
        Ok(out)
    }

    /// How far the revocations recorded here have reached ("purged at N of N").
    pub(crate) fn purge_progress(&self, plan_id: &str) -> BackendResult<Vec<RevocationStatus>> {
        let mut out: Vec<RevocationStatus> = Vec::new();
        for (rev, org, st) in self.purge_states(plan_id)? {
            if out.last().is_none_or(|s| s.revocation_id != rev) {
                out.push(RevocationStatus {
                    revocation_id: rev.clone(),
                    purged_at: vec![self.organization.clone()],
                    recorded_at_unix_ms: st.recorded_at_unix_ms,
                    ..Default::default()
                });
            }
            let s = out.last_mut().expect("pushed above");
            if st.confirmed_at_unix_ms > 0 {
                s.purged_at.push(org);
                s.last_confirmed_at_unix_ms =
                    s.last_confirmed_at_unix_ms.max(st.confirmed_at_unix_ms);
            } else {
                s.pending.push(org);
            }
        }
        for s in &mut out {
            s.purged_at.sort();
        }
        Ok(out)
    }

    /// A revocation in force at this node, recorded here, that `org` has not yet confirmed:
    /// the consent home renews no lease to an organisation that has yet to purge, so a node that
    /// can still ask for leases but never hears of the revocation stops showing within a lease.
    pub(crate) fn unconfirmed_revocation(
        &self,
        plan_id: &str,
        org: &str,
        in_force: &std::collections::HashSet<&str>,
    ) -> BackendResult<Option<String>> {
        Ok(self
            .purge_states(plan_id)?
            .into_iter()
            .find(|(rev, who, st)| {
                who == org && in_force.contains(rev.as_str()) && st.confirmed_at_unix_ms == 0
            })
            .map(|(rev, _, _)| rev))
    }
}
