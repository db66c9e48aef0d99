//! Contacts v3 handlers: `PATCH /contacts/v3/{identifier}/{value}` (create-or-update with merge
//! options), `GET` on the same path and `POST /contacts/v3` (create only), as methods on the
//! account.

use serde_json::Value;

use crate::clock::iso_now;
use crate::config::{ContactConfig, VerifiedDoubleReading};
use crate::contact_body::{parse_contact_patch, ContactPatch, ContactPolicy, ContactRules, ContactSchema};
use crate::errors::{contact_not_found, V3Error};
use crate::message::SimResponse;
use crate::model::{ChannelStatus, ConfirmationEmail, Contact, ContactBook, ContactKey, OptInType};
use crate::state::AccountState;

/// `merge-option` of a PATCH, `mergeOption` of a contact import (API.md §3b, §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MergeOption {
    /// Sent values replace stored ones; `null` clears.
    Overwrite,
    /// Blank incoming values (`null`, empty or whitespace strings) are ignored.
    OverwriteIfNotEmpty,
    /// Only fields that are currently blank are filled.
    OverwriteIfEmpty,
}

impl MergeOption {
    /// The import body's spelling (contacts-v3.json `v3_import_body.mergeOption`: `overwrite`,
    /// `overwriteIfNotEmpty`, `overwriteIfEmpty`), in any casing (API.md §4).
    pub(crate) fn parse_import(value: &str) -> Option<MergeOption> {
        match value.to_ascii_lowercase().as_str() {
            "overwrite" => Some(MergeOption::Overwrite),
            "overwriteifnotempty" => Some(MergeOption::OverwriteIfNotEmpty),
            "overwriteifempty" => Some(MergeOption::OverwriteIfEmpty),
            _ => None,
        }
    }

    fn parse(value: Option<&str>) -> Result<MergeOption, V3Error> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("overwrite") => Ok(MergeOption::Overwrite),
            Some("overwrite-if-not-empty") => Ok(MergeOption::OverwriteIfNotEmpty),
            Some("overwrite-if-empty") => Ok(MergeOption::OverwriteIfEmpty),
            // assumed: contacts-v3.json declares only the enum; `contacts:invalidId` is the
            // PATCH's declared 400 code.
            Some(other) => Err(V3Error::new(
                400,
                "contacts:invalidId",
                &format!(
                    "The merge-option value '{other}' is invalid; use overwrite, overwrite-if-not-empty or overwrite-if-empty"
                ),
            )),
        }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// What a single-contact call needs besides the account: the run's body rules and readings,
/// and the simulator-wide contact id counter.
pub(crate) struct ContactContext<'a> {
    pub policy: ContactPolicy,
    pub config: &'a ContactConfig,
    /// Contact ids count up across the whole simulator.
    pub next_contact_id: &'a mut i64,
}

fn invalid_id(description: String) -> V3Error {
    V3Error::new(400, "contacts:invalidId", &description)
}

impl AccountState {
    /// `GET /contacts/v3/{identifier}/{value}`.
    pub(crate) fn get_contact(
        &self,
        identifier: &str,
        value: &str,
        config: &ContactConfig,
    ) -> Result<SimResponse, V3Error> {
        let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
        let contact = self.contacts.find(&key).ok_or_else(|| contact_not_found("contacts", &key))?;
        Ok(SimResponse::json(200, &contact.to_json(&self.account, config.contact_answers_include_lists)))
    }

    /// `PATCH /contacts/v3/{identifier}/{value}?merge-option=…`: 201 + contact when created,
    /// 200 + contact when updated. A new contact takes the next id of the whole simulator.
    pub(crate) fn upsert_contact(
        &mut self,
        identifier: &str,
        value: &str,
        merge_option: Option<&str>,
        body: &[u8],
        context: ContactContext,
    ) -> Result<SimResponse, V3Error> {
        let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
        let merge = MergeOption::parse(merge_option)?;
        let rules = ContactRules {
            data_fields: &self.account.data_fields,
            lists: &self.account.lists,
            policy: context.policy,
            schema: ContactSchema::Update,
        };
        let mut patch = parse_contact_patch(body, &rules)?;
        if patch.email.is_none() {
            if let ContactKey::Email(email) = &key {
                patch.email = Some(email.clone());
            }
        }
        if patch.mobile_number.is_none() {
            if let ContactKey::MobileNumber(number) = &key {
                patch.mobile_number = Some(number.clone());
            }
        }

        let existing = self.contacts.id_of(&key);
        // No match by contactId creates too, from the body's identifiers, with a new id (the
        // client never chooses one: "It is not possible to modify the contactId field").
        // Dotdigital's importcontact page: "If no contact is found with the provided
        // identifier, the contact is created using the identifiers supplied in the object in the
        // request body" (developer.dotdigital.com/reference-link/importcontact); contacts-v3.json
        // `importContact` declares 200, 201, 400, 401 and 409, no 404. Body identifiers that
        // belong to another contact get the 409 below.
        if existing.is_none() && patch.email.is_none() && patch.mobile_number.is_none() {
            return Err(no_identifier_to_create(&key));
        }
        reject_identifier_clash(&self.contacts, existing, &patch)?;

        self.account.data_fields.extend(patch.new_data_fields.iter().cloned());
        let now = iso_now();
        let (mut contact, created) = match existing.and_then(|id| self.contacts.get(id)) {
            Some(contact) => (contact.clone(), false),
            None => {
                let id = *context.next_contact_id;
                *context.next_contact_id += 1;
                (Contact::new(id, &now), true)
            }
        };
        let merge = if created { MergeOption::Overwrite } else { merge };
        let challenged = apply_patch(&mut contact, &patch, merge, created, context.config.verified_double);
        contact.updated = now;
        if challenged {
            self.record_confirmation_email(&contact);
        }
        let body = contact.to_json(&self.account, context.config.contact_answers_include_lists);
        self.contacts.store(contact);
        Ok(SimResponse::json(if created { 201 } else { 200 }, &body))
    }

    /// `POST /contacts/v3` (contacts-v3.json `createContact`): "Creates a contact if the
    /// identifiers passed are unique in the account … otherwise it will fail the call with a
    /// 409". 201 + contact; the body is a `createContactRequest`; a new contact's channels
    /// default as the PATCH's do.
    pub(crate) fn create_contact(&mut self, body: &[u8], context: ContactContext) -> Result<SimResponse, V3Error> {
        let rules = ContactRules {
            data_fields: &self.account.data_fields,
            lists: &self.account.lists,
            policy: context.policy,
            schema: ContactSchema::Create,
        };
        let patch = parse_contact_patch(body, &rules)?;
        reject_identifier_clash(&self.contacts, None, &patch)?;

        self.account.data_fields.extend(patch.new_data_fields.iter().cloned());
        let now = iso_now();
        let id = *context.next_contact_id;
        *context.next_contact_id += 1;
        let mut contact = Contact::new(id, &now);
        if apply_patch(&mut contact, &patch, MergeOption::Overwrite, true, context.config.verified_double) {
            self.record_confirmation_email(&contact);
        }
        let body = contact.to_json(&self.account, context.config.contact_answers_include_lists);
        self.contacts.store(contact);
        Ok(SimResponse::json(201, &body))
    }

    /// Notes the confirmation email a verified double opt-in challenge sends (for tests).
    pub(crate) fn record_confirmation_email(&mut self, contact: &Contact) {
        if let Some(email) = &contact.email {
            let sent = contact.updated.clone();
            self.confirmation_emails.push(ConfirmationEmail { contact_id: contact.id, email: email.clone(), sent });
        }
    }
}

/// A PATCH by `contactId` that matches nothing and whose body names no email or mobile number:
/// there is nothing to create the contact with (importcontact page: created "using the
/// identifiers supplied in the object in the request body"). assumed: no code is documented for
/// it; `contacts:badJson` naming `identifiers`, as for any other body that cannot be used.
fn no_identifier_to_create(key: &ContactKey) -> V3Error {
    V3Error::new(400, "contacts:badJson", "A new contact needs identifiers.email or identifiers.mobileNumber").detail(
        "identifiers",
        &format!(
            "No contact has the {} '{}', and the body gives no email or mobileNumber to create one with",
            key.identifier(),
            key.value()
        ),
    )
}

/// 409 when an identifier the body (or path) asks for belongs to another contact. The body is
/// exactly what contacts-v3.json's 409 example shows for the PATCH: `errorCode`
/// `contacts:idAlreadyExists` and a `description`, no `details`.
fn reject_identifier_clash(book: &ContactBook, matched: Option<i64>, patch: &ContactPatch) -> Result<(), V3Error> {
    let wanted =
        [patch.email.clone().map(ContactKey::Email), patch.mobile_number.clone().map(ContactKey::MobileNumber)];
    for key in wanted.into_iter().flatten() {
        if let Some(owner) = book.id_of(&key) {
            if Some(owner) != matched {
                return Err(V3Error::new(
                    409,
                    "contacts:idAlreadyExists",
                    &format!(
                        "The id value '{}' for the identifier '{}' already exists. All identifiers must be unique!",
                        key.value(),
                        key.identifier()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Changes only what the patch sends; merge options govern data fields and identifiers.
/// `created`: the contact is new, so its email channel defaults to subscribed. Answers whether
/// verified double opt-in challenged the contact (status `pendingOptIn`, a confirmation email
/// to send), as `verified_double` reads it.
pub(crate) fn apply_patch(
    contact: &mut Contact,
    patch: &ContactPatch,
    merge: MergeOption,
    created: bool,
    verified_double: VerifiedDoubleReading,
) -> bool {
    let may_write = |current: Option<&Value>, incoming: &Value| match merge {
        MergeOption::Overwrite => true,
        MergeOption::OverwriteIfNotEmpty => !is_blank(incoming),
        MergeOption::OverwriteIfEmpty => current.is_none_or(is_blank),
    };
    for (name, value) in &patch.data_fields {
        if may_write(contact.data_fields.get(name), value) {
            contact.data_fields.insert(name.clone(), value.clone());
        }
    }
    if let Some(email) = &patch.email {
        if merge != MergeOption::OverwriteIfEmpty || contact.email.is_none() {
            contact.email = Some(email.clone());
        }
    }
    if let Some(number) = &patch.mobile_number {
        if merge != MergeOption::OverwriteIfEmpty || contact.mobile_number.is_none() {
            contact.mobile_number = Some(number.clone());
        }
    }
    if let Some(email_type) = patch.email_type {
        contact.email_type = email_type;
    }
    if let Some(opt_in_type) = patch.opt_in_type {
        contact.opt_in_type = opt_in_type;
    }
    // contacts-v3.json `channelProperties.email.status`: "if not specified it remains unaltered
    // for existing contacts, and for new contacts this defaults to subscribed".
    let requested = patch.email_status.or(created.then_some(ChannelStatus::Subscribed));
    if let Some(status) = requested {
        contact.email_status = status;
    }
    // contacts-v3.json `channelProperties.email.optInType`: "if set to verified double … the
    // email holder will be sent an email to confirm their subscription, and in the meantime the
    // email channel status will be pendingOptIn". Read with or without a status (see
    // `VerifiedDoubleReading`); an unsubscribed or suppressed channel is never challenged
    // without a status sent, as that would resubscribe it.
    let subscribing = requested == Some(ChannelStatus::Subscribed) && contact.opt_in_type == OptInType::VerifiedDouble;
    let challenged = subscribing
        || (verified_double == VerifiedDoubleReading::EveryRequest
            && patch.opt_in_type == Some(OptInType::VerifiedDouble)
            && requested.is_none()
            && contact.email.is_some()
            && matches!(contact.email_status, ChannelStatus::Subscribed | ChannelStatus::PendingOptIn));
    if challenged {
        contact.email_status = ChannelStatus::PendingOptIn;
    }
    if let Some(status) = patch.sms_status {
        contact.sms_status = status;
    }
    if let Some(status) = patch.whatsapp_status {
        contact.whatsapp_status = Some(status);
    }
    contact.lists.extend(patch.lists.iter().copied());
    challenged
}
