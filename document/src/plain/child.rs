//! What the child said, the guardians' view, what was decided, the wheel and the follow-ups held.

use super::{Block, Doc, areas};
use crate::Lang;
use crate::words::{self, Reader, by, t};

/// The child's own words, the guardians' view and the latest decisions.
pub(super) fn said(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    // A child not yet born has said nothing; the parents-to-be are the guardians' view.
    let unborn = d.reader == Reader::Expecting;
    let mut said = false;
    if !unborn {
        let who = d.child_word();
        out.push(Block::Heading(match lang {
            Lang::Sv => format!("Det här har {who} sagt"),
            Lang::En if d.reader == Reader::YoungPerson => "What you have said".into(),
            Lang::En => format!("What {who} has said"),
        }));
    }
    let said_at = |out: &mut Vec<Block>, on: &str| {
        out.push(Block::Para(format!(
            "{} {}:",
            t(lang, "På mötet den", "At the meeting on"),
            words::date(lang, on)
        )))
    };
    if let Some(m) = p
        .meetings
        .iter()
        .rev()
        .find(|m| !m.child_view.is_empty() && !unborn)
    {
        said_at(out, &m.held_on);
        out.push(Block::Quote(m.child_view.clone()));
        said = true;
    }
    for area in areas() {
        if let Some(w) = p
            .wheel
            .iter()
            .rev()
            .find(|w| w.area == area as i32 && !w.child_view.is_empty() && !unborn)
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
    if !said && !unborn {
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
            match lang {
                Lang::Sv => by(
                    d.reader,
                    "Det här tycker ni som är vårdnadshavare",
                    "Det här tycker ni",
                    "Det här tycker vårdnadshavarna",
                ),
                Lang::En => by(
                    d.reader,
                    "What you, the guardians, think",
                    "What you think",
                    "What the guardians think",
                ),
            }
            .into(),
        ));
        said_at(out, &m.held_on);
        out.push(Block::Quote(m.guardians_view.clone()));
    }

    // Decisions of the latest meeting.
    if let Some(m) = p.meetings.last().filter(|m| !m.decisions.is_empty()) {
        out.push(Block::Heading(format!(
            "{} {}",
            t(lang, "Det här bestämde vi den", "What we decided on"),
            words::date(lang, &m.held_on)
        )));
        for x in &m.decisions {
            out.push(Block::Item(x.clone()));
        }
    }
}

/// The wheel over time, and the follow-ups held.
pub(super) fn wheel(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    // The wheel over time.
    if !p.wheel.is_empty() {
        out.push(Block::Heading(
            match lang {
                Lang::Sv => by(
                    d.reader,
                    "Hur barnet har det, och hur det har ändrats",
                    "Hur ni har det, och hur det har ändrats",
                    "Hur du har det, och hur det har ändrats",
                ),
                Lang::En => by(
                    d.reader,
                    "How the child is doing, and how it has changed",
                    "How you are doing, and how it has changed",
                    "How you are doing, and how it has changed",
                ),
            }
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
        for (_, fu) in &p.follow_ups {
            // Which follow-up: of the whole plan, or of one intervention.
            let of = match p
                .interventions
                .iter()
                .find(|(f, _)| f.fragment_id == fu.intervention_fragment_id)
            {
                _ if fu.intervention_fragment_id.is_empty() => {
                    t(lang, "hela planen", "the whole plan").to_string()
                }
                Some((_, iv)) => words::quote(lang, &iv.what),
                None => t(lang, "en insats", "an intervention").to_string(),
            };
            out.push(Block::Item(format!(
                "{}, {of}: {}",
                words::date(lang, &fu.held_on),
                fu.outcome
            )));
        }
    }
}
