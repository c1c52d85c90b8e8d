//! Answer values and the calendar rules of the language.
//!
//! Numbers are IEEE doubles everywhere (the browser runtime has nothing
//! else), so whole-number questions are limited to the range a double holds
//! exactly. Dates are civil dates without a time zone; times are minutes
//! after midnight.

use std::fmt;

use jiff::civil::Date;

/// The largest whole number a question accepts (2^53 - 1): beyond it a
/// double, and so the browser, cannot tell neighbouring integers apart.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// One answer, or the result of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unanswered, not relevant, or the result of arithmetic with an empty value.
    Empty,
    /// yes/no
    Bool(bool),
    /// Any number.
    Number(f64),
    /// A text or a single choice code.
    Text(String),
    /// A calendar date.
    Date(Date),
    /// A time of day in minutes after midnight.
    Time(u16),
    /// The codes of a multiple choice, in the order of the list.
    Multi(Vec<String>),
}

impl Value {
    /// Whether this is [`Value::Empty`] (or an empty multiple choice).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Multi(codes) => codes.is_empty(),
            _ => false,
        }
    }

    /// The value as stored in submissions and manifests.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Empty => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Number(n) => number_to_json(*n),
            Value::Text(t) => t.clone().into(),
            Value::Date(d) => format_date(*d).into(),
            Value::Time(t) => format_time(*t).into(),
            Value::Multi(codes) => codes.clone().into(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Empty => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{}", number_to_json(*n)),
            Value::Text(t) => f.write_str(t),
            Value::Date(d) => f.write_str(&format_date(*d)),
            Value::Time(t) => f.write_str(&format_time(*t)),
            Value::Multi(codes) => f.write_str(&codes.join(" ")),
        }
    }
}

/// A number as JSON: whole numbers without a fraction.
pub fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        // Exact: |n| <= 2^53 - 1 fits an i64 without rounding.
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Parses a strict `YYYY-MM-DD` date (years 0001 to 9999).
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i32> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if year < 1 {
        return None;
    }
    Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// Parses a strict `HH:MM` time (00:00 to 23:59) into minutes after midnight.
pub fn parse_time(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' || !bytes[..2].iter().chain(&bytes[3..]).all(u8::is_ascii_digit) {
        return None;
    }
    let hours: u16 = text[..2].parse().ok()?;
    let minutes: u16 = text[3..].parse().ok()?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// Formats minutes after midnight as `HH:MM`.
pub fn format_time(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    i64::from(day_number(to)) - i64::from(day_number(from))
}

/// A date plus a whole number of days, if the result is a valid date.
pub fn add_days(date: Date, days: f64) -> Option<Date> {
    if days.fract() != 0.0 || days.abs() > 10_000_000.0 {
        return None;
    }
    let target = i64::from(day_number(date)) + days as i64;
    date_from_day_number(i32::try_from(target).ok()?)
}

/// Whole years from `from` to `to`: the age on `to` of someone born on
/// `from`. A year is complete when the month and day of `to` reach those of
/// `from` (so someone born on 29 February turns a year older on 1 March in
/// common years). Negative when `to` is earlier, counted the same way.
pub fn years_between(from: Date, to: Date) -> i64 {
    if to < from {
        return -years_between(to, from);
    }
    let mut years = i64::from(to.year()) - i64::from(from.year());
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// Days since 1970-01-01 (the proleptic Gregorian calendar).
fn day_number(date: Date) -> i32 {
    // Howard Hinnant's days_from_civil, the same arithmetic the browser
    // runtime uses, so both agree on every date.
    let (y, m, d) = (i32::from(date.year()), i32::from(date.month()), i32::from(date.day()));
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_from_day_number(days: i32) -> Option<Date> {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i32::from(m <= 2);
    if !(1..=9999).contains(&y) {
        return None;
    }
    Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// Writes `n` in decimal into all of `out`, zero-padded (the leading
/// digits are lost if it does not fit).
fn put_digits(out: &mut [u8], mut n: u16) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

impl serde::Serialize for Value {
    /// The same JSON as [`Value::to_json`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Empty => serializer.serialize_none(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER => serializer.serialize_i64(*n as i64),
            Value::Number(n) => serializer.serialize_f64(*n),
            Value::Text(t) => serializer.serialize_str(t),
            // Written digit by digit: the formatting machinery costs more
            // than the rest of a date's serialization.
            Value::Date(d) if (0..=9999).contains(&d.year()) => {
                let mut text = *b"0000-00-00";
                put_digits(&mut text[0..4], d.year() as u16);
                put_digits(&mut text[5..7], d.month() as u16);
                put_digits(&mut text[8..10], d.day() as u16);
                serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
            }
            Value::Date(d) => serializer.collect_str(&format_args!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
            Value::Time(t) if *t < 6000 => {
                let mut text = *b"00:00";
                put_digits(&mut text[0..2], t / 60);
                put_digits(&mut text[3..5], t % 60);
                serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
            }
            Value::Time(t) => serializer.collect_str(&format_args!("{:02}:{:02}", t / 60, t % 60)),
            Value::Multi(codes) => codes.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        parse_date(text).expect(text)
    }

    #[test]
    fn serializes_like_to_json() {
        let values = [
            Value::Date(date("2024-02-29")),
            Value::Date(date("0005-01-09")),
            Value::Date(jiff::civil::date(-12, 3, 4)),
            Value::Time(0),
            Value::Time(23 * 60 + 59),
            Value::Number(12.0),
            Value::Number(-0.5),
            Value::Text("\"ñ\"".into()),
            Value::Multi(vec!["a".into(), "b".into()]),
            Value::Bool(false),
        ];
        for value in values {
            assert_eq!(serde_json::to_string(&value).unwrap(), value.to_json().to_string(), "{value:?}");
        }
    }

    #[test]
    fn strict_date_and_time_formats() {
        assert!(parse_date("2024-02-29").is_some());
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "24-02-29",
            "2024-13-01",
            "2024-00-10",
            "0000-01-01",
            "2024-01-32",
            "2024/01/01",
            "２０２４-01-01",
            "",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_time("08:30"), Some(510));
        assert_eq!(parse_time("23:59"), Some(1439));
        for bad in ["24:00", "8:30", "08:60", "08-30", "08:30:00"] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn day_arithmetic_round_trips() {
        assert_eq!(day_number(date("1970-01-01")), 0);
        assert_eq!(day_number(date("2000-03-01")), 11_017);
        for text in ["0001-01-01", "1600-02-29", "1999-12-31", "2024-02-29", "9999-12-31"] {
            let d = date(text);
            assert_eq!(date_from_day_number(day_number(d)), Some(d));
        }
        assert_eq!(add_days(date("2024-02-28"), 1.0), Some(date("2024-02-29")));
        assert_eq!(add_days(date("2024-12-31"), 1.0), Some(date("2025-01-01")));
        assert_eq!(add_days(date("9999-12-31"), 1.0), None);
        assert_eq!(add_days(date("2024-01-01"), 0.5), None);
        assert_eq!(days_between(date("2024-01-01"), date("2024-03-01")), 60);
    }

    #[test]
    fn ages_count_completed_years() {
        assert_eq!(years_between(date("2000-05-10"), date("2024-05-09")), 23);
        assert_eq!(years_between(date("2000-05-10"), date("2024-05-10")), 24);
        assert_eq!(years_between(date("2000-02-29"), date("2001-02-28")), 0);
        assert_eq!(years_between(date("2000-02-29"), date("2001-03-01")), 1);
        assert_eq!(years_between(date("2024-05-10"), date("2000-05-10")), -24);
        assert_eq!(years_between(date("2024-05-10"), date("2024-05-10")), 0);
    }

    #[test]
    fn numbers_in_json() {
        assert_eq!(number_to_json(3.0).to_string(), "3");
        assert_eq!(number_to_json(-0.5).to_string(), "-0.5");
        assert_eq!(number_to_json(1e300).as_f64(), Some(1e300));
    }
}
