//! `bulk contacts|orders` as an operator runs it: the harness binary against a simulator
//! that outlives it, so a run can be killed part-way and started again.

// More of the operator's view, in this binary so the suite links wasmtime fewer times.
mod last_wins;
mod terminal;

use std::process::Stdio;
use std::time::Duration;

use crate::support::*;
use dotdigital_harness::bulk::MAX_BATCH_INPUT_BYTES;
use dotdigital_sim::{Fault, FaultAction, SimConfig};
use serde_json::{json, Value};

/// The connector's orders per import (its `describe-bulk`).
const ORDERS_PER_IMPORT: usize = 10_000;

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

#[tokio::test(flavor = "multi_thread")]
async fn twenty_thousand_contacts_load_in_one_import_and_bad_records_are_reported_one_by_one() {
    let sim = simulator().await;
    let dir = temp_dir("contacts");
    let before = sim.contacts(ACCOUNT).len();
    let records = (0..19_999).map(|n| match n {
        // Refused by the component (no request); a later version of c8 (the same email), which
        // wins: c8 is skipped, never sent (Dotdigital would refuse a repeated email).
        5 => json!({"id": "c5", "first_name": "No", "email_address": "not-an-email"}),
        9 => json!({"id": "c9", "first_name": "Twin", "email_address": "bulk-8@example.com"}),
        n => customer(n),
    });
    // One line that is not JSON, the 101st record: 20,000 in all.
    let mut lines: Vec<String> = records.map(|r| r.to_string()).collect();
    lines.insert(100, "{not json".into());
    let input = write_lines(&dir, "contacts.ndjson", lines);
    let settings = settings_file(&dir, json!({}));
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("state"))).await;
    let (failed, summary) = split(&output);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    // A line per record, in input order; each imported one names its Dotdigital contact.
    let (lines, _) = record_lines(&output);
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[0]["record"], "c0");
    assert_eq!(lines[19_999]["record"], "c19998");
    let ok: Vec<&Value> = lines.iter().filter(|l| l["ok"] == true).collect();
    assert_eq!(ok.len(), 19_998);
    assert!(ok.iter().all(|l| l["outcome"]["external_id"].as_str().is_some_and(|id| id.parse::<u64>().is_ok())));
    assert_eq!(
        lines[8]["outcome"]["external_id"],
        sim.contact(ACCOUNT, "bulk-8@example.com").unwrap()["contactId"].to_string()
    );
    assert_eq!(summary["total"], 20_000, "{summary}");
    assert_eq!(summary["imports"], 1, "{summary}");
    assert_eq!(imports(&sim, "contacts"), 1);
    assert_eq!(summary["failed"], 2, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_eq!(summary["created"], 19_997, "{summary}");
    assert_eq!(sim.contacts(ACCOUNT).len(), before + 19_997);
    assert_eq!(failed.len(), 2, "{failed:?}");

    let by_record = |id: &str| failed.iter().find(|l| l["record"] == id).unwrap_or_else(|| panic!("{id}: {failed:?}"));
    assert_eq!(by_record("c5")["error"]["kind"], "invalid-record");
    assert_eq!(by_record("c5")["error"]["issues"][0]["field"], "email_address");
    assert_eq!(by_record("#101")["error"]["kind"], "input");
    assert_eq!(by_record("#101")["line"], 101);
    let (earlier, twin) = (&lines[8], &lines[9]);
    assert_eq!((earlier["record"].as_str(), twin["record"].as_str()), (Some("c8"), Some("c9")));
    assert_eq!(earlier["outcome"]["action"], "skipped", "{earlier}");
    assert!(earlier["outcome"]["messages"][0].as_str().unwrap().starts_with("superseded by line 10 of the input"));
    assert_eq!(twin["outcome"]["action"], "created", "{twin}");
    assert_eq!(twin["outcome"]["external_id"], earlier["outcome"]["external_id"]);
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
    let input = write_input(&dir, "orders.ndjson", &records);
    let settings = settings_file(&dir, json!({}));
    let output = run(bulk("orders", &settings, &input, &sim, &dir.join("state"))).await;
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
    let input = write_input(&dir, "contacts.ndjson", &(0..20_000).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let args = ["--batch-size", "2000"];

    let mut first = bulk("contacts", &settings, &input, &sim, &state)
        .args(args)
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

    let mut again = bulk("contacts", &settings, &input, &sim, &state);
    again.args(args);
    let output = run(again).await;
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
    let input = write_input(&dir, "contacts.ndjson", &(0..50).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("state"))).await;
    let (_, summary) = split(&output);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!((summary["created"].as_u64(), summary["imports"].as_u64()), (Some(50), Some(1)), "{summary}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("rate-limited"), "the wait is logged");
    assert_eq!(imports(&sim, "contacts"), 1);
}
