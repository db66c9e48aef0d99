//! Merge options: how a PATCH or an import item is written onto a contact that may already hold
//! values. contacts-v3.json names them (`importContact` query `merge-option`: `overwrite`,
//! `overwrite-if-not-empty`, `overwrite-if-empty`; `v3_import_body.mergeOption`: `overwrite`,
//! `overwriteIfNotEmpty`, `overwriteIfEmpty`) without defining them; their meaning is read from
//! v2's names (v2.json `ApiContactMergeOptionTypes`: `Overwrite`, `OnlyOverwriteIfNotEmpty`,
//! `OnlyOverwriteIfContactDataNotPopulated`). Names match in any
//! casing: the spec's own examples send enum values in another casing than the enum
//! (contacts-v3.json `importContacts` example `"emailType": "Html"`).

use serde_json::Value;

use super::contact::{ChannelStatus, Contact, OptInType};
use super::contact_patch::ContactPatch;
use crate::settings::VerifiedDoubleReading;

/// `merge-option` of a PATCH, `mergeOption` of a contact import.
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
    /// The import body's spelling (`overwrite`, `overwriteIfNotEmpty`, `overwriteIfEmpty`).
    pub(crate) fn parse_import(value: &str) -> Option<MergeOption> {
        match value.to_ascii_lowercase().as_str() {
            "overwrite" => Some(MergeOption::Overwrite),
            "overwriteifnotempty" => Some(MergeOption::OverwriteIfNotEmpty),
            "overwriteifempty" => Some(MergeOption::OverwriteIfEmpty),
            _ => None,
        }
    }

    /// The PATCH query's spelling; absent means `overwrite` (the spec's default).
    pub(crate) fn parse_query(value: Option<&str>) -> Option<MergeOption> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("overwrite") => Some(MergeOption::Overwrite),
            Some("overwrite-if-not-empty") => Some(MergeOption::OverwriteIfNotEmpty),
            Some("overwrite-if-empty") => Some(MergeOption::OverwriteIfEmpty),
            Some(_) => None,
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
