//! Admitting who a plan's home is: the signed creation record (which binds a plan id to the
//! organisation that created it), and handovers of the responsibility: an offer (kept only by its
//! addressee), its withdrawal, an acceptance carrying the offer (taken only by the home that made
//! the offer, by its own open offer and clock), or that home's signed confirmation of it, which
//! alone moves the plan at every other node, one that only notes the plan's provenance included:
//! exactly the next handover, from the organisation responsible now. Offers and creations are checked against their own signers,
//! whoever relays them. The addressee of an offer judges the unit it names by its own rules.

use kronobarn_gateway::PlanEvent;
use kronobarn_policy::Date;
use kronobarn_policy::responsibility::responsible_unit;
use kronobarn_proto::envelope;
use kronobarn_proto::v1::{
    AccessRecord, HandoverAcceptance, HandoverConfirmation, HandoverWithdrawal, PayloadKind,
    PlanCreation, SignedEnvelope,
};
use kronobarn_proto::validate;
use prost::Message;

use super::{Admission, Admitted, Refusal, internal, invalid};
use crate::keys;
use crate::node::{AcceptanceProblem, PlanRecord, acceptance_problem, offer_of};
use crate::store::Op;

impl Admission<'_> {
    fn responsibility_receipt(
        &self,
        peer: &str,
        plan_id: &str,
        env: &SignedEnvelope,
        reason: &str,
    ) -> AccessRecord {
        AccessRecord {
            content_hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&env.payload)),
            ..self.receipt(peer, plan_id, "responsibility", reason)
        }
    }

    /// Admits a plan's creation record: the plan's first home, as that home signed it. Kept
    /// apart from the plan itself: a node learns of a plan only from a consent that grants it
    /// something, and then the creation record (and the handovers after it) say whose it is.
    pub(super) fn admit_creation(
        &self,
        peer: &str,
        signer: &str,
        c: PlanCreation,
        env: &SignedEnvelope,
    ) -> Result<Admitted, Refusal> {
        let n = self.node;
        validate::plan_id("creation.plan_id", &c.plan_id).map_err(invalid)?;
        if c.home_organization != signer {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: c.home_organization,
            });
        }
        let plan_id = c.plan_id.clone();
        let _g = n.stripe(&plan_id);
        let done = |reason: &str| Admitted {
            deferred: None,
            record: self.responsibility_receipt(peer, &plan_id, env, reason),
            plan_id: plan_id.clone(),
            event: PlanEvent::Fragment {
                fragment_id: "header".into(),
            },
        };
        if let Some(held) = n.get(&keys::creation(&plan_id)).map_err(internal)? {
            let held = SignedEnvelope::decode(held.as_slice()).map_err(internal)?;
            if held.payload != env.payload {
                return Err(Refusal::Replay {
                    stored: "another creation record".into(),
                    got: "this one".into(),
                });
            }
            return Ok(done("already-held"));
        }
        if n.get(&keys::tombstone(&plan_id))
            .map_err(internal)?
            .is_some()
        {
            // Retention deleted the plan here: nothing brings it back.
            return Err(Refusal::NotPermitted("plan-deleted"));
        }
        let ops = vec![Op::Put(keys::creation(&plan_id), env.encode_to_vec())];
        let admitted = done("plan-created");
        n.write(std::slice::from_ref(&admitted.record), ops)
            .map_err(internal)?;
        Ok(admitted)
    }

    /// Admits an offer, a withdrawal or an acceptance.
    pub(super) fn admit_handover(
        &self,
        peer: &str,
        signer: &str,
        kind: PayloadKind,
        env: &SignedEnvelope,
    ) -> Result<Admitted, Refusal> {
        let n = self.node;
        // The acceptance itself: the envelope, or the one a confirmation carries.
        let mut acceptance_env: Option<SignedEnvelope> = None;
        let offer_env = match kind {
            PayloadKind::HandoverOffer => env.clone(),
            PayloadKind::HandoverWithdrawal => {
                let w = HandoverWithdrawal::decode(env.payload.as_slice())
                    .map_err(|e| Refusal::Invalid(format!("withdrawal: {e}")))?;
                w.offer
                    .ok_or_else(|| Refusal::Invalid("withdrawal without its offer".into()))?
            }
            PayloadKind::HandoverConfirmation => {
                let c = HandoverConfirmation::decode(env.payload.as_slice())
                    .map_err(|e| Refusal::Invalid(format!("confirmation: {e}")))?;
                let acc_env = c.acceptance.ok_or_else(|| {
                    Refusal::Invalid("confirmation without its acceptance".into())
                })?;
                let a = HandoverAcceptance::decode(acc_env.payload.as_slice())
                    .map_err(|e| Refusal::Invalid(format!("acceptance: {e}")))?;
                let o = a
                    .offer
                    .ok_or_else(|| Refusal::Invalid("acceptance without its offer".into()))?;
                acceptance_env = Some(acc_env);
                o
            }
            _ => {
                let a = HandoverAcceptance::decode(env.payload.as_slice())
                    .map_err(|e| Refusal::Invalid(format!("acceptance: {e}")))?;
                let o = a
                    .offer
                    .ok_or_else(|| Refusal::Invalid("acceptance without its offer".into()))?;
                acceptance_env = Some(env.clone());
                o
            }
        };
        let offer =
            offer_of(&offer_env).ok_or_else(|| Refusal::Invalid("offer does not decode".into()))?;
        validate::plan_id("offer.plan_id", &offer.plan_id).map_err(invalid)?;
        // The offer must be signed by the organisation handing over, whoever relays it.
        let from = self
            .roster
            .member(&offer.from_organization)
            .ok_or_else(|| Refusal::UnknownSigner(offer.from_organization.clone()))?;
        let now = n.now_ms();
        envelope::open(&offer_env, PayloadKind::HandoverOffer, |id| {
            from.key_for(id, now)
        })
        .map_err(|e| Refusal::BadSignature(format!("offer: {e}")))?;
        if kind == PayloadKind::HandoverConfirmation {
            // The acceptance inside must be signed by the organisation taking over.
            let to = self
                .roster
                .member(&offer.to_organization)
                .ok_or_else(|| Refusal::UnknownSigner(offer.to_organization.clone()))?;
            let acc = acceptance_env.as_ref().expect("set for a confirmation");
            envelope::open(acc, PayloadKind::HandoverAcceptance, |id| {
                to.key_for(id, now)
            })
            .map_err(|e| Refusal::BadSignature(format!("acceptance: {e}")))?;
        }
        let author = match kind {
            PayloadKind::HandoverAcceptance => &offer.to_organization,
            _ => &offer.from_organization,
        };
        if signer != author {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: author.clone(),
            });
        }
        let plan_id = offer.plan_id.clone();
        let _g = n.stripe(&plan_id);
        // A node that holds only the plan's provenance (its creation and handovers, which travel
        // ahead of a consent) follows the chain too, without knowing the plan itself.
        let known = n.plan_record_if_any(&plan_id).map_err(internal)?;
        let mut record = match &known {
            Some(r) => r.clone(),
            None => PlanRecord {
                home_organization: n.provisional_home(&plan_id).map_err(internal)?.ok_or_else(
                    || {
                        Refusal::NotYet(format!(
                            "plan {plan_id}: its creation record has not arrived"
                        ))
                    },
                )?,
                ..Default::default()
            },
        };
        let admitted = |reason: &str| Admitted {
            deferred: None,
            record: self.responsibility_receipt(peer, &plan_id, env, reason),
            plan_id: plan_id.clone(),
            event: PlanEvent::Fragment {
                fragment_id: "header".into(),
            },
        };
        match kind {
            PayloadKind::HandoverOffer => {
                if known.is_none() {
                    return Err(Refusal::UnknownPlan(plan_id.clone()));
                }
                if offer.to_organization != n.organization_id()
                    || record.home_organization != offer.from_organization
                    || offer.sequence != n.handover_chain(&plan_id).map_err(internal)? + 1
                    || now > offer.expires_at_unix_ms
                {
                    return Err(Refusal::OfferNotOpen);
                }
                // By this node's own rules, whoever signed the offer: a unit of a kind that can
                // never be the child's Barnens bästa-ansvarig (unless this node's operator
                // allows it) is not offered anything. Whether it may be for this child today is
                // checked when a user accepts, with the header if this node holds it.
                if let Err(e) = responsible_unit(
                    &n.directory(),
                    &offer.to_organization,
                    &offer.to_unit,
                    None,
                    Date::in_sweden(now),
                    &n.exceptions(),
                ) {
                    return Err(Refusal::ResponsibleKind(format!(
                        "unit '{}' may not be Barnens bästa-ansvarig here ({e})",
                        offer.to_unit
                    )));
                }
                let a = admitted("handover-offered");
                n.write(
                    std::slice::from_ref(&a.record),
                    vec![Op::Put(keys::handover(&plan_id), offer_env.encode_to_vec())],
                )
                .map_err(internal)?;
                Ok(a)
            }
            PayloadKind::HandoverWithdrawal => {
                // Only the addressee holds the offer; elsewhere there is nothing to undo.
                let held = n.get(&keys::handover(&plan_id)).map_err(internal)?;
                let same = held
                    .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
                    .is_some_and(|h| h.payload == offer_env.payload);
                let a = admitted("handover-withdrawn");
                let ops = if same {
                    vec![Op::Delete(keys::handover(&plan_id))]
                } else {
                    Vec::new()
                };
                n.write(std::slice::from_ref(&a.record), ops)
                    .map_err(internal)?;
                Ok(a)
            }
            _ => {
                let chain = n.handover_chain(&plan_id).map_err(internal)?;
                let acc_env = acceptance_env.expect("set for an acceptance or a confirmation");
                if let Some(held) = n
                    .get(&keys::handed(&plan_id, offer.sequence))
                    .map_err(internal)?
                    && held == acc_env.encode_to_vec()
                {
                    // Held already; a confirmation of it that is not kept yet (a handover
                    // taken before confirmations were signed) is kept now, so the plan's
                    // provenance can carry it.
                    if kind == PayloadKind::HandoverConfirmation
                        && n.get(&keys::confirmed(&plan_id, offer.sequence))
                            .map_err(internal)?
                            .is_none()
                    {
                        let a = admitted("already-held");
                        n.write(
                            std::slice::from_ref(&a.record),
                            vec![Op::Put(
                                keys::confirmed(&plan_id, offer.sequence),
                                env.encode_to_vec(),
                            )],
                        )
                        .map_err(internal)?;
                        return Ok(a);
                    }
                    return Ok(admitted("already-held"));
                }
                // Who decides is the home that made the offer, by its own open offer and its
                // own clock: the acceptance's date is only its signer's word, and a withdrawn
                // or expired offer would otherwise be taken by backdating it. The home signs a
                // confirmation and sends it on; every other node, one that only notes the
                // plan's provenance included, takes a handover only as that confirmation,
                // whoever relays it.
                let me = n.organization_id();
                let home_decides = kind == PayloadKind::HandoverAcceptance
                    && known.is_some()
                    && me == offer.from_organization;
                let judged_at = if home_decides {
                    let open = n
                        .get(&keys::handover(&plan_id))
                        .map_err(internal)?
                        .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
                        .is_some_and(|h| h.payload == offer_env.payload);
                    if !open {
                        return Err(Refusal::OfferNotOpen);
                    }
                    now
                } else if kind == PayloadKind::HandoverConfirmation {
                    // Confirmed by the home, on its clock.
                    offer.expires_at_unix_ms
                } else {
                    return Err(Refusal::NotPermitted("unconfirmed-acceptance"));
                };
                match acceptance_problem(chain, &record.home_organization, &offer, judged_at) {
                    None => {}
                    Some(AcceptanceProblem::Early) => {
                        return Err(Refusal::NotYet(format!(
                            "handover {} of plan {plan_id} before handover {}",
                            offer.sequence,
                            chain + 1
                        )));
                    }
                    Some(AcceptanceProblem::Used) => {
                        return Err(Refusal::Replay {
                            stored: format!("{chain} handovers"),
                            got: format!("handover {}", offer.sequence),
                        });
                    }
                    Some(AcceptanceProblem::NotFromHome) => {
                        return Err(Refusal::SignerNotAuthor {
                            signer: offer.from_organization.clone(),
                            author: record.home_organization,
                        });
                    }
                    Some(AcceptanceProblem::Expired) => return Err(Refusal::OfferNotOpen),
                }
                let mut ops = vec![Op::Put(
                    keys::handed(&plan_id, offer.sequence),
                    acc_env.encode_to_vec(),
                )];
                if kind == PayloadKind::HandoverConfirmation {
                    ops.push(Op::Put(
                        keys::confirmed(&plan_id, offer.sequence),
                        env.encode_to_vec(),
                    ));
                }
                if known.is_none() {
                    let a = admitted("handover-noted");
                    n.write(std::slice::from_ref(&a.record), ops)
                        .map_err(internal)?;
                    return Ok(a);
                }
                if home_decides {
                    let (_, relay) = n
                        .handover_relay_ops(&plan_id, &acc_env, offer.sequence)
                        .map_err(internal)?;
                    ops.extend(relay);
                } else if me == offer.to_organization {
                    ops.extend(
                        n.handover_confirmed_ops(&plan_id, &offer)
                            .map_err(internal)?,
                    );
                }
                record.home_organization = offer.to_organization.clone();
                record.updated_at_unix_ms = now;
                ops.push(Op::Put(keys::plan(&plan_id), record.encode_to_vec()));
                // An open offer held here is used up or stale now.
                ops.push(Op::Delete(keys::handover(&plan_id)));
                // Copies received here are now shown under leases from the new home.
                if n.organization_id() != offer.to_organization {
                    ops.push(Op::Put(
                        keys::wanted_lease(&plan_id),
                        offer.to_organization.as_bytes().to_vec(),
                    ));
                    ops.push(Op::Delete(keys::lease(&plan_id)));
                }
                let a = admitted("handover-accepted");
                n.write(std::slice::from_ref(&a.record), ops)
                    .map_err(internal)?;
                Ok(a)
            }
        }
    }
}
