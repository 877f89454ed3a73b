//! The node's access log on the store: append-only, hash-chained, every entry signed.
//!
//! Appends take one short lock (to assign positions in order) and return store ops, so a write
//! and the record of that write land in the same atomic batch.

pub mod chain;
pub mod extract;
pub mod stored;

use std::sync::{Arc, Mutex};

use ed25519_dalek::{SigningKey, VerifyingKey};
use kronobarn_proto::envelope::{self, key_id};
use kronobarn_proto::v1::{AccessRecord, Checkpoint, LogEntry, PayloadKind, SignedEnvelope};
use prost::Message;

use crate::keys;
use crate::store::{Op, Store, StoreError};
use chain::{ChainError, Head, Verifier};

/// The access log of one node.
pub struct AccessLog {
    store: Arc<dyn Store>,
    key: SigningKey,
    organization: String,
    head: Mutex<Head>,
}

/// Why the log could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// An entry could not be decoded at all.
    #[error("access log is bad at position {0}: entry cannot be decoded")]
    Undecodable(u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccessLog {
    /// Opens the log, finding its head. Refuses to start on a log whose last entry is not
    /// intact, so a node never extends a damaged chain.
    pub fn open(
        store: Arc<dyn Store>,
        key: SigningKey,
        organization: String,
    ) -> Result<Self, VerifyError> {
        let head = match store.last(keys::LOG)? {
            None => Head::default(),
            Some((k, v)) => {
                let index = keys::log_index(&k).ok_or(VerifyError::Undecodable(0))?;
                let e =
                    LogEntry::decode(v.as_slice()).map_err(|_| VerifyError::Undecodable(index))?;
                let hash: [u8; 32] = e
                    .entry_hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| VerifyError::Undecodable(index))?;
                // A batch's last entry carries its signature; an unsigned last entry means
                // the log was cut or altered.
                if e.index != index
                    || e.signature.is_empty()
                    || chain::entry_hash(
                        index,
                        &e.previous_hash.as_slice().try_into().unwrap_or([0xff; 32]),
                        &e.record,
                    ) != hash
                {
                    return Err(ChainError {
                        position: index,
                        problem: chain::Problem::Changed,
                    }
                    .into());
                }
                Head {
                    size: index + 1,
                    hash,
                }
            }
        };
        let log = Self {
            store,
            key,
            organization,
            head: Mutex::new(head),
        };
        // Remember this key so entries it signs stay verifiable after the key is rotated.
        let vk = log.key.verifying_key();
        log.store.apply(vec![Op::Put(
            keys::signer(&key_id(&vk)),
            vk.as_bytes().to_vec(),
        )])?;
        Ok(log)
    }

    /// Appends `records` together with `ops` in one atomic batch (not yet flushed).
    pub fn append_with(
        &self,
        records: &[AccessRecord],
        mut ops: Vec<Op>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        if records.is_empty() {
            self.store.apply(ops)?;
            return Ok(Vec::new());
        }
        let encoded: Vec<Vec<u8>> = records.iter().map(|r| r.encode_to_vec()).collect();
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        // One signature for the batch, at its end (see `chain`).
        let entries = chain::make_batch(*head, encoded, &self.key);
        for (r, e) in records.iter().zip(&entries) {
            ops.push(Op::Put(keys::log(e.index), e.encode_to_vec()));
            if !r.plan_id.is_empty() {
                ops.push(Op::Put(keys::log_by_plan(&r.plan_id, e.index), Vec::new()));
            }
        }
        self.store.apply(ops)?;
        let last = entries.last().expect("records is not empty");
        *head = Head {
            size: last.index + 1,
            hash: last.entry_hash.as_slice().try_into().expect("32 bytes"),
        };
        Ok(entries)
    }

    /// The current head.
    pub fn head(&self) -> Head {
        *self.head.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A signed checkpoint of the current head.
    pub fn checkpoint(&self, now_ms: i64) -> SignedEnvelope {
        let h = self.head();
        let cp = Checkpoint {
            organization: self.organization.clone(),
            size: h.size,
            head_hash: h.hash.to_vec(),
            at_unix_ms: now_ms,
        };
        envelope::seal(PayloadKind::Checkpoint, cp.encode_to_vec(), &self.key)
    }

    /// The public key entries are signed with.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Entries about `plan_id` with index greater than `after`, at most `limit`.
    pub fn by_plan(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let prefix = keys::log_by_plan_prefix(plan_id);
        let after_key = after.map(|a| keys::log_by_plan(plan_id, a));
        let mut out = Vec::new();
        for (k, _) in self.store.scan(&prefix, after_key.as_deref(), limit)? {
            let Some(index) = keys::log_index(&k[prefix.len() - keys::LOG.len()..]) else {
                continue;
            };
            if let Some(v) = self.store.get(&keys::log(index))? {
                out.push(
                    LogEntry::decode(v.as_slice())
                        .map_err(|e| StoreError::Engine(format!("log entry {index}: {e}")))?,
                );
            }
        }
        Ok(out)
    }
}

/// Verifies the whole log in `store`, calling `progress` with the entries checked so far.
/// Keys are looked up among every signing key the node has used.
pub fn verify_store(store: &dyn Store, mut progress: impl FnMut(u64)) -> Result<Head, VerifyError> {
    let mut v = Verifier::default();
    let mut after: Option<Vec<u8>> = None;
    let mut cache: std::collections::HashMap<String, Option<VerifyingKey>> = Default::default();
    loop {
        let page = store.scan(keys::LOG, after.as_deref(), 1024)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, bytes) in page {
            let position = v.head().size;
            let e = LogEntry::decode(bytes.as_slice())
                .map_err(|_| VerifyError::Undecodable(position))?;
            if keys::log_index(&k) != Some(e.index) {
                // The key and the entry disagree: someone moved entries between keys.
                return Err(ChainError {
                    position,
                    problem: chain::Problem::WrongIndex { found: e.index },
                }
                .into());
            }
            let key = cache
                .entry(e.key_id.clone())
                .or_insert_with(|| stored::signer(store, &e.key_id))
                .to_owned();
            v.push(&e, |_| key)?;
        }
        progress(v.head().size);
    }
    Ok(v.finish()?)
}
