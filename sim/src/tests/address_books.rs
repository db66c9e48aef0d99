//! Lists (address books): named lists on contacts, `GET /v2/address-books/{id}` and removing a
//! contact from a list.

use serde_json::json;

use super::client::{call, control, demo, send, start, upsert, ACME};
use crate::{SimConfig, UnprocessedListRemoval};

#[tokio::test]
async fn contacts_show_their_lists_by_id_name_and_status() {
    let sim = demo().await;
    upsert(&sim, "ana@example.com", json!({"lists": [123456, 123457]})).await;
    let contact = sim.contact(ACME, "ana@example.com").expect("stored");
    assert_eq!(
        contact["lists"],
        json!([{"id": 123456, "name": "Web shop", "status": "subscribed"}, {"id": 123457, "name": "Newsletter", "status": "subscribed"}])
    );
    let unknown = upsert(&sim, "ana@example.com", json!({"lists": [123456, 999]})).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["errorCode"], "contacts:badJson");
    assert_eq!(unknown.json()["details"][0]["item"], "lists");

    upsert(
        &sim,
        "sup@example.com",
        json!({"lists": [123456], "channelProperties": {"email": {"status": "suppressed"}}}),
    )
    .await;
    let suppressed = sim.contact(ACME, "sup@example.com").expect("stored");
    assert_eq!(suppressed["lists"][0]["status"], "suppressed");
}

/// contacts-v3.json: `contact.lists` is optional and `getContacts` returns lists only with
/// `include=lists`; the single-contact answers carry none unless the knob says so.
#[tokio::test]
async fn contact_answers_carry_lists_only_under_the_knob() {
    let strict = demo().await;
    let mut config = SimConfig::demo();
    config.contacts.contact_answers_include_lists = true;
    let lenient = start(config).await;
    let expected = json!([{"id": 123456, "name": "Web shop", "status": "subscribed"}]);
    for (sim, carries) in [(&strict, false), (&lenient, true)] {
        let created = upsert(sim, "ana@example.com", json!({"lists": [123456]})).await;
        let updated = upsert(sim, "ana@example.com", json!({"dataFields": {"FIRSTNAME": "Ana"}})).await;
        let read = send(sim, call("GET", "/contacts/v3/email/ana@example.com")).await;
        let posted = send(
            sim,
            call("POST", "/contacts/v3").json(json!({"identifiers": {"email": "bo@example.com"}, "lists": [123456]})),
        )
        .await;
        assert_eq!((created.status, updated.status, read.status, posted.status), (201, 200, 200, 201));
        for answer in [created.json(), updated.json(), read.json(), posted.json()] {
            match carries {
                true => assert_eq!(answer["lists"], expected, "{answer}"),
                false => assert!(answer.get("lists").is_none(), "{answer}"),
            }
        }
        // The control view always shows memberships, over HTTP too.
        assert_eq!(sim.contact(ACME, "ana@example.com").expect("stored")["lists"], expected);
        let listed = control(sim, call("GET", &format!("/_sim/contacts?account={ACME}"))).await.json();
        assert_eq!(listed[0]["identifiers"]["email"], "ana@example.com");
        assert_eq!(listed[0]["lists"], expected);
        assert_eq!(listed[0]["channelProperties"]["email"]["status"], "subscribed");
    }

    // The knob through the control API, read per call.
    let config = control(&strict, call("GET", "/_sim/contact-config")).await.json();
    assert_eq!(config["contact_answers_include_lists"], false);
    let changed =
        control(&strict, call("PATCH", "/_sim/contact-config").json(json!({"contact_answers_include_lists": true})))
            .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["contact_answers_include_lists"], true);
    assert!(strict.contact_config().contact_answers_include_lists);
    let read = send(&strict, call("GET", "/contacts/v3/email/ana@example.com")).await.json();
    assert_eq!(read["lists"], expected);
    for bad in
        [json!({"contact_answers_include_list": true}), json!({"contact_answers_include_lists": "yes"}), json!([])]
    {
        let reply = control(&strict, call("PATCH", "/_sim/contact-config").json(bad.clone())).await;
        assert_eq!(reply.status, 400, "{bad}");
    }
    assert!(strict.contact_config().contact_answers_include_lists, "a refused change changes nothing");
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

/// developer.dotdigital.com/reference/unified-contacts: "If a contacts email channel status
/// becomes unsubscribed or suppressed, then updates to the contact via API v2 are not
/// processed". Strict: an error answer; lenient (`"ignored"`): a 204. Either way the contact
/// stays on the list.
#[tokio::test]
async fn an_unsubscribed_or_suppressed_contact_is_not_removed_from_a_list() {
    let strict = demo().await;
    let mut config = SimConfig::demo();
    config.contacts.unsubscribed_list_removal = UnprocessedListRemoval::Ignored;
    let lenient = start(config).await;
    for (sim, expected) in [(&strict, 400), (&lenient, 204)] {
        for (email, status) in [("unsub@example.com", "unsubscribed"), ("sup@example.com", "suppressed")] {
            let body = json!({"lists": [123456], "channelProperties": {"email": {"status": status}}});
            let id = upsert(sim, email, body).await.json()["contactId"].clone();
            let reply = send(sim, call("DELETE", &format!("/v2/address-books/123456/contacts/{id}"))).await;
            assert_eq!(reply.status, expected, "{email}: {}", reply.text());
            match expected {
                400 => assert_eq!(reply.json(), json!({"message": "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"})),
                _ => assert!(reply.body.is_empty()),
            }
            let lists = &sim.contact(ACME, email).expect("stored")["lists"];
            assert_eq!(lists[0]["id"], 123456, "{email}: still on the list");
        }
        assert_eq!(send(sim, call("GET", "/v2/address-books/123456")).await.json()["contacts"], 2);

        // A subscribed contact is removed as before.
        let id = upsert(sim, "sub@example.com", json!({"lists": [123456]})).await.json()["contactId"].clone();
        let removed = send(sim, call("DELETE", &format!("/v2/address-books/123456/contacts/{id}"))).await;
        assert_eq!(removed.status, 204);
        assert_eq!(sim.contact(ACME, "sub@example.com").expect("stored")["lists"], json!([]));
    }

    // The knob through the control API.
    assert_eq!(
        control(&strict, call("GET", "/_sim/contact-config")).await.json()["unsubscribed_list_removal"],
        "error"
    );
    let changed =
        control(&strict, call("PATCH", "/_sim/contact-config").json(json!({"unsubscribed_list_removal": "ignored"})))
            .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(strict.contact_config().unsubscribed_list_removal, UnprocessedListRemoval::Ignored);
    let id = strict.contact(ACME, "unsub@example.com").expect("stored")["contactId"].clone();
    let reply = send(&strict, call("DELETE", &format!("/v2/address-books/123456/contacts/{id}"))).await;
    assert_eq!(reply.status, 204);
    let bad =
        control(&strict, call("PATCH", "/_sim/contact-config").json(json!({"unsubscribed_list_removal": "maybe"})))
            .await;
    assert_eq!(bad.status, 400);
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

    // An unsubscribed contact is skipped by the background job: it stays on the list.
    let body = json!({"lists": [123456], "channelProperties": {"email": {"status": "unsubscribed"}}});
    let gone = upsert(&sim, "u@example.com", body).await.json()["contactId"].clone();
    let removed = send(&sim, call("POST", &path("123456")).json(json!([gone, ids[2]]))).await;
    assert_eq!(removed.status, 202);
    assert_eq!(list_ids("u@example.com"), [json!(123456)]);
    assert_eq!(list_ids("c@example.com"), [json!(123457)]);

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
