//! Applying a finished contact import (contacts-v3.json `importContacts`, `v3_import_body`,
//! `contactRequest`, `inline_response_200_2`): each contact is checked with the PATCH's rules
//! (`contact_patch.rs`), matched by its `matchIdentifier`, then created or updated with the
//! import's merge option; problems land in the report's `failures`, never in the PUT's status.
//!
//! Failure codes (contacts-v3.json `getImportStatus` examples are camelCase, the docs list
//! PascalCase, developer.dotdigital.com/reference-link/getimportstatus; the casing is
//! [`crate::ImportConfig::failure_code_casing`]):
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

use super::account_state::AccountState;
use super::contact::{ChannelStatus, Contact};
use super::contact_patch::{read_contact, ContactPatch, ContactRules, ContactSchema};
use super::contact_writes::ContactWrite;
use super::identifiers::ContactKey;
use super::import_book::ContactImport;
use super::import_progress::ImportContext;
use crate::clock::iso_now;
use crate::settings::{FailureCodeCasing, VerifiedDoubleReading};

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
    /// Counts a refused item and lists its failures: `{contactId?, matchIdentifier?,
    /// identifiers, failures: [{failureCode, description}]}` (`inline_response_200_2.failures`).
    fn refuse(&mut self, item: &Map<String, Value>, refusal: Refusal, casing: FailureCodeCasing) {
        match refusal.count {
            Some(Count::InvalidEntries) => self.invalid_entries += 1,
            Some(Count::DuplicateIdentifiers) => self.duplicate_identifiers += 1,
            Some(Count::GloballySuppressed) => self.globally_suppressed += 1,
            None => {}
        }
        let mut entry = Map::new();
        if let Some(id) = refusal.contact_id {
            entry.insert("contactId".into(), json!(id));
        }
        if let Some(name) = item.get("matchIdentifier") {
            entry.insert("matchIdentifier".into(), name.clone());
        }
        entry.insert("identifiers".into(), item.get("identifiers").cloned().unwrap_or_else(|| json!({})));
        let list: Vec<Value> = refusal
            .failures
            .into_iter()
            .map(|(code, description)| json!({ "failureCode": code.spelled(casing), "description": description }))
            .collect();
        entry.insert("failures".into(), Value::Array(list));
        self.failures.push(Value::Object(entry));
    }

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

/// The summary count a refused item goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Count {
    InvalidEntries,
    DuplicateIdentifiers,
    GloballySuppressed,
}

/// Why an item is listed in `failures`: the count it goes to (none for a contact imported with
/// a failure), its failures, and the contact id the entry names.
struct Refusal {
    count: Option<Count>,
    failures: Vec<(FailureCode, String)>,
    contact_id: Option<i64>,
}

impl Refusal {
    fn one(count: Count, code: FailureCode, description: String, contact_id: Option<i64>) -> Refusal {
        Refusal { count: Some(count), failures: vec![(code, description)], contact_id }
    }
}

/// One import item as read: what it asks for, the contact its `matchIdentifier` names, the
/// problems that refuse it, and a consent-records problem that does not.
struct ItemReading {
    patch: ContactPatch,
    match_key: Option<ContactKey>,
    fatal: Vec<(FailureCode, String)>,
    consent: Option<String>,
}

/// Reads one item with the PATCH's rules and sorts its problems into failure codes.
fn read_item(item: &Map<String, Value>, rules: &ContactRules) -> ItemReading {
    let (patch, problems) = read_contact(item, rules);
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
        if let Some(problem) = match_identifier_problem(match_name, &problems, &fatal) {
            fatal.push(problem);
        }
    }
    ItemReading { patch, match_key, fatal, consent }
}

/// `invalidMatchIdentifier` when `matchIdentifier` names no identifier the item sent, unless
/// the named identifier is itself invalid (its own code says so) or the problem is already listed.
fn match_identifier_problem(
    match_name: Option<&str>,
    problems: &[(String, String)],
    fatal: &[(FailureCode, String)],
) -> Option<(FailureCode, String)> {
    let named_is_invalid = match_name.is_some_and(|name| {
        problems.iter().any(|(path, _)| path.strip_prefix("identifiers.").is_some_and(|p| p.eq_ignore_ascii_case(name)))
    });
    if named_is_invalid || fatal.iter().any(|(code, _)| *code == FailureCode::InvalidMatchIdentifier) {
        return None;
    }
    let description = match match_name {
        Some(name) => format!("The matchIdentifier '{name}' does not name an identifier of the contact"),
        None => "matchIdentifier is required: email, mobileNumber or contactId".to_string(),
    };
    Some((FailureCode::InvalidMatchIdentifier, description))
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
        // Imports keep the narrower reading of verified double opt-in: the knob is for the
        // single-contact calls.
        let write = ContactWrite {
            merge: import.merge,
            verified_double: VerifiedDoubleReading::NewOrStatusSent,
            now: iso_now(),
        };
        for item in &import.contacts {
            self.import_contact(item, &write, context, &mut seen, &mut report);
        }
        report.into_json()
    }

    /// One item, in order: read, then refused (listed in `failures`) or written (listed in
    /// `created` / `updated`).
    fn import_contact(
        &mut self,
        item: &Map<String, Value>,
        write: &ContactWrite,
        context: &mut ImportContext,
        seen: &mut HashSet<ContactKey>,
        report: &mut Report,
    ) {
        let casing = context.config.failure_code_casing;
        let rules = ContactRules {
            data_fields: &self.account.data_fields,
            lists: &self.account.lists,
            policy: context.policy,
            schema: ContactSchema::ImportItem,
        };
        let reading = read_item(item, &rules);
        let keys = keys_of(&reading.patch.email, &reading.patch.mobile_number, reading.patch.contact_id);
        let repeated = keys.iter().find(|key| seen.contains(key)).cloned();
        seen.extend(keys);
        let existing = reading.match_key.as_ref().and_then(|key| self.contacts.id_of(key));
        match self.refusal(&reading, repeated, existing) {
            Ok(()) => {}
            Err(Some(refusal)) => return report.refuse(item, refusal, casing),
            Err(None) => return,
        }
        let (contact, created) = self.write_contact(existing, &reading.patch, write, context.next_contact_id);
        let contact_id = contact.id;
        if created {
            report.new_contacts += 1;
            report.created.push(reference(&contact));
        } else {
            report.updated_contacts += 1;
            report.updated.push(reference(&contact));
        }
        if let Some(description) = reading.consent {
            // contacts-v3.json `getImportStatus`: "contacts are created or updated but if any
            // associated data sets fail to import then details of these are included in the
            // failures results".
            let failures = vec![(FailureCode::ConsentRecordsNotApplied, description)];
            report.refuse(item, Refusal { count: None, failures, contact_id: Some(contact_id) }, casing);
        }
    }

    /// Why an item that was read is not imported, first problem first: its own problems, an
    /// identifier repeated in the import, a `contactId` matching nothing, a suppressed match, an
    /// identifier another contact owns. `Err(None)`: nothing to match by, skipped silently.
    fn refusal(
        &self,
        reading: &ItemReading,
        repeated: Option<ContactKey>,
        existing: Option<i64>,
    ) -> Result<(), Option<Refusal>> {
        if !reading.fatal.is_empty() {
            let failures = reading.fatal.clone();
            return Err(Some(Refusal { count: Some(Count::InvalidEntries), failures, contact_id: existing }));
        }
        let Some(match_key) = &reading.match_key else { return Err(None) };
        if let Some(key) = repeated {
            // contacts-v3.json `inline_response_200_2.failures` example, verbatim in form.
            let description = format!("Duplicate identifier detected for {} '{}'", key.identifier(), key.value());
            return Err(Some(Refusal::one(
                Count::DuplicateIdentifiers,
                FailureCode::DuplicateIdentifier,
                description,
                existing,
            )));
        }
        if existing.is_none() && matches!(match_key, ContactKey::ContactId(_)) {
            // A contactId is never chosen by the client, so it can only match (the spec's
            // `importContacts` note); the code is the spec example's `contactNotFound`.
            let description = format!("No contact was found with the contactId '{}'", match_key.value());
            return Err(Some(Refusal::one(Count::InvalidEntries, FailureCode::ContactNotFound, description, None)));
        }
        if existing.and_then(|id| self.contacts.get(id)).is_some_and(|c| c.email_status == ChannelStatus::Suppressed) {
            let description = "The contact is suppressed at the account level, so can't be updated".to_string();
            return Err(Some(Refusal::one(
                Count::GloballySuppressed,
                FailureCode::GloballySuppressed,
                description,
                existing,
            )));
        }
        if let Some((key, owner)) = self.taken_identifier(existing, &reading.patch) {
            let description =
                format!("The {} '{}' already belongs to another contact ({owner})", key.identifier(), key.value());
            return Err(Some(Refusal::one(
                Count::DuplicateIdentifiers,
                FailureCode::DuplicateIdentifier,
                description,
                existing,
            )));
        }
        Ok(())
    }
}
