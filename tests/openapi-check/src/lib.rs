//! Checks JSON request bodies against Dotdigital's published OpenAPI files, so a misspelt key
//! or an enum in the wrong casing fails a test rather than a call to Dotdigital. Used by the
//! plugin's mapping tests and by the end-to-end tests on the bodies that crossed the wire.
//!
//! The files themselves are never copied into the project. What the checker reads by default is
//! a structure-only copy of each, derived by [`derive`] and committed under `schemas/` (request
//! body schemas and the component schemas they reach, with no prose), so a clone alone passes
//! its tests. `cargo run -p openapi-check --bin derive` regenerates the copies from the
//! originals, which are looked for in `DOTDIGITAL_OPENAPI_DIR`, else in
//! `../shared/dotdigital/openapi/` beside the project; where the originals are at hand, a test
//! fails if a committed copy is stale. Setting `DOTDIGITAL_OPENAPI_DIR` also makes [`Spec::load`]
//! read the originals there instead of the derived copies.
//!
//! A small JSON-schema subset, enough for these bodies: `$ref`, `allOf` (merged), `oneOf`,
//! `type`, `enum`, `format: int32`, `required`, `properties`, `additionalProperties`, `items`,
//! `minItems`/`maxItems` and `minLength`/`maxLength`. It is stricter than JSON Schema in one
//! way: a key that no `properties` declares is an error unless `additionalProperties` allows
//! it, so an undeclared top-level key (like `matchIdentifier`) is caught too.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

pub mod derive;

pub use derive::derive;

/// The OpenAPI files the tests load, each with a derived copy under [`schemas_dir`].
pub const DERIVED: &[&str] = &["contacts-v3.json", "insight-data-v3.json", "transactional-email-v2.json"];

/// Where the derived copies are committed: `tests/openapi-check/schemas`.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Where Dotdigital's original files are, if at hand: `DOTDIGITAL_OPENAPI_DIR` when set
/// (whether or not it exists, so a wrong setting fails rather than being passed over), else
/// `<project>/../shared/dotdigital/openapi` when that exists, else `None`.
pub fn originals_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOTDIGITAL_OPENAPI_DIR") {
        return Some(PathBuf::from(dir));
    }
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/dotdigital/openapi");
    shared.is_dir().then_some(shared)
}

fn read_json(path: &Path, hint: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e} ({hint})", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One OpenAPI document.
pub struct Spec {
    doc: Value,
}

impl Spec {
    /// Loads `file` (e.g. `contacts-v3.json`): the original in `DOTDIGITAL_OPENAPI_DIR` when
    /// that is set, else its derived copy under [`schemas_dir`].
    pub fn load(file: &str) -> Spec {
        match std::env::var_os("DOTDIGITAL_OPENAPI_DIR") {
            Some(dir) => Spec::original(Path::new(&dir), file),
            None => Spec::derived(file),
        }
    }

    /// The derived copy of `file` under [`schemas_dir`].
    pub fn derived(file: &str) -> Spec {
        let hint = "only the files in openapi_check::DERIVED have a derived copy; add it there and run \
                    `cargo run -p openapi-check --bin derive` where the originals are at hand";
        Spec { doc: read_json(&schemas_dir().join(file), hint) }
    }

    /// The original `file` in `dir`.
    pub fn original(dir: &Path, file: &str) -> Spec {
        let hint = "Dotdigital's OpenAPI files are looked for in DOTDIGITAL_OPENAPI_DIR, else in \
                    ../shared/dotdigital/openapi beside the project";
        Spec { doc: read_json(&dir.join(file), hint) }
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
    use std::collections::BTreeSet;

    use super::{derive::derive_text, derive::KEYWORDS, originals_dir, schemas_dir, Spec, DERIVED};
    use serde_json::{json, Value};

    fn catches_inventions_and_bad_enums(spec: &Spec) {
        let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
        let good = json!({"identifiers": {"email": "a@example.com"}, "channelProperties": {"email": {"emailType": "html", "optInType": "single"}}});
        assert!(spec.problems(schema, &good).is_empty(), "{:?}", spec.problems(schema, &good));
        let bad = json!({"identifiers": {"email": "a@example.com"}, "matchIdentifer": "email",
                         "channelProperties": {"email": {"emailType": "rich", "colour": "red"}}});
        let problems = spec.problems(schema, &bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn the_checker_catches_inventions_and_bad_enums() {
        catches_inventions_and_bad_enums(&Spec::load("contacts-v3.json"));
        catches_inventions_and_bad_enums(&Spec::derived("contacts-v3.json"));
    }

    /// Every schema in `value` (a derived copy) has only the checker's keywords.
    fn assert_structure_only(schema: &Value, at: &str) {
        let Some(object) = schema.as_object() else { return };
        for (key, value) in object {
            assert!(KEYWORDS.contains(&key.as_str()), "{at}: {key} is not a keyword the checker reads");
            match key.as_str() {
                "properties" => {
                    for (name, property) in value.as_object().unwrap() {
                        assert_structure_only(property, &format!("{at}.properties.{name}"));
                    }
                }
                "allOf" | "oneOf" => {
                    for (i, part) in value.as_array().unwrap().iter().enumerate() {
                        assert_structure_only(part, &format!("{at}.{key}[{i}]"));
                    }
                }
                "items" | "additionalProperties" => assert_structure_only(value, &format!("{at}.{key}")),
                _ => {}
            }
        }
    }

    #[test]
    fn the_committed_copies_are_structure_only() {
        let committed: BTreeSet<String> = std::fs::read_dir(schemas_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".json"))
            .collect();
        let expected: BTreeSet<String> = DERIVED.iter().map(|file| file.to_string()).collect();
        assert_eq!(committed, expected, "schemas/ holds exactly the files in DERIVED");
        for file in DERIVED {
            let doc = Spec::derived(file).doc;
            for key in doc.as_object().unwrap().keys() {
                assert!(key == "paths" || key == "components", "{file}: {key} is not kept");
            }
            for key in doc["components"].as_object().into_iter().flatten().map(|(key, _)| key) {
                assert_eq!(key, "schemas", "{file}: only components.schemas is kept");
            }
            for (path, methods) in doc["paths"].as_object().unwrap() {
                for (method, operation) in methods.as_object().unwrap() {
                    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
                    let body = json!({"requestBody": {"content": {"application/json": {"schema": schema}}}});
                    assert_eq!(*operation, body, "{file} {method} {path}: only the JSON request body schema");
                    assert_structure_only(schema, &format!("{file} {method} {path}"));
                }
            }
            for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
                assert_structure_only(schema, &format!("{file} #/components/schemas/{name}"));
            }
        }
    }

    /// The one test that may skip: without the originals there is nothing to compare with.
    #[test]
    fn the_committed_copies_are_derived_from_the_originals() {
        let Some(dir) = originals_dir() else {
            eprintln!(
                "SKIPPED: Dotdigital's OpenAPI files are not at hand (set DOTDIGITAL_OPENAPI_DIR or put them in \
                 ../shared/dotdigital/openapi beside the project), so the derived copies in {} are not compared \
                 with them",
                schemas_dir().display()
            );
            return;
        };
        for file in DERIVED {
            let original = Spec::original(&dir, file);
            let fresh = derive_text(&original.doc);
            let committed = std::fs::read_to_string(schemas_dir().join(file)).unwrap_or_default();
            assert!(
                committed == fresh,
                "schemas/{file} is not what {} derives to: run `cargo run -p openapi-check --bin derive` and commit \
                 the result",
                dir.join(file).display()
            );
        }
        // The checker finds the same problems in an original as in its derived copy.
        catches_inventions_and_bad_enums(&Spec::original(&dir, "contacts-v3.json"));
    }
}
