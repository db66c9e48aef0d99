//! Contacts (contacts-v3.json): the PATCH upserts by contactId or email (`importContact`), the
//! create-only POST (`createContact`), reads by identifier (`getContact`), and what each answer
//! means for the contact write.

use serde_json::{json, Value};

use super::{segment, Reply, Session};
use crate::platform::Method;
use crate::wit::SyncError;

/// An address no account holds: a 404 for it proves contacts are readable.
const PROBE_EMAIL: &str = "connection-check@example.com";

/// What the contact write needs of a contact Dotdigital holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub id: i64,
    /// `channelProperties.email.status`, when the answer carries it.
    pub email_status: Option<String>,
    /// The ids of the lists it is on; `lists` is optional in contacts-v3.json's `contact`.
    pub lists: Option<Vec<i64>>,
}

impl Contact {
    fn from_json(id: i64, contact: &Value) -> Contact {
        let lists = contact.get("lists").and_then(Value::as_array);
        Contact {
            id,
            email_status: contact
                .pointer("/channelProperties/email/status")
                .and_then(Value::as_str)
                .map(str::to_string),
            lists: lists.map(|lists| lists.iter().filter_map(|list| list.get("id")?.as_i64()).collect()),
        }
    }

    /// Whether Dotdigital processes v2 list changes for it: "If a contacts email channel status
    /// becomes unsubscribed or suppressed, then updates to the contact via API v2 are not
    /// processed" (developer.dotdigital.com/reference/unified-contacts).
    pub fn takes_v2_list_changes(&self) -> bool {
        self.email_status.as_deref().is_none_or(|s| matches!(s, "subscribed" | "pendingOptIn" | "noSubscription"))
    }
}

/// What a contact write came to.
#[derive(Debug)]
pub enum Write {
    /// 201: Dotdigital created the contact.
    Created(Contact),
    /// 200: an existing contact was updated.
    Updated(Contact),
    /// 404: no contact has the identifier in the path.
    NotFound(Reply),
    /// 409: an identifier in the body (the email, or the mobile number) is another contact's:
    /// `owner`, when the answer names it.
    Taken { owner: Option<i64>, answer: Reply },
}

/// A contact Dotdigital holds after a write, and whether the write created it.
#[derive(Debug)]
pub struct Written {
    pub contact: Contact,
    pub created: bool,
}

impl Write {
    /// The contact written; a 404 or 409 as the sync's error.
    pub fn written(self) -> Result<Written, SyncError> {
        match self {
            Write::Created(contact) => Ok(Written { contact, created: true }),
            Write::Updated(contact) => Ok(Written { contact, created: false }),
            Write::NotFound(answer) | Write::Taken { answer, .. } => Err(answer.into_error()),
        }
    }
}

/// Whether a mobile number could be set.
#[derive(Debug, PartialEq, Eq)]
pub enum MobileNumber {
    Set,
    /// 409: another contact holds it.
    HeldByAnother,
}

/// `PATCH /contacts/v3/contactId/{id}`: the contact iPaaS.com stored. When it is gone,
/// Dotdigital either creates a contact from the body (201; importContact: "If no contact is
/// found with the provided identifier, the contact is created using the identifiers
/// supplied") or answers 409 when the body's email is another contact's.
pub fn patch_by_id(session: &mut Session, id: i64, merge_option: &str, body: &Value) -> Result<Write, SyncError> {
    let reply = session.send_json(Method::Patch, &by_id(id, merge_option), body)?;
    write(reply)
}

/// `PATCH /contacts/v3/email/{email}`: the contact with this email, created if there is none.
pub fn patch_by_email(
    session: &mut Session,
    email: &str,
    merge_option: &str,
    body: &Value,
) -> Result<Write, SyncError> {
    let path = format!("/contacts/v3/email/{}?merge-option={merge_option}", segment(email));
    write(session.send_json(Method::Patch, &path, body)?)
}

/// `POST /contacts/v3`, create-only (`createContact`): 409 when an identifier exists.
pub fn create(session: &mut Session, body: &Value) -> Result<Write, SyncError> {
    write(session.send_json(Method::Post, "/contacts/v3", body)?)
}

/// Sets a contact's mobile number, and only that.
pub fn set_mobile(session: &mut Session, id: i64, number: &Value) -> Result<MobileNumber, SyncError> {
    let body = json!({"identifiers": {"mobileNumber": number}});
    let reply = session.send_json(Method::Patch, &by_id(id, "overwrite"), &body)?;
    match reply.status() {
        200 | 201 => Ok(MobileNumber::Set),
        409 => Ok(MobileNumber::HeldByAnother),
        _ => Err(reply.into_error()),
    }
}

/// `GET /contacts/v3/contactId/{id}`: the contact, or `None` when there is none.
pub fn get_by_id(session: &mut Session, id: i64) -> Result<Option<Contact>, SyncError> {
    let reply = session.get(&format!("/contacts/v3/contactId/{id}"))?;
    match reply.status() {
        200 => Ok(Some(Contact::from_json(id, &reply.json()?))),
        404 => Ok(None),
        _ => Err(reply.into_error()),
    }
}

/// `GET /contacts/v3/email/{email}`: the contact that holds the email, if it can be read. A
/// failed look-up is `None`: it only ever adds an id to a message.
pub fn owner_of(session: &mut Session, email: &str) -> Option<i64> {
    let reply = session.get(&format!("/contacts/v3/email/{}", segment(email))).ok()?;
    if reply.status() != 200 {
        return None;
    }
    reply.json().ok()?.get("contactId")?.as_i64()
}

/// One cheap read: `Ok` when the API user may read contacts (a 403 is `forbidden`).
pub fn can_read(session: &mut Session) -> Result<(), SyncError> {
    let reply = session.get(&format!("/contacts/v3/email/{}", segment(PROBE_EMAIL)))?;
    match reply.status() {
        200 | 404 => Ok(()),
        _ => Err(reply.into_error()),
    }
}

/// The body without `identifiers.mobileNumber`, and the number, when it has one.
pub fn without_mobile(body: &Value) -> Option<(Value, Value)> {
    let mut body = body.clone();
    let number = body.pointer_mut("/identifiers")?.as_object_mut()?.remove("mobileNumber")?;
    Some((number, body))
}

fn by_id(id: i64, merge_option: &str) -> String {
    format!("/contacts/v3/contactId/{id}?merge-option={merge_option}")
}

/// A write's answer: 200 or 201 with the contact, 404, 409, or the sync's error.
fn write(reply: Reply) -> Result<Write, SyncError> {
    match reply.status() {
        200 | 201 => {
            let contact = reply.json()?;
            let id = contact.get("contactId").and_then(Value::as_i64).ok_or_else(|| {
                super::errors::unreadable(reply.status(), &reply.endpoint, "no contactId in the contact")
            })?;
            let contact = Contact::from_json(id, &contact);
            Ok(if reply.status() == 201 { Write::Created(contact) } else { Write::Updated(contact) })
        }
        404 => Ok(Write::NotFound(reply)),
        // Dotdigital's 409 body does not name the owner (contacts-v3.json's example is only
        // `errorCode` and `description`); a body that does is read.
        409 => Ok(Write::Taken { owner: named_owner(&reply.response.body), answer: reply }),
        _ => Err(reply.into_error()),
    }
}

/// The contact holding the identifier, when a 409 body names it: a top-level `contactId`,
/// or a `details` entry whose `item` is `contactId`.
fn named_owner(body: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if let Some(id) = value.get("contactId").and_then(Value::as_i64) {
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
