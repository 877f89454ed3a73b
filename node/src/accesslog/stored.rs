//! Reading a log straight from a store, without its signing key: what the operator's tools need
//! on a stopped node's data (`kronobarn log verify`, `log extract`). The log's keys are built and
//! parsed here, so no tool outside this crate knows the layout.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use kronobarn_proto::v1::LogEntry;
use kronobarn_tlog::PlanHead;
use prost::Message;

use crate::keys;
use crate::store::{Store, StoreError};

fn decode(index: u64, bytes: &[u8]) -> Result<LogEntry, StoreError> {
    LogEntry::decode(bytes).map_err(|e| StoreError::Engine(format!("log entry {index}: {e}")))
}

/// How many positions the log has: one past the last stored index, 0 when it is empty.
pub fn size(store: &dyn Store) -> Result<u64, StoreError> {
    Ok(store
        .last(keys::LOG)?
        .and_then(|(k, _)| keys::log_index(&k))
        .map_or(0, |i| i + 1))
}

/// Up to `limit` stored entries from index `from` on, in order. A missing entry is simply not
/// there, so a caller that needs every position compares each entry's `index` with the next it
/// expects.
pub fn entries(store: &dyn Store, from: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
    let after = from.checked_sub(1).map(keys::log);
    store
        .scan(keys::LOG, after.as_deref(), limit)?
        .into_iter()
        .map(|(k, v)| decode(keys::log_index(&k).unwrap_or(u64::MAX), &v))
        .collect()
}

/// The entry at `index`, when stored.
pub fn entry(store: &dyn Store, index: u64) -> Result<Option<LogEntry>, StoreError> {
    store
        .get(&keys::log(index))?
        .map(|v| decode(index, &v))
        .transpose()
}

/// The plan's head (newest record, its leaf hash, number of records), when this node has
/// recorded any access to the plan.
pub fn plan_head(store: &dyn Store, plan_id: &str) -> Result<Option<PlanHead>, StoreError> {
    Ok(store
        .get(&keys::log_head(plan_id))?
        .and_then(|v| PlanHead::decode(&v)))
}

/// The public key this node signed with as `key_id`, when it has used that key.
pub fn signer(store: &dyn Store, key_id: &str) -> Option<VerifyingKey> {
    store
        .get(&keys::signer(key_id))
        .ok()
        .flatten()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
}

/// Every public key this node has signed its log with, by key id (old keys stay after a
/// rotation, so entries they signed remain verifiable).
pub fn signers(store: &dyn Store) -> Result<BTreeMap<String, VerifyingKey>, StoreError> {
    let mut out = BTreeMap::new();
    for (k, v) in store.scan(keys::SIGNERS, None, usize::MAX)? {
        if let (Ok(id), Ok(b)) = (
            String::from_utf8(k[keys::SIGNERS.len()..].to_vec()),
            <[u8; 32]>::try_from(v.as_slice()),
        ) && let Ok(vk) = VerifyingKey::from_bytes(&b)
        {
            out.insert(id, vk);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ed25519_dalek::SigningKey;
    use kronobarn_proto::envelope::key_id;
    use kronobarn_proto::v1::AccessRecord;

    use super::*;
    use crate::accesslog::AccessLog;
    use crate::clock::Clock;
    use crate::store::{Op, SledStore};

    fn record(plan_id: &str) -> AccessRecord {
        AccessRecord {
            plan_id: plan_id.into(),
            user_id: "u".into(),
            ..Default::default()
        }
    }

    /// A log of two batches, with records about plans "a" and "b" from index 2 on, written by two
    /// keys in turn (a rotation).
    fn written() -> (tempfile::TempDir, Arc<SledStore>, [SigningKey; 2]) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let keys = [
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        ];
        let first = AccessLog::open(
            store.clone(),
            keys[0].clone(),
            "org".into(),
            Clock::system(),
        )
        .unwrap();
        first
            .append_with(&[record(""), record(""), record("a")], Vec::new())
            .unwrap();
        drop(first);
        let second = AccessLog::open(
            store.clone(),
            keys[1].clone(),
            "org".into(),
            Clock::system(),
        )
        .unwrap();
        second
            .append_with(&[record("b"), record("a")], Vec::new())
            .unwrap();
        (dir, store, keys)
    }

    #[test]
    fn reads_the_log_in_order_from_any_position() {
        let (_dir, store, _) = written();
        assert_eq!(size(store.as_ref()).unwrap(), 5);
        let all = entries(store.as_ref(), 0, usize::MAX).unwrap();
        assert_eq!(
            all.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        let tail = entries(store.as_ref(), 3, 1).unwrap();
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0], all[3]);
        assert_eq!(entry(store.as_ref(), 4).unwrap().as_ref(), Some(&all[4]));
        assert_eq!(entry(store.as_ref(), 5).unwrap(), None);
        assert!(entries(store.as_ref(), 5, 10).unwrap().is_empty());
    }

    #[test]
    fn an_empty_log_has_no_positions() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(size(&store).unwrap(), 0);
        assert!(entries(&store, 0, 10).unwrap().is_empty());
        assert_eq!(plan_head(&store, "a").unwrap(), None);
        assert!(signers(&store).unwrap().is_empty());
    }

    #[test]
    fn finds_the_newest_record_about_a_plan() {
        let (_dir, store, _) = written();
        let a = plan_head(store.as_ref(), "a").unwrap().unwrap();
        assert_eq!((a.latest_index, a.records), (4, 2));
        let b = plan_head(store.as_ref(), "b").unwrap().unwrap();
        assert_eq!((b.latest_index, b.records), (3, 1));
        assert_eq!(plan_head(store.as_ref(), "c").unwrap(), None);
    }

    #[test]
    fn knows_every_key_the_log_was_signed_with() {
        let (_dir, store, keys) = written();
        let found = signers(store.as_ref()).unwrap();
        assert_eq!(found.len(), 2);
        for k in &keys {
            let vk = k.verifying_key();
            assert_eq!(found.get(&key_id(&vk)), Some(&vk));
            assert_eq!(signer(store.as_ref(), &key_id(&vk)), Some(vk));
        }
        assert_eq!(signer(store.as_ref(), "unknown"), None);
    }

    #[test]
    fn a_gap_shows_as_a_missing_index() {
        let (_dir, store, _) = written();
        store.apply(vec![Op::Delete(keys::log(1))]).unwrap();
        let got: Vec<u64> = entries(store.as_ref(), 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(got, vec![0, 2, 3, 4]);
        assert_eq!(size(store.as_ref()).unwrap(), 5);
    }
}
