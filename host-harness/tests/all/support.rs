//! What the harness's integration tests share: the harness binary run as an operator runs it
//! (for `bulk`, against a simulator living in the test's runtime, so it outlives a killed
//! run). Helpers without the harness's types are in `test-support` (tests/support).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dotdigital_sim::{SimConfig, Simulator};
use serde_json::{json, Value};

pub use test_support::temp_dir;

pub const BIN: &str = env!("CARGO_BIN_EXE_dotdigital-harness");
/// The demo account the settings below reach.
pub const ACCOUNT: i64 = test_support::DEMO_ACCOUNT;
pub const PASSWORD: &str = test_support::DEMO_PASSWORD;

/// The harness binary with `args`, stdin empty, run to its end.
pub fn run_args(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("the harness runs")
}

/// Runs `command` (stdin empty, output piped) and fails the test if it is still running after
/// 20 s: for runs that once blocked forever (on a planted FIFO).
pub fn output_within_20s(mut command: Command) -> Output {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("still running after 20 s (blocked on the FIFO?): {:?}", child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// `dir/settings.json`: the demo account with a list and a mapped data field, plus `extra`.
pub fn settings_file(dir: &Path, extra: Value) -> PathBuf {
    let mut settings = json!({
        "name": "Bulk load", "api_user": "demo@apiconnector.com", "api_password": PASSWORD,
        "default_currency": "GBP", "list_ids": [123456],
        "data_field_map": [{"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"}]
    });
    for (key, value) in extra.as_object().expect("extra settings are an object") {
        settings[key] = value.clone();
    }
    let path = dir.join("settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

pub fn customer(n: usize) -> Value {
    json!({"id": format!("c{n}"), "first_name": "Jane", "last_name": format!("Doe {n}"),
           "email_address": format!("bulk-{n}@example.com"),
           "custom_fields": [{"custom_field_name": "Loyalty Tier", "value": "Gold"}]})
}

/// The demo order with its number and customer's email.
pub fn order(n: usize, email: &str) -> Value {
    let mut order: Value = serde_json::from_str(test_support::fixtures::DEMO_ORDER).unwrap();
    order["id"] = json!(format!("t{n}"));
    order["transaction_number"] = json!(format!("B-{n}"));
    order["email_address"] = json!(email);
    order
}

/// `dir/name`, one line each.
pub fn write_lines(dir: &Path, name: &str, lines: impl IntoIterator<Item = String>) -> PathBuf {
    let text: String = lines.into_iter().map(|line| line + "\n").collect();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `records` as NDJSON in `dir/name`.
pub fn write_input(dir: &Path, name: &str, records: &[Value]) -> PathBuf {
    write_lines(dir, name, records.iter().map(Value::to_string))
}

/// `bulk FLOW` against `sim`, status read every 0.2 s; more arguments with `.args(…)`.
pub fn bulk(flow: &str, settings: &Path, input: &Path, sim: &Simulator, state: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["bulk", flow, "--settings"])
        .arg(settings)
        .arg("--input")
        .arg(input)
        .args(["--upstream", &format!("http://{}", sim.addr()), "--poll-interval", "0.2", "--state"])
        .arg(state)
        .stdin(Stdio::null());
    command
}

/// Runs a command off the runtime (the simulator lives on it).
pub async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

/// Every record's line, in input order, and the summary line.
pub fn record_lines(output: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let summary =
        lines.pop().unwrap_or_else(|| panic!("no stdout; stderr: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(summary["summary"], true, "{summary}");
    (lines, summary)
}

/// The failed records' lines and the summary line.
pub fn split(output: &Output) -> (Vec<Value>, Value) {
    let (lines, summary) = record_lines(output);
    (lines.into_iter().filter(|line| line["ok"] == false).collect(), summary)
}

/// The line of record `id`.
pub fn line_of<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    lines.iter().find(|l| l["record"] == id).unwrap_or_else(|| panic!("no line for {id}: {lines:?}"))
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn summary(output: &Output) -> Value {
    split(output).1
}

/// Imports of `kind` (`contacts`, `insight`) the simulator received.
pub fn imports(sim: &Simulator, kind: &str) -> usize {
    sim.imports(ACCOUNT).iter().filter(|i| i["kind"] == kind).count()
}

/// The demo simulator, its imports finishing on status reads only (no timer), so a test
/// decides when one is done.
pub async fn simulator() -> Simulator {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let mut config = sim.import_config();
    config.finish_after_ms = None;
    sim.set_import_config(config);
    sim
}
