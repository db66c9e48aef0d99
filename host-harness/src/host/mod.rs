//! What the plugin imports from the host: technical logging and persistent data, both
//! scoped to one subscription and one record.

pub mod data;
pub mod log;

use std::sync::Arc;

use crate::runtime::bindings::ipaas::dotdigital::{host, types};
use data::DataStore;
use log::{Level, LogSink};

/// Log lines one call may write (the plugin's, and the host's about what the plugin did); a
/// plugin that logs or misbehaves in a loop cannot flood the host.
pub const MAX_LOG_LINES_PER_CALL: u32 = 1000;

/// The host side of one call.
pub struct HostContext {
    /// The call's own sink: every clone (the outbound hooks hold one) spends the same budget.
    pub log: LogSink,
    /// Its work is the call's CPU (it runs inside the call's poll); a wait for another
    /// process's lock sleeps, and costs nothing.
    pub data: Arc<DataStore>,
}

impl HostContext {
    pub fn new(log: LogSink, data: Arc<DataStore>) -> Self {
        HostContext { log: log.for_call(MAX_LOG_LINES_PER_CALL), data }
    }
}

impl HostContext {
    /// The state database outlives the run and is copied around: a key or value holding one
    /// of the subscription's secrets (as the redactor knows them, Basic credentials included)
    /// is refused, never stored. A component set on hiding the password can still disguise
    /// it (the README says so); this stops the plain and the accidental case.
    fn refuse_secrets(&self, key: &str, value: &str) -> Result<(), String> {
        let redactor = self.log.redactor();
        if redactor.apply(key) != key || redactor.apply(value) != value {
            let problem = "refused: the key or value holds one of the subscription's secrets";
            self.log.call_event(Level::Warn, &format!("persistent data {problem}"));
            return Err(problem.into());
        }
        Ok(())
    }
}

impl types::Host for HostContext {}

impl host::Host for HostContext {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let level = match level {
            host::LogLevel::Error => Level::Error,
            host::LogLevel::Warn => Level::Warn,
            host::LogLevel::Info => Level::Info,
            host::LogLevel::Debug => Level::Debug,
        };
        self.log.plugin(level, &message);
    }

    fn get_data(&mut self, key: String) -> Option<String> {
        // The contract has no error here: an unreadable value reads as absent, and the
        // certificate flow's claim (a write) still refuses a second send.
        self.data.get(&key).unwrap_or_else(|problem| {
            self.log.call_event(
                Level::Warn,
                &log::clip(&format!("persistent data not read: {problem}"), MAX_REFUSAL_CHARS),
            );
            None
        })
    }

    fn set_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<(), String> {
        self.refuse_secrets(&key, &value)?;
        // The contract carries the reason as text; the host keeps the type until here.
        self.data.set(&key, &value, ttl_seconds).map_err(|problem| {
            self.log.call_event(
                Level::Warn,
                &log::clip(&format!("persistent data not stored: {problem}"), MAX_REFUSAL_CHARS),
            );
            problem.to_string()
        })
    }

    fn claim_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<bool, String> {
        self.refuse_secrets(&key, &value)?;
        self.data.claim(&key, &value, ttl_seconds).map_err(|problem| {
            self.log.call_event(
                Level::Warn,
                &log::clip(&format!("persistent data not claimed: {problem}"), MAX_REFUSAL_CHARS),
            );
            problem.to_string()
        })
    }
}

/// A refusal's text names what the component sent: a line's worth of it is logged.
const MAX_REFUSAL_CHARS: usize = 500;
