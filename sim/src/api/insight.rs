//! Insight data v3 (insight-data-v3.json): one contact record at a time
//! (`putContactInsightDataRecord`, `getContactInsightDataRecord`, `delContactInsightDataRecord`)
//! and collections (`postCreateInsightDataCollection`, `getAllInsightDataCollections`,
//! `getInsightDataCollectionSchema`). Also the insight family's `400`s and its reading of the
//! collection enums, which the Insight import shares.

use serde_json::{json, Value};

use super::errors::{contact_not_found, V3Error, BADLY_FORMED};
use super::message::{decode_segment, SimResponse};
use crate::clock::iso_now;
use crate::model::{
    is_valid_collection_name, AccountState, Collection, CollectionScope, CollectionType, ContactKey, Creation,
    RecordRefusal,
};

/// `400 insightData:badJson` with this description.
pub(super) fn bad_json(description: &str) -> V3Error {
    V3Error::new(400, "insightData:badJson", description)
}

/// A body that cannot be read as what the call takes: the spec example's description, the
/// reason as the `body` detail.
pub(super) fn badly_formed(why: &str) -> V3Error {
    bad_json(BADLY_FORMED).detail("body", why)
}

fn invalid_id(description: &str) -> V3Error {
    V3Error::new(400, "insightData:invalidId", description)
}

/// A collection enum (`collectionScope`, `collectionType`) as sent, matched in any casing, as
/// the contacts enums are (contacts-v3.json's own `importContacts` example sends
/// `"emailType": "Html"` for the enum's `html`). `Err` holds the allowed spellings, for the
/// caller's answer.
pub(super) fn pick<T: Copy>(sent: Option<&str>, allowed: &[T], spelling: fn(T) -> &'static str) -> Result<T, String> {
    sent.and_then(|text| allowed.iter().copied().find(|a| spelling(*a).eq_ignore_ascii_case(text)))
        .ok_or_else(|| allowed.iter().map(|a| spelling(*a)).collect::<Vec<_>>().join(", "))
}

/// A required enum query parameter. assumed: insight-data-v3.json declares 400
/// `insightData:invalidId` for the collection POST but not which parameter; a missing or unknown
/// scope/type gets it too.
fn query_enum<T: Copy>(
    value: Option<&str>,
    allowed: &[T],
    spelling: fn(T) -> &'static str,
    name: &str,
) -> Result<T, V3Error> {
    pick(value, allowed, spelling).map_err(|names| match value {
        None => invalid_id(&format!("The query parameter '{name}' is required; allowed: {names}")),
        Some(value) => invalid_id(&format!("The {name} value '{value}' is invalid; allowed: {names}")),
    })
}

fn collection_name(raw: &str) -> Result<String, V3Error> {
    let name = decode_segment(raw).unwrap_or_else(|| raw.to_string());
    if is_valid_collection_name(&name) {
        Ok(name)
    } else {
        Err(invalid_id(&format!("The collectionName value '{name}' is invalid")))
    }
}

fn collection_not_found(name: &str) -> V3Error {
    V3Error::new(404, "insightData:collectionNotFound", "The collection could not be found").detail(name, "Not found")
}

fn record_not_found(key: &str, collection: &str) -> V3Error {
    V3Error::new(404, "insightData:recordNotFound", "The Insight data record could not be found")
        .detail(key, &format!("Not found in the contacts collection '{collection}'"))
}

/// The path of a single contact record, checked in Dotdigital's order: names, then contact,
/// then collection.
struct RecordAddress {
    contact_id: i64,
    collection: String,
    key: String,
}

fn resolve_record(account: &AccountState, path: [&str; 4]) -> Result<RecordAddress, V3Error> {
    let [identifier, value, collection, key] = path;
    let collection = collection_name(collection)?;
    let contact = ContactKey::from_path(identifier, value).map_err(|description| invalid_id(&description))?;
    let key = decode_segment(key)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| invalid_id(&format!("The recordId value '{key}' is invalid")))?;
    let contact_id = account.contacts.id_of(&contact).ok_or_else(|| contact_not_found("insightData", &contact))?;
    if !account.insight.collections.contains_key(&collection) {
        return Err(collection_not_found(&collection));
    }
    Ok(RecordAddress { contact_id, collection, key })
}

/// `PUT /insightData/v3/contacts/{identifier}/{value}/{collection}/{key}`: the body is the
/// record itself and replaces any stored one: `201` created, `204` replaced.
pub(crate) fn put_record(account: &mut AccountState, path: [&str; 4], body: &[u8]) -> Result<SimResponse, V3Error> {
    let address = resolve_record(account, path)?;
    let record: Value = serde_json::from_slice(body).map_err(|e| badly_formed(&e.to_string()))?;
    let Value::Object(fields) = &record else {
        return Err(bad_json("The record must be a JSON object").detail(&address.key, "The body is not a JSON object"));
    };
    let store = &mut account.insight;
    let Some(collection) = store.collections.get(&address.collection) else {
        return Err(collection_not_found(&address.collection));
    };
    if collection.scope != CollectionScope::Contact {
        // assumed: undocumented; the code is invented (see the crate docs).
        return Err(V3Error::new(
            400,
            "insightData:collectionScopeMismatch",
            &format!("The collection '{}' is account-scoped; contact records cannot be written to it", collection.name),
        ));
    }
    let owner = Some(address.contact_id);
    let own_schema = store.check_record(&address.collection, &address.key, owner, fields).map_err(|refusal| {
        match refusal {
            // assumed: the code is invented after v2's `KeyExistingForDifferentContact`.
            RecordRefusal::OwnedByAnotherContact => V3Error::new(
                400,
                "insightData:keyExistsForDifferentContact",
                &format!(
                    "The key '{}' already exists in the collection '{}' for a different contact",
                    address.key, address.collection
                ),
            )
            .detail(&address.key, "KeyExistingForDifferentContact"),
            RecordRefusal::Schema(problem) => bad_json(&problem.to_string()).detail(&address.key, &problem.to_string()),
        }
    })?;
    let Some(collection) = store.collections.get_mut(&address.collection) else {
        return Err(collection_not_found(&address.collection));
    };
    let created = collection.store_record(&address.key, record, owner, own_schema, &iso_now());
    Ok(SimResponse::empty(if created { 201 } else { 204 }))
}

/// `GET` on a record path: `{key, json, created, updated, ownerContactId}`.
pub(crate) fn get_record(account: &AccountState, path: [&str; 4]) -> Result<SimResponse, V3Error> {
    let address = resolve_record(account, path)?;
    account
        .insight
        .collections
        .get(&address.collection)
        .and_then(|c| c.owned_record(&address.key, Some(address.contact_id)))
        .map(|r| SimResponse::json(200, &r.to_json()))
        .ok_or_else(|| record_not_found(&address.key, &address.collection))
}

/// `DELETE` on a record path: `204`.
pub(crate) fn delete_record(account: &mut AccountState, path: [&str; 4]) -> Result<SimResponse, V3Error> {
    let address = resolve_record(account, path)?;
    let collection = account
        .insight
        .collections
        .get_mut(&address.collection)
        .ok_or_else(|| collection_not_found(&address.collection))?;
    if collection.owned_record(&address.key, Some(address.contact_id)).is_none() {
        return Err(record_not_found(&address.key, &address.collection));
    }
    collection.records.remove(&address.key);
    Ok(SimResponse::empty(204))
}

/// `POST /insightData/v3/collections/{name}?collectionScope=…&collectionType=…`: `201` new,
/// `200` existing, `412` over the cap; no bodies.
pub(crate) fn create_collection(
    account: &mut AccountState,
    raw_name: &str,
    scope: Option<&str>,
    kind: Option<&str>,
) -> Result<SimResponse, V3Error> {
    let name = collection_name(raw_name)?;
    let scope = query_enum(scope, &CollectionScope::ALL, CollectionScope::name, "collectionScope")?;
    let kind = query_enum(kind, &CollectionType::ALL, CollectionType::name, "collectionType")?;
    let status = match account.insight.create_collection(&name, scope, kind) {
        Creation::Created => 201,
        Creation::Exists => 200,
        Creation::Full => 412,
    };
    Ok(SimResponse::empty(status))
}

/// `GET /insightData/v3/collections`.
pub(crate) fn list_collections(account: &AccountState) -> SimResponse {
    let list: Vec<Value> = account.insight.collections.values().map(Collection::summary_json).collect();
    SimResponse::json(200, &Value::Array(list))
}

/// `GET /insightData/v3/collections/{name}/schema`: `{collectionName, collectionType, schema}`,
/// the schema being the inferred `{path: type}` map.
pub(crate) fn collection_schema(account: &AccountState, raw_name: &str) -> Result<SimResponse, V3Error> {
    let name = collection_name(raw_name)?;
    let collection = account.insight.collections.get(&name).ok_or_else(|| collection_not_found(&name))?;
    Ok(SimResponse::json(
        200,
        &json!({ "collectionName": collection.name, "collectionType": collection.kind.name(), "schema": collection.schema.to_json() }),
    ))
}
