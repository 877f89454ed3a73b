//! Who may know what, withdrawals, and the small print.

use kronobarn_proto::v1::Category;

use super::{Block, Doc};
use crate::Lang;
use crate::words::{self, t};

/// The consent, the revocations in force, and how to withdraw.
pub(super) fn sharing(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang) = (d.input, d.lang);
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
}

/// What is left out, and when and by whom the document was made.
pub(super) fn small_print(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang) = (d.input, d.lang);
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
}
