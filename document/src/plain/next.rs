//! What happens next: one clear next step (the next time we all meet), then the other dates set.
//!
//! A follow-up record's next date replaces the date it was planned for: when the plan as a whole
//! (or an intervention) is followed up and a new date is set, the older plan for that follow-up
//! no longer holds, unless the plan (or the intervention) was rewritten after the follow-up. So
//! the document never shows two different "next follow-ups" of the same thing.

use kronobarn_proto::v1::{FollowUpRecord, Fragment, Intervention};

use super::{Block, Doc, mid};
use crate::Lang;
use crate::words::{self, t};

/// The dates still planned for one thing, given the dates its author planned (in a fragment
/// written at `written`) and the latest follow-up record of it.
fn planned(
    dates: &[String],
    written: i64,
    last: Option<(&Fragment, &FollowUpRecord)>,
) -> Vec<String> {
    let mut v: Vec<String> = match last {
        Some((f, r)) if f.written_at_unix_ms >= written => {
            if r.next_follow_up_date.is_empty() {
                dates.iter().filter(|d| **d > r.held_on).cloned().collect()
            } else {
                std::iter::once(r.next_follow_up_date.clone())
                    .chain(
                        dates
                            .iter()
                            .filter(|d| **d > r.next_follow_up_date)
                            .cloned(),
                    )
                    .collect()
            }
        }
        _ => dates.to_vec(),
    };
    v.retain(|d| !d.is_empty());
    v.sort();
    v.dedup();
    v
}

/// When the plan as a whole is followed up, from today on.
fn plan_dates(d: &Doc<'_>) -> Vec<String> {
    let (dates, written) = match (d.p.header(), d.p.header) {
        (Some(h), Some(f)) => (h.follow_up_dates.as_slice(), f.written_at_unix_ms),
        _ => (&[][..], i64::MIN),
    };
    let last =
        d.p.follow_ups
            .iter()
            .rev()
            .find(|(_, r)| r.intervention_fragment_id.is_empty())
            .copied();
    let mut v = planned(dates, written, last);
    v.retain(|x| x.as_str() >= d.today.as_str());
    v
}

/// When an intervention is next followed up (possibly in the past), after its follow-up records.
pub(super) fn intervention_date(d: &Doc<'_>, f: &Fragment, iv: &Intervention) -> Option<String> {
    let last =
        d.p.follow_ups
            .iter()
            .rev()
            .find(|(_, r)| r.intervention_fragment_id == f.fragment_id)
            .copied();
    planned(
        std::slice::from_ref(&iv.follow_up_date),
        f.written_at_unix_ms,
        last,
    )
    .into_iter()
    .next()
}

enum What {
    /// The booked coordination meeting, with the organisations invited.
    Meeting(Vec<String>),
    /// A follow-up of the whole plan.
    Plan,
    /// One unit's follow-up of its own intervention: who, what, by whom.
    Own(String, String, String),
}

struct Event {
    on: String,
    what: What,
}

/// Names in a sentence; with semicolons when a name holds a comma ("Östra skolan, Växjö kommun").
fn names(lang: Lang, v: &[String]) -> String {
    if v.iter().any(|n| n.contains(',')) {
        v.join("; ")
    } else {
        words::list(lang, v)
    }
}

/// The next step, and the other dates already set.
pub(super) fn next(d: &Doc<'_>, out: &mut Vec<Block>) {
    let lang = d.lang;
    out.push(Block::Heading(
        t(lang, "Vad som händer härnäst", "What happens next").into(),
    ));
    let mut shared: Vec<Event> = Vec::new();
    if let Some(s) = d.p.status
        && s.stage == kronobarn_proto::v1::PlanStage::MeetingCalled as i32
        && s.meeting_on.as_str() >= d.today.as_str()
    {
        let invited = s
            .invited_organizations
            .iter()
            .map(|o| d.grantee(o))
            .collect();
        shared.push(Event {
            on: s.meeting_on.clone(),
            what: What::Meeting(invited),
        });
    }
    for on in plan_dates(d) {
        shared.push(Event {
            on,
            what: What::Plan,
        });
    }
    shared.sort_by(|a, b| a.on.cmp(&b.on));
    let mut rest: Vec<Event> = Vec::new();
    let mut shared = shared.into_iter();
    let lead = shared.next();
    rest.extend(shared);
    for (f, iv) in &d.p.interventions {
        let Some(on) = intervention_date(d, f, iv).filter(|x| x.as_str() >= d.today.as_str())
        else {
            continue;
        };
        let who = if iv.who.is_empty() {
            d.grantee(&f.home_organization)
        } else {
            iv.who.clone()
        };
        rest.push(Event {
            on,
            what: What::Own(who, iv.what.clone(), iv.follow_up_by.clone()),
        });
    }
    rest.sort_by(|a, b| a.on.cmp(&b.on));

    let family = d.family();
    match lead {
        Some(Event {
            on,
            what: What::Meeting(invited),
        }) => {
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "Nästa gång vi ses är den {}, på ett samverkansmöte med {}.",
                    words::date(lang, &on),
                    d.family_and("dem som hjälper till")
                ),
                Lang::En => format!(
                    "The next time we meet is on {}, at a coordination meeting with {}.",
                    words::date(lang, &on),
                    d.family_and("those who help")
                ),
            }));
            if !invited.is_empty() {
                out.push(Block::Para(format!(
                    "{}: {}.",
                    t(lang, "Inbjudna till mötet", "Invited to the meeting"),
                    names(lang, &invited)
                )));
            }
        }
        Some(Event { on, .. }) => {
            let by =
                d.p.header()
                    .map(|h| h.follow_up_by.as_str())
                    .filter(|b| !b.is_empty());
            let mut s = match lang {
                Lang::Sv => format!(
                    "Nästa gång vi ses och pratar om hur det går är den {}. Då följer vi upp hela planen tillsammans med {}.",
                    words::date(lang, &on),
                    d.family_and("alla som är med i planen")
                ),
                Lang::En => format!(
                    "The next time we meet to talk about how things are going is {}. Then we follow up the whole plan together with {}.",
                    words::date(lang, &on),
                    d.family_and("everyone who takes part in the plan")
                ),
            };
            if let Some(b) = by {
                s.push_str(&match lang {
                    Lang::Sv => format!(" {} leder uppföljningen.", mid(b)),
                    Lang::En => format!(" {} leads the follow-up.", mid(b)),
                });
            }
            out.push(Block::Para(s));
        }
        None => out.push(Block::Para(match lang {
            Lang::Sv => format!(
                "Vi har inte bestämt när vi ses nästa gång. Fråga {}.",
                d.ask()
            ),
            Lang::En => format!("We have not yet set when we meet next. Ask {}.", d.ask()),
        })),
    }
    if rest.is_empty() {
        return;
    }
    out.push(Block::Para(
        t(
            lang,
            "Andra datum som är bestämda:",
            "Other dates already set:",
        )
        .into(),
    ));
    for e in rest.iter().take(8) {
        let when = words::date(lang, &e.on);
        out.push(Block::Item(match (&e.what, lang) {
            (What::Meeting(_), Lang::Sv) => format!("{when}: samverkansmöte med {family}."),
            (What::Meeting(_), Lang::En) => {
                format!("{when}: coordination meeting with {family}.")
            }
            (What::Plan, Lang::Sv) => {
                format!("{when}: vi följer upp hela planen tillsammans med {family}.")
            }
            (What::Plan, Lang::En) => {
                format!("{when}: we follow up the whole plan together with {family}.")
            }
            (What::Own(who, what, by), _) => {
                let what = words::quote(lang, what);
                let doer = if by.is_empty() {
                    mid(who)
                } else {
                    format!("{by} {} {}", t(lang, "på", "at"), mid(who))
                };
                match lang {
                    Lang::Sv => format!("{when}: {doer} följer upp {what}."),
                    Lang::En => format!("{when}: {doer} follows up {what}."),
                }
            }
        }));
    }
}
