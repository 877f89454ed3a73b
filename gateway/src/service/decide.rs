//! Every read decided with the policy and logged before anything is shown: the access record of
//! a decision, need to know for plan-level requests, and the split of a plan into what a reader
//! may see and what is withheld.

use kronobarn_policy::{Decision, decide_read, takes_part};
use kronobarn_proto::v1::{AccessAction, AccessRecord, Decision as WireDecision, WithheldFragment};
use tonic::Status;

use super::{PlanApi, facts, requester};
use crate::{Actor, Backend, PlanView, StoredFragment};

impl<B: Backend> PlanApi<B> {
    /// The access record of decision `d` about fragment `f` (or `what` of the plan as a whole)
    /// for `who`; about a fragment withheld from the guardians, it joins the plan's withheld chain.
    pub(super) fn record(
        &self,
        who: &Actor,
        plan_id: &str,
        action: AccessAction,
        d: &Decision,
        f: Option<&StoredFragment>,
        what: &str,
    ) -> AccessRecord {
        let fragment_id = f.map_or(what, |f| f.fragment.fragment_id.as_str());
        let decision = if d.is_permit() {
            WireDecision::Permit
        } else {
            WireDecision::Deny
        };
        AccessRecord {
            version: f.and_then(|f| f.fragment.version),
            content_hash: match (d.is_permit(), f) {
                (true, Some(f)) => f.content_hash.clone(),
                _ => String::new(),
            },
            consent_version: d.consent_version(),
            // Records about a fragment withheld from the guardians form the plan's withheld
            // chain, so the guardians' extract neither shows them nor misses them.
            withheld_from_guardians: f.is_some_and(|f| f.fragment.withheld_from_guardians),
            ..crate::record::by_user(
                who,
                self.backend.now_ms(),
                plan_id,
                fragment_id,
                action,
                decision,
                d.reason(),
            )
        }
    }

    /// Denies a plan-level request when the user's unit takes no part in the plan, logging it.
    pub(super) async fn need_to_know(
        &self,
        who: &Actor,
        view: &PlanView,
        what: &str,
    ) -> Result<(), Status> {
        let state = view.policy_state();
        if takes_part(&state, requester(who)) {
            return Ok(());
        }
        let d = Decision::Deny(kronobarn_policy::Deny::NotParticipant);
        let rec = self.record(who, &view.plan_id, AccessAction::Read, &d, None, what);
        self.log(vec![rec]).await?;
        Err(Status::permission_denied(format!(
            "not-participant: unit '{}' of {} takes no part in plan {}",
            who.unit, who.organization, view.plan_id
        )))
    }

    /// Decides every fragment for the reader, logs each decision, and splits the plan.
    pub(super) async fn visible(
        &self,
        who: &Actor,
        view: &PlanView,
        only: Option<&str>,
    ) -> Result<(Vec<StoredFragment>, Vec<WithheldFragment>), Status> {
        let state = view.policy_state();
        let now = self.backend.now_ms();
        let mut shown = Vec::new();
        let mut withheld = Vec::new();
        let mut records = Vec::new();
        for f in view
            .fragments
            .iter()
            .filter(|f| only.is_none_or(|id| f.fragment.fragment_id == id))
        {
            let d = decide_read(&state, requester(who), facts(f), now);
            records.push(self.record(who, &view.plan_id, AccessAction::Read, &d, Some(f), ""));
            if d.is_permit() {
                shown.push(f.clone());
            } else {
                withheld.push(WithheldFragment {
                    fragment_id: f.fragment.fragment_id.clone(),
                    home_organization: f.fragment.home_organization.clone(),
                    category: f.fragment.category,
                    reason: d.reason().to_string(),
                });
            }
        }
        // The records are durable before anything is shown.
        self.log(records).await?;
        Ok((shown, withheld))
    }
}
