//! Contacts v3: the contact book of one account, `PATCH /contacts/v3/{identifier}/{value}`
//! (create-or-update with merge options) and `GET` on the same path.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::clock::iso_now;
use super::config::SimAccount;
use super::contact_body::{parse_contact_patch, ContactPatch, ContactRules};
use super::errors::V3Error;
use super::identifiers::{country_of_mobile, ContactKey};
use super::message::SimResponse;
use super::state::SimState;

/// The first contact id handed out; later ones count up across all accounts.
pub(crate) const FIRST_CONTACT_ID: i64 = 40_000_001;

#[derive(Clone, Debug)]
pub(crate) struct Contact {
    pub id: i64,
    pub email: Option<String>,
    pub mobile_number: Option<String>,
    pub created: String,
    pub updated: String,
    /// Canonical field name → value; a cleared field stays as `Null`.
    pub data_fields: BTreeMap<String, Value>,
    pub email_type: &'static str,
    pub opt_in_type: &'static str,
    pub email_status: &'static str,
    pub sms_status: &'static str,
    pub whatsapp_status: Option<&'static str>,
    pub lists: BTreeSet<u32>,
}

impl Contact {
    /// The contact-level status: the email channel's when there is an email, else the SMS one.
    fn status(&self) -> &'static str {
        let channel = if self.email.is_some() { self.email_status } else { self.sms_status };
        match channel {
            "subscribed" | "unsubscribed" | "pendingOptIn" | "suppressed" | "noSubscription" => channel,
            _ => "suppressed",
        }
    }

    /// The contact as `GET /contacts/v3/…` returns it.
    pub(crate) fn to_json(&self, account: &SimAccount) -> Value {
        let mut identifiers = Map::new();
        if let Some(email) = &self.email {
            identifiers.insert("email".into(), json!(email));
        }
        if let Some(number) = &self.mobile_number {
            identifiers.insert("mobileNumber".into(), json!(number));
        }
        let mut channels = Map::new();
        if self.email.is_some() {
            channels.insert(
                "email".into(),
                json!({ "emailType": self.email_type, "optInType": self.opt_in_type, "status": self.email_status }),
            );
        }
        if let Some(number) = &self.mobile_number {
            channels
                .insert("sms".into(), json!({ "countryCode": country_of_mobile(number), "status": self.sms_status }));
        }
        if let Some(status) = self.whatsapp_status {
            channels.insert("whatsApp".into(), json!({ "status": status }));
        }
        let lists: Vec<Value> = self
            .lists
            .iter()
            .filter(|id| account.lists.contains(id))
            .map(|id| json!({ "id": id, "name": format!("List {id}"), "status": "subscribed" }))
            .collect();
        json!({
            "contactId": self.id,
            "status": self.status(),
            "created": self.created,
            "updated": self.updated,
            "identifiers": identifiers,
            "dataFields": self.data_fields,
            "channelProperties": channels,
            "lists": lists,
        })
    }
}

/// One account's contacts, indexed by every identifier.
#[derive(Default)]
pub(crate) struct ContactBook {
    by_id: BTreeMap<i64, Contact>,
    by_email: HashMap<String, i64>,
    by_mobile_number: HashMap<String, i64>,
}

impl ContactBook {
    pub(crate) fn id_of(&self, key: &ContactKey) -> Option<i64> {
        match key {
            ContactKey::Email(email) => self.by_email.get(&email.to_ascii_lowercase()).copied(),
            ContactKey::MobileNumber(number) => self.by_mobile_number.get(number).copied(),
            ContactKey::ContactId(id) => self.by_id.contains_key(id).then_some(*id),
        }
    }

    pub(crate) fn get(&self, id: i64) -> Option<&Contact> {
        self.by_id.get(&id)
    }

    pub(crate) fn find(&self, key: &ContactKey) -> Option<&Contact> {
        self.id_of(key).and_then(|id| self.by_id.get(&id))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Contact> {
        self.by_id.values()
    }

    /// Stores a new or changed contact and re-indexes its identifiers.
    fn store(&mut self, contact: Contact) {
        if let Some(old) = self.by_id.get(&contact.id) {
            if let Some(email) = &old.email {
                self.by_email.remove(email);
            }
            if let Some(number) = &old.mobile_number {
                self.by_mobile_number.remove(number);
            }
        }
        if let Some(email) = &contact.email {
            self.by_email.insert(email.clone(), contact.id);
        }
        if let Some(number) = &contact.mobile_number {
            self.by_mobile_number.insert(number.clone(), contact.id);
        }
        self.by_id.insert(contact.id, contact);
    }
}

/// `merge-option` of a PATCH (API.md §3b).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MergeOption {
    /// Sent values replace stored ones; `null` clears.
    Overwrite,
    /// Blank incoming values (`null`, empty or whitespace strings) are ignored.
    OverwriteIfNotEmpty,
    /// Only fields that are currently blank are filled.
    OverwriteIfEmpty,
}

impl MergeOption {
    fn parse(value: Option<&str>) -> Result<MergeOption, V3Error> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("overwrite") => Ok(MergeOption::Overwrite),
            Some("overwrite-if-not-empty") => Ok(MergeOption::OverwriteIfNotEmpty),
            Some("overwrite-if-empty") => Ok(MergeOption::OverwriteIfEmpty),
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

fn invalid_id(description: String) -> V3Error {
    V3Error::new(400, "contacts:invalidId", &description)
}

pub(crate) fn contact_not_found(service: &str, key: &ContactKey) -> V3Error {
    V3Error::new(404, &format!("{service}:contactNotFound"), "The following contacts could not be found")
        .detail(&key.value(), &format!("Not found using the identifier '{}'", key.identifier()))
}

/// `GET /contacts/v3/{identifier}/{value}`.
pub(crate) fn get_contact(
    state: &SimState,
    account: usize,
    identifier: &str,
    value: &str,
) -> Result<SimResponse, V3Error> {
    let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
    let account = &state.accounts[account];
    let contact = account.contacts.find(&key).ok_or_else(|| contact_not_found("contacts", &key))?;
    Ok(SimResponse::json(200, &contact.to_json(&account.account)))
}

/// `PATCH /contacts/v3/{identifier}/{value}?merge-option=…`: 201 + contact when created,
/// 200 + contact when updated.
pub(crate) fn patch_contact(
    state: &mut SimState,
    account: usize,
    identifier: &str,
    value: &str,
    merge_option: Option<&str>,
    body: &[u8],
) -> Result<SimResponse, V3Error> {
    let key = ContactKey::from_path(identifier, value).map_err(invalid_id)?;
    let merge = MergeOption::parse(merge_option)?;
    let SimState { accounts, next_contact_id, unknown_data_field, max_string_length, .. } = state;
    let account = &mut accounts[account];
    let rules = ContactRules {
        data_fields: &account.account.data_fields,
        lists: &account.account.lists,
        unknown_data_field: *unknown_data_field,
        max_string_length: *max_string_length,
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

    let existing = account.contacts.id_of(&key);
    if existing.is_none() && matches!(key, ContactKey::ContactId(_)) {
        return Err(contact_not_found("contacts", &key));
    }
    reject_identifier_clash(&account.contacts, existing, &patch)?;

    account.account.data_fields.extend(patch.new_data_fields.iter().cloned());
    let now = iso_now();
    let (mut contact, created) = match existing.and_then(|id| account.contacts.get(id)) {
        Some(contact) => (contact.clone(), false),
        None => {
            let id = *next_contact_id;
            *next_contact_id += 1;
            (new_contact(id, &now), true)
        }
    };
    apply_patch(&mut contact, &patch, if created { MergeOption::Overwrite } else { merge });
    contact.updated = now;
    let body = contact.to_json(&account.account);
    account.contacts.store(contact);
    Ok(SimResponse::json(if created { 201 } else { 200 }, &body))
}

/// 409 when an identifier the body (or path) asks for belongs to another contact.
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

/// A contact before its first PATCH is applied: no subscription until the request gives one.
fn new_contact(id: i64, now: &str) -> Contact {
    Contact {
        id,
        email: None,
        mobile_number: None,
        created: now.to_string(),
        updated: now.to_string(),
        data_fields: BTreeMap::new(),
        email_type: "Html",
        opt_in_type: "Unknown",
        email_status: "noSubscription",
        sms_status: "noSubscription",
        whatsapp_status: None,
        lists: BTreeSet::new(),
    }
}

/// Changes only what the patch sends; merge options govern data fields and identifiers.
fn apply_patch(contact: &mut Contact, patch: &ContactPatch, merge: MergeOption) {
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
    if let Some(status) = patch.email_status {
        // Verified double opt-in sends a confirmation first (contacts-v3 spec).
        contact.email_status =
            if status == "subscribed" && contact.opt_in_type == "VerifiedDouble" { "pendingOptIn" } else { status };
    }
    if let Some(status) = patch.sms_status {
        contact.sms_status = status;
    }
    if let Some(status) = patch.whatsapp_status {
        contact.whatsapp_status = Some(status);
    }
    contact.lists.extend(patch.lists.iter().copied());
}
