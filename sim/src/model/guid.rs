//! The GUIDs Dotdigital names its jobs with (contacts-v3.json and insight-data-v3.json show
//! import ids as `d7de900d-d337-43f6-b1e1-c8ec73e1a434`; v2.json `ApiBulkContactDeletion.id`
//! is a `guid`): made from a run-wide sequence number, and read back from a path.

use sha2::{Digest, Sha256};

use super::identifiers::decode_segment;

/// A GUID (version 4 layout) made from a run-wide sequence number: unique and reproducible.
pub(crate) fn guid(seq: u64) -> String {
    let digest = Sha256::digest(format!("dotdigital-sim import {seq}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The GUID of a raw path segment, lower-cased: `8-4-4-4-12` hex digits, optionally in braces, in
/// any casing. assumed: the specs type `importId` as a string whose example is a GUID; other
/// forms .NET would parse (32 bare digits, parentheses) are refused as the stricter reading.
pub(crate) fn parse_guid(raw: &str) -> Option<String> {
    let decoded = decode_segment(raw)?;
    let inner = match decoded.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => decoded.as_str(),
    };
    let groups: Vec<&str> = inner.split('-').collect();
    let lengths_ok = groups.len() == 5 && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    (lengths_ok && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))).then(|| inner.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::{guid, parse_guid};

    #[test]
    fn import_ids_are_distinct_guids_that_parse_back() {
        let (a, b) = (guid(1), guid(2));
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version 4 layout");
        assert_eq!(parse_guid(&a), Some(a.clone()));
        assert_eq!(parse_guid(&format!("{{{}}}", a.to_uppercase())), Some(a.clone()));
        for bad in ["", "123", "not-a-guid", &a.replace('-', ""), &format!("{{{a}"), &a[..35]] {
            assert_eq!(parse_guid(bad), None, "{bad}");
        }
    }
}
