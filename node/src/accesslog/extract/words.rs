//! The extract's words: actions, decisions, reasons, purposes and parts of the plan in plain
//! Swedish and English, never as codes. An unknown code is said as "another reason" rather than
//! shown; the JSON file keeps every code for whoever checks it.

use kronobarn_document::Lang;
use kronobarn_proto::v1::{AccessAction, Fragment, SignedEnvelope, WheelArea, fragment::Body};
use prost::Message;

use crate::keys;
use crate::store::Store;

/// A fixed phrase in both languages.
pub(super) fn t(lang: Lang, sv: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Sv => sv,
        Lang::En => en,
    }
}

/// What was done, in words (for a record of another organisation's node, before its name).
pub(super) fn action(lang: Lang, a: i32, by_node: bool) -> &'static str {
    match (AccessAction::try_from(a), by_node) {
        (Ok(AccessAction::Read), _) => t(lang, "läste", "read"),
        (Ok(AccessAction::Write), _) => t(lang, "skrev", "wrote"),
        (Ok(AccessAction::List), _) => t(lang, "såg planen i en lista", "saw the plan in a list"),
        (Ok(AccessAction::Send), _) => t(lang, "skickade till", "sent to"),
        (Ok(AccessAction::Receive), _) => t(lang, "tog emot från", "received from"),
        (Ok(AccessAction::Purge), _) => t(
            lang,
            "raderade sin kopia, på grund av",
            "deleted its copy, because of",
        ),
        _ => t(lang, "gjorde något annat med", "did something else with"),
    }
}

/// Why it was allowed or refused, from the policy's reason code.
pub(super) fn reason(lang: Lang, code: &str) -> &'static str {
    match code {
        "own-fragment" => t(
            lang,
            "uppgiften är organisationens egen",
            "the information is the organisation's own",
        ),
        "granted" => t(lang, "ni har samtyckt till det", "you consented to it"),
        "participant" => t(
            lang,
            "enheten är med i planen",
            "the unit takes part in the plan",
        ),
        "not-participant" => t(
            lang,
            "enheten är inte med i planen",
            "the unit takes no part in the plan",
        ),
        "no-consent" => t(lang, "det finns inget samtycke", "there is no consent"),
        "consent-expired" => t(lang, "samtycket har gått ut", "the consent has expired"),
        "guardian-missing" => t(
            lang,
            "en vårdnadshavares samtycke saknas",
            "a guardian's consent is missing",
        ),
        "not-granted" => t(
            lang,
            "samtycket omfattar inte den delen",
            "the consent does not cover that part",
        ),
        "revoked" => t(
            lang,
            "samtycket har tagits tillbaka",
            "the consent was withdrawn",
        ),
        "not-home" => t(
            lang,
            "bara den organisation som ansvarar för planen får göra det",
            "only the organisation responsible for the plan may do that",
        ),
        "no-lease" | "lease-expired" | "expired-or-missing" => t(
            lang,
            "kopian fick inte visas utan färsk bekräftelse från den ansvariga organisationen",
            "the copy may not be shown without a fresh confirmation from the responsible organisation",
        ),
        "consent-home" => t(
            lang,
            "organisationen ansvarar för planen och samtycket",
            "the organisation is responsible for the plan and the consent",
        ),
        "revocation" | "revocation-recorded-here" => t(
            lang,
            "ett återtaget samtycke registrerades",
            "a withdrawal of consent was recorded",
        ),
        "handover-offered" | "handover-accepted" => t(
            lang,
            "ansvaret för planen lämnades över",
            "the responsibility for the plan was handed over",
        ),
        "responsible-by-exception" => t(
            lang,
            "ett undantag som organisationen har beslutat om lät enheten vara Barnens bästa-ansvarig",
            "an exception the organisation decided on let the unit be Barnens bästa-ansvarig",
        ),
        "already-held" => t(
            lang,
            "uppgiften fanns redan där",
            "the information was already there",
        ),
        "receipt-invalid" => t(
            lang,
            "mottagarens kvitto gick inte att kontrollera",
            "the receiver's receipt could not be checked",
        ),
        "unit-not-served" | "role-not-served" => t(
            lang,
            "systemet får inte agera för den enheten eller rollen",
            "the system may not act for that unit or role",
        ),
        _ => t(lang, "annat skäl", "another reason"),
    }
}

/// The stated purpose: known purposes in words, any other as the words the system gave.
pub(super) fn purpose(lang: Lang, p: &str) -> String {
    match p {
        "" => t(
            lang,
            "utbyte enligt samtycket",
            "exchange under the consent",
        )
        .into(),
        "plan-coordination" => t(
            lang,
            "samordning av barnets plan",
            "coordinating the child's plan",
        )
        .into(),
        "follow-up" => t(lang, "uppföljning", "follow-up").into(),
        "guardian-request" | "access-log-extract" => t(
            lang,
            "vårdnadshavares begäran om loggutdrag",
            "a guardian's request for the log extract",
        )
        .into(),
        other => other.replace(['-', '_'], " "),
    }
}

/// The part of a plan a record is about, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The plan as a whole (a record with no fragment).
    Whole,
    /// A named act on the plan (document, export, consent, ...), by its fixed id.
    Act(&'static str, &'static str),
    /// The plan's header: the child and the guardians.
    Header,
    /// Who takes part.
    Participants,
    /// An assessment of one wheel area.
    Wheel(WheelArea),
    /// An intervention.
    Intervention,
    /// Notes from a meeting.
    Meeting,
    /// A follow-up.
    FollowUp,
    /// Where the plan stands.
    Status,
    /// A part no longer held at this node.
    Gone,
}

impl Part {
    /// The part in words.
    pub fn words(&self, lang: Lang) -> String {
        let area = |a: &WheelArea| match a {
            WheelArea::Health => t(lang, "hälsa", "health"),
            WheelArea::Development => t(lang, "utveckling", "development"),
            WheelArea::Learning => t(lang, "lärande", "learning"),
            WheelArea::Care => t(lang, "omsorg", "care"),
            WheelArea::Home => t(lang, "hemmet", "home"),
            WheelArea::Relationships => t(lang, "relationer", "relationships"),
            WheelArea::Safety => t(lang, "trygghet", "safety"),
            WheelArea::Unspecified => t(lang, "övrigt", "other"),
        };
        match self {
            Part::Whole => t(lang, "planen som helhet", "the plan as a whole").into(),
            Part::Act(sv, en) => t(lang, sv, en).into(),
            Part::Header => t(
                lang,
                "uppgifterna om barnet och vårdnadshavarna",
                "the details of the child and the guardians",
            )
            .into(),
            Part::Participants => t(lang, "vilka som är med i planen", "who takes part").into(),
            Part::Wheel(a) => format!(
                "{} {}",
                t(
                    lang,
                    "bedömningen av barnets",
                    "the assessment of the child's"
                ),
                area(a)
            ),
            Part::Intervention => {
                t(lang, "en insats (ett stöd)", "an intervention (support)").into()
            }
            Part::Meeting => t(lang, "anteckningar från ett möte", "notes from a meeting").into(),
            Part::FollowUp => t(lang, "en uppföljning", "a follow-up").into(),
            Part::Status => t(lang, "var planen står", "where the plan stands").into(),
            Part::Gone => t(
                lang,
                "en del av planen som inte längre finns här",
                "a part of the plan no longer held here",
            )
            .into(),
        }
    }
}

/// The part of `plan_id` a record's fragment id names: fixed ids of acts on the plan, else the
/// kind of the fragment as stored here (never its content).
pub fn part_of(store: &dyn Store, plan_id: &str, fragment_id: &str) -> Part {
    let act = |sv, en| Part::Act(sv, en);
    match fragment_id {
        "" => return Part::Whole,
        "document" => {
            return act(
                "planen som dokument (att läsa eller skriva ut)",
                "the plan as a document (to read or print)",
            );
        }
        "export-fhir" => {
            return act(
                "planen som fil till ett annat system",
                "the plan as a file for another system",
            );
        }
        "access-log" => {
            return act(
                "loggen över vem som läst planen",
                "the log of who read the plan",
            );
        }
        "access-log-extract" => return act("ett loggutdrag", "a log extract"),
        "consent" => return act("samtycket", "the consent"),
        "responsibility" => return act("ansvaret för planen", "the responsibility for the plan"),
        _ => {}
    }
    let body = store
        .get(&keys::fragment(plan_id, fragment_id))
        .ok()
        .flatten()
        .and_then(|b| SignedEnvelope::decode(b.as_slice()).ok())
        .and_then(|env| Fragment::decode(env.payload.as_slice()).ok())
        .and_then(|f| f.body);
    match body {
        None => Part::Gone,
        Some(Body::Header(_)) => Part::Header,
        Some(Body::Participant(_)) => Part::Participants,
        Some(Body::WheelAssessment(w)) => {
            Part::Wheel(WheelArea::try_from(w.area).unwrap_or(WheelArea::Unspecified))
        }
        Some(Body::Intervention(_)) => Part::Intervention,
        Some(Body::Meeting(_)) => Part::Meeting,
        Some(Body::FollowUp(_)) => Part::FollowUp,
        Some(Body::Status(_)) => Part::Status,
    }
}

/// An instant in Swedish local time: `2026-11-25 13:05`.
pub fn swedish_time(unix_ms: i64) -> String {
    let local = unix_ms + kronobarn_proto::validate::swedish_offset_ms(unix_ms);
    let (y, m, d) = kronobarn_proto::validate::civil_date(local);
    let mins = local.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_swedish_local_time() {
        // 2026-11-26 11:00 UTC is 12:00 in winter; 2026-07-01 10:00 UTC is 12:00 in summer.
        assert_eq!(swedish_time(1_795_690_800_000), "2026-11-26 12:00");
        assert_eq!(swedish_time(1_782_900_000_000), "2026-07-01 12:00");
    }

    #[test]
    fn codes_become_words() {
        assert_eq!(
            reason(Lang::Sv, "own-fragment"),
            "uppgiften är organisationens egen"
        );
        assert_eq!(reason(Lang::En, "something-new"), "another reason");
        assert_eq!(
            purpose(Lang::Sv, "plan-coordination"),
            "samordning av barnets plan"
        );
        assert_eq!(purpose(Lang::En, "school-health"), "school health");
        assert_eq!(
            Part::Wheel(WheelArea::Health).words(Lang::Sv),
            "bedömningen av barnets hälsa"
        );
    }
}
