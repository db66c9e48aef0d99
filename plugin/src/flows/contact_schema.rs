//! What a contact may carry in this account, for every flow that writes contacts: the name
//! fields the account has and the mapped data fields with their types.

use crate::dotdigital::data_fields::{account_fields, fetch, Freshness};
use crate::dotdigital::Session;
use crate::mapping::data_fields::{NameFields, TypedMapping};
use crate::settings::Settings;
use crate::wit::SyncError;

/// A customer's contact schema. A mapping to a field the cached list lacks reads the list
/// again before calling the settings wrong (the field may be a few hours old).
pub fn contact_schema(
    session: &mut Session,
    settings: &Settings,
) -> Result<(NameFields, Vec<TypedMapping>), SyncError> {
    let (mut fields, freshness) = account_fields(session)?;
    let mut typed = fields.typed_mappings(&settings.data_field_map);
    if typed.is_err() && freshness == Freshness::Cached {
        fields = fetch(session)?;
        typed = fields.typed_mappings(&settings.data_field_map);
    }
    Ok((fields.name_fields(), typed.map_err(SyncError::InvalidSettings)?))
}

/// The name fields of the account, for contacts made for an order or a certificate.
pub fn name_fields(session: &mut Session) -> Result<NameFields, SyncError> {
    Ok(account_fields(session)?.0.name_fields())
}
