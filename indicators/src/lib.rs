//! County indicators for following up "Barnens bästa gäller": each node counts its own plans per
//! authority, municipality and quarter, withholds small counts, and signs the result; the county
//! report is put together from those signed sets, with no central database and no personal data.
//!
//! Pure functions: no I/O, no clock (today is an argument), no storage, no network.
//!
//! # What goes in
//! [`PlanFacts`]: one plan as its responsible authority's node sees it, already stripped of
//! everything personal — slugs for the authority and municipality, enums (kind of authority, age
//! band, stage, reason for closing, consent category), day numbers and flags. There is no field for
//! a name, an identity number, a plan id or free text, so none can reach the output.
//!
//! A node builds facts only for the plans one of its authorities is responsible for (the consent
//! home), so each plan is counted once in the county and the nodes' sets can be put side by side.
//! A plan handed over to another organisation's node is counted there from then on, history
//! included. The node declares its authorities up front ([`Params::authorities`]): which
//! authorities appear in a set never depends on whether they have plans. An authority serving
//! several municipalities (a care unit of the region) is declared once per municipality.
//!
//! # What comes out
//! An [`IndicatorSet`]: ten tables ([`TableId`]), each the full grid of quarter × level ×
//! breakdown in a fixed order, each cell a [`Value`]: `Count(n)`, `Suppressed`,
//! `Days { median, p90 }` or `Share { numerator, denominator }`. Levels are the whole set (`All`),
//! each municipality, and each authority in its municipality. Its JSON
//! ([`IndicatorSet::to_signed_form`]) is what the node signs; quarters are written `2026-Q4`.
//!
//! # The indicators
//! A plan is *opened* the day its need was noticed; events count in the quarter they happened.
//! - **opened**: plans opened in the quarter, in total and by the child's age band at opening;
//! - **open at quarter end**: plans open at the end of the quarter, by the stage they were in
//!   then (from the plan's stage changes);
//! - **closed**: plans closed in the quarter, by reason;
//! - **days from need noticed** to the first recorded consent, to the first coordination meeting,
//!   and to the agreed plan: for the plans that reached that step in the quarter, the median and
//!   the 90th percentile of the days;
//! - **meetings**: coordination meetings held in the quarter, the share with the child's own view
//!   recorded and the share with a guardian present;
//! - **plan given**: of the plans agreed in the quarter, the share whose guardians (or the young
//!   person deciding for themselves) had been given the plan document by the end of the quarter —
//!   the proxy for "guardians know their child's plan";
//! - **follow-ups** due in the quarter: done on time (on or before the day), done late, or not done
//!   although the day has passed (as of `today`); follow-ups due after the plan closed are not
//!   counted;
//! - **handovers** of responsibility in the quarter, by transition between kinds of authority;
//! - **revocations** recorded in the quarter;
//! - **consent grants**: plans whose consent recorded in the quarter gave a category to an
//!   authority of a kind (a plan counts once per category and kind).
//!
//! **Percentiles** are nearest-rank: with the `n` values sorted ascending, the `p`th percentile is
//! the value at rank ⌈p·n/100⌉ (1-based). The median is the 50th percentile, so for an even `n` it
//! is the lower of the two middle values; it is always a value that occurred.
//!
//! # Disclosure control
//! 1. **Nothing personal, no exact dates.** The output holds only slugs of the declared
//!    authorities and municipalities, enum slugs, quarters, counts and aggregate day statistics.
//!    Slugs are checked ([`is_slug`]): lowercase letters, digits and `-`, no run of six digits.
//! 2. **Small counts are withheld.** A count below the threshold (default 5,
//!    [`DEFAULT_THRESHOLD`]) is published as `Suppressed`, "färre än 5" — zero included, so a
//!    withheld cell never tells whether anything happened. (The price: a zero is protected like
//!    any small count, so a quarter without closings withholds its opened or its open count too.)
//!    A share or a days statistic whose base
//!    (denominator, number of plans) is below the threshold is withheld too. So is any cell behind
//!    which fewer distinct plans stand than the threshold: six follow-ups of two children are
//!    withheld.
//! 3. **The 90th percentile needs ten values**; below that it would be the single slowest plan.
//! 4. **Complementary suppression.** Where a total is published and exactly one cell summed into
//!    it is withheld, the smallest other cell is withheld too, repeated until stable; a total
//!    below the threshold is withheld itself. The sums an outsider knows are: the breakdowns of a
//!    table into its total; authorities into their municipality and municipalities into the set's
//!    total, for every cell; and open plans from one quarter to the next (open before + opened −
//!    closed = open after), with the figure before the first quarter taken as known from
//!    elsewhere. The one-withheld rule is not enough where sums cross (a table with row totals
//!    *and* a municipality level), so an exact audit follows: linear algebra over all those sums
//!    finds any withheld number they pin down, and one more cell is withheld, until none is.
//! 5. **Only ended quarters.** A running quarter's figures change from one report to the next and
//!    the difference could single out a child; [`compute`] refuses a quarter that has not ended.
//!
//! # What is protected, and what is not
//! Protected: reading a withheld count exactly from one set by any combination of its published
//! sums (rows, levels, quarters); recovering a small count by comparing an authority with its
//! municipality; telling a zero from a small count by a missing cell (every grid is complete).
//! A receiver re-runs the rules ([`IndicatorSet::check`]) and refuses a set they would change. The
//! county report sums only published cells, so it reveals nothing the sets do not; the nodes'
//! plans are disjoint, so no sum in the report crosses a withheld cell of two sets.
//!
//! Not protected:
//! - **bounds**: counts are never negative, so withheld cells in a sum whose withheld part is zero
//!   are all zero, and a withheld part of 1 says one of them is 1. We accept that a zero can be
//!   told: it says no child;
//! - **two reports of the same quarter computed from different facts** (facts entered late, a
//!   plan handed over to another node, or "overdue" follow-ups done since): their difference can
//!   be small. Publish one set per quarter, or raise the threshold for re-runs;
//! - **different thresholds or periods** between reports: each set is safe on its own terms;
//! - **medians and percentiles** are not sums, so no complementary suppression applies to them: a
//!   published municipality median beside a withheld authority says something, never a value
//!   exactly;
//! - **what a reader knows from outside** (a small municipality where everyone knows the one
//!   family with a plan): aggregation cannot help there; a higher threshold can.
//!
//! # The county report
//! [`report_html`] and [`tables_csv`] are pure functions over received sets (read with
//! [`IndicatorSet::from_signed_form`], which refuses a set that breaks the rules above). Nodes
//! that did not answer are named, never left out.

#![forbid(unsafe_code)]

/// An enum with stable slugs (its serde form) and Swedish labels for the report.
macro_rules! slug_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $slug:literal, $sv:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $slug)] $variant, )*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable slug.
            pub fn slug(self) -> &'static str {
                match self { $($name::$variant => $slug),* }
            }

            /// The value in plain Swedish words.
            pub fn label_sv(self) -> &'static str {
                match self { $($name::$variant => $sv),* }
            }

            /// The value with this slug.
            pub fn from_slug(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.slug() == s)
            }
        }
    };
}

mod compute;
mod csv;
mod facts;
mod linalg;
mod quarter;
mod report;
mod set;
mod suppress;
mod svg;

pub use compute::{DEFAULT_THRESHOLD, Error, Params, compute};
pub use csv::tables_csv;
pub use facts::{
    AgeBand, AuthorityKind, AuthorityRef, Category, CloseReason, Closure, FactsError, FollowUp,
    GrantGiven, Handover, Meeting, PlanFacts, Problem, Stage, StageChange, is_slug,
};
pub use quarter::{Day, NotAQuarter, Quarter, civil, day_of};
pub use report::{Lang, Missing, report_html};
pub use set::{
    Breakdown, Cell, FollowUpStatus, IndicatorSet, Interval, Level, MeetingAspect, SCHEMA,
    SetError, Table, TableId, Value, ValueKind,
};
pub use suppress::suppress;

#[cfg(test)]
mod tests;

/// The longest period a set may cover: ten years of quarters.
pub const MAX_QUARTERS: usize = 40;
