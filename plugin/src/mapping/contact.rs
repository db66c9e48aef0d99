//! Customer → the body of `PATCH /contacts/v3/email/{email}` (or `/contactId/{id}` when
//! iPaaS.com stored one), plus the minimal contact an order or a certificate needs when its
//! contact does not exist yet.
//!
//! The body never carries `channelProperties.email.status`: Dotdigital makes a new contact
//! `subscribed` unless told otherwise, and the connector must neither resubscribe nor suppress
//! anyone. Marketing consent is list membership instead, in three states: a yes joins the
//! `marketing_list_ids`, an explicit no leaves them, and an absent or blank answer leaves
//! membership as it is (iPaaS.com is one-way: consent given through a Dotdigital form is
//! unknown to it). The opt-in type is written only where it applies: the record's own type to
//! any contact, the subscription's default only when the contact may be new (matched by
//! email), and `verifiedDouble`, which would ask a subscriber to confirm again, only to a
//! contact being created. Contacts made for an order or a
//! certificate carry no channel properties and join no list (a purchase is not consent), and
//! are merged with `overwrite-if-empty`, so they fill gaps without clobbering names an
//! existing contact already has.
//!
//! A customer is mapped in two steps so that a bad record is refused before any request:
//! [`customer_contact`] checks everything the record alone decides, and
//! [`CustomerContact::upsert`] converts the mapped custom fields to the types of the account's
//! data fields once those are known.

use serde_json::{json, Map, Value};

use super::certificate::Certificate;
use super::data_fields::{convert, NameFields, TypedMapping};
use super::order::ValidOrder;
use super::values::{check_email, custom_field, custom_value, yes_no, YES_NO_WORDS};
use crate::settings::{positive_int32, Settings, NAME_DATA_FIELDS, OPT_IN_TYPES};
use crate::validation::text::{char_len, non_empty, shown};
use crate::validation::{issue, At, Issues};
use crate::wit::{self, FieldIssue};

/// Dotdigital's limit on `first_name` / `last_name`.
pub const NAME_MAX_CHARS: usize = 50;
/// The custom field that carries a customer's mobile number.
pub const MOBILE_FIELD: &str = "Mobile Number";
/// The custom field that overrides the `opt_in_type` setting for one customer.
pub const OPT_IN_FIELD: &str = "Email Opt In Type";

/// One contact upsert: `PATCH /contacts/v3/contactId/{contact_id}` with `body`, or
/// `PATCH /contacts/v3/email/{email}?merge-option={merge_option}` with `email_body`, or first
/// `POST /contacts/v3` with `create` when the opt-in type may only reach a new contact.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactUpsert {
    /// The path identifier: the email as given, trimmed (not lowercased).
    pub email: String,
    /// The contactId iPaaS.com stored for the customer: the contact to patch, whose email may
    /// have changed. `None` = match by email.
    pub contact_id: Option<u32>,
    /// `overwrite` for customers; `overwrite-if-empty` for contacts made for an order or certificate.
    pub merge_option: &'static str,
    /// The body for the contact iPaaS.com stored: `optInType` only when the record gives one
    /// that is not `verifiedDouble`.
    pub body: Value,
    /// The body for the upsert by email (no stored contactId, or the stored one is gone): the
    /// contact may be new, so the record's or else the subscription's opt-in type, unless it
    /// is `verifiedDouble`.
    pub email_body: Value,
    /// With `verifiedDouble`: the body that creates the contact with it (`POST /contacts/v3`,
    /// which answers 409 when the contact exists), tried before the upsert by email.
    pub create: Option<Value>,
    /// Marketing lists the contact must leave (an explicit no to marketing consent).
    pub leave_lists: Vec<u32>,
    /// The record's `Email Opt In Type` was `verifiedDouble`, which is written only when the
    /// contact is created.
    pub held_back_opt_in: Option<&'static str>,
    /// Notes for the outcome's messages (values that were left out, and why).
    pub notes: Vec<String>,
}

/// A customer as far as the record alone can decide: everything but the data-field types.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerContact {
    pub email: String,
    pub contact_id: Option<u32>,
    first: Option<String>,
    last: Option<String>,
    mobile: Option<String>,
    /// The customer's own `Email Opt In Type`, in Dotdigital's casing.
    opt_in_field: Option<&'static str>,
    pub consent: Consent,
    mapped: Vec<MappedText>,
    notes: Vec<String>,
}

/// What a customer's consent field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    Yes,
    /// An explicit no (`false/no/0/N`): the contact leaves the marketing lists.
    No,
    /// Absent or blank: marketing-list membership stays as it is.
    Unknown,
}

/// A `data_field_map` entry whose custom field the customer has.
#[derive(Clone, Debug, PartialEq)]
struct MappedText {
    data_field: String,
    /// The custom field's name as the record spells it, for problem paths.
    custom_field: String,
    /// Trimmed; `None` (blank) clears the data field.
    text: Option<String>,
}

/// Checks a Customer against everything the record alone decides, listing every problem.
pub fn customer_contact(settings: &Settings, customer: &wit::Customer) -> Result<CustomerContact, Vec<FieldIssue>> {
    let mut found = Issues::default();
    let email = non_empty(customer.email_address.as_deref()).unwrap_or_default().to_string();
    found.check(check_email(&email).at("email_address"));
    let first = non_empty(customer.first_name.as_deref()).and_then(|text| found.check(name(text).at("first_name")));
    let last = non_empty(customer.last_name.as_deref()).and_then(|text| found.check(name(text).at("last_name")));
    let contact_id = non_empty(customer.contact_id.as_deref())
        .and_then(|text| found.check(stored_contact_id(text).at("contact_id")));
    let opt_in_field = custom_value(&customer.custom_fields, OPT_IN_FIELD).and_then(|text| found.check(opt_in(text)));
    let consent = found.check(consent(settings, &customer.custom_fields)).unwrap_or(Consent::Unknown);
    let mapped = mapped_texts(settings, &customer.custom_fields);
    found.finish(())?;
    let mut notes = Vec::new();
    let mobile = mobile_number(customer, &mut notes);
    Ok(CustomerContact {
        email,
        contact_id,
        first: first.map(str::to_string),
        last: last.map(str::to_string),
        mobile,
        opt_in_field,
        consent,
        mapped,
        notes,
    })
}

/// The customer's own `Email Opt In Type`, in Dotdigital's casing.
fn opt_in(text: &str) -> Result<&'static str, FieldIssue> {
    OPT_IN_TYPES.into_iter().find(|known| known.eq_ignore_ascii_case(text)).ok_or_else(|| {
        issue(
            format!("custom_fields.{OPT_IN_FIELD}"),
            format!("`{}` is not Single, Double, VerifiedDouble or Unknown", shown(text)),
        )
    })
}

/// What the consent field says; absent or blank is unknown.
fn consent(settings: &Settings, fields: &[wit::CustomField]) -> Result<Consent, FieldIssue> {
    let Some(text) = custom_value(fields, &settings.consent_field) else { return Ok(Consent::Unknown) };
    match yes_no(text) {
        Some(true) => Ok(Consent::Yes),
        Some(false) => Ok(Consent::No),
        None => Err(issue(
            format!("custom_fields.{}", settings.consent_field),
            format!("`{}` is not a consent answer: use {YES_NO_WORDS}", shown(text)),
        )),
    }
}

/// The mapped custom fields the customer has. An absent custom field leaves the data field
/// alone; a blank one clears it.
fn mapped_texts(settings: &Settings, fields: &[wit::CustomField]) -> Vec<MappedText> {
    settings
        .data_field_map
        .iter()
        .filter_map(|mapping| {
            let field = custom_field(fields, &mapping.custom_field)?;
            Some(MappedText {
                data_field: mapping.data_field.clone(),
                custom_field: field.name.trim().to_string(),
                text: non_empty(field.value.as_deref()).map(str::to_string),
            })
        })
        .collect()
}

/// `verifiedDouble` sends a confirmation email and makes the contact pendingOptIn
/// (contacts-v3.json, `optInType`), so it never reaches a contact that exists.
const VERIFIED: &str = "verifiedDouble";

impl CustomerContact {
    /// The upsert for an account whose name fields are `names` and whose mapped data fields
    /// have the types in `mappings`; a value that does not fit its type is a record problem.
    pub fn upsert(
        &self,
        settings: &Settings,
        names: NameFields,
        mappings: &[TypedMapping],
    ) -> Result<ContactUpsert, Vec<FieldIssue>> {
        let mut notes = self.notes.clone();
        let mut data_fields = name_fields(self.first.as_deref(), self.last.as_deref(), names, &mut notes);
        let mut found = Issues::default();
        for mapped in &self.mapped {
            if let Some(value) = found.check(typed_value(mapped, mappings)) {
                data_fields.insert(mapped.data_field.clone(), value);
            }
        }
        found.finish(())?;
        let body = self.body(settings, data_fields);
        let leave_lists = if self.consent == Consent::No { settings.marketing_list_ids.clone() } else { Vec::new() };
        if self.consent == Consent::Unknown && !settings.marketing_list_ids.is_empty() {
            notes.push(format!(
                "marketing consent unknown ({} is absent or blank): marketing lists left as they are",
                settings.consent_field
            ));
        }
        // The subscription's email type, like its opt-in type, is a default for new contacts:
        // a contact's own preference (set in Dotdigital) is not rewritten by the PATCH by id.
        let email_type = settings.email_type;
        let for_new = self.opt_in_field.unwrap_or(settings.opt_in_type);
        Ok(ContactUpsert {
            email: self.email.clone(),
            contact_id: self.contact_id,
            merge_option: "overwrite",
            body: with_channel(&body, None, self.opt_in_field.filter(|&kind| kind != VERIFIED)),
            email_body: with_channel(&body, Some(email_type), Some(for_new).filter(|&kind| kind != VERIFIED)),
            create: (for_new == VERIFIED).then(|| with_channel(&body, Some(email_type), Some(VERIFIED))),
            leave_lists,
            held_back_opt_in: self.opt_in_field.filter(|&kind| kind == VERIFIED),
            notes,
        })
    }

    /// The body every variant shares: identifiers, data fields and the lists to join.
    fn body(&self, settings: &Settings, data_fields: Map<String, Value>) -> Map<String, Value> {
        let mut identifiers = Map::new();
        identifiers.insert("email".into(), Value::String(self.email.clone()));
        if let Some(mobile) = &self.mobile {
            identifiers.insert("mobileNumber".into(), Value::String(mobile.clone()));
        }
        let mut body = Map::new();
        body.insert("identifiers".into(), Value::Object(identifiers));
        if !data_fields.is_empty() {
            body.insert("dataFields".into(), Value::Object(data_fields));
        }
        let mut lists = settings.list_ids.clone();
        if self.consent == Consent::Yes {
            lists.extend(&settings.marketing_list_ids);
        }
        if !lists.is_empty() {
            body.insert("lists".into(), json!(lists));
        }
        body
    }
}

/// A mapped custom field as its data field's type takes it (`null` clears the field).
fn typed_value(mapped: &MappedText, mappings: &[TypedMapping]) -> Result<Value, FieldIssue> {
    let path = format!("custom_fields.{}", mapped.custom_field);
    let Some(typed) = mappings.iter().find(|t| t.mapping.data_field == mapped.data_field) else {
        return Err(issue(path, format!("the account has no contact data field {}", mapped.data_field)));
    };
    match &mapped.text {
        None => Ok(Value::Null),
        Some(text) => convert(text, &typed.kind)
            .map_err(|problem| issue(path, format!("for data field {}: {problem}", mapped.data_field))),
    }
}

/// `body` with `channelProperties.email` holding the email type and opt-in type given, if any.
fn with_channel(body: &Map<String, Value>, email_type: Option<&str>, opt_in: Option<&str>) -> Value {
    let mut email = Map::new();
    if let Some(email_type) = email_type {
        email.insert("emailType".into(), json!(email_type));
    }
    if let Some(opt_in) = opt_in {
        email.insert("optInType".into(), json!(opt_in));
    }
    let mut body = body.clone();
    if !email.is_empty() {
        body.insert("channelProperties".into(), json!({ "email": email }));
    }
    Value::Object(body)
}

/// A stored contactId: a positive int32 written in decimal digits.
fn stored_contact_id(text: &str) -> Result<u32, String> {
    let problem = || format!("`{}` is not a Dotdigital contactId (a whole number from 1 to 2147483647)", shown(text));
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem());
    }
    let id = text.parse::<u32>().map_err(|_| problem())?;
    positive_int32(id).map_err(|_| problem())?;
    Ok(id)
}

/// The contact an order belongs to: its email and the billing address's names.
pub fn contact_for_order(tx: &ValidOrder, names: NameFields) -> ContactUpsert {
    let mut notes = Vec::new();
    let first = bounded_name(tx.billing_first_name.as_deref(), "billing first name", &mut notes);
    let last = bounded_name(tx.billing_last_name.as_deref(), "billing last name", &mut notes);
    minimal_contact(&tx.email, first, last, names, notes)
}

/// The contact a certificate is sent to: its email and the recipient's names.
pub fn contact_for_certificate(cert: &Certificate, names: NameFields) -> ContactUpsert {
    let mut notes = Vec::new();
    let full = non_empty(cert.recipient_name.as_deref());
    // "Jane van Doe" → first "Jane", last "van Doe": the first word is the given name.
    let (first, last) = match full.and_then(|n| n.split_once(char::is_whitespace)) {
        Some((first, rest)) => (Some(first), non_empty(Some(rest))),
        None => (full, None),
    };
    let first = bounded_name(first, "recipient first name", &mut notes);
    let last = bounded_name(last, "recipient last name", &mut notes);
    minimal_contact(&cert.email, first, last, names, notes)
}

fn minimal_contact(
    email: &str,
    first: Option<&str>,
    last: Option<&str>,
    names: NameFields,
    mut notes: Vec<String>,
) -> ContactUpsert {
    let mut body = Map::new();
    body.insert("identifiers".into(), json!({"email": email}));
    let data_fields = name_fields(first, last, names, &mut notes);
    if !data_fields.is_empty() {
        body.insert("dataFields".into(), Value::Object(data_fields));
    }
    ContactUpsert {
        email: email.to_string(),
        contact_id: None,
        merge_option: "overwrite-if-empty",
        email_body: Value::Object(body.clone()),
        body: Value::Object(body),
        create: None,
        leave_lists: Vec::new(),
        held_back_opt_in: None,
        notes,
    }
}

/// FIRSTNAME, LASTNAME and FULLNAME, each only when it has a value and the account has the
/// field (Dotdigital refuses a contact naming a field the account lacks).
fn name_fields(
    first: Option<&str>,
    last: Option<&str>,
    names: NameFields,
    notes: &mut Vec<String>,
) -> Map<String, Value> {
    let mut fields = Map::new();
    let full = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let full = non_empty(Some(&full));
    let [first_field, last_field, full_field] = NAME_DATA_FIELDS;
    for (field, value, has) in
        [(first_field, first, names.first), (last_field, last, names.last), (full_field, full, names.full)]
    {
        match (value, has) {
            (Some(value), true) => {
                fields.insert(field.into(), Value::String(value.to_string()));
            }
            (Some(_), false) => notes.push(format!("the account has no {field} data field: not stored")),
            (None, _) => {}
        }
    }
    fields
}

/// A customer's name (trimmed, not blank): too long is a problem.
fn name(name: &str) -> Result<&str, String> {
    if char_len(name) > NAME_MAX_CHARS {
        return Err(format!("longer than {NAME_MAX_CHARS} characters"));
    }
    Ok(name)
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
    use crate::mapping::data_fields::DataFieldType;
    use crate::settings::DataFieldMapping;
    use crate::test_support::{address, field, jane, raw_settings, s, string_upsert};

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
        let upsert = string_upsert(&settings, &jane()).unwrap();
        assert_eq!(upsert.email, "jane.doe@example.com");
        assert_eq!(upsert.merge_option, "overwrite");
        assert!(upsert.notes.is_empty(), "{:?}", upsert.notes);
        // No stored contactId: the upsert by email, the contact may be new.
        assert_eq!(
            upsert.email_body,
            json!({
                "identifiers": {"email": "jane.doe@example.com", "mobileNumber": "447700900123"},
                "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe", "LOYALTY_TIER": "Gold"},
                // Jane's `Email Opt In Type` custom field (Double) overrides the setting.
                "channelProperties": {"email": {"emailType": "html", "optInType": "double"}},
                "lists": [123456]
            })
        );
        // By a stored id: the same, but the subscription's email type (a default for new contacts).
        let mut by_id = upsert.email_body.clone();
        by_id["channelProperties"]["email"].as_object_mut().unwrap().remove("emailType");
        assert_eq!(upsert.body, by_id);
    }

    #[test]
    fn settings_choose_email_and_opt_in_type_and_never_a_status() {
        let mut raw = raw_settings();
        raw.email_type = s("plaintext");
        raw.opt_in_type = s("DOUBLE");
        let settings = Settings::validate(&raw).unwrap();
        let mut c = jane();
        c.custom_fields.retain(|f| f.name != OPT_IN_FIELD);
        let upsert = string_upsert(&settings, &c).unwrap();
        // The settings' email and opt-in types only where the contact may be new: matched by email.
        assert!(upsert.body.get("channelProperties").is_none(), "{}", upsert.body);
        assert_eq!(
            upsert.email_body["channelProperties"],
            json!({"email": {"emailType": "plainText", "optInType": "double"}})
        );
        assert!(upsert.create.is_none(), "only verifiedDouble is created first");
        assert_eq!(upsert.email_body["identifiers"], upsert.body["identifiers"]);
        for body in [&upsert.body, &upsert.email_body] {
            assert!(body.get("lists").is_none());
            assert!(body.pointer("/channelProperties/email/status").is_none());
        }
    }

    #[test]
    fn email_is_trimmed_not_lowercased() {
        let mut c = jane();
        c.email_address = s("  Jane.Doe@Example.COM ");
        let upsert = string_upsert(&settings_with(&[], &[]), &c).unwrap();
        assert_eq!(upsert.email, "Jane.Doe@Example.COM");
        assert_eq!(upsert.body["identifiers"]["email"], "Jane.Doe@Example.COM");
    }

    #[test]
    fn only_present_names_are_sent() {
        let settings = settings_with(&[], &[]);
        let mut c = jane();
        c.first_name = None;
        c.last_name = s("  Doe ");
        let body = string_upsert(&settings, &c).unwrap().body;
        assert_eq!(body["dataFields"], json!({"LASTNAME": "Doe", "FULLNAME": "Doe"}));
        c.last_name = s(" ");
        let body = string_upsert(&settings, &c).unwrap().body;
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
        let upsert = string_upsert(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"]["mobileNumber"], "447700900999");

        // No primary billing address: the first address.
        c.addresses = vec![billing("+33 1 23 45 67 89", false), billing("+44 7700 900999", false)];
        assert_eq!(string_upsert(&settings, &c).unwrap().body["identifiers"]["mobileNumber"], "33123456789");

        // A blank custom field falls back to the address.
        c.custom_fields = vec![field("MOBILE NUMBER", Some(" "))];
        assert_eq!(string_upsert(&settings, &c).unwrap().body["identifiers"]["mobileNumber"], "33123456789");

        // A national number: not sent, noted, not an error.
        c.custom_fields = vec![field("mobile number", Some("07700 900123"))];
        let upsert = string_upsert(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"], json!({"email": "jane.doe@example.com"}));
        assert_eq!(upsert.notes.len(), 1);
        assert!(upsert.notes[0].contains("07700 900123") && upsert.notes[0].contains("not sent"), "{:?}", upsert.notes);

        // No number anywhere: nothing sent, nothing noted.
        c.custom_fields.clear();
        c.addresses = vec![address()];
        let upsert = string_upsert(&settings, &c).unwrap();
        assert_eq!(upsert.body["identifiers"], json!({"email": "jane.doe@example.com"}));
        assert!(upsert.notes.is_empty());
        c.addresses.clear();
        assert!(string_upsert(&settings, &c).unwrap().notes.is_empty());
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
        let body = string_upsert(&settings, &c).unwrap().body;
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
        c.contact_id = s("12x");
        c.custom_fields = vec![
            field("Email Opt In Type", Some("triple")),
            field("email marketing consent", Some("maybe")),
            field("bio", Some(&"x".repeat(256))),
        ];
        // The record's own problems, all at once, before the account's types are known.
        let issues = customer_contact(&settings, &c).unwrap_err();
        assert_eq!(
            fields_of(&issues),
            [
                "email_address",
                "first_name",
                "last_name",
                "contact_id",
                "custom_fields.Email Opt In Type",
                "custom_fields.Email Marketing Consent"
            ]
        );
        assert!(issues[1].problem.contains("50"));
        assert!(issues[5].problem.contains("maybe") && issues[5].problem.contains("Y"), "{}", issues[5].problem);

        // Then the values that do not fit their data field.
        c.email_address = s("jane.doe@example.com");
        c.first_name = s(&"é".repeat(50));
        c.last_name = s(&"D".repeat(50));
        c.contact_id = None;
        c.custom_fields = vec![field("bio", Some(&"x".repeat(256)))];
        let issues = string_upsert(&settings, &c).unwrap_err();
        assert_eq!(fields_of(&issues), ["custom_fields.bio"]);
        assert!(issues[0].problem.contains("255") && issues[0].problem.contains("BIO"), "{}", issues[0].problem);

        // Exactly at the limits is fine.
        c.custom_fields = vec![field("Bio", Some(&"x".repeat(255)))];
        assert!(string_upsert(&settings, &c).is_ok());
    }

    fn typed(settings: &Settings, kinds: &[DataFieldType]) -> Vec<TypedMapping> {
        settings
            .data_field_map
            .iter()
            .zip(kinds)
            .map(|(mapping, kind)| TypedMapping { mapping: mapping.clone(), kind: kind.clone() })
            .collect()
    }

    #[test]
    fn mapped_values_take_their_data_fields_types() {
        let settings =
            settings_with(&[("Points", "POINTS"), ("VIP", "VIP"), ("Birthday", "BIRTHDAY"), ("Tier", "TIER")], &[]);
        let kinds = [DataFieldType::Numeric, DataFieldType::Boolean, DataFieldType::Date, DataFieldType::String];
        let mut c = jane();
        c.custom_fields = vec![
            field("Points", Some(" 1250.5 ")),
            field("vip", Some("Yes")),
            field("Birthday", Some("1990-04-01")),
            field("Tier", Some("Gold")),
        ];
        let contact = customer_contact(&settings, &c).unwrap();
        let body = contact.upsert(&settings, NameFields::ALL, &typed(&settings, &kinds)).unwrap().body;
        assert_eq!(
            body["dataFields"],
            json!({"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe",
                   "POINTS": 1250.5, "VIP": true, "BIRTHDAY": "1990-04-01T00:00:00Z", "TIER": "Gold"})
        );

        // Blank still clears, whatever the type.
        c.custom_fields = vec![field("Points", Some(" ")), field("VIP", None)];
        let contact = customer_contact(&settings, &c).unwrap();
        let body = contact.upsert(&settings, NameFields::ALL, &typed(&settings, &kinds)).unwrap().body;
        assert_eq!(body["dataFields"]["POINTS"], Value::Null);
        assert_eq!(body["dataFields"]["VIP"], Value::Null);

        // Every value that does not convert is named with the type it needed.
        c.custom_fields =
            vec![field("Points", Some("lots")), field("VIP", Some("perhaps")), field("Birthday", Some("01/04/1990"))];
        let contact = customer_contact(&settings, &c).unwrap();
        let issues = contact.upsert(&settings, NameFields::ALL, &typed(&settings, &kinds)).unwrap_err();
        assert_eq!(fields_of(&issues), ["custom_fields.Points", "custom_fields.VIP", "custom_fields.Birthday"]);
        for (issue, kind) in issues.iter().zip(["Numeric", "Boolean", "Date"]) {
            assert!(issue.problem.contains(kind), "{}", issue.problem);
        }

        // A mapping the account's list does not type is a problem, not a silent string.
        let issues = contact.upsert(&settings, NameFields::ALL, &[]).unwrap_err();
        assert!(issues[0].problem.contains("no contact data field POINTS"), "{issues:?}");
    }

    #[test]
    fn names_go_only_where_the_account_has_the_fields() {
        let settings = settings_with(&[], &[]);
        let contact = customer_contact(&settings, &jane()).unwrap();
        let names = NameFields { first: true, last: true, full: false };
        let upsert = contact.upsert(&settings, names, &[]).unwrap();
        assert_eq!(upsert.body["dataFields"], json!({"FIRSTNAME": "Jane", "LASTNAME": "Doe"}));
        assert_eq!(upsert.notes, ["the account has no FULLNAME data field: not stored"]);
        let none = NameFields { first: false, last: false, full: false };
        let upsert = contact.upsert(&settings, none, &[]).unwrap();
        assert!(upsert.body.get("dataFields").is_none(), "{}", upsert.body);
        assert_eq!(upsert.notes.len(), 3);
    }

    #[test]
    fn the_email_opt_in_type_custom_field_overrides_the_setting() {
        let settings = settings_with(&[], &[]);
        assert_eq!(settings.opt_in_type, "single");
        for (given, sent) in [
            ("Single", "single"),
            ("DOUBLE", "double"),
            ("verifieddouble", "verifiedDouble"),
            ("VerifiedDouble", "verifiedDouble"),
            (" unknown ", "unknown"),
        ] {
            for stored in [None, s("42")] {
                let mut c = jane();
                c.contact_id = stored.clone();
                c.custom_fields = vec![field("email opt in type", Some(given))];
                let upsert = string_upsert(&settings, &c).unwrap();
                let written = |body: &Value| body["channelProperties"]["email"].get("optInType").cloned();
                if sent == "verifiedDouble" {
                    // A confirmation email: only for a contact being created, never a re-challenge.
                    assert_eq!(written(&upsert.body), None, "{given}");
                    assert_eq!(written(&upsert.email_body), None, "{given}");
                    assert_eq!(upsert.create.as_ref().and_then(written), Some(json!(sent)), "{given}");
                    assert_eq!(upsert.held_back_opt_in, Some("verifiedDouble"));
                } else {
                    // The record's own type goes to any contact: one PATCH, no create first.
                    assert_eq!(written(&upsert.body), Some(json!(sent)), "{given}");
                    assert_eq!(written(&upsert.email_body), Some(json!(sent)), "{given}");
                    assert!(upsert.create.is_none() && upsert.held_back_opt_in.is_none(), "{given}");
                }
            }
        }
        // Blank or absent: the setting, where the contact may be new (matched by email).
        let mut c = jane();
        c.custom_fields = vec![field("Email Opt In Type", Some(""))];
        let upsert = string_upsert(&settings, &c).unwrap();
        assert!(upsert.body["channelProperties"]["email"].get("optInType").is_none());
        assert_eq!(upsert.email_body["channelProperties"]["email"]["optInType"], "single");
        assert!(upsert.create.is_none());
        c.custom_fields = vec![field("Email Opt In Type", Some("Triple"))];
        let issues = string_upsert(&settings, &c).unwrap_err();
        assert_eq!(fields_of(&issues), ["custom_fields.Email Opt In Type"]);
    }

    fn consent_settings(field_name: Option<&str>) -> Settings {
        let mut raw = raw_settings();
        raw.list_ids = vec![10, 11];
        raw.marketing_list_ids = vec![20, 21];
        raw.consent_field = field_name.map(str::to_string);
        Settings::validate(&raw).unwrap()
    }

    #[test]
    fn consent_decides_the_marketing_lists_never_the_status() {
        let settings = consent_settings(None);
        for yes in ["true", "YES", "1", "y", "Y", " True "] {
            let mut c = jane();
            c.custom_fields.push(field("Email Marketing Consent", Some(yes)));
            let upsert = string_upsert(&settings, &c).unwrap();
            assert_eq!(upsert.body["lists"], json!([10, 11, 20, 21]), "{yes}");
            assert!(upsert.leave_lists.is_empty(), "{yes}");
            assert!(upsert.body["channelProperties"]["email"].get("status").is_none());
        }
        for no in ["false", "No", "0", "n", "N"] {
            let mut c = jane();
            c.custom_fields.push(field("email marketing consent", Some(no)));
            let upsert = string_upsert(&settings, &c).unwrap();
            assert_eq!(upsert.body["lists"], json!([10, 11]), "{no:?}");
            assert_eq!(upsert.leave_lists, [20, 21], "{no:?}");
            assert!(upsert.body["channelProperties"]["email"].get("status").is_none());
        }
        // Absent or blank is not a no: marketing lists are neither joined nor left.
        for unknown in [Some(" "), Some(""), None] {
            let mut c = jane();
            if let Some(unknown) = unknown {
                c.custom_fields.push(field("Email Marketing Consent", Some(unknown)));
            }
            let upsert = string_upsert(&settings, &c).unwrap();
            assert_eq!(upsert.body["lists"], json!([10, 11]), "{unknown:?}");
            assert!(upsert.leave_lists.is_empty(), "{unknown:?}");
            assert!(upsert.notes.iter().any(|n| n.contains("marketing consent unknown")), "{:?}", upsert.notes);
        }
        // The consent field's name comes from the settings.
        let settings = consent_settings(Some("Newsletter"));
        let mut c = jane();
        c.custom_fields.push(field("Email Marketing Consent", Some("yes")));
        assert_eq!(string_upsert(&settings, &c).unwrap().body["lists"], json!([10, 11]));
        c.custom_fields.push(field("NEWSLETTER", Some("yes")));
        assert_eq!(string_upsert(&settings, &c).unwrap().body["lists"], json!([10, 11, 20, 21]));
        c.custom_fields.push(field("Newsletter", Some("sure")));
        c.custom_fields.retain(|f| f.name != "NEWSLETTER");
        assert_eq!(fields_of(&string_upsert(&settings, &c).unwrap_err()), ["custom_fields.Newsletter"]);
    }

    #[test]
    fn the_stored_contact_id_is_kept_when_valid() {
        let settings = settings_with(&[], &[]);
        let mut c = jane();
        c.contact_id = s(" 129212619 ");
        let upsert = string_upsert(&settings, &c).unwrap();
        assert_eq!(upsert.contact_id, Some(129212619));
        // The current email still goes in the body: it is what changes on the stored contact.
        assert_eq!(upsert.body["identifiers"]["email"], "jane.doe@example.com");
        c.contact_id = s("");
        assert_eq!(string_upsert(&settings, &c).unwrap().contact_id, None);
        c.contact_id = s("2147483647");
        assert_eq!(string_upsert(&settings, &c).unwrap().contact_id, Some(2147483647));
        for bad in ["0", "-5", "+5", "2147483648", "99999999999", "12.0", "abc", "1 2", "0x10"] {
            c.contact_id = s(bad);
            let issues = string_upsert(&settings, &c).unwrap_err();
            assert_eq!(fields_of(&issues), ["contact_id"], "{bad}");
        }
    }

    #[test]
    fn missing_or_malformed_emails() {
        let settings = settings_with(&[], &[]);
        for email in
            [None, s(""), s("   "), s("no-at-sign"), s("two@@example.com"), s("sp ace@example.com"), s("@example.com")]
        {
            let mut c = jane();
            c.email_address = email.clone();
            let issues = string_upsert(&settings, &c).unwrap_err();
            assert_eq!(fields_of(&issues), ["email_address"], "{email:?}");
        }
        let mut c = jane();
        c.email_address = None;
        assert_eq!(string_upsert(&settings, &c).unwrap_err()[0].problem, "required");
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
        let upsert = contact_for_order(&order, NameFields::ALL);
        assert_eq!(upsert.email, "Jane.Doe@example.com");
        assert_eq!(upsert.merge_option, "overwrite-if-empty");
        assert_eq!(
            upsert.body,
            json!({"identifiers": {"email": "Jane.Doe@example.com"}, "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": "Doe", "FULLNAME": "Jane Doe"}})
        );

        let bare = ValidOrder { billing_first_name: None, billing_last_name: s(&"L".repeat(51)), ..order };
        let upsert = contact_for_order(&bare, NameFields::ALL);
        assert_eq!(upsert.body, json!({"identifiers": {"email": "Jane.Doe@example.com"}}));
        assert_eq!(upsert.notes.len(), 1);
    }
}
