//! Bulk imports: contacts (contacts-v3.json `importContacts`, `getImportStatus`) and
//! contact-scoped insight records (insight-data-v3.json `importInsightData`,
//! `getImportStatus`). The body is built whole by `mapping::import`; the status answer is read
//! by `import_report`.

use serde_json::Value;

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
    fn path(self) -> &'static str {
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
