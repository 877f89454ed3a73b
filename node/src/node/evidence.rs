//! Evidence from the node's access log: checkpoints the witnesses cosigned, the guardian's extract
//! made from one, and what the witnesses say. Asking witnesses goes over the federation, which
//! the core never imports: the federation's witness room registers a [`Cosigner`] here.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kronobarn_document::Lang;
use kronobarn_gateway::{Backend, BackendError, BackendResult, LogExtract};
use kronobarn_proto::v1::{
    Cosignature, GetWitnessStatusResponse, LogWitness, SignedEnvelope, WitnessAlarm, WitnessedLog,
};
use kronobarn_tlog::Checkpoint;
use prost::Message;

use super::{Node, internal};
use crate::accesslog::Snapshot;
use crate::accesslog::extract::{self, Trust, html::Page, words::part_of};
use crate::keys;

/// A checkpoint of this node's log and the witnesses' cosignatures of it.
#[derive(Debug, Clone)]
pub struct Cosigned {
    /// The checkpoint, taken for a plan or for none.
    pub snapshot: Snapshot,
    /// Cosignatures of the witnesses that answered in time.
    pub cosignatures: Vec<Cosignature>,
}

/// The future a [`Cosigner`] returns.
pub type CosignFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Cosigned, BackendError>> + Send + 'a>>;

/// Has the witnesses cosign a fresh checkpoint of the node's log.
pub trait Cosigner: Send + Sync + 'static {
    /// Takes a checkpoint of `node`'s log (with `plan`'s map proof, when given), makes it
    /// durable and asks every witness to cosign it. Witnesses that do not answer in time, or
    /// refuse, are left out.
    fn cosign<'a>(&'a self, node: &'a Node, plan: Option<&'a str>) -> CosignFuture<'a>;
}

/// The checkpoint's text, read without checking its signature (for status only).
fn text_of(env: &SignedEnvelope) -> Option<Checkpoint> {
    Checkpoint::decode(&env.payload).ok()
}

impl Node {
    /// Has `cosigner` ask the witnesses from now on (set once, when federation starts).
    pub fn enable_cosigning(&self, cosigner: Arc<dyn Cosigner>) {
        let _ = self.cosigner.set(cosigner);
    }

    /// A durable checkpoint of the log now, cosigned by the witnesses that answer (none when
    /// federation is off).
    pub async fn cosigned_checkpoint(&self, plan: Option<&str>) -> Result<Cosigned, BackendError> {
        if let Some(c) = self.cosigner.get() {
            return c.cosign(self, plan).await;
        }
        let snapshot = self.log.snapshot(plan);
        self.durable().await?;
        Ok(Cosigned {
            snapshot,
            cosignatures: Vec::new(),
        })
    }

    /// The keys this node trusts: every roster member's (and its previous one during a
    /// rotation), and its own log key.
    pub fn trust(&self) -> Trust {
        let own = self.log.public_key();
        let Some(roster) = self.roster() else {
            return Trust::pinned(&self.organization, own);
        };
        let mut trust = Trust::roster(roster.members().map(|m| {
            let key = if m.entry.organization == self.organization {
                own
            } else {
                m.key
            };
            (m.entry.organization.clone(), key)
        }));
        for m in roster.members() {
            if let Some((key, until)) = m.previous {
                trust = trust.with_previous(&m.entry.organization, key, until);
            }
        }
        trust
    }

    /// The guardian's extract for a plan at a fresh, cosigned checkpoint, checked as any
    /// verifier would before it is handed out. `plan_id` may also name the plan's withheld
    /// chain, for a supervisor's extract of the records about what is withheld from the
    /// guardians.
    pub(crate) async fn log_extract(&self, plan_id: &str, lang: Lang) -> BackendResult<LogExtract> {
        let c = self.cosigned_checkpoint(Some(plan_id)).await?;
        let x = extract::build(self.log.store(), &c.snapshot, c.cosignatures).map_err(internal)?;
        let v = extract::verify(&x, &self.trust()).map_err(internal)?;
        let parts: BTreeMap<String, _> = v
            .records
            .iter()
            .map(|(_, r)| {
                let plan = kronobarn_proto::ids::plan_of_chain(plan_id);
                let part = part_of(self.log.store(), plan, &r.fragment_id);
                (r.fragment_id.clone(), part)
            })
            .collect();
        let suffix = if plan_id.ends_with(kronobarn_proto::ids::WITHHELD_CHAIN) {
            "-withheld"
        } else {
            ""
        };
        let json_file_name = format!(
            "loggutdrag-{}{suffix}.json",
            plan_id.get(..8).unwrap_or(plan_id)
        );
        let names = |o: &str| self.organization_name(o);
        let html = Page {
            lang,
            names: &names,
            parts: &parts,
            json_file: &json_file_name,
        }
        .render(&v);
        Ok(LogExtract {
            html,
            json: extract::json::to_json(&x),
            json_file_name,
            records: v.records.len(),
            witnesses: v.witnesses.len(),
        })
    }

    /// What this node holds as a witness of its peers' logs, and what its witnesses cosigned.
    pub(crate) fn witness_state(&self) -> BackendResult<GetWitnessStatusResponse> {
        let peers: Vec<String> = self
            .roster()
            .map(|r| {
                r.members()
                    .map(|m| m.entry.organization.clone())
                    .filter(|o| *o != self.organization)
                    .collect()
            })
            .unwrap_or_default();
        let mut out = GetWitnessStatusResponse {
            log_size: self.log.size(),
            ..Default::default()
        };
        for org in peers {
            let held = self
                .scan_all(&keys::witnessed_all(&org))
                .map_err(internal)?;
            let newest = held
                .last()
                .and_then(|(_, v)| SignedEnvelope::decode(v.as_slice()).ok())
                .and_then(|e| text_of(&e));
            let alarm = self
                .get(&keys::witness_alarm(&org))
                .map_err(internal)?
                .and_then(|b| WitnessAlarm::decode(b.as_slice()).ok());
            out.witnessed.push(WitnessedLog {
                organization: org.clone(),
                size: newest.as_ref().map_or(0, |c| c.size),
                checkpoint_at_unix_ms: newest.as_ref().map_or(0, |c| c.at_unix_ms),
                cosigned: held.len() as u64,
                alarm,
            });
            let cosigned = self
                .get(&keys::witness(&org))
                .map_err(internal)?
                .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
                .and_then(|e| text_of(&e));
            out.witnesses.push(LogWitness {
                organization: org,
                size: cosigned.as_ref().map_or(0, |c| c.size),
                checkpoint_at_unix_ms: cosigned.as_ref().map_or(0, |c| c.at_unix_ms),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
