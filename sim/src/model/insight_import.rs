//! Applying a finished Insight import (insight-data-v3.json `importInsightData`,
//! `v3_import_body`, `upsertInsightRecord`, `inline_response_200`): each record is checked and
//! upserted, and the collection is created if it does not exist ("If the Insight data collection
//! does not exist it will be created"). Contacts are never created: a record for an unknown
//! contact is rejected (the `ContactEmailDoesNotExist` / `ContactIdDoesNotExist` reasons). Also
//! the check an import's collection passes when the import is accepted.
//!
//! `failureReason`s (insight-data-v3.json enum), first problem wins, one per record:
//!
//! | Problem | `failureReason` |
//! |---|---|
//! | `key` missing, empty or not a string (the schema types it as a string) | `InvalidClientKey` (assumed) |
//! | `json` missing or not an object, or an unknown record property | `InvalidJson` (assumed) |
//! | a key repeated within the import | `DuplicateKey` (the enum's reason; assumed: the first is imported, later ones fail) |
//! | contact scope without a usable `contactIdentity`; account scope with one | `InvalidContactIdentifier` (the spec: "you **must** provide a contactIdentity"; the account case assumed) |
//! | no contact with that email / contactId | `ContactEmailDoesNotExist` / `ContactIdDoesNotExist` |
//! | no contact with that mobileNumber | `InvalidContactIdentifier` (assumed: the enum has no mobile reason) |
//! | the key belongs to another contact's record | [`crate::ImportConfig::key_owned_by_other_contact`] (assumed, default `DuplicateKey`) |
//! | an array directly inside an array | `JsonContainsNestedArray` |
//! | a type differing from the collection's inferred schema | `JsonValueIncompatibleWithSchema` |
//!
//! `details` holds one sentence (the spec: free-text strings). `failures` is left out when there
//! are none (assumed: the schema gives it `minItems: 1`).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::account_state::AccountState;
use super::contact::ContactBook;
use super::identifiers::{is_valid_email, is_valid_mobile_number, ContactKey};
use super::import_book::InsightImport;
use super::insight::{Collection, CollectionScope, CollectionType, InsightStore, RecordRefusal, MAX_COLLECTIONS};
use super::schema::RecordProblem;
use crate::clock::iso_now;
use crate::settings::ImportConfig;

/// Why one record was rejected.
struct Rejection {
    reason: String,
    detail: String,
}

fn reject(reason: &str, detail: String) -> Rejection {
    Rejection { reason: reason.to_string(), detail }
}

/// The contact a record's `contactIdentity` names: `{identifier, value}` with `value` a string
/// (or a number for `contactId`; the spec: "the same type as the identifier").
fn identity_key(identity: &Value) -> Result<ContactKey, Rejection> {
    let invalid = |why: &str| reject("InvalidContactIdentifier", why.to_string());
    let Some(identity) = identity.as_object() else { return Err(invalid("contactIdentity must be an object")) };
    let identifier = identity.get("identifier").and_then(Value::as_str).unwrap_or_default();
    let value = identity.get("value").unwrap_or(&Value::Null);
    match identifier.to_ascii_lowercase().as_str() {
        "email" => match value.as_str() {
            Some(email) if is_valid_email(email) => Ok(ContactKey::Email(email.to_ascii_lowercase())),
            _ => Err(invalid(&format!("Invalid email {value}"))),
        },
        "mobilenumber" => match value.as_str() {
            Some(number) if is_valid_mobile_number(number) => Ok(ContactKey::MobileNumber(number.to_string())),
            _ => Err(invalid(&format!("Invalid mobileNumber {value}"))),
        },
        "contactid" => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .filter(|id| *id >= 0)
            .map(ContactKey::ContactId)
            .ok_or_else(|| invalid(&format!("Invalid contactId {value}"))),
        _ => Err(invalid(&format!(
            "Unknown identifier '{identifier}': use email, mobileNumber, contactId or a custom identifier that exists in the account"
        ))),
    }
}

/// Why an import's collection refuses it when it is accepted.
#[derive(Debug)]
pub(crate) enum ImportClash {
    /// The collection exists with another scope.
    Scope(CollectionScope),
    /// The collection exists with another type.
    Type(CollectionType),
    /// The collection is new and the account holds [`MAX_COLLECTIONS`] already.
    Full,
}

impl InsightStore {
    /// What the account's collections say about an import when it is accepted: an existing
    /// collection must have the same scope and type, and a new one must fit under the cap.
    pub(crate) fn import_clash(&self, import: &InsightImport) -> Option<ImportClash> {
        match self.collections.get(&import.collection) {
            Some(existing) if existing.scope != import.scope => Some(ImportClash::Scope(existing.scope)),
            Some(existing) if existing.kind != import.kind => Some(ImportClash::Type(existing.kind)),
            Some(_) => None,
            None if self.collections.len() >= MAX_COLLECTIONS => Some(ImportClash::Full),
            None => None,
        }
    }

    /// Creates the import's collection if missing (the spec's note). assumed: a collection made
    /// meanwhile with another scope, or the cap reached meanwhile, rejects every record
    /// (`Unknown`); the error is the rejection's detail.
    fn import_target(&mut self, import: &InsightImport) -> Result<(), String> {
        let name = &import.collection;
        match self.collections.get(name) {
            Some(existing) if existing.scope != import.scope => {
                Err(format!("The collection '{name}' is {}-scoped", existing.scope.name()))
            }
            Some(_) => Ok(()),
            None if self.collections.len() >= MAX_COLLECTIONS => {
                Err("The account has reached its collection limit".to_string())
            }
            None => {
                self.collections.insert(name.clone(), Collection::new(name.clone(), import.scope, import.kind));
                Ok(())
            }
        }
    }
}

/// What writing one imported record needs.
struct RecordWrite<'a> {
    collection: &'a str,
    scope: CollectionScope,
    contacts: &'a ContactBook,
    config: &'a ImportConfig,
    now: &'a str,
}

impl AccountState {
    /// Applies a finished Insight import record by record; returns the report's
    /// `collectionName`, `summary` and (when any) `failures`.
    pub(crate) fn apply_insight_import(&mut self, import: InsightImport, config: &ImportConfig) -> Map<String, Value> {
        let store = &mut self.insight;
        let usable = store.import_target(&import);
        let InsightImport { collection: name, scope, records, .. } = import;
        let total = records.len();
        let now = iso_now();
        let write = RecordWrite { collection: &name, scope, contacts: &self.contacts, config, now: &now };
        let mut seen: HashSet<String> = HashSet::new();
        let mut failures = Vec::new();
        for mut record in records {
            let outcome = match &usable {
                Ok(()) if store.collections.contains_key(&name) => upsert(store, &mut record, &mut seen, &write),
                Ok(()) => Err(reject("Unknown", format!("The collection '{name}' does not exist"))),
                Err(why) => Err(reject("Unknown", why.clone())),
            };
            if let Err(rejection) = outcome {
                failures.push(failure_json(record, scope, rejection));
            }
        }
        let mut report = Map::new();
        report.insert("collectionName".into(), json!(name));
        report.insert(
            "summary".into(),
            json!({ "totalRecords": total, "totalImported": total - failures.len(), "totalRejected": failures.len() }),
        );
        if !failures.is_empty() {
            report.insert("failures".into(), Value::Array(failures));
        }
        report
    }
}

/// A `failures` entry (`inline_response_200.failures`): `{collectionOwner, failureReason,
/// details, key, json}`.
fn failure_json(mut record: Map<String, Value>, scope: CollectionScope, rejection: Rejection) -> Value {
    let mut owner = Map::new();
    owner.insert("ownerType".into(), json!(scope.name()));
    if let Some(identity) = record.get("contactIdentity") {
        owner.insert("contactIdentity".into(), identity.clone());
    }
    json!({
        "collectionOwner": owner,
        "failureReason": rejection.reason,
        "details": [rejection.detail],
        "key": record.get("key").cloned().unwrap_or(Value::Null),
        "json": record.remove("json").unwrap_or(Value::Null),
    })
}

/// Checks one record and writes it into the (existing) collection; on success `json` has been
/// moved into the collection.
fn upsert(
    store: &mut InsightStore,
    record: &mut Map<String, Value>,
    seen: &mut HashSet<String>,
    write: &RecordWrite,
) -> Result<(), Rejection> {
    let key = record_key(record)?;
    let Some(Value::Object(fields)) = record.get("json") else {
        return Err(reject("InvalidJson", "The record's json must be a JSON object".to_string()));
    };
    // insight-data-v3.json lists `DuplicateKey` among the reasons; assumed: a key repeated
    // within one import gets it, and the first stands.
    if !seen.insert(key.clone()) {
        return Err(reject("DuplicateKey", format!("The key '{key}' appears more than once in the import")));
    }
    let owner = record_owner(record.get("contactIdentity"), write.contacts, write.scope)?;
    let own_schema = store.check_record(write.collection, &key, owner, fields).map_err(|refusal| match refusal {
        RecordRefusal::OwnedByAnotherContact => reject(
            &write.config.key_owned_by_other_contact,
            format!("The key '{key}' already exists in the collection for a different contact"),
        ),
        RecordRefusal::Schema(problem) => {
            let reason = match problem {
                RecordProblem::NestedArray { .. } => "JsonContainsNestedArray",
                RecordProblem::TypeConflict { .. } => "JsonValueIncompatibleWithSchema",
            };
            reject(reason, problem.to_string())
        }
    })?;
    let json = record.remove("json").unwrap_or(Value::Null);
    if let Some(collection) = store.collections.get_mut(write.collection) {
        collection.store_record(&key, json, owner, own_schema, write.now);
    }
    Ok(())
}

/// The record's key (a non-empty string: the schema types it as a string), after refusing
/// properties other than `key`, `contactIdentity` and `json`.
fn record_key(record: &Map<String, Value>) -> Result<String, Rejection> {
    let key = match record.get("key") {
        Some(Value::String(key)) if !key.is_empty() => key.clone(),
        other => {
            let sent = other.map_or("nothing".to_string(), Value::to_string);
            return Err(reject("InvalidClientKey", format!("The key must be a non-empty string, not {sent}")));
        }
    };
    if let Some(other) = record.keys().find(|k| !matches!(k.as_str(), "key" | "json" | "contactIdentity")) {
        return Err(reject(
            "InvalidJson",
            format!("Unknown record property '{other}'; allowed: key, contactIdentity, json"),
        ));
    }
    Ok(key)
}

/// The contact that owns the record: the one `contactIdentity` names in a contact-scoped
/// collection ("you **must** provide a contactIdentity"), none in an account-scoped one.
fn record_owner(
    identity: Option<&Value>,
    contacts: &ContactBook,
    scope: CollectionScope,
) -> Result<Option<i64>, Rejection> {
    match (scope, identity) {
        (CollectionScope::Contact, None) | (CollectionScope::Contact, Some(Value::Null)) => Err(reject(
            "InvalidContactIdentifier",
            "A record in a contact-scoped collection must have a contactIdentity".to_string(),
        )),
        (CollectionScope::Contact, Some(identity)) => {
            let contact = identity_key(identity)?;
            let id = contacts.id_of(&contact).ok_or_else(|| match &contact {
                ContactKey::Email(email) => {
                    reject("ContactEmailDoesNotExist", format!("No contact has the email '{email}'"))
                }
                ContactKey::ContactId(id) => reject("ContactIdDoesNotExist", format!("No contact has the id {id}")),
                ContactKey::MobileNumber(number) => {
                    reject("InvalidContactIdentifier", format!("No contact has the mobileNumber '{number}'"))
                }
            })?;
            Ok(Some(id))
        }
        (CollectionScope::Account, None) => Ok(None),
        (CollectionScope::Account, Some(_)) => Err(reject(
            "InvalidContactIdentifier",
            "A record in an account-scoped collection cannot have a contactIdentity".to_string(),
        )),
    }
}
