//! [`Store`] in memory, for unit tests. It keeps what was applied and, apart, what a flush made
//! durable, so a test can "crash" the store between two batches and see exactly what a real node
//! would find on restart.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use super::{Op, Pair, Store, StoreError};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An ordered map under a lock, with the state of its last flush.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default, Clone)]
struct State {
    live: Map,
    durable: Map,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What a restart after a crash would find: only what was flushed.
    pub fn crash(&self) -> Arc<MemoryStore> {
        let durable = self.lock().durable.clone();
        Arc::new(MemoryStore {
            state: Mutex::new(State {
                live: durable.clone(),
                durable,
            }),
        })
    }

    /// Number of keys applied (flushed or not).
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// True when nothing was applied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().live.get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let state = self.lock();
        let start = match after {
            Some(a) => Bound::Excluded(a.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        Ok(state
            .live
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        let state = self.lock();
        Ok(state
            .live
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .last()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut state = self.lock();
        for op in ops {
            match op {
                Op::Put(k, v) => state.live.insert(k, v),
                Op::Delete(k) => state.live.remove(&k),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.durable = state.live.clone();
        Ok(())
    }
}
