//! Checks JSON request bodies against Dotdigital's published OpenAPI files, which live in
//! `../shared/dotdigital/openapi/` beside the project (read there, never copied in), so a
//! misspelt key or an enum in the wrong casing fails a test rather than a call to Dotdigital.
//! Used by the plugin's mapping tests and by the end-to-end tests on the bodies that crossed
//! the wire.
//!
//! A small JSON-schema subset, enough for these bodies: `$ref`, `allOf` (merged), `oneOf`,
//! `type`, `enum`, `format: int32`, `required`, `properties`, `additionalProperties`, `items`,
//! `minItems`/`maxItems` and `minLength`/`maxLength`. It is stricter than JSON Schema in one
//! way: a key that no `properties` declares is an error unless `additionalProperties` allows
//! it, so an undeclared top-level key (like `matchIdentifier`) is caught too.

use std::path::PathBuf;

use serde_json::{json, Value};

/// `DOTDIGITAL_OPENAPI_DIR`, else `<project>/../shared/dotdigital/openapi`.
pub fn openapi_dir() -> PathBuf {
    match std::env::var_os("DOTDIGITAL_OPENAPI_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/dotdigital/openapi"),
    }
}

/// One OpenAPI document.
pub struct Spec {
    doc: Value,
}

impl Spec {
    /// Loads `file` (e.g. `contacts-v3.json`) from [`openapi_dir`].
    pub fn load(file: &str) -> Spec {
        let path = openapi_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (the OpenAPI files are expected in ../shared beside the project, or set DOTDIGITAL_OPENAPI_DIR)", path.display())
        });
        Spec { doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())) }
    }

    /// The JSON request body schema of `method` (lowercase) on `path`, as the spec writes it.
    pub fn request_schema(&self, path: &str, method: &str) -> &Value {
        request_schema(&self.doc, path, method)
    }

    /// Every problem with `body` against `schema`, as `path: problem` lines; empty = valid.
    pub fn problems(&self, schema: &Value, body: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        check(&self.doc, schema, body, "$", &mut errors);
        errors
    }
}

/// The request body schema of `method path`.
pub fn request_schema<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema = &spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "no request body schema for {method} {path}");
    schema
}

/// Every schema that applies at one place, with `$ref` resolved and `allOf` flattened.
fn leaves<'a>(spec: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {reference}"));
        let target = spec.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"));
        return leaves(spec, target, out);
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            leaves(spec, part, out);
        }
    }
    out.push(schema);
}

/// Problems with `value` against `schema`, as `path: problem` lines.
fn check(spec: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let mut all = Vec::new();
    leaves(spec, schema, &mut all);

    for leaf in &all {
        if let Some(kind) = leaf.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                other => panic!("unknown type {other}"),
            };
            if !ok {
                errors.push(format!("{path}: {value} is not of type {kind}"));
            }
        }
        if let Some(options) = leaf.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{path}: {value} is not one of {}", Value::Array(options.clone())));
            }
        }
        if leaf.get("format").and_then(Value::as_str) == Some("int32") {
            if let Some(n) = value.as_i64() {
                if i32::try_from(n).is_err() {
                    errors.push(format!("{path}: {n} does not fit int32"));
                }
            }
        }
        if let Some(text) = value.as_str() {
            let len = text.chars().count() as u64;
            if leaf.get("minLength").and_then(Value::as_u64).is_some_and(|min| len < min) {
                errors.push(format!("{path}: shorter than minLength"));
            }
            if leaf.get("maxLength").and_then(Value::as_u64).is_some_and(|max| len > max) {
                errors.push(format!("{path}: longer than maxLength"));
            }
        }
        if let Some(branches) = leaf.get("oneOf").and_then(Value::as_array) {
            let matching = branches
                .iter()
                .filter(|branch| {
                    let mut branch_errors = Vec::new();
                    check(spec, branch, value, path, &mut branch_errors);
                    branch_errors.is_empty()
                })
                .count();
            if matching == 0 {
                errors.push(format!("{path}: matches no oneOf branch"));
            }
        }
    }

    if let Some(items) = value.as_array() {
        for leaf in &all {
            if leaf.get("minItems").and_then(Value::as_u64).is_some_and(|min| (items.len() as u64) < min) {
                errors.push(format!("{path}: fewer than minItems"));
            }
            if leaf.get("maxItems").and_then(Value::as_u64).is_some_and(|max| (items.len() as u64) > max) {
                errors.push(format!("{path}: more than maxItems"));
            }
            if let Some(item_schema) = leaf.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(spec, item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
    }

    if let Some(object) = value.as_object() {
        for leaf in &all {
            for required in leaf.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    errors.push(format!("{path}: required property {name} missing"));
                }
            }
        }
        for (key, item) in object {
            let child = format!("{path}.{key}");
            let declared: Vec<&Value> = all.iter().filter_map(|leaf| leaf.get("properties")?.get(key)).collect();
            if !declared.is_empty() {
                // A property declared by several allOf parts must satisfy them together.
                let merged = json!({"allOf": declared.into_iter().cloned().collect::<Vec<_>>()});
                check(spec, &merged, item, &child, errors);
                continue;
            }
            let additional: Vec<&Value> = all.iter().filter_map(|leaf| leaf.get("additionalProperties")).collect();
            if additional.is_empty() || additional.iter().any(|a| **a == Value::Bool(false)) {
                errors.push(format!("{child}: not a property the schema declares"));
            }
            for schema in additional.into_iter().filter(|a| a.is_object()) {
                check(spec, schema, item, &child, errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Spec;
    use serde_json::json;

    #[test]
    fn the_checker_catches_inventions_and_bad_enums() {
        let spec = Spec::load("contacts-v3.json");
        let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
        let good = json!({"identifiers": {"email": "a@example.com"}, "channelProperties": {"email": {"emailType": "html", "optInType": "single"}}});
        assert!(spec.problems(schema, &good).is_empty(), "{:?}", spec.problems(schema, &good));
        let bad = json!({"identifiers": {"email": "a@example.com"}, "matchIdentifer": "email",
                         "channelProperties": {"email": {"emailType": "rich", "colour": "red"}}});
        let problems = spec.problems(schema, &bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
