//! Contact data-field names, as Dotdigital's data-field API allows them.

/// `[A-Za-z0-9_-]{1,20}`.
pub(crate) fn is_valid_data_field_name(name: &str) -> bool {
    (1..=20).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
