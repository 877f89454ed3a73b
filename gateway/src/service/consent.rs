//! Consent calls: recording a consent at the consent home, recording a revocation anywhere, and
//! the consent status (with how far this node's revocations have reached).

use super::*;

/// Who must consent to a plan today (the policy's rule for the child's age): from 15 the young
/// person too when an authority taking part is of a kind the node's rules ask it for.
fn consenters(view: &PlanView, now_ms: i64) -> validate::Consenters {
    use kronobarn_policy::AgeStage;
    let state = view.policy_state();
    let today = kronobarn_policy::Date::in_sweden(now_ms);
    let required =
        kronobarn_policy::required_consenters(state.child_birth, today, &view.consent_rules);
    match required.stage {
        AgeStage::Adult => validate::Consenters::YoungPerson,
        AgeStage::Young
            if state
                .participant_authorities()
                .iter()
                .any(|a| required.young_person_required(Some(a.kind))) =>
        {
            validate::Consenters::GuardiansAndYoungPerson
        }
        _ => validate::Consenters::Guardians,
    }
}

/// Checks that each grant naming an authority or a unit names one this node knows: the
/// directory's, or (as the policy reads them) a unit taking part in the plan, which is an
/// authority of its own when the directory does not describe it. The policy grants an unknown
/// one nothing, so the guardians' consent would silently reach nobody. A grant naming only an
/// organisation is kept: the policy reads it narrowly. Only what a client sends is checked; a
/// consent received from another node is read as signed, since that node may know authorities
/// this one does not.
fn known_grantees(
    view: &PlanView,
    consent: &kronobarn_proto::v1::Consent,
) -> Result<(), FieldError> {
    let state = view.policy_state();
    let directory = &state.directory;
    for (i, g) in consent.grants.iter().enumerate() {
        let field = format!("consent.grants[{i}]");
        if !g.unit.is_empty() {
            // Listed by the directory or taking part: an organisation that is one authority
            // answers for any unit name, so a misspelt unit would pass and reach no user.
            let listed = directory
                .units()
                .any(|u| u.organization == g.organization && u.unit == g.unit);
            let taking_part = state
                .participants
                .iter()
                .any(|u| u.organization == g.organization && u.unit == g.unit);
            if !listed && !taking_part {
                return Err(FieldError::new(
                    format!("{field}.unit"),
                    format!(
                        "\"{}\" of {} is neither in the directory nor taking part in the plan",
                        g.unit, g.organization
                    ),
                ));
            }
            // The policy reads a unit grant by its unit; an authority beside it must agree.
            if !g.authority.is_empty()
                && directory
                    .authority_of(&g.organization, &g.unit)
                    .is_none_or(|a| a.id != g.authority)
            {
                return Err(FieldError::new(
                    format!("{field}.authority"),
                    format!(
                        "\"{}\" is not the authority of unit \"{}\"; name the unit or its authority",
                        g.authority, g.unit
                    ),
                ));
            }
        }
        if g.authority.is_empty() {
            continue;
        }
        match directory.authority(&g.authority) {
            None => {
                return Err(FieldError::new(
                    format!("{field}.authority"),
                    format!("\"{}\" is not an authority in the directory", g.authority),
                ));
            }
            Some(a) if a.organization != g.organization => {
                return Err(FieldError::new(
                    format!("{field}.authority"),
                    format!(
                        "\"{}\" is an authority of {}, not of {}",
                        g.authority, a.organization, g.organization
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl<B: Backend> PlanApi<B> {
    pub(super) async fn serve_record_consent(
        &self,
        req: Request<RecordConsentRequest>,
    ) -> Result<Response<RecordConsentResponse>, Status> {
        let _timer = timer("RecordConsent");
        let who = self
            .caller(
                &req,
                req.get_ref()
                    .consent
                    .as_ref()
                    .map_or("", |c| c.plan_id.as_str()),
                AccessAction::Write,
            )
            .await?;
        let req = req.into_inner();
        let consent = req
            .consent
            .ok_or_else(|| Status::invalid_argument("consent: is required"))?;
        let view = self.facts(&consent.plan_id)?;
        self.need_to_know(&who, &view, "consent").await?;
        if view.home_organization != who.organization {
            return Err(Status::permission_denied(format!(
                "only the plan's consent home, {}, records consent; a withdrawal can be recorded here with RevokeConsent",
                view.home_organization
            )));
        }
        let header = view
            .header
            .as_ref()
            .ok_or_else(|| Status::failed_precondition("the plan has no header"))?;
        let who_consents = consenters(&view, self.backend.now_ms());
        validate::consent("consent", &consent, Some(header), who_consents).map_err(invalid)?;
        known_grantees(&view, &consent).map_err(invalid)?;
        if consent.valid_until_unix_ms <= self.backend.now_ms() {
            return Err(Status::invalid_argument(
                "consent.valid_until_unix_ms: lies in the past",
            ));
        }
        for r in &consent.supersedes_revocations {
            if !view.revocations.iter().any(|x| &x.revocation_id == r) {
                return Err(Status::invalid_argument(format!(
                    "consent.supersedes_revocations: no revocation {r} in this plan"
                )));
            }
        }
        let recorded = self
            .backend
            .record_consent(&who, consent, req.expected_previous_version)
            .await?;
        tracing::info!(plan = %view.plan_id, version = recorded.consent_version, "consent recorded");
        Ok(Response::new(RecordConsentResponse {
            consent: Some(recorded),
        }))
    }

    pub(super) async fn serve_revoke_consent(
        &self,
        req: Request<RevokeConsentRequest>,
    ) -> Result<Response<RevokeConsentResponse>, Status> {
        let _timer = timer("RevokeConsent");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Write)
            .await?;
        let req = req.into_inner();
        let view = self.facts(&req.plan_id)?;
        self.need_to_know(&who, &view, "consent").await?;
        // Withdrawing must be as easy as giving: a node that holds no header (identity is not
        // shared with it, or was withdrawn before) still records the withdrawal; the guardian is
        // then checked against the header by the nodes that hold it.
        let header = view.header.as_ref();
        let revocation = Revocation {
            plan_id: req.plan_id,
            revocation_id: String::new(),
            recorded_at_organization: who.organization.clone(),
            recorded_by: who.user_id.clone(),
            recorded_at_unix_ms: 0,
            withdrawn_by: req.withdrawn_by,
            organizations: req.organizations,
            categories: req.categories,
            authorities: req.authorities,
            notified: Vec::new(),
        };
        validate::revocation("", &revocation, header)
            .map_err(|e| invalid(FieldError::new(e.field.trim_start_matches('.'), e.problem)))?;
        // From 18 the young person alone withdraws: a guardian's withdrawal would be recorded
        // and then count for nothing, so the caller is told instead.
        let by = kronobarn_policy::WithdrawnBy::from_wire(&revocation.withdrawn_by);
        let birth = header
            .and_then(|h| h.child.as_ref())
            .and_then(crate::convert::birth);
        let today = kronobarn_policy::Date::in_sweden(self.backend.now_ms());
        if matches!(by, kronobarn_policy::WithdrawnBy::Guardian(_))
            && !kronobarn_policy::consenters::withdrawal_counts(birth, &by, today)
        {
            return Err(Status::failed_precondition(
                "guardian-after-18: the young person is 18 or older and alone decides about the consent; a guardian's withdrawal does not count. Record the young person's own withdrawal (withdrawn_by \"child\")",
            ));
        }
        let recorded = self.backend.record_revocation(&who, revocation).await?;
        tracing::info!(plan = %view.plan_id, revocation = %recorded.revocation_id, "consent revoked");
        Ok(Response::new(RevokeConsentResponse {
            revocation: Some(recorded),
        }))
    }

    pub(super) async fn serve_get_consent_status(
        &self,
        req: Request<GetConsentStatusRequest>,
    ) -> Result<Response<GetConsentStatusResponse>, Status> {
        let _timer = timer("GetConsentStatus");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        let view = self.facts(&req.get_ref().plan_id)?;
        // A withdrawal is followed up where it was made, even once everything it covered (the
        // organisation's part in the plan included) is gone: that organisation sees the status of
        // its own revocations, and nothing else.
        let recorded_here = view
            .revocations
            .iter()
            .any(|r| r.recorded_at_organization == who.organization);
        if !takes_part(&view.policy_state(), requester(&who)) && recorded_here {
            let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
            let mut rec = self.record(
                &who,
                &view.plan_id,
                AccessAction::Read,
                &permit,
                None,
                "consent",
            );
            rec.reason = "revocation-recorded-here".into();
            self.log(vec![rec]).await?;
            return Ok(Response::new(GetConsentStatusResponse {
                pending_handover: None,
                revocation_status: self.backend.revocation_status(&view.plan_id)?,
                revocations_in_force: view
                    .revocations
                    .into_iter()
                    .filter(|r| r.recorded_at_organization == who.organization)
                    .collect(),
                consent: None,
            }));
        }
        self.need_to_know(&who, &view, "consent").await?;
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let mut rec = self.record(
            &who,
            &view.plan_id,
            AccessAction::Read,
            &permit,
            None,
            "consent",
        );
        rec.reason = "participant".into();
        rec.consent_version = view.consent.as_ref().map_or(0, |c| c.consent_version);
        self.log(vec![rec]).await?;
        let lifted = view
            .consent
            .as_ref()
            .map(|c| c.supersedes_revocations.clone())
            .unwrap_or_default();
        let revocation_status = self.backend.revocation_status(&view.plan_id)?;
        Ok(Response::new(GetConsentStatusResponse {
            pending_handover: self.backend.pending_handover(&view.plan_id)?,
            revocation_status,
            revocations_in_force: view
                .revocations
                .iter()
                .filter(|r| !lifted.contains(&r.revocation_id))
                .cloned()
                .collect(),
            consent: view.consent,
        }))
    }
}
