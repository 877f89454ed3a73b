//! A child's plan as documents: in plain words for the guardians and the child (HTML and PDF, in
//! Swedish or English), and as a FHIR R4 Bundle for other systems.
//!
//! Everything here is a pure function of what the caller may already see: the node decides which
//! fragments a reader may see and logs the access; this crate only turns them into a document.
//! The plain-language document is first built as a list of [`Block`]s, so the HTML and the PDF
//! say exactly the same thing.

#![forbid(unsafe_code)]

pub mod fhir;
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

/// What a document is made from: only what its reader may see.
pub struct PlanInput<'a> {
    /// The plan id.
    pub plan_id: &'a str,
    /// The plan's responsible organisation.
    pub home_organization: &'a str,
    /// The fragments the reader may see.
    pub fragments: &'a [Fragment],
    /// How many fragments exist that the reader may not see.
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
}

impl PlanInput<'_> {
    fn name(&self, org: &str) -> String {
        (self.names)(org).unwrap_or_else(|| org.to_string())
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
