//! The plan in plain words, as blocks that the HTML and PDF writers lay out.
//!
//! Written for the guardians and the child (or for the young person of 18 or more, or for the
//! parents-to-be): who is responsible and how to reach them, what happens next, when and with
//! whom, what the child said, who helps and how, which authorities may know what and who has
//! read it, and how to withdraw consent and ask for a log extract.

use kronobarn_proto::v1::{
    Contact, CoordinationMeeting, FollowUpRecord, Fragment, Intervention, Participant, PlanHeader,
    PlanStage, StageChange, WheelArea, WheelAssessment, fragment::Body,
};

use crate::words::{self, Reader, by, t};
use crate::{Lang, OrganizationGrant, PlanInput, UnitName};

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
    /// A warning every reader must see, at the top.
    Warning(String),
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
    /// Someone's own words, without quotation marks (the writers add the language's own).
    Quote(String),
    /// Small print.
    Note(String),
}

/// The fragments the reader may see, by kind.
struct Parts<'a> {
    header: Option<&'a Fragment>,
    status: Option<&'a StageChange>,
    participants: Vec<&'a Participant>,
    interventions: Vec<(&'a Fragment, &'a Intervention)>,
    meetings: Vec<&'a CoordinationMeeting>,
    wheel: Vec<&'a WheelAssessment>,
    follow_ups: Vec<(&'a Fragment, &'a FollowUpRecord)>,
}

impl<'a> Parts<'a> {
    fn header(&self) -> Option<&'a PlanHeader> {
        match self.header.map(|f| &f.body) {
            Some(Some(Body::Header(h))) => Some(h),
            _ => None,
        }
    }
}

fn parts<'a>(input: &PlanInput<'a>) -> Parts<'a> {
    let mut p = Parts {
        header: None,
        status: None,
        participants: vec![],
        interventions: vec![],
        meetings: vec![],
        wheel: vec![],
        follow_ups: vec![],
    };
    for f in input.fragments {
        match &f.body {
            Some(Body::Header(_)) => p.header = Some(f),
            Some(Body::Status(s)) => p.status = s.history.last(),
            Some(Body::Participant(x)) => p.participants.push(x),
            Some(Body::Intervention(x)) => p.interventions.push((f, x)),
            Some(Body::Meeting(x)) => p.meetings.push(x),
            Some(Body::WheelAssessment(x)) => p.wheel.push(x),
            Some(Body::FollowUp(x)) => p.follow_ups.push((f, x)),
            None => {}
        }
    }
    p.meetings.sort_by(|a, b| a.held_on.cmp(&b.held_on));
    p.wheel.sort_by(|a, b| a.assessed_on.cmp(&b.assessed_on));
    p.follow_ups.sort_by(|a, b| {
        (&a.1.held_on, a.0.written_at_unix_ms).cmp(&(&b.1.held_on, b.0.written_at_unix_ms))
    });
    p.interventions
        .sort_by(|a, b| a.1.from_date.cmp(&b.1.from_date));
    p
}

fn first_name(full: &str) -> &str {
    full.split_whitespace().next().unwrap_or(full)
}

/// What the header says about the child's age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Not known to the reader.
    Unknown,
    /// Not yet born; expected in (year, month) when known.
    Unborn(Option<(i32, u32)>),
    /// Born on (year, month, day).
    Born(i32, u32, u32),
}

fn age(header: Option<&PlanHeader>, today: (i32, u32, u32)) -> Age {
    let Some(c) = header.and_then(|h| h.child.as_ref()) else {
        return Age::Unknown;
    };
    if let Ok(pnr) = kronobarn_proto::personnummer::parse(&c.personal_identity_number, today) {
        let s = pnr.as_str();
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        let day = n(6..8);
        let day = if pnr.is_coordination_number() {
            day - 60
        } else {
            day
        };
        return Age::Born(n(0..4) as i32, n(4..6), day);
    }
    // No valid number: a birth date, or an expected month ("2027-03") for a child not yet born.
    if let Some((y, m, d)) = kronobarn_proto::validate::parse_date(&c.birth_date) {
        return match ((y, m, d) > today, c.personal_identity_number.is_empty()) {
            (false, _) => Age::Born(y, m, d),
            (true, true) => Age::Unborn(Some((y, m))),
            (true, false) => Age::Unknown,
        };
    }
    let month = c.birth_date.split_once('-').and_then(|(y, m)| {
        let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
        (y.to_string().len() == 4 && (1..=12).contains(&m)).then_some((y, m))
    });
    match month {
        Some(ym) if c.personal_identity_number.is_empty() => Age::Unborn(Some(ym)),
        _ => Age::Unknown,
    }
}

/// What every section is written from.
pub(super) struct Doc<'a> {
    input: &'a PlanInput<'a>,
    lang: Lang,
    p: Parts<'a>,
    today: String,
    /// The child's first name, when the reader may see it.
    child: Option<String>,
    age: Age,
    reader: Reader,
}

impl Doc<'_> {
    /// Swedish or English, by the document's language.
    fn t<'s>(&self, sv: &'s str, en: &'s str) -> &'s str {
        match self.lang {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }

    /// The child as the subject of a sentence: "Alma", "barnet", or "du" for a young person.
    fn child_word(&self) -> String {
        match (self.reader, &self.child) {
            (Reader::YoungPerson, _) => self.t("du", "you").into(),
            (_, Some(n)) => n.clone(),
            (_, None) => self.t("barnet", "the child").into(),
        }
    }

    /// The people the plan is made with: "er och Alma", "er", "dig".
    fn family(&self) -> String {
        match self.reader {
            Reader::Guardians => format!("{} {}", self.t("er och", "you and"), self.child_word()),
            Reader::Expecting => self.t("er", "you").into(),
            Reader::YoungPerson => self.t("dig", "you").into(),
        }
    }

    /// The family and `others` in one list: "er, Alma och alla som är med i planen".
    fn family_and(&self, others: &str) -> String {
        match self.reader {
            Reader::Guardians => format!(
                "{}, {} {} {others}",
                self.t("er", "you"),
                self.child_word(),
                self.t("och", "and")
            ),
            Reader::Expecting => format!("{} {others}", self.t("er och", "you and")),
            Reader::YoungPerson => format!("{} {others}", self.t("dig och", "you and")),
        }
    }

    /// Swedish "ni" or "du", English "you".
    fn you(&self) -> &'static str {
        match self.lang {
            Lang::Sv => by(self.reader, "ni", "ni", "du"),
            Lang::En => "you",
        }
    }

    /// An authority in words: "BUP Växjö, Region Kronoberg".
    fn unit(&self, org: &str, unit: &str) -> UnitName {
        self.input.unit_name(self.lang, org, unit)
    }

    /// The units of an organisation that take part in the plan, as far as the reader sees the
    /// participants: for naming the organisation by its authorities in the plan. This is not
    /// whom a grant naming only the organisation reaches: the policy decides that (one
    /// participating authority, or none when several take part), and the document says it from
    /// [`crate::PlanInput::organization_grants`].
    fn units_of(&self, org: &str) -> Vec<UnitName> {
        self.units_among(org, None)
    }

    /// As [`Doc::units_of`], only the units in `only` when given.
    fn units_among(&self, org: &str, only: Option<&[String]>) -> Vec<UnitName> {
        let mut seen = std::collections::BTreeSet::new();
        self.p
            .participants
            .iter()
            .filter(|x| x.organization == org && !x.unit.is_empty())
            .filter(|x| only.is_none_or(|o| o.contains(&x.unit)))
            .filter(|x| seen.insert(x.unit.as_str()))
            .map(|x| self.unit(org, &x.unit))
            .collect()
    }

    /// An organisation named by its authorities in the plan: "BUP Växjö, Region Kronoberg",
    /// "BUP Växjö och BVC Teleborg, Region Kronoberg", or the organisation alone.
    fn grantee(&self, org: &str) -> String {
        self.named(org, self.units_of(org))
    }

    /// An organisation named by `units`, or alone when none of them is named in words.
    fn named(&self, org: &str, units: Vec<UnitName>) -> String {
        // An organisation that is one authority (an association) is named once.
        let mut seen = std::collections::BTreeSet::new();
        let named: Vec<String> = units
            .iter()
            .filter(|u| !u.authority.is_empty() && u.authority != u.organization)
            .map(|u| u.authority.clone())
            .filter(|a| seen.insert(a.clone()))
            .collect();
        if named.is_empty() {
            self.input.org_name(self.lang, org)
        } else {
            format!(
                "{}, {}",
                words::list(self.lang, &named),
                units[0].organization
            )
        }
    }

    /// A grant in words, saying whom it reaches as the policy decides: "BUP Växjö, Region
    /// Kronoberg får veta ..." for a unit, an authority, or the one authority of an organisation
    /// taking part; for a grant naming only an organisation that reaches none, why not.
    fn grant(&self, g: &kronobarn_proto::v1::Grant, what: &str) -> String {
        let may_know = t(self.lang, "får veta", "may know");
        if !g.unit.is_empty() {
            return format!(
                "{} {may_know} {what}",
                self.unit(&g.organization, &g.unit).full()
            );
        }
        let org = self.input.org_name(self.lang, &g.organization);
        if !g.authority.is_empty() {
            // An authority the directory does not name in words: its organisation alone.
            let who = self
                .input
                .authority_name(self.lang, &g.authority)
                .map_or(org, |a| a.full());
            return format!("{who} {may_know} {what}");
        }
        match (self.input.organization_grants)(&g.organization) {
            OrganizationGrant::Authority(units) => {
                let units = self.units_among(&g.organization, Some(&units));
                format!("{} {may_know} {what}", self.named(&g.organization, units))
            }
            // Whether none of the organisation's authorities takes part or several do, the
            // copy says the same: which of them take part may be more than its reader may know
            // (a participant withheld from the guardians, or a reader without the participants).
            OrganizationGrant::NoneTakesPart | OrganizationGrant::Ambiguous => match self.lang {
                Lang::Sv => format!(
                    "Samtycket nämner bara {org}, inte vilken av dess myndigheter, så ingen där får veta {what} genom det"
                ),
                Lang::En => format!(
                    "The consent names only {org}, not which of its authorities, so nobody there may know {what} through it"
                ),
            },
        }
    }

    /// An authority by directory id in words, or the id when the directory does not know it.
    fn authority(&self, id: &str) -> String {
        self.input
            .authority_name(self.lang, id)
            .map_or_else(|| id.to_string(), |a| a.full())
    }

    /// The responsible authority: the header's organisation and unit.
    fn responsible(&self) -> UnitName {
        let h = self.p.header();
        let org = h
            .map(|h| h.responsible_organization.as_str())
            .filter(|o| !o.is_empty())
            .unwrap_or(self.input.home_organization);
        self.unit(org, h.map(|h| h.responsible_unit.as_str()).unwrap_or(""))
    }

    /// Whom to ask: "Anna Andersson, rektor", or the responsible authority.
    fn ask(&self) -> String {
        match self.p.header().and_then(|h| h.responsible_contact.as_ref()) {
            Some(c) if !c.name.is_empty() => person(c),
            _ => format!(
                "{} {}",
                self.t(
                    "den som ansvarar för planen på",
                    "the person responsible for the plan at"
                ),
                self.responsible().full()
            ),
        }
    }

    /// A guardian (or the child) by the id a consent or revocation uses.
    fn person_by_id(&self, id: &str) -> Option<String> {
        if id == "child" {
            return Some(self.child_word());
        }
        self.p
            .header()?
            .guardians
            .iter()
            .find(|g| g.guardian_id == id && !g.name.is_empty())
            .map(|g| g.name.clone())
    }
}

/// "Anna Andersson, rektor": the full name, then the title; a title is never taken as a name.
fn person(c: &Contact) -> String {
    if c.title.is_empty() {
        c.name.clone()
    } else {
        format!("{}, {}", c.name, c.title)
    }
}

/// A name in the middle of a sentence: a name that holds a comma closes with one, so
/// "Östra skolan, Växjö kommun, håller ihop planen" reads right.
fn mid(name: &str) -> String {
    if name.contains(',') {
        format!("{name},")
    } else {
        name.to_string()
    }
}

/// The plain-language document as blocks.
pub fn blocks<'a>(input: &'a PlanInput<'a>, lang: Lang) -> Vec<Block> {
    let p = parts(input);
    let today = input.today_iso();
    let age = age(p.header(), input.today);
    let reader = match age {
        Age::Unborn(_) => Reader::Expecting,
        Age::Born(y, m, d) if (y + 18, m, d) <= input.today => Reader::YoungPerson,
        _ => Reader::Guardians,
    };
    let child = p
        .header()
        .and_then(|h| h.child.as_ref())
        .map(|c| first_name(&c.name).to_string())
        .filter(|n| !n.is_empty());
    let d = Doc {
        input,
        lang,
        p,
        today,
        child,
        age,
        reader,
    };
    let mut out = Vec::new();
    out.push(Block::Title(match (&d.child, lang) {
        (Some(n), Lang::Sv) if n.ends_with('s') || n.ends_with('x') || n.ends_with('z') => {
            format!("{n} plan")
        }
        (Some(n), Lang::Sv) => format!("{n}s plan"),
        (Some(n), Lang::En) => format!("{n}'s plan"),
        (None, _) => t(lang, "Barnets plan", "The child's plan").into(),
    }));
    sharing::warnings(&d, &mut out);
    intro(&d, &mut out);
    sharing::partial_copy(&d, &mut out);

    out.push(Block::Heading(
        t(lang, "Var vi är nu", "Where we are now").into(),
    ));
    let (stage, since) =
        d.p.status
            .map(|c| {
                (
                    PlanStage::try_from(c.stage).unwrap_or(PlanStage::Unspecified),
                    c.at_unix_ms,
                )
            })
            .unwrap_or((PlanStage::NeedNoticed, 0));
    let meeting =
        d.p.status
            .map(|c| c.meeting_on.as_str())
            .filter(|m| !m.is_empty())
            .map(|m| (m, m >= d.today.as_str()));
    let mut s = words::stage(lang, reader, stage, meeting);
    // A booked meeting's own date says enough; "since" would be a second date to puzzle over.
    if since > 0 && s.ends_with('.') && stage != PlanStage::MeetingCalled {
        s.pop();
        s.push_str(&format!(
            " ({} {}).",
            t(lang, "sedan den", "since"),
            words::date_of(lang, since)
        ));
    }
    out.push(Block::Para(s));

    people::responsible(&d, &mut out);
    next::next(&d, &mut out);
    child::said(&d, &mut out);
    people::helpers(&d, &mut out);
    child::wheel(&d, &mut out);
    sharing::sharing(&d, &mut out);
    sharing::rights(&d, &mut out);
    sharing::small_print(&d, &mut out);
    out
}

/// What the document is, and for whom.
fn intro(d: &Doc<'_>, out: &mut Vec<Block>) {
    let who = d.child_word();
    out.push(Block::Para(match (d.lang, d.reader) {
        (Lang::Sv, Reader::Guardians) => format!(
            "Här står vad vi som arbetar med {who} har bestämt tillsammans med {who} och med er som är vårdnadshavare: vem som gör vad, när vi ses igen och vem ni kan vända er till."
        ),
        (Lang::En, Reader::Guardians) => format!(
            "This is what those of us who work with {who} have agreed together with {who} and with you as guardians: who does what, when we meet again and whom you can turn to."
        ),
        (Lang::Sv, Reader::Expecting) => "Här står vad vi som arbetar med er och barnet har bestämt tillsammans med er: vem som gör vad, när vi ses igen och vem ni kan vända er till.".into(),
        (Lang::En, Reader::Expecting) => "This is what those of us who work with you and the baby have agreed together with you: who does what, when we meet again and whom you can turn to.".into(),
        (Lang::Sv, Reader::YoungPerson) => "Här står vad vi som arbetar med dig har bestämt tillsammans med dig: vem som gör vad, när vi ses igen och vem du kan vända dig till. Du har fyllt 18 år, så det är du själv som bestämmer vad som får delas.".into(),
        (Lang::En, Reader::YoungPerson) => "This is what those of us who work with you have agreed together with you: who does what, when we meet again and whom you can turn to. You are 18 or older, so you yourself decide what may be shared.".into(),
    }));
    if let Age::Unborn(expected) = d.age {
        out.push(Block::Para(match (d.lang, expected) {
            (Lang::Sv, Some((y, m))) => {
                format!("Barnet väntas i {}.", words::month(d.lang, y, m))
            }
            (Lang::En, Some((y, m))) => {
                format!("The baby is expected in {}.", words::month(d.lang, y, m))
            }
            (_, None) => d
                .t("Barnet är ännu inte fött.", "The baby is not yet born.")
                .into(),
        }));
    }
}

fn contact_fields(out: &mut Vec<Block>, lang: Lang, c: &Contact) {
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
