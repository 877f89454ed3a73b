//! The guardian's access log extract (*loggutdrag*, PDL ch. 8 §8) for one plan: every record
//! about the plan up to a signed, witnessed checkpoint, with the proofs that make it evidence.
//!
//! # What a verifier learns, and from what
//! 1. **Who vouches for it**: the checkpoint is signed by the key the verifier already trusts for
//!    the organisation (from the roster, or pinned), never by a key the file names
//!    ([`Trust`]); witnesses' cosignatures of the same checkpoint are checked against their roster
//!    keys, so the node could not have shown the witnesses another log.
//! 2. **Each record is in that log**: one multiproof puts every record's leaf at its index in the
//!    checkpoint's tree.
//! 3. **None was left out**: the checkpoint's plan map names the plan's newest record and its
//!    number of records; each record's leaf commits to the index of the plan's previous record.
//!    So the records shown must run from a first (link 0) to the newest the map names, each
//!    linking to the one before, as many as the map counts. Leaving one out, or showing its
//!    place as a bare hash in the proof, breaks that chain.
//!
//! Other plans' records appear only as hashes inside the proofs; the map proof shows no plan id.
//! Sizes and costs at 10^6 records are in BENCHMARKS.md (`kronobarn bench`): the proofs grow with
//! log2 of the log and with the plan's records, not with the log.

pub mod html;
pub mod json;
pub mod words;

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use kronobarn_proto::envelope::key_id;
use kronobarn_proto::v1::{
    AccessLogExtract, AccessRecord, Cosignature, LogEntry, PlanMapLeaf, PlanMapProof,
    plan_map_proof,
};
use kronobarn_tlog::{
    Checkpoint, Hash, MapProof, PathEnd, PlanHead, ProofError, inclusion_multiproof, plan_key,
    verify_inclusion_multi,
};
use prost::Message;

use super::{Snapshot, leaf, plan_chain, signed};
use crate::store::{Store, StoreError};

/// The keys a verifier trusts, by organisation: from the roster it has, or one pinned key.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    keys: BTreeMap<String, Vec<(VerifyingKey, Option<i64>)>>,
}

impl Trust {
    /// Every member's key of a roster the verifier trusts.
    pub fn roster(keys: impl IntoIterator<Item = (String, VerifyingKey)>) -> Self {
        let mut t = Self::default();
        for (org, key) in keys {
            t.keys.entry(org).or_default().push((key, None));
        }
        t
    }

    /// Also trusts `key` for `organization` for checkpoints made before `until_ms`: a key the
    /// roster lists as the member's previous one during a rotation.
    pub fn with_previous(mut self, organization: &str, key: VerifyingKey, until_ms: i64) -> Self {
        self.keys
            .entry(organization.to_string())
            .or_default()
            .push((key, Some(until_ms)));
        self
    }

    /// One key, pinned for `organization` (witnesses cannot then be checked).
    pub fn pinned(organization: &str, key: VerifyingKey) -> Self {
        Self::roster([(organization.to_string(), key)])
    }

    /// The key of `organization` with `id`, if trusted for something signed at `at_ms`.
    fn key(&self, organization: &str, id: &str, at_ms: i64) -> Option<VerifyingKey> {
        self.keys
            .get(organization)?
            .iter()
            .find(|(k, until)| key_id(k) == id && until.is_none_or(|u| at_ms < u))
            .map(|(k, _)| *k)
    }

    /// The key id of the organisation's current key (for messages).
    fn current(&self, organization: &str) -> Option<String> {
        self.keys
            .get(organization)?
            .iter()
            .find(|(_, until)| until.is_none())
            .map(|(k, _)| key_id(k))
    }
}

/// Why an extract does not verify. Each names what a forger or a careless node got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A field is missing or cannot be read.
    #[error("malformed extract: {0}")]
    Malformed(String),
    /// The verifier trusts no key for the organisation.
    #[error(
        "no trusted key for {0}: give the roster the organisation is a member of, or its pinned key"
    )]
    UnknownOrganization(String),
    /// The checkpoint is signed by another key than the trusted one.
    #[error(
        "the extract is signed by key {found}, but the key you trust for {organization} is {expected}: it was not made by that organisation's node (or the key was changed: check against the roster in force when it was made)"
    )]
    WrongKey {
        /// The organisation.
        organization: String,
        /// Key id that signed.
        found: String,
        /// Key id trusted.
        expected: String,
    },
    /// The checkpoint's signature or text does not verify.
    #[error("the checkpoint's signature does not verify: {0}")]
    Checkpoint(String),
    /// A witness's cosignature does not verify.
    #[error("the cosignature of witness {0} does not verify: the file was changed")]
    Cosignature(String),
    /// The map proof does not lead to the checkpoint's plan-map root.
    #[error("the plan's head is not proved by the checkpoint: {0}")]
    MapProof(ProofError),
    /// The records are not all in the checkpoint's log.
    #[error("the records are not in the log the checkpoint signs: {0}")]
    NotInLog(ProofError),
    /// A record is about another plan.
    #[error("record at position {0} is about another plan")]
    OtherPlan(u64),
    /// The records shown do not reach the newest the plan map names.
    #[error(
        "the plan's newest record (position {newest}) is not in the extract: records were left out"
    )]
    NewestMissing {
        /// Position the map names.
        newest: u64,
    },
    /// A record links to a previous record of the plan that is not shown.
    #[error(
        "the record at position {index} follows the plan's record at position {previous}, which is not in the extract: records were left out"
    )]
    RecordLeftOut {
        /// The record whose predecessor is missing.
        index: u64,
        /// The missing predecessor.
        previous: u64,
    },
    /// Fewer or more records than the plan map counts.
    #[error("the plan has {expected} records in the log, the extract shows {shown}")]
    WrongCount {
        /// Number the map counts.
        expected: u64,
        /// Number shown.
        shown: u64,
    },
}

/// A verified extract.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The organisation whose log it is.
    pub organization: String,
    /// The plan.
    pub plan_id: String,
    /// The checkpoint the records are complete up to.
    pub checkpoint: Checkpoint,
    /// Hex of the public key that signed it.
    pub signer_key: String,
    /// Its key id.
    pub signer_key_id: String,
    /// Witnesses whose cosignatures verified against keys the verifier trusts.
    pub witnesses: Vec<String>,
    /// Cosignatures that could not be checked (no key trusted for the witness).
    pub unchecked_cosignatures: Vec<String>,
    /// Every record about the plan, oldest first, with its position in the log.
    pub records: Vec<(u64, AccessRecord)>,
}

/// Why an extract could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The snapshot holds no plan.
    #[error("the snapshot was taken for no plan")]
    NoPlan,
    /// The stored log does not give the plan's records (run `kronobarn log verify`).
    #[error("the log does not give the plan's records: {0}")]
    Inconsistent(String),
}

fn hashes(bytes: &[u8], what: &str) -> Result<Vec<Hash>, ExtractError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(ExtractError::Malformed(format!(
            "{what} is not a list of 32-byte hashes"
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect())
}

fn hash(bytes: &[u8], what: &str) -> Result<Hash, ExtractError> {
    bytes
        .try_into()
        .map_err(|_| ExtractError::Malformed(format!("{what} is not 32 bytes")))
}

/// The map proof as the extract carries it.
fn map_proof_message(p: &MapProof) -> PlanMapProof {
    PlanMapProof {
        siblings: p.siblings.concat(),
        end: Some(match &p.end {
            PathEnd::Empty => plan_map_proof::End::Empty(true),
            PathEnd::Found { value } => plan_map_proof::End::Head(value.clone()),
            PathEnd::Other { key, value_hash } => plan_map_proof::End::Other(PlanMapLeaf {
                key: key.to_vec(),
                value_hash: value_hash.to_vec(),
            }),
        }),
    }
}

fn map_proof(p: &PlanMapProof) -> Result<MapProof, ExtractError> {
    let end = match &p.end {
        None => return Err(ExtractError::Malformed("plan_map_proof has no end".into())),
        Some(plan_map_proof::End::Empty(_)) => PathEnd::Empty,
        Some(plan_map_proof::End::Head(v)) => PathEnd::Found { value: v.clone() },
        Some(plan_map_proof::End::Other(l)) => PathEnd::Other {
            key: hash(&l.key, "plan_map_proof.other.key")?,
            value_hash: hash(&l.value_hash, "plan_map_proof.other.value_hash")?,
        },
    };
    Ok(MapProof {
        siblings: hashes(&p.siblings, "plan_map_proof.siblings")?,
        end,
    })
}

/// Builds the extract for the plan of `snap` (taken with [`super::AccessLog::snapshot`]) from the
/// log in `store`, with the witnesses' cosignatures of its checkpoint.
pub fn build(
    store: &dyn Store,
    snap: &Snapshot,
    cosignatures: Vec<Cosignature>,
) -> Result<AccessLogExtract, BuildError> {
    let (plan_id, head, proof) = snap.plan.as_ref().ok_or(BuildError::NoPlan)?;
    let mut entries = Vec::new();
    if let Some(head) = head {
        for e in plan_chain(store, head) {
            let e = e?;
            entries.push(LogEntry {
                index: e.index,
                record: e.record,
                plan_previous: e.plan_previous,
                ..Default::default()
            });
        }
        entries.reverse();
        if entries.len() as u64 != head.records {
            return Err(BuildError::Inconsistent(format!(
                "{} records found, the plan map counts {}",
                entries.len(),
                head.records
            )));
        }
    }
    let indices: Vec<u64> = entries.iter().map(|e| e.index).collect();
    let inclusion = inclusion_multiproof(&indices, snap.body.size, &leaf::StoredTree(store))
        .map_err(|e| BuildError::Inconsistent(e.to_string()))?;
    Ok(AccessLogExtract {
        organization: snap.body.origin.to_string(),
        plan_id: plan_id.clone(),
        checkpoint: Some(snap.checkpoint.clone()),
        cosignatures,
        entries,
        inclusion_proof: inclusion.concat(),
        plan_map_proof: Some(map_proof_message(proof)),
    })
}

/// Verifies an extract against the keys the verifier trusts; returns what it proves.
pub fn verify(x: &AccessLogExtract, trust: &Trust) -> Result<Verified, ExtractError> {
    let org = x.organization.as_str();
    let env = x
        .checkpoint
        .as_ref()
        .ok_or_else(|| ExtractError::Malformed("no checkpoint".into()))?;
    let expected = trust
        .current(org)
        .ok_or_else(|| ExtractError::UnknownOrganization(org.to_string()))?;
    let wrong_key = || ExtractError::WrongKey {
        organization: org.to_string(),
        found: env.key_id.clone(),
        expected: expected.clone(),
    };
    // The time the key was used at is in the signed text: read it first, trust it only if the
    // signature then verifies with a key trusted for that time.
    let at_ms = kronobarn_tlog::Checkpoint::decode(&env.payload).map_or(i64::MAX, |c| c.at_unix_ms);
    let key = trust.key(org, &env.key_id, at_ms).ok_or_else(wrong_key)?;
    let body = signed::open_with(env, &key).map_err(|e| ExtractError::Checkpoint(e.to_string()))?;
    if body.origin.as_str() != org {
        return Err(ExtractError::Checkpoint(format!(
            "it is a checkpoint of {}'s log",
            body.origin
        )));
    }
    let (mut witnesses, mut unchecked) = (Vec::new(), Vec::new());
    for c in &x.cosignatures {
        if c.witness == org || witnesses.contains(&c.witness) {
            return Err(ExtractError::Malformed(format!(
                "cosignature of {} repeated or by the log's own node",
                c.witness
            )));
        }
        if !trust.keys.contains_key(&c.witness) {
            unchecked.push(c.witness.clone());
            continue;
        }
        let k = trust
            .key(&c.witness, &c.key_id, body.at_unix_ms)
            .ok_or_else(|| ExtractError::Cosignature(c.witness.clone()))?;
        signed::check_cosignature(&signed::expand(c, &env.payload), &env.payload, &k)
            .map_err(|_| ExtractError::Cosignature(c.witness.clone()))?;
        witnesses.push(c.witness.clone());
    }
    let proof = map_proof(
        x.plan_map_proof
            .as_ref()
            .ok_or_else(|| ExtractError::Malformed("no plan_map_proof".into()))?,
    )?;
    let head = proof
        .verify(&body.map_root, &plan_key(x.plan_id.as_bytes()))
        .map_err(ExtractError::MapProof)?
        .map(|v| {
            PlanHead::decode(v)
                .ok_or_else(|| ExtractError::Malformed("the plan's head is not 48 bytes".into()))
        })
        .transpose()?;
    let records = check_records(x, &body, head)?;
    Ok(Verified {
        organization: org.to_string(),
        plan_id: x.plan_id.clone(),
        signer_key: hex::encode(key.as_bytes()),
        signer_key_id: key_id(&key),
        checkpoint: body,
        witnesses,
        unchecked_cosignatures: unchecked,
        records,
    })
}

/// The records: complete (the chain from the first to the map's newest) and in the log.
fn check_records(
    x: &AccessLogExtract,
    body: &Checkpoint,
    head: Option<PlanHead>,
) -> Result<Vec<(u64, AccessRecord)>, ExtractError> {
    let Some(head) = head else {
        // The map says the plan has no records.
        if x.entries.is_empty() && x.inclusion_proof.is_empty() {
            return Ok(Vec::new());
        }
        return Err(ExtractError::WrongCount {
            expected: 0,
            shown: x.entries.len() as u64,
        });
    };
    let last = x.entries.last().ok_or(ExtractError::NewestMissing {
        newest: head.latest_index,
    })?;
    if last.index != head.latest_index {
        return Err(ExtractError::NewestMissing {
            newest: head.latest_index,
        });
    }
    let mut leaves = Vec::with_capacity(x.entries.len());
    let mut records = Vec::with_capacity(x.entries.len());
    let mut previous = 0u64;
    for e in &x.entries {
        if e.plan_previous != previous {
            return Err(ExtractError::RecordLeftOut {
                index: e.index,
                previous: e.plan_previous.saturating_sub(1),
            });
        }
        let r = AccessRecord::decode(e.record.as_slice())
            .map_err(|_| ExtractError::Malformed(format!("record {} does not decode", e.index)))?;
        // The plan's own chain, or its withheld chain (`{plan}/withheld`), never another's.
        if kronobarn_proto::ids::chain_of(&r) != x.plan_id {
            return Err(ExtractError::OtherPlan(e.index));
        }
        leaves.push((e.index, leaf::of(e)));
        records.push((e.index, r));
        previous = e.index + 1;
    }
    if records.len() as u64 != head.records {
        return Err(ExtractError::WrongCount {
            expected: head.records,
            shown: records.len() as u64,
        });
    }
    if leaves.last().map(|l| l.1) != Some(head.latest_leaf) {
        return Err(ExtractError::NotInLog(ProofError::RootMismatch));
    }
    let proof = hashes(&x.inclusion_proof, "inclusion_proof")?;
    verify_inclusion_multi(&leaves, body.size, &proof, &body.root)
        .map_err(ExtractError::NotInLog)?;
    Ok(records)
}

#[cfg(test)]
mod tests;
