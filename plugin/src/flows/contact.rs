//! Customer → Dotdigital contact, upserted by email. External id = `contactId`.

use super::{outcome, upsert_contact, validated_settings};
use crate::dotdigital::Session;
use crate::mapping::contact::contact_from_customer;
use crate::platform::{LogLevel, Platform};
use crate::wit::{Customer, Settings as RawSettings, SyncAction, SyncError, SyncOutcome};

pub fn sync_contact(platform: &dyn Platform, raw: &RawSettings, customer: &Customer) -> Result<SyncOutcome, SyncError> {
    let settings = validated_settings(raw)?;
    let upsert = contact_from_customer(&settings, customer).map_err(SyncError::InvalidRecord)?;
    let mut session = Session::open(platform, &settings)?;
    let contact = upsert_contact(&mut session, &upsert)?;
    let action = if contact.created { SyncAction::Created } else { SyncAction::Updated };
    platform.log(LogLevel::Info, &format!("customer {} → contact {} ({action:?})", customer.id, contact.contact_id));
    let mut messages = upsert.notes;
    messages.extend(contact.notes);
    Ok(outcome(contact.contact_id.to_string(), action, session.calls(), messages))
}
