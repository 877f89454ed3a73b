//! `kronobarn.v1.PlanService` over any [`Backend`].

mod admit;
mod consent;
mod decide;
mod errors;
mod export;
mod handover;
mod practice;
mod protected;
mod responsible;
mod watch;

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use kronobarn_policy::{Decision, FragmentFacts, Requester, decide_write, takes_part};
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    AcceptResponsibilityRequest, AcceptResponsibilityResponse, AccessAction, AccessRecord,
    AdvancePlanRequest, AdvancePlanResponse, Category, CreatePlanRequest, CreatePlanResponse,
    Decision as WireDecision, ExportPlanRequest, ExportPlanResponse, GetConsentStatusRequest,
    GetConsentStatusResponse, GetFragmentRequest, GetFragmentResponse, GetPlanRequest,
    GetPlanResponse, GetWitnessStatusRequest, GetWitnessStatusResponse, ListAccessLogRequest,
    ListAccessLogResponse, ListFollowUpsRequest, ListFollowUpsResponse, ListPlansRequest,
    ListPlansResponse, LookupResponsibleRequest, LookupResponsibleResponse, Plan,
    PutFragmentRequest, PutFragmentResponse, RecordConsentRequest, RecordConsentResponse,
    Revocation, RevokeConsentRequest, RevokeConsentResponse, SuggestResponsibleRequest,
    SuggestResponsibleResponse, TransferResponsibilityRequest, TransferResponsibilityResponse,
    WatchFollowUpsRequest, WatchFollowUpsResponse, WatchPlanRequest, WatchPlanResponse,
    WithdrawResponsibilityOfferRequest, WithdrawResponsibilityOfferResponse, fragment::Body,
    watch_plan_response::Event,
};
use kronobarn_proto::validate::{self, FieldError, swedish_date};
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use crate::{Actor, Backend, BackendError, ClientAuth, PlanView, StoredFragment};

pub use export::{FAMILY_PURPOSES, for_family};

/// Open watch streams a client system may hold unless the node's config says otherwise.
pub const DEFAULT_MAX_WATCHERS_PER_CLIENT: usize = 64;

/// The client API service; wrap it in `PlanServiceServer`.
pub struct PlanApi<B> {
    backend: Arc<B>,
    auth: Arc<ClientAuth>,
    watchers: Arc<watch::Watchers>,
}

impl<B> Clone for PlanApi<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            auth: self.auth.clone(),
            watchers: self.watchers.clone(),
        }
    }
}

impl<B: Backend> PlanApi<B> {
    /// A service answering from `backend`, admitting the systems in `auth`, each with at most
    /// [`DEFAULT_MAX_WATCHERS_PER_CLIENT`] open watch streams.
    pub fn new(backend: Arc<B>, auth: ClientAuth) -> Self {
        Self {
            backend,
            auth: Arc::new(auth),
            watchers: Arc::new(watch::Watchers::new(DEFAULT_MAX_WATCHERS_PER_CLIENT)),
        }
    }

    /// The same service with at most `max` open watch streams (WatchPlan and WatchFollowUps
    /// together) per client system; a stream over the cap is RESOURCE_EXHAUSTED.
    pub fn with_max_watchers_per_client(mut self, max: usize) -> Self {
        self.watchers = Arc::new(watch::Watchers::new(max));
        self
    }

    fn today(&self) -> (i32, u32, u32) {
        swedish_date(self.backend.now_ms())
    }

    /// Today as YYYY-MM-DD, the form dates take in plans.
    fn today_iso(&self) -> String {
        let (y, m, d) = self.today();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// The whole plan, for reads of its fragments.
    fn plan(&self, plan_id: &str) -> Result<PlanView, Status> {
        self.load(plan_id, true)
    }

    /// The plan's header, participants, consent and revocations: enough to decide.
    fn facts(&self, plan_id: &str) -> Result<PlanView, Status> {
        self.load(plan_id, false)
    }

    fn load(&self, plan_id: &str, all: bool) -> Result<PlanView, Status> {
        validate::plan_id("plan_id", plan_id).map_err(invalid)?;
        let view = if all {
            self.backend.load_plan(plan_id)?
        } else {
            self.backend.load_plan_facts(plan_id)?
        };
        view.ok_or_else(|| Status::not_found(format!("plan {plan_id} not found at this node")))
    }

    /// Writes access records (durably) and counts their decisions; metric labels carry no
    /// personal data: action, decision and reason code only.
    async fn log(&self, records: Vec<AccessRecord>) -> Result<(), Status> {
        for r in &records {
            Self::count(r);
        }
        self.backend.log_access(records).await?;
        Ok(())
    }

    fn count(rec: &AccessRecord) {
        metrics::counter!(
            "kronobarn_client_access_total",
            "action" => AccessAction::try_from(rec.action).map_or("unknown", |a| a.as_str_name()),
            "decision" => WireDecision::try_from(rec.decision).map_or("unknown", |d| d.as_str_name()),
            "reason" => rec.reason.clone()
        )
        .increment(1);
    }
}

fn requester(who: &Actor) -> Requester<'_> {
    Requester {
        organization: &who.organization,
        unit: &who.unit,
    }
}

fn facts(f: &StoredFragment) -> FragmentFacts<'_> {
    FragmentFacts {
        home: &f.fragment.home_organization,
        home_authority: &f.fragment.home_authority,
        category: kronobarn_policy::Category(f.fragment.category),
    }
}

fn invalid(e: FieldError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn page_size(requested: u32, default: u32, max: u32) -> Result<usize, Status> {
    match requested {
        0 => Ok(default as usize),
        n if n <= max => Ok(n as usize),
        _ => Err(Status::invalid_argument(format!(
            "page_size: must be at most {max}"
        ))),
    }
}

/// Records how long one client API call took, by method, when dropped.
struct Timer(&'static str, std::time::Instant);

impl Drop for Timer {
    fn drop(&mut self) {
        metrics::histogram!("kronobarn_request_duration_seconds", "method" => self.0)
            .record(self.1.elapsed().as_secs_f64());
    }
}

fn timer(method: &'static str) -> Timer {
    Timer(method, std::time::Instant::now())
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchPlanResponse, Status>> + Send>>;
type FollowUpStream = Pin<Box<dyn Stream<Item = Result<WatchFollowUpsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<B: Backend> PlanService for PlanApi<B> {
    async fn create_plan(
        &self,
        req: Request<CreatePlanRequest>,
    ) -> Result<Response<CreatePlanResponse>, Status> {
        self.serve_create_plan(req).await
    }

    async fn get_plan(
        &self,
        req: Request<GetPlanRequest>,
    ) -> Result<Response<GetPlanResponse>, Status> {
        let _timer = timer("GetPlan");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        let view = self.plan(&req.get_ref().plan_id)?;
        self.need_to_know(&who, &view, "plan").await?;
        let (shown, withheld) = self.visible(&who, &view, None).await?;
        let same_child_plan_ids = self.same_child_notice(&who, &view, &shown).await?;
        let mut fragments: Vec<_> = shown.into_iter().map(|f| f.fragment).collect();
        self.with_home_only(&who, &view, &mut fragments)?;
        Ok(Response::new(GetPlanResponse {
            plan: Some(Plan {
                plan_id: view.plan_id.clone(),
                home_organization: view.home_organization.clone(),
                fragments,
                withheld,
                protected_identity: export::protected_identity(&view),
            }),
            same_child_plan_ids,
        }))
    }

    async fn list_plans(
        &self,
        req: Request<ListPlansRequest>,
    ) -> Result<Response<ListPlansResponse>, Status> {
        let _timer = timer("ListPlans");
        let who = self.caller(&req, "", AccessAction::List).await?;
        let req = req.into_inner();
        let limit = page_size(req.page_size, 100, 500)?;
        if !req.page_token.is_empty() {
            validate::plan_id("page_token", &req.page_token).map_err(invalid)?;
        }
        let mut plans =
            self.backend
                .list_plans(&who.organization, &who.unit, &req.page_token, limit + 1)?;
        let next_page_token = if plans.len() > limit {
            plans.truncate(limit);
            plans.last().map(|p| p.plan_id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let records = plans
            .iter()
            .map(|p| {
                let mut r =
                    self.record(&who, &p.plan_id, AccessAction::List, &permit, None, "plan");
                r.reason = "participant".into();
                r
            })
            .collect::<Vec<_>>();
        if !records.is_empty() {
            self.log(records).await?;
        }
        Ok(Response::new(ListPlansResponse {
            plans,
            next_page_token,
        }))
    }

    async fn put_fragment(
        &self,
        req: Request<PutFragmentRequest>,
    ) -> Result<Response<PutFragmentResponse>, Status> {
        let _timer = timer("PutFragment");
        let who = self
            .caller(
                &req,
                req.get_ref()
                    .fragment
                    .as_ref()
                    .map_or("", |f| f.plan_id.as_str()),
                AccessAction::Write,
            )
            .await?;
        let req = req.into_inner();
        let fragment = req
            .fragment
            .ok_or_else(|| Status::invalid_argument("fragment: is required"))?;
        validate::fragment("fragment", &fragment, self.today()).map_err(invalid)?;
        let mut fragment = fragment;
        if let Some(Body::Header(h)) = fragment.body.as_mut() {
            crate::responsible::normalise(h, self.today());
        }
        if matches!(fragment.body, Some(Body::Status(_))) {
            return Err(Status::invalid_argument(
                "fragment.status: a plan's stage is moved with AdvancePlan, which checks the practice model's rules",
            ));
        }
        let view = self.facts(&fragment.plan_id)?;
        if practice::current_stage(&view).0 == kronobarn_policy::lifecycle::Stage::Closed {
            return Err(Status::failed_precondition(format!(
                "closed: plan {} is closed; nothing more is written to it",
                view.plan_id
            )));
        }
        let home = if fragment.home_organization.is_empty() {
            who.organization.as_str()
        } else {
            fragment.home_organization.as_str()
        };
        let d = decide_write(&view.policy_state(), requester(&who), home);
        if !d.is_permit() {
            let mut rec = self.record(
                &who,
                &view.plan_id,
                AccessAction::Write,
                &d,
                None,
                &fragment.fragment_id,
            );
            rec.fragment_id = fragment.fragment_id.clone();
            self.log(vec![rec]).await?;
            return Err(Status::permission_denied(match d {
                Decision::Deny(kronobarn_policy::Deny::NotHome) => {
                    format!("not-home: the fragment's home is {home}; only {home} may write it")
                }
                d => format!(
                    "{}: unit '{}' takes no part in plan {}",
                    d.reason(),
                    who.unit,
                    view.plan_id
                ),
            }));
        }
        let stored = self
            .backend
            .put_fragment(&who, fragment, req.expected_version)
            .await?;
        tracing::info!(plan = %view.plan_id, fragment = %stored.fragment.fragment_id, "fragment written");
        Ok(Response::new(PutFragmentResponse {
            fragment: Some(stored.fragment),
        }))
    }

    async fn get_fragment(
        &self,
        req: Request<GetFragmentRequest>,
    ) -> Result<Response<GetFragmentResponse>, Status> {
        let _timer = timer("GetFragment");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        let req = req.into_inner();
        validate::slug("fragment_id", &req.fragment_id).map_err(invalid)?;
        let view = self.plan(&req.plan_id)?;
        if !view
            .fragments
            .iter()
            .any(|f| f.fragment.fragment_id == req.fragment_id)
        {
            return Err(Status::not_found(format!(
                "fragment {} of plan {} not found",
                req.fragment_id, req.plan_id
            )));
        }
        self.need_to_know(&who, &view, &req.fragment_id).await?;
        let (mut shown, withheld) = self.visible(&who, &view, Some(&req.fragment_id)).await?;
        match (shown.pop(), withheld.first()) {
            (Some(f), _) => {
                let mut one = [f.fragment];
                self.with_home_only(&who, &view, &mut one)?;
                let [fragment] = one;
                Ok(Response::new(GetFragmentResponse {
                    fragment: Some(fragment),
                }))
            }
            (None, Some(w)) => Err(Status::permission_denied(format!(
                "{}: {} may not see this fragment ({})",
                w.reason,
                who.organization,
                Category::try_from(w.category).map_or("unknown category", |c| c.as_str_name())
            ))),
            (None, None) => Err(Status::not_found("fragment not found")),
        }
    }

    async fn list_access_log(
        &self,
        req: Request<ListAccessLogRequest>,
    ) -> Result<Response<ListAccessLogResponse>, Status> {
        let _timer = timer("ListAccessLog");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        let req = req.into_inner();
        let limit = page_size(req.page_size, 200, 1000)?;
        let after = match req.page_token.as_str() {
            "" => None,
            t => Some(t.parse::<u64>().map_err(|_| {
                Status::invalid_argument("page_token: not a token from ListAccessLog")
            })?),
        };
        let view = self.facts(&req.plan_id)?;
        self.need_to_know(&who, &view, "access-log").await?;
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let mut rec = self.record(
            &who,
            &view.plan_id,
            AccessAction::Read,
            &permit,
            None,
            "access-log",
        );
        rec.reason = "participant".into();
        self.log(vec![rec]).await?;
        let page = self.backend.access_log(&view.plan_id, after, limit)?;
        Ok(Response::new(ListAccessLogResponse {
            entries: page.entries,
            checkpoint: Some(page.checkpoint),
            log_public_key: page.public_key,
            next_page_token: page.next_after.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn transfer_responsibility(
        &self,
        req: Request<TransferResponsibilityRequest>,
    ) -> Result<Response<TransferResponsibilityResponse>, Status> {
        self.serve_transfer_responsibility(req).await
    }

    async fn withdraw_responsibility_offer(
        &self,
        req: Request<WithdrawResponsibilityOfferRequest>,
    ) -> Result<Response<WithdrawResponsibilityOfferResponse>, Status> {
        let _timer = timer("WithdrawResponsibilityOffer");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Write)
            .await?;
        let view = self.facts(&req.get_ref().plan_id)?;
        self.need_to_know(&who, &view, "responsibility").await?;
        let offer = self.backend.withdraw_handover(&who, &view.plan_id).await?;
        tracing::info!(plan = %offer.plan_id, to = %offer.to_organization, "responsibility offer withdrawn");
        Ok(Response::new(WithdrawResponsibilityOfferResponse {
            offer: Some(offer),
        }))
    }

    async fn accept_responsibility(
        &self,
        req: Request<AcceptResponsibilityRequest>,
    ) -> Result<Response<AcceptResponsibilityResponse>, Status> {
        self.serve_accept_responsibility(req).await
    }

    type WatchPlanStream = WatchStream;

    async fn watch_plan(
        &self,
        req: Request<WatchPlanRequest>,
    ) -> Result<Response<Self::WatchPlanStream>, Status> {
        self.serve_watch_plan(req).await
    }

    async fn record_consent(
        &self,
        req: Request<RecordConsentRequest>,
    ) -> Result<Response<RecordConsentResponse>, Status> {
        self.serve_record_consent(req).await
    }

    async fn revoke_consent(
        &self,
        req: Request<RevokeConsentRequest>,
    ) -> Result<Response<RevokeConsentResponse>, Status> {
        self.serve_revoke_consent(req).await
    }

    async fn get_consent_status(
        &self,
        req: Request<GetConsentStatusRequest>,
    ) -> Result<Response<GetConsentStatusResponse>, Status> {
        self.serve_get_consent_status(req).await
    }

    async fn advance_plan(
        &self,
        req: Request<AdvancePlanRequest>,
    ) -> Result<Response<AdvancePlanResponse>, Status> {
        let _timer = timer("AdvancePlan");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Write)
            .await?;
        let status = self.advance(&who, req.into_inner()).await?;
        Ok(Response::new(AdvancePlanResponse {
            status: Some(status),
        }))
    }

    async fn list_follow_ups(
        &self,
        req: Request<ListFollowUpsRequest>,
    ) -> Result<Response<ListFollowUpsResponse>, Status> {
        self.serve_list_follow_ups(req).await
    }

    type WatchFollowUpsStream = FollowUpStream;

    async fn watch_follow_ups(
        &self,
        req: Request<WatchFollowUpsRequest>,
    ) -> Result<Response<Self::WatchFollowUpsStream>, Status> {
        self.serve_watch_follow_ups(req).await
    }

    async fn export_plan(
        &self,
        req: Request<ExportPlanRequest>,
    ) -> Result<Response<ExportPlanResponse>, Status> {
        let _timer = timer("ExportPlan");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        Ok(Response::new(self.export(&who, req.into_inner()).await?))
    }

    async fn get_witness_status(
        &self,
        req: Request<GetWitnessStatusRequest>,
    ) -> Result<Response<GetWitnessStatusResponse>, Status> {
        let _timer = timer("GetWitnessStatus");
        // Any admitted caller may ask: sizes, times and organisation ids, no personal data, so
        // an admitted call needs no access record.
        self.caller(&req, "", AccessAction::Read).await?;
        Ok(Response::new(self.backend.witness_status()?))
    }

    async fn suggest_responsible(
        &self,
        req: Request<SuggestResponsibleRequest>,
    ) -> Result<Response<SuggestResponsibleResponse>, Status> {
        self.serve_suggest_responsible(req).await
    }

    async fn lookup_responsible(
        &self,
        req: Request<LookupResponsibleRequest>,
    ) -> Result<Response<LookupResponsibleResponse>, Status> {
        self.serve_lookup_responsible(req).await
    }
}
