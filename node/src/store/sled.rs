//! [`Store`] on sled, the node's embedded database on disk.

use std::path::Path;

use super::{Op, Pair, Store, StoreError};

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
