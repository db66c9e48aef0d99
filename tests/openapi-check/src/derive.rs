//! Derives the structure-only copy of an OpenAPI document that the checker reads: the JSON
//! request body schema of every operation under `paths`, and the `components.schemas` those
//! reach through `$ref`, with only the keywords the checker uses. Every description, example,
//! summary, title and other prose is left out. Keys keep the source's order and the output is
//! pretty-printed, so a regenerated copy diffs well.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// The schema keywords the checker reads; every other keyword is left out.
pub const KEYWORDS: &[&str] = &[
    "$ref",
    "allOf",
    "oneOf",
    "type",
    "enum",
    "format",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
];

const SCHEMA_REF: &str = "#/components/schemas/";

/// The structure-only copy of `doc`.
pub fn derive(doc: &Value) -> Value {
    let mut refs = Vec::new();
    let mut paths = Map::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let mut methods = Map::new();
        for (method, operation) in item.as_object().into_iter().flatten() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_object() {
                let body = json!({"content": {"application/json": {"schema": strip(schema, &mut refs)}}});
                methods.insert(method.clone(), json!({ "requestBody": body }));
            }
        }
        if !methods.is_empty() {
            paths.insert(path.clone(), Value::Object(methods));
        }
    }

    let source = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let mut reached = BTreeSet::new();
    while let Some(name) = refs.pop() {
        if reached.insert(name.clone()) {
            let schema = source.get(&name).unwrap_or_else(|| panic!("dangling $ref {SCHEMA_REF}{name}"));
            strip(schema, &mut refs);
        }
    }
    let schemas: Map<String, Value> = source
        .iter()
        .filter(|(name, _)| reached.contains(*name))
        .map(|(name, schema)| (name.clone(), strip(schema, &mut Vec::new())))
        .collect();

    let mut out = Map::new();
    out.insert("paths".into(), Value::Object(paths));
    if !schemas.is_empty() {
        out.insert("components".into(), json!({ "schemas": schemas }));
    }
    Value::Object(out)
}

/// [`derive`] as the text committed under `schemas/`: pretty-printed, ending in a newline.
pub fn derive_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&derive(doc)).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// `schema` with only [`KEYWORDS`], its subschemas stripped the same way; the names of the
/// component schemas it refers to are pushed onto `refs`.
fn strip(schema: &Value, refs: &mut Vec<String>) -> Value {
    let Some(object) = schema.as_object() else {
        // `additionalProperties: true/false`.
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let kept = match key.as_str() {
            "$ref" => {
                let reference = value.as_str().unwrap_or_else(|| panic!("$ref {value} is not a string"));
                let name = reference
                    .strip_prefix(SCHEMA_REF)
                    .unwrap_or_else(|| panic!("$ref {reference} is not under {SCHEMA_REF}"));
                refs.push(name.replace("~1", "/").replace("~0", "~"));
                value.clone()
            }
            "allOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .unwrap_or_else(|| panic!("{key} is not an array"))
                    .iter()
                    .map(|part| strip(part, refs))
                    .collect(),
            ),
            // Property names are the body's keys, kept whatever they are called.
            "properties" => Value::Object(
                value
                    .as_object()
                    .unwrap_or_else(|| panic!("properties is not an object"))
                    .iter()
                    .map(|(name, property)| (name.clone(), strip(property, refs)))
                    .collect(),
            ),
            "items" | "additionalProperties" => match value.as_array() {
                Some(parts) => Value::Array(parts.iter().map(|part| strip(part, refs)).collect()),
                None => strip(value, refs),
            },
            other if KEYWORDS.contains(&other) => value.clone(),
            _ => continue,
        };
        out.insert(key.clone(), kept);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::{derive, derive_text};
    use serde_json::json;

    #[test]
    fn keeps_structure_and_drops_prose_and_unreachable_schemas() {
        let doc = json!({
            "openapi": "3.0.1",
            "info": {"title": "Contacts", "description": "Prose."},
            "paths": {
                "/things": {
                    "summary": "Things",
                    "parameters": [{"name": "x", "in": "query"}],
                    "get": {"summary": "List", "responses": {"200": {"description": "OK"}}},
                    "post": {
                        "summary": "Create",
                        "description": "Creates a thing.",
                        "requestBody": {
                            "description": "The thing.",
                            "required": true,
                            "content": {
                                "application/json": {
                                    "example": {"title": "x"},
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                },
                                "text/plain": {"schema": {"type": "string"}}
                            }
                        },
                        "responses": {"201": {"description": "Created"}}
                    }
                },
                "/nothing": {"get": {"responses": {}}}
            },
            "components": {
                "schemas": {
                    "Unused": {"type": "string", "description": "Never referred to."},
                    "Thing": {
                        "title": "Thing",
                        "type": "object",
                        "description": "A thing.",
                        "required": ["title"],
                        "additionalProperties": false,
                        "properties": {
                            "title": {"type": "string", "description": "Its title.", "example": "Hat", "maxLength": 10},
                            "description": {"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true},
                            "tags": {"type": "array", "items": {"type": "string", "example": "a"}, "maxItems": 3}
                        },
                        "example": {"title": "Hat"},
                        "x-notes": "Internal."
                    },
                    "Kind": {"type": "string", "enum": ["a", "b"], "default": "a", "description": "Kind."}
                },
                "securitySchemes": {"basic": {"type": "http", "description": "Basic."}}
            },
            "x-samples-languages": ["curl"]
        });
        let expected = json!({
            "paths": {
                "/things": {
                    "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
                }
            },
            "components": {
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "required": ["title"],
                        "additionalProperties": false,
                        "properties": {
                            "title": {"type": "string", "maxLength": 10},
                            "description": {"allOf": [{"$ref": "#/components/schemas/Kind"}]},
                            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}
                        }
                    },
                    "Kind": {"type": "string", "enum": ["a", "b"]}
                }
            }
        });
        let derived = derive(&doc);
        assert_eq!(derived, expected);
        // Source order is kept (Thing before Kind, as in the source), so the text is stable.
        let text = derive_text(&doc);
        assert!(text.find("\"Thing\"").unwrap() < text.find("\"Kind\"").unwrap());
        assert!(text.ends_with("}\n"));
        assert_eq!(derive_text(&serde_json::from_str(&text).unwrap()), text, "deriving a derived copy changes nothing");
    }
}
