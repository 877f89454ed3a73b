//! Barnens bästa-ansvarig over the client API: creating a plan (the node checks the responsible
//! unit's kind and that the child has no other open plan here), the suggestion and the lookup
//! of who is responsible (no personal data in, none kept, nothing logged), and the notice on a
//! plan that this node holds another open plan for the same child.

use kronobarn_policy::lifecycle::Stage;
use kronobarn_policy::responsibility::{
    ChildFacts, bba_for_unit, responsible_kinds, suggest_responsible,
};
use kronobarn_policy::{Birth, Date, decide_read};
use kronobarn_proto::ids::HEADER_FRAGMENT_ID;
use kronobarn_proto::v1::{
    LookupResponsibleRequest, LookupResponsibleResponse, ResponsibleUnit,
    SuggestResponsibleRequest, SuggestResponsibleResponse,
};

use super::*;
use crate::responsible::{answer, normalise, schooling, service_unit};

/// Most known units a suggestion looks at.
const MAX_KNOWN: usize = 10;

impl<B: Backend> PlanApi<B> {
    pub(super) async fn serve_create_plan(
        &self,
        req: Request<CreatePlanRequest>,
    ) -> Result<Response<CreatePlanResponse>, Status> {
        let _timer = timer("CreatePlan");
        let who = self.caller(&req, "", AccessAction::Write).await?;
        let req = req.into_inner();
        let mut header = req
            .header
            .ok_or_else(|| Status::invalid_argument("header: is required"))?;
        validate::header("header", &header, self.today()).map_err(invalid)?;
        normalise(&mut header, self.today());
        if header.responsible_organization.is_empty() {
            header.responsible_organization = who.organization.clone();
        } else if header.responsible_organization != who.organization {
            return Err(Status::invalid_argument(format!(
                "header.responsible_organization: a plan is created by its responsible organisation; this node is {}",
                who.organization
            )));
        }
        let view = self
            .backend
            .create_plan(&who, header, req.unit_contact)
            .await?;
        tracing::info!(plan = %view.plan_id, unit = %who.unit, "plan created");
        Ok(Response::new(CreatePlanResponse {
            plan: Some(Plan {
                plan_id: view.plan_id.clone(),
                home_organization: view.home_organization.clone(),
                protected_identity: super::export::protected_identity(&view),
                fragments: view.fragments.into_iter().map(|f| f.fragment).collect(),
                withheld: vec![],
            }),
        }))
    }

    pub(super) async fn serve_suggest_responsible(
        &self,
        req: Request<SuggestResponsibleRequest>,
    ) -> Result<Response<SuggestResponsibleResponse>, Status> {
        let _timer = timer("SuggestResponsible");
        // About no plan and no person: the calling system is enough, and nothing is logged.
        self.auth.system_id(&req)?;
        let req = req.into_inner();
        let today = Date::in_sweden(self.backend.now_ms());
        let month = |field: &str, v: &str| {
            validate::parse_month(v)
                .ok_or_else(|| Status::invalid_argument(format!("{field}: must be YYYY-MM")))
        };
        let birth = match (req.birth_month.is_empty(), req.expected_month.is_empty()) {
            (false, true) => {
                let (year, m) = month("birth_month", &req.birth_month)?;
                // The rule needs no day; the 20th birthday is read as the first of the month.
                let born = Date {
                    year,
                    month: m as u8,
                    day: 1,
                };
                if born > today {
                    return Err(Status::invalid_argument(
                        "birth_month: lies ahead; before birth set expected_month",
                    ));
                }
                Birth::Born(born)
            }
            (true, false) => {
                let (year, m) = month("expected_month", &req.expected_month)?;
                Birth::Expected {
                    year,
                    month: m as u8,
                }
            }
            _ => {
                return Err(Status::invalid_argument(
                    "birth_month: set it, or expected_month before birth, not both",
                ));
            }
        };
        if req.known_units.len() > MAX_KNOWN {
            return Err(Status::invalid_argument(format!(
                "known_units: has more than {MAX_KNOWN} items"
            )));
        }
        let known = req
            .known_units
            .iter()
            .enumerate()
            .map(|(i, u)| service_unit(&format!("known_units[{i}]"), u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let child = ChildFacts {
            birth,
            schooling: schooling(req.schooling),
        };
        let directory = self.backend.directory();
        let responsible =
            suggest_responsible(&directory, child, today, &known).map(|r| self.responsible_unit(r));
        Ok(Response::new(SuggestResponsibleResponse {
            expected_kinds: responsible_kinds(child, today)
                .iter()
                .map(|k| k.slug().to_string())
                .collect(),
            responsible,
        }))
    }

    pub(super) async fn serve_lookup_responsible(
        &self,
        req: Request<LookupResponsibleRequest>,
    ) -> Result<Response<LookupResponsibleResponse>, Status> {
        let _timer = timer("LookupResponsible");
        self.auth.system_id(&req)?;
        let unit = req
            .get_ref()
            .service_unit
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("service_unit: is required"))?;
        let unit = service_unit("service_unit", unit).map_err(invalid)?;
        let directory = self.backend.directory();
        let responsible = bba_for_unit(&directory, &unit)
            .map(|r| self.responsible_unit(r))
            .ok_or_else(|| {
                Status::not_found(
                    "no unit in this node's directory is responsible there; the municipality's coordinator for Barnens bästa can help",
                )
            })?;
        Ok(Response::new(LookupResponsibleResponse {
            responsible: Some(responsible),
        }))
    }

    fn responsible_unit(
        &self,
        r: kronobarn_policy::responsibility::Responsible<'_>,
    ) -> ResponsibleUnit {
        answer(
            r,
            self.backend.organization_name(&r.authority.organization),
            self.backend
                .unit_contact(&r.unit.organization, &r.unit.unit),
        )
    }

    /// Other open plans this node holds for the same child, named to a reader who may read
    /// the header of `view` (shown) and of each of them; each naming is an access record of
    /// the other plan.
    pub(super) async fn same_child_notice(
        &self,
        who: &Actor,
        view: &PlanView,
        shown: &[StoredFragment],
    ) -> Result<Vec<String>, Status> {
        if !shown
            .iter()
            .any(|f| f.fragment.fragment_id == HEADER_FRAGMENT_ID)
        {
            return Ok(Vec::new());
        }
        let now = self.backend.now_ms();
        let mut named = Vec::new();
        let mut records = Vec::new();
        for other in self.backend.same_child_plans(&view.plan_id)? {
            let Some(o) = self.backend.load_plan_facts(&other)? else {
                continue;
            };
            if practice::current_stage(&o).0 == Stage::Closed {
                continue;
            }
            let Some(header) = o
                .fragments
                .iter()
                .find(|f| f.fragment.fragment_id == HEADER_FRAGMENT_ID)
            else {
                continue;
            };
            let d = decide_read(&o.policy_state(), requester(who), facts(header), now);
            if !d.is_permit() {
                continue;
            }
            let mut rec = self.record(who, &other, AccessAction::Read, &d, None, "header");
            rec.reason = "same-child".into();
            records.push(rec);
            named.push(other);
        }
        if !records.is_empty() {
            self.log(records).await?;
        }
        Ok(named)
    }
}
