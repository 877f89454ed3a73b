//! Known answers: the eight-leaf tree of the transparency-dev/merkle test data (as used by CT
//! implementations), checked against our roots, proofs and verifiers.

use crate::hash::{EMPTY_ROOT, Hash, leaf_hash};
use crate::{
    MemoryTree, ProofError, consistency_proof, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};

fn h(hex: &str) -> Hash {
    assert_eq!(hex.len(), 64);
    std::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
}

fn data() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        (0x50..=0x57).collect(),
        (0x60..=0x6f).collect(),
    ]
}

/// Roots of the trees of the first 1..=8 entries of [`data`].
fn roots() -> Vec<Hash> {
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    .map(h)
    .to_vec()
}

/// (leaf index, tree size, path).
fn inclusions() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (0, 1, vec![]),
    ]
}

/// (old size, new size, proof).
fn consistencies() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn known_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    let leaves: Vec<Hash> = data().iter().map(|d| leaf_hash(d)).collect();
    tree.append(&leaves);
    tree
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    use sha2::Digest;
    let digest: Hash = sha2::Sha256::digest(b"").into();
    assert_eq!(EMPTY_ROOT, digest);
    assert_eq!(root(0, &MemoryTree::new()), Ok(EMPTY_ROOT));
    assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
}

#[test]
fn roots_of_every_prefix_are_the_known_ones() {
    let tree = known_tree();
    for (i, want) in roots().iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(root(size, &tree).unwrap(), *want, "size {size}");
        let mut grown = MemoryTree::new();
        let leaves: Vec<Hash> = data()[..=i].iter().map(|d| leaf_hash(d)).collect();
        grown.append(&leaves);
        assert_eq!(grown.root(), *want, "appender at size {size}");
    }
}

#[test]
fn inclusion_proofs_are_the_known_ones_and_verify() {
    let tree = known_tree();
    let roots = roots();
    for (index, size, want) in inclusions() {
        let got = inclusion_proof(index, size, &tree).unwrap();
        assert_eq!(got, want, "leaf {index} of {size}");
        let leaf = leaf_hash(&data()[index as usize]);
        let root = roots[size as usize - 1];
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();
        for (wrong_index, wrong_size, wrong_leaf, wrong_root, proof) in
            corrupt_inclusion(index, size, leaf, root, &want)
        {
            assert!(
                verify_inclusion(&wrong_leaf, wrong_index, wrong_size, &proof, &wrong_root)
                    .is_err(),
                "leaf {index} of {size}: corrupted to {wrong_index} of {wrong_size}, {proof:?}"
            );
        }
    }
}

/// Corruptions in the spirit of the reference test suite: wrong index, size, leaf or root; hashes
/// added, removed or changed.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    leaf: Hash,
    root: Hash,
    proof: &[Hash],
) -> Vec<(u64, u64, Hash, Hash, Vec<Hash>)> {
    let p = proof.to_vec();
    let other = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let mut out = vec![
        (index.wrapping_sub(1), size, leaf, root, p.clone()),
        (index + 1, size, leaf, root, p.clone()),
        (index ^ 2, size, leaf, root, p.clone()),
        (index, size * 2, leaf, root, p.clone()),
        (index, size / 2, leaf, root, p.clone()),
        (index, size, other, root, p.clone()),
        (index, size, leaf, EMPTY_ROOT, p.clone()),
        (index, size, leaf, other, p.clone()),
        (index, size, leaf, root, [p.clone(), vec![root]].concat()),
        (index, size, leaf, root, [vec![root], p.clone()].concat()),
        (index, size, leaf, root, [vec![[0; 32]], p.clone()].concat()),
    ];
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][0] ^= 8;
        out.push((index, size, leaf, root, q));
        let mut q = p.clone();
        q.remove(i);
        out.push((index, size, leaf, root, q));
    }
    out
}

#[test]
fn consistency_proofs_are_the_known_ones_and_verify() {
    let tree = known_tree();
    let roots = roots();
    for (old, new, want) in consistencies() {
        let got = consistency_proof(old, new, &tree).unwrap();
        assert_eq!(got, want, "{old} to {new}");
        let (r1, r2) = (roots[old as usize - 1], roots[new as usize - 1]);
        verify_consistency(old, new, &r1, &r2, &want).unwrap();
        if want.is_empty() {
            continue;
        }
        let other = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut probes = vec![
            (old - 1, new, r1, r2, want.clone()),
            (old + 1, new, r1, r2, want.clone()),
            (old ^ 2, new, r1, r2, want.clone()),
            (old, new * 2, r1, r2, want.clone()),
            (old, new / 2, r1, r2, want.clone()),
            (old, new, other, r2, want.clone()),
            (old, new, r1, other, want.clone()),
            (old, new, r2, r1, want.clone()),
            (old, new, r1, r2, vec![]),
            (old, new, r1, r2, [want.clone(), vec![r1]].concat()),
            (old, new, r1, r2, [want.clone(), vec![r2]].concat()),
            (old, new, r1, r2, [vec![r1], want.clone()].concat()),
            (old, new, r1, r2, [vec![r2], want.clone()].concat()),
            (old, new, r1, r2, [vec![want[0]], want.clone()].concat()),
            (old, new, r1, r2, want[..want.len() - 1].to_vec()),
        ];
        for i in 0..want.len() {
            let mut q = want.clone();
            q[i][0] ^= 16;
            probes.push((old, new, r1, r2, q));
        }
        for (o, n, a, b, p) in probes {
            assert!(
                verify_consistency(o, n, &a, &b, &p).is_err(),
                "{old} to {new}: corrupted to {o} to {n}, {p:?}"
            );
        }
    }
}

#[test]
fn trivial_consistency_cases() {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    assert_eq!(
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
        Ok(())
    );
    assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &some, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 5, &some, &some, &[]),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(3, 3, &some, &EMPTY_ROOT, &[]),
        Err(ProofError::SameSizeDifferentRoots)
    );
    assert_eq!(
        verify_consistency(3, 3, &some, &some, &[some]),
        Err(ProofError::WrongLength {
            expected: 0,
            got: 1
        })
    );
    assert_eq!(
        verify_consistency(4, 3, &some, &some, &[]),
        Err(ProofError::SizesOutOfOrder { old: 4, new: 3 })
    );
    assert_eq!(
        verify_consistency(1, 2, &some, &some, &[]),
        Err(ProofError::WrongLength {
            expected: 1,
            got: 0
        })
    );
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(
            verify_inclusion(&some, index, size, &[], &some),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
}
