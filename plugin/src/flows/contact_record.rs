//! An insight record on a contact, shared by the order and certificate flows: the PUT
//! creates neither the contact nor the collection, so the flow does what the API's 404s ask:
//! create the missing one, then repeat the PUT (both are upserts, so a host retry at any
//! point is safe).

use super::contact::upsert_contact;
use super::contact_schema::name_fields;
use crate::dotdigital::insight::{self, Put, RecordTarget};
use crate::dotdigital::Session;
use crate::mapping::contact::ContactUpsert;
use crate::mapping::data_fields::NameFields;
use crate::wit::SyncError;

/// PUTs the record, creating the collection when Dotdigital says it is missing, and the
/// contact too when `contact` says how (`None`: a missing contact is `rejected`). Returns
/// whether the record is new (201) rather than replaced (204).
pub fn put_contact_record(
    session: &mut Session,
    target: &RecordTarget,
    record: &serde_json::Value,
    messages: &mut Vec<String>,
    contact: Option<&dyn Fn(NameFields) -> ContactUpsert>,
) -> Result<bool, SyncError> {
    let mut fixed_contact = false;
    let mut fixed_collection = false;
    // Contact and collection may each be missing once, so this runs at most three times.
    loop {
        match insight::put_record(session, target, record)? {
            Put::Created => return Ok(true),
            Put::Replaced => return Ok(false),
            Put::NoContact(answer) if !fixed_contact => {
                let Some(contact) = contact else {
                    return Err(contact_required(answer.into_error(), target.email));
                };
                fixed_contact = true;
                create_contact(session, target.email, messages, contact)?;
            }
            Put::NoCollection(_) if !fixed_collection => {
                fixed_collection = true;
                insight::create_collection(session, target.collection, target.collection_type)?;
                messages.push(format!("collection {} created", target.collection));
            }
            Put::NoContact(answer) | Put::NoCollection(answer) => return Err(answer.into_error()),
        }
    }
}

/// The contact is missing and the subscription does not let an order create it.
fn contact_required(error: SyncError, email: &str) -> SyncError {
    match error {
        SyncError::Rejected(mut remote) => {
            remote.message = format!(
                "Dotdigital has no contact with the email {email}, and order_contacts is `require`: \
                 sync the customer first, then this order"
            );
            SyncError::Rejected(remote)
        }
        other => other,
    }
}

/// Creates the contact a record belongs to, once Dotdigital has said it is missing: the
/// account's name fields (cached for a day), then the upsert.
pub fn create_contact(
    session: &mut Session,
    email: &str,
    messages: &mut Vec<String>,
    contact: impl Fn(NameFields) -> ContactUpsert,
) -> Result<(), SyncError> {
    let upsert = contact(name_fields(session)?);
    let upserted = upsert_contact(session, &upsert)?;
    messages.push(format!("contact {} created for {email}", upserted.contact_id));
    messages.extend(upsert.notes);
    Ok(())
}
