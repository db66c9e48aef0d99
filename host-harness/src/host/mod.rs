//! The services behind what the plugin imports: technical logging (the sink and its
//! redactor) and persistent data (one SQLite database per subscription). They know nothing
//! of the runtime; `runtime::call` implements the WIT imports on top of them.

pub mod data;
pub mod log;
