//! API calls per record, counted where it matters: in the simulator's request log (what
//! Dotdigital received), for each flow's first record of a subscription, its next new record
//! and a re-sync, and compared with the `api_calls` the outcome reports.

use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::{json, Value};

/// Syncs `record` and returns the outcome's action, after checking that the outcome's
/// `api_calls` is what the simulator received and that it is `expected`. `what` names the
/// sync in failure messages, with the requests that were received.
async fn calls(world: &World, flow: Flow, record: &Value, expected: usize, what: &str) -> String {
    let before = world.sim.requests().len();
    let line = world.sync(flow, record).await;
    let received: Vec<String> =
        world.sim.requests()[before..].iter().map(|r| format!("{} {} → {}", r.method, r.path, r.status)).collect();
    let outcome = ok(&line);
    assert_eq!(outcome["api_calls"], json!(received.len()), "{what}: the outcome's api_calls: {received:#?}");
    assert_eq!(received.len(), expected, "{what}: {received:#?}");
    outcome["action"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_contact_costs_one_call_once_region_and_fields_are_known() {
    let world = World::new(demo_settings()).await;
    let jane = customer("150437", "jane.doe@example.com");
    // account-info, data-fields, PATCH.
    assert_eq!(calls(&world, Flow::Contact, &jane, 3, "first contact").await, "created");
    assert_eq!(calls(&world, Flow::Contact, &jane, 1, "the same contact again").await, "updated");
    let mut sam = customer("150438", "sam.gift@example.com");
    // A phone of her own: a shared one costs a second PATCH (409, then without the number).
    sam["addresses"][0]["phone_number"] = json!("+44 7700 900456");
    assert_eq!(calls(&world, Flow::Contact, &sam, 1, "another contact").await, "created");
}

#[tokio::test]
async fn an_order_costs_one_call_once_its_contact_and_collection_exist() {
    let world = World::new(demo_settings()).await;
    let order = demo_order("SO-1", "jane.doe@example.com");
    // account-info, PUT (no contact), data-fields, PATCH, PUT (no collection), POST collection, PUT.
    assert_eq!(calls(&world, Flow::Order, &order, 7, "first order").await, "created");
    assert_eq!(calls(&world, Flow::Order, &order, 1, "the same order again").await, "updated");
    let next = demo_order("SO-2", "jane.doe@example.com");
    assert_eq!(calls(&world, Flow::Order, &next, 1, "the customer's next order").await, "created");
    // A new customer's order: PUT (no contact), PATCH, PUT; the names are cached.
    let other = demo_order("SO-3", "sam.gift@example.com");
    assert_eq!(calls(&world, Flow::Order, &other, 3, "a new customer's order").await, "created");
}

#[tokio::test]
async fn an_unchanged_certificate_costs_one_read_and_a_changed_one_two_calls() {
    let world = World::new(demo_settings()).await;
    let card = demo_certificate("10573");
    // account-info, GET record (no contact), data-fields, PATCH, send, PUT (no collection),
    // POST collection, PUT.
    assert_eq!(calls(&world, Flow::Certificate, &card, 8, "first certificate").await, "sent");
    assert_eq!(calls(&world, Flow::Certificate, &card, 1, "the same certificate again").await, "unchanged");
    let mut redeemed = card.clone();
    redeemed["status"] = json!("Redeemed");
    redeemed["balance"] = json!(0);
    assert_eq!(calls(&world, Flow::Certificate, &redeemed, 2, "the certificate redeemed").await, "updated");
    assert_eq!(calls(&world, Flow::Certificate, &redeemed, 1, "redeemed again").await, "unchanged");
    // The same recipient's next certificate: GET record, send, PUT.
    assert_eq!(calls(&world, Flow::Certificate, &demo_certificate("10574"), 3, "a next certificate").await, "sent");
    assert_eq!(world.sim.sends().len(), 2, "one email per certificate");
}

#[tokio::test]
async fn a_certificate_whose_contact_is_missing_creates_it_before_the_email() {
    let world = World::new(demo_settings()).await;
    let mut redeemed = demo_certificate("20001");
    redeemed["status"] = json!("Redeemed");
    // account-info, GET record (no contact), data-fields, PATCH, PUT (no collection), POST
    // collection, PUT: the contact is created up front, so the PUT never meets its 404.
    assert_eq!(calls(&world, Flow::Certificate, &redeemed, 7, "a redeemed certificate").await, "created");
    let requests = world.sim.requests();
    let order: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(order, ["GET", "GET", "GET", "PATCH", "PUT", "POST", "PUT"], "{requests:#?}");
    assert!(world.sim.contact(DEMO_ACCOUNT, "jane.doe@example.com").is_some());
    assert!(world.sim.sends().is_empty());
}
