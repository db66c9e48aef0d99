//! Many records → one Dotdigital import (API.md §3b, §3c), and an import's status. Every
//! record is validated and mapped by its single-record flow's own code; a bad one is left
//! out and reported by its position, never failing the batch. The host decides the batches
//! and does the waiting between status reads.

use std::collections::HashSet;

use serde_json::Value;

use super::{contact_schema, name_fields, validated_settings};
use crate::dotdigital::{segment, Session};
use crate::mapping::contact::{contact_for_order, customer_contact};
use crate::mapping::import::{
    contact_import_state, contact_item, contact_key, contacts_body, import_merge_option, insight_import_state,
    order_item, orders_body, MAX_IMPORT_BODY_BYTES,
};
use crate::mapping::order::{plan_order, OrderPlan};
use crate::platform::{LogLevel, Method, Platform};
use crate::wit::{
    BatchProblem, FieldIssue, ImportBatch, ImportEntry, ImportKind, ImportStarted, ImportState,
    Settings as RawSettings, SyncError,
};

const CONTACTS_IMPORT: &str = "/contacts/v3/import";
const INSIGHT_IMPORT: &str = "/insightData/v3/import";

/// What a batch became before anything is sent.
#[derive(Default)]
struct Prepared {
    items: Vec<Value>,
    entries: Vec<ImportEntry>,
    refused: Vec<BatchProblem>,
    skipped: Vec<u32>,
}

impl Prepared {
    fn refuse(&mut self, index: usize, error: SyncError) {
        self.refused.push(BatchProblem { index: index as u32, error });
    }

    fn take(&mut self, index: usize, key: String, item: Value) {
        self.entries.push(ImportEntry { index: index as u32, key });
        self.items.push(item);
    }
}

pub fn start_import(
    platform: &dyn Platform,
    raw: &RawSettings,
    batch: &ImportBatch,
) -> Result<ImportStarted, SyncError> {
    let settings = validated_settings(raw)?;
    let mut session = Session::open(platform, &settings)?;
    let mut prepared = Prepared::default();
    let (path, body) = match batch {
        ImportBatch::Contacts(customers) => {
            // Record-only checks first: a batch of bad records makes no call at all.
            let contacts: Vec<_> = customers.iter().map(|c| customer_contact(&settings, c)).collect();
            let schema =
                if contacts.iter().any(Result::is_ok) { Some(contact_schema(&mut session, &settings)?) } else { None };
            for (index, contact) in contacts.into_iter().enumerate() {
                let upsert = contact.and_then(|c| {
                    let (names, mappings) = schema.as_ref().expect("read when any record is valid");
                    c.upsert(&settings, *names, mappings)
                });
                match upsert {
                    Ok(upsert) => prepared.take(index, contact_key(&upsert.email), contact_item(&upsert)),
                    Err(issues) => prepared.refuse(index, SyncError::InvalidRecord(issues)),
                }
            }
            (CONTACTS_IMPORT, contacts_body(import_merge_option("overwrite"), &prepared.items))
        }
        ImportBatch::OrderContacts(transactions) => {
            let mut seen = HashSet::new();
            let mut orders = Vec::new();
            for (index, tx) in transactions.iter().enumerate() {
                match plan_order(&settings, tx) {
                    Ok(OrderPlan::Upsert(order)) => orders.push((index, order)),
                    Ok(OrderPlan::Skip { .. }) => prepared.skipped.push(index as u32),
                    Err(issues) => prepared.refuse(index, SyncError::InvalidRecord(issues)),
                }
            }
            let names = if orders.is_empty() { None } else { Some(name_fields(&mut session)?) };
            for (index, order) in orders {
                let key = contact_key(&order.email);
                // One contact per email: the first order names it, as a single sync would.
                if seen.insert(key.clone()) {
                    let upsert = contact_for_order(&order, names.expect("read when any order is valid"));
                    prepared.take(index, key, contact_item(&upsert));
                } else {
                    prepared.entries.push(ImportEntry { index: index as u32, key });
                }
            }
            // Contacts made for orders never overwrite what the customer sync wrote.
            (CONTACTS_IMPORT, contacts_body(import_merge_option("overwrite-if-empty"), &prepared.items))
        }
        ImportBatch::Orders(transactions) => {
            for (index, tx) in transactions.iter().enumerate() {
                match plan_order(&settings, tx) {
                    Ok(OrderPlan::Upsert(order)) => prepared.take(index, order.key.clone(), order_item(&order)),
                    Ok(OrderPlan::Skip { .. }) => prepared.skipped.push(index as u32),
                    Err(issues) => prepared.refuse(index, SyncError::InvalidRecord(issues)),
                }
            }
            (INSIGHT_IMPORT, orders_body(&settings.collection_name, &prepared.items))
        }
    };
    let Prepared { items, entries, refused, skipped } = prepared;
    if items.is_empty() {
        return Ok(ImportStarted { import_id: None, entries, refused, skipped, api_calls: session.calls() });
    }
    if body.len() > MAX_IMPORT_BODY_BYTES {
        return Err(SyncError::InvalidRecord(vec![FieldIssue {
            field: "batch".into(),
            problem: format!(
                "the import body would be {} bytes, over Dotdigital's {MAX_IMPORT_BODY_BYTES}: send fewer records",
                body.len()
            ),
        }]));
    }
    let reply = session.send_encoded(Method::Put, path, body)?;
    if reply.status() != 202 {
        return Err(reply.into_error());
    }
    let import_id = reply.json()?.get("importId").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
        crate::dotdigital::errors::unreadable(reply.status(), &reply.endpoint, "no importId in the answer")
    })?;
    platform.log(LogLevel::Info, &format!("import {import_id} started with {} records", items.len()));
    Ok(ImportStarted { import_id: Some(import_id), entries, refused, skipped, api_calls: session.calls() })
}

pub fn import_status(
    platform: &dyn Platform,
    raw: &RawSettings,
    kind: ImportKind,
    import_id: &str,
) -> Result<ImportState, SyncError> {
    let settings = validated_settings(raw)?;
    let mut session = Session::open(platform, &settings)?;
    let base = match kind {
        ImportKind::Contacts => CONTACTS_IMPORT,
        ImportKind::Orders => INSIGHT_IMPORT,
    };
    let reply = session.get(&format!("{base}/{}", segment(import_id)))?;
    if reply.status() != 200 {
        return Err(reply.into_error());
    }
    let status = reply.json()?;
    let state = match kind {
        ImportKind::Contacts => contact_import_state(&status),
        ImportKind::Orders => insight_import_state(&status),
    };
    state.map_err(|problem| crate::dotdigital::errors::unreadable(reply.status(), &reply.endpoint, &problem))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::platform::Method::Put;
    use crate::test_support::{jane, raw_settings, s, FakePlatform};
    use crate::wit;

    const R1: &str = "https://r1-api.dotdigital.com";
    const FIELDS_KEY: &str = "data-fields:apiuser-abc123@apiconnector.com";
    const FIELDS: &str = r#"[{"name":"FIRSTNAME","type":"String"},{"name":"LASTNAME","type":"String"}]"#;

    fn settings() -> wit::Settings {
        let mut raw = raw_settings();
        raw.api_endpoint = s(R1);
        raw
    }

    fn customer(id: &str, email: &str) -> wit::Customer {
        wit::Customer { id: id.into(), email_address: s(email), ..jane() }
    }

    #[test]
    fn a_batch_of_bad_records_makes_no_call_and_names_each_one() {
        let platform = FakePlatform::new();
        let batch = ImportBatch::Contacts(vec![customer("1", "not-an-email"), customer("2", "")]);
        let started = start_import(&platform, &settings(), &batch).unwrap();
        platform.assert_done();
        assert_eq!(started.import_id, None);
        assert_eq!(started.api_calls, 0);
        assert_eq!(started.refused.iter().map(|p| p.index).collect::<Vec<_>>(), [0, 1]);
        assert!(
            matches!(&started.refused[0].error, SyncError::InvalidRecord(issues) if issues[0].field == "email_address")
        );
    }

    #[test]
    fn good_records_go_in_one_import_and_bad_ones_are_left_out() {
        let platform = FakePlatform::new().with_data(FIELDS_KEY, FIELDS).expect(
            Put,
            &format!("{R1}/contacts/v3/import"),
            202,
            r#"{"importId":"3f1c0a52-0000-4000-8000-000000000001"}"#,
        );
        let batch = ImportBatch::Contacts(vec![
            customer("1", "Ana@Example.com"),
            customer("2", "bad@@example"),
            customer("3", "bo@example.com"),
        ]);
        let started = start_import(&platform, &settings(), &batch).unwrap();
        platform.assert_done();
        assert_eq!(started.import_id.as_deref(), Some("3f1c0a52-0000-4000-8000-000000000001"));
        let entries: Vec<(u32, &str)> = started.entries.iter().map(|e| (e.index, e.key.as_str())).collect();
        assert_eq!(entries, [(0, "ana@example.com"), (2, "bo@example.com")]);
        assert_eq!(started.refused.len(), 1);
        assert_eq!(started.refused[0].index, 1);
        let body = platform.body(0);
        assert_eq!(body["mergeOption"], "overwrite");
        assert_eq!(body["contacts"][0]["matchIdentifier"], "email");
        assert_eq!(body["contacts"][0]["identifiers"]["email"], "Ana@Example.com");
        assert_eq!(body["contacts"][1]["dataFields"]["FIRSTNAME"], json!("Jane"));
    }

    #[test]
    fn a_429_on_start_is_the_rate_limit_error() {
        let platform = FakePlatform::new().with_data(FIELDS_KEY, FIELDS).expect(
            Put,
            &format!("{R1}/contacts/v3/import"),
            429,
            r#"{"errorCode":"contacts:tooManyActiveImports","description":"Too many active imports"}"#,
        );
        let batch = ImportBatch::Contacts(vec![customer("1", "ana@example.com")]);
        let error = start_import(&platform, &settings(), &batch).unwrap_err();
        assert!(matches!(error, SyncError::RateLimited(_)), "{error:?}");
    }
}
