//! The practice model over the client API: moving a plan through its stages, follow-ups falling
//! due. The plan as a document is in `export`.

use std::collections::BTreeMap;

use kronobarn_policy::lifecycle::{self, Stage, StageFacts};
use kronobarn_policy::{PlanState, decide_read, takes_part};
use kronobarn_proto::ids::{HANDOVER_DUE_ID, HEADER_FRAGMENT_ID, STATUS_FRAGMENT_ID};
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, AdvancePlanRequest, CloseReason, FollowUpDue, Fragment,
    ListFollowUpsRequest, ListFollowUpsResponse, PlanStage, PlanStatus, Revocation, StageChange,
    fragment::Body,
};
use kronobarn_proto::validate::{self, FieldError};
use tonic::{Request, Response, Status};

use super::{PlanApi, facts, invalid, page_size, requester, timer};
use crate::responsible::{HandoverDue, handover_due};
use crate::{Actor, Backend, PlanView, StoredFragment};

/// The header's position among a view's fragments.
pub(super) type StoredFragmentRef = usize;

/// Entries of the follow-up index read at a time.
pub(super) const DUE_PAGE: usize = 1000;

/// A plan the reader's unit takes part in, with the policy's view of it.
pub(super) struct ReaderPlan {
    pub(super) view: PlanView,
    pub(super) state: PlanState,
}

/// What one follow-up is to one reader, now.
pub(super) enum Seen {
    /// Due or overdue, and not held: shown, with the access record of showing it.
    Due(FollowUpDue, AccessRecord),
    /// Held: a follow-up record the reader may see is dated on or after it.
    Held(FollowUpDue, AccessRecord),
    /// The reader's unit takes part, but the policy withholds the fragment now (not granted, or
    /// no lease yet); a lease arriving can show it without the plan changing.
    Withheld,
    /// Nothing for this reader: a stale entry, or not a follow-up.
    Nothing,
}

/// The stage a plan is at, from its status fragment (none means a need was just noticed).
pub(crate) fn current_stage(view: &PlanView) -> (Stage, Option<&StoredFragment>) {
    let status = view
        .fragments
        .iter()
        .find(|f| f.fragment.fragment_id == STATUS_FRAGMENT_ID);
    let stage = status
        .and_then(|f| match &f.fragment.body {
            Some(Body::Status(s)) => s.history.last(),
            _ => None,
        })
        .and_then(|c| Stage::from_number(c.stage))
        .unwrap_or(Stage::NeedNoticed);
    (stage, status)
}

impl<B: Backend> PlanApi<B> {
    /// Checks the move against the practice model and writes the new status, signed and logged
    /// like every fragment. Closing also withdraws every grant, so shares and leases end.
    pub(super) async fn advance(
        &self,
        who: &Actor,
        req: AdvancePlanRequest,
    ) -> Result<Fragment, Status> {
        let view = self.plan(&req.plan_id)?;
        self.need_to_know(who, &view, STATUS_FRAGMENT_ID).await?;
        if view.home_organization != who.organization {
            return Err(Status::permission_denied(format!(
                "not-home: only the plan's responsible organisation, {}, moves it through the practice model",
                view.home_organization
            )));
        }
        let to = match PlanStage::try_from(req.to) {
            Ok(PlanStage::Unspecified) | Err(_) => None,
            Ok(s) => Stage::from_number(s as i32),
        }
        .ok_or_else(|| {
            Status::invalid_argument(
                "to: must be a stage of the practice model (PLAN_STAGE_TALK .. PLAN_STAGE_CLOSED)",
            )
        })?;
        // Closing is counted by category; a closing with words alone counts as "other".
        let close_reason = match CloseReason::try_from(req.close_reason) {
            Ok(CloseReason::Unspecified) if to == Stage::Closed => CloseReason::Other as i32,
            _ => req.close_reason,
        };
        let change = StageChange {
            stage: to as i32,
            at_unix_ms: self.backend.now_ms(),
            changed_by: who.user_id.clone(),
            reason: req.reason.clone(),
            invited_organizations: req.invited_organizations.clone(),
            meeting_on: req.meeting_on.clone(),
            close_reason,
        };
        // The same checks a receiver applies to the status fragment.
        let probe = Body::Status(PlanStatus {
            history: vec![change.clone()],
        });
        validate::body("request", Some(&probe), self.today()).map_err(|e| {
            invalid(FieldError::new(
                e.field.replace("request.status.history[0].", ""),
                e.problem,
            ))
        })?;

        let (from, status) = current_stage(&view);
        let today = self.today_iso();
        let header = view.header.as_ref();
        let contact = header.and_then(|h| h.responsible_contact.as_ref());
        let follow_up_planned = view.fragments.iter().any(|f| {
            kronobarn_proto::follow_up_dates(f.fragment.body.as_ref())
                .iter()
                .any(|d| *d >= today.as_str())
        });
        let stage_facts = StageFacts {
            wheel_assessments: view
                .fragments
                .iter()
                .filter(|f| matches!(f.fragment.body, Some(Body::WheelAssessment(_))))
                .count(),
            invited: &req.invited_organizations,
            meeting_date: !req.meeting_on.is_empty(),
            responsible_organization: header
                .is_some_and(|h| !h.responsible_organization.is_empty()),
            responsible_contact: contact.is_some_and(|c| {
                let reachable = !c.phone.is_empty() || !c.email.is_empty();
                !c.name.trim().is_empty() && reachable
            }),
            follow_up_planned,
            // A category is a reason too.
            reason: match CloseReason::try_from(req.close_reason) {
                Ok(r) if req.reason.trim().is_empty() && r != CloseReason::Unspecified => {
                    r.as_str_name()
                }
                _ => &req.reason,
            },
        };
        lifecycle::check(
            &view.policy_state(),
            from,
            to,
            &stage_facts,
            self.backend.now_ms(),
        )
        .map_err(|e| match e {
            // A field of the request is missing: the caller fixes the request.
            lifecycle::StageError::NoReason
            | lifecycle::StageError::NoneInvited
            | lifecycle::StageError::NoMeetingDate => Status::invalid_argument(e.to_string()),
            // The plan is not ready: the caller fixes the plan first.
            _ => Status::failed_precondition(e.to_string()),
        })?;

        let mut history = match status.and_then(|f| f.fragment.body.as_ref()) {
            Some(Body::Status(s)) => s.history.clone(),
            _ => Vec::new(),
        };
        history.push(change);
        let fragment = Fragment {
            plan_id: view.plan_id.clone(),
            fragment_id: STATUS_FRAGMENT_ID.into(),
            body: Some(Body::Status(PlanStatus { history })),
            ..Default::default()
        };
        let expected = status.and_then(|f| f.fragment.version);
        if to == Stage::Closed {
            // Closing withdraws every grant, so receivers purge their copies and leases lapse.
            // The withdrawal comes first: if the status write then fails, the plan is not closed
            // but nothing is shared, and closing again records the step.
            self.backend
                .record_revocation(
                    who,
                    Revocation {
                        plan_id: view.plan_id.clone(),
                        withdrawn_by: kronobarn_proto::ids::PLAN_CLOSED.into(),
                        ..Default::default()
                    },
                )
                .await?;
        }
        let stored = self.backend.put_fragment(who, fragment, expected).await?;
        tracing::info!(plan = %view.plan_id, stage = ?to, "plan moved");
        Ok(stored.fragment)
    }

    /// The plan when the reader's unit takes part in it. The facts are read first, so the
    /// index entries of other units' plans cost little.
    pub(super) fn reader_plan(
        &self,
        who: &Actor,
        plan_id: &str,
    ) -> Result<Option<ReaderPlan>, Status> {
        let Some(facts) = self.backend.load_plan_facts(plan_id)? else {
            return Ok(None);
        };
        if !takes_part(&facts.policy_state(), requester(who)) {
            return Ok(None);
        }
        Ok(self.backend.load_plan(plan_id)?.map(|view| ReaderPlan {
            state: view.policy_state(),
            view,
        }))
    }

    /// What the follow-up `fragment_id` of `plan` due on `date` is to the reader now, checked
    /// against the fragment (the entry may be stale) and the read policy.
    pub(super) fn seen(
        &self,
        who: &Actor,
        plan: &ReaderPlan,
        date: &str,
        fragment_id: &str,
        today: &str,
        now: i64,
    ) -> Seen {
        let (view, state) = (&plan.view, &plan.state);
        if fragment_id == HANDOVER_DUE_ID {
            return self.seen_handover(who, plan, date, today, now);
        }
        let Some(f) = view
            .fragments
            .iter()
            .find(|f| f.fragment.fragment_id == fragment_id)
        else {
            return Seen::Nothing; // stale: purged
        };
        if !kronobarn_proto::follow_up_dates(f.fragment.body.as_ref()).contains(&date) {
            return Seen::Nothing; // stale: the date changed
        }
        let d = decide_read(state, requester(who), facts(f), now);
        if !d.is_permit() {
            return Seen::Withheld;
        }
        // What the follow-up is of, and whether a follow-up record on or after the date says it
        // was held.
        let (target, subject, by) = match &f.fragment.body {
            Some(Body::Header(h)) => (String::new(), "plan".to_string(), h.follow_up_by.clone()),
            Some(Body::Intervention(iv)) => (
                f.fragment.fragment_id.clone(),
                iv.what.clone(),
                iv.follow_up_by.clone(),
            ),
            Some(Body::FollowUp(r)) => (
                r.intervention_fragment_id.clone(),
                "next follow-up".to_string(),
                String::new(),
            ),
            _ => return Seen::Nothing,
        };
        let done = view.fragments.iter().any(|r| match &r.fragment.body {
            Some(Body::FollowUp(x)) => {
                x.intervention_fragment_id == target
                    && x.held_on.as_str() >= date
                    && decide_read(state, requester(who), facts(r), now).is_permit()
            }
            _ => false,
        });
        let record = self.record(who, &view.plan_id, AccessAction::Read, &d, Some(f), "");
        let item = FollowUpDue {
            overdue: !done && date < today,
            done,
            plan_id: view.plan_id.clone(),
            fragment_id: fragment_id.to_string(),
            due_on: date.to_string(),
            follow_up_by: by,
            subject,
            ..Default::default()
        };
        if done {
            Seen::Held(item, record)
        } else {
            Seen::Due(item, record)
        }
    }

    /// The handover the model makes due for the plan, and the index date it is listed under,
    /// as the node indexed it (from the header and the directory).
    pub(super) fn handover(&self, view: &PlanView) -> Option<(StoredFragmentRef, HandoverDue)> {
        let header = view
            .fragments
            .iter()
            .position(|f| f.fragment.fragment_id == HEADER_FRAGMENT_ID)?;
        let here = view.home_organization == self.backend.organization();
        let due = handover_due(
            &view.fragments[header].fragment,
            &view.home_organization,
            here,
            &view.directory,
        )?;
        Some((header, due))
    }

    /// A handover of responsibility due on the plan, to a reader who may read its header.
    fn seen_handover(
        &self,
        who: &Actor,
        plan: &ReaderPlan,
        date: &str,
        today: &str,
        now: i64,
    ) -> Seen {
        let (view, state) = (&plan.view, &plan.state);
        let Some((header, due)) = self.handover(view) else {
            return Seen::Nothing; // stale: the header or the responsible unit changed
        };
        if due.index_date != date || current_stage(view).0 == Stage::Closed {
            return Seen::Nothing;
        }
        let f = &view.fragments[header];
        let d = decide_read(state, requester(who), facts(f), now);
        if !d.is_permit() {
            return Seen::Withheld;
        }
        let t = due.transition;
        let due_on = t.due.to_string();
        let item = FollowUpDue {
            plan_id: view.plan_id.clone(),
            fragment_id: HANDOVER_DUE_ID.into(),
            overdue: due_on.as_str() < today,
            done: false,
            due_on,
            follow_up_by: due.responsible_unit,
            subject: "handover".into(),
            handover_to_kind: t.to.map(|k| k.slug().to_string()).unwrap_or_default(),
            handover_reason: t.because.code().into(),
        };
        let record = self.record(who, &view.plan_id, AccessAction::Read, &d, Some(f), "");
        Seen::Due(item, record)
    }

    /// Follow-ups of plans the user's unit takes part in, due in `from..=to`, each one checked
    /// against its fragment and the read policy, and logged as a read. Reads the index a page at
    /// a time, and says `truncated` when it stopped with more to read.
    pub(super) async fn follow_ups(
        &self,
        who: &Actor,
        from: &str,
        to: &str,
        limit: usize,
        include_done: bool,
    ) -> Result<(Vec<FollowUpDue>, bool), Status> {
        let today = self.today_iso();
        let now = self.backend.now_ms();
        // The index holds every unit's follow-ups at this node; one call reads a bounded part.
        const MAX_SCAN: usize = 20_000;
        let mut scanned = 0;
        let mut after = None;
        let mut out = Vec::new();
        let mut records = Vec::new();
        let mut truncated = false;
        'scan: loop {
            let page = self
                .backend
                .follow_ups_due(from, after.as_ref(), to, DUE_PAGE)?;
            let mut plans: BTreeMap<&str, Option<ReaderPlan>> = BTreeMap::new();
            for (date, plan_id, fragment_id) in &page {
                if !plans.contains_key(plan_id.as_str()) {
                    plans.insert(plan_id, self.reader_plan(who, plan_id)?);
                }
                let Some(plan) = plans.get(plan_id.as_str()).and_then(Option::as_ref) else {
                    continue;
                };
                let (item, record) = match self.seen(who, plan, date, fragment_id, &today, now) {
                    Seen::Due(i, r) => (i, r),
                    Seen::Held(i, r) if include_done => (i, r),
                    _ => continue,
                };
                if out.len() == limit {
                    truncated = true;
                    break 'scan;
                }
                records.push(record);
                out.push(item);
            }
            scanned += page.len();
            if page.len() < DUE_PAGE {
                break;
            }
            if scanned >= MAX_SCAN {
                truncated = true;
                break;
            }
            after = page.last().cloned();
        }
        self.log(records).await?;
        Ok((out, truncated))
    }

    pub(super) async fn serve_list_follow_ups(
        &self,
        req: Request<ListFollowUpsRequest>,
    ) -> Result<Response<ListFollowUpsResponse>, Status> {
        let _timer = timer("ListFollowUps");
        let who = self.caller(&req, "", AccessAction::List).await?;
        let req = req.into_inner();
        let limit = page_size(req.page_size, 100, 500)?;
        if !req.from_date.is_empty() && validate::parse_date(&req.from_date).is_none() {
            return Err(Status::invalid_argument(
                "from_date: must be a date YYYY-MM-DD",
            ));
        }
        let to = if req.to_date.is_empty() {
            self.today_iso()
        } else if validate::parse_date(&req.to_date).is_some() {
            req.to_date.clone()
        } else {
            return Err(Status::invalid_argument(
                "to_date: must be a date YYYY-MM-DD",
            ));
        };
        if req.from_date > to {
            return Err(Status::invalid_argument("from_date: is after to_date"));
        }
        let (follow_ups, truncated) = self
            .follow_ups(&who, &req.from_date, &to, limit, req.include_done)
            .await?;
        Ok(Response::new(ListFollowUpsResponse {
            follow_ups,
            truncated,
        }))
    }
}
