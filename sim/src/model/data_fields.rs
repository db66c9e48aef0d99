//! Contact data fields as v2.json `ApiDataField` describes them: a name, a type
//! (`ApiDataTypes`: `String | Numeric | Date | Boolean`), a visibility and a default value; and
//! which JSON values a v3 contact body may give each type.
//!
//! contacts-v3.json types `dataFields` as a free object and says nothing about values, so the
//! value rules here are the simulator's reading, the stricter one wherever the documents are
//! silent (each rule says so).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::visibility::Visibility;

/// `[A-Za-z0-9_-]{1,20}` (v2 "Create data field" docs: up to 20 characters of letters,
/// digits, hyphens and underscores).
pub(crate) fn is_valid_data_field_name(name: &str) -> bool {
    (1..=20).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// v2.json `ApiDataTypes` (without `NotAvailableInThisVersion`, a version marker).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataFieldType {
    #[default]
    String,
    Numeric,
    Date,
    Boolean,
}

impl DataFieldType {
    pub const ALL: [DataFieldType; 4] =
        [DataFieldType::String, DataFieldType::Numeric, DataFieldType::Date, DataFieldType::Boolean];

    /// The `ApiDataTypes` spelling.
    pub fn name(self) -> &'static str {
        match self {
            DataFieldType::String => "String",
            DataFieldType::Numeric => "Numeric",
            DataFieldType::Date => "Date",
            DataFieldType::Boolean => "Boolean",
        }
    }

    /// A configured name, in any casing.
    pub fn parse(name: &str) -> Option<DataFieldType> {
        DataFieldType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The type a field auto-created from this value gets (a simulator option, not Dotdigital's).
    pub(crate) fn of_value(value: &Value) -> DataFieldType {
        match value {
            Value::Number(_) => DataFieldType::Numeric,
            Value::Bool(_) => DataFieldType::Boolean,
            _ => DataFieldType::String,
        }
    }

    /// The value as stored, or why it does not fit. `null` fits every type: it clears the field
    /// (developer.dotdigital.com/reference-link/importcontact: `null` clears a data field).
    ///
    /// Documents silent, stricter reading chosen:
    /// * `String` takes JSON strings only (no numbers or booleans), at most `max_string_chars`
    ///   characters (Dotdigital support, "Creating and deleting contact data fields": text fields
    ///   hold up to 255 characters).
    /// * `Numeric` takes JSON numbers only, never numeric strings.
    /// * `Boolean` takes JSON `true`/`false` only, never `"true"`, `"Yes"` or 1.
    /// * `Date` takes a JSON string, either a calendar date `YYYY-MM-DD` or an RFC 3339 date-time
    ///   with `Z` or an offset; it is stored and returned as ISO-8601 UTC `YYYY-MM-DDTHH:MM:SSZ`
    ///   (the form of every timestamp in contacts-v3.json, e.g. `contact.created`), so a date-only value reads back at
    ///   midnight UTC. Local times without an offset and other layouts are refused.
    pub(crate) fn accept(self, value: &Value, max_string_chars: usize) -> Result<Value, String> {
        match (self, value) {
            (_, Value::Null) => Ok(Value::Null),
            (DataFieldType::String, Value::String(text)) => {
                if text.chars().count() > max_string_chars {
                    Err(format!("cannot exceed {max_string_chars} characters"))
                } else {
                    Ok(value.clone())
                }
            }
            (DataFieldType::Numeric, Value::Number(_)) | (DataFieldType::Boolean, Value::Bool(_)) => Ok(value.clone()),
            (DataFieldType::Date, Value::String(text)) => normalize_date(text).map(Value::String).ok_or_else(|| {
                format!("'{text}' is not a date: use YYYY-MM-DD or an ISO-8601 date-time with Z or an offset")
            }),
            (kind, _) => Err(format!("must be {} for a {} data field, not {value}", kind.json_kind(), kind.name())),
        }
    }

    fn json_kind(self) -> &'static str {
        match self {
            DataFieldType::String => "a JSON string",
            DataFieldType::Numeric => "a JSON number",
            DataFieldType::Date => "a date string",
            DataFieldType::Boolean => "true or false",
        }
    }
}

/// `YYYY-MM-DD` or RFC 3339 → `YYYY-MM-DDTHH:MM:SSZ`.
fn normalize_date(text: &str) -> Option<String> {
    let instant = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(instant) => instant.to_offset(UtcOffset::UTC),
        Err(_) => {
            let day = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
            PrimitiveDateTime::new(day, Time::MIDNIGHT).assume_utc()
        }
    };
    instant.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).ok()
}

/// One contact data field of an account (v2.json `ApiDataField`).
#[derive(Clone, Debug, PartialEq)]
pub struct DataField {
    /// Matched case-insensitively; responses use this spelling.
    pub name: String,
    pub kind: DataFieldType,
    pub visibility: Visibility,
    /// `ApiDataField.defaultValue` (nullable); it must fit `kind`.
    pub default_value: Value,
}

impl DataField {
    /// A private field with no default value.
    pub fn new(name: &str, kind: DataFieldType) -> DataField {
        DataField { name: name.to_string(), kind, visibility: Visibility::Private, default_value: Value::Null }
    }

    /// `{name, type, visibility, defaultValue}` as `GET /v2/data-fields` lists it.
    pub(crate) fn to_api_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind.name(),
            "visibility": self.visibility.name(),
            "defaultValue": self.default_value,
        })
    }

    /// Reads an accounts-file entry: a plain name (a private `String` field, as older files
    /// have it) or `{name, type, visibility?, default_value?}`.
    fn from_config(value: Value) -> Result<DataField, String> {
        let mut object = match value {
            Value::String(name) => return Ok(DataField::new(&name, DataFieldType::String)),
            Value::Object(object) => object,
            other => {
                return Err(format!(
                    "a data field is a name or {{name, type, visibility?, default_value?}}, not {other}"
                ))
            }
        };
        let name = take_string(&mut object, "name")?.ok_or("a data field needs a name")?;
        let kind = match take_string(&mut object, "type")? {
            None => return Err(format!("data field {name:?} needs a type: String, Numeric, Date or Boolean")),
            Some(kind) => DataFieldType::parse(&kind).ok_or_else(|| {
                format!("data field {name:?}: type must be String, Numeric, Date or Boolean, not {kind:?}")
            })?,
        };
        let visibility = match take_string(&mut object, "visibility")? {
            None => Visibility::Private,
            Some(v) => Visibility::parse(&v)
                .ok_or_else(|| format!("data field {name:?}: visibility must be Private or Public, not {v:?}"))?,
        };
        let default_value = kind
            .accept(&object.remove("default_value").unwrap_or(Value::Null), usize::MAX)
            .map_err(|why| format!("data field {name:?}: default_value {why}"))?;
        if let Some(unknown) = object.keys().next() {
            return Err(format!(
                "data field {name:?}: unknown key {unknown:?} (allowed: name, type, visibility, default_value)"
            ));
        }
        Ok(DataField { name, kind, visibility, default_value })
    }
}

fn take_string(object: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
    }
}

impl Serialize for DataField {
    /// The accounts-file shape, so a listed account can be written back as configuration.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        json!({
            "name": self.name,
            "type": self.kind.name(),
            "visibility": self.visibility.name(),
            "default_value": self.default_value,
        })
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DataField, D::Error> {
        DataField::from_config(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}
