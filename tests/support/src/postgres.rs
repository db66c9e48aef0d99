//! A throwaway PostgreSQL cluster for tests, from the machine's own PostgreSQL (Debian's
//! `postgresql` package), with std alone.
//!
//! One cluster serves a whole test process ([`cluster`]); each test takes a database of its
//! own ([`Cluster::database`]), which keeps tests apart. A test that stops the server takes a
//! cluster of its own ([`own`]), so no other test sees it go down.
//!
//! The shared cluster is not stopped by the process that started it: `pg_ctl` detaches the
//! server, and a Rust test binary runs nothing at exit. A detached shell watches the process
//! and stops the server (and removes its folder) a second after it is gone. Should that shell
//! be killed too, the folder's name, `dd-pg-<pid>-<random>` under the temporary directory,
//! lets the next cluster start on the machine stop that server and remove the folder.
//!
//! Without PostgreSQL, tests skip ([`Availability::or_skip`]); with
//! `DOTDIGITAL_REQUIRE_POSTGRES=1` (CI sets it) they panic saying why, so none is skipped
//! silently.

use std::ops::Deref;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Set to 1, a cluster that cannot be had fails the test instead of skipping it.
const REQUIRE: &str = "DOTDIGITAL_REQUIRE_POSTGRES";

/// A running PostgreSQL server on 127.0.0.1, trusting every connection as user `postgres`.
pub struct Cluster {
    port: u16,
    /// Holds `data/`, the server's `log` and its socket.
    dir: PathBuf,
    tools: Tools,
}

/// A cluster (the shared one unless said otherwise), or why there is none.
pub enum Availability<T = &'static Cluster> {
    Ready(T),
    Missing(String),
}

impl<T> Availability<T> {
    /// The cluster, or None after printing `skipped: <why>` to stderr:
    /// `let Some(pg) = postgres::cluster().or_skip() else { return };`
    pub fn or_skip(self) -> Option<T> {
        match self {
            Availability::Ready(cluster) => Some(cluster),
            Availability::Missing(why) => {
                eprintln!("skipped: {why}");
                None
            }
        }
    }
}

/// The process's shared cluster, started on first use, or why there is none. Panics with the
/// reason instead when `DOTDIGITAL_REQUIRE_POSTGRES=1`.
pub fn cluster() -> Availability {
    static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
    available(SHARED.get_or_init(Cluster::new).as_ref().map_err(Clone::clone))
}

/// A new cluster of the caller's own, for a test that stops and starts the server, or why
/// there is none. Panics with the reason instead when `DOTDIGITAL_REQUIRE_POSTGRES=1`.
pub fn own() -> Availability<OwnedCluster> {
    available(Cluster::new().map(OwnedCluster))
}

fn available<T>(cluster: Result<T, String>) -> Availability<T> {
    match cluster {
        Ok(cluster) => Availability::Ready(cluster),
        Err(why) if std::env::var(REQUIRE).is_ok_and(|v| v == "1") => {
            panic!("PostgreSQL is required ({REQUIRE}=1) but there is none: {why}")
        }
        Err(why) => Availability::Missing(why),
    }
}

impl Cluster {
    /// A new empty database; returns its URL, `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn database(&self) -> String {
        // A cluster belongs to one process, so the process's count alone keeps names apart.
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let name = format!("t_{}", COUNT.fetch_add(1, Ordering::Relaxed));
        let mut createdb = Command::new(self.tools.bin.join("createdb"));
        createdb.args(["-h", "127.0.0.1", "-U", "postgres", "-p", &self.port.to_string(), &name]);
        if let Err(why) = run(&mut createdb) {
            panic!("{why}");
        }
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes the folder and the cluster and starts the server, trying another port when the one found
    /// free was taken before the server bound it. A failure leaves nothing behind.
    fn new() -> Result<Cluster, String> {
        let tools = Tools::find()?;
        sweep_stale(&tools);
        let mut cluster = Cluster { port: 0, dir: crate::temp_dir("pg"), tools };
        match cluster.init() {
            Ok(()) => {
                cluster.watch();
                Ok(cluster)
            }
            Err(why) => {
                cluster.remove();
                Err(why)
            }
        }
    }

    fn init(&mut self) -> Result<(), String> {
        if self.tools.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&self.dir))?;
        }
        // C with UTF-8 exists on every machine, whatever locale the environment names; a test
        // cluster need not survive a crash, so nothing is synced.
        let mut initdb = self.tools.command("initdb", &self.dir);
        initdb.args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D"]);
        run(initdb.arg(self.data()))?;
        let mut tries = 0;
        loop {
            self.port = free_port()?;
            tries += 1;
            match self.pg_start() {
                Err(why) if tries < 3 => eprintln!("PostgreSQL did not start on port {}, retrying: {why}", self.port),
                started => return started,
            }
        }
    }

    /// `pg_ctl start` on the cluster's port, waiting until it accepts connections.
    fn pg_start(&self) -> Result<(), String> {
        // pg_ctl runs the server through the shell, so the folder is quoted. Durability is
        // worth nothing to a test and costs time.
        let options = format!(
            "-p {} -h 127.0.0.1 -k {} -c max_connections=200 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            shell_word(&self.dir)
        );
        let mut pg_ctl = self.tools.command("pg_ctl", &self.dir);
        pg_ctl.args(["-w", "-t", "30", "-l"]).arg(self.dir.join("log")).arg("-D").arg(self.data());
        run(pg_ctl.arg("-o").arg(options).arg("start"))
            .map(drop)
            .map_err(|why| format!("{why}; its log ends:\n{}", self.log_tail()))
    }

    /// A detached shell that stops the server and removes its folder once this process is
    /// gone: a test binary runs nothing at exit, and the sweep only helps the next run.
    fn watch(&self) {
        let runuser = if self.tools.as_postgres { "runuser -u postgres -- " } else { "" };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; cd {dir} && {runuser}{pg_ctl} -w -m immediate -D {data} stop; rm -rf {dir}",
            pid = std::process::id(),
            dir = shell_word(&self.dir),
            pg_ctl = shell_word(&self.tools.bin.join("pg_ctl")),
            data = shell_word(&self.data()),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }

    /// Stops the server at once, if it runs, and removes the folder.
    fn remove(&self) {
        let _ = self.tools.pg_stop(&self.dir, "immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

/// A cluster of one test's own: it may stop and start the server. Dropped, the server stops at
/// once and its folder is removed.
pub struct OwnedCluster(Cluster);

impl OwnedCluster {
    /// Stops the server (`pg_ctl -m fast stop`), to prove what happens while the store is down.
    pub fn stop(&self) {
        if let Err(why) = self.tools.pg_stop(&self.dir, "fast") {
            panic!("{why}");
        }
    }

    /// Starts the server again on the same port; returns once it accepts connections.
    pub fn start(&self) {
        if let Err(why) = self.0.pg_start() {
            panic!("{why}");
        }
    }
}

impl Deref for OwnedCluster {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Drop for OwnedCluster {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Where PostgreSQL's programs are, and whether the server's must run as the `postgres` user
/// (PostgreSQL refuses to run as root).
struct Tools {
    bin: PathBuf,
    as_postgres: bool,
}

impl Tools {
    fn find() -> Result<Tools, String> {
        let bin = bin_dir()?;
        // /proc/self belongs to the process's effective user.
        let as_postgres = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        Ok(Tools { bin, as_postgres })
    }

    /// `program` of the server's (initdb, pg_ctl), run in `dir`: the postgres user may not be
    /// allowed into the caller's working directory.
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
            runuser
        } else {
            Command::new(self.bin.join(program))
        };
        command.current_dir(dir);
        command
    }

    /// `pg_ctl stop` of the cluster in `dir`, waiting until the server is gone.
    fn pg_stop(&self, dir: &Path, mode: &str) -> Result<(), String> {
        run(self.command("pg_ctl", dir).args(["-w", "-m", mode, "-D"]).arg(dir.join("data")).arg("stop")).map(drop)
    }
}

/// Debian's newest `/usr/lib/postgresql/<version>/bin` (not on PATH), else `pg_config
/// --bindir`, else the folder on PATH that holds `initdb`.
fn bin_dir() -> Result<PathBuf, String> {
    let has_initdb = |bin: &PathBuf| bin.join("initdb").is_file();
    if let Some(bin) = debian_bin_dir() {
        return Ok(bin);
    }
    if let Some(bin) = run(Command::new("pg_config").arg("--bindir")).ok().map(|out| PathBuf::from(out.trim())) {
        if has_initdb(&bin) {
            return Ok(bin);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).find(has_initdb).ok_or_else(|| {
        "no /usr/lib/postgresql/*/bin/initdb and no initdb on PATH: install Debian's postgresql package".to_string()
    })
}

fn debian_bin_dir() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let version = |name: &str| name.split('.').map(|n| n.parse().unwrap_or(0)).collect::<Vec<u32>>();
    versions
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("bin/initdb").is_file())
        .max_by_key(|entry| version(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path().join("bin"))
}

/// Stops the servers of cluster folders whose process is gone and removes the folders (see
/// the module's documentation). Failures are ignored: another process may be clearing the
/// same folder.
fn sweep_stale(tools: &Tools) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for dir in entries.filter_map(|entry| entry.ok()).map(|entry| entry.path()) {
        let Some(pid) = dir.file_name().and_then(|name| name.to_str()).and_then(owner_pid) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = tools.pg_stop(&dir, "immediate");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// The process that made a cluster folder, from its name `dd-pg-<pid>-<16 hex digits>`
/// ([`crate::temp_dir`]'s).
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix("dd-pg-")?.split_once('-')?;
    let random_ok = random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit());
    random_ok.then(|| pid.parse().ok()).flatten()
}

/// A loopback port free now; the server may still lose it to another process before it binds,
/// which is why a failed start is tried again.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// `path` as one word for `/bin/sh`.
fn shell_word(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// Runs `command` and returns its stdout; a failure names the command and its stderr, so a CI
/// log says why.
fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| format!("{command:?} could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!("{command:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `select 1` through psql, connecting by the URL itself, so the URL is proven too.
    fn select_1(cluster: &Cluster, url: &str) -> Result<String, String> {
        run(Command::new(cluster.tools.bin.join("psql")).args(["-X", "-At", "-c", "select 1", "-d", url]))
    }

    #[test]
    fn the_shared_cluster_gives_each_caller_a_database_of_its_own() {
        let Some(pg) = cluster().or_skip() else { return };
        let urls: Vec<String> = std::thread::scope(|s| {
            let takers: Vec<_> = (0..4).map(|_| s.spawn(|| pg.database())).collect();
            takers.into_iter().map(|taker| taker.join().unwrap()).collect()
        });
        for (i, url) in urls.iter().enumerate() {
            assert!(url.starts_with(&format!("postgres://postgres@127.0.0.1:{}/t_", pg.port())), "{url}");
            assert!(!urls[..i].contains(url), "{url} given twice");
            assert_eq!(select_1(pg, url).unwrap(), "1\n");
        }
    }

    #[test]
    fn an_owned_cluster_stops_starts_and_goes_when_dropped() {
        let Some(pg) = own().or_skip() else { return };
        let url = pg.database();
        assert_eq!(select_1(&pg, &url).unwrap(), "1\n");
        pg.stop();
        assert!(select_1(&pg, &url).is_err(), "a stopped server answered");
        pg.start();
        assert_eq!(select_1(&pg, &url).unwrap(), "1\n");
        let (dir, port) = (pg.dir.clone(), pg.port());
        drop(pg);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the server outlived its cluster");
    }

    #[test]
    fn folders_of_gone_processes_are_cleared_and_live_ones_kept() {
        let Some(pg) = cluster().or_skip() else { return };
        // Linux's pids stay below 2^22, so no process has this one.
        let gone = std::env::temp_dir().join(format!("dd-pg-{}-{:016x}", u32::MAX, crate::random_u64()));
        std::fs::create_dir_all(gone.join("data")).unwrap();
        let live = crate::temp_dir("pg");
        sweep_stale(&pg.tools);
        assert!(!gone.exists(), "{} kept", gone.display());
        assert!(live.exists() && pg.dir.exists(), "a live process's folder was removed");
        std::fs::remove_dir_all(live).unwrap();
    }

    #[test]
    fn only_cluster_folders_name_an_owner() {
        assert_eq!(owner_pid("dd-pg-42-00000000deadbeef"), Some(42));
        assert_eq!(owner_pid("dd-pg-42-deadbeef"), None);
        assert_eq!(owner_pid("dd-pgx-42-00000000deadbeef"), None);
        assert_eq!(owner_pid("dd-pg-x-00000000deadbeef"), None);
    }
}
