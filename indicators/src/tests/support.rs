//! Small hand-made inputs: a few authorities in two municipalities, plans built field by field.

use crate::compute::{Draft, draft};
use crate::facts::{AgeBand, AuthorityKind, AuthorityRef, PlanFacts};
use crate::quarter::{Day, Quarter, day_of};
use crate::set::{Breakdown, Level, TableId, Value};
use crate::{Params, suppress::CellInfo};

/// The day number of a date.
pub fn d(y: i32, m: u32, day: u32) -> Day {
    day_of(y, m, day).unwrap()
}

pub fn q(y: i32, n: u8) -> Quarter {
    Quarter::new(y, n).unwrap()
}

/// A school and social services in Växjö, child psychiatry in Växjö and Ljungby.
pub fn authorities() -> Vec<AuthorityRef> {
    let a = |id: &str, kind, m: &str| AuthorityRef {
        id: id.into(),
        kind,
        municipality: m.into(),
    };
    vec![
        a("vaxjo-skola", AuthorityKind::School, "vaxjo"),
        a("vaxjo-soc", AuthorityKind::SocialServices, "vaxjo"),
        a("bup", AuthorityKind::ChildPsychiatry, "vaxjo"),
        a("bup", AuthorityKind::ChildPsychiatry, "ljungby"),
    ]
}

/// The level of one declared authority.
pub fn level(a: &AuthorityRef) -> Level {
    Level::Authority {
        municipality: a.municipality.clone(),
        id: a.id.clone(),
        kind: a.kind,
    }
}

pub fn school() -> Level {
    level(&authorities()[0])
}

pub fn vaxjo() -> Level {
    Level::Municipality("vaxjo".into())
}

/// A plan at the school in Växjö, noticed on `noticed`, with nothing else recorded.
pub fn plan(noticed: Day) -> PlanFacts {
    plan_at(&authorities()[0], noticed)
}

pub fn plan_at(a: &AuthorityRef, noticed: Day) -> PlanFacts {
    PlanFacts {
        authority: a.id.clone(),
        authority_kind: a.kind,
        municipality: a.municipality.clone(),
        age_band: AgeBand::Age6To12,
        need_noticed: noticed,
        consent: None,
        agreed: None,
        stage_changes: vec![],
        closed: None,
        meetings: vec![],
        plan_given: None,
        follow_ups: vec![],
        handovers: vec![],
        revocations: vec![],
        grants: vec![],
    }
}

/// 2026 Q1 and Q2, as of 15 July 2026.
pub fn params() -> Params {
    Params::new(authorities(), q(2026, 1), q(2026, 2), d(2026, 7, 15))
}

/// The unsuppressed figures.
pub fn raw(facts: &[PlanFacts]) -> Draft {
    draft(facts, &params()).unwrap()
}

/// One raw cell's value and info.
pub fn cell(
    draft: &Draft,
    table: TableId,
    quarter: Quarter,
    level: &Level,
    b: Breakdown,
) -> (Value, CellInfo) {
    let ti = TableId::ALL.iter().position(|&t| t == table).unwrap();
    let ci = draft.tables[ti]
        .cells
        .iter()
        .position(|c| c.quarter == quarter && &c.level == level && c.breakdown == b)
        .unwrap();
    (draft.tables[ti].cells[ci].value, draft.info[ti][ci])
}

/// One raw count.
pub fn count(draft: &Draft, table: TableId, quarter: Quarter, level: &Level, b: Breakdown) -> u64 {
    match cell(draft, table, quarter, level, b).0 {
        Value::Count(n) => n,
        v => panic!("not a count: {v:?}"),
    }
}
