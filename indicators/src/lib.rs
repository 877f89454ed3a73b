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
//! included. The node declares its authorities up front: which authorities appear in a set never
//! depends on whether they have plans. An authority serving
//! several municipalities (a care unit of the region) is declared once per municipality.
//!
//! # What comes out
//! An [`IndicatorSet`]: ten tables ([`TableId`]), each the full grid of quarter × level ×
//! breakdown in a fixed order, each cell a [`Value`]: `Count(n)`, `Suppressed`,
//! `Days { median, p90 }` or `Share { numerator, denominator }`. Levels are the whole set (`All`),
//! each municipality, and each authority in its municipality. Its JSON
//! ([`IndicatorSet::to_signed_form`]) is what the node signs; quarters are written `2026-Q4`.

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

mod facts;
mod quarter;
mod set;

pub use facts::{
    AgeBand, AuthorityKind, AuthorityRef, Category, CloseReason, Closure, FactsError, FollowUp,
    GrantGiven, Handover, Meeting, PlanFacts, Problem, Stage, StageChange, is_slug,
};
pub use quarter::{Day, NotAQuarter, Quarter, civil, day_of};
pub use set::{
    Breakdown, Cell, FollowUpStatus, IndicatorSet, Interval, Level, MeetingAspect, SCHEMA,
    SetError, Table, TableId, Value, ValueKind,
};

/// The longest period a set may cover: ten years of quarters.
pub const MAX_QUARTERS: usize = 40;
