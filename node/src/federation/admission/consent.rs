//! Admitting consents and revocations. A consent comes from the plan's consent home and may
//! make the plan known here; a revocation may come from any participant and only ever removes
//! access. Both purge, in the same lock, the copies the new state no longer covers.

use kronobarn_gateway::PlanEvent;
use kronobarn_proto::v1::{AccessRecord, Consent, Revocation, SignedEnvelope};
use kronobarn_proto::validate;
use prost::Message;

use super::{Admission, Admitted, Refusal, internal, invalid};
use crate::keys;
use crate::node::{PlanRecord, Purge};
use crate::outbox::{URGENT, known_organizations};
use crate::store::Op;

impl Admission<'_> {
    pub(super) fn admit_consent(
        &self,
        peer: &str,
        signer: &str,
        c: Consent,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        let n = self.node;
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
        let _g = n.stripe(&plan_id);
        // Whose plan it is comes from its signed creation record and handovers, which travel
        // ahead of the consent; a consent alone never makes its signer the home. A node learns
        // of a plan only from a consent that grants it something.
        let mut record = match n.plan_record_if_any(&plan_id).map_err(internal)? {
            Some(r) => r,
            None => {
                if n.get(&keys::tombstone(&plan_id))
                    .map_err(internal)?
                    .is_some()
                {
                    // Retention deleted the plan here: a late consent does not bring it back.
                    return Err(Refusal::NotPermitted("plan-deleted"));
                }
                let Some(home) = n.provisional_home(&plan_id).map_err(internal)? else {
                    return Err(Refusal::NotYet(format!(
                        "plan {plan_id}: its creation record has not arrived"
                    )));
                };
                if !c
                    .grants
                    .iter()
                    .any(|g| g.organization == n.organization_id())
                {
                    return Err(Refusal::NotPermitted("not-granted"));
                }
                PlanRecord {
                    home_organization: home,
                    created_at_unix_ms: n.now_ms(),
                    updated_at_unix_ms: 0,
                }
            }
        };
        if record.home_organization != c.consent_home {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: record.home_organization,
            });
        }
        if let Some((old, env_old)) = n.current_consent(&plan_id).map_err(internal)? {
            if old.consent_version > c.consent_version
                || (old.consent_version == c.consent_version && env_old.payload != env.payload)
            {
                return Err(Refusal::Replay {
                    stored: old.consent_version.to_string(),
                    got: c.consent_version.to_string(),
                });
            }
            if old.consent_version == c.consent_version {
                return Ok(Admitted {
                    deferred: None,
                    record: AccessRecord {
                        content_hash: hash,
                        consent_version: c.consent_version,
                        ..self.receipt(peer, &plan_id, "consent", "already-held")
                    },
                    event: PlanEvent::Consent(c),
                    plan_id,
                });
            }
        }
        record.updated_at_unix_ms = n.now_ms();
        let mut ops = vec![
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
            ..self.receipt(peer, &plan_id, "consent", "consent-home")
        };
        // Copies the new consent no longer covers go in the same batch, named in its record.
        let mut purge = Purge::default();
        if let Some(mut after) = n.whole(&plan_id).map_err(internal)? {
            after.consent = Some(c.clone());
            purge = n.purge_of(&after);
            ops.append(&mut purge.ops);
        }
        let records = n.purge_records(record, purge);
        n.write(&records, ops).map_err(internal)?;
        let record = records.into_iter().next().expect("the change's own record");
        Ok(Admitted {
            deferred: None,
            record,
            event: PlanEvent::Consent(c),
            plan_id,
        })
    }

    /// A revocation signed by any roster member is kept, whether this node knows the plan yet or
    /// not, and whether or not it can see the recorder take part: it only ever removes access.
    /// Kept before the plan is known, it applies as soon as the plan arrives. Its purge lands in
    /// the same batch, and the receipt names it by hash, so the recorder can count it.
    pub(super) fn admit_revocation(
        &self,
        peer: &str,
        signer: &str,
        r: Revocation,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        let n = self.node;
        if r.recorded_at_organization != signer {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: r.recorded_at_organization.clone(),
            });
        }
        validate::slug("revocation.revocation_id", &r.revocation_id).map_err(invalid)?;
        let plan_id = r.plan_id.clone();
        validate::plan_id("revocation.plan_id", &plan_id).map_err(invalid)?;
        let _g = n.stripe(&plan_id);
        let view = n.load(&plan_id, false).map_err(internal)?;
        validate::revocation(
            "revocation",
            &r,
            view.as_ref().and_then(|v| v.header.as_ref()),
        )
        .map_err(invalid)?;
        let key = keys::revocation(&plan_id, &r.revocation_id);
        let receipt = |reason: &str| AccessRecord {
            content_hash: hash.clone(),
            ..self.receipt(signer, &plan_id, "consent", reason)
        };
        if view.is_none()
            && n.get(&keys::tombstone(&plan_id))
                .map_err(internal)?
                .is_some()
        {
            // Retention deleted the plan here: a late withdrawal has nothing left to remove.
            return Err(Refusal::NotPermitted("plan-deleted"));
        }
        if n.get(&key).map_err(internal)?.is_some() {
            // Stored before, with its purge in the same batch: nothing more to do.
            return Ok(Admitted {
                deferred: None,
                record: receipt("already-held"),
                event: PlanEvent::Revocation(r),
                plan_id,
            });
        }
        let record = receipt("revocation");
        let mut purge = Purge::default();
        let mut ops = vec![Op::Put(key.clone(), env.encode_to_vec())];
        if let Some(view) = &view {
            // The recorder sends a revocation to every organisation it knows of; the consent
            // home, which knows every participant and grant, sends it on once more (and puts it in
            // its change feed, so anti-entropy carries it to whoever the push misses), so an
            // organisation the recorder cannot see or reach still hears of it. Other receivers
            // do not forward: a flood from every receiver multiplied the county's work per
            // revocation about five-fold (BENCHMARKS.md), and leases bound the rest. The home
            // forwards only what an organisation of the plan recorded.
            // Only to those the recorder did not send it to itself: no node gets it twice.
            let known = known_organizations(view);
            if let Some(outbox) = n.outbox()
                && view.home_organization == n.organization_id()
                && known.contains(signer)
            {
                let (version, clock_op) = n.tick();
                ops.push(clock_op);
                ops.push(Op::Put(keys::feed(version.key()), key));
                let to = known.into_iter().filter(|o| {
                    o != signer && o != peer && o != n.organization_id() && !r.notified.contains(o)
                });
                ops.extend(outbox.ops(env, URGENT, to, version, &mut 0));
            }
            if let Some(mut after) = n.whole(&plan_id).map_err(internal)? {
                after.revocations.push(r.clone());
                purge = n.purge_of(&after);
                ops.append(&mut purge.ops);
            }
        }
        let records = n.purge_records(record, purge);
        n.write(&records, ops).map_err(internal)?;
        let record = records.into_iter().next().expect("the change's own record");
        Ok(Admitted {
            deferred: None,
            record,
            event: PlanEvent::Revocation(r),
            plan_id,
        })
    }
}
