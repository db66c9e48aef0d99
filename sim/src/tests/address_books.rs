//! Lists (address books): named lists on contacts, `GET /v2/address-books/{id}` and removing a
//! contact from a list.

use serde_json::json;

use super::client::{call, demo, send, upsert, ACME};

#[tokio::test]
async fn contacts_show_their_lists_by_id_name_and_status() {
    let sim = demo().await;
    let contact = upsert(&sim, "ana@example.com", json!({"lists": [123456, 123457]})).await.json();
    assert_eq!(
        contact["lists"],
        json!([{"id": 123456, "name": "Web shop", "status": "subscribed"}, {"id": 123457, "name": "Newsletter", "status": "subscribed"}])
    );
    let unknown = upsert(&sim, "ana@example.com", json!({"lists": [123456, 999]})).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["errorCode"], "contacts:badJson");
    assert_eq!(unknown.json()["details"][0]["item"], "lists");

    let suppressed = upsert(
        &sim,
        "sup@example.com",
        json!({"lists": [123456], "channelProperties": {"email": {"status": "suppressed"}}}),
    )
    .await
    .json();
    assert_eq!(suppressed["lists"][0]["status"], "suppressed");
}

#[tokio::test]
async fn an_address_book_is_read_by_id() {
    let sim = demo().await;
    upsert(&sim, "a@example.com", json!({"lists": [123456]})).await;
    upsert(&sim, "b@example.com", json!({"lists": [123456, 123457]})).await;

    let book = send(&sim, call("GET", "/v2/address-books/123456")).await;
    assert_eq!(book.status, 200);
    assert_eq!(book.json(), json!({"id": 123456, "name": "Web shop", "visibility": "Private", "contacts": 2}));
    assert_eq!(send(&sim, call("GET", "/v2/address-books/123457")).await.json()["contacts"], 1);

    let missing = send(&sim, call("GET", "/v2/address-books/42")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}));
    let bad = send(&sim, call("GET", "/v2/address-books/web-shop")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["message"].as_str().is_some_and(|m| m.ends_with("ERROR_PARAMETER_INVALID")));
    assert_eq!(send(&sim, call("POST", "/v2/address-books/123456")).await.status, 405);
}

#[tokio::test]
async fn a_contact_is_removed_from_a_list_with_204() {
    let sim = demo().await;
    let id = upsert(&sim, "a@example.com", json!({"lists": [123456, 123457]})).await.json()["contactId"].clone();
    let path = |book: &str, contact: &str| format!("/v2/address-books/{book}/contacts/{contact}");

    let removed = send(&sim, call("DELETE", &path("123456", &id.to_string()))).await;
    assert_eq!(removed.status, 204);
    assert!(removed.body.is_empty());
    let contact = sim.contact(ACME, "a@example.com").expect("the contact stays in the account");
    assert_eq!(contact["lists"], json!([{"id": 123457, "name": "Newsletter", "status": "subscribed"}]));
    assert_eq!(send(&sim, call("GET", "/v2/address-books/123456")).await.json()["contacts"], 0);

    let again = send(&sim, call("DELETE", &path("123456", &id.to_string()))).await;
    assert_eq!(again.status, 404, "no longer on the list");
    assert_eq!(again.json(), json!({"message": "Error: ERROR_CONTACT_NOT_FOUND"}));
    let no_contact = send(&sim, call("DELETE", &path("123457", "99"))).await;
    assert_eq!(no_contact.json(), json!({"message": "Error: ERROR_CONTACT_NOT_FOUND"}));
    let no_list = send(&sim, call("DELETE", &path("42", &id.to_string()))).await;
    assert_eq!(no_list.status, 404);
    assert_eq!(no_list.json(), json!({"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}));
    assert_eq!(send(&sim, call("DELETE", &path("123457", "abc"))).await.status, 400);
    assert_eq!(send(&sim, call("GET", &path("123457", &id.to_string()))).await.status, 405);
}

#[tokio::test]
async fn contacts_are_removed_from_a_list_in_bulk_with_202() {
    let sim = demo().await;
    let mut ids = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        ids.push(upsert(&sim, email, json!({"lists": [123456, 123457]})).await.json()["contactId"].clone());
    }
    let path = |book: &str| format!("/v2/address-books/{book}/contacts/delete");

    // Two of three, plus an unknown id, which the background job skips.
    let removed = send(&sim, call("POST", &path("123456")).json(json!([ids[0], ids[1], 99]))).await;
    assert_eq!(removed.status, 202, "{}", removed.text());
    let job = removed.json();
    assert_eq!(job["status"], "Started");
    assert_eq!(job["id"].as_str().map(str::len), Some(36), "a GUID: {job}");
    assert_eq!(job.as_object().map(|o| o.len()), Some(2), "ApiBulkContactDeletion: id and status");
    assert_eq!(send(&sim, call("GET", "/v2/address-books/123456")).await.json()["contacts"], 1);
    let list_ids = |email: &str| {
        let contact = sim.contact(ACME, email).expect("the contact stays in the account");
        contact["lists"].as_array().unwrap().iter().map(|l| l["id"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(list_ids("a@example.com"), [json!(123457)]);
    assert_eq!(list_ids("c@example.com"), [json!(123456), json!(123457)]);

    for bad in [json!([]), json!({"contactIds": [1]}), json!(["1"]), json!([-1]), json!([1.5])] {
        let reply = send(&sim, call("POST", &path("123456")).json(bad.clone())).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(reply.json()["message"].as_str().is_some_and(|m| m.ends_with("ERROR_PARAMETER_INVALID")), "{bad}");
    }
    let too_many: Vec<u32> = (1..=5001).collect();
    assert_eq!(send(&sim, call("POST", &path("123456")).json(json!(too_many))).await.status, 400);
    let no_list = send(&sim, call("POST", &path("42")).json(json!([ids[2]]))).await;
    assert_eq!(no_list.status, 404);
    assert_eq!(no_list.json(), json!({"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}));
    assert_eq!(send(&sim, call("GET", &path("123456"))).await.status, 405);
}
