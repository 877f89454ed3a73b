//! The plan in plain words, as blocks that the HTML and PDF writers lay out.
//!
//! Written for the guardians and the child: who is responsible and how to reach them, what
//! happens next and when, what the child said, who helps and how, and who may know what.

use kronobarn_proto::v1::{
    Category, CoordinationMeeting, FollowUpRecord, Intervention, Participant, PlanHeader,
    PlanStage, WheelArea, WheelAssessment, fragment::Body,
};

use crate::words::{self, t};
use crate::{Lang, PlanInput};

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

/// A follow-up date still to come.
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

/// The plain-language document as blocks.
pub fn blocks(input: &PlanInput<'_>, lang: Lang) -> Vec<Block> {
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
            contact_fields(&mut out, lang, c);
        }
        None => out.push(Block::Para(match lang {
            Lang::Sv => format!("{org} håller ihop planen."),
            Lang::En => format!("{org} holds the plan together."),
        })),
    }

    // What happens next.
    out.push(Block::Heading(
        t(lang, "Vad som händer härnäst", "What happens next").into(),
    ));
    let next = upcoming(lang, &p, &today);
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
                contact_fields(&mut out, lang, c);
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

    // Who may know what.
    out.push(Block::Heading(
        t(lang, "Vem som får veta vad", "Who may know what").into(),
    ));
    match input.consent {
        Some(c) => {
            let until = if c.valid_until_unix_ms >= crate::YEAR_10000_MS {
                t(lang, "tills vidare", "until further notice").to_string()
            } else {
                format!(
                    "{} {}",
                    t(lang, "till och med", "up to and including"),
                    words::date_of(lang, c.valid_until_unix_ms - 1)
                )
            };
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "Ni gav ert samtycke den {}. Det gäller {until}. Så här får uppgifter om barnet delas:",
                    words::date_of(lang, c.recorded_at_unix_ms),
                ),
                Lang::En => format!(
                    "You gave your consent on {}. It is valid {until}. This is what may be shared about the child:",
                    words::date_of(lang, c.recorded_at_unix_ms),
                ),
            }));
            for g in &c.grants {
                let cats: Vec<String> = g
                    .categories
                    .iter()
                    .map(|c| {
                        words::category(lang, Category::try_from(*c).unwrap_or_default()).into()
                    })
                    .collect();
                out.push(Block::Item(format!(
                    "{} {} {}",
                    input.name(&g.organization),
                    t(lang, "får veta", "may know"),
                    words::list(lang, &cats)
                )));
            }
        }
        None => out.push(Block::Para(
            t(
                lang,
                "Ni har inte gett något samtycke till att uppgifter om barnet delas. Inget delas.",
                "You have not given consent to sharing anything about the child. Nothing is shared.",
            )
            .into(),
        )),
    }
    for r in input.revocations {
        let orgs: Vec<String> = r.organizations.iter().map(|o| input.name(o)).collect();
        out.push(Block::Para(match (lang, orgs.is_empty()) {
            (Lang::Sv, true) => format!(
                "Den {} tog ni tillbaka samtycket. Inget delas längre.",
                words::date_of(lang, r.recorded_at_unix_ms)
            ),
            (Lang::Sv, false) => format!(
                "Den {} tog ni tillbaka samtycket för {}.",
                words::date_of(lang, r.recorded_at_unix_ms),
                words::list(lang, &orgs)
            ),
            (Lang::En, true) => format!(
                "On {} you withdrew your consent. Nothing is shared any more.",
                words::date_of(lang, r.recorded_at_unix_ms)
            ),
            (Lang::En, false) => format!(
                "On {} you withdrew your consent for {}.",
                words::date_of(lang, r.recorded_at_unix_ms),
                words::list(lang, &orgs)
            ),
        }));
    }
    out.push(Block::Para(
        t(
            lang,
            "Ni kan när som helst ta tillbaka ert samtycke, helt eller för en del. Säg det till den som ansvarar för planen eller till någon annan som är med.",
            "You can withdraw your consent at any time, completely or in part. Tell the person responsible for the plan, or anyone else who takes part.",
        )
        .into(),
    ));

    // Small print.
    let maker = input.name(input.made_by);
    if input.withheld > 0 {
        out.push(Block::Note(match lang {
            Lang::Sv => format!(
                "{} delar av planen finns men visas inte här, eftersom {maker} inte får visa dem. Fråga den som ansvarar för planen om ni vill veta mer.",
                input.withheld
            ),
            Lang::En => format!(
                "{} parts of the plan exist but are not shown here, because {maker} may not show them. Ask the person responsible for the plan if you want to know more.",
                input.withheld
            ),
        }));
    }
    out.push(Block::Note(match lang {
        Lang::Sv => format!(
            "Utskriven {} av {maker}. Den här utskriften är loggad.",
            words::date_of(lang, input.made_at_unix_ms)
        ),
        Lang::En => format!(
            "Printed {} by {maker}. This printout has been logged.",
            words::date_of(lang, input.made_at_unix_ms)
        ),
    }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use kronobarn_proto::v1::{Child, Contact, Fragment};

    fn fragment(id: &str, body: Body) -> Fragment {
        Fragment {
            plan_id: "p".into(),
            fragment_id: id.into(),
            home_organization: "vaxjo-kommun".into(),
            body: Some(body),
            ..Default::default()
        }
    }

    fn wheel(id: &str, area: WheelArea, on: &str, needs: &str) -> Fragment {
        fragment(
            id,
            Body::WheelAssessment(WheelAssessment {
                area: area as i32,
                needs: needs.into(),
                assessed_on: on.into(),
                ..Default::default()
            }),
        )
    }

    fn input<'a>(
        fragments: &'a [Fragment],
        names: &'a (dyn Fn(&str) -> Option<String> + Sync),
    ) -> PlanInput<'a> {
        PlanInput {
            plan_id: "p",
            home_organization: "vaxjo-kommun",
            fragments,
            withheld: 2,
            consent: None,
            revocations: &[],
            today: (2026, 11, 25),
            made_at_unix_ms: 1_795_000_000_000,
            made_by: "vaxjo-kommun",
            names,
        }
    }

    fn text(blocks: &[Block]) -> String {
        format!("{blocks:?}")
    }

    #[test]
    fn the_wheel_shows_each_area_over_time_in_date_order() {
        let f = [
            wheel("w2", WheelArea::Learning, "2026-11-20", "Läser bättre nu"),
            wheel("w1", WheelArea::Learning, "2026-09-01", "Svårt att läsa"),
            wheel("w3", WheelArea::Health, "2026-09-01", "Sover dåligt"),
        ];
        let names = |_: &str| None;
        let b = blocks(&input(&f, &names), Lang::Sv);
        let t = text(&b);
        let first = t.find("Svårt att läsa").unwrap();
        let second = t.find("Läser bättre nu").unwrap();
        assert!(first < second, "older assessment first");
        // Areas in the wheel's order: health before learning.
        assert!(t.find("Hälsa").unwrap() < t.find("Lärande").unwrap());
    }

    #[test]
    fn only_what_is_given_is_shown_and_the_rest_is_counted() {
        let f = [fragment(
            "header",
            Body::Header(PlanHeader {
                child: Some(Child {
                    personal_identity_number: "19121212-1212".into(),
                    name: "Alma Svensson".into(),
                    birth_date: String::new(),
                }),
                responsible_organization: "vaxjo-kommun".into(),
                responsible_contact: Some(Contact {
                    name: "Eva Lind".into(),
                    phone: "0470-123 45".into(),
                    ..Default::default()
                }),
                follow_up_dates: vec!["2026-12-01".into(), "2026-01-01".into()],
                ..Default::default()
            }),
        )];
        let names = |o: &str| (o == "vaxjo-kommun").then(|| "Växjö kommun".to_string());
        let b = blocks(&input(&f, &names), Lang::Sv);
        let t = text(&b);
        assert!(t.contains("Almas plan"));
        assert!(t.contains("Eva Lind på Växjö kommun håller ihop planen"));
        assert!(t.contains("1 december 2026"), "the next date, in words");
        assert!(!t.contains("1 januari 2026"), "past dates are not 'next'");
        assert!(
            !t.contains("19121212"),
            "the identity number is never in the document"
        );
        assert!(t.contains("2 delar av planen finns men visas inte här"));
        assert!(b.contains(&Block::Field {
            label: "Telefon".into(),
            value: "0470-123 45".into(),
            href: Some("tel:047012345".into()),
        }));
        let en = text(&blocks(&input(&f, &names), Lang::En));
        assert!(en.contains("Alma's plan") && en.contains("1 December 2026"));
    }

    #[test]
    fn markup_in_the_plan_stays_text_in_html() {
        let f = [wheel(
            "w",
            WheelArea::Home,
            "2026-11-01",
            "<script>alert(1)</script>",
        )];
        let names = |_: &str| None;
        let page = crate::html(&input(&f, &names), Lang::Sv);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
