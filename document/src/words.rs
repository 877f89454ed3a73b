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

/// Whom the document speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// The guardians of a child under 18 (and the child).
    Guardians,
    /// The parents-to-be of a child not yet born.
    Expecting,
    /// A young person of 18 or more, who gives and withdraws consent alone.
    YoungPerson,
}

/// Picks the phrase for the reader: guardians, parents-to-be, young person.
pub(crate) fn by<T>(r: Reader, guardians: T, expecting: T, young: T) -> T {
    match r {
        Reader::Guardians => guardians,
        Reader::Expecting => expecting,
        Reader::YoungPerson => young,
    }
}

/// Where the plan stands, in words. `meeting` is the booked coordination meeting's date, and
/// whether it is still to come.
pub(crate) fn stage(lang: Lang, r: Reader, s: PlanStage, meeting: Option<(&str, bool)>) -> String {
    let pick = |sv: [&'static str; 3], en: [&'static str; 3]| -> &'static str {
        let v = match lang {
            Lang::Sv => sv,
            Lang::En => en,
        };
        by(r, v[0], v[1], v[2])
    };
    match s {
        PlanStage::Unspecified | PlanStage::NeedNoticed => pick(
            [
                "Vi har uppmärksammat att barnet kan behöva stöd, och vi har börjat prata om en plan.",
                "Vi har uppmärksammat att ni och barnet kan behöva stöd, och vi har börjat prata om en plan.",
                "Vi har uppmärksammat att du kan behöva stöd, och vi har börjat prata om en plan.",
            ],
            [
                "We have noticed that the child may need support, and we have begun to talk about a plan.",
                "We have noticed that you and the baby may need support, and we have begun to talk about a plan.",
                "We have noticed that you may need support, and we have begun to talk about a plan.",
            ],
        )
        .into(),
        PlanStage::Talk => pick(
            [
                "Vi pratar med barnet och med er som är vårdnadshavare om hur barnet har det.",
                "Vi pratar med er om hur ni har det och vad ni och barnet behöver.",
                "Vi pratar med dig om hur du har det.",
            ],
            [
                "We are talking with the child and with you as guardians about how the child is doing.",
                "We are talking with you about how you are and what you and the baby need.",
                "We are talking with you about how you are doing.",
            ],
        )
        .into(),
        PlanStage::Consent => pick(
            [
                "Ni som är vårdnadshavare har gett ert samtycke till att vi samarbetar kring barnet.",
                "Ni har gett ert samtycke till att vi samarbetar kring er och barnet.",
                "Du har gett ditt samtycke till att vi samarbetar kring dig.",
            ],
            [
                "You, the guardians, have consented to our working together for the child.",
                "You have consented to our working together for you and the baby.",
                "You have consented to our working together for you.",
            ],
        )
        .into(),
        PlanStage::MeetingCalled => {
            let whom = match lang {
                Lang::Sv => by(r, "barnet", "er", "dig"),
                Lang::En => by(r, "the child", "you", "you"),
            };
            match (lang, meeting) {
                (Lang::Sv, Some((on, true))) => format!(
                    "Ett samverkansmöte, där alla som hjälper {whom} träffas, är bokat den {}.",
                    date(lang, on)
                ),
                (Lang::Sv, Some((on, false))) => format!(
                    "Ett samverkansmöte, där alla som hjälper {whom} träffas, var bokat den {}.",
                    date(lang, on)
                ),
                (Lang::Sv, None) => format!(
                    "Ett samverkansmöte, där alla som hjälper {whom} träffas, ska bokas."
                ),
                (Lang::En, Some((on, true))) => format!(
                    "A coordination meeting, where everyone who helps {whom} meets, is booked for {}.",
                    date(lang, on)
                ),
                (Lang::En, Some((on, false))) => format!(
                    "A coordination meeting, where everyone who helps {whom} meets, was booked for {}.",
                    date(lang, on)
                ),
                (Lang::En, None) => format!(
                    "A coordination meeting, where everyone who helps {whom} meets, is to be booked."
                ),
            }
        }
        PlanStage::Agreed => t(
            lang,
            "Planen är bestämd: vem som gör vad, och när vi ses igen.",
            "The plan is agreed: who does what, and when we meet again.",
        )
        .into(),
        PlanStage::FollowUp => t(
            lang,
            "Vi följer upp hur det har gått.",
            "We are checking how things have gone.",
        )
        .into(),
        PlanStage::Revised => t(
            lang,
            "Planen har ändrats efter en uppföljning.",
            "The plan has been changed after a follow-up.",
        )
        .into(),
        PlanStage::Closed => t(lang, "Planen är avslutad.", "The plan is closed.").into(),
    }
}

/// Someone's words in the language's quotation marks: ”…” in Swedish, “…” in English.
pub(crate) fn quote(lang: Lang, s: &str) -> String {
    match lang {
        Lang::Sv => format!("”{s}”"),
        Lang::En => format!("“{s}”"),
    }
}

/// "en gång", "3 gånger" / "once", "twice", "3 times".
pub(crate) fn times(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Sv, 1) => "en gång".into(),
        (Lang::Sv, n) => format!("{n} gånger"),
        (Lang::En, 1) => "once".into(),
        (Lang::En, 2) => "twice".into(),
        (Lang::En, n) => format!("{n} times"),
    }
}

/// An organisation's name as the family should read it: a bare "(idéburen)", an adjective
/// without its noun, becomes "(ideell förening)".
pub(crate) fn organization(lang: Lang, name: &str) -> String {
    let bare = ["(idéburen)", "(ideburen)", "(idéburen sektor)"];
    for b in bare {
        if let Some(stem) = name.strip_suffix(b) {
            return format!(
                "{stem}{}",
                t(lang, "(ideell förening)", "(non-profit association)")
            );
        }
    }
    name.to_string()
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

/// What a category holds, in words, about the child or, for a young person, about "you".
pub(crate) fn category(lang: Lang, r: Reader, c: Category) -> &'static str {
    let you = r == Reader::YoungPerson;
    let pick =
        |sv: &'static str, sv_you: &'static str, en: &'static str, en_you: &'static str| match (
            lang, you,
        ) {
            (Lang::Sv, false) => sv,
            (Lang::Sv, true) => sv_you,
            (Lang::En, false) => en,
            (Lang::En, true) => en_you,
        };
    match c {
        Category::Unspecified => t(lang, "inget", "nothing"),
        Category::Identity => pick(
            "vem barnet är och vilka vårdnadshavarna är",
            "vem du är",
            "who the child is and who the guardians are",
            "who you are",
        ),
        Category::Participants => t(
            lang,
            "vilka som är med i planen",
            "who takes part in the plan",
        ),
        Category::WheelHealth => pick(
            "hur barnet mår (hälsa)",
            "hur du mår (hälsa)",
            "the child's health",
            "your health",
        ),
        Category::WheelDevelopment => pick(
            "hur barnet utvecklas",
            "hur du utvecklas",
            "how the child is developing",
            "how you are developing",
        ),
        Category::WheelLearning => pick(
            "hur det går i förskolan eller skolan",
            "hur det går i skolan eller med studierna",
            "how things go at preschool or school",
            "how things go at school or with your studies",
        ),
        Category::WheelCare => pick(
            "omsorgen om barnet",
            "omsorgen om dig",
            "the care of the child",
            "the care you get",
        ),
        Category::WheelHome => pick(
            "hur barnet har det hemma",
            "hur du har det hemma",
            "the child's home",
            "your home",
        ),
        Category::WheelRelationships => pick(
            "barnets relationer",
            "dina relationer",
            "the child's relationships",
            "your relationships",
        ),
        Category::WheelSafety => pick(
            "barnets trygghet",
            "din trygghet",
            "the child's safety",
            "your safety",
        ),
        Category::Interventions => pick(
            "vilket stöd barnet får",
            "vilket stöd du får",
            "what support the child gets",
            "what support you get",
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

/// "mars 2027" / "March 2027".
pub(crate) fn month(lang: Lang, y: i32, m: u32) -> String {
    let months = match lang {
        Lang::Sv => MONTHS_SV,
        Lang::En => MONTHS_EN,
    };
    match months.get((m as usize).wrapping_sub(1)) {
        Some(name) => format!("{name} {y}"),
        None => format!("{y}"),
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

    #[test]
    fn quotation_marks_follow_the_language() {
        assert_eq!(quote(Lang::Sv, "hej"), "”hej”");
        assert_eq!(quote(Lang::En, "hi"), "“hi”");
    }

    #[test]
    fn counts_and_months_in_words() {
        assert_eq!(times(Lang::Sv, 1), "en gång");
        assert_eq!(times(Lang::Sv, 3), "3 gånger");
        assert_eq!(times(Lang::En, 2), "twice");
        assert_eq!(month(Lang::Sv, 2027, 3), "mars 2027");
        assert_eq!(month(Lang::En, 2027, 12), "December 2027");
    }

    #[test]
    fn an_adjective_without_its_noun_gets_one() {
        assert_eq!(
            organization(Lang::Sv, "Barnens vänner (idéburen)"),
            "Barnens vänner (ideell förening)"
        );
        assert_eq!(organization(Lang::Sv, "Växjö kommun"), "Växjö kommun");
    }
}
