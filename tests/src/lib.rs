//! Shared set-up for the end-to-end tests: a simulator on a free loopback port, the embedded
//! component loaded once per test binary (compiled once per test run, through the harness's
//! compile cache), and a platform whose logs are kept in memory so tests can read them.
//! Helpers without the harness's types are in `test-support` (tests/support), re-exported here.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dotdigital_harness::host::log::{Level, LogSink, LogTarget, Redactor};
use dotdigital_harness::platform::PlatformError;
use dotdigital_harness::retry::RetryPolicy;
use dotdigital_harness::runtime::{CompileCache, Plugin, SandboxLimits, Upstream};
use dotdigital_harness::{Flow, Platform, PlatformOptions};
use dotdigital_sim::{SimConfig, Simulator};
use serde_json::{json, Value};

pub use dotdigital_sim::{Fault, FaultAction};
pub use test_support::fixtures::{DEMO_CERTIFICATE, DEMO_ORDER};
pub use test_support::{peak_rss_mib, DEMO_ACCOUNT, DEMO_PASSWORD, R2_ACCOUNT};

static PLUGIN: tokio::sync::OnceCell<Arc<Plugin>> = tokio::sync::OnceCell::const_new();

/// Limits short enough for tests to be quick, long enough for a debug build.
pub fn test_limits() -> SandboxLimits {
    SandboxLimits { call_timeout: Duration::from_secs(2), ..SandboxLimits::default() }
}

/// The embedded component, loaded once per test binary.
pub async fn plugin() -> Arc<Plugin> {
    PLUGIN
        .get_or_init(|| async {
            let log = LogSink::new(LogTarget::Stderr, Level::Warn, Redactor::default());
            load_embedded(test_limits(), log).await
        })
        .await
        .clone()
}

/// The embedded component under `limits`, compiled once per test run: the harness's compile
/// cache in the folder every test binary of the build shares (`compile_cache_dir`).
pub async fn load_embedded(limits: SandboxLimits, log: LogSink) -> Arc<Plugin> {
    let cache = CompileCache::Dir(test_support::compile_cache_dir());
    dotdigital_harness::load_plugin_cached(None, &Default::default(), limits, log, &cache)
        .await
        .expect("the embedded plugin loads")
}

/// Retries as the platform does, with waits shrunk to keep tests fast.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_rate_wait: Duration::from_secs(5),
    }
}

pub fn demo_settings() -> Value {
    json!({
        "name": "Dotdigital - Test",
        "api_user": "demo@apiconnector.com",
        "api_password": DEMO_PASSWORD,
        "default_currency": "GBP",
        "certificate_campaign_id": 9001,
        "data_field_map": [{"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"}],
        "list_ids": [123456]
    })
}

pub fn r2_settings() -> Value {
    let mut settings = demo_settings();
    settings["api_user"] = json!("demo-r2@apiconnector.com");
    settings["api_password"] = json!("demo-r2-password");
    settings
}

/// How the tests' platforms reach `sim`: forwarded, quick retries, logs kept in `logs`.
pub fn platform_options(sim: &Simulator, state_dir: Option<PathBuf>, logs: Arc<Mutex<Vec<String>>>) -> PlatformOptions {
    let state = state_dir.map(dotdigital_harness::host::data::StateLocation::Dir);
    PlatformOptions { state, ..memory_logged(Upstream::Forward(sim.addr()), logs) }
}

/// The tests' platforms: quick retries, every log line kept in `logs`.
fn memory_logged(upstream: Upstream, logs: Arc<Mutex<Vec<String>>>) -> PlatformOptions {
    PlatformOptions {
        retry: quick_retry(),
        log_target: LogTarget::Memory(logs),
        log_level: Level::Debug,
        ..PlatformOptions::new(upstream)
    }
}

/// `Platform::new` with `settings` on the embedded plugin, for tests of what it refuses.
pub async fn try_platform(sim: &Simulator, settings: &Value) -> Result<Platform, PlatformError> {
    Platform::new(plugin().await, settings, platform_options(sim, None, Arc::new(Mutex::new(Vec::new()))))
}

/// One test's world: a simulator, a platform pointed at it, and the platform's logs.
pub struct World {
    pub sim: Simulator,
    pub platform: Arc<Platform>,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub state: PathBuf,
    /// The subscription's password: checked against every output of every test.
    secret: String,
}

impl World {
    pub async fn new(settings: Value) -> World {
        let sim = Simulator::start(SimConfig::demo(), 0).await.expect("the simulator starts");
        World::with_sim(sim, settings, fresh_state_dir()).await
    }

    /// A world whose simulator serves `config` (custom accounts, limits, …).
    pub async fn with_config(config: SimConfig, settings: Value) -> World {
        let sim = Simulator::start(config, 0).await.expect("the simulator starts");
        World::with_sim(sim, settings, fresh_state_dir()).await
    }

    /// A platform on an existing simulator and state directory (a "next run").
    pub async fn with_sim(sim: Simulator, settings: Value, state: PathBuf) -> World {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let options = platform_options(&sim, Some(state.clone()), logs.clone());
        let platform = Platform::new(plugin().await, &settings, options).expect("the settings are accepted");
        let secret = settings["api_password"].as_str().unwrap_or_default().to_string();
        World { sim, platform: Arc::new(platform), logs, state, secret }
    }

    /// The r2 account, with persistent data that still says r1 (the account moved, or the
    /// cache is stale): its first call will answer 403.
    pub async fn r2_with_stale_region() -> World {
        let state = fresh_state_dir();
        let stale = json!({"region:demo-r2@apiconnector.com": {"value": "https://r1-api.dotdigital.com"}});
        std::fs::write(state.join("Dotdigital_-_Test.json"), stale.to_string()).expect("writing the state file");
        let sim = Simulator::start(SimConfig::demo(), 0).await.expect("the simulator starts");
        World::with_sim(sim, r2_settings(), state).await
    }

    pub async fn sync(&self, flow: Flow, record: &Value) -> Value {
        let line = self.platform.sync(flow, 1, record).await;
        assert!(!line.to_string().contains(&self.secret), "the password leaked into an output line: {line}");
        line
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Requests the simulator received on paths starting with `prefix`.
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<dotdigital_sim::RequestRecord> {
        self.sim.requests().into_iter().filter(|r| r.method == method && r.path.starts_with(prefix)).collect()
    }

    /// Everything the state directory holds, as text (binary files read lossily).
    pub fn state_text(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.state) {
            for entry in entries.flatten() {
                // The SQLite database (and its WAL) hold text as plain bytes in their pages.
                text.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()));
            }
        }
        text
    }
}

/// Across the whole suite: whatever a test did, its logs and state files never hold the
/// password (output lines are checked as they are made, in `sync`).
impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() || self.secret.is_empty() {
            return;
        }
        assert!(!self.log_text().contains(&self.secret), "the password leaked into the log");
        assert!(!self.state_text().contains(&self.secret), "the password leaked into the state");
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

pub fn fresh_state_dir() -> PathBuf {
    test_support::temp_dir("e2e")
}

/// A fault on `method` requests whose path starts with `prefix`, `times` times (`None`: always).
pub fn fault(method: &str, prefix: &str, times: Option<u32>, action: FaultAction) -> Fault {
    Fault { method: Some(method.into()), path_prefix: prefix.into(), times, action }
}

pub fn customer(id: &str, email: &str) -> Value {
    json!({
        "id": id,
        "first_name": "Jane",
        "last_name": "Doe",
        "email_address": email,
        "addresses": [{"first_name": "Jane", "last_name": "Doe", "phone_number": "+44 7700 900123",
                       "address_1": "12 Harbour Row", "city": "Bristol", "country": "GB", "postal_code": "BS1 5TY",
                       "is_primary_billing": true, "is_primary_shipping": true}],
        "custom_fields": [{"id": "1", "custom_field_name": "Loyalty Tier", "value": "Gold"}]
    })
}

/// The demo order (host-harness/demo/order.json) with its number and customer's email.
pub fn demo_order(number: &str, email: &str) -> Value {
    let mut order: Value = serde_json::from_str(DEMO_ORDER).unwrap();
    order["transaction_number"] = json!(number);
    order["email_address"] = json!(email);
    order
}

/// The demo certificate (host-harness/demo/certificate.json) with its number.
pub fn demo_certificate(number: &str) -> Value {
    let mut card: Value = serde_json::from_str(DEMO_CERTIFICATE).unwrap();
    card["number"] = json!(number);
    card
}

/// Sets a record's custom field (names match case-insensitively, as iPaaS.com's do; the
/// stored name is kept), or adds it.
pub fn set_custom_field(record: &mut Value, name: &str, value: &str) {
    let fields = record["custom_fields"].as_array_mut().expect("the record has custom_fields");
    let same = |f: &Value| f["custom_field_name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name));
    match fields.iter_mut().find(|f| same(f)) {
        Some(field) => field["value"] = json!(value),
        None => fields.push(json!({"id": (fields.len() + 1).to_string(), "custom_field_name": name, "value": value})),
    }
}

/// Gives a customer iPaaS.com's `external_ids`: the id subscription `system_id` stored for it,
/// beside another subscription's row (which must never be used).
pub fn with_stored_contact_id(mut customer: Value, system_id: i64, contact_id: &str) -> Value {
    customer["external_ids"] = json!([
        {"id": 1, "system_id": system_id + 1, "external_id": "111"},
        {"id": 2, "system_id": system_id, "external_id": contact_id}
    ]);
    customer
}

/// The list ids a simulator contact is on.
pub fn list_ids(contact: &Value) -> Vec<i64> {
    contact["lists"].as_array().map(|a| a.iter().filter_map(|l| l["id"].as_i64()).collect()).unwrap_or_default()
}

/// A raw `GET` to the simulator's Dotdigital port as `host` with Basic credentials, outside
/// the component: what the simulator itself answers. Returns the status and body.
pub async fn raw_get(sim: &Simulator, host: &str, path: &str, user: &str, password: &str) -> (u16, String) {
    raw_request(sim, "GET", host, path, (user, password), None).await
}

/// A raw request with an optional JSON body to the simulator's Dotdigital port, as `host`
/// with Basic credentials (`(user, password)`): what another client of the account (a form,
/// a marketer) would do. Returns the status and body.
pub async fn raw_request(
    sim: &Simulator,
    method: &str,
    host: &str,
    path: &str,
    (user, password): (&str, &str),
    body: Option<&Value>,
) -> (u16, String) {
    use base64::Engine;
    use std::io::{Read, Write};
    let (addr, method, host, path) = (sim.addr(), method.to_string(), host.to_string(), path.to_string());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let body = body.map(Value::to_string).unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connecting to the simulator");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {basic}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

/// As a marketer or a Dotdigital form would: `PATCH /contacts/v3/email/{email}` on the demo
/// account with `body`, outside the connector. Returns the status and answer.
pub async fn demo_patch(sim: &Simulator, email: &str, body: Value) -> (u16, Value) {
    let path = format!("/contacts/v3/email/{}", email.replace('@', "%40"));
    let (status, answer) = raw_request(
        sim,
        "PATCH",
        "r1-api.dotdigital.com",
        &path,
        ("demo@apiconnector.com", DEMO_PASSWORD),
        Some(&body),
    )
    .await;
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

/// Asserts an output line succeeded and returns its outcome.
pub fn ok(line: &Value) -> &Value {
    assert_eq!(line["ok"], json!(true), "expected success: {line}");
    &line["outcome"]
}

/// Asserts an output line failed with `kind` and returns its error.
pub fn failed<'a>(line: &'a Value, kind: &str) -> &'a Value {
    assert_eq!(line["ok"], json!(false), "expected failure: {line}");
    assert_eq!(line["error"]["kind"], json!(kind), "{line}");
    &line["error"]
}

/// The settings keys a `validate` line lists under `account.problems`, in order.
pub fn problem_fields(line: &Value) -> Vec<String> {
    line["account"]["problems"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The field paths of an invalid-* error.
pub fn issue_fields(error: &Value) -> Vec<String> {
    error["issues"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The hostile test component (tests/hostile-plugin) run by a platform whose logs land in
/// `logs` at debug level, its requests going to `upstream`. `settings` name the subscription.
pub async fn hostile_platform(
    limits: SandboxLimits,
    upstream: Upstream,
    settings: &Value,
    logs: Arc<Mutex<Vec<String>>>,
) -> Platform {
    let log = LogSink::new(LogTarget::Memory(logs.clone()), Level::Debug, Redactor::default());
    let hostile = std::path::Path::new(test_support::guests::HOSTILE);
    let plugin = dotdigital_harness::load_plugin(Some(hostile), &Default::default(), limits, log)
        .await
        .expect("the hostile plugin loads");
    let options = memory_logged(upstream, logs);
    Platform::new(plugin, settings, options).expect("the hostile platform starts")
}

/// Settings the hostile component runs under; its password is checked against every output.
pub fn hostile_settings() -> Value {
    json!({"api_user": "a@apiconnector.com", "api_password": "hostile-secret"})
}

/// Runs the hostile component's `attack` with `argument` in `calls` calls at once (records
/// `{attack}-0`, `{attack}-1`, …); returns their lines in call order.
pub async fn attacks_at_once(platform: &Arc<Platform>, calls: usize, attack: &str, argument: &str) -> Vec<Value> {
    let running: Vec<_> = (0..calls)
        .map(|n| {
            let platform = platform.clone();
            let record = json!({"id": format!("{attack}-{n}"), "first_name": attack, "last_name": argument});
            tokio::spawn(async move { platform.sync(Flow::Contact, n, &record).await })
        })
        .collect();
    let mut lines = Vec::new();
    for call in running {
        lines.push(call.await.unwrap());
    }
    lines
}

/// What a call the buffer budget refused says.
const BUDGET_SPENT: &str = "for bodies and headers of all calls is spent";

/// Peak memory beyond the buffer budget: the guests' own memories (up to 64 MiB each, a few MiB
/// used here) and the host's working set.
const BUDGET_MARGIN_MIB: u64 = 64;

/// Asserts the peak resident memory grew (since `before`) by less than the buffer budget and
/// a margin, and that the budget refused some of `lines`, each as a final `plugin-fault`;
/// returns those.
pub fn refused_by_the_budget<'a>(limits: &SandboxLimits, before: u64, lines: &'a [Value]) -> Vec<&'a Value> {
    let grown = peak_rss_mib().saturating_sub(before);
    println!("peak resident memory {} MiB (grew {grown} MiB): {lines:#?}", peak_rss_mib());
    let bound = (limits.buffer_budget_bytes >> 20) as u64 + BUDGET_MARGIN_MIB;
    assert!(grown < bound, "peak resident memory grew by {grown} MiB (bound {bound} MiB)");
    let spent = |line: &&Value| line["error"]["message"].as_str().unwrap_or_default().contains(BUDGET_SPENT);
    let refused: Vec<&Value> = lines.iter().filter(spent).collect();
    assert!(!refused.is_empty(), "the budget refused some call: {lines:?}");
    for line in &refused {
        assert_eq!(line["error"]["kind"], "plugin-fault", "{line}");
        assert_eq!(line["attempts"], json!(1), "a budget fault is not retried: {line}");
    }
    refused
}
