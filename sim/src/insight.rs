//! Insight data v3 handlers, as methods on the account: the single-record `PUT`/`GET`/`DELETE`
//! and collection create, list and schema.

use serde_json::{json, Value};

use crate::clock::iso_now;
use crate::errors::{contact_not_found, V3Error};
use crate::message::{decode_segment, SimResponse};
use crate::model::{Collection, CollectionScope, CollectionType, ContactKey, InsightRecord, RecordProblem};
use crate::state::AccountState;

/// Collections an account may hold; one more gets `412` (API.md §4).
pub(crate) const MAX_COLLECTIONS: usize = 1000;

/// `^[-A-Za-z_][-A-Za-z0-9_]{1,255}$`, capped at 255 characters.
pub(crate) fn is_valid_collection_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '-' || c == '_');
    (2..=255).contains(&name.len()) && first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn collection_name(raw: &str) -> Result<String, V3Error> {
    let name = decode_segment(raw).unwrap_or_else(|| raw.to_string());
    if is_valid_collection_name(&name) {
        Ok(name)
    } else {
        Err(V3Error::new(400, "insightData:invalidId", &format!("The collectionName value '{name}' is invalid")))
    }
}

fn collection_not_found(name: &str) -> V3Error {
    V3Error::new(404, "insightData:collectionNotFound", "The collection could not be found").detail(name, "Not found")
}

fn record_not_found(key: &str, collection: &str) -> V3Error {
    V3Error::new(404, "insightData:recordNotFound", "The Insight data record could not be found")
        .detail(key, &format!("Not found in the contacts collection '{collection}'"))
}

fn bad_json(description: &str) -> V3Error {
    V3Error::new(400, "insightData:badJson", description)
}

/// The path of a single contact record, checked in Dotdigital's order: names, then contact,
/// then collection.
struct RecordAddress {
    contact_id: i64,
    collection: String,
    key: String,
}

/// A required enum query parameter in any casing.
fn pick<T: Copy>(
    value: Option<&str>,
    allowed: &[T],
    spelling: fn(T) -> &'static str,
    name: &str,
) -> Result<T, V3Error> {
    let names = || allowed.iter().map(|a| spelling(*a)).collect::<Vec<_>>().join(", ");
    // assumed: insight-data-v3.json declares 400 `insightData:invalidId` for this call but not
    // which parameter; a missing or unknown scope/type gets it too.
    let Some(value) = value else {
        return Err(V3Error::new(
            400,
            "insightData:invalidId",
            &format!("The query parameter '{name}' is required; allowed: {}", names()),
        ));
    };
    allowed.iter().copied().find(|a| spelling(*a).eq_ignore_ascii_case(value)).ok_or_else(|| {
        V3Error::new(
            400,
            "insightData:invalidId",
            &format!("The {name} value '{value}' is invalid; allowed: {}", names()),
        )
    })
}

impl AccountState {
    fn resolve_record(
        &self,
        identifier: &str,
        value: &str,
        collection: &str,
        key: &str,
    ) -> Result<RecordAddress, V3Error> {
        let collection = collection_name(collection)?;
        let contact = ContactKey::from_path(identifier, value)
            .map_err(|description| V3Error::new(400, "insightData:invalidId", &description))?;
        let key = decode_segment(key).filter(|k| !k.is_empty()).ok_or_else(|| {
            V3Error::new(400, "insightData:invalidId", &format!("The recordId value '{key}' is invalid"))
        })?;
        let contact_id = self.contacts.id_of(&contact).ok_or_else(|| contact_not_found("insightData", &contact))?;
        if !self.insight.collections.contains_key(&collection) {
            return Err(collection_not_found(&collection));
        }
        Ok(RecordAddress { contact_id, collection, key })
    }

    /// `PUT /insightData/v3/contacts/{identifier}/{value}/{collection}/{key}`: the body is the
    /// record itself and replaces any stored one: `201` created, `204` replaced.
    pub(crate) fn put_record(&mut self, path: [&str; 4], body: &[u8]) -> Result<SimResponse, V3Error> {
        let [identifier, value, collection, key] = path;
        let address = self.resolve_record(identifier, value, collection, key)?;
        let record: Value = serde_json::from_slice(body)
            .map_err(|e| bad_json("The request JSON is badly formed").detail("body", &e.to_string()))?;
        let Value::Object(fields) = &record else {
            return Err(
                bad_json("The record must be a JSON object").detail(&address.key, "The body is not a JSON object")
            );
        };
        let store = &mut self.insight;
        let Some(collection) = store.collections.get_mut(&address.collection) else {
            return Err(collection_not_found(&address.collection));
        };
        if collection.scope != CollectionScope::Contact {
            // assumed: undocumented; the code is invented (see the crate docs).
            return Err(V3Error::new(
                400,
                "insightData:collectionScopeMismatch",
                &format!(
                    "The collection '{}' is account-scoped; contact records cannot be written to it",
                    collection.name
                ),
            ));
        }
        if let Some(existing) = collection.records.get(&address.key) {
            if existing.owner_contact_id != Some(address.contact_id) {
                // assumed: the code is invented after v2's `KeyExistingForDifferentContact`.
                return Err(V3Error::new(
                    400,
                    "insightData:keyExistsForDifferentContact",
                    &format!(
                        "The key '{}' already exists in the collection '{}' for a different contact",
                        address.key, address.collection
                    ),
                )
                .detail(&address.key, "KeyExistingForDifferentContact"));
            }
        }
        let own_schema = match collection.schema.check(fields) {
            Ok(own) => own,
            Err(problem) => {
                if let RecordProblem::TypeConflict { .. } = problem {
                    store.schema_conflicts.push(format!("{} (key '{}'): {problem}", address.collection, address.key));
                }
                return Err(bad_json(&problem.to_string()).detail(&address.key, &problem.to_string()));
            }
        };
        let now = iso_now();
        let status = match collection.records.get_mut(&address.key) {
            Some(existing) => {
                existing.json = record;
                existing.updated = now;
                204
            }
            None => {
                collection.records.insert(
                    address.key.clone(),
                    InsightRecord {
                        key: address.key,
                        json: record,
                        created: now.clone(),
                        updated: now,
                        owner_contact_id: Some(address.contact_id),
                    },
                );
                201
            }
        };
        collection.schema.absorb(own_schema);
        Ok(SimResponse::empty(status))
    }

    /// `GET` on a record path: `{key, json, created, updated, ownerContactId}`.
    pub(crate) fn get_record(&self, path: [&str; 4]) -> Result<SimResponse, V3Error> {
        let [identifier, value, collection, key] = path;
        let address = self.resolve_record(identifier, value, collection, key)?;
        self.insight
            .collections
            .get(&address.collection)
            .and_then(|c| c.records.get(&address.key))
            .filter(|r| r.owner_contact_id == Some(address.contact_id))
            .map(|r| SimResponse::json(200, &r.to_json()))
            .ok_or_else(|| record_not_found(&address.key, &address.collection))
    }

    /// `DELETE` on a record path: `204`.
    pub(crate) fn delete_record(&mut self, path: [&str; 4]) -> Result<SimResponse, V3Error> {
        let [identifier, value, collection, key] = path;
        let address = self.resolve_record(identifier, value, collection, key)?;
        let records = self
            .insight
            .collections
            .get_mut(&address.collection)
            .map(|c| &mut c.records)
            .ok_or_else(|| collection_not_found(&address.collection))?;
        match records.get(&address.key) {
            Some(record) if record.owner_contact_id == Some(address.contact_id) => {
                records.remove(&address.key);
                Ok(SimResponse::empty(204))
            }
            _ => Err(record_not_found(&address.key, &address.collection)),
        }
    }

    /// `POST /insightData/v3/collections/{name}?collectionScope=…&collectionType=…`: `201` new,
    /// `200` existing, `412` over the cap; no bodies.
    pub(crate) fn create_collection(
        &mut self,
        raw_name: &str,
        scope: Option<&str>,
        kind: Option<&str>,
    ) -> Result<SimResponse, V3Error> {
        let name = collection_name(raw_name)?;
        let scope = pick(scope, &CollectionScope::ALL, CollectionScope::name, "collectionScope")?;
        let kind = pick(kind, &CollectionType::ALL, CollectionType::name, "collectionType")?;
        let collections = &mut self.insight.collections;
        if collections.contains_key(&name) {
            return Ok(SimResponse::empty(200));
        }
        if collections.len() >= MAX_COLLECTIONS {
            return Ok(SimResponse::empty(412));
        }
        collections.insert(name.clone(), Collection::new(name, scope, kind));
        Ok(SimResponse::empty(201))
    }

    /// `GET /insightData/v3/collections`.
    pub(crate) fn list_collections(&self) -> SimResponse {
        let list: Vec<Value> = self.insight.collections.values().map(Collection::summary_json).collect();
        SimResponse::json(200, &Value::Array(list))
    }

    /// `GET /insightData/v3/collections/{name}/schema`: `{collectionName, collectionType, schema}`,
    /// the schema being the inferred `{path: type}` map.
    pub(crate) fn collection_schema(&self, raw_name: &str) -> Result<SimResponse, V3Error> {
        let name = collection_name(raw_name)?;
        let collection = self.insight.collections.get(&name).ok_or_else(|| collection_not_found(&name))?;
        Ok(SimResponse::json(
            200,
            &json!({ "collectionName": collection.name, "collectionType": collection.kind.name(), "schema": collection.schema.to_json() }),
        ))
    }
}
