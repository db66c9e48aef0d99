//! Customer → Dotdigital contact: patched by the contactId iPaaS.com stored, else upserted by
//! email; its data fields typed as the account defines them. External id = `contactId`.
//!
//! The contact write ([`upsert_contact`]) is also how an order or a certificate creates the
//! contact it belongs to.

use serde_json::Value;

use super::contact_schema::contact_schema;
use super::{outcome, validated_settings};
use crate::dotdigital::contacts::{self, without_mobile, Contact, MobileNumber, Write, Written};
use crate::dotdigital::lists::{self, Removal};
use crate::dotdigital::{Reply, Session};
use crate::mapping::contact::{customer_contact, ContactUpsert};
use crate::platform::{LogLevel, Platform};
use crate::wit::{Customer, Settings as RawSettings, SyncAction, SyncError, SyncOutcome};

pub fn sync_contact(platform: &dyn Platform, raw: &RawSettings, customer: &Customer) -> Result<SyncOutcome, SyncError> {
    let settings = validated_settings(raw)?;
    // Everything the record alone decides is checked before any request.
    let contact = customer_contact(&settings, customer).map_err(SyncError::InvalidRecord)?;
    let mut session = Session::open(platform, &settings)?;
    let (names, mappings) = contact_schema(&mut session, &settings)?;
    let upsert = contact.upsert(&settings, names, &mappings).map_err(SyncError::InvalidRecord)?;
    let written = upsert_contact(&mut session, &upsert)?;
    let (action, word) =
        if written.created { (SyncAction::Created, "created") } else { (SyncAction::Updated, "updated") };
    platform.log(LogLevel::Info, &format!("customer {} → contact {} ({word})", customer.id, written.contact_id));
    let mut messages = upsert.notes;
    messages.extend(written.notes);
    Ok(outcome(written.contact_id.to_string(), action, session.calls(), messages))
}

/// The contact as Dotdigital answered the upsert.
pub struct UpsertedContact {
    pub contact_id: i64,
    pub created: bool,
    /// What was left out or changed on the way, for the outcome's messages.
    pub notes: Vec<String>,
}

/// Writes the contact: by the contactId iPaaS.com stored (so a changed email updates the same
/// contact), else by email (after a create-only POST for `verifiedDouble`, see [`by_email`]).
/// Then an explicit no to marketing consent takes it out of the marketing lists.
///
/// The stored contact may be gone. Dotdigital then creates a new one from the PATCH, whose id
/// becomes the external id; or answers 409 because the email is another contact's, which is
/// only a clash needing a person when the stored contact still exists (see [`clash`]).
pub fn upsert_contact(session: &mut Session, upsert: &ContactUpsert) -> Result<UpsertedContact, SyncError> {
    let mut notes = Vec::new();
    let written = match upsert.contact_id {
        None => by_email(session, upsert, Match::MayBeNew, &mut notes)?,
        Some(id) => by_stored_id(session, upsert, id, &mut notes)?,
    };
    leave_lists(session, &written.contact, &upsert.leave_lists, &mut notes)?;
    Ok(UpsertedContact { contact_id: written.contact.id, created: written.created, notes })
}

/// The PATCH by the stored contactId, and what its answer asks for.
fn by_stored_id(
    session: &mut Session,
    upsert: &ContactUpsert,
    id: u32,
    notes: &mut Vec<String>,
) -> Result<Written, SyncError> {
    match contacts::patch_by_id(session, i64::from(id), upsert.merge_option, &upsert.body)? {
        Write::Created(contact) => {
            notes.push(format!(
                "contact {id} (stored for this customer) no longer exists in Dotdigital: \
                 Dotdigital created contact {} for the customer",
                contact.id
            ));
            Ok(Written { contact, created: true })
        }
        Write::NotFound(_) => {
            notes.push(format!(
                "contact {id} (stored for this customer) no longer exists in Dotdigital: matched by email instead"
            ));
            by_email(session, upsert, Match::MayBeNew, notes)
        }
        Write::Taken { owner, answer } => clash(session, upsert, id, (owner, answer), notes),
        Write::Updated(contact) => {
            if let Some(kind) = upsert.held_back_opt_in {
                notes.push(held_back(kind));
            }
            Ok(Written { contact, created: false })
        }
    }
}

/// An identifier in the body is another contact's: the email, or the mobile number. Whose
/// contact is this customer's now decides which. When the stored contact is gone, the
/// email's contact is updated and becomes the external id; when it exists, a retry without
/// the mobile number tells the two apart, and a taken email is the sync's error.
fn clash(
    session: &mut Session,
    upsert: &ContactUpsert,
    id: u32,
    (owner, answer): (Option<i64>, Reply),
    notes: &mut Vec<String>,
) -> Result<Written, SyncError> {
    let Some(stored) = contacts::get_by_id(session, i64::from(id))? else {
        let written = by_email(session, upsert, Match::Exists, notes)?;
        notes.push(format!(
            "contact {id} (stored for this customer) no longer exists in Dotdigital, and the \
             customer's email belongs to contact {}: that contact was updated",
            written.contact.id
        ));
        return Ok(written);
    };
    if let Some((number, body)) = without_mobile(&upsert.body) {
        match contacts::patch_by_id(session, i64::from(id), upsert.merge_option, &body)? {
            Write::Taken { .. } => {}
            retry => {
                notes.push(mobile_taken(&number));
                return retry.written();
            }
        }
    }
    // The email is another contact's. The customer's own contact still takes an explicit no,
    // before the clash is reported.
    leave_lists(session, &stored, &upsert.leave_lists, notes)?;
    let owner = owner.or_else(|| contacts::owner_of(session, &upsert.email));
    Err(email_taken(answer, id, &upsert.email, owner))
}

/// What is known of the contact an upsert by email finds.
#[derive(Clone, Copy, PartialEq)]
enum Match {
    /// It may be new: the subscription's opt-in type goes along (`verifiedDouble` via a create).
    MayBeNew,
    /// Dotdigital just said the email has a contact: only the record's own opt-in type.
    Exists,
}

/// The upsert by email. With `verifiedDouble`, which may only reach a contact being created,
/// the contact is first created with the create-only POST; a 409 means it exists, and the
/// PATCH updates it without that type.
/// The create carries no mobile number, so that its 409 can only mean the email (a shared
/// household phone is often another contact's); a new contact gets the number in a second
/// call, which a retry repeats safely as the PATCH of an existing contact.
fn by_email(
    session: &mut Session,
    upsert: &ContactUpsert,
    found: Match,
    notes: &mut Vec<String>,
) -> Result<Written, SyncError> {
    let mut body = &upsert.email_body;
    match (&upsert.create, found) {
        (_, Match::Exists) => body = &upsert.body,
        (Some(create), Match::MayBeNew) => {
            let (mobile, create) = match without_mobile(create) {
                Some((number, create)) => (Some(number), create),
                None => (None, create.clone()),
            };
            match (contacts::create(session, &create)?, mobile) {
                (Write::Taken { .. }, _) => notes.push(held_back("verifiedDouble")),
                (Write::Created(contact), Some(number)) => {
                    add_mobile(session, contact.id, number, notes)?;
                    return Ok(Written { contact, created: true });
                }
                (other, _) => return other.written(),
            }
        }
        (None, Match::MayBeNew) => {}
    }
    if found == Match::Exists {
        if let Some(kind) = upsert.held_back_opt_in {
            notes.push(held_back(kind));
        }
    }
    patch_by_email(session, upsert, body, notes)
}

/// One PATCH by email. A 409 means an identifier in the body belongs to another contact. The
/// path names the contact, so the only other identifier we send is the mobile number (often
/// a shared household phone): drop it, say so, and patch once more rather than lose the
/// whole customer.
fn patch_by_email(
    session: &mut Session,
    upsert: &ContactUpsert,
    body: &Value,
    notes: &mut Vec<String>,
) -> Result<Written, SyncError> {
    let write = contacts::patch_by_email(session, &upsert.email, upsert.merge_option, body)?;
    match (write, without_mobile(body)) {
        (Write::Taken { .. }, Some((number, body))) => {
            notes.push(mobile_taken(&number));
            contacts::patch_by_email(session, &upsert.email, upsert.merge_option, &body)?.written()
        }
        (write, _) => write.written(),
    }
}

fn held_back(kind: &str) -> String {
    format!(
        "opt-in type {kind} not written: the contact already exists in Dotdigital, and {kind} would send it \
         a confirmation email and hold its email as pendingOptIn until confirmed"
    )
}

/// Sets a new contact's mobile number; another contact holding it is a note.
fn add_mobile(session: &mut Session, contact_id: i64, number: Value, notes: &mut Vec<String>) -> Result<(), SyncError> {
    if contacts::set_mobile(session, contact_id, &number)? == MobileNumber::HeldByAnother {
        notes.push(mobile_taken(&number));
    }
    Ok(())
}

fn mobile_taken(number: &Value) -> String {
    format!(
        "mobile number {} belongs to another Dotdigital contact: not set on this one",
        number.as_str().unwrap_or_default()
    )
}

/// The 409 of a patch by contactId: the customer's new email is another contact's.
fn email_taken(answer: Reply, id: u32, email: &str, other: Option<i64>) -> SyncError {
    let owner = match other {
        Some(other) => format!("Dotdigital contact {other}"),
        None => "another Dotdigital contact (Dotdigital's answer does not say which)".to_string(),
    };
    answer.rejected(format!(
        "the customer's email {email} belongs to {owner}, not to contact {id} stored for this customer: \
         merge the two contacts in Dotdigital, or correct the email in iPaaS.com"
    ))
}

/// An explicit no to marketing consent: each marketing list is left, whatever the contact's
/// answer carries. When the answer names the contact's lists, only those are left; when it
/// does not, every marketing list is asked, and "not on it" is no news.
///
/// Dotdigital does not process v2 list changes for an unsubscribed or suppressed email. The
/// removal is still asked (the record said no); one Dotdigital refuses for that reason is said
/// in the outcome, never a failed sync (the contact was written, and it receives no marketing
/// email anyway). Any other refusal is the sync's error, so the withdrawal is never silently
/// lost.
fn leave_lists(
    session: &mut Session,
    contact: &Contact,
    leave: &[u32],
    notes: &mut Vec<String>,
) -> Result<(), SyncError> {
    let on_list = |list: u32| contact.lists.as_ref().is_none_or(|lists| lists.contains(&i64::from(list)));
    for &list in leave.iter().filter(|&&list| on_list(list)) {
        let note = match lists::leave(session, list, contact.id)? {
            Removal::Removed if contact.takes_v2_list_changes() => {
                format!("removed from marketing list {list}: no marketing consent")
            }
            Removal::Removed => format!(
                "no marketing consent: removal from marketing list {list} asked, but the contact's email is {}, \
                 for which Dotdigital may not process list changes",
                contact.email_status.as_deref().unwrap_or_default()
            ),
            Removal::NotOnList(_) if contact.lists.is_none() => continue,
            Removal::NotOnList(why) | Removal::Refused(why) => format!(
                "no marketing consent, but Dotdigital did not remove the contact from marketing list {list} \
                 ({why}): it does not process list changes for an unsubscribed or suppressed email, which \
                 receives no marketing email"
            ),
        };
        notes.push(note);
    }
    Ok(())
}
