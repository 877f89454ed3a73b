//! The access log's hash chain and its verifier, as pure functions.
//!
//! Entry `i` commits to its index, the previous entry's hash and the hash of the exact record
//! bytes: `entry_hash = SHA-256("kronobarn/access-log/v2\0" || i (u64 BE) || previous_hash ||
//! SHA-256(record))`. Committing to the record's hash rather than its bytes lets an extract for one
//! plan prove its records are in the chain by listing only the hashes of the records between them,
//! never other plans' records.
//! The node signs `"kronobarn/access-log/v1/entry\0" || entry_hash` of the **last entry of each
//! atomic batch** (one read of a plan logs a record per fragment in one batch): through the chain,
//! that signature covers every entry before it, so one signature per batch authenticates them all
//! and the hot path signs once instead of once per record. A changed record breaks its hash; a
//! removed, inserted or reordered one breaks the index or the link to its predecessor; a log that
//! ends on an entry no signature covers was cut inside a batch; a truncated log no longer matches
//! a checkpoint signed earlier. The verifier names the first position where the log goes wrong.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use kronobarn_proto::envelope::key_id;
use kronobarn_proto::v1::{Checkpoint, LogEntry};
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

const ENTRY_DOMAIN: &[u8] = b"kronobarn/access-log/v2\0";
const SIGNATURE_DOMAIN: &[u8] = b"kronobarn/access-log/v1/entry\0";

/// Hash of entry `index` with `previous` hash and `record` bytes.
pub fn entry_hash(index: u64, previous: &[u8; 32], record: &[u8]) -> [u8; 32] {
    link_hash(index, previous, &Sha256::digest(record).into())
}

/// Hash of entry `index` from the previous hash and the SHA-256 of its record.
pub fn link_hash(index: u64, previous: &[u8; 32], record_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ENTRY_DOMAIN);
    h.update(index.to_be_bytes());
    h.update(previous);
    h.update(record_hash);
    h.finalize().into()
}

/// Verifies an entry's signature over its hash with `key`.
pub fn signature_ok(e: &LogEntry, key: &VerifyingKey) -> bool {
    <[u8; 64]>::try_from(e.signature.as_slice()).is_ok_and(|sig| {
        key.verify_strict(&signed_bytes(&e.entry_hash), &Signature::from_bytes(&sig))
            .is_ok()
    })
}

fn signed_bytes(hash: &[u8]) -> Vec<u8> {
    [SIGNATURE_DOMAIN, hash].concat()
}

/// Makes the entry at `index` after `previous`, signed with `key`.
pub fn make_entry(index: u64, previous: &[u8; 32], record: Vec<u8>, key: &SigningKey) -> LogEntry {
    let head = Head {
        size: index,
        hash: *previous,
    };
    make_batch(head, vec![record], key)
        .pop()
        .expect("one record, one entry")
}

/// Makes the entries of one atomic batch after `head`: each hashed into the chain, only the last
/// signed. Its signature covers the others through the chain.
pub fn make_batch(head: Head, records: Vec<Vec<u8>>, key: &SigningKey) -> Vec<LogEntry> {
    let kid = key_id(&key.verifying_key());
    let n = records.len();
    let mut previous = head.hash;
    let mut out = Vec::with_capacity(n);
    for (i, record) in records.into_iter().enumerate() {
        let index = head.size + i as u64;
        let hash = entry_hash(index, &previous, &record);
        let signature = if i + 1 == n {
            key.sign(&signed_bytes(&hash)).to_bytes().to_vec()
        } else {
            Vec::new()
        };
        out.push(LogEntry {
            index,
            previous_hash: previous.to_vec(),
            record,
            entry_hash: hash.to_vec(),
            signature,
            key_id: kid.clone(),
        });
        previous = hash;
    }
    out
}

/// The head of a verified log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Number of entries.
    pub size: u64,
    /// Hash of the last entry ([`GENESIS`] when empty).
    pub hash: [u8; 32],
}

impl Default for Head {
    fn default() -> Self {
        Self {
            size: 0,
            hash: GENESIS,
        }
    }
}

/// What is wrong at a position of the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The entry claims another position: an entry before it was removed, or one was inserted or
    /// moved.
    #[error("entry claims index {found}: an entry was removed, inserted or moved here")]
    WrongIndex {
        /// The index the entry claims.
        found: u64,
    },
    /// The entry does not link to the one before it.
    #[error("entry does not link to the entry before it: the log was reordered or spliced here")]
    BrokenLink,
    /// The record bytes do not match the entry hash.
    #[error("record does not match its hash: the record was changed")]
    Changed,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The signing key is not known.
    #[error("signed by unknown key {0}")]
    UnknownKey(String),
    /// No signature covers the entry: the log ends inside a batch (cut short, or its last
    /// signature was removed).
    #[error("no signature covers this entry: the log ends inside a batch")]
    Unsigned,
    /// The log is shorter than a checkpoint says it was.
    #[error(
        "the log ends before this position, but a checkpoint covers {checkpoint_size} entries: it was truncated"
    )]
    Truncated {
        /// Size in the checkpoint.
        checkpoint_size: u64,
    },
    /// The entry at the checkpoint's head differs from what the checkpoint signed.
    #[error(
        "the log differs from a signed checkpoint of {checkpoint_size} entries: it was rewritten"
    )]
    Rewritten {
        /// Size in the checkpoint.
        checkpoint_size: u64,
    },
}

/// The first bad position and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access log is bad at position {position}: {problem}")]
pub struct ChainError {
    /// Zero-based position in the log.
    pub position: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// Checks entries in order, one at a time, so a verifier can stream a large log.
#[derive(Debug, Default)]
pub struct Verifier {
    head: Head,
    /// First entry not yet covered by a signature.
    unsigned_since: Option<u64>,
}

impl Verifier {
    /// Checks the next entry; `key` finds a public key by key id.
    pub fn push(
        &mut self,
        e: &LogEntry,
        key: impl FnOnce(&str) -> Option<VerifyingKey>,
    ) -> Result<(), ChainError> {
        let position = self.head.size;
        let fail = |problem| Err(ChainError { position, problem });
        if e.index != position {
            return fail(Problem::WrongIndex { found: e.index });
        }
        if e.previous_hash != self.head.hash {
            return fail(Problem::BrokenLink);
        }
        let hash = entry_hash(e.index, &self.head.hash, &e.record);
        if e.entry_hash != hash {
            return fail(Problem::Changed);
        }
        let advanced = Head {
            size: position + 1,
            hash,
        };
        if e.signature.is_empty() {
            // Covered by the signature at the end of its batch, checked when it comes.
            self.unsigned_since.get_or_insert(position);
            self.head = advanced;
            return Ok(());
        }
        let Some(vk) = key(&e.key_id) else {
            return fail(Problem::UnknownKey(e.key_id.clone()));
        };
        let Ok(sig) = <[u8; 64]>::try_from(e.signature.as_slice()) else {
            return fail(Problem::BadSignature);
        };
        if vk
            .verify_strict(&signed_bytes(&hash), &Signature::from_bytes(&sig))
            .is_err()
        {
            return fail(Problem::BadSignature);
        }
        self.unsigned_since = None;
        self.head = advanced;
        Ok(())
    }

    /// The head so far (entries pushed, covered by a signature or not yet).
    pub fn head(&self) -> Head {
        self.head
    }

    /// The head of a complete log: every entry must be covered by a signature.
    pub fn finish(&self) -> Result<Head, ChainError> {
        match self.unsigned_since {
            Some(position) => Err(ChainError {
                position,
                problem: Problem::Unsigned,
            }),
            None => Ok(self.head),
        }
    }
}

/// Verifies a whole log.
pub fn verify<'a>(
    entries: impl IntoIterator<Item = &'a LogEntry>,
    key: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<Head, ChainError> {
    let mut v = Verifier::default();
    for e in entries {
        v.push(e, &key)?;
    }
    v.finish()
}

/// Checks a verified log against a checkpoint signed earlier. `hash_at(n)` is the hash of entry
/// `n - 1` of the verified log.
pub fn check_against(
    head: Head,
    cp: &Checkpoint,
    hash_at: impl Fn(u64) -> Option<[u8; 32]>,
) -> Result<(), ChainError> {
    if cp.size > head.size {
        return Err(ChainError {
            position: head.size,
            problem: Problem::Truncated {
                checkpoint_size: cp.size,
            },
        });
    }
    let expected = if cp.size == 0 {
        Some(GENESIS)
    } else {
        hash_at(cp.size)
    };
    if expected.map(|h| h.to_vec()) != Some(cp.head_hash.clone()) {
        return Err(ChainError {
            position: cp.size.saturating_sub(1),
            problem: Problem::Rewritten {
                checkpoint_size: cp.size,
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn log(n: usize) -> Vec<LogEntry> {
        let k = key();
        let mut prev = GENESIS;
        (0..n)
            .map(|i| {
                let e = make_entry(i as u64, &prev, format!("record {i}").into_bytes(), &k);
                prev = e.entry_hash.clone().try_into().unwrap();
                e
            })
            .collect()
    }

    fn check(entries: &[LogEntry]) -> Result<Head, ChainError> {
        let vk = key().verifying_key();
        verify(entries, |_| Some(vk))
    }

    fn batches(sizes: &[usize]) -> Vec<LogEntry> {
        let k = key();
        let mut head = Head::default();
        let mut out = Vec::new();
        for (b, n) in sizes.iter().enumerate() {
            let records = (0..*n)
                .map(|i| format!("batch {b} record {i}").into_bytes())
                .collect();
            let batch = make_batch(head, records, &k);
            head = Head {
                size: head.size + *n as u64,
                hash: batch.last().unwrap().entry_hash.clone().try_into().unwrap(),
            };
            out.extend(batch);
        }
        out
    }

    #[test]
    fn one_signature_covers_a_batch_and_a_cut_batch_is_refused() {
        let l = batches(&[3, 1, 9, 2]);
        assert_eq!(l.iter().filter(|e| !e.signature.is_empty()).count(), 4);
        assert_eq!(check(&l).unwrap().size, 15);
        // Cut inside the third batch: its first entries are covered by no signature.
        assert_eq!(
            check(&l[..10]).unwrap_err(),
            ChainError {
                position: 4,
                problem: Problem::Unsigned
            }
        );
        // A batch's signature stripped: only a later signature could cover it.
        let mut stripped = l.clone();
        stripped[14].signature.clear();
        assert_eq!(check(&stripped).unwrap_err().position, 13);
        // An unsigned entry changed: found at its position, though its signature comes later.
        let mut changed = l.clone();
        changed[5].record[0] ^= 1;
        assert_eq!(
            check(&changed).unwrap_err(),
            ChainError {
                position: 5,
                problem: Problem::Changed
            }
        );
    }

    #[test]
    fn an_untouched_log_verifies() {
        let l = log(10);
        let head = check(&l).unwrap();
        assert_eq!(head.size, 10);
        assert_eq!(head.hash.to_vec(), l[9].entry_hash);
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let mut l = log(3);
        let other = SigningKey::from_bytes(&[8; 32]);
        l[1] = make_entry(
            1,
            &l[0].entry_hash.clone().try_into().unwrap(),
            l[1].record.clone(),
            &other,
        );
        assert_eq!(
            check(&l).unwrap_err(),
            ChainError {
                position: 1,
                problem: Problem::BadSignature
            }
        );
    }

    #[test]
    fn truncation_is_caught_by_a_checkpoint() {
        let l = log(10);
        let cp = Checkpoint {
            size: 10,
            head_hash: l[9].entry_hash.clone(),
            ..Default::default()
        };
        let short = &l[..7];
        let head = check(short).unwrap();
        let err = check_against(head, &cp, |n| {
            short
                .get(n as usize - 1)
                .map(|e| e.entry_hash.clone().try_into().unwrap())
        })
        .unwrap_err();
        assert_eq!(err.position, 7);
        assert!(matches!(
            err.problem,
            Problem::Truncated {
                checkpoint_size: 10
            }
        ));
        // A rewritten but complete log: same size, different head.
        let mut cp2 = cp.clone();
        cp2.head_hash[0] ^= 1;
        let full = check(&l).unwrap();
        assert!(matches!(
            check_against(full, &cp2, |n| l.get(n as usize - 1).map(|e| e
                .entry_hash
                .clone()
                .try_into()
                .unwrap()))
            .unwrap_err()
            .problem,
            Problem::Rewritten { .. }
        ));
    }

    proptest! {
        #[test]
        fn a_changed_record_is_found_at_its_position(n in 1usize..30, at in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>()) {
            let mut l = log(n);
            let i = at.index(n);
            let b = byte.index(l[i].record.len());
            l[i].record[b] ^= 0x01;
            prop_assert_eq!(check(&l).unwrap_err(), ChainError { position: i as u64, problem: Problem::Changed });
        }

        #[test]
        fn a_removed_entry_is_found_where_it_was(n in 2usize..30, at in any::<prop::sample::Index>()) {
            let mut l = log(n);
            let i = at.index(n - 1); // removing the last entry is truncation, caught by checkpoints
            l.remove(i);
            prop_assert_eq!(check(&l).unwrap_err().position, i as u64);
        }

        #[test]
        fn swapped_entries_are_found_at_the_first(n in 2usize..30, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let mut l = log(n);
            let (i, j) = (a.index(n), b.index(n));
            prop_assume!(i != j);
            l.swap(i, j);
            prop_assert_eq!(check(&l).unwrap_err().position, i.min(j) as u64);
        }

        #[test]
        fn an_inserted_entry_is_found_where_it_went(n in 1usize..30, at in any::<prop::sample::Index>()) {
            let mut l = log(n);
            let i = at.index(n + 1);
            let forged = make_entry(i as u64, &[1; 32], b"forged".to_vec(), &key());
            l.insert(i, forged);
            prop_assert_eq!(check(&l).unwrap_err().position, i as u64);
        }
    }
}
