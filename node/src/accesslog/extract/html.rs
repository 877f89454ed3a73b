//! The extract as a page a guardian can read on a phone: who read, wrote, sent or received which
//! part of the plan, when (Swedish time), why and under which consent, in plain words; then how
//! the file beside it can be checked, and against which key.

use std::collections::BTreeMap;

use kronobarn_document::Lang;
use kronobarn_proto::v1::{AccessRecord, Decision};

use super::Verified;
use super::words::{Part, action, purpose, reason, swedish_time, t};

/// What the page needs besides the verified extract.
pub struct Page<'a> {
    /// The language.
    pub lang: Lang,
    /// Display names of organisations by id; the id is shown when missing.
    pub names: &'a dyn Fn(&str) -> Option<String>,
    /// The part of the plan each record's fragment id names.
    pub parts: &'a BTreeMap<String, Part>,
    /// The JSON file's name, as handed out beside the page.
    pub json_file: &'a str,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Page<'_> {
    fn name(&self, org: &str) -> String {
        (self.names)(org).unwrap_or_else(|| org.to_string())
    }

    fn who(&self, v: &Verified, r: &AccessRecord) -> String {
        let lang = self.lang;
        if r.role == "node" {
            // An exchange between the organisations' systems, not a person.
            return format!(
                "{} ({})",
                self.name(&v.organization),
                t(lang, "systemet, automatiskt", "its system, automatically")
            );
        }
        let mut out = esc(&r.user_id);
        let detail: Vec<String> = [&r.role, &r.unit]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| esc(s))
            .collect();
        if !detail.is_empty() {
            out.push_str(&format!(" ({})", detail.join(", ")));
        }
        out.push_str(&format!(", {}", esc(&self.name(&r.organization))));
        out
    }

    fn row(&self, v: &Verified, r: &AccessRecord) -> String {
        let lang = self.lang;
        let by_node = r.role == "node";
        let part = self
            .parts
            .get(&r.fragment_id)
            .cloned()
            .unwrap_or(Part::Gone)
            .words(lang);
        let what = if by_node {
            format!(
                "{} {}: {}",
                action(lang, r.action, true),
                esc(&self.name(&r.organization)),
                esc(&part)
            )
        } else {
            format!("{} {}", action(lang, r.action, false), esc(&part))
        };
        let decision = if r.decision == Decision::Permit as i32 {
            t(lang, "tillåtet", "permitted")
        } else {
            t(lang, "nekat", "refused")
        };
        let consent = if r.consent_version == 0 {
            "–".to_string()
        } else {
            format!("{} {}", t(lang, "version", "version"), r.consent_version)
        };
        format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}: {}</td><td>{}</td></tr>\n",
            swedish_time(r.at_unix_ms),
            self.who(v, r),
            what,
            esc(&purpose(lang, &r.purpose)),
            decision,
            reason(lang, &r.reason),
            consent
        )
    }

    /// The page for a verified extract.
    pub fn render(&self, v: &Verified) -> String {
        let lang = self.lang;
        let org = esc(&self.name(&v.organization));
        let rows: String = v.records.iter().map(|(_, r)| self.row(v, r)).collect();
        let witnesses = if v.witnesses.is_empty() && v.unchecked_cosignatures.is_empty() {
            t(
                lang,
                "Inga andra organisationer har ännu bestyrkt loggen vid den här tidpunkten; kontrollen visar då bara att organisationen själv står för den.",
                "No other organisation has yet witnessed the log at this point; the check then shows only that the organisation itself vouches for it.",
            )
            .to_string()
        } else {
            let names: Vec<String> = v
                .witnesses
                .iter()
                .chain(&v.unchecked_cosignatures)
                .map(|w| esc(&self.name(w)))
                .collect();
            format!(
                "{} {}. {}",
                t(
                    lang,
                    "Loggen vid den här tidpunkten är bestyrkt av",
                    "The log at this point is witnessed by"
                ),
                names.join(", "),
                t(
                    lang,
                    "De håller reda på organisationens logg och skulle ha larmat om den hade skrivits om.",
                    "They keep track of the organisation's log and would have raised an alarm had it been rewritten."
                )
            )
        };
        let key_id = &v.signer_key_id;
        let (title, intro, rights, columns, check) = match lang {
            Lang::Sv => (
                "Loggutdrag för barnets plan",
                format!(
                    "Här står varje gång någon hos <b>{org}</b> har läst, skrivit, skickat eller tagit emot uppgifter i barnets plan: när (svensk tid), vem, vilken del av planen, varför, och med stöd av vilket samtycke. Utdraget visar alla {} händelser fram till {}.",
                    v.records.len(),
                    swedish_time(v.checkpoint.at_unix_ms)
                ),
                "Ni har rätt att få ett loggutdrag som visar vem som har läst uppgifterna om barnet.",
                ["När", "Vem", "Vad", "Varför", "Beslut", "Samtycke"],
                format!(
                    "<h2>Så kan ni kontrollera utdraget</h2>\n<p>Filen <code>{json}</code> innehåller samma händelser, undertecknade av {org} med nyckeln <code>{key_id}</code> (hela nyckeln: <code>{key}</code>). Jämför nyckeln med den som länets deltagarlista anger för {org}: ett utdrag undertecknat med någon annan nyckel är inte äkta.</p>\n<p>Med programmet kronobarn: <code>kronobarn log verify-extract {json} --roster roster.toml</code> (eller <code>--key {key}</code>). Kontrollen visar att varje händelse finns i organisationens logg, och att ingen händelse om planen har utelämnats fram till {when} ({size} händelser i hela loggen).</p>",
                    json = esc(self.json_file),
                    key = v.signer_key,
                    when = swedish_time(v.checkpoint.at_unix_ms),
                    size = v.checkpoint.size,
                ),
            ),
            Lang::En => (
                "Access log extract for the child's plan",
                format!(
                    "Every time someone at <b>{org}</b> read, wrote, sent or received information in the child's plan: when (Swedish time), who, which part of the plan, why, and under which consent. The extract shows all {} events up to {}.",
                    v.records.len(),
                    swedish_time(v.checkpoint.at_unix_ms)
                ),
                "You have the right to an extract of the log showing who has read the information about the child.",
                ["When", "Who", "What", "Why", "Decision", "Consent"],
                format!(
                    "<h2>How to check this extract</h2>\n<p>The file <code>{json}</code> holds the same events, signed by {org} with the key <code>{key_id}</code> (in full: <code>{key}</code>). Compare the key with the one the county's roster gives for {org}: an extract signed with any other key is not genuine.</p>\n<p>With the kronobarn program: <code>kronobarn log verify-extract {json} --roster roster.toml</code> (or <code>--key {key}</code>). The check shows that every event is in the organisation's log, and that no event about the plan was left out up to {when} ({size} events in the whole log).</p>",
                    json = esc(self.json_file),
                    key = v.signer_key,
                    when = swedish_time(v.checkpoint.at_unix_ms),
                    size = v.checkpoint.size,
                ),
            ),
        };
        let head: String = columns.iter().map(|c| format!("<th>{c}</th>")).collect();
        format!(
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:1rem;max-width:70rem;line-height:1.4}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}}code{{word-break:break-all}}@media(max-width:40rem){{td,th{{display:block}}tr{{display:block;margin-bottom:1rem}}}}</style></head><body>\n<h1>{title}</h1>\n<p>{intro}</p>\n<p>{rights}</p>\n<table><tr>{head}</tr>\n{rows}</table>\n<p>{witnesses}</p>\n{check}\n</body></html>\n",
            lang.tag(),
        )
    }
}
