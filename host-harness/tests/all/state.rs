//! The state directory as separate processes see it: two harness runs sharing one `--state`
//! send each certificate's email once, and a damaged or booby-trapped directory is refused
//! or ignored, never followed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dotdigital_sim::{SimConfig, Simulator};
use serde_json::{json, Value};

use crate::support::{temp_dir, BIN, PASSWORD};
const DATABASE: &str = "dotdigital-state.sqlite3";
const CERTIFICATES: usize = 40;

/// Settings (two connections at once, as the platform's default) and the demo certificate
/// campaign, in a file of their own.
fn settings_file(dir: &Path) -> PathBuf {
    let settings = json!({
        "name": "Shared state", "api_user": "demo@apiconnector.com", "api_password": PASSWORD,
        "default_currency": "GBP", "certificate_campaign_id": 9001
    });
    let path = dir.join("settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

/// Active certificate `n`, for recipient `cert-n@example.com` (so a send names its certificate).
pub fn certificate(n: usize) -> Value {
    let mut card: Value = serde_json::from_str(test_support::fixtures::DEMO_CERTIFICATE).unwrap();
    card["id"] = json!(format!("{}", 9000 + n));
    card["number"] = json!(format!("LC-{n:03}"));
    card["receiving_customer_email"] = json!(recipient(n));
    card
}

pub fn recipient(n: usize) -> String {
    format!("cert-{n}@example.com")
}

fn sync(settings: &Path, records: &Path, upstream: &str, state: &Path) -> Output {
    Command::new(BIN)
        .args(["sync", "certificate", "--settings"])
        .arg(settings)
        .arg("--record")
        .arg(records)
        .args(["--upstream", upstream, "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .output()
        .expect("the harness runs")
}

pub fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON lines")).collect()
}

/// The database and its WAL, as bytes.
fn state_bytes(state: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(state).unwrap().flatten() {
        bytes.extend(std::fs::read(entry.path()).unwrap_or_default());
    }
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_state_directory_send_each_certificate_once() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let upstream = format!("http://{}", sim.addr());
    let dir = temp_dir("two");
    let state = dir.join("state");
    let settings = settings_file(&dir);
    let records = dir.join("certificates.ndjson");
    let ndjson: Vec<String> = (0..CERTIFICATES).map(|n| certificate(n).to_string()).collect();
    std::fs::write(&records, ndjson.join("\n")).unwrap();

    // Both runs start together on the same 40 certificates and the same (new) directory.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (settings, records, upstream, state) =
                (settings.clone(), records.clone(), upstream.clone(), state.clone());
            tokio::task::spawn_blocking(move || sync(&settings, &records, &upstream, &state))
        })
        .collect();
    let mut outputs = Vec::new();
    for run in runs {
        outputs.push(run.await.unwrap());
    }

    // Exactly one email per certificate, to its own recipient.
    let sends = sim.sends();
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for send in &sends {
        assert_eq!(send.to_addresses.len(), 1, "{send:?}");
        *per_recipient.entry(send.to_addresses[0].clone()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = (0..CERTIFICATES).map(|n| (recipient(n), 1)).collect();
    assert_eq!(per_recipient, expected, "one email per certificate, {} in all", sends.len());

    // Both runs succeed on every certificate. For each, exactly one line says `sent`: the run
    // that sent it. The other found the marker (claimed by the sender: `unconfirmed`, or
    // `sent by another run`), completed the record of that send, or found the record done;
    // it never reports `sent`, so a platform counting sends counts each email once.
    let mut fresh_sends: BTreeMap<String, usize> = BTreeMap::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "the password leaked into the log");
        let lines = lines(output);
        assert_eq!(lines.len(), CERTIFICATES);
        for line in lines {
            assert_eq!(line["ok"], true, "{line}");
            let outcome = &line["outcome"];
            let messages = outcome["messages"].to_string();
            let number = outcome["external_id"].as_str().unwrap().to_string();
            match outcome["action"].as_str().unwrap() {
                "sent" => {
                    assert!(!messages.contains("already sent"), "{line}");
                    *fresh_sends.entry(number).or_default() += 1
                }
                "created" | "updated" | "unchanged" => {}
                other => panic!("unexpected action {other}: {line}"),
            }
        }
    }
    let expected: BTreeMap<String, usize> = (0..CERTIFICATES).map(|n| (format!("LC-{n:03}"), 1)).collect();
    assert_eq!(fresh_sends, expected, "exactly one run reports sending each certificate");

    // A third run sends nothing. A run that lost the race may have written the record
    // without `announcedAt` after the sender wrote it with; the sent marker then completes the
    // record ("already sent", no email, `updated`), and a fourth run finds nothing left to do.
    let third = sync(&settings, &records, &upstream, &state);
    assert_eq!(third.status.code(), Some(0));
    for line in lines(&third) {
        assert_ne!(line["outcome"]["action"], "sent", "{line}");
    }
    let fourth = sync(&settings, &records, &upstream, &state);
    assert_eq!(fourth.status.code(), Some(0));
    assert!(lines(&fourth).iter().all(|l| l["outcome"]["action"] == "unchanged"), "{:?}", lines(&fourth));
    assert_eq!(sim.sends().len(), CERTIFICATES);

    let bytes = state_bytes(&state);
    assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "the password is in the state");
    assert!(bytes.windows(6).any(|w| w == b"LC-000"), "the markers are in the database");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_corrupt_database_is_a_setup_error_naming_it_and_is_left_alone() {
    let dir = temp_dir("corrupt");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let database = state.join(DATABASE);
    let garbage: Vec<u8> = (0..8192).map(|_| fastrand::u8(..)).collect();
    std::fs::write(&database, &garbage).unwrap();
    let records = dir.join("c.json");
    std::fs::write(&records, certificate(1).to_string()).unwrap();

    // No server is needed: the run stops before any record.
    let output = sync(&settings_file(&dir), &records, "http://127.0.0.1:9", &state);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains(&database.display().to_string()), "names the database: {stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(!stderr.contains("settings.json"), "blames the state, not the settings: {stderr}");
    assert_eq!(std::fs::read(&database).unwrap(), garbage, "never replaced");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_symlink_in_place_of_the_database_is_refused_not_followed() {
    let dir = temp_dir("symlink-db");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let elsewhere = dir.join("elsewhere.sqlite3");
    std::os::unix::fs::symlink(&elsewhere, state.join(DATABASE)).unwrap();
    let records = dir.join("c.json");
    std::fs::write(&records, certificate(1).to_string()).unwrap();

    let output = sync(&settings_file(&dir), &records, "http://127.0.0.1:9", &state);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&state.join(DATABASE).display().to_string()), "{stderr}");
    assert!(!elsewhere.exists(), "nothing was written through the link");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_truncated_database_or_old_state_file_is_a_setup_error_naming_it() {
    let dir = temp_dir("truncated");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let records = dir.join("c.json");
    std::fs::write(&records, certificate(1).to_string()).unwrap();
    let settings = settings_file(&dir);

    // A real database cut in half (a disk that filled, a copy that stopped).
    let database = state.join(DATABASE);
    let db = rusqlite::Connection::open(&database).unwrap();
    db.execute_batch("CREATE TABLE filler (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler SELECT printf('%01000d', i) FROM n;").unwrap();
    drop(db);
    let bytes = std::fs::read(&database).unwrap();
    std::fs::write(&database, &bytes[..bytes.len() / 2]).unwrap();
    let output = sync(&settings, &records, "http://127.0.0.1:9", &state);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&database.display().to_string()) && stderr.contains("corrupt"), "{stderr}");
    assert!(!stderr.contains("settings.json"), "{stderr}");
    assert_eq!(std::fs::read(&database).unwrap().len(), bytes.len() / 2, "left as it was");

    // An old JSON state file cut short is named, and neither imported nor renamed.
    std::fs::remove_file(&database).unwrap();
    let old = state.join("Shared_state.json");
    std::fs::write(&old, r#"{"certificate-email:LC-001": {"value": "pend"#).unwrap();
    let output = sync(&settings, &records, "http://127.0.0.1:9", &state);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&old.display().to_string()), "{stderr}");
    assert!(old.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A foreign SQLite file at the database's name (another tool's, a mistyped `--state`) was
/// switched to WAL, its header rewritten, before its application_id refused it. Refused now
/// before anything is written: the file keeps every byte, and no `-wal` appears. Both kinds:
/// another application's id, and tables without any id.
#[test]
fn a_foreign_database_is_refused_before_anything_is_written() {
    let dir = temp_dir("foreign");
    let records = dir.join("c.json");
    std::fs::write(&records, certificate(1).to_string()).unwrap();
    let settings = settings_file(&dir);
    for (n, pragma) in ["PRAGMA application_id = 1234;", ""].iter().enumerate() {
        let state = dir.join(format!("state-{n}"));
        std::fs::create_dir_all(&state).unwrap();
        let database = state.join(DATABASE);
        let db = rusqlite::Connection::open(&database).unwrap();
        db.execute_batch(&format!("{pragma} CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('theirs');"))
            .unwrap();
        drop(db);
        let before = std::fs::read(&database).unwrap();
        let output = sync(&settings, &records, "http://127.0.0.1:9", &state);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&database.display().to_string()), "names the database: {stderr}");
        assert_eq!(std::fs::read(&database).unwrap(), before, "the foreign file was written to: {stderr}");
        let names: Vec<_> = std::fs::read_dir(&state).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [DATABASE], "nothing beside it");
    }
    let _ = std::fs::remove_dir_all(dir);
}
