//! Bulk imports: contacts (contacts-v3.json `importContacts`, `getImportStatus`) and
//! contact-scoped insight records (insight-data-v3.json `importInsightData`,
//! `getImportStatus`). The body is built whole by `mapping::import`; the status answer is read
//! by `import_report`.

use serde_json::Value;

/// Contact imports an account may have running at once: the 26th is refused with
/// `429 contacts:tooManyActiveImports` (contacts-v3.json `importContacts`, its 429 example).
pub const MAX_RUNNING_CONTACT_IMPORTS: u32 = 25;
/// Insight imports an account may have running at once
/// (developer.dotdigital.com/reference-link/importinsightdata).
pub const MAX_RUNNING_INSIGHT_IMPORTS: u32 = 5;
/// Contacts per import: about 200 bytes each in the body, so ~4 MB, far under the 50 MB limit
/// ([`crate::mapping::import::MAX_IMPORT_BODY_BYTES`]), and 100,000 contacts take 5 imports:
/// 5 `PUT`s and about 10 status reads, inside the Low tier's 35 calls a minute (Dotdigital's
/// support pages on API rate limits). Magento's 2,000 paces a cron job; a one-off load wants
/// few, large imports.
pub const CONTACTS_PER_IMPORT: u32 = 20_000;
/// Orders per import: a record with lines is ~1 KB, so ~10 MB per import.
pub const ORDERS_PER_IMPORT: u32 = 10_000;
/// The most records an operator may put in one import. Dotdigital documents the body's size,
/// not a record count; a body over 50 MB is refused before it is sent whatever the count.
pub const MAX_RECORDS_PER_IMPORT: u32 = 100_000;

use super::import_report::{import_progress, import_state};
use super::{segment, Session};
use crate::platform::Method;
use crate::wit::{ImportProgress, ImportState, SyncError};

/// Which import service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Import {
    Contacts,
    Insight,
}

impl Import {
    pub fn path(self) -> &'static str {
        match self {
            Import::Contacts => "/contacts/v3/import",
            Import::Insight => "/insightData/v3/import",
        }
    }
}

/// `PUT` the body: 202 with the new import's id.
pub fn start(session: &mut Session, import: Import, body: Vec<u8>) -> Result<String, SyncError> {
    let reply = session.send_encoded(Method::Put, import.path(), body)?;
    if reply.status() != 202 {
        return Err(reply.into_error());
    }
    reply.read(|answer| {
        answer.get("importId").and_then(Value::as_str).map(str::to_string).ok_or("no importId in the answer".into())
    })
}

/// Where the import stands, record by record.
pub fn progress(session: &mut Session, import: Import, import_id: &str) -> Result<ImportProgress, SyncError> {
    read_status(session, import, import_id, |status| import_progress(import, status))
}

/// Where the import stands, counts and failures only.
pub fn state(session: &mut Session, import: Import, import_id: &str) -> Result<ImportState, SyncError> {
    read_status(session, import, import_id, |status| import_state(import, status))
}

/// `GET` an import's status (200), read by `read`.
fn read_status<T>(
    session: &mut Session,
    import: Import,
    import_id: &str,
    read: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<T, SyncError> {
    let reply = session.get(&format!("{}/{}", import.path(), segment(import_id)))?;
    if reply.status() != 200 {
        return Err(reply.into_error());
    }
    reply.read(read)
}
