//! The account summary (`GET /v2/account-info`), which also tells a client its regional API
//! endpoint, `GET /v2/data-fields` (typed), and `GET /v2/server-time`.

use std::time::Instant;

use serde_json::{json, Value};

use crate::clock::iso_now;
use crate::config::RateLimitConfig;
use crate::limits::NOMINAL_HOURLY_ALLOWANCE;
use crate::message::SimResponse;
use crate::model::Region;
use crate::state::AccountState;

/// Currency and time zone by region, so the r2 demo account looks North American.
fn locale(region: Region) -> (&'static str, &'static str) {
    match region {
        Region::R1 => ("GBP", "Europe/London"),
        Region::R2 => ("USD", "America/New_York"),
        Region::R3 => ("AUD", "Australia/Sydney"),
    }
}

impl AccountState {
    /// `{"id", "properties": [{"name", "type", "value"}]}` with every value a string.
    pub(crate) fn account_info(&self, rate_limit: &RateLimitConfig) -> SimResponse {
        let account = &self.account;
        let calls_this_hour = self.usage.calls_this_hour(Instant::now());
        let allowance = rate_limit.flat_hourly_limit.unwrap_or(NOMINAL_HOURLY_ALLOWANCE);
        let (currency, time_zone) = locale(account.region);
        let property = |name: &str, kind: &str, value: String| json!({ "name": name, "type": kind, "value": value });
        let properties: Vec<Value> = vec![
            property("Name", "String", account.name.clone()),
            property("MainEmail", "String", account.api_user.clone()),
            property("APILocale", "String", "en-GB".into()),
            property("ApiCallsInLastHour", "Int", calls_this_hour.to_string()),
            property("ApiCallsRemaining", "Int", allowance.saturating_sub(calls_this_hour).to_string()),
            property("ApiEndpoint", "String", account.api_endpoint()),
            property("AvailableEmailSendsCredits", "Int", "10000".into()),
            property("CurrencyCode", "String", currency.into()),
            property("ShowClock", "Boolean", "False".into()),
            property("TimeZoneIana", "String", time_zone.into()),
        ];
        SimResponse::json(200, &json!({ "id": account.id, "properties": properties }))
    }

    /// `GET /v2/data-fields`: `200 [{name, type, visibility, defaultValue}]`, the account's
    /// contact data fields as v2.json `ApiDataField_GetDataFields` returns them (`ApiDataField`).
    pub(crate) fn data_fields(&self) -> SimResponse {
        let fields: Vec<Value> = self.account.data_fields.iter().map(|field| field.to_api_json()).collect();
        SimResponse::json(200, &Value::Array(fields))
    }
}

/// The current UTC time as a JSON string.
pub(crate) fn server_time() -> SimResponse {
    SimResponse::json(200, &Value::String(iso_now()))
}
