//! One organisation's node: plans, fragments, consents and revocations on the store, every write
//! signed, recorded in the access log in the same atomic batch, and durable before it is
//! acknowledged. Implements the gateway's [`Backend`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use kronobarn_gateway::{
    AccessLogPage, Actor, Backend, BackendError, BackendResult, PlanEvent, PlanView, StoredFragment,
};
use kronobarn_proto::envelope;
use kronobarn_proto::ids::{HEADER_FRAGMENT_ID, STATUS_FRAGMENT_ID};
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Contact, Decision, Fragment, Participant, PayloadKind,
    PlanHeader, PlanSummary, Revocation, SignedEnvelope, Version, fragment::Body,
};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::accesslog::{AccessLog, VerifyError};
use crate::clock::Hlc;
use crate::commit::GroupCommit;
use crate::keys;
use crate::store::{Op, Store, StoreError};

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

/// Number of lock stripes serialising writes per plan.
const STRIPES: usize = 64;

/// A node of one organisation.
pub struct Node {
    organization: String,
    pub(crate) store: Arc<dyn Store>,
    commit: GroupCommit,
    pub(crate) log: AccessLog,
    key: SigningKey,
    pub(crate) clock: Mutex<Hlc>,
    stripes: Vec<Mutex<()>>,
    watchers: Mutex<HashMap<String, broadcast::Sender<PlanEvent>>>,
    roster: std::sync::OnceLock<Arc<crate::roster::Roster>>,
    lease_ttl_ms: std::sync::atomic::AtomicI64,
    outbox_notify: tokio::sync::Notify,
    lease_notify: tokio::sync::Notify,
    changes: tokio::sync::watch::Sender<u64>,
    display_name: std::sync::OnceLock<String>,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The access log is damaged.
    #[error(transparent)]
    Log(#[from] VerifyError),
}

pub(crate) fn internal(e: impl std::fmt::Display) -> BackendError {
    BackendError::Internal(e.to_string())
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn decode_env<M: Message + Default>(bytes: &[u8]) -> BackendResult<(M, SignedEnvelope)> {
    let env = SignedEnvelope::decode(bytes).map_err(internal)?;
    let m = M::decode(env.payload.as_slice()).map_err(internal)?;
    Ok((m, env))
}

impl Node {
    /// Opens the node's store. Nothing needs repair by hand after a crash: sled recovers its
    /// own files, and the log's head is found again from its last entry.
    pub fn open(
        organization: String,
        store: Arc<dyn Store>,
        key: SigningKey,
    ) -> Result<Self, OpenError> {
        let log = AccessLog::open(store.clone(), key.clone(), organization.clone())?;
        let last = match store.get(keys::HLC)? {
            Some(b) => Version::decode(b.as_slice()).map_or((0, 0), |v| v.key()),
            None => (0, 0),
        };
        Ok(Self {
            organization,
            commit: GroupCommit::new(store.clone()),
            store,
            log,
            key,
            clock: Mutex::new(Hlc::resume(last)),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            watchers: Mutex::new(HashMap::new()),
            roster: std::sync::OnceLock::new(),
            lease_ttl_ms: std::sync::atomic::AtomicI64::new(300_000),
            outbox_notify: tokio::sync::Notify::new(),
            lease_notify: tokio::sync::Notify::new(),
            changes: tokio::sync::watch::Sender::new(0),
            display_name: std::sync::OnceLock::new(),
        })
    }

    /// Turns on federation: from now on every write also fills the outboxes of the roster
    /// members the consent lets receive it.
    pub fn enable_federation(
        &self,
        roster: Arc<crate::roster::Roster>,
        lease_ttl: std::time::Duration,
    ) {
        let _ = self.roster.set(roster);
        self.lease_ttl_ms.store(
            lease_ttl.as_millis() as i64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The organisation's display name from the config, for documents when no roster names it.
    pub fn set_display_name(&self, name: &str) {
        if !name.is_empty() {
            let _ = self.display_name.set(name.to_string());
        }
    }

    /// How long the leases this node grants last.
    pub fn lease_ttl_ms(&self) -> i64 {
        self.lease_ttl_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Woken when a new consent arrives, so its lease is fetched at once.
    pub fn lease_notify(&self) -> &tokio::sync::Notify {
        &self.lease_notify
    }

    /// A raw prefix scan of the store (for the federation modules).
    pub(crate) fn scan(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<crate::store::Pair>, crate::store::StoreError> {
        self.store.scan(prefix, None, usize::MAX)
    }

    /// A raw prefix scan after a key, at most `limit` pairs (for the federation modules).
    pub(crate) fn scan_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<crate::store::Pair>, crate::store::StoreError> {
        self.store.scan(prefix, after, limit)
    }

    /// A raw atomic write, not flushed (for soft state such as leases).
    pub(crate) fn apply(&self, ops: Vec<Op>) -> Result<(), crate::store::StoreError> {
        self.store.apply(ops)
    }

    /// A raw read of the store (for the federation modules).
    pub(crate) fn store_get(
        &self,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        self.store.get(key)
    }

    /// This node's organisation id.
    pub fn organization_id(&self) -> &str {
        &self.organization
    }

    /// The roster, when federation is on.
    pub fn roster(&self) -> Option<&Arc<crate::roster::Roster>> {
        self.roster.get()
    }

    /// Woken whenever new deliveries are durable in an outbox.
    pub fn outbox_notify(&self) -> &tokio::sync::Notify {
        &self.outbox_notify
    }

    /// Signs `payload` as `kind` with the node's key.
    pub fn sign(&self, kind: PayloadKind, payload: Vec<u8>) -> SignedEnvelope {
        envelope::seal(kind, payload, &self.key)
    }

    /// The access log.
    pub fn access_log_handle(&self) -> &AccessLog {
        &self.log
    }

    /// Returns once everything applied so far is durable.
    pub async fn durable(&self) -> BackendResult<()> {
        self.commit.durable().await.map_err(internal)
    }

    pub(crate) fn stripe(&self, plan_id: &str) -> std::sync::MutexGuard<'_, ()> {
        let i = plan_id
            .bytes()
            .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize))
            % STRIPES;
        self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tick(&self) -> (Version, Op) {
        let mut c = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        let v = c.tick(now_ms().max(0) as u64);
        (v, Op::Put(keys::HLC.to_vec(), v.encode_to_vec()))
    }

    fn seal<M: Message>(&self, kind: PayloadKind, m: &M) -> (SignedEnvelope, String) {
        let env = envelope::seal(kind, m.encode_to_vec(), &self.key);
        let hash = hex::encode(Sha256::digest(&env.payload));
        (env, hash)
    }

    pub(crate) fn publish(&self, plan_id: &str, event: PlanEvent) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = w.get(plan_id)
            && tx.send(event).is_err()
        {
            w.remove(plan_id);
        }
    }

    pub(crate) fn plan_record(&self, plan_id: &str) -> BackendResult<PlanRecord> {
        let bytes = self.store.get(&keys::plan(plan_id)).map_err(internal)?;
        let bytes = bytes.ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
        PlanRecord::decode(bytes.as_slice()).map_err(internal)
    }

    /// The access record of a write by `actor`, permitted for `reason`.
    fn write_record(
        &self,
        actor: &Actor,
        plan_id: &str,
        fragment_id: &str,
        reason: &str,
    ) -> AccessRecord {
        AccessRecord {
            at_unix_ms: now_ms(),
            organization: actor.organization.clone(),
            user_id: actor.user_id.clone(),
            role: actor.role.clone(),
            unit: actor.unit.clone(),
            purpose: actor.purpose.clone(),
            system: actor.system.clone(),
            plan_id: plan_id.to_string(),
            fragment_id: fragment_id.to_string(),
            action: AccessAction::Write as i32,
            decision: Decision::Permit as i32,
            reason: reason.to_string(),
            ..Default::default()
        }
    }

    /// Units (organisation, unit) taking part, from the header and participant fragments.
    pub(crate) fn units(view: &PlanView) -> BTreeSet<(String, String)> {
        view.policy_state()
            .participants
            .into_iter()
            .map(|u| (u.organization, u.unit))
            .collect()
    }

    /// Ops that move the listing index from `before` to `after`.
    pub(crate) fn index_ops(
        plan_id: &str,
        before: &BTreeSet<(String, String)>,
        after: &BTreeSet<(String, String)>,
    ) -> Vec<Op> {
        let mut ops: Vec<Op> = before
            .difference(after)
            .map(|(o, u)| Op::Delete(keys::unit_plan(o, u, plan_id)))
            .collect();
        ops.extend(
            after
                .difference(before)
                .map(|(o, u)| Op::Put(keys::unit_plan(o, u, plan_id), Vec::new())),
        );
        ops
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
        let prefix = keys::purges(plan_id);
        for (k, v) in self
            .store
            .scan(&prefix, None, usize::MAX)
            .map_err(internal)?
        {
            let rest = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let Some((rev, who)) = rest.split_once('/') else {
                continue;
            };
            if who != org || !in_force.contains(rev) {
                continue;
            }
            let st = PurgeState::decode(v.as_slice()).map_err(internal)?;
            if st.confirmed_at_unix_ms == 0 {
                return Ok(Some(rev.to_string()));
            }
        }
        Ok(None)
    }

    /// Ops that move the follow-up index from the dates `old` set to those `new` sets.
    pub(crate) fn due_ops(plan_id: &str, old: Option<&Fragment>, new: &Fragment) -> Vec<Op> {
        let before = old.map_or_else(Vec::new, |f| {
            kronobarn_proto::follow_up_dates(f.body.as_ref())
        });
        let after = kronobarn_proto::follow_up_dates(new.body.as_ref());
        let mut ops: Vec<Op> = before
            .iter()
            .filter(|d| !after.contains(d))
            .map(|d| Op::Delete(keys::due(d, plan_id, &new.fragment_id)))
            .collect();
        ops.extend(
            after
                .iter()
                .map(|d| Op::Put(keys::due(d, plan_id, &new.fragment_id), Vec::new())),
        );
        ops
    }

    /// Loads a plan: every fragment when `all`, else only the header, status and participant
    /// fragments.
    fn load(&self, plan_id: &str, all: bool) -> BackendResult<Option<PlanView>> {
        let Some(bytes) = self.store.get(&keys::plan(plan_id)).map_err(internal)? else {
            return Ok(None);
        };
        let record = PlanRecord::decode(bytes.as_slice()).map_err(internal)?;
        let mut fragments = Vec::new();
        if all {
            for (_, v) in self
                .store
                .scan(&keys::fragments(plan_id), None, usize::MAX)
                .map_err(internal)?
            {
                let (fragment, env): (Fragment, _) = decode_env(&v)?;
                fragments.push(StoredFragment {
                    fragment,
                    content_hash: hex::encode(Sha256::digest(&env.payload)),
                });
            }
        } else {
            let members = self
                .store
                .scan(&keys::members(plan_id), None, usize::MAX)
                .map_err(internal)?;
            let prefix = keys::members(plan_id).len();
            let ids = [HEADER_FRAGMENT_ID, STATUS_FRAGMENT_ID]
                .map(String::from)
                .into_iter()
                .chain(
                    members
                        .into_iter()
                        .map(|(k, _)| String::from_utf8_lossy(&k[prefix..]).into_owned()),
                );
            for id in ids {
                fragments.extend(self.stored_fragment(plan_id, &id)?);
            }
        }
        let header = fragments.iter().find_map(|f| match &f.fragment.body {
            Some(Body::Header(h)) => Some(h.clone()),
            _ => None,
        });
        let consent = match self
            .store
            .last(&keys::consents(plan_id))
            .map_err(internal)?
        {
            Some((_, v)) => Some(decode_env::<Consent>(&v)?.0),
            None => None,
        };
        let mut revocations = Vec::new();
        for (_, v) in self
            .store
            .scan(&keys::revocations(plan_id), None, usize::MAX)
            .map_err(internal)?
        {
            revocations.push(decode_env::<Revocation>(&v)?.0);
        }
        let prefix = keys::own_units(plan_id);
        let own_units = self
            .store
            .scan(&prefix, None, usize::MAX)
            .map_err(internal)?
            .into_iter()
            .map(|(k, _)| {
                (
                    self.organization.clone(),
                    String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
                )
            })
            .collect();
        let lease = match self.store.get(&keys::lease(plan_id)).map_err(internal)? {
            Some(v) => Some(decode_env::<kronobarn_proto::v1::Lease>(&v)?.0),
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
        }))
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
        let Some(v) = self
            .store
            .get(&keys::fragment(plan_id, fragment_id))
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let (fragment, env): (Fragment, _) = decode_env(&v)?;
        Ok(Some(StoredFragment {
            fragment,
            content_hash: hex::encode(Sha256::digest(&env.payload)),
        }))
    }

    /// Writes a fragment under the plan's stripe lock; the caller awaits durability.
    fn put_fragment_locked(
        &self,
        actor: &Actor,
        mut fragment: Fragment,
        expected: Option<Version>,
        record: &mut PlanRecord,
    ) -> BackendResult<StoredFragment> {
        let plan_id = fragment.plan_id.clone();
        let is_header = matches!(fragment.body, Some(Body::Header(_)));
        // Only the header and participant fragments change who takes part; only for those is the
        // whole plan loaded, so ordinary writes cost the same however large the plan grows.
        let membership = is_header || matches!(fragment.body, Some(Body::Participant(_)));
        let before = if membership {
            // A plan being created has no stored record yet: it starts empty.
            Some(self.load_plan(&plan_id)?.unwrap_or_else(|| PlanView {
                plan_id: plan_id.clone(),
                home_organization: record.home_organization.clone(),
                header: None,
                fragments: Vec::new(),
                consent: None,
                revocations: Vec::new(),
                lease: None,
                own_units: Vec::new(),
            }))
        } else {
            None
        };
        if is_header && fragment.fragment_id.is_empty() {
            fragment.fragment_id = HEADER_FRAGMENT_ID.to_string();
        }
        if membership && record.home_organization != self.organization {
            return Err(BackendError::PermissionDenied(format!(
                "not-home: the header and the participant list are written by the plan's responsible organisation, {}",
                record.home_organization
            )));
        }
        let existing = self.stored_fragment(&plan_id, &fragment.fragment_id)?;
        let existing = existing.as_ref();
        match (existing, expected) {
            // The header moves with the responsibility: after a handover the new home rewrites it.
            (Some(old), _)
                if old.fragment.home_organization != self.organization
                    && !(is_header && record.home_organization == self.organization) =>
            {
                return Err(BackendError::PermissionDenied(format!(
                    "not-home: fragment {} is homed at {}; only {} may write it",
                    old.fragment.fragment_id,
                    old.fragment.home_organization,
                    old.fragment.home_organization
                )));
            }
            (Some(old), Some(exp)) if old.fragment.version != Some(exp) => {
                return Err(BackendError::Stale(format!(
                    "expected_version: fragment {} is at version {}, not {}; read it again and reapply your change",
                    old.fragment.fragment_id,
                    old.fragment.version.unwrap_or_default(),
                    exp
                )));
            }
            (Some(old), None) => {
                return Err(BackendError::Stale(format!(
                    "expected_version: fragment {} exists (version {}); send the version you read to update it",
                    old.fragment.fragment_id,
                    old.fragment.version.unwrap_or_default()
                )));
            }
            (None, Some(_)) if !fragment.fragment_id.is_empty() => {
                return Err(BackendError::NotFound(format!(
                    "fragment {} of plan {plan_id}",
                    fragment.fragment_id
                )));
            }
            (None, Some(_)) => {
                return Err(BackendError::Invalid(
                    kronobarn_proto::validate::FieldError::new(
                        "expected_version",
                        "must be absent when creating a fragment",
                    ),
                ));
            }
            _ => {}
        }
        if let Some(old) = existing {
            let kind = |b: &Option<Body>| b.as_ref().map(std::mem::discriminant);
            if kind(&old.fragment.body) != kind(&fragment.body) {
                return Err(BackendError::Invalid(
                    kronobarn_proto::validate::FieldError::new(
                        "fragment.body",
                        "a fragment keeps its kind; write a new fragment instead",
                    ),
                ));
            }
        }
        if fragment.fragment_id.is_empty() {
            fragment.fragment_id = random_id();
        }
        let category = kronobarn_proto::category_of(fragment.body.as_ref().expect("validated"))
            .ok_or_else(|| {
                BackendError::Invalid(kronobarn_proto::validate::FieldError::new(
                    "fragment.wheel_assessment.area",
                    "is not a wheel area",
                ))
            })?;
        let (version, clock_op) = self.tick();
        let now = now_ms();
        fragment.home_organization = self.organization.clone();
        fragment.version = Some(version);
        fragment.category = category as i32;
        fragment.written_at_unix_ms = now;
        fragment.written_by = actor.user_id.clone();
        let (env, hash) = self.seal(PayloadKind::Fragment, &fragment);
        let stored = StoredFragment {
            fragment: fragment.clone(),
            content_hash: hash.clone(),
        };

        record.updated_at_unix_ms = now;
        let mut ops = Vec::new();
        if let Some(before) = before {
            let mut after = before.clone();
            after
                .fragments
                .retain(|f| f.fragment.fragment_id != fragment.fragment_id);
            after.fragments.push(stored.clone());
            if let Some(Body::Header(h)) = &fragment.body {
                after.header = Some(h.clone());
            }
            ops = Self::index_ops(&plan_id, &Self::units(&before), &Self::units(&after));
            if matches!(fragment.body, Some(Body::Participant(_))) {
                ops.push(Op::Put(
                    keys::member(&plan_id, &fragment.fragment_id),
                    Vec::new(),
                ));
            }
        }
        ops.push(Op::Put(
            keys::fragment(&plan_id, &fragment.fragment_id),
            env.encode_to_vec(),
        ));
        ops.extend(Self::due_ops(
            &plan_id,
            existing.map(|f| &f.fragment),
            &fragment,
        ));
        ops.push(Op::Put(keys::plan(&plan_id), record.encode_to_vec()));
        ops.push(Op::Put(keys::own_unit(&plan_id, &actor.unit), Vec::new()));
        ops.push(Op::Put(
            keys::unit_plan(&self.organization, &actor.unit, &plan_id),
            Vec::new(),
        ));
        ops.push(clock_op);
        ops.push(Op::Put(
            keys::feed(version.key()),
            keys::fragment(&plan_id, &fragment.fragment_id),
        ));
        if self.roster().is_some() {
            // The plan record of a plan being created is not stored yet: no consent, no recipients.
            if let Some(facts) = self.load_plan_facts(&plan_id)? {
                let to = self.fragment_recipients(&facts.policy_state(), &fragment);
                ops.extend(self.outbox_ops(
                    &env,
                    crate::federation::outbox::NORMAL,
                    to,
                    version,
                    &mut 0,
                ));
            }
        }
        let rec = AccessRecord {
            version: Some(version),
            content_hash: hash,
            ..self.write_record(actor, &plan_id, &fragment.fragment_id, "own-fragment")
        };
        self.log.append_with(&[rec], ops).map_err(internal)?;
        Ok(stored)
    }
}

impl Backend for Node {
    fn organization(&self) -> &str {
        &self.organization
    }

    fn now_ms(&self) -> i64 {
        now_ms()
    }

    fn load_plan(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, true)
    }

    fn load_plan_facts(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, false)
    }

    fn list_plans(
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
            .store
            .scan(&prefix, after_key.as_deref(), limit)
            .map_err(internal)?
        {
            let plan_id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let rec = self.plan_record(&plan_id)?;
            out.push(PlanSummary {
                plan_id,
                home_organization: rec.home_organization,
                updated_at_unix_ms: rec.updated_at_unix_ms,
            });
        }
        Ok(out)
    }

    async fn create_plan(
        &self,
        actor: &Actor,
        header: PlanHeader,
        unit_contact: Option<Contact>,
    ) -> BackendResult<PlanView> {
        let plan_id = random_id();
        {
            let _g = self.stripe(&plan_id);
            let now = now_ms();
            let mut record = PlanRecord {
                home_organization: self.organization.clone(),
                created_at_unix_ms: now,
                updated_at_unix_ms: now,
            };
            // The plan record lands in the same atomic batch as the header.
            let head = Fragment {
                plan_id: plan_id.clone(),
                fragment_id: HEADER_FRAGMENT_ID.into(),
                body: Some(Body::Header(header)),
                ..Default::default()
            };
            self.put_fragment_locked(actor, head, None, &mut record)?;
            let me = Fragment {
                plan_id: plan_id.clone(),
                body: Some(Body::Participant(Participant {
                    organization: self.organization.clone(),
                    unit: actor.unit.clone(),
                    contact: unit_contact,
                })),
                ..Default::default()
            };
            self.put_fragment_locked(actor, me, None, &mut record)?;
        }
        self.durable().await?;
        self.load_plan(&plan_id)?
            .ok_or_else(|| internal("plan vanished after creation"))
    }

    async fn put_fragment(
        &self,
        actor: &Actor,
        fragment: Fragment,
        expected: Option<Version>,
    ) -> BackendResult<StoredFragment> {
        let plan_id = fragment.plan_id.clone();
        let stored = {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            self.put_fragment_locked(actor, fragment, expected, &mut record)?
        };
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(
            &plan_id,
            PlanEvent::Fragment {
                fragment_id: stored.fragment.fragment_id.clone(),
            },
        );
        Ok(stored)
    }

    async fn record_consent(
        &self,
        actor: &Actor,
        mut consent: Consent,
        expected_previous_version: u64,
    ) -> BackendResult<Consent> {
        let plan_id = consent.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            if record.home_organization != self.organization {
                return Err(BackendError::PermissionDenied(format!(
                    "only the consent home, {}, records consent",
                    record.home_organization
                )));
            }
            if self
                .store
                .get(&keys::handover(&plan_id))
                .map_err(internal)?
                .is_some()
            {
                return Err(BackendError::Stale(
                    "a handover of this plan is open: consent is recorded by whoever is responsible once it is accepted"
                        .into(),
                ));
            }
            let current = match self
                .store
                .last(&keys::consents(&plan_id))
                .map_err(internal)?
            {
                Some((_, v)) => decode_env::<Consent>(&v)?.0.consent_version,
                None => 0,
            };
            if current != expected_previous_version {
                return Err(BackendError::Stale(format!(
                    "expected_previous_version: the current consent is version {current}, not {expected_previous_version}; read it again with GetConsentStatus"
                )));
            }
            let now = now_ms();
            consent.consent_version = current + 1;
            consent.consent_home = self.organization.clone();
            consent.recorded_by = actor.user_id.clone();
            consent.recorded_at_unix_ms = now;
            let (env, hash) = self.seal(PayloadKind::Consent, &consent);
            record.updated_at_unix_ms = now;
            let mut ops = vec![
                Op::Put(
                    keys::consent(&plan_id, consent.consent_version),
                    env.encode_to_vec(),
                ),
                Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
            ];
            let (version, clock_op) = self.tick();
            ops.push(clock_op);
            ops.push(Op::Put(
                keys::feed(version.key()),
                keys::consent(&plan_id, consent.consent_version),
            ));
            if self.roster().is_some() {
                let view = self
                    .load_plan_facts(&plan_id)?
                    .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
                ops.extend(self.consent_outbox_ops(&view, &consent, &env, version)?);
            }
            let rec = AccessRecord {
                content_hash: hash,
                consent_version: consent.consent_version,
                ..self.write_record(actor, &plan_id, "consent", "consent-home")
            };
            self.log.append_with(&[rec], ops).map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(&plan_id, PlanEvent::Consent(consent.clone()));
        Ok(consent)
    }

    async fn record_revocation(
        &self,
        actor: &Actor,
        mut revocation: Revocation,
    ) -> BackendResult<Revocation> {
        let plan_id = revocation.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            let now = now_ms();
            revocation.revocation_id = random_id();
            revocation.recorded_at_organization = self.organization.clone();
            revocation.recorded_by = actor.user_id.clone();
            revocation.recorded_at_unix_ms = now;
            let (env, hash) = self.seal(PayloadKind::Revocation, &revocation);
            record.updated_at_unix_ms = now;
            let mut ops = vec![
                Op::Put(
                    keys::revocation(&plan_id, &revocation.revocation_id),
                    env.encode_to_vec(),
                ),
                Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
            ];
            let (version, clock_op) = self.tick();
            ops.push(clock_op);
            ops.push(Op::Put(
                keys::feed(version.key()),
                keys::revocation(&plan_id, &revocation.revocation_id),
            ));
            if self.roster().is_some() {
                // Revocations only remove access: they go to everyone the plan names.
                if let Some(view) = self.load_plan_facts(&plan_id)? {
                    let to =
                        crate::federation::outbox::known_organizations(&view, &view.policy_state());
                    let pending = PurgeState {
                        recorded_at_unix_ms: now,
                        confirmed_at_unix_ms: 0,
                        answer: String::new(),
                    };
                    let roster = self.roster().cloned();
                    for o in to.iter().filter(|o| {
                        *o != &self.organization
                            && roster.as_ref().is_some_and(|r| r.member(o).is_some())
                    }) {
                        ops.push(Op::Put(
                            keys::purge(&plan_id, &revocation.revocation_id, o),
                            pending.encode_to_vec(),
                        ));
                    }
                    ops.extend(self.outbox_ops(
                        &env,
                        crate::federation::outbox::URGENT,
                        to,
                        version,
                        &mut 0,
                    ));
                }
            }
            let rec = AccessRecord {
                content_hash: hash,
                ..self.write_record(actor, &plan_id, "consent", "revocation")
            };
            self.log.append_with(&[rec], ops).map_err(internal)?;
            // Copies received from others that the consent no longer covers go now, here too.
            self.purge_locked(&plan_id)?;
        }
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(&plan_id, PlanEvent::Revocation(revocation.clone()));
        Ok(revocation)
    }

    async fn offer_handover(
        &self,
        actor: &Actor,
        offer: kronobarn_proto::v1::Handover,
    ) -> BackendResult<kronobarn_proto::v1::Handover> {
        self.offer_handover_impl(actor, offer).await
    }

    async fn accept_handover(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> BackendResult<kronobarn_proto::v1::Handover> {
        self.accept_handover_impl(actor, plan_id).await
    }

    fn pending_handover(
        &self,
        plan_id: &str,
    ) -> BackendResult<Option<kronobarn_proto::v1::Handover>> {
        self.pending_handover_impl(plan_id)
    }

    async fn log_access(&self, records: Vec<AccessRecord>) -> BackendResult<()> {
        self.log
            .append_with(&records, Vec::new())
            .map_err(internal)?;
        self.durable().await
    }

    fn access_log(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BackendResult<AccessLogPage> {
        let mut entries = self
            .log
            .by_plan(plan_id, after, limit + 1)
            .map_err(internal)?;
        let next_after = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.index)
        } else {
            None
        };
        Ok(AccessLogPage {
            entries,
            checkpoint: self.log.checkpoint(now_ms()),
            public_key: self.log.public_key().as_bytes().to_vec(),
            next_after,
        })
    }

    fn revocation_status(
        &self,
        plan_id: &str,
    ) -> BackendResult<Vec<kronobarn_proto::v1::RevocationStatus>> {
        let prefix = keys::purges(plan_id);
        let mut out: Vec<kronobarn_proto::v1::RevocationStatus> = Vec::new();
        for (k, v) in self
            .store
            .scan(&prefix, None, usize::MAX)
            .map_err(internal)?
        {
            let rest = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let Some((rev, org)) = rest.split_once('/') else {
                continue;
            };
            let st = PurgeState::decode(v.as_slice()).map_err(internal)?;
            if out.last().is_none_or(|s| s.revocation_id != rev) {
                out.push(kronobarn_proto::v1::RevocationStatus {
                    revocation_id: rev.to_string(),
                    purged_at: vec![self.organization.clone()],
                    recorded_at_unix_ms: st.recorded_at_unix_ms,
                    ..Default::default()
                });
            }
            let s = out.last_mut().expect("pushed above");
            if st.confirmed_at_unix_ms > 0 {
                s.purged_at.push(org.to_string());
                s.last_confirmed_at_unix_ms =
                    s.last_confirmed_at_unix_ms.max(st.confirmed_at_unix_ms);
            } else {
                s.pending.push(org.to_string());
            }
        }
        for s in &mut out {
            s.purged_at.sort();
        }
        Ok(out)
    }

    fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn organization_name(&self, organization: &str) -> Option<String> {
        self.roster()
            .and_then(|r| r.member(organization))
            .map(|m| m.entry.name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                (organization == self.organization)
                    .then(|| self.display_name.get().cloned())
                    .flatten()
            })
    }

    fn follow_ups_due(
        &self,
        from: &str,
        to: &str,
        limit: usize,
    ) -> BackendResult<Vec<(String, String, String)>> {
        let start = (!from.is_empty()).then(|| format!("due/{from}").into_bytes());
        let mut out = Vec::new();
        for (k, _) in self
            .store
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

    fn subscribe(&self, plan_id: &str) -> broadcast::Receiver<PlanEvent> {
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        w.entry(plan_id.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }
}
