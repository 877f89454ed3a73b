//! One organisation's node: plans, fragments, consents and revocations on the store, every write
//! signed, recorded in the access log in the same atomic batch, and durable before it is
//! acknowledged. Implements the gateway's [`Backend`](kronobarn_gateway::Backend).
//!
//! This module is the core that everything else goes through: the store, the access log and the
//! clock are private here, and the federation modules use the narrow methods below (read, scan,
//! write a batch with its access records, tick the clock, sign, lock a plan). Reads, writes, the
//! indexes, purges and local handovers live in the submodules.

mod backend;
mod child;
#[cfg(test)]
mod child_tests;
#[cfg(test)]
mod consent_tests;
mod evidence;
mod facts;
#[cfg(test)]
mod family_tests;
mod gallring;
#[cfg(test)]
mod gallring_tests;
mod handover;
#[cfg(test)]
mod handover_tests;
mod index;
mod protected;
mod purge;
mod read;
#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_bench;
#[cfg(test)]
mod watch_tests;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kronobarn_gateway::{BackendError, PlanEvent};
use kronobarn_proto::envelope;
use kronobarn_proto::v1::{AccessRecord, PayloadKind, SignedEnvelope, Version};
use prost::Message;
use tokio::sync::{Notify, broadcast};

use crate::accesslog::AccessLog;
use crate::clock::{Clock, Hlc};
use crate::commit::GroupCommit;
use crate::keys;
use crate::outbox::Outbox;
use crate::roster::Roster;
use crate::store::{Op, Pair, Store, StoreError};

pub use evidence::{CosignFuture, Cosigned, Cosigner};
pub use facts::{Counting, FAMILY_PURPOSES, HomeFacts, IndicatorError, swedish_day};
pub use gallring::{PlanDue, Retention};
pub use handover::{AcceptanceProblem, OFFER_TTL_MS, acceptance_problem};
pub(crate) use handover::{handover_plan, offer_of};
pub use index::{changes_membership, due_ops, fragment_kind, membership_ops, units, with_fragment};
pub use protected::leaks_protected_contacts;
pub(crate) use purge::Purge;
pub use read::{HeldLease, PlanRecord, PurgeState};

/// A peer's wake-up for its delivery task, and when it was last rung.
type Heard = (Arc<Notify>, Option<std::time::Instant>);

fn stripe_of(plan_id: &str) -> usize {
    plan_id
        .bytes()
        .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize))
        % STRIPES
}

/// Number of lock stripes serialising writes per plan.
const STRIPES: usize = 64;

/// Plan changes a slow follow-up watcher may fall behind by before it looks at everything again.
const PLAN_CHANGES: usize = 4096;

/// A node of one organisation.
pub struct Node {
    organization: String,
    store: Arc<dyn Store>,
    commit: GroupCommit,
    log: AccessLog,
    key: SigningKey,
    clock: Clock,
    /// This run of the node (random): monotonic clock readings of another run mean nothing.
    boot: u64,
    hlc: Mutex<Hlc>,
    stripes: Vec<Mutex<()>>,
    watchers: Mutex<HashMap<String, broadcast::Sender<PlanEvent>>>,
    federation: OnceLock<Federated>,
    outbox_notify: Notify,
    lease_notify: Notify,
    /// Per peer: woken when that peer calls this node, so a delivery waiting out its backoff
    /// tries again at once.
    heard_from: Mutex<HashMap<String, Heard>>,
    plan_changes: broadcast::Sender<String>,
    display_name: OnceLock<String>,
    cosigner: OnceLock<Arc<dyn Cosigner>>,
    max_clock_ahead_ms: std::sync::atomic::AtomicU64,
    rules: OnceLock<Rules>,
    work: Arc<crate::work::Work>,
    responsibility: OnceLock<Responsibility>,
    /// Tags children's identity numbers for the child index (from the signing key).
    tagger: crate::pseudonym::ChildTagger,
    /// Held while a header that names a child is checked against the child's other plans and
    /// written, so two plans for one child cannot both pass the check.
    child_lock: Mutex<()>,
}

/// Who may be Barnens bästa-ansvarig besides the model's rule, and the units' public contacts.
#[derive(Default)]
struct Responsibility {
    exceptions: kronobarn_policy::responsibility::Exceptions,
    contacts: std::collections::BTreeMap<(String, String), kronobarn_proto::v1::Contact>,
}

/// The county's directory of authorities and units and this node's consent rules, set once at
/// start from the roster and the config.
#[derive(Default)]
struct Rules {
    directory: Arc<kronobarn_policy::Directory>,
    consent: kronobarn_policy::ConsentRules,
}

/// How far ahead of this node's clock a received version may be, by default: clocks synchronised
/// by NTP differ by far less; a peer's clock a day ahead is wrong, and must not become ours.
pub const DEFAULT_MAX_CLOCK_AHEAD_MS: u64 = 10 * 60_000;

/// What a node knows once federation is on.
struct Federated {
    roster: Arc<Roster>,
    outbox: Outbox,
    lease_ttl_ms: i64,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The access log is damaged or of an earlier format.
    #[error(transparent)]
    Log(#[from] crate::accesslog::OpenError),
}

/// A storage failure as the gateway sees it (details go to the operator's log).
pub(crate) fn internal(e: impl std::fmt::Display) -> BackendError {
    BackendError::Internal(e.to_string())
}

/// A fresh random id for plans, fragments and revocations (never derived from personal data).
pub(crate) fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Decodes a stored signed envelope and the message inside it.
pub(crate) fn decode_env<M: Message + Default>(
    bytes: &[u8],
) -> Result<(M, SignedEnvelope), BackendError> {
    let env = SignedEnvelope::decode(bytes).map_err(internal)?;
    let m = M::decode(env.payload.as_slice()).map_err(internal)?;
    Ok((m, env))
}

impl Node {
    /// Opens the node's store on the machine's clock. Nothing needs repair by hand after a
    /// crash: sled recovers its own files, and the log's head is found again from its last entry.
    pub fn open(
        organization: String,
        store: Arc<dyn Store>,
        key: SigningKey,
    ) -> Result<Self, OpenError> {
        Self::open_with_clock(organization, store, key, Clock::system())
    }

    /// Opens the node's store on `clock` (a skewed or hand-moved clock in tests).
    pub fn open_with_clock(
        organization: String,
        store: Arc<dyn Store>,
        key: SigningKey,
        clock: Clock,
    ) -> Result<Self, OpenError> {
        let log = AccessLog::open(
            store.clone(),
            key.clone(),
            organization.clone(),
            clock.clone(),
        )?;
        let last = match store.get(keys::HLC)? {
            Some(b) => Version::decode(b.as_slice()).map_or((0, 0), |v| v.key()),
            None => (0, 0),
        };
        let work = Arc::new(crate::work::Work::default());
        Ok(Self {
            tagger: crate::pseudonym::ChildTagger::new(&key),
            child_lock: Mutex::new(()),
            responsibility: OnceLock::new(),
            organization,
            commit: GroupCommit::new(store.clone(), work.clone()),
            store,
            log,
            key,
            clock,
            boot: rand::random(),
            hlc: Mutex::new(Hlc::resume(last)),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            watchers: Mutex::new(HashMap::new()),
            federation: OnceLock::new(),
            outbox_notify: Notify::new(),
            lease_notify: Notify::new(),
            heard_from: Mutex::new(HashMap::new()),
            plan_changes: broadcast::channel(PLAN_CHANGES).0,
            display_name: OnceLock::new(),
            cosigner: OnceLock::new(),
            max_clock_ahead_ms: std::sync::atomic::AtomicU64::new(DEFAULT_MAX_CLOCK_AHEAD_MS),
            rules: OnceLock::new(),
            work,
        })
    }

    /// Turns on federation: from now on every write also fills the outboxes of the roster
    /// members the consent lets receive it.
    pub fn enable_federation(&self, roster: Arc<Roster>, lease_ttl: Duration) {
        let outbox = Outbox::new(self.organization.clone(), roster.clone());
        let _ = self.federation.set(Federated {
            roster,
            outbox,
            lease_ttl_ms: lease_ttl.as_millis() as i64,
        });
    }

    /// The organisation's display name from the config, for documents when no roster names it.
    pub fn set_display_name(&self, name: &str) {
        if !name.is_empty() {
            let _ = self.display_name.set(name.to_string());
        }
    }

    /// Sets the county's directory of authorities and units, and where the young person's own
    /// consent is required from 15. Once, at start; a node without one treats every unit as an
    /// authority of its own.
    pub fn set_rules(
        &self,
        directory: kronobarn_policy::Directory,
        consent: kronobarn_policy::ConsentRules,
    ) {
        let _ = self.rules.set(Rules {
            directory: Arc::new(directory),
            consent,
        });
    }

    /// Sets the operator's exceptions to who may be Barnens bästa-ansvarig and the units' public
    /// contacts. Once, at start.
    pub fn set_responsibility(
        &self,
        exceptions: kronobarn_policy::responsibility::Exceptions,
        contacts: impl IntoIterator<Item = ((String, String), kronobarn_proto::v1::Contact)>,
    ) {
        let _ = self.responsibility.set(Responsibility {
            exceptions,
            contacts: contacts.into_iter().collect(),
        });
    }

    /// The operator's exceptions to who may be Barnens bästa-ansvarig.
    pub fn exceptions(&self) -> kronobarn_policy::responsibility::Exceptions {
        self.responsibility
            .get()
            .map(|r| r.exceptions.clone())
            .unwrap_or_default()
    }

    /// A unit's public contact from the directory.
    pub fn unit_contact(
        &self,
        organization: &str,
        unit: &str,
    ) -> Option<kronobarn_proto::v1::Contact> {
        self.responsibility
            .get()?
            .contacts
            .get(&(organization.to_string(), unit.to_string()))
            .cloned()
    }

    /// The directory of authorities and units.
    pub fn directory(&self) -> Arc<kronobarn_policy::Directory> {
        self.rules
            .get()
            .map(|r| r.directory.clone())
            .unwrap_or_default()
    }

    /// This node's consent rules.
    pub fn consent_rules(&self) -> kronobarn_policy::ConsentRules {
        self.rules.get().map(|r| r.consent).unwrap_or_default()
    }

    /// The authority (by directory id) a unit of this organisation belongs to: as the directory
    /// lists it, or an authority of its own.
    pub fn authority_of_unit(&self, unit: &str) -> String {
        self.directory().authority_id(&self.organization, unit)
    }

    /// Sets how far ahead of this node's clock a received version may be.
    pub fn set_max_clock_ahead(&self, d: Duration) {
        self.max_clock_ahead_ms
            .store(d.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// How far ahead of this node's clock a received version may be, in ms.
    pub fn max_clock_ahead_ms(&self) -> u64 {
        self.max_clock_ahead_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// This node's organisation id.
    pub fn organization_id(&self) -> &str {
        &self.organization
    }

    /// The roster, when federation is on.
    pub fn roster(&self) -> Option<&Arc<Roster>> {
        self.federation.get().map(|f| &f.roster)
    }

    /// The outbox, when federation is on.
    pub fn outbox(&self) -> Option<&Outbox> {
        self.federation.get().map(|f| &f.outbox)
    }

    /// How long the leases this node grants last.
    pub fn lease_ttl_ms(&self) -> i64 {
        self.federation.get().map_or(300_000, |f| f.lease_ttl_ms)
    }

    /// The node's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Wall time on the node's clock, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The work this node has done so far (signatures, log batches, flushes, pushes).
    pub fn work(&self) -> &crate::work::Work {
        &self.work
    }

    /// Signs `payload` as `kind` with the node's key.
    pub fn sign(&self, kind: PayloadKind, payload: Vec<u8>) -> SignedEnvelope {
        self.work.signed();
        envelope::seal(kind, payload, &self.key)
    }

    /// Cosigns, as a witness, the checkpoint text another node signed.
    pub(crate) fn cosign(&self, text: &[u8]) -> SignedEnvelope {
        crate::accesslog::signed::cosign(text, &self.key)
    }

    /// The access log.
    pub fn access_log_handle(&self) -> &AccessLog {
        &self.log
    }

    /// Woken whenever new deliveries are durable in an outbox.
    pub fn outbox_notify(&self) -> &Notify {
        &self.outbox_notify
    }

    /// Woken when `peer` calls this node (its push, pull, lease or witness call was
    /// authenticated): it is up again, so deliveries to it need not wait out their backoff.
    pub fn heard_from(&self, peer: &str) -> Arc<Notify> {
        self.heard_from
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(peer.to_string())
            .or_default()
            .0
            .clone()
    }

    /// `peer` called: wakes a delivery to it that waits out a backoff, at most once a second (a
    /// member calling steadily must not turn its own backoff into a tight retry loop).
    pub fn peer_called(&self, peer: &str) {
        let mut heard = self.heard_from.lock().unwrap_or_else(|p| p.into_inner());
        let (notify, last) = heard.entry(peer.to_string()).or_default();
        if last.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1)) {
            *last = Some(std::time::Instant::now());
            notify.notify_one();
        }
    }

    /// Woken when a new consent arrives, so its lease is fetched at once.
    pub fn lease_notify(&self) -> &Notify {
        &self.lease_notify
    }

    /// Returns once everything applied so far is durable.
    pub async fn durable(&self) -> Result<(), BackendError> {
        self.commit.durable().await.map_err(internal)
    }

    /// Pending deliveries to `peer`, most urgent first.
    pub fn outbox_batch(
        &self,
        peer: &str,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, SignedEnvelope)>, StoreError> {
        Outbox::batch(self.store.as_ref(), peer, limit)
    }

    /// Number of deliveries waiting for `peer`.
    pub fn outbox_depth(&self, peer: &str) -> usize {
        Outbox::depth(self.store.as_ref(), peer)
    }

    /// One value of the store.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key)
    }

    /// Up to `limit` pairs under `prefix` after `after`, in key order.
    pub(crate) fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        self.store.scan(prefix, after, limit)
    }

    /// The greatest pair under `prefix`.
    pub(crate) fn last(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.store.last(prefix)
    }

    /// Every pair under `prefix`.
    pub(crate) fn scan_all(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        self.store.scan(prefix, None, usize::MAX)
    }

    /// Applies `ops` with the access records that account for them, in one atomic batch (not
    /// yet flushed: await [`Node::durable`] before acknowledging).
    pub(crate) fn write(&self, records: &[AccessRecord], ops: Vec<Op>) -> Result<(), StoreError> {
        let appended = self.log.append(records, ops)?;
        self.work.logged(records.len(), appended.led);
        Ok(())
    }

    /// Applies soft state that needs no access record (leases, cursors, witnessed heads).
    pub(crate) fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.store.apply(ops)
    }

    /// Serialises writes to one plan (striped, so unrelated plans rarely wait on each other).
    pub(crate) fn stripe(&self, plan_id: &str) -> MutexGuard<'_, ()> {
        self.stripes[stripe_of(plan_id)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The stripes of all of `plan_ids`, taken in one order (by stripe) so that two callers
    /// taking several never wait on each other in a cycle. Every other caller takes one stripe
    /// (and perhaps the child lock after it), never two.
    pub(crate) fn stripes<'p>(
        &self,
        plan_ids: impl IntoIterator<Item = &'p str>,
    ) -> Vec<MutexGuard<'_, ()>> {
        let mut ids: Vec<usize> = plan_ids.into_iter().map(stripe_of).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|i| self.stripes[i].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }

    /// A new clock reading, and the op that stores it with the write it versions.
    pub(crate) fn tick(&self) -> (Version, Op) {
        let mut c = self.hlc.lock().unwrap_or_else(|p| p.into_inner());
        let v = c.tick(self.now_ms().max(0) as u64);
        (v, Op::Put(keys::HLC.to_vec(), v.encode_to_vec()))
    }

    /// Takes note of a version received from a peer, so later readings order after it.
    pub(crate) fn observe(&self, seen: &Version) {
        self.hlc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(seen);
    }

    /// Tells watchers of `plan_id` (and streams that watch every plan) about a change.
    pub(crate) fn publish(&self, plan_id: &str, event: PlanEvent) {
        // No receiver (no follow-up watcher open) is not an error.
        let _ = self.plan_changes.send(plan_id.to_string());
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = w.get(plan_id)
            && tx.send(event).is_err()
        {
            w.remove(plan_id);
        }
    }

    fn subscribe_plan(&self, plan_id: &str) -> broadcast::Receiver<PlanEvent> {
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        w.entry(plan_id.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }
}
