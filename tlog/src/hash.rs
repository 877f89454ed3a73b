//! Every hash the crate computes, with its domain-separation prefix, in one place.
//!
//! | prefix | what                         | preimage                         |
//! |--------|------------------------------|----------------------------------|
//! | `0x00` | log leaf (RFC 9162)          | `0x00 ‖ data`                    |
//! | `0x01` | log interior node (RFC 9162) | `0x01 ‖ left ‖ right`            |
//! | `0x02` | plan-map leaf                | `0x02 ‖ key ‖ SHA-256(value)`    |
//! | `0x03` | plan-map interior node       | `0x03 ‖ left ‖ right`            |
//!
//! A distinct first byte per kind means no hash of one kind can be passed off as another without a
//! SHA-256 collision, so a map node never verifies as a log node and a leaf never as an interior.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Root of the empty log: SHA-256 of the empty string, as RFC 9162 §2.1.1 defines it.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hash of an empty subtree of the plan map. Not an output of any hash above (that would take a
/// SHA-256 preimage of zero), so "empty" can never be confused with a leaf or an interior node.
pub const MAP_EMPTY: Hash = [0; 32];

const LOG_LEAF: u8 = 0x00;
const LOG_NODE: u8 = 0x01;
const MAP_LEAF: u8 = 0x02;
const MAP_NODE: u8 = 0x03;

/// Hash of one log entry's bytes: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([LOG_LEAF])
        .chain_update(data)
        .finalize()
        .into()
}

/// Hash of a log interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    pair(LOG_NODE, left, right)
}

/// Hash of a plan-map value. The map leaf commits to this rather than to the value, so an
/// absence proof can show a neighbouring leaf without showing that plan's value.
pub fn map_value_hash(value: &[u8]) -> Hash {
    Sha256::digest(value).into()
}

/// Hash of a plan-map leaf: `SHA-256(0x02 ‖ key ‖ value_hash)`.
pub fn map_leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    pair(MAP_LEAF, key, value_hash)
}

/// Hash of a plan-map interior node: `SHA-256(0x03 ‖ left ‖ right)`.
pub fn map_node_hash(left: &Hash, right: &Hash) -> Hash {
    pair(MAP_NODE, left, right)
}

fn pair(prefix: u8, a: &Hash, b: &Hash) -> Hash {
    Sha256::new()
        .chain_update([prefix])
        .chain_update(a)
        .chain_update(b)
        .finalize()
        .into()
}
