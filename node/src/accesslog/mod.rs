//! The node's access log on the store: a Merkle tree log (RFC 9162, from `kronobarn-tlog`) of
//! access records, a plan map committing to each plan's newest record, and one signed checkpoint
//! per atomic batch.
//!
//! # Why this shape
//! - **A write and its records land in one atomic batch**, and so do the tree's new nodes, the
//!   plans' new heads and the batch's signed checkpoint ([`AccessLog::append_with`]). One lock
//!   orders appends; it is held while the batch is hashed, signed and applied (not flushed).
//! - **Concurrent appends share a batch** (flat combining): an appender queues its records and
//!   ops, and whoever next holds the lock appends everything queued as one batch with one
//!   signature and one store apply, then hands each appender its entries. Sixteen writers
//!   logging at once sign once between them, not sixteen times in a row behind the lock.
//! - **One signature per batch**: the checkpoint `(origin, size, root, map root, time)` signed at
//!   the batch's end covers every record of it through the tree, so a read that logs one record
//!   per fragment signs once. [`verify::verify_store`] checks each batch against its signature,
//!   which is how `kronobarn log verify` names the first bad position.
//! - **Keys per write stay what the hash chain had**: one `log/{index}` per record (each entry
//!   also carries the tree nodes its append completes, see [`leaf`]) and one `loghead/{plan}` per
//!   plan the batch touches, in place of the old per-record plan index. A plan's records are
//!   found by following `plan_previous` links back from its head.
//! - **Start-up in time proportional to plans, not records**: the tree's frontier is read back
//!   from `popcount(size)` nodes, the plan map from the `loghead/` keys, and both are held
//!   against the last signed checkpoint before the node serves.
//! - **Checkpoints of a running node cost no reads**: the frontier and the map's root are in
//!   memory.
//!
//! A store holding a log of the earlier hash-chain format is refused at open with a message
//! saying so: no deployed data exists in that format, so there is no migration.

pub mod extract;
pub mod leaf;
pub mod signed;
pub mod stored;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ed25519_dalek::{SigningKey, VerifyingKey};
use kronobarn_proto::envelope::key_id;
use kronobarn_proto::v1::{AccessRecord, LogEntry, SignedEnvelope};
use kronobarn_tlog::{Appender, Checkpoint, Hash, MapProof, Origin, PlanHead, PlanMap, plan_key};
use prost::Message;

use crate::clock::Clock;
use crate::keys;
use crate::store::{Op, Store, StoreError};
pub use verify::{LogError, Problem, Verified, VerifyError, check_against, verify_store};

/// What `meta/log-format` holds for a log of this format.
pub const FORMAT: &[u8] = b"merkle/3";

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The log is damaged.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds a log of an earlier format.
    #[error(
        "the access log in this data directory was written by an earlier version of Kronobarn (a hash chain); this version keeps a Merkle tree log and cannot extend it. No deployed data exists in the old format: move the data directory aside and start afresh"
    )]
    OldFormat,
    /// The organisation id cannot name a log.
    #[error("organisation id {0:?} cannot name a log: {1}")]
    Origin(String, kronobarn_tlog::CheckpointError),
}

/// The in-memory state appends extend, behind one lock.
struct State {
    tree: Appender,
    map: PlanMap,
}

/// A checkpoint of the log taken at one instant, with what the map says of one plan then.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The checkpoint, signed.
    pub checkpoint: SignedEnvelope,
    /// What it says.
    pub body: Checkpoint,
    /// The plan asked for: its head then (`None` when it had no records) and the map proof.
    pub plan: Option<(String, Option<PlanHead>, MapProof)>,
}

/// The access log of one node.
pub struct AccessLog {
    store: Arc<dyn Store>,
    key: SigningKey,
    origin: Origin,
    clock: Clock,
    state: Mutex<State>,
    /// Appends waiting for the lock; the next holder appends them all as one batch.
    queue: Mutex<Vec<Arc<Pending>>>,
}

/// One appender's records (encoded, with their chain) and ops, and, once appended, its result.
struct Pending {
    records: Vec<(String, Vec<u8>)>,
    ops: Mutex<Vec<Op>>,
    done: Mutex<Option<Result<Appended, StoreError>>>,
}

/// What one append wrote.
#[derive(Debug, Clone, Default)]
pub struct Appended {
    /// The entries of the appender's records, in order.
    pub entries: Vec<LogEntry>,
    /// Whether this appender wrote the batch (and signed its checkpoint) for everyone queued, or
    /// another appender's batch carried its records.
    pub led: bool,
}

impl AccessLog {
    /// Opens the log: reads back the tree's frontier and the plan map and holds both against the
    /// last signed checkpoint, refusing a log whose end is not intact so a node never extends a
    /// damaged log.
    pub fn open(
        store: Arc<dyn Store>,
        key: SigningKey,
        organization: String,
        clock: Clock,
    ) -> Result<Self, OpenError> {
        let origin = Origin::new(organization.clone())
            .map_err(|e| OpenError::Origin(organization.clone(), e))?;
        let format = store.get(keys::LOG_FORMAT)?;
        let last = store.last(keys::LOG)?;
        let state = match last {
            None => State {
                tree: Appender::new(),
                map: PlanMap::new(),
            },
            Some(_) if format.as_deref() != Some(FORMAT) => return Err(OpenError::OldFormat),
            Some((k, v)) => Self::restore(store.as_ref(), &origin, &k, &v)?,
        };
        let vk = key.verifying_key();
        // Remember this key so batches it signs stay verifiable after the key is rotated.
        store.apply(vec![
            Op::Put(keys::signer(&key_id(&vk)), vk.as_bytes().to_vec()),
            Op::Put(keys::LOG_FORMAT.to_vec(), FORMAT.to_vec()),
        ])?;
        Ok(Self {
            store,
            key,
            origin,
            clock,
            state: Mutex::new(state),
            queue: Mutex::new(Vec::new()),
        })
    }

    fn restore(
        store: &dyn Store,
        origin: &Origin,
        last_key: &[u8],
        last: &[u8],
    ) -> Result<State, OpenError> {
        let index = keys::log_index(last_key).unwrap_or(0);
        let bad = |problem| LogError {
            position: index,
            problem,
        };
        let e = LogEntry::decode(last).map_err(|_| bad(Problem::Undecodable))?;
        if e.leaf_hash != leaf::of(&e) {
            return Err(bad(Problem::Changed).into());
        }
        // A batch's last entry carries its checkpoint; a log ending without one was cut.
        let env = e.checkpoint.as_ref().ok_or(bad(Problem::Unsigned))?;
        let signers = stored::signers(store)?;
        let body = signed::open(env, |id| signers.get(id).copied())
            .map_err(|x| bad(Problem::BadSignature(x.to_string())))?;
        if body.origin != *origin {
            return Err(bad(Problem::OtherLog(body.origin.to_string())).into());
        }
        if e.index != index || body.size != index + 1 {
            return Err(bad(Problem::CheckpointMisplaced { size: body.size }).into());
        }
        let tree = Appender::restore(body.size, &leaf::StoredTree(store)).map_err(|x| match x {
            kronobarn_tlog::TreeError::Source { error, .. } => OpenError::Store(error),
            _ => bad(Problem::Unsigned).into(),
        })?;
        let heads = store.scan(keys::LOG_HEADS, None, usize::MAX)?;
        let map: PlanMap = heads
            .into_iter()
            .filter_map(|(k, v)| Some((plan_key(keys::log_head_plan(&k)?.as_bytes()), v)))
            .collect();
        if tree.root() != body.root || map.root() != body.map_root {
            return Err(bad(Problem::BatchChanged {
                from: index,
                to: index,
            })
            .into());
        }
        Ok(State { tree, map })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Appends `records` together with `ops` in one atomic batch (applied, not yet flushed): the
    /// entries, the plans' new heads, and the batch's signed checkpoint on its last entry.
    pub fn append_with(
        &self,
        records: &[AccessRecord],
        ops: Vec<Op>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.append(records, ops).map(|a| a.entries)
    }

    /// As [`AccessLog::append_with`], saying whether this call wrote the batch. Appends that
    /// arrive while another is being written wait for the lock and are then written together,
    /// in the order they queued, as one batch with one checkpoint.
    pub fn append(&self, records: &[AccessRecord], ops: Vec<Op>) -> Result<Appended, StoreError> {
        if records.is_empty() {
            return self.store.apply(ops).map(|()| Appended::default());
        }
        let mine = Arc::new(Pending {
            records: records
                .iter()
                .map(|r| {
                    (
                        kronobarn_proto::ids::chain_of(r).into_owned(),
                        r.encode_to_vec(),
                    )
                })
                .collect(),
            ops: Mutex::new(ops),
            done: Mutex::new(None),
        });
        lock(&self.queue).push(mine.clone());
        let mut st = self.lock();
        if let Some(done) = lock(&mine.done).take() {
            // A batch written while this call waited for the lock carried its records.
            return done;
        }
        let batch = std::mem::take(&mut *lock(&self.queue));
        let result = self.append_batch(&mut st, &batch);
        // Results are handed out before the lock is let go: a waiter that gets the lock next
        // must find its result, since its records are no longer queued.
        let mut own = None;
        for (p, r) in batch.iter().zip(result) {
            if Arc::ptr_eq(p, &mine) {
                own = Some(r.map(|entries| Appended { entries, led: true }));
            } else {
                *lock(&p.done) = Some(r.map(|entries| Appended {
                    entries,
                    led: false,
                }));
            }
        }
        drop(st);
        own.expect("the batch holds this call's records: only a lock holder takes the queue")
    }

    /// Writes every queued append as one batch; one result per append.
    fn append_batch(
        &self,
        st: &mut State,
        batch: &[Arc<Pending>],
    ) -> Vec<Result<Vec<LogEntry>, StoreError>> {
        let saved = st.tree.clone();
        let start = st.tree.size();
        let mut heads: HashMap<&str, PlanHead> = HashMap::new();
        let total: usize = batch.iter().map(|p| p.records.len()).sum();
        let mut entries = Vec::with_capacity(total);
        let mut nodes = Vec::with_capacity(4);
        for (i, (plan, record)) in batch.iter().flat_map(|p| &p.records).enumerate() {
            let index = start + i as u64;
            // Records about fragments withheld from the guardians form the plan's withheld chain.
            let plan = plan.as_str();
            let head = if plan.is_empty() {
                None
            } else {
                Some(heads.get(plan).copied().or_else(|| current(&st.map, plan)))
            };
            let plan_previous = head.flatten().map_or(0, |h| h.latest_index + 1);
            let leaf = leaf::hash(plan_previous, record);
            nodes.clear();
            st.tree.push(leaf, &mut nodes);
            if let Some(h) = head {
                heads.insert(
                    plan,
                    PlanHead {
                        latest_index: index,
                        latest_leaf: leaf,
                        records: h.map_or(0, |h| h.records) + 1,
                    },
                );
            }
            entries.push(LogEntry {
                index,
                record: record.clone(),
                plan_previous,
                leaf_hash: leaf.to_vec(),
                subtree_hashes: nodes[1..].iter().map(|n| n.hash.to_vec()).collect(),
                checkpoint: None,
            });
        }
        let replaced: Vec<(Hash, Option<Vec<u8>>)> = heads
            .keys()
            .map(|p| {
                let k = plan_key(p.as_bytes());
                (k, st.map.get(&k).map(<[u8]>::to_vec))
            })
            .collect();
        st.map.extend(
            heads
                .iter()
                .map(|(p, h)| (plan_key(p.as_bytes()), h.encode())),
        );
        let body = self.body(st);
        let last = entries.last_mut().expect("every queued append has records");
        last.checkpoint = Some(signed::sign(&body, &self.key));
        let mut ops = Vec::with_capacity(entries.len() + heads.len());
        for p in batch {
            ops.append(&mut lock(&p.ops));
        }
        for e in &entries {
            ops.push(Op::Put(keys::log(e.index), e.encode_to_vec()));
        }
        for (p, h) in &heads {
            ops.push(Op::Put(keys::log_head(p), h.encode()));
        }
        if let Err(e) = self.store.apply(ops) {
            // Nothing was written: take the batch back out of memory too.
            st.tree = saved;
            if replaced.iter().all(|(_, old)| old.is_some()) {
                st.map.extend(
                    replaced
                        .into_iter()
                        .map(|(k, v)| (k, v.unwrap_or_default())),
                );
            } else if let Ok(heads) = self.store.scan(keys::LOG_HEADS, None, usize::MAX) {
                st.map = heads
                    .into_iter()
                    .filter_map(|(k, v)| Some((plan_key(keys::log_head_plan(&k)?.as_bytes()), v)))
                    .collect();
            }
            return batch.iter().map(|_| Err(e.clone())).collect();
        }
        let mut entries = entries.into_iter();
        batch
            .iter()
            .map(|p| Ok(entries.by_ref().take(p.records.len()).collect()))
            .collect()
    }

    fn body(&self, st: &State) -> Checkpoint {
        Checkpoint {
            origin: self.origin.clone(),
            size: st.tree.size(),
            root: st.tree.root(),
            map_root: st.map.root(),
            at_unix_ms: self.clock.now_ms(),
        }
    }

    /// Number of records in the log.
    pub fn size(&self) -> u64 {
        self.lock().tree.size()
    }

    /// A signed checkpoint of the log as it is now (applied batches, flushed or not).
    pub fn checkpoint(&self) -> SignedEnvelope {
        self.snapshot(None).checkpoint
    }

    /// A signed checkpoint of the log now and, for `plan_id`, its head and map proof at that
    /// same instant (so an extract can be made for exactly that checkpoint later).
    pub fn snapshot(&self, plan_id: Option<&str>) -> Snapshot {
        let (body, plan) = {
            let st = self.lock();
            let plan = plan_id.map(|p| {
                let k = plan_key(p.as_bytes());
                (p.to_string(), current(&st.map, p), st.map.prove(&k))
            });
            (self.body(&st), plan)
        };
        Snapshot {
            checkpoint: signed::sign(&body, &self.key),
            body,
            plan,
        }
    }

    /// The plan's head now: its newest record and how many it has.
    pub fn plan_head(&self, plan_id: &str) -> Option<PlanHead> {
        current(&self.lock().map, plan_id)
    }

    /// The public key checkpoints are signed with.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The organisation whose log this is.
    pub fn origin(&self) -> &str {
        self.origin.as_str()
    }

    /// The store the log is kept in (for proofs over [`leaf::StoredTree`]).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The records about `plan_id` with index greater than `after`, oldest first, at most
    /// `limit`; and whether more follow. Walks the plan's links back from its head, so a page
    /// costs one read per record of the plan after `after`.
    pub fn by_plan(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, bool), StoreError> {
        let Some(head) = self.plan_head(plan_id) else {
            return Ok((Vec::new(), false));
        };
        let mut newest_first = std::collections::VecDeque::new();
        let mut more = false;
        for e in plan_chain(self.store(), &head) {
            let e = e?;
            if after.is_some_and(|a| e.index <= a) {
                break;
            }
            newest_first.push_front(public(e));
            if newest_first.len() > limit {
                newest_first.pop_back();
                more = true;
            }
        }
        Ok((newest_first.into(), more))
    }
}

/// The head the map holds for `plan_id`.
fn current(map: &PlanMap, plan_id: &str) -> Option<PlanHead> {
    PlanHead::decode(map.get(&plan_key(plan_id.as_bytes()))?)
}

/// An entry as shown outside the node: the record, its place and link, its leaf hash and, at a
/// batch's end, the signed checkpoint; not the stored tree nodes.
pub fn public(mut e: LogEntry) -> LogEntry {
    e.subtree_hashes.clear();
    e
}

/// The records of a plan, newest first, from its head back along the `plan_previous` links.
/// Stops with an error on a link that does not go back (a damaged store).
pub fn plan_chain<'a>(
    store: &'a dyn Store,
    head: &PlanHead,
) -> impl Iterator<Item = Result<LogEntry, StoreError>> + 'a {
    let mut next = Some(head.latest_index);
    std::iter::from_fn(move || {
        let index = next.take()?;
        let e = match leaf::read_entry(store, index) {
            Ok(e) => e,
            Err(x) => return Some(Err(x)),
        };
        match e.plan_previous {
            0 => {}
            p if p - 1 < index => next = Some(p - 1),
            _ => {
                return Some(Err(StoreError::Engine(format!(
                    "access log entry {index} links forward: run log verify"
                ))));
            }
        }
        Some(Ok(e))
    })
}

#[cfg(test)]
mod tests;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
