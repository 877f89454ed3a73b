//! Who may know what and who has read it, the family's rights, the warnings at the top, and the
//! small print.
//!
//! **Withheld from the guardians (OSL ch. 12 §3).** Information may be kept from the guardians
//! when disclosing it would seriously harm the child. The law lets the information be withheld,
//! but saying "something is withheld from you" can itself tell the guardians that the child has
//! confided something or that there is a concern: the very harm the rule prevents. So a guardian
//! copy never says that anything is withheld, nor how much; it always carries the same sentence,
//! true for every plan, that each authority keeps its own records and that the guardians may ask
//! for them and have a refusal decided in writing and appealed. The authority then weighs the
//! request under the law, case by case, as it must. A guardian copy is therefore the same document
//! whether or not anything was withheld (tested). A copy that is not for the guardians but holds
//! fragments marked as not to be shown to them says so at the top, so that it is not handed out.

use kronobarn_proto::v1::Category;

use super::{Age, Block, Doc, mid};
use crate::words::{self, Reader, by, t};
use crate::{Lang, UnitName};

/// The duty to report concern for a child to social services.
const REPORT_DUTY_SV: &str = "14 kap. 1 § socialtjänstlagen";
const REPORT_DUTY_EN: &str = "Social Services Act, chapter 14, section 1";

/// Warnings every reader must see first.
pub(super) fn warnings(d: &Doc<'_>, out: &mut Vec<Block>) {
    let input = d.input;
    if input.protected_identity {
        out.push(Block::Warning(match (d.lang, d.reader) {
            (Lang::Sv, Reader::YoungPerson) => "Skyddade personuppgifter: uppgifter om var du bor och hur du nås får inte lämnas ut. Därför står ingen adress och inga kontaktuppgifter till dig här. Visa inte dokumentet för någon som inte behöver det, och lämna det inte vidare.".into(),
            (Lang::Sv, _) => "Skyddade personuppgifter: uppgifter om var barnet och familjen bor och hur de nås får inte lämnas ut. Därför står inga adresser eller kontaktuppgifter till barnet eller vårdnadshavarna här. Visa inte dokumentet för någon som inte behöver det, och lämna det inte vidare.".into(),
            (Lang::En, Reader::YoungPerson) => "Protected personal data: where you live and how to reach you must not be disclosed. So this document holds no address or contact details of yours. Do not show it to anyone who does not need it, and do not pass it on.".into(),
            (Lang::En, _) => "Protected personal data: where the child and the family live and how to reach them must not be disclosed. So this document holds no address or contact details of the child or the guardians. Do not show it to anyone who does not need it, and do not pass it on.".into(),
        }));
    }
    // Only a copy that is not for the guardians may say that it holds what they may not see.
    let n = input.withheld_from_guardians;
    if !input.guardian_copy && n > 0 {
        out.push(Block::Warning(match d.lang {
            Lang::Sv => format!(
                "Får inte lämnas till vårdnadshavarna: {} i den här kopian får inte lämnas ut till vårdnadshavarna (12 kap. 3 § offentlighets- och sekretesslagen). Ta fram en kopia för vårdnadshavarna i stället.",
                if n == 1 { "en uppgift".to_string() } else { format!("{n} uppgifter") }
            ),
            Lang::En => format!(
                "Not for the guardians: {} in this copy must not be disclosed to the guardians (Public Access to Information and Secrecy Act, chapter 12, section 3). Make a guardians' copy instead.",
                if n == 1 { "one item".to_string() } else { format!("{n} items") }
            ),
        }));
    }
}

/// One authority's copy says that it holds only part of the plan.
pub(super) fn partial_copy(d: &Doc<'_>, out: &mut Vec<Block>) {
    let Some(u) = d.input.copy_for else {
        return;
    };
    let name = d.unit(u.organization, u.unit);
    let (full, short, ask) = (name.full(), name.short().to_string(), d.ask());
    out.push(Block::Para(match d.lang {
        Lang::Sv => format!(
            "Det här är den kopia av planen som finns hos {full}. Den visar bara det som {short} får ha enligt samtycket, inte hela planen. Vill {} veta mer, fråga {ask}.",
            d.you()
        ),
        Lang::En => format!(
            "This is the copy of the plan held by {full}. It shows only what {short} may hold under the consent, not the whole plan. If you want to know more, ask {ask}."
        ),
    }));
}

fn categories(d: &Doc<'_>, cats: &[i32]) -> String {
    let v: Vec<String> = cats
        .iter()
        .map(|c| {
            words::category(d.lang, d.reader, Category::try_from(*c).unwrap_or_default()).into()
        })
        .collect();
    words::list(d.lang, &v)
}

/// The consent, the revocations in force, and who has read the plan.
pub(super) fn sharing(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang) = (d.input, d.lang);
    out.push(Block::Heading(
        t(lang, "Vem som får veta vad", "Who may know what").into(),
    ));
    let about = match lang {
        Lang::Sv => by(d.reader, "barnet", "er och barnet", "dig"),
        Lang::En => by(d.reader, "the child", "you and the baby", "you"),
    };
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
            let on = words::date_of(lang, c.recorded_at_unix_ms);
            let givers: Option<Vec<String>> = c
                .guardian_consents
                .iter()
                .map(|g| d.person_by_id(&g.guardian_id))
                .collect();
            let gave = match (lang, givers.filter(|g| !g.is_empty())) {
                (Lang::Sv, Some(g)) if g == ["du"] => format!("Du gav ditt samtycke den {on}."),
                (Lang::En, Some(g)) if g == ["you"] => format!("You gave your consent on {on}."),
                (Lang::Sv, Some(g)) => {
                    format!("{} gav sitt samtycke den {on}.", words::list(lang, &g))
                }
                (Lang::En, Some(g)) => {
                    format!("{} gave their consent on {on}.", words::list(lang, &g))
                }
                (Lang::Sv, None) => match d.reader {
                    Reader::YoungPerson => format!("Du gav ditt samtycke den {on}."),
                    _ => format!("Ni gav ert samtycke den {on}."),
                },
                (Lang::En, None) => format!("You gave your consent on {on}."),
            };
            // From 15 the young person's own consent is recorded beside the guardians' (from 18
            // it is the only one, and the young person reads "you" above).
            let gave = if c.young_person_consented && d.reader != Reader::YoungPerson {
                match lang {
                    Lang::Sv => format!("{gave} {} har också själv samtyckt.", d.child_word()),
                    Lang::En => format!("{gave} {} also consented.", d.child_word()),
                }
            } else {
                gave
            };
            out.push(Block::Para(match lang {
                Lang::Sv => format!(
                    "{gave} Det gäller {until}. Så här får uppgifter om {about} delas inom planen:"
                ),
                Lang::En => format!(
                    "{gave} It is valid {until}. This is what may be shared about {about} within the plan:"
                ),
            }));
            for g in &c.grants {
                out.push(Block::Item(d.grant(g, &categories(d, &g.categories))));
            }
            if !c.child_view.is_empty() && d.reader == Reader::Guardians {
                out.push(Block::Para(match lang {
                    Lang::Sv => format!("Det här sa {} om det:", d.child_word()),
                    Lang::En => format!("What {} said about it:", d.child_word()),
                }));
                out.push(Block::Quote(c.child_view.clone()));
            }
        }
        None => out.push(Block::Para(match (lang, d.reader) {
            (Lang::Sv, Reader::YoungPerson) => format!(
                "Du har inte gett något samtycke. Därför delas inga uppgifter om {about} mellan myndigheterna i planen."
            ),
            (Lang::Sv, _) => format!(
                "Ni har inte gett något samtycke. Därför delas inga uppgifter om {about} mellan myndigheterna i planen."
            ),
            (Lang::En, _) => format!(
                "You have not given consent. So nothing about {about} is shared between the authorities in the plan."
            ),
        })),
    }
    for r in input.revocations {
        let on = words::date_of(lang, r.recorded_at_unix_ms);
        let who = d.person_by_id(&r.withdrawn_by).unwrap_or_else(|| {
            match lang {
                Lang::Sv => by(
                    d.reader,
                    "en av er som är vårdnadshavare",
                    "en av er",
                    "en vårdnadshavare",
                ),
                Lang::En => by(d.reader, "one of you", "one of you", "a guardian"),
            }
            .into()
        });
        let own = match (lang, who.as_str()) {
            (Lang::Sv, "du") => "ditt",
            (Lang::Sv, _) => "sitt",
            (Lang::En, "you") => "your",
            (Lang::En, _) => "their",
        };
        let mut s = match lang {
            Lang::Sv => format!("Den {on} tog {who} tillbaka {own} samtycke"),
            Lang::En => format!("On {on}, {who} withdrew {own} consent"),
        };
        if !r.organizations.is_empty() || !r.authorities.is_empty() {
            let orgs: Vec<String> = r
                .organizations
                .iter()
                .map(|o| d.grantee(o))
                .chain(r.authorities.iter().map(|a| d.authority(a)))
                .collect();
            let orgs = if orgs.iter().any(|o| o.contains(',')) {
                orgs.join("; ")
            } else {
                words::list(lang, &orgs)
            };
            let orgs = if r.categories.is_empty() {
                orgs
            } else {
                mid(&orgs)
            };
            s.push_str(&format!(" {} {orgs}", t(lang, "för", "for")));
        }
        if !r.categories.is_empty() {
            s.push_str(&format!(
                " {} {}",
                t(lang, "när det gäller", "as regards"),
                categories(d, &r.categories)
            ));
        }
        s.push_str(
            if r.organizations.is_empty() && r.authorities.is_empty() && r.categories.is_empty() {
                t(
                    lang,
                    ". Därför delas inget längre inom planen.",
                    ". So nothing is shared within the plan any more.",
                )
            } else {
                t(
                    lang,
                    ". Det delas inte längre.",
                    ". That is no longer shared.",
                )
            },
        );
        out.push(Block::Para(s));
    }
    reads(d, out);
}

/// Who has read the plan, per authority, as the access log shows it.
fn reads(d: &Doc<'_>, out: &mut Vec<Block>) {
    let lang = d.lang;
    let mut reads: Vec<_> = d.input.reads.iter().filter(|r| r.count > 0).collect();
    if reads.is_empty() {
        return;
    }
    reads.sort_by_key(|r| std::cmp::Reverse(r.last_unix_ms));
    out.push(Block::Para(
        t(
            lang,
            "Så här ofta har planen lästs, enligt loggen:",
            "How often the plan has been read, according to the log:",
        )
        .into(),
    ));
    for r in reads {
        let who = d.unit(&r.organization, &r.unit).full();
        let times = words::times(lang, r.count);
        let last = words::date_of(lang, r.last_unix_ms);
        out.push(Block::Item(match lang {
            Lang::Sv if r.count == 1 => {
                format!("{} har läst planen {times}, den {last}.", mid(&who))
            }
            Lang::Sv => format!("{} har läst planen {times}, senast den {last}.", mid(&who)),
            Lang::En if r.count == 1 => {
                format!("{} has read the plan {times}, on {last}.", mid(&who))
            }
            Lang::En => format!(
                "{} has read the plan {times}, most recently on {last}.",
                mid(&who)
            ),
        }));
    }
}

/// How to withdraw consent, ask for a log extract, and see each authority's own records; and
/// that the duty to report concern for a child holds whatever the plan says.
pub(super) fn rights(d: &Doc<'_>, out: &mut Vec<Block>) {
    let lang = d.lang;
    let ask = mid(&d.ask());
    out.push(Block::Heading(match lang {
        Lang::Sv => by(
            d.reader,
            "Era rättigheter",
            "Era rättigheter",
            "Dina rättigheter",
        )
        .into(),
        Lang::En => "Your rights".into(),
    }));
    out.push(Block::Para(match (lang, d.reader) {
        (Lang::Sv, Reader::Guardians) => format!("Ni kan när som helst ta tillbaka samtycket, helt eller för en del, och var och en av er som är vårdnadshavare kan göra det ensam. Säg det till {ask} eller till någon annan som är med i planen. Då slutar uppgifterna att delas, och de andra myndigheterna tar bort det de har fått; varje myndighet behåller bara sina egna anteckningar."),
        (Lang::Sv, Reader::Expecting) => format!("Ni kan när som helst ta tillbaka samtycket, helt eller för en del, och var och en av er kan göra det ensam. Säg det till {ask} eller till någon annan som är med i planen. Då slutar uppgifterna att delas, och de andra myndigheterna tar bort det de har fått; varje myndighet behåller bara sina egna anteckningar."),
        (Lang::Sv, Reader::YoungPerson) => format!("Du kan när som helst ta tillbaka ditt samtycke, helt eller för en del. Det är du som bestämmer, inte dina vårdnadshavare, eftersom du har fyllt 18 år. Säg det till {ask} eller till någon annan som är med i planen. Då slutar uppgifterna att delas, och de andra myndigheterna tar bort det de har fått; varje myndighet behåller bara sina egna anteckningar."),
        (Lang::En, Reader::Guardians) => format!("You can withdraw consent at any time, completely or in part, and each of you who is a guardian can do so alone. Tell {ask} or anyone else who takes part in the plan. Then the information stops being shared, and the other authorities delete what they received; each authority keeps only its own records."),
        (Lang::En, Reader::Expecting) => format!("You can withdraw consent at any time, completely or in part, and each of you can do so alone. Tell {ask} or anyone else who takes part in the plan. Then the information stops being shared, and the other authorities delete what they received; each authority keeps only its own records."),
        (Lang::En, Reader::YoungPerson) => format!("You can withdraw your consent at any time, completely or in part. You decide, not your guardians, as you are 18 or older. Tell {ask} or anyone else who takes part in the plan. Then the information stops being shared, and the other authorities delete what they received; each authority keeps only its own records."),
    }));
    if d.reader == Reader::Guardians {
        let who = d.child_word();
        let on = match d.age {
            Age::Born(y, m, day) => {
                Some(words::date(lang, &format!("{:04}-{m:02}-{day:02}", y + 18)))
            }
            _ => None,
        };
        let (sv_self, en_who) = match &d.child {
            Some(n) => (format!("{n} själv"), n.clone()),
            None => ("barnet självt".to_string(), "the child".to_string()),
        };
        out.push(Block::Para(match (lang, on) {
            (Lang::Sv, Some(on)) => format!("När {who} fyller 18 år, den {on}, är det {sv_self} och inte ni som ger och tar tillbaka samtycket."),
            (Lang::Sv, None) => format!("När {who} fyller 18 år är det {sv_self} och inte ni som ger och tar tillbaka samtycket."),
            (Lang::En, Some(on)) => format!("When {en_who} turns 18, on {on}, {en_who}, not you, gives and withdraws consent."),
            (Lang::En, None) => format!("When {en_who} turns 18, {en_who}, not you, gives and withdraws consent."),
        }));
    }
    let (you, yours) = match lang {
        Lang::Sv => by(d.reader, ("Ni", "er"), ("Ni", "er"), ("Du", "dig")),
        Lang::En => ("You", "you"),
    };
    out.push(Block::Para(match lang {
        Lang::Sv => format!("{you} har rätt att få ett loggutdrag som visar vem som har läst uppgifterna. Be {ask} om det. Varje myndighet i planen kan också ge {yours} ett utdrag ur sin egen logg."),
        Lang::En => format!("{you} have the right to a log extract showing who has read the information. Ask {ask} for one. Each authority in the plan can also give {yours} an extract from its own log."),
    }));
    // The same words in every copy, whether or not anything was withheld: see the module docs.
    out.push(Block::Para(match lang {
        Lang::Sv => format!("Varje myndighet i planen har också sina egna journaler och anteckningar. {you} kan begära att få läsa dem hos myndigheten. Lämnar myndigheten inte ut allt kan {} begära ett skriftligt beslut och överklaga det.", you.to_lowercase()),
        Lang::En => "Each authority in the plan also keeps its own records. You can ask the authority to see them. If it does not disclose everything, you can ask for a written decision and appeal against it.".into(),
    }));
    out.push(Block::Para(match (lang, d.reader) {
        (Lang::Sv, Reader::YoungPerson) => "Samtycket gäller det som delas inom planen. I vissa fall kan en lag ändå kräva att en myndighet lämnar ut uppgifter.".into(),
        (Lang::En, Reader::YoungPerson) => "The consent covers what is shared within the plan. In some cases a law may still require an authority to disclose information.".into(),
        (Lang::Sv, _) => format!("Planen och samtycket gäller det som delas inom planen. Alla som arbetar med barn är ändå skyldiga att genast anmäla till socialtjänsten om de får veta något som kan betyda att ett barn far illa ({REPORT_DUTY_SV}). Den skyldigheten gäller oavsett planen och samtycket."),
        (Lang::En, _) => format!("The plan and the consent cover what is shared within the plan. Everyone who works with children must still report to social services at once if they learn something that may mean a child is being harmed ({REPORT_DUTY_EN}). That duty holds whatever the plan and the consent say."),
    }));
}

/// What is left out under the consent, and when and by whom the document was made.
pub(super) fn small_print(d: &Doc<'_>, out: &mut Vec<Block>) {
    let (input, lang) = (d.input, d.lang);
    let maker = match input.copy_for {
        Some(u) => d.unit(u.organization, u.unit),
        None => UnitName {
            authority: String::new(),
            organization: input.org_name(lang, input.made_by),
        },
    }
    .full();
    let n = input.withheld;
    if n > 0 {
        let ask = mid(&d.ask());
        let you = d.you();
        out.push(Block::Note(match lang {
            Lang::Sv => format!(
                "{} av planen finns men visas inte här, eftersom {} inte får visa {}. Fråga {ask} om {you} vill veta mer.",
                if n == 1 { "En del".to_string() } else { format!("{n} delar") },
                mid(&maker),
                if n == 1 { "den" } else { "dem" },
            ),
            Lang::En => format!(
                "{} of the plan {} but {} not shown here, because {} may not show {}. Ask {ask} if you want to know more.",
                if n == 1 { "One part".to_string() } else { format!("{n} parts") },
                if n == 1 { "exists" } else { "exist" },
                if n == 1 { "is" } else { "are" },
                mid(&maker),
                if n == 1 { "it" } else { "them" },
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
