//! A subscription's settings, validated once per call: defaults filled in, values normalised,
//! and every problem reported by its settings JSON key before anything is sent.

use std::collections::BTreeSet;
use std::fmt;

use crate::validation::currency::iso_currency;
use crate::validation::text::{char_len, non_empty, shown};
use crate::validation::{issue, At, Issues};
use crate::wit::{self, FieldIssue};

/// Insight collection for orders when `collection_name` is blank.
pub const DEFAULT_COLLECTION: &str = "Purchases";
/// Insight collection for certificates when `certificate_collection` is blank.
pub const DEFAULT_CERTIFICATE_COLLECTION: &str = "LoyaltyCertificates";
/// `email_type` values, in the casing Dotdigital's PATCH schema requires; the first is the default.
pub const EMAIL_TYPES: [&str; 2] = ["html", "plainText"];
/// `opt_in_type` values, in Dotdigital's casing; the default is [`DEFAULT_OPT_IN_TYPE`].
pub const OPT_IN_TYPES: [&str; 4] = ["unknown", "single", "double", "verifiedDouble"];
pub const DEFAULT_OPT_IN_TYPE: &str = "single";
/// Whether an order may create the contact it belongs to (setting `order_contacts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderContacts {
    /// An order for an email Dotdigital does not know creates the contact (`subscribed`, as
    /// every new contact is), then writes the order.
    Create,
    /// Such an order is `rejected` ("sync the customer first"); nothing is created.
    Require,
}

pub const ORDER_CONTACTS: [&str; 2] = ["create", "require"];

impl OrderContacts {
    /// The setting's value (`create` when absent or blank), or the issue naming it.
    pub fn validate(raw: Option<&str>) -> Result<OrderContacts, wit::SyncError> {
        let value = match non_empty(raw) {
            None => ORDER_CONTACTS[0],
            Some(text) => one_of(text, &ORDER_CONTACTS, "order_contacts")
                .map_err(|problem| wit::SyncError::InvalidSettings(vec![problem]))?,
        };
        Ok(if value == "require" { OrderContacts::Require } else { OrderContacts::Create })
    }
}

/// The customer custom field holding marketing consent when `consent_field` is blank.
pub const DEFAULT_CONSENT_FIELD: &str = "Email Marketing Consent";
/// Transaction types synced as orders when `order_types` is absent.
pub const DEFAULT_ORDER_TYPE: &str = "Order";
/// Dotdigital's cap on the lists one contact request may name.
pub const MAX_LISTS: usize = 100;
/// Dotdigital's cap on a data field name.
pub const MAX_DATA_FIELD_CHARS: usize = 20;
/// Data fields the contact mapping fills from the customer's names; a mapping may not claim them.
pub const NAME_DATA_FIELDS: [&str; 3] = ["FIRSTNAME", "LASTNAME", "FULLNAME"];

/// Validated settings: what the flows and the mapping read.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub api_user: String,
    pub api_password: String,
    /// `https://rN-api.dotdigital.com`, no trailing slash; absent = discover the region.
    pub api_endpoint: Option<String>,
    /// A GUID, braces optional, as given.
    pub integration_token: Option<String>,
    /// `html` or `plainText`, in the casing Dotdigital's PATCH schema requires.
    pub email_type: &'static str,
    /// `unknown`, `single`, `double` or `verifiedDouble`.
    pub opt_in_type: &'static str,
    /// Lists every synced customer joins.
    pub list_ids: Vec<u32>,
    /// Lists only consenting customers join (disjoint from `list_ids`).
    pub marketing_list_ids: Vec<u32>,
    /// The customer custom field holding marketing consent, trimmed.
    pub consent_field: String,
    pub data_field_map: Vec<DataFieldMapping>,
    pub collection_name: String,
    /// An active ISO 4217 code, uppercased.
    pub default_currency: Option<String>,
    /// Trimmed, non-empty; compared case-insensitively.
    pub order_types: Vec<String>,
    pub certificate_campaign_id: Option<u32>,
    pub certificate_collection: String,
}

/// One `data_field_map` entry: a customer custom field copied into a contact data field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFieldMapping {
    /// The custom field name, trimmed; matched case-insensitively.
    pub custom_field: String,
    /// The data field name, uppercased (Dotdigital matches data fields case-insensitively).
    pub data_field: String,
}

impl Settings {
    /// Validates the platform's settings, listing every problem, not just the first.
    pub fn validate(raw: &wit::Settings) -> Result<Settings, Vec<FieldIssue>> {
        let (settings, issues) = Settings::read(raw);
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(settings)
    }

    /// The settings with each refused value left at its default (absent, or empty), and every
    /// problem: `validate-connection` checks the account with what is usable and lists the
    /// settings' own problems beside the account's.
    pub fn read(raw: &wit::Settings) -> (Settings, Vec<FieldIssue>) {
        let mut found = Issues::default();
        let api_user = raw.api_user.trim().to_string();
        found.check(check_api_user(&api_user));
        found.check(check_api_password(&raw.api_password));
        let api_endpoint = non_empty(raw.api_endpoint.as_deref()).and_then(|text| {
            let blank_too = |problem| format!("{problem}, or leave it blank to discover the region");
            found.check(normalise_api_endpoint(text).map_err(blank_too).at("api_endpoint"))
        });
        let integration_token =
            non_empty(raw.integration_token.as_deref()).and_then(|text| found.check(integration_token(text)));
        let email_type = non_empty(raw.email_type.as_deref())
            .and_then(|text| found.check(one_of(text, &EMAIL_TYPES, "email_type")))
            .unwrap_or(EMAIL_TYPES[0]);
        let opt_in_type = non_empty(raw.opt_in_type.as_deref())
            .and_then(|text| found.check(one_of(text, &OPT_IN_TYPES, "opt_in_type")))
            .unwrap_or(DEFAULT_OPT_IN_TYPE);
        found.extend(list_problems(&raw.list_ids, "list_ids"));
        found.extend(list_problems(&raw.marketing_list_ids, "marketing_list_ids"));
        found.extend(marketing_lists_apart(&raw.list_ids, &raw.marketing_list_ids));
        let data_field_map = found.merge(data_field_map(&raw.data_field_map));
        let collection_name = non_empty(raw.collection_name.as_deref())
            .and_then(|name| found.check(collection(name, "collection_name")))
            .unwrap_or(DEFAULT_COLLECTION)
            .to_string();
        let certificate_collection = non_empty(raw.certificate_collection.as_deref())
            .and_then(|name| found.check(collection(name, "certificate_collection")))
            .unwrap_or(DEFAULT_CERTIFICATE_COLLECTION)
            .to_string();
        found.check(collections_apart(&collection_name, &certificate_collection));
        let default_currency = non_empty(raw.default_currency.as_deref()).and_then(|code| found.check(currency(code)));
        let order_types = found.merge(order_types(raw.order_types.as_deref()));
        let certificate_campaign_id = raw
            .certificate_campaign_id
            .and_then(|id| found.check(positive_int32(id).map(|()| id).at("certificate_campaign_id")));
        let settings = Settings {
            api_user,
            api_password: raw.api_password.clone(),
            api_endpoint,
            integration_token,
            email_type,
            opt_in_type,
            list_ids: raw.list_ids.clone(),
            marketing_list_ids: raw.marketing_list_ids.clone(),
            consent_field: non_empty(raw.consent_field.as_deref()).unwrap_or(DEFAULT_CONSENT_FIELD).to_string(),
            data_field_map,
            collection_name,
            default_currency,
            order_types,
            certificate_campaign_id,
            certificate_collection,
        };
        (settings, found.into_vec())
    }

    /// Whether a transaction type is one of the synced order types (case-insensitive).
    pub fn is_order_type(&self, transaction_type: &str) -> bool {
        let t = transaction_type.trim();
        self.order_types.iter().any(|known| known.eq_ignore_ascii_case(t))
    }
}

// Hand-written so that secrets never reach a log line or a test failure message.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("api_user", &self.api_user)
            .field("api_password", &"***")
            .field("api_endpoint", &self.api_endpoint)
            .field("integration_token", &self.integration_token.as_ref().map(|_| "***"))
            .field("email_type", &self.email_type)
            .field("opt_in_type", &self.opt_in_type)
            .field("list_ids", &self.list_ids)
            .field("marketing_list_ids", &self.marketing_list_ids)
            .field("consent_field", &self.consent_field)
            .field("data_field_map", &self.data_field_map)
            .field("collection_name", &self.collection_name)
            .field("default_currency", &self.default_currency)
            .field("order_types", &self.order_types)
            .field("certificate_campaign_id", &self.certificate_campaign_id)
            .field("certificate_collection", &self.certificate_collection)
            .finish()
    }
}

/// The API user, trimmed: HTTP Basic authentication cannot carry `:` or control characters.
fn check_api_user(user: &str) -> Result<(), FieldIssue> {
    if user.is_empty() {
        Err("required: the Dotdigital API user (apiuser-…@apiconnector.com)").at("api_user")
    } else if user.contains(':') || user.chars().any(char::is_control) {
        Err("must not contain `:` or control characters (HTTP Basic authentication cannot carry them)").at("api_user")
    } else {
        Ok(())
    }
}

/// The password is used exactly as typed, and never quoted back in a problem.
fn check_api_password(password: &str) -> Result<(), FieldIssue> {
    if password.is_empty() {
        Err("required: the API user's password").at("api_password")
    } else if password.chars().any(char::is_control) {
        Err("must not contain control characters").at("api_password")
    } else {
        Ok(())
    }
}

/// Dotdigital's regions; each is served at `https://{region}-api.dotdigital.com` (the
/// `servers` entry of Dotdigital's OpenAPI files).
const REGIONS: [&str; 3] = ["r1", "r2", "r3"];

/// The one reading of a Dotdigital API endpoint, shared by the `api_endpoint` setting and by
/// region discovery (`ApiEndpoint`): `https://r1|r2|r3-api.dotdigital.com`, any casing, an
/// optional trailing `/`. The legacy `rN-api.dotmailer.com` hosts name the same regions and are
/// rewritten to the current ones. Anything else is refused rather than followed.
pub fn normalise_api_endpoint(text: &str) -> Result<String, String> {
    let lower = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let host = lower.strip_prefix("https://").ok_or_else(|| format!("`{}` must start with https://", shown(text)))?;
    for region in REGIONS {
        if host == format!("{region}-api.dotdigital.com") || host == format!("{region}-api.dotmailer.com") {
            return Ok(format!("https://{region}-api.dotdigital.com"));
        }
    }
    let bases: Vec<String> = REGIONS.iter().map(|region| format!("https://{region}-api.dotdigital.com")).collect();
    Err(format!(
        "`{}` is not a Dotdigital API endpoint: use {} (or the legacy rN-api.dotmailer.com)",
        shown(text),
        bases.join(", ")
    ))
}

fn integration_token(text: &str) -> Result<String, FieldIssue> {
    if is_guid(text) {
        Ok(text.to_string())
    } else {
        Err("must be a GUID such as 5a96bc79-19a7-4544-973b-e2da0c9136f9 (braces optional)").at("integration_token")
    }
}

/// Dotdigital ids are int32 in every schema; 0 is never an id.
pub fn positive_int32(id: u32) -> Result<(), String> {
    if id == 0 {
        Err("must be greater than 0".into())
    } else if id > i32::MAX as u32 {
        Err(format!("{id} is larger than Dotdigital ids go (2147483647)"))
    } else {
        Ok(())
    }
}

/// A list-id setting's problems: more than [`MAX_LISTS`], an id that is not a positive int32,
/// an id given twice.
fn list_problems(raw: &[u32], key: &str) -> Vec<FieldIssue> {
    let mut problems = Vec::new();
    if raw.len() > MAX_LISTS {
        problems.push(issue(key, format!("{} lists given; Dotdigital accepts at most {MAX_LISTS}", raw.len())));
    }
    let mut seen = BTreeSet::new();
    for (i, &id) in raw.iter().enumerate() {
        let problem = match positive_int32(id) {
            Err(problem) => problem,
            Ok(()) if !seen.insert(id) => format!("list {id} is listed twice"),
            Ok(()) => continue,
        };
        problems.push(issue(format!("{key}[{i}]"), problem));
    }
    problems
}

/// A marketing list is one a customer leaves when consent is withdrawn, so it cannot also be
/// a list every customer joins; and a consenting customer's request names both sets at once.
fn marketing_lists_apart(list_ids: &[u32], marketing: &[u32]) -> Vec<FieldIssue> {
    let everyone: BTreeSet<u32> = list_ids.iter().copied().collect();
    let mut problems: Vec<FieldIssue> = marketing
        .iter()
        .enumerate()
        .filter(|(_, id)| everyone.contains(id))
        .map(|(i, id)| {
            issue(
                format!("marketing_list_ids[{i}]"),
                format!(
                    "list {id} is also in list_ids: a list is either for every customer or for consenting ones only"
                ),
            )
        })
        .collect();
    let total = list_ids.len() + marketing.len();
    if list_ids.len() <= MAX_LISTS && marketing.len() <= MAX_LISTS && total > MAX_LISTS {
        problems.push(issue(
            "marketing_list_ids",
            format!("list_ids and marketing_list_ids name {total} lists together; Dotdigital accepts at most {MAX_LISTS} per contact"),
        ));
    }
    problems
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex, optionally inside one pair of braces.
fn is_guid(text: &str) -> bool {
    let inner = match text.strip_prefix('{') {
        Some(rest) => match rest.strip_suffix('}') {
            Some(inner) => inner,
            None => return false,
        },
        None => text,
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Dotdigital's collection-name rule, `^[-A-Za-z_][-A-Za-z0-9_]{1,255}$` (so 2–255 chars, as
/// the schema's `maxLength` is 255).
pub fn is_collection_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let valid_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    (2..=255).contains(&bytes.len())
        && bytes.first().is_some_and(|b| !b.is_ascii_digit() && valid_char(b))
        && bytes.iter().all(valid_char)
}

/// A non-blank value that must be one of `allowed` (any case), returned in its canonical casing.
fn one_of(text: &str, allowed: &[&'static str], key: &str) -> Result<&'static str, FieldIssue> {
    if let Some(known) = allowed.iter().find(|known| text.eq_ignore_ascii_case(known)) {
        return Ok(known);
    }
    let names: Vec<String> = allowed.iter().map(|name| format!("`{name}`")).collect();
    let (last, rest) = names.split_last().expect("a setting allows at least one value");
    Err(issue(key, format!("`{text}` is not {} or {last}", rest.join(", "))))
}

fn collection<'a>(name: &'a str, key: &str) -> Result<&'a str, FieldIssue> {
    if is_collection_name(name) {
        return Ok(name);
    }
    Err(issue(
        key,
        format!("`{name}` is not a valid collection name: 2-255 characters of letters, digits, `-` and `_`, not starting with a digit"),
    ))
}

/// One collection holds one inferred schema; orders and certificates would clash.
fn collections_apart(orders: &str, certificates: &str) -> Result<(), FieldIssue> {
    if orders.eq_ignore_ascii_case(certificates) {
        return Err(issue("certificate_collection", format!("must differ from collection_name (`{orders}`)")));
    }
    Ok(())
}

fn currency(code: &str) -> Result<String, FieldIssue> {
    iso_currency(code)
        .ok_or_else(|| issue("default_currency", format!("`{code}` is not an active ISO 4217 currency code")))
}

/// `order_types` trimmed, blank entries left out (and refused); absent means [`DEFAULT_ORDER_TYPE`].
fn order_types(raw: Option<&[String]>) -> (Vec<String>, Issues) {
    let mut found = Issues::default();
    let Some(types) = raw else { return (vec![DEFAULT_ORDER_TYPE.to_string()], found) };
    if types.is_empty() {
        found.add(issue("order_types", "must name at least one transaction type (e.g. [\"Order\"])"));
    }
    let kept = types
        .iter()
        .enumerate()
        .filter_map(|(i, t)| found.check(non_empty(Some(t)).ok_or("must not be empty").at(format!("order_types[{i}]"))))
        .map(str::to_string)
        .collect();
    (kept, found)
}

/// Dotdigital's data field name rule: 1–20 characters of `[A-Za-z0-9_-]`.
pub fn is_data_field_name(name: &str) -> bool {
    (1..=MAX_DATA_FIELD_CHARS).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Every entry whose custom field is named, each data field uppercased; the problems of all.
fn data_field_map(raw: &[wit::FieldMapping]) -> (Vec<DataFieldMapping>, Issues) {
    let mut found = Issues::default();
    let mut seen = BTreeSet::new();
    let map = raw
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let custom_field = non_empty(Some(&entry.custom_field)).ok_or_else(|| {
                issue(format!("data_field_map[{i}].custom_field"), "required: the customer custom field to copy")
            });
            let custom_field = found.check(custom_field);
            let data_field = entry.data_field.trim().to_ascii_uppercase();
            found.check(
                mapped_data_field(entry.data_field.trim(), &data_field, &mut seen)
                    .map_err(|problem| issue(format!("data_field_map[{i}].data_field"), problem)),
            );
            Some(DataFieldMapping { custom_field: custom_field?.to_string(), data_field })
        })
        .collect();
    (map, found)
}

/// A mapping's data field, `given` trimmed and `upper` uppercased: a valid name, not one the
/// names fill, and not mapped before (`seen`).
fn mapped_data_field(given: &str, upper: &str, seen: &mut BTreeSet<String>) -> Result<(), String> {
    if upper.is_empty() {
        Err("required: the Dotdigital contact data field to fill".to_string())
    } else if !is_data_field_name(upper) {
        Err(format!(
            "`{given}` is not a data field name: at most {MAX_DATA_FIELD_CHARS} characters of letters, digits, `-` and `_` ({} given)",
            char_len(given)
        ))
    } else if NAME_DATA_FIELDS.contains(&upper) {
        Err(format!("{upper} is filled from the customer's names; map the custom field to another data field"))
    } else if !seen.insert(upper.to_string()) {
        Err(format!("{upper} is mapped twice"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::raw_settings as raw;

    /// Valid settings with the defaults.
    pub fn defaults() -> Settings {
        Settings::validate(&raw()).expect("valid")
    }

    fn mapping(custom_field: &str, data_field: &str) -> wit::FieldMapping {
        wit::FieldMapping { custom_field: custom_field.into(), data_field: data_field.into() }
    }

    fn issues_of(raw: &wit::Settings) -> Vec<(String, String)> {
        Settings::validate(raw).expect_err("invalid").into_iter().map(|i| (i.field, i.problem)).collect()
    }

    fn fields(issues: &[(String, String)]) -> Vec<&str> {
        issues.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn defaults_are_filled_in() {
        let s = defaults();
        assert_eq!(s.api_user, "apiuser-abc123@apiconnector.com");
        assert_eq!(s.api_endpoint, None);
        assert_eq!(s.integration_token, None);
        assert_eq!(s.email_type, "html");
        assert_eq!(s.opt_in_type, "single");
        assert!(s.list_ids.is_empty());
        assert!(s.marketing_list_ids.is_empty());
        assert_eq!(s.consent_field, "Email Marketing Consent");
        assert!(s.data_field_map.is_empty());
        assert_eq!(s.collection_name, "Purchases");
        assert_eq!(s.default_currency, None);
        assert_eq!(s.order_types, vec!["Order".to_string()]);
        assert_eq!(s.certificate_campaign_id, None);
        assert_eq!(s.certificate_collection, "LoyaltyCertificates");
    }

    #[test]
    fn blank_optional_settings_take_the_defaults() {
        let mut r = raw();
        r.api_endpoint = Some(" ".into());
        r.integration_token = Some(String::new());
        r.email_type = Some(String::new());
        r.opt_in_type = Some("  ".into());
        r.collection_name = Some(String::new());
        r.default_currency = Some(String::new());
        r.certificate_collection = Some(" ".into());
        assert_eq!(Settings::validate(&r).unwrap(), defaults());
    }

    #[test]
    fn values_are_normalised() {
        let mut r = raw();
        r.api_user = "  apiuser-abc123@apiconnector.com ".into();
        r.api_endpoint = Some("https://R2-API.dotdigital.com/".into());
        r.integration_token = Some("{5A96BC79-19a7-4544-973b-e2da0c9136f9}".into());
        r.email_type = Some("PLAINTEXT".into());
        r.opt_in_type = Some("verifieddouble".into());
        r.list_ids = vec![123456, 7];
        r.data_field_map = vec![mapping(" Loyalty Tier ", "loyalty_tier"), mapping("Points", "Points-Balance")];
        r.collection_name = Some("Orders_UK".into());
        r.default_currency = Some("gbp".into());
        r.order_types = Some(vec!["Order".into(), " Invoice ".into()]);
        r.certificate_campaign_id = Some(99);
        r.certificate_collection = Some("-certs".into());
        let s = Settings::validate(&r).unwrap();
        assert_eq!(s.api_user, "apiuser-abc123@apiconnector.com");
        assert_eq!(s.api_endpoint.as_deref(), Some("https://r2-api.dotdigital.com"));
        assert_eq!(s.integration_token.as_deref(), Some("{5A96BC79-19a7-4544-973b-e2da0c9136f9}"));
        assert_eq!(s.email_type, "plainText");
        assert_eq!(s.opt_in_type, "verifiedDouble");
        assert_eq!(s.list_ids, vec![123456, 7]);
        assert_eq!(
            s.data_field_map,
            vec![
                DataFieldMapping { custom_field: "Loyalty Tier".into(), data_field: "LOYALTY_TIER".into() },
                DataFieldMapping { custom_field: "Points".into(), data_field: "POINTS-BALANCE".into() },
            ]
        );
        assert_eq!(s.collection_name, "Orders_UK");
        assert_eq!(s.default_currency.as_deref(), Some("GBP"));
        assert_eq!(s.order_types, vec!["Order".to_string(), "Invoice".to_string()]);
        assert!(s.is_order_type("invoice") && s.is_order_type(" ORDER ") && !s.is_order_type("Quote"));
        assert_eq!(s.certificate_campaign_id, Some(99));
        assert_eq!(s.certificate_collection, "-certs");
    }

    #[test]
    fn endpoints() {
        for (given, expected) in [
            ("https://r1-api.dotdigital.com", "https://r1-api.dotdigital.com"),
            ("https://r3-api.dotdigital.com//", "https://r3-api.dotdigital.com"),
            ("HTTPS://r2-api.dotmailer.com/", "https://r2-api.dotdigital.com"),
        ] {
            let mut r = raw();
            r.api_endpoint = Some(given.into());
            assert_eq!(Settings::validate(&r).unwrap().api_endpoint.as_deref(), Some(expected), "{given}");
        }
        for bad in [
            "http://r1-api.dotdigital.com",
            "https://r4-api.dotdigital.com",
            "https://r1-api.dotdigital.com.evil.example",
            "https://evil.example/r1-api.dotdigital.com",
            "https://r1-api.dotdigital.com/v2",
            "https://r1-api.dotdigital.com:8443",
            "r1-api.dotdigital.com",
        ] {
            let mut r = raw();
            r.api_endpoint = Some(bad.into());
            assert_eq!(fields(&issues_of(&r)), ["api_endpoint"], "{bad}");
        }
    }

    #[test]
    fn api_endpoint_is_normalised_and_checked() {
        for (given, expected) in [
            ("https://r2-api.dotdigital.com/", "https://r2-api.dotdigital.com"),
            (" HTTPS://R3-api.dotdigital.com ", "https://r3-api.dotdigital.com"),
            ("https://r1-api.dotdigital.com", "https://r1-api.dotdigital.com"),
            ("https://r3-api.dotdigital.com//", "https://r3-api.dotdigital.com"),
            ("HTTPS://r2-api.dotmailer.com/", "https://r2-api.dotdigital.com"),
            ("https://r1-api.dotmailer.com", "https://r1-api.dotdigital.com"),
        ] {
            assert_eq!(normalise_api_endpoint(given).as_deref(), Ok(expected), "{given}");
        }
        for bad in [
            "http://r1-api.dotdigital.com/",
            "https://evil.example.com/",
            "https://r1-api.dotdigital.com.evil.com",
            "https://r4-api.dotdigital.com",
            "https://evil.example/r1-api.dotdigital.com",
            "https://r1-api.dotdigital.com/v2",
            "https://r1-api.dotdigital.com:8443",
            "https://r1-api.dotmailer.co.uk",
            "https://apiconnector.com",
            "r1-api.dotdigital.com",
        ] {
            assert!(normalise_api_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consent_field_and_marketing_lists() {
        let mut r = raw();
        r.consent_field = Some("  Newsletter OK ".into());
        r.list_ids = vec![1, 2];
        r.marketing_list_ids = vec![3, 4];
        let s = Settings::validate(&r).unwrap();
        assert_eq!(s.consent_field, "Newsletter OK");
        assert_eq!((s.list_ids, s.marketing_list_ids), (vec![1, 2], vec![3, 4]));

        r.consent_field = Some(" ".into());
        r.marketing_list_ids = vec![3, 2, 0, 3, 3_000_000_000];
        let issues = issues_of(&r);
        assert_eq!(
            fields(&issues),
            ["marketing_list_ids[2]", "marketing_list_ids[3]", "marketing_list_ids[4]", "marketing_list_ids[1]"]
        );
        assert!(issues[3].1.contains("also in list_ids"), "{issues:?}");

        // Each within the cap, but one contact request would name more than 100 lists.
        r.list_ids = (1..=60).collect();
        r.marketing_list_ids = (61..=120).collect();
        assert_eq!(fields(&issues_of(&r)), ["marketing_list_ids"]);
        r.marketing_list_ids = (61..=100).collect();
        assert!(Settings::validate(&r).is_ok());
        r.marketing_list_ids = (1..=101).map(|i| i + 1000).collect();
        assert_eq!(fields(&issues_of(&r)), ["marketing_list_ids"]);
    }

    #[test]
    fn collection_names_follow_dotdigitals_regex() {
        for ok in ["Ab", "_x", "-x", "Purchases", "Orders-2025_v2", &"a".repeat(255)] {
            assert!(is_collection_name(ok), "{ok}");
        }
        for bad in ["", "A", "1abc", "9", "has space", "dot.ted", "ümlaut", &"a".repeat(256)] {
            assert!(!is_collection_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut r = raw();
        r.api_user = "  ".into();
        r.api_password = String::new();
        r.api_endpoint = Some("https://api.example.com".into());
        r.integration_token = Some("not-a-guid".into());
        r.email_type = Some("rich".into());
        r.opt_in_type = Some("triple".into());
        r.list_ids = vec![5, 0, 5, 3_000_000_000];
        r.data_field_map = vec![
            mapping("", "TIER"),
            mapping("Tier", "THIS_NAME_IS_FAR_TOO_LONG"),
            mapping("Tier", "bad name"),
            mapping("First", "firstname"),
            mapping("Points", "POINTS"),
            mapping("Points again", "points"),
            mapping("Nothing", " "),
        ];
        r.collection_name = Some("1abc".into());
        r.default_currency = Some("EURO".into());
        r.order_types = Some(vec!["Order".into(), " ".into()]);
        r.certificate_campaign_id = Some(0);
        r.certificate_collection = Some("A".into());
        let issues = issues_of(&r);
        assert_eq!(
            fields(&issues),
            [
                "api_user",
                "api_password",
                "api_endpoint",
                "integration_token",
                "email_type",
                "opt_in_type",
                "list_ids[1]",
                "list_ids[2]",
                "list_ids[3]",
                "data_field_map[0].custom_field",
                "data_field_map[1].data_field",
                "data_field_map[2].data_field",
                "data_field_map[3].data_field",
                "data_field_map[5].data_field",
                "data_field_map[6].data_field",
                "collection_name",
                "certificate_collection",
                "default_currency",
                "order_types[1]",
                "certificate_campaign_id",
            ]
        );
        // Problems say what is wrong and what to do.
        let problem = |f: &str| issues.iter().find(|(k, _)| k == f).map(|(_, p)| p.as_str()).unwrap();
        assert!(problem("list_ids[2]").contains("twice"));
        assert!(problem("list_ids[3]").contains("2147483647"));
        assert!(problem("data_field_map[1].data_field").contains("20"));
        assert!(problem("data_field_map[3].data_field").contains("FIRSTNAME"));
        assert!(problem("data_field_map[5].data_field").contains("twice"));
        assert!(problem("default_currency").contains("ISO 4217"));
        assert!(problem("collection_name").contains("digit"));
    }

    #[test]
    fn more_setting_problems() {
        let mut r = raw();
        r.api_user = "user:name".into();
        r.list_ids = (1..=101).collect();
        r.order_types = Some(vec![]);
        r.collection_name = Some("Certs".into());
        r.certificate_collection = Some("certs".into());
        r.certificate_campaign_id = Some(u32::MAX);
        r.integration_token = Some("{5a96bc79-19a7-4544-973b-e2da0c9136f9".into());
        assert_eq!(
            fields(&issues_of(&r)),
            [
                "api_user",
                "integration_token",
                "list_ids",
                "certificate_collection",
                "order_types",
                "certificate_campaign_id"
            ]
        );
    }

    #[test]
    fn huge_inputs_stay_cheap() {
        let mut r = raw();
        r.list_ids = (1..=200_000).chain(1..=3).collect();
        r.data_field_map = (0..50_000).map(|i| mapping(&format!("F{i}"), &format!("D{i}"))).collect();
        let issues = issues_of(&r);
        assert_eq!(fields(&issues), ["list_ids", "list_ids[200000]", "list_ids[200001]", "list_ids[200002]"]);
    }

    #[test]
    fn guids() {
        assert!(is_guid("5a96bc79-19a7-4544-973b-e2da0c9136f9"));
        assert!(is_guid("{5a96bc79-19a7-4544-973b-e2da0c9136f9}"));
        for bad in [
            "",
            "{}",
            "5a96bc79-19a7-4544-973b-e2da0c9136f",
            "5a96bc79-19a7-4544-973b-e2da0c9136fg",
            "5a96bc7919a74544973be2da0c9136f9",
            "5a96bc79-19a7-4544-973b-e2da0c9136f9}",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut r = raw();
        r.integration_token = Some("5a96bc79-19a7-4544-973b-e2da0c9136f9".into());
        let s = Settings::validate(&r).unwrap();
        for text in [format!("{s:?}"), format!("{s:#?}")] {
            assert!(!text.contains("s3cr3t-Pa55"), "{text}");
            assert!(!text.contains("5a96bc79"), "{text}");
            assert!(text.contains("***"));
            assert!(text.contains("apiuser-abc123@apiconnector.com"));
        }
    }

    #[test]
    fn problems_never_quote_the_password() {
        let mut r = raw();
        r.api_password = "pa\u{7}ss".into();
        r.api_user = String::new();
        let issues = Settings::validate(&r).unwrap_err();
        assert!(issues.iter().all(|i| !i.problem.contains("pa\u{7}ss")));
        assert_eq!(issues.len(), 2);
    }
}
