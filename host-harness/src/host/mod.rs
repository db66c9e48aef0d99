//! The services behind what the plugin imports: technical logging (the sink and its
//! redactor) and persistent data (a SQLite file per state directory, or a PostgreSQL
//! database). They know nothing of the runtime; `runtime::call` implements the WIT imports on
//! top of them.

pub mod data;
pub mod log;
