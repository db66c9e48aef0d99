//! Triggered campaigns: the campaign's status (v2.json `ApiCampaign_GetCampaignById`) and one
//! send (transactional-email-v2.json
//! `send-transactional-email-using-a-triggered-campaign`).

use serde_json::Value;

use super::Session;
use crate::platform::Method;
use crate::wit::SyncError;

/// Campaign statuses a triggered send can use. v2.json `ApiCampaign.status` (enum
/// `ApiCampaignStatuses`) lists Unsent, Sending, Sent, Paused, Cancelled,
/// RequiresSystemApproval, RequiresSMSApproval, RequiresWorkflowApproval, Triggered and
/// NotAvailableInThisVersion, but neither the spec nor the docs say which of them a
/// triggered send accepts. The stricter reading is taken: only `Triggered`. A campaign that
/// is `Unsent` may be one built for triggered sends that never fired, or a draft meant for a
/// list; `validate` says so rather than let the first certificate find out.
pub const TRIGGERABLE_STATUSES: [&str; 1] = ["Triggered"];

/// A campaign as the connector needs to know it.
#[derive(Debug, PartialEq)]
pub struct Campaign {
    pub status: Option<String>,
}

impl Campaign {
    pub fn triggerable(&self) -> bool {
        self.status.as_deref().is_some_and(|s| TRIGGERABLE_STATUSES.iter().any(|ok| ok.eq_ignore_ascii_case(s)))
    }
}

/// `GET /v2/campaigns/{id}`: the campaign, or `None` when the account has none with this id.
pub fn get(session: &mut Session, id: u32) -> Result<Option<Campaign>, SyncError> {
    let reply = session.get(&format!("/v2/campaigns/{id}"))?;
    match reply.status() {
        200 => {
            let status = reply.json()?.get("status").and_then(Value::as_str).map(str::to_string);
            Ok(Some(Campaign { status }))
        }
        404 => Ok(None),
        _ => Err(reply.into_error()),
    }
}

/// `POST /v2/email/triggered-campaign` with a built body: any 2xx is the send accepted.
pub fn send_triggered(session: &mut Session, body: &Value) -> Result<(), SyncError> {
    let reply = session.send_json(Method::Post, "/v2/email/triggered-campaign", body)?;
    if (200..300).contains(&reply.status()) {
        Ok(())
    } else {
        Err(reply.into_error())
    }
}
