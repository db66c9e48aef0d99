//! The PostgreSQL store: every host that reaches one database shares the subscription's data,
//! its certificate claims, its bulk ledgers and one rate limit per account.
//!
//! Its tables live in the schema [`schema::SCHEMA`] (created on first use, under an advisory
//! lock, and refused when a newer harness made it). A write is one call of a PL/pgSQL function in one
//! round trip: the usage row of the subscription is locked first, so the limits hold across
//! hosts, and expiry uses the server's clock. Connections are pooled ([`POOL_SIZE`]) on a
//! runtime of the store's own: the contract's data functions are synchronous and run inside
//! the harness's runtime, which must not block on itself.

mod location;
mod schema;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::NoTls;

pub use location::PgLocation;
use location::{CONNECT_TIMEOUT, STATEMENT_TIMEOUT};
use schema::{prepare_schema, SCHEMA, SCHEMA_VERSION};

use super::{Cell, DataError, RateWindow, StateError, MAX_ENTRIES, MAX_TOTAL_BYTES};

/// Connections one process keeps to the store, at most.
const POOL_SIZE: usize = 8;
/// Beyond the connect and statement timeouts, how long a call waits for the store.
const MARGIN: Duration = Duration::from_secs(2);
/// Advisory lock class of a bulk load per subscription ("DdBl"); the second key is the
/// subscription's `hashtext`.
const LOCK_BULK: i32 = 0x4464_426c;

/// One subscription's view of a PostgreSQL store.
pub struct Postgres {
    /// How long a call waits for the store (see `connect`).
    patience: Duration,
    /// Taken only by `Drop`.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    location: PgLocation,
    subscription: String,
    notes: Vec<String>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which a runtime's own thread may not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Postgres {
    /// A pool of connections to `location`, its schema made or checked through the first.
    pub fn connect(location: &PgLocation, subscription: &str) -> Result<Postgres, StateError> {
        let fail = |detail: String| StateError::Postgres {
            store: location.shown().to_string(),
            detail: location.scrub(detail),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dotdigital-postgres")
            .enable_all()
            .build()
            .map_err(|e| fail(format!("starting its client: {e}")))?;
        let manager = Manager::from_config(
            location.config().clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let connect_timeout = location.config().get_connect_timeout().copied().unwrap_or(CONNECT_TIMEOUT);
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(STATEMENT_TIMEOUT))
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(STATEMENT_TIMEOUT))
            .build()
            .map_err(|e| fail(why(&e)))?;
        // A pooled connection within its wait, a new one within the connect timeout, then the
        // statement within the server's own timeout: past all of them, the server has given up.
        let patience = STATEMENT_TIMEOUT * 2 + connect_timeout + MARGIN;
        let store = Postgres {
            patience,
            runtime: Some(runtime),
            pool,
            location: location.clone(),
            subscription: subscription.to_string(),
            notes: Vec::new(),
        };
        let pool = store.pool.clone();
        let created = store.block(async move { prepare_schema(&pool).await }).map_err(fail)?;
        let mut store = store;
        if created {
            store
                .notes
                .push(format!("created the state schema {SCHEMA} (version {SCHEMA_VERSION}) in {}", location.shown()));
        }
        Ok(store)
    }

    pub fn shown(&self) -> &str {
        self.location.shown()
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// Runs `work` on the store's runtime and waits for it on this thread, within its
    /// patience.
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, String> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let patience = self.patience;
        self.runtime().spawn(async move {
            let _ = sender.send(tokio::time::timeout(patience, work).await);
        });
        self.settle(receiver.recv().ok())
    }

    /// [`block`](Self::block) for a caller on another runtime: awaited, not waited for.
    async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, String> {
        let task = self.runtime().spawn(tokio::time::timeout(self.patience, work));
        self.settle(task.await.ok())
    }

    /// What a piece of work came to: its result, its patience running out, or (`None`) the
    /// store's runtime gone before it answered.
    fn settle<T>(&self, outcome: Option<Result<Result<T, String>, tokio::time::error::Elapsed>>) -> Result<T, String> {
        match outcome {
            Some(Ok(result)) => result.map_err(|e| self.location.scrub(e)),
            Some(Err(_)) => Err(format!("no answer within {} s", self.patience.as_secs())),
            None => Err("the store's client stopped".into()),
        }
    }

    fn error(&self, doing: &str, detail: String) -> DataError {
        DataError::Database(format!("{doing} {}: {detail}", self.location.shown()))
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, DataError> {
        let (pool, subscription, key) = (self.pool.clone(), self.subscription.clone(), key.to_string());
        self.block(async move {
            let client = pool.get().await.map_err(pool_why)?;
            let statement = client
                .prepare_cached(
                    "SELECT value FROM entries WHERE subscription = $1 AND key = $2 \
                     AND (expires_at IS NULL OR expires_at > unixepoch())",
                )
                .await
                .map_err(|e| why(&e))?;
            let row = client.query_opt(&statement, &[&subscription, &key]).await.map_err(|e| why(&e))?;
            Ok(row.map(|row| row.get(0)))
        })
        .map_err(|e| self.error("reading", e))
    }

    pub fn set(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), DataError> {
        self.write(key, value, ttl_seconds, false).map(drop)
    }

    pub fn claim(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, DataError> {
        self.write(key, value, ttl_seconds, true)
    }

    /// One `dd_write`: one round trip, one transaction.
    fn write(&self, key: &str, value: &str, ttl_seconds: Option<u32>, claim: bool) -> Result<bool, DataError> {
        let (pool, subscription) = (self.pool.clone(), self.subscription.clone());
        let (key, value) = (key.to_string(), value.to_string());
        let outcome = self.block(async move {
            let client = pool.get().await.map_err(pool_why)?;
            let statement =
                client.prepare_cached("SELECT dd_write($1, $2, $3, $4, $5, $6, $7)").await.map_err(|e| why(&e))?;
            let ttl = ttl_seconds.map(i64::from);
            let (entries, bytes) = (MAX_ENTRIES as i64, MAX_TOTAL_BYTES as i64);
            let row = client
                .query_one(&statement, &[&subscription, &key, &value, &ttl, &claim, &entries, &bytes])
                .await
                .map_err(|e| why(&e))?;
            Ok(row.get::<_, String>(0))
        });
        let outcome = outcome.map_err(|e| self.error("writing", e))?;
        match outcome.as_str() {
            "stored" => Ok(true),
            "held" => Ok(false),
            "too-many-keys" => Err(DataError::TooManyKeys),
            "too-large" => Err(DataError::TooLarge),
            other => Err(self.error("writing", format!("unexpected answer {other:?}"))),
        }
    }

    /// [`reserve`](Self::reserve) on this thread.
    pub fn reserve_blocking(&self, window: &RateWindow) -> Result<Duration, DataError> {
        self.block(self.reservation(window)).map_err(|e| self.error("the rate limit in", e))
    }

    pub async fn reserve(&self, window: &RateWindow) -> Result<Duration, DataError> {
        self.run(self.reservation(window)).await.map_err(|e| self.error("the rate limit in", e))
    }

    /// One `dd_reserve` on a pooled connection.
    fn reservation(&self, window: &RateWindow) -> impl Future<Output = Result<Duration, String>> + Send + 'static {
        let (pool, window) = (self.pool.clone(), window.clone());
        async move {
            let client = pool.get().await.map_err(pool_why)?;
            reserve_with(&client, &window).await
        }
    }

    pub fn ledger_execute(&self, statements: &[(&str, &[Cell])]) -> Result<Vec<u64>, DataError> {
        let pool = self.pool.clone();
        let statements: Vec<(String, Vec<Cell>)> =
            statements.iter().map(|(sql, params)| (numbered(sql), params.to_vec())).collect();
        self.block(async move {
            let mut client = pool.get().await.map_err(pool_why)?;
            let tx = client.transaction().await.map_err(|e| why(&e))?;
            let mut changed = Vec::with_capacity(statements.len());
            for (sql, params) in &statements {
                let statement = tx.prepare_cached(sql).await.map_err(|e| why(&e))?;
                let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                changed.push(tx.execute(&statement, &params).await.map_err(|e| why(&e))?);
            }
            tx.commit().await.map_err(|e| why(&e))?;
            Ok(changed)
        })
        .map_err(|e| self.error("the bulk ledger in", e))
    }

    pub fn ledger_query(&self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, DataError> {
        let (pool, sql, params) = (self.pool.clone(), numbered(sql), params.to_vec());
        self.block(async move {
            let client = pool.get().await.map_err(pool_why)?;
            let statement = client.prepare_cached(&sql).await.map_err(|e| why(&e))?;
            let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let rows = client.query(&statement, &params).await.map_err(|e| why(&e))?;
            rows.iter().map(cells).collect()
        })
        .map_err(|e| self.error("the bulk ledger in", e))
    }

    /// A session of its own holding the subscription's bulk-load advisory lock; the server
    /// releases it when the session ends, however the process ends.
    pub fn lock_bulk_load(&self) -> anyhow::Result<LoadLock> {
        let (config, subscription) = (self.location.config().clone(), self.subscription.clone());
        let runtime = self.runtime().handle().clone();
        let lost = Arc::new(AtomicBool::new(false));
        let ended = lost.clone();
        let taken = self.block(async move {
            let (client, connection) = config.connect(NoTls).await.map_err(|e| why(&e))?;
            runtime.spawn(async move {
                // Set however the task ends: the connection closing, or the runtime dropping it.
                let _ended = SetOnDrop(ended);
                let _ = connection.await;
            });
            let row = client
                .query_one("SELECT pg_try_advisory_lock($1, hashtext($2))", &[&LOCK_BULK, &subscription])
                .await
                .map_err(|e| why(&e))?;
            Ok((row.get::<_, bool>(0), client))
        });
        let (taken, client) =
            taken.map_err(|e| anyhow::anyhow!("taking the bulk-load lock in {}: {e}", self.shown()))?;
        if !taken {
            anyhow::bail!(
                "another bulk load of the subscription {:?} is running on the state store {}: wait for it to finish",
                self.subscription,
                self.shown()
            );
        }
        Ok(LoadLock { _session: client, lost })
    }
}

/// Held until dropped: its session keeps the advisory lock.
pub struct LoadLock {
    _session: tokio_postgres::Client,
    /// Set when the session ended (the server restarted, or closed it): the lock went with it.
    lost: Arc<AtomicBool>,
}

impl LoadLock {
    pub fn held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn reserve_with(client: &impl deadpool_postgres::GenericClient, window: &RateWindow) -> Result<Duration, String> {
    let span = window.window.as_micros() as i64;
    let row = client
        .query_one("SELECT dd_reserve($1, $2, $3)", &[&window.account, &i64::from(window.limit), &span])
        .await
        .map_err(|e| why(&e))?;
    Ok(Duration::from_micros(row.get::<_, i64>(0).max(0) as u64))
}

/// An error with its causes: tokio-postgres says only "db error" or "error connecting to
/// server" itself, and keeps the server's message, or the socket's, in its source.
fn why(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !said.contains(&text) {
            said = format!("{said}: {text}");
        }
        source = cause.source();
    }
    said
}

/// A pool's refusal in the words of its cause: the server's or the socket's for a connection
/// that could not be made, not the pool's "error occurred while creating a new object".
fn pool_why(error: deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::{PoolError, TimeoutType};
    match error {
        PoolError::Backend(e) => why(&e),
        PoolError::Timeout(TimeoutType::Wait) => "every pooled connection stayed busy".into(),
        PoolError::Timeout(TimeoutType::Create) => "no connection within the connect timeout".into(),
        PoolError::Timeout(TimeoutType::Recycle) => "a pooled connection did not answer".into(),
        other => why(&other),
    }
}

/// SQLite's `?N` parameters as PostgreSQL's `$N` (the ledger's statements hold no `?` else).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let numbered = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if numbered { '$' } else { c });
    }
    out
}

fn cells(row: &tokio_postgres::Row) -> Result<Vec<Cell>, String> {
    (0..row.len())
        .map(|i| {
            let kind = row.columns()[i].type_();
            let cell = match *kind {
                Type::INT8 => row.try_get::<_, Option<i64>>(i).map(Cell::from),
                Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| Cell::from(v.map(i64::from))),
                Type::TEXT | Type::VARCHAR => {
                    row.try_get::<_, Option<String>>(i).map(|v| v.map_or(Cell::Null, Cell::Text))
                }
                _ => return Err(format!("column {i} of type {kind} is neither an integer nor text")),
            };
            cell.map_err(|e| why(&e))
        })
        .collect()
}

impl ToSql for Cell {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int(value) if *ty == Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
            Cell::Int(value) => value.to_sql(ty, out),
            Cell::Text(text) => text.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::TEXT | Type::VARCHAR)
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if !<Cell as ToSql>::accepts(ty) {
            return Err(format!("a ledger value cannot be a {ty}").into());
        }
        self.to_sql(ty, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subscriptions of one account with different windows: a short window's reservations do
    /// not prune the starts a longer window still counts.
    #[test]
    fn a_short_window_leaves_a_long_windows_starts() {
        let Some((store, _)) = store("s") else { return };
        super::super::checks::windows_do_not_prune_each_other(&store);
    }

    #[test]
    fn question_mark_parameters_become_dollar_parameters() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?'"
        );
    }

    /// A store on a database of its own in the test cluster (None: PostgreSQL is missing and
    /// not required), and the database's URL.
    fn store(subscription: &str) -> Option<(super::super::DataStore, String)> {
        let pg = test_support::postgres::cluster().or_skip()?;
        let url = pg.database();
        Some((open(&url, subscription), url))
    }

    fn open(url: &str, subscription: &str) -> super::super::DataStore {
        let location = PgLocation::parse(url, |_| None).unwrap();
        super::super::DataStore::connect(&location, subscription).unwrap()
    }

    #[test]
    fn values_persist_expire_are_claimed_once_and_scoped_by_subscription() {
        let Some((store, url)) = store("Dotdigital - Production") else { return };
        assert!(store.notes()[0].contains("created the state schema"), "{:?}", store.notes());
        store.set("region:a", "https://r2-api.dotdigital.com", Some(3600)).unwrap();
        store.set("gone", "x", Some(0)).unwrap();
        let reopened = open(&url, "Dotdigital - Production");
        assert!(reopened.notes().is_empty(), "the schema is made once: {:?}", reopened.notes());
        assert_eq!(reopened.get("region:a").unwrap().as_deref(), Some("https://r2-api.dotdigital.com"));
        assert_eq!(reopened.get("gone").unwrap(), None);
        reopened.set("region:a", "", None).unwrap();
        assert_eq!(store.get("region:a").unwrap(), None);
        assert!(store.claim("k", "first", None).unwrap());
        assert!(!reopened.claim("k", "second", None).unwrap());
        assert_eq!(store.get("k").unwrap().as_deref(), Some("first"));
        assert!(store.claim("gone", "again", None).unwrap(), "expired: claimable");
        let other = open(&url, "Dotdigital - Staging");
        assert_eq!(other.get("k").unwrap(), None);
        assert!(other.claim("k", "theirs", None).unwrap());
        assert!(matches!(
            store.set("k", &"x".repeat(super::super::MAX_VALUE_BYTES + 1), None),
            Err(DataError::Value { .. })
        ));
        assert!(matches!(store.claim("e", "", None), Err(DataError::Value { bytes: 0 })));
        // NUL, which PostgreSQL's text cannot hold, is refused by name (by both stores).
        assert!(matches!(store.set("k\0", "v", None), Err(DataError::Nul { what: "key" })));
        assert!(matches!(store.claim("k2", "v\0", None), Err(DataError::Nul { what: "value" })));
        // é is two bytes, as the limits count it.
        store.set("é", "é", None).unwrap();
        assert_eq!(store.get("é").unwrap().as_deref(), Some("é"));
    }

    #[test]
    fn the_total_size_limit_holds_and_a_refusal_changes_nothing() {
        let Some((store, _)) = store("s") else { return };
        super::super::checks::limits_hold(&store);
    }

    #[test]
    fn of_many_hosts_claiming_one_key_exactly_one_wins() {
        let Some((_, url)) = store("s") else { return };
        let wins: usize = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..12)
                .map(|i| {
                    let url = &url;
                    scope.spawn(move || {
                        open(url, "s").claim("certificate-email:1", &format!("pending:{i}"), None).unwrap()
                    })
                })
                .collect();
            runs.into_iter().map(|run| usize::from(run.join().unwrap())).sum()
        });
        assert_eq!(wins, 1);
    }

    #[test]
    fn a_newer_schema_is_refused_naming_the_store_without_its_password() {
        let Some((store, url)) = store("s") else { return };
        store.ledger_execute(&[("UPDATE meta SET value = 99 WHERE name = 'schema'", &[])]).unwrap();
        let with_password = url.replacen("postgres@", "postgres:hunter2@", 1);
        let location = PgLocation::parse(&with_password, |_| None).unwrap();
        let error = super::super::DataStore::connect(&location, "s").err().expect("refused").to_string();
        assert!(error.contains("version 99, newer than this harness's 1"), "{error}");
        assert!(error.contains(location.shown()) && !error.contains("hunter2"), "{error}");
    }

    #[test]
    fn an_unreachable_store_is_named_without_its_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let location = PgLocation::parse(&format!("postgres://app:hunter2@127.0.0.1:{port}/state"), |_| None).unwrap();
        let error = super::super::DataStore::connect(&location, "s").err().expect("refused").to_string();
        assert!(error.contains(&format!("postgres://app@127.0.0.1:{port}/state")), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    /// Four hosts reserving at once: at most `limit` starts in any window, and each group of
    /// `limit` a window after the one before.
    #[test]
    fn reservations_of_many_hosts_keep_the_window() {
        let Some((first, url)) = store("s") else { return };
        // A database whose sessions default to repeatable read (a snapshot taken before the
        // lock would not see the previous host's start): the harness's sessions read committed.
        let name = url.rsplit('/').next().unwrap();
        let isolation = format!("ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'");
        first.ledger_execute(&[(&isolation, &[])]).unwrap();
        let window = RateWindow { account: "api@example.com".into(), limit: 5, window: Duration::from_secs(60) };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut waits: Vec<Duration> = std::thread::scope(|scope| {
            let hosts: Vec<_> = (0..4)
                .map(|_| {
                    let (url, window) = (&url, &window);
                    scope.spawn(move || {
                        let store = open(url, "s");
                        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                        (0..5).map(|_| runtime.block_on(store.reserve(window)).unwrap()).collect::<Vec<_>>()
                    })
                })
                .collect();
            hosts.into_iter().flat_map(|host| host.join().unwrap()).collect()
        });
        drop(runtime);
        waits.sort();
        for (i, wait) in waits.iter().enumerate() {
            let expected = 60.0 * (i / 5) as f64;
            assert!((wait.as_secs_f64() - expected).abs() < 5.0, "start {i} waits {wait:?}, not about {expected} s");
        }
        let starts =
            open(&url, "s").ledger_query("SELECT started_at FROM throttle_starts ORDER BY started_at", &[]).unwrap();
        let starts: Vec<i64> = starts.iter().map(|row| row[0].int().unwrap()).collect();
        for (i, start) in starts.iter().enumerate() {
            let within = starts[i..].iter().take_while(|s| **s < start + 60_000_000).count();
            assert!(within <= 5, "{within} starts in the minute from {start}");
        }
    }

    /// The server cancels a write stuck behind another session's lock before the harness
    /// stops waiting: a claim reported as failed is never committed afterwards.
    #[test]
    fn a_write_the_harness_gave_up_on_is_never_committed() {
        let Some((store, url)) = store("s") else { return };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let config = PgLocation::parse(&url, |_| None).unwrap().config().clone();
        let holder = runtime.block_on(async {
            let (client, connection) = config.connect(NoTls).await.unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(
                    "INSERT INTO usage VALUES ('s', 0, 0) ON CONFLICT DO NOTHING; BEGIN; \
                     SELECT 1 FROM usage WHERE subscription = 's' FOR UPDATE;",
                )
                .await
                .unwrap();
            client
        });
        let error = store.claim("certificate-email:1", "pending:now", None).unwrap_err().to_string();
        assert!(error.contains("timeout"), "the server's own timeout: {error}");
        runtime.block_on(holder.batch_execute("ROLLBACK")).unwrap();
        assert_eq!(store.get("certificate-email:1").unwrap(), None, "the refused claim left nothing");
        assert!(store.claim("certificate-email:1", "pending:now", None).unwrap());
    }

    #[test]
    fn the_servers_own_message_is_said() {
        let Some(pg) = test_support::postgres::cluster().or_skip() else { return };
        let url = format!("postgres://postgres@127.0.0.1:{}/no_such_database", pg.port());
        let error = super::super::DataStore::connect(&PgLocation::parse(&url, |_| None).unwrap(), "s")
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("database \"no_such_database\" does not exist"), "{error}");
        let error = PgLocation::parse("postgres://u@h:port/db", |_| None).unwrap_err();
        assert!(error.contains("port"), "{error}");
        let location = PgLocation::parse("POSTGRES://u@h/db", |_| None).unwrap();
        assert_eq!(location.shown(), "postgres://u@h:5432/db");
    }

    #[test]
    fn one_bulk_load_per_subscription_at_a_time() {
        let Some((first, url)) = store("Shop") else { return };
        let held = first.lock_bulk_load().unwrap();
        let error = open(&url, "Shop").lock_bulk_load().err().expect("refused while held").to_string();
        assert!(error.contains("another bulk load of the subscription \"Shop\" is running"), "{error}");
        let other = open(&url, "Shop EU").lock_bulk_load();
        assert!(other.is_ok(), "another subscription loads at the same time");
        drop(held);
        let shop = open(&url, "Shop");
        let held = shop.lock_bulk_load().expect("released with its session");
        // The session ends under it (a server restart, an administrator): the guard says so.
        held.ensure_held().unwrap();
        first
            .ledger_query(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while held.ensure_held().is_ok() {
            assert!(std::time::Instant::now() < deadline, "the lost lock went unnoticed");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(held.ensure_held().unwrap_err().to_string().contains("no other load"));
    }
}
