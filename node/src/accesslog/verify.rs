//! Checking a whole access log, entry by entry, naming the first bad position.
//!
//! The verifier rebuilds the log's Merkle tree and plan map from the records alone and holds
//! every stored hash and every signed checkpoint against them: a changed record no longer matches
//! its leaf hash; an entry removed, inserted or moved breaks the index or its plan's link; a
//! record whose hashes were recomputed to hide a change still no longer matches the checkpoint
//! signed at the end of its batch; a log cut inside a batch ends on entries no signature covers;
//! a log cut at a batch's end, or rewritten and regrown, no longer matches a checkpoint a witness
//! cosigned ([`check_against`]). It streams, so a log of any size is checked in memory
//! proportional to its number of plans.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ed25519_dalek::VerifyingKey;
use kronobarn_proto::v1::{AccessRecord, LogEntry};
use kronobarn_tlog::{
    Appender, Checkpoint, EMPTY_ROOT, Hash, MAP_EMPTY, PlanHead, PlanMap, plan_key,
};
use prost::Message;

use super::{leaf, signed};
use crate::keys;
use crate::store::{Store, StoreError};

/// What is wrong at a position of the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No entry at this position, though later ones exist.
    #[error("no entry here, the next is at {next}: an entry was removed")]
    Removed {
        /// Position of the next entry found.
        next: u64,
    },
    /// The entry stored here claims another position.
    #[error("the entry here claims position {found}: entries were moved")]
    WrongIndex {
        /// The position the entry claims.
        found: u64,
    },
    /// The entry cannot be decoded.
    #[error("the entry cannot be decoded")]
    Undecodable,
    /// The record does not match the entry's leaf hash.
    #[error("the record does not match its leaf hash: the record was changed")]
    Changed,
    /// The record's link to the previous record about its plan is wrong.
    #[error(
        "the record's link to the previous record about its plan is {found}, not {expected}: a record about the plan was removed, added or moved"
    )]
    PlanLinkBroken {
        /// Link the log's records call for.
        expected: u64,
        /// Link the entry has.
        found: u64,
    },
    /// A stored tree node does not match the records.
    #[error("a stored tree hash at level {level} does not match the records: the log was altered")]
    TreeNodeChanged {
        /// Level of the node.
        level: usize,
    },
    /// The checkpoint's signing key is not known.
    #[error("signed by unknown key {0}")]
    UnknownKey(String),
    /// The checkpoint's signature does not verify, or its text is not a checkpoint.
    #[error("the batch's signed checkpoint does not verify: {0}")]
    BadSignature(String),
    /// A checkpoint of another log.
    #[error("the signed checkpoint is of another log ({0})")]
    OtherLog(String),
    /// The checkpoint is for another size than the log has at its entry.
    #[error("the signed checkpoint here is for {size} entries: entries were moved")]
    CheckpointMisplaced {
        /// The size the checkpoint covers.
        size: u64,
    },
    /// The batch's records do not give the root its checkpoint signed.
    #[error(
        "the batch of entries {from}–{to} does not match the checkpoint signed at its end: one of them was changed"
    )]
    BatchChanged {
        /// First entry of the batch.
        from: u64,
        /// Last entry of the batch.
        to: u64,
    },
    /// No signature covers the entry.
    #[error("no signature covers this entry: the log ends inside a batch")]
    Unsigned,
    /// The log is shorter than a checkpoint says it was.
    #[error(
        "the log ends before this position, but a checkpoint covers {checkpoint_size} entries: it was truncated"
    )]
    Truncated {
        /// Size in the checkpoint.
        checkpoint_size: u64,
    },
    /// The log differs from a checkpoint signed earlier.
    #[error(
        "the log differs from a signed checkpoint of {checkpoint_size} entries: an entry at or before this position was rewritten"
    )]
    Rewritten {
        /// Size in the checkpoint.
        checkpoint_size: u64,
    },
}

/// The first bad position and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access log is bad at position {position}: {problem}")]
pub struct LogError {
    /// Zero-based position in the log.
    pub position: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// Why a stored log could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The log is bad.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A verified log: its size and roots, and its roots at the sizes asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Number of entries.
    pub size: u64,
    /// Root of the log's tree.
    pub root: Hash,
    /// Root of its plan map.
    pub map_root: Hash,
    /// Number of plans with records.
    pub plans: usize,
    /// Number of signed batches.
    pub batches: u64,
    /// `(root, map root)` at each asked size that is the end of a batch (or 0).
    pub at: BTreeMap<u64, (Hash, Hash)>,
}

/// Checks entries in order, one at a time.
pub struct Verifier {
    origin: String,
    tree: Appender,
    map: PlanMap,
    /// Heads changed in the current batch, applied to the map at its checkpoint.
    pending: HashMap<String, PlanHead>,
    batch_start: u64,
    batches: u64,
    wanted: BTreeSet<u64>,
    at: BTreeMap<u64, (Hash, Hash)>,
}

impl Verifier {
    /// A verifier of `origin`'s log that also notes the roots at the `wanted` sizes.
    pub fn new(origin: &str, wanted: BTreeSet<u64>) -> Self {
        let mut at = BTreeMap::new();
        if wanted.contains(&0) {
            at.insert(0, (EMPTY_ROOT, MAP_EMPTY));
        }
        Self {
            origin: origin.to_string(),
            tree: Appender::new(),
            map: PlanMap::new(),
            pending: HashMap::new(),
            batch_start: 0,
            batches: 0,
            wanted,
            at,
        }
    }

    /// Number of entries checked so far.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    fn head(&self, plan_id: &str) -> Option<PlanHead> {
        self.pending
            .get(plan_id)
            .copied()
            .or_else(|| PlanHead::decode(self.map.get(&plan_key(plan_id.as_bytes()))?))
    }

    /// Checks the next entry; `key` finds a public key by key id.
    pub fn push(
        &mut self,
        e: &LogEntry,
        key: impl FnOnce(&str) -> Option<VerifyingKey>,
    ) -> Result<(), LogError> {
        let position = self.tree.size();
        let fail = |problem| Err(LogError { position, problem });
        if e.index != position {
            return fail(Problem::WrongIndex { found: e.index });
        }
        let Ok(record) = AccessRecord::decode(e.record.as_slice()) else {
            return fail(Problem::Undecodable);
        };
        let leaf = leaf::of(e);
        if e.leaf_hash != leaf {
            return fail(Problem::Changed);
        }
        let chain = kronobarn_proto::ids::chain_of(&record).into_owned();
        let head = (!chain.is_empty()).then(|| self.head(&chain));
        let expected = head.flatten().map_or(0, |h| h.latest_index + 1);
        if e.plan_previous != expected {
            return fail(Problem::PlanLinkBroken {
                expected,
                found: e.plan_previous,
            });
        }
        let mut nodes = Vec::with_capacity(2);
        self.tree.push(leaf, &mut nodes);
        let stored = &e.subtree_hashes;
        if let Some(level) = (1..nodes.len().max(stored.len() + 1)).find(|&l| {
            nodes.get(l).map(|n| n.hash.as_slice()) != stored.get(l - 1).map(|h| h.as_slice())
        }) {
            return fail(Problem::TreeNodeChanged { level });
        }
        if let Some(h) = head {
            let records = h.map_or(0, |h| h.records) + 1;
            self.pending.insert(
                chain,
                PlanHead {
                    latest_index: position,
                    latest_leaf: leaf,
                    records,
                },
            );
        }
        if let Some(env) = &e.checkpoint {
            self.close_batch(position, env, key)?;
        }
        Ok(())
    }

    fn close_batch(
        &mut self,
        position: u64,
        env: &kronobarn_proto::v1::SignedEnvelope,
        key: impl FnOnce(&str) -> Option<VerifyingKey>,
    ) -> Result<(), LogError> {
        let fail = |problem| Err(LogError { position, problem });
        let Some(vk) = key(&env.key_id) else {
            return fail(Problem::UnknownKey(env.key_id.clone()));
        };
        let body = match signed::open_with(env, &vk) {
            Ok(b) => b,
            Err(e) => return fail(Problem::BadSignature(e.to_string())),
        };
        if body.origin.as_str() != self.origin {
            return fail(Problem::OtherLog(body.origin.to_string()));
        }
        if body.size != position + 1 {
            return fail(Problem::CheckpointMisplaced { size: body.size });
        }
        self.map.extend(
            self.pending
                .drain()
                .map(|(plan, h)| (plan_key(plan.as_bytes()), h.encode())),
        );
        let (root, map_root) = (self.tree.root(), self.map.root());
        if body.root != root || body.map_root != map_root {
            return Err(LogError {
                position: self.batch_start,
                problem: Problem::BatchChanged {
                    from: self.batch_start,
                    to: position,
                },
            });
        }
        if self.wanted.contains(&body.size) {
            self.at.insert(body.size, (root, map_root));
        }
        self.batch_start = position + 1;
        self.batches += 1;
        Ok(())
    }

    /// The verified log: every entry must be covered by a signed checkpoint.
    pub fn finish(self) -> Result<Verified, LogError> {
        if self.batch_start != self.tree.size() {
            return Err(LogError {
                position: self.batch_start,
                problem: Problem::Unsigned,
            });
        }
        Ok(Verified {
            size: self.tree.size(),
            root: self.tree.root(),
            map_root: self.map.root(),
            plans: self.map.len(),
            batches: self.batches,
            at: self.at,
        })
    }
}

/// Checks a verified log against a checkpoint of it signed earlier (by a witness's copy, or one
/// the operator kept). The checkpoint's size must have been among the sizes asked for.
pub fn check_against(v: &Verified, cp: &Checkpoint) -> Result<(), LogError> {
    if cp.size > v.size {
        return Err(LogError {
            position: v.size,
            problem: Problem::Truncated {
                checkpoint_size: cp.size,
            },
        });
    }
    if v.at.get(&cp.size) != Some(&(cp.root, cp.map_root)) {
        return Err(LogError {
            position: cp.size.saturating_sub(1),
            problem: Problem::Rewritten {
                checkpoint_size: cp.size,
            },
        });
    }
    Ok(())
}

/// Verifies the whole log in `store` as `origin`'s, noting its roots at the `wanted` sizes and
/// calling `progress` with the entries checked so far. Checkpoints are checked against every key
/// the node has signed with (`meta/signer/`); what ties those to the organisation is the roster,
/// and what ties the log to its past is the witnesses ([`check_against`]).
pub fn verify_store(
    store: &dyn Store,
    origin: &str,
    wanted: BTreeSet<u64>,
    mut progress: impl FnMut(u64),
) -> Result<Verified, VerifyError> {
    let signers = super::stored::signers(store)?;
    let mut v = Verifier::new(origin, wanted);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(keys::LOG, after.as_deref(), 1024)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, bytes) in page {
            let position = v.size();
            let at = keys::log_index(&k).unwrap_or(u64::MAX);
            if at != position {
                let problem = if at > position {
                    Problem::Removed { next: at }
                } else {
                    Problem::WrongIndex { found: at }
                };
                return Err(LogError { position, problem }.into());
            }
            let e = LogEntry::decode(bytes.as_slice()).map_err(|_| LogError {
                position,
                problem: Problem::Undecodable,
            })?;
            v.push(&e, |id| signers.get(id).copied())?;
        }
        progress(v.size());
    }
    Ok(v.finish()?)
}
