//! The extract as a file: the proto3 JSON form of `kronobarn.v1.AccessLogExtract`, so any
//! protobuf library (e.g. Python's `json_format.Parse`) reads it, and the exact bytes that were
//! hashed and signed (records, checkpoint text) travel as base64.
//!
//! As proto3 JSON says: field names in lowerCamelCase (snake_case accepted too), `bytes` as
//! standard base64, 64-bit integers as decimal strings (numbers accepted too), enums by name,
//! fields at their default value left out. Unknown fields are refused: evidence should not carry
//! anything the verifier does not check.

use base64::Engine;
use kronobarn_proto::v1::{
    AccessLogExtract, Cosignature, LogEntry, PlanMapLeaf, PlanMapProof, SignedEnvelope,
    plan_map_proof,
};
use serde::{Deserialize, Serialize};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

mod b64 {
    use super::{B64, Engine};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("not standard base64"))
    }
}

mod b64_list {
    use super::{B64, Engine};
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(&B64.encode(b))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| {
                B64.decode(t.as_bytes())
                    .map_err(|_| serde::de::Error::custom("not standard base64"))
            })
            .collect()
    }
}

/// A 64-bit integer: written as a string, read from a string or a number.
mod int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => t
                .parse()
                .map_err(|_| serde::de::Error::custom("not a decimal number")),
        }
    }
}

/// A payload kind: written by name, read by name or number.
mod kind {
    use kronobarn_proto::v1::PayloadKind;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Name(String),
        Number(i32),
    }

    pub fn serialize<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
        match PayloadKind::try_from(*v) {
            Ok(k) => s.serialize_str(k.as_str_name()),
            Err(_) => s.serialize_i32(*v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Name(t) => PayloadKind::from_str_name(&t)
                .map(|k| k as i32)
                .ok_or_else(|| serde::de::Error::custom("not a payload kind")),
        }
    }
}

fn zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope {
    #[serde(default, with = "kind")]
    kind: i32,
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    payload: Vec<u8>,
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    signature: Vec<u8>,
    #[serde(default, alias = "key_id", skip_serializing_if = "String::is_empty")]
    key_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Cosig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    witness: String,
    #[serde(default, alias = "key_id", skip_serializing_if = "String::is_empty")]
    key_id: String,
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    #[serde(default, with = "int64", skip_serializing_if = "zero")]
    index: u64,
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    record: Vec<u8>,
    #[serde(
        default,
        alias = "plan_previous",
        with = "int64",
        skip_serializing_if = "zero"
    )]
    plan_previous: u64,
    #[serde(
        default,
        alias = "leaf_hash",
        with = "b64",
        skip_serializing_if = "Vec::is_empty"
    )]
    leaf_hash: Vec<u8>,
    #[serde(
        default,
        alias = "subtree_hashes",
        with = "b64_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    subtree_hashes: Vec<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<Envelope>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Leaf {
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    key: Vec<u8>,
    #[serde(
        default,
        alias = "value_hash",
        with = "b64",
        skip_serializing_if = "Vec::is_empty"
    )]
    value_hash: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MapProof {
    #[serde(default, with = "b64", skip_serializing_if = "Vec::is_empty")]
    siblings: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<Base64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    other: Option<Leaf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    empty: Option<bool>,
}

#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Base64(#[serde(with = "b64")] Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Extract {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    organization: String,
    #[serde(default, alias = "plan_id", skip_serializing_if = "String::is_empty")]
    plan_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<Envelope>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cosignatures: Vec<Cosig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    entries: Vec<Entry>,
    #[serde(
        default,
        alias = "inclusion_proof",
        with = "b64",
        skip_serializing_if = "Vec::is_empty"
    )]
    inclusion_proof: Vec<u8>,
    #[serde(
        default,
        alias = "plan_map_proof",
        skip_serializing_if = "Option::is_none"
    )]
    plan_map_proof: Option<MapProof>,
}

fn envelope_out(e: &SignedEnvelope) -> Envelope {
    Envelope {
        kind: e.kind,
        payload: e.payload.clone(),
        signature: e.signature.clone(),
        key_id: e.key_id.clone(),
    }
}

fn envelope_in(e: Envelope) -> SignedEnvelope {
    SignedEnvelope {
        kind: e.kind,
        payload: e.payload,
        signature: e.signature,
        key_id: e.key_id,
    }
}

/// The extract as proto3 JSON, indented for people who open it.
pub fn to_json(x: &AccessLogExtract) -> Vec<u8> {
    let j = Extract {
        organization: x.organization.clone(),
        plan_id: x.plan_id.clone(),
        checkpoint: x.checkpoint.as_ref().map(envelope_out),
        cosignatures: x
            .cosignatures
            .iter()
            .map(|c| Cosig {
                witness: c.witness.clone(),
                key_id: c.key_id.clone(),
                signature: c.signature.clone(),
            })
            .collect(),
        entries: x
            .entries
            .iter()
            .map(|e| Entry {
                index: e.index,
                record: e.record.clone(),
                plan_previous: e.plan_previous,
                leaf_hash: e.leaf_hash.clone(),
                subtree_hashes: e.subtree_hashes.clone(),
                checkpoint: e.checkpoint.as_ref().map(envelope_out),
            })
            .collect(),
        inclusion_proof: x.inclusion_proof.clone(),
        plan_map_proof: x.plan_map_proof.as_ref().map(|p| {
            let mut m = MapProof {
                siblings: p.siblings.clone(),
                head: None,
                other: None,
                empty: None,
            };
            match &p.end {
                Some(plan_map_proof::End::Head(h)) => m.head = Some(Base64(h.clone())),
                Some(plan_map_proof::End::Other(l)) => {
                    m.other = Some(Leaf {
                        key: l.key.clone(),
                        value_hash: l.value_hash.clone(),
                    })
                }
                Some(plan_map_proof::End::Empty(b)) => m.empty = Some(*b),
                None => {}
            }
            m
        }),
    };
    let mut out = serde_json::to_vec_pretty(&j).expect("plain data serialises");
    out.push(b'\n');
    out
}

/// Reads proto3 JSON of an extract.
pub fn from_json(bytes: &[u8]) -> Result<AccessLogExtract, String> {
    let j: Extract = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let plan_map_proof = match j.plan_map_proof {
        None => None,
        Some(m) => {
            let end = match (m.head, m.other, m.empty) {
                (None, None, None) => None,
                (Some(h), None, None) => Some(plan_map_proof::End::Head(h.0)),
                (None, Some(l), None) => Some(plan_map_proof::End::Other(PlanMapLeaf {
                    key: l.key,
                    value_hash: l.value_hash,
                })),
                (None, None, Some(b)) => Some(plan_map_proof::End::Empty(b)),
                _ => return Err("planMapProof: more than one of head, other, empty".into()),
            };
            Some(PlanMapProof {
                siblings: m.siblings,
                end,
            })
        }
    };
    Ok(AccessLogExtract {
        organization: j.organization,
        plan_id: j.plan_id,
        checkpoint: j.checkpoint.map(envelope_in),
        cosignatures: j
            .cosignatures
            .into_iter()
            .map(|c| Cosignature {
                witness: c.witness,
                key_id: c.key_id,
                signature: c.signature,
            })
            .collect(),
        entries: j
            .entries
            .into_iter()
            .map(|e| LogEntry {
                index: e.index,
                record: e.record,
                plan_previous: e.plan_previous,
                leaf_hash: e.leaf_hash,
                subtree_hashes: e.subtree_hashes,
                checkpoint: e.checkpoint.map(envelope_in),
            })
            .collect(),
        inclusion_proof: j.inclusion_proof,
        plan_map_proof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kronobarn_proto::v1::PayloadKind;

    #[test]
    fn reads_back_what_it_writes_and_accepts_proto3_variants() {
        let x = AccessLogExtract {
            organization: "vaxjo-kommun".into(),
            plan_id: "p".repeat(32),
            checkpoint: Some(SignedEnvelope {
                kind: PayloadKind::Checkpoint as i32,
                payload: b"kronobarn/v2 x\n".to_vec(),
                signature: vec![1; 64],
                key_id: "abcd".into(),
            }),
            cosignatures: vec![Cosignature {
                witness: "polisen".into(),
                key_id: "ef01".into(),
                signature: vec![2; 64],
            }],
            entries: vec![
                LogEntry {
                    index: 0,
                    record: vec![9, 8],
                    ..Default::default()
                },
                LogEntry {
                    index: 18_446_744_073_709_551_000,
                    record: vec![7],
                    plan_previous: 1,
                    ..Default::default()
                },
            ],
            inclusion_proof: vec![3; 64],
            plan_map_proof: Some(PlanMapProof {
                siblings: vec![4; 32],
                end: Some(plan_map_proof::End::Head(vec![5; 48])),
            }),
        };
        let text = to_json(&x);
        assert_eq!(from_json(&text).unwrap(), x);
        let s = String::from_utf8(text).unwrap();
        assert!(s.contains("\"planId\"") && s.contains("\"PAYLOAD_KIND_CHECKPOINT\""));
        assert!(s.contains("\"18446744073709551000\""), "64-bit as strings");
        let variant = s
            .replace("\"planId\"", "\"plan_id\"")
            .replace("\"PAYLOAD_KIND_CHECKPOINT\"", "4")
            .replace("\"18446744073709551000\"", "18446744073709551000");
        assert_eq!(from_json(variant.as_bytes()).unwrap(), x);
        assert!(from_json(s.replace("\"planId\"", "\"planIdX\"").as_bytes()).is_err());
    }
}
