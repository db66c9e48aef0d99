//! Insight data v3: collections, single-record PUT/GET/DELETE, schema inference.

use serde_json::json;

use super::client::{call, create_collection, demo, put_record, send, start, upsert, Connection, ACME};
use crate::SimConfig;

const ANA: &str = "ana@example.com";

fn order(price: serde_json::Value) -> serde_json::Value {
    json!({
        "id": "100045", "orderTotal": 54.9, "currency": "EUR",
        "billingAddress": {"billing_city": "Porto"},
        "products": [{"sku": "A1", "qty": 1, "price": price}]
    })
}

#[tokio::test]
async fn record_put_needs_the_contact_then_the_collection() {
    let sim = demo().await;

    let no_contact = put_record(&sim, ANA, "Orders", "100045", order(json!(54.9))).await;
    assert_eq!(no_contact.status, 404);
    let error = no_contact.json();
    assert_eq!(error["errorCode"], "insightData:contactNotFound");
    assert_eq!(error["details"][0]["item"], ANA);

    upsert(&sim, ANA, json!({})).await;
    let no_collection = put_record(&sim, ANA, "Orders", "100045", order(json!(54.9))).await;
    assert_eq!(no_collection.status, 404);
    assert_eq!(no_collection.json()["errorCode"], "insightData:collectionNotFound");

    assert_eq!(create_collection(&sim, "Orders").await.status, 201);
    let created = put_record(&sim, ANA, "Orders", "100045", order(json!(54.9))).await;
    assert_eq!(created.status, 201);
    assert!(created.body.is_empty());

    // A PUT replaces the whole record.
    let replaced = put_record(&sim, ANA, "Orders", "100045", json!({"id": "100045", "orderTotal": 60})).await;
    assert_eq!(replaced.status, 204);
    assert!(replaced.body.is_empty());

    let read = send(&sim, call("GET", "/insightData/v3/contacts/email/ANA%40example.com/Orders/100045")).await;
    assert_eq!(read.status, 200);
    let record = read.json();
    assert_eq!(record["key"], "100045");
    assert_eq!(record["json"], json!({"id": "100045", "orderTotal": 60}));
    assert_eq!(record["ownerContactId"], 40_000_001);
    assert!(record["created"].is_string() && record["updated"].is_string());
    assert_eq!(sim.insight_record(ACME, "Orders", "100045"), Some(record));
    assert_eq!(sim.insight_records(ACME, "Orders").len(), 1);

    let deleted = send(&sim, call("DELETE", "/insightData/v3/contacts/email/ana@example.com/Orders/100045")).await;
    assert_eq!(deleted.status, 204);
    let gone = send(&sim, call("GET", "/insightData/v3/contacts/email/ana@example.com/Orders/100045")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["errorCode"], "insightData:recordNotFound");
    let delete_again = send(&sim, call("DELETE", "/insightData/v3/contacts/email/ana@example.com/Orders/100045")).await;
    assert_eq!(delete_again.status, 404);
}

#[tokio::test]
async fn record_bodies_and_names_are_checked() {
    let sim = demo().await;
    upsert(&sim, ANA, json!({})).await;
    create_collection(&sim, "Orders").await;

    let bad_name = put_record(&sim, ANA, "My%20Orders", "1", json!({})).await;
    assert_eq!(bad_name.status, 400);
    assert_eq!(bad_name.json()["errorCode"], "insightData:invalidId");

    let bad_email = put_record(&sim, "123646", "Orders", "1", json!({})).await;
    assert_eq!(bad_email.status, 400);
    assert_eq!(bad_email.json()["errorCode"], "insightData:invalidId");

    for body in [json!([1]), json!("text"), json!(5)] {
        let reply = put_record(&sim, ANA, "Orders", "1", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["errorCode"], "insightData:badJson");
    }
    let not_json =
        send(&sim, call("PUT", "/insightData/v3/contacts/email/ana@example.com/Orders/1").raw_body(b"{oops")).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["errorCode"], "insightData:badJson");

    let nested = put_record(&sim, ANA, "Orders", "1", json!({"matrix": [[1, 2], [3]]})).await;
    assert_eq!(nested.status, 400);
    assert!(nested.json()["description"].as_str().is_some_and(|d| d.contains("matrix[]")));
    assert!(sim.insight_records(ACME, "Orders").is_empty());
}

#[tokio::test]
async fn types_must_match_the_schema_inferred_from_earlier_records() {
    let sim = demo().await;
    upsert(&sim, ANA, json!({})).await;
    create_collection(&sim, "Orders").await;

    assert_eq!(put_record(&sim, ANA, "Orders", "1", order(json!(10))).await.status, 201);
    // Integers and floats are both numbers; null fits anything.
    assert_eq!(put_record(&sim, ANA, "Orders", "2", order(json!(12.5))).await.status, 201);
    assert_eq!(put_record(&sim, ANA, "Orders", "3", order(json!(null))).await.status, 201);
    assert!(sim.schema_conflicts(ACME).is_empty());

    let clash = put_record(&sim, ANA, "Orders", "4", order(json!("12.50"))).await;
    assert_eq!(clash.status, 400);
    let error = clash.json();
    assert_eq!(error["errorCode"], "insightData:badJson");
    let description = error["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("products[].price") && description.contains("string") && description.contains("number"),
        "{description}"
    );
    let conflicts = sim.schema_conflicts(ACME);
    assert_eq!(conflicts.len(), 1);
    assert!(conflicts[0].contains("products[].price"), "{conflicts:?}");

    let object_for_string = put_record(&sim, ANA, "Orders", "5", json!({"currency": {"code": "EUR"}})).await;
    assert_eq!(object_for_string.status, 400);
    let mixed_array = put_record(&sim, ANA, "Orders", "6", json!({"tags": [1, "a"]})).await;
    assert_eq!(mixed_array.status, 400, "elements of one array share a type");
    assert_eq!(sim.schema_conflicts(ACME).len(), 3);

    let schema = sim.collection_schema(ACME, "Orders").expect("schema");
    assert_eq!(schema["products[].price"], "number");
    assert_eq!(schema["products[]"], "object");
    assert_eq!(schema["billingAddress.billing_city"], "string");
    assert_eq!(schema["orderTotal"], "number");
    let over_http = send(&sim, call("GET", "/insightData/v3/collections/Orders/schema")).await;
    assert_eq!(over_http.status, 200);
    assert_eq!(over_http.json()["schema"], schema);
    assert_eq!(over_http.json()["collectionType"], "orders");
    assert_eq!(send(&sim, call("GET", "/insightData/v3/collections/Nope/schema")).await.status, 404);
}

#[tokio::test]
async fn a_key_owned_by_another_contact_is_rejected() {
    let sim = demo().await;
    upsert(&sim, ANA, json!({})).await;
    upsert(&sim, "bo@example.com", json!({})).await;
    create_collection(&sim, "Orders").await;
    put_record(&sim, ANA, "Orders", "100045", order(json!(1))).await;

    let stolen = put_record(&sim, "bo@example.com", "Orders", "100045", order(json!(1))).await;
    assert_eq!(stolen.status, 400);
    assert_eq!(stolen.json()["errorCode"], "insightData:keyExistsForDifferentContact");
    let read = send(&sim, call("GET", "/insightData/v3/contacts/email/bo@example.com/Orders/100045")).await;
    assert_eq!(read.status, 404, "another contact's record is not visible");
    assert_eq!(sim.insight_record(ACME, "Orders", "100045").expect("kept")["ownerContactId"], 40_000_001);
}

#[tokio::test]
async fn collections_are_created_once_with_valid_names_and_query() {
    let sim = demo().await;
    for (name, status) in [("A", 400), ("1abc", 400), ("has%20space", 400), ("Ab", 201), ("_x", 201), ("-y", 201)] {
        assert_eq!(create_collection(&sim, name).await.status, status, "{name}");
    }
    let again = create_collection(&sim, "Ab").await;
    assert_eq!(again.status, 200);
    assert!(again.body.is_empty());

    for query in [
        "",
        "?collectionScope=contact",
        "?collectionType=orders",
        "?collectionScope=world&collectionType=orders",
        "?collectionScope=contact&collectionType=stuff",
    ] {
        let reply = send(&sim, call("POST", &format!("/insightData/v3/collections/Purchases{query}"))).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["errorCode"], "insightData:invalidId");
    }
    let any_case =
        send(&sim, call("POST", "/insightData/v3/collections/Purchases?collectionScope=CONTACT&collectionType=Custom"))
            .await;
    assert_eq!(any_case.status, 201);

    let list = send(&sim, call("GET", "/insightData/v3/collections")).await.json();
    let purchases = list.as_array().and_then(|l| l.iter().find(|c| c["collectionName"] == "Purchases")).cloned();
    assert_eq!(
        purchases,
        Some(
            json!({"collectionName": "Purchases", "collectionType": "custom", "collectionScope": "contact", "recordCount": 0})
        )
    );
    assert_eq!(sim.collections(ACME).len(), 4);
}

#[tokio::test]
async fn account_scoped_collections_refuse_contact_records() {
    let sim = demo().await;
    upsert(&sim, ANA, json!({})).await;
    send(&sim, call("POST", "/insightData/v3/collections/Catalog?collectionScope=account&collectionType=catalog"))
        .await;
    let reply = put_record(&sim, ANA, "Catalog", "1", json!({"a": 1})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["errorCode"], "insightData:collectionScopeMismatch");
}

#[tokio::test]
async fn the_1001st_collection_gets_412() {
    let mut config = SimConfig::demo();
    config.rate_limit.default_limit = 10_000;
    let sim = start(config).await;
    let mut connection = Connection::open(&sim).await;
    for n in 0..1000 {
        let create =
            call("POST", &format!("/insightData/v3/collections/C{n}?collectionScope=contact&collectionType=custom"));
        let reply = connection.send(&create, true).await.expect("answer");
        assert_eq!(reply.status, 201, "collection {n}");
    }
    assert_eq!(create_collection(&sim, "OneTooMany").await.status, 412);
    assert_eq!(create_collection(&sim, "C7").await.status, 200, "existing ones still answer 200");
}
