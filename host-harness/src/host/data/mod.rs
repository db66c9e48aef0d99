//! Persistent data per subscription (iPaaS.com's "Persistent Data"): a small key/value map
//! with expiry, the bulk ledger, and the shared rate limit's window, in one of two stores:
//!
//! - [`sqlite`]: one SQLite file per state directory (or in memory without one), shared by the
//!   processes of one machine: the embedded default, which needs nothing;
//! - [`postgres`]: a PostgreSQL database, shared by every host that reaches it.
//!
//! Both give the same guarantees: every write is one committed transaction; a claim sets a key
//! for exactly one of any number of processes; expiry is judged by the store's clock; the
//! limits below hold inside the write's transaction. The facade checks keys and values before
//! either store sees them.

mod file_lock;
pub mod postgres;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use postgres::PgLocation;
pub use sqlite::DATABASE_FILE;

/// How long a write waits for another process's write before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bounds a plugin cannot exceed, so it cannot fill the disk.
pub(crate) const MAX_KEY_BYTES: usize = 2048;
pub(crate) const MAX_VALUE_BYTES: usize = 64 * 1024;
pub(crate) const MAX_ENTRIES: usize = 100_000;
pub(crate) const MAX_TOTAL_BYTES: usize = 64 << 20;

/// Why a value was not stored (or read). The plugin sees the message; the host logs it.
#[derive(Debug)]
pub enum DataError {
    /// Empty, or longer than the key limit.
    Key { bytes: usize },
    /// Longer than the value limit, or empty where a value is needed (a claim).
    Value { bytes: usize },
    /// The subscription already holds the most keys it may.
    TooManyKeys,
    /// The subscription's data would exceed its total size.
    TooLarge,
    /// A key or value holding a NUL character, which PostgreSQL's text cannot hold (refused by
    /// both stores, so they keep the same data).
    Nul { what: &'static str },
    /// The store refused or failed the transaction (or could not be reached); nothing changed.
    Database(String),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Key { bytes } => write!(f, "key of {bytes} bytes (1..={MAX_KEY_BYTES} allowed)"),
            DataError::Value { bytes } => write!(f, "value of {bytes} bytes (1..={MAX_VALUE_BYTES} allowed)"),
            DataError::TooManyKeys => write!(f, "more than {MAX_ENTRIES} keys"),
            DataError::TooLarge => write!(f, "more than {} MiB in all", MAX_TOTAL_BYTES >> 20),
            DataError::Nul { what } => write!(f, "the {what} holds a NUL character"),
            DataError::Database(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for DataError {}

/// Why the state could not be opened: a set-up error. Each names the store it is about.
#[derive(Debug)]
pub enum StateError {
    /// The database file is not a SQLite database, or is damaged. It is left as it is.
    Corrupt { path: PathBuf, detail: String },
    /// The directory or the database could not be opened or prepared.
    Open { path: PathBuf, detail: String },
    /// An old `<name>.json` state file could not be read. It is left as it is.
    Legacy { path: PathBuf, detail: String },
    /// The PostgreSQL store could not be reached or prepared. `store` is its URL without a
    /// password.
    Postgres { store: String, detail: String },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Corrupt { path, detail } => write!(
                f,
                "the state database {} is corrupt or not a SQLite database ({detail}); it was left untouched: \
                 restore it, or move it aside to start with empty state (its certificate markers are then lost)",
                path.display()
            ),
            StateError::Open { path, detail } => {
                write!(f, "the state database {} could not be opened: {detail}", path.display())
            }
            StateError::Legacy { path, detail } => write!(
                f,
                "the old state file {} could not be migrated ({detail}); it was left untouched",
                path.display()
            ),
            StateError::Postgres { store, detail } => write!(f, "the state store {store}: {detail}"),
        }
    }
}

impl std::error::Error for StateError {}

/// Where `--state` keeps the data.
#[derive(Clone, Debug)]
pub enum StateLocation {
    /// A folder holding [`DATABASE_FILE`].
    Dir(PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<PgLocation>),
}

impl StateLocation {
    /// `postgres://…` or `postgresql://…` is a database (the `PG*` environment fills in what the
    /// URL leaves out, as for `libpq`); anything else is a folder.
    pub fn from_arg(arg: &Path) -> Result<StateLocation, String> {
        match arg.to_str() {
            Some(text) if PgLocation::is_url(text) => {
                PgLocation::parse(text, |name| std::env::var(name).ok()).map(|pg| StateLocation::Postgres(Box::new(pg)))
            }
            _ => Ok(StateLocation::Dir(arg.to_path_buf())),
        }
    }
}

/// A value as the bulk ledger binds and reads it, in either store.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Cell::Int(value)
    }
}

impl From<u32> for Cell {
    fn from(value: u32) -> Self {
        Cell::Int(i64::from(value))
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Text(value.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Null, Into::into)
    }
}

/// A request start the shared rate limit asks the store for: at most `limit` starts of
/// `account` in any `window`.
#[derive(Clone, Debug)]
pub struct RateWindow {
    pub account: String,
    pub limit: u32,
    pub window: Duration,
}

/// One subscription's view of its store.
pub struct DataStore {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

impl DataStore {
    /// A database that lives as long as this store.
    pub fn in_memory(subscription: &str) -> Result<Self, StateError> {
        Ok(DataStore { backend: Backend::Sqlite(sqlite::Sqlite::in_memory(subscription)?) })
    }

    /// Opens (or starts) `<dir>/dotdigital-state.sqlite3` and migrates the subscription's old
    /// `<dir>/<name>.json`, if there is one.
    pub fn open(dir: &Path, subscription: &str, busy_timeout: Duration) -> Result<Self, StateError> {
        Ok(DataStore { backend: Backend::Sqlite(sqlite::Sqlite::open(dir, subscription, busy_timeout)?) })
    }

    /// Connects to a PostgreSQL store and creates (or checks) its schema.
    pub fn connect(location: &PgLocation, subscription: &str) -> Result<Self, StateError> {
        Ok(DataStore { backend: Backend::Postgres(Box::new(postgres::Postgres::connect(location, subscription)?)) })
    }

    /// The store `--state` names, or one in memory without it.
    pub fn at(
        location: Option<&StateLocation>,
        subscription: &str,
        busy_timeout: Duration,
    ) -> Result<Self, StateError> {
        match location {
            None => DataStore::in_memory(subscription),
            Some(StateLocation::Dir(dir)) => DataStore::open(dir, subscription, busy_timeout),
            Some(StateLocation::Postgres(location)) => DataStore::connect(location, subscription),
        }
    }

    /// Whether other processes may share this store (anything but memory).
    pub fn shared(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(store) => store.path() != Path::new(":memory:"),
            Backend::Postgres(_) => true,
        }
    }

    /// What opening did, for the log (e.g. an old JSON file migrated).
    pub fn notes(&self) -> &[String] {
        match &self.backend {
            Backend::Sqlite(store) => store.notes(),
            Backend::Postgres(store) => store.notes(),
        }
    }

    /// The value under `key`, unless it expired.
    pub fn get(&self, key: &str) -> Result<Option<String>, DataError> {
        match &self.backend {
            Backend::Sqlite(store) => store.get(key),
            Backend::Postgres(store) => store.get(key),
        }
    }

    /// Stores a value; an empty value removes the key.
    pub fn set(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), DataError> {
        check_key(key)?;
        check_value(value)?;
        match &self.backend {
            Backend::Sqlite(store) => store.set(key, value, ttl_seconds),
            Backend::Postgres(store) => store.set(key, value, ttl_seconds),
        }
    }

    /// Stores a value only if `key` is absent or expired; says whether this call stored it.
    /// Two processes claiming one key: exactly one gets `true`.
    pub fn claim(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, DataError> {
        self.claim_reserving(key, value, ttl_seconds, None).map(|(claimed, _)| claimed)
    }

    /// [`claim`](Self::claim), with a start in the shared `window` reserved first: the request
    /// a claim guards (an email) cannot then be refused by the rate limit once the claim is
    /// made (a store lost in between would strand the claim, and its email, unsent). Returns
    /// whether this call stored the key, and how long the reserved start must wait: the
    /// caller's next request takes it, claimed or not.
    pub fn claim_reserving(
        &self,
        key: &str,
        value: &str,
        ttl_seconds: Option<u32>,
        window: Option<&RateWindow>,
    ) -> Result<(bool, Option<Duration>), DataError> {
        check_key(key)?;
        check_value(value)?;
        if value.is_empty() {
            return Err(DataError::Value { bytes: 0 });
        }
        let wait = match (window, &self.backend) {
            (None, _) => None,
            (Some(window), Backend::Sqlite(store)) => Some(store.reserve_blocking(window)?),
            (Some(window), Backend::Postgres(store)) => Some(store.reserve_blocking(window)?),
        };
        let claimed = match &self.backend {
            Backend::Sqlite(store) => store.claim(key, value, ttl_seconds)?,
            Backend::Postgres(store) => store.claim(key, value, ttl_seconds)?,
        };
        Ok((claimed, wait))
    }

    /// Reserves the earliest request start that keeps `window`'s limit for every process
    /// sharing this store, and says how long to wait for it. The start is counted from now
    /// on, whether or not the request is made: a process that dies holding it only leaves the
    /// budget unspent.
    pub async fn reserve(&self, window: &RateWindow) -> Result<Duration, DataError> {
        match &self.backend {
            Backend::Sqlite(store) => store.reserve(window).await,
            Backend::Postgres(store) => store.reserve(window).await,
        }
    }

    /// Runs the bulk ledger's statements (`?N` parameters, `unixepoch()` for the store's clock
    /// in seconds) in one committed transaction; returns the rows each changed.
    pub fn ledger_execute(&self, statements: &[(&str, &[Cell])]) -> Result<Vec<u64>, DataError> {
        match &self.backend {
            Backend::Sqlite(store) => store.ledger_execute(statements),
            Backend::Postgres(store) => store.ledger_execute(statements),
        }
    }

    /// One query of the bulk ledger's, its rows as [`Cell`]s (integers and text only).
    pub fn ledger_query(&self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, DataError> {
        match &self.backend {
            Backend::Sqlite(store) => store.ledger_query(sql, params),
            Backend::Postgres(store) => store.ledger_query(sql, params),
        }
    }

    /// The subscription's name, as the ledger's rows are keyed.
    pub fn subscription(&self) -> &str {
        match &self.backend {
            Backend::Sqlite(store) => store.subscription(),
            Backend::Postgres(store) => store.subscription(),
        }
    }

    /// Holds the one-bulk-load-at-a-time lock of this store until the guard is dropped (or the
    /// process ends): a lock file's `flock` beside a SQLite file, an advisory lock in
    /// PostgreSQL. An in-memory store is this process's alone and needs none.
    pub fn lock_bulk_load(&self) -> anyhow::Result<LoadGuard> {
        match &self.backend {
            Backend::Sqlite(store) => Ok(LoadGuard::File(file_lock::LoadLock::take(store.path())?)),
            Backend::Postgres(store) => Ok(LoadGuard::Postgres(store.lock_bulk_load()?)),
        }
    }
}

#[cfg(test)]
impl DataStore {
    /// The SQLite store behind a facade, for tests that read its tables.
    pub(crate) fn sqlite(&self) -> &sqlite::Sqlite {
        match &self.backend {
            Backend::Sqlite(store) => store,
            Backend::Postgres(_) => panic!("a PostgreSQL store"),
        }
    }
}

/// A held bulk-load lock.
pub enum LoadGuard {
    File(file_lock::LoadLock),
    Postgres(postgres::LoadLock),
}

impl LoadGuard {
    /// Fails once the lock is gone: a PostgreSQL lock goes with its session (a server restart,
    /// an administrator closing it), and another load could then start beside this one. A
    /// file's lock lasts as long as the process.
    pub fn ensure_held(&self) -> anyhow::Result<()> {
        match self {
            LoadGuard::Postgres(lock) if !lock.held() => anyhow::bail!(
                "the state store's session holding this bulk load's lock ended (the server restarted or closed \
                 it): stopping before the next import, so that no other load runs beside this one; run the same \
                 command to resume"
            ),
            _ => Ok(()),
        }
    }
}

fn check_key(key: &str) -> Result<(), DataError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(DataError::Key { bytes: key.len() });
    }
    if key.contains('\0') {
        return Err(DataError::Nul { what: "key" });
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), DataError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(DataError::Value { bytes: value.len() });
    }
    if value.contains('\0') {
        return Err(DataError::Nul { what: "value" });
    }
    Ok(())
}

/// Checks both stores pass.
#[cfg(test)]
pub(crate) mod checks {
    use super::*;

    /// The total size holds inside the write: a write or claim past it is refused and changes
    /// nothing, and replacing a key counts its new size, not both.
    pub fn limits_hold(store: &DataStore) {
        let big = "v".repeat(MAX_VALUE_BYTES);
        for i in 0..MAX_TOTAL_BYTES / (MAX_VALUE_BYTES + 8) {
            store.set(&format!("k{i:06}"), &big, None).unwrap();
        }
        assert!(matches!(store.set("one-more", &big, None), Err(DataError::TooLarge)));
        assert!(matches!(store.claim("one-more", &big, None), Err(DataError::TooLarge)));
        assert_eq!(store.get("one-more").unwrap(), None);
        store.set("k000000", "small", None).unwrap();
        store.set("k000000", &big, None).unwrap();
    }

    /// Two starts of a 2-per-minute window, then one of a 1 µs window on the same account: a
    /// third start of the minute still waits for the minute.
    pub fn windows_do_not_prune_each_other(store: &DataStore) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let minute = RateWindow { account: "a@example.com".into(), limit: 2, window: Duration::from_secs(60) };
        let instant = RateWindow { window: Duration::from_micros(1), limit: 100, ..minute.clone() };
        for window in [&minute, &minute, &instant] {
            assert!(runtime.block_on(store.reserve(window)).unwrap() < Duration::from_secs(1));
        }
        let wait = runtime.block_on(store.reserve(&minute)).unwrap();
        assert!(wait > Duration::from_secs(55), "the third start of the minute waits {wait:?}");
    }
}
