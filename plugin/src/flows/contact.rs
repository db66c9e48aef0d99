//! Customer → Dotdigital contact: patched by the contactId iPaaS.com stored, else upserted by
//! email; its data fields typed as the account defines them. External id = `contactId`.

use super::{contact_schema, outcome, upsert_contact, validated_settings};
use crate::dotdigital::Session;
use crate::mapping::contact::customer_contact;
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
