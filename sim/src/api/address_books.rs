//! Address books (lists), v2: `GET /v2/address-books/{id}`,
//! `DELETE /v2/address-books/{addressBookId}/contacts/{contactId}` and the bulk
//! `POST /v2/address-books/{addressBookId}/contacts/delete`.
//!
//! v2.json declares only the success statuses (`200 ApiAddressBook`, `204`); the errors are
//! assumed, in the v2 format with the codes Dotdigital's v2 error list names
//! (developer.dotdigital.com/docs/error-handling):
//! `404 "Error: ERROR_ADDRESSBOOK_NOT_FOUND"`, `404 "Error: ERROR_CONTACT_NOT_FOUND"`,
//! `400 "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"` (a removal that is not processed, see
//! below) and, for a path id that is not a positive int32 (both are `integer`/`int32` in
//! v2.json), `400 "… ERROR_PARAMETER_INVALID"`.

use serde_json::{json, Value};

use super::errors::V2Error;
use super::message::{decode_segment, SimResponse};
use crate::clock::iso_now;
use crate::model::{guid, AccountState, AddressBook, MAX_BULK_REMOVAL};
use crate::settings::{ContactConfig, UnprocessedListRemoval};

fn address_book_not_found() -> V2Error {
    V2Error::new(404, "Error: ERROR_ADDRESSBOOK_NOT_FOUND")
}

fn contact_not_found() -> V2Error {
    V2Error::new(404, "Error: ERROR_CONTACT_NOT_FOUND")
}

/// A positive int32 path id; `what` names it in the 400.
fn path_id(raw: &str, what: &str) -> Result<u32, V2Error> {
    decode_segment(raw)
        .and_then(|id| id.parse::<u32>().ok())
        .filter(|id| (1..=i32::MAX as u32).contains(id))
        .ok_or_else(|| V2Error::parameter_invalid(&format!("The {what} must be a positive integer")))
}

fn address_book<'a>(state: &'a AccountState, raw_id: &str) -> Result<&'a AddressBook, V2Error> {
    let id = path_id(raw_id, "address book id")?;
    state.account.list(id).ok_or_else(address_book_not_found)
}

/// `GET /v2/address-books/{id}` (v2.json `ApiAddressBook_GetAddressBookById`):
/// `200 {id, name, visibility, contacts}` (`ApiAddressBook`), `contacts` being the number of
/// contacts on the list.
pub(crate) fn get(state: &AccountState, raw_id: &str) -> Result<SimResponse, V2Error> {
    let book = address_book(state, raw_id)?;
    Ok(SimResponse::json(
        200,
        &json!({
            "id": book.id,
            "name": book.name,
            "visibility": book.visibility.name(),
            "contacts": state.contacts.members_of(book.id),
        }),
    ))
}

/// `DELETE /v2/address-books/{addressBookId}/contacts/{contactId}` (v2.json
/// `ApiContact_DeleteContactFromAddressBook`): `204`, no body. The contact stays in the
/// account. A contact that exists but is not on the list gets the contact 404 too (assumed:
/// the documents are silent; the stricter reading, so a client cannot take a no-op for a
/// removal).
///
/// A contact whose email channel is unsubscribed or suppressed stays on the list: "API v2 is
/// email centric … If a contacts email channel status becomes unsubscribed or suppressed,
/// then updates to the contact via API v2 are not processed"
/// (developer.dotdigital.com/reference/unified-contacts). The answer is
/// [`ContactConfig::unsubscribed_list_removal`]: by default `400 "Contact is suppressed.
/// ERROR_CONTACT_SUPPRESSED"` (assumed: the documents give no answer; this is the code v2
/// gives a suppressed contact, and an error is the stricter reading), or a `204`.
pub(crate) fn remove(
    state: &mut AccountState,
    raw_book: &str,
    raw_contact: &str,
    config: &ContactConfig,
) -> Result<SimResponse, V2Error> {
    let book = address_book(state, raw_book)?.id;
    let contact = i64::from(path_id(raw_contact, "contact id")?);
    if state.contacts.get(contact).is_some_and(|c| c.ignores_v2_updates()) {
        return match config.unsubscribed_list_removal {
            UnprocessedListRemoval::Error => Err(V2Error::new(400, "Contact is suppressed. ERROR_CONTACT_SUPPRESSED")),
            UnprocessedListRemoval::Ignored => Ok(SimResponse::empty(204)),
        };
    }
    match state.contacts.remove_from_list(contact, book, &iso_now()) {
        Some(true) => Ok(SimResponse::empty(204)),
        Some(false) | None => Err(contact_not_found()),
    }
}

/// `POST /v2/address-books/{addressBookId}/contacts/delete` (v2.json
/// `ApiContact_DeleteContactsFromAddressBook`): the body is a JSON array of int32 contact ids
/// (`x-name: contactIds`, required); the answer is `202 ApiBulkContactDeletion {id: guid,
/// status}` with a status of `ApiBulkContactDeletionStatuses` (`Started`). The summary says
/// the removal "will run in the background"; the simulator removes the contacts at once and
/// answers `Started` (assumed: the job's progress is not readable through any operation the
/// connector uses, so when it lands is invisible to it). Ids of contacts not on the list, or
/// unknown, are skipped silently, as a background job reports nothing per id (assumed).
/// A body that is not such an array, an empty one, or one over [`MAX_BULK_REMOVAL`] ids:
/// `400 … ERROR_PARAMETER_INVALID` (assumed, v2 format as the other address-book errors).
pub(crate) fn remove_many(
    state: &mut AccountState,
    raw_book: &str,
    body: &[u8],
    seq: &mut u64,
) -> Result<SimResponse, V2Error> {
    let book = address_book(state, raw_book)?.id;
    let ids = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| {
            value
                .as_array()?
                .iter()
                .map(|id| id.as_i64().filter(|id| (0..=i64::from(i32::MAX)).contains(id)))
                .collect::<Option<Vec<i64>>>()
        })
        .ok_or_else(|| V2Error::parameter_invalid("The body must be a JSON array of contact ids"))?;
    if ids.is_empty() || ids.len() > MAX_BULK_REMOVAL {
        return Err(V2Error::parameter_invalid(&format!(
            "The body must hold between 1 and {MAX_BULK_REMOVAL} contact ids"
        )));
    }
    // The job is v2 too, and runs in the background: a contact it does not process is
    // skipped silently (see `ContactBook::remove_many_from_list`).
    state.contacts.remove_many_from_list(&ids, book, &iso_now());
    *seq += 1;
    let job = guid(*seq);
    Ok(SimResponse::json(202, &json!({ "id": job, "status": "Started" })))
}
