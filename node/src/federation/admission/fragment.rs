//! Admitting a fragment: it must be its author's, sent by its author, about a plan the receiver
//! knows and the sender takes part in, newer than what is held, and covered by the consent the
//! receiver holds.

use kronobarn_gateway::{PlanEvent, StoredFragment};
use kronobarn_policy::{
    AuthoredFragment, AuthoringDenied, FragmentKind, PlanState, Writer, decide_share,
    may_author_received,
};
use kronobarn_proto::v1::{AccessRecord, Fragment, SignedEnvelope, fragment::Body};
use kronobarn_proto::validate::{self, swedish_date};
use prost::Message;

use super::{Admission, Admitted, Refusal, internal, invalid};
use crate::keys;
use crate::node::{self, membership_ops};
use crate::store::Op;

impl Admission<'_> {
    /// [`may_author_received`] for a fragment `signer` sent: judged against the copy held (its
    /// home as stored), except the header and the plan's stage, which move with the
    /// responsibility. A refusal names whose the fragment is.
    fn may_author(
        state: &PlanState,
        signer: &str,
        f: &Fragment,
        held: Option<&StoredFragment>,
        home: &str,
    ) -> Result<(), Refusal> {
        let kind = node::fragment_kind(f.body.as_ref().expect("validated"));
        let moves_with_home = matches!(kind, FragmentKind::Header | FragmentKind::Status);
        let (owner, owner_authority) = match held {
            Some(old) if !moves_with_home => (
                old.fragment.home_organization.as_str(),
                old.fragment.home_authority.as_str(),
            ),
            _ => (f.home_organization.as_str(), f.home_authority.as_str()),
        };
        let writer = Writer {
            organization: signer,
            authority: &f.home_authority,
        };
        let written = AuthoredFragment {
            home: owner,
            home_authority: owner_authority,
            kind,
        };
        may_author_received(state, writer, written).map_err(|d| Refusal::SignerNotAuthor {
            signer: signer.into(),
            author: match d {
                AuthoringDenied::NotPlanHome => home.to_string(),
                AuthoringDenied::NotHome => owner.to_string(),
                d => format!("{owner} ({})", d.code()),
            },
        })
    }

    pub(super) fn admit_fragment(
        &self,
        peer: &str,
        signer: &str,
        f: Fragment,
        env: &SignedEnvelope,
        hash: String,
    ) -> Result<Admitted, Refusal> {
        let n = self.node;
        let today = swedish_date(n.now_ms());
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
        if node::leaks_protected_contacts(&f) {
            return Err(Refusal::Invalid(
                "fragment.header: a header with protected personal data carries no contact details of the guardians; they stay at the home".into(),
            ));
        }
        if f.fragment_id.is_empty() || f.category != category as i32 {
            return Err(Refusal::Invalid(
                "fragment: fragment_id and a category matching the body are required".into(),
            ));
        }
        let version = f
            .version
            .ok_or_else(|| Refusal::Invalid("fragment.version: is required".into()))?;
        // A version is a clock reading the receiver takes into its own clock: one far ahead would
        // push every later version this node makes.
        let ahead_ms = version.physical_ms.saturating_sub(n.now_ms().max(0) as u64);
        if ahead_ms > n.max_clock_ahead_ms() {
            return Err(Refusal::ClockAhead { ahead_ms });
        }
        if f.home_organization == n.organization_id() {
            return Err(Refusal::SignerNotAuthor {
                signer: signer.into(),
                author: "this node".into(),
            });
        }
        let plan_id = f.plan_id.clone();
        // A plan this node does not hold is refused before its lock is taken: an envelope
        // naming one (its signature checked, its sender not yet judged) must not hold up the
        // local writes that share that lock.
        // (A deferring admission's caller read the plan record when it took the stripe.)
        if !self.defer && n.plan_record_if_any(&plan_id).map_err(internal)?.is_none() {
            return Err(Refusal::UnknownPlan(plan_id));
        }
        // A deferring admission's caller holds the stripe already.
        let _g = (!self.defer).then(|| n.stripe(&plan_id));
        let Some(view) = n.load(&plan_id, false).map_err(internal)? else {
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
        let held = n
            .stored_fragment(&plan_id, &f.fragment_id)
            .map_err(internal)?;
        // A fragment keeps its kind, as the home's own write path insists: a participant
        // rewritten as anything else would leave the membership index naming it.
        let kind = |b: &Option<kronobarn_proto::v1::fragment::Body>| {
            b.as_ref().map(std::mem::discriminant)
        };
        if let Some(old) = &held
            && kind(&old.fragment.body) != kind(&f.body)
        {
            return Err(Refusal::Invalid(format!(
                "fragment {} changes its kind; a fragment keeps its kind",
                f.fragment_id
            )));
        }
        // Who may author what: the one rule the home applies, as far as this node's directory
        // lets it judge another organisation's authorities.
        Self::may_author(&state, signer, &f, held.as_ref(), &view.home_organization)?;
        if let Some(old) = &held {
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
                return Ok(Admitted {
                    deferred: None,
                    record: AccessRecord {
                        version: Some(version),
                        content_hash: hash,
                        withheld_from_guardians: f.withheld_from_guardians,
                        ..self.receipt(peer, &plan_id, &f.fragment_id, "already-held")
                    },
                    event: PlanEvent::Fragment {
                        fragment_id: f.fragment_id,
                    },
                    plan_id,
                });
            }
        }
        let facts = crate::outbox::fragment_facts(&f);
        let d = decide_share(&state, n.organization_id(), facts, n.now_ms());
        if !d.is_permit() {
            return Err(Refusal::NotPermitted(d.reason()));
        }
        n.observe(&version);
        let mut record = n.plan_record(&plan_id).map_err(internal)?;
        record.updated_at_unix_ms = n.now_ms();
        let mut ops = vec![
            Op::Put(
                keys::fragment(&plan_id, &f.fragment_id),
                env.encode_to_vec(),
            ),
            Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
        ];
        // The follow-up index moves from the dates of the copy held before, if any.
        ops.extend(node::due_ops(
            &plan_id,
            held.as_ref().map(|h| &h.fragment),
            &f,
        ));
        if matches!(f.body, Some(Body::Header(_))) {
            ops.extend(n.header_index_ops(
                &plan_id,
                &view.home_organization,
                held.as_ref().map(|h| &h.fragment),
                Some(&f),
            ));
        }
        if node::changes_membership(&f) {
            let stored = StoredFragment {
                fragment: f.clone(),
                content_hash: hash.clone(),
            };
            ops.extend(membership_ops(
                &plan_id,
                &view,
                &node::with_fragment(&view, stored),
            ));
        }
        let record = AccessRecord {
            version: Some(version),
            content_hash: hash,
            consent_version: d.consent_version(),
            withheld_from_guardians: f.withheld_from_guardians,
            ..self.receipt(peer, &plan_id, &f.fragment_id, d.reason())
        };
        let deferred = if self.defer && !super::judges_others(&f) {
            Some(ops)
        } else {
            n.write(std::slice::from_ref(&record), ops)
                .map_err(internal)?;
            None
        };
        Ok(Admitted {
            deferred,
            record,
            event: PlanEvent::Fragment {
                fragment_id: f.fragment_id,
            },
            plan_id,
        })
    }
}
