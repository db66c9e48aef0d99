//! Many records → one Dotdigital import, and an import's status. Every record is validated
//! and mapped by its single-record flow's own code; a bad one is left out and reported by its
//! position, never failing the batch. The host decides the batches and does the waiting
//! between status reads.

use std::collections::HashSet;

use serde_json::Value;

use super::contact_schema::{contact_schema, name_fields};
use super::validated_settings;
use crate::dotdigital::imports::{self, Import};
use crate::dotdigital::{lists, Session};
use crate::mapping::contact::{contact_for_order, customer_contact};
use crate::mapping::import::{
    contact_item, contact_key, contacts_body, import_merge_option, order_item, orders_body, MAX_IMPORT_BODY_BYTES,
};
use crate::mapping::order::{plan_order, OrderPlan, ValidOrder};
use crate::platform::{LogLevel, Platform};
use crate::settings::{OrderContacts, Settings};
use crate::wit::{
    BatchProblem, BulkLimits, Customer, FieldIssue, ImportBatch, ImportBegun, ImportEntry, ImportKind, ImportLimits,
    ImportProgress, ImportRecord, ImportStarted, ImportState, ListsLeft, Settings as RawSettings, SyncError,
    Transaction,
};

/// What a batch became before anything is sent.
#[derive(Default)]
struct Prepared {
    items: Vec<Value>,
    entries: Vec<ImportRecord>,
    refused: Vec<BatchProblem>,
    skipped: Vec<u32>,
}

impl Prepared {
    fn refuse(&mut self, index: usize, error: SyncError) {
        self.refused.push(BatchProblem { index: index as u32, error });
    }

    fn take(&mut self, index: usize, key: String, item: Value) {
        self.entries.push(ImportRecord { index: index as u32, key, leaves_marketing_lists: false });
        self.items.push(item);
    }

    /// The valid orders of a batch; the others are skipped or refused.
    fn orders(&mut self, settings: &Settings, transactions: &[Transaction]) -> Vec<(usize, ValidOrder)> {
        let mut orders = Vec::new();
        for (index, tx) in transactions.iter().enumerate() {
            match plan_order(settings, tx) {
                Ok(OrderPlan::Upsert(order)) => orders.push((index, order)),
                Ok(OrderPlan::Skip { .. }) => self.skipped.push(index as u32),
                Err(issues) => self.refuse(index, SyncError::InvalidRecord(issues)),
            }
        }
        orders
    }
}

/// What Dotdigital allows bulk loads, for the host to size and pace its imports by.
pub fn bulk_limits() -> BulkLimits {
    let kind = |import: Import, records_per_import, max_running| ImportLimits {
        records_per_import,
        max_records_per_import: imports::MAX_RECORDS_PER_IMPORT,
        max_running,
        endpoint: format!("PUT {}", import.path()),
    };
    BulkLimits {
        contacts: kind(Import::Contacts, imports::CONTACTS_PER_IMPORT, imports::MAX_RUNNING_CONTACT_IMPORTS),
        orders: kind(Import::Insight, imports::ORDERS_PER_IMPORT, imports::MAX_RUNNING_INSIGHT_IMPORTS),
        contacts_per_removal: lists::MAX_IDS_PER_REMOVAL as u32,
    }
}

/// `start-import` (1.0): `begin-import` without the after-import duties.
pub fn start_import(
    platform: &dyn Platform,
    raw: &RawSettings,
    batch: &ImportBatch,
) -> Result<ImportStarted, SyncError> {
    let begun = begin_import(platform, raw, None, batch)?;
    Ok(ImportStarted {
        import_id: begun.import_id,
        entries: begun.entries.into_iter().map(|e| ImportEntry { index: e.index, key: e.key }).collect(),
        refused: begun.refused,
        skipped: begun.skipped,
        api_calls: begun.api_calls,
    })
}

/// One import of the batch's valid records; each contact entry says whether its customer
/// explicitly said no to marketing (taken off the marketing lists once the import finished).
pub fn begin_import(
    platform: &dyn Platform,
    raw: &RawSettings,
    order_contacts: Option<&str>,
    batch: &ImportBatch,
) -> Result<ImportBegun, SyncError> {
    let settings = validated_settings(raw)?;
    let order_contacts = OrderContacts::validate(order_contacts)?;
    let mut session = Session::open(platform, &settings)?;
    let (import, prepared, body) = match batch {
        ImportBatch::Contacts(customers) => customers_batch(&mut session, &settings, customers)?,
        ImportBatch::OrderContacts(transactions) => {
            order_contacts_batch(&mut session, &settings, order_contacts, transactions)?
        }
        ImportBatch::Orders(transactions) => orders_batch(&settings, transactions),
    };
    let Prepared { items, entries, refused, skipped } = prepared;
    if items.is_empty() {
        return Ok(ImportBegun { import_id: None, entries, refused, skipped, api_calls: session.calls() });
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
    let import_id = imports::start(&mut session, import, body)?;
    platform.log(LogLevel::Info, &format!("import {import_id} started with {} records", items.len()));
    Ok(ImportBegun { import_id: Some(import_id), entries, refused, skipped, api_calls: session.calls() })
}

/// Customers as a contact import.
fn customers_batch(
    session: &mut Session,
    settings: &Settings,
    customers: &[Customer],
) -> Result<(Import, Prepared, Vec<u8>), SyncError> {
    let mut prepared = Prepared::default();
    // Record-only checks first: a batch of bad records makes no call at all.
    let contacts: Vec<_> = customers.iter().map(|c| customer_contact(settings, c)).collect();
    let schema = if contacts.iter().any(Result::is_ok) { Some(contact_schema(session, settings)?) } else { None };
    for (index, contact) in contacts.into_iter().enumerate() {
        let upsert = contact.and_then(|c| {
            let (names, mappings) = schema.as_ref().expect("read when any record is valid");
            c.upsert(settings, *names, mappings)
        });
        match upsert {
            Ok(upsert) => {
                prepared.take(index, contact_key(&upsert.email), contact_item(&upsert));
                // The item joins the marketing lists only on a yes (the single-record
                // mapping's three-state consent); an explicit no must also leave them,
                // which an import cannot do.
                if let Some(entry) = prepared.entries.last_mut() {
                    entry.leaves_marketing_lists = !upsert.leave_lists.is_empty();
                }
            }
            Err(issues) => prepared.refuse(index, SyncError::InvalidRecord(issues)),
        }
    }
    let body = contacts_body(import_merge_option("overwrite"), &prepared.items);
    Ok((Import::Contacts, prepared, body))
}

/// The contacts a batch of orders belongs to, as a contact import.
fn order_contacts_batch(
    session: &mut Session,
    settings: &Settings,
    order_contacts: OrderContacts,
    transactions: &[Transaction],
) -> Result<(Import, Prepared, Vec<u8>), SyncError> {
    let mut prepared = Prepared::default();
    let mut orders = prepared.orders(settings, transactions);
    // With `require` an order never makes its contact: nothing is sent, and an order
    // whose email Dotdigital does not know fails in the orders import.
    if order_contacts == OrderContacts::Require {
        orders.clear();
    }
    let names = if orders.is_empty() { None } else { Some(name_fields(session)?) };
    let mut seen = HashSet::new();
    for (index, order) in orders {
        let key = contact_key(&order.email);
        // One contact per email: the first order names it, as a single sync would.
        if seen.insert(key.clone()) {
            let upsert = contact_for_order(&order, names.expect("read when any order is valid"));
            prepared.take(index, key, contact_item(&upsert));
        } else {
            prepared.entries.push(ImportRecord { index: index as u32, key, leaves_marketing_lists: false });
        }
    }
    // Contacts made for orders never overwrite what the customer sync wrote.
    let body = contacts_body(import_merge_option("overwrite-if-empty"), &prepared.items);
    Ok((Import::Contacts, prepared, body))
}

/// Orders as an insight import.
fn orders_batch(settings: &Settings, transactions: &[Transaction]) -> (Import, Prepared, Vec<u8>) {
    let mut prepared = Prepared::default();
    for (index, order) in prepared.orders(settings, transactions) {
        prepared.take(index, order.key.clone(), order_item(&order));
    }
    let body = orders_body(&settings.collection_name, &prepared.items);
    (Import::Insight, prepared, body)
}

/// `import-status` (1.0): counts and failures.
pub fn import_status(
    platform: &dyn Platform,
    raw: &RawSettings,
    kind: ImportKind,
    import_id: &str,
) -> Result<ImportState, SyncError> {
    read_status(platform, raw, kind, import_id, imports::state)
}

/// `import-progress` (1.1): the report record by record.
pub fn import_progress_of(
    platform: &dyn Platform,
    raw: &RawSettings,
    kind: ImportKind,
    import_id: &str,
) -> Result<ImportProgress, SyncError> {
    read_status(platform, raw, kind, import_id, imports::progress)
}

/// One status read, by `read` (the 1.0 or the 1.1 reading).
fn read_status<T>(
    platform: &dyn Platform,
    raw: &RawSettings,
    kind: ImportKind,
    import_id: &str,
    read: fn(&mut Session, Import, &str) -> Result<T, SyncError>,
) -> Result<T, SyncError> {
    let settings = validated_settings(raw)?;
    let mut session = Session::open(platform, &settings)?;
    let import = match kind {
        ImportKind::Contacts => Import::Contacts,
        ImportKind::Orders => Import::Insight,
    };
    read(&mut session, import, import_id)
}

/// Takes `contact_ids` off every marketing list, in bulk.
pub fn leave_marketing_lists(
    platform: &dyn Platform,
    raw: &RawSettings,
    contact_ids: &[u64],
) -> Result<ListsLeft, SyncError> {
    let settings = validated_settings(raw)?;
    let mut ids: Vec<u64> = contact_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || settings.marketing_list_ids.is_empty() {
        return Ok(ListsLeft { api_calls: 0, list_ids: vec![] });
    }
    if let Some(bad) = ids.iter().find(|id| **id == 0 || **id > i32::MAX as u64) {
        return Err(SyncError::InvalidRecord(vec![FieldIssue {
            field: "contact-ids".into(),
            problem: format!("{bad} is not a Dotdigital contactId (a whole number from 1 to 2147483647)"),
        }]));
    }
    let mut session = Session::open(platform, &settings)?;
    for list in &settings.marketing_list_ids {
        lists::remove_all(&mut session, *list, &ids)?;
    }
    platform.log(
        LogLevel::Info,
        &format!(
            "{} contact(s) taken off marketing lists {}",
            ids.len(),
            settings.marketing_list_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ),
    );
    Ok(ListsLeft { api_calls: session.calls(), list_ids: settings.marketing_list_ids.clone() })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::platform::Method::{Post, Put};
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

    /// The host cuts batches by `bulk_limits`: an import of the recommended size of the test
    /// customer (with data fields and an address) is sent, at under a fifth of the body limit.
    #[test]
    fn a_recommended_contacts_import_is_far_under_the_body_limit() {
        let limits = bulk_limits();
        assert!(limits.contacts.records_per_import <= limits.contacts.max_records_per_import);
        assert!(limits.orders.records_per_import <= limits.orders.max_records_per_import);
        let count = limits.contacts.records_per_import as usize;
        let platform = FakePlatform::new().with_data(FIELDS_KEY, FIELDS).expect(
            Put,
            &format!("{R1}/contacts/v3/import"),
            202,
            r#"{"importId":"3f1c0a52-0000-4000-8000-000000000001"}"#,
        );
        let batch =
            ImportBatch::Contacts((0..count).map(|i| customer(&i.to_string(), &format!("c{i}@example.com"))).collect());
        let started = start_import(&platform, &settings(), &batch).unwrap();
        platform.assert_done();
        assert_eq!(started.entries.len(), count);
        let sent = platform.body(0).to_string().len();
        assert!(sent < MAX_IMPORT_BODY_BYTES / 5, "{count} contacts made a body of {sent} bytes");
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

    fn with_consent(id: &str, email: &str, answer: Option<&str>) -> wit::Customer {
        let mut c = customer(id, email);
        c.custom_fields.retain(|f| !f.name.eq_ignore_ascii_case("Email Marketing Consent"));
        if let Some(answer) = answer {
            c.custom_fields.push(wit::CustomField { name: "Email Marketing Consent".into(), value: s(answer) });
        }
        c
    }

    #[test]
    fn only_an_explicit_no_leaves_the_marketing_lists_and_only_a_yes_joins_them() {
        let platform = FakePlatform::new().with_data(FIELDS_KEY, FIELDS).expect(
            Put,
            &format!("{R1}/contacts/v3/import"),
            202,
            r#"{"importId":"3f1c0a52-0000-4000-8000-000000000001"}"#,
        );
        let mut raw = settings();
        raw.list_ids = vec![1];
        raw.marketing_list_ids = vec![7, 8];
        let batch = ImportBatch::Contacts(vec![
            with_consent("1", "yes@example.com", Some("yes")),
            with_consent("2", "no@example.com", Some("N")),
            with_consent("3", "blank@example.com", Some("  ")),
            with_consent("4", "absent@example.com", None),
        ]);
        let begun = begin_import(&platform, &raw, None, &batch).unwrap();
        let leaves: Vec<bool> = begun.entries.iter().map(|e| e.leaves_marketing_lists).collect();
        assert_eq!(leaves, [false, true, false, false]);
        let body = platform.body(0);
        let lists: Vec<Value> = (0..4).map(|i| body["contacts"][i]["lists"].clone()).collect();
        assert_eq!(lists, [json!([1, 7, 8]), json!([1]), json!([1]), json!([1])]);
    }

    #[test]
    fn leaving_the_marketing_lists_is_one_bulk_removal_per_list() {
        let job = r#"{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","status":"Started"}"#;
        let platform = FakePlatform::new()
            .expect(Post, &format!("{R1}/v2/address-books/7/contacts/delete"), 202, job)
            .expect(Post, &format!("{R1}/v2/address-books/8/contacts/delete"), 202, job);
        let mut raw = settings();
        raw.marketing_list_ids = vec![7, 8];
        let left = leave_marketing_lists(&platform, &raw, &[17, 4, 17]).unwrap();
        platform.assert_done();
        assert_eq!((left.api_calls, left.list_ids), (2, vec![7, 8]));
        assert_eq!(platform.body(0), json!([4, 17]));
        assert_eq!(platform.body(1), json!([4, 17]));

        // Nothing to do: no call. A 404 for a list is the error.
        let idle = FakePlatform::new();
        assert_eq!(leave_marketing_lists(&idle, &raw, &[]).unwrap().api_calls, 0);
        let platform = FakePlatform::new().expect(
            Post,
            &format!("{R1}/v2/address-books/7/contacts/delete"),
            404,
            r#"{"message":"Error: ERROR_ADDRESSBOOK_NOT_FOUND"}"#,
        );
        let error = leave_marketing_lists(&platform, &raw, &[4]).unwrap_err();
        assert!(matches!(&error, SyncError::Rejected(r) if r.status == 404), "{error:?}");
        assert!(matches!(leave_marketing_lists(&FakePlatform::new(), &raw, &[0]), Err(SyncError::InvalidRecord(_))));
    }
}
