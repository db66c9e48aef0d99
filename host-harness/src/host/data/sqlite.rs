//! The SQLite store: one database per state directory ([`DATABASE_FILE`]), or an in-memory
//! database without one (the same code either way).
//!
//! Every write is one committed transaction, on disk before it returns (WAL with
//! `synchronous=FULL`), so a certificate's `pending` marker exists before its email is sent;
//! a write that fails changes nothing, and there is no cache in memory to diverge from the
//! file. Several processes may share a state directory: SQLite's own locks order their
//! writes, and a writer waits for another ([`BUSY_TIMEOUT`]) instead of failing. Keys are
//! scoped by the subscription's `name`, exactly as given, in a column: two names never share
//! a key because they share a file name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use serde::Deserialize;

use super::{
    Cell, DataError, RateWindow, StateError, BUSY_TIMEOUT, MAX_ENTRIES, MAX_KEY_BYTES, MAX_TOTAL_BYTES, MAX_VALUE_BYTES,
};

/// The database in a state directory.
pub const DATABASE_FILE: &str = "dotdigital-state.sqlite3";

/// `PRAGMA application_id`: marks the file as this harness's state ("DdSt").
const APPLICATION_ID: i64 = 0x4464_5374;
/// `PRAGMA user_version`: the schema below.
const SCHEMA_VERSION: i64 = 2;

/// `entries.expires_at` is Unix seconds by the database's clock (`unixepoch()`), so every
/// process sharing the file judges expiry by one clock, and `entries_expiry` finds the expired
/// keys without reading the rest. `usage` keeps each subscription's key count and bytes,
/// maintained by triggers inside every write's transaction (no `OR IGNORE` in them: the
/// outer statement's conflict policy would override it) (by any harness writing the file,
/// older ones included), so a write checks the limits without summing every value. `migrations` remembers which old
/// `<name>.json` files were imported, so none is imported twice. `bulk_loads` says when a bulk
/// load finished (Unix seconds, the database's clock); it came without a version change, as
/// a harness that does not know it only leaves it alone.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    subscription TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    expires_at   INTEGER,
    PRIMARY KEY (subscription, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (subscription, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS usage (
    subscription TEXT PRIMARY KEY,
    entries      INTEGER NOT NULL,
    bytes        INTEGER NOT NULL
) WITHOUT ROWID;
-- Writes to entries are INSERT … ON CONFLICT DO UPDATE (the UPDATE trigger) and DELETE, never
-- INSERT OR REPLACE: its implicit delete fires no trigger without recursive_triggers.
CREATE TRIGGER IF NOT EXISTS usage_insert AFTER INSERT ON entries BEGIN
    INSERT INTO usage SELECT new.subscription, 0, 0
     WHERE NOT EXISTS (SELECT 1 FROM usage WHERE subscription = new.subscription);
    UPDATE usage SET entries = entries + 1,
                     bytes = bytes + length(CAST(new.key AS BLOB)) + length(CAST(new.value AS BLOB))
     WHERE subscription = new.subscription;
END;
CREATE TRIGGER IF NOT EXISTS usage_delete AFTER DELETE ON entries BEGIN
    UPDATE usage SET entries = entries - 1,
                     bytes = bytes - length(CAST(old.key AS BLOB)) - length(CAST(old.value AS BLOB))
     WHERE subscription = old.subscription;
END;
CREATE TRIGGER IF NOT EXISTS usage_update AFTER UPDATE ON entries BEGIN
    UPDATE usage SET entries = entries - 1,
                     bytes = bytes - length(CAST(old.key AS BLOB)) - length(CAST(old.value AS BLOB))
     WHERE subscription = old.subscription;
    INSERT INTO usage SELECT new.subscription, 0, 0
     WHERE NOT EXISTS (SELECT 1 FROM usage WHERE subscription = new.subscription);
    UPDATE usage SET entries = entries + 1,
                     bytes = bytes + length(CAST(new.key AS BLOB)) + length(CAST(new.value AS BLOB))
     WHERE subscription = new.subscription;
END;
CREATE TABLE IF NOT EXISTS migrations (
    file        TEXT PRIMARY KEY,
    subscription TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    migrated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bulk_batches (
    subscription TEXT NOT NULL,
    load         TEXT NOT NULL,
    phase        TEXT NOT NULL,
    batch        INTEGER NOT NULL,
    state        TEXT NOT NULL,
    import_id    TEXT,
    imports      INTEGER NOT NULL,
    entries      TEXT NOT NULL,
    failures     TEXT NOT NULL,
    skipped      INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    started_at   INTEGER,
    import_error TEXT,
    PRIMARY KEY (subscription, load, phase, batch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bulk_loads (
    subscription TEXT NOT NULL,
    load         TEXT NOT NULL,
    finished_at  INTEGER NOT NULL,
    removal      TEXT,
    PRIMARY KEY (subscription, load)
) WITHOUT ROWID;
";

/// The rate window's file beside the database: request starts (Unix microseconds, the
/// machine's clock: every process sharing it runs on this machine), one row each, kept for the
/// window (`span`) of the subscription that made it: subscriptions of one account with
/// different windows do not prune each other's starts. A file of its own, so that a request start never waits for a data write's lock
/// (nor its fsync), and a process holding the data's lock does not stop every request.
pub const THROTTLE_FILE: &str = "dotdigital-throttle.sqlite3";
const THROTTLE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS throttle_starts (
    account    TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    span       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_starts_by_account ON throttle_starts (account, started_at);
";
/// `PRAGMA application_id` of the rate window's file ("DdTh").
const THROTTLE_APPLICATION_ID: i64 = 0x4464_5468;

/// The statements of a write that read beyond the written key (each a search; see the test).
const EXPIRE: &str = "DELETE FROM entries WHERE subscription = ?1 AND expires_at <= unixepoch()";
const USAGE: &str = "SELECT entries, bytes FROM usage WHERE subscription = ?1";
const KEY_SIZE: &str = "SELECT length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) FROM entries \
                        WHERE subscription = ?1 AND key = ?2";

/// Columns [`SCHEMA`]'s tables gained after they were first made, added to an older file's on
/// open. No version change: an older harness names the columns it reads and writes, and leaves
/// these alone.
const ADDED_COLUMNS: &[(&str, &str, &str)] =
    &[("bulk_batches", "started_at", "INTEGER"), ("bulk_batches", "import_error", "TEXT")];

/// Adds the [`ADDED_COLUMNS`] a table lacks, in one write transaction (two processes opening
/// the file at once add each column once).
fn add_columns(connection: &mut Connection) -> rusqlite::Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = tx.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |row| row.get(0),
        )?;
        if !present {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    tx.commit()
}

/// One subscription's view of the database.
pub struct Sqlite {
    subscription: String,
    /// Where the database is (`:memory:` without a state directory), for messages.
    path: PathBuf,
    /// One connection per store; the mutex orders this process's calls, SQLite the rest.
    connection: Mutex<Connection>,
    /// The shared rate window's file ([`THROTTLE_FILE`]; none in memory: one process). Its
    /// commits are not fsynced: a start lost to a power cut only spends less of the budget.
    throttle: Option<Arc<Mutex<Connection>>>,
    /// What opening did that the operator may want to know (a migration).
    notes: Vec<String>,
}

impl Sqlite {
    /// A database that lives as long as this store.
    pub fn in_memory(subscription: &str) -> Result<Self, StateError> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|e| open_error(&path, e))?;
        Sqlite::prepare(connection, path, subscription, BUSY_TIMEOUT)
    }

    /// Opens (or starts) `<dir>/dotdigital-state.sqlite3` and migrates the subscription's old
    /// `<dir>/<name>.json`, if there is one.
    pub fn open(dir: &Path, subscription: &str, busy_timeout: Duration) -> Result<Self, StateError> {
        let path = dir.join(DATABASE_FILE);
        // The database holds customers' emails: its folder and file are the user's alone
        // (SQLite gives its -wal and -shm files the database file's permissions).
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if dir.exists() && !dir.is_dir() {
            let detail = format!("--state {} is a file, not a folder", dir.display());
            return Err(StateError::Open { path, detail });
        }
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| StateError::Open {
            path: path.clone(),
            detail: format!("creating the folder {}: {}", dir.display(), crate::errors::io_reason(&e)),
        })?;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .is_ok();
        // NOFOLLOW: a symlink planted in the directory does not send the state elsewhere.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let connection = Connection::open_with_flags(&path, flags).map_err(|e| open_error(&path, e))?;
        let mut store = Sqlite::prepare(connection, path.clone(), subscription, busy_timeout)?;
        store.throttle = Some(Arc::new(Mutex::new(open_throttle(dir, flags, busy_timeout)?)));
        if created {
            // A mistyped --state starts an empty database: say where, so it is noticed.
            store.notes.push(format!("created a new state database at {}", path.display()));
        } else if let Ok(metadata) = std::fs::metadata(&path) {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                store.notes.push(format!(
                    "the state database {} may be read by others (mode {mode:o}), and it holds customers' emails: \
                     `chmod 600` it",
                    path.display()
                ));
            }
        }
        if let Some(note) = store.migrate_legacy(dir)? {
            store.notes.push(note);
        }
        Ok(store)
    }

    /// Pragmas, an integrity check and the schema, on a fresh connection.
    fn prepare(
        mut connection: Connection,
        path: PathBuf,
        subscription: &str,
        busy_timeout: Duration,
    ) -> Result<Self, StateError> {
        let fail = |e: rusqlite::Error| open_error(&path, e);
        connection.busy_timeout(busy_timeout).map_err(fail)?;
        // Whose file this is, asked first and only by reading: switching to WAL rewrites the
        // header, so a database of another application is refused before anything is written.
        let deadline = Instant::now() + busy_timeout;
        let (application_id, version, objects): (i64, i64, i64) = retry_busy(deadline, || {
            connection.query_row(
                "SELECT * FROM pragma_application_id, pragma_user_version, (SELECT count(*) FROM sqlite_master)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
        })
        .map_err(fail)?;
        if application_id != 0 && application_id != APPLICATION_ID {
            return Err(StateError::Open {
                path,
                detail: format!("it belongs to another application (application_id {application_id:#x})"),
            });
        }
        // Every database this harness made carries its application_id from its first write: one
        // with tables but no id is someone else's (a stray file under our name), not a new one.
        if application_id == 0 && objects > 0 {
            return Err(StateError::Open {
                path,
                detail: "it holds tables but is not a dotdigital-harness state database (no application_id): \
                         move it away"
                    .into(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StateError::Open {
                path,
                detail: format!("it has schema {version}, newer than this harness's {SCHEMA_VERSION}"),
            });
        }
        let check: String =
            retry_busy(deadline, || connection.query_row("PRAGMA quick_check", [], |row| row.get(0))).map_err(fail)?;
        if check != "ok" {
            return Err(StateError::Corrupt { path, detail: check });
        }
        // WAL: readers never wait for a writer, and a commit appends to the log instead of
        // rewriting pages. `synchronous=FULL` makes each commit fsync the log: with WAL's
        // default NORMAL a commit is durable only at the next checkpoint, and a power cut
        // could forget a `pending` marker whose email was already sent.
        // Switching to WAL, and the first reads while another process switches, can be
        // refused as busy without SQLite's busy handler: four processes opening a new
        // directory at once met it. Each step is idempotent, so it is tried again.
        let _mode: String =
            retry_busy(deadline, || connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0)))
                .map_err(fail)?;
        retry_busy(deadline, || connection.pragma_update(None, "synchronous", "FULL")).map_err(fail)?;
        retry_busy(deadline, || create_schema(&mut connection)).map_err(fail)?;
        retry_busy(deadline, || add_columns(&mut connection)).map_err(fail)?;
        Ok(Sqlite {
            subscription: subscription.to_string(),
            path,
            connection: Mutex::new(connection),
            throttle: None,
            notes: Vec::new(),
        })
    }

    /// Where the data lives (`:memory:` without a state directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What opening did, for the log (e.g. an old JSON file migrated).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The value under `key`, unless it expired.
    pub fn get(&self, key: &str) -> Result<Option<String>, DataError> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        connection
            .prepare_cached(
                "SELECT value FROM entries WHERE subscription = ?1 AND key = ?2 \
                 AND (expires_at IS NULL OR expires_at > unixepoch())",
            )
            .and_then(|mut statement| statement.query_row(params![self.subscription, key], |row| row.get(0)))
            .optional()
            .map_err(|e| self.database_error("reading", e))
    }

    /// Stores a value; an empty value removes the key (checked by the facade).
    pub fn set(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), DataError> {
        self.write(|tx, subscription| {
            if value.is_empty() {
                tx.prepare_cached("DELETE FROM entries WHERE subscription = ?1 AND key = ?2")?
                    .execute(params![subscription, key])?;
                return Ok(());
            }
            insert(tx, subscription, key, value, ttl_seconds)
        })
    }

    /// Stores a value only if `key` is absent or expired; says whether this call stored it.
    pub fn claim(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, DataError> {
        self.write(|tx, subscription| {
            let present: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM entries WHERE subscription = ?1 AND key = ?2)")?
                .query_row(params![subscription, key], |row| row.get(0))?;
            if present {
                return Ok(false);
            }
            insert(tx, subscription, key, value, ttl_seconds)?;
            Ok(true)
        })
    }

    /// A request start in the shared window, off the runtime's threads (it may wait for
    /// another process's lock).
    pub async fn reserve(&self, window: &RateWindow) -> Result<Duration, DataError> {
        let (throttle, window, path) = (self.throttle.clone(), window.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || reserve(throttle.as_deref(), &window, &path))
            .await
            .map_err(|e| DataError::Database(format!("the rate limit's task failed: {e}")))?
    }

    /// [`reserve`](Self::reserve) on this thread.
    pub fn reserve_blocking(&self, window: &RateWindow) -> Result<Duration, DataError> {
        reserve(self.throttle.as_deref(), window, &self.path)
    }

    /// Runs the ledger's statements in one committed transaction.
    pub fn ledger_execute(&self, statements: &[(&str, &[Cell])]) -> Result<Vec<u64>, DataError> {
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let mut run = || -> rusqlite::Result<Vec<u64>> {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut changed = Vec::with_capacity(statements.len());
            for (sql, params) in statements {
                changed.push(tx.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params.iter()))? as u64);
            }
            tx.commit()?;
            Ok(changed)
        };
        run().map_err(|e| self.database_error("the bulk ledger in", e))
    }

    /// One query of the ledger's.
    pub fn ledger_query(&self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, DataError> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let run = || -> rusqlite::Result<Vec<Vec<Cell>>> {
            let mut statement = connection.prepare_cached(sql)?;
            let columns = statement.column_count();
            let rows = statement.query_map(rusqlite::params_from_iter(params.iter()), |row| {
                (0..columns).map(|i| cell(row.get_ref(i)?)).collect::<rusqlite::Result<Vec<Cell>>>()
            })?;
            rows.collect()
        };
        run().map_err(|e| self.database_error("the bulk ledger in", e))
    }

    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    /// One write transaction: `BEGIN IMMEDIATE` takes the write lock up front (waiting up to
    /// the busy timeout), expired keys go first, and the change is committed before this
    /// returns. Any error rolls the whole transaction back.
    fn write<T>(&self, change: impl FnOnce(&Transaction, &str) -> Result<T, WriteError>) -> Result<T, DataError> {
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let run = || -> Result<T, WriteError> {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(EXPIRE)?.execute(params![self.subscription])?;
            let result = change(&tx, &self.subscription)?;
            tx.commit()?;
            Ok(result)
        };
        run().map_err(|e| match e {
            WriteError::Refused(refusal) => refusal,
            WriteError::Sqlite(e) => self.database_error("writing", e),
        })
    }

    fn database_error(&self, doing: &str, error: rusqlite::Error) -> DataError {
        DataError::Database(format!("{doing} {}: {error}", self.path.display()))
    }

    /// Imports `<dir>/<name>.json` (the format before the database) in one transaction, then
    /// renames it `*.json.migrated`. Only a regular file is read: a symlink is never followed.
    /// Keys the database already holds keep their value.
    fn migrate_legacy(&self, dir: &Path) -> Result<Option<String>, StateError> {
        let name = format!("{}.json", legacy_file_stem(&self.subscription));
        let file = dir.join(&name);
        let legacy = |detail: String| StateError::Legacy { path: file.clone(), detail };
        match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.file_type().is_file() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(legacy(e.to_string())),
        }
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let migrated: Option<String> = connection
            .query_row("SELECT subscription FROM migrations WHERE file = ?1", [&name], |row| row.get(0))
            .optional()
            .map_err(|e| open_error(&self.path, e))?;
        if let Some(by) = migrated {
            // Imported before (its rename failed, or an old harness wrote it again): never twice.
            return Ok(Some(format!("{} was migrated before (for {by:?}); it is ignored", file.display())));
        }
        let bytes = std::fs::read(&file).map_err(|e| legacy(e.to_string()))?;
        let entries: BTreeMap<String, LegacyEntry> =
            serde_json::from_slice(&bytes).map_err(|e| legacy(format!("not the old JSON format: {e}")))?;
        let mut import = || -> rusqlite::Result<usize> {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut imported = 0;
            for (key, entry) in &entries {
                let fits = !key.is_empty()
                    && key.len() <= MAX_KEY_BYTES
                    && !entry.value.is_empty()
                    && entry.value.len() <= MAX_VALUE_BYTES;
                if fits {
                    imported += tx.execute(
                        "INSERT INTO entries (subscription, key, value, expires_at) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (subscription, key) DO NOTHING",
                        params![
                            self.subscription,
                            key,
                            entry.value,
                            entry.expires_at.map(|at| at.min(i64::MAX as u64) as i64)
                        ],
                    )?;
                }
            }
            tx.execute(
                "INSERT INTO migrations (file, subscription, entries, migrated_at) VALUES (?1, ?2, ?3, unixepoch())",
                params![name, self.subscription, imported as i64],
            )?;
            tx.commit()?;
            Ok(imported)
        };
        let imported = import().map_err(|e| match corrupt(&e) {
            true => StateError::Corrupt { path: self.path.clone(), detail: e.to_string() },
            false => legacy(e.to_string()),
        })?;
        let aside = dir.join(format!("{name}.migrated"));
        Ok(Some(match std::fs::rename(&file, &aside) {
            Ok(()) => format!("migrated {imported} key(s) from {} (now {})", file.display(), aside.display()),
            // The migrations table already keeps it from being imported again.
            Err(e) => format!("migrated {imported} key(s) from {}, but could not rename it: {e}", file.display()),
        }))
    }
}

/// The schema, in one transaction with the first count of a database made before `usage`:
/// from then on its triggers keep it.
fn create_schema(connection: &mut Connection) -> rusqlite::Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let counted: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'usage')", [], |row| row.get(0))?;
    tx.execute_batch(SCHEMA)?;
    if !counted {
        tx.execute(
            "INSERT OR IGNORE INTO usage SELECT subscription, COUNT(*), \
             SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))) FROM entries GROUP BY subscription",
            [],
        )?;
    }
    tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"))?;
    tx.commit()
}

/// An entry of the old `<name>.json` state file.
#[derive(Deserialize)]
struct LegacyEntry {
    value: String,
    #[serde(default)]
    expires_at: Option<u64>,
}

/// A write refused by a limit, or failed by the database.
enum WriteError {
    Refused(DataError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Sqlite(e)
    }
}

/// Inserts or replaces `key` within the subscription's limits, which are checked in the same
/// transaction, so two processes cannot both squeeze under them.
fn insert(tx: &Transaction, subscription: &str, key: &str, value: &str, ttl: Option<u32>) -> Result<(), WriteError> {
    let (count, bytes): (i64, i64) = tx
        .prepare_cached(USAGE)?
        .query_row([subscription], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .unwrap_or_default();
    // A key being replaced is counted at its new size, not twice.
    let replaced: Option<i64> =
        tx.prepare_cached(KEY_SIZE)?.query_row(params![subscription, key], |row| row.get(0)).optional()?;
    let others = count - i64::from(replaced.is_some());
    let other_bytes = bytes - replaced.unwrap_or(0);
    if others as usize >= MAX_ENTRIES {
        return Err(WriteError::Refused(DataError::TooManyKeys));
    }
    if other_bytes as usize + key.len() + value.len() > MAX_TOTAL_BYTES {
        return Err(WriteError::Refused(DataError::TooLarge));
    }
    tx.prepare_cached(
        "INSERT INTO entries (subscription, key, value, expires_at) \
         VALUES (?1, ?2, ?3, CASE WHEN ?4 IS NULL THEN NULL ELSE unixepoch() + ?4 END) \
         ON CONFLICT (subscription, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
    )?
    .execute(params![subscription, key, value, ttl])?;
    Ok(())
}

/// Whether SQLite says the file is not a database, or a damaged one.
fn corrupt(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
}

fn open_error(path: &Path, error: rusqlite::Error) -> StateError {
    let (path, detail) = (path.to_path_buf(), error.to_string());
    if corrupt(&error) {
        StateError::Corrupt { path, detail }
    } else {
        StateError::Open { path, detail }
    }
}

/// The old file name of a subscription's state: letters, digits, `-`, `_` and `.` kept. Only
/// for finding files to migrate: it maps `Shop/EU` and `Shop EU` to one name, which is why
/// the database keys by the name itself.
fn legacy_file_stem(subscription: &str) -> String {
    let stem: String = subscription
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let stem = stem.trim_matches('.').to_string();
    if stem.is_empty() {
        "subscription".into()
    } else {
        stem
    }
}

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Cell::Null => ToSqlOutput::Owned(Value::Null),
            Cell::Int(value) => ToSqlOutput::Owned(Value::Integer(*value)),
            Cell::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        })
    }
}

fn cell(value: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<Cell> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(value) => Cell::Int(value),
        ValueRef::Text(text) => Cell::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            return Err(rusqlite::Error::InvalidColumnType(0, "ledger cell".into(), value.data_type()))
        }
    })
}

/// Runs `step` again while SQLite says the database is busy or locked, until `deadline`.
fn retry_busy<T>(deadline: Instant, mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    loop {
        match step() {
            Err(e)
                if matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5 + fastrand::u64(0..20)));
            }
            result => return result,
        }
    }
}

/// Opens (or starts) the rate window's file, `0600` like the database.
fn open_throttle(dir: &Path, flags: OpenFlags, busy_timeout: Duration) -> Result<Connection, StateError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(THROTTLE_FILE);
    // Not `open_error`: its message for a damaged file speaks of certificate markers, which
    // this file does not hold; it only counts recent request starts.
    let fail = |e: rusqlite::Error| StateError::Open {
        path: path.clone(),
        detail: format!("{e}; it holds only recent request starts: remove it, and it is made again"),
    };
    let _ =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&path);
    if std::fs::symlink_metadata(&path).is_ok_and(|meta| !meta.file_type().is_file()) {
        let detail = "it is a symlink or not a regular file: remove it (a new one is made)".to_string();
        return Err(StateError::Open { path, detail });
    }
    let connection = Connection::open_with_flags(&path, flags).map_err(fail)?;
    connection.busy_timeout(busy_timeout).map_err(fail)?;
    let deadline = Instant::now() + busy_timeout;
    let (application_id, objects): (i64, i64) = retry_busy(deadline, || {
        connection.query_row("SELECT * FROM pragma_application_id, (SELECT count(*) FROM sqlite_master)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    })
    .map_err(fail)?;
    // As for the database: another application's file, or one with tables and no id, is
    // refused before anything is written to it.
    if (application_id != 0 && application_id != THROTTLE_APPLICATION_ID) || (application_id == 0 && objects > 0) {
        let detail = format!(
            "it is not this harness's rate window (application_id {application_id:#x}, {objects} objects): move it away"
        );
        return Err(StateError::Open { path, detail });
    }
    let _mode: String =
        retry_busy(deadline, || connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))).map_err(fail)?;
    retry_busy(deadline, || connection.pragma_update(None, "synchronous", "NORMAL")).map_err(fail)?;
    // One transaction: another process never sees its tables without its id.
    let schema =
        format!("BEGIN IMMEDIATE; PRAGMA application_id = {THROTTLE_APPLICATION_ID}; {THROTTLE_SCHEMA} COMMIT;");
    retry_busy(deadline, || {
        connection.execute_batch(&schema).inspect_err(|_| {
            let _ = connection.execute_batch("ROLLBACK");
        })
    })
    .map_err(fail)?;
    Ok(connection)
}

/// One reservation in the rate window's file, in its own write transaction.
fn reserve(throttle: Option<&Mutex<Connection>>, window: &RateWindow, path: &Path) -> Result<Duration, DataError> {
    let Some(connection) = throttle else {
        return Err(DataError::Database("an in-memory store keeps no shared rate limit".into()));
    };
    let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
    let mut run = || -> rusqlite::Result<Duration> {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let wait = reserve_in(&tx, window)?;
        tx.commit()?;
        Ok(wait)
    };
    run().map_err(|e| {
        let file = path.with_file_name(THROTTLE_FILE);
        DataError::Database(format!("the rate limit in {}: {e}", file.display()))
    })
}

/// Reserves a start of `window.account` inside `tx` (see `throttle::next_start`). The clock is
/// the machine's, in microseconds: every process sharing the file runs on this machine.
fn reserve_in(tx: &Transaction, window: &RateWindow) -> rusqlite::Result<Duration> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let span = window.window.as_micros() as i64;
    tx.prepare_cached("DELETE FROM throttle_starts WHERE account = ?1 AND started_at + span <= ?2")?
        .execute(params![window.account, now])?;
    let latest: Option<i64> = tx
        .prepare_cached("SELECT max(started_at) FROM throttle_starts WHERE account = ?1")?
        .query_row([&window.account], |row| row.get(0))?;
    let kth: Option<i64> = tx
        .prepare_cached(
            "SELECT started_at FROM throttle_starts WHERE account = ?1 ORDER BY started_at DESC LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![window.account, i64::from(window.limit.max(1)) - 1], |row| row.get(0))
        .optional()?;
    let start = crate::runtime::throttle::next_start(now, latest, kth, span);
    tx.prepare_cached("INSERT INTO throttle_starts (account, started_at, span) VALUES (?1, ?2, ?3)")?
        .execute(params![window.account, start, span])?;
    Ok(Duration::from_micros((start - now).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::super::DataStore;
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dd-data-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn open(dir: &Path, subscription: &str) -> DataStore {
        DataStore::open(dir, subscription, BUSY_TIMEOUT).unwrap()
    }

    #[test]
    fn an_older_files_bulk_ledger_gains_the_added_columns() {
        let dir = temp_dir("columns");
        drop(open(&dir, "Shop"));
        let path = dir.join(DATABASE_FILE);
        let older = Connection::open(&path).unwrap();
        older
            .execute_batch(
                "ALTER TABLE bulk_batches DROP COLUMN started_at; \
                             ALTER TABLE bulk_batches DROP COLUMN import_error;",
            )
            .unwrap();
        drop(older);
        drop(open(&dir, "Shop"));
        let columns: i64 = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM pragma_table_info('bulk_batches') WHERE name IN ('started_at', 'import_error')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(columns, 2);
    }

    #[test]
    fn a_short_window_leaves_a_long_windows_starts() {
        let dir = temp_dir("windows");
        super::super::checks::windows_do_not_prune_each_other(&open(&dir, "s"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_foreign_or_linked_rate_window_file_is_refused_untouched() {
        let dir = temp_dir("throttle-file");
        let path = dir.join(THROTTLE_FILE);
        let foreign = Connection::open(&path).unwrap();
        foreign.execute_batch("CREATE TABLE customers (email TEXT); INSERT INTO customers VALUES ('x');").unwrap();
        drop(foreign);
        let before = std::fs::read(&path).unwrap();
        let error = DataStore::open(&dir, "s", BUSY_TIMEOUT).err().expect("refused").to_string();
        assert!(error.contains(THROTTLE_FILE) && error.contains("not this harness's rate window"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "written to");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), &path).unwrap();
        let error = DataStore::open(&dir, "s", BUSY_TIMEOUT).err().expect("refused").to_string();
        assert!(error.contains("symlink"), "{error}");
        assert!(!dir.join("elsewhere").exists());
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"not a database at all, and long enough to have a header of sorts....").unwrap();
        let error = DataStore::open(&dir, "s", BUSY_TIMEOUT).err().expect("refused").to_string();
        assert!(error.contains("only recent request starts") && !error.contains("certificate markers"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn values_persist_expire_and_clear() {
        let dir = temp_dir("persist");
        let store = open(&dir, "Dotdigital - Production");
        store.set("region:a", "https://r2-api.dotdigital.com", Some(3600)).unwrap();
        store.set("gone", "x", Some(0)).unwrap();
        let reopened = open(&dir, "Dotdigital - Production");
        assert_eq!(reopened.get("region:a").unwrap().as_deref(), Some("https://r2-api.dotdigital.com"));
        assert_eq!(reopened.get("gone").unwrap(), None);
        reopened.set("region:a", "", None).unwrap();
        assert_eq!(open(&dir, "Dotdigital - Production").get("region:a").unwrap(), None);
        assert!(matches!(store.set("k", &"x".repeat(MAX_VALUE_BYTES + 1), None), Err(DataError::Value { .. })));
        assert!(matches!(store.set("", "x", None), Err(DataError::Key { bytes: 0 })));
        assert!(dir.join(DATABASE_FILE).exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_claim_sets_only_an_absent_or_expired_key() {
        let store = DataStore::in_memory("s").unwrap();
        assert!(store.claim("k", "first", None).unwrap(), "absent: this call sets it");
        assert!(!store.claim("k", "second", None).unwrap(), "present: another holder has it");
        assert_eq!(store.get("k").unwrap().as_deref(), Some("first"), "a lost claim changes nothing");
        store.set("short", "old", Some(0)).unwrap();
        assert!(store.claim("short", "new", Some(60)).unwrap(), "expired: claimable again");
        assert_eq!(store.get("short").unwrap().as_deref(), Some("new"));
        assert!(matches!(store.claim("e", "", None), Err(DataError::Value { bytes: 0 })), "nothing to claim with");
        assert_eq!(store.get("e").unwrap(), None);
        let other = DataStore::in_memory("t").unwrap();
        assert!(other.claim("k", "x", None).unwrap(), "another database, another key");
    }

    #[test]
    fn subscriptions_are_scoped_by_their_exact_name() {
        let dir = temp_dir("scope");
        let (slash, space) = (open(&dir, "Shop/EU"), open(&dir, "Shop EU"));
        slash.set("k", "slash", None).unwrap();
        assert_eq!(space.get("k").unwrap(), None);
        assert!(space.claim("k", "space", None).unwrap());
        assert_eq!(slash.get("k").unwrap().as_deref(), Some("slash"));
        assert_eq!(space.get("k").unwrap().as_deref(), Some("space"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn limits_hold_in_the_transaction_and_a_refusal_changes_nothing() {
        super::super::checks::limits_hold(&DataStore::in_memory("s").unwrap());
    }

    /// The `usage` row against a count of the entries themselves.
    fn usage_is_true(store: &DataStore) {
        let connection = store.sqlite().connection.lock().unwrap();
        let (kept, summed): ((i64, i64), (i64, i64)) = connection
            .query_row(
                "SELECT (SELECT entries FROM usage WHERE subscription = ?1), \
                        (SELECT bytes FROM usage WHERE subscription = ?1), COUNT(*), \
                        COALESCE(SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) \
                 FROM entries WHERE subscription = ?1",
                [&store.sqlite().subscription],
                |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))),
            )
            .unwrap();
        assert_eq!(kept, summed, "usage (entries, bytes) against the entries");
    }

    #[test]
    fn usage_follows_every_kind_of_write() {
        let dir = temp_dir("usage");
        let (a, b) = (open(&dir, "a"), open(&dir, "b"));
        a.set("k1", "one", None).unwrap();
        a.set("k2", "twotwo", Some(60)).unwrap();
        b.set("k1", "é", None).unwrap();
        usage_is_true(&a);
        a.set("k1", "replaced by a longer value", None).unwrap();
        usage_is_true(&a);
        a.set("k2", "", None).unwrap();
        assert!(a.claim("k3", "claimed", Some(0)).unwrap());
        assert!(!a.claim("k1", "lost", None).unwrap());
        usage_is_true(&a);
        // k3 expired: the next write removes it, and its bytes with it.
        a.set("k4", "after the expiry", None).unwrap();
        assert_eq!(a.get("k3").unwrap(), None);
        usage_is_true(&a);
        usage_is_true(&b);
        // A database written before `usage` existed is counted when opened.
        {
            let connection = a.sqlite().connection.lock().unwrap();
            connection
                .execute_batch(
                    "DROP TRIGGER usage_insert; DROP TRIGGER usage_update; DROP TRIGGER usage_delete; DROP TABLE usage;\
                     INSERT INTO entries VALUES ('a', 'old', 'from an older harness', NULL);",
                )
                .unwrap();
        }
        let reopened = open(&dir, "a");
        usage_is_true(&reopened);
        reopened.set("k5", "v", None).unwrap();
        usage_is_true(&reopened);
        usage_is_true(&open(&dir, "b"));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Each write used to sum every value of the subscription and scan it for expired keys
    /// (58 s of CPU for a component writing in a loop): every statement of a write now finds
    /// its rows by more than the subscription.
    #[test]
    fn a_write_reads_no_more_than_its_own_key() {
        let store = DataStore::in_memory("s").unwrap();
        store.set("k", "v", Some(60)).unwrap();
        let connection = store.sqlite().connection.lock().unwrap();
        for (statement, plan) in [
            (EXPIRE, "SEARCH entries USING INDEX entries_expiry (subscription=? AND expires_at<?)"),
            (USAGE, "SEARCH usage USING PRIMARY KEY (subscription=?)"),
            (KEY_SIZE, "SEARCH entries USING PRIMARY KEY (subscription=? AND key=?)"),
        ] {
            let mut explain = connection.prepare(&format!("EXPLAIN QUERY PLAN {statement}")).unwrap();
            let arguments = rusqlite::params_from_iter(std::iter::repeat_n("s", explain.parameter_count()));
            let steps: Vec<String> =
                explain.query_map(arguments, |row| row.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            assert_eq!(steps, [plan], "{statement}");
        }
    }

    #[test]
    fn expiry_is_judged_by_the_database_clock() {
        let store = DataStore::in_memory("s").unwrap();
        store.set("k", "v", Some(100)).unwrap();
        let connection = store.sqlite().connection.lock().unwrap();
        let (expires_at, db_now): (i64, i64) = connection
            .query_row("SELECT expires_at, unixepoch() FROM entries WHERE key = 'k'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert!((99..=101).contains(&(expires_at - db_now)), "{expires_at} vs {db_now}");
        // A row that expired a second ago by the database's clock is gone, whatever ours says.
        connection.execute("UPDATE entries SET expires_at = unixepoch() - 1 WHERE key = 'k'", []).unwrap();
        drop(connection);
        assert_eq!(store.get("k").unwrap(), None);
        assert!(store.claim("k", "again", None).unwrap());
    }
}
