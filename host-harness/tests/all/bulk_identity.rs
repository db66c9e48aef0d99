//! Bulk loads record by record (contract 1.1): one `sync`-shaped line per record with the
//! contact id Dotdigital's import report gives, stored contact ids Dotdigital no longer knows
//! sent again by email, consent in three states, the import status words, and
//! `--import-timeout`. The harness binary against the simulator.

use crate::support::*;
use dotdigital_sim::Simulator;
use serde_json::{json, Value};

/// The subscription whose `external_ids` rows hold stored contact ids.
const SUBSCRIPTION: i64 = 77;
const WEB_SHOP: u64 = 123456;
const NEWSLETTER: u64 = 123457;

fn with_consent(n: usize, email: &str, consent: Option<&str>) -> Value {
    let mut record = customer(n);
    record["email_address"] = json!(email);
    if let Some(answer) = consent {
        record["custom_fields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"custom_field_name": "Email Marketing Consent", "value": answer}));
    }
    record
}

fn with_stored_id(mut record: Value, contact_id: &str) -> Value {
    record["external_ids"] = json!([{"system_id": SUBSCRIPTION, "external_id": contact_id}]);
    record
}

/// The list ids the simulator holds for `email`.
fn lists_of(sim: &Simulator, email: &str) -> Vec<u64> {
    let contact = sim.contact(ACCOUNT, email).unwrap_or_else(|| panic!("{email} exists"));
    contact["lists"].as_array().unwrap().iter().map(|l| l["id"].as_u64().unwrap()).collect()
}

fn contact_id(sim: &Simulator, email: &str) -> String {
    sim.contact(ACCOUNT, email).unwrap_or_else(|| panic!("{email} exists"))["contactId"].to_string()
}

fn requests(sim: &Simulator, method: &str, path: &str) -> usize {
    sim.requests().iter().filter(|r| r.method == method && r.path.starts_with(path)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_contact_gets_its_line_with_dotdigitals_contact_id_and_a_gone_stored_id_is_sent_again_by_email() {
    let sim = simulator().await;
    let dir = temp_dir("identity");
    let settings = settings_file(&dir, json!({"subscription_id": SUBSCRIPTION}));
    let first = write_input(&dir, "first.ndjson", &[customer(1), customer(2)]);
    let output = run(bulk("contacts", &settings, &first, &sim, &dir.join("state"))).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary["created"], 2, "{summary}");
    let ids: Vec<&Value> = lines.iter().map(|l| &l["record"]).collect();
    assert_eq!(ids, [&json!("c1"), &json!("c2")], "one line per record, in input order");
    for (line, n) in lines.iter().zip([1, 2]) {
        let email = format!("bulk-{n}@example.com");
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["flow"], "contact");
        assert_eq!(line["outcome"]["external_id"], contact_id(&sim, &email), "{line}");
        assert_eq!(line["outcome"]["action"], "created");
        assert_eq!(line["outcome"]["api_calls"], 0);
        assert_eq!(line["attempts"], 1);
    }
    let kept = contact_id(&sim, "bulk-1@example.com");

    // Again: one record with its (right) stored id, one whose stored id Dotdigital no longer
    // knows, one new. The gone id's record is not failed: a follow-up import matches it by email.
    let second = write_input(
        &dir,
        "second.ndjson",
        &[with_stored_id(customer(1), &kept), with_stored_id(customer(2), "99999999"), customer(3)],
    );
    let imports_before = imports(&sim, "contacts");
    let output = run(bulk("contacts", &settings, &second, &sim, &dir.join("state"))).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{lines:?} {}", stderr(&output));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!((summary["created"].as_u64(), summary["updated"].as_u64()), (Some(1), Some(2)), "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["imports"], 2, "the load and its follow-up: {summary}");
    assert_eq!(imports(&sim, "contacts"), imports_before + 2);
    assert_eq!(line_of(&lines, "c1")["outcome"]["external_id"], kept);
    assert_eq!(line_of(&lines, "c1")["outcome"]["action"], "updated");
    let again = line_of(&lines, "c2");
    assert_eq!(again["outcome"]["external_id"], contact_id(&sim, "bulk-2@example.com"), "{again}");
    assert_eq!(again["outcome"]["action"], "updated");
    assert!(again["outcome"]["messages"][0].as_str().unwrap().contains("matched by email"), "{again}");
    assert_eq!(line_of(&lines, "c3")["outcome"]["action"], "created");
    assert_eq!(lines.iter().map(|l| l["record"].as_str().unwrap()).collect::<Vec<_>>(), ["c1", "c2", "c3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_has_three_states_and_an_explicit_no_leaves_every_marketing_list() {
    let sim = simulator().await;
    let dir = temp_dir("consent");
    let settings = settings_file(&dir, json!({"list_ids": [WEB_SHOP], "marketing_list_ids": [NEWSLETTER]}));
    let people = ["yes", "no", "absent", "blank"].map(|who| format!("{who}@example.com"));
    // Everyone said yes once: on both lists.
    let first: Vec<Value> = people.iter().enumerate().map(|(n, e)| with_consent(n, e, Some("yes"))).collect();
    let output =
        run(bulk("contacts", &settings, &write_input(&dir, "first.ndjson", &first), &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for email in &people {
        assert_eq!(lists_of(&sim, email), [WEB_SHOP, NEWSLETTER], "{email}");
    }
    assert_eq!(requests(&sim, "POST", "/v2/address-books/"), 0, "nobody said no: no removal");

    // Now: yes, an explicit no, no answer, a blank answer.
    let second = vec![
        with_consent(10, &people[0], Some("Y")),
        with_consent(11, &people[1], Some("no")),
        with_consent(12, &people[2], None),
        with_consent(13, &people[3], Some("  ")),
        with_consent(14, "new-no@example.com", Some("false")),
    ];
    let output =
        run(bulk("contacts", &settings, &write_input(&dir, "second.ndjson", &second), &sim, &dir.join("s"))).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{lines:?} {}", stderr(&output));
    assert_eq!(summary["failed"], 0);
    assert_eq!(lists_of(&sim, &people[0]), [WEB_SHOP, NEWSLETTER]);
    assert_eq!(lists_of(&sim, &people[1]), [WEB_SHOP], "an explicit no leaves the marketing list");
    assert_eq!(lists_of(&sim, &people[2]), [WEB_SHOP, NEWSLETTER], "no answer leaves membership alone");
    assert_eq!(lists_of(&sim, &people[3]), [WEB_SHOP, NEWSLETTER], "a blank answer leaves membership alone");
    assert_eq!(lists_of(&sim, "new-no@example.com"), [WEB_SHOP], "a new no joins list_ids only");
    // One bulk removal for the marketing list, for the existing contact who said no.
    assert_eq!(requests(&sim, "POST", &format!("/v2/address-books/{NEWSLETTER}/contacts/delete")), 1);
    assert_eq!(requests(&sim, "DELETE", "/v2/address-books/"), 0);
    let no = line_of(&lines, "c11");
    assert_eq!(no["outcome"]["external_id"], contact_id(&sim, &people[1]));
    assert_eq!(no["outcome"]["messages"], json!([format!("consent is no: taken off marketing lists {NEWSLETTER}")]));
    assert_eq!(line_of(&lines, "c12")["outcome"]["messages"], json!([]));
    // A contact the import created joined no marketing list: nothing to take it off.
    assert_eq!(line_of(&lines, "c14")["outcome"]["action"], "created");
    assert_eq!(line_of(&lines, "c14")["outcome"]["messages"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_import_ending_with_a_failure_word_fails_its_records_with_the_word() {
    for word in ["RejectedByWatchdog", "Failed", "ExceedsAllowedContactLimit"] {
        let sim = simulator().await;
        let mut config = sim.import_config();
        config.contact_end_status = Some(word.into());
        sim.set_import_config(config);
        let dir = temp_dir("ended");
        let input = write_input(&dir, "c.ndjson", &[customer(1), customer(2)]);
        let output = run(bulk("contacts", &settings_file(&dir, json!({})), &input, &sim, &dir.join("s"))).await;
        let (failed, summary) = split(&output);
        assert_eq!(output.status.code(), Some(1), "{word}: {}", stderr(&output));
        assert_eq!(summary["failed"], 2, "{word}: {summary}");
        for line in failed {
            assert_eq!(line["error"]["code"], "importFailed", "{line}");
            assert!(line["error"]["message"].as_str().unwrap().ends_with(word), "{line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_and_unknown_running_words_are_waited_for() {
    for word in ["NotStarted", "SomethingNew"] {
        let sim = simulator().await;
        let mut config = sim.import_config();
        config.contact_running_status = word.into();
        config.contact_polls_to_finish = 2;
        sim.set_import_config(config);
        let dir = temp_dir("queued");
        let input = write_input(&dir, "c.ndjson", &[customer(1)]);
        let output = run(bulk("contacts", &settings_file(&dir, json!({})), &input, &sim, &dir.join("s"))).await;
        let (lines, summary) = record_lines(&output);
        assert_eq!(output.status.code(), Some(0), "{word}: {}", stderr(&output));
        assert_eq!(summary["created"], 1, "{word}: {summary}");
        assert_eq!(lines[0]["outcome"]["action"], "created");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_insight_import_ending_with_a_failure_word_fails_its_orders() {
    let sim = simulator().await;
    let mut config = sim.import_config();
    config.insight_end_status = Some("NotAvailableInThisVersion".into());
    sim.set_import_config(config);
    let dir = temp_dir("insight-ended");
    let input = write_input(&dir, "o.ndjson", &[order(1, "ana@example.com"), order(2, "bo@example.com")]);
    let output = run(bulk("orders", &settings_file(&dir, json!({})), &input, &sim, &dir.join("s"))).await;
    let (failed, summary) = split(&output);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(summary["failed"], 2, "{summary}");
    assert!(failed.iter().all(|l| l["error"]["message"].as_str().unwrap().ends_with("NotAvailableInThisVersion")));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_get_a_line_each_keyed_by_transaction_number() {
    let sim = simulator().await;
    let dir = temp_dir("order-lines");
    let mut quote = order(3, "ana@example.com");
    quote["type"] = json!("Quote");
    let input = write_input(&dir, "o.ndjson", &[order(1, "ana@example.com"), order(2, "bo@example.com"), quote]);
    let output = run(bulk("orders", &settings_file(&dir, json!({})), &input, &sim, &dir.join("s"))).await;
    let (lines, _) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let outcomes: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["flow"], "order");
            (
                l["record"].as_str().unwrap(),
                l["outcome"]["external_id"].as_str().unwrap(),
                l["outcome"]["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("t1", "B-1", "updated"), ("t2", "B-2", "updated"), ("t3", "B-3", "skipped")]);
    assert!(sim.insight_record(ACCOUNT, "Purchases", "B-2").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_load_never_rewrites_an_existing_contacts_opt_in_type() {
    let sim = simulator().await;
    let dir = temp_dir("opt-in");
    let settings = settings_file(&dir, json!({"subscription_id": SUBSCRIPTION, "opt_in_type": "single"}));
    let opt_in = |email: &str| {
        let contact = sim.contact(ACCOUNT, email).unwrap_or_else(|| panic!("{email} exists"));
        contact["channelProperties"]["email"]["optInType"].as_str().unwrap_or_default().to_ascii_lowercase()
    };
    // The record's own type is written.
    let mut first = customer(1);
    first["custom_fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"custom_field_name": "Email Opt In Type", "value": "Double"}));
    let output = run(bulk("contacts", &settings, &write_input(&dir, "a.ndjson", &[first]), &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(opt_in("bulk-1@example.com"), "double");
    // Again by its stored id, without the field: the subscription's default (single) does not
    // reach the contact that exists.
    let again = with_stored_id(customer(1), &contact_id(&sim, "bulk-1@example.com"));
    let output = run(bulk("contacts", &settings, &write_input(&dir, "b.ndjson", &[again]), &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(opt_in("bulk-1@example.com"), "double");
    let last = sim.requests().into_iter().rfind(|r| r.method == "PUT" && r.path == "/contacts/v3/import");
    assert!(!last.expect("an import was sent").body.contains("optInType"), "no opt-in type by stored id");

    // verifiedDouble, which would ask an existing subscriber to confirm, never goes in an
    // import (an import cannot create only): no confirmation email.
    let settings = settings_file(&dir, json!({"subscription_id": SUBSCRIPTION, "opt_in_type": "verifiedDouble"}));
    let output = run(bulk(
        "contacts",
        &settings,
        &write_input(&dir, "c.ndjson", &[customer(1), customer(2)]),
        &sim,
        &dir.join("s"),
    ))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for import in sim.requests().iter().filter(|r| r.method == "PUT" && r.path == "/contacts/v3/import") {
        assert!(!import.body.contains("verifiedDouble"), "{}", import.body);
    }
    assert!(sim.confirmation_emails(ACCOUNT).is_empty(), "no confirmation email");
    assert_eq!(opt_in("bulk-1@example.com"), "double");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_the_load_with_the_settings_to_fix_not_a_resume() {
    let sim = simulator().await;
    let dir = temp_dir("wrong-password");
    let settings = settings_file(&dir, json!({"api_password": "not-the-password"}));
    let input = write_input(&dir, "in.ndjson", &[customer(1), customer(2)]);
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("s"))).await;
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("concerns the whole subscription: fix the settings"), "{stderr}");
    assert!(!stderr.contains("run the same command again"), "{stderr}");
    assert!(stderr.contains("(unauthorized: ") && !stderr.contains("{\\\"kind"), "in words, not JSON: {stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    assert_eq!(imports(&sim, "contacts"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_customers_last_record_decides_its_marketing_lists_across_batches() {
    let sim = simulator().await;
    let dir = temp_dir("consent-order");
    let settings = settings_file(&dir, json!({"list_ids": [WEB_SHOP], "marketing_list_ids": [NEWSLETTER]}));
    let (ana, bo) = ("ana@example.com", "bo@example.com");
    let first = [with_consent(1, ana, Some("yes")), with_consent(2, bo, Some("yes"))];
    let output =
        run(bulk("contacts", &settings, &write_input(&dir, "first.ndjson", &first), &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // One record per batch: Ana says no, then yes; Bo says yes, then no. An earlier batch's
    // removal must not undo a later yes, and a later no must win.
    let second = [
        with_consent(3, ana, Some("no")),
        with_consent(4, bo, Some("yes")),
        with_consent(5, ana, Some("yes")),
        with_consent(6, bo, Some("no")),
    ];
    let mut command = bulk("contacts", &settings, &write_input(&dir, "second.ndjson", &second), &sim, &dir.join("s"));
    command.args(["--batch-size", "1"]);
    let output = run(command).await;
    let (lines, _) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(lists_of(&sim, ana), [WEB_SHOP, NEWSLETTER], "Ana's last record says yes");
    assert_eq!(lists_of(&sim, bo), [WEB_SHOP], "Bo's last record says no");
    assert_eq!(requests(&sim, "POST", "/v2/address-books/"), 1, "one removal, at the end of the load");
    assert!(line_of(&lines, "c6")["outcome"]["messages"].to_string().contains("taken off"), "{lines:?}");
    assert!(!line_of(&lines, "c3")["outcome"]["messages"].to_string().contains("taken off"), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_order_contacts_require_bulk_orders_make_no_contact() {
    let sim = simulator().await;
    let dir = temp_dir("order-require");
    let settings = settings_file(&dir, json!({"order_contacts": "require"}));
    // Ana is a customer already; Bo is not.
    let customers = write_input(&dir, "c.ndjson", &[with_consent(1, "ana@example.com", None)]);
    let output = run(bulk("contacts", &settings, &customers, &sim, &dir.join("s"))).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let input = write_input(&dir, "o.ndjson", &[order(1, "ana@example.com"), order(2, "bo@example.com")]);
    let output = run(bulk("orders", &settings, &input, &sim, &dir.join("s"))).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(1), "one record failed: {}", stderr(&output));
    assert_eq!(imports(&sim, "contacts"), 1, "no contacts import for the orders: {summary}");
    assert_eq!(line_of(&lines, "t1")["ok"], true, "{lines:?}");
    assert_eq!(line_of(&lines, "t2")["ok"], false, "{lines:?}");
    assert!(sim.contact(ACCOUNT, "bo@example.com").is_none(), "no contact was made for the order");
    assert!(sim.insight_record(ACCOUNT, "Purchases", "B-2").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_still_running_at_the_timeout_stops_the_run_and_the_next_run_reads_it() {
    let sim = simulator().await;
    let mut config = sim.import_config();
    config.contact_polls_to_finish = 1_000_000;
    sim.set_import_config(config.clone());
    let dir = temp_dir("timeout");
    let settings = settings_file(&dir, json!({}));
    let input = write_input(&dir, "c.ndjson", &[customer(1), customer(2)]);
    let state = dir.join("s");
    let started = std::time::Instant::now();
    let mut command = bulk("contacts", &settings, &input, &sim, &state);
    command.args(["--import-timeout", "1"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(started.elapsed().as_secs() < 30, "it stopped at the timeout: {:?}", started.elapsed());
    assert!(stderr(&output).contains("--import-timeout 1s"), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no line before the load ends");
    assert_eq!(imports(&sim, "contacts"), 1);

    // Dotdigital finishes it; the next run reads it instead of sending it again.
    config.contact_polls_to_finish = 0;
    sim.set_import_config(config);
    let output = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!((lines.len(), summary["created"].as_u64()), (2, Some(2)), "{summary}");
    assert_eq!(imports(&sim, "contacts"), 1, "read, not sent again");

    for bad in ["0", "-1", "100000", "nan"] {
        let mut command = bulk("contacts", &settings, &input, &sim, &state);
        command.args(["--import-timeout", bad]);
        let output = run(command).await;
        assert_eq!(output.status.code(), Some(2), "--import-timeout {bad}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_1_0_component_still_loads_in_bulk_without_contact_ids_and_is_refused_marketing_lists() {
    use test_support::guests::V1_0;
    let sim = simulator().await;
    let dir = temp_dir("v1-0");
    let describe = run({
        let mut command = std::process::Command::new(BIN);
        command.args(["describe", "--plugin", V1_0]);
        command
    })
    .await;
    let info: Value = serde_json::from_slice(&describe.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&describe)));
    assert_eq!(info["contract"], "ipaas:dotdigital@1.0.0");

    let settings_with = |extra: Value| {
        let mut settings = json!({"name": "Old component", "api_user": "demo@apiconnector.com",
                                  "api_password": PASSWORD, "list_ids": [WEB_SHOP]});
        for (key, value) in extra.as_object().unwrap() {
            settings[key] = value.clone();
        }
        let path = dir.join("settings.json");
        std::fs::write(&path, settings.to_string()).unwrap();
        path
    };
    let load = |flow: &'static str, settings: std::path::PathBuf, input: std::path::PathBuf| {
        let mut command = bulk(flow, &settings, &input, &sim, &dir.join("s"));
        command.args(["--plugin", V1_0]);
        run(command)
    };

    // Contacts: every record has its line, without a contact id, saying why; a warning too.
    let input = write_input(&dir, "c.ndjson", &[customer(1), customer(2)]);
    let output = load("contacts", settings_with(json!({})), input.clone()).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary["created"], 2, "{summary}");
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["outcome"]["external_id"], Value::Null, "{line}");
        assert!(line["outcome"]["messages"][0].as_str().unwrap().contains("contract 1.0.0"), "{line}");
    }
    assert!(stderr(&output).contains("bulk lines carry no contact ids"), "{}", stderr(&output));

    // Orders: their external id is the transaction number, which the host has without the report.
    let orders = write_input(&dir, "o.ndjson", &[order(1, "ana@example.com"), order(2, "bo@example.com")]);
    let output = load("orders", settings_with(json!({})), orders).await;
    let (lines, _) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let external: Vec<&Value> = lines.iter().map(|l| &l["outcome"]["external_id"]).collect();
    assert_eq!(external, [&json!("B-1"), &json!("B-2")]);

    // With marketing lists a 1.0 component could not take anyone who said no off them: refused.
    let output = load("contacts", settings_with(json!({"marketing_list_ids": [NEWSLETTER]})), input).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.contains("contract 1.0.0") && message.contains("marketing_list_ids"), "{message}");
    assert_eq!(imports(&sim, "contacts"), 0, "the component never reached Dotdigital");
}

/// Settings a compat component takes (it declares only the credentials).
fn compat_settings(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("settings.json");
    let settings = json!({"name": "Compat", "api_user": "demo@apiconnector.com", "api_password": PASSWORD});
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

/// How many records went in imports of each size: a compat component's contact id carries the
/// size of its import (see tests/compat-plugin).
fn import_sizes(lines: &[Value]) -> Vec<(u64, usize)> {
    let mut per_size = std::collections::BTreeMap::<u64, usize>::new();
    for line in lines {
        let id: u64 = line["outcome"]["external_id"].as_str().and_then(|id| id.parse().ok()).expect("a contact id");
        *per_size.entry(id / 1_000_000).or_default() += 1;
    }
    per_size.into_iter().collect()
}

/// A 1.1 component has no `describe-bulk`: the host paces its load with caution of its own (one
/// import at a time, 1,000 records each unless the operator asks for more, up to the host's
/// ceiling of 100,000), never with Dotdigital's figures, which it does not know, and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_1_1_component_is_paced_by_the_hosts_caution() {
    use test_support::guests::V1_1;
    let sim = simulator().await;
    let dir = temp_dir("v1-1");
    let describe = run({
        let mut command = std::process::Command::new(BIN);
        command.args(["describe", "--plugin", V1_1]);
        command
    })
    .await;
    let info: Value = serde_json::from_slice(&describe.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&describe)));
    assert_eq!(info["contract"], "ipaas:dotdigital@1.1.0");

    let settings = compat_settings(&dir);
    let input = write_input(&dir, "c.ndjson", &(0..2_500).map(customer).collect::<Vec<_>>());
    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("s"));
    command.args(["--plugin", V1_1]);
    let output = run(command).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary["created"], 2_500, "{summary}");
    assert_eq!(import_sizes(&lines), [(500, 500), (1_000, 2_000)]);
    assert!(stderr(&output).contains("does not say how large its imports may be"), "{}", stderr(&output));

    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("s"));
    command.args(["--plugin", V1_1, "--batch-size", "100001"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("between 1 and 100000 records"), "{}", stderr(&output));
}

/// A component of a newer minor says its own limits (`describe-bulk`): batches of 3, at most
/// 7 on request (see tests/compat-plugin), not the connector's figures nor the host's caution.
#[tokio::test(flavor = "multi_thread")]
async fn a_components_own_import_limits_size_the_batches() {
    use test_support::guests::NEWER_MINOR;
    let sim = simulator().await;
    let dir = temp_dir("newer-minor");
    let settings = compat_settings(&dir);
    let input = write_input(&dir, "c.ndjson", &(0..10).map(customer).collect::<Vec<_>>());
    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("s"));
    command.args(["--plugin", NEWER_MINOR]);
    let output = run(command).await;
    let (lines, summary) = record_lines(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary["created"], 10, "{summary}");
    assert_eq!(import_sizes(&lines), [(1, 1), (3, 9)]);
    assert!(!stderr(&output).contains("does not say how large its imports may be"), "{}", stderr(&output));

    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("s"));
    command.args(["--plugin", NEWER_MINOR, "--batch-size", "8"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("between 1 and 7 records"), "{}", stderr(&output));
}
