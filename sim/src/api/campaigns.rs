//! Triggered campaigns (v2): `POST /v2/email/triggered-campaign`
//! records a send in the outbox, `/batch` does the same per item, and `GET /v2/campaigns/{id}`
//! describes a campaign with its status.
//!
//! transactional-email-v2.json declares only the `200` of these sends, so every error here is
//! assumed, in the v2 format with the codes Dotdigital's v2 error list names
//! (developer.dotdigital.com/docs/error-handling): `400 "… ERROR_PARAMETER_INVALID"` (the batch
//! example's wording), `404 "Error: ERROR_CAMPAIGN_NOT_FOUND"`, and `400 "…
//! ERROR_CAMPAIGN_SENDNOTPERMITTED"` for a campaign that exists but is not a triggered campaign
//! (assumed: 400, the status v2 gives its other parameter errors).

use serde_json::{json, Value};

use super::errors::V2Error;
use super::message::{decode_segment, SimResponse};
use crate::model::{is_valid_email, AccountState, Campaign, Send, MAX_ADDRESSES, MAX_METADATA_CHARS};

/// A send request that passed validation; the campaign is not checked yet.
struct SendRequest {
    campaign_id: u32,
    to_addresses: Vec<String>,
    personalization_values: Vec<(String, String)>,
}

fn campaign_not_found() -> V2Error {
    V2Error::new(404, "Error: ERROR_CAMPAIGN_NOT_FOUND")
}

/// assumed (see the module docs): the campaign exists but [`Campaign::can_be_triggered`] says no.
fn send_not_permitted(campaign: &Campaign) -> V2Error {
    V2Error::new(
        400,
        &format!(
            "Campaign {} has status {} and is not a triggered campaign, so it cannot be sent with this call. ERROR_CAMPAIGN_SENDNOTPERMITTED",
            campaign.id,
            campaign.status.name()
        ),
    )
}

/// Validates one send; the error is the sentence before `ERROR_PARAMETER_INVALID`.
fn read_send(value: &Value) -> Result<SendRequest, String> {
    let object = value.as_object().ok_or("The request body must be a JSON object")?;
    let to_addresses = addresses(object.get("toAddresses"), "ToAddresses", true)?;
    addresses(object.get("ccAddresses"), "CcAddresses", false)?;
    addresses(object.get("bccAddresses"), "BccAddresses", false)?;
    let campaign_id = object
        .get("campaignId")
        .and_then(Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .filter(|id| *id > 0 && *id <= i32::MAX as u32)
        .ok_or("CampaignId field is missing or invalid")?;
    let personalization_values = match object.get("personalizationValues") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let name = item.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                let value = match item.get("value") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Null) => Some(String::new()),
                    _ => None,
                };
                match (name, value) {
                    (Some(name), Some(value)) => Ok((name.to_string(), value)),
                    _ => Err("PersonalizationValues must be a list of {name, value} with string values".to_string()),
                }
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("PersonalizationValues must be a list of {name, value}".into()),
    };
    match object.get("metadata") {
        None | Some(Value::Null) => {}
        Some(metadata @ Value::Object(_)) if metadata.to_string().chars().count() <= MAX_METADATA_CHARS => {}
        Some(_) => return Err(format!("Metadata must be a JSON object of at most {MAX_METADATA_CHARS} characters")),
    }
    if let Some(fields) = object.get("attachments").filter(|a| !a.is_null()) {
        let valid = fields.as_array().is_some_and(|items| {
            items
                .iter()
                .all(|a| ["fileName", "mimeType", "content"].iter().all(|f| a.get(*f).is_some_and(Value::is_string)))
        });
        if !valid {
            return Err("Attachments must be a list of {fileName, mimeType, content}".into());
        }
    }
    if object.get("fromAddress").is_some_and(|f| !f.is_string() && !f.is_null()) {
        return Err("FromAddress must be a string".into());
    }
    Ok(SendRequest { campaign_id, to_addresses, personalization_values })
}

fn addresses(value: Option<&Value>, field: &str, required: bool) -> Result<Vec<String>, String> {
    let empty_or_invalid = || format!("{field} field is empty or invalid");
    let items = match value {
        None | Some(Value::Null) if !required => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        _ => return Err(empty_or_invalid()),
    };
    if items.len() > MAX_ADDRESSES {
        return Err(format!("{field} cannot hold more than {MAX_ADDRESSES} addresses"));
    }
    if required && items.is_empty() {
        return Err(empty_or_invalid());
    }
    items
        .iter()
        .map(|item| item.as_str().filter(|a| is_valid_email(a)).map(str::to_string).ok_or_else(empty_or_invalid))
        .collect()
}

fn parse_body(body: &[u8]) -> Result<Value, V2Error> {
    serde_json::from_slice(body).map_err(|_| V2Error::parameter_invalid("The request body is not valid JSON"))
}

/// Validates one send against this account; the v2 error otherwise.
fn triggered_send(state: &AccountState, at_ms: u64, value: &Value) -> Result<Send, V2Error> {
    let request = read_send(value).map_err(|what| V2Error::parameter_invalid(&what))?;
    let campaign = state.account.campaign(request.campaign_id).ok_or_else(campaign_not_found)?;
    if !campaign.can_be_triggered() {
        return Err(send_not_permitted(campaign));
    }
    Ok(Send {
        account_id: state.account.id,
        campaign_id: request.campaign_id,
        to_addresses: request.to_addresses,
        personalization_values: request.personalization_values,
        at_ms,
    })
}

/// `POST /v2/email/triggered-campaign`: `200` with an empty body once put in the outbox.
pub(crate) fn send(
    state: &AccountState,
    at_ms: u64,
    body: &[u8],
    outbox: &mut Vec<Send>,
) -> Result<SimResponse, V2Error> {
    let value = parse_body(body)?;
    outbox.push(triggered_send(state, at_ms, &value)?);
    Ok(SimResponse::empty(200))
}

/// `POST /v2/email/triggered-campaign/batch`: `200 [{index, failureCode?, failureReason?}]`.
pub(crate) fn send_batch(
    state: &AccountState,
    at_ms: u64,
    body: &[u8],
    outbox: &mut Vec<Send>,
) -> Result<SimResponse, V2Error> {
    let Value::Array(items) = parse_body(body)? else {
        return Err(V2Error::parameter_invalid("The request body must be a JSON array of sends"));
    };
    if items.is_empty() {
        return Err(V2Error::parameter_invalid("The request body must hold at least one send"));
    }
    let results: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(index, item)| match triggered_send(state, at_ms, item) {
            Ok(send) => {
                outbox.push(send);
                json!({ "index": index })
            }
            Err(error) => {
                let code = error.message.rsplit(' ').next().unwrap_or_default().to_string();
                json!({ "index": index, "failureCode": code, "failureReason": error.message })
            }
        })
        .collect();
    Ok(SimResponse::json(200, &Value::Array(results)))
}

/// `GET /v2/campaigns/{id}` (v2.json `ApiCampaign_GetCampaignById`): `200` + `ApiCampaign`
/// with every required property (name, subject, fromName, htmlContent, plainTextContent) and
/// its `status`; an unknown id gets the 404 above, a non-numeric one 400 (assumed).
pub(crate) fn get(state: &AccountState, raw_id: &str) -> Result<SimResponse, V2Error> {
    let id = decode_segment(raw_id)
        .and_then(|id| id.parse::<u32>().ok())
        .ok_or_else(|| V2Error::parameter_invalid("The campaign id must be a positive integer"))?;
    let account = &state.account;
    let campaign = account.campaign(id).ok_or_else(campaign_not_found)?;
    Ok(SimResponse::json(
        200,
        &json!({
            "id": id,
            "name": campaign.name,
            "subject": format!("A message from {}", account.name),
            "fromName": account.name,
            "htmlContent": format!("<html><body><p>{}</p></body></html>", campaign.name),
            "plainTextContent": campaign.name,
            "replyAction": "Unset",
            "replyToAddress": null,
            "isSplitTest": false,
            "status": campaign.status.name(),
        }),
    ))
}
