//! The control API under `/_sim/`, on a loopback listener of its own (no auth, not logged,
//! never faulted): what the `sim` command's users and tests in other processes use to read the
//! simulator's data and steer it. The Dotdigital listener does not serve it.

use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::faults::Fault;
use super::shared::Shared;
use super::state::SimState;
use super::transport::{
    self, into_http, read_body, BodyError, ConnectionDropped, HttpResponse, CONTROL_MAX_BODY_BYTES,
};
use crate::api::errors::{body_too_large, ApiFamily};
use crate::api::message::{SimRequest, SimResponse};
use crate::model::SimAccount;

/// Accepts control requests until the runtime shuts down.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    transport::serve(listener, shared, exchange).await;
}

async fn exchange(shared: Arc<Shared>, request: Request<Incoming>) -> Result<HttpResponse, ConnectionDropped> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let content_length =
        parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let body = match read_body(body, content_length, CONTROL_MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Ok(into_http(body_too_large(ApiFamily::V2, 400))),
        Err(BodyError::Broken) => return Err(ConnectionDropped),
    };
    // Credentials are never read here: the control API needs none and must not keep them.
    let request = SimRequest::new(parts.method.as_str(), path_and_query, "", None, body);
    Ok(into_http(handle(&shared, &request)))
}

fn error(status: u16, message: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "error": message }))
}

fn list(items: Vec<Value>) -> SimResponse {
    SimResponse::json(200, &Value::Array(items))
}

/// A config (`ImportConfig`, `ContactConfig`) with the fields of `body` (a JSON object) replaced.
fn merge_config<T: Serialize + DeserializeOwned>(current: &T, body: &[u8]) -> Result<T, String> {
    let Value::Object(changes) = serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())? else {
        return Err("the body must be a JSON object of the fields to change".into());
    };
    let mut merged = json!(current);
    for (key, value) in changes {
        merged[key] = value;
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

fn handle(shared: &Shared, request: &SimRequest) -> SimResponse {
    let path = request.path.trim_end_matches('/');
    let account = request.query_param("account").map(|a| a.trim().parse::<i64>());
    let mut state = shared.lock();
    // Imports whose time is up finish before anything is read (see `model/import_progress.rs`).
    state.advance_imports();
    let account_id = match account {
        Some(Ok(id)) if state.account(id).is_some() => Some(id),
        Some(Ok(id)) => return error(404, &format!("no account {id}")),
        Some(Err(_)) => return error(400, "account must be an account id"),
        None => None,
    };
    match request.method.as_str() {
        "GET" => read(&state, path, account_id, request.query_param("collection")),
        method => steer(&mut state, method, path, &request.body),
    }
}

/// The `GET` routes: what the simulator holds.
fn read(state: &SimState, path: &str, account_id: Option<i64>, collection: Option<&str>) -> SimResponse {
    let needs_account = || error(400, "add ?account=ID");
    let needs_collection = || error(400, "add &collection=NAME");
    match path {
        "/_sim/accounts" => list(state.accounts.iter().map(|a| account_json(&a.account)).collect()),
        "/_sim/contacts" => match account_id {
            Some(id) => list(state.contacts(id)),
            None => needs_account(),
        },
        "/_sim/confirmation-emails" => match account_id {
            Some(id) => list(state.confirmation_emails(id)),
            None => needs_account(),
        },
        "/_sim/records" => match (account_id, collection) {
            (Some(id), Some(collection)) => list(state.insight_records(id, collection)),
            (None, _) => needs_account(),
            (_, None) => needs_collection(),
        },
        "/_sim/collections" => match account_id {
            Some(id) => list(state.collections(id)),
            None => needs_account(),
        },
        "/_sim/schema" => match (account_id, collection) {
            (Some(id), Some(collection)) => match state.collection_schema(id, collection) {
                Some(schema) => SimResponse::json(200, &schema),
                None => error(404, &format!("no collection {collection}")),
            },
            (None, _) => needs_account(),
            (_, None) => needs_collection(),
        },
        "/_sim/schema-conflicts" => match account_id {
            Some(id) => list(state.schema_conflicts(id).into_iter().map(Value::String).collect()),
            None => needs_account(),
        },
        "/_sim/imports" => list(state.imports(account_id)),
        "/_sim/import-config" => SimResponse::json(200, &json!(state.import_config)),
        "/_sim/contact-config" => SimResponse::json(200, &json!(state.contact_config)),
        "/_sim/sends" => SimResponse::json(200, &json!(state.outbox)),
        "/_sim/requests" => SimResponse::json(200, &json!(state.log.records())),
        _ => unknown_route(),
    }
}

/// An account as `GET /_sim/accounts` lists it: everything but the password.
fn account_json(account: &SimAccount) -> Value {
    json!({
        "id": account.id, "name": account.name, "api_user": account.api_user, "region": account.region,
        "legacy_endpoint": account.legacy_endpoint,
        "campaigns": account.campaigns, "lists": account.lists, "data_fields": account.data_fields,
        "denied_areas": account.denied_areas,
    })
}

/// The routes that change the simulator: settings, faults, reset.
fn steer(state: &mut SimState, method: &str, path: &str, body: &[u8]) -> SimResponse {
    match (method, path) {
        ("PATCH", "/_sim/import-config") => match merge_config(&state.import_config, body) {
            Ok(config) => {
                state.import_config = config;
                SimResponse::json(200, &json!(state.import_config))
            }
            Err(e) => error(400, &format!("not an import config: {e}")),
        },
        ("PATCH", "/_sim/contact-config") => match merge_config(&state.contact_config, body) {
            Ok(config) => {
                state.contact_config = config;
                SimResponse::json(200, &json!(state.contact_config))
            }
            Err(e) => error(400, &format!("not a contact config: {e}")),
        },
        ("POST", "/_sim/faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(fault) => {
                state.faults.arm(fault);
                SimResponse::json(201, &json!({ "armed": true }))
            }
            Err(e) => error(400, &format!("not a fault: {e}")),
        },
        ("DELETE", "/_sim/faults") => {
            state.faults.clear();
            SimResponse::empty(204)
        }
        ("POST", "/_sim/reset") => {
            state.reset();
            SimResponse::empty(204)
        }
        _ => unknown_route(),
    }
}

fn unknown_route() -> SimResponse {
    error(
        404,
        "unknown control route; see GET /_sim/{accounts,contacts,confirmation-emails,records,collections,schema,schema-conflicts,imports,import-config,contact-config,sends,requests}, PATCH /_sim/{import-config,contact-config}, POST|DELETE /_sim/faults, POST /_sim/reset",
    )
}
