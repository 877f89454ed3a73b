//! Verifiable-log mathematics for the access log: an RFC 9162 Merkle tree log, a plan map, and the
//! checkpoint body that commits to both. Pure: no I/O, no clock, no store.
//!
//! # Why
//! A guardian's extract and a witness should check a node's access log in `O(log n)` hashes
//! rather than by replaying a hash chain. The log is a Merkle tree as in Certificate Transparency
//! (RFC 9162 §2.1), so anyone holding a signed [`Checkpoint`] can check that a record is in the log
//! ([`verify_inclusion`]) and that a later checkpoint extends an earlier one ([`verify_consistency`]);
//! any other implementation of RFC 9162 computes the same roots and proofs. Beside the log, the
//! [`PlanMap`] commits, per plan, to its latest access record, so an extract for one plan can be
//! shown to end where the log says that plan's records end: it is complete, not just genuine.
//!
//! # How the node uses it
//! - Appending: hash each record with [`leaf_hash`], hand the batch to [`Appender::append`], store
//!   the returned [`Node`]s under `(level, index)`; [`Appender::root`] is then the new root. At
//!   start, [`Appender::restore`] rebuilds the appender from the store.
//! - Reading: implement [`NodeSource`] over the store; [`root`], [`inclusion_proof`] and
//!   [`consistency_proof`] work for every size up to the stored one (old checkpoints included).
//! - Plans: rebuild the [`PlanMap`] at start (collect `(plan_key(plan), PlanHead::encode())`
//!   pairs into it), [`PlanMap::insert`] after each record, and put [`PlanMap::root`] into the
//!   checkpoint; [`PlanMap::prove`] gives the proof an extract carries.
//!
//! # Cost (n log records, k plans; one "hash" is one SHA-256 call)
//! | operation                              | hashes                       | node reads          |
//! |----------------------------------------|------------------------------|---------------------|
//! | append one record                      | 1 leaf + < 1 node, amortised | 0 (≈ 2 node writes) |
//! | [`Appender::root`]                     | popcount(n) − 1              | 0                   |
//! | [`Appender::restore`], [`root`]        | popcount(n) − 1              | popcount(n)         |
//! | [`inclusion_proof`]                    | < log2 n                     | < 2·log2 n          |
//! | [`consistency_proof`]                  | < log2 n                     | < 2·log2 n          |
//! | [`verify_inclusion`]                   | proof length ≤ ⌈log2 n⌉      | –                   |
//! | [`verify_consistency`]                 | ≤ 2 × proof length           | –                   |
//! | [`inclusion_multiproof`], k leaves     | < k·log2 n                   | < k·log2 n          |
//! | [`verify_inclusion_multi`]             | nodes on the k paths' union  | –                   |
//! | [`PlanMap::insert`], map proof, verify | depth + 2 ≈ log2 k + 3       | –                   |
//!
//! Each proof has at most one sibling that is not a stored complete subtree (the incomplete one on
//! the tree's right edge), which is folded from at most 63 stored ones; every other sibling is one
//! read.
//!
//! # Hashes
//! Every hash and its domain-separation prefix is in [`hash`]: `0x00`/`0x01` for the log as RFC
//! 9162 says, `0x02`/`0x03` for the plan map, so no hash of one kind passes for another.
//!
//! **Architecture invariant:** this crate knows nothing of storage, protobuf, time or keys. The
//! node stores nodes, signs [`Checkpoint::encode`] and carries proofs in its own messages.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod hash;
pub mod map;
pub mod multiproof;
pub mod proof;
pub mod tree;

pub use checkpoint::{CHECKPOINT_FORMAT, Checkpoint, CheckpointError, Origin};
pub use hash::{EMPTY_ROOT, Hash, MAP_EMPTY, leaf_hash, node_hash};
pub use map::{MapProof, PathEnd, PlanHead, PlanMap, plan_key};
pub use multiproof::{inclusion_multiproof, verify_inclusion_multi};
pub use proof::{
    ProofError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
pub use tree::{Appender, MemoryTree, MissingNode, Node, NodeSource, TreeError, root};

#[cfg(test)]
mod tests;
