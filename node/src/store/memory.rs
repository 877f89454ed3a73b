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
    /// Every batch applied, in order, so a test can crash the store between any two.
    batches: Vec<Vec<Op>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What a restart after a crash would find: only what was flushed.
    pub fn crash(&self) -> Arc<MemoryStore> {
        Self::restarted(self.lock().durable.clone())
    }

    /// Number of batches applied so far.
    pub fn batches(&self) -> usize {
        self.lock().batches.len()
    }

    /// What a restart would find had the process died right after the first `n` batches, each
    /// of them durable: the worst case for anything that must be atomic across two batches.
    pub fn crash_after(&self, n: usize) -> Arc<MemoryStore> {
        let state = self.lock();
        let mut map = Map::new();
        for batch in state.batches.iter().take(n) {
            apply_to(&mut map, batch.iter().cloned());
        }
        Self::restarted(map)
    }

    fn restarted(map: Map) -> Arc<MemoryStore> {
        Arc::new(MemoryStore {
            state: Mutex::new(State {
                live: map.clone(),
                durable: map,
                batches: Vec::new(),
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

fn apply_to(map: &mut Map, ops: impl Iterator<Item = Op>) {
    for op in ops {
        match op {
            Op::Put(k, v) => map.insert(k, v),
            Op::Delete(k) => map.remove(&k),
        };
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
        apply_to(&mut state.live, ops.iter().cloned());
        state.batches.push(ops);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.durable = state.live.clone();
        Ok(())
    }
}
