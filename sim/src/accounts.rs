//! The account summary (`GET /v2/account-info`), which also tells a client its regional API
//! endpoint, and `GET /v2/server-time`.

use std::time::Instant;

use serde_json::{json, Value};

use super::clock::iso_now;
use super::limits::NOMINAL_HOURLY_ALLOWANCE;
use super::message::SimResponse;
use super::state::SimState;

/// Currency and time zone by region, so the r2 demo account looks North American.
fn locale(region: &str) -> (&'static str, &'static str) {
    match region {
        "r2" => ("USD", "America/New_York"),
        "r3" => ("AUD", "Australia/Sydney"),
        _ => ("GBP", "Europe/London"),
    }
}

/// `{"id", "properties": [{"name", "type", "value"}]}` with every value a string.
pub(crate) fn account_info(state: &SimState, account: usize) -> SimResponse {
    let entry = &state.accounts[account];
    let account = &entry.account;
    let calls_this_hour = entry.usage.calls_this_hour(Instant::now());
    let allowance = state.rate_limit.flat_hourly_limit.unwrap_or(NOMINAL_HOURLY_ALLOWANCE);
    let (currency, time_zone) = locale(&account.region);
    let property = |name: &str, kind: &str, value: String| json!({ "name": name, "type": kind, "value": value });
    let properties: Vec<Value> = vec![
        property("Name", "String", account.name.clone()),
        property("MainEmail", "String", account.api_user.clone()),
        property("APILocale", "String", "en-GB".into()),
        property("ApiCallsInLastHour", "Int", calls_this_hour.to_string()),
        property("ApiCallsRemaining", "Int", allowance.saturating_sub(calls_this_hour).to_string()),
        property("ApiEndpoint", "String", format!("https://{}-api.dotdigital.com/", account.region)),
        property("AvailableEmailSendsCredits", "Int", "10000".into()),
        property("CurrencyCode", "String", currency.into()),
        property("ShowClock", "Boolean", "False".into()),
        property("TimeZoneIana", "String", time_zone.into()),
    ];
    SimResponse::json(200, &json!({ "id": account.id, "properties": properties }))
}

/// `GET /v2/data-fields`: the account's contact data fields (`ApiDataField` in v2.json).
pub(crate) fn data_fields(state: &SimState, account: usize) -> SimResponse {
    let fields: Vec<Value> = state.accounts[account]
        .account
        .data_fields
        .iter()
        .map(|name| json!({ "name": name, "type": "String", "visibility": "Private", "defaultValue": null }))
        .collect();
    SimResponse::json(200, &Value::Array(fields))
}

/// The current UTC time as a JSON string.
pub(crate) fn server_time() -> SimResponse {
    SimResponse::json(200, &Value::String(iso_now()))
}
