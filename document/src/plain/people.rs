//! Who is responsible for the plan, and who helps and how.

use super::{Block, Doc, contact_fields, first_name};
use crate::Lang;
use crate::words::{self, t};

/// Who holds the plan together and how to reach them.
pub(super) fn responsible(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang, p) = (d.input, d.lang, &d.p);
    // Who is responsible.
    out.push(Block::Heading(
        t(lang, "Vem som ansvarar", "Who is responsible").into(),
    ));
    let responsible = p.header.and_then(|h| h.responsible_contact.as_ref());
    let org = input.name(
        p.header
            .map(|h| h.responsible_organization.as_str())
            .filter(|o| !o.is_empty())
            .unwrap_or(input.home_organization),
    );
    match responsible {
        Some(c) => {
            let title = if c.title.is_empty() {
                String::new()
            } else {
                format!(", {},", c.title)
            };
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "{}{title} på {org} håller ihop planen. Kontakta {} om ni undrar över något.",
                    c.name,
                    first_name(&c.name)
                ),
                Lang::En => format!(
                    "{}{title} at {org} holds the plan together. Contact {} if you have any questions.",
                    c.name,
                    first_name(&c.name)
                ),
            }));
            contact_fields(out, lang, c);
        }
        None => out.push(Block::Para(match lang {
            Lang::Sv => format!("{org} håller ihop planen."),
            Lang::En => format!("{org} holds the plan together."),
        })),
    }
}

/// Each organisation taking part: its contacts and its interventions.
pub(super) fn helpers(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang, p) = (d.input, d.lang, &d.p);
    // Who helps and how.
    out.push(Block::Heading(
        t(lang, "Vilka som hjälper till och hur", "Who helps and how").into(),
    ));
    let mut orgs: Vec<&str> = p
        .participants
        .iter()
        .map(|x| x.organization.as_str())
        .chain(p.interventions.iter().map(|x| x.0))
        .collect();
    orgs.dedup();
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
        out.push(Block::Subheading(input.name(o)));
        for x in p.participants.iter().filter(|x| x.organization == o) {
            if let Some(c) = &x.contact {
                let title = if c.title.is_empty() {
                    String::new()
                } else {
                    format!(", {}", c.title)
                };
                out.push(Block::Para(format!(
                    "{}: {}{title}",
                    t(lang, "Kontakt", "Contact"),
                    c.name
                )));
                contact_fields(out, lang, c);
            }
        }
        for (_, _, iv) in p.interventions.iter().filter(|x| x.0 == o) {
            let mut s = format!("{} ({})", iv.what, iv.who);
            s.push_str(&match (lang, iv.to_date.is_empty()) {
                (Lang::Sv, true) => format!(". Från {}.", words::date(lang, &iv.from_date)),
                (Lang::Sv, false) => format!(
                    ". Från {} till {}.",
                    words::date(lang, &iv.from_date),
                    words::date(lang, &iv.to_date)
                ),
                (Lang::En, true) => format!(". From {}.", words::date(lang, &iv.from_date)),
                (Lang::En, false) => format!(
                    ". From {} to {}.",
                    words::date(lang, &iv.from_date),
                    words::date(lang, &iv.to_date)
                ),
            });
            if let Some(c) = &iv.responsible {
                s.push_str(&format!(
                    " {} {}.",
                    t(lang, "Ansvarig:", "Responsible:"),
                    c.name
                ));
            }
            if !iv.follow_up_date.is_empty() {
                s.push_str(&format!(
                    " {} {}",
                    t(lang, "Följs upp", "Followed up on"),
                    words::date(lang, &iv.follow_up_date)
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
