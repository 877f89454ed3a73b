//! Writes made for local users: plans, fragments, consents and revocations. Each is signed,
//! stored with its exact signed bytes, indexed, queued for the peers the consent lets receive it
//! and recorded in the access log, all in one atomic batch under the plan's lock; the caller's
//! answer waits for the shared flush.

use kronobarn_gateway::{
    Actor, BackendError, BackendResult, Conflict, Denial, PlanEvent, PlanView, StoredFragment,
};
use kronobarn_policy::{AuthoredFragment, AuthoringDenied, FragmentKind, Writer, may_author};
use kronobarn_proto::ids::HEADER_FRAGMENT_ID;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Consent, Contact, Decision, Fragment, Participant, PayloadKind,
    PlanCreation, PlanHeader, Revocation, SignedEnvelope, Version, fragment::Body,
};
use kronobarn_proto::validate::FieldError;
use prost::Message;
use sha2::{Digest, Sha256};

use super::index::{changes_membership, due_ops, membership_ops, with_fragment};
use super::{Node, PlanRecord, PurgeState, internal, random_id};
use crate::keys;
use crate::outbox::{NORMAL, URGENT, fragment_recipients, known_organizations};
use crate::store::Op;

impl Node {
    fn seal<M: Message>(&self, kind: PayloadKind, m: &M) -> (SignedEnvelope, String) {
        let env = self.sign(kind, m.encode_to_vec());
        let hash = hex::encode(Sha256::digest(&env.payload));
        (env, hash)
    }

    /// The access record of a permitted write by `actor`.
    pub(crate) fn write_record(
        &self,
        actor: &Actor,
        plan_id: &str,
        fragment_id: &str,
        reason: &str,
    ) -> AccessRecord {
        kronobarn_gateway::record::by_user(
            actor,
            self.now_ms(),
            plan_id,
            fragment_id,
            AccessAction::Write,
            Decision::Permit,
            reason,
        )
    }

    pub(crate) async fn create_plan_durably(
        &self,
        actor: &Actor,
        mut header: PlanHeader,
        unit_contact: Option<Contact>,
    ) -> BackendResult<PlanView> {
        if header.responsible_organization.is_empty() {
            header.responsible_organization = self.organization.clone();
        }
        let plan_id = random_id();
        {
            let _g = self.stripe(&plan_id);
            let now = self.now_ms();
            let mut record = PlanRecord {
                home_organization: self.organization.clone(),
                created_at_unix_ms: now,
                updated_at_unix_ms: now,
            };
            // The plan record and the signed creation record land in the same atomic batch as
            // the header.
            let creation = PlanCreation {
                plan_id: plan_id.clone(),
                home_organization: self.organization.clone(),
                created_at_unix_ms: now,
            };
            let creation = self.sign(PayloadKind::PlanCreation, creation.encode_to_vec());
            let head = Fragment {
                plan_id: plan_id.clone(),
                fragment_id: HEADER_FRAGMENT_ID.into(),
                body: Some(Body::Header(header)),
                ..Default::default()
            };
            self.put_fragment_locked(
                actor,
                head,
                None,
                &mut record,
                vec![Op::Put(keys::creation(&plan_id), creation.encode_to_vec())],
                true,
            )?;
            let me = Fragment {
                plan_id: plan_id.clone(),
                body: Some(Body::Participant(Participant {
                    organization: self.organization.clone(),
                    unit: actor.unit.clone(),
                    contact: unit_contact,
                })),
                ..Default::default()
            };
            // Part of the creation: judged, like the header, as a write to a plan not there yet.
            self.put_fragment_locked(actor, me, None, &mut record, Vec::new(), true)?;
        }
        self.durable().await?;
        self.load(&plan_id, true)?
            .ok_or_else(|| internal("plan vanished after creation"))
    }

    pub(crate) async fn put_fragment_durably(
        &self,
        actor: &Actor,
        fragment: Fragment,
        expected: Option<Version>,
    ) -> BackendResult<StoredFragment> {
        let plan_id = fragment.plan_id.clone();
        let stored = {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            self.put_fragment_locked(actor, fragment, expected, &mut record, Vec::new(), false)?
        };
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(
            &plan_id,
            PlanEvent::Fragment {
                fragment_id: stored.fragment.fragment_id.clone(),
            },
        );
        Ok(stored)
    }

    /// Checks an update of `existing` (or a new fragment) against the version the writer read.
    fn check_update(
        &self,
        plan_id: &str,
        fragment: &Fragment,
        existing: Option<&StoredFragment>,
        expected: Option<Version>,
    ) -> BackendResult<()> {
        match (existing, expected) {
            (Some(old), Some(exp)) if old.fragment.version != Some(exp) => {
                Err(BackendError::Conflict(
                    Conflict::StaleVersion,
                    format!(
                        "expected_version: fragment {} is at version {}, not {}; read it again and reapply your change",
                        old.fragment.fragment_id,
                        old.fragment.version.unwrap_or_default(),
                        exp
                    ),
                ))
            }
            (Some(old), None) => Err(BackendError::Conflict(
                Conflict::StaleVersion,
                format!(
                    "expected_version: fragment {} exists (version {}); send the version you read to update it",
                    old.fragment.fragment_id,
                    old.fragment.version.unwrap_or_default()
                ),
            )),
            (None, Some(_)) if !fragment.fragment_id.is_empty() => Err(BackendError::NotFound(
                format!("fragment {} of plan {plan_id}", fragment.fragment_id),
            )),
            (None, Some(_)) => Err(BackendError::Invalid(FieldError::new(
                "expected_version",
                "must be absent when creating a fragment",
            ))),
            (Some(old), Some(_)) => {
                let kind = |b: &Option<Body>| b.as_ref().map(std::mem::discriminant);
                if kind(&old.fragment.body) != kind(&fragment.body) {
                    return Err(BackendError::Invalid(FieldError::new(
                        "fragment.body",
                        "a fragment keeps its kind; write a new fragment instead",
                    )));
                }
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Who may author what, by the one pure rule (`kronobarn_policy::may_author`): the writer is
    /// this organisation and the authority of the actor's unit. An update is judged against the
    /// fragment's home as stored, except the header and the plan's stage, which move with the
    /// responsibility (after a handover the new home rewrites them).
    fn may_author_here(
        &self,
        actor: &Actor,
        fragment: &Fragment,
        existing: Option<&StoredFragment>,
        record: &PlanRecord,
        facts: Option<&PlanView>,
    ) -> BackendResult<()> {
        let plan_id = &fragment.plan_id;
        // A loaded view carries the node's directory already; only a plan not there yet needs
        // an empty one (no clone of the loaded view: this runs on every write).
        let mut state = match facts {
            Some(view) => view.policy_state(),
            None => {
                let mut view = PlanView::empty(plan_id, &record.home_organization);
                view.directory = self.directory();
                view.policy_state()
            }
        };
        state.directory = state
            .directory
            .covering([(self.organization.as_str(), actor.unit.as_str())]);
        let authority = self.authority_of_unit(&actor.unit);
        let kind = super::index::fragment_kind(fragment.body.as_ref().expect("validated"));
        let moves_with_home = matches!(kind, FragmentKind::Header | FragmentKind::Status);
        let (home, home_authority) = match existing {
            Some(old) if !moves_with_home => (
                old.fragment.home_organization.as_str(),
                old.fragment.home_authority.as_str(),
            ),
            _ => (self.organization.as_str(), authority.as_str()),
        };
        let writer = Writer {
            organization: &self.organization,
            authority: &authority,
        };
        let written = AuthoredFragment {
            home,
            home_authority,
            kind,
        };
        may_author(&state, writer, written).map_err(|d| match d {
            AuthoringDenied::NotHome => BackendError::Denied(
                Denial::NotHome,
                format!(
                    "fragment {} is homed at {home}{}; only its home writes it",
                    fragment.fragment_id,
                    if home_authority.is_empty() {
                        String::new()
                    } else {
                        format!(" ({home_authority})")
                    }
                ),
            ),
            AuthoringDenied::NotPlanHome => BackendError::Denied(
                Denial::NotHome,
                format!(
                    "the header, the participant list and the plan's stage are written by the plan's responsible organisation, {}",
                    record.home_organization
                ),
            ),
            d => BackendError::Denied(Denial::Authoring(d), d.to_string()),
        })
    }

    /// Writes a fragment under the plan's stripe lock, with `extra` ops in the same batch; the
    /// caller awaits durability. `creating`: one of the writes that create the plan, each judged
    /// as a write to a plan that does not exist yet.
    fn put_fragment_locked(
        &self,
        actor: &Actor,
        mut fragment: Fragment,
        expected: Option<Version>,
        record: &mut PlanRecord,
        extra: Vec<Op>,
        creating: bool,
    ) -> BackendResult<StoredFragment> {
        let plan_id = fragment.plan_id.clone();
        if matches!(fragment.body, Some(Body::Header(_))) && fragment.fragment_id.is_empty() {
            fragment.fragment_id = HEADER_FRAGMENT_ID.to_string();
        }
        let existing = self.stored_fragment(&plan_id, &fragment.fragment_id)?;
        // A plan being created has no stored record yet: nothing to load.
        let facts = self.load(&plan_id, false)?;
        let judged_on = if creating { None } else { facts.as_ref() };
        self.may_author_here(actor, &fragment, existing.as_ref(), record, judged_on)?;
        self.check_update(&plan_id, &fragment, existing.as_ref(), expected)?;
        // A header is checked against the model's rule of who is responsible and the child's
        // other plans, and written, under one lock, so two plans for one child cannot both pass.
        let _child = matches!(fragment.body, Some(Body::Header(_)))
            .then(|| self.child_lock.lock().unwrap_or_else(|p| p.into_inner()));
        let reason = match &fragment.body {
            Some(Body::Header(h)) => {
                let old = existing.as_ref().and_then(|f| match &f.fragment.body {
                    Some(Body::Header(h)) => Some(h),
                    _ => None,
                });
                self.check_header(actor, &plan_id, old, h)?
            }
            _ => "own-fragment",
        };
        // Only the header and participant fragments change who takes part; only for those is the
        // whole plan loaded, so ordinary writes cost the same however large the plan grows.
        let membership = changes_membership(&fragment);
        let before = if membership {
            // A plan being created has no stored record yet: it starts empty.
            Some(
                self.load(&plan_id, true)?
                    .unwrap_or_else(|| PlanView::empty(&plan_id, &record.home_organization)),
            )
        } else {
            None
        };
        if fragment.fragment_id.is_empty() {
            fragment.fragment_id = random_id();
        }
        let category = kronobarn_proto::category_of(fragment.body.as_ref().expect("validated"))
            .ok_or_else(|| {
                BackendError::Invalid(FieldError::new(
                    "fragment.wheel_assessment.area",
                    "is not a wheel area",
                ))
            })?;
        let (version, clock_op) = self.tick();
        let now = self.now_ms();
        fragment.home_organization = self.organization.clone();
        // The header and status move with the responsibility; everything else is its writing
        // unit's authority's, and secrecy runs between authorities.
        fragment.home_authority = self.authority_of_unit(&actor.unit);
        fragment.version = Some(version);
        fragment.category = category as i32;
        fragment.written_at_unix_ms = now;
        fragment.written_by = actor.user_id.clone();
        // A protected header is signed without the guardians' contact details.
        let home_only = super::protected::keep_home_only(&mut fragment);
        let (env, hash) = self.seal(PayloadKind::Fragment, &fragment);
        let stored = StoredFragment {
            fragment: fragment.clone(),
            content_hash: hash.clone(),
        };

        record.updated_at_unix_ms = now;
        let mut ops = extra;
        ops.extend(home_only);
        if let Some(before) = &before {
            ops.extend(membership_ops(
                &plan_id,
                before,
                &with_fragment(before, stored.clone()),
            ));
        }
        ops.push(Op::Put(
            keys::fragment(&plan_id, &fragment.fragment_id),
            env.encode_to_vec(),
        ));
        ops.extend(due_ops(
            &plan_id,
            existing.as_ref().map(|f| &f.fragment),
            &fragment,
        ));
        if matches!(fragment.body, Some(Body::Header(_))) {
            ops.extend(self.header_index_ops(
                &plan_id,
                &record.home_organization,
                existing.as_ref().map(|f| &f.fragment),
                Some(&fragment),
            ));
        }
        ops.push(Op::Put(keys::plan(&plan_id), record.encode_to_vec()));
        // The writing unit takes part from its first write on; later writes find both index
        // keys there and rewrite neither (each put is a page write in sled).
        for key in [
            keys::own_unit(&plan_id, &actor.unit),
            keys::unit_plan(&self.organization, &actor.unit, &plan_id),
        ] {
            if self.store.get(&key).map_err(internal)?.is_none() {
                ops.push(Op::Put(key, Vec::new()));
            }
        }
        ops.push(clock_op);
        ops.push(Op::Put(
            keys::feed(version.key()),
            keys::fragment(&plan_id, &fragment.fragment_id),
        ));
        if let Some(outbox) = self.outbox() {
            // The plan record of a plan being created is not stored yet: no consent, no recipients.
            if let Some(facts) = &facts {
                let to = fragment_recipients(&facts.policy_state(), &fragment, now);
                ops.extend(outbox.ops(&env, NORMAL, to, version, &mut 0));
            }
        }
        let rec = AccessRecord {
            version: Some(version),
            content_hash: hash,
            withheld_from_guardians: fragment.withheld_from_guardians,
            ..self.write_record(actor, &plan_id, &fragment.fragment_id, reason)
        };
        self.write(&[rec], ops).map_err(internal)?;
        Ok(stored)
    }

    pub(crate) async fn record_consent_durably(
        &self,
        actor: &Actor,
        mut consent: Consent,
        expected_previous_version: u64,
    ) -> BackendResult<Consent> {
        let plan_id = consent.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            if record.home_organization != self.organization {
                return Err(BackendError::Denied(
                    Denial::NotConsentHome,
                    format!(
                        "only the consent home, {}, records consent",
                        record.home_organization
                    ),
                ));
            }
            if self.offer_is_open(&plan_id)? {
                return Err(BackendError::Conflict(Conflict::HandoverOpen,
                    "a handover of this plan is open: consent is recorded by whoever is responsible once it is accepted, or here once it is withdrawn or expires"
                        .into(),
                ));
            }
            let current = self
                .current_consent(&plan_id)?
                .map_or(0, |(c, _)| c.consent_version);
            if current != expected_previous_version {
                return Err(BackendError::Conflict(
                    Conflict::StaleConsent,
                    format!(
                        "expected_previous_version: the current consent is version {current}, not {expected_previous_version}; read it again with GetConsentStatus"
                    ),
                ));
            }
            let now = self.now_ms();
            // Every node holding any part of the plan learns from the consent that its readers
            // must be warned, also one that may not see the header.
            consent.protected_identity |= self
                .stored_fragment(&plan_id, HEADER_FRAGMENT_ID)?
                .is_some_and(
                    |f| matches!(f.fragment.body, Some(Body::Header(h)) if h.protected_identity),
                );
            consent.consent_version = current + 1;
            consent.consent_home = self.organization.clone();
            consent.recorded_by = actor.user_id.clone();
            consent.recorded_at_unix_ms = now;
            let (env, hash) = self.seal(PayloadKind::Consent, &consent);
            record.updated_at_unix_ms = now;
            let (version, clock_op) = self.tick();
            let mut ops = vec![
                Op::Put(
                    keys::consent(&plan_id, consent.consent_version),
                    env.encode_to_vec(),
                ),
                Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
                clock_op,
                Op::Put(
                    keys::feed(version.key()),
                    keys::consent(&plan_id, consent.consent_version),
                ),
            ];
            if self.outbox().is_some() {
                let view = self
                    .load(&plan_id, false)?
                    .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
                ops.extend(self.consent_outbox_ops(&view, &consent, &env, version)?);
            }
            let rec = AccessRecord {
                content_hash: hash,
                consent_version: consent.consent_version,
                ..self.write_record(actor, &plan_id, "consent", "consent-home")
            };
            self.write(&[rec], ops).map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(&plan_id, PlanEvent::Consent(consent.clone()));
        Ok(consent)
    }

    /// Outbox ops for a new consent: the consent to everyone the plan names (so those who lost a
    /// grant purge), then every own fragment to each organisation the new consent permits.
    fn consent_outbox_ops(
        &self,
        view: &PlanView,
        consent: &Consent,
        env: &SignedEnvelope,
        version: Version,
    ) -> BackendResult<Vec<Op>> {
        let Some(outbox) = self.outbox() else {
            return Ok(Vec::new());
        };
        let mut after = view.clone();
        after.consent = Some(consent.clone());
        let state = after.policy_state();
        let mut to = known_organizations(view);
        to.extend(known_organizations(&after));
        let mut n = 0;
        // Who the plan's home is travels ahead of the consent: the creation record and every
        // accepted handover, so a receiver new to the plan can check the consent's signer.
        let mut ops = Vec::new();
        for p in self.provenance(&view.plan_id)? {
            ops.extend(outbox.ops(&p, URGENT, to.clone(), version, &mut n));
        }
        ops.extend(outbox.ops(env, URGENT, to, version, &mut n));
        let full = self
            .load(&view.plan_id, true)?
            .unwrap_or_else(|| view.clone());
        let now = self.now_ms();
        for f in full
            .fragments
            .iter()
            .filter(|f| f.fragment.home_organization == self.organization)
        {
            let Some(bytes) = self.fragment_envelope(&view.plan_id, &f.fragment.fragment_id)?
            else {
                continue;
            };
            let fenv = SignedEnvelope::decode(bytes.as_slice()).map_err(internal)?;
            let to = fragment_recipients(&state, &f.fragment, now);
            ops.extend(outbox.ops(&fenv, NORMAL, to, version, &mut n));
        }
        Ok(ops)
    }

    pub(crate) async fn record_revocation_durably(
        &self,
        actor: &Actor,
        mut revocation: Revocation,
    ) -> BackendResult<Revocation> {
        let plan_id = revocation.plan_id.clone();
        {
            let _g = self.stripe(&plan_id);
            let mut record = self.plan_record(&plan_id)?;
            let mut after = self
                .whole(&plan_id)?
                .ok_or_else(|| BackendError::NotFound(format!("plan {plan_id}")))?;
            let now = self.now_ms();
            // Revocations only remove access: they go to everyone the plan names that the roster
            // lists. The revocation says whom, so the consent home forwards it only to the others.
            let to: Vec<String> = match (self.outbox(), self.roster()) {
                (Some(_), Some(roster)) => known_organizations(&after)
                    .into_iter()
                    .filter(|o| *o != self.organization && roster.member(o).is_some())
                    .collect(),
                _ => Vec::new(),
            };
            revocation.revocation_id = random_id();
            revocation.recorded_at_organization = self.organization.clone();
            revocation.recorded_by = actor.user_id.clone();
            revocation.recorded_at_unix_ms = now;
            revocation.notified = to.clone();
            let (env, hash) = self.seal(PayloadKind::Revocation, &revocation);
            record.updated_at_unix_ms = now;
            let (version, clock_op) = self.tick();
            let mut ops = vec![
                Op::Put(
                    keys::revocation(&plan_id, &revocation.revocation_id),
                    env.encode_to_vec(),
                ),
                Op::Put(keys::plan(&plan_id), record.encode_to_vec()),
                clock_op,
                Op::Put(
                    keys::feed(version.key()),
                    keys::revocation(&plan_id, &revocation.revocation_id),
                ),
            ];
            let pending = PurgeState {
                recorded_at_unix_ms: now,
                confirmed_at_unix_ms: 0,
                answer: String::new(),
            };
            for o in &to {
                ops.push(Op::Put(
                    keys::purge(&plan_id, &revocation.revocation_id, o),
                    pending.encode_to_vec(),
                ));
            }
            if let Some(outbox) = self.outbox() {
                ops.extend(outbox.ops(&env, URGENT, to, version, &mut 0));
            }
            // Copies received from others that the consent no longer covers go in the same
            // batch as the revocation, recorded in its one access record.
            after.revocations.push(revocation.clone());
            let mut purge = self.purge_of(&after);
            ops.append(&mut purge.ops);
            let rec = AccessRecord {
                content_hash: hash,
                ..self.write_record(actor, &plan_id, "consent", "revocation")
            };
            self.write(&self.purge_records(rec, purge), ops)
                .map_err(internal)?;
        }
        self.durable().await?;
        self.outbox_notify.notify_waiters();
        self.publish(&plan_id, PlanEvent::Revocation(revocation.clone()));
        Ok(revocation)
    }
}
