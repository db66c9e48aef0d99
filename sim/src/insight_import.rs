//! `PUT /insightData/v3/import` (API.md §3c; insight-data-v3.json `importInsightData`,
//! `v3_import_body`, `upsertInsightRecord`, `inline_response_200`): the body's shape is checked
//! when the import is accepted (`400 insightData:badJson`); each record is checked and upserted
//! when it finishes, and the collection is created then if it does not exist ("If the Insight
//! data collection does not exist it will be created"). Contacts are never created: a record
//! for an unknown contact is rejected (API.md §3c limits, §9.15).
//!
//! `failureReason`s (insight-data-v3.json enum), first problem wins, one per record:
//!
//! | Problem | `failureReason` |
//! |---|---|
//! | `key` missing, empty or not a string (the schema types it as a string) | `InvalidClientKey` (assumed) |
//! | `json` missing or not an object, or an unknown record property | `InvalidJson` (assumed) |
//! | a key repeated within the import | `DuplicateKey` (API.md §4; assumed: the first is imported, later ones fail) |
//! | contact scope without a usable `contactIdentity`; account scope with one | `InvalidContactIdentifier` (the spec: "you **must** provide a contactIdentity"; the account case assumed) |
//! | no contact with that email / contactId | `ContactEmailDoesNotExist` / `ContactIdDoesNotExist` |
//! | no contact with that mobileNumber | `InvalidContactIdentifier` (assumed: the enum has no mobile reason) |
//! | the key belongs to another contact's record | [`crate::ImportConfig::key_owned_by_other_contact`] (API.md §9.15, default `DuplicateKey`) |
//! | an array directly inside an array | `JsonContainsNestedArray` |
//! | a type differing from the collection's inferred schema | `JsonValueIncompatibleWithSchema` |
//!
//! `details` holds one sentence (the spec: free-text strings). `failures` is left out when there
//! are none (assumed: the schema gives it `minItems: 1`).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::clock::iso_now;
use crate::config::ImportConfig;
use crate::errors::V3Error;
use crate::message::SimResponse;
use crate::model::{
    is_valid_email, is_valid_mobile_number, Collection, CollectionScope, CollectionType, ContactKey, InsightRecord,
    RecordProblem,
};
use crate::state::AccountState;

/// An accepted Insight import, waiting to be applied.
pub(crate) struct InsightImport {
    pub collection: String,
    pub scope: CollectionScope,
    pub kind: CollectionType,
    records: Vec<Map<String, Value>>,
}

impl InsightImport {
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

pub(crate) fn bad_json(description: &str) -> V3Error {
    // insight-data-v3.json `importInsightData` 400 example.
    V3Error::new(400, "insightData:badJson", "The request JSON is badly formed").detail("body", description)
}

/// A required enum property in any casing (API.md §4: accept any casing).
fn pick<T: Copy>(
    object: &Map<String, Value>,
    name: &str,
    allowed: &[T],
    spelling: fn(T) -> &'static str,
) -> Result<T, V3Error> {
    let names = || allowed.iter().map(|a| spelling(*a)).collect::<Vec<_>>().join(", ");
    let value = object.get(name).ok_or_else(|| bad_json(&format!("'{name}' is required; allowed: {}", names())))?;
    value
        .as_str()
        .and_then(|text| allowed.iter().copied().find(|a| spelling(*a).eq_ignore_ascii_case(text)))
        .ok_or_else(|| bad_json(&format!("Invalid {name} {value}; allowed: {}", names())))
}

/// Reads the body: `collectionName`, `collectionScope`, `collectionType` and a non-empty
/// `records` array of objects, all required (`v3_import_body`). A name that breaks the
/// collection-name pattern gets `insightData:badJson` too (assumed: `badJson` is the one 400
/// code this call declares). assumed: unknown top-level keys and records that are not objects
/// fail the whole request, the stricter reading.
pub(crate) fn parse_insight_import(body: &[u8]) -> Result<InsightImport, V3Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| bad_json(&e.to_string()))?;
    let Value::Object(mut object) = value else { return Err(bad_json("The body must be a JSON object")) };
    const KEYS: [&str; 4] = ["collectionName", "collectionScope", "collectionType", "records"];
    if let Some(other) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad_json(&format!("Unknown property '{other}'; allowed: {}", KEYS.join(", "))));
    }
    let collection = match object.get("collectionName") {
        Some(Value::String(name)) if crate::insight::is_valid_collection_name(name) => name.clone(),
        Some(other) => return Err(bad_json(&format!("Invalid collectionName {other}"))),
        None => return Err(bad_json("'collectionName' is required")),
    };
    let scope = pick(&object, "collectionScope", &CollectionScope::ALL, CollectionScope::name)?;
    let kind = pick(&object, "collectionType", &CollectionType::ALL, CollectionType::name)?;
    let Some(Value::Array(items)) = object.remove("records") else {
        return Err(bad_json("'records' is required and must be an array of records"));
    };
    if items.is_empty() {
        return Err(bad_json("'records' must hold at least one record"));
    }
    let mut records = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::Object(record) => records.push(record),
            _ => return Err(bad_json(&format!("records[{index}] must be a JSON object"))),
        }
    }
    Ok(InsightImport { collection, scope, kind, records })
}

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

impl AccountState {
    /// Checks at `PUT` time what the account's collections say about the import: an existing
    /// collection must have the same scope and type, and a new one must fit under the cap.
    /// assumed: the documents are silent on a mismatch; it gets the simulator-invented
    /// `insightData:collectionScopeMismatch` (as the single PUT does) or
    /// `insightData:collectionTypeMismatch`, 400. Over the cap: `412`, no body, as the
    /// collection POST (API.md §3c, §9.13).
    pub(crate) fn check_import_collection(&self, import: &InsightImport) -> Result<(), SimResponse> {
        let collections = &self.insight.collections;
        match collections.get(&import.collection) {
            Some(existing) if existing.scope != import.scope => Err(SimResponse::from(V3Error::new(
                400,
                "insightData:collectionScopeMismatch",
                &format!(
                    "The collection '{}' is {}-scoped, not {}-scoped",
                    existing.name,
                    existing.scope.name(),
                    import.scope.name()
                ),
            ))),
            Some(existing) if existing.kind != import.kind => Err(SimResponse::from(V3Error::new(
                400,
                "insightData:collectionTypeMismatch",
                &format!(
                    "The collection '{}' has the type {}, not {}",
                    existing.name,
                    existing.kind.name(),
                    import.kind.name()
                ),
            ))),
            Some(_) => Ok(()),
            None if collections.len() >= crate::insight::MAX_COLLECTIONS => Err(SimResponse::empty(412)),
            None => Ok(()),
        }
    }

    /// Applies a finished Insight import record by record; returns the report's
    /// `collectionName`, `summary` and (when any) `failures`.
    pub(crate) fn apply_insight_import(&mut self, import: InsightImport, config: &ImportConfig) -> Map<String, Value> {
        let InsightImport { collection: name, scope, kind, records } = import;
        let total = records.len();
        let mut failures = Vec::new();
        let now = iso_now();
        let mut seen: HashSet<String> = HashSet::new();
        let contacts = &self.contacts;
        let store = &mut self.insight;
        // Created here if missing (the spec's note). assumed: a collection made meanwhile with
        // another scope, or the cap reached meanwhile, rejects every record (`Unknown`).
        let usable = match store.collections.get(&name) {
            Some(existing) if existing.scope != scope => {
                Err(format!("The collection '{name}' is {}-scoped", existing.scope.name()))
            }
            Some(_) => Ok(()),
            None if store.collections.len() >= crate::insight::MAX_COLLECTIONS => {
                Err("The account has reached its collection limit".to_string())
            }
            None => {
                store.collections.insert(name.clone(), Collection::new(name.clone(), scope, kind));
                Ok(())
            }
        };
        for mut record in records {
            let key_value = record.get("key").cloned().unwrap_or(Value::Null);
            let identity = record.get("contactIdentity").cloned();
            let outcome = match (&usable, store.collections.get_mut(&name)) {
                (Ok(()), Some(collection)) => upsert(
                    collection,
                    &mut record,
                    contacts,
                    scope,
                    &mut seen,
                    config,
                    &now,
                    &mut store.schema_conflicts,
                ),
                (Err(why), _) => Err(reject("Unknown", why.clone())),
                (Ok(()), None) => Err(reject("Unknown", format!("The collection '{name}' does not exist"))),
            };
            if let Err(rejection) = outcome {
                let mut owner = Map::new();
                owner.insert("ownerType".into(), json!(scope.name()));
                if let Some(identity) = identity {
                    owner.insert("contactIdentity".into(), identity);
                }
                failures.push(json!({
                    "collectionOwner": owner,
                    "failureReason": rejection.reason,
                    "details": [rejection.detail],
                    "key": key_value,
                    "json": record.remove("json").unwrap_or(Value::Null),
                }));
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

/// Checks one record and writes it; on success `json` has been moved into the collection.
#[allow(clippy::too_many_arguments)]
fn upsert(
    collection: &mut Collection,
    record: &mut Map<String, Value>,
    contacts: &crate::model::ContactBook,
    scope: CollectionScope,
    seen: &mut HashSet<String>,
    config: &ImportConfig,
    now: &str,
    schema_conflicts: &mut Vec<String>,
) -> Result<(), Rejection> {
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
    let Some(Value::Object(fields)) = record.get("json") else {
        return Err(reject("InvalidJson", "The record's json must be a JSON object".to_string()));
    };
    // API.md §4: a key repeated within a batch is `DuplicateKey`; assumed: the first stands.
    if !seen.insert(key.clone()) {
        return Err(reject("DuplicateKey", format!("The key '{key}' appears more than once in the import")));
    }
    let owner = match (scope, record.get("contactIdentity")) {
        (CollectionScope::Contact, None) | (CollectionScope::Contact, Some(Value::Null)) => {
            return Err(reject(
                "InvalidContactIdentifier",
                "A record in a contact-scoped collection must have a contactIdentity".to_string(),
            ));
        }
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
            Some(id)
        }
        (CollectionScope::Account, None) => None,
        (CollectionScope::Account, Some(_)) => {
            return Err(reject(
                "InvalidContactIdentifier",
                "A record in an account-scoped collection cannot have a contactIdentity".to_string(),
            ));
        }
    };
    if let Some(existing) = collection.records.get(&key) {
        if existing.owner_contact_id != owner {
            return Err(reject(
                &config.key_owned_by_other_contact,
                format!("The key '{key}' already exists in the collection for a different contact"),
            ));
        }
    }
    let own_schema = collection.schema.check(fields).map_err(|problem| {
        let reason = match problem {
            RecordProblem::NestedArray { .. } => "JsonContainsNestedArray",
            RecordProblem::TypeConflict { .. } => {
                schema_conflicts.push(format!("{} (key '{key}'): {problem}", collection.name));
                "JsonValueIncompatibleWithSchema"
            }
        };
        reject(reason, problem.to_string())
    })?;
    let json = record.remove("json").unwrap_or(Value::Null);
    collection.schema.absorb(own_schema);
    match collection.records.get_mut(&key) {
        Some(existing) => {
            existing.json = json;
            existing.updated = now.to_string();
        }
        None => {
            let created = InsightRecord {
                key: key.clone(),
                json,
                created: now.to_string(),
                updated: now.to_string(),
                owner_contact_id: owner,
            };
            collection.records.insert(key, created);
        }
    }
    Ok(())
}
