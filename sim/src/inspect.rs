//! The inspection API under `/_sim/` (no auth, not logged, never faulted): what the `sim`
//! command and tests in other processes use to read the simulator's data and steer it.

use serde_json::{json, Value};

use super::faults::Fault;
use super::message::{SimRequest, SimResponse};
use super::server::Shared;

pub(crate) fn is_inspection_path(path_and_query: &str) -> bool {
    let path = path_and_query.split('?').next().unwrap_or_default();
    path == "/_sim" || path.starts_with("/_sim/")
}

fn error(status: u16, message: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "error": message }))
}

fn list(items: Vec<Value>) -> SimResponse {
    SimResponse::json(200, &Value::Array(items))
}

pub(crate) fn handle(shared: &Shared, request: &SimRequest) -> SimResponse {
    let path = request.path.trim_end_matches('/');
    let account = request.query_param("account").map(|a| a.trim().parse::<i64>());
    let collection = request.query_param("collection");
    let mut state = shared.lock();
    let account_id = match account {
        Some(Ok(id)) if state.account(id).is_some() => Some(id),
        Some(Ok(id)) => return error(404, &format!("no account {id}")),
        Some(Err(_)) => return error(400, "account must be an account id"),
        None => None,
    };
    let needs_account = || error(400, "add ?account=ID");
    let needs_collection = || error(400, "add &collection=NAME");
    match (request.method.as_str(), path) {
        ("GET", "/_sim/accounts") => list(
            state
                .accounts
                .iter()
                .map(|a| {
                    let a = &a.account;
                    json!({
                        "id": a.id, "name": a.name, "api_user": a.api_user, "region": a.region,
                        "campaigns": a.campaigns, "lists": a.lists, "data_fields": a.data_fields,
                        "denied_areas": a.denied_areas,
                    })
                })
                .collect(),
        ),
        ("GET", "/_sim/contacts") => match account_id {
            Some(id) => list(state.contacts(id)),
            None => needs_account(),
        },
        ("GET", "/_sim/records") => match (account_id, collection) {
            (Some(id), Some(collection)) => list(state.insight_records(id, collection)),
            (None, _) => needs_account(),
            (_, None) => needs_collection(),
        },
        ("GET", "/_sim/collections") => match account_id {
            Some(id) => list(state.collections(id)),
            None => needs_account(),
        },
        ("GET", "/_sim/schema") => match (account_id, collection) {
            (Some(id), Some(collection)) => match state.collection_schema(id, collection) {
                Some(schema) => SimResponse::json(200, &schema),
                None => error(404, &format!("no collection {collection}")),
            },
            (None, _) => needs_account(),
            (_, None) => needs_collection(),
        },
        ("GET", "/_sim/schema-conflicts") => match account_id {
            Some(id) => list(state.schema_conflicts(id).into_iter().map(Value::String).collect()),
            None => needs_account(),
        },
        ("GET", "/_sim/sends") => SimResponse::json(200, &json!(state.outbox)),
        ("GET", "/_sim/requests") => SimResponse::json(200, &json!(state.log.records())),
        ("POST", "/_sim/faults") => match serde_json::from_slice::<Fault>(&request.body) {
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
        _ => error(
            404,
            "unknown inspection route; see GET /_sim/{accounts,contacts,records,collections,schema,schema-conflicts,sends,requests}, POST|DELETE /_sim/faults, POST /_sim/reset",
        ),
    }
}
