//! sync-order end to end: transactions become contact-scoped insight records.

use dotdigital_harness::Flow;
use e2e_tests::demo_order as order;
use e2e_tests::*;
use serde_json::{json, Value};

async fn with_contact(world: &World, email: &str) {
    ok(&world.sync(Flow::Contact, &customer("c", email)).await);
}

#[tokio::test]
async fn created_then_updated_in_place() {
    let world = World::new(demo_settings()).await;
    with_contact(&world, "jane.doe@example.com").await;
    let first = world.sync(Flow::Order, &order("SO-1", "jane.doe@example.com")).await;
    assert_eq!(ok(&first)["external_id"], "SO-1");
    assert_eq!(ok(&first)["action"], "created", "{first}");
    let mut changed = order("SO-1", "jane.doe@example.com");
    changed["status"] = json!("Shipped");
    let second = world.sync(Flow::Order, &changed).await;
    assert_eq!(ok(&second)["action"], "updated");
    assert_eq!(ok(&second)["api_calls"], 1);
    let records = world.sim.insight_records(DEMO_ACCOUNT, "Purchases");
    assert_eq!(records.len(), 1);
    let json = &records[0]["json"];
    assert_eq!(json["orderStatus"], "Shipped");
    assert_eq!(json["orderTotal"], json!(74.55));
    assert_eq!(json["currency"], "GBP");
    assert_eq!(json["purchaseDate"], "2025-03-14T10:22:05Z");
    // The PUT went to the documented path, with the record itself as the body.
    let put = world.requests_to("PUT", "/insightData/v3/contacts/email/").pop().unwrap();
    assert_eq!(put.path, "/insightData/v3/contacts/email/jane.doe%40example.com/Purchases/SO-1");
    assert_eq!(put.content_length, Some(put.body.len() as u64));
    assert!(put.body.contains("\"orderTotal\":74.55"), "money is exact: {}", put.body);
}

#[tokio::test]
async fn an_order_for_a_new_contact_creates_the_contact_first() {
    let world = World::new(demo_settings()).await;
    let line = world.sync(Flow::Order, &order("SO-2", "new.buyer@example.com")).await;
    let outcome = ok(&line);
    assert_eq!(outcome["action"], "created");
    let contact = world.sim.contact(DEMO_ACCOUNT, "new.buyer@example.com").expect("the contact was made");
    assert_eq!(contact["dataFields"]["FIRSTNAME"], "Jane", "names come from the billing address");
    assert!(outcome["messages"].to_string().contains("contact"), "{line}");
    assert_eq!(world.sim.insight_records(DEMO_ACCOUNT, "Purchases").len(), 1);
}

#[tokio::test]
async fn a_custom_collection_is_created_when_missing() {
    let mut settings = demo_settings();
    settings["collection_name"] = json!("WebOrders_UK");
    let world = World::new(settings).await;
    with_contact(&world, "jane.doe@example.com").await;
    let line = world.sync(Flow::Order, &order("SO-3", "jane.doe@example.com")).await;
    assert_eq!(ok(&line)["action"], "created");
    let collections = world.sim.collections(DEMO_ACCOUNT);
    let made = collections.iter().find(|c| c["collectionName"] == "WebOrders_UK").expect("the collection exists");
    assert_eq!(made["collectionScope"], "contact");
    assert_eq!(world.sim.insight_records(DEMO_ACCOUNT, "WebOrders_UK").len(), 1);
}

#[tokio::test]
async fn an_invalid_collection_name_is_refused_without_a_request() {
    let mut settings = demo_settings();
    settings["collection_name"] = json!("1 Orders");
    let world = World::new(settings).await;
    let line = world.sync(Flow::Order, &order("SO-4", "jane.doe@example.com")).await;
    assert_eq!(issue_fields(failed(&line, "invalid-settings")), vec!["collection_name"]);
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn a_quote_is_skipped_without_a_request() {
    let world = World::new(demo_settings()).await;
    let mut quote = order("Q-1", "jane.doe@example.com");
    quote["type"] = json!("Quote");
    let line = world.sync(Flow::Order, &quote).await;
    assert_eq!(ok(&line)["action"], "skipped");
    assert_eq!(ok(&line)["api_calls"], 0);
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn a_missing_currency_without_a_default_is_an_invalid_record() {
    let mut settings = demo_settings();
    settings.as_object_mut().unwrap().remove("default_currency");
    let world = World::new(settings).await;
    let mut tx = order("SO-5", "jane.doe@example.com");
    tx["custom_fields"] = json!([]);
    let line = world.sync(Flow::Order, &tx).await;
    assert!(issue_fields(failed(&line, "invalid-record")).iter().any(|f| f.contains("Currency")), "{line}");
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn every_bad_field_is_named_and_nothing_sent() {
    let world = World::new(demo_settings()).await;
    let mut tx = order("", "not-an-email");
    tx["total"] = json!(12.345);
    tx["created_datetime"] = json!("yesterday");
    tx["lines"][1]["qty"] = json!(-1);
    let line = world.sync(Flow::Order, &tx).await;
    let fields = issue_fields(failed(&line, "invalid-record"));
    for expected in ["transaction_number", "email_address", "total", "created_datetime", "lines[1].qty"] {
        assert!(fields.iter().any(|f| f == expected), "{expected} missing from {fields:?}");
    }
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn three_hundred_lines() {
    let world = World::new(demo_settings()).await;
    with_contact(&world, "bulk@example.com").await;
    let mut tx = order("SO-300", "bulk@example.com");
    let lines: Vec<Value> = (0..300)
        .map(|i| json!({"sku": format!("SKU-{i}"), "description": format!("Item {i}"), "qty": 1, "unit_price": 19.99, "extended_price": 19.99}))
        .collect();
    tx["lines"] = Value::Array(lines);
    tx["subtotal"] = json!(5997.00);
    tx["total"] = json!(5997.00);
    let line = world.sync(Flow::Order, &tx).await;
    assert_eq!(ok(&line)["action"], "created", "{line}");
    let record = world.sim.insight_record(DEMO_ACCOUNT, "Purchases", "SO-300").unwrap();
    let products = record["json"]["products"].as_array().unwrap();
    assert_eq!(products.len(), 300);
    assert!(products.iter().all(|p| p["price"] == json!(19.99)));
}

#[tokio::test]
async fn varied_orders_keep_the_inferred_schema_conflict_free() {
    let world = World::new(demo_settings()).await;
    with_contact(&world, "jane.doe@example.com").await;
    let mut discounted = order("V-1", "jane.doe@example.com");
    discounted["discount_amount"] = json!(10);
    let mut no_shipping = order("V-2", "jane.doe@example.com");
    no_shipping["addresses"] = json!([no_shipping["addresses"][0].clone()]);
    no_shipping["shipping_amount"] = json!(0);
    let mut zero_tax = order("V-3", "jane.doe@example.com");
    zero_tax["tax_amount"] = json!(0);
    zero_tax["payments"] = json!([]);
    let mut refund = order("V-4", "jane.doe@example.com");
    refund["status"] = json!("Refunded");
    refund["total"] = json!(-74.55);
    refund["subtotal"] = json!(-63);
    let mut bare = order("V-5", "jane.doe@example.com");
    bare["addresses"] = json!([]);
    bare["lines"] = json!([{"sku": "GIFT", "qty": 1, "unit_price": 5}]);
    for (i, tx) in [discounted, no_shipping, zero_tax, refund, bare].iter().enumerate() {
        let line = world.sync(Flow::Order, tx).await;
        assert_eq!(ok(&line)["action"], "created", "order {i}: {line}");
    }
    assert!(world.sim.schema_conflicts(DEMO_ACCOUNT).is_empty(), "{:?}", world.sim.schema_conflicts(DEMO_ACCOUNT));
    assert_eq!(world.sim.insight_records(DEMO_ACCOUNT, "Purchases").len(), 5);
}

#[tokio::test]
async fn empty_arrays_are_left_out_so_they_never_fix_a_schema() {
    let world = World::new(demo_settings()).await;
    with_contact(&world, "jane.doe@example.com").await;
    // A line without options, then an order without lines.
    let mut plain = order("SO-7", "jane.doe@example.com");
    for line in plain["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("options");
    }
    ok(&world.sync(Flow::Order, &plain).await);
    let mut empty = order("SO-8", "jane.doe@example.com");
    empty["lines"] = json!([]);
    ok(&world.sync(Flow::Order, &empty).await);
    for put in world.requests_to("PUT", "/insightData/v3/contacts/email/") {
        assert!(!put.body.contains("[]"), "no empty array is sent: {}", put.body);
    }
    let record = world.sim.insight_record(DEMO_ACCOUNT, "Purchases", "SO-8").unwrap();
    assert!(record["json"].get("products").is_none(), "{record}");
    let record = world.sim.insight_record(DEMO_ACCOUNT, "Purchases", "SO-7").unwrap();
    assert!(record["json"]["products"][0].get("options").is_none(), "{record}");
    assert!(world.sim.schema_conflicts(DEMO_ACCOUNT).is_empty());
}

#[tokio::test]
async fn a_number_with_a_slash_is_refused_before_any_request() {
    let world = World::new(demo_settings()).await;
    let line = world.sync(Flow::Order, &order("SO/9", "jane.doe@example.com")).await;
    let error = failed(&line, "invalid-record");
    assert_eq!(issue_fields(error), vec!["transaction_number"]);
    assert!(error.to_string().contains("cannot carry"), "{line}");
    assert!(world.sim.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn with_order_contacts_require_an_unknown_buyer_is_rejected_and_no_contact_is_made() {
    let mut settings = demo_settings();
    settings["order_contacts"] = json!("require");
    let world = World::new(settings).await;
    let line = world.sync(Flow::Order, &order("SO-20", "stranger@example.com")).await;
    let error = failed(&line, "rejected");
    assert!(error["message"].as_str().unwrap().contains("sync the customer first"), "{line}");
    assert_eq!(line["attempts"], 1, "final, not retried");
    assert!(world.sim.contact(DEMO_ACCOUNT, "stranger@example.com").is_none(), "nothing was created");
    assert!(
        world.requests_to("PATCH", "/contacts/v3/").is_empty() && world.requests_to("POST", "/contacts/v3").is_empty()
    );

    // Once the customer is synced, the order goes through.
    with_contact(&world, "stranger@example.com").await;
    let line = world.sync(Flow::Order, &order("SO-20", "stranger@example.com")).await;
    assert_eq!(ok(&line)["action"], "created", "{line}");

    // `create` (the default, and spelled out) makes the contact, as before.
    let mut settings = demo_settings();
    settings["order_contacts"] = json!("create");
    let world = World::new(settings).await;
    ok(&world.sync(Flow::Order, &order("SO-21", "new.buyer@example.com")).await);
    assert!(world.sim.contact(DEMO_ACCOUNT, "new.buyer@example.com").is_some());
}
