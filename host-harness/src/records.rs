//! iPaaS.com records as the platform's API sends them (snake_case JSON), read leniently the
//! way the platform writes them (numbers may be strings, lists may be absent) and turned into
//! the contract's typed records. A value of the wrong type is an `input` error that names
//! its path; everything the connector must judge is passed on for it to judge.

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::runtime::bindings as wit;

/// A value of the wrong type: where it is (`lines[2].qty`, none for the whole value) and
/// what is wrong with it. Reported as kind `input`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub path: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for RecordError {}

/// Reads `T` from JSON, naming the path of the first bad value (`lines[2].qty: …`).
pub fn parse<T: de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, RecordError> {
    // serde would read a struct from an array too, field by field in order.
    let kind = match value {
        serde_json::Value::Object(_) => None,
        serde_json::Value::Array(_) => Some("an array"),
        serde_json::Value::String(_) => Some("a string"),
        serde_json::Value::Number(_) => Some("a number"),
        serde_json::Value::Bool(_) => Some("a boolean"),
        serde_json::Value::Null => Some("null"),
    };
    if let Some(kind) = kind {
        return Err(RecordError { path: None, problem: format!("expected a JSON object, found {kind}") });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        RecordError { path: (path != ".").then_some(path), problem: without_type_names(&e.inner().to_string()) }
    })
}

/// serde names the Rust type it expected (`expected struct CustomerJson`): a user wrote JSON.
fn without_type_names(problem: &str) -> String {
    match problem.find("expected struct ") {
        Some(at) => format!("{}expected a JSON object", &problem[..at]),
        None => problem.to_string(),
    }
}

/// The record's hub id, for output lines, even when the rest does not parse.
pub fn record_id(value: &serde_json::Value) -> Option<String> {
    match value.get("id")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A decimal as iPaaS.com writes it: a JSON number, or a string holding one.
fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => {
            t.trim().parse().map(Some).map_err(|_| de::Error::custom(format!("{t:?} is not a number")))
        }
    }
}

/// An id: a string, or a number written as one.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(de::Error::custom(format!("expected a string or a number, found {other}"))),
    }
}

/// A long id: a number, or a string holding one.
fn long<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| de::Error::custom(format!("{n} is not a whole number")))
        }
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| de::Error::custom(format!("{s:?} is not a whole number")))
        }
        Some(other) => Err(de::Error::custom(format!("expected a whole number, found {other}"))),
    }
}

/// `null` reads as the default (empty list, false).
fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct CustomFieldJson {
    custom_field_name: String,
    #[serde(default, deserialize_with = "text_or_number")]
    value: Option<String>,
}

fn custom_fields(fields: Vec<CustomFieldJson>) -> Vec<wit::CustomField> {
    fields.into_iter().map(|f| wit::CustomField { name: f.custom_field_name, value: f.value }).collect()
}

#[derive(Deserialize)]
struct AddressJson {
    #[serde(default, rename = "type")]
    address_type: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    phone_number: Option<String>,
    #[serde(default)]
    address_1: Option<String>,
    #[serde(default)]
    address_2: Option<String>,
    #[serde(default)]
    address_3: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    postal_code: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    is_primary_billing: bool,
    #[serde(default, deserialize_with = "or_default")]
    is_primary_shipping: bool,
    #[serde(default)]
    shipping_method: Option<String>,
    #[serde(default)]
    shipping_method_description: Option<String>,
}

impl From<AddressJson> for wit::Address {
    fn from(a: AddressJson) -> Self {
        wit::Address {
            address_type: a.address_type,
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            phone_number: a.phone_number,
            address1: a.address_1,
            address2: a.address_2,
            address3: a.address_3,
            city: a.city,
            region: a.region,
            country: a.country,
            postal_code: a.postal_code,
            is_primary_billing: a.is_primary_billing,
            is_primary_shipping: a.is_primary_shipping,
            shipping_method: a.shipping_method,
            shipping_method_description: a.shipping_method_description,
        }
    }
}

#[derive(Deserialize)]
struct CustomerJson {
    #[serde(default, deserialize_with = "text_or_number")]
    id: Option<String>,
    #[serde(default)]
    tracking_guid: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    customer_number: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    addresses: Vec<AddressJson>,
    #[serde(default, deserialize_with = "or_default")]
    custom_fields: Vec<CustomFieldJson>,
    #[serde(default, deserialize_with = "or_default")]
    external_ids: Vec<ExternalIdJson>,
}

/// One `external_ids` row: the id a linked subscription (`system_id`) keeps for the record.
#[derive(Deserialize)]
struct ExternalIdJson {
    #[serde(default, deserialize_with = "long")]
    system_id: Option<i64>,
    #[serde(default, deserialize_with = "text_or_number")]
    external_id: Option<String>,
}

/// A customer as the contract carries it. `subscription_id` picks the `external_ids` row whose
/// `external_id` is the Dotdigital contact id iPaaS.com stored for this subscription.
pub fn customer(value: &serde_json::Value, subscription_id: Option<i64>) -> Result<wit::Customer, RecordError> {
    let c: CustomerJson = parse(value)?;
    let contact_id = subscription_id.and_then(|system| {
        c.external_ids
            .iter()
            .find(|row| row.system_id == Some(system))
            .and_then(|row| row.external_id.clone())
            .filter(|id| !id.trim().is_empty())
    });
    Ok(wit::Customer {
        id: c.id.unwrap_or_default(),
        tracking_guid: c.tracking_guid,
        customer_number: c.customer_number,
        first_name: c.first_name,
        last_name: c.last_name,
        email_address: c.email_address,
        company: c.company,
        addresses: c.addresses.into_iter().map(Into::into).collect(),
        custom_fields: custom_fields(c.custom_fields),
        contact_id,
    })
}

#[derive(Deserialize)]
struct LineJson {
    #[serde(default, deserialize_with = "text_or_number")]
    sku: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type")]
    line_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    qty: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    unit_price: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    extended_price: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    original_unit_price: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    discount_amount: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    tax_percent: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    estimated_tax_amount: Option<f64>,
    #[serde(default, deserialize_with = "or_default")]
    options: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct PaymentJson {
    #[serde(default)]
    method: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    amount: Option<f64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct TransactionJson {
    #[serde(default, deserialize_with = "text_or_number")]
    id: Option<String>,
    #[serde(default)]
    tracking_guid: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    transaction_number: Option<String>,
    #[serde(default, deserialize_with = "long")]
    customer_id: Option<i64>,
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default, rename = "type")]
    transaction_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    discount_amount: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    tax_amount: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    shipping_amount: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    subtotal: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    total: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    total_qty: Option<f64>,
    #[serde(default)]
    created_datetime: Option<String>,
    #[serde(default)]
    updated_datetime: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    lines: Vec<LineJson>,
    #[serde(default, deserialize_with = "or_default")]
    addresses: Vec<AddressJson>,
    #[serde(default, deserialize_with = "or_default")]
    payments: Vec<PaymentJson>,
    #[serde(default, deserialize_with = "or_default")]
    custom_fields: Vec<CustomFieldJson>,
}

pub fn transaction(value: &serde_json::Value) -> Result<wit::Transaction, RecordError> {
    let t: TransactionJson = parse(value)?;
    Ok(wit::Transaction {
        id: t.id.unwrap_or_default(),
        tracking_guid: t.tracking_guid,
        transaction_number: t.transaction_number,
        customer_id: t.customer_id,
        email_address: t.email_address,
        transaction_type: t.transaction_type,
        status: t.status,
        discount_amount: t.discount_amount,
        tax_amount: t.tax_amount,
        shipping_amount: t.shipping_amount,
        subtotal: t.subtotal,
        total: t.total,
        total_qty: t.total_qty,
        created_datetime: t.created_datetime,
        updated_datetime: t.updated_datetime,
        lines: t
            .lines
            .into_iter()
            .map(|l| wit::TransactionLine {
                sku: l.sku,
                description: l.description,
                line_type: l.line_type,
                status: l.status,
                qty: l.qty,
                unit_price: l.unit_price,
                extended_price: l.extended_price,
                original_unit_price: l.original_unit_price,
                discount_amount: l.discount_amount,
                tax_percent: l.tax_percent,
                estimated_tax_amount: l.estimated_tax_amount,
                options: l
                    .options
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect(),
            })
            .collect(),
        addresses: t.addresses.into_iter().map(Into::into).collect(),
        payments: t
            .payments
            .into_iter()
            .map(|p| wit::Payment { method: p.method, amount: p.amount, status: p.status, description: p.description })
            .collect(),
        custom_fields: custom_fields(t.custom_fields),
    })
}

#[derive(Deserialize)]
struct GiftCardJson {
    #[serde(default, deserialize_with = "text_or_number")]
    id: Option<String>,
    #[serde(default)]
    tracking_guid: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    number: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type")]
    card_type: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    original_amount: Option<f64>,
    #[serde(default, deserialize_with = "decimal")]
    balance: Option<f64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    purchase_date: Option<String>,
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default, deserialize_with = "long")]
    customer_id: Option<i64>,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    customer_email: Option<String>,
    #[serde(default)]
    receiving_customer: Option<String>,
    #[serde(default)]
    receiving_customer_email: Option<String>,
    #[serde(default, deserialize_with = "long")]
    transaction_id: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    custom_fields: Vec<CustomFieldJson>,
}

pub fn gift_card(value: &serde_json::Value) -> Result<wit::GiftCard, RecordError> {
    let g: GiftCardJson = parse(value)?;
    Ok(wit::GiftCard {
        id: g.id.unwrap_or_default(),
        tracking_guid: g.tracking_guid,
        number: g.number,
        description: g.description,
        card_type: g.card_type,
        original_amount: g.original_amount,
        balance: g.balance,
        status: g.status,
        purchase_date: g.purchase_date,
        expiration_date: g.expiration_date,
        customer_id: g.customer_id,
        customer_name: g.customer_name,
        customer_email: g.customer_email,
        receiving_customer: g.receiving_customer,
        receiving_customer_email: g.receiving_customer_email,
        transaction_id: g.transaction_id,
        custom_fields: custom_fields(g.custom_fields),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_numbers_and_missing_lists() {
        let tx = transaction(&json!({"id": 902114, "total": "74.55", "subtotal": 63, "lines": null,
            "custom_fields": [{"id": "1", "custom_field_name": "Currency", "value": "GBP"}]}))
        .unwrap();
        assert_eq!(tx.id, "902114");
        assert_eq!(tx.total, Some(74.55));
        assert!(tx.lines.is_empty());
        assert_eq!(tx.custom_fields[0].value.as_deref(), Some("GBP"));
    }

    #[test]
    fn wrong_types_name_their_path() {
        let err = transaction(&json!({"lines": [{"qty": 1}, {"qty": "many"}]})).err().unwrap();
        assert_eq!(err.path.as_deref(), Some("lines[1].qty"));
        assert!(err.to_string().starts_with("lines[1].qty: "), "{err}");
        let err = customer(&json!({"addresses": [{"is_primary_billing": "yes"}]}), None).err().unwrap();
        assert_eq!(err.path.as_deref(), Some("addresses[0].is_primary_billing"));
        assert!(customer(&json!([1, 2]), None).is_err());
        let err = customer(&json!(7), None).err().unwrap();
        assert_eq!(err.path, None, "the whole value is wrong: {err}");
        assert_eq!(err.to_string(), err.problem);
    }

    #[test]
    fn the_stored_contact_id_is_this_subscriptions_external_id() {
        let record = json!({"id": 150437, "external_ids": [
            {"id": 1, "system_id": 4398, "external_id": "111"},
            {"id": 2, "system_id": "4412", "external_id": 129212619},
            {"id": 3, "system_id": 4413, "external_id": ""}
        ]});
        assert_eq!(customer(&record, Some(4412)).unwrap().contact_id.as_deref(), Some("129212619"));
        assert_eq!(customer(&record, Some(4398)).unwrap().contact_id.as_deref(), Some("111"));
        assert_eq!(customer(&record, Some(4413)).unwrap().contact_id, None, "a blank id is no id");
        assert_eq!(customer(&record, Some(1)).unwrap().contact_id, None, "no row for this subscription");
        assert_eq!(customer(&record, None).unwrap().contact_id, None, "no subscription_id: upsert by email");
        assert_eq!(customer(&json!({"external_ids": null}), Some(4412)).unwrap().contact_id, None);
        let bad = customer(&json!({"external_ids": [{"system_id": {}}]}), Some(4412)).err().unwrap();
        assert_eq!(bad.path.as_deref(), Some("external_ids[0].system_id"));
    }

    #[test]
    fn address_keys_map_to_the_contract() {
        let c = customer(&json!({"id": "1", "addresses": [{"address_1": "12 Harbour Row", "type": "Billing", "is_primary_billing": true}]}), None).unwrap();
        assert_eq!(c.addresses[0].address1.as_deref(), Some("12 Harbour Row"));
        assert_eq!(c.addresses[0].address_type.as_deref(), Some("Billing"));
        assert!(c.addresses[0].is_primary_billing);
    }

    #[test]
    fn problems_name_json_shapes_not_rust_types() {
        let problem = customer(&json!(["not", "an", "object"]), None).unwrap_err().to_string();
        assert_eq!(problem, "expected a JSON object, found an array", "never read field by field");
        let nested = json!({"id": "1", "addresses": ["not an address"]});
        let problem = customer(&nested, None).unwrap_err().to_string();
        assert!(problem.contains("expected a JSON object") && !problem.contains("Json"), "{problem}");
    }
}
