//! Contacts v3: a contact as one account stores it, its channel settings, and the book that
//! indexes an account's contacts by every identifier.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::account::SimAccount;
use super::identifiers::{country_of_mobile, ContactKey};

/// The first contact id handed out; later ones count up across all accounts.
pub(crate) const FIRST_CONTACT_ID: i64 = 40_000_001;

/// `channelProperties.email.emailType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EmailType {
    Html,
    PlainText,
}

/// `channelProperties.email.optInType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptInType {
    Unknown,
    Single,
    Double,
    VerifiedDouble,
}

/// The status of one channel (email, SMS, WhatsApp), and of the contact as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelStatus {
    NoSubscription,
    Subscribed,
    Unsubscribed,
    PendingOptIn,
    Suppressed,
}

impl EmailType {
    /// The spelling `GET` returns (requests may use any casing).
    pub(crate) fn read_name(self) -> &'static str {
        match self {
            EmailType::Html => "Html",
            EmailType::PlainText => "PlainText",
        }
    }
}

impl OptInType {
    pub(crate) fn read_name(self) -> &'static str {
        match self {
            OptInType::Unknown => "Unknown",
            OptInType::Single => "Single",
            OptInType::Double => "Double",
            OptInType::VerifiedDouble => "VerifiedDouble",
        }
    }
}

impl ChannelStatus {
    pub(crate) fn read_name(self) -> &'static str {
        match self {
            ChannelStatus::NoSubscription => "noSubscription",
            ChannelStatus::Subscribed => "subscribed",
            ChannelStatus::Unsubscribed => "unsubscribed",
            ChannelStatus::PendingOptIn => "pendingOptIn",
            ChannelStatus::Suppressed => "suppressed",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Contact {
    pub id: i64,
    pub email: Option<String>,
    pub mobile_number: Option<String>,
    pub created: String,
    pub updated: String,
    /// Canonical field name → value; a cleared field stays as `Null`.
    pub data_fields: BTreeMap<String, Value>,
    pub email_type: EmailType,
    pub opt_in_type: OptInType,
    pub email_status: ChannelStatus,
    pub sms_status: ChannelStatus,
    pub whatsapp_status: Option<ChannelStatus>,
    pub lists: BTreeSet<u32>,
}

impl Contact {
    /// A contact before its first PATCH is applied. The email channel starts `subscribed`:
    /// contacts-v3.json `channelProperties.email.status`: "if not specified it remains unaltered
    /// for existing contacts, and for new contacts this defaults to **subscribed**". SMS starts
    /// `noSubscription`: its default is an account setting (`channelStatusUpdate`: "defaults to
    /// values defined in Settings > Contacts > Mobile subscription"), which the simulator fixes
    /// at no subscription.
    pub(crate) fn new(id: i64, now: &str) -> Contact {
        Contact {
            id,
            email: None,
            mobile_number: None,
            created: now.to_string(),
            updated: now.to_string(),
            data_fields: BTreeMap::new(),
            email_type: EmailType::Html,
            opt_in_type: OptInType::Unknown,
            email_status: ChannelStatus::Subscribed,
            sms_status: ChannelStatus::NoSubscription,
            whatsapp_status: None,
            lists: BTreeSet::new(),
        }
    }

    /// Whether v2 calls leave the contact alone: "API v2 is email centric … If a contacts email
    /// channel status becomes unsubscribed or suppressed, then updates to the contact via API v2
    /// are not processed" (developer.dotdigital.com/reference/unified-contacts).
    pub(crate) fn ignores_v2_updates(&self) -> bool {
        matches!(self.email_status, ChannelStatus::Unsubscribed | ChannelStatus::Suppressed)
    }

    /// The contact-level status: the email channel's when there is an email, else the SMS one.
    fn status(&self) -> ChannelStatus {
        if self.email.is_some() {
            self.email_status
        } else {
            self.sms_status
        }
    }

    /// The contact's status on each of its lists (contacts-v3.json `contact_lists.status`:
    /// `subscribed | suppressed | pending`). The documents do not say how it follows the
    /// channel; assumed: a suppressed email channel reads `suppressed`, one awaiting double
    /// opt-in `pending`, anything else `subscribed`.
    fn list_status(&self) -> &'static str {
        match self.email_status {
            ChannelStatus::Suppressed => "suppressed",
            ChannelStatus::PendingOptIn => "pending",
            _ => "subscribed",
        }
    }

    /// The contact as `GET /contacts/v3/…` returns it (contacts-v3.json `contact`). With
    /// `include_lists`, `lists` are `[{id, name, status}]` (`contact_lists`), leaving out lists
    /// the account no longer has; without, there is no `lists` key (it is optional in `contact`).
    pub(crate) fn to_json(&self, account: &SimAccount, include_lists: bool) -> Value {
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
                json!({
                    "emailType": self.email_type.read_name(),
                    "optInType": self.opt_in_type.read_name(),
                    "status": self.email_status.read_name(),
                }),
            );
        }
        if let Some(number) = &self.mobile_number {
            channels.insert(
                "sms".into(),
                json!({ "countryCode": country_of_mobile(number), "status": self.sms_status.read_name() }),
            );
        }
        if let Some(status) = self.whatsapp_status {
            channels.insert("whatsApp".into(), json!({ "status": status.read_name() }));
        }
        let mut contact = json!({
            "contactId": self.id,
            "status": self.status().read_name(),
            "created": self.created,
            "updated": self.updated,
            "identifiers": identifiers,
            "dataFields": self.data_fields,
            "channelProperties": channels,
        });
        if include_lists {
            let lists: Vec<Value> = self
                .lists
                .iter()
                .filter_map(|id| account.list(*id))
                .map(|list| json!({ "id": list.id, "name": list.name, "status": self.list_status() }))
                .collect();
            contact["lists"] = Value::Array(lists);
        }
        contact
    }
}

/// A confirmation email Dotdigital sends when verified double opt-in puts a contact's email
/// channel in `pendingOptIn` (contacts-v3.json `optInType`: "the email holder will be sent an
/// email to confirm their subscription"). Recorded for tests; nothing is sent.
#[derive(Clone, Debug)]
pub(crate) struct ConfirmationEmail {
    pub contact_id: i64,
    pub email: String,
    pub sent: String,
}

impl ConfirmationEmail {
    pub(crate) fn to_json(&self) -> Value {
        json!({ "contactId": self.contact_id, "email": self.email, "sent": self.sent })
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

    /// How many contacts are on the list (`ApiAddressBook.contacts`).
    pub(crate) fn members_of(&self, list: u32) -> usize {
        self.by_id.values().filter(|c| c.lists.contains(&list)).count()
    }

    /// Takes the contact off the list: `None` when there is no such contact, `Some(false)` when
    /// it was not on the list.
    pub(crate) fn remove_from_list(&mut self, contact: i64, list: u32, now: &str) -> Option<bool> {
        let contact = self.by_id.get_mut(&contact)?;
        let removed = contact.lists.remove(&list);
        if removed {
            contact.updated = now.to_string();
        }
        Some(removed)
    }

    /// A v2 bulk removal from a list (v2.json `ApiContact_DeleteContactsFromAddressBook`):
    /// contacts v2 does not process ([`Contact::ignores_v2_updates`]) stay on the list, and ids of
    /// contacts not on it, or unknown, are skipped (a background job reports nothing per id).
    pub(crate) fn remove_many_from_list(&mut self, ids: &[i64], list: u32, now: &str) {
        for id in ids {
            if !self.get(*id).is_some_and(Contact::ignores_v2_updates) {
                self.remove_from_list(*id, list, now);
            }
        }
    }

    /// Stores a new or changed contact and re-indexes its identifiers; answers it as stored.
    pub(crate) fn store(&mut self, contact: Contact) -> &Contact {
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
        let id = contact.id;
        self.by_id.insert(id, contact);
        &self.by_id[&id]
    }
}
