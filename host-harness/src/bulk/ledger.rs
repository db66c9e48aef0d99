//! The bulk ledger: what each batch of a load became, in the state database beside the
//! subscription's data. A batch's row is written when Dotdigital accepted its import (with
//! the import id, so a resumed run polls it instead of sending it again) and again when the
//! import finished (with its counts and failures), each write one committed transaction.
//! When the whole load finished, that is recorded too (`bulk_loads`): a run of the same load
//! then says so instead of replaying it silently, and the load's rows are pruned
//! [`FINISHED_LOADS_KEPT`] after it finished.
//!
//! A batch's row keeps when its import was started (the database's clock), so an import's age
//! counts across runs, and the error of an import that failed as a whole once, for all its
//! records. Every text of the component's in a row is redacted before it is stored.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::data::{DataError, DataStore};

/// A record that went into an import: its position in the input, its id, and the key the
/// import report names it by; once the report is read, what became of it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub record: usize,
    pub id: String,
    /// The line of the input file the record starts on.
    #[serde(default)]
    pub line: usize,
    pub key: String,
    /// The component asked for it to leave the marketing lists after the import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaves_marketing_lists: bool,
    /// Sent matched by the contact id iPaaS.com stored for it (only such a record can be one
    /// whose stored id Dotdigital no longer knows).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stored_id: bool,
    /// Not imported: the component asked for it to be sent again without its stored id.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry_without_stored_id: bool,
    /// Not sent: the flow does not sync this record, or a later record of the input holds
    /// the same key (its output line says `skipped`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Not sent: the input position of the later record of the same key that was sent instead
    /// (its line carries that record's external id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<usize>,
    /// From the report: the external id and action of its output line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

/// A record that failed, with its output line's `error` object.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordFailure {
    pub record: usize,
    pub id: String,
    /// The line of the input file the record starts on.
    #[serde(default)]
    pub line: usize,
    /// Its own error; `None`: its batch's ([`BatchRow::import_error`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// Where a batch stands.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchState {
    /// Dotdigital accepted the import; its report is not read yet.
    Started { import_id: String },
    /// Its report is read (or nothing in it needed sending): counts and failures are final.
    Finished,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    pub state: BatchState,
    /// Import `PUT`s this batch took, across runs (one, unless a run died before recording).
    pub imports: u32,
    pub entries: Vec<Entry>,
    pub failures: Vec<RecordFailure>,
    pub skipped: u32,
    pub created: u32,
    pub updated: u32,
    /// When its import was started (Unix seconds, the database's clock; `None` in a row of an
    /// older harness, or of a batch that sent nothing).
    pub started_at: Option<i64>,
    /// The error of an import that failed as a whole: stored once, for every record it held.
    pub import_error: Option<Value>,
}

impl BatchRow {
    /// A failure's output `error`: its own, or its batch's.
    pub fn error_of<'a>(&'a self, failure: &'a RecordFailure) -> &'a Value {
        static NONE: Value = Value::Null;
        failure.error.as_ref().or(self.import_error.as_ref()).unwrap_or(&NONE)
    }
}

/// How long the ledger of a finished load is kept: a run of the same input within it says
/// the load is already done (and sends nothing); after it, the rows are deleted when a bulk
/// run opens the ledger, so the state database does not grow with every load ever made. A
/// month covers a re-run by mistake; a load stopped part-way is never pruned (it may resume).
pub const FINISHED_LOADS_KEPT: Duration = Duration::from_secs(30 * 24 * 3600);

/// A finished load: when (RFC 3339, UTC), and the message its marketing-list removal gave.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedLoad {
    pub at: String,
    pub removal: Option<String>,
}

/// One load's rows: a load is a flow over one input's exact bytes, cut in batches of one size.
pub struct Ledger {
    data: Arc<DataStore>,
    load: String,
}

impl Ledger {
    pub fn new(data: Arc<DataStore>, load: String) -> Ledger {
        Ledger { data, load }
    }

    pub fn get(&self, phase: &str, batch: usize) -> Result<Option<BatchRow>, DataError> {
        self.data.ledger(|tx, subscription| {
            tx.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 \
                          AND batch = ?4"
                ),
                params![subscription, self.load, phase, batch as i64],
                read_row,
            )
            .optional()
        })
    }

    pub fn put(&self, phase: &str, batch: usize, row: &BatchRow) -> Result<(), DataError> {
        let (state, import_id) = match &row.state {
            BatchState::Started { import_id } => ("started", Some(import_id.as_str())),
            BatchState::Finished => ("finished", None),
        };
        let entries = serde_json::to_string(&row.entries).expect("entries serialise");
        let failures = serde_json::to_string(&row.failures).expect("failures serialise");
        let import_error = row.import_error.as_ref().map(Value::to_string);
        self.data.ledger(|tx, subscription| {
            tx.execute(
                "INSERT OR REPLACE INTO bulk_batches \
                 (subscription, load, phase, batch, state, import_id, imports, entries, failures, skipped, created, updated, \
                  started_at, import_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    subscription,
                    self.load,
                    phase,
                    batch as i64,
                    state,
                    import_id,
                    row.imports,
                    entries,
                    failures,
                    row.skipped,
                    row.created,
                    row.updated,
                    row.started_at,
                    import_error
                ],
            )
            .map(drop)
        })
    }

    /// Every batch of a phase, in batch order.
    pub fn all(&self, phase: &str) -> Result<Vec<BatchRow>, DataError> {
        self.data.ledger(|tx, subscription| {
            let mut statement = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 ORDER BY batch"
            ))?;
            let rows = statement.query_map(params![subscription, self.load, phase], read_row)?;
            rows.collect()
        })
    }

    /// Now, by the clock [`BatchRow::started_at`] is read with (Unix seconds).
    pub fn now(&self) -> Result<i64, DataError> {
        self.data.ledger(|tx, _| tx.query_row("SELECT unixepoch()", [], |row| row.get(0)))
    }

    /// Forgets one batch: the next run sends it again.
    pub fn forget_batch(&self, phase: &str, batch: usize) -> Result<usize, DataError> {
        self.data.ledger(|tx, subscription| {
            tx.execute(
                "DELETE FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 AND batch = ?4",
                params![subscription, self.load, phase, batch as i64],
            )
        })
    }

    /// Forgets this load (`--restart`): every batch is sent again.
    pub fn forget(&self) -> Result<usize, DataError> {
        self.data.ledger(|tx, subscription| {
            tx.execute(
                "DELETE FROM bulk_loads WHERE subscription = ?1 AND load = ?2",
                params![subscription, self.load],
            )?;
            tx.execute(
                "DELETE FROM bulk_batches WHERE subscription = ?1 AND load = ?2",
                params![subscription, self.load],
            )
        })
    }

    /// Records that the load finished, now (once: a later run keeps the first time).
    pub fn finish(&self, removal: Option<&str>) -> Result<(), DataError> {
        self.data.ledger(|tx, subscription| {
            tx.execute(
                "INSERT OR IGNORE INTO bulk_loads (subscription, load, finished_at, removal) \
                 VALUES (?1, ?2, unixepoch(), ?3)",
                params![subscription, self.load, removal],
            )
            .map(drop)
        })
    }

    /// When the load finished, if it did.
    pub fn finished(&self) -> Result<Option<FinishedLoad>, DataError> {
        self.data.ledger(|tx, subscription| {
            tx.query_row(
                "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', finished_at, 'unixepoch'), removal FROM bulk_loads \
                 WHERE subscription = ?1 AND load = ?2",
                params![subscription, self.load],
                |row| Ok(FinishedLoad { at: row.get(0)?, removal: row.get(1)? }),
            )
            .optional()
        })
    }

    /// Deletes every load of the database that finished longer than `kept` ago (any
    /// subscription's: the file is shared, and an old load is nobody's business any more).
    /// Returns how many loads were pruned.
    pub fn prune(&self, kept: Duration) -> Result<usize, DataError> {
        let kept = i64::try_from(kept.as_secs()).unwrap_or(i64::MAX);
        self.data.ledger(|tx, _| {
            tx.execute(
                "DELETE FROM bulk_batches WHERE EXISTS (SELECT 1 FROM bulk_loads AS l \
                 WHERE l.subscription = bulk_batches.subscription AND l.load = bulk_batches.load \
                 AND l.finished_at <= unixepoch() - ?1)",
                params![kept],
            )?;
            tx.execute("DELETE FROM bulk_loads WHERE finished_at <= unixepoch() - ?1", params![kept])
        })
    }
}

/// The columns [`read_row`] reads, in its order.
const COLUMNS: &str =
    "state, import_id, imports, entries, failures, skipped, created, updated, started_at, import_error";

fn read_row(row: &rusqlite::Row) -> rusqlite::Result<BatchRow> {
    let state: String = row.get(0)?;
    let import_id: Option<String> = row.get(1)?;
    let json = |index: usize| -> rusqlite::Result<String> { row.get(index) };
    let corrupt = |index: usize, e: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    };
    let entries = serde_json::from_str(&json(3)?).map_err(|e| corrupt(3, e))?;
    let failures = serde_json::from_str(&json(4)?).map_err(|e| corrupt(4, e))?;
    let import_error: Option<String> = row.get(9)?;
    let import_error = import_error.map(|text| serde_json::from_str(&text).map_err(|e| corrupt(9, e))).transpose()?;
    let state = match (state.as_str(), import_id) {
        ("started", Some(import_id)) => BatchState::Started { import_id },
        _ => BatchState::Finished,
    };
    Ok(BatchRow {
        state,
        imports: row.get(2)?,
        entries,
        failures,
        skipped: row.get(5)?,
        created: row.get(6)?,
        updated: row.get(7)?,
        started_at: row.get(8)?,
        import_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_round_trip_and_are_scoped_by_load() {
        let data = Arc::new(DataStore::in_memory("Shop").unwrap());
        let ledger = Ledger::new(data.clone(), "contacts:abc:100".into());
        let other = Ledger::new(data, "contacts:def:100".into());
        let row = BatchRow {
            state: BatchState::Started { import_id: "imp-1".into() },
            imports: 1,
            entries: vec![Entry { record: 3, id: "c3".into(), key: "a@example.com".into(), ..Entry::default() }],
            failures: vec![RecordFailure {
                record: 4,
                id: "c4".into(),
                line: 4,
                error: Some(json!({"kind": "invalid-record"})),
            }],
            skipped: 0,
            created: 0,
            updated: 0,
            started_at: Some(ledger.now().unwrap()),
            import_error: None,
        };
        ledger.put("contacts", 0, &row).unwrap();
        assert_eq!(ledger.get("contacts", 0).unwrap(), Some(row.clone()));
        assert_eq!(other.get("contacts", 0).unwrap(), None);
        let finished = BatchRow { state: BatchState::Finished, created: 1, ..row };
        ledger.put("contacts", 0, &finished).unwrap();
        assert_eq!(ledger.all("contacts").unwrap(), vec![finished]);
        assert_eq!(ledger.forget().unwrap(), 1);
        assert!(ledger.all("contacts").unwrap().is_empty());
    }

    fn finished_row() -> BatchRow {
        BatchRow {
            state: BatchState::Finished,
            imports: 1,
            entries: vec![],
            failures: vec![],
            skipped: 0,
            created: 1,
            updated: 0,
            started_at: None,
            import_error: None,
        }
    }

    #[test]
    fn a_failed_imports_error_is_stored_once_for_its_records() {
        let data = Arc::new(DataStore::in_memory("Shop").unwrap());
        let ledger = Ledger::new(data, "contacts:abc:100".into());
        let failure = |record: usize| RecordFailure { record, id: format!("c{record}"), line: record, error: None };
        let row = BatchRow {
            failures: (0..1_000).map(failure).collect(),
            import_error: Some(json!({"kind": "rejected", "message": "y".repeat(1_000)})),
            ..finished_row()
        };
        ledger.put("contacts", 0, &row).unwrap();
        let stored: i64 = ledger
            .data
            .ledger(|tx, _| {
                tx.query_row("SELECT length(failures) + length(import_error) FROM bulk_batches", [], |r| r.get(0))
            })
            .unwrap();
        assert!(stored < 60_000, "{stored} bytes for 1,000 failures of one 1,000-character error");
        let read = ledger.get("contacts", 0).unwrap().unwrap();
        assert_eq!(read, row);
        assert_eq!(read.error_of(&read.failures[999])["message"].as_str().map(str::len), Some(1_000));
    }

    #[test]
    fn a_finished_load_says_when_and_is_pruned_once_old() {
        let data = Arc::new(DataStore::in_memory("Shop").unwrap());
        let done = Ledger::new(data.clone(), "contacts:done".into());
        let running = Ledger::new(data.clone(), "contacts:running".into());
        done.put("contacts", 0, &finished_row()).unwrap();
        running.put("contacts", 0, &finished_row()).unwrap();
        assert_eq!(done.finished().unwrap(), None);
        done.finish(Some("taken off")).unwrap();
        let finished = done.finished().unwrap().unwrap();
        assert_eq!(finished.removal.as_deref(), Some("taken off"));
        assert!(finished.at.len() == 20 && finished.at.ends_with('Z'), "{}", finished.at);
        assert!(time::OffsetDateTime::parse(&finished.at, &time::format_description::well_known::Rfc3339).is_ok());
        // A second finish keeps the first time.
        done.finish(None).unwrap();
        assert_eq!(done.finished().unwrap(), Some(finished));

        // Kept while younger than the age; gone, rows and all, once older.
        assert_eq!(done.prune(FINISHED_LOADS_KEPT).unwrap(), 0);
        assert_eq!(done.all("contacts").unwrap().len(), 1);
        data.ledger(|tx, _| tx.execute("UPDATE bulk_loads SET finished_at = finished_at - 31 * 86400", [])).unwrap();
        assert_eq!(done.prune(FINISHED_LOADS_KEPT).unwrap(), 1);
        assert_eq!(done.finished().unwrap(), None);
        assert!(done.all("contacts").unwrap().is_empty());
        // A load that never finished is kept, however old.
        assert_eq!(running.prune(Duration::ZERO).unwrap(), 0);
        assert_eq!(running.all("contacts").unwrap().len(), 1);
        // `--restart` forgets that the load finished.
        running.finish(None).unwrap();
        running.forget().unwrap();
        assert_eq!(running.finished().unwrap(), None);
    }
}
