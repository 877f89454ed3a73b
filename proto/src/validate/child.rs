//! The child a plan is for: the identity number by its kind (personal identity number,
//! coordination number, a region's reserve number, none before birth), the expected month, the
//! birth date and the schooling. Messages name the field and never quote the value.

use super::{FieldError, MAX_SHORT_TEXT, Result, date, text};
use crate::personnummer;
use crate::v1::{Child, IdentityKind, Schooling};

/// Shortest and longest reserve number, in characters.
const RESERVE_LEN: std::ops::RangeInclusive<usize> = 4..=32;

/// Parses `YYYY-MM` to `(year, month)`.
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
        return None;
    }
    let year = s[..4].parse().ok()?;
    let month = s[5..].parse().ok()?;
    (1..=12).contains(&month).then_some((year, month))
}

/// Months from `(y, m)` to `(y2, m2)`.
fn months_between((y, m): (i32, u32), (y2, m2): (i32, u32)) -> i64 {
    (i64::from(y2) - i64::from(y)) * 12 + i64::from(m2) - i64::from(m)
}

/// Checks the child of a header. `today` resolves 10-digit numbers' century and bounds dates.
pub fn child(field: &str, c: &Child, today: (i32, u32, u32)) -> Result {
    let pin = format!("{field}.personal_identity_number");
    let kind = IdentityKind::try_from(c.identity_kind).map_err(|_| {
        FieldError::new(
            format!("{field}.identity_kind"),
            "is not a kind of identity number",
        )
    })?;
    if Schooling::try_from(c.schooling).is_err() {
        return Err(FieldError::new(
            format!("{field}.schooling"),
            "is not a kind of schooling",
        ));
    }
    date(&format!("{field}.birth_date"), &c.birth_date, false)?;
    if kind != IdentityKind::Unborn && !c.expected_month.is_empty() {
        return Err(FieldError::new(
            format!("{field}.expected_month"),
            "is only for a child not born yet (identity_kind IDENTITY_KIND_UNBORN)",
        ));
    }
    let number_date = match kind {
        IdentityKind::Unborn => {
            if !c.personal_identity_number.is_empty() {
                return Err(FieldError::new(
                    pin,
                    "must be empty before birth; the number is added at birth by a header update",
                ));
            }
            if !c.birth_date.is_empty() {
                return Err(FieldError::new(
                    format!("{field}.birth_date"),
                    "must be empty before birth; set expected_month",
                ));
            }
            let month = format!("{field}.expected_month");
            let expected = parse_month(&c.expected_month)
                .ok_or_else(|| FieldError::new(&month, "is required before birth, as YYYY-MM"))?;
            // A birth may come some weeks late; a plan is made during the pregnancy.
            let ahead = months_between((today.0, today.1), expected);
            if !(-3..=11).contains(&ahead) {
                return Err(FieldError::new(
                    month,
                    "must lie between three months ago and eleven months ahead; after birth add the identity number",
                ));
            }
            None
        }
        IdentityKind::ReserveNumber => {
            let n = &c.personal_identity_number;
            if n.is_empty() {
                return Err(FieldError::new(pin, "is required"));
            }
            let shape = RESERVE_LEN.contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            if !shape {
                return Err(FieldError::new(
                    pin,
                    "a reserve number must be 4 to 32 of A-Z, 0-9 and '-'",
                ));
            }
            None
        }
        IdentityKind::Unspecified
        | IdentityKind::PersonalIdentityNumber
        | IdentityKind::CoordinationNumber => {
            if c.personal_identity_number.is_empty() {
                return Err(FieldError::new(
                    pin,
                    "is required (before birth: identity_kind IDENTITY_KIND_UNBORN with expected_month)",
                ));
            }
            let p = personnummer::parse(&c.personal_identity_number, today)
                .map_err(|e| FieldError::new(&pin, e.to_string()))?;
            match (kind, p.is_coordination_number()) {
                (IdentityKind::PersonalIdentityNumber, true) => {
                    return Err(FieldError::new(
                        pin,
                        "is a coordination number (60 added to the day): set identity_kind IDENTITY_KIND_COORDINATION_NUMBER",
                    ));
                }
                (IdentityKind::CoordinationNumber, false) => {
                    return Err(FieldError::new(
                        pin,
                        "is not a coordination number (60 added to the day)",
                    ));
                }
                _ => {}
            }
            Some(p.birth_date())
        }
    };
    if let Some(born) = super::parse_date(&c.birth_date) {
        if born > today {
            return Err(FieldError::new(
                format!("{field}.birth_date"),
                "lies in the future",
            ));
        }
        if number_date.is_some_and(|d| d != born) {
            return Err(FieldError::new(
                format!("{field}.birth_date"),
                "does not match the date of birth in the identity number",
            ));
        }
    }
    text(
        &format!("{field}.name"),
        &c.name,
        MAX_SHORT_TEXT,
        kind != IdentityKind::Unborn,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i32, u32, u32) = (2026, 11, 24);

    fn born(number: &str) -> Child {
        Child {
            personal_identity_number: number.into(),
            name: "Testbarn Påhittad".into(),
            ..Default::default()
        }
    }

    fn problem(c: &Child) -> String {
        let e = child("child", c, TODAY).unwrap_err();
        // Never the value, whatever it was.
        if !c.personal_identity_number.is_empty() {
            assert!(!e.to_string().contains(&c.personal_identity_number), "{e}");
        }
        format!("{}: {}", e.field, e.problem)
    }

    #[test]
    fn each_kind_of_number_is_checked_as_far_as_its_format_allows() {
        assert_eq!(child("child", &born("20170101-2393"), TODAY), Ok(()));
        let mut typed = born("20170101-2393");
        typed.identity_kind = IdentityKind::PersonalIdentityNumber as i32;
        assert_eq!(child("child", &typed, TODAY), Ok(()));
        typed.identity_kind = IdentityKind::CoordinationNumber as i32;
        assert!(problem(&typed).contains("not a coordination number"));
        // 1912-12-12 as a coordination number: day 72, with its check digit.
        let coordination = born("19121272-1219");
        assert_eq!(child("child", &coordination, TODAY), Ok(()));
        let mut wrong = coordination.clone();
        wrong.identity_kind = IdentityKind::PersonalIdentityNumber as i32;
        assert!(problem(&wrong).contains("set identity_kind"));
        assert!(problem(&born("20170101-2394")).contains("check digit"));

        let mut reserve = born("KRONOBERG-R-0042");
        reserve.identity_kind = IdentityKind::ReserveNumber as i32;
        assert_eq!(child("child", &reserve, TODAY), Ok(()));
        for bad in ["R1", "kronoberg-r-1", "R 1234", &"R".repeat(33), "R_1234"] {
            reserve.personal_identity_number = bad.into();
            assert!(problem(&reserve).contains("reserve number"), "{bad}");
        }
        reserve.personal_identity_number.clear();
        assert!(problem(&reserve).ends_with("is required"));
        assert!(problem(&born("")).contains("IDENTITY_KIND_UNBORN"));
        let mut unknown = born("20170101-2393");
        unknown.identity_kind = 99;
        assert!(problem(&unknown).starts_with("child.identity_kind"));
    }

    #[test]
    fn before_birth_there_is_an_expected_month_and_no_number() {
        let unborn = Child {
            identity_kind: IdentityKind::Unborn as i32,
            expected_month: "2027-03".into(),
            ..Default::default()
        };
        assert_eq!(child("child", &unborn, TODAY), Ok(()));
        for (month, ok) in [
            ("2026-08", true),
            ("2026-07", false),
            ("2027-10", true),
            ("2027-11", false),
            ("2027-13", false),
            ("2027-3", false),
            ("", false),
        ] {
            let c = Child {
                expected_month: month.into(),
                ..unborn.clone()
            };
            assert_eq!(child("child", &c, TODAY).is_ok(), ok, "{month}");
        }
        let numbered = Child {
            personal_identity_number: "20170101-2393".into(),
            ..unborn.clone()
        };
        assert!(problem(&numbered).contains("added at birth"));
        let dated = Child {
            birth_date: "2026-11-01".into(),
            ..unborn.clone()
        };
        assert!(problem(&dated).starts_with("child.birth_date"));
        let mut expected_but_born = born("20170101-2393");
        expected_but_born.expected_month = "2027-01".into();
        assert!(problem(&expected_but_born).starts_with("child.expected_month"));
    }

    #[test]
    fn a_birth_date_agrees_with_the_number_and_is_not_in_the_future() {
        let mut c = born("20170101-2393");
        c.birth_date = "2017-01-01".into();
        assert_eq!(child("child", &c, TODAY), Ok(()));
        c.birth_date = "2017-01-02".into();
        assert!(problem(&c).contains("does not match"));
        let mut reserve = born("KRONOBERG-R-0042");
        reserve.identity_kind = IdentityKind::ReserveNumber as i32;
        reserve.birth_date = "2026-11-20".into();
        assert_eq!(child("child", &reserve, TODAY), Ok(()));
        reserve.birth_date = "2026-11-25".into();
        assert!(problem(&reserve).contains("future"));
        let mut schooled = born("20170101-2393");
        schooled.schooling = 42;
        assert!(problem(&schooled).starts_with("child.schooling"));
    }
}
