//! One flow per record kind: validate → resolve the region → call → interpret. Flows hold no
//! mapping rules (see `mapping`) and no HTTP details (see `dotdigital`).

pub mod certificate;
pub mod connection;
pub mod contact;
pub mod import;
pub mod order;

#[cfg(test)]
mod tests;

use crate::dotdigital::data_fields::{account_fields, fetch, Freshness};
use crate::dotdigital::{segment, Reply, Session};
use crate::mapping::contact::ContactUpsert;
use crate::mapping::data_fields::{NameFields, TypedMapping};
use crate::platform::Method;
use crate::settings::Settings;
use crate::wit::{RemoteError, SyncAction, SyncError, SyncOutcome};

/// Settings first: a bad subscription fails every record the same way, before any call.
pub fn validated_settings(raw: &crate::wit::Settings) -> Result<Settings, SyncError> {
    Settings::validate(raw).map_err(SyncError::InvalidSettings)
}

/// What a customer's contact may carry in this account: the name fields it has, and the
/// mapped data fields with their types. A mapping to a field the cached list lacks reads the
/// list again before calling the settings wrong (the field may be a few hours old).
pub fn contact_schema(
    session: &mut Session,
    settings: &Settings,
) -> Result<(NameFields, Vec<TypedMapping>), SyncError> {
    let (mut fields, freshness) = account_fields(session)?;
    let mut typed = fields.typed_mappings(&settings.data_field_map);
    if typed.is_err() && freshness == Freshness::Cached {
        fields = fetch(session)?;
        typed = fields.typed_mappings(&settings.data_field_map);
    }
    Ok((fields.name_fields(), typed.map_err(SyncError::InvalidSettings)?))
}

/// The name fields of the account, for contacts made for an order or a certificate.
pub fn name_fields(session: &mut Session) -> Result<NameFields, SyncError> {
    Ok(account_fields(session)?.0.name_fields())
}

/// The contact as Dotdigital answered the upsert.
pub struct UpsertedContact {
    pub contact_id: i64,
    pub created: bool,
    /// What was left out or changed on the way, for the outcome's messages.
    pub notes: Vec<String>,
}

/// Writes the contact: `PATCH /contacts/v3/contactId/{id}` when iPaaS.com stored its id (so a
/// changed email updates the same contact), else `PATCH /contacts/v3/email/{email}`; 201
/// created, 200 updated. Then takes it out of the marketing lists it must leave.
///
/// A 404 on the stored id means the contact was deleted in Dotdigital: the email upsert
/// takes over and the outcome says so. A 409 there means the new email belongs to another
/// contact, which only a person can resolve: `rejected`, naming both contacts.
pub fn upsert_contact(session: &mut Session, upsert: &ContactUpsert) -> Result<UpsertedContact, SyncError> {
    let mut notes = Vec::new();
    let by_email = format!("/contacts/v3/email/{}?merge-option={}", segment(&upsert.email), upsert.merge_option);
    let reply = match upsert.contact_id {
        None => patch(session, &by_email, &upsert.body, &mut notes)?,
        Some(id) => {
            let by_id = format!("/contacts/v3/contactId/{id}?merge-option={}", upsert.merge_option);
            let reply = patch(session, &by_id, &upsert.body, &mut notes)?;
            match reply.status() {
                404 => {
                    notes.push(format!(
                        "contact {id} (stored for this customer) no longer exists in Dotdigital: matched by email instead"
                    ));
                    patch(session, &by_email, &upsert.body, &mut notes)?
                }
                409 => {
                    // Dotdigital's 409 body does not name the owner (contacts-v3.json's example
                    // is only `errorCode` and `description`): ask who holds the email.
                    let owner = other_contact_id(&reply.response.body).or_else(|| owner_of(session, &upsert.email));
                    return Err(email_taken(reply, id, &upsert.email, owner));
                }
                _ => reply,
            }
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
    leave_lists(session, contact_id, &contact, &upsert.leave_lists, &mut notes)?;
    Ok(UpsertedContact { contact_id, created, notes })
}

/// One PATCH. A 409 means an identifier in the body belongs to another contact. The path
/// names the contact, so the only other identifier we send is the mobile number (often a
/// shared household phone): drop it, say so, and patch once more rather than lose the
/// whole customer.
fn patch(
    session: &mut Session,
    path: &str,
    body: &serde_json::Value,
    notes: &mut Vec<String>,
) -> Result<Reply, SyncError> {
    let mut body = body.clone();
    loop {
        let reply = session.send_json(Method::Patch, path, &body)?;
        let mobile = body
            .pointer_mut("/identifiers")
            .and_then(|ids| ids.as_object_mut())
            .and_then(|ids| ids.remove("mobileNumber"));
        match (reply.status(), mobile) {
            (409, Some(number)) => notes.push(format!(
                "mobile number {} belongs to another Dotdigital contact: not set on this one",
                number.as_str().unwrap_or_default()
            )),
            _ => return Ok(reply),
        }
    }
}

/// The 409 of a patch by contactId: the customer's new email is another contact's.
fn email_taken(reply: Reply, id: u32, email: &str, other: Option<i64>) -> SyncError {
    let owner = match other {
        Some(other) => format!("Dotdigital contact {other}"),
        None => "another Dotdigital contact (Dotdigital's answer does not say which)".to_string(),
    };
    let code = reply.error_code();
    SyncError::Rejected(RemoteError {
        status: reply.status(),
        code,
        message: format!(
            "the customer's email {email} belongs to {owner}, not to contact {id} stored for this customer: \
             merge the two contacts in Dotdigital, or correct the email in iPaaS.com"
        ),
        endpoint: reply.endpoint,
    })
}

/// `GET /contacts/v3/email/{email}`: the contact that holds the email, if it can be read. A
/// failed look-up only costs the message its second id; the 409 stays the error.
fn owner_of(session: &mut Session, email: &str) -> Option<i64> {
    let reply = session.get(&format!("/contacts/v3/email/{}", segment(email))).ok()?;
    if reply.status() != 200 {
        return None;
    }
    reply.json().ok()?.get("contactId")?.as_i64()
}

/// The contact holding the identifier, when a 409 body names it: a top-level `contactId`,
/// or a `details` entry whose `item` is `contactId`.
fn other_contact_id(body: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(id) = value.get("contactId").and_then(|id| id.as_i64()) {
        return Some(id);
    }
    value.get("details")?.as_array()?.iter().find_map(|detail| {
        if detail.get("item")?.as_str()? != "contactId" {
            return None;
        }
        let text = detail.get("description").or_else(|| detail.get("error"))?;
        text.as_i64().or_else(|| text.as_str()?.trim().parse().ok())
    })
}

/// `DELETE /v2/address-books/{list}/contacts/{contactId}` (204) for each list in `leave` that
/// the contact's answer shows it in: a customer without consent leaves the marketing lists.
fn leave_lists(
    session: &mut Session,
    contact_id: i64,
    contact: &serde_json::Value,
    leave: &[u32],
    notes: &mut Vec<String>,
) -> Result<(), SyncError> {
    if leave.is_empty() {
        return Ok(());
    }
    let member_of: Vec<i64> = contact
        .get("lists")
        .and_then(|lists| lists.as_array())
        .map(|lists| lists.iter().filter_map(|list| list.get("id")?.as_i64()).collect())
        .unwrap_or_default();
    for &list in leave.iter().filter(|&&list| member_of.contains(&i64::from(list))) {
        let reply = session.delete(&format!("/v2/address-books/{list}/contacts/{contact_id}"))?;
        if reply.status() != 204 {
            return Err(reply.into_error());
        }
        notes.push(format!("removed from marketing list {list}: no marketing consent"));
    }
    Ok(())
}

pub fn outcome(
    external_id: impl Into<String>,
    action: SyncAction,
    session_calls: u32,
    messages: Vec<String>,
) -> SyncOutcome {
    SyncOutcome { external_id: external_id.into(), action, api_calls: session_calls, messages }
}
