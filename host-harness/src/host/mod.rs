//! What the plugin imports from the host: technical logging and persistent data, both
//! scoped to one subscription and one record.

pub mod data;
pub mod log;

use std::sync::Arc;

use crate::runtime::bindings::ipaas::dotdigital::{host, types};
use data::DataStore;
use log::{Level, LogSink};

/// The host side of one call.
pub struct HostContext {
    pub log: LogSink,
    pub data: Arc<DataStore>,
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
        self.data.get(&key)
    }

    fn set_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<(), String> {
        self.data.set(&key, &value, ttl_seconds).inspect_err(|problem| {
            self.log.emit(Level::Warn, &format!("persistent data not stored: {problem}"));
        })
    }
}
