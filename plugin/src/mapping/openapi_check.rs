//! Test-only: every body the mapping builds, checked against Dotdigital's published OpenAPI
//! files (through the structure-only copies the `openapi-check` crate derives and commits), so
//! a misspelt key or an enum in the wrong casing fails here rather than as a 400 from Dotdigital.

use openapi_check::Spec;
use serde_json::{json, Value};

use super::certificate::{triggered_send, Certificate, CertificateStatus};
use super::contact::{contact_for_certificate, contact_for_order};
use super::data_fields::NameFields;
use super::order::ValidOrder;
use crate::settings::Settings;
use crate::test_support::{jane, s, string_upsert};
use crate::wit;

const CONTACTS: &str = "contacts-v3.json";
const TRANSACTIONAL: &str = "transactional-email-v2.json";

fn errors_for(spec: &Spec, schema: &Value, body: &Value) -> Vec<String> {
    spec.problems(schema, body)
}

fn rich_settings() -> Settings {
    let mut raw = crate::test_support::raw_settings();
    raw.email_type = s("plainText");
    raw.opt_in_type = s("verifiedDouble");
    raw.list_ids = vec![123456, 2147483647];
    raw.data_field_map = vec![
        wit::FieldMapping { custom_field: "Loyalty Tier".into(), data_field: "LOYALTY_TIER".into() },
        wit::FieldMapping { custom_field: "Points".into(), data_field: "points".into() },
    ];
    Settings::validate(&raw).unwrap()
}

fn certificate_fixture() -> Certificate {
    Certificate {
        number: "10573".into(),
        email: "jane.doe@example.com".into(),
        recipient_name: s("Jane Doe"),
        status: CertificateStatus::Active,
        value_cents: 1000,
        balance_cents: Some(1000),
        original_cents: Some(1000),
        currency: s("GBP"),
        url: s("https://rewards.example.com/c/10573-9F2K"),
        campaign_id: Some(4242),
        issue_date: s("2025-03-14T10:30:00Z"),
        expiry_date: s("2025-06-30T23:59:59Z"),
        expiry_day: s("2025-06-30"),
        card_type: s("Store Credit"),
        description: None,
    }
}

#[test]
fn contact_bodies_match_the_patch_schema() {
    let spec = Spec::load(CONTACTS);
    let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");

    let mut customer = jane();
    customer.custom_fields.push(wit::CustomField { name: "Points".into(), value: None });
    let full = string_upsert(&rich_settings(), &customer).unwrap();
    // The fixture exercises every part of the body.
    for key in ["identifiers", "dataFields", "channelProperties", "lists"] {
        assert!(full.body.get(key).is_some(), "{key} missing from {}", full.body);
    }
    assert!(full.body["identifiers"].get("mobileNumber").is_some());
    assert_eq!(full.body["dataFields"]["POINTS"], Value::Null);

    let order = ValidOrder {
        key: "SO-1".into(),
        email: "jane.doe@example.com".into(),
        record: json!({}),
        billing_first_name: s("Jane"),
        billing_last_name: None,
    };
    let bodies = [
        full.email_body,
        full.body,
        string_upsert(&Settings::validate(&crate::test_support::raw_settings()).unwrap(), &jane()).unwrap().body,
        contact_for_order(&order, NameFields::ALL).body,
        contact_for_certificate(&certificate_fixture(), NameFields::ALL).body,
    ];
    for body in &bodies {
        let errors = errors_for(&spec, schema, body);
        assert!(errors.is_empty(), "{body}\n{errors:#?}");
    }
}

#[test]
fn the_create_body_and_the_mobile_follow_up_match_their_schemas() {
    let spec = Spec::load(CONTACTS);
    let create_schema = spec.request_schema("/contacts/v3", "post");
    let patch_schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
    let mut customer = jane();
    customer.custom_fields.retain(|f| f.name != "Email Opt In Type");
    let upsert = string_upsert(&rich_settings(), &customer).unwrap();
    let create = upsert.create.expect("verifiedDouble, no stored id: created first");
    assert_eq!(create["channelProperties"]["email"]["optInType"], "verifiedDouble", "rich_settings' opt_in_type");
    let errors = errors_for(&spec, create_schema, &create);
    assert!(errors.is_empty(), "{create}\n{errors:#?}");
    let mobile = json!({"identifiers": {"mobileNumber": "447700900123"}});
    let errors = errors_for(&spec, patch_schema, &mobile);
    assert!(errors.is_empty(), "{mobile}\n{errors:#?}");
}

#[test]
fn consent_typed_fields_and_the_opt_in_override_match_the_patch_schema() {
    use super::contact::customer_contact;
    use super::data_fields::{DataFieldType, TypedMapping};
    let spec = Spec::load(CONTACTS);
    let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
    let mut raw = crate::test_support::raw_settings();
    raw.list_ids = vec![10];
    raw.marketing_list_ids = vec![20, 2147483647];
    raw.data_field_map = ["POINTS", "VIP", "BIRTHDAY", "TIER"]
        .map(|name| wit::FieldMapping { custom_field: name.into(), data_field: name.into() })
        .to_vec();
    let settings = Settings::validate(&raw).unwrap();
    let typed: Vec<TypedMapping> = settings
        .data_field_map
        .iter()
        .zip([DataFieldType::Numeric, DataFieldType::Boolean, DataFieldType::Date, DataFieldType::String])
        .map(|(mapping, kind)| TypedMapping { mapping: mapping.clone(), kind })
        .collect();
    for (consent, opt_in) in [("yes", "VerifiedDouble"), ("N", "unknown")] {
        let mut customer = jane();
        customer.contact_id = s("129212619");
        customer.custom_fields = vec![
            wit::CustomField { name: "Email Marketing Consent".into(), value: s(consent) },
            wit::CustomField { name: "Email Opt In Type".into(), value: s(opt_in) },
            wit::CustomField { name: "Points".into(), value: s("-12.5") },
            wit::CustomField { name: "VIP".into(), value: s("0") },
            wit::CustomField { name: "Birthday".into(), value: s("1990-04-01") },
            wit::CustomField { name: "Tier".into(), value: None },
        ];
        let contact = customer_contact(&settings, &customer).unwrap();
        let body = contact.upsert(&settings, NameFields::ALL, &typed).unwrap().body;
        assert!(body["dataFields"]["POINTS"].is_number() && body["dataFields"]["VIP"].is_boolean(), "{body}");
        let errors = errors_for(&spec, schema, &body);
        assert!(errors.is_empty(), "{body}\n{errors:#?}");
    }
}

#[test]
fn every_email_and_opt_in_type_the_settings_allow_is_in_the_schema() {
    let spec = Spec::load(CONTACTS);
    let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
    for email_type in ["HTML", "plaintext"] {
        for opt_in in ["Unknown", "single", "DOUBLE", "verifieddouble"] {
            let mut raw = crate::test_support::raw_settings();
            raw.email_type = s(email_type);
            raw.opt_in_type = s(opt_in);
            let body = string_upsert(&Settings::validate(&raw).unwrap(), &jane()).unwrap().body;
            let errors = errors_for(&spec, schema, &body);
            assert!(errors.is_empty(), "{body}\n{errors:#?}");
        }
    }
}

#[test]
fn the_checker_catches_what_the_schema_forbids() {
    let spec = Spec::load(CONTACTS);
    let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
    for (body, expected) in [
        (json!({"matchIdentifier": "email", "identifiers": {"email": "a@b.co"}}), "$.matchIdentifier"),
        (json!({"channelProperties": {"email": {"emailType": "Html"}}}), "$.channelProperties.email.emailType"),
        (json!({"channelProperties": {"email": {"status": "resubscribed"}}}), "$.channelProperties.email.status"),
        (json!({"channelProperties": {"email": {"optIn": "single"}}}), "$.channelProperties.email.optIn"),
        (json!({"channelProperties": {"fax": {}}}), "$.channelProperties.fax"),
        (json!({"lists": []}), "$.lists"),
        (json!({"lists": [3000000000u64]}), "$.lists[0]"),
        (json!({"identifiers": {"email": "a@b.co", "shoeSize": 9}}), "$.identifiers.shoeSize"),
    ] {
        let errors = errors_for(&spec, schema, &body);
        assert!(errors.iter().any(|e| e.starts_with(expected)), "{body}: {errors:?}");
    }
}

#[test]
fn the_triggered_send_matches_the_schema() {
    let spec = Spec::load(TRANSACTIONAL);
    let schema = spec.request_schema("/v2/email/triggered-campaign", "post");
    let full = certificate_fixture();
    let sparse = Certificate {
        recipient_name: None,
        currency: None,
        url: None,
        expiry_date: None,
        expiry_day: None,
        ..full.clone()
    };
    for body in [triggered_send(&full, 4242), triggered_send(&sparse, 2147483647)] {
        let errors = errors_for(&spec, schema, &body);
        assert!(errors.is_empty(), "{body}\n{errors:#?}");
    }
    // And the checker does see this schema's rules.
    let bad =
        json!({"toAddresses": ["a@b.co"], "campaignId": "42", "personalizationValues": [{"name": "X", "value": 10.0}]});
    let errors = errors_for(&spec, schema, &bad);
    assert!(errors.iter().any(|e| e.starts_with("$.campaignId")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("$.personalizationValues[0].value")), "{errors:?}");
    assert!(errors_for(&spec, schema, &json!({"campaignId": 1})).iter().any(|e| e.contains("toAddresses")));
}

#[test]
fn import_bodies_match_the_import_schemas() {
    use super::import::{contact_item, contacts_body, import_merge_option, order_item, orders_body};
    let settings = rich_settings();
    let names = NameFields { first: true, last: true, full: true };
    let mut customer = jane();
    customer.custom_fields.push(crate::test_support::field("Loyalty Tier", Some("Gold")));
    let upsert = string_upsert(&settings, &customer).unwrap();
    let by_id = super::contact::ContactUpsert { contact_id: Some(40001234), ..upsert.clone() };
    let order = ValidOrder {
        key: "100045".into(),
        email: "ana.silva@example.com".into(),
        record: json!({"id": "100045", "purchaseDate": "2025-03-02T10:20:11Z", "orderTotal": 54.9}),
        billing_first_name: s("Ana"),
        billing_last_name: None,
    };
    let for_order = contact_for_order(&order, names);

    let spec = Spec::load(CONTACTS);
    let schema = spec.request_schema("/contacts/v3/import", "put");
    for merge in ["overwrite", "overwrite-if-empty"] {
        let items = [contact_item(&upsert), contact_item(&by_id), contact_item(&for_order)];
        let body: Value = serde_json::from_slice(&contacts_body(import_merge_option(merge), &items)).unwrap();
        assert_eq!(errors_for(&spec, schema, &body), Vec::<String>::new(), "{body}");
    }

    let spec = Spec::load("insight-data-v3.json");
    let schema = spec.request_schema("/insightData/v3/import", "put");
    let body: Value = serde_json::from_slice(&orders_body("Purchases", &[order_item(&order)])).unwrap();
    assert_eq!(errors_for(&spec, schema, &body), Vec::<String>::new(), "{body}");
}
