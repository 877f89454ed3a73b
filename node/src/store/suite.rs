//! One test suite for every engine (garage's `src/db/test.rs` pattern): each test is a function
//! over the trait, run against sled in a temp dir and against the in-memory store.

use super::{MemoryStore, Op, SledStore, Store};

fn put(k: &str, v: &str) -> Op {
    Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn keys(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<&[u8]> {
    pairs.iter().map(|(k, _)| k.as_slice()).collect()
}

fn scans_stay_inside_their_prefix_and_resume_after_a_key(s: &dyn Store) {
    s.apply(vec![
        put("a/1", "x"),
        put("a/2", "y"),
        put("a/3", "z"),
        put("b/1", "w"),
        put("a", "outside"),
    ])
    .unwrap();
    assert_eq!(
        keys(&s.scan(b"a/", None, 10).unwrap()),
        [b"a/1", b"a/2", b"a/3"]
    );
    assert_eq!(
        keys(&s.scan(b"a/", Some(b"a/1"), 10).unwrap()),
        [b"a/2", b"a/3"]
    );
    assert_eq!(s.scan(b"a/", None, 1).unwrap().len(), 1);
    assert_eq!(s.scan(b"a/", Some(b"a/3"), 10).unwrap(), vec![]);
    assert_eq!(s.scan(b"c/", None, 10).unwrap(), vec![]);
    assert_eq!(s.last(b"a/").unwrap().unwrap().0, b"a/3");
    assert_eq!(s.last(b"c/").unwrap(), None);
}

fn a_batch_puts_and_deletes_together(s: &dyn Store) {
    s.apply(vec![put("k1", "v1"), put("k2", "v2")]).unwrap();
    s.apply(vec![
        Op::Delete(b"k1".to_vec()),
        put("k2", "v3"),
        put("k4", "v4"),
    ])
    .unwrap();
    assert_eq!(s.get(b"k1").unwrap(), None);
    assert_eq!(s.get(b"k2").unwrap(), Some(b"v3".to_vec()));
    assert_eq!(s.get(b"k4").unwrap(), Some(b"v4".to_vec()));
    // Deleting what is absent is not an error.
    s.apply(vec![Op::Delete(b"nothing".to_vec())]).unwrap();
}

fn keys_order_as_bytes(s: &dyn Store) {
    // Big-endian counters sort as numbers: the log and the outbox depend on it.
    let ops = [3u64, 256, 1, 65_536]
        .iter()
        .map(|n| Op::Put([b"n/".as_slice(), &n.to_be_bytes()].concat(), vec![]))
        .collect();
    s.apply(ops).unwrap();
    let got: Vec<u64> = s
        .scan(b"n/", None, 10)
        .unwrap()
        .iter()
        .map(|(k, _)| u64::from_be_bytes(k[2..].try_into().unwrap()))
        .collect();
    assert_eq!(got, [1, 3, 256, 65_536]);
    let (k, _) = s.last(b"n/").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(k[2..].try_into().unwrap()), 65_536);
}

fn run_all(make: impl Fn() -> Box<dyn Store>) {
    scans_stay_inside_their_prefix_and_resume_after_a_key(make().as_ref());
    a_batch_puts_and_deletes_together(make().as_ref());
    keys_order_as_bytes(make().as_ref());
}

#[test]
fn memory_store_keeps_the_promises() {
    run_all(|| Box::new(MemoryStore::new()));
}

#[test]
fn sled_store_keeps_the_promises() {
    let dirs = std::cell::RefCell::new(Vec::new());
    run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        dirs.borrow_mut().push(dir);
        Box::new(s)
    });
}

#[test]
fn a_flushed_batch_survives_reopening_sled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.apply(vec![put("k1", "v1"), put("k2", "v2")]).unwrap();
        s.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.get(b"k2").unwrap(), Some(b"v2".to_vec()));
}

#[test]
fn a_memory_crash_keeps_only_what_was_flushed() {
    let s = MemoryStore::new();
    s.apply(vec![put("k1", "v1")]).unwrap();
    s.flush().unwrap();
    s.apply(vec![put("k2", "v2"), Op::Delete(b"k1".to_vec())])
        .unwrap();
    let after = s.crash();
    assert_eq!(after.get(b"k1").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(after.get(b"k2").unwrap(), None);
}
