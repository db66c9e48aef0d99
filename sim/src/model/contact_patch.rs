//! A contact as a v3 request asks for it, validated the way Dotdigital's schema reads it
//! (contacts-v3.json `updateContactRequest`, `createContactRequest`, and each `contactRequest`
//! of `v3_import_body`): known keys only, enums in any casing (kept in read casing), valid
//! identifiers, known data fields with values that fit their type, known lists. Every problem is
//! reported as `(JSON path, description)`; how a problem is answered is the caller's (a `400` for
//! the PATCH and POST, a report `failure` for an import).

use serde_json::{Map, Value};

use super::address_book::AddressBook;
use super::contact::{ChannelStatus, EmailType, OptInType};
use super::data_fields::{is_valid_data_field_name, DataField, DataFieldType};
use super::identifiers::{is_valid_email, is_valid_mobile_number};
use crate::settings::UnknownDataField;

/// The run-wide choices a PATCH body is checked against (from [`crate::SimConfig`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContactPolicy {
    pub unknown_data_field: UnknownDataField,
    pub max_string_length: usize,
}

/// What the account allows a PATCH (or one contact of an import) to name.
pub(crate) struct ContactRules<'a> {
    pub data_fields: &'a [DataField],
    pub lists: &'a [AddressBook],
    pub policy: ContactPolicy,
    pub schema: ContactSchema,
}

/// Which contacts-v3.json request schema a body is read against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContactSchema {
    /// `updateContactRequest` (`importContact`, the PATCH): `resubscribeOptions` allowed (it
    /// includes `channelPropertiesWithResubscribe`), a top-level `matchIdentifier` tolerated.
    Update,
    /// `createContactRequest` (`createContact`, the POST): `identifiers` required; it does not
    /// include `channelPropertiesWithResubscribe`, and the email channel has
    /// `additionalProperties: false`, so `resubscribeOptions` is refused; `matchIdentifier`
    /// (only tolerated on the PATCH because the official connectors send it) is refused.
    Create,
    /// One contact of an import: as `Update`, and `identifiers.contactId` is accepted, for
    /// matching only (contacts-v3.json `PUT /contacts/v3/import`: "it is only used to check for
    /// a matching contact").
    ImportItem,
}

/// A PATCH body after validation; `None` means "not sent, leave alone".
#[derive(Debug, Default)]
pub(crate) struct ContactPatch {
    pub email: Option<String>,
    /// `identifiers.contactId` of an import item (never set by a PATCH body).
    pub contact_id: Option<i64>,
    pub mobile_number: Option<String>,
    /// Canonical field name → value as stored (dates normalized); `Null` clears.
    pub data_fields: Vec<(String, Value)>,
    /// Fields (upper-cased names) to create in the account first ([`UnknownDataField::AutoCreate`]).
    pub new_data_fields: Vec<DataField>,
    pub email_type: Option<EmailType>,
    pub opt_in_type: Option<OptInType>,
    pub email_status: Option<ChannelStatus>,
    pub sms_status: Option<ChannelStatus>,
    pub whatsapp_status: Option<ChannelStatus>,
    pub lists: Vec<u32>,
}

/// Request spelling → value, matched in any casing (the spec's own `importContacts` example
/// sends `"emailType": "Html"`, where the enum says `html`); the model emits the read casing.
const EMAIL_TYPES: [(&str, EmailType); 2] = [("plainText", EmailType::PlainText), ("html", EmailType::Html)];
const OPT_IN_TYPES: [(&str, OptInType); 4] = [
    ("unknown", OptInType::Unknown),
    ("single", OptInType::Single),
    ("double", OptInType::Double),
    ("verifiedDouble", OptInType::VerifiedDouble),
];
/// A PATCH cannot ask for `noSubscription` on the email channel.
const EMAIL_STATUSES: [(&str, ChannelStatus); 3] = [
    ("subscribed", ChannelStatus::Subscribed),
    ("unsubscribed", ChannelStatus::Unsubscribed),
    ("suppressed", ChannelStatus::Suppressed),
];
const CHANNEL_STATUSES: [(&str, ChannelStatus); 4] = [
    ("noSubscription", ChannelStatus::NoSubscription),
    ("subscribed", ChannelStatus::Subscribed),
    ("unsubscribed", ChannelStatus::Unsubscribed),
    ("suppressed", ChannelStatus::Suppressed),
];

const TOP_LEVEL_KEYS: [&str; 7] =
    ["identifiers", "dataFields", "channelProperties", "lists", "preferences", "consentRecords", "matchIdentifier"];
/// `createContactRequest`: the same without `matchIdentifier`.
const CREATE_KEYS: [&str; 6] =
    ["identifiers", "dataFields", "channelProperties", "lists", "preferences", "consentRecords"];

/// Validates one contact object: what it asks for, and every problem as `(JSON path,
/// description)` (empty when it is valid). The PATCH and each contact of an import share it.
pub(crate) fn read_contact(object: &Map<String, Value>, rules: &ContactRules) -> (ContactPatch, Vec<(String, String)>) {
    let mut reader = PatchReader { rules, patch: ContactPatch::default(), problems: Vec::new() };
    reader.read(object);
    (reader.patch, reader.problems)
}

struct PatchReader<'a> {
    rules: &'a ContactRules<'a>,
    patch: ContactPatch,
    problems: Vec<(String, String)>,
}

impl PatchReader<'_> {
    fn problem(&mut self, item: &str, description: String) {
        self.problems.push((item.to_string(), description));
    }

    fn read(&mut self, object: &Map<String, Value>) {
        let create = self.rules.schema == ContactSchema::Create;
        for (key, value) in object {
            match key.as_str() {
                "identifiers" => self.read_identifiers(value),
                "dataFields" => self.read_data_fields(value),
                "channelProperties" => self.read_channel_properties(value),
                "lists" => self.read_lists(value),
                "preferences" => self.read_preferences(value),
                "consentRecords" => self.read_consent_records(value),
                // Tolerated: Dotdigital's own connectors send it in PATCH bodies (e.g.
                // github.com/dotmailer/dotmailer-magento2-extension); the spec has it on import items.
                "matchIdentifier" if !create => {
                    if !value.is_string() {
                        self.problem("matchIdentifier", "matchIdentifier must be a string".into());
                    }
                }
                other => {
                    let allowed = if create { CREATE_KEYS.join(", ") } else { TOP_LEVEL_KEYS.join(", ") };
                    self.problem(other, format!("Unknown property '{other}'; allowed: {allowed}"))
                }
            }
        }
        if create {
            self.require_identifiers(object);
        }
    }

    /// `createContactRequest` requires `identifiers`; only email and mobile number exist (custom
    /// identifiers are refused), so one of them must be there. assumed: the documents do not
    /// say what an empty `identifiers` gets; the stricter reading refuses it.
    fn require_identifiers(&mut self, object: &Map<String, Value>) {
        if self.problems.iter().any(|(item, _)| item.starts_with("identifiers")) {
            return;
        }
        if !object.contains_key("identifiers") {
            self.problem("identifiers", "identifiers is required".into());
        } else if self.patch.email.is_none() && self.patch.mobile_number.is_none() {
            self.problem("identifiers", "identifiers must hold an email or a mobileNumber".into());
        }
    }

    fn read_identifiers(&mut self, value: &Value) {
        let Some(identifiers) = self.object(value, "identifiers") else { return };
        for (key, value) in identifiers {
            let item = format!("identifiers.{key}");
            match key.as_str() {
                "email" => match value.as_str() {
                    Some(email) if is_valid_email(email) => self.patch.email = Some(email.to_ascii_lowercase()),
                    _ => self.problem(&item, format!("Invalid value for 'email': {value}")),
                },
                "mobileNumber" => match value.as_str() {
                    Some(number) if is_valid_mobile_number(number) => {
                        self.patch.mobile_number = Some(number.to_string())
                    }
                    _ => self.problem(
                        &item,
                        format!("Invalid value for 'mobileNumber': {value}; use E.164 digits without '+'"),
                    ),
                },
                "contactId" if self.rules.schema == ContactSchema::ImportItem => {
                    match value.as_i64().filter(|id| *id >= 0) {
                        Some(id) => self.patch.contact_id = Some(id),
                        None => self.problem(&item, format!("Invalid value for 'contactId': {value}")),
                    }
                }
                "contactId" => self.problem(&item, "The contactId cannot be set or changed".into()),
                other => self.problem(&item, format!("The custom identifier '{other}' does not exist in the account")),
            }
        }
    }

    fn read_data_fields(&mut self, value: &Value) {
        let Some(fields) = self.object(value, "dataFields") else { return };
        for (name, value) in fields {
            let item = format!("dataFields.{name}");
            if !is_valid_data_field_name(name) {
                self.problem(
                    &item,
                    format!("Invalid data field name '{name}': 1-20 characters of A-Z, a-z, 0-9, _ or -"),
                );
                continue;
            }
            let known = self.rules.data_fields.iter().find(|f| f.name.eq_ignore_ascii_case(name));
            let field = match (known, self.rules.policy.unknown_data_field) {
                (Some(existing), _) => existing.clone(),
                (None, UnknownDataField::AutoCreate) => {
                    let upper = name.to_ascii_uppercase();
                    match self.patch.new_data_fields.iter().find(|f| f.name == upper) {
                        Some(created) => created.clone(),
                        None => {
                            let created = DataField::new(&upper, DataFieldType::of_value(value));
                            self.patch.new_data_fields.push(created.clone());
                            created
                        }
                    }
                }
                (None, UnknownDataField::Reject) => {
                    self.problem(&item, format!("The data field '{name}' does not exist in the account"));
                    continue;
                }
            };
            let stored = match field.kind.accept(value, self.rules.policy.max_string_length) {
                Ok(stored) => stored,
                Err(why) => {
                    self.problem(&item, format!("The value for '{}' {why}", field.name));
                    continue;
                }
            };
            let canonical = field.name;
            self.patch.data_fields.retain(|(existing, _)| *existing != canonical);
            self.patch.data_fields.push((canonical, stored));
        }
    }

    fn read_channel_properties(&mut self, value: &Value) {
        let Some(channels) = self.object(value, "channelProperties") else { return };
        for (channel, value) in channels {
            let item = format!("channelProperties.{channel}");
            match channel.as_str() {
                "email" => self.read_email_channel(value),
                "sms" => self.patch.sms_status = self.read_status_only(value, &item),
                "whatsApp" => self.patch.whatsapp_status = self.read_status_only(value, &item),
                other => self.problem(&item, format!("Unknown channel '{other}'; allowed: email, sms, whatsApp")),
            }
        }
    }

    fn read_email_channel(&mut self, value: &Value) {
        let Some(email) = self.object(value, "channelProperties.email") else { return };
        for (key, value) in email {
            let item = format!("channelProperties.email.{key}");
            match key.as_str() {
                "emailType" => self.patch.email_type = self.enum_value(value, &item, &EMAIL_TYPES),
                "optInType" => self.patch.opt_in_type = self.enum_value(value, &item, &OPT_IN_TYPES),
                "status" => self.patch.email_status = self.enum_value(value, &item, &EMAIL_STATUSES),
                "resubscribeOptions" if self.rules.schema != ContactSchema::Create => {
                    self.read_resubscribe_options(value)
                }
                other => {
                    let allowed = match self.rules.schema {
                        ContactSchema::Create => "emailType, optInType, status",
                        ContactSchema::Update | ContactSchema::ImportItem => {
                            "emailType, optInType, status, resubscribeOptions"
                        }
                    };
                    self.problem(&item, format!("Unknown property '{other}'; allowed: {allowed}"))
                }
            }
        }
    }

    fn read_resubscribe_options(&mut self, value: &Value) {
        let Some(options) = self.object(value, "channelProperties.email.resubscribeOptions") else { return };
        for (key, value) in options {
            let item = format!("channelProperties.email.resubscribeOptions.{key}");
            let fits = match key.as_str() {
                "resubscribeWithNoChallenge" => value.is_boolean(),
                "preferredLocale" | "redirectUrlAfterChallenge" => value.is_string(),
                _ => {
                    self.problem(&item, format!("Unknown property '{key}'"));
                    continue;
                }
            };
            if !fits {
                self.problem(&item, format!("Invalid value for '{key}': {value}"));
            }
        }
    }

    fn read_status_only(&mut self, value: &Value, item: &str) -> Option<ChannelStatus> {
        let channel = self.object(value, item)?;
        let mut status = None;
        for (key, value) in channel {
            let item = format!("{item}.{key}");
            if key == "status" {
                status = self.enum_value(value, &item, &CHANNEL_STATUSES);
            } else {
                self.problem(&item, format!("Unknown property '{key}'; allowed: status"));
            }
        }
        status
    }

    /// contacts-v3.json `baseContact.lists`: 1-100 int32 list ids. A list the account lacks is
    /// refused (assumed: the documents are silent for the PATCH; the contact import's failure
    /// codes include `InvalidAddressBookIds`, so an unknown id is an error, not ignored).
    fn read_lists(&mut self, value: &Value) {
        let Some(lists) = value.as_array() else {
            self.problem("lists", "lists must be an array of list IDs".into());
            return;
        };
        if lists.is_empty() || lists.len() > 100 {
            self.problem("lists", format!("lists must hold 1 to 100 list IDs, not {}", lists.len()));
            return;
        }
        for entry in lists {
            match entry.as_u64().and_then(|id| u32::try_from(id).ok()) {
                Some(id) if self.rules.lists.iter().any(|l| l.id == id) => {
                    if !self.patch.lists.contains(&id) {
                        self.patch.lists.push(id);
                    }
                }
                Some(id) => self.problem("lists", format!("The list {id} does not exist in the account")),
                None => self.problem("lists", format!("Invalid list ID {entry}")),
            }
        }
    }

    fn read_preferences(&mut self, value: &Value) {
        let valid = value.as_array().is_some_and(|items| {
            !items.is_empty()
                && items.iter().all(|p| {
                    p.as_object().is_some_and(|p| {
                        p.get("id").is_some_and(Value::is_i64)
                            && p.get("isOptedIn").is_some_and(Value::is_boolean)
                            && p.keys().all(|k| k == "id" || k == "isOptedIn")
                    })
                })
        });
        if !valid {
            self.problem("preferences", "preferences must be a non-empty array of {id, isOptedIn}".into());
        }
    }

    fn read_consent_records(&mut self, value: &Value) {
        const FIELDS: [&str; 5] = ["text", "dateTimeConsented", "url", "ipAddress", "userAgent"];
        let valid = value.as_array().is_some_and(|items| {
            (1..=5).contains(&items.len())
                && items.iter().all(|record| {
                    record.as_object().is_some_and(|record| {
                        FIELDS.iter().all(|f| record.get(*f).and_then(Value::as_str).is_some_and(|s| !s.is_empty()))
                            && record.keys().all(|k| FIELDS.contains(&k.as_str()))
                    })
                })
        });
        if !valid {
            self.problem(
                "consentRecords",
                format!("consentRecords must hold 1 to 5 records with exactly {}", FIELDS.join(", ")),
            );
        }
    }

    fn object<'v>(&mut self, value: &'v Value, item: &str) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.problem(item, format!("{item} must be an object"));
        }
        object
    }

    fn enum_value<T: Copy>(&mut self, value: &Value, item: &str, table: &[(&str, T)]) -> Option<T> {
        let found = value
            .as_str()
            .and_then(|s| table.iter().find(|(request, _)| request.eq_ignore_ascii_case(s)))
            .map(|(_, read)| *read);
        if found.is_none() {
            let allowed: Vec<&str> = table.iter().map(|(request, _)| *request).collect();
            self.problem(item, format!("Invalid value {value}; allowed: {}", allowed.join(", ")));
        }
        found
    }
}
