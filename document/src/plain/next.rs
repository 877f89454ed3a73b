//! What happens next: the follow-up dates still to come.

use super::{Block, Doc, Parts};
use crate::Lang;
use crate::words::{self, t};

struct Upcoming {
    on: String,
    what: String,
    by: String,
}

fn upcoming(lang: Lang, p: &Parts<'_>, today: &str) -> Vec<Upcoming> {
    let mut v = Vec::new();
    if let Some(h) = p.header {
        for d in &h.follow_up_dates {
            v.push(Upcoming {
                on: d.clone(),
                what: t(
                    lang,
                    "uppföljning av hela planen",
                    "follow-up of the whole plan",
                )
                .into(),
                by: h.follow_up_by.clone(),
            });
        }
    }
    for (_, _, iv) in &p.interventions {
        if !iv.follow_up_date.is_empty() {
            v.push(Upcoming {
                on: iv.follow_up_date.clone(),
                what: match lang {
                    Lang::Sv => format!("uppföljning av ”{}”", iv.what),
                    Lang::En => format!("follow-up of “{}”", iv.what),
                },
                by: iv.follow_up_by.clone(),
            });
        }
    }
    for fu in &p.follow_ups {
        if !fu.next_follow_up_date.is_empty() {
            v.push(Upcoming {
                on: fu.next_follow_up_date.clone(),
                what: t(lang, "nästa uppföljning", "the next follow-up").into(),
                by: String::new(),
            });
        }
    }
    v.retain(|u| u.on.as_str() >= today);
    v.sort_by(|a, b| a.on.cmp(&b.on));
    v
}

/// The next date, and the ones after it.
pub(super) fn next(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    let today = &d.today;
    // What happens next.
    out.push(Block::Heading(
        t(lang, "Vad som händer härnäst", "What happens next").into(),
    ));
    let next = upcoming(lang, p, today);
    match next.first() {
        Some(n) => {
            let by = if n.by.is_empty() {
                String::new()
            } else {
                format!(" ({})", n.by)
            };
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "Nästa gång vi ses och pratar om hur det går är den {}: {}{by}.",
                    words::date(lang, &n.on),
                    n.what
                ),
                Lang::En => format!(
                    "The next time we meet to talk about how things are going is {}: {}{by}.",
                    words::date(lang, &n.on),
                    n.what
                ),
            }));
            if next.len() > 1 {
                out.push(Block::Para(t(lang, "Efter det:", "After that:").into()));
                for u in next.iter().skip(1).take(8) {
                    out.push(Block::Item(format!(
                        "{}: {}",
                        words::date(lang, &u.on),
                        u.what
                    )));
                }
            }
        }
        None => out.push(Block::Para(
            t(
                lang,
                "Inget nytt datum är bestämt ännu. Fråga den som ansvarar för planen.",
                "No new date has been set yet. Ask the person responsible for the plan.",
            )
            .into(),
        )),
    }
}
