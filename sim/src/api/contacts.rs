//! Contacts v3, one contact at a time: `GET` and `PATCH /contacts/v3/{identifier}/{value}`
//! (contacts-v3.json `getContact`, `importContact`: create-or-update with merge options) and
//! `POST /contacts/v3` (`createContact`: create only). Also the contacts family's `400`s, which
//! the contact import shares.
//!
//! Every body problem is answered `400 contacts:badJson` with one `details` entry per problem
//! (`item` = the JSON path). assumed: contacts-v3.json declares a 400 `errorResponse` for the
//! PATCH but names no code for a bad body; `contacts:badJson` ("The request JSON is badly
//! formed", declared on `PUT /contacts/v3/import`) is the closest declared one.

use serde_json::Value;

use super::errors::{contact_not_found, V3Error, BADLY_FORMED};
use super::message::SimResponse;
use crate::clock::iso_now;
use crate::model::{
    read_contact, AccountState, ContactKey, ContactPatch, ContactPolicy, ContactRules, ContactSchema, ContactWrite,
    MergeOption,
};
use crate::settings::ContactConfig;

/// What a single-contact call needs besides the account: the run's body rules and readings,
/// and the simulator-wide contact id counter.
pub(crate) struct ContactContext<'a> {
    pub policy: ContactPolicy,
    pub config: &'a ContactConfig,
    /// Contact ids count up across the whole simulator.
    pub next_contact_id: &'a mut i64,
}

/// `400 contacts:badJson` with this description.
pub(super) fn bad_json(description: &str) -> V3Error {
    V3Error::new(400, "contacts:badJson", description)
}

/// A body that cannot be read as what the call takes: the spec example's description, the
/// reason as the `body` detail.
pub(super) fn badly_formed(why: &str) -> V3Error {
    bad_json(BADLY_FORMED).detail("body", why)
}

fn invalid_id(description: String) -> V3Error {
    V3Error::new(400, "contacts:invalidId", &description)
}

/// Reads a PATCH or POST body, reporting every problem at once.
fn read_body(body: &[u8], rules: &ContactRules) -> Result<ContactPatch, V3Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| badly_formed(&e.to_string()))?;
    let Value::Object(object) = value else { return Err(badly_formed("The contact must be a JSON object")) };
    let (patch, problems) = read_contact(&object, rules);
    let Some((_, first)) = problems.first() else { return Ok(patch) };
    let mut error = bad_json(first);
    for (item, description) in &problems {
        error = error.detail(item, description);
    }
    Err(error)
}

/// The PATCH's `merge-option`. assumed: contacts-v3.json declares only the enum; an unknown
/// value gets `contacts:invalidId`, the PATCH's declared 400 code.
fn merge_option(value: Option<&str>) -> Result<MergeOption, V3Error> {
    MergeOption::parse_query(value).ok_or_else(|| {
        invalid_id(format!(
            "The merge-option value '{}' is invalid; use overwrite, overwrite-if-not-empty or overwrite-if-empty",
            value.unwrap_or_default().to_ascii_lowercase()
        ))
    })
}

/// `GET /contacts/v3/{identifier}/{value}`.
pub(crate) fn get(
    account: &AccountState,
    identifier: &str,
    value: &str,
    config: &ContactConfig,
) -> Result<SimResponse, V3Error> {
    let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
    let contact = account.contacts.find(&key).ok_or_else(|| contact_not_found("contacts", &key))?;
    Ok(SimResponse::json(200, &contact.to_json(&account.account, config.contact_answers_include_lists)))
}

/// `PATCH /contacts/v3/{identifier}/{value}?merge-option=…`: 201 + contact when created,
/// 200 + contact when updated. A new contact takes the next id of the whole simulator.
pub(crate) fn upsert(
    account: &mut AccountState,
    identifier: &str,
    value: &str,
    merge: Option<&str>,
    body: &[u8],
    context: ContactContext,
) -> Result<SimResponse, V3Error> {
    let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
    let merge = merge_option(merge)?;
    let mut patch = read_body(body, &rules(account, context.policy, ContactSchema::Update))?;
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
    let existing = account.contacts.id_of(&key);
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
    write(account, existing, &patch, merge, context)
}

/// `POST /contacts/v3` (contacts-v3.json `createContact`): "Creates a contact if the
/// identifiers passed are unique in the account … otherwise it will fail the call with a
/// 409". 201 + contact; the body is a `createContactRequest`; a new contact's channels
/// default as the PATCH's do.
pub(crate) fn create(account: &mut AccountState, body: &[u8], context: ContactContext) -> Result<SimResponse, V3Error> {
    let patch = read_body(body, &rules(account, context.policy, ContactSchema::Create))?;
    write(account, None, &patch, MergeOption::Overwrite, context)
}

fn rules(account: &AccountState, policy: ContactPolicy, schema: ContactSchema) -> ContactRules<'_> {
    ContactRules { data_fields: &account.account.data_fields, lists: &account.account.lists, policy, schema }
}

/// Writes the contact unless an identifier it asks for is taken; answers it (`201` new, `200`).
fn write(
    account: &mut AccountState,
    existing: Option<i64>,
    patch: &ContactPatch,
    merge: MergeOption,
    context: ContactContext,
) -> Result<SimResponse, V3Error> {
    if let Some((taken, _)) = account.taken_identifier(existing, patch) {
        return Err(identifier_taken(&taken));
    }
    let write = ContactWrite { merge, verified_double: context.config.verified_double, now: iso_now() };
    let (contact, created) = account.write_contact(existing, patch, &write, context.next_contact_id);
    let body = contact.to_json(&account.account, context.config.contact_answers_include_lists);
    Ok(SimResponse::json(if created { 201 } else { 200 }, &body))
}

/// A PATCH by `contactId` that matches nothing and whose body names no email or mobile number:
/// there is nothing to create the contact with (importcontact page: created "using the
/// identifiers supplied in the object in the request body"). assumed: no code is documented for
/// it; `contacts:badJson` naming `identifiers`, as for any other body that cannot be used.
fn no_identifier_to_create(key: &ContactKey) -> V3Error {
    bad_json("A new contact needs identifiers.email or identifiers.mobileNumber").detail(
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
fn identifier_taken(key: &ContactKey) -> V3Error {
    V3Error::new(
        409,
        "contacts:idAlreadyExists",
        &format!(
            "The id value '{}' for the identifier '{}' already exists. All identifiers must be unique!",
            key.value(),
            key.identifier()
        ),
    )
}
