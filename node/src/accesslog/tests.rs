//! The log on a store: appends, reopening, refusals at open, and the verifier naming the first
//! bad position for every kind of tampering.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proptest::prelude::*;

use super::*;
use crate::store::{MemoryStore, Pair};

const ORG: &str = "vaxjo-kommun";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn open(store: Arc<dyn Store>) -> Result<AccessLog, OpenError> {
    let (clock, _) = Clock::manual(1_795_690_800_000);
    AccessLog::open(store, key(), ORG.into(), clock)
}

fn record(plan: &str, n: usize) -> AccessRecord {
    AccessRecord {
        plan_id: plan.into(),
        user_id: format!("user.{n}"),
        ..Default::default()
    }
}

/// A log of batches of the given sizes, records cycling over three plans (and none).
fn written(batches: &[usize]) -> (Arc<MemoryStore>, AccessLog) {
    let store = Arc::new(MemoryStore::new());
    let log = open(store.clone()).unwrap();
    let mut n = 0;
    for size in batches {
        let records: Vec<AccessRecord> = (0..*size)
            .map(|_| {
                n += 1;
                record(["p1", "p2", "", "p3"][n % 4], n)
            })
            .collect();
        log.append_with(&records, Vec::new()).unwrap();
    }
    (store, log)
}

fn verify(store: &MemoryStore) -> Result<Verified, VerifyError> {
    verify_store(store, ORG, BTreeSet::new(), |_| {})
}

fn bad_at(store: &MemoryStore) -> (u64, Problem) {
    match verify(store) {
        Err(VerifyError::Log(e)) => (e.position, e.problem),
        other => panic!("expected a bad log, got {other:?}"),
    }
}

fn entry(store: &MemoryStore, i: u64) -> LogEntry {
    leaf::read_entry(store, i).unwrap()
}

fn put(store: &MemoryStore, e: &LogEntry) {
    store
        .apply(vec![Op::Put(keys::log(e.index), e.encode_to_vec())])
        .unwrap();
}

#[test]
fn a_reopened_log_goes_on_where_it_stopped() {
    let (store, log) = written(&[3, 1, 4]);
    let before = log.snapshot(Some("p1"));
    drop(log);
    let log = open(store.clone()).unwrap();
    let after = log.snapshot(Some("p1"));
    assert_eq!(
        (after.body.size, after.body.root, after.body.map_root),
        (before.body.size, before.body.root, before.body.map_root)
    );
    assert_eq!(after.plan.unwrap().1, before.plan.unwrap().1);
    log.append_with(&[record("p1", 99)], Vec::new()).unwrap();
    let v = verify(&store).unwrap();
    assert_eq!((v.size, v.batches, v.plans), (9, 4, 3));
    // One signed checkpoint per batch, on its last entry.
    let signed: Vec<u64> = (0..9)
        .filter(|&i| entry(&store, i).checkpoint.is_some())
        .collect();
    assert_eq!(signed, [2, 3, 7, 8]);
    // The plan's records, found back along the links.
    let (all, more) = log.by_plan("p1", None, 100).unwrap();
    assert!(!more);
    let (page, more) = log.by_plan("p1", None, 1).unwrap();
    assert!(more);
    assert_eq!(page[0], all[0]);
    let (rest, _) = log.by_plan("p1", Some(page[0].index), 100).unwrap();
    assert_eq!(rest, all[1..]);
}

#[test]
fn an_old_format_log_is_refused_with_a_clear_message() {
    let store = Arc::new(MemoryStore::new());
    // An entry of the hash-chain format (index, previous hash, record, hash, signature, key id),
    // and no format marker.
    let mut old = Vec::new();
    prost::encoding::uint64::encode(1, &0, &mut old);
    prost::encoding::bytes::encode(2, &vec![0u8; 32], &mut old);
    prost::encoding::bytes::encode(3, &record("p1", 1).encode_to_vec(), &mut old);
    store.apply(vec![Op::Put(keys::log(0), old)]).unwrap();
    let e = open(store).err().unwrap();
    assert!(matches!(e, OpenError::OldFormat), "{e}");
    assert!(e.to_string().contains("earlier version"));
}

#[test]
fn a_damaged_end_is_refused_at_open() {
    let (store, log) = written(&[2, 3]);
    drop(log);
    let mut last = entry(&store, 4);
    last.record[0] ^= 1;
    put(&store, &last);
    assert!(matches!(open(store.clone()), Err(OpenError::Log(_))));
    // Cut inside the last batch: the log ends on entries no checkpoint covers.
    let (store, log) = written(&[2, 3]);
    drop(log);
    store.apply(vec![Op::Delete(keys::log(4))]).unwrap();
    let e = open(store).err().unwrap();
    assert!(e.to_string().contains("position 3"), "{e}");
}

/// A store whose writes can be made to fail.
#[derive(Default)]
struct Failing {
    inner: MemoryStore,
    fail: AtomicBool,
}

impl Store for Failing {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn scan(&self, p: &[u8], a: Option<&[u8]>, l: usize) -> Result<Vec<Pair>, StoreError> {
        self.inner.scan(p, a, l)
    }
    fn last(&self, p: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.inner.last(p)
    }
    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Engine("disk full".into()));
        }
        self.inner.apply(ops)
    }
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[test]
fn a_failed_write_leaves_no_trace_in_memory() {
    let store = Arc::new(Failing::default());
    let log = open(store.clone()).unwrap();
    log.append_with(&[record("p1", 1)], Vec::new()).unwrap();
    let before = log.snapshot(None).body;
    store.fail.store(true, Ordering::SeqCst);
    // A known plan and a new one in the failed batch.
    assert!(
        log.append_with(&[record("p1", 2), record("p9", 3)], Vec::new())
            .is_err()
    );
    let after = log.snapshot(None).body;
    assert_eq!(
        (after.size, after.root, after.map_root),
        (before.size, before.root, before.map_root)
    );
    assert_eq!(log.plan_head("p9"), None);
    store.fail.store(false, Ordering::SeqCst);
    log.append_with(&[record("p1", 4)], Vec::new()).unwrap();
    assert_eq!(
        verify_store(&store.inner, ORG, BTreeSet::new(), |_| {})
            .unwrap()
            .size,
        2
    );
}

#[test]
fn a_rewrite_with_recomputed_hashes_is_caught_at_its_batch() {
    // Someone with the files changes a record and recomputes its leaf and every stored tree
    // hash, but cannot sign: the batch's checkpoint no longer matches.
    let (store, _log) = written(&[3, 4, 2]);
    let originals: Vec<AccessRecord> = (0..9)
        .map(|i| AccessRecord::decode(entry(&store, i).record.as_slice()).unwrap())
        .collect();
    let mut tree = kronobarn_tlog::Appender::new();
    for i in 0..9u64 {
        let mut e = entry(&store, i);
        if i == 4 {
            let mut r = originals[4].clone();
            r.user_id = "someone-else".into();
            e.record = r.encode_to_vec();
        }
        let leaf = leaf::of(&e);
        let mut nodes = Vec::new();
        tree.push(leaf, &mut nodes);
        e.leaf_hash = leaf.to_vec();
        e.subtree_hashes = nodes[1..].iter().map(|n| n.hash.to_vec()).collect();
        put(&store, &e);
    }
    assert_eq!(
        bad_at(&store),
        (3, Problem::BatchChanged { from: 3, to: 6 })
    );
}

#[test]
fn witnessed_checkpoints_catch_truncation_and_rewrites() {
    let (store, log) = written(&[3, 4, 2]);
    let at7 = {
        let v = verify_store(store.as_ref(), ORG, [7, 9].into(), |_| {}).unwrap();
        assert_eq!(v.at.len(), 2);
        v
    };
    let cp9 = log.snapshot(None).body;
    assert_eq!(check_against(&at7, &cp9), Ok(()));
    // Truncated at a batch's end: a chain on its own, shorter than the checkpoint.
    store
        .apply(vec![Op::Delete(keys::log(7)), Op::Delete(keys::log(8))])
        .unwrap();
    let short = verify_store(store.as_ref(), ORG, [9].into(), |_| {}).unwrap();
    assert_eq!(
        check_against(&short, &cp9).unwrap_err().problem,
        Problem::Truncated { checkpoint_size: 9 }
    );
    // Another log of the same size (signed by the same key): rewritten.
    let (other, _) = written(&[9]);
    let v = verify_store(other.as_ref(), ORG, [9].into(), |_| {}).unwrap();
    let mut forged = cp9.clone();
    forged.root[0] ^= 1;
    assert!(matches!(
        check_against(&v, &forged).unwrap_err().problem,
        Problem::Rewritten { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_changed_record_is_found_at_its_position(
        batches in prop::collection::vec(1usize..5, 1..6),
        at in any::<prop::sample::Index>(),
    ) {
        let (store, _log) = written(&batches);
        let n: usize = batches.iter().sum();
        let i = at.index(n) as u64;
        let mut e = entry(&store, i);
        let last = e.record.len() - 1;
        e.record[last] ^= 1;
        put(&store, &e);
        prop_assert_eq!(bad_at(&store), (i, Problem::Changed));
    }

    #[test]
    fn a_removed_entry_is_found_where_it_was(
        batches in prop::collection::vec(1usize..5, 1..6),
        at in any::<prop::sample::Index>(),
    ) {
        let (store, _log) = written(&batches);
        let n: usize = batches.iter().sum();
        prop_assume!(n > 1);
        let i = at.index(n - 1) as u64;
        store.apply(vec![Op::Delete(keys::log(i))]).unwrap();
        prop_assert_eq!(bad_at(&store), (i, Problem::Removed { next: i + 1 }));
    }

    #[test]
    fn swapped_entries_are_found_at_the_first(
        batches in prop::collection::vec(1usize..5, 1..6),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (store, _log) = written(&batches);
        let n: usize = batches.iter().sum();
        let (i, j) = (a.index(n) as u64, b.index(n) as u64);
        prop_assume!(i != j);
        let (ei, ej) = (entry(&store, i), entry(&store, j));
        store.apply(vec![
            Op::Put(keys::log(i), ej.encode_to_vec()),
            Op::Put(keys::log(j), ei.encode_to_vec()),
        ]).unwrap();
        prop_assert_eq!(bad_at(&store).0, i.min(j));
    }

    #[test]
    fn a_cut_inside_a_batch_is_found_at_the_batch_start(
        batches in prop::collection::vec(2usize..5, 1..6),
        keep in any::<prop::sample::Index>(),
    ) {
        let (store, _log) = written(&batches);
        let n: usize = batches.iter().sum();
        let last_start = (n - batches[batches.len() - 1]) as u64;
        // Keep 1..len-1 entries of the last batch.
        let kept = 1 + keep.index(batches[batches.len() - 1] - 1) as u64;
        let ops = (last_start + kept..n as u64).map(|i| Op::Delete(keys::log(i))).collect();
        store.apply(ops).unwrap();
        prop_assert_eq!(bad_at(&store), (last_start, Problem::Unsigned));
    }
}

#[test]
fn concurrent_appends_share_batches_and_each_gets_its_own_entries() {
    let store = Arc::new(MemoryStore::new());
    let log = Arc::new(open(store.clone()).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut led = 0;
                for i in 0..50 {
                    let plan = format!("p{}", t % 4);
                    let records = [record(&plan, t * 1000 + i), record("", t * 1000 + i)];
                    let a = log
                        .append(
                            &records,
                            vec![Op::Put(format!("own/{t}/{i}").into_bytes(), vec![1])],
                        )
                        .unwrap();
                    assert_eq!(a.entries.len(), 2);
                    assert_eq!(a.entries[1].index, a.entries[0].index + 1, "contiguous");
                    for (e, r) in a.entries.iter().zip(&records) {
                        assert_eq!(e.record, r.encode_to_vec(), "its own records back");
                    }
                    led += usize::from(a.led);
                }
                led
            })
        })
        .collect();
    let batches: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(log.size(), 16 * 50 * 2);
    // Every append's ops landed with its records.
    for t in 0..16 {
        for i in 0..50 {
            assert!(
                store
                    .get(format!("own/{t}/{i}").as_bytes())
                    .unwrap()
                    .is_some()
            );
        }
    }
    let checkpoints = (0..log.size())
        .filter(|i| entry(&store, *i).checkpoint.is_some())
        .count();
    assert_eq!(
        checkpoints, batches,
        "one signed checkpoint per batch written"
    );
    assert!(batches <= 16 * 50);
    verify(&store).expect("the log verifies batch by batch");
    // Every plan's chain links its records.
    drop(log);
    let reopened = open(store.clone()).unwrap();
    assert_eq!(reopened.size(), 1600);
}
