//! `describe`: who the connector is and which settings the platform shows, with the
//! defaults it pre-fills (the throttle fields included).

use crate::wit::{PluginInfo, SettingPreset};

/// The WIT package version this build implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

pub fn describe() -> PluginInfo {
    let preset = |name: &str, required: bool, default: Option<&str>, description: &str| SettingPreset {
        name: name.into(),
        required,
        default_value: default.map(str::to_string),
        description: description.into(),
    };
    PluginInfo {
        name: "dotdigital-connector".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        contract_version: CONTRACT_VERSION.into(),
        flows: vec!["contact".into(), "order".into(), "certificate".into()],
        settings: vec![
            preset("api_user", true, None, "Dotdigital API user (Settings > Access > API users)"),
            preset("api_password", true, None, "the API user's password (secret)"),
            preset("api_endpoint", false, None, "https://rN-api.dotdigital.com; empty = discover the region"),
            preset("integration_token", false, None, "partner integration token (x-ddg-integration-token)"),
            preset("email_type", false, Some("\"html\""), "html or plainText"),
            preset("opt_in_type", false, Some("\"single\""), "unknown, single, double or verifiedDouble"),
            preset("list_ids", false, Some("[]"), "Dotdigital list ids every contact joins"),
            preset(
                "data_field_map",
                false,
                Some("[]"),
                "[{\"custom_field\": …, \"data_field\": …}] custom fields → contact data fields",
            ),
            preset("collection_name", false, Some("\"Purchases\""), "insight collection for orders"),
            preset("default_currency", false, None, "ISO 4217 code for records without a Currency custom field"),
            preset("order_types", false, Some("[\"Order\"]"), "transaction types synced as orders"),
            preset("certificate_campaign_id", false, None, "triggered campaign announcing loyalty certificates"),
            preset(
                "certificate_collection",
                false,
                Some("\"LoyaltyCertificates\""),
                "insight collection for certificates",
            ),
            preset("api_throttle_limit", false, Some("500"), "calls allowed per throttle window (host)"),
            preset("api_throttle_seconds", false, Some("60"), "throttle window length in seconds (host)"),
            preset("concurrent_connections", false, Some("2"), "simultaneous requests (host)"),
        ],
    }
}
