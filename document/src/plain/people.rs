//! Who is responsible for the plan, and who helps and how, named by authority.

use super::{Block, Doc, contact_fields, mid, next, person};
use crate::Lang;
use crate::words::{self, t};

/// Who holds the plan together and how to reach them.
pub(super) fn responsible(d: &Doc<'_>, out: &mut Vec<Block>) {
    let lang = d.lang;
    out.push(Block::Heading(
        t(lang, "Vem som ansvarar", "Who is responsible").into(),
    ));
    let at = d.responsible().full();
    let you = d.you();
    match d
        .p
        .header()
        .and_then(|h| h.responsible_contact.as_ref())
        .filter(|c| !c.name.is_empty())
    {
        Some(c) => {
            // "Anna Andersson, rektor, på Östra skolan": the title after the name, never as one.
            let who = if person(c) == c.name {
                c.name.clone()
            } else {
                format!("{},", person(c))
            };
            let wonder = match (lang, you) {
                (Lang::Sv, "du") => "om du undrar över något",
                (Lang::Sv, _) => "om ni undrar över något",
                (Lang::En, _) => "if you have any questions",
            };
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "{who} på {} håller ihop planen. Kontakta {} {wonder}.",
                    mid(&at),
                    c.name
                ),
                Lang::En => format!(
                    "{who} at {} holds the plan together. Contact {} {wonder}.",
                    mid(&at),
                    c.name
                ),
            }));
            contact_fields(out, lang, c);
        }
        None => out.push(Block::Para(match lang {
            Lang::Sv => format!("{} håller ihop planen.", mid(&at)),
            Lang::En => format!("{} holds the plan together.", mid(&at)),
        })),
    }
}

/// Each authority taking part: its contacts and its interventions.
pub(super) fn helpers(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (lang, p) = (d.lang, &d.p);
    out.push(Block::Heading(
        t(lang, "Vilka som hjälper till och hur", "Who helps and how").into(),
    ));
    let mut orgs: Vec<&str> = p
        .participants
        .iter()
        .map(|x| x.organization.as_str())
        .chain(
            p.interventions
                .iter()
                .map(|x| x.0.home_organization.as_str()),
        )
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    orgs.retain(|o| seen.insert(*o));
    if orgs.is_empty() {
        out.push(Block::Para(
            t(
                lang,
                "Här står inget som vi får visa ännu.",
                "Nothing here that we may show yet.",
            )
            .into(),
        ));
    }
    for o in orgs {
        let several = d.units_of(o).len() > 1;
        out.push(Block::Subheading(d.grantee(o)));
        for x in p.participants.iter().filter(|x| x.organization == o) {
            if let Some(c) = x.contact.as_ref().filter(|c| !c.name.is_empty()) {
                let label = if several {
                    format!(
                        "{} {}",
                        t(lang, "Kontakt på", "Contact at"),
                        d.unit(o, &x.unit).short()
                    )
                } else {
                    t(lang, "Kontakt", "Contact").into()
                };
                out.push(Block::Para(format!("{label}: {}", person(c))));
                contact_fields(out, lang, c);
            }
        }
        for (f, iv) in p
            .interventions
            .iter()
            .filter(|x| x.0.home_organization == o)
        {
            let mut s = if iv.who.is_empty() {
                iv.what.clone()
            } else {
                format!("{} ({})", iv.what, iv.who)
            };
            s.push('.');
            let from = words::date(lang, &iv.from_date);
            let to = words::date(lang, &iv.to_date);
            s.push_str(
                &match (lang, iv.from_date.is_empty(), iv.to_date.is_empty()) {
                    (_, true, true) => String::new(),
                    (Lang::Sv, false, true) => format!(" Från {from}."),
                    (Lang::Sv, true, false) => format!(" Till och med {to}."),
                    (Lang::Sv, false, false) => format!(" Från {from} till {to}."),
                    (Lang::En, false, true) => format!(" From {from}."),
                    (Lang::En, true, false) => format!(" Until {to}."),
                    (Lang::En, false, false) => format!(" From {from} to {to}."),
                },
            );
            if let Some(c) = iv.responsible.as_ref().filter(|c| !c.name.is_empty()) {
                s.push_str(&format!(
                    " {} {}.",
                    t(lang, "Ansvarig:", "Responsible:"),
                    person(c)
                ));
            }
            if let Some(on) = next::intervention_date(d, f, iv) {
                s.push_str(&format!(
                    " {} {}",
                    t(lang, "Följs upp den", "Followed up on"),
                    words::date(lang, &on)
                ));
                if !iv.follow_up_by.is_empty() {
                    s.push_str(&format!(" {} {}", t(lang, "av", "by"), iv.follow_up_by));
                }
                s.push('.');
            }
            out.push(Block::Item(s));
        }
    }
}
