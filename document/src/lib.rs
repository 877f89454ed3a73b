//! A child's plan as documents: in plain words for the guardians and the child (HTML and PDF, in
//! Swedish or English), and as a FHIR R4 Bundle for other systems.
//!
//! Everything here is a pure function of what the caller may already see: the node decides which
//! fragments a reader may see and logs the access; this crate only turns them into a document.
//! The plain-language document is first built as a list of [`Block`]s, so the HTML and the PDF
//! say exactly the same thing.

#![forbid(unsafe_code)]

pub mod fhir;
#[cfg(test)]
mod fixture;
mod html;
mod pdf;
mod plain;
mod words;

use kronobarn_proto::v1::{Consent, Fragment, Revocation};

pub use html::html;
pub use pdf::pdf;
pub use plain::{Block, blocks};

/// The language of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Swedish, the default.
    Sv,
    /// English.
    En,
}

impl Lang {
    /// Parses "sv", "en" or "" (Swedish).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "sv" | "sv-SE" => Some(Self::Sv),
            "en" | "en-GB" | "en-US" => Some(Self::En),
            _ => None,
        }
    }

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }
}

/// An authority (or care unit) in words, and the organisation it belongs to: "BUP Växjö" of
/// "Region Kronoberg". Secrecy holds between authorities, not only between organisations, so the
/// family's document names the authority.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitName {
    /// The authority or unit, e.g. "BUP Växjö" or "Östra skolan"; empty when only the
    /// organisation is known.
    pub authority: String,
    /// The organisation, e.g. "Region Kronoberg".
    pub organization: String,
}

impl UnitName {
    /// "BUP Växjö, Region Kronoberg"; the organisation alone when the authority is not known.
    pub fn full(&self) -> String {
        if self.authority.is_empty() || self.authority == self.organization {
            self.organization.clone()
        } else {
            format!("{}, {}", self.authority, self.organization)
        }
    }

    /// "BUP Växjö"; the organisation when the authority is not known.
    pub fn short(&self) -> &str {
        if self.authority.is_empty() {
            &self.organization
        } else {
            &self.authority
        }
    }
}

/// An authority by id: a unit of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitRef<'a> {
    /// Organisation id, e.g. "region-kronoberg".
    pub organization: &'a str,
    /// Unit id, e.g. "bup-vaxjo".
    pub unit: &'a str,
}

/// Whom a consent's grant that names only an organisation reaches, as the policy decides it.
/// The caller asks the policy (`kronobarn_policy::PlanState::legacy_grant_reading`); a document
/// only says it, so it never names more than the policy lets know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationGrant {
    /// The one authority of the organisation that takes part in the plan: the grant reaches it.
    /// Its units taking part (unit ids), by which the document names it.
    Authority(Vec<String>),
    /// None of the organisation's authorities takes part: the grant reaches none of them.
    NoneTakesPart,
    /// Several take part, and the consent does not say which: it reaches none of them.
    Ambiguous,
}

/// How often one authority has read the plan, as the access log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Organisation id of the readers.
    pub organization: String,
    /// Unit id of the readers; empty when the log does not name one.
    pub unit: String,
    /// How many reads.
    pub count: u32,
    /// The latest read, milliseconds since the Unix epoch.
    pub last_unix_ms: i64,
}

/// What a document is made from: only what its reader may see.
pub struct PlanInput<'a> {
    /// The plan id.
    pub plan_id: &'a str,
    /// The plan's responsible organisation.
    pub home_organization: &'a str,
    /// The fragments the reader may see. In a guardian copy, without the fragments their authors
    /// marked as not to be shown to the guardians (OSL ch. 12 §3).
    pub fragments: &'a [Fragment],
    /// How many fragments exist that the reader may not see under the consent (not counting
    /// `withheld_from_guardians`).
    pub withheld: usize,
    /// The plan's current consent, if any.
    pub consent: Option<&'a Consent>,
    /// Revocations in force.
    pub revocations: &'a [Revocation],
    /// Today, as (year, month, day), for "next" and "overdue".
    pub today: (i32, u32, u32),
    /// When the document is made, milliseconds since the Unix epoch.
    pub made_at_unix_ms: i64,
    /// The organisation making the document.
    pub made_by: &'a str,
    /// Display names of organisations by id (from the roster); the id is shown when missing.
    pub names: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Authorities in words by (organisation id, unit id), from a directory of units; when
    /// missing, the organisation's name is shown.
    pub unit_names: &'a (dyn Fn(&str, &str) -> Option<UnitName> + Sync),
    /// Authorities by directory id, as (organisation id, name in words): a grant or a
    /// revocation may name one.
    pub authority_names: &'a (dyn Fn(&str) -> Option<(String, String)> + Sync),
    /// Whom a grant naming only an organisation (by id) reaches, as the policy decides it.
    pub organization_grants: &'a (dyn Fn(&str) -> OrganizationGrant + Sync),
    /// Who has read the plan, per authority, from the access log.
    pub reads: &'a [Reads],
    /// Set when the document is one authority's copy that may hold only part of the plan (BUP's
    /// copy): the document then says so and names where the whole plan is.
    pub copy_for: Option<UnitRef<'a>>,
    /// True for the copy handed to the guardians.
    pub guardian_copy: bool,
    /// How many fragments their authors marked as not to be shown to the guardians. A guardian
    /// copy leaves them out and never reveals this number; any other copy warns that it must not
    /// be handed to the guardians.
    pub withheld_from_guardians: usize,
    /// The child or a guardian has protected personal data (skyddade personuppgifter): no
    /// address or contact details of the child or the guardians appear, and every document warns.
    pub protected_identity: bool,
}

impl PlanInput<'_> {
    /// An organisation in words, for the documents' language-independent parts (FHIR).
    fn name(&self, org: &str) -> String {
        self.org_name(Lang::Sv, org)
    }

    /// An organisation in words.
    fn org_name(&self, lang: Lang, org: &str) -> String {
        match (self.names)(org) {
            Some(n) => words::organization(lang, &n),
            None => org.to_string(),
        }
    }

    /// An authority in words; the organisation alone when the unit is not in the directory.
    fn unit_name(&self, lang: Lang, org: &str, unit: &str) -> UnitName {
        let organization = self.org_name(lang, org);
        match (!unit.is_empty())
            .then(|| (self.unit_names)(org, unit))
            .flatten()
        {
            Some(u) => UnitName {
                authority: words::organization(lang, &u.authority),
                organization: if u.organization.is_empty() {
                    organization
                } else {
                    words::organization(lang, &u.organization)
                },
            },
            None => UnitName {
                authority: String::new(),
                organization,
            },
        }
    }

    /// An authority by directory id in words; `None` when the directory does not know it.
    fn authority_name(&self, lang: Lang, id: &str) -> Option<UnitName> {
        (self.authority_names)(id).map(|(org, name)| UnitName {
            authority: words::organization(lang, &name),
            organization: self.org_name(lang, &org),
        })
    }

    fn today_iso(&self) -> String {
        let (y, m, d) = self.today;
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// The first instant of year 10000: later instants cannot be written as ISO 8601 / FHIR dates,
/// and mean "no end" in practice.
pub const YEAR_10000_MS: i64 = 253_402_300_800_000;

/// An instant as FHIR and ISO 8601 write it: `YYYY-MM-DDThh:mm:ss.sssZ` (UTC).
pub fn instant(unix_ms: i64) -> String {
    let (y, m, d) = kronobarn_proto::validate::civil_date(unix_ms);
    let ms = unix_ms.rem_euclid(86_400_000);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_utc_iso8601() {
        assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(instant(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
    }

    #[test]
    fn languages() {
        assert_eq!(Lang::parse(""), Some(Lang::Sv));
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
    }
}
