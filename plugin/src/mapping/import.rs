//! Many records → one Dotdigital import body. Pure: the items are the single-record flows' own
//! bodies (contacts-v3.json `importContacts`: a contact import item is a contact request plus
//! `matchIdentifier`; insight-data-v3.json `importInsightData`: an insight import record is
//! `key`, `contactIdentity` and the record as `json`).

use serde_json::{json, Map, Value};

use super::contact::ContactUpsert;
use super::order::ValidOrder;

/// Dotdigital refuses an import body over 50 MB (contacts and insight data alike).
pub const MAX_IMPORT_BODY_BYTES: usize = 50_000_000;

/// The key an import report names a contact by: its email, compared case-insensitively
/// (Dotdigital matches emails ignoring case).
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

/// The import body's `mergeOption` for a PATCH's `merge-option`: contacts-v3.json spells the
/// same three in camel case in `importContacts` and in kebab case in `importContact`.
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
}
