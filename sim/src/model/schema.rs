//! Insight collection schemas inferred from the data, as Dotdigital does: every JSON path
//! (`products[].price`) keeps the first type it is given. Integers and floats are both
//! `number`, `null` fits any type, and an array directly inside an array is refused.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

impl JsonType {
    /// `None` for `null`, which never fixes a type.
    fn of(value: &Value) -> Option<JsonType> {
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(JsonType::Boolean),
            Value::Number(_) => Some(JsonType::Number),
            Value::String(_) => Some(JsonType::String),
            Value::Array(_) => Some(JsonType::Array),
            Value::Object(_) => Some(JsonType::Object),
        }
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a record does not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RecordProblem {
    /// An array whose element is itself an array (`JsonContainsNestedArray`).
    NestedArray { path: String },
    /// A path whose type differs from the one the collection (or the record itself) set.
    TypeConflict { path: String, expected: JsonType, found: JsonType },
}

impl fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordProblem::NestedArray { path } => {
                write!(f, "Field '{path}' is an array directly inside an array, which Insight data does not allow")
            }
            RecordProblem::TypeConflict { path, expected, found } => {
                write!(f, "Field '{path}' is a {found} but the collection schema has it as a {expected}")
            }
        }
    }
}

/// Path → type for every non-null value a collection has accepted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Schema {
    fields: BTreeMap<String, JsonType>,
}

impl Schema {
    /// The record's own schema if it fits this one; the first problem otherwise.
    pub(crate) fn check(&self, record: &Map<String, Value>) -> Result<Schema, RecordProblem> {
        let mut own = Schema::default();
        for (key, value) in record {
            own.collect(value, key)?;
        }
        for (path, found) in &own.fields {
            if let Some(expected) = self.fields.get(path) {
                if expected != found {
                    return Err(RecordProblem::TypeConflict { path: path.clone(), expected: *expected, found: *found });
                }
            }
        }
        Ok(own)
    }

    /// Adds the paths a stored record introduced.
    pub(crate) fn absorb(&mut self, other: Schema) {
        for (path, kind) in other.fields {
            self.fields.entry(path).or_insert(kind);
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        self.fields.iter().map(|(path, kind)| (path.clone(), Value::from(kind.name()))).collect::<Map<_, _>>().into()
    }

    fn collect(&mut self, value: &Value, path: &str) -> Result<(), RecordProblem> {
        let Some(found) = JsonType::of(value) else { return Ok(()) };
        match self.fields.get(path) {
            Some(expected) if *expected != found => {
                return Err(RecordProblem::TypeConflict { path: path.to_string(), expected: *expected, found });
            }
            Some(_) => {}
            None => {
                self.fields.insert(path.to_string(), found);
            }
        }
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    self.collect(child, &format!("{path}.{key}"))?;
                }
            }
            Value::Array(items) => {
                let element_path = format!("{path}[]");
                for item in items {
                    if item.is_array() {
                        return Err(RecordProblem::NestedArray { path: element_path });
                    }
                    self.collect(item, &element_path)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
