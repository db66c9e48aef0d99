//! Customer → the body of `PATCH /contacts/v3/email/{email}`, plus the minimal contact an
//! order or a certificate needs when its contact does not exist yet.
//!
//! The body never carries `channelProperties.email.status`: the connector must not resubscribe
//! anyone. Contacts made for an order or a certificate carry no channel properties at all (a
//! purchase is not consent) and are merged with `overwrite-if-empty`, so they fill gaps without
//! clobbering names an existing contact already has.

use serde_json::{json, Map, Value};

use super::certificate::Certificate;
use super::order::ValidOrder;
use super::values::{char_len, check_email, custom_field, custom_value, issue, non_empty, shown};
use crate::settings::Settings;
use crate::wit;

/// Dotdigital's limit on `first_name` / `last_name`.
pub const NAME_MAX_CHARS: usize = 50;
/// Dotdigital's limit on a string data field value (the documented example's figure).
pub const DATA_FIELD_VALUE_MAX_CHARS: usize = 256;
/// The custom field that carries a customer's mobile number.
pub const MOBILE_FIELD: &str = "Mobile Number";

/// One contact upsert: `PATCH /contacts/v3/email/{email}?merge-option={merge_option}` with `body`.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactUpsert {
    /// The path identifier: the email as given, trimmed (not lowercased).
    pub email: String,
    /// `overwrite` for customers; `overwrite-if-empty` for contacts made for an order or certificate.
    pub merge_option: &'static str,
    pub body: Value,
    /// Notes for the outcome's messages (values that were left out, and why).
    pub notes: Vec<String>,
}

/// Maps a Customer to a contact upsert, or lists every problem with it.
pub fn contact_from_customer(
    settings: &Settings,
    customer: &wit::Customer,
) -> Result<ContactUpsert, Vec<wit::FieldIssue>> {
    let mut issues = Vec::new();
    let mut notes = Vec::new();

    let email = non_empty(customer.email_address.as_deref()).unwrap_or_default().to_string();
    if let Err(problem) = check_email(&email) {
        issues.push(issue("email_address", problem));
    }
    let first = name(customer.first_name.as_deref(), "first_name", &mut issues);
    let last = name(customer.last_name.as_deref(), "last_name", &mut issues);

    let mut data_fields = name_fields(first, last);
    for mapping in &settings.data_field_map {
        // An absent custom field leaves the data field alone; a blank one clears it.
        let Some(field) = custom_field(&customer.custom_fields, &mapping.custom_field) else {
            continue;
        };
        let value = match non_empty(field.value.as_deref()) {
            None => Value::Null,
            Some(v) if char_len(v) > DATA_FIELD_VALUE_MAX_CHARS => {
                issues.push(issue(
                    format!("custom_fields.{}", field.name.trim()),
                    format!(
                        "longer than {DATA_FIELD_VALUE_MAX_CHARS} characters, the most data field {} takes",
                        mapping.data_field
                    ),
                ));
                continue;
            }
            Some(v) => Value::String(v.to_string()),
        };
        data_fields.insert(mapping.data_field.clone(), value);
    }

    if !issues.is_empty() {
        return Err(issues);
    }

    let mut identifiers = Map::new();
    identifiers.insert("email".into(), Value::String(email.clone()));
    if let Some(mobile) = mobile_number(customer, &mut notes) {
        identifiers.insert("mobileNumber".into(), Value::String(mobile));
    }

    let mut body = Map::new();
    body.insert("identifiers".into(), Value::Object(identifiers));
    if !data_fields.is_empty() {
        body.insert("dataFields".into(), Value::Object(data_fields));
    }
    body.insert(
        "channelProperties".into(),
        json!({"email": {"emailType": settings.email_type, "optInType": settings.opt_in_type}}),
    );
    if !settings.list_ids.is_empty() {
        body.insert("lists".into(), json!(settings.list_ids));
    }
    Ok(ContactUpsert { email, merge_option: "overwrite", body: Value::Object(body), notes })
}

/// The contact an order belongs to: its email and the billing address's names.
pub fn contact_for_order(tx: &ValidOrder) -> ContactUpsert {
    let mut notes = Vec::new();
    let first = bounded_name(tx.billing_first_name.as_deref(), "billing first name", &mut notes);
    let last = bounded_name(tx.billing_last_name.as_deref(), "billing last name", &mut notes);
    minimal_contact(&tx.email, first, last, notes)
}

/// The contact a certificate is sent to: its email and the recipient's names.
pub fn contact_for_certificate(cert: &Certificate) -> ContactUpsert {
    let mut notes = Vec::new();
    let full = non_empty(cert.recipient_name.as_deref());
    // "Jane van Doe" → first "Jane", last "van Doe": the first word is the given name.
    let (first, last) = match full.and_then(|n| n.split_once(char::is_whitespace)) {
        Some((first, rest)) => (Some(first), non_empty(Some(rest))),
        None => (full, None),
    };
    let first = bounded_name(first, "recipient first name", &mut notes);
    let last = bounded_name(last, "recipient last name", &mut notes);
    minimal_contact(&cert.email, first, last, notes)
}

fn minimal_contact(email: &str, first: Option<&str>, last: Option<&str>, notes: Vec<String>) -> ContactUpsert {
    let mut body = Map::new();
    body.insert("identifiers".into(), json!({"email": email}));
    let data_fields = name_fields(first, last);
    if !data_fields.is_empty() {
        body.insert("dataFields".into(), Value::Object(data_fields));
    }
    ContactUpsert { email: email.to_string(), merge_option: "overwrite-if-empty", body: Value::Object(body), notes }
}

/// FIRSTNAME, LASTNAME and FULLNAME, each only when it has a value.
fn name_fields(first: Option<&str>, last: Option<&str>) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(first) = first {
        fields.insert("FIRSTNAME".into(), Value::String(first.to_string()));
    }
    if let Some(last) = last {
        fields.insert("LASTNAME".into(), Value::String(last.to_string()));
    }
    let full = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if !full.is_empty() {
        fields.insert("FULLNAME".into(), Value::String(full));
    }
    fields
}

/// A customer's name: trimmed, blank = absent, too long = an issue.
fn name<'a>(text: Option<&'a str>, path: &str, issues: &mut Vec<wit::FieldIssue>) -> Option<&'a str> {
    let name = non_empty(text)?;
    if char_len(name) > NAME_MAX_CHARS {
        issues.push(issue(path, format!("longer than {NAME_MAX_CHARS} characters")));
        return None;
    }
    Some(name)
}

/// A name on a contact made for another record: too long is left out with a note, since the
/// order or certificate itself is fine.
fn bounded_name<'a>(text: Option<&'a str>, what: &str, notes: &mut Vec<String>) -> Option<&'a str> {
    let name = non_empty(text)?;
    if char_len(name) > NAME_MAX_CHARS {
        notes.push(format!("{what} longer than {NAME_MAX_CHARS} characters: not sent"));
        return None;
    }
    Some(name)
}

/// The customer's mobile number in Dotdigital's form (E.164 digits, no `+`), from the
/// `Mobile Number` custom field, else the billing address's phone. A number not in
/// international form is left out with a note: Dotdigital would reject the whole contact.
fn mobile_number(customer: &wit::Customer, notes: &mut Vec<String>) -> Option<String> {
    let (raw, source) = match custom_value(&customer.custom_fields, MOBILE_FIELD) {
        Some(raw) => (raw, "custom field Mobile Number"),
        None => {
            let address =
                customer.addresses.iter().find(|a| a.is_primary_billing).or_else(|| customer.addresses.first())?;
            (non_empty(address.phone_number.as_deref())?, "billing address phone_number")
        }
    };
    let normalised = international_digits(raw);
    if normalised.is_none() {
        notes.push(format!(
            "mobile number {} ({source}) not in international form (+ or 00, then 7-15 digits): not sent",
            shown(raw)
        ));
    }
    normalised
}

/// `+44 (0)7700-900.123`-style text → `447700900123`, when it is an international number.
/// The `(0)` trunk prefix some countries print after the country code is dropped with the rest.
pub fn international_digits(raw: &str) -> Option<String> {
    let compact: String =
        raw.replace("(0)", "").chars().filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'))).collect();
    let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00"))?;
    let valid =
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    valid.then(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DataFieldMapping;
    use crate::test_support::{address, field, jane, raw_settings, s};

    fn settings_with(map: &[(&str, &str)], lists: &[u32]) -> Settings {
        let mut raw = raw_settings();
        raw.data_field_map = map
            .iter()
            .map(|(c, d)| wit::FieldMapping { custom_field: c.to_string(), data_field: d.to_string() })
            .collect();
        raw.list_ids = lists.to_vec();
        Settings::validate(&raw).unwrap()
    }

    fn fields_of(issues: &[wit::FieldIssue]) -> Vec<&str> {
        issues.iter().map(|i| i.field.as_str()).collect()
    }

    #[test]
    fn the_example_customer_maps_exactly() {
        let settings = settings_with(&[("Loyalty Tier", "LOYALTY_TIER")], &[123456]);
        let upsert = contact_from_customer(&settings, &jane()).unwrap();
        assert_eq!(upsert.email, "jane.doe@example.com");
        assert_eq!(upsert.merge_option, "overwrite");
        assert!(upsert.notes.is_empty(), "{:?}", upsert.notes);
        assert_eq!(
            upsert.body,
            json!({
                "identifiers": {"email": "jane.doe@example.com", "mobileNumber": "447700900123"},
                "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe", "LOYALTY_TIER": "Gold"},
                "channelProperties": {"email": {"emailType": "html", "optInType": "single"}},
                "lists": [123456]
            })
        );
    }

    #[test]
    fn settings_choose_email_and_opt_in_type_and_never_a_status() {
        let mut raw = raw_settings();
        raw.email_type = s("plaintext");
        raw.opt_in_type = s("DOUBLE");
        let settings = Settings::validate(&raw).unwrap();
        let body = contact_from_customer(&settings, &jane()).unwrap().body;
        assert_eq!(body["channelProperties"], json!({"email": {"emailType": "plainText", "optInType": "double"}}));
        assert!(body.get("lists").is_none());
        assert!(body["channelProperties"]["email"].get("status").is_none());
    }

    #[test]
    fn email_is_trimmed_not_lowercased() {
        let mut c = jane();
        c.email_address = s("  Jane.Doe@Example.COM ");
        let upsert = contact_from_customer(&settings_with(&[], &[]), &c).unwrap();
        assert_eq!(upsert.email, "Jane.Doe@Example.COM");
        assert_eq!(upsert.body["identifiers"]["email"], "Jane.Doe@Example.COM");
    }

    #[test]
    fn only_present_names_are_sent() {
        let settings = settings_with(&[], &[]);
        let mut c = jane();
        c.first_name = None;
        c.last_name = s("  Doe ");
        let body = contact_from_customer(&settings, &c).unwrap().body;
        assert_eq!(body["dataFields"], json!({"LASTNAME": "Doe", "FULLNAME": "Doe"}));
        c.last_name = s(" ");
        let body = contact_from_customer(&settings, &c).unwrap().body;
        assert!(body.get("dataFields").is_none(), "{body}");
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(international_digits("+447700900123").as_deref(), Some("447700900123"));
        assert_eq!(international_digits("+44 7700 900123").as_deref(), Some("447700900123"));
        assert_eq!(international_digits("0044 (7700) 900-123").as_deref(), Some("447700900123"));
        assert_eq!(international_digits("+1.415.555.0100").as_deref(), Some("14155550100"));
        assert_eq!(international_digits("(+1) 415 555 0100").as_deref(), Some("14155550100"));
        assert_eq!(international_digits("+44 (0)7700-900.123").as_deref(), Some("447700900123"));
        assert_eq!(international_digits("+1234567").as_deref(), Some("1234567"));
        assert_eq!(international_digits("+123456789012345").as_deref(), Some("123456789012345"));
        for bad in [
            "07700 900123",
            "7700900123",
            "+123456",
            "+1234567890123456",
            "+44 7700 9001x3",
            "+",
            "00",
            "+044 7700 900123",
            "++447700900123",
            "+44/7700/900123",
        ] {
            assert_eq!(international_digits(bad), None, "{bad}");
        }
    }

    #[test]
    fn mobile_comes_from_the_custom_field_then_the_billing_address() {
        let settings = settings_with(&[], &[]);
        let billing = |phone: &str, primary: bool| wit::Address {
            phone_number: s(phone),
            is_primary_billing: primary,
            ..address()
        };

        let mut c = jane();
        c.custom_fields.clear();
        c.addresses = vec![billing("+33 1 23 45 67 89", false), billing("+44 7700 900999", true)];
        let upsert = contact_from_customer(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"]["mobileNumber"], "447700900999");

        // No primary billing address: the first address.
        c.addresses = vec![billing("+33 1 23 45 67 89", false), billing("+44 7700 900999", false)];
        assert_eq!(contact_from_customer(&settings, &c).unwrap().body["identifiers"]["mobileNumber"], "33123456789");

        // A blank custom field falls back to the address.
        c.custom_fields = vec![field("MOBILE NUMBER", Some(" "))];
        assert_eq!(contact_from_customer(&settings, &c).unwrap().body["identifiers"]["mobileNumber"], "33123456789");

        // A national number: not sent, noted, not an error.
        c.custom_fields = vec![field("mobile number", Some("07700 900123"))];
        let upsert = contact_from_customer(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"], json!({"email": "jane.doe@example.com"}));
        assert_eq!(upsert.notes.len(), 1);
        assert!(upsert.notes[0].contains("07700 900123") && upsert.notes[0].contains("not sent"), "{:?}", upsert.notes);

        // No number anywhere: nothing sent, nothing noted.
        c.custom_fields.clear();
        c.addresses = vec![address()];
        let upsert = contact_from_customer(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"], json!({"email": "jane.doe@example.com"}));
        assert!(upsert.notes.is_empty());
        c.addresses.clear();
        assert!(contact_from_customer(&settings, &c).unwrap().notes.is_empty());
    }

    #[test]
    fn data_field_map_present_absent_and_blank() {
        let settings = settings_with(
            &[("Loyalty Tier", "LOYALTY_TIER"), ("Points", "POINTS"), ("Store", "STORE"), ("Gone", "GONE")],
            &[],
        );
        assert_eq!(
            settings.data_field_map[0],
            DataFieldMapping { custom_field: "Loyalty Tier".into(), data_field: "LOYALTY_TIER".into() }
        );
        let mut c = jane();
        c.custom_fields = vec![field("loyalty tier", Some(" Gold ")), field("POINTS", Some("")), field("Store", None)];
        let body = contact_from_customer(&settings, &c).unwrap().body;
        assert_eq!(
            body["dataFields"],
            json!({"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe", "LOYALTY_TIER": "Gold", "POINTS": null, "STORE": null})
        );
        assert!(body["dataFields"].get("GONE").is_none());
    }

    #[test]
    fn every_customer_problem_is_listed() {
        let settings = settings_with(&[("Bio", "BIO")], &[]);
        let mut c = jane();
        c.email_address = s("jane.doe@example");
        c.first_name = s(&"J".repeat(51));
        c.last_name = s(&"D".repeat(60));
        c.custom_fields.push(field("bio", Some(&"x".repeat(257))));
        let issues = contact_from_customer(&settings, &c).unwrap_err();
        assert_eq!(fields_of(&issues), ["email_address", "first_name", "last_name", "custom_fields.bio"]);
        assert!(issues[1].problem.contains("50"));
        assert!(issues[3].problem.contains("256") && issues[3].problem.contains("BIO"));

        // Exactly at the limits is fine.
        c.email_address = s("jane.doe@example.com");
        c.first_name = s(&"é".repeat(50));
        c.last_name = s(&"D".repeat(50));
        c.custom_fields = vec![field("Bio", Some(&"x".repeat(256)))];
        assert!(contact_from_customer(&settings, &c).is_ok());
    }

    #[test]
    fn missing_or_malformed_emails() {
        let settings = settings_with(&[], &[]);
        for email in
            [None, s(""), s("   "), s("no-at-sign"), s("two@@example.com"), s("sp ace@example.com"), s("@example.com")]
        {
            let mut c = jane();
            c.email_address = email.clone();
            let issues = contact_from_customer(&settings, &c).unwrap_err();
            assert_eq!(fields_of(&issues), ["email_address"], "{email:?}");
        }
        let mut c = jane();
        c.email_address = None;
        assert_eq!(contact_from_customer(&settings, &c).unwrap_err()[0].problem, "required");
    }

    #[test]
    fn contact_for_an_order_carries_names_only() {
        let order = ValidOrder {
            key: "SO-1".into(),
            email: "Jane.Doe@example.com".into(),
            record: json!({}),
            billing_first_name: s("Jane"),
            billing_last_name: s("Doe"),
        };
        let upsert = contact_for_order(&order);
        assert_eq!(upsert.email, "Jane.Doe@example.com");
        assert_eq!(upsert.merge_option, "overwrite-if-empty");
        assert_eq!(
            upsert.body,
            json!({"identifiers": {"email": "Jane.Doe@example.com"}, "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe"}})
        );

        let bare = ValidOrder { billing_first_name: None, billing_last_name: s(&"L".repeat(51)), ..order };
        let upsert = contact_for_order(&bare);
        assert_eq!(upsert.body, json!({"identifiers": {"email": "Jane.Doe@example.com"}}));
        assert_eq!(upsert.notes.len(), 1);
    }
}
