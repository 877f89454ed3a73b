//! Tests: a naive RFC 9162 reference written straight from the RFC text, known answers from the
//! transparency-dev/merkle test data, and properties checked against both.

mod checkpoint;
mod log;
mod map;
mod multi;
mod vectors;

use crate::hash::{Hash, node_hash};

/// The largest power of two smaller than `n` (RFC 9162 §2.1.1's `k`), for `n > 1`.
fn split(n: usize) -> usize {
    assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1).
pub(super) fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => crate::hash::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]) (RFC 9162 §2.1.3.1).
pub(super) fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) (RFC 9162 §2.1.4.1), for 0 < m < n.
pub(super) fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// The verification algorithm of RFC 9162 §2.1.3.2, step by step.
pub(super) fn rfc_verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    hash: Hash,
    inclusion_path: &[Hash],
    root_hash: Hash,
) -> bool {
    if leaf_index >= tree_size {
        return false;
    }
    let (mut f, mut s) = (leaf_index, tree_size - 1);
    let mut r = hash;
    for p in inclusion_path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == root_hash
}

/// The verification algorithm of RFC 9162 §2.1.4.2, step by step, for `0 < first < second`.
pub(super) fn rfc_verify_consistency(
    first: u64,
    second: u64,
    first_hash: Hash,
    second_hash: Hash,
    consistency_path: &[Hash],
) -> bool {
    assert!(0 < first && first < second);
    if consistency_path.is_empty() {
        return false;
    }
    let mut path = consistency_path.to_vec();
    if first.is_power_of_two() {
        path.insert(0, first_hash);
    }
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == first_hash && sr == second_hash && s == 0
}

/// Distinct leaf hashes for tests: leaf `i` hashes the bytes of `i`.
pub(super) fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| crate::leaf_hash(&i.to_be_bytes()))
        .collect()
}

/// A tree of `n` distinct leaves.
pub(super) fn tree(n: usize) -> crate::MemoryTree {
    let mut t = crate::MemoryTree::new();
    t.append(&leaves(n));
    t
}
