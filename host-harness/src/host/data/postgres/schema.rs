//! The store's schema, [`SCHEMA`]: created on first use under an advisory lock, versioned, and
//! refused when a newer harness made it.

use deadpool_postgres::Pool;

use super::{pool_why, why};

/// The schema the harness's tables are in; every connection searches it first.
pub const SCHEMA: &str = "dotdigital_harness";
/// The schema's version, in its `meta` table.
pub(super) const SCHEMA_VERSION: i64 = 1;
/// Advisory lock class of schema creation ("DdSc"). The rate window's ("DdTh") is in
/// `dd_reserve`, the bulk load's in the store.
const LOCK_SCHEMA: i32 = 0x4464_5363;

/// The tables and functions of [`SCHEMA_VERSION`], created in one transaction.
/// `entries.expires_at` and `bulk_loads.finished_at` are Unix seconds by the server's clock
/// (`unixepoch()`, as SQLite names it, so the bulk ledger's statements run on both);
/// `throttle_starts.started_at` is Unix microseconds, kept for its own `span` (the window of the
/// subscription that made it).
const DDL: &str = r#"
CREATE OR REPLACE FUNCTION unixepoch() RETURNS bigint LANGUAGE sql VOLATILE
    AS $$ SELECT floor(extract(epoch FROM clock_timestamp()))::bigint $$;
CREATE TABLE IF NOT EXISTS entries (
    subscription text NOT NULL,
    key          text NOT NULL,
    value        text NOT NULL,
    expires_at   bigint,
    PRIMARY KEY (subscription, key)
);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (subscription, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS usage (
    subscription text PRIMARY KEY,
    entries      bigint NOT NULL,
    bytes        bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS bulk_batches (
    subscription text NOT NULL,
    load         text NOT NULL,
    phase        text NOT NULL,
    batch        bigint NOT NULL,
    state        text NOT NULL,
    import_id    text,
    imports      bigint NOT NULL,
    entries      text NOT NULL,
    failures     text NOT NULL,
    skipped      bigint NOT NULL,
    created      bigint NOT NULL,
    updated      bigint NOT NULL,
    started_at   bigint,
    import_error text,
    PRIMARY KEY (subscription, load, phase, batch)
);
CREATE TABLE IF NOT EXISTS bulk_loads (
    subscription text NOT NULL,
    load         text NOT NULL,
    finished_at  bigint NOT NULL,
    removal      text,
    PRIMARY KEY (subscription, load)
);
CREATE TABLE IF NOT EXISTS throttle_starts (
    account    text NOT NULL,
    started_at bigint NOT NULL,
    span       bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_starts_by_account ON throttle_starts (account, started_at);

-- One write of a subscription's data: 'stored', 'held' (a claim of a present key),
-- 'too-many-keys' or 'too-large'. The usage row is locked first: writers of one subscription
-- queue there, on every host.
CREATE OR REPLACE FUNCTION dd_write(p_subscription text, p_key text, p_value text, p_ttl bigint,
                                    p_claim boolean, p_max_entries bigint, p_max_bytes bigint)
RETURNS text LANGUAGE plpgsql SET search_path = dotdigital_harness, pg_temp AS $fn$
DECLARE
    n bigint; b bigint; gone_n bigint; gone_b bigint; old_b bigint; new_b bigint; result text;
BEGIN
    INSERT INTO usage (subscription, entries, bytes) VALUES (p_subscription, 0, 0)
        ON CONFLICT (subscription) DO NOTHING;
    SELECT entries, bytes INTO n, b FROM usage WHERE subscription = p_subscription FOR UPDATE;
    WITH gone AS (
        DELETE FROM entries WHERE subscription = p_subscription AND expires_at <= unixepoch()
        RETURNING octet_length(key) + octet_length(value) AS size)
    SELECT count(*), coalesce(sum(size), 0) INTO gone_n, gone_b FROM gone;
    n := n - gone_n;
    b := b - gone_b;
    SELECT octet_length(key) + octet_length(value) INTO old_b FROM entries
        WHERE subscription = p_subscription AND key = p_key;
    new_b := octet_length(p_key) + octet_length(p_value);
    IF p_value = '' THEN
        IF old_b IS NOT NULL THEN
            DELETE FROM entries WHERE subscription = p_subscription AND key = p_key;
            n := n - 1;
            b := b - old_b;
        END IF;
        result := 'stored';
    ELSIF p_claim AND old_b IS NOT NULL THEN
        result := 'held';
    ELSIF old_b IS NULL AND n >= p_max_entries THEN
        result := 'too-many-keys';
    ELSIF b - coalesce(old_b, 0) + new_b > p_max_bytes THEN
        result := 'too-large';
    ELSE
        INSERT INTO entries (subscription, key, value, expires_at)
            VALUES (p_subscription, p_key, p_value, CASE WHEN p_ttl IS NULL THEN NULL ELSE unixepoch() + p_ttl END)
            ON CONFLICT (subscription, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at;
        IF old_b IS NULL THEN
            n := n + 1;
        END IF;
        b := b - coalesce(old_b, 0) + new_b;
        result := 'stored';
    END IF;
    UPDATE usage SET entries = n, bytes = b WHERE subscription = p_subscription;
    RETURN result;
END $fn$;

-- Reserves the earliest request start of an account that keeps at most p_limit starts in any
-- p_span microseconds (see throttle::next_start), and returns how long until it. Reservations
-- of one account queue on an advisory lock, held to the end of the transaction.
CREATE OR REPLACE FUNCTION dd_reserve(p_account text, p_limit bigint, p_span bigint)
RETURNS bigint LANGUAGE plpgsql SET search_path = dotdigital_harness, pg_temp AS $fn$
DECLARE
    now_us bigint; latest bigint; kth bigint; start_us bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1147425896, hashtext(p_account)); -- "DdTh"
    now_us := floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    DELETE FROM throttle_starts WHERE account = p_account AND started_at + span <= now_us;
    SELECT max(started_at) INTO latest FROM throttle_starts WHERE account = p_account;
    SELECT started_at INTO kth FROM throttle_starts WHERE account = p_account
        ORDER BY started_at DESC OFFSET greatest(p_limit, 1) - 1 LIMIT 1;
    start_us := greatest(now_us, coalesce(latest, now_us), coalesce(kth + p_span, now_us));
    INSERT INTO throttle_starts (account, started_at, span) VALUES (p_account, start_us, p_span);
    RETURN start_us - now_us;
END $fn$;
"#;

/// Creates the schema on first use, in one transaction under an advisory lock (two hosts
/// starting at once create it once); refuses a schema a newer harness made. Says whether it
/// created or upgraded it.
pub(super) async fn prepare_schema(pool: &Pool) -> Result<bool, String> {
    let mut client = pool.get().await.map_err(pool_why)?;
    let encoding: String = client.query_one("SHOW server_encoding", &[]).await.map_err(|e| why(&e))?.get(0);
    if encoding != "UTF8" {
        return Err(format!("its encoding is {encoding}; the state needs a UTF8 database"));
    }
    let tx = client.transaction().await.map_err(|e| why(&e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_SCHEMA]).await.map_err(|e| why(&e))?;
    let present: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("{SCHEMA}.meta")])
        .await
        .map_err(|e| why(&e))?
        .get(0);
    let version: Option<i64> = match present {
        true => tx
            .query_opt(&format!("SELECT value FROM {SCHEMA}.meta WHERE name = 'schema'"), &[])
            .await
            .map_err(|e| why(&e))?
            .map(|row| row.get(0)),
        false => None,
    };
    match version {
        Some(version) if version > SCHEMA_VERSION => {
            return Err(format!("its schema {SCHEMA} is version {version}, newer than this harness's {SCHEMA_VERSION}"))
        }
        Some(version) if version == SCHEMA_VERSION => return Ok(false),
        _ => {}
    }
    let create = format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA}; SET LOCAL search_path = {SCHEMA}; \
         CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value bigint NOT NULL); {DDL} \
         INSERT INTO meta (name, value) VALUES ('schema', {SCHEMA_VERSION}) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value;"
    );
    tx.batch_execute(&create).await.map_err(|e| format!("creating the schema {SCHEMA}: {e}"))?;
    tx.commit().await.map_err(|e| why(&e))?;
    Ok(true)
}
