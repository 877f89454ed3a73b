//! Withheld from the guardians (OSL ch. 12 §3): information may be kept from the guardians when
//! disclosure would seriously harm the child. The author marks the fragment; anything made for the
//! guardians — the family's document, an export or an access log extract for them — leaves it out,
//! access records about it included, since those would tell that it exists.

use crate::date::{Birth, Date};

/// Whom a read or a document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Staff of a participating unit, at work.
    Staff,
    /// The guardians, or the family as a whole (a document the guardians will read).
    Guardians,
    /// The young person alone.
    YoungPerson,
}

/// May a fragment marked (or not) `withheld_from_guardians` be included for `audience`?
pub fn included(audience: Audience, withheld_from_guardians: bool) -> bool {
    !(withheld_from_guardians && audience == Audience::Guardians)
}

/// Whom the family's document is for on `today`: the guardians until the child turns 18 (or while
/// the birth is unknown), the young person from then on.
pub fn family_audience(birth: Option<Birth>, today: Date) -> Audience {
    match birth.and_then(|b| b.age_on(today)) {
        Some(age) if age >= 18 => Audience::YoungPerson,
        _ => Audience::Guardians,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_guardians_lose_withheld_fragments() {
        assert!(!included(Audience::Guardians, true));
        assert!(included(Audience::Guardians, false));
        assert!(included(Audience::Staff, true));
        assert!(included(Audience::YoungPerson, true));
    }

    #[test]
    fn the_family_document_is_the_young_persons_from_18() {
        let born = Some(Birth::Born(Date::new(2007, 6, 1).unwrap()));
        assert_eq!(
            family_audience(born, Date::new(2025, 5, 31).unwrap()),
            Audience::Guardians
        );
        assert_eq!(
            family_audience(born, Date::new(2025, 6, 1).unwrap()),
            Audience::YoungPerson
        );
        assert_eq!(
            family_audience(None, Date::new(2099, 1, 1).unwrap()),
            Audience::Guardians
        );
    }

    proptest! {
        /// Whatever the audience, a withheld fragment never reaches the guardians, and marking a
        /// fragment never adds it anywhere.
        #[test]
        fn withholding_only_takes_away(a in prop::sample::select(vec![Audience::Staff, Audience::Guardians, Audience::YoungPerson]), born in -10_000i64..10_000, t in -10_000i64..20_000) {
            prop_assert!(!included(a, true) || included(a, false));
            let audience = family_audience(Some(Birth::Born(Date::from_unix_day(born))), Date::from_unix_day(t));
            if audience == Audience::Guardians {
                prop_assert!(!included(audience, true));
            }
        }
    }
}
