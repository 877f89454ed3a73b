//! The words of the plain-language document, in Swedish and English. No codes or jargon: every
//! enum a reader could meet is said in words here.

use kronobarn_proto::v1::{Category, PlanStage, WheelArea};

use crate::Lang;

/// A fixed phrase in both languages.
pub(crate) fn t(lang: Lang, sv: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Sv => sv,
        Lang::En => en,
    }
}

pub(crate) fn stage(lang: Lang, s: PlanStage) -> &'static str {
    match s {
        PlanStage::Unspecified | PlanStage::NeedNoticed => t(
            lang,
            "Någon har sett att barnet behöver stöd, och samtalet om en plan har börjat.",
            "Someone has seen that the child needs support, and talking about a plan has begun.",
        ),
        PlanStage::Talk => t(
            lang,
            "Vi pratar med barnet och med er vårdnadshavare om hur barnet har det.",
            "We are talking with the child and with you, the guardians, about how the child is doing.",
        ),
        PlanStage::Consent => t(
            lang,
            "Ni vårdnadshavare har gett samtycke till att vi samarbetar kring barnet.",
            "You, the guardians, have agreed that we may work together for the child.",
        ),
        PlanStage::MeetingCalled => t(
            lang,
            "Ett möte där alla som hjälper barnet träffas är inbokat.",
            "A meeting where everyone who helps the child meets has been booked.",
        ),
        PlanStage::Agreed => t(
            lang,
            "Planen är bestämd: vem som gör vad, och när vi ses igen.",
            "The plan is agreed: who does what, and when we meet again.",
        ),
        PlanStage::FollowUp => t(
            lang,
            "Vi följer upp hur det har gått.",
            "We are checking how things have gone.",
        ),
        PlanStage::Revised => t(
            lang,
            "Planen har ändrats efter en uppföljning.",
            "The plan has been changed after a follow-up.",
        ),
        PlanStage::Closed => t(lang, "Planen är avslutad.", "The plan is closed."),
    }
}

pub(crate) fn area(lang: Lang, a: WheelArea) -> &'static str {
    match a {
        WheelArea::Unspecified => t(lang, "Övrigt", "Other"),
        WheelArea::Health => t(lang, "Hälsa", "Health"),
        WheelArea::Development => t(lang, "Utveckling", "Development"),
        WheelArea::Learning => t(lang, "Lärande", "Learning"),
        WheelArea::Care => t(lang, "Omsorg", "Care"),
        WheelArea::Home => t(lang, "Hemmet", "Home"),
        WheelArea::Relationships => t(lang, "Relationer", "Relationships"),
        WheelArea::Safety => t(lang, "Trygghet", "Safety"),
    }
}

pub(crate) fn category(lang: Lang, c: Category) -> &'static str {
    match c {
        Category::Unspecified => t(lang, "inget", "nothing"),
        Category::Identity => t(
            lang,
            "vem barnet är och vilka vårdnadshavarna är",
            "who the child is and who the guardians are",
        ),
        Category::Participants => t(
            lang,
            "vilka som är med i planen",
            "who takes part in the plan",
        ),
        Category::WheelHealth => t(lang, "hur barnet mår (hälsa)", "the child's health"),
        Category::WheelDevelopment => {
            t(lang, "hur barnet utvecklas", "how the child is developing")
        }
        Category::WheelLearning => t(
            lang,
            "hur det går i förskolan eller skolan",
            "how things go at preschool or school",
        ),
        Category::WheelCare => t(lang, "omsorgen om barnet", "the care of the child"),
        Category::WheelHome => t(lang, "hur barnet har det hemma", "the child's home"),
        Category::WheelRelationships => t(lang, "barnets relationer", "the child's relationships"),
        Category::WheelSafety => t(lang, "barnets trygghet", "the child's safety"),
        Category::Interventions => t(
            lang,
            "vilket stöd barnet får",
            "what support the child gets",
        ),
        Category::Meetings => t(lang, "anteckningar från mötena", "notes from the meetings"),
        Category::FollowUps => t(lang, "uppföljningarna", "the follow-ups"),
    }
}

const MONTHS_SV: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "25 november 2026" / "25 November 2026"; an unparsable date is shown as given.
pub(crate) fn date(lang: Lang, iso: &str) -> String {
    match kronobarn_proto::validate::parse_date(iso) {
        Some((y, m, d)) => {
            let months = match lang {
                Lang::Sv => MONTHS_SV,
                Lang::En => MONTHS_EN,
            };
            format!("{d} {} {y}", months[(m - 1) as usize])
        }
        None => iso.to_string(),
    }
}

/// The date of an instant, in words.
pub(crate) fn date_of(lang: Lang, unix_ms: i64) -> String {
    let (y, m, d) = kronobarn_proto::validate::swedish_date(unix_ms);
    date(lang, &format!("{y:04}-{m:02}-{d:02}"))
}

/// A list in words: "a, b och c" / "a, b and c".
pub(crate) fn list(lang: Lang, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {} {last}", init.join(", "), t(lang, "och", "and")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_words() {
        assert_eq!(date(Lang::Sv, "2026-11-25"), "25 november 2026");
        assert_eq!(date(Lang::En, "2027-01-03"), "3 January 2027");
        assert_eq!(date(Lang::En, "soon"), "soon");
    }

    #[test]
    fn lists_in_words() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(Lang::Sv, &v(&["a", "b", "c"])), "a, b och c");
        assert_eq!(list(Lang::En, &v(&["a"])), "a");
        assert_eq!(list(Lang::En, &v(&["a", "b"])), "a and b");
    }
}
