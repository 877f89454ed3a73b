//! The storage trait the node is written against, with two engines: sled on disk and an in-memory
//! map for unit tests that must drive one exact ordering (a crash between two batches, a revocation
//! before the consent it follows) without starting processes.
//!
//! The node needs little from an embedded store: point reads, ordered prefix scans, atomic
//! multi-key writes, and a flush that makes everything written so far durable. Keeping the
//! engine behind this trait means sled could be swapped without touching any logic, and one test
//! suite (`suite`) checks that both engines keep the same promises.

mod memory;
mod sled;
#[cfg(test)]
mod suite;

pub use memory::MemoryStore;
pub use sled::SledStore;

/// A storage failure. Details are for the operator's log, not for callers.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The engine failed.
    #[error("storage engine: {0}")]
    Engine(String),
    /// Another process holds the data directory.
    #[error("the data directory is in use by another process (is a node running on it?)")]
    Locked,
}

/// One write in an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Vec<u8>),
}

/// A key-value pair read from the store.
pub type Pair = (Vec<u8>, Vec<u8>);

/// What the node needs from an embedded, ordered key-value store.
pub trait Store: Send + Sync + 'static {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` pairs whose key starts with `prefix` and is greater than `after`, in order.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError>;
    /// The greatest pair whose key starts with `prefix`.
    fn last(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError>;
    /// Applies every op atomically: after a crash either all or none are present.
    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError>;
    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}
