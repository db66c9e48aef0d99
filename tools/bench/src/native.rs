//! The connector's flows compiled natively (the plugin crate as a library), answered by the
//! same canned Dotdigital: the baseline the component's overhead is measured against. The
//! records are read into the contract's types by the host first; converting them to the
//! plugin's own copies of those types happens before the clock starts.

use std::collections::HashMap;
use std::sync::Mutex;

use dotdigital_plugin::platform::{HttpRequest, HttpResponse, LogLevel, Platform};
use dotdigital_plugin::wit as plugin;

use crate::canned;
use dotdigital_harness::runtime::bindings as host;

/// A native platform: canned answers, data in a map.
#[derive(Default)]
pub struct NativeHost {
    data: Mutex<HashMap<String, String>>,
}

impl Platform for NativeHost {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        // `https://host/path?query` → `/path?query`.
        let path = request.url.splitn(4, '/').nth(3).map(|rest| format!("/{rest}")).unwrap_or_else(|| "/".into());
        let (status, body) = canned::answer(request.method.as_str(), &path);
        Ok(HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        })
    }

    fn log(&self, _level: LogLevel, _message: &str) {}

    fn get_data(&self, key: &str) -> Option<String> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    fn set_data(&self, key: &str, value: &str, _ttl_seconds: Option<u32>) -> Result<(), String> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).insert(key.into(), value.into());
        Ok(())
    }

    fn claim_data(&self, key: &str, value: &str, _ttl_seconds: Option<u32>) -> Result<bool, String> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        if data.contains_key(key) {
            return Ok(false);
        }
        data.insert(key.into(), value.into());
        Ok(true)
    }

    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

/// The host's binding type as the plugin's own copy of the same WIT type.
pub trait ToPlugin {
    type Plugin;
    fn to_plugin(&self) -> Self::Plugin;
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl ToPlugin for $t {
            type Plugin = $t;
            fn to_plugin(&self) -> $t {
                self.clone()
            }
        }
    )*};
}
same!(String, bool, f64, i64, u32);

impl<T: ToPlugin> ToPlugin for Option<T> {
    type Plugin = Option<T::Plugin>;
    fn to_plugin(&self) -> Self::Plugin {
        self.as_ref().map(ToPlugin::to_plugin)
    }
}

impl<T: ToPlugin> ToPlugin for Vec<T> {
    type Plugin = Vec<T::Plugin>;
    fn to_plugin(&self) -> Self::Plugin {
        self.iter().map(ToPlugin::to_plugin).collect()
    }
}

impl<A: ToPlugin, B: ToPlugin> ToPlugin for (A, B) {
    type Plugin = (A::Plugin, B::Plugin);
    fn to_plugin(&self) -> Self::Plugin {
        (self.0.to_plugin(), self.1.to_plugin())
    }
}

macro_rules! record {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl ToPlugin for host::$name {
            type Plugin = plugin::$name;
            fn to_plugin(&self) -> plugin::$name {
                plugin::$name { $($field: self.$field.to_plugin()),* }
            }
        }
    };
}

record!(FieldMapping { custom_field, data_field });
record!(Settings {
    api_user,
    api_password,
    api_endpoint,
    integration_token,
    email_type,
    opt_in_type,
    list_ids,
    marketing_list_ids,
    consent_field,
    data_field_map,
    collection_name,
    default_currency,
    order_types,
    certificate_campaign_id,
    certificate_collection,
});
record!(CustomField { name, value });
record!(Address {
    address_type,
    first_name,
    last_name,
    company,
    phone_number,
    address1,
    address2,
    address3,
    city,
    region,
    country,
    postal_code,
    is_primary_billing,
    is_primary_shipping,
    shipping_method,
    shipping_method_description,
});
record!(Customer {
    id,
    tracking_guid,
    customer_number,
    first_name,
    last_name,
    email_address,
    company,
    addresses,
    custom_fields,
    contact_id,
});
record!(TransactionLine {
    sku,
    description,
    line_type,
    status,
    qty,
    unit_price,
    extended_price,
    original_unit_price,
    discount_amount,
    tax_percent,
    estimated_tax_amount,
    options,
});
record!(Payment { method, amount, status, description });
record!(Transaction {
    id,
    tracking_guid,
    transaction_number,
    customer_id,
    email_address,
    transaction_type,
    status,
    discount_amount,
    tax_amount,
    shipping_amount,
    subtotal,
    total,
    total_qty,
    created_datetime,
    updated_datetime,
    lines,
    addresses,
    payments,
    custom_fields,
});
record!(GiftCard {
    id,
    tracking_guid,
    number,
    description,
    card_type,
    original_amount,
    balance,
    status,
    purchase_date,
    expiration_date,
    customer_id,
    customer_name,
    customer_email,
    receiving_customer,
    receiving_customer_email,
    transaction_id,
    custom_fields,
});
