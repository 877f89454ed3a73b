//! Inclusion of several leaves in one proof, for an extract that shows many records of one log.
//!
//! Separate RFC 9162 inclusion paths for `k` leaves repeat every node their paths share: `k ·
//! log2 n` hashes. A multiproof gives each needed node once. It follows the RFC's recursive split
//! of the tree (`MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))`, `k` the largest power of two
//! below `n`): a subtree that holds none of the proved leaves is one hash in the proof; a subtree
//! that is exactly one proved leaf needs nothing; any other subtree is split again. Hashes come in
//! that walk's order (left before right), so the verifier, walking the same tree shape from the
//! indices and the size alone, knows where each one goes. For `k` leaves spread over a tree of
//! `n`, that is at most `k · ⌈log2 n⌉` hashes, and about `k · (log2 n − log2 k + 1.4)` when spread
//! at random; leaves next to each other share almost all of it.
//!
//! It proves the same thing as one inclusion proof per leaf: each leaf hash sits at its index in
//! the tree whose root is given. The verifier refuses proofs with hashes left over or missing.

use crate::hash::{Hash, node_hash};
use crate::proof::ProofError;
use crate::tree::{NodeSource, TreeError, subtree_root};

/// Largest power of two strictly below `n` (`n ≥ 2`): where RFC 9162 splits a tree of `n`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Multiproof that the leaves at `indices` are in the tree of the first `size` leaves. The
/// indices must be strictly increasing and below `size`; an empty list needs no proof.
pub fn inclusion_multiproof<S: NodeSource + ?Sized>(
    indices: &[u64],
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if let Some(&index) = indices.iter().find(|&&i| i >= size) {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    if indices.windows(2).any(|w| w[0] >= w[1]) {
        return Err(TreeError::LeavesOutOfOrder);
    }
    let mut out = Vec::new();
    if !indices.is_empty() {
        collect(0, size, indices, source, &mut out)?;
    }
    Ok(out)
}

/// Adds the hashes the subtree `[start, end)` needs for the proved `inside` leaves.
fn collect<S: NodeSource + ?Sized>(
    start: u64,
    end: u64,
    inside: &[u64],
    source: &S,
    out: &mut Vec<Hash>,
) -> Result<(), TreeError<S::Error>> {
    if inside.is_empty() {
        out.push(subtree_root(start, end, source)?);
        return Ok(());
    }
    if end - start == 1 {
        return Ok(());
    }
    let mid = start + split(end - start);
    let cut = inside.partition_point(|&i| i < mid);
    collect(start, mid, &inside[..cut], source, out)?;
    collect(mid, end, &inside[cut..], source, out)
}

/// Checks that each `(index, leaf hash)` is that leaf of the tree of `size` leaves whose root is
/// `root`. Indices must be strictly increasing and below `size`, and at least one must be given.
/// Costs one hash per interior node on the union of the leaves' paths.
pub fn verify_inclusion_multi(
    leaves: &[(u64, Hash)],
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if leaves.is_empty() {
        return Err(ProofError::NoLeaves);
    }
    if let Some(&(index, _)) = leaves.iter().find(|(i, _)| *i >= size) {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if leaves.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(ProofError::LeavesOutOfOrder);
    }
    let mut rest = proof;
    let got = fold(0, size, leaves, &mut rest)?;
    if !rest.is_empty() {
        return Err(ProofError::WrongLength {
            expected: proof.len() - rest.len(),
            got: proof.len(),
        });
    }
    if got == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Hash of the subtree `[start, end)` from the proved leaves inside it and the proof's next hashes.
fn fold(
    start: u64,
    end: u64,
    inside: &[(u64, Hash)],
    proof: &mut &[Hash],
) -> Result<Hash, ProofError> {
    if inside.is_empty() {
        let (first, rest) = proof.split_first().ok_or(ProofError::ProofTooShort)?;
        *proof = rest;
        return Ok(*first);
    }
    if end - start == 1 {
        return Ok(inside[0].1);
    }
    let mid = start + split(end - start);
    let cut = inside.partition_point(|(i, _)| *i < mid);
    let left = fold(start, mid, &inside[..cut], proof)?;
    let right = fold(mid, end, &inside[cut..], proof)?;
    Ok(node_hash(&left, &right))
}
