//! What the child said, the guardians' view, what was decided, the wheel and the follow-ups held.

use super::{Block, Doc, areas};
use crate::Lang;
use crate::words::{self, t};

/// The child's own words, the guardians' view and the latest decisions.
pub(super) fn said(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    let child = &d.child;
    // What the child said.
    out.push(Block::Heading(match (lang, &child) {
        (Lang::Sv, Some(n)) => format!("Det här har {n} sagt"),
        (Lang::En, Some(n)) => format!("What {n} has said"),
        (_, None) => t(lang, "Det här har barnet sagt", "What the child has said").into(),
    }));
    let mut said = false;
    if let Some(m) = p.meetings.iter().rev().find(|m| !m.child_view.is_empty()) {
        out.push(Block::Para(format!(
            "{} {}:",
            t(lang, "På mötet den", "At the meeting on"),
            words::date(lang, &m.held_on)
        )));
        out.push(Block::Quote(m.child_view.clone()));
        said = true;
    }
    for area in areas() {
        if let Some(w) = p
            .wheel
            .iter()
            .rev()
            .find(|w| w.area == area as i32 && !w.child_view.is_empty())
        {
            out.push(Block::Para(format!(
                "{} {}:",
                t(lang, "Om", "About"),
                words::area(lang, area).to_lowercase()
            )));
            out.push(Block::Quote(w.child_view.clone()));
            said = true;
        }
    }
    if !said {
        out.push(Block::Para(
            t(
                lang,
                "Inget är antecknat ännu.",
                "Nothing has been written down yet.",
            )
            .into(),
        ));
    }

    // The guardians' view.
    if let Some(m) = p
        .meetings
        .iter()
        .rev()
        .find(|m| !m.guardians_view.is_empty())
    {
        out.push(Block::Heading(
            t(
                lang,
                "Det här tycker ni vårdnadshavare",
                "What you, the guardians, think",
            )
            .into(),
        ));
        out.push(Block::Para(format!(
            "{} {}:",
            t(lang, "På mötet den", "At the meeting on"),
            words::date(lang, &m.held_on)
        )));
        out.push(Block::Quote(m.guardians_view.clone()));
    }

    // Decisions of the latest meeting.
    if let Some(m) = p.meetings.last().filter(|m| !m.decisions.is_empty()) {
        out.push(Block::Heading(format!(
            "{} {}",
            t(lang, "Det här bestämde vi den", "What we decided on"),
            words::date(lang, &m.held_on)
        )));
        for d in &m.decisions {
            out.push(Block::Item(d.clone()));
        }
    }
}

/// The wheel over time, and the follow-ups held.
pub(super) fn wheel(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    // The wheel over time.
    if !p.wheel.is_empty() {
        out.push(Block::Heading(
            t(
                lang,
                "Hur barnet har det, och hur det har ändrats",
                "How the child is doing, and how it has changed",
            )
            .into(),
        ));
        for area in areas() {
            let seen: Vec<_> = p.wheel.iter().filter(|w| w.area == area as i32).collect();
            if seen.is_empty() {
                continue;
            }
            out.push(Block::Subheading(words::area(lang, area).into()));
            for w in seen {
                let mut s = if w.assessed_on.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", words::date(lang, &w.assessed_on))
                };
                if !w.strengths.is_empty() {
                    s.push_str(&format!(
                        "{} {} ",
                        t(lang, "Det här går bra:", "What goes well:"),
                        w.strengths
                    ));
                }
                if !w.needs.is_empty() {
                    s.push_str(&format!(
                        "{} {}",
                        t(lang, "Det här behöver stöd:", "What needs support:"),
                        w.needs
                    ));
                }
                out.push(Block::Item(s.trim_end().to_string()));
            }
        }
    }

    // Follow-ups held.
    if !p.follow_ups.is_empty() {
        out.push(Block::Heading(
            t(lang, "Uppföljningar som har gjorts", "Follow-ups so far").into(),
        ));
        for fu in &p.follow_ups {
            out.push(Block::Item(format!(
                "{}: {}",
                words::date(lang, &fu.held_on),
                fu.outcome
            )));
        }
    }
}
