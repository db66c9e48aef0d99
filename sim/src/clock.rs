//! Wall-clock readings in the forms Dotdigital uses: ISO-8601 UTC timestamps and epoch seconds.

use time::macros::format_description;
use time::OffsetDateTime;

/// Now as `2025-03-02T10:15:00Z`.
pub(crate) fn iso_now() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Seconds since the Unix epoch, with fractions.
pub(crate) fn epoch_seconds() -> f64 {
    let now = OffsetDateTime::now_utc();
    now.unix_timestamp() as f64 + f64::from(now.nanosecond()) / 1e9
}
