//! The harness's domain error: why a record failed, whoever decided it (the input, the
//! sandbox, the component, Dotdigital through the component). Retries decide on it; `output.rs`
//! writes it.

use crate::input::NotJson;
use crate::records::RecordError;
use crate::runtime::bindings::SyncError;
use crate::runtime::PluginFault;

/// Why a record (or a validation) failed, as the stdout contract reports it: the type
/// decides the `kind`.
#[derive(Debug)]
pub enum Failure {
    /// The input text is not JSON: kind `input`.
    NotJson(NotJson),
    /// The record holds a value of the wrong type: kind `input`.
    Record(RecordError),
    /// The plugin trapped, or ran out of a limit or of time: kind `plugin-fault`.
    Fault(PluginFault),
    /// The plugin's own typed answer: kind = the WIT variant name.
    Sync(SyncError),
    /// The plugin's answer from a call in which the sandbox refused a request: its kind, and
    /// `"denied": true`. Final: a refusal does not go away by asking again.
    Denied(SyncError),
}

impl Failure {
    /// The `kind` the stdout contract names it by.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::NotJson(_) | Failure::Record(_) => "input",
            Failure::Fault(_) => "plugin-fault",
            Failure::Sync(error) | Failure::Denied(error) => sync_kind(error),
        }
    }
}

/// The WIT variant name of a `sync-error`.
pub fn sync_kind(error: &SyncError) -> &'static str {
    match error {
        SyncError::InvalidSettings(_) => "invalid-settings",
        SyncError::InvalidRecord(_) => "invalid-record",
        SyncError::Unauthorized(_) => "unauthorized",
        SyncError::Forbidden(_) => "forbidden",
        SyncError::RateLimited(_) => "rate-limited",
        SyncError::Rejected(_) => "rejected",
        SyncError::Unavailable(_) => "unavailable",
        SyncError::Transport(_) => "transport",
    }
}
