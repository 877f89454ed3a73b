//! Consent and need-to-know decisions for Kronobarn, as pure functions.
//!
//! Input: what a node knows about a plan (its participants, the guardians with custody, the child's
//! birth, the current consent and the revocations), the county's [`Directory`] of authorities and
//! units, who asks, and which fragment. Output: [`Decision::Permit`] or [`Decision::Deny`] with a
//! reason that goes into the access log. No I/O and no clock: the caller passes the time, so every
//! rule is tested exhaustively here.
//!
//! **Secrecy runs between authorities, not organisations** (OSL ch. 8): a municipality's school
//! and social services, or the region's BVC, BUP and maternity care, are as far apart as two
//! municipalities. A unit belongs to one authority (by the directory); a fragment is homed at the
//! authority of the unit that wrote it; a grant names an authority, or a single unit.
//!
//! Rules, in the order they are applied to a read:
//! 1. need to know: the user's unit must take part in the plan;
//! 2. the directory must place the unit under an authority (a unit it does not know reads nothing);
//! 3. a unit always reads the fragments homed at its own authority — and only those: another
//!    authority of the same organisation is no closer than one of another organisation;
//! 4. deny by default: without a current consent nothing else is shared;
//! 5. expired consent denies;
//! 6. everyone who must consent has ([`consenters`]: the guardians with custody before 18, the
//!    young person from 15 where the configuration says so for the kind of authority holding the
//!    information, the young person alone from 18), both on the day the consent was recorded and
//!    today;
//! 7. the consent must grant the fragment's category to the reader's authority, or to the
//!    reader's unit;
//! 8. a revocation covering the reader's authority (named directly, or through its organisation:
//!    an organisation-wide revocation covers every authority of it) and the category denies until
//!    a later consent names it as superseded (revocations are sticky); a guardian's withdrawal
//!    recorded after the young person turned 18 does not count, any other does;
//! 9. a copy received from another organisation is shown only under an unexpired lease from the
//!    consent home for the current consent version (so a node cut off from the consent home stops
//!    showing copies when its lease runs out; the consent home itself needs no lease).
//!
//! An organisation *holds* a copy ([`decide_share`]) of its own records always, and of another's
//! when at least one of its authorities, or a unit named in a grant, may receive it, or when a
//! grant names the organisation itself (holding is not reading: which of its authorities may read
//! the copy is decided per read, by the legacy rule below).
//!
//! **Legacy data**, from before authorities:
//! - a grant that names only an organisation covers the one authority of that organisation that
//!   takes part in the plan. When none takes part it covers nothing; when several take part it
//!   covers none of them ([`Deny::OrganizationGrantAmbiguous`]): the guardians consented to
//!   "the region", and nothing recorded says whether they meant BVC or BUP, so a new consent must
//!   name the authority. Reading it as "all of them" would widen it; picking one would guess.
//! - a fragment that names no home authority is no unit's own: every unit, even of its home
//!   organisation, reads it only under a grant (its organisation still holds it as its record).
//!   The node backfills the home authority of its own fragments when it migrates.
//! - a consent without a recording time is read as recorded before birth (the guardians consent);
//!   a plan without the child's birth applies the rules of a child under 15.
//!
//! Besides access: who may write which fragment ([`authoring`]), who is the child's Barnens
//! bästa-ansvarig and when it passes on ([`responsibility`]), what is withheld from the guardians
//! ([`withheld`]), and when records are deleted ([`retention`]).

#![forbid(unsafe_code)]

mod access;
pub mod authoring;
pub mod authority;
pub mod consenters;
pub mod date;
pub mod lifecycle;
pub mod responsibility;
pub mod retention;
mod state;
pub mod withheld;

pub use access::{
    Decision, Deny, Permit, decide_read, decide_share, decide_share_to_authority, decide_write,
    recipient_organizations, takes_part,
};
pub use authoring::{
    AuthoredFragment, AuthoringDenied, FragmentKind, Writer, may_author, may_author_received,
};
pub use authority::{
    Authority, AuthorityKind, Directory, DirectoryError, DirectoryUnit, KindSet, ServiceKind,
    ServiceUnit,
};
pub use consenters::{AgeStage, ConsentRules, Consenters, Missing, required_consenters};
pub use date::{Birth, Date};
pub use state::{
    Category, ConsentState, FragmentFacts, Grantee, LeaseState, LegacyReading, PlanState,
    Requester, RevocationState, Unit, WithdrawnBy,
};

#[cfg(test)]
mod tests;
