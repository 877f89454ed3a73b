//! Laws of the log: agreement with the naive RFC 9162 definitions, proofs that verify, and
//! corruptions that do not.

use proptest::prelude::*;

use super::{
    leaves, mth, path, proof, rfc_verify_consistency, rfc_verify_inclusion, tree as memory_tree,
};
use crate::hash::{Hash, node_hash};
use crate::tree::{Appender, MemoryTree, Node, NodeSource, TreeError, root};
use crate::{ProofError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..300).prop_flat_map(|n| (Just(n), 0..n))
}

/// Two sizes, old ≤ new.
fn two_sizes() -> impl Strategy<Value = (u64, u64)> {
    (0u64..300).prop_flat_map(|n| (0..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn roots_agree_with_mth_at_every_size(n in 0usize..300, at in any::<prop::sample::Index>()) {
        let all = leaves(n);
        let tree = memory_tree(n);
        prop_assert_eq!(tree.root(), mth(&all));
        let m = at.index(n + 1);
        prop_assert_eq!(root(m as u64, &tree).unwrap(), mth(&all[..m]));
    }

    #[test]
    fn inclusion_proofs_are_rfc_paths_and_verify((n, i) in size_and_index()) {
        let all = leaves(n as usize);
        let tree = memory_tree(n as usize);
        let got = inclusion_proof(i, n, &tree).unwrap();
        prop_assert_eq!(&got, &path(i as usize, &all));
        let root = tree.root();
        prop_assert_eq!(verify_inclusion(&all[i as usize], i, n, &got, &root), Ok(()));
        prop_assert!(rfc_verify_inclusion(i, n, all[i as usize], &got, root));
    }

    #[test]
    fn corrupted_inclusion_proofs_fail(
        (n, i) in size_and_index(),
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
        other in 1u64..300,
    ) {
        let n_max = n.max(other);
        let tree = memory_tree(n_max as usize);
        let all = leaves(n_max as usize);
        let leaf = all[i as usize];
        let good = inclusion_proof(i, n, &tree).unwrap();
        let root_n = root(n, &tree).unwrap();
        if !good.is_empty() {
            let at = pick.index(good.len());
            let mut flipped = good.clone();
            flipped[at][bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(verify_inclusion(&leaf, i, n, &flipped, &root_n), Err(ProofError::RootMismatch));
            let mut short = good.clone();
            short.remove(at);
            let refused = verify_inclusion(&leaf, i, n, &short, &root_n);
            prop_assert!(matches!(refused, Err(ProofError::WrongLength { .. })), "{:?}", refused);
        }
        let mut long = good.clone();
        long.push(root_n);
        prop_assert!(verify_inclusion(&leaf, i, n, &long, &root_n).is_err());
        let mut flipped_leaf = leaf;
        flipped_leaf[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&flipped_leaf, i, n, &good, &root_n).is_err());
        // Another index of the same tree, with this leaf and proof.
        let j = other % n;
        if j != i {
            prop_assert!(verify_inclusion(&leaf, j, n, &good, &root_n).is_err());
        }
        // Another size, with that size's true root.
        if other != n && i < other {
            let root_other = root(other, &tree).unwrap();
            prop_assert!(verify_inclusion(&leaf, i, other, &good, &root_other).is_err());
        }
    }

    #[test]
    fn consistency_proofs_are_rfc_proofs_and_verify((m, n) in two_sizes()) {
        let all = leaves(n as usize);
        let tree = memory_tree(n as usize);
        let got = consistency_proof(m, n, &tree).unwrap();
        let (root_m, root_n) = (root(m, &tree).unwrap(), tree.root());
        if 0 < m && m < n {
            prop_assert_eq!(&got, &proof(m as usize, &all));
            prop_assert!(rfc_verify_consistency(m, n, root_m, root_n, &got));
        } else {
            prop_assert!(got.is_empty());
        }
        prop_assert_eq!(verify_consistency(m, n, &root_m, &root_n, &got), Ok(()));
    }

    #[test]
    fn corrupted_consistency_proofs_fail(
        (m, n) in two_sizes(),
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
        other in 0u64..300,
    ) {
        prop_assume!(0 < m && m < n);
        let tree = memory_tree(n.max(other) as usize);
        let good = consistency_proof(m, n, &tree).unwrap();
        let (root_m, root_n) = (root(m, &tree).unwrap(), root(n, &tree).unwrap());
        let at = pick.index(good.len());
        let mut flipped = good.clone();
        flipped[at][bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(m, n, &root_m, &root_n, &flipped).is_err());
        let mut short = good.clone();
        short.remove(at);
        prop_assert!(verify_consistency(m, n, &root_m, &root_n, &short).is_err());
        let mut long = good.clone();
        long.push(root_n);
        prop_assert!(verify_consistency(m, n, &root_m, &root_n, &long).is_err());
        prop_assert!(verify_consistency(m, n, &root_n, &root_m, &good).is_err());
        let (mut wrong_m, mut wrong_n) = (root_m, root_n);
        wrong_m[bit / 8] ^= 1 << (bit % 8);
        wrong_n[bit / 8] ^= 1 << (bit % 8);
        // When `m` is a power of two the old root is where the climb starts, so it is caught at
        // the new root.
        let refused = verify_consistency(m, n, &wrong_m, &root_n, &good);
        prop_assert!(
            matches!(refused, Err(ProofError::OldRootMismatch | ProofError::NewRootMismatch)),
            "{:?}", refused
        );
        prop_assert_eq!(
            verify_consistency(m, n, &root_m, &wrong_n, &good),
            Err(ProofError::NewRootMismatch)
        );
        // Another old size, or another new size, each with its true root.
        if other != m && other <= n {
            let root_other = root(other, &tree).unwrap();
            prop_assert!(verify_consistency(other, n, &root_other, &root_n, &good).is_err());
        }
        if other != n && other >= m {
            let root_other = root(other, &tree).unwrap();
            prop_assert!(verify_consistency(m, other, &root_m, &root_other, &good).is_err());
        }
    }

    /// Whatever is done to a valid proof, our verifier and the RFC's step-by-step algorithm give
    /// the same verdict.
    #[test]
    fn verifiers_agree_with_the_rfc_algorithm(
        (m, n) in two_sizes(),
        i in any::<prop::sample::Index>(),
        edit in 0u8..8,
        pick in any::<prop::sample::Index>(),
        delta in -3i64..=3,
    ) {
        prop_assume!(0 < m && m < n);
        let tree = memory_tree(n as usize + 3);
        let all = leaves(n as usize + 3);
        let i = i.index(n as usize) as u64;
        let shift = |x: u64| x.saturating_add_signed(delta);
        let mutate = |mut p: Vec<Hash>| -> Vec<Hash> {
            if p.is_empty() {
                return p;
            }
            let at = pick.index(p.len());
            match edit {
                0 => { p[at][0] ^= 1; }
                1 => { p.remove(at); }
                2 => { let dup = p[at]; p.insert(at, dup); }
                3 => { let last = p.len() - 1; p.swap(at, last); }
                _ => {}
            }
            p
        };
        let size_of = |s: u64| root(s.min(n + 3), &tree).unwrap();

        let incl = mutate(inclusion_proof(i, n, &tree).unwrap());
        let (ci, cn) = if edit == 4 { (shift(i), n) } else if edit == 5 { (i, shift(n)) } else { (i, n) };
        let leaf = all[(i as usize).min(all.len() - 1)];
        let ours = verify_inclusion(&leaf, ci, cn, &incl, &size_of(cn)).is_ok();
        prop_assert_eq!(ours, rfc_verify_inclusion(ci, cn, leaf, &incl, size_of(cn)));

        let cons = mutate(consistency_proof(m, n, &tree).unwrap());
        let (cm, cn) = if edit == 6 { (shift(m), n) } else if edit == 7 { (m, shift(n)) } else { (m, n) };
        if 0 < cm && cm < cn {
            let (mut root_m, root_n) = (size_of(cm), size_of(cn));
            if pick.index(2) == 0 {
                root_m[31] ^= 1;
            }
            let ours = verify_consistency(cm, cn, &root_m, &root_n, &cons).is_ok();
            prop_assert_eq!(ours, rfc_verify_consistency(cm, cn, root_m, root_n, &cons));
        }
    }

    /// A log grown in random batches: every checkpoint taken on the way is consistent with every
    /// later one, is recomputed from the store, and the appender restored at it continues alike.
    #[test]
    fn checkpoints_across_random_batches_stay_consistent(
        batches in prop::collection::vec(0usize..40, 1..12),
    ) {
        let total: usize = batches.iter().sum();
        let all = leaves(total);
        let mut tree = MemoryTree::new();
        let mut checkpoints = vec![(0u64, tree.root())];
        let mut at = 0;
        for b in &batches {
            tree.append(&all[at..at + b]);
            at += b;
            checkpoints.push((tree.size(), tree.root()));
        }
        for (a, &(m, root_m)) in checkpoints.iter().enumerate() {
            prop_assert_eq!(root(m, &tree).unwrap(), root_m);
            let restored = Appender::restore(m, &tree).unwrap();
            prop_assert_eq!(restored.root(), root_m);
            let mut continued = restored;
            continued.append(&all[m as usize..]);
            prop_assert_eq!(continued.root(), tree.root());
            for &(n, root_n) in &checkpoints[a..] {
                let p = consistency_proof(m, n, &tree).unwrap();
                prop_assert_eq!(verify_consistency(m, n, &root_m, &root_n, &p), Ok(()));
            }
        }
    }

    /// Every node the appender hands out is the hash of the complete subtree it names.
    #[test]
    fn appended_nodes_are_complete_subtrees(n in 0usize..200) {
        let all = leaves(n);
        let nodes: Vec<Node> = Appender::new().append(&all);
        let interior = nodes.iter().filter(|x| x.level > 0).count();
        prop_assert_eq!(nodes.len() - interior, n);
        prop_assert_eq!(interior, n.saturating_sub(n.count_ones() as usize));
        for node in nodes {
            let width = 1usize << node.level;
            let start = node.index as usize * width;
            prop_assert_eq!(node.hash, mth(&all[start..start + width]));
        }
    }
}

#[test]
fn generation_refuses_bad_arguments_and_missing_nodes() {
    let tree = memory_tree(5);
    assert_eq!(
        inclusion_proof(5, 5, &tree),
        Err(TreeError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        consistency_proof(6, 5, &tree),
        Err(TreeError::SizesOutOfOrder { old: 6, new: 5 })
    );
    assert!(matches!(
        root(6, &tree),
        Err(TreeError::Source {
            level: 1,
            index: 2,
            ..
        })
    ));
    assert!(inclusion_proof(0, 9, &tree).is_err());
}

/// A log of 2^64 − 1 identical leaves, held implicitly: the hash of a complete subtree depends
/// only on its level. Checks the arithmetic at sizes no test could store.
struct Uniform(Vec<Hash>);

impl Uniform {
    fn new() -> Self {
        let mut levels = vec![crate::leaf_hash(b"same")];
        for l in 1..64 {
            let below = levels[l - 1];
            levels.push(node_hash(&below, &below));
        }
        Self(levels)
    }
}

impl NodeSource for Uniform {
    type Error = std::convert::Infallible;

    fn node(&self, level: u8, _index: u64) -> Result<Hash, Self::Error> {
        Ok(self.0[usize::from(level)])
    }
}

#[test]
fn proofs_hold_at_sizes_near_the_top_of_u64() {
    let source = Uniform::new();
    let leaf = source.0[0];
    let sizes = [
        u64::MAX,
        u64::MAX - 1,
        1 << 63,
        (1 << 63) + 1,
        (1 << 63) - 1,
        0x5555_5555_5555_5555,
    ];
    for &n in &sizes {
        let root_n = root(n, &source).unwrap();
        for i in [0, 1, n / 3, n / 2, n - 2, n - 1] {
            let p = inclusion_proof(i, n, &source).unwrap();
            assert!(p.len() <= 64, "{i} of {n}");
            assert_eq!(
                verify_inclusion(&leaf, i, n, &p, &root_n),
                Ok(()),
                "{i} of {n}"
            );
            assert!(rfc_verify_inclusion(i, n, leaf, &p, root_n), "{i} of {n}");
        }
        for m in [1, 2, 3, n / 2, n - 1] {
            let root_m = root(m, &source).unwrap();
            let p = consistency_proof(m, n, &source).unwrap();
            assert_eq!(
                verify_consistency(m, n, &root_m, &root_n, &p),
                Ok(()),
                "{m} to {n}"
            );
            assert!(
                rfc_verify_consistency(m, n, root_m, root_n, &p),
                "{m} to {n}"
            );
        }
    }
}
