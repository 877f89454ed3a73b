//! The log as stored: hashes of complete subtrees, the appender's frontier, and roots of any size.
//!
//! A *node* `(level h, index i)` is the complete subtree over leaves `[i·2^h, (i+1)·2^h)`; level 0
//! holds the leaf hashes. Complete subtrees never change once written, so a store can keep them in
//! an append-only table keyed by `(level, index)`. An RFC 9162 tree of any size `n` is the
//! right-leaning fold of the complete subtrees given by the set bits of `n`, highest first, so the
//! root of every past size can be computed from what is stored without keeping old roots.

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Read access to the stored complete-subtree hashes of a log.
pub trait NodeSource {
    /// Why a node could not be read (a storage error, or a node that was never stored).
    type Error;

    /// Hash of the complete subtree over leaves `[index·2^level, (index+1)·2^level)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A complete subtree's hash, produced by [`Appender::append`] for the caller to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// Height above the leaves (0 for a leaf).
    pub level: u8,
    /// Position among the nodes of this level.
    pub index: u64,
    /// The subtree's hash.
    pub hash: Hash,
}

/// Why a root or proof could not be computed from a [`NodeSource`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError<E> {
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A multiproof was asked for leaf indices that are not strictly increasing.
    #[error("leaf indices must be strictly increasing")]
    LeavesOutOfOrder,
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// The size the proof starts from.
        old: u64,
        /// The size the proof leads to.
        new: u64,
    },
    /// The node source failed to give a node (e.g. the size asked for is beyond what is stored).
    #[error("reading node at level {level}, index {index}: {error}")]
    Source {
        /// Level of the node that could not be read.
        level: u8,
        /// Index of the node that could not be read.
        index: u64,
        /// What the source said.
        #[source]
        error: E,
    },
}

pub(crate) fn read<S: NodeSource + ?Sized>(
    source: &S,
    level: u8,
    index: u64,
) -> Result<Hash, TreeError<S::Error>> {
    source
        .node(level, index)
        .map_err(|error| TreeError::Source {
            level,
            index,
            error,
        })
}

/// Folds subtree hashes given left to right into the hash of the tree they form, as RFC 9162's
/// MTH does: each part is the left child of the fold of the parts to its right.
fn fold_right(parts: &[Hash]) -> Hash {
    match parts.split_last() {
        None => EMPTY_ROOT,
        Some((last, rest)) => rest.iter().rev().fold(*last, |acc, l| node_hash(l, &acc)),
    }
}

/// Hash of the RFC 9162 subtree over leaves `[start, end)`, where `start` is a multiple of a power
/// of two at least `end - start` (true of every node of an RFC 9162 tree). Reads one complete
/// subtree per set bit of `end - start`.
pub(crate) fn subtree_root<S: NodeSource + ?Sized>(
    start: u64,
    end: u64,
    source: &S,
) -> Result<Hash, TreeError<S::Error>> {
    debug_assert!(start < end);
    let len = end - start;
    let mut parts = Vec::with_capacity(len.count_ones() as usize);
    let mut pos = start;
    for level in (0..64u8).rev() {
        if (len >> level) & 1 == 1 {
            parts.push(read(source, level, pos >> level)?);
            pos += 1 << level;
        }
    }
    Ok(fold_right(&parts))
}

/// Root of the tree of the first `size` leaves. Any `size` up to what the source holds works, so
/// a checkpoint of any past size can be rechecked; it reads `popcount(size)` ≤ 64 nodes.
pub fn root<S: NodeSource + ?Sized>(size: u64, source: &S) -> Result<Hash, TreeError<S::Error>> {
    if size == 0 {
        Ok(EMPTY_ROOT)
    } else {
        subtree_root(0, size, source)
    }
}

/// The frontier of a growing log: the hashes of the complete subtrees along its right edge, one per
/// set bit of the size (at most 64). Appending and taking the root need no reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Appender {
    size: u64,
    /// One hash per set bit of `size`, highest level first.
    frontier: Vec<Hash>,
}

impl Appender {
    /// The frontier of an empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of a stored log of `size` leaves, reading `popcount(size)` nodes.
    pub fn restore<S: NodeSource + ?Sized>(
        size: u64,
        source: &S,
    ) -> Result<Self, TreeError<S::Error>> {
        let mut frontier = Vec::with_capacity(size.count_ones() as usize);
        let mut pos = 0u64;
        for level in (0..64u8).rev() {
            if (size >> level) & 1 == 1 {
                frontier.push(read(source, level, pos >> level)?);
                pos += 1 << level;
            }
        }
        Ok(Self { size, frontier })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Current root: `popcount(size) - 1` hashes, no reads.
    pub fn root(&self) -> Hash {
        fold_right(&self.frontier)
    }

    /// Appends leaf hashes and returns every subtree they complete (the leaves themselves
    /// included), in an order where each node comes after its children. Storing all of them is
    /// what [`root`], [`inclusion_proof`](crate::inclusion_proof) and
    /// [`consistency_proof`](crate::consistency_proof) later read. Costs one node hash per
    /// completed interior node: fewer than one per leaf, amortised.
    pub fn append(&mut self, leaves: &[Hash]) -> Vec<Node> {
        let mut out = Vec::with_capacity(leaves.len() * 2);
        for leaf in leaves {
            self.push(*leaf, &mut out);
        }
        out
    }

    /// Appends one leaf hash, adding the nodes it completes to `out`.
    pub fn push(&mut self, leaf: Hash, out: &mut Vec<Node>) {
        let mut hash = leaf;
        let mut level = 0u8;
        let mut index = self.size;
        out.push(Node { level, index, hash });
        // Each set low bit of the old size is a complete left sibling waiting on the frontier.
        while (self.size >> level) & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .expect("frontier holds one hash per set bit of the size");
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            out.push(Node { level, index, hash });
        }
        self.frontier.push(hash);
        self.size += 1;
    }
}

/// A node was asked for that a [`MemoryTree`] does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index}")]
pub struct MissingNode {
    /// Level asked for.
    pub level: u8,
    /// Index asked for.
    pub index: u64,
}

/// A log held in memory, one vector of complete-subtree hashes per level. For tests, and as the
/// reference a store-backed [`NodeSource`] must agree with.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    appender: Appender,
}

impl MemoryTree {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends leaf hashes and stores the subtrees they complete.
    pub fn append(&mut self, leaves: &[Hash]) {
        for node in self.appender.append(leaves) {
            let level = usize::from(node.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(self.levels[level].len() as u64, node.index);
            self.levels[level].push(node.hash);
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.appender.size()
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.appender.root()
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| usize::try_from(index).ok().and_then(|i| l.get(i)))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}
