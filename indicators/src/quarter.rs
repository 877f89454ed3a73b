//! Day numbers and calendar quarters: the only time the indicators know. Facts carry day numbers
//! (days since 1970-01-01); the output carries quarters only, so no exact date leaves a node.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A day as the number of days since 1970-01-01 (negative before).
pub type Day = i32;

/// The civil date `(year, month, day)` of a day number (proleptic Gregorian calendar).
pub fn civil(day: Day) -> (i32, u32, u32) {
    // H. Hinnant's `civil_from_days`.
    let z = i64::from(day) + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u32, d as u32)
}

/// The day number of a civil date; `None` when the date does not exist.
pub fn day_of(year: i32, month: u32, day: u32) -> Option<Day> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let y = i64::from(year) - i64::from(month <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Day::try_from(era * 146_097 + doe - 719_468).ok()
}

/// A calendar quarter, written `2026-Q4` in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Quarter {
    year: i32,
    quarter: u8,
}

impl Quarter {
    /// The quarter `quarter` (1–4) of `year` (1970–9999).
    pub fn new(year: i32, quarter: u8) -> Option<Quarter> {
        ((1970..=9999).contains(&year) && (1..=4).contains(&quarter))
            .then_some(Quarter { year, quarter })
    }

    /// The quarter a day lies in.
    pub fn of(day: Day) -> Quarter {
        let (year, month, _) = civil(day);
        Quarter {
            year,
            quarter: ((month - 1) / 3 + 1) as u8,
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The quarter's number in its year, 1–4.
    pub fn number(self) -> u8 {
        self.quarter
    }

    /// The first day of the quarter.
    pub fn first_day(self) -> Day {
        day_of(self.year, u32::from(self.quarter) * 3 - 2, 1).unwrap_or(Day::MIN)
    }

    /// The last day of the quarter.
    pub fn last_day(self) -> Day {
        self.next().first_day() - 1
    }

    /// Whether `day` lies in the quarter.
    pub fn contains(self, day: Day) -> bool {
        Quarter::of(day) == self
    }

    /// The quarter after this one.
    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }

    /// The quarter before this one.
    pub fn prev(self) -> Quarter {
        if self.quarter == 1 {
            Quarter {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// The quarter in Swedish words, e.g. "oktober–december 2026".
    pub fn label_sv(self) -> String {
        let months = match self.quarter {
            1 => "januari–mars",
            2 => "april–juni",
            3 => "juli–september",
            _ => "oktober–december",
        };
        format!("{months} {}", self.year)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

/// A string that is not a quarter written `YYYY-QN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a quarter written YYYY-QN")]
pub struct NotAQuarter;

impl FromStr for Quarter {
    type Err = NotAQuarter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, q) = s.split_once("-Q").ok_or(NotAQuarter)?;
        if y.len() != 4 || q.len() != 1 {
            return Err(NotAQuarter);
        }
        let year = y.parse().map_err(|_| NotAQuarter)?;
        let quarter = q.parse().map_err(|_| NotAQuarter)?;
        Quarter::new(year, quarter).ok_or(NotAQuarter)
    }
}

impl TryFrom<String> for Quarter {
    type Error = NotAQuarter;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Quarter> for String {
    fn from(q: Quarter) -> String {
        q.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(day_of(2026, 10, 1), Some(20_727));
        assert_eq!(civil(20_727), (2026, 10, 1));
        assert_eq!(day_of(2024, 2, 30), None);
        assert_eq!(day_of(2024, 2, 29).map(civil), Some((2024, 2, 29)));
    }

    #[test]
    fn quarter_bounds_and_text() {
        let q = Quarter::new(2026, 4).unwrap();
        assert_eq!(q.to_string(), "2026-Q4");
        assert_eq!("2026-Q4".parse::<Quarter>(), Ok(q));
        assert!("2026-Q5".parse::<Quarter>().is_err());
        assert!("26-Q1".parse::<Quarter>().is_err());
        assert_eq!(civil(q.first_day()), (2026, 10, 1));
        assert_eq!(civil(q.last_day()), (2026, 12, 31));
        assert_eq!(civil(q.next().first_day()), (2027, 1, 1));
        assert_eq!(q.prev().to_string(), "2026-Q3");
        assert_eq!(q.label_sv(), "oktober–december 2026");
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"2026-Q4\"");
    }

    proptest! {
        #[test]
        fn day_round_trips_and_lies_in_its_quarter(day in 0i32..2_900_000) {
            let (y, m, d) = civil(day);
            prop_assert_eq!(day_of(y, m, d), Some(day));
            let q = Quarter::of(day);
            prop_assert!(q.first_day() <= day && day <= q.last_day());
            prop_assert_eq!(Quarter::of(q.last_day() + 1), q.next());
        }
    }
}
