//! Who may author which fragment. The same rule serves the node's local write path (the writer is
//! the user's authority) and its receiver (the writer is the signing organisation and the
//! authority the fragment claims), so a peer cannot get past it by writing somewhere else:
//!
//! - nobody writes a fragment homed at another organisation or another authority;
//! - the writer's authority must be one the directory holds for the writer's organisation;
//! - the plan's home (responsible organisation) alone writes the header, participant and status
//!   fragments, and, once the header names a responsible unit of the home, only from that unit's
//!   authority (a unit the directory does not know blocks them; a header still naming the
//!   previous home after a handover leaves the organisation check alone);
//! - any authority taking part in the plan writes its own wheel assessments, interventions,
//!   meeting records and follow-ups.

use crate::state::PlanState;

/// What a fragment is, by its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FragmentKind {
    /// The plan header.
    Header,
    /// A participating unit.
    Participant,
    /// Where the plan stands in the practice model.
    Status,
    /// A wheel assessment.
    WheelAssessment,
    /// An intervention.
    Intervention,
    /// A coordination meeting record.
    Meeting,
    /// A follow-up record.
    FollowUp,
}

impl FragmentKind {
    /// Every kind.
    pub const ALL: [FragmentKind; 7] = [
        FragmentKind::Header,
        FragmentKind::Participant,
        FragmentKind::Status,
        FragmentKind::WheelAssessment,
        FragmentKind::Intervention,
        FragmentKind::Meeting,
        FragmentKind::FollowUp,
    ];

    /// True for the fragments only the plan's home writes.
    pub fn is_plan_level(self) -> bool {
        matches!(
            self,
            FragmentKind::Header | FragmentKind::Participant | FragmentKind::Status
        )
    }
}

/// Who writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer<'a> {
    /// The writing organisation (the user's, or the envelope's signer).
    pub organization: &'a str,
    /// The writing authority, by directory id.
    pub authority: &'a str,
}

/// The fragment written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthoredFragment<'a> {
    /// Its home organisation.
    pub home: &'a str,
    /// Its home authority, by directory id.
    pub home_authority: &'a str,
    /// What it is.
    pub kind: FragmentKind,
}

/// Why a write is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthoringDenied {
    /// The fragment is homed at another organisation or authority.
    NotHome,
    /// The directory does not hold the writer's authority for the writer's organisation.
    UnknownAuthority,
    /// Only the plan's home writes the header, participants and status.
    NotPlanHome,
    /// Only the responsible unit's authority writes the header, participants and status.
    NotResponsibleAuthority,
    /// The writer's authority does not take part in the plan.
    NotParticipant,
}

impl AuthoringDenied {
    /// A short stable code for logs and callers.
    pub fn code(self) -> &'static str {
        match self {
            AuthoringDenied::NotHome => "not-home",
            AuthoringDenied::UnknownAuthority => "unknown-authority",
            AuthoringDenied::NotPlanHome => "not-plan-home",
            AuthoringDenied::NotResponsibleAuthority => "not-responsible-authority",
            AuthoringDenied::NotParticipant => "not-participant",
        }
    }
}

impl std::fmt::Display for AuthoringDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self {
            AuthoringDenied::NotHome => {
                "a fragment is written only by the authority it is homed at"
            }
            AuthoringDenied::UnknownAuthority => {
                "the directory does not place the writer under an authority of its organisation"
            }
            AuthoringDenied::NotPlanHome => {
                "only the plan's responsible organisation writes the header, participants and status"
            }
            AuthoringDenied::NotResponsibleAuthority => {
                "only the responsible unit's authority writes the header, participants and status"
            }
            AuthoringDenied::NotParticipant => {
                "the writer's authority does not take part in the plan"
            }
        };
        write!(f, "{}: {why}", self.code())
    }
}

impl std::error::Error for AuthoringDenied {}

/// May `writer` author `fragment` in `plan`?
///
/// A fragment that names no home authority (written before authorities, or sent by a node of an
/// earlier version) is judged by its organisation alone: the home writes its own, and only the
/// plan's home the plan-level ones.
pub fn may_author(
    plan: &PlanState,
    writer: Writer<'_>,
    fragment: AuthoredFragment<'_>,
) -> Result<(), AuthoringDenied> {
    check(plan, writer, fragment, true)
}

/// [`may_author`] as a receiver can judge it, which does not know every other organisation's
/// units: an authority its directory does not list is taken as the signer's word about its own
/// organisation (judged by the organisation alone, as a legacy fragment is), a responsible unit
/// it does not list leaves the plan-level fragments to the organisation check, and whether the
/// writer takes part is the sender organisation's part in the plan, which the caller checks. An
/// authority the directory lists under another organisation is refused.
pub fn may_author_received(
    plan: &PlanState,
    writer: Writer<'_>,
    fragment: AuthoredFragment<'_>,
) -> Result<(), AuthoringDenied> {
    let listed = |id: &str| plan.directory.authority(id).filter(|_| !is_implicit(id));
    if let Some(a) = listed(writer.authority)
        && a.organization != writer.organization
    {
        return Err(AuthoringDenied::UnknownAuthority);
    }
    let (writer, fragment) = if listed(writer.authority).is_some() {
        (writer, fragment)
    } else {
        if fragment.home != writer.organization {
            return Err(AuthoringDenied::NotHome);
        }
        (
            Writer {
                authority: "",
                ..writer
            },
            legacy(fragment),
        )
    };
    if fragment.kind.is_plan_level()
        && plan.responsible.is_some()
        && plan
            .responsible_authority()
            .is_none_or(|a| is_implicit(&a.id))
    {
        return check(plan, writer, legacy(fragment), false);
    }
    check(plan, writer, fragment, false)
}

/// The fragment as one written before authorities: judged by its organisation alone.
fn legacy(f: AuthoredFragment<'_>) -> AuthoredFragment<'_> {
    AuthoredFragment {
        home_authority: "",
        ..f
    }
}

/// An authority the directory made up for a unit nobody described (`organisation/unit`).
fn is_implicit(id: &str) -> bool {
    crate::authority::Directory::implicit_unit(id).is_some()
}

fn check(
    plan: &PlanState,
    writer: Writer<'_>,
    fragment: AuthoredFragment<'_>,
    participants: bool,
) -> Result<(), AuthoringDenied> {
    if fragment.home != writer.organization {
        return Err(AuthoringDenied::NotHome);
    }
    if fragment.home_authority.is_empty() {
        // Legacy: by organisation alone.
        return if fragment.kind.is_plan_level() && writer.organization != plan.consent_home {
            Err(AuthoringDenied::NotPlanHome)
        } else {
            Ok(())
        };
    }
    if fragment.home_authority != writer.authority {
        return Err(AuthoringDenied::NotHome);
    }
    let known = plan
        .directory
        .authority(writer.authority)
        .is_some_and(|a| a.organization == writer.organization);
    if !known {
        return Err(AuthoringDenied::UnknownAuthority);
    }
    if fragment.kind.is_plan_level() {
        if writer.organization != plan.consent_home {
            return Err(AuthoringDenied::NotPlanHome);
        }
        // The header names the responsible unit. Until there is a header, or while it still
        // names the previous home after a handover, the organisation check is all there is.
        let responsible = plan
            .responsible
            .as_ref()
            .filter(|u| u.organization == plan.consent_home);
        return match responsible {
            None => Ok(()),
            Some(_) => match plan.responsible_authority() {
                Some(r) if r.id == writer.authority => Ok(()),
                _ => Err(AuthoringDenied::NotResponsibleAuthority),
            },
        };
    }
    if participants
        && !plan
            .participant_authorities()
            .iter()
            .any(|a| a.id == writer.authority)
    {
        return Err(AuthoringDenied::NotParticipant);
    }
    Ok(())
}
