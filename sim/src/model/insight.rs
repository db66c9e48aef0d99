//! Insight data v3: an account's collections (scope, type, inferred schema) and the records
//! they hold, each owned by a contact.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::schema::Schema;

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

#[derive(Default)]
pub(crate) struct InsightStore {
    /// By exact name: collection names are matched case-sensitively.
    pub collections: BTreeMap<String, Collection>,
    /// Every type conflict a PUT was refused for, in order.
    pub schema_conflicts: Vec<String>,
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
