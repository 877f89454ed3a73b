//! Inclusion and consistency proofs of RFC 9162 §2.1.3 and §2.1.4: made from stored complete
//! subtrees, checked with nothing but hashes.
//!
//! Both proofs are the same walk. Take a node `(level, index)` in a tree of `size` leaves and count
//! in nodes of that level: there are `units = ⌈size / 2^level⌉`, the last possibly incomplete. The
//! path from the node to the root first climbs `inner` levels below the point where it meets the
//! path of the last unit (`inner` = bit length of `index XOR (units-1)`), with one sibling per
//! level, left or right as the bit of `index` says; only the topmost of those siblings can be
//! incomplete. From there the path runs along the tree's right edge, which only branches where
//! `index` has a set bit: `border = popcount(index >> inner)` complete left siblings. An RFC 9162
//! inclusion path (PATH) is that walk from a leaf, bottom up. A consistency proof (PROOF) is that
//! walk from the last complete subtree of the old tree, `[old - 2^tz(old), old)`, preceded by that
//! subtree's hash unless the old tree is itself that subtree (a power of two).

use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::tree::{NodeSource, TreeError, read, subtree_root};

/// What is wrong with a proof.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The old size is larger than the new size.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// Claimed old size.
        old: u64,
        /// Claimed new size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes and index it claims to be for.
    #[error("proof has {got} hashes where {expected} are needed")]
    WrongLength {
        /// Number the shape of the tree calls for.
        expected: usize,
        /// Number given.
        got: usize,
    },
    /// A multiproof checked for no leaves at all.
    #[error("a multiproof must prove at least one leaf")]
    NoLeaves,
    /// A multiproof's leaves are not in strictly increasing index order.
    #[error("the leaves of a multiproof must be in strictly increasing index order")]
    LeavesOutOfOrder,
    /// A multiproof ran out of hashes before the tree was complete.
    #[error("the proof has too few hashes")]
    ProofTooShort,
    /// The inclusion proof does not lead to the root.
    #[error("the proof does not lead to the root")]
    RootMismatch,
    /// The consistency proof does not lead to the old root.
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    /// The consistency proof does not lead to the new root.
    #[error("the proof does not lead to the new root")]
    NewRootMismatch,
    /// Two trees of one size with different roots: the log has forked.
    #[error("two different roots for the same size: the log has forked")]
    SameSizeDifferentRoots,
    /// A map proof longer than a key has bits.
    #[error("map proof has {depth} levels, more than the 256 a key has")]
    MapTooDeep {
        /// Number of siblings given.
        depth: usize,
    },
    /// A map absence proof shows the asked key's own leaf as if it were another key's.
    #[error("map proof shows the asked key as another key")]
    MapKeyShownAsOther,
    /// A map absence proof shows a leaf whose key does not belong where the path ends.
    #[error("map proof shows a leaf off the key's path at depth {depth}")]
    MapLeafOffPath {
        /// Depth where the path ends.
        depth: usize,
    },
    /// A map proof whose last sibling is empty: an honest map never has such a node.
    #[error("map proof ends beside an empty subtree, which an honest map never has")]
    MapNotCanonical,
}

/// `(inner, border)` of the path from node `index` among `units` nodes of one level (module docs).
fn path_shape(index: u64, units: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (units - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// Siblings on the path from the complete node `(level, index)` to the root of the tree of `size`
/// leaves, bottom up. Reads one node per sibling, plus up to 63 for the one incomplete sibling.
fn path<S: NodeSource + ?Sized>(
    level: u8,
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    let units = ((size - 1) >> level) + 1;
    let (inner, border) = path_shape(index, units);
    let mut proof = Vec::with_capacity(inner + border);
    for l in 0..inner {
        let at = level + l as u8;
        let start = ((index >> l) ^ 1) << at;
        let end = start.saturating_add(1 << at).min(size);
        proof.push(subtree_root(start, end, source)?);
    }
    for l in inner..64 - usize::from(level) {
        let above = index >> l;
        if above == 0 {
            break;
        }
        if above & 1 == 1 {
            proof.push(read(source, level + l as u8, above ^ 1)?);
        }
    }
    debug_assert_eq!(proof.len(), inner + border);
    Ok(proof)
}

/// RFC 9162 inclusion path of leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    path(0, index, size, source)
}

/// RFC 9162 consistency proof from the tree of `old` leaves to the tree of `new` leaves. Empty
/// when `old` is 0 or equals `new`, as those need no proof.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    old: u64,
    new: u64,
    source: &S,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if old > new {
        return Err(TreeError::SizesOutOfOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let level = old.trailing_zeros() as u8;
    let index = (old - 1) >> level;
    let mut proof = Vec::new();
    if index != 0 {
        proof.push(read(source, level, index)?);
    }
    proof.extend(path(level, index, new, source)?);
    Ok(proof)
}

/// Climbs from `seed` at `index` through `inner` siblings chosen by the bits of `index`, then
/// through left siblings along the right edge.
fn climb(seed: Hash, index: u64, inner: usize, proof: &[Hash]) -> Hash {
    let (below, edge) = proof.split_at(inner);
    let mut hash = seed;
    for (l, sibling) in below.iter().enumerate() {
        hash = if (index >> l) & 1 == 0 {
            node_hash(&hash, sibling)
        } else {
            node_hash(sibling, &hash)
        };
    }
    edge.iter()
        .fold(hash, |acc, sibling| node_hash(sibling, &acc))
}

fn expect_len(expected: usize, proof: &[Hash]) -> Result<(), ProofError> {
    if proof.len() == expected {
        Ok(())
    } else {
        Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        })
    }
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2). Costs one hash per proof element.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = path_shape(index, size);
    expect_len(inner + border, proof)?;
    if climb(*leaf, index, inner, proof) == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal
/// roots; size 0 needs an empty proof and the empty root. Costs at most two hashes per element.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    if old == new {
        expect_len(0, proof)?;
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::SameSizeDifferentRoots)
        };
    }
    if old == 0 {
        expect_len(0, proof)?;
        return if *old_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(ProofError::OldRootMismatch)
        };
    }
    let level = old.trailing_zeros();
    let index = (old - 1) >> level;
    let units = ((new - 1) >> level) + 1;
    let (inner, border) = path_shape(index, units);
    let seeded = index != 0;
    expect_len(usize::from(seeded) + inner + border, proof)?;
    let (seed, path) = if seeded {
        (proof[0], &proof[1..])
    } else {
        (*old_root, proof)
    };
    // The old tree is the seed folded with the left siblings only: the right ones lie past `old`.
    let (below, edge) = path.split_at(inner);
    let mut old_hash = seed;
    for (l, sibling) in below.iter().enumerate() {
        if (index >> l) & 1 == 1 {
            old_hash = node_hash(sibling, &old_hash);
        }
    }
    let old_hash = edge.iter().fold(old_hash, |acc, s| node_hash(s, &acc));
    if old_hash != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if climb(seed, index, inner, path) != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
