//! The account's contact data fields and their types (`GET /v2/data-fields`, v2.json
//! `ApiDataField`), and the conversion of a custom field's text into a value of that type.
//! Pure: the fetch and the day-long cache live in `dotdigital::data_fields`.

use serde_json::{json, Number, Value};

use super::values::{utc_timestamp, yes_no, Offset, YES_NO_WORDS};
use crate::settings::{DataFieldMapping, NAME_DATA_FIELDS};
use crate::validation::text::{char_len, shown};
use crate::validation::{issue, Issues};
use crate::wit::FieldIssue;

/// The longest string value sent to a String data field. The data-field list gives no length,
/// and Dotdigital's documented overflow example says 256; one less keeps clear of the edge.
pub const STRING_MAX_CHARS: usize = 255;
/// Digits an f64 holds exactly: a longer number would arrive changed.
const NUMBER_MAX_DIGITS: usize = 15;

/// v2.json `ApiDataTypes`, less `NotAvailableInThisVersion`, plus whatever else an account reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataFieldType {
    String,
    Numeric,
    Date,
    Boolean,
    /// A type the connector cannot write (`NotAvailableInThisVersion`, or a new one).
    Unsupported(String),
}

impl DataFieldType {
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "string" => Self::String,
            "numeric" => Self::Numeric,
            "date" => Self::Date,
            "boolean" => Self::Boolean,
            _ => Self::Unsupported(text.trim().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::String => "String",
            Self::Numeric => "Numeric",
            Self::Date => "Date",
            Self::Boolean => "Boolean",
            Self::Unsupported(name) => name,
        }
    }

    /// What a value of this type looks like, for problem sentences.
    fn expected(&self) -> String {
        match self {
            Self::String => format!("text of at most {STRING_MAX_CHARS} characters"),
            Self::Numeric => "a decimal number such as 12 or -3.5".into(),
            Self::Date => "an ISO 8601 date or date-time such as 2025-06-30 or 2025-06-30T10:00:00Z".into(),
            Self::Boolean => YES_NO_WORDS.into(),
            Self::Unsupported(name) => format!("a {name} value, which the connector cannot write"),
        }
    }
}

/// The account's data fields, names uppercased (Dotdigital matches them case-insensitively).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountFields {
    fields: Vec<(String, DataFieldType)>,
}

impl AccountFields {
    /// Reads `[{"name", "type", …}]`, the answer of `GET /v2/data-fields` (also the cached form).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let list = value.as_array().ok_or("the data-field list is not an array")?;
        let mut fields = Vec::with_capacity(list.len());
        for entry in list {
            let name = entry.get("name").and_then(Value::as_str).ok_or("a data field without a name")?;
            // `type` is optional in the schema; Dotdigital's default for a new field is String.
            let kind = entry.get("type").and_then(Value::as_str).map_or(DataFieldType::String, DataFieldType::parse);
            fields.push((name.trim().to_ascii_uppercase(), kind));
        }
        Ok(AccountFields { fields })
    }

    /// The cached form: the same shape as the API's answer, names and types only.
    pub fn to_json(&self) -> Value {
        Value::Array(self.fields.iter().map(|(name, kind)| json!({"name": name, "type": kind.as_str()})).collect())
    }

    pub fn type_of(&self, name: &str) -> Option<&DataFieldType> {
        self.fields.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, kind)| kind)
    }

    /// Which of FIRSTNAME, LASTNAME and FULLNAME the account can take: present as String fields.
    pub fn name_fields(&self) -> NameFields {
        let has = |name: &str| self.type_of(name) == Some(&DataFieldType::String);
        let [first, last, full] = NAME_DATA_FIELDS;
        NameFields { first: has(first), last: has(last), full: has(full) }
    }

    /// The `data_field_map` checked against the account: each mapping with its field's type,
    /// or one settings problem per data field that is missing or of a type the connector
    /// cannot write.
    pub fn typed_mappings(&self, map: &[DataFieldMapping]) -> Result<Vec<TypedMapping>, Vec<FieldIssue>> {
        let mut found = Issues::default();
        let typed = map.iter().enumerate().filter_map(|(i, mapping)| found.check(self.typed(i, mapping))).collect();
        found.finish(typed)
    }

    /// The `i`th mapping with its field's type, if the connector can write that field.
    fn typed(&self, i: usize, mapping: &DataFieldMapping) -> Result<TypedMapping, FieldIssue> {
        let path = || format!("data_field_map[{i}].data_field");
        match self.type_of(&mapping.data_field) {
            None => Err(issue(
                path(),
                format!(
                    "the account has no contact data field {} (create it in Settings > Contacts > Contact data fields)",
                    mapping.data_field
                ),
            )),
            Some(DataFieldType::Unsupported(kind)) => Err(issue(
                path(),
                format!("data field {} has type {kind}, which the connector cannot write", mapping.data_field),
            )),
            Some(kind) => Ok(TypedMapping { mapping: mapping.clone(), kind: kind.clone() }),
        }
    }

    /// The names the contact mapping fills but the account lacks (as String fields).
    pub fn missing_name_fields(&self) -> Vec<&'static str> {
        NAME_DATA_FIELDS.into_iter().filter(|name| self.type_of(name) != Some(&DataFieldType::String)).collect()
    }
}

/// Which name data fields a contact may carry in this account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameFields {
    pub first: bool,
    pub last: bool,
    pub full: bool,
}

impl NameFields {
    /// Every name field: for tests and for accounts known to have them all.
    pub const ALL: NameFields = NameFields { first: true, last: true, full: true };
}

/// One `data_field_map` entry with the type of its data field in the account.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedMapping {
    pub mapping: DataFieldMapping,
    pub kind: DataFieldType,
}

/// A custom field's text (already trimmed, non-empty) as the JSON value its data field takes,
/// or what was expected instead.
pub fn convert(text: &str, kind: &DataFieldType) -> Result<Value, String> {
    let converted = match kind {
        DataFieldType::String => (char_len(text) <= STRING_MAX_CHARS).then(|| Value::String(text.to_string())),
        DataFieldType::Numeric => number(text).map(Value::Number),
        DataFieldType::Date => utc_timestamp(text, Offset::OptionalUtc).ok().map(Value::String),
        DataFieldType::Boolean => yes_no(text).map(Value::Bool),
        DataFieldType::Unsupported(_) => None,
    };
    converted.ok_or_else(|| {
        if *kind == DataFieldType::String {
            format!("{} characters; the data field is String: {}", char_len(text), kind.expected())
        } else {
            format!("`{}` is not {} (the data field is {})", shown(text), kind.expected(), kind.as_str())
        }
    })
}

/// `[+-]digits[.digits]` (or `.digits`), at most 15 significant digits: an integer stays an
/// integer, anything with a fraction becomes a float. No exponents, separators or NaN.
fn number(text: &str) -> Option<Number> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits_ok = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let fraction_text = fraction.unwrap_or("");
    if !digits_ok(whole) || !digits_ok(fraction_text) || whole.len() + fraction_text.len() == 0 {
        return None;
    }
    let significant = format!("{whole}{fraction_text}");
    if significant.trim_start_matches('0').len() > NUMBER_MAX_DIGITS {
        return None;
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    match fraction {
        None => text.parse::<i64>().ok().map(Number::from),
        Some(_) => text.parse::<f64>().ok().and_then(Number::from_f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountFields {
        AccountFields::from_json(&json!([
            {"name": "FIRSTNAME", "type": "String", "visibility": "Public", "defaultValue": null},
            {"name": "lastname", "type": "String"},
            {"name": "POINTS", "type": "Numeric"},
            {"name": "BIRTHDAY", "type": "Date"},
            {"name": "VIP", "type": "Boolean", "defaultValue": false},
            {"name": "TIER"},
            {"name": "ODD", "type": "NotAvailableInThisVersion"}
        ]))
        .unwrap()
    }

    fn mapping(custom: &str, data: &str) -> DataFieldMapping {
        DataFieldMapping { custom_field: custom.into(), data_field: data.into() }
    }

    #[test]
    fn the_field_list_is_read_and_round_trips_through_the_cache_form() {
        let fields = account();
        assert_eq!(fields.type_of("lastName"), Some(&DataFieldType::String));
        assert_eq!(fields.type_of("points"), Some(&DataFieldType::Numeric));
        assert_eq!(fields.type_of("TIER"), Some(&DataFieldType::String));
        assert_eq!(fields.type_of("ODD"), Some(&DataFieldType::Unsupported("NotAvailableInThisVersion".into())));
        assert_eq!(fields.type_of("GONE"), None);
        assert_eq!(AccountFields::from_json(&fields.to_json()).unwrap(), fields);
        assert_eq!(fields.name_fields(), NameFields { first: true, last: true, full: false });
        assert_eq!(fields.missing_name_fields(), ["FULLNAME"]);
        for bad in [json!({}), json!([{"type": "String"}]), json!("x")] {
            assert!(AccountFields::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mappings_are_typed_or_every_problem_is_listed() {
        let fields = account();
        let typed = fields.typed_mappings(&[mapping("Points", "POINTS"), mapping("VIP", "VIP")]).unwrap();
        assert_eq!(
            typed.iter().map(|t| t.kind.clone()).collect::<Vec<_>>(),
            [DataFieldType::Numeric, DataFieldType::Boolean]
        );
        let issues = fields
            .typed_mappings(&[mapping("Points", "POINTS"), mapping("Gone", "GONE"), mapping("Odd", "ODD")])
            .unwrap_err();
        let paths: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(paths, ["data_field_map[1].data_field", "data_field_map[2].data_field"]);
        assert!(issues[0].problem.contains("no contact data field GONE"));
        assert!(issues[1].problem.contains("NotAvailableInThisVersion"));
    }

    #[test]
    fn numbers() {
        let n = |t: &str| convert(t, &DataFieldType::Numeric);
        assert_eq!(n("12"), Ok(json!(12)));
        assert_eq!(n("-3.5"), Ok(json!(-3.5)));
        assert_eq!(n("+0.25"), Ok(json!(0.25)));
        assert_eq!(n(".5"), Ok(json!(0.5)));
        assert_eq!(n("007"), Ok(json!(7)));
        assert_eq!(n("19.99").unwrap().to_string(), "19.99");
        assert_eq!(n("123456789012345"), Ok(json!(123456789012345i64)));
        for bad in ["", "abc", "1e5", "1,000", "1.2.3", "-", ".", "NaN", "inf", "12 ", "1234567890123456", "0x10"] {
            let problem = n(bad).unwrap_err();
            assert!(problem.contains("Numeric"), "{bad}: {problem}");
        }
    }

    #[test]
    fn booleans_dates_and_strings() {
        for (text, value) in [
            ("true", true),
            ("YES", true),
            ("1", true),
            ("y", true),
            ("False", false),
            ("no", false),
            ("0", false),
            ("N", false),
        ] {
            assert_eq!(convert(text, &DataFieldType::Boolean), Ok(json!(value)), "{text}");
        }
        for bad in ["maybe", "2", "yess"] {
            assert!(convert(bad, &DataFieldType::Boolean).unwrap_err().contains("Boolean"), "{bad}");
        }
        let d = |t: &str| convert(t, &DataFieldType::Date);
        // contacts-v3.json writes its date-times as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
        assert_eq!(d("2025-06-30"), Ok(json!("2025-06-30T00:00:00Z")));
        assert_eq!(d("2025-06-30T10:15:00"), Ok(json!("2025-06-30T10:15:00Z")));
        assert_eq!(d("2025-06-30T10:15:00+02:00"), Ok(json!("2025-06-30T08:15:00Z")));
        for bad in ["30/06/2025", "2025-02-30", "soon"] {
            assert!(d(bad).unwrap_err().contains("Date"), "{bad}");
        }
        let s = |t: &str| convert(t, &DataFieldType::String);
        assert_eq!(s("Gold"), Ok(json!("Gold")));
        assert!(s(&"é".repeat(STRING_MAX_CHARS)).is_ok());
        assert!(s(&"x".repeat(STRING_MAX_CHARS + 1)).unwrap_err().contains("255"));
        assert!(convert("x", &DataFieldType::Unsupported("Blob".into())).is_err());
    }
}
