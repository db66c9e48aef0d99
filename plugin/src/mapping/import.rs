//! Many records → one Dotdigital import body, and an import's status → a report. Pure: the
//! items are the single-record flows' own bodies (API.md §3b: a contact import item is a
//! contact request plus `matchIdentifier`; §3c: an insight import record is `key`,
//! `contactIdentity` and the record as `json`).

use serde_json::{json, Map, Value};

use super::contact::ContactUpsert;
use super::order::ValidOrder;
use crate::wit::{ImportFailure, ImportReport, ImportState};

/// Dotdigital refuses an import body over 50 MB (API.md §3b, §3c "Limits").
pub const MAX_IMPORT_BODY_BYTES: usize = 50_000_000;

/// The key an import report names a contact by: its email, compared case-insensitively
/// (API.md §9 item 7: email lookup ignores case).
pub fn contact_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One `contacts[]` item: the PATCH body, matched by the stored contactId when iPaaS.com
/// has one (the email may have changed), else by email (with the body for a contact that may
/// be new: the opt-in type goes only there, as in the single sync).
pub fn contact_item(upsert: &ContactUpsert) -> Value {
    let body = if upsert.contact_id.is_some() { &upsert.body } else { &upsert.email_body };
    let mut item = match body {
        Value::Object(body) => body.clone(),
        _ => Map::new(),
    };
    match upsert.contact_id {
        Some(id) => {
            item.insert("matchIdentifier".into(), json!("contactId"));
            if let Some(Value::Object(identifiers)) = item.get_mut("identifiers") {
                identifiers.insert("contactId".into(), json!(id));
            }
        }
        None => {
            item.insert("matchIdentifier".into(), json!("email"));
        }
    }
    Value::Object(item)
}

/// The import body's `mergeOption` for a PATCH's `merge-option` (API.md §4: the import body
/// spells them in camel case).
pub fn import_merge_option(patch_option: &str) -> &'static str {
    match patch_option {
        "overwrite-if-empty" => "overwriteIfEmpty",
        "overwrite-if-not-empty" => "overwriteIfNotEmpty",
        _ => "overwrite",
    }
}

/// One `records[]` item of a contact-scoped insight import.
pub fn order_item(order: &ValidOrder) -> Value {
    json!({
        "key": order.key,
        "contactIdentity": {"identifier": "email", "value": order.email},
        "json": order.record,
    })
}

/// `{"mergeOption": …, "contacts": [items]}`, written item by item so a batch of many
/// thousand contacts never exists twice in memory as a JSON tree.
pub fn contacts_body(merge_option: &str, items: &[Value]) -> Vec<u8> {
    let head = json!({"mergeOption": merge_option}).to_string();
    list_body(&head, "contacts", items)
}

/// `{"collectionName", "collectionScope": "contact", "collectionType": "orders", "records"}`.
pub fn orders_body(collection: &str, items: &[Value]) -> Vec<u8> {
    let head = json!({"collectionName": collection, "collectionScope": "contact", "collectionType": "orders"});
    list_body(&head.to_string(), "records", items)
}

/// `head` (a JSON object) with `name: [items]` appended.
fn list_body(head: &str, name: &str, items: &[Value]) -> Vec<u8> {
    let mut body = head.as_bytes()[..head.len() - 1].to_vec();
    body.extend_from_slice(format!(",\"{name}\":[").as_bytes());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        // Values built from strings and numbers always serialise.
        let _ = serde_json::to_writer(&mut body, item);
    }
    body.extend_from_slice(b"]}");
    body
}

/// What is wrong with a status answer, for an `unreadable` error.
pub type Unreadable = String;

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn count(value: &Value, key: &str) -> u32 {
    value.get(key).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32).unwrap_or(0)
}

/// `GET /contacts/v3/import/{id}` (API.md §3b): `NotFinished` is the only running status;
/// `Finished` carries `summary` and `failures[{identifiers, failures[{failureCode,
/// description}]}]`; any other status ended the import without importing.
pub fn contact_import_state(status: &Value) -> Result<ImportState, Unreadable> {
    let word = text(status, "status").ok_or("no status in the import status")?;
    match word.as_str() {
        "NotFinished" => Ok(ImportState::Running),
        "Finished" => {
            let summary = status.get("summary").cloned().unwrap_or(Value::Null);
            let mut failures = Vec::new();
            for failed in status.get("failures").and_then(Value::as_array).into_iter().flatten() {
                let identifiers = failed.get("identifiers").cloned().unwrap_or(Value::Null);
                let key = text(&identifiers, "email")
                    .map(|e| contact_key(&e))
                    .or_else(|| identifiers.get("contactId").map(|id| id.to_string()))
                    .unwrap_or_default();
                let reasons: Vec<&Value> =
                    failed.get("failures").and_then(Value::as_array).into_iter().flatten().collect();
                let code = reasons
                    .iter()
                    .filter_map(|r| r.get("failureCode").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(", ");
                let detail = reasons.iter().filter_map(|r| r.get("description").and_then(Value::as_str)).next();
                let code = if code.is_empty() { "unknown".to_string() } else { code };
                failures.push(ImportFailure { key, code, detail: detail.map(str::to_string) });
            }
            Ok(ImportState::Finished(ImportReport {
                created: count(&summary, "newContacts"),
                updated: count(&summary, "updatedContacts"),
                failures,
            }))
        }
        other => Ok(ImportState::Failed(format!("Dotdigital ended the contact import as {other}"))),
    }
}

/// `GET /insightData/v3/import/{id}` (API.md §3c): `Finished` or `Complete` is done (the
/// schema and the examples disagree), `Failed` ended it, anything else is still running.
pub fn insight_import_state(status: &Value) -> Result<ImportState, Unreadable> {
    let word = text(status, "status").ok_or("no status in the import status")?;
    match word.as_str() {
        "Finished" | "Complete" => {
            let summary = status.get("summary").cloned().unwrap_or(Value::Null);
            let failures: Vec<ImportFailure> = status
                .get("failures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|failed| ImportFailure {
                    key: match failed.get("key") {
                        Some(Value::String(key)) => key.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    },
                    code: text(failed, "failureReason").unwrap_or_else(|| "Unknown".into()),
                    detail: failed
                        .get("details")
                        .and_then(Value::as_array)
                        .map(|d| d.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                        .filter(|d| !d.is_empty()),
                })
                .collect();
            Ok(ImportState::Finished(ImportReport { created: 0, updated: count(&summary, "totalImported"), failures }))
        }
        "Failed" => Ok(ImportState::Failed("Dotdigital ended the insight import as Failed".into())),
        _ => Ok(ImportState::Running),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(contact_id: Option<u32>) -> ContactUpsert {
        ContactUpsert {
            email: "Ana@Example.com".into(),
            contact_id,
            merge_option: "overwrite",
            body: json!({"identifiers": {"email": "Ana@Example.com"}, "dataFields": {"FIRSTNAME": "Ana"}}),
            email_body: json!({"identifiers": {"email": "Ana@Example.com"}, "dataFields": {"FIRSTNAME": "Ana"}}),
            create: None,
            leave_lists: vec![],
            held_back_opt_in: None,
            notes: vec![],
        }
    }

    #[test]
    fn a_contact_item_is_the_patch_body_with_its_match_identifier() {
        assert_eq!(
            contact_item(&upsert(None)),
            json!({"matchIdentifier": "email", "identifiers": {"email": "Ana@Example.com"}, "dataFields": {"FIRSTNAME": "Ana"}})
        );
        let by_id = contact_item(&upsert(Some(42)));
        assert_eq!(by_id["matchIdentifier"], "contactId");
        assert_eq!(by_id["identifiers"], json!({"email": "Ana@Example.com", "contactId": 42}));
        assert_eq!(contact_key(" Ana@Example.com "), "ana@example.com");
    }

    #[test]
    fn bodies_are_the_documented_shapes() {
        let body: Value =
            serde_json::from_slice(&contacts_body("overwrite", &[json!({"a": 1}), json!({"b": 2})])).unwrap();
        assert_eq!(body, json!({"mergeOption": "overwrite", "contacts": [{"a": 1}, {"b": 2}]}));
        let body: Value = serde_json::from_slice(&orders_body("Orders", &[json!({"key": "1"})])).unwrap();
        assert_eq!(
            body,
            json!({"collectionName": "Orders", "collectionScope": "contact", "collectionType": "orders", "records": [{"key": "1"}]})
        );
        assert_eq!(import_merge_option("overwrite-if-empty"), "overwriteIfEmpty");
        assert_eq!(import_merge_option("overwrite"), "overwrite");
    }

    #[test]
    fn contact_import_status_reads_the_documented_report() {
        // API.md §3b's example status.
        let status = json!({"importId": "3f1c0a52", "status": "Finished",
            "summary": {"newContacts": 1, "updatedContacts": 1, "globallySuppressed": 0, "invalidEntries": 1, "duplicateIdentifiers": 0},
            "created": [{"contactId": 40001300, "identifiers": {"email": "ana.silva@example.com"}}], "updated": [],
            "failures": [{"matchIdentifier": "email", "identifiers": {"email": "Bad@@example"},
                          "failures": [{"failureCode": "invalidEmail", "description": "Invalid value for 'email'"}]}]});
        let ImportState::Finished(report) = contact_import_state(&status).unwrap() else { panic!("finished") };
        assert_eq!((report.created, report.updated), (1, 1));
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].key, "bad@@example");
        assert_eq!(report.failures[0].code, "invalidEmail");
        assert_eq!(report.failures[0].detail.as_deref(), Some("Invalid value for 'email'"));
        assert!(matches!(contact_import_state(&json!({"status": "NotFinished"})), Ok(ImportState::Running)));
        assert!(matches!(contact_import_state(&json!({"status": "RejectedByWatchdog"})), Ok(ImportState::Failed(_))));
        assert!(contact_import_state(&json!({})).is_err());
    }

    #[test]
    fn insight_import_status_accepts_both_success_words() {
        // API.md §3c's example status.
        let status = json!({"importId": "9b2e4f1a", "status": "Finished", "collectionName": "Orders",
            "summary": {"totalRecords": 2, "totalImported": 1, "totalRejected": 1},
            "failures": [{"collectionOwner": {"ownerType": "contact", "contactIdentity": {"identifier": "email", "value": "ghost@example.com"}},
                          "failureReason": "ContactEmailDoesNotExist", "details": [], "key": "100046", "json": {"id": "100046"}}]});
        let ImportState::Finished(report) = insight_import_state(&status).unwrap() else { panic!("finished") };
        assert_eq!((report.created, report.updated), (0, 1));
        assert_eq!(report.failures[0].key, "100046");
        assert_eq!(report.failures[0].code, "ContactEmailDoesNotExist");
        assert_eq!(report.failures[0].detail, None);
        let mut complete = status.clone();
        complete["status"] = json!("Complete");
        assert!(matches!(insight_import_state(&complete), Ok(ImportState::Finished(_))));
        for running in ["NotStarted", "Processing"] {
            assert!(matches!(insight_import_state(&json!({"status": running})), Ok(ImportState::Running)));
        }
        assert!(matches!(insight_import_state(&json!({"status": "Failed"})), Ok(ImportState::Failed(_))));
    }
}
