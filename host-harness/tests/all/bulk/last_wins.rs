//! `bulk` ends where `sync` ends: within one load the last version of a record wins (the
//! earlier ones are skipped, saying which line superseded them); every line names the
//! record's line in the input; a JSON array is read as a stream; a load that already
//! finished says so when run again, and its ledger is pruned once old.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::*;
use dotdigital_sim::Simulator;
use serde_json::{json, Value};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/customers.ndjson");
const DEMO_SETTINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/settings.json");

/// `sync FLOW` of `record` against `sim`.
fn sync(flow: &str, settings: &Path, record: &Path, sim: &Simulator) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["sync", flow, "--settings"])
        .arg(settings)
        .arg("--record")
        .arg(record)
        .args(["--upstream", &format!("http://{}", sim.addr())])
        .stdin(Stdio::null());
    command
}

fn stdout_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// What a contact is to the subscription: email, data fields, opt-in and lists, by email.
fn end_state(sim: &Simulator) -> Vec<Value> {
    let mut contacts: Vec<Value> = sim
        .contacts(ACCOUNT)
        .into_iter()
        .map(|c| {
            let mut lists: Vec<i64> =
                c["lists"].as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()).collect();
            lists.sort();
            json!({"email": c["identifiers"]["email"], "dataFields": c["dataFields"],
                   "optInType": c["channelProperties"]["email"]["optInType"], "lists": lists})
        })
        .collect();
    contacts.sort_by_key(|c| c["email"].to_string());
    contacts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_ends_the_same_through_sync_and_bulk() {
    let dir = temp_dir("sample");
    let settings = Path::new(DEMO_SETTINGS);
    let input = Path::new(SAMPLE);

    let synced = simulator().await;
    let output = run(sync("contact", settings, input, &synced)).await;
    let sync_lines = stdout_lines(&output);
    assert_eq!(sync_lines.len(), 4, "{}", stderr(&output));
    assert_eq!(output.status.code(), Some(1), "not-an-email fails");

    let loaded = simulator().await;
    let output = run(bulk("contacts", settings, input, &loaded, &dir.join("state"))).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (lines, summary) = record_lines(&output);

    let state = end_state(&loaded);
    assert_eq!(state, end_state(&synced), "bulk and sync end apart");
    let jane = state.iter().find(|c| c["email"] == "jane.doe@example.com").unwrap();
    assert_eq!(jane["dataFields"]["LOYALTY_TIER"], "Platinum", "the later version wins: {jane}");
    assert_eq!(jane["dataFields"]["LASTNAME"], "Doe-Smith", "{jane}");

    // Line 1 is superseded by line 3: skipped (not a failure), with the contact id line 3 got.
    assert_eq!(lines.len(), 4, "{lines:?}");
    let first = &lines[0];
    assert_eq!((first["ok"].clone(), first["line"].clone()), (json!(true), json!(1)), "{first}");
    assert_eq!(first["outcome"]["action"], "skipped");
    assert_eq!(
        first["outcome"]["messages"][0].as_str().unwrap().split(':').next(),
        Some("superseded by line 3 of the input")
    );
    assert_eq!(first["outcome"]["external_id"], lines[2]["outcome"]["external_id"]);
    assert!(first.get("superseded_by").is_none(), "{first}");
    assert_eq!(lines[2]["outcome"]["action"], "created");
    assert_eq!(lines.iter().map(|l| l["line"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!((lines[3]["ok"].clone(), lines[3]["error"]["kind"].clone()), (json!(false), json!("invalid-record")));
    assert_eq!(sync_lines[3]["line"], 4, "{:?}", sync_lines[3]);
    assert_eq!(sync_lines[3]["error"]["kind"], "invalid-record");
    assert_eq!(
        (summary["total"].clone(), summary["created"].clone(), summary["skipped"].clone(), summary["failed"].clone()),
        (json!(4), json!(2), json!(1), json!(1)),
        "{summary}"
    );

    // Nothing but the superseded record skipped: exit 0 when nothing failed.
    let valid =
        write_lines(&dir, "valid.ndjson", std::fs::read_to_string(input).unwrap().lines().take(3).map(str::to_string));
    let output = run(bulk("contacts", settings, &valid, &simulator().await, &dir.join("state2"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary_of(&output)["skipped"], 1);
}

fn summary_of(output: &Output) -> Value {
    record_lines(output).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_twice_keeps_the_later() {
    let sim = simulator().await;
    let dir = temp_dir("orders");
    let mut earlier = order(1, "buyer@example.com");
    earlier["transaction_number"] = json!("SO-7");
    earlier["status"] = json!("Pending");
    let mut later = order(2, "buyer@example.com");
    later["transaction_number"] = json!(" SO-7 ");
    later["status"] = json!("Shipped");
    let other = order(3, "buyer@example.com");
    let input = write_input(&dir, "orders.ndjson", &[earlier, other, later]);
    let output = run(bulk("orders", &settings_file(&dir, json!({})), &input, &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (lines, summary) = record_lines(&output);
    let first = line_of(&lines, "t1");
    assert_eq!(first["outcome"]["action"], "skipped", "{first}");
    assert_eq!(first["outcome"]["external_id"], "SO-7", "{first}");
    assert!(first["outcome"]["messages"][0].as_str().unwrap().starts_with("superseded by line 3 of the input"));
    assert_eq!(line_of(&lines, "t2")["outcome"]["action"], "updated");
    assert_eq!((summary["updated"].clone(), summary["skipped"].clone()), (json!(2), json!(1)), "{summary}");
    let record = sim.insight_record(ACCOUNT, "Purchases", "SO-7").expect("the order is imported");
    assert_eq!(record["json"]["orderStatus"], "Shipped", "{record}");
    assert_eq!(sim.insight_records(ACCOUNT, "Purchases").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_names_its_line_in_the_file_in_sync_and_bulk() {
    let dir = temp_dir("lines");
    let settings = settings_file(&dir, json!({}));
    let text = format!(
        "\n{}\n\n{{\"id\": \"broken\", \"email_address\": nope}}\n{}\n",
        customer(1),
        json!({"id": "c2", "first_name": "No", "email_address": "not-an-email"})
    );
    let input = dir.join("input.ndjson");
    std::fs::write(&input, text).unwrap();

    let sim = simulator().await;
    let synced = stdout_lines(&run(sync("contact", &settings, &input, &sim)).await);
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("s"))).await;
    let (loaded, _) = record_lines(&output);
    for lines in [&synced, &loaded] {
        assert_eq!(lines.iter().map(|l| l["line"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 4, 5], "{lines:?}");
        assert_eq!(lines[1]["error"]["kind"], "input");
        let message = lines[1]["error"]["message"].as_str().unwrap();
        assert!(message.contains("at line 4 column"), "{message}");
        assert!(!message.contains("line 1 "), "{message}");
        assert_eq!(lines[2]["error"]["kind"], "invalid-record");
    }

    // A pretty-printed array, read as a stream, in both.
    let records = [customer(3), customer(4)];
    let pretty = serde_json::to_string_pretty(&json!(records)).unwrap();
    let array = dir.join("array.json");
    std::fs::write(&array, &pretty).unwrap();
    let starts: Vec<u64> = pretty.lines().enumerate().filter(|(_, l)| *l == "  {").map(|(i, _)| i as u64 + 1).collect();
    assert_eq!(starts, [2, 14]);
    let synced = stdout_lines(&run(sync("contact", &settings, &array, &sim)).await);
    let output = run(bulk("contacts", &settings, &array, &sim, &dir.join("s2"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (loaded, _) = record_lines(&output);
    for lines in [&synced, &loaded] {
        assert_eq!(lines.iter().map(|l| l["line"].as_u64().unwrap()).collect::<Vec<_>>(), starts, "{lines:?}");
        assert!(lines.iter().all(|l| l["ok"] == true), "{lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_load_says_so_and_is_forgotten_once_old() {
    let sim = simulator().await;
    let dir = temp_dir("again");
    let settings = settings_file(&dir, json!({}));
    let input = write_input(&dir, "c.ndjson", &(1..=3).map(customer).collect::<Vec<_>>());
    let state = dir.join("s");
    let first = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(!stderr(&first).contains("already loaded"));
    assert!(record_lines(&first).1.get("already_loaded").is_none());
    assert_eq!(imports(&sim, "contacts"), 1);

    let again = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let log = stderr(&again);
    let said = log.lines().find(|l| l.contains("already loaded at ")).unwrap_or_else(|| panic!("{log}"));
    assert!(said.contains("nothing sent (use --restart to send it again)"), "{said}");
    let (lines, summary) = record_lines(&again);
    assert_eq!(summary["already_loaded"], true, "{summary}");
    assert_eq!(lines, record_lines(&first).0, "the same lines");
    assert_eq!(imports(&sim, "contacts"), 1, "nothing sent");

    // 31 days later, the finished load is pruned when a bulk run opens the ledger: the same
    // input is a new load.
    let database = rusqlite::Connection::open(state.join("dotdigital-state.sqlite3")).unwrap();
    database.execute("UPDATE bulk_loads SET finished_at = finished_at - 31 * 86400", []).unwrap();
    drop(database);
    let later = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(later.status.code(), Some(0), "{}", stderr(&later));
    assert!(stderr(&later).contains("1 bulk load(s) finished more than 30 days ago forgotten"), "{}", stderr(&later));
    assert!(!stderr(&later).contains("already loaded"));
    assert_eq!(imports(&sim, "contacts"), 2, "sent again");
}

/// The first pass is deterministic, so a load stopped part-way resumes with the same batches:
/// the superseded record stays skipped, the started import is read, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_load_with_superseded_records_resumes() {
    let sim = simulator().await;
    let mut config = sim.import_config();
    config.contact_polls_to_finish = 1_000_000;
    sim.set_import_config(config.clone());
    let dir = temp_dir("resume");
    let settings = settings_file(&dir, json!({}));
    let mut later = customer(1);
    later["last_name"] = json!("Later");
    let input = write_input(&dir, "c.ndjson", &[customer(1), customer(2), later]);
    let state = dir.join("s");
    let mut command = bulk("contacts", &settings, &input, &sim, &state);
    command.args(["--batch-size", "2", "--import-timeout", "1"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let sent = imports(&sim, "contacts");

    config.contact_polls_to_finish = 0;
    sim.set_import_config(config);
    let mut command = bulk("contacts", &settings, &input, &sim, &state);
    command.args(["--batch-size", "2"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (lines, summary) = record_lines(&output);
    assert_eq!(lines[0]["outcome"]["action"], "skipped", "{lines:?}");
    assert_eq!(
        (summary["created"].clone(), summary["skipped"].clone(), summary["total"].clone()),
        (json!(2), json!(1), json!(3)),
        "{summary}"
    );
    assert_eq!(sent, 2, "both batches were started");
    assert_eq!(imports(&sim, "contacts"), sent, "the started imports are read, not sent again");
    let contact = sim.contact(ACCOUNT, "bulk-1@example.com").unwrap();
    assert_eq!(contact["dataFields"]["LASTNAME"], "Later", "{contact}");
}
