//! One flow per record kind: validate → resolve the region → call → interpret. Flows hold no
//! mapping rules (see `mapping`) and no HTTP details (see `dotdigital`).

pub mod certificate;
pub mod connection;
pub mod contact;
pub mod order;

use crate::dotdigital::{segment, Session};
use crate::mapping::contact::ContactUpsert;
use crate::platform::Method;
use crate::settings::Settings;
use crate::wit::{SyncAction, SyncError, SyncOutcome};

/// Settings first: a bad subscription fails every record the same way, before any call.
pub fn validated_settings(raw: &crate::wit::Settings) -> Result<Settings, SyncError> {
    Settings::validate(raw).map_err(SyncError::InvalidSettings)
}

/// The contact as Dotdigital answered the upsert.
pub struct UpsertedContact {
    pub contact_id: i64,
    pub created: bool,
}

/// `PATCH /contacts/v3/email/{email}?merge-option=…`: 201 created, 200 updated.
pub fn upsert_contact(session: &mut Session, upsert: &ContactUpsert) -> Result<UpsertedContact, SyncError> {
    let path = format!("/contacts/v3/email/{}?merge-option={}", segment(&upsert.email), upsert.merge_option);
    let reply = session.send_json(Method::Patch, &path, &upsert.body)?;
    let created = match reply.status() {
        201 => true,
        200 => false,
        _ => return Err(reply.into_error()),
    };
    let contact = reply.json()?;
    let contact_id = contact
        .get("contactId")
        .and_then(|id| id.as_i64())
        .ok_or_else(|| crate::dotdigital::errors::unreadable(reply.status(), &reply.endpoint, "no contactId in the contact"))?;
    Ok(UpsertedContact { contact_id, created })
}

pub fn outcome(external_id: impl Into<String>, action: SyncAction, session_calls: u32, messages: Vec<String>) -> SyncOutcome {
    SyncOutcome { external_id: external_id.into(), action, api_calls: session_calls, messages }
}
