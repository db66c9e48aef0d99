//! The flows against a scripted platform: which calls go out, in which order, with which
//! bodies, and how each answer becomes an outcome or a typed error.

use serde_json::json;

use super::connection::validate_connection;
use super::contact::sync_contact;
use crate::platform::Method::{Delete, Get, Patch, Post};
use crate::test_support::{field, jane, raw_settings, s, FakePlatform};
use crate::wit::{self, SyncAction, SyncError};

const R1: &str = "https://r1-api.dotdigital.com";
const FIELDS_KEY: &str = "data-fields:apiuser-abc123@apiconnector.com";
const ALL_FIELDS: &str = r#"[{"name":"FIRSTNAME","type":"String","visibility":"Private","defaultValue":null},
    {"name":"LASTNAME","type":"String"},{"name":"FULLNAME","type":"String"},
    {"name":"POINTS","type":"Numeric"},{"name":"VIP","type":"Boolean"}]"#;

fn url(path: &str) -> String {
    format!("{R1}{path}")
}

/// Settings on r1 (no discovery) with lists for everyone (10) and for consenting customers (20, 21).
fn settings() -> wit::Settings {
    let mut raw = raw_settings();
    raw.api_endpoint = s(R1);
    raw.list_ids = vec![10];
    raw.marketing_list_ids = vec![20, 21];
    raw.data_field_map = vec![
        wit::FieldMapping { custom_field: "Points".into(), data_field: "POINTS".into() },
        wit::FieldMapping { custom_field: "VIP".into(), data_field: "VIP".into() },
    ];
    raw
}

/// A PATCH answer: the contact with the lists it is in.
fn contact_answer(id: i64, lists: &[u32]) -> String {
    let lists: Vec<_> = lists.iter().map(|id| json!({"id": id, "name": "List", "status": "subscribed"})).collect();
    json!({"contactId": id, "status": "subscribed", "created": "2025-03-02T10:15:00Z", "updated": "2025-03-02T10:15:00Z",
           "identifiers": {"email": "jane.doe@example.com"}, "lists": lists})
    .to_string()
}

fn by_email() -> String {
    url("/contacts/v3/email/jane.doe%40example.com?merge-option=overwrite")
}

fn customer(consent: Option<&str>) -> wit::Customer {
    let mut c = jane();
    c.custom_fields = vec![field("Points", Some("1250")), field("VIP", Some("yes"))];
    if let Some(consent) = consent {
        c.custom_fields.push(field("Email Marketing Consent", Some(consent)));
    }
    c
}

const CREATE: &str = "/contacts/v3";
const TAKEN: &str = r#"{"errorCode":"contacts:idAlreadyExists","description":"The id value 'jane.doe@example.com' for the identifier 'email' already exists. All identifiers must be unique!"}"#;

fn by_id(id: u32) -> String {
    url(&format!("/contacts/v3/contactId/{id}?merge-option=overwrite"))
}

/// A customer with a stored contactId and no mobile number.
fn stored(consent: Option<&str>, id: u32) -> wit::Customer {
    let mut c = customer(consent);
    c.contact_id = Some(id.to_string());
    c.addresses.clear();
    c
}

/// The contact answer without `lists` (optional in contacts-v3.json's `contact`).
fn bare_answer(id: i64, email_status: &str) -> String {
    json!({"contactId": id, "identifiers": {"email": "jane.doe@example.com"},
           "channelProperties": {"email": {"status": email_status, "emailType": "html", "optInType": "double"}}})
    .to_string()
}

#[test]
fn a_new_customer_gets_the_opt_in_type_only_by_email_and_the_field_list_is_cached_for_a_day() {
    let mut c = customer(Some("Y"));
    c.addresses.clear();
    let platform = FakePlatform::new().expect(Get, &url("/v2/data-fields"), 200, ALL_FIELDS).expect(
        Patch,
        &by_email(),
        201,
        &contact_answer(40001234, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40001234", SyncAction::Created, 2));
    let body = platform.body(1);
    assert_eq!(body["lists"], json!([10, 20, 21]));
    assert_eq!(body["dataFields"]["POINTS"], json!(1250));
    assert_eq!(body["dataFields"]["VIP"], json!(true));
    // Matched by email, the contact may be new: the subscription's opt-in type goes along.
    assert_eq!(body["channelProperties"]["email"], json!({"emailType": "html", "optInType": "single"}));
    let (cached, ttl) = platform.data.borrow()[FIELDS_KEY].clone();
    assert_eq!(ttl, Some(86_400));
    assert!(cached.contains("POINTS") && cached.contains("Numeric"), "{cached}");

    // The steady state: the stored contactId, one call, and no opt-in type rewritten.
    let platform = FakePlatform::new().with_data(FIELDS_KEY, &cached).expect(
        Patch,
        &by_id(40001234),
        200,
        &contact_answer(40001234, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &stored(Some("yes"), 40001234)).unwrap();
    platform.assert_done();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Updated, 1));
    // Neither default (email type, opt-in type) is rewritten on a contact that exists.
    assert!(platform.body(0).get("channelProperties").is_none(), "{}", platform.body(0));
}

#[test]
fn verified_double_reaches_only_a_new_contact() {
    let verified = |c: &mut wit::Customer| c.custom_fields.push(field("Email Opt In Type", Some("VerifiedDouble")));
    // Stored id: the PATCH leaves the opt-in type alone and says why.
    let mut c = stored(Some("yes"), 7);
    verified(&mut c);
    let platform =
        FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(Patch, &by_id(7), 200, &contact_answer(7, &[]));
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert!(platform.body(0).pointer("/channelProperties/email/optInType").is_none());
    assert!(outcome.messages.iter().any(|m| m.contains("verifiedDouble not written")), "{:?}", outcome.messages);

    // No stored id: the create-only POST carries it; a contact that exists (409) gets the
    // PATCH by email without it.
    c.contact_id = None;
    let platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(Post, &url(CREATE), 409, TAKEN).expect(
        Patch,
        &by_email(),
        200,
        &contact_answer(7, &[]),
    );
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Updated, 2));
    assert_eq!(platform.body(0)["channelProperties"]["email"]["optInType"], "verifiedDouble");
    assert!(platform.body(1)["channelProperties"]["email"].get("optInType").is_none());
    assert_eq!(outcome.messages.iter().filter(|m| m.contains("verifiedDouble not written")).count(), 1);

    // The subscription's verifiedDouble, a new contact: created by the POST, one call.
    let mut raw = settings();
    raw.opt_in_type = s("verifiedDouble");
    let plain = stored(Some("yes"), 1);
    let mut plain = plain.clone();
    plain.contact_id = None;
    let platform =
        FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(Post, &url(CREATE), 201, &contact_answer(8, &[]));
    let outcome = sync_contact(&platform, &raw, &plain).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("8", SyncAction::Created, 1));

    // A new contact's mobile number goes in a second call (so the POST's 409 can only mean
    // the email); another contact holding the number is a note.
    let mut with_mobile = plain.clone();
    with_mobile.custom_fields.push(field("Mobile Number", Some("+447700900123")));
    for (status, note) in [(200, false), (409, true)] {
        let platform = FakePlatform::new()
            .with_data(FIELDS_KEY, ALL_FIELDS)
            .expect(Post, &url(CREATE), 201, &contact_answer(40001235, &[]))
            .expect(Patch, &by_id(40001235), status, &contact_answer(40001235, &[]));
        let outcome = sync_contact(&platform, &raw, &with_mobile).unwrap();
        platform.assert_done();
        assert!(platform.body(0)["identifiers"].get("mobileNumber").is_none());
        assert_eq!(platform.body(1), json!({"identifiers": {"mobileNumber": "447700900123"}}));
        assert_eq!((outcome.external_id.as_str(), outcome.action), ("40001235", SyncAction::Created));
        assert_eq!(outcome.messages.iter().any(|m| m.contains("mobile number")), note, "{:?}", outcome.messages);
    }

    // The record's own `Double` goes to any contact in one PATCH.
    let mut c = customer(Some("yes"));
    c.addresses.clear();
    c.custom_fields.push(field("Email Opt In Type", Some("Double")));
    let platform =
        FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(Patch, &by_email(), 200, &contact_answer(7, &[]));
    sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!(platform.body(0)["channelProperties"]["email"]["optInType"], "double");
}

#[test]
fn an_explicit_no_leaves_every_marketing_list_whatever_the_answer_carries() {
    // The answer lists the contact's lists: only those it is in are left.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(40001234), 200, &contact_answer(40001234, &[10, 21, 99]))
        .expect(Delete, &url("/v2/address-books/21/contacts/40001234"), 204, "");
    let outcome = sync_contact(&platform, &settings(), &stored(Some("no"), 40001234)).unwrap();
    platform.assert_done();
    assert_eq!(platform.body(0)["lists"], json!([10]));
    assert!(platform.sent.borrow()[1].body.is_none(), "a DELETE carries no body");
    assert_eq!(outcome.api_calls, 2);
    assert!(outcome.messages.iter().any(|m| m.contains("marketing list 21")), "{:?}", outcome.messages);

    // No `lists` in the answer (the normal case): every marketing list is asked; 404 = not on it.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(40001234), 200, &bare_answer(40001234, "subscribed"))
        .expect(Delete, &url("/v2/address-books/20/contacts/40001234"), 404, r#"{"message":"ERROR_CONTACT_NOT_FOUND"}"#)
        .expect(Delete, &url("/v2/address-books/21/contacts/40001234"), 204, "");
    let outcome = sync_contact(&platform, &settings(), &stored(Some("N"), 40001234)).unwrap();
    platform.assert_done();
    assert_eq!(outcome.api_calls, 3);
    assert!(outcome.messages.iter().any(|m| m.contains("marketing list 21")), "{:?}", outcome.messages);
    assert!(!outcome.messages.iter().any(|m| m.contains("list 20")), "{:?}", outcome.messages);

    // An unsubscribed or suppressed email: v2 may not process list changes; the removal is
    // still asked (the record said no), and the outcome says what came of it.
    for status in ["unsubscribed", "suppressed"] {
        let platform = FakePlatform::new()
            .with_data(FIELDS_KEY, ALL_FIELDS)
            .expect(Patch, &by_id(5), 200, &bare_answer(5, status))
            .expect(Delete, &url("/v2/address-books/20/contacts/5"), 204, "")
            .expect(
                Delete,
                &url("/v2/address-books/21/contacts/5"),
                400,
                r#"{"message":"Contact is suppressed. ERROR_CONTACT_SUPPRESSED"}"#,
            );
        let outcome = sync_contact(&platform, &settings(), &stored(Some("0"), 5)).unwrap();
        platform.assert_done();
        let said = |text: &str| outcome.messages.iter().any(|m| m.contains(text));
        assert!(said(&format!("list 20 asked, but the contact's email is {status}")), "{:?}", outcome.messages);
        assert!(said("did not remove the contact from marketing list 21"), "{:?}", outcome.messages);
    }
    // A 404 for a list the answer says the contact is on: a refusal, said in the outcome.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(5), 200, &contact_answer(5, &[20]))
        .expect(Delete, &url("/v2/address-books/20/contacts/5"), 404, r#"{"message":"ERROR_CONTACT_NOT_FOUND"}"#);
    let outcome = sync_contact(&platform, &settings(), &stored(Some("no"), 5)).unwrap();
    platform.assert_done();
    assert!(outcome.messages.iter().any(|m| m.contains("did not remove")), "{:?}", outcome.messages);

    // A removal Dotdigital refuses is a message, not a failed sync (the contact was written).
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(5), 200, &contact_answer(5, &[20]))
        .expect(
            Delete,
            &url("/v2/address-books/20/contacts/5"),
            400,
            r#"{"message":"Contact is suppressed. ERROR_CONTACT_SUPPRESSED"}"#,
        );
    let outcome = sync_contact(&platform, &settings(), &stored(Some("false"), 5)).unwrap();
    platform.assert_done();
    assert!(outcome.messages.iter().any(|m| m.contains("did not remove") && m.contains("list 20")));

    // Any other refusal, outages and credentials fail the sync (never a silently lost
    // withdrawal), which a retry repeats safely.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(5), 200, &contact_answer(5, &[20]))
        .expect(Delete, &url("/v2/address-books/20/contacts/5"), 400, r#"{"message":"ERROR_INVALID_REQUEST"}"#);
    assert!(matches!(sync_contact(&platform, &settings(), &stored(Some("no"), 5)), Err(SyncError::Rejected(_))));
    for (status, unavailable) in [(503, true), (401, false)] {
        let platform = FakePlatform::new()
            .with_data(FIELDS_KEY, ALL_FIELDS)
            .expect(Patch, &by_id(5), 200, &contact_answer(5, &[20]))
            .expect(Delete, &url("/v2/address-books/20/contacts/5"), status, "");
        match sync_contact(&platform, &settings(), &stored(Some("no"), 5)) {
            Err(SyncError::Unavailable(_)) if unavailable => {}
            Err(SyncError::Unauthorized(_)) if !unavailable => {}
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn unknown_consent_leaves_marketing_lists_as_they_are() {
    for consent in [None, Some(" ")] {
        let platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(
            Patch,
            &by_id(5),
            200,
            &contact_answer(5, &[10, 20]),
        );
        let outcome = sync_contact(&platform, &settings(), &stored(consent, 5)).unwrap();
        platform.assert_done();
        assert_eq!(outcome.api_calls, 1, "{consent:?}");
        assert_eq!(platform.body(0)["lists"], json!([10]));
        assert!(outcome.messages.iter().any(|m| m.contains("consent unknown")), "{:?}", outcome.messages);
    }
}

#[test]
fn the_stored_contact_id_is_patched_with_the_current_email() {
    let c = stored(Some("1"), 129212619);
    let by_id = by_id(129212619);
    let platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(
        Patch,
        &by_id,
        200,
        &contact_answer(129212619, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action), ("129212619", SyncAction::Updated));
    assert_eq!(platform.body(0)["identifiers"]["email"], "jane.doe@example.com");

    // Deleted in Dotdigital, the email free: the PATCH creates a new contact (importContact),
    // whose id becomes the external id.
    let platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(
        Patch,
        &by_id,
        201,
        &contact_answer(40009999, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40009999", SyncAction::Created, 1));
    assert!(outcome.messages.iter().any(|m| m.contains("129212619") && m.contains("40009999")));

    // A 404 falls back to the email.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id, 404, r#"{"errorCode":"contacts:contactNotFound","description":"Contact not found"}"#)
        .expect(Patch, &by_email(), 201, &contact_answer(40009999, &[10, 20, 21]));
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40009999", SyncAction::Created, 2));
    assert!(outcome.messages.iter().any(|m| m.contains("129212619") && m.contains("no longer exists")));

    // 409 and the stored contact is gone: the email's owner is updated and becomes the
    // external id, the message naming both.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id, 409, TAKEN)
        .expect(Get, &url("/contacts/v3/contactId/129212619"), 404, "")
        .expect(Patch, &by_email(), 200, &contact_answer(40005555, &[10, 20, 21]));
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40005555", SyncAction::Updated, 3));
    assert!(
        outcome.messages.iter().any(|m| m.contains("129212619") && m.contains("40005555")),
        "{:?}",
        outcome.messages
    );

    // 409 and the stored contact still exists: the new email is another contact's, rejected
    // naming both. Dotdigital's documented 409 names neither, so the owner is looked up by
    // email (None: the body names it, no look-up).
    let by_email = url("/contacts/v3/email/jane.doe%40example.com");
    let documented = r#"{"errorCode":"contacts:idAlreadyExists","description":"x"}"#;
    for (body, lookup, other) in [
        (
            r#"{"errorCode":"contacts:idAlreadyExists","description":"The id value 'jane.doe@example.com' for the identifier 'email' already exists.","details":[{"item":"contactId","description":"40005555"}]}"#,
            None,
            "contact 40005555",
        ),
        (
            r#"{"contactId":40005555,"errorCode":"contacts:idAlreadyExists","description":"x"}"#,
            None,
            "contact 40005555",
        ),
        (documented, Some((200, contact_answer(40007777, &[]))), "contact 40007777"),
        (documented, Some((404, String::new())), "does not say which"),
    ] {
        let mut platform = FakePlatform::new()
            .with_data(FIELDS_KEY, ALL_FIELDS)
            .expect(Patch, &by_id, 409, body)
            .expect(Get, &url("/contacts/v3/contactId/129212619"), 200, &contact_answer(129212619, &[]));
        if let Some((status, answer)) = &lookup {
            platform = platform.expect(Get, &by_email, *status, answer);
        }
        match sync_contact(&platform, &settings(), &c) {
            Err(SyncError::Rejected(remote)) => {
                assert_eq!(remote.status, 409);
                assert!(
                    remote.message.contains(other) && remote.message.contains("contact 129212619"),
                    "{}",
                    remote.message
                );
                assert!(remote.endpoint.starts_with("PATCH /contacts/v3/contactId/129212619"));
            }
            other => panic!("{other:?}"),
        }
        platform.assert_done();
    }
}

#[test]
fn bad_input_sends_nothing() {
    // Record problems: no request at all (the fake panics on any).
    let mut c = customer(Some("perhaps"));
    c.contact_id = s("abc");
    match sync_contact(&FakePlatform::new(), &settings(), &c) {
        Err(SyncError::InvalidRecord(issues)) => {
            let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
            assert_eq!(fields, ["contact_id", "custom_fields.Email Marketing Consent"]);
        }
        other => panic!("{other:?}"),
    }
    // A value that does not fit its data field: nothing written.
    let mut c = customer(None);
    c.custom_fields[0].value = s("many");
    let platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS);
    match sync_contact(&platform, &settings(), &c) {
        Err(SyncError::InvalidRecord(issues)) => {
            assert_eq!(issues[0].field, "custom_fields.Points");
            assert!(issues[0].problem.contains("Numeric"), "{}", issues[0].problem);
        }
        other => panic!("{other:?}"),
    }
    assert!(platform.sent.borrow().is_empty());
    // A mapped field the cached list lacks: read again, then invalid-settings, nothing written.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, r#"[{"name":"FIRSTNAME","type":"String"},{"name":"POINTS","type":"Numeric"}]"#)
        .expect(Get, &url("/v2/data-fields"), 200, r#"[{"name":"POINTS","type":"Numeric"}]"#);
    match sync_contact(&platform, &settings(), &customer(None)) {
        Err(SyncError::InvalidSettings(issues)) => {
            assert_eq!(issues.len(), 1);
            assert_eq!(issues[0].field, "data_field_map[1].data_field");
            assert!(issues[0].problem.contains("VIP"));
        }
        other => panic!("{other:?}"),
    }
    platform.assert_done();
}

#[test]
fn names_are_left_out_where_the_account_lacks_the_fields() {
    let mut raw = settings();
    raw.data_field_map.clear();
    let platform = FakePlatform::new().with_data(FIELDS_KEY, r#"[{"name":"FIRSTNAME","type":"String"}]"#).expect(
        Patch,
        &by_id(1),
        200,
        &contact_answer(1, &[10]),
    );
    let outcome = sync_contact(&platform, &raw, &stored(Some("true"), 1)).unwrap();
    assert_eq!(platform.body(0)["dataFields"], json!({"FIRSTNAME": "Jane"}));
    assert!(outcome.messages.iter().any(|m| m.contains("LASTNAME")), "{:?}", outcome.messages);
}

fn account_info(endpoint: &str) -> String {
    json!({"id": 4711, "properties": [{"name": "Name", "type": "String", "value": "Acme"},
                                      {"name": "ApiEndpoint", "type": "String", "value": endpoint}]})
    .to_string()
}

#[test]
fn discovery_accepts_the_legacy_host_and_rejects_any_other() {
    let mut raw = settings();
    raw.api_endpoint = None;
    let platform = FakePlatform::new()
        .expect(Get, &url("/v2/account-info"), 200, &account_info("https://r2-api.dotmailer.com/"))
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(
            Patch,
            "https://r2-api.dotdigital.com/contacts/v3/contactId/7?merge-option=overwrite",
            200,
            &contact_answer(7, &[10, 20, 21]),
        );
    sync_contact(&platform, &raw, &stored(Some("yes"), 7)).unwrap();
    platform.assert_done();
    assert_eq!(platform.data.borrow()["region:apiuser-abc123@apiconnector.com"].0, "https://r2-api.dotdigital.com");

    let platform =
        FakePlatform::new().expect(Get, &url("/v2/account-info"), 200, &account_info("https://api.evil.example/"));
    match sync_contact(&platform, &raw, &customer(None)) {
        Err(SyncError::Rejected(remote)) => {
            assert_eq!(remote.endpoint, "GET /v2/account-info");
            assert!(remote.message.contains("api.evil.example"), "{}", remote.message);
        }
        other => panic!("{other:?}"),
    }
    platform.assert_done();
}

#[test]
fn validation_lists_every_problem_at_once() {
    let mut raw = settings();
    raw.list_ids = vec![10, 11];
    raw.certificate_campaign_id = Some(42);
    raw.data_field_map.push(wit::FieldMapping { custom_field: "Tier".into(), data_field: "TIER".into() });
    let platform = FakePlatform::new()
        .expect(Get, &url("/v2/account-info"), 200, &account_info("https://r1-api.dotdigital.com/"))
        .expect(Get, &url("/contacts/v3/email/connection-check%40example.com"), 404, "")
        .expect(Get, &url("/v2/data-fields"), 200, r#"[{"name":"POINTS","type":"Numeric"},{"name":"VIP","type":"NotAvailableInThisVersion"},{"name":"FIRSTNAME","type":"String"}]"#)
        .expect(Get, &url("/v2/address-books/10"), 200, r#"{"id":10,"name":"All","visibility":"Private","contacts":3}"#)
        .expect(Get, &url("/v2/address-books/11"), 404, r#"{"message":"Error: ERROR_ADDRESSBOOK_NOT_FOUND"}"#)
        .expect(Get, &url("/v2/address-books/20"), 200, r#"{"id":20,"name":"News"}"#)
        .expect(Get, &url("/v2/address-books/21"), 404, r#"{"message":"Error: ERROR_ADDRESSBOOK_NOT_FOUND"}"#)
        .expect(Get, &url("/insightData/v3/collections"), 403, "")
        .expect(Get, &url("/v2/campaigns/42"), 200, r#"{"id":42,"name":"Cert","status":"Sent"}"#);
    let account = validate_connection(&platform, &raw).unwrap();
    platform.assert_done();
    let problems: Vec<(&str, &str)> = account.problems.iter().map(|p| (p.field.as_str(), p.problem.as_str())).collect();
    let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        [
            "data_field_map[1].data_field",
            "data_field_map[2].data_field",
            "list_ids[1]",
            "marketing_list_ids[1]",
            "certificate_campaign_id",
            "api_user"
        ]
    );
    assert!(problems[0].1.contains("NotAvailableInThisVersion"));
    assert!(problems[1].1.contains("no contact data field TIER"));
    assert!(problems[2].1.contains("list 11") && problems[3].1.contains("list 21"));
    assert!(problems[4].1.contains("status Sent"), "{}", problems[4].1);
    assert!(problems[5].1.contains("insight-data"));
    let contacts = &account.areas[0];
    assert!(contacts.allowed && contacts.detail.as_deref().unwrap().contains("LASTNAME, FULLNAME"));
    assert!(!account.areas[1].allowed);
    assert_eq!(platform.data.borrow()[FIELDS_KEY].1, Some(86_400), "validation refreshes the cached list");
}

#[test]
fn validation_lists_the_settings_own_problems_beside_the_accounts() {
    let mut raw = settings();
    raw.data_field_map.clear();
    raw.marketing_list_ids.clear();
    raw.list_ids = vec![11];
    raw.collection_name = Some("not a collection!".into());
    raw.default_currency = Some("XYZ".into());
    let platform = FakePlatform::new()
        .expect(Get, &url("/v2/account-info"), 200, &account_info("https://r1-api.dotdigital.com"))
        .expect(Get, &url("/contacts/v3/email/connection-check%40example.com"), 404, "")
        .expect(Get, &url("/v2/data-fields"), 200, ALL_FIELDS)
        .expect(Get, &url("/v2/address-books/11"), 404, r#"{"message":"Error: ERROR_ADDRESSBOOK_NOT_FOUND"}"#)
        .expect(Get, &url("/insightData/v3/collections"), 200, "[]");
    let account = validate_connection(&platform, &raw).unwrap();
    platform.assert_done();
    let fields: Vec<&str> = account.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["collection_name", "default_currency", "list_ids[0]"]);

    // Credentials Dotdigital refuses: one more problem, listed with the settings' own.
    let platform = FakePlatform::new().expect(
        Get,
        &url("/v2/account-info"),
        401,
        r#"{"message":"Authorization has been denied for this request."}"#,
    );
    let Err(wit::SyncError::InvalidSettings(issues)) = validate_connection(&platform, &raw) else {
        panic!("the refusal is listed with the settings' problems")
    };
    let fields: Vec<&str> = issues.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["collection_name", "default_currency", "api_password"]);
    platform.assert_done();

    // Credentials that cannot sign in: nothing else can be judged, nothing is sent.
    raw.api_user = " ".into();
    let platform = FakePlatform::new();
    let Err(wit::SyncError::InvalidSettings(issues)) = validate_connection(&platform, &raw) else {
        panic!("no user, no check")
    };
    let fields: Vec<&str> = issues.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["api_user", "collection_name", "default_currency"]);
    platform.assert_done();
}

#[test]
fn a_campaign_must_exist_and_be_triggerable() {
    for (status, body, problem) in [
        (200, r#"{"id":42,"status":"Triggered"}"#, None),
        (200, r#"{"id":42,"status":"unsent"}"#, Some("status unsent")),
        (200, r#"{"id":42,"status":"Paused"}"#, Some("status Paused")),
        (200, r#"{"id":42,"status":"RequiresSystemApproval"}"#, Some("RequiresSystemApproval")),
        (200, r#"{"id":42}"#, Some("(none given)")),
        (404, r#"{"message":"Error: ERROR_CAMPAIGN_NOT_FOUND"}"#, Some("does not exist")),
    ] {
        let mut raw = settings();
        raw.data_field_map.clear();
        raw.list_ids.clear();
        raw.marketing_list_ids.clear();
        raw.certificate_campaign_id = Some(42);
        let platform = FakePlatform::new()
            .expect(Get, &url("/v2/account-info"), 200, &account_info("https://r1-api.dotdigital.com"))
            .expect(Get, &url("/contacts/v3/email/connection-check%40example.com"), 404, "")
            .expect(Get, &url("/v2/data-fields"), 200, ALL_FIELDS)
            .expect(Get, &url("/insightData/v3/collections"), 200, "[]")
            .expect(Get, &url("/v2/campaigns/42"), status, body);
        let account = validate_connection(&platform, &raw).unwrap();
        platform.assert_done();
        match problem {
            None => assert!(account.problems.is_empty(), "{body}: {:?}", account.problems),
            Some(text) => {
                assert_eq!(account.problems.len(), 1, "{body}");
                assert_eq!(account.problems[0].field, "certificate_campaign_id");
                assert!(account.problems[0].problem.contains(text), "{}", account.problems[0].problem);
            }
        }
    }
}

/// Jane's order SO-1, with no lines.
fn jane_order() -> wit::Transaction {
    wit::Transaction {
        id: "902114".into(),
        tracking_guid: None,
        transaction_number: s("SO-1"),
        customer_id: None,
        email_address: s("jane.doe@example.com"),
        transaction_type: s("Order"),
        status: s("Complete"),
        discount_amount: None,
        tax_amount: None,
        shipping_amount: None,
        subtotal: Some(10.0),
        total: Some(10.0),
        total_qty: None,
        created_datetime: s("2025-03-14T10:22:05+00:00"),
        updated_datetime: None,
        lines: vec![],
        addresses: vec![wit::Address {
            first_name: s("Jane"),
            last_name: s("Doe"),
            is_primary_billing: true,
            ..crate::test_support::address()
        }],
        payments: vec![],
        custom_fields: vec![field("Currency", Some("GBP"))],
    }
}

#[test]
fn a_contact_made_for_an_order_joins_no_list_and_carries_only_the_names_the_account_has() {
    let tx = jane_order();
    let record = url("/insightData/v3/contacts/email/jane.doe%40example.com/Purchases/SO-1");
    let not_found = r#"{"errorCode":"insightData:contactNotFound","description":"Contact not found"}"#;
    let platform = FakePlatform::new()
        .expect(crate::platform::Method::Put, &record, 404, not_found)
        .expect(Get, &url("/v2/data-fields"), 200, r#"[{"name":"LASTNAME","type":"String"}]"#)
        .expect(
            Patch,
            &url("/contacts/v3/email/jane.doe%40example.com?merge-option=overwrite-if-empty"),
            201,
            &contact_answer(5, &[]),
        )
        .expect(crate::platform::Method::Put, &record, 201, "");
    let outcome = super::order::sync_order(&platform, &settings(), None, &tx).unwrap();
    platform.assert_done();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 4));
    assert_eq!(
        platform.body(2),
        json!({"identifiers": {"email": "jane.doe@example.com"}, "dataFields": {"LASTNAME": "Doe"}})
    );
    assert!(outcome.messages.iter().any(|m| m.contains("FIRSTNAME")), "{:?}", outcome.messages);
}

#[test]
fn with_order_contacts_require_an_unknown_buyer_is_rejected_and_nothing_is_created() {
    let mut tx = jane_order();
    tx.transaction_number = s("SO-9");
    let record = url("/insightData/v3/contacts/email/jane.doe%40example.com/Purchases/SO-9");
    let not_found = r#"{"errorCode":"insightData:contactNotFound","description":"Contact not found"}"#;
    let platform = FakePlatform::new().expect(crate::platform::Method::Put, &record, 404, not_found);
    match super::order::sync_order(&platform, &settings(), Some("Require"), &tx) {
        Err(SyncError::Rejected(remote)) => {
            assert_eq!(remote.status, 404);
            assert!(remote.message.contains("sync the customer first"), "{}", remote.message);
        }
        other => panic!("{other:?}"),
    }
    platform.assert_done();
    // A known buyer's order is written as usual.
    let platform = FakePlatform::new().expect(crate::platform::Method::Put, &record, 201, "");
    let outcome = super::order::sync_order(&platform, &settings(), Some("require"), &tx).unwrap();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 1));
    // Any other value is a settings problem, before any request.
    match super::order::sync_order(&FakePlatform::new(), &settings(), Some("maybe"), &tx) {
        Err(SyncError::InvalidSettings(issues)) => assert_eq!(issues[0].field, "order_contacts"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_clash_on_the_stored_contact_still_applies_an_explicit_no_and_tries_without_the_mobile() {
    let mut c = stored(Some("no"), 77);
    c.custom_fields.push(field("Mobile Number", Some("+447700900123")));
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(77), 409, TAKEN)
        .expect(Get, &url("/contacts/v3/contactId/77"), 200, &bare_answer(77, "subscribed"))
        .expect(Patch, &by_id(77), 409, TAKEN)
        .expect(Delete, &url("/v2/address-books/20/contacts/77"), 204, "")
        .expect(Delete, &url("/v2/address-books/21/contacts/77"), 404, "")
        .expect(Get, &url("/contacts/v3/email/jane.doe%40example.com"), 200, &contact_answer(88, &[]));
    match sync_contact(&platform, &settings(), &c) {
        Err(SyncError::Rejected(remote)) => assert!(remote.message.contains("contact 88"), "{}", remote.message),
        other => panic!("{other:?}"),
    }
    platform.assert_done();
    assert!(platform.body(2)["identifiers"].get("mobileNumber").is_none(), "the retry leaves the number out");

    // The mobile number was the clash: the retry without it succeeds, and the outcome says so.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id(77), 409, TAKEN)
        .expect(Get, &url("/contacts/v3/contactId/77"), 200, &bare_answer(77, "subscribed"))
        .expect(Patch, &by_id(77), 200, &contact_answer(77, &[]));
    let mut c = stored(Some("yes"), 77);
    c.custom_fields.push(field("Mobile Number", Some("+447700900123")));
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("77", SyncAction::Updated, 3));
    assert!(outcome.messages.iter().any(|m| m.contains("mobile number")), "{:?}", outcome.messages);
}
