//! Lists (v2.json address books): whether a list exists, taking one contact off a list, and
//! taking many off at once.

use super::Session;
use crate::platform::Method;
use crate::wit::SyncError;

/// Contact ids per bulk removal ("bulk deletes ≤ 5000", developer.dotdigital.com call limits).
pub const MAX_IDS_PER_REMOVAL: usize = 5000;

/// What asking to take a contact off a list came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// 204: it is off the list.
    Removed,
    /// 404: it was not on the list (or the list is gone); why, as Dotdigital said it.
    NotOnList(String),
    /// Dotdigital does not process list changes for the contact's unsubscribed or suppressed
    /// email; why, as Dotdigital said it.
    Refused(String),
}

/// `GET /v2/address-books/{id}` (`ApiAddressBook_GetAddressBookById`): 200 exists, 404 not.
pub fn exists(session: &mut Session, id: u32) -> Result<bool, SyncError> {
    let reply = session.get(&format!("/v2/address-books/{id}"))?;
    match reply.status() {
        200 => Ok(true),
        404 => Ok(false),
        _ => Err(reply.into_error()),
    }
}

/// `DELETE /v2/address-books/{list}/contacts/{contactId}`
/// (`ApiContact_DeleteContactFromAddressBook`). Any refusal but the two [`Removal`] names is
/// the sync's error.
pub fn leave(session: &mut Session, list: u32, contact_id: i64) -> Result<Removal, SyncError> {
    let reply = session.delete(&format!("/v2/address-books/{list}/contacts/{contact_id}"))?;
    let code = reply.error_code().unwrap_or_default();
    let why = if code.is_empty() { format!("HTTP {}", reply.status()) } else { code.clone() };
    match reply.status() {
        204 => Ok(Removal::Removed),
        404 => Ok(Removal::NotOnList(why)),
        _ if code.contains("SUPPRESSED") || code.contains("UNSUBSCRIBED") => Ok(Removal::Refused(why)),
        _ => Err(reply.into_error()),
    }
}

/// Takes `contact_ids` off `list`, [`MAX_IDS_PER_REMOVAL`] per call
/// (`ApiContact_DeleteContactsFromAddressBook`, `202 ApiBulkContactDeletion`: the removal runs
/// in Dotdigital's background, so its acceptance is the answer).
pub fn remove_all(session: &mut Session, list: u32, contact_ids: &[u64]) -> Result<(), SyncError> {
    let path = format!("/v2/address-books/{list}/contacts/delete");
    for chunk in contact_ids.chunks(MAX_IDS_PER_REMOVAL) {
        let reply = session.send_json(Method::Post, &path, &serde_json::json!(chunk))?;
        if reply.status() != 202 {
            return Err(reply.into_error());
        }
    }
    Ok(())
}
