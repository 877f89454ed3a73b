//! Laws of the multiproof: it proves exactly what one inclusion proof per leaf proves, never
//! needs more hashes than those proofs together, and fails on any change.

use proptest::prelude::*;

use super::{leaves, path, tree as memory_tree};
use crate::hash::Hash;
use crate::tree::{TreeError, root};
use crate::{ProofError, inclusion_multiproof, verify_inclusion_multi};

/// A tree size and a non-empty, strictly increasing set of leaf indices in it.
fn size_and_indices() -> impl Strategy<Value = (u64, Vec<u64>)> {
    (1u64..300).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::btree_set(0..n, 1..12).prop_map(|s| s.into_iter().collect()),
        )
    })
}

fn pairs(all: &[Hash], indices: &[u64]) -> Vec<(u64, Hash)> {
    indices.iter().map(|&i| (i, all[i as usize])).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn multiproofs_verify_and_are_no_longer_than_separate_paths((n, idx) in size_and_indices()) {
        let all = leaves(n as usize);
        let tree = memory_tree(n as usize);
        let proof = inclusion_multiproof(&idx, n, &tree).unwrap();
        let root_n = tree.root();
        prop_assert_eq!(verify_inclusion_multi(&pairs(&all, &idx), n, &proof, &root_n), Ok(()));
        let separate: usize = idx.iter().map(|&i| path(i as usize, &all).len()).sum();
        prop_assert!(proof.len() <= separate, "{} > {}", proof.len(), separate);
        if idx.len() == 1 {
            // One leaf: the same hashes as its RFC 9162 path, in top-down order.
            let mut a = proof.clone();
            let mut b = path(idx[0] as usize, &all);
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
        }
        // Also against a past size holding every leaf.
        let m = idx[idx.len() - 1] + 1;
        let past = inclusion_multiproof(&idx, m, &tree).unwrap();
        prop_assert_eq!(
            verify_inclusion_multi(&pairs(&all, &idx), m, &past, &root(m, &tree).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn changed_multiproofs_fail(
        (n, idx) in size_and_indices(),
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let all = leaves(n as usize);
        let tree = memory_tree(n as usize);
        let proof = inclusion_multiproof(&idx, n, &tree).unwrap();
        let root_n = tree.root();
        let good = pairs(&all, &idx);
        // A leaf left out, with the same proof: the proof no longer fits the shape.
        if good.len() > 1 {
            let mut fewer = good.clone();
            fewer.remove(pick.index(good.len()));
            prop_assert!(verify_inclusion_multi(&fewer, n, &proof, &root_n).is_err());
        }
        // A leaf changed.
        let mut changed = good.clone();
        let at = pick.index(changed.len());
        changed[at].1[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(verify_inclusion_multi(&changed, n, &proof, &root_n), Err(ProofError::RootMismatch));
        // A leaf moved to an index not proved.
        let moved_to = (good[at].0 + 1..n).find(|i| !idx.contains(i));
        if let Some(to) = moved_to {
            let mut moved = good.clone();
            moved[at].0 = to;
            moved.sort_by_key(|p| p.0);
            prop_assert!(verify_inclusion_multi(&moved, n, &proof, &root_n).is_err());
        }
        if !proof.is_empty() {
            let mut flipped = proof.clone();
            let at = pick.index(proof.len());
            flipped[at][bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(verify_inclusion_multi(&good, n, &flipped, &root_n), Err(ProofError::RootMismatch));
            let mut short = proof.clone();
            short.remove(at);
            prop_assert!(verify_inclusion_multi(&good, n, &short, &root_n).is_err());
        }
        let mut long = proof.clone();
        long.push(root_n);
        prop_assert!(verify_inclusion_multi(&good, n, &long, &root_n).is_err());
    }
}

#[test]
fn refuses_empty_unordered_and_out_of_range_leaves() {
    let tree = memory_tree(10);
    let all = leaves(10);
    let root_n = tree.root();
    assert_eq!(
        verify_inclusion_multi(&[], 10, &[], &root_n),
        Err(ProofError::NoLeaves)
    );
    assert_eq!(
        verify_inclusion_multi(&[(3, all[3]), (2, all[2])], 10, &[], &root_n),
        Err(ProofError::LeavesOutOfOrder)
    );
    assert_eq!(
        verify_inclusion_multi(&[(3, all[3]), (3, all[3])], 10, &[], &root_n),
        Err(ProofError::LeavesOutOfOrder)
    );
    assert!(matches!(
        verify_inclusion_multi(&[(10, all[3])], 10, &[], &root_n),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        inclusion_multiproof(&[2, 2], 10, &tree),
        Err(TreeError::LeavesOutOfOrder)
    ));
    assert!(matches!(
        inclusion_multiproof(&[10], 10, &tree),
        Err(TreeError::IndexOutOfRange { .. })
    ));
    assert_eq!(
        inclusion_multiproof(&[], 10, &tree).unwrap(),
        Vec::<Hash>::new()
    );
}

#[test]
fn neighbours_share_their_path() {
    // Eight leaves side by side in a tree of 2^12 need the path of their subtree only.
    let n = 1 << 12;
    let tree = memory_tree(n);
    let idx: Vec<u64> = (1024..1032).collect();
    let proof = inclusion_multiproof(&idx, n as u64, &tree).unwrap();
    assert_eq!(proof.len(), 12 - 3);
}
