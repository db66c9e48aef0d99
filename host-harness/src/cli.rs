//! The `dotdigital-harness` command line: stdout carries one JSON line per
//! record; logs go to stderr; exit 0 = every record ok, 1 = some failed, 2 = usage or set-up,
//! 130 = interrupted (Ctrl-C).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::bulk::{BulkFlow, BulkOptions};
use crate::host::data::StateLocation;
use crate::host::log::{Level, LogSink, LogTarget, Redactor};
use crate::platform::{Flow, Platform, PlatformError, PlatformOptions};
use crate::release::Pins;
use crate::retry::RetryPolicy;
use crate::runtime::{CompileCache, SandboxLimits, Upstream};
use dotdigital_sim::{SimConfig, Simulator};

#[derive(Parser)]
#[command(
    name = "dotdigital-harness",
    version,
    about = "Runs the iPaaS.com ↔ Dotdigital connector component the way the platform does"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Syncs sample records against the embedded simulator and prints their outcomes.
    Demo {
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Syncs records of one flow: contact, order or certificate.
    Sync {
        /// contact, order or certificate (`contacts`, `orders`, `certificates` are read the same).
        #[arg(value_parser = flow_name)]
        flow: String,
        #[command(flatten)]
        common: Common,
        /// One iPaaS.com record as JSON, a JSON array, or NDJSON; `-` reads stdin.
        #[arg(long)]
        record: PathBuf,
    },
    /// Loads many records through Dotdigital's import APIs (contacts, or orders with the
    /// contacts they need), resumably: run it again after an interruption to finish the load.
    Bulk {
        /// contact or order (`contacts`, `orders` are read the same).
        #[arg(value_parser = flow_name)]
        flow: String,
        #[command(flatten)]
        common: Common,
        /// iPaaS.com records as NDJSON or a JSON array.
        #[arg(long)]
        input: PathBuf,
        /// Records per import (default: what the component says, 20,000 contacts or 10,000 orders
        /// for this connector; 1,000 for a component older than contract 1.2).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Seconds before an import's first status read (Dotdigital asks for 5–30 s).
        #[arg(long, default_value_t = 5.0)]
        poll_interval: f64,
        /// Forgets this load's ledger and sends every batch again.
        #[arg(long)]
        restart: bool,
        /// The age in seconds an import may reach, counted from when it was started, across
        /// runs: one still running past it stops the load (exit 2), kept in the ledger; run
        /// again with a larger value to wait longer, or with --restart to send it again
        /// (default 3600).
        #[arg(long, default_value_t = crate::bulk::DEFAULT_IMPORT_TIMEOUT.as_secs_f64())]
        import_timeout: f64,
    },
    /// Checks the credentials, the region and each area the flows use.
    Validate {
        #[command(flatten)]
        common: Common,
    },
    /// Prints the plugin's name, versions, flows, settings and checksum.
    Describe {
        /// `json`: what the component is; `json-schema`: its settings file as a JSON Schema
        /// (secrets marked `writeOnly`).
        #[arg(long, value_enum, default_value_t = DescribeFormat::Json)]
        format: DescribeFormat,
        /// A component other than the embedded one.
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Refuse the component unless its SHA-256 is this.
        #[arg(long)]
        sha256: Option<String>,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Writes the release artifact: `ipaas-dotdigital-<version>.wasm`, its `.sha256` and
    /// `manifest.json`.
    Package {
        #[arg(long)]
        out: PathBuf,
        /// A component other than the embedded one.
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Refuse the component unless its SHA-256 is this.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Pins a subscription to the component: writes `dotdigital.lock` beside its settings.
    Pin {
        /// The subscription's settings file; the lock is written in its directory.
        #[arg(long, env = "DOTDIGITAL_SETTINGS")]
        settings: PathBuf,
        /// A component other than the embedded one.
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Refuse the component unless its SHA-256 is this.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Prints a shell completion script: `dotdigital-harness completions bash > …`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Serves the Dotdigital simulator on loopback until interrupted; prints
    /// `{"api":"http://…","control":"http://…"}` on stdout.
    Sim {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Port of the control API (`/_sim/…`); 0 = any free port.
        #[arg(long, default_value_t = 0)]
        control_port: u16,
        /// A JSON array of accounts instead of the demo one:
        /// `[{"id":1,"name":"Shop","api_user":"…","api_password":"…","region":"r2"}]` (see the README).
        #[arg(long)]
        accounts: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DescribeFormat {
    Json,
    JsonSchema,
}

#[derive(Args)]
struct Common {
    /// Subscription settings JSON. The password may instead come from `api_password_file` in
    /// it or from `DOTDIGITAL_API_PASSWORD`.
    #[arg(long, env = "DOTDIGITAL_SETTINGS")]
    settings: PathBuf,
    /// `sim` (embedded simulator), `live` (Dotdigital), or `http://HOST:PORT`.
    #[arg(long, env = "DOTDIGITAL_UPSTREAM", default_value = "sim")]
    upstream: String,
    /// Where persistent data is kept (region cache, certificate markers, bulk ledgers, the
    /// shared rate limit): a directory (SQLite, for the processes of one machine) or a
    /// `postgres://USER@HOST:PORT/DB` URL (for hosts on several machines; `PG*` variables and
    /// `~/.pgpass` fill in what it leaves out).
    #[arg(long, env = "DOTDIGITAL_STATE", hide_env_values = true)]
    state: Option<PathBuf>,
    /// A component other than the embedded one.
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// Refuse the component unless its SHA-256 is this (a `dotdigital.lock` beside the
    /// settings pins it too).
    #[arg(long)]
    sha256: Option<String>,
    /// Seconds one HTTP request may take, connect to last byte.
    #[arg(long, default_value_t = 121)]
    call_timeout: u64,
    /// Tries per record, the first included, when Dotdigital (or the state store) is
    /// unavailable or rate-limits; 1 reports the first failure.
    #[arg(long, default_value_t = RetryPolicy::default().max_attempts, value_parser = clap::value_parser!(u32).range(1..=20))]
    attempts: u32,
    #[command(flatten)]
    verbosity: Verbosity,
    #[command(flatten)]
    cache: CacheArgs,
}

/// How much goes to stderr: `--log-level`, `-q`, `-v`, else `RUST_LOG`, else info.
#[derive(Args)]
struct Verbosity {
    /// The least severe log line shown (default info, or `RUST_LOG` when it names a level).
    #[arg(long, value_enum, conflicts_with_all = ["quiet", "verbose"])]
    log_level: Option<LogLevel>,
    /// Errors only (`--log-level error`).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Everything (`--log-level debug`).
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl Verbosity {
    fn level(&self) -> Level {
        match (self.log_level, self.quiet, self.verbose) {
            (_, true, _) | (Some(LogLevel::Error), ..) => Level::Error,
            (_, _, true) | (Some(LogLevel::Debug), ..) => Level::Debug,
            (Some(LogLevel::Warn), ..) => Level::Warn,
            (Some(LogLevel::Info), ..) => Level::Info,
            (None, ..) => std::env::var("RUST_LOG").ok().and_then(|v| level_from_rust_log(&v)).unwrap_or(Level::Info),
        }
    }
}

/// The level `RUST_LOG` gives this program: a bare level (`debug`) or one for a `dotdigital…`
/// target (`dotdigital_harness=warn`); `trace` is `debug`, `off` is `error`. Anything else is
/// another program's setting and is left alone.
fn level_from_rust_log(value: &str) -> Option<Level> {
    let word = |w: &str| match w.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(Level::Debug),
        "off" => Some(Level::Error),
        other => Level::parse(other),
    };
    let directives: Vec<&str> = value.split(',').collect();
    let ours = directives.iter().find_map(|d| {
        let (target, level) = d.split_once('=')?;
        target.trim().starts_with("dotdigital").then(|| word(level)).flatten()
    });
    ours.or_else(|| directives.iter().filter(|d| !d.contains('=')).find_map(|d| word(d)))
}

/// `contact`, `order`, `certificate`: one spelling per flow in every command and output;
/// the plural is accepted as typed.
fn flow_name(value: &str) -> Result<String, String> {
    let singular = value.strip_suffix('s').unwrap_or(value);
    match singular {
        "contact" | "order" | "certificate" => Ok(singular.to_string()),
        _ => Err(format!("{value}: use contact, order or certificate")),
    }
}

/// Where the compiled component is kept between processes.
#[derive(Args)]
struct CacheArgs {
    /// Directory of compiled components (default `$XDG_CACHE_HOME/dotdigital-harness`, else
    /// `~/.cache/dotdigital-harness`).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile the component in this process; read and write no cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    fn cache(&self) -> CompileCache {
        CompileCache::from_args(self.cache_dir.clone(), self.no_cache)
    }
}

/// How a command that ran ended: exit status 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    /// Every record (or the validation) was ok.
    AllOk,
    /// Some record failed; each failure is on stdout.
    SomeFailed,
}

impl Finished {
    fn from_all_ok(all_ok: bool) -> Finished {
        if all_ok {
            Finished::AllOk
        } else {
            Finished::SomeFailed
        }
    }
}

/// Why a command stopped before (or instead of) reporting records: exit status 2 (130 when
/// interrupted).
#[derive(Debug)]
enum CliError {
    /// An argument is not usable as given.
    Usage(String),
    /// Settings, plugin, simulator, state or output: something the run needs failed.
    Setup(anyhow::Error),
    /// Ctrl-C stopped the run: how far it got and how to go on (exit status 130).
    Interrupted(crate::interrupt::Interrupted),
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<crate::interrupt::Interrupted>() {
            Ok(interrupted) => CliError::Interrupted(interrupted),
            Err(error) => CliError::Setup(error),
        }
    }
}

impl From<crate::release::ReleaseError> for CliError {
    fn from(error: crate::release::ReleaseError) -> Self {
        CliError::Setup(anyhow::Error::new(error))
    }
}

impl From<crate::LoadPluginError> for CliError {
    fn from(error: crate::LoadPluginError) -> Self {
        CliError::Setup(anyhow::Error::new(error))
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(message) => f.write_str(message),
            CliError::Setup(error) => write!(f, "{error:#}"),
            CliError::Interrupted(interrupted) => interrupted.fmt(f),
        }
    }
}

/// The README's exit statuses, chosen by type.
fn exit_status(result: &Result<Finished, CliError>) -> u8 {
    match result {
        Ok(Finished::AllOk) => 0,
        Ok(Finished::SomeFailed) => 1,
        Err(CliError::Usage(_) | CliError::Setup(_)) => 2,
        Err(CliError::Interrupted(_)) => crate::interrupt::EXIT_STATUS,
    }
}

pub async fn main() -> ExitCode {
    // An empty variable is an unset one (`DOTDIGITAL_STATE= cmd`), not an empty path.
    for name in ["DOTDIGITAL_SETTINGS", "DOTDIGITAL_STATE", "DOTDIGITAL_UPSTREAM"] {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(name);
        }
    }
    let mut command = Cli::command();
    if std::env::args_os().skip(1).any(|a| a == "--version" || a == "-V") {
        command = command.version(&*Box::leak(long_version().into_boxed_str()));
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = match cli.command {
        Command::Demo { cache } => {
            crate::demo::run(&cache.cache()).await.map(|()| Finished::AllOk).map_err(CliError::Setup)
        }
        Command::Sync { flow, common, record } => sync(&flow, common, &record).await,
        Command::Bulk { flow, common, input, batch_size, poll_interval, restart, import_timeout } => {
            bulk(&flow, common, input, batch_size, (poll_interval, import_timeout), restart).await
        }
        Command::Validate { common } => validate(common).await,
        Command::Describe { format, plugin, sha256, cache } => {
            describe(format, plugin.as_deref(), sha256.as_deref(), &cache.cache()).await
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dotdigital-harness", &mut script);
            print_out(String::from_utf8_lossy(&script).trim_end()).map(|()| Finished::AllOk)
        }
        Command::Package { out, plugin, sha256 } => package(&out, plugin.as_deref(), sha256.as_deref()).await,
        Command::Pin { settings, plugin, sha256 } => pin(&settings, plugin.as_deref(), sha256.as_deref()).await,
        Command::Sim { port, control_port, accounts } => {
            sim(port, control_port, accounts.as_deref()).await.map_err(CliError::Setup)
        }
    };
    if let Err(error) = &result {
        // A person reads a terminal; a program reads a pipe.
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("error: {error}");
        } else {
            eprintln!("{}", serde_json::json!({"level": "error", "source": "host", "message": error.to_string()}));
        }
    }
    ExitCode::from(exit_status(&result))
}

/// `--version`: the harness's version, the revision it was built from, and the SHA-256 of the
/// component it embeds (what `--sha256` and `dotdigital.lock` pin).
fn long_version() -> String {
    let bytes = crate::EMBEDDED_PLUGIN;
    let revision = crate::runtime::metadata::Identity::read(bytes)
        .ok()
        .and_then(|identity| identity.revision)
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{} (revision {revision}; embedded component sha256 {}; contract {}@{})",
        env!("CARGO_PKG_VERSION"),
        crate::digest::sha256_hex(bytes),
        crate::runtime::contract::PACKAGE,
        crate::runtime::contract::CONTRACT_VERSION
    )
}

/// A subscription ready to run: its platform, the embedded simulator when `--upstream sim`
/// (it lives as long as this), the settings as read (secrets included), and where requests go.
struct Session {
    platform: Arc<Platform>,
    _sim: Option<Simulator>,
    settings: serde_json::Value,
    upstream: String,
}

impl Session {
    /// A set-up error of this session's run, redacted here, at the edge: what the library
    /// returns (Dotdigital's answers, the plugin's text) may name a subscription's secret.
    fn fail(&self, error: impl std::fmt::Display) -> CliError {
        let message = format!("{error:#}");
        CliError::Setup(anyhow::Error::msg(self.platform.log().redactor().apply(&message)))
    }
}

/// Loads the plugin and the subscription, starting an embedded simulator for `sim`.
async fn platform(common: &Common, flow: &str) -> Result<Session, CliError> {
    platform_with(common, SandboxLimits::default(), flow).await
}

/// `platform`, with `limits` for everything but the call timeout (which `--call-timeout` sets).
/// `flow` says what the run does with the state, for the warnings about where data goes.
async fn platform_with(common: &Common, limits: SandboxLimits, flow: &str) -> Result<Session, CliError> {
    let level = common.verbosity.level();
    let mut settings = read_json(&common.settings)?;
    let env_password = std::env::var(crate::settings::PASSWORD_ENV).ok();
    crate::settings::resolve_password(&mut settings, &common.settings, env_password)
        .map_err(|problem| CliError::Setup(anyhow::anyhow!("settings {}: {problem}", common.settings.display())))?;
    // Until the settings are read, the secrets are whatever the file holds under their keys,
    // strings or not (a type error would otherwise echo a numeric password).
    let secrets = ["api_password", "integration_token"]
        .iter()
        .filter_map(|key| settings.get(*key))
        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    let boot = Redactor::new(secrets);
    let boot_log = LogSink::new(LogTarget::Stderr, level, boot.clone());
    let limits = SandboxLimits { call_timeout: Duration::from_secs(common.call_timeout.max(1)), ..limits };
    let pins = Pins::default()
        .with_flag(common.sha256.as_deref())
        .map_err(|e| CliError::Usage(e.to_string()))?
        .with_lock_beside(&common.settings)?;
    let cache = common.cache.cache();
    let plugin = crate::load_plugin_cached(common.plugin.as_deref(), &pins, limits, boot_log.clone(), &cache).await?;
    let (upstream, sim, described) = match common.upstream.as_str() {
        "sim" => {
            let sim = Simulator::start(SimConfig::demo(), 0).await.context("starting the simulator")?;
            let described = "the embedded Dotdigital simulator".to_string();
            (Upstream::Forward(sim.addr()), Some(sim), described)
        }
        "live" => (Upstream::Live, None, "Dotdigital's live API (https://r1|r2|r3-api.dotdigital.com)".to_string()),
        other => {
            let upstream = Upstream::parse_forward(other).map_err(|e| CliError::Usage(e.to_string()))?;
            (upstream, None, format!("the server at {}", other.trim_end_matches('/')))
        }
    };
    boot_log.emit(
        Level::Info,
        &match &sim {
            Some(_) => {
                "upstream: the embedded Dotdigital simulator: nothing leaves this machine, and what it holds is \
                        gone when the run ends (--upstream live or http://HOST:PORT to send elsewhere)"
                    .to_string()
            }
            None => format!("upstream: {described}"),
        },
    );
    // Read here, not by clap: clap's refusal would echo the URL, password and all.
    let state = common
        .state
        .as_deref()
        .map(StateLocation::from_arg)
        .transpose()
        .map_err(|why| CliError::Usage(format!("--state: {why}")))?;
    if common.state.is_none() && matches!(flow, "bulk" | "certificate") {
        let lost = match flow {
            "bulk" => "the load's ledger is kept in memory only: an interrupted load cannot resume",
            _ => "which certificates were announced is kept in memory only: a later run may email a customer again",
        };
        boot_log.emit(Level::Warn, &format!("no --state: {lost}; give --state DIR to keep it"));
    }
    let retry = RetryPolicy { max_attempts: common.attempts, ..RetryPolicy::default() };
    let options = PlatformOptions { state, retry, log_level: level, ..PlatformOptions::new(upstream) };
    // A refused value may be a secret of the wrong type: the message goes through the redactor.
    let platform = Platform::new(plugin, &settings, options).map_err(|e| {
        // The state's own error names its file; only a settings problem is the settings file's.
        let message = match &e {
            PlatformError::Settings(_) => format!("settings {}: {e}", common.settings.display()),
            PlatformError::State(_) => e.to_string(),
        };
        CliError::Setup(anyhow::Error::msg(boot.apply(&message)))
    })?;
    Ok(Session { platform: Arc::new(platform), _sim: sim, settings, upstream: described })
}

async fn sync(flow: &str, common: Common, record: &Path) -> Result<Finished, CliError> {
    let flow = Flow::parse(flow).ok_or_else(|| CliError::Usage(format!("unknown flow {flow}")))?;
    let input: Box<dyn BufRead + Send> = if record == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(record).and_then(|file| {
            // Opening a folder succeeds on Linux; reading it is what fails.
            match file.metadata()?.is_dir() {
                true => Err(std::io::Error::from(std::io::ErrorKind::IsADirectory)),
                false => Ok(file),
            }
        });
        let file = file
            .map_err(|e| CliError::Usage(format!("--record {}: {}", record.display(), crate::errors::io_reason(&e))))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let session = platform(&common, flow.name()).await?;
    let platform = &session.platform;
    let mut stdout = crate::terminal::Stdout::new();
    let (input, mut progress) = crate::terminal::record_progress(flow.name(), input, record);
    crate::interrupt::listen();
    let summary = platform
        .run_reporting(flow, input, &mut stdout, &mut |line| {
            if let Some(progress) = &mut progress {
                progress.record(line["ok"] == serde_json::Value::Bool(true));
            }
        })
        .await
        .map_err(|e| session.fail(e))?;
    // Interrupted, the bar stays as it stopped; either way its line ends before the summary.
    if let Some(progress) = progress.filter(|_| !summary.interrupted && summary.stopped.is_none()) {
        progress.finish();
    }
    if platform.log().enabled(Level::Info) {
        let (ok, failed, not_attempted) = (summary.ok, summary.failed, summary.not_attempted);
        crate::terminal::write_line(&serde_json::json!({
            "level": "info", "source": "host", "subscription": platform.subscription().host.name,
            "message": format!("{} record(s): {ok} ok, {failed} failed, {not_attempted} not attempted", ok + failed + not_attempted),
            "ok": ok, "failed": failed, "not_attempted": not_attempted,
            "peak_rss_kib": peak_rss_kib(),
        })
        .to_string());
    }
    if summary.interrupted {
        // Every sync is an upsert (and a certificate's email is claimed once in the state):
        // running the whole input again is safe, and the simplest way to finish.
        let again = "; run the same command again to finish (records already synced are updated in place)";
        let done = summary.ok + summary.failed;
        let (ok, failed, not_attempted) = (summary.ok, summary.failed, summary.not_attempted);
        return Err(CliError::Interrupted(crate::interrupt::Interrupted(if summary.rest_unread {
            format!(
                "interrupted after {done} record(s) ({ok} ok, {failed} failed): {not_attempted} more read and not \
                 attempted, and the rest of the input was not read{again}"
            )
        } else {
            format!(
                "interrupted after {done} of {} records ({ok} ok, {failed} failed): {not_attempted} not \
                 attempted{again}",
                done + not_attempted
            )
        })));
    }
    if let Some(stop) = &summary.stopped {
        let settings = common.settings.display().to_string();
        return Err(session.fail(stop.message(&session.upstream, &settings, summary.not_attempted)));
    }
    Ok(Finished::from_all_ok(summary.failed == 0))
}

async fn bulk(
    flow: &str,
    common: Common,
    input: PathBuf,
    batch_size: Option<usize>,
    (poll_interval, import_timeout): (f64, f64),
    restart: bool,
) -> Result<Finished, CliError> {
    let flow = BulkFlow::parse(flow).ok_or_else(|| {
        CliError::Usage(format!("bulk {flow}: only contact and order records load in bulk (certificates each send an email: use sync certificate)"))
    })?;
    // Status reads count against the account's rate limit: never a tight loop, never a day.
    if !(0.1..=3600.0).contains(&poll_interval) {
        return Err(CliError::Usage(format!("--poll-interval {poll_interval}: between 0.1 and 3600 seconds")));
    }
    let poll_interval = Duration::from_secs_f64(poll_interval);
    // Never forever: at most a day, and at least one status read.
    if !(poll_interval.as_secs_f64()..=86_400.0).contains(&import_timeout) {
        return Err(CliError::Usage(format!(
            "--import-timeout {import_timeout}: between --poll-interval and 86400 seconds"
        )));
    }
    let import_timeout = Duration::from_secs_f64(import_timeout);
    // A batch of 20,000 records, its import body and its report take more than one record:
    // memory for the batch, and text for a report that may name every record in it.
    let limits = SandboxLimits { memory_bytes: 256 << 20, max_result_bytes: 32 << 20, ..SandboxLimits::default() };
    let session = platform_with(&common, limits, "bulk").await?;
    let platform = &session.platform;
    // What shapes the imports besides the input: the settings without secrets, and the
    // component. A load resumes only with the same (another collection is another load).
    let mut settings = session.settings.clone();
    if let Some(object) = settings.as_object_mut() {
        object.remove("api_password");
        object.remove("integration_token");
    }
    let shape = format!("{settings}|{}", platform.plugin_sha256());
    // The component says how large an import may be and how many may run at once.
    let limits = crate::bulk::limits::of(platform).await.map_err(|e| session.fail(e))?;
    let import = crate::bulk::limits::of_kind(&limits, flow.import_kind());
    // An orders load imports its contacts first, in batches of the same size.
    let max = match flow {
        BulkFlow::Contacts => limits.contacts.max_records_per_import,
        BulkFlow::Orders => limits.orders.max_records_per_import.min(limits.contacts.max_records_per_import),
    };
    let batch_size = batch_size.unwrap_or(import.records_per_import.min(max) as usize);
    if !(1..=max as usize).contains(&batch_size) {
        return Err(CliError::Usage(format!(
            "--batch-size {batch_size}: between 1 and {max} records (the most this component takes in one import)"
        )));
    }
    let options = BulkOptions { flow, input, batch_size, limits, poll_interval, restart, import_timeout, shape };
    let mut stdout = crate::terminal::Stdout::new();
    crate::interrupt::listen();
    let summary = crate::bulk::run(platform, &options, &mut stdout).await.map_err(|e| match e {
        crate::bulk::BulkError::Interrupted(interrupted) => CliError::Interrupted(interrupted),
        crate::bulk::BulkError::Stopped(message) => session.fail(message),
    })?;
    Ok(Finished::from_all_ok(summary.records.failed == 0))
}

/// The process's peak resident memory (Linux), so bulk loads can show it does not grow.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn validate(common: Common) -> Result<Finished, CliError> {
    let session = platform(&common, "validate").await?;
    let line = session.platform.validate().await;
    print_out(&line.to_string())?;
    Ok(Finished::from_all_ok(line["ok"] == serde_json::Value::Bool(true)))
}

/// Loads a component with nothing but `--sha256` pinning it (no settings, no lock).
async fn load_pinned(
    plugin: Option<&Path>,
    sha256: Option<&str>,
    cache: &CompileCache,
) -> Result<Arc<crate::runtime::Plugin>, CliError> {
    let pins = Pins::default().with_flag(sha256).map_err(|e| CliError::Usage(e.to_string()))?;
    let log = LogSink::new(LogTarget::Stderr, Level::Warn, Redactor::default());
    Ok(crate::load_plugin_cached(plugin, &pins, SandboxLimits::default(), log, cache).await?)
}

async fn package(out: &Path, plugin_path: Option<&Path>, sha256: Option<&str>) -> Result<Finished, CliError> {
    let plugin = load_pinned(plugin_path, sha256, &CompileCache::Off).await?;
    let bytes = crate::plugin_bytes(plugin_path)?;
    // Read twice (loaded, then copied): the copy must be the component that was checked.
    if crate::digest::sha256_hex(&bytes) != plugin.sha256() {
        return Err(CliError::Setup(anyhow::anyhow!("the plugin file changed while it was being packaged")));
    }
    let manifest = crate::release::package(&plugin, &bytes, out)?;
    print_out(&serde_json::to_string(&manifest).map_err(anyhow::Error::from)?)?;
    Ok(Finished::AllOk)
}

async fn pin(settings: &Path, plugin_path: Option<&Path>, sha256: Option<&str>) -> Result<Finished, CliError> {
    let plugin = load_pinned(plugin_path, sha256, &CompileCache::Off).await?;
    let (path, lock) = crate::release::pin(&plugin, settings)?;
    print_out(&serde_json::json!({"lock": path.display().to_string(), "pinned": lock}).to_string())?;
    Ok(Finished::AllOk)
}

async fn describe(
    format: DescribeFormat,
    plugin: Option<&Path>,
    sha256: Option<&str>,
    cache: &CompileCache,
) -> Result<Finished, CliError> {
    let plugin = load_pinned(plugin, sha256, cache).await?;
    let info = plugin.info();
    if let DescribeFormat::JsonSchema = format {
        print_out(&crate::settings::json_schema(info).to_string())?;
        return Ok(Finished::AllOk);
    }
    let settings: Vec<_> = info
        .settings
        .iter()
        .map(|s| serde_json::json!({"name": s.name, "required": s.required, "default": s.default_value, "description": s.description}))
        .collect();
    print_out(
        &serde_json::json!({
            // Who it is from its metadata, its contract from its interface names: never from
            // what it says about itself.
            "name": plugin.identity().name, "version": plugin.identity().version,
            "revision": plugin.identity().revision,
            "contract": format!("{}@{}", crate::runtime::contract::PACKAGE, plugin.contract_version()),
            "flows": info.flows, "settings": settings, "sha256": plugin.sha256(),
        })
        .to_string(),
    )?;
    Ok(Finished::AllOk)
}

async fn sim(port: u16, control_port: u16, accounts: Option<&Path>) -> Result<Finished> {
    let config = match accounts {
        Some(path) => SimConfig::from_accounts_file(path)?,
        None => SimConfig::demo(),
    };
    dotdigital_sim::serve_until_interrupted(config, port, control_port).await?;
    Ok(Finished::AllOk)
}

/// One line on stdout. A reader that went away (`| head`) is not an error of this command.
fn print_out(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Setup(anyhow::anyhow!("writing to stdout: {}", crate::errors::io_reason(&e))))
        }
        _ => Ok(()),
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("settings {}: cannot be read ({})", path.display(), crate::errors::io_reason(&e))
    })?;
    // An editor's byte-order mark is not part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("settings {}: not JSON ({e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_readme() {
        assert_eq!(exit_status(&Ok(Finished::AllOk)), 0);
        assert_eq!(exit_status(&Ok(Finished::SomeFailed)), 1);
        assert_eq!(exit_status(&Err(CliError::Usage("--log-level".into()))), 2);
        assert_eq!(exit_status(&Err(CliError::Setup(anyhow::anyhow!("no plugin")))), 2);
        let interrupted = anyhow::Error::new(crate::interrupt::Interrupted("interrupted after 1 of 2 batches".into()));
        assert_eq!(exit_status(&Err(CliError::from(interrupted))), 130);
        assert_eq!(Finished::from_all_ok(false), Finished::SomeFailed);
    }

    #[test]
    fn rust_log_is_read_for_this_program_only() {
        assert_eq!(level_from_rust_log("debug"), Some(Level::Debug));
        assert_eq!(level_from_rust_log("TRACE"), Some(Level::Debug));
        assert_eq!(level_from_rust_log("hyper=debug,warn"), Some(Level::Warn));
        assert_eq!(level_from_rust_log("info,dotdigital_harness=error"), Some(Level::Error));
        assert_eq!(level_from_rust_log("off"), Some(Level::Error));
        assert_eq!(level_from_rust_log("hyper=debug"), None, "another program's setting");
        assert_eq!(level_from_rust_log("loud"), None);
    }

    #[test]
    fn one_spelling_per_flow() {
        assert_eq!(flow_name("contacts").as_deref(), Ok("contact"));
        assert_eq!(flow_name("order").as_deref(), Ok("order"));
        assert!(flow_name("refunds").is_err());
    }
}
