//! The guardian's access log extract (*loggutdrag*, PDL ch. 8 §8) for one plan: a readable HTML
//! document and a machine-readable file with the signed records, the hashes of the records in
//! between (never their content) and a signed checkpoint, verifiable offline.

use std::collections::BTreeMap;

use base64::Engine;
use ed25519_dalek::VerifyingKey;
use kronobarn_proto::envelope;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Checkpoint, Decision, LogEntry, PayloadKind, SignedEnvelope,
};
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chain::{self, GENESIS};

const FORMAT: &str = "kronobarn-log-extract/1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One link of the chain from the first record about the plan to the checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// A record about the plan: the whole signed entry (protobuf LogEntry, base64).
    Entry(String),
    /// A record about something else: only the SHA-256 of its bytes (hex).
    RecordHash(String),
}

/// The machine-readable extract.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Extract {
    /// Always "kronobarn-log-extract/1".
    pub format: String,
    /// The organisation whose log it is.
    pub organization: String,
    /// The plan.
    pub plan_id: String,
    /// Public keys (hex) by key id, for every key that signed an included entry or the checkpoint.
    pub public_keys: BTreeMap<String, String>,
    /// Index of the first link.
    pub start_index: u64,
    /// Entry hash before the first link (hex).
    pub start_previous_hash: String,
    /// Links from `start_index` to the checkpoint's size.
    pub links: Vec<Link>,
    /// Signed checkpoint of the log (protobuf SignedEnvelope, base64).
    pub checkpoint: String,
}

/// Why an extract does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    /// The file is malformed.
    #[error("malformed extract: {0}")]
    Malformed(String),
    /// A link does not verify.
    #[error("entry {index}: {problem}")]
    Bad {
        /// Position in the log.
        index: u64,
        /// What is wrong.
        problem: String,
    },
    /// The chain does not end at the signed checkpoint.
    #[error("the chain does not end at the signed checkpoint: {0}")]
    Checkpoint(String),
}

/// Builds an extract from the log entries `all` (in order, from index `start`), of which those
/// about `plan_id` are included whole.
pub fn build(
    organization: &str,
    plan_id: &str,
    entries: &[LogEntry],
    checkpoint: SignedEnvelope,
    keys: &BTreeMap<String, VerifyingKey>,
) -> Result<Extract, ExtractError> {
    let first = entries
        .first()
        .ok_or_else(|| ExtractError::Malformed("no entries".into()))?;
    let mut public_keys = BTreeMap::new();
    let mut links = Vec::new();
    for e in entries {
        let r = AccessRecord::decode(e.record.as_slice())
            .map_err(|x| ExtractError::Malformed(x.to_string()))?;
        if r.plan_id == plan_id {
            if let Some(k) = keys.get(&e.key_id) {
                public_keys.insert(e.key_id.clone(), hex::encode(k.as_bytes()));
            }
            links.push(Link::Entry(B64.encode(e.encode_to_vec())));
        } else {
            links.push(Link::RecordHash(hex::encode(Sha256::digest(&e.record))));
        }
    }
    if let Some(k) = keys.get(&checkpoint.key_id) {
        public_keys.insert(checkpoint.key_id.clone(), hex::encode(k.as_bytes()));
    }
    Ok(Extract {
        format: FORMAT.into(),
        organization: organization.into(),
        plan_id: plan_id.into(),
        public_keys,
        start_index: first.index,
        start_previous_hash: hex::encode(&first.previous_hash),
        links,
        checkpoint: B64.encode(checkpoint.encode_to_vec()),
    })
}

/// Verifies an extract offline; returns the plan's records.
pub fn verify(x: &Extract) -> Result<Vec<AccessRecord>, ExtractError> {
    let bad = |m: &str| ExtractError::Malformed(m.to_string());
    if x.format != FORMAT {
        return Err(bad("unknown format"));
    }
    let key = |id: &str| -> Option<VerifyingKey> {
        let b = hex::decode(x.public_keys.get(id)?).ok()?;
        VerifyingKey::from_bytes(&b.try_into().ok()?).ok()
    };
    let cp_env = SignedEnvelope::decode(
        B64.decode(&x.checkpoint)
            .map_err(|_| bad("checkpoint"))?
            .as_slice(),
    )
    .map_err(|_| bad("checkpoint"))?;
    let payload = envelope::open(&cp_env, PayloadKind::Checkpoint, |id| key(id))
        .map_err(|e| ExtractError::Checkpoint(e.to_string()))?;
    let cp = Checkpoint::decode(payload).map_err(|_| bad("checkpoint"))?;
    let mut head: [u8; 32] = hex::decode(&x.start_previous_hash)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("start_previous_hash"))?;
    if x.start_index == 0 && head != GENESIS {
        return Err(bad("the first entry must follow the genesis hash"));
    }
    let mut records = Vec::new();
    for (n, link) in x.links.iter().enumerate() {
        let index = x.start_index + n as u64;
        let fail = |problem: &str| ExtractError::Bad {
            index,
            problem: problem.to_string(),
        };
        head = match link {
            Link::RecordHash(h) => {
                let h: [u8; 32] = hex::decode(h)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| fail("record hash is not 32 bytes"))?;
                chain::link_hash(index, &head, &h)
            }
            Link::Entry(b) => {
                let e = LogEntry::decode(
                    B64.decode(b)
                        .map_err(|_| fail("entry is not base64"))?
                        .as_slice(),
                )
                .map_err(|_| fail("entry does not decode"))?;
                if e.index != index || e.previous_hash != head {
                    return Err(fail("entry is out of place in the chain"));
                }
                let h = chain::entry_hash(index, &head, &e.record);
                if e.entry_hash != h {
                    return Err(fail("record does not match its hash: it was changed"));
                }
                // A record in the middle of a batch carries no signature of its own: the signed
                // checkpoint, which the chain must reach, covers it.
                if !e.signature.is_empty() {
                    let k = key(&e.key_id)
                        .ok_or_else(|| fail("signed by a key the extract does not name"))?;
                    if !chain::signature_ok(&e, &k) {
                        return Err(fail("signature does not verify"));
                    }
                }
                let r = AccessRecord::decode(e.record.as_slice())
                    .map_err(|_| fail("record does not decode"))?;
                if r.plan_id != x.plan_id {
                    return Err(fail("a record about another plan"));
                }
                records.push(r);
                h
            }
        };
    }
    let size = x.start_index + x.links.len() as u64;
    if cp.size != size || cp.head_hash != head {
        return Err(ExtractError::Checkpoint(format!(
            "checkpoint covers {} entries, the chain {size}",
            cp.size
        )));
    }
    Ok(records)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(ms: i64) -> String {
    let (y, m, d) = kronobarn_proto::validate::civil_date(ms);
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60
    )
}

fn action(r: &AccessRecord) -> &'static str {
    match AccessAction::try_from(r.action) {
        Ok(AccessAction::Read) => "läste / read",
        Ok(AccessAction::Write) => "skrev / wrote",
        Ok(AccessAction::List) => "såg i en lista / listed",
        Ok(AccessAction::Send) => "skickade till / sent to",
        Ok(AccessAction::Receive) => "tog emot från / received from",
        Ok(AccessAction::Purge) => "raderade kopia / deleted a copy",
        _ => "?",
    }
}

/// The readable document: who did what, when, why and under which consent.
pub fn html(organization: &str, plan_id: &str, records: &[AccessRecord]) -> String {
    let mut rows = String::new();
    for r in records {
        let decision = if r.decision == Decision::Permit as i32 {
            "tillåten / permitted"
        } else {
            "nekad / denied"
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} ({}, {})</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td></tr>\n",
            esc(&when(r.at_unix_ms)),
            esc(&r.organization),
            esc(&r.user_id),
            esc(&r.role),
            esc(&r.unit),
            action(r),
            esc(&r.fragment_id),
            esc(&r.purpose),
            decision,
            esc(&r.reason),
            if r.consent_version == 0 { "–".to_string() } else { r.consent_version.to_string() }
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"sv\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Loggutdrag / Access log extract</title>\n<style>body{{font-family:system-ui,sans-serif;margin:1rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}}@media(max-width:40rem){{td,th{{display:block}}}}</style></head><body>\n<h1>Loggutdrag för barnets plan / Access log extract for the child's plan</h1>\n<p>Organisation: <b>{}</b>. Plan: {}. Här står varje gång någon läst, skrivit, skickat eller tagit emot uppgifter i planen, när, varför och med stöd av vilket samtycke. / Every time someone read, wrote, sent or received information in the plan: when, why and under which consent.</p>\n<p>{} poster / records. Filen extract.json bredvid innehåller de signerade posterna och kan kontrolleras med <code>kronobarn log verify-extract</code>.</p>\n<table><tr><th>När / When</th><th>Organisation</th><th>Vem / Who</th><th>Vad / What</th><th>Del / Part</th><th>Varför / Why</th><th>Beslut / Decision</th><th>Samtycke / Consent</th></tr>\n{}</table></body></html>\n",
        esc(organization),
        esc(plan_id),
        records.len(),
        rows
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn log(plans: &[&str]) -> (Vec<LogEntry>, SigningKey) {
        let k = SigningKey::from_bytes(&[3; 32]);
        let mut prev = GENESIS;
        let entries = plans
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let r = AccessRecord {
                    plan_id: p.to_string(),
                    user_id: format!("u{i}"),
                    ..Default::default()
                };
                let e = chain::make_entry(i as u64, &prev, r.encode_to_vec(), &k);
                prev = e.entry_hash.clone().try_into().unwrap();
                e
            })
            .collect();
        (entries, k)
    }

    fn extract(plans: &[&str], from: usize) -> Extract {
        let (entries, k) = log(plans);
        let head = entries.last().unwrap().entry_hash.clone();
        let cp = Checkpoint {
            organization: "o".into(),
            size: entries.len() as u64,
            head_hash: head,
            at_unix_ms: 1,
        };
        let env = envelope::seal(PayloadKind::Checkpoint, cp.encode_to_vec(), &k);
        let keys = [(envelope::key_id(&k.verifying_key()), k.verifying_key())]
            .into_iter()
            .collect();
        build("o", "p1", &entries[from..], env, &keys).unwrap()
    }

    #[test]
    fn an_extract_verifies_and_hides_other_plans() {
        let x = extract(&["p2", "p1", "p3", "p1", "p2"], 1);
        let records = verify(&x).unwrap();
        assert_eq!(
            records
                .iter()
                .map(|r| r.user_id.as_str())
                .collect::<Vec<_>>(),
            vec!["u1", "u3"]
        );
        let json = serde_json::to_string(&x).unwrap();
        assert!(
            !json.contains("p2") && !json.contains("p3"),
            "no other plan's records"
        );
    }

    #[test]
    fn every_tampering_is_caught() {
        let x = extract(&["p1", "p2", "p1"], 0);
        let mut y = x.clone();
        if let Link::Entry(b) = &y.links[2] {
            let mut e = LogEntry::decode(B64.decode(b).unwrap().as_slice()).unwrap();
            let n = e.record.len();
            e.record[n - 1] ^= 1;
            y.links[2] = Link::Entry(B64.encode(e.encode_to_vec()));
        }
        assert!(matches!(
            verify(&y),
            Err(ExtractError::Bad { index: 2, .. })
        ));
        let mut y = x.clone();
        y.links.remove(1);
        assert!(verify(&y).is_err(), "a removed link");
        let mut y = x.clone();
        y.links.pop();
        assert!(
            matches!(verify(&y), Err(ExtractError::Checkpoint(_))),
            "truncated"
        );
        let mut y = x.clone();
        y.links[1] = Link::RecordHash(hex::encode([0u8; 32]));
        assert!(verify(&y).is_err(), "a changed hash");
    }
}
