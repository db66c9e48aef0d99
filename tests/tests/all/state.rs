//! Persistent data in the state database as a run sees it: a write that fails leaves nothing
//! behind and sends nothing, subscriptions are scoped by their exact name, markers by account
//! and collection, old JSON state is migrated once, and files planted in the directory
//! redirect nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dotdigital_harness::host::data::DATABASE_FILE;
use dotdigital_harness::{Flow, Platform};
use dotdigital_sim::{SimConfig, Simulator};
use e2e_tests::*;
use serde_json::{json, Value};

async fn platform_on(sim: &Simulator, state: &Path, settings: &Value, busy: Duration) -> Platform {
    let mut options = platform_options(sim, Some(state.to_path_buf()), Arc::new(Mutex::new(Vec::new())));
    options.state_busy_timeout = busy;
    Platform::new(plugin().await, settings, options).expect("the platform starts")
}

fn named(name: &str) -> Value {
    let mut settings = demo_settings();
    settings["name"] = json!(name);
    settings
}

/// The certificate marker key the connector uses for the demo account's default collection.
fn marker_key(number: &str) -> String {
    format!("certificate-email:{}", json!(["demo@apiconnector.com", "LoyaltyCertificates", number]))
}

/// `(key, value)` rows of a subscription, read straight from the database file.
fn rows(state: &Path, subscription: &str) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(state.join(DATABASE_FILE)).unwrap();
    let mut query = db.prepare("SELECT key, value FROM entries WHERE subscription = ?1 ORDER BY key").unwrap();
    let rows = query.query_map([subscription], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn plant(state: &Path, subscription: &str, key: &str, value: &str) {
    let db = rusqlite::Connection::open(state.join(DATABASE_FILE)).unwrap();
    db.execute("INSERT INTO entries (subscription, key, value) VALUES (?1, ?2, ?3)", [subscription, key, value])
        .unwrap();
}

#[tokio::test]
async fn a_failed_marker_write_sends_nothing_and_the_next_attempt_sends_once() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let state = fresh_state_dir();
    let platform = platform_on(&sim, &state, &demo_settings(), Duration::from_millis(200)).await;
    let card = demo_certificate("LOCK-1");

    // Another process holds the write lock (WAL: readers go on, writers wait, then fail).
    let holder = rusqlite::Connection::open(state.join(DATABASE_FILE)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let line = platform.sync(Flow::Certificate, 1, &card).await;
    assert_eq!(line["ok"], false, "{line}");
    assert_eq!(line["error"]["kind"], "transport", "{line}");
    assert!(line["error"]["message"].as_str().unwrap().contains("nothing was sent"), "{line}");
    assert!(sim.sends().is_empty(), "no email without a stored marker");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(rows(&state, "Dotdigital - Test").iter().all(|(k, _)| !k.starts_with("certificate-email")));

    // Writes work again: no phantom marker, so this attempt sends, once.
    let line = platform.sync(Flow::Certificate, 2, &card).await;
    assert_eq!(ok(&line)["action"], "sent", "{line}");
    assert_eq!(sim.sends().len(), 1);
    let again = platform.sync(Flow::Certificate, 3, &card).await;
    assert_ne!(ok(&again)["action"], "sent", "{again}");
    assert_eq!(sim.sends().len(), 1);
    let stored = rows(&state, "Dotdigital - Test");
    assert!(stored.iter().any(|(k, v)| *k == marker_key("LOCK-1") && v.starts_with("sent:")), "{stored:?}");
    let _ = std::fs::remove_dir_all(state);
}

#[tokio::test]
async fn subscriptions_and_collections_do_not_share_markers() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let state = fresh_state_dir();
    let slash = platform_on(&sim, &state, &named("Shop/EU"), Duration::from_secs(10)).await;
    let space = platform_on(&sim, &state, &named("Shop EU"), Duration::from_secs(10)).await;
    // `Shop/EU` holds a pending send of certificate 1, and of certificate 2 in another
    // collection (or under the old number-only key of another subscription).
    plant(&state, "Shop/EU", &marker_key("SCOPE-1"), "pending:2025-01-01T00:00:00Z");
    plant(&state, "Shop/EU", "certificate-email:SCOPE-3", "pending:2025-01-01T00:00:00Z");
    let other_collection = format!("certificate-email:{}", json!(["demo@apiconnector.com", "Other", "SCOPE-2"]));
    plant(&state, "Shop/EU", &other_collection, "pending:2025-01-01T00:00:00Z");

    // `Shop/EU` obeys its own marker and its old-format marker.
    for number in ["SCOPE-1", "SCOPE-3"] {
        let line = slash.sync(Flow::Certificate, 1, &demo_certificate(number)).await;
        assert!(ok(&line)["messages"].to_string().contains("unconfirmed"), "{line}");
    }
    assert!(sim.sends().is_empty());
    // A marker in another collection is not this certificate's.
    let line = slash.sync(Flow::Certificate, 1, &demo_certificate("SCOPE-2")).await;
    assert_eq!(ok(&line)["action"], "sent", "{line}");
    // `Shop EU` maps to the same old file name but sees none of `Shop/EU`'s data.
    let line = space.sync(Flow::Certificate, 1, &demo_certificate("SCOPE-3")).await;
    assert_eq!(ok(&line)["action"], "sent", "{line}");
    assert_eq!(sim.sends().len(), 2);
    assert!(rows(&state, "Shop EU").iter().any(|(k, _)| *k == marker_key("SCOPE-3")));
    assert!(!rows(&state, "Shop/EU").iter().any(|(k, _)| *k == marker_key("SCOPE-3")));
    let _ = std::fs::remove_dir_all(state);
}

#[tokio::test]
async fn planted_files_redirect_nothing() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let state = fresh_state_dir();
    let outside = fresh_state_dir();
    let target = outside.join("target.json");
    let pending = json!({"certificate-email:PLANT-1": {"value": "pending:2025-01-01T00:00:00Z"}}).to_string();
    std::fs::write(&target, &pending).unwrap();
    // The old file name and the old temp name, as symlinks to a file outside; junk beside them.
    std::os::unix::fs::symlink(&target, state.join("Dotdigital_-_Test.json")).unwrap();
    std::os::unix::fs::symlink(&target, state.join("Dotdigital_-_Test.json.tmp")).unwrap();
    std::fs::write(state.join("junk.json"), [0xff, 0x00, 0x7b]).unwrap();
    std::fs::write(state.join("Dotdigital_-_Test.json.migrated"), "not json").unwrap();

    let platform = platform_on(&sim, &state, &demo_settings(), Duration::from_secs(10)).await;
    let line = platform.sync(Flow::Certificate, 1, &demo_certificate("PLANT-1")).await;
    assert_eq!(ok(&line)["action"], "sent", "the symlinked file was not read: {line}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), pending, "nothing written through a link");
    assert!(state.join("Dotdigital_-_Test.json").is_symlink(), "the link is left as it was");
    assert_eq!(std::fs::read(state.join("junk.json")).unwrap(), [0xff, 0x00, 0x7b]);
    let _ = std::fs::remove_dir_all(state);
    let _ = std::fs::remove_dir_all(outside);
}

#[tokio::test]
async fn an_old_json_state_file_is_migrated_once() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let state = fresh_state_dir();
    let old = state.join("Dotdigital_-_Test.json");
    let legacy = json!({
        "region:demo@apiconnector.com": {"value": "https://r1-api.dotdigital.com", "expires_at": 4_000_000_000u64},
        "certificate-email:OLD-1": {"value": "pending:2025-01-01T00:00:00Z"},
        "expired": {"value": "x", "expires_at": 1}
    });
    std::fs::write(&old, legacy.to_string()).unwrap();

    let logs = Arc::new(Mutex::new(Vec::new()));
    let platform =
        Platform::new(plugin().await, &demo_settings(), platform_options(&sim, Some(state.clone()), logs.clone()))
            .expect("the platform starts");
    assert!(!old.exists(), "the old file is renamed");
    assert_eq!(std::fs::read_to_string(state.join("Dotdigital_-_Test.json.migrated")).unwrap(), legacy.to_string());
    assert!(logs.lock().unwrap().join("\n").contains("migrated 3 key(s)"), "{:?}", logs.lock().unwrap());
    let stored = rows(&state, "Dotdigital - Test");
    assert!(stored.contains(&("region:demo@apiconnector.com".into(), "https://r1-api.dotdigital.com".into())));

    // The old marker is obeyed: a pending send is not repeated after the upgrade.
    let line = platform.sync(Flow::Certificate, 1, &demo_certificate("OLD-1")).await;
    assert!(ok(&line)["messages"].to_string().contains("unconfirmed"), "{line}");
    assert!(sim.sends().is_empty());
    // The cached region was used: no discovery call.
    assert!(sim.requests().iter().all(|r| !r.path.starts_with("/v2/account-info")), "{:?}", sim.requests());

    // The same file name again (an old harness wrote it) is not imported twice.
    std::fs::write(&old, json!({"certificate-email:OLD-2": {"value": "pending:x"}}).to_string()).unwrap();
    drop(platform);
    let _again = platform_on(&sim, &state, &demo_settings(), Duration::from_secs(10)).await;
    assert!(old.exists(), "left in place");
    assert!(!rows(&state, "Dotdigital - Test").iter().any(|(k, _)| k == "certificate-email:OLD-2"));
    let _ = std::fs::remove_dir_all(state);
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_the_database_lock_is_not_the_plugins_cpu() {
    use dotdigital_harness::host::log::{Level, LogSink, LogTarget, Redactor};
    use dotdigital_harness::runtime::SandboxLimits;

    // A CPU budget well under the time the lock is held.
    let limits = SandboxLimits { cpu_time: Duration::from_secs(1), ..test_limits() };
    let log = LogSink::new(LogTarget::Stderr, Level::Warn, Redactor::default());
    let plugin = load_embedded(limits, log).await;
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let state = fresh_state_dir();
    let mut options = platform_options(&sim, Some(state.clone()), Arc::new(Mutex::new(Vec::new())));
    options.state_busy_timeout = Duration::from_secs(10);
    let platform = Platform::new(plugin, &demo_settings(), options).expect("the platform starts");

    let (locked, is_locked) = std::sync::mpsc::channel();
    let database = state.join(DATABASE_FILE);
    let holder = std::thread::spawn(move || {
        let db = rusqlite::Connection::open(database).unwrap();
        db.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        db.execute_batch("ROLLBACK").unwrap();
    });
    is_locked.recv().unwrap();
    let line = platform.sync(Flow::Certificate, 1, &demo_certificate("WAIT-1")).await;
    holder.join().unwrap();
    assert_eq!(ok(&line)["action"], "sent", "the writes waited for the lock, then went through: {line}");
    assert_eq!(line["attempts"], 1, "{line}");
    assert_eq!(sim.sends().len(), 1);
    let _ = std::fs::remove_dir_all(state);
}
