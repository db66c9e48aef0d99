//! What the host and the component cost on this machine, in one
//! process (plus a few short child processes for cold starts). Never asserted by a test: the
//! figures are the machine's, and a shared machine is noisy.
//!
//! - *overhead*: a whole sync (record read, fresh store, instantiate, the flow, every request
//!   through the outbound path and the throttle) answered in process by the outbound hook,
//!   no socket; *native*: the same flow compiled natively, answered by the same canned API;
//! - *instantiate*: a fresh store instantiated from the shared `InstancePre`, with the pooling
//!   and the on-demand allocator;
//! - *throughput*: contact syncs per second through `Platform::run` (the `sync` command's
//!   path) at 1, 2, 4 and 8 concurrent, in process and over loopback to the embedded
//!   simulator with its rate limits lifted (with them, the tier's limit is all one measures);
//! - *connections*: opened per 100 requests over loopback at 8 concurrent;
//! - *cold start*: from spawning `dotdigital-harness sync` (the release binary beside this one)
//!   to its first output line, with the
//!   compile cache off (compile) and warm (cached);
//! - *API calls per record*: first and steady state, read from the outcomes over loopback.

use std::io::{BufRead, BufReader, Cursor};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use dotdigital_harness::host::data::DataStore;
use dotdigital_harness::host::log::{Level, LogSink, LogTarget, Redactor};
use dotdigital_harness::platform::{Flow, Platform, PlatformOptions};
use dotdigital_harness::records;
use dotdigital_harness::runtime::engine::{self, Allocator};
use dotdigital_harness::runtime::hooks::Denials;
use dotdigital_harness::runtime::{Grants, OutboundPolicy, Plugin, SandboxLimits, Upstream};
use dotdigital_sim::{RateLimitConfig, SimConfig, Simulator, DEMO_ACCOUNT};

use crate::{canned, native};

const ORDER: &str = include_str!("../../../host-harness/demo/order.json");
const CERTIFICATE: &str = include_str!("../../../host-harness/demo/certificate.json");
const CONCURRENCY: [u32; 4] = [1, 2, 4, 8];

/// What every measurement uses, and what they found: the table printed at the end and the
/// JSON report.
struct Bench {
    rounds: usize,
    plugin: Arc<Plugin>,
    plugin_on_demand: Plugin,
    sim: Simulator,
    report: Value,
    table: Vec<(String, String)>,
}

/// Runs every measurement: a table on stdout, and every figure as JSON in `json_out`.
/// `harness` is the `dotdigital-harness` binary the cold starts spawn.
pub async fn run(rounds: usize, json_out: Option<&Path>, harness: &Path, bytes: &[u8]) -> Result<()> {
    let rounds = rounds.max(2);
    let limits = SandboxLimits::default();
    let pooling = engine::engine_with(Allocator::Pooling, &limits)?;
    if let Some(why) = &pooling.fallback {
        eprintln!("bench: {why}");
    }
    let on_demand = engine::engine_with(Allocator::OnDemand, &limits)?;
    let mut bench = Bench {
        rounds,
        plugin: Arc::new(Plugin::load(&pooling.engine, bytes, limits.clone(), quiet()).await?),
        plugin_on_demand: Plugin::load(&on_demand.engine, bytes, limits.clone(), quiet()).await?,
        sim: Simulator::start(SimConfig::demo(), 0).await.context("starting the simulator")?,
        report: json!({"rounds": rounds, "component_bytes": bytes.len()}),
        table: vec![],
    };
    bench.overhead().await?;
    bench.instantiate().await?;
    let records = bench.throughput().await?;
    bench.api_calls().await?;
    // Cold starts, in child processes.
    let (compile, cached) = cold_starts(&bench.sim, harness).await?;
    bench.report["cold_start_ms"] = json!({"compile": compile, "cached": cached});
    bench.row("cold start to first answer, compiling (median)", format!("{compile} ms"));
    bench.row("cold start to first answer, from the cache (median)", format!("{cached} ms"));
    bench.row("component size", format!("{} bytes", bytes.len()));

    println!("dotdigital-bench: {rounds} rounds, {records} records per throughput run, {} CPU(s)", cpus());
    for (name, value) in &bench.table {
        println!("{name:<56} {value:>22}");
    }
    bench.report["cpus"] = json!(cpus());
    if let Some(path) = json_out {
        std::fs::write(path, serde_json::to_string_pretty(&bench.report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `--repeat`: syncs of one flow in process, one after another, for `seconds`; the count and
/// the median on stdout.
pub async fn repeat(flow: &str, seconds: Duration, bytes: &[u8]) -> Result<()> {
    let flow = Flow::parse(flow).with_context(|| format!("no flow named {flow}"))?;
    let limits = SandboxLimits::default();
    let engine = engine::new_engine(&limits)?.engine;
    let plugin = Arc::new(Plugin::load(&engine, bytes, limits, quiet()).await?);
    let platform = Platform::new(plugin, &settings(1), options(Upstream::InProcess(canned::handler())))?;
    let (mut samples, began) = (vec![], Instant::now());
    while began.elapsed() < seconds {
        samples.push(timed_sync(&platform, flow, samples.len()).await?);
    }
    let (p50, p99) = (percentile(&samples, 50), percentile(&samples, 99));
    println!("{} {} syncs in process: p50 {} µs, p99 {} µs", samples.len(), flow.name(), us(p50), us(p99));
    Ok(())
}

impl Bench {
    fn row(&mut self, name: impl Into<String>, value: String) {
        self.table.push((name.into(), value));
    }

    /// The simulator emptied, its rate limits lifted (with them, the tier's limit is all one
    /// would measure).
    fn fresh_simulator(&self) {
        self.sim.reset();
        self.sim.set_rate_limit(RateLimitConfig { default_limit: u32::MAX, ..RateLimitConfig::default() });
    }

    /// Overhead per flow: a whole sync in process, and the flow alone natively.
    async fn overhead(&mut self) -> Result<()> {
        for flow in [Flow::Contact, Flow::Order, Flow::Certificate] {
            let platform =
                Platform::new(self.plugin.clone(), &settings(1), options(Upstream::InProcess(canned::handler())))?;
            let native = native::NativeHost::default();
            let plugin_settings = native::ToPlugin::to_plugin(&platform.subscription().plugin);
            let line = platform.sync(flow, 0, &record(flow, 0)).await;
            ensure!(line["ok"] == true, "in-process {}: {line}", flow.name());
            native_sync(&native, &plugin_settings, flow, &record(flow, 0))?;
            let (mut overhead, mut natively) = (vec![], vec![]);
            for i in 1..=self.rounds {
                overhead.push(timed_sync(&platform, flow, i).await?);
                natively.push(native_sync(&native, &plugin_settings, flow, &record(flow, i))?);
            }
            let (p50, p99) = (percentile(&overhead, 50), percentile(&overhead, 99));
            let native_p50 = percentile(&natively, 50);
            self.row(format!("{} sync, in process (p50 / p99)", flow.name()), format!("{} / {} µs", us(p50), us(p99)));
            self.row(format!("{} flow, native (p50)", flow.name()), format!("{} µs", us(native_p50)));
            self.report[flow.name()] =
                json!({"overhead_us_p50": us(p50), "overhead_us_p99": us(p99), "native_us_p50": us(native_p50)});
        }
        Ok(())
    }

    /// Instantiation, pooling against on demand.
    async fn instantiate(&mut self) -> Result<()> {
        let mut instantiate = json!({});
        let mut rows = vec![];
        for (name, plugin) in [("pooling", &*self.plugin), ("on_demand", &self.plugin_on_demand)] {
            let mut samples = vec![];
            for _ in 0..self.rounds {
                // The grants (an in-memory database among them) are the subscription's, not
                // the call's: made before the clock starts.
                let grants = denying_grants()?;
                let started = Instant::now();
                plugin.instantiate_only(grants).await?;
                samples.push(started.elapsed());
            }
            let p50 = us(percentile(&samples, 50));
            rows.push((format!("instantiate, {} allocator (p50)", name.replace('_', "-")), format!("{p50} µs")));
            instantiate[name] = json!(p50);
        }
        self.table.extend(rows);
        self.report["instantiate_us_p50"] = instantiate;
        Ok(())
    }

    /// Throughput, in process and over loopback; connections over loopback. Returns the
    /// records per run.
    async fn throughput(&mut self) -> Result<usize> {
        let records = (self.rounds * 5).max(20);
        let mut throughput = json!({"in_process": {}, "loopback": {}});
        for concurrent in CONCURRENCY {
            let upstream = Upstream::InProcess(canned::handler());
            let platform = Arc::new(Platform::new(self.plugin.clone(), &settings(concurrent), options(upstream))?);
            let per_s = contacts_per_second(&platform, records, "inproc").await?;
            throughput["in_process"][concurrent.to_string()] = json!(per_s.round());
            self.row(format!("contact syncs/s in process, {concurrent} concurrent"), format!("{per_s:.0}"));
        }
        for concurrent in CONCURRENCY {
            self.fresh_simulator();
            let upstream = Upstream::Forward(self.sim.addr());
            let platform = Arc::new(Platform::new(self.plugin.clone(), &settings(concurrent), options(upstream))?);
            let per_s = contacts_per_second(&platform, records, "loop").await?;
            throughput["loopback"][concurrent.to_string()] = json!(per_s.round());
            self.row(format!("contact syncs/s over loopback, {concurrent} concurrent"), format!("{per_s:.0}"));
            if concurrent == 8 {
                let (opened, requests) = platform.connection_counts();
                let per_100 = opened as f64 * 100.0 / requests.max(1) as f64;
                self.report["connections_per_100_calls"] = json!({"loopback": (per_100 * 100.0).round() / 100.0});
                self.row(
                    "connections opened per 100 calls, loopback",
                    format!("{per_100:.2} ({opened} for {requests})"),
                );
            }
        }
        self.report["throughput_per_s"] = throughput;
        Ok(records)
    }

    /// API calls per record, over loopback: a fresh subscription's first record, then steady.
    async fn api_calls(&mut self) -> Result<()> {
        let mut calls = json!({});
        for flow in [Flow::Contact, Flow::Order, Flow::Certificate] {
            self.fresh_simulator();
            let upstream = Upstream::Forward(self.sim.addr());
            let platform = Platform::new(self.plugin.clone(), &settings(1), options(upstream))?;
            let first = api_calls(&platform.sync(flow, 0, &record(flow, 0)).await)?;
            // Steady: a new customer; a new order of a contact Dotdigital has; the same
            // certificate again, unchanged.
            let next = match flow {
                Flow::Contact => record(flow, 1),
                Flow::Order => {
                    let mut order = record(flow, 1);
                    order["email_address"] = record(flow, 0)["email_address"].clone();
                    order
                }
                Flow::Certificate => record(flow, 0),
            };
            let steady = api_calls(&platform.sync(flow, 1, &next).await)?;
            calls[flow.name()] = json!({"first": first, "steady": steady});
            self.row(format!("API calls per {} (first / steady)", flow.name()), format!("{first} / {steady}"));
        }
        self.report["api_calls_per_record"] = calls;
        Ok(())
    }
}

fn quiet() -> LogSink {
    LogSink::new(LogTarget::Stderr, Level::Error, Redactor::default())
}

/// The demo account, region discovered (no `api_endpoint`), the throttle out of the way.
fn settings(concurrent: u32) -> Value {
    json!({
        "name": "bench", "api_user": DEMO_ACCOUNT.api_user, "api_password": DEMO_ACCOUNT.api_password,
        "default_currency": "GBP", "certificate_campaign_id": 9001,
        "api_throttle_limit": 1_000_000, "api_throttle_seconds": 1, "concurrent_connections": concurrent
    })
}

fn options(upstream: Upstream) -> PlatformOptions {
    PlatformOptions { log_level: Level::Error, ..PlatformOptions::new(upstream) }
}

/// Record `i` of a flow: a new customer, order or certificate each time.
fn record(flow: Flow, i: usize) -> Value {
    let email = format!("bench{i}@example.com");
    match flow {
        Flow::Contact => {
            json!({"id": i.to_string(), "first_name": "Bench", "last_name": "Mark", "email_address": email})
        }
        Flow::Order => {
            let mut order: Value = serde_json::from_str(ORDER).expect("the demo order is JSON");
            order["transaction_number"] = json!(format!("B-{i}"));
            order["email_address"] = json!(email);
            order
        }
        Flow::Certificate => {
            let mut card: Value = serde_json::from_str(CERTIFICATE).expect("the demo certificate is JSON");
            card["number"] = json!(format!("C-{i}"));
            card["receiving_customer_email"] = json!(email);
            card
        }
    }
}

/// One whole sync of record `i` in process (record read to outcome line), timed; it must succeed.
async fn timed_sync(platform: &Platform, flow: Flow, i: usize) -> Result<Duration> {
    let value = record(flow, i);
    let started = Instant::now();
    let line = platform.sync(flow, i, &value).await;
    let elapsed = started.elapsed();
    ensure!(line["ok"] == true, "in-process {}: {line}", flow.name());
    Ok(elapsed)
}

/// One native sync; the time of the flow alone.
fn native_sync(
    host: &native::NativeHost,
    settings: &dotdigital_plugin::wit::Settings,
    flow: Flow,
    value: &Value,
) -> Result<Duration> {
    use dotdigital_plugin::flows;
    use native::ToPlugin;
    let failed = |e: &dyn std::fmt::Debug| anyhow::anyhow!("native {}: {e:?}", flow.name());
    let (started, outcome) = match flow {
        Flow::Contact => {
            let customer = records::customer(value, None).map_err(|e| failed(&e))?.to_plugin();
            (Instant::now(), flows::contact::sync_contact(host, settings, &customer))
        }
        Flow::Order => {
            let transaction = records::transaction(value).map_err(|e| failed(&e))?.to_plugin();
            (Instant::now(), flows::order::sync_order(host, settings, None, &transaction))
        }
        Flow::Certificate => {
            let card = records::gift_card(value).map_err(|e| failed(&e))?.to_plugin();
            (Instant::now(), flows::certificate::sync_certificate(host, settings, &card))
        }
    };
    let elapsed = started.elapsed();
    outcome.map_err(|e| failed(&e))?;
    Ok(elapsed)
}

/// Grants under which nothing may leave (instantiation needs no more).
fn denying_grants() -> Result<Grants> {
    Ok(Grants {
        policy: Arc::new(OutboundPolicy::deny_all()),
        log: quiet(),
        data: Arc::new(DataStore::in_memory("bench")?),
        denials: Arc::new(Denials::default()),
    })
}

/// `records` new customers through `Platform::run`, as NDJSON; syncs per second.
async fn contacts_per_second(platform: &Arc<Platform>, records: usize, tag: &str) -> Result<f64> {
    let run = fastrand::u32(..);
    let mut input = String::new();
    for i in 0..records {
        input.push_str(&format!(
            "{{\"id\":\"{i}\",\"first_name\":\"Bench\",\"email_address\":\"{tag}{run}-{i}@example.com\"}}\n"
        ));
    }
    let started = Instant::now();
    let summary = platform.run(Flow::Contact, Box::new(Cursor::new(input)), &mut std::io::sink()).await?;
    let elapsed = started.elapsed();
    ensure!(summary.failed == 0 && summary.ok == records, "{tag}: {summary:?}");
    Ok(records as f64 / elapsed.as_secs_f64())
}

fn api_calls(line: &Value) -> Result<u64> {
    line["outcome"]["api_calls"].as_u64().with_context(|| format!("no api_calls in {line}"))
}

/// Medians, in ms, of process start → first output line: with the compile cache off, and warm.
async fn cold_starts(sim: &Simulator, harness: &Path) -> Result<(u64, u64)> {
    let dir = std::env::temp_dir().join(format!("ddh-bench-{}-{:08x}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&dir)?;
    let settings_file = dir.join("settings.json");
    let mut settings = settings(1);
    settings["api_endpoint"] = json!("https://r1-api.dotdigital.com");
    std::fs::write(&settings_file, settings.to_string())?;
    let record_file = dir.join("record.json");
    std::fs::write(&record_file, record(Flow::Contact, 0).to_string())?;
    let exe = harness.to_path_buf();
    let upstream = format!("http://{}", sim.addr());
    let cache = dir.join("cache");
    let start = |cache_args: Vec<std::ffi::OsString>| {
        let (exe, settings_file, record_file, upstream) =
            (exe.clone(), settings_file.clone(), record_file.clone(), upstream.clone());
        tokio::task::spawn_blocking(move || -> Result<u64> {
            let started = Instant::now();
            let mut child = Command::new(&exe)
                .args(["sync", "contact", "--log-level", "error", "--upstream", &upstream])
                .arg("--settings")
                .arg(&settings_file)
                .arg("--record")
                .arg(&record_file)
                .args(cache_args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {}", exe.display()))?;
            let mut line = String::new();
            BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
            let elapsed = started.elapsed();
            let status = child.wait()?;
            ensure!(status.success() && line.contains("\"ok\":true"), "cold start: {status}: {line}");
            Ok(elapsed.as_millis() as u64)
        })
    };
    let cache_dir = || vec!["--cache-dir".into(), cache.clone().into_os_string()];
    let mut compile = vec![];
    for _ in 0..2 {
        compile.push(start(vec!["--no-cache".into()]).await??);
    }
    start(cache_dir()).await??; // fills the cache
    let mut cached = vec![];
    for _ in 0..5 {
        cached.push(start(cache_dir()).await??);
    }
    let _ = std::fs::remove_dir_all(&dir);
    compile.sort();
    cached.sort();
    Ok((compile[compile.len() / 2], cached[cached.len() / 2]))
}

fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn us(duration: Duration) -> u64 {
    duration.as_micros() as u64
}

fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
