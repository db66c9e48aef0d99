//! Contact identifiers as v3 paths name them (`email`, `mobileNumber`, `contactId`) and the
//! rules a value must meet for each; shared by the contacts and Insight data routes.

use percent_encoding::percent_decode_str;

/// A path segment percent-decoded; `None` when the bytes are not UTF-8.
pub(crate) fn decode_segment(segment: &str) -> Option<String> {
    percent_decode_str(segment).decode_utf8().ok().map(|s| s.into_owned())
}

/// How a v3 path points at one contact.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ContactKey {
    /// Lower-cased: email matching ignores case.
    Email(String),
    /// E.164 digits without `+`.
    MobileNumber(String),
    ContactId(i64),
}

impl ContactKey {
    /// Reads `/{identifier}/{value}` from raw path segments. The error is the v3 description of
    /// an `invalidId` answer (unknown identifier, or a value that does not fit it).
    pub(crate) fn from_path(identifier: &str, raw_value: &str) -> Result<ContactKey, String> {
        let identifier = decode_segment(identifier).unwrap_or_default();
        let value = decode_segment(raw_value)
            .ok_or_else(|| format!("The id value '{raw_value}' is invalid for the identifier '{identifier}'"))?;
        let invalid = || format!("The id value '{value}' is invalid for the identifier '{identifier}'");
        if value.is_empty() || value.chars().count() > 256 {
            return Err(invalid());
        }
        match identifier.to_ascii_lowercase().as_str() {
            "email" if is_valid_email(&value) => Ok(ContactKey::Email(value.to_ascii_lowercase())),
            "mobilenumber" if is_valid_mobile_number(&value) => Ok(ContactKey::MobileNumber(value)),
            "contactid" => value.parse::<i64>().ok().filter(|id| *id >= 0).map(ContactKey::ContactId).ok_or_else(invalid),
            "email" | "mobilenumber" => Err(invalid()),
            _ => Err(format!(
                "The identifier '{identifier}' is not valid: use email, mobileNumber, contactId or a custom identifier that exists in the account"
            )),
        }
    }

    /// The identifier name as paths spell it.
    pub(crate) fn identifier(&self) -> &'static str {
        match self {
            ContactKey::Email(_) => "email",
            ContactKey::MobileNumber(_) => "mobileNumber",
            ContactKey::ContactId(_) => "contactId",
        }
    }

    pub(crate) fn value(&self) -> String {
        match self {
            ContactKey::Email(v) | ContactKey::MobileNumber(v) => v.clone(),
            ContactKey::ContactId(id) => id.to_string(),
        }
    }
}

/// A plausible mailbox: one `@`, a non-empty local part, a dotted domain, no spaces.
pub(crate) fn is_valid_email(value: &str) -> bool {
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = value.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !local.chars().any(|c| matches!(c, '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\' | '"'));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok
}

/// E.164 without the `+`: 7 to 15 digits, not starting with 0.
pub(crate) fn is_valid_mobile_number(value: &str) -> bool {
    (7..=15).contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit()) && !value.starts_with('0')
}

/// The ISO 3166 country of a mobile number's calling code, for `channelProperties.sms.countryCode`.
pub(crate) fn country_of_mobile(number: &str) -> &'static str {
    const CODES: [(&str, &str); 16] = [
        ("353", "IE"),
        ("351", "PT"),
        ("44", "GB"),
        ("49", "DE"),
        ("33", "FR"),
        ("31", "NL"),
        ("34", "ES"),
        ("39", "IT"),
        ("61", "AU"),
        ("64", "NZ"),
        ("65", "SG"),
        ("55", "BR"),
        ("52", "MX"),
        ("46", "SE"),
        ("45", "DK"),
        ("1", "US"),
    ];
    CODES.iter().find(|(code, _)| number.starts_with(code)).map(|(_, country)| *country).unwrap_or("GB")
}
