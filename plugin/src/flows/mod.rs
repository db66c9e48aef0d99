//! One flow per record kind: validate → resolve the region → call → interpret. Flows hold no
//! mapping rules (see `mapping`) and no HTTP details (see `dotdigital`): they decide what to
//! do with each typed answer. What several flows share has a file of its own
//! (`contact_schema`, `contact_record`); every flow starts and ends with the two helpers here.

pub mod certificate;
pub mod connection;
pub mod contact;
pub mod contact_record;
pub mod contact_schema;
pub mod import;
pub mod order;

#[cfg(test)]
mod tests;

use crate::settings::Settings;
use crate::wit::{SyncAction, SyncError, SyncOutcome};

/// Settings first: a bad subscription fails every record the same way, before any call.
pub fn validated_settings(raw: &crate::wit::Settings) -> Result<Settings, SyncError> {
    Settings::validate(raw).map_err(SyncError::InvalidSettings)
}

pub fn outcome(
    external_id: impl Into<String>,
    action: SyncAction,
    session_calls: u32,
    messages: Vec<String>,
) -> SyncOutcome {
    SyncOutcome { external_id: external_id.into(), action, api_calls: session_calls, messages }
}
