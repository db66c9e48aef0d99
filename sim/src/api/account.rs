//! The account summary `GET /v2/account-info` (account-info-v2.json `get-account-information`),
//! which also tells a client its regional API endpoint, and `GET /v2/server-time`
//! (`get-server-time`).

use std::time::Instant;

use serde_json::{json, Value};

use super::message::SimResponse;
use crate::clock::iso_now;
use crate::model::{AccountState, NOMINAL_HOURLY_ALLOWANCE};
use crate::settings::RateLimitConfig;

/// `{"id", "properties": [{"name", "type", "value"}]}` with every value a string.
pub(crate) fn account_info(state: &AccountState, rate_limit: &RateLimitConfig) -> SimResponse {
    let account = &state.account;
    let calls_this_hour = state.usage.calls_this_hour(Instant::now());
    let allowance = rate_limit.flat_hourly_limit.unwrap_or(NOMINAL_HOURLY_ALLOWANCE);
    let (currency, time_zone) = account.region.locale();
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

/// The current UTC time as a JSON string.
pub(crate) fn server_time() -> SimResponse {
    SimResponse::json(200, &Value::String(iso_now()))
}
