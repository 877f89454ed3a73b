//! Laws of the plan map: its root is the definition's, whatever the insertion order; proofs give
//! the true answer or fail.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::hash::{Hash, MAP_EMPTY, map_leaf_hash, map_node_hash, map_value_hash};
use crate::map::{MapProof, PathEnd, PlanHead, PlanMap, plan_key};
use crate::proof::ProofError;

fn bit(key: &Hash, depth: usize) -> bool {
    key[depth / 8] & (0x80 >> (depth % 8)) != 0
}

/// The map hash straight from its definition (module docs of `map`), over sorted entries.
fn naive_root(entries: &[(&Hash, &Vec<u8>)], depth: usize) -> Hash {
    match entries {
        [] => MAP_EMPTY,
        [(key, value)] => map_leaf_hash(key, &map_value_hash(value)),
        _ => {
            let cut = entries.partition_point(|(k, _)| !bit(k, depth));
            map_node_hash(
                &naive_root(&entries[..cut], depth + 1),
                &naive_root(&entries[cut..], depth + 1),
            )
        }
    }
}

fn naive(model: &BTreeMap<Hash, Vec<u8>>) -> Hash {
    let entries: Vec<_> = model.iter().collect();
    naive_root(&entries, 0)
}

/// Keys that are random, or share all but their last bits (paths 250 levels deep), or the first
/// bits only.
fn key() -> impl Strategy<Value = Hash> {
    prop_oneof![
        any::<Hash>(),
        any::<u8>().prop_map(|b| {
            let mut k = [0x5a; 32];
            k[31] = b;
            k
        }),
        (any::<u8>(), any::<Hash>()).prop_map(|(b, mut k)| {
            k[0] = b & 0xf0;
            k
        }),
    ]
}

fn entries() -> impl Strategy<Value = Vec<(Hash, Vec<u8>)>> {
    prop::collection::vec((key(), prop::collection::vec(any::<u8>(), 0..12)), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn root_is_the_definition_and_order_free(items in entries(), seed in any::<u64>()) {
        let mut model = BTreeMap::new();
        let mut one_by_one = PlanMap::new();
        for (k, v) in &items {
            prop_assert_eq!(one_by_one.insert(*k, v.clone()), model.insert(*k, v.clone()));
            prop_assert_eq!(one_by_one.root(), naive(&model));
        }
        prop_assert_eq!(one_by_one.len(), model.len());
        // The final state inserted in another order, as one batch.
        let mut shuffled: Vec<_> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
        let len = shuffled.len();
        for i in (1..len).rev() {
            shuffled.swap(i, (seed.rotate_left(i as u32) % (i as u64 + 1)) as usize);
        }
        let batch: PlanMap = shuffled.into_iter().collect();
        prop_assert_eq!(batch.root(), one_by_one.root());
        for (k, v) in &model {
            prop_assert_eq!(batch.get(k), Some(v.as_slice()));
        }
    }

    #[test]
    fn proofs_give_the_true_answer(items in entries(), probes in prop::collection::vec(key(), 1..8)) {
        let model: BTreeMap<Hash, Vec<u8>> = items.iter().cloned().collect();
        let map: PlanMap = items.into_iter().collect();
        let root = map.root();
        let asked = model.keys().take(8).chain(probes.iter());
        for k in asked {
            let proof = map.prove(k);
            prop_assert_eq!(proof.verify(&root, k), Ok(model.get(k).map(|v| v.as_slice())));
            prop_assert_eq!(map.get(k), model.get(k).map(|v| v.as_slice()));
            if let PathEnd::Other { key, .. } = &proof.end {
                prop_assert!(model.contains_key(key));
                prop_assert!(!model.contains_key(k));
            }
        }
    }

    /// Whatever is done to a proof, it verifies to the true answer for the key asked, or not at all.
    #[test]
    fn tampered_proofs_never_lie(
        items in entries(),
        asked in key(),
        other_key in key(),
        edit in 0u8..7,
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let model: BTreeMap<Hash, Vec<u8>> = items.iter().cloned().collect();
        let map: PlanMap = items.into_iter().collect();
        let root = map.root();
        // Ask about a present key when there is one, half the time.
        let asked = if edit % 2 == 0 { model.keys().next().copied().unwrap_or(asked) } else { asked };
        let mut proof = map.prove(&asked);
        let truth = model.get(&asked).cloned();
        let mut must_fail = false;
        match edit {
            0 | 1 if !proof.siblings.is_empty() => {
                let at = pick.index(proof.siblings.len());
                proof.siblings[at][bit / 8] ^= 1 << (bit % 8);
                must_fail = true;
            }
            2 => {
                proof.end = match proof.end {
                    PathEnd::Found { mut value } => { value.push(1); PathEnd::Found { value } }
                    PathEnd::Empty => PathEnd::Found { value: vec![] },
                    PathEnd::Other { key, value_hash } => {
                        PathEnd::Other { key, value_hash: map_value_hash(&value_hash) }
                    }
                };
                must_fail = true;
            }
            3 => { proof.end = PathEnd::Empty; }
            4 if !proof.siblings.is_empty() => {
                let at = pick.index(proof.siblings.len());
                proof.siblings.remove(at);
            }
            5 => { proof.siblings.push(root); }
            _ => {
                // The proof of another key, presented for this one.
                proof = map.prove(&other_key);
            }
        }
        let answer = proof.verify(&root, &asked);
        if must_fail {
            prop_assert!(answer.is_err());
        }
        if let Ok(answer) = answer {
            prop_assert_eq!(answer, truth.as_deref());
        }
    }
}

#[test]
fn empty_and_single_entry_maps() {
    let mut map = PlanMap::new();
    assert_eq!(map.root(), MAP_EMPTY);
    assert!(map.is_empty());
    let k = plan_key(b"0123456789abcdef0123456789abcdef");
    assert_eq!(map.prove(&k).verify(&MAP_EMPTY, &k), Ok(None));
    assert_eq!(map.insert(k, b"v".to_vec()), None);
    assert_eq!(map.root(), map_leaf_hash(&k, &map_value_hash(b"v")));
    assert_eq!(map.prove(&k).verify(&map.root(), &k), Ok(Some(&b"v"[..])));
    assert_eq!(map.insert(k, b"w".to_vec()), Some(b"v".to_vec()));
    assert_eq!(map.len(), 1);
}

#[test]
fn verifier_names_what_is_wrong() {
    let a = [0u8; 32];
    let mut b = [0u8; 32];
    b[0] = 0x80;
    let mut c = [0u8; 32];
    c[0] = 0x40;
    let map: PlanMap = [(a, vec![1]), (b, vec![2])].into_iter().collect();
    let root = map.root();
    // `c` starts with 0 like `a`: its path ends at `a`'s leaf.
    let absent = map.prove(&c);
    assert_eq!(absent.siblings.len(), 1);
    assert!(matches!(absent.end, PathEnd::Other { key, .. } if key == a));
    assert_eq!(absent.verify(&root, &c), Ok(None));
    // `a`'s leaf shown as another's for `a` itself.
    assert_eq!(
        absent.verify(&root, &a),
        Err(ProofError::MapKeyShownAsOther)
    );
    // `a`'s leaf presented on `b`'s side of the root.
    let mut d = b;
    d[31] = 1;
    assert_eq!(
        absent.verify(&root, &d),
        Err(ProofError::MapLeafOffPath { depth: 1 })
    );
    let hoisted = MapProof {
        siblings: vec![MAP_EMPTY],
        end: PathEnd::Found { value: vec![1] },
    };
    assert_eq!(hoisted.verify(&root, &a), Err(ProofError::MapNotCanonical));
    let deep = MapProof {
        siblings: vec![root; 257],
        end: PathEnd::Empty,
    };
    assert_eq!(
        deep.verify(&root, &a),
        Err(ProofError::MapTooDeep { depth: 257 })
    );
    assert_eq!(
        map.prove(&a).verify(&MAP_EMPTY, &a),
        Err(ProofError::RootMismatch)
    );
}

#[test]
fn plan_head_round_trips() {
    let head = PlanHead {
        latest_index: 1 << 40 | 7,
        latest_leaf: crate::leaf_hash(b"record"),
        records: 12,
    };
    let bytes = head.encode();
    assert_eq!(bytes.len(), PlanHead::LEN);
    assert_eq!(PlanHead::decode(&bytes), Some(head));
    assert_eq!(PlanHead::decode(&bytes[1..]), None);
    assert_ne!(plan_key(b"a"), plan_key(b"b"));
}

/// A map of 10^5 plans: an insert re-hashes about its depth, ~17 + 2 hashes; depths stay near
/// log2(plans).
#[test]
fn depth_at_a_hundred_thousand_plans_is_logarithmic() {
    let map: PlanMap = (0..100_000u32)
        .map(|i| (plan_key(&i.to_be_bytes()), vec![0; PlanHead::LEN]))
        .collect();
    let depths: Vec<usize> = (0..1000u32)
        .map(|i| map.prove(&plan_key(&i.to_be_bytes())).siblings.len())
        .collect();
    let mean = depths.iter().sum::<usize>() as f64 / depths.len() as f64;
    let max = *depths.iter().max().unwrap();
    assert!((15.0..21.0).contains(&mean), "mean depth {mean}");
    assert!(max < 40, "max depth {max}");
}
