//! `bulk contacts|orders` as an operator runs it: the harness binary against a simulator
//! that outlives it, so a run can be killed part-way and started again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dotdigital_harness::bulk::{MAX_BATCH_INPUT_BYTES, ORDERS_PER_IMPORT};
use dotdigital_sim::{Fault, FaultAction, SimConfig, Simulator};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_dotdigital-harness");
const ACCOUNT: i64 = 4711;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dd-bulk-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn settings_file(dir: &Path) -> PathBuf {
    let settings = json!({
        "name": "Bulk load", "api_user": "demo@apiconnector.com", "api_password": "demo-password",
        "default_currency": "GBP", "list_ids": [123456],
        "data_field_map": [{"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"}]
    });
    let path = dir.join("settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

fn customer(n: usize) -> Value {
    json!({"id": format!("c{n}"), "first_name": "Jane", "last_name": format!("Doe {n}"),
           "email_address": format!("bulk-{n}@example.com"),
           "custom_fields": [{"custom_field_name": "Loyalty Tier", "value": "Gold"}]})
}

fn order(n: usize, email: &str) -> Value {
    let mut order: Value = serde_json::from_str(include_str!("../demo/order.json")).unwrap();
    order["id"] = json!(format!("t{n}"));
    order["transaction_number"] = json!(format!("B-{n}"));
    order["email_address"] = json!(email);
    order
}

/// Records as NDJSON, with raw lines spliced in at their positions.
fn input_file(dir: &Path, name: &str, records: impl Iterator<Item = Value>, raw: &[(usize, &str)]) -> PathBuf {
    let mut text = String::new();
    for (n, record) in records.enumerate() {
        if let Some((_, line)) = raw.iter().find(|(at, _)| *at == n) {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&record.to_string());
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn bulk_command(flow: &str, settings: &Path, input: &Path, sim: &Simulator, state: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["bulk", flow, "--settings"])
        .arg(settings)
        .arg("--input")
        .arg(input)
        .args(["--upstream", &format!("http://{}", sim.addr()), "--poll-interval", "0.2", "--state"])
        .arg(state)
        .args(extra)
        .stdin(Stdio::null());
    command
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON lines")).collect()
}

/// The failed records' lines and the summary line.
fn split(output: &Output) -> (Vec<Value>, Value) {
    let mut lines = lines(output);
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["summary"], true, "{summary}");
    (lines, summary)
}

fn imports(sim: &Simulator, kind: &str) -> usize {
    sim.imports(ACCOUNT).iter().filter(|i| i["kind"] == kind).count()
}

/// The fewest imports the documented caps allow: records in input order, a batch closing at
/// `per` records or `MAX_BATCH_INPUT_BYTES` of JSON.
fn fewest_imports(records: &[Value], per: usize) -> u64 {
    let (mut batches, mut count, mut bytes) = (0, 0, 0);
    for record in records {
        count += 1;
        bytes += record.to_string().len();
        if count == per || bytes >= MAX_BATCH_INPUT_BYTES {
            batches += 1;
            (count, bytes) = (0, 0);
        }
    }
    batches + u64::from(count > 0)
}

async fn simulator() -> Simulator {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    // Imports finish on their first status read after the one that says "not finished".
    let mut config = sim.import_config();
    config.finish_after_ms = None;
    sim.set_import_config(config);
    sim
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_thousand_contacts_load_in_one_import_and_bad_records_are_reported_one_by_one() {
    let sim = simulator().await;
    let dir = temp_dir("contacts");
    let before = sim.contacts(ACCOUNT).len();
    let records = (0..19_999).map(|n| match n {
        // Refused by the component (no request), and by Dotdigital's report (a repeated email).
        5 => json!({"id": "c5", "first_name": "No", "email_address": "not-an-email"}),
        9 => json!({"id": "c9", "first_name": "Twin", "email_address": "bulk-8@example.com"}),
        n => customer(n),
    });
    // One line that is not JSON, the 101st record: 20,000 in all.
    let input = input_file(&dir, "contacts.ndjson", records, &[(100, "{not json")]);
    let settings = settings_file(&dir);
    let output = tokio::task::spawn_blocking(move || {
        bulk_command("contacts", &settings, &input, &sim, &dir.join("state"), &[]).output().map(|o| (o, sim))
    })
    .await
    .unwrap()
    .unwrap();
    let (output, sim) = output;
    let (failed, summary) = split(&output);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(summary["total"], 20_000, "{summary}");
    assert_eq!(summary["imports"], 1, "{summary}");
    assert_eq!(imports(&sim, "contacts"), 1);
    assert_eq!(summary["failed"], 3, "{summary}");
    assert_eq!(summary["created"], 19_997, "{summary}");
    assert_eq!(sim.contacts(ACCOUNT).len(), before + 19_997);
    assert_eq!(failed.len(), 3, "{failed:?}");

    let by_record = |id: &str| failed.iter().find(|l| l["record"] == id).unwrap_or_else(|| panic!("{id}: {failed:?}"));
    assert_eq!(by_record("c5")["error"]["kind"], "invalid-record");
    assert_eq!(by_record("c5")["error"]["issues"][0]["field"], "email_address");
    assert_eq!(by_record("#101")["error"]["kind"], "input");
    let twin = by_record("c9");
    assert_eq!(twin["error"]["kind"], "rejected");
    assert_eq!(twin["error"]["code"], "duplicateIdentifier", "{twin}");
    // The one imported under that email is not a failure.
    assert!(failed.iter().all(|l| l["record"] != "c8"), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_thousand_orders_load_their_contacts_first_in_the_fewest_imports() {
    let sim = simulator().await;
    let dir = temp_dir("orders");
    // 5,000 buyers with four orders each; one order is a Quote (skipped).
    let records: Vec<Value> = (0..20_000)
        .map(|n| {
            let mut order = order(n, &format!("buyer-{}@example.com", n % 5_000));
            if n == 7 {
                order["type"] = json!("Quote");
            }
            order
        })
        .collect();
    let fewest = fewest_imports(&records, ORDERS_PER_IMPORT);
    let input = input_file(&dir, "orders.ndjson", records.into_iter(), &[]);
    let settings = settings_file(&dir);
    let (output, sim) = tokio::task::spawn_blocking(move || {
        bulk_command("orders", &settings, &input, &sim, &dir.join("state"), &[]).output().map(|o| (o, sim))
    })
    .await
    .unwrap()
    .unwrap();
    let (failed, summary) = split(&output);
    assert_eq!(output.status.code(), Some(0), "{failed:?} {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(summary["total"], 20_000, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_eq!(summary["updated"], 19_999, "{summary}");
    // 20,000 demo orders are ~34 MB of JSON: the 12 MB cap per import decides, not the count.
    assert!(fewest >= 2, "{fewest}");
    assert_eq!(summary["imports"], fewest, "{summary}");
    assert_eq!(summary["contacts"]["imports"], fewest, "{summary}");
    assert_eq!(imports(&sim, "insight"), fewest as usize);
    assert_eq!(imports(&sim, "contacts"), fewest as usize);
    assert_eq!(sim.insight_records(ACCOUNT, "Purchases").len(), 19_999);
    assert!(sim.contact(ACCOUNT, "buyer-4999@example.com").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_killed_part_way_resumes_to_exactly_the_right_totals() {
    let sim = simulator().await;
    // Imports linger (three reads before finishing) so the kill finds some running.
    let mut config = sim.import_config();
    config.contact_polls_to_finish = 3;
    sim.set_import_config(config);
    let mut limits = SimConfig::demo().rate_limit;
    limits.low_limit = 10_000;
    sim.set_rate_limit(limits);
    let dir = temp_dir("resume");
    let before = sim.contacts(ACCOUNT).len();
    let input = input_file(&dir, "contacts.ndjson", (0..20_000).map(customer), &[]);
    let settings = settings_file(&dir);
    let state = dir.join("state");
    let args = ["--batch-size", "2000"];

    let mut first = bulk_command("contacts", &settings, &input, &sim, &state, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once it has started four imports: some finished, some running, the rest unsent.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while imports(&sim, "contacts") < 4 {
        assert!(std::time::Instant::now() < deadline, "the first run never started 4 imports");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let sent_before_kill = imports(&sim, "contacts");
    assert!(sent_before_kill < 10, "killed before the end: {sent_before_kill} imports");

    let (output, sim) = tokio::task::spawn_blocking(move || {
        bulk_command("contacts", &settings, &input, &sim, &state, &args).output().map(|o| (o, sim))
    })
    .await
    .unwrap()
    .unwrap();
    let (failed, summary) = split(&output);
    assert_eq!(output.status.code(), Some(0), "{failed:?} {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(summary["total"], 20_000, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    // Each record counted once: created in one run or the other, or updated when a batch
    // whose PUT went unrecorded was sent again.
    let (created, updated) = (summary["created"].as_u64().unwrap(), summary["updated"].as_u64().unwrap());
    assert_eq!(created + updated, 20_000, "{summary}");
    assert!(updated <= 2_000, "at most the one batch in flight at the kill is sent twice: {summary}");
    assert_eq!(summary["imports"], 10, "{summary}");
    // Every import the first run started and recorded was read, not sent again.
    assert!(imports(&sim, "contacts") <= 11, "{} imports", imports(&sim, "contacts"));
    assert_eq!(sim.contacts(ACCOUNT).len(), before + 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_on_import_start_is_waited_out() {
    let sim = simulator().await;
    sim.inject(Fault {
        method: Some("PUT".into()),
        path_prefix: "/contacts/v3/import".into(),
        times: Some(1),
        action: FaultAction::RateLimited { seconds: 1 },
    });
    let dir = temp_dir("429");
    let input = input_file(&dir, "contacts.ndjson", (0..50).map(customer), &[]);
    let settings = settings_file(&dir);
    let (output, sim) = tokio::task::spawn_blocking(move || {
        bulk_command("contacts", &settings, &input, &sim, &dir.join("state"), &[]).output().map(|o| (o, sim))
    })
    .await
    .unwrap()
    .unwrap();
    let (_, summary) = split(&output);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!((summary["created"].as_u64(), summary["imports"].as_u64()), (Some(50), Some(1)), "{summary}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("rate-limited"), "the wait is logged");
    assert_eq!(imports(&sim, "contacts"), 1);
}
