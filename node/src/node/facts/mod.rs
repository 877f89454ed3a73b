//! The county's indicators from this node's own records: [`PlanFacts`] for every plan the node is
//! home of (so each plan is counted once in the county), and the suppressed [`IndicatorSet`]
//! computed from them by `kronobarn-indicators`. Nothing personal enters the facts (see
//! [`build`]); the set is what the node signs and sends to the county's report readers.
//!
//! Cost: one ordered pass over the plan records and over each per-plan prefix (fragments,
//! consents, revocations, handovers, creation records), merged by plan id, in as many shards of
//! the plan id space as the machine has cores; wheel assessments are skipped undecoded. No
//! access log is read: the day a plan was handed to the family is kept in `given/{plan}`,
//! written with that export's access record. So it grows with the plans and what they hold,
//! never with the log.

mod build;
mod digest;
#[cfg(test)]
mod digest_tests;
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
use crate::store::Op;
use digest::{PlanDigest, Stored};

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
    /// The facts of every plan this node is home of, as of now. The plan id space is cut into
    /// shards read side by side, each in one ordered pass over every per-plan prefix.
    pub fn home_facts(&self, counting: &Counting) -> BackendResult<HomeFacts> {
        let shards = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8);
        self.home_facts_in(counting, shards)
    }

    /// [`Node::home_facts`] read in `shards` shards (1 to 16).
    pub(crate) fn home_facts_in(
        &self,
        counting: &Counting,
        shards: usize,
    ) -> BackendResult<HomeFacts> {
        let shards = shards.clamp(1, 16);
        let directory = self.directory();
        let today = day_of_ms(self.now_ms());
        let ctx = build::Context {
            organization: &self.organization,
            directory: &directory,
            counting,
            today,
        };
        let bounds: Vec<Option<String>> = (0..=shards)
            .map(|i| (i > 0 && i < shards).then(|| format!("{:x}", i * 16 / shards)))
            .collect();
        let results: Vec<BackendResult<(Vec<PlanFacts>, usize)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = bounds
                .windows(2)
                .map(|w| {
                    let (from, to) = (w[0].clone(), w[1].clone());
                    let ctx = &ctx;
                    scope.spawn(move || self.shard_facts(ctx, from.as_deref(), to.as_deref()))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(internal("a facts shard panicked")))
                })
                .collect()
        });
        let mut authorities: BTreeSet<AuthorityRef> = build::declared(&ctx);
        let mut plans = Vec::new();
        let mut left_out = 0;
        for r in results {
            let (facts, skipped) = r?;
            left_out += skipped;
            plans.extend(facts);
        }
        for f in &plans {
            authorities.insert(AuthorityRef {
                id: f.authority.clone(),
                kind: f.authority_kind,
                municipality: f.municipality.clone(),
            });
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

    /// The facts of the plans at home whose ids lie in `from..to` (hex prefixes; open ends),
    /// and how many had no header. Plans whose digest is current (its stamp is still the plan's
    /// log head) are not read again; the others are, and their digests kept.
    fn shard_facts(
        &self,
        ctx: &build::Context<'_>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> BackendResult<(Vec<PlanFacts>, usize)> {
        struct Home {
            id: String,
            created_at_ms: i64,
            stamp: Vec<u8>,
            digest: Option<PlanDigest>,
        }
        // The log heads are read before the plans' records: a write in between only makes a
        // digest look older than it is.
        let mut records = Cursor::new(self, keys::PLAN, from, to);
        let mut heads = Cursor::new(self, keys::LOG_HEADS, from, to);
        let mut digests = Cursor::new(self, keys::DIGESTS, from, to);
        let mut homes = Vec::new();
        let mut ops = Vec::new();
        while let Some((id, v)) = records.next()? {
            let record = PlanRecord::decode(v.as_slice()).map_err(internal)?;
            let stamp = heads.take(&id)?.into_iter().next().unwrap_or_default();
            let digest = digests.take(&id)?.into_iter().next();
            if record.home_organization != self.organization {
                if digest.is_some() {
                    // Handed over: counted at its new home now.
                    ops.push(Op::Delete(keys::digest(&id)));
                }
                continue;
            }
            let digest = digest
                .and_then(|b| PlanDigest::decode(b.as_slice()).ok())
                .filter(|d| d.stamp == stamp);
            homes.push(Home {
                id,
                created_at_ms: record.created_at_unix_ms,
                stamp,
                digest,
            });
        }
        // Digests of plans no longer here.
        ops.extend(
            digests
                .skipped
                .drain(..)
                .map(|id| Op::Delete(keys::digest(&id))),
        );

        let stale = homes.iter().filter(|h| h.digest.is_none()).count();
        if stale * 8 >= homes.len() && stale > 0 {
            // Many to read: one ordered pass over each prefix, merged by plan id.
            let [frag, consent, revocation, handed, creation, given] = keys::PER_PLAN;
            let mut passes = [frag, consent, revocation, handed, creation, given]
                .map(|p| Cursor::new(self, p, from, to));
            for h in homes.iter_mut().filter(|h| h.digest.is_none()) {
                let [f, c, r, hd, cr, g] = &mut passes;
                let parts = [f, c, r, hd, cr, g].map(|cursor| cursor.take(&h.id));
                let [f, c, r, hd, cr, g] = parts;
                let s = stored(h.created_at_ms, f?, c?, r?, hd?, cr?, g?)?;
                let d = digest::digest(&s, std::mem::take(&mut h.stamp));
                ops.push(Op::Put(keys::digest(&h.id), d.encode_to_vec()));
                h.digest = Some(d);
            }
        } else {
            // A few: each read by its own prefixes.
            for h in homes.iter_mut().filter(|h| h.digest.is_none()) {
                let all = |prefix: Vec<u8>| -> BackendResult<Vec<Vec<u8>>> {
                    Ok(self
                        .scan_all(&prefix)
                        .map_err(internal)?
                        .into_iter()
                        .map(|(_, v)| v)
                        .collect())
                };
                let one = |key: Vec<u8>| -> BackendResult<Vec<Vec<u8>>> {
                    Ok(self.get(&key).map_err(internal)?.into_iter().collect())
                };
                let s = stored(
                    h.created_at_ms,
                    all(keys::fragments(&h.id))?,
                    all(keys::consents(&h.id))?,
                    all(keys::revocations(&h.id))?,
                    all(keys::handeds(&h.id))?,
                    one(keys::creation(&h.id))?,
                    one(keys::given(&h.id))?,
                )?;
                let d = digest::digest(&s, std::mem::take(&mut h.stamp));
                ops.push(Op::Put(keys::digest(&h.id), d.encode_to_vec()));
                h.digest = Some(d);
            }
        }
        for chunk in ops.chunks(1000) {
            self.apply(chunk.to_vec()).map_err(internal)?;
        }
        let mut out = Vec::new();
        let mut no_header = 0;
        for h in &homes {
            match h.digest.as_ref().and_then(|d| build::facts(ctx, d)) {
                Some(f) => out.push(f),
                None => no_header += 1,
            }
        }
        Ok((out, no_header))
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

/// The decoded records of a plan, from the stored values of its fragments, consents,
/// revocations, handovers, creation record and the day it was handed to the family.
fn stored(
    created_at_ms: i64,
    fragments: Vec<Vec<u8>>,
    consents: Vec<Vec<u8>>,
    revocations: Vec<Vec<u8>>,
    handovers: Vec<Vec<u8>>,
    creation: Vec<Vec<u8>>,
    given: Vec<Vec<u8>>,
) -> BackendResult<Stored> {
    let mut s = Stored {
        created_at_ms,
        ..Default::default()
    };
    if let Some(b) = creation.first() {
        s.created_at_ms = decode_env::<PlanCreation>(b)?.0.created_at_unix_ms;
    }
    for v in fragments {
        s.fragments.extend(lite_fragment(&v)?);
    }
    for v in consents {
        s.consents.push(decode_env::<Consent>(&v)?.0);
    }
    for v in revocations {
        s.revocations.push(decode_env::<Revocation>(&v)?.0);
    }
    for v in handovers {
        s.handovers.push(decode_env::<HandoverAcceptance>(&v)?.0);
    }
    s.given = given
        .first()
        .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
        .map(i32::from_be_bytes);
    Ok(s)
}

/// One ordered pass over the records under `prefix` whose plan ids lie in a shard, a page at a
/// time, handing out each plan's records in turn.
struct Cursor<'n> {
    node: &'n Node,
    prefix: &'static [u8],
    after: Option<Vec<u8>>,
    page: std::collections::VecDeque<(Vec<u8>, Vec<u8>)>,
    end: Option<&'n str>,
    done: bool,
    /// Plan ids of the records passed over without being taken.
    skipped: Vec<String>,
}

impl<'n> Cursor<'n> {
    const PAGE: usize = 1024;

    fn new(
        node: &'n Node,
        prefix: &'static [u8],
        from: Option<&str>,
        end: Option<&'n str>,
    ) -> Self {
        Cursor {
            node,
            prefix,
            // Scans start after this key: `{prefix}{from}` sorts before every id starting so.
            after: from.map(|f| [prefix, f.as_bytes()].concat()),
            page: Default::default(),
            end,
            done: false,
            skipped: Vec::new(),
        }
    }

    /// The plan id of the next record, loading a page when needed; `None` at the shard's end.
    fn peek(&mut self) -> BackendResult<Option<&str>> {
        if self.page.is_empty() && !self.done {
            let page = self
                .node
                .scan(self.prefix, self.after.as_deref(), Self::PAGE)
                .map_err(internal)?;
            self.done = page.len() < Self::PAGE;
            self.after = page.last().map(|(k, _)| k.clone()).or(self.after.take());
            self.page.extend(page);
        }
        let prefix = self.prefix;
        let past_end = match self.page.front() {
            None => return Ok(None),
            Some((k, _)) => self
                .end
                .is_some_and(|e| keys::plan_in(prefix, k).unwrap_or_default() >= e),
        };
        if past_end {
            self.page.clear();
            self.done = true;
            return Ok(None);
        }
        Ok(self
            .page
            .front()
            .map(|(k, _)| keys::plan_in(prefix, k).unwrap_or_default()))
    }

    /// The next plan's record and its id.
    fn next(&mut self) -> BackendResult<Option<(String, Vec<u8>)>> {
        let Some(id) = self.peek()?.map(str::to_string) else {
            return Ok(None);
        };
        Ok(self.page.pop_front().map(|(_, v)| (id, v)))
    }

    /// Every record of `plan_id`, skipping those of plans before it.
    fn take(&mut self, plan_id: &str) -> BackendResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(id) = self.peek()? {
            match id.cmp(plan_id) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    if let Some((_, v)) = self.page.pop_front() {
                        out.push(v);
                    }
                    continue;
                }
                std::cmp::Ordering::Greater => break,
            }
            let id = id.to_string();
            if self.skipped.last() != Some(&id) {
                self.skipped.push(id);
            }
            self.page.pop_front();
        }
        Ok(out)
    }
}

/// The parts of a fragment the facts read: its id and body, without the wheel assessments'
/// texts (the field is skipped undecoded) or who wrote it.
#[derive(Clone, PartialEq, prost::Message)]
struct LiteFragment {
    #[prost(string, tag = "2")]
    fragment_id: String,
    #[prost(message, optional, tag = "10")]
    header: Option<kronobarn_proto::v1::PlanHeader>,
    #[prost(message, optional, tag = "11")]
    participant: Option<kronobarn_proto::v1::Participant>,
    #[prost(message, optional, tag = "13")]
    intervention: Option<kronobarn_proto::v1::Intervention>,
    #[prost(message, optional, tag = "14")]
    meeting: Option<kronobarn_proto::v1::CoordinationMeeting>,
    #[prost(message, optional, tag = "15")]
    follow_up: Option<kronobarn_proto::v1::FollowUpRecord>,
    #[prost(message, optional, tag = "16")]
    status: Option<kronobarn_proto::v1::PlanStatus>,
}

/// A stored fragment envelope as the facts need it; `None` for kinds they do not read.
fn lite_fragment(envelope: &[u8]) -> BackendResult<Option<Fragment>> {
    use kronobarn_proto::v1::fragment::Body;
    let env = kronobarn_proto::v1::SignedEnvelope::decode(envelope).map_err(internal)?;
    let f = LiteFragment::decode(env.payload.as_slice()).map_err(internal)?;
    let body = f
        .status
        .map(Body::Status)
        .or(f.meeting.map(Body::Meeting))
        .or(f.follow_up.map(Body::FollowUp))
        .or(f.intervention.map(Body::Intervention))
        .or(f.participant.map(Body::Participant))
        .or(f.header.map(Body::Header));
    Ok(body.map(|b| Fragment {
        fragment_id: f.fragment_id,
        body: Some(b),
        ..Default::default()
    }))
}
