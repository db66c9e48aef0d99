//! `PUT /contacts/v3/import` (API.md §3b; contacts-v3.json `importContacts`,
//! `v3_import_body`, `contactRequest`, `inline_response_200_2`): the body's shape is checked
//! when the import is accepted (`400 contacts:badJson`); each contact is checked and applied
//! when it finishes, with the PATCH's rules (`contact_body.rs`), and problems land in the
//! report's `failures`, never in the PUT's status.
//!
//! Failure codes (API.md §3b: the spec's examples are camelCase, the docs page PascalCase; the
//! casing is [`crate::ImportConfig::failure_code_casing`]):
//!
//! | Problem | `failureCode` | counted in |
//! |---|---|---|
//! | `identifiers.email` invalid | `invalidEmail` (spec example) | `invalidEntries` |
//! | `identifiers.mobileNumber` invalid | `invalidPhoneNumber` (docs list) | `invalidEntries` |
//! | `identifiers.contactId` invalid | `invalidContactId` (docs list) | `invalidEntries` |
//! | unknown list id | `invalidAddressBookIds` (docs list) | `invalidEntries` |
//! | `matchIdentifier` missing, or naming no identifier sent | `invalidMatchIdentifier` (docs list) | `invalidEntries` |
//! | `identifiers` missing or empty | `noValidIdentifiers` (docs list) | `invalidEntries` |
//! | anything else the PATCH refuses (unknown keys, enums, data fields) | `apiSchemaViolation` (docs list) | `invalidEntries` |
//! | `contactId` matching no contact | `contactNotFound` (spec example) | `invalidEntries` |
//! | an identifier already in an earlier contact of the same import | `duplicateIdentifier` (spec example) | `duplicateIdentifiers` |
//! | an identifier owned by another existing contact | `duplicateIdentifier` | `duplicateIdentifiers` |
//! | the matched contact is suppressed | `globallySuppressed` (docs list) | `globallySuppressed` |
//! | bad `consentRecords` | `consentRecordsNotApplied` (spec example); the contact is still imported | — |
//!
//! assumed (the documents give the codes, not which problem gets which): the mapping above.
//! assumed: of contacts repeating an identifier, the first is imported and each later one
//! fails, as the spec example lists one `duplicateIdentifier` failure for `emma@emailsim.io`.
//! assumed: a suppressed contact is neither updated nor resubscribed by an import
//! (`summary.globallySuppressed`: "suppressed at the account level, so can't be updated") and
//! is also listed in `failures`, the stricter reading for a client.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::clock::iso_now;
use crate::config::{FailureCodeCasing, VerifiedDoubleReading};
use crate::contact_body::{read_contact, ContactRules, ContactSchema};
use crate::contacts::{apply_patch, MergeOption};
use crate::errors::V3Error;
use crate::imports::ImportContext;
use crate::model::{ChannelStatus, Contact, ContactKey};
use crate::state::AccountState;

/// An accepted contact import, waiting to be applied.
pub(crate) struct ContactImport {
    merge: MergeOption,
    contacts: Vec<Map<String, Value>>,
}

impl ContactImport {
    pub(crate) fn len(&self) -> usize {
        self.contacts.len()
    }
}

fn bad_json(description: &str) -> V3Error {
    // contacts-v3.json `importContacts` 400 example.
    V3Error::new(400, "contacts:badJson", "The request JSON is badly formed").detail("body", description)
}

/// Reads the body of `PUT /contacts/v3/import`: an object with an optional `mergeOption` and a
/// non-empty `contacts` array of objects (`v3_import_body`: `contacts` required, `minItems` 1).
/// assumed: unknown top-level keys, and contacts that are not objects, fail the whole request
/// (the stricter reading: they cannot be read as the declared schema).
pub(crate) fn parse_contact_import(body: &[u8]) -> Result<ContactImport, V3Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| bad_json(&e.to_string()))?;
    let Value::Object(mut object) = value else { return Err(bad_json("The body must be a JSON object")) };
    if let Some(other) = object.keys().find(|k| !matches!(k.as_str(), "mergeOption" | "contacts")) {
        return Err(bad_json(&format!("Unknown property '{other}'; allowed: mergeOption, contacts")));
    }
    let merge = match object.get("mergeOption") {
        None => MergeOption::Overwrite,
        Some(value) => value.as_str().and_then(MergeOption::parse_import).ok_or_else(|| {
            bad_json(&format!("Invalid mergeOption {value}; allowed: overwrite, overwriteIfNotEmpty, overwriteIfEmpty"))
        })?,
    };
    let Some(Value::Array(items)) = object.remove("contacts") else {
        return Err(bad_json("'contacts' is required and must be an array of contacts"));
    };
    if items.is_empty() {
        return Err(bad_json("'contacts' must hold at least one contact"));
    }
    let mut contacts = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::Object(contact) => contacts.push(contact),
            _ => return Err(bad_json(&format!("contacts[{index}] must be a JSON object"))),
        }
    }
    Ok(ContactImport { merge, contacts })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureCode {
    InvalidEmail,
    InvalidPhoneNumber,
    InvalidContactId,
    InvalidAddressBookIds,
    InvalidMatchIdentifier,
    NoValidIdentifiers,
    ApiSchemaViolation,
    ContactNotFound,
    DuplicateIdentifier,
    GloballySuppressed,
    ConsentRecordsNotApplied,
}

impl FailureCode {
    fn camel(self) -> &'static str {
        match self {
            FailureCode::InvalidEmail => "invalidEmail",
            FailureCode::InvalidPhoneNumber => "invalidPhoneNumber",
            FailureCode::InvalidContactId => "invalidContactId",
            FailureCode::InvalidAddressBookIds => "invalidAddressBookIds",
            FailureCode::InvalidMatchIdentifier => "invalidMatchIdentifier",
            FailureCode::NoValidIdentifiers => "noValidIdentifiers",
            FailureCode::ApiSchemaViolation => "apiSchemaViolation",
            FailureCode::ContactNotFound => "contactNotFound",
            FailureCode::DuplicateIdentifier => "duplicateIdentifier",
            FailureCode::GloballySuppressed => "globallySuppressed",
            FailureCode::ConsentRecordsNotApplied => "consentRecordsNotApplied",
        }
    }

    fn spelled(self, casing: FailureCodeCasing) -> String {
        let camel = self.camel();
        match casing {
            FailureCodeCasing::Camel => camel.to_string(),
            FailureCodeCasing::Pascal => camel[..1].to_ascii_uppercase() + &camel[1..],
        }
    }

    /// The code for a problem the PATCH validator reported at `item` (a JSON path).
    fn of_problem(item: &str) -> FailureCode {
        match item {
            "identifiers.email" => FailureCode::InvalidEmail,
            "identifiers.mobileNumber" => FailureCode::InvalidPhoneNumber,
            "identifiers.contactId" => FailureCode::InvalidContactId,
            "identifiers" => FailureCode::NoValidIdentifiers,
            "lists" => FailureCode::InvalidAddressBookIds,
            "matchIdentifier" => FailureCode::InvalidMatchIdentifier,
            "consentRecords" => FailureCode::ConsentRecordsNotApplied,
            _ => FailureCode::ApiSchemaViolation,
        }
    }
}

/// `summary` and the three lists of a finished contact import.
#[derive(Default)]
struct Report {
    new_contacts: u32,
    updated_contacts: u32,
    globally_suppressed: u32,
    invalid_entries: u32,
    duplicate_identifiers: u32,
    created: Vec<Value>,
    updated: Vec<Value>,
    failures: Vec<Value>,
}

impl Report {
    fn into_json(self) -> Map<String, Value> {
        let mut report = Map::new();
        report.insert(
            "summary".into(),
            json!({
                "newContacts": self.new_contacts,
                "updatedContacts": self.updated_contacts,
                "globallySuppressed": self.globally_suppressed,
                "invalidEntries": self.invalid_entries,
                "duplicateIdentifiers": self.duplicate_identifiers,
            }),
        );
        report.insert("created".into(), Value::Array(self.created));
        report.insert("updated".into(), Value::Array(self.updated));
        report.insert("failures".into(), Value::Array(self.failures));
        report
    }
}

/// `{contactId, identifiers}` (contacts-v3.json `contactReference`).
fn reference(contact: &Contact) -> Value {
    let mut identifiers = Map::new();
    if let Some(email) = &contact.email {
        identifiers.insert("email".into(), json!(email));
    }
    if let Some(number) = &contact.mobile_number {
        identifiers.insert("mobileNumber".into(), json!(number));
    }
    json!({ "contactId": contact.id, "identifiers": identifiers })
}

/// The identifiers an import item carries, for duplicate detection within the import.
fn keys_of(email: &Option<String>, mobile: &Option<String>, id: Option<i64>) -> Vec<ContactKey> {
    let mut keys = Vec::with_capacity(3);
    keys.extend(email.clone().map(ContactKey::Email));
    keys.extend(mobile.clone().map(ContactKey::MobileNumber));
    keys.extend(id.map(ContactKey::ContactId));
    keys
}

impl AccountState {
    /// Applies a finished contact import, contact by contact in order; returns the report's
    /// `summary`, `created`, `updated` and `failures`.
    pub(crate) fn apply_contact_import(
        &mut self,
        import: ContactImport,
        context: &mut ImportContext,
    ) -> Map<String, Value> {
        let mut report = Report::default();
        let mut seen: HashSet<ContactKey> = HashSet::new();
        let now = iso_now();
        for item in &import.contacts {
            self.import_contact(item, import.merge, context, &mut seen, &mut report, &now);
        }
        report.into_json()
    }

    fn import_contact(
        &mut self,
        item: &Map<String, Value>,
        merge: MergeOption,
        context: &mut ImportContext,
        seen: &mut HashSet<ContactKey>,
        report: &mut Report,
        now: &str,
    ) {
        let casing = context.config.failure_code_casing;
        let rules = ContactRules {
            data_fields: &self.account.data_fields,
            lists: &self.account.lists,
            policy: context.policy,
            schema: ContactSchema::ImportItem,
        };
        let (patch, problems) = read_contact(item, &rules);
        let mut fatal: Vec<(FailureCode, String)> = Vec::new();
        let mut consent: Option<String> = None;
        for (path, description) in &problems {
            match FailureCode::of_problem(path) {
                FailureCode::ConsentRecordsNotApplied => consent = Some(description.clone()),
                code => fatal.push((code, description.clone())),
            }
        }

        // contactRequest: `matchIdentifier` and `identifiers` are required.
        let has_identifier = patch.email.is_some() || patch.mobile_number.is_some() || patch.contact_id.is_some();
        let identifier_problem = problems.iter().any(|(path, _)| path.starts_with("identifiers"));
        if !has_identifier && !identifier_problem {
            fatal.push((FailureCode::NoValidIdentifiers, "No valid identifiers were provided for the contact".into()));
        }
        let match_name = item.get("matchIdentifier").and_then(Value::as_str);
        let match_key = match match_name.map(str::to_ascii_lowercase).as_deref() {
            Some("email") => patch.email.clone().map(ContactKey::Email),
            Some("mobilenumber") => patch.mobile_number.clone().map(ContactKey::MobileNumber),
            Some("contactid") => patch.contact_id.map(ContactKey::ContactId),
            _ => None,
        };
        if match_key.is_none() && has_identifier {
            let named_is_invalid = match_name.is_some_and(|name| {
                problems
                    .iter()
                    .any(|(path, _)| path.strip_prefix("identifiers.").is_some_and(|p| p.eq_ignore_ascii_case(name)))
            });
            if !named_is_invalid && !fatal.iter().any(|(code, _)| *code == FailureCode::InvalidMatchIdentifier) {
                let description = match match_name {
                    Some(name) => format!("The matchIdentifier '{name}' does not name an identifier of the contact"),
                    None => "matchIdentifier is required: email, mobileNumber or contactId".to_string(),
                };
                fatal.push((FailureCode::InvalidMatchIdentifier, description));
            }
        }

        let existing = match_key.as_ref().and_then(|key| self.contacts.id_of(key));
        let fail = |report: &mut Report, failures: Vec<(FailureCode, String)>, contact_id: Option<i64>| {
            let mut entry = Map::new();
            if let Some(id) = contact_id {
                entry.insert("contactId".into(), json!(id));
            }
            if let Some(name) = item.get("matchIdentifier") {
                entry.insert("matchIdentifier".into(), name.clone());
            }
            entry.insert("identifiers".into(), item.get("identifiers").cloned().unwrap_or_else(|| json!({})));
            let list: Vec<Value> = failures
                .into_iter()
                .map(|(code, description)| json!({ "failureCode": code.spelled(casing), "description": description }))
                .collect();
            entry.insert("failures".into(), Value::Array(list));
            report.failures.push(Value::Object(entry));
        };

        let keys = keys_of(&patch.email, &patch.mobile_number, patch.contact_id);
        let repeated = keys.iter().find(|key| seen.contains(key)).cloned();
        seen.extend(keys);
        if !fatal.is_empty() {
            report.invalid_entries += 1;
            return fail(report, fatal, existing);
        }
        let Some(match_key) = match_key else { return };
        if let Some(key) = repeated {
            report.duplicate_identifiers += 1;
            // contacts-v3.json `inline_response_200_2.failures` example, verbatim in form.
            let description = format!("Duplicate identifier detected for {} '{}'", key.identifier(), key.value());
            return fail(report, vec![(FailureCode::DuplicateIdentifier, description)], existing);
        }
        if existing.is_none() && matches!(match_key, ContactKey::ContactId(_)) {
            // A contactId is never chosen by the client, so it can only match (the spec's
            // `importContacts` note); the code is the spec example's `contactNotFound`.
            report.invalid_entries += 1;
            let description = format!("No contact was found with the contactId '{}'", match_key.value());
            return fail(report, vec![(FailureCode::ContactNotFound, description)], None);
        }
        if let Some(contact) = existing.and_then(|id| self.contacts.get(id)) {
            if contact.email_status == ChannelStatus::Suppressed {
                report.globally_suppressed += 1;
                let description = "The contact is suppressed at the account level, so can't be updated".to_string();
                return fail(report, vec![(FailureCode::GloballySuppressed, description)], existing);
            }
        }
        let wanted =
            [patch.email.clone().map(ContactKey::Email), patch.mobile_number.clone().map(ContactKey::MobileNumber)];
        for key in wanted.into_iter().flatten() {
            if let Some(owner) = self.contacts.id_of(&key) {
                if Some(owner) != existing {
                    report.duplicate_identifiers += 1;
                    let description = format!(
                        "The {} '{}' already belongs to another contact ({owner})",
                        key.identifier(),
                        key.value()
                    );
                    return fail(report, vec![(FailureCode::DuplicateIdentifier, description)], existing);
                }
            }
        }

        self.account.data_fields.extend(patch.new_data_fields.iter().cloned());
        let (mut contact, created) = match existing.and_then(|id| self.contacts.get(id)) {
            Some(contact) => (contact.clone(), false),
            None => {
                let id = *context.next_contact_id;
                *context.next_contact_id += 1;
                (Contact::new(id, now), true)
            }
        };
        // Imports keep the narrower reading of verified double opt-in: the knob is for the
        // single-contact calls.
        let merge = if created { MergeOption::Overwrite } else { merge };
        let challenged = apply_patch(&mut contact, &patch, merge, created, VerifiedDoubleReading::NewOrStatusSent);
        contact.updated = now.to_string();
        if challenged {
            self.record_confirmation_email(&contact);
        }
        let contact_id = contact.id;
        if created {
            report.new_contacts += 1;
            report.created.push(reference(&contact));
        } else {
            report.updated_contacts += 1;
            report.updated.push(reference(&contact));
        }
        self.contacts.store(contact);
        if let Some(description) = consent {
            // contacts-v3.json `getImportStatus`: "contacts are created or updated but if any
            // associated data sets fail to import then details of these are included in the
            // failures results".
            fail(report, vec![(FailureCode::ConsentRecordsNotApplied, description)], Some(contact_id));
        }
    }
}
