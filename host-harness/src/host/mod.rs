//! What the plugin imports from the host: technical logging and persistent data, both
//! scoped to one subscription and one record.

pub mod data;
pub mod log;

use std::sync::Arc;

use crate::runtime::bindings::ipaas::dotdigital::{host, types};
use data::DataStore;
use log::{Level, LogSink};

/// Log lines one call may write; a plugin that logs in a loop cannot flood the host.
const MAX_LOG_LINES_PER_CALL: u32 = 1000;

/// The host side of one call.
pub struct HostContext {
    pub log: LogSink,
    pub data: Arc<DataStore>,
    logged: u32,
}

impl HostContext {
    pub fn new(log: LogSink, data: Arc<DataStore>) -> Self {
        HostContext { log, data, logged: 0 }
    }
}

impl types::Host for HostContext {}

impl host::Host for HostContext {
    fn log(&mut self, level: host::LogLevel, message: String) {
        self.logged = self.logged.saturating_add(1);
        if self.logged > MAX_LOG_LINES_PER_CALL {
            if self.logged == MAX_LOG_LINES_PER_CALL + 1 {
                self.log.emit(
                    Level::Warn,
                    &format!(
                        "the plugin logged more than {MAX_LOG_LINES_PER_CALL} lines in one call: the rest are dropped"
                    ),
                );
            }
            return;
        }
        let level = match level {
            host::LogLevel::Error => Level::Error,
            host::LogLevel::Warn => Level::Warn,
            host::LogLevel::Info => Level::Info,
            host::LogLevel::Debug => Level::Debug,
        };
        self.log.plugin(level, &message);
    }

    fn get_data(&mut self, key: String) -> Option<String> {
        self.data.get(&key)
    }

    fn set_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<(), String> {
        // The contract carries the reason as text; the host keeps the type until here.
        self.data.set(&key, &value, ttl_seconds).map_err(|problem| {
            self.log.emit(Level::Warn, &format!("persistent data not stored: {problem}"));
            problem.to_string()
        })
    }
}
