//! Insight data v3: an account's collections (scope, type, inferred schema) and the records
//! they hold, each owned by a contact; the collection rules (name pattern, cap) and the rules a
//! record write passes (its key's owner, the inferred schema), shared by the single-record PUT
//! and the import.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::schema::{RecordProblem, Schema};

/// Collections an account may hold; one more gets `412` (insight-data-v3.json
/// `postCreateInsightDataCollection`: "You can create a maximum of 1000 Insight data
/// collections", 412 "Insight data collection limit exceeded").
pub(crate) const MAX_COLLECTIONS: usize = 1000;

/// insight-data-v3.json `collectionName`: `^[-A-Za-z_][-A-Za-z0-9_]{1,255}$`, capped at 255
/// characters (`maxLength`), so 2 to 255 characters, never a digit first.
pub(crate) fn is_valid_collection_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '-' || c == '_');
    (2..=255).contains(&name.len()) && first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `collectionScope`: who a collection's records belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CollectionScope {
    Account,
    Contact,
}

/// `collectionType`, in the spec's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CollectionType(&'static str);

impl CollectionScope {
    pub(crate) const ALL: [CollectionScope; 2] = [CollectionScope::Account, CollectionScope::Contact];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CollectionScope::Account => "account",
            CollectionScope::Contact => "contact",
        }
    }
}

impl CollectionType {
    pub(crate) const ALL: [CollectionType; 10] = [
        CollectionType("cartInsight"),
        CollectionType("catalog"),
        CollectionType("consentInsight"),
        CollectionType("custom"),
        CollectionType("easyEditorExtensions"),
        CollectionType("nostoEmailCampaigns"),
        CollectionType("orders"),
        CollectionType("productCategories"),
        CollectionType("webInsight"),
        CollectionType("wishList"),
    ];

    pub(crate) fn name(self) -> &'static str {
        self.0
    }
}

/// What creating a collection did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Creation {
    Created,
    /// A collection of that name already exists; nothing changed.
    Exists,
    /// The account holds [`MAX_COLLECTIONS`] already.
    Full,
}

/// Why a record cannot be written into its collection.
#[derive(Debug)]
pub(crate) enum RecordRefusal {
    /// The key belongs to another contact's record (keys are unique per collection).
    OwnedByAnotherContact,
    /// The record breaks the collection's inferred schema.
    Schema(RecordProblem),
}

#[derive(Default)]
pub(crate) struct InsightStore {
    /// By exact name: collection names are matched case-sensitively.
    pub collections: BTreeMap<String, Collection>,
    /// Every type conflict a PUT was refused for, in order.
    pub schema_conflicts: Vec<String>,
}

impl InsightStore {
    /// Creates an empty collection unless it exists or the account is full.
    pub(crate) fn create_collection(&mut self, name: &str, scope: CollectionScope, kind: CollectionType) -> Creation {
        if self.collections.contains_key(name) {
            return Creation::Exists;
        }
        if self.collections.len() >= MAX_COLLECTIONS {
            return Creation::Full;
        }
        self.collections.insert(name.to_string(), Collection::new(name.to_string(), scope, kind));
        Creation::Created
    }

    /// Checks a record for the collection `name` (which must exist) before it is written: its
    /// key must not belong to another owner, and its fields must fit the inferred schema. A type
    /// conflict is also noted in `schema_conflicts`. Answers the record's own schema, for
    /// [`Collection::store_record`].
    pub(crate) fn check_record(
        &mut self,
        name: &str,
        key: &str,
        owner: Option<i64>,
        fields: &Map<String, Value>,
    ) -> Result<Schema, RecordRefusal> {
        let Some(collection) = self.collections.get(name) else { return Ok(Schema::default()) };
        if collection.records.get(key).is_some_and(|existing| existing.owner_contact_id != owner) {
            return Err(RecordRefusal::OwnedByAnotherContact);
        }
        collection.schema.check(fields).map_err(|problem| {
            if let RecordProblem::TypeConflict { .. } = problem {
                self.schema_conflicts.push(format!("{name} (key '{key}'): {problem}"));
            }
            RecordRefusal::Schema(problem)
        })
    }
}

pub(crate) struct Collection {
    pub name: String,
    pub scope: CollectionScope,
    pub kind: CollectionType,
    pub records: BTreeMap<String, InsightRecord>,
    pub schema: Schema,
}

impl Collection {
    pub(crate) fn new(name: String, scope: CollectionScope, kind: CollectionType) -> Collection {
        Collection { name, scope, kind, records: BTreeMap::new(), schema: Schema::default() }
    }

    /// Writes a checked record (see [`InsightStore::check_record`]): a new key is created, an
    /// existing one replaced whole. Answers whether it was created.
    pub(crate) fn store_record(
        &mut self,
        key: &str,
        json: Value,
        owner: Option<i64>,
        own_schema: Schema,
        now: &str,
    ) -> bool {
        self.schema.absorb(own_schema);
        match self.records.get_mut(key) {
            Some(existing) => {
                existing.json = json;
                existing.updated = now.to_string();
                false
            }
            None => {
                let record = InsightRecord {
                    key: key.to_string(),
                    json,
                    created: now.to_string(),
                    updated: now.to_string(),
                    owner_contact_id: owner,
                };
                self.records.insert(key.to_string(), record);
                true
            }
        }
    }

    /// The record under `key` if `owner` owns it.
    pub(crate) fn owned_record(&self, key: &str, owner: Option<i64>) -> Option<&InsightRecord> {
        self.records.get(key).filter(|record| record.owner_contact_id == owner)
    }

    pub(crate) fn summary_json(&self) -> Value {
        json!({
            "collectionName": self.name,
            "collectionType": self.kind.name(),
            "collectionScope": self.scope.name(),
            "recordCount": self.records.len(),
        })
    }
}

pub(crate) struct InsightRecord {
    pub key: String,
    pub json: Value,
    pub created: String,
    pub updated: String,
    pub owner_contact_id: Option<i64>,
}

impl InsightRecord {
    /// `{key, json, created, updated, ownerContactId?}`.
    pub(crate) fn to_json(&self) -> Value {
        let mut record =
            json!({ "key": self.key, "json": self.json, "created": self.created, "updated": self.updated });
        if let Some(owner) = self.owner_contact_id {
            record["ownerContactId"] = json!(owner);
        }
        record
    }
}
