//! The child behind a plan: who may be its Barnens bästa-ansvarig (checked when a header names a
//! responsible unit, and when a handover is offered or accepted), one open plan per child (found
//! by a keyed hash of the identity number, never the number), and the indexes a header keeps: the
//! child's plans, and the handover the model makes due, in the follow-up index.

use kronobarn_gateway::responsible::{child_facts, handover_due};
use kronobarn_gateway::{Actor, BackendError, BackendResult, Precondition};
use kronobarn_policy::lifecycle::Stage;
use kronobarn_policy::responsibility::{ChildFacts, Fits, responsible_kinds, responsible_unit};
use kronobarn_policy::{Date, Requester, takes_part};
use kronobarn_proto::ids::{HANDOVER_DUE_ID, STATUS_FRAGMENT_ID};
use kronobarn_proto::v1::{Fragment, PlanHeader, fragment::Body};
use sha2::{Digest, Sha256};

use super::{Node, internal};
use crate::keys;
use crate::store::Op;

/// The access record's reason for a header whose responsible unit only an operator's exception
/// lets hold the responsibility.
pub(crate) const BY_EXCEPTION: &str = "responsible-by-exception";

fn header_of(f: &Fragment) -> Option<&PlanHeader> {
    match &f.body {
        Some(Body::Header(h)) => Some(h),
        _ => None,
    }
}

/// The responsible unit a header names: (organisation, unit), the home's when it names none.
fn responsible<'a>(h: &'a PlanHeader, home: &'a str) -> (&'a str, &'a str) {
    let org = if h.responsible_organization.is_empty() {
        home
    } else {
        &h.responsible_organization
    };
    (org, &h.responsible_unit)
}

/// True when the plan's status says it is closed.
fn closed(view: &kronobarn_gateway::PlanView) -> bool {
    view.fragments
        .iter()
        .filter(|f| f.fragment.fragment_id == STATUS_FRAGMENT_ID)
        .filter_map(|f| match &f.fragment.body {
            Some(Body::Status(s)) => s.history.last(),
            _ => None,
        })
        .any(|c| Stage::from_number(c.stage) == Some(Stage::Closed))
}

impl Node {
    /// The tag of the child a header names, if it has a number.
    fn child_tag(&self, h: &PlanHeader) -> Option<[u8; 32]> {
        self.tagger.tag(h.child.as_ref()?)
    }

    /// Ops moving the indexes a header keeps from `old` to `new` (either absent: created or
    /// purged) of a plan homed at `home`: the child's plans, and the handover due.
    pub(crate) fn header_index_ops(
        &self,
        plan_id: &str,
        home: &str,
        old: Option<&Fragment>,
        new: Option<&Fragment>,
    ) -> Vec<Op> {
        let directory = self.directory();
        let here = home == self.organization;
        let tag = |f: Option<&Fragment>| f.and_then(header_of).and_then(|h| self.child_tag(h));
        let due = |f: Option<&Fragment>| {
            f.and_then(|f| handover_due(f, home, here, &directory))
                .map(|d| keys::due(&d.index_date, plan_id, HANDOVER_DUE_ID))
        };
        let mut ops = Vec::new();
        let (was, is) = (tag(old), tag(new));
        if was != is {
            ops.extend(was.map(|t| Op::Delete(keys::child_plan(&t, plan_id))));
        }
        ops.extend(is.map(|t| Op::Put(keys::child_plan(&t, plan_id), Vec::new())));
        let (was, is) = (due(old), due(new));
        if was != is {
            ops.extend(was.map(Op::Delete));
        }
        ops.extend(is.map(|k| Op::Put(k, Vec::new())));
        ops
    }

    /// Checks a header `actor` writes at the plan's home: the responsible unit it names, when it
    /// names a new one (or the plan is new), must be of a kind the model lets hold the child's
    /// responsibility (or the operator allows it), and a child it newly names must have no other
    /// open plan here that the writer may know of. Returns the access record's reason.
    pub(crate) fn check_header(
        &self,
        actor: &Actor,
        plan_id: &str,
        old: Option<&PlanHeader>,
        new: &PlanHeader,
    ) -> BackendResult<&'static str> {
        let home = self.organization.as_str();
        let mut reason = "own-fragment";
        let facts = new.child.as_ref().and_then(child_facts);
        let (org, unit) = responsible(new, home);
        if old.is_none_or(|o| responsible(o, home) != (org, unit))
            && matches!(
                self.may_be_responsible(plan_id, org, unit, facts)?,
                Fits::Exception(_)
            )
        {
            reason = BY_EXCEPTION;
        }
        if let Some(tag) = self.child_tag(new)
            && old.and_then(|o| self.child_tag(o)) != Some(tag)
        {
            let new_authority = self.authority_of_unit(unit);
            self.no_other_open_plan(actor, plan_id, &tag, &new_authority)?;
        }
        Ok(reason)
    }

    /// Checks, at the plan's home, the unit a handover is offered to: the same rule as for a
    /// header naming it (with this node's exceptions, and logged alike), for an organisation
    /// this node's directory describes. An organisation it does not describe at all (a roster
    /// without `[[member.authority]]`) is the receiver's to judge, which it always does
    /// ([`Node::check_taking_over`]). Returns whether only an exception allows the unit.
    pub(crate) fn check_offered(
        &self,
        plan_id: &str,
        header: Option<&PlanHeader>,
        organization: &str,
        unit: &str,
    ) -> BackendResult<Fits> {
        if self
            .directory()
            .authorities_of(organization)
            .next()
            .is_none()
        {
            tracing::debug!(
                plan = %plan_id,
                "an offer to an organisation this node's directory does not describe: the receiver checks the unit"
            );
            return Ok(Fits::Rule);
        }
        let facts = header.and_then(|h| h.child.as_ref()).and_then(child_facts);
        self.may_be_responsible(plan_id, organization, unit, facts)
    }

    /// Checks, at the node taking a plan over, that `actor`'s unit may take it: by this node's
    /// rules, whatever the offering node checked. Its kind must let it be the child's Barnens
    /// bästa-ansvarig (or this node's operator allows it), and the child must have no other open
    /// plan here that the unit takes part in or that its authority holds, exactly as for a new
    /// plan. `header` is the plan's header where this node holds it; without it (a consent that
    /// shares no identity) nothing can be judged, so nothing is taken over. The caller holds the
    /// child lock, as a header write does. Returns whether only an exception allows it.
    pub(crate) fn check_taking_over(
        &self,
        actor: &Actor,
        plan_id: &str,
        header: Option<&PlanHeader>,
    ) -> BackendResult<Fits> {
        let Some(header) = header else {
            return Err(BackendError::Precondition(
                Precondition::ChildFactsNotHeld,
                format!(
                    "this node does not hold plan {plan_id}'s header (the child's identity and age), so it cannot judge who may be the child's Barnens bästa-ansvarig; the consent must share identity with this organisation before it takes the plan over"
                ),
            ));
        };
        let header = Some(header);
        let facts = header.and_then(|h| h.child.as_ref()).and_then(child_facts);
        let fits = self.may_be_responsible(plan_id, &self.organization, &actor.unit, facts)?;
        if let Some(tag) = header.and_then(|h| self.child_tag(h)) {
            let new_authority = self.authority_of_unit(&actor.unit);
            self.no_other_open_plan(actor, plan_id, &tag, &new_authority)?;
        }
        Ok(fits)
    }

    /// May `org`'s `unit` be the Barnens bästa-ansvarig of the child of `facts` today, by the
    /// model's rule or this node's operator's exception? An exception's use is logged (without
    /// personal data); a refusal names the unit's kind and the kinds the model names.
    fn may_be_responsible(
        &self,
        plan_id: &str,
        org: &str,
        unit: &str,
        facts: Option<ChildFacts>,
    ) -> BackendResult<Fits> {
        let directory = self.directory();
        let today = Date::in_sweden(self.now_ms());
        let exceptions = self.exceptions();
        match responsible_unit(&directory, org, unit, facts, today, &exceptions) {
            Ok(Fits::Rule) => Ok(Fits::Rule),
            Ok(Fits::Exception(e)) => {
                tracing::info!(
                    plan = %plan_id,
                    unit = %unit,
                    rule = e.code(),
                    "a responsible unit only the operator's exception allows"
                );
                Ok(Fits::Exception(e))
            }
            Err(e) => {
                let kind = directory
                    .authority_of(org, unit)
                    .map_or("other (not in the directory)", |a| a.kind.slug());
                let expected = match facts.map(|f| responsible_kinds(f, today)) {
                    None => "maternity care, BVC, a preschool, the school's principal or KAA".to_string(),
                    Some([]) => "nobody: from 20 a young person not at school has no Barnens bästa-ansvarig, so the plan should close".to_string(),
                    Some(kinds) => kinds.iter().map(|k| k.slug()).collect::<Vec<_>>().join(" or "),
                };
                Err(BackendError::Precondition(
                    Precondition::ResponsibleKind,
                    format!(
                        "unit '{unit}' of {org} is of kind {kind} and may not be this child's Barnens bästa-ansvarig ({e}); expected: {expected}. SuggestResponsible names the unit; an operator may allow exceptions under [responsibility]"
                    ),
                ))
            }
        }
    }

    /// Refuses a second open plan for the child tagged `tag`: one the writer's unit takes part
    /// in (at home or received), or one homed here whose responsible authority is the writer's
    /// or the new plan's. Another authority's plan stays secret from the writer (secrecy runs
    /// between authorities, as between nodes); the notice on GetPlan tells those who may read
    /// both.
    fn no_other_open_plan(
        &self,
        actor: &Actor,
        plan_id: &str,
        tag: &[u8; 32],
        new_authority: &str,
    ) -> BackendResult<()> {
        let mine = self.authority_of_unit(&actor.unit);
        let who = Requester {
            organization: &actor.organization,
            unit: &actor.unit,
        };
        for other in self.plans_of_child(tag)? {
            if other == plan_id {
                continue;
            }
            let Some(view) = self.load(&other, false)? else {
                continue;
            };
            if closed(&view) {
                continue;
            }
            let state = view.policy_state();
            let part = takes_part(&state, who);
            let theirs = state.responsible_authority().map(|a| a.id.clone());
            let home_here = view.home_organization == self.organization;
            let same = home_here
                && theirs
                    .as_deref()
                    .is_some_and(|a| a == mine || a == new_authority);
            if !(part || same) {
                continue;
            }
            let known = part || theirs.as_deref() == Some(mine.as_str());
            let message = if known {
                format!(
                    "plan {other} is an open plan for this child at this node; work in it (its responsible unit adds yours) instead of opening another"
                )
            } else {
                "the responsible unit's authority already holds an open plan for this child at this node; ask it to add your unit".to_string()
            };
            return Err(BackendError::OpenPlanExists {
                plan_id: known.then_some(other),
                message,
            });
        }
        Ok(())
    }

    /// Plans whose header this node holds for the child tagged `tag` (entries may be stale:
    /// callers check the header).
    fn plans_of_child(&self, tag: &[u8; 32]) -> BackendResult<Vec<String>> {
        Ok(self
            .scan_all(&keys::child_plans(tag))
            .map_err(internal)?
            .iter()
            .filter_map(|(k, _)| keys::child_plan_id(tag, k).map(str::to_string))
            .collect())
    }

    /// Other plans this node holds a header of for the child of `plan_id`'s header.
    pub(crate) fn same_child(&self, plan_id: &str) -> BackendResult<Vec<String>> {
        let Some(view) = self.load(plan_id, false)? else {
            return Ok(Vec::new());
        };
        let Some(tag) = view.header.as_ref().and_then(|h| self.child_tag(h)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for other in self.plans_of_child(&tag)? {
            if other == plan_id {
                continue;
            }
            let still = self
                .load(&other, false)?
                .and_then(|v| v.header)
                .and_then(|h| self.child_tag(&h));
            if still == Some(tag) {
                out.push(other);
            }
        }
        Ok(out)
    }

    /// What the derived indexes are built with: the tag secret and the directory.
    fn derived_marker(&self) -> Vec<u8> {
        Sha256::new()
            .chain_update(self.tagger.fingerprint())
            .chain_update(format!("{:?}", self.directory()).as_bytes())
            .finalize()
            .to_vec()
    }

    /// Rebuilds the child index and the handovers in the follow-up index when they were built
    /// with another signing key (a rotation), another directory, or not at all (plans made
    /// before them). Call once at start, after the directory is set. Costs one pass over the
    /// plans, only when something changed.
    pub fn prepare_indexes(&self) -> BackendResult<bool> {
        let marker = self.derived_marker();
        let held = self.get(keys::DERIVED_INDEX).map_err(internal)?;
        if held.as_deref() == Some(marker.as_slice()) {
            return Ok(false);
        }
        let mut ops: Vec<Op> = self
            .scan_all(keys::CHILDREN)
            .map_err(internal)?
            .into_iter()
            .map(|(k, _)| Op::Delete(k))
            .collect();
        ops.extend(
            self.scan_all(keys::DUE)
                .map_err(internal)?
                .into_iter()
                .filter(|(k, _)| keys::due_parts(k).is_some_and(|(_, _, f)| f == HANDOVER_DUE_ID))
                .map(|(k, _)| Op::Delete(k)),
        );
        for (k, v) in self.scan_all(keys::PLAN).map_err(internal)? {
            let Some(plan_id) = std::str::from_utf8(&k[keys::PLAN.len()..]).ok() else {
                continue;
            };
            let Ok(record) = <super::PlanRecord as prost::Message>::decode(v.as_slice()) else {
                continue;
            };
            let header = self.stored_fragment(plan_id, kronobarn_proto::ids::HEADER_FRAGMENT_ID)?;
            ops.extend(self.header_index_ops(
                plan_id,
                &record.home_organization,
                None,
                header.as_ref().map(|f| &f.fragment),
            ));
        }
        ops.push(Op::Put(keys::DERIVED_INDEX.to_vec(), marker));
        self.apply(ops).map_err(internal)?;
        tracing::info!("rebuilt the child index and the handovers in the follow-up index");
        Ok(true)
    }
}
