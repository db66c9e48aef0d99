//! Address books (lists), v2, as methods on the account: `GET /v2/address-books/{id}` and
//! `DELETE /v2/address-books/{addressBookId}/contacts/{contactId}`.
//!
//! v2.json declares only the success statuses (`200 ApiAddressBook`, `204`); the errors are
//! assumed, in the v2 format of API.md §7 with the codes Dotdigital's v2 error list names:
//! `404 "Error: ERROR_ADDRESSBOOK_NOT_FOUND"`, `404 "Error: ERROR_CONTACT_NOT_FOUND"`,
//! `400 "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"` (a removal that is not processed, see
//! below) and, for a path id that is not a positive int32 (both are `integer`/`int32` in
//! v2.json), `400 "… ERROR_PARAMETER_INVALID"`.

use serde_json::json;

use crate::clock::iso_now;
use crate::config::{ContactConfig, UnprocessedListRemoval};
use crate::errors::V2Error;
use crate::message::{decode_segment, SimResponse};
use crate::model::{AddressBook, ChannelStatus};
use crate::state::AccountState;

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

impl AccountState {
    fn address_book(&self, raw_id: &str) -> Result<&AddressBook, V2Error> {
        let id = path_id(raw_id, "address book id")?;
        self.account.list(id).ok_or_else(address_book_not_found)
    }

    /// `GET /v2/address-books/{id}` (v2.json `ApiAddressBook_GetAddressBookById`):
    /// `200 {id, name, visibility, contacts}` (`ApiAddressBook`), `contacts` being the number of
    /// contacts on the list.
    pub(crate) fn get_address_book(&self, raw_id: &str) -> Result<SimResponse, V2Error> {
        let book = self.address_book(raw_id)?;
        Ok(SimResponse::json(
            200,
            &json!({
                "id": book.id,
                "name": book.name,
                "visibility": book.visibility.name(),
                "contacts": self.contacts.members_of(book.id),
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
    pub(crate) fn remove_from_address_book(
        &mut self,
        raw_book: &str,
        raw_contact: &str,
        config: &ContactConfig,
    ) -> Result<SimResponse, V2Error> {
        let book = self.address_book(raw_book)?.id;
        let contact = i64::from(path_id(raw_contact, "contact id")?);
        let unprocessed = self
            .contacts
            .get(contact)
            .is_some_and(|c| matches!(c.email_status, ChannelStatus::Unsubscribed | ChannelStatus::Suppressed));
        if unprocessed {
            return match config.unsubscribed_list_removal {
                UnprocessedListRemoval::Error => {
                    Err(V2Error::new(400, "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"))
                }
                UnprocessedListRemoval::Ignored => Ok(SimResponse::empty(204)),
            };
        }
        match self.contacts.remove_from_list(contact, book, &iso_now()) {
            Some(true) => Ok(SimResponse::empty(204)),
            Some(false) | None => Err(contact_not_found()),
        }
    }
}
