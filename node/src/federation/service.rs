//! `kronobarn.federation.v1.FederationService`: the peer is identified by its TLS certificate,
//! which must name exactly one roster member; everything it sends is admitted envelope by
//! envelope, consents and revocations first.

use std::sync::Arc;

use kronobarn_proto::federation::federation_service_server::FederationService;
use kronobarn_proto::federation::{
    FetchChangesRequest, FetchChangesResponse, GetIndicatorsRequest, GetIndicatorsResponse,
    PushRequest, PushResponse, RenewLeaseRequest, RenewLeaseResponse, WitnessCheckpointRequest,
    WitnessCheckpointResponse,
};
use tonic::{Request, Response, Status};

use super::indicators::IndicatorSettings;
use super::lease::LeaseRefusal;
use super::witness;
use crate::node::Node;
use crate::roster::{Roster, peer_organization};

/// Most envelopes in one Push.
pub const MAX_PUSH: usize = 1000;

/// The federation service of one node.
pub struct Federation {
    node: Arc<Node>,
    roster: Arc<Roster>,
    indicators: IndicatorSettings,
}

impl Federation {
    /// Serves `node` to the members of `roster`; indicators to no one until
    /// [`Federation::with_indicators`] names the readers.
    pub fn new(node: Arc<Node>, roster: Arc<Roster>) -> Self {
        Self {
            node,
            roster,
            indicators: IndicatorSettings::default(),
        }
    }

    /// Answers indicator requests as `settings` say.
    pub fn with_indicators(mut self, settings: IndicatorSettings) -> Self {
        self.indicators = settings;
        self
    }

    fn peer<T>(&self, req: &Request<T>) -> Result<String, Status> {
        let certs = req
            .peer_certs()
            .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
        let leaf = certs
            .first()
            .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
        let member = peer_organization(&self.roster, leaf.as_ref()).ok_or_else(|| {
            Status::permission_denied("the client certificate names no roster member")
        })?;
        let organization = member.entry.organization.clone();
        // A member that calls is up: a delivery to it waiting out a backoff goes now.
        self.node.peer_called(&organization);
        Ok(organization)
    }
}

#[tonic::async_trait]
impl FederationService for Federation {
    async fn push(&self, req: Request<PushRequest>) -> Result<Response<PushResponse>, Status> {
        let peer = self.peer(&req)?;
        let envelopes = req.into_inner().envelopes;
        if envelopes.len() > MAX_PUSH {
            return Err(Status::invalid_argument(format!(
                "envelopes: at most {MAX_PUSH} per push"
            )));
        }
        let results = super::admission::receive(&self.node, &self.roster, &peer, &envelopes)
            .await
            .map_err(Status::from)?;
        Ok(Response::new(PushResponse { results }))
    }

    async fn fetch_changes(
        &self,
        req: Request<FetchChangesRequest>,
    ) -> Result<Response<FetchChangesResponse>, Status> {
        let peer = self.peer(&req)?;
        let req = req.into_inner();
        let resp =
            super::sync::changes_for(&self.node, &peer, req.after, req.limit).map_err(|e| {
                tracing::error!(error = %e, "cannot answer FetchChanges");
                Status::internal("the node could not read its change feed")
            })?;
        Ok(Response::new(resp))
    }

    async fn renew_lease(
        &self,
        req: Request<RenewLeaseRequest>,
    ) -> Result<Response<RenewLeaseResponse>, Status> {
        let peer = self.peer(&req)?;
        let req = req.into_inner();
        kronobarn_proto::validate::plan_id("plan_id", &req.plan_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        match crate::federation::lease::grant(&self.node, &peer, &req.plan_id, req.consent_version)
        {
            Ok(lease) => Ok(Response::new(RenewLeaseResponse { lease: Some(lease) })),
            Err(e @ LeaseRefusal::UnknownPlan(_)) => Err(Status::not_found(e.to_string())),
            Err(e @ LeaseRefusal::NotGranted(_)) => Err(Status::permission_denied(e.to_string())),
            Err(LeaseRefusal::Internal(e)) => {
                tracing::error!(error = %e, "cannot grant a lease");
                Err(Status::internal("the node could not read the plan"))
            }
            Err(e) => Err(Status::failed_precondition(e.to_string())),
        }
    }

    async fn witness_checkpoint(
        &self,
        req: Request<WitnessCheckpointRequest>,
    ) -> Result<Response<WitnessCheckpointResponse>, Status> {
        let peer = self.peer(&req)?;
        witness::handle(&self.node, &self.roster, &peer, req.into_inner())
            .map(Response::new)
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }

    async fn get_indicators(
        &self,
        req: Request<GetIndicatorsRequest>,
    ) -> Result<Response<GetIndicatorsResponse>, Status> {
        let peer = self.peer(&req)?;
        super::indicators::answer(&self.node, &self.indicators, &peer, req.into_inner())
            .await
            .map(Response::new)
    }
}
