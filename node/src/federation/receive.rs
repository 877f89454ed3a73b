//! Admitting what a peer pushes: signature first, then the sender's right to say it, then
//! replay, then consent. Refusals store nothing.

use kronobarn_gateway::{Backend, PlanEvent};
use kronobarn_policy::{FragmentFacts, decide_share};
use kronobarn_proto::envelope;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Decision, Fragment, PayloadKind, Revocation,
    SignedEnvelope, fragment::Body,
};
use kronobarn_proto::validate::{self, FieldError, swedish_date};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::keys;
use crate::node::{Node, PlanRecord, now_ms};
use crate::roster::Roster;
use crate::store::Op;

/// Why an envelope was refused. The code goes back to the sender and into the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The key id is not any roster member's.
    #[error("unknown-signer: key {0} belongs to no roster member")]
    UnknownSigner(String),
    /// The signature does not verify, or the kind is unknown.
    #[error("bad-signature: {0}")]
    BadSignature(String),
    /// The payload does not decode or is not valid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The signer is not the organisation the message says wrote it.
    #[error("signer-not-author: signed by {signer}, but the message is {author}'s")]
    SignerNotAuthor {
        /// Who signed.
        signer: String,
        /// Whose message it claims to be.
        author: String,
    },
    /// The connection's TLS identity is not the signer (fragments and consents are sent by
    /// their author).
    #[error("peer-not-signer: sent by {peer}, signed by {signer}")]
    PeerNotSigner {
        /// TLS identity.
        peer: String,
        /// Signer.
        signer: String,
    },
    /// The receiver knows no consent for this plan naming it.
    #[error("unknown-plan: no consent naming this organisation has arrived for plan {0}")]
    UnknownPlan(String),
    /// The sender takes no part in the plan.
    #[error("not-participant: {0} takes no part in the plan")]
    NotParticipant(String),
    /// Older than what is stored.
    #[error("replay: version {got} is not newer than the stored {stored}")]
    Replay {
        /// Stored version.
        stored: String,
        /// Received version.
        got: String,
    },
    /// The receiver's consent check denies holding it.
    #[error("{0}: the consent this node holds does not let it hold this")]
    NotPermitted(&'static str),
    /// Storage failed.
    #[error("internal: {0}")]
    Internal(String),
}

impl Refusal {
    /// Short stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownSigner(_) => "unknown-signer",
            Refusal::BadSignature(_) => "bad-signature",
            Refusal::Invalid(_) => "invalid",
            Refusal::SignerNotAuthor { .. } => "signer-not-author",
            Refusal::PeerNotSigner { .. } => "peer-not-signer",
            Refusal::UnknownPlan(_) => "unknown-plan",
            Refusal::NotParticipant(_) => "not-participant",
            Refusal::Replay { .. } => "replay",
            Refusal::NotPermitted(r) => r,
            Refusal::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::Internal(e.to_string())
}

fn invalid(e: FieldError) -> Refusal {
    Refusal::Invalid(e.to_string())
}

/// What was admitted.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The access record of the receipt (signed and returned to the sender).
    pub record: AccessRecord,
    /// The plan.
    pub plan_id: String,
    /// The event for local watchers.
    pub event: PlanEvent,
}

impl Node {
    fn receipt(
        &self,
        peer: &str,
        plan_id: &str,
        fragment_id: &str,
        action: AccessAction,
        reason: &str,
    ) -> AccessRecord {
        AccessRecord {
            at_unix_ms: now_ms(),
            organization: peer.to_string(),
            user_id: format!("node:{peer}"),
            role: "node".into(),
            system: "federation".into(),
            plan_id: plan_id.to_string(),
            fragment_id: fragment_id.to_string(),
            action: action as i32,
            decision: Decision::Permit as i32,
            reason: reason.to_string(),
            ..Default::default()
        }
    }

    /// Verifies and admits one envelope pushed by `peer` (its TLS identity). Applies the write
    /// (not yet flushed); the caller awaits durability before acknowledging.
    pub fn admit(
        &self,
        roster: &Roster,
        peer: &str,
        env: &SignedEnvelope,
    ) -> Result<Admitted, Refusal> {
        let (signer, key) = roster
            .signer(&env.key_id)
            .ok_or_else(|| Refusal::UnknownSigner(env.key_id.clone()))?;
        let kind = PayloadKind::try_from(env.kind)
            .map_err(|_| Refusal::BadSignature(format!("unknown kind {}", env.kind)))?;
        let payload = envelope::open(env, kind, |_| Some(key))
            .map_err(|e| Refusal::BadSignature(e.to_string()))?;
        let signer = signer.to_string();
        let hash = hex::encode(Sha256::digest(payload));
        match kind {
            PayloadKind::Fragment => {
                let f = Fragment::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("fragment: {e}")))?;
                self.admit_fragment(peer, &signer, f, env, hash)
            }
            PayloadKind::Consent => {
                let c = Consent::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("consent: {e}")))?;
                self.admit_consent(peer, &signer, c, env, hash)
            }
            PayloadKind::Revocation => {
                let r = Revocation::decode(payload)
                    .map_err(|e| Refusal::Invalid(format!("revocation: {e}")))?;
                self.admit_revocation(peer, &signer, r, env, hash)
            }
            PayloadKind::HandoverOffer | PayloadKind::HandoverAcceptance => {
                self.admit_handover(roster, peer, &signer, kind, env)
            }
            other => Err(Refusal::Invalid(format!(
                "{} cannot be pushed",
                other.as_str_name()
            ))),
        }
    }

    fn admit_fragment(
        &self,
        peer: &str,
        signer: &str,
        f: Fragment,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        let today = swedish_date(now_ms());
        let category = validate::fragment("fragment", &f, today).map_err(invalid)?;
        if f.home_organization != signer {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: f.home_organization.clone(),
            });
        }
        if peer != signer {
            return Err(Refusal::PeerNotSigner {
                peer: peer.into(),
                signer: signer.into(),
            });
        }
        if f.fragment_id.is_empty() || f.category != category as i32 {
            return Err(Refusal::Invalid(
                "fragment: fragment_id and a category matching the body are required".into(),
            ));
        }
        let version = f
            .version
            .ok_or_else(|| Refusal::Invalid("fragment.version: is required".into()))?;
        if f.home_organization == self.organization() {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: "this node".into(),
            });
        }
        let plan_id = f.plan_id.clone();
        let _g = self.stripe(&plan_id);
        let Some(view) = self.load_plan_facts(&plan_id).map_err(internal)? else {
            return Err(Refusal::UnknownPlan(plan_id));
        };
        let state = view.policy_state();
        let granted_somewhere = view
            .consent
            .as_ref()
            .is_some_and(|c| c.grants.iter().any(|g| g.organization == peer));
        if !state.has_organization(peer) && !granted_somewhere {
            return Err(Refusal::NotParticipant(peer.into()));
        }
        // Who takes part and where the plan stands are the responsible organisation's to say,
        // as at the home itself.
        let home_only = matches!(
            f.body,
            Some(Body::Header(_)) | Some(Body::Participant(_)) | Some(Body::Status(_))
        );
        if home_only && f.home_organization != view.home_organization {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: view.home_organization.clone(),
            });
        }
        if let Some(old) = self
            .stored_fragment(&plan_id, &f.fragment_id)
            .map_err(internal)?
        {
            let header_moved = f.fragment_id == kronobarn_proto::ids::HEADER_FRAGMENT_ID
                && view.home_organization == f.home_organization;
            if old.fragment.home_organization != f.home_organization && !header_moved {
                return Err(Refusal::SignerNotAuthor {
                    signer: signer.into(),
                    author: old.fragment.home_organization,
                });
            }
            let stored = old.fragment.version.unwrap_or_default();
            if stored.key() > version.key()
                || (stored.key() == version.key() && old.content_hash != hash)
            {
                return Err(Refusal::Replay {
                    stored: stored.to_string(),
                    got: version.to_string(),
                });
            }
            if stored.key() == version.key() {
                // Already held: acknowledge again without writing.
                let record = self.receipt(
                    peer,
                    &plan_id,
                    &f.fragment_id,
                    AccessAction::Receive,
                    "already-held",
                );
                return Ok(Admitted {
                    record,
                    event: PlanEvent::Fragment {
                        fragment_id: f.fragment_id,
                    },
                    plan_id,
                });
            }
        }
        let facts = FragmentFacts {
            home: &f.home_organization,
            category: kronobarn_policy::Category(f.category),
        };
        let d = decide_share(&state, self.organization(), facts, now_ms());
        if !d.is_permit() {
            return Err(Refusal::NotPermitted(d.reason()));
        }
        self.clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(&version);
        let mut record = self.plan_record(&plan_id).map_err(internal)?;
        record.updated_at_unix_ms = now_ms();
        let mut ops = vec![
            Op::Put(
                keys::fragment(&plan_id, &f.fragment_id),
                env.encode_to_vec(),
            ),
            Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
        ];
        // Stale entries of an earlier version are skipped when read.
        ops.extend(Node::due_ops(&plan_id, None, &f));
        if matches!(f.body, Some(Body::Participant(_)) | Some(Body::Header(_))) {
            let before = Node::units(&view);
            let mut after = view.clone();
            after
                .fragments
                .retain(|x| x.fragment.fragment_id != f.fragment_id);
            after.fragments.push(kronobarn_gateway::StoredFragment {
                fragment: f.clone(),
                content_hash: hash.clone(),
            });
            if let Some(Body::Header(h)) = &f.body {
                after.header = Some(h.clone());
            }
            ops.extend(Node::index_ops(&plan_id, &before, &Node::units(&after)));
            if matches!(f.body, Some(Body::Participant(_))) {
                ops.push(Op::Put(keys::member(&plan_id, &f.fragment_id), Vec::new()));
            }
        }
        let record = AccessRecord {
            version: Some(version),
            content_hash: hash,
            consent_version: d.consent_version(),
            ..self.receipt(
                peer,
                &plan_id,
                &f.fragment_id,
                AccessAction::Receive,
                d.reason(),
            )
        };
        self.log
            .append_with(std::slice::from_ref(&record), ops)
            .map_err(internal)?;
        Ok(Admitted {
            record,
            event: PlanEvent::Fragment {
                fragment_id: f.fragment_id,
            },
            plan_id,
        })
    }

    fn admit_consent(
        &self,
        peer: &str,
        signer: &str,
        c: Consent,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        validate::plan_id("consent.plan_id", &c.plan_id).map_err(invalid)?;
        if c.consent_home != signer {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: c.consent_home.clone(),
            });
        }
        if peer != signer {
            return Err(Refusal::PeerNotSigner {
                peer: peer.into(),
                signer: signer.into(),
            });
        }
        if c.consent_version == 0 {
            return Err(Refusal::Invalid(
                "consent.consent_version: must be at least 1".into(),
            ));
        }
        let plan_id = c.plan_id.clone();
        let _g = self.stripe(&plan_id);
        let known = self.store.get(&keys::plan(&plan_id)).map_err(internal)?;
        let mut record = match known {
            Some(b) => PlanRecord::decode(b.as_slice()).map_err(internal)?,
            None if c
                .grants
                .iter()
                .any(|g| g.organization == self.organization()) =>
            {
                PlanRecord {
                    home_organization: c.consent_home.clone(),
                    created_at_unix_ms: now_ms(),
                    updated_at_unix_ms: 0,
                }
            }
            None => return Err(Refusal::UnknownPlan(plan_id)),
        };
        if record.home_organization != c.consent_home {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: record.home_organization,
            });
        }
        if let Some((_, v)) = self
            .store
            .last(&keys::consents(&plan_id))
            .map_err(internal)?
        {
            let env_old = SignedEnvelope::decode(v.as_slice()).map_err(internal)?;
            let old = Consent::decode(env_old.payload.as_slice()).map_err(internal)?;
            if old.consent_version > c.consent_version
                || (old.consent_version == c.consent_version && env_old.payload != env.payload)
            {
                return Err(Refusal::Replay {
                    stored: old.consent_version.to_string(),
                    got: c.consent_version.to_string(),
                });
            }
            if old.consent_version == c.consent_version {
                let record = self.receipt(
                    peer,
                    &plan_id,
                    "consent",
                    AccessAction::Receive,
                    "already-held",
                );
                return Ok(Admitted {
                    record,
                    event: PlanEvent::Consent(c),
                    plan_id,
                });
            }
        }
        record.updated_at_unix_ms = now_ms();
        let ops = vec![
            Op::Put(
                keys::wanted_lease(&plan_id),
                c.consent_home.as_bytes().to_vec(),
            ),
            Op::Put(
                keys::consent(&plan_id, c.consent_version),
                env.encode_to_vec(),
            ),
            Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
        ];
        let record = AccessRecord {
            content_hash: hash,
            consent_version: c.consent_version,
            ..self.receipt(
                peer,
                &plan_id,
                "consent",
                AccessAction::Receive,
                "consent-home",
            )
        };
        self.log
            .append_with(std::slice::from_ref(&record), ops)
            .map_err(internal)?;
        self.purge_locked(&plan_id).map_err(internal)?;
        Ok(Admitted {
            record,
            event: PlanEvent::Consent(c),
            plan_id,
        })
    }

    fn admit_revocation(
        &self,
        peer: &str,
        signer: &str,
        r: Revocation,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        validate::plan_id("revocation.plan_id", &r.plan_id).map_err(invalid)?;
        validate::slug("revocation.revocation_id", &r.revocation_id).map_err(invalid)?;
        if r.recorded_at_organization != signer {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: r.recorded_at_organization.clone(),
            });
        }
        let plan_id = r.plan_id.clone();
        let _g = self.stripe(&plan_id);
        let Some(view) = self.load_plan_facts(&plan_id).map_err(internal)? else {
            return Err(Refusal::UnknownPlan(plan_id));
        };
        let granted = view
            .consent
            .as_ref()
            .is_some_and(|c| c.grants.iter().any(|g| g.organization == signer));
        if !view.policy_state().has_organization(signer) && !granted {
            return Err(Refusal::NotParticipant(signer.into()));
        }
        // Revocations only ever remove access, so one that is already held is simply acknowledged.
        let key = keys::revocation(&plan_id, &r.revocation_id);
        if self.store.get(&key).map_err(internal)?.is_none() {
            let record = AccessRecord {
                content_hash: hash,
                ..self.receipt(
                    signer,
                    &plan_id,
                    "consent",
                    AccessAction::Receive,
                    "revocation",
                )
            };
            let mut ops = vec![Op::Put(key, env.encode_to_vec())];
            // The recorder sends a revocation to every organisation it knows of; the consent
            // home, which knows every participant and grant, sends it on once more, so an
            // organisation the recorder cannot see or reach still hears of it. Other receivers
            // do not forward: a flood from every receiver multiplied the county's work per
            // revocation about five-fold (BENCHMARKS.md), and leases bound the rest.
            if self.roster().is_some() && view.home_organization == self.organization() {
                let (version, clock_op) = self.tick();
                ops.push(clock_op);
                let to =
                    crate::federation::outbox::known_organizations(&view, &view.policy_state())
                        .into_iter()
                        .filter(|o| o != signer && o != peer);
                ops.extend(self.outbox_ops(
                    env,
                    crate::federation::outbox::URGENT,
                    to,
                    version,
                    &mut 0,
                ));
            }
            self.log
                .append_with(std::slice::from_ref(&record), ops)
                .map_err(internal)?;
            self.purge_locked(&plan_id).map_err(internal)?;
            return Ok(Admitted {
                record,
                event: PlanEvent::Revocation(r),
                plan_id,
            });
        }
        let record = self.receipt(
            signer,
            &plan_id,
            "consent",
            AccessAction::Receive,
            "already-held",
        );
        Ok(Admitted {
            record,
            event: PlanEvent::Revocation(r),
            plan_id,
        })
    }

    /// Deletes the received copies of a plan that the consent this node holds no longer covers
    /// (never its own fragments). Runs under the plan's stripe lock.
    pub(crate) fn purge_locked(
        &self,
        plan_id: &str,
    ) -> Result<usize, kronobarn_gateway::BackendError> {
        let Some(view) = self.load_plan(plan_id)? else {
            return Ok(0);
        };
        let state = view.policy_state();
        let now = now_ms();
        let mut ops = Vec::new();
        let mut records = Vec::new();
        for f in &view.fragments {
            let facts = FragmentFacts {
                home: &f.fragment.home_organization,
                category: kronobarn_policy::Category(f.fragment.category),
            };
            let d = decide_share(&state, self.organization(), facts, now);
            if !d.is_permit() {
                ops.push(Op::Delete(keys::fragment(plan_id, &f.fragment.fragment_id)));
                ops.push(Op::Delete(keys::member(plan_id, &f.fragment.fragment_id)));
                records.push(AccessRecord {
                    version: f.fragment.version,
                    content_hash: f.content_hash.clone(),
                    consent_version: d.consent_version(),
                    ..self.receipt(
                        &f.fragment.home_organization,
                        plan_id,
                        &f.fragment.fragment_id,
                        AccessAction::Purge,
                        d.reason(),
                    )
                });
            }
        }
        let n = records.len();
        if n > 0 {
            // A purged header or participant fragment also leaves the unit listing.
            let purged: std::collections::BTreeSet<&str> =
                records.iter().map(|r| r.fragment_id.as_str()).collect();
            let mut after = view.clone();
            after
                .fragments
                .retain(|f| !purged.contains(f.fragment.fragment_id.as_str()));
            if purged.contains(kronobarn_proto::ids::HEADER_FRAGMENT_ID) {
                after.header = None;
            }
            ops.extend(Node::index_ops(
                plan_id,
                &Node::units(&view),
                &Node::units(&after),
            ));
            self.log
                .append_with(&records, ops)
                .map_err(|e| kronobarn_gateway::BackendError::Internal(e.to_string()))?;
        }
        Ok(n)
    }
}
