//! The county's indicators from this node's own records: [`PlanFacts`] for every plan the node is
//! home of (so each plan is counted once in the county), and the suppressed [`IndicatorSet`]
//! computed from them by `kronobarn-indicators`. Nothing personal enters the facts (see
//! [`build`]); the set is what the node signs and sends to the county's report readers.
//!
//! Cost: one pass over the plan records, and for each plan at home its fragments, consents,
//! revocations and handovers, read by prefix (no access log: the day a plan was handed to the
//! family is kept in `given/{plan}`, written with that export's access record). So it grows with
//! the plans and what they hold, never with the log.

mod build;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use kronobarn_gateway::{BackendError, BackendResult};
use kronobarn_indicators::{
    AuthorityKind, AuthorityRef, Day, IndicatorSet, Params, PlanFacts, Quarter,
};
use kronobarn_proto::v1::{Consent, Fragment, HandoverAcceptance, PlanCreation, Revocation};
use prost::Message;

use super::{Node, PlanRecord, decode_env, internal};
use crate::directory::AuthorityEntry;
use crate::keys;

pub(crate) use build::day_of_ms;

/// Purposes of an `ExportPlan` (HTML or PDF) that hand the plan to the family: the guardians,
/// or the young person deciding for themselves. Such an export at the plan's home is the plan
/// "given to the guardians" in the county's indicators.
pub const FAMILY_PURPOSES: [&str; 3] = ["guardian-copy", "family-copy", "young-person-copy"];

/// Where this node's plans are counted in the county's indicators: the municipality (slug) of
/// each unit and authority that names one, and the node's own for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counting {
    /// The municipality of plans whose unit and authority name none.
    pub municipality: String,
    /// Municipality by unit of this organisation.
    pub units: BTreeMap<String, String>,
    /// Municipality by authority id.
    pub authorities: BTreeMap<String, String>,
}

/// The Swedish day number of an instant (days since 1970-01-01), as the facts count days.
pub fn swedish_day(ms: i64) -> Day {
    day_of_ms(ms)
}

impl Counting {
    /// From this organisation's directory entries and the node's own municipality (by default
    /// the organisation id without "-kommun": "vaxjo-kommun" is counted for "vaxjo").
    pub fn new(organization: &str, municipality: Option<&str>, entries: &[AuthorityEntry]) -> Self {
        let own = municipality
            .unwrap_or_else(|| organization.strip_suffix("-kommun").unwrap_or(organization));
        let mut c = Counting {
            municipality: build::slug(own),
            ..Default::default()
        };
        for a in entries {
            if let Some(m) = &a.municipality {
                c.authorities.insert(a.id.clone(), build::slug(m));
            }
            for u in &a.units {
                if let Some(m) = &u.municipality {
                    c.units.insert(u.id.clone(), build::slug(m));
                }
            }
        }
        c
    }
}

/// The facts of every plan this node is home of, and the authorities it reports for.
#[derive(Debug, Clone, Default)]
pub struct HomeFacts {
    /// One per plan at home.
    pub plans: Vec<PlanFacts>,
    /// Every authority of this organisation, in every municipality it is counted in.
    pub authorities: Vec<AuthorityRef>,
    /// Today, as a Swedish day number, as the facts were built.
    pub today: Day,
    /// Plans left out: no header yet, or facts that would not pass the crate's checks.
    pub left_out: usize,
}

/// Why no indicator set could be made.
#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    /// Reading the store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The parameters (quarters, threshold) cannot be computed.
    #[error(transparent)]
    Compute(#[from] kronobarn_indicators::Error),
}

impl Node {
    /// The facts of every plan this node is home of, as of now.
    pub fn home_facts(&self, counting: &Counting) -> BackendResult<HomeFacts> {
        let directory = self.directory();
        let today = day_of_ms(self.now_ms());
        let ctx = build::Context {
            organization: &self.organization,
            directory: &directory,
            counting,
            today,
        };
        let mut authorities: BTreeSet<AuthorityRef> = build::declared(&ctx);
        let mut plans = Vec::new();
        let mut left_out = 0;
        const PAGE: usize = 1024;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .scan(keys::PLAN, after.as_deref(), PAGE)
                .map_err(internal)?;
            for (k, v) in &page {
                let Some(plan_id) = keys::plan_of(k) else {
                    continue;
                };
                let record = PlanRecord::decode(v.as_slice()).map_err(internal)?;
                if record.home_organization != self.organization {
                    continue;
                }
                match build::facts(&ctx, &self.stored_for_facts(plan_id, &record)?) {
                    Some(f) => {
                        authorities.insert(AuthorityRef {
                            id: f.authority.clone(),
                            kind: f.authority_kind,
                            municipality: f.municipality.clone(),
                        });
                        plans.push(f);
                    }
                    None => left_out += 1,
                }
            }
            if page.len() < PAGE {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
        }
        if authorities.is_empty() {
            // A node without a directory still reports, for its organisation as a whole.
            authorities.insert(AuthorityRef {
                id: build::slug(&self.organization),
                kind: AuthorityKind::Other,
                municipality: counting.municipality.clone(),
            });
        }
        let authorities: Vec<AuthorityRef> = authorities.into_iter().collect();
        let before = plans.len();
        plans.retain(|f| match f.check(0, today, &authorities) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(field = e.field, problem = %e.problem, "plan facts left out of the indicators");
                false
            }
        });
        left_out += before - plans.len();
        Ok(HomeFacts {
            plans,
            authorities,
            today,
            left_out,
        })
    }

    /// This node's indicator set for `first..=last`, with counts below `threshold` withheld.
    pub fn indicator_set(
        &self,
        counting: &Counting,
        first: Quarter,
        last: Quarter,
        threshold: u32,
    ) -> Result<IndicatorSet, IndicatorError> {
        let home = self.home_facts(counting)?;
        if home.left_out > 0 {
            tracing::info!(
                left_out = home.left_out,
                "plans without a header or with inconsistent dates are not counted"
            );
        }
        let params = Params {
            authorities: home.authorities,
            first,
            last,
            today: home.today,
            threshold,
        };
        Ok(kronobarn_indicators::compute(&home.plans, &params)?)
    }

    /// What the home holds of one plan, decoded, for its facts.
    fn stored_for_facts(&self, plan_id: &str, record: &PlanRecord) -> BackendResult<build::Stored> {
        let all = |prefix: Vec<u8>| self.scan_all(&prefix).map_err(internal);
        let mut s = build::Stored {
            created_at_ms: record.created_at_unix_ms,
            ..Default::default()
        };
        if let Some(b) = self.get(&keys::creation(plan_id)).map_err(internal)? {
            s.created_at_ms = decode_env::<PlanCreation>(&b)?.0.created_at_unix_ms;
        }
        for (_, v) in all(keys::fragments(plan_id))? {
            s.fragments.push(decode_env::<Fragment>(&v)?.0);
        }
        for (_, v) in all(keys::consents(plan_id))? {
            s.consents.push(decode_env::<Consent>(&v)?.0);
        }
        for (_, v) in all(keys::revocations(plan_id))? {
            s.revocations.push(decode_env::<Revocation>(&v)?.0);
        }
        for (_, v) in all(keys::handeds(plan_id))? {
            s.handovers.push(decode_env::<HandoverAcceptance>(&v)?.0);
        }
        s.given = self
            .get(&keys::given(plan_id))
            .map_err(internal)?
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map(i32::from_be_bytes);
        Ok(s)
    }

    /// Ops recording that the plan was handed out to the family today, when `records` show an
    /// export of the plan as a document with a family purpose at its home and none was recorded
    /// before: written in the batch of those records.
    pub(crate) fn given_ops(
        &self,
        records: &[kronobarn_proto::v1::AccessRecord],
    ) -> Vec<crate::store::Op> {
        use kronobarn_proto::v1::{AccessAction, Decision};
        let mut plans = BTreeSet::new();
        for r in records {
            if r.action == AccessAction::Read as i32
                && r.decision == Decision::Permit as i32
                && r.fragment_id == "document"
                && FAMILY_PURPOSES.contains(&r.purpose.as_str())
            {
                plans.insert(r.plan_id.as_str());
            }
        }
        let today = day_of_ms(self.now_ms());
        plans
            .into_iter()
            .filter(|p| {
                self.plan_record_if_any(p)
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.home_organization == self.organization)
                    && self.get(&keys::given(p)).ok().flatten().is_none()
            })
            .map(|p| crate::store::Op::Put(keys::given(p), today.to_be_bytes().to_vec()))
            .collect()
    }
}
