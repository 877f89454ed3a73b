//! The indicator set a node signs and sends: tables of cells per quarter and level, already
//! suppressed, in a fixed order, with a schema version. Its JSON is the signed form.

use serde::{Deserialize, Serialize};

use crate::facts::{AgeBand, AuthorityKind, Category, CloseReason, Stage, is_slug};
use crate::quarter::Quarter;

/// The schema of the signed form; a receiver refuses any other.
pub const SCHEMA: &str = "kronobarn-indicators/1";

slug_enum! {
    /// The tables of a set, in the order they appear.
    pub enum TableId {
        /// Plans opened in the quarter, by the child's age band.
        Opened = "opened", "Nya planer";
        /// Plans open at the end of the quarter, by stage.
        OpenAtQuarterEnd = "open-at-quarter-end", "Pågående planer vid kvartalets slut";
        /// Plans closed in the quarter, by reason.
        Closed = "closed", "Avslutade planer";
        /// Days from the noticed need to consent, first meeting and agreed plan.
        Days = "days-from-need-noticed", "Dagar från uppmärksammat behov";
        /// Coordination meetings with the child's view recorded, with guardians present.
        Meetings = "meetings", "Samverkansmöten";
        /// Plans agreed in the quarter whose guardians were given the plan.
        PlanGiven = "plan-given", "Planen lämnad till vårdnadshavarna";
        /// Follow-ups due in the quarter, by outcome.
        FollowUps = "follow-ups", "Uppföljningar";
        /// Handovers of responsibility, by transition.
        Handovers = "handovers", "Byte av ansvarig verksamhet";
        /// Revocations recorded.
        Revocations = "revocations", "Återkallade samtycken";
        /// Plans whose consent gave a category to an authority of a kind.
        ConsentGrants = "consent-grants", "Samtycken som gavs";
    }
}

slug_enum! {
    /// A span of days measured from the day the need was noticed.
    pub enum Interval {
        /// To the first recorded consent.
        ToConsent = "to-consent", "till samtycke";
        /// To the first coordination meeting.
        ToFirstMeeting = "to-first-meeting", "till första samverkansmötet";
        /// To the agreed plan.
        ToAgreedPlan = "to-agreed-plan", "till överenskommen plan";
    }
}

slug_enum! {
    /// What is measured of coordination meetings.
    pub enum MeetingAspect {
        /// The child's own view is recorded.
        ChildViewRecorded = "child-view-recorded", "barnets egen syn antecknad";
        /// At least one guardian took part.
        GuardiansPresent = "guardians-present", "vårdnadshavare var med";
    }
}

slug_enum! {
    /// How a follow-up due in the quarter went, as of the day the set was computed.
    pub enum FollowUpStatus {
        /// Done on or before the day it was due.
        OnTime = "on-time", "i tid";
        /// Done after the day it was due.
        Late = "late", "försenad";
        /// Not done, and the day it was due has passed.
        Overdue = "overdue", "inte gjord";
    }
}

/// What a table's cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// [`Value::Count`].
    Count,
    /// [`Value::Days`].
    Days,
    /// [`Value::Share`].
    Share,
}

impl TableId {
    /// What the table's cells hold.
    pub fn value_kind(self) -> ValueKind {
        match self {
            TableId::Days => ValueKind::Days,
            TableId::Meetings | TableId::PlanGiven => ValueKind::Share,
            _ => ValueKind::Count,
        }
    }

    /// Whether the table's first breakdown is the total of the others (a published row total).
    pub fn has_total(self) -> bool {
        matches!(
            self,
            TableId::Opened | TableId::OpenAtQuarterEnd | TableId::Closed | TableId::FollowUps
        )
    }

    /// Every breakdown of the table, in order: the full grid, so that a missing cell never tells
    /// that a count is zero.
    pub fn breakdowns(self) -> Vec<Breakdown> {
        let total = self.has_total().then_some(Breakdown::Total);
        let responsible = || {
            AuthorityKind::ALL
                .iter()
                .copied()
                .filter(|k| k.can_be_responsible())
        };
        let rest: Vec<Breakdown> = match self {
            TableId::Opened => AgeBand::ALL
                .iter()
                .map(|&a| Breakdown::AgeBand(a))
                .collect(),
            TableId::OpenAtQuarterEnd => Stage::ALL
                .iter()
                .filter(|&&s| s != Stage::Closed)
                .map(|&s| Breakdown::Stage(s))
                .collect(),
            TableId::Closed => CloseReason::ALL
                .iter()
                .map(|&r| Breakdown::CloseReason(r))
                .collect(),
            TableId::Days => Interval::ALL
                .iter()
                .map(|&i| Breakdown::Interval(i))
                .collect(),
            TableId::Meetings => MeetingAspect::ALL
                .iter()
                .map(|&a| Breakdown::Aspect(a))
                .collect(),
            TableId::FollowUps => FollowUpStatus::ALL
                .iter()
                .map(|&s| Breakdown::FollowUp(s))
                .collect(),
            TableId::Handovers => responsible()
                .flat_map(|from| responsible().map(move |to| Breakdown::Handover { from, to }))
                .collect(),
            TableId::ConsentGrants => Category::ALL
                .iter()
                .flat_map(|&category| {
                    AuthorityKind::ALL
                        .iter()
                        .map(move |&to| Breakdown::Grant { category, to })
                })
                .collect(),
            TableId::PlanGiven | TableId::Revocations => vec![Breakdown::Total],
        };
        total.into_iter().chain(rest).collect()
    }
}

/// Whose figures a cell holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every plan of the set (the node's whole contribution to the county).
    All,
    /// The set's plans of children in one municipality.
    Municipality(String),
    /// One authority in one municipality.
    Authority {
        /// The municipality's slug.
        municipality: String,
        /// The authority's slug.
        id: String,
        /// Its kind.
        kind: AuthorityKind,
    },
}

impl Level {
    /// The level this one is summed into.
    pub fn parent(&self) -> Option<Level> {
        match self {
            Level::All => None,
            Level::Municipality(_) => Some(Level::All),
            Level::Authority { municipality, .. } => {
                Some(Level::Municipality(municipality.clone()))
            }
        }
    }
}

/// What a cell counts within its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// The whole table's figure (a row total where the table has other breakdowns).
    Total,
    /// By the child's age band at opening.
    AgeBand(AgeBand),
    /// By stage.
    Stage(Stage),
    /// By reason for closing.
    CloseReason(CloseReason),
    /// By span of days.
    Interval(Interval),
    /// By what is measured of meetings.
    Aspect(MeetingAspect),
    /// By outcome of follow-ups.
    FollowUp(FollowUpStatus),
    /// By transition of responsibility.
    Handover {
        /// Kind handing over.
        from: AuthorityKind,
        /// Kind taking over.
        to: AuthorityKind,
    },
    /// By category and kind of receiving authority.
    Grant {
        /// The category.
        category: Category,
        /// The receiving kind.
        to: AuthorityKind,
    },
}

/// A cell's published value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A count at or above the threshold.
    Count(u64),
    /// Withheld: fewer than the threshold, or withheld so another withheld cell cannot be worked
    /// out.
    Suppressed,
    /// Days, nearest-rank median and 90th percentile; `p90` is withheld when the base is under
    /// ten (it would be the single largest value).
    Days {
        /// Median days.
        median: u32,
        /// 90th percentile of days.
        p90: Option<u32>,
    },
    /// A share as its numerator and denominator.
    Share {
        /// How many had the property.
        numerator: u64,
        /// Out of how many.
        denominator: u64,
    },
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The quarter.
    pub quarter: Quarter,
    /// Whose figures.
    pub level: Level,
    /// What within the table.
    pub breakdown: Breakdown,
    /// The value.
    pub value: Value,
}

/// One table: every quarter × level × breakdown, in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Which table.
    pub id: TableId,
    /// Its cells.
    pub cells: Vec<Cell>,
}

/// A node's indicators for a run of quarters, suppressed and ready to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorSet {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Counts below this are withheld.
    pub threshold: u32,
    /// The quarter the set was computed in ("overdue" follow-ups are as of then).
    pub computed_in: Quarter,
    /// The first quarter reported.
    pub first: Quarter,
    /// The last quarter reported.
    pub last: Quarter,
    /// The tables, in [`TableId::ALL`] order.
    pub tables: Vec<Table>,
}

/// Why received bytes are not an indicator set this crate will use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// Not JSON of the expected shape (the parser's message is not kept: it may quote the input).
    #[error("not an indicator set (line {line}, column {column})")]
    Unreadable {
        /// Line of the first problem.
        line: usize,
        /// Column of the first problem.
        column: usize,
    },
    /// Another schema.
    #[error("schema is not {SCHEMA}")]
    Schema,
    /// The threshold is zero or the quarters are out of order.
    #[error("threshold or quarters out of range")]
    Header,
    /// A table is missing, out of order or not a full grid.
    #[error("table {0} is not complete and in order")]
    Shape(&'static str),
    /// A level names something that is not a slug.
    #[error("a level is not named by slugs")]
    NotASlug,
    /// A withheld cell could be worked out from the published ones: complementary suppression is
    /// missing.
    #[error("a withheld cell can be worked out from the published sums")]
    Recoverable,
    /// A published value breaks the disclosure rule or contradicts itself.
    #[error("table {0} publishes a value below the threshold or out of range")]
    Disclosure(&'static str),
}

impl IndicatorSet {
    /// The quarters reported, in order.
    pub fn quarters(&self) -> Vec<Quarter> {
        quarters(self.first, self.last)
    }

    /// The levels of the set, in order.
    pub fn levels(&self) -> Vec<Level> {
        let mut levels: Vec<Level> = self
            .tables
            .first()
            .map(|t| t.cells.iter().map(|c| c.level.clone()).collect())
            .unwrap_or_default();
        levels.sort();
        levels.dedup();
        levels
    }

    /// A table.
    pub fn table(&self, id: TableId) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }

    /// The value of one cell.
    pub fn value(
        &self,
        id: TableId,
        quarter: Quarter,
        level: &Level,
        breakdown: Breakdown,
    ) -> Option<Value> {
        self.table(id)?
            .cells
            .iter()
            .find(|c| c.quarter == quarter && &c.level == level && c.breakdown == breakdown)
            .map(|c| c.value)
    }

    /// The exact bytes to sign and send (JSON; the order of everything is fixed by the types).
    pub fn to_signed_form(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an indicator set has only string keys")
    }

    /// Reads a set from the bytes a node signed (after the signature was verified) and checks it
    /// ([`IndicatorSet::check`]), so a report never shows a set that breaks the rules.
    pub fn from_signed_form(bytes: &[u8]) -> Result<IndicatorSet, SetError> {
        let set: IndicatorSet =
            serde_json::from_slice(bytes).map_err(|e| SetError::Unreadable {
                line: e.line(),
                column: e.column(),
            })?;
        set.check()?;
        Ok(set)
    }

    /// Checks the shape, that no published value is below the threshold, and that no withheld
    /// cell can be worked out from the published ones.
    pub fn check(&self) -> Result<(), SetError> {
        if self.schema != SCHEMA {
            return Err(SetError::Schema);
        }
        let quarters = self.quarters();
        if self.threshold == 0 || quarters.is_empty() || quarters.len() > crate::MAX_QUARTERS {
            return Err(SetError::Header);
        }
        let levels = self.levels();
        for level in &levels {
            let ok = match level {
                Level::All => true,
                Level::Municipality(m) => is_slug(m),
                Level::Authority {
                    municipality, id, ..
                } => {
                    is_slug(municipality)
                        && is_slug(id)
                        && levels.contains(&Level::Municipality(municipality.clone()))
                }
            };
            if !ok {
                return Err(SetError::NotASlug);
            }
        }
        if levels.first() != Some(&Level::All) || self.tables.len() != TableId::ALL.len() {
            return Err(SetError::Shape("all"));
        }
        for (table, &id) in self.tables.iter().zip(TableId::ALL) {
            let breakdowns = id.breakdowns();
            let breakdowns = &breakdowns;
            let levels = &levels;
            let mut expected = quarters.iter().flat_map(|&q| {
                levels
                    .iter()
                    .flat_map(move |l| breakdowns.iter().map(move |&b| (q, l, b)))
            });
            let in_order = table.id == id
                && table.cells.iter().all(|c| {
                    expected.next() == Some((c.quarter, &c.level, c.breakdown))
                        && matches!(
                            (id.value_kind(), c.value),
                            (_, Value::Suppressed)
                                | (ValueKind::Count, Value::Count(_))
                                | (ValueKind::Days, Value::Days { .. })
                                | (ValueKind::Share, Value::Share { .. })
                        )
                })
                && expected.next().is_none();
            if !in_order {
                return Err(SetError::Shape(id.slug()));
            }
            let t = u64::from(self.threshold);
            let below = table.cells.iter().any(|c| match c.value {
                Value::Count(n) => n < t,
                Value::Share {
                    numerator,
                    denominator,
                } => denominator < t || numerator > denominator,
                Value::Days { median, p90 } => p90.is_some_and(|p| p < median),
                Value::Suppressed => false,
            });
            if below {
                return Err(SetError::Disclosure(id.slug()));
            }
        }
        // The rules applied again must change nothing (they do nothing to a set they made).
        if crate::suppress(self, self.threshold) != *self {
            return Err(SetError::Recoverable);
        }
        Ok(())
    }
}

/// The quarters from `first` to `last`, inclusive.
pub(crate) fn quarters(first: Quarter, last: Quarter) -> Vec<Quarter> {
    let mut out = Vec::new();
    let mut q = first;
    while q <= last && out.len() <= crate::MAX_QUARTERS {
        out.push(q);
        q = q.next();
    }
    out
}
