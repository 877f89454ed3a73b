//! Who consents, by age (Barnkonventionen art. 12; OSL ch. 12):
//!
//! - before birth: every guardian the header records with custody — the expectant parents who will
//!   have custody, the pregnant person among them — consents and may withdraw;
//! - under 15: every guardian with custody consents and may withdraw; the child's view is recorded
//!   with the consent but is not a consent;
//! - from 15: the guardians still consent, and the young person's own consent is recorded and
//!   required for information held by the authority kinds the configuration names (health care
//!   weighs maturity);
//! - from 18: the young person alone consents and withdraws; the guardians do neither.
//!
//! A consent must satisfy the rule both on the day it was recorded and today, so that time only
//! ever takes access away: a consent given by the guardians alone lapses at 18, and one given by a
//! 17-year-old alone does not come into force at 18. A withdrawal always counts unless a guardian
//! recorded it after the young person turned 18. Birthdays are Swedish civil days; born on 29
//! February, one turns a year older on 1 March in common years.

use std::collections::BTreeSet;

use crate::authority::{AuthorityKind, KindSet};
use crate::date::{Birth, Date};
use crate::state::{ConsentState, PlanState, WithdrawnBy};

/// Configuration: where the young person's own consent is required from 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRules {
    /// Authority kinds whose information needs the young person's own consent from 15.
    pub own_consent_from_15: KindSet,
}

impl Default for ConsentRules {
    /// Health care: there a mature young person's own say is the law's rule, so it is the
    /// narrower default.
    fn default() -> Self {
        ConsentRules {
            own_consent_from_15: KindSet::health_care(),
        }
    }
}

/// Which age rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeStage {
    /// Not born yet.
    Unborn,
    /// Under 15, or the birth date is unknown.
    Child,
    /// 15 to 17.
    Young,
    /// 18 or older.
    Adult,
}

/// Who must consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consenters {
    /// The age rule applied.
    pub stage: AgeStage,
    /// Every guardian with custody must consent, and a guardian may withdraw.
    pub guardians: bool,
    /// The young person's own consent is required for information held by these kinds.
    pub young_person_for: KindSet,
}

/// A consenter the consent lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// A guardian with custody, by guardian id.
    Guardian(String),
    /// The young person's own consent.
    YoungPerson,
}

impl Consenters {
    /// Is the young person's own consent required for information held by `disclosing`? An
    /// unknown holder is read as any kind the rule names.
    pub fn young_person_required(&self, disclosing: Option<AuthorityKind>) -> bool {
        match disclosing {
            Some(k) => self.young_person_for.contains(k),
            None => !self.young_person_for.is_empty(),
        }
    }

    /// The first consenter `consent` lacks for information held by `disclosing` (guardians in id
    /// order first), or `None` when it is complete.
    pub fn missing(
        &self,
        consent: &ConsentState,
        custodial_guardians: &BTreeSet<String>,
        disclosing: Option<AuthorityKind>,
    ) -> Option<Missing> {
        if self.guardians
            && let Some(g) = custodial_guardians
                .iter()
                .find(|g| !consent.consented_guardians.contains(*g))
        {
            return Some(Missing::Guardian(g.clone()));
        }
        (self.young_person_required(disclosing) && !consent.young_person_consented)
            .then_some(Missing::YoungPerson)
    }
}

/// Who must consent for a child born (or expected) as `birth`, on `today`.
pub fn required_consenters(birth: Option<Birth>, today: Date, rules: &ConsentRules) -> Consenters {
    let stage = match birth {
        Some(Birth::Expected { .. }) => AgeStage::Unborn,
        Some(b @ Birth::Born(_)) => match b.age_on(today) {
            None => AgeStage::Unborn,
            Some(..15) => AgeStage::Child,
            Some(15..18) => AgeStage::Young,
            Some(_) => AgeStage::Adult,
        },
        None => AgeStage::Child,
    };
    let (guardians, young_person_for) = match stage {
        AgeStage::Unborn | AgeStage::Child => (true, KindSet::EMPTY),
        AgeStage::Young => (true, rules.own_consent_from_15),
        AgeStage::Adult => (false, KindSet::ALL),
    };
    Consenters {
        stage,
        guardians,
        young_person_for,
    }
}

/// Does a withdrawal recorded on `recorded_on` count? Not when a guardian recorded it after the
/// young person turned 18; always otherwise (a withdrawal only takes access away).
pub fn withdrawal_counts(birth: Option<Birth>, by: &WithdrawnBy, recorded_on: Date) -> bool {
    match by {
        WithdrawnBy::Guardian(_) => birth
            .and_then(Birth::born_on)
            .is_none_or(|b| recorded_on < b.anniversary(18)),
        WithdrawnBy::YoungPerson | WithdrawnBy::PlanClosed | WithdrawnBy::Unknown => true,
    }
}

/// The consenter the plan's current consent lacks for information held by `disclosing`, by the
/// rule on the day it was recorded and by the rule today.
pub(crate) fn consent_missing(
    plan: &PlanState,
    consent: &ConsentState,
    disclosing: Option<AuthorityKind>,
    now_ms: i64,
) -> Option<Missing> {
    [now_ms, consent.recorded_at_ms].into_iter().find_map(|at| {
        required_consenters(plan.child_birth, Date::in_sweden(at), &plan.consent_rules).missing(
            consent,
            &plan.custodial_guardians,
            disclosing,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    fn stage(born: Date, today: Date) -> AgeStage {
        required_consenters(Some(Birth::Born(born)), today, &ConsentRules::default()).stage
    }

    #[test]
    fn the_stages_change_on_the_birthday() {
        let born = d(2010, 5, 17);
        assert_eq!(stage(born, d(2025, 5, 16)), AgeStage::Child);
        assert_eq!(stage(born, d(2025, 5, 17)), AgeStage::Young);
        assert_eq!(stage(born, d(2028, 5, 16)), AgeStage::Young);
        assert_eq!(stage(born, d(2028, 5, 17)), AgeStage::Adult);
        let leap = d(2008, 2, 29);
        assert_eq!(stage(leap, d(2026, 2, 28)), AgeStage::Young);
        assert_eq!(stage(leap, d(2026, 3, 1)), AgeStage::Adult);
        assert_eq!(stage(leap, d(2023, 2, 28)), AgeStage::Child);
        assert_eq!(stage(leap, d(2023, 3, 1)), AgeStage::Young);
        let expected = Some(Birth::Expected {
            year: 2026,
            month: 1,
        });
        let c = required_consenters(expected, d(2025, 10, 1), &ConsentRules::default());
        assert_eq!((c.stage, c.guardians), (AgeStage::Unborn, true));
        assert!(!c.young_person_required(None));
        // A birth date after today is read as not born yet.
        assert_eq!(stage(d(2026, 1, 2), d(2026, 1, 1)), AgeStage::Unborn);
        let unknown = required_consenters(None, d(2025, 1, 1), &ConsentRules::default());
        assert_eq!((unknown.stage, unknown.guardians), (AgeStage::Child, true));
    }

    #[test]
    fn from_15_health_care_needs_the_young_persons_consent_and_from_18_only_it_counts() {
        let young = required_consenters(
            Some(Birth::Born(d(2009, 1, 1))),
            d(2025, 1, 1),
            &ConsentRules::default(),
        );
        assert!(young.young_person_required(Some(AuthorityKind::ChildPsychiatry)));
        assert!(!young.young_person_required(Some(AuthorityKind::School)));
        assert!(
            young.young_person_required(None),
            "an unknown holder is read strictly"
        );
        let custodial = BTreeSet::from(["g1".to_string(), "g2".to_string()]);
        let mut c = ConsentState {
            consented_guardians: custodial.clone(),
            ..Default::default()
        };
        assert_eq!(
            young.missing(&c, &custodial, Some(AuthorityKind::ChildPsychiatry)),
            Some(Missing::YoungPerson)
        );
        assert_eq!(
            young.missing(&c, &custodial, Some(AuthorityKind::School)),
            None
        );
        c.consented_guardians.remove("g1");
        c.young_person_consented = true;
        assert_eq!(
            young.missing(&c, &custodial, Some(AuthorityKind::School)),
            Some(Missing::Guardian("g1".into()))
        );
        let adult = required_consenters(
            Some(Birth::Born(d(2007, 1, 1))),
            d(2025, 1, 1),
            &ConsentRules::default(),
        );
        assert_eq!(
            adult.missing(&c, &custodial, Some(AuthorityKind::School)),
            None
        );
        c.young_person_consented = false;
        c.consented_guardians = custodial.clone();
        assert_eq!(
            adult.missing(&c, &custodial, Some(AuthorityKind::School)),
            Some(Missing::YoungPerson)
        );
    }

    #[test]
    fn a_guardians_withdrawal_after_18_does_not_count_but_the_young_persons_does() {
        let birth = Some(Birth::Born(d(2007, 3, 10)));
        let g = WithdrawnBy::Guardian("g1".into());
        assert!(withdrawal_counts(birth, &g, d(2025, 3, 9)));
        assert!(!withdrawal_counts(birth, &g, d(2025, 3, 10)));
        assert!(withdrawal_counts(
            birth,
            &WithdrawnBy::YoungPerson,
            d(2030, 1, 1)
        ));
        assert!(withdrawal_counts(
            birth,
            &WithdrawnBy::Unknown,
            d(2030, 1, 1)
        ));
        assert!(withdrawal_counts(None, &g, d(2030, 1, 1)));
        // Closing the plan of an adult withdraws every grant: it is no guardian's withdrawal.
        let closed = WithdrawnBy::from_wire("plan-closed");
        assert_eq!(closed, WithdrawnBy::PlanClosed);
        assert!(withdrawal_counts(birth, &closed, d(2030, 1, 1)));
    }

    proptest! {
        /// The stage is a step function of the age: it never goes back as days pass, guardians
        /// consent exactly before 18, and the young person's consent is needed only from 15.
        #[test]
        fn stages_follow_the_birthdays(born in -20_000i64..20_000, t in -20_000i64..30_000, dt in 0i64..3000, flags in 0u16..8192) {
            let born = Date::from_unix_day(born);
            let today = Date::from_unix_day(t);
            let rules = ConsentRules { own_consent_from_15: AuthorityKind::ALL.into_iter().filter(|k| flags & (1 << *k as u8) != 0).collect() };
            let c = required_consenters(Some(Birth::Born(born)), today, &rules);
            let later = required_consenters(Some(Birth::Born(born)), today.add_days(dt), &rules);
            prop_assert!(c.stage <= later.stage);
            let age = if born <= today { Some(born.age_on(today)) } else { None };
            prop_assert_eq!(c.guardians, age.is_none_or(|a| a < 18));
            prop_assert_eq!(c.stage == AgeStage::Adult, today >= born.anniversary(18));
            prop_assert_eq!(c.stage >= AgeStage::Young, today >= born.anniversary(15));
            for k in AuthorityKind::ALL {
                let want = match c.stage {
                    AgeStage::Unborn | AgeStage::Child => false,
                    AgeStage::Young => rules.own_consent_from_15.contains(k),
                    AgeStage::Adult => true,
                };
                prop_assert_eq!(c.young_person_required(Some(k)), want);
            }
        }

        /// Leap-day children: on 28 February of a common year they are still a year younger.
        #[test]
        fn leap_day_children_turn_on_the_first_of_march(leap in 0i32..100, years in 1i32..30) {
            let year = 1904 + 4 * leap;
            prop_assume!(crate::date::is_leap_year(year));
            let born = d(year, 2, 29);
            let turn = born.anniversary(years);
            prop_assert_eq!(born.age_on(turn), years);
            prop_assert_eq!(born.age_on(turn.add_days(-1)), years - 1);
            if !crate::date::is_leap_year(year + years) {
                prop_assert_eq!(turn, d(year + years, 3, 1));
            }
        }
    }
}
