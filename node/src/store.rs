//! The storage trait the node is written against, and its sled implementation.
//!
//! The node needs little from an embedded store: point reads, ordered prefix scans, atomic
//! multi-key writes, and a flush that makes everything written so far durable. Keeping the
//! engine behind this trait means sled could be swapped without touching any logic.

use std::path::Path;

/// A storage failure. Details are for the operator's log, not for callers.
#[derive(Debug, thiserror::Error)]
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

/// [`Store`] on one sled tree.
pub struct SledStore {
    db: sled::Db,
}

fn engine(e: sled::Error) -> StoreError {
    StoreError::Engine(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the store in `dir`. Recovery after a crash is sled's and needs nothing
    /// by hand.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // A store closed a moment ago in this process may still hold its file lock while sled's
        // background flusher winds down; wait a little for it rather than fail.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            match Self::try_open(dir) {
                Err(StoreError::Locked) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                r => return r,
            }
        }
    }

    fn try_open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).open().map_err(|e| match e {
            sled::Error::Io(ref io)
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("lock") =>
            {
                StoreError::Locked
            }
            e => engine(e),
        })?;
        Ok(Self { db })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(engine)?.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let iter = match after {
            Some(a) => {
                let mut start = a.to_vec();
                start.push(0);
                self.db.range(start..)
            }
            None => self.db.range(prefix.to_vec()..),
        };
        let mut out = Vec::new();
        for kv in iter {
            let (k, v) = kv.map_err(engine)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn last(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        let kv = self
            .db
            .scan_prefix(prefix)
            .next_back()
            .transpose()
            .map_err(engine)?;
        Ok(kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch).map_err(engine)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> Op {
        Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn scans_stay_inside_their_prefix_and_resume_after_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        s.apply(vec![
            put("a/1", "x"),
            put("a/2", "y"),
            put("a/3", "z"),
            put("b/1", "w"),
        ])
        .unwrap();
        let all = s.scan(b"a/", None, 10).unwrap();
        assert_eq!(all.len(), 3);
        let rest = s.scan(b"a/", Some(b"a/1"), 10).unwrap();
        assert_eq!(
            rest.iter().map(|(k, _)| k.as_slice()).collect::<Vec<_>>(),
            vec![&b"a/2"[..], b"a/3"]
        );
        assert_eq!(s.scan(b"a/", None, 1).unwrap().len(), 1);
        assert_eq!(s.last(b"a/").unwrap().unwrap().0, b"a/3");
        assert_eq!(s.last(b"c/").unwrap(), None);
        s.apply(vec![Op::Delete(b"a/3".to_vec())]).unwrap();
        assert_eq!(s.get(b"a/3").unwrap(), None);
    }

    #[test]
    fn a_flushed_batch_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            s.apply(vec![put("k1", "v1"), put("k2", "v2")]).unwrap();
            s.flush().unwrap();
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.get(b"k2").unwrap(), Some(b"v2".to_vec()));
    }
}
