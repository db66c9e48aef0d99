//! `describe`: which flows the connector offers and which settings the platform shows, with the
//! defaults it pre-fills (the throttle fields included).

use crate::settings::{
    DEFAULT_CERTIFICATE_COLLECTION, DEFAULT_COLLECTION, DEFAULT_CONSENT_FIELD, DEFAULT_OPT_IN_TYPE, DEFAULT_ORDER_TYPE,
    EMAIL_TYPES, OPT_IN_TYPES, ORDER_CONTACTS,
};
use crate::wit::{PluginInfo, SettingPreset};

/// The subscription name iPaaS.com pre-fills: "[Product] - [Environment]"
/// (support.ipaas.com/en/articles/15704793-dotdigital-connections-and-settings).
pub const DEFAULT_SUBSCRIPTION_NAME: &str = "Dotdigital - Production";

/// Host settings the platform pre-fills (iPaaS.com's own defaults); the host owns and enforces
/// them, and every subscription must have them.
pub const THROTTLE_PRESETS: [(&str, &str, &str); 3] = [
    ("api_throttle_limit", "500", "calls allowed per throttle window (host)"),
    ("api_throttle_seconds", "60", "throttle window length in seconds (host)"),
    ("concurrent_connections", "2", "simultaneous requests (host)"),
];

pub fn describe() -> PluginInfo {
    let preset = |name: &str, required: bool, default: Option<&str>, description: &str| SettingPreset {
        name: name.into(),
        required,
        default_value: default.map(str::to_string),
        description: description.into(),
    };
    PluginInfo {
        flows: vec!["contact".into(), "order".into(), "certificate".into()],
        settings: vec![
            preset(
                "name",
                true,
                Some(&json_string(DEFAULT_SUBSCRIPTION_NAME)),
                "the subscription's name, unique per company (host)",
            ),
            preset("api_user", true, None, "Dotdigital API user (Settings > Access > API users)"),
            preset("api_password", true, None, "the API user's password (secret)"),
            preset("api_endpoint", false, None, "https://rN-api.dotdigital.com; empty = discover the region"),
            preset("integration_token", false, None, "partner integration token (x-ddg-integration-token)"),
            preset("email_type", false, Some(&json_string(EMAIL_TYPES[0])), &EMAIL_TYPES.join(" or ")),
            preset("opt_in_type", false, Some(&json_string(DEFAULT_OPT_IN_TYPE)), &OPT_IN_TYPES.join(", ")),
            preset("list_ids", false, Some("[]"), "Dotdigital list ids every synced customer joins"),
            preset(
                "marketing_list_ids",
                false,
                Some("[]"),
                "Dotdigital list ids a customer whose consent field says yes joins; an explicit no leaves them, no answer leaves them alone",
            ),
            preset(
                "consent_field",
                false,
                Some(&json_string(DEFAULT_CONSENT_FIELD)),
                "customer custom field with marketing consent: true/yes/1/Y or false/no/0/N",
            ),
            preset(
                "data_field_map",
                false,
                Some("[]"),
                "[{\"custom_field\": …, \"data_field\": …}] custom fields → contact data fields",
            ),
            preset("collection_name", false, Some(&json_string(DEFAULT_COLLECTION)), "insight collection for orders"),
            preset("default_currency", false, None, "ISO 4217 code for records without a Currency custom field"),
            preset(
                "order_types",
                false,
                Some(&format!("[{}]", json_string(DEFAULT_ORDER_TYPE))),
                "transaction types synced as orders",
            ),
            preset(
                "order_contacts",
                false,
                Some(&json_string(ORDER_CONTACTS[0])),
                "create: an order whose email Dotdigital does not know creates the contact (subscribed, as every \
                 new contact); require: such an order is rejected until the customer is synced",
            ),
            preset("certificate_campaign_id", false, None, "triggered campaign announcing loyalty certificates"),
            preset(
                "certificate_collection",
                false,
                Some(&json_string(DEFAULT_CERTIFICATE_COLLECTION)),
                "insight collection for certificates",
            ),
        ]
        .into_iter()
        .chain(THROTTLE_PRESETS.map(|(name, default, description)| preset(name, true, Some(default), description)))
        .collect(),
    }
}

/// A setting's default as the JSON the platform pre-fills.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_the_defaults_validation_fills_in() {
        let info = describe();
        let default = |name: &str| info.settings.iter().find(|s| s.name == name).and_then(|s| s.default_value.clone());
        let settings = crate::settings::Settings::validate(&crate::test_support::raw_settings()).unwrap();
        assert_eq!(default("email_type"), Some(json_string(settings.email_type)));
        assert_eq!(default("opt_in_type"), Some(json_string(settings.opt_in_type)));
        assert_eq!(default("collection_name"), Some(json_string(&settings.collection_name)));
        assert_eq!(default("certificate_collection"), Some(json_string(&settings.certificate_collection)));
        assert_eq!(default("order_types"), Some(serde_json::to_string(&settings.order_types).unwrap()));
        assert_eq!(default("consent_field"), Some(json_string(&settings.consent_field)));
        assert_eq!(default("marketing_list_ids"), Some(serde_json::to_string(&settings.marketing_list_ids).unwrap()));
        assert_eq!(default("list_ids"), Some(serde_json::to_string(&settings.list_ids).unwrap()));
    }

    #[test]
    fn the_name_and_the_throttle_fields_are_required_and_pre_filled() {
        let info = describe();
        let preset = |name: &str| info.settings.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}"));
        for (name, default) in [
            ("name", "\"Dotdigital - Production\""),
            ("api_throttle_limit", "500"),
            ("api_throttle_seconds", "60"),
            ("concurrent_connections", "2"),
        ] {
            assert!(preset(name).required, "{name}");
            assert_eq!(preset(name).default_value.as_deref(), Some(default), "{name}");
        }
        assert!(!preset("consent_field").required && !preset("marketing_list_ids").required);
        // Every settings key the platform sends is described once.
        let mut names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
