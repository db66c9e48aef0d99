//! Where a PostgreSQL store is: a `postgres://` URL, with what the `PG*` environment and the
//! password file add as `libpq` would, the session options the store needs, and how it is
//! shown (never with its password).

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::schema::SCHEMA;
use super::why;

/// How long the server lets one statement run, or wait for a lock, before it cancels it (and
/// with it the transaction): a write the harness gave up on is never committed after all.
pub(super) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection may take when the URL and `PGCONNECT_TIMEOUT` say nothing.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL database `--state` names: the URL with what the `PG*` environment adds, and
/// how it is shown (never with its password).
#[derive(Clone)]
pub struct PgLocation {
    config: tokio_postgres::Config,
    shown: String,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgLocation {
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Reads a `postgres://` URL; what it leaves out comes from `env` as `libpq` takes it:
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` (then `PGPASSFILE` or `~/.pgpass`),
    /// `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGSSLMODE`, `PGOPTIONS`.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<PgLocation, String> {
        // The scheme is read without case, as `is_url` reads it; tokio-postgres wants it lower.
        let lowered;
        let text = match text.find("://") {
            Some(at) if text[..at].bytes().any(|b| b.is_ascii_uppercase()) => {
                lowered = format!("{}{}", text[..at].to_ascii_lowercase(), &text[at..]);
                lowered.as_str()
            }
            _ => text,
        };
        let secret = url_password(text);
        let scrub = |message: String| match secret {
            Some(secret) if !secret.is_empty() => message.replace(secret, "***"),
            _ => message,
        };
        let mut config: tokio_postgres::Config =
            text.parse().map_err(|e: tokio_postgres::Error| scrub(format!("not a PostgreSQL URL: {}", why(&e))))?;
        let given = |name: &str| env(name).filter(|value| !value.is_empty());
        if config.get_hosts().is_empty() {
            let host = given("PGHOST").unwrap_or_else(|| "localhost".into());
            for host in host.split(',') {
                config.host(host);
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = given("PGPORT") {
                config.port(port.parse().map_err(|_| format!("PGPORT {port:?} is not a port"))?);
            }
        }
        if config.get_user().is_none() {
            let user = given("PGUSER").or_else(|| given("USER")).ok_or("no user: give one in the URL or PGUSER")?;
            config.user(user);
        }
        if config.get_dbname().is_none() {
            let dbname = given("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or_default().to_string());
            config.dbname(dbname);
        }
        if config.get_application_name().is_none() {
            config.application_name(given("PGAPPNAME").unwrap_or_else(|| "dotdigital-harness".into()));
        }
        if config.get_connect_timeout().is_none() {
            let seconds = given("PGCONNECT_TIMEOUT").and_then(|s| s.parse::<u64>().ok()).filter(|s| *s > 0);
            config.connect_timeout(seconds.map_or(CONNECT_TIMEOUT, Duration::from_secs));
        }
        // libpq's sslmode defaults to `prefer`; this client has no TLS, so a store that asks
        // for it is refused here rather than reached in the clear.
        let sslmode = query_value(text, "sslmode").or_else(|| given("PGSSLMODE"));
        if let Some(mode) = sslmode.filter(|mode| !matches!(mode.as_str(), "disable" | "allow" | "prefer")) {
            return Err(format!(
                "sslmode={mode} needs TLS, which this harness's PostgreSQL client does not have: reach the \
                 server over a trusted network or a tunnel, with sslmode=disable"
            ));
        }
        let options = [config.get_options().map(str::to_string), given("PGOPTIONS")]
            .into_iter()
            .flatten()
            .chain([format!(
                "-c search_path={SCHEMA} -c default_transaction_isolation=read\\ committed \
                 -c statement_timeout={ms} -c lock_timeout={ms}",
                ms = STATEMENT_TIMEOUT.as_millis()
            )])
            .collect::<Vec<_>>()
            .join(" ");
        config.options(options);
        let shown = shown(&config);
        if config.get_password().is_none() {
            if let Some(password) = given("PGPASSWORD").or_else(|| pgpass(&config, &given)) {
                config.password(password);
            }
        }
        Ok(PgLocation { config, shown })
    }

    /// `postgres://user@host:port/database`: never the password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The connection's settings: the store connects with these.
    pub(super) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Removes the password from a message (a server's error could echo what it was sent).
    pub(super) fn scrub(&self, message: String) -> String {
        match self.config.get_password().map(String::from_utf8_lossy) {
            Some(secret) if !secret.is_empty() => message.replace(secret.as_ref(), "***"),
            _ => message,
        }
    }
}

fn shown(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = config.get_ports().get(i).or(config.get_ports().first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// The password between `user:` and `@` of a URL, as written.
fn url_password(text: &str) -> Option<&str> {
    let rest = &text[text.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, password)| password)
}

/// A query parameter of the URL, as written.
fn query_value(text: &str, name: &str) -> Option<String> {
    let query = text.split_once('?')?.1;
    query.split('&').find_map(|pair| pair.split_once('=').filter(|(key, _)| *key == name).map(|(_, v)| v.to_string()))
}

/// The password `libpq` would take from the password file (`PGPASSFILE`, or `~/.pgpass`):
/// the first `host:port:database:user:password` line matching, `*` matching anything. Like
/// libpq, a file others may read is ignored.
fn pgpass(config: &tokio_postgres::Config, given: &impl Fn(&str) -> Option<String>) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = given("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| given("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    let metadata = std::fs::metadata(&path).ok()?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first()? {
        Host::Tcp(name) => name.clone(),
        Host::Unix(_) => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let wanted = [host.as_str(), port.as_str(), config.get_dbname()?, config.get_user()?];
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let fields = pgpass_fields(line);
        let matches =
            fields.len() == 5 && fields[..4].iter().zip(wanted).all(|(field, want)| field == "*" || field == want);
        matches.then(|| fields[4].clone())
    })
}

/// A `.pgpass` line's fields: `:` separates them, `\` escapes `:` and `\`.
fn pgpass_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut chars) = (Vec::new(), String::new(), line.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_url_is_shown_without_its_password_and_the_environment_fills_the_rest() {
        let location = PgLocation::parse("postgres://app:s3cr%3At@db.internal:6543/shop", env(&[])).unwrap();
        assert_eq!(location.shown(), "postgres://app@db.internal:6543/shop");
        assert_eq!(location.config.get_password(), Some(&b"s3cr:t"[..]));
        assert_eq!(format!("{location:?}"), "postgres://app@db.internal:6543/shop");
        let location = PgLocation::parse(
            "postgresql://",
            env(&[
                ("PGHOST", "pg1"),
                ("PGPORT", "5433"),
                ("PGUSER", "ops"),
                ("PGPASSWORD", "pw"),
                ("PGDATABASE", "state"),
            ]),
        )
        .unwrap();
        assert_eq!(location.shown(), "postgres://ops@pg1:5433/state");
        assert_eq!(location.config.get_password(), Some(&b"pw"[..]));
        // The URL's own values win over the environment's.
        let location =
            PgLocation::parse("postgres://me@here/db", env(&[("PGUSER", "ops"), ("PGHOST", "pg1")])).unwrap();
        assert_eq!(location.shown(), "postgres://me@here:5432/db");
        assert!(location
            .config
            .get_options()
            .unwrap()
            .starts_with("-c search_path=dotdigital_harness -c default_transaction_isolation=read\\ committed"));
    }

    #[test]
    fn tls_modes_and_bad_urls_are_refused_without_the_password() {
        let error = PgLocation::parse("postgres://u:hunter2@h/db?sslmode=require", env(&[])).unwrap_err();
        assert!(error.contains("sslmode=require") && !error.contains("hunter2"), "{error}");
        let error = PgLocation::parse("postgres://u@h/db", env(&[("PGSSLMODE", "verify-full")])).unwrap_err();
        assert!(error.contains("verify-full"), "{error}");
        let error = PgLocation::parse("postgres://u:hunter2@h:notaport/db", env(&[])).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(PgLocation::is_url("PostgreSQL://x") && !PgLocation::is_url("./postgres"));
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dd-pgpass-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\nh:5432:db:u:first\\:part\n*:*:*:*:fallback\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = file.display().to_string();
        let location = PgLocation::parse("postgres://u@h/db", env(&[("PGPASSFILE", &path)])).unwrap();
        assert_eq!(location.config.get_password(), Some(&b"first:part"[..]));
        let location = PgLocation::parse("postgres://x@h/db", env(&[("PGPASSFILE", &path)])).unwrap();
        assert_eq!(location.config.get_password(), Some(&b"fallback"[..]));
        // Readable by others: ignored, as libpq ignores it.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let location = PgLocation::parse("postgres://u@h/db", env(&[("PGPASSFILE", &path)])).unwrap();
        assert_eq!(location.config.get_password(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
