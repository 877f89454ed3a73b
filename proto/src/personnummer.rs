//! Swedish personal identity numbers ("personnummer") and coordination numbers
//! ("samordningsnummer"): format, date and Luhn check digit, reporting which is wrong.
//!
//! Accepted forms: `YYYYMMDD-NNNC`, `YYYYMMDDNNNC`, and the 10-digit `YYMMDD-NNNC` / `YYMMDD+NNNC`
//! (`+` from the year the person turns 100). A coordination number has 60 added to the day.
//! Error messages never repeat the number itself, so they are safe to return and to log.

use crate::date::days_in_month;

/// What is wrong with a personal identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonnummerError {
    /// Not one of the accepted shapes.
    #[error("format: expected YYYYMMDD-NNNC or YYMMDD-NNNC")]
    Format,
    /// The date part is not a real date (or lies in the future).
    #[error("date: the date part is not a valid date of birth")]
    Date,
    /// The last digit does not match the Luhn check digit.
    #[error("check digit: the last digit does not match")]
    CheckDigit,
}

/// A validated number, normalised to `YYYYMMDD-NNNC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personnummer {
    normalised: String,
    coordination: bool,
}

impl Personnummer {
    /// The 12-digit form `YYYYMMDD-NNNC`.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// True for a coordination number (day + 60).
    pub fn is_coordination_number(&self) -> bool {
        self.coordination
    }
}

/// Luhn check digit over the nine digits `YYMMDDNNN`.
fn luhn(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Parses and validates `s`. `today` is `(year, month, day)`; it resolves the century of the
/// 10-digit form and rejects birth dates in the future.
pub fn parse(s: &str, today: (i32, u32, u32)) -> Result<Personnummer, PersonnummerError> {
    let b = s.as_bytes();
    let all_digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    let (century, body, sep): (Option<i32>, String, u8) = match b.len() {
        13 if b[8] == b'-' && all_digits(&b[..8]) && all_digits(&b[9..]) => {
            (Some(num(&b[..2])), format!("{}{}", &s[2..8], &s[9..]), b'-')
        }
        12 if all_digits(b) => (Some(num(&b[..2])), s[2..].to_string(), b'-'),
        11 if (b[6] == b'-' || b[6] == b'+') && all_digits(&b[..6]) && all_digits(&b[7..]) => {
            (None, format!("{}{}", &s[..6], &s[7..]), b[6])
        }
        _ => return Err(PersonnummerError::Format),
    };
    let d: Vec<u8> = body.bytes().map(|c| c - b'0').collect();
    let yy = i32::from(d[0]) * 10 + i32::from(d[1]);
    let month = u32::from(d[2]) * 10 + u32::from(d[3]);
    let mut day = u32::from(d[4]) * 10 + u32::from(d[5]);
    let coordination = day > 60;
    if coordination {
        day -= 60;
    }
    let year = match century {
        Some(c) => c * 100 + yy,
        None => {
            // The most recent year ending in yy that is not in the future; '+' means 100 years more.
            let mut y = today.0 - (today.0 - yy).rem_euclid(100);
            if sep == b'+' {
                y -= 100;
            }
            y
        }
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(PersonnummerError::Date);
    }
    if (year, month, day) > (today.0, today.1, today.2) {
        return Err(PersonnummerError::Date);
    }
    if luhn(&d[..9]) != d[9] {
        return Err(PersonnummerError::CheckDigit);
    }
    let raw_day = if coordination { day + 60 } else { day };
    Ok(Personnummer {
        normalised: format!("{year:04}{month:02}{raw_day:02}-{}", &body[6..]),
        coordination,
    })
}

fn num(b: &[u8]) -> i32 {
    b.iter().fold(0, |acc, d| acc * 10 + i32::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TODAY: (i32, u32, u32) = (2026, 11, 24);

    #[test]
    fn tax_agency_test_numbers_are_valid() {
        for s in [
            "19121212-1212",
            "191212121212",
            "121212-1212",
            "20080101-2386",
        ] {
            assert!(parse(s, TODAY).is_ok(), "{s}");
        }
        assert_eq!(
            parse("121212-1212", TODAY).unwrap().as_str(),
            "20121212-1212"
        );
        assert_eq!(
            parse("121212+1212", TODAY).unwrap().as_str(),
            "19121212-1212"
        );
    }

    #[test]
    fn reports_which_part_is_wrong() {
        assert_eq!(
            parse("19121212-1213", TODAY),
            Err(PersonnummerError::CheckDigit)
        );
        assert_eq!(parse("19121312-1212", TODAY), Err(PersonnummerError::Date));
        assert_eq!(parse("20230229-1234", TODAY), Err(PersonnummerError::Date));
        assert_eq!(parse("20990101-1234", TODAY), Err(PersonnummerError::Date));
        assert_eq!(
            parse("1912121-21212", TODAY),
            Err(PersonnummerError::Format)
        );
        assert_eq!(
            parse("19121212 1212", TODAY),
            Err(PersonnummerError::Format)
        );
        assert_eq!(parse("", TODAY), Err(PersonnummerError::Format));
        assert_eq!(
            parse("ÅÅÅÅMMDD-NNNN", TODAY),
            Err(PersonnummerError::Format)
        );
    }

    #[test]
    fn coordination_numbers_add_sixty_to_the_day() {
        // 1912-12-12 as coordination number: day 72.
        let body = [1u8, 2, 1, 2, 7, 2, 1, 2, 1];
        let c = luhn(&body);
        let s = format!("19121272-121{c}");
        let p = parse(&s, TODAY).unwrap();
        assert!(p.is_coordination_number());
        assert_eq!(parse("19121292-1212", TODAY), Err(PersonnummerError::Date));
    }

    #[test]
    fn error_messages_never_contain_digits() {
        for e in [
            PersonnummerError::Format,
            PersonnummerError::Date,
            PersonnummerError::CheckDigit,
        ] {
            assert!(!e.to_string().chars().any(|c| c.is_ascii_digit()));
        }
    }

    proptest! {
        #[test]
        fn any_string_parses_or_fails_without_panic(s in "\\PC{0,20}") {
            let _ = parse(&s, TODAY);
        }

        #[test]
        fn changing_the_check_digit_is_always_caught(y in 1930i32..2025, m in 1u32..13, d in 1u32..29, n in 0u32..1000) {
            let body: Vec<u8> = format!("{:02}{m:02}{d:02}{n:03}", y % 100).bytes().map(|c| c - b'0').collect();
            let c = luhn(&body);
            let good = format!("{y}{m:02}{d:02}-{n:03}{c}");
            prop_assert!(parse(&good, TODAY).is_ok());
            let bad = format!("{y}{m:02}{d:02}-{n:03}{}", (c + 1) % 10);
            prop_assert_eq!(parse(&bad, TODAY), Err(PersonnummerError::CheckDigit));
        }
    }
}
