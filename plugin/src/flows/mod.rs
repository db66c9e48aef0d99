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
/// changed email updates the same contact), else `PATCH /contacts/v3/email/{email}` (after
/// `POST /contacts/v3` for `verifiedDouble`, see [`by_email`]); 201 created, 200 updated.
/// Then an explicit no to marketing consent takes it out of the marketing lists.
///
/// The stored contact may be gone. Dotdigital then creates a new one from the PATCH
/// (importContact: "If no contact is found with the provided identifier, the contact is
/// created using the identifiers supplied"), whose id becomes the external id; or answers 409
/// because the email is another contact's, which is only a clash needing a person when the
/// stored contact still exists (asked with `GET /contacts/v3/contactId/{id}`): when it is
/// gone, the email's contact is updated and becomes the external id.
pub fn upsert_contact(session: &mut Session, upsert: &ContactUpsert) -> Result<UpsertedContact, SyncError> {
    let mut notes = Vec::new();
    let (reply, contact_id, contact) = match upsert.contact_id {
        None => read_contact(by_email(session, upsert, Match::MayBeNew, &mut notes)?)?,
        Some(id) => by_stored_id(session, upsert, id, &mut notes)?,
    };
    let created = reply.status() == 201;
    leave_lists(session, contact_id, &contact, &upsert.leave_lists, &mut notes)?;
    Ok(UpsertedContact { contact_id, created, notes })
}

/// The PATCH by the stored contactId, and what its answer asks for.
fn by_stored_id(
    session: &mut Session,
    upsert: &ContactUpsert,
    id: u32,
    notes: &mut Vec<String>,
) -> Result<(Reply, i64, serde_json::Value), SyncError> {
    let path = format!("/contacts/v3/contactId/{id}?merge-option={}", upsert.merge_option);
    let reply = session.send_json(Method::Patch, &path, &upsert.body)?;
    match reply.status() {
        201 => {
            let (reply, new_id, contact) = read_contact(reply)?;
            notes.push(format!(
                "contact {id} (stored for this customer) no longer exists in Dotdigital: \
                 Dotdigital created contact {new_id} for the customer"
            ));
            Ok((reply, new_id, contact))
        }
        404 => {
            notes.push(format!(
                "contact {id} (stored for this customer) no longer exists in Dotdigital: matched by email instead"
            ));
            read_contact(by_email(session, upsert, Match::MayBeNew, notes)?)
        }
        409 => {
            // An identifier in the body is another contact's: the email, or the mobile number.
            // Whose contact is this customer's now decides which.
            let check = session.get(&format!("/contacts/v3/contactId/{id}"))?;
            match check.status() {
                404 => {
                    let (reply, owner, contact) = read_contact(by_email(session, upsert, Match::Exists, notes)?)?;
                    notes.push(format!(
                        "contact {id} (stored for this customer) no longer exists in Dotdigital, and the \
                         customer's email belongs to contact {owner}: that contact was updated"
                    ));
                    Ok((reply, owner, contact))
                }
                200 => {
                    let stored = check.json()?;
                    if let Some((number, body)) = without_mobile(&upsert.body) {
                        let retry = session.send_json(Method::Patch, &path, &body)?;
                        if retry.status() != 409 {
                            notes.push(mobile_taken(&number));
                            return read_contact(retry);
                        }
                    }
                    // The email is another contact's. The customer's own contact still takes
                    // an explicit no, before the clash is reported.
                    leave_lists(session, i64::from(id), &stored, &upsert.leave_lists, notes)?;
                    // Dotdigital's 409 body does not name the owner (contacts-v3.json's
                    // example is only `errorCode` and `description`): ask who holds the email.
                    let owner = other_contact_id(&reply.response.body).or_else(|| owner_of(session, &upsert.email));
                    Err(email_taken(reply, id, &upsert.email, owner))
                }
                _ => Err(check.into_error()),
            }
        }
        _ => {
            let answer = read_contact(reply)?;
            if let Some(kind) = upsert.held_back_opt_in {
                notes.push(held_back(kind));
            }
            Ok(answer)
        }
    }
}

/// A 200 or 201 contact answer: the reply, the contact's id and the contact. Anything else is
/// the sync's error.
fn read_contact(reply: Reply) -> Result<(Reply, i64, serde_json::Value), SyncError> {
    if !matches!(reply.status(), 200 | 201) {
        return Err(reply.into_error());
    }
    let contact = reply.json()?;
    let contact_id = contact.get("contactId").and_then(|id| id.as_i64()).ok_or_else(|| {
        crate::dotdigital::errors::unreadable(reply.status(), &reply.endpoint, "no contactId in the contact")
    })?;
    Ok((reply, contact_id, contact))
}

/// What is known of the contact an upsert by email finds.
#[derive(Clone, Copy, PartialEq)]
enum Match {
    /// It may be new: the subscription's opt-in type goes along (`verifiedDouble` via a create).
    MayBeNew,
    /// Dotdigital just said the email has a contact: only the record's own opt-in type.
    Exists,
}

/// The upsert by email. With `verifiedDouble`, which may only reach a contact being created,
/// the contact is first created with `POST /contacts/v3` (create-only, contacts-v3.json
/// `createContact`: 409 when an identifier exists); a 409 means it exists, and the PATCH
/// updates it without that type.
/// The create carries no mobile number, so that its 409 can only mean the email (a shared
/// household phone is often another contact's); a new contact gets the number in a second
/// call, which a retry repeats safely as the PATCH of an existing contact.
fn by_email(
    session: &mut Session,
    upsert: &ContactUpsert,
    found: Match,
    notes: &mut Vec<String>,
) -> Result<Reply, SyncError> {
    let mut body = &upsert.email_body;
    match (&upsert.create, found) {
        (_, Match::Exists) => body = &upsert.body,
        (Some(create), Match::MayBeNew) => {
            let (mobile, create) = match without_mobile(create) {
                Some((number, create)) => (Some(number), create),
                None => (None, create.clone()),
            };
            let reply = session.send_json(Method::Post, "/contacts/v3", &create)?;
            match (reply.status(), mobile) {
                (409, _) => notes.push(held_back("verifiedDouble")),
                (201, Some(number)) => {
                    let (reply, id, _) = read_contact(reply)?;
                    add_mobile(session, id, number, notes)?;
                    return Ok(reply);
                }
                _ => return Ok(reply),
            }
        }
        (None, Match::MayBeNew) => {}
    }
    if found == Match::Exists {
        if let Some(kind) = upsert.held_back_opt_in {
            notes.push(held_back(kind));
        }
    }
    let by_email = format!("/contacts/v3/email/{}?merge-option={}", segment(&upsert.email), upsert.merge_option);
    patch(session, &by_email, body, notes)
}

fn held_back(kind: &str) -> String {
    format!(
        "opt-in type {kind} not written: the contact already exists in Dotdigital, and {kind} would send it \
         a confirmation email and hold its email as pendingOptIn until confirmed"
    )
}

/// Sets a new contact's mobile number; another contact holding it is a note.
fn add_mobile(
    session: &mut Session,
    contact_id: i64,
    number: serde_json::Value,
    notes: &mut Vec<String>,
) -> Result<(), SyncError> {
    let path = format!("/contacts/v3/contactId/{contact_id}?merge-option=overwrite");
    let reply =
        session.send_json(Method::Patch, &path, &serde_json::json!({"identifiers": {"mobileNumber": number}}))?;
    match reply.status() {
        200 | 201 => Ok(()),
        409 => {
            notes.push(mobile_taken(&number));
            Ok(())
        }
        _ => Err(reply.into_error()),
    }
}

/// The body without `identifiers.mobileNumber`, and the number, when it has one.
fn without_mobile(body: &serde_json::Value) -> Option<(serde_json::Value, serde_json::Value)> {
    let mut body = body.clone();
    let number = body.pointer_mut("/identifiers")?.as_object_mut()?.remove("mobileNumber")?;
    Some((number, body))
}

fn mobile_taken(number: &serde_json::Value) -> String {
    format!(
        "mobile number {} belongs to another Dotdigital contact: not set on this one",
        number.as_str().unwrap_or_default()
    )
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
    let reply = session.send_json(Method::Patch, path, body)?;
    match (reply.status(), without_mobile(body)) {
        (409, Some((number, body))) => {
            notes.push(mobile_taken(&number));
            session.send_json(Method::Patch, path, &body)
        }
        _ => Ok(reply),
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

/// An explicit no to marketing consent: `DELETE /v2/address-books/{list}/contacts/{contactId}`
/// (204) for each marketing list, whatever the contact's answer carries. `lists` is optional
/// in Dotdigital's contact answer (contacts-v3.json `contact`): when it is there, only the
/// lists it names are left; when it is not, every marketing list is asked, and a 404 means
/// the contact was not on it.
///
/// v2 is email-centric: "If a contacts email channel status becomes unsubscribed or
/// suppressed, then updates to the contact via API v2 are not processed"
/// (developer.dotdigital.com/reference/unified-contacts). The removal is still asked (the
/// record said no); one Dotdigital refuses for that reason is said in the outcome, never a
/// failed sync (the contact was written, and it receives no marketing email anyway). Any
/// other refusal is the sync's error, so the withdrawal is never silently lost.
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
    let status = contact.pointer("/channelProperties/email/status").and_then(|s| s.as_str());
    let mailable = status.is_none_or(|s| matches!(s, "subscribed" | "pendingOptIn" | "noSubscription"));
    let member_of: Option<Vec<i64>> = contact
        .get("lists")
        .and_then(|lists| lists.as_array())
        .map(|lists| lists.iter().filter_map(|list| list.get("id")?.as_i64()).collect());
    for &list in leave.iter().filter(|&&list| member_of.as_ref().is_none_or(|m| m.contains(&i64::from(list)))) {
        let reply = session.delete(&format!("/v2/address-books/{list}/contacts/{contact_id}"))?;
        let known_member = member_of.is_some();
        match reply.status() {
            204 if mailable => notes.push(format!("removed from marketing list {list}: no marketing consent")),
            204 => notes.push(format!(
                "no marketing consent: removal from marketing list {list} asked, but the contact's email is {}, \
                 for which Dotdigital may not process list changes",
                status.unwrap_or_default()
            )),
            404 if !known_member => {}
            status_code => {
                let code = reply.error_code().unwrap_or_default();
                let refused = status_code == 404 || code.contains("SUPPRESSED") || code.contains("UNSUBSCRIBED");
                if !refused {
                    return Err(reply.into_error());
                }
                notes.push(format!(
                    "no marketing consent, but Dotdigital did not remove the contact from marketing list {list} \
                     ({}): it does not process list changes for an unsubscribed or suppressed email, which \
                     receives no marketing email",
                    if code.is_empty() { format!("HTTP {status_code}") } else { code }
                ));
            }
        }
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
