//! The bulk imports: contacts (`/contacts/v3/import`) and Insight data
//! (`/insightData/v3/import`): acceptance, status progression, per-record failures, the
//! active-import caps, the knobs, the control API listing, and a load of realistic size.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::client::{call, control, send, start, upsert, Reply, ACME, DEMO_R2, R2};
use crate::{FailureCodeCasing, ImportConfig, InsightFinishedStatus, RateLimitConfig, SimConfig, Simulator};

/// The demo accounts with imports finished by polls only (deterministic) and room for many
/// import calls in the Low tier.
fn config(change: impl FnOnce(&mut ImportConfig)) -> SimConfig {
    let mut config = SimConfig::demo();
    config.imports.finish_after_ms = None;
    change(&mut config.imports);
    config.rate_limit = RateLimitConfig { low_limit: 10_000, ..RateLimitConfig::default() };
    config
}

async fn sim() -> Simulator {
    start(config(|_| {})).await
}

async fn put_contacts(sim: &Simulator, body: Value) -> Reply {
    send(sim, call("PUT", "/contacts/v3/import").json(body)).await
}

async fn put_insight(sim: &Simulator, body: Value) -> Reply {
    send(sim, call("PUT", "/insightData/v3/import").json(body)).await
}

/// The id of an accepted import (asserting the 202).
fn accepted(reply: &Reply) -> String {
    assert_eq!(reply.status, 202, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only importId: {body}");
    body["importId"].as_str().expect("importId").to_string()
}

async fn contact_status(sim: &Simulator, id: &str) -> Value {
    let reply = send(sim, call("GET", &format!("/contacts/v3/import/{id}"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

async fn insight_status(sim: &Simulator, id: &str) -> Value {
    let reply = send(sim, call("GET", &format!("/insightData/v3/import/{id}"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// Polls until the import reports a finished word, at most 10 times.
async fn finished(sim: &Simulator, path: &str, id: &str) -> Value {
    for _ in 0..10 {
        let reply = send(sim, call("GET", &format!("{path}/{id}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let body = reply.json();
        if matches!(body["status"].as_str(), Some("Finished" | "Complete")) {
            return body;
        }
    }
    panic!("the import {id} did not finish");
}

fn contact_item(email: &str, fields: Value) -> Value {
    json!({"matchIdentifier": "email", "identifiers": {"email": email}, "dataFields": fields})
}

/// The failure codes reported for the item whose identifiers are `identifiers`.
fn codes_for(report: &Value, identifiers: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter(|f| &f["identifiers"] == identifiers)
        .flat_map(|f| f["failures"].as_array().expect("failures[].failures").clone())
        .map(|f| f["failureCode"].as_str().expect("failureCode").to_string())
        .collect()
}

#[tokio::test]
async fn a_contact_import_finishes_on_the_second_poll_and_only_then_applies() {
    let sim = sim().await;
    let id = accepted(
        &put_contacts(
            &sim,
            json!({"contacts": [contact_item("Ana@Example.com", json!({"FIRSTNAME": "Ana", "POINTS": 5}))]}),
        )
        .await,
    );
    assert_eq!(id.len(), 36, "a GUID: {id}");

    let first = contact_status(&sim, &id).await;
    assert_eq!(first, json!({"importId": id, "status": "NotFinished"}));
    let not_yet = send(&sim, call("GET", "/contacts/v3/email/ana@example.com")).await;
    assert_eq!(not_yet.status, 404, "nothing is applied before the import finishes");

    let report = contact_status(&sim, &id).await;
    assert_eq!(report["status"], "Finished");
    assert_eq!(
        report["summary"],
        json!({"newContacts": 1, "updatedContacts": 0, "globallySuppressed": 0, "invalidEntries": 0, "duplicateIdentifiers": 0})
    );
    assert_eq!(report["created"], json!([{"contactId": 40_000_001, "identifiers": {"email": "ana@example.com"}}]));
    assert_eq!(report["updated"], json!([]));
    assert_eq!(report["failures"], json!([]));
    // The report stays the same on later polls.
    assert_eq!(contact_status(&sim, &id).await, report);

    let contact = send(&sim, call("GET", "/contacts/v3/email/ana@example.com")).await;
    assert_eq!(contact.status, 200);
    let contact = contact.json();
    assert_eq!(contact["dataFields"]["FIRSTNAME"], "Ana");
    assert_eq!(contact["dataFields"]["POINTS"], 5);
    assert_eq!(contact["status"], "subscribed", "new contacts default to subscribed");
}

#[tokio::test]
async fn contact_import_reports_each_failure_and_counts_it() {
    let sim = sim().await;
    assert_eq!(upsert(&sim, "bob@example.com", json!({"dataFields": {"FIRSTNAME": "Bob"}})).await.status, 201);
    let suppressed =
        json!({"channelProperties": {"email": {"status": "suppressed"}}, "dataFields": {"FIRSTNAME": "Sue"}});
    assert_eq!(upsert(&sim, "sue@example.com", suppressed).await.status, 201);
    assert_eq!(upsert(&sim, "dan@example.com", json!({})).await.status, 201);
    let bad_consent = json!([{"text": "yes"}]);

    let body = json!({"mergeOption": "overwrite", "contacts": [
        contact_item("new@example.com", json!({"FIRSTNAME": "New"})),
        {"matchIdentifier": "email", "identifiers": {"email": "bob@example.com"}, "dataFields": {"FIRSTNAME": "Robert"},
         "lists": [123456]},
        contact_item("bad@@example", json!({})),
        contact_item("NEW@example.com", json!({"FIRSTNAME": "Again"})),
        contact_item("sue@example.com", json!({"FIRSTNAME": "Susan"})),
        {"matchIdentifier": "email", "identifiers": {"email": "list@example.com"}, "lists": [999]},
        contact_item("field@example.com", json!({"NO_SUCH_FIELD": 1})),
        contact_item("typed@example.com", json!({"POINTS": "many"})),
        {"matchIdentifier": "contactId", "identifiers": {"contactId": 123}},
        {"matchIdentifier": "mobileNumber", "identifiers": {"email": "nomobile@example.com"}},
        {"identifiers": {"email": "nomatch@example.com"}},
        {"matchIdentifier": "email"},
        {"matchIdentifier": "email", "identifiers": {"email": "new2@example.com", "mobileNumber": "+44 7"}},
        {"matchIdentifier": "email", "identifiers": {"email": "consent@example.com"}, "consentRecords": bad_consent},
        {"matchIdentifier": "contactId", "identifiers": {"contactId": 40_000_003, "email": "daniel@example.com"}},
        {"matchIdentifier": "email", "identifiers": {"email": "new3@example.com", "mobileNumber": "447700900123"}},
        {"matchIdentifier": "mobileNumber", "identifiers": {"email": "bob@example.com", "mobileNumber": "447700900123"}},
    ]});
    let id = accepted(&put_contacts(&sim, body).await);
    let report = finished(&sim, "/contacts/v3/import", &id).await;

    assert_eq!(
        report["summary"],
        json!({"newContacts": 3, "updatedContacts": 2, "globallySuppressed": 1, "invalidEntries": 9, "duplicateIdentifiers": 2}),
        "{report:#}"
    );
    let codes = |identifiers: Value| codes_for(&report, &identifiers);
    assert_eq!(codes(json!({"email": "bad@@example"})), ["invalidEmail"]);
    assert_eq!(codes(json!({"email": "NEW@example.com"})), ["duplicateIdentifier"]);
    assert_eq!(codes(json!({"email": "sue@example.com"})), ["globallySuppressed"]);
    assert_eq!(codes(json!({"email": "list@example.com"})), ["invalidAddressBookIds"]);
    assert_eq!(codes(json!({"email": "field@example.com"})), ["apiSchemaViolation"]);
    assert_eq!(codes(json!({"email": "typed@example.com"})), ["apiSchemaViolation"]);
    assert_eq!(codes(json!({"contactId": 123})), ["contactNotFound"]);
    assert_eq!(codes(json!({"email": "nomobile@example.com"})), ["invalidMatchIdentifier"]);
    assert_eq!(codes(json!({"email": "nomatch@example.com"})), ["invalidMatchIdentifier"]);
    assert_eq!(codes(json!({})), ["noValidIdentifiers"]);
    assert_eq!(codes(json!({"email": "new2@example.com", "mobileNumber": "+44 7"})), ["invalidPhoneNumber"]);
    // Bad consent records do not stop the contact: it is created and the failure listed.
    assert_eq!(codes(json!({"email": "consent@example.com"})), ["consentRecordsNotApplied"]);
    // The mobile number now belongs to new3, so bob cannot take it.
    assert_eq!(
        codes(json!({"email": "bob@example.com", "mobileNumber": "447700900123"})),
        ["duplicateIdentifier"],
        "an identifier owned by another contact"
    );
    let invalid_email = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["identifiers"]["email"] == "bad@@example")
        .unwrap()
        .clone();
    assert_eq!(invalid_email["matchIdentifier"], "email");
    assert!(invalid_email["failures"][0]["description"].as_str().unwrap().contains("Invalid value for 'email'"));
    let consent =
        report["failures"].as_array().unwrap().iter().find(|f| f["identifiers"]["email"] == "consent@example.com");
    assert!(consent.unwrap()["contactId"].is_i64(), "the contact it concerns");

    let created: Vec<&str> =
        report["created"].as_array().unwrap().iter().map(|c| c["identifiers"]["email"].as_str().unwrap()).collect();
    assert_eq!(created, ["new@example.com", "consent@example.com", "new3@example.com"]);
    assert_eq!(report["updated"].as_array().unwrap().len(), 2);

    let bob = sim.contact(ACME, "bob@example.com").expect("bob");
    assert_eq!(bob["dataFields"]["FIRSTNAME"], "Robert");
    assert_eq!(bob["lists"][0]["id"], 123456);
    let sue = sim.contact(ACME, "sue@example.com").expect("sue");
    assert_eq!(sue["dataFields"]["FIRSTNAME"], "Sue", "a suppressed contact is not updated");
    assert_eq!(sue["status"], "suppressed");
    assert_eq!(sim.contact(ACME, "new@example.com").unwrap()["dataFields"]["FIRSTNAME"], "New", "the first wins");
    let daniel = sim.contact(ACME, "daniel@example.com").expect("matched by contactId, email changed");
    assert_eq!(daniel["contactId"], 40_000_003);
    assert!(sim.contact(ACME, "dan@example.com").is_none());
    assert!(sim.contact(ACME, "bad@@example").is_none());
    assert!(sim.contact(ACME, "field@example.com").is_none());
}

#[tokio::test]
async fn contact_import_merge_options_and_pascal_casing() {
    let sim = start(config(|c| c.failure_code_casing = FailureCodeCasing::Pascal)).await;
    upsert(&sim, "ana@example.com", json!({"dataFields": {"FIRSTNAME": "Ana", "LASTNAME": "Silva"}})).await;
    let body = json!({"mergeOption": "overwriteIfEmpty", "contacts": [
        contact_item("ana@example.com", json!({"FIRSTNAME": "Other", "GENDER": "f"})),
        contact_item("bad@@example", json!({})),
    ]});
    let id = accepted(&put_contacts(&sim, body).await);
    let report = finished(&sim, "/contacts/v3/import", &id).await;
    assert_eq!(codes_for(&report, &json!({"email": "bad@@example"})), ["InvalidEmail"]);
    let ana = sim.contact(ACME, "ana@example.com").unwrap();
    assert_eq!(ana["dataFields"]["FIRSTNAME"], "Ana", "overwriteIfEmpty keeps a filled field");
    assert_eq!(ana["dataFields"]["GENDER"], "f", "and fills an empty one");

    let body = json!({"mergeOption": "OVERWRITEIFNOTEMPTY", "contacts": [
        contact_item("ana@example.com", json!({"FIRSTNAME": null, "LASTNAME": "Souza"})),
    ]});
    let id = accepted(&put_contacts(&sim, body).await);
    finished(&sim, "/contacts/v3/import", &id).await;
    let ana = sim.contact(ACME, "ana@example.com").unwrap();
    assert_eq!((&ana["dataFields"]["FIRSTNAME"], &ana["dataFields"]["LASTNAME"]), (&json!("Ana"), &json!("Souza")));
}

#[tokio::test]
async fn malformed_contact_import_bodies_get_400_bad_json() {
    let sim = sim().await;
    let item = contact_item("a@example.com", json!({}));
    for body in [
        json!([item]),
        json!({}),
        json!({"contacts": []}),
        json!({"contacts": item}),
        json!({"contacts": [item, 5]}),
        json!({"contacts": [item], "mergeOption": "replace"}),
        json!({"contacts": [item], "extra": true}),
    ] {
        let reply = put_contacts(&sim, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["errorCode"], "contacts:badJson", "{body}");
    }
    let not_json = send(&sim, call("PUT", "/contacts/v3/import").raw_body(b"{\"contacts\": [")).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["errorCode"], "contacts:badJson");
    assert!(sim.imports(ACME).is_empty(), "nothing was accepted");
}

#[tokio::test]
async fn import_status_ids_are_checked_and_owned_by_their_account() {
    let sim = sim().await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);

    let malformed = send(&sim, call("GET", "/contacts/v3/import/not-a-guid")).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["errorCode"], "contacts:invalidId");
    let malformed = send(&sim, call("GET", "/insightData/v3/import/123")).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["errorCode"], "insightData:invalidId");

    let unknown = send(&sim, call("GET", "/contacts/v3/import/d7de900d-d337-43f6-b1e1-c8ec73e1a434")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["errorCode"], "contacts:importNotFound");
    let other_kind = send(&sim, call("GET", &format!("/insightData/v3/import/{id}"))).await;
    assert_eq!(other_kind.status, 404);
    assert_eq!(other_kind.json()["errorCode"], "insightData:importNotFound");
    let other_account = send(&sim, call("GET", &format!("/contacts/v3/import/{id}")).host(R2).auth(DEMO_R2)).await;
    assert_eq!(other_account.status, 404, "another account's import");

    // Any casing, braces allowed; it still counts as a poll of the same import.
    let upper = contact_status(&sim, &format!("{{{}}}", id.to_uppercase())).await;
    assert_eq!(upper, json!({"importId": id, "status": "NotFinished"}));
    assert_eq!(contact_status(&sim, &id).await["status"], "Finished");
}

#[tokio::test]
async fn the_26th_active_contact_import_gets_429_until_one_finishes() {
    let sim = sim().await;
    let body = json!({"contacts": [contact_item("a@example.com", json!({}))]});
    let mut ids = Vec::new();
    for _ in 0..25 {
        ids.push(accepted(&put_contacts(&sim, body.clone()).await));
    }
    let refused = put_contacts(&sim, body.clone()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["errorCode"], "contacts:tooManyActiveImports");
    // Insight imports have their own cap.
    upsert(&sim, "a@example.com", json!({})).await;
    accepted(&put_insight(&sim, orders_body(&[("1", "a@example.com")])).await);

    assert_eq!(finished(&sim, "/contacts/v3/import", &ids[0]).await["summary"]["newContacts"], 0);
    accepted(&put_contacts(&sim, body.clone()).await);
    assert_eq!(put_contacts(&sim, body).await.status, 429);
    let listed = sim.imports(ACME);
    assert_eq!(listed.len(), 27);
    assert_eq!(listed.iter().filter(|i| i["kind"] == "contacts").count(), 26);
    assert_eq!(listed.iter().filter(|i| i["finished"] == true).count(), 1);
}

#[tokio::test]
async fn polls_to_finish_and_time_to_finish_are_configurable() {
    let sim = start(config(|c| c.contact_polls_to_finish = 3)).await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);
    for _ in 0..3 {
        assert_eq!(contact_status(&sim, &id).await["status"], "NotFinished");
    }
    assert_eq!(contact_status(&sim, &id).await["status"], "Finished");

    let sim = start(config(|c| c.contact_polls_to_finish = 0)).await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);
    assert_eq!(contact_status(&sim, &id).await["status"], "Finished");

    // An import nobody polls finishes after finish_after_ms.
    let sim = start(config(|c| c.finish_after_ms = Some(50))).await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);
    assert!(sim.contact(ACME, "a@example.com").is_none());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(sim.contact(ACME, "a@example.com").is_some(), "applied without a poll");
    let listed = sim.imports(ACME);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["polls"], 0);
    assert_eq!(listed[0]["status"], "Finished");
    assert_eq!(contact_status(&sim, &id).await["summary"]["newContacts"], 1);
}

fn order(key: &str, total: f64) -> Value {
    json!({"id": key, "orderTotal": total, "currency": "EUR", "products": [{"sku": "A1", "qty": 1, "price": total}]})
}

/// A contact-scoped `Orders` import of `(key, email)` pairs.
fn orders_body(records: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(key, email)| {
            json!({"key": key, "contactIdentity": {"identifier": "email", "value": email}, "json": order(key, 10.0)})
        })
        .collect();
    json!({"collectionName": "Orders", "collectionScope": "contact", "collectionType": "orders", "records": records})
}

#[tokio::test]
async fn an_insight_import_creates_the_collection_and_upserts_records_of_known_contacts_only() {
    let sim = sim().await;
    upsert(&sim, "ana@example.com", json!({})).await;
    upsert(&sim, "bob@example.com", json!({})).await;
    // Bob already owns order 7.
    let id = accepted(&put_insight(&sim, orders_body(&[("7", "bob@example.com")])).await);
    finished(&sim, "/insightData/v3/import", &id).await;

    let body = json!({"collectionName": "Orders", "collectionScope": "contact", "collectionType": "orders", "records": [
        {"key": "1", "contactIdentity": {"identifier": "email", "value": "ANA@example.com"}, "json": order("1", 54.9)},
        {"key": "2", "contactIdentity": {"identifier": "email", "value": "ghost@example.com"}, "json": order("2", 1.0)},
        {"key": "3", "contactIdentity": {"identifier": "contactId", "value": "99"}, "json": order("3", 1.0)},
        {"key": "4", "json": order("4", 1.0)},
        {"key": "1", "contactIdentity": {"identifier": "email", "value": "ana@example.com"}, "json": order("1", 2.0)},
        {"key": "5", "contactIdentity": {"identifier": "email", "value": "ana@example.com"}, "json": {"a": [[1]]}},
        {"key": "6", "contactIdentity": {"identifier": "email", "value": "ana@example.com"}, "json": {"orderTotal": "x"}},
        {"key": "7", "contactIdentity": {"identifier": "email", "value": "ana@example.com"}, "json": order("7", 1.0)},
        {"key": 8, "contactIdentity": {"identifier": "email", "value": "ana@example.com"}, "json": order("8", 1.0)},
        {"key": "9", "contactIdentity": {"identifier": "contactId", "value": 40_000_002}, "json": order("9", 3.0)},
    ]});
    let id = accepted(&put_insight(&sim, body).await);
    let first = insight_status(&sim, &id).await;
    assert_eq!(first, json!({"importId": id, "status": "NotStarted"}));
    let report = insight_status(&sim, &id).await;
    assert_eq!(report["status"], "Finished");
    assert_eq!(report["collectionName"], "Orders");
    assert_eq!(report["summary"], json!({"totalRecords": 10, "totalImported": 2, "totalRejected": 8}));
    let reasons: Vec<(String, String)> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].to_string(), f["failureReason"].as_str().unwrap().to_string()))
        .collect();
    let expected = [
        ("\"2\"", "ContactEmailDoesNotExist"),
        ("\"3\"", "ContactIdDoesNotExist"),
        ("\"4\"", "InvalidContactIdentifier"),
        ("\"1\"", "DuplicateKey"),
        ("\"5\"", "JsonContainsNestedArray"),
        ("\"6\"", "JsonValueIncompatibleWithSchema"),
        ("\"7\"", "DuplicateKey"),
        ("8", "InvalidClientKey"),
    ];
    assert_eq!(reasons, expected.map(|(k, r)| (k.to_string(), r.to_string())));
    let ghost = &report["failures"][0];
    assert_eq!(
        ghost["collectionOwner"],
        json!({"ownerType": "contact", "contactIdentity": {"identifier": "email", "value": "ghost@example.com"}})
    );
    assert_eq!(ghost["json"], order("2", 1.0));
    assert!(ghost["details"][0].is_string());

    assert!(sim.contact(ACME, "ghost@example.com").is_none(), "contacts are never created");
    let read = send(&sim, call("GET", "/insightData/v3/contacts/email/ana@example.com/Orders/1")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["json"], order("1", 54.9), "the first of a repeated key is imported");
    assert_eq!(read.json()["ownerContactId"], 40_000_001);
    let bob_order = send(&sim, call("GET", "/insightData/v3/contacts/email/bob@example.com/Orders/9")).await;
    assert_eq!(bob_order.status, 200, "by contactId");
    assert_eq!(sim.insight_record(ACME, "Orders", "7").unwrap()["ownerContactId"], 40_000_002, "bob keeps his key");
    assert_eq!(sim.collections(ACME)[0]["recordCount"], 3);
    assert_eq!(sim.schema_conflicts(ACME).len(), 1);

    // A re-import replaces the record.
    let id = accepted(&put_insight(&sim, orders_body(&[("1", "ana@example.com")])).await);
    let report = finished(&sim, "/insightData/v3/import", &id).await;
    assert_eq!(report["summary"]["totalImported"], 1);
    assert!(report.get("failures").is_none(), "failures is left out when empty: {report}");
    assert_eq!(sim.insight_record(ACME, "Orders", "1").unwrap()["json"]["orderTotal"], 10.0);
}

#[tokio::test]
async fn insight_import_status_words_and_key_owner_reason_are_configurable() {
    let sim = start(config(|c| {
        c.insight_polls_to_finish = 2;
        c.insight_finished_status = InsightFinishedStatus::Complete;
        c.key_owned_by_other_contact = "Unknown".into();
    }))
    .await;
    upsert(&sim, "ana@example.com", json!({})).await;
    upsert(&sim, "bob@example.com", json!({})).await;
    let id = accepted(&put_insight(&sim, orders_body(&[("1", "ana@example.com")])).await);
    assert_eq!(insight_status(&sim, &id).await["status"], "NotStarted");
    assert_eq!(insight_status(&sim, &id).await["status"], "Processing");
    assert_eq!(insight_status(&sim, &id).await["status"], "Complete");

    let id = accepted(&put_insight(&sim, orders_body(&[("1", "bob@example.com")])).await);
    let report = finished(&sim, "/insightData/v3/import", &id).await;
    assert_eq!(report["failures"][0]["failureReason"], "Unknown");
}

#[tokio::test]
async fn account_scoped_insight_imports_take_no_contact_identity() {
    let sim = sim().await;
    let body = json!({"collectionName": "catalog_myStore", "collectionScope": "Account", "collectionType": "catalog",
    "records": [
        {"key": "24938", "json": {"name": "Beanie", "price": 56}},
        {"key": "24939", "contactIdentity": {"identifier": "email", "value": "a@example.com"}, "json": {"name": "Hat"}},
    ]});
    let id = accepted(&put_insight(&sim, body).await);
    let report = finished(&sim, "/insightData/v3/import", &id).await;
    assert_eq!(report["summary"], json!({"totalRecords": 2, "totalImported": 1, "totalRejected": 1}));
    assert_eq!(report["failures"][0]["failureReason"], "InvalidContactIdentifier");
    assert_eq!(report["failures"][0]["collectionOwner"]["ownerType"], "account");
    assert_eq!(sim.insight_record(ACME, "catalog_myStore", "24938").unwrap()["json"]["price"], 56);
    assert_eq!(sim.collections(ACME)[0]["collectionScope"], "account");

    // The collection now exists account-scoped: a contact-scoped import of it is refused.
    let mismatch = json!({"collectionName": "catalog_myStore", "collectionScope": "contact", "collectionType": "catalog",
        "records": [{"key": "1", "json": {}}]});
    let reply = put_insight(&sim, mismatch).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["errorCode"], "insightData:collectionScopeMismatch");
}

#[tokio::test]
async fn malformed_insight_import_bodies_get_400_bad_json() {
    let sim = sim().await;
    let good = orders_body(&[("1", "a@example.com")]);
    let mut bodies = vec![json!([]), json!({"records": []})];
    for key in ["collectionName", "collectionScope", "collectionType", "records"] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        bodies.push(body);
    }
    for (key, value) in [
        ("collectionName", json!("A")),
        ("collectionName", json!("My Orders")),
        ("collectionScope", json!("global")),
        ("collectionType", json!("invoices")),
        ("records", json!([])),
        ("records", json!([1])),
        ("extra", json!(1)),
    ] {
        let mut body = good.clone();
        body[key] = value;
        bodies.push(body);
    }
    for body in bodies {
        let reply = put_insight(&sim, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["errorCode"], "insightData:badJson", "{body}");
    }
    assert!(sim.imports(ACME).is_empty());
}

#[tokio::test]
async fn the_6th_active_insight_import_gets_429() {
    let sim = sim().await;
    let body = orders_body(&[("1", "a@example.com")]);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(accepted(&put_insight(&sim, body.clone()).await));
    }
    let refused = put_insight(&sim, body.clone()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["errorCode"], "insightData:tooManyActiveImports");
    // The r2 account has its own allowance.
    let r2 = send(&sim, call("PUT", "/insightData/v3/import").host(R2).auth(DEMO_R2).json(body.clone())).await;
    assert_eq!(r2.status, 202);
    finished(&sim, "/insightData/v3/import", &ids[2]).await;
    accepted(&put_insight(&sim, body).await);
}

#[tokio::test]
async fn the_control_api_lists_imports_and_sets_the_knobs() {
    let sim = sim().await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);
    let listed = control(&sim, call("GET", "/_sim/imports?account=4711")).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json(),
        json!([{"id": id, "account": 4711, "kind": "contacts", "status": "NotFinished", "finished": false, "polls": 0,
                "submitted": 1, "collectionName": null, "summary": null}])
    );
    assert_eq!(control(&sim, call("GET", "/_sim/imports?account=4712")).await.json(), json!([]));
    assert_eq!(control(&sim, call("GET", "/_sim/imports")).await.json().as_array().unwrap().len(), 1);

    let config = control(&sim, call("GET", "/_sim/import-config")).await.json();
    assert_eq!(config["contact_polls_to_finish"], 1);
    assert_eq!(config["failure_code_casing"], "camel");
    let changed = control(&sim, call("PATCH", "/_sim/import-config").json(json!({"contact_polls_to_finish": 0}))).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["contact_polls_to_finish"], 0);
    assert_eq!(changed.json()["max_active_contact_imports"], 25, "other fields are kept");
    assert_eq!(sim.import_config().contact_polls_to_finish, 0);
    assert_eq!(contact_status(&sim, &id).await["status"], "Finished");
    let listed = control(&sim, call("GET", "/_sim/imports?account=4711")).await.json();
    assert_eq!(listed[0]["summary"]["newContacts"], 1);
    assert_eq!(listed[0]["polls"], 1);

    for bad in [json!({"no_such_knob": 1}), json!({"failure_code_casing": "snake"}), json!([1])] {
        let reply = control(&sim, call("PATCH", "/_sim/import-config").json(bad.clone())).await;
        assert_eq!(reply.status, 400, "{bad}");
    }
    assert_eq!(control(&sim, call("POST", "/_sim/reset")).await.status, 204);
    assert!(sim.imports(ACME).is_empty());
    assert_eq!(sim.import_config().contact_polls_to_finish, 0, "a reset keeps the knobs");
}

#[tokio::test]
async fn the_body_cap_and_its_status_are_configurable() {
    let sim = start(config(|c| {
        c.max_body_bytes = 1000;
        c.oversize_body_status = 413;
    }))
    .await;
    let items: Vec<Value> = (0..40).map(|i| contact_item(&format!("c{i}@example.com"), json!({}))).collect();
    let reply = put_contacts(&sim, json!({ "contacts": items })).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["errorCode"], "contacts:badJson");
    let small = put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await;
    assert_eq!(small.status, 202);
}

/// 100,000 contacts in two imports of 50,000 (about 9 MB each), then 20,000 orders, each
/// applied in time linear in its size.
#[tokio::test]
async fn large_imports_apply_quickly() {
    let sim = sim().await;
    let started = Instant::now();
    for batch in 0..2 {
        let contacts: Vec<Value> = (0..50_000)
            .map(|i| {
                contact_item(
                    &format!("customer{}@example.com", batch * 50_000 + i),
                    json!({"FIRSTNAME": "Customer", "LASTNAME": format!("No {i}"), "POINTS": i, "VIP": i % 2 == 0}),
                )
            })
            .collect();
        let body = json!({"mergeOption": "overwrite", "contacts": contacts}).to_string();
        assert!(body.len() > 5_000_000, "{}", body.len());
        let reply = send(&sim, call("PUT", "/contacts/v3/import").raw_body(body.as_bytes())).await;
        let id = accepted(&reply);
        let report = finished(&sim, "/contacts/v3/import", &id).await;
        assert_eq!(report["summary"]["newContacts"], 50_000);
    }
    let records: Vec<Value> = (0..20_000)
        .map(|i| {
            json!({"key": format!("{i}"), "contactIdentity": {"identifier": "email", "value": format!("customer{}@example.com", i * 5)},
                   "json": order(&i.to_string(), 12.5)})
        })
        .collect();
    let body = json!({"collectionName": "Orders", "collectionScope": "contact", "collectionType": "orders", "records": records});
    let id = accepted(&put_insight(&sim, body).await);
    let report = finished(&sim, "/insightData/v3/import", &id).await;
    assert_eq!(report["summary"], json!({"totalRecords": 20_000, "totalImported": 20_000, "totalRejected": 0}));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    eprintln!("100,000 contacts and 20,000 orders imported in {elapsed:?}");
    let last = send(&sim, call("GET", "/contacts/v3/email/customer99999@example.com")).await;
    assert_eq!(last.json()["contactId"], 40_000_001 + 99_999);
    let order = send(&sim, call("GET", "/insightData/v3/contacts/email/customer99995@example.com/Orders/19999")).await;
    assert_eq!(order.status, 200);
}

#[tokio::test]
async fn contact_import_running_and_end_words_are_knobs() {
    // Default: the spec's only running word, then `Finished`.
    let sim = start(config(|c| c.contact_running_status = "NotStarted".into())).await;
    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("a@example.com", json!({}))]})).await);
    assert_eq!(contact_status(&sim, &id).await, json!({"importId": id, "status": "NotStarted"}));
    assert_eq!(contact_status(&sim, &id).await["status"], "Finished");

    for word in ["RejectedByWatchdog", "Failed", "ExceedsAllowedContactLimit", "InvalidFileFormat"] {
        let sim = start(config(|c| c.contact_end_status = Some(word.into()))).await;
        let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("b@example.com", json!({}))]})).await);
        assert_eq!(contact_status(&sim, &id).await["status"], "NotFinished");
        assert_eq!(contact_status(&sim, &id).await, json!({"importId": id, "status": word}), "no report with {word}");
        assert_eq!(contact_status(&sim, &id).await["status"], word, "the word stays");
        assert!(sim.contact(ACME, "b@example.com").is_none(), "{word}: nothing was imported");
        // An ended import no longer counts as active.
        assert_eq!(control(&sim, call("GET", "/_sim/imports?account=4711")).await.json()[0]["finished"], true);
    }
}

#[tokio::test]
async fn insight_import_end_word_is_a_knob_and_the_control_api_sets_the_words() {
    let sim = sim().await;
    upsert(&sim, "ana@example.com", json!({})).await;
    let set = json!({"insight_end_status": "NotAvailableInThisVersion", "contact_running_status": "Queued"});
    let changed = control(&sim, call("PATCH", "/_sim/import-config").json(set)).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["contact_end_status"], Value::Null);

    let id = accepted(&put_insight(&sim, orders_body(&[("1", "ana@example.com")])).await);
    assert_eq!(insight_status(&sim, &id).await["status"], "NotStarted");
    assert_eq!(insight_status(&sim, &id).await["status"], "NotAvailableInThisVersion");
    assert!(sim.insight_record(ACME, "Orders", "1").is_none(), "nothing was imported");

    let id = accepted(&put_contacts(&sim, json!({"contacts": [contact_item("c@example.com", json!({}))]})).await);
    assert_eq!(contact_status(&sim, &id).await["status"], "Queued", "any running word may be set");
    let unset = json!({"insight_end_status": null, "contact_running_status": "NotFinished"});
    assert_eq!(control(&sim, call("PATCH", "/_sim/import-config").json(unset)).await.status, 200);
    assert_eq!(sim.import_config(), config(|_| {}).imports);
}
