//! The two asynchronous bulk imports: `PUT /contacts/v3/import` (contacts-v3.json
//! `importContacts`) and `PUT /insightData/v3/import` (insight-data-v3.json
//! `importInsightData`) answer `202 {"importId"}` after checking only the body's shape and the
//! active-import cap; `GET …/import/{importId}` (`getImportStatus`) answers the status. What an
//! import does, and when it finishes, is the model's (`model/import_progress.rs`).

use serde_json::{json, Map, Value};

use super::errors::V3Error;
use super::message::SimResponse;
use super::{contacts, insight};
use crate::model::{
    is_valid_collection_name, AccountState, CollectionScope, CollectionType, ContactImport, ImportClash, ImportContext,
    ImportKind, ImportLookup, InsightImport, MergeOption, Payload,
};
use crate::settings::ImportConfig;

/// The v3 `errorCode` prefix of an import kind's routes.
fn service(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Contacts => "contacts",
        ImportKind::Insight => "insightData",
    }
}

/// `PUT /contacts/v3/import`: `202 {"importId"}`, `400 contacts:badJson`,
/// `429 contacts:tooManyActiveImports`.
pub(crate) fn put_contacts(
    account: &mut AccountState,
    body: &[u8],
    config: &ImportConfig,
    seq: &mut u64,
) -> SimResponse {
    match read_contact_import(body) {
        Ok(import) => accept(account, Payload::Contacts(import), config, seq),
        Err(error) => error.into(),
    }
}

/// `PUT /insightData/v3/import`: `202 {"importId"}`, `400 insightData:badJson`, `429`, and the
/// collection's own refusals (see [`collection_clash`]).
pub(crate) fn put_insight(
    account: &mut AccountState,
    body: &[u8],
    config: &ImportConfig,
    seq: &mut u64,
) -> SimResponse {
    let import = match read_insight_import(body) {
        Ok(import) => import,
        Err(error) => return error.into(),
    };
    if let Some(clash) = account.insight.import_clash(&import) {
        return collection_clash(&import, clash);
    }
    accept(account, Payload::Insight(import), config, seq)
}

fn accept(account: &mut AccountState, payload: Payload, config: &ImportConfig, seq: &mut u64) -> SimResponse {
    match account.accept_import(payload, config, seq) {
        Ok(id) => SimResponse::json(202, &json!({ "importId": id })),
        Err(kind) => too_many_active_imports(kind).into(),
    }
}

/// `GET /contacts/v3/import/{importId}` and `GET /insightData/v3/import/{importId}`: each call
/// on an unfinished import counts as a poll. contacts-v3.json / insight-data-v3.json
/// `getImportStatus`: 400 `…:invalidId`, 404 `…:importNotFound` with the spec's description.
pub(crate) fn status(
    account: &mut AccountState,
    kind: ImportKind,
    raw_id: &str,
    context: &mut ImportContext,
) -> Result<SimResponse, V3Error> {
    let service = service(kind);
    match account.poll_import(kind, raw_id, context) {
        Ok(status) => Ok(SimResponse::json(200, &status)),
        Err(ImportLookup::InvalidId) => Err(V3Error::new(
            400,
            &format!("{service}:invalidId"),
            &format!("The import id '{raw_id}' is not a valid GUID"),
        )),
        Err(ImportLookup::NotFound(id)) => Err(V3Error::new(
            404,
            &format!("{service}:importNotFound"),
            &format!("The import request '{id}' could not be found!"),
        )),
    }
}

/// The 429 for one import too many. Contacts: contacts-v3.json's 429 example, verbatim.
/// Insight: assumed: the status and body are not documented; the code
/// `insightData:tooManyActiveImports` is invented by the simulator after the contacts one.
fn too_many_active_imports(kind: ImportKind) -> V3Error {
    V3Error::new(
        429,
        &format!("{}:tooManyActiveImports", service(kind)),
        "Your import request cannot be accepted as too many imports are being processed for you account. Please wait for an import to complete and then resubmit.",
    )
}

/// An Insight import whose collection refuses it. assumed: the documents are silent on a
/// mismatch; it gets the simulator-invented `insightData:collectionScopeMismatch` (as the single
/// PUT does) or `insightData:collectionTypeMismatch`, 400. Over the cap: `412`, no body, as the
/// collection POST (insight-data-v3.json `postCreateInsightDataCollection`).
fn collection_clash(import: &InsightImport, clash: ImportClash) -> SimResponse {
    let name = &import.collection;
    match clash {
        ImportClash::Scope(existing) => V3Error::new(
            400,
            "insightData:collectionScopeMismatch",
            &format!("The collection '{name}' is {}-scoped, not {}-scoped", existing.name(), import.scope.name()),
        )
        .into(),
        ImportClash::Type(existing) => V3Error::new(
            400,
            "insightData:collectionTypeMismatch",
            &format!("The collection '{name}' has the type {}, not {}", existing.name(), import.kind.name()),
        )
        .into(),
        ImportClash::Full => SimResponse::empty(412),
    }
}

/// The body as a JSON object of only the `allowed` keys. assumed: unknown top-level keys fail
/// the whole request (the stricter reading: the body cannot be read as the declared schema).
fn body_object(body: &[u8], allowed: &[&str], refuse: fn(&str) -> V3Error) -> Result<Map<String, Value>, V3Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| refuse(&e.to_string()))?;
    let Value::Object(object) = value else { return Err(refuse("The body must be a JSON object")) };
    if let Some(other) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(refuse(&format!("Unknown property '{other}'; allowed: {}", allowed.join(", "))));
    }
    Ok(object)
}

/// The body's non-empty array `name` of objects (`minItems` 1). assumed: an item that is not an
/// object fails the whole request, the stricter reading.
fn body_items(
    object: &mut Map<String, Value>,
    name: &str,
    what: &str,
    refuse: fn(&str) -> V3Error,
) -> Result<Vec<Map<String, Value>>, V3Error> {
    let Some(Value::Array(items)) = object.remove(name) else {
        return Err(refuse(&format!("'{name}' is required and must be an array of {what}s")));
    };
    if items.is_empty() {
        return Err(refuse(&format!("'{name}' must hold at least one {what}")));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(item) => Ok(item),
            _ => Err(refuse(&format!("{name}[{index}] must be a JSON object"))),
        })
        .collect()
}

/// Reads the body of `PUT /contacts/v3/import`: an object with an optional `mergeOption` and a
/// non-empty `contacts` array of objects (`v3_import_body`: `contacts` required, `minItems` 1).
/// Problems get `400 contacts:badJson` (the call's 400 example).
fn read_contact_import(body: &[u8]) -> Result<ContactImport, V3Error> {
    let mut object = body_object(body, &["mergeOption", "contacts"], contacts::badly_formed)?;
    let merge = match object.get("mergeOption") {
        None => MergeOption::Overwrite,
        Some(value) => value.as_str().and_then(MergeOption::parse_import).ok_or_else(|| {
            contacts::badly_formed(&format!(
                "Invalid mergeOption {value}; allowed: overwrite, overwriteIfNotEmpty, overwriteIfEmpty"
            ))
        })?,
    };
    let contacts = body_items(&mut object, "contacts", "contact", contacts::badly_formed)?;
    Ok(ContactImport { merge, contacts })
}

/// Reads the body of `PUT /insightData/v3/import`: `collectionName`, `collectionScope`,
/// `collectionType` and a non-empty `records` array of objects, all required
/// (`v3_import_body`). A name that breaks the collection-name pattern gets
/// `insightData:badJson` too (assumed: `badJson` is the one 400 code this call declares).
fn read_insight_import(body: &[u8]) -> Result<InsightImport, V3Error> {
    const KEYS: [&str; 4] = ["collectionName", "collectionScope", "collectionType", "records"];
    let mut object = body_object(body, &KEYS, insight::badly_formed)?;
    let collection = match object.get("collectionName") {
        Some(Value::String(name)) if is_valid_collection_name(name) => name.clone(),
        Some(other) => return Err(insight::badly_formed(&format!("Invalid collectionName {other}"))),
        None => return Err(insight::badly_formed("'collectionName' is required")),
    };
    let scope = body_enum(&object, "collectionScope", &CollectionScope::ALL, CollectionScope::name)?;
    let kind = body_enum(&object, "collectionType", &CollectionType::ALL, CollectionType::name)?;
    let records = body_items(&mut object, "records", "record", insight::badly_formed)?;
    Ok(InsightImport { collection, scope, kind, records })
}

/// A required enum property of the Insight import body, in any casing.
fn body_enum<T: Copy>(
    object: &Map<String, Value>,
    name: &str,
    allowed: &[T],
    spelling: fn(T) -> &'static str,
) -> Result<T, V3Error> {
    let value = object.get(name);
    insight::pick(value.and_then(Value::as_str), allowed, spelling).map_err(|names| match value {
        None => insight::badly_formed(&format!("'{name}' is required; allowed: {names}")),
        Some(value) => insight::badly_formed(&format!("Invalid {name} {value}; allowed: {names}")),
    })
}
