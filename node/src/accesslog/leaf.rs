//! Where an access record sits in the log's Merkle tree: its leaf hash, and the tree's nodes as
//! the store keeps them (inside the entries, so the tree costs no keys of its own).
//!
//! Every complete subtree `(level, index)` is finished by the append of its last leaf,
//! `(index + 1) · 2^level − 1`, and that leaf's entry stores it: entry `i` holds its own leaf hash
//! and the hashes of the `trailing_ones(i)` subtrees it completes (one on average). A write
//! therefore adds exactly one key per record to the store, as the hash chain before it did, and
//! any node is one read away.

use kronobarn_proto::v1::LogEntry;
use kronobarn_tlog::{Hash, NodeSource, leaf_hash};
use prost::Message;

use crate::keys;
use crate::store::{Store, StoreError};

/// First bytes of every leaf's data, naming the format so a leaf of another format never matches.
pub const LEAF_FORMAT: &[u8] = b"kronobarn/access-record/v3\0";

/// The leaf hash of a record: `SHA-256(0x00 ‖ LEAF_FORMAT ‖ plan_previous (u64 BE) ‖ record)`.
/// Committing to `plan_previous` (one more than the index of the previous record about the same
/// plan, 0 for none) links each plan's records into a chain the tree vouches for.
pub fn hash(plan_previous: u64, record: &[u8]) -> Hash {
    let mut data = Vec::with_capacity(LEAF_FORMAT.len() + 8 + record.len());
    data.extend_from_slice(LEAF_FORMAT);
    data.extend_from_slice(&plan_previous.to_be_bytes());
    data.extend_from_slice(record);
    leaf_hash(&data)
}

/// The leaf hash of an entry, recomputed from its record and link (never taken from the entry).
pub fn of(entry: &LogEntry) -> Hash {
    hash(entry.plan_previous, &entry.record)
}

/// The entry whose append completed node `(level, index)`, and the node's place in it (0 for the
/// leaf hash, `level` for `subtree_hashes[level - 1]`). `None` past the end of the index space.
pub fn home(level: u8, index: u64) -> Option<u64> {
    index
        .checked_add(1)?
        .checked_shl(u32::from(level))
        .filter(|end| end >> level == index + 1)?
        .checked_sub(1)
}

/// Reads entry `index` of the log.
pub fn read_entry(store: &dyn Store, index: u64) -> Result<LogEntry, StoreError> {
    let bytes = store
        .get(&keys::log(index))?
        .ok_or_else(|| StoreError::Engine(format!("access log entry {index} is missing")))?;
    LogEntry::decode(bytes.as_slice())
        .map_err(|e| StoreError::Engine(format!("access log entry {index} does not decode: {e}")))
}

/// The tree's nodes as the store holds them, for roots and proofs of any stored size.
pub struct StoredTree<'a>(pub &'a dyn Store);

impl NodeSource for StoredTree<'_> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let missing =
            || StoreError::Engine(format!("no tree node at level {level}, index {index}"));
        let entry = read_entry(self.0, home(level, index).ok_or_else(missing)?)?;
        let bytes = match level {
            0 => &entry.leaf_hash,
            l => entry
                .subtree_hashes
                .get(usize::from(l) - 1)
                .ok_or_else(missing)?,
        };
        bytes.as_slice().try_into().map_err(|_| missing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_lives_in_the_entry_of_its_last_leaf() {
        assert_eq!(home(0, 5), Some(5));
        assert_eq!(home(1, 0), Some(1));
        assert_eq!(home(2, 1), Some(7));
        assert_eq!(home(3, 0), Some(7));
        assert_eq!(home(63, 1), None);
        assert_eq!(home(0, u64::MAX), None);
    }

    #[test]
    fn the_leaf_commits_to_the_plan_link() {
        assert_ne!(hash(0, b"r"), hash(1, b"r"));
        assert_ne!(hash(0, b"r"), leaf_hash(b"r"));
    }
}
