//! Validation of what callers and peers send, field by field.
//!
//! Each check names the field that is wrong and why, in words safe to return to the caller and to
//! log: messages never quote the value, because values may be personal data.

/// The date functions once lived here; callers that validate dates still find them here.
pub use crate::date::{
    civil_date, days_from_civil, days_in_month, parse_date, swedish_date, swedish_offset_ms,
};
use crate::ids::{is_plan_id, is_slug, is_user_id};
use crate::v1::{
    Category, Consent, ConsentForm, Contact, Fragment, Grant, PlanHeader, Revocation, WheelArea,
    fragment::Body,
};

/// Longest name, title, phone or e-mail, in characters.
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest free-text field, in characters.
pub const MAX_LONG_TEXT: usize = 10_000;
/// Most items in a repeated field.
pub const MAX_ITEMS: usize = 100;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// Path of the field, e.g. `fragment.header.child.personal_identity_number`.
    pub field: String,
    /// What is wrong, without quoting the value.
    pub problem: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

type Result<T = ()> = std::result::Result<T, FieldError>;

fn text(field: &str, v: &str, max: usize, required: bool) -> Result {
    if required && v.trim().is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(())
}

fn date(field: &str, v: &str, required: bool) -> Result {
    if v.is_empty() && !required {
        return Ok(());
    }
    parse_date(v)
        .map(|_| ())
        .ok_or_else(|| FieldError::new(field, "must be a date YYYY-MM-DD"))
}

fn items<T>(field: &str, v: &[T]) -> Result {
    if v.len() > MAX_ITEMS {
        return Err(FieldError::new(
            field,
            format!("has more than {MAX_ITEMS} items"),
        ));
    }
    Ok(())
}

/// Checks an organisation, unit, role or purpose slug.
pub fn slug(field: &str, v: &str) -> Result {
    if v.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if !is_slug(v) {
        return Err(FieldError::new(
            field,
            "must be 1-64 of a-z, 0-9, '-', '_', '.'",
        ));
    }
    Ok(())
}

/// Checks a plan id.
pub fn plan_id(field: &str, v: &str) -> Result {
    if v.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if !is_plan_id(v) {
        return Err(FieldError::new(field, "must be 32 lowercase hex digits"));
    }
    Ok(())
}

/// Checks a user id.
pub fn user_id(field: &str, v: &str) -> Result {
    if !is_user_id(v) {
        return Err(FieldError::new(
            field,
            "must be 1-128 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

fn contact(field: &str, c: Option<&Contact>, required: bool) -> Result {
    let Some(c) = c else {
        return if required {
            Err(FieldError::new(field, "is required"))
        } else {
            Ok(())
        };
    };
    text(&format!("{field}.name"), &c.name, MAX_SHORT_TEXT, required)?;
    text(&format!("{field}.title"), &c.title, MAX_SHORT_TEXT, false)?;
    text(&format!("{field}.phone"), &c.phone, MAX_SHORT_TEXT, false)?;
    text(&format!("{field}.email"), &c.email, MAX_SHORT_TEXT, false)
}

/// Checks a plan header. `today` is the current date, used for the personal identity number.
pub fn header(field: &str, h: &PlanHeader, today: (i32, u32, u32)) -> Result {
    let c = h
        .child
        .as_ref()
        .ok_or_else(|| FieldError::new(format!("{field}.child"), "is required"))?;
    child::child(&format!("{field}.child"), c, today)?;
    items(&format!("{field}.guardians"), &h.guardians)?;
    let mut seen = std::collections::HashSet::new();
    for (i, g) in h.guardians.iter().enumerate() {
        let f = format!("{field}.guardians[{i}]");
        slug(&format!("{f}.guardian_id"), &g.guardian_id)?;
        if g.guardian_id == "child" || g.guardian_id == crate::ids::PLAN_CLOSED {
            return Err(FieldError::new(
                format!("{f}.guardian_id"),
                "\"child\" and \"plan-closed\" are reserved",
            ));
        }
        if !seen.insert(g.guardian_id.as_str()) {
            return Err(FieldError::new(
                format!("{f}.guardian_id"),
                "is used by another guardian",
            ));
        }
        text(&format!("{f}.name"), &g.name, MAX_SHORT_TEXT, true)?;
        contact(&format!("{f}.contact"), g.contact.as_ref(), false)?;
    }
    if !h.responsible_organization.is_empty() {
        slug(
            &format!("{field}.responsible_organization"),
            &h.responsible_organization,
        )?;
    }
    slug(&format!("{field}.responsible_unit"), &h.responsible_unit)?;
    contact(
        &format!("{field}.responsible_contact"),
        h.responsible_contact.as_ref(),
        true,
    )?;
    items(&format!("{field}.follow_up_dates"), &h.follow_up_dates)?;
    for (i, d) in h.follow_up_dates.iter().enumerate() {
        date(&format!("{field}.follow_up_dates[{i}]"), d, true)?;
    }
    text(
        &format!("{field}.follow_up_by"),
        &h.follow_up_by,
        MAX_SHORT_TEXT,
        false,
    )
}

/// Checks a fragment body and returns its category.
pub fn body(field: &str, b: Option<&Body>, today: (i32, u32, u32)) -> Result<Category> {
    let b = b.ok_or_else(|| FieldError::new(field, "is required: one of header, participant, wheel_assessment, intervention, meeting, follow_up, status"))?;
    match b {
        Body::Header(h) => header(&format!("{field}.header"), h, today)?,
        Body::Participant(p) => {
            let f = format!("{field}.participant");
            slug(&format!("{f}.organization"), &p.organization)?;
            slug(&format!("{f}.unit"), &p.unit)?;
            contact(&format!("{f}.contact"), p.contact.as_ref(), false)?;
        }
        Body::WheelAssessment(w) => {
            let f = format!("{field}.wheel_assessment");
            match WheelArea::try_from(w.area) {
                Ok(WheelArea::Unspecified) => {
                    return Err(FieldError::new(
                        format!("{f}.area"),
                        "is required: one of the seven wheel areas",
                    ));
                }
                Err(_) => {
                    return Err(FieldError::new(
                        format!("{f}.area"),
                        format!(
                            "{} is not a wheel area (1-7: health, development, learning, care, home, relationships, safety)",
                            w.area
                        ),
                    ));
                }
                Ok(_) => {}
            }
            text(&format!("{f}.needs"), &w.needs, MAX_LONG_TEXT, false)?;
            text(
                &format!("{f}.strengths"),
                &w.strengths,
                MAX_LONG_TEXT,
                false,
            )?;
            text(
                &format!("{f}.child_view"),
                &w.child_view,
                MAX_LONG_TEXT,
                false,
            )?;
            date(&format!("{f}.assessed_on"), &w.assessed_on, false)?;
        }
        Body::Intervention(iv) => {
            let f = format!("{field}.intervention");
            text(&format!("{f}.what"), &iv.what, MAX_LONG_TEXT, true)?;
            text(&format!("{f}.who"), &iv.who, MAX_SHORT_TEXT, true)?;
            contact(&format!("{f}.responsible"), iv.responsible.as_ref(), true)?;
            date(&format!("{f}.from_date"), &iv.from_date, true)?;
            date(&format!("{f}.to_date"), &iv.to_date, false)?;
            if !iv.to_date.is_empty() && iv.to_date < iv.from_date {
                return Err(FieldError::new(
                    format!("{f}.to_date"),
                    "is before from_date",
                ));
            }
            date(&format!("{f}.follow_up_date"), &iv.follow_up_date, false)?;
            text(
                &format!("{f}.follow_up_by"),
                &iv.follow_up_by,
                MAX_SHORT_TEXT,
                false,
            )?;
        }
        Body::Meeting(m) => {
            let f = format!("{field}.meeting");
            date(&format!("{f}.held_on"), &m.held_on, true)?;
            items(&format!("{f}.attendees"), &m.attendees)?;
            for (i, a) in m.attendees.iter().enumerate() {
                text(&format!("{f}.attendees[{i}]"), a, MAX_SHORT_TEXT, true)?;
            }
            text(
                &format!("{f}.child_view"),
                &m.child_view,
                MAX_LONG_TEXT,
                false,
            )?;
            text(
                &format!("{f}.guardians_view"),
                &m.guardians_view,
                MAX_LONG_TEXT,
                false,
            )?;
            items(&format!("{f}.decisions"), &m.decisions)?;
            for (i, d) in m.decisions.iter().enumerate() {
                text(&format!("{f}.decisions[{i}]"), d, MAX_LONG_TEXT, true)?;
            }
        }
        Body::FollowUp(fu) => {
            let f = format!("{field}.follow_up");
            date(&format!("{f}.held_on"), &fu.held_on, true)?;
            if !fu.intervention_fragment_id.is_empty() {
                slug(
                    &format!("{f}.intervention_fragment_id"),
                    &fu.intervention_fragment_id,
                )?;
            }
            text(&format!("{f}.outcome"), &fu.outcome, MAX_LONG_TEXT, true)?;
            date(
                &format!("{f}.next_follow_up_date"),
                &fu.next_follow_up_date,
                false,
            )?;
        }
        Body::Status(st) => {
            let f = format!("{field}.status");
            if st.history.is_empty() {
                return Err(FieldError::new(
                    format!("{f}.history"),
                    "must hold at least the current stage",
                ));
            }
            if st.history.len() > 10 * MAX_ITEMS {
                return Err(FieldError::new(
                    format!("{f}.history"),
                    format!("has more than {} steps", 10 * MAX_ITEMS),
                ));
            }
            for (i, c) in st.history.iter().enumerate() {
                let f = format!("{f}.history[{i}]");
                match crate::v1::PlanStage::try_from(c.stage) {
                    Ok(crate::v1::PlanStage::Unspecified) | Err(_) => {
                        return Err(FieldError::new(
                            format!("{f}.stage"),
                            "is not a stage of the practice model (1-8)",
                        ));
                    }
                    Ok(_) => {}
                }
                text(&format!("{f}.reason"), &c.reason, MAX_LONG_TEXT, false)?;
                match crate::v1::CloseReason::try_from(c.close_reason) {
                    Err(_) => {
                        return Err(FieldError::new(
                            format!("{f}.close_reason"),
                            "is not a close reason (0-5)",
                        ));
                    }
                    Ok(r)
                        if r != crate::v1::CloseReason::Unspecified
                            && c.stage != crate::v1::PlanStage::Closed as i32 =>
                    {
                        return Err(FieldError::new(
                            format!("{f}.close_reason"),
                            "is only for PLAN_STAGE_CLOSED",
                        ));
                    }
                    Ok(_) => {}
                }
                user_id(&format!("{f}.changed_by"), &c.changed_by)?;
                items(
                    &format!("{f}.invited_organizations"),
                    &c.invited_organizations,
                )?;
                for (j, o) in c.invited_organizations.iter().enumerate() {
                    slug(&format!("{f}.invited_organizations[{j}]"), o)?;
                }
                date(&format!("{f}.meeting_on"), &c.meeting_on, false)?;
            }
        }
    }
    Ok(crate::category_of(b).expect("wheel area checked above"))
}

/// Checks a fragment as written by its home (or received from it): ids and body.
pub fn fragment(field: &str, f: &Fragment, today: (i32, u32, u32)) -> Result<Category> {
    plan_id(&format!("{field}.plan_id"), &f.plan_id)?;
    if !f.fragment_id.is_empty() {
        slug(&format!("{field}.fragment_id"), &f.fragment_id)?;
    }
    if !f.home_organization.is_empty() {
        slug(&format!("{field}.home_organization"), &f.home_organization)?;
    }
    let category = body(field, f.body.as_ref(), today)?;
    let is_header = matches!(f.body, Some(Body::Header(_)));
    if is_header != (f.fragment_id == crate::ids::HEADER_FRAGMENT_ID) && !f.fragment_id.is_empty() {
        return Err(FieldError::new(
            format!("{field}.fragment_id"),
            "\"header\" is the id of the header fragment and only of it",
        ));
    }
    let is_status = matches!(f.body, Some(Body::Status(_)));
    if is_status != (f.fragment_id == crate::ids::STATUS_FRAGMENT_ID) && !f.fragment_id.is_empty()
        || is_status && f.fragment_id.is_empty()
    {
        return Err(FieldError::new(
            format!("{field}.fragment_id"),
            "\"status\" is the id of the status fragment and only of it",
        ));
    }
    Ok(category)
}

fn category(field: &str, c: i32) -> Result<Category> {
    match Category::try_from(c) {
        Ok(Category::Unspecified) => Err(FieldError::new(
            field,
            "CATEGORY_UNSPECIFIED is not a category",
        )),
        Ok(c) => Ok(c),
        Err(_) => Err(FieldError::new(
            field,
            format!("{c} is not a known category"),
        )),
    }
}

fn grant(field: &str, g: &Grant) -> Result {
    slug(&format!("{field}.organization"), &g.organization)?;
    if g.categories.is_empty() {
        return Err(FieldError::new(
            format!("{field}.categories"),
            "must name at least one category",
        ));
    }
    items(&format!("{field}.categories"), &g.categories)?;
    for (i, c) in g.categories.iter().enumerate() {
        category(&format!("{field}.categories[{i}]"), *c)?;
    }
    Ok(())
}

/// Who must have consented, as the policy's `required_consenters` says for the child's age (and
/// the kinds of authority whose information is shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consenters {
    /// Before 15 (and before birth): every guardian with custody.
    Guardians,
    /// From 15: every guardian with custody, and the young person too (the configuration asks
    /// for it for information held by an authority taking part).
    GuardiansAndYoungPerson,
    /// From 18: the young person alone.
    YoungPerson,
}

/// Checks a consent's shape, and, when the plan header is known (always at the consent home, at a
/// receiver only when identity is shared with it), that it names only the plan's guardians and
/// that everyone who must consent has: every guardian with custody before 18, the young person
/// where `who` says so.
pub fn consent(field: &str, c: &Consent, header: Option<&PlanHeader>, who: Consenters) -> Result {
    plan_id(&format!("{field}.plan_id"), &c.plan_id)?;
    items(&format!("{field}.guardian_consents"), &c.guardian_consents)?;
    for (i, g) in c.guardian_consents.iter().enumerate() {
        let f = format!("{field}.guardian_consents[{i}]");
        slug(&format!("{f}.guardian_id"), &g.guardian_id)?;
        if let Some(header) = header
            && !header
                .guardians
                .iter()
                .any(|h| h.guardian_id == g.guardian_id)
        {
            return Err(FieldError::new(
                format!("{f}.guardian_id"),
                "names no guardian of the plan",
            ));
        }
        match ConsentForm::try_from(g.form) {
            Ok(ConsentForm::Written | ConsentForm::Oral) => {}
            _ => {
                return Err(FieldError::new(
                    format!("{f}.form"),
                    "must be CONSENT_FORM_WRITTEN or CONSENT_FORM_ORAL",
                ));
            }
        }
        if g.given_at_unix_ms <= 0 {
            return Err(FieldError::new(
                format!("{f}.given_at_unix_ms"),
                "is required",
            ));
        }
    }
    if who != Consenters::YoungPerson {
        let custodial = header.map_or(&[][..], |h| h.guardians.as_slice());
        for g in custodial.iter().filter(|g| g.has_custody) {
            if !c
                .guardian_consents
                .iter()
                .any(|gc| gc.guardian_id == g.guardian_id)
            {
                return Err(FieldError::new(
                    format!("{field}.guardian_consents"),
                    format!(
                        "guardian '{}' has custody but has not consented; before 18 every guardian with custody must",
                        g.guardian_id
                    ),
                ));
            }
        }
        if header.is_some_and(|h| h.guardians.iter().all(|g| !g.has_custody)) {
            return Err(FieldError::new(
                format!("{field}.guardian_consents"),
                "the plan header names no guardian with custody, so no one can consent",
            ));
        }
    }
    if !c.young_person_consented {
        let why = match who {
            Consenters::Guardians => None,
            Consenters::GuardiansAndYoungPerson => Some(
                "is required: the young person is 15 or older and information held by an authority whose rules ask for their own consent takes part",
            ),
            Consenters::YoungPerson => Some(
                "is required: the young person is 18 or older and alone consents (the guardians no longer do)",
            ),
        };
        if let Some(why) = why {
            return Err(FieldError::new(
                format!("{field}.young_person_consented"),
                why,
            ));
        }
    }
    text(
        &format!("{field}.child_view"),
        &c.child_view,
        MAX_LONG_TEXT,
        false,
    )?;
    if c.valid_until_unix_ms <= 0 {
        return Err(FieldError::new(
            format!("{field}.valid_until_unix_ms"),
            "is required",
        ));
    }
    if c.grants.is_empty() {
        return Err(FieldError::new(
            format!("{field}.grants"),
            "must grant at least one organisation something",
        ));
    }
    items(&format!("{field}.grants"), &c.grants)?;
    for (i, g) in c.grants.iter().enumerate() {
        grant(&format!("{field}.grants[{i}]"), g)?;
    }
    slug(&format!("{field}.purpose"), &c.purpose)?;
    items(
        &format!("{field}.supersedes_revocations"),
        &c.supersedes_revocations,
    )?;
    for (i, r) in c.supersedes_revocations.iter().enumerate() {
        slug(&format!("{field}.supersedes_revocations[{i}]"), r)?;
    }
    Ok(())
}

/// Checks a revocation's scope, against the plan header when it is known (a receiver may hold a
/// revocation for a plan it has not heard of yet, or without the header).
pub fn revocation(field: &str, r: &Revocation, header: Option<&PlanHeader>) -> Result {
    plan_id(&format!("{field}.plan_id"), &r.plan_id)?;
    let known = |id: &str| match header {
        Some(h) => h.guardians.iter().any(|g| g.guardian_id == id),
        None => crate::ids::is_slug(id),
    };
    if r.withdrawn_by != "child"
        && r.withdrawn_by != crate::ids::PLAN_CLOSED
        && !known(&r.withdrawn_by)
    {
        return Err(FieldError::new(
            format!("{field}.withdrawn_by"),
            "must be a guardian id of the plan, \"child\", or \"plan-closed\"",
        ));
    }
    items(&format!("{field}.organizations"), &r.organizations)?;
    for (i, o) in r.organizations.iter().enumerate() {
        slug(&format!("{field}.organizations[{i}]"), o)?;
    }
    items(&format!("{field}.categories"), &r.categories)?;
    for (i, c) in r.categories.iter().enumerate() {
        category(&format!("{field}.categories[{i}]"), *c)?;
    }
    Ok(())
}

mod child;
#[cfg(test)]
mod tests;

pub use child::parse_month;
