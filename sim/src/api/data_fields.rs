//! `GET /v2/data-fields` (v2.json `ApiDataField_GetDataFields`): the account's contact data
//! fields with their types.

use serde_json::Value;

use super::message::SimResponse;
use crate::model::AccountState;

/// `200 [{name, type, visibility, defaultValue}]` (v2.json `ApiDataField`).
pub(crate) fn list(state: &AccountState) -> SimResponse {
    let fields: Vec<Value> = state.account.data_fields.iter().map(|field| field.to_api_json()).collect();
    SimResponse::json(200, &Value::Array(fields))
}
