//! Handing a plan's responsibility over: the offer by the responsible organisation, and its
//! acceptance by the unit it is offered to.

use super::*;

impl<B: Backend> PlanApi<B> {
    pub(super) async fn serve_transfer_responsibility(
        &self,
        req: Request<TransferResponsibilityRequest>,
    ) -> Result<Response<TransferResponsibilityResponse>, Status> {
        let _timer = timer("TransferResponsibility");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Write)
            .await?;
        let req = req.into_inner();
        let view = self.facts(&req.plan_id)?;
        self.need_to_know(&who, &view, "responsibility").await?;
        validate::slug("to_organization", &req.to_organization).map_err(invalid)?;
        validate::slug("to_unit", &req.to_unit).map_err(invalid)?;
        let contact_name = req
            .to_contact
            .as_ref()
            .map(|c| c.name.trim().to_string())
            .unwrap_or_default();
        if contact_name.is_empty() {
            return Err(Status::invalid_argument("to_contact.name: is required"));
        }
        if !view.policy_state().has_organization(&req.to_organization) {
            return Err(Status::failed_precondition(format!(
                "to_organization: {} takes no part in the plan; add it as a participant first",
                req.to_organization
            )));
        }
        let offer = kronobarn_proto::v1::Handover {
            plan_id: req.plan_id,
            to_organization: req.to_organization,
            to_unit: req.to_unit,
            to_contact: req.to_contact,
            ..Default::default()
        };
        let offer = self.backend.offer_handover(&who, offer).await?;
        tracing::info!(plan = %offer.plan_id, to = %offer.to_organization, "responsibility offered");
        Ok(Response::new(TransferResponsibilityResponse {
            offer: Some(offer),
        }))
    }

    pub(super) async fn serve_accept_responsibility(
        &self,
        req: Request<AcceptResponsibilityRequest>,
    ) -> Result<Response<AcceptResponsibilityResponse>, Status> {
        let _timer = timer("AcceptResponsibility");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Write)
            .await?;
        let view = self.facts(&req.get_ref().plan_id)?;
        if !view.policy_state().has_organization(&who.organization) {
            return Err(Status::permission_denied(
                "this organisation takes no part in the plan",
            ));
        }
        // The offer names the unit that takes the thread; another unit of the same organisation
        // (or a system speaking for one) cannot take it in its place.
        if let Some(offer) = self.backend.pending_handover(&view.plan_id)?
            && offer.to_organization == who.organization
            && offer.to_unit != who.unit
        {
            let d = Decision::Deny(kronobarn_policy::Deny::NotParticipant);
            let mut rec = self.record(
                &who,
                &view.plan_id,
                AccessAction::Write,
                &d,
                None,
                "responsibility",
            );
            rec.reason = "not-offered-unit".into();
            self.log(vec![rec]).await?;
            return Err(Status::permission_denied(format!(
                "not-offered-unit: the offer of plan {} is made to unit '{}' of {}; a user of that unit accepts it",
                view.plan_id, offer.to_unit, offer.to_organization
            )));
        }
        let handover = self.backend.accept_handover(&who, &view.plan_id).await?;
        tracing::info!(plan = %handover.plan_id, from = %handover.from_organization, "responsibility accepted");
        Ok(Response::new(AcceptResponsibilityResponse {
            handover: Some(handover),
        }))
    }
}
