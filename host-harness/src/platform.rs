//! The harness playing iPaaS.com for one subscription: it turns each record into a call,
//! retries as the platform would, and writes one output line per record, in input order.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use crate::host::data::DataStore;
use crate::host::log::{Level, LogSink, LogTarget, Redactor};
use crate::output;
use crate::records;
use crate::retry::RetryPolicy;
use crate::runtime::bindings::SyncError;
use crate::runtime::{Call, CallContext, CallOutput, OutboundPolicy, Plugin, Throttle, Upstream};
use crate::settings::{self, Subscription};

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
    pub state_dir: Option<PathBuf>,
    pub retry: RetryPolicy,
    pub log_target: LogTarget,
    pub log_level: Level,
}

/// Totals of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Summary {
    pub ok: usize,
    pub failed: usize,
}

pub struct Platform {
    plugin: Arc<Plugin>,
    subscription: Subscription,
    context: CallContext,
    retry: RetryPolicy,
}

impl Platform {
    /// Reads the settings against the plugin's declarations and sets up throttle, data and logs.
    pub fn new(plugin: Arc<Plugin>, settings_json: &Value, options: PlatformOptions) -> Result<Platform, String> {
        let subscription = settings::subscription(settings_json, plugin.info())?;
        // The plugin trims the user before encoding it; cover both spellings.
        let (user, password) = (&subscription.plugin.api_user, &subscription.plugin.api_password);
        let redactor = Redactor::new(subscription.secrets())
            .with_basic_auth(user, password)
            .with_basic_auth(user.trim(), password);
        let log = LogSink::new(options.log_target, options.log_level, redactor)
            .with(&[("subscription", subscription.host.name.clone())]);
        let data = match &options.state_dir {
            Some(dir) => DataStore::open(dir, &subscription.host.name).map_err(|e| format!("{e:#}"))?,
            None => DataStore::in_memory(),
        };
        let host = &subscription.host;
        let throttle = Throttle::new(
            host.api_throttle_limit,
            Duration::from_secs(u64::from(host.api_throttle_seconds)),
            host.concurrent_connections,
        );
        let limits = plugin.limits();
        let policy = OutboundPolicy {
            upstream: options.upstream,
            call_timeout: limits.call_timeout,
            max_response_bytes: limits.max_response_bytes,
            max_request_bytes: limits.max_request_bytes,
            throttle: Arc::new(throttle),
        };
        let context = CallContext { policy: Arc::new(policy), log, data: Arc::new(data) };
        Ok(Platform { plugin, subscription, context, retry: options.retry })
    }

    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }

    pub fn log(&self) -> &LogSink {
        &self.context.log
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
            self.context.log.with(&[("flow", flow.name().into()), ("record", id.clone()), ("tracking_id", tracking)]);
        let settings = self.subscription.plugin.clone();
        let parsed = match flow {
            Flow::Contact => records::customer(record).map(|r| Call::Contact(settings, r)),
            Flow::Order => records::transaction(record).map(|r| Call::Order(settings, r)),
            Flow::Certificate => records::gift_card(record).map(|r| Call::Certificate(settings, r)),
        };
        let call = match parsed {
            Ok(call) => call,
            Err(problem) => {
                log.emit(Level::Warn, &format!("record not readable: {problem}"));
                return self.redact(output::error_line(flow.name(), &id, output::input_error(&problem), 0));
            }
        };
        let mut attempt = 0;
        let line = loop {
            attempt += 1;
            let context = CallContext { log: log.clone(), ..self.context.clone() };
            let result = match self.plugin.call(context, call.clone()).await {
                Ok(CallOutput::Sync(result)) => result,
                Ok(_) => {
                    let fault = crate::runtime::PluginFault::Trap("the plugin answered another call".into());
                    break output::error_line(flow.name(), &id, output::fault_error(&fault), attempt);
                }
                Err(fault) => {
                    log.emit(Level::Error, &fault.to_string());
                    break output::error_line(flow.name(), &id, output::fault_error(&fault), attempt);
                }
            };
            match result {
                Ok(outcome) => {
                    log.emit(Level::Info, &format!("{} {}", output::action_name(outcome.action), outcome.external_id));
                    break output::ok_line(flow.name(), &id, &outcome, attempt);
                }
                Err(error) => match self.retry.next_wait(&error, attempt) {
                    Some(wait) => {
                        log.emit(Level::Warn, &format!("attempt {attempt}: {}; retrying in {wait:?}", brief(&error)));
                        tokio::time::sleep(wait).await;
                    }
                    None => {
                        log.emit(Level::Warn, &format!("failed after {attempt} attempt(s): {}", brief(&error)));
                        break output::error_line(flow.name(), &id, output::error_json(&error), attempt);
                    }
                },
            }
        };
        self.redact(line)
    }

    /// `validate-connection`: one JSON line with the account and its areas, or the error.
    pub async fn validate(&self) -> Value {
        let call = Call::Validate(self.subscription.plugin.clone());
        let line = match self.plugin.call(self.context.clone(), call).await {
            Ok(CallOutput::Account(Ok(account))) => {
                serde_json::json!({"ok": true, "account": output::account_json(&account)})
            }
            Ok(CallOutput::Account(Err(error))) => {
                serde_json::json!({"ok": false, "error": output::error_json(&error)})
            }
            Ok(_) => {
                serde_json::json!({"ok": false, "error": output::fault_error(&crate::runtime::PluginFault::Trap("the plugin answered another call".into()))})
            }
            Err(fault) => serde_json::json!({"ok": false, "error": output::fault_error(&fault)}),
        };
        self.redact(line)
    }

    /// Streams records from `input` (one JSON value, a JSON array, or NDJSON), syncing up to
    /// `concurrent_connections` at once, and writes each line to `out` in input order.
    pub async fn run(
        self: &Arc<Self>,
        flow: Flow,
        input: Box<dyn BufRead + Send>,
        out: &mut (dyn Write + Send),
    ) -> Result<Summary> {
        let parallel = self.subscription.host.concurrent_connections.max(1) as usize;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(parallel * 2);
        let reader =
            std::thread::spawn(move || crate::input::read_records(input, |item| sender.blocking_send(item).is_ok()));
        // Each task is tagged with its record's key (see `record_key`).
        let mut pending: VecDeque<(Option<String>, tokio::task::JoinHandle<Value>)> = VecDeque::new();
        let mut summary = Summary::default();
        let mut position = 0;
        let mut write = |line: Value, summary: &mut Summary| -> Result<()> {
            if line["ok"] == Value::Bool(true) {
                summary.ok += 1
            } else {
                summary.failed += 1
            }
            writeln!(out, "{line}")?;
            out.flush()?;
            Ok(())
        };
        while let Some(item) = receiver.recv().await {
            position += 1;
            // Two syncs of the same record never overlap: the second waits for the first, so
            // updates land in input order and a certificate is judged after its last sync.
            let key = item.as_ref().ok().and_then(|record| record_key(flow, record));
            while key.is_some() && pending.iter().any(|(k, _)| *k == key) {
                if let Some((_, first)) = pending.pop_front() {
                    write(first.await?, &mut summary)?;
                }
            }
            let platform = Arc::clone(self);
            let at = position;
            pending.push_back((
                key,
                tokio::spawn(async move {
                    match item {
                        Ok(record) => platform.sync(flow, at, &record).await,
                        Err(problem) => platform.redact(output::error_line(
                            flow.name(),
                            &format!("#{at}"),
                            output::input_error(&problem),
                            0,
                        )),
                    }
                }),
            ));
            if pending.len() >= parallel {
                if let Some((_, first)) = pending.pop_front() {
                    write(first.await?, &mut summary)?;
                }
            }
        }
        while let Some((_, first)) = pending.pop_front() {
            write(first.await?, &mut summary)?;
        }
        reader.join().map_err(|_| anyhow::anyhow!("the input reader panicked"))??;
        Ok(summary)
    }

    /// Output lines go through the same redactor as logs, string by string.
    fn redact(&self, mut line: Value) -> Value {
        fn walk(value: &mut Value, redactor: &Redactor) {
            match value {
                Value::String(s) => *s = redactor.apply(s),
                Value::Array(items) => items.iter_mut().for_each(|v| walk(v, redactor)),
                Value::Object(map) => map.values_mut().for_each(|v| walk(v, redactor)),
                _ => {}
            }
        }
        walk(&mut line, self.context.log.redactor());
        line
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

fn brief(error: &SyncError) -> String {
    output::error_json(error).to_string()
}
