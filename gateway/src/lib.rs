//! The client API of a Kronobarn node (`kronobarn.v1.PlanService`).
//!
//! It authenticates the calling system and reads the end user from metadata, validates every
//! request, makes the need-to-know and consent decisions with `kronobarn-policy`, and has every
//! read written to the access log before it answers. It never touches storage: everything goes
//! through the [`Backend`] trait, which the node implements.

#![forbid(unsafe_code)]

pub mod auth;
pub mod convert;
pub mod record;
pub mod responsible;
mod service;

use std::future::Future;

use kronobarn_policy::PlanState;
use kronobarn_proto::v1::{
    AccessRecord, Consent, Contact, Fragment, LogEntry, PlanHeader, PlanSummary, Revocation,
    SignedEnvelope, Version,
};
use kronobarn_proto::validate::FieldError;

pub use auth::{Caller, ClientAuth, ClientCredential, OutOfScope, Refusal, Scope};
pub use service::{DEFAULT_MAX_WATCHERS_PER_CLIENT, FAMILY_PURPOSES, PlanApi, for_family};

/// Who is acting: the calling system, the end user and why. Written into every access record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The organisation (always the node's own for client API calls).
    pub organization: String,
    /// Client id of the calling system.
    pub system: String,
    /// End-user id.
    pub user_id: String,
    /// End-user role.
    pub role: String,
    /// End-user unit.
    pub unit: String,
    /// Stated purpose.
    pub purpose: String,
}

/// A fragment as stored: decoded, with the hash of its signed bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFragment {
    /// The fragment.
    pub fragment: Fragment,
    /// SHA-256 of the signed payload, hex.
    pub content_hash: String,
}

/// Everything the gateway needs to decide about one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    /// Plan id.
    pub plan_id: String,
    /// The plan's home (responsible organisation, consent home).
    pub home_organization: String,
    /// The header, when this node holds it.
    pub header: Option<PlanHeader>,
    /// Every fragment this node holds for the plan.
    pub fragments: Vec<StoredFragment>,
    /// The current consent.
    pub consent: Option<Consent>,
    /// Every revocation recorded, superseded or not.
    pub revocations: Vec<Revocation>,
    /// This node's lease from the consent home, when it holds one.
    pub lease: Option<kronobarn_proto::v1::Lease>,
    /// Units of this node's organisation that have written to the plan: they take part in it
    /// whatever the received participant list says.
    pub own_units: Vec<(String, String)>,
    /// The county's authorities and units, as this node knows them.
    pub directory: std::sync::Arc<kronobarn_policy::Directory>,
    /// Where the young person's own consent is required from 15 (this node's configuration).
    pub consent_rules: kronobarn_policy::ConsentRules,
}

impl PlanView {
    /// A plan homed at `home` of which nothing is stored yet.
    pub fn empty(plan_id: &str, home: &str) -> Self {
        Self {
            plan_id: plan_id.to_string(),
            home_organization: home.to_string(),
            header: None,
            fragments: Vec::new(),
            consent: None,
            revocations: Vec::new(),
            lease: None,
            own_units: Vec::new(),
            directory: Default::default(),
            consent_rules: Default::default(),
        }
    }

    /// The policy's view of this plan.
    pub fn policy_state(&self) -> PlanState {
        convert::plan_state(self)
    }
}

/// An entry of the follow-up index: (date YYYY-MM-DD, plan id, fragment id), ordered so.
pub type DueEntry = (String, String, String);

/// A change to a plan, published to watchers.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanEvent {
    /// A fragment was written or received.
    Fragment {
        /// Fragment id.
        fragment_id: String,
    },
    /// A consent was recorded.
    Consent(Consent),
    /// A revocation was recorded.
    Revocation(Revocation),
}

/// Access-log entries for one plan and proof of the log's head.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogPage {
    /// Entries about the plan, oldest first.
    pub entries: Vec<LogEntry>,
    /// Signed checkpoint of the whole log.
    pub checkpoint: SignedEnvelope,
    /// The public key that signs the log.
    pub public_key: Vec<u8>,
    /// Index to continue after, when there is more.
    pub next_after: Option<u64>,
}

/// Why the backend denied an act: the caller may not do this, whatever it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The fragment (or the header, participants, status) is another organisation's to write.
    NotHome,
    /// Only the plan's consent home records consent.
    NotConsentHome,
    /// Only the plan's responsible organisation hands it over.
    NotResponsible,
    /// A handover is accepted by the unit it is offered to, not another of the organisation's.
    NotOfferedUnit,
    /// Who may author what (`kronobarn_policy::may_author`) refuses it: an authority the
    /// directory does not place, one that takes no part, or not the responsible unit's.
    Authoring(kronobarn_policy::AuthoringDenied),
}

impl Denial {
    /// Stable slug, first in the message the caller gets.
    pub fn slug(self) -> &'static str {
        match self {
            Denial::NotHome => "not-home",
            Denial::NotConsentHome => "not-consent-home",
            Denial::NotResponsible => "not-responsible",
            Denial::NotOfferedUnit => "not-offered-unit",
            Denial::Authoring(d) => d.code(),
        }
    }
}

/// Why the backend could not act now: the caller's view is out of date or the plan is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The fragment changed since the caller read it (or exists already).
    StaleVersion,
    /// The consent changed since the caller read it.
    StaleConsent,
    /// A handover of the plan is open.
    HandoverOpen,
}

impl Conflict {
    /// Stable slug, first in the message the caller gets.
    pub fn slug(self) -> &'static str {
        match self {
            Conflict::StaleVersion => "stale-version",
            Conflict::StaleConsent => "stale-consent",
            Conflict::HandoverOpen => "handover-open",
        }
    }
}

/// Why the backend would not act: the child's facts or the plan do not allow it as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The responsible unit's kind of authority may not be the child's Barnens bästa-ansvarig.
    ResponsibleKind,
    /// The node does not hold the plan's header (the child's identity and age), which it needs
    /// to judge who may be responsible: the consent must share identity with it first.
    ChildFactsNotHeld,
}

impl Precondition {
    /// Stable slug, first in the message the caller gets.
    pub fn slug(self) -> &'static str {
        match self {
            Precondition::ResponsibleKind => "responsible-kind",
            Precondition::ChildFactsNotHeld => "child-facts-not-held",
        }
    }
}

/// A guardian's access log extract for one plan, made by the node: the readable page and the
/// file verifiable offline, both of the same signed, witnessed checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExtract {
    /// The page (HTML), in the language asked for.
    pub html: String,
    /// The proto3 JSON form of `kronobarn.v1.AccessLogExtract`.
    pub json: Vec<u8>,
    /// The JSON file's name, which the page tells the reader to check.
    pub json_file_name: String,
    /// Number of records about the plan in it.
    pub records: usize,
    /// Number of witnesses whose cosignatures it carries.
    pub witnesses: usize,
}

/// What the backend could not do. The gateway maps each kind to a gRPC status once, by its
/// code, never by its text; the text is for people.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A field is wrong.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The caller may not do this.
    #[error("{slug}: {message}", slug = .0.slug(), message = .1)]
    Denied(Denial, String),
    /// The caller's view is out of date, or the plan is busy (optimistic concurrency).
    #[error("{slug}: {message}", slug = .0.slug(), message = .1)]
    Conflict(Conflict, String),
    /// The child's facts or the plan do not allow this as asked.
    #[error("{slug}: {message}", slug = .0.slug(), message = .1)]
    Precondition(Precondition, String),
    /// The child already has an open plan here; `plan_id` names it when the caller may know of it.
    #[error("open-plan-exists: {message}")]
    OpenPlanExists {
        /// The open plan, when the caller takes part in it or its authority is the caller's.
        plan_id: Option<String>,
        /// For people.
        message: String,
    },
    /// Storage or another internal failure; details are in the node's log.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of backend calls.
pub type BackendResult<T> = Result<T, BackendError>;

/// What the gateway needs from the node. Reads are synchronous (embedded storage); anything that
/// writes returns once the write is durable.
pub trait Backend: Send + Sync + 'static {
    /// This node's organisation id.
    fn organization(&self) -> &str;

    /// The current time, ms since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Loads a plan, or `None` when this node holds nothing of it.
    fn load_plan(&self, plan_id: &str) -> BackendResult<Option<PlanView>>;

    /// Loads what decisions about a plan need (header, participants, consent, revocations)
    /// without the other fragments, so writes and checks cost the same however large a plan is.
    fn load_plan_facts(&self, plan_id: &str) -> BackendResult<Option<PlanView>>;

    /// Plans that `organization`/`unit` takes part in, ordered by plan id, after `after`.
    fn list_plans(
        &self,
        organization: &str,
        unit: &str,
        after: &str,
        limit: usize,
    ) -> BackendResult<Vec<PlanSummary>>;

    /// Creates a plan homed here; the actor's unit and the responsible unit become participants.
    fn create_plan(
        &self,
        actor: &Actor,
        header: PlanHeader,
        unit_contact: Option<Contact>,
    ) -> impl Future<Output = BackendResult<PlanView>> + Send;

    /// Writes a fragment homed here. `expected` must match the stored version of an existing
    /// fragment, and be `None` for a new one.
    fn put_fragment(
        &self,
        actor: &Actor,
        fragment: Fragment,
        expected: Option<Version>,
    ) -> impl Future<Output = BackendResult<StoredFragment>> + Send;

    /// Records a new consent; this node must be the plan's consent home.
    fn record_consent(
        &self,
        actor: &Actor,
        consent: Consent,
        expected_previous_version: u64,
    ) -> impl Future<Output = BackendResult<Consent>> + Send;

    /// Records a revocation.
    fn record_revocation(
        &self,
        actor: &Actor,
        revocation: Revocation,
    ) -> impl Future<Output = BackendResult<Revocation>> + Send;

    /// Offers the plan's responsibility to another organisation (this node must be responsible).
    fn offer_handover(
        &self,
        actor: &Actor,
        offer: kronobarn_proto::v1::Handover,
    ) -> impl Future<Output = BackendResult<kronobarn_proto::v1::Handover>> + Send;

    /// Accepts the open offer of the plan's responsibility made to this organisation.
    fn accept_handover(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> impl Future<Output = BackendResult<kronobarn_proto::v1::Handover>> + Send;

    /// Withdraws this organisation's open offer of the plan's responsibility.
    fn withdraw_handover(
        &self,
        actor: &Actor,
        plan_id: &str,
    ) -> impl Future<Output = BackendResult<kronobarn_proto::v1::Handover>> + Send;

    /// The open offer of the plan's responsibility, if any.
    fn pending_handover(
        &self,
        plan_id: &str,
    ) -> BackendResult<Option<kronobarn_proto::v1::Handover>>;

    /// Appends records to the access log; returns when they are durable.
    fn log_access(
        &self,
        records: Vec<AccessRecord>,
    ) -> impl Future<Output = BackendResult<()>> + Send;

    /// Access-log entries about a plan with index greater than `after` (or from the start).
    fn access_log(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BackendResult<AccessLogPage>;

    /// The guardian's access log extract for a plan: every record about it up to a fresh
    /// checkpoint the witnesses were asked to cosign, with the proofs (see `LogExtract`).
    fn access_log_extract(
        &self,
        plan_id: &str,
        lang: kronobarn_document::Lang,
    ) -> impl Future<Output = BackendResult<LogExtract>> + Send;

    /// What the witnesses of this node's log and the logs it witnesses say.
    fn witness_status(&self) -> BackendResult<kronobarn_proto::v1::GetWitnessStatusResponse>;

    /// How far the revocations recorded at this node for a plan have reached.
    fn revocation_status(
        &self,
        plan_id: &str,
    ) -> BackendResult<Vec<kronobarn_proto::v1::RevocationStatus>>;

    /// Changes to a plan from now on.
    fn subscribe(&self, plan_id: &str) -> tokio::sync::broadcast::Receiver<PlanEvent>;

    /// The id of every plan that changes from now on (a fragment written or received, a consent,
    /// a revocation and the purge it causes), for streams that re-check the plans that changed
    /// (follow-ups falling due). A receiver that falls behind is told (`Lagged`) and looks again
    /// at everything.
    fn plan_changes(&self) -> tokio::sync::broadcast::Receiver<String>;

    /// The guardians' contact details the plan's home keeps out of the signed header of a plan
    /// with protected personal data, by guardian id; empty at any other node or plan.
    fn protected_contacts(&self, plan_id: &str) -> BackendResult<Vec<(String, Contact)>>;

    /// The display name of an organisation (from the roster), for documents.
    fn organization_name(&self, organization: &str) -> Option<String>;

    /// The county's directory of authorities and units, as this node knows it.
    fn directory(&self) -> std::sync::Arc<kronobarn_policy::Directory>;

    /// The public contact the directory gives for a unit (a reception, a function), if any.
    fn unit_contact(&self, organization: &str, unit: &str) -> Option<Contact>;

    /// Other plans this node holds whose header names the same child as `plan_id`'s (found by a
    /// keyed hash of the identity number, never the number). Closed ones and ones the reader
    /// may not see are the caller's to leave out.
    fn same_child_plans(&self, plan_id: &str) -> BackendResult<Vec<String>>;

    /// Entries of the follow-up index dated `from..=to` (YYYY-MM-DD; `from` may be empty) and
    /// ordered after `after` when given, in index order (date, plan, fragment), at most `limit`.
    /// Entries may be stale (written by an older version, or the fragment is no longer one the
    /// reader may see); callers check each against its fragment and the read policy.
    fn follow_ups_due(
        &self,
        from: &str,
        after: Option<&DueEntry>,
        to: &str,
        limit: usize,
    ) -> BackendResult<Vec<DueEntry>>;
}
