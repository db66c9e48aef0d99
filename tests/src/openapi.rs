//! Checks JSON bodies against Dotdigital's published OpenAPI files in `../shared` (read, never
//! copied). It covers what the files use for request bodies: `$ref`, `allOf` (read as the
//! union of its parts, as the authors intend), `type`, `properties`, `additionalProperties`,
//! `items`, `enum`, `required`, `maxItems`, `minItems` and `maxLength`. Keys an object schema
//! does not name are refused unless it allows extras.

use serde_json::Value;

pub struct Spec {
    doc: Value,
}

impl Spec {
    /// Loads `../shared/dotdigital/openapi/<file>` relative to the workspace.
    pub fn load(file: &str) -> Spec {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dotdigital/openapi").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Spec { doc: serde_json::from_str(&text).expect("the OpenAPI file is JSON") }
    }

    /// The request-body schema of `method` on `path` (as written in the spec).
    pub fn request_schema(&self, path: &str, method: &str) -> Value {
        let body = &self.doc["paths"][path][method]["requestBody"]["content"];
        let schema = body["application/json"]["schema"].clone();
        assert!(!schema.is_null(), "no JSON request body for {method} {path}");
        schema
    }

    /// Every problem with `value` against `schema`, as `path: problem`.
    pub fn problems(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(&[schema], value, "$", &mut out);
        out
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(|r| r.as_str()) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                self.resolve(self.doc.pointer(pointer).unwrap_or_else(|| panic!("unresolved {reference}")))
            }
            None => schema,
        }
    }

    /// The schema's `allOf` parts (and itself), flattened.
    fn parts<'a>(&'a self, schema: &'a Value, out: &mut Vec<&'a Value>) {
        let schema = self.resolve(schema);
        out.push(schema);
        if let Some(all) = schema.get("allOf").and_then(|a| a.as_array()) {
            for part in all {
                self.parts(part, out);
            }
        }
    }

    /// Checks `value` against every schema in `schemas` at once: an object's properties may
    /// be spread over several `allOf` parts at different depths.
    fn check(&self, schemas: &[&Value], value: &Value, at: &str, out: &mut Vec<String>) {
        let mut parts = Vec::new();
        for schema in schemas {
            self.parts(schema, &mut parts);
        }
        for part in &parts {
            if let Some(kind) = part.get("type").and_then(|t| t.as_str()) {
                let fits = match kind {
                    "object" => value.is_object(),
                    "array" => value.is_array(),
                    "string" => value.is_string(),
                    "integer" => value.is_i64() || value.is_u64(),
                    "number" => value.is_number(),
                    "boolean" => value.is_boolean(),
                    _ => true,
                };
                let nullable = part.get("nullable").and_then(|n| n.as_bool()).unwrap_or(false);
                if !fits && !(nullable && value.is_null()) {
                    out.push(format!("{at}: expected {kind}, found {value}"));
                }
            }
            if let Some(options) = part.get("enum").and_then(|e| e.as_array()) {
                if !value.is_null() && !options.contains(value) {
                    out.push(format!("{at}: {value} is not one of {}", Value::Array(options.clone())));
                }
            }
            if let (Some(max), Some(s)) = (part.get("maxLength").and_then(|m| m.as_u64()), value.as_str()) {
                if s.chars().count() as u64 > max {
                    out.push(format!("{at}: longer than {max}"));
                }
            }
            if let Some(items) = value.as_array() {
                if let Some(max) = part.get("maxItems").and_then(|m| m.as_u64()) {
                    if items.len() as u64 > max {
                        out.push(format!("{at}: more than {max} items"));
                    }
                }
                if let Some(min) = part.get("minItems").and_then(|m| m.as_u64()) {
                    if (items.len() as u64) < min {
                        out.push(format!("{at}: fewer than {min} items"));
                    }
                }
                if let Some(item_schema) = part.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&[item_schema], item, &format!("{at}[{i}]"), out);
                    }
                }
            }
            if let (Some(required), Some(object)) = (part.get("required").and_then(|r| r.as_array()), value.as_object()) {
                for name in required.iter().filter_map(|n| n.as_str()) {
                    if !object.contains_key(name) {
                        out.push(format!("{at}: missing required {name}"));
                    }
                }
            }
        }
        let Some(object) = value.as_object() else { return };
        // Properties are the union over the parts; the extras rule comes from any part that sets it.
        for (key, field) in object {
            let declared: Vec<&Value> = parts.iter().filter_map(|p| p.get("properties").and_then(|p| p.get(key))).collect();
            if !declared.is_empty() {
                self.check(&declared, field, &format!("{at}.{key}"), out);
                continue;
            }
            match parts.iter().find_map(|p| p.get("additionalProperties")) {
                Some(Value::Bool(false)) => out.push(format!("{at}: property {key} is not allowed")),
                Some(rule) if rule.is_object() => self.check(&[rule], field, &format!("{at}.{key}"), out),
                Some(_) => {}
                // Stricter than OpenAPI's default on purpose: a key the spec never names
                // is a typo or an invention, and Dotdigital may reject it.
                None if parts.iter().any(|p| p.get("properties").is_some()) => {
                    out.push(format!("{at}: property {key} is not in the spec"))
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_checker_catches_inventions_and_bad_enums() {
        let spec = super::Spec::load("contacts-v3.json");
        let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
        let good = json!({"identifiers": {"email": "a@example.com"}, "channelProperties": {"email": {"emailType": "html", "optInType": "single"}}});
        assert!(spec.problems(&schema, &good).is_empty(), "{:?}", spec.problems(&schema, &good));
        let bad = json!({"identifiers": {"email": "a@example.com"}, "matchIdentifer": "email",
                         "channelProperties": {"email": {"emailType": "rich", "colour": "red"}}});
        let problems = spec.problems(&schema, &bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
