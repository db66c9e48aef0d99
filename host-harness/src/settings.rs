//! A subscription's settings file: the connector's settings (snake_case, as the platform
//! stores them) plus the host's own fields (name, pinned version, throttle). Unknown keys are
//! refused, not ignored: a typo in a setting must not silently change behaviour.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::records::{parse, RecordError};
use crate::runtime::bindings::{FieldMapping, OrderSettings, PluginInfo, Settings};
use crate::runtime::metadata::Identity;

/// The environment variable the API password may come from, so a settings file holds no secret.
pub const PASSWORD_ENV: &str = "DOTDIGITAL_API_PASSWORD";

/// Where the password may come from in the settings file instead of `api_password`: a path
/// to a file holding it, relative to the settings file's folder.
pub const PASSWORD_FILE_KEY: &str = "api_password_file";

/// Fills `api_password` in `settings` (the file as read from `path`) from `api_password_file`,
/// else, when the file gives neither, from `env` (`DOTDIGITAL_API_PASSWORD`). The password
/// file's content is used up to its trailing line break. `api_password_file` is removed: the
/// plugin's settings never see it.
pub fn resolve_password(settings: &mut Value, path: &Path, env: Option<String>) -> Result<(), String> {
    let Some(object) = settings.as_object_mut() else { return Ok(()) };
    let from_file = match object.remove(PASSWORD_FILE_KEY) {
        None | Some(Value::Null) => None,
        Some(Value::String(file)) => Some(file),
        Some(_) => return Err(format!("{PASSWORD_FILE_KEY}: must be the path of a file holding the password")),
    };
    // An empty password is no password: the file's other source, or the environment, gives it.
    let given = object.get("api_password").is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    match (from_file, given) {
        (Some(_), true) => Err(format!("api_password and {PASSWORD_FILE_KEY} are both set: keep one")),
        (Some(file), false) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            let text = read_password_file(&file)
                .map_err(|why| format!("{PASSWORD_FILE_KEY}: {} cannot be read ({why})", file.display()))?;
            let password = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
            object.insert("api_password".into(), Value::String(password.to_string()));
            Ok(())
        }
        (None, true) => Ok(()),
        (None, false) => {
            if let Some(password) = env.filter(|p| !p.is_empty()) {
                object.insert("api_password".into(), Value::String(password));
            }
            Ok(())
        }
    }
}

/// A password file's text: a regular file (never a FIFO or a device, which could block or
/// never end) of at most `MAX_PASSWORD_FILE_BYTES`.
fn read_password_file(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let metadata = std::fs::metadata(file).map_err(|e| crate::errors::io_reason(&e))?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    let opened = std::fs::File::open(file).map_err(|e| crate::errors::io_reason(&e))?;
    opened.take(MAX_PASSWORD_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| crate::errors::io_reason(&e))?;
    if bytes.len() as u64 > MAX_PASSWORD_FILE_BYTES {
        return Err(format!("larger than {MAX_PASSWORD_FILE_BYTES} bytes: a password file holds the password only"));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".into())
}

/// A password file holds one password: anything larger is the wrong file.
const MAX_PASSWORD_FILE_BYTES: u64 = 4096;

/// The fields the host keeps for itself.
const HOST_KEYS: &[&str] =
    &["name", "version", "subscription_id", "api_throttle_limit", "api_throttle_seconds", "concurrent_connections"];

/// iPaaS.com's pre-filled throttle values. The host owns them: a component's `describe` may
/// suggest others, but never sets the limits it is held to.
pub const DEFAULT_THROTTLE_LIMIT: u32 = 500;
pub const DEFAULT_THROTTLE_SECONDS: u32 = 60;
pub const DEFAULT_CONCURRENT_CONNECTIONS: u32 = 2;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    api_user: Option<String>,
    #[serde(default)]
    api_password: Option<String>,
    #[serde(default)]
    api_endpoint: Option<String>,
    #[serde(default)]
    integration_token: Option<String>,
    #[serde(default)]
    email_type: Option<String>,
    #[serde(default)]
    opt_in_type: Option<String>,
    #[serde(default)]
    list_ids: Option<Vec<u32>>,
    #[serde(default)]
    marketing_list_ids: Option<Vec<u32>>,
    #[serde(default)]
    consent_field: Option<String>,
    #[serde(default)]
    data_field_map: Option<Vec<FieldMappingJson>>,
    #[serde(default)]
    collection_name: Option<String>,
    #[serde(default)]
    default_currency: Option<String>,
    #[serde(default)]
    order_types: Option<Vec<String>>,
    #[serde(default)]
    order_contacts: Option<String>,
    #[serde(default)]
    certificate_campaign_id: Option<u32>,
    #[serde(default)]
    certificate_collection: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    subscription_id: Option<i64>,
    #[serde(default)]
    api_throttle_limit: Option<u32>,
    #[serde(default)]
    api_throttle_seconds: Option<u32>,
    #[serde(default)]
    concurrent_connections: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FieldMappingJson {
    custom_field: String,
    data_field: String,
}

/// What the host does with a subscription.
#[derive(Clone, Debug)]
pub struct HostSettings {
    /// Names the subscription in logs and its state file.
    pub name: String,
    /// The plugin versions the subscription accepts (a semver requirement), if pinned.
    pub version: Option<semver::VersionReq>,
    /// The iPaaS.com system id whose `external_ids` row holds a customer's stored contact id.
    pub subscription_id: Option<i64>,
    pub api_throttle_limit: u32,
    pub api_throttle_seconds: u32,
    pub concurrent_connections: u32,
}

pub struct Subscription {
    pub host: HostSettings,
    pub plugin: Settings,
    /// The order flow's settings added in contract 1.1 (`order_contacts`).
    pub order: OrderSettings,
}

impl Subscription {
    /// Secrets to keep out of every output.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.plugin.api_password.clone()];
        secrets.extend(self.plugin.integration_token.clone());
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// Why a settings file was refused: a set-up error, before any record runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsError {
    /// The file holds JSON, but not an object.
    NotAnObject,
    /// A key neither the plugin nor the host declares.
    UnknownKey(String),
    /// A value of the wrong type, with its path.
    BadValue(RecordError),
    /// A throttle field set to 0.
    Zero { field: &'static str },
    /// `version` is not a semver requirement.
    BadVersionPin { pinned: String, problem: String },
    /// The subscription is pinned to versions the plugin's is not (or the plugin carries no
    /// version metadata); `plugin` is its name and version as its metadata says.
    VersionPin { pinned: String, plugin: String },
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsError::NotAnObject => f.write_str("settings must be a JSON object"),
            SettingsError::UnknownKey(key) => {
                write!(f, "unknown setting {key:?}: neither the plugin nor the host declares it")
            }
            SettingsError::BadValue(error) => error.fmt(f),
            SettingsError::Zero { field } => write!(f, "{field}: must be at least 1"),
            SettingsError::BadVersionPin { pinned, problem } => {
                write!(
                    f,
                    "version: {pinned:?} is not a version requirement such as 1.0, v1.0, =0.2.0 or ^0.2 ({problem})"
                )
            }
            SettingsError::VersionPin { pinned, plugin } => {
                write!(f, "the subscription is pinned to plugin version {pinned}, but the plugin is {plugin}")
            }
        }
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SettingsError::BadValue(error) => Some(error),
            _ => None,
        }
    }
}

/// The settings file as a JSON Schema: its types from the struct the harness reads it with,
/// the component's descriptions, defaults and required keys, and the host's own keys. Secrets
/// are `writeOnly` (a form shows them masked and never reads them back).
pub fn json_schema(plugin: &PluginInfo) -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(SettingsFile)).unwrap_or_default();
    schema["title"] = "Dotdigital connector subscription settings".into();
    let host_descriptions = [
        ("name", "Names the subscription in logs and in its state."),
        ("version", "The plugin versions the subscription accepts, a requirement such as 1.1 or =1.1.0."),
        ("subscription_id", "The iPaaS.com system id whose external ids hold a customer's stored contact id."),
        ("api_throttle_limit", "Calls allowed per api_throttle_seconds (default 500)."),
        ("api_throttle_seconds", "The throttle's window in seconds (default 60)."),
        ("concurrent_connections", "Records synced at once (default 2)."),
    ];
    let mut required = Vec::new();
    if let Some(properties) = schema["properties"].as_object_mut() {
        for (key, description) in host_descriptions {
            if let Some(property) = properties.get_mut(key) {
                property["description"] = description.into();
            }
        }
        for preset in &plugin.settings {
            let Some(property) = properties.get_mut(&preset.name) else { continue };
            property["description"] = preset.description.clone().into();
            if let Some(default) = preset.default_value.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
                property["default"] = default;
            }
            // The password may come from api_password_file or DOTDIGITAL_API_PASSWORD instead;
            // a key with a default (the host's throttle, the name) may be left out.
            if preset.required && preset.name != "api_password" && preset.default_value.is_none() {
                required.push(Value::String(preset.name.clone()));
            }
        }
        for property in properties.values_mut() {
            // Every key is optional in the file: a `null` default says nothing.
            if property.get("default") == Some(&Value::Null) {
                property.as_object_mut().map(|p| p.remove("default"));
            }
        }
        for secret in ["api_password", "integration_token"] {
            if let Some(property) = properties.get_mut(secret) {
                property["writeOnly"] = true.into();
            }
        }
        properties.insert(
            PASSWORD_FILE_KEY.into(),
            serde_json::json!({"type": "string", "description": format!(
                "Instead of api_password: a file holding it, relative to the settings file's folder \
                 (else {PASSWORD_ENV} gives it)")}),
        );
    }
    schema["required"] = Value::Array(required);
    schema
}

/// Reads the settings JSON, checking it against what the loaded plugin declares (its settings)
/// and what its metadata says it is (the version a pin is compared with).
pub fn subscription(
    value: &serde_json::Value,
    plugin: &PluginInfo,
    identity: &Identity,
) -> Result<Subscription, SettingsError> {
    let Some(object) = value.as_object() else {
        return Err(SettingsError::NotAnObject);
    };
    for key in object.keys() {
        let declared = plugin.settings.iter().any(|s| s.name == *key);
        if !declared && !HOST_KEYS.contains(&key.as_str()) {
            return Err(SettingsError::UnknownKey(key.clone()));
        }
    }
    let file: SettingsFile = parse(value).map_err(SettingsError::BadValue)?;
    let positive = |name: &'static str, value: Option<u32>, fallback: u32| -> Result<u32, SettingsError> {
        match value {
            Some(0) => Err(SettingsError::Zero { field: name }),
            Some(v) => Ok(v),
            None => Ok(fallback),
        }
    };
    let host = HostSettings {
        name: file.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Dotdigital".into()),
        version: file.version.as_deref().map(version_requirement).transpose()?,
        subscription_id: file.subscription_id,
        api_throttle_limit: positive("api_throttle_limit", file.api_throttle_limit, DEFAULT_THROTTLE_LIMIT)?,
        api_throttle_seconds: positive("api_throttle_seconds", file.api_throttle_seconds, DEFAULT_THROTTLE_SECONDS)?,
        concurrent_connections: positive(
            "concurrent_connections",
            file.concurrent_connections,
            DEFAULT_CONCURRENT_CONNECTIONS,
        )?,
    };
    if let (Some(requirement), Some(pinned)) = (&host.version, &file.version) {
        let version = identity.version.as_deref().and_then(|v| semver::Version::parse(v).ok());
        if !version.is_some_and(|version| requirement.matches(&version)) {
            return Err(SettingsError::VersionPin { pinned: pinned.clone(), plugin: identity.label() });
        }
    }
    let plugin_settings = Settings {
        api_user: file.api_user.unwrap_or_default(),
        api_password: file.api_password.unwrap_or_default(),
        api_endpoint: file.api_endpoint,
        integration_token: file.integration_token,
        email_type: file.email_type,
        opt_in_type: file.opt_in_type,
        list_ids: file.list_ids.unwrap_or_default(),
        marketing_list_ids: file.marketing_list_ids.unwrap_or_default(),
        consent_field: file.consent_field,
        data_field_map: file
            .data_field_map
            .unwrap_or_default()
            .into_iter()
            .map(|m| FieldMapping { custom_field: m.custom_field, data_field: m.data_field })
            .collect(),
        collection_name: file.collection_name,
        default_currency: file.default_currency,
        order_types: file.order_types,
        certificate_campaign_id: file.certificate_campaign_id,
        certificate_collection: file.certificate_collection,
    };
    Ok(Subscription { host, plugin: plugin_settings, order: OrderSettings { order_contacts: file.order_contacts } })
}

/// iPaaS.com's Version field (`v1.0`) as a semver requirement: a leading `v` is dropped and a
/// bare version means "compatible with" (`1.0` = `^1.0`), as Cargo reads it.
fn version_requirement(pinned: &str) -> Result<semver::VersionReq, SettingsError> {
    let text = pinned.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    semver::VersionReq::parse(text)
        .map_err(|error| SettingsError::BadVersionPin { pinned: pinned.to_string(), problem: error.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::SettingPreset;
    use serde_json::json;

    fn identity() -> Identity {
        Identity { name: Some("dotdigital".into()), version: Some("0.3.0".into()), revision: None }
    }

    fn info() -> PluginInfo {
        let preset = |name: &str| SettingPreset {
            name: name.into(),
            required: false,
            default_value: None,
            description: String::new(),
        };
        PluginInfo { flows: vec![], settings: vec![preset("api_user"), preset("api_password"), preset("list_ids")] }
    }

    #[test]
    fn each_refusal_has_its_variant() {
        let read = |value| subscription(&value, &info(), &identity()).err();
        assert_eq!(read(json!([])), Some(SettingsError::NotAnObject));
        assert_eq!(read(json!({"api_usr": "x"})), Some(SettingsError::UnknownKey("api_usr".into())));
        let Some(SettingsError::BadValue(bad)) = read(json!({"list_ids": ["a"]})) else { panic!("a bad value") };
        assert_eq!(bad.path.as_deref(), Some("list_ids[0]"));
        assert_eq!(
            read(json!({"concurrent_connections": 0})),
            Some(SettingsError::Zero { field: "concurrent_connections" })
        );
        let pinned = read(json!({"version": "0.2.0"})).unwrap();
        assert!(matches!(&pinned, SettingsError::VersionPin { pinned, .. } if pinned == "0.2.0"));
        assert_eq!(
            pinned.to_string(),
            "the subscription is pinned to plugin version 0.2.0, but the plugin is dotdigital 0.3.0"
        );
        let ok = subscription(&json!({"api_user": "u", "api_password": "p", "version": "0.3.0"}), &info(), &identity())
            .unwrap();
        assert_eq!((ok.host.api_throttle_limit, ok.host.concurrent_connections), (500, 2));
    }

    #[test]
    fn version_pins_are_semver_requirements() {
        let read = |pin: &str| subscription(&json!({"version": pin}), &info(), &identity());
        for accepted in ["v0.3", "0.3", "V0.3.0", "=0.3.0", "^0.3", "~0.3", ">=0.2, <0.4", " v0.3.0 "] {
            assert!(read(accepted).is_ok(), "{accepted}");
        }
        for refused in ["v0.2", "1.0", "=0.3.1", "^0.4"] {
            let error = read(refused).err().unwrap();
            assert!(matches!(&error, SettingsError::VersionPin { pinned, .. } if pinned == refused), "{refused}");
            assert!(error.to_string().contains("dotdigital 0.3.0"), "{error}");
        }
        let bad = read("latest").err().unwrap();
        assert!(matches!(&bad, SettingsError::BadVersionPin { .. }), "{bad}");
        assert!(bad.to_string().starts_with("version: \"latest\" is not a version requirement"), "{bad}");
    }

    #[test]
    fn the_component_does_not_set_the_hosts_limits() {
        let mut greedy = info();
        for (name, claim) in [("api_throttle_limit", "100000"), ("concurrent_connections", "1000")] {
            greedy.settings.push(SettingPreset {
                name: name.into(),
                required: true,
                default_value: Some(claim.into()),
                description: String::new(),
            });
        }
        let host = subscription(&json!({}), &greedy, &identity()).unwrap().host;
        assert_eq!(
            (host.api_throttle_limit, host.api_throttle_seconds, host.concurrent_connections),
            (DEFAULT_THROTTLE_LIMIT, DEFAULT_THROTTLE_SECONDS, DEFAULT_CONCURRENT_CONNECTIONS)
        );
    }

    #[test]
    fn the_password_comes_from_the_file_then_the_environment() {
        let dir = std::env::temp_dir().join(format!("dd-settings-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "from-file\r\n").unwrap();
        let path = dir.join("settings.json");
        let resolve = |mut value: Value, env: Option<&str>| {
            resolve_password(&mut value, &path, env.map(String::from)).map(|()| value)
        };
        let from_file = resolve(json!({"api_password_file": "secret"}), Some("from-env")).unwrap();
        assert_eq!(from_file, json!({"api_password": "from-file"}), "the key is gone, the line break too");
        assert_eq!(resolve(json!({}), Some("from-env")).unwrap()["api_password"], "from-env");
        assert_eq!(resolve(json!({"api_password": "given"}), Some("from-env")).unwrap()["api_password"], "given");
        assert_eq!(resolve(json!({}), Some("")).unwrap(), json!({}), "an empty variable is no password");
        assert!(resolve(json!({"api_password": "x", "api_password_file": "secret"}), None).is_err());
        assert!(resolve(json!({"api_password_file": 7}), None).is_err());
        // A FIFO would block, a device never end, a huge file is the wrong file: all refused.
        let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path and a mode.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(resolve(json!({"api_password_file": "fifo"}), None).unwrap_err().contains("not a regular file"));
        assert!(resolve(json!({"api_password_file": "/dev/zero"}), None).unwrap_err().contains("not a regular"));
        std::fs::write(dir.join("big"), vec![b'x'; 5000]).unwrap();
        assert!(resolve(json!({"api_password_file": "big"}), None).unwrap_err().contains("larger than 4096"));
        // An empty password in the file is no password: the environment gives it.
        assert_eq!(resolve(json!({"api_password": ""}), Some("from-env")).unwrap()["api_password"], "from-env");
        let missing = resolve(json!({"api_password_file": "nope"}), None).unwrap_err();
        assert!(missing.contains("nope") && missing.contains("no such file"), "{missing}");
    }
}
