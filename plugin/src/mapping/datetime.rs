//! The few date-times the connector reads and writes, without a date library (the one it used
//! cost 64 KB of a 625 KB component): fixed-width fields, and UTC arithmetic by day numbers.
//! The accepted forms are exactly those the `time` crate accepted here before (its RFC 3339
//! parser and the `[year]-[month]-[day]…` descriptions); the tests compare the two.

/// A moment in UTC, to the second: seconds since 1970-01-01T00:00:00Z.
pub type UnixSeconds = i64;

const SECONDS_PER_DAY: i64 = 86_400;

/// A calendar date and time of day, in whatever offset the text had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// Seconds since midnight.
    second_of_day: i64,
}

impl Civil {
    fn unix(self) -> UnixSeconds {
        days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY + self.second_of_day
    }
}

/// The UTC date and time of `unix`, as `(year, month, day, hour, minute, second)`.
fn utc_parts(unix: UnixSeconds) -> (i64, u32, u32, i64, i64, i64) {
    let (year, month, day) = civil_from_days(unix.div_euclid(SECONDS_PER_DAY));
    let second = unix.rem_euclid(SECONDS_PER_DAY);
    (year, month, day, second / 3600, second / 60 % 60, second % 60)
}

/// The UTC year of `unix`.
pub fn utc_year(unix: UnixSeconds) -> i64 {
    utc_parts(unix).0
}

/// `YYYY-MM-DDTHH:MM:SSZ`, for years 0000-9999 (`None` outside them).
pub fn format_utc(unix: UnixSeconds) -> Option<String> {
    let (year, month, day, hour, minute, second) = utc_parts(unix);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"))
}

/// RFC 3339: `YYYY-MM-DD`, any one separator byte, `HH:MM:SS`, an optional fraction of any
/// length (dropped), then `Z` (either case) or `±HH:MM`. A leap second (`:60`) is accepted as
/// the second before it, only where one can fall: the last second of a month in UTC.
pub fn parse_rfc3339(text: &str) -> Option<UnixSeconds> {
    let mut input = Fields(text.as_bytes());
    let year = i64::from(input.digits(4)?);
    input.literal(b'-')?;
    let month = input.digits(2)?;
    input.literal(b'-')?;
    let day = input.digits(2)?;
    input.any_byte()?;
    let (hour, minute, second) = input.time_of_day()?;
    if input.literal(b'.').is_some() {
        input.digits(1)?;
        while input.digits(1).is_some() {}
    }
    let offset_minutes = if input.literal(b'Z').or_else(|| input.literal(b'z')).is_some() {
        0
    } else {
        let sign = input.sign()?;
        let hours = input.digits(2).filter(|h| *h <= 23)?;
        input.literal(b':')?;
        let minutes = input.digits(2).filter(|m| *m <= 59)?;
        sign * i64::from(hours * 60 + minutes)
    };
    if !input.0.is_empty() {
        return None;
    }
    let leap = second == 60;
    let local = civil(year, month, day, hour, minute, if leap { 59 } else { second })?;
    let unix = local.unix() - offset_minutes * 60;
    if leap {
        let (year, month, day, ..) = utc_parts(unix);
        if unix.rem_euclid(SECONDS_PER_DAY) != SECONDS_PER_DAY - 1 || day != days_in_month(year, month) {
            return None;
        }
    }
    Some(unix)
}

/// `[±]YYYY-MM-DDTHH:MM:SS[.f]` (1 to 32 fraction digits, dropped), read as UTC.
pub fn parse_local_date_time(text: &str) -> Option<UnixSeconds> {
    let mut input = Fields(text.as_bytes());
    let (year, month, day) = input.date()?;
    input.literal(b'T')?;
    let (hour, minute, second) = input.time_of_day()?;
    if input.literal(b'.').is_some() {
        input.digits(1)?;
        for _ in 1..32 {
            if input.digits(1).is_none() {
                break;
            }
        }
    }
    if !input.0.is_empty() {
        return None;
    }
    Some(civil(year, month, day, hour, minute, second)?.unix())
}

/// `[±]YYYY-MM-DD`, its midnight read as UTC.
pub fn parse_date(text: &str) -> Option<UnixSeconds> {
    let mut input = Fields(text.as_bytes());
    let (year, month, day) = input.date()?;
    if !input.0.is_empty() {
        return None;
    }
    Some(civil(year, month, day, 0, 0, 0)?.unix())
}

/// A valid date and time of day (years -9999 to 9999, seconds 0-59).
fn civil(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Civil> {
    let valid = (-9999..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    let second_of_day = i64::from(hour * 3600 + minute * 60 + second);
    valid.then_some(Civil { year, month, day, second_of_day })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// The text still to read; each reader consumes what it returns, or nothing.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    /// Exactly `width` ASCII digits.
    fn digits(&mut self, width: usize) -> Option<u32> {
        let (head, rest) = self.0.split_at_checked(width)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        Some(head.iter().fold(0, |value, digit| value * 10 + u32::from(digit - b'0')))
    }

    fn literal(&mut self, byte: u8) -> Option<()> {
        let rest = self.0.strip_prefix(&[byte])?;
        self.0 = rest;
        Some(())
    }

    fn any_byte(&mut self) -> Option<()> {
        self.0 = self.0.get(1..)?;
        Some(())
    }

    /// `+` or `-`, as 1 or -1.
    fn sign(&mut self) -> Option<i64> {
        match self.literal(b'+') {
            Some(()) => Some(1),
            None => self.literal(b'-').map(|()| -1),
        }
    }

    /// `HH:MM:SS`, unchecked.
    fn time_of_day(&mut self) -> Option<(u32, u32, u32)> {
        let hour = self.digits(2)?;
        self.literal(b':')?;
        let minute = self.digits(2)?;
        self.literal(b':')?;
        Some((hour, minute, self.digits(2)?))
    }

    /// `[±]YYYY-MM-DD`, unchecked.
    fn date(&mut self) -> Option<(i64, u32, u32)> {
        let sign = self.sign().unwrap_or(1);
        let year = sign * i64::from(self.digits(4)?);
        self.literal(b'-')?;
        let month = self.digits(2)?;
        self.literal(b'-')?;
        Some((year, month, self.digits(2)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_across_the_years() {
        for days in (-4_000_000..4_000_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days, "{year}-{month}-{day}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(format_utc(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(format_utc(1_741_947_725).as_deref(), Some("2025-03-14T10:22:05Z"));
        assert_eq!(format_utc(-62_167_219_200).as_deref(), Some("0000-01-01T00:00:00Z"));
        assert_eq!(format_utc(-62_167_219_201), None);
        assert_eq!(format_utc(253_402_300_799).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(format_utc(253_402_300_800), None);
    }

    #[test]
    fn leap_seconds_only_where_one_can_fall() {
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2016-12-31T23:59:59Z"));
        assert_eq!(parse_rfc3339("2015-07-01T01:59:60+02:00"), parse_rfc3339("2015-06-30T23:59:59Z"));
        assert_eq!(parse_rfc3339("2016-12-30T23:59:60Z"), None);
        assert_eq!(parse_rfc3339("2016-12-31T22:59:60Z"), None);
        assert_eq!(parse_local_date_time("2016-12-31T23:59:60"), None);
    }

    /// Every form, and every near miss, read as the `time` crate read it (a dev-dependency
    /// for this comparison only).
    #[test]
    fn reads_exactly_what_the_time_crate_read() {
        use time::format_description::well_known::Rfc3339;
        use time::macros::format_description;
        use time::{Date, OffsetDateTime, PrimitiveDateTime};

        let with_time = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
        let date_only = format_description!("[year]-[month]-[day]");
        let rfc3339 = |text: &str| OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| t.unix_timestamp());
        let local =
            |text: &str| PrimitiveDateTime::parse(text, with_time).ok().map(|t| t.assume_utc().unix_timestamp());
        let date = |text: &str| Date::parse(text, date_only).ok().map(|d| d.midnight().assume_utc().unix_timestamp());

        let mut cases: Vec<String> = [
            "2025-03-14T10:22:05+00:00",
            "2025-03-14t10:22:05z",
            "2025-03-14 10:22:05Z",
            "2025-03-14é10:22:05Z",
            "2025-03-14T10:22:05.1234567891234567890123456789012345+02:00",
            "2025-03-14T10:22:05.",
            "2025-03-14T10:22:05.5",
            "2025-03-14T10:22:05.123456789012345678901234567890123",
            "2025-03-14T23:30:00-05:00",
            "2025-03-14T23:30:00-24:00",
            "2025-03-14T23:30:00+23:59",
            "2025-03-14T23:30:00+05:60",
            "2025-03-14T23:30:00+0500",
            "2025-03-14T23:30:00+05",
            "2025-03-14T23:30:00 ",
            "2025-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-00-10T00:00:00Z",
            "2025-13-10T00:00:00Z",
            "2025-01-00T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T23:60:00Z",
            "2025-01-01T23:59:61Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:60Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5+00:00",
            "2016-12-31T18:59:60-05:00",
            "2016-06-30T23:59:60Z",
            "2016-06-29T23:59:60Z",
            "+2025-03-14T10:30:00",
            "-0001-03-14T10:30:00",
            "+12025-03-14T10:30:00",
            "-009999-03-14T10:30:00",
            "+0000001-03-14T10:30:00",
            "+202-03-14T10:30:00",
            "2025-3-14T10:30:00",
            "2025-03-14T10:30",
            "2025-03-14",
            "+2025-03-14",
            "-2025-06-30",
            "02025-06-30",
            "2025-06-30T",
            "2025/06/30",
            "",
            "T",
            "２０２５-03-14",
        ]
        .map(String::from)
        .to_vec();
        // Every prefix of a few long forms, and every single-byte change to them.
        for long in ["2024-02-29T23:59:59.999+01:30", "-0001-12-31T23:59:59.5", "2016-12-31T23:59:60Z"] {
            for end in 0..=long.len() {
                cases.push(long[..end].to_string());
            }
            for at in 0..long.len() {
                for byte in [b'0', b'9', b'3', b'-', b'+', b':', b'T', b'Z', b'.', b' ', b'x'] {
                    let mut bytes = long.as_bytes().to_vec();
                    bytes[at] = byte;
                    cases.push(String::from_utf8(bytes).unwrap());
                }
            }
        }
        for case in &cases {
            assert_eq!(parse_rfc3339(case), rfc3339(case), "RFC 3339 {case:?}");
            assert_eq!(parse_local_date_time(case), local(case), "date-time {case:?}");
            assert_eq!(parse_date(case), date(case), "date {case:?}");
        }
        for unix in [0, 1_741_947_725, -62_167_219_200, 253_402_300_799, 951_782_400, -1] {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(format_utc(unix), t.format(&Rfc3339).ok(), "{unix}");
        }
    }
}
