//! The harness playing iPaaS.com for one subscription: it turns each record into a call,
//! retries as the platform would, and writes one output line per record, in input order.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::failure::Failure;
use crate::host::data::{DataStore, StateError, StateLocation};
use crate::host::log::{Level, LogSink, LogTarget, Redactor};
use crate::input::Item;
use crate::output;
use crate::records::{self, RecordError};
use crate::retry::RetryPolicy;
use crate::runtime::bindings::{
    BulkLimits, Customer, GiftCard, ImportBatch, ImportBegun, ImportKind, ImportProgress, ImportStarted, ImportState,
    ListsLeft, SyncError, Transaction,
};
use crate::runtime::connections::ConnectionPool;
use crate::runtime::hooks::Denials;
use crate::runtime::{Grants, OutboundPolicy, Plugin, PluginFault, SyncAnswer, Throttle, Upstream};
use crate::settings::{self, SettingsError, Subscription};

/// The three record flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Contact,
    Order,
    Certificate,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Contact => "contact",
            Flow::Order => "order",
            Flow::Certificate => "certificate",
        }
    }

    pub fn parse(value: &str) -> Option<Flow> {
        match value {
            "contact" => Some(Flow::Contact),
            "order" => Some(Flow::Order),
            "certificate" => Some(Flow::Certificate),
            _ => None,
        }
    }
}

/// How the platform runs a subscription.
#[derive(Clone)]
pub struct PlatformOptions {
    pub upstream: Upstream,
    /// Where persistent data lives; `None` keeps it in memory for this process.
    pub state: Option<StateLocation>,
    /// How long a write to the state waits for another process's ([`data::BUSY_TIMEOUT`]).
    ///
    /// [`data::BUSY_TIMEOUT`]: crate::host::data::BUSY_TIMEOUT
    pub state_busy_timeout: Duration,
    pub retry: RetryPolicy,
    pub log_target: LogTarget,
    pub log_level: Level,
}

impl PlatformOptions {
    /// The one composition root: `upstream`, and what every command starts from: data in
    /// memory, the default busy timeout and retries, warnings and errors on stderr. Each caller
    /// states only what differs (`PlatformOptions { state, ..PlatformOptions::new(up) }`).
    pub fn new(upstream: Upstream) -> PlatformOptions {
        PlatformOptions {
            upstream,
            state: None,
            state_busy_timeout: crate::host::data::BUSY_TIMEOUT,
            retry: RetryPolicy::default(),
            log_target: LogTarget::Stderr,
            log_level: Level::Warn,
        }
    }
}

/// One record, read into the contract type of its flow.
enum Record {
    Contact(Customer),
    Order(Transaction),
    Certificate(GiftCard),
}

impl Record {
    fn read(flow: Flow, value: &Value, subscription_id: Option<i64>) -> Result<Record, RecordError> {
        Ok(match flow {
            Flow::Contact => Record::Contact(records::customer(value, subscription_id)?),
            Flow::Order => Record::Order(records::transaction(value)?),
            Flow::Certificate => Record::Certificate(records::gift_card(value)?),
        })
    }
}

/// Why a subscription could not be set up: a set-up error (exit status 2).
#[derive(Debug)]
pub enum PlatformError {
    /// The settings file is refused.
    Settings(SettingsError),
    /// The state database (or an old state file) could not be opened; names the file.
    State(StateError),
}

impl std::fmt::Display for PlatformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlatformError::Settings(e) => e.fmt(f),
            PlatformError::State(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PlatformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlatformError::Settings(e) => Some(e),
            PlatformError::State(e) => Some(e),
        }
    }
}

/// Why a run stopped before its input ended, other than a record's failure or Ctrl-C: the
/// records after it were not attempted.
#[derive(Debug)]
pub enum RunError {
    /// Writing a line to the output failed (a full disk, a closed pipe).
    Output(std::io::Error),
    /// Reading the input failed.
    Input(std::io::Error),
    /// The thread reading the input panicked.
    ReaderPanicked,
    /// A record's sync task panicked.
    Sync(tokio::task::JoinError),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Output(e) => write!(
                f,
                "writing to stdout: {} (the run stopped there; the records after it were not attempted)",
                crate::errors::io_reason(e)
            ),
            RunError::Input(e) => e.fmt(f),
            RunError::ReaderPanicked => f.write_str("the input reader panicked"),
            RunError::Sync(e) => e.fmt(f),
        }
    }
}

/// The message already says the cause: a `source` would make `{:#}` say it twice.
impl std::error::Error for RunError {}

/// Totals of a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub ok: usize,
    pub failed: usize,
    /// Why the run stopped before its input ended, if it did. No later record was tried.
    pub stopped: Option<Stop>,
    /// Records read after the run stopped (and a record whose settings were refused before
    /// anything was sent for it), not tried.
    pub not_attempted: usize,
    /// Ctrl-C stopped the run: the records in flight finished, the rest were not tried.
    pub interrupted: bool,
    /// Interrupted before the input's end was reached: it holds more records than
    /// `not_attempted` counts.
    pub rest_unread: bool,
}

/// How many records in a row may fail to reach the upstream (each after its retries) before
/// the run stops: a machine without a network would otherwise try every record of the input.
pub const MAX_UNREACHABLE_IN_A_ROW: usize = 3;

/// Why a run stopped early: a failure that concerns the whole subscription, so every later
/// record would fail the same way (a wrong password would cost one failed login per record).
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The component refused the settings (its own check, on the first record it was given;
    /// nothing was sent for that record): `(settings key, problem)` pairs.
    Settings(Vec<(String, String)>),
    /// Credentials refused (`unauthorized`) or an area forbidden (`forbidden`): the failed
    /// line's `error`.
    Account(Value),
    /// The sandbox refused a request the component made: the failed line's `error`.
    Denied(Value),
    /// `MAX_UNREACHABLE_IN_A_ROW` records in a row failed in transport: the last `error`.
    Unreachable(Value),
}

impl Stop {
    /// The stop a failed line calls for, given how many lines in a row (this one included)
    /// failed in transport.
    fn after(line: &Value, unreachable_in_a_row: usize) -> Option<Stop> {
        let error = &line["error"];
        if line["ok"] != Value::Bool(false) {
            return None;
        }
        if error["denied"] == Value::Bool(true) {
            return Some(Stop::Denied(error.clone()));
        }
        match error["kind"].as_str() {
            Some("invalid-settings") => {
                let issues = error["issues"].as_array().map(Vec::as_slice).unwrap_or_default();
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                Some(Stop::Settings(issues.iter().map(|i| (text(&i["field"]), text(&i["problem"]))).collect()))
            }
            Some("unauthorized" | "forbidden") => Some(Stop::Account(error.clone())),
            Some("transport") if unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW => {
                Some(Stop::Unreachable(error.clone()))
            }
            _ => None,
        }
    }

    /// What the operator reads: what stopped the run, and what to fix. `upstream` names where
    /// requests went; `settings` the settings file.
    pub fn message(&self, upstream: &str, settings: &str, not_attempted: usize) -> String {
        let untried = format!("{not_attempted} record(s) not attempted");
        let said = |error: &Value| {
            let message = error["message"].as_str().unwrap_or_default();
            match error["endpoint"].as_str() {
                Some(endpoint) if !message.is_empty() => format!("{message} ({endpoint})"),
                _ => message.to_string(),
            }
        };
        match self {
            Stop::Settings(issues) => {
                let problems: Vec<String> = issues
                    .iter()
                    .map(|(key, problem)| match key.as_str() {
                        "api_password" => format!(
                            "{key}: {problem} (in the settings, in the file named by {}, or in {})",
                            crate::settings::PASSWORD_FILE_KEY,
                            crate::settings::PASSWORD_ENV
                        ),
                        _ => format!("{key}: {problem}"),
                    })
                    .collect();
                format!(
                    "stopped: the component refused the settings in {settings}, so nothing was sent: {}; {untried}. \
                     Fix the settings and run again",
                    problems.join("; ")
                )
            }
            Stop::Account(error) => format!(
                "stopped: {upstream} answered {} ({}), which concerns the whole subscription, so no later record was \
                 tried; {untried}. Fix the settings in {settings} (or the API user's access) and run again",
                error["kind"].as_str().unwrap_or("a refusal"),
                said(error)
            ),
            Stop::Denied(error) => format!(
                "stopped: the sandbox refused a request the component made ({}), so no later record was tried; \
                 {untried}. Check --upstream and the component",
                said(error)
            ),
            Stop::Unreachable(error) => format!(
                "stopped: {MAX_UNREACHABLE_IN_A_ROW} records in a row failed in transport, each after its retries \
                 (last: {}); {untried}. Check that {upstream} can be reached (the network, --upstream) and that the \
                 state folder can be written, then run again",
                said(error)
            ),
        }
    }
}

/// How long an interrupted run waits for the input's next record while it counts those not
/// tried: a file is read to its end at once, a terminal or a pipe may never end.
const COUNT_THE_REST_FOR: Duration = Duration::from_millis(500);

pub struct Platform {
    plugin: Arc<Plugin>,
    subscription: Subscription,
    grants: Grants,
    retry: RetryPolicy,
    /// Set once a sync of this subscription has succeeded: its region and data-field types
    /// are then in its persistent data. Until then `run` syncs one record at a time, so
    /// concurrent first records do not each discover them (one `GET /v2/account-info` per
    /// subscription and cache period, not one per record in flight).
    primed: AtomicBool,
}

impl Platform {
    /// Reads the settings against the plugin's declarations and sets up throttle, data and logs.
    pub fn new(
        plugin: Arc<Plugin>,
        settings_json: &Value,
        options: PlatformOptions,
    ) -> Result<Platform, PlatformError> {
        let subscription =
            settings::subscription(settings_json, plugin.info(), plugin.identity()).map_err(PlatformError::Settings)?;
        // The plugin trims the user before encoding it; cover both spellings.
        let (user, password) = (&subscription.plugin.api_user, &subscription.plugin.api_password);
        let redactor = Redactor::new(subscription.secrets())
            .with_basic_auth(user, password)
            .with_basic_auth(user.trim(), password);
        let log = LogSink::new(options.log_target, options.log_level, redactor)
            .with(&[("subscription", subscription.host.name.clone())]);
        let data = DataStore::at(options.state.as_ref(), &subscription.host.name, options.state_busy_timeout)
            .map_err(PlatformError::State)?;
        let data = Arc::new(data);
        for note in data.notes() {
            log.emit(Level::Info, note);
        }
        let host = &subscription.host;
        let mut throttle = Throttle::new(
            host.api_throttle_limit,
            Duration::from_secs(u64::from(host.api_throttle_seconds)),
            host.concurrent_connections,
        );
        // Processes sharing a store share the account's window: the account is the API user
        // (Dotdigital counts calls per account, whichever subscription makes them).
        if data.shared() {
            throttle = throttle.shared(data.clone(), &subscription.plugin.api_user.trim().to_lowercase());
        }
        let limits = plugin.limits();
        let policy = OutboundPolicy {
            upstream: options.upstream,
            call_timeout: limits.call_timeout,
            max_response_bytes: limits.max_response_bytes,
            max_request_bytes: limits.max_request_bytes,
            throttle: Arc::new(throttle),
            connections: ConnectionPool::new(host.concurrent_connections as usize),
        };
        let grants = Grants { policy: Arc::new(policy), log, data, denials: Arc::default() };
        Ok(Platform { plugin, subscription, grants, retry: options.retry, primed: AtomicBool::new(false) })
    }

    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }

    pub fn log(&self) -> &LogSink {
        &self.grants.log
    }

    /// Upstream connections opened and requests sent so far by this subscription.
    pub fn connection_counts(&self) -> (u64, u64) {
        let pool = &self.grants.policy.connections;
        (pool.opened(), pool.requests())
    }

    /// Syncs one record (iPaaS.com JSON) with retries; returns its output line.
    pub async fn sync(&self, flow: Flow, position: usize, record: &Value) -> Value {
        let id = records::record_id(record).unwrap_or_else(|| format!("#{position}"));
        let tracking = record
            .get("tracking_guid")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)));
        let log =
            self.grants.log.with(&[("flow", flow.name().into()), ("record", id.clone()), ("tracking_id", tracking)]);
        let record = match Record::read(flow, record, self.subscription.host.subscription_id) {
            Ok(record) => record,
            Err(problem) => {
                log.emit(Level::Warn, &format!("record not readable: {problem}"));
                return self.redact(output::error_line(flow.name(), &id, &Failure::Record(problem), 0));
            }
        };
        let (result, attempts) = self.with_retries(&log, |grants| self.call(grants, &record)).await;
        let line = match result {
            Ok(outcome) => {
                if outcome.api_calls > 0 {
                    self.primed.store(true, Ordering::Release);
                }
                log.emit(Level::Info, &format!("{} {}", output::action_name(outcome.action), outcome.external_id));
                output::ok_line(flow.name(), &id, &outcome, attempts)
            }
            Err(failure) => output::error_line(flow.name(), &id, &failure, attempts),
        };
        self.redact(line)
    }

    /// The export of the record's flow, with the subscription's settings.
    async fn call(&self, grants: Grants, record: &Record) -> Result<SyncAnswer, PluginFault> {
        let settings = &self.subscription.plugin;
        match record {
            Record::Contact(customer) => self.plugin.sync_contact(grants, settings, customer).await,
            Record::Order(transaction) => {
                self.plugin.sync_order(grants, settings, &self.subscription.order, transaction).await
            }
            Record::Certificate(gift_card) => self.plugin.sync_certificate(grants, settings, gift_card).await,
        }
    }

    /// `validate-connection`: one JSON line with the account and its areas, or the error.
    pub async fn validate(&self) -> Value {
        let grants = Grants { denials: Arc::default(), ..self.grants.clone() };
        let line = match self.plugin.validate_connection(grants, &self.subscription.plugin).await {
            // Reachable but misconfigured is a failure too: every problem is listed at once.
            Ok(Ok(account)) => serde_json::json!({
                "ok": account.problems.is_empty(),
                "account": output::account_json(&account),
            }),
            Ok(Err(error)) => serde_json::json!({"ok": false, "error": Failure::Sync(error).to_json()}),
            Err(fault) => serde_json::json!({"ok": false, "error": Failure::Fault(fault).to_json()}),
        };
        self.redact(line)
    }

    /// Streams records from `input` (one JSON value, a JSON array, or NDJSON), syncing up to
    /// `concurrent_connections` at once (one at a time until a sync of the subscription has
    /// succeeded, see `primed`), and writes each line to `out` in input order. The debug log
    /// ends with the connections the run opened.
    pub async fn run(
        self: &Arc<Self>,
        flow: Flow,
        input: Box<dyn BufRead + Send>,
        out: &mut (dyn Write + Send),
    ) -> Result<Summary, RunError> {
        self.run_reporting(flow, input, out, &mut |_| {}).await
    }

    /// `run`, calling `written` with each line once it is written (a progress bar counts them).
    /// Ctrl-C ([`crate::interrupt`]) stops reading records: those in flight finish and get
    /// their lines, the rest are counted as not attempted.
    pub async fn run_reporting(
        self: &Arc<Self>,
        flow: Flow,
        input: Box<dyn BufRead + Send>,
        out: &mut (dyn Write + Send),
        written: &mut (dyn FnMut(&Value) + Send),
    ) -> Result<Summary, RunError> {
        let parallel = self.subscription.host.concurrent_connections.max(1) as usize;
        let (opened_before, requests_before) = self.connection_counts();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(parallel * 2);
        let reader =
            std::thread::spawn(move || crate::input::read_records(input, |item| sender.blocking_send(item).is_ok()));
        let mut tally = Tally { summary: Summary::default(), unreachable_in_a_row: 0, out, written };
        let mut pending = Pending::new();
        let mut position = 0;
        loop {
            let item = tokio::select! {
                biased;
                () = crate::interrupt::wait() => {
                    tally.summary.interrupted = true;
                    break;
                }
                item = receiver.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
            };
            if tally.summary.stopped.is_some() {
                // Said once, by the run's caller; the rest of the input is only counted.
                tally.summary.not_attempted += 1;
                continue;
            }
            position += 1;
            // Two syncs of the same record never overlap: the second waits for the first, so
            // updates land in input order and a certificate is judged after its last sync.
            let key = item.record.as_ref().ok().and_then(|record| record_key(flow, record));
            while key.is_some() && pending.iter().any(|(k, _)| *k == key) {
                tally.write_first(&mut pending).await?;
            }
            pending.push_back((key, self.spawn_sync(flow, position, item)));
            if pending.len() >= parallel {
                tally.write_first(&mut pending).await?;
            }
            // Not primed yet: this record finishes before the next one starts.
            while !self.primed.load(Ordering::Acquire) && !pending.is_empty() {
                tally.write_first(&mut pending).await?;
            }
        }
        while !pending.is_empty() {
            tally.write_first(&mut pending).await?;
        }
        let mut summary = tally.summary;
        if summary.interrupted && !count_the_rest(&mut receiver, &mut summary).await {
            // The reader is left waiting for input that may never come.
            return Ok(summary);
        }
        reader.join().map_err(|_| RunError::ReaderPanicked)?.map_err(RunError::Input)?;
        let (opened, requests) = self.connection_counts();
        self.grants.log.emit(
            Level::Debug,
            &format!(
                "{} upstream connection(s) opened for {} request(s) in this run",
                opened - opened_before,
                requests - requests_before
            ),
        );
        Ok(summary)
    }

    /// Syncs the record at `position` (or reports it as not JSON) in a task of its own; its
    /// line carries the input line it starts on.
    fn spawn_sync(self: &Arc<Self>, flow: Flow, position: usize, item: Item) -> tokio::task::JoinHandle<Value> {
        let platform = Arc::clone(self);
        tokio::spawn(async move {
            let mut line = match item.record {
                Ok(record) => platform.sync(flow, position, &record).await,
                Err(problem) => platform.redact(output::error_line(
                    flow.name(),
                    &format!("#{position}"),
                    &Failure::NotJson(problem),
                    0,
                )),
            };
            output::with_input_line(&mut line, item.line);
            line
        })
    }

    /// The SHA-256 of the component this platform runs.
    pub fn plugin_sha256(&self) -> &str {
        self.plugin.sha256()
    }

    /// The subscription's persistent data (the bulk ledger lives beside it).
    pub fn data(&self) -> &Arc<DataStore> {
        &self.grants.data
    }

    /// `start-import` with the sync flow's retries: a rate limit is waited out (an import
    /// `PUT` is an upsert, so sending it again is safe), a fault or final error is returned.
    pub async fn start_import(&self, batch: &ImportBatch) -> Result<ImportStarted, Failure> {
        let settings = &self.subscription.plugin;
        let log = self.grants.log.with(&[("call", "start-import".into())]);
        self.with_retries(&log, |grants| self.plugin.start_import(grants, settings, batch.clone())).await.0
    }

    /// `describe-bulk` (1.2), in a call that may send nothing; `None` for an older component.
    pub async fn describe_bulk(&self) -> Result<Option<BulkLimits>, PluginFault> {
        let grants =
            Grants { policy: Arc::new(OutboundPolicy::deny_all()), denials: Arc::default(), ..self.grants.clone() };
        self.plugin.describe_bulk(grants).await
    }

    /// `import-status` with the sync flow's retries.
    pub async fn import_status(&self, kind: ImportKind, import_id: &str) -> Result<ImportState, Failure> {
        let settings = &self.subscription.plugin;
        let log = self.grants.log.with(&[("call", "import-status".into())]);
        self.with_retries(&log, |grants| self.plugin.import_status(grants, settings, kind, import_id)).await.0
    }

    /// The transaction types this subscription syncs as orders: its `order_types`, else the
    /// component's default (its `describe`); `None` when neither says.
    pub fn order_types(&self) -> Option<Vec<String>> {
        self.subscription.plugin.order_types.clone().or_else(|| {
            let preset = self.plugin.info().settings.iter().find(|s| s.name == "order_types")?;
            serde_json::from_str(preset.default_value.as_deref()?).ok()
        })
    }

    /// The component this platform runs.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Whether the component implements contract 1.1's bulk functions (a 1.0 one does not).
    pub fn speaks_1_1(&self) -> bool {
        self.plugin.speaks_1_1()
    }

    /// The component's contract version, for messages.
    pub fn contract_version(&self) -> String {
        self.plugin.contract_version().to_string()
    }

    /// `begin-import` (1.1) with the sync flow's retries.
    pub async fn begin_import(&self, batch: &ImportBatch) -> Result<ImportBegun, Failure> {
        let settings = &self.subscription.plugin;
        let log = self.grants.log.with(&[("call", "begin-import".into())]);
        let order = &self.subscription.order;
        self.with_retries(&log, |grants| self.plugin.begin_import(grants, settings, order, batch.clone())).await.0
    }

    /// `read-import` (1.1) with the sync flow's retries.
    pub async fn read_import(&self, kind: ImportKind, import_id: &str) -> Result<ImportProgress, Failure> {
        let settings = &self.subscription.plugin;
        let log = self.grants.log.with(&[("call", "read-import".into())]);
        self.with_retries(&log, |grants| self.plugin.read_import(grants, settings, kind, import_id)).await.0
    }

    /// `leave-marketing-lists` (1.1) with the sync flow's retries (a removal is idempotent).
    pub async fn leave_marketing_lists(&self, contact_ids: &[u64]) -> Result<ListsLeft, Failure> {
        let settings = &self.subscription.plugin;
        let log = self.grants.log.with(&[("call", "leave-marketing-lists".into())]);
        self.with_retries(&log, |grants| self.plugin.leave_marketing_lists(grants, settings, contact_ids)).await.0
    }

    /// Calls an export until it answers or its error is final (the retry policy), each
    /// attempt with a fresh denial count and `log`; returns the result and the attempts made.
    /// A refused request makes the error final, whatever the plugin made of it.
    async fn with_retries<T, F, Fut>(&self, log: &LogSink, mut call: F) -> (Result<T, Failure>, u32)
    where
        F: FnMut(Grants) -> Fut,
        Fut: std::future::Future<Output = Result<Result<T, SyncError>, PluginFault>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let denials = Arc::new(Denials::default());
            let grants = Grants { log: log.clone(), denials: denials.clone(), ..self.grants.clone() };
            let error = match call(grants).await {
                Err(fault) => {
                    log.emit(Level::Error, &fault.to_string());
                    return (Err(Failure::Fault(fault)), attempt);
                }
                Ok(Ok(answer)) => return (Ok(answer), attempt),
                Ok(Err(error)) => error,
            };
            let brief = brief(&error);
            let failure = if denials.count() > 0 { Failure::Denied(error) } else { Failure::Sync(error) };
            match self.retry.next_wait(&failure, attempt) {
                Some(wait) => {
                    log.emit(
                        Level::Warn,
                        &format!("attempt {attempt}: {brief}; retrying in {:.1} s", wait.as_secs_f64()),
                    );
                    tokio::time::sleep(wait).await;
                }
                None => {
                    log.emit(Level::Warn, &format!("failed after {attempt} attempt(s): {brief}"));
                    return (Err(failure), attempt);
                }
            }
        }
    }

    /// Output lines go through the same redactor as logs, string by string.
    pub(crate) fn redact(&self, mut line: Value) -> Value {
        fn walk(value: &mut Value, redactor: &Redactor) {
            match value {
                Value::String(s) => *s = redactor.apply(s),
                Value::Array(items) => items.iter_mut().for_each(|v| walk(v, redactor)),
                Value::Object(map) => map.values_mut().for_each(|v| walk(v, redactor)),
                _ => {}
            }
        }
        walk(&mut line, self.grants.log.redactor());
        line
    }
}

/// The records being synced, in input order, each tagged with its record's key (see
/// `record_key`).
type Pending = VecDeque<(Option<String>, tokio::task::JoinHandle<Value>)>;

/// A run's output as its lines are written: the totals, the transport failures in a row,
/// where the lines go and who is told of each.
struct Tally<'a> {
    summary: Summary,
    unreachable_in_a_row: usize,
    out: &'a mut (dyn Write + Send),
    written: &'a mut (dyn FnMut(&Value) + Send),
}

impl Tally<'_> {
    /// Waits for the first pending record and writes its line.
    async fn write_first(&mut self, pending: &mut Pending) -> Result<(), RunError> {
        match pending.pop_front() {
            Some((_, first)) => self.write(first.await.map_err(RunError::Sync)?),
            None => Ok(()),
        }
    }

    /// Counts a line and writes it, deciding whether the run stops after it.
    fn write(&mut self, line: Value) -> Result<(), RunError> {
        let summary = &mut self.summary;
        // A record refused before any request (bad input, bad data) says nothing of the
        // upstream: only an answer, or a success, ends a run of transport failures.
        match line["error"]["kind"].as_str() {
            Some("transport") => self.unreachable_in_a_row += 1,
            Some("input" | "invalid-record" | "plugin-fault") => {}
            _ => self.unreachable_in_a_row = 0,
        }
        let stop = match &summary.stopped {
            None => Stop::after(&line, self.unreachable_in_a_row),
            Some(_) => None,
        };
        if let Some(Stop::Settings(_)) = &stop {
            // Refused before anything was sent: not attempted, and said once by the caller.
            summary.not_attempted += 1;
            summary.stopped = stop;
            return Ok(());
        }
        summary.stopped = summary.stopped.take().or(stop);
        if line["ok"] == Value::Bool(true) {
            summary.ok += 1
        } else {
            summary.failed += 1
        }
        writeln!(self.out, "{line}").and_then(|()| self.out.flush()).map_err(RunError::Output)?;
        (self.written)(&line);
        Ok(())
    }
}

/// After Ctrl-C, counts the records the input still holds as not attempted, waiting at most
/// `COUNT_THE_REST_FOR` for each. `false` when the input did not end in time (the rest is
/// unread).
async fn count_the_rest(receiver: &mut tokio::sync::mpsc::Receiver<Item>, summary: &mut Summary) -> bool {
    loop {
        match tokio::time::timeout(COUNT_THE_REST_FOR, receiver.recv()).await {
            Ok(Some(_)) => summary.not_attempted += 1,
            // Nothing was left to try: the run is complete, however late Ctrl-C came.
            Ok(None) if summary.not_attempted == 0 => {
                summary.interrupted = false;
                return true;
            }
            Ok(None) => return true,
            Err(_) => {
                summary.rest_unread = true;
                return false;
            }
        }
    }
}

/// What makes two records the same Dotdigital object: the contact's email, the order's
/// transaction number, the certificate's number (else the hub id).
fn record_key(flow: Flow, record: &Value) -> Option<String> {
    let field = match flow {
        Flow::Contact => "email_address",
        Flow::Order => "transaction_number",
        Flow::Certificate => "number",
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    record.get(field).and_then(text).or_else(|| record.get("id").and_then(text)).map(|k| format!("{field}:{k}"))
}

/// A retry line's account of the error: whatever the component put in it, a line's worth.
fn brief(error: &SyncError) -> String {
    crate::host::log::clip(&Failure::Sync(error.clone()).text(), 1_000).into_owned()
}
