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

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::data::{Cell, DataError, DataStore, LoadGuard};

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
    /// The one-load-at-a-time lock of the store, held as long as the ledger.
    exclusive: Option<LoadGuard>,
}

impl Ledger {
    pub fn new(data: Arc<DataStore>, load: String) -> Ledger {
        Ledger { data, load, exclusive: None }
    }

    /// Keeps `lock` as long as the ledger, for [`ensure_exclusive`](Self::ensure_exclusive).
    pub fn with_lock(mut self, lock: LoadGuard) -> Ledger {
        self.exclusive = Some(lock);
        self
    }

    /// Fails when the store's bulk-load lock was lost: checked before each import starts.
    pub fn ensure_exclusive(&self) -> anyhow::Result<()> {
        self.exclusive.as_ref().map_or(Ok(()), LoadGuard::ensure_held)
    }

    fn key(&self) -> [Cell; 2] {
        [self.data.subscription().into(), self.load.as_str().into()]
    }

    pub fn get(&self, phase: &str, batch: usize) -> Result<Option<BatchRow>, DataError> {
        let [subscription, load] = self.key();
        let rows = self.data.ledger_query(
            &format!(
                "SELECT {COLUMNS} FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 AND batch = ?4"
            ),
            &[subscription, load, phase.into(), Cell::Int(batch as i64)],
        )?;
        rows.first().map(|row| read_row(row)).transpose()
    }

    pub fn put(&self, phase: &str, batch: usize, row: &BatchRow) -> Result<(), DataError> {
        let (state, import_id) = match &row.state {
            BatchState::Started { import_id } => ("started", Some(import_id.as_str())),
            BatchState::Finished => ("finished", None),
        };
        let entries = serde_json::to_string(&row.entries).expect("entries serialise");
        let failures = serde_json::to_string(&row.failures).expect("failures serialise");
        let import_error = row.import_error.as_ref().map(Value::to_string);
        let [subscription, load] = self.key();
        let params = [
            subscription,
            load,
            phase.into(),
            Cell::Int(batch as i64),
            state.into(),
            import_id.into(),
            row.imports.into(),
            entries.as_str().into(),
            failures.as_str().into(),
            row.skipped.into(),
            row.created.into(),
            row.updated.into(),
            row.started_at.into(),
            import_error.as_deref().into(),
        ];
        self.data
            .ledger_execute(&[(
                "INSERT INTO bulk_batches \
                 (subscription, load, phase, batch, state, import_id, imports, entries, failures, skipped, created, updated, \
                  started_at, import_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
                 ON CONFLICT (subscription, load, phase, batch) DO UPDATE SET state = excluded.state, \
                 import_id = excluded.import_id, imports = excluded.imports, entries = excluded.entries, \
                 failures = excluded.failures, skipped = excluded.skipped, created = excluded.created, \
                 updated = excluded.updated, started_at = excluded.started_at, import_error = excluded.import_error",
                &params,
            )])
            .map(drop)
    }

    /// Every batch of a phase, in batch order.
    pub fn all(&self, phase: &str) -> Result<Vec<BatchRow>, DataError> {
        let [subscription, load] = self.key();
        let rows = self.data.ledger_query(
            &format!(
                "SELECT {COLUMNS} FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 ORDER BY batch"
            ),
            &[subscription, load, phase.into()],
        )?;
        rows.iter().map(|row| read_row(row)).collect()
    }

    /// Now, by the clock [`BatchRow::started_at`] is read with (Unix seconds).
    pub fn now(&self) -> Result<i64, DataError> {
        let rows = self.data.ledger_query("SELECT unixepoch()", &[])?;
        rows.first().and_then(|row| row.first()).and_then(Cell::int).ok_or_else(|| corrupt("the store's clock"))
    }

    /// Forgets one batch: the next run sends it again.
    pub fn forget_batch(&self, phase: &str, batch: usize) -> Result<usize, DataError> {
        let [subscription, load] = self.key();
        let changed = self.data.ledger_execute(&[(
            "DELETE FROM bulk_batches WHERE subscription = ?1 AND load = ?2 AND phase = ?3 AND batch = ?4",
            &[subscription, load, phase.into(), Cell::Int(batch as i64)],
        )])?;
        Ok(changed[0] as usize)
    }

    /// Forgets this load (`--restart`): every batch is sent again.
    pub fn forget(&self) -> Result<usize, DataError> {
        let key = self.key();
        let changed = self.data.ledger_execute(&[
            ("DELETE FROM bulk_loads WHERE subscription = ?1 AND load = ?2", &key),
            ("DELETE FROM bulk_batches WHERE subscription = ?1 AND load = ?2", &key),
        ])?;
        Ok(changed[1] as usize)
    }

    /// Records that the load finished, now (once: a later run keeps the first time).
    pub fn finish(&self, removal: Option<&str>) -> Result<(), DataError> {
        let [subscription, load] = self.key();
        self.data
            .ledger_execute(&[(
                "INSERT INTO bulk_loads (subscription, load, finished_at, removal) VALUES (?1, ?2, unixepoch(), ?3) \
                 ON CONFLICT (subscription, load) DO NOTHING",
                &[subscription, load, removal.into()],
            )])
            .map(drop)
    }

    /// When the load finished, if it did.
    pub fn finished(&self) -> Result<Option<FinishedLoad>, DataError> {
        let rows = self.data.ledger_query(
            "SELECT finished_at, removal FROM bulk_loads WHERE subscription = ?1 AND load = ?2",
            &self.key(),
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let at = row[0].int().ok_or_else(|| corrupt("bulk_loads.finished_at"))?;
        let at = time::OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
            .ok_or_else(|| corrupt("bulk_loads.finished_at"))?;
        Ok(Some(FinishedLoad { at, removal: row[1].text().map(str::to_string) }))
    }

    /// Deletes every load of the database that finished longer than `kept` ago (any
    /// subscription's: the store is shared, and an old load is nobody's business any more).
    /// Returns how many loads were pruned.
    pub fn prune(&self, kept: Duration) -> Result<usize, DataError> {
        let kept = [Cell::Int(i64::try_from(kept.as_secs()).unwrap_or(i64::MAX))];
        let changed = self.data.ledger_execute(&[
            (
                "DELETE FROM bulk_batches WHERE EXISTS (SELECT 1 FROM bulk_loads AS l \
                 WHERE l.subscription = bulk_batches.subscription AND l.load = bulk_batches.load \
                 AND l.finished_at <= unixepoch() - ?1)",
                &kept,
            ),
            ("DELETE FROM bulk_loads WHERE finished_at <= unixepoch() - ?1", &kept),
        ])?;
        Ok(changed[1] as usize)
    }
}

/// The columns [`read_row`] reads, in its order.
const COLUMNS: &str =
    "state, import_id, imports, entries, failures, skipped, created, updated, started_at, import_error";

fn corrupt(what: &str) -> DataError {
    DataError::Database(format!("the bulk ledger's {what} is not what this harness wrote"))
}

fn read_row(row: &[Cell]) -> Result<BatchRow, DataError> {
    let text = |i: usize, name: &str| row.get(i).and_then(Cell::text).ok_or_else(|| corrupt(name));
    let count = |i: usize, name: &str| {
        row.get(i).and_then(Cell::int).and_then(|v| u32::try_from(v).ok()).ok_or_else(|| corrupt(name))
    };
    let json = |i: usize, name: &str| -> Result<Option<Value>, DataError> {
        match row.get(i) {
            Some(Cell::Text(text)) => serde_json::from_str(text).map(Some).map_err(|_| corrupt(name)),
            Some(Cell::Null) => Ok(None),
            _ => Err(corrupt(name)),
        }
    };
    let entries = serde_json::from_str(text(3, "entries")?).map_err(|_| corrupt("entries"))?;
    let failures = serde_json::from_str(text(4, "failures")?).map_err(|_| corrupt("failures"))?;
    let state = match (text(0, "state")?, row.get(1).and_then(Cell::text)) {
        ("started", Some(import_id)) => BatchState::Started { import_id: import_id.to_string() },
        _ => BatchState::Finished,
    };
    Ok(BatchRow {
        state,
        imports: count(2, "imports")?,
        entries,
        failures,
        skipped: count(5, "skipped")?,
        created: count(6, "created")?,
        updated: count(7, "updated")?,
        started_at: row.get(8).and_then(Cell::int),
        import_error: json(9, "import_error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory SQLite store, and a PostgreSQL one when the test cluster is there: the
    /// ledger's statements run on both.
    fn stores() -> Vec<Arc<DataStore>> {
        let mut stores = vec![Arc::new(DataStore::in_memory("Shop").unwrap())];
        if let Some(pg) = test_support::postgres::cluster().or_skip() {
            let location = crate::host::data::PgLocation::parse(&pg.database(), |_| None).unwrap();
            stores.push(Arc::new(DataStore::connect(&location, "Shop").unwrap()));
        }
        stores
    }
    use serde_json::json;

    #[test]
    fn rows_round_trip_and_are_scoped_by_load() {
        for data in stores() {
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
        for data in stores() {
            let ledger = Ledger::new(data, "contacts:abc:100".into());
            let failure = |record: usize| RecordFailure { record, id: format!("c{record}"), line: record, error: None };
            let row = BatchRow {
                failures: (0..1_000).map(failure).collect(),
                import_error: Some(json!({"kind": "rejected", "message": "y".repeat(1_000)})),
                ..finished_row()
            };
            ledger.put("contacts", 0, &row).unwrap();
            let stored = ledger
                .data
                .ledger_query("SELECT length(failures) + length(import_error) FROM bulk_batches", &[])
                .unwrap()[0][0]
                .int()
                .unwrap();
            assert!(stored < 60_000, "{stored} bytes for 1,000 failures of one 1,000-character error");
            let read = ledger.get("contacts", 0).unwrap().unwrap();
            assert_eq!(read, row);
            assert_eq!(read.error_of(&read.failures[999])["message"].as_str().map(str::len), Some(1_000));
        }
    }

    #[test]
    fn a_finished_load_says_when_and_is_pruned_once_old() {
        for data in stores() {
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
            data.ledger_execute(&[("UPDATE bulk_loads SET finished_at = finished_at - 31 * 86400", &[])]).unwrap();
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
}
