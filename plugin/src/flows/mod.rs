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
    /// What was left out on the way, for the outcome's messages.
    pub notes: Vec<String>,
}

/// `PATCH /contacts/v3/email/{email}?merge-option=…`: 201 created, 200 updated.
///
/// A 409 means an identifier in the body belongs to another contact. The email is the match
/// key, so the only other one we send is the mobile number (often a shared household phone):
/// drop it, say so, and upsert once more rather than lose the whole customer.
pub fn upsert_contact(session: &mut Session, upsert: &ContactUpsert) -> Result<UpsertedContact, SyncError> {
    let path = format!("/contacts/v3/email/{}?merge-option={}", segment(&upsert.email), upsert.merge_option);
    let mut body = upsert.body.clone();
    let mut notes = Vec::new();
    let reply = loop {
        let reply = session.send_json(Method::Patch, &path, &body)?;
        let mobile = body
            .pointer_mut("/identifiers")
            .and_then(|ids| ids.as_object_mut())
            .and_then(|ids| ids.remove("mobileNumber"));
        match (reply.status(), mobile) {
            (409, Some(number)) => notes.push(format!(
                "mobile number {} belongs to another Dotdigital contact: not set on this one",
                number.as_str().unwrap_or_default()
            )),
            _ => break reply,
        }
    };
    let created = match reply.status() {
        201 => true,
        200 => false,
        _ => return Err(reply.into_error()),
    };
    let contact = reply.json()?;
    let contact_id = contact.get("contactId").and_then(|id| id.as_i64()).ok_or_else(|| {
        crate::dotdigital::errors::unreadable(reply.status(), &reply.endpoint, "no contactId in the contact")
    })?;
    Ok(UpsertedContact { contact_id, created, notes })
}

pub fn outcome(
    external_id: impl Into<String>,
    action: SyncAction,
    session_calls: u32,
    messages: Vec<String>,
) -> SyncOutcome {
    SyncOutcome { external_id: external_id.into(), action, api_calls: session_calls, messages }
}
