//! Shared value rules of the mapping: custom-field lookup, email and key checks, money in
//! whole cents and date normalisation. All pure and total: any input gives a
//! value or a problem sentence, never a panic.

use serde_json::Value;

use super::datetime;
use crate::validation::text::{char_len, non_empty, shown};
use crate::wit;

/// The custom field named `name` (case-insensitive, surrounding spaces ignored), if present.
pub fn custom_field<'a>(fields: &'a [wit::CustomField], name: &str) -> Option<&'a wit::CustomField> {
    fields.iter().find(|f| f.name.trim().eq_ignore_ascii_case(name))
}

/// The trimmed, non-empty value of the custom field `name`; a blank value counts as absent.
pub fn custom_value<'a>(fields: &'a [wit::CustomField], name: &str) -> Option<&'a str> {
    custom_field(fields, name).and_then(|f| non_empty(f.value.as_deref()))
}

/// An optional text as JSON: the trimmed string, or `null` when absent or blank.
pub fn text_or_null(text: Option<&str>) -> Value {
    match non_empty(text) {
        Some(t) => Value::String(t.to_string()),
        None => Value::Null,
    }
}

/// The one yes/no reading, for consent and Boolean data fields alike: `true/yes/1/Y` or
/// `false/no/0/N`, any case, surrounding spaces ignored.
pub fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" => Some(true),
        "false" | "no" | "0" | "n" => Some(false),
        _ => None,
    }
}

/// How [`yes_no`] answers are spelled, for problems.
pub const YES_NO_WORDS: &str = "true, yes, 1 or Y, or false, no, 0 or N";

/// Dotdigital's limit on an email address.
pub const EMAIL_MAX_CHARS: usize = 255;

/// Checks an already trimmed email address: one `@`, a non-empty local part, a dotted domain,
/// no whitespace or control characters, at most 255 characters.
pub fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("required".into());
    }
    if char_len(email) > EMAIL_MAX_CHARS {
        return Err(format!("longer than {EMAIL_MAX_CHARS} characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("not a valid email address: contains spaces or control characters".into());
    }
    let mut parts = email.split('@');
    let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => (local, domain),
        _ => return Err("not a valid email address: needs exactly one @".into()),
    };
    if local.is_empty() {
        return Err("not a valid email address: nothing before the @".into());
    }
    let labels_ok = domain.split('.').all(|label| !label.is_empty());
    if !domain.contains('.') || !labels_ok {
        return Err("not a valid email address: the domain needs a dot between non-empty parts".into());
    }
    Ok(())
}

/// Longest Insight record key Dotdigital accepts (a transaction or certificate number).
pub const RECORD_KEY_MAX_CHARS: usize = 255;

/// Text that will become a record key: required, bounded, no control characters, and no `/`
/// or `\\`. The key is a segment of the record's path
/// (`/insightData/v3/contacts/email/{email}/{collection}/{key}`), and an encoded slash in a
/// path is refused by many servers (IIS among them), so a single sync could not write what a
/// bulk import (key in the body) would: both refuse it, before any request.
pub fn check_key(text: Option<&str>, max_chars: usize) -> Result<String, String> {
    let Some(key) = non_empty(text) else {
        return Err("required".into());
    };
    if char_len(key) > max_chars {
        return Err(format!("longer than {max_chars} characters"));
    }
    if key.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    // `.` and `..` would be read as dot segments, moving the PUT to another path.
    if key == "." || key == ".." {
        return Err(format!("`{key}` cannot be a Dotdigital record key (it is read as a path step)"));
    }
    if let Some(slash) = key.chars().find(|&c| c == '/' || c == '\\') {
        return Err(format!("contains `{slash}`, which a Dotdigital record key cannot carry in its path"));
    }
    Ok(key.to_string())
}

/// The largest amount accepted, in currency units (exclusive).
const MONEY_LIMIT: f64 = 1e12;
/// How far an amount may sit from a whole cent and still be read as that cent (float noise).
const CENT_TOLERANCE: f64 = 1e-6;

/// A finite amount with at most two decimals, as whole cents. Negative amounts are allowed
/// (refunds); callers that need `>= 0` check the result.
pub fn money_cents(amount: f64) -> Result<i64, String> {
    if !amount.is_finite() {
        return Err("not a finite number".into());
    }
    if amount.abs() >= MONEY_LIMIT {
        return Err(format!("out of range: must be less than {MONEY_LIMIT:e} in absolute value"));
    }
    let cents = (amount * 100.0).round();
    if (amount - cents / 100.0).abs() > CENT_TOLERANCE {
        return Err("more than two decimals".into());
    }
    // |cents| < 1e14 < 2^53: the conversion is exact.
    Ok(cents as i64)
}

/// Whole cents as a JSON number: `1999` → `19.99`. The quotient of two exactly representable
/// integers is the double nearest the decimal, which serde_json prints in its shortest form.
pub fn cents_json(cents: i64) -> Value {
    serde_json::Number::from_f64(cents as f64 / 100.0).map_or(Value::Null, Value::Number)
}

/// Optional cents as JSON: a number, or `null`.
pub fn opt_cents_json(cents: Option<i64>) -> Value {
    cents.map_or(Value::Null, cents_json)
}

/// Whole cents as text with two decimals: `1000` → `"10.00"`, `-5` → `"-0.05"`.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Whether a date-time without an offset is acceptable (gift cards) or one is required
/// (transactions, whose `created_datetime` carries one).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Offset {
    Required,
    /// No offset means UTC.
    OptionalUtc,
}

/// Normalises an ISO 8601 date-time to UTC `YYYY-MM-DDTHH:MM:SSZ` (fractions dropped).
/// With [`Offset::OptionalUtc`], `YYYY-MM-DDTHH:MM:SS[.fff]` and a bare `YYYY-MM-DD` are read as UTC.
pub fn utc_timestamp(text: &str, offset: Offset) -> Result<String, String> {
    let text = text.trim();
    let parsed = match datetime::parse_rfc3339(text) {
        Some(unix) => Some(unix),
        None if offset == Offset::OptionalUtc => {
            datetime::parse_local_date_time(text).or_else(|| datetime::parse_date(text))
        }
        None => None,
    };
    let Some(unix) = parsed else {
        return Err(match offset {
            Offset::Required => format!(
                "`{}` is not an ISO 8601 date-time with an offset (e.g. 2025-03-14T10:22:05+00:00)",
                shown(text)
            ),
            Offset::OptionalUtc => format!("`{}` is not an ISO 8601 date-time (e.g. 2025-03-14T10:30:00)", shown(text)),
        });
    };
    if !(1..=9999).contains(&datetime::utc_year(unix)) {
        return Err(format!("`{}` is outside the years 0001-9999 in UTC", shown(text)));
    }
    datetime::format_utc(unix).ok_or_else(|| format!("`{}` cannot be written as a UTC timestamp", shown(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: Option<&str>) -> wit::CustomField {
        wit::CustomField { name: name.into(), value: value.map(Into::into) }
    }

    #[test]
    fn custom_fields_match_names_case_insensitively() {
        let fields = vec![field("Mobile Number", Some(" +44 1 ")), field("Blank", Some("  ")), field("None", None)];
        assert_eq!(custom_value(&fields, "mobile number"), Some("+44 1"));
        assert_eq!(custom_value(&fields, "MOBILE NUMBER"), Some("+44 1"));
        assert!(custom_field(&fields, "blank").is_some());
        assert_eq!(custom_value(&fields, "blank"), None);
        assert_eq!(custom_value(&fields, "none"), None);
        assert!(custom_field(&fields, "missing").is_none());
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "jane.doe+tag@example.com", "x@sub.example.org"] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@b.com\n",
            "a@.com",
            "a@b.",
            "a@b..com",
            "a\u{7}@b.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(check_email(&long).unwrap_err().contains("255"));
    }

    #[test]
    fn money_is_exact_to_the_cent() {
        assert_eq!(money_cents(19.99), Ok(1999));
        assert_eq!(money_cents(74.55), Ok(7455));
        assert_eq!(money_cents(0.1 + 0.2), Ok(30));
        assert_eq!(money_cents(-5.0), Ok(-500));
        assert_eq!(money_cents(0.0), Ok(0));
        assert_eq!(money_cents(-0.0), Ok(0));
        assert_eq!(money_cents(999_999_999_999.99), Ok(99_999_999_999_999));
        assert!(money_cents(19.999).unwrap_err().contains("two decimals"));
        assert!(money_cents(0.001).is_err());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308, -1e308, 1e12, f64::MAX, f64::MIN] {
            assert!(money_cents(bad).is_err(), "{bad} accepted");
        }
        assert!(money_cents(f64::MIN_POSITIVE).is_ok());
    }

    #[test]
    fn cents_serialise_exactly() {
        assert_eq!(serde_json::to_string(&cents_json(1999)).unwrap(), "19.99");
        assert_eq!(serde_json::to_string(&cents_json(7455)).unwrap(), "74.55");
        assert_eq!(serde_json::to_string(&cents_json(1160)).unwrap(), "11.6");
        assert_eq!(serde_json::to_string(&cents_json(-495)).unwrap(), "-4.95");
        assert_eq!(cents_json(4500).as_f64(), Some(45.0));
        assert_eq!(serde_json::to_string(&cents_json(99_999_999_999_999)).unwrap(), "999999999999.99");
        // Every cent of the first 100 units, and a sample of larger amounts, round-trips as text.
        for cents in (0..10_000).chain((0..2_000).map(|i| i * 7_919_993 + 1)) {
            let text = serde_json::to_string(&cents_json(cents)).unwrap();
            let expected = cents_text(cents);
            let trimmed = expected.trim_end_matches('0').trim_end_matches('.');
            assert!(text == expected || text == trimmed || text == format!("{trimmed}.0"), "{cents}: {text}");
        }
    }

    #[test]
    fn cents_as_text() {
        assert_eq!(cents_text(1000), "10.00");
        assert_eq!(cents_text(5), "0.05");
        assert_eq!(cents_text(-5), "-0.05");
        assert_eq!(cents_text(-123_456), "-1234.56");
        assert_eq!(cents_text(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn timestamps_with_required_offset() {
        let r = |s| utc_timestamp(s, Offset::Required);
        assert_eq!(r("2025-03-14T10:22:05+00:00").as_deref(), Ok("2025-03-14T10:22:05Z"));
        assert_eq!(r("2025-03-14T10:22:05.1234567+02:00").as_deref(), Ok("2025-03-14T08:22:05Z"));
        assert_eq!(r("2025-03-14T23:30:00-05:00").as_deref(), Ok("2025-03-15T04:30:00Z"));
        assert_eq!(r("2025-03-14T10:22:05Z").as_deref(), Ok("2025-03-14T10:22:05Z"));
        for bad in
            ["", "2025-03-14T10:22:05", "2025-03-14", "14/03/2025", "2025-02-30T00:00:00Z", "0000-01-01T00:30:00+01:00"]
        {
            assert!(r(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn timestamps_without_offset_are_utc() {
        let o = |s| utc_timestamp(s, Offset::OptionalUtc);
        assert_eq!(o("2025-03-14T10:30:00").as_deref(), Ok("2025-03-14T10:30:00Z"));
        assert_eq!(o("2025-06-30T23:59:59.997").as_deref(), Ok("2025-06-30T23:59:59Z"));
        assert_eq!(o("2025-06-30").as_deref(), Ok("2025-06-30T00:00:00Z"));
        assert_eq!(o("2025-06-30T23:59:59+01:00").as_deref(), Ok("2025-06-30T22:59:59Z"));
        assert_eq!(o("9999-12-31T23:59:59").as_deref(), Ok("9999-12-31T23:59:59Z"));
        for bad in ["", "soon", "2025-13-01T00:00:00", "2025-06-30 23:59", "9999-12-31T23:59:59-01:00"] {
            assert!(o(bad).is_err(), "{bad} accepted");
        }
    }
}
