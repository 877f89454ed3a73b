//! Calendar dates: parsing ISO dates, civil dates from Unix time, and the Swedish calendar day
//! (plans, follow-ups and documents turn the day at midnight in Sweden). Pure: the caller passes
//! the instant. Both `personnummer` and `validate` use it, and neither uses the other's dates.

/// Days in `month` of `year` (Gregorian).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses an ISO 8601 calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..].parse().ok()?;
    if !s[..4]
        .bytes()
        .chain(s[5..7].bytes())
        .chain(s[8..].bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

/// The civil date `(year, month, day)` of a Unix time in milliseconds (UTC).
pub fn civil_date(unix_ms: i64) -> (i32, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = unix_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Days since the Unix epoch of a civil date (the inverse of [`civil_date`]).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    // Howard Hinnant's days-from-civil algorithm.
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Offset of Swedish time from UTC at an instant, in milliseconds: one hour, or two in summer
/// time (EU rule: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
/// October).
pub fn swedish_offset_ms(unix_ms: i64) -> i64 {
    let (y, _, _) = civil_date(unix_ms);
    let last_sunday = |m: u32| {
        let last = days_from_civil(y, m, days_in_month(y, m));
        // 1970-01-01 was a Thursday; 0 = Sunday.
        let weekday = (last + 4).rem_euclid(7);
        (last - weekday) * 86_400_000 + 3_600_000
    };
    if unix_ms >= last_sunday(3) && unix_ms < last_sunday(10) {
        7_200_000
    } else {
        3_600_000
    }
}

/// The calendar date in Sweden at an instant: plans, follow-ups and documents use Swedish
/// dates, so "today" turns at midnight in Växjö, not in Greenwich.
pub fn swedish_date(unix_ms: i64) -> (i32, u32, u32) {
    civil_date(unix_ms + swedish_offset_ms(unix_ms))
}
