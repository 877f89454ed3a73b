//! From plan facts to the figure of every cell (the draft, which never leaves this crate), then
//! through [`crate::suppress`] to the set a node may sign.

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::{
    AgeBand, AuthorityKind, AuthorityRef, Category, CloseReason, FactsError, PlanFacts, Stage,
    is_slug,
};
use crate::quarter::{Day, Quarter};
use crate::set::{
    Breakdown, Cell, FollowUpStatus, IndicatorSet, Interval, Level, MeetingAspect, SCHEMA, Table,
    TableId, Value, quarters,
};
use crate::suppress::{self, CellInfo};

/// The threshold used unless the steering group decides otherwise: counts below 5 are withheld.
pub const DEFAULT_THRESHOLD: u32 = 5;

/// What to compute: for which authorities, which quarters, as of which day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// The authorities the node reports for (each in each municipality it serves).
    pub authorities: Vec<AuthorityRef>,
    /// The first quarter.
    pub first: Quarter,
    /// The last quarter; it must have ended before `today`.
    pub last: Quarter,
    /// Today, for "overdue"; never written to the output.
    pub today: Day,
    /// Counts below this are withheld.
    pub threshold: u32,
}

impl Params {
    /// Parameters with the default threshold.
    pub fn new(authorities: Vec<AuthorityRef>, first: Quarter, last: Quarter, today: Day) -> Self {
        Params {
            authorities,
            first,
            last,
            today,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// Why no set could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A plan's facts are inconsistent.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// No authorities were declared.
    #[error("no authorities declared")]
    NoAuthorities,
    /// A declared authority is not named by slugs.
    #[error("declared authority at position {0} is not named by slugs")]
    AuthorityNotASlug(usize),
    /// A declared authority repeats one before it, or gives an authority a second kind.
    #[error("declared authority at position {0} repeats one or changes its kind")]
    AuthorityRepeated(usize),
    /// The threshold is zero.
    #[error("the threshold must be at least 1")]
    Threshold,
    /// The period is empty or too long.
    #[error("the period is empty or longer than {} quarters", crate::MAX_QUARTERS)]
    Period,
    /// The last quarter has not ended: figures for a running quarter would change from one report
    /// to the next, and the difference could single out a child.
    #[error("quarter {0} has not ended")]
    QuarterNotEnded(Quarter),
}

/// Computes a node's indicator set from the facts of the plans its authorities are responsible
/// for, with small counts suppressed.
pub fn compute(facts: &[PlanFacts], params: &Params) -> Result<IndicatorSet, Error> {
    let mut draft = draft(facts, params)?;
    suppress::apply(
        &mut draft.tables,
        Some(&draft.info),
        params.threshold,
        params.first,
    );
    Ok(IndicatorSet {
        schema: SCHEMA.to_string(),
        threshold: params.threshold,
        computed_in: Quarter::of(params.today),
        first: params.first,
        last: params.last,
        tables: draft.tables,
    })
}

/// Every cell's figure before suppression, and what suppression needs to know besides it.
pub(crate) struct Draft {
    pub tables: Vec<Table>,
    pub info: Vec<Vec<CellInfo>>,
}

pub(crate) fn draft(facts: &[PlanFacts], params: &Params) -> Result<Draft, Error> {
    check_params(params)?;
    for (i, f) in facts.iter().enumerate() {
        f.check(i, params.today, &params.authorities)?;
    }
    let levels = levels(&params.authorities);
    let quarters = quarters(params.first, params.last);
    let tallies: Vec<Vec<Tally>> = quarters
        .iter()
        .map(|&q| {
            levels
                .iter()
                .map(|l| Tally::of(facts.iter().filter(|f| under(f, l)), q))
                .collect()
        })
        .collect();
    let mut tables = Vec::new();
    let mut info = Vec::new();
    for &id in TableId::ALL {
        let breakdowns = id.breakdowns();
        let mut cells = Vec::new();
        let mut infos = Vec::new();
        for (qi, &quarter) in quarters.iter().enumerate() {
            for (li, level) in levels.iter().enumerate() {
                for &breakdown in &breakdowns {
                    let (value, i) = tallies[qi][li].cell(id, breakdown, params.threshold);
                    cells.push(Cell {
                        quarter,
                        level: level.clone(),
                        breakdown,
                        value,
                    });
                    infos.push(i);
                }
            }
        }
        tables.push(Table { id, cells });
        info.push(infos);
    }
    Ok(Draft { tables, info })
}

fn check_params(p: &Params) -> Result<(), Error> {
    if p.threshold == 0 {
        return Err(Error::Threshold);
    }
    let n = quarters(p.first, p.last).len();
    if n == 0 || n > crate::MAX_QUARTERS {
        return Err(Error::Period);
    }
    if p.last.last_day() >= p.today {
        return Err(Error::QuarterNotEnded(p.last));
    }
    if p.authorities.is_empty() {
        return Err(Error::NoAuthorities);
    }
    for (i, a) in p.authorities.iter().enumerate() {
        if !is_slug(&a.id) || !is_slug(&a.municipality) {
            return Err(Error::AuthorityNotASlug(i));
        }
        let clash = p.authorities[..i]
            .iter()
            .any(|b| b.id == a.id && (b.municipality == a.municipality || b.kind != a.kind));
        if clash {
            return Err(Error::AuthorityRepeated(i));
        }
    }
    Ok(())
}

/// The levels of a set, in order: all, each municipality, each authority in its municipality.
fn levels(authorities: &[AuthorityRef]) -> Vec<Level> {
    let mut levels = BTreeSet::from([Level::All]);
    for a in authorities {
        levels.insert(Level::Municipality(a.municipality.clone()));
        levels.insert(Level::Authority {
            municipality: a.municipality.clone(),
            id: a.id.clone(),
            kind: a.kind,
        });
    }
    levels.into_iter().collect()
}

fn under(f: &PlanFacts, level: &Level) -> bool {
    match level {
        Level::All => true,
        Level::Municipality(m) => &f.municipality == m,
        Level::Authority {
            municipality, id, ..
        } => &f.municipality == municipality && &f.authority == id,
    }
}

fn index<T: PartialEq + Copy>(all: &[T], v: T) -> usize {
    all.iter().position(|&x| x == v).unwrap_or(0)
}

/// The nearest-rank percentile `p` of sorted values: the value at rank ⌈p·n/100⌉ (1-based).
pub(crate) fn nearest_rank(sorted: &[u32], p: usize) -> u32 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Everything counted for one level in one quarter.
#[derive(Default)]
struct Tally {
    opened: [u64; 6],
    open: [u64; 7],
    closed: [u64; 5],
    days: [Vec<u32>; 3],
    meetings: u64,
    child_view: u64,
    guardians: u64,
    meeting_plans: u64,
    agreed: u64,
    given: u64,
    follow_ups: [u64; 3],
    follow_up_plans: [u64; 3],
    follow_up_plans_any: u64,
    /// Handovers and the plans they belong to, by transition.
    handovers: BTreeMap<(AuthorityKind, AuthorityKind), (u64, u64)>,
    revocations: u64,
    revocation_plans: u64,
    /// Plans, by category and receiving kind.
    grants: BTreeMap<(Category, AuthorityKind), u64>,
}

impl Tally {
    fn of<'a>(plans: impl Iterator<Item = &'a PlanFacts>, q: Quarter) -> Tally {
        let mut t = Tally::default();
        let end = q.last_day();
        for p in plans {
            if q.contains(p.need_noticed) {
                t.opened[index(AgeBand::ALL, p.age_band)] += 1;
            }
            if p.open_on(end) {
                let stage = p.stage_on(end);
                if stage != Stage::Closed {
                    t.open[index(Stage::ALL, stage)] += 1;
                }
            }
            if let Some(c) = p.closed.filter(|c| q.contains(c.day)) {
                t.closed[index(CloseReason::ALL, c.reason)] += 1;
            }
            for (i, day) in [p.consent, p.first_meeting(), p.agreed]
                .into_iter()
                .enumerate()
            {
                if let Some(day) = day.filter(|&d| q.contains(d)) {
                    t.days[i].push(day.abs_diff(p.need_noticed));
                }
            }
            let meetings: Vec<_> = p.meetings.iter().filter(|m| q.contains(m.day)).collect();
            t.meetings += meetings.len() as u64;
            t.child_view += meetings.iter().filter(|m| m.child_view_recorded).count() as u64;
            t.guardians += meetings.iter().filter(|m| m.guardians_present).count() as u64;
            t.meeting_plans += u64::from(!meetings.is_empty());
            if p.agreed.is_some_and(|d| q.contains(d)) {
                t.agreed += 1;
                t.given += u64::from(p.plan_given.is_some_and(|d| d <= end));
            }
            let mut statuses = [false; 3];
            for f in &p.follow_ups {
                if !q.contains(f.due) || p.closed.is_some_and(|c| f.due > c.day) {
                    continue;
                }
                let status = match f.done {
                    Some(done) if done <= f.due => FollowUpStatus::OnTime,
                    Some(_) => FollowUpStatus::Late,
                    None => FollowUpStatus::Overdue,
                };
                let i = index(FollowUpStatus::ALL, status);
                t.follow_ups[i] += 1;
                statuses[i] = true;
            }
            for (i, seen) in statuses.iter().enumerate() {
                t.follow_up_plans[i] += u64::from(*seen);
            }
            t.follow_up_plans_any += u64::from(statuses.contains(&true));
            let mut transitions = BTreeSet::new();
            for h in p.handovers.iter().filter(|h| q.contains(h.day)) {
                t.handovers.entry((h.from, h.to)).or_default().0 += 1;
                transitions.insert((h.from, h.to));
            }
            for tr in transitions {
                t.handovers.entry(tr).or_default().1 += 1;
            }
            let revocations = p.revocations.iter().filter(|&&d| q.contains(d)).count() as u64;
            t.revocations += revocations;
            t.revocation_plans += u64::from(revocations > 0);
            let grants: BTreeSet<_> = p
                .grants
                .iter()
                .filter(|g| q.contains(g.day))
                .map(|g| (g.category, g.to))
                .collect();
            for g in grants {
                *t.grants.entry(g).or_default() += 1;
            }
        }
        for d in &mut t.days {
            d.sort_unstable();
        }
        t
    }

    /// The raw value of one cell and what suppression must know about it.
    fn cell(&self, table: TableId, b: Breakdown, threshold: u32) -> (Value, CellInfo) {
        let plans = |n: u64| (Value::Count(n), CellInfo::new(n, n));
        let events = |n: u64, plans: u64| (Value::Count(n), CellInfo::new(plans, n));
        let share = |numerator: u64, denominator: u64, plans: u64| {
            (
                Value::Share {
                    numerator,
                    denominator,
                },
                CellInfo::new(plans, denominator),
            )
        };
        match (table, b) {
            (TableId::Opened, Breakdown::Total) => plans(self.opened.iter().sum()),
            (TableId::Opened, Breakdown::AgeBand(a)) => plans(self.opened[index(AgeBand::ALL, a)]),
            (TableId::OpenAtQuarterEnd, Breakdown::Total) => plans(self.open.iter().sum()),
            (TableId::OpenAtQuarterEnd, Breakdown::Stage(s)) => {
                plans(self.open[index(Stage::ALL, s)])
            }
            (TableId::Closed, Breakdown::Total) => plans(self.closed.iter().sum()),
            (TableId::Closed, Breakdown::CloseReason(r)) => {
                plans(self.closed[index(CloseReason::ALL, r)])
            }
            (TableId::Days, Breakdown::Interval(i)) => {
                let days = &self.days[index(Interval::ALL, i)];
                let n = days.len() as u64;
                if days.is_empty() {
                    return (Value::Suppressed, CellInfo::new(0, 0));
                }
                let p90 = (n >= u64::from(threshold.max(10))).then(|| nearest_rank(days, 90));
                let median = nearest_rank(days, 50);
                (Value::Days { median, p90 }, CellInfo::new(n, n))
            }
            (TableId::Meetings, Breakdown::Aspect(MeetingAspect::ChildViewRecorded)) => {
                share(self.child_view, self.meetings, self.meeting_plans)
            }
            (TableId::Meetings, Breakdown::Aspect(MeetingAspect::GuardiansPresent)) => {
                share(self.guardians, self.meetings, self.meeting_plans)
            }
            (TableId::PlanGiven, _) => share(self.given, self.agreed, self.agreed),
            (TableId::FollowUps, Breakdown::Total) => {
                events(self.follow_ups.iter().sum(), self.follow_up_plans_any)
            }
            (TableId::FollowUps, Breakdown::FollowUp(s)) => {
                let i = index(FollowUpStatus::ALL, s);
                events(self.follow_ups[i], self.follow_up_plans[i])
            }
            (TableId::Handovers, Breakdown::Handover { from, to }) => {
                let (n, p) = self.handovers.get(&(from, to)).copied().unwrap_or_default();
                events(n, p)
            }
            (TableId::Revocations, _) => events(self.revocations, self.revocation_plans),
            (TableId::ConsentGrants, Breakdown::Grant { category, to }) => plans(
                self.grants
                    .get(&(category, to))
                    .copied()
                    .unwrap_or_default(),
            ),
            _ => (Value::Suppressed, CellInfo::new(0, 0)),
        }
    }
}
