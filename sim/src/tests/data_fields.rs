//! Typed contact data fields: `GET /v2/data-fields` and the values a contact PATCH may give each type.

use serde_json::{json, Value};

use super::client::{call, demo, send, start, upsert, ACME};
use crate::{DataField, DataFieldType, SimConfig, UnknownDataField};

#[tokio::test]
async fn data_fields_are_listed_with_type_visibility_and_default() {
    let sim = demo().await;
    let reply = send(&sim, call("GET", "/v2/data-fields")).await;
    assert_eq!(reply.status, 200);
    let fields = reply.json();
    let field = |name: &str| fields.as_array().and_then(|all| all.iter().find(|f| f["name"] == name)).cloned();
    assert_eq!(
        field("FIRSTNAME"),
        Some(json!({"name": "FIRSTNAME", "type": "String", "visibility": "Private", "defaultValue": null}))
    );
    assert_eq!(field("POINTS").map(|f| f["type"].clone()), Some(json!("Numeric")));
    assert_eq!(field("BIRTHDAY").map(|f| f["type"].clone()), Some(json!("Date")));
    assert_eq!(
        field("VIP"),
        Some(json!({"name": "VIP", "type": "Boolean", "visibility": "Private", "defaultValue": false}))
    );
    // v2.json `ApiDataField` has exactly these properties (additionalProperties: false).
    for entry in fields.as_array().expect("an array") {
        let mut keys: Vec<&str> = entry.as_object().expect("objects").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["defaultValue", "name", "type", "visibility"]);
    }
}

#[tokio::test]
async fn values_must_fit_their_field_type() {
    let sim = demo().await;
    let refused: Vec<(&str, Value)> = vec![
        ("POINTS", json!("12")),
        ("POINTS", json!(true)),
        ("VIP", json!("true")),
        ("VIP", json!(1)),
        ("BIRTHDAY", json!(19900517)),
        ("BIRTHDAY", json!("17/05/1990")),
        ("BIRTHDAY", json!("1990-05-17 10:00:00")),
        ("BIRTHDAY", json!("1990-02-30")),
        ("FIRSTNAME", json!(7)),
        ("FIRSTNAME", json!(false)),
        ("FIRSTNAME", json!("x".repeat(256))),
        ("LASTNAME", json!(["a"])),
    ];
    for (name, value) in refused {
        let reply = upsert(&sim, "typed@example.com", json!({"dataFields": {name: value}})).await;
        assert_eq!(reply.status, 400, "{name}: {value}");
        let error = reply.json();
        assert_eq!(error["errorCode"], "contacts:badJson", "{name}: {value}");
        assert_eq!(error["details"][0]["item"], format!("dataFields.{name}"), "{name}: {value}");
    }
    assert!(sim.contacts(ACME).is_empty(), "nothing refused was stored");

    let accepted = upsert(
        &sim,
        "typed@example.com",
        json!({"dataFields": {"points": 12.5, "VIP": true, "BIRTHDAY": "1990-05-17", "FIRSTNAME": "x".repeat(255)}}),
    )
    .await;
    assert_eq!(accepted.status, 201, "{}", accepted.text());
    let fields = accepted.json()["dataFields"].clone();
    assert_eq!(fields["POINTS"], 12.5);
    assert_eq!(fields["VIP"], true);
    assert_eq!(fields["BIRTHDAY"], "1990-05-17T00:00:00Z", "dates read back as ISO-8601 UTC");

    let offset =
        upsert(&sim, "typed@example.com", json!({"dataFields": {"BIRTHDAY": "1990-05-17T01:30:00+02:00"}})).await;
    assert_eq!(offset.json()["dataFields"]["BIRTHDAY"], "1990-05-16T23:30:00Z");
    let cleared =
        upsert(&sim, "typed@example.com", json!({"dataFields": {"BIRTHDAY": null, "POINTS": null, "VIP": null}})).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.json()["dataFields"]["POINTS"], Value::Null, "null clears every type");
}

#[tokio::test]
async fn the_string_limit_and_auto_created_types_are_configurable() {
    let mut config = SimConfig::demo();
    config.max_string_length = 3;
    config.unknown_data_field = UnknownDataField::AutoCreate;
    config.accounts[0].data_fields = vec![DataField::new("CODE", DataFieldType::String)];
    let sim = start(config).await;
    assert_eq!(upsert(&sim, "a@example.com", json!({"dataFields": {"CODE": "abcd"}})).await.status, 400);
    let created =
        upsert(&sim, "a@example.com", json!({"dataFields": {"CODE": "abc", "score": 3, "opted": false}})).await;
    assert_eq!(created.status, 201, "{}", created.text());

    let fields = send(&sim, call("GET", "/v2/data-fields")).await.json();
    let types: Vec<(String, String)> = fields
        .as_array()
        .expect("an array")
        .iter()
        .map(|f| {
            (f["name"].as_str().unwrap_or_default().to_string(), f["type"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert!(types.contains(&("SCORE".into(), "Numeric".into())), "{types:?}");
    assert!(types.contains(&("OPTED".into(), "Boolean".into())), "{types:?}");
    let wrong = upsert(&sim, "a@example.com", json!({"dataFields": {"SCORE": "four"}})).await;
    assert_eq!(wrong.status, 400, "an auto-created field keeps its type");
}
