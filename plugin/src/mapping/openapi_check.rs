//! Test-only: checks the mapped request bodies against Dotdigital's published OpenAPI files
//! (`/work/shared/dotdigital/openapi/`), so a misspelt key or an enum in the wrong casing
//! fails here rather than as a 400 from Dotdigital.
//!
//! A small JSON-schema subset, enough for these bodies: `$ref`, `allOf` (merged), `oneOf`,
//! `type`, `enum`, `format: int32`, `required`, `properties`, `additionalProperties`, `items`,
//! `minItems`/`maxItems` and `minLength`/`maxLength`. It is stricter than JSON Schema in one
//! way: a key that no `properties` declares is an error unless `additionalProperties` allows
//! it, so an undeclared top-level key (like `matchIdentifier`) is caught too.

use serde_json::{json, Value};

use super::certificate::{triggered_send, Certificate, CertificateStatus};
use super::contact::{
    contact_for_certificate, contact_for_order, contact_from_customer, tests::jane,
};
use super::order::ValidOrder;
use crate::settings::Settings;
use crate::wit;

const CONTACTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/dotdigital/openapi/contacts-v3.json"
);
const TRANSACTIONAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/dotdigital/openapi/transactional-email-v2.json"
);

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The request body schema of `method path`.
fn request_schema<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema =
        &spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no request body schema for {method} {path}"
    );
    schema
}

/// Every schema that applies at one place, with `$ref` resolved and `allOf` flattened.
fn leaves<'a>(spec: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {reference}"));
        let target = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        return leaves(spec, target, out);
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            leaves(spec, part, out);
        }
    }
    out.push(schema);
}

/// Problems with `value` against `schema`, as `path: problem` lines.
fn check(spec: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let mut all = Vec::new();
    leaves(spec, schema, &mut all);

    for leaf in &all {
        if let Some(kind) = leaf.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                other => panic!("unknown type {other}"),
            };
            if !ok {
                errors.push(format!("{path}: {value} is not of type {kind}"));
            }
        }
        if let Some(options) = leaf.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!(
                    "{path}: {value} is not one of {}",
                    Value::Array(options.clone())
                ));
            }
        }
        if leaf.get("format").and_then(Value::as_str) == Some("int32") {
            if let Some(n) = value.as_i64() {
                if i32::try_from(n).is_err() {
                    errors.push(format!("{path}: {n} does not fit int32"));
                }
            }
        }
        if let Some(text) = value.as_str() {
            let len = text.chars().count() as u64;
            if leaf
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|min| len < min)
            {
                errors.push(format!("{path}: shorter than minLength"));
            }
            if leaf
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|max| len > max)
            {
                errors.push(format!("{path}: longer than maxLength"));
            }
        }
        if let Some(branches) = leaf.get("oneOf").and_then(Value::as_array) {
            let matching = branches
                .iter()
                .filter(|branch| {
                    let mut branch_errors = Vec::new();
                    check(spec, branch, value, path, &mut branch_errors);
                    branch_errors.is_empty()
                })
                .count();
            if matching == 0 {
                errors.push(format!("{path}: matches no oneOf branch"));
            }
        }
    }

    if let Some(items) = value.as_array() {
        for leaf in &all {
            if leaf
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|min| (items.len() as u64) < min)
            {
                errors.push(format!("{path}: fewer than minItems"));
            }
            if leaf
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|max| (items.len() as u64) > max)
            {
                errors.push(format!("{path}: more than maxItems"));
            }
            if let Some(item_schema) = leaf.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(spec, item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
    }

    if let Some(object) = value.as_object() {
        for leaf in &all {
            for required in leaf
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    errors.push(format!("{path}: required property {name} missing"));
                }
            }
        }
        for (key, item) in object {
            let child = format!("{path}.{key}");
            let declared: Vec<&Value> = all
                .iter()
                .filter_map(|leaf| leaf.get("properties")?.get(key))
                .collect();
            if !declared.is_empty() {
                // A property declared by several allOf parts must satisfy them together.
                let merged = json!({"allOf": declared.into_iter().cloned().collect::<Vec<_>>()});
                check(spec, &merged, item, &child, errors);
                continue;
            }
            let additional: Vec<&Value> = all
                .iter()
                .filter_map(|leaf| leaf.get("additionalProperties"))
                .collect();
            if additional.is_empty() || additional.iter().any(|a| **a == Value::Bool(false)) {
                errors.push(format!("{child}: not a property the schema declares"));
            }
            for schema in additional.into_iter().filter(|a| a.is_object()) {
                check(spec, schema, item, &child, errors);
            }
        }
    }
}

fn errors_for(spec: &Value, schema: &Value, body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(spec, schema, body, "$", &mut errors);
    errors
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn rich_settings() -> Settings {
    let mut raw = crate::settings::tests::raw();
    raw.email_type = s("plainText");
    raw.opt_in_type = s("verifiedDouble");
    raw.list_ids = vec![123456, 2147483647];
    raw.data_field_map = vec![
        wit::FieldMapping {
            custom_field: "Loyalty Tier".into(),
            data_field: "LOYALTY_TIER".into(),
        },
        wit::FieldMapping {
            custom_field: "Points".into(),
            data_field: "points".into(),
        },
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
        card_type: s("Store Credit"),
        description: None,
    }
}

#[test]
fn contact_bodies_match_the_patch_schema() {
    let spec = load(CONTACTS);
    let schema = request_schema(&spec, "/contacts/v3/{identifier}/{value}", "patch");

    let mut customer = jane();
    customer.custom_fields.push(wit::CustomField {
        name: "Points".into(),
        value: None,
    });
    let full = contact_from_customer(&rich_settings(), &customer).unwrap();
    // The fixture exercises every part of the body.
    for key in ["identifiers", "dataFields", "channelProperties", "lists"] {
        assert!(
            full.body.get(key).is_some(),
            "{key} missing from {}",
            full.body
        );
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
        full.body,
        contact_from_customer(
            &Settings::validate(&crate::settings::tests::raw()).unwrap(),
            &jane(),
        )
        .unwrap()
        .body,
        contact_for_order(&order).body,
        contact_for_certificate(&certificate_fixture()).body,
    ];
    for body in &bodies {
        let errors = errors_for(&spec, schema, body);
        assert!(errors.is_empty(), "{body}\n{errors:#?}");
    }
}

#[test]
fn every_email_and_opt_in_type_the_settings_allow_is_in_the_schema() {
    let spec = load(CONTACTS);
    let schema = request_schema(&spec, "/contacts/v3/{identifier}/{value}", "patch");
    for email_type in ["HTML", "plaintext"] {
        for opt_in in ["Unknown", "single", "DOUBLE", "verifieddouble"] {
            let mut raw = crate::settings::tests::raw();
            raw.email_type = s(email_type);
            raw.opt_in_type = s(opt_in);
            let body = contact_from_customer(&Settings::validate(&raw).unwrap(), &jane())
                .unwrap()
                .body;
            let errors = errors_for(&spec, schema, &body);
            assert!(errors.is_empty(), "{body}\n{errors:#?}");
        }
    }
}

#[test]
fn the_checker_catches_what_the_schema_forbids() {
    let spec = load(CONTACTS);
    let schema = request_schema(&spec, "/contacts/v3/{identifier}/{value}", "patch");
    for (body, expected) in [
        (
            json!({"matchIdentifier": "email", "identifiers": {"email": "a@b.co"}}),
            "$.matchIdentifier",
        ),
        (
            json!({"channelProperties": {"email": {"emailType": "Html"}}}),
            "$.channelProperties.email.emailType",
        ),
        (
            json!({"channelProperties": {"email": {"status": "resubscribed"}}}),
            "$.channelProperties.email.status",
        ),
        (
            json!({"channelProperties": {"email": {"optIn": "single"}}}),
            "$.channelProperties.email.optIn",
        ),
        (
            json!({"channelProperties": {"fax": {}}}),
            "$.channelProperties.fax",
        ),
        (json!({"lists": []}), "$.lists"),
        (json!({"lists": [3000000000u64]}), "$.lists[0]"),
        (
            json!({"identifiers": {"email": "a@b.co", "shoeSize": 9}}),
            "$.identifiers.shoeSize",
        ),
    ] {
        let errors = errors_for(&spec, schema, &body);
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "{body}: {errors:?}"
        );
    }
}

#[test]
fn the_triggered_send_matches_the_schema() {
    let spec = load(TRANSACTIONAL);
    let schema = request_schema(&spec, "/v2/email/triggered-campaign", "post");
    let full = certificate_fixture();
    let sparse = Certificate {
        recipient_name: None,
        currency: None,
        url: None,
        expiry_date: None,
        ..full.clone()
    };
    for body in [
        triggered_send(&full, 4242),
        triggered_send(&sparse, 2147483647),
    ] {
        let errors = errors_for(&spec, schema, &body);
        assert!(errors.is_empty(), "{body}\n{errors:#?}");
    }
    // And the checker does see this schema's rules.
    let bad = json!({"toAddresses": ["a@b.co"], "campaignId": "42", "personalizationValues": [{"name": "X", "value": 10.0}]});
    let errors = errors_for(&spec, schema, &bad);
    assert!(
        errors.iter().any(|e| e.starts_with("$.campaignId")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("$.personalizationValues[0].value")),
        "{errors:?}"
    );
    assert!(errors_for(&spec, schema, &json!({"campaignId": 1}))
        .iter()
        .any(|e| e.contains("toAddresses")));
}
