//! What a node knows about one plan, stripped of personal data before it reaches this crate: slugs,
//! enums, day numbers and flags. No names, no identity numbers, no free text, no plan id — so nothing
//! personal can reach the output even by mistake.

use crate::quarter::Day;

slug_enum! {
    /// The kind of authority (or care unit) a plan's responsible contact belongs to.
    pub enum AuthorityKind {
        /// A school (the principal is responsible for children in school).
        School = "school", "skolan";
        /// A preschool.
        Preschool = "preschool", "förskolan";
        /// The municipality's social services.
        SocialServices = "social-services", "socialtjänsten";
        /// Child health care.
        ChildHealthCare = "child-health-care", "barnhälsovården";
        /// Child and youth psychiatry.
        ChildPsychiatry = "child-psychiatry", "barn- och ungdomspsykiatrin";
        /// Maternity care (before the child is born).
        MaternityCare = "maternity-care", "mödrahälsovården";
        /// The municipality's activity responsibility for young people aged 16–20.
        ActivityResponsibility = "activity-responsibility", "det kommunala aktivitetsansvaret";
        /// The Police.
        Police = "police", "polisen";
        /// A voluntary organisation.
        Voluntary = "voluntary", "ideell förening";
        /// Any other authority.
        Other = "other", "annan verksamhet";
    }
}

impl AuthorityKind {
    /// Whether an authority of this kind can be responsible for a plan (and so hand it over or
    /// take it over). The Police and voluntary organisations take part but are never responsible.
    pub fn can_be_responsible(self) -> bool {
        !matches!(self, AuthorityKind::Police | AuthorityKind::Voluntary)
    }
}

slug_enum! {
    /// The child's age when the plan was opened.
    pub enum AgeBand {
        /// Not yet born (maternity care is responsible).
        Unborn = "unborn", "ännu inte födda";
        /// 0–5 years.
        Age0To5 = "0-5", "0–5 år";
        /// 6–12 years.
        Age6To12 = "6-12", "6–12 år";
        /// 13–15 years.
        Age13To15 = "13-15", "13–15 år";
        /// 16–17 years.
        Age16To17 = "16-17", "16–17 år";
        /// 18–20 years (the young person consents for themselves).
        Age18To20 = "18-20", "18–20 år";
    }
}

slug_enum! {
    /// A step of the practice model.
    pub enum Stage {
        /// A need has been noticed.
        NeedNoticed = "need-noticed", "behov uppmärksammat";
        /// Talking with the child and guardians, with the wheel.
        Talk = "talk", "samtal med barn och vårdnadshavare";
        /// The guardians have consented.
        Consent = "consent", "samtycke finns";
        /// A coordination meeting is called.
        MeetingCalled = "meeting-called", "samverkansmöte inbokat";
        /// The plan is agreed.
        Agreed = "agreed", "planen är överenskommen";
        /// The plan is being followed up.
        FollowUp = "follow-up", "uppföljning";
        /// The plan was revised after a follow-up.
        Revised = "revised", "planen har ändrats";
        /// The plan is closed.
        Closed = "closed", "avslutad";
    }
}

slug_enum! {
    /// Why a plan was closed: a category, never free text.
    pub enum CloseReason {
        /// The plan's goals were met.
        GoalsMet = "goals-met", "målen nåddes";
        /// The family moved away.
        MovedAway = "moved-away", "familjen flyttade";
        /// The guardians withdrew their consent.
        ConsentWithdrawn = "consent-withdrawn", "samtycket togs tillbaka";
        /// Other support took over.
        OtherSupport = "other-support", "annat stöd tog över";
        /// Any other reason.
        Other = "other", "annat skäl";
    }
}

slug_enum! {
    /// What consent is given for (as the plan's consent categories).
    pub enum Category {
        /// The plan header: who the child is, guardians, responsible contact.
        Identity = "identity", "uppgifter om barnet";
        /// Who takes part.
        Participants = "participants", "vilka som deltar";
        /// Wheel area health.
        WheelHealth = "wheel-health", "hälsa";
        /// Wheel area development.
        WheelDevelopment = "wheel-development", "utveckling";
        /// Wheel area learning.
        WheelLearning = "wheel-learning", "lärande";
        /// Wheel area care.
        WheelCare = "wheel-care", "omsorg";
        /// Wheel area home.
        WheelHome = "wheel-home", "hemmet";
        /// Wheel area relationships.
        WheelRelationships = "wheel-relationships", "relationer";
        /// Wheel area safety.
        WheelSafety = "wheel-safety", "trygghet";
        /// Interventions.
        Interventions = "interventions", "insatser";
        /// Coordination meeting records.
        Meetings = "meetings", "samverkansmöten";
        /// Follow-up records.
        FollowUps = "follow-ups", "uppföljningar";
    }
}

/// An authority a node reports for, in one municipality. An authority serving several
/// municipalities (a care unit of the region) is declared once per municipality. Declared up
/// front, so which authorities appear in a set does not depend on whether they have plans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorityRef {
    /// The authority's slug, e.g. `vaxjo-skola`.
    pub id: String,
    /// Its kind.
    pub kind: AuthorityKind,
    /// The municipality's slug, e.g. `vaxjo`.
    pub municipality: String,
}

/// A change of the plan's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageChange {
    /// The day of the change.
    pub day: Day,
    /// The stage entered.
    pub stage: Stage,
}

/// How the plan was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closure {
    /// The day it was closed.
    pub day: Day,
    /// Why, as a category.
    pub reason: CloseReason,
}

/// A coordination meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meeting {
    /// The day it was held.
    pub day: Day,
    /// The child's own view is recorded in the meeting record.
    pub child_view_recorded: bool,
    /// At least one guardian took part.
    pub guardians_present: bool,
}

/// A follow-up of the plan or one of its interventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUp {
    /// The day it is due.
    pub due: Day,
    /// The day it was done, if it was.
    pub done: Option<Day>,
}

/// A handover of responsibility from one kind of authority to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handover {
    /// The day the new authority took over.
    pub day: Day,
    /// Kind of the authority handing over.
    pub from: AuthorityKind,
    /// Kind of the authority taking over.
    pub to: AuthorityKind,
}

/// A grant in a consent: a category given to an authority of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantGiven {
    /// The day the consent with this grant was recorded.
    pub day: Day,
    /// The category granted.
    pub category: Category,
    /// The kind of authority that may receive it.
    pub to: AuthorityKind,
}

/// One plan as its responsible authority's node sees it, with nothing personal left in it.
///
/// A node builds facts only for the plans one of its authorities is responsible for, so each plan
/// is counted once in the county. Dates are day numbers, never written to the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFacts {
    /// The responsible authority's slug.
    pub authority: String,
    /// Its kind.
    pub authority_kind: AuthorityKind,
    /// The slug of the child's municipality.
    pub municipality: String,
    /// The child's age band when the plan was opened.
    pub age_band: AgeBand,
    /// The day the need was noticed: the day the plan was opened.
    pub need_noticed: Day,
    /// The day the first consent was recorded.
    pub consent: Option<Day>,
    /// The day the plan was agreed.
    pub agreed: Option<Day>,
    /// The plan's stage changes in order (the current stage is the last; before the first change
    /// the stage is "need noticed").
    pub stage_changes: Vec<StageChange>,
    /// The closing, if the plan is closed.
    pub closed: Option<Closure>,
    /// Coordination meetings held.
    pub meetings: Vec<Meeting>,
    /// The day the guardians (or the young person deciding for themselves) were given the plan
    /// document.
    pub plan_given: Option<Day>,
    /// Follow-ups.
    pub follow_ups: Vec<FollowUp>,
    /// Handovers of responsibility.
    pub handovers: Vec<Handover>,
    /// Days on which a revocation was recorded.
    pub revocations: Vec<Day>,
    /// Grants given in the plan's consents.
    pub grants: Vec<GrantGiven>,
}

impl PlanFacts {
    /// The day of the first coordination meeting.
    pub fn first_meeting(&self) -> Option<Day> {
        self.meetings.iter().map(|m| m.day).min()
    }

    /// The stage at the end of `day`, for a plan not closed by then.
    pub fn stage_on(&self, day: Day) -> Stage {
        self.stage_changes
            .iter()
            .rev()
            .find(|c| c.day <= day)
            .map_or(Stage::NeedNoticed, |c| c.stage)
    }

    /// Whether the plan is open at the end of `day`.
    pub fn open_on(&self, day: Day) -> bool {
        self.need_noticed <= day && self.closed.is_none_or(|c| c.day > day)
    }

    /// Checks the facts against the declared authorities and `today`, as [`crate::compute`] does
    /// before counting; the error carries `index` (the plan's position in the caller's list) and
    /// names the field, never the value.
    pub fn check(
        &self,
        index: usize,
        today: Day,
        authorities: &[AuthorityRef],
    ) -> Result<(), FactsError> {
        let err = |field: &'static str, problem: Problem| FactsError {
            index,
            field,
            problem,
        };
        if !is_slug(&self.authority) {
            return Err(err("authority", Problem::NotASlug));
        }
        if !is_slug(&self.municipality) {
            return Err(err("municipality", Problem::NotASlug));
        }
        if !authorities.iter().any(|a| {
            a.id == self.authority
                && a.kind == self.authority_kind
                && a.municipality == self.municipality
        }) {
            return Err(err("authority", Problem::UnknownAuthority));
        }
        if self.need_noticed > today {
            return Err(err("need_noticed", Problem::AfterToday));
        }
        let end = self.closed.map_or(today, |c| c.day);
        let within = |field: &'static str, day: Day| {
            if day < self.need_noticed {
                Err(err(field, Problem::BeforeNeedNoticed))
            } else if day > today {
                Err(err(field, Problem::AfterToday))
            } else if day > end {
                Err(err(field, Problem::AfterClosed))
            } else {
                Ok(())
            }
        };
        if let Some(c) = self.closed {
            within("closed", c.day)?;
        }
        for (field, day) in [
            ("consent", self.consent),
            ("agreed", self.agreed),
            ("plan_given", self.plan_given),
        ] {
            if let Some(day) = day {
                within(field, day)?;
            }
        }
        let mut last = self.need_noticed;
        for (i, change) in self.stage_changes.iter().enumerate() {
            within("stage_changes", change.day)?;
            if change.day < last {
                return Err(err("stage_changes", Problem::OutOfOrder));
            }
            last = change.day;
            let is_last = i + 1 == self.stage_changes.len();
            if change.stage == Stage::Closed
                && !(is_last && self.closed.is_some_and(|c| c.day == change.day))
            {
                return Err(err("stage_changes", Problem::ClosedStageMismatch));
            }
        }
        for m in &self.meetings {
            within("meetings", m.day)?;
        }
        for f in &self.follow_ups {
            if f.due < self.need_noticed {
                return Err(err("follow_ups", Problem::BeforeNeedNoticed));
            }
            if let Some(done) = f.done {
                within("follow_ups", done)?;
            }
        }
        for h in &self.handovers {
            within("handovers", h.day)?;
            if !h.from.can_be_responsible() || !h.to.can_be_responsible() {
                return Err(err("handovers", Problem::NeverResponsible));
            }
        }
        for &day in &self.revocations {
            within("revocations", day)?;
        }
        for g in &self.grants {
            within("grants", g.day)?;
        }
        Ok(())
    }
}

/// Whether `s` is a slug: 1–64 of `a-z`, `0-9`, `-`, starting with a letter, and no run of six or
/// more digits (which could be a date or an identity number).
pub fn is_slug(s: &str) -> bool {
    let mut digits = 0;
    for c in s.bytes() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits >= 6 {
                return false;
            }
        } else {
            digits = 0;
        }
    }
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Facts that cannot be counted as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan facts at position {index}: field {field}: {problem}")]
pub struct FactsError {
    /// Position of the plan in the input.
    pub index: usize,
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a field of [`PlanFacts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not a slug (see [`is_slug`]).
    #[error("is not a slug")]
    NotASlug,
    /// The authority, kind and municipality are not among the declared authorities.
    #[error("is not a declared authority with this kind and municipality")]
    UnknownAuthority,
    /// A day before the need was noticed.
    #[error("lies before the need was noticed")]
    BeforeNeedNoticed,
    /// A day after `today`.
    #[error("lies after today")]
    AfterToday,
    /// A day after the plan was closed.
    #[error("lies after the plan was closed")]
    AfterClosed,
    /// Stage changes out of order.
    #[error("is out of order")]
    OutOfOrder,
    /// A handover from or to a kind of authority that is never responsible.
    #[error("names a kind of authority that is never responsible")]
    NeverResponsible,
    /// A "closed" stage that is not the last change or does not match the closing.
    #[error("has a closed stage that does not match the closing")]
    ClosedStageMismatch,
}
