//! Contacts v3: upsert, merge options, validation, identifiers and reads.

use serde_json::{json, Value};

use super::client::{call, control, demo, send, start, upsert, ACME};
use crate::{SimConfig, UnknownDataField, VerifiedDoubleReading};

fn subscribed_body() -> Value {
    json!({
        "identifiers": {"email": "ana.silva@example.com"},
        "dataFields": {"FIRSTNAME": "Ana", "LASTNAME": "Silva", "LOYALTY_TIER": null},
        "channelProperties": {"email": {"emailType": "html", "optInType": "single", "status": "subscribed"}},
        "lists": [123456]
    })
}

#[tokio::test]
async fn patch_creates_with_201_then_updates_with_200_changing_only_what_is_sent() {
    let sim = demo().await;

    let created = upsert(&sim, "ana.silva@example.com", subscribed_body()).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let contact = created.json();
    assert_eq!(contact["contactId"], 40_000_001);
    assert_eq!(contact["status"], "subscribed");
    assert_eq!(contact["identifiers"], json!({"email": "ana.silva@example.com"}));
    assert_eq!(contact["dataFields"], json!({"FIRSTNAME": "Ana", "LASTNAME": "Silva", "LOYALTY_TIER": null}));
    assert_eq!(
        contact["channelProperties"]["email"],
        json!({"emailType": "Html", "optInType": "Single", "status": "subscribed"})
    );
    assert!(contact.get("lists").is_none(), "no lists by default: {contact}");
    for stamp in ["created", "updated"] {
        let text = contact[stamp].as_str().expect("timestamp");
        assert!(text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T', "{stamp}: {text}");
    }

    // Same contact, other casing of the email; null clears; unsent fields stay.
    let updated = upsert(
        &sim,
        "Ana.Silva@Example.com",
        json!({"dataFields": {"firstname": "Ana Maria", "LOYALTY_TIER": "Gold", "LASTNAME": null}}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    let contact = updated.json();
    assert_eq!(contact["contactId"], 40_000_001);
    assert_eq!(contact["dataFields"], json!({"FIRSTNAME": "Ana Maria", "LASTNAME": null, "LOYALTY_TIER": "Gold"}));
    assert_eq!(contact["channelProperties"]["email"]["status"], "subscribed");

    let read = send(&sim, call("GET", "/contacts/v3/email/ANA.SILVA%40example.com")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), contact);
    // The control view is the same contact with its lists.
    let mut with_lists = contact.clone();
    with_lists["lists"] = json!([{"id": 123456, "name": "Web shop", "status": "subscribed"}]);
    assert_eq!(sim.contact(ACME, "ana.silva@EXAMPLE.com"), Some(with_lists));
    assert_eq!(sim.contacts(ACME).len(), 1);
    assert!(sim.contacts(4712).is_empty(), "accounts are separate");

    let second = upsert(&sim, "bo@example.com", json!({})).await;
    assert_eq!(second.json()["contactId"], 40_000_002);
}

#[tokio::test]
async fn merge_options_decide_which_values_are_written() {
    let sim = demo().await;
    let email = "merge@example.com";
    upsert(&sim, email, json!({"dataFields": {"FIRSTNAME": "Ana", "LASTNAME": "", "GENDER": "f"}})).await;

    let path = |option: &str| format!("/contacts/v3/email/{email}?merge-option={option}");
    let if_not_empty = send(
        &sim,
        call("PATCH", &path("overwrite-if-not-empty"))
            .json(json!({"dataFields": {"FIRSTNAME": null, "LASTNAME": "Silva", "GENDER": " "}})),
    )
    .await;
    assert_eq!(if_not_empty.status, 200);
    assert_eq!(if_not_empty.json()["dataFields"], json!({"FIRSTNAME": "Ana", "LASTNAME": "Silva", "GENDER": "f"}));

    let if_empty = send(
        &sim,
        call("PATCH", &path("overwrite-if-empty"))
            .json(json!({"dataFields": {"FIRSTNAME": "Bob", "POSTCODE": "1000"}})),
    )
    .await;
    assert_eq!(if_empty.json()["dataFields"]["FIRSTNAME"], "Ana");
    assert_eq!(if_empty.json()["dataFields"]["POSTCODE"], "1000");

    let overwrite =
        send(&sim, call("PATCH", &path("overwrite")).json(json!({"dataFields": {"FIRSTNAME": "Bob"}}))).await;
    assert_eq!(overwrite.json()["dataFields"]["FIRSTNAME"], "Bob");

    let bad = send(&sim, call("PATCH", &path("sometimes")).json(json!({}))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errorCode"], "contacts:invalidId");
}

#[tokio::test]
async fn new_contacts_are_subscribed_unless_the_request_says_otherwise() {
    let sim = demo().await;

    // contacts-v3.json: "for new contacts this defaults to subscribed".
    let plain = upsert(&sim, "plain@example.com", json!({"dataFields": {"FIRSTNAME": "P"}})).await.json();
    assert_eq!(plain["status"], "subscribed");
    assert_eq!(
        plain["channelProperties"]["email"],
        json!({"emailType": "Html", "optInType": "Unknown", "status": "subscribed"})
    );

    let unsubscribed =
        upsert(&sim, "no@example.com", json!({"channelProperties": {"email": {"status": "unsubscribed"}}}))
            .await
            .json();
    assert_eq!(unsubscribed["status"], "unsubscribed");
    assert_eq!(unsubscribed["channelProperties"]["email"]["status"], "unsubscribed");

    let verified = upsert(
        &sim,
        "verified@example.com",
        json!({"channelProperties": {"email": {"optInType": "VERIFIEDDOUBLE", "status": "Subscribed", "emailType": "PLAINTEXT"}}}),
    )
    .await
    .json();
    assert_eq!(verified["status"], "pendingOptIn");
    assert_eq!(
        verified["channelProperties"]["email"],
        json!({"emailType": "PlainText", "optInType": "VerifiedDouble", "status": "pendingOptIn"})
    );
    // The default subscription of a new contact is confirmed first too.
    let defaulted =
        upsert(&sim, "vd@example.com", json!({"channelProperties": {"email": {"optInType": "verifiedDouble"}}})).await;
    assert_eq!(defaulted.json()["channelProperties"]["email"]["status"], "pendingOptIn");
    let confirmations: Vec<Value> = sim.confirmation_emails(ACME).iter().map(|c| c["email"].clone()).collect();
    assert_eq!(confirmations, [json!("verified@example.com"), json!("vd@example.com")]);

    // "if not specified it remains unaltered for existing contacts".
    upsert(&sim, "gone@example.com", json!({"channelProperties": {"email": {"status": "unsubscribed"}}})).await;
    let later = upsert(&sim, "gone@example.com", json!({"dataFields": {"FIRSTNAME": "G"}})).await.json();
    assert_eq!(later["status"], "unsubscribed");
    let opt_in_only =
        upsert(&sim, "gone@example.com", json!({"channelProperties": {"email": {"optInType": "double"}}})).await.json();
    assert_eq!(opt_in_only["channelProperties"]["email"]["status"], "unsubscribed");

    // A contact with only a mobile number has no email channel; SMS starts without a subscription.
    let mobile = send(&sim, call("PATCH", "/contacts/v3/mobileNumber/447700900555").json(json!({}))).await.json();
    assert_eq!(mobile["status"], "noSubscription");
    assert!(mobile["channelProperties"].get("email").is_none());
}

#[tokio::test]
async fn invalid_bodies_get_400_naming_the_problem() {
    let sim = demo().await;
    let long = "x".repeat(256);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"colour": "blue"}), "colour"),
        (
            json!({"channelProperties": {"email": {"status": "subscribed", "colour": "blue"}}}),
            "channelProperties.email.colour",
        ),
        (json!({"channelProperties": {"email": {"emailType": "rich"}}}), "channelProperties.email.emailType"),
        (json!({"channelProperties": {"fax": {}}}), "channelProperties.fax"),
        (json!({"channelProperties": {"sms": {"status": "bounced"}}}), "channelProperties.sms.status"),
        (json!({"dataFields": {"SHOE_SIZE": "42"}}), "dataFields.SHOE_SIZE"),
        (json!({"dataFields": {"A_NAME_LONGER_THAN_20": "x"}}), "dataFields.A_NAME_LONGER_THAN_20"),
        (json!({"dataFields": {"FIRST NAME": "x"}}), "dataFields.FIRST NAME"),
        (json!({"dataFields": {"FIRSTNAME": long}}), "dataFields.FIRSTNAME"),
        (json!({"dataFields": {"FIRSTNAME": 42}}), "dataFields.FIRSTNAME"),
        (json!({"dataFields": {"POINTS": "42"}}), "dataFields.POINTS"),
        (json!({"dataFields": {"VIP": "true"}}), "dataFields.VIP"),
        (json!({"dataFields": {"FIRSTNAME": {"nested": true}}}), "dataFields.FIRSTNAME"),
        (json!({"lists": [999]}), "lists"),
        (json!({"lists": []}), "lists"),
        (json!({"lists": "123456"}), "lists"),
        (json!({"identifiers": {"email": "not-an-email"}}), "identifiers.email"),
        (json!({"identifiers": {"mobileNumber": "+447700900123"}}), "identifiers.mobileNumber"),
        (json!({"identifiers": {"contactId": 5}}), "identifiers.contactId"),
        (json!({"identifiers": {"loyaltyId": "L1"}}), "identifiers.loyaltyId"),
        (json!({"preferences": [{"id": "x"}]}), "preferences"),
        (json!({"consentRecords": [{"text": "yes"}]}), "consentRecords"),
        (json!([1, 2]), "body"),
    ];
    for (body, item) in cases {
        let reply = upsert(&sim, "val@example.com", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        let error = reply.json();
        assert_eq!(error["errorCode"], "contacts:badJson", "{body}");
        assert!(error["description"].is_string());
        let items: Vec<&str> =
            error["details"].as_array().expect("details").iter().filter_map(|d| d["item"].as_str()).collect();
        assert!(items.contains(&item), "{body}: details {items:?} should name {item}");
    }
    let not_json = send(&sim, call("PATCH", "/contacts/v3/email/val@example.com").raw_body(b"{nope")).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["errorCode"], "contacts:badJson");
    let empty = send(&sim, call("PATCH", "/contacts/v3/email/val@example.com")).await;
    assert_eq!(empty.status, 400);
    assert!(sim.contacts(ACME).is_empty(), "nothing invalid was stored");

    // Tolerated and accepted spellings.
    let ok = upsert(
        &sim,
        "val@example.com",
        json!({
            "matchIdentifier": "email",
            "identifiers": {"email": "val@example.com", "mobileNumber": "447700900123"},
            "dataFields": {"first-name": null, "Loyalty_Tier": "Silver", "FIRSTNAME": "x".repeat(255)},
            "channelProperties": {"email": {"emailType": "HTML", "resubscribeOptions": {"resubscribeWithNoChallenge": true}},
                                  "sms": {"status": "subscribed"}, "whatsApp": {"status": "noSubscription"}},
            "preferences": [{"id": 1, "isOptedIn": true}],
        }),
    )
    .await;
    // "first-name" is a valid name but not an account field: the only problem left.
    assert_eq!(ok.status, 400);
    assert_eq!(ok.json()["details"].as_array().map(Vec::len), Some(1));

    let accepted = upsert(
        &sim,
        "val@example.com",
        json!({
            "matchIdentifier": "email",
            "identifiers": {"email": "val@example.com", "mobileNumber": "447700900123"},
            "dataFields": {"Loyalty_Tier": "Silver", "FIRSTNAME": "x".repeat(255), "MOBILE_OPT_IN": true, "POSTCODE": "1000"},
            "channelProperties": {"email": {"emailType": "HTML", "resubscribeOptions": {"resubscribeWithNoChallenge": true}},
                                  "sms": {"status": "subscribed"}, "whatsApp": {"status": "noSubscription"}},
            "preferences": [{"id": 1, "isOptedIn": true}],
        }),
    )
    .await;
    assert_eq!(accepted.status, 201, "{}", accepted.text());
    let contact = accepted.json();
    assert_eq!(contact["dataFields"]["LOYALTY_TIER"], "Silver", "names take the account's spelling");
    assert_eq!(contact["dataFields"]["MOBILE_OPT_IN"], true);
    assert_eq!(contact["channelProperties"]["email"]["emailType"], "Html");
    assert_eq!(contact["channelProperties"]["sms"], json!({"countryCode": "GB", "status": "subscribed"}));
    assert_eq!(contact["channelProperties"]["whatsApp"], json!({"status": "noSubscription"}));
    assert_eq!(contact["identifiers"]["mobileNumber"], "447700900123");
}

#[tokio::test]
async fn unknown_data_fields_can_be_auto_created() {
    let mut config = SimConfig::demo();
    config.unknown_data_field = UnknownDataField::AutoCreate;
    config.max_string_length = 5;
    let sim = start(config).await;

    let reply = upsert(&sim, "auto@example.com", json!({"dataFields": {"shoe_size": "42"}})).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["dataFields"], json!({"SHOE_SIZE": "42"}));
    let again = upsert(&sim, "auto@example.com", json!({"dataFields": {"Shoe_Size": "43"}})).await;
    assert_eq!(again.json()["dataFields"], json!({"SHOE_SIZE": "43"}));

    let too_long = upsert(&sim, "auto@example.com", json!({"dataFields": {"SHOE_SIZE": "123456"}})).await;
    assert_eq!(too_long.status, 400, "max_string_length applies");
}

#[tokio::test]
async fn path_values_must_fit_their_identifier() {
    let sim = demo().await;
    for path in [
        "/contacts/v3/email/123646",
        "/contacts/v3/mobileNumber/abc",
        "/contacts/v3/contactId/abc",
        "/contacts/v3/shoeSize/42",
        "/contacts/v3/email/%FF%FE",
    ] {
        let reply = send(&sim, call("GET", path)).await;
        assert_eq!(reply.status, 400, "{path}");
        assert_eq!(reply.json()["errorCode"], "contacts:invalidId", "{path}");
        let patch = send(&sim, call("PATCH", path).json(json!({}))).await;
        assert_eq!(patch.status, 400, "PATCH {path}");
    }
    let described = send(&sim, call("GET", "/contacts/v3/email/123646")).await.json();
    assert_eq!(described["description"], "The id value '123646' is invalid for the identifier 'email'");

    let missing = send(&sim, call("GET", "/contacts/v3/email/nobody@example.com")).await;
    assert_eq!(missing.status, 404);
    let error = missing.json();
    assert_eq!(error["errorCode"], "contacts:contactNotFound");
    assert_eq!(
        error["details"],
        json!([{"item": "nobody@example.com", "description": "Not found using the identifier 'email'"}])
    );

    let by_id = send(&sim, call("PATCH", "/contacts/v3/contactId/40000001").json(json!({}))).await;
    assert_eq!(by_id.status, 400, "no such contact, and nothing in the body to create one with");
    assert!(sim.contacts(ACME).is_empty());

    let by_mobile = send(&sim, call("PATCH", "/contacts/v3/mobileNumber/447700900123").json(json!({}))).await;
    assert_eq!(by_mobile.status, 201);
    let contact = by_mobile.json();
    assert_eq!(contact["identifiers"], json!({"mobileNumber": "447700900123"}));
    assert_eq!(contact["channelProperties"]["sms"]["countryCode"], "GB");
    let id = contact["contactId"].as_i64().expect("id");
    let by_id = send(&sim, call("GET", &format!("/contacts/v3/contactId/{id}"))).await;
    assert_eq!(by_id.status, 200);
}

#[tokio::test]
async fn identifiers_owned_by_another_contact_conflict_with_409() {
    let sim = demo().await;
    upsert(&sim, "first@example.com", json!({"identifiers": {"mobileNumber": "447700900001"}})).await;
    upsert(&sim, "second@example.com", json!({})).await;

    let clash = upsert(&sim, "second@example.com", json!({"identifiers": {"mobileNumber": "447700900001"}})).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.json()["errorCode"], "contacts:idAlreadyExists");

    let email_clash = upsert(&sim, "second@example.com", json!({"identifiers": {"email": "FIRST@example.com"}})).await;
    assert_eq!(email_clash.status, 409);

    let own = upsert(&sim, "first@example.com", json!({"identifiers": {"mobileNumber": "447700900001"}})).await;
    assert_eq!(own.status, 200, "a contact's own identifiers do not clash");

    let moved = upsert(&sim, "second@example.com", json!({"identifiers": {"email": "renamed@example.com"}})).await;
    assert_eq!(moved.status, 200);
    assert!(sim.contact(ACME, "renamed@example.com").is_some());
    assert!(sim.contact(ACME, "second@example.com").is_none());
}

#[tokio::test]
async fn patch_by_contact_id_updates_that_contact_and_can_change_its_email() {
    let sim = demo().await;
    let ana = upsert(&sim, "ana@example.com", json!({"dataFields": {"FIRSTNAME": "Ana"}})).await.json();
    upsert(&sim, "bo@example.com", json!({})).await;
    let id = ana["contactId"].as_i64().expect("id");
    let path = format!("/contacts/v3/contactId/{id}");

    let renamed = send(
        &sim,
        call("PATCH", &path)
            .json(json!({"identifiers": {"email": "Ana.New@Example.com"}, "dataFields": {"LASTNAME": "Silva"}})),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    let contact = renamed.json();
    assert_eq!(contact["contactId"], id);
    assert_eq!(contact["identifiers"]["email"], "ana.new@example.com");
    assert_eq!(contact["dataFields"], json!({"FIRSTNAME": "Ana", "LASTNAME": "Silva"}));
    assert!(sim.contact(ACME, "ana@example.com").is_none(), "the old email no longer finds it");
    assert_eq!(send(&sim, call("GET", "/contacts/v3/email/ana.new@example.com")).await.json()["contactId"], id);

    // contacts-v3.json's 409 example: errorCode and description, nothing else.
    let clash = send(&sim, call("PATCH", &path).json(json!({"identifiers": {"email": "BO@example.com"}}))).await;
    assert_eq!(clash.status, 409);
    let error = clash.json();
    assert_eq!(error["errorCode"], "contacts:idAlreadyExists");
    let mut keys: Vec<&str> = error.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["description", "errorCode"]);
    assert_eq!(sim.contact(ACME, "ana.new@example.com").expect("unchanged")["contactId"], id);
}

/// importcontact page: "If no contact is found with the provided identifier, the contact is
/// created using the identifiers supplied in the object in the request body"; contacts-v3.json
/// `importContact` declares no 404.
#[tokio::test]
async fn patch_by_an_unknown_contact_id_creates_from_the_body_or_conflicts() {
    let sim = demo().await;
    let bo = upsert(&sim, "bo@example.com", json!({"identifiers": {"mobileNumber": "447700900001"}})).await.json();

    let created = send(
        &sim,
        call("PATCH", "/contacts/v3/contactId/1")
            .json(json!({"identifiers": {"email": "New@Example.com"}, "dataFields": {"FIRSTNAME": "Nia"}})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let contact = created.json();
    let id = contact["contactId"].as_i64().expect("id");
    assert_ne!(id, 1, "the client never chooses the id");
    assert_eq!(id, bo["contactId"].as_i64().expect("id") + 1, "the next id");
    assert_eq!(contact["identifiers"], json!({"email": "new@example.com"}));
    assert_eq!(contact["dataFields"], json!({"FIRSTNAME": "Nia"}));
    assert_eq!(contact["status"], "subscribed", "created: the new-contact default applies");
    assert_eq!(send(&sim, call("GET", &format!("/contacts/v3/contactId/{id}"))).await.json(), contact);
    assert_eq!(send(&sim, call("GET", "/contacts/v3/contactId/1")).await.status, 404);

    // A mobile number alone is an identifier to create with.
    let by_mobile = send(
        &sim,
        call("PATCH", "/contacts/v3/contactId/2").json(json!({"identifiers": {"mobileNumber": "447700900002"}})),
    )
    .await;
    assert_eq!(by_mobile.status, 201, "{}", by_mobile.text());
    assert_eq!(by_mobile.json()["identifiers"], json!({"mobileNumber": "447700900002"}));

    // The body's identifiers belong to another contact: contacts-v3.json's 409 example.
    for body in [
        json!({"identifiers": {"email": "BO@example.com"}}),
        json!({"identifiers": {"email": "free@example.com", "mobileNumber": "447700900001"}}),
    ] {
        let clash = send(&sim, call("PATCH", "/contacts/v3/contactId/99").json(body.clone())).await;
        assert_eq!(clash.status, 409, "{body}: {}", clash.text());
        let error = clash.json();
        assert_eq!(error["errorCode"], "contacts:idAlreadyExists");
        assert!(error["description"].as_str().is_some_and(|d| d.contains("already exists")), "{error}");
        assert!(error.get("details").is_none());
    }
    assert!(sim.contact(ACME, "free@example.com").is_none(), "a conflict creates nothing");

    // Nothing to create the contact with.
    let bare =
        send(&sim, call("PATCH", "/contacts/v3/contactId/98").json(json!({"dataFields": {"FIRSTNAME": "X"}}))).await;
    assert_eq!(bare.status, 400, "{}", bare.text());
    assert_eq!(bare.json()["errorCode"], "contacts:badJson");
    assert_eq!(bare.json()["details"][0]["item"], "identifiers");
    assert_eq!(sim.contacts(ACME).len(), 3, "bo, new and the mobile-only contact");
}

/// contacts-v3.json `createContact`: "Creates a contact if the identifiers passed are unique in
/// the account … otherwise it will fail the call with a 409".
#[tokio::test]
async fn post_creates_only_when_every_identifier_is_new() {
    let sim = demo().await;
    let post = |body: Value| call("POST", "/contacts/v3").json(body);

    let created = send(
        &sim,
        post(json!({
            "identifiers": {"email": "Ana@Example.com", "mobileNumber": "447700900001"},
            "dataFields": {"FIRSTNAME": "Ana"},
            "channelProperties": {"email": {"emailType": "plainText", "optInType": "single"}},
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let contact = created.json();
    assert_eq!(contact["contactId"], 40_000_001);
    assert_eq!(contact["identifiers"], json!({"email": "ana@example.com", "mobileNumber": "447700900001"}));
    assert_eq!(contact["dataFields"], json!({"FIRSTNAME": "Ana"}));
    // "for new contacts this defaults to subscribed".
    assert_eq!(
        contact["channelProperties"]["email"],
        json!({"emailType": "PlainText", "optInType": "Single", "status": "subscribed"})
    );
    assert!(contact.get("lists").is_none());
    assert_eq!(send(&sim, call("GET", "/contacts/v3/email/ana@example.com")).await.json(), contact);

    let unsubscribed = send(
        &sim,
        post(json!({"identifiers": {"email": "no@example.com"}, "channelProperties": {"email": {"status": "unsubscribed"}}})),
    )
    .await;
    assert_eq!(unsubscribed.status, 201);
    assert_eq!(unsubscribed.json()["status"], "unsubscribed");
    // `optInType` description: verified double means pendingOptIn until confirmed.
    let verified = send(
        &sim,
        post(json!({"identifiers": {"email": "vd@example.com"}, "channelProperties": {"email": {"optInType": "verifiedDouble"}}})),
    )
    .await;
    assert_eq!(verified.status, 201);
    assert_eq!(verified.json()["channelProperties"]["email"]["status"], "pendingOptIn");
    let confirmation = sim.confirmation_emails(ACME);
    assert_eq!(confirmation.len(), 1);
    assert_eq!(confirmation[0]["contactId"], verified.json()["contactId"]);
    let mobile_only = send(&sim, post(json!({"identifiers": {"mobileNumber": "447700900002"}}))).await;
    assert_eq!(mobile_only.status, 201);

    // Any identifier already in the account: the spec's 409 example, and nothing changes.
    for body in [
        json!({"identifiers": {"email": "ANA@example.com"}, "dataFields": {"FIRSTNAME": "Changed"}}),
        json!({"identifiers": {"email": "fresh@example.com", "mobileNumber": "447700900001"}}),
        json!({"identifiers": {"mobileNumber": "447700900002"}}),
    ] {
        let clash = send(&sim, post(body.clone())).await;
        assert_eq!(clash.status, 409, "{body}: {}", clash.text());
        let error = clash.json();
        assert_eq!(error["errorCode"], "contacts:idAlreadyExists");
        let mut keys: Vec<&str> = error.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["description", "errorCode"], "{body}");
    }
    assert_eq!(sim.contact(ACME, "ana@example.com").expect("kept")["dataFields"]["FIRSTNAME"], "Ana");
    assert!(sim.contact(ACME, "fresh@example.com").is_none());
    assert_eq!(sim.contacts(ACME).len(), 4);
}

#[tokio::test]
async fn post_bodies_are_read_as_create_contact_requests() {
    let sim = demo().await;
    let post = |body: Value| call("POST", "/contacts/v3").json(body);
    for (body, item) in [
        (json!({"dataFields": {"FIRSTNAME": "A"}}), "identifiers"),
        (json!({"identifiers": {}}), "identifiers"),
        (json!({"identifiers": {"email": "not-an-email"}}), "identifiers.email"),
        (json!({"identifiers": {"email": "a@example.com", "contactId": 5}}), "identifiers.contactId"),
        (json!({"identifiers": {"email": "a@example.com", "loyaltyId": "L1"}}), "identifiers.loyaltyId"),
        // Only `updateContactRequest` includes `channelPropertiesWithResubscribe`.
        (
            json!({"identifiers": {"email": "a@example.com"},
                   "channelProperties": {"email": {"resubscribeOptions": {"resubscribeWithNoChallenge": true}}}}),
            "channelProperties.email.resubscribeOptions",
        ),
        (json!({"identifiers": {"email": "a@example.com"}, "matchIdentifier": "email"}), "matchIdentifier"),
        (json!({"identifiers": {"email": "a@example.com"}, "dataFields": {"POINTS": "7"}}), "dataFields.POINTS"),
        (json!({"identifiers": {"email": "a@example.com"}, "lists": [999]}), "lists"),
        (json!([]), "body"),
    ] {
        let reply = send(&sim, post(body.clone())).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        let error = reply.json();
        assert_eq!(error["errorCode"], "contacts:badJson", "{body}");
        let items: Vec<&str> =
            error["details"].as_array().expect("details").iter().filter_map(|d| d["item"].as_str()).collect();
        assert!(items.contains(&item), "{body}: details {items:?} should name {item}");
    }
    assert_eq!(send(&sim, call("POST", "/contacts/v3").raw_body(b"{nope")).await.status, 400);
    assert!(sim.contacts(ACME).is_empty(), "nothing invalid was stored");

    // The same channel and lists a PATCH may send are accepted.
    let ok = send(
        &sim,
        post(json!({"identifiers": {"email": "a@example.com"}, "lists": [123456],
                    "channelProperties": {"email": {"emailType": "html", "optInType": "double", "status": "subscribed"},
                                          "sms": {"status": "noSubscription"}},
                    "preferences": [{"id": 1, "isOptedIn": true}]})),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(sim.contact(ACME, "a@example.com").expect("stored")["lists"][0]["id"], 123456);

    for method in ["GET", "PATCH", "PUT"] {
        assert_eq!(send(&sim, call(method, "/contacts/v3")).await.status, 405, "{method}");
    }
}

/// contacts-v3.json `channelProperties_channelProperties_email.optInType`: with verified double
/// "the email holder will be sent an email to confirm their subscription, and in the meantime
/// the email channel status will be pendingOptIn", with no limit to new contacts. Strict: any
/// request carrying it challenges a subscribed contact; lenient (`new_or_status_sent`): only a
/// new contact or a request sending `status: subscribed`.
#[tokio::test]
async fn verified_double_on_an_existing_contact_follows_the_knob() {
    let strict = demo().await;
    let mut config = SimConfig::demo();
    config.contacts.verified_double = VerifiedDoubleReading::NewOrStatusSent;
    let lenient = start(config).await;
    let vd = json!({"channelProperties": {"email": {"optInType": "verifiedDouble"}}});
    let by_id = |id: &Value, body: Value| call("PATCH", &format!("/contacts/v3/contactId/{id}")).json(body);

    for (sim, challenges) in [(&strict, true), (&lenient, false)] {
        let ana = upsert(sim, "ana@example.com", json!({"channelProperties": {"email": {"optInType": "double"}}}))
            .await
            .json();
        let bo = upsert(sim, "bo@example.com", json!({})).await.json();
        assert!(sim.confirmation_emails(ACME).is_empty(), "double (not verified) sends nothing");
        // The stored opt-in type is what the control view shows.
        let stored = sim.contact(ACME, "ana@example.com").expect("stored");
        assert_eq!(stored["channelProperties"]["email"]["optInType"], "Double");

        // By email, then by contactId.
        let by_email = upsert(sim, "ana@example.com", vd.clone()).await;
        let by_contact_id = send(sim, by_id(&bo["contactId"], vd.clone())).await;
        for (reply, email) in [(by_email, "ana@example.com"), (by_contact_id, "bo@example.com")] {
            assert_eq!(reply.status, 200, "{}", reply.text());
            let channel = &reply.json()["channelProperties"]["email"];
            assert_eq!(channel["optInType"], "VerifiedDouble", "stored in both readings");
            let status = if challenges { "pendingOptIn" } else { "subscribed" };
            assert_eq!(channel["status"], status, "{email}");
            assert_eq!(sim.contact(ACME, email).expect("stored")["status"], status);
        }
        let sent: Vec<Value> = sim.confirmation_emails(ACME).iter().map(|c| c["contactId"].clone()).collect();
        match challenges {
            true => assert_eq!(sent, [ana["contactId"].clone(), bo["contactId"].clone()]),
            false => assert!(sent.is_empty(), "{sent:?}"),
        }

        // Sending `status: subscribed` with it challenges in both readings.
        let resent = upsert(
            sim,
            "ana@example.com",
            json!({"channelProperties": {"email": {"optInType": "verifiedDouble", "status": "subscribed"}}}),
        )
        .await
        .json();
        assert_eq!(resent["status"], "pendingOptIn");
        assert_eq!(sim.confirmation_emails(ACME).len(), if challenges { 3 } else { 1 });

        // An unsubscribed contact is not resubscribed by the opt-in type alone, in either reading.
        upsert(sim, "cy@example.com", json!({"channelProperties": {"email": {"status": "unsubscribed"}}})).await;
        let before = sim.confirmation_emails(ACME).len();
        let cy = upsert(sim, "cy@example.com", vd.clone()).await.json();
        assert_eq!(cy["channelProperties"]["email"]["status"], "unsubscribed");
        assert_eq!(cy["channelProperties"]["email"]["optInType"], "VerifiedDouble");
        assert_eq!(sim.confirmation_emails(ACME).len(), before);
        // A contact without an email has no email channel to confirm.
        let mobile = send(sim, call("PATCH", "/contacts/v3/mobileNumber/447700900777").json(json!({}))).await;
        assert_eq!(mobile.status, 201);
        let mobile = send(sim, call("PATCH", "/contacts/v3/mobileNumber/447700900777").json(vd.clone())).await;
        assert_eq!(mobile.status, 200);
        assert_eq!(mobile.json()["status"], "noSubscription");
        assert_eq!(sim.confirmation_emails(ACME).len(), before);
        // Nor is a single opt-in type a challenge.
        upsert(sim, "bo@example.com", json!({"channelProperties": {"email": {"optInType": "single"}}})).await;
        assert_eq!(sim.confirmation_emails(ACME).len(), before);
    }

    // Through the control API: the list of confirmations, and the knob.
    let listed = control(&strict, call("GET", &format!("/_sim/confirmation-emails?account={ACME}"))).await;
    assert_eq!(listed.status, 200);
    let listed = listed.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert_eq!(listed[0]["email"], "ana@example.com");
    assert!(listed[0]["sent"].as_str().is_some_and(|t| t.ends_with('Z')), "{listed}");
    assert_eq!(control(&strict, call("GET", "/_sim/confirmation-emails")).await.status, 400, "needs ?account=");
    assert_eq!(control(&strict, call("GET", "/_sim/contact-config")).await.json()["verified_double"], "every_request");
    let changed =
        control(&strict, call("PATCH", "/_sim/contact-config").json(json!({"verified_double": "new_or_status_sent"})))
            .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(strict.contact_config().verified_double, VerifiedDoubleReading::NewOrStatusSent);
    upsert(&strict, "dee@example.com", json!({})).await;
    upsert(&strict, "dee@example.com", vd.clone()).await;
    assert_eq!(strict.confirmation_emails(ACME).len(), 3, "the lenient reading now applies");

    strict.reset();
    assert!(strict.confirmation_emails(ACME).is_empty(), "a reset forgets them");
    assert_eq!(strict.contact_config().verified_double, VerifiedDoubleReading::NewOrStatusSent, "and keeps the knobs");
}
