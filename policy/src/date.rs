//! Calendar days for the rules that follow the child's age: a plain (year, month, day) with the
//! conversions the rules need, and the Swedish civil date of an instant. No clock: the caller
//! passes the instant.

/// A day of the (proleptic Gregorian) calendar. Orders by year, then month, then day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2025.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

const MS_PER_DAY: i64 = 86_400_000;
const MS_PER_HOUR: i64 = 3_600_000;

/// True for a leap year of the Gregorian calendar.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year` (0 for a month outside 1–12).
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The day, if it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (the wire's date form).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| s[r].parse::<u32>().ok())
                .flatten()
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = u8::try_from(digits(5..7)?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn unix_day(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01.
    pub fn from_unix_day(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The day `n` days later (earlier for a negative `n`).
    pub fn add_days(self, n: i64) -> Date {
        Date::from_unix_day(self.unix_day() + n)
    }

    /// The civil date in Sweden at `unix_ms`: UTC+1, and UTC+2 from 01:00 UTC on the last Sunday
    /// of March to 01:00 UTC on the last Sunday of October (the EU rule). A birthday begins at
    /// Swedish midnight, not at UTC midnight.
    pub fn in_sweden(unix_ms: i64) -> Date {
        let utc = Date::from_unix_day(unix_ms.div_euclid(MS_PER_DAY));
        let switch = |month| {
            last_sunday(utc.year, month)
                .saturating_mul(MS_PER_DAY)
                .saturating_add(MS_PER_HOUR)
        };
        let summer = (switch(3)..switch(10)).contains(&unix_ms);
        let offset = if summer { 2 } else { 1 } * MS_PER_HOUR;
        Date::from_unix_day((unix_ms.saturating_add(offset)).div_euclid(MS_PER_DAY))
    }

    /// The day someone born on this day turns `years` old. Born on 29 February, one turns a year
    /// older on 1 March in a common year: the anniversary has not been reached on 28 February.
    pub fn anniversary(self, years: i32) -> Date {
        let year = self.year.saturating_add(years);
        Date::new(year, self.month, self.day).unwrap_or(Date {
            year,
            month: 3,
            day: 1,
        })
    }

    /// Whole years someone born on this day has completed on `today` (negative before birth).
    pub fn age_on(self, today: Date) -> i32 {
        let years = today.year.saturating_sub(self.year);
        if (today.month, today.day) < (self.month, self.day) {
            years - 1
        } else {
            years
        }
    }
}

/// Unix day of the last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u8) -> i64 {
    let last = Date {
        year,
        month,
        day: days_in_month(year, month),
    }
    .unix_day();
    // 1970-01-01 was a Thursday; Monday is 0, Sunday 6.
    let weekday = (last + 3).rem_euclid(7);
    last - (weekday + 1) % 7
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Whether the child is born, as far as the plan knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    /// Not born yet; expected in this month (no personal identity number yet).
    Expected {
        /// Expected year.
        year: i32,
        /// Expected month, 1–12.
        month: u8,
    },
    /// Born on this day.
    Born(Date),
}

impl Birth {
    /// The birth date, once born.
    pub fn born_on(self) -> Option<Date> {
        match self {
            Birth::Born(d) => Some(d),
            Birth::Expected { .. } => None,
        }
    }

    /// Whole years completed on `today`; `None` before birth (also for a birth date after `today`).
    pub fn age_on(self, today: Date) -> Option<i32> {
        self.born_on()
            .filter(|b| *b <= today)
            .map(|b| b.age_on(today))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn known_days() {
        assert_eq!(d(1970, 1, 1).unix_day(), 0);
        assert_eq!(d(2000, 3, 1).unix_day(), 11_017);
        assert_eq!(Date::from_unix_day(-1), d(1969, 12, 31));
        assert_eq!(Date::parse("2024-02-29"), Some(d(2024, 2, 29)));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-2-28"), None);
        assert_eq!(Date::parse("+023-02-28"), None);
        assert_eq!(d(2024, 2, 29).to_string(), "2024-02-29");
    }

    #[test]
    fn swedish_midnight_and_summer_time() {
        let ms = |date: Date, h: i64, m: i64| {
            date.unix_day() * MS_PER_DAY + h * MS_PER_HOUR + m * 60_000
        };
        // Winter: 23:30 UTC is 00:30 the next day in Sweden.
        assert_eq!(Date::in_sweden(ms(d(2025, 1, 14), 23, 30)), d(2025, 1, 15));
        assert_eq!(Date::in_sweden(ms(d(2025, 1, 14), 22, 59)), d(2025, 1, 14));
        // Summer: 22:00 UTC is already midnight.
        assert_eq!(Date::in_sweden(ms(d(2025, 7, 14), 22, 0)), d(2025, 7, 15));
        assert_eq!(Date::in_sweden(ms(d(2025, 7, 14), 21, 59)), d(2025, 7, 14));
        // 2025: summer time from 30 March to 26 October.
        assert_eq!(last_sunday(2025, 3), d(2025, 3, 30).unix_day());
        assert_eq!(last_sunday(2025, 10), d(2025, 10, 26).unix_day());
        assert_eq!(Date::in_sweden(ms(d(2025, 3, 29), 22, 30)), d(2025, 3, 29));
        assert_eq!(Date::in_sweden(ms(d(2025, 3, 30), 22, 30)), d(2025, 3, 31));
    }

    #[test]
    fn leap_day_birthdays_come_on_the_first_of_march_in_common_years() {
        let b = d(2008, 2, 29);
        assert_eq!(b.anniversary(18), d(2026, 3, 1));
        assert_eq!(b.age_on(d(2026, 2, 28)), 17);
        assert_eq!(b.age_on(d(2026, 3, 1)), 18);
        assert_eq!(b.anniversary(16), d(2024, 2, 29));
        assert_eq!(b.age_on(d(2024, 2, 28)), 15);
        assert_eq!(b.age_on(d(2024, 2, 29)), 16);
        // Dates from the wire are four-digit years, but no input may panic.
        let far = Date::new(i32::MAX, 12, 31).unwrap();
        assert_eq!(far.anniversary(20).year, i32::MAX);
        assert_eq!(Date::new(i32::MIN, 1, 1).unwrap().age_on(far), i32::MAX);
        for ms in [i64::MIN, i64::MAX, 0, -1] {
            let _ = Date::in_sweden(ms);
        }
    }

    proptest! {
        #[test]
        fn day_numbers_round_trip(n in -1_000_000i64..1_000_000) {
            let date = Date::from_unix_day(n);
            prop_assert_eq!(date.unix_day(), n);
            prop_assert!(Date::new(date.year, date.month, date.day).is_some());
            prop_assert_eq!(Date::parse(&date.to_string()).filter(|_| date.year >= 0 && date.year < 10_000), (date.year >= 0 && date.year < 10_000).then_some(date));
            prop_assert!(date < date.add_days(1));
        }

        /// One turns n on the anniversary and not a day before.
        #[test]
        fn age_changes_on_the_anniversary(n in -300_000i64..300_000, years in 1i32..100) {
            let born = Date::from_unix_day(n);
            let turns = born.anniversary(years);
            prop_assert_eq!(born.age_on(turns), years);
            prop_assert_eq!(born.age_on(turns.add_days(-1)), years - 1);
        }

        /// The Swedish date is the UTC date or the next one, and never goes backwards in time.
        #[test]
        fn swedish_date_is_monotonic(ms in -4_000_000_000_000i64..4_000_000_000_000, dt in 0i64..(3 * MS_PER_DAY)) {
            let utc = Date::from_unix_day(ms.div_euclid(MS_PER_DAY));
            let se = Date::in_sweden(ms);
            prop_assert!(se == utc || se == utc.add_days(1));
            prop_assert!(se <= Date::in_sweden(ms + dt));
        }
    }
}
