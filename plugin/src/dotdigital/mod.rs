//! The only place that speaks HTTP to Dotdigital: a typed client over one [`Session`] (the
//! transport: region resolution, headers, retries of a moved region, error reading). Each
//! area's file holds its paths, the statuses it tells apart and the bodies it reads, and
//! answers flows with typed outcomes or the typed errors the platform acts on.

pub mod campaigns;
pub mod contacts;
pub mod data_fields;
pub mod errors;
pub mod import_report;
pub mod imports;
pub mod insight;
pub mod lists;
pub mod region;
pub mod session;

pub use session::{Reply, Session};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded in a path segment, so an email
/// like `a+b/c@x.com` stays one segment and `+` is not read as a space.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path segment.
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails_are_one_encoded_segment() {
        assert_eq!(super::segment("ana.silva+news@example.com"), "ana.silva%2Bnews%40example.com");
        assert_eq!(super::segment("a/b c"), "a%2Fb%20c");
    }
}
