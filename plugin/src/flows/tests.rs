//! The flows against a scripted platform: which calls go out, in which order, with which
//! bodies, and how each answer becomes an outcome or a typed error.

use serde_json::json;

use super::connection::validate_connection;
use super::contact::sync_contact;
use crate::platform::Method::{Delete, Get, Patch};
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

#[test]
fn a_consenting_customer_joins_every_list_and_the_field_list_is_cached_for_a_day() {
    let platform = FakePlatform::new().expect(Get, &url("/v2/data-fields"), 200, ALL_FIELDS).expect(
        Patch,
        &by_email(),
        201,
        &contact_answer(40001234, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &customer(Some("Y"))).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40001234", SyncAction::Created, 2));
    let body = platform.body(1);
    assert_eq!(body["lists"], json!([10, 20, 21]));
    assert_eq!(body["dataFields"]["POINTS"], json!(1250));
    assert_eq!(body["dataFields"]["VIP"], json!(true));
    assert!(body["channelProperties"]["email"].get("status").is_none(), "{body}");
    let (cached, ttl) = platform.data.borrow()[FIELDS_KEY].clone();
    assert_eq!(ttl, Some(86_400));
    assert!(cached.contains("POINTS") && cached.contains("Numeric"), "{cached}");

    // The next customer reads the list from host data: one call.
    let platform = FakePlatform::new().with_data(FIELDS_KEY, &cached).expect(
        Patch,
        &by_email(),
        200,
        &contact_answer(40001234, &[10, 20, 21]),
    );
    let outcome = sync_contact(&platform, &settings(), &customer(Some("yes"))).unwrap();
    platform.assert_done();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Updated, 1));
}

#[test]
fn a_customer_without_consent_leaves_the_marketing_lists_it_is_in() {
    for consent in [Some("no"), None] {
        let platform = FakePlatform::new()
            .with_data(FIELDS_KEY, ALL_FIELDS)
            .expect(Patch, &by_email(), 200, &contact_answer(40001234, &[10, 21, 99]))
            .expect(Delete, &url("/v2/address-books/21/contacts/40001234"), 204, "");
        let outcome = sync_contact(&platform, &settings(), &customer(consent)).unwrap();
        platform.assert_done();
        assert_eq!(platform.body(0)["lists"], json!([10]));
        assert!(platform.sent.borrow()[1].body.is_none(), "a DELETE carries no body");
        assert_eq!(outcome.api_calls, 2, "{consent:?}");
        assert!(outcome.messages.iter().any(|m| m.contains("marketing list 21")), "{:?}", outcome.messages);
    }

    // A failed removal is that call's typed error.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_email(), 200, &contact_answer(40001234, &[20]))
        .expect(
            Delete,
            &url("/v2/address-books/20/contacts/40001234"),
            404,
            r#"{"message":"Address book not found. ERROR_ADDRESSBOOK_NOT_FOUND"}"#,
        );
    match sync_contact(&platform, &settings(), &customer(Some("0"))) {
        Err(SyncError::Rejected(remote)) => {
            assert_eq!(remote.endpoint, "DELETE /v2/address-books/20/contacts/40001234");
            assert_eq!(remote.code.as_deref(), Some("ERROR_ADDRESSBOOK_NOT_FOUND"));
        }
        other => panic!("{other:?}"),
    }
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_email(), 200, &contact_answer(40001234, &[20]))
        .expect(Delete, &url("/v2/address-books/20/contacts/40001234"), 503, "");
    assert!(matches!(sync_contact(&platform, &settings(), &customer(None)), Err(SyncError::Unavailable(_))));
}

#[test]
fn the_stored_contact_id_is_patched_with_the_current_email() {
    let by_id = url("/contacts/v3/contactId/129212619?merge-option=overwrite");
    let mut c = customer(Some("1"));
    c.contact_id = s("129212619");
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

    // Deleted in Dotdigital: the email upsert takes over, and the outcome says so.
    let platform = FakePlatform::new()
        .with_data(FIELDS_KEY, ALL_FIELDS)
        .expect(Patch, &by_id, 404, r#"{"errorCode":"contacts:contactNotFound","description":"Contact not found"}"#)
        .expect(Patch, &by_email(), 201, &contact_answer(40009999, &[10, 20, 21]));
    let outcome = sync_contact(&platform, &settings(), &c).unwrap();
    platform.assert_done();
    assert_eq!((outcome.external_id.as_str(), outcome.action, outcome.api_calls), ("40009999", SyncAction::Created, 2));
    assert!(outcome.messages.iter().any(|m| m.contains("129212619") && m.contains("no longer exists")));

    // The new email is another contact's: rejected, naming both. Dotdigital's documented 409
    // names neither, so the owner is looked up by email (None: the body names it, no look-up).
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
        let mut c = c.clone();
        c.custom_fields.retain(|f| f.name != "Mobile Number");
        c.addresses.clear();
        let mut platform = FakePlatform::new().with_data(FIELDS_KEY, ALL_FIELDS).expect(Patch, &by_id, 409, body);
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
        &by_email(),
        200,
        &contact_answer(1, &[10]),
    );
    let outcome = sync_contact(&platform, &raw, &customer(Some("true"))).unwrap();
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
            "https://r2-api.dotdigital.com/contacts/v3/email/jane.doe%40example.com?merge-option=overwrite",
            200,
            &contact_answer(7, &[10, 20, 21]),
        );
    sync_contact(&platform, &raw, &customer(Some("yes"))).unwrap();
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

#[test]
fn a_contact_made_for_an_order_joins_no_list_and_carries_only_the_names_the_account_has() {
    let tx = wit::Transaction {
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
    };
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
    let outcome = super::order::sync_order(&platform, &settings(), &tx).unwrap();
    platform.assert_done();
    assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 4));
    assert_eq!(
        platform.body(2),
        json!({"identifiers": {"email": "jane.doe@example.com"}, "dataFields": {"LASTNAME": "Doe"}})
    );
    assert!(outcome.messages.iter().any(|m| m.contains("FIRSTNAME")), "{:?}", outcome.messages);
}
