//! The plan map: a sparse Merkle map from plan key to that plan's latest access record, so a
//! checkpoint commits to every plan's head and a plan's extract can be shown to be complete.
//!
//! # Shape
//! A binary trie over the 256 bits of the key, most significant bit first. Its hash is canonical,
//! a function of the set of `(key, value)` pairs alone, whatever order they were inserted in:
//! - an empty subtree hashes to [`MAP_EMPTY`];
//! - a subtree holding exactly one entry hashes to that entry's leaf hash
//!   `SHA-256(0x02 ‖ key ‖ SHA-256(value))`, wherever it sits;
//! - any other subtree hashes to `SHA-256(0x03 ‖ left ‖ right)`.
//!
//! The single-entry rule (as in Diem's Jellyfish Merkle tree and "compact sparse Merkle trees")
//! stops each path where its entry is alone, so with keys that are hashes the depth is about
//! `log2(entries) + 1.3` (about 18 at 10^5 plans) rather than 256.
//!
//! # Proofs
//! A [`MapProof`] is the sibling hashes from the root down to where the key's path stops, and what
//! it stops at: the key's own leaf (the value is shown), an empty subtree, or another key's leaf
//! (that key and its value's *hash* are shown, never its value). Keys are hashes of plan ids, so a
//! shown key names no plan. The verifier checks that another key's leaf really lies on the asked
//! key's path, and that the last sibling is not empty (an honest map would have hoisted the leaf),
//! so one root gives every key exactly one provable answer.
//!
//! # Cost
//! An insert re-hashes its path: about `depth + 2` SHA-256 calls. [`PlanMap::extend`] inserts a
//! batch and re-hashes each touched node once. A proof has `depth` hashes; checking it costs
//! `depth + 2` hash calls.

use sha2::{Digest, Sha256};

use crate::hash::{Hash, MAP_EMPTY, map_leaf_hash, map_node_hash, map_value_hash};
use crate::proof::ProofError;

/// The map key of a plan: `SHA-256("kronobarn/plan-key\0" ‖ plan_id)`, so a proof that shows a
/// neighbouring key does not show another plan's id.
pub fn plan_key(plan_id: &[u8]) -> Hash {
    Sha256::new()
        .chain_update(b"kronobarn/plan-key\0")
        .chain_update(plan_id)
        .finalize()
        .into()
}

/// What the map holds per plan: where its latest access record is and how many it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanHead {
    /// Log index of the plan's latest access record.
    pub latest_index: u64,
    /// Leaf hash of that record.
    pub latest_leaf: Hash,
    /// Number of access records of the plan in the log.
    pub records: u64,
}

impl PlanHead {
    /// Encoded length.
    pub const LEN: usize = 48;

    /// Fixed-width encoding: `latest_index (8, big-endian) ‖ latest_leaf (32) ‖ records (8)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.latest_index.to_be_bytes());
        out.extend_from_slice(&self.latest_leaf);
        out.extend_from_slice(&self.records.to_be_bytes());
        out
    }

    /// Decodes [`encode`](Self::encode)'s output; `None` for any other length.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        let (index, rest) = bytes.split_at(8);
        let (leaf, records) = rest.split_at(32);
        Some(Self {
            latest_index: u64::from_be_bytes(index.try_into().ok()?),
            latest_leaf: leaf.try_into().ok()?,
            records: u64::from_be_bytes(records.try_into().ok()?),
        })
    }
}

/// Bit `depth` of `key`, most significant first.
fn bit(key: &Hash, depth: usize) -> usize {
    usize::from((key[depth / 8] >> (7 - depth % 8)) & 1)
}

struct Leaf {
    key: Hash,
    value: Vec<u8>,
    value_hash: Hash,
    hash: Hash,
}

impl Leaf {
    fn new(key: Hash, value: Vec<u8>) -> Box<Self> {
        let value_hash = map_value_hash(&value);
        Box::new(Self {
            key,
            value,
            value_hash,
            hash: map_leaf_hash(&key, &value_hash),
        })
    }
}

struct Inner {
    children: [Node; 2],
    /// Valid when `stale` is false.
    hash: Hash,
    stale: bool,
}

#[derive(Default)]
enum Node {
    #[default]
    Empty,
    Leaf(Box<Leaf>),
    /// Always has at least two entries below it.
    Inner(Box<Inner>),
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => MAP_EMPTY,
            Node::Leaf(leaf) => leaf.hash,
            Node::Inner(inner) => {
                debug_assert!(!inner.stale);
                inner.hash
            }
        }
    }

    fn inner(children: [Node; 2]) -> Node {
        Node::Inner(Box::new(Inner {
            children,
            hash: MAP_EMPTY,
            stale: true,
        }))
    }

    /// Puts `leaf` below this node at `depth` without hashing interior nodes; marks the path stale.
    /// Returns the value it replaced.
    fn insert(&mut self, depth: usize, leaf: Box<Leaf>) -> Option<Vec<u8>> {
        match self {
            Node::Empty => {
                *self = Node::Leaf(leaf);
                None
            }
            Node::Leaf(old) if old.key == leaf.key => Some(std::mem::replace(old, leaf).value),
            Node::Leaf(_) => {
                let Node::Leaf(old) = std::mem::take(self) else {
                    unreachable!("matched a leaf above")
                };
                *self = split(depth, old, leaf);
                None
            }
            Node::Inner(inner) => {
                inner.stale = true;
                inner.children[bit(&leaf.key, depth)].insert(depth + 1, leaf)
            }
        }
    }

    /// Recomputes the stale interior hashes below and including this node.
    fn rehash(&mut self) {
        if let Node::Inner(inner) = self
            && inner.stale
        {
            let [left, right] = &mut inner.children;
            left.rehash();
            right.rehash();
            inner.hash = map_node_hash(&left.hash(), &right.hash());
            inner.stale = false;
        }
    }
}

/// The subtree at `depth` holding two leaves with different keys: a chain of interior nodes down
/// to the first bit where the keys differ.
fn split(depth: usize, a: Box<Leaf>, b: Box<Leaf>) -> Node {
    let differ = (depth..256)
        .find(|&d| bit(&a.key, d) != bit(&b.key, d))
        .expect("two leaves in one subtree have different keys");
    let shared = a.key; // equal to b's key above `differ`
    let a_side = bit(&a.key, differ);
    let mut children = [Node::Empty, Node::Empty];
    children[a_side] = Node::Leaf(a);
    children[1 - a_side] = Node::Leaf(b);
    let mut node = Node::inner(children);
    for d in (depth..differ).rev() {
        let mut children = [Node::Empty, Node::Empty];
        children[bit(&shared, d)] = node;
        node = Node::inner(children);
    }
    node
}

/// Where a [`MapProof`]'s path stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathEnd {
    /// An empty subtree: the key is absent.
    Empty,
    /// The asked key's own leaf, with its value.
    Found {
        /// The value at the key.
        value: Vec<u8>,
    },
    /// Another key's leaf, alone in the subtree where the asked key would be: the key is absent.
    Other {
        /// That leaf's key.
        key: Hash,
        /// Hash of that leaf's value (the value itself is not shown).
        value_hash: Hash,
    },
}

/// Proof of the value at a key, or of its absence, against a map root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapProof {
    /// Sibling hashes from the root down to where the key's path stops.
    pub siblings: Vec<Hash>,
    /// What the path stops at.
    pub end: PathEnd,
}

impl MapProof {
    /// Checks the proof for `key` against `root`: `Some(value)` if the map holds `key`, `None` if
    /// it does not.
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<Option<&[u8]>, ProofError> {
        let depth = self.siblings.len();
        if depth > 256 {
            return Err(ProofError::MapTooDeep { depth });
        }
        if self.siblings.last() == Some(&MAP_EMPTY) {
            return Err(ProofError::MapNotCanonical);
        }
        let (mut hash, found) = match &self.end {
            PathEnd::Empty => (MAP_EMPTY, None),
            PathEnd::Found { value } => (
                map_leaf_hash(key, &map_value_hash(value)),
                Some(value.as_slice()),
            ),
            PathEnd::Other {
                key: other,
                value_hash,
            } => {
                if other == key {
                    return Err(ProofError::MapKeyShownAsOther);
                }
                if (0..depth).any(|d| bit(other, d) != bit(key, d)) {
                    return Err(ProofError::MapLeafOffPath { depth });
                }
                (map_leaf_hash(other, value_hash), None)
            }
        };
        for (d, sibling) in self.siblings.iter().enumerate().rev() {
            hash = if bit(key, d) == 0 {
                map_node_hash(&hash, sibling)
            } else {
                map_node_hash(sibling, &hash)
            };
        }
        if hash == *root {
            Ok(found)
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

/// The plan map, held in memory with every interior hash cached.
#[derive(Default)]
pub struct PlanMap {
    root: Node,
    len: usize,
}

impl PlanMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the value at `key`, re-hashing only its path; returns the value it replaced.
    pub fn insert(&mut self, key: Hash, value: Vec<u8>) -> Option<Vec<u8>> {
        let old = self.put(key, value);
        self.root.rehash();
        old
    }

    fn put(&mut self, key: Hash, value: Vec<u8>) -> Option<Vec<u8>> {
        let old = self.root.insert(0, Leaf::new(key, value));
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// The value at `key`.
    pub fn get(&self, key: &Hash) -> Option<&[u8]> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => return None,
                Node::Leaf(leaf) => return (leaf.key == *key).then_some(leaf.value.as_slice()),
                Node::Inner(inner) => {
                    node = &inner.children[bit(key, depth)];
                    depth += 1;
                }
            }
        }
    }

    /// The map's root hash ([`MAP_EMPTY`] when empty).
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    /// Proof of the value at `key`, or of its absence.
    pub fn prove(&self, key: &Hash) -> MapProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        loop {
            match node {
                Node::Empty => {
                    return MapProof {
                        siblings,
                        end: PathEnd::Empty,
                    };
                }
                Node::Leaf(leaf) => {
                    let end = if leaf.key == *key {
                        PathEnd::Found {
                            value: leaf.value.clone(),
                        }
                    } else {
                        PathEnd::Other {
                            key: leaf.key,
                            value_hash: leaf.value_hash,
                        }
                    };
                    return MapProof { siblings, end };
                }
                Node::Inner(inner) => {
                    let side = bit(key, siblings.len());
                    siblings.push(inner.children[1 - side].hash());
                    node = &inner.children[side];
                }
            }
        }
    }
}

/// Inserts a batch, then re-hashes each touched interior node once.
impl Extend<(Hash, Vec<u8>)> for PlanMap {
    fn extend<I: IntoIterator<Item = (Hash, Vec<u8>)>>(&mut self, items: I) {
        for (key, value) in items {
            self.put(key, value);
        }
        self.root.rehash();
    }
}

impl FromIterator<(Hash, Vec<u8>)> for PlanMap {
    fn from_iter<I: IntoIterator<Item = (Hash, Vec<u8>)>>(items: I) -> Self {
        let mut map = Self::new();
        map.extend(items);
        map
    }
}

impl std::fmt::Debug for PlanMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanMap")
            .field("len", &self.len)
            .field("root", &self.root())
            .finish()
    }
}
