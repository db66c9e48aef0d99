//! Writing one contact into an account: the identifier-uniqueness rule, create-or-update with a
//! merge option, and the confirmation email verified double opt-in sends. The PATCH, the POST
//! and each contact of an import share it.

use super::account_state::AccountState;
use super::contact::{ConfirmationEmail, Contact};
use super::contact_patch::ContactPatch;
use super::identifiers::ContactKey;
use super::merge::{apply_patch, MergeOption};
use crate::settings::VerifiedDoubleReading;

/// How one contact write is made.
pub(crate) struct ContactWrite {
    pub merge: MergeOption,
    /// How `optInType: verifiedDouble` is read (imports always read it the narrower way).
    pub verified_double: VerifiedDoubleReading,
    /// The write's timestamp (`created`/`updated`, and a confirmation email's `sent`).
    pub now: String,
}

impl AccountState {
    /// The first identifier the patch asks for (email, then mobile number) that belongs to
    /// another contact than `matched`: every identifier is unique in an account (contacts-v3.json
    /// `createContact`: "Creates a contact if the identifiers passed are unique in the account").
    pub(crate) fn taken_identifier(&self, matched: Option<i64>, patch: &ContactPatch) -> Option<(ContactKey, i64)> {
        let wanted =
            [patch.email.clone().map(ContactKey::Email), patch.mobile_number.clone().map(ContactKey::MobileNumber)];
        wanted.into_iter().flatten().find_map(|key| {
            let owner = self.contacts.id_of(&key)?;
            (Some(owner) != matched).then_some((key, owner))
        })
    }

    /// Creates (no `existing` contact, with the next id of the whole simulator) or updates a
    /// contact with the patch, after the checks of its caller; a new contact is always written
    /// with `overwrite`. Data fields the patch auto-creates join the account first. Answers (a
    /// copy of) the stored contact and whether it was created.
    pub(crate) fn write_contact(
        &mut self,
        existing: Option<i64>,
        patch: &ContactPatch,
        write: &ContactWrite,
        next_contact_id: &mut i64,
    ) -> (Contact, bool) {
        self.account.data_fields.extend(patch.new_data_fields.iter().cloned());
        let (mut contact, created) = match existing.and_then(|id| self.contacts.get(id)) {
            Some(contact) => (contact.clone(), false),
            None => {
                let id = *next_contact_id;
                *next_contact_id += 1;
                (Contact::new(id, &write.now), true)
            }
        };
        let merge = if created { MergeOption::Overwrite } else { write.merge };
        let challenged = apply_patch(&mut contact, patch, merge, created, write.verified_double);
        contact.updated = write.now.clone();
        if challenged {
            self.record_confirmation_email(&contact);
        }
        (self.contacts.store(contact).clone(), created)
    }

    /// Notes the confirmation email a verified double opt-in challenge sends (for tests).
    fn record_confirmation_email(&mut self, contact: &Contact) {
        if let Some(email) = &contact.email {
            let sent = contact.updated.clone();
            self.confirmation_emails.push(ConfirmationEmail { contact_id: contact.id, email: email.clone(), sent });
        }
    }
}
