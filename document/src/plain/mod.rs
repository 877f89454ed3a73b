//! The plan in plain words, as blocks that the HTML and PDF writers lay out.
//!
//! Written for the guardians and the child: who is responsible and how to reach them, what
//! happens next and when, what the child said, who helps and how, and who may know what.

use kronobarn_proto::v1::{
    CoordinationMeeting, FollowUpRecord, Intervention, Participant, PlanHeader, PlanStage,
    WheelArea, WheelAssessment, fragment::Body,
};

use crate::words::{self, t};
use crate::{Lang, PlanInput};

mod child;
mod next;
mod people;
mod sharing;
#[cfg(test)]
mod tests;

/// One block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The document's title.
    Title(String),
    /// A section heading.
    Heading(String),
    /// A sub-heading within a section.
    Subheading(String),
    /// A paragraph.
    Para(String),
    /// A labelled value, e.g. a phone number, with a link target (tel:, mailto:) when it has one.
    Field {
        /// What the value is, e.g. "Telefon".
        label: String,
        /// The value.
        value: String,
        /// Where a link on the value goes.
        href: Option<String>,
    },
    /// An item of a list.
    Item(String),
    /// Someone's own words.
    Quote(String),
    /// Small print.
    Note(String),
}

struct Parts<'a> {
    header: Option<&'a PlanHeader>,
    stage: Option<(PlanStage, i64)>,
    participants: Vec<&'a Participant>,
    interventions: Vec<(&'a str, &'a str, &'a Intervention)>,
    meetings: Vec<&'a CoordinationMeeting>,
    wheel: Vec<&'a WheelAssessment>,
    follow_ups: Vec<&'a FollowUpRecord>,
}

fn parts<'a>(input: &PlanInput<'a>) -> Parts<'a> {
    let mut p = Parts {
        header: None,
        stage: None,
        participants: vec![],
        interventions: vec![],
        meetings: vec![],
        wheel: vec![],
        follow_ups: vec![],
    };
    for f in input.fragments {
        match &f.body {
            Some(Body::Header(h)) => p.header = Some(h),
            Some(Body::Status(s)) => {
                p.stage = s.history.last().map(|c| {
                    (
                        PlanStage::try_from(c.stage).unwrap_or(PlanStage::Unspecified),
                        c.at_unix_ms,
                    )
                })
            }
            Some(Body::Participant(x)) => p.participants.push(x),
            Some(Body::Intervention(x)) => {
                p.interventions
                    .push((&f.home_organization, &f.fragment_id, x))
            }
            Some(Body::Meeting(x)) => p.meetings.push(x),
            Some(Body::WheelAssessment(x)) => p.wheel.push(x),
            Some(Body::FollowUp(x)) => p.follow_ups.push(x),
            None => {}
        }
    }
    p.meetings.sort_by(|a, b| a.held_on.cmp(&b.held_on));
    p.wheel.sort_by(|a, b| a.assessed_on.cmp(&b.assessed_on));
    p.follow_ups.sort_by(|a, b| a.held_on.cmp(&b.held_on));
    p.interventions
        .sort_by(|a, b| a.2.from_date.cmp(&b.2.from_date));
    p
}

fn first_name(full: &str) -> &str {
    full.split_whitespace().next().unwrap_or(full)
}

/// What every section is written from.
pub(super) struct Doc<'a> {
    input: &'a PlanInput<'a>,
    lang: Lang,
    p: Parts<'a>,
    today: String,
    child: Option<String>,
}

/// The plain-language document as blocks.
pub fn blocks<'a>(input: &'a PlanInput<'a>, lang: Lang) -> Vec<Block> {
    let p = parts(input);
    let today = input.today_iso();
    let mut out = Vec::new();
    let child = p
        .header
        .and_then(|h| h.child.as_ref())
        .map(|c| first_name(&c.name).to_string())
        .filter(|n| !n.is_empty());
    out.push(Block::Title(match (&child, lang) {
        (Some(n), Lang::Sv) if n.ends_with('s') || n.ends_with('x') || n.ends_with('z') => {
            format!("{n} plan")
        }
        (Some(n), Lang::Sv) => format!("{n}s plan"),
        (Some(n), Lang::En) => format!("{n}'s plan"),
        (None, _) => t(lang, "Barnets plan", "The child's plan").into(),
    }));
    let who = child
        .clone()
        .unwrap_or_else(|| t(lang, "barnet", "the child").into());
    out.push(Block::Para(match lang {
        Lang::Sv => format!(
            "Här står vad vi som arbetar med {who} har bestämt tillsammans med {who} och er vårdnadshavare: vem som gör vad, när vi ses igen och vem ni kan vända er till."
        ),
        Lang::En => format!(
            "This is what those of us who work with {who} have agreed together with {who} and you, the guardians: who does what, when we meet again and whom you can turn to."
        ),
    }));

    // Where the plan stands.
    out.push(Block::Heading(
        t(lang, "Var vi är nu", "Where we are now").into(),
    ));
    let (stage, since) = p.stage.unwrap_or((PlanStage::NeedNoticed, 0));
    let mut s = words::stage(lang, stage).to_string();
    if since > 0 {
        s.push_str(&format!(
            " ({} {})",
            t(lang, "sedan", "since"),
            words::date_of(lang, since)
        ));
    }
    out.push(Block::Para(s));

    let d = Doc {
        input,
        lang,
        p,
        today,
        child,
    };
    people::responsible(&d, &mut out);
    next::next(&d, &mut out);
    child::said(&d, &mut out);
    people::helpers(&d, &mut out);
    child::wheel(&d, &mut out);
    sharing::sharing(&d, &mut out);
    sharing::small_print(&d, &mut out);
    out
}

fn contact_fields(out: &mut Vec<Block>, lang: Lang, c: &kronobarn_proto::v1::Contact) {
    if !c.phone.is_empty() {
        let digits: String = c
            .phone
            .chars()
            .filter(|ch| ch.is_ascii_digit() || *ch == '+')
            .collect();
        out.push(Block::Field {
            label: t(lang, "Telefon", "Phone").into(),
            value: c.phone.clone(),
            href: Some(format!("tel:{digits}")),
        });
    }
    if !c.email.is_empty() {
        out.push(Block::Field {
            label: t(lang, "E-post", "E-mail").into(),
            value: c.email.clone(),
            href: Some(format!("mailto:{}", c.email)),
        });
    }
}

fn areas() -> [WheelArea; 7] {
    [
        WheelArea::Health,
        WheelArea::Development,
        WheelArea::Learning,
        WheelArea::Care,
        WheelArea::Home,
        WheelArea::Relationships,
        WheelArea::Safety,
    ]
}
