//! Transaction → a contact-scoped insight record in Dotdigital's first-party order shape.
//!
//! Dotdigital infers a collection's schema from the records it receives, so every record has
//! the same keys with one JSON type each: absent texts and amounts are `null` (never `""`),
//! amounts are always floats built from whole cents, addresses are always objects and
//! `products` is an array of flat objects. An empty array is never sent: it carries no type
//! for its items, and Dotdigital's own Magento extension strips empty arrays before writing
//! insight data (`toArrayWithEmptyArrayCheck`), so `products` is left out of an order without
//! lines and `options` out of a line without options.

use serde_json::{json, Map, Value};

use super::values::{
    cents_json, check_email, check_key, custom_value, money_cents, opt_cents_json, text_or_null, utc_timestamp, Offset,
    RECORD_KEY_MAX_CHARS,
};
use crate::settings::Settings;
use crate::validation::currency::iso_currency;
use crate::validation::text::{non_empty, shown};
use crate::validation::{issue, At, Issues};
use crate::wit::{self, FieldIssue};

/// Largest line quantity accepted (exclusive), to keep numbers within what Dotdigital stores.
const QTY_LIMIT: f64 = 1e12;

/// What to do with a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderPlan {
    /// Not an order type this subscription syncs (a Quote, say); no call is made.
    Skip {
        reason: String,
    },
    Upsert(ValidOrder),
}

/// A validated order, ready to be written as an insight record.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidOrder {
    /// The transaction number: the record key and the external id.
    pub key: String,
    /// The contact the record belongs to, trimmed.
    pub email: String,
    /// The record JSON (the body of the insight PUT, or `json` of an import item).
    pub record: Value,
    /// Names from the billing address, for a contact made for this order.
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
}

/// Decides whether a transaction is synced, and maps it when it is. Every problem is listed.
pub fn plan_order(settings: &Settings, tx: &wit::Transaction) -> Result<OrderPlan, Vec<FieldIssue>> {
    let mut found = Issues::default();
    // The type decides first: a Quote is skipped whatever else is wrong with it.
    match non_empty(tx.transaction_type.as_deref()) {
        None => found.add(issue("type", "required: the transaction type (e.g. Order)")),
        Some(t) if !settings.is_order_type(t) => {
            return Ok(OrderPlan::Skip {
                reason: format!(
                    "transaction type {} is not synced as an order (order_types: {})",
                    shown(t),
                    shown(&settings.order_types.join(", "))
                ),
            });
        }
        Some(_) => {}
    }
    let key = found.check(check_key(tx.transaction_number.as_deref(), RECORD_KEY_MAX_CHARS).at("transaction_number"));
    let email = non_empty(tx.email_address.as_deref()).unwrap_or_default().to_string();
    found.check(check_email(&email).at("email_address"));
    let currency = found.check(order_currency(settings, &tx.custom_fields).at("custom_fields.Currency"));
    let purchase_date = found.check(purchase_date(tx.created_datetime.as_deref()).at("created_datetime"));
    let subtotal = found.check(required_money(tx.subtotal).at("subtotal"));
    let total = found.check(required_money(tx.total).at("total"));
    let discount = found.check(optional_money(tx.discount_amount).at("discount_amount")).flatten();
    let tax = found.check(optional_money(tx.tax_amount).at("tax_amount")).flatten();
    let shipping = found.check(optional_money(tx.shipping_amount).at("shipping_amount")).flatten();
    let products: Vec<Value> =
        tx.lines.iter().enumerate().filter_map(|(i, line)| found.check_all(product(i, line))).collect();
    let (Some(key), Some(currency), Some(purchase_date), Some(subtotal), Some(total), true) =
        (key, currency, purchase_date, subtotal, total, found.is_empty())
    else {
        return Err(found.into_vec());
    };
    let billing = billing_address(tx);
    let delivery = delivery_address(tx);
    let mut record = json!({
        "id": key,
        "email": email,
        "purchaseDate": purchase_date,
        "orderStatus": text_or_null(tx.status.as_deref()),
        "orderTotal": cents_json(total),
        "orderSubtotal": cents_json(subtotal),
        "discountAmount": opt_cents_json(discount),
        "deliveryTotal": opt_cents_json(shipping),
        "taxAmount": opt_cents_json(tax),
        "currency": currency,
        "payment": text_or_null(tx.payments.iter().find_map(|p| non_empty(p.method.as_deref()))),
        "deliveryMethod": text_or_null(delivery.and_then(|a| a.shipping_method.as_deref())),
        "storeName": text_or_null(custom_value(&tx.custom_fields, "Store Name")),
        "billingAddress": address_json("billing", billing),
        "deliveryAddress": address_json("delivery", delivery),
    });
    if !products.is_empty() {
        record["products"] = Value::Array(products);
    }
    Ok(OrderPlan::Upsert(ValidOrder {
        key,
        email,
        record,
        billing_first_name: billing.and_then(|a| non_empty(a.first_name.as_deref())).map(str::to_string),
        billing_last_name: billing.and_then(|a| non_empty(a.last_name.as_deref())).map(str::to_string),
    }))
}

/// The primary billing address, else the first of type Billing.
fn billing_address(tx: &wit::Transaction) -> Option<&wit::Address> {
    tx.addresses.iter().find(|a| a.is_primary_billing).or_else(|| tx.addresses.iter().find(|a| has_type(a, "Billing")))
}

/// The primary shipping address, else the first of type Shipping.
fn delivery_address(tx: &wit::Transaction) -> Option<&wit::Address> {
    tx.addresses
        .iter()
        .find(|a| a.is_primary_shipping)
        .or_else(|| tx.addresses.iter().find(|a| has_type(a, "Shipping")))
}

/// The `Currency` custom field, else the subscription's default; required, ISO 4217.
fn order_currency(settings: &Settings, fields: &[wit::CustomField]) -> Result<String, String> {
    match custom_value(fields, "Currency") {
        Some(code) => {
            iso_currency(code).ok_or_else(|| format!("`{}` is not an active ISO 4217 currency code", shown(code)))
        }
        None => settings.default_currency.clone().ok_or_else(|| {
            "required: set the Currency custom field (e.g. GBP) or the default_currency setting".to_string()
        }),
    }
}

/// When the order was placed, as UTC.
fn purchase_date(text: Option<&str>) -> Result<String, String> {
    let text = non_empty(text).ok_or("required: when the order was placed")?;
    utc_timestamp(text, Offset::Required)
}

fn required_money(amount: Option<f64>) -> Result<i64, String> {
    money_cents(amount.ok_or("required")?)
}

fn optional_money(amount: Option<f64>) -> Result<Option<i64>, String> {
    amount.map(money_cents).transpose()
}

/// A line's quantity: required, finite, not negative, in range.
fn quantity(qty: Option<f64>) -> Result<f64, String> {
    match qty {
        None => Err("required".into()),
        Some(q) if !q.is_finite() => Err("not a finite number".into()),
        Some(q) if q < 0.0 => Err("must not be negative".into()),
        Some(q) if q >= QTY_LIMIT => Err(format!("out of range: must be less than {QTY_LIMIT:e}")),
        // `+ 0.0` turns -0.0 into 0.0.
        Some(q) => Ok(q + 0.0),
    }
}

/// One line as a flat product object, or its problems under `lines[i]`.
fn product(i: usize, line: &wit::TransactionLine) -> Result<Value, Vec<FieldIssue>> {
    let mut found = Issues::default();
    let path = |field: &str| format!("lines[{i}].{field}");
    let name = non_empty(line.description.as_deref());
    let sku = non_empty(line.sku.as_deref());
    if name.is_none() && sku.is_none() {
        found.add(issue(path("description"), "a line needs a description (the product name) or a sku"));
    }
    let qty = found.check(quantity(line.qty).at(path("qty")));
    let price = found.check(optional_money(line.unit_price).at(path("unit_price"))).flatten();
    let total_price = found.check(optional_money(line.extended_price).at(path("extended_price"))).flatten();
    let discount = found.check(optional_money(line.discount_amount).at(path("discount_amount"))).flatten();
    found.finish(())?;
    let options: Vec<Value> = line
        .options
        .iter()
        .filter_map(|(name, value)| {
            let name = non_empty(Some(name))?;
            Some(json!({"name": name, "value": value.trim()}))
        })
        .collect();
    // qty is always a float, so an integer in one order never meets a fraction in another.
    let qty = qty.and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number);
    let mut product = json!({
        "sku": text_or_null(sku),
        "name": text_or_null(name),
        "qty": qty,
        "price": opt_cents_json(price),
        "totalPrice": opt_cents_json(total_price),
        "discountAmount": opt_cents_json(discount),
    });
    if !options.is_empty() {
        product["options"] = Value::Array(options);
    }
    Ok(product)
}

fn has_type(address: &wit::Address, kind: &str) -> bool {
    address.address_type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case(kind))
}

/// `{prefix_address_1, prefix_address_2, prefix_city, prefix_region, prefix_country,
/// prefix_postcode}`; all null when there is no such address. `address_3` has no column in
/// Dotdigital's shape, so it joins `address_2`.
fn address_json(prefix: &str, address: Option<&wit::Address>) -> Value {
    let text = |pick: fn(&wit::Address) -> Option<&str>| text_or_null(address.and_then(pick));
    let line_2 = address.map(|a| {
        [a.address2.as_deref(), a.address3.as_deref()].into_iter().filter_map(non_empty).collect::<Vec<_>>().join(", ")
    });
    let mut object = Map::new();
    object.insert(format!("{prefix}_address_1"), text(|a| a.address1.as_deref()));
    object.insert(format!("{prefix}_address_2"), text_or_null(line_2.as_deref()));
    object.insert(format!("{prefix}_city"), text(|a| a.city.as_deref()));
    object.insert(format!("{prefix}_region"), text(|a| a.region.as_deref()));
    object.insert(format!("{prefix}_country"), text(|a| a.country.as_deref()));
    object.insert(format!("{prefix}_postcode"), text(|a| a.postal_code.as_deref()));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::raw_settings;
    use crate::test_support::{address, s};
    use std::collections::BTreeMap;

    fn field(name: &str, value: &str) -> wit::CustomField {
        wit::CustomField { name: name.into(), value: s(value) }
    }

    fn settings() -> Settings {
        Settings::validate(&raw_settings()).unwrap()
    }

    fn settings_with_default(currency: &str) -> Settings {
        let mut raw = raw_settings();
        raw.default_currency = s(currency);
        Settings::validate(&raw).unwrap()
    }

    fn line(
        sku: &str,
        description: &str,
        qty: f64,
        unit: f64,
        extended: f64,
        discount: f64,
        option: (&str, &str),
    ) -> wit::TransactionLine {
        wit::TransactionLine {
            sku: s(sku),
            description: s(description),
            line_type: s("Product"),
            status: s("Shipped"),
            qty: Some(qty),
            unit_price: Some(unit),
            extended_price: Some(extended),
            original_unit_price: Some(unit),
            discount_amount: Some(discount),
            tax_percent: Some(20.0),
            estimated_tax_amount: None,
            options: vec![(option.0.into(), option.1.into())],
        }
    }

    /// A transaction in iPaaS.com's Transaction shape (support.ipaas.com/en/articles/9512081-transactions).
    fn example() -> wit::Transaction {
        wit::Transaction {
            id: "902114".into(),
            tracking_guid: s("c0a8e4d2-5b1f-4e77-8f39-6d2a91b4e210"),
            transaction_number: s("SO-100013"),
            customer_id: Some(150437),
            email_address: s("jane.doe@example.com"),
            transaction_type: s("Order"),
            status: s("Complete"),
            discount_amount: Some(5.00),
            tax_amount: Some(11.60),
            shipping_amount: Some(4.95),
            subtotal: Some(63.00),
            total: Some(74.55),
            total_qty: Some(3.0),
            created_datetime: s("2025-03-14T10:22:05+00:00"),
            updated_datetime: s("2025-03-14T10:25:40+00:00"),
            lines: vec![
                line("TENT-2P-GRN", "Trail 2-person tent, green", 1.0, 45.00, 45.00, 5.00, ("Colour", "Green")),
                line("SOCK-MER-L", "Merino hiking socks (L)", 2.0, 9.00, 18.00, 0.0, ("Size", "L")),
            ],
            addresses: vec![
                wit::Address {
                    address_type: s("Billing"),
                    first_name: s("Jane"),
                    last_name: s("Doe"),
                    company: s("Doe Outdoor Ltd"),
                    phone_number: s("+44 7700 900123"),
                    address1: s("12 Harbour Row"),
                    address2: s("Flat 3"),
                    city: s("Bristol"),
                    region: s("Bristol"),
                    country: s("GB"),
                    postal_code: s("BS1 5TY"),
                    is_primary_billing: true,
                    ..address()
                },
                wit::Address {
                    address_type: s("Shipping"),
                    first_name: s("Jane"),
                    last_name: s("Doe"),
                    phone_number: s("+44 7700 900123"),
                    address1: s("4 Quarry Lane"),
                    city: s("Bath"),
                    region: s("Somerset"),
                    country: s("GB"),
                    postal_code: s("BA1 2AB"),
                    is_primary_shipping: true,
                    shipping_method: s("Standard"),
                    shipping_method_description: s("Royal Mail 48"),
                    ..address()
                },
            ],
            payments: vec![wit::Payment {
                method: s("Credit Card"),
                amount: Some(74.55),
                status: s("Captured"),
                description: s("Visa ending 4242"),
            }],
            custom_fields: vec![field("Currency", "GBP"), field("Store Name", "Web UK")],
        }
    }

    fn upsert(settings: &Settings, tx: &wit::Transaction) -> ValidOrder {
        match plan_order(settings, tx) {
            Ok(OrderPlan::Upsert(order)) => order,
            other => panic!("expected an upsert, got {other:?}"),
        }
    }

    fn issue_fields(settings: &Settings, tx: &wit::Transaction) -> Vec<String> {
        plan_order(settings, tx).expect_err("invalid").into_iter().map(|i| i.field).collect()
    }

    #[test]
    fn the_example_transaction_maps_exactly() {
        let order = upsert(&settings(), &example());
        assert_eq!(order.key, "SO-100013");
        assert_eq!(order.email, "jane.doe@example.com");
        assert_eq!(order.billing_first_name.as_deref(), Some("Jane"));
        assert_eq!(order.billing_last_name.as_deref(), Some("Doe"));
        assert_eq!(
            order.record,
            json!({
                "id": "SO-100013",
                "email": "jane.doe@example.com",
                "purchaseDate": "2025-03-14T10:22:05Z",
                "orderStatus": "Complete",
                "orderTotal": 74.55,
                "orderSubtotal": 63.0,
                "discountAmount": 5.0,
                "deliveryTotal": 4.95,
                "taxAmount": 11.6,
                "currency": "GBP",
                "payment": "Credit Card",
                "deliveryMethod": "Standard",
                "storeName": "Web UK",
                "billingAddress": {
                    "billing_address_1": "12 Harbour Row", "billing_address_2": "Flat 3", "billing_city": "Bristol",
                    "billing_region": "Bristol", "billing_country": "GB", "billing_postcode": "BS1 5TY"
                },
                "deliveryAddress": {
                    "delivery_address_1": "4 Quarry Lane", "delivery_address_2": null, "delivery_city": "Bath",
                    "delivery_region": "Somerset", "delivery_country": "GB", "delivery_postcode": "BA1 2AB"
                },
                "products": [
                    {"sku": "TENT-2P-GRN", "name": "Trail 2-person tent, green", "qty": 1.0, "price": 45.0,
                     "totalPrice": 45.0, "discountAmount": 5.0, "options": [{"name": "Colour", "value": "Green"}]},
                    {"sku": "SOCK-MER-L", "name": "Merino hiking socks (L)", "qty": 2.0, "price": 9.0,
                     "totalPrice": 18.0, "discountAmount": 0.0, "options": [{"name": "Size", "value": "L"}]}
                ]
            })
        );
        let text = serde_json::to_string(&order.record).unwrap();
        assert!(text.contains(r#""orderTotal":74.55"#), "{text}");
        assert!(text.contains(r#""taxAmount":11.6"#), "{text}");
        assert!(text.contains(r#""deliveryTotal":4.95"#), "{text}");
    }

    #[test]
    fn money_serialises_exactly() {
        let mut tx = example();
        tx.total = Some(19.99);
        tx.subtotal = Some(0.1 + 0.2);
        tx.lines[0].unit_price = Some(1234567.89);
        let text = serde_json::to_string(&upsert(&settings(), &tx).record).unwrap();
        assert!(text.contains(r#""orderTotal":19.99"#), "{text}");
        assert!(text.contains(r#""orderSubtotal":0.3,"#), "{text}");
        assert!(text.contains(r#""price":1234567.89"#), "{text}");
    }

    #[test]
    fn other_types_are_skipped_before_validation() {
        let mut quote = wit::Transaction {
            transaction_type: s("Quote"),
            transaction_number: None,
            email_address: None,
            total: Some(f64::NAN),
            ..example()
        };
        match plan_order(&settings(), &quote) {
            Ok(OrderPlan::Skip { reason }) => assert!(reason.contains("Quote") && reason.contains("Order"), "{reason}"),
            other => panic!("expected a skip, got {other:?}"),
        }
        quote.transaction_type = s(" order ");
        assert!(plan_order(&settings(), &quote).is_err());

        let mut raw = raw_settings();
        raw.order_types = Some(vec!["Order".into(), "Invoice".into()]);
        let settings = Settings::validate(&raw).unwrap();
        assert!(matches!(
            plan_order(&settings, &wit::Transaction { transaction_type: s("INVOICE"), ..example() }),
            Ok(OrderPlan::Upsert(_))
        ));
        assert!(matches!(
            plan_order(&settings, &wit::Transaction { transaction_type: s("Return"), ..example() }),
            Ok(OrderPlan::Skip { .. })
        ));
    }

    #[test]
    fn a_missing_type_is_an_issue_listed_with_the_rest() {
        let tx = wit::Transaction { transaction_type: None, email_address: s("nope"), ..example() };
        assert_eq!(issue_fields(&settings(), &tx), ["type", "email_address"]);
        let tx = wit::Transaction { transaction_type: s("  "), ..example() };
        assert_eq!(issue_fields(&settings(), &tx), ["type"]);
    }

    #[test]
    fn currency_comes_from_the_custom_field_then_the_default() {
        let mut tx = example();
        tx.custom_fields = vec![field("currency", " eur ")];
        assert_eq!(upsert(&settings_with_default("USD"), &tx).record["currency"], "EUR");

        tx.custom_fields.clear();
        assert_eq!(upsert(&settings_with_default("usd"), &tx).record["currency"], "USD");

        let issues = plan_order(&settings(), &tx).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "custom_fields.Currency");
        assert!(issues[0].problem.contains("default_currency"), "{}", issues[0].problem);

        tx.custom_fields = vec![field("Currency", "Pounds")];
        let issues = plan_order(&settings_with_default("GBP"), &tx).unwrap_err();
        assert_eq!(issues[0].field, "custom_fields.Currency");
        assert!(issues[0].problem.contains("ISO 4217"));

        // A blank custom field falls back to the default.
        tx.custom_fields = vec![field("Currency", " ")];
        assert_eq!(upsert(&settings_with_default("GBP"), &tx).record["currency"], "GBP");
    }

    #[test]
    fn every_order_problem_is_listed() {
        let mut tx = example();
        tx.transaction_number = s("SO-\u{1}");
        tx.email_address = None;
        tx.custom_fields.clear();
        tx.created_datetime = s("2025-03-14T10:22:05");
        tx.subtotal = None;
        tx.total = Some(74.555);
        tx.discount_amount = Some(f64::NAN);
        tx.tax_amount = Some(f64::INFINITY);
        tx.shipping_amount = Some(1e308);
        assert_eq!(
            issue_fields(&settings(), &tx),
            [
                "transaction_number",
                "email_address",
                "custom_fields.Currency",
                "created_datetime",
                "subtotal",
                "total",
                "discount_amount",
                "tax_amount",
                "shipping_amount",
            ]
        );
        tx.transaction_number = s(&"9".repeat(256));
        tx.created_datetime = None;
        let fields = issue_fields(&settings(), &tx);
        assert_eq!(&fields[..1], ["transaction_number"]);
        assert!(fields.contains(&"created_datetime".to_string()));
    }

    #[test]
    fn a_key_with_a_slash_is_refused_before_any_call() {
        for key in ["SO/100", "SO\\100", "/", ".", ".."] {
            let mut tx = example();
            tx.transaction_number = s(key);
            let Err(issues) = plan_order(&settings(), &tx) else { panic!("{key} accepted") };
            assert_eq!(issues.len(), 1, "{key}");
            assert_eq!(issues[0].field, "transaction_number");
            assert!(issues[0].problem.contains("cannot"), "{}", issues[0].problem);
        }
    }

    #[test]
    fn bad_lines_are_listed_by_index() {
        let mut tx = example();
        let good = tx.lines[0].clone();
        tx.lines = vec![good.clone(); 6];
        tx.lines[1].sku = None;
        tx.lines[1].description = s(" ");
        tx.lines[2].qty = Some(-1.0);
        tx.lines[3].qty = None;
        tx.lines[3].unit_price = Some(9.999);
        tx.lines[4].extended_price = Some(f64::NEG_INFINITY);
        tx.lines[4].discount_amount = Some(-1e300);
        tx.lines[5].qty = Some(f64::NAN);
        assert_eq!(
            issue_fields(&settings(), &tx),
            [
                "lines[1].description",
                "lines[2].qty",
                "lines[3].qty",
                "lines[3].unit_price",
                "lines[4].extended_price",
                "lines[4].discount_amount",
                "lines[5].qty",
            ]
        );
    }

    #[test]
    fn three_hundred_lines() {
        let mut tx = example();
        let good = tx.lines[1].clone();
        tx.lines = (0..300).map(|i| wit::TransactionLine { sku: Some(format!("SKU-{i}")), ..good.clone() }).collect();
        let order = upsert(&settings(), &tx);
        let products = order.record["products"].as_array().unwrap();
        assert_eq!(products.len(), 300);
        assert_eq!(products[299]["sku"], "SKU-299");

        tx.lines[150].qty = Some(f64::INFINITY);
        tx.lines[299].description = None;
        tx.lines[299].sku = None;
        assert_eq!(issue_fields(&settings(), &tx), ["lines[150].qty", "lines[299].description"]);
    }

    #[test]
    fn extreme_numbers_give_issues_not_panics() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308, -1e308, f64::MAX, f64::MIN, 1e12, 0.001, 0.015] {
            let mut tx = example();
            tx.total = Some(bad);
            tx.subtotal = Some(bad);
            tx.lines[0].qty = Some(bad * 1e13);
            tx.lines[0].unit_price = Some(bad);
            let fields = issue_fields(&settings(), &tx);
            assert!(
                fields.contains(&"total".to_string()) && fields.contains(&"lines[0].unit_price".to_string()),
                "{bad}: {fields:?}"
            );
        }
        // Tiny float noise is the cent it rounds to.
        let mut tx = example();
        tx.total = Some(74.55 + 1e-9);
        assert_eq!(upsert(&settings(), &tx).record["orderTotal"], json!(74.55));
    }

    /// Key → JSON type name, recursively into objects and arrays of objects.
    fn shape(value: &Value, prefix: &str, out: &mut BTreeMap<String, &'static str>) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.insert(prefix.to_string(), kind);
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    shape(v, &format!("{prefix}.{k}"), out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    assert!(!item.is_array(), "array directly inside an array at {prefix}");
                    shape(item, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn varied_orders_share_one_shape() {
        let base = example();
        let mut orders = vec![base.clone()];

        // Discounted, no shipping address, zero tax, no payment, no custom store.
        let mut t = base.clone();
        t.transaction_number = s("SO-2");
        t.discount_amount = Some(12.5);
        t.tax_amount = Some(0.0);
        t.addresses.retain(|a| a.is_primary_billing);
        t.payments.clear();
        t.custom_fields = vec![field("Currency", "EUR")];
        orders.push(t);

        // A refund: negative amounts, absent optional amounts, no addresses at all.
        let mut t = base.clone();
        t.transaction_number = s("RF-3");
        t.total = Some(-19.99);
        t.subtotal = Some(-19.99);
        t.discount_amount = None;
        t.tax_amount = None;
        t.shipping_amount = None;
        t.status = None;
        t.addresses.clear();
        t.lines[0].unit_price = Some(-19.99);
        t.lines[0].extended_price = None;
        t.lines[0].discount_amount = None;
        t.lines[0].sku = None;
        t.lines[0].options.clear();
        t.lines.truncate(1);
        orders.push(t);

        // Addresses found by type only; fractional quantity; a line without a description.
        let mut t = base.clone();
        t.transaction_number = s("SO-4");
        for a in &mut t.addresses {
            a.is_primary_billing = false;
            a.is_primary_shipping = false;
        }
        t.lines[1].qty = Some(0.5);
        t.lines[1].description = None;
        t.created_datetime = s("2025-12-31T23:30:00-05:00");
        orders.push(t);

        // No lines at all (a service charge).
        let mut t = base.clone();
        t.transaction_number = s("SO-5");
        t.lines.clear();
        orders.push(t);

        let records: Vec<Value> = orders.iter().map(|tx| upsert(&settings(), tx).record).collect();
        assert_eq!(records[1]["deliveryAddress"]["delivery_city"], Value::Null);
        assert_eq!(records[1]["deliveryMethod"], Value::Null);
        assert_eq!(records[1]["payment"], Value::Null);
        assert_eq!(records[1]["taxAmount"], json!(0.0));
        assert_eq!(records[2]["orderTotal"], json!(-19.99));
        assert_eq!(records[2]["billingAddress"]["billing_address_1"], Value::Null);
        assert_eq!(records[3]["billingAddress"]["billing_city"], "Bristol");
        assert_eq!(records[3]["deliveryMethod"], "Standard");
        assert_eq!(records[3]["purchaseDate"], "2026-01-01T04:30:00Z");

        // Same keys everywhere; per key one type, allowing null in place of any type.
        let shapes: Vec<BTreeMap<String, &str>> = records
            .iter()
            .map(|r| {
                let mut out = BTreeMap::new();
                shape(r, "", &mut out);
                out
            })
            .collect();
        // The same keys everywhere, but for arrays that would be empty: an empty array types
        // nothing, so `products` and `options` are left out rather than sent as `[]`.
        let top_keys =
            |r: &Value| r.as_object().unwrap().keys().filter(|k| *k != "products").cloned().collect::<Vec<_>>();
        for r in &records {
            assert_eq!(top_keys(r), top_keys(&records[0]));
            for p in r.get("products").map_or(&[][..], |p| p.as_array().unwrap()) {
                let mut keys = p.as_object().unwrap().keys().map(String::as_str).collect::<Vec<_>>();
                keys.sort_unstable();
                let expected = ["discountAmount", "name", "price", "qty", "sku", "totalPrice"];
                if let Some(options) = p.get("options") {
                    assert!(!options.as_array().unwrap().is_empty(), "{p}");
                }
                keys.retain(|k| *k != "options");
                assert_eq!(keys, expected);
            }
        }
        assert!(records[4].get("products").is_none(), "no lines: no products key");
        assert!(records[2]["products"][0].get("options").is_none(), "no options: no options key");
        assert!(records[0]["products"][0]["options"].is_array());
        let mut types: BTreeMap<&str, &str> = BTreeMap::new();
        for shape in &shapes {
            for (key, kind) in shape {
                if *kind == "null" {
                    continue;
                }
                let seen = types.entry(key).or_insert(kind);
                assert_eq!(seen, kind, "{key} changes type");
            }
        }
        // Addresses are objects even when absent, products an array when present.
        for r in &records {
            assert!(r["billingAddress"].is_object() && r["deliveryAddress"].is_object());
            assert!(r.get("products").is_none_or(Value::is_array));
        }
    }

    #[test]
    fn address_3_joins_address_2() {
        let mut tx = example();
        tx.addresses[0].address3 = s("Harbourside");
        assert_eq!(upsert(&settings(), &tx).record["billingAddress"]["billing_address_2"], "Flat 3, Harbourside");
        tx.addresses[0].address2 = None;
        assert_eq!(upsert(&settings(), &tx).record["billingAddress"]["billing_address_2"], "Harbourside");
    }

    #[test]
    fn first_payment_with_a_method() {
        let mut tx = example();
        tx.payments.insert(0, wit::Payment { method: s(" "), amount: None, status: None, description: None });
        tx.payments.push(wit::Payment { method: s("Gift Card"), amount: None, status: None, description: None });
        assert_eq!(upsert(&settings(), &tx).record["payment"], "Credit Card");
    }
}
